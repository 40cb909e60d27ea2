/* libFuzzer target for the CLI value parser (modffi call). See LICENSE.
**
** An input is "DECLS\0TYPE\0VALUE": DECLS go to mffi_cdef, TYPE to
** mffi_typeof, and VALUE is parsed as a `modffi call` argument of that type
** (tools/modffi_value.c, included here) into a buffer of exactly sizeof TYPE
** bytes, so any write outside the object is a sanitizer report. The value
** is then printed back. tests/test_fuzz_replay.c replays fuzz/corpus/value
** through fuzz_value_one(); LLVMFuzzerTestOneInput is compiled only without
** FUZZ_NO_MAIN.
*/
#ifndef __STDC_WANT_IEC_60559_TYPES_EXT__ /* As modffi_value.c wants. */
#define __STDC_WANT_IEC_60559_TYPES_EXT__ 1
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/modffi_value.c"
#include "modffi.h"

#define FUZZ_VALUE_MAX_OBJ ((size_t)1 << 20) /* Larger types are skipped. */

/* Split data at its first two NULs into three NUL-terminated strings (one
** allocation in *buf). Missing parts are empty. */
static void fv_split(const uint8_t *data, size_t size, char **buf,
                     const char *part[3]) {
  *buf = malloc(size + 3);
  if (!*buf) return;
  memcpy(*buf, data, size);
  (*buf)[size] = (*buf)[size + 1] = (*buf)[size + 2] = '\0';
  char *p = *buf, *end = *buf + size;
  for (int i = 0; i < 3; i++) {
    part[i] = p;
    if (i < 2) p = p + strlen(p) < end ? p + strlen(p) + 1 : end + 1 + i;
  }
}

/* Run one input. Returns NULL, or the invariant that broke. */
static const char *fuzz_value_one(const uint8_t *data, size_t size) {
  char *buf = NULL;
  const char *part[3] = {"", "", ""};
  fv_split(data, size, &buf, part);
  if (!buf) return NULL;
  const char *bad = NULL;
  mffi_ctx *ctx = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) {
    free(buf);
    return NULL;
  }
  const mffi_type *t = NULL;
  if (mffi_cdef(ctx, part[0], strlen(part[0])) == MFFI_OK &&
      mffi_typeof(ctx, part[1], &t) == MFFI_OK) {
    size_t sz = mffi_sizeof(t);
    if (sz > 0 && sz <= FUZZ_VALUE_MAX_OBJ) {
      void *dst = calloc(1, sz);
      cv_state st;
      cv_init(&st, ctx);
      FILE *devnull = fopen("/dev/null", "w");
      if (dst && devnull) {
        int rc = cv_parse(&st, t, part[2], dst, 1);
        if (rc != 0 && st.err[0] == '\0')
          bad = "cv_parse failed without a message";
        else if (rc == 0) {
          cv_print(devnull, t, dst);
          cv_print_outs(devnull, &st);
        }
      }
      if (devnull) fclose(devnull);
      cv_free(&st);
      free(dst);
    }
  }
  mffi_ctx_free(ctx);
  free(buf);
  return bad;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *bad = fuzz_value_one(data, size);
  if (bad) {
    fprintf(stderr, "fuzz_value: %s\n", bad);
    abort();
  }
  return 0;
}
#endif
