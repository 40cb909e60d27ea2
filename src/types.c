/* Type table: interning, tags, declarations, transactions. See LICENSE. */
#include <assert.h>
#include <string.h>

#include "ctx.h"
#include "print.h"

#define TT_MIN_HASH 64 /* Initial slots of each hash table. */

/* -- Hashing --------------------------------------------------------------- */


/* -- String pool -----------------------------------------------------------
**
** Pooled strings live in chunks that are never freed before the table is
** (the pool only grows: a rolled-back parse leaves its names, harmless).
** Each string is preceded by its length and hash, so a probe compares
** hashes before bytes and a rehash reads no bytes. Strings may hold NUL
** bytes (raw attribute text), so the length is not strlen. */

#define TT_STR_CHUNK 16384 /* Bytes of a regular string chunk. */

typedef struct tt_strhdr {
  uint32_t len, hash;
} tt_strhdr;

struct mffi__strchunk {
  mffi__strchunk *next;
  size_t used, cap;
  max_align_t data[]; /* cap bytes. */
};

static const tt_strhdr *tt_str_hdr(const char *o) {
  return (const tt_strhdr *)(const void *)o - 1;
}

/* Room for a string of len bytes (header, bytes, NUL), or NULL. */
static char *tt_str_room(mffi_ctx *ctx, size_t len) {
  mffi__tt *tt = &ctx->tt;
  size_t n = (sizeof(tt_strhdr) + len + 1 + 7) & ~(size_t)7;
  mffi__strchunk *c = tt->strchunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > TT_STR_CHUNK / 4 ? n : TT_STR_CHUNK;
    mffi__strchunk *nc = mffi__malloc(ctx, sizeof *nc + cap);
    if (!nc) return NULL;
    nc->used = 0;
    nc->cap = cap;
    if (c && cap != TT_STR_CHUNK) { /* A big one: keep filling the other. */
      nc->next = c->next;
      c->next = nc;
    } else {
      nc->next = c;
      tt->strchunks = nc;
    }
    c = nc;
  }
  char *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

/* The slot of the pool's copy of s[0..len) (hash h), or of the empty slot
** where it would go; the pool has slots (capstrs > 0). */
static size_t tt_str_slot(const mffi__tt *tt, const char *s, size_t len,
                          uint32_t h) {
  size_t j = h & (tt->capstrs - 1);
  for (char *o; (o = tt->strs[j]) != NULL; j = (j + 1) & (tt->capstrs - 1)) {
    const tt_strhdr *oh = tt_str_hdr(o);
    if (oh->hash == h && oh->len == len && memcmp(o, s, len) == 0) break;
  }
  return j;
}

/* The pool's copy of string s, or NULL if it was never pooled. */
static const char *tt_str_find(const mffi__tt *tt, const char *s) {
  if (!tt->capstrs) return NULL;
  size_t len = strlen(s);
  return tt->strs[tt_str_slot(tt, s, len, mffi__tt_strhash(s, len))];
}

const char *mffi__tt_str(mffi_ctx *ctx, const char *s, size_t len) {
  return mffi__tt_str_h(ctx, s, len, mffi__tt_strhash(s, len));
}

const char *mffi__tt_str_h(mffi_ctx *ctx, const char *s, size_t len,
                           uint32_t h) {
  mffi__tt *tt = &ctx->tt;
  if (len > UINT32_MAX - 16) return NULL;
  if ((tt->nstrs + 1) * 2 > tt->capstrs) {
    size_t ncap = tt->capstrs ? tt->capstrs * 2 : TT_MIN_HASH;
    char **nt = mffi__calloc(ctx, ncap * sizeof *nt);
    if (!nt) return NULL;
    for (size_t i = 0; i < tt->capstrs; i++) {
      char *o = tt->strs[i];
      if (!o) continue;
      size_t j = tt_str_hdr(o)->hash & (ncap - 1);
      while (nt[j])
        j = (j + 1) & (ncap - 1);
      nt[j] = o;
    }
    mffi__free(ctx, tt->strs);
    tt->strs = nt;
    tt->capstrs = ncap;
  }
  size_t j = tt_str_slot(tt, s, len, h);
  if (tt->strs[j]) return tt->strs[j];
  char *room = tt_str_room(ctx, len);
  if (!room) return NULL;
  tt_strhdr hdr = {(uint32_t)len, h};
  memcpy(room, &hdr, sizeof hdr);
  char *copy = room + sizeof hdr;
  memcpy(copy, s, len);
  copy[len] = '\0';
  tt->strs[j] = copy;
  tt->nstrs++;
  return copy;
}

#ifndef NDEBUG
/* True if s is the pool's copy (debug checks of the callers below). */
static bool tt_is_pooled(const mffi__tt *tt, const char *s) {
  return tt_str_find(tt, s) == s;
}
#endif

/* The hash of pooled string o (tag and declaration names are pooled: the
** parser makes them). It equals mffi__tt_strhash(o, strlen(o)). */
static uint32_t tt_pooled_hash(const mffi__tt *tt, const char *o) {
  assert(tt_is_pooled(tt, o));
  (void)tt;
  return tt_str_hdr(o)->hash;
}

/* -- Node slabs ---------------------------------------------------------------
**
** Type nodes and declarations are made and freed in stack order (the
** transaction frees those past a savepoint), so node i lives at slot i of
** blocks of TT_SLAB nodes that stay until the table is freed: no malloc
** per node. Under AddressSanitizer each node is its own block again, so
** that a use of a rolled-back node is still reported. */

#define TT_SLAB 256 /* Nodes per slab block. */
#if defined(__SANITIZE_ADDRESS__)
#define TT_SLABS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_SLABS 0
#endif
#endif
#ifndef TT_SLABS
#define TT_SLABS 1
#endif

/* The memory of node i (elsz bytes) of slab s, or NULL on out of memory. */
static void *tt_slab_node(mffi_ctx *ctx, mffi__slab *s, uint32_t i,
                          size_t elsz) {
  if (!TT_SLABS) return mffi__malloc(ctx, elsz);
  size_t b = i / TT_SLAB;
  if (b >= s->nblocks) {
    if (mffi__grow(ctx, (void **)&s->blocks, &s->capblocks, b + 1,
                   sizeof *s->blocks))
      return NULL;
    while (s->nblocks <= b) {
      s->blocks[s->nblocks] = mffi__malloc(ctx, TT_SLAB * elsz);
      if (!s->blocks[s->nblocks]) return NULL;
      s->nblocks++;
    }
  }
  return (char *)s->blocks[b] + (i % TT_SLAB) * elsz;
}

/* Give node p back (its slot is reused by the next node of its index). */
static void tt_slab_release(mffi_ctx *ctx, void *p) {
  if (!TT_SLABS) mffi__free(ctx, p);
}

static void tt_slab_free(mffi_ctx *ctx, mffi__slab *s) {
  for (size_t i = 0; i < s->nblocks; i++)
    mffi__free(ctx, s->blocks[i]);
  mffi__free(ctx, s->blocks);
  memset(s, 0, sizeof *s);
}

/* -- Type nodes and the intern hash ---------------------------------------- */

/* What identifies a derived type. base is MFFI_TID_NONE for a canonical
** node, else the type a qualified/aligned variant stands for. */
typedef struct tkey {
  uint8_t kind, quals;
  uint16_t flags;
  mffi__tid base, child;
  long length;
  uint32_t align;
  const mffi__tid *params;
  uint32_t nparams;
} tkey;

/* What a variant node adds to its base. */
#define TVAR_FLAGS (MFFI_TF_USERALIGN | MFFI_TF_FLOATN | MFFI_TF_FLOATNX)
#define TKEY_FLAGS (MFFI_TF_FUNC | MFFI_TF_VECTOR | TVAR_FLAGS)

/* The key of node (or prototype) t whose variant base is base
** (MFFI_TID_NONE for a canonical node): a variant is identified by its
** base, qualifiers, alignment and flags alone. */
static tkey tt_key(const mffi_type *t, mffi__tid base) {
  tkey k = {t->kind, t->quals,  (uint16_t)(t->flags & TKEY_FLAGS),
            base,    t->child,  t->length,
            0,       t->params, t->nparams};
  if (base != MFFI_TID_NONE) {
    /* Only an aligned() variant owns its alignment; others read the base's
    ** (mffi__align), which may change when a struct is defined later. */
    k.align = t->flags & MFFI_TF_USERALIGN ? t->align : 0;
    k.child = MFFI_TID_NONE;
    k.length = 0;
    k.params = NULL;
    k.nparams = 0;
  }
  return k;
}

static tkey tt_key_of(const mffi_type *t) {
  return tt_key(t, t->base == t->id ? MFFI_TID_NONE : t->base);
}

/* A word at a time: a key is hashed at each intern and lookup. */
static uint64_t tt_mix(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x9e3779b97f4a7c15ull;
}

static uint32_t tt_key_hash(const tkey *k) {
  uint64_t h = tt_mix(0x243f6a8885a308d3ull,
                      (uint64_t)k->kind | (uint64_t)k->quals << 8 |
                          (uint64_t)k->flags << 16 | (uint64_t)k->base << 32);
  h = tt_mix(h, (uint64_t)k->child | (uint64_t)k->align << 32);
  h = tt_mix(h, (uint64_t)k->length);
  for (uint32_t i = 0; i < k->nparams; i++)
    h = tt_mix(h, k->params[i]);
  h ^= h >> 32; /* The slot takes the low bits: fold the high ones in. */
  return (uint32_t)((h * 0x9e3779b97f4a7c15ull) >> 32);
}

static bool tt_key_eq(const tkey *a, const tkey *b) {
  return a->kind == b->kind && a->quals == b->quals && a->flags == b->flags &&
         a->base == b->base && a->child == b->child && a->length == b->length &&
         a->align == b->align && a->nparams == b->nparams &&
         (a->nparams == 0 ||
          memcmp(a->params, b->params, a->nparams * sizeof *a->params) == 0);
}

static bool tt_is_interned(const mffi_type *t) {
  if (t->id == MFFI_KIND_COMPLEX) return true; /* double _Complex */
  return t->id >= MFFI_NPRIM &&
         !(t->base == t->id &&
           (t->kind == MFFI_KIND_STRUCT || t->kind == MFFI_KIND_UNION ||
            t->kind == MFFI_KIND_ENUM));
}

static void tt_ihash_put(mffi__tt *tt, const mffi_type *t) {
  tkey k = tt_key_of(t);
  size_t j = tt_key_hash(&k) & (tt->nihash - 1);
  while (tt->ihash[j])
    j = (j + 1) & (tt->nihash - 1);
  tt->ihash[j] = t->id + 1;
}

/* Make room for one more type: array and intern hash (kept half empty). */
static int tt_reserve_type(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  if (mffi__grow(ctx, (void **)&tt->types, &tt->captypes, tt->ntypes + 1,
                 sizeof *tt->types))
    return mffi__nomem(ctx);
  if ((tt->ntypes + 1) * 2 > tt->nihash) {
    size_t n = tt->nihash ? tt->nihash * 2 : TT_MIN_HASH;
    uint32_t *h = mffi__calloc(ctx, n * sizeof *h);
    if (!h) return mffi__nomem(ctx);
    mffi__free(ctx, tt->ihash);
    tt->ihash = h;
    tt->nihash = n;
    for (uint32_t i = 0; i < tt->ntypes; i++)
      if (tt_is_interned(tt->types[i])) tt_ihash_put(tt, tt->types[i]);
  }
  return MFFI_OK;
}

/* Append a node (copied from *proto, which owns no arrays yet except
** params, which is copied). */
static int tt_add(mffi_ctx *ctx, const mffi_type *proto, mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  int rc = tt_reserve_type(ctx);
  if (rc) return rc;
  mffi_type *t = tt_slab_node(ctx, &tt->type_slab, tt->ntypes, sizeof *t);
  if (!t) return mffi__nomem(ctx);
  *t = *proto;
  t->id = tt->ntypes;
  t->undo_ix = 0;
  if (proto->base == MFFI_TID_NONE) t->base = t->id;
  t->ctx = ctx;
  t->params = NULL;
  if (proto->nparams) {
    t->params = mffi__malloc(ctx, proto->nparams * sizeof *t->params);
    if (!t->params) {
      tt_slab_release(ctx, t);
      return mffi__nomem(ctx);
    }
    memcpy(t->params, proto->params, proto->nparams * sizeof *t->params);
  }
  tt->types[tt->ntypes++] = t;
  if (tt_is_interned(t)) tt_ihash_put(tt, t);
  *out = t->id;
  return MFFI_OK;
}

/* Find the node for proto's key, or add it. */
static int tt_intern(mffi_ctx *ctx, const mffi_type *proto, mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  tkey k = tt_key(proto, proto->base);
  if (tt->nihash) {
    size_t j = tt_key_hash(&k) & (tt->nihash - 1);
    for (uint32_t v; (v = tt->ihash[j]) != 0; j = (j + 1) & (tt->nihash - 1)) {
      tkey o = tt_key_of(tt->types[v - 1]);
      if (tt_key_eq(&k, &o)) {
        *out = v - 1;
        return MFFI_OK;
      }
    }
  }
  return tt_add(ctx, proto, out);
}

/* -- Derived types --------------------------------------------------------- */

bool mffi__tt_complete(const mffi__tt *tt, mffi__tid tid) {
  const mffi_type *t = mffi__B(tt, tid);
  switch (t->kind) {
  case MFFI_KIND_VOID:
  case MFFI_KIND_FUNCTION: return false;
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
  case MFFI_KIND_ENUM: return (t->flags & MFFI_TF_COMPLETE) != 0;
  case MFFI_KIND_ARRAY: return !(t->flags & MFFI_TF_VLA_LEN);
  default: return true;
  }
}

int mffi__tt_ptr(mffi_ctx *ctx, mffi__tid to, mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  const mffi__abi *abi = tt->abi;
  mffi_type p = {.kind = MFFI_KIND_POINTER,
                 .base = MFFI_TID_NONE,
                 .child = to,
                 .size = abi->ptr_size,
                 .align = abi->ptr_size};
  /* The same pointer types come back all the time (char *, void *...):
  ** try the hint first. It is only a hint (a rollback may have dropped
  ** that type, a copied node carries another's), so it is checked. */
  mffi_type *t = tt->types[to];
  mffi__tid c = t->ptr_to;
  if (c && c < tt->ntypes) {
    tkey k = tt_key(&p, p.base), o = tt_key_of(tt->types[c]);
    if (tt_key_eq(&k, &o)) {
      *out = c;
      return MFFI_OK;
    }
  }
  int rc = tt_intern(ctx, &p, out);
  if (rc == MFFI_OK) tt->types[to]->ptr_to = *out;
  return rc;
}

int mffi__tt_array(mffi_ctx *ctx, mffi__tid elem, long len, mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  if (mffi__B(tt, elem)->kind == MFFI_KIND_FUNCTION)
    return mffi__err(ctx, MFFI_EDECL, "array of functions");
  if (!mffi__tt_complete(tt, elem))
    return mffi__err(ctx, MFFI_EDECL, "array has incomplete element type");
  size_t size = 0;
  size_t esize = mffi__size(tt, elem);
  if (len > 0 && esize > MFFI_MAX_SIZE / (size_t)len)
    return mffi__err(ctx, MFFI_ERANGE, "array is too large");
  if (len > 0) size = esize * (size_t)len;
  uint32_t nest = mffi__nest(tt, elem) + 1;
  if (nest > MFFI_MAX_NEST)
    return mffi__err(ctx, MFFI_EDECL,
                     "arrays and structs nested more than %d "
                     "deep",
                     MFFI_MAX_NEST);
  mffi_type a = {.kind = MFFI_KIND_ARRAY,
                 .nest = nest,
                 .base = MFFI_TID_NONE,
                 .child = elem,
                 .length = len,
                 .size = size,
                 .align = mffi__align(tt, elem),
                 .flags = len < 0 ? MFFI_TF_VLA_LEN : 0};
  return tt_intern(ctx, &a, out);
}

int mffi__tt_func(mffi_ctx *ctx, mffi__tid ret, const mffi__tid *params,
                  uint32_t nparams, uint16_t flags, mffi__tid *out) {
  mffi_kind rk = mffi__B(&ctx->tt, ret)->kind;
  if (rk == MFFI_KIND_ARRAY &&
      !(mffi__B(&ctx->tt, ret)->flags & MFFI_TF_VECTOR))
    return mffi__err(ctx, MFFI_EDECL, "function returning an array");
  if (rk == MFFI_KIND_FUNCTION)
    return mffi__err(ctx, MFFI_EDECL, "function returning a function");
  mffi_type f = {.kind = MFFI_KIND_FUNCTION,
                 .base = MFFI_TID_NONE,
                 .child = ret,
                 .align = 1,
                 .flags = flags & MFFI_TF_FUNC,
                 .params = (mffi__tid *)params,
                 .nparams = nparams};
  return tt_intern(ctx, &f, out);
}

/* The variant of base node b with quals, alignment align and the variant
** flags vflags (TVAR_FLAGS). */
static int tt_variant(mffi_ctx *ctx, mffi__tid b, unsigned quals,
                      uint32_t align, uint16_t vflags, mffi__tid *out) {
  const mffi_type *bt = mffi__T(&ctx->tt, b);
  if (quals == 0 && vflags == 0) {
    *out = b;
    return MFFI_OK;
  }
  mffi_type v = *bt;
  v.quals = (uint8_t)quals;
  v.base = b;
  v.align = align;
  v.flags = (uint16_t)((bt->flags & ~TVAR_FLAGS) | vflags);
  v.params = NULL;
  v.nparams = 0;
  v.members = NULL;
  v.nmembers = 0;
  v.enums = NULL;
  v.nenums = 0;
  return tt_intern(ctx, &v, out);
}

/* The variant flags node t carries over to another variant of its base. */
static uint16_t tt_vflags(const mffi_type *t) {
  return t->base != t->id ? (uint16_t)(t->flags & TVAR_FLAGS) : 0;
}

int mffi__tt_qual(mffi_ctx *ctx, mffi__tid tid, unsigned quals,
                  mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  const mffi_type *t = mffi__T(tt, tid);
  if (t->kind == MFFI_KIND_ARRAY && !(t->flags & MFFI_TF_VECTOR)) {
    /* C11 6.7.3p9: qualify the elements (a vector is qualified itself). */
    mffi__tid e;
    int rc = mffi__tt_qual(ctx, t->child, quals, &e);
    if (rc) return rc;
    return mffi__tt_array(ctx, e, t->length, out);
  }
  if (t->kind == MFFI_KIND_FUNCTION || (t->quals | quals) == t->quals) {
    *out = tid;
    return MFFI_OK;
  }
  return tt_variant(ctx, t->base, t->quals | quals, t->align, tt_vflags(t),
                    out);
}

int mffi__tt_aligned(mffi_ctx *ctx, mffi__tid tid, uint32_t align,
                     mffi__tid *out) {
  const mffi_type *t = mffi__T(&ctx->tt, tid);
  return tt_variant(ctx, t->base, t->quals, align,
                    (uint16_t)(tt_vflags(t) | MFFI_TF_USERALIGN), out);
}

int mffi__tt_floatn(mffi_ctx *ctx, mffi__tid tid, uint16_t flag,
                    mffi__tid *out) {
  const mffi_type *t = mffi__T(&ctx->tt, tid);
  return tt_variant(ctx, t->base, t->quals, t->align,
                    (uint16_t)(tt_vflags(t) | flag), out);
}

int mffi__tt_complex(mffi_ctx *ctx, mffi__tid component, mffi__tid *out) {
  /* The component keeps a _FloatN spelling (a type of its own to GCC). */
  const mffi_type *c = mffi__B(&ctx->tt, component);
  const mffi_type *v = mffi__T(&ctx->tt, component);
  bool spelled = (v->flags & (MFFI_TF_FLOATN | MFFI_TF_FLOATNX)) && !v->quals;
  mffi_type x = {.kind = MFFI_KIND_COMPLEX,
                 .base = MFFI_TID_NONE,
                 .child = spelled ? v->id : c->id,
                 .size = 2 * c->size,
                 .align = c->align};
  return tt_intern(ctx, &x, out);
}

int mffi__tt_vector(mffi_ctx *ctx, mffi__tid elem, uint64_t size,
                    mffi__tid *out) {
  mffi__tt *tt = &ctx->tt;
  const mffi_type *e = mffi__T(tt, elem);
  mffi_kind k = (mffi_kind)mffi__B(tt, elem)->kind;
  bool scalar = (mffi__kind_is_int(k) && k != MFFI_KIND_BOOL) ||
                mffi__kind_is_float(k);
  if (!scalar || (e->base != e->id && (e->flags & MFFI_TF_USERALIGN)))
    return mffi__err(ctx, MFFI_EDECL, "invalid vector type");
  size_t esize = mffi__size(tt, elem);
  if (esize == 0) /* An incomplete enum, as gcc says. */
    return mffi__err(ctx, MFFI_EDECL, "invalid vector type");
  if (size == 0 || size % esize || ((size / esize) & (size / esize - 1)))
    return mffi__err(ctx, MFFI_EDECL,
                     "number of vector components %llu not a power of two",
                     (unsigned long long)(size / esize));
  if (size > 1u << 20)
    return mffi__err(ctx, MFFI_ERANGE, "vector of %llu bytes is too large",
                     (unsigned long long)size);
  /* The element without qualifiers: those belong to the vector. */
  mffi_type v = {.kind = MFFI_KIND_ARRAY,
                 .base = MFFI_TID_NONE,
                 .child = e->base,
                 .length = (long)(size / esize),
                 .size = size,
                 .align = size < MFFI_VECTOR_MAX_ALIGN ? (uint32_t)size
                                                       : MFFI_VECTOR_MAX_ALIGN,
                 .flags = MFFI_TF_VECTOR};
  int rc = tt_intern(ctx, &v, out);
  if (rc == MFFI_OK && e->quals) rc = mffi__tt_qual(ctx, *out, e->quals, out);
  return rc;
}

bool mffi__tt_has_vector(const mffi__tt *tt, mffi__tid tid) {
  for (;;) {
    const mffi_type *b = mffi__B(tt, tid);
    if (b->kind == MFFI_KIND_ARRAY) {
      if (b->flags & MFFI_TF_VECTOR) return true;
      tid = b->child;
      continue;
    }
    return (b->kind == MFFI_KIND_STRUCT || b->kind == MFFI_KIND_UNION) &&
           (b->flags & MFFI_TF_HASVEC);
  }
}

int mffi__tt_record(mffi_ctx *ctx, mffi_kind kind, const char *tag,
                    mffi__tid *out) {
  mffi_type r = {.kind = (uint8_t)kind,
                 .base = MFFI_TID_NONE,
                 .child = MFFI_TID_NONE,
                 .tag = tag};
  return tt_add(ctx, &r, out);
}

/* -- Sameness across translation units ------------------------------------- */

/* Two translation units may each define a type that is one type to the
** program (C11 6.2.7p1): same tag (or none), same members in the same
** order with the same names and types, same layout. Pointers and arrays
** compare their targets; variants their qualifiers, alignment and
** spelling. Chains of pointers, arrays and variants are followed in a loop;
** recursion is only into members and parameters, whose depth the parser
** bounds. */
static bool tt_same_rec(const mffi__tt *tt, mffi__tid a, mffi__tid b,
                        bool tags);

static bool tt_same_members(const mffi__tt *tt, const mffi_type *x,
                            const mffi_type *y) {
  if (x->size != y->size || x->align != y->align ||
      x->attr_align != y->attr_align || x->nmembers != y->nmembers ||
      ((x->flags ^ y->flags) & (MFFI_TF_PACKED | MFFI_TF_FLEX)))
    return false;
  for (uint32_t i = 0; i < x->nmembers; i++) {
    const mffi__member *m = &x->members[i], *n = &y->members[i];
    if (m->name != n->name || m->bit_width != n->bit_width ||
        m->offset != n->offset || m->bit_offset != n->bit_offset ||
        m->align_attr != n->align_attr || m->packed != n->packed ||
        !tt_same_rec(tt, m->tid, n->tid, true))
      return false;
  }
  return true;
}

static bool tt_same_enums(const mffi_type *x, const mffi_type *y) {
  if (x->nenums != y->nenums || x->child != y->child || x->size != y->size)
    return false;
  for (uint32_t i = 0; i < x->nenums; i++)
    if (x->enums[i].name != y->enums[i].name ||
        x->enums[i].value != y->enums[i].value)
      return false;
  return true;
}

/* A struct, union or enum's real tag (not a typedef's name), or NULL. */
static const char *tt_real_tag(const mffi_type *t) {
  return (t->flags & MFFI_TF_TYPEDEF_TAG) ? NULL : t->tag;
}

static bool tt_same_rec(const mffi__tt *tt, mffi__tid a, mffi__tid b,
                        bool tags) {
  for (;;) {
    if (a == b) return true;
    const mffi_type *x = tt->types[a], *y = tt->types[b];
    if (x->kind != y->kind || x->quals != y->quals) return false;
    bool xv = x->base != x->id, yv = y->base != y->id;
    if (xv != yv) return false;
    if (xv) {
      if (x->align != y->align ||
          ((x->flags ^ y->flags) &
           (MFFI_TF_USERALIGN | MFFI_TF_FLOATN | MFFI_TF_FLOATNX)))
        return false;
      a = x->base, b = y->base;
      continue;
    }
    switch (x->kind) {
    case MFFI_KIND_POINTER:
    case MFFI_KIND_COMPLEX: a = x->child, b = y->child; continue;
    case MFFI_KIND_ARRAY:
      if (x->length != y->length) return false;
      a = x->child, b = y->child;
      continue;
    case MFFI_KIND_FUNCTION:
      if (x->nparams != y->nparams || ((x->flags ^ y->flags) & MFFI_TF_FUNC))
        return false;
      for (uint32_t i = 0; i < x->nparams; i++)
        if (!tt_same_rec(tt, x->params[i], y->params[i], true)) return false;
      a = x->child, b = y->child;
      continue;
    case MFFI_KIND_STRUCT:
    case MFFI_KIND_UNION:
    case MFFI_KIND_ENUM: {
      const char *tx = tt_real_tag(x), *ty = tt_real_tag(y);
      if (tags && tx != ty) return false;
      if (!((x->flags & y->flags) & MFFI_TF_COMPLETE)) return false;
      return x->kind == MFFI_KIND_ENUM ? tt_same_enums(x, y)
                                       : tt_same_members(tt, x, y);
    }
    default: return false; /* Distinct primitives. */
    }
  }
}

bool mffi__tt_same(const mffi__tt *tt, mffi__tid a, mffi__tid b) {
  return tt_same_rec(tt, a, b, true);
}

bool mffi__tt_same_body(const mffi__tt *tt, mffi__tid a, mffi__tid b) {
  return tt_same_rec(tt, mffi__B(tt, a)->id, mffi__B(tt, b)->id, false);
}

/* -- Tags and names -------------------------------------------------------- */

static int tt_rehash(mffi_ctx *ctx, uint32_t **tab, size_t *n, size_t need) {
  if (need * 2 <= *n) return MFFI_OK;
  size_t nn = *n ? *n * 2 : TT_MIN_HASH;
  uint32_t *h = mffi__calloc(ctx, nn * sizeof *h);
  if (!h) return mffi__nomem(ctx);
  mffi__free(ctx, *tab);
  *tab = h;
  *n = nn;
  return 1; /* Rebuilt empty: the caller refills it. */
}

static void tt_tag_put(mffi__tt *tt, mffi__tid tid) {
  size_t j = tt_pooled_hash(tt, tt->types[tid]->tag) & (tt->nthash - 1);
  while (tt->thash[j])
    j = (j + 1) & (tt->nthash - 1);
  tt->thash[j] = tid + 1;
}

static bool tt_has_tag(const mffi_type *t) {
  return t->base == t->id && t->tag && !(t->flags & MFFI_TF_TYPEDEF_TAG) &&
         (t->kind == MFFI_KIND_STRUCT || t->kind == MFFI_KIND_UNION ||
          t->kind == MFFI_KIND_ENUM);
}

mffi__tid mffi__tt_tag_find(const mffi__tt *tt, const char *tag) {
  const char *o = tt_str_find(tt, tag); /* Tags are pooled: no copy, none. */
  return o ? mffi__tt_tag_find_pooled(tt, o) : MFFI_TID_NONE;
}

mffi__tid mffi__tt_tag_find_pooled(const mffi__tt *tt, const char *tag) {
  if (!tt->nthash) return MFFI_TID_NONE;
  size_t j = tt_pooled_hash(tt, tag) & (tt->nthash - 1);
  for (uint32_t v; (v = tt->thash[j]) != 0; j = (j + 1) & (tt->nthash - 1))
    if (tt->types[v - 1]->tag == tag) return v - 1;
  return MFFI_TID_NONE;
}

int mffi__tt_tag_bind(mffi_ctx *ctx, const char *tag, mffi__tid tid) {
  mffi__tt *tt = &ctx->tt;
  (void)tag; /* The node carries its tag. */
  int rc = tt_rehash(ctx, &tt->thash, &tt->nthash, tt->ntypes + 1);
  if (rc < 0) return rc;
  if (rc == 1) {
    for (uint32_t i = 0; i < tt->ntypes; i++)
      if (i != tid && tt_has_tag(tt->types[i])) tt_tag_put(tt, i);
  }
  tt_tag_put(tt, tid);
  return MFFI_OK;
}

static void tt_name_put(mffi__tt *tt, const mffi_decl *d) {
  size_t j = tt_pooled_hash(tt, d->name) & (tt->nnhash - 1);
  while (tt->nhash[j])
    j = (j + 1) & (tt->nnhash - 1);
  tt->nhash[j] = d->index + 1;
}

mffi_decl *mffi__tt_decl_find(const mffi__tt *tt, const char *name) {
  const char *o = tt_str_find(tt, name); /* Names are pooled too. */
  return o ? mffi__tt_decl_find_pooled(tt, o) : NULL;
}

mffi_decl *mffi__tt_decl_find_pooled(const mffi__tt *tt, const char *name) {
  if (!tt->nnhash) return NULL;
  size_t j = tt_pooled_hash(tt, name) & (tt->nnhash - 1);
  for (uint32_t v; (v = tt->nhash[j]) != 0; j = (j + 1) & (tt->nnhash - 1))
    if (tt->decls[v - 1]->name == name) return tt->decls[v - 1];
  return NULL;
}

int mffi__tt_decl_add(mffi_ctx *ctx, const mffi_decl *d, mffi_decl **out) {
  mffi__tt *tt = &ctx->tt;
  bool named = d->kind != MFFI_DECL_TAG;
  if (mffi__grow(ctx, (void **)&tt->decls, &tt->capdecls, tt->ndecls + 1,
                 sizeof *tt->decls))
    return mffi__nomem(ctx);
  if (named) {
    int rc = tt_rehash(ctx, &tt->nhash, &tt->nnhash, tt->ndecls + 1);
    if (rc < 0) return rc;
    if (rc == 1)
      for (uint32_t i = 0; i < tt->ndecls; i++)
        if (tt->decls[i]->kind != MFFI_DECL_TAG) tt_name_put(tt, tt->decls[i]);
  }
  mffi_decl *nd = tt_slab_node(ctx, &tt->decl_slab, tt->ndecls, sizeof *nd);
  if (!nd) return mffi__nomem(ctx);
  *nd = *d;
  nd->index = tt->ndecls;
  nd->undo_ix = 0;
  nd->ctx = ctx;
  if (!nd->symbol) nd->symbol = nd->name;
  tt->decls[tt->ndecls++] = nd;
  if (named) tt_name_put(tt, nd);
  if (out) *out = nd;
  return MFFI_OK;
}

void mffi__tt_decl_free_parts(mffi_ctx *ctx, mffi_decl *d) {
  for (uint32_t i = 0; i < d->nattrs; i++)
    mffi__free(ctx, (void *)d->attrs[i].args);
  mffi__free(ctx, d->attrs);
  mffi__free(ctx, (void *)d->param_names);
  d->attrs = NULL;
  d->nattrs = 0;
  d->param_names = NULL;
  d->nparam_names = 0;
}

/* -- Transactions ---------------------------------------------------------- */

struct mffi__undo {
  mffi_type *type; /* The node changed in place, or NULL. */
  mffi_decl *decl; /* The declaration changed in place, or NULL. */
  union {
    mffi_type t;
    mffi_decl d;
  } saved;
};

static int tt_log(mffi_ctx *ctx, mffi_type *t, mffi_decl *d) {
  mffi__tt *tt = &ctx->tt;
  if (!tt->in_tx) return MFFI_OK;
  if (t && t->id >= tt->tx_ntypes) return MFFI_OK;
  if (d && d->index >= tt->tx_ndecls) return MFFI_OK;
  /* Log the first state once per savepoint: the object knows its latest
  ** entry (and the entry the state before it, in saved.undo_ix). */
  if ((t && t->undo_ix > tt->undo_floor) || (d && d->undo_ix > tt->undo_floor))
    return MFFI_OK;
  if (tt->nundo >= UINT32_MAX - 1 ||
      mffi__grow(ctx, (void **)&tt->undo, &tt->capundo, tt->nundo + 1,
                 sizeof *tt->undo))
    return mffi__nomem(ctx);
  mffi__undo *u = &tt->undo[tt->nundo++];
  u->type = t;
  u->decl = d;
  if (t) u->saved.t = *t, t->undo_ix = (uint32_t)tt->nundo;
  if (d) u->saved.d = *d, d->undo_ix = (uint32_t)tt->nundo;
  return MFFI_OK;
}

int mffi__tt_type_touch(mffi_ctx *ctx, mffi__tid tid) {
  return tt_log(ctx, ctx->tt.types[tid], NULL);
}

int mffi__tt_decl_touch(mffi_ctx *ctx, mffi_decl *d) {
  return tt_log(ctx, NULL, d);
}

int mffi__tt_decl_set_attrs(mffi_ctx *ctx, mffi_decl *d, mffi_attr *attrs,
                            uint32_t nattrs) {
  mffi__tt *tt = &ctx->tt;
  int rc = tt_log(ctx, NULL, d);
  if (rc) return rc;
  /* The current array is this transaction's own unless the log holds it. */
  bool logged = d->undo_ix && d->undo_ix <= tt->nundo &&
                tt->undo[d->undo_ix - 1].saved.d.attrs == d->attrs;
  if (!logged) {
    mffi_decl cur = {.attrs = d->attrs, .nattrs = d->nattrs};
    mffi__tt_decl_free_parts(ctx, &cur);
  }
  d->attrs = attrs;
  d->nattrs = nattrs;
  return MFFI_OK;
}

static void tt_free_type(mffi_ctx *ctx, mffi_type *t) {
  mffi__free(ctx, t->params);
  mffi__free(ctx, t->members);
  mffi__free(ctx, t->enums);
  tt_slab_release(ctx, t);
}

void mffi__tt_begin(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  tt->in_tx = true;
  tt->tx_ntypes = tt->ntypes;
  tt->tx_ndecls = tt->ndecls;
  tt->nundo = 0;
  tt->undo_floor = 0;
}

void mffi__tt_commit(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  /* Arrays replaced in place by the transaction free their old versions. */
  /* An object logged at several savepoints has a chain of entries
  ** (saved.undo_ix links each to the one before); an array saved by two
  ** of them is freed by the earlier one only. */
  for (size_t i = 0; i < tt->nundo; i++) {
    mffi__undo *u = &tt->undo[i];
    if (u->type) {
      const mffi__undo *e =
          u->saved.t.undo_ix ? &tt->undo[u->saved.t.undo_ix - 1] : NULL;
      if (u->saved.t.members != u->type->members &&
          !(e && e->saved.t.members == u->saved.t.members))
        mffi__free(ctx, u->saved.t.members);
      if (u->saved.t.enums != u->type->enums &&
          !(e && e->saved.t.enums == u->saved.t.enums))
        mffi__free(ctx, u->saved.t.enums);
    } else {
      const mffi__undo *e =
          u->saved.d.undo_ix ? &tt->undo[u->saved.d.undo_ix - 1] : NULL;
      mffi_decl old = u->saved.d;
      if (old.attrs == u->decl->attrs || (e && e->saved.d.attrs == old.attrs))
        old.attrs = NULL, old.nattrs = 0;
      if (old.param_names == u->decl->param_names ||
          (e && e->saved.d.param_names == old.param_names))
        old.param_names = NULL;
      mffi__tt_decl_free_parts(ctx, &old);
    }
  }
  for (size_t i = 0; i < tt->nundo; i++) {
    mffi__undo *u = &tt->undo[i];
    if (u->type) u->type->undo_ix = 0;
    if (u->decl) u->decl->undo_ix = 0;
  }
  tt->nundo = 0;
  tt->undo_floor = 0;
  tt->in_tx = false;
}

/* Rebuild every hash from the arrays (after a rollback truncated them). */
static void tt_rebuild_hashes(mffi__tt *tt) {
  if (tt->nihash) {
    memset(tt->ihash, 0, tt->nihash * sizeof *tt->ihash);
    for (uint32_t i = 0; i < tt->ntypes; i++)
      if (tt_is_interned(tt->types[i])) tt_ihash_put(tt, tt->types[i]);
  }
  if (tt->nthash) {
    memset(tt->thash, 0, tt->nthash * sizeof *tt->thash);
    for (uint32_t i = 0; i < tt->ntypes; i++)
      if (tt_has_tag(tt->types[i])) tt_tag_put(tt, i);
  }
  if (tt->nnhash) {
    memset(tt->nhash, 0, tt->nnhash * sizeof *tt->nhash);
    for (uint32_t i = 0; i < tt->ndecls; i++)
      if (tt->decls[i]->kind != MFFI_DECL_TAG) tt_name_put(tt, tt->decls[i]);
  }
}

/* Undo the log's entries from the last down to entry `to`. */
static void tt_unwind(mffi_ctx *ctx, size_t to) {
  mffi__tt *tt = &ctx->tt;
  for (size_t i = tt->nundo; i-- > to;) {
    mffi__undo *u = &tt->undo[i];
    if (u->type) {
      if (u->type->members != u->saved.t.members)
        mffi__free(ctx, u->type->members);
      if (u->type->enums != u->saved.t.enums) mffi__free(ctx, u->type->enums);
      *u->type = u->saved.t;
    } else {
      mffi_decl *d = u->decl;
      if (d->attrs == u->saved.d.attrs) d->attrs = NULL, d->nattrs = 0;
      if (d->param_names == u->saved.d.param_names) d->param_names = NULL;
      mffi__tt_decl_free_parts(ctx, d);
      *d = u->saved.d;
    }
  }
  tt->nundo = to;
}

/* Free the types and declarations past the first ntypes and ndecls. */
static void tt_truncate(mffi_ctx *ctx, uint32_t ntypes, uint32_t ndecls) {
  mffi__tt *tt = &ctx->tt;
  while (tt->ntypes > ntypes)
    tt_free_type(ctx, tt->types[--tt->ntypes]);
  while (tt->ndecls > ndecls) {
    mffi_decl *d = tt->decls[--tt->ndecls];
    mffi__tt_decl_free_parts(ctx, d);
    tt_slab_release(ctx, d);
  }
  tt_rebuild_hashes(tt);
}

void mffi__tt_rollback(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  tt_unwind(ctx, 0);
  tt_truncate(ctx, tt->tx_ntypes, tt->tx_ndecls);
  tt->undo_floor = 0;
  tt->in_tx = false;
}

/* The hashes of the table: intern (types), tags (types), names (decls). */
enum { TT_H_INTERN, TT_H_TAG, TT_H_NAME };

/* The home slot of value v (index + 1) in hash `which` of mask + 1 slots. */
static size_t tt_home(const mffi__tt *tt, int which, uint32_t v, size_t mask) {
  if (which == TT_H_INTERN) {
    tkey k = tt_key_of(tt->types[v - 1]);
    return tt_key_hash(&k) & mask;
  }
  if (which == TT_H_TAG)
    return tt_pooled_hash(tt, tt->types[v - 1]->tag) & mask;
  return tt_pooled_hash(tt, tt->decls[v - 1]->name) & mask;
}

/* Remove value v from a linear-probing hash of n slots, keeping every
** other entry reachable and in probe order (Knuth, TAOCP 6.4, algorithm
** R). The nodes of the entries must still be alive. */
static void tt_hash_del(const mffi__tt *tt, int which, uint32_t *h, size_t n,
                        uint32_t v) {
  if (!n) return;
  size_t mask = n - 1, i = tt_home(tt, which, v, mask);
  while (h[i] && h[i] != v)
    i = (i + 1) & mask;
  if (!h[i]) return; /* Not hashed (not interned, no tag). */
  for (size_t j = i;;) {
    h[i] = 0;
    for (;;) {
      j = (j + 1) & mask;
      if (!h[j]) return;
      size_t r = tt_home(tt, which, h[j], mask);
      /* The entry at j stays if its home is cyclically in (i, j]. */
      if (i <= j ? (i < r && r <= j) : (i < r || r <= j)) continue;
      break;
    }
    h[i] = h[j];
    i = j;
  }
}

void mffi__tt_save(mffi_ctx *ctx, mffi__tt_savepoint *sp) {
  mffi__tt *tt = &ctx->tt;
  sp->ntypes = tt->ntypes;
  sp->ndecls = tt->ndecls;
  sp->nundo = tt->nundo;
  tt->undo_floor = tt->nundo;
}

void mffi__tt_restore(mffi_ctx *ctx, const mffi__tt_savepoint *sp) {
  mffi__tt *tt = &ctx->tt;
  bool touched = tt->nundo > sp->nundo;
  tt_unwind(ctx, sp->nundo);
  tt->undo_floor = sp->nundo;
  if (touched) { /* Older nodes changed (tags...): rehash everything. */
    tt_truncate(ctx, sp->ntypes, sp->ndecls);
    return;
  }
  /* Only new nodes: take them out of the hashes, newest first, so that
  ** skipping a declaration costs what it made, not the whole table. */
  for (uint32_t i = tt->ndecls; i-- > sp->ndecls;)
    if (tt->decls[i]->kind != MFFI_DECL_TAG && tt->decls[i]->name)
      tt_hash_del(tt, TT_H_NAME, tt->nhash, tt->nnhash, i + 1);
  for (uint32_t i = tt->ntypes; i-- > sp->ntypes;) {
    tt_hash_del(tt, TT_H_INTERN, tt->ihash, tt->nihash, i + 1);
    if (tt->types[i]->tag)
      tt_hash_del(tt, TT_H_TAG, tt->thash, tt->nthash, i + 1);
  }
  while (tt->ntypes > sp->ntypes)
    tt_free_type(ctx, tt->types[--tt->ntypes]);
  while (tt->ndecls > sp->ndecls) {
    mffi_decl *d = tt->decls[--tt->ndecls];
    mffi__tt_decl_free_parts(ctx, d);
    tt_slab_release(ctx, d);
  }
}

/* -- Life cycle ------------------------------------------------------------ */

int mffi__tt_init(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  tt->abi = &mffi__abi_native;
  for (int k = 0; k < MFFI_NPRIM; k++) {
    mffi_type p = {.kind = (uint8_t)k,
                   .base = MFFI_TID_NONE,
                   .child = MFFI_TID_NONE,
                   .size = tt->abi->size[k],
                   .align = tt->abi->align[k]};
    if (k == MFFI_KIND_COMPLEX) { /* The slot holds GNU's bare _Complex. */
      p.child = MFFI_KIND_DOUBLE;
      p.size = 2 * tt->abi->size[MFFI_KIND_DOUBLE];
      p.align = tt->abi->align[MFFI_KIND_DOUBLE];
    }
    mffi__tid tid;
    int rc = tt_add(ctx, &p, &tid);
    if (rc) return rc;
  }
  return MFFI_OK;
}

void mffi__tt_free(mffi_ctx *ctx) {
  mffi__tt *tt = &ctx->tt;
  for (uint32_t i = 0; i < tt->ntypes; i++)
    tt_free_type(ctx, tt->types[i]);
  for (uint32_t i = 0; i < tt->ndecls; i++) {
    mffi__tt_decl_free_parts(ctx, tt->decls[i]);
    tt_slab_release(ctx, tt->decls[i]);
  }
  tt_slab_free(ctx, &tt->type_slab);
  tt_slab_free(ctx, &tt->decl_slab);
  while (tt->strchunks) {
    mffi__strchunk *next = tt->strchunks->next;
    mffi__free(ctx, tt->strchunks);
    tt->strchunks = next;
  }
  mffi__free(ctx, tt->types);
  mffi__free(ctx, tt->decls);
  mffi__free(ctx, tt->ihash);
  mffi__free(ctx, tt->nhash);
  mffi__free(ctx, tt->thash);
  mffi__free(ctx, tt->strs);
  mffi__free(ctx, tt->undo);
  memset(tt, 0, sizeof *tt);
}

/* -- Kinds ----------------------------------------------------------------- */

mffi_type *mffi__type_scalar(const mffi__tt *tt, mffi__tid tid) {
  mffi_type *t = mffi__B(tt, tid);
  while (t->kind == MFFI_KIND_ENUM && t->child != MFFI_TID_NONE)
    t = mffi__B(tt, t->child);
  return t;
}

bool mffi__kind_is_int(mffi_kind k) {
  return (k >= MFFI_KIND_BOOL && k <= MFFI_KIND_UINT128) || k == MFFI_KIND_ENUM;
}

bool mffi__kind_is_float(mffi_kind k) {
  return k >= MFFI_KIND_FLOAT16 && k <= MFFI_KIND_FLOAT128;
}

bool mffi__kind_is_signed(const mffi__tt *tt, mffi_kind k) {
  switch (k) {
  case MFFI_KIND_CHAR: return tt->abi->char_signed;
  case MFFI_KIND_SCHAR:
  case MFFI_KIND_SHORT:
  case MFFI_KIND_INT:
  case MFFI_KIND_LONG:
  case MFFI_KIND_LLONG:
  case MFFI_KIND_INT128: return true;
  default: return false;
  }
}
