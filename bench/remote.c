/* Remote strategy: round trips against the anchors, in one run. See LICENSE.
**
** Usage: remote PATH/bench_lib.so [SAMPLES]
** Measures, each call timed on its own after a warm-up: a null call
** through the remote strategy (median and 99th percentile), a call with a
** 64-byte string, a 1 MiB buffer in and out (access read_write), and two
** anchors measured the same way: a null call over a socketpair RPC to a
** child process (write a request, read the answer), a shared-memory spin
** ping-pong with a child (the floor of any cross-process call on this
** machine) and memcpy of 1 MiB.
** Prints a Markdown table with the ratios. Only ratios mean anything.
*/
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_time.h"
#include "modffi.h"

#define DECLS                                                                  \
  "void nop(void);\n"                                                          \
  "unsigned long bench_strlen(const char *s);\n"                               \
  "void bench_touch(unsigned char *buf, unsigned long n)"                      \
  "  __attribute__((access(read_write, 1, 2)));\n"
#define MIB ((size_t)1 << 20)

typedef struct stats {
  double median, p99;
} stats;

/* Time n calls of f one by one (minus the clock's own cost). */
static stats measure(void (*f)(void *), void *ud, int n, double clock_ns) {
  double *t = malloc((size_t)n * sizeof *t);
  for (int i = 0; i < n / 10 + 10; i++)
    f(ud); /* Warm up. */
  for (int i = 0; i < n; i++) {
    double t0 = now_ns();
    f(ud);
    t[i] = now_ns() - t0 - clock_ns;
  }
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  stats s = {t[n / 2], t[(int)(n * 0.99)]};
  free(t);
  return s;
}

static void f_empty(void *ud) {
  (void)ud;
}

typedef struct call {
  mffi_fn *fn;
  void **args;
} call;

static void f_call(void *ud) {
  call *c = ud;
  unsigned long r;
  if (mffi_call(c->fn, &r, c->args) != MFFI_OK) {
    fprintf(stderr, "remote call failed\n");
    exit(1);
  }
}

/* The socketpair RPC anchor: a child answers each 16-byte request. */
typedef struct rpc {
  int fd;
} rpc;

static void f_rpc(void *ud) {
  rpc *r = ud;
  char req[16] = {1}, ans[16];
  if (write(r->fd, req, sizeof req) != sizeof req ||
      read(r->fd, ans, sizeof ans) != sizeof ans)
    exit(1);
}

/* The floor: two processes bouncing a counter through shared memory, each
** spinning on the other's cache line (the same spin-then-yield as the
** channel, without its messages). */
typedef struct pong {
  _Atomic unsigned *ping, *pong;
  unsigned n;
} pong;

static void f_pong(void *ud) {
  pong *p = ud;
  unsigned v = ++p->n;
  atomic_store(p->ping, v);
  for (unsigned i = 0; atomic_load(p->pong) != v; i++)
    if (i > 4000) sched_yield();
}

typedef struct copy {
  unsigned char *dst, *src;
} copy;

static void f_memcpy(void *ud) {
  copy *c = ud;
  memcpy(c->dst, c->src, MIB);
  __asm__ volatile("" ::"r"(c->dst) : "memory");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: remote PATH/bench_lib.so [SAMPLES]\n");
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 20000;
  double clock_ns = measure(f_empty, NULL, n, 0).median;

  mffi_ctx *ctx;
  mffi_lib *lib;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_cdef(ctx, DECLS, strlen(DECLS)) != MFFI_OK ||
      mffi_open(ctx, mffi_strategy_find("remote"), argv[1], NULL, &lib) !=
          MFFI_OK) {
    fprintf(stderr, "remote: %s\n", mffi_errmsg(ctx));
    return 1;
  }
  mffi_fn *nop, *slen, *touch;
  if (mffi_bind(lib, "nop", &nop) || mffi_bind(lib, "bench_strlen", &slen) ||
      mffi_bind(lib, "bench_touch", &touch)) {
    fprintf(stderr, "remote: %s\n", mffi_errmsg(ctx));
    return 1;
  }
  call cnop = {nop, NULL};
  stats s_nop = measure(f_call, &cnop, n, clock_ns);

  char str[65];
  memset(str, 'x', 64);
  str[64] = '\0';
  const char *sp = str;
  void *sargs[] = {&sp};
  call cstr = {slen, sargs};
  stats s_str = measure(f_call, &cstr, n, clock_ns);

  /* Written first: calloc'd pages that were never written all map the
  ** kernel's one zero page, and copying from it flatters memcpy. */
  unsigned char *buf = malloc(MIB), *src = malloc(MIB);
  if (!buf || !src) return 1;
  memset(buf, 0x5a, MIB);
  memset(src, 0xa5, MIB);
  unsigned long len = MIB;
  void *bargs[] = {&buf, &len};
  call cbuf = {touch, bargs};
  int nb = n / 20 > 50 ? n / 20 : 50;
  stats s_buf = measure(f_call, &cbuf, nb, clock_ns);
  copy cp = {buf, src};
  stats s_cpy = measure(f_memcpy, &cp, nb, clock_ns);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    char b[16];
    while (read(sv[1], b, sizeof b) == sizeof b)
      if (write(sv[1], b, sizeof b) != sizeof b) break;
    _exit(0);
  }
  close(sv[1]);
  rpc r = {sv[0]};
  stats s_rpc = measure(f_rpc, &r, n, clock_ns);
  close(sv[0]);
  waitpid(pid, NULL, 0);

  _Atomic unsigned *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pong pp = {w, w + 16, 0}; /* Two cache lines. */
  pid_t echo = fork();
  if (echo == 0) {
    unsigned seen = 0;
    for (;;) {
      unsigned v;
      for (unsigned i = 0; (v = atomic_load(pp.ping)) == seen; i++)
        if (i > 4000) sched_yield();
      if (v == ~0u) _exit(0);
      seen = v;
      atomic_store(pp.pong, v);
    }
  }
  stats s_pong = measure(f_pong, &pp, n, clock_ns);
  atomic_store(pp.ping, ~0u);
  waitpid(echo, NULL, 0);

  /* In and out: two MiB cross per call; memcpy moves one. */
  double bw_call = 2.0 * MIB / s_buf.median, bw_cpy = 1.0 * MIB / s_cpy.median;
  printf("%d samples per case, each call timed alone; ns.\n\n", n);
  printf("| case | median ns | p99 ns | ratio |\n");
  printf("|---|---:|---:|---|\n");
  printf("| remote null call | %.0f | %.0f | %.1fx faster than socketpair |\n",
         s_nop.median, s_nop.p99, s_rpc.median / s_nop.median);
  printf("| remote call, 64-byte string | %.0f | %.0f | %.2fx null call |\n",
         s_str.median, s_str.p99, s_str.median / s_nop.median);
  printf("| remote call, 1 MiB in and out | %.0f | %.0f | %.0f%% of memcpy "
         "bandwidth |\n",
         s_buf.median, s_buf.p99, 100.0 * bw_call / bw_cpy);
  printf("| anchor: socketpair RPC | %.0f | %.0f | |\n", s_rpc.median,
         s_rpc.p99);
  printf("| anchor: shared-memory spin ping-pong | %.0f | %.0f | null call "
         "= %.2fx this floor |\n",
         s_pong.median, s_pong.p99, s_nop.median / s_pong.median);
  printf("| anchor: memcpy 1 MiB | %.0f | %.0f | %.2f GB/s |\n", s_cpy.median,
         s_cpy.p99, bw_cpy);
  mffi_ctx_free(ctx);
  free(buf);
  free(src);
  return 0;
}
