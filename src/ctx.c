/* Context, allocator hook, error codes and messages. See LICENSE. */
#include <stdatomic.h>
#include <stdbool.h>
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

/* -- Error codes ----------------------------------------------------------- */

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

/* -- Allocation ------------------------------------------------------------ */

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

/* -- Error state ----------------------------------------------------------- */

/* The detail of a failure belongs to the thread that made the call, so two
** threads failing calls on one context neither mix their messages nor race
** on them. Each thread keeps a few slots, keyed by the context's serial
** number (never reused, so a freed context's slot can only go stale, never
** be mistaken for another's); a thread working with more contexts than that
** loses the least recently used detail. The default TLS model: the slots are
** too big for glibc's static TLS surplus when libmodffi.so is dlopened. */
#define ERR_NSLOTS 8 /* Contexts whose detail a thread keeps at once. */

typedef struct err_slot {
  uint64_t serial; /* Context's serial, 0 for a free slot. */
  uint64_t used;   /* err_clock at the last use, for LRU eviction. */
  int code;        /* Code of the last failure, or MFFI_OK. */
  long offset;     /* Byte offset of the last parse error, or -1. */
  char msg[MFFI_ERRMSG_MAX];
} err_slot;

static _Thread_local err_slot err_slots[ERR_NSLOTS];
static _Thread_local uint64_t err_clock;
static _Atomic uint64_t err_next_serial = 1;

/* This thread's slot for ctx; with take, a new one (the least recently used
** slot) if there is none, else NULL. */
static err_slot *err_slot_of(const mffi_ctx *ctx, bool take) {
  err_slot *lru = &err_slots[0];
  for (int i = 0; i < ERR_NSLOTS; i++) {
    err_slot *e = &err_slots[i];
    if (e->serial == ctx->serial) {
      e->used = ++err_clock;
      return e;
    }
    if (e->used < lru->used) lru = e;
  }
  if (!take) return NULL;
  lru->serial = ctx->serial;
  lru->used = ++err_clock;
  return lru;
}

int mffi__verr(mffi_ctx *ctx, int rc, long offset, const char *fmt,
               va_list ap) {
  err_slot *e = err_slot_of(ctx, true);
  /* fmt's arguments may point into e->msg (a rethrown message). */
  char tmp[MFFI_ERRMSG_MAX];
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  memcpy(e->msg, tmp, sizeof tmp);
  e->code = rc;
  e->offset = offset;
  return rc;
}

int mffi__err(mffi_ctx *ctx, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mffi__verr(ctx, rc, -1, fmt, ap);
  va_end(ap);
  return rc;
}

int mffi__err_at(mffi_ctx *ctx, int rc, long offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mffi__verr(ctx, rc, offset, fmt, ap);
  va_end(ap);
  return rc;
}

int mffi__nomem(mffi_ctx *ctx) {
  err_slot *e = err_slot_of(ctx, true);
  e->code = MFFI_ENOMEM;
  e->offset = -1;
  strcpy(e->msg, "out of memory");
  return MFFI_ENOMEM;
}

void mffi__ok(mffi_ctx *ctx) {
  /* Nothing to clear if this thread has no failure recorded on ctx. */
  err_slot *e = err_slot_of(ctx, false);
  if (!e) return;
  e->code = MFFI_OK;
  e->offset = -1;
  e->msg[0] = '\0';
}

/* -- Public context calls -------------------------------------------------- */

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
  ctx->serial = atomic_fetch_add(&err_next_serial, 1);
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
  mffi__free(ctx, ctx->cdef_log);
  mffi__free(ctx, ctx->cdef_ends);
  err_slot *e = err_slot_of(ctx, false); /* Free this thread's slot. */
  if (e) memset(e, 0, sizeof *e);
  mffi__tt_free(ctx);
  mffi__free(ctx, ctx);
}

const char *mffi_errmsg(const mffi_ctx *ctx) {
  const err_slot *e = ctx ? err_slot_of(ctx, false) : NULL;
  return e ? e->msg : "";
}

long mffi_erroffset(const mffi_ctx *ctx) {
  const err_slot *e = ctx ? err_slot_of(ctx, false) : NULL;
  return e ? e->offset : -1;
}

int mffi_errcode(const mffi_ctx *ctx) {
  const err_slot *e = ctx ? err_slot_of(ctx, false) : NULL;
  return e ? e->code : MFFI_OK;
}
