/* Remote strategy: what the rest of modffi sees of it. See LICENSE. */
#ifndef MFFI_REMOTE_H
#define MFFI_REMOTE_H

#include <stddef.h>

#include "modffi_strategy.h"

/* The strategy (host.c), found as "remote". */
extern const mffi_strategy mffi__strategy_remote;

/* The sandbox's main (sandbox.c): `modffi-sandbox serve BASE SIZE` with
** the channel on fd 3 and the arena's memfd on fd 4, as the host starts it.
** shared_heap: the executable serves malloc from sbheap.c (its heap is then
** in the arena), as it tells the host. Returns the exit status. */
int mffi__sandbox_main(int argc, char **argv, int shared_heap);

/* The sandbox's malloc family (sbheap.c), over the library region of the
** arena once mffi__sbheap_init has been told where it is; until then over a
** static area. Not thread-safe: the sandbox runs one thread. */
void mffi__sbheap_init(void *lo, size_t size);
void *mffi__sbheap_malloc(size_t n);
void mffi__sbheap_free(void *p);
void *mffi__sbheap_calloc(size_t n, size_t sz);
void *mffi__sbheap_realloc(void *p, size_t n);
void *mffi__sbheap_memalign(size_t align, size_t n);
size_t mffi__sbheap_usable(void *p);


#endif
