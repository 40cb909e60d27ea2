/* Callbacks: closures called by C with every type. See LICENSE.
**
** Each fx_cb_* function of the fixture calls the function pointer it is
** given; we give it an mffi_callback closure whose handler transforms its
** arguments, and compare with the same transformation done here. The
** closure code is also called directly through a C prototype. Every test
** runs twice: with closures of fx.fast, which run on the call plan
** (x86_64_closure.c) where the ABI has an entry, and of fx.ffi
** (MFFI_OPEN_FFI_ONLY), which are libffi closures.
*/
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/dynfx.h"
#include "fixtures/fxutil.h"

TestSuite(callback, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* The library closures are made on: fx.fast or fx.ffi. */
static mffi_lib *cb_lib;

#if defined(__x86_64__) && !defined(MFFI_GENERIC_ABI)
#define PLAN_CLOSURES 1 /* fx.fast's closures run on the plan. */
#else
#define PLAN_CLOSURES 0
#endif

/* Whether code is a trampoline slot of a plan closure (x86_64_closure.c):
** endbr64; movq rel32(%rip), %r10. */
static bool on_plan(const void *code) {
  static const unsigned char slot[] = {0xf3, 0x0f, 0x1e, 0xfa,
                                       0x4c, 0x8b, 0x15};
  return memcmp(code, slot, sizeof slot) == 0;
}

/* Check that closure c is of the kind cb_lib makes. */
static void check_kind(mffi_closure *c, const char *what) {
  bool want = PLAN_CLOSURES && cb_lib == fx.fast;
  cr_assert_eq(on_plan(mffi_closure_code(c)), want, "%s: %s closure expected",
               what, want ? "a plan" : "a libffi");
}

/* Make a closure of type texpr running h on cb_lib; returns its code. */
static void *mkcb(const char *texpr, mffi_handler h, void *data) {
  mffi_closure *c = NULL;
  int rc = mffi_callback(cb_lib, fx_type(texpr), h, data, &c);
  cr_assert_eq(rc, MFFI_OK, "callback %s: %s", texpr, mffi_errmsg(fx.ctx));
  cr_assert_not_null(mffi_closure_code(c));
  check_kind(c, texpr);
  return mffi_closure_code(c);
}

/* Run body with plan closures, then with libffi closures. */
static void both(void (*body)(void)) {
  cb_lib = fx.fast;
  body();
  cb_lib = fx.ffi;
  body();
}

/* Call fx_cb_<name>(code, args...) through both libraries. */
static void via(const char *name, void *r_fast, void *r_ffi,
                void *const *args) {
  fx_call2(name, r_fast, r_ffi, args);
}

/* A handler for T f(T): ret = OP(arg0). */
#define H1(T, hname, OP)                                                       \
  static void hname(void *ret, void *const *args, void *data) {                \
    (void)data;                                                                \
    T x;                                                                       \
    memcpy(&x, args[0], sizeof x);                                             \
    T r = OP(x);                                                               \
    memcpy(ret, &r, sizeof r);                                                 \
  }

#define NOTB(x) (!(x))
#define INC(x) ((x) + 1)
#define NEG(x) (-(x))
#define XOR(x) ((x) ^ 0x5a5a5a5au)
#define TWICE(x) ((x)*2)
#define PLUS7(x) ((void *)((char *)(x) + 7))
#define SWAPC(x) ((x) == FX_RED ? FX_GREEN : FX_BLUE)

H1(_Bool, h_bool, NOTB)
H1(char, h_char, INC)
H1(signed char, h_schar, NEG)
H1(unsigned char, h_uchar, INC)
H1(short, h_short, NEG)
H1(unsigned short, h_ushort, INC)
H1(unsigned, h_uint, XOR)
H1(long, h_long, TWICE)
H1(unsigned long long, h_ullong, TWICE)
H1(__int128, h_int128, NEG)
H1(long double, h_ldouble, TWICE)
H1(void *, h_ptr, PLUS7)
H1(enum fx_color, h_enum, SWAPC)

/* One T f(T) callback checked three ways. */
#define CB1(T, texpr, fname, h, val)                                           \
  do {                                                                         \
    typedef T t_;                                                              \
    void *code = mkcb(texpr, h, NULL);                                         \
    t_ a = (val), want, r1, r2;                                                \
    memset(&want, 0, sizeof want);                                             \
    h(&want, (void *[]){&a}, NULL);                                            \
    t_ direct = ((t_(*)(t_))code)(a);                                          \
    cr_assert(direct == want, "%s: direct call", fname);                       \
    void *args[] = {&code, &a};                                                \
    via(fname, &r1, &r2, args);                                                \
    cr_assert(r1 == want, "%s: through the fast path", fname);                 \
    cr_assert(r2 == want, "%s: through libffi", fname);                        \
  } while (0)

static void t_scalars(void) {
  CB1(_Bool, "_Bool (*)(_Bool)", "fx_cb_bool", h_bool, 1);
  CB1(_Bool, "_Bool (*)(_Bool)", "fx_cb_bool", h_bool, 0);
  CB1(char, "char (*)(char)", "fx_cb_char", h_char, 'q');
  CB1(signed char, "signed char (*)(signed char)", "fx_cb_schar", h_schar,
      -100);
  CB1(unsigned char, "unsigned char (*)(unsigned char)", "fx_cb_uchar", h_uchar,
      200);
  CB1(short, "short (*)(short)", "fx_cb_short", h_short, -32000);
  CB1(unsigned short, "unsigned short (*)(unsigned short)", "fx_cb_ushort",
      h_ushort, 65000);
  CB1(unsigned, "unsigned (*)(unsigned)", "fx_cb_uint", h_uint, 0xa5a5a5a5u);
  CB1(long, "long (*)(long)", "fx_cb_long", h_long, -123456789012L);
  CB1(unsigned long long, "unsigned long long (*)(unsigned long long)",
      "fx_cb_ullong", h_ullong, 0x4000000000000001ULL);
  CB1(__int128, "__int128 (*)(__int128)", "fx_cb_int128", h_int128,
      ((__int128)3 << 80) + 5);
  CB1(long double, "long double (*)(long double)", "fx_cb_ldouble", h_ldouble,
      1.0L / 3);
  CB1(void *, "void *(*)(void *)", "fx_cb_ptr", h_ptr, (void *)0x4000);
  CB1(enum fx_color, "enum fx_color (*)(enum fx_color)", "fx_cb_enum", h_enum,
      FX_RED);
}

Test(callback, scalars) {
  both(t_scalars);
}

static void h_int2(void *ret, void *const *args, void *data) {
  *(int *)ret = *(int *)args[0] * 10 + *(int *)args[1] + *(int *)data;
}

static void h_float2(void *ret, void *const *args, void *data) {
  (void)data;
  *(float *)ret = *(float *)args[0] / *(float *)args[1];
}

static void h_double2(void *ret, void *const *args, void *data) {
  (void)data;
  *(double *)ret = *(double *)args[0] - *(double *)args[1] * 3;
}

static int void_seen;

static void h_void(void *ret, void *const *args, void *data) {
  cr_assert_null(ret);
  (void)data;
  void_seen = *(int *)args[0];
}

static void t_two_args_data_and_void(void) {
  int bias = 1000;
  void *code = mkcb("int (*)(int, int)", h_int2, &bias);
  int a = 4, b = 2, r1, r2;
  void *args[] = {&code, &a, &b};
  via("fx_cb_int", &r1, &r2, args);
  cr_assert_eq(r1, 1042);
  cr_assert_eq(r2, 1042);
  cr_assert_eq(((int (*)(int, int))code)(1, 1), 1011);

  code = mkcb("float (*)(float, float)", h_float2, NULL);
  float fa = 1, fb = 8, f1, f2;
  void *fargs[] = {&code, &fa, &fb};
  via("fx_cb_float", &f1, &f2, fargs);
  cr_assert_eq(f1, 0.125f);
  cr_assert_eq(f2, 0.125f);

  code = mkcb("double (*)(double, double)", h_double2, NULL);
  double da = 10, db = 0.5, d1, d2;
  void *dargs[] = {&code, &da, &db};
  via("fx_cb_double", &d1, &d2, dargs);
  cr_assert_eq(d1, 8.5);
  cr_assert_eq(d2, 8.5);

  code = mkcb("void (*)(int)", h_void, NULL);
  int v = 77;
  void *vargs[] = {&code, &v};
  mffi_call(fx_bind(fx.fast, "fx_cb_void"), NULL, vargs);
  cr_assert_eq(void_seen, 77);
}

Test(callback, two_args_data_and_void) {
  both(t_two_args_data_and_void);
}

/* Aggregate handlers. */
static void h_pt(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_pt p = *(struct fx_pt *)args[0], r = {p.y * 2, p.x - 1};
  memcpy(ret, &r, sizeof r);
}
static void h_pd(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_pd p = *(struct fx_pd *)args[0], r = {p.y, p.x / 4};
  memcpy(ret, &r, sizeof r);
}
static void h_mix(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_mix m = *(struct fx_mix *)args[0];
  m.i *= 3;
  m.f -= 0.5f;
  m.d *= -1;
  memcpy(ret, &m, sizeof m);
}
static void h_big(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_big b = *(struct fx_big *)args[0];
  for (int i = 0; i < 5; i++)
    b.a[i] = b.a[4 - i] * 10 + i;
  memcpy(ret, &b, sizeof b);
}
static void h_ld(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_ld v = *(struct fx_ld *)args[0];
  v.x = v.x * 4 + 1;
  memcpy(ret, &v, sizeof v);
}
static void h_pk(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_pk v;
  memcpy(&v, args[0], sizeof v);
  v.c = (char)(v.c + 2);
  v.i = v.i * 2;
  memcpy(ret, &v, sizeof v);
}
static void h_uf(void *ret, void *const *args, void *data) {
  (void)data;
  union fx_uf v = *(union fx_uf *)args[0];
  v.f[0] *= 2;
  v.f[2] += 1;
  memcpy(ret, &v, sizeof v);
}
static void h_bits(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_bits v = *(struct fx_bits *)args[0];
  v.a = 7 - v.a;
  v.b = -v.b;
  v.c ^= 0xfffff;
  v.d = (short)(v.d + 1);
  memcpy(ret, &v, sizeof v);
}

#define EQ_PT(X, Y) ((X).x == (Y).x && (X).y == (Y).y)
#define EQ_MIX(X, Y) ((X).i == (Y).i && (X).f == (Y).f && (X).d == (Y).d)
#define EQ_BIG(X, Y) (memcmp((X).a, (Y).a, sizeof(X).a) == 0)
#define EQ_LD(X, Y) ((X).x == (Y).x)
#define EQ_PK(X, Y) ((X).c == (Y).c && (X).i == (Y).i)
#define EQ_UF(X, Y) (memcmp(&(X), &(Y), sizeof(X)) == 0)
#define EQ_BITS(X, Y)                                                          \
  ((X).a == (Y).a && (X).b == (Y).b && (X).c == (Y).c && (X).d == (Y).d)

/* Whether closures of type texpr are refused by name: only where no ABI
** module classifies aggregates (MFFI_GENERIC_ABI: libffi alone, which
** cannot describe some of them exactly), never passed wrong. */
static bool cb_refused(const char *texpr, mffi_handler h) {
#if defined(__x86_64__) && !defined(_WIN32) && !defined(MFFI_GENERIC_ABI)
  (void)texpr;
  (void)h;
  return false;
#else
  mffi_closure *c = NULL;
  int rc = mffi_callback(fx.fast, fx_type(texpr), h, NULL, &c);
  if (rc == MFFI_OK) {
    mffi_closure_free(c);
    return false;
  }
  cr_assert_eq(rc, MFFI_EUNSUPPORTED, "%s", texpr);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "libffi cannot pass") != NULL, "%s",
            mffi_errmsg(fx.ctx));
  return true;
#endif
}

#define CBA(T, texpr, fname, h, init, eq)                                      \
  do {                                                                         \
    if (cb_refused(texpr, h)) break;                                           \
    void *code = mkcb(texpr, h, NULL);                                         \
    T a = init, want, r1, r2, direct;                                          \
    memset(&want, 0, sizeof want);                                             \
    memset(&r1, 0, sizeof r1);                                                 \
    memset(&r2, 0, sizeof r2);                                                 \
    h(&want, (void *[]){&a}, NULL);                                            \
    direct = ((T(*)(T))code)(a);                                               \
    cr_assert(eq(direct, want), "%s: direct call", fname);                     \
    void *args[] = {&code, &a};                                                \
    via(fname, &r1, &r2, args);                                                \
    cr_assert(eq(r1, want), "%s: through the fast path", fname);               \
    cr_assert(eq(r2, want), "%s: through libffi", fname);                      \
  } while (0)

static void t_aggregates(void) {
  CBA(struct fx_pt, "struct fx_pt (*)(struct fx_pt)", "fx_cb_pt", h_pt,
      ((struct fx_pt){5, -6}), EQ_PT);
  CBA(struct fx_pd, "struct fx_pd (*)(struct fx_pd)", "fx_cb_pd", h_pd,
      ((struct fx_pd){2.5, 8}), EQ_PT);
  CBA(struct fx_mix, "struct fx_mix (*)(struct fx_mix)", "fx_cb_mix", h_mix,
      ((struct fx_mix){3, 1.5f, 2.25}), EQ_MIX);
  CBA(struct fx_big, "struct fx_big (*)(struct fx_big)", "fx_cb_big", h_big,
      ((struct fx_big){{1, 2, 3, 4, 5}}), EQ_BIG);
  CBA(struct fx_ld, "struct fx_ld (*)(struct fx_ld)", "fx_cb_ld", h_ld,
      ((struct fx_ld){0.75L}), EQ_LD);
  CBA(struct fx_pk, "struct fx_pk (*)(struct fx_pk)", "fx_cb_pk", h_pk,
      ((struct fx_pk){'a', 0x10203}), EQ_PK);
  CBA(union fx_uf, "union fx_uf (*)(union fx_uf)", "fx_cb_uf", h_uf,
      ((union fx_uf){.f = {1.5f, 2, 3}}), EQ_UF);
  CBA(struct fx_bits, "struct fx_bits (*)(struct fx_bits)", "fx_cb_bits",
      h_bits, ((struct fx_bits){2, -9, 12345, 300}), EQ_BITS);
}

Test(callback, aggregates) {
  both(t_aggregates);
}

/* Twelve arguments: six spill to the stack on the way in. */
static void h_many(void *ret, void *const *args, void *data) {
  (void)data;
  double s = *(int *)args[0] + *(double *)args[1] * 2 + *(long *)args[2] * 3 +
             *(float *)args[3] * 4 + *(char *)args[4] * 5 +
             *(double *)args[5] * 6 + *(int *)args[6] * 7 +
             *(double *)args[7] * 8 + *(long *)args[8] * 9 +
             *(double *)args[9] * 10 + *(int *)args[10] * 11 +
             *(double *)args[11] * 12;
  *(double *)ret = s;
}

static void t_many_args(void) {
  void *code = mkcb("double (*)(int, double, long, float, char, double, int, "
                    "double, long, double, int, double)",
                    h_many, NULL);
  int seed = 9;
  double want = seed + (seed + 0.5) * 2 + seed * 3L * 3 + (seed + 0.25f) * 4 +
                (char)seed * 5 + -1.5 * seed * 6 + (seed - 7) * 7 + 1e10 * 8 +
                -seed * 100L * 9 + 2.0 * 10 + seed * 11 + 0.125 * 12;
  double r1, r2;
  void *args[] = {&code, &seed};
  via("fx_cb_many", &r1, &r2, args);
  cr_assert_eq(r1, want);
  cr_assert_eq(r2, want);
}

Test(callback, many_args) {
  both(t_many_args);
}

Test(callback, errors_and_free) {
  mffi_closure *c = (mffi_closure *)1;
  cr_assert_eq(mffi_callback(fx.fast, fx_type("int"), h_int2, NULL, &c),
               MFFI_EMISUSE);
  cr_assert_null(c);
  cr_assert_eq(mffi_callback(fx.fast, fx_type("int (*)(const char *, ...)"),
                             h_int2, NULL, &c),
               MFFI_EMISUSE);
  cr_assert_eq(mffi_callback(fx.fast, fx_type("int (*)(int)"), NULL, NULL, &c),
               MFFI_EMISUSE);
  cr_assert_eq(
      mffi_callback(fx.fast, fx_type("int (int, int)"), h_int2, &(int){0}, &c),
      MFFI_OK, "a function type works as well as a pointer");
  mffi_closure_free(c);
  mffi_closure_free(NULL);
}

/* -- Vectors, _Float16, _Float128, complex long double --------------------- */

/* ret = the bytes of args[0] XOR those of args[1]: any bit pattern must
** come through (floating registers do not canonicalize). data: the size. */
static void h_xor2(void *ret, void *const *args, void *data) {
  size_t n = *(size_t *)data;
  const unsigned char *a = args[0], *b = args[1];
  unsigned char *r = ret;
  for (size_t i = 0; i < n; i++)
    r[i] = a[i] ^ b[i];
}

/* A T (*)(T, T) closure called directly by C; *sse16: libffi cannot take
** T (a 16-byte SSE value), so only a plan closure may be made. */
#define CBX(T, sse16)                                                          \
  do {                                                                         \
    static size_t sz_ = sizeof(T);                                             \
    mffi_closure *c_ = NULL;                                                   \
    int rc_ = mffi_callback(cb_lib, fx_type(#T " (*)(" #T ", " #T ")"),        \
                            h_xor2, &sz_, &c_);                                \
    if ((sse16) && !PLAN_CLOSURES_HERE) {                                      \
      cr_assert_eq(rc_, MFFI_EUNSUPPORTED, "%s: libffi refuses", #T);          \
      break;                                                                   \
    }                                                                          \
    cr_assert_eq(rc_, MFFI_OK, "%s: %s", #T, mffi_errmsg(fx.ctx));             \
    check_kind(c_, #T);                                                        \
    T a_, b_, r_, w_;                                                          \
    unsigned char *pa_ = (void *)&a_, *pb_ = (void *)&b_, *pw_ = (void *)&w_;  \
    for (size_t i = 0; i < sizeof(T); i++) {                                   \
      pa_[i] = (unsigned char)(i * 37 + 11);                                   \
      pb_[i] = (unsigned char)(i * 101 + 200);                                 \
      pw_[i] = pa_[i] ^ pb_[i];                                                \
    }                                                                          \
    r_ = ((T(*)(T, T))mffi_closure_code(c_))(a_, b_);                          \
    cr_assert(memcmp(&r_, &w_, sizeof(T)) == 0, "%s: direct call", #T);        \
    mffi_closure_free(c_);                                                     \
  } while (0)

#define PLAN_CLOSURES_HERE (PLAN_CLOSURES && cb_lib == fx.fast)

static void h_v9(void *ret, void *const *args, void *data) {
  (void)data;
  fx_vf16 s = {0, 0, 0, 0};
  for (int i = 0; i < 9; i++) {
    fx_vf16 v;
    memcpy(&v, args[i], sizeof v);
    s = s * 2 + v;
  }
  memcpy(ret, &s, sizeof s);
}

static void h_vf16(void *ret, void *const *args, void *data) {
  (void)data;
  fx_vf16 a, b;
  memcpy(&a, args[0], sizeof a);
  memcpy(&b, args[1], sizeof b);
  fx_vf16 r = a - b;
  memcpy(ret, &r, sizeof r);
}

static void h_lc(void *ret, void *const *args, void *data) {
  (void)data;
  long double _Complex a;
  memcpy(&a, args[0], sizeof a);
  long double _Complex r = a * *(int *)args[1] + 1;
  memcpy(ret, &r, sizeof r);
}

static void h_q(void *ret, void *const *args, void *data) {
  (void)data;
  _Float128 a, b;
  memcpy(&a, args[0], sizeof a);
  memcpy(&b, args[1], sizeof b);
  _Float128 r = a * 3 - b;
  memcpy(ret, &r, sizeof r);
}

static void t_vectors(void) {
  /* The generic ABI module (libffi for everything) passes none of these;
  ** test_dynamic checks what it refuses. */
  if (!PLAN_CLOSURES) return;
  CBX(fx_vc2, false);
  CBX(fx_vi4, false);
  CBX(fx_vh4, false);
  CBX(fx_vf8, false);
  CBX(fx_vl8, false);
  CBX(fx_vh8, false);
  CBX(fx_vf4, false); /* Memory: one floating element. */
  CBX(fx_vd8, false);
  CBX(fx_vc16, true);
  CBX(fx_vi16, true);
  CBX(fx_vq16, true);
  CBX(fx_vf16, true);
  CBX(fx_vd16, true);
  CBX(fx_vh16, true);
  CBX(struct fx_sv, true);
  CBX(struct fx_sv2, false);
  CBX(struct fx_svl, false);
  CBX(union fx_uv, false);
  CBX(struct fx_svm, false);

  /* Nine vectors: the ninth on the stack. */
  const char *t9 = "fx_vf16 (*)(fx_vf16, fx_vf16, fx_vf16, fx_vf16, fx_vf16, "
                   "fx_vf16, fx_vf16, fx_vf16, fx_vf16)";
  mffi_closure *c = NULL;
  int rc = mffi_callback(cb_lib, fx_type(t9), h_v9, NULL, &c);
  if (PLAN_CLOSURES_HERE) {
    cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    fx_vf16 v[9], want = {0, 0, 0, 0};
    for (int i = 0; i < 9; i++) {
      v[i] = (fx_vf16){i, -i * 0.5f, i * i, 1.0f / (i + 1)};
      want = want * 2 + v[i];
    }
    fx_vf16 got =
        ((fx_vf16(*)(fx_vf16, fx_vf16, fx_vf16, fx_vf16, fx_vf16, fx_vf16,
                     fx_vf16, fx_vf16, fx_vf16))mffi_closure_code(c))(
            v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    cr_assert(memcmp(&got, &want, sizeof got) == 0, "nine vectors");
    mffi_closure_free(c);

    /* The fixture's C caller. */
    cr_assert_eq(mffi_callback(cb_lib, fx_type("fx_vf16 (*)(fx_vf16, fx_vf16)"),
                               h_vf16, NULL, &c),
                 MFFI_OK);
    fx_vf16 x = {1, 2, 3, 4}, y = {0.5f, 8, -1, 2};
    got = ((__typeof__(&fx_cb_vf16))fx_sym("fx_cb_vf16"))(
        (fx_vf16(*)(fx_vf16, fx_vf16))mffi_closure_code(c), x, y);
    fx_vf16 exp = (x - y) * 2;
    cr_assert(memcmp(&got, &exp, sizeof got) == 0, "fx_cb_vf16");
    mffi_closure_free(c);

    cr_assert_eq(mffi_callback(cb_lib,
                               fx_type("_Float128 (*)(_Float128, "
                                       "_Float128)"),
                               h_q, NULL, &c),
                 MFFI_OK, "%s", mffi_errmsg(fx.ctx));
    check_kind(c, "_Float128");
    _Float128 q = ((_Float128(*)(_Float128, _Float128))mffi_closure_code(c))(
        (_Float128)1 / 3, (_Float128)2 / 7);
    cr_assert(q == (_Float128)1 / 3 * 3 - (_Float128)2 / 7, "_Float128");
    mffi_closure_free(c);
  } else {
    cr_assert_eq(rc, MFFI_EUNSUPPORTED);
  }

  /* Complex long double: returned in %st0 and %st1. */
  cr_assert_eq(mffi_callback(cb_lib,
                             fx_type("long double _Complex (*)(long double "
                                     "_Complex, int)"),
                             h_lc, NULL, &c),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  check_kind(c, "long double _Complex");
  long double _Complex a = 2.5L - 1.0L / 3 * (__extension__ 1.0iL), r;
  int k = 3;
  long double _Complex want = (a * k + 1) * 2;
  r = ((__typeof__(&fx_cb_lc))fx_sym("fx_cb_lc"))(
      (long double _Complex (*)(long double _Complex, int))mffi_closure_code(c),
      a, k);
  cr_assert(r == want, "fx_cb_lc");
  r = ((long double _Complex (*)(long double _Complex, int))mffi_closure_code(
      c))(a, 5);
  cr_assert(r == a * 5 + 1, "direct call");
  mffi_closure_free(c);
}

Test(callback, vectors_and_wide_floats) {
  both(t_vectors);
}

/* -- Variadic callbacks ---------------------------------------------------- */

/* The variadic arguments of the tests below, in order: enough of each class
** to spill to the stack (six integer and eight SSE registers), the
** promoted kinds (float, char, short) in registers and on the stack, and
** aggregates. */
#define VAR_TYPES                                                              \
  "double", "float", "int", "char", "short", "long", "void *", "struct fx_pt", \
      "struct fx_pd", "long double", "double", "double", "double", "double",   \
      "double", "float", "int", "unsigned char", "long", "struct fx_mix",      \
      "short", "float"
#define NVAR 22

/* Each variadic value as a double, in order. */
static double var_seen[NVAR + 1];

/* The oracle: what a C variadic function reads with va_arg. */
static double c_var(int n, ...) {
  va_list ap;
  va_start(ap, n);
  double *v = var_seen;
  *v++ = va_arg(ap, double);
  *v++ = va_arg(ap, double); /* float */
  *v++ = va_arg(ap, int);
  *v++ = (char)va_arg(ap, int);
  *v++ = (short)va_arg(ap, int);
  *v++ = (double)va_arg(ap, long);
  *v++ = (double)(uintptr_t)va_arg(ap, void *);
  struct fx_pt pt = va_arg(ap, struct fx_pt);
  *v++ = pt.x * 1000.0 + pt.y;
  struct fx_pd pd = va_arg(ap, struct fx_pd);
  *v++ = pd.x * 1000 + pd.y;
  *v++ = (double)va_arg(ap, long double);
  for (int i = 0; i < 5; i++)
    *v++ = va_arg(ap, double);
  *v++ = va_arg(ap, double); /* float, on the stack */
  *v++ = va_arg(ap, int);
  *v++ = (unsigned char)va_arg(ap, int);
  *v++ = (double)va_arg(ap, long);
  struct fx_mix m = va_arg(ap, struct fx_mix);
  *v++ = m.i + m.f * 10.0 + m.d * 100;
  *v++ = (short)va_arg(ap, int);
  *v++ = va_arg(ap, double); /* float */
  va_end(ap);
  double s = n;
  for (int i = 0; i < NVAR; i++)
    s = s * 0.5 + var_seen[i];
  return s;
}

/* The handler: the same from args, as the types given. */
static void h_var(void *ret, void *const *args, void *data) {
  (void)data;
  double *v = var_seen;
  void *const *a = args + 1;
  *v++ = *(double *)a[0];
  *v++ = *(float *)a[1];
  *v++ = *(int *)a[2];
  *v++ = *(char *)a[3];
  *v++ = *(short *)a[4];
  *v++ = (double)*(long *)a[5];
  *v++ = (double)(uintptr_t) * (void **)a[6];
  struct fx_pt pt = *(struct fx_pt *)a[7];
  *v++ = pt.x * 1000.0 + pt.y;
  struct fx_pd pd = *(struct fx_pd *)a[8];
  *v++ = pd.x * 1000 + pd.y;
  *v++ = (double)*(long double *)a[9];
  for (int i = 0; i < 5; i++)
    *v++ = *(double *)a[10 + i];
  *v++ = *(float *)a[15];
  *v++ = *(int *)a[16];
  *v++ = *(unsigned char *)a[17];
  *v++ = (double)*(long *)a[18];
  struct fx_mix m = *(struct fx_mix *)a[19];
  *v++ = m.i + m.f * 10.0 + m.d * 100;
  *v++ = *(short *)a[20];
  *v++ = *(float *)a[21];
  double s = *(int *)args[0];
  for (int i = 0; i < NVAR; i++)
    s = s * 0.5 + var_seen[i];
  memcpy(ret, &s, sizeof s);
}

/* Call f as C does, with one fixed list of variadic values. */
static double call_var(double (*f)(int, ...), int n) {
  return f(n, 1.5, 2.25f, -7, (char)'a', (short)-300, 123456789012L,
           (void *)0x1234, (struct fx_pt){3, -4}, (struct fx_pd){0.5, 8},
           (long double)1 / 8, 10.0, 11.0, 12.0, 13.0, 14.0, -3.75f, 99,
           (unsigned char)250, -5L, (struct fx_mix){6, 0.5f, -2}, (short)-2,
           7.5f);
}

static mffi_closure *mkvar(const char *texpr, const char *const *vt,
                           size_t nvar, mffi_handler h, void *data) {
  const mffi_type *t[NVAR];
  for (size_t i = 0; i < nvar; i++)
    t[i] = fx_type(vt[i]);
  mffi_closure *c = NULL;
  int rc = mffi_callback_variadic(cb_lib, fx_type(texpr), t, nvar, h, data, &c);
  cr_assert_eq(rc, MFFI_OK, "variadic callback %s: %s", texpr,
               mffi_errmsg(fx.ctx));
  check_kind(c, texpr);
  return c;
}

static void t_variadic(void) {
  static const char *const vt[NVAR] = {VAR_TYPES};
  mffi_closure *c = mkvar("double (*)(int, ...)", vt, NVAR, h_var, NULL);
  double want[NVAR], got[NVAR];
  double w = call_var(c_var, 42);
  memcpy(want, var_seen, sizeof want);
  memset(var_seen, 0, sizeof var_seen);
  double g = call_var((double (*)(int, ...))mffi_closure_code(c), 42);
  memcpy(got, var_seen, sizeof got);
  for (int i = 0; i < NVAR; i++)
    cr_assert_eq(got[i], want[i], "variadic argument %d (%s): %g, want %g", i,
                 vt[i], got[i], want[i]);
  cr_assert_eq(g, w);
  mffi_closure_free(c);
}

Test(callback, variadic) {
  both(t_variadic);
}

/* A variadic closure returning in memory, and one with no variadic
** argument at all. */
static void h_var_big(void *ret, void *const *args, void *data) {
  (void)data;
  struct fx_big b = {{*(int *)args[0], *(long *)args[1],
                      (long)*(double *)args[2], *(char *)args[3], 5}};
  memcpy(ret, &b, sizeof b);
}

static void h_var_none(void *ret, void *const *args, void *data) {
  *(float *)ret = *(float *)args[0] * 2 + *(int *)data;
}

static void t_variadic_returns(void) {
  static const char *const vt[] = {"long", "double", "char"};
  mffi_closure *c =
      mkvar("struct fx_big (*)(int, ...)", vt, 3, h_var_big, NULL);
  struct fx_big b =
      ((struct fx_big(*)(int, ...))mffi_closure_code(c))(1, 2L, 3.0, 'x');
  struct fx_big want = {{1, 2, 3, 'x', 5}};
  cr_assert(memcmp(&b, &want, sizeof b) == 0);
  mffi_closure_free(c);
  int k = 3;
  c = mkvar("float (*)(float, ...)", NULL, 0, h_var_none, &k);
  cr_assert_eq(((float (*)(float, ...))mffi_closure_code(c))(0.25f), 3.5f);
  mffi_closure_free(c);
}

Test(callback, variadic_returns) {
  both(t_variadic_returns);
}

Test(callback, variadic_errors) {
  mffi_closure *c = (mffi_closure *)1;
  const mffi_type *vt[] = {fx_type("int"), fx_type("void"), NULL};
  cr_assert_eq(mffi_callback_variadic(fx.fast, fx_type("int (*)(int)"), vt, 1,
                                      h_int2, NULL, &c),
               MFFI_EMISUSE, "not a variadic type");
  cr_assert_null(c);
  const mffi_type *vf = fx_type("int (*)(int, ...)");
  cr_assert_eq(mffi_callback_variadic(fx.fast, vf, vt + 1, 1, h_int2, NULL, &c),
               MFFI_EMISUSE, "void");
  cr_assert_eq(mffi_callback_variadic(fx.fast, vf, vt + 2, 1, h_int2, NULL, &c),
               MFFI_EMISUSE, "NULL type");
  cr_assert_eq(mffi_callback_variadic(fx.fast, vf, NULL, 1, h_int2, NULL, &c),
               MFFI_EMISUSE, "NULL types");
  cr_assert_eq(mffi_callback(fx.fast, vf, h_int2, NULL, &c), MFFI_EMISUSE);
  cr_assert(strstr(mffi_errmsg(fx.ctx), "mffi_callback_variadic"), "%s",
            mffi_errmsg(fx.ctx));
}

/* Through the checked decorator, which wraps a closure of its inner
** library around the handler. */
Test(callback, variadic_checked) {
  mffi_lib *ck = NULL;
  cr_assert_eq(
      mffi_open(fx.ctx, mffi_strategy_find("checked"), fx.path, NULL, &ck),
      MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  static const char *const vt[NVAR] = {VAR_TYPES};
  cb_lib = ck;
  const mffi_type *t[NVAR];
  for (size_t i = 0; i < NVAR; i++)
    t[i] = fx_type(vt[i]);
  mffi_closure *c = NULL;
  cr_assert_eq(mffi_callback_variadic(ck, fx_type("double (*)(int, ...)"), t,
                                      NVAR, h_var, NULL, &c),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  double w = call_var(c_var, 7);
  double g = call_var((double (*)(int, ...))mffi_closure_code(c), 7);
  cr_assert_eq(g, w);
  mffi_closure_free(c);
  mffi_close(ck);
}

/* -- Nesting, threads, slot reuse ------------------------------------------ */

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static void h_cmp(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = cmp_int(*(void *const *)args[0], *(void *const *)args[1]);
}

/* The outer handler sorts with a closure comparator, and calls a third
** closure through the fixture's C caller, from inside a callback. */
typedef struct nest {
  int (*cmp)(const void *, const void *);
  void *inner;
} nest;

static void h_outer(void *ret, void *const *args, void *data) {
  nest *n = data;
  int v[16];
  for (int i = 0; i < 16; i++)
    v[i] = (i * 7919 + *(int *)args[0]) % 101;
  qsort(v, 16, sizeof v[0], n->cmp);
  for (int i = 1; i < 16; i++)
    cr_assert(v[i - 1] <= v[i], "sorted by the nested closure");
  int r = ((int (*)(int, int))n->inner)(v[0], *(int *)args[1]);
  *(int *)ret = r + v[15];
}

static void t_nested(void) {
  nest n;
  n.cmp = (int (*)(const void *, const void *))mkcb(
      "int (*)(const void *, const void *)", h_cmp, NULL);
  int bias = 5;
  n.inner = mkcb("int (*)(int, int)", h_int2, &bias);
  void *outer = mkcb("int (*)(int, int)", h_outer, &n);
  int v[16];
  for (int i = 0; i < 16; i++)
    v[i] = (i * 7919 + 3) % 101;
  qsort(v, 16, sizeof v[0], cmp_int);
  int want = v[0] * 10 + 4 + 5 + v[15];
  int a = 3, b = 4, r1, r2;
  void *args[] = {&outer, &a, &b};
  via("fx_cb_int", &r1, &r2, args);
  cr_assert_eq(r1, want);
  cr_assert_eq(r2, want);
  cr_assert_eq(((int (*)(int, int))outer)(3, 4), want);
}

Test(callback, nested) {
  both(t_nested);
}

#define NTHREADS 4
#define NCALLS 20000

typedef struct job {
  int (*f)(int, int);
  int id;
  int bad;
} job;

static void *job_main(void *arg) {
  job *j = arg;
  for (int i = 0; i < NCALLS; i++)
    if (j->f(j->id, i % 10) != j->id * 10 + i % 10 + 1) j->bad++;
  return NULL;
}

/* Threads calling one closure at once. */
static void t_threads_one(void) {
  int bias = 1;
  int (*f)(int, int) =
      (int (*)(int, int))mkcb("int (*)(int, int)", h_int2, &bias);
  pthread_t t[NTHREADS];
  job j[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    j[i] = (job){f, i + 1, 0};
    cr_assert_eq(pthread_create(&t[i], NULL, job_main, &j[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    cr_assert_eq(j[i].bad, 0, "thread %d: wrong results", i);
  }
  int a = 2, b = 3, r = 0;
  void *args[] = {&f, &a, &b};
  cr_assert_eq(mffi_call(fx_bind(fx.fast, "fx_cb_thread"), &r, args), MFFI_OK);
  cr_assert_eq(r, 24, "called from a thread the fixture starts");
}

Test(callback, threads_one_closure) {
  both(t_threads_one);
}

/* Threads making and freeing closures, each on its own context: the
** trampoline slots are shared by the process. */
static void *maker_main(void *arg) {
  int *bad = arg;
  mffi_ctx *ctx = NULL;
  mffi_lib *lib = NULL;
  const mffi_type *t = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_open(ctx, NULL, NULL, NULL, &lib) != MFFI_OK ||
      mffi_typeof(ctx, "int (*)(int, int)", &t) != MFFI_OK) {
    ++*bad;
    return NULL;
  }
  int bias = 2;
  for (int i = 0; i < 500; i++) {
    mffi_closure *c[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++)
      if (mffi_callback(lib, t, h_int2, &bias, &c[k]) != MFFI_OK) ++*bad;
    for (int k = 0; k < 3; k++)
      if (c[k] && ((int (*)(int, int))mffi_closure_code(c[k]))(k, i % 7) !=
                      k * 10 + i % 7 + 2)
        ++*bad;
    for (int k = 0; k < 3; k++)
      mffi_closure_free(c[k]);
  }
  mffi_ctx_free(ctx);
  return NULL;
}

Test(callback, threads_make_and_free) {
  pthread_t t[NTHREADS];
  int bad[NTHREADS] = {0};
  for (int i = 0; i < NTHREADS; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, maker_main, &bad[i]), 0);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    cr_assert_eq(bad[i], 0, "thread %d", i);
  }
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a,
            y = (uintptr_t) * (void *const *)b;
  return (x > y) - (x < y);
}

/* A freed slot is taken again: many closures made and freed use no new
** code addresses. */
Test(callback, slots_reused) {
  enum { N = 300 }; /* More than one page of slots. */
  mffi_closure *c[N];
  void *first[N], *again[N];
  const mffi_type *t = fx_type("int (*)(int, int)");
  int bias = 0;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      cr_assert_eq(mffi_callback(fx.fast, t, h_int2, &bias, &c[i]), MFFI_OK);
      (round ? again : first)[i] = mffi_closure_code(c[i]);
      cr_assert_eq(((int (*)(int, int))mffi_closure_code(c[i]))(i, 1),
                   i * 10 + 1);
    }
    for (int i = 0; i < N; i++)
      mffi_closure_free(c[i]);
  }
  qsort(first, N, sizeof first[0], cmp_ptr);
  qsort(again, N, sizeof again[0], cmp_ptr);
  if (PLAN_CLOSURES)
    cr_assert(memcmp(first, again, sizeof first) == 0,
              "the second round reuses the first round's slots");
  void *one = NULL;
  for (int i = 0; i < 1000; i++) {
    mffi_closure *k = NULL;
    cr_assert_eq(mffi_callback(fx.fast, t, h_int2, &bias, &k), MFFI_OK);
    if (PLAN_CLOSURES && one)
      cr_assert_eq(mffi_closure_code(k), one, "the freed slot comes back");
    one = mffi_closure_code(k);
    mffi_closure_free(k);
  }
}
