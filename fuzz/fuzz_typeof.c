/* libFuzzer target for type expressions (mffi_typeof). See LICENSE.
**
** An input is a type name as C writes it in a cast, parsed against a fixed
** set of declarations (typedefs, tags, constants for array lengths). A type
** that parses is printed, and the printed text must parse back to the same
** type; its size, alignment and parts are read. tests/test_fuzz_replay.c
** replays fuzz/corpus/typeof through fuzz_typeof_one();
** LLVMFuzzerTestOneInput is compiled only without FUZZ_NO_MAIN.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"

static const char ft_decls[] =
    "typedef unsigned long size_t; typedef int myint;\n"
    "typedef int arr4[4]; typedef int (*fnp)(int, ...);\n"
    "typedef int aligned_int __attribute__((aligned(16)));\n"
    "struct fwd; typedef const struct fwd cfwd;\n"
    "struct s { int a; char b[3]; struct s *next; };\n"
    "struct fwd { double x; };\n"
    "union u { int i; float f; }; enum e { A, B = 5, C };\n"
    "typedef struct { int x; } anon_t;\n"
    "#define N 3\n";

#define FT_MAX_EXPR 4096 /* Longer inputs are cut. */
#define FT_BUF 1024      /* Printing buffer. */

/* Walk t's parts (bounded: types are finite, but a deep one may be long). */
static void ft_walk(const mffi_type *t, int depth) {
  if (!t || depth > 64) return;
  (void)mffi_sizeof(t);
  (void)mffi_alignof(t);
  (void)mffi_type_complete(t);
  (void)mffi_type_length(t);
  (void)mffi_type_tag(t);
  for (size_t i = 0; i < mffi_type_nparams(t); i++)
    ft_walk(mffi_type_param(t, i), depth + 1);
  for (size_t i = 0; i < mffi_type_nfields(t); i++) {
    mffi_field f;
    if (mffi_type_field(t, i, &f) == MFFI_OK) ft_walk(f.type, depth + 1);
  }
  ft_walk(mffi_type_target(t), depth + 1);
}

/* Run one input. Returns NULL, or the invariant that broke. */
static const char *fuzz_typeof_one(const uint8_t *data, size_t size) {
  if (size > FT_MAX_EXPR) size = FT_MAX_EXPR;
  char *expr = malloc(size + 1);
  if (!expr) return NULL;
  memcpy(expr, data, size);
  expr[size] = '\0';
  mffi_ctx *ctx = NULL;
  const char *bad = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) goto out;
  if (mffi_cdef(ctx, ft_decls, sizeof ft_decls - 1) != MFFI_OK) {
    bad = "the fixed declarations do not parse";
    goto out;
  }
  const mffi_type *t = (const mffi_type *)1;
  int rc = mffi_typeof(ctx, expr, &t);
  if (rc != MFFI_OK) {
    if (t)
      bad = "mffi_typeof failed but set *out";
    else if (mffi_errmsg(ctx)[0] == '\0')
      bad = "failed without a message";
    else if (strcmp(mffi_errname(rc), "?") == 0)
      bad = "unknown error code";
    goto out;
  }
  if (!t) {
    bad = "mffi_typeof succeeded with NULL";
    goto out;
  }
  if (mffi_errmsg(ctx)[0] != '\0') bad = "succeeded with a message";
  ft_walk(t, 0);
  char buf[FT_BUF];
  size_t need = mffi_type_str(t, NULL, buf, sizeof buf);
  if (need < sizeof buf) {
    if (strlen(buf) != need) bad = "printed length differs from result";
    const mffi_type *t2 = NULL;
    if (!bad && mffi_typeof(ctx, buf, &t2) == MFFI_OK && t2 != t)
      bad = "the printed type parses to another type";
  }
out:
  mffi_ctx_free(ctx);
  free(expr);
  return bad;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *bad = fuzz_typeof_one(data, size);
  if (bad) {
    fprintf(stderr, "fuzz_typeof: %s\n", bad);
    abort();
  }
  return 0;
}
#endif
