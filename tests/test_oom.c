/* Out-of-memory tests: fail allocation N for N = 1, 2, ... See LICENSE. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

#include "modffi.h"
#include "oom_alloc.h"

/* A realistic header: every kind of declaration, attributes, defines. */
static const char text[] =
    "typedef unsigned long size_t;\n"
    "typedef long ssize_t;\n"
    "typedef __builtin_va_list va_list;\n"
    "#define ZX_OK 0\n"
    "#define ZX_ERR (-3)\n"
    "#define ZX_BUFSIZE (16 * 1024)\n"
    "#define ZX_VERSION \"1.0\"\n"
    "#define ZX_MAX(a, b) ((a) > (b) ? (a) : (b))\n"
    "struct zx_stream;\n"
    "typedef struct zx_stream zx_stream;\n"
    "typedef void *(*zx_alloc_fn)(void *opaque, unsigned n, unsigned sz);\n"
    "typedef void (*zx_free_fn)(void *opaque, void *p);\n"
    "enum zx_flush { ZX_NO_FLUSH, ZX_SYNC = 2, ZX_FULL, ZX_FINISH = 8 };\n"
    "enum zx_big { ZX_HUGE = 0x100000000, ZX_NEG = -1 };\n"
    "struct zx_stream {\n"
    "  const unsigned char *next_in;\n"
    "  unsigned avail_in;\n"
    "  unsigned long total_in;\n"
    "  unsigned char *next_out;\n"
    "  unsigned avail_out, flags : 4, : 0, level : 5;\n"
    "  char *msg;\n"
    "  struct zx_state *state;\n"
    "  zx_alloc_fn zalloc;\n"
    "  zx_free_fn zfree;\n"
    "  union { void *opaque; long handle; };\n"
    "  struct { int kind; char tag[8]; } info;\n"
    "  enum zx_flush last;\n"
    "  double ratio;\n"
    "  char tail[];\n"
    "};\n"
    "struct __attribute__((packed)) zx_hdr { char magic[2]; int len; };\n"
    "union zx_val { long l; double d; char s[12]; };\n"
    "_Static_assert(sizeof(int) == 4, \"int\");\n"
    "extern int zx_errno;\n"
    "extern const char *const zx_names[ZX_FINISH + 1];\n"
    "void zx_free(zx_stream *s);\n"
    "zx_stream *zx_new(int level, const char *name)\n"
    "  __attribute__((__malloc__, malloc(zx_free, 1), nonnull(2)));\n"
    "int zx_run(zx_stream *s, enum zx_flush f)\n"
    "  __attribute__((nonnull(1), warn_unused_result));\n"
    "ssize_t zx_read(zx_stream *s, void *buf, size_t n)\n"
    "  __attribute__((access(write_only, 2, 3)));\n"
    "int zx_printf(zx_stream *s, const char *fmt, ...)\n"
    "  __attribute__((format(printf, 2, 3)));\n"
    "int zx_vprintf(zx_stream *s, const char *fmt, va_list ap);\n"
    "const char *zx_version(void) __attribute__((returns_nonnull));\n"
    "void *zx_buf(size_t n, size_t m) __attribute__((alloc_size(1, 2)));\n"
    "int zx_stat(const char *path) __asm__(\"\" \"zx_stat64\");\n"
    "void (*zx_handler(int sig, void (*h)(int)))(int);\n"
    "static __inline int zx_inl(int x) { return x > 0 ? x : -x; }\n"
    "int zx_old() __attribute__((deprecated(\"use zx_new\")));\n";

/* Names the text declares, none of which may survive a failed mffi_cdef. */
static const char *names[] = {
    "size_t",  "ssize_t", "ZX_OK",      "ZX_BUFSIZE", "zx_stream",
    "ZX_FULL", "ZX_HUGE", "zx_errno",   "zx_names",   "zx_new",
    "zx_read", "zx_stat", "zx_handler", "zx_old",     "zx_version",
};

/* Options for a context that allocates through st. */
static mffi_ctx_opts opts_for(oom_state *st) {
  mffi_ctx_opts o = {
      .version = MFFI_CTX_OPTS_VERSION, .alloc = oom_alloc, .alloc_ud = st};
  return o;
}

/* After mffi_ctx_free: nothing leaked, every osize was right. */
static void check_balanced(const oom_state *st, const char *what, long n) {
  cr_assert(eq(u64, st->live, 0), "%s, N=%ld: bytes leaked", what, n);
  cr_assert(eq(long, st->nlive, 0), "%s, N=%ld: blocks leaked", what, n);
  cr_assert(eq(long, st->bad_osize, 0), "%s, N=%ld: wrong osize", what, n);
  cr_assert(eq(long, st->bad_ptr, 0), "%s, N=%ld: foreign pointer freed", what,
            n);
}

static void check_present(mffi_ctx *ctx, const char *what, long n) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    cr_assert(mffi_decl_find(ctx, names[i]) != NULL,
              "%s, N=%ld: '%s' missing after success", what, n, names[i]);
  const mffi_type *t = NULL;
  cr_assert(eq(int, mffi_typeof(ctx, "struct zx_stream", &t), MFFI_OK));
  cr_assert(eq(int, mffi_type_complete(t), 1), "%s, N=%ld", what, n);
  const mffi_attr *a =
      mffi_decl_attr_find(mffi_decl_find(ctx, "zx_read"), "access");
  cr_assert(a != NULL && a->nargs == 3, "%s, N=%ld: attribute lost", what, n);
}

/* -- mffi_ctx_new ---------------------------------------------------------- */

static void ctx_new_loop(int sticky) {
  oom_state st = {0};
  mffi_ctx_opts o = opts_for(&st);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, &o), MFFI_OK));
  long total = st.nrequests;
  mffi_ctx_free(ctx);
  check_balanced(&st, "mffi_ctx_new (clean)", 0);
  cr_assert(total > 0);

  for (long n = 1; n <= total + 1; n++) {
    memset(&st, 0, sizeof st);
    oom_arm(&st, n, sticky);
    ctx = (mffi_ctx *)&st; /* Must be set to NULL on failure. */
    int rc = mffi_ctx_new(&ctx, &o);
    oom_disarm(&st);
    if (rc == MFFI_OK) {
      cr_assert(ctx != NULL);
      cr_assert(eq(int, mffi_cdef(ctx, "int x;", 6), MFFI_OK),
                "N=%ld: context unusable: %s", n, mffi_errmsg(ctx));
      mffi_ctx_free(ctx);
    } else {
      cr_assert(eq(int, rc, MFFI_ENOMEM), "N=%ld", n);
      cr_assert(ctx == NULL, "N=%ld: *out not NULL on failure", n);
    }
    check_balanced(&st, "mffi_ctx_new", n);
    if (n > total) cr_assert(eq(int, rc, MFFI_OK));
  }
}

Test(oom, ctx_new) { ctx_new_loop(0); }
Test(oom, ctx_new_sticky) { ctx_new_loop(1); }

/* -- mffi_cdef
 * ----------------------------------------------------------------- */

/* Fail the n-th allocation of mffi_cdef(text) on a context that holds
** `base` already. Returns the code. */
static int cdef_step(const char *base, long n, int sticky) {
  oom_state st = {0};
  mffi_ctx_opts o = opts_for(&st);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, &o), MFFI_OK));
  if (base)
    cr_assert(eq(int, mffi_cdef(ctx, base, strlen(base)), MFFI_OK), "%s",
              mffi_errmsg(ctx));
  size_t nd = mffi_ndecls(ctx);
  uint32_t nt = mffi_ntypes(ctx);

  oom_arm(&st, n, sticky);
  int rc = mffi_cdef(ctx, text, sizeof text - 1);
  oom_disarm(&st);

  if (rc == MFFI_OK) {
    check_present(ctx, "mffi_cdef", n);
  } else {
    cr_assert(eq(int, rc, MFFI_ENOMEM), "N=%ld: %s (%s)", n, mffi_errname(rc),
              mffi_errmsg(ctx));
    cr_assert(eq(int, mffi_errcode(ctx), MFFI_ENOMEM), "N=%ld", n);
    cr_assert_str_eq(mffi_errmsg(ctx), "out of memory", "N=%ld", n);
    cr_assert(eq(u64, mffi_ndecls(ctx), nd), "N=%ld: declarations kept", n);
    cr_assert(eq(u32, mffi_ntypes(ctx), nt), "N=%ld: types kept", n);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      cr_assert(mffi_decl_find(ctx, names[i]) == NULL,
                "N=%ld: '%s' survived a failed mffi_cdef", n, names[i]);
    /* The context works: new declarations, then the same text again. */
    cr_assert(eq(int, mffi_cdef(ctx, "int after_oom;", 14), MFFI_OK),
              "N=%ld: %s", n, mffi_errmsg(ctx));
    cr_assert(eq(int, mffi_cdef(ctx, text, sizeof text - 1), MFFI_OK),
              "N=%ld: the text fails after recovery: %s", n, mffi_errmsg(ctx));
    check_present(ctx, "mffi_cdef (retry)", n);
  }
  mffi_ctx_free(ctx);
  check_balanced(&st, "mffi_cdef", n);
  return rc;
}

/* The number of allocation requests mffi_cdef(text) makes after base. */
static long cdef_requests(const char *base) {
  oom_state st = {0};
  mffi_ctx_opts o = opts_for(&st);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, &o), MFFI_OK));
  if (base) cr_assert(eq(int, mffi_cdef(ctx, base, strlen(base)), MFFI_OK));
  long before = st.nrequests;
  cr_assert(eq(int, mffi_cdef(ctx, text, sizeof text - 1), MFFI_OK), "%s",
            mffi_errmsg(ctx));
  long total = st.nrequests - before;
  mffi_ctx_free(ctx);
  check_balanced(&st, "mffi_cdef (clean)", 0);
  return total;
}

static void cdef_loop(const char *base, int sticky) {
  long total = cdef_requests(base);
  cr_assert(total > 0);
  long nfail = 0;
  for (long n = 1; n <= total + 1; n++) {
    int rc = cdef_step(base, n, sticky);
    if (rc != MFFI_OK) nfail++;
    if (n > total) cr_assert(eq(int, rc, MFFI_OK));
  }
  cr_log_info("mffi_cdef: %ld allocation points, %ld failed cleanly", total,
              nfail);
}

Test(oom, cdef, .timeout = 300) { cdef_loop(NULL, 0); }
Test(oom, cdef_sticky, .timeout = 300) { cdef_loop(NULL, 1); }

/* The failed text completes a forward declaration and re-declares a
** function of the base, so the rollback has in-place changes to undo. */
static const char base[] = "struct zx_stream;\n"
                           "void zx_free(struct zx_stream *s);\n"
                           "enum zx_keep { ZX_KEEP = 1 };\n"
                           "typedef int keep_t;\n";

Test(oom, cdef_over_existing_declarations, .timeout = 300) {
  cdef_loop(base, 0);
}

Test(oom, cdef_failure_keeps_forward_declaration_incomplete) {
  long total = cdef_requests(base);
  for (long n = 1; n <= total; n++) {
    oom_state st = {0};
    mffi_ctx_opts o = opts_for(&st);
    mffi_ctx *ctx = NULL;
    cr_assert(eq(int, mffi_ctx_new(&ctx, &o), MFFI_OK));
    cr_assert(eq(int, mffi_cdef(ctx, base, sizeof base - 1), MFFI_OK));
    oom_arm(&st, n, 1);
    int rc = mffi_cdef(ctx, text, sizeof text - 1);
    oom_disarm(&st);
    cr_assert(eq(int, rc, MFFI_ENOMEM), "N=%ld", n);
    const mffi_type *t = NULL;
    cr_assert(eq(int, mffi_typeof(ctx, "struct zx_stream", &t), MFFI_OK));
    cr_assert(eq(int, mffi_type_complete(t), 0), "N=%ld", n);
    cr_assert(eq(u64, mffi_sizeof(t), 0), "N=%ld", n);
    const mffi_decl *d = mffi_decl_find(ctx, "zx_free");
    cr_assert(d != NULL);
    cr_assert(eq(u64, mffi_decl_nattrs(d), 0), "N=%ld", n);
    d = mffi_decl_find(ctx, "ZX_KEEP");
    cr_assert(d != NULL && mffi_decl_value(d) == 1, "N=%ld", n);
    mffi_ctx_free(ctx);
    check_balanced(&st, "forward declaration", n);
  }
}

/* -- mffi_typeof ----------------------------------------------------------- */

static const char *type_exprs[] = {
    "struct zx_stream *(*)(const char *, size_t)",
    "int[10][20]",
    "const zx_stream *const *volatile",
    "void (*(*)(int, void (*)(int)))(int)",
    "union zx_val[3]",
    "struct not_yet_declared *",
    "enum zx_flush (*[4])(zx_alloc_fn, ...)",
    "unsigned long long",
};

/* A context with text loaded, allocating through st. */
static mffi_ctx *loaded_ctx(oom_state *st, mffi_ctx_opts *o) {
  *o = opts_for(st);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, o), MFFI_OK));
  cr_assert(eq(int, mffi_cdef(ctx, text, sizeof text - 1), MFFI_OK), "%s",
            mffi_errmsg(ctx));
  return ctx;
}

static void typeof_loop(int sticky) {
  for (size_t i = 0; i < sizeof type_exprs / sizeof type_exprs[0]; i++) {
    const char *e = type_exprs[i];
    oom_state st = {0};
    mffi_ctx_opts o;
    mffi_ctx *ctx = loaded_ctx(&st, &o);
    long before = st.nrequests;
    const mffi_type *want = NULL;
    cr_assert(eq(int, mffi_typeof(ctx, e, &want), MFFI_OK), "%s: %s", e,
              mffi_errmsg(ctx));
    long total = st.nrequests - before;
    char wbuf[256];
    mffi_type_str(want, NULL, wbuf, sizeof wbuf);
    size_t wsize = mffi_sizeof(want);
    uint32_t wid = mffi_type_id(want);
    mffi_ctx_free(ctx);
    check_balanced(&st, e, 0);

    for (long n = 1; n <= total + 1; n++) {
      memset(&st, 0, sizeof st);
      ctx = loaded_ctx(&st, &o);
      oom_arm(&st, n, sticky);
      const mffi_type *t = (const mffi_type *)&st;
      int rc = mffi_typeof(ctx, e, &t);
      oom_disarm(&st);
      if (rc != MFFI_OK) {
        cr_assert(eq(int, rc, MFFI_ENOMEM), "%s, N=%ld: %s", e, n,
                  mffi_errmsg(ctx));
        cr_assert(t == NULL, "%s, N=%ld: *out not NULL", e, n);
        cr_assert_str_eq(mffi_errmsg(ctx), "out of memory");
        rc = mffi_typeof(ctx, e, &t);
        cr_assert(eq(int, rc, MFFI_OK), "%s, N=%ld: retry failed: %s", e, n,
                  mffi_errmsg(ctx));
      }
      char buf[256];
      mffi_type_str(t, NULL, buf, sizeof buf);
      cr_assert_str_eq(buf, wbuf, "%s, N=%ld", e, n);
      cr_assert(eq(u64, mffi_sizeof(t), wsize), "%s, N=%ld", e, n);
      if (rc == MFFI_OK && n > total)
        cr_assert(eq(u32, mffi_type_id(t), wid), "%s, N=%ld", e, n);
      cr_assert(eq(int, mffi_cdef(ctx, "int after_oom;", 14), MFFI_OK));
      mffi_ctx_free(ctx);
      check_balanced(&st, e, n);
      if (n > total) cr_assert(eq(int, rc, MFFI_OK));
    }
  }
}

Test(oom, type_of) { typeof_loop(0); }
Test(oom, type_of_sticky) { typeof_loop(1); }

/* -- The allocator contract
 * ------------------------------------------------------ */

Test(oom, hook_sees_matching_sizes) {
  oom_state st = {0};
  mffi_ctx_opts o;
  mffi_ctx *ctx = loaded_ctx(&st, &o);
  /* Grow the tables well past their first sizes, so resizes happen. */
  for (int i = 0; i < 2000; i++) {
    char src[96];
    snprintf(src, sizeof src,
             "struct grow%d { int a[%d]; }; int gf%d(struct grow%d *);", i,
             i + 1, i, i);
    cr_assert(eq(int, mffi_cdef(ctx, src, strlen(src)), MFFI_OK), "%s",
              mffi_errmsg(ctx));
  }
  cr_assert(st.live > 0);
  cr_assert(eq(long, st.bad_osize, 0));
  mffi_ctx_free(ctx);
  check_balanced(&st, "growth", 0);
}

Test(oom, errmsg_needs_no_memory) {
  oom_state st = {0};
  mffi_ctx_opts o;
  mffi_ctx *ctx = loaded_ctx(&st, &o);
  oom_arm(&st, 1, 1); /* Nothing can be allocated any more. */
  static const char more[] = "struct fresh { int a; }; int fresh_fn(void);";
  cr_assert(eq(int, mffi_cdef(ctx, more, sizeof more - 1), MFFI_ENOMEM));
  cr_assert_str_eq(mffi_errmsg(ctx), "out of memory");
  /* A syntax error is still reported with its position if it is found
  ** before anything needs memory. */
  int rc = mffi_cdef(ctx, "int ;;(", 7);
  cr_assert(rc == MFFI_EPARSE || rc == MFFI_ENOMEM, "%s", mffi_errname(rc));
  oom_disarm(&st);
  cr_assert(eq(int, mffi_cdef(ctx, more, sizeof more - 1), MFFI_OK));
  mffi_ctx_free(ctx);
  check_balanced(&st, "errmsg", 0);
}
