/* Tests of the static strategy, on a table written as modffi gen would.
** See LICENSE. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen/gen.h"
#include "modffi.h"
#include "modffi_static.h"
#include "modffi_strategy.h"
#include "oom_alloc.h"

/* -- The "library" and its table ------------------------------------------- */

struct pt {
  int x;
  double y;
};

static int t_add(int a, int b) {
  return a + b;
}
static double t_scale(double x, int k) {
  return x * k;
}
static struct pt t_mkpt(int x, double y) {
  return (struct pt){x, y};
}
static int t_apply(int (*f)(int), int v) {
  return f(v) + 1;
}
static int t_errno(int e) {
  errno = e;
  return -1;
}
static int t_sum(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = 0;
  for (int i = 0; i < n; i++)
    s += va_arg(ap, int);
  va_end(ap);
  return s;
}
static int t_counter = 42;

static void th_add(void *ret, void *const *args) {
  int r = t_add(*(int *)args[0], *(int *)args[1]);
  if (ret) memcpy(ret, &r, sizeof r);
}
static void th_scale(void *ret, void *const *args) {
  double r = t_scale(*(double *)args[0], *(int *)args[1]);
  if (ret) memcpy(ret, &r, sizeof r);
}
static void th_mkpt(void *ret, void *const *args) {
  struct pt r = t_mkpt(*(int *)args[0], *(double *)args[1]);
  if (ret) memcpy(ret, &r, sizeof r);
}
typedef int (*t_fn)(int);
static void th_apply(void *ret, void *const *args) {
  int r = t_apply(*(t_fn *)args[0], *(int *)args[1]);
  if (ret) memcpy(ret, &r, sizeof r);
}
static void th_errno(void *ret, void *const *args) {
  int r = t_errno(*(int *)args[0]);
  if (ret) memcpy(ret, &r, sizeof r);
}

static const mffi_static_entry t_entries[] = {
    {"t_add", "int(int, int)", th_add, (void *)t_add, 0},
    {"t_apply", "int(int (*)(int), int)", th_apply, (void *)t_apply, 0},
    {"t_counter", "int", NULL, &t_counter, MFFI_STATIC_VARIABLE},
    {"t_errno", "int(int)", th_errno, (void *)t_errno, 0},
    {"t_mkpt", "struct pt(int, double)", th_mkpt, (void *)t_mkpt, 0},
    {"t_scale", "double(double, int)", th_scale, (void *)t_scale, 0},
    {"t_sum", "int(int, ...)", NULL, (void *)t_sum, MFFI_STATIC_VARIADIC},
};

static const mffi_static_table t_table = {
    MFFI_STATIC_VERSION, "testtab", "test_static.c",
    sizeof t_entries / sizeof t_entries[0], t_entries};

__attribute__((constructor)) static void t_register(void) {
  (void)mffi_static_register(&t_table);
}

static const char t_cdef[] = "int t_add(int, int);\n"
                             "double t_scale(double, int);\n"
                             "struct pt { int x; double y; };\n"
                             "struct pt t_mkpt(int, double);\n"
                             "int t_apply(int (*)(int), int);\n"
                             "int t_errno(int);\n"
                             "int t_sum(int, ...);\n"
                             "extern int t_counter;\n"
                             "int t_absent(int);\n";

static mffi_ctx *ctx;
static mffi_lib *lib;

static void t_open(void) {
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  cr_assert_eq(mffi_cdef(ctx, t_cdef, strlen(t_cdef)), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  const mffi_strategy *s = mffi_strategy_find("static");
  cr_assert_not_null(s);
  cr_assert_eq(mffi_open(ctx, s, "testtab", NULL, &lib), MFFI_OK, "%s",
               mffi_errmsg(ctx));
}

static void t_close(void) {
  mffi_close(lib);
  mffi_ctx_free(ctx);
  lib = NULL;
  ctx = NULL;
}

TestSuite(static_strategy, .init = t_open, .fini = t_close, .timeout = 30);

/* -- Open and registry ----------------------------------------------------- */

Test(static_registry, find) {
  const mffi_strategy *s = mffi_strategy_find("static");
  cr_assert_not_null(s);
  cr_assert_str_eq(s->name, "static");
  cr_assert_eq(mffi_static_find("testtab"), &t_table);
  cr_assert_null(mffi_static_find("nope"));
  cr_assert_null(mffi_static_find(NULL));
}

Test(static_registry, register_rules) {
  cr_assert_eq(mffi_static_register(NULL), MFFI_EMISUSE);
  cr_assert_eq(mffi_static_register(&t_table), MFFI_OK); /* Again: fine. */
  mffi_static_table other = t_table;
  cr_assert_eq(mffi_static_register(&other), MFFI_EMISUSE); /* Name taken. */
  static const mffi_static_entry unsorted[] = {
      {"b", NULL, th_add, (void *)t_add, 0},
      {"a", NULL, th_add, (void *)t_add, 0},
  };
  mffi_static_table bad = {MFFI_STATIC_VERSION, "unsorted", NULL, 2, unsorted};
  cr_assert_eq(mffi_static_register(&bad), MFFI_EMISUSE);
  static const mffi_static_entry nothunk[] = {
      {"a", NULL, NULL, (void *)t_add, 0},
  };
  mffi_static_table bad2 = {MFFI_STATIC_VERSION, "nothunk", NULL, 1, nothunk};
  cr_assert_eq(mffi_static_register(&bad2), MFFI_EMISUSE);
  mffi_static_table bad3 = {0, "v0", NULL, 0, NULL};
  cr_assert_eq(mffi_static_register(&bad3), MFFI_EMISUSE);
}

Test(static_registry, open_errors) {
  mffi_ctx *c;
  mffi_lib *l = (mffi_lib *)1;
  cr_assert_eq(mffi_ctx_new(&c, NULL), MFFI_OK);
  const mffi_strategy *s = mffi_strategy_find("static");
  cr_assert_eq(mffi_open(c, s, "nosuchtable", NULL, &l), MFFI_ENOLIB);
  cr_assert_null(l);
  cr_assert(strstr(mffi_errmsg(c), "nosuchtable"), "%s", mffi_errmsg(c));
  cr_assert_eq(mffi_open(c, s, NULL, NULL, &l), MFFI_EMISUSE);
  cr_assert_null(l);
  mffi_ctx_free(c);
}

/* -- Calls ----------------------------------------------------------------- */

Test(static_strategy, call_int) {
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "t_add", &fn), MFFI_OK, "%s", mffi_errmsg(ctx));
  cr_assert_eq(mffi_fn_path(fn), MFFI_PATH_DIRECT);
  cr_assert_eq(mffi_fn_addr(fn), (void *)t_add);
  int a = 40, b = 2, r = 0;
  void *args[] = {&a, &b};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 42);
  cr_assert_eq(mffi_call(fn, NULL, args), MFFI_OK); /* Discarded. */
  cr_assert_eq(mffi_call(fn, &r, NULL), MFFI_EMISUSE);
}

Test(static_strategy, call_double_and_struct) {
  mffi_fn *sc, *mk;
  cr_assert_eq(mffi_bind(lib, "t_scale", &sc), MFFI_OK);
  cr_assert_eq(mffi_bind(lib, "t_mkpt", &mk), MFFI_OK);
  double x = 1.25, d = 0;
  int k = 4;
  void *a1[] = {&x, &k};
  cr_assert_eq(mffi_call(sc, &d, a1), MFFI_OK);
  cr_assert_eq(d, 5.0);
  struct pt p = {0, 0};
  int px = 7;
  double py = -2.5;
  void *a2[] = {&px, &py};
  cr_assert_eq(mffi_call(mk, &p, a2), MFFI_OK);
  cr_assert_eq(p.x, 7);
  cr_assert_eq(p.y, -2.5);
}

Test(static_strategy, errno_saved) {
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "t_errno", &fn), MFFI_OK);
  int e = ENOENT, r = 0;
  void *args[] = {&e};
  mffi_set_errno(0);
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, -1);
  cr_assert_eq(mffi_errno(), ENOENT);
}

Test(static_strategy, variable) {
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "t_counter", &fn), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  cr_assert(mffi_fn_is_var(fn));
  cr_assert_eq(mffi_fn_addr(fn), (void *)&t_counter);
  cr_assert_eq(*(int *)mffi_fn_addr(fn), 42);
}

Test(static_strategy, variadic_goes_to_engine) {
  const mffi_type *it;
  cr_assert_eq(mffi_typeof(ctx, "int", &it), MFFI_OK);
  const mffi_type *vt[] = {it, it, it};
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_variadic(lib, "t_sum", vt, 3, &fn), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  cr_assert_neq(mffi_fn_path(fn), MFFI_PATH_DIRECT);
  cr_assert_eq(mffi_fn_addr(fn), (void *)t_sum);
  int n = 3, a = 1, b = 20, c = 300, r = 0;
  void *args[] = {&n, &a, &b, &c};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 321);
  mffi_fn *fixed;
  cr_assert_eq(mffi_bind(lib, "t_sum", &fixed), MFFI_OK);
  int zero = 0;
  void *a0[] = {&zero};
  cr_assert_eq(mffi_call(fixed, &r, a0), MFFI_OK);
  cr_assert_eq(r, 0);
}

static void t_inc_handler(void *ret, void *const *args, void *data) {
  int v = *(const int *)args[0];
  *(int *)ret = v * *(int *)data;
}

Test(static_strategy, callback) {
  const mffi_type *ft;
  cr_assert_eq(mffi_typeof(ctx, "int (*)(int)", &ft), MFFI_OK);
  int factor = 3;
  mffi_closure *cl;
  cr_assert_eq(mffi_callback(lib, ft, t_inc_handler, &factor, &cl), MFFI_OK,
               "%s", mffi_errmsg(ctx));
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "t_apply", &fn), MFFI_OK);
  void *code = mffi_closure_code(cl);
  int v = 14, r = 0;
  void *args[] = {&code, &v};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 43);
  mffi_closure_free(cl);
}

/* A variadic callback goes to the dynamic strategy's closures too. */
static void t_var_handler(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = *(int *)args[0] + (int)(*(double *)args[1] * 10) +
                *(char *)args[2];
}

Test(static_strategy, variadic_callback) {
  const mffi_type *ft, *vt[2];
  cr_assert_eq(mffi_typeof(ctx, "int (*)(int, ...)", &ft), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "double", &vt[0]), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "char", &vt[1]), MFFI_OK);
  mffi_closure *cl;
  cr_assert_eq(
      mffi_callback_variadic(lib, ft, vt, 2, t_var_handler, NULL, &cl),
      MFFI_OK, "%s", mffi_errmsg(ctx));
  int (*f)(int, ...) = (int (*)(int, ...))mffi_closure_code(cl);
  cr_assert_eq(f(5, 1.5, 'a'), 5 + 15 + 'a');
  mffi_closure_free(cl);
}

Test(static_strategy, bind_ptr_goes_to_engine) {
  const mffi_type *ft;
  cr_assert_eq(mffi_typeof(ctx, "int (*)(int, int)", &ft), MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_ptr(lib, ft, (void *)t_add, &fn), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  int a = 2, b = 3, r = 0;
  void *args[] = {&a, &b};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 5);
}

/* -- Bind errors ----------------------------------------------------------- */

Test(static_strategy, not_in_table) {
  mffi_fn *fn = (mffi_fn *)1;
  cr_assert_eq(mffi_bind(lib, "t_absent", &fn), MFFI_ENOSYM);
  cr_assert_null(fn);
  cr_assert(strstr(mffi_errmsg(ctx), "t_absent"), "%s", mffi_errmsg(ctx));
  cr_assert(strstr(mffi_errmsg(ctx), "testtab"), "%s", mffi_errmsg(ctx));
  cr_assert_eq(mffi_bind(lib, "undeclared", &fn), MFFI_ENOTFOUND);
}

Test(static_registry, type_mismatch) {
  mffi_ctx *c;
  mffi_lib *l;
  cr_assert_eq(mffi_ctx_new(&c, NULL), MFFI_OK);
  const char *src = "long t_add(long, long);\nint t_counter(void);\n";
  cr_assert_eq(mffi_cdef(c, src, strlen(src)), MFFI_OK);
  cr_assert_eq(mffi_open(c, mffi_strategy_find("static"), "testtab", NULL, &l),
               MFFI_OK);
  mffi_fn *fn = (mffi_fn *)1;
  cr_assert_eq(mffi_bind(l, "t_add", &fn), MFFI_EMISMATCH);
  cr_assert_null(fn);
  cr_assert(strstr(mffi_errmsg(c), "t_add"), "%s", mffi_errmsg(c));
  cr_assert(strstr(mffi_errmsg(c), "int(int, int)"), "%s", mffi_errmsg(c));
  cr_assert_eq(mffi_bind(l, "t_counter", &fn), MFFI_EMISMATCH);
  mffi_close(l);
  mffi_ctx_free(c);
}

/* -- Out of memory --------------------------------------------------------- */

/* Fail allocation n (and every one after) for n = 1, 2, ... until the call
** succeeds: each failure is MFFI_ENOMEM, and nothing leaks. */
Test(static_oom, open_bind_call) {
  oom_state st = {0};
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, oom_alloc, &st};
  int rc = MFFI_ENOMEM;
  for (long n = 1; rc == MFFI_ENOMEM && n < 1000; n++) {
    mffi_ctx *c = NULL;
    mffi_lib *l = NULL;
    mffi_fn *fn = NULL;
    oom_arm(&st, n, 1);
    rc = mffi_ctx_new(&c, &o);
    if (rc == MFFI_OK) rc = mffi_cdef(c, t_cdef, strlen(t_cdef));
    if (rc == MFFI_OK)
      rc = mffi_open(c, mffi_strategy_find("static"), "testtab", NULL, &l);
    if (rc == MFFI_OK) rc = mffi_bind(l, "t_add", &fn);
    if (rc == MFFI_OK) {
      int a = 1, b = 2, r = 0;
      void *args[] = {&a, &b};
      rc = mffi_call(fn, &r, args);
      cr_assert_eq(r, 3);
    }
    cr_assert(rc == MFFI_OK || rc == MFFI_ENOMEM, "n=%ld rc=%d", n, rc);
    oom_disarm(&st);
    mffi_close(l);
    mffi_ctx_free(c);
    cr_assert_eq(st.nlive, 0, "n=%ld: %ld blocks leaked", n, st.nlive);
  }
  cr_assert_eq(rc, MFFI_OK);
  cr_assert_eq(st.bad_ptr + st.bad_osize, 0);
}

Test(static_oom, generator) {
  char dir[] = "/tmp/mffi_gen_oomXXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  oom_state st = {0};
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, oom_alloc, &st};
  mffi__gen_opts go = {"oomt",
                       "test_static.h",
                       "<test_static.h>",
                       "^t_",
                       NULL,
                       dir,
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       0};
  int rc = MFFI_ENOMEM;
  long n;
  for (n = 1; rc == MFFI_ENOMEM && n < 5000; n++) {
    mffi_ctx *c = NULL;
    cr_assert_eq(mffi_ctx_new(&c, &o), MFFI_OK);
    cr_assert_eq(mffi_cdef(c, t_cdef, strlen(t_cdef)), MFFI_OK);
    oom_arm(&st, n, 1);
    rc = mffi__gen(c, &go, NULL);
    oom_disarm(&st);
    cr_assert(rc == MFFI_OK || rc == MFFI_ENOMEM, "n=%ld rc=%d %s", n, rc,
              mffi_errmsg(c));
    mffi_ctx_free(c);
    cr_assert_eq(st.nlive, 0, "n=%ld: %ld blocks leaked", n, st.nlive);
  }
  cr_assert_eq(rc, MFFI_OK);
  cr_assert_gt(n, 2); /* Some allocations did fail on the way. */
  char path[64];
  snprintf(path, sizeof path, "%s/oomt_mffi_static.c", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  fclose(f);
  const char *names[] = {"oomt_mffi.h", "oomt_mffi.c", "oomt_mffi_static.c"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    remove(path);
  }
  rmdir(dir);
}

/* The registry's fixed capacity, and unregistering: a plug-in's table can be
** removed (not while a library reads it) and its name reused. */
Test(static_registry, capacity_and_unregister) {
  enum { CAP = 64 };
  static mffi_static_table extra[CAP];
  static char names[CAP][16];
  int added = 0, rc = MFFI_OK;
  for (int i = 0; i < CAP && rc == MFFI_OK; i++) {
    snprintf(names[i], sizeof names[i], "extra%d", i);
    extra[i] =
        (mffi_static_table){MFFI_STATIC_VERSION, names[i], NULL, 0, NULL};
    rc = mffi_static_register(&extra[i]);
    if (rc == MFFI_OK) added++;
  }
  cr_assert_eq(rc, MFFI_ENOMEM, "full after %d more", added);
  cr_assert_lt(added, CAP, "testtab is registered too");
  cr_assert_eq(mffi_static_find(names[added]), NULL);
  /* Freeing a slot makes room. */
  cr_assert_eq(mffi_static_unregister(&extra[0]), MFFI_OK);
  cr_assert_null(mffi_static_find("extra0"));
  cr_assert_eq(mffi_static_unregister(&extra[0]), MFFI_ENOTFOUND);
  cr_assert_eq(mffi_static_unregister(NULL), MFFI_EMISUSE);
  cr_assert_eq(mffi_static_register(&extra[added]), MFFI_OK);
  cr_assert_eq(mffi_static_find(names[added]), &extra[added]);
  /* A copy under a registered name is not the registered table. */
  mffi_static_table copy = t_table;
  cr_assert_eq(mffi_static_unregister(&copy), MFFI_ENOTFOUND);

  /* Not while a library is open on it. */
  mffi_ctx *c;
  cr_assert_eq(mffi_ctx_new(&c, NULL), MFFI_OK);
  const mffi_strategy *s = mffi_strategy_find("static");
  mffi_lib *l;
  cr_assert_eq(mffi_open(c, s, "testtab", NULL, &l), MFFI_OK);
  mffi_lib *l2;
  cr_assert_eq(mffi_open(c, s, "testtab", NULL, &l2), MFFI_OK);
  cr_assert_eq(mffi_static_unregister(&t_table), MFFI_EMISUSE);
  mffi_close(l);
  cr_assert_eq(mffi_static_unregister(&t_table), MFFI_EMISUSE, "l2 is open");
  mffi_close(l2);
  cr_assert_eq(mffi_static_unregister(&t_table), MFFI_OK);
  cr_assert_eq(mffi_open(c, s, "testtab", NULL, &l), MFFI_ENOLIB);
  cr_assert_null(l);
  /* Its name may be taken again, by another table. */
  cr_assert_eq(mffi_static_unregister(&extra[1]), MFFI_OK);
  cr_assert_eq(mffi_static_register(&copy), MFFI_OK);
  cr_assert_eq(mffi_static_find("testtab"), &copy);
  mffi_ctx_free(c);
}
