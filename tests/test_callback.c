/* Callbacks: closures called by C with every type. See LICENSE.
**
** Each fx_cb_* function of the fixture calls the function pointer it is
** given; we give it an mffi_callback closure whose handler transforms its
** arguments, and compare with the same transformation done here. The
** closure code is also called directly through a C prototype.
*/
#include <criterion/criterion.h>
#include <string.h>

#include "fixtures/dynfx.h"
#include "fixtures/fxutil.h"

TestSuite(callback, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* Make a closure of type texpr running h; returns its code. */
static void *mkcb(const char *texpr, mffi_handler h, void *data) {
  mffi_closure *c = NULL;
  int rc = mffi_callback(fx.fast, fx_type(texpr), h, data, &c);
  cr_assert_eq(rc, MFFI_OK, "callback %s: %s", texpr, mffi_errmsg(fx.ctx));
  cr_assert_not_null(mffi_closure_code(c));
  return mffi_closure_code(c);
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

Test(callback, scalars) {
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

Test(callback, two_args_data_and_void) {
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

Test(callback, aggregates) {
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

Test(callback, many_args) {
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
