/* The strategy-independent front: reopen, the declaration log, a custom
** strategy's view of it, and the context owning its libraries. See LICENSE.
*/
#include <criterion/criterion.h>
#include <string.h>

#include "modffi.h"
#include "modffi_strategy.h"

TestSuite(front, .timeout = 30);

Test(front, reopen_rebinds_dynamic) {
  mffi_ctx *ctx;
  mffi_lib *lib;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  const char *d = "int abs(int);";
  cr_assert_eq(mffi_cdef(ctx, d, strlen(d)), MFFI_OK);
  cr_assert_eq(mffi_open(ctx, NULL, NULL, NULL, &lib), MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "abs", &fn), MFFI_OK);
  void *p;
  const mffi_type *it;
  cr_assert_eq(mffi_typeof(ctx, "int", &it), MFFI_OK);
  cr_assert_eq(mffi_new(lib, it, 4, &p), MFFI_OK);
  cr_assert_eq(mffi_lib_failed(lib), MFFI_OK);
  cr_assert_eq(mffi_reopen(lib), MFFI_OK, "%s", mffi_errmsg(ctx));
  int x = -42, r = 0;
  void *args[] = {&x};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 42);
  cr_assert_eq(mffi_fn_native(fn), (void *)&abs);
  /* Blocks are gone: deleting the old pointer is refused. */
  mffi_delete(lib, p);
  cr_assert_eq(mffi_errcode(ctx), MFFI_EMISUSE);
  cr_assert_eq(mffi_reopen(NULL), MFFI_EMISUSE);
  mffi_ctx_free(ctx); /* Closes lib (checked for leaks under ASan). */
}

Test(front, cdef_log_and_failed_state) {
  mffi_ctx *ctx;
  mffi_lib *lib;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  cr_assert_eq(mffi_cdef(ctx, "int a;", 6), MFFI_OK);
  cr_assert_eq(mffi_cdef(ctx, "int b(", 6), MFFI_EPARSE); /* Not logged. */
  cr_assert_eq(mffi_cdef(ctx, "int abs(int);", 13), MFFI_OK);
  cr_assert_eq(mffi_open(ctx, NULL, NULL, NULL, &lib), MFFI_OK);
  size_t n;
  cr_assert_eq(mffi_lib_cdef_count(lib), 2u);
  const char *t = mffi_lib_cdef_text(lib, 0, &n);
  cr_assert_eq(n, 6u);
  cr_assert_eq(memcmp(t, "int a;", n), 0);
  t = mffi_lib_cdef_text(lib, 1, &n);
  cr_assert_eq(n, 13u);
  cr_assert_eq(memcmp(t, "int abs(int);", n), 0);
  cr_assert_null(mffi_lib_cdef_text(lib, 2, &n));
  cr_assert_eq(n, 0u);
  /* Texts may hold NUL bytes (in comments): lengths, not terminators. */
  cr_assert_eq(mffi_cdef(ctx, "/*\0*/int c;", 11), MFFI_OK);
  t = mffi_lib_cdef_text(lib, 2, &n);
  cr_assert_eq(n, 11u);
  cr_assert_eq(memcmp(t, "/*\0*/int c;", 11), 0);
  /* A strategy marks its library failed: the front refuses work with the
  ** code, and reopen clears it. */
  mffi_lib_fail(lib, MFFI_ECRASHED);
  mffi_lib_fail(lib, MFFI_ETIMEOUT); /* The first failure stays. */
  cr_assert_eq(mffi_lib_failed(lib), MFFI_ECRASHED);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "abs", &fn), MFFI_ECRASHED);
  cr_assert(strstr(mffi_errmsg(ctx), "mffi_reopen"), "%s", mffi_errmsg(ctx));
  const mffi_type *it;
  void *p;
  cr_assert_eq(mffi_typeof(ctx, "int", &it), MFFI_OK);
  cr_assert_eq(mffi_new(lib, it, 1, &p), MFFI_ECRASHED);
  cr_assert_eq(mffi_reopen(lib), MFFI_OK);
  cr_assert_eq(mffi_lib_failed(lib), MFFI_OK);
  cr_assert_eq(mffi_bind(lib, "abs", &fn), MFFI_OK);
  mffi_ctx_free(ctx);
}

/* A minimal strategy over dynamic that records what the front tells it. */
static int seen_cdef, seen_reopen;
static size_t seen_len;

static int rec_open(mffi_lib *lib, const char *target,
                    const mffi_open_opts *opts) {
  return mffi_strategy_find("dynamic")->xOpen(lib, target, opts);
}
static void rec_close(mffi_lib *lib) {
  mffi_strategy_find("dynamic")->xClose(lib);
}
static int rec_bind(mffi_fn *fn) {
  /* The plan is ready before xBind for a strategy that asks for it. */
  cr_assert_not_null(mffi_fn_plan(fn));
  return mffi_strategy_find("dynamic")->xBind(fn);
}
static void rec_unbind(mffi_fn *fn) {
  mffi_strategy_find("dynamic")->xUnbind(fn);
}
static int rec_cdef(mffi_lib *lib, const char *src, size_t len) {
  (void)lib;
  (void)src;
  seen_cdef++;
  seen_len = len;
  return strncmp(src, "int bad", 7) == 0 ? MFFI_ECRASHED : MFFI_OK;
}
static int rec_reopen(mffi_lib *lib) {
  (void)lib;
  seen_reopen++;
  return MFFI_OK;
}

static const mffi_strategy rec = {
    .version = MFFI_STRATEGY_VERSION,
    .name = "recorder",
    .flags = MFFI_STRATEGY_PLAN,
    .xOpen = rec_open,
    .xClose = rec_close,
    .xBind = rec_bind,
    .xUnbind = rec_unbind,
    .xCdef = rec_cdef,
    .xReopen = rec_reopen,
};

Test(front, strategy_hooks) {
  mffi_ctx *ctx;
  mffi_lib *lib;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  cr_assert_eq(mffi_open(ctx, &rec, NULL, NULL, &lib), MFFI_OK);
  cr_assert_eq(mffi_cdef(ctx, "int abs(int);", 13), MFFI_OK);
  cr_assert_eq(seen_cdef, 1);
  cr_assert_eq(seen_len, 13u);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "abs", &fn), MFFI_OK);
  /* A library that cannot follow a declaration is failed, not mffi_cdef. */
  cr_assert_eq(mffi_cdef(ctx, "int bad;", 8), MFFI_OK);
  cr_assert_eq(mffi_errcode(ctx), MFFI_OK);
  cr_assert_eq(mffi_lib_failed(lib), MFFI_ECRASHED);
  cr_assert_eq(mffi_cdef(ctx, "int c;", 6), MFFI_OK);
  cr_assert_eq(seen_cdef, 2); /* Not told while failed. */
  cr_assert_eq(mffi_reopen(lib), MFFI_OK);
  cr_assert_eq(seen_reopen, 1);
  int x = -7, r = 0;
  void *args[] = {&x};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 7);
  mffi_close(lib);
  mffi_ctx_free(ctx);
}

/* NULL in, zero out (the header's convention): every public accessor. */
Test(front, accessors_take_null) {
  const mffi_type *t = NULL;
  const mffi_decl *d = NULL;
  const mffi_fn *fn = NULL;
  mffi_field f;
  size_t off = 1;
  const char *name = "x";
  int64_t v = 1;
  cr_assert_eq(mffi_type_id(t), 0);
  cr_assert_eq(mffi_type_kind(t), MFFI_KIND_VOID);
  cr_assert_eq(mffi_sizeof(t), 0);
  cr_assert_eq(mffi_alignof(t), 0);
  cr_assert_eq(mffi_type_quals(t), 0);
  cr_assert_null(mffi_type_unqual(t));
  cr_assert_null(mffi_type_target(t));
  cr_assert_eq(mffi_type_length(t), 0);
  cr_assert_eq(mffi_type_complete(t), 0);
  cr_assert_null(mffi_type_tag(t));
  cr_assert_eq(mffi_type_nparams(t), 0);
  cr_assert_null(mffi_type_param(t, 0));
  cr_assert_eq(mffi_type_variadic(t), 0);
  cr_assert_eq(mffi_type_is_signed(t), 0);
  cr_assert_eq(mffi_type_prototyped(t), 0);
  cr_assert_eq(mffi_type_nenumerators(t), 0);
  cr_assert_eq(mffi_type_enumerator(t, 0, &name, &v), MFFI_EMISUSE);
  cr_assert_eq(mffi_type_nfields(t), 0);
  cr_assert_eq(mffi_type_field(t, 0, &f), MFFI_EMISUSE);
  cr_assert_eq(mffi_fieldof(t, "a", &f), MFFI_EMISUSE);
  cr_assert_eq(mffi_offsetof(t, "a", &off), MFFI_EMISUSE);
  cr_assert_eq(off, 0, "the out-parameter is zeroed");
  char buf[8] = "x";
  cr_assert_eq(mffi_type_str(t, NULL, buf, sizeof buf), 0);
  cr_assert_str_empty(buf);
  cr_assert_eq(mffi_decl_kind_of(d), MFFI_DECL_TYPEDEF);
  cr_assert_null(mffi_decl_name(d));
  cr_assert_null(mffi_decl_symbol(d));
  cr_assert_null(mffi_decl_type(d));
  cr_assert_eq(mffi_decl_value(d), 0);
  cr_assert_null(mffi_decl_param_name(d, 0));
  cr_assert_eq(mffi_decl_nattrs(d), 0);
  cr_assert_null(mffi_decl_attr(d, 0));
  cr_assert_null(mffi_decl_attr_find(d, "malloc"));
  cr_assert_eq(mffi_decl_str(d, buf, sizeof buf), 0);
  cr_assert_eq(mffi_ndecls(NULL), 0);
  cr_assert_null(mffi_decl_at(NULL, 0));
  cr_assert_null(mffi_decl_find(NULL, "x"));
  cr_assert_null(mffi_fn_type(fn));
  cr_assert_null(mffi_fn_addr(fn));
  cr_assert_null(mffi_fn_name(fn));
  cr_assert_eq(mffi_fn_is_var(fn), 0);
  cr_assert_eq(mffi_fn_nargs(fn), 0);
  cr_assert_null(mffi_fn_arg_type(fn, 0));
  cr_assert_eq(mffi_fn_path(fn), MFFI_PATH_NONE);
  cr_assert_null(mffi_lib_ctx(NULL));
  cr_assert_null(mffi_lib_strategy(NULL));
  cr_assert_null(mffi_lib_target(NULL));
  cr_assert_eq(mffi_lib_failed(NULL), MFFI_EMISUSE);
  cr_assert_null(mffi_closure_code(NULL));
  cr_assert_eq(mffi_call(NULL, NULL, NULL), MFFI_EMISUSE);
}
