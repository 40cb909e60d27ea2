/* libffi's API on modffi (compat/libffi): calls, closures, errors and
** refusals, against direct calls. See LICENSE.
**
** Linked with libmodffi_ffi alone (not libffi, not libmodffi): what a
** program ported from -lffi gets. ctest runs it twice, on modffi's own
** engine and with MFFI_FFI_PATH=libffi (modffi's libffi path).
*/
#include <criterion/criterion.h>
#include <complex.h>
#include <ffi.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -- Callees --------------------------------------------------------------- */

/* Visible, so the compiler calls them as any C function. */
signed char fa_neg_sc(signed char x);
unsigned char fa_inc_uc(unsigned char x);
short fa_mix(signed char a, short b, int c, long d, float e, double f);
long double fa_ld(long double a, int b);
double _Complex fa_cmul(double _Complex a, double _Complex b);

signed char fa_neg_sc(signed char x) { return (signed char)-x; }
unsigned char fa_inc_uc(unsigned char x) { return (unsigned char)(x + 1); }
short fa_mix(signed char a, short b, int c, long d, float e, double f) {
  return (short)(a + b + c + d + (long)e + (long)f);
}
long double fa_ld(long double a, int b) { return a * b; }
double _Complex fa_cmul(double _Complex a, double _Complex b) { return a * b; }

struct fa_in { char c; double d; short s; };
struct fa_out { struct fa_in in; long l; float f[3]; };
struct fa_out fa_wrap(struct fa_in in, long l, float f);
struct fa_out fa_wrap(struct fa_in in, long l, float f) {
  struct fa_out o = {in, l, {f, 2 * f, 3 * f}};
  o.in.c++;
  return o;
}

struct fa_big { char b[70000]; };

/* The Microsoft x64 convention (FFI_GNUW64): a 3-byte struct and a long
** double by reference, which the callee changes in its copy. */
#define FA_MS __attribute__((ms_abi))
struct fa_s3 {
  char c[3];
};
long double FA_MS fa_ms(struct fa_s3 s, long double x, double d, int i);
long double FA_MS fa_ms(struct fa_s3 s, long double x, double d, int i) {
  long double r = s.c[0] + s.c[1] + s.c[2] + x * d + i;
  s.c[0] = 0;
  x = 0;
  (void)x;
  return r;
}

/* -- Type descriptions ----------------------------------------------------- */

static ffi_type *fa_in_el[] = {&ffi_type_sint8, &ffi_type_double,
                               &ffi_type_sint16, NULL};
static ffi_type fa_in_t = {0, 0, FFI_TYPE_STRUCT, fa_in_el};
static ffi_type *fa_out_el[] = {&fa_in_t,        &ffi_type_sint64,
                                &ffi_type_float, &ffi_type_float,
                                &ffi_type_float, NULL};
static ffi_type fa_out_t = {0, 0, FFI_TYPE_STRUCT, fa_out_el};

/* stderr of f() run once, in buf. */
static void fa_stderr(void (*f)(void), char *buf, size_t n) {
  fflush(stderr);
  FILE *tmp = tmpfile();
  cr_assert_not_null(tmp);
  int keep = dup(2);
  dup2(fileno(tmp), 2);
  f();
  fflush(stderr);
  dup2(keep, 2);
  close(keep);
  rewind(tmp);
  size_t k = fread(buf, 1, n - 1, tmp);
  buf[k] = '\0';
  fclose(tmp);
}

/* -- Types ----------------------------------------------------------------- */

Test(ffi_api, type_objects) {
  cr_expect_eq(ffi_type_sint8.size, 1);
  cr_expect_eq(ffi_type_uint16.size, 2);
  cr_expect_eq(ffi_type_sint64.alignment, _Alignof(long));
  cr_expect_eq(ffi_type_pointer.size, sizeof(void *));
  cr_expect_eq(ffi_type_longdouble.size, sizeof(long double));
  cr_expect_eq(ffi_type_longdouble.alignment, _Alignof(long double));
  cr_expect_eq(ffi_type_complex_double.size, sizeof(double _Complex));
  cr_expect_eq(ffi_type_complex_float.type, FFI_TYPE_COMPLEX);
  cr_expect_eq(ffi_type_complex_float.elements[0], &ffi_type_float);
}

Test(ffi_api, struct_layout_and_offsets) {
  ffi_cif cif;
  ffi_type *args[] = {&fa_in_t, &ffi_type_sint64, &ffi_type_float};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &fa_out_t, args),
               FFI_OK);
  cr_expect_eq(fa_in_t.size, sizeof(struct fa_in));
  cr_expect_eq(fa_in_t.alignment, _Alignof(struct fa_in));
  cr_expect_eq(fa_out_t.size, sizeof(struct fa_out));
  size_t off[5];
  cr_assert_eq(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &fa_out_t, off),
               FFI_OK);
  cr_expect_eq(off[0], offsetof(struct fa_out, in));
  cr_expect_eq(off[1], offsetof(struct fa_out, l));
  cr_expect_eq(off[2], offsetof(struct fa_out, f));
  cr_expect_eq(off[4], offsetof(struct fa_out, f) + 2 * sizeof(float));
  cr_expect_eq(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &ffi_type_sint32,
                                      off),
               FFI_BAD_TYPEDEF);
  cr_expect_eq(ffi_get_struct_offsets(0, &fa_out_t, off), FFI_BAD_ABI);
}

/* -- Calls ----------------------------------------------------------------- */

Test(ffi_api, small_integer_results_are_widened) {
  ffi_cif cif;
  ffi_type *a[] = {&ffi_type_sint8};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint8, a),
               FFI_OK);
  signed char x = 5;
  void *v[] = {&x};
  ffi_arg r = 0;
  ffi_call(&cif, FFI_FN(fa_neg_sc), &r, v);
  cr_expect_eq((ffi_sarg)r, -5, "sign-extended to ffi_arg");
  ffi_type *b[] = {&ffi_type_uint8};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_uint8, b),
               FFI_OK);
  unsigned char u = 0xfe;
  v[0] = &u;
  r = ~(ffi_arg)0;
  ffi_call(&cif, FFI_FN(fa_inc_uc), &r, v);
  cr_expect_eq(r, 0xff, "zero-extended to ffi_arg");
}

Test(ffi_api, scalars_structs_complex_long_double) {
  ffi_cif cif;
  ffi_type *a[] = {&ffi_type_sint8,  &ffi_type_sint16, &ffi_type_sint32,
                   &ffi_type_sint64, &ffi_type_float,  &ffi_type_double};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 6, &ffi_type_sint16, a),
               FFI_OK);
  signed char c = -3;
  short s = 300;
  int i = -7000;
  long l = 9000;
  float f = 2.5f;
  double d = 40.75;
  void *v[] = {&c, &s, &i, &l, &f, &d};
  ffi_arg r;
  ffi_call(&cif, FFI_FN(fa_mix), &r, v);
  cr_expect_eq((short)r, fa_mix(c, s, i, l, f, d));

  ffi_type *w[] = {&fa_in_t, &ffi_type_sint64, &ffi_type_float};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &fa_out_t, w), FFI_OK);
  struct fa_in in = {'a', 1.25, -9};
  long ll = 77;
  float ff = 0.5f;
  void *wv[] = {&in, &ll, &ff};
  struct fa_out o, od = fa_wrap(in, ll, ff);
  memset(&o, 0, sizeof o);
  ffi_call(&cif, FFI_FN(fa_wrap), &o, wv);
  cr_expect(o.in.c == od.in.c && o.in.d == od.in.d && o.in.s == od.in.s &&
            o.l == od.l && o.f[2] == od.f[2]);

  ffi_type *x[] = {&ffi_type_longdouble, &ffi_type_sint32};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_longdouble, x),
               FFI_OK);
  long double ld = 1.5L, ldr;
  int k = 3;
  void *xv[] = {&ld, &k};
  ffi_call(&cif, FFI_FN(fa_ld), &ldr, xv);
  cr_expect_eq(ldr, 4.5L);

  ffi_type *y[] = {&ffi_type_complex_double, &ffi_type_complex_double};
  cr_assert_eq(
      ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_complex_double, y),
      FFI_OK);
  double _Complex p = 1 + 2 * _Complex_I, q = 3 - 1 * _Complex_I, pq;
  void *yv[] = {&p, &q};
  ffi_call(&cif, FFI_FN(fa_cmul), &pq, yv);
  cr_expect(pq == fa_cmul(p, q));
}

Test(ffi_api, variadic) {
  ffi_cif cif;
  ffi_type *a[] = {&ffi_type_pointer, &ffi_type_uint64, &ffi_type_pointer,
                   &ffi_type_sint32,  &ffi_type_double, &ffi_type_pointer};
  cr_assert_eq(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 3, 6, &ffi_type_sint32,
                                a),
               FFI_OK);
  char buf[64];
  char *bp = buf;
  size_t n = sizeof buf;
  const char *fmt = "%d %.2f %s", *str = "ok";
  int i = -4;
  double d = 2.5;
  void *v[] = {&bp, &n, &fmt, &i, &d, &str};
  ffi_arg r;
  ffi_call(&cif, FFI_FN(snprintf), &r, v);
  cr_expect_str_eq(buf, "-4 2.50 ok");
  cr_expect_eq((int)r, 10);
  /* As libffi: variadic arguments come promoted. */
  ffi_type *b[] = {&ffi_type_pointer, &ffi_type_float};
  cr_expect_eq(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_sint32,
                                b),
               FFI_BAD_ARGTYPE);
  b[1] = &ffi_type_sint16;
  cr_expect_eq(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_sint32,
                                b),
               FFI_BAD_ARGTYPE);
}

Test(ffi_api, same_signature_same_record) {
  ffi_cif c1, c2;
  ffi_type *a[] = {&ffi_type_double};
  cr_assert_eq(ffi_prep_cif(&c1, FFI_DEFAULT_ABI, 1, &ffi_type_double, a),
               FFI_OK);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(ffi_prep_cif(&c2, FFI_DEFAULT_ABI, 1, &ffi_type_double, a),
                 FFI_OK);
  cr_expect_eq(c1.flags, c2.flags, "interned: one record per signature");
  ffi_cif copy = c1; /* A copied cif still works. */
  double x = 2.0, r;
  void *v[] = {&x};
  ffi_call(&copy, FFI_FN(sqrt), &r, v);
  cr_expect_eq(r, 1.4142135623730951);
}

/* -- Errors and refusals --------------------------------------------------- */

static ffi_status fa_last;

static void fa_prep_win64(void) {
  ffi_cif cif;
  fa_last = ffi_prep_cif(&cif, FFI_WIN64, 0, &ffi_type_longdouble, NULL);
}

static void fa_prep_big(void) {
  static ffi_type *el[70001];
  for (int i = 0; i < 70000; i++)
    el[i] = &ffi_type_uint8;
  static ffi_type big = {0, 0, FFI_TYPE_STRUCT, el};
  ffi_type *a[] = {&big};
  ffi_cif cif;
  fa_last = ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, a);
}

Test(ffi_api, errors_as_libffi) {
  ffi_cif cif;
  ffi_type *none[1] = {NULL};
  cr_expect_eq(ffi_prep_cif(&cif, 255, 0, &ffi_type_void, none), FFI_BAD_ABI);
  cr_expect_eq(ffi_prep_cif(&cif, 0, 0, &ffi_type_void, none), FFI_BAD_ABI);
  ffi_type bad = ffi_type_void;
  bad.size = 0;
  cr_expect_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &bad, none),
               FFI_BAD_TYPEDEF);
  ffi_type empty = {0, 0, FFI_TYPE_STRUCT, none};
  ffi_type *a[] = {&empty};
  cr_expect_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, a),
               FFI_BAD_TYPEDEF);
  cr_expect_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, NULL, a),
               FFI_BAD_TYPEDEF);
}

Test(ffi_api, refusals_are_named) {
  char err[512];
  fa_stderr(fa_prep_win64, err, sizeof err);
  cr_expect_eq(fa_last, FFI_BAD_TYPEDEF);
  cr_expect(strstr(err, "modffi-ffi: refused: ffi_prep_cif: long double in "
                        "an FFI_WIN64 call"),
            "%s", err);
  fa_stderr(fa_prep_big, err, sizeof err);
  cr_expect_eq(fa_last, FFI_BAD_TYPEDEF);
  cr_expect(strstr(err, "modffi-ffi: refused: ffi_prep_cif: "), "%s", err);
  cr_expect(strstr(err, "over the limit"), "names the reason: %s", err);
}

/* FFI_GNUW64 calls and closures: GCC's ms_abi functions. */
static void fa_ms_fun(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  (void)data;
  *(long double *)ret = fa_ms(*(struct fa_s3 *)args[0], *(long double *)args[1],
                              *(double *)args[2], *(int *)args[3]);
}

Test(ffi_api, gnuw64) {
  static ffi_type *s3_el[] = {&ffi_type_sint8, &ffi_type_sint8, &ffi_type_sint8,
                              NULL};
  ffi_type s3_t = {0, 0, FFI_TYPE_STRUCT, s3_el};
  ffi_type *a[] = {&s3_t, &ffi_type_longdouble, &ffi_type_double,
                   &ffi_type_sint32};
  ffi_cif cif;
  cr_assert_eq(ffi_prep_cif(&cif, FFI_GNUW64, 4, &ffi_type_longdouble, a),
               FFI_OK);
  struct fa_s3 s = {{1, 2, 3}};
  long double x = 2.5L, r = 0;
  double d = 4;
  int i = 7;
  void *av[] = {&s, &x, &d, &i};
  ffi_call(&cif, FFI_FN(fa_ms), &r, av);
  cr_expect(r == fa_ms(s, x, d, i), "%Lg", r);
  cr_expect(s.c[0] == 1 && x == 2.5L, "the callee changed a copy only");

  void *code = NULL;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  cr_assert_not_null(cl);
  cr_assert_eq(ffi_prep_closure_loc(cl, &cif, fa_ms_fun, NULL, code), FFI_OK);
  long double(FA_MS * f)(struct fa_s3, long double, double, int) = code;
  cr_expect(f(s, x, d, i) == fa_ms(s, x, d, i));
  ffi_closure_free(cl);
}

/* -- Closures -------------------------------------------------------------- */

static void fa_cmp_fun(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  int x = **(const int **)args[0], y = **(const int **)args[1];
  *(ffi_arg *)ret = (ffi_arg)(ffi_sarg)((x > y) - (x < y));
  ++*(int *)data;
}

static void fa_sc_fun(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  (void)data;
  *(ffi_arg *)ret = (ffi_arg)(ffi_sarg)(*(signed char *)args[0] * 2);
}

static void fa_wrap_fun(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  (void)data;
  *(struct fa_out *)ret = fa_wrap(*(struct fa_in *)args[0],
                                  *(long *)args[1], *(float *)args[2]);
}

Test(ffi_api, closures) {
  void *code = NULL;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  cr_assert_not_null(cl);
  cr_assert_not_null(code);
  ffi_cif cif;
  ffi_type *a[] = {&ffi_type_pointer, &ffi_type_pointer};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, a),
               FFI_OK);
  int calls = 0;
  cr_assert_eq(ffi_prep_closure_loc(cl, &cif, fa_cmp_fun, &calls, code),
               FFI_OK);
  cr_expect_eq(memcmp(cl, code, sizeof *cl), 0,
               "the code is a view of the closure, as libffi's");
  int v[] = {5, -2, 9, 0, 3};
  qsort(v, 5, sizeof *v, (int (*)(const void *, const void *))code);
  cr_expect(v[0] == -2 && v[1] == 0 && v[2] == 3 && v[3] == 5 && v[4] == 9);
  cr_expect_gt(calls, 0);

  /* Prepared again, for another signature. */
  ffi_type *b[] = {&ffi_type_sint8};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint8, b),
               FFI_OK);
  cr_assert_eq(ffi_prep_closure_loc(cl, &cif, fa_sc_fun, NULL, code), FFI_OK);
  cr_expect_eq(((signed char (*)(signed char))code)(-21), -42);
  ffi_closure_free(cl);

  /* A struct by value, both ways; many closures at once. */
  ffi_closure *many[300];
  void *codes[300];
  ffi_type *w[] = {&fa_in_t, &ffi_type_sint64, &ffi_type_float};
  cr_assert_eq(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &fa_out_t, w), FFI_OK);
  for (int i = 0; i < 300; i++) {
    many[i] = ffi_closure_alloc(sizeof(ffi_closure), &codes[i]);
    cr_assert_not_null(many[i]);
    cr_assert_eq(ffi_prep_closure_loc(many[i], &cif, fa_wrap_fun, NULL,
                                      codes[i]),
                 FFI_OK);
  }
  struct fa_in in = {'x', -0.5, 12};
  for (int i = 0; i < 300; i += 37) {
    struct fa_out o =
        ((struct fa_out(*)(struct fa_in, long, float))codes[i])(in, i, 1.5f);
    struct fa_out d = fa_wrap(in, i, 1.5f);
    cr_expect(o.in.c == d.in.c && o.in.d == d.in.d && o.l == d.l &&
              o.f[1] == d.f[1]);
  }
  for (int i = 0; i < 300; i++)
    ffi_closure_free(many[i]);
  /* Bigger than a closure: the rest is the caller's. */
  ffi_closure *big = ffi_closure_alloc(4096, &code);
  cr_assert_not_null(big);
  memset((char *)big + sizeof *big, 0x5a, 4096 - sizeof *big);
  ffi_closure_free(big);
  cr_expect_eq(ffi_prep_closure_loc(big = ffi_closure_alloc(64, &code), &cif,
                                    fa_wrap_fun, NULL, code),
               FFI_OK);
  cif.abi = 255;
  cr_expect_eq(ffi_prep_closure_loc(big, &cif, fa_wrap_fun, NULL, code),
               FFI_BAD_ABI);
  ffi_closure_free(big);
  ffi_closure_free(NULL);
}

Test(ffi_api, unprepared_closure_aborts, .signal = SIGABRT) {
  void *code;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  cr_assert_not_null(cl);
  ((void (*)(void))code)();
}

/* -- Threads --------------------------------------------------------------- */

static ffi_cif fa_tcif;

static void *fa_thread(void *arg) {
  long id = (long)arg, bad = 0;
  for (int i = 0; i < 20000; i++) {
    signed char x = (signed char)(i + id);
    void *v[] = {&x};
    ffi_arg r;
    bool neg = (i + id) % 2;
    ffi_call(&fa_tcif, neg ? FFI_FN(fa_neg_sc) : FFI_FN(fa_inc_uc), &r, v);
    signed char want = neg ? fa_neg_sc(x) : (signed char)fa_inc_uc(x);
    bad += (signed char)r != want;
  }
  return (void *)bad;
}

Test(ffi_api, threads_share_a_cif) {
  ffi_type *a[] = {&ffi_type_sint8};
  cr_assert_eq(ffi_prep_cif(&fa_tcif, FFI_DEFAULT_ABI, 1, &ffi_type_sint8, a),
               FFI_OK);
  pthread_t t[4];
  for (long i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, fa_thread, (void *)i), 0);
  for (int i = 0; i < 4; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    cr_expect_eq((long)bad, 0, "thread %d", i);
  }
}
