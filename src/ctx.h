/* Context internals: allocation, errors, string pool. See LICENSE. */
#ifndef MFFI_CTX_H
#define MFFI_CTX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modffi.h"
#include "types.h"

#define MFFI_ERRMSG_MAX 512 /* Max. bytes of an error message, with NUL. */

struct mffi_ctx {
  mffi_alloc_fn alloc; /* Allocator hook (never NULL). */
  void *alloc_ud;
  uint64_t serial; /* Unique per context: keys the per-thread error state. */
  mffi__tt tt;     /* Type table and declarations. */
  struct mffi_lib *libs; /* Open libraries (mffi_ctx_free closes them). */
  char *cdef_log;        /* Every committed mffi_cdef text, one after the
                            other (lib.c). */
  size_t ncdef_log, capcdef_log;
  size_t *cdef_ends; /* End offset of each text in the log. */
  size_t ncdef, capcdef;
};

/* Allocate n bytes through the context's allocator. The block remembers its
** size, so mffi__free needs only the pointer. NULL on failure (no error is
** recorded: callers report MFFI_ENOMEM). n == 0 allocates 1 byte. */
void *mffi__malloc(mffi_ctx *ctx, size_t n);
/* Like mffi__malloc, and the memory is zeroed. */
void *mffi__calloc(mffi_ctx *ctx, size_t n);
/* Resize a block from mffi__malloc (p may be NULL). On failure returns NULL
** and p is untouched. */
void *mffi__realloc(mffi_ctx *ctx, void *p, size_t n);
/* The size asked for block p of mffi__malloc/realloc (1 for a 0-byte one). */
size_t mffi__msize(const void *p);
/* Free a block from mffi__malloc/realloc; NULL does nothing. */
void mffi__free(mffi_ctx *ctx, void *p);
/* Grow an array so that it holds at least `need` elements of `elsz` bytes,
** doubling the capacity *cap. Returns 0, or -1 on out of memory (the array is
** then untouched). */
int mffi__grow(mffi_ctx *ctx, void **arr, size_t *cap, size_t need,
               size_t elsz);

/* The error state (code, offset, detail) is per thread and per context:
** see ctx.c. */

/* Record a failure: the code, a printf-style detail and no position.
** Returns rc so callers can write `return mffi__err(ctx, rc, ...)`. */
int mffi__err(mffi_ctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same at byte offset `offset` of the text being parsed. */
int mffi__err_at(mffi_ctx *ctx, int rc, long offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int mffi__verr(mffi_ctx *ctx, int rc, long offset, const char *fmt, va_list ap);
/* Record MFFI_ENOMEM with the fixed message; returns MFFI_ENOMEM. */
int mffi__nomem(mffi_ctx *ctx);
/* Clear the error state at the start of a public call. */
void mffi__ok(mffi_ctx *ctx);

/* Around mffi_cdef (lib.c): reserve room in the declaration log for len
** more bytes before parsing (0, or -1 on out of memory), and once the text
** is committed, log it and tell the open libraries (cannot fail). */
int mffi__cdef_reserve(mffi_ctx *ctx, size_t len);
void mffi__cdef_done(mffi_ctx *ctx, const char *src, size_t len);

#endif
