/* The dynamic strategy: calls through the fast path and libffi. See LICENSE.
**
** Every call is made three ways and must agree: directly through a C
** prototype, through mffi_call on the register fast path, and through
** mffi_call with libffi forced (MFFI_OPEN_FFI_ONLY). Real libraries (libc,
** libm, zlib) are called too, and every error names its library and symbol.
*/
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "fixtures/dynfx.h"
#include "fixtures/fxutil.h"
#include "modffi_strategy.h"

/* modffi's own call path exists on x86-64 SysV; elsewhere (and with the
** generic ABI module, MFFI_GENERIC_ABI) all is libffi. */
#if defined(__x86_64__) && !defined(_WIN32) && !defined(MFFI_GENERIC_ABI)
#define FX_FAST MFFI_PATH_FAST
#else
#define FX_FAST MFFI_PATH_FFI
#endif

TestSuite(dynamic, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* -- Scalars --------------------------------------------------------------- */

/* T f(T) called three ways; the results must be equal values. */
#define SCALAR(T, name, val)                                                   \
  do {                                                                         \
    typedef T t_;                                                              \
    t_ a_ = (val), f_, s_;                                                     \
    t_ d_ = ((t_(*)(t_))fx_sym(name))(a_);                                     \
    void *args_[] = {&a_};                                                     \
    fx_call2(name, &f_, &s_, args_);                                           \
    cr_assert(d_ == f_, "%s: fast path differs", name);                        \
    cr_assert(d_ == s_, "%s: libffi path differs", name);                      \
  } while (0)

Test(dynamic, scalars) {
  SCALAR(_Bool, "fx_bool", 1);
  SCALAR(_Bool, "fx_bool", 0);
  SCALAR(char, "fx_char", 'A');
  SCALAR(char, "fx_char", 127);
  SCALAR(signed char, "fx_schar", -128);
  SCALAR(unsigned char, "fx_uchar", 255);
  SCALAR(short, "fx_short", -12345);
  SCALAR(unsigned short, "fx_ushort", 65530);
  SCALAR(int, "fx_int", INT32_MIN + 1);
  SCALAR(unsigned, "fx_uint", 0x12345678u);
  SCALAR(long, "fx_long", -3000000000L);
  SCALAR(unsigned long, "fx_ulong", 0x0123456789abcdefUL);
  SCALAR(long long, "fx_llong", 5);
  SCALAR(unsigned long long, "fx_ullong", 0x8000000000000001ULL);
  SCALAR(__int128, "fx_int128", (__int128)1 << 100);
  SCALAR(unsigned __int128, "fx_uint128", (unsigned __int128)7 << 90);
  SCALAR(float, "fx_float", 3.25f);
  SCALAR(double, "fx_double", -1.5e100);
  SCALAR(long double, "fx_ldouble", 1.0L / 7);
  SCALAR(void *, "fx_ptr", (void *)0x1000);
  SCALAR(enum fx_color, "fx_enum", FX_RED);
  SCALAR(enum fx_color, "fx_enum", FX_BLUE);
}

Test(dynamic, void_and_add) {
  int out = 0;
  int *po = &out;
  void *args[] = {&po};
  mffi_fn *fn = fx_bind(fx.fast, "fx_void");
  cr_assert_eq(mffi_call(fn, NULL, args), MFFI_OK);
  cr_assert_eq(out, 1234);
  int a = 40, b = 2, r = 0;
  void *ab[] = {&a, &b};
  fn = fx_bind(fx.fast, "fx_add");
  cr_assert_eq(mffi_fn_path(fn), FX_FAST);
  cr_assert_eq(mffi_call(fn, &r, ab), MFFI_OK);
  cr_assert_eq(r, 42);
  cr_assert_eq(mffi_call(fn, NULL, ab), MFFI_OK, "ret NULL discards");
}

/* ret is written at the exact size of the return type. */
Test(dynamic, exact_return_size) {
  const char *names[] = {"fx_char", "fx_short", "fx_float", "fx_int"};
  size_t sizes[] = {1, 2, 4, 4};
  for (int lib = 0; lib < 2; lib++) {
    for (int i = 0; i < 4; i++) {
      unsigned char buf[16], arg[16] = {0};
      memset(buf, 0xAA, sizeof buf);
      void *args[] = {arg};
      mffi_fn *fn = fx_bind(lib ? fx.ffi : fx.fast, names[i]);
      cr_assert_eq(mffi_call(fn, buf, args), MFFI_OK);
      for (size_t j = sizes[i]; j < sizeof buf; j++)
        cr_assert_eq(buf[j], 0xAA, "%s wrote byte %zu (%s path)", names[i], j,
                     lib ? "libffi" : "fast");
    }
  }
}

Test(dynamic, small_int_extension) {
  signed char a = -5;
  short b = -300;
  unsigned char c = 250;
  unsigned short d = 65000;
  _Bool e = 1;
  int f, s;
  void *args[] = {&a, &b, &c, &d, &e};
  fx_call2("fx_sext", &f, &s, args);
  cr_assert_eq(f, 31);
  cr_assert_eq(s, 31);
}

/* -- Many arguments
 * ------------------------------------------------------------ */

Test(dynamic, many_args) {
  int a = 1, f = -6, j = 10;
  long b = 2, e = 5, g = 7, i = -9;
  short c = 3;
  char d = 4;
  unsigned h = 8;
  void *args[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i, &j};
  long r1, r2;
  long want =
      ((long (*)(int, long, short, char, long, int, long, unsigned, long,
                 int))fx_sym("fx_int10"))(a, b, c, d, e, f, g, h, i, j);
  fx_call2("fx_int10", &r1, &r2, args);
  cr_assert_eq(r1, want);
  cr_assert_eq(r2, want);
  /* Stack arguments: the fast path builds the stack area too. */
  mffi_fn *fn = fx_bind(fx.fast, "fx_int10");
  cr_assert_eq(mffi_fn_path(fn), FX_FAST);

  double x[11];
  float l = 0.75f;
  void *dargs[12];
  for (int k = 0; k < 11; k++) {
    x[k] = k * 1.25 - 3;
    dargs[k] = &x[k];
  }
  dargs[11] = &l;
  double dw =
      ((double (*)(double, double, double, double, double, double, double,
                   double, double, double, double, float))fx_sym("fx_dbl12"))(
          x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], l);
  double d1, d2;
  fx_call2("fx_dbl12", &d1, &d2, dargs);
  cr_assert_eq(d1, dw);
  cr_assert_eq(d2, dw);
}

Test(dynamic, mixed20_and_long_double) {
  int a = 1, k = 11, o = 15, s = 19;
  double b = 2.5, f = 6.5, h = 8.5, j = 10.5, l = 12.5, n = 14.5, p = 16.5,
         r = 18.5;
  long c = 3, i = 9, m = 13, q = 17;
  float d = 4.25f, t = 20.25f;
  char e = 5;
  short g = 7;
  void *args[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i, &j,
                  &k, &l, &m, &n, &o, &p, &q, &r, &s, &t};
  double want = ((__typeof__(&fx_mixed20))fx_sym("fx_mixed20"))(
      a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t);
  double r1, r2;
  fx_call2("fx_mixed20", &r1, &r2, args);
  cr_assert_eq(r1, want);
  cr_assert_eq(r2, want);

  long double la = 1.5L, lc = 1e30L, lr1, lr2;
  int lb = 3;
  double ld = 0.25;
  void *largs[] = {&la, &lb, &lc, &ld};
  long double lw = ((__typeof__(&fx_ldmix))fx_sym("fx_ldmix"))(la, lb, lc, ld);
  fx_call2("fx_ldmix", &lr1, &lr2, largs);
  cr_assert(lr1 == lw && lr2 == lw);
}

/* -- Aggregates
 * ------------------------------------------------------------------ */

#define AGG1(T, name, init, eq)                                                \
  do {                                                                         \
    T a_ = init, f_, s_;                                                       \
    memset(&f_, 0, sizeof f_);                                                 \
    memset(&s_, 0, sizeof s_);                                                 \
    T d_ = ((T(*)(T))fx_sym(name))(a_);                                        \
    void *args_[] = {&a_};                                                     \
    fx_call2(name, &f_, &s_, args_);                                           \
    cr_assert(eq(d_, f_), "%s: fast path differs", name);                      \
    cr_assert(eq(d_, s_), "%s: libffi path differs", name);                    \
  } while (0)

#define EQ_PT(X, Y) ((X).x == (Y).x && (X).y == (Y).y)
#define EQ_MIX(X, Y) ((X).i == (Y).i && (X).f == (Y).f && (X).d == (Y).d)
#define EQ_DL(X, Y) ((X).d == (Y).d && (X).l == (Y).l)
#define EQ_F3(X, Y) ((X).a == (Y).a && (X).b == (Y).b && (X).c == (Y).c)
#define EQ_C3(X, Y) (memcmp((X).c, (Y).c, 3) == 0)
#define EQ_BITS(X, Y)                                                          \
  ((X).a == (Y).a && (X).b == (Y).b && (X).c == (Y).c && (X).d == (Y).d)
#define EQ_BIG(X, Y) (memcmp((X).a, (Y).a, sizeof(X).a) == 0)
#define EQ_LD(X, Y) ((X).x == (Y).x)
#define EQ_I128(X, Y) ((X).v == (Y).v)
#define EQ_PK(X, Y) ((X).c == (Y).c && (X).i == (Y).i)
#define EQ_U(X, Y) ((X).l == (Y).l)
#define EQ_UF(X, Y) (memcmp(&(X), &(Y), sizeof(X)) == 0)
#define EQ_NEST(X, Y) (EQ_PT((X).p, (Y).p) && EQ_UF((X).u, (Y).u))

/* Without an ABI module that classifies them (the generic one: libffi
** for every call), some types are refused by name at bind, never passed
** wrong: true if name is refused so (the caller skips its calls), false if
** it binds (it is then called and checked as usual). */
static bool dy_generic_refuses(const char *name) {
  if (FX_FAST == MFFI_PATH_FAST) return false;
  mffi_fn *fn = NULL;
  int rc = mffi_bind(fx.fast, name, &fn);
  if (rc == MFFI_OK) {
    mffi_fn_free(fn);
    return false;
  }
  cr_assert_eq(rc, MFFI_EUNSUPPORTED, "%s", name);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "call engine (libffi)") != NULL ||
                strstr(mffi_errmsg(fx.ctx), "libffi cannot pass") != NULL,
            "%s", mffi_errmsg(fx.ctx));
  return true;
}

/* AGG1 for an aggregate that only a classifier describes exactly. */
#define AGG1_CLASSIFIED(T, name, init, eq)                                     \
  do {                                                                         \
    if (!dy_generic_refuses(name)) AGG1(T, name, init, eq);                    \
  } while (0)

Test(dynamic, aggregates) {
  AGG1(struct fx_pt, "fx_pt_swap", ((struct fx_pt){3, -4}), EQ_PT);
  AGG1(struct fx_mix, "fx_mix_inc", ((struct fx_mix){7, 1.5f, -2.25}), EQ_MIX);
  AGG1(struct fx_dl, "fx_dl_inc", ((struct fx_dl){0.5, -9}), EQ_DL);
  AGG1(struct fx_f3, "fx_f3_rev", ((struct fx_f3){1, 2, 3}), EQ_F3);
  AGG1(struct fx_c3, "fx_c3_inc", ((struct fx_c3){{'a', 'b', 'c'}}), EQ_C3);
  AGG1_CLASSIFIED(struct fx_bits, "fx_bits_inc",
                  ((struct fx_bits){5, -3, 1000, -7}), EQ_BITS);
  AGG1(struct fx_big, "fx_big_inc", ((struct fx_big){{1, 2, 3, 4, 5}}), EQ_BIG);
  /* libffi 3.4 passes struct { long double } wrong on x86-64 unless told
  ** its class (x86_64_sysv.c does); a generic-ABI build refuses it. */
  AGG1_CLASSIFIED(struct fx_ld, "fx_ld_half", ((struct fx_ld){3.0L}), EQ_LD);
  AGG1_CLASSIFIED(struct fx_i128, "fx_i128_neg",
                  ((struct fx_i128){(__int128)5 << 70}), EQ_I128);
  AGG1_CLASSIFIED(struct fx_pk, "fx_pk_inc", ((struct fx_pk){'x', 0x01020304}),
                  EQ_PK);
  AGG1_CLASSIFIED(union fx_u, "fx_u_inc", ((union fx_u){.l = 99}), EQ_U);
  AGG1_CLASSIFIED(union fx_uf, "fx_uf_inc", ((union fx_uf){.f = {1, 2, 3}}),
                  EQ_UF);
  AGG1_CLASSIFIED(struct fx_nest, "fx_nest_inc",
                  ((struct fx_nest){{1, 2}, {.f = {4, 5, 6}}}), EQ_NEST);
}

/* GNU complex integers, as GCC passes them (two integers side by side). */
#define CX(T, re, im) ((T)(re) + (T)(im) * (__extension__ 1i))
Test(dynamic, complex_integers) {
  SCALAR(char _Complex, "fx_cchar", CX(char _Complex, 'a', -3));
  SCALAR(int _Complex, "fx_cint", CX(int _Complex, 70000, -123456));
  SCALAR(long long _Complex, "fx_cllong",
         CX(long long _Complex, 1LL << 40, -(1LL << 50)));
  SCALAR(__int128 _Complex, "fx_ci128",
         CX(__int128 _Complex, (__int128)7 << 90, -((__int128)3 << 80)));
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_cint")), FX_FAST);
}

/* -- Vectors, _Float16, _Float128, complex long double -------------------- */

/* fx_call1 through the fast path into r; through libffi too when
** ffi_can, else the libffi binding must refuse, naming the type. */
static void dy_call_vec(const char *name, void *r_fast, void *r_ffi,
                        void *const *args, bool ffi_can) {
  mffi_fn *a = fx_bind(fx.fast, name);
  cr_assert_eq(mffi_fn_path(a), FX_FAST, "%s", name);
  cr_assert_eq(mffi_call(a, r_fast, args), MFFI_OK, "%s: %s", name,
               mffi_errmsg(fx.ctx));
  mffi_fn_free(a);
  mffi_fn *b = NULL;
  int rc = mffi_bind(fx.ffi, name, &b);
  if (!ffi_can) {
    cr_assert_eq(rc, MFFI_EUNSUPPORTED, "%s: libffi bound it", name);
    cr_assert(strstr(mffi_errmsg(fx.ctx), "libffi cannot") != NULL, "%s",
              mffi_errmsg(fx.ctx));
    return;
  }
  cr_assert_eq(rc, MFFI_OK, "%s: %s", name, mffi_errmsg(fx.ctx));
  cr_assert_eq(mffi_call(b, r_ffi, args), MFFI_OK, "%s: %s", name,
               mffi_errmsg(fx.ctx));
  mffi_fn_free(b);
}

/* V f(V a, V b) = a - b for vector type V, with values that differ per
** lane, compared lane by lane with the direct call (a long double lane has
** padding bytes). */
#define VSUB(V, name, ffi_can) VSUB_CC(V, name, ffi_can, )
#define VSUB_CC(V, name, ffi_can, CC)                                          \
  do {                                                                         \
    V a_, b_, f_, s_;                                                          \
    memset(&a_, 0, sizeof a_);                                                 \
    memset(&b_, 0, sizeof b_);                                                 \
    for (unsigned k_ = 0; k_ < sizeof a_ / sizeof a_[0]; k_++) {               \
      a_[k_] = (__typeof__(a_[0]))(3 * k_ + 7);                                \
      b_[k_] = (__typeof__(a_[0]))(k_ + 1);                                    \
    }                                                                          \
    memset(&f_, 0xa5, sizeof f_);                                              \
    memcpy(&s_, &a_, sizeof s_);                                               \
    V d_ = ((V(CC *)(V, V))fx_sym(name))(a_, b_);                              \
    void *args_[] = {&a_, &b_};                                                \
    dy_call_vec(name, &f_, &s_, args_, ffi_can);                               \
    for (unsigned k_ = 0; k_ < sizeof a_ / sizeof a_[0]; k_++) {               \
      cr_assert(d_[k_] == f_[k_], "%s: fast path differs", name);              \
      if (ffi_can) cr_assert(d_[k_] == s_[k_], "%s: libffi differs", name);    \
    }                                                                          \
  } while (0)

/* Every class a vector can have (GCC 12's, checked here against gcc):
** INTEGER up to 4 bytes, one SSE register for 8 and 16 bytes (libffi has
** no 16-byte SSE values, nor _Float16 ones), MEMORY for one floating
** element. */
Test(dynamic, vectors_by_value) {
  if (dy_generic_refuses("fx_v_f16")) return;
  VSUB(fx_vc2, "fx_v_c2", true);
  VSUB(fx_vc4, "fx_v_c4", true);
  VSUB(fx_vs4, "fx_v_s4", true);
  VSUB(fx_vi4, "fx_v_i4", true);
  VSUB(fx_vc8, "fx_v_c8", true);
  VSUB(fx_vs8, "fx_v_s8", true);
  VSUB(fx_vi8, "fx_v_i8", true);
  VSUB(fx_vl8, "fx_v_l8", true);
  VSUB(fx_vf8, "fx_v_f8", true);
  VSUB(fx_vh4, "fx_v_h4", true);
  VSUB(fx_vh8, "fx_v_h8", true);
  VSUB(fx_vc16, "fx_v_c16", false);
  VSUB(fx_vs16, "fx_v_s16", false);
  VSUB(fx_vi16, "fx_v_i16", false);
  VSUB(fx_vl16, "fx_v_l16", false);
  VSUB(fx_vq16, "fx_v_q16", false);
  VSUB(fx_vf16, "fx_v_f16", false);
  VSUB(fx_vd16, "fx_v_d16", false);
  VSUB(fx_vh16, "fx_v_h16", false);
  VSUB(fx_vf4, "fx_v_f4", true);
  VSUB(fx_vd8, "fx_v_d8", true);
  VSUB(fx_vh2, "fx_v_h2", true);
  VSUB(fx_ve16, "fx_v_e16", true);
}

/* The Microsoft x64 convention's classes for vectors (ms_abi, GCC 12's,
** checked here against gcc): 1, 2, 4 or 8 bytes by value in an integer
** register, others by reference, as one floating element of any size (no
** vector mode); 16-byte ones with a vector mode come back in %xmm0, which
** libffi's FFI_GNUW64 cannot (refused by name). */
#define FX_MS __attribute__((ms_abi))
Test(dynamic, ms_abi_vectors) {
  if (dy_generic_refuses("fx_ms_f16")) return;
  VSUB_CC(fx_vc2, "fx_ms_c2", true, FX_MS);
  VSUB_CC(fx_vi4, "fx_ms_i4", true, FX_MS);
  VSUB_CC(fx_vf8, "fx_ms_f8", true, FX_MS);
  VSUB_CC(fx_vh4, "fx_ms_h4", true, FX_MS);
  VSUB_CC(fx_vd8, "fx_ms_d8", true, FX_MS);
  VSUB_CC(fx_vc16, "fx_ms_c16", false, FX_MS);
  VSUB_CC(fx_vq16, "fx_ms_q16", false, FX_MS);
  VSUB_CC(fx_vf16, "fx_ms_f16", false, FX_MS);
  VSUB_CC(fx_vd16, "fx_ms_d16", false, FX_MS);
  VSUB_CC(fx_vh16, "fx_ms_h16", false, FX_MS);
  VSUB_CC(fx_ve16, "fx_ms_e16", true, FX_MS); /* No vector mode. */
}

/* S f(S a, S b) for an aggregate holding vectors. */
#define SVSUB(S, name, ffi_can, fill)                                          \
  do {                                                                         \
    S a_, b_, f_, s_;                                                          \
    memset(&a_, 0, sizeof a_);                                                 \
    memset(&b_, 0, sizeof b_);                                                 \
    unsigned char *pa_ = (unsigned char *)&a_, *pb_ = (unsigned char *)&b_;    \
    for (unsigned k_ = 0; k_ < (fill); k_++) {                                 \
      pa_[k_] = (unsigned char)(5 * k_ + 9);                                   \
      pb_[k_] = (unsigned char)(k_ + 2);                                       \
    }                                                                          \
    memset(&f_, 0, sizeof f_);                                                 \
    memset(&s_, 0, sizeof s_);                                                 \
    S d_ = ((S(*)(S, S))fx_sym(name))(a_, b_);                                 \
    void *args_[] = {&a_, &b_};                                                \
    dy_call_vec(name, &f_, &s_, args_, ffi_can);                               \
    cr_assert(memcmp(&d_, &f_, sizeof d_) == 0, "%s: fast path differs",       \
              name);                                                           \
    if (ffi_can)                                                               \
      cr_assert(memcmp(&d_, &s_, sizeof d_) == 0, "%s: libffi differs", name); \
  } while (0)

Test(dynamic, vectors_in_aggregates) {
  if (dy_generic_refuses("fx_v_sv")) return;
  SVSUB(struct fx_sv, "fx_v_sv", false, 16);
  SVSUB(struct fx_sv2, "fx_v_sv2", true, 16);
  SVSUB(struct fx_svi, "fx_v_svi", true, 8);
  SVSUB(struct fx_svl, "fx_v_svl", true, 16);
  SVSUB(union fx_uv, "fx_v_uv", true, 16);
  SVSUB(struct fx_svm, "fx_v_svm", true, 20);
}

/* Nine 16-byte vectors: eight in %xmm0-7, the ninth on the stack; then
** vectors among scalars, a struct, _Float128 and stack-passed vectors. */
Test(dynamic, vectors_with_others) {
  if (dy_generic_refuses("fx_v9")) return;
  fx_vf16 v[9], f;
  void *args[9];
  for (int i = 0; i < 9; i++) {
    v[i] = (fx_vf16){i + 1.0f, -i * 0.5f, i * 3.25f, 100.0f - i};
    args[i] = &v[i];
  }
  fx_vf16 d = ((__typeof__(&fx_v9))fx_sym("fx_v9"))(
      v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
  dy_call_vec("fx_v9", &f, NULL, args, false);
  cr_assert(memcmp(&d, &f, sizeof d) == 0);

  fx_vmixed_call m;
  fx_vmixed_setup(&m);
  double got = 0;
  dy_call_vec("fx_vmixed", &got, NULL, m.args, false);
  cr_assert_eq(got, m.want);
}

Test(dynamic, float16_float128_complex_ldouble) {
  if (dy_generic_refuses("fx_lc")) return;
  _Float16 ha = 3.5, hb = -0.25, hr;
  void *hargs[] = {&ha, &hb};
  dy_call_vec("fx_h", &hr, NULL, hargs, false);
  cr_assert(hr == ((__typeof__(&fx_h))fx_sym("fx_h"))(ha, hb));

  _Float16 _Complex hc = 1.5 + 2.0 * (__extension__ 1.0iF), hcr;
  void *hcargs[] = {&hc};
  _Float16 _Complex hcs;
  dy_call_vec("fx_hc", &hcr, &hcs, hcargs, true);
  cr_assert(hcr == ((__typeof__(&fx_hc))fx_sym("fx_hc"))(hc) && hcs == hcr);

  _Float128 qa = 1, qb = 3, qr;
  void *qargs[] = {&qa, &qb};
  dy_call_vec("fx_q", &qr, NULL, qargs, false);
  cr_assert(qr == ((__typeof__(&fx_q))fx_sym("fx_q"))(qa, qb),
            "1/3 in _Float128, to the last bit");

  long double _Complex la = 1.0L / 3 + 7.0L * (__extension__ 1.0iL), lr, ls;
  int k = 5;
  void *largs[] = {&la, &k};
  dy_call_vec("fx_lc", &lr, &ls, largs, true);
  cr_assert(lr == ((__typeof__(&fx_lc))fx_sym("fx_lc"))(la, k) && ls == lr);

  long double _Complex lb = -2.0L + 0.5L * (__extension__ 1.0iL);
  int n = 3;
  double dd = 0.75;
  void *l2args[] = {&n, &la, &dd, &lb};
  dy_call_vec("fx_lc2", &lr, &ls, l2args, true);
  cr_assert(lr == ((__typeof__(&fx_lc2))fx_sym("fx_lc2"))(n, la, dd, lb) &&
            ls == lr);
}

/* Callbacks: complex long double comes back on the x87 stack (libffi's
** closures know it); a vector in an SSE register is refused by name where
** the closure engine cannot take it. */
static void dy_h_lc(void *ret, void *const *args, void *data) {
  (void)data;
  long double _Complex a = *(long double _Complex *)args[0];
  int k = *(int *)args[1];
  *(long double _Complex *)ret = a * k + 1;
}
static void dy_h_vf16(void *ret, void *const *args, void *data) {
  (void)data;
  *(fx_vf16 *)ret = *(fx_vf16 *)args[0] - *(fx_vf16 *)args[1];
}

Test(dynamic, callbacks_complex_ldouble_and_vectors) {
  if (dy_generic_refuses("fx_cb_lc")) return;
  mffi_closure *c = NULL;
  cr_assert_eq(mffi_callback(fx.fast,
                             fx_type("long double _Complex (*)(long double "
                                     "_Complex, int)"),
                             dy_h_lc, NULL, &c),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  void *code = mffi_closure_code(c);
  long double _Complex a = 2.5L - 1.0L / 3 * (__extension__ 1.0iL), r;
  int k = 3;
  long double _Complex want = (a * k + 1) * 2;
  r = ((__typeof__(&fx_cb_lc))fx_sym("fx_cb_lc"))(
      (long double _Complex (*)(long double _Complex, int))code, a, k);
  cr_assert(r == want, "direct caller");
  void *args[] = {&code, &a, &k};
  r = 0;
  cr_assert_eq(mffi_call(fx_bind(fx.fast, "fx_cb_lc"), &r, args), MFFI_OK);
  cr_assert(r == want, "mffi_call caller");
  mffi_closure_free(c);

  c = NULL;
  int rc = mffi_callback(fx.fast, fx_type("fx_vf16 (*)(fx_vf16, fx_vf16)"),
                         dy_h_vf16, NULL, &c);
  if (rc == MFFI_OK) { /* A closure engine that takes vectors. */
    fx_vf16 x = {1, 2, 3, 4}, y = {0.5f, 8, -1, 2};
    fx_vf16 got = ((__typeof__(&fx_cb_vf16))fx_sym("fx_cb_vf16"))(
        (fx_vf16(*)(fx_vf16, fx_vf16))mffi_closure_code(c), x, y);
    fx_vf16 exp = (x - y) * 2;
    cr_assert(memcmp(&got, &exp, sizeof got) == 0);
    mffi_closure_free(c);
  } else {
    cr_assert_eq(rc, MFFI_EUNSUPPORTED);
    cr_assert(c == NULL);
    cr_assert(strstr(mffi_errmsg(fx.ctx), "vector_size(16)") != NULL, "%s",
              mffi_errmsg(fx.ctx));
  }
}

/* Over 16 bytes, a vector's ABI depends on how the library was compiled
** (AVX registers with -mavx, else memory): declared, never bound. */
Test(dynamic, wide_vectors_refused_by_name) {
  const char *names[] = {"fx_v_d32", "fx_v_sv32"};
  for (int i = 0; i < 2; i++)
    for (int ffi = 0; ffi < 2; ffi++) {
      mffi_fn *fn = NULL;
      cr_assert_eq(mffi_bind(ffi ? fx.ffi : fx.fast, names[i], &fn),
                   MFFI_EUNSUPPORTED);
      cr_assert(fn == NULL);
      cr_assert(strstr(mffi_errmsg(fx.ctx), "vector of over 16 bytes") != NULL,
                "%s", mffi_errmsg(fx.ctx));
      cr_assert(strstr(mffi_errmsg(fx.ctx),
                       i ? "struct fx_sv32" : "vector_size(32)") != NULL,
                "%s", mffi_errmsg(fx.ctx));
    }
}

Test(dynamic, aggregate_paths) {
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_pt_swap")), FX_FAST);
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_big_inc")), FX_FAST);
  if (dy_generic_refuses("fx_uf_inc") || dy_generic_refuses("fx_ld_half") ||
      dy_generic_refuses("fx_pk_inc"))
    return;
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_uf_inc")), FX_FAST);
  /* In memory (X87 class, too big, unaligned member): on the stack and
  ** through a hidden pointer, which the fast path does as well. */
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_ld_half")), FX_FAST);
  cr_assert_eq(mffi_fn_path(fx_bind(fx.fast, "fx_pk_inc")), FX_FAST);
  cr_assert_eq(mffi_fn_path(fx_bind(fx.ffi, "fx_pk_inc")), MFFI_PATH_FFI);
}

Test(dynamic, pd_and_stack_aggregates) {
  struct fx_pd p = {1.5, -2}, r1, r2;
  double k = 4;
  void *args[] = {&p, &k};
  struct fx_pd want = ((__typeof__(&fx_pd_scale))fx_sym("fx_pd_scale"))(p, k);
  fx_call2("fx_pd_scale", &r1, &r2, args);
  cr_assert(EQ_PT(want, r1) && EQ_PT(want, r2));

  long a = 1, b = 2, c = 3, d = 4, e = 5;
  struct fx_mix m = {6, 7.5f, 8.25};
  struct fx_pd pp = {9, 10}, rr = {20, 21};
  struct fx_pt q = {11, 12};
  double x[7] = {13, 14, 15, 16, 17, 18, 19};
  int last = 22;
  void *sargs[] = {&a,    &b,    &c,    &d,    &e,    &m,    &pp, &q,   &x[0],
                   &x[1], &x[2], &x[3], &x[4], &x[5], &x[6], &rr, &last};
  double sw = ((__typeof__(&fx_stack_aggs))fx_sym("fx_stack_aggs"))(
      a, b, c, d, e, m, pp, q, x[0], x[1], x[2], x[3], x[4], x[5], x[6], rr,
      last);
  double s1, s2;
  fx_call2("fx_stack_aggs", &s1, &s2, sargs);
  cr_assert_eq(s1, sw);
  cr_assert_eq(s2, sw);
}

/* -- Variadic
 * ------------------------------------------------------------------- */

Test(dynamic, variadic) {
  const mffi_type *lt = fx_type("long");
  const mffi_type *vt[3] = {lt, lt, lt};
  for (int lib = 0; lib < 2; lib++) {
    mffi_fn *fn;
    cr_assert_eq(
        mffi_bind_variadic(lib ? fx.ffi : fx.fast, "fx_sumv", vt, 3, &fn),
        MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    cr_assert_eq(mffi_fn_nargs(fn), 4);
    int n = 3;
    long x = 100, y = -20, z = 3, r = 0;
    void *args[] = {&n, &x, &y, &z};
    cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
    cr_assert_eq(r, 83);
  }
  /* Mixed: a short and a float are promoted (int, double). */
  const mffi_type *mt[5] = {fx_type("short"), fx_type("float"), fx_type("long"),
                            fx_type("const char *"), fx_type("struct fx_pd")};
  const char *fmt = "idlsp";
  short i = -3;
  float fl = 2.5f;
  long l = 1000;
  const char *str = "A";
  struct fx_pd pd = {1, 7};
  void *args[] = {&fmt, &i, &fl, &l, &str, &pd};
  double want = ((double (*)(const char *, ...))fx_sym("fx_vmix"))(fmt, i, fl,
                                                                   l, str, pd);
  for (int lib = 0; lib < 2; lib++) {
    mffi_fn *fn;
    cr_assert_eq(
        mffi_bind_variadic(lib ? fx.ffi : fx.fast, "fx_vmix", mt, 5, &fn),
        MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    double r = 0;
    cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
    cr_assert_eq(r, want, "%s path", lib ? "libffi" : "fast");
  }
}

/* Call fn with pad more bytes of this stack in use. */
static __attribute__((noinline)) int call_deeper(size_t pad, mffi_fn *fn,
                                                 void *ret, void *const *args) {
  volatile unsigned char used[pad];
  used[pad - 1] = 0;
  int rc = mffi_call(fn, ret, args);
  (void)used[pad - 1];
  return rc;
}

/* A variadic argument aligned to 32 bytes on the stack, which va_arg finds
** by absolute address (callgen seed 6, cg_f135): the fast path aligns its
** stack area to 32, from whatever stack depth the call is made. libffi
** places the area where it likes, so the libffi path refuses the call. */
Test(dynamic, variadic_overaligned) {
  typedef double (*valign_fn)(const char *, ...);
  valign_fn direct = (valign_fn)fx_sym("fx_valign");
  long l[7] = {1, -2, 3, -4, 5, -6, 7};
  struct fx_a32 a[2] = {{9, 0.5}, {-11, 2.25}};
  struct fx_dc k = {1.75, 13};
  struct fx_f3 f3 = {0.5f, 1.5f, -2.5f};
  /* Stack areas of several sizes: the padding before an A differs. */
  const char *fmts[] = {"lllllAlkfA", "llllAkA", "lllllllA", "lllllklA"};
  double want[] = {
      direct(fmts[0], l[0], l[1], l[2], l[3], l[4], a[0], l[5], k, f3, a[1]),
      direct(fmts[1], l[0], l[1], l[2], l[3], a[0], k, a[1]),
      direct(fmts[2], l[0], l[1], l[2], l[3], l[4], l[5], l[6], a[0]),
      direct(fmts[3], l[0], l[1], l[2], l[3], l[4], k, l[5], a[0])};
  for (size_t c = 0; c < sizeof fmts / sizeof fmts[0]; c++) {
    const char *fmt = fmts[c];
    const mffi_type *vt[16];
    void *args[17] = {&fmt};
    size_t n = strlen(fmt);
    int nl = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
      switch (fmt[i]) {
      case 'l':
        vt[i] = fx_type("long");
        args[i + 1] = &l[nl++];
        break;
      case 'A':
        vt[i] = fx_type("struct fx_a32");
        args[i + 1] = &a[na++];
        break;
      case 'k':
        vt[i] = fx_type("struct fx_dc");
        args[i + 1] = &k;
        break;
      default:
        vt[i] = fx_type("struct fx_f3");
        args[i + 1] = &f3;
        break;
      }
    }
    mffi_fn *fn;
    if (FX_FAST == MFFI_PATH_FFI) /* Only the x86-64 planner knows. */
      return;
    cr_assert_eq(mffi_bind_variadic(fx.fast, "fx_valign", vt, n, &fn), MFFI_OK,
                 "%s: %s", fmt, mffi_errmsg(fx.ctx));
    cr_assert_eq(mffi_fn_path(fn), MFFI_PATH_FAST);
    for (size_t pad = 1; pad <= 64; pad += 8) {
      double r = 0;
      cr_assert_eq(call_deeper(pad, fn, &r, args), MFFI_OK);
      cr_assert_eq(r, want[c], "\"%s\", %zu bytes deeper: %g, not %g", fmt,
                   pad, r, want[c]);
    }
    mffi_fn_free(fn);
    fn = NULL;
    cr_assert_eq(mffi_bind_variadic(fx.ffi, "fx_valign", vt, n, &fn),
                 MFFI_EUNSUPPORTED, "%s, libffi path", fmt);
    cr_assert_null(fn);
  }
}

/* -- Variables, pointers, errno
 * ------------------------------------------------ */

Test(dynamic, variables) {
  mffi_fn *v = fx_bind(fx.fast, "fx_counter");
  cr_assert(mffi_fn_is_var(v));
  int *p = mffi_fn_addr(v);
  cr_assert_eq(p, fx_sym("fx_counter"));
  cr_assert_eq(*p, 42);
  mffi_fn *n = fx_bind(fx.fast, "fx_name");
  cr_assert_str_eq(*(const char **)mffi_fn_addr(n), "fixture");
  cr_assert_eq(mffi_call(v, NULL, NULL), MFFI_EMISUSE);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "variable"), "%s", mffi_errmsg(fx.ctx));
}

Test(dynamic, bind_ptr) {
  const mffi_type *t = fx_type("int (*)(int, int)");
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_ptr(fx.fast, t, fx_sym("fx_add"), &fn), MFFI_OK);
  int a = 2, b = 3, r;
  void *args[] = {&a, &b};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 5);
  cr_assert_null(mffi_fn_name(fn));
  cr_assert_eq(mffi_fn_type(fn), fx_type("int (int, int)"));
}

Test(dynamic, bind_ptr_variadic) {
  const mffi_type *t = fx_type("double (*)(const char *, ...)");
  const mffi_type *vt[] = {fx_type("int"), fx_type("double"),
                           fx_type("long")};
  for (int lib = 0; lib < 2; lib++) {
    mffi_fn *fn;
    cr_assert_eq(mffi_bind_ptr_variadic(lib ? fx.ffi : fx.fast, t,
                                        fx_sym("fx_vmix"), vt, 3, &fn),
                 MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    const char *fmt = "idl";
    int i = 7;
    double d = 0.5, r;
    long l = -3;
    void *args[] = {&fmt, &i, &d, &l};
    cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
    double (*direct)(const char *, ...) =
        (double (*)(const char *, ...))fx_sym("fx_vmix");
    cr_assert_eq(r, direct("idl", 7, 0.5, -3L));
    cr_assert_eq(mffi_fn_nargs(fn), 4);
    mffi_fn_free(fn);
  }
  mffi_fn *fn = (mffi_fn *)1;
  cr_assert_eq(mffi_bind_ptr_variadic(fx.fast, t, fx_sym("fx_vmix"), NULL, 1,
                                      &fn),
               MFFI_EMISUSE);
  cr_assert_null(fn);
  cr_assert_eq(mffi_bind_ptr_variadic(fx.fast, fx_type("int (*)(int, int)"),
                                      fx_sym("fx_add"), vt, 1, &fn),
               MFFI_EMISUSE);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "not variadic"), "%s",
            mffi_errmsg(fx.ctx));
}

Test(dynamic, errno_capture) {
  int e = EDOM, r;
  void *args[] = {&e};
  for (int lib = 0; lib < 2; lib++) {
    mffi_fn *fn = fx_bind(lib ? fx.ffi : fx.fast, "fx_fail");
    errno = 0;
    mffi_set_errno(0);
    cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
    cr_assert_eq(r, -1);
    cr_assert_eq(mffi_errno(), e);
    e = ERANGE;
  }
  cr_assert_eq(mffi_errno(), ERANGE);
}

/* -- Errors ---------------------------------------------------------------- */

Test(dynamic, errors) {
  mffi_lib *lib = (mffi_lib *)1;
  cr_assert_eq(mffi_open(fx.ctx, NULL, "libnope-mffi.so", NULL, &lib),
               MFFI_ENOLIB);
  cr_assert_null(lib);
  cr_assert(
      strncmp(mffi_errmsg(fx.ctx), "cannot open 'libnope-mffi.so': ", 31) == 0,
      "%s", mffi_errmsg(fx.ctx));

  mffi_fn *fn = (mffi_fn *)1;
  cr_assert_eq(mffi_bind(fx.fast, "baz", &fn), MFFI_ENOTFOUND);
  cr_assert_null(fn);
  cr_assert_str_eq(mffi_errmsg(fx.ctx), "'baz' is not declared");

  cr_assert_eq(mffi_cdef(fx.ctx, "double nosuch_fn(double);", 25), MFFI_OK);
  cr_assert_eq(mffi_bind(fx.fast, "nosuch_fn", &fn), MFFI_ENOSYM);
  char want[512];
  snprintf(want, sizeof want, "symbol 'nosuch_fn' not found in %s", fx.path);
  cr_assert_str_eq(mffi_errmsg(fx.ctx), want);

  /* Misuse. */
  cr_assert_eq(mffi_bind(fx.fast, "FX_RED", &fn), MFFI_EMISUSE);
  cr_assert_eq(mffi_bind(NULL, "fx_add", &fn), MFFI_EMISUSE);
  cr_assert_eq(mffi_bind(fx.fast, "fx_add", NULL), MFFI_EMISUSE);
  cr_assert_eq(mffi_call(NULL, NULL, NULL), MFFI_EMISUSE);
  const mffi_type *it = fx_type("int");
  cr_assert_eq(mffi_bind_variadic(fx.fast, "fx_add", &it, 1, &fn),
               MFFI_EMISUSE);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "not variadic"));
  const mffi_type *vt = fx_type("void");
  cr_assert_eq(mffi_bind_variadic(fx.fast, "fx_sumv", &vt, 1, &fn),
               MFFI_EMISUSE);
  fn = fx_bind(fx.fast, "fx_add");
  cr_assert_eq(mffi_call(fn, NULL, NULL), MFFI_EMISUSE, "args NULL");
  mffi_open_opts bad = {99, 0, NULL};
  cr_assert_eq(mffi_open(fx.ctx, NULL, NULL, &bad, &lib), MFFI_EMISUSE);

  /* An incomplete struct by value. */
  cr_assert_eq(mffi_cdef(fx.ctx, "struct inc; void take_inc(struct inc);", 38),
               MFFI_OK);
  cr_assert_eq(mffi_bind(fx.fast, "take_inc", &fn), MFFI_EUNSUPPORTED);
}

Test(dynamic, strategies) {
  const mffi_strategy *s = mffi_strategy_find("dynamic");
  cr_assert_not_null(s);
  cr_assert_null(mffi_strategy_find("nope"));
  cr_assert_eq(mffi_lib_strategy(fx.fast), s);
  cr_assert_str_eq(mffi_lib_target(fx.fast), fx.path);
  cr_assert_eq(mffi_lib_ctx(fx.fast), fx.ctx);
  cr_assert_eq(mffi_strategy_register(s), MFFI_EMISUSE, "name taken");
  /* The running process. */
  mffi_lib *self;
  cr_assert_eq(mffi_open(fx.ctx, NULL, NULL, NULL, &self), MFFI_OK);
  cr_assert_null(mffi_lib_target(self));
  cr_assert_eq(mffi_cdef(fx.ctx, "int abs(int);", 13), MFFI_OK);
  mffi_fn *fn = fx_bind(self, "abs");
  int x = -9, r;
  void *args[] = {&x};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
  cr_assert_eq(r, 9);
  mffi_close(self);
}

/* -- Real libraries
 * ------------------------------------------------------------- */

static const char libc_decls[] =
    "typedef unsigned long size_t;\n"
    "size_t strlen(const char *s);\n"
    "int snprintf(char *buf, size_t n, const char *fmt, ...);\n"
    "void qsort(void *base, size_t n, size_t size,\n"
    "           int (*cmp)(const void *, const void *));\n"
    "void *bsearch(const void *key, const void *base, size_t n, size_t size,\n"
    "              int (*cmp)(const void *, const void *));\n"
    "double strtod(const char *s, char **end);\n"
    "long strtol(const char *s, char **end, int base);\n"
    "char *getenv(const char *name);\n"
    "double pow(double x, double y);\n"
    "double frexp(double x, int *exp);\n"
    "typedef unsigned long uLong; typedef unsigned char Bytef;\n"
    "typedef unsigned int uInt; typedef unsigned long uLongf;\n"
    "int compress(Bytef *dest, uLongf *destLen, const Bytef *source,\n"
    "             uLong sourceLen);\n"
    "int uncompress(Bytef *dest, uLongf *destLen, const Bytef *source,\n"
    "               uLong sourceLen);\n"
    "uLong crc32(uLong crc, const Bytef *buf, uInt len);\n";

static mffi_lib *real_open(const char *target, bool ffi) {
  cr_assert_eq(mffi_cdef(fx.ctx, libc_decls, sizeof libc_decls - 1), MFFI_OK,
               "%s", mffi_errmsg(fx.ctx));
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, ffi ? MFFI_OPEN_FFI_ONLY : 0,
                      NULL};
  mffi_lib *lib;
  cr_assert_eq(mffi_open(fx.ctx, NULL, target, &o, &lib), MFFI_OK, "%s",
               mffi_errmsg(fx.ctx));
  return lib;
}

static int int_cmp_handler_calls;

static void int_cmp(void *ret, void *const *args, void *data) {
  (void)data;
  const int *a = *(const int *const *)args[0];
  const int *b = *(const int *const *)args[1];
  *(int *)ret = (*a > *b) - (*a < *b);
  int_cmp_handler_calls++;
}

Test(dynamic, libc) {
  for (int ffi = 0; ffi < 2; ffi++) {
    mffi_lib *c = real_open("libc.so.6", ffi);
    /* strlen */
    const char *s = "hello, world";
    size_t n = 0;
    void *a1[] = {&s};
    cr_assert_eq(mffi_call(fx_bind(c, "strlen"), &n, a1), MFFI_OK);
    cr_assert_eq(n, 12);
    /* snprintf with mixed variadic arguments. */
    const mffi_type *vt[5] = {fx_type("int"), fx_type("const char *"),
                              fx_type("double"), fx_type("char"),
                              fx_type("long")};
    mffi_fn *sp;
    cr_assert_eq(mffi_bind_variadic(c, "snprintf", vt, 5, &sp), MFFI_OK);
    char buf[64], *pb = buf;
    size_t cap = sizeof buf;
    const char *fmt = "%d|%s|%.3f|%c|%ld";
    int i = -42;
    const char *str = "xy";
    double d = 3.14159;
    char ch = 'Z';
    long l = 1234567890123L;
    int r = 0;
    void *a2[] = {&pb, &cap, &fmt, &i, &str, &d, &ch, &l};
    cr_assert_eq(mffi_call(sp, &r, a2), MFFI_OK);
    cr_assert_str_eq(buf, "-42|xy|3.142|Z|1234567890123");
    cr_assert_eq(r, (int)strlen(buf));
    /* qsort and bsearch with a callback. */
    mffi_closure *cl;
    cr_assert_eq(mffi_callback(c,
                               fx_type("int (*)(const void *, const void *)"),
                               int_cmp, NULL, &cl),
                 MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    void *code = mffi_closure_code(cl);
    int arr[] = {5, -1, 9, 3, 3, 0, 12, -7};
    void *base = arr;
    size_t cnt = 8, sz = sizeof(int);
    void *a3[] = {&base, &cnt, &sz, &code};
    int_cmp_handler_calls = 0;
    cr_assert_eq(mffi_call(fx_bind(c, "qsort"), NULL, a3), MFFI_OK);
    cr_assert_gt(int_cmp_handler_calls, 0);
    int sorted[] = {-7, -1, 0, 3, 3, 5, 9, 12};
    cr_assert_arr_eq(arr, sorted, sizeof arr);
    int key = 9;
    const void *pk = &key;
    void *found = NULL;
    void *a4[] = {&pk, &base, &cnt, &sz, &code};
    cr_assert_eq(mffi_call(fx_bind(c, "bsearch"), &found, a4), MFFI_OK);
    cr_assert_eq(found, &arr[6]);
    /* strtod with an out-pointer. */
    const char *num = "  2.5e3xyz";
    char *end = NULL, **pend = &end;
    double v = 0;
    void *a5[] = {&num, &pend};
    cr_assert_eq(mffi_call(fx_bind(c, "strtod"), &v, a5), MFFI_OK);
    cr_assert_eq(v, 2500.0);
    cr_assert_str_eq(end, "xyz");
    /* errno from strtol. */
    const char *big = "999999999999999999999999";
    int base10 = 10;
    long lv;
    void *a6[] = {&big, &pend, &base10};
    mffi_set_errno(0);
    cr_assert_eq(mffi_call(fx_bind(c, "strtol"), &lv, a6), MFFI_OK);
    cr_assert_eq(mffi_errno(), ERANGE);
    /* getenv */
    setenv("MFFI_TEST_VAR", "yes", 1);
    const char *name = "MFFI_TEST_VAR";
    char *val = NULL;
    void *a7[] = {&name};
    cr_assert_eq(mffi_call(fx_bind(c, "getenv"), &val, a7), MFFI_OK);
    cr_assert_str_eq(val, "yes");
    mffi_close(c);
  }
}

Test(dynamic, libm) {
  for (int ffi = 0; ffi < 2; ffi++) {
    mffi_lib *m = real_open("libm.so.6", ffi);
    double x = 2, y = 0.5, r = 0;
    void *a1[] = {&x, &y};
    cr_assert_eq(mffi_call(fx_bind(m, "pow"), &r, a1), MFFI_OK);
    cr_assert_eq(r, 1.4142135623730951); /* sqrt(2), without -lm. */
    int e = 0, *pe = &e;
    double f = 8;
    void *a2[] = {&f, &pe};
    cr_assert_eq(mffi_call(fx_bind(m, "frexp"), &r, a2), MFFI_OK);
    cr_assert_eq(r, 0.5);
    cr_assert_eq(e, 4);
    mffi_close(m);
  }
}

Test(dynamic, zlib) {
  for (int ffi = 0; ffi < 2; ffi++) {
    mffi_lib *z = real_open("libz.so.1", ffi);
    static const char text[] =
        "modffi modffi modffi modffi modffi modffi modffi modffi";
    unsigned char packed[256], out[256];
    unsigned long plen = sizeof packed, olen = sizeof out, slen = sizeof text;
    unsigned char *pp = packed, *po = out;
    const unsigned char *src = (const unsigned char *)text;
    unsigned long *pplen = &plen, *polen = &olen;
    int rc = -1;
    void *a1[] = {&pp, &pplen, &src, &slen};
    cr_assert_eq(mffi_call(fx_bind(z, "compress"), &rc, a1), MFFI_OK);
    cr_assert_eq(rc, 0);
    cr_assert_lt(plen, slen);
    const unsigned char *cp = packed;
    void *a2[] = {&po, &polen, &cp, &plen};
    cr_assert_eq(mffi_call(fx_bind(z, "uncompress"), &rc, a2), MFFI_OK);
    cr_assert_eq(rc, 0);
    cr_assert_eq(olen, slen);
    cr_assert_str_eq((char *)out, text);
    unsigned long crc = 0, got = 0;
    const unsigned char *hb = (const unsigned char *)"hello";
    unsigned hl = 5;
    void *a3[] = {&crc, &hb, &hl};
    cr_assert_eq(mffi_call(fx_bind(z, "crc32"), &got, a3), MFFI_OK);
    cr_assert_eq(got, 0x3610a686UL);
    mffi_close(z);
  }
}

/* -- Discarded large returns ----------------------------------------------- */

/* The largest block the hook was asked for. */
static size_t dy_biggest;

static void *dy_watch_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize > dy_biggest) dy_biggest = nsize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

typedef struct dy_huge_job {
  mffi_fn *fn;
  int c;
  int rc;
} dy_huge_job;

static void *dy_huge_thread(void *arg) {
  dy_huge_job *j = arg;
  void *args[] = {&j->c};
  j->rc = mffi_call(j->fn, NULL, args);
  return NULL;
}

/* ret == NULL with a 60000-byte memory-class return: the scratch comes from
** the context's allocator, not the stack, so it works on a thread whose
** whole stack is 64 KiB; both paths. */
Test(dynamic, discarded_huge_return) {
  mffi_ctx *ctx;
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, dy_watch_alloc, NULL};
  cr_assert_eq(mffi_ctx_new(&ctx, &o), MFFI_OK);
  size_t len;
  char *src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/dynfx.h", &len);
  cr_assert_eq(mffi_cdef(ctx, src, len), MFFI_OK, "%s", mffi_errmsg(ctx));
  free(src);
  int *last = fx_sym("fx_huge_last");
  for (int ffi = 0; ffi < 2; ffi++) {
    mffi_open_opts oo = {MFFI_OPEN_OPTS_VERSION, ffi ? MFFI_OPEN_FFI_ONLY : 0,
                         NULL};
    mffi_lib *lib;
    cr_assert_eq(mffi_open(ctx, NULL, fx.path, &oo, &lib), MFFI_OK, "%s",
                 mffi_errmsg(ctx));
    mffi_fn *fn;
    cr_assert_eq(mffi_bind(lib, "fx_huge_fill", &fn), MFFI_OK, "%s",
                 mffi_errmsg(ctx));
    /* The library the test dlopened is the same object: fx_huge_last is
    ** shared. */
    dy_biggest = 0;
    dy_huge_job j = {fn, 40 + ffi, -1};
    pthread_attr_t at;
    pthread_attr_init(&at);
    cr_assert_eq(pthread_attr_setstacksize(&at, 64 * 1024), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, &at, dy_huge_thread, &j), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&at);
    cr_assert_eq(j.rc, MFFI_OK, "%s", mffi_errmsg(ctx));
    cr_assert_eq(*last, 40 + ffi, "the callee ran");
    cr_assert_geq(dy_biggest, sizeof(struct fx_huge), "scratch on the heap");
    /* With a buffer, the bytes arrive. */
    struct fx_huge *h = malloc(sizeof *h);
    int c = 7;
    void *args[] = {&c};
    cr_assert_eq(mffi_call(fn, h, args), MFFI_OK);
    cr_assert_eq(h->b[0], 7);
    cr_assert_eq(h->b[sizeof h->b - 1], 7);
    free(h);
    /* A struct over the by-value limit is refused at bind time. */
    mffi_fn *big = (mffi_fn *)1;
    cr_assert_eq(mffi_bind(lib, "fx_toobig_get", &big), MFFI_EUNSUPPORTED);
    cr_assert_null(big);
    cr_assert(strstr(mffi_errmsg(ctx), "over the limit"), "%s",
              mffi_errmsg(ctx));
    mffi_close(lib);
  }
  mffi_ctx_free(ctx);
}

/* -- Strategy registry ----------------------------------------------------- */

static int dy_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts) {
  (void)lib;
  (void)target;
  (void)opts;
  return MFFI_OK;
}

static int dy_bind(mffi_fn *fn) {
  (void)fn;
  return MFFI_EUNSUPPORTED;
}

/* A fixed capacity of 16, and unregistering frees a slot; the built-in
** strategies stay. */
Test(dynamic, strategy_registry) {
  enum { CAP = 16 };
  static mffi_strategy s[CAP + 1];
  static char names[CAP + 1][16];
  for (int i = 0; i <= CAP; i++) {
    snprintf(names[i], sizeof names[i], "plug%d", i);
    s[i] = (mffi_strategy){
        .version = 1, .name = names[i], .xOpen = dy_open, .xBind = dy_bind};
  }
  for (int i = 0; i < CAP; i++)
    cr_assert_eq(mffi_strategy_register(&s[i]), MFFI_OK, "%d", i);
  cr_assert_eq(mffi_strategy_register(&s[CAP]), MFFI_ENOMEM);
  cr_assert_eq(mffi_strategy_find("plug3"), &s[3]);
  cr_assert_eq(mffi_strategy_unregister(&s[3]), MFFI_OK);
  cr_assert_null(mffi_strategy_find("plug3"));
  cr_assert_eq(mffi_strategy_find("plug4"), &s[4], "the others stay");
  cr_assert_eq(mffi_strategy_unregister(&s[3]), MFFI_ENOTFOUND);
  cr_assert_eq(mffi_strategy_unregister(NULL), MFFI_EMISUSE);
  cr_assert_eq(mffi_strategy_unregister(mffi_strategy_find("dynamic")),
               MFFI_ENOTFOUND, "built-in");
  cr_assert_not_null(mffi_strategy_find("dynamic"));
  cr_assert_eq(mffi_strategy_register(&s[CAP]), MFFI_OK, "room again");
  cr_assert_eq(mffi_strategy_find("plug16"), &s[CAP]);
  /* A registered plug-in strategy opens libraries. */
  mffi_lib *lib;
  cr_assert_eq(mffi_open(fx.ctx, &s[CAP], "x", NULL, &lib), MFFI_OK);
  mffi_close(lib);
  for (int i = 0; i <= CAP; i++)
    (void)mffi_strategy_unregister(&s[i]);
  cr_assert_null(mffi_strategy_find("plug0"));
}
