/* Call engine: the libffi path and closures. See LICENSE.
**
** The ffi_cif is prepared once per bound function, from the ABI module's
** plan (call.h), which is all this file knows of the target. Two
** adjustments keep libffi's behaviour exact:
** - return values: libffi widens small integer returns to ffi_arg; we
**   narrow them back, so `ret` is written at the exact C size;
** - aggregates returned in memory: the hidden pointer is passed as an
**   explicit first argument (the ABI is the same), which also covers the
**   cases libffi cannot describe (unaligned members, unions).
*/
#include <string.h>

#include "call/call.h"

enum { /* How the return value is stored. */
       RM_VOID,
       RM_SINT,  /* Widened by libffi to ffi_arg: narrow, signed. */
       RM_UINT,  /* Same, unsigned. */
       RM_EXACT, /* Written at its own size. */
       RM_BIG,   /* An aggregate over FFI_RBUF bytes that libffi returns
                    itself (the plan has no hidden pointer): into ret. */
       RM_MEM    /* Through a hidden pointer argument. */
};

static const uint64_t ffi_zero_word; /* What dummy arguments point at. */

enum { /* How a libffi argument is made from the caller's: the plan's
       ** promotions (mffi__aplan.prom) as they are, then our own. */
       CV_NONE = MFFI__CV_COPY, /* Passed as it is. */
       CV_F2D = MFFI__CV_F2D,   /* Default promotions of variadic arguments. */
       CV_SEXT = MFFI__CV_SEXT,
       CV_ZEXT = MFFI__CV_ZEXT,
       CV_PART = MFFI__CV_F2D + 1, /* One eightbyte of a register aggregate,
                                      zero-padded. */
       CV_ZERO, /* A dummy filling a register (words mode). */
       CV_WORD, /* Eightbyte `arg` of the stack image (words mode). */
       CV_REF   /* The address of a copy (MFFI__CV_REF; the plan's piece
                   says where), passed as a pointer. */
};
_Static_assert(MFFI__CV_F2D > MFFI__CV_COPY && MFFI__CV_F2D > MFFI__CV_SEXT &&
                   MFFI__CV_F2D > MFFI__CV_ZEXT,
               "CV_PART follows the plan's conversions");

/* One libffi argument. */
typedef struct ffi_arg_map {
  uint16_t arg; /* The caller's argument index. */
  uint8_t conv; /* CV_*. */
  uint8_t off;  /* CV_PART: byte offset; conversions: the source size. */
  uint8_t len;  /* CV_PART: bytes. */
} ffi_arg_map;

#define FFI_MAX_WORDS 512 /* Max. stack eightbytes in words mode. */
#define FFI_RBUF 32       /* Bytes of ffi_run's own return buffer. */

/* An argument copied into the stack image (words mode). */
typedef struct ffi_stk {
  uint16_t arg;  /* The caller's argument. */
  uint8_t conv;  /* CV_NONE or a promotion. */
  uint8_t csize; /* Promotions: the source size. */
  uint32_t off;  /* Offset in the stack area. */
  uint32_t size; /* Bytes to copy. */
} ffi_stk;

struct mffi__ffi {
  ffi_cif cif;
  mffi__cplan *plan; /* Owned. */
  mffi__ffiown own;  /* Synthetic ffi_types. */
  ffi_type **atypes; /* Owned by own. */
  ffi_arg_map *map;  /* nffi entries (after the hidden one); own. */
  uint32_t nffi;     /* libffi arguments, without the hidden one. */
  ffi_stk *stk;      /* Words mode: the stack arguments; own. */
  uint32_t nstk;
  uint32_t sbytes; /* Words mode: size of the stack image, or 0. */
  uint32_t nargs;  /* Caller's arguments. */
  uint8_t rmode;   /* RM_*. */
  uint32_t rsize;
  uint32_t ralign;
  mffi_ctx *ctx;
};

void *mffi__ffiown_alloc(mffi_ctx *ctx, mffi__ffiown *own, size_t sz) {
  if (mffi__grow(ctx, (void **)&own->blocks, &own->cap, own->n + 1,
                 sizeof(void *)) != 0)
    return NULL;
  void *p = mffi__calloc(ctx, sz);
  if (p) own->blocks[own->n++] = p;
  return p;
}

static void ffi_own_free(mffi_ctx *ctx, mffi__ffiown *own) {
  for (size_t i = 0; i < own->n; i++)
    mffi__free(ctx, own->blocks[i]);
  mffi__free(ctx, own->blocks);
  own->blocks = NULL;
  own->n = own->cap = 0;
}

static ffi_type *ffi_int_type(bool sgn, size_t sz) {
  switch (sz) {
  case 1: return sgn ? &ffi_type_sint8 : &ffi_type_uint8;
  case 2: return sgn ? &ffi_type_sint16 : &ffi_type_uint16;
  case 4: return sgn ? &ffi_type_sint32 : &ffi_type_uint32;
  default: return sgn ? &ffi_type_sint64 : &ffi_type_uint64;
  }
}

/* A member-wise description, for ABIs without mffi__abi_ffi_type. Good for
** structs of plain members; unions and bit-fields are approximated by
** bytes. */
static int ffi_generic_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                            ffi_type **out);

/* MFFI_EUNSUPPORTED: libffi cannot pass or return tid by value, why. */
static int ffi_refuse(mffi_ctx *ctx, mffi__tid tid, bool is_ret,
                      const char *why) {
  char buf[128];
  mffi_type_str(ctx->tt.types[tid], NULL, buf, sizeof buf);
  return mffi__err(ctx, MFFI_EUNSUPPORTED, "libffi cannot %s '%s' by value %s",
                   is_ret ? "return" : "pass", buf, why);
}

/* Why ffi_generic_type refuses an aggregate. */
static const char ffi_not_exact[] =
    "on this target: only structs of plain members at their natural offsets "
    "(no unions, bit-fields, packed or over-aligned members, long double or "
    "__int128 members, nor alignment over 16) are described exactly";

static int ffi_type_of(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out) {
  size_t sz;
  switch (mffi__value_kind(&ctx->tt, tid, &sz)) {
  case MFFI__V_VOID: *out = &ffi_type_void; return MFFI_OK;
  case MFFI__V_SINT: *out = ffi_int_type(true, sz); return MFFI_OK;
  case MFFI__V_UINT:
    *out = sz == sizeof(void *) ? &ffi_type_pointer : ffi_int_type(false, sz);
    return MFFI_OK;
  case MFFI__V_FLOAT: *out = &ffi_type_float; return MFFI_OK;
  case MFFI__V_DOUBLE: *out = &ffi_type_double; return MFFI_OK;
  case MFFI__V_LDOUBLE: *out = &ffi_type_longdouble; return MFFI_OK;
  case MFFI__V_INT128:
  case MFFI__V_AGG: {
    int rc = mffi__abi_ffi_type(ctx, own, tid, is_ret, out);
    if (rc == 1) rc = ffi_generic_type(ctx, own, tid, out);
    if (rc == MFFI_ENOMEM) return mffi__nomem(ctx);
    if (rc == MFFI_EUNSUPPORTED) return rc; /* Recorded, with the type. */
    if (rc == 2)
      return ffi_refuse(ctx, tid, is_ret,
                        "(a vector, _Float16 or _Float128 in an SSE "
                        "register): modffi's own call routine can, libffi "
                        "closures and MFFI_OPEN_FFI_ONLY calls cannot");
    if (rc != MFFI_OK)
      return mffi__err(ctx, MFFI_EUNSUPPORTED,
                       "libffi cannot describe this aggregate");
    return MFFI_OK;
  }
  default: return mffi__value_check(ctx, tid, is_ret);
  }
}

/* Leaves of an aggregate for the generic description: the float kind all
** leaves share (or -1 if they differ or one is not floating) and whether
** they tile the value without gaps or overlaps. */
typedef struct ffi_leaves {
  int kind;    /* MFFI_KIND_FLOAT/DOUBLE, -1 mixed, 0 none yet. */
  size_t n;    /* Leaves seen. */
  size_t next; /* Offset the next leaf must start at to tile. */
  bool tiled;
  bool odd; /* A leaf of a floating type other than float and double. */
} ffi_leaves;

static void ffi_walk(const mffi__tt *tt, mffi__tid tid, size_t off,
                     ffi_leaves *lv) {
  mffi_type *t = mffi__type_scalar(tt, tid);
  switch ((mffi_kind)t->kind) {
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
    for (uint32_t i = 0; i < t->nmembers; i++) {
      if (t->members[i].bit_width >= 0) {
        lv->kind = -1;
        continue;
      }
      ffi_walk(tt, t->members[i].tid, off + t->members[i].offset, lv);
    }
    return;
  case MFFI_KIND_ARRAY: {
    mffi_type *e = mffi__B(tt, t->child);
    for (long i = 0; i < t->length; i++)
      ffi_walk(tt, e->id, off + (size_t)i * e->size, lv);
    return;
  }
  case MFFI_KIND_COMPLEX: {
    mffi_type *c = mffi__B(tt, t->child);
    ffi_walk(tt, c->id, off, lv);
    ffi_walk(tt, c->id, off + c->size, lv);
    return;
  }
  case MFFI_KIND_LDOUBLE: /* An AArch64 HFA may be of these: no bytes. */
  case MFFI_KIND_FLOAT16:
  case MFFI_KIND_FLOAT128:
    lv->odd = true;
    lv->kind = -1;
    break;
  case MFFI_KIND_FLOAT:
  case MFFI_KIND_DOUBLE:
    if (lv->kind == 0)
      lv->kind = t->kind;
    else if (lv->kind != t->kind)
      lv->kind = -1;
    break;
  default: lv->kind = -1; break;
  }
  if (off != lv->next) lv->tiled = false;
  lv->next = off + t->size;
  lv->n++;
}

/* The generic description, for ABIs without mffi__abi_ffi_type: a plain
** struct member by member (ffi_plain_type); otherwise what AArch64 and
** PowerPC ELFv2 tell apart. Up to four floats or doubles of one kind that
** tile the value are a homogeneous aggregate (passed in floating
** registers); anything else is passed as its bytes, described as
** eightbytes and a byte tail with the real size and alignment. Other
** targets classify small aggregates by members (x86-64 SysV, RISC-V's
** hard-float rules), so there the bytes would be a guess: only complex
** values, __int128 (two parts alike) and aggregates over 16 bytes (which
** those ABIs pass in memory whatever they hold) are described so, other
** aggregates are refused by name. */
#if defined(__aarch64__) || (defined(__powerpc64__) && defined(_CALL_ELF) && \
                             _CALL_ELF == 2)
#define FFI_BYTES_EXACT 1
#else
#define FFI_BYTES_EXACT 0
#endif
#define FFI_MAX_ELEMS 64 /* Max. elements of a member-wise description. */

static int ffi_plain_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                          ffi_type **out);

/* Elements of a plain struct (scalars and arrays of them, no bit-fields or
** nested aggregates, members where natural alignment puts them) appended
** to el, with *n and the natural layout *off
** advanced and *al raised. false if it is not plain or too big. */
static bool ffi_members(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                        ffi_type **el, size_t *n, size_t *off, size_t *al) {
  const mffi__tt *tt = &ctx->tt;
  mffi_type *t = mffi__type_scalar(tt, tid);
  size_t base = *off;
  for (uint32_t i = 0; i < t->nmembers; i++) {
    const mffi__member *m = &t->members[i];
    if (m->bit_width >= 0) return false;
    mffi_type *mt = mffi__type_scalar(tt, m->tid);
    mffi__tid et = mt->id;
    long count = 1;
    if (mt->kind == MFFI_KIND_ARRAY) {
      et = mffi__type_scalar(tt, mt->child)->id;
      count = mt->length;
    } else if (mt->kind == MFFI_KIND_COMPLEX) {
      et = mffi__type_scalar(tt, mt->child)->id;
      count = 2;
    }
    if (count <= 0) return false;
    ffi_type *ft;
    size_t sz;
    mffi__vkind k = mffi__value_kind(tt, et, &sz);
    if (mffi__type_scalar(tt, et)->kind == MFFI_KIND_STRUCT) {
      /* A plain struct member is one element: libffi nests them. */
      if (ffi_plain_type(ctx, own, et, &ft) != MFFI_OK) return false;
    } else if (k == MFFI__V_AGG || k == MFFI__V_INT128 ||
               k == MFFI__V_LDOUBLE || k == MFFI__V_BAD || k == MFFI__V_VOID ||
               ffi_type_of(ctx, own, et, false, &ft) != MFFI_OK) {
      return false;
    }
    for (long j = 0; j < count; j++) {
      size_t a = ft->alignment ? ft->alignment : 1;
      *off = (*off + a - 1) & ~(a - 1);
      if (j == 0 && *off != base + m->offset) return false;
      if (*n == FFI_MAX_ELEMS) return false;
      el[(*n)++] = ft;
      *off += ft->size;
      if (a > *al) *al = a;
    }
  }
  return true;
}

/* A struct described member by member, when libffi's natural layout of the
** members is ours: then libffi classifies it as the target's ABI says.
** MFFI_OK, 1 (not plain), MFFI_ENOMEM. */
static int ffi_plain_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                          ffi_type **out) {
  mffi_type *t = mffi__type_scalar(&ctx->tt, tid);
  if (t->kind != MFFI_KIND_STRUCT) return 1;
  ffi_type **el = mffi__ffiown_alloc(ctx, own, (FFI_MAX_ELEMS + 1) * sizeof *el);
  ffi_type *ft = mffi__ffiown_alloc(ctx, own, sizeof *ft);
  if (!el || !ft) return MFFI_ENOMEM;
  size_t n = 0, off = 0, al = 1;
  if (!ffi_members(ctx, own, tid, el, &n, &off, &al) || n == 0) return 1;
  off = (off + al - 1) & ~(al - 1);
  if (off != t->size || al != mffi__align(&ctx->tt, tid)) return 1;
  el[n] = NULL;
  ft->type = FFI_TYPE_STRUCT;
  ft->elements = el;
  /* libffi's own layout, as checked above: an enclosing struct reads it. */
  ft->size = t->size;
  ft->alignment = (unsigned short)al;
  *out = ft;
  return MFFI_OK;
}

static int ffi_generic_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                            ffi_type **out) {
  const mffi__tt *tt = &ctx->tt;
  int prc = ffi_plain_type(ctx, own, tid, out);
  if (prc != 1) return prc;
  mffi_type *t = mffi__type_scalar(tt, tid);
  /* libffi 3.4 misplaces stack arguments aligned beyond 16 (x86_64_sysv.c
  ** lays them out itself): refused here, where nobody does. */
  if (t->align > 16) return ffi_refuse(ctx, tid, false, ffi_not_exact);
  if (!FFI_BYTES_EXACT && t->size <= 16 && t->kind != MFFI_KIND_COMPLEX &&
      t->kind != MFFI_KIND_INT128 && t->kind != MFFI_KIND_UINT128)
    return ffi_refuse(ctx, tid, false, ffi_not_exact);
  ffi_leaves lv = {0, 0, 0, true, false};
  ffi_walk(tt, tid, 0, &lv);
  if (lv.odd && t->kind != MFFI_KIND_COMPLEX)
    return ffi_refuse(ctx, tid, false, ffi_not_exact);
  bool hfa = lv.kind > 0 && lv.tiled && lv.n <= 4 && lv.next == t->size;
  size_t nel = hfa ? lv.n : t->size / 8 + t->size % 8;
  ffi_type *ft =
      mffi__ffiown_alloc(ctx, own, sizeof *ft + (nel + 1) * sizeof(void *));
  if (!ft) return MFFI_ENOMEM;
  ffi_type **el = (ffi_type **)(ft + 1);
  ft->type = FFI_TYPE_STRUCT;
  ft->elements = el;
  ft->size = t->size;
  ft->alignment = (unsigned short)(t->align ? t->align : 1);
  for (size_t i = 0; i < nel; i++) {
    if (hfa)
      el[i] = lv.kind == MFFI_KIND_FLOAT ? &ffi_type_float : &ffi_type_double;
    else
      el[i] = i < t->size / 8 ? &ffi_type_uint64 : &ffi_type_uint8;
  }
  el[nel] = NULL;
  *out = ft;
  return MFFI_OK;
}

static int ffi_status_err(mffi_ctx *ctx, ffi_status st) {
  return mffi__err(ctx, MFFI_EUNSUPPORTED, "libffi refused the signature (%s)",
                   st == FFI_BAD_TYPEDEF ? "bad type"
                   : st == FFI_BAD_ABI   ? "bad ABI"
                                         : "bad argument type");
}

/* -- Preparing a call from the plan ---------------------------------------- */

/* The libffi ABI of plan p. */
static ffi_abi ffi_abi_of(const mffi__cplan *p) {
#if defined(__x86_64__) && !defined(_WIN32)
  if (p->msabi) return FFI_GNUW64;
#endif
  (void)p;
  return FFI_DEFAULT_ABI;
}

/* tid described to libffi for plan p: ffi_type_of's description, but for
** ms_abi an aggregate of 1, 2, 4 or 8 bytes (passed and returned as an
** integer of its size, whatever its members; libffi's FFI_GNUW64 reads
** the size only), or a refusal for the values libffi returns wrong. */
static int ffi_plan_type(mffi_ctx *ctx, mffi__ffiown *own, const mffi__cplan *p,
                         mffi__tid tid, bool is_ret, ffi_type **out) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(&ctx->tt, tid, &sz);
  if (!p->msabi || (k != MFFI__V_AGG && k != MFFI__V_INT128))
    return ffi_type_of(ctx, own, tid, is_ret, out);
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8)
    return ffi_refuse(ctx, tid, is_ret,
                      "with the ms_abi convention (returned in %xmm0): "
                      "modffi's own call routine can, libffi cannot");
  ffi_type *ft = mffi__ffiown_alloc(ctx, own, sizeof *ft + 2 * sizeof(void *));
  if (!ft) return mffi__nomem(ctx);
  ffi_type **el = (ffi_type **)(ft + 1);
  el[0] = ffi_int_type(false, sz);
  el[1] = NULL;
  ft->size = sz;
  ft->alignment = (unsigned short)sz;
  ft->type = FFI_TYPE_STRUCT;
  ft->elements = el;
  *out = ft;
  return MFFI_OK;
}

/* Whether argument a is an aggregate the plan puts in registers only: it is
** then passed as its register pieces. */
static bool ffi_split(const mffi__tt *tt, const mffi__cplan *plan,
                      const mffi__aplan *a) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(tt, a->tid, &sz);
  if ((k != MFFI__V_AGG && k != MFFI__V_INT128) || a->npieces == 0)
    return false;
  for (uint32_t j = 0; j < a->npieces; j++) {
    uint8_t loc = plan->pieces[a->first + j].loc;
    if (loc != MFFI__LOC_INT && loc != MFFI__LOC_FP) return false;
  }
  return true;
}

int mffi__ffi_prepare(mffi__cplan *plan, mffi__ffi **out) {
  mffi_ctx *ctx = plan->ctx;
  const mffi__tt *tt = &ctx->tt;
  *out = NULL;
  mffi__ffi *p = mffi__calloc(ctx, sizeof *p);
  if (!p) {
    mffi__cplan_free(plan);
    return mffi__nomem(ctx);
  }
  p->plan = plan;
  p->ctx = ctx;
  p->nargs = plan->nargs;
  p->rsize = plan->rsize;
  p->ralign = plan->ralign;
  int rc = MFFI_OK;
  if (plan->stack_abs) {
    rc = mffi__err(ctx, MFFI_EUNSUPPORTED,
                   "libffi cannot place a variadic argument aligned to more "
                   "than 16 bytes on the stack");
    goto fail;
  }
  size_t rsz;
  mffi__vkind rk = mffi__value_kind(tt, plan->ret, &rsz);
  unsigned h = plan->ret_mem ? 1 : 0, k = 0, kfixed = 0;
  /* Words mode: a stack argument aligned to more than 16 bytes. libffi
  ** would align it by absolute address; instead the registers are filled
  ** (with dummies where the call leaves them free) and the stack area is
  ** passed as eightbytes, laid out as the plan says. */
  bool words = plan->over;
  size_t sbytes = words ? plan->sbytes : 0;
  if (sbytes / 8 > FFI_MAX_WORDS) {
    rc = mffi__err(ctx, MFFI_EUNSUPPORTED, "too many stack arguments");
    goto fail;
  }
  size_t na = plan->nargs ? plan->nargs : 1;
  size_t cap = plan->nargs + plan->npieces + plan->nfill + sbytes / 8 + 1;
  p->atypes = mffi__ffiown_alloc(ctx, &p->own, cap * sizeof(ffi_type *));
  p->map = mffi__ffiown_alloc(ctx, &p->own, cap * sizeof(ffi_arg_map));
  p->stk = mffi__ffiown_alloc(ctx, &p->own, na * sizeof(ffi_stk));
  if (!p->atypes || !p->map || !p->stk) {
    rc = mffi__nomem(ctx);
    goto fail;
  }
  ffi_type *rtype;
  if (plan->ret_mem) {
    p->rmode = RM_MEM;
    rtype = &ffi_type_pointer;
    p->atypes[0] = &ffi_type_pointer;
  } else {
    rc = ffi_plan_type(ctx, &p->own, plan, plan->ret, true, &rtype);
    if (rc != MFFI_OK) goto fail;
    if (rk == MFFI__V_VOID)
      p->rmode = RM_VOID;
    else if ((rk == MFFI__V_SINT || rk == MFFI__V_UINT) &&
             rsz < sizeof(ffi_arg))
      p->rmode = rk == MFFI__V_SINT ? RM_SINT : RM_UINT;
    else
      p->rmode = rsz > FFI_RBUF ? RM_BIG : RM_EXACT;
  }
  for (uint32_t i = 0; i < plan->nargs; i++) {
    const mffi__aplan *a = &plan->args[i];
    const mffi__piece *c = &plan->pieces[a->first];
    uint8_t cv = a->prom;
    if (i == plan->nfixed) kfixed = k;
    if (words && a->npieces == 1 && c->loc == MFFI__LOC_STACK) {
      size_t sz;
      mffi__value_kind(tt, a->tid, &sz);
      p->stk[p->nstk++] =
          (ffi_stk){(uint16_t)i, cv, a->csize, c->at, (uint32_t)sz};
      continue;
    }
    if (a->npieces && c->conv == MFFI__CV_REF) { /* ms_abi: by reference. */
      p->atypes[h + k] = &ffi_type_pointer;
      p->map[k++] = (ffi_arg_map){(uint16_t)i, CV_REF, 0, 0};
      continue;
    }
    if (ffi_split(tt, plan, a)) {
      for (uint32_t j = 0; j < a->npieces; j++, c++) {
        p->atypes[h + k] =
            c->loc == MFFI__LOC_FP ? &ffi_type_double : &ffi_type_uint64;
        p->map[k++] = (ffi_arg_map){(uint16_t)i, CV_PART, (uint8_t)c->off,
                                    (uint8_t)c->len};
      }
      continue;
    }
    rc = ffi_plan_type(ctx, &p->own, plan, a->tid, false, &p->atypes[h + k]);
    if (rc != MFFI_OK) goto fail;
    p->map[k++] = (ffi_arg_map){(uint16_t)i, cv, a->csize, 0};
  }
  if (plan->nfixed >= plan->nargs) kfixed = k;
  if (words) {
    for (unsigned w = 0; w < plan->nfill; w++) {
      p->atypes[h + k] = &ffi_type_uint64;
      p->map[k++] = (ffi_arg_map){0, CV_ZERO, 0, 0};
    }
    for (size_t w = 0; w < sbytes / 8; w++) {
      p->atypes[h + k] = &ffi_type_uint64;
      p->map[k++] = (ffi_arg_map){(uint16_t)w, CV_WORD, 0, 0};
    }
    p->sbytes = (uint32_t)sbytes;
    if (kfixed > k) kfixed = k;
  }
  p->nffi = k;
  ffi_status st;
  if (plan->variadic)
    st = ffi_prep_cif_var(&p->cif, ffi_abi_of(plan), h + kfixed, h + k, rtype,
                          p->atypes);
  else
    st = ffi_prep_cif(&p->cif, ffi_abi_of(plan), h + k, rtype, p->atypes);
  if (st != FFI_OK) {
    rc = ffi_status_err(ctx, st);
    goto fail;
  }
  *out = p;
  return MFFI_OK;
fail:
  mffi__ffi_free(ctx, p);
  return rc;
}

void mffi__ffi_free(mffi_ctx *ctx, mffi__ffi *p) {
  if (!p) return;
  ffi_own_free(ctx, &p->own);
  mffi__cplan_free(p->plan);
  mffi__free(ctx, p);
}

typedef union ffi_slot {
  int i;
  unsigned u;
  double d;
  uint64_t q;
} ffi_slot;

/* Words mode: build the stack image of a call. */
static void ffi_stack_image(const mffi__ffi *p, void *const *args,
                            unsigned char *img) {
  memset(img, 0, p->sbytes);
  for (uint32_t i = 0; i < p->nstk; i++) {
    const ffi_stk *s = &p->stk[i];
    const void *a = args[s->arg];
    unsigned char *d = img + s->off;
    if (s->conv == CV_F2D) {
      float f;
      memcpy(&f, a, sizeof f);
      double x = f;
      memcpy(d, &x, sizeof x);
    } else if (s->conv == CV_SEXT || s->conv == CV_ZEXT) {
      int64_t v =
          s->conv == CV_SEXT
              ? (s->csize == 1 ? *(const signed char *)a : *(const short *)a)
              : (s->csize == 1 ? *(const unsigned char *)a
                               : *(const unsigned short *)a);
      memcpy(d, &v, sizeof v);
    } else {
      memcpy(d, a, s->size);
    }
  }
}

/* Run the prepared call p; ret as mffi_call's (may be NULL). */
static int ffi_run(mffi_fn *fn, const mffi__ffi *p, void *ret,
                   void *const *args) {
  void *av[p->nffi + 1];
  ffi_slot cv[p->nffi + 1];
  uint64_t img[p->sbytes ? p->sbytes / 8 : 1];
  if (p->sbytes) ffi_stack_image(p, args, (unsigned char *)img);
  const mffi__cplan *plan = p->plan;
  uint64_t rbuf[plan->rbytes ? (plan->rbytes + plan->salign) / 8 : 1];
  uintptr_t ra = plan->salign;
  unsigned char *refs =
      (unsigned char *)(((uintptr_t)rbuf + ra - 1) & ~(ra - 1));
  unsigned h = 0;
  void *hidden = ret;
  if (p->rmode == RM_MEM) av[h++] = &hidden;
  for (uint32_t k = 0; k < p->nffi; k++) {
    const ffi_arg_map *m = &p->map[k];
    if (m->conv == CV_ZERO || m->conv == CV_WORD) {
      av[h + k] = m->conv == CV_ZERO ? (void *)&ffi_zero_word : &img[m->arg];
      continue;
    }
    const void *a = args[m->arg];
    switch (m->conv) {
    case CV_F2D: {
      float f;
      memcpy(&f, a, sizeof f);
      cv[k].d = f;
      a = &cv[k];
      break;
    }
    case CV_SEXT:
      cv[k].i = m->off == 1   ? *(const signed char *)a
                : m->off == 2 ? *(const short *)a
                              : *(const int *)a;
      a = &cv[k];
      break;
    case CV_ZEXT:
      cv[k].u = m->off == 1   ? *(const unsigned char *)a
                : m->off == 2 ? *(const unsigned short *)a
                              : *(const unsigned *)a;
      a = &cv[k];
      break;
    case CV_PART:
      cv[k].q = mffi__load_bytes((const unsigned char *)a + m->off, m->len);
      a = &cv[k];
      break;
    case CV_REF: { /* The copy the callee may change, and its address. */
      const mffi__piece *c = &plan->pieces[plan->args[m->arg].first];
      memcpy(refs + c->off, a, c->len);
      cv[k].q = (uint64_t)(uintptr_t)(refs + c->off);
      a = &cv[k];
      break;
    }
    default: break;
    }
    av[h + k] = (void *)a;
  }
  union {
    ffi_arg a;
    long double ld;
    uint64_t u[4];
    unsigned char b[32];
  } rb;
  ffi_call((ffi_cif *)&p->cif, FFI_FN(fn->addr),
           p->rmode == RM_VOID  ? NULL
           : p->rmode == RM_BIG ? ret
                                : (void *)&rb,
           av);
  mffi__errno_save();
  if (!ret) return MFFI_OK;
  switch (p->rmode) {
  case RM_SINT:
  case RM_UINT: {
    /* Narrow the widened value: a conversion, right on any byte order. */
    ffi_arg v = rb.a;
    if (p->rsize == 1)
      *(unsigned char *)ret = (unsigned char)v;
    else if (p->rsize == 2) {
      uint16_t x = (uint16_t)v;
      memcpy(ret, &x, 2);
    } else {
      uint32_t x = (uint32_t)v;
      memcpy(ret, &x, 4);
    }
    break;
  }
  case RM_EXACT: memcpy(ret, rb.b, p->rsize); break;
  default: break;
  }
  return MFFI_OK;
}

/* ffi_run with the plan found again, for mffi__call_scratch. */
static int ffi_run_fn(mffi_fn *fn, void *ret, void *const *args) {
  return ffi_run(fn, fn->data, ret, args);
}

int mffi__ffi_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi__ffi *p = fn->data;
  if (!args && p->nargs) return mffi__err(p->ctx, MFFI_EMISUSE, "args is NULL");
  /* A memory-class return with no buffer from the caller: bounded scratch. */
  if (!ret && (p->rmode == RM_MEM || p->rmode == RM_BIG))
    return mffi__call_scratch(fn, p->ctx, p->rsize, p->ralign, ffi_run_fn,
                              args);
  return ffi_run(fn, p, ret, args);
}

/* -- Closures -------------------------------------------------------------- */

typedef struct ffi_clo {
  ffi_closure *fc;   /* NULL when the closure runs on the plan (pc). */
  void *code;        /* fc's code pointer. */
  mffi__ffi *plan;
  mffi__pclo *pc;    /* The plan's closure (x86_64_closure.c), or NULL. */
} ffi_clo;

/* One reassembled register aggregate, or a narrowed variadic value. */
typedef struct ffi_agg16 {
  _Alignas(16) unsigned char b[16];
} ffi_agg16;

/* The value the caller passed at a, promoted (a variadic argument), as
** the type the handler expects: narrowed into t. */
static void *ffi_narrow(uint8_t conv, uint8_t csize, void *a,
                        unsigned char *t) {
  if (conv == CV_F2D) {
    double d;
    memcpy(&d, a, sizeof d);
    float f = (float)d;
    memcpy(t, &f, sizeof f);
    return t;
  }
  /* Integers: the conversion, right on any byte order. */
  int v;
  memcpy(&v, a, sizeof v);
  if (csize == 1) {
    unsigned char x = (unsigned char)v;
    memcpy(t, &x, 1);
  } else {
    uint16_t x = (uint16_t)v;
    memcpy(t, &x, 2);
  }
  return t;
}

/* libffi's entry: put the caller's arguments back together (register
** aggregates arrive as their register pieces, see ffi_split; promoted
** variadic values are narrowed), run the handler and store its result as
** libffi wants. */
static void ffi_clo_entry(ffi_cif *cif, void *ret, void **fargs, void *ud) {
  (void)cif;
  mffi_closure *c = ud;
  const mffi__ffi *p = ((ffi_clo *)c->data)->plan;
  unsigned h = p->rmode == RM_MEM ? 1 : 0;
  uint32_t n = p->nargs ? p->nargs : 1;
  void *args[n];
  ffi_agg16 tmp[n];
  unsigned char *stack = NULL;
  for (uint32_t k = 0; k < p->nffi; k++) {
    const ffi_arg_map *m = &p->map[k];
    void *a = fargs[h + k];
    switch (m->conv) {
    case CV_PART:
      memcpy(tmp[m->arg].b + m->off, a, m->len);
      args[m->arg] = tmp[m->arg].b;
      break;
    case CV_ZERO: break;
    case CV_WORD:
      if (m->arg == 0) stack = a; /* The caller's stack area. */
      break;
    case CV_REF: args[m->arg] = *(void **)a; break; /* The caller's copy. */
    case CV_F2D:
    case CV_SEXT:
    case CV_ZEXT:
      args[m->arg] = ffi_narrow(m->conv, m->off, a, tmp[m->arg].b);
      break;
    default: args[m->arg] = a; break;
    }
  }
  for (uint32_t i = 0; i < p->nstk; i++) {
    const ffi_stk *s = &p->stk[i];
    void *a = stack + s->off;
    args[s->arg] = s->conv == CV_NONE
                       ? a
                       : ffi_narrow(s->conv, s->csize, a, tmp[s->arg].b);
  }
  switch (p->rmode) {
  case RM_VOID: mffi_closure_invoke(c, NULL, args); break;
  case RM_MEM: {
    void *dst = *(void **)fargs[0];
    memset(dst, 0, p->rsize);
    mffi_closure_invoke(c, dst, args);
    *(void **)ret = dst;
    break;
  }
  case RM_SINT:
  case RM_UINT: {
    union {
      int8_t s8;
      int16_t s16;
      int32_t s32;
      uint8_t u8;
      uint16_t u16;
      uint32_t u32;
      unsigned char b[8];
    } v;
    memset(&v, 0, sizeof v);
    mffi_closure_invoke(c, v.b, args);
    ffi_arg w;
    if (p->rmode == RM_SINT)
      w = (ffi_arg)(p->rsize == 1 ? v.s8 : p->rsize == 2 ? v.s16 : v.s32);
    else
      w = p->rsize == 1 ? v.u8 : p->rsize == 2 ? v.u16 : v.u32;
    *(ffi_arg *)ret = w;
    break;
  }
  default:
    memset(ret, 0, p->rsize);
    mffi_closure_invoke(c, ret, args);
    break;
  }
}

/* Closures taken in advance (mffi__ffi_closure_reserve): a LIFO of libffi
** closures with their code pointers. */
typedef struct ffi_spare {
  ffi_closure *fc;
  void *code;
} ffi_spare;
static ffi_spare *ffi_spares;
static size_t ffi_nspares, ffi_capspares; /* capspares > 0: pool in use. */

int mffi__ffi_closure_reserve(mffi_ctx *ctx, size_t n) {
  if (ffi_capspares || n == 0) return MFFI_EMISUSE;
#ifdef MFFI__ABI_X64_SYSV
  /* Plan closures first; when they cannot be had, libffi's serve all. */
  (void)mffi__pclo_reserve(n);
#endif
  ffi_spares = mffi__calloc(ctx, n * sizeof *ffi_spares);
  if (!ffi_spares) return mffi__nomem(ctx);
  ffi_capspares = n;
  for (; ffi_nspares < n; ffi_nspares++) {
    ffi_spare *s = &ffi_spares[ffi_nspares];
    s->fc = ffi_closure_alloc(sizeof(ffi_closure), &s->code);
    if (!s->fc) return mffi__nomem(ctx);
  }
  return MFFI_OK;
}

int mffi__closure_reserve_full(mffi_ctx *ctx, size_t n) {
  return mffi__err(ctx, MFFI_ERANGE,
                   "all %zu callback trampolines are in use (raise "
                   "mffi_remote_opts.max_closures)",
                   n);
}

/* A closure from the reserve, or a new one when there is no reserve. */
static ffi_closure *ffi_closure_take(void **code) {
  if (!ffi_capspares) return ffi_closure_alloc(sizeof(ffi_closure), code);
  if (ffi_nspares == 0) return NULL;
  ffi_spare *s = &ffi_spares[--ffi_nspares];
  *code = s->code;
  return s->fc;
}

static void ffi_closure_give(ffi_closure *fc, void *code) {
  if (!ffi_capspares) {
    ffi_closure_free(fc);
    return;
  }
  ffi_spares[ffi_nspares].fc = fc;
  ffi_spares[ffi_nspares++].code = code;
}

/* The closure's plan, in ffi_clo. */
static int ffi_clo_plan(mffi_closure *c, mffi__cplan **out) {
  mffi_ctx *ctx = c->lib->ctx;
  mffi_type *ft = mffi__B(&ctx->tt, c->tid);
  int rc = mffi__value_check(ctx, ft->child, true);
  for (uint32_t i = 0; rc == MFFI_OK && i < c->nargs; i++)
    rc = mffi__value_check(ctx, c->args[i], false);
  if (rc != MFFI_OK) return rc;
  mffi__sig sig = mffi__sig_of(ctx, ft, c->args, c->nargs, c->variadic);
  return mffi__abi_plan(&sig, out);
}

int mffi__ffi_closure(mffi_closure *c) {
  mffi_ctx *ctx = c->lib->ctx;
  ffi_clo *st = mffi__calloc(ctx, sizeof *st);
  if (!st) return mffi__nomem(ctx);
  mffi__cplan *plan = NULL;
  int rc = ffi_clo_plan(c, &plan);
  if (rc != MFFI_OK) {
    mffi__free(ctx, st);
    return rc;
  }
#ifdef MFFI__ABI_X64_SYSV
  if (!(c->lib->flags & MFFI_OPEN_FFI_ONLY)) {
    void *code = NULL;
    rc = mffi__pclo_new(c, plan, &st->pc, &code);
    if (rc == MFFI_OK) {
      c->data = st;
      c->code = code;
      return MFFI_OK;
    }
    if (rc != 1) {
      mffi__cplan_free(plan);
      mffi__free(ctx, st);
      return rc;
    }
  }
#endif
  rc = mffi__ffi_prepare(plan, &st->plan);
  if (rc != MFFI_OK) {
    mffi__free(ctx, st);
    return rc;
  }
  void *code = NULL;
  st->fc = ffi_closure_take(&code);
  if (!st->fc) {
    mffi__ffi_free(ctx, st->plan);
    mffi__free(ctx, st);
    if (ffi_capspares) return mffi__closure_reserve_full(ctx, ffi_capspares);
    return mffi__nomem(ctx);
  }
  st->code = code;
  ffi_status fs =
      ffi_prep_closure_loc(st->fc, &st->plan->cif, ffi_clo_entry, c, code);
  if (fs != FFI_OK) {
    ffi_closure_give(st->fc, code);
    mffi__ffi_free(ctx, st->plan);
    mffi__free(ctx, st);
    return ffi_status_err(ctx, fs);
  }
  c->data = st;
  c->code = code;
  return MFFI_OK;
}

void mffi__ffi_closure_free(mffi_closure *c) {
  ffi_clo *st = c->data;
  if (!st) return;
  mffi_ctx *ctx = c->lib->ctx;
#ifdef MFFI__ABI_X64_SYSV
  mffi__pclo_free(ctx, st->pc);
#endif
  if (st->fc) ffi_closure_give(st->fc, st->code);
  mffi__ffi_free(ctx, st->plan);
  mffi__free(ctx, st);
  c->data = NULL;
}
