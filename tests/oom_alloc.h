/* A failing, counting allocator for out-of-memory tests. See LICENSE.
**
** oom_alloc has the mffi_alloc_fn contract. It fails request number
** fail_at (counting new allocations and resizes from 1), and with
** `sticky` every request after it too; it counts live blocks and bytes, and
** checks that the osize given on a free or resize is the size the block was
** allocated with. Each block carries a header with its size and a magic
** number, so a foreign or doubly freed pointer is detected as well.
*/
#ifndef MFFI_TEST_OOM_ALLOC_H
#define MFFI_TEST_OOM_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define OOM_MAGIC 0x6d666669u /* "mffi", marks a live block. */
#define OOM_DEAD 0xdeadbeefu  /* Marks a freed block. */

typedef struct oom_state {
  long fail_at;   /* Request number to fail (1-based); 0: never. */
  int sticky;     /* Fail every request after fail_at too. */
  long nrequests; /* Allocations and resizes asked for so far. */
  long nfailed;   /* Requests refused. */
  size_t live;    /* Bytes live. */
  long nlive;     /* Blocks live. */
  long bad_osize; /* Frees or resizes that gave the wrong osize. */
  long bad_ptr;   /* Frees or resizes of a pointer we do not own. */
} oom_state;

typedef union oom_hdr {
  struct {
    size_t size;
    uint32_t magic;
  } h;
  max_align_t align_; /* Keep the payload aligned like malloc's. */
} oom_hdr;

/* Turn failures off (the count goes on). */
static inline void oom_disarm(oom_state *st) { st->fail_at = 0; }

/* Fail the n-th request from now. */
static inline void oom_arm(oom_state *st, long n, int sticky) {
  st->fail_at = st->nrequests + n;
  st->sticky = sticky;
}

static inline int oom_should_fail(const oom_state *st) {
  if (st->fail_at <= 0) return 0;
  return st->sticky ? st->nrequests >= st->fail_at
                    : st->nrequests == st->fail_at;
}

static inline oom_hdr *oom_check(oom_state *st, void *ptr, size_t osize) {
  oom_hdr *h = (oom_hdr *)ptr - 1;
  if (h->h.magic != OOM_MAGIC) {
    st->bad_ptr++;
    return NULL;
  }
  if (h->h.size != osize) st->bad_osize++;
  return h;
}

static inline void *oom_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  oom_state *st = ud;
  if (nsize == 0) {
    if (!ptr) return NULL;
    oom_hdr *h = oom_check(st, ptr, osize);
    if (!h) return NULL;
    st->live -= h->h.size;
    st->nlive--;
    h->h.magic = OOM_DEAD;
    free(h);
    return NULL;
  }
  st->nrequests++;
  if (oom_should_fail(st)) {
    st->nfailed++;
    return NULL;
  }
  if (!ptr) {
    oom_hdr *h = malloc(sizeof *h + nsize);
    if (!h) return NULL;
    h->h.size = nsize;
    h->h.magic = OOM_MAGIC;
    st->live += nsize;
    st->nlive++;
    return h + 1;
  }
  oom_hdr *h = oom_check(st, ptr, osize);
  if (!h) return NULL;
  size_t old = h->h.size;
  oom_hdr *nh = realloc(h, sizeof *nh + nsize);
  if (!nh) return NULL;
  nh->h.size = nsize;
  st->live = st->live - old + nsize;
  return nh + 1;
}

#endif
