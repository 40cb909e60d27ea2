/* Tests of the command line's tolerant reading (mffi__cdef_tolerant): what
** cannot be represented is skipped with a note, the rest is declared as
** mffi_cdef would. See LICENSE. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"
#include "modffi_strategy.h"
#include "oom_alloc.h"
#include "cdef/parse.h"

/* -- Helpers --------------------------------------------------------------- */

#define TL_MAX_NOTES 16 /* Notes a test keeps. */

/* The notes of one call. */
typedef struct tl_notes {
  char name[TL_MAX_NOTES][64];
  char why[TL_MAX_NOTES][512];
  int n;
} tl_notes;

static void tl_note(void *ud, const char *name, const char *why) {
  tl_notes *ns = ud;
  if (ns->n == TL_MAX_NOTES) return;
  snprintf(ns->name[ns->n], sizeof ns->name[0], "%s", name);
  snprintf(ns->why[ns->n], sizeof ns->why[0], "%s", why);
  ns->n++;
}

static mffi_ctx *ctx; /* A fresh context per test. */

static void setup(void) {
  cr_assert(eq(int, mffi_ctx_new(&ctx, NULL), MFFI_OK));
}

static void teardown(void) {
  mffi_ctx_free(ctx);
  ctx = NULL;
}

TestSuite(tolerant, .init = setup, .fini = teardown);

/* Read src tolerantly into ctx; it must succeed. */
static void tl_def(const char *src, tl_notes *ns) {
  memset(ns, 0, sizeof *ns);
  int rc = mffi__cdef_tolerant(ctx, src, strlen(src), tl_note, ns);
  cr_assert(rc == MFFI_OK, "tolerant cdef failed: %s (%s)\n  input: %s",
            mffi_errname(rc), mffi_errmsg(ctx), src);
  cr_assert_str_eq(mffi_errmsg(ctx), "");
}

static const mffi_type *ty(const char *expr) {
  const mffi_type *t = NULL;
  int rc = mffi_typeof(ctx, expr, &t);
  cr_assert(rc == MFFI_OK, "mffi_typeof(\"%s\"): %s (%s)", expr,
            mffi_errname(rc), mffi_errmsg(ctx));
  return t;
}

static bool has(const char *name) {
  return mffi_decl_find(ctx, name) != NULL;
}

/* Open a library on ctx and read the text logged for its strategies
** strictly into a fresh context, which is returned (the caller closes
** *lib and frees it); *text, *len: that text. */
static mffi_ctx *tl_reparse(mffi_lib **lib, const char **text, size_t *len) {
  cr_assert(eq(int, mffi_open(ctx, NULL, NULL, NULL, lib), MFFI_OK), "%s",
            mffi_errmsg(ctx));
  *text = mffi_lib_cdef_text(*lib, 0, len);
  mffi_ctx *c2 = NULL;
  cr_assert(eq(int, mffi_ctx_new(&c2, NULL), MFFI_OK));
  cr_assert(eq(int, mffi_cdef(c2, *text, *len), MFFI_OK), "%s\n%.*s",
            mffi_errmsg(c2), (int)*len, *text);
  return c2;
}

/* Note i names `name` and its reason contains `part`. */
static void tl_expect_note(const tl_notes *ns, int i, const char *name,
                           const char *part) {
  cr_assert(i < ns->n, "note %d missing (%d notes)", i, ns->n);
  cr_expect_str_eq(ns->name[i], name);
  cr_expect(strstr(ns->why[i], part) != NULL, "note %d: '%s' lacks '%s'", i,
            ns->why[i], part);
}

/* -- Skipping -------------------------------------------------------------- */

/* A header with what cannot be represented among what can: each of the
** former is skipped with a note naming it, its position and the reason;
** what needs it is skipped too; the rest is declared as usual. */
static const char mixed[] =
    "typedef float v4 __attribute__((vector_size(16)));\n" /* 1: fine */
    "typedef _Atomic(int) atomic_t;\n"                     /* 2 */
    "typedef int big_t __attribute__((mode(OI)));\n"       /* 3 */
    "struct holds { atomic_t v; int n; };\n"               /* 4: uses 2 */
    "typedef struct { big_t b; } wrap_t;\n"                /* 5: uses 3 */
    "wrap_t *wrap_new(void);\n"                            /* 6: uses 5 */
    "int vadd(_Atomic(int) a);\n"                          /* 7 */
    "extern __inline big_t vzero(void) { return 0; }\n"    /* 8: uses 3 */
    "struct outer { struct holds h; };\n"                  /* 9: uses 4 */
    "int takes(struct holds *h);\n"                        /* 10: opaque */
    "int vsum(const v4 *p);\n"                             /* 11: fine */
    "enum { FLAGS = 3 };\n"
    "int good(int x);\n";

Test(tolerant, skips_what_cannot_be_represented) {
  tl_notes ns;
  tl_def(mixed, &ns);
  cr_assert(eq(int, ns.n, 8));
  tl_expect_note(&ns, 0, "atomic_t", "2:9: _Atomic(type) is not supported");
  tl_expect_note(&ns, 1, "big_t", "3:13: unable to emulate 'OI'");
  tl_expect_note(&ns, 2, "struct holds", "4:1: it uses 'atomic_t'");
  tl_expect_note(&ns, 2, "struct holds", "body is left out");
  tl_expect_note(&ns, 3, "wrap_t", "5:1: it uses 'big_t'");
  tl_expect_note(&ns, 4, "wrap_new", "6:1: it uses 'wrap_t'");
  tl_expect_note(&ns, 5, "vadd", "7:10: _Atomic(type) is not supported");
  tl_expect_note(&ns, 6, "vzero", "8:1: it uses 'big_t'");
  tl_expect_note(&ns, 7, "struct outer", "9:1: it uses 'holds'");
  for (const char *n = "atomic_t\0big_t\0wrap_t\0wrap_new\0vadd\0vzero\0"; *n;
       n += strlen(n) + 1)
    cr_expect(has(n) == false, "'%s' declared", n);
  /* What was skipped is no type; struct holds stays, incomplete, behind
  ** the pointer that names it. */
  const mffi_type *t;
  cr_expect(eq(int, mffi_typeof(ctx, "struct outer", &t), MFFI_OK));
  cr_expect(eq(int, mffi_sizeof(t), 0), "struct outer is incomplete");
  cr_assert(has("takes"));
  cr_expect(eq(int, mffi_sizeof(ty("struct holds")), 0));
  cr_assert(has("vsum") && has("good") && has("FLAGS") && has("v4"));
  cr_expect(eq(int, mffi_decl_value(mffi_decl_find(ctx, "FLAGS")), 3));
  cr_expect(eq(int, mffi_sizeof(ty("v4")), 16));
}

/* A tagged body that cannot be represented is left out and what the
** declaration names stays, incomplete: typedef names, pointers, functions
** on them. The logged text parses strictly and builds the same table (type
** ids are the remote wire format). An untagged body (a made-up tag would
** not be the real header's type) and an enum are skipped whole. */
Test(tolerant, tagged_bodies_left_out_keep_their_names) {
  static const char src[] =
      "typedef int big_t __attribute__((mode(OI)));\n"
      "typedef struct wrap\n{\n  big_t b;\n  int n;\n} wrap_t, *wrap_p;\n"
      "wrap_p wrap_new(void);\n"
      "typedef union u { _Atomic(int) z; } U;\n"
      "int use(U *);\n"
      "typedef struct { big_t b; } anon_t;\n"
      "enum e { BAD = sizeof(big_t) };\n"
      "int last(void);\n";
  tl_notes ns;
  tl_def(src, &ns);
  cr_assert(eq(int, ns.n, 5));
  tl_expect_note(&ns, 1, "struct wrap", "body is left out");
  tl_expect_note(&ns, 2, "union u", "body is left out");
  cr_assert(has("wrap_t") && has("wrap_p") && has("wrap_new") && has("U") &&
            has("use") && has("last"));
  cr_expect(has("anon_t") == false);
  cr_expect(eq(ptr, (void *)ty("wrap_p"), (void *)ty("struct wrap *")));
  cr_expect(eq(ptr, (void *)ty("U"), (void *)ty("union u")));
  cr_expect(eq(int, mffi_sizeof(ty("wrap_t")), 0));
  mffi_lib *lib = NULL;
  const char *text;
  size_t len;
  mffi_ctx *c2 = tl_reparse(&lib, &text, &len);
  cr_assert(eq(u64, len, strlen(src)));
  cr_expect(memmem(text, len, "big_t b", 7) == NULL, "%.*s", (int)len, text);
  cr_expect(eq(u64, mffi_ndecls(ctx), mffi_ndecls(c2)));
  cr_expect(eq(u32, mffi_ntypes(ctx), mffi_ntypes(c2)));
  for (size_t i = 0; i < mffi_ndecls(ctx) && i < mffi_ndecls(c2); i++) {
    const mffi_decl *a = mffi_decl_at(ctx, i), *b = mffi_decl_at(c2, i);
    cr_expect_str_eq(a->name, b->name);
    cr_expect(eq(u32, mffi_type_id(mffi_decl_type(a)),
                 mffi_type_id(mffi_decl_type(b))),
              "%s", a->name);
  }
  mffi_ctx_free(c2);
  mffi_close(lib);
}

/* A tag an earlier call defined keeps its definition: the declaration that
** would leave it incomplete is skipped whole. */
Test(tolerant, a_defined_tag_is_not_left_incomplete) {
  tl_notes ns;
  tl_def("struct taken { int a; };", &ns);
  tl_def("typedef struct taken { _Atomic(int) z; } taken_t;\nint ok(void);",
         &ns);
  cr_assert(eq(int, ns.n, 1));
  cr_expect(strstr(ns.why[0], "body is left out") == NULL, "%s", ns.why[0]);
  cr_expect(has("taken_t") == false);
  cr_expect(has("ok"));
  cr_expect(eq(int, mffi_sizeof(ty("struct taken")), 4));
}

/* mffi_cdef itself stays strict: the same text fails at the first
** construct it cannot represent, and nothing of it is declared. */
Test(tolerant, mffi_cdef_stays_strict) {
  cr_assert(eq(int, mffi_cdef(ctx, mixed, strlen(mixed)), MFFI_EUNSUPPORTED));
  cr_expect(strstr(mffi_errmsg(ctx), "2:9: _Atomic(type)") != NULL, "%s",
            mffi_errmsg(ctx));
  cr_expect(has("v4") == false && has("good") == false);
}

/* A real error still fails the whole call, with its own message and
** position, even after declarations were skipped; nothing stays. */
Test(tolerant, real_errors_still_fail) {
  static const char *const bad[] = {
      "typedef _Atomic(int) a_t;\nint ok1;\nint f(int;\n",
      "typedef _Atomic(int) a_t;\nstruct s { int x; };\nstruct s { long x; "
      "};\n",
      "int ok2;\nstruct n { struct m inner; };\n",
      "typedef _Atomic(int) a_t;\nint broken(a_t x\n",
  };
  static const char *const msgs[] = {
      "3:10: expected",
      "3:8: redefinition",
      "2:21: field 'inner' has incomplete type",
      "2:5: it uses 'a_t'",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tl_notes ns = {0};
    int rc = mffi__cdef_tolerant(ctx, bad[i], strlen(bad[i]), tl_note, &ns);
    if (i < 3) {
      cr_expect(rc != MFFI_OK, "%s accepted", bad[i]);
      cr_expect(strstr(mffi_errmsg(ctx), msgs[i]) != NULL, "%zu: '%s'", i,
                mffi_errmsg(ctx));
      cr_expect(has("ok1") == false && has("ok2") == false &&
                has("a_t") == false);
    } else {
      /* Unbalanced to the end: it cannot be read over, so the error of
      ** the declaration stands. */
      cr_expect(rc == MFFI_EPARSE, "%s: %s", bad[i], mffi_errname(rc));
    }
  }
}

/* A declaration that changes older ones in place and then fails is undone
** exactly: the struct it completed is incomplete again, the attributes it
** merged are gone, while what a previous declaration of the same call
** changed stays (each declaration has its own savepoint). */
Test(tolerant, skipped_declaration_is_undone_in_place) {
  static const char base[] = "struct fwd;\nint f(int);\n";
  cr_assert(eq(int, mffi_cdef(ctx, base, strlen(base)), MFFI_OK));
  tl_notes ns;
  tl_def("typedef float v4;\n"
         "int f(int) __attribute__((nonnull));\n"
         "int f(int) __attribute__((pure)), g(_Atomic(int));\n"
         "struct fwd { int a; } *h(_Atomic(int));\n"
         "int f(int) __attribute__((cold));\n",
         &ns);
  cr_assert(eq(int, ns.n, 2));
  tl_expect_note(&ns, 0, "g", "3:37: _Atomic(type) is not supported");
  tl_expect_note(&ns, 1, "h", "4:26: _Atomic(type) is not supported");
  cr_expect(eq(int, mffi_sizeof(ty("struct fwd")), 0));
  const mffi_decl *f = mffi_decl_find(ctx, "f");
  cr_assert(f != NULL);
  cr_expect(mffi_decl_attr_find(f, "nonnull") != NULL);
  cr_expect(mffi_decl_attr_find(f, "cold") != NULL);
  cr_expect(mffi_decl_attr_find(f, "pure") == NULL, "the skipped one's");
  cr_expect(has("g") == false && has("h") == false);
  /* The whole call can still fail and roll back to base. */
  static const char bad[] = "int f(int) __attribute__((hot));\n"
                            "int g2(_Atomic(int));\nstruct fwd { int a; };\n"
                            "int x(;\n";
  cr_assert(eq(int, mffi__cdef_tolerant(ctx, bad, strlen(bad), NULL, NULL),
               MFFI_EPARSE));
  cr_expect(mffi_decl_attr_find(mffi_decl_find(ctx, "f"), "hot") == NULL);
  cr_expect(eq(int, mffi_sizeof(ty("struct fwd")), 0));
}

/* The text the strategies receive has the skipped declarations blanked
** out, lines, #define and #pragma pack kept: it parses strictly to the
** same declarations. */
Test(tolerant, logged_text_parses_strictly) {
  static const char src[] =
      "typedef float v4 __attribute__((vector_size(16)));\n"
      "v4 vadd(v4 a,\n"
      "#pragma pack(1)\n"
      "#define MID 7\n"
      "        _Atomic(v4) b);\n"
      "struct p { char c; int i; };\n"
      "int vsum(const v4 *p);\n";
  tl_notes ns;
  tl_def(src, &ns);
  cr_assert(eq(int, ns.n, 1));
  cr_expect(eq(int, mffi_sizeof(ty("struct p")), 5));
  mffi_lib *lib = NULL;
  const char *text;
  size_t len;
  mffi_ctx *c2 = tl_reparse(&lib, &text, &len);
  cr_assert(eq(u64, mffi_lib_cdef_count(lib), 1));
  cr_assert(eq(u64, len, strlen(src)));
  cr_expect(memmem(text, len, "vadd", 4) == NULL, "%.*s", (int)len, text);
  const mffi_type *p = NULL;
  cr_assert(eq(int, mffi_typeof(c2, "struct p", &p), MFFI_OK));
  cr_expect(eq(int, mffi_sizeof(p), 5));
  cr_expect(eq(int, mffi_decl_value(mffi_decl_find(c2, "MID")), 7));
  cr_expect(mffi_decl_find(c2, "vsum") != NULL);
  cr_expect(eq(u32, mffi_decl_find(c2, "vsum")->line, 7));
  mffi_ctx_free(c2);
  mffi_close(lib);
}

/* Spliced lines: notes and ranges are in the caller's bytes. */
Test(tolerant, spliced_text) {
  static const char src[] = "typedef float v4 __attribute__((vector_\\\n"
                            "size(16)));\nv4 va\\\ndd(_Atomic(v4) a);\nint go\\\nod;\n";
  tl_notes ns;
  tl_def(src, &ns);
  cr_assert(eq(int, ns.n, 1));
  tl_expect_note(&ns, 0, "vadd", "4:4: _Atomic(type)"); /* as gcc */
  cr_expect(has("good"));
  mffi_lib *lib = NULL;
  cr_assert(eq(int, mffi_open(ctx, NULL, NULL, NULL, &lib), MFFI_OK));
  size_t len = 0;
  const char *text = mffi_lib_cdef_text(lib, 0, &len);
  static const char want[] = "typedef float v4 __attribute__((vector_\\\n"
                             "size(16)));\n      \n                  \n"
                             "int go\\\nod;\n";
  cr_expect(eq(u64, len, strlen(want)));
  cr_expect(memcmp(text, want, len) == 0, "%.*s", (int)len, text);
  mffi_close(lib);
}

/* Many skips among many declarations: each skip undoes only what it made
** (the hashes lose just those entries), so every other declaration is
** still found, types are interned once, and the table is the one a strict
** parse of the blanked text builds. */
Test(tolerant, many_skips_keep_the_table_whole, .timeout = 60) {
  size_t cap = 1 << 20, n = 0;
  char *src = malloc(cap);
  cr_assert(src != NULL);
  n += (size_t)snprintf(src + n, cap - n,
                        "typedef float v4 __attribute__((vector_size(16)));\n");
  for (int i = 0; i < 3000; i++)
    n += (size_t)snprintf(src + n, cap - n,
                          "struct s%d { int a; } *g%d(long *, struct s%d *);\n"
                          "v4 *b%d(_Atomic(v4), struct s%d *, int (*)[%d]);\n"
                          "enum { E%d = %d };\n",
                          i, i, i, i, i, i % 7 + 1, i, i);
  tl_notes ns;
  tl_def(src, &ns);
  mffi_lib *lib = NULL;
  const char *text;
  size_t len;
  mffi_ctx *c2 = tl_reparse(&lib, &text, &len);
  cr_expect(eq(u64, mffi_ndecls(ctx), mffi_ndecls(c2)));
  cr_expect(eq(u32, mffi_ntypes(ctx), mffi_ntypes(c2)));
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "g%d", i);
    cr_assert(mffi_decl_find(ctx, name) != NULL, "%s lost", name);
    snprintf(name, sizeof name, "b%d", i);
    cr_assert(mffi_decl_find(ctx, name) == NULL, "%s declared", name);
    snprintf(name, sizeof name, "E%d", i);
    cr_assert(eq(i64, mffi_decl_value(mffi_decl_find(ctx, name)), i));
    snprintf(name, sizeof name, "struct s%d", i);
    cr_assert(eq(u64, mffi_sizeof(ty(name)), 4));
  }
  const mffi_type *f = mffi_decl_type(mffi_decl_find(ctx, "g0"));
  cr_expect(eq(ptr, (void *)mffi_type_param(f, 0), (void *)ty("long *")));
  mffi_ctx_free(c2);
  mffi_close(lib);
  free(src);
}

/* -- Out of memory --------------------------------------------------------- */

/* Fail each allocation of a tolerant read in turn: it succeeds with the
** same declarations, or fails with MFFI_ENOMEM leaving the context as it
** was; no leak either way. */
Test(tolerant, out_of_memory, .timeout = 120) {
  oom_state st = {0};
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, oom_alloc, &st};
  long total = 0;
  {
    mffi_ctx *c = NULL;
    cr_assert(eq(int, mffi_ctx_new(&c, &o), MFFI_OK));
    long before = st.nrequests;
    cr_assert(eq(int, mffi__cdef_tolerant(c, mixed, strlen(mixed), NULL, NULL),
                 MFFI_OK));
    total = st.nrequests - before;
    mffi_ctx_free(c);
  }
  cr_assert(total > 0);
  for (long n = 1; n <= total + 1; n++) {
    mffi_ctx *c = NULL;
    cr_assert(eq(int, mffi_ctx_new(&c, &o), MFFI_OK));
    cr_assert(eq(int, mffi_cdef(c, "int f(int);", 11), MFFI_OK));
    size_t nd = mffi_ndecls(c);
    uint32_t nt = mffi_ntypes(c);
    tl_notes ns = {0};
    oom_arm(&st, n, 0);
    int rc = mffi__cdef_tolerant(c, mixed, strlen(mixed), tl_note, &ns);
    oom_disarm(&st);
    if (rc == MFFI_OK) {
      cr_expect(mffi_decl_find(c, "good") != NULL, "N=%ld", n);
      cr_expect(mffi_decl_find(c, "vadd") == NULL, "N=%ld", n);
    } else {
      cr_assert(eq(int, rc, MFFI_ENOMEM), "N=%ld: %s", n, mffi_errmsg(c));
      cr_assert(eq(u64, mffi_ndecls(c), nd), "N=%ld", n);
      cr_assert(eq(u32, mffi_ntypes(c), nt), "N=%ld", n);
    }
    if (n > total) cr_assert(eq(int, rc, MFFI_OK));
    mffi_ctx_free(c);
    cr_assert(eq(i64, st.nlive, 0), "N=%ld: %ld blocks leaked", n, st.nlive);
    cr_assert(eq(i64, st.bad_ptr + st.bad_osize, 0), "N=%ld", n);
  }
}
