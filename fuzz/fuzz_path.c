/* libFuzzer target for member paths (mffi_fieldof, mffi_offsetof,
** mffi_field_get, mffi_field_set). See LICENSE.
**
** An input is "TYPE\0PATH" (or just PATH, for the first fixed type): TYPE
** names one of a fixed set of struct types declared below (or any type
** expression), PATH is the member path. Each accessor runs on an object of
** exactly sizeof TYPE bytes in its own allocation, so a read or write
** outside it is a sanitizer report; the results are checked against each
** other. tests/test_fuzz_replay.c replays fuzz/corpus/path through
** fuzz_path_one(); LLVMFuzzerTestOneInput is compiled only without
** FUZZ_NO_MAIN.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"

/* The fixed types: arrays, nesting, anonymous members, bit-fields,
** flexible arrays, qualifiers, a struct completed after its use. */
static const char fp_decls[] =
    "struct fwd; typedef const struct fwd cfwd;\n"
    "struct fwd { double x; int y; };\n"
    "struct inner { int a; unsigned b : 3; int c : 5; char s[3]; };\n"
    "struct outer { char tag; struct inner in[3]; double d;\n"
    "  union { long l; float f; struct { short h1, h2; }; };\n"
    "  struct inner *link; int grid[2][3]; cfwd cf[2];\n"
    "  long long big : 40; _Bool flag : 1; };\n"
    "struct flex { int n; struct inner tail[]; };\n"
    "union u { int i; char c[7]; struct inner in; };\n"
    "typedef struct { int arr[3]; int after; } plain;\n"
    "struct empty {};\n"
    "struct hasempty { struct empty e[4]; int z; };\n";

#define FP_MAX_OBJ 4096 /* Larger types are skipped. */

/* Run one input. Returns NULL, or the invariant that broke. */
static const char *fuzz_path_one(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 2);
  if (!buf) return NULL;
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = '\0';
  const char *type = "struct outer", *path = buf;
  size_t l0 = strlen(buf);
  if (l0 < size) {
    type = buf;
    path = buf + l0 + 1;
  }
  mffi_ctx *ctx = NULL;
  const char *bad = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) goto out;
  if (mffi_cdef(ctx, fp_decls, sizeof fp_decls - 1) != MFFI_OK) {
    bad = "the fixed declarations do not parse";
    goto out;
  }
  const mffi_type *t = NULL;
  if (mffi_typeof(ctx, type, &t) != MFFI_OK) goto out;
  size_t sz = mffi_sizeof(t);
  if (sz > FP_MAX_OBJ) goto out;
  mffi_field f;
  int frc = mffi_fieldof(t, path, &f);
  size_t off = 1;
  int orc = mffi_offsetof(t, path, &off);
  if (frc == MFFI_OK && f.bit_width < 0 && (orc != MFFI_OK || off != f.offset))
    bad = "mffi_offsetof disagrees with mffi_fieldof";
  if (frc != MFFI_OK && orc == MFFI_OK) bad = "offsetof accepts, fieldof not";
  if (orc != MFFI_OK && off != 0) bad = "mffi_offsetof failed but set *out";
  unsigned char *obj = malloc(sz ? sz : 1);
  unsigned char *val = calloc(1, FP_MAX_OBJ);
  if (obj && val) {
    memset(obj, 0xa5, sz);
    int grc = mffi_field_get(t, obj, path, val);
    int src = mffi_field_set(t, obj, path, val);
    if (grc != src) bad = "field_get and field_set disagree";
    if (grc == MFFI_OK) {
      if (frc != MFFI_OK)
        bad = "field_get accepts a path fieldof refuses";
      else if (f.bit_width < 0 && f.offset + mffi_sizeof(f.type) > sz)
        bad = "field_get accepted a member outside the object";
      else if (f.bit_width >= 0 && f.bit_offset + (size_t)f.bit_width > sz * 8)
        bad = "field_get accepted a bit-field outside the object";
    }
    /* Setting what was read back leaves the object as it was. */
    for (size_t i = 0; i < sz && !bad && grc == MFFI_OK; i++)
      if (obj[i] != 0xa5) bad = "set of the value just read changed the object";
  }
  free(obj);
  free(val);
out:
  mffi_ctx_free(ctx);
  free(buf);
  return bad;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *bad = fuzz_path_one(data, size);
  if (bad) {
    fprintf(stderr, "fuzz_path: %s\n", bad);
    abort();
  }
  return 0;
}
#endif
