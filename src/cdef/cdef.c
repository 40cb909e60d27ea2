/* Public entry points of the declaration parser. See LICENSE. */
#include <string.h>

#include "cdef.h"

int mffi_cdef(mffi_ctx *ctx, const char *src, size_t len) {
  if (!ctx) return MFFI_EMISUSE;
  if (!src && len) return mffi__err(ctx, MFFI_EMISUSE, "src is NULL");
  mffi__ok(ctx);
  if (mffi__cdef_reserve(ctx, len) != 0) return mffi__nomem(ctx);
  mffi__tt_begin(ctx);
  int rc = mffi__cdef_parse(ctx, src ? src : "", len);
  if (rc == MFFI_OK) {
    mffi__tt_commit(ctx);
    mffi__cdef_done(ctx, src ? src : "", len);
  } else {
    mffi__tt_rollback(ctx);
  }
  return rc;
}

int mffi_typeof(mffi_ctx *ctx, const char *type_expr, const mffi_type **out) {
  if (out) *out = NULL;
  if (!ctx) return MFFI_EMISUSE;
  if (!type_expr || !out)
    return mffi__err(ctx, MFFI_EMISUSE, "type_expr and out must not be NULL");
  mffi__ok(ctx);
  mffi_tid tid;
  int rc = mffi__cdef_typename(ctx, type_expr, strlen(type_expr), &tid);
  if (rc == MFFI_OK) *out = ctx->tt.types[tid];
  return rc;
}
