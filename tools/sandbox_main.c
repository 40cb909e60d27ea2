/* modffi-sandbox: runs a library for the remote strategy. See LICENSE.
**
** Started by libmodffi (mffi_open with the "remote" strategy), never by
** hand: see modffi-sandbox(1) and docs/sandbox.md.
*/
#define _GNU_SOURCE /* memalign, pvalloc, malloc_usable_size. */
#include "strategy/remote/remote.h"


#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/* The library's heap is in the arena (src/strategy/remote/sbheap.c): the
** executable's malloc family takes precedence over libc's for every object
** loaded, the target library included. (The build makes the sandbox
** without sanitizers; were one compiled in, its allocator would stay.) */
#include <errno.h>
#include <malloc.h>
/* Exported from the executable, so they come first in symbol lookup, for
** libc itself and every library loaded later. */
#define SB_EXPORT __attribute__((visibility("default")))
#include <stddef.h>
#include <stdlib.h>

SB_EXPORT void *malloc(size_t n) { return mffi__sbheap_malloc(n); }
SB_EXPORT void free(void *p) { mffi__sbheap_free(p); }
SB_EXPORT void *calloc(size_t n, size_t sz) { return mffi__sbheap_calloc(n, sz); }
SB_EXPORT void *realloc(void *p, size_t n) { return mffi__sbheap_realloc(p, n); }
SB_EXPORT void *memalign(size_t a, size_t n) { return mffi__sbheap_memalign(a, n); }
SB_EXPORT void *aligned_alloc(size_t a, size_t n) { return mffi__sbheap_memalign(a, n); }
SB_EXPORT void *valloc(size_t n) { return mffi__sbheap_memalign(4096, n); }
SB_EXPORT void *pvalloc(size_t n) {
  return mffi__sbheap_memalign(4096, (n + 4095) & ~(size_t)4095);
}
SB_EXPORT int posix_memalign(void **out, size_t a, size_t n) {
  if (a < sizeof(void *) || (a & (a - 1))) return EINVAL;
  void *p = mffi__sbheap_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
SB_EXPORT size_t malloc_usable_size(void *p) { return mffi__sbheap_usable(p); }
#define SB_SHARED_HEAP 1
#else
#define SB_SHARED_HEAP 0
#endif

int main(int argc, char **argv) {
  return mffi__sandbox_main(argc, argv, SB_SHARED_HEAP);
}
