/* x86-64 System V calls: classifier and register fast path. See LICENSE.
**
** The classifier follows the SysV x86-64 psABI, section 3.2.3: each
** eightbyte of a value gets a class (INTEGER, SSE, SSEUP, X87, X87UP,
** COMPLEX_X87, MEMORY or NO_CLASS), members merge into the eightbytes they
** overlap, then the post-merger cleanup applies.
**
** The fast path rests on one property of the ABI: integer and SSE registers
** are assigned independently, left to right, and a callee ignores registers
** it has no parameter for. So a single call through the prototype
**   R thunk(uint64_t x 6, double x 8)
** with all 14 registers loaded serves every signature whose arguments all
** travel in registers; only the return class R varies (rax, rax:rdx, xmm0,
** xmm0:xmm1, mixed, x87, void; a memory return takes its buffer in the
** first integer register). Variadic callees are called through the same
** prototype with a trailing "...", so the caller sets %al. Marshalling is a
** list of moves computed at bind time (source offset, width, extension,
** register), so a call is one tight loop and one indirect call.
*/
#include <stdarg.h>
#include <string.h>

#include "call/call.h"

#if defined(__x86_64__) && !defined(_WIN32)
#include <emmintrin.h>

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
** need; false if one of them cannot travel in a register (X87, SSEUP: the
** argument goes in memory). */
static bool x64_regs_needed(const int *cls, int n, int *needg, int *needs) {
  *needg = *needs = 0;
  for (int j = 0; j < n; j++) {
    if (cls[j] == C_INT)
      ++*needg;
    else if (cls[j] == C_SSE)
      ++*needs;
    else if (cls[j] != C_NO)
      return false;
  }
  return true;
}

bool mffi__abi_ret_in_memory(const mffi__tt *tt, mffi__tid tid) {
  int cls[2];
  size_t sz;
  if (mffi__value_kind(tt, tid, &sz) != MFFI__V_AGG) return false;
  return x64_classify(tt, tid, cls) < 0;
}

int mffi__abi_split(const mffi__tt *tt, mffi__tid tid, int *ngpr, int *nsse,
                    mffi__part parts[2]) {
  size_t sz;
  int cls[2];
  switch (mffi__value_kind(tt, tid, &sz)) {
  case MFFI__V_SINT:
  case MFFI__V_UINT:
    if (*ngpr < 6) ++*ngpr;
    return 0;
  case MFFI__V_FLOAT:
  case MFFI__V_DOUBLE:
    if (*nsse < 8) ++*nsse;
    return 0;
  case MFFI__V_INT128:
  case MFFI__V_AGG: break;
  default: return 0;
  }
  int n = x64_classify(tt, tid, cls);
  if (n <= 0) return 0;
  int needg, needs;
  if (!x64_regs_needed(cls, n, &needg, &needs)) return 0;
  if (*ngpr + needg > 6 || *nsse + needs > 8) return 0;
  *ngpr += needg;
  *nsse += needs;
  int k = 0;
  for (int j = 0; j < n; j++) {
    if (cls[j] == C_NO) continue;
    size_t len = sz - (size_t)j * 8 < 8 ? sz - (size_t)j * 8 : 8;
    parts[k++] = (mffi__part){(uint8_t)(j * 8), (uint8_t)len, cls[j] == C_SSE};
  }
  return k;
}

int mffi__abi_stack_layout(const mffi__tt *tt, const mffi__tid *types,
                           uint32_t n, int ngpr, long *offs, size_t *bytes) {
  int nsse = 0, over = 0;
  size_t off = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t sz, al = 8;
    int cls[2];
    offs[i] = -1;
    mffi__vkind k = mffi__value_kind(tt, types[i], &sz);
    switch (k) {
    case MFFI__V_SINT:
    case MFFI__V_UINT:
      if (ngpr < 6) {
        ngpr++;
        continue;
      }
      sz = 8;
      break;
    case MFFI__V_FLOAT:
    case MFFI__V_DOUBLE:
      if (nsse < 8) {
        nsse++;
        continue;
      }
      sz = 8;
      break;
    case MFFI__V_LDOUBLE: al = 16; break;
    case MFFI__V_INT128:
    case MFFI__V_AGG: {
      int nc = x64_classify(tt, types[i], cls);
      if (nc == 0) continue;
      int g, x;
      bool reg = nc > 0 && x64_regs_needed(cls, nc, &g, &x);
      if (reg && ngpr + g <= 6 && nsse + x <= 8) {
        ngpr += g;
        nsse += x;
        continue;
      }
      size_t ta = mffi__type_scalar(tt, types[i])->align;
      if (ta > al) al = ta;
      if (al > 16) over = 1;
      break;
    }
    default: continue;
    }
    off = (off + al - 1) & ~(al - 1);
    offs[i] = (long)off;
    off += (sz + 7) & ~(size_t)7;
  }
  *bytes = (off + 15) & ~(size_t)15;
  return over;
}

void mffi__abi_stack_relayout(const mffi__tt *tt, const mffi__tid *types,
                              uint32_t n, uint32_t nfixed, size_t base,
                              long *offs, size_t *bytes) {
  size_t off = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (offs[i] < 0) continue;
    size_t sz, al = 8;
    mffi__vkind k = mffi__value_kind(tt, types[i], &sz);
    if (k == MFFI__V_SINT || k == MFFI__V_UINT || k == MFFI__V_FLOAT ||
        k == MFFI__V_DOUBLE) {
      sz = 8;
    } else {
      size_t ta = mffi__type_scalar(tt, types[i])->align;
      if (ta > al) al = ta;
    }
    if (i < nfixed)
      off = (off + al - 1) & ~(al - 1);
    else
      off = ((base + off + al - 1) & ~(al - 1)) - base;
    offs[i] = (long)off;
    off += (sz + 7) & ~(size_t)7;
  }
  *bytes = (off + 15) & ~(size_t)15;
}

static __thread uintptr_t x64_probe_area;

/* The registers are full after six integers: va_start's overflow area is
** where the stack arguments start (psABI 3.5.7, the va_list type). */
static void x64_probe(long a, long b, long c, long d, long e, long f, ...) {
  va_list ap;
  va_start(ap, f);
  x64_probe_area = (uintptr_t)ap[0].overflow_arg_area;
  va_end(ap);
  (void)a, (void)b, (void)c, (void)d, (void)e;
}

void (*mffi__abi_probe(void))(void) {
  return (void (*)(void))x64_probe;
}

uintptr_t mffi__abi_probed(void) {
  return x64_probe_area;
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
      if (cls[i] == C_SSE && (len == 8 || len == 4)) {
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

/* -- Fast path plans
 * ------------------------------------------------------------ */

enum { /* Moves: how a register gets its value. */
       OP_S8,
       OP_U8,
       OP_S16,
       OP_U16,
       OP_S32,
       OP_U32,
       OP_64,
       OP_BYTES,
       OP_F2D
};

enum { /* Return classes, one thunk prototype each. */
       RC_VOID,
       RC_INT,
       RC_INT2,
       RC_SSE,
       RC_SSE2,
       RC_INTSSE,
       RC_SSEINT,
       RC_X87,
       RC_MEM
};

#define X64_NREG 14 /* 6 integer + 8 SSE argument registers. */

typedef struct x64_move {
  uint16_t arg; /* Argument index. */
  uint8_t op;   /* OP_*. */
  uint8_t reg;  /* 0-5: rdi..r9; 6-13: xmm0..xmm7. */
  uint8_t off;  /* Byte offset in the argument. */
  uint8_t len;  /* Bytes for OP_BYTES. */
} x64_move;

struct mffi__fast {
  uint8_t rclass; /* RC_*. */
  bool variadic;  /* Call through the "..." prototype. */
  uint16_t nmoves;
  uint32_t rsize; /* Return value size. */
  uint32_t nargs;
  mffi_ctx *ctx;
  x64_move moves[]; /* nmoves. */
};

/* Moves for one scalar argument. */
static uint8_t x64_scalar_op(mffi__vkind k, size_t sz, bool promote) {
  if (k == MFFI__V_FLOAT) return promote ? OP_F2D : OP_U32;
  if (k == MFFI__V_DOUBLE || sz == 8) return OP_64;
  bool s = k == MFFI__V_SINT;
  if (sz == 1) return s ? OP_S8 : OP_U8;
  if (sz == 2) return s ? OP_S16 : OP_U16;
  return s ? OP_S32 : OP_U32;
}

int mffi__fast_prepare(const mffi__sig *sig, mffi__fast **out) {
  mffi_ctx *ctx = sig->ctx;
  const mffi__tt *tt = &ctx->tt;
  *out = NULL;
  x64_move mv[X64_NREG];
  int nmv = 0, ngpr = 0, nsse = 0, cls[2];
  size_t rsz;
  uint8_t rc;
  switch (mffi__value_kind(tt, sig->ret, &rsz)) {
  case MFFI__V_VOID: rc = RC_VOID; break;
  case MFFI__V_SINT:
  case MFFI__V_UINT: rc = RC_INT; break;
  case MFFI__V_INT128: rc = RC_INT2; break;
  case MFFI__V_FLOAT:
  case MFFI__V_DOUBLE: rc = RC_SSE; break;
  case MFFI__V_LDOUBLE: rc = RC_X87; break;
  case MFFI__V_AGG: {
    int n = x64_classify(tt, sig->ret, cls);
    if (n < 0) {
      rc = RC_MEM;
      ngpr = 1; /* The hidden pointer takes %rdi. */
    } else if (n == 2 && cls[0] == C_X87 && cls[1] == C_X87UP) {
      rc = RC_X87;
    } else if (n == 1 && cls[0] == C_INT) {
      rc = RC_INT;
    } else if (n == 1 && cls[0] == C_SSE) {
      rc = RC_SSE;
    } else if (n == 2 && cls[0] == C_INT) {
      rc = cls[1] == C_INT   ? RC_INT2
           : cls[1] == C_SSE ? RC_INTSSE
           : cls[1] == C_NO  ? RC_INT
                             : 0xff;
    } else if (n == 2 && cls[0] == C_SSE) {
      rc = cls[1] == C_SSE   ? RC_SSE2
           : cls[1] == C_INT ? RC_SSEINT
           : cls[1] == C_NO  ? RC_SSE
                             : 0xff;
    } else {
      return 1;
    }
    if (rc == 0xff) return 1;
    break;
  }
  default: return 1;
  }
  for (uint32_t i = 0; i < sig->nargs; i++) {
    size_t sz;
    mffi__tid a = sig->args[i];
    mffi__vkind k = mffi__value_kind(tt, a, &sz);
    bool var = i >= sig->nfixed;
    if (k == MFFI__V_SINT || k == MFFI__V_UINT || k == MFFI__V_FLOAT ||
        k == MFFI__V_DOUBLE) {
      bool sse = k == MFFI__V_FLOAT || k == MFFI__V_DOUBLE;
      if (sse ? nsse == 8 : ngpr == 6) return 1;
      mv[nmv++] = (x64_move){(uint16_t)i, x64_scalar_op(k, sz, var),
                             (uint8_t)(sse ? 6 + nsse++ : ngpr++), 0, 8};
      continue;
    }
    if (k != MFFI__V_INT128 && k != MFFI__V_AGG) return 1;
    int n = x64_classify(tt, a, cls);
    if (n < 0) return 1;
    int needg, needs;
    if (!x64_regs_needed(cls, n, &needg, &needs)) return 1;
    if (ngpr + needg > 6 || nsse + needs > 8) return 1; /* To the stack. */
    for (int j = 0; j < n; j++) {
      if (cls[j] == C_NO) continue;
      size_t len = sz - (size_t)j * 8 < 8 ? sz - (size_t)j * 8 : 8;
      uint8_t reg = (uint8_t)(cls[j] == C_INT ? ngpr++ : 6 + nsse++);
      mv[nmv++] = (x64_move){(uint16_t)i, len == 8 ? OP_64 : OP_BYTES, reg,
                             (uint8_t)(j * 8), (uint8_t)len};
    }
  }
  mffi__fast *p = mffi__malloc(ctx, sizeof *p + (size_t)nmv * sizeof mv[0]);
  if (!p) return MFFI_ENOMEM;
  p->rclass = rc;
  p->variadic = sig->variadic;
  p->nmoves = (uint16_t)nmv;
  p->rsize = (uint32_t)rsz;
  p->nargs = sig->nargs;
  p->ctx = ctx;
  memcpy(p->moves, mv, (size_t)nmv * sizeof mv[0]);
  *out = p;
  return MFFI_OK;
}

void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p) {
  mffi__free(ctx, p);
}

/* -- Fast path calls
 * ------------------------------------------------------------- */

typedef union x64_reg {
  uint64_t u;
  double d;
} x64_reg;

typedef struct {
  uint64_t a, b;
} x64_ii;
typedef struct {
  double a, b;
} x64_ss;
typedef struct {
  uint64_t a;
  double b;
} x64_is;
typedef struct {
  double a;
  uint64_t b;
} x64_si;

#define X64_PARAMS                                                             \
  uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, double, double,  \
      double, double, double, double, double, double
#define X64_ARGS                                                               \
  r[0].u, r[1].u, r[2].u, r[3].u, r[4].u, r[5].u, r[6].d, r[7].d, r[8].d,      \
      r[9].d, r[10].d, r[11].d, r[12].d, r[13].d

/* One call through the thunk prototype returning T, plain or variadic. */
#define X64_CALL(T, addr, variadic)                                            \
  ((variadic) ? ((T(*)(X64_PARAMS, ...))(addr))(X64_ARGS)                      \
              : ((T(*)(X64_PARAMS))(addr))(X64_ARGS))

/* A memory-class return with no buffer from the caller: bounded scratch. */
static int x64_call_discard(mffi_fn *fn, void *const *args) {
  const mffi__fast *p = fn->data;
  return mffi__call_scratch(fn, p->ctx, p->rsize, 16, mffi__fast_call, args);
}

int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi__fast *p = fn->data;
  if (!args && p->nargs) return mffi__err(p->ctx, MFFI_EMISUSE, "args is NULL");
  /* Zero the registers with seven vector stores: an initializer becomes
  ** `rep stos`, which costs more than the rest of the call. */
  _Alignas(16) x64_reg r[X64_NREG];
  for (int i = 0; i < X64_NREG; i += 2)
    _mm_store_si128((__m128i *)&r[i], _mm_setzero_si128());
  for (const x64_move *m = p->moves, *e = m + p->nmoves; m < e; m++) {
    const unsigned char *s = (const unsigned char *)args[m->arg] + m->off;
    uint64_t *d = &r[m->reg].u;
    switch (m->op) {
    case OP_S8: *d = (uint64_t)(int64_t) * (const int8_t *)s; break;
    case OP_U8: *d = *s; break;
    case OP_S16: *d = (uint64_t)(int64_t) * (const int16_t *)s; break;
    case OP_U16: *d = *(const uint16_t *)s; break;
    case OP_S32: *d = (uint64_t)(int64_t) * (const int32_t *)s; break;
    case OP_U32: *d = *(const uint32_t *)s; break;
    case OP_64: memcpy(d, s, 8); break;
    case OP_F2D: {
      float f;
      memcpy(&f, s, 4);
      r[m->reg].d = f;
      break;
    }
    default: *d = mffi__load_bytes(s, m->len); break;
    }
  }
  void *a = fn->addr;
  bool va = p->variadic;
  union {
    uint64_t u[2];
    double d[2];
    long double ld;
    unsigned char b[16];
  } res;
  switch (p->rclass) {
  case RC_VOID:
    X64_CALL(void, a, va);
    mffi__errno_save();
    return MFFI_OK;
  case RC_INT: res.u[0] = X64_CALL(uint64_t, a, va); break;
  case RC_INT2: {
    x64_ii v = X64_CALL(x64_ii, a, va);
    res.u[0] = v.a;
    res.u[1] = v.b;
    break;
  }
  case RC_SSE: res.d[0] = X64_CALL(double, a, va); break;
  case RC_SSE2: {
    x64_ss v = X64_CALL(x64_ss, a, va);
    res.d[0] = v.a;
    res.d[1] = v.b;
    break;
  }
  case RC_INTSSE: {
    x64_is v = X64_CALL(x64_is, a, va);
    res.u[0] = v.a;
    res.d[1] = v.b;
    break;
  }
  case RC_SSEINT: {
    x64_si v = X64_CALL(x64_si, a, va);
    res.d[0] = v.a;
    res.u[1] = v.b;
    break;
  }
  case RC_X87: res.ld = X64_CALL(long double, a, va); break;
  default: /* RC_MEM: the callee writes the caller's buffer. */
    if (!ret) return x64_call_discard(fn, args);
    r[0].u = (uint64_t)(uintptr_t)ret;
    X64_CALL(void, a, va);
    mffi__errno_save();
    return MFFI_OK;
  }
  mffi__errno_save();
  if (!ret) return MFFI_OK;
  switch (p->rsize) { /* Constant sizes: inline stores, no memcpy call. */
  case 1: memcpy(ret, res.b, 1); break;
  case 2: memcpy(ret, res.b, 2); break;
  case 4: memcpy(ret, res.b, 4); break;
  case 8: memcpy(ret, res.b, 8); break;
  case 16: memcpy(ret, res.b, 16); break;
  default: memcpy(ret, res.b, p->rsize); break;
  }
  return MFFI_OK;
}

/* -- Specialized shapes
 * ---------------------------------------------------------- */

/* The commonest signatures get a routine of their own, so a call is one
** indirect call into it, direct loads and one indirect call to the target:
** up to three arguments that are each a 4-byte integer (i: int, unsigned,
** enums), an 8-byte integer or pointer (p) or a double (d), returning one of
** those or void; and four to six p arguments. The prototype assigns the
** registers; nothing else is needed (SysV: a 4-byte argument needs no
** extension). */

#define FS_T_v void
#define FS_T_i int32_t
#define FS_T_p uint64_t
#define FS_T_d double
#define FS_N_v 0
#define FS_N_i 1
#define FS_N_p 2
#define FS_N_d 3
#define FS_A(k, n) fs_ld_##k(args[n])

/* Loads through memcpy: aggregates of 8 bytes travel as p or d and may be
** aligned to less. Each compiles to one move. */
static inline int32_t fs_ld_i(const void *p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline uint64_t fs_ld_p(const void *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline double fs_ld_d(const void *p) {
  double v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Store the result at its exact size (`ret` may be NULL). */
#define FS_RET_v(call)                                                         \
  (void)ret;                                                                   \
  call;                                                                        \
  mffi__errno_save();                                                          \
  return MFFI_OK;
#define FS_RET_X(T, call)                                                      \
  T r_ = call;                                                                 \
  mffi__errno_save();                                                          \
  if (ret) memcpy(ret, &r_, sizeof r_);                                        \
  return MFFI_OK;
#define FS_RET_i(call) FS_RET_X(int32_t, call)
#define FS_RET_p(call) FS_RET_X(uint64_t, call)
#define FS_RET_d(call) FS_RET_X(double, call)

#define FS_HEAD(name) static int name(mffi_fn *fn, void *ret, void *const *args)
#define FS_FN(R, ...) ((FS_T_##R(*)(__VA_ARGS__))fn->addr)

#define FS_DEF0(R)                                                             \
  FS_HEAD(fs_##R) {                                                            \
    (void)args;                                                                \
    FS_RET_##R(FS_FN(R, void)());                                              \
  }
#define FS_DEF1(R, a)                                                          \
  FS_HEAD(fs_##R##_##a) {                                                      \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, FS_T_##a)(FS_A(a, 0)));                                \
  }
#define FS_DEF2(R, a, b)                                                       \
  FS_HEAD(fs_##R##_##a##b) {                                                   \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, FS_T_##a, FS_T_##b)(FS_A(a, 0), FS_A(b, 1)));          \
  }
#define FS_DEF3(R, a, b, c)                                                    \
  FS_HEAD(fs_##R##_##a##b##c) {                                                \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, FS_T_##a, FS_T_##b, FS_T_##c)(FS_A(a, 0), FS_A(b, 1),  \
                                                      FS_A(c, 2)));            \
  }
#define FS_DEFP(R)                                                             \
  FS_HEAD(fs_##R##_pppp) {                                                     \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, uint64_t, uint64_t, uint64_t, uint64_t)(               \
        FS_A(p, 0), FS_A(p, 1), FS_A(p, 2), FS_A(p, 3)));                      \
  }                                                                            \
  FS_HEAD(fs_##R##_ppppp) {                                                    \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)(     \
        FS_A(p, 0), FS_A(p, 1), FS_A(p, 2), FS_A(p, 3), FS_A(p, 4)));          \
  }                                                                            \
  FS_HEAD(fs_##R##_pppppp) {                                                   \
    if (!args) return x64_misuse(fn);                                          \
    FS_RET_##R(FS_FN(R, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,      \
                     uint64_t)(FS_A(p, 0), FS_A(p, 1), FS_A(p, 2), FS_A(p, 3), \
                               FS_A(p, 4), FS_A(p, 5)));                       \
  }

/* Every shape of up to three i/p/d arguments, for return kind R. */
#define FS_EACH(X, R) X##0(R)FS_E1(X, R, i) FS_E1(X, R, p) FS_E1(X, R, d)
#define FS_E1(X, R, a)                                                         \
  X##1(R, a)FS_E2(X, R, a, i) FS_E2(X, R, a, p) FS_E2(X, R, a, d)
#define FS_E2(X, R, a, b)                                                      \
  X##2(R, a, b)X##3(R, a, b, i)X##3(R, a, b, p)X##3(R, a, b, d)

static int x64_misuse(mffi_fn *fn) {
  return mffi__err(fn->lib->ctx, MFFI_EMISUSE, "args is NULL");
}

FS_EACH(FS_DEF, v)
FS_EACH(FS_DEF, i)
FS_EACH(FS_DEF, p)
FS_EACH(FS_DEF, d)
FS_DEFP(v)
FS_DEFP(i)
FS_DEFP(p)
FS_DEFP(d)

/* Table index of a shape: return kind, arity, then the argument kinds
** (1-3; 0 where absent); arity 4-6 means all p. */
#define FS_IDX(R, n, a, b, c) (((((R)*7 + (n)) * 4 + (a)) * 4 + (b)) * 4 + (c))
#define FS_ENT0(R) [FS_IDX(FS_N_##R, 0, 0, 0, 0)] = fs_##R,
#define FS_ENT1(R, a) [FS_IDX(FS_N_##R, 1, FS_N_##a, 0, 0)] = fs_##R##_##a,
#define FS_ENT2(R, a, b)                                                       \
  [FS_IDX(FS_N_##R, 2, FS_N_##a, FS_N_##b, 0)] = fs_##R##_##a##b,
#define FS_ENT3(R, a, b, c)                                                    \
  [FS_IDX(FS_N_##R, 3, FS_N_##a, FS_N_##b, FS_N_##c)] = fs_##R##_##a##b##c,
#define FS_ENTP(R)                                                             \
  [FS_IDX(FS_N_##R, 4, 0, 0, 0)] = fs_##R##_pppp,                              \
                             [FS_IDX(FS_N_##R, 5, 0, 0, 0)] = fs_##R##_ppppp,  \
                             [FS_IDX(FS_N_##R, 6, 0, 0, 0)] = fs_##R##_pppppp,

static const mffi_call_fn x64_shapes[FS_IDX(4, 0, 0, 0, 0)] = {
    FS_EACH(FS_ENT, v) FS_EACH(FS_ENT, i) FS_EACH(FS_ENT, p) FS_EACH(FS_ENT, d)
        FS_ENTP(v) FS_ENTP(i) FS_ENTP(p) FS_ENTP(d)};

/* The shape letter of a type: FS_N_i, _p, _d, _v, or -1. An aggregate of
** one eightbyte counts as the scalar it travels as (struct { int x, y; }
** is p, struct { float x, y; } is d, struct { short a, b; } is i). */
static int x64_shape_kind(const mffi__tt *tt, mffi__tid tid) {
  size_t sz;
  int cls[2];
  switch (mffi__value_kind(tt, tid, &sz)) {
  case MFFI__V_VOID: return FS_N_v;
  case MFFI__V_SINT:
  case MFFI__V_UINT: return sz == 4 ? FS_N_i : sz == 8 ? FS_N_p : -1;
  case MFFI__V_DOUBLE: return FS_N_d;
  case MFFI__V_AGG:
    if (x64_classify(tt, tid, cls) != 1) return -1;
    if (cls[0] == C_INT) return sz == 4 ? FS_N_i : sz == 8 ? FS_N_p : -1;
    if (cls[0] == C_SSE && sz == 8) return FS_N_d;
    return -1;
  default: return -1;
  }
}

mffi_call_fn mffi__fast_shape(const mffi__sig *sig) {
  const mffi__tt *tt = &sig->ctx->tt;
  if (sig->variadic || sig->nargs > 6) return NULL;
  int r = x64_shape_kind(tt, sig->ret);
  if (r < 0) return NULL;
  int k[3] = {0, 0, 0};
  for (uint32_t i = 0; i < sig->nargs; i++) {
    int a = x64_shape_kind(tt, sig->args[i]);
    if (a <= 0) return NULL;
    if (sig->nargs > 3 && a != FS_N_p) return NULL;
    if (i < 3 && sig->nargs <= 3) k[i] = a;
  }
  return x64_shapes[FS_IDX(r, (int)sig->nargs, k[0], k[1], k[2])];
}

#else /* Not x86-64 SysV: libffi does everything. */

int mffi__fast_prepare(const mffi__sig *sig, mffi__fast **out) {
  (void)sig;
  *out = NULL;
  return 1;
}

void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p) {
  (void)ctx;
  (void)p;
}

mffi_call_fn mffi__fast_shape(const mffi__sig *sig) {
  (void)sig;
  return NULL;
}

int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args) {
  (void)ret;
  (void)args;
  return mffi__err(fn->lib->ctx, MFFI_EUNSUPPORTED, "no fast path");
}

int mffi__abi_ffi_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out) {
  (void)ctx;
  (void)own;
  (void)tid;
  (void)is_ret;
  *out = NULL;
  return 1;
}

bool mffi__abi_ret_in_memory(const mffi__tt *tt, mffi__tid tid) {
  (void)tt;
  (void)tid;
  return false;
}

void (*mffi__abi_probe(void))(void) {
  return NULL;
}

uintptr_t mffi__abi_probed(void) {
  return 0;
}

int mffi__abi_stack_layout(const mffi__tt *tt, const mffi__tid *types,
                           uint32_t n, int ngpr, long *offs, size_t *bytes) {
  (void)tt;
  (void)types;
  (void)ngpr;
  for (uint32_t i = 0; i < n; i++)
    offs[i] = -1;
  *bytes = 0;
  return 0;
}

void mffi__abi_stack_relayout(const mffi__tt *tt, const mffi__tid *types,
                              uint32_t n, uint32_t nfixed, size_t base,
                              long *offs, size_t *bytes) {
  (void)tt;
  (void)types;
  (void)n;
  (void)nfixed;
  (void)base;
  (void)offs;
  (void)bytes;
}

int mffi__abi_split(const mffi__tt *tt, mffi__tid tid, int *ngpr, int *nsse,
                    mffi__part parts[2]) {
  (void)tt;
  (void)tid;
  (void)ngpr;
  (void)nsse;
  (void)parts;
  return 0;
}

#endif
