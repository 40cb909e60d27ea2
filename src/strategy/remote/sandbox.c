/* Remote strategy, sandbox side: the server in modffi-sandbox. See LICENSE.
**
** Started by the host with the channel on fd 3 and the arena's memfd on
** fd 4. It maps the arena at the host's address, says hello on the socket,
** then takes every request from the arena: it opens the target with the
** dynamic strategy on a context fed the host's declarations, takes its
** callback trampolines in advance, confines itself and serves calls. A
** fatal signal leaves a death note in the control block for the host's
** message, then ends the process.
**
** The host is trusted here; the checks below only keep a confused request
** from crashing the server.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../call/call.h"
#include "confine.h"
#include "modffi.h"
#include "modffi_strategy.h"
#include "remote.h"
#include "wire.h"

#define SB_CHAN_FD 3
#define SB_ARENA_FD 4
#define SB_ALTSTACK                                                            \
  (64 * 1024) /* Signal stack: a library may overflow                          \
                 its own. */

/* A callback trampoline: the closure and the host's number for it. */
typedef struct sb_slot {
  mffi_closure *c;
  uint32_t host_id;
  uint32_t nstr; /* Parameters that are const char * (copied). */
} sb_slot;

/* The server's state. The sandbox is a process of its own, so its
** bookkeeping lives in plain static storage and the C heap. */
static struct {
  unsigned char *base;
  size_t size;
  wire_chan ch;
  uint64_t lo, hi; /* Scratch. */
  uint64_t top;    /* Scratch above this is ours while we hold the turn. */
  mffi_ctx *ctx;
  mffi_lib *lib;
  mffi_fn **fns;
  size_t nfns;
  sb_slot *slots;
  size_t nslots;
  int pdeath_ok;
} sb;

/* -- Fatal signals --------------------------------------------------------- */

static void sb_fatal(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sb.base) {
    wire_ctl *ctl = (wire_ctl *)sb.base;
    if (sig == SIGSYS) atomic_store(&ctl->note_syscall, si->si_syscall);
    ctl->note_addr = (uint64_t)(uintptr_t)si->si_addr;
    atomic_store(&ctl->note_sig, (uint32_t)sig);
  }
  syscall(SYS_exit_group, 128 + sig);
}

static void sb_catch_fatal(void) {
  static unsigned char alt[SB_ALTSTACK];
  stack_t st = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  sigaltstack(&st, NULL);
  static const int sigs[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE, SIGABRT,
                             SIGSYS,  SIGTRAP, SIGXCPU, SIGXFSZ};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = sb_fatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    sigaction(sigs[i], &sa, NULL);
}

/* -- Messages -------------------------------------------------------------- */

static void *sb_at(uint64_t off) {
  return sb.base + off;
}

/* Room for a message of n payload bytes at our top. NULL if it does not
** fit (the caller answers MFFI_ERANGE in a small message instead). */
static wire_msg *sb_begin(uint32_t kind, uint32_t id, uint64_t n,
                          uint64_t *off) {
  uint64_t need,
      at = (sb.top + WIRE_MSG_ALIGN - 1) & ~(uint64_t)(WIRE_MSG_ALIGN - 1);
  if (!wire_round(sizeof(wire_msg) + n, &need) ||
      !wire_span(at, need, sb.lo, sb.hi))
    return NULL;
  wire_msg *m = sb_at(at);
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->id = id;
  m->len = (uint32_t)n;
  *off = at;
  return m;
}

static void sb_post(uint64_t off) {
  wire_msg *m = sb_at(off);
  m->top = off + sizeof *m + m->len;
  mffi__wire_post(&sb.ch, off);
}

/* Reply with a status and, for a failure, the text why (NULL: the
** context's message, which the failed operation set). */
static void sb_reply_why(int rc, uint64_t a, uint64_t b, uint32_t id,
                         const char *why) {
  const char *msg = rc == MFFI_OK ? "" : why ? why : mffi_errmsg(sb.ctx);
  size_t n = rc == MFFI_OK ? 0 : strlen(msg) + 1;
  uint64_t off;
  wire_msg *m = sb_begin(WIRE_REPLY, id, n, &off);
  if (!m) { /* Cannot happen: the host leaves a message's worth. */
    n = 0;
    m = sb_begin(WIRE_REPLY, id, 0, &off);
    if (!m) syscall(SYS_exit_group, 125);
  }
  m->status = rc;
  m->a = a;
  m->b = b;
  if (n) memcpy(m + 1, msg, n);
  sb_post(off);
}

static void sb_reply_status(int rc, uint64_t a, uint64_t b, uint32_t id) {
  sb_reply_why(rc, a, b, id, NULL);
}

static void sb_dispatch(const wire_msg *m, uint64_t pay);

/* Wait for the host; serve what it asks until a message of kind `until`
** arrives, and return it (header in *m, payload offset in *pay). */
static void sb_serve(uint32_t until, wire_msg *m, uint64_t *pay) {
  for (;;) {
    uint64_t off;
    mffi__wire_wait(&sb.ch, NULL, NULL, 0, &off, m);
    if (!wire_span(off, sizeof *m + (uint64_t)m->len, sb.lo, sb.hi))
      syscall(SYS_exit_group, 124);
    *pay = off + sizeof *m;
    uint64_t saved = sb.top;
    sb.top = m->top >= sb.lo && m->top <= sb.hi ? m->top : sb.hi;
    if (until && m->kind == until) return;
    sb_dispatch(m, *pay);
    sb.top = saved;
  }
}

/* -- Requests -------------------------------------------------------------- */

static int sb_grow(void **arr, size_t *n, size_t elsz) {
  size_t nn = *n ? *n * 2 : 16;
  void *p = realloc(*arr, nn * elsz);
  if (!p) return -1;
  memset((char *)p + *n * elsz, 0, (nn - *n) * elsz);
  *arr = p;
  *n = nn;
  return 0;
}

static void sb_bind(const wire_msg *m, uint64_t pay) {
  const char *p = sb_at(pay);
  size_t len = m->len;
  if (len == 0 || p[len - 1] != '\0') {
    sb_reply_why(MFFI_EPROTOCOL, 0, 0, 0, "a request the sandbox cannot read");
    return;
  }
  mffi_fn *fn = NULL;
  int rc;
  if (m->a == 0) {
    size_t nvar = m->id;
    const mffi_type *vt[MFFI_MAX_ARGS];
    const char *q = p + strlen(p) + 1;
    rc = nvar <= MFFI_MAX_ARGS ? MFFI_OK : MFFI_EMISUSE;
    for (size_t i = 0; i < nvar && rc == MFFI_OK; i++) {
      if (q >= p + len) {
        rc = MFFI_EPROTOCOL;
        break;
      }
      rc = mffi_typeof(sb.ctx, q, &vt[i]);
      q += strlen(q) + 1;
    }
    if (rc == MFFI_OK)
      rc = nvar ? mffi_bind_variadic(sb.lib, p, vt, nvar, &fn)
                : mffi_bind(sb.lib, p, &fn);
  } else {
    const mffi_type *t;
    rc = mffi_typeof(sb.ctx, p, &t);
    if (rc == MFFI_OK)
      rc = mffi_bind_ptr(sb.lib, t, (void *)(uintptr_t)m->b, &fn);
  }
  size_t id = 0;
  while (rc == MFFI_OK && id < sb.nfns && sb.fns[id])
    id++;
  if (rc == MFFI_OK && id == sb.nfns &&
      sb_grow((void **)&sb.fns, &sb.nfns, sizeof *sb.fns)) {
    mffi_fn_free(fn);
    rc = MFFI_ENOMEM;
  }
  if (rc != MFFI_OK) {
    sb_reply_status(rc, 0, 0, 0);
    return;
  }
  sb.fns[id] = fn;
  sb_reply_status(MFFI_OK, (uint64_t)(uintptr_t)mffi_fn_addr(fn), 0,
                  (uint32_t)id);
}

static bool sb_in_arena(const void *p) {
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)sb.base;
  return a >= b && a - b < sb.size;
}

/* Build argv from a message's arg table (checked against fn's types). */
static bool sb_args(mffi_fn *fn, const wire_msg *m, uint64_t pay, void **argv) {
  size_t n = mffi_fn_nargs(fn);
  if (m->nargs != n || (uint64_t)n * sizeof(wire_arg) > m->len) return false;
  const wire_arg *tab = sb_at(pay);
  for (size_t i = 0; i < n; i++) {
    size_t sz = mffi_sizeof(mffi_fn_arg_type(fn, i));
    if (tab[i].size != sz || !wire_span(tab[i].off, sz, 0, m->len))
      return false;
    argv[i] = (unsigned char *)sb_at(pay) + tab[i].off;
  }
  return true;
}

static void sb_call(const wire_msg *m, uint64_t pay) {
  mffi_fn *fn = m->id < sb.nfns ? sb.fns[m->id] : NULL;
  void *argv[MFFI_MAX_ARGS + 1];
  if (!fn || !sb_args(fn, m, pay, argv)) {
    sb_reply_why(MFFI_EPROTOCOL, 0, 0, 0,
                 fn ? "arguments the sandbox cannot read"
                    : "a call to a function the sandbox has not bound");
    return;
  }
  const mffi_type *rt = mffi_type_target(mffi_fn_type(fn));
  size_t rsz = mffi_sizeof(rt);
  uint64_t rnd = wire_up(rsz), off;
  /* The reply's room first: callbacks during the call go above it. */
  wire_msg *rep = sb_begin(WIRE_REPLY, 0, rnd, &off);
  if (!rep) {
    sb_reply_why(MFFI_ERANGE, 0, 0, 0, "no room left in the scratch");
    return;
  }
  uint64_t saved = sb.top;
  sb.top = off + sizeof *rep + rnd;
  unsigned char *ret = (unsigned char *)(rep + 1);
  int rc = mffi_call(fn, rsz ? ret : NULL, argv);
  int err = mffi_errno();
  sb.top = saved;
  rep = sb_at(off); /* Same place; rewritten after any callback. */
  memset(rep, 0, sizeof *rep);
  rep->kind = WIRE_REPLY;
  rep->status = rc;
  rep->err = err;
  rep->len = (uint32_t)rsz;
  if (rc != MFFI_OK) {
    sb_reply_status(rc, 0, 0, 0);
    return;
  }
  /* A string result outside the arena is copied for the host. */
  const mffi_plan *pl = mffi_fn_plan(fn);
  if (pl && pl->ret.pass == MFFI_PASS_STRING && rsz == sizeof(char *)) {
    const char *s;
    memcpy(&s, ret, sizeof s);
    if (s && !sb_in_arena(s)) {
      size_t n = strlen(s) + 1;
      uint64_t need;
      if (!wire_round(sizeof *rep + rsz + n, &need) ||
          !wire_span(off, need, sb.lo, sb.hi)) {
        mffi_lib_err(sb.lib, MFFI_ERANGE,
                     "a %zu-byte string result does not fit the arena", n);
        sb_reply_why(MFFI_ERANGE, 0, 0, 0, "no room left in the scratch");
        return;
      }
      memcpy(ret + rsz, s, n);
      rep->a = n;
      rep->len = (uint32_t)(rsz + n);
    }
  }
  sb_post(off);
}

/* -- Callbacks ------------------------------------------------------------- */

static bool sb_is_cstr(const mffi_type *t) {
  if (mffi_type_kind(mffi_type_unqual(t)) != MFFI_KIND_POINTER) return false;
  const mffi_type *to = mffi_type_target(mffi_type_unqual(t));
  return mffi_type_kind(mffi_type_unqual(to)) == MFFI_KIND_CHAR &&
         (mffi_type_quals(to) & MFFI_QUAL_CONST);
}

/* The trampoline's handler: ask the host to run its closure. */
static void sb_handler(void *ret, void *const *args, void *data) {
  sb_slot *s = data;
  const mffi_type *ft = mffi_closure_type(s->c);
  size_t n = mffi_type_nparams(ft);
  uint64_t need = n * sizeof(wire_arg);
  for (size_t i = 0; i < n; i++) {
    const mffi_type *t = mffi_type_param(ft, i);
    need += wire_up(mffi_sizeof(t));
    if (sb_is_cstr(t)) {
      const char *str = *(const char *const *)args[i];
      if (str) need = wire_up(need + strlen(str) + 1);
    }
  }
  uint64_t off;
  wire_msg *m = sb_begin(WIRE_CALLBACK, s->host_id, need, &off);
  if (!m) syscall(SYS_exit_group, 123); /* No room: the host sees a crash. */
  m->nargs = (uint32_t)n;
  wire_arg *tab = (wire_arg *)(m + 1);
  uint64_t at = n * sizeof(wire_arg);
  for (size_t i = 0; i < n; i++) {
    const mffi_type *t = mffi_type_param(ft, i);
    size_t sz = mffi_sizeof(t);
    tab[i] = (wire_arg){(uint32_t)at, (uint32_t)sz, 0, 0};
    unsigned char *v = (unsigned char *)tab + at;
    memcpy(v, args[i], sz);
    uint64_t k = wire_up(sz);
    if (sb_is_cstr(t)) {
      const char *str = *(const char *const *)args[i];
      if (str) {
        size_t sl = strlen(str) + 1;
        memcpy(v + sz, str, sl);
        tab[i].flags = WIRE_ARG_STRING;
        k = wire_up(sz + sl);
      }
    }
    at += k;
  }
  uint64_t saved = sb.top;
  sb.top = wire_up(off + sizeof *m + m->len);
  sb_post(off);
  wire_msg r;
  uint64_t pay;
  sb_serve(WIRE_CB_RET, &r, &pay);
  sb.top = saved;
  size_t rsz = mffi_sizeof(mffi_type_target(ft));
  if (ret && rsz && r.len >= rsz) memcpy(ret, sb_at(pay), rsz);
}

static void sb_cb_make(const wire_msg *m, uint64_t pay) {
  const char *p = sb_at(pay);
  if (m->len == 0 || p[m->len - 1] != '\0') {
    sb_reply_why(MFFI_EPROTOCOL, 0, 0, 0, "a request the sandbox cannot read");
    return;
  }
  const mffi_type *t;
  int rc = mffi_typeof(sb.ctx, p, &t);
  size_t id = 0;
  while (rc == MFFI_OK && id < sb.nslots && sb.slots[id].c)
    id++;
  if (rc == MFFI_OK && id == sb.nslots &&
      sb_grow((void **)&sb.slots, &sb.nslots, sizeof *sb.slots))
    rc = MFFI_ENOMEM;
  if (rc == MFFI_OK) {
    sb_slot *s = &sb.slots[id];
    s->host_id = m->id;
    rc = mffi_callback(sb.lib, t, sb_handler, s, &s->c);
  }
  if (rc != MFFI_OK) {
    sb_reply_status(rc, 0, 0, 0);
    return;
  }
  sb_reply_status(MFFI_OK,
                  (uint64_t)(uintptr_t)mffi_closure_code(sb.slots[id].c), 0,
                  (uint32_t)id);
}

/* -- Dispatch -------------------------------------------------------------- */

static void sb_dispatch(const wire_msg *m, uint64_t pay) {
  switch (m->kind) {
  case WIRE_CALL: sb_call(m, pay); return;
  case WIRE_BIND: sb_bind(m, pay); return;
  case WIRE_UNBIND:
    if (m->id < sb.nfns && sb.fns[m->id]) {
      mffi_fn_free(sb.fns[m->id]);
      sb.fns[m->id] = NULL;
    }
    sb_reply_status(MFFI_OK, 0, 0, 0);
    return;
  case WIRE_CDEF:
    sb_reply_status(mffi_cdef(sb.ctx, sb_at(pay), m->len), 0, 0, 0);
    return;
  case WIRE_CB_MAKE: sb_cb_make(m, pay); return;
  case WIRE_CB_FREE:
    if (m->id < sb.nslots && sb.slots[m->id].c) {
      mffi_closure_free(sb.slots[m->id].c);
      sb.slots[m->id].c = NULL;
    }
    sb_reply_status(MFFI_OK, 0, 0, 0);
    return;
  case WIRE_READ: {
    uint64_t off;
    wire_msg *r = sb_begin(WIRE_REPLY, 0, m->b, &off);
    if (!r) {
      sb_reply_why(MFFI_ERANGE, 0, 0, 0, "no room left in the scratch");
      return;
    }
    memcpy(r + 1, (const void *)(uintptr_t)m->a, m->b);
    sb_post(off);
    return;
  }
  case WIRE_WRITE:
    if (m->b > m->len) {
      sb_reply_why(MFFI_EPROTOCOL, 0, 0, 0,
                   "a request the sandbox cannot read");
      return;
    }
    memcpy((void *)(uintptr_t)m->a, sb_at(pay), m->b);
    sb_reply_status(MFFI_OK, 0, 0, 0);
    return;
  default: syscall(SYS_exit_group, 122);
  }
}

/* -- Start
 * --------------------------------------------------------------------- */

/* WIRE_INIT: open the target, take the trampolines, confine. */
static void sb_init(const wire_msg *m, uint64_t pay) {
  wire_init in;
  if (m->len < sizeof in) syscall(SYS_exit_group, 121);
  memcpy(&in, sb_at(pay), sizeof in);
  const char *p = (const char *)sb_at(pay) + sizeof in;
  uint64_t rest = m->len - sizeof in;
  if (in.ntarget + in.npolicy > rest ||
      in.nlog > rest - in.ntarget - in.npolicy)
    syscall(SYS_exit_group, 121);
  const char *target = p, *policy = p + in.ntarget;
  const unsigned char *log = (const unsigned char *)policy + in.npolicy;
  sb.lo = in.scratch_off;
  sb.hi = in.scratch_end;
  int rc = mffi_ctx_new(&sb.ctx, NULL);
  for (uint64_t at = 0; rc == MFFI_OK && at < in.nlog;) {
    uint64_t k;
    if (in.nlog - at < sizeof k) syscall(SYS_exit_group, 121);
    memcpy(&k, log + at, sizeof k);
    at += sizeof k;
    if (k > in.nlog - at) syscall(SYS_exit_group, 121);
    rc = mffi_cdef(sb.ctx, (const char *)log + at, k);
    at += k;
  }
  mffi_open_opts oo = {MFFI_OPEN_OPTS_VERSION, in.flags, NULL};
  if (rc == MFFI_OK)
    rc = mffi_open(sb.ctx, NULL, in.has_target ? target : NULL, &oo, &sb.lib);
  if (rc == MFFI_OK && in.max_closures)
    rc = mffi__ffi_closure_reserve(sb.ctx, in.max_closures);
  mffi__confine_report rep;
  memset(&rep, 0, sizeof rep);
  if (rc == MFFI_OK) {
    mffi__confine_opts co;
    memset(&co, 0, sizeof co);
    char err[256];
    if (mffi__policy_parse(policy, &co.policy, err, sizeof err) != 0) {
      rc = MFFI_EMISUSE;
    } else {
      co.as_limit = in.as_limit;
      co.cpu_seconds = in.cpu_seconds;
      co.nofile = 64;
      co.strict = (in.rflags & MFFI_REMOTE_STRICT) != 0;
      if (mffi__confine_self(&co, &rep) != 0) rc = MFFI_EDENIED;
    }
  }
  if (rc != MFFI_OK) {
    const char *e = rc == MFFI_EDENIED ? rep.detail : mffi_errmsg(sb.ctx);
    char msg[600];
    snprintf(
        msg, sizeof msg, "%s%s",
        rc == MFFI_EDENIED ? "a confinement layer cannot be applied: " : "", e);
    uint64_t off;
    wire_msg *r = sb_begin(WIRE_REPLY, 0, strlen(msg) + 1, &off);
    r->status = rc;
    r->a = rep.layers;
    r->b = rep.missing;
    memcpy(r + 1, msg, strlen(msg) + 1);
    sb_post(off);
    return;
  }
  uint64_t off;
  size_t n = strlen(rep.detail) + 1;
  wire_msg *r = sb_begin(WIRE_REPLY, 0, n, &off);
  r->a = rep.layers;
  r->b = rep.missing;
  memcpy(r + 1, rep.detail, n);
  sb_post(off);
}

int mffi__sandbox_main(int argc, char **argv, int shared_heap) {
  if (argc != 4 || strcmp(argv[1], "serve") != 0) {
    fprintf(stderr, "usage: modffi-sandbox serve BASE SIZE\n"
                    "  (started by the remote strategy of libmodffi; see "
                    "modffi-sandbox(1))\n");
    return 2;
  }
  char *end;
  uintptr_t base = (uintptr_t)strtoull(argv[2], &end, 0);
  size_t size = (size_t)strtoull(argv[3], &end, 0);
  sb_catch_fatal();
  /* Confined later, this process may not map executable memory (a denied
  ** mmap can kill it): the calls it serves use the routines built in. */
  mffi__jit_enable(false);
  wire_hello h;
  memset(&h, 0, sizeof h);
  h.magic = WIRE_MAGIC;
  h.version = WIRE_VERSION;
  h.sz_ptr = sizeof(void *);
  h.sz_long = sizeof(long);
  h.sz_ldouble = sizeof(long double);
  h.sz_msg = sizeof(wire_msg);
  h.test_int = WIRE_HELLO_INT;
  h.test_dbl = WIRE_HELLO_DOUBLE;
  h.shared_heap = shared_heap != 0;
  void *p = mmap((void *)base, size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED_NOREPLACE, SB_ARENA_FD, 0);
  if (p == MAP_FAILED)
    h.map_errno = errno ? errno : EINVAL;
  else if (p != (void *)base) {
    munmap(p, size);
    h.map_errno = EEXIST; /* An old kernel took the address as a hint. */
  }
  close(SB_ARENA_FD);
  if (!h.map_errno && shared_heap) {
    wire_layout lay = wire_layout_of(size);
    mffi__sbheap_init((unsigned char *)p + lay.lib_lo, lay.lib_hi - lay.lib_lo);
  }
  if (write(SB_CHAN_FD, &h, sizeof h) != (ssize_t)sizeof h || h.map_errno)
    return 3;
  sb.base = p;
  sb.size = size;
  sb.ch.ctl = (wire_ctl *)sb.base;
  sb.ch.host = false;
  sb.ch.spin_ns = WIRE_SPIN_NS;
  sb.ch.nudge = true;
  sb.lo = WIRE_CTL_SIZE;
  sb.hi = size;
  wire_msg m;
  uint64_t pay;
  sb_serve(WIRE_INIT, &m, &pay);
  sb_init(&m, pay);
  sb_serve(0, &m, &pay); /* Until the host kills us. */
  return 0;
}
