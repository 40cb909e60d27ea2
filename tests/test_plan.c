/* Marshalling plans from attributes and defaults. See LICENSE.
**
** Each case declares a libc function with the attributes under test (the
** plan reads the declaration, not the library), binds it in the running
** process and checks the plan, argument by argument.
*/
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "modffi.h"
#include "modffi_strategy.h"

static mffi_ctx *ctx;
static mffi_lib *lib;

static void setup(void) {
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  cr_assert_eq(mffi_open(ctx, NULL, NULL, NULL, &lib), MFFI_OK);
}

static void teardown(void) {
  mffi_ctx_free(ctx); /* Closes lib too. */
}

TestSuite(plan, .init = setup, .fini = teardown, .timeout = 30);

static const mffi_plan *plan_of(const char *decls, const char *name) {
  int rc = mffi_cdef(ctx, decls, strlen(decls));
  cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(ctx));
  mffi_fn *fn;
  rc = mffi_bind(lib, name, &fn);
  cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(ctx));
  const mffi_plan *p = mffi_fn_plan(fn);
  cr_assert_not_null(p);
  cr_assert_eq(p->nargs, mffi_fn_nargs(fn));
  return p;
}

Test(plan, defaults) {
  const mffi_plan *p = plan_of(
      "typedef struct _IO_FILE FILE; typedef unsigned long size_t;"
      "struct tm { int a, b, c; };"
      "size_t fread(void *ptr, size_t size, size_t n, FILE *stream);"
      "int strcmp(const char *a, const char *b);"
      "size_t strftime(char *s, size_t max, const char *fmt,"
      "                const struct tm *tm);"
      "double frexp(double x, int *e);"
      "void qsort(void *base, size_t n, size_t sz,"
      "           int (*cmp)(const void *, const void *));"
      "char *getenv(const char *name);",
      "fread");
  cr_assert_eq(p->args[0].pass, MFFI_PASS_HANDLE); /* void * */
  cr_assert_eq(p->args[1].pass, MFFI_PASS_VALUE);
  cr_assert_eq(p->args[3].pass, MFFI_PASS_HANDLE); /* incomplete FILE */
  cr_assert_str_eq(p->args[3].name, "stream");
  cr_assert_eq(p->flags & MFFI_PLAN_COPY, 0u);
  cr_assert_eq(p->flags & MFFI_PLAN_RULES, 0u);
  cr_assert_eq(p->ret.pass, MFFI_PASS_VALUE);

  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "strftime", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_INOUT); /* char *: one char */
  cr_assert_eq(p->args[0].count, 1u);
  cr_assert_eq(p->args[2].pass, MFFI_PASS_STRING);
  cr_assert_eq(p->args[3].pass, MFFI_PASS_IN);
  cr_assert_eq(p->args[3].elem_size, 12u);
  cr_assert_eq(p->args[3].count, 1u);
  cr_assert_eq(p->args[3].count_arg, -1);
  cr_assert(p->flags & MFFI_PLAN_COPY);

  cr_assert_eq(mffi_bind(lib, "frexp", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[1].pass, MFFI_PASS_INOUT);
  cr_assert_eq(p->args[1].elem_size, sizeof(int));

  cr_assert_eq(mffi_bind(lib, "qsort", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[3].pass, MFFI_PASS_FUNC);

  cr_assert_eq(mffi_bind(lib, "getenv", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->ret.pass, MFFI_PASS_STRING); /* Not owned: copied. */
  cr_assert(p->flags & MFFI_PLAN_COPY);
}

Test(plan, access_attributes) {
  const mffi_plan *p = plan_of(
      "typedef long ssize_t; typedef unsigned long size_t;"
      "ssize_t read(int fd, void *buf, size_t n)"
      "  __attribute__((__access__(__write_only__, 2, 3)));"
      "ssize_t write(int fd, const void *buf, size_t n)"
      "  __attribute__((access(read_only, 2, 3)));"
      "void *memmove(void *d, const void *s, size_t n)"
      "  __attribute__((access(read_write, 1, 3), access(none, 2)));"
      "int abs(int x) __attribute__((access(read_only, 1)));"
      "long labs(long x) __attribute__((access(read_only, 9, 1)));",
      "read");
  cr_assert_eq(p->args[1].pass, MFFI_PASS_OUT);
  cr_assert_eq(p->args[1].count_arg, 2);
  cr_assert_eq(p->args[1].elem_size, 1u);
  cr_assert_eq(mffi_type_kind(p->args[1].elem), MFFI_KIND_UCHAR);
  cr_assert(p->args[1].rules & MFFI_RULE_ACCESS);
  cr_assert(p->flags & MFFI_PLAN_COPY);
  cr_assert(p->flags & MFFI_PLAN_RULES);

  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "write", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[1].pass, MFFI_PASS_IN);
  cr_assert_eq(p->args[1].count_arg, 2);

  cr_assert_eq(mffi_bind(lib, "memmove", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_INOUT);
  cr_assert_eq(p->args[1].pass, MFFI_PASS_HANDLE);
  cr_assert_eq(p->ret.pass, MFFI_PASS_HANDLE);

  /* An index naming no pointer parameter is ignored, as GCC does. */
  cr_assert_eq(mffi_bind(lib, "abs", &fn), MFFI_OK);
  cr_assert_eq(mffi_fn_plan(fn)->args[0].pass, MFFI_PASS_VALUE);
  cr_assert_eq(mffi_bind(lib, "labs", &fn), MFFI_OK);
  cr_assert_eq(mffi_fn_plan(fn)->args[0].pass, MFFI_PASS_VALUE);
}

Test(plan, redeclaration_adds_attributes) {
  const char *hdr = "typedef unsigned long size_t;"
                    "int memcmp(const void *a, const void *b, size_t n);";
  const char *overlay =
      "int memcmp(const void *a, const void *b, size_t n)"
      "  __attribute__((access(read_only, 1, 3), access(read_only, 2, 3),"
      "                 nonnull(1, 2), warn_unused_result));";
  cr_assert_eq(mffi_cdef(ctx, hdr, strlen(hdr)), MFFI_OK);
  const mffi_plan *p = plan_of(overlay, "memcmp");
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(p->args[i].pass, MFFI_PASS_IN);
    cr_assert_eq(p->args[i].count_arg, 2);
    cr_assert(p->args[i].rules & MFFI_RULE_NONNULL);
  }
  cr_assert_eq(p->args[2].rules, 0u);
  cr_assert(p->flags & MFFI_PLAN_WARN_UNUSED);
}

Test(plan, ownership_and_results) {
  const mffi_plan *p = plan_of(
      "typedef unsigned long size_t; void free(void *);"
      "char *strdup(const char *s)"
      "  __attribute__((__malloc__, __malloc__(free, 1), nonnull(1)));"
      "void *calloc(size_t n, size_t sz)"
      "  __attribute__((malloc, alloc_size(1, 2)));"
      "char *strerror(int e) __attribute__((returns_nonnull));",
      "strdup");
  cr_assert_eq(p->ret.pass, MFFI_PASS_HANDLE);
  cr_assert(p->ret.rules & MFFI_RULE_OWNED);
  cr_assert_str_eq(p->dealloc, "free");
  cr_assert_eq(p->dealloc_arg, 0);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_STRING);
  cr_assert(p->args[0].rules & MFFI_RULE_NONNULL);

  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "calloc", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert(p->ret.rules & MFFI_RULE_OWNED);
  cr_assert_null(p->dealloc);
  cr_assert_eq(p->alloc_size[0], 0);
  cr_assert_eq(p->alloc_size[1], 1);

  cr_assert_eq(mffi_bind(lib, "strerror", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->ret.pass, MFFI_PASS_STRING);
  cr_assert(p->ret.rules & MFFI_RULE_NONNULL);
  cr_assert(p->flags & MFFI_PLAN_RULES);
}

Test(plan, strings_and_variadic) {
  const mffi_plan *p = plan_of(
      "int printf(const char *fmt, ...) __attribute__((nonnull(1)));"
      "unsigned long strlen(const char *s)"
      "  __attribute__((null_terminated_string_arg(1)));"
      "int puts(const unsigned char *s)"
      "  __attribute__((null_terminated_string_arg(1)));",
      "printf");
  cr_assert_eq(p->nargs, 1u);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_STRING);

  const mffi_type *vt[3];
  cr_assert_eq(mffi_typeof(ctx, "char *", &vt[0]), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "int *", &vt[1]), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "double", &vt[2]), MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_variadic(lib, "printf", vt, 3, &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->nargs, 4u);
  cr_assert_eq(p->args[1].pass, MFFI_PASS_STRING); /* %s */
  cr_assert_eq(p->args[2].pass, MFFI_PASS_HANDLE); /* %p, %n: a value */
  cr_assert_eq(p->args[3].pass, MFFI_PASS_VALUE);
  cr_assert_null(p->args[1].name);

  cr_assert_eq(mffi_bind(lib, "strlen", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_STRING);
  cr_assert(p->args[0].rules & MFFI_RULE_STRING);
  cr_assert_eq(mffi_bind(lib, "puts", &fn), MFFI_OK);
  p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_STRING);
}

Test(plan, bind_ptr_uses_defaults) {
  const mffi_type *t;
  cr_assert_eq(mffi_typeof(ctx, "int (*)(const char *, void *, int)", &t),
               MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_ptr(lib, t, (void *)&strlen, &fn), MFFI_OK);
  const mffi_plan *p = mffi_fn_plan(fn);
  cr_assert_eq(p->args[0].pass, MFFI_PASS_STRING);
  cr_assert_eq(p->args[1].pass, MFFI_PASS_HANDLE);
  cr_assert_eq(p->args[2].pass, MFFI_PASS_VALUE);
  cr_assert_null(p->args[0].name);
  cr_assert_null(mffi_fn_decl(fn));
}

Test(plan, arg_int) {
  const char *d = "typedef unsigned long size_t;"
                  "void f(signed char a, unsigned short b, int c, size_t d,"
                  "       __int128 e, double g);";
  cr_assert_eq(mffi_cdef(ctx, d, strlen(d)), MFFI_OK);
  const mffi_type *ft;
  cr_assert_eq(mffi_typeof(ctx, "void (*)(signed char, unsigned short, int,"
                                " unsigned long, __int128, double)",
                           &ft),
               MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_ptr(lib, ft, (void *)&strlen, &fn), MFFI_OK);
  signed char a = -3;
  unsigned short b = 65535;
  int c = -70000;
  size_t dd = 1234567890123ul;
  __int128 e = (__int128)1 << 100, e2 = -5;
  double g = 2.5;
  void *args[] = {&a, &b, &c, &dd, &e, &g};
  cr_assert_eq(mffi_fn_arg_int(fn, args, 0), -3);
  cr_assert_eq(mffi_fn_arg_int(fn, args, 1), 65535);
  cr_assert_eq(mffi_fn_arg_int(fn, args, 2), -70000);
  cr_assert_eq(mffi_fn_arg_int(fn, args, 3), 1234567890123);
  cr_assert_eq(mffi_fn_arg_int(fn, args, 4), INT64_MAX); /* Saturated. */
  args[4] = &e2;
  cr_assert_eq(mffi_fn_arg_int(fn, args, 4), -5);
  cr_assert_eq(mffi_fn_arg_int(fn, args, 5), 0); /* Not an integer. */
  cr_assert_eq(mffi_fn_arg_int(fn, args, 6), 0); /* Out of range. */
}
