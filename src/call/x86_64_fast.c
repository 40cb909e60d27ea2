/* x86-64 System V calls: the call routine that runs a plan. See LICENSE.
**
** A call fills a frame (x64_frame) from the caller's arguments with a list
** of moves computed at bind time (source offset, width, extension, where
** in the frame), then hands it to mffi__x64_run, a few lines of assembly
** that copy the stack area below the stack pointer, load the six integer
** and eight SSE argument registers (all 16 bytes: vectors and _Float128
** fill one) and %al (SSE registers used, for variadic callees), call, and
** store %rax, %rdx, %xmm0, %xmm1 and the x87 results back into the frame
** (x64_ctl says how many bytes, which alignment, what %al is). A callee
** ignores registers and stack bytes it has no parameter for, so one routine
** serves every plan (LuaJIT's lj_vm_ffi_call works the same way). The stack
** area is aligned to the largest alignment among its arguments (at least
** 16): then a variadic callee's va_arg, which aligns by absolute address,
** finds an over-aligned argument where the plan put it by offset. The
** commonest register-only signatures get routines of their own (shapes,
** below): no frame, no loop. Both serve when x86_64_jit.c generates no
** routine for the plan (it is off, or has no executable memory).
*/
#include <stddef.h>
#include <string.h>

#include "call/call.h"

#ifdef MFFI__ABI_X64_SYSV

/* -- The frame and the assembly routine ------------------------------------ */

/* What a call writes (arguments) and reads back (results). */
typedef struct x64_frame {
  uint64_t gpr[6];         /* %rdi %rsi %rdx %rcx %r8 %r9 */
  uint64_t xmm[8][2];      /* %xmm0-7. */
  uint64_t rax, rdx;       /* Results. */
  uint64_t xr[2][2];       /* %xmm0, %xmm1 after the call. */
  unsigned char st[2][16]; /* %st0, %st1. */
  unsigned char stack[];   /* The stack area. */
} x64_frame;

/* What a call only reads, set at bind time: kept apart from the frame, so
** no load in the routine waits on a store of the same call that the CPU
** cannot forward (the compiler merges neighbouring stores). */
typedef struct x64_ctl {
  uint64_t sbytes; /* Stack area bytes, a multiple of 16. */
  uint64_t amask;  /* -(alignment of the stack area). */
  uint32_t nsse;   /* %al. */
  uint32_t nx87;   /* x87 registers to pop into st[] after the call. */
} x64_ctl;

/* The offsets the assembly uses. */
_Static_assert(offsetof(x64_frame, xmm) == 48, "xmm");
_Static_assert(offsetof(x64_frame, rax) == 176, "rax");
_Static_assert(offsetof(x64_frame, xr) == 192, "xr");
_Static_assert(offsetof(x64_frame, st) == 224, "st");
_Static_assert(offsetof(x64_frame, stack) == 256, "stack");
_Static_assert(offsetof(x64_ctl, amask) == 8, "amask");
_Static_assert(offsetof(x64_ctl, nsse) == 16, "nsse");
_Static_assert(offsetof(x64_ctl, nx87) == 20, "nx87");

/* Call fn with the arguments in f as c says; results into f. */
__attribute__((visibility("hidden"))) void
mffi__x64_run(x64_frame *f, const x64_ctl *c, void *fn);

/* %rbx keeps the frame, %r12 the control block and %rbp the entry stack
** across the call (all callee-saved); CFI lets debuggers and sanitizers
** unwind through it. The callee is reached by a call to a `jmp *%r11`: an
** indirect call cost 0.6-0.8 ns more a call on the x86-64 machines
** measured (docs/call-engine.md). */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl mffi__x64_run\n"
        ".hidden mffi__x64_run\n"
        ".type mffi__x64_run, @function\n"
        "mffi__x64_run:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "  pushq %rbx\n"
        ".cfi_offset %rbx, -24\n"
        "  pushq %r12\n"
        ".cfi_offset %r12, -32\n"
        "  movq %rdi, %rbx\n"
        "  movq %rsi, %r12\n"
        "  movq %rdx, %r11\n"
        "  movq 0(%r12), %rcx\n"
        "  subq %rcx, %rsp\n"
        "  andq 8(%r12), %rsp\n"
        "  testq %rcx, %rcx\n"
        "  jz 2f\n"
        "  xorl %edx, %edx\n"
        "1:\n"
        "  movups 256(%rbx,%rdx), %xmm0\n"
        "  movaps %xmm0, (%rsp,%rdx)\n"
        "  addq $16, %rdx\n"
        "  cmpq %rcx, %rdx\n"
        "  jb 1b\n"
        "2:\n"
        "  movups 48(%rbx), %xmm0\n"
        "  movups 64(%rbx), %xmm1\n"
        "  movups 80(%rbx), %xmm2\n"
        "  movups 96(%rbx), %xmm3\n"
        "  movups 112(%rbx), %xmm4\n"
        "  movups 128(%rbx), %xmm5\n"
        "  movups 144(%rbx), %xmm6\n"
        "  movups 160(%rbx), %xmm7\n"
        "  movq 0(%rbx), %rdi\n"
        "  movq 8(%rbx), %rsi\n"
        "  movq 16(%rbx), %rdx\n"
        "  movq 24(%rbx), %rcx\n"
        "  movq 32(%rbx), %r8\n"
        "  movq 40(%rbx), %r9\n"
        "  movl 16(%r12), %eax\n"
        "  callq 4f\n"
        "  movq %rax, 176(%rbx)\n"
        "  movq %rdx, 184(%rbx)\n"
        "  movups %xmm0, 192(%rbx)\n"
        "  movups %xmm1, 208(%rbx)\n"
        "  movl 20(%r12), %ecx\n"
        "  testl %ecx, %ecx\n"
        "  jz 3f\n"
        "  fstpt 224(%rbx)\n"
        "  cmpl $1, %ecx\n"
        "  je 3f\n"
        "  fstpt 240(%rbx)\n"
        "3:\n"
        "  movq -16(%rbp), %r12\n"
        "  movq -8(%rbp), %rbx\n"
        "  leave\n"
        ".cfi_remember_state\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ".cfi_restore_state\n"
        "4:\n" /* The callee: a direct call to an indirect jump (below). */
        "  jmpq *%r11\n"
        ".cfi_endproc\n"
        ".size mffi__x64_run, .-mffi__x64_run\n");

/* -- Prepared calls -------------------------------------------------------- */

enum { /* Moves: how a frame slot gets its value. */
       OP_64,
       OP_32, /* A 4-byte value: no callee reads the upper half (psABI). */
       OP_S8,
       OP_U8,
       OP_S16,
       OP_U16,
       OP_F2D,
       OP_BYTES, /* 1-7 bytes, zero-extended to an eightbyte. */
       OP_MEM,   /* len bytes (a large aggregate on the stack). */
       OP_REF    /* len bytes copied to offset `off` of the reference
                    area, whose address goes to dst (by reference). */
};

#define X64_MEM_MIN 64 /* Stack aggregates from this size: one memcpy. */

typedef struct x64_move {
  uint16_t arg; /* Argument index. */
  uint8_t op;   /* OP_*. */
  uint8_t pad;
  uint32_t off; /* Byte offset in the argument (OP_REF: see there). */
  uint32_t dst; /* Byte offset in the frame. */
  uint32_t len; /* Bytes for OP_BYTES, OP_MEM. */
} x64_move;

/* -- Register-only calls: no frame --------------------------------------- */

/* A plan whose pieces all travel in registers, in 4 or 8 bytes, is run
** without the frame: each of the 14 argument registers is loaded straight
** from its argument (a table built at bind time, no loop) and passed
** through the prototype R thunk(uint64_t x 6, double x 8), whose return
** class R is the plan's. A callee ignores the registers it has no
** parameter for. Variadic plans take the frame path, whose routine sets
** %al itself: GCC 13 was seen to leave %al unset at one of the "..."
** thunk calls of this routine (callgen seed 1, cg_f388).
** A small stack area (at most 8 eightbytes, aligned to 16 at most) rides
** along as 8 more uint64_t parameters, which the compiler stores at the
** bottom of the outgoing area in order, as the plan lays it out; a callee
** ignores stack words past its parameters too (the caller pops them). */

#define X64_NREG 14 /* 6 integer + 8 SSE argument registers. */
#define X64_NSTK 8  /* Stack eightbytes the register routine can pass. */

enum { /* Return classes, one thunk prototype each. */
       RC_NONE,
       RC_VOID,
       RC_INT,
       RC_INT2,
       RC_SSE,
       RC_SSE2,
       RC_INTSSE,
       RC_SSEINT,
       RC_MEM
};

typedef struct x64_src {
  uint16_t arg; /* Argument index. */
  uint8_t len;  /* 0 (unused: 0), 4 or 8 bytes. */
  uint8_t pad;
  uint32_t off; /* Byte offset in the argument. */
} x64_src;

typedef struct x64_rmove {
  uint16_t src; /* Byte offset in the frame. */
  uint16_t dst; /* Byte offset in the return value. */
  uint16_t len;
} x64_rmove;

struct mffi__fast {
  mffi__cplan *plan;
  mffi_ctx *ctx;
  uint32_t nargs;
  uint32_t nmoves;  /* All moves: n64 OP_64 ones, then n32 OP_32, then the
                       rest. */
  uint32_t n64, n32;
  uint32_t nwords; /* Size of the frame in eightbytes. */
  x64_ctl ctl;
  bool ret_mem;
  uint8_t ret_reg; /* The hidden pointer's integer register. */
  uint8_t nret;
  uint32_t rsize, ralign;
  x64_rmove ret[MFFI__MAX_RPIECES];
  uint8_t rclass;         /* Register routine: RC_*, or RC_NONE. */
  bool stk;               /* ... with the X64_NSTK stack words. */
  x64_src src[X64_NREG + X64_NSTK]; /* Where each register/word comes from. */
  mffi_call_fn shape; /* The shape's own routine, or NULL. */
  mffi_call_fn jit;   /* The generated routine (x86_64_jit.c), or NULL. */
  x64_move moves[]; /* nmoves. */
};

/* The move that puts scalar piece c into frame offset dst. */
static x64_move x64_move_of(const mffi__piece *c, uint32_t dst) {
  x64_move m = {c->arg, OP_64, 0, c->off, dst, c->len};
  switch (c->conv) {
  case MFFI__CV_SEXT:
    m.op = c->len == 1 ? OP_S8 : c->len == 2 ? OP_S16 : OP_32;
    break;
  case MFFI__CV_ZEXT:
    m.op = c->len == 1 ? OP_U8 : c->len == 2 ? OP_U16 : OP_32;
    break;
  case MFFI__CV_F2D: m.op = OP_F2D; break;
  case MFFI__CV_REF: m.op = OP_REF; break;
  default:
    m.op = c->len == 8 ? OP_64 : c->len == 4 ? OP_32 : OP_BYTES;
    break;
  }
  return m;
}

/* The moves of piece c (NULL mv: count them). */
static uint32_t x64_moves_of(const mffi__piece *c, x64_move *mv) {
  uint32_t dst;
  if (c->loc == MFFI__LOC_INT)
    dst = offsetof(x64_frame, gpr) + 8 * c->idx;
  else if (c->loc == MFFI__LOC_FP)
    dst = offsetof(x64_frame, xmm) + 16 * c->idx;
  else
    dst = offsetof(x64_frame, stack) + c->at;
  if (c->conv != MFFI__CV_COPY || c->len <= 8) { /* OP_REF too. */
    if (mv) *mv = x64_move_of(c, dst);
    return 1;
  }
  if (c->loc == MFFI__LOC_STACK && c->len >= X64_MEM_MIN) {
    if (mv) *mv = (x64_move){c->arg, OP_MEM, 0, c->off, dst, c->len};
    return 1;
  }
  uint32_t n = 0; /* Eightbytes, then the tail. */
  for (uint32_t o = 0; o < c->len; o += 8, n++) {
    uint32_t len = c->len - o < 8 ? c->len - o : 8;
    if (mv)
      mv[n] = (x64_move){c->arg, len == 8 ? OP_64 : OP_BYTES, 0, c->off + o,
                         dst + o, len};
  }
  return n;
}

static void x64_regs_prepare(mffi__fast *p, const mffi__cplan *plan);
static mffi_call_fn x64_shape(const mffi__cplan *plan);

int mffi__fast_prepare(mffi__cplan *plan, mffi__fast **out) {
  mffi_ctx *ctx = plan->ctx;
  *out = NULL;
  if (!plan->runnable) return 1;
  uint32_t n = 0;
  for (uint32_t i = 0; i < plan->npieces; i++)
    n += x64_moves_of(&plan->pieces[i], NULL);
  mffi__fast *p = mffi__calloc(ctx, sizeof *p + 2 * n * sizeof(x64_move));
  if (!p) {
    mffi__cplan_free(plan);
    return MFFI_ENOMEM;
  }
  p->plan = plan;
  p->ctx = ctx;
  p->nargs = plan->nargs;
  x64_move *all = &p->moves[n]; /* Scratch: the moves in piece order. */
  for (uint32_t i = 0; i < plan->npieces; i++)
    p->nmoves += x64_moves_of(&plan->pieces[i], &all[p->nmoves]);
  /* Grouped by kind: a call runs a loop per kind without branching on it. */
  uint32_t k = 0;
  for (uint8_t op = OP_64; op <= OP_32; op++)
    for (uint32_t i = 0; i < p->nmoves; i++)
      if (all[i].op == op) p->moves[k++] = all[i];
  p->n64 = 0;
  for (uint32_t i = 0; i < k; i++)
    p->n64 += p->moves[i].op == OP_64;
  p->n32 = k - p->n64;
  for (uint32_t i = 0; i < p->nmoves; i++)
    if (all[i].op > OP_32) p->moves[k++] = all[i];
  /* The reference area follows the stack area, aligned to salign when a
  ** call runs (the frame is an array of eightbytes): room for that too. */
  p->nwords =
      (uint32_t)((sizeof(x64_frame) + plan->sbytes +
                  (plan->rbytes ? plan->rbytes + plan->salign : 0) + 7) /
                 8);
  p->ctl.sbytes = plan->sbytes;
  p->ctl.amask = ~(uint64_t)(plan->salign - 1);
  p->ctl.nsse = plan->nfp;
  p->ret_mem = plan->ret_mem;
  p->ret_reg = plan->ret_reg;
  p->rsize = plan->rsize;
  p->ralign = plan->ralign;
  for (uint32_t i = 0; i < plan->nret; i++) {
    const mffi__piece *c = &plan->rp[i];
    uint32_t src = c->loc == MFFI__LOC_INT  ? offsetof(x64_frame, rax)
                   : c->loc == MFFI__LOC_FP ? offsetof(x64_frame, xr)
                                            : offsetof(x64_frame, st);
    src += c->idx * (c->loc == MFFI__LOC_INT ? 8 : 16);
    if (c->loc == MFFI__LOC_X87 && c->idx + 1 > p->ctl.nx87)
      p->ctl.nx87 = c->idx + 1;
    p->ret[p->nret++] =
        (x64_rmove){(uint16_t)src, (uint16_t)c->off, (uint16_t)c->len};
  }
  x64_regs_prepare(p, plan);
  /* A generated routine calls the callee with a direct call (a shape's C
  ** code cannot): 0.6 ns faster than the shape here. Shapes serve where
  ** nothing is generated (MFFI_JIT=0, the sandbox). */
  p->jit = mffi__jit_make(plan);
  if (!p->jit) p->shape = x64_shape(plan);
  *out = p;
  return MFFI_OK;
}

void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p) {
  if (!p) return;
  mffi__jit_free(p->jit);
  mffi__cplan_free(p->plan);
  mffi__free(ctx, p);
}

/* Store len bytes: constant sizes become plain stores, not memcpy calls. */
static inline void x64_store(unsigned char *d, const unsigned char *s,
                             unsigned len) {
  switch (len) {
  case 1: memcpy(d, s, 1); break;
  case 2: memcpy(d, s, 2); break;
  case 4: memcpy(d, s, 4); break;
  case 8: memcpy(d, s, 8); break;
  case 16: memcpy(d, s, 16); break;
  default: memcpy(d, s, len); break;
  }
}

/* The rarer moves: small integers, promotions, tails, big aggregates,
** by-reference values (their copies in the reference area after the stack
** area of frame f, aligned as c says). */
static void x64_move_slow(const x64_move *m, x64_frame *f, const x64_ctl *c,
                          void *const *args) {
  unsigned char *d = (unsigned char *)f + m->dst;
  uint64_t v;
  if (m->op == OP_REF) { /* The copy, then its address. */
    unsigned char *ref =
        (unsigned char *)(((uintptr_t)f->stack + c->sbytes - c->amask - 1) &
                          c->amask);
    memcpy(ref + m->off, args[m->arg], m->len);
    v = (uint64_t)(uintptr_t)(ref + m->off);
    memcpy(d, &v, 8);
    return;
  }
  const unsigned char *s = (const unsigned char *)args[m->arg] + m->off;
  switch (m->op) {
  case OP_S8: v = (uint64_t)(int64_t) * (const int8_t *)s; break;
  case OP_U8: v = *s; break;
  case OP_S16: {
    int16_t x;
    memcpy(&x, s, 2);
    v = (uint64_t)(int64_t)x;
    break;
  }
  case OP_U16: {
    uint16_t x;
    memcpy(&x, s, 2);
    v = x;
    break;
  }
  case OP_F2D: {
    float x;
    memcpy(&x, s, 4);
    double dd = x;
    memcpy(&v, &dd, 8);
    break;
  }
  case OP_MEM: memcpy(d, s, m->len); return;
  default: v = mffi__load_bytes(s, m->len); break;
  }
  memcpy(d, &v, 8);
}

int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi__fast *p = fn->data;
  if (!args && p->nargs) return mffi__err(p->ctx, MFFI_EMISUSE, "args is NULL");
  /* A memory-class return with no buffer from the caller: bounded scratch. */
  if (p->ret_mem && !ret)
    return mffi__call_scratch(fn, p->ctx, p->rsize, p->ralign, mffi__fast_call,
                              args);
  uint64_t words[p->nwords];
  x64_frame *f = (x64_frame *)words;
  unsigned char *b = (unsigned char *)words;
  const x64_move *m = p->moves, *e = m + p->n64;
  for (; m < e; m++) {
    uint64_t v;
    memcpy(&v, (const unsigned char *)args[m->arg] + m->off, 8);
    memcpy(b + m->dst, &v, 8);
  }
  for (e += p->n32; m < e; m++) {
    uint32_t v;
    memcpy(&v, (const unsigned char *)args[m->arg] + m->off, 4);
    uint64_t w = v;
    memcpy(b + m->dst, &w, 8);
  }
  for (e = p->moves + p->nmoves; m < e; m++)
    x64_move_slow(m, f, &p->ctl, args);
  if (p->ret_mem) f->gpr[p->ret_reg] = (uint64_t)(uintptr_t)ret;
  mffi__x64_run(f, &p->ctl, fn->addr);
  mffi__errno_save();
  if (!ret) return MFFI_OK;
  for (uint32_t i = 0; i < p->nret; i++) {
    const x64_rmove *r = &p->ret[i];
    x64_store((unsigned char *)ret + r->dst, b + r->src, r->len);
  }
  return MFFI_OK;
}

/* The register routine's return class for p, or RC_NONE. */
static uint8_t x64_rclass(const mffi__cplan *p) {
  if (p->ret_mem) return RC_MEM;
  const mffi__piece *r = p->rp;
  if (p->nret == 0) return RC_VOID;
  if (r[0].loc == MFFI__LOC_X87 || r[0].len > 8) return RC_NONE;
  bool i0 = r[0].loc == MFFI__LOC_INT;
  if (p->nret == 1) return i0 ? RC_INT : RC_SSE;
  bool i1 = r[1].loc == MFFI__LOC_INT;
  return i0 ? (i1 ? RC_INT2 : RC_INTSSE) : (i1 ? RC_SSEINT : RC_SSE2);
}

/* Set up p's register routine if its plan allows one. */
/* Whether piece c can be loaded by x64_ld: 4 or 8 plain bytes (a 4-byte
** integer needs no extension), or for the stack eightbytes of that kind
** with a tail of 4 or 8. */
static bool x64_regs_piece(const mffi__piece *c) {
  uint32_t tail = c->len % 8;
  if (c->loc == MFFI__LOC_STACK && c->len > 8)
    return c->conv == MFFI__CV_COPY && (tail == 0 || tail == 4);
  return (c->len == 8 && c->conv == MFFI__CV_COPY) ||
         (c->len == 4 && c->conv != MFFI__CV_F2D);
}

static void x64_regs_prepare(mffi__fast *p, const mffi__cplan *plan) {
  if (plan->msabi || plan->variadic || plan->sbytes > 8 * X64_NSTK ||
      plan->salign > 16)
    return;
  uint8_t rc = x64_rclass(plan);
  if (rc == RC_NONE) return;
  for (uint32_t i = 0; i < plan->npieces; i++)
    if (!x64_regs_piece(&plan->pieces[i])) return;
  for (uint32_t i = 0; i < plan->npieces; i++) {
    const mffi__piece *c = &plan->pieces[i];
    if (c->loc != MFFI__LOC_STACK) {
      uint32_t r = c->loc == MFFI__LOC_INT ? c->idx : 6 + c->idx;
      p->src[r] = (x64_src){c->arg, (uint8_t)c->len, 0, c->off};
      continue;
    }
    for (uint32_t o = 0; o < c->len; o += 8) {
      uint32_t len = c->len - o < 8 ? c->len - o : 8;
      p->src[X64_NREG + (c->at + o) / 8] =
          (x64_src){c->arg, (uint8_t)len, 0, c->off + o};
    }
  }
  if (rc == RC_MEM) p->src[0].len = 0; /* The hidden pointer: ret. */
  p->stk = plan->sbytes > 0;
  p->rclass = rc;
}

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

/* Register k's value: its 4 or 8 bytes, or 0 when no argument uses it. */
static inline __attribute__((always_inline)) uint64_t
x64_ld(void *const *args, const x64_src *s) {
  const unsigned char *a = s->len ? (const unsigned char *)args[s->arg] : 0;
  if (s->len == 8) {
    uint64_t v;
    memcpy(&v, a + s->off, 8);
    return v;
  }
  if (s->len == 4) {
    uint32_t v;
    memcpy(&v, a + s->off, 4);
    return v;
  }
  return 0;
}

static inline __attribute__((always_inline)) double
x64_ldd(void *const *args, const x64_src *s) {
  uint64_t v = x64_ld(args, s);
  double d;
  memcpy(&d, &v, 8);
  return d;
}

#define X64_PARAMS                                                             \
  uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, double, double,  \
      double, double, double, double, double, double
#define X64_ARGS                                                               \
  g0, x64_ld(args, &p->src[1]), x64_ld(args, &p->src[2]),                      \
      x64_ld(args, &p->src[3]), x64_ld(args, &p->src[4]),                      \
      x64_ld(args, &p->src[5]), x64_ldd(args, &p->src[6]),                     \
      x64_ldd(args, &p->src[7]), x64_ldd(args, &p->src[8]),                    \
      x64_ldd(args, &p->src[9]), x64_ldd(args, &p->src[10]),                   \
      x64_ldd(args, &p->src[11]), x64_ldd(args, &p->src[12]),                  \
      x64_ldd(args, &p->src[13])
#define X64_SPARAMS                                                            \
  X64_PARAMS, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,      \
      uint64_t, uint64_t
#define X64_SARGS                                                              \
  X64_ARGS, x64_ld(args, &p->src[14]), x64_ld(args, &p->src[15]),              \
      x64_ld(args, &p->src[16]), x64_ld(args, &p->src[17]),                    \
      x64_ld(args, &p->src[18]), x64_ld(args, &p->src[19]),                    \
      x64_ld(args, &p->src[20]), x64_ld(args, &p->src[21])

/* One call through the thunk prototype returning T, with or without the
** stack words. */
#define X64_CALL(T)                                                            \
  (p->stk ? ((T(*)(X64_SPARAMS))fn->addr)(X64_SARGS)                           \
          : ((T(*)(X64_PARAMS))fn->addr)(X64_ARGS))

/* The register routine of the classes without a register result: void,
** and a memory return through the hidden pointer (ret). */
static int x64_regs_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi__fast *p = fn->data;
  if (!args && p->nargs) return mffi__err(p->ctx, MFFI_EMISUSE, "args is NULL");
  uint64_t g0;
  if (p->rclass == RC_MEM) {
    if (!ret) /* Through the frame routine: its own frame stays small
              ** under ASan too (this one's is 30 KB there), and a callee
              ** with a big return may need the rest of a small stack. */
      return mffi__call_scratch(fn, p->ctx, p->rsize, p->ralign,
                                mffi__fast_call, args);
    g0 = (uint64_t)(uintptr_t)ret;
  } else {
    g0 = x64_ld(args, &p->src[0]);
  }
  X64_CALL(void);
  mffi__errno_save();
  return MFFI_OK;
}

/* The routines of the register-returning classes, one per class and use of
** the stack words, chosen at bind time (x64_regs_entry): no switch, so no
** jump table, on the call. */
#define X64_REGS_FN(name, T, CALL, STORE)                                      \
  static int name(mffi_fn *fn, void *ret, void *const *args) {                 \
    const mffi__fast *p = fn->data;                                            \
    if (!args && p->nargs)                                                     \
      return mffi__err(p->ctx, MFFI_EMISUSE, "args is NULL");                  \
    uint64_t g0 = x64_ld(args, &p->src[0]);                                    \
    T v = CALL;                                                                \
    mffi__errno_save();                                                        \
    if (ret) {                                                                 \
      unsigned char b_[16];                                                    \
      STORE;                                                                   \
      x64_store(ret, b_, p->rsize);                                            \
    }                                                                          \
    return MFFI_OK;                                                            \
  }
#define X64_R(T) ((T(*)(X64_PARAMS))fn->addr)(X64_ARGS)
#define X64_S(T) ((T(*)(X64_SPARAMS))fn->addr)(X64_SARGS)
#define X64_ST1 memcpy(b_, &v, 8)
#define X64_ST2 (memcpy(b_, &v.a, 8), memcpy(b_ + 8, &v.b, 8))
#define X64_REGS_PAIR(cls, T, ST)                                              \
  X64_REGS_FN(x64_regs_##cls, T, X64_R(T), ST)                                 \
  X64_REGS_FN(x64_regs_##cls##_s, T, X64_S(T), ST)
X64_REGS_PAIR(int, uint64_t, X64_ST1)
X64_REGS_PAIR(sse, double, X64_ST1)
X64_REGS_PAIR(int2, x64_ii, X64_ST2)
X64_REGS_PAIR(sse2, x64_ss, X64_ST2)
X64_REGS_PAIR(intsse, x64_is, X64_ST2)
X64_REGS_PAIR(sseint, x64_si, X64_ST2)

/* The register routine for p: its class's own, or x64_regs_call for void
** and memory returns. */
static mffi_call_fn x64_regs_entry(const mffi__fast *p) {
  static const mffi_call_fn by_class[RC_MEM + 1][2] = {
      [RC_INT] = {x64_regs_int, x64_regs_int_s},
      [RC_SSE] = {x64_regs_sse, x64_regs_sse_s},
      [RC_INT2] = {x64_regs_int2, x64_regs_int2_s},
      [RC_SSE2] = {x64_regs_sse2, x64_regs_sse2_s},
      [RC_INTSSE] = {x64_regs_intsse, x64_regs_intsse_s},
      [RC_SSEINT] = {x64_regs_sseint, x64_regs_sseint_s},
  };
  mffi_call_fn f = by_class[p->rclass][p->stk];
  return f ? f : x64_regs_call;
}

/* -- Specialized shapes ---------------------------------------------------- */

/* The commonest signatures get a routine of their own, so a call is one
** jump into it, direct loads and one indirect call to the target:
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

/* The shape letter of an argument or return value with the given pieces:
** FS_N_i (4 bytes in an integer register), _p (8 bytes), _d (8 bytes in an
** SSE register, a double or struct { float x, y; }), or -1. */
static int x64_shape_kind(const mffi__piece *c, uint32_t n) {
  if (n != 1 || c->loc == MFFI__LOC_STACK || c->loc == MFFI__LOC_X87)
    return -1;
  if (c->loc == MFFI__LOC_FP)
    return c->len == 8 && c->conv == MFFI__CV_COPY ? FS_N_d : -1;
  return c->len == 4 ? FS_N_i : c->len == 8 ? FS_N_p : -1;
}

static mffi_call_fn x64_shape(const mffi__cplan *plan) {
  if (plan->msabi || plan->variadic || plan->nargs > 6 || plan->ret_mem ||
      !plan->runnable)
    return NULL; /* The prototype assigns System V registers. */
  int r = plan->nret == 0 ? FS_N_v : x64_shape_kind(plan->rp, plan->nret);
  if (r < 0) return NULL;
  int k[3] = {0, 0, 0};
  for (uint32_t i = 0; i < plan->nargs; i++) {
    const mffi__aplan *a = &plan->args[i];
    int s = x64_shape_kind(&plan->pieces[a->first], a->npieces);
    if (s <= 0) return NULL;
    if (plan->nargs > 3 && s != FS_N_p) return NULL;
    if (i < 3 && plan->nargs <= 3) k[i] = s;
  }
  return x64_shapes[FS_IDX(r, (int)plan->nargs, k[0], k[1], k[2])];
}

mffi_call_fn mffi__fast_entry(const mffi__fast *p) {
  if (p->jit) return p->jit;
  if (p->shape) return p->shape;
  return p->rclass != RC_NONE ? x64_regs_entry(p) : mffi__fast_call;
}

#endif
