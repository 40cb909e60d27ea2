/* x86-64 System V calls: classifier and call plans. See LICENSE.
**
** The classifier follows the SysV x86-64 psABI, section 3.2.3: each
** eightbyte of a value gets a class (INTEGER, SSE, SSEUP, X87, X87UP,
** COMPLEX_X87, MEMORY or NO_CLASS), members merge into the eightbytes they
** overlap, then the post-merger cleanup applies. mffi__abi_plan turns the
** classes into a plan (call.h): integer registers are %rdi, %rsi, %rdx,
** %rcx, %r8, %r9 (numbers 0-5), SSE ones %xmm0-7, returns come in %rax:%rdx,
** %xmm0:%xmm1 or %st0:%st1, and the rest goes to the stack area in
** argument order (psABI 3.2.3, "Passing"). x86_64_fast.c runs the plans.
*/
#include <string.h>

#include "call/call.h"

#ifdef MFFI__ABI_X64_SYSV

/* -- Classifier (psABI 3.2.3) ---------------------------------------------- */

enum {
  C_NO,    /* NO_CLASS: padding or empty. */
  C_INT,   /* INTEGER: general purpose registers. */
  C_SSE,   /* SSE: the low eightbyte of a vector register. */
  C_SSEUP, /* SSEUP: its upper half. */
  C_X87,   /* X87, X87UP: long double, returned on the x87 stack. */
  C_X87UP,
  C_CX87, /* COMPLEX_X87: complex long double. */
  C_MEM   /* MEMORY: passed and returned through memory. */
};

/* psABI 3.2.3, merging rule (4). */
static int x64_merge(int a, int b) {
  if (a == b) return a;
  if (a == C_NO) return b;
  if (b == C_NO) return a;
  if (a == C_MEM || b == C_MEM) return C_MEM;
  if (a == C_INT || b == C_INT) return C_INT;
  if (a == C_X87 || a == C_X87UP || a == C_CX87 || b == C_X87 || b == C_X87UP ||
      b == C_CX87)
    return C_MEM;
  return C_SSE;
}

static void x64_put(int cls[2], size_t off, int c) {
  cls[off / 8] = x64_merge(cls[off / 8], c);
}

/* Classify GCC vector t (at most 16 bytes) at byte offset off, as GCC 12
** does by the vector's machine mode (checked against gcc by test_dynamic):
** one floating element has no vector mode, so goes in memory; up to 4 bytes
** of integers are INTEGER; 8 bytes are one SSE eightbyte, 16 bytes an SSE
** register whole (SSE, SSEUP). */
static bool x64_vector(const mffi__tt *tt, const mffi_type *t, size_t off,
                       int cls[2]) {
  const mffi_type *e = mffi__type_scalar(tt, t->child);
  bool fp = mffi__kind_is_float((mffi_kind)e->kind);
  if ((fp && e->size == t->size) || t->size > 16 || off % t->align)
    return false;
  if (t->size <= 4 && !fp) {
    x64_put(cls, off, C_INT);
  } else {
    x64_put(cls, off, C_SSE);
    if (t->size == 16) x64_put(cls, off + 8, C_SSEUP);
  }
  return true;
}

/* Classify the object of type tid at byte offset off of a value of at most
** 16 bytes. Returns false if it forces MEMORY (an unaligned field). */
static bool x64_walk(const mffi__tt *tt, mffi__tid tid, size_t off,
                     int cls[2]) {
  mffi_type *t = mffi__type_scalar(tt, tid);
  size_t align = t->align ? t->align : 1;
  switch ((mffi_kind)t->kind) {
  case MFFI_KIND_VOID: return true;
  case MFFI_KIND_FLOAT:
  case MFFI_KIND_DOUBLE:
  case MFFI_KIND_FLOAT16:
    if (off % align) return false;
    x64_put(cls, off, C_SSE);
    return true;
  case MFFI_KIND_FLOAT128:
    if (off % 16) return false;
    x64_put(cls, 0, C_SSE);
    x64_put(cls, 8, C_SSEUP);
    return true;
  case MFFI_KIND_LDOUBLE:
    if (off % 16) return false;
    x64_put(cls, 0, C_X87);
    x64_put(cls, 8, C_X87UP);
    return true;
  case MFFI_KIND_INT128:
  case MFFI_KIND_UINT128:
    if (off % 16) return false;
    x64_put(cls, 0, C_INT);
    x64_put(cls, 8, C_INT);
    return true;
  case MFFI_KIND_COMPLEX: {
    mffi_type *c = mffi__B(tt, t->child);
    if (c->kind == MFFI_KIND_LDOUBLE) return false;
    if (!x64_walk(tt, c->id, off, cls)) return false;
    return x64_walk(tt, c->id, off + c->size, cls);
  }
  case MFFI_KIND_ARRAY: {
    if (t->flags & MFFI_TF_VECTOR) return x64_vector(tt, t, off, cls);
    mffi_type *e = mffi__B(tt, t->child);
    if (t->length <= 0 || e->size == 0) return true;
    for (long i = 0; i < t->length; i++)
      if (!x64_walk(tt, e->id, off + (size_t)i * e->size, cls)) return false;
    return true;
  }
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
    for (uint32_t i = 0; i < t->nmembers; i++) {
      const mffi__member *m = &t->members[i];
      if (m->bit_width == 0) continue;
      if (m->bit_width > 0) {
        /* Bit-fields are INTEGER over the bytes they cover. */
        size_t lo = off * 8 + m->bit_offset;
        size_t hi = lo + (size_t)m->bit_width - 1;
        if (hi / 64 > 1) return false;
        for (size_t w = lo / 64; w <= hi / 64; w++)
          x64_put(cls, w * 8, C_INT);
        continue;
      }
      if (!x64_walk(tt, m->tid, off + m->offset, cls)) return false;
    }
    return true;
  case MFFI_KIND_VALIST:
  case MFFI_KIND_FUNCTION: return false;
  default: /* Integers, pointers, enums. */
    if (off % align) return false;
    x64_put(cls, off, C_INT);
    return true;
  }
}

/* Classify a value of type tid: the number of eightbytes (0-2) with their
** classes in cls, or -1 for MEMORY. X87 classes are kept for the caller to
** decide (arguments: memory; returns: %st0). */
static int x64_classify(const mffi__tt *tt, mffi__tid tid, int cls[2]) {
  mffi_type *t = mffi__type_scalar(tt, tid);
  cls[0] = cls[1] = C_NO;
  if (t->size > 16) return -1; /* No __m256 here: rule 5(c). */
  if (t->size == 0) return 0;
  if (!x64_walk(tt, tid, 0, cls)) return -1;
  int n = (int)((t->size + 7) / 8);
  for (int i = 0; i < n; i++) { /* Post-merger cleanup, rule 5. */
    if (cls[i] == C_MEM) return -1;
    if (cls[i] == C_X87UP && (i == 0 || cls[i - 1] != C_X87)) return -1;
    if (cls[i] == C_SSEUP &&
        (i == 0 || (cls[i - 1] != C_SSE && cls[i - 1] != C_SSEUP)))
      cls[i] = C_SSE;
  }
  return n;
}

/* The integer and SSE registers the n classified eightbytes of an argument
** need; false if one of them cannot travel in a register (X87: the
** argument goes in memory). SSEUP rides in its SSE eightbyte's register. */
static bool x64_regs_needed(const int *cls, int n, int *needg, int *needs) {
  *needg = *needs = 0;
  for (int j = 0; j < n; j++) {
    if (cls[j] == C_INT)
      ++*needg;
    else if (cls[j] == C_SSE)
      ++*needs;
    else if (cls[j] != C_NO && cls[j] != C_SSEUP)
      return false;
  }
  return true;
}

/* -- Plans ---------------------------------------------------------------- */

#define X64_NGPR 6         /* Integer argument registers. */
#define X64_NSSE 8         /* SSE argument registers. */
#define X64_MAX_STACK 65536 /* Max. stack area the call routine builds. */

/* The conversion of an integer scalar of sz bytes into a register. */
static uint8_t x64_int_conv(mffi__vkind k, size_t sz) {
  if (sz >= 8) return MFFI__CV_COPY;
  return k == MFFI__V_SINT ? MFFI__CV_SEXT : MFFI__CV_ZEXT;
}

/* Whether tid is complex long double (COMPLEX_X87: returned in %st0 and
** %st1, passed in memory). */
static bool x64_is_cx87(const mffi__tt *tt, mffi__tid tid) {
  const mffi_type *t = mffi__type_scalar(tt, tid);
  return t->kind == MFFI_KIND_COMPLEX &&
         mffi__B(tt, t->child)->kind == MFFI_KIND_LDOUBLE;
}

/* The return value's pieces; false if the plan cannot say (an empty
** eightbyte before a used one). */
static bool x64_plan_ret(const mffi__tt *tt, mffi__cplan *p) {
  size_t sz;
  int cls[2];
  mffi__vkind k = mffi__value_kind(tt, p->ret, &sz);
  mffi__piece *r = p->rp;
  switch (k) {
  case MFFI__V_VOID: return true;
  case MFFI__V_SINT:
  case MFFI__V_UINT:
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_INT, 0, 0, 0, (uint32_t)sz, 0};
    return true;
  case MFFI__V_FLOAT:
  case MFFI__V_DOUBLE:
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_FP, 0, 0, 0, (uint32_t)sz, 0};
    return true;
  case MFFI__V_LDOUBLE:
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_X87, 0, 0, 0, (uint32_t)sz, 0};
    return true;
  case MFFI__V_INT128:
  case MFFI__V_AGG: break;
  default: return false;
  }
  if (x64_is_cx87(tt, p->ret)) { /* Real part in %st0, imaginary in %st1. */
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_X87, 0, 0, 0, 16, 0};
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_X87, 0, 1, 16, 16, 0};
    return true;
  }
  int n = x64_classify(tt, p->ret, cls);
  if (n < 0) {
    p->ret_mem = true;
    return true;
  }
  if (n == 2 && cls[0] == C_X87 && cls[1] == C_X87UP) { /* { long double } */
    r[p->nret++] = (mffi__piece){0, MFFI__LOC_X87, 0, 0, 0, (uint32_t)sz, 0};
    return true;
  }
  uint32_t ni = 0, ns = 0;
  bool gap = false;
  for (int j = 0; j < n; j++) {
    uint32_t off = (uint32_t)j * 8;
    uint32_t len = sz - off < 8 ? (uint32_t)(sz - off) : 8;
    if (cls[j] == C_NO) {
      gap = true;
      continue;
    }
    if (cls[j] == C_SSEUP && !gap) { /* The upper half of one register. */
      r[p->nret - 1].len += len;
      continue;
    }
    if (gap || (cls[j] != C_INT && cls[j] != C_SSE)) return false;
    bool sse = cls[j] == C_SSE;
    r[p->nret++] =
        (mffi__piece){0, sse ? MFFI__LOC_FP : MFFI__LOC_INT, MFFI__CV_COPY,
                      sse ? ns++ : ni++, off, len, 0};
  }
  return true;
}

int mffi__abi_plan(const mffi__sig *sig, mffi__cplan **out) {
  if (sig->msabi) return mffi__abi_plan_ms(sig, out);
  const mffi__tt *tt = &sig->ctx->tt;
  *out = NULL;
  mffi__cplan *p = mffi__cplan_new(sig, 2 * sig->nargs);
  if (!p) return MFFI_ENOMEM;
  p->runnable = x64_plan_ret(tt, p);
  uint32_t ngpr = p->ret_mem ? 1 : 0, nsse = 0, np = 0;
  size_t off = 0;
  for (uint32_t i = 0; i < sig->nargs; i++) {
    mffi__aplan *a = &p->args[i];
    mffi__piece *pc = &p->pieces[np];
    a->first = np;
    size_t sz, al = 8;
    int cls[2];
    mffi__vkind k = mffi__value_kind(tt, a->tid, &sz);
    /* A promoted argument is read at the caller's size. */
    uint32_t len = a->prom != MFFI__CV_COPY ? a->csize : (uint32_t)sz;
    switch (k) {
    case MFFI__V_SINT:
    case MFFI__V_UINT: {
      uint8_t cv = a->prom != MFFI__CV_COPY ? a->prom : x64_int_conv(k, sz);
      *pc = (mffi__piece){(uint16_t)i, MFFI__LOC_INT, cv, ngpr, 0, len, 0};
      if (ngpr < X64_NGPR) {
        ngpr++;
        a->npieces = 1;
        np++;
        continue;
      }
      sz = 8;
      break;
    }
    case MFFI__V_FLOAT:
    case MFFI__V_DOUBLE:
      *pc = (mffi__piece){(uint16_t)i, MFFI__LOC_FP, a->prom, nsse, 0, len, 0};
      if (nsse < X64_NSSE) {
        nsse++;
        a->npieces = 1;
        np++;
        continue;
      }
      sz = 8;
      break;
    case MFFI__V_LDOUBLE: /* X87 class arguments: memory. */
      *pc = (mffi__piece){(uint16_t)i, 0, MFFI__CV_COPY, 0, 0, len, 0};
      al = 16;
      break;
    case MFFI__V_INT128:
    case MFFI__V_AGG: {
      *pc = (mffi__piece){(uint16_t)i, 0, MFFI__CV_COPY, 0, 0, len, 0};
      int n = x64_classify(tt, a->tid, cls);
      if (n == 0) continue; /* Nothing to pass. */
      int g, x;
      if (n > 0 && x64_regs_needed(cls, n, &g, &x) &&
          ngpr + (uint32_t)g <= X64_NGPR && nsse + (uint32_t)x <= X64_NSSE) {
        bool gap = false;
        for (int j = 0; j < n; j++) {
          uint32_t o = (uint32_t)j * 8;
          if (cls[j] == C_NO) {
            gap = true;
            continue;
          }
          if (gap) p->runnable = false; /* Keep to what libffi did. */
          if (cls[j] == C_SSEUP) { /* The upper half of one register. */
            p->pieces[np - 1].len += sz - o < 8 ? (uint32_t)(sz - o) : 8;
            continue;
          }
          bool sse = cls[j] == C_SSE;
          p->pieces[np++] = (mffi__piece){
              (uint16_t)i,   sse ? MFFI__LOC_FP : MFFI__LOC_INT,
              MFFI__CV_COPY, sse ? nsse++ : ngpr++,
              o,             sz - o < 8 ? (uint32_t)(sz - o) : 8,
              0};
          a->npieces++;
        }
        continue;
      }
      /* Rule 5 and "if there are no registers available": memory, in
      ** the stack area, aligned to the type (at least eightbytes). */
      size_t ta = mffi__type_scalar(tt, a->tid)->align;
      if (ta > al) al = ta;
      break;
    }
    default: /* Refused before planning (mffi__value_check). */
      p->runnable = false;
      continue;
    }
    off = (off + al - 1) & ~(al - 1);
    pc->loc = MFFI__LOC_STACK;
    pc->at = (uint32_t)off;
    off += (sz + 7) & ~(size_t)7;
    a->npieces = 1;
    np++;
    if (al > 16) {
      p->over = true;
      if (i >= sig->nfixed) p->stack_abs = true;
    }
    if (al > p->salign) p->salign = (uint32_t)al;
  }
  p->npieces = np;
  p->sbytes = (uint32_t)((off + 15) & ~(size_t)15);
  p->nfp = nsse;
  p->nfill = (uint16_t)(X64_NGPR - ngpr);
  if (off > X64_MAX_STACK) p->runnable = false;
  *out = p;
  return MFFI_OK;
}

/* -- libffi descriptions --------------------------------------------------- */

/* libffi classifies a struct from its elements. We give it a flat element
** list built from our own classes, and preset size and alignment, so that
** it passes unions, bit-fields and unaligned members exactly as we do:
** an INTEGER eightbyte is a uint64 (or bytes for a short tail), an SSE one a
** double (or a float), and a MEMORY value gets a long double element, which
** libffi sends to memory as an argument. */
int mffi__abi_ffi_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out) {
  const mffi__tt *tt = &ctx->tt;
  mffi_type *t = mffi__type_scalar(tt, tid);
  int cls[2];
  if (x64_is_cx87(tt, tid)) {
    *out = &ffi_type_complex_longdouble;
    return MFFI_OK;
  }
  int n = x64_classify(tt, tid, cls);
  if (is_ret && n == 2 && cls[0] == C_X87) {
    *out = &ffi_type_longdouble; /* struct { long double }: %st0. */
    return MFFI_OK;
  }
  if (n > 0 && (cls[0] == C_X87 || cls[0] == C_CX87)) n = -1;
  ffi_type *ft = mffi__ffiown_alloc(ctx, own, sizeof *ft + 18 * sizeof(void *));
  if (!ft) return MFFI_ENOMEM;
  ffi_type **el = (ffi_type **)(ft + 1);
  size_t k = 0;
  ft->size = t->size;
  ft->alignment = (unsigned short)(t->align ? t->align : 1);
  ft->type = FFI_TYPE_STRUCT;
  ft->elements = el;
  if (n < 0) {
    el[k++] = &ffi_type_longdouble;
  } else {
    bool gap = false;
    for (int i = 0; i < n; i++) {
      size_t len = t->size - (size_t)i * 8 < 8 ? t->size - (size_t)i * 8 : 8;
      if (cls[i] == C_NO) {
        gap = true;
        continue;
      }
      if (gap) return 1; /* A class after an empty eightbyte: no way. */
      if (cls[i] == C_SSEUP || (cls[i] == C_SSE && len != 8 && len != 4))
        return 2; /* libffi has no 16-byte or 2-byte SSE values. */
      if (cls[i] == C_SSE) {
        el[k++] = len == 8 ? &ffi_type_double : &ffi_type_float;
      } else if (cls[i] == C_INT && len == 8) {
        el[k++] = &ffi_type_uint64;
      } else if (cls[i] == C_INT) {
        for (size_t j = 0; j < len; j++)
          el[k++] = &ffi_type_uint8;
      } else {
        return 1;
      }
    }
  }
  el[k] = NULL;
  *out = ft;
  return MFFI_OK;
}


#endif
