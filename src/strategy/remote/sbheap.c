/* Remote strategy: the library's heap, in the arena. See LICENSE.
**
** modffi-sandbox replaces malloc and its family (tools/sandbox_main.c) by
** these, so that every block the library allocates lies in the arena's
** library region: the host can read it, write it (XML_GetBuffer's buffer,
** a strdup'ed result) and pass it back as it is. The sandbox is one thread,
** so there is no lock. Blocks are a 16-byte header and the payload; small
** ones come from size classes (powers of two, 16 to 4096 bytes) with free
** lists, large ones from a first-fit list of free runs. Until the arena is
** mapped (the dynamic loader, libc's start), a static bump area serves.
** The heap lives in memory the library can scribble on: it is the library's
** own to corrupt, and nothing of the host depends on it.
*/
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "remote.h"

#define SH_MAGIC 0x6d666668u   /* A block of this heap. */
#define SH_ALIGNED 0x6d666661u /* An aligned block: shift to its base. */
#define SH_NCLASS 9            /* 16, 32, ..., 4096. */
#define SH_SMALL 4096u
#define SH_BOOT (4u << 20)     /* Bytes served before the arena exists. */
#define SH_LARGE_MIN 65536u    /* Large runs are cut from the top in at
                                  least this much. */

typedef struct sh_hdr {
  uint64_t size;  /* Payload bytes (the class size for small blocks). */
  uint32_t magic; /* SH_MAGIC or SH_ALIGNED. */
  uint32_t shift; /* SH_ALIGNED: bytes back to the base payload. */
} sh_hdr;

typedef struct sh_free {
  struct sh_free *next;
} sh_free;

static _Alignas(16) unsigned char sh_boot[SH_BOOT];
static size_t sh_boot_top;
static unsigned char *sh_lo, *sh_top, *sh_hi; /* The arena region. */
static sh_free *sh_small[SH_NCLASS];
static sh_free *sh_large; /* Free large blocks (payload starts). */

void mffi__sbheap_init(void *lo, size_t size) {
  sh_lo = sh_top = lo;
  sh_hi = sh_lo + size;
}

static sh_hdr *sh_hdr_of(void *p) {
  return (sh_hdr *)p - 1;
}

static bool sh_ours(const void *p) {
  const unsigned char *c = p;
  return (c > sh_boot && c < sh_boot + SH_BOOT) ||
         (sh_lo && c > sh_lo && c < sh_hi);
}

/* Cut a block of n payload bytes from the top (or the boot area). */
static void *sh_cut(size_t n) {
  size_t need = sizeof(sh_hdr) + n;
  unsigned char *h;
  if (!sh_lo) {
    if (need > SH_BOOT - sh_boot_top) return NULL;
    h = sh_boot + sh_boot_top;
    sh_boot_top += need;
  } else {
    if (need > (size_t)(sh_hi - sh_top)) return NULL;
    h = sh_top;
    sh_top += need;
  }
  sh_hdr *hd = (sh_hdr *)h;
  hd->size = n;
  hd->magic = SH_MAGIC;
  hd->shift = 0;
  return hd + 1;
}

static int sh_class(size_t n) {
  int c = 0;
  size_t s = 16;
  while (s < n) {
    s <<= 1;
    c++;
  }
  return c;
}

void *mffi__sbheap_malloc(size_t n) {
  if (n > SIZE_MAX / 2) {
    errno = ENOMEM;
    return NULL;
  }
  if (n <= SH_SMALL) {
    int c = sh_class(n ? n : 1);
    if (sh_small[c]) {
      sh_free *f = sh_small[c];
      sh_small[c] = f->next;
      return f;
    }
    void *p = sh_cut((size_t)16 << c);
    if (!p) errno = ENOMEM;
    return p;
  }
  n = (n + 15) & ~(size_t)15;
  /* First fit among the free large blocks; split what is left. */
  for (sh_free **pp = &sh_large; *pp; pp = &(*pp)->next) {
    sh_hdr *h = sh_hdr_of(*pp);
    if (h->size < n) continue;
    sh_free *f = *pp;
    *pp = f->next;
    if (h->size - n >= sizeof(sh_hdr) + SH_SMALL) {
      sh_hdr *rest = (sh_hdr *)((unsigned char *)f + n);
      rest->size = h->size - n - sizeof(sh_hdr);
      rest->magic = SH_MAGIC;
      rest->shift = 0;
      sh_free *rf = (sh_free *)(rest + 1);
      rf->next = sh_large;
      sh_large = rf;
      h->size = n;
    }
    return f;
  }
  void *p = sh_cut(n);
  if (!p) errno = ENOMEM;
  return p;
}

void mffi__sbheap_free(void *p) {
  if (!p || !sh_ours(p)) return; /* The loader's own, or not a block. */
  sh_hdr *h = sh_hdr_of(p);
  if (h->magic == SH_ALIGNED) {
    p = (unsigned char *)p - h->shift;
    h = sh_hdr_of(p);
  }
  if (h->magic != SH_MAGIC) return;
  if ((unsigned char *)p < sh_boot + SH_BOOT && (unsigned char *)p > sh_boot)
    return; /* The boot area is never reused. */
  sh_free *f = p;
  if (h->size <= SH_SMALL) {
    int c = sh_class(h->size);
    f->next = sh_small[c];
    sh_small[c] = f;
  } else {
    f->next = sh_large;
    sh_large = f;
  }
}

size_t mffi__sbheap_usable(void *p) {
  if (!p || !sh_ours(p)) return 0;
  sh_hdr *h = sh_hdr_of(p);
  if (h->magic == SH_ALIGNED) {
    unsigned char *base = (unsigned char *)p - h->shift;
    return (size_t)(sh_hdr_of(base)->size - h->shift);
  }
  return h->magic == SH_MAGIC ? (size_t)h->size : 0;
}

void *mffi__sbheap_calloc(size_t n, size_t sz) {
  if (sz && n > SIZE_MAX / sz) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = mffi__sbheap_malloc(n * sz);
  if (p) memset(p, 0, n * sz);
  return p;
}

void *mffi__sbheap_realloc(void *p, size_t n) {
  if (!p) return mffi__sbheap_malloc(n);
  if (n == 0) {
    mffi__sbheap_free(p);
    return NULL;
  }
  size_t old = mffi__sbheap_usable(p);
  if (old >= n && old / 2 < n) return p;
  void *q = mffi__sbheap_malloc(n);
  if (!q) return NULL;
  memcpy(q, p, old < n ? old : n);
  mffi__sbheap_free(p);
  return q;
}

void *mffi__sbheap_memalign(size_t align, size_t n) {
  if (align <= 16) return mffi__sbheap_malloc(n);
  if ((align & (align - 1)) || n > SIZE_MAX / 2 - align) {
    errno = EINVAL;
    return NULL;
  }
  unsigned char *base = mffi__sbheap_malloc(n + align + sizeof(sh_hdr));
  if (!base) return NULL;
  uintptr_t a = ((uintptr_t)base + sizeof(sh_hdr) + align - 1) &
                ~(uintptr_t)(align - 1);
  unsigned char *p = (unsigned char *)a;
  sh_hdr *h = sh_hdr_of(p);
  h->size = n;
  h->magic = SH_ALIGNED;
  h->shift = (uint32_t)(p - base);
  return p;
}
