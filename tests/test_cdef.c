/* Tests of mffi_cdef and mffi_typeof on valid declarations. See LICENSE. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "modffi.h"

/* -- Helpers --------------------------------------------------------------- */

static mffi_ctx *ctx; /* A fresh context per test (each test is a process). */

static void setup(void) {
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
}

static void teardown(void) {
  mffi_ctx_free(ctx);
  ctx = NULL;
}

TestSuite(cdef, .init = setup, .fini = teardown);

#define EQI(a, b) cr_assert(eq(i64, (int64_t)(a), (int64_t)(b)))
#define EQIM(a, b, ...)                                                        \
  cr_assert(eq(i64, (int64_t)(a), (int64_t)(b)), __VA_ARGS__)
#define EQP(a, b) cr_assert(eq(ptr, (void *)(a), (void *)(b)))
#define STREQ(got, want)                                                       \
  do {                                                                         \
    const char *got_ = (got);                                                  \
    cr_assert(got_ != NULL, "%s is NULL, expected \"%s\"", #got, (want));      \
    cr_assert_str_eq(got_, (want));                                            \
  } while (0)

/* Declare src in ctx; fail the test with the parser's message otherwise. */
static void def(const char *src) {
  int rc = mffi_cdef(ctx, src, strlen(src));
  cr_assert(rc == MFFI_OK, "mffi_cdef failed: %s (%s)\n  input: %s",
            mffi_errname(rc), mffi_errmsg(ctx), src);
  cr_assert_str_eq(mffi_errmsg(ctx), "");
  cr_assert(eq(int, mffi_errcode(ctx), MFFI_OK));
}

/* The type named by expr; fails the test if mffi_typeof does. */
static const mffi_type *ty(const char *expr) {
  const mffi_type *t = NULL;
  int rc = mffi_typeof(ctx, expr, &t);
  cr_assert(rc == MFFI_OK, "mffi_typeof(\"%s\") failed: %s (%s)", expr,
            mffi_errname(rc), mffi_errmsg(ctx));
  cr_assert(t != NULL, "mffi_typeof(\"%s\") gave NULL", expr);
  return t;
}

/* The declaration called name, which must exist. */
static const mffi_decl *decl(const char *name) {
  const mffi_decl *d = mffi_decl_find(ctx, name);
  cr_assert(d != NULL, "no declaration called '%s'", name);
  STREQ(mffi_decl_name(d), name);
  return d;
}

/* The value of the constant called name. */
static int64_t cval(const char *name) {
  const mffi_decl *d = decl(name);
  cr_assert(mffi_decl_kind_of(d) == MFFI_DECL_CONSTANT,
            "'%s' is not a constant (kind %d)", name,
            (int)mffi_decl_kind_of(d));
  return mffi_decl_value(d);
}

/* Member i of aggregate t. */
static mffi_field field(const mffi_type *t, size_t i) {
  mffi_field f;
  memset(&f, 0, sizeof f);
  cr_assert(eq(int, mffi_type_field(t, i, &f), MFFI_OK), "field %zu", i);
  return f;
}

/* The byte offset of path in t. */
static size_t offof(const mffi_type *t, const char *path) {
  size_t off = 0;
  int rc = mffi_offsetof(t, path, &off);
  cr_assert(rc == MFFI_OK, "mffi_offsetof(\"%s\") failed: %s", path,
            mffi_errname(rc));
  return off;
}

/* The attribute called name on d, which must exist. */
static const mffi_attr *attr(const mffi_decl *d, const char *name) {
  const mffi_attr *a = mffi_decl_attr_find(d, name);
  cr_assert(a != NULL, "'%s' has no attribute '%s' (it has %zu)",
            mffi_decl_name(d), name, mffi_decl_nattrs(d));
  STREQ(a->name, name);
  return a;
}

/* Check argument i of a: an integer (str NULL) with value num. */
static void attr_num(const mffi_attr *a, size_t i, int64_t num) {
  cr_assert(i < a->nargs, "%s has %zu args, wanted arg %zu", a->name, a->nargs,
            i);
  cr_assert(a->args[i].str == NULL, "%s arg %zu is \"%s\", wanted %" PRId64,
            a->name, i, a->args[i].str, num);
  EQIM(a->args[i].num, num, "%s arg %zu", a->name, i);
}

/* Check argument i of a: a word or string with text str. */
static void attr_str(const mffi_attr *a, size_t i, const char *str) {
  cr_assert(i < a->nargs, "%s has %zu args, wanted arg %zu", a->name, a->nargs,
            i);
  STREQ(a->args[i].str, str);
}

/* -- Scalars --------------------------------------------------------------- */

typedef struct scalar_row {
  const char *expr;
  mffi_kind kind;
  size_t size, align;
} scalar_row;

static const scalar_row scalars[] = {
    {"void", MFFI_KIND_VOID, 0, 1},
    {"_Bool", MFFI_KIND_BOOL, 1, 1},
    {"char", MFFI_KIND_CHAR, 1, 1},
    {"signed char", MFFI_KIND_SCHAR, 1, 1},
    {"char signed", MFFI_KIND_SCHAR, 1, 1},
    {"unsigned char", MFFI_KIND_UCHAR, 1, 1},
    {"short", MFFI_KIND_SHORT, 2, 2},
    {"short int", MFFI_KIND_SHORT, 2, 2},
    {"signed short int", MFFI_KIND_SHORT, 2, 2},
    {"int short signed", MFFI_KIND_SHORT, 2, 2},
    {"unsigned short", MFFI_KIND_USHORT, 2, 2},
    {"short unsigned int", MFFI_KIND_USHORT, 2, 2},
    {"int", MFFI_KIND_INT, 4, 4},
    {"signed", MFFI_KIND_INT, 4, 4},
    {"signed int", MFFI_KIND_INT, 4, 4},
    {"__signed__ int", MFFI_KIND_INT, 4, 4},
    {"__signed", MFFI_KIND_INT, 4, 4},
    {"unsigned", MFFI_KIND_UINT, 4, 4},
    {"unsigned int", MFFI_KIND_UINT, 4, 4},
    {"long", MFFI_KIND_LONG, 8, 8},
    {"long int", MFFI_KIND_LONG, 8, 8},
    {"signed long", MFFI_KIND_LONG, 8, 8},
    {"int long", MFFI_KIND_LONG, 8, 8},
    {"unsigned long", MFFI_KIND_ULONG, 8, 8},
    {"long unsigned int", MFFI_KIND_ULONG, 8, 8},
    {"long long", MFFI_KIND_LLONG, 8, 8},
    {"long long int", MFFI_KIND_LLONG, 8, 8},
    {"signed long long", MFFI_KIND_LLONG, 8, 8},
    {"long int long", MFFI_KIND_LLONG, 8, 8},
    {"unsigned long long", MFFI_KIND_ULLONG, 8, 8},
    {"long long unsigned int", MFFI_KIND_ULLONG, 8, 8},
    {"__int128", MFFI_KIND_INT128, 16, 16},
    {"signed __int128", MFFI_KIND_INT128, 16, 16},
    {"unsigned __int128", MFFI_KIND_UINT128, 16, 16},
    {"__int128 unsigned", MFFI_KIND_UINT128, 16, 16},
    {"_Float16", MFFI_KIND_FLOAT16, 2, 2},
    {"float", MFFI_KIND_FLOAT, 4, 4},
    {"_Float32", MFFI_KIND_FLOAT, 4, 4},
    {"double", MFFI_KIND_DOUBLE, 8, 8},
    {"_Float64", MFFI_KIND_DOUBLE, 8, 8},
    {"_Float32x", MFFI_KIND_DOUBLE, 8, 8},
    {"long double", MFFI_KIND_LDOUBLE, 16, 16},
    {"double long", MFFI_KIND_LDOUBLE, 16, 16},
    {"_Float64x", MFFI_KIND_LDOUBLE, 16, 16},
    {"_Float128", MFFI_KIND_FLOAT128, 16, 16},
    {"__float128", MFFI_KIND_FLOAT128, 16, 16},
    {"float _Complex", MFFI_KIND_COMPLEX, 8, 4},
    {"_Complex double", MFFI_KIND_COMPLEX, 16, 8},
    {"long double _Complex", MFFI_KIND_COMPLEX, 32, 16},
    {"__complex__ double", MFFI_KIND_COMPLEX, 16, 8},
    {"__builtin_va_list", MFFI_KIND_VALIST, 24, 8},
};

Test(cdef, scalar_types) {
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
    const scalar_row *r = &scalars[i];
    const mffi_type *t = NULL;
    int rc = mffi_typeof(ctx, r->expr, &t);
    cr_expect(rc == MFFI_OK && t, "\"%s\": %s (%s)", r->expr, mffi_errname(rc),
              mffi_errmsg(ctx));
    if (rc != MFFI_OK || !t) continue;
    cr_expect(eq(int, mffi_type_kind(t), r->kind), "kind of \"%s\"", r->expr);
    cr_expect(eq(u64, mffi_sizeof(t), r->size), "sizeof(%s)", r->expr);
    cr_expect(eq(u64, mffi_alignof(t), r->align), "_Alignof(%s)", r->expr);
    cr_expect(eq(uint, mffi_type_quals(t), 0), "quals of \"%s\"", r->expr);
  }
}

/* Signedness, against the compiler: (T)-1 < 0 exactly for signed T. */
enum s_neg { SN = -1 };
enum s_pos { SP = 1 };
typedef const long s_cl;
Test(cdef, integer_signedness) {
  def("enum s_neg { SN = -1 }; enum s_pos { SP = 1 };\n"
      "typedef const long s_cl;");
#define SIGNED_IS(T) EQI(mffi_type_is_signed(ty(#T)), (long double)(T)-1 < 0)
  SIGNED_IS(char);
  SIGNED_IS(signed char);
  SIGNED_IS(unsigned char);
  SIGNED_IS(short);
  SIGNED_IS(unsigned short);
  SIGNED_IS(int);
  SIGNED_IS(unsigned);
  SIGNED_IS(long);
  SIGNED_IS(unsigned long);
  SIGNED_IS(long long);
  SIGNED_IS(unsigned long long);
  SIGNED_IS(__int128);
  SIGNED_IS(unsigned __int128);
  SIGNED_IS(_Bool);
  SIGNED_IS(enum s_neg);
  SIGNED_IS(enum s_pos);
  SIGNED_IS(s_cl);
#undef SIGNED_IS
  EQI(mffi_type_is_signed(ty("double")), 0);
  EQI(mffi_type_is_signed(ty("int *")), 0);
}

Test(cdef, complex_component) {
  EQI(mffi_type_kind(mffi_type_target(ty("double _Complex"))),
      MFFI_KIND_DOUBLE);
  EQI(mffi_type_kind(mffi_type_target(ty("_Complex float"))), MFFI_KIND_FLOAT);
}

Test(cdef, primitive_ids_are_kinds) {
  /* types.h: the primitive kinds occupy the first ids, id == kind. */
  EQI(mffi_type_id(ty("int")), MFFI_KIND_INT);
  EQI(mffi_type_id(ty("unsigned char")), MFFI_KIND_UCHAR);
  EQI(mffi_type_id(ty("void")), MFFI_KIND_VOID);
  EQP(mffi_type_byid(ctx, MFFI_KIND_DOUBLE), ty("double"));
  cr_assert(mffi_type_byid(ctx, mffi_ntypes(ctx)) == NULL);
}

/* -- Typedefs -------------------------------------------------------------- */

Test(cdef, typedef_is_alias) {
  def("typedef unsigned long size_t;\n"
      "typedef int myint, *pint, arr3[3];\n"
      "typedef myint myint2;\n"
      "typedef int myint;\n"); /* C11 allows an identical re-typedef. */
  EQP(ty("size_t"), ty("unsigned long"));
  EQI(mffi_type_id(ty("size_t")), mffi_type_id(ty("unsigned long")));
  EQP(ty("myint"), ty("int"));
  EQP(ty("myint2"), ty("int"));
  EQP(ty("pint"), ty("int *"));
  EQP(ty("arr3"), ty("int[3]"));
  EQP(ty("size_t *"), ty("unsigned long *"));
  const mffi_decl *d = decl("pint");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_TYPEDEF);
  EQP(mffi_decl_type(d), ty("int *"));
}

Test(cdef, typedef_of_anonymous_struct_names_it) {
  def("typedef struct { int a; } anon_t;\n"
      "typedef struct { int a; } anon2_t;\n");
  const mffi_type *t = ty("anon_t");
  EQI(mffi_type_kind(t), MFFI_KIND_STRUCT);
  STREQ(mffi_type_tag(t), "anon_t");
  /* Structs are nominal: an identical body is another type. */
  cr_assert(ty("anon2_t") != t);
  EQI(mffi_sizeof(t), 4);
}

Test(cdef, typedef_of_function_type) {
  def("typedef int fn_t(int, char);\n"
      "typedef fn_t *fnp_t;\n"
      "fn_t real_fn;\n");
  EQP(ty("fnp_t"), ty("int (*)(int, char)"));
  EQI(mffi_type_kind(ty("fn_t")), MFFI_KIND_FUNCTION);
  const mffi_decl *d = decl("real_fn");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_FUNCTION);
  EQP(mffi_decl_type(d), ty("fn_t"));
}

/* -- Pointers, qualifiers, arrays ------------------------------------------ */

Test(cdef, pointers) {
  const mffi_type *p = ty("int *");
  EQI(mffi_type_kind(p), MFFI_KIND_POINTER);
  EQI(mffi_sizeof(p), 8);
  EQI(mffi_alignof(p), 8);
  EQP(mffi_type_target(p), ty("int"));
  const mffi_type *pp = ty("char **");
  EQP(mffi_type_target(pp), ty("char *"));
  EQP(mffi_type_target(ty("void *")), ty("void"));
}

Test(cdef, qualifiers) {
  const mffi_type *c = ty("const int");
  EQI(mffi_type_quals(c), MFFI_QUAL_CONST);
  EQP(mffi_type_unqual(c), ty("int"));
  cr_assert(c != ty("int"));
  EQP(ty("int const"), c);
  EQP(ty("__const int"), c);
  EQP(ty("const const int"), c); /* C11 6.7.3p5: as if once. */
  EQI(mffi_type_quals(ty("const volatile int")),
      MFFI_QUAL_CONST | MFFI_QUAL_VOLATILE);
  EQP(ty("volatile const int"), ty("const volatile int"));
  EQP(ty("__volatile__ int const"), ty("const volatile int"));

  const mffi_type *pc = ty("const char *");
  EQI(mffi_type_quals(pc), 0);
  EQI(mffi_type_quals(mffi_type_target(pc)), MFFI_QUAL_CONST);
  const mffi_type *cp = ty("char *const");
  EQI(mffi_type_quals(cp), MFFI_QUAL_CONST);
  EQP(mffi_type_unqual(cp), ty("char *"));

  const mffi_type *r = ty("int *restrict");
  EQI(mffi_type_quals(r), MFFI_QUAL_RESTRICT);
  EQP(ty("int *__restrict"), r);
  EQP(ty("int *__restrict__"), r);
  EQI(mffi_type_quals(ty("void *const volatile restrict")),
      MFFI_QUAL_CONST | MFFI_QUAL_VOLATILE | MFFI_QUAL_RESTRICT);
}

Test(cdef, arrays) {
  const mffi_type *a = ty("int[4]");
  EQI(mffi_type_kind(a), MFFI_KIND_ARRAY);
  EQI(mffi_type_length(a), 4);
  EQI(mffi_sizeof(a), 16);
  EQI(mffi_alignof(a), 4);
  EQP(mffi_type_target(a), ty("int"));
  const mffi_type *a2 = ty("int[2][3]");
  EQI(mffi_type_length(a2), 2);
  EQI(mffi_sizeof(a2), 24);
  EQP(mffi_type_target(a2), ty("int[3]"));
  const mffi_type *u = ty("char[]");
  EQI(mffi_type_length(u), -1);
  EQI(mffi_sizeof(u), 0);
  EQI(mffi_type_complete(u), 0);
  EQI(mffi_type_length(ty("long[sizeof(int) * 2 + 1]")), 9);
  EQI(mffi_type_length(ty("char[0]")), 0); /* GNU zero-length array. */
  EQI(mffi_sizeof(ty("char[0]")), 0);
  /* Qualifiers on an array go to its element. */
  const mffi_type *ca = ty("const int[3]");
  EQI(mffi_type_quals(mffi_type_target(ca)), MFFI_QUAL_CONST);
  def("typedef int arr3[3];");
  EQP(ty("const arr3"), ca);
  /* An array of pointers and a pointer to an array. */
  EQI(mffi_type_kind(ty("int *[5]")), MFFI_KIND_ARRAY);
  const mffi_type *pa = ty("int (*)[5]");
  EQI(mffi_type_kind(pa), MFFI_KIND_POINTER);
  EQP(mffi_type_target(pa), ty("int[5]"));
}

/* -- Functions ------------------------------------------------------------- */

Test(cdef, function_pointer_type) {
  const mffi_type *p = ty("int (*)(const void *, const void *)");
  EQI(mffi_type_kind(p), MFFI_KIND_POINTER);
  const mffi_type *f = mffi_type_target(p);
  EQI(mffi_type_kind(f), MFFI_KIND_FUNCTION);
  EQP(mffi_type_target(f), ty("int"));
  EQI(mffi_type_nparams(f), 2);
  EQP(mffi_type_param(f, 0), ty("const void *"));
  EQP(mffi_type_param(f, 1), ty("const void *"));
  cr_assert(mffi_type_param(f, 2) == NULL);
  EQI(mffi_type_variadic(f), 0);
  EQI(mffi_sizeof(f), 0);
  EQI(mffi_alignof(f), 1);
  EQP(ty("int (*)(const void *a, const void *b)"), p); /* Names ignored. */
}

Test(cdef, prototypes_and_parameters) {
  def("int printf(const char *restrict fmt, ...);\n"
      "int open(const char *, int, ...);\n"
      "void nothing(void);\n"
      "int old();\n"
      "void adj(int a[10], int g(void), const int c, char s[static 4]);\n");
  const mffi_decl *d = decl("printf");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_FUNCTION);
  const mffi_type *f = mffi_decl_type(d);
  EQI(mffi_type_kind(f), MFFI_KIND_FUNCTION);
  EQI(mffi_type_nparams(f), 1);
  EQI(mffi_type_variadic(f), 1);
  /* Top-level qualifiers of a parameter are dropped. */
  EQP(mffi_type_param(f, 0), ty("const char *"));
  STREQ(mffi_decl_param_name(d, 0), "fmt");
  STREQ(mffi_decl_symbol(d), "printf");

  f = mffi_decl_type(decl("open"));
  EQI(mffi_type_nparams(f), 2);
  EQI(mffi_type_variadic(f), 1);
  cr_assert(mffi_decl_param_name(decl("open"), 0) == NULL);

  f = mffi_decl_type(decl("nothing"));
  EQI(mffi_type_nparams(f), 0);
  EQI(mffi_type_variadic(f), 0);
  EQP(mffi_type_target(f), ty("void"));

  EQI(mffi_type_nparams(mffi_decl_type(decl("old"))), 0);
  EQI(mffi_type_prototyped(mffi_decl_type(decl("old"))), 0);
  EQI(mffi_type_prototyped(mffi_decl_type(decl("nothing"))), 1);
  EQI(mffi_type_prototyped(mffi_decl_type(decl("printf"))), 1);
  EQI(mffi_type_prototyped(ty("int")), 0);

  f = mffi_decl_type(decl("adj"));
  EQI(mffi_type_nparams(f), 4);
  EQP(mffi_type_param(f, 0), ty("int *"));
  EQP(mffi_type_param(f, 1), ty("int (*)(void)"));
  EQP(mffi_type_param(f, 2), ty("int"));
  EQP(mffi_type_param(f, 3), ty("char *"));
  STREQ(mffi_decl_param_name(decl("adj"), 2), "c");
}

Test(cdef, functions_returning_function_pointers) {
  def("void (*signal(int sig, void (*handler)(int)))(int);\n"
      "int (*(*fpp)(void))[3];\n"
      "typedef int (*(*cb_t)(int))(char);\n");
  const mffi_decl *d = decl("signal");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_FUNCTION);
  const mffi_type *f = mffi_decl_type(d);
  EQP(mffi_type_target(f), ty("void (*)(int)"));
  EQI(mffi_type_nparams(f), 2);
  EQP(mffi_type_param(f, 1), ty("void (*)(int)"));
  STREQ(mffi_decl_param_name(d, 0), "sig");
  STREQ(mffi_decl_param_name(d, 1), "handler");
  EQP(f, ty("void (*(int, void (*)(int)))(int)"));

  d = decl("fpp");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_VARIABLE);
  const mffi_type *p = mffi_decl_type(d);
  EQI(mffi_type_kind(p), MFFI_KIND_POINTER);
  EQP(mffi_type_target(mffi_type_target(p)), ty("int (*)[3]"));

  const mffi_type *cb = ty("cb_t");
  const mffi_type *cbf = mffi_type_target(cb);
  EQP(mffi_type_param(cbf, 0), ty("int"));
  EQP(mffi_type_target(cbf), ty("int (*)(char)"));
}

Test(cdef, redeclared_prototype_listed_once) {
  def("int twice(int);");
  size_t n = mffi_ndecls(ctx);
  def("int twice(int x);\nextern int twice(int);");
  EQI(mffi_ndecls(ctx), n);
}

/* -- Variables ------------------------------------------------------------- */

Test(cdef, extern_variables) {
  def("extern int errno_like;\n"
      "extern char **environ;\n"
      "extern char *tzname[2];\n"
      "extern const char *const sys_errlist[];\n"
      "extern volatile int flag;\n"
      "int counter;\n");
  const mffi_decl *d = decl("errno_like");
  EQI(mffi_decl_kind_of(d), MFFI_DECL_VARIABLE);
  EQP(mffi_decl_type(d), ty("int"));
  EQP(mffi_decl_type(decl("environ")), ty("char **"));
  const mffi_type *tz = mffi_decl_type(decl("tzname"));
  EQI(mffi_type_length(tz), 2);
  EQI(mffi_sizeof(tz), 16);
  EQI(mffi_type_length(mffi_decl_type(decl("sys_errlist"))), -1);
  EQP(mffi_decl_type(decl("flag")), ty("volatile int"));
  EQI(mffi_decl_kind_of(decl("counter")), MFFI_DECL_VARIABLE);
}

Test(cdef, declaration_order) {
  size_t n0 = mffi_ndecls(ctx);
  def("typedef int a_t; int f(void); extern int v;\n#define K 3\n");
  EQI(mffi_ndecls(ctx), n0 + 4);
  const char *names[] = {"a_t", "f", "v", "K"};
  const mffi_decl_kind kinds[] = {MFFI_DECL_TYPEDEF, MFFI_DECL_FUNCTION,
                                  MFFI_DECL_VARIABLE, MFFI_DECL_CONSTANT};
  for (size_t i = 0; i < 4; i++) {
    const mffi_decl *d = mffi_decl_at(ctx, n0 + i);
    cr_assert(d != NULL);
    STREQ(mffi_decl_name(d), names[i]);
    EQI(mffi_decl_kind_of(d), kinds[i]);
  }
  cr_assert(mffi_decl_at(ctx, n0 + 4) == NULL);
  cr_assert(mffi_decl_find(ctx, "nope") == NULL);
}

/* -- Structs and unions
 * --------------------------------------------------------- */

Test(cdef, simple_struct) {
  def("struct point { int x, y; };");
  const mffi_type *t = ty("struct point");
  EQI(mffi_type_kind(t), MFFI_KIND_STRUCT);
  STREQ(mffi_type_tag(t), "point");
  EQI(mffi_type_complete(t), 1);
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_alignof(t), 4);
  EQI(mffi_type_nfields(t), 2);
  mffi_field f = field(t, 1);
  STREQ(f.name, "y");
  EQP(f.type, ty("int"));
  EQI(f.offset, 4);
  EQI(f.bit_offset, 32);
  EQI(f.bit_width, -1);
  mffi_field bad;
  EQI(mffi_type_field(t, 2, &bad), MFFI_EMISUSE);
  /* The tag declaration is listed. */
  int seen = 0;
  for (size_t i = 0; i < mffi_ndecls(ctx); i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    if (mffi_decl_kind_of(d) == MFFI_DECL_TAG && mffi_decl_name(d) &&
        strcmp(mffi_decl_name(d), "point") == 0) {
      seen++;
      EQP(mffi_decl_type(d), t);
    }
  }
  EQI(seen, 1);
}

Test(cdef, nested_structs) {
  def("struct outer { struct inner { char c; double d; } in; int arr[3]; };");
  const mffi_type *o = ty("struct outer");
  EQI(mffi_sizeof(o), 32);
  EQI(mffi_alignof(o), 8);
  /* C: a struct declared inside another is at file scope. */
  const mffi_type *in = ty("struct inner");
  EQI(mffi_sizeof(in), 16);
  EQP(field(o, 0).type, in);
  EQI(offof(o, "in.d"), 8);
  EQI(offof(o, "arr[2]"), 24);
  EQI(offof(o, "arr"), 16);
}

Test(cdef, anonymous_members) {
  def("struct anon { int kind; union { int i; double d; };"
      " struct { char a, b; }; };");
  const mffi_type *t = ty("struct anon");
  EQI(mffi_sizeof(t), 24);
  EQI(mffi_alignof(t), 8);
  EQI(mffi_type_nfields(t), 3);
  mffi_field f = field(t, 1);
  cr_assert(f.name == NULL);
  EQI(mffi_type_kind(f.type), MFFI_KIND_UNION);
  EQI(f.offset, 8);
  EQI(offof(t, "d"), 8);
  EQI(offof(t, "i"), 8);
  EQI(offof(t, "a"), 16);
  EQI(offof(t, "b"), 17);
}

Test(cdef, bit_fields) {
  def("struct bf { unsigned a : 3; unsigned b : 5; unsigned : 0;"
      " unsigned c : 4; int d : 1; };\n"
      "struct bf2 { char a; int b : 4; long long c : 40; };\n"
      "struct bf3 { char a; unsigned : 4; char b; };\n"
      "struct bf4 { _Bool f : 1; enum color { RED } col : 2; };\n");
  const mffi_type *t = ty("struct bf");
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_alignof(t), 4);
  EQI(mffi_type_nfields(t), 5); /* Unnamed bit-fields count. */
  mffi_field f = field(t, 1);
  STREQ(f.name, "b");
  EQI(f.bit_offset, 3);
  EQI(f.bit_width, 5);
  EQI(f.offset, 0);
  EQP(f.type, ty("unsigned int"));
  f = field(t, 2);
  cr_assert(f.name == NULL);
  EQI(f.bit_width, 0);
  f = field(t, 3);
  STREQ(f.name, "c");
  EQI(f.bit_offset, 32);
  EQI(f.offset, 4);
  f = field(t, 4);
  EQI(f.bit_offset, 36);
  EQI(f.bit_width, 1);
  EQP(f.type, ty("int"));
  size_t off = 0;
  EQI(mffi_offsetof(t, "c", &off), MFFI_EMISUSE); /* As offsetof refuses. */

  t = ty("struct bf2");
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_alignof(t), 8);
  EQI(field(t, 1).bit_offset, 8);
  EQI(field(t, 2).bit_offset, 12);
  EQI(field(t, 2).bit_width, 40);

  t = ty("struct bf3"); /* Unnamed bit-fields do not align the struct. */
  EQI(mffi_sizeof(t), 3);
  EQI(mffi_alignof(t), 1);
  EQI(field(t, 2).offset, 2);

  t = ty("struct bf4");
  EQI(mffi_sizeof(t), 4);
  EQI(field(t, 1).bit_offset, 1);
}

Test(cdef, flexible_arrays) {
  def("struct flex { unsigned long n; char data[]; };\n"
      "struct flex2 { int n; double d[]; };\n");
  const mffi_type *t = ty("struct flex");
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_type_nfields(t), 2);
  mffi_field f = field(t, 1);
  EQI(f.offset, 8);
  EQI(mffi_type_kind(f.type), MFFI_KIND_ARRAY);
  EQI(mffi_type_length(f.type), -1);
  EQI(mffi_sizeof(f.type), 0);
  t = ty("struct flex2");
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_alignof(t), 8);
  EQI(offof(t, "d"), 8);
  EQI(offof(t, "d[3]"), 32); /* Past the declared length, as offsetof. */
}

Test(cdef, unions) {
  def("union u { char c[5]; int i; double d; };\n"
      "union u1 { char c[9]; int i; };\n");
  const mffi_type *t = ty("union u");
  EQI(mffi_type_kind(t), MFFI_KIND_UNION);
  EQI(mffi_sizeof(t), 8);
  EQI(mffi_alignof(t), 8);
  EQI(offof(t, "d"), 0);
  EQI(mffi_sizeof(ty("union u1")), 12);
  EQI(mffi_alignof(ty("union u1")), 4);
}

Test(cdef, forward_declaration_completed_later) {
  def("struct node;\n"
      "typedef struct node node_t;\n"
      "struct node { int v; node_t *next; };\n");
  const mffi_type *t = ty("node_t");
  EQP(t, ty("struct node"));
  EQI(mffi_type_complete(t), 1);
  EQI(mffi_sizeof(t), 16);
  EQP(field(t, 1).type, ty("struct node *"));
  EQP(mffi_type_target(field(t, 1).type), t);
}

Test(cdef, forward_declaration_completed_by_later_cdef) {
  def("struct later;\nstruct later *make_later(void);");
  const mffi_type *t = ty("struct later");
  EQI(mffi_type_complete(t), 0);
  EQI(mffi_sizeof(t), 0);
  EQI(mffi_alignof(t), 0);
  const mffi_type *p = ty("struct later *");
  EQI(mffi_sizeof(p), 8);
  EQP(mffi_type_target(mffi_decl_type(decl("make_later"))), p);
  uint32_t id = mffi_type_id(t);
  def("struct later { long a; char b; };");
  EQP(ty("struct later"), t);
  EQI(mffi_type_id(ty("struct later")), id);
  EQI(mffi_type_complete(t), 1);
  EQI(mffi_sizeof(mffi_type_target(p)), 16);
}

Test(cdef, incomplete_types) {
  def("struct opaque;\n"
      "union uopaque;\n"
      "typedef struct opaque opaque_t;\n"
      "opaque_t *opaque_new(void);\n"
      "void opaque_free(opaque_t *);\n"
      "extern struct opaque the_opaque;\n"
      "struct holder { struct opaque *p; union uopaque *u; };\n");
  EQI(mffi_type_complete(ty("opaque_t")), 0);
  EQI(mffi_type_complete(ty("union uopaque")), 0);
  EQI(mffi_type_kind(ty("union uopaque")), MFFI_KIND_UNION);
  EQI(mffi_sizeof(ty("struct holder")), 16);
  EQI(mffi_type_nfields(ty("struct opaque")), 0);
  /* A struct first named in a pointer is declared, incomplete. */
  def("struct first_seen *mention(void);");
  EQI(mffi_type_complete(ty("struct first_seen")), 0);
}

Test(cdef, self_referential_and_mutual) {
  def("struct a_s { struct b_s *b; struct a_s *self; };\n"
      "struct b_s { struct a_s a; };\n");
  const mffi_type *b = ty("struct b_s");
  EQI(mffi_sizeof(b), 16);
  EQP(mffi_type_target(field(ty("struct a_s"), 0).type), b);
}

Test(cdef, struct_and_member_attributes) {
  def("struct __attribute__((packed)) pk { char c; int i; };\n"
      "struct pk2 { char c; int i; } __attribute__((packed));\n"
      "struct al { char c; int i __attribute__((aligned(16))); };\n"
      "struct __attribute__((aligned(8))) at1 { char c; };\n"
      "struct at2 { char c; } __attribute__((__aligned__(8)));\n"
      "typedef int aligned_int __attribute__((aligned(16)));\n"
      "struct sa { int a; _Static_assert(1, \"x\"); };\n"
      "struct ext { __extension__ union { int i; float f; }; int j; };\n");
  EQI(mffi_sizeof(ty("struct pk")), 5);
  EQI(mffi_alignof(ty("struct pk")), 1);
  EQI(mffi_sizeof(ty("struct pk2")), 5);
  EQI(offof(ty("struct pk2"), "i"), 1);
  EQI(mffi_sizeof(ty("struct al")), 32);
  EQI(mffi_alignof(ty("struct al")), 16);
  EQI(offof(ty("struct al"), "i"), 16);
  EQI(mffi_sizeof(ty("struct at1")), 8);
  EQI(mffi_alignof(ty("struct at2")), 8);
  const mffi_type *ai = ty("aligned_int");
  EQI(mffi_sizeof(ai), 4);
  EQI(mffi_alignof(ai), 16);
  EQP(mffi_type_unqual(ai), ty("int"));
  EQI(mffi_type_nfields(ty("struct sa")), 1);
  EQI(mffi_sizeof(ty("struct ext")), 8);
  EQI(offof(ty("struct ext"), "f"), 0);
}

/* -- Enums
 * -------------------------------------------------------------------------- */

Test(cdef, enums) {
  def("enum color { RED, GREEN = 5, BLUE, ALIAS = RED };\n"
      "enum neg { NA = -1, NB = 1 };\n"
      "enum { E1 = 3, E2 = E1 * 2, E3 = sizeof(int) + E2 };\n"
      "enum trailing { T1, T2, };\n");
  EQI(cval("RED"), 0);
  EQI(cval("GREEN"), 5);
  EQI(cval("BLUE"), 6);
  EQI(cval("ALIAS"), 0);
  EQI(cval("NA"), -1);
  EQI(cval("E3"), 10);
  EQI(cval("T2"), 1);
  const mffi_type *c = ty("enum color");
  EQI(mffi_type_kind(c), MFFI_KIND_ENUM);
  STREQ(mffi_type_tag(c), "color");
  EQI(mffi_sizeof(c), 4);
  EQI(mffi_alignof(c), 4);
  /* GCC: unsigned int when no value is negative, else int. */
  EQP(mffi_type_target(c), ty("unsigned int"));
  EQP(mffi_type_target(ty("enum neg")), ty("int"));
  /* The enumerators, in order, with their values. */
  EQI(mffi_type_nenumerators(c), 4);
  const char *name;
  int64_t v;
  EQI(mffi_type_enumerator(c, 2, &name, &v), MFFI_OK);
  STREQ(name, "BLUE");
  EQI(v, 6);
  EQI(mffi_type_enumerator(c, 3, &name, NULL), MFFI_OK);
  STREQ(name, "ALIAS");
  EQI(mffi_type_enumerator(c, 4, &name, &v), MFFI_EMISUSE);
  EQI(mffi_type_enumerator(ty("enum neg"), 0, NULL, &v), MFFI_OK);
  EQI(v, -1);
  EQI(mffi_type_nenumerators(ty("int")), 0);
  EQI(mffi_type_enumerator(ty("int"), 0, &name, &v), MFFI_EMISUSE);
}

Test(cdef, enum_values_of_every_size) {
  def("enum big { X = 0x100000000 };\n"
      "enum bigneg { Y = -0x100000000, Y2 };\n"
      "enum umax { Z = 0xffffffffffffffff };\n"
      "enum smin { M = -9223372036854775807LL - 1 };\n"
      "enum limits { IMAX = 2147483647, UMAX1 = 4294967295 };\n");
  EQI(cval("X"), INT64_C(0x100000000));
  EQI(cval("Y"), -INT64_C(0x100000000));
  EQI(cval("Y2"), -INT64_C(0xffffffff));
  EQI(cval("Z"), (int64_t)UINT64_MAX); /* Stored as the same 64 bits. */
  EQI(cval("M"), INT64_MIN);
  EQI(cval("UMAX1"), INT64_C(4294967295));
  EQI(mffi_sizeof(ty("enum big")), 8);
  EQI(mffi_sizeof(ty("enum bigneg")), 8);
  const mffi_type *u = ty("enum umax");
  EQI(mffi_sizeof(u), 8);
  mffi_kind k = mffi_type_kind(mffi_type_target(u));
  cr_assert(k == MFFI_KIND_ULONG || k == MFFI_KIND_ULLONG,
            "enum umax has underlying kind %d, wanted an unsigned 64-bit",
            (int)k);
  k = mffi_type_kind(mffi_type_target(ty("enum bigneg")));
  cr_assert(k == MFFI_KIND_LONG || k == MFFI_KIND_LLONG,
            "enum bigneg has underlying kind %d, wanted a signed 64-bit",
            (int)k);
  EQI(mffi_sizeof(ty("enum limits")), 4);
  EQP(mffi_type_target(ty("enum limits")), ty("unsigned int"));
}

Test(cdef, packed_enums) {
  def("enum __attribute__((packed)) small { S1, S2 = 200 };\n"
      "enum small2 { T1 = -1 } __attribute__((packed));\n"
      "enum __attribute__((__packed__)) small3 { U1 = 300 };\n");
  EQI(mffi_sizeof(ty("enum small")), 1);
  EQP(mffi_type_target(ty("enum small")), ty("unsigned char"));
  EQI(mffi_sizeof(ty("enum small2")), 1);
  EQP(mffi_type_target(ty("enum small2")), ty("signed char"));
  EQI(mffi_sizeof(ty("enum small3")), 2);
}

Test(cdef, enum_forward_and_attribute_on_enumerator) {
  def("enum { OLD __attribute__((deprecated)) = 1, NEW };\n"
      "enum fwd;\n"
      "enum fwd *fwd_ptr(void);\n"
      "enum fwd { F0 };\n");
  EQI(cval("OLD"), 1);
  EQI(cval("NEW"), 2);
  EQI(mffi_type_complete(ty("enum fwd")), 1);
  EQI(mffi_sizeof(ty("enum fwd")), 4);
}

/* -- #define
 * ------------------------------------------------------------------------- */

Test(cdef, integer_defines) {
  def("#define FOO 42\n"
      "#define BAR (FOO * 2 + 1)\n"
      "#define NEG (-5)\n"
      "#define HEX 0xffu\n"
      "#define BIG 0x7fffffffffffffffLL\n"
      "#define CH 'A'\n"
      "#define SHIFT (1 << 4)\n"
      "  #  define SPACED 7\n"
      "#define TABBED\t8\n"
      "#define SZ sizeof(long)\n"
      "#define CAST ((unsigned char)257)\n");
  EQI(cval("FOO"), 42);
  EQI(cval("BAR"), 85);
  EQI(cval("NEG"), -5);
  EQI(cval("HEX"), 255);
  EQI(cval("BIG"), INT64_MAX);
  EQI(cval("CH"), 65);
  EQI(cval("SHIFT"), 16);
  EQI(cval("SPACED"), 7);
  EQI(cval("TABBED"), 8);
  EQI(cval("SZ"), 8);
  EQI(cval("CAST"), 1);
}

Test(cdef, define_with_line_continuation) {
  def("#define LONGLINE 1 + \\\n  2\nint after_longline;\n");
  EQI(cval("LONGLINE"), 3);
  decl("after_longline");
}

Test(cdef, other_defines_and_directives_ignored) {
  size_t n0 = mffi_ndecls(ctx);
  def("#define FLOATY 1.5\n"
      "#define STR \"text\"\n"
      "#define FN(x) ((x) + 1)\n"
      "#define EMPTY\n"
      "#define KW int\n"
      "#define UNKNOWN_NAME some_identifier\n"
      "#define STMT do { } while (0)\n"
      "# 1 \"foo.h\" 3 4\n"
      "#line 12 \"bar.h\"\n"
      "#pragma GCC visibility push(default)\n"
      "#undef NOT_DEFINED\n"
      "#ident \"x\"\n"
      "#\n"
      "int after_directives;\n");
  EQI(mffi_ndecls(ctx), n0 + 1);
  cr_assert(mffi_decl_find(ctx, "FLOATY") == NULL);
  cr_assert(mffi_decl_find(ctx, "STR") == NULL);
  cr_assert(mffi_decl_find(ctx, "FN") == NULL);
  cr_assert(mffi_decl_find(ctx, "EMPTY") == NULL);
  cr_assert(mffi_decl_find(ctx, "KW") == NULL);
  EQI(mffi_decl_kind_of(decl("after_directives")), MFFI_DECL_VARIABLE);
}

/* -- Constant expressions
 * ------------------------------------------------------------ */

typedef struct expr_row {
  const char *expr;
  int64_t value;
} expr_row;

static const expr_row exprs[] = {
    {"1 + 2 * 3", 7},
    {"(1 + 2) * 3", 9},
    {"10 - 3 - 2", 5},
    {"10 / 3", 3},
    {"-10 / 3", -3},
    {"10 % 3", 1},
    {"-10 % 3", -1},
    {"1 << 10", 1024},
    {"1024 >> 3", 128},
    {"-16 >> 2", -4},
    {"5 & 3", 1},
    {"5 | 3", 7},
    {"5 ^ 3", 6},
    {"~0", -1},
    {"~5 & 0xff", 250},
    {"!0", 1},
    {"!5", 0},
    {"-(-3)", 3},
    {"+4", 4},
    {"- - 2", 2},
    {"3 < 4", 1},
    {"3 > 4", 0},
    {"3 <= 3", 1},
    {"3 >= 4", 0},
    {"3 == 3", 1},
    {"3 != 3", 0},
    {"1 && 0", 0},
    {"2 && 3", 1},
    {"1 || 0", 1},
    {"0 || 0", 0},
    {"0 && 1 / 0", 0}, /* Unevaluated operand (GCC accepts it). */
    {"1 || 1 / 0", 1},
    {"1 ? 10 : 20", 10},
    {"0 ? 10 : 20", 20},
    {"0 ? 1 : 0 ? 2 : 3", 3},
    {"1 ? 2 : 1 / 0", 2},
    {"1 + 2 == 3 && 4 > 3 || 0", 1},
    {"1 | 2 ^ 3 & 4", 3},
    {"1 << 2 + 1", 8},
    {"sizeof(int)", 4},
    {"sizeof (short)", 2},
    {"sizeof(long double)", 16},
    {"sizeof(char[10])", 10},
    {"sizeof(int *)", 8},
    {"sizeof(int (*)(void))", 8},
    {"sizeof(struct ce_point)", 8},
    {"sizeof(ce_t)", 12},
    {"sizeof(union { char c[3]; short s; })", 4},
    {"_Alignof(double)", 8},
    {"__alignof__(long long)", 8},
    {"__alignof(int)", 4},
    {"_Alignof(struct ce_point)", 4},
    {"(char)300", 44},
    {"(unsigned char)-1", 255},
    {"(signed char)200", -56},
    {"(short)65537", 1},
    {"(unsigned)-1", INT64_C(4294967295)},
    {"(unsigned short)-1", 65535},
    {"(long)-1", -1},
    {"(_Bool)5", 1},
    {"(int)(unsigned char)511", 255},
    {"(const int)7", 7},
    {"'A'", 65},
    {"'\\n'", 10},
    {"'\\0'", 0},
    {"'\\x41'", 65},
    {"'\\101'", 65},
    {"'\\''", 39},
    {"'\\\\'", 92},
    {"'\"'", 34},
    {"'\\t' + 1", 10},
    {"10u", 10},
    {"10U", 10},
    {"10l", 10},
    {"10L", 10},
    {"10ul", 10},
    {"10UL", 10},
    {"10lu", 10},
    {"10ll", 10},
    {"10LL", 10},
    {"10ull", 10},
    {"10ULL", 10},
    {"10LLU", 10},
    {"0x10", 16},
    {"0X1f", 31},
    {"0xABCDEFu", 0xABCDEF},
    {"017", 15},
    {"0", 0},
    {"0b101", 5},
    {"1u << 31", INT64_C(2147483648)},
    {"-1 < 0u", 0},  /* Usual arithmetic conversions: -1 becomes UINT_MAX. */
    {"-1L < 0u", 1}, /* long holds every unsigned int. */
    {"0u - 1", INT64_C(4294967295)},
    {"(0u - 1) >> 31", 1},
    {"-1 / 2u", INT64_C(2147483647)},
    {"0xffffffff + 1", 0}, /* unsigned int wraps. */
    {"0xffffffffL + 1", INT64_C(4294967296)},
    {"2147483647 + 1L", INT64_C(2147483648)},
    {"CE_ONE + CE_TWO", 3},
    {"CE_DEF * 2", 14},
    {"__extension__ 5", 5},
};

Test(cdef, constant_expressions) {
  def("struct ce_point { int x, y; };\n"
      "typedef struct { int a[3]; } ce_t;\n"
      "enum { CE_ONE = 1, CE_TWO };\n"
      "#define CE_DEF 7\n");
  int nfail = 0;
  for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
    char src[256];
    snprintf(src, sizeof src, "enum { CE_V%zu = %s };", i, exprs[i].expr);
    int rc = mffi_cdef(ctx, src, strlen(src));
    cr_expect(rc == MFFI_OK, "\"%s\": %s (%s)", exprs[i].expr, mffi_errname(rc),
              mffi_errmsg(ctx));
    if (rc != MFFI_OK) {
      nfail++;
      continue;
    }
    char name[32];
    snprintf(name, sizeof name, "CE_V%zu", i);
    const mffi_decl *d = mffi_decl_find(ctx, name);
    cr_expect(d != NULL, "%s missing", name);
    if (!d) continue;
    cr_expect(eq(i64, mffi_decl_value(d), exprs[i].value), "\"%s\"",
              exprs[i].expr);
  }
  cr_expect(eq(int, nfail, 0), "expressions that failed to parse");
}

Test(cdef, constant_expressions_in_array_sizes) {
  def("enum { N = 4 };\n"
      "struct cs { char buf[sizeof(int) * N]; int m[N > 2 ? 3 : 1];"
      " char c[(unsigned char)258]; char z['\\x03' << 1]; };\n"
      "extern int grid[N][N + 1];\n");
  const mffi_type *t = ty("struct cs");
  EQI(mffi_sizeof(t), 16 + 12 + 2 + 6);
  EQI(offof(t, "c"), 28);
  EQI(mffi_type_length(mffi_decl_type(decl("grid"))), 4);
  EQI(mffi_sizeof(mffi_decl_type(decl("grid"))), 80);
}

Test(cdef, sizeof_of_expression) {
  def("enum { SE1 = sizeof 1, SE2 = sizeof(1L), SE3 = sizeof 'a' };");
  EQI(cval("SE1"), 4);
  EQI(cval("SE2"), 8);
  EQI(cval("SE3"), 4); /* A character constant has type int in C. */
}

Test(cdef, vla_parameters_become_pointers) {
  /* regex.h: "regmatch_t __pmatch[__restrict_arr __nmatch]". */
  def("int f(unsigned long n, char b[n], int m[static n]);\n");
  const mffi_type *f = mffi_decl_type(decl("f"));
  EQP(mffi_type_param(f, 1), ty("char *"));
  EQP(mffi_type_param(f, 2), ty("int *"));
}

Test(cdef, skipped_define_declares_nothing) {
  /* A #define that is not an integer constant is dropped whole: it must
  ** not leave the tag it mentions behind. */
  size_t n = mffi_ndecls(ctx);
  def("#define D __builtin_offsetof(struct nowhere, b)\n");
  EQI(mffi_ndecls(ctx), n);
  cr_assert(mffi_decl_find(ctx, "D") == NULL);
}

Test(cdef, clang_floatn_typedefs_are_skipped) {
  /* What clang's view of glibc contains; GCC's keyword already means it. */
  def("typedef float _Float32;\ntypedef double _Float64;\n"
      "_Float32 f32(_Float64);\n");
  EQP(mffi_type_target(mffi_decl_type(decl("f32"))), ty("_Float32"));
}

Test(cdef, builtin_offsetof) {
  /* What <stddef.h>'s offsetof becomes after cc -E. */
  def("struct p { int a, b; struct { char c[4]; } in; };\n"
      "enum { OB = __builtin_offsetof(struct p, b),"
      " OC = __builtin_offsetof(struct p, in.c[2]) };\n");
  EQI(cval("OB"), 4);
  EQI(cval("OC"), 10);
}

/* -- GNU extensions
 * ------------------------------------------------------------------ */

Test(cdef, attribute_positions) {
  def("__attribute__((visibility(\"default\"))) int f1(void);\n"
      "int __attribute__((const)) f2(void);\n"
      "int f3(void) __attribute__((pure));\n"
      "int *__attribute__((unused)) f4(void);\n"
      "void f5(int x __attribute__((unused)),"
      " char *__attribute__((unused)) y);\n"
      "__attribute__((nonnull(1))) extern int f7(char *p);\n"
      "extern int f8(const char *) __attribute__((nonnull))"
      " __attribute__((warn_unused_result));\n"
      "int (__attribute__((unused)) *fpa)(int);\n"
      "int a1 __attribute__((unused)), a2 __attribute__((unused));\n"
      "extern int f9 (int) __attribute((__nothrow__, __leaf__));\n"
      "extern int f10(int) __attribute__(());\n"
      "typedef struct __attribute__((packed)) { char c; int i; }"
      " __attribute__((aligned(2))) at3_t;\n"
      "extern int __attribute__((deprecated(\"use g\"))) olds, news;\n"
      "static __attribute__((unused)) int f11(void);\n");
  const char *fns[] = {"f1", "f2", "f3", "f4", "f5", "f7", "f8", "f9", "f10"};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    EQIM(mffi_decl_kind_of(decl(fns[i])), MFFI_DECL_FUNCTION, "%s", fns[i]);
  EQP(mffi_decl_type(decl("fpa")), ty("int (*)(int)"));
  EQP(mffi_decl_type(decl("f4")), ty("int *(void)"));
  EQI(mffi_decl_kind_of(decl("a2")), MFFI_DECL_VARIABLE);
  EQI(mffi_sizeof(ty("at3_t")), 6);
  EQI(mffi_alignof(ty("at3_t")), 2);
  attr(decl("f3"), "pure");
  attr(decl("f7"), "nonnull");
  attr(decl("f8"), "warn_unused_result");
  attr(decl("f9"), "nothrow");
  attr(decl("f9"), "leaf");
  attr(decl("olds"), "deprecated");
  attr(decl("news"), "deprecated"); /* Specifier attributes cover both. */
}

Test(cdef, extension_keywords) {
  def("__extension__ typedef long long ll_t;\n"
      "__extension__ extern int ext_v;\n"
      "typedef __typeof__(int *) tp_t;\n"
      "extern int gv;\n"
      "typedef __typeof__(gv) gv_t;\n"
      "int f3(void);\n"
      "typedef __typeof(f3) f3_t;\n"
      "typedef typeof(unsigned short) us_t;\n"
      "static __inline int inl(int x);\n"
      "extern __inline__ int inl3(int x);\n"
      "void q(const volatile int *restrict p, int *__restrict q,"
      " int *__restrict__ r);\n"
      "__const int cc1; __volatile__ int vv1; __signed__ int ss1;\n"
      "typedef __builtin_va_list va_t;\n"
      "int vpf(const char *, va_t);\n"
      "_Static_assert(sizeof(int) == 4, \"int\");\n"
      "_Static_assert(1, \"one\");\n"
      "int after_static_assert;\n");
  EQP(ty("ll_t"), ty("long long"));
  EQP(ty("tp_t"), ty("int *"));
  EQP(ty("gv_t"), ty("int"));
  EQP(ty("f3_t"), ty("int (void)"));
  EQP(ty("us_t"), ty("unsigned short"));
  EQP(mffi_decl_type(decl("cc1")), ty("const int"));
  EQP(mffi_type_param(mffi_decl_type(decl("q")), 1), ty("int *"));
  decl("after_static_assert");
  decl("ext_v");
}

Test(cdef, inline_function_bodies_skipped) {
  def("static __inline int inl(int x) { const char *s = \"}\"; (void)s;"
      " return x + '}'; }\n"
      "extern __inline __attribute__((__gnu_inline__)) int inl2(int x)"
      " { if (x) { return 1; } /* } */ return 0; }\n"
      "__inline int inl4(void) { struct { int a; } v = { 1 }; return v.a; }\n"
      "int after_bodies(void);\n");
  EQI(mffi_decl_kind_of(decl("after_bodies")), MFFI_DECL_FUNCTION);
  cr_assert(mffi_decl_find(ctx, "v") == NULL);
}

Test(cdef, asm_renames) {
  def("extern int rn(const char *p) __asm__(\"\" \"rn_impl\");\n"
      "extern int rn2(const char *p) __asm(\"rn2_impl\")"
      " __attribute__((pure));\n"
      "extern int rn3 __asm__(\"rn3_impl\");\n"
      "extern int plain(void);\n"
      "typedef struct FILE FILE;\n"
      "extern FILE *fopen(const char *restrict, const char *restrict)"
      " __asm__(\"\" \"fopen64\") __attribute__((__malloc__));\n");
  STREQ(mffi_decl_symbol(decl("rn")), "rn_impl");
  STREQ(mffi_decl_symbol(decl("rn2")), "rn2_impl");
  attr(decl("rn2"), "pure");
  STREQ(mffi_decl_symbol(decl("rn3")), "rn3_impl");
  EQI(mffi_decl_kind_of(decl("rn3")), MFFI_DECL_VARIABLE);
  STREQ(mffi_decl_symbol(decl("plain")), "plain");
  STREQ(mffi_decl_symbol(decl("fopen")), "fopen64");
  STREQ(mffi_decl_name(decl("fopen")), "fopen");
  cr_assert(mffi_decl_find(ctx, "fopen64") == NULL);
}

/* -- Attributes kept on declarations
 * -------------------------------------------------- */

Test(cdef, attribute_access) {
  def("int __attribute__((access(read_only, 1, 2)))"
      " acc(const char *buf, unsigned n);\n");
  const mffi_attr *a = attr(decl("acc"), "access");
  EQI(a->nargs, 3);
  attr_str(a, 0, "read_only");
  EQI(a->args[0].num, 0);
  attr_num(a, 1, 1);
  attr_num(a, 2, 2);
}

Test(cdef, attribute_glibc_spelling) {
  /* glibc writes __attr_access ((__read_only__, 1, 2)) and
  ** __format__ (__printf__, ...): names and word arguments lose their
  ** leading and trailing "__". */
  def("extern int acc2(const char *, unsigned)"
      " __attribute__ ((__access__ (__read_only__, 1, 2)))"
      " __attribute__ ((__format__ (__printf__, 1, 2)));\n");
  const mffi_attr *a = attr(decl("acc2"), "access");
  EQI(a->nargs, 3);
  attr_str(a, 0, "read_only");
  attr_num(a, 2, 2);
  a = attr(decl("acc2"), "format");
  attr_str(a, 0, "printf");
  attr_num(a, 1, 1);
}

Test(cdef, attribute_malloc_and_alloc_size) {
  def("void my_free(void *);\n"
      "void *my_alloc(unsigned long n)"
      " __attribute__((malloc, malloc(my_free, 1), alloc_size(1)));\n"
      "void *my_calloc(unsigned long, unsigned long)"
      " __attribute__((__alloc_size__(1, 2)));\n");
  const mffi_decl *d = decl("my_alloc");
  const mffi_attr *a = attr(d, "malloc");
  EQI(a->nargs, 0); /* The first one written. */
  EQI(mffi_decl_nattrs(d), 3);
  const mffi_attr *m = mffi_decl_attr(d, 1);
  cr_assert(m != NULL);
  STREQ(m->name, "malloc");
  EQI(m->nargs, 2);
  attr_str(m, 0, "my_free");
  attr_num(m, 1, 1);
  STREQ(mffi_decl_attr(d, 2)->name, "alloc_size");
  attr_num(mffi_decl_attr(d, 2), 0, 1);
  cr_assert(mffi_decl_attr(d, 3) == NULL);
  a = attr(decl("my_calloc"), "alloc_size");
  EQI(a->nargs, 2);
  attr_num(a, 0, 1);
  attr_num(a, 1, 2);
}

Test(cdef, attribute_nonnull_family) {
  def("extern char *nn(char *, char *)"
      " __attribute__((__nonnull__ (1, 2), returns_nonnull));\n"
      "extern int nn0(char *) __attribute__((nonnull));\n"
      "extern int ntsa(const char *)"
      " __attribute__((null_terminated_string_arg(1)));\n");
  const mffi_attr *a = attr(decl("nn"), "nonnull");
  EQI(a->nargs, 2);
  attr_num(a, 0, 1);
  attr_num(a, 1, 2);
  EQI(attr(decl("nn"), "returns_nonnull")->nargs, 0);
  cr_assert(mffi_decl_attr_find(decl("nn"), "__nonnull__") == NULL);
  EQI(attr(decl("nn0"), "nonnull")->nargs, 0);
  a = attr(decl("ntsa"), "null_terminated_string_arg");
  EQI(a->nargs, 1);
  attr_num(a, 0, 1);
}

Test(cdef, attribute_format_deprecated_unknown) {
  def("extern int pf(const char *, ...) __attribute__((format(printf, 1, "
      "2)));\n"
      "extern int dep(void) __attribute__((deprecated(\"use x\")));\n"
      "extern int unk(int) __attribute__((frobnicate(y, 3, \"x\")));\n"
      "extern int al(int) __attribute__((aligned(sizeof(long) * 2)));\n");
  const mffi_attr *a = attr(decl("pf"), "format");
  EQI(a->nargs, 3);
  attr_str(a, 0, "printf");
  attr_num(a, 1, 1);
  attr_num(a, 2, 2);
  a = attr(decl("dep"), "deprecated");
  EQI(a->nargs, 1);
  attr_str(a, 0, "\"use x\""); /* String literals keep their quotes. */
  EQI(a->args[0].num, 0);
  a = attr(decl("unk"), "frobnicate");
  EQI(a->nargs, 3);
  attr_str(a, 0, "y");
  attr_num(a, 1, 3);
  attr_str(a, 2, "\"x\"");
  a = attr(decl("al"), "aligned");
  attr_num(a, 0, 16);
}

Test(cdef, attributes_on_typedefs_and_variables) {
  def("typedef int dep_t __attribute__((deprecated));\n"
      "extern int var_dep __attribute__((deprecated(\"use x\")));\n");
  attr(decl("dep_t"), "deprecated");
  attr(decl("var_dep"), "deprecated");
}

Test(cdef, attributes_merge_on_redeclaration) {
  def("int merged(int);");
  size_t n = mffi_ndecls(ctx);
  EQI(mffi_decl_nattrs(decl("merged")), 0);
  def("int merged(int) __attribute__((pure));");
  EQI(mffi_ndecls(ctx), n);
  attr(decl("merged"), "pure");
}

/* -- Interning ------------------------------------------------------------- */

/* A realistic declaration set, shared by the interning tests. */
static const char realistic[] =
    "typedef unsigned long size_t;\n"
    "typedef struct w_widget w_widget;\n"
    "typedef void (*w_cb)(w_widget *, void *ud);\n"
    "enum w_kind { W_LABEL, W_BUTTON = 4, W_MAX = 0x7fffffff };\n"
    "struct w_rect { int x, y; unsigned w : 16, h : 16; };\n"
    "struct w_widget { enum w_kind kind; struct w_rect r; w_cb cb;\n"
    "  union { double d; char *s; } u; char name[32]; };\n"
    "#define W_VERSION 3\n"
    "w_widget *w_new(enum w_kind, const char *name)\n"
    "  __attribute__((malloc, malloc(w_free, 1), nonnull(2)));\n"
    "void w_free(w_widget *w);\n"
    "size_t w_count(const w_widget *const *ws, size_t n)\n"
    "  __attribute__((access(read_only, 1, 2)));\n"
    "extern int w_debug;\n"
    "int (*w_hook(int (*)(double)))(char, ...);\n";

Test(cdef, interning_same_pointer_and_id) {
  const mffi_type *a = ty("int *");
  const mffi_type *b = ty("int *");
  EQP(a, b);
  EQI(mffi_type_id(a), mffi_type_id(b));
  EQP(mffi_type_byid(ctx, mffi_type_id(a)), a);
  uint32_t n = mffi_ntypes(ctx);
  ty("int *");
  ty("int*");
  ty("int (*)(const void *, const void *)");
  uint32_t n2 = mffi_ntypes(ctx);
  ty("int(*)(const void*,const void*)");
  EQI(mffi_ntypes(ctx), n2);
  cr_assert(n2 > n);
  def(realistic);
  EQP(ty("size_t"), ty("unsigned long"));
  EQP(ty("w_cb"), ty("void (*)(struct w_widget *, void *)"));
  EQP(mffi_decl_type(decl("w_free")), ty("void (w_widget *)"));
  EQP(mffi_type_byid(ctx, mffi_type_id(ty("w_cb"))), ty("w_cb"));
}

/* Compare two contexts fed the same text: same types, same ids. */
static void compare_contexts(mffi_ctx *x, mffi_ctx *y) {
  EQI(mffi_ntypes(x), mffi_ntypes(y));
  EQI(mffi_ndecls(x), mffi_ndecls(y));
  for (uint32_t id = 0; id < mffi_ntypes(x); id++) {
    const mffi_type *a = mffi_type_byid(x, id), *b = mffi_type_byid(y, id);
    cr_assert(a && b, "type %u missing", id);
    EQIM(mffi_type_kind(a), mffi_type_kind(b), "kind of type %u", id);
    EQIM(mffi_sizeof(a), mffi_sizeof(b), "size of type %u", id);
    EQIM(mffi_alignof(a), mffi_alignof(b), "align of type %u", id);
    EQIM(mffi_type_quals(a), mffi_type_quals(b), "quals of type %u", id);
    const mffi_type *ta = mffi_type_target(a), *tb = mffi_type_target(b);
    EQIM(ta ? (int64_t)mffi_type_id(ta) : -1,
         tb ? (int64_t)mffi_type_id(tb) : -1, "target of type %u", id);
    char sa[256], sb[256];
    mffi_type_str(a, NULL, sa, sizeof sa);
    mffi_type_str(b, NULL, sb, sizeof sb);
    cr_assert_str_eq(sa, sb, "type %u", id);
  }
  for (size_t i = 0; i < mffi_ndecls(x); i++) {
    const mffi_decl *a = mffi_decl_at(x, i), *b = mffi_decl_at(y, i);
    EQIM(mffi_decl_kind_of(a), mffi_decl_kind_of(b), "decl %zu", i);
    EQIM(mffi_type_id(mffi_decl_type(a)), mffi_type_id(mffi_decl_type(b)),
         "type of decl %zu", i);
  }
}

Test(cdef, same_text_same_ids_in_fresh_contexts) {
  mffi_ctx *other = NULL;
  cr_assert(eq(int, mffi_ctx_new(&other, NULL), MFFI_OK));
  def(realistic);
  cr_assert(eq(int, mffi_cdef(other, realistic, strlen(realistic)), MFFI_OK));
  compare_contexts(ctx, other);
  const mffi_type *t = NULL;
  cr_assert(eq(int, mffi_typeof(other, "struct w_rect", &t), MFFI_OK));
  EQI(mffi_type_id(t), mffi_type_id(ty("struct w_rect")));
  mffi_ctx_free(other);
}

Test(cdef, every_type_prints) {
  /* Every id below mffi_ntypes is a type that can be used and printed,
  ** including the primitive ids of a fresh context. */
  def(realistic);
  for (uint32_t id = 0; id < mffi_ntypes(ctx); id++) {
    const mffi_type *t = mffi_type_byid(ctx, id);
    cr_assert(t != NULL, "type %u", id);
    if (mffi_type_kind(t) == MFFI_KIND_COMPLEX)
      cr_assert(mffi_type_target(t) != NULL, "type %u: _Complex of nothing",
                id);
    char buf[256];
    size_t n = mffi_type_str(t, "x", buf, sizeof buf);
    cr_expect(n > 0 && n == strlen(buf), "type %u (kind %d) printed as \"%s\"",
              id, (int)mffi_type_kind(t), buf);
  }
}

/* -- All or nothing -------------------------------------------------------- */

Test(cdef, failed_block_changes_nothing) {
  def("struct fwd;\n"
      "typedef int keep_t;\n"
      "enum { K1 = 1 };\n"
      "int g(int);\n");
  const mffi_type *fwd = ty("struct fwd");
  const mffi_type *keep = ty("keep_t");
  size_t nd = mffi_ndecls(ctx);
  uint32_t nt = mffi_ntypes(ctx);
  static const char bad[] =
      "typedef long new_t;\n"
      "struct fwd { int a; double b[4]; };\n"
      "enum e2 { K2 = 2 };\n"
      "int g(int) __attribute__((pure));\n"
      "struct brand_new { char *p; } *make_it(int (*)(float));\n"
      "int f(int);\n"
      "#define NEWDEF 5\n"
      "int bad(;\n";
  int rc = mffi_cdef(ctx, bad, strlen(bad));
  EQI(rc, MFFI_EPARSE);
  EQI(mffi_errcode(ctx), MFFI_EPARSE);
  EQI(mffi_ndecls(ctx), nd);
  EQI(mffi_ntypes(ctx), nt);
  const char *gone[] = {"new_t", "K2", "f", "make_it", "NEWDEF", "bad"};
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
    cr_assert(mffi_decl_find(ctx, gone[i]) == NULL, "'%s' survived", gone[i]);
  EQI(mffi_type_complete(fwd), 0);
  EQI(mffi_sizeof(fwd), 0);
  EQI(mffi_type_nfields(fwd), 0);
  EQP(ty("struct fwd"), fwd);
  EQP(ty("keep_t"), keep);
  EQI(cval("K1"), 1);
  cr_assert(mffi_decl_attr_find(decl("g"), "pure") == NULL);
  const mffi_type *t = NULL;
  EQI(mffi_typeof(ctx, "new_t", &t), MFFI_ENOTFOUND);
  cr_assert(t == NULL);
  /* The tags of the failed block are gone too. */
  t = ty("enum e2");
  EQI(mffi_type_complete(t), 0);
  t = ty("struct brand_new");
  EQI(mffi_type_complete(t), 0);
  /* Everything can be declared again, differently. */
  def("typedef short new_t;\n"
      "struct fwd { long b; };\n"
      "enum e2 { K2 = 20 };\n"
      "int f(char);\n"
      "#define NEWDEF 6\n");
  EQI(mffi_sizeof(fwd), 8);
  EQP(ty("new_t"), ty("short"));
  EQI(cval("K2"), 20);
  EQI(cval("NEWDEF"), 6);
}

Test(cdef, failed_block_semantic_error_changes_nothing) {
  def("struct fwd2;");
  size_t nd = mffi_ndecls(ctx);
  uint32_t nt = mffi_ntypes(ctx);
  static const char bad[] = "struct fwd2 { int a; };\n"
                            "typedef int t1;\n"
                            "typedef long t1;\n";
  EQI(mffi_cdef(ctx, bad, strlen(bad)), MFFI_EDECL);
  EQI(mffi_ndecls(ctx), nd);
  EQI(mffi_ntypes(ctx), nt);
  EQI(mffi_type_complete(ty("struct fwd2")), 0);
  cr_assert(mffi_decl_find(ctx, "t1") == NULL);
  def("struct fwd2 { int a; };\ntypedef int t1;\n");
  EQI(mffi_sizeof(ty("struct fwd2")), 4);
}

Test(cdef, success_clears_error) {
  EQI(mffi_cdef(ctx, "int;;(", 6), MFFI_EPARSE);
  cr_assert(mffi_errmsg(ctx)[0] != '\0');
  cr_assert(mffi_erroffset(ctx) >= 0);
  def("int ok_now;");
  EQI(mffi_erroffset(ctx), -1);
}

Test(cdef, input_need_not_be_nul_terminated) {
  const char src[] = "int sized_a; int sized_b;GARBAGE";
  EQI(mffi_cdef(ctx, src, strlen("int sized_a; int sized_b;")), MFFI_OK);
  decl("sized_b");
  EQI(mffi_cdef(ctx, "", 0), MFFI_OK);
  static const char blank[] = "  \n/* only a comment */\n// and another\n";
  EQI(mffi_cdef(ctx, blank, strlen(blank)), MFFI_OK);
}

/* Aggregates nest at most MFFI_MAX_NEST (1024) levels, through named types
** too: the call engines walk them recursively (400,000 nested structs used
** to overflow the stack at mffi_bind). The limit fails cleanly and rolls
** back; 1024 levels still bind and call. */
/* Types n0..nTOP where nTOP has `levels` levels; line TOP + 1 defines it. */
static char *nest_src(int levels, int arrays, char pfx, int *top) {
  int n = arrays ? levels + 1 : levels; /* typedef int n0 has none. */
  *top = n - 1;
  size_t cap = (size_t)n * 48 + 128;
  char *s = malloc(cap), *p = s;
  cr_assert_not_null(s);
  p += sprintf(p, arrays ? "typedef int %c0;\n" : "struct %c0 { int x; };\n",
               pfx);
  for (int i = 1; i < n; i++)
    if (arrays)
      p += sprintf(p, "typedef %c%d %c%d[1];\n", pfx, i - 1, pfx, i);
    else
      p += sprintf(p, "struct %c%d { struct %c%d a; };\n", pfx, i, pfx, i - 1);
  return s;
}

Test(cdef, nesting_limit) {
  for (int arrays = 0; arrays < 2; arrays++) {
    mffi_ctx *c;
    cr_assert_eq(mffi_ctx_new(&c, NULL), MFFI_OK);
    int top;
    char *ok = nest_src(1024, arrays, 'n', &top);
    EQIM(mffi_cdef(c, ok, strlen(ok)), MFFI_OK, "%s", mffi_errmsg(c));
    free(ok);
    char name[32];
    snprintf(name, sizeof name, "%sn%d", arrays ? "" : "struct ", top);
    char *bad = nest_src(1025, arrays, 'm', &top);
    int rc = mffi_cdef(c, bad, strlen(bad));
    EQI(rc, MFFI_EDECL);
    cr_expect(strstr(mffi_errmsg(c), "nested more than 1024 deep") != NULL,
              "%s", mffi_errmsg(c));
    char line[16];
    snprintf(line, sizeof line, "%d:", top + 1);
    cr_expect(strncmp(mffi_errmsg(c), line, strlen(line)) == 0, "%s",
              mffi_errmsg(c));
    free(bad);
    /* All or nothing: the context is as before and still usable. */
    const mffi_type *t;
    EQI(mffi_typeof(c, name, &t), MFFI_OK);
    cr_expect_eq(mffi_sizeof(t), sizeof(int));
    if (!arrays) {
      char d[64];
      snprintf(d, sizeof d, "int abs(%s);", name);
      EQI(mffi_cdef(c, d, strlen(d)), MFFI_OK);
      mffi_lib *lib;
      EQI(mffi_open(c, NULL, NULL, NULL, &lib), MFFI_OK);
      mffi_fn *fn;
      EQI(mffi_bind(lib, "abs", &fn), MFFI_OK);
      int v = -5, r = 0;
      void *args[] = {&v};
      EQI(mffi_call(fn, &r, args), MFFI_OK);
      cr_expect_eq(r, 5, "struct { int } passes like an int");
    }
    mffi_ctx_free(c);
  }
}

Test(cdef, rolled_back_pointer_type_is_made_again) {
  /* The type table reuses a rolled-back node's slot, and each type keeps a
  ** hint to the pointer to it: after a rollback the slot holds another
  ** type, and the hint must not bring that back as the pointer. */
  def("struct rb { int a; };");
  const mffi_type *s = ty("struct rb");
  uint32_t nt = mffi_ntypes(ctx);
  static const char bad[] = "typedef struct rb *rbp;\nint bad(;\n";
  EQI(mffi_cdef(ctx, bad, strlen(bad)), MFFI_EPARSE);
  EQI(mffi_ntypes(ctx), nt);
  def("typedef long rb_other[7];\n"
      "typedef struct rb *rbp;\n");
  const mffi_type *p = ty("rbp");
  EQI(mffi_type_kind(p), MFFI_KIND_POINTER);
  EQP(mffi_type_target(p), s);
  EQP(ty("struct rb *"), p);
  EQI(mffi_type_kind(ty("rb_other")), MFFI_KIND_ARRAY);
  EQI(mffi_sizeof(ty("rb_other")), 56);
}

/* -- #pragma pack ---------------------------------------------------------- */

/* Printed declarations carry the pack in _Pragma form, one line each, and
** read back to the same layout. */
Test(cdef, pragma_pack_printed_and_read_back) {
  def("#pragma pack(push, 2)\n"
      "struct pp { char c; int i; };\n"
      "typedef struct { char c; long l; } ppt;\n"
      "#pragma pack(pop)\n"
      "struct np { char c; int i; };\n");
  EQI(mffi_sizeof(ty("struct pp")), 6);
  EQI(mffi_sizeof(ty("ppt")), 10);
  EQI(mffi_sizeof(ty("struct np")), 8);
  char text[4096] = "", line[512];
  for (size_t i = 0; i < mffi_ndecls(ctx); i++) {
    mffi_decl_str(mffi_decl_at(ctx, i), line, sizeof line);
    cr_assert(strchr(line, '\n') == NULL, "not one line: %s", line);
    strcat(text, line);
    strcat(text, "\n");
  }
  cr_assert(strstr(text, "_Pragma(\"pack(push, 2)\") struct pp {") != NULL,
            "%s", text);
  mffi_ctx *c2 = NULL;
  cr_assert(eq(int, mffi_ctx_new(&c2, NULL), MFFI_OK));
  int rc = mffi_cdef(c2, text, strlen(text));
  cr_assert(eq(int, rc, MFFI_OK), "%s\n%s", mffi_errmsg(c2), text);
  const mffi_type *t;
  cr_assert(eq(int, mffi_typeof(c2, "struct pp", &t), MFFI_OK));
  EQI(mffi_sizeof(t), 6);
  cr_assert(eq(int, mffi_typeof(c2, "ppt", &t), MFFI_OK));
  EQI(mffi_sizeof(t), 10);
  cr_assert(eq(int, mffi_typeof(c2, "struct np", &t), MFFI_OK));
  EQI(mffi_sizeof(t), 8);
  mffi_ctx_free(c2);
}

/* Each mffi_cdef call starts unpacked, as each translation unit does. */
Test(cdef, pragma_pack_state_is_per_call) {
  def("#pragma pack(1)\nstruct in1 { char c; int i; };");
  def("struct in2 { char c; int i; };");
  EQI(mffi_sizeof(ty("struct in1")), 5);
  EQI(mffi_sizeof(ty("struct in2")), 8);
}

/* A pragma inside a body counts for the whole body: gcc lays a struct out
** at its closing brace. */
Test(cdef, pragma_pack_inside_struct_body_counts_at_brace) {
  def("struct pb { char c;\n#pragma pack(push, 1)\n int i; };\n"
      "#pragma pack(pop)\n"
      "struct pc { char c; int i; };");
  EQI(mffi_sizeof(ty("struct pb")), 5); /* gcc lays out at the '}' */
  EQI(mffi_sizeof(ty("struct pc")), 8);
}

/* mode() on a parameter changes its type, as on any declaration (gcc
** accepts the redeclaration with signed char). */
Test(cdef, mode_on_parameter) {
  def("void pm(int __attribute__((mode(QI))) x);\n"
      "void pm(signed char x);\n");
  EQP(mffi_type_param(mffi_decl_type(decl("pm")), 0), ty("signed char"));
}

/* -- #define redefinitions ------------------------------------------------- */

Test(cdef, define_redefined_same_value_or_after_undef) {
  def("#define RA 1\n#define RA 1\n#define RA (0 + 1)\n"
      "#define RB 2\n#undef RB\n#define RB 3\n");
  EQI(mffi_decl_value(decl("RA")), 1);
  EQI(mffi_decl_value(decl("RB")), 3);
}

/* The earlier definition may come from another mffi_cdef call. */
Test(cdef, define_redefined_in_a_later_call) {
  def("#define RC 1\n");
  const char *src = "\n#define RC 2\n";
  cr_assert(eq(int, mffi_cdef(ctx, src, strlen(src)), MFFI_EDECL));
  cr_assert(strstr(mffi_errmsg(ctx), "2:9: 'RC' redefined as 2; the previous "
                                     "definition, 1, is at 1:9 of an earlier "
                                     "mffi_cdef") == mffi_errmsg(ctx),
            "%s", mffi_errmsg(ctx));
  EQI(mffi_decl_value(decl("RC")), 1);
}

/* -- Several headers in one context ---------------------------------------- */

/* Each mffi_cdef call is a translation unit: the same definitions again
** (as two headers that include the same system header make) are the same
** types, and declarations through them agree. */
Test(cdef, same_definitions_in_two_calls) {
  static const char h[] =
      "typedef struct { int __val[2]; } fsid_t;\n"
      "struct node { struct node *next; struct { int a; } in; int b : 3; };\n"
      "union u { int i; float f; };\n"
      "enum color { RED, GREEN = 5 };\n"
      "enum { ANON_A = 7, ANON_B };\n"
      "typedef struct node node_t;\n"
      "extern struct { char c; } gvar;\n"
      "int use(fsid_t *, struct node *, enum color);\n";
  def(h);
  const mffi_type *fs = ty("fsid_t"), *node = ty("struct node");
  size_t n = mffi_ndecls(ctx);
  def(h);
  def(h);
  EQP(ty("fsid_t"), fs);
  EQP(ty("struct node"), node);
  EQI(mffi_ndecls(ctx), n); /* Nothing declared twice. */
  EQI(mffi_decl_value(decl("ANON_B")), 8);
}

/* A later call may use the earlier call's types by name and redefine them
** the same way in any order. */
Test(cdef, same_definitions_interleaved) {
  def("typedef struct { long x; } pt_t; struct box { pt_t p; };");
  def("struct box; typedef struct { long x; } pt_t;\n"
      "struct box { pt_t p; };\n"
      "void take(struct box);\n");
  EQI(mffi_sizeof(ty("struct box")), 8);
}

/* -- Small things gcc reads ------------------------------------------------ */

/* sizeof of a string literal is that of its array (gcc: 5, 14, 10). */
Test(cdef, sizeof_string_literals) {
  def("struct sl { char a[sizeof(\"aa\" \"bb\")];\n"
      "  char b[sizeof L\"ab\" + sizeof(u8\"x\")];\n"
      "  char c[sizeof(u\"abc\" \"d\")]; };");
  size_t off = 0;
  cr_assert(eq(int, mffi_offsetof(ty("struct sl"), "b", &off), MFFI_OK));
  EQI(off, 5);
  cr_assert(eq(int, mffi_offsetof(ty("struct sl"), "c", &off), MFFI_OK));
  EQI(off, 19);
  EQI(mffi_sizeof(ty("struct sl")), 29);
  const char *bad = "char m[sizeof(u\"a\" U\"b\")];";
  cr_assert(eq(int, mffi_cdef(ctx, bad, strlen(bad)), MFFI_EPARSE));
}

/* Lines are spliced before tokens are made: inside a name, and at the end
** of a // comment, which then goes on. */
Test(cdef, backslash_newline_inside_names_and_comments) {
  def("unsig\\\nned in\\\r\nt bx; // comment \\\nint by bz;\nlong bw;\n"
      "#define BQ 1 // c \\\n + 1\n");
  EQP(mffi_decl_type(decl("bx")), ty("unsigned int"));
  cr_assert(mffi_decl_find(ctx, "by") == NULL);
  EQP(mffi_decl_type(decl("bw")), ty("long"));
  EQI(mffi_decl_value(decl("BQ")), 1);
}

/* -- Vector types ---------------------------------------------------------- */

/* GCC's vectors lay out as gcc says (test_layout checks against it); they
** print as __typeof__(T __attribute__((vector_size(N)))), which reads back
** the same; functions take and return them by value. */
Test(cdef, vector_types) {
  def("typedef float v4sf __attribute__((vector_size(16)));\n"
      "typedef double zmm __attribute__((__vector_size__(64), "
      "__aligned__(16)));\n"
      "typedef float v4m __attribute__((mode(V4SF)));\n"
      "struct regs { char c; v4sf x[2]; zmm z; };\n"
      "void use(struct regs *, const v4sf *);\n");
  EQI(mffi_sizeof(ty("v4sf")), 16);
  EQI(mffi_alignof(ty("v4sf")), 16);
  EQP(ty("v4m"), ty("v4sf"));
  EQI(mffi_alignof(ty("zmm")), 16);
  EQI(mffi_sizeof(ty("struct regs")), 112);
  char buf[256];
  mffi_decl_str(decl("v4sf"), buf, sizeof buf);
  STREQ(buf,
        "typedef __typeof__(float __attribute__((vector_size(16)))) v4sf;");
  mffi_ctx *c2 = NULL;
  cr_assert(eq(int, mffi_ctx_new(&c2, NULL), MFFI_OK));
  cr_assert(eq(int, mffi_cdef(c2, buf, strlen(buf)), MFFI_OK));
  const mffi_type *t;
  cr_assert(eq(int, mffi_typeof(c2, "v4sf", &t), MFFI_OK));
  EQI(mffi_sizeof(t), 16);
  mffi_ctx_free(c2);
  /* Functions taking and returning them are declared; binding decides
  ** what can be called (test_dynamic: vectors up to 16 bytes, and a
  ** precise refusal for the wider ones, such as struct regs). */
  static const char *const fns[] = {
      "v4sf vadd(v4sf, v4sf);",
      "void take(struct regs);",
      "struct regs give(void);",
  };
  for (size_t i = 0; i < 3; i++)
    cr_expect(eq(int, mffi_cdef(ctx, fns[i], strlen(fns[i])), MFFI_OK), "%s",
              mffi_errmsg(ctx));
  cr_expect(eq(int, mffi_type_kind(mffi_decl_type(decl("vadd"))),
               MFFI_KIND_FUNCTION));
  const char *bad = "typedef float v3 __attribute__((vector_size(12)));";
  cr_expect(eq(int, mffi_cdef(ctx, bad, strlen(bad)), MFFI_EDECL));
  /* An incomplete enum has no element size (gcc: invalid vector type; the
  ** fuzzer found a division by zero here). */
  const char *incomplete =
      "enum e; typedef enum e v4e __attribute__((vector_size(16)));";
  cr_expect(
      eq(int, mffi_cdef(ctx, incomplete, strlen(incomplete)), MFFI_EDECL));
  cr_expect(strstr(mffi_errmsg(ctx), "invalid vector type") != NULL, "%s",
            mffi_errmsg(ctx));
}
