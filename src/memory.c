/* Typed memory: allocation, keep-alive, read/write, fields. See LICENSE.
**
** Blocks from mffi_new() are tracked per library in an array sorted by
** address, so a pointer (or a pointer into a block, for mffi_read/write
** bounds) is found by binary search. A block is freed when its reference
** count drops to zero: the caller holds one reference until mffi_delete(),
** and each owner that keeps it (mffi_keep) holds one more.
*/
#include <string.h>

#include "lib.h"

#define MEM_MAGIC 0x6d666669u /* "mffi" */

struct mffi__block {
  uint32_t magic;
  uint32_t refs;    /* Caller's reference + owners. */
  bool user_ref;    /* The caller has not deleted it yet. */
  unsigned char *p; /* The memory the library sees. */
  void *raw;        /* What the allocator returned. */
  size_t size;
  mffi__block **deps; /* Blocks this one keeps alive. */
  size_t ndeps, capdeps;
  mffi__block *next; /* mem_release's worklist. */
};

/* Index of the block containing address a, or of the first block after it
** (*exact false). */
static size_t mem_search(const mffi_lib *lib, const void *a, bool *inside) {
  size_t lo = 0, hi = lib->nblocks;
  uintptr_t x = (uintptr_t)a;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)lib->blocks[mid]->p <= x)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* lo: first block starting after x; lo - 1 may contain it. */
  if (lo > 0) {
    const mffi__block *b = lib->blocks[lo - 1];
    uintptr_t s = (uintptr_t)b->p;
    if (x == s || x < s + b->size) {
      *inside = true;
      return lo - 1;
    }
  }
  *inside = false;
  return lo;
}

static mffi__block *mem_find(const mffi_lib *lib, const void *p) {
  bool in;
  size_t i = mem_search(lib, p, &in);
  if (!in || lib->blocks[i]->p != p) return NULL;
  return lib->blocks[i];
}

/* Give back a block's storage: to the strategy that made it, else to the
** context's heap. */
static void mem_raw_free(mffi_lib *lib, void *raw) {
  if (lib->s->xDelete)
    lib->s->xDelete(lib, raw);
  else
    mffi__free(lib->ctx, raw);
}

/* Release b, and every block that only b kept alive, transitively. The
** depth of a keep-alive chain is the user's to choose, so this is a
** worklist threaded through the blocks themselves (no recursion, no
** allocation), and the sorted array is compacted once at the end rather
** than shifted once per block. */
static void mem_release(mffi_lib *lib, mffi__block *b) {
  mffi_ctx *ctx = lib->ctx;
  mffi__block *head = b, *tail = b;
  size_t nfreed = 0;
  b->next = NULL;
  for (mffi__block *cur = head; cur; cur = cur->next) {
    mem_raw_free(lib, cur->raw);
    cur->magic = 0; /* Dead: dropped from lib->blocks below. */
    for (size_t j = 0; j < cur->ndeps; j++) {
      mffi__block *d = cur->deps[j];
      if (--d->refs == 0) {
        d->next = NULL;
        tail->next = d;
        tail = d;
      }
    }
    mffi__free(ctx, cur->deps);
    cur->deps = NULL;
    nfreed++;
  }
  if (nfreed == 1) {
    bool in;
    size_t i = mem_search(lib, b->p, &in);
    if (in && lib->blocks[i] == b) {
      memmove(&lib->blocks[i], &lib->blocks[i + 1],
              (lib->nblocks - i - 1) * sizeof *lib->blocks);
      lib->nblocks--;
    }
  } else {
    size_t k = 0;
    for (size_t i = 0; i < lib->nblocks; i++)
      if (lib->blocks[i]->magic == MEM_MAGIC) lib->blocks[k++] = lib->blocks[i];
    lib->nblocks = k;
  }
  while (head) {
    mffi__block *next = head->next;
    mffi__free(ctx, head);
    head = next;
  }
}

int mffi_new(mffi_lib *lib, const mffi_type *t, size_t n, void **out) {
  if (out) *out = NULL;
  if (!lib) return MFFI_EMISUSE;
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  if (!out) return mffi__err(ctx, MFFI_EMISUSE, "mffi_new: out is NULL");
  if (lib->failed) return mffi__lib_failed_err(lib);
  if (!t || t->ctx != ctx || n == 0)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_new needs a type of this context and n > 0");
  /* Size and alignment come from the base node: a qualified variant made
  ** before its struct was defined has none of its own. */
  size_t tsz = mffi__size(&ctx->tt, t->id);
  size_t align = mffi__align(&ctx->tt, t->id);
  if (!mffi__tt_complete(&ctx->tt, t->id) || tsz == 0)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_new needs a complete object type");
  /* Bounded before the allocator sees it: a hook need not cope with sizes
  ** near SIZE_MAX (ASan aborts on them), and no object is that large. */
  if (tsz > MFFI_MAX_SIZE / n)
    return mffi__err(ctx, MFFI_ERANGE,
                     "mffi_new: %zu objects of %zu bytes exceed the limit of "
                     "2^59 bytes",
                     n, tsz);
  size_t sz = tsz * n;
  if (align == 0) align = 1;
  mffi__block *b = mffi__calloc(ctx, sizeof *b);
  if (!b) return mffi__nomem(ctx);
  if (lib->s->xNew) {
    int rc = lib->s->xNew(lib, sz, align, &b->raw);
    if (rc != MFFI_OK) {
      mffi__free(ctx, b);
      return rc;
    }
    b->p = b->raw;
  } else {
    /* The allocator aligns for max_align_t; over-allocate for more. */
    size_t extra = align > _Alignof(max_align_t) ? align : 0;
    if (sz > SIZE_MAX - extra) {
      mffi__free(ctx, b);
      return mffi__err(ctx, MFFI_ERANGE, "allocation size overflows");
    }
    b->raw = mffi__calloc(ctx, sz + extra);
    if (!b->raw) {
      mffi__free(ctx, b);
      return mffi__nomem(ctx);
    }
    uintptr_t a = (uintptr_t)b->raw;
    b->p = (unsigned char *)((a + align - 1) & ~(uintptr_t)(align - 1));
  }
  if (mffi__grow(ctx, (void **)&lib->blocks, &lib->capblocks, lib->nblocks + 1,
                 sizeof *lib->blocks) != 0) {
    mem_raw_free(lib, b->raw);
    mffi__free(ctx, b);
    return mffi__nomem(ctx);
  }
  b->magic = MEM_MAGIC;
  b->refs = 1;
  b->user_ref = true;
  b->size = sz;
  bool in;
  size_t i = mem_search(lib, b->p, &in);
  if (in) i++; /* Cannot happen for disjoint blocks; keep the order. */
  memmove(&lib->blocks[i + 1], &lib->blocks[i],
          (lib->nblocks - i) * sizeof *lib->blocks);
  lib->blocks[i] = b;
  lib->nblocks++;
  *out = b->p;
  return MFFI_OK;
}

void mffi_delete(mffi_lib *lib, void *p) {
  if (!lib || !p) return;
  mffi__block *b = mem_find(lib, p);
  if (!b || !b->user_ref) {
    mffi__err(lib->ctx, MFFI_EMISUSE,
              "mffi_delete: %p is not live memory from mffi_new", p);
    return;
  }
  b->user_ref = false;
  if (--b->refs == 0) mem_release(lib, b);
}

int mffi_keep(mffi_lib *lib, void *owner, void *dependent) {
  if (!lib) return MFFI_EMISUSE;
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  mffi__block *o = owner ? mem_find(lib, owner) : NULL;
  mffi__block *d = dependent ? mem_find(lib, dependent) : NULL;
  if (!o || !d)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_keep: %s is not memory from mffi_new on this "
                     "library",
                     !o ? "owner" : "dependent");
  if (o == d)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_keep: a block cannot keep itself");
  if (mffi__grow(ctx, (void **)&o->deps, &o->capdeps, o->ndeps + 1,
                 sizeof *o->deps) != 0)
    return mffi__nomem(ctx);
  o->deps[o->ndeps++] = d;
  d->refs++;
  return MFFI_OK;
}

void mffi__mem_close(mffi_lib *lib) {
  mffi_ctx *ctx = lib->ctx;
  for (size_t i = 0; i < lib->nblocks; i++) {
    mffi__block *b = lib->blocks[i];
    mem_raw_free(lib, b->raw);
    mffi__free(ctx, b->deps);
    mffi__free(ctx, b);
  }
  mffi__free(ctx, lib->blocks);
  lib->blocks = NULL;
  lib->nblocks = lib->capblocks = 0;
}

/* Check a library range against the blocks. */
static int mem_check(mffi_lib *lib, const void *a, size_t n) {
  bool in;
  size_t i = mem_search(lib, a, &in);
  if (!in) return MFFI_OK;
  const mffi__block *b = lib->blocks[i];
  size_t off = (size_t)((const unsigned char *)a - b->p);
  if (n > b->size - off)
    return mffi__err(lib->ctx, MFFI_ERANGE,
                     "%zu bytes at offset %zu overrun a block of %zu bytes", n,
                     off, b->size);
  return MFFI_OK;
}

int mffi_read(mffi_lib *lib, void *dst, const void *lib_src, size_t n) {
  if (!lib) return MFFI_EMISUSE;
  mffi__ok(lib->ctx);
  if (n == 0) return MFFI_OK;
  if (!dst || !lib_src)
    return mffi__err(lib->ctx, MFFI_EMISUSE, "mffi_read: NULL pointer");
  int rc = mem_check(lib, lib_src, n);
  if (rc != MFFI_OK) return rc;
  if (lib->s->xRead) return lib->s->xRead(lib, dst, lib_src, n);
  memcpy(dst, lib_src, n);
  return MFFI_OK;
}

int mffi_write(mffi_lib *lib, void *lib_dst, const void *src, size_t n) {
  if (!lib) return MFFI_EMISUSE;
  mffi__ok(lib->ctx);
  if (n == 0) return MFFI_OK;
  if (!lib_dst || !src)
    return mffi__err(lib->ctx, MFFI_EMISUSE, "mffi_write: NULL pointer");
  int rc = mem_check(lib, lib_dst, n);
  if (rc != MFFI_OK) return rc;
  if (lib->s->xWrite) return lib->s->xWrite(lib, lib_dst, src, n);
  memcpy(lib_dst, src, n);
  return MFFI_OK;
}

/* -- Fields
 * -------------------------------------------------------------------- */

/* The member at path, every index within its array: get/set touch only
** the object. */
static int mem_field(const mffi_type *t, const void *obj, const char *path,
                     const void *value, mffi_field *f) {
  if (!t) return MFFI_EMISUSE;
  mffi__ok(t->ctx);
  if (!obj || !path || !value)
    return mffi__err(t->ctx, MFFI_EMISUSE, "mffi_field_get/set: NULL argument");
  return mffi__type_path_fail(t, path, mffi__type_path(t, path, true, f));
}

/* A bit-field's value as the n-byte integer of its declared type, in the
** host's byte order: where the low k (at most 8) bytes of a uint64_t lie in
** it, and where they go in an n-byte integer (a 16-byte type gets its
** other half from the sign, sgn). */
static bool mem_little(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

static void mem_uint_store(void *dst, size_t n, uint64_t v, bool sgn) {
  size_t k = n < 8 ? n : 8;
  unsigned char *d = dst;
  const unsigned char *low = (const unsigned char *)&v;
  if (mem_little()) {
    memcpy(d, low, k);
    if (n > k) memset(d + k, sgn && (v >> 63) ? 0xff : 0, n - k);
  } else {
    memcpy(d + (n - k), low + (8 - k), k);
    if (n > k) memset(d, sgn && (v >> 63) ? 0xff : 0, n - k);
  }
}

static uint64_t mem_uint_load(const void *src, size_t n) {
  uint64_t v = 0;
  size_t k = n < 8 ? n : 8;
  const unsigned char *sp = src;
  if (mem_little())
    memcpy(&v, sp, k);
  else
    memcpy((unsigned char *)&v + (8 - k), sp + (n - k), k);
  return v;
}

int mffi_field_get(const mffi_type *t, const void *obj, const char *path,
                   void *value) {
  mffi_field f;
  int rc = mem_field(t, obj, path, value, &f);
  if (rc != MFFI_OK) return rc;
  const mffi__tt *tt = &t->ctx->tt;
  mffi_type *ft = mffi__type_scalar(tt, f.type->id);
  size_t fsz = mffi__size(tt, f.type->id);
  if (f.bit_width < 0) {
    memcpy(value, (const unsigned char *)obj + f.offset, fsz);
    return MFFI_OK;
  }
  const unsigned char *p = obj;
  uint64_t v = 0;
  int w = f.bit_width > 64 ? 64 : f.bit_width;
  for (int i = 0; i < w; i++) {
    size_t bit = f.bit_offset + (size_t)i;
    v |= (uint64_t)((p[bit / 8] >> (bit % 8)) & 1u) << i;
  }
  if (w < 64 && mffi__kind_is_signed(tt, ft->kind) && (v >> (w - 1)) & 1u)
    v |= ~(uint64_t)0 << w;
  mem_uint_store(value, fsz, v, w < 64 && mffi__kind_is_signed(tt, ft->kind));
  return MFFI_OK;
}

int mffi_field_set(const mffi_type *t, void *obj, const char *path,
                   const void *value) {
  mffi_field f;
  int rc = mem_field(t, obj, path, value, &f);
  if (rc != MFFI_OK) return rc;
  size_t fsz = mffi__size(&t->ctx->tt, f.type->id);
  if (f.bit_width < 0) {
    memcpy((unsigned char *)obj + f.offset, value, fsz);
    return MFFI_OK;
  }
  uint64_t v = mem_uint_load(value, fsz);
  unsigned char *p = obj;
  int w = f.bit_width > 64 ? 64 : f.bit_width;
  for (int i = 0; i < w; i++) {
    size_t bit = f.bit_offset + (size_t)i;
    unsigned char m = (unsigned char)(1u << (bit % 8));
    if ((v >> i) & 1u)
      p[bit / 8] |= m;
    else
      p[bit / 8] &= (unsigned char)~m;
  }
  return MFFI_OK;
}
