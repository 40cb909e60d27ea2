/* x86-64 System V calls: machine code generated for each plan. See LICENSE.
**
** At bind time a plan becomes a routine of its own (mffi__jit_make), with
** the prototype of mffi_call_fn, that does what the plan says and nothing
** else: straight-line loads from the caller's argument pointers into the
** exact registers and stack slots, the call, the result stored at its exact
** size, errno saved: no loop, no branch on a piece. It keeps a frame-pointer
** frame, so frame-pointer unwinders (the sanitizers', perf's) walk through
** it, and has an .eh_frame of its own registered with libgcc's unwinder
** (Unwind tables, below), so table unwinders (backtrace(), C++ exceptions)
** do too; gdb reads no such registration, and is told of each routine
** through its JIT interface when MFFI_GDB=1 (gdbjit.c).
** The frame keeps ret at [%rbp - 8] (not in a callee-saved register, which
** would put the caller's value of it through memory) and fn->addr at
** [%rbp - 16], reached by a call to a `jmp [%rbp - 16]` after the code (an
** indirect call costs more). Registers: %r11 args, %rax the current
** argument's pointer, %rcx, %r10 and %xmm8 scratch. The stack slots are
** filled first (and the copies of by-reference values), while %rdi,
** %rsi and %rcx are free for `rep movsb`, then the SSE pieces of odd sizes
** (_Float16, struct { _Float16 x[3]; }: through %rcx), then the registers.
** SSE pieces of 16 bytes (vectors, _Float128) move with movups; x87
** results (long double, complex long double) are stored with fstpt, or
** popped when ret is NULL. Plans it does not know (anything new) are
** refused: x86_64_fast.c then runs them as before. So are
** the unusual calls (args NULL with arguments, ret NULL for a memory-class
** return): the routine jumps to mffi__fast_call, which handles them.
**
** The code lives in memory mapped twice from one memfd: written through a
** read-write view, run from a read-execute one, so no page is ever both, and
** no page that may be running changes protection. Slots of 64 << k bytes
** are carved from 64 KiB chunks and kept on a free list per size when the
** function is unbound, so bind/unbind cycles reuse them. After fork() the
** child copies every chunk into a memfd of its own (a MAP_SHARED view would
** let parent and child overwrite each other's free slots).
*/
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "call/call.h"
#include "call/gdbjit.h"

#ifdef MFFI__ABI_X64_SYSV

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17. */
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable even if memfd_noexec=1. */
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* Macros only: no library, no dependency. */
#define JIT_VALGRIND_NEW_CODE(p, n) VALGRIND_DISCARD_TRANSLATIONS(p, n)
#endif
#endif
#ifndef JIT_VALGRIND_NEW_CODE
#define JIT_VALGRIND_NEW_CODE(p, n) ((void)(p), (void)(n))
#endif

/* -- Executable memory ----------------------------------------------------- */

#define JIT_CHUNK (64 * 1024) /* Bytes mapped at a time. */
#define JIT_SLOT0 64          /* Smallest slot. */
#define JIT_NCLS 9            /* Slots of 64 << k bytes, up to 16 KiB. */
#define JIT_HDR 16            /* Slot header: its rw address and class. */
#define JIT_MAXCODE (((size_t)JIT_SLOT0 << (JIT_NCLS - 1)) - JIT_HDR)

/* A chunk's header, at the start of its rw view. */
typedef struct jit_chunk {
  unsigned char *rw, *rx; /* The two views of the same pages. */
  size_t used;            /* Bytes carved from it, header included. */
  struct jit_chunk *next;
} jit_chunk;

static struct {
  pthread_mutex_t mu;
  pthread_once_t once;
  atomic_bool on;  /* Off: MFFI_JIT=0, mffi__jit_enable(false). */
  bool failed;     /* Mapping failed: no new chunk, no retry per bind. */
  bool shared;     /* A fork child kept its parent's pages: no writes. */
  bool tls_ok;     /* errno saved through %fs (offsets below). */
  bool errno_ok;   /* errno itself read through %fs. */
  int32_t tls_ptr; /* %fs offsets of mffi__errno_ptr, mffi__errno_val, */
  int32_t tls_val;
  int32_t tls_errno; /* and of libc's errno. */
  jit_chunk *chunks; /* Newest first; slots are carved from the first. */
  unsigned char *freel[JIT_NCLS]; /* Free slots (rw; jit_hdr). */
  size_t mapped, live;
} J = {.mu = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

/* A memfd of one chunk's size, or -1. */
static int jit_fd(void) {
  int fd = memfd_create("modffi-jit", MFD_CLOEXEC | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("modffi-jit", MFD_CLOEXEC);
  if (fd >= 0 && ftruncate(fd, JIT_CHUNK) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* fd's read-execute view near this library's code, else anywhere: calls
** between the two (mffi_call into the routine, the routine back) were
** 0.5 ns faster a call here than across the address space (the branch
** predictors keep far targets less well). Below the code, next to the last
** chunk placed, then in 16 MiB steps; MAP_FIXED_NOREPLACE never replaces a
** mapping (an older kernel takes it as a hint: the address is checked). */
static void *jit_rx_near(int fd) {
  static uintptr_t last; /* Under J.mu. */
  uintptr_t text = (uintptr_t)&mffi__fast_call & ~(uintptr_t)(JIT_CHUNK - 1);
  for (int k = 0; k <= 32; k++) {
    uintptr_t step = (uintptr_t)k << 24, h;
    if (k == 0) {
      if (!last) continue;
      h = last - JIT_CHUNK;
    } else {
      if (text < step) break;
      h = text - step;
    }
    void *x = mmap((void *)h, JIT_CHUNK, PROT_READ | PROT_EXEC,
                   MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (x == (void *)h) {
      last = h;
      return x;
    }
    if (x != MAP_FAILED) munmap(x, JIT_CHUNK);
  }
  return mmap(NULL, JIT_CHUNK, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
}

/* Map fd read-write and read-execute: at *rw and *rx when fixed (replacing
** what is there), else anywhere (set). */
static int jit_views(int fd, unsigned char **rw, unsigned char **rx,
                     bool fixed) {
  int fl = MAP_SHARED | (fixed ? MAP_FIXED : 0);
  void *w =
      mmap(fixed ? *rw : NULL, JIT_CHUNK, PROT_READ | PROT_WRITE, fl, fd, 0);
  if (w == MAP_FAILED) return -1;
  void *x = fixed ? mmap(*rx, JIT_CHUNK, PROT_READ | PROT_EXEC, fl, fd, 0)
                  : jit_rx_near(fd);
  if (x == MAP_FAILED) {
    if (!fixed) munmap(w, JIT_CHUNK);
    return -1;
  }
  *rw = w;
  *rx = x;
  return 0;
}

/* A new chunk, or NULL. errno is kept. */
static jit_chunk *jit_chunk_new(void) {
  int saved = errno, fd = jit_fd();
  unsigned char *rw = NULL, *rx = NULL;
  int rc = fd < 0 ? -1 : jit_views(fd, &rw, &rx, false);
  if (fd >= 0) close(fd);
  errno = saved;
  if (rc != 0) return NULL;
  jit_chunk *c = (jit_chunk *)rw;
  *c = (jit_chunk){rw, rx, JIT_SLOT0, J.chunks};
  return c;
}

/* In the child of fork(): give every chunk pages of its own (a new memfd,
** the old contents), mapped over the same two addresses, so no pointer
** changes. J.mu is held (jit_prefork). If that fails, the child stops
** writing code (J.shared): it makes and frees none. */
static void jit_child(void) {
  int saved = errno;
  for (jit_chunk *c = J.chunks; c; c = c->next) {
    unsigned char *rw = c->rw, *rx = c->rx;
    void *tmp = MAP_FAILED;
    int fd = jit_fd();
    if (fd >= 0)
      tmp = mmap(NULL, JIT_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (tmp != MAP_FAILED) {
      memcpy(tmp, rw, JIT_CHUNK);
      munmap(tmp, JIT_CHUNK);
    }
    if (tmp == MAP_FAILED || jit_views(fd, &rw, &rx, true) != 0) {
      J.shared = J.failed = true;
      if (fd >= 0) close(fd);
      break;
    }
    close(fd);
  }
  errno = saved;
  pthread_mutex_unlock(&J.mu);
}

static void jit_prefork(void) {
  pthread_mutex_lock(&J.mu);
}
static void jit_parent(void) {
  pthread_mutex_unlock(&J.mu);
}

/* A slot: its header holds its class and its rw address; a free one links
** to the next free one (rw) and keeps its rx address after the header. */
typedef struct jit_hdr {
  uint32_t cls;
  uint32_t eh; /* Offset of its unwind table from the code, or 0. */
  unsigned char *rw;
  unsigned char *next, *rx; /* Free slots only, over the code. */
} jit_hdr;
_Static_assert(offsetof(jit_hdr, next) == JIT_HDR, "header");

/* Take a slot for n bytes of code: its rw address in *rw, its rx one
** returned (both past the header); NULL if there is none. */
static unsigned char *jit_alloc(size_t n, unsigned char **rw) {
  unsigned k = 0;
  while (k < JIT_NCLS && ((size_t)JIT_SLOT0 << k) < n + JIT_HDR)
    k++;
  if (k == JIT_NCLS) return NULL;
  size_t sz = (size_t)JIT_SLOT0 << k;
  unsigned char *w = NULL, *x = NULL;
  pthread_mutex_lock(&J.mu);
  if (J.shared) {
    w = NULL; /* The pages are the parent's too: no code is written. */
  } else if ((w = J.freel[k]) != NULL) {
    jit_hdr *h = (jit_hdr *)w;
    J.freel[k] = h->next;
    x = h->rx;
  } else if (!J.failed) {
    jit_chunk *c = J.chunks;
    if (!c || c->used + sz > JIT_CHUNK) {
      if (!(c = jit_chunk_new())) {
        J.failed = true; /* Silently: today's routines run. */
        goto out;
      }
      J.chunks = c;
      J.mapped += JIT_CHUNK;
    }
    w = c->rw + c->used;
    x = c->rx + c->used;
    c->used += sz;
    *(jit_hdr *)w = (jit_hdr){k, 0, w, NULL, NULL};
  }
  if (w) J.live++;
out:
  pthread_mutex_unlock(&J.mu);
  *rw = w ? w + JIT_HDR : NULL;
  return w ? x + JIT_HDR : NULL;
}

/* Give back the slot of code (an rx address from jit_alloc). */
static void jit_release(void *code) {
  const unsigned char *x = (const unsigned char *)code - JIT_HDR;
  pthread_mutex_lock(&J.mu);
  if (!J.shared) {
    jit_hdr *h = (jit_hdr *)((const jit_hdr *)x)->rw;
    h->next = J.freel[h->cls];
    h->rx = (unsigned char *)x;
    J.freel[h->cls] = (unsigned char *)h;
    J.live--;
  }
  pthread_mutex_unlock(&J.mu);
}

/* Saved by the routine when the %fs access cannot be used. */
static void jit_errno(void) {
  mffi__errno_save();
}

static void jit_init(void) {
  const char *e = getenv("MFFI_JIT");
  atomic_store(&J.on, !(e && e[0] == '0'));
  /* initial-exec TLS: the variables are at fixed offsets from the thread
  ** pointer (%fs:0 holds it), the same in every thread. Checked by a read. */
  uintptr_t tp;
  __asm__("movq %%fs:0, %0" : "=r"(tp));
  intptr_t p = (intptr_t)((uintptr_t)&mffi__errno_ptr - tp);
  intptr_t v = (intptr_t)((uintptr_t)&mffi__errno_val - tp);
  if (p == (int32_t)p && v == (int32_t)v) {
    int *keep_p = mffi__errno_ptr, keep_v = mffi__errno_val, *seen_p, seen_v;
    mffi__errno_ptr = (int *)&J; /* Sentinels, read back through %fs. */
    mffi__errno_val = 0x5a17;
    __asm__ volatile("movq %%fs:(%1), %0" : "=r"(seen_p) : "r"(p) : "memory");
    __asm__ volatile("movl %%fs:(%1), %0" : "=r"(seen_v) : "r"(v) : "memory");
    mffi__errno_ptr = keep_p;
    mffi__errno_val = keep_v;
    J.tls_ok = seen_p == (int *)&J && seen_v == 0x5a17;
    J.tls_ptr = (int32_t)p;
    J.tls_val = (int32_t)v;
  }
  /* libc's errno is in the static TLS of a library loaded at start: at the
  ** same offset in every thread too. Read directly, it saves the load of
  ** its address (0.2 ns a call). */
  intptr_t eo = (intptr_t)((uintptr_t)&errno - tp);
  if (J.tls_ok && eo == (int32_t)eo) {
    int keep = errno, seen;
    errno = 0x5a18;
    __asm__ volatile("movl %%fs:(%1), %0" : "=r"(seen) : "r"(eo) : "memory");
    errno = keep;
    J.errno_ok = seen == 0x5a18;
    J.tls_errno = (int32_t)eo;
  }
  pthread_atfork(jit_prefork, jit_parent, jit_child);
}

/* -- The assembler --------------------------------------------------------- */

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11 };
#define XMM8 8

typedef struct jit_buf {
  unsigned char *p;
  size_t n, cap;
} jit_buf;

static void b1(jit_buf *b, unsigned v) {
  if (b->n < b->cap) b->p[b->n] = (unsigned char)v;
  b->n++; /* Past cap: counted, not written (the routine is refused). */
}
static void b4(jit_buf *b, uint32_t v) {
  for (int i = 0; i < 4; i++)
    b1(b, (v >> (8 * i)) & 0xff);
}
static void b8(jit_buf *b, uint64_t v) {
  b4(b, (uint32_t)v);
  b4(b, (uint32_t)(v >> 32));
}

#define W 1    /* REX.W: 64-bit operand. */
#define BYTE 2 /* A byte register: REX even without other bits (%sil...). */

/* Mandatory prefix, REX, opcode (1-3 bytes, high first). */
static void op_head(jit_buf *b, unsigned pfx, unsigned fl, unsigned op, int reg,
                    int rm) {
  if (pfx) b1(b, pfx);
  unsigned rex =
      0x40 | ((fl & W) ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);
  if (rex != 0x40 || ((fl & BYTE) && reg >= 4)) b1(b, rex);
  if (op > 0xffff) b1(b, op >> 16);
  if (op > 0xff) b1(b, (op >> 8) & 0xff);
  b1(b, op & 0xff);
}

/* op reg, [base + disp]. */
static void op_mem(jit_buf *b, unsigned pfx, unsigned fl, unsigned op, int reg,
                   int base, int32_t disp) {
  op_head(b, pfx, fl, op, reg, base);
  unsigned mod = disp == 0 && (base & 7) != RBP ? 0
                 : disp == (int8_t)disp         ? 1
                                                : 2;
  b1(b, (mod << 6) | ((reg & 7) << 3) | (base & 7));
  if ((base & 7) == RSP) b1(b, 0x24);
  if (mod == 1) b1(b, (uint8_t)disp);
  if (mod == 2) b4(b, (uint32_t)disp);
}

/* op reg, rm (registers). */
static void op_reg(jit_buf *b, unsigned fl, unsigned op, int reg, int rm) {
  op_head(b, 0, fl, op, reg, rm);
  b1(b, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

static void mov_rr(jit_buf *b, int dst, int src) {
  op_reg(b, W, 0x89, src, dst);
}
/* Shift r left (ext 4) or right (ext 5) by n. */
static void shift(jit_buf *b, int ext, int r, unsigned n) {
  op_reg(b, W, 0xc1, ext, r);
  b1(b, n);
}
static void mov_imm64(jit_buf *b, int r, uint64_t v) {
  op_head(b, 0, W, 0xb8 + (r & 7), 0, r);
  b8(b, v);
}
/* A rel32 jump (op 0xe9) or jz (0x0f84) to be patched: its offset. */
static size_t jump(jit_buf *b, unsigned op) {
  if (op > 0xff) b1(b, op >> 8);
  b1(b, op & 0xff);
  b4(b, 0);
  return b->n - 4;
}
static void patch(jit_buf *b, size_t at, size_t to) {
  int32_t rel = (int32_t)((long)to - (long)(at + 4));
  for (int i = 0; i < 4; i++)
    if (at + i < b->cap)
      b->p[at + i] = (unsigned char)((uint32_t)rel >> (8 * i));
}

/* -- Pieces ---------------------------------------------------------------- */

static const int jit_gpr[6] = {RDI, RSI, RDX, RCX, R8, R9};

/* Whether the routine can move piece c. */
static bool jit_piece_ok(const mffi__piece *c) {
  if (c->conv == MFFI__CV_REF) /* An address, in a register or a slot. */
    return c->len >= 1 && (c->loc == MFFI__LOC_STACK ||
                           (c->loc == MFFI__LOC_INT && c->idx < 6));
  switch (c->loc) {
  case MFFI__LOC_INT:
    if (c->idx >= 6 || c->len < 1 || c->len > 8) return false;
    if (c->conv == MFFI__CV_COPY) return true;
    if (c->conv == MFFI__CV_F2D) return c->len == 4; /* ms_abi "...". */
    return (c->conv == MFFI__CV_SEXT || c->conv == MFFI__CV_ZEXT) &&
           (c->len == 1 || c->len == 2 || c->len == 4 || c->len == 8);
  case MFFI__LOC_FP: /* Also _Float16 (2), vectors and _Float128 (16). */
    if (c->idx >= 8) return false;
    if (c->conv == MFFI__CV_F2D) return c->len == 4;
    return c->conv == MFFI__CV_COPY &&
           ((c->len >= 1 && c->len <= 8) || c->len == 16);
  case MFFI__LOC_STACK:
    if (c->conv == MFFI__CV_COPY) return c->len >= 1;
    if (c->conv == MFFI__CV_F2D) return c->len == 4;
    return jit_piece_ok(
        &(mffi__piece){c->arg, MFFI__LOC_INT, c->conv, 0, c->off, c->len, 0});
  default: return false;
  }
}

/* An SSE piece of a size movss/movsd/movups cannot move: through %rcx. */
static bool jit_fp_odd(const mffi__piece *c) {
  return c->loc == MFFI__LOC_FP && c->conv == MFFI__CV_COPY && c->len != 4 &&
         c->len != 8 && c->len != 16;
}

/* Load the integer piece c of the value at [%rax] into r, zero- or
** sign-extended as it says (%r10 scratch). Reads only the value's bytes. */
static void ld_int(jit_buf *b, const mffi__piece *c, int r) {
  int32_t o = (int32_t)c->off;
  unsigned len = c->len;
  bool sx = c->conv == MFFI__CV_SEXT;
  switch (len) {
  case 8: op_mem(b, 0, W, 0x8b, r, RAX, o); return;
  case 4: op_mem(b, 0, sx ? W : 0, sx ? 0x63 : 0x8b, r, RAX, o); return;
  case 2: op_mem(b, 0, sx ? W : 0, sx ? 0x0fbf : 0x0fb7, r, RAX, o); return;
  case 1: op_mem(b, 0, sx ? W : 0, sx ? 0x0fbe : 0x0fb6, r, RAX, o); return;
  }
  if (c->off + len >= 8) { /* The 8 bytes ending with the piece. */
    op_mem(b, 0, W, 0x8b, r, RAX, o + (int32_t)len - 8);
    shift(b, 5, r, 8 * (8 - len));
    return;
  }
  /* A small aggregate: two overlapping loads (the shared byte ORs with
  ** itself). */
  unsigned w = len == 3 ? 2 : 4;
  unsigned op = w == 2 ? 0x0fb7 : 0x8b;
  op_mem(b, 0, 0, op, r, RAX, o);
  op_mem(b, 0, 0, op, R10, RAX, o + (int32_t)(len - w));
  shift(b, 4, R10, 8 * (len - w));
  op_reg(b, W, 0x09, R10, r); /* or r, r10 */
}

/* Stack piece c into [%rsp + c->at]. */
static void put_stack(jit_buf *b, const mffi__piece *c) {
  int32_t o = (int32_t)c->off, at = (int32_t)c->at, len = (int32_t)c->len;
  if (c->conv == MFFI__CV_F2D) {
    op_mem(b, 0xf3, 0, 0x0f5a, XMM8, RAX, o); /* cvtss2sd */
    op_mem(b, 0xf2, 0, 0x0f11, XMM8, RSP, at);
    return;
  }
  if (c->conv != MFFI__CV_COPY || len <= 8) {
    ld_int(b, c, RCX);
    op_mem(b, 0, W, 0x89, RCX, RSP, at);
    return;
  }
  if (len >= 256) { /* rep movsb: %rdi, %rsi, %rcx are free here. */
    op_mem(b, 0, W, 0x8d, RSI, RAX, o);
    op_mem(b, 0, W, 0x8d, RDI, RSP, at);
    b1(b, 0xb9); /* mov ecx, len */
    b4(b, (uint32_t)len);
    b1(b, 0xf3);
    b1(b, 0xa4);
    return;
  }
  if (len < 16) { /* Two overlapping eightbytes. */
    op_mem(b, 0, W, 0x8b, RCX, RAX, o);
    op_mem(b, 0, W, 0x89, RCX, RSP, at);
    op_mem(b, 0, W, 0x8b, RCX, RAX, o + len - 8);
    op_mem(b, 0, W, 0x89, RCX, RSP, at + len - 8);
    return;
  }
  for (int32_t k = 0;; k += 16) { /* movups; the last one overlapping. */
    if (k + 16 > len) k = len - 16;
    op_mem(b, 0, 0, 0x0f10, XMM8, RAX, o + k);
    op_mem(b, 0, 0, 0x0f11, XMM8, RSP, at + k);
    if (k + 16 >= len) break;
  }
}

/* movq xmm, gpr (66 REX.W 0F 6E) or movq gpr, xmm (66 REX.W 0F 7E). */
static void movq_xg(jit_buf *b, unsigned op, int xmm, int r) {
  op_head(b, 0x66, W, op, xmm, r);
  b1(b, 0xc0 | ((xmm & 7) << 3) | (r & 7));
}

/* Register piece c into its register. An odd-sized SSE piece takes %rcx
** (and %r10): the routine loads those before the integer registers. */
static void put_reg(jit_buf *b, const mffi__piece *c) {
  if (c->loc == MFFI__LOC_INT && c->conv == MFFI__CV_F2D) {
    op_mem(b, 0xf3, 0, 0x0f5a, XMM8, RAX, (int32_t)c->off); /* cvtss2sd */
    movq_xg(b, 0x0f7e, XMM8, jit_gpr[c->idx]);
    return;
  }
  if (c->loc == MFFI__LOC_INT) {
    ld_int(b, c, jit_gpr[c->idx]);
    return;
  }
  if (jit_fp_odd(c)) { /* Zero-extended into %rcx, then movq. */
    ld_int(b, c, RCX);
    movq_xg(b, 0x0f6e, (int)c->idx, RCX);
    return;
  }
  unsigned pfx = c->conv == MFFI__CV_F2D ? 0xf3
                 : c->len == 4           ? 0xf3
                 : c->len == 8           ? 0xf2
                                         : 0; /* movups */
  unsigned op = c->conv == MFFI__CV_F2D ? 0x0f5a : 0x0f10;
  op_mem(b, pfx, 0, op, (int)c->idx, RAX, (int32_t)c->off);
}

/* Store the low len (1-8) bytes of r at [%rsi + o] (%r10 scratch). */
static void st_int(jit_buf *b, int r, int32_t o, unsigned len) {
  switch (len) {
  case 8: op_mem(b, 0, W, 0x89, r, RSI, o); return;
  case 4: op_mem(b, 0, 0, 0x89, r, RSI, o); return;
  case 2: op_mem(b, 0x66, 0, 0x89, r, RSI, o); return;
  case 1: op_mem(b, 0, BYTE, 0x88, r, RSI, o); return;
  }
  /* 3, 5-7 bytes: two overlapping stores. */
  unsigned w = len == 3 ? 2 : 4;
  op_mem(b, w == 2 ? 0x66 : 0, 0, 0x89, r, RSI, o);
  mov_rr(b, R10, r);
  shift(b, 5, R10, 8 * (len - w));
  op_mem(b, w == 2 ? 0x66 : 0, 0, 0x89, R10, RSI, o + (int32_t)(len - w));
}

/* Store return piece c from its register into [%rsi + c->off]. x87 pieces
** pop %st0, so they come in slot order (jit_plan_ok). */
static void put_ret(jit_buf *b, const mffi__piece *c) {
  int32_t o = (int32_t)c->off;
  if (c->loc == MFFI__LOC_X87) {
    op_mem(b, 0, 0, 0xdb, 7, RSI, o); /* fstpt: the 10 bytes */
    return;
  }
  if (c->loc == MFFI__LOC_FP) {
    if (c->len == 4 || c->len == 8 || c->len == 16) {
      unsigned pfx = c->len == 4 ? 0xf3 : c->len == 8 ? 0xf2 : 0;
      op_mem(b, pfx, 0, 0x0f11, (int)c->idx, RSI, o);
      return;
    }
    movq_xg(b, 0x0f7e, (int)c->idx, RCX);
    st_int(b, RCX, o, c->len);
    return;
  }
  st_int(b, c->idx ? RDX : RAX, o, c->len);
}

/* -- Routines -------------------------------------------------------------- */

/* Whether the routine can run plan p. */
static bool jit_plan_ok(const mffi__cplan *p) {
  if (!p->runnable || p->salign == 0 || (p->salign & (p->salign - 1)) ||
      p->sbytes % 16 || p->rbytes % 16 || p->ret_reg >= 6 ||
      p->nargs > MFFI_MAX_ARGS)
    return false;
  uint32_t nx87 = 0;
  for (uint32_t i = 0; i < p->nret; i++) {
    const mffi__piece *c = &p->rp[i];
    if (c->idx > 1 || c->conv != MFFI__CV_COPY) return false;
    switch (c->loc) {
    case MFFI__LOC_INT:
      if (c->len < 1 || c->len > 8) return false;
      break;
    case MFFI__LOC_FP:
      if ((c->len < 1 || c->len > 8) && c->len != 16) return false;
      break;
    case MFFI__LOC_X87: /* Popped in order: %st0, then %st1. */
      if (c->idx != nx87++ || c->len < 10) return false;
      break;
    default: return false;
    }
  }
  for (uint32_t i = 0; i < p->npieces; i++)
    if (!jit_piece_ok(&p->pieces[i])) return false;
  return true;
}

/* %rax = args[arg], unless it holds it already. */
static void ld_arg(jit_buf *b, int *cur, unsigned arg) {
  if (*cur == (int)arg) return;
  op_mem(b, 0, W, 0x8b, RAX, R11, (int32_t)(8 * arg));
  *cur = (int)arg;
}

/* Where a routine's frame changes, as offsets in its code (jit_eh). */
typedef struct jit_cfi {
  uint32_t push, mov;      /* After push rbp, after mov rbp,rsp. */
  uint32_t leave, ret;     /* After leave, after ret. */
  uint32_t out;            /* The jump to mffi__fast_call, or 0. */
} jit_cfi;

/* The routine of plan p into b; its frame's changes into *cf. */
static void jit_emit(jit_buf *b, const mffi__cplan *p, jit_cfi *cf) {
  size_t to_slow[2];
  int nslow = 0;
  b4(b, 0xfa1e0ff3); /* endbr64 */
  if (p->nargs) {    /* test rdx, rdx; jz slow */
    op_reg(b, W, 0x85, RDX, RDX);
    to_slow[nslow++] = jump(b, 0x0f84);
  }
  if (p->ret_mem) { /* test rsi, rsi; jz slow */
    op_reg(b, W, 0x85, RSI, RSI);
    to_slow[nslow++] = jump(b, 0x0f84);
  }
  *cf = (jit_cfi){0};
  b1(b, 0x55); /* push rbp */
  cf->push = (uint32_t)b->n;
  mov_rr(b, RBP, RSP); /* mov rbp, rsp */
  cf->mov = (uint32_t)b->n;
  /* push rsi: ret, kept at [rbp - 8] (a callee-saved register would put
  ** the caller's value of it through memory, on its dependency chains);
  ** push qword [rdi + addr]: the callee, jumped to as [rbp - 16]. */
  b1(b, 0x56);
  op_mem(b, 0, 0, 0xff, 6, RDI, (int32_t)offsetof(mffi_fn, addr));
  mov_rr(b, R11, RDX);
  if (p->sbytes + p->rbytes) { /* sub rsp, sbytes; and rsp, -salign */
    op_reg(b, W, 0x81, 5, RSP);
    b4(b, p->sbytes + p->rbytes);
  }
  if (p->salign > 16) {
    op_reg(b, W, 0x81, 4, RSP);
    b4(b, (uint32_t) - (int32_t)p->salign);
  }
  int cur = -1;
  for (uint32_t i = 0; i < p->npieces; i++) {
    const mffi__piece *c = &p->pieces[i];
    if (c->conv == MFFI__CV_REF) { /* The copy, above the stack area. */
      ld_arg(b, &cur, c->arg);
      put_stack(b, &(mffi__piece){c->arg, MFFI__LOC_STACK, MFFI__CV_COPY, 0, 0,
                                  c->len, p->sbytes + c->off});
      if (c->loc == MFFI__LOC_STACK) { /* lea rcx, copy; mov slot, rcx */
        op_mem(b, 0, W, 0x8d, RCX, RSP, (int32_t)(p->sbytes + c->off));
        op_mem(b, 0, W, 0x89, RCX, RSP, (int32_t)c->at);
      }
      continue;
    }
    if (c->loc != MFFI__LOC_STACK) continue;
    ld_arg(b, &cur, c->arg);
    put_stack(b, c);
  }
  for (uint32_t i = 0; i < p->npieces; i++) { /* Through %rcx: first. */
    const mffi__piece *c = &p->pieces[i];
    if (!jit_fp_odd(c)) continue;
    ld_arg(b, &cur, c->arg);
    put_reg(b, c);
  }
  for (uint32_t i = 0; i < p->npieces; i++) {
    const mffi__piece *c = &p->pieces[i];
    if (c->loc == MFFI__LOC_STACK || jit_fp_odd(c)) continue;
    if (c->conv == MFFI__CV_REF) { /* lea reg, copy */
      op_mem(b, 0, W, 0x8d, jit_gpr[c->idx], RSP,
             (int32_t)(p->sbytes + c->off));
      continue;
    }
    ld_arg(b, &cur, c->arg);
    put_reg(b, c);
  }
  if (p->ret_mem) /* mov rdi (rcx: ms_abi), ret */
    op_mem(b, 0, W, 0x8b, jit_gpr[p->ret_reg], RBP, -8);
  if (p->variadic) { /* mov eax, nfp */
    b1(b, 0xb8);
    b4(b, p->nfp);
  }
  size_t to_thunk = jump(b, 0xe8); /* call thunk: jmp [rbp - 16] */
  if (p->nret) {
    op_mem(b, 0, W, 0x8b, RSI, RBP, -8); /* mov rsi, ret */
    op_reg(b, W, 0x85, RSI, RSI);        /* test rsi, rsi; jz past them */
    size_t skip = jump(b, 0x0f84), done = 0;
    uint32_t nx87 = 0;
    for (uint32_t i = 0; i < p->nret; i++) {
      put_ret(b, &p->rp[i]);
      nx87 += p->rp[i].loc == MFFI__LOC_X87;
    }
    if (nx87) done = jump(b, 0xe9);
    patch(b, skip, b->n);
    if (nx87) { /* Discarded, still popped: the x87 stack has 8 slots. */
      for (uint32_t i = 0; i < nx87; i++)
        b1(b, 0xdd), b1(b, 0xd8); /* fstp st(0) */
      patch(b, done, b->n);
    }
  }
  size_t to_call = 0, back = 0;
  if (J.errno_ok) { /* errno itself: mov eax, fs:[errno]; then saved. */
    b1(b, 0x64);
    b1(b, 0x8b), b1(b, 0x04), b1(b, 0x25), b4(b, (uint32_t)J.tls_errno);
    b1(b, 0x64); /* mov fs:[tls_val], eax */
    b1(b, 0x89), b1(b, 0x04), b1(b, 0x25), b4(b, (uint32_t)J.tls_val);
  } else if (J.tls_ok) { /* The inline mffi__errno_save(). */
    b1(b, 0x64);  /* mov rax, fs:[tls_ptr] */
    op_head(b, 0, W, 0x8b, RAX, 0);
    b1(b, 0x04), b1(b, 0x25), b4(b, (uint32_t)J.tls_ptr);
    op_reg(b, W, 0x85, RAX, RAX);
    to_call = jump(b, 0x0f84);
    op_mem(b, 0, 0, 0x8b, RAX, RAX, 0); /* mov eax, [rax] */
    b1(b, 0x64);                        /* mov fs:[tls_val], eax */
    b1(b, 0x89), b1(b, 0x04), b1(b, 0x25), b4(b, (uint32_t)J.tls_val);
    back = b->n;
  } else {
    mov_imm64(b, RAX, (uint64_t)(uintptr_t)jit_errno);
    op_reg(b, 0, 0xff, 2, RAX);
  }
  b1(b, 0x31), b1(b, 0xc0); /* xor eax, eax: MFFI_OK */
  b1(b, 0xc9);              /* leave */
  cf->leave = (uint32_t)b->n;
  b1(b, 0xc3); /* ret */
  cf->ret = (uint32_t)b->n;
  if (!J.errno_ok && J.tls_ok) { /* errno's address not cached: C helper. */
    patch(b, to_call, b->n);
    mov_imm64(b, RAX, (uint64_t)(uintptr_t)jit_errno);
    op_reg(b, 0, 0xff, 2, RAX); /* call rax (%rsp is aligned) */
    b1(b, 0xe9);
    b4(b, (uint32_t)(int32_t)((long)back - (long)(b->n + 4)));
  }
  /* The callee through a direct call and an indirect jump: an indirect
  ** call (`call [rbp - 16]`) cost 0.8 ns more a call on the x86-64 machines
  ** measured (docs/call-engine.md). Still in the frame, for the unwinder. */
  patch(b, to_thunk, b->n);
  op_mem(b, 0, 0, 0xff, 4, RBP, -16); /* jmp [rbp - 16] */
  if (nslow) { /* The unusual calls: mffi__fast_call, arguments intact. */
    cf->out = (uint32_t)b->n;
    for (int i = 0; i < nslow; i++)
      patch(b, to_slow[i], b->n);
    mov_imm64(b, RAX, (uint64_t)(uintptr_t)mffi__fast_call);
    op_reg(b, 0, 0xff, 4, RAX); /* jmp rax */
  }
}

/* -- Unwind tables --------------------------------------------------------
** Each routine gets a .eh_frame of its own after its code (one CIE, one
** FDE, the zero terminator: DWARF 4 section 6.4, LSB "Exception Frames"),
** registered with the unwinder (libgcc's __register_frame, which takes a
** section) while the routine lives, so that table unwinders (_Unwind_*,
** glibc's backtrace(), C++ exceptions) walk through it; gdb reads the same
** table from the object gdbjit.c gives it (MFFI_GDB=1). The FDE
** says: CFA = %rsp + 8 at entry and on the jump out, %rsp + 16 after
** push rbp (saved at CFA - 16), %rbp + 16 from mov rbp,rsp to leave; the
** errno helper and the jump to the callee after ret run in the frame
** again. */

void __register_frame(void *begin);
void __deregister_frame(void *begin);

enum { /* DWARF numbers and call frame instructions. */
       DW_RBP = 6,
       DW_RSP = 7,
       DW_RA = 16,
       DW_CFA_advance_loc1 = 0x02,
       DW_CFA_advance_loc2 = 0x03,
       DW_CFA_def_cfa = 0x0c,
       DW_CFA_def_cfa_register = 0x0d,
       DW_CFA_def_cfa_offset = 0x0e,
       DW_CFA_remember_state = 0x0a,
       DW_CFA_restore_state = 0x0b,
       DW_CFA_advance_loc = 0x40,
       DW_CFA_offset = 0x80,
       DW_CFA_restore = 0xc0
};

/* Advance the location from *at to pc (pc < 64 KiB: JIT_MAXCODE). */
static void eh_advance(jit_buf *b, uint32_t *at, uint32_t pc) {
  uint32_t d = pc - *at;
  *at = pc;
  if (d == 0) return;
  if (d < 64) {
    b1(b, DW_CFA_advance_loc | d);
  } else if (d < 256) {
    b1(b, DW_CFA_advance_loc1), b1(b, d);
  } else {
    b1(b, DW_CFA_advance_loc2), b1(b, d & 0xff), b1(b, d >> 8);
  }
}

/* Pad a record that started at `start` (its length word) to 8 bytes with
** DW_CFA_nop, and set its length. */
static void eh_close(jit_buf *b, size_t start) {
  while ((b->n - start) % 8)
    b1(b, 0);
  uint32_t len = (uint32_t)(b->n - start - 4);
  for (int i = 0; i < 4; i++)
    if (start + i < b->cap) b->p[start + i] = (unsigned char)(len >> (8 * i));
}

/* The .eh_frame of a routine of n bytes at rx into b (8-aligned). */
static void jit_eh(jit_buf *b, const jit_cfi *cf, uintptr_t rx, size_t n) {
  size_t cie = b->n; /* CIE: version 1, "zR", absolute FDE addresses. */
  b4(b, 0);
  b4(b, 0); /* CIE id */
  b1(b, 1);
  b1(b, 'z'), b1(b, 'R'), b1(b, 0);
  b1(b, 1);     /* Code alignment. */
  b1(b, 0x78);  /* Data alignment: -8 (sleb128). */
  b1(b, DW_RA); /* Return address column. */
  b1(b, 1);     /* Augmentation data: the pointer encoding, */
  b1(b, 0x00);  /* DW_EH_PE_absptr. */
  b1(b, DW_CFA_def_cfa), b1(b, DW_RSP), b1(b, 8);
  b1(b, DW_CFA_offset | DW_RA), b1(b, 1);
  eh_close(b, cie);
  size_t fde = b->n;
  b4(b, 0);
  b4(b, (uint32_t)(b->n - cie)); /* Back to the CIE. */
  b8(b, rx);
  b8(b, n);
  b1(b, 0); /* No augmentation data. */
  uint32_t at = 0;
  eh_advance(b, &at, cf->push);
  b1(b, DW_CFA_def_cfa_offset), b1(b, 16);
  b1(b, DW_CFA_offset | DW_RBP), b1(b, 2);
  eh_advance(b, &at, cf->mov);
  b1(b, DW_CFA_def_cfa_register), b1(b, DW_RBP);
  eh_advance(b, &at, cf->leave);
  b1(b, DW_CFA_remember_state);
  b1(b, DW_CFA_def_cfa), b1(b, DW_RSP), b1(b, 8);
  b1(b, DW_CFA_restore | DW_RBP);
  eh_advance(b, &at, cf->ret);
  b1(b, DW_CFA_restore_state);
  if (cf->out) {
    eh_advance(b, &at, cf->out);
    b1(b, DW_CFA_def_cfa), b1(b, DW_RSP), b1(b, 8);
    b1(b, DW_CFA_restore | DW_RBP);
  }
  eh_close(b, fde);
  b4(b, 0); /* The end of the section. */
}

mffi_call_fn mffi__jit_make(const mffi__cplan *p) {
  pthread_once(&J.once, jit_init);
  if (!atomic_load(&J.on) || !jit_plan_ok(p)) return NULL;
  unsigned char tmp[1024], eh[128];
  jit_buf b = {tmp, 0, sizeof tmp};
  jit_cfi cf;
  jit_emit(&b, p, &cf);
  unsigned char *big = NULL;
  if (b.n > b.cap) { /* Long routines: emitted again into a heap buffer. */
    if (b.n > JIT_MAXCODE || !(big = mffi__malloc(p->ctx, b.n))) return NULL;
    b = (jit_buf){big, 0, b.n};
    jit_emit(&b, p, &cf);
  }
  size_t ehat = (b.n + 7) & ~(size_t)7;
  jit_buf e = {eh, 0, sizeof eh};
  jit_eh(&e, &cf, 0, b.n); /* Its size: the addresses do not change it. */
  assert(e.n <= e.cap);
  unsigned char *rw, *rx = jit_alloc(ehat + e.n, &rw);
  if (rx) {
    memcpy(rw, b.p, b.n);
    e.n = 0;
    jit_eh(&e, &cf, (uintptr_t)rx, b.n);
    memcpy(rw + ehat, eh, e.n);
    ((jit_hdr *)(rw - JIT_HDR))->eh = (uint32_t)ehat;
    /* Valgrind runs its translation of what was at rx before (a freed
    ** routine): it sees no write there, only through rw. */
    JIT_VALGRIND_NEW_CODE(rx, b.n);
    __register_frame(rx + ehat); /* Read through the rx view. */
    mffi__gdbjit_add(rx, b.n, rx + ehat, e.n, "modffi_call_routine");
  }
  mffi__free(p->ctx, big);
  if (!rx) return NULL;
  mffi_call_fn f;
  void *code = rx;
  memcpy(&f, &code, sizeof f);
  return f;
}

void mffi__jit_free(mffi_call_fn f) {
  if (!f) return;
  unsigned char *code;
  memcpy(&code, &f, sizeof code);
  const jit_hdr *h = (const jit_hdr *)(code - JIT_HDR);
  if (h->eh) __deregister_frame(code + h->eh); /* Before the slot is reused. */
  mffi__gdbjit_remove(code);
  jit_release(code);
}

bool mffi__jit_enable(bool on) {
  pthread_once(&J.once, jit_init);
  return atomic_exchange(&J.on, on);
}

void mffi__jit_stats(size_t *mapped, size_t *live) {
  pthread_mutex_lock(&J.mu);
  *mapped = J.mapped;
  *live = J.live;
  pthread_mutex_unlock(&J.mu);
}

bool mffi__jit_owns(mffi_call_fn f) {
  void *v;
  memcpy(&v, &f, sizeof v);
  const unsigned char *x = v;
  bool found = false;
  pthread_mutex_lock(&J.mu);
  for (jit_chunk *c = J.chunks; c && !found; c = c->next)
    found = x >= c->rx && x < c->rx + JIT_CHUNK;
  pthread_mutex_unlock(&J.mu);
  return found;
}

#else /* No generator on other targets: the switches do nothing. */

mffi_call_fn mffi__jit_make(const mffi__cplan *plan) {
  (void)plan;
  return NULL;
}
void mffi__jit_free(mffi_call_fn code) {
  (void)code;
}
bool mffi__jit_enable(bool on) {
  (void)on;
  return false;
}
void mffi__jit_stats(size_t *mapped, size_t *live) {
  *mapped = *live = 0;
}
bool mffi__jit_owns(mffi_call_fn f) {
  (void)f;
  return false;
}

#endif
