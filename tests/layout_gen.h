/* Layout oracle: random struct/union definitions and cc. See LICENSE.
**
** The C compiler is the truth for layouts. This header writes C definitions
** (seeded, deterministic), a program that prints what the compiler says about
** them (sizeof, _Alignof, offsetof, bit-field positions found at run time),
** and reads that program's output back. test_layout.c compares the answers
** with modffi's. Everything is static: each test executable links one .c.
**
** What the definitions cover: every scalar type (integers to __int128,
** floats to _Float128 and _Complex, pointers, function pointers, enums with
** negative and 64-bit values, packed enums); typedefs that raise or lower
** alignment or use mode(); named and anonymous nested structs and unions;
** arrays of 1-3 dimensions, zero-length and flexible arrays; bit-fields of
** every integer type, unnamed, zero-width and full-width, in structs and
** unions; packed and aligned(N) on types, members and bit-fields, in every
** position gcc accepts; _Alignas; #pragma pack in all its forms (push and
** pop with and without ids, _Pragma, values GCC ignores) around a quarter
** of the definitions; several declarators sharing one type;
** constant expressions where numbers go. Each type is checked through its
** member paths: "a", "a.b", "a[2][1].c", members of anonymous ones by name.
*/
#ifndef MFFI_LAYOUT_GEN_H
#define MFFI_LAYOUT_GEN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The includer defines _POSIX_C_SOURCE (mkdtemp, popen) before any header. */

#define LG_MAX_MEMBERS 8  /* Max. members of a top-level body. */
#define LG_MAX_INNER 4    /* Max. members of an inline nested body. */
#define LG_MAX_INLINE 2   /* Max. depth of inline struct/union nesting. */
#define LG_MAX_DEPTH 4    /* Max. depth of named types inside named types. */
#define LG_MAX_PATHS 48   /* Max. member paths checked per type. */
#define LG_MAX_SUBPATHS 6 /* Paths taken from a nested named aggregate. */
#define LG_MAX_EST 1024   /* Largest estimated size nested or arrayed. */

/* -- Growable text ------------------------------------------------------ */

typedef struct lg_buf {
  char *p;
  size_t len, cap;
} lg_buf;

static void lg_need(lg_buf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    fprintf(stderr, "layout_gen: out of memory\n");
    abort(); /* A test helper: nothing sensible to do without memory. */
  }
  b->p = p;
  b->cap = cap;
}

static void lg_putn(lg_buf *b, const char *s, size_t n) {
  lg_need(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void lg_puts(lg_buf *b, const char *s) {
  lg_putn(b, s, strlen(s));
}

static void lg_printf(lg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lg_printf(lg_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  lg_need(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void lg_buf_free(lg_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* Template text with its '@' (the declarator name's place) replaced. */
static void lg_subst(lg_buf *out, const char *tmpl, const char *name) {
  const char *at = strchr(tmpl, '@');
  if (!at) {
    lg_puts(out, tmpl);
    return;
  }
  lg_putn(out, tmpl, (size_t)(at - tmpl));
  lg_puts(out, name);
  lg_puts(out, at + 1);
}

static char *lg_strdup(const char *s) {
  lg_buf b = {0};
  lg_puts(&b, s);
  return b.p;
}

/* -- Types, member paths and the set they live in ------------------------ */

/* A member reachable by a C member designator, with the compiler's answer
** once the oracle ran. */
typedef struct lg_path {
  char *path;    /* "a.b[1].c" */
  int bf;        /* 1: a bit-field (offsetof refuses it). */
  long long off; /* Oracle: byte offset, or bit offset for a bit-field. */
  int width;     /* Oracle: bit-field width; -1 if the bits were not one run. */
  int got;       /* Oracle answered. */
} lg_path;

typedef struct lg_paths {
  lg_path *v;
  size_t n, cap;
} lg_paths;

static void lg_path_add(lg_paths *ps, const char *prefix, const char *path,
                        int bf) {
  if (ps->n == ps->cap) {
    ps->cap = ps->cap ? ps->cap * 2 : 8;
    ps->v = realloc(ps->v, ps->cap * sizeof *ps->v);
    if (!ps->v) abort();
  }
  lg_buf b = {0};
  lg_puts(&b, prefix);
  lg_puts(&b, path);
  ps->v[ps->n++] = (lg_path){b.p, bf, 0, 0, 0};
}

static void lg_paths_free(lg_paths *ps) {
  for (size_t i = 0; i < ps->n; i++)
    free(ps->v[i].path);
  free(ps->v);
  ps->v = NULL;
  ps->n = ps->cap = 0;
}

/* A type to check: a name C and mffi_typeof both accept, and its paths. */
typedef struct lg_type {
  char *name;      /* "struct s12", "union s3", "lowalign", "t7a". */
  size_t chunk;    /* The definition that made it (index into chunks). */
  size_t def_from; /* First chunk to show with it (a typedef's struct). */
  int aggregate;   /* A generated struct/union definition. */
  int has_flex;    /* Ends in a flexible array member. */
  int no_array;    /* An aligned typedef: size % align may be nonzero. */
  int depth;       /* Nesting depth of named types inside. */
  size_t est;      /* Rough upper bound of sizeof. */
  size_t est_align;
  lg_paths paths;
  long long size, align; /* Oracle's answer. */
  int got;
} lg_type;

/* Definitions text, split into top-level declarations ("chunks"), and the
** types to check. */
typedef struct lg_set {
  lg_buf defs;
  size_t *chunk; /* Start offset of each chunk in defs. */
  size_t nchunks, capchunks;
  lg_type *types;
  size_t ntypes, captypes;
} lg_set;

static void lg_chunk_begin(lg_set *s) {
  if (s->nchunks == s->capchunks) {
    s->capchunks = s->capchunks ? s->capchunks * 2 : 64;
    s->chunk = realloc(s->chunk, s->capchunks * sizeof *s->chunk);
    if (!s->chunk) abort();
  }
  s->chunk[s->nchunks++] = s->defs.len;
}

/* Text of chunk i: a pointer into defs and its length. */
static const char *lg_chunk_text(const lg_set *s, size_t i, size_t *len) {
  size_t end = i + 1 < s->nchunks ? s->chunk[i + 1] : s->defs.len;
  *len = end - s->chunk[i];
  return s->defs.p + s->chunk[i];
}

/* A new type for the last chunk; returns it for paths to be added. */
static lg_type *lg_type_add(lg_set *s, const char *name) {
  if (s->ntypes == s->captypes) {
    s->captypes = s->captypes ? s->captypes * 2 : 64;
    s->types = realloc(s->types, s->captypes * sizeof *s->types);
    if (!s->types) abort();
  }
  lg_type *t = &s->types[s->ntypes++];
  memset(t, 0, sizeof *t);
  t->name = lg_strdup(name);
  t->chunk = s->nchunks ? s->nchunks - 1 : 0;
  t->def_from = t->chunk;
  return t;
}

static void lg_set_free(lg_set *s) {
  for (size_t i = 0; i < s->ntypes; i++) {
    free(s->types[i].name);
    lg_paths_free(&s->types[i].paths);
  }
  free(s->types);
  free(s->chunk);
  lg_buf_free(&s->defs);
  memset(s, 0, sizeof *s);
}

/* -- Random numbers (splitmix64: tiny, and the same on every platform) --- */

typedef struct lg_gen {
  uint64_t rng;
  lg_set *set;
  int nfield; /* Next member name number (f0, f1, ...) in this type. */
  int ntag;   /* Next inline tag number in this type. */
  int self;   /* Index of the type being written. */
  int self_union;
  size_t first_agg; /* Index in set->types of the first generated type. */
} lg_gen;

static uint64_t lg_next(lg_gen *g) {
  uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static unsigned lg_below(lg_gen *g, unsigned n) {
  return (unsigned)(lg_next(g) % n);
}

static int lg_chance(lg_gen *g, unsigned pct) {
  return lg_below(g, 100) < pct;
}

/* -- Scalars and the preamble ------------------------------------------- */

/* A member type that is not an aggregate: its declarator template ('@'
** is the name), its width if it can be a bit-field, a size and alignment
** estimate, and whether arrays of it are allowed (gcc refuses arrays whose
** element size is not a multiple of the alignment). */
typedef struct lg_scalar {
  const char *decl;
  int bits;
  int size, align;
  int arrayable;
} lg_scalar;

static const lg_scalar lg_scalars[] = {
    {"_Bool @", 1, 1, 1, 1},
    {"char @", 8, 1, 1, 1},
    {"signed char @", 8, 1, 1, 1},
    {"unsigned char @", 8, 1, 1, 1},
    {"short @", 16, 2, 2, 1},
    {"unsigned short @", 16, 2, 2, 1},
    {"short int @", 16, 2, 2, 1},
    {"int @", 32, 4, 4, 1},
    {"unsigned @", 32, 4, 4, 1},
    {"signed @", 32, 4, 4, 1},
    {"unsigned int @", 32, 4, 4, 1},
    {"long @", 64, 8, 8, 1},
    {"unsigned long @", 64, 8, 8, 1},
    {"long int @", 64, 8, 8, 1},
    {"long long @", 64, 8, 8, 1},
    {"unsigned long long @", 64, 8, 8, 1},
    {"long long unsigned int @", 64, 8, 8, 1},
    {"__int128 @", 128, 16, 16, 1},
    {"unsigned __int128 @", 128, 16, 16, 1},
    {"int long @", 64, 8, 8, 1},
    {"char signed @", 8, 1, 1, 1},
    {"__int128_t @", 128, 16, 16, 1},
    {"__uint128_t @", 128, 16, 16, 1},
    {"enum e0 @", 32, 4, 4, 1},
    {"enum e1 @", 32, 4, 4, 1},
    {"enum e2 @", 64, 8, 8, 1},
    {"enum e3 @", 64, 8, 8, 1},
    {"enum e4 @", 8, 1, 1, 1},
    {"enum e5 @", 16, 2, 2, 1},
    {"enum e6 @", 32, 4, 4, 1},
    {"enum e7 @", 64, 8, 8, 1},
    {"lowalign @", 64, 8, 2, 1},
    {"short_a1 @", 16, 2, 1, 1},
    {"int_a8 @", 32, 4, 8, 0},
    {"u16_a4 @", 16, 2, 4, 0},
    {"uc_a4 @", 8, 1, 4, 0},
    {"ull_a4 @", 64, 8, 4, 1},
    {"i128_a8 @", 128, 16, 8, 1},
    {"e0_a2 @", 32, 4, 2, 1},
    {"int_a1 @", 32, 4, 1, 1},
    {"float @", 0, 4, 4, 1},
    {"double @", 0, 8, 8, 1},
    {"long double @", 0, 16, 16, 1},
    {"_Float128 @", 0, 16, 16, 1},
    {"_Float16 @", 0, 2, 2, 1},
    {"__float128 @", 0, 16, 16, 1},
    {"_Float64x @", 0, 16, 16, 1},
    {"_Float32 @", 0, 4, 4, 1},
    {"__builtin_va_list @", 0, 24, 8, 1},
    {"__complex__ double @", 0, 16, 8, 1},
    {"float _Complex @", 0, 8, 4, 1},
    {"_Complex double @", 0, 16, 8, 1},
    {"long double _Complex @", 0, 32, 16, 1},
    {"dbl_a16 @", 0, 8, 16, 0},
    {"dbl_a4 @", 0, 8, 4, 1},
    {"ld_a8 @", 0, 16, 8, 1},
    {"vp_a1 @", 0, 8, 1, 1},
    {"reg_w @", 64, 8, 8, 1},
    {"u8_qi @", 8, 1, 1, 1},
    {"s16_hi @", 16, 2, 2, 1},
    {"u32_si @", 32, 4, 4, 1},
    {"s128_ti @", 128, 16, 16, 1},
    {"ia2_a16 @", 0, 8, 16, 0},
    {"void *@", 0, 8, 8, 1},
    {"const char *@", 0, 8, 8, 1},
    {"int **@", 0, 8, 8, 1},
    {"struct never_defined *@", 0, 8, 8, 1},
    {"double (*@)[4]", 0, 8, 8, 1},
    {"int (*@)(int, char *)", 0, 8, 8, 1},
    {"void (*@)(void)", 0, 8, 8, 1},
    {"long double (*@)(const void *, ...)", 0, 8, 8, 1},
    {"fn_t @", 0, 8, 8, 1},
    {"volatile int @", 0, 4, 4, 1},
    {"const long @", 0, 8, 8, 1},
    {"int3 @", 0, 12, 4, 1},
    {"v4sf @", 0, 16, 16, 1},
    {"v2si @", 0, 8, 8, 1},
    {"v8df_a16 @", 0, 64, 16, 1},
    {"v4m @", 0, 16, 16, 1},
    {"const v4sf @", 0, 16, 16, 1},
    /* Not in arrays: gcc takes "[0]" of it for a flexible array. */
    {"char __attribute__((vector_size(4))) @", 0, 4, 4, 0},
};
#define LG_NSCALARS (sizeof lg_scalars / sizeof lg_scalars[0])

/* Preamble: enums (64-bit, negative, packed) and typedefs (alignment raised
** and lowered), each its own chunk, each a checked type. */
static const char *const lg_preamble[][2] = {
    {"enum e0 { E0A, E0B, E0C };", "enum e0"},
    {"enum e1 { E1A = -1, E1B = 5 };", "enum e1"},
    {"enum e2 { E2A = 0x100000000, E2B };", "enum e2"},
    {"enum e3 { E3A = -0x100000000LL, E3B = 1 };", "enum e3"},
    {"enum __attribute__((packed)) e4 { E4A, E4B = 200 };", "enum e4"},
    {"enum e5 { E5A = -200, E5B } __attribute__((__packed__));", "enum e5"},
    {"enum e6 { E6A = 0x80000000u };", "enum e6"},
    {"enum e7 { E7A = -0x7fffffffffffffffLL - 1, E7B = 0x7fffffffffffffffLL };",
     "enum e7"},
    {"typedef long lowalign __attribute__((aligned(2)));", "lowalign"},
    {"typedef short short_a1 __attribute__((aligned(1)));", "short_a1"},
    {"typedef int int_a8 __attribute__((aligned(8)));", "int_a8"},
    {"typedef unsigned short u16_a4 __attribute__((__aligned__(4)));",
     "u16_a4"},
    {"typedef unsigned char uc_a4 __attribute__((aligned(4)));", "uc_a4"},
    {"typedef unsigned long long ull_a4 __attribute__((aligned(4)));",
     "ull_a4"},
    {"typedef __int128 i128_a8 __attribute__((aligned(8)));", "i128_a8"},
    {"typedef enum e0 e0_a2 __attribute__((aligned(2)));", "e0_a2"},
    {"typedef int int_a1 __attribute__((aligned(1)));", "int_a1"},
    {"typedef double dbl_a16 __attribute__((aligned(16)));", "dbl_a16"},
    {"typedef double dbl_a4 __attribute__((aligned(4)));", "dbl_a4"},
    {"typedef long double ld_a8 __attribute__((aligned(8)));", "ld_a8"},
    {"typedef void *vp_a1 __attribute__((aligned(1)));", "vp_a1"},
    {"typedef int reg_w __attribute__((__mode__(__word__)));", "reg_w"},
    {"typedef unsigned int u8_qi __attribute__((mode(QI)));", "u8_qi"},
    {"typedef long s16_hi __attribute__((__mode__(__HI__)));", "s16_hi"},
    {"typedef unsigned long long u32_si __attribute__((mode(SI)));", "u32_si"},
    {"typedef int s128_ti __attribute__((mode(TI)));", "s128_ti"},
    {"typedef int ia2_a16[2] __attribute__((aligned(16)));", "ia2_a16"},
    {"typedef void (*fn_t)(int, ...);", "fn_t"},
    {"typedef int int3[3];", "int3"},
    /* GCC vectors: aligned to their size up to 16 (no AVX). */
    {"typedef float v4sf __attribute__((vector_size(16)));", "v4sf"},
    {"typedef int v2si __attribute__((__vector_size__(8)));", "v2si"},
    {"typedef double v8df_a16 __attribute__((__vector_size__(64), "
     "__aligned__(16)));",
     "v8df_a16"},
    {"typedef float v4m __attribute__((mode(V4SF)));", "v4m"},
};
#define LG_NPREAMBLE (sizeof lg_preamble / sizeof lg_preamble[0])

/* -- Member types --------------------------------------------------------- */

/* One member's type as the generator sees it. */
typedef struct lg_mt {
  lg_buf decl; /* Declarator template with one '@'. */
  int bits;    /* Bit-field width limit; 0 if not an integer. */
  int arrayable;
  size_t est, align; /* Estimates; align is never below the real one. */
  lg_paths sub;      /* Paths inside an aggregate, relative to it. */
  int depth;
} lg_mt;

static void lg_mt_free(lg_mt *mt) {
  lg_buf_free(&mt->decl);
  lg_paths_free(&mt->sub);
}

static const char *lg_attr_word(lg_gen *g, const char *w) {
  /* Headers spell attributes both ways; modffi must accept both. */
  if (!lg_chance(g, 25)) return w;
  return strcmp(w, "packed") == 0 ? "__packed__" : "__aligned__";
}

static unsigned lg_pick_align(lg_gen *g) {
  static const unsigned al[] = {1, 2, 4, 8, 8, 16, 16, 32, 64};
  if (lg_chance(g, 2))
    return lg_chance(g, 70) ? 128 : 4096; /* Cache lines, pages. */
  return al[lg_below(g, sizeof al / sizeof al[0])];
}

/* n as C text: mostly the number, sometimes a constant expression that the
** declaration parser has to evaluate. */
static void lg_num(lg_gen *g, lg_buf *out, unsigned n) {
  if (!lg_chance(g, 10)) {
    lg_printf(out, "%u", n);
    return;
  }
  switch (lg_below(g, 5)) {
  case 0: lg_printf(out, "(%u + %u)", n / 2, n - n / 2); break;
  case 1: lg_printf(out, "sizeof(char) * %u", n); break;
  case 2: lg_printf(out, "%u << 2 >> 2", n); break;
  case 3: lg_printf(out, "E0C - 2 + %u", n); break;
  default: lg_printf(out, "%u * sizeof(short) / 2", n); break;
  }
}

/* aligned(N) as headers write it. A bare "aligned" is the target's largest
** alignment: 16 on x86-64. */
static void lg_aligned(lg_gen *g, lg_buf *out, unsigned al) {
  if (al == 16 && lg_chance(g, 15)) {
    lg_puts(out, lg_attr_word(g, "aligned"));
    return;
  }
  lg_printf(out, "%s(", lg_attr_word(g, "aligned"));
  if ((al == 4 || al == 8 || al == 16) && lg_chance(g, 10))
    lg_puts(out, al == 4   ? "sizeof(int)"
                 : al == 8 ? "__alignof__(double)"
                           : "_Alignof(long double)");
  else
    lg_num(g, out, al);
  lg_puts(out, ")");
}

/* "__attribute__((packed, aligned(N)))", in one list or two; nothing if
** neither is asked for. */
static void lg_attrs(lg_gen *g, lg_buf *out, int packed, unsigned al) {
  if (!packed && !al) return;
  int two = packed && al && lg_chance(g, 30);
  lg_puts(out, "__attribute__((");
  if (packed) lg_puts(out, lg_attr_word(g, "packed"));
  if (two)
    lg_puts(out, ")) __attribute__((");
  else if (packed && al)
    lg_puts(out, ", ");
  if (al) lg_aligned(g, out, al);
  if (lg_chance(g, 10)) {
    /* Attributes without effect on layout, which the parser must skip. */
    static const char *const noise[] = {"unused", "__unused__", "deprecated",
                                        "deprecated(\"old\")", "__used__"};
    lg_printf(out, ", %s", noise[lg_below(g, 5)]);
  }
  lg_puts(out, "))");
}

static void lg_body(lg_gen *g, lg_buf *out, lg_paths *ps, int is_union,
                    int inline_depth, int top, size_t *est, size_t *align,
                    int *depth, int *flex);

static void lg_scalar_mt(lg_mt *mt, const lg_scalar *sc) {
  lg_puts(&mt->decl, sc->decl);
  mt->bits = sc->bits;
  mt->arrayable = sc->arrayable;
  mt->est = (size_t)sc->size;
  mt->align = (size_t)sc->align;
  /* gcc may align a bit-field that fills its type like an ordinary field
  ** of that size, above a typedef's lowered alignment. */
  if (sc->bits && sc->size > sc->align) mt->align = (size_t)sc->size;
}

/* A bit-field's type. Types whose alignment is not their size (aligned
** typedefs) are where the rules are subtle: they get a fair share. */
static const lg_scalar *lg_pick_bits(lg_gen *g) {
  int odd = lg_chance(g, 20);
  for (;;) {
    const lg_scalar *sc = &lg_scalars[lg_below(g, LG_NSCALARS)];
    if (sc->bits && (sc->size != sc->align) == odd) return sc;
  }
}

/* Pointer to a generated type, possibly itself or one not yet defined. */
static void lg_tagptr_mt(lg_gen *g, lg_mt *mt) {
  lg_set *s = g->set;
  size_t ngen = s->ntypes - g->first_agg;
  if (ngen == 0 || lg_chance(g, 30)) {
    lg_printf(&mt->decl, "%s s%d *@", g->self_union ? "union" : "struct",
              g->self);
  } else {
    const lg_type *t = &s->types[g->first_agg + lg_below(g, (unsigned)ngen)];
    lg_printf(&mt->decl, "%s *@", t->name);
  }
  mt->est = mt->align = 8;
  mt->arrayable = 1;
}

/* An earlier generated struct/union (or a typedef of one) by name. */
static int lg_named_mt(lg_gen *g, lg_mt *mt, int need_array) {
  lg_set *s = g->set;
  size_t ngen = s->ntypes - g->first_agg;
  for (int tries = 0; ngen && tries < 8; tries++) {
    const lg_type *t = &s->types[g->first_agg + lg_below(g, (unsigned)ngen)];
    if (t->has_flex || t->depth >= LG_MAX_DEPTH || t->est > LG_MAX_EST ||
        (need_array && t->no_array))
      continue;
    if (lg_chance(g, 5))
      lg_puts(&mt->decl, lg_chance(g, 50) ? "const " : "volatile ");
    lg_printf(&mt->decl, "%s @", t->name);
    mt->bits = 0;
    mt->arrayable = !t->no_array;
    mt->est = t->est;
    mt->align = t->est_align;
    mt->depth = t->depth + 1;
    for (size_t i = 0; i < t->paths.n; i++)
      lg_path_add(&mt->sub, "", t->paths.v[i].path, t->paths.v[i].bf);
    return 1;
  }
  return 0;
}

/* An inline struct/union type for a named member: "struct { ... } @",
** sometimes with a tag, attributes, or no members at all (GNU C). */
static void lg_inline_mt(lg_gen *g, lg_mt *mt, int inline_depth) {
  int is_union = lg_chance(g, 40);
  lg_puts(&mt->decl, is_union ? "union " : "struct ");
  int packed = lg_chance(g, 20);
  unsigned al = lg_chance(g, 8) ? lg_pick_align(g) : 0;
  if (packed || al) {
    lg_attrs(g, &mt->decl, packed, al);
    lg_puts(&mt->decl, " ");
  }
  if (lg_chance(g, 30)) lg_printf(&mt->decl, "s%d_%d ", g->self, g->ntag++);
  mt->arrayable = 1;
  mt->align = al > 1 ? al : 1;
  if (lg_chance(g, 3)) {
    lg_puts(&mt->decl, "{} @");
    mt->est = mt->align;
    return;
  }
  int flex = 0;
  lg_body(g, &mt->decl, &mt->sub, is_union, inline_depth + 1, 0, &mt->est,
          &mt->align, &mt->depth, &flex);
  lg_puts(&mt->decl, " @");
}

/* Wrap an arrayable template in 1-3 dimensions of 1-4 elements each, or
** in one of 0 (GNU zero-length array); the dimensions go to dims. */
static void lg_array(lg_gen *g, lg_mt *mt, unsigned *dims, int *ndims) {
  int zero = lg_chance(g, 3);
  *ndims = zero ? 1 : 1 + (lg_chance(g, 25) ? 1 + lg_chance(g, 30) : 0);
  lg_buf at = {0};
  lg_puts(&at, "@");
  size_t n = 1;
  for (int i = 0; i < *ndims; i++) {
    dims[i] = zero ? 0 : 1 + lg_below(g, 4);
    n *= dims[i];
    lg_puts(&at, "[");
    lg_num(g, &at, dims[i]);
    lg_puts(&at, "]");
  }
  lg_buf b = {0};
  lg_subst(&b, mt->decl.p, at.p);
  lg_buf_free(&mt->decl);
  mt->decl = b;
  mt->est *= n;
  mt->bits = 0;
  lg_buf_free(&at);
}

static void lg_indent(lg_buf *out, int level) {
  for (int i = 0; i < level; i++)
    lg_puts(out, "  ");
}

/* -- Bodies ------------------------------------------------------------- */

/* Member attributes after the declarator: packed, aligned(N). */
static void lg_member_attrs(lg_gen *g, lg_buf *out, int no_aligned,
                            size_t *align) {
  int packed = lg_chance(g, 8);
  unsigned al = !no_aligned && lg_chance(g, 8) ? lg_pick_align(g) : 0;
  if (!packed && !al) return;
  lg_puts(out, " ");
  lg_attrs(g, out, packed, al);
  if (al > *align) *align = al;
}

/* Add paths of a member called name: itself, an element of an array, and
** (some of) the members inside an aggregate. */
static void lg_member_paths(lg_gen *g, lg_paths *ps, const char *name,
                            const lg_mt *mt, const unsigned *dims, int ndims) {
  lg_path_add(ps, "", name, 0);
  lg_buf pre = {0};
  lg_puts(&pre, name);
  if (ndims > 0 && lg_chance(g, 5)) {
    /* offsetof takes an index past the end (or into a zero-length array);
    ** only for this path, as the oracle writes through the others. */
    for (int i = 0; i < ndims; i++)
      lg_printf(&pre, "[%u]", dims[i] + lg_below(g, 3));
    lg_path_add(ps, "", pre.p, 0);
    pre.len = strlen(name);
    pre.p[pre.len] = '\0';
  }
  for (int i = 0; i < ndims; i++)
    if (dims[i] == 0)
      goto done; /* A zero-length array has no element to look at. */
  if (ndims > 0) {
    for (int i = 0; i < ndims; i++)
      lg_printf(&pre, "[%u]", lg_below(g, dims[i]));
    lg_path_add(ps, "", pre.p, 0);
  }
  lg_puts(&pre, ".");
  size_t n = mt->sub.n;
  size_t take = n <= LG_MAX_SUBPATHS ? n : LG_MAX_SUBPATHS;
  size_t start = n > take ? lg_below(g, (unsigned)(n - take + 1)) : 0;
  for (size_t i = start; i < start + take; i++)
    lg_path_add(ps, pre.p, mt->sub.v[i].path, mt->sub.v[i].bf);
done:
  lg_buf_free(&pre);
}

static void lg_bitfield(lg_gen *g, lg_buf *out, lg_paths *ps, int level,
                        size_t *est, size_t *align, int named) {
  const lg_scalar *sc = lg_pick_bits(g);
  unsigned w;
  if (!named && lg_chance(g, 60))
    w = 0;
  else if (lg_chance(g, 15))
    w = (unsigned)sc->bits;
  else
    w = 1 + lg_below(g, (unsigned)sc->bits);
  char name[32] = "";
  if (named) snprintf(name, sizeof name, "f%d", g->nfield++);
  lg_indent(out, level);
  if (lg_chance(g, 3)) lg_puts(out, "__extension__ ");
  lg_subst(out, sc->decl, name);
  lg_puts(out, named ? " : " : ": ");
  lg_num(g, out, w);
  size_t al = (size_t)(sc->size > sc->align ? sc->size : sc->align);
  lg_member_attrs(g, out, 0, &al);
  lg_puts(out, ";\n");
  if (named) lg_path_add(ps, "", name, 1);
  *est += (size_t)sc->size + al;
  if (named && al > *align) *align = al;
}

/* Several declarators sharing one type: "int f1, *f2, f3[2], f4 : 3;".
** mt's template ends in " @", so its text before the '@' is the type. */
static void lg_multi(lg_gen *g, lg_buf *out, lg_paths *ps, int level,
                     const lg_mt *mt, size_t *est, size_t *align) {
  unsigned n = 2 + lg_below(g, 3);
  lg_indent(out, level);
  lg_putn(out, mt->decl.p, mt->decl.len - 1);
  size_t spec_al = 0;
  if (lg_chance(g, 15)) {
    /* Attributes among the specifiers apply to every declarator (or, after
    ** an inline struct's brace, to its type). */
    lg_buf tmp = {0};
    lg_member_attrs(g, &tmp, 0, &spec_al);
    if (tmp.p) lg_printf(out, "%s ", tmp.p + 1);
    lg_buf_free(&tmp);
  }
  for (unsigned k = 0; k < n; k++) {
    char name[32];
    snprintf(name, sizeof name, "f%d", g->nfield++);
    if (k) lg_puts(out, ", ");
    unsigned r = lg_below(g, 4);
    size_t al = mt->align, sz = mt->est;
    if (r == 1) {
      lg_printf(out, "*%s", name);
      lg_path_add(ps, "", name, 0);
      al = sz = 8;
    } else if (r == 2 && mt->arrayable) {
      unsigned d = 1 + lg_below(g, 4);
      lg_printf(out, "%s[", name);
      lg_num(g, out, d);
      lg_puts(out, "]");
      lg_member_paths(g, ps, name, mt, &d, 1);
      sz *= d;
    } else if (r == 3 && mt->bits) {
      unsigned w = 1 + lg_below(g, (unsigned)mt->bits);
      lg_printf(out, "%s : ", name);
      lg_num(g, out, w);
      lg_path_add(ps, "", name, 1);
    } else {
      lg_puts(out, name);
      lg_member_paths(g, ps, name, mt, NULL, 0);
    }
    if (spec_al > al) al = spec_al;
    lg_member_attrs(g, out, 0, &al);
    *est += sz + al;
    if (al > *align) *align = al;
  }
  lg_puts(out, ";\n");
}

/* One named member of a random type (or several sharing the type). */
static void lg_member(lg_gen *g, lg_buf *out, lg_paths *ps, int inline_depth,
                      size_t *est, size_t *align, int *depth) {
  lg_mt mt = {0};
  unsigned r = lg_below(g, 100);
  if (r < 8)
    lg_tagptr_mt(g, &mt);
  else if (r < 26 && lg_named_mt(g, &mt, 0))
    ;
  else if (r < 34 && inline_depth < LG_MAX_INLINE)
    lg_inline_mt(g, &mt, inline_depth);
  else
    lg_scalar_mt(&mt, &lg_scalars[lg_below(g, LG_NSCALARS)]);
  if (mt.depth > *depth) *depth = mt.depth;

  size_t len = mt.decl.len;
  if (len > 2 && strcmp(mt.decl.p + len - 2, " @") == 0 && lg_chance(g, 12)) {
    lg_multi(g, out, ps, inline_depth + 1, &mt, est, align);
    lg_mt_free(&mt);
    return;
  }

  unsigned dims[3];
  int ndims = 0;
  if (mt.arrayable && mt.est <= LG_MAX_EST / 4 && lg_chance(g, 22))
    lg_array(g, &mt, dims, &ndims);

  char name[32];
  snprintf(name, sizeof name, "f%d", g->nfield++);
  lg_indent(out, inline_depth + 1);
  if (lg_chance(g, 3)) lg_puts(out, "__extension__ ");
  size_t al = mt.align;
  r = lg_below(g, 100);
  if (r < 4) {
    /* gcc also takes attributes before the declaration. */
    lg_buf tmp = {0};
    lg_member_attrs(g, &tmp, 0, &al);
    if (tmp.p) lg_printf(out, "%s ", tmp.p + 1);
    lg_buf_free(&tmp);
  } else if (r < 8) {
    /* C11 _Alignas may not lower the alignment: never below the estimate,
    ** which is never below the real one. */
    unsigned aa = lg_pick_align(g);
    if (aa < al) aa = (unsigned)al;
    if (aa <= 16 && lg_chance(g, 30)) {
      lg_printf(out, "_Alignas(%s) ",
                aa == 16  ? "long double"
                : aa == 8 ? "double"
                : aa == 4 ? "int"
                : aa == 2 ? "short"
                          : "char");
    } else {
      lg_puts(out, "_Alignas(");
      lg_num(g, out, aa);
      lg_puts(out, ") ");
    }
    al = aa;
  }
  lg_subst(out, mt.decl.p, name);
  lg_member_attrs(g, out, 0, &al);
  lg_puts(out, ";\n");

  lg_member_paths(g, ps, name, &mt, dims, ndims);
  *est += mt.est + al;
  if (al > *align) *align = al;
  lg_mt_free(&mt);
}

/* An anonymous struct/union member; its members are found by their names. */
static void lg_anon(lg_gen *g, lg_buf *out, lg_paths *ps, int inline_depth,
                    size_t *est, size_t *align, int *depth) {
  int is_union = lg_chance(g, 55);
  lg_indent(out, inline_depth + 1);
  if (lg_chance(g, 10)) lg_puts(out, "__extension__ ");
  lg_puts(out, is_union ? "union " : "struct ");
  size_t e = 0, a = 1;
  int packed = lg_chance(g, 15);
  unsigned al = lg_chance(g, 10) ? lg_pick_align(g) : 0;
  if (packed || al) {
    lg_attrs(g, out, packed, al);
    lg_puts(out, " ");
    if (al > a) a = al;
  }
  int flex = 0;
  lg_body(g, out, ps, is_union, inline_depth + 1, 0, &e, &a, depth, &flex);
  lg_puts(out, ";\n");
  *est += e + a;
  if (a > *align) *align = a;
}

/* "{ members }": at least one named member first (a struct with only
** unnamed bit-fields has no named members, which C does not allow). Some
** bodies are mostly bit-fields, where runs of them meet. */
static void lg_body(lg_gen *g, lg_buf *out, lg_paths *ps, int is_union,
                    int inline_depth, int top, size_t *est, size_t *align,
                    int *depth, int *flex) {
  unsigned n = 1 + lg_below(g, top ? LG_MAX_MEMBERS : LG_MAX_INNER);
  int bits = lg_chance(g, 15);
  unsigned p_unnamed = bits ? 15 : 7, p_named = bits ? 75 : 30;
  size_t e = 0, a = 1;
  lg_puts(out, "{\n");
  for (unsigned i = 0; i < n; i++) {
    unsigned r = lg_below(g, 100);
    if (i > 0 && r < p_unnamed)
      lg_bitfield(g, out, ps, inline_depth + 1, &e, &a, 0);
    else if (r < p_named)
      lg_bitfield(g, out, ps, inline_depth + 1, &e, &a, 1);
    else if (r < p_named + 8 && inline_depth < LG_MAX_INLINE)
      lg_anon(g, out, ps, inline_depth, &e, &a, depth);
    else
      lg_member(g, out, ps, inline_depth, &e, &a, depth);
    if (is_union && e > *est) *est = e;
    if (is_union) e = 0;
  }
  if (top && !is_union && lg_chance(g, 8)) {
    /* Flexible array member: last, of an arrayable scalar or type. */
    lg_mt mt = {0};
    if (!lg_chance(g, 30) || !lg_named_mt(g, &mt, 1)) {
      lg_mt_free(&mt);
      memset(&mt, 0, sizeof mt);
      const lg_scalar *sc;
      do
        sc = &lg_scalars[lg_below(g, LG_NSCALARS)];
      while (!sc->arrayable);
      lg_scalar_mt(&mt, sc);
    }
    char name[32];
    snprintf(name, sizeof name, "f%d", g->nfield++);
    lg_buf at = {0};
    lg_printf(&at, "%s[]", name);
    lg_indent(out, inline_depth + 1);
    lg_subst(out, mt.decl.p, at.p);
    lg_puts(out, ";\n");
    lg_path_add(ps, "", name, 0);
    lg_buf idx = {0};
    lg_printf(&idx, "%s[%u]", name, lg_below(g, 4));
    lg_path_add(ps, "", idx.p, 0);
    if (mt.align > a) a = mt.align;
    if (mt.depth > *depth) *depth = mt.depth;
    lg_buf_free(&at);
    lg_buf_free(&idx);
    lg_mt_free(&mt);
    *flex = 1;
  }
  lg_indent(out, inline_depth);
  lg_puts(out, "}");
  if (!is_union) *est += e;
  *est += a;
  if (a > *align) *align = a;
}

/* -- The generator -------------------------------------------------------- */

/* A typedef name for the type just added: an alias with the first few of
** its paths (the same layout through another name). */
static void lg_alias(lg_set *s, const char *tn, unsigned tal) {
  const lg_type *orig = &s->types[s->ntypes - 1];
  size_t est = orig->est, ealign = orig->est_align, from = orig->chunk;
  int depth = orig->depth;
  lg_type *td = lg_type_add(s, tn);
  orig = &s->types[s->ntypes - 2]; /* lg_type_add may move the array. */
  td->est = est;
  td->est_align = tal ? tal : ealign;
  td->depth = depth;
  /* Raised alignment may leave size % align != 0: no arrays of it. */
  td->no_array = tal > 1;
  td->def_from = from;
  for (size_t i = 0; i < orig->paths.n && i < 4; i++)
    lg_path_add(&td->paths, "", orig->paths.v[i].path, orig->paths.v[i].bf);
}

/* #pragma pack around a definition: the text before it and after it,
** which leaves the packing as it found it (no packing), so that every
** chunk means the same alone. Includes pragmas GCC ignores (a bad value,
** a pop with nothing pushed, an unknown action). */
static void lg_pack_open(lg_gen *g, lg_buf *out, int *form) {
  static const unsigned vals[] = {1, 2, 4, 8, 16};
  unsigned n = vals[lg_below(g, 5)], m = vals[lg_below(g, 5)];
  *form = (int)lg_below(g, 7);
  switch (*form) {
  case 0: lg_printf(out, "#pragma pack(%u)\n", n); break;
  case 1: lg_printf(out, "#pragma pack(push, %u)\n", n); break;
  case 2:
    lg_printf(out, "#pragma pack(push, lgid, %u)\n#pragma pack(push, %u)\n", n,
              m);
    break;
  case 3: lg_printf(out, "#pragma pack(push)\n#pragma pack(%u)\n", n); break;
  case 4: lg_printf(out, "_Pragma(\"pack(%u)\") ", n); break;
  case 5: /* A pop to an id drops what was pushed above it. */
    lg_printf(out,
              "#pragma pack(push, lgo, %u)\n#pragma pack(push, %u)\n"
              "#pragma pack(pop, lgo)\n#pragma pack(push, %u)\n",
              m, n, n);
    break;
  default: /* Ignored by GCC: a value that is not a small power of two. */
    lg_printf(out, "#pragma pack(%u)\n#pragma pack(3)\n#pragma pack(pop, 4)\n",
              n);
  }
}

static void lg_pack_close(lg_buf *out, int form) {
  switch (form) {
  case 0:
  case 6: lg_puts(out, "#pragma pack()\n"); break;
  case 2: lg_puts(out, "#pragma pack(pop, lgid)\n"); break;
  case 4: lg_puts(out, "_Pragma(\"pack()\")\n"); break;
  case 5: lg_puts(out, "#pragma pack(pop)\n#pragma pack(pop)\n"); break;
  default: lg_puts(out, "#pragma pack(pop)\n");
  }
  if (form == 1) lg_puts(out, "#pragma pack(pop)\n"); /* Nothing pushed. */
}

/* One top-level struct or union "sN": plain, "typedef struct sN {...} tN"
** or "typedef struct {...} tN", maybe with an aligned typedef after it, and
** sometimes under a #pragma pack. */
static void lg_toplevel(lg_gen *g, int idx) {
  lg_set *s = g->set;
  int is_union = lg_chance(g, 25);
  unsigned form = lg_below(g, 100); /* < 8: anonymous, < 16: both names. */
  g->self = idx;
  g->self_union = is_union;
  g->nfield = 0;
  g->ntag = 0;

  lg_chunk_begin(s);
  lg_buf *out = &s->defs;
  const char *kw = is_union ? "union" : "struct";
  int pack_form = -1;
  if (lg_chance(g, 25)) lg_pack_open(g, out, &pack_form);
  if (form < 16) lg_puts(out, "typedef ");
  lg_printf(out, "%s ", kw);
  /* Type attributes go before the tag or after the closing brace. */
  int packed = lg_chance(g, 20);
  unsigned al = lg_chance(g, 15) ? lg_pick_align(g) : 0;
  int prefix = lg_chance(g, 50);
  if (prefix && (packed || al)) {
    lg_attrs(g, out, packed, al);
    lg_puts(out, " ");
  }
  if (form >= 8) lg_printf(out, "s%d ", idx);

  lg_paths ps = {0};
  size_t est = 0, align = 1;
  int depth = 0, flex = 0;
  lg_body(g, out, &ps, is_union, 0, 1, &est, &align, &depth, &flex);
  if (!prefix && (packed || al)) {
    lg_puts(out, " ");
    lg_attrs(g, out, packed, al);
  }
  if (form < 16) lg_printf(out, " t%d", idx);
  lg_puts(out, ";\n");
  if (pack_form >= 0) lg_pack_close(out, pack_form);
  if (al > align) align = al;

  char name[32];
  if (form < 8)
    snprintf(name, sizeof name, "t%d", idx);
  else
    snprintf(name, sizeof name, "%s s%d", kw, idx);
  lg_type *t = lg_type_add(s, name);
  t->aggregate = 1;
  t->has_flex = flex;
  t->depth = depth;
  t->est = est + align;
  t->est_align = align;
  size_t keep = ps.n < LG_MAX_PATHS ? ps.n : LG_MAX_PATHS;
  for (size_t i = keep; i < ps.n; i++)
    free(ps.v[i].path);
  ps.n = keep;
  t->paths = ps;
  if (form >= 8 && form < 16) {
    snprintf(name, sizeof name, "t%d", idx);
    lg_alias(s, name, 0);
    return;
  }

  /* Typedef names are aliases; an aligned typedef may raise or lower the
  ** alignment. */
  if (!flex && lg_chance(g, 25)) {
    const char *tname = s->types[s->ntypes - 1].name;
    lg_chunk_begin(s);
    unsigned tal = 0;
    if (lg_chance(g, 30)) {
      tal = lg_pick_align(g);
      snprintf(name, sizeof name, "t%da", idx);
      lg_printf(out, "typedef %s %s __attribute__((", tname, name);
      lg_aligned(g, out, tal);
      lg_puts(out, "));\n");
    } else {
      snprintf(name, sizeof name, "t%db", idx);
      lg_printf(out, "typedef %s %s;\n", tname, name);
    }
    lg_alias(s, name, tal);
  }
}

/* Enumerator values around the limits where gcc changes an enum's type
** (with packed: the smallest type that holds them). Those marked last end
** the list: gcc refuses an implicit increment past INT_MAX or UINT_MAX (the
** next value is computed in the previous one's type), anything past the
** 64-bit limits, and a negative value beside 2^64 - 1 (marked 2). */
static const struct {
  const char *text;
  int neg, last;
} lg_enum_values[] = {
    {"0", 0, 0},
    {"1", 0, 0},
    {"127", 0, 0},
    {"128", 0, 0},
    {"255", 0, 0},
    {"256", 0, 0},
    {"-1", 1, 0},
    {"-128", 1, 0},
    {"-129", 1, 0},
    {"32767", 0, 0},
    {"32768", 0, 0},
    {"65535", 0, 0},
    {"65536", 0, 0},
    {"-32768", 1, 0},
    {"-32769", 1, 0},
    {"0x7fffffff", 0, 1},
    {"0x80000000", 0, 0},
    {"0xffffffff", 0, 1},
    {"0x100000000", 0, 0},
    {"-0x80000000LL", 1, 0},
    {"-2147483649LL", 1, 0},
    {"1ULL << 40", 0, 0},
    {"-(1LL << 33)", 1, 0},
    {"E0C + 100", 0, 0},
    {"(-0x7fffffffffffffffLL - 1)", 1, 0},
    {"0x7fffffffffffffffLL", 0, 1},
    {"0xffffffffffffffffULL", 0, 2},
};
#define LG_NENUM_VALUES (sizeof lg_enum_values / sizeof lg_enum_values[0])

/* A random enum "exN", checked for its size and alignment. */
static void lg_enum(lg_gen *g, int idx) {
  lg_set *s = g->set;
  unsigned n = 1 + lg_below(g, 4);
  int packed = lg_chance(g, 35), prefix = lg_chance(g, 50), neg = 0;
  int td = lg_chance(g, 30); /* "typedef enum { ... } texN;" */
  lg_chunk_begin(s);
  lg_buf *out = &s->defs;
  lg_puts(out, td ? "typedef enum " : "enum ");
  if (packed && prefix)
    lg_printf(out, "__attribute__((%s)) ", lg_attr_word(g, "packed"));
  if (!td) lg_printf(out, "ex%d ", idx);
  lg_puts(out, "{");
  for (unsigned i = 0; i < n; i++) {
    lg_printf(out, "%s EX%d_%u", i ? "," : "", idx, i);
    if (i > 0 && lg_chance(g, 30)) continue; /* The previous value plus one. */
    unsigned v = lg_below(g, LG_NENUM_VALUES);
    if (lg_enum_values[v].last == 2 && neg) v = 0;
    lg_printf(out, " = %s", lg_enum_values[v].text);
    neg |= lg_enum_values[v].neg;
    if (lg_enum_values[v].last) break;
  }
  lg_puts(out, " }");
  if (packed && !prefix)
    lg_printf(out, " __attribute__((%s))", lg_attr_word(g, "packed"));
  if (td) lg_printf(out, " tex%d", idx);
  lg_puts(out, ";\n");
  char name[32];
  snprintf(name, sizeof name, td ? "tex%d" : "enum ex%d", idx);
  lg_type *t = lg_type_add(s, name);
  /* Members may use it: at most 8 bytes, aligned at most to 8. */
  t->est = t->est_align = 8;
}

/* Generate the preamble and ntop struct/union definitions from seed. */
static void lg_generate(lg_set *s, uint64_t seed, int ntop) {
  lg_gen g = {0};
  g.rng = seed;
  g.set = s;
  for (size_t i = 0; i < LG_NPREAMBLE; i++) {
    lg_chunk_begin(s);
    lg_puts(&s->defs, lg_preamble[i][0]);
    lg_puts(&s->defs, "\n");
    lg_type_add(s, lg_preamble[i][1]);
  }
  g.first_agg = s->ntypes;
  for (int i = 0; i < ntop; i++) {
    if (lg_chance(&g, 6)) lg_enum(&g, i);
    lg_toplevel(&g, i);
  }
}

/* -- The oracle program ------------------------------------------------- */

/* Write a C program that prints, for each type i:
**   T i sizeof _Alignof
**   F i j offsetof           (path j, not a bit-field)
**   B i j bit_offset width   (path j, a bit-field; width -1: not one run)
** Bit-fields are found by setting one to all ones in a zeroed object and
** looking at the bytes (little endian: bit = byte * 8 + bit in byte). */
static int lg_write_oracle(const lg_set *s, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n\n", f);
  /* const members would refuse the bit-field probes; const never changes a
  ** layout, so the oracle compiles the definitions without it. */
  fputs("#define const\n", f);
  fwrite(s->defs.p, 1, s->defs.len, f);
  fputs("#undef const\n", f);
  fputs("\nstatic void lg_bf(int t, int p, const unsigned char *b, "
        "size_t n) {\n"
        "  long lo = -1, hi = -1, cnt = 0;\n"
        "  for (size_t i = 0; i < n * 8; i++)\n"
        "    if (b[i / 8] >> (i % 8) & 1) {\n"
        "      if (lo < 0) lo = (long)i;\n"
        "      hi = (long)i;\n"
        "      cnt++;\n"
        "    }\n"
        "  printf(\"B %d %d %ld %ld\\n\", t, p, lo,\n"
        "         hi - lo + 1 == cnt ? cnt : -1L);\n"
        "}\n\n",
        f);
  for (size_t i = 0; i < s->ntypes; i++) {
    const lg_type *t = &s->types[i];
    fprintf(f, "static void lg_t%zu(void) {\n  typedef %s T;\n", i, t->name);
    fprintf(f, "  printf(\"T %zu %%zu %%zu\\n\", sizeof(T), _Alignof(T));\n",
            i);
    if (t->paths.n) fputs("  static T v;\n", f);
    for (size_t j = 0; j < t->paths.n; j++) {
      const lg_path *p = &t->paths.v[j];
      if (p->bf)
        fprintf(f,
                "  memset(&v, 0, sizeof v);\n  v.%s = -1;\n"
                "  lg_bf(%zu, %zu, (const unsigned char *)&v, sizeof v);\n",
                p->path, i, j);
      else
        fprintf(f, "  printf(\"F %zu %zu %%zu\\n\", offsetof(T, %s));\n", i, j,
                p->path);
    }
    fputs("}\n", f);
  }
  fputs("\nint main(void) {\n", f);
  for (size_t i = 0; i < s->ntypes; i++)
    fprintf(f, "  lg_t%zu();\n", i);
  fputs("  return 0;\n}\n", f);
  return fclose(f) == 0 ? 0 : -1;
}

/* Read the oracle's output into the set. Returns the number of lines that
** did not parse or named no known type or path (0 when all is well). */
static size_t lg_read_oracle(lg_set *s, FILE *in) {
  char line[256];
  size_t bad = 0;
  while (fgets(line, sizeof line, in)) {
    size_t ti, pj;
    long long a, b;
    if (sscanf(line, "T %zu %lld %lld", &ti, &a, &b) == 3 && ti < s->ntypes) {
      s->types[ti].size = a;
      s->types[ti].align = b;
      s->types[ti].got = 1;
    } else if (sscanf(line, "F %zu %zu %lld", &ti, &pj, &a) == 3 &&
               ti < s->ntypes && pj < s->types[ti].paths.n) {
      lg_path *p = &s->types[ti].paths.v[pj];
      p->off = a;
      p->width = -1;
      p->got = 1;
    } else if (sscanf(line, "B %zu %zu %lld %lld", &ti, &pj, &a, &b) == 4 &&
               ti < s->ntypes && pj < s->types[ti].paths.n) {
      lg_path *p = &s->types[ti].paths.v[pj];
      p->off = a;
      p->width = (int)b;
      p->got = 1;
    } else {
      bad++;
    }
  }
  return bad;
}

/* Compile and run the oracle for s in a fresh directory under /tmp, which is
** removed afterwards. cc_out, if not NULL, gets the compiler's messages.
** Returns 0, or -1 with a reason in *why (static text). */
static int lg_run_oracle(lg_set *s, const char **why, lg_buf *cc_out) {
  char dir[] = "/tmp/mffi_layout_XXXXXX";
  if (!mkdtemp(dir)) {
    *why = "mkdtemp failed";
    return -1;
  }
  char src[64], exe[64], log[64];
  snprintf(src, sizeof src, "%s/oracle.c", dir);
  snprintf(exe, sizeof exe, "%s/oracle", dir);
  snprintf(log, sizeof log, "%s/cc.log", dir);
  int rc = -1;
  if (lg_write_oracle(s, src) != 0) {
    *why = "cannot write the oracle program";
    goto done;
  }
  char cmd[512];
  const char *cc = getenv("CC") ? getenv("CC") : "cc";
  snprintf(cmd, sizeof cmd, "%s -std=gnu11 -w -o %s %s > %s 2>&1", cc, exe, src,
           log);
  if (system(cmd) != 0) {
    *why = "the C compiler rejected the generated program";
    if (cc_out) {
      FILE *lf = fopen(log, "r");
      char tmp[512];
      while (lf && fgets(tmp, sizeof tmp, lf) && cc_out->len < 8192)
        lg_puts(cc_out, tmp);
      if (lf) fclose(lf);
    }
    goto done;
  }
  FILE *p = popen(exe, "r");
  if (!p) {
    *why = "cannot run the oracle program";
    goto done;
  }
  size_t bad = lg_read_oracle(s, p);
  if (pclose(p) != 0 || bad) {
    *why = "the oracle program failed or printed garbage";
    goto done;
  }
  rc = 0;
done:
  remove(src);
  remove(exe);
  remove(log);
  rmdir(dir);
  return rc;
}

#endif
