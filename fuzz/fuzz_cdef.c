/* libFuzzer target for mffi_cdef, mffi_typeof and the printer. See LICENSE.
**
** tests/test_fuzz_corpus.c includes this file to replay the corpus through
** fuzz_cdef_one() in the normal test suite; LLVMFuzzerTestOneInput is only
** compiled when FUZZ_CDEF_NO_MAIN is not defined.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"
#include "cdef/parse.h" /* mffi__cdef_tolerant */

#define FUZZ_TYPEOF_MAX 128 /* Max. bytes of the prefix given to typeof. */
#define FUZZ_BUF 512        /* Printing buffer; longer text is truncated. */

/* Check one snprintf-style printer result: the text fits or is cut
** cleanly, and a second call with room enough gives the full text. */
static const char *fuzz_check_print(size_t need, const char *buf, size_t n) {
  size_t got = strlen(buf);
  if (need < n && got != need) return "printed length differs from result";
  if (need >= n && got != n - 1) return "truncated text not filled to n-1";
  return NULL;
}

/* Print every declaration and every type of ctx, a few ways. */
static const char *fuzz_print_all(mffi_ctx *ctx) {
  char buf[FUZZ_BUF], small[8];
  const char *bad;
  for (size_t i = 0; i < mffi_ndecls(ctx); i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    if (!d) return "mffi_decl_at gave NULL below mffi_ndecls";
    size_t need = mffi_decl_str(d, buf, sizeof buf);
    if ((bad = fuzz_check_print(need, buf, sizeof buf))) return bad;
    if (need >= sizeof buf) {
      char *big = malloc(need + 1);
      if (!big) return NULL;
      size_t again = mffi_decl_str(d, big, need + 1);
      bad = again != need || strlen(big) != need ? "decl_str unstable" : NULL;
      free(big);
      if (bad) return bad;
    }
    need = mffi_decl_str(d, small, sizeof small);
    if ((bad = fuzz_check_print(need, small, sizeof small))) return bad;
    if (mffi_decl_str(d, NULL, 0) != need) return "decl_str(NULL, 0) differs";
    const char *name = mffi_decl_name(d);
    if (name && mffi_decl_kind_of(d) != MFFI_DECL_TAG &&
        mffi_decl_find(ctx, name) == NULL)
      return "a listed declaration cannot be found by name";
    for (size_t k = 0; k < mffi_decl_nattrs(d); k++) {
      const mffi_attr *a = mffi_decl_attr(d, k);
      if (!a || !a->name) return "attribute without a name";
      for (size_t j = 0; j < a->nargs; j++)
        if (a->args[j].str) (void)strlen(a->args[j].str);
    }
    const mffi_type *t = mffi_decl_type(d);
    if (t && mffi_type_kind(t) == MFFI_KIND_FUNCTION)
      for (size_t j = 0; j < mffi_type_nparams(t); j++) {
        const char *p = mffi_decl_param_name(d, j);
        if (p) (void)strlen(p);
      }
  }
  for (uint32_t id = 0; id < mffi_ntypes(ctx); id++) {
    const mffi_type *t = mffi_type_byid(ctx, id);
    if (!t || mffi_type_id(t) != id) return "mffi_type_byid inconsistent";
    size_t need = mffi_type_str(t, "x", buf, sizeof buf);
    if ((bad = fuzz_check_print(need, buf, sizeof buf))) return bad;
    (void)mffi_sizeof(t);
    (void)mffi_alignof(t);
    (void)mffi_type_unqual(t);
    (void)mffi_type_tag(t);
    mffi_kind k = mffi_type_kind(t);
    if (k == MFFI_KIND_STRUCT || k == MFFI_KIND_UNION) {
      size_t nf = mffi_type_nfields(t);
      for (size_t j = 0; j < nf; j++) {
        mffi_field f;
        if (mffi_type_field(t, j, &f) == MFFI_OK && f.name) {
          size_t off;
          (void)mffi_offsetof(t, f.name, &off);
        }
      }
    }
  }
  return NULL;
}

static void fuzz_count_note(void *ud, const char *name, const char *why) {
  (void)strlen(name);
  (void)strlen(why);
  ++*(size_t *)ud;
}

/* The command line's tolerant reading of the same input: what the strict
** one accepts it accepts alike, with nothing skipped; otherwise it fails
** with a message, or skips with notes, leaving a usable context. */
static const char *fuzz_tolerant_one(const uint8_t *data, size_t size,
                                     int strict_rc) {
  mffi_ctx *ctx = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) return NULL;
  size_t nnotes = 0;
  const char *bad = NULL;
  int rc = mffi__cdef_tolerant(ctx, (const char *)data, size, fuzz_count_note,
                               &nnotes);
  if (strict_rc == MFFI_OK && (rc != MFFI_OK || nnotes))
    bad = "tolerant reading differs on an input mffi_cdef accepts";
  else if (rc > 0)
    bad = "tolerant reading returned a positive code";
  else if (rc < 0 && mffi_errmsg(ctx)[0] == '\0')
    bad = "tolerant reading failed without a message";
  else if (rc == MFFI_OK && mffi_errmsg(ctx)[0] != '\0')
    bad = "tolerant reading succeeded with a message";
  if (!bad) bad = fuzz_print_all(ctx);
  if (!bad && mffi_cdef(ctx, "int fuzz_after;", 15) != MFFI_OK &&
      mffi_decl_find(ctx, "fuzz_after") == NULL)
    bad = "context unusable after the tolerant reading";
  mffi_ctx_free(ctx);
  return bad;
}

/* Run one input. Returns NULL, or what went wrong (an invariant broken;
** crashes and sanitizer reports are caught by the harness). */
static const char *fuzz_cdef_one(const uint8_t *data, size_t size) {
  mffi_ctx *ctx = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) return NULL;
  const char *bad = NULL;
  int rc = mffi_cdef(ctx, (const char *)data, size), strict_rc = rc;
  if (rc > 0)
    bad = "mffi_cdef returned a positive code";
  else if (rc < 0 && mffi_errmsg(ctx)[0] == '\0')
    bad = "mffi_cdef failed without a message";
  else if (rc < 0 && strcmp(mffi_errname(rc), "?") == 0)
    bad = "mffi_cdef returned an unknown code";
  else if (rc < 0 &&
           (mffi_erroffset(ctx) < -1 || mffi_erroffset(ctx) > (long)size))
    bad = "error offset outside the input";
  else if (rc == MFFI_OK && mffi_errmsg(ctx)[0] != '\0')
    bad = "mffi_cdef succeeded with a message";
  if (!bad) bad = fuzz_print_all(ctx);

  /* The start of the input as a type name, up to the first ';' or NUL. */
  if (!bad) {
    char expr[FUZZ_TYPEOF_MAX + 1];
    size_t n = 0;
    while (n < size && n < FUZZ_TYPEOF_MAX && data[n] != ';' && data[n])
      n++;
    memcpy(expr, data, n);
    expr[n] = '\0';
    const mffi_type *t = NULL;
    rc = mffi_typeof(ctx, expr, &t);
    if (rc == MFFI_OK) {
      char buf[FUZZ_BUF];
      if (!t)
        bad = "mffi_typeof succeeded with NULL";
      else
        bad = fuzz_check_print(mffi_type_str(t, NULL, buf, sizeof buf), buf,
                               sizeof buf);
    } else if (t != NULL) {
      bad = "mffi_typeof failed but set *out";
    } else if (mffi_errmsg(ctx)[0] == '\0') {
      bad = "mffi_typeof failed without a message";
    }
  }
  /* The context is still usable after whatever happened. */
  if (!bad && mffi_cdef(ctx, "int fuzz_after;", 15) != MFFI_OK &&
      mffi_decl_find(ctx, "fuzz_after") == NULL)
    bad = "context unusable after the input";
  mffi_ctx_free(ctx);
  if (!bad) bad = fuzz_tolerant_one(data, size, strict_rc);
  return bad;
}

#ifndef FUZZ_CDEF_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *bad = fuzz_cdef_one(data, size);
  if (bad) {
    fprintf(stderr, "fuzz_cdef: %s\n", bad);
    abort();
  }
  return 0;
}
#endif
