/* The checked decorator: declared rules enforced around any strategy. See
** LICENSE.
**
** A checked library opens an inner library (same context, any strategy) and
** binds an inner function for each of its own. Each call runs the rules of
** the function's marshalling plan before mffi_call() on the inner function
** and refuses a violation with MFFI_EVIOLATION, so the library never sees
** the bad call. Functions to which no rule can apply (no pointer argument,
** no attribute, not a deallocator) cost nothing: over an in-process
** (MFFI_STRATEGY_NATIVE) strategy they run the inner function's own call
** routine on the same data (modffi_strategy.h, mffi_fn_get_call), over
** others a routine that only forwards.
**
** The rules need to know which memory is which: a table of tracked blocks,
** sorted by address, holds every block that a malloc-attributed function
** returned and every block from mffi_new() on the checked library, live or
** released, with its size (alloc_size, or unknown), the function that made
** it, the one that released it, and the thread that made it. Released
** blocks are remembered (up to CK_MAX_RELEASED; the oldest half is then
** forgotten) so that a second release or a use after release is caught; a
** new block at the same address replaces them, so that a use after the
** allocator has handed the memory out again is not caught. Memory from
** mffi_new, which the checker frees itself, is held in a small quarantine
** after mffi_delete, so that it is not handed out again at once.
**
** Calls take a fast path (ck_call) that only reads: each pointer is looked
** up in a small cache of recent answers that holds copies of the block's
** bounds and state and is valid until the table next changes (L->gen);
** anything unusual, a cache miss, or a call that changes the table
** (allocators, deallocators) goes to ck_call_full, which checks every rule,
** writes the messages and updates the table. There is no lock unless the
** library is shared between threads (MFFI_CHECKED_SHARED).
**
** Written against the public strategy interface only (modffi.h,
** modffi_strategy.h).
*/
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "checked.h"
#include "modffi.h"
#include "modffi_strategy.h"

#define CK_MAX_STRATEGIES 16 /* Decorators made by mffi_checked_strategy. */
#define CK_NAME_MAX 48       /* "checked:" + inner name, truncated. */
#define CK_MAX_MEMBERS 32    /* Pointer members checked per struct arg. */
#define CK_MAX_DEPTH 4       /* Nested structs searched for members. */
#define CK_PATH_MAX 48       /* A member's path ("a.b[2].c"), truncated. */
#define CK_MAX_RELEASED 4096 /* Released blocks remembered. */
#define CK_MSG_MAX 512       /* A violation's message. */
#define CK_RELEASE_ARGS 64   /* Arguments that can be released (bits). */
#define CK_MAX_ALLOCS 8      /* Allocators remembered per deallocator. */
#define CK_QUARANTINE 64     /* mffi_new blocks whose release is delayed, */
#define CK_QUARANTINE_BYTES ((size_t)4 << 20) /* and their total size. */
#define CK_CACHE_BITS 8 /* Lookup cache: 2^8 entries, in sets of 2. */

/* -- Strategies ------------------------------------------------------------ */

typedef struct ck_strategy {
  mffi_strategy s;            /* First: libraries point here. */
  const mffi_strategy *inner; /* The decorated strategy, or NULL: */
  const char *inner_name;     /* looked up by this name at open. */
  char name[CK_NAME_MAX];
} ck_strategy;

static int ck_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts);
static void ck_close(mffi_lib *lib);
static int ck_bind(mffi_fn *fn);
static void ck_unbind(mffi_fn *fn);
static int ck_xcall(mffi_fn *fn, void *ret, void *const *args);
static int ck_new(mffi_lib *lib, size_t sz, size_t align, void **out);
static void ck_delete(mffi_lib *lib, void *p);
static int ck_read(mffi_lib *lib, void *dst, const void *src, size_t n);
static int ck_write(mffi_lib *lib, void *dst, const void *src, size_t n);
static int ck_callback(mffi_closure *c);
static void ck_callback_free(mffi_closure *c);
static int ck_reopen(mffi_lib *lib);

/* The vtable of the decorator ck_strategy SELF called NAME. Not NATIVE:
** every call is seen. No xCdef: the inner library gets its own
** notification. */
#define CK_VTABLE(NAME, SELF)                                                  \
  {                                                                            \
    .version = MFFI_STRATEGY_VERSION, .name = (NAME), .opts = (SELF),          \
    .flags = MFFI_STRATEGY_PLAN | MFFI_STRATEGY_VARCALLBACK,                   \
    .xOpen = ck_open, .xClose = ck_close,                                      \
    .xBind = ck_bind, .xUnbind = ck_unbind, .xCall = ck_xcall, .xNew = ck_new, \
    .xDelete = ck_delete, .xRead = ck_read, .xWrite = ck_write,                \
    .xCallback = ck_callback, .xCallbackFree = ck_callback_free,               \
    .xCdef = NULL, .xReopen = ck_reopen                                        \
  }

/* The built-in decorators, initialised statically so that
** mffi_strategy_find() stays thread-safe; each finds its inner strategy by
** name at open ("remote" may not exist yet). */
static ck_strategy ck_builtin[3] = {
    {CK_VTABLE("checked", &ck_builtin[0]), NULL, "dynamic", "checked"},
    {CK_VTABLE("checked:static", &ck_builtin[1]), NULL, "static",
     "checked:static"},
    {CK_VTABLE("checked:remote", &ck_builtin[2]), NULL, "remote",
     "checked:remote"},
};
/* Decorators over other strategies, made on demand. */
static ck_strategy ck_made[CK_MAX_STRATEGIES];
static int ck_nmade;

static bool ck_is_checked(const mffi_strategy *s) {
  return s && s->xOpen == ck_open;
}

const mffi_strategy *mffi_checked_strategy(const mffi_strategy *inner) {
  if (!inner) inner = mffi_strategy_find("dynamic");
  for (int i = 0; i < 3; i++)
    if (inner == mffi_strategy_find(ck_builtin[i].inner_name))
      return &ck_builtin[i].s;
  for (int i = 0; i < ck_nmade; i++)
    if (ck_made[i].inner == inner) return &ck_made[i].s;
  if (ck_nmade == CK_MAX_STRATEGIES) return NULL;
  char name[CK_NAME_MAX];
  snprintf(name, sizeof name, "checked:%s", inner->name ? inner->name : "?");
  ck_strategy *c = &ck_made[ck_nmade];
  *c = (ck_strategy){CK_VTABLE(c->name, c), inner, NULL, ""};
  snprintf(c->name, sizeof c->name, "%s", name);
  ck_nmade++;
  return &c->s;
}

const mffi_strategy *mffi__checked_find(const char *name) {
  if (strncmp(name, "checked", 7) != 0) return NULL;
  if (name[7] == '\0') return &ck_builtin[0].s;
  if (name[7] != ':') return NULL;
  for (int i = 0; i < 3; i++)
    if (strcmp(name, ck_builtin[i].name) == 0) return &ck_builtin[i].s;
  const mffi_strategy *inner = mffi_strategy_find(name + 8);
  return inner ? mffi_checked_strategy(inner) : NULL;
}

/* -- Tracked blocks -------------------------------------------------------- */

enum { CK_LIVE, CK_RELEASED };
enum { CK_FROM_ALLOC, CK_FROM_NEW };

typedef struct ck_block {
  uintptr_t addr;
  uintptr_t end;          /* Exclusive; addr + 1 for an unknown size. */
  size_t size;            /* Bytes; 0 when !known. */
  const char *alloc_by;   /* Function name (pooled by the context). */
  const char *release_by; /* Set when released. */
  const char *dealloc;    /* Declared deallocator, or NULL. */
  const mffi_decl *decl;  /* The allocator's declaration, or NULL. */
  void *raw;              /* mffi_new on the heap: the allocation. */
  uintptr_t thread;       /* Who made it (ck_thread()). */
  uint64_t seq;           /* When it was last made or released. */
  unsigned char state;    /* CK_LIVE, CK_RELEASED. */
  unsigned char origin;   /* CK_FROM_*. */
  bool known;             /* The size is known. */
} ck_block;

/* An mffi_new block in quarantine: deleted, not yet given back. */
typedef struct ck_held {
  void *p;   /* What the inner xDelete takes, */
  void *raw; /* or what the heap gave (no inner xNew). */
  size_t size;
} ck_held;

/* A function no rule applies to, bound to the inner function's routine. */
typedef struct ck_alias {
  mffi_fn *outer, *inner;
} ck_alias;

/* A cached lookup: address addr was in block idx (SIZE_MAX: in none) while
** the table was at generation gen. */
typedef struct ck_hit {
  uintptr_t addr; /* The address looked up. */
  uint64_t gen;
  size_t idx;
  uintptr_t base; /* Copies of the block's addr and size, and whether it */
  size_t size;    /* is live with a known size, so that the fast path */
  bool live;      /* reads one cache line (valid while gen is: a release */
  bool known;     /* bumps it too). */
} ck_hit;

typedef struct ck_lib {
  mffi_lib *inner;
  const mffi_strategy *is; /* The inner strategy. */
  bool native;             /* Inner memory is host memory (may be read). */
  ck_block *blocks;        /* Sorted by addr, disjoint. */
  size_t nblocks, capblocks, nreleased;
  size_t reserved; /* Slots promised to calls in flight (ck_reserve). */
  uint64_t seq;
  ck_hit cache[1u << CK_CACHE_BITS]; /* Recent lookups (ck_find). */
  uint64_t gen; /* Bumped when blocks move or go: cache entries expire. */
  atomic_flag lock;
  unsigned flags; /* MFFI_CHECKED_*. */
  mffi_checked_report_fn report;
  void *report_ud;
  atomic_size_t nviolations;
  ck_alias *aliases; /* Functions forwarded at no cost (native inner). */
  size_t naliases, capaliases;
  ck_held held[CK_QUARANTINE]; /* A ring, oldest at held_first. */
  size_t nheld, held_first, held_bytes;
} ck_lib;

static _Thread_local char ck_tls_anchor;

/* An id of the running thread: the address of a thread-local. */
static uintptr_t ck_thread(void) {
  return (uintptr_t)&ck_tls_anchor;
}

/* The table lock, taken only for libraries called from several threads at
** once (MFFI_CHECKED_SHARED): an atomic exchange would triple the cost of
** a checked call. */
static void ck_lock(ck_lib *L) {
  if (!(L->flags & MFFI_CHECKED_SHARED)) return;
  while (atomic_flag_test_and_set_explicit(&L->lock, memory_order_acquire))
    ;
}

static void ck_unlock(ck_lib *L) {
  if (!(L->flags & MFFI_CHECKED_SHARED)) return;
  atomic_flag_clear_explicit(&L->lock, memory_order_release);
}

/* Index of the last block starting at or before a, or nblocks if none. */
static size_t ck_floor(const ck_lib *L, uintptr_t a) {
  size_t lo = 0, hi = L->nblocks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (L->blocks[mid].addr <= a)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? L->nblocks : lo - 1;
}

/* The end of block b (exclusive) from its size: a block of unknown size
** covers its first byte only, so only its start is recognised. */
static uintptr_t ck_end(const ck_block *b) {
  return b->addr + (b->known && b->size ? b->size : 1);
}

/* The set of address a in the lookup cache: Fibonacci hashing of the
** 16-byte granule, which spreads the regularly spaced blocks of an
** allocator over distinct sets. */
static size_t ck_set(uintptr_t a) {
  return (size_t)(((uint64_t)(a >> 4) * 0x9e3779b97f4a7c15u) >>
                  (64 - CK_CACHE_BITS + 1));
}

/* The cached answer for address a, or NULL if the cache does not know it.
** Two ways per set: two addresses that hash alike do not evict each
** other. */
static inline const ck_hit *ck_probe(const ck_lib *L, uintptr_t a) {
  const ck_hit *h = &L->cache[2 * ck_set(a)];
  if (h[0].addr == a && h[0].gen == L->gen) return &h[0];
  if (h[1].addr == a && h[1].gen == L->gen) return &h[1];
  return NULL;
}

/* The block containing address p, or NULL. The cache of recent lookups,
** valid until the table next changes (L->gen), answers most of them
** without the binary search; this fills it. */
static ck_block *ck_find(ck_lib *L, const void *p) {
  if (L->nblocks == 0) return NULL;
  uintptr_t a = (uintptr_t)p;
  const ck_hit *c = ck_probe(L, a);
  if (c) return c->idx == SIZE_MAX ? NULL : &L->blocks[c->idx];
  size_t i = ck_floor(L, a);
  if (i != L->nblocks && a >= L->blocks[i].end) i = L->nblocks;
  ck_hit *h = &L->cache[2 * ck_set(a)];
  h[1] = h[0]; /* The newest answer goes first. */
  h->addr = a;
  h->gen = L->gen;
  h->idx = i == L->nblocks ? SIZE_MAX : i;
  if (i == L->nblocks) return NULL;
  ck_block *b = &L->blocks[i];
  h->base = b->addr;
  h->size = b->size;
  h->live = b->state == CK_LIVE;
  h->known = b->known;
  return b;
}

/* Promise the caller room for one more block, kept until its ck_track or
** ck_unreserve (other threads may track blocks in between); 0 or -1 (out of
** memory). */
static int ck_reserve(mffi_lib *lib, ck_lib *L) {
  if (L->nblocks + L->reserved >= L->capblocks) {
    size_t cap = L->capblocks ? 2 * L->capblocks : 16;
    if (cap > SIZE_MAX / sizeof(ck_block)) return -1;
    ck_block *nb = mffi_lib_malloc(lib, cap * sizeof *nb);
    if (!nb) return -1;
    if (L->nblocks) memcpy(nb, L->blocks, L->nblocks * sizeof *nb);
    mffi_lib_free(lib, L->blocks);
    L->blocks = nb;
    L->capblocks = cap;
  }
  L->reserved++;
  return 0;
}

/* Give back a promise of ck_reserve that no block will use. */
static void ck_unreserve(ck_lib *L) { L->reserved--; }

/* Forget the older half of the released blocks. */
static void ck_forget(ck_lib *L) {
  uint64_t oldest = UINT64_MAX;
  for (size_t i = 0; i < L->nblocks; i++)
    if (L->blocks[i].state == CK_RELEASED && L->blocks[i].seq < oldest)
      oldest = L->blocks[i].seq;
  uint64_t cut = oldest + (L->seq - oldest) / 2;
  size_t k = 0;
  for (size_t i = 0; i < L->nblocks; i++) {
    ck_block *b = &L->blocks[i];
    if (b->state == CK_RELEASED && b->seq <= cut) {
      L->nreleased--;
      continue;
    }
    L->blocks[k++] = *b;
  }
  L->nblocks = k;
  L->gen++;
}

/* Add block nb on a promise of ck_reserve: blocks it overlaps are gone (the
** memory was handed out again) and are dropped. */
static void ck_track(ck_lib *L, const ck_block *nb) {
  ck_unreserve(L);
  uintptr_t end = ck_end(nb);
  size_t i = ck_floor(L, nb->addr);
  i = i == L->nblocks ? 0 : (L->blocks[i].end > nb->addr ? i : i + 1);
  size_t j = i;
  while (j < L->nblocks && L->blocks[j].addr < end) {
    if (L->blocks[j].state == CK_RELEASED) L->nreleased--;
    j++;
  }
  /* Replace blocks [i, j) with nb. */
  if (j == i) {
    memmove(&L->blocks[i + 1], &L->blocks[i],
            (L->nblocks - i) * sizeof *L->blocks);
    L->nblocks++;
  } else if (j > i + 1) {
    memmove(&L->blocks[i + 1], &L->blocks[j],
            (L->nblocks - j) * sizeof *L->blocks);
    L->nblocks -= j - i - 1;
  }
  L->blocks[i] = *nb;
  L->blocks[i].end = end;
  L->gen++;
  L->blocks[i].seq = ++L->seq;
}

/* Mark b released by who. */
static void ck_retire(ck_lib *L, ck_block *b, const char *who) {
  L->gen++; /* Cached copies of the state expire. */
  b->state = CK_RELEASED;
  b->release_by = who;
  b->seq = ++L->seq;
  if (++L->nreleased > CK_MAX_RELEASED) ck_forget(L);
}

/* Give a block back to the inner library or the heap. */
static void ck_give_back(mffi_lib *lib, ck_lib *L, const ck_held *h) {
  if (L->is->xDelete)
    L->is->xDelete(L->inner, h->p);
  else
    mffi_lib_free(lib, h->raw);
}

/* Give back the oldest quarantined blocks until at most n remain, holding
** at most bytes. */
static void ck_flush(mffi_lib *lib, ck_lib *L, size_t n, size_t bytes) {
  while (L->nheld > n || (L->nheld && L->held_bytes > bytes)) {
    ck_held h = L->held[L->held_first];
    L->held_first = (L->held_first + 1) % CK_QUARANTINE;
    L->nheld--;
    L->held_bytes -= h.size;
    ck_give_back(lib, L, &h);
  }
}

/* -- Messages -------------------------------------------------------------- */

/* "argument 1 'buf'" into buf. */
static void ck_argname(char *buf, size_t n, const mffi_plan *plan, size_t i) {
  const char *pn = i < plan->nargs ? plan->args[i].name : NULL;
  if (pn)
    snprintf(buf, n, "argument %zu '%s'", i + 1, pn);
  else
    snprintf(buf, n, "argument %zu", i + 1);
}

/* "a block of 64 bytes" / "a block of unknown size" into buf. */
static void ck_blockname(char *buf, size_t n, const ck_block *b) {
  if (b->known)
    snprintf(buf, n, "a block of %zu bytes", b->size);
  else
    snprintf(buf, n, "a block of unknown size");
}

/* Count and report a violation whose text is in msg; returns true if the
** call must be refused. */
static bool ck_violation(mffi_lib *lib, ck_lib *L, const char *fname,
                         const char *msg) {
  atomic_fetch_add_explicit(&L->nviolations, 1, memory_order_relaxed);
  mffi_lib_err(lib, MFFI_EVIOLATION, "%s", msg);
  if (L->report) {
    mffi_checked_event ev = {MFFI_CHECKED_VIOLATION, fname, msg, NULL};
    L->report(L->report_ud, &ev);
  }
  return !(L->flags & MFFI_CHECKED_AUDIT);
}

/* -- Functions ------------------------------------------------------------- */

/* Bits of ck_arg.what. */
#define CK_A_PTR 0x1u     /* A pointer to look up in the table. */
#define CK_A_NONNULL 0x2u /* NULL refused. */
#define CK_A_BOUNDS 0x4u  /* A buffer: its size must fit its block. */
#define CK_A_STRING 0x8u  /* A string: its NUL must lie in its block. */

typedef struct ck_member {
  size_t offset;
  char path[CK_PATH_MAX];
} ck_member;

typedef struct ck_arg {
  unsigned what;            /* CK_A_* bits. */
  unsigned char count_size; /* Bytes of the count argument (1, 2, 4, 8), or
                               0: read with mffi_fn_arg_int. */
  bool count_signed;
  size_t obj_size; /* Size of the struct pointed to (members). */
  size_t nmembers; /* Pointer members of the struct pointed to. */
  ck_member *members;
} ck_arg;

/* An allocator whose malloc(dealloc, arg) names a function. */
typedef struct ck_alloc {
  const mffi_decl *decl;
  int arg; /* 0-based. */
} ck_alloc;

typedef struct ck_fn {
  mffi_fn *inner;
  mffi_lib *lib; /* The checked library and its state. */
  ck_lib *L;
  const mffi_plan *plan;
  const char *name;  /* "function" for mffi_bind_ptr. */
  uint64_t releases; /* Bit i: a malloc(name, i+1) in the context. */
  ck_alloc allocs[CK_MAX_ALLOCS]; /* The allocators of those, */
  size_t nallocs;                 /* how many, */
  bool many_allocs;               /* and whether more than fit. */
  unsigned char asz_size[2];      /* alloc_size arguments: bytes (1-8), */
  bool asz_signed[2];             /* signedness; 0: mffi_fn_arg_int. */
  size_t nargs;
  ck_arg *args;
  mffi_call_fn inner_call; /* Native inner: its routine, called directly. */
  bool full;               /* Every call takes the full path (results,
                              releases). */
  size_t nptrs;            /* Pointer arguments, */
  uint32_t *ptrs;          /* their indexes. */
} ck_fn;

/* Whether a declared deallocator name is name ("__builtin_free" is free). */
static bool ck_same_fn(const char *dealloc, const char *name) {
  if (strncmp(dealloc, "__builtin_", 10) == 0) dealloc += 10;
  return strcmp(dealloc, name) == 0;
}

/* The argument (0-based) of malloc attribute at that takes the result, or
** -1 if the attribute names no deallocator. */
static int ck_dealloc_arg(const mffi_attr *at) {
  if (strcmp(at->name, "malloc") != 0 || at->nargs < 1 || !at->args[0].str)
    return -1;
  if (at->nargs < 2) return 0;
  if (at->args[1].str || at->args[1].num < 1) return -1;
  return (int)(at->args[1].num - 1);
}

/* Whether the allocator declared by d names name as a deallocator taking
** the block as argument i. */
static bool ck_decl_releases(const mffi_decl *d, const char *name, size_t i) {
  size_t n = mffi_decl_nattrs(d);
  for (size_t k = 0; k < n; k++) {
    const mffi_attr *at = mffi_decl_attr(d, k);
    int arg = ck_dealloc_arg(at);
    if (arg >= 0 && (size_t)arg == i && ck_same_fn(at->args[0].str, name))
      return true;
  }
  return false;
}

/* Find every malloc(name, i) in ctx: the arguments f releases (bits) and,
** up to CK_MAX_ALLOCS, the allocators and arguments, so that a release is
** judged by comparing pointers. */
static void ck_releases_of(mffi_ctx *ctx, const char *name, ck_fn *f) {
  size_t n = mffi_ndecls(ctx);
  for (size_t i = 0; i < n; i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    if (mffi_decl_kind_of(d) != MFFI_DECL_FUNCTION) continue;
    size_t na = mffi_decl_nattrs(d);
    for (size_t k = 0; k < na; k++) {
      const mffi_attr *at = mffi_decl_attr(d, k);
      int arg = ck_dealloc_arg(at);
      if (arg < 0 || arg >= CK_RELEASE_ARGS ||
          !ck_same_fn(at->args[0].str, name))
        continue;
      f->releases |= (uint64_t)1 << arg;
      if (f->nallocs < CK_MAX_ALLOCS)
        f->allocs[f->nallocs++] = (ck_alloc){d, arg};
      else
        f->many_allocs = true;
    }
  }
}

/* Whether f releases, as argument i, a block from the allocator d. */
static bool ck_fn_releases(const ck_fn *f, const mffi_decl *d, size_t i) {
  for (size_t k = 0; k < f->nallocs; k++)
    if (f->allocs[k].decl == d && (size_t)f->allocs[k].arg == i) return true;
  return f->many_allocs && ck_decl_releases(d, f->name, i);
}

/* Copy path into a member, truncated to CK_PATH_MAX - 1 bytes. */
static void ck_set_path(ck_member *m, const char *path) {
  size_t n = strlen(path);
  if (n >= sizeof m->path) n = sizeof m->path - 1;
  memcpy(m->path, path, n);
  m->path[n] = '\0';
}

/* Collect the data pointer members of struct t at offset base into a. */
static void ck_members(const mffi_type *t, size_t base, const char *prefix,
                       int depth, ck_member *out, size_t *n) {
  size_t nf = mffi_type_nfields(t);
  for (size_t i = 0; i < nf && *n < CK_MAX_MEMBERS; i++) {
    mffi_field f;
    if (mffi_type_field(t, i, &f) != MFFI_OK || f.bit_width >= 0) continue;
    char path[2 * CK_PATH_MAX];
    snprintf(path, sizeof path, "%.*s%s%.*s", CK_PATH_MAX, prefix,
             *prefix && f.name ? "." : "", CK_PATH_MAX - 1,
             f.name ? f.name : "");
    mffi_kind k = mffi_type_kind(f.type);
    if (k == MFFI_KIND_POINTER) {
      const mffi_type *to = mffi_type_target(f.type);
      if (mffi_type_kind(to) == MFFI_KIND_FUNCTION) continue;
      out[*n].offset = base + f.offset;
      ck_set_path(&out[*n], path);
      (*n)++;
    } else if (k == MFFI_KIND_STRUCT && depth < CK_MAX_DEPTH) {
      ck_members(f.type, base + f.offset, path, depth + 1, out, n);
    } else if (k == MFFI_KIND_ARRAY && depth < CK_MAX_DEPTH) {
      const mffi_type *el = mffi_type_target(f.type);
      long len = mffi_type_length(f.type);
      mffi_kind ek = mffi_type_kind(el);
      for (long j = 0; j < len && *n < CK_MAX_MEMBERS; j++) {
        char ep[3 * CK_PATH_MAX];
        snprintf(ep, sizeof ep, "%.*s[%ld]", 2 * CK_PATH_MAX, path, j);
        size_t off = base + f.offset + (size_t)j * mffi_sizeof(el);
        if (ek == MFFI_KIND_POINTER &&
            mffi_type_kind(mffi_type_target(el)) != MFFI_KIND_FUNCTION) {
          out[*n].offset = off;
          ck_set_path(&out[*n], ep);
          (*n)++;
        } else if (ek == MFFI_KIND_STRUCT) {
          ck_members(el, off, ep, depth + 1, out, n);
        } else {
          break; /* Neither: no pointers in this array. */
        }
      }
    }
  }
}

/* For an integer argument of type t: its size if 1, 2, 4 or 8 bytes (else
** 0: read with mffi_fn_arg_int) and its signedness. */
static void ck_int_kind(const mffi_type *t, unsigned char *size, bool *sign) {
  if (mffi_type_kind(t) == MFFI_KIND_ENUM) t = mffi_type_target(t);
  mffi_kind k = mffi_type_kind(t);
  size_t sz = mffi_sizeof(t);
  if (k < MFFI_KIND_BOOL || k > MFFI_KIND_ULLONG) return;
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8) return;
  *size = (unsigned char)sz;
  *sign = k == MFFI_KIND_CHAR || k == MFFI_KIND_SCHAR || k == MFFI_KIND_SHORT ||
          k == MFFI_KIND_INT || k == MFFI_KIND_LONG || k == MFFI_KIND_LLONG;
}

/* Fill in what argument i of fn needs checking. */
static int ck_prepare_arg(mffi_lib *lib, mffi_fn *fn, const mffi_plan *plan,
                          size_t i, ck_arg *a) {
  const mffi_type *t = mffi_fn_arg_type(fn, i);
  if (mffi_type_kind(t) != MFFI_KIND_POINTER) return MFFI_OK;
  const mffi_arg_plan *ap = &plan->args[i];
  if (ap->pass == MFFI_PASS_FUNC) return MFFI_OK;
  a->what = CK_A_PTR;
  if (ap->rules & (MFFI_RULE_NONNULL | MFFI_RULE_STRING))
    a->what |= CK_A_NONNULL;
  if (ap->pass == MFFI_PASS_IN || ap->pass == MFFI_PASS_OUT ||
      ap->pass == MFFI_PASS_INOUT)
    a->what |= CK_A_BOUNDS;
  if (ap->pass == MFFI_PASS_STRING) a->what |= CK_A_STRING;
  if (ap->count_arg >= 0) {
    ck_int_kind(mffi_fn_arg_type(fn, (size_t)ap->count_arg), &a->count_size,
                &a->count_signed);
  }
  const mffi_type *to = mffi_type_target(t);
  if (mffi_type_kind(to) != MFFI_KIND_STRUCT || !mffi_type_complete(to))
    return MFFI_OK;
  ck_member tmp[CK_MAX_MEMBERS];
  size_t n = 0;
  ck_members(to, 0, "", 0, tmp, &n);
  if (n == 0) return MFFI_OK;
  a->members = mffi_lib_malloc(lib, n * sizeof *a->members);
  if (!a->members) return MFFI_ENOMEM;
  memcpy(a->members, tmp, n * sizeof *tmp);
  a->nmembers = n;
  a->obj_size = mffi_sizeof(to);
  return MFFI_OK;
}

static void ck_fn_free(mffi_lib *lib, ck_fn *f) {
  if (!f) return;
  if (f->args)
    for (size_t i = 0; i < f->nargs; i++)
      mffi_lib_free(lib, f->args[i].members);
  mffi_lib_free(lib, f->args);
  mffi_lib_free(lib, f->ptrs);
  mffi_fn_free(f->inner);
  mffi_lib_free(lib, f);
}

/* -- Calls ----------------------------------------------------------------- */

/* No rule can apply: the inner call only. */
static int ck_forward(mffi_fn *fn, void *ret, void *const *args) {
  const ck_fn *f = mffi_fn_data(fn);
  return mffi_call(f->inner, ret, args);
}

/* An integer argument of sz bytes (1, 2, 4, 8) at v. */
static int64_t ck_int(const void *v, unsigned sz, bool sign) {
  switch (sz) {
  case 1: return sign ? (int64_t) * (const int8_t *)v : *(const uint8_t *)v;
  case 2: return sign ? (int64_t) * (const int16_t *)v : *(const uint16_t *)v;
  case 4: return sign ? (int64_t) * (const int32_t *)v : *(const uint32_t *)v;
  default: return *(const int64_t *)v; /* >= 2^63 reads as negative. */
  }
}

/* Check the members of the struct at p (inside live block b) of arg i. */
static bool ck_check_members(mffi_lib *lib, ck_lib *L, const ck_fn *f, size_t i,
                             const unsigned char *p, const ck_block *b,
                             char *msg) {
  const ck_arg *a = &f->args[i];
  if (!b->known || (uintptr_t)p - b->addr > b->size ||
      a->obj_size > b->size - ((uintptr_t)p - b->addr))
    return false;
  if (b->origin != CK_FROM_NEW && !L->native) return false;
  for (size_t m = 0; m < a->nmembers; m++) {
    void *q;
    memcpy(&q, p + a->members[m].offset, sizeof q);
    if (!q) continue;
    const ck_block *d = ck_find(L, q);
    if (!d || d->state != CK_RELEASED) continue;
    char an[96], bn[64];
    ck_argname(an, sizeof an, f->plan, i);
    ck_blockname(bn, sizeof bn, d);
    snprintf(msg, CK_MSG_MAX,
             "%s: member '%s' of %s points into a released block (%s "
             "allocated by %s, released by %s); keep it alive with "
             "mffi_keep(owner, dependent)",
             f->name, a->members[m].path, an, bn, d->alloc_by, d->release_by);
    if (ck_violation(lib, L, f->name, msg)) return true;
  }
  return false;
}

/* Check pointer argument i (value p); on a violation write msg and return
** true if the call is refused. *release is set when the call releases the
** block p starts. */
static bool ck_check_ptr(mffi_lib *lib, ck_lib *L, mffi_fn *fn, const ck_fn *f,
                         size_t i, void *const *args, void *p, char *msg,
                         bool *release) {
  const ck_arg *a = &f->args[i];
  char an[96], bn[64];
  if (!p) {
    if (!(a->what & CK_A_NONNULL)) return false;
    ck_argname(an, sizeof an, f->plan, i);
    snprintf(msg, CK_MSG_MAX, "%s: %s: NULL passed for a nonnull parameter",
             f->name, an);
    return ck_violation(lib, L, f->name, msg);
  }
  ck_block *b = ck_find(L, p);
  if (!b) return false;
  size_t off = (uintptr_t)p - b->addr;
  bool releases = i < CK_RELEASE_ARGS && ((f->releases >> i) & 1u);
#define CK_NAMES                                                               \
  (ck_argname(an, sizeof an, f->plan, i), ck_blockname(bn, sizeof bn, b))
  if (b->state == CK_RELEASED) {
    CK_NAMES;
    snprintf(msg, CK_MSG_MAX,
             "%s: %s: %s of %s allocated by %s and released "
             "by %s",
             f->name, an,
             releases && off == 0 ? "double release" : "use after release", bn,
             b->alloc_by, b->release_by);
    return ck_violation(lib, L, f->name, msg);
  }
  if ((L->flags & MFFI_CHECKED_AFFINITY) && b->thread != ck_thread()) {
    CK_NAMES;
    snprintf(msg, CK_MSG_MAX,
             "%s: %s: %s allocated by %s on another thread (the library is "
             "single-threaded)",
             f->name, an, bn, b->alloc_by);
    if (ck_violation(lib, L, f->name, msg)) return true;
  }
  if (releases) {
    bool right =
        b->origin == CK_FROM_ALLOC && b->decl && ck_fn_releases(f, b->decl, i);
    if (!right) {
      const char *need = b->origin == CK_FROM_NEW ? "mffi_delete"
                         : b->dealloc             ? b->dealloc
                                                  : NULL;
      CK_NAMES;
      if (need)
        snprintf(msg, CK_MSG_MAX,
                 "%s: %s: %s allocated by %s must be released by %s, not by "
                 "%s",
                 f->name, an, bn, b->alloc_by, need, f->name);
      else
        snprintf(msg, CK_MSG_MAX,
                 "%s: %s: %s allocated by %s has no declared deallocator; "
                 "%s does not release it",
                 f->name, an, bn, b->alloc_by, f->name);
      if (b->dealloc || b->origin == CK_FROM_NEW)
        return ck_violation(lib, L, f->name, msg);
      *msg = '\0'; /* Not ours to judge; let it through. */
    } else if (off != 0) {
      CK_NAMES;
      snprintf(msg, CK_MSG_MAX,
               "%s: %s: release of a pointer %zu bytes into %s allocated by "
               "%s",
               f->name, an, off, bn, b->alloc_by);
      return ck_violation(lib, L, f->name, msg);
    } else {
      *release = true;
    }
  }
  if ((a->what & CK_A_BOUNDS) && b->known) {
    const mffi_arg_plan *ap = &f->plan->args[i];
    int64_t count = (int64_t)ap->count;
    if (ap->count_arg >= 0)
      count = a->count_size
                  ? ck_int(args[ap->count_arg], a->count_size, a->count_signed)
                  : mffi_fn_arg_int(fn, args, ap->count_arg);
    uint64_t bytes = 0;
    bool over = count < 0 ||
                (ap->elem_size && (uint64_t)count > UINT64_MAX / ap->elem_size);
    if (!over) {
      bytes = (uint64_t)count * ap->elem_size;
      over = bytes > b->size - off;
    }
    if (over) {
      CK_NAMES;
      if (count < 0)
        snprintf(msg, CK_MSG_MAX,
                 "%s: %s: negative count %lld for %s "
                 "allocated by %s",
                 f->name, an, (long long)count, bn, b->alloc_by);
      else
        snprintf(msg, CK_MSG_MAX,
                 "%s: %s: %llu bytes exceed %s (offset %zu) allocated by %s",
                 f->name, an, (unsigned long long)bytes, bn, off, b->alloc_by);
      if (ck_violation(lib, L, f->name, msg)) return true;
    }
  }
  if ((a->what & CK_A_STRING) && b->known &&
      (b->origin == CK_FROM_NEW || L->native) && !memchr(p, 0, b->size - off)) {
    CK_NAMES;
    snprintf(msg, CK_MSG_MAX,
             "%s: %s: string not terminated within %s (offset %zu) allocated "
             "by %s",
             f->name, an, bn, off, b->alloc_by);
    if (ck_violation(lib, L, f->name, msg)) return true;
  }
#undef CK_NAMES
  if (a->nmembers && ck_check_members(lib, L, f, i, p, b, msg)) return true;
  return false;
}

/* The value of alloc_size argument k of the call. */
static int64_t ck_arg_int(mffi_fn *fn, const ck_fn *f, void *const *args,
                          int k) {
  size_t i = (size_t)f->plan->alloc_size[k];
  if (f->asz_size[k]) return ck_int(args[i], f->asz_size[k], f->asz_signed[k]);
  return mffi_fn_arg_int(fn, args, i);
}

/* The rules around one call, with messages and state changes. */
__attribute__((noinline)) static int ck_call_full(mffi_fn *fn, void *ret,
                                                  void *const *args) {
  const ck_fn *f = mffi_fn_data(fn);
  const mffi_plan *plan = f->plan;
  mffi_lib *lib = f->lib;
  ck_lib *L = f->L;
  if (!args && f->nargs) return mffi_call(f->inner, ret, args); /* Misuse. */
  char msg[CK_MSG_MAX];
  uint64_t rel = 0; /* Arguments whose block this call releases. */
  bool owned = (plan->ret.rules & MFFI_RULE_OWNED) != 0;
  if ((plan->flags & MFFI_PLAN_WARN_UNUSED) && !ret) {
    snprintf(msg, sizeof msg,
             "%s: the result is declared warn_unused_result but ret is NULL",
             f->name);
    if (ck_violation(lib, L, f->name, msg)) return MFFI_EVIOLATION;
  }
  ck_lock(L);
  if (owned && ck_reserve(lib, L) != 0) {
    ck_unlock(L);
    return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < f->nargs; i++) {
    if (!(f->args[i].what & CK_A_PTR)) continue;
    void *p;
    memcpy(&p, args[i], sizeof p);
    bool release = false;
    if (ck_check_ptr(lib, L, fn, f, i, args, p, msg, &release)) {
      if (owned) ck_unreserve(L);
      ck_unlock(L);
      return MFFI_EVIOLATION;
    }
    if (release) rel |= (uint64_t)1 << i;
  }
  /* Released now, before the call: once the inner deallocator runs, another
  ** thread's allocator may hand out the same address, and its block must not
  ** be the one retired. */
  for (size_t i = 0; rel >> i; i++) {
    if (!((rel >> i) & 1u)) continue;
    void *p;
    memcpy(&p, args[i], sizeof p);
    ck_block *b = ck_find(L, p);
    if (b && b->state == CK_LIVE && b->addr == (uintptr_t)p)
      ck_retire(L, b, f->name);
  }
  ck_unlock(L);
  void *local = NULL;
  bool want = owned || (plan->ret.rules & MFFI_RULE_NONNULL);
  void *r = want && !ret ? (void *)&local : ret;
  int rc = mffi_call(f->inner, r, args);
  void *res = NULL;
  if (want && rc == MFFI_OK) memcpy(&res, r, sizeof res);
  if (owned) {
    ck_lock(L);
    if (res) {
      ck_block nb = {0};
      nb.addr = (uintptr_t)res;
      nb.alloc_by = f->name;
      nb.dealloc = plan->dealloc;
      nb.decl = mffi_fn_decl(fn);
      nb.thread = ck_thread();
      nb.state = CK_LIVE;
      nb.origin = CK_FROM_ALLOC;
      if (plan->alloc_size[0] >= 0) {
        int64_t s0 = ck_arg_int(fn, f, args, 0);
        int64_t s1 = plan->alloc_size[1] >= 0 ? ck_arg_int(fn, f, args, 1) : 1;
        if (s0 >= 0 && s1 >= 0 &&
            (s1 == 0 || (uint64_t)s0 <= SIZE_MAX / (uint64_t)s1)) {
          nb.size = (size_t)s0 * (size_t)s1;
          nb.known = true;
        }
      }
      ck_track(L, &nb);
    } else {
      ck_unreserve(L);
    }
    ck_unlock(L);
  }
  if (rc != MFFI_OK) return rc;
  if ((plan->ret.rules & MFFI_RULE_NONNULL) && !res) {
    snprintf(msg, sizeof msg,
             "%s: returned NULL although declared returns_nonnull", f->name);
    if (ck_violation(lib, L, f->name, msg)) return MFFI_EVIOLATION;
  }
  return MFFI_OK;
}

/* The common case first: every pointer argument is NULL where allowed,
** untracked, or inside a live block and within its bounds, and the call
** changes no state. Anything else is decided by ck_call_full, which also
** writes the message. */
static int ck_call(mffi_fn *fn, void *ret, void *const *args) {
  const ck_fn *f = mffi_fn_data(fn);
  ck_lib *L = f->L;
  if (f->full || !args || L->flags) return ck_call_full(fn, ret, args);
  for (size_t k = 0; k < f->nptrs; k++) {
    uint32_t i = f->ptrs[k];
    const ck_arg *a = &f->args[i];
    void *p;
    memcpy(&p, args[i], sizeof p);
    if (!p) {
      if (a->what & CK_A_NONNULL) return ck_call_full(fn, ret, args);
      continue;
    }
    if (L->nblocks == 0) continue;
    const ck_hit *h = ck_probe(L, (uintptr_t)p);
    if (!h) return ck_call_full(fn, ret, args);
    if (h->idx == SIZE_MAX) continue; /* Untracked. */
    if (!h->live || (a->what & CK_A_STRING) || a->nmembers)
      return ck_call_full(fn, ret, args);
    if ((a->what & CK_A_BOUNDS) && h->known) {
      const mffi_arg_plan *ap = &f->plan->args[i];
      uint64_t count = ap->count, bytes;
      if (ap->count_arg >= 0) {
        if (!a->count_size) return ck_call_full(fn, ret, args);
        int64_t c = ck_int(args[ap->count_arg], a->count_size, a->count_signed);
        if (c < 0) return ck_call_full(fn, ret, args);
        count = (uint64_t)c;
      }
      if (__builtin_mul_overflow(count, (uint64_t)ap->elem_size, &bytes) ||
          bytes > h->size - ((uintptr_t)p - h->base))
        return ck_call_full(fn, ret, args);
    }
  }
  if (f->inner_call) return f->inner_call(f->inner, ret, args);
  return mffi_call(f->inner, ret, args);
}

/* -- Strategy callbacks ---------------------------------------------------- */

static int ck_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts) {
  const ck_strategy *cs = mffi_lib_strategy(lib)->opts;
  const mffi_strategy *inner = cs->inner;
  if (!inner) inner = mffi_strategy_find(cs->inner_name);
  if (!inner)
    return mffi_lib_err(lib, MFFI_EUNSUPPORTED,
                        "%s: no strategy '%s' in this build", cs->name,
                        cs->inner_name);
  ck_lib *L = mffi_lib_malloc(lib, sizeof *L);
  if (!L) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  memset(L, 0, sizeof *L);
  atomic_flag_clear(&L->lock);
  atomic_init(&L->nviolations, 0);
  L->gen = 1; /* Zeroed cache entries never match. */
  L->is = inner;
  L->native = inner->version >= 2 && (inner->flags & MFFI_STRATEGY_NATIVE);
  int rc = mffi_open(mffi_lib_ctx(lib), inner, target, opts, &L->inner);
  if (rc != MFFI_OK) {
    mffi_lib_free(lib, L);
    return rc;
  }
  mffi_lib_set_data(lib, L);
  return MFFI_OK;
}

static void ck_close(mffi_lib *lib) {
  ck_lib *L = mffi_lib_data(lib);
  if (!L) return;
  for (size_t i = 0; L->report && i < L->nblocks; i++) {
    const ck_block *b = &L->blocks[i];
    if (b->state != CK_LIVE || b->origin != CK_FROM_ALLOC || !b->dealloc)
      continue;
    mffi_checked_block cb = {(const void *)b->addr, b->size, b->known,
                             b->alloc_by, b->dealloc};
    char msg[CK_MSG_MAX], bn[64];
    ck_blockname(bn, sizeof bn, b);
    snprintf(msg, sizeof msg,
             "leak: %s at %p allocated by %s was never released by %s", bn,
             cb.addr, b->alloc_by, b->dealloc);
    mffi_checked_event ev = {MFFI_CHECKED_LEAK, NULL, msg, &cb};
    L->report(L->report_ud, &ev);
  }
  ck_flush(lib, L, 0, 0);
  mffi_close(L->inner);
  mffi_lib_free(lib, L->aliases);
  mffi_lib_free(lib, L->blocks);
  mffi_lib_free(lib, L);
  mffi_lib_set_data(lib, NULL);
}

static int ck_bind(mffi_fn *fn) {
  mffi_lib *lib = mffi_fn_lib(fn);
  ck_lib *L = mffi_lib_data(lib);
  const char *name = mffi_fn_name(fn);
  ck_fn *f = mffi_lib_malloc(lib, sizeof *f);
  if (!f) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  memset(f, 0, sizeof *f);
  mffi_fn_set_data(fn, f);
  int rc;
  size_t nargs = mffi_fn_nargs(fn), nfixed = mffi_fn_nfixed(fn);
  if (!name) {
    rc = mffi_bind_ptr(L->inner, mffi_fn_type(fn), mffi_fn_addr(fn), &f->inner);
  } else if (!mffi_fn_is_var(fn) && nargs > nfixed) {
    const mffi_type *vt[128];
    size_t nvar = nargs - nfixed;
    if (nvar > sizeof vt / sizeof vt[0])
      return mffi_lib_err(lib, MFFI_EUNSUPPORTED, "too many arguments");
    for (size_t i = 0; i < nvar; i++)
      vt[i] = mffi_fn_arg_type(fn, nfixed + i);
    rc = mffi_bind_variadic(L->inner, name, vt, nvar, &f->inner);
  } else {
    rc = mffi_bind(L->inner, name, &f->inner);
  }
  if (rc != MFFI_OK) return rc; /* xUnbind frees f. */
  mffi_fn_set_addr(fn, mffi_fn_addr(f->inner));
  if (mffi_fn_is_var(fn)) return MFFI_OK;
  mffi_fn_set_path(fn, mffi_fn_path(f->inner));
  const mffi_plan *plan = mffi_fn_plan(fn);
  if (!plan) return MFFI_ENOMEM;
  f->plan = plan;
  f->lib = lib;
  f->L = L;
  f->name = name ? name : "function";
  f->nargs = nargs;
  if (name) ck_releases_of(mffi_lib_ctx(lib), name, f);
  for (int k = 0; k < 2; k++)
    if (plan->alloc_size[k] >= 0)
      ck_int_kind(mffi_fn_arg_type(fn, (size_t)plan->alloc_size[k]),
                  &f->asz_size[k], &f->asz_signed[k]);
  f->args = mffi_lib_malloc(lib, (nargs ? nargs : 1) * sizeof *f->args);
  if (!f->args) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  memset(f->args, 0, (nargs ? nargs : 1) * sizeof *f->args);
  bool any = f->releases != 0 || (plan->flags & MFFI_PLAN_RULES);
  for (size_t i = 0; i < nargs; i++) {
    rc = ck_prepare_arg(lib, fn, plan, i, &f->args[i]);
    if (rc != MFFI_OK) return mffi_lib_err(lib, rc, "out of memory");
    if (f->args[i].what) any = true;
  }
  size_t np = 0;
  for (size_t i = 0; i < nargs; i++)
    if (f->args[i].what) np++;
  f->ptrs = mffi_lib_malloc(lib, (np ? np : 1) * sizeof *f->ptrs);
  if (!f->ptrs) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  for (size_t i = 0; i < nargs; i++)
    if (f->args[i].what) f->ptrs[f->nptrs++] = (uint32_t)i;
  f->full = f->releases != 0 || (plan->ret.rules & MFFI_RULE_OWNED) ||
            (plan->ret.rules & MFFI_RULE_NONNULL) ||
            (plan->flags & MFFI_PLAN_WARN_UNUSED);
  if (L->native) f->inner_call = mffi_fn_get_call(f->inner);
  if (any || !L->native) {
    mffi_fn_set_call(fn, any ? ck_call : ck_forward);
    return MFFI_OK;
  }
  /* Native inner routines use only the data slot and the address: run the
  ** inner one on fn itself, with no hop (modffi_strategy.h). */
  if (L->naliases == L->capaliases) {
    size_t cap = L->capaliases ? 2 * L->capaliases : 16;
    ck_alias *na = mffi_lib_malloc(lib, cap * sizeof *na);
    if (!na) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
    if (L->naliases) memcpy(na, L->aliases, L->naliases * sizeof *na);
    mffi_lib_free(lib, L->aliases);
    L->aliases = na;
    L->capaliases = cap;
  }
  mffi_fn *inner = f->inner;
  L->aliases[L->naliases++] = (ck_alias){fn, inner};
  f->inner = NULL;
  ck_fn_free(lib, f);
  mffi_fn_set_data(fn, mffi_fn_data(inner));
  mffi_fn_set_call(fn, mffi_fn_get_call(inner));
  return MFFI_OK;
}

static void ck_unbind(mffi_fn *fn) {
  mffi_lib *lib = mffi_fn_lib(fn);
  ck_lib *L = mffi_lib_data(lib);
  for (size_t i = L->naliases; i-- > 0;) {
    if (L->aliases[i].outer != fn) continue;
    mffi_fn_free(L->aliases[i].inner);
    L->aliases[i] = L->aliases[--L->naliases];
    mffi_fn_set_data(fn, NULL);
    return;
  }
  ck_fn_free(lib, mffi_fn_data(fn));
  mffi_fn_set_data(fn, NULL);
}

/* Unused: ck_bind always installs a routine. */
static int ck_xcall(mffi_fn *fn, void *ret, void *const *args) {
  (void)ret;
  (void)args;
  return mffi_lib_err(mffi_fn_lib(fn), MFFI_EMISUSE,
                      "function is not prepared");
}

/* mffi_new: memory of the inner library, tracked. */
static int ck_new(mffi_lib *lib, size_t sz, size_t align, void **out) {
  ck_lib *L = mffi_lib_data(lib);
  *out = NULL;
  ck_lock(L);
  int room = ck_reserve(lib, L);
  ck_unlock(L);
  if (room != 0) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
  ck_block nb = {0};
  void *p = NULL;
  int rc = MFFI_OK;
  if (L->is->xNew) {
    rc = L->is->xNew(L->inner, sz, align, &p);
  } else {
    size_t extra = align > _Alignof(max_align_t) ? align : 0;
    if (sz > SIZE_MAX - extra)
      rc = mffi_lib_err(lib, MFFI_ERANGE, "allocation size overflows");
    else if (!(nb.raw = mffi_lib_malloc(lib, sz + extra)))
      rc = mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
    if (rc == MFFI_OK) {
      memset(nb.raw, 0, sz + extra);
      uintptr_t a = (uintptr_t)nb.raw;
      p = (void *)((a + align - 1) & ~(uintptr_t)(align - 1));
    }
  }
  if (rc != MFFI_OK) {
    ck_lock(L);
    ck_unreserve(L);
    ck_unlock(L);
    return rc;
  }
  nb.addr = (uintptr_t)p;
  nb.size = sz;
  nb.known = true;
  nb.alloc_by = "mffi_new";
  nb.thread = ck_thread();
  nb.state = CK_LIVE;
  nb.origin = CK_FROM_NEW;
  ck_lock(L);
  ck_track(L, &nb);
  ck_unlock(L);
  *out = p;
  return MFFI_OK;
}

/* mffi_delete (or mffi_close) frees an mffi_new block. Its memory is held
** in a quarantine for a while (CK_QUARANTINE blocks, CK_QUARANTINE_BYTES):
** the next mffi_new cannot get the same address at once, so a use of the
** stale pointer is still seen as a use after release. */
static void ck_delete(mffi_lib *lib, void *p) {
  ck_lib *L = mffi_lib_data(lib);
  ck_lock(L);
  ck_block *b = ck_find(L, p);
  ck_held h = {p, NULL, 0};
  if (b && b->origin == CK_FROM_NEW && b->state == CK_LIVE) {
    h.raw = b->raw;
    h.size = b->size;
    b->raw = NULL;
    ck_retire(L, b, "mffi_delete");
    if (h.size <= CK_QUARANTINE_BYTES / 4) {
      ck_flush(lib, L, CK_QUARANTINE - 1, CK_QUARANTINE_BYTES - h.size);
      L->held[(L->held_first + L->nheld) % CK_QUARANTINE] = h;
      L->nheld++;
      L->held_bytes += h.size;
      ck_unlock(L);
      return;
    }
  }
  ck_unlock(L);
  ck_give_back(lib, L, &h);
}

static int ck_read(mffi_lib *lib, void *dst, const void *src, size_t n) {
  ck_lib *L = mffi_lib_data(lib);
  if (L->is->xRead) return L->is->xRead(L->inner, dst, src, n);
  memcpy(dst, src, n);
  return MFFI_OK;
}

static int ck_write(mffi_lib *lib, void *dst, const void *src, size_t n) {
  ck_lib *L = mffi_lib_data(lib);
  if (L->is->xWrite) return L->is->xWrite(L->inner, dst, src, n);
  memcpy(dst, src, n);
  return MFFI_OK;
}

/* A closure of the inner library runs the checked closure's handler. */
static void ck_trampoline(void *ret, void *const *args, void *data) {
  mffi_closure_invoke(data, ret, args);
}

static int ck_callback(mffi_closure *c) {
  mffi_lib *lib = mffi_closure_lib(c);
  ck_lib *L = mffi_lib_data(lib);
  mffi_closure *ic = NULL;
  const mffi_type *ft = mffi_closure_type(c);
  int rc;
  if (mffi_type_variadic(ft)) { /* The same argument list, inside. */
    size_t nf = mffi_closure_nfixed(c), nv = mffi_closure_nargs(c) - nf;
    const mffi_type *vt[nv ? nv : 1];
    for (size_t i = 0; i < nv; i++)
      vt[i] = mffi_closure_arg_type(c, nf + i);
    rc = mffi_callback_variadic(L->inner, ft, vt, nv, ck_trampoline, c, &ic);
  } else {
    rc = mffi_callback(L->inner, ft, ck_trampoline, c, &ic);
  }
  if (rc != MFFI_OK) return rc;
  mffi_closure_set_data(c, ic);
  mffi_closure_set_code(c, mffi_closure_code(ic));
  return MFFI_OK;
}

static void ck_callback_free(mffi_closure *c) {
  mffi_closure_free(mffi_closure_data(c));
  mffi_closure_set_data(c, NULL);
}

/* After a failure: the inner library starts afresh, and every block of the
** old one is gone (released by mffi_reopen). */
static int ck_reopen(mffi_lib *lib) {
  ck_lib *L = mffi_lib_data(lib);
  ck_flush(lib, L, 0, 0); /* Into the old library, before it goes. */
  int rc = mffi_reopen(L->inner);
  if (L->is->version < 3 || !L->is->xReopen) return rc; /* Nothing lost. */
  ck_lock(L);
  for (size_t i = 0; i < L->nblocks; i++)
    if (L->blocks[i].state == CK_LIVE) {
      L->blocks[i].state = CK_RELEASED;
      L->blocks[i].release_by = "mffi_reopen";
      L->blocks[i].seq = ++L->seq;
      L->nreleased++;
      L->gen++;
    }
  if (L->nreleased > CK_MAX_RELEASED) ck_forget(L);
  ck_unlock(L);
  return rc;
}

/* -- Public ---------------------------------------------------------------- */

static ck_lib *ck_of(const mffi_lib *lib) {
  if (!lib || !ck_is_checked(mffi_lib_strategy(lib))) return NULL;
  return mffi_lib_data(lib);
}

int mffi_checked_configure(mffi_lib *lib, const mffi_checked_opts *opts) {
  ck_lib *L = ck_of(lib);
  if (!L) return MFFI_EMISUSE;
  if (opts && opts->version != MFFI_CHECKED_OPTS_VERSION)
    return mffi_lib_err(lib, MFFI_EMISUSE,
                        "unknown mffi_checked_opts version %d", opts->version);
  L->flags = opts ? opts->flags : 0;
  L->report = opts ? opts->report : NULL;
  L->report_ud = opts ? opts->report_ud : NULL;
  return MFFI_OK;
}

size_t mffi_checked_violations(const mffi_lib *lib) {
  ck_lib *L = ck_of(lib);
  return L ? atomic_load(&L->nviolations) : 0;
}

long mffi_checked_each(mffi_lib *lib,
                       int (*each)(void *ud, const mffi_checked_block *b),
                       void *ud) {
  ck_lib *L = ck_of(lib);
  if (!L || !each) return MFFI_EMISUSE;
  long n = 0;
  for (size_t i = 0; i < L->nblocks; i++) {
    const ck_block *b = &L->blocks[i];
    if (b->state != CK_LIVE) continue;
    mffi_checked_block cb = {
        (const void *)b->addr, b->size, b->known, b->alloc_by,
        b->origin == CK_FROM_NEW ? "mffi_delete" : b->dealloc};
    n++;
    if (each(ud, &cb)) break;
  }
  return n;
}

mffi_lib *mffi_checked_inner(const mffi_lib *lib) {
  ck_lib *L = ck_of(lib);
  return L ? L->inner : NULL;
}
