/* Tests of the C printer: type strings, declarations, round trips.
** See LICENSE. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "modffi.h"
#include "print.h"

/* -- Helpers --------------------------------------------------------------- */

/* A fresh context holding src; fails the test if src does not parse. */
static mffi_ctx *parse(const char *src) {
  mffi_ctx *ctx;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  int rc = mffi_cdef(ctx, src, strlen(src));
  cr_assert_eq(rc, MFFI_OK, "cdef failed (%s): %s\n--- source:\n%s",
               mffi_errname(rc), mffi_errmsg(ctx), src);
  return ctx;
}

/* Every declaration of ctx printed, one per line (malloc'd). */
static char *print_all(const mffi_ctx *ctx) {
  size_t cap = 1, len = 0;
  char *out = malloc(cap);
  cr_assert_not_null(out);
  out[0] = '\0';
  for (size_t i = 0; i < mffi_ndecls(ctx); i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    size_t n = mffi_decl_str(d, NULL, 0);
    out = realloc(out, cap = len + n + 2);
    cr_assert_not_null(out);
    cr_assert_eq(mffi_decl_str(d, out + len, n + 1), n);
    len += n;
    out[len++] = '\n';
    out[len] = '\0';
  }
  return out;
}

/* The type expr of ctx printed with name (may be NULL). */
static char *type_str(mffi_ctx *ctx, const char *expr, const char *name) {
  const mffi_type *t;
  int rc = mffi_typeof(ctx, expr, &t);
  cr_assert_eq(rc, MFFI_OK, "typeof(%s): %s", expr, mffi_errmsg(ctx));
  size_t n = mffi_type_str(t, name, NULL, 0);
  char *s = malloc(n + 1);
  cr_assert_not_null(s);
  cr_assert_eq(mffi_type_str(t, name, s, n + 1), n);
  cr_assert_eq(strlen(s), n);
  return s;
}

static void expect_type(mffi_ctx *ctx, const char *expr, const char *name,
                        const char *want) {
  char *got = type_str(ctx, expr, name);
  cr_expect_str_eq(got, want, "type '%s' name %s", expr, name ? name : "-");
  free(got);
}

/* The declaration called name, printed. */
static void expect_decl(mffi_ctx *ctx, const char *name, const char *want) {
  const mffi_decl *d = mffi_decl_find(ctx, name);
  cr_assert_not_null(d, "no declaration '%s'", name);
  char buf[1024];
  size_t n = mffi_decl_str(d, buf, sizeof buf);
  cr_assert_lt(n, sizeof buf);
  cr_expect_str_eq(buf, want, "declaration '%s'", name);
}

/* The i-th declaration printed (for tags, which have no name to find). */
static void expect_decl_at(mffi_ctx *ctx, size_t i, const char *want) {
  cr_assert_lt(i, mffi_ndecls(ctx));
  char buf[1024];
  size_t n = mffi_decl_str(mffi_decl_at(ctx, i), buf, sizeof buf);
  cr_assert_lt(n, sizeof buf);
  cr_expect_str_eq(buf, want, "declaration #%zu", i);
}

/* Parse src, print it, parse that in a fresh context, print again: the two
** printouts must be identical (and the first must parse). */
static void round_trip(const char *src) {
  mffi_ctx *c1 = parse(src);
  char *p1 = print_all(c1);
  mffi_ctx *c2 = parse(p1);
  char *p2 = print_all(c2);
  cr_expect_str_eq(p2, p1, "round trip of:\n%s", src);
  cr_expect_eq(mffi_ndecls(c2), mffi_ndecls(c1));
  free(p1);
  free(p2);
  mffi_ctx_free(c1);
  mffi_ctx_free(c2);
}

/* -- The bounded writer ---------------------------------------------------- */

Test(print, sb_snprintf_semantics) {
  char buf[8];
  mffi__sb sb = {.buf = buf, .cap = sizeof buf, .len = 0};
  mffi__sb_puts(&sb, "abc");
  cr_expect_str_eq(buf, "abc");
  mffi__sb_printf(&sb, "%d-%s", 42, "xyz");
  cr_expect_eq(sb.len, 9);
  cr_expect_str_eq(buf, "abc42-x");
  mffi__sb_puts(&sb, "more");
  cr_expect_eq(sb.len, 13);
  cr_expect_str_eq(buf, "abc42-x");
  mffi__sb_printf(&sb, "%s", "tail");
  cr_expect_eq(sb.len, 17);
  cr_expect_str_eq(buf, "abc42-x");

  mffi__sb none = {.buf = NULL, .cap = 0, .len = 0};
  mffi__sb_puts(&none, "hello");
  mffi__sb_printf(&none, "%05d", 7);
  cr_expect_eq(none.len, 10);

  char one[1] = {'x'};
  mffi__sb tiny = {.buf = one, .cap = 1, .len = 0};
  mffi__sb_puts(&tiny, "");
  mffi__sb_puts(&tiny, "zz");
  cr_expect_eq(one[0], '\0');
  cr_expect_eq(tiny.len, 2);
}

Test(print, type_str_truncates_like_snprintf) {
  mffi_ctx *ctx = parse("struct point { int x, y; };");
  const mffi_type *t;
  cr_assert_eq(mffi_typeof(ctx, "struct point *(*)(void)", &t), MFFI_OK);
  const char *full = "struct point *(*)(void)";
  cr_expect_eq(mffi_type_str(t, NULL, NULL, 0), strlen(full));
  char buf[64];
  for (size_t n = 1; n <= strlen(full) + 1; n++) {
    memset(buf, '#', sizeof buf);
    cr_expect_eq(mffi_type_str(t, NULL, buf, n), strlen(full));
    cr_expect_eq(strlen(buf), n - 1);
    cr_expect_eq(strncmp(buf, full, n - 1), 0);
  }
  buf[0] = '#';
  cr_expect_eq(mffi_type_str(t, NULL, buf, 0), strlen(full));
  cr_expect_eq(buf[0], '#', "n == 0 must not write");
  cr_expect_eq(mffi_type_str(NULL, NULL, buf, sizeof buf), 0);
  cr_expect_str_eq(buf, "");
  mffi_ctx_free(ctx);
}

/* -- Types ----------------------------------------------------------------- */

Test(print, scalar_spellings) {
  mffi_ctx *ctx = parse("");
  static const char *const same[] = {
      "_Bool",
      "char",
      "signed char",
      "unsigned char",
      "short",
      "unsigned short",
      "int",
      "unsigned int",
      "long",
      "unsigned long",
      "long long",
      "unsigned long long",
      "__int128",
      "unsigned __int128",
      "float",
      "double",
      "long double",
      "void",
      "__builtin_va_list",
      "double _Complex",
      "float _Complex",
      "long double _Complex",
  };
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
    expect_type(ctx, same[i], NULL, same[i]);
  expect_type(ctx, "unsigned", NULL, "unsigned int");
  expect_type(ctx, "long int", NULL, "long");
  expect_type(ctx, "short unsigned int", NULL, "unsigned short");
  expect_type(ctx, "long unsigned long", NULL, "unsigned long long");
  expect_type(ctx, "signed", NULL, "int");
  expect_type(ctx, "_Complex double", NULL, "double _Complex");
  mffi_ctx_free(ctx);
}

Test(print, declarators) {
  mffi_ctx *ctx = parse("struct s; union u; enum e { E0 };"
                        "typedef int (*cmp_fn)(const void *, const void *);");
  expect_type(ctx, "int (*)(void)", NULL, "int (*)(void)");
  expect_type(ctx, "int (*)(void)", "fp", "int (*fp)(void)");
  expect_type(ctx, "const char *", NULL, "const char *");
  expect_type(ctx, "char const *", "s", "const char *s");
  expect_type(ctx, "char *const", NULL, "char *const");
  expect_type(ctx, "char *const", "p", "char *const p");
  expect_type(ctx, "int *restrict", NULL, "int *restrict");
  expect_type(ctx, "const char *const *", "argv", "const char *const *argv");
  expect_type(ctx, "int *volatile *const", "q", "int *volatile *const q");
  expect_type(ctx, "const volatile int", NULL, "const volatile int");
  expect_type(ctx, "int[4]", NULL, "int[4]");
  expect_type(ctx, "int[4]", "a", "int a[4]");
  expect_type(ctx, "int[2][3]", "m", "int m[2][3]");
  expect_type(ctx, "int *[3]", NULL, "int *[3]");
  expect_type(ctx, "int (*)[3]", NULL, "int (*)[3]");
  expect_type(ctx, "int (*)[3]", "pa", "int (*pa)[3]");
  expect_type(ctx, "int (*const)[3]", "pa", "int (*const pa)[3]");
  expect_type(ctx, "int (*(*)(int))(double)", NULL, "int (*(*)(int))(double)");
  expect_type(ctx, "int (*(int))(double)", "f", "int (*f(int))(double)");
  expect_type(ctx, "void (*(*)[2])(int, ...)", "t",
              "void (*(*t)[2])(int, ...)");
  expect_type(ctx, "void (**)(void)", NULL, "void (**)(void)");
  expect_type(ctx, "void (*const *)(void)", NULL, "void (*const *)(void)");
  expect_type(ctx, "int (*)()", NULL, "int (*)()");
  expect_type(ctx, "int (*)(int, ...)", NULL, "int (*)(int, ...)");
  expect_type(ctx, "int (*)(int[3], void (void))", NULL,
              "int (*)(int *, void (*)(void))");
  expect_type(ctx, "cmp_fn", NULL, "int (*)(const void *, const void *)");
  expect_type(ctx, "cmp_fn *", "pp", "int (**pp)(const void *, const void *)");
  expect_type(ctx, "struct s *", NULL, "struct s *");
  expect_type(ctx, "const union u *", NULL, "const union u *");
  expect_type(ctx, "enum e", "x", "enum e x");
  expect_type(ctx, "int (*[4])(void)", NULL, "int (*[4])(void)");
  mffi_ctx_free(ctx);
}

Test(print, typedef_named_anonymous_records) {
  mffi_ctx *ctx = parse("typedef struct { int a; } S, *PS;"
                        "typedef union { int i; float f; } U;"
                        "typedef enum { RED, GREEN } color;");
  expect_type(ctx, "S", NULL, "S");
  expect_type(ctx, "PS", NULL, "S *");
  expect_type(ctx, "const U *", "u", "const U *u");
  expect_type(ctx, "color[2]", NULL, "color[2]");
  expect_decl(ctx, "S", "typedef struct { int a; } S;");
  expect_decl(ctx, "PS", "typedef S *PS;");
  expect_decl(ctx, "U", "typedef union { int i; float f; } U;");
  expect_decl(ctx, "color", "typedef enum { RED = 0, GREEN = 1 } color;");
  mffi_ctx_free(ctx);
}

Test(print, aligned_typedefs) {
  mffi_ctx *ctx = parse("typedef long __attribute__((aligned(4))) long4;"
                        "typedef int int16 __attribute__((aligned(16)));"
                        "typedef long4 long4b;"
                        "typedef const long4 clong4;"
                        "typedef char *cap __attribute__((aligned(16)));"
                        "typedef int a4[4] __attribute__((aligned(32)));");
  /* An override prints by the name of the typedef that made it. */
  expect_type(ctx, "long4", NULL, "long4");
  expect_type(ctx, "long4b", "x", "long4 x");
  expect_type(ctx, "int16 *", NULL, "int16 *");
  expect_type(ctx, "const int16", NULL, "const int16");
  expect_type(ctx, "clong4 *", NULL, "const long4 *");
  expect_decl(ctx, "long4", "typedef long long4 __attribute__((aligned(4)));");
  expect_decl(ctx, "int16", "typedef int int16 __attribute__((aligned(16)));");
  expect_decl(ctx, "long4b", "typedef long4 long4b;");
  expect_decl(ctx, "clong4", "typedef const long4 clong4;");
  expect_decl(ctx, "cap", "typedef char *cap __attribute__((aligned(16)));");
  expect_decl(ctx, "a4", "typedef int a4[4] __attribute__((aligned(32)));");
  mffi_ctx_free(ctx);
}

/* Without a typedef to name it, an override is spelled with __typeof__ so
** that the attribute binds to the type, not to the declared object. */
Test(print, aligned_without_typedef) {
  mffi_ctx *ctx = parse("");
  mffi__tid al, p, c, cp, cpa, arr, arra;
  cr_assert_eq(mffi__tt_aligned(ctx, MFFI_KIND_LONG, 4, &al), MFFI_OK);
  cr_assert_eq(mffi__tt_ptr(ctx, al, &p), MFFI_OK);
  cr_assert_eq(mffi__tt_qual(ctx, al, MFFI_QUAL_CONST, &c), MFFI_OK);
  cr_assert_eq(mffi__tt_ptr(ctx, MFFI_KIND_CHAR, &cp), MFFI_OK);
  cr_assert_eq(mffi__tt_aligned(ctx, cp, 16, &cpa), MFFI_OK);
  cr_assert_eq(mffi__tt_array(ctx, MFFI_KIND_INT, 3, &arr), MFFI_OK);
  cr_assert_eq(mffi__tt_aligned(ctx, arr, 16, &arra), MFFI_OK);
  static const struct {
    int which;
    const char *name, *want;
  } cases[] = {
      {0, NULL, "long __attribute__((aligned(4)))"},
      {0, "x", "__typeof__(long __attribute__((aligned(4)))) x"},
      {1, NULL, "__typeof__(long __attribute__((aligned(4)))) *"},
      {2, NULL, "const long __attribute__((aligned(4)))"},
      {2, "y", "const __typeof__(long __attribute__((aligned(4)))) y"},
      {3, "q", "__typeof__(__typeof__(char *) __attribute__((aligned(16)))) q"},
      {4, "a", "__typeof__(__typeof__(int[3]) __attribute__((aligned(16)))) a"},
  };
  mffi__tid tids[] = {al, p, c, cpa, arra};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    mffi_type_str(mffi_type_byid(ctx, tids[cases[i].which]), cases[i].name, buf,
                  sizeof buf);
    cr_expect_str_eq(buf, cases[i].want);
  }
  mffi_ctx_free(ctx);
}

/* -- Declarations ---------------------------------------------------------- */

Test(print, functions) {
  mffi_ctx *ctx =
      parse("int f(int a, char *b);\n"
            "void g(void);\n"
            "int h();\n"
            "int printf(const char *restrict fmt, ...);\n"
            "int r(void) __asm__(\"real_r\");\n"
            "int (*getcb(int which))(double x);\n"
            "void *xmalloc(unsigned long n) __attribute__((malloc))\n"
            "  __attribute__((alloc_size(1)));\n"
            "int pf(const char *, ...) __attribute__((format(printf, 1, 2)));\n"
            "int acc(char *buf, unsigned long n)\n"
            "  __attribute__((access(write_only, 1, 2), nonnull(1)));\n"
            "void old(void) __attribute__((deprecated(\"use new\")));\n");
  expect_decl(ctx, "f", "int f(int a, char *b);");
  expect_decl(ctx, "g", "void g(void);");
  expect_decl(ctx, "h", "int h();");
  /* Parameters are stored adjusted: top-level qualifiers are gone. */
  expect_decl(ctx, "printf", "int printf(const char *fmt, ...);");
  expect_decl(ctx, "r", "int r(void) __asm__(\"real_r\");");
  expect_decl(ctx, "getcb", "int (*getcb(int which))(double);");
  expect_decl(ctx, "xmalloc",
              "void *xmalloc(unsigned long n) __attribute__((malloc))"
              " __attribute__((alloc_size(1)));");
  expect_decl(ctx, "pf",
              "int pf(const char *, ...) __attribute__((format(printf, 1, "
              "2)));");
  expect_decl(ctx, "acc",
              "int acc(char *buf, unsigned long n) __attribute__((access("
              "write_only, 1, 2))) __attribute__((nonnull(1)));");
  expect_decl(ctx, "old",
              "void old(void) __attribute__((deprecated(\"use new\")));");
  mffi_ctx_free(ctx);
}

Test(print, variables_and_constants) {
  mffi_ctx *ctx = parse("extern int errno_like;\n"
                        "extern const char *const names[];\n"
                        "extern int (*hook)(int);\n"
                        "extern double grid[3][4];\n"
                        "#define SMALL 5\n"
                        "#define NEG (-7)\n"
                        "#define UNS 4000000000u\n"
                        "#define BIG 0xffffffffffffffffUL\n"
                        "#define LNG 5L\n");
  expect_decl(ctx, "errno_like", "extern int errno_like;");
  expect_decl(ctx, "names", "extern const char *const names[];");
  expect_decl(ctx, "hook", "extern int (*hook)(int);");
  expect_decl(ctx, "grid", "extern double grid[3][4];");
  expect_decl(ctx, "SMALL", "#define SMALL 5");
  expect_decl(ctx, "NEG", "#define NEG -7");
  expect_decl(ctx, "UNS", "#define UNS 4000000000U");
  expect_decl(ctx, "BIG", "#define BIG 18446744073709551615UL");
  expect_decl(ctx, "LNG", "#define LNG 5L");
  mffi_ctx_free(ctx);
}

Test(print, tags) {
  mffi_ctx *ctx =
      parse("struct fwd;\n"
            "struct s { int a; unsigned b : 3; unsigned : 0; char c[]; };\n"
            "enum e { A, B = 5, C };\n"
            "union u { struct { int x, y; }; long l; }"
            " __attribute__((aligned(16)));\n"
            "struct p { char c; int i __attribute__((packed)); "
            "long l __attribute__((aligned(16))); } __attribute__((packed));\n"
            "enum big { HUGE = 0xffffffffffffffffUL };\n"
            "enum neg { MINUS = -1, PLUS = 1 };\n");
  expect_decl_at(ctx, 0, "struct fwd;");
  expect_decl_at(ctx, 1,
                 "struct s { int a; unsigned int b : 3; unsigned int : 0; "
                 "char c[]; };");
  expect_decl(ctx, "A", "/* enumerator A = 0 */");
  expect_decl(ctx, "C", "/* enumerator C = 6 */");
  expect_decl(ctx, "HUGE", "/* enumerator HUGE = 18446744073709551615UL */");
  expect_decl(ctx, "MINUS", "/* enumerator MINUS = -1 */");
  /* Enumerators are declarations too: find the tags by scanning. */
  size_t n = mffi_ndecls(ctx);
  int seen = 0;
  char buf[512];
  for (size_t i = 0; i < n; i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    if (mffi_decl_kind_of(d) != MFFI_DECL_TAG) continue;
    mffi_decl_str(d, buf, sizeof buf);
    const char *tag = mffi_decl_name(d);
    if (tag && strcmp(tag, "e") == 0) {
      cr_expect_str_eq(buf, "enum e { A = 0, B = 5, C = 6 };");
      seen++;
    } else if (tag && strcmp(tag, "u") == 0) {
      cr_expect_str_eq(buf, "union u { struct { int x; int y; }; long l; } "
                            "__attribute__((aligned(16)));");
      seen++;
    } else if (tag && strcmp(tag, "p") == 0) {
      cr_expect_str_eq(buf, "struct p { char c; int i __attribute__((packed));"
                            " long l __attribute__((aligned(16))); } "
                            "__attribute__((packed));");
      seen++;
    } else if (tag && strcmp(tag, "big") == 0) {
      cr_expect_str_eq(buf, "enum big { HUGE = 18446744073709551615UL };");
      seen++;
    }
  }
  cr_expect_eq(seen, 4);
  mffi_ctx_free(ctx);
}

/* -- Round trips ----------------------------------------------------------- */

Test(print, round_trip_basics) {
  round_trip("typedef unsigned long size_t;\n"
             "typedef struct _IO_FILE FILE;\n"
             "struct _IO_FILE { int _flags; char *_IO_read_ptr; };\n"
             "extern FILE *stdin;\n"
             "FILE *fopen(const char *restrict path, const char *restrict m);\n"
             "int fclose(FILE *f);\n"
             "size_t fread(void *restrict p, size_t sz, size_t n, FILE *f);\n"
             "int printf(const char *restrict fmt, ...)"
             " __attribute__((format(printf, 1, 2)));\n"
             "int vprintf(const char *fmt, __builtin_va_list ap);\n"
             "#define BUFSIZ 8192\n"
             "#define EOF (-1)\n");
}

Test(print, round_trip_tricky_declarators) {
  round_trip("void (*signal(int sig, void (*handler)(int)))(int);\n"
             "typedef void (*sighandler_t)(int);\n"
             "extern int (*const table[4])(const char *, ...);\n"
             "typedef int matrix[3][3];\n"
             "matrix *identity(void);\n"
             "int (*(*pick)(int))[8];\n"
             "char *const *const argvp;\n"
             "long double _Complex cplx(double _Complex a, float _Complex b);\n"
             "__int128 wide(unsigned __int128 x);\n"
             "_Bool flag(_Bool);\n"
             "int old();\n");
}

Test(print, round_trip_records) {
  round_trip("struct node { struct node *next; int val; };\n"
             "struct bits { unsigned a : 1, b : 7; int : 0; signed c : 4;"
             " _Bool d : 1; };\n"
             "union mix { int i; double d; struct { char lo, hi; } b; };\n"
             "struct anon { int tag; union { int i; float f; };"
             " struct { short x, y; }; };\n"
             "struct flex { unsigned n; double v[]; };\n"
             "struct __attribute__((packed)) pk { char c; int i; };\n"
             "struct al { char c; } __attribute__((aligned(32)));\n"
             "struct mem { char c; int i __attribute__((aligned(8))); };\n"
             "typedef struct { int x, y; } point, *ppoint;\n"
             "typedef union { point p; long l; } pu;\n"
             "struct uses { point p; pu u; ppoint pp; };\n"
             "struct { int only; } single_var;\n"
             "enum color { RED, GREEN = 10, BLUE };\n"
             "typedef enum { OFF, ON } sw;\n"
             "enum { ANON_A = 1, ANON_B = 2 };\n"
             "enum wide { W0 = -1, W1 = 0x7fffffffffffffffL };\n"
             "enum uwide { U0 = 0, U1 = 0x8000000000000000UL };\n"
             "enum __attribute__((packed)) small { S0, S1 };\n"
             "struct fwd;\n"
             "struct fwd *getfwd(void);\n");
}

Test(print, round_trip_aligned) {
  round_trip("typedef long __attribute__((aligned(4))) long4;\n"
             "typedef int int16 __attribute__((aligned(16)));\n"
             "struct a { char c; long4 l; int16 i; const long4 *p; };\n"
             "void takes(long4 x, int16 *y);\n");
}

Test(print, integer_limits) {
  mffi_ctx *ctx = parse("#define IMIN (-2147483647 - 1)\n"
                        "#define LMIN (-9223372036854775807L - 1)\n"
                        "#define UMAX 4294967295U\n"
                        "#define U64 0x8000000000000000UL\n"
                        "#define CH 'a'\n"
                        "enum lo { LO_MIN = -9223372036854775807L - 1,"
                        " LO_MAX = 9223372036854775807L };\n");
  expect_decl(ctx, "IMIN", "#define IMIN (-2147483647 - 1)");
  expect_decl(ctx, "LMIN", "#define LMIN (-9223372036854775807L - 1)");
  expect_decl(ctx, "UMAX", "#define UMAX 4294967295U");
  expect_decl(ctx, "U64", "#define U64 9223372036854775808UL");
  expect_decl(ctx, "CH", "#define CH 97");
  expect_decl(ctx, "LO_MIN",
              "/* enumerator LO_MIN = (-9223372036854775807L - 1) */");
  expect_decl(ctx, "LO_MAX", "/* enumerator LO_MAX = 9223372036854775807 */");
  mffi_ctx_free(ctx);
  round_trip("#define IMIN (-2147483647 - 1)\n"
             "#define LMIN (-9223372036854775807L - 1)\n"
             "enum lo { LO_MIN = -9223372036854775807L - 1 };\n");
}

/* GCC resolves malloc(dealloc) where it is written, so a function that is
** its own deallocator (glibc's reallocarray) gets it on a redeclaration. */
Test(print, self_deallocator) {
  const char *src =
      "void *ra(void *p, unsigned long n)"
      " __attribute__((malloc(__builtin_free, 1)));\n"
      "void *ra(void *p, unsigned long n) __attribute__((malloc(ra, 1)));\n";
  mffi_ctx *ctx = parse(src);
  expect_decl(ctx, "ra",
              "void *ra(void *p, unsigned long n) "
              "__attribute__((malloc(__builtin_free, 1))); "
              "void *ra(void *p, unsigned long n) "
              "__attribute__((malloc(ra, 1)));");
  mffi_ctx_free(ctx);
  round_trip(src);
}

/* Deep types: the printer recurses, so past its limit (200 levels) the inner
** part prints as "..."; never silently fewer stars, never a stack overflow,
** however long the chain (100,000 stars). Shallower types print whole and
** parse back to themselves. */
Test(print, deep_declarators) {
  mffi_ctx *ctx = parse("int x;");
  size_t sizes[] = {150, 250, 60000}; /* A declarator takes 65536 steps. */
  for (size_t k = 0; k < 3; k++) {
    size_t n = sizes[k];
    char *expr = malloc(n + 8);
    cr_assert_not_null(expr);
    strcpy(expr, "int ");
    memset(expr + 4, '*', n);
    expr[4 + n] = '\0';
    char *got = type_str(ctx, expr, "p");
    size_t stars = 0;
    for (const char *c = got; *c; c++)
      stars += *c == '*';
    if (n <= 190) {
      char *want = malloc(n + 8);
      snprintf(want, n + 8, "int %sp", expr + 4);
      cr_expect_str_eq(got, want);
      free(want);
      const mffi_type *a, *b;
      cr_assert_eq(mffi_typeof(ctx, expr, &a), MFFI_OK);
      char *bare = type_str(ctx, expr, NULL);
      cr_assert_eq(mffi_typeof(ctx, bare, &b), MFFI_OK, "%s", bare);
      cr_expect_eq(a, b, "round trip");
      free(bare);
    } else {
      cr_expect(strncmp(got, "int ...*", 8) == 0, "%.40s", got);
      cr_expect_leq(stars, 201);
      cr_expect_geq(stars, 190);
      cr_expect_eq(got[strlen(got) - 1], 'p');
    }
    free(got);
    free(expr);
  }
  /* A pointer to an array, deep: the suffix is cut the same way. */
  char expr[1024] = "int (";
  size_t n = strlen(expr);
  memset(expr + n, '*', 300);
  strcpy(expr + n + 300, ")[3]");
  char *got = type_str(ctx, expr, NULL);
  cr_expect(strncmp(got, "int ...*", 8) == 0, "%.40s", got);
  cr_expect_eq(got[strlen(got) - 1], '.', "the cut suffix: %s",
               got + strlen(got) - 10);
  free(got);
  mffi_ctx_free(ctx);
}

/* ms_abi is part of a function type: wherever GCC takes the attribute
** (specifiers, after the declarator, the start of a nested declarator, a
** pointer to the function), it lands on the function type, is printed
** where GCC reads it back, and makes a type of its own. */
Test(print, ms_abi_function_types) {
  mffi_ctx *ctx =
      parse("typedef int (__attribute__((ms_abi)) *p2)(int);"
            "typedef int (*p1)(int) __attribute__((ms_abi));"
            "typedef int __attribute__((ms_abi)) f1(int);"
            "int __attribute__((__ms_abi__)) g(int, double);"
            "int h(int) __attribute__((sysv_abi));"
            "extern int (__attribute__((ms_abi)) *arr[3])(int);"
            "void reg(int (__attribute__((ms_abi)) *cb)(int));"
            "extern int (*(__attribute__((ms_abi)) *ret_ms)(void))(int);"
            "struct S { int (__attribute__((ms_abi)) *cb)(int); };"
            "typedef p2 __attribute__((sysv_abi)) back;");
  expect_decl(ctx, "p2", "typedef int (__attribute__((ms_abi)) *p2)(int);");
  expect_decl(ctx, "p1", "typedef int (__attribute__((ms_abi)) *p1)(int);");
  expect_decl(ctx, "f1", "typedef int __attribute__((ms_abi)) f1(int);");
  expect_decl(ctx, "g", "int __attribute__((ms_abi)) g(int, double);");
  expect_decl(ctx, "h", "int h(int);");
  expect_decl(ctx, "arr", "extern int (__attribute__((ms_abi)) *arr[3])(int);");
  expect_decl(ctx, "reg", "void reg(int (__attribute__((ms_abi)) *cb)(int));");
  expect_decl(ctx, "ret_ms",
              "extern int (*(__attribute__((ms_abi)) *ret_ms)(void))(int);");
  expect_decl(ctx, "back", "typedef int (*back)(int);");
  expect_type(ctx, "f1", NULL, "int __attribute__((ms_abi)) (int)");
  const mffi_type *a, *b, *c, *d;
  cr_assert_eq(mffi_typeof(ctx, "p1", &a), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "f1 *", &b), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "int (*)(int)", &c), MFFI_OK);
  cr_assert_eq(mffi_typeof(ctx, "p2", &d), MFFI_OK);
  cr_expect(a == b && a == d, "one ms_abi pointer type");
  cr_expect(a != c, "ms_abi and the default are different types");
  cr_expect_eq(mffi_type_callconv(mffi_type_target(a)), MFFI_CC_MS_ABI);
  cr_expect_eq(mffi_type_callconv(mffi_type_target(c)), MFFI_CC_DEFAULT);
  cr_expect_eq(mffi_type_callconv(a), MFFI_CC_DEFAULT, "a pointer has none");
  cr_expect_eq(mffi_type_callconv(NULL), MFFI_CC_DEFAULT);
  cr_expect_eq(mffi_type_callconv(mffi_decl_type(mffi_decl_find(ctx, "g"))),
               MFFI_CC_MS_ABI);
  /* A redeclaration in the other convention conflicts, as in C. */
  const char *redecl = "int g(int, double);";
  cr_expect_eq(mffi_cdef(ctx, redecl, strlen(redecl)), MFFI_EDECL);
  mffi_ctx_free(ctx);
  round_trip("int __attribute__((ms_abi)) g(int, double, ...);"
             "typedef void (__attribute__((ms_abi)) *const cp)(void);"
             "struct S { int (__attribute__((ms_abi)) *cb)(int); };");
}
