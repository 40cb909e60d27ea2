/* Call engine: how each type travels as a value. See LICENSE. */
#include "call/call.h"

/* Whether a vector over 16 bytes is in tid (itself, a member, an element):
** such a value travels in AVX registers or in memory depending on how the
** library was compiled (-mavx), which the caller cannot know. */
static bool value_wide_vector(const mffi__tt *tt, mffi__tid tid) {
  const mffi_type *t = mffi__type_scalar(tt, tid);
  if (t->kind == MFFI_KIND_ARRAY)
    return (t->flags & MFFI_TF_VECTOR) ? t->size > 16
                                       : value_wide_vector(tt, t->child);
  if (t->kind != MFFI_KIND_STRUCT && t->kind != MFFI_KIND_UNION) return false;
  if (!(t->flags & MFFI_TF_HASVEC)) return false;
  for (uint32_t i = 0; i < t->nmembers; i++)
    if (value_wide_vector(tt, t->members[i].tid)) return true;
  return false;
}

/* The types only an ABI module that classifies them can pass: vectors,
** _Float16 and _Float128 (SSE registers, 16 bytes wide for some), complex
** long double (the x87 stack). The generic module leaves them to libffi,
** which has no description of them. */
#ifdef MFFI__ABI_X64_SYSV
#define VALUE_ABI_KIND MFFI__V_AGG
#else
#define VALUE_ABI_KIND MFFI__V_BAD
#endif

mffi__vkind mffi__value_kind(const mffi__tt *tt, mffi__tid tid, size_t *size) {
  mffi_type *t = mffi__type_scalar(tt, tid);
  *size = t->size;
  switch ((mffi_kind)t->kind) {
  case MFFI_KIND_VOID: return MFFI__V_VOID;
  case MFFI_KIND_BOOL:
  case MFFI_KIND_CHAR:
  case MFFI_KIND_SCHAR:
  case MFFI_KIND_UCHAR:
  case MFFI_KIND_SHORT:
  case MFFI_KIND_USHORT:
  case MFFI_KIND_INT:
  case MFFI_KIND_UINT:
  case MFFI_KIND_LONG:
  case MFFI_KIND_ULONG:
  case MFFI_KIND_LLONG:
  case MFFI_KIND_ULLONG:
    return mffi__kind_is_signed(tt, (mffi_kind)t->kind) ? MFFI__V_SINT
                                                         : MFFI__V_UINT;
  case MFFI_KIND_POINTER: return MFFI__V_UINT;
  case MFFI_KIND_VALIST: /* Decays to a pointer as a parameter. */
    *size = sizeof(void *);
    return MFFI__V_UINT;
  case MFFI_KIND_INT128:
  case MFFI_KIND_UINT128: return MFFI__V_INT128;
  case MFFI_KIND_FLOAT: return MFFI__V_FLOAT;
  case MFFI_KIND_DOUBLE: return MFFI__V_DOUBLE;
  case MFFI_KIND_LDOUBLE: return MFFI__V_LDOUBLE;
  case MFFI_KIND_FLOAT16:
  case MFFI_KIND_FLOAT128: return VALUE_ABI_KIND;
  case MFFI_KIND_COMPLEX: {
    mffi_type *c = mffi__B(tt, t->child);
    /* GNU complex integers are two integers side by side, as a struct. */
    if (c->kind == MFFI_KIND_FLOAT || c->kind == MFFI_KIND_DOUBLE ||
        (mffi__kind_is_int((mffi_kind)c->kind) && c->kind != MFFI_KIND_BOOL))
      return MFFI__V_AGG;
    if (c->kind == MFFI_KIND_LDOUBLE || c->kind == MFFI_KIND_FLOAT16)
      return VALUE_ABI_KIND;
    return MFFI__V_BAD;
  }
  case MFFI_KIND_ARRAY: /* Only a vector is a value. */
    if (!(t->flags & MFFI_TF_VECTOR) || t->size > 16) return MFFI__V_BAD;
    return VALUE_ABI_KIND;
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
    if (!(t->flags & MFFI_TF_COMPLETE) || t->size == 0) return MFFI__V_BAD;
    if (t->size > MFFI__MAX_BYVALUE) return MFFI__V_BAD;
    if (t->flags & MFFI_TF_HASVEC)
      return value_wide_vector(tt, tid) ? MFFI__V_BAD : VALUE_ABI_KIND;
    return MFFI__V_AGG;
  default: return MFFI__V_BAD;
  }
}

int mffi__value_check(mffi_ctx *ctx, mffi__tid tid, bool is_ret) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(&ctx->tt, tid, &sz);
  if (k == MFFI__V_VOID && !is_ret)
    return mffi__err(ctx, MFFI_EMISUSE, "a parameter cannot be void");
  if (k != MFFI__V_BAD) return MFFI_OK;
  char buf[128];
  mffi_type_str(ctx->tt.types[tid], NULL, buf, sizeof buf);
  mffi_type *t = mffi__type_scalar(&ctx->tt, tid);
  if ((t->kind == MFFI_KIND_STRUCT || t->kind == MFFI_KIND_UNION) &&
      !(t->flags & MFFI_TF_COMPLETE))
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "cannot pass incomplete type '%s' by value", buf);
  const char *verb = is_ret ? "return" : "pass";
  if (value_wide_vector(&ctx->tt, tid))
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "cannot %s '%s' by value: it is or holds a vector of "
                     "over 16 bytes, which travels in AVX registers or in "
                     "memory depending on how the library was compiled",
                     verb, buf);
  if ((t->kind == MFFI_KIND_STRUCT || t->kind == MFFI_KIND_UNION) &&
      t->size > MFFI__MAX_BYVALUE)
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "cannot %s '%s' by value: %zu bytes is over the limit "
                     "of %d",
                     verb, buf, t->size,
                     MFFI__MAX_BYVALUE);
#ifndef MFFI__ABI_X64_SYSV
  if (t->kind == MFFI_KIND_FLOAT16 || t->kind == MFFI_KIND_FLOAT128 ||
      t->kind == MFFI_KIND_COMPLEX || (t->flags & MFFI_TF_VECTOR) ||
      (t->flags & MFFI_TF_HASVEC))
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "cannot %s '%s' by value: this target's call engine "
                     "(libffi) has no description of it",
                     verb, buf);
#endif
  return mffi__err(ctx, MFFI_EUNSUPPORTED, "cannot %s type '%s' by value",
                   verb, buf);
}

mffi__tid mffi__promote(const mffi__tt *tt, mffi__tid tid) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(tt, tid, &sz);
  if (k == MFFI__V_FLOAT) return MFFI_KIND_DOUBLE;
  if ((k == MFFI__V_SINT || k == MFFI__V_UINT) && sz < 4) return MFFI_KIND_INT;
  return tid;
}

int mffi__call_scratch(mffi_fn *fn, mffi_ctx *ctx, size_t size, size_t align,
                       int (*run)(mffi_fn *, void *, void *const *),
                       void *const *args) {
  if (align == 0 || align > 16) align = 16;
  if (size <= MFFI__DISCARD_STACK) {
    _Alignas(16) unsigned char buf[MFFI__DISCARD_STACK];
    return run(fn, buf, args);
  }
  /* The allocator's blocks are aligned for max_align_t (16 on x86-64). */
  unsigned char *heap = mffi__malloc(ctx, size + align);
  if (!heap) return mffi__nomem(ctx);
  void *at = (void *)(((uintptr_t)heap + align - 1) & ~(uintptr_t)(align - 1));
  int rc = run(fn, at, args);
  mffi__free(ctx, heap);
  return rc;
}

mffi__cplan *mffi__cplan_new(const mffi__sig *sig, uint32_t maxpieces) {
  mffi_ctx *ctx = sig->ctx;
  const mffi__tt *tt = &ctx->tt;
  size_t sz = sizeof(mffi__cplan) + sig->nargs * sizeof(mffi__aplan) +
              maxpieces * sizeof(mffi__piece);
  mffi__cplan *p = mffi__calloc(ctx, sz);
  if (!p) {
    mffi__nomem(ctx);
    return NULL;
  }
  p->ctx = ctx;
  p->nargs = sig->nargs;
  p->nfixed = sig->nfixed;
  p->variadic = sig->variadic;
  p->msabi = sig->msabi;
  p->args = (mffi__aplan *)(p + 1);
  p->pieces = (mffi__piece *)(p->args + sig->nargs);
  p->ret = sig->ret;
  size_t rsz;
  mffi__value_kind(tt, sig->ret, &rsz);
  p->rsize = (uint32_t)rsz;
  p->ralign = mffi__align(tt, sig->ret);
  p->salign = 16;
  for (uint32_t i = 0; i < sig->nargs; i++) {
    mffi__aplan *a = &p->args[i];
    a->tid = sig->args[i];
    a->prom = MFFI__CV_COPY;
    if (i < sig->nfixed) continue;
    /* C11 6.5.2.2p7: default promotions past the prototype. */
    size_t asz;
    mffi__vkind k = mffi__value_kind(tt, a->tid, &asz);
    mffi__tid pt = mffi__promote(tt, a->tid);
    if (pt == a->tid) continue;
    a->prom = k == MFFI__V_FLOAT  ? MFFI__CV_F2D
              : k == MFFI__V_SINT ? MFFI__CV_SEXT
                                  : MFFI__CV_ZEXT;
    a->csize = (uint8_t)asz;
    a->tid = pt;
  }
  return p;
}

void mffi__cplan_free(mffi__cplan *p) {
  if (p) mffi__free(p->ctx, p);
}
