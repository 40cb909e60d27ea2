/* Context, allocator hook, error codes and messages. See LICENSE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *mffi_version(void) {
  return STR(MFFI_VERSION_MAJOR) "." STR(MFFI_VERSION_MINOR) "." STR(
      MFFI_VERSION_PATCH);
}

/* -- Error codes ---------------------------------------------------------- */

const char *mffi_strerror(int rc) {
  switch (rc) {
  case MFFI_OK: return "success";
#define XX(name, value, text)                                                  \
  case value: return text;
    MFFI_ERR_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char *mffi_errname(int rc) {
  switch (rc) {
  case MFFI_OK: return "MFFI_OK";
#define XX(name, value, text)                                                  \
  case value: return "MFFI_E" #name;
    MFFI_ERR_MAP(XX)
#undef XX
  }
  return "?";
}

/* -- Allocation ----------------------------------------------------------- */

/* Each block starts with its size, so frees can pass osize to the hook. The
** header is as large as max_align_t to keep the payload aligned. */
typedef union blockhdr {
  size_t size;
  max_align_t align_;
} blockhdr;

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

void *mffi__malloc(mffi_ctx *ctx, size_t n) {
  return mffi__realloc(ctx, NULL, n);
}

void *mffi__calloc(mffi_ctx *ctx, size_t n) {
  void *p = mffi__malloc(ctx, n);
  if (p) memset(p, 0, n);
  return p;
}

void *mffi__realloc(mffi_ctx *ctx, void *p, size_t n) {
  if (n == 0) n = 1;
  if (n > SIZE_MAX - sizeof(blockhdr)) return NULL;
  blockhdr *h = p ? (blockhdr *)p - 1 : NULL;
  size_t osize = h ? h->size + sizeof *h : 0;
  blockhdr *nh = ctx->alloc(ctx->alloc_ud, h, osize, n + sizeof *h);
  if (!nh) return NULL;
  nh->size = n;
  return nh + 1;
}

size_t mffi__msize(const void *p) {
  return ((const blockhdr *)p - 1)->size;
}

void mffi__free(mffi_ctx *ctx, void *p) {
  if (!p) return;
  blockhdr *h = (blockhdr *)p - 1;
  ctx->alloc(ctx->alloc_ud, h, h->size + sizeof *h, 0);
}

int mffi__grow(mffi_ctx *ctx, void **arr, size_t *cap, size_t need,
               size_t elsz) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elsz) return -1;
    ncap *= 2;
  }
  void *p = mffi__realloc(ctx, *arr, ncap * elsz);
  if (!p) return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

/* -- Error state ---------------------------------------------------------- */

int mffi__verr(mffi_ctx *ctx, int rc, long offset, const char *fmt,
               va_list ap) {
  ctx->errcode = rc;
  ctx->erroffset = offset;
  vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
  return rc;
}

int mffi__err(mffi_ctx *ctx, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mffi__verr(ctx, rc, -1, fmt, ap);
  va_end(ap);
  return rc;
}

int mffi__nomem(mffi_ctx *ctx) {
  ctx->errcode = MFFI_ENOMEM;
  ctx->erroffset = -1;
  strcpy(ctx->errmsg, "out of memory");
  return MFFI_ENOMEM;
}

void mffi__ok(mffi_ctx *ctx) {
  ctx->errcode = MFFI_OK;
  ctx->erroffset = -1;
  ctx->errmsg[0] = '\0';
}

/* -- Public context calls ------------------------------------------------- */

int mffi_ctx_new(mffi_ctx **out, const mffi_ctx_opts *opts) {
  if (!out) return MFFI_EMISUSE;
  *out = NULL;
  if (opts && opts->version != MFFI_CTX_OPTS_VERSION) return MFFI_EMISUSE;
  mffi_alloc_fn alloc = opts && opts->alloc ? opts->alloc : default_alloc;
  void *ud = opts ? opts->alloc_ud : NULL;
  /* The context itself comes from the hook too, with a header like any
  ** other block; build a stack stub to reach mffi__calloc. */
  mffi_ctx stub = {.alloc = alloc, .alloc_ud = ud};
  mffi_ctx *ctx = mffi__calloc(&stub, sizeof *ctx);
  if (!ctx) return MFFI_ENOMEM;
  ctx->alloc = alloc;
  ctx->alloc_ud = ud;
  mffi__ok(ctx);
  int rc = mffi__tt_init(ctx);
  if (rc != MFFI_OK) {
    mffi__tt_free(ctx);
    mffi__free(ctx, ctx);
    return rc;
  }
  *out = ctx;
  return MFFI_OK;
}

void mffi_ctx_free(mffi_ctx *ctx) {
  if (!ctx) return;
  /* Libraries hold types, names and the allocator of ctx: close them first,
  ** newest first, as lua_close does with what the state owns. */
  while (ctx->libs)
    mffi_close(ctx->libs);
  mffi__tt_free(ctx);
  mffi__free(ctx, ctx);
}

const char *mffi_errmsg(const mffi_ctx *ctx) {
  return ctx ? ctx->errmsg : "";
}

long mffi_erroffset(const mffi_ctx *ctx) {
  return ctx ? ctx->erroffset : -1;
}

int mffi_errcode(const mffi_ctx *ctx) {
  return ctx ? ctx->errcode : MFFI_OK;
}
