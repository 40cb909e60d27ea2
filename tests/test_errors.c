/* Tests of mffi_cdef and mffi_typeof on malformed input. See LICENSE. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"

/* Each row: an input, the code, the position of the offending token (LINE
** and COL 1-based, COL in bytes) and what the message must say. The message
** format is "LINE:COL: MESSAGE near 'TOKEN'" or "LINE:COL: MESSAGE at end
** of input"; mffi_erroffset() is the byte offset of LINE:COL. */
typedef struct err_row {
  int kind;         /* K_CDEF or K_TYPEOF: which call gets src. */
  const char *src;  /* The input. */
  int rc;           /* Expected return code. */
  int line, col;    /* Expected position; 0, 0: not checked. */
  const char *near; /* Token quoted after "near", END, or NULL: unchecked. */
  const char *sub;  /* A substring the message must contain. */
  const char *what; /* What the row tests. */
} err_row;

enum { K_CDEF, K_TYPEOF };
static const char END[] = "<end of input>";

static const err_row rows[] = {
    /* Complex modes go on complex types only, as gcc says. */
    {K_CDEF, "typedef float __attribute__((mode(SC))) x;", MFFI_EDECL, 1, 41,
     "x", "mode 'SC' applied to inappropriate type", "complex mode on float"},
    {K_CDEF, "typedef _Complex float x __attribute__((mode(SF)));", MFFI_EDECL,
     1, 24, "x", "mode 'SF' applied to inappropriate type",
     "scalar mode on a complex type"},
    {K_CDEF, "struct s { struct s { int a; }; };", MFFI_EDECL, 1, 8, "s",
     "nested redefinition of 'struct s'", "a struct redefined inside itself"},
    {K_CDEF, "_Static_assert(sizeof(int) == 8, \"int is 8\");", MFFI_EDECL, 1,
     1, "_Static_assert", "static assertion failed: \"int is 8\"",
     "a failing _Static_assert"},
    {K_CDEF, "restrict int x;", MFFI_EDECL, 1, 1, "restrict",
     "invalid use of 'restrict'", "restrict on a non-pointer"},
    {K_CDEF, "int a[*];", MFFI_EDECL, 1, 7, "*", "prototype scope",
     "[*] outside a prototype"},
    {K_CDEF, "int a\nint b;", MFFI_EPARSE, 2, 1, "int", "expected ';'",
     "missing ';' between declarations"},
    {K_CDEF, "int a", MFFI_EPARSE, 1, 6, END, "expected ';'",
     "missing ';' at the end"},
    {K_CDEF, "struct s { int a;", MFFI_EPARSE, 1, 18, END, "expected",
     "unclosed brace"},
    {K_CDEF, "struct s { int a; }};", MFFI_EPARSE, 1, 20, "}", "expected",
     "extra closing brace"},
    {K_CDEF, "int f(int a;", MFFI_EPARSE, 1, 12, ";", "expected ')'",
     "unclosed parenthesis"},
    {K_CDEF, "int (*fp)(int));", MFFI_EPARSE, 1, 15, ")", "expected",
     "extra closing parenthesis"},
    {K_CDEF, "void f(foo_t x);", MFFI_EPARSE, 1, 8, "foo_t",
     "unknown type name", "unknown type name in a parameter"},
    {K_CDEF, "foo_t x;", MFFI_EPARSE, 1, 1, "foo_t", "unknown type name",
     "unknown type name at file scope"},
    {K_CDEF, "struct s { uint32 x; };", MFFI_EPARSE, 1, 12, "uint32",
     "unknown type name", "unknown type name of a member"},
    {K_CDEF, "struct s { int a; };\nstruct s { int b; };", MFFI_EDECL, 2, 8,
     "s", "redefinition", "redefinition of a struct"},
    {K_CDEF, "enum e { A };\nenum e { B };", MFFI_EDECL, 2, 6, "e",
     "redefinition", "redefinition of an enum"},
    {K_CDEF, "struct s;\nunion s { int a; };", MFFI_EDECL, 2, 7, "s", "",
     "tag used for struct and union"},
    {K_CDEF, "typedef int t;\ntypedef long t;", MFFI_EDECL, 2, 14, "t",
     "conflicting", "conflicting typedef"},
    {K_CDEF, "int f(int);\nlong f(int);", MFFI_EDECL, 2, 6, "f", "conflicting",
     "conflicting return types"},
    {K_CDEF, "int f(int);\nint f(char *);", MFFI_EDECL, 2, 5, "f",
     "conflicting", "conflicting parameter types"},
    {K_CDEF, "extern int v;\nextern long v;", MFFI_EDECL, 2, 13, "v",
     "conflicting", "conflicting variable types"},
    {K_CDEF, "typedef int f;\nint f(void);", MFFI_EDECL, 2, 5, "f", "",
     "typedef redeclared as a function"},
    {K_CDEF, "extern int X;\nenum { X };", MFFI_EDECL, 2, 8, "X", "",
     "variable redeclared as an enumerator"},
    {K_CDEF, "struct inc;\nstruct s { struct inc x; };", MFFI_EDECL, 2, 23, "x",
     "incomplete", "member of incomplete type"},
    {K_CDEF, "typedef int fa[3](void);", MFFI_EDECL, 1, 15, "[",
     "array of functions", "array of functions"},
    {K_CDEF, "int g(void)[3];", MFFI_EDECL, 1, 6, "(", "returning an array",
     "function returning an array"},
    {K_CDEF, "int h(void)(int);", MFFI_EDECL, 1, 6, "(", "returning a function",
     "function returning a function"},
    {K_CDEF, "int a[-1];", MFFI_EDECL, 1, 7, "-", "is negative",
     "negative array size"},
    {K_CDEF, "struct s { char c : 9; };", MFFI_EDECL, 1, 17, "c", "width",
     "bit-field wider than its type"},
    {K_CDEF, "struct s { int a : -1; };", MFFI_EDECL, 1, 18, ":",
     "negative width", "negative bit-field width"},
    {K_CDEF, "struct s { int a : 0; };", MFFI_EDECL, 1, 16, "a", "zero width",
     "named zero-width bit-field"},
    {K_CDEF, "struct s { float f : 3; };", MFFI_EDECL, 1, 18, "f",
     "non-integer type", "bit-field of non-integer type"},
    {K_CDEF, "enum { A = 1 / 0 };", MFFI_EDECL, 1, 14, "/", "division by zero",
     "division by zero"},
    {K_CDEF, "enum { A = 5 % (2 - 2) };", MFFI_EDECL, 1, 14, "%",
     "division by zero", "remainder by zero"},
    {K_CDEF, "enum { A = 0xffffffffffffffff, B };", MFFI_ERANGE, 1, 32, "B",
     "overflow", "enumerator overflows 64 bits"},
    {K_CDEF, "enum { A = 0x10000000000000000 };", MFFI_ERANGE, 1, 12,
     "0x10000000000000000", "too large", "integer literal beyond 64 bits"},
    {K_CDEF, "struct s { int a; long a; };", MFFI_EDECL, 1, 24, "a",
     "duplicate member", "duplicate member"},
    {K_CDEF, "struct s { int a; struct { int a; }; };", MFFI_EDECL, 1, 19,
     "struct", "duplicate member", "duplicate member via an anonymous struct"},
    {K_CDEF, "enum e { X, Y, X };", MFFI_EDECL, 1, 16, "X", "redeclaration",
     "duplicate enumerator"},
    {K_CDEF, "int f(int a, int a);", MFFI_EDECL, 1, 18, "a", "",
     "duplicate parameter name"},
    {K_CDEF, "struct s { int n; char d[]; int m; };", MFFI_EDECL, 1, 24, "d",
     "flexible array", "flexible array not last"},
    {K_CDEF, "struct s { char d[]; };", MFFI_EDECL, 1, 17, "d",
     "flexible array", "flexible array alone"},
    {K_CDEF, "void v;", MFFI_EDECL, 1, 6, "v", "void", "void variable"},
    {K_CDEF, "struct s { void x; };", MFFI_EDECL, 1, 17, "x", "incomplete",
     "void member"},
    {K_CDEF, "int f(void, int);", MFFI_EDECL, 1, 7, "void", "void",
     "void among other parameters"},
    {K_CDEF, "int a; /* oops", MFFI_EPARSE, 1, 8, "/", "unterminated comment",
     "unterminated comment"},
    {K_CDEF, "int f(void) __asm__(\"abc);", MFFI_EPARSE, 1, 21, "\"",
     "missing terminating", "unterminated string"},
    {K_CDEF, "int a @;", MFFI_EPARSE, 1, 7, "@", "unexpected character",
     "bad character"},
    {K_CDEF, "int a\001;", MFFI_EPARSE, 1, 6, NULL, "unexpected",
     "control byte"},
    {K_CDEF, "struct inc;\nenum { A = sizeof(struct inc) };", MFFI_EDECL, 2, 12,
     "sizeof", "incomplete", "sizeof of an incomplete type"},
    {K_CDEF, "int f(void) __attribute__((pure);", MFFI_EPARSE, 1, 13,
     "__attribute__", "unbalanced __attribute__", "unbalanced __attribute__"},
    {K_CDEF, "int f(void) __attribute__((pure)", MFFI_EPARSE, 1, 13,
     "__attribute__", "unbalanced __attribute__", "__attribute__ cut short"},
    {K_CDEF, "typedef int double;", MFFI_EPARSE, 1, 13, "double",
     "two or more data types", "type keyword used as a name"},
    {K_CDEF, "int struct;", MFFI_EPARSE, 1, 5, "struct",
     "two or more data types", "struct keyword used as a name"},
    {K_CDEF, "int while;", MFFI_EPARSE, 1, 5, "while", "",
     "statement keyword used as a name"},
    {K_CDEF, "extern static int x;", MFFI_EPARSE, 1, 8, "static",
     "multiple storage classes", "two storage classes"},
    {K_CDEF, "typedef extern int x;", MFFI_EPARSE, 1, 9, "extern",
     "multiple storage classes", "typedef and extern"},
    {K_CDEF, "long long long x;", MFFI_EPARSE, 1, 11, "long", "too long",
     "long long long"},
    {K_CDEF, "signed float x;", MFFI_EPARSE, 1, 8, "float",
     "with a non-integer type", "signed float"},
    {K_CDEF, "unsigned double d;", MFFI_EPARSE, 1, 10, "double",
     "with a non-integer type", "unsigned double"},
    {K_CDEF, "short char c;", MFFI_EPARSE, 1, 7, "char", "with 'char'",
     "short char"},
    {K_CDEF, "int f(int, );", MFFI_EPARSE, 1, 12, ")", "expected",
     "missing parameter after a comma"},
    {K_CDEF, "int f(, int);", MFFI_EPARSE, 1, 7, ",", "expected",
     "missing parameter before a comma"},
    {K_CDEF, "int a;\n\n\tint b c;", MFFI_EPARSE, 3, 8, "c", "expected",
     "error on line 3 after a tab"},
    {K_CDEF, "int a;\n/* \303\251 */ int @;", MFFI_EPARSE, 2, 14, "@",
     "unexpected character", "column in bytes after UTF-8"},
    {K_CDEF, "int a;\r\nint b c;", MFFI_EPARSE, 2, 7, "c", "expected",
     "CRLF line ends"},
    {K_CDEF, "#define A 1\n#define B 2\nint x y;", MFFI_EPARSE, 3, 7, "y",
     "expected", "error after #define lines"},
    {K_CDEF, "int a[1.5];", MFFI_EUNSUPPORTED, 1, 7, "1.5", "floating constant",
     "floating constant as array size"},
    {K_CDEF, "extern int n;\nint a[n];", MFFI_EDECL, 2, 7, "n", "constant",
     "non-constant array size"},
    {K_CDEF, "int a[0x7fffffffffffffff];", MFFI_ERANGE, 1, 7,
     "0x7fffffffffffffff", "too large", "array too large"},
    {K_CDEF,
     "struct big { long a[0x0800000000000000]; long b[0x0800000000000000]; };",
     MFFI_ERANGE, 1, 20, "[", "too large", "array too large (2^62 bytes)"},
    {K_CDEF,
     "struct big { long a[0x0080000000000000]; long b[0x0080000000000000];"
     " long c[0x0080000000000000]; };",
     MFFI_ERANGE, 1, 75, "c", "too large", "struct too large (3 * 2^58 bytes)"},
    {K_CDEF, "typedef int t __attribute__((aligned(0x100000000)));", MFFI_EDECL,
     1, 13, "t", "exceeds", "alignment too large (a power of 2)"},
    {K_CDEF, "typedef int t = 3;", MFFI_EDECL, 1, 15, "=", "initialized",
     "typedef with an initializer"},
    {K_CDEF, "struct s { int a : 3 : 4; };", MFFI_EPARSE, 1, 22, ":",
     "expected", "two bit-field widths"},
    {K_CDEF, "enum { A = };", MFFI_EPARSE, 1, 12, "}", "expected expression",
     "enumerator without value"},
    {K_CDEF, "enum { A B };", MFFI_EPARSE, 1, 10, "B", "expected",
     "enumerators without comma"},
    {K_CDEF, "int a[3;", MFFI_EPARSE, 1, 8, ";", "expected ']'",
     "unclosed bracket"},
    {K_CDEF, "int (*)(int);", MFFI_EPARSE, 1, 7, ")", "expected",
     "abstract declarator at file scope"},
    {K_CDEF, "static inline int f(void) { return 0;", MFFI_EPARSE, 1, 27, "{",
     "unbalanced '{'", "unclosed function body"},
    {K_CDEF, "_Static_assert(1, \"x\";", MFFI_EPARSE, 1, 15, "(",
     "unbalanced '('", "unclosed _Static_assert"},
    {K_CDEF, "\"abc\" x;", MFFI_EPARSE, 1, 1, "\"abc\"", "",
     "string where a declaration belongs"},
    {K_TYPEOF, "foo_t", MFFI_ENOTFOUND, 1, 1, "foo_t", "foo_t",
     "unknown typedef name"},
    {K_TYPEOF, "size_t *", MFFI_ENOTFOUND, 1, 1, "size_t", "size_t",
     "typedef not declared in this context"},
    {K_TYPEOF, "struct s *x", MFFI_EPARSE, 1, 11, "x", "",
     "declarator name in a type name"},
    {K_TYPEOF, "int *)", MFFI_EPARSE, 1, 6, ")", "",
     "extra parenthesis in a type name"},
    {K_TYPEOF, "", MFFI_EPARSE, 1, 1, END, "", "empty type name"},
    {K_TYPEOF, "int [3", MFFI_EPARSE, 1, 7, END, "expected ']'",
     "unclosed bracket in a type name"},
    {K_TYPEOF, "int, char", MFFI_EPARSE, 1, 4, ",", "", "two type names"},
    {K_TYPEOF, "int (void)[2]", MFFI_EDECL, 0, 0, NULL, "returning an array",
     "function returning an array"},
    {K_TYPEOF, "long long long", MFFI_EPARSE, 1, 11, "long", "too long",
     "long long long in a type name"},
};

/* src with control bytes escaped, for failure messages. */
static const char *show(const char *src, char *buf, size_t n) {
  size_t j = 0;
  for (const char *p = src; *p && j + 5 < n; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\n')
      j += (size_t)snprintf(buf + j, n - j, "\\n");
    else if (c == '\t')
      j += (size_t)snprintf(buf + j, n - j, "\\t");
    else if (c == '\r')
      j += (size_t)snprintf(buf + j, n - j, "\\r");
    else if (c < 32)
      j += (size_t)snprintf(buf + j, n - j, "\\x%02x", c);
    else
      buf[j++] = (char)c;
  }
  buf[j] = '\0';
  return buf;
}

/* Byte offset of line:col in src. */
static long offset_of(const char *src, int line, int col) {
  long off = 0;
  for (int l = 1; l < line; l++) {
    const char *nl = strchr(src + off, '\n');
    if (!nl) return -2;
    off = nl - src + 1;
  }
  return off + col - 1;
}

/* Parameters are indexes into the static tables: the test runs in a fresh
** process image (another address layout), so pointers would not survive. */
static void free_params(struct criterion_test_params *ctp) {
  cr_free(ctp->params);
}

static struct criterion_test_params indexes(size_t n) {
  size_t *idx = cr_malloc(n * sizeof *idx);
  for (size_t i = 0; idx && i < n; i++)
    idx[i] = i;
  return cr_make_param_array(size_t, idx, idx ? n : 0, free_params);
}

ParameterizedTestParameters(errors, table) {
  return indexes(sizeof rows / sizeof rows[0]);
}

ParameterizedTest(size_t *ri, errors, table) {
  const err_row *r = &rows[*ri];
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  int rc;
  const mffi_type *t = (const mffi_type *)&rc; /* Must become NULL. */
  if (r->kind == K_CDEF)
    rc = mffi_cdef(ctx, r->src, strlen(r->src));
  else
    rc = mffi_typeof(ctx, r->src, &t);
  const char *msg = mffi_errmsg(ctx);
  long off = mffi_erroffset(ctx);
  char in[512];
  show(r->src, in, sizeof in);
  char head[1024];
  snprintf(head, sizeof head,
           "%s\n  input:  \"%s\"\n  actual: %s, offset %ld, \"%s\"", r->what,
           in, mffi_errname(rc), off, msg);

  cr_expect_str_eq(mffi_errname(rc), mffi_errname(r->rc), "%s", head);
  cr_expect(eq(int, mffi_errcode(ctx), rc), "%s", head);
  if (r->kind == K_TYPEOF)
    cr_expect(t == NULL, "%s\n  *out not NULL on failure", head);
  if (r->line > 0) {
    char want[32];
    snprintf(want, sizeof want, "%d:%d: ", r->line, r->col);
    cr_expect(strncmp(msg, want, strlen(want)) == 0,
              "%s\n  expected the position %s", head, want);
    cr_expect(eq(long, off, offset_of(r->src, r->line, r->col)),
              "%s\n  expected the offset of %d:%d", head, r->line, r->col);
  }
  cr_expect(strstr(msg, r->sub) != NULL, "%s\n  expected text: \"%s\"", head,
            r->sub);
  if (r->near == END) {
    cr_expect(strstr(msg, " at end of input") != NULL,
              "%s\n  expected \"at end of input\"", head);
  } else if (r->near) {
    char want[128];
    snprintf(want, sizeof want, " near '%s'", r->near);
    cr_expect(strstr(msg, want) != NULL, "%s\n  expected \"%s\"", head, want);
  }
  /* The context stays usable. */
  cr_expect(eq(int, mffi_cdef(ctx, "int still_ok;", 13), MFFI_OK), "%s", head);
  cr_expect_str_eq(mffi_errmsg(ctx), "", "%s", head);
  mffi_ctx_free(ctx);
}

/* -- Hostile inputs: any result but a clean one is a bug ------------------- */

/* Inputs near the limits of the arithmetic and the layout code. Each may
** succeed or fail, but must not crash, hit undefined behaviour (run under
** UBSan) or fail without a message. */
static const char *hostile[] = {
    "enum { A = 1 << 64 };",
    "enum { A = 1 << 63 };",
    "enum { A = 1 << -1 };",
    "enum { A = 1 >> 64 };",
    "enum { A = -1 << 3 };",
    "enum { A = 1u << 32 };",
    "enum { A = 1ull << 200 };",
    "enum { A = (-9223372036854775807LL - 1) / -1 };",
    "enum { A = (-9223372036854775807LL - 1) % -1 };",
    "enum { A = -(-9223372036854775807LL - 1) };",
    "enum { A = 9223372036854775807LL + 1 };",
    "enum { A = 9223372036854775807LL * 2 };",
    "enum { A = -9223372036854775807LL - 2 };",
    "enum { A = 0x7fffffffffffffff, B, C };",
    "enum { A = 18446744073709551615u / 0 };",
    "enum { A = 2147483647 + 1 };",
    "enum { A = (int)-2147483648 / -1 };",
    "enum { A = ~0ull >> 63 };",
    "enum { A = (char)128, B = (short)-32769 };",
    "enum { A = '\\777' };",
    "enum { A = '\\xfffffffff' };",
    "enum { A = 'abcde' };",
    "enum { A = '' };",
    "enum { A = sizeof(char[0x7fffffffffffffff]) };",
    "enum { A = sizeof(char[0x7fffffffffffffff][4]) };",
    "enum { A = sizeof(void) };",
    "enum { A = sizeof(int (void)) };",
    "int a[0xffffffffffffffff];",
    "int a[0x7fffffffffffffff][0x7fffffffffffffff];",
    "int a[0x4000000000000000];",
    "struct s { char a[0x7fffffffffffffff]; int b; };",
    "union u { char a[0xffffffffffffffff]; };",
    "struct s { long long x : 65; };",
    "struct s { char a : 4294967297; };",
    "struct s { int a : 18446744073709551615; };",
    "struct s { _Bool b : 2; };",
    "#define X 1 / 0\nint y;",
    "#define Y (\nint y;",
    "#define Z (1 ? 2)\nint y;",
    "#define W 99999999999999999999999\nint y;",
    "#define\nint y;",
    "#define 3 4\nint y;",
    "typedef int t __attribute__((aligned(3)));",
    "typedef int t __attribute__((aligned(0)));",
    "typedef int t __attribute__((aligned(0x100000000)));",
    "typedef int t __attribute__((aligned(-1)));",
    "typedef int t __attribute__((aligned(1ull << 63)));",
    "struct __attribute__((aligned(1 << 30))) s { char c; };",
    "struct s { char c __attribute__((aligned(1 << 29))); char d[3]; };",
    "struct __attribute__((packed, aligned(8))) s { char c; long l : 63; };",
    "int f(int x[-1]);",
    "int f(int x[0xffffffffffffffff]);",
    "extern char big[0xfffffffffffffff][16];",
    "typedef char big_t[0x1000000000000000]; typedef big_t bigger_t[16];",
    "int f() __attribute__((nonnull(0, -1, 99999999999)));",
    "int f() __attribute__((format(printf, \"x\")));",
    "int f() __attribute__((((((x))))));",
    "int f() __attribute__((x(((((1)))))));",
    "int f() __attribute__((x(,,)));",
    "int f() __asm__(\"\");",
    "int f() __asm__(\"a\" \"b\" L\"c\");",
    "int f() __asm__(\"\\0hidden\");",
    "_Static_assert(0, \"fails\");",
    "_Static_assert(1 / 0, \"x\");",
    "__typeof__(1 + 2) x;",
    "__typeof__(undeclared) x;",
    "typedef __typeof__(__typeof__(int)) t;",
    "struct s { struct s x; };",
    "struct s { struct s *x[0x7fffffffffffffff]; };",
    "union u { union u; };",
    "enum e { A = sizeof(enum e) };",
    "struct s { int a[sizeof(struct s)]; };",
    "int f(struct s { int a; } x);",
    "int f(enum { PA, PB } x); enum { PC = PB };",
    "struct { int a; };",
    "struct s { int; };",
    "struct s { struct { int a; }; struct { int a; }; };",
    ";;;;",
    "int;",
    "typedef;",
    "extern;",
    "__extension__;",
    "__extension__ __extension__ int x;",
    "__attribute__((x));",
    "int x __attribute__((cleanup(f))) = 3;",
    "int x = 3;",
    "static const int x = 3;",
    "int f(void) { return 0; } int g(void) { }",
    "int f(void) { { { { { } } } } }",
    "int f(void) { \"}\" '}' /* } */ }",
    "int f(void) }",
    "int f(void) {",
    "int f(...);",
    "int f(int, ..., int);",
    "int f(void, ...);",
    "int f(register int a, auto int b);",
    "_Thread_local int tls; __thread int tls2;",
    "_Atomic int ai; _Atomic(int) ai2;",
    "_Noreturn void die(void);",
    "_Alignas(16) int al16; _Alignas(long) char alc;",
    "struct s { _Alignas(32) char c; };",
    "int a[*];",
    "int f(int n, int a[n]);",
    "int f(int n, int a[static n]);",
    "int f(int a[const restrict static 3]);",
    "int __builtin_offsetof;",
    "enum { A = __builtin_offsetof(struct nosuch, x) };",
    "struct p { int a, b; }; enum { OB = __builtin_offsetof(struct p, b) };",
    "L\"wide\" x;",
    "int \xff\xfe;",
    "int a\xc3\xa9;",
    "\\",
    "#",
    "#define",
    "# 1",
    "/",
    "/*",
    "//",
    "\"",
    "'",
    "'\\",
    "0x",
    "1e",
    "1.e+",
    ".",
    "...",
    "int f(int (*(*(*)(int))(int))(int));",
    "typedef int (*const *volatile restrict p)[3][4];",
    "long double _Complex x; _Complex y; _Complex int z;",
    "__int128 a; unsigned __int128 b; __int128_t c; __uint128_t d;",
    "__float80 a; __float128 b; _Float16 c;",
    "signed char a; unsigned char b; char c; signed d; unsigned e;",
    "int volatile const restrict *x;",
    "restrict int x;",
    "int *restrict *restrict *restrict x;",
    "void (*a[3])(void); void (*(*b)[3])(void);",
    "int f(int a[3][4][5]);",
    "int f(int (a));",
    "int f(int (*a)[3]);",
    "typedef int T; int f(T T);",
    "typedef int T; int f(int (T));",
    "typedef int T; struct s { T T; };",
    "typedef int T; void f(void) __attribute__((T));",
};

ParameterizedTestParameters(errors, hostile) {
  return indexes(sizeof hostile / sizeof hostile[0]);
}

/* Check that rc is a clean result of mffi_cdef on src. */
static void check_clean(mffi_ctx *ctx, int rc, const char *src, size_t len) {
  char in[256];
  show(src, in, sizeof in);
  cr_expect(rc == MFFI_OK || (rc < 0 && strcmp(mffi_errname(rc), "?") != 0),
            "bad code %d for \"%s\"", rc, in);
  if (rc == MFFI_OK) {
    cr_expect_str_eq(mffi_errmsg(ctx), "", "\"%s\"", in);
    return;
  }
  cr_expect(mffi_errmsg(ctx)[0] != '\0', "%s without a message for \"%s\"",
            mffi_errname(rc), in);
  long off = mffi_erroffset(ctx);
  cr_expect(off >= -1 && off <= (long)len,
            "offset %ld out of [-1, %zu]: \"%s\"", off, len, in);
}

ParameterizedTest(size_t *hi, errors, hostile) {
  const char *src = hostile[*hi];
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  size_t len = strlen(src);
  int rc = mffi_cdef(ctx, src, len);
  check_clean(ctx, rc, src, len);
  /* Declarations made so far can be printed and sized. */
  for (size_t i = 0; i < mffi_ndecls(ctx); i++) {
    char buf[64];
    const mffi_decl *d = mffi_decl_at(ctx, i);
    mffi_decl_str(d, buf, sizeof buf);
    mffi_sizeof(mffi_decl_type(d));
  }
  cr_expect(eq(int, mffi_cdef(ctx, "int still_ok;", 13), MFFI_OK));
  mffi_ctx_free(ctx);
}

/* pre, n copies of a, mid, n copies of b, post: a deeply nested input.
** The caller frees it. */
static char *nest(const char *pre, const char *a, const char *mid,
                  const char *b, const char *post, size_t n) {
  size_t lp = strlen(pre), la = strlen(a), lm = strlen(mid), lb = strlen(b);
  size_t lq = strlen(post);
  char *s = malloc(lp + n * (la + lb) + lm + lq + 1);
  cr_assert(s != NULL);
  char *p = s;
  memcpy(p, pre, lp);
  p += lp;
  for (size_t i = 0; i < n; i++, p += la)
    memcpy(p, a, la);
  memcpy(p, mid, lm);
  p += lm;
  for (size_t i = 0; i < n; i++, p += lb)
    memcpy(p, b, lb);
  memcpy(p, post, lq + 1);
  return s;
}

typedef struct deep_row {
  const char *pre, *a, *mid, *b, *post;
} deep_row;

static const deep_row deep[] = {
    {"", "(", "int x", ")", ";"},  /* Rejected: not a declaration. */
    {"int ", "(", "x", ")", ";"},  /* Parenthesised declarators. */
    {"int ", "*", "x", "", ";"},   /* Pointer chains. */
    {"int ", "", "x", "[1]", ";"}, /* Array chains. */
    {"", "struct s { ", "int x;", " } y;", ""}, /* Nested definitions. */
    {"enum { A = ", "(", "1", ")", " };"},      /* Parenthesised expressions. */
    {"enum { A = ", "-", "1", "", " };"},       /* Unary chains. */
    {"enum { A = ", "1 + ", "1", "", " };"},    /* Long binary chains. */
    {"enum { A = ", "1 ? ", "1", " : 0", " };"},
    {"enum { A = ", "sizeof(", "int", ")", " };"},
    {"int f(", "int (*", "", ")(int)", ");"},
    {"int f(void) { ", "{", "", "}", " }"},
    {"int x __attribute__((a", "(", "1", ")", "));"},
};

ParameterizedTestParameters(errors, deep_nesting) {
  return indexes(sizeof deep / sizeof deep[0]);
}

/* Up to 100000 levels: the parser must refuse cleanly or cope, not overflow
** the stack. */
ParameterizedTest(size_t *di, errors, deep_nesting) {
  const deep_row *r = &deep[*di];
  static const size_t depths[] = {10, 100, 1000, 100000};
  for (size_t k = 0; k < sizeof depths / sizeof depths[0]; k++) {
    char *src = nest(r->pre, r->a, r->mid, r->b, r->post, depths[k]);
    mffi_ctx *ctx = NULL;
    cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
    size_t len = strlen(src);
    int rc = mffi_cdef(ctx, src, len);
    check_clean(ctx, rc, src, len);
    mffi_ctx_free(ctx);
    free(src);
  }
}

Test(errors, long_names_and_many_attributes) {
  size_t n = 100000;
  char *src = malloc(n + 32);
  cr_assert(src != NULL);
  memcpy(src, "int ", 4);
  memset(src + 4, 'a', n);
  strcpy(src + 4 + n, ";");
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  int rc = mffi_cdef(ctx, src, strlen(src));
  check_clean(ctx, rc, src, strlen(src));
  free(src);
  src = nest("", "__attribute__((a)) ", "int f(void)", "", ";", 20000);
  rc = mffi_cdef(ctx, src, strlen(src));
  check_clean(ctx, rc, src, strlen(src));
  free(src);
  src = nest("int f(void) __attribute__((", "nonnull(1), ", "x", "", "));",
             20000);
  rc = mffi_cdef(ctx, src, strlen(src));
  check_clean(ctx, rc, src, strlen(src));
  free(src);
  mffi_ctx_free(ctx);
}

Test(errors, misuse) {
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(NULL, NULL), MFFI_EMISUSE));
  mffi_ctx_opts bad = {.version = 99};
  cr_assert(eq(int, mffi_ctx_new(&ctx, &bad), MFFI_EMISUSE));
  cr_assert(ctx == NULL);
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  const mffi_type *t = NULL;
  cr_expect(eq(int, mffi_typeof(ctx, NULL, &t), MFFI_EMISUSE));
  cr_expect(eq(int, mffi_typeof(ctx, "int", NULL), MFFI_EMISUSE));
  cr_expect(eq(int, mffi_cdef(ctx, NULL, 3), MFFI_EMISUSE));
  cr_expect(eq(int, mffi_cdef(ctx, NULL, 0), MFFI_OK));
  cr_expect(eq(int, mffi_cdef(NULL, "int x;", 6), MFFI_EMISUSE));
  cr_expect(eq(int, mffi_typeof(NULL, "int", &t), MFFI_EMISUSE));
  cr_expect(t == NULL);
  cr_expect_str_eq(mffi_errmsg(NULL), "");
  cr_expect(eq(long, mffi_erroffset(NULL), -1));
  mffi_ctx_free(ctx);
  mffi_ctx_free(NULL);
}

Test(errors, strerror_and_errname_cover_every_code) {
#define XX(name, value, text)                                                  \
  cr_expect_str_eq(mffi_strerror(value), text);                                \
  cr_expect_str_eq(mffi_errname(value), "MFFI_E" #name);
  MFFI_ERR_MAP(XX)
#undef XX
  cr_expect_str_eq(mffi_errname(MFFI_OK), "MFFI_OK");
  cr_expect_str_eq(mffi_strerror(12345), "unknown error");
  cr_expect_str_eq(mffi_errname(12345), "?");
}

/* -- Every failure reports itself ------------------------------------------ */

static mffi_ctx *st_ctx;
static mffi_lib *st_lib;

/* Make a failure whose detail must not be seen again. */
static void st_poison(void) {
  mffi_fn *fn;
  cr_assert(eq(int, mffi_bind(st_lib, "poison_qx", &fn), MFFI_ENOTFOUND));
  cr_assert(strstr(mffi_errmsg(st_ctx), "poison_qx") != NULL);
}

/* rc is the code the failing call returned: the state must say the same,
** with a detail of its own. */
static void st_check(int rc, int want, const char *what) {
  cr_expect(eq(int, rc, want), "%s", what);
  cr_expect(eq(int, mffi_errcode(st_ctx), rc), "%s: errcode", what);
  cr_expect(strstr(mffi_errmsg(st_ctx), "poison_qx") == NULL,
            "%s: stale detail '%s'", what, mffi_errmsg(st_ctx));
  cr_expect(mffi_errmsg(st_ctx)[0] != '\0', "%s: no detail", what);
}

Test(errors, no_stale_detail) {
  cr_assert(eq(int, mffi_ctx_new(&st_ctx, NULL), MFFI_OK));
  const char d[] = "int abs(int); typedef int myint; struct s { int a[2]; "
                   "unsigned b : 3; }; extern char **environ;";
  cr_assert(eq(int, mffi_cdef(st_ctx, d, sizeof d - 1), MFFI_OK));
  cr_assert(eq(int, mffi_open(st_ctx, NULL, NULL, NULL, &st_lib), MFFI_OK));
  const mffi_type *s, *in, *fnt;
  cr_assert(eq(int, mffi_typeof(st_ctx, "struct s", &s), MFFI_OK));
  cr_assert(eq(int, mffi_typeof(st_ctx, "int", &in), MFFI_OK));
  cr_assert(eq(int, mffi_typeof(st_ctx, "int (*)(int)", &fnt), MFFI_OK));
  mffi_fn *fn;
  mffi_closure *cl;
  mffi_field f;
  size_t off;
  void *p;
  int v = 0, obj[4] = {0};
  mffi_lib *lib2;

#define ST(call, want)                                                         \
  do {                                                                         \
    st_poison();                                                               \
    st_check((call), (want), #call);                                           \
  } while (0)
  ST(mffi_bind(st_lib, "abs", NULL), MFFI_EMISUSE);
  ST(mffi_bind(st_lib, NULL, &fn), MFFI_EMISUSE);
  ST(mffi_bind(st_lib, "myint", &fn), MFFI_EMISUSE);
  ST(mffi_bind_variadic(st_lib, "abs", NULL, 0, NULL), MFFI_EMISUSE);
  ST(mffi_bind_variadic(st_lib, "abs", &in, 1, &fn), MFFI_EMISUSE);
  ST(mffi_bind_ptr(st_lib, fnt, (void *)abs, NULL), MFFI_EMISUSE);
  ST(mffi_bind_ptr(st_lib, in, (void *)abs, &fn), MFFI_EMISUSE);
  ST(mffi_callback(st_lib, fnt, NULL, NULL, &cl), MFFI_EMISUSE);
  ST(mffi_callback(st_lib, fnt, NULL, NULL, NULL), MFFI_EMISUSE);
  ST(mffi_open(st_ctx, NULL, NULL, NULL, NULL), MFFI_EMISUSE);
  ST(mffi_open(st_ctx, NULL, "libnosuch-mffi.so", NULL, &lib2), MFFI_ENOLIB);
  ST(mffi_new(st_lib, in, 1, NULL), MFFI_EMISUSE);
  ST(mffi_new(st_lib, in, 0, &p), MFFI_EMISUSE);
  ST(mffi_keep(st_lib, obj, obj), MFFI_EMISUSE);
  ST(mffi_read(st_lib, NULL, obj, 4), MFFI_EMISUSE);
  ST(mffi_write(st_lib, obj, NULL, 4), MFFI_EMISUSE);
  ST(mffi_field_get(s, obj, "a[2]", &v), MFFI_ERANGE);
  ST(mffi_field_get(s, obj, "zz", &v), MFFI_ENOTFOUND);
  ST(mffi_field_get(s, NULL, "a[0]", &v), MFFI_EMISUSE);
  ST(mffi_field_set(s, obj, "a[", &v), MFFI_EPARSE);
  ST(mffi_field_set(in, obj, "a", &v), MFFI_EMISUSE);
  ST(mffi_fieldof(s, "nope", &f), MFFI_ENOTFOUND);
  ST(mffi_fieldof(s, NULL, &f), MFFI_EMISUSE);
  ST(mffi_offsetof(s, "b", &off), MFFI_EMISUSE);
  ST(mffi_offsetof(s, "a[99999999999999999999]", &off), MFFI_ERANGE);
  ST(mffi_type_field(s, 9, &f), MFFI_EMISUSE);
  ST(mffi_type_field(in, 0, &f), MFFI_EMISUSE);
  ST(mffi_typeof(st_ctx, "int ((", &in), MFFI_EPARSE);
  ST(mffi_typeof(st_ctx, NULL, &in), MFFI_EMISUSE);
  ST(mffi_cdef(st_ctx, "int (;", 6), MFFI_EPARSE);
  ST(mffi_cdef(st_ctx, NULL, 4), MFFI_EMISUSE);
  cr_assert(eq(int, mffi_bind(st_lib, "environ", &fn), MFFI_OK));
  ST(mffi_call(fn, &v, NULL), MFFI_EMISUSE);
#undef ST
  /* mffi_delete of a foreign pointer is recorded too. */
  st_poison();
  mffi_delete(st_lib, obj);
  cr_expect(eq(int, mffi_errcode(st_ctx), MFFI_EMISUSE));
  cr_expect(strstr(mffi_errmsg(st_ctx), "poison_qx") == NULL);
  /* A successful call clears the state. */
  st_poison();
  cr_assert(eq(int, mffi_typeof(st_ctx, "int", &in), MFFI_OK));
  cr_expect(eq(int, mffi_errcode(st_ctx), MFFI_OK));
  cr_expect_str_eq(mffi_errmsg(st_ctx), "");
  cr_expect(eq(long, mffi_erroffset(st_ctx), -1));
  mffi_ctx_free(st_ctx); /* Closes st_lib. */
}

/* The state is per context: failures on one do not show on another, and a
** thread keeps the last 8 contexts' details. */
Test(errors, per_context_state) {
  enum { N = 10 };
  mffi_ctx *c[N];
  for (int i = 0; i < N; i++) {
    cr_assert(eq(int, mffi_ctx_new(&c[i], NULL), MFFI_OK));
    char src[32];
    snprintf(src, sizeof src, "int x%d", i); /* No ';'. */
    cr_assert(eq(int, mffi_cdef(c[i], src, strlen(src)), MFFI_EPARSE));
    cr_expect(eq(long, mffi_erroffset(c[i]), (long)strlen(src)));
  }
  for (int i = N - 8; i < N; i++) {
    cr_expect(eq(int, mffi_errcode(c[i]), MFFI_EPARSE), "ctx %d", i);
    cr_expect(strstr(mffi_errmsg(c[i]), "expected ';'") != NULL, "%d: %s", i,
              mffi_errmsg(c[i]));
  }
  /* The two oldest were evicted: they read as no failure. */
  cr_expect(eq(int, mffi_errcode(c[0]), MFFI_OK));
  cr_expect_str_eq(mffi_errmsg(c[1]), "");
  cr_expect(eq(long, mffi_erroffset(c[0]), -1));
  /* A new context never inherits a freed one's detail. */
  mffi_ctx_free(c[N - 1]);
  mffi_ctx *fresh;
  cr_assert(eq(int, mffi_ctx_new(&fresh, NULL), MFFI_OK));
  cr_expect_str_eq(mffi_errmsg(fresh), "");
  cr_expect(eq(int, mffi_errcode(fresh), MFFI_OK));
  mffi_ctx_free(fresh);
  for (int i = 0; i < N - 1; i++)
    mffi_ctx_free(c[i]);
}


/* -- Combinations of type specifiers, judged by gcc ------------------------ */

/* Each row is "typedef SPECS T;" with SPECS valid (1) or not (0) to gcc
** ("two or more data types in declaration specifiers", "both 'long' and
** 'float'", ...). The test checks each verdict with gcc -fsyntax-only, so
** the table cannot drift from the compiler, and then with modffi. */
static const struct {
  const char *specs;
  int valid;
} spec_rows[] = {
    {"int", 1},
    {"long int", 1},
    {"int long", 1},
    {"long int long", 1},
    {"unsigned long long int", 1},
    {"short int unsigned", 1},
    {"signed char", 1},
    {"char unsigned", 1},
    {"long double", 1},
    {"double long", 1},
    {"unsigned __int128", 1},
    {"_Complex float", 1},
    {"double _Complex", 1},
    {"long double _Complex", 1},
    {"_Complex int", 1},
    {"const int volatile", 1},
    {"double int", 0},
    {"int double", 0},
    {"_Bool int", 0},
    {"int _Bool", 0},
    {"void int", 0},
    {"int void", 0},
    {"float int", 0},
    {"long double int", 0},
    {"double int long", 0},
    {"int long double", 0},
    {"_Float16 int", 0},
    {"_Float32 int", 0},
    {"_Float64 int", 0},
    {"_Float128 int", 0},
    {"_Float32x int", 0},
    {"_Float64x int", 0},
    {"__float128 int", 0},
    {"__builtin_va_list int", 0},
    {"char int", 0},
    {"int char", 0},
    {"__int128 int", 0},
    {"int int", 0},
    {"double double", 0},
    {"float double", 0},
    {"void char", 0},
    {"long float", 0},
    {"short double", 0},
    {"long long double", 0},
    {"long char", 0},
    {"short char", 0},
    {"long _Bool", 0},
    {"short long", 0},
    {"long long long", 0},
    {"signed unsigned", 0},
    {"signed float", 0},
    {"unsigned double", 0},
    {"signed void", 0},
    {"unsigned _Bool", 0},
    {"long __int128", 0},
    {"short short", 0},
    {"_Complex void", 0},
    {"_Complex _Bool", 0},
    {"struct sx { int a; } int", 0},
    {"int struct sy { int a; }", 0},
    {"enum ex { EXA } long", 0},
};
#define NSPEC_ROWS (sizeof spec_rows / sizeof spec_rows[0])

ParameterizedTestParameters(errors, specifier_combinations) {
  return indexes(NSPEC_ROWS);
}

ParameterizedTest(size_t *ri, errors, specifier_combinations, .timeout = 30) {
  char src[256];
  snprintf(src, sizeof src, "typedef %s T;\n", spec_rows[*ri].specs);
  int valid = spec_rows[*ri].valid;
  /* The verdict of gcc, which the row must state. */
  char path[] = "/tmp/mffi_specs_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  cr_assert(f != NULL);
  fputs(src, f);
  fclose(f);
  char cmd[512];
  const char *cc = getenv("CC") ? getenv("CC") : "cc";
  snprintf(cmd, sizeof cmd,
           "%s -std=gnu11 -fsyntax-only -pedantic-errors -Wno-pedantic -x c %s "
           ">/dev/null 2>&1",
           cc, path);
  int gcc_ok = system(cmd) == 0;
  remove(path);
  const char *specs = spec_rows[*ri].specs;
  cr_assert(eq(int, gcc_ok, valid), "the C compiler says %s to \"%s\"",
            gcc_ok ? "yes" : "no", specs);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  int rc = mffi_cdef(ctx, src, strlen(src));
  if (valid)
    cr_expect(eq(int, rc, MFFI_OK), "%s: %s", specs, mffi_errmsg(ctx));
  else
    cr_expect(eq(int, rc, MFFI_EPARSE), "%s accepted (%s: %s)", specs,
              mffi_errname(rc), mffi_errmsg(ctx));
  mffi_ctx_free(ctx);
}

/* -- Line splices, judged by gcc ------------------------------------------- */

/* Backslash-newline goes before tokens are made (C11 5.1.1.2, phase 2): it
** may fall inside a number, a punctuator, a name or a string, and it
** continues a // comment. Each row is checked with gcc -fsyntax-only: the
** verdict must be the row's, modffi's the same, and when both refuse, the
** row says whether the first error is at the same line and column (gcc may
** read a bad token further before it gives up). The offset of modffi's
** error is that of the token in the caller's bytes. */
static const struct {
  const char *src;
  int valid;    /* gcc accepts it. */
  int same_pos; /* Refused: gcc's first error is at modffi's line:col. */
  const char *at; /* Refused: the text at mffi_erroffset, or NULL. */
} splice_rows[] = {
    {"char a[12\\\n34]; _Static_assert(sizeof a == 1234, \"n\");", 1, 0, NULL},
    {"char a[0x\\\n1\\\n0]; _Static_assert(sizeof a == 16, \"x\");", 1, 0,
     NULL},
    {"char a[1 <\\\n< 3]; _Static_assert(sizeof a == 8, \"s\");", 1, 0, NULL},
    {"char a[2 >\\\n= 1]; _Static_assert(sizeof a == 1, \"g\");", 1, 0, NULL},
    {"char a[sizeof \"a\\\nb\" \"c\"]; _Static_assert(sizeof a == 4, \"t\");", 1,
     0, NULL},
    {"unsig\\\nned in\\\r\nt x; _Static_assert(sizeof x == 4, \"u\");", 1, 0,
     NULL},
    {"int x; // comment \\\nint y z;\nint w;", 1, 0, NULL},
    {"#define K 1\\\n2\nchar a[K]; _Static_assert(sizeof a == 12, \"d\");", 1, 0,
     NULL},
    {"char a[1 <\\\n<= 2];", 0, 1, "<\\\n<="},
    {"char a[2 -\\\n- 1];", 0, 1, "-\\\n-"},
    {"char a[2 -\\\n> 1];", 0, 0, "-\\\n>"},
    {"int a\\\nb c;", 0, 1, "c;"},
    {"char s[sizeof \"ab\\\ncd\"]; int x y;", 0, 1, "y;"},
    {"char a[0x1\\\n0g];", 0, 1, "0x1\\\n0g"},
    {"in\\\nt 3x;", 0, 1, "3x"},
    {"int a;\n  int \\\n  bb\\\ncc dd;", 0, 1, "dd"},
    {"int x; // \\\n\\\nint y z;\nint w v;", 0, 1, "v;"},
};
#define NSPLICE_ROWS (sizeof splice_rows / sizeof splice_rows[0])

ParameterizedTestParameters(errors, splices_as_gcc) {
  return indexes(NSPLICE_ROWS);
}

ParameterizedTest(size_t *ri, errors, splices_as_gcc, .timeout = 30) {
  const char *src = splice_rows[*ri].src;
  char path[] = "/tmp/mffi_splice_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  cr_assert(f != NULL);
  fputs(src, f);
  fputc('\n', f);
  fclose(f);
  char cmd[512];
  const char *cc = getenv("CC") ? getenv("CC") : "cc";
  snprintf(cmd, sizeof cmd,
           "%s -std=gnu11 -fsyntax-only -x c %s 2>&1 | grep -m1 ': error:'", cc,
           path);
  FILE *p = popen(cmd, "r");
  cr_assert(p != NULL);
  char line[512] = "";
  bool gcc_err = fgets(line, sizeof line, p) != NULL;
  pclose(p);
  remove(path);
  cr_assert(eq(int, !gcc_err, splice_rows[*ri].valid),
            "the C compiler says %s to \"%s\" (%s)", gcc_err ? "no" : "yes",
            src, line);
  mffi_ctx *ctx = NULL;
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
  int rc = mffi_cdef(ctx, src, strlen(src));
  if (splice_rows[*ri].valid) {
    cr_expect(eq(int, rc, MFFI_OK), "%s: %s", src, mffi_errmsg(ctx));
  } else {
    cr_expect(rc != MFFI_OK, "%s accepted", src);
    /* gcc: "PATH:LINE:COL: error: ..."; modffi: "LINE:COL: ...". */
    unsigned gl = 0, gc = 0, ml = 0, mc = 0;
    const char *q = strstr(line, path);
    cr_assert(q && sscanf(q + strlen(path), ":%u:%u:", &gl, &gc) == 2, "%s",
              line);
    cr_assert(sscanf(mffi_errmsg(ctx), "%u:%u:", &ml, &mc) == 2, "%s",
              mffi_errmsg(ctx));
    if (splice_rows[*ri].same_pos)
      cr_expect(ml == gl && mc == gc, "%s: gcc %u:%u (%s), modffi %s", src, gl,
                gc, line, mffi_errmsg(ctx));
    const char *at = splice_rows[*ri].at;
    long off = mffi_erroffset(ctx);
    cr_expect(off >= 0 && strncmp(src + off, at, strlen(at)) == 0,
              "%s: offset %ld is at '%s', not '%s'", src, off,
              off >= 0 ? src + off : "", at);
  }
  mffi_ctx_free(ctx);
}

/* -- Line markers ---------------------------------------------------------- */

/* After "# 68 "file"" (cc -E) or "#line N ["file"]", messages give the
** original file and line; mffi_erroffset stays the offset in the text. */
Test(errors, line_markers_name_the_original_file) {
  static const struct {
    const char *src, *msg;
  } cases[] = {
      {"# 1 \"t.c\"\n# 68 \"/usr/include/x/link.h\" 1 3 4\nint a;\n\n"
       "int b c;\n",
       "/usr/include/x/link.h:70:7: expected ';' near 'c'"},
      {"int a;\n#line 10\nint b c;\n", "10:7: expected ';' near 'c'"},
      {"#line 5 \"a.h\"\nint a;\n# 2 \"b.h\" 2\nint b c;\n",
       "b.h:2:7: expected ';' near 'c'"},
      /* Not a marker: ignored, physical lines count. */
      {"# 12x \"q.h\"\nint b c;\n", "2:7: expected ';' near 'c'"},
      {"# 1 \"d.h\"\n#define D 1\n#define D 2\n", "d.h:2:9: 'D' redefined"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mffi_ctx *ctx = NULL;
    cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
    const char *src = cases[i].src;
    int rc = mffi_cdef(ctx, src, strlen(src));
    cr_expect(rc != MFFI_OK, "case %zu accepted", i);
    cr_expect(strncmp(mffi_errmsg(ctx), cases[i].msg, strlen(cases[i].msg)) ==
                  0,
              "case %zu: \"%s\", expected \"%s...\"", i, mffi_errmsg(ctx),
              cases[i].msg);
    long off = mffi_erroffset(ctx);
    cr_expect(off >= 0 && (size_t)off < strlen(src), "case %zu: offset %ld", i,
              off);
    mffi_ctx_free(ctx);
  }
}

/* -- Conflicts between mffi_cdef calls ------------------------------------- */

/* A definition that differs is still refused, at the new one, with the
** position of the old; the context is left as it was. */
Test(errors, conflicts_between_calls_name_both_positions) {
  static const struct {
    const char *first, *second, *msg;
  } cases[] = {
      {"typedef struct { int a; } T;", "\ntypedef struct { long a; } T;",
       "2:28: conflicting types for 'T'; the previous declaration is at 1:27 "
       "of an earlier mffi_cdef"},
      {"struct s { int a; };", "struct s { int b; };",
       "1:8: redefinition of 'struct s' with other members or layout; the "
       "previous definition is at 1:8 of an earlier mffi_cdef"},
      {"struct s { int a; };", "#pragma pack(8)\nstruct s { int a; };",
       NULL}, /* Same layout: accepted. */
      {"struct s { char c; int a; };",
       "#pragma pack(1)\nstruct s { char c; int a; };",
       "2:8: redefinition of 'struct s' with other members or layout"},
      {"struct s { int a; };", "struct s { int a; };\nstruct s { int a; };",
       "2:8: redefinition of 'struct s'; the previous definition is at 1:8"},
      {"enum e { EA };", "enum e { EA, EB };",
       "1:6: redefinition of 'enum e' with other values"},
      {"enum e { EA };", "enum f { EA = 1 };",
       "1:10: redeclaration of enumerator 'EA' as 1; the previous "
       "declaration, 0, is at 1:10 of an earlier mffi_cdef"},
      {"enum { EA };", "enum { EA };\nenum { EA };",
       "2:8: redeclaration of enumerator 'EA'; the previous"},
      {"# 1 \"a.h\"\nextern struct { int x; } v;",
       "# 3 \"b.h\"\nextern struct { unsigned x; } v;",
       "b.h:3:31: conflicting types for 'v'; the previous declaration is at "
       "a.h:1:26"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mffi_ctx *ctx = NULL;
    cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
    int rc = mffi_cdef(ctx, cases[i].first, strlen(cases[i].first));
    cr_assert(eq(int, rc, MFFI_OK), "case %zu: %s", i, mffi_errmsg(ctx));
    size_t n = mffi_ndecls(ctx);
    rc = mffi_cdef(ctx, cases[i].second, strlen(cases[i].second));
    if (!cases[i].msg) {
      cr_expect(eq(int, rc, MFFI_OK), "case %zu: %s", i, mffi_errmsg(ctx));
    } else {
      cr_expect(eq(int, rc, MFFI_EDECL), "case %zu: %s", i, mffi_errmsg(ctx));
      cr_expect(strncmp(mffi_errmsg(ctx), cases[i].msg, strlen(cases[i].msg)) ==
                    0,
                "case %zu: \"%s\", expected \"%s...\"", i, mffi_errmsg(ctx),
                cases[i].msg);
      cr_expect(eq(sz, mffi_ndecls(ctx), n), "case %zu: not rolled back", i);
    }
    mffi_ctx_free(ctx);
  }
}
