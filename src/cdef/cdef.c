/* Public entry points of the declaration parser. See LICENSE. */
#include <string.h>

#include "cdef.h"

int mffi_cdef(mffi_ctx *ctx, const char *src, size_t len) {
  if (!ctx) return MFFI_EMISUSE;
  if (!src && len) return mffi__err(ctx, MFFI_EMISUSE, "src is NULL");
  mffi__ok(ctx);
  if (mffi__cdef_reserve(ctx, len) != 0) return mffi__nomem(ctx);
  mffi__tt_begin(ctx);
  int rc = mffi__cdef_parse(ctx, src ? src : "", len, NULL);
  if (rc == MFFI_OK) {
    mffi__tt_commit(ctx);
    mffi__cdef_done(ctx, src ? src : "", len);
  } else {
    mffi__tt_rollback(ctx);
  }
  return rc;
}

/* The text with the skipped ranges blanked: spaces, with newlines and
** preprocessor lines (#pragma pack, line markers, #define) kept, so that
** lines, packing and constants stay as they were. */
static void cd_blank(char *text, const char *src, size_t len,
                     const mffi__cdef_skips *sk) {
  memcpy(text, src, len);
  for (size_t r = 0; r < sk->nranges; r++) {
    size_t i = sk->ranges[r].from, to = sk->ranges[r].to;
    while (i < to) {
      if (i == 0 || src[i - 1] == '\n') {
        size_t j = i;
        while (j < to && (src[j] == ' ' || src[j] == '\t'))
          j++;
        if (j < to && src[j] == '#') { /* Keep the line, spliced ones too. */
          while (j < len && !(src[j] == '\n' && src[j - 1] != '\\' &&
                              !(src[j - 1] == '\r' && src[j - 2] == '\\')))
            j++;
          i = j;
          continue;
        }
      }
      if (src[i] != '\n') text[i] = ' ';
      i++;
    }
  }
}

int mffi__cdef_tolerant(mffi_ctx *ctx, const char *src, size_t len,
                        mffi__cdef_note_fn note, void *ud) {
  if (!ctx) return MFFI_EMISUSE;
  if (!src && len) return mffi__err(ctx, MFFI_EMISUSE, "src is NULL");
  if (!src) src = "";
  mffi__ok(ctx);
  if (mffi__cdef_reserve(ctx, len) != 0) return mffi__nomem(ctx);
  mffi__tt_begin(ctx);
  mffi__cdef_skips sk = {.note = note, .ud = ud};
  int rc = mffi__cdef_parse(ctx, src, len, &sk);
  char *text = NULL;
  if (rc == MFFI_OK && sk.nranges) {
    text = mffi__malloc(ctx, len);
    if (!text)
      rc = mffi__nomem(ctx);
    else
      cd_blank(text, src, len, &sk);
  }
  mffi__free(ctx, sk.ranges);
  if (rc != MFFI_OK) {
    mffi__tt_rollback(ctx);
    return rc;
  }
  mffi__tt_commit(ctx);
  mffi__cdef_done(ctx, text ? text : src, len);
  mffi__free(ctx, text);
  return MFFI_OK;
}

int mffi_typeof(mffi_ctx *ctx, const char *type_expr, const mffi_type **out) {
  if (out) *out = NULL;
  if (!ctx) return MFFI_EMISUSE;
  if (!type_expr || !out)
    return mffi__err(ctx, MFFI_EMISUSE, "type_expr and out must not be NULL");
  mffi__ok(ctx);
  mffi__tid tid;
  int rc = mffi__cdef_typename(ctx, type_expr, strlen(type_expr), &tid);
  if (rc == MFFI_OK) *out = ctx->tt.types[tid];
  return rc;
}
