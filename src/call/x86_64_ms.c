/* x86-64 Microsoft calls: plans for ms_abi functions. See LICENSE.
**
** A function type declared with GCC's __attribute__((ms_abi)) (Wine, UEFI,
** code shared with Windows) follows the Microsoft x64 convention, as GCC
** implements it (i386.cc: function_arg_ms_64, function_value_ms_64,
** return_in_memory_ms_64; checked against gcc by test_callgen):
** - each argument takes the eightbyte slot of its position; the first four
**   travel in registers, %rcx, %rdx, %r8, %r9 or, for a float or double of
**   the fixed part, %xmm0-3 (a variadic one in both); the rest on the stack
**   after a 32-byte home area the caller leaves for the callee to spill
**   them in;
** - a value of 1, 2, 4 or 8 bytes travels as itself (a struct or union in
**   an integer register, whatever its members); any other (long double,
**   __int128, _Float128, 16-byte vectors, structs of other sizes, and a
**   vector of one floating element, which has no machine mode) is copied
**   by the caller, aligned to 16 bytes or more as its type, and passed by
**   address (MFFI__CV_REF);
** - results come in %rax, in %xmm0 for float, double, __int128 and 16-byte
**   vectors, or through a hidden pointer in the first slot (%rcx) for the
**   rest, long double included (GCC's is the 80-bit x87 type, 16 bytes).
** The callee keeps %rsi, %rdi and %xmm6-15 too, which costs a System V
** caller nothing. The plans use the System V module's register numbers
** (x86_64_sysv.c: %rdi, %rsi, %rdx, %rcx, %r8, %r9 are 0-5, %xmm0-7 0-7),
** so the same call routines run both conventions. Built on x86-64 whatever
** the ABI module: the generic one hands these plans to libffi's FFI_GNUW64.
*/
#include "call/call.h"

#if defined(__x86_64__) && !defined(_WIN32)

#define MS_NREG 4          /* Argument slots in registers. */
#define MS_HOME 32         /* The home area: four eightbytes. */
#define MS_MAX_STACK 65536 /* Max. stack and reference area. */
static const uint8_t ms_gpr[MS_NREG] = {3, 2, 4, 5}; /* rcx rdx r8 r9 */

/* Whether a value of sz bytes travels as itself (else by reference). */
static bool ms_by_value(size_t sz) {
  return sz == 1 || sz == 2 || sz == 4 || sz == 8;
}

/* Whether t is a GCC vector of a single floating element: such a vector
** has no vector machine mode, which GCC's ms_abi sizes an argument by, so
** it goes by reference whatever its size (as a struct would not). */
static bool ms_modeless_vector(const mffi__tt *tt, const mffi_type *t) {
  if (!(t->flags & MFFI_TF_VECTOR)) return false;
  const mffi_type *e = mffi__type_scalar(tt, t->child);
  return mffi__kind_is_float((mffi_kind)e->kind) && e->size == t->size;
}

/* The return value's pieces into p (ret_mem set for a hidden pointer);
** false if the type cannot be returned by value (refused before). */
static bool ms_plan_ret(const mffi__tt *tt, mffi__cplan *p) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(tt, p->ret, &sz);
  mffi__piece *r = p->rp;
  uint8_t loc = MFFI__LOC_INT;
  switch (k) {
  case MFFI__V_VOID: return true;
  case MFFI__V_SINT:
  case MFFI__V_UINT: break;
  case MFFI__V_FLOAT:
  case MFFI__V_DOUBLE:
  case MFFI__V_INT128: loc = MFFI__LOC_FP; break;
  case MFFI__V_LDOUBLE: p->ret_mem = true; return true;
  case MFFI__V_AGG: {
    const mffi_type *t = mffi__type_scalar(tt, p->ret);
    if ((t->flags & MFFI_TF_VECTOR) && sz == 16 && !ms_modeless_vector(tt, t)) {
      loc = MFFI__LOC_FP; /* __m128 and its kind: %xmm0. */
      break;
    }
    if (!ms_by_value(sz)) {
      p->ret_mem = true;
      return true;
    }
    break;
  }
  default: return false;
  }
  r[p->nret++] = (mffi__piece){0, loc, MFFI__CV_COPY, 0, 0, (uint32_t)sz, 0};
  return true;
}

int mffi__abi_plan_ms(const mffi__sig *sig, mffi__cplan **out) {
  const mffi__tt *tt = &sig->ctx->tt;
  *out = NULL;
  mffi__cplan *p = mffi__cplan_new(sig, 2 * sig->nargs);
  if (!p) return MFFI_ENOMEM;
  p->runnable = ms_plan_ret(tt, p);
  uint32_t pos = 0, np = 0, ref = 0;
  if (p->ret_mem) p->ret_reg = ms_gpr[pos++];
  for (uint32_t i = 0; i < sig->nargs; i++, pos++) {
    mffi__aplan *a = &p->args[i];
    a->first = np;
    size_t sz;
    mffi__vkind k = mffi__value_kind(tt, a->tid, &sz);
    /* A promoted argument is read at the caller's size. */
    uint32_t len = a->prom != MFFI__CV_COPY ? a->csize : (uint32_t)sz;
    mffi__piece c = {(uint16_t)i, MFFI__LOC_INT, a->prom, 0, 0, len, 0};
    bool fp = false;
    switch (k) {
    case MFFI__V_SINT:
    case MFFI__V_UINT:
      if (c.conv == MFFI__CV_COPY && sz < 8)
        c.conv = k == MFFI__V_SINT ? MFFI__CV_SEXT : MFFI__CV_ZEXT;
      break;
    case MFFI__V_FLOAT:
    case MFFI__V_DOUBLE: fp = true; break;
    case MFFI__V_AGG:
      if (ms_by_value(sz) &&
          !ms_modeless_vector(tt, mffi__type_scalar(tt, a->tid)))
        break;
      /* fall through */
    case MFFI__V_LDOUBLE:
    case MFFI__V_INT128: {
      /* The copy: 16-byte aligned, or more as its type (GCC's callers). */
      uint32_t al = mffi__type_scalar(tt, a->tid)->align;
      if (al < 16) al = 16;
      if (al > p->salign) p->salign = al;
      ref = (ref + al - 1) & ~(al - 1);
      c.conv = MFFI__CV_REF;
      c.off = ref;
      ref += (uint32_t)sz;
      break;
    }
    default: /* Refused before planning (mffi__value_check). */
      p->runnable = false;
      continue;
    }
    if (pos >= MS_NREG) {
      c.loc = MFFI__LOC_STACK;
      c.at = 8 * pos;
      p->pieces[np++] = c;
    } else if (fp) {
      c.loc = MFFI__LOC_FP;
      c.idx = pos;
      p->pieces[np++] = c;
      if (i >= sig->nfixed) { /* Variadic: in the integer slot as well. */
        c.loc = MFFI__LOC_INT;
        c.idx = ms_gpr[pos];
        p->pieces[np++] = c;
      }
    } else {
      c.idx = ms_gpr[pos];
      p->pieces[np++] = c;
    }
    a->npieces = (uint16_t)(np - a->first);
  }
  p->npieces = np;
  /* The reference area follows the stack area, both aligned to salign. */
  uint32_t sb = 8 * pos < MS_HOME ? MS_HOME : 8 * pos, ra = p->salign;
  p->sbytes = (sb + ra - 1) & ~(ra - 1);
  p->rbytes = (ref + ra - 1) & ~(ra - 1);
  if ((size_t)p->sbytes + p->rbytes > MS_MAX_STACK) p->runnable = false;
  *out = p;
  return MFFI_OK;
}

#endif
