/* x86-64 System V closures that run on the call plan. See LICENSE.
**
** A closure's code is a slot of a trampoline page: three instructions that
** load the closure's state into %r10 (the static chain register, free in
** every call) and jump to mffi__x64_clo_entry, both read rip-relative from
** the data page that follows the code page. The code page is written once,
** when it is mapped, then made read+execute; only its data page is written
** afterwards, so no page is ever writable while code in it may run.
** The entry spills the argument registers (%rdi..%r9, %rax, all of
** %xmm0-7) into a frame on the stack, records where the caller's stack
** arguments start, and calls mffi__x64_clo_dispatch, which builds the
** handler's argument array from the plan: pointers straight into the frame
** or the caller's stack where a value lies whole, a local copy for an
** aggregate split across registers or a float passed as a double
** (variadic). It then puts the return value where the entry loads %rax,
** %rdx, %xmm0, %xmm1 and %st0 from (a plan with no floating-point value
** takes mffi__x64_clo_entry_int, which leaves the vector registers alone).
** Plans this file does not know (pieces it was not written for,
** over-aligned stack arguments) are left to libffi's closures (ffi.c).
*/
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "call/call.h"

#ifdef MFFI__ABI_X64_SYSV

/* -- The frame and the entry ----------------------------------------------- */

typedef struct clo_frame {
  uint64_t gpr[6];                       /* %rdi %rsi %rdx %rcx %r8 %r9 */
  uint64_t rax;                          /* %al: SSE registers used. */
  unsigned char *stack;                  /* The caller's stack arguments. */
  _Alignas(16) unsigned char xmm[8][16]; /* %xmm0-7, whole. */
  uint64_t r_rax, r_rdx;                 /* Results. */
  _Alignas(16) unsigned char r_xmm[2][16];
  _Alignas(16) unsigned char r_st[2][16]; /* %st0, %st1. */
} clo_frame;

_Static_assert(offsetof(clo_frame, rax) == 48, "rax");
_Static_assert(offsetof(clo_frame, stack) == 56, "stack");
_Static_assert(offsetof(clo_frame, xmm) == 64, "xmm");
_Static_assert(offsetof(clo_frame, r_rax) == 192, "r_rax");
_Static_assert(offsetof(clo_frame, r_xmm) == 208, "r_xmm");
_Static_assert(offsetof(clo_frame, r_st) == 240, "r_st");
_Static_assert(sizeof(clo_frame) == 272, "frame size");

__attribute__((visibility("hidden"))) int
mffi__x64_clo_dispatch(const mffi__pclo *p, clo_frame *f);
__attribute__((visibility("hidden"))) void mffi__x64_clo_entry(void);
__attribute__((visibility("hidden"))) void mffi__x64_clo_entry_int(void);
__attribute__((visibility("hidden"))) void mffi__x64_clo_entry_ms(void);

/* The head both entries share: a frame (the stack pointer is 16-aligned
** after the push, so the frame and the call are too), the integer
** registers, %rax (SSE registers used, for variadic callers) and where the
** caller's stack arguments start. */
/* clang-format off */
#define CLO_ENTRY_HEAD(name)                                                   \
        ".text\n"                                                              \
        ".p2align 4\n"                                                         \
        ".globl " name "\n"                                                    \
        ".hidden " name "\n"                                                   \
        ".type " name ", @function\n"                                          \
        name ":\n"                                                             \
        ".cfi_startproc\n"                                                     \
        "  endbr64\n"                                                          \
        "  pushq %rbp\n"                                                       \
        ".cfi_def_cfa_offset 16\n"                                             \
        ".cfi_offset %rbp, -16\n"                                              \
        "  movq %rsp, %rbp\n"                                                  \
        ".cfi_def_cfa_register %rbp\n"                                         \
        "  subq $272, %rsp\n"                                                  \
        "  movq %rdi, 0(%rsp)\n"                                               \
        "  movq %rsi, 8(%rsp)\n"                                               \
        "  movq %rdx, 16(%rsp)\n"                                              \
        "  movq %rcx, 24(%rsp)\n"                                              \
        "  movq %r8, 32(%rsp)\n"                                               \
        "  movq %r9, 40(%rsp)\n"                                               \
        "  movq %rax, 48(%rsp)\n"                                              \
        "  leaq 16(%rbp), %rax\n"                                              \
        "  movq %rax, 56(%rsp)\n"

/* The dispatcher returns the x87 registers of the result: 1 for %st0, 2
** for %st0 and %st1 (loaded %st1 first, so that it ends up below). */
__asm__(CLO_ENTRY_HEAD("mffi__x64_clo_entry")
        "  movaps %xmm0, 64(%rsp)\n"
        "  movaps %xmm1, 80(%rsp)\n"
        "  movaps %xmm2, 96(%rsp)\n"
        "  movaps %xmm3, 112(%rsp)\n"
        "  movaps %xmm4, 128(%rsp)\n"
        "  movaps %xmm5, 144(%rsp)\n"
        "  movaps %xmm6, 160(%rsp)\n"
        "  movaps %xmm7, 176(%rsp)\n"
        "  movq %r10, %rdi\n"
        "  movq %rsp, %rsi\n"
        "  call mffi__x64_clo_dispatch\n"
        "  movl %eax, %ecx\n"
        "  movq 192(%rsp), %rax\n"
        "  movq 200(%rsp), %rdx\n"
        "  movaps 208(%rsp), %xmm0\n"
        "  movaps 224(%rsp), %xmm1\n"
        "  cmpl $2, %ecx\n"
        "  jb 1f\n"
        "  fldt 256(%rsp)\n"
        "1:\n"
        "  testl %ecx, %ecx\n"
        "  jz 2f\n"
        "  fldt 240(%rsp)\n"
        "2:\n"
        "  leave\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size mffi__x64_clo_entry, .-mffi__x64_clo_entry\n");

/* The same for plans without floating-point arguments or results: the
** vector registers are neither spilled nor loaded. */
__asm__(CLO_ENTRY_HEAD("mffi__x64_clo_entry_int")
        "  movq %r10, %rdi\n"
        "  movq %rsp, %rsi\n"
        "  call mffi__x64_clo_dispatch\n"
        "  movq 192(%rsp), %rax\n"
        "  movq 200(%rsp), %rdx\n"
        "  leave\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size mffi__x64_clo_entry_int, .-mffi__x64_clo_entry_int\n");

/* The entry of ms_abi closures (x86_64_ms.c): %rcx, %rdx, %r8, %r9 and
** %xmm0-3 go where the plan's register numbers say (the System V slots of
** the same registers), the stack area starts at the caller's home area,
** and the registers the Microsoft convention has the callee keep that
** System V code may change (%rsi, %rdi, %xmm6-15) are saved above the
** frame around the dispatcher. Results: %rax or %xmm0. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl mffi__x64_clo_entry_ms\n"
        ".hidden mffi__x64_clo_entry_ms\n"
        ".type mffi__x64_clo_entry_ms, @function\n"
        "mffi__x64_clo_entry_ms:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "  subq $448, %rsp\n"
        "  movq %rsi, 272(%rsp)\n"
        ".cfi_offset %rsi, -192\n"
        "  movq %rdi, 280(%rsp)\n"
        ".cfi_offset %rdi, -184\n"
        "  movaps %xmm6, 288(%rsp)\n"
        "  movaps %xmm7, 304(%rsp)\n"
        "  movaps %xmm8, 320(%rsp)\n"
        "  movaps %xmm9, 336(%rsp)\n"
        "  movaps %xmm10, 352(%rsp)\n"
        "  movaps %xmm11, 368(%rsp)\n"
        "  movaps %xmm12, 384(%rsp)\n"
        "  movaps %xmm13, 400(%rsp)\n"
        "  movaps %xmm14, 416(%rsp)\n"
        "  movaps %xmm15, 432(%rsp)\n"
        "  movq %rdx, 16(%rsp)\n"
        "  movq %rcx, 24(%rsp)\n"
        "  movq %r8, 32(%rsp)\n"
        "  movq %r9, 40(%rsp)\n"
        "  leaq 16(%rbp), %rax\n"
        "  movq %rax, 56(%rsp)\n"
        "  movaps %xmm0, 64(%rsp)\n"
        "  movaps %xmm1, 80(%rsp)\n"
        "  movaps %xmm2, 96(%rsp)\n"
        "  movaps %xmm3, 112(%rsp)\n"
        "  movq %r10, %rdi\n"
        "  movq %rsp, %rsi\n"
        "  call mffi__x64_clo_dispatch\n"
        "  movq 192(%rsp), %rax\n"
        "  movaps 208(%rsp), %xmm0\n"
        "  movq 272(%rsp), %rsi\n"
        "  movq 280(%rsp), %rdi\n"
        "  movaps 288(%rsp), %xmm6\n"
        "  movaps 304(%rsp), %xmm7\n"
        "  movaps 320(%rsp), %xmm8\n"
        "  movaps 336(%rsp), %xmm9\n"
        "  movaps 352(%rsp), %xmm10\n"
        "  movaps 368(%rsp), %xmm11\n"
        "  movaps 384(%rsp), %xmm12\n"
        "  movaps 400(%rsp), %xmm13\n"
        "  movaps 416(%rsp), %xmm14\n"
        "  movaps 432(%rsp), %xmm15\n"
        "  leave\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size mffi__x64_clo_entry_ms, .-mffi__x64_clo_entry_ms\n");
/* clang-format on */

/* -- Trampoline pages ------------------------------------------------------ */

/* A slot: endbr64; movq D(%rip), %r10; jmpq *D+8(%rip); int3 padding. Its
** data (state, entry) lie at the same index in the data page. */
#define SLOT_SIZE 32
#define SLOT_DATA 16

static pthread_mutex_t tp_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char **tp_free; /* Free slots, a stack. */
static size_t tp_nfree, tp_capfree;
static size_t tp_total;   /* Slots mapped. */
static size_t tp_reserve; /* > 0: the slots were mapped up front. */
static bool tp_noexec;    /* Executable memory cannot be had. */

static size_t tp_ps; /* The page size, once a page is mapped. */

/* The data words of slot s. Under tp_lock. */
static void **tp_data(unsigned char *s) {
  size_t ps = tp_ps;
  uintptr_t base = (uintptr_t)s & ~(uintptr_t)(ps - 1);
  size_t i = ((uintptr_t)s - base) / SLOT_SIZE;
  return (void **)(base + ps + i * SLOT_DATA);
}

static void tp_put32(unsigned char *p, int32_t v) {
  memcpy(p, &v, 4);
}

/* Map one code page and its data page, push its slots. Under tp_lock.
** false if the memory cannot be had (tp_noexec set when it is the
** execute permission that is refused). */
static bool tp_grow(void) {
  if (!tp_ps) {
    long v = sysconf(_SC_PAGESIZE);
    tp_ps = v > 0 ? (size_t)v : 4096;
  }
  size_t ps = tp_ps, n = ps / SLOT_SIZE;
  /* Room for every slot there will be: all may be free at once. */
  if (tp_total + n > tp_capfree) {
    unsigned char **fs = realloc(tp_free, (tp_total + n) * sizeof *fs);
    if (!fs) return false;
    tp_free = fs;
    tp_capfree = tp_total + n;
  }
  unsigned char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return false;
  memset(m, 0xcc, ps);
  for (size_t i = 0; i < n; i++) {
    unsigned char *s = m + i * SLOT_SIZE;
    int32_t d = (int32_t)(ps + i * SLOT_DATA - i * SLOT_SIZE);
    static const unsigned char endbr[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    memcpy(s, endbr, 4);
    s[4] = 0x4c, s[5] = 0x8b, s[6] = 0x15; /* movq rel32(%rip), %r10 */
    tp_put32(s + 7, d - 11);
    s[11] = 0xff, s[12] = 0x25; /* jmpq *rel32(%rip) */
    tp_put32(s + 13, d + 8 - 17);
  }
  if (mprotect(m, ps, PROT_READ | PROT_EXEC) != 0) {
    munmap(m, 2 * ps);
    tp_noexec = true;
    return false;
  }
  /* Pushed in reverse, so that slots are handed out in address order. */
  for (size_t i = n; i-- > 0;)
    tp_free[tp_nfree++] = m + i * SLOT_SIZE;
  tp_total += n;
  return true;
}

/* A free slot bound to state p and entry, or NULL: *reserve is then the
** size of the reserve that ran out, or 0 (no executable memory). */
static unsigned char *tp_take(void *p, void (*entry)(void), size_t *reserve) {
  unsigned char *s = NULL;
  *reserve = 0;
  pthread_mutex_lock(&tp_lock);
  if (tp_nfree == 0 && !tp_reserve && !tp_noexec) tp_grow();
  if (tp_nfree > 0) {
    s = tp_free[--tp_nfree];
    void **d = tp_data(s);
    d[0] = p;
    d[1] = (void *)(uintptr_t)entry;
  } else if (!tp_noexec) {
    *reserve = tp_reserve;
  }
  pthread_mutex_unlock(&tp_lock);
  return s;
}

static void tp_give(unsigned char *s) {
  pthread_mutex_lock(&tp_lock);
  tp_data(s)[0] = NULL;
  tp_free[tp_nfree++] = s; /* Room: every slot was pushed once. */
  pthread_mutex_unlock(&tp_lock);
}

int mffi__pclo_reserve(size_t n) {
  int rc = MFFI_OK;
  pthread_mutex_lock(&tp_lock);
  if (tp_reserve || n == 0) {
    rc = MFFI_EMISUSE;
  } else {
    while (tp_nfree < n && tp_grow()) {
    }
    if (tp_nfree < n) {
      rc = tp_noexec ? 1 : MFFI_ENOMEM;
      tp_noexec = true; /* Plan closures are off: libffi's reserve serves. */
      tp_nfree = 0;
    } else {
      /* Only n of the slots count: the same limit as libffi's reserve. */
      tp_nfree = n;
    }
    tp_reserve = n;
  }
  pthread_mutex_unlock(&tp_lock);
  return rc;
}

/* -- Closure state --------------------------------------------------------- */

enum {              /* How the handler's pointer to an argument is made. */
       A_FRAME = 0, /* Into the frame, at byte `at`. */
       A_STACK = 1, /* Into the caller's stack area, at byte `at`. */
       A_D2F_FRAME, /* A float passed as a double in the frame: narrowed. */
       A_D2F_STACK, /* ... on the stack. */
       A_COPY,      /* Reassembled from pieces (first, npieces). */
       A_EMPTY,     /* Nothing passed (empty struct): a zeroed buffer. */
       A_REF_FRAME, /* By reference (ms_abi): the address in the frame, */
       A_REF_STACK  /* or in the caller's stack area, at byte `at`. */
};

typedef struct clo_arg {
  uint8_t how;     /* A_*. */
  uint8_t npieces; /* A_COPY. */
  uint16_t buf;    /* Local buffer (A_D2F_*, A_COPY, A_EMPTY). */
  uint32_t at;     /* Byte offset in the frame or the stack area; A_COPY:
                      the first copy. */
} clo_arg;

typedef struct clo_copy {
  uint16_t from; /* Frame offset. */
  uint8_t off;   /* Offset in the value. */
  uint8_t len;
} clo_copy;

enum { R_VOID, R_MEM, R_REGS, R_X87 };

struct mffi__pclo {
  mffi_closure *c;
  unsigned char *slot;
  uint32_t nargs;
  uint16_t nbuf;
  uint8_t rmode; /* R_*. */
  uint8_t rsext; /* A signed integer result of rsize < 8 bytes. */
  uint8_t nret;  /* R_REGS: pieces. */
  uint8_t ret_reg; /* R_MEM: the hidden pointer's integer register. */
  bool simple;   /* Every argument is A_FRAME or A_STACK. */
  bool nofp;     /* No vector register is read or written. */
  uint32_t rsize;
  clo_copy rp[2]; /* R_REGS: from the result buffer into the frame. */
  clo_copy *copies;
  clo_arg args[];
};

typedef struct clo_buf {
  _Alignas(16) unsigned char b[16];
} clo_buf;

/* The frame offset of a register piece, or -1 if this file does not know
** the piece. */
static int clo_reg_at(const mffi__piece *pc, bool ret) {
  if (pc->len == 0 || pc->off + pc->len > 16) return -1;
  /* An integer register holds 8 bytes, a vector register 16 (a 16-byte
  ** piece is a whole SSE register: SSE and SSEUP). */
  if (pc->len > (pc->loc == MFFI__LOC_FP ? 16u : 8u) || pc->off % 8) return -1;
  if (pc->loc == MFFI__LOC_INT && pc->idx < (ret ? 2u : 6u))
    return ret ? (int)(offsetof(clo_frame, r_rax) + 8 * pc->idx)
               : (int)(8 * pc->idx);
  if (pc->loc == MFFI__LOC_FP && pc->idx < (ret ? 2u : 8u))
    return ret ? (int)(offsetof(clo_frame, r_xmm) + 16 * pc->idx)
               : (int)(offsetof(clo_frame, xmm) + 16 * pc->idx);
  return -1;
}

/* The return value's mode; false if unknown. */
static bool clo_plan_ret(const mffi__tt *tt, const mffi__cplan *pl,
                         mffi__pclo *p) {
  size_t sz;
  mffi__vkind k = mffi__value_kind(tt, pl->ret, &sz);
  p->rsize = (uint32_t)sz;
  if (k == MFFI__V_VOID) {
    p->rmode = R_VOID;
    return true;
  }
  if (pl->ret_mem) {
    p->rmode = R_MEM;
    return true;
  }
  if (pl->nret >= 1 && pl->rp[0].loc == MFFI__LOC_X87) {
    /* long double, struct { long double }: %st0; complex long double:
    ** %st0 and %st1, 16 bytes each. */
    if (pl->nret > 2 || sz > 32) return false;
    for (uint32_t j = 0; j < pl->nret; j++)
      if (pl->rp[j].loc != MFFI__LOC_X87 || pl->rp[j].idx != j ||
          pl->rp[j].off != 16 * j || pl->rp[j].len > 16)
        return false;
    p->rmode = R_X87;
    p->nret = pl->nret;
    return true;
  }
  if (sz > 16) return false;
  if (pl->nret > 2) return false;
  p->rmode = R_REGS;
  p->rsext = k == MFFI__V_SINT && sz < 8;
  for (uint32_t j = 0; j < pl->nret; j++) {
    int at = clo_reg_at(&pl->rp[j], true);
    if (at < 0 || pl->rp[j].off + pl->rp[j].len > sz) return false;
    p->rp[j] = (clo_copy){(uint16_t)at, (uint8_t)pl->rp[j].off,
                          (uint8_t)pl->rp[j].len};
  }
  p->nret = pl->nret;
  return true;
}

/* Argument i's op; false if unknown. */
static bool clo_plan_arg(const mffi__tt *tt, const mffi__cplan *pl,
                         mffi__pclo *p, uint32_t i, uint32_t *ncopy) {
  const mffi__aplan *a = &pl->args[i];
  const mffi__piece *pc = &pl->pieces[a->first];
  clo_arg *o = &p->args[i];
  size_t sz;
  mffi__vkind k = mffi__value_kind(tt, a->tid, &sz);
  bool d2f = a->prom == MFFI__CV_F2D;
  uint32_t npieces = a->npieces;
  if (npieces == 1 && pc->conv == MFFI__CV_REF) { /* The caller's copy. */
    bool st = pc->loc == MFFI__LOC_STACK;
    if (!st && (pc->loc != MFFI__LOC_INT || pc->idx >= 6)) return false;
    *o = (clo_arg){st ? A_REF_STACK : A_REF_FRAME, 0, 0,
                   st ? pc->at : 8 * pc->idx};
    return true;
  }
  /* A variadic double of ms_abi comes in its vector and its integer
  ** register: the first is read. */
  if (pl->msabi && npieces == 2 && pc[0].loc == MFFI__LOC_FP &&
      pc[1].loc == MFFI__LOC_INT && pc[0].off == pc[1].off)
    npieces = 1;
  if (a->npieces == 0) {
    if (sz != 0 || k != MFFI__V_AGG) return false;
    *o = (clo_arg){A_EMPTY, 0, p->nbuf++, 0};
    return true;
  }
  if (a->npieces == 1 && pc->loc == MFFI__LOC_STACK) {
    *o = (clo_arg){d2f ? A_D2F_STACK : A_STACK, 0, 0, pc->at};
    if (d2f) o->buf = p->nbuf++;
    return true;
  }
  if (k == MFFI__V_LDOUBLE || k == MFFI__V_BAD || k == MFFI__V_VOID)
    return false;
  /* Register pieces: at most two, known, covering the value. */
  if (npieces > 2 || sz > 16) return false;
  int at[2];
  for (uint32_t j = 0; j < npieces; j++) {
    at[j] = clo_reg_at(&pc[j], false);
    if (at[j] < 0 || pc[j].loc == MFFI__LOC_STACK) return false;
  }
  if (npieces == 1) {
    /* Scalars and one-register aggregates lie whole in their slot. */
    *o = (clo_arg){d2f ? A_D2F_FRAME : A_FRAME, 0, 0, (uint32_t)at[0]};
    if (d2f) o->buf = p->nbuf++;
    return pc[0].off == 0;
  }
  size_t al = mffi__type_scalar(tt, a->tid)->align;
  if (pc[0].loc == MFFI__LOC_INT && pc[1].loc == MFFI__LOC_INT &&
      pc[1].idx == pc[0].idx + 1 && pc[0].off == 0 && pc[1].off == 8 &&
      al <= 8) {
    *o = (clo_arg){A_FRAME, 0, 0, (uint32_t)at[0]};
    return true;
  }
  *o = (clo_arg){A_COPY, (uint8_t)npieces, p->nbuf++, *ncopy};
  for (uint32_t j = 0; j < npieces; j++)
    p->copies[(*ncopy)++] =
        (clo_copy){(uint16_t)at[j], (uint8_t)pc[j].off, (uint8_t)pc[j].len};
  return true;
}

int mffi__pclo_new(mffi_closure *c, mffi__cplan *plan, mffi__pclo **out,
                   void **code) {
  mffi_ctx *ctx = plan->ctx;
  const mffi__tt *tt = &ctx->tt;
  *out = NULL;
  if (!plan->runnable || plan->over) return 1;
  size_t n = plan->nargs;
  mffi__pclo *p = mffi__calloc(ctx, sizeof *p + n * sizeof(clo_arg) +
                                        2 * n * sizeof(clo_copy) + 1);
  if (!p) return mffi__nomem(ctx);
  p->c = c;
  p->nargs = plan->nargs;
  p->ret_reg = plan->ret_reg;
  p->copies = (clo_copy *)(void *)((unsigned char *)p + sizeof *p +
                                   n * sizeof(clo_arg));
  uint32_t ncopy = 0;
  bool ok = clo_plan_ret(tt, plan, p);
  for (uint32_t i = 0; ok && i < plan->nargs; i++)
    ok = clo_plan_arg(tt, plan, p, i, &ncopy);
  if (!ok) {
    mffi__free(ctx, p);
    return 1;
  }
  p->simple = true;
  for (uint32_t i = 0; i < plan->nargs; i++)
    if (p->args[i].how != A_FRAME && p->args[i].how != A_STACK)
      p->simple = false;
  p->nofp = p->rmode != R_X87;
  for (uint32_t j = 0; j < plan->npieces; j++)
    if (plan->pieces[j].loc == MFFI__LOC_FP) p->nofp = false;
  for (uint32_t j = 0; j < plan->nret; j++)
    if (plan->rp[j].loc != MFFI__LOC_INT) p->nofp = false;
  size_t reserve;
  p->slot = tp_take(p,
                    plan->msabi ? mffi__x64_clo_entry_ms
                    : p->nofp   ? mffi__x64_clo_entry_int
                                : mffi__x64_clo_entry,
                    &reserve);
  if (!p->slot) {
    mffi__free(ctx, p);
    if (!reserve) return 1;
    return mffi__closure_reserve_full(ctx, reserve);
  }
  mffi__cplan_free(plan); /* All it says is in p now. */
  *out = p;
  *code = p->slot;
  return MFFI_OK;
}

void mffi__pclo_free(mffi_ctx *ctx, mffi__pclo *p) {
  if (!p) return;
  tp_give(p->slot);
  mffi__free(ctx, p);
}

/* -- The dispatcher -------------------------------------------------------- */

static inline void clo_d2f(const unsigned char *src, unsigned char *dst) {
  double d;
  memcpy(&d, src, sizeof d);
  float x = (float)d;
  memcpy(dst, &x, sizeof x);
}

/* The handler's arguments into args, from the frame f. */
static void clo_args(const mffi__pclo *p, clo_frame *f, void **args,
                     clo_buf *tmp) {
  unsigned char *fr = (unsigned char *)f;
  for (uint32_t i = 0; i < p->nargs; i++) {
    const clo_arg *a = &p->args[i];
    switch (a->how) {
    case A_FRAME: args[i] = fr + a->at; break;
    case A_STACK: args[i] = f->stack + a->at; break;
    case A_D2F_FRAME:
      clo_d2f(fr + a->at, tmp[a->buf].b);
      args[i] = tmp[a->buf].b;
      break;
    case A_D2F_STACK:
      clo_d2f(f->stack + a->at, tmp[a->buf].b);
      args[i] = tmp[a->buf].b;
      break;
    case A_COPY: {
      unsigned char *b = tmp[a->buf].b;
      memset(b, 0, sizeof tmp[0].b);
      for (uint32_t j = 0; j < a->npieces; j++) {
        const clo_copy *cp = &p->copies[a->at + j];
        memcpy(b + cp->off, fr + cp->from, cp->len);
      }
      args[i] = b;
      break;
    }
    case A_REF_FRAME: memcpy(&args[i], fr + a->at, sizeof args[i]); break;
    case A_REF_STACK: memcpy(&args[i], f->stack + a->at, sizeof args[i]); break;
    default:
      memset(tmp[a->buf].b, 0, sizeof tmp[0].b);
      args[i] = tmp[a->buf].b;
      break;
    }
  }
}

/* h(ret, args, data), through a direct call to an indirect jump: cheaper
** than the indirect call the compiler would make (x86_64_fast.c). */
void mffi__x64_run_handler(void *ret, void *const *args, void *data,
                           mffi_handler h);
/* clang-format off */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl mffi__x64_run_handler\n"
        ".hidden mffi__x64_run_handler\n"
        ".type mffi__x64_run_handler, @function\n"
        "mffi__x64_run_handler:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  jmpq *%rcx\n"
        ".cfi_endproc\n"
        ".size mffi__x64_run_handler, .-mffi__x64_run_handler\n");
/* clang-format on */

static inline void clo_handler(const mffi_closure *c, void *ret,
                               void *const *args) {
  mffi__x64_run_handler(ret, args, c->hdata, c->handler);
}

/* Run the handler with args and put its result where the entry loads the
** return registers from; 1 if that is %st0. */
static inline __attribute__((always_inline)) int
clo_run(const mffi__pclo *p, clo_frame *f, void *const *args) {
  const mffi_closure *c = p->c;
  clo_buf rb;
  switch (p->rmode) {
  case R_VOID: clo_handler(c, NULL, args); return 0;
  case R_MEM: {
    void *dst = (void *)(uintptr_t)f->gpr[p->ret_reg];
    memset(dst, 0, p->rsize);
    clo_handler(c, dst, args);
    f->r_rax = (uint64_t)(uintptr_t)dst;
    return 0;
  }
  case R_X87: {
    clo_buf x[2];
    memset(x, 0, sizeof x);
    clo_handler(c, x, args);
    memcpy(f->r_st, x, sizeof x);
    return p->nret;
  }
  default: break;
  }
  memset(&rb, 0, sizeof rb);
  clo_handler(c, rb.b, args);
  unsigned char *fr = (unsigned char *)f;
  for (uint32_t j = 0; j < p->nret; j++) {
    const clo_copy *cp = &p->rp[j];
    if (cp->from >= offsetof(clo_frame, r_xmm)) { /* A vector register. */
      memcpy(fr + cp->from, rb.b + cp->off, cp->len);
      continue;
    }
    uint64_t v = mffi__load_bytes(rb.b + cp->off, cp->len);
    if (p->rsext) { /* Callers may rely on the extension (clang does). */
      unsigned sh = 64 - 8 * cp->len;
      v = (uint64_t)((int64_t)(v << sh) >> sh);
    }
    memcpy(fr + cp->from, &v, sizeof v);
  }
  return 0;
}

#define CLO_SMALL 8 /* Arguments of the simple path's fixed array. */

int mffi__x64_clo_dispatch(const mffi__pclo *p, clo_frame *f) {
  if (p->simple && p->nargs <= CLO_SMALL) {
    /* Pointers only: no buffers, no branches, no variable-length array. */
    void *args[CLO_SMALL];
    unsigned char *fr = (unsigned char *)f, *st = f->stack;
    for (uint32_t i = 0; i < p->nargs; i++)
      args[i] = (p->args[i].how == A_STACK ? st : fr) + p->args[i].at;
    return clo_run(p, f, args);
  }
  uint32_t n = p->nargs ? p->nargs : 1;
  void *args[n];
  clo_buf tmp[p->nbuf ? p->nbuf : 1];
  clo_args(p, f, args, tmp);
  return clo_run(p, f, args);
}

#endif
