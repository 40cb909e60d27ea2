/* Layout oracle: modffi layouts against the C compiler. See LICENSE.
**
** The C compiler is the truth. One test generates over a thousand random
** struct/union definitions (layout_gen.h), compiles one program that prints
** the compiler's layout of each, feeds the same text to mffi_cdef and
** compares every size, alignment, offset and bit-field position. The other
** tests are classic cases with values checked against gcc on x86-64.
**
** Environment: MFFI_LAYOUT_SEED=n picks another seed (the default is fixed);
** MFFI_LAYOUT_NTYPES=n generates n definitions; MFFI_LAYOUT_DUMP=path writes
** the definitions to path and the oracle program to path.oracle.c.
*/
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_gen.h"
#include "modffi.h"

#define LT_SEED 0x6d666669ull /* Default generator seed ("mffi"). */
#define LT_NTOP 1200          /* Default number of generated definitions. */
#define LT_MIN_TYPES 1000     /* The suite must check at least this many. */
#define LT_MIN_FIELDS 8000    /* ... and this many member paths. */
#define LT_MAX_SHOWN 30       /* Types printed with their definition. */

/* -- Helpers --------------------------------------------------------------- */

static uint64_t lt_seed(void) {
  const char *e = getenv("MFFI_LAYOUT_SEED");
  return e && *e ? strtoull(e, NULL, 0) : LT_SEED;
}

static int lt_ntop(void) {
  const char *e = getenv("MFFI_LAYOUT_NTYPES");
  int n = e && *e ? atoi(e) : LT_NTOP;
  return n > 0 ? n : LT_NTOP;
}

/* With MFFI_LAYOUT_DUMP set, keep the definitions and the oracle program so
** that a failure can be reproduced outside the test. */
static void lt_dump(const lg_set *s, uint64_t seed) {
  const char *path = getenv("MFFI_LAYOUT_DUMP");
  if (!path || !*path) return;
  FILE *f = fopen(path, "w");
  if (!f) {
    cr_log_warn("MFFI_LAYOUT_DUMP: cannot write %s", path);
    return;
  }
  fprintf(f, "/* modffi layout oracle, seed %#" PRIx64 " */\n", seed);
  fwrite(s->defs.p, 1, s->defs.len, f);
  fclose(f);
  lg_buf op = {0};
  lg_printf(&op, "%s.oracle.c", path);
  lg_write_oracle(s, op.p);
  lg_buf_free(&op);
}

typedef struct lt_stats {
  uint64_t seed;
  size_t ntypes;     /* Types compared. */
  size_t naggr;      /* Of which generated struct/union definitions. */
  size_t nfields;    /* Member paths compared. */
  size_t nbits;      /* Of which bit-fields. */
  size_t mismatches; /* Every disagreement, and every modffi failure. */
  size_t nshown;     /* Types printed with their definition. */
} lt_stats;

static void lt_show_def(const lg_set *s, const lg_type *t) {
  for (size_t c = t->def_from; c <= t->chunk; c++) {
    size_t len;
    const char *txt = lg_chunk_text(s, c, &len);
    fprintf(stderr, "%.*s", (int)len, txt);
  }
}

/* Define everything in one context. If the whole text is refused, say why,
** and define it one declaration at a time so that only the types that
** depend on the refused declaration fail. NULL only on out of memory. */
static mffi_ctx *lt_define(const lg_set *s, lt_stats *st) {
  mffi_ctx *ctx = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) return NULL;
  int rc = mffi_cdef(ctx, s->defs.p, s->defs.len);
  if (rc == MFFI_OK) return ctx;
  long off = mffi_erroffset(ctx);
  cr_log_error("layout (seed %#" PRIx64 "): mffi_cdef of all definitions: "
               "%s: %s (offset %ld); defining them one by one",
               st->seed, mffi_errname(rc), mffi_errmsg(ctx), off);
  st->mismatches++;
  mffi_ctx_free(ctx);
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) return NULL;
  size_t nshown = 0;
  for (size_t c = 0; c < s->nchunks; c++) {
    size_t len;
    const char *txt = lg_chunk_text(s, c, &len);
    rc = mffi_cdef(ctx, txt, len);
    if (rc == MFFI_OK) continue;
    st->mismatches++;
    fprintf(stderr, "layout: mffi_cdef refused (%s: %s):\n%.*s\n",
            mffi_errname(rc), mffi_errmsg(ctx),
            nshown++ < LT_MAX_SHOWN ? (int)len : 0, txt);
  }
  return ctx;
}

/* Compare one type with the oracle; print its definition and the
** differences if there are any. */
static void lt_check_type(mffi_ctx *ctx, const lg_set *s, const lg_type *t,
                          lt_stats *st) {
  lg_buf msg = {0};
  size_t bad = 0;
  const mffi_type *ty = NULL;
  st->ntypes++;
  st->naggr += t->aggregate;
  int rc = mffi_typeof(ctx, t->name, &ty);
  if (rc != MFFI_OK) {
    lg_printf(&msg, "  mffi_typeof(\"%s\"): %s: %s\n", t->name,
              mffi_errname(rc), mffi_errmsg(ctx));
    bad++;
    goto report;
  }
  if ((long long)mffi_sizeof(ty) != t->size) {
    lg_printf(&msg, "  sizeof: cc %lld, modffi %zu\n", t->size,
              mffi_sizeof(ty));
    bad++;
  }
  if ((long long)mffi_alignof(ty) != t->align) {
    lg_printf(&msg, "  _Alignof: cc %lld, modffi %zu\n", t->align,
              mffi_alignof(ty));
    bad++;
  }
  for (size_t j = 0; j < t->paths.n; j++) {
    const lg_path *p = &t->paths.v[j];
    mffi_field f;
    size_t off = 0;
    st->nfields++;
    if (!p->got || (p->bf && p->width <= 0)) {
      lg_printf(&msg, "  %s: the oracle gave no answer\n", p->path);
      bad++;
      continue;
    }
    int frc = mffi_fieldof(ty, p->path, &f);
    if (frc != MFFI_OK) {
      lg_printf(&msg, "  mffi_fieldof(%s): %s\n", p->path, mffi_errname(frc));
      bad++;
      continue;
    }
    if (p->bf) {
      st->nbits++;
      if ((long long)f.bit_offset != p->off || f.bit_width != p->width) {
        lg_printf(&msg,
                  "  %s: bit-field: cc bit %lld width %d, modffi bit %zu "
                  "width %d\n",
                  p->path, p->off, p->width, f.bit_offset, f.bit_width);
        bad++;
      }
      /* offsetof refuses a bit-field; so must modffi. */
      int orc = mffi_offsetof(ty, p->path, &off);
      if (orc != MFFI_EMISUSE) {
        lg_printf(&msg,
                  "  mffi_offsetof(%s) of a bit-field: %s, not "
                  "MFFI_EMISUSE\n",
                  p->path, mffi_errname(orc));
        bad++;
      }
      continue;
    }
    int orc = mffi_offsetof(ty, p->path, &off);
    if (orc != MFFI_OK || (long long)off != p->off) {
      lg_printf(&msg, "  offsetof(%s): cc %lld, modffi %zu (%s)\n", p->path,
                p->off, off, mffi_errname(orc));
      bad++;
    } else if (f.offset != off || f.bit_offset != off * 8 ||
               f.bit_width != -1) {
      lg_printf(&msg,
                "  mffi_fieldof(%s): offset %zu bit %zu width %d, "
                "offsetof says %zu, not a bit-field\n",
                p->path, f.offset, f.bit_offset, f.bit_width, off);
      bad++;
    }
  }
  /* Direct members read by index agree with the same members by name. */
  size_t nf = t->paths.n ? mffi_type_nfields(ty) : 0;
  for (size_t i = 0; i < nf; i++) {
    mffi_field f;
    int frc = mffi_type_field(ty, i, &f);
    if (frc != MFFI_OK) {
      lg_printf(&msg, "  mffi_type_field(%zu): %s\n", i, mffi_errname(frc));
      bad++;
      continue;
    }
    for (size_t j = 0; f.name && j < t->paths.n; j++) {
      const lg_path *p = &t->paths.v[j];
      if (strcmp(p->path, f.name) != 0 || !p->got) continue;
      long long bit = p->bf ? p->off : p->off * 8;
      if ((long long)f.bit_offset != bit || f.bit_width != p->width) {
        lg_printf(&msg,
                  "  mffi_type_field(%zu) \"%s\": bit %zu width %d, "
                  "cc bit %lld width %d\n",
                  i, f.name, f.bit_offset, f.bit_width, bit, p->width);
        bad++;
      }
    }
  }
report:
  if (bad) {
    st->mismatches += bad;
    /* Every mismatch is printed; definitions only for the first types (the
    ** rest are in the MFFI_LAYOUT_DUMP file), so a broken engine does not
    ** bury the first, usually simplest, cases. */
    fprintf(stderr, "layout: %s (seed %#" PRIx64 "): %zu mismatch%s\n%s",
            t->name, st->seed, bad, bad == 1 ? "" : "es", msg.p);
    if (st->nshown++ < LT_MAX_SHOWN) lt_show_def(s, t);
    fputs("\n", stderr);
  }
  lg_buf_free(&msg);
}

/* -- The random oracle ----------------------------------------------------- */

Test(layout_oracle, random_definitions, .timeout = 300) {
  lt_stats st = {0};
  st.seed = lt_seed();
  lg_set s = {0};
  lg_generate(&s, st.seed, lt_ntop());
  lt_dump(&s, st.seed);

  const char *why = "";
  lg_buf cc = {0};
  int orc = lg_run_oracle(&s, &why, &cc);
  cr_assert_eq(orc, 0, "oracle (seed %#" PRIx64 "): %s\n%s", st.seed, why,
               cc.p ? cc.p : "");

  mffi_ctx *ctx = lt_define(&s, &st);
  cr_assert_not_null(ctx, "out of memory");
  for (size_t i = 0; i < s.ntypes; i++)
    lt_check_type(ctx, &s, &s.types[i], &st);
  mffi_ctx_free(ctx);
  lg_set_free(&s);
  lg_buf_free(&cc);

  cr_log_info("layout: seed %#" PRIx64 ": %zu types (%zu definitions), "
              "%zu member paths (%zu bit-fields), %zu mismatches",
              st.seed, st.ntypes, st.naggr, st.nfields, st.nbits,
              st.mismatches);
  if (st.mismatches)
    fprintf(stderr,
            "layout: %zu mismatches with seed %#" PRIx64
            " (MFFI_LAYOUT_SEED=%#" PRIx64 " MFFI_LAYOUT_DUMP=file to "
            "reproduce)\n",
            st.mismatches, st.seed, st.seed);
  if (lt_ntop() >= LT_NTOP) {
    cr_expect_geq(st.naggr, LT_MIN_TYPES);
    cr_expect_geq(st.nfields, LT_MIN_FIELDS);
  }
  cr_assert_eq(st.mismatches, 0, "seed %#" PRIx64 ": %zu mismatches", st.seed,
               st.mismatches);
}

/* The generator is deterministic: a seed names one set of definitions. */
Test(layout_oracle, generator_is_deterministic) {
  lg_set a = {0}, b = {0}, c = {0};
  lg_generate(&a, 42, 50);
  lg_generate(&b, 42, 50);
  lg_generate(&c, 43, 50);
  cr_assert_eq(a.defs.len, b.defs.len);
  cr_assert_eq(memcmp(a.defs.p, b.defs.p, a.defs.len), 0);
  cr_assert(c.defs.len != a.defs.len ||
            memcmp(a.defs.p, c.defs.p, a.defs.len) != 0);
  lg_set_free(&a);
  lg_set_free(&b);
  lg_set_free(&c);
}

/* -- Classic cases --------------------------------------------------------- */

/* A member to check: width -1 means a byte offset (offsetof); otherwise
** a bit-field at bit `off` of that width. */
typedef struct lt_hfield {
  const char *path;
  long long off;
  int width;
} lt_hfield;

#define LT_HMAX 4 /* Max. fields per classic case. */

typedef struct lt_hand {
  const char *defs; /* Declarations; tags unique across all cases. */
  const char *type;
  long long size, align;
  lt_hfield f[LT_HMAX]; /* Ends at the first NULL path. */
} lt_hand;

/* Expected values: gcc 12, x86-64 SysV (the hand_matches_cc test checks
** them against the compiler at hand). */
static const lt_hand lt_hands[] = {
    /* clang-format off */
    {"struct h0 { char a; int b : 4; };",
     "struct h0", 4, 4, {{"a", 0, -1}, {"b", 8, 4}}},
    {"struct h1 { char a; int : 0; char b; };",
     "struct h1", 5, 1, {{"b", 4, -1}}},
    {"struct __attribute__((packed)) h2 { char c; int i; };",
     "struct h2", 5, 1, {{"i", 1, -1}}},
    {"struct h3 { char c; int x __attribute__((aligned(16))); };",
     "struct h3", 32, 16, {{"x", 16, -1}}},
    {"struct h4 { short n; double d[]; };",
     "struct h4", 8, 8, {{"d", 8, -1}, {"d[3]", 32, -1}}},
    {"struct h5 { char c; union { int i; double d; }; short s; };",
     "struct h5", 24, 8, {{"i", 8, -1}, {"d", 8, -1}, {"s", 16, -1}}},
    {"struct h6 { char c; long double d; };",
     "struct h6", 32, 16, {{"d", 16, -1}}},
    {"struct h7 { int a : 30; int b : 4; };",
     "struct h7", 8, 4, {{"a", 0, 30}, {"b", 32, 4}}},
    {"struct __attribute__((packed)) h8 { char a : 3; int b : 30; char c; };",
     "struct h8", 6, 1, {{"a", 0, 3}, {"b", 3, 30}, {"c", 5, -1}}},
    {"union h9 { char c; long long x : 33; };",
     "union h9", 8, 8, {{"x", 0, 33}}},
    {"typedef long h10_long __attribute__((aligned(2)));\n"
     "struct h10 { char c; h10_long l; };",
     "struct h10", 10, 2, {{"l", 2, -1}}},
    {"struct __attribute__((aligned(1))) h11 { int x; };",
     "struct h11", 4, 4, {{"x", 0, -1}}},
    {"struct h12 { char c; } __attribute__((aligned));",
     "struct h12", 16, 16, {{"c", 0, -1}}},
    {"struct h13 { char c; _Alignas(8) short s; };",
     "struct h13", 16, 8, {{"s", 8, -1}}},
    {"struct h14 { char c; __int128 x : 70; };",
     "struct h14", 16, 16, {{"x", 8, 70}}},
    {"enum h15 { H15A = -1, H15B = 0x100000000 };",
     "enum h15", 8, 8, {{0}}},
    {"enum h16 { H16A = 0xffffffffffffffffULL };",
     "enum h16", 8, 8, {{0}}},
    {"struct h17 { char a; long long : 3; char b; };",
     "struct h17", 3, 1, {{"b", 2, -1}}},
    {"struct h18i { int a; char b[3]; };\n"
     "struct h18 { char c; struct h18i in[2]; };",
     "struct h18", 20, 4, {{"in", 4, -1}, {"in[1].b[2]", 18, -1}}},
    {"struct h19i { char c; int i; };\n"
     "struct h19 { char c; struct h19i m __attribute__((packed)); };",
     "struct h19", 9, 1, {{"m", 1, -1}, {"m.i", 5, -1}}},
    {"enum __attribute__((packed)) h20 { H20A = -200 };",
     "enum h20", 2, 2, {{0}}},
    {"union h21 { struct { char a; short b; }; int c[2][3]; };",
     "union h21", 24, 4, {{"b", 2, -1}, {"c[1][2]", 20, -1}}},
    {"typedef int h22_int __attribute__((aligned(8)));\n"
     "struct h22 { char c; h22_int x : 3; };",
     "struct h22", 16, 8, {{"x", 64, 3}}},
    {"struct h23 { char c; struct { char d; int e : 5; } n; _Bool b : 1; };",
     "struct h23", 12, 4, {{"n", 4, -1}, {"n.e", 40, 5}, {"b", 64, 1}}},
    {"struct h24 { short a : 16;\n"
     "  long long b : 48 __attribute__((aligned(4))); };",
     "struct h24", 16, 8, {{"b", 64, 48}}},
    {"struct h25 { char c; struct {} e; int z[0]; char d; };",
     "struct h25", 8, 4, {{"e", 1, -1}, {"z", 4, -1}, {"d", 4, -1}}},
    {"typedef struct { char a; int b; } __attribute__((packed)) h26;",
     "h26", 5, 1, {{"b", 1, -1}}},
    {"struct h27 { int a, *b, c[2], d : 3;\n"
     "  long e __attribute__((aligned(16))), f; };",
     "struct h27", 48, 16,
     {{"b", 8, -1}, {"c[1]", 20, -1}, {"d", 192, 3}, {"f", 40, -1}}},
    {"enum __attribute__((packed)) h28 { H28A = 0x80000000, H28B = -129 };",
     "enum h28", 8, 8, {{0}}},
    /* <sys/types.h> has "typedef int register_t
    ** __attribute__((__mode__(__word__)))". */
    {"typedef int h29_reg __attribute__((__mode__(__word__)));\n"
     "struct h29 { char c; h29_reg r; };",
     "struct h29", 16, 8, {{"r", 8, -1}}},
    {"typedef unsigned int h30_u8 __attribute__((mode(QI)));\n"
     "struct h30 { char c; h30_u8 a, b : 3; };",
     "struct h30", 3, 1, {{"a", 1, -1}, {"b", 16, 3}}},
    /* Attributes after "enum TAG" belong to the member, as after a struct
    ** or a typedef name. */
    {"enum h31e { H31A };\n"
     "struct h31 { char c; enum h31e __attribute__((packed)) m, n; };",
     "struct h31", 9, 1, {{"m", 1, -1}, {"n", 5, -1}}},
    {"enum h32e { H32A };\n"
     "struct h32 { char c; enum h32e __attribute__((aligned(8))) m; };",
     "struct h32", 16, 8, {{"m", 8, -1}}},
    /* gcc ignores attributes between "struct" and the tag of a type that
    ** is only referred to (no body): they do not reach the member. */
    {"struct h33i { int x; };\n"
     "struct h33 { char c; struct __attribute__((packed)) h33i m; };",
     "struct h33", 8, 4, {{"m", 4, -1}}},
    /* On a type (not a member) the last aligned(N) wins, even if lower. */
    {"struct h34 { int x; } __attribute__((aligned(16), aligned(8)));",
     "struct h34", 8, 8, {{"x", 0, -1}}},
    {"typedef long h35_t __attribute__((aligned(16), aligned(2)));\n"
     "struct h35 { char c; h35_t x; };",
     "struct h35", 10, 2, {{"x", 2, -1}}},
    /* An unnamed bit-field still takes its aligned(N), even at width 0. */
    {"struct h36 { char a; int : 0 __attribute__((aligned(8))); char b; };",
     "struct h36", 9, 1, {{"b", 8, -1}}},
    /* #pragma pack(N) caps every member's alignment (issue 14: gcc 7, b
    ** at 1), aligned(N) members included (gcc 6). */
    {"#pragma pack(1)\nstruct h37 { char a; int b; short c; };\n"
     "#pragma pack()",
     "struct h37", 7, 1, {{"b", 1, -1}, {"c", 5, -1}}},
    {"#pragma pack(2)\n"
     "struct h38 { char c; int b __attribute__((aligned(8))); };\n"
     "#pragma pack()",
     "struct h38", 6, 2, {{"b", 2, -1}}},
    /* pop to an id restores the value saved under it. */
    {"#pragma pack(2)\n#pragma pack(push, h39a, 1)\n#pragma pack(push, 4)\n"
     "#pragma pack(pop, h39a)\nstruct h39 { char c; double d; };\n"
     "#pragma pack()",
     "struct h39", 10, 2, {{"d", 2, -1}}},
    /* Under a pack bit-fields may straddle their units. */
    {"#pragma pack(4)\n"
     "struct h40 { char c; int x : 31; int y : 2; long z : 40; };\n"
     "#pragma pack()",
     "struct h40", 12, 4, {{"x", 8, 31}, {"y", 39, 2}, {"z", 41, 40}}},
    /* packed and pack: the bit-field's type still counts, up to N. */
    {"#pragma pack(push, 2)\n"
     "struct __attribute__((packed)) h41 { char c; __int128 f : 87; };\n"
     "#pragma pack(pop)",
     "struct h41", 12, 2, {{"f", 8, 87}}},
    {"_Pragma(\"pack(push, 1)\") struct h42 { char c; long l; };\n"
     "_Pragma(\"pack(pop)\")",
     "struct h42", 9, 1, {{"l", 1, -1}}},
    /* Pragmas GCC ignores: a value not a small power of two, a pop of
    ** nothing. */
    {"#pragma pack(3)\n#pragma pack(pop)\nstruct h43 { char c; int i; };",
     "struct h43", 8, 4, {{"i", 4, -1}}},
    /* A zero-width bit-field is not packed. */
    {"#pragma pack(1)\nstruct h44 { char a; int : 0; char b; };\n"
     "#pragma pack()",
     "struct h44", 5, 1, {{"b", 4, -1}}},
    /* Backslash-newline inside numbers, names and strings (phase 2). */
    {"struct h45 { char a[1\\\n0]; int b : 1\\\n2;\n"
     "  char c[sizeof \"x\\\ny\"]; lo\\\nng d; };",
     "struct h45", 24, 8, {{"b", 80, 12}, {"c", 12, -1}, {"d", 16, -1}}},
    /* Complex modes (quadmath.h's __complex128), HF, libgcc's word modes
    ** (unwind.h's _Unwind_Word). */
    {"typedef _Complex float h46_c __attribute__((mode(TC)));\n"
     "typedef _Complex int h46_ci __attribute__((mode(CDI)));\n"
     "typedef unsigned h46_uw __attribute__((mode(unwind_word)));\n"
     "typedef float h46_h __attribute__((mode(HF)));\n"
     "struct h46 { char c; h46_c z; h46_h h; h46_ci ci; h46_uw w; };",
     "struct h46", 80, 16, {{"z", 16, -1}, {"h", 48, -1}, {"ci", 56, -1},
                            {"w", 72, -1}}},
    /* clang-format on */
};
#define LT_NHANDS (sizeof lt_hands / sizeof lt_hands[0])

static void lt_hand_check(size_t i) {
  const lt_hand *h = &lt_hands[i];
  mffi_ctx *ctx = NULL;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  int rc = mffi_cdef(ctx, h->defs, strlen(h->defs));
  cr_assert_eq(rc, MFFI_OK, "mffi_cdef(%s): %s: %s", h->defs, mffi_errname(rc),
               mffi_errmsg(ctx));
  const mffi_type *t = NULL;
  rc = mffi_typeof(ctx, h->type, &t);
  cr_assert_eq(rc, MFFI_OK, "mffi_typeof(%s): %s: %s", h->type,
               mffi_errname(rc), mffi_errmsg(ctx));
  cr_expect_eq((long long)mffi_sizeof(t), h->size, "%s: sizeof %zu, cc %lld",
               h->defs, mffi_sizeof(t), h->size);
  cr_expect_eq((long long)mffi_alignof(t), h->align,
               "%s: _Alignof %zu, cc %lld", h->defs, mffi_alignof(t), h->align);
  for (size_t j = 0; j < LT_HMAX && h->f[j].path; j++) {
    const lt_hfield *f = &h->f[j];
    if (f->width < 0) {
      size_t off = 0;
      rc = mffi_offsetof(t, f->path, &off);
      cr_expect_eq(rc, MFFI_OK, "%s: offsetof(%s): %s", h->defs, f->path,
                   mffi_errname(rc));
      cr_expect_eq((long long)off, f->off, "%s: offsetof(%s) %zu, cc %lld",
                   h->defs, f->path, off, f->off);
    } else {
      mffi_field mf;
      memset(&mf, 0, sizeof mf);
      rc = mffi_fieldof(t, f->path, &mf);
      cr_expect_eq(rc, MFFI_OK, "%s: fieldof(%s): %s", h->defs, f->path,
                   mffi_errname(rc));
      cr_expect_eq((long long)mf.bit_offset, f->off,
                   "%s: %s at bit %zu, cc %lld", h->defs, f->path,
                   mf.bit_offset, f->off);
      cr_expect_eq(mf.bit_width, f->width, "%s: %s width %d, cc %d", h->defs,
                   f->path, mf.bit_width, f->width);
    }
  }
  mffi_ctx_free(ctx);
}

Test(layout_hand, char_then_int_bitfield) {
  lt_hand_check(0);
}
Test(layout_hand, zero_width_bitfield) {
  lt_hand_check(1);
}
Test(layout_hand, packed_struct_with_int) {
  lt_hand_check(2);
}
Test(layout_hand, aligned16_member) {
  lt_hand_check(3);
}
Test(layout_hand, flexible_array_member) {
  lt_hand_check(4);
}
Test(layout_hand, anonymous_union_offsets) {
  lt_hand_check(5);
}
Test(layout_hand, char_then_long_double) {
  lt_hand_check(6);
}
Test(layout_hand, bitfield_does_not_straddle) {
  lt_hand_check(7);
}
Test(layout_hand, packed_bitfields_straddle) {
  lt_hand_check(8);
}
Test(layout_hand, bitfield_in_union) {
  lt_hand_check(9);
}
Test(layout_hand, typedef_lowers_alignment) {
  lt_hand_check(10);
}
Test(layout_hand, aligned_attr_cannot_lower) {
  lt_hand_check(11);
}
Test(layout_hand, bare_aligned_is_16) {
  lt_hand_check(12);
}
Test(layout_hand, alignas_member) {
  lt_hand_check(13);
}
Test(layout_hand, int128_bitfield) {
  lt_hand_check(14);
}
Test(layout_hand, enum_negative_and_64bit) {
  lt_hand_check(15);
}
Test(layout_hand, enum_uint64_max) {
  lt_hand_check(16);
}
Test(layout_hand, unnamed_bitfield_adds_no_alignment) {
  lt_hand_check(17);
}
Test(layout_hand, path_through_array_of_structs) {
  lt_hand_check(18);
}
Test(layout_hand, packed_member_of_struct_type) {
  lt_hand_check(19);
}
Test(layout_hand, packed_enum_is_short) {
  lt_hand_check(20);
}
Test(layout_hand, anonymous_struct_in_union) {
  lt_hand_check(21);
}
Test(layout_hand, bitfield_of_overaligned_typedef) {
  lt_hand_check(22);
}
Test(layout_hand, bitfield_inside_named_member) {
  lt_hand_check(23);
}
Test(layout_hand, aligned_bitfield_still_may_not_straddle) {
  lt_hand_check(24);
}
Test(layout_hand, empty_struct_and_zero_length_array) {
  lt_hand_check(25);
}
Test(layout_hand, packed_anonymous_typedef) {
  lt_hand_check(26);
}
Test(layout_hand, several_declarators_one_type) {
  lt_hand_check(27);
}
Test(layout_hand, packed_enum_wide_range) {
  lt_hand_check(28);
}
Test(layout_hand, mode_word_typedef) {
  lt_hand_check(29);
}
Test(layout_hand, mode_qi_typedef) {
  lt_hand_check(30);
}
Test(layout_hand, packed_after_enum_tag) {
  lt_hand_check(31);
}
Test(layout_hand, aligned_after_enum_tag) {
  lt_hand_check(32);
}
Test(layout_hand, attribute_on_struct_reference_ignored) {
  lt_hand_check(33);
}
Test(layout_hand, last_aligned_wins_on_struct) {
  lt_hand_check(34);
}
Test(layout_hand, last_aligned_wins_on_typedef) {
  lt_hand_check(35);
}
Test(layout_hand, aligned_zero_width_bitfield) {
  lt_hand_check(36);
}
Test(layout_hand, pragma_pack_1) {
  lt_hand_check(37);
}
Test(layout_hand, pragma_pack_caps_aligned_member) {
  lt_hand_check(38);
}
Test(layout_hand, pragma_pack_pop_to_id) {
  lt_hand_check(39);
}
Test(layout_hand, pragma_pack_bitfields_straddle) {
  lt_hand_check(40);
}
Test(layout_hand, pragma_pack_with_packed_bitfield) {
  lt_hand_check(41);
}
Test(layout_hand, pragma_operator_pack) {
  lt_hand_check(42);
}
Test(layout_hand, pragma_pack_ignored_forms) {
  lt_hand_check(43);
}
Test(layout_hand, pragma_pack_zero_width_bitfield) {
  lt_hand_check(44);
}
Test(layout_hand, line_splices_inside_tokens) {
  lt_hand_check(45);
}
Test(layout_hand, complex_and_libgcc_modes) {
  lt_hand_check(46);
}

/* The literals above are what this machine's compiler says. */
Test(layout_hand, hand_matches_cc, .timeout = 60) {
  lg_set s = {0};
  for (size_t i = 0; i < LT_NHANDS; i++) {
    lg_chunk_begin(&s);
    lg_printf(&s.defs, "%s\n", lt_hands[i].defs);
    lg_type *t = lg_type_add(&s, lt_hands[i].type);
    for (size_t j = 0; j < LT_HMAX && lt_hands[i].f[j].path; j++)
      lg_path_add(&t->paths, "", lt_hands[i].f[j].path,
                  lt_hands[i].f[j].width >= 0);
  }
  const char *why = "";
  lg_buf cc = {0};
  int rc = lg_run_oracle(&s, &why, &cc);
  cr_assert_eq(rc, 0, "oracle: %s\n%s", why, cc.p ? cc.p : "");
  for (size_t i = 0; i < LT_NHANDS; i++) {
    const lt_hand *h = &lt_hands[i];
    const lg_type *t = &s.types[i];
    cr_expect_eq(t->size, h->size, "%s: cc sizeof %lld", h->defs, t->size);
    cr_expect_eq(t->align, h->align, "%s: cc _Alignof %lld", h->defs, t->align);
    for (size_t j = 0; j < t->paths.n; j++) {
      const lg_path *p = &t->paths.v[j];
      cr_expect_eq(p->off, h->f[j].off, "%s: cc %s at %lld", h->defs, p->path,
                   p->off);
      cr_expect_eq(p->width, h->f[j].width, "%s: cc %s width %d", h->defs,
                   p->path, p->width);
    }
  }
  lg_set_free(&s);
  lg_buf_free(&cc);
}

/* -- Attributes in type names ---------------------------------------------- */

/* Type names with mode() and aligned() attributes (issue 14): mffi_typeof
** reads them as gcc does, and a typedef or a member with the same
** attributes agrees with gcc too. Those without a declarator suffix are
** also written as "typedef TN tdN;" and as a member after a char. */
static const char *const lt_attr_names[] = {
    "int __attribute__((mode(QI)))",
    "int __attribute__((mode(HI)))",
    "int __attribute__((mode(SI)))",
    "int __attribute__((mode(DI)))",
    "int __attribute__((mode(TI)))",
    "unsigned __attribute__((__mode__(__QI__)))",
    "long __attribute__((mode(word)))",
    "float __attribute__((mode(DF)))",
    "double __attribute__((mode(SF)))",
    "char __attribute__((aligned(8)))",
    "__attribute__((aligned(8))) char",
    "int __attribute__((aligned(1)))",
    "long __attribute__((aligned(2)))",
    "int __attribute__((aligned(2), aligned(8)))",
    "int __attribute__((aligned(8))) __attribute__((aligned(2)))",
    "int __attribute__((mode(QI))) __attribute__((aligned(4)))",
    "char *__attribute__((aligned(16)))",
    "char __attribute__((aligned(16))) *",
    "char __attribute__((aligned(8)))[3]",
    "short __attribute__((aligned(4)))[2]",
    "int (*__attribute__((aligned(2))))(int)",
};
#define LT_NATTR_NAMES (sizeof lt_attr_names / sizeof lt_attr_names[0])

Test(layout_hand, attributes_in_type_names, .timeout = 60) {
  lg_set s = {0};
  char name[64];
  for (size_t i = 0; i < LT_NATTR_NAMES; i++) {
    const char *tn = lt_attr_names[i];
    lg_chunk_begin(&s);
    lg_printf(&s.defs, "typedef __typeof__(%s) tn%zu;\n", tn, i);
    snprintf(name, sizeof name, "tn%zu", i);
    lg_type_add(&s, name);
    if (strpbrk(tn, "*[")) continue;
    lg_chunk_begin(&s);
    lg_printf(&s.defs, "typedef %s td%zu;\n", tn, i);
    snprintf(name, sizeof name, "td%zu", i);
    lg_type_add(&s, name);
    lg_chunk_begin(&s);
    lg_printf(&s.defs, "struct sm%zu { char c; %s m; };\n", i, tn);
    snprintf(name, sizeof name, "struct sm%zu", i);
    lg_path_add(&lg_type_add(&s, name)->paths, "", "m", 0);
  }
  const char *why = "";
  lg_buf cc = {0};
  cr_assert_eq(lg_run_oracle(&s, &why, &cc), 0, "oracle: %s\n%s", why,
               cc.p ? cc.p : "");
  mffi_ctx *ctx = NULL;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  int rc = mffi_cdef(ctx, s.defs.p, s.defs.len);
  cr_assert_eq(rc, MFFI_OK, "%s\n%s", mffi_errmsg(ctx), s.defs.p);
  for (size_t i = 0, k = 0; i < LT_NATTR_NAMES; i++) {
    const char *tn = lt_attr_names[i];
    const lg_type *o = &s.types[k];
    const mffi_type *t = NULL;
    /* The type name itself, then every form the oracle compiled. */
    rc = mffi_typeof(ctx, tn, &t);
    cr_assert_eq(rc, MFFI_OK, "mffi_typeof(%s): %s", tn, mffi_errmsg(ctx));
    cr_expect_eq((long long)mffi_sizeof(t), o->size, "%s: sizeof %zu, cc %lld",
                 tn, mffi_sizeof(t), o->size);
    cr_expect_eq((long long)mffi_alignof(t), o->align,
                 "%s: _Alignof %zu, cc %lld", tn, mffi_alignof(t), o->align);
    size_t nforms = strpbrk(tn, "*[") ? 1 : 3;
    for (size_t f = 0; f < nforms; f++, k++) {
      o = &s.types[k];
      cr_assert_eq(mffi_typeof(ctx, o->name, &t), MFFI_OK);
      cr_expect_eq((long long)mffi_sizeof(t), o->size,
                   "%s (%s): sizeof %zu, cc %lld", o->name, tn, mffi_sizeof(t),
                   o->size);
      cr_expect_eq((long long)mffi_alignof(t), o->align,
                   "%s (%s): _Alignof %zu, cc %lld", o->name, tn,
                   mffi_alignof(t), o->align);
      for (size_t j = 0; j < o->paths.n; j++) {
        size_t off = 0;
        cr_expect_eq(mffi_offsetof(t, o->paths.v[j].path, &off), MFFI_OK);
        cr_expect_eq((long long)off, o->paths.v[j].off,
                     "%s (%s): offsetof %zu, cc %lld", o->name, tn, off,
                     o->paths.v[j].off);
      }
    }
  }
  mffi_ctx_free(ctx);
  lg_set_free(&s);
  lg_buf_free(&cc);
}

/* gcc: "unable to emulate 'OI'"; modes of vectors are refused by name. */
Test(layout_hand, mode_refused_as_gcc_does) {
  mffi_ctx *ctx = NULL;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  const mffi_type *t = NULL;
  int rc = mffi_typeof(ctx, "int __attribute__((mode(OI)))", &t);
  cr_expect_eq(rc, MFFI_EUNSUPPORTED);
  cr_expect(strstr(mffi_errmsg(ctx), "unable to emulate 'OI'") != NULL, "%s",
            mffi_errmsg(ctx));
  const char *td = "typedef int oi_t __attribute__((mode(OI)));";
  cr_expect_eq(mffi_cdef(ctx, td, strlen(td)), MFFI_EUNSUPPORTED);
  /* Vector modes are vectors (gcc: "number of vector components 3 not a
  ** power of two"). */
  const char *v = "typedef float v4sf __attribute__((mode(V4SF)));";
  cr_expect_eq(mffi_cdef(ctx, v, strlen(v)), MFFI_OK, "%s", mffi_errmsg(ctx));
  cr_expect_eq(mffi_typeof(ctx, "v4sf", &t), MFFI_OK);
  cr_expect_eq(mffi_sizeof(t), 16);
  const char *v3 = "typedef float v3sf __attribute__((mode(V3SF)));";
  cr_expect_eq(mffi_cdef(ctx, v3, strlen(v3)), MFFI_EDECL);
  cr_expect(strstr(mffi_errmsg(ctx), "not a power of two") != NULL, "%s",
            mffi_errmsg(ctx));
  /* gcc: mode 'HI' applied to inappropriate type. */
  const char *fn = "int __attribute__((mode(HI))) g(void);";
  cr_expect_eq(mffi_cdef(ctx, fn, strlen(fn)), MFFI_EDECL);
  mffi_ctx_free(ctx);
}
