/* Seeded generator of random C signatures for the call tests. See LICENSE.
**
** From one seed it writes three texts that agree with each other:
**   cdef    the declarations (enums, structs, unions, prototypes), fed to
**           mffi_cdef() and pasted at the top of the two C files;
**   lib     a shared library: every function folds all of its arguments
**           (members of aggregates, not padding; float values by their
**           bits) into a hash, stores it in cg_last and returns a value of
**           its return type built from the hash. Helpers exported beside
**           them write fixed argument values into buffers (cg_set<i>) and
**           format values (cg_fmtret<i>), so the harness never needs to
**           know a layout: the C compiler stays the only authority;
**   driver  a program that calls each function directly with the same
**           values and prints one line per call (and per callback test).
** Callbacks: for some signatures, cg_cb<i>(fnptr) calls the function
** pointer twice with fixed values and returns the folded results; the
** driver passes a C function that logs its arguments, the harness passes
** an mffi_callback closure that does the same.
** The CLI mode keeps to what `modffi call` can express on a command line
** and also writes one line of arguments per function (tab-separated).
** Everything here is static so the header can be included anywhere.
*/
#ifndef MFFI_CALLGEN_H
#define MFFI_CALLGEN_H

#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CG_FN static __attribute__((unused))
#define CG_MAXARGS 16   /* Max. arguments of a signature (fixed + var). */
#define CG_MAXMEM 6     /* Max. members of a generated aggregate. */
#define CG_MAXTYPES 160 /* Scalars + enums + pointers + aggregates. */
#define CG_NAGG 56      /* Aggregates generated per seed (random ones). */
#define CG_AGGMAX 192   /* Upper bound on an aggregate's size, bytes. */
#define CG_SLOT 512     /* Harness buffer per argument/return value. */
#define CG_FMTMAX 8192  /* Harness buffer for one formatted value. */

/* -- Growable text ---------------------------------------------------- */

typedef struct cg_str {
  char *p;
  size_t len, cap;
} cg_str;

CG_FN void cg_vput(cg_str *s, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0,
                    fmt, aq);
  va_end(aq);
  if (n < 0)
    abort();
  if (!s->p || s->len + (size_t)n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p)
      abort(); /* Test code: running out of memory ends the test. */
    s->p = p;
    s->cap = cap;
    vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
  }
  s->len += (size_t)n;
}

CG_FN __attribute__((format(printf, 2, 3))) void cg_put(cg_str *s,
                                                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cg_vput(s, fmt, ap);
  va_end(ap);
}

CG_FN void cg_str_free(cg_str *s) {
  free(s->p);
  s->p = NULL;
  s->len = s->cap = 0;
}

/* -- Random numbers (splitmix64: tiny, and the same everywhere) -------- */

CG_FN uint64_t cg_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

CG_FN unsigned cg_below(uint64_t *s, unsigned n) {
  return (unsigned)(cg_rand(s) % n);
}

/* A stream of its own for each (what, i, j), so adding a kind of value
** somewhere does not shift every later value. */
CG_FN uint64_t cg_stream(uint64_t seed, unsigned what, unsigned i, unsigned j) {
  uint64_t s = seed ^ ((uint64_t)what << 56) ^ ((uint64_t)i << 24) ^ j;
  cg_rand(&s);
  return s;
}

/* -- Types ------------------------------------------------------------ */

enum {
  CG_VOID,
  CG_BOOL,
  CG_CHAR,
  CG_SCHAR,
  CG_UCHAR,
  CG_SHORT,
  CG_USHORT,
  CG_INT,
  CG_UINT,
  CG_LONG,
  CG_ULONG,
  CG_LLONG,
  CG_ULLONG,
  CG_INT128,
  CG_UINT128,
  CG_FLOAT,
  CG_DOUBLE,
  CG_LDOUBLE,
  CG_PTR,
  CG_ENUM,
  CG_STRUCT,
  CG_UNION
};

typedef struct cg_member {
  int ty;   /* Type index. */
  int len;  /* Array length, 0 if not an array. */
  int bits; /* Bit-field width, -1 if not a bit-field. */
  bool named;
} cg_member;

typedef struct cg_type {
  int kind;
  char name[40];    /* C spelling: "unsigned short", "struct cg_s3". */
  char tag[8];      /* Helper suffix: "s3", "e1"; "" for the others. */
  const char *attr; /* Layout attribute of an aggregate, or NULL. */
  size_t size;      /* sizeof for scalars; an upper bound for aggregates. */
  int nmem;
  cg_member mem[CG_MAXMEM];
  int nenum;
  const char *enames[4];
  long long evals[4];
  bool nested;      /* Aggregate containing an aggregate. */
  bool cli_ok;      /* `modffi call` can parse and print it. */
  bool has_ld;      /* Is or contains long double. */
  bool overaligned; /* Is or contains a type aligned beyond 16 bytes. */
} cg_type;

typedef struct cg_sig {
  int ret;
  int nargs;  /* Fixed + variadic. */
  int nfixed; /* == nargs unless variadic. */
  bool variadic;
  bool cb; /* Also gets a callback test. */
  int args[CG_MAXARGS];
} cg_sig;

typedef struct cg_gen {
  uint64_t seed;
  bool cli;   /* Only what the CLI can express; no callbacks, no varargs. */
  bool no_ld; /* No long double anywhere (see CG_NO_LDOUBLE). */
  bool ms;    /* Every function and callback ms_abi (see CG_MS_ABI). */
  int ntypes;
  cg_type types[CG_MAXTYPES];
  int nscalar; /* types[1..nscalar) are the scalars (incl. ptrs, enums). */
  int nsigs;
  cg_sig *sigs;
  int ncb;
  cg_str cdef, lib, driver, cliargs;
} cg_gen;

static const struct {
  int kind;
  const char *name;
  size_t size;
} cg_scalars[] = {
    {CG_VOID, "void", 0},
    {CG_BOOL, "_Bool", sizeof(_Bool)},
    {CG_CHAR, "char", 1},
    {CG_SCHAR, "signed char", 1},
    {CG_UCHAR, "unsigned char", 1},
    {CG_SHORT, "short", sizeof(short)},
    {CG_USHORT, "unsigned short", sizeof(short)},
    {CG_INT, "int", sizeof(int)},
    {CG_UINT, "unsigned int", sizeof(int)},
    {CG_LONG, "long", sizeof(long)},
    {CG_ULONG, "unsigned long", sizeof(long)},
    {CG_LLONG, "long long", sizeof(long long)},
    {CG_ULLONG, "unsigned long long", sizeof(long long)},
    {CG_INT128, "__int128", sizeof(__int128)},
    {CG_UINT128, "unsigned __int128", sizeof(__int128)},
    {CG_FLOAT, "float", sizeof(float)},
    {CG_DOUBLE, "double", sizeof(double)},
    {CG_LDOUBLE, "long double", sizeof(long double)},
    {CG_PTR, "void *", sizeof(void *)},
    {CG_PTR, "const char *", sizeof(void *)},
    {CG_PTR, "int *", sizeof(void *)},
    {CG_PTR, "struct cg_opaque *", sizeof(void *)},
    {CG_PTR, "cg_fnp", sizeof(void *)},
};

/* Enums whose underlying types differ: unsigned int, int, unsigned long
** and long (GCC picks the smallest that holds every value). */
static const struct {
  int n;
  const char *names[4];
  long long vals[4];
  size_t size;
} cg_enums[] = {
    {3, {"CG_E0_A", "CG_E0_B", "CG_E0_C"}, {0, 1, 7}, sizeof(int)},
    {3, {"CG_E1_M", "CG_E1_Z", "CG_E1_P"}, {-5, 0, 100000}, sizeof(int)},
    {2, {"CG_E2_X", "CG_E2_BIG"}, {1, 0x100000000LL}, sizeof(long)},
    {3,
     {"CG_E3_NEG", "CG_E3_ONE", "CG_E3_TOP"},
     {-0x100000001LL, 1, 0x7fffffffffffLL},
     sizeof(long)},
};

CG_FN bool cg_is_int(int k) { return k >= CG_BOOL && k <= CG_UINT128; }
CG_FN bool cg_is_fp(int k) { return k >= CG_FLOAT && k <= CG_LDOUBLE; }
CG_FN bool cg_is_agg(int k) { return k == CG_STRUCT || k == CG_UNION; }

CG_FN bool cg_is_signed(int k) {
  switch (k) {
  case CG_CHAR:
    return CHAR_MIN < 0;
  case CG_SCHAR:
  case CG_SHORT:
  case CG_INT:
  case CG_LONG:
  case CG_LLONG:
  case CG_INT128:
    return true;
  default:
    return false;
  }
}

CG_FN int cg_int_bits(int k) {
  switch (k) {
  case CG_BOOL:
    return 1;
  case CG_CHAR:
  case CG_SCHAR:
  case CG_UCHAR:
    return CHAR_BIT;
  case CG_SHORT:
  case CG_USHORT:
    return (int)sizeof(short) * CHAR_BIT;
  case CG_INT:
  case CG_UINT:
    return (int)sizeof(int) * CHAR_BIT;
  case CG_LONG:
  case CG_ULONG:
    return (int)sizeof(long) * CHAR_BIT;
  case CG_LLONG:
  case CG_ULLONG:
    return (int)sizeof(long long) * CHAR_BIT;
  default:
    return 128;
  }
}

CG_FN int cg_add_type(cg_gen *g, const cg_type *t) {
  if (g->ntypes >= CG_MAXTYPES)
    abort();
  g->types[g->ntypes] = *t;
  return g->ntypes++;
}

CG_FN void cg_init_types(cg_gen *g) {
  g->ntypes = 0;
  for (size_t i = 0; i < sizeof cg_scalars / sizeof cg_scalars[0]; i++) {
    cg_type t = {.kind = cg_scalars[i].kind, .size = cg_scalars[i].size};
    snprintf(t.name, sizeof t.name, "%s", cg_scalars[i].name);
    int k = t.kind;
    /* The CLI passes pointers only as &INIT and prints 128-bit integers and
    ** long double in ways the issue does not fix; leave them out there. */
    t.cli_ok = k != CG_PTR && k != CG_INT128 && k != CG_UINT128 &&
               k != CG_LDOUBLE && k != CG_VOID;
    t.has_ld = k == CG_LDOUBLE;
    cg_add_type(g, &t);
  }
  for (size_t i = 0; i < sizeof cg_enums / sizeof cg_enums[0]; i++) {
    cg_type t = {.kind = CG_ENUM, .size = cg_enums[i].size};
    snprintf(t.name, sizeof t.name, "enum cg_e%zu", i);
    snprintf(t.tag, sizeof t.tag, "e%zu", i);
    t.nenum = cg_enums[i].n;
    for (int j = 0; j < t.nenum; j++) {
      t.enames[j] = cg_enums[i].names[j];
      t.evals[j] = cg_enums[i].vals[j];
    }
    cg_add_type(g, &t);
  }
  g->nscalar = g->ntypes;
}

/* Whether ty may be used in this run's signatures. */
CG_FN bool cg_usable(const cg_gen *g, int ty) {
  const cg_type *t = &g->types[ty];
  return (!g->cli || t->cli_ok) && !(g->no_ld && t->has_ld);
}

/* A scalar type index (no void); in CLI mode one the CLI handles. */
CG_FN int cg_pick_scalar(cg_gen *g, uint64_t *rs) {
  for (;;) {
    int ty = 1 + (int)cg_below(rs, (unsigned)g->nscalar - 1);
    if (cg_usable(g, ty))
      return ty;
  }
}

CG_FN int cg_pick_fp(cg_gen *g, uint64_t *rs) {
  unsigned r = cg_below(rs, g->cli ? 2 : 5);
  return r == 0 ? CG_FLOAT : r < 4 || g->no_ld ? CG_DOUBLE : CG_LDOUBLE;
}

CG_FN int cg_pick_int(cg_gen *g, uint64_t *rs) {
  for (;;) {
    int ty = cg_pick_scalar(g, rs);
    int k = g->types[ty].kind;
    if (cg_is_int(k) || k == CG_PTR || k == CG_ENUM)
      return ty;
  }
}

/* The first aggregate index, and how many there are. */
CG_FN int cg_first_agg(const cg_gen *g) { return g->nscalar; }

CG_FN int cg_pick_agg(cg_gen *g, uint64_t *rs) {
  int n = g->ntypes - g->nscalar;
  for (;;) {
    int ty = g->nscalar + (int)cg_below(rs, (unsigned)n);
    if (cg_usable(g, ty))
      return ty;
  }
}

CG_FN size_t cg_round16(size_t n) { return (n + 15) & ~(size_t)15; }

CG_FN size_t cg_member_bound(const cg_gen *g, const cg_member *m) {
  size_t sz = g->types[m->ty].size;
  if (m->bits >= 0)
    return sz;
  return cg_round16(sz * (size_t)(m->len ? m->len : 1));
}

/* Define an aggregate from members; computes the size bound and tags. */
CG_FN int cg_define(cg_gen *g, int kind, int n, const cg_member *mem) {
  cg_type t = {.kind = kind, .nmem = n};
  int idx = g->ntypes;
  snprintf(t.name, sizeof t.name, "%s cg_%c%d",
           kind == CG_STRUCT ? "struct" : "union",
           kind == CG_STRUCT ? 's' : 'u', idx - g->nscalar);
  snprintf(t.tag, sizeof t.tag, "%c%d", kind == CG_STRUCT ? 's' : 'u',
           idx - g->nscalar);
  t.cli_ok = kind == CG_STRUCT;
  size_t bound = 0;
  for (int i = 0; i < n; i++) {
    t.mem[i] = mem[i];
    const cg_type *mt = &g->types[mem[i].ty];
    size_t b = cg_member_bound(g, &mem[i]);
    bound = kind == CG_STRUCT ? bound + b : (b > bound ? b : bound);
    if (cg_is_agg(mt->kind))
      t.nested = true;
    t.has_ld |= mt->has_ld;
    t.overaligned |= mt->overaligned;
    if (!mt->cli_ok || !mem[i].named || mt->overaligned)
      t.cli_ok = false;
    /* An array of char may be printed as a string: keep it out. */
    if (mem[i].len &&
        (mt->kind == CG_CHAR || mt->kind == CG_SCHAR || mt->kind == CG_UCHAR))
      t.cli_ok = false;
  }
  t.size = cg_round16(bound);
  return cg_add_type(g, &t);
}

#define CG_M(ty)                                                               \
  { (ty), 0, -1, true }
#define CG_A(ty, n)                                                            \
  { (ty), (n), -1, true }
#define CG_B(ty, w)                                                            \
  { (ty), 0, (w), true }
#define CG_DEF(g, kind, ...)                                                   \
  cg_define((g), (kind),                                                       \
            (int)(sizeof((cg_member[]){__VA_ARGS__}) / sizeof(cg_member)),     \
            (cg_member[]){__VA_ARGS__})

/* Shapes every run must cover, whatever the seed (SysV classes: SSE only,
** INTEGER only, mixed eightbytes, X87, MEMORY, odd sizes, 16-byte align). */
CG_FN void cg_fixed_aggs(cg_gen *g) {
  int s;
  CG_DEF(g, CG_STRUCT, CG_M(CG_FLOAT), CG_M(CG_FLOAT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_DOUBLE), CG_M(CG_DOUBLE));
  CG_DEF(g, CG_STRUCT, CG_M(CG_INT), CG_M(CG_FLOAT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_FLOAT), CG_M(CG_INT), CG_M(CG_DOUBLE));
  CG_DEF(g, CG_STRUCT, CG_M(CG_DOUBLE), CG_M(CG_LONG));
  CG_DEF(g, CG_STRUCT, CG_A(CG_FLOAT, 3));
  CG_DEF(g, CG_STRUCT, CG_A(CG_CHAR, 3));
  CG_DEF(g, CG_STRUCT, CG_M(CG_CHAR), CG_M(CG_SHORT), CG_M(CG_CHAR));
  CG_DEF(g, CG_STRUCT, CG_A(CG_LONG, 5));
  CG_DEF(g, CG_STRUCT, CG_M(CG_LDOUBLE));
  CG_DEF(g, CG_STRUCT, CG_M(CG_INT128), CG_M(CG_CHAR));
  CG_DEF(g, CG_STRUCT, CG_B(CG_INT, 3), CG_B(CG_UINT, 7), CG_B(CG_LLONG, 40),
         CG_M(CG_FLOAT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_UCHAR), CG_B(CG_UINT, 1), CG_B(CG_USHORT, 9));
  CG_DEF(g, CG_STRUCT, CG_M(CG_DOUBLE), CG_M(CG_FLOAT), CG_M(CG_FLOAT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_DOUBLE), CG_M(CG_DOUBLE), CG_M(CG_DOUBLE));
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_FLOAT), CG_M(CG_FLOAT));
  CG_DEF(g, CG_STRUCT, CG_M(s), CG_M(CG_INT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_BOOL), CG_M(CG_DOUBLE));
  CG_DEF(g, CG_STRUCT, CG_M(CG_SHORT), CG_M(CG_FLOAT), CG_M(CG_SHORT));
  CG_DEF(g, CG_STRUCT, CG_M(CG_INT), CG_M(CG_INT), CG_M(CG_INT), CG_M(CG_INT),
         CG_M(CG_INT));
  /* Layout attributes: packed ones have unaligned members (MEMORY class,
  ** psABI 3.2.3) or odd sizes; over-aligned ones grow. */
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_CHAR), CG_M(CG_DOUBLE));
  g->types[s].attr = "__attribute__((packed))";
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_DOUBLE), CG_M(CG_CHAR));
  g->types[s].attr = "__attribute__((packed))";
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_SHORT), CG_M(CG_INT), CG_M(CG_CHAR));
  g->types[s].attr = "__attribute__((packed))";
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_FLOAT));
  g->types[s].attr = "__attribute__((aligned(16)))";
  s = CG_DEF(g, CG_STRUCT, CG_M(CG_INT), CG_M(CG_DOUBLE));
  g->types[s].attr = "__attribute__((aligned(32)))";
  g->types[s].size = 32;
  g->types[s].overaligned = true;
  g->types[s].cli_ok = false; /* May be refused; test_callgen.c checks it. */
  if (!g->cli) {
    cg_member zero = {CG_INT, 0, 0, false};
    cg_member pad = {CG_UINT, 0, 5, false};
    CG_DEF(g, CG_STRUCT, CG_M(CG_CHAR), zero, CG_M(CG_CHAR), pad,
           CG_B(CG_UINT, 4));
    CG_DEF(g, CG_STRUCT, CG_M(CG_PTR), CG_M(CG_DOUBLE));
    CG_DEF(g, CG_STRUCT, CG_M(CG_LDOUBLE), CG_M(CG_INT));
    CG_DEF(g, CG_UNION, CG_M(CG_DOUBLE), CG_M(CG_LONG));
    CG_DEF(g, CG_UNION, CG_M(CG_DOUBLE), CG_M(CG_FLOAT));
    CG_DEF(g, CG_UNION, CG_A(CG_FLOAT, 3), CG_M(CG_INT));
    CG_DEF(g, CG_UNION, CG_M(CG_INT128), CG_M(CG_DOUBLE));
    CG_DEF(g, CG_UNION, CG_A(CG_CHAR, 24), CG_M(CG_DOUBLE));
    CG_DEF(g, CG_UNION, CG_M(CG_LDOUBLE), CG_M(CG_INT));
  }
}

CG_FN void cg_random_member(cg_gen *g, uint64_t *rs, cg_member *m,
                            bool in_union) {
  unsigned r = cg_below(rs, 100);
  m->named = true;
  m->len = 0;
  m->bits = -1;
  if (!in_union && r < 15 && cg_first_agg(g) < g->ntypes) {
    /* Nest an aggregate that has none inside: two levels at most. */
    for (int tries = 0; tries < 20; tries++) {
      int ty = cg_pick_agg(g, rs);
      if (!g->types[ty].nested && g->types[ty].size <= 64 && cg_usable(g, ty)) {
        m->ty = ty;
        return;
      }
    }
  }
  if (!in_union && r >= 15 && r < 32) {
    static const int bases[] = {CG_INT,   CG_UINT,   CG_UCHAR, CG_SHORT,
                                CG_LLONG, CG_ULLONG, CG_USHORT};
    m->ty = bases[cg_below(rs, sizeof bases / sizeof bases[0])];
    int w = cg_int_bits(g->types[m->ty].kind);
    m->bits = 1 + (int)cg_below(rs, (unsigned)w);
    if (!g->cli && cg_below(rs, 8) == 0) {
      m->named = false; /* Unnamed padding field, width 0 included. */
      m->bits = (int)cg_below(rs, 6);
    }
    return;
  }
  m->ty = cg_below(rs, 3) == 0 ? cg_pick_fp(g, rs) : cg_pick_scalar(g, rs);
  if (r >= 32 && r < 50)
    m->len = 1 + (int)cg_below(rs, 4);
}

CG_FN void cg_random_agg(cg_gen *g, uint64_t *rs) {
  int kind = !g->cli && cg_below(rs, 6) == 0 ? CG_UNION : CG_STRUCT;
  cg_member mem[CG_MAXMEM];
  int n = 0, want = 1 + (int)cg_below(rs, kind == CG_UNION ? 3 : CG_MAXMEM);
  size_t bound = 0;
  bool named = false;
  while (n < want) {
    cg_member m;
    cg_random_member(g, rs, &m, kind == CG_UNION);
    size_t b = cg_member_bound(g, &m);
    if (bound + b > CG_AGGMAX)
      break;
    bound += b;
    named |= m.named;
    mem[n++] = m;
  }
  if (!named) {
    mem[0].named = true; /* C wants a named member. */
    if (mem[0].bits == 0)
      mem[0].bits = 3;
  }
  if (n == 0)
    mem[n++] = (cg_member)CG_M(CG_INT);
  if (kind == CG_UNION) {
    /* Only the member written first is read back, so make it the widest:
    ** then the value covers every byte the ABI may pass. */
    for (int i = 1; i < n; i++) {
      size_t a =
          g->types[mem[0].ty].size * (size_t)(mem[0].len ? mem[0].len : 1);
      size_t b =
          g->types[mem[i].ty].size * (size_t)(mem[i].len ? mem[i].len : 1);
      if (b > a) {
        cg_member t = mem[0];
        mem[0] = mem[i];
        mem[i] = t;
      }
    }
  }
  cg_define(g, kind, n, mem);
}

/* -- Values ----------------------------------------------------------- */

/* x * 2^e, exact (no libm needed). */
CG_FN long double cg_scale(long double x, int e) {
  for (; e > 0; e--)
    x *= 2;
  for (; e < 0; e++)
    x /= 2;
  return x;
}

/* A random value of a floating kind: mostly exact random mantissas, plus
** the edges (zeros, extremes, subnormals, infinities). */
CG_FN long double cg_rand_fp(int k, uint64_t *rs, bool cli) {
  int mant = k == CG_FLOAT    ? FLT_MANT_DIG
             : k == CG_DOUBLE ? DBL_MANT_DIG
                              : LDBL_MANT_DIG;
  int erange = k == CG_FLOAT ? 40 : 60;
  unsigned r = cg_below(rs, 40);
  switch (r) {
  case 0:
    return 0.0L;
  case 1:
    return -0.0L;
  case 2:
    return 1.0L;
  case 3:
    return k == CG_FLOAT ? FLT_MAX : k == CG_DOUBLE ? DBL_MAX : LDBL_MAX;
  case 4:
    return k == CG_FLOAT ? FLT_MIN : k == CG_DOUBLE ? DBL_MIN : LDBL_MIN;
  case 5:
    return k == CG_FLOAT    ? FLT_TRUE_MIN
           : k == CG_DOUBLE ? DBL_TRUE_MIN
                            : LDBL_TRUE_MIN;
  case 6:
    if (!cli)
      return (cg_below(rs, 2) ? -1 : 1) * __builtin_infl();
    break;
  default:
    break;
  }
  if (mant > 64)
    mant = 64;
  uint64_t m = cg_rand(rs) >> (64 - mant);
  long double v = (long double)m;
  if (k == CG_FLOAT)
    v = (float)v;
  else if (k == CG_DOUBLE)
    v = (double)v;
  v = cg_scale(v, (int)cg_below(rs, 2 * (unsigned)erange) - erange - mant / 2);
  return cg_below(rs, 2) ? -v : v;
}

/* A random integer in the kind's range, as two's complement bits in
** (hi, lo): small ones, edges, and any. */
CG_FN void cg_rand_int(int k, uint64_t *rs, uint64_t *hi, uint64_t *lo) {
  int bits = cg_int_bits(k);
  bool sgn = cg_is_signed(k);
  uint64_t h = cg_rand(rs), l = cg_rand(rs);
  switch (cg_below(rs, 10)) {
  case 0:
  case 1:
  case 2: /* Small, either sign. */
    l = (uint64_t)((int64_t)(l % 201) - 100);
    h = (l >> 63) ? ~0ULL : 0;
    break;
  case 3: /* Minimum, maximum, -1. */
  {
    unsigned e = cg_below(rs, 3);
    h = l = ~0ULL;
    if (e == 0) { /* Max: all ones, sign bit clear. */
      if (sgn && bits == 128)
        h = ~0ULL >> 1;
      else if (sgn)
        l = ~0ULL >> (65 - bits);
    } else if (e == 1) { /* Min: zero, or only the sign bit. */
      h = l = 0;
      if (sgn && bits == 128)
        h = 1ULL << 63;
      else if (sgn)
        l = ~0ULL << (bits - 1), h = ~0ULL;
    }
    break;
  }
  default:
    break;
  }
  /* Truncate to the width, then sign- or zero-extend to 128 bits. */
  if (bits < 64) {
    l &= (1ULL << bits) - 1;
    if (sgn && (l >> (bits - 1)) & 1)
      l |= ~0ULL << bits;
    h = sgn && (l >> 63) ? ~0ULL : 0;
  } else if (bits == 64) {
    h = sgn && (l >> 63) ? ~0ULL : 0;
  }
  *hi = h;
  *lo = l;
}

/* Write a value of scalar type ty as a C expression (to c, may be NULL) and
** as a CLI literal (to cli, may be NULL). */
CG_FN void cg_scalar_value(cg_gen *g, cg_str *c, cg_str *cli, int ty,
                           uint64_t *rs) {
  const cg_type *t = &g->types[ty];
  int k = t->kind;
  if (k == CG_ENUM) {
    int j = (int)cg_below(rs, (unsigned)t->nenum);
    bool by_name = cg_below(rs, 2); /* Drawn always: same stream for all. */
    if (c)
      cg_put(c, "%s", t->enames[j]);
    if (cli) {
      if (by_name)
        cg_put(cli, "%s", t->enames[j]);
      else
        cg_put(cli, "%lld", t->evals[j]);
    }
  } else if (k == CG_PTR) {
    unsigned long long v =
        cg_below(rs, 8) == 0 ? 0 : (cg_rand(rs) >> 17) & ~7ULL;
    if (c)
      cg_put(c, "((%s)0x%llxULL)", t->name, v);
  } else if (cg_is_fp(k)) {
    long double v = cg_rand_fp(k, rs, g->cli);
    /* Not isinf(): under valgrind x87 is emulated with doubles, LDBL_MAX
    ** is infinite and isinf() compares with it. */
    bool inf = v != 0 && v * 2 == v;
    if (c) {
      if (inf)
        cg_put(c, "((%s)(%s__builtin_infl()))", t->name, v < 0 ? "-" : "");
      else if (k == CG_LDOUBLE)
        cg_put(c, "(%LaL)", v);
      else
        cg_put(c, "((%s)%a)", t->name, (double)v);
    }
    if (cli) {
      if (inf)
        cg_put(cli, "%sinf", v < 0 ? "-" : "");
      else if (k == CG_LDOUBLE)
        cg_put(cli, "%La", v);
      else
        cg_put(cli, "%a", (double)v);
    }
  } else {
    uint64_t hi, lo;
    cg_rand_int(k, rs, &hi, &lo);
    if (c) {
      if (k == CG_INT128 || k == CG_UINT128)
        cg_put(c, "((%s)(((unsigned __int128)0x%llxULL << 64) | 0x%llxULL))",
               t->name, (unsigned long long)hi, (unsigned long long)lo);
      else if (cg_is_signed(k) && lo == 1ULL << 63)
        cg_put(c, "((%s)(-0x7fffffffffffffffLL - 1))", t->name);
      else if (cg_is_signed(k))
        cg_put(c, "((%s)%lldLL)", t->name, (long long)lo);
      else
        cg_put(c, "((%s)%lluULL)", t->name, (unsigned long long)lo);
    }
    if (cli) {
      if (cg_is_signed(k))
        cg_put(cli, "%lld", (long long)lo);
      else
        cg_put(cli, "%llu", (unsigned long long)lo);
    }
  }
}

/* A random value in a bit-field of the given width and base kind. */
CG_FN void cg_bitfield_value(cg_str *c, cg_str *cli, int k, int w,
                             uint64_t *rs) {
  uint64_t r = cg_rand(rs);
  bool sgn = cg_is_signed(k);
  uint64_t mask = w >= 64 ? ~0ULL : (1ULL << w) - 1;
  uint64_t bits = r & mask;
  if (cg_below(rs, 4) == 0)
    bits = mask; /* All ones: -1 or the maximum. */
  if (sgn && w < 64 && (bits >> (w - 1)) & 1)
    bits |= ~mask;
  if (sgn) {
    if (c)
      cg_put(c, bits == 1ULL << 63 ? "(-0x7fffffffffffffffLL - 1)" : "%lldLL",
             (long long)bits);
    if (cli)
      cg_put(cli, "%lld", (long long)bits);
  } else {
    if (c)
      cg_put(c, "%lluULL", (unsigned long long)bits);
    if (cli)
      cg_put(cli, "%llu", (unsigned long long)bits);
  }
}

/* Any value of type ty. Aggregates: a C initializer list (the caller adds
** the compound-literal cast) and the same for the CLI; a union gets its
** first member only. */
CG_FN void cg_value(cg_gen *g, cg_str *c, cg_str *cli, int ty, uint64_t *rs) {
  const cg_type *t = &g->types[ty];
  if (!cg_is_agg(t->kind)) {
    cg_scalar_value(g, c, cli, ty, rs);
    return;
  }
  if (c)
    cg_put(c, "{");
  if (cli)
    cg_put(cli, "{");
  bool first = true;
  for (int i = 0; i < t->nmem; i++) {
    const cg_member *m = &t->mem[i];
    if (!m->named)
      continue;
    const char *sep = first ? "" : ", ";
    first = false;
    if (c)
      cg_put(c, "%s.m%d = ", sep, i);
    if (cli)
      cg_put(cli, "%s.m%d = ", sep, i);
    if (m->bits >= 0) {
      cg_bitfield_value(c, cli, g->types[m->ty].kind, m->bits, rs);
    } else if (m->len) {
      if (c)
        cg_put(c, "{");
      if (cli)
        cg_put(cli, "{");
      for (int j = 0; j < m->len; j++) {
        if (j && c)
          cg_put(c, ", ");
        if (j && cli)
          cg_put(cli, ", ");
        cg_value(g, c, cli, m->ty, rs);
      }
      if (c)
        cg_put(c, "}");
      if (cli)
        cg_put(cli, "}");
    } else {
      cg_value(g, c, cli, m->ty, rs);
    }
    if (t->kind == CG_UNION)
      break;
  }
  if (c)
    cg_put(c, "}");
  if (cli)
    cg_put(cli, "}");
}

/* A full C expression of type ty (compound literal for aggregates). */
CG_FN void cg_expr(cg_gen *g, cg_str *c, cg_str *cli, int ty, uint64_t *rs) {
  if (cg_is_agg(g->types[ty].kind) && c)
    cg_put(c, "(%s)", g->types[ty].name);
  cg_value(g, c, cli, ty, rs);
}

/* -- Signatures ------------------------------------------------------- */

CG_FN int cg_pick_arg(cg_gen *g, uint64_t *rs, unsigned flavor) {
  unsigned r = cg_below(rs, 100);
  switch (flavor) {
  case 0: /* Integer-heavy: > 6 integer registers. */
    return r < 85   ? cg_pick_int(g, rs)
           : r < 95 ? cg_pick_fp(g, rs)
                    : cg_pick_agg(g, rs);
  case 1: /* Float-heavy: > 8 SSE registers. */
    return r < 85   ? cg_pick_fp(g, rs)
           : r < 95 ? cg_pick_int(g, rs)
                    : cg_pick_agg(g, rs);
  case 2: /* Aggregate-heavy. */
    return r < 60 ? cg_pick_agg(g, rs) : cg_pick_scalar(g, rs);
  case 4: /* Stack-heavy: memory-class aggregates among ints and floats. */
    if (r < 35) {
      for (int tries = 0; tries < 8; tries++) {
        int ty = cg_pick_agg(g, rs);
        if (g->types[ty].size > 16) return ty;
      }
      return cg_pick_agg(g, rs);
    }
    return r < 70 ? cg_pick_int(g, rs) : cg_pick_fp(g, rs);
  default:
    return r < 25 ? cg_pick_agg(g, rs) : cg_pick_scalar(g, rs);
  }
}

/* The type a variadic argument of type ty arrives as (C11 6.5.2.2p6). */
CG_FN const char *cg_promoted(const cg_gen *g, int ty) {
  switch (g->types[ty].kind) {
  case CG_BOOL:
  case CG_CHAR:
  case CG_SCHAR:
  case CG_UCHAR:
  case CG_SHORT:
    return "int";
  case CG_USHORT:
    return sizeof(short) < sizeof(int) ? "int" : "unsigned int";
  case CG_FLOAT:
    return "double";
  default:
    return g->types[ty].name;
  }
}

CG_FN void cg_make_sig(cg_gen *g, int i, cg_sig *s) {
  uint64_t rs = cg_stream(g->seed, 1, (unsigned)i, 0);
  unsigned flavor = cg_below(&rs, 4);
  /* One in five is stack-heavy, drawn from a stream of its own so that the
  ** other signatures of a seed stay what they were. */
  uint64_t rs4 = cg_stream(g->seed, 3, (unsigned)i, 0);
  bool stacky = cg_below(&rs4, 5) == 0;
  memset(s, 0, sizeof *s);
  unsigned r = cg_below(&rs, 100);
  s->ret = r < 10 && !g->cli ? CG_VOID
           : r < 62          ? cg_pick_scalar(g, &rs)
                             : cg_pick_agg(g, &rs);
  if (g->cli && g->types[s->ret].kind == CG_ENUM)
    s->ret = CG_INT; /* The CLI may print an enum by name. */
  if (!g->cli && cg_below(&rs, 100) < 15) {
    s->variadic = true;
    s->nfixed = 1 + (int)cg_below(&rs, 4);
    s->nargs = s->nfixed + 1 + (int)cg_below(&rs, 8);
  } else {
    /* Uniform 0..16, with the long lists a bit more likely. */
    s->nargs = (int)cg_below(&rs, CG_MAXARGS + 1);
    if (cg_below(&rs, 4) == 0)
      s->nargs = CG_MAXARGS - (int)cg_below(&rs, 6);
    s->nfixed = s->nargs;
  }
  if (stacky && !s->variadic) {
    s->nargs = s->nfixed = 9 + (int)cg_below(&rs4, CG_MAXARGS - 8);
    flavor = 4;
  }
  for (int a = 0; a < s->nargs; a++) {
    int ty = cg_pick_arg(g, stacky ? &rs4 : &rs, flavor);
    size_t sz = g->types[ty].size;
    /* GCC 12 miscompiles va_arg of a by-reference value (not 1, 2, 4 or 8
    ** bytes) from a __builtin_ms_va_list: it reads the slots as the value
    ** itself, so the library cannot be the oracle there. Its callers pass
    ** them by reference, as modffi does. */
    if (g->ms && a >= s->nfixed && sz != 1 && sz != 2 && sz != 4 && sz != 8)
      ty = cg_is_fp(g->types[ty].kind) ? CG_DOUBLE : CG_LLONG;
    s->args[a] = ty;
  }
  s->cb = !g->cli && !s->variadic && i % 4 == 1;
}

/* The prototype of function i into out; cb: the callback taker instead. */
CG_FN void cg_proto(cg_gen *g, cg_str *out, int i, bool cb) {
  const cg_sig *s = &g->sigs[i];
  const char *cc = g->ms ? "__attribute__((ms_abi)) " : "";
  if (cb) {
    cg_put(out, "unsigned long long cg_cb%d(%s (%s*cb)(", i,
           g->types[s->ret].name, cc);
  } else {
    cg_put(out, "%s %scg_f%d(", g->types[s->ret].name, cc, i);
  }
  for (int a = 0; a < s->nfixed; a++)
    cg_put(out, "%s%s a%d", a ? ", " : "", g->types[s->args[a]].name, a);
  if (s->nfixed == 0)
    cg_put(out, "void");
  if (s->variadic)
    cg_put(out, ", ...");
  cg_put(out, cb ? "))" : ")");
}

/* Whether signature i passes or returns an over-aligned type by value:
** libffi cannot align a stack argument beyond 16 bytes, so a strategy may
** refuse it (MFFI_EUNSUPPORTED) rather than pass it wrong. */
CG_FN bool cg_sig_overaligned(const cg_gen *g, int i) {
  const cg_sig *s = &g->sigs[i];
  bool r = g->types[s->ret].overaligned;
  for (int a = 0; a < s->nargs; a++)
    r |= g->types[s->args[a]].overaligned;
  return r;
}

/* The callback's pointer type as a type name: "int (*)(short, double)". */
CG_FN void cg_cb_type(cg_gen *g, cg_str *out, int i) {
  const cg_sig *s = &g->sigs[i];
  cg_put(out, "%s (%s*)(", g->types[s->ret].name,
         g->ms ? "__attribute__((ms_abi)) " : "");
  for (int a = 0; a < s->nargs; a++)
    cg_put(out, "%s%s", a ? ", " : "", g->types[s->args[a]].name);
  cg_put(out, s->nargs ? ")" : "void)");
}

/* -- Emitting the library --------------------------------------------- */

/* Helpers compiled into the library (static there). */
static const char cg_runtime[] =
    "typedef unsigned long long cg_u64;\n"
    "static cg_u64 cg_mix(cg_u64 h, cg_u64 v) {\n"
    "  h = (h ^ v) * 0x9e3779b97f4a7c15ULL;\n"
    "  return h ^ (h >> 29);\n"
    "}\n"
    "static cg_u64 cg_next(cg_u64 h) { return cg_mix(h, 0x5bd1e995ULL); }\n"
    "static cg_u64 cg_mix128(cg_u64 h, unsigned __int128 v) {\n"
    "  return cg_mix(cg_mix(h, (cg_u64)v), (cg_u64)(v >> 64));\n"
    "}\n"
    "static cg_u64 cg_mixf(cg_u64 h, float v) {\n"
    "  unsigned int b; memcpy(&b, &v, sizeof b); return cg_mix(h, b);\n"
    "}\n"
    "static cg_u64 cg_mixd(cg_u64 h, double v) {\n"
    "  cg_u64 b; memcpy(&b, &v, sizeof b); return cg_mix(h, b);\n"
    "}\n"
    "/* The value, not the bytes: x87 long double has 6 bytes of padding. */\n"
    "static cg_u64 cg_mixld(cg_u64 h, long double v) {\n"
    "  double hi = (double)v, lo = (double)(v - hi);\n"
    "  return cg_mixd(cg_mixd(h, hi), lo);\n"
    "}\n"
    "typedef struct { char *p; size_t n, len; } cg_out;\n"
    "static void cg_o(cg_out *o, const char *fmt, ...) {\n"
    "  va_list ap; va_start(ap, fmt);\n"
    "  size_t room = o->len < o->n ? o->n - o->len : 0;\n"
    "  int k = vsnprintf(o->p + (room ? o->len : 0), room, fmt, ap);\n"
    "  va_end(ap);\n"
    "  if (k > 0) o->len += (size_t)k;\n"
    "}\n"
    "static void cg_oi(cg_out *o, long long v) { cg_o(o, \"%lld\", v); }\n"
    "static void cg_ou(cg_out *o, unsigned long long v) {\n"
    "  cg_o(o, \"%llu\", v);\n"
    "}\n"
    "static void cg_ou128(cg_out *o, unsigned __int128 v) {\n"
    "  char b[48]; int i = 47; b[i] = 0;\n"
    "  do { b[--i] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);\n"
    "  cg_o(o, \"%s\", b + i);\n"
    "}\n"
    "static void cg_oi128(cg_out *o, __int128 v) {\n"
    "  if (v < 0) { cg_o(o, \"-\"); cg_ou128(o, -(unsigned __int128)v); }\n"
    "  else cg_ou128(o, (unsigned __int128)v);\n"
    "}\n"
    "static void cg_of(cg_out *o, float v) { cg_o(o, \"%.9g\", (double)v); }\n"
    "static void cg_od(cg_out *o, double v) { cg_o(o, \"%.17g\", v); }\n"
    "static void cg_old(cg_out *o, long double v) { cg_o(o, \"%.21Lg\", v); }\n"
    "static void cg_op(cg_out *o, cg_u64 v) { cg_o(o, \"0x%llx\", v); }\n";

/* Prototypes of the exported helpers, for the driver. */
CG_FN void cg_emit_helper_protos(cg_gen *g, cg_str *o) {
  cg_put(o, "extern unsigned long long cg_last;\n");
  for (int i = 0; i < g->nsigs; i++) {
    cg_put(o, "void cg_fmtret%d(char *, size_t, const void *);\n", i);
    if (g->sigs[i].cb) {
      cg_put(o, "void cg_cbfmt%d(char *, size_t, int, const void *);\n", i);
      cg_put(o, "void cg_cbret%d(void *, int);\n", i);
    }
  }
}

/* Statements folding the value `expr` of scalar kind k into h. */
CG_FN void cg_emit_hash_scalar(cg_str *o, int k, const char *expr) {
  if (k == CG_INT128 || k == CG_UINT128)
    cg_put(o, "  h = cg_mix128(h, (unsigned __int128)(%s));\n", expr);
  else if (k == CG_FLOAT)
    cg_put(o, "  h = cg_mixf(h, %s);\n", expr);
  else if (k == CG_DOUBLE)
    cg_put(o, "  h = cg_mixd(h, %s);\n", expr);
  else if (k == CG_LDOUBLE)
    cg_put(o, "  h = cg_mixld(h, %s);\n", expr);
  else if (k == CG_PTR)
    cg_put(o, "  h = cg_mix(h, (cg_u64)(uintptr_t)(%s));\n", expr);
  else
    cg_put(o, "  h = cg_mix(h, (cg_u64)(%s));\n", expr);
}

/* Fold an lvalue of type ty. */
CG_FN void cg_emit_hash(cg_gen *g, cg_str *o, int ty, const char *lv) {
  const cg_type *t = &g->types[ty];
  if (cg_is_agg(t->kind))
    cg_put(o, "  h = cgh_%s(h, &(%s));\n", t->tag, lv);
  else
    cg_emit_hash_scalar(o, t->kind, lv);
}

/* Statements "lv = <value of type ty from h>;" advancing h. */
CG_FN void cg_emit_make(cg_gen *g, cg_str *o, int ty, const char *lv) {
  const cg_type *t = &g->types[ty];
  switch (t->kind) {
  case CG_BOOL:
    cg_put(o, "  %s = (_Bool)(h & 1);\n", lv);
    break;
  case CG_FLOAT:
    cg_put(o, "  %s = (float)((long long)(h >> 40) - 8388608) / 256.0f;\n", lv);
    break;
  case CG_DOUBLE:
    cg_put(o,
           "  %s = (double)((long long)(h >> 11) - (1LL << 52)) / "
           "1048576.0;\n",
           lv);
    break;
  case CG_LDOUBLE:
    cg_put(o, "  %s = (long double)(long long)h / 65536.0L;\n", lv);
    break;
  case CG_PTR:
    cg_put(o, "  %s = (%s)(uintptr_t)h;\n", lv, t->name);
    break;
  case CG_INT128:
  case CG_UINT128:
    cg_put(o, "  %s = (%s)(((unsigned __int128)h << 64) | cg_next(h));\n", lv,
           t->name);
    break;
  case CG_ENUM:
    cg_put(o, "  %s = cg_ev_%s[h %% %d];\n", lv, t->tag, t->nenum);
    break;
  case CG_STRUCT:
  case CG_UNION:
    cg_put(o, "  %s = cgm_%s(h);\n", lv, t->tag);
    break;
  default:
    cg_put(o, "  %s = (%s)h;\n", lv, t->name);
    break;
  }
  cg_put(o, "  h = cg_next(h);\n");
}

/* Statements formatting the lvalue lv of type ty into cg_out *o. */
CG_FN void cg_emit_fmt(cg_gen *g, cg_str *o, int ty, const char *lv) {
  const cg_type *t = &g->types[ty];
  int k = t->kind;
  if (cg_is_agg(k))
    cg_put(o, "  cgf_%s(o, &(%s));\n", t->tag, lv);
  else if (k == CG_INT128)
    cg_put(o, "  cg_oi128(o, %s);\n", lv);
  else if (k == CG_UINT128)
    cg_put(o, "  cg_ou128(o, %s);\n", lv);
  else if (k == CG_FLOAT)
    cg_put(o, "  cg_of(o, %s);\n", lv);
  else if (k == CG_DOUBLE)
    cg_put(o, "  cg_od(o, %s);\n", lv);
  else if (k == CG_LDOUBLE)
    cg_put(o, "  cg_old(o, %s);\n", lv);
  else if (k == CG_PTR)
    cg_put(o, "  cg_op(o, (cg_u64)(uintptr_t)(%s));\n", lv);
  else if (k == CG_ENUM || cg_is_signed(k))
    cg_put(o, "  cg_oi(o, (long long)(%s));\n", lv);
  else
    cg_put(o, "  cg_ou(o, (unsigned long long)(%s));\n", lv);
}

/* Hash, make and format functions for aggregate ty (defined in order, so
** nested ones come first). */
CG_FN void cg_emit_agg_helpers(cg_gen *g, cg_str *o, int ty) {
  const cg_type *t = &g->types[ty];
  char lv[64];
  bool uni = t->kind == CG_UNION;
  cg_put(o, "static cg_u64 cgh_%s(cg_u64 h, const %s *p) {\n", t->tag, t->name);
  for (int i = 0; i < t->nmem; i++) {
    const cg_member *m = &t->mem[i];
    if (!m->named)
      continue;
    if (m->len) {
      cg_put(o, "  for (int i = 0; i < %d; i++) {\n", m->len);
      snprintf(lv, sizeof lv, "p->m%d[i]", i);
      cg_emit_hash(g, o, m->ty, lv);
      cg_put(o, "  }\n");
    } else {
      snprintf(lv, sizeof lv, "p->m%d", i);
      cg_emit_hash(g, o, m->ty, lv);
    }
    if (uni)
      break;
  }
  cg_put(o, "  return h;\n}\n");

  cg_put(o,
         "static %s cgm_%s(cg_u64 h) {\n  %s r;\n"
         "  memset(&r, 0, sizeof r);\n",
         t->name, t->tag, t->name);
  for (int i = 0; i < t->nmem; i++) {
    const cg_member *m = &t->mem[i];
    if (!m->named)
      continue;
    if (m->len) {
      cg_put(o, "  for (int i = 0; i < %d; i++) {\n", m->len);
      snprintf(lv, sizeof lv, "r.m%d[i]", i);
      cg_emit_make(g, o, m->ty, lv);
      cg_put(o, "  }\n");
    } else if (m->bits >= 0) {
      /* Bit-fields take the low bits (GCC: modulo for signed too). */
      cg_put(o, "  r.m%d = (%s)h;\n  h = cg_next(h);\n", i,
             g->types[m->ty].name);
    } else {
      snprintf(lv, sizeof lv, "r.m%d", i);
      cg_emit_make(g, o, m->ty, lv);
    }
    if (uni)
      break;
  }
  cg_put(o, "  return r;\n}\n");

  cg_put(o, "static void cgf_%s(cg_out *o, const %s *p) {\n", t->tag, t->name);
  bool first = true;
  for (int i = 0; i < t->nmem; i++) {
    const cg_member *m = &t->mem[i];
    if (!m->named)
      continue;
    cg_put(o, "  cg_o(o, \"%s.m%d = \");\n", first ? "{" : ", ", i);
    first = false;
    if (m->len) {
      cg_put(o,
             "  for (int i = 0; i < %d; i++) {\n"
             "  cg_o(o, i ? \", \" : \"{\");\n",
             m->len);
      snprintf(lv, sizeof lv, "p->m%d[i]", i);
      cg_emit_fmt(g, o, m->ty, lv);
      cg_put(o, "  }\n  cg_o(o, \"}\");\n");
    } else {
      snprintf(lv, sizeof lv, "p->m%d", i);
      cg_emit_fmt(g, o, m->ty, lv);
    }
    if (uni)
      break;
  }
  cg_put(o, "  cg_o(o, \"}\");\n}\n");
}

CG_FN void cg_emit_cdef(cg_gen *g) {
  cg_str *o = &g->cdef;
  cg_put(o, "typedef void (*cg_fnp)(int);\nstruct cg_opaque;\n");
  for (int ty = 0; ty < g->ntypes; ty++) {
    const cg_type *t = &g->types[ty];
    if (t->kind == CG_ENUM) {
      cg_put(o, "%s {", t->name);
      for (int j = 0; j < t->nenum; j++)
        cg_put(o, "%s %s = %lld", j ? "," : "", t->enames[j], t->evals[j]);
      cg_put(o, " };\n");
    } else if (cg_is_agg(t->kind)) {
      cg_put(o, "%s {", t->name);
      for (int i = 0; i < t->nmem; i++) {
        const cg_member *m = &t->mem[i];
        cg_put(o, " %s", g->types[m->ty].name);
        if (m->named)
          cg_put(o, " m%d", i);
        if (m->len)
          cg_put(o, "[%d]", m->len);
        if (m->bits >= 0)
          cg_put(o, " : %d", m->bits);
        cg_put(o, ";");
      }
      cg_put(o, " }%s%s;\n", t->attr ? " " : "", t->attr ? t->attr : "");
    }
  }
  for (int i = 0; i < g->nsigs; i++) {
    cg_proto(g, o, i, false);
    cg_put(o, ";\n");
    if (g->sigs[i].cb) {
      cg_proto(g, o, i, true);
      cg_put(o, ";\n");
    }
  }
}

/* The body of a callback taker: two calls with fixed values. */
CG_FN void cg_emit_cb_taker(cg_gen *g, cg_str *o, int i) {
  const cg_sig *s = &g->sigs[i];
  cg_proto(g, o, i, true);
  cg_put(o, " {\n  cg_u64 h = %dULL;\n", i);
  for (int call = 0; call < 2; call++) {
    uint64_t rs = cg_stream(g->seed, 3, (unsigned)i, (unsigned)call);
    cg_put(o, "  {\n");
    bool isvoid = s->ret == CG_VOID;
    if (!isvoid)
      cg_put(o, "  %s r = ", g->types[s->ret].name);
    else
      cg_put(o, "  ");
    cg_put(o, "cb(");
    for (int a = 0; a < s->nargs; a++) {
      if (a)
        cg_put(o, ", ");
      cg_expr(g, o, NULL, s->args[a], &rs);
    }
    cg_put(o, ");\n");
    if (isvoid)
      cg_put(o, "  h = cg_mix(h, 1);\n");
    else
      cg_emit_hash(g, o, s->ret, "r");
    cg_put(o, "  }\n");
  }
  cg_put(o, "  return h;\n}\n");
  /* Format callback argument k (a pointer to it) for the logs. */
  cg_put(o,
         "void cg_cbfmt%d(char *buf, size_t n, int k, const void *v) {\n"
         "  cg_out oo = {buf, n, 0}, *o = &oo;\n  buf[0] = 0;\n"
         "  switch (k) {\n",
         i);
  for (int a = 0; a < s->nargs; a++) {
    char lv[80];
    snprintf(lv, sizeof lv, "*(const %s *)v", g->types[s->args[a]].name);
    if (g->types[s->args[a]].kind == CG_PTR)
      snprintf(lv, sizeof lv, "*(%s const *)v", g->types[s->args[a]].name);
    cg_put(o, "  case %d: {\n", a);
    cg_emit_fmt(g, o, s->args[a], lv);
    cg_put(o, "  break; }\n");
  }
  cg_put(o, "  default: break;\n  }\n}\n");
  /* Write the callback's return value for call number `call`. */
  cg_put(o, "void cg_cbret%d(void *r, int call) {\n", i);
  if (s->ret != CG_VOID) {
    char lv[80];
    snprintf(lv, sizeof lv, "*(%s *)r", g->types[s->ret].name);
    if (g->types[s->ret].kind == CG_PTR)
      snprintf(lv, sizeof lv, "*(%s *)r", g->types[s->ret].name);
    cg_put(o, "  cg_u64 h = cg_mix(%dULL, (cg_u64)call);\n", 1000 + i);
    cg_emit_make(g, o, s->ret, lv);
  } else {
    cg_put(o, "  (void)r;\n  (void)call;\n");
  }
  cg_put(o, "}\n");
}

CG_FN void cg_emit_lib(cg_gen *g) {
  cg_str *o = &g->lib;
  cg_put(o,
         "/* Generated by tests/callgen.h, seed 0x%llx. */\n"
         "#include <stdarg.h>\n#include <stdint.h>\n#include <stdio.h>\n"
         "#include <string.h>\n%s%s",
         (unsigned long long)g->seed, cg_runtime, g->cdef.p);
  cg_emit_helper_protos(g, o);
  cg_put(o, "cg_u64 cg_last;\n");
  for (int ty = 0; ty < g->ntypes; ty++) {
    const cg_type *t = &g->types[ty];
    if (t->kind == CG_ENUM) {
      cg_put(o, "static const %s cg_ev_%s[] = {", t->name, t->tag);
      for (int j = 0; j < t->nenum; j++)
        cg_put(o, "%s%s", j ? ", " : "", t->enames[j]);
      cg_put(o, "};\n");
    } else if (cg_is_agg(t->kind)) {
      cg_emit_agg_helpers(g, o, ty);
    }
  }
  cg_put(o, "const unsigned long cg_retsize[] = {\n");
  for (int i = 0; i < g->nsigs; i++) {
    const cg_sig *s = &g->sigs[i];
    if (s->ret == CG_VOID)
      cg_put(o, "  0,\n");
    else
      cg_put(o, "  sizeof(%s),\n", g->types[s->ret].name);
  }
  cg_put(o, "};\n");
  for (int i = 0; i < g->nsigs; i++) {
    const cg_sig *s = &g->sigs[i];
    char lv[80];
    /* The function: fold every argument, in order. */
    cg_proto(g, o, i, false);
    cg_put(o, " {\n  cg_u64 h = %dULL;\n", i);
    for (int a = 0; a < s->nfixed; a++) {
      snprintf(lv, sizeof lv, "a%d", a);
      cg_emit_hash(g, o, s->args[a], lv);
    }
    if (s->variadic && g->ms) { /* GCC's va_list of the convention. */
      cg_put(o,
             "  __builtin_ms_va_list ap;\n  __builtin_ms_va_start(ap, a%d);\n",
             s->nfixed - 1);
    } else if (s->variadic) {
      cg_put(o, "  va_list ap;\n  va_start(ap, a%d);\n", s->nfixed - 1);
    }
    if (s->variadic) {
      for (int a = s->nfixed; a < s->nargs; a++) {
        cg_put(o, "  {\n  %s v = va_arg(ap, %s);\n", cg_promoted(g, s->args[a]),
               cg_promoted(g, s->args[a]));
        int k = g->types[s->args[a]].kind;
        if (k == CG_FLOAT)
          cg_emit_hash_scalar(o, CG_DOUBLE, "v");
        else if (cg_is_agg(k) || cg_is_fp(k) || k == CG_PTR || k == CG_INT128 ||
                 k == CG_UINT128)
          cg_emit_hash(g, o, s->args[a], "v");
        else
          cg_emit_hash_scalar(o, CG_LLONG, "v");
        cg_put(o, "  }\n");
      }
      cg_put(o, g->ms ? "  __builtin_ms_va_end(ap);\n" : "  va_end(ap);\n");
    }
    cg_put(o, "  cg_last = h;\n");
    if (s->ret != CG_VOID) {
      cg_put(o, "  %s r;\n", g->types[s->ret].name);
      cg_emit_make(g, o, s->ret, "r");
      cg_put(o, "  return r;\n");
    }
    cg_put(o, "}\n");
    /* The argument writer: the harness's values, in C layout. */
    uint64_t rs = cg_stream(g->seed, 2, (unsigned)i, 0);
    cg_put(o,
           "void cg_set%d(void *const *a);\nvoid cg_set%d(void *const *a) {\n",
           i, i);
    for (int a = 0; a < s->nargs; a++) {
      cg_put(o, "  *(%s *)a[%d] = ", g->types[s->args[a]].name, a);
      cg_expr(g, o, NULL, s->args[a], &rs);
      cg_put(o, ";\n");
    }
    cg_put(o, "  (void)a;\n}\n");
    /* The return value formatter. */
    cg_put(o,
           "void cg_fmtret%d(char *buf, size_t n, const void *r) {\n"
           "  cg_out oo = {buf, n, 0}, *o = &oo;\n  buf[0] = 0;\n",
           i);
    if (s->ret != CG_VOID) {
      snprintf(lv, sizeof lv, "*(%s const *)r", g->types[s->ret].name);
      cg_emit_fmt(g, o, s->ret, lv);
    } else {
      cg_put(o, "  (void)o;\n  (void)r;\n");
    }
    cg_put(o, "}\n");
    if (s->cb)
      cg_emit_cb_taker(g, o, i);
  }
}

/* -- Emitting the driver ---------------------------------------------- */

/* Prints "f<i> <ret> h=<hash>" per function, then
** "cb<i> (<args>)(<args>) => <hash>" per callback test. */
CG_FN void cg_emit_driver(cg_gen *g) {
  cg_str *o = &g->driver;
  cg_put(o,
         "/* Generated by tests/callgen.h, seed 0x%llx. */\n"
         "#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n"
         "%s",
         (unsigned long long)g->seed, g->cdef.p);
  cg_emit_helper_protos(g, o);
  cg_put(o,
         "static char cgd_log[1 << 16], cgd_tmp[%d];\n"
         "static int cgd_call;\n"
         "static void cgd_add(const char *s) {\n"
         "  size_t n = strlen(cgd_log);\n"
         "  snprintf(cgd_log + n, sizeof cgd_log - n, \"%%s\", s);\n"
         "}\n",
         CG_FMTMAX);
  for (int i = 0; i < g->nsigs; i++) {
    const cg_sig *s = &g->sigs[i];
    if (!s->cb)
      continue;
    cg_put(o, "static %s %scgd_cb%d(", g->types[s->ret].name,
           g->ms ? "__attribute__((ms_abi)) " : "", i);
    for (int a = 0; a < s->nargs; a++)
      cg_put(o, "%s%s a%d", a ? ", " : "", g->types[s->args[a]].name, a);
    cg_put(o, "%s) {\n  cgd_add(\"(\");\n", s->nargs ? "" : "void");
    for (int a = 0; a < s->nargs; a++)
      cg_put(o,
             "  %scg_cbfmt%d(cgd_tmp, sizeof cgd_tmp, %d, &a%d);\n"
             "  cgd_add(cgd_tmp);\n",
             a ? "cgd_add(\", \");\n  " : "", i, a, a);
    cg_put(o, "  cgd_add(\")\");\n");
    if (s->ret != CG_VOID)
      cg_put(o, "  %s r;\n  cg_cbret%d(&r, cgd_call++);\n  return r;\n",
             g->types[s->ret].name, i);
    else
      cg_put(o, "  cgd_call++;\n");
    cg_put(o, "}\n");
  }
  cg_put(o, "int main(void) {\n  static char b[%d];\n", CG_FMTMAX);
  for (int i = 0; i < g->nsigs; i++) {
    const cg_sig *s = &g->sigs[i];
    uint64_t rs = cg_stream(g->seed, 2, (unsigned)i, 0);
    cg_put(o, "  {\n  cg_last = 0;\n  ");
    if (s->ret != CG_VOID)
      cg_put(o, "%s r = ", g->types[s->ret].name);
    cg_put(o, "cg_f%d(", i);
    if (g->cli)
      cg_put(&g->cliargs, "cg_f%d", i);
    for (int a = 0; a < s->nargs; a++) {
      if (a)
        cg_put(o, ", ");
      if (g->cli)
        cg_put(&g->cliargs, "\t");
      cg_expr(g, o, g->cli ? &g->cliargs : NULL, s->args[a], &rs);
    }
    if (g->cli)
      cg_put(&g->cliargs, "\n");
    cg_put(o, ");\n");
    if (s->ret != CG_VOID)
      cg_put(o, "  cg_fmtret%d(b, sizeof b, &r);\n", i);
    else
      cg_put(o, "  b[0] = 0;\n");
    cg_put(o, "  printf(\"f%d %%s h=%%llx\\n\", b, cg_last);\n  }\n", i);
  }
  for (int i = 0; i < g->nsigs; i++) {
    if (!g->sigs[i].cb)
      continue;
    cg_put(o,
           "  cgd_log[0] = 0;\n  cgd_call = 0;\n"
           "  printf(\"cb%d %%llx\", cg_cb%d(cgd_cb%d));\n"
           "  printf(\" %%s\\n\", cgd_log);\n",
           i, i, i);
  }
  cg_put(o, "  return 0;\n}\n");
}

/* -- Entry points ----------------------------------------------------- */

/* Flags of cg_generate(). */
#define CG_CLI 1u /* Only what `modffi call` can spell (see cg_gen.cli). */
/* No long double: valgrind runs x87 code with 64-bit doubles, so the same
** library computes other long double results under valgrind than in the
** native driver. */
#define CG_NO_LDOUBLE 2u
/* Every function and callback of the Microsoft x64 convention
** (__attribute__((ms_abi)), x86-64 only). */
#define CG_MS_ABI 4u

/* Generate nsigs signatures from seed and write every text. */
CG_FN void cg_generate(cg_gen *g, uint64_t seed, int nsigs, unsigned flags) {
  memset(g, 0, sizeof *g);
  g->seed = seed;
  g->cli = flags & CG_CLI;
  g->no_ld = flags & CG_NO_LDOUBLE;
  g->ms = flags & CG_MS_ABI;
  cg_init_types(g);
  cg_fixed_aggs(g);
  uint64_t rs = cg_stream(seed, 0, 0, 0);
  for (int i = 0; i < CG_NAGG; i++)
    cg_random_agg(g, &rs);
  g->nsigs = nsigs;
  g->sigs = calloc((size_t)nsigs, sizeof *g->sigs);
  if (!g->sigs)
    abort();
  for (int i = 0; i < nsigs; i++) {
    cg_make_sig(g, i, &g->sigs[i]);
    g->ncb += g->sigs[i].cb;
  }
  cg_emit_cdef(g);
  cg_emit_lib(g);
  cg_emit_driver(g);
}

CG_FN void cg_free(cg_gen *g) {
  free(g->sigs);
  cg_str_free(&g->cdef);
  cg_str_free(&g->lib);
  cg_str_free(&g->driver);
  cg_str_free(&g->cliargs);
}

/* Write s to dir/name; 0 on success. */
CG_FN int cg_write(const char *dir, const char *name, const cg_str *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  size_t n = s->len ? fwrite(s->p, 1, s->len, f) : 0;
  int rc = fclose(f);
  return n == s->len && rc == 0 ? 0 : -1;
}

/* The seed: MFFI_CALLGEN_SEED (decimal or 0x hex) or a fixed default. */
CG_FN uint64_t cg_seed(void) {
  const char *e = getenv("MFFI_CALLGEN_SEED");
  if (e && *e)
    return strtoull(e, NULL, 0);
  return 0x6d6f64666669ULL; /* "modffi" */
}

#endif
