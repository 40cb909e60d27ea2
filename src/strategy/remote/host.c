/* Remote strategy, host side: the library in a confined sandbox. See LICENSE.
**
** xOpen maps a memfd (the arena), starts modffi-sandbox with it and a
** socketpair, checks the hello and sends the target, the options and the
** context's declaration log. A call copies its arguments into a message on
** the arena's scratch stack, marshals pointers by the function's plan
** (strings and buffers copied in, out-buffers copied back, arena memory
** passed as it is), rings the doorbell and waits, serving callbacks that
** arrive meanwhile. Whatever the sandbox writes is validated before use;
** a dead sandbox, a missed deadline or a bad message fails the library
** (mffi_lib_fail) until mffi_reopen().
**
** Written against the public strategy interface only (modffi_strategy.h),
** like any strategy a user would write.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "confine.h"
#include "modffi.h"
#include "modffi_strategy.h"
#include "remote.h"
#include "wire.h"

#ifndef MFFI_LIBEXECDIR
#define MFFI_LIBEXECDIR "/usr/local/libexec"
#endif

#define RM_ARENA_DEFAULT ((size_t)256 << 20) /* Default arena bytes
                                                (touched pages only). */
#define RM_ARENA_MIN ((size_t)1 << 20)      /* Smallest arena. */
#define RM_ARENA_MAX ((size_t)1 << 40)      /* Largest arena. */
#define RM_CLOSURES_DEFAULT 64u  /* Default live callbacks. */
#define RM_CLOSURES_MAX 65536u   /* Most live callbacks one may ask. */
#define RM_AS_DEFAULT ((uint64_t)16 << 30) /* Default RLIMIT_AS. */
#define RM_SLICE_MS 2u           /* Liveness checks while asleep. */
#define RM_HELLO_MS 10000        /* Time for the sandbox to start. */
#define RM_START_MIN_MS 2000     /* ...at least, with a short deadline. */
#define RM_MAP_TRIES 4           /* Arena placements tried. */
#define RM_STR_MAX 4096u         /* Distinct result strings kept. */
#define RM_STR_BYTES ((size_t)16 << 20) /* Their bytes at most. */
#define RM_MSG_MAX 480           /* Bytes of a message we compose. */
#define RM_WHY 512               /* Bytes of a saved error message. */

typedef struct rm_ext {
  uint64_t off, size;
} rm_ext;

/* A pointer argument copied into scratch for one call. */
typedef struct rm_copy {
  void *host;      /* The caller's pointer. */
  uint64_t at;     /* Where the copy lies (arena offset). */
  uint64_t size;   /* Bytes. */
  bool back;       /* Copy back after the call (OUT, INOUT). */
  bool ptr_elems;  /* Elements are pointers: translate them back. */
} rm_copy;

typedef struct rm_lib rm_lib;

/* Calls in progress on this thread, innermost first: a call from a
** callback handler into the same library nests instead of locking. */
typedef struct rm_active {
  rm_lib *r;
  struct rm_active *up;
} rm_active;
static __thread rm_active *rm_tl_active;

struct rm_lib {
  mffi_lib *lib;
  mffi_remote_opts opts;
  char *policy;  /* Owned copies of the option strings. */
  char *sandbox; /* The executable found. */
  /* The process and the arena. */
  pid_t pid;
  int sock;
  unsigned char *base;
  size_t size;
  uint64_t scratch_lo, scratch_hi, heap_lo, heap_hi;
  uint64_t top; /* Scratch in use below this (host's own count). */
  wire_chan ch;
  /* mffi_new blocks: host-private bookkeeping, never in the arena. */
  rm_ext *free_ext, *used_ext;
  size_t nfree, capfree, nused, capused;
  /* Serialisation: one call at a time per library. */
  pthread_mutex_t mu;
  /* Deadline of the innermost call, CLOCK_MONOTONIC ns; 0: none. */
  uint64_t deadline;
  const char *doing; /* What the current request is, for messages. */
  bool doing_fn;     /* doing is a function's name. */
  /* Closures by host number. */
  mffi_closure **cbs;
  size_t ncbs, capcbs;
  /* Result strings, kept until close. */
  char **strs;
  size_t nstrs, capstrs, strbytes;
  /* What the sandbox runs under. */
  unsigned layers, missing;
  char detail[512];
  bool shared_heap; /* The library's malloc serves from the arena. */
};

typedef struct rm_fn {
  uint32_t id;         /* The sandbox's number for it... */
  bool bound;          /* ...once the sandbox has bound it. */
  size_t nargs;
  size_t ret_size;
  const mffi_plan *plan;
  size_t *arg_size;    /* nargs sizes (caller's types). */
} rm_fn;

typedef struct rm_cb {
  uint32_t host_id; /* Index in rm_lib.cbs. */
  uint32_t slot;    /* The sandbox's trampoline. */
} rm_cb;

/* -- Small helpers --------------------------------------------------------- */

static uint64_t rm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *rm_strdup(mffi_lib *lib, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mffi_lib_malloc(lib, n);
  if (p) memcpy(p, s, n);
  return p;
}

/* Grow *arr to hold need elements of sz bytes. 0, or -1 on no memory. */
static int rm_grow(mffi_lib *lib, void **arr, size_t *cap, size_t need,
                   size_t sz) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 8;
  while (ncap < need)
    ncap *= 2;
  void *p = mffi_lib_malloc(lib, ncap * sz);
  if (!p) return -1;
  if (*arr) memcpy(p, *arr, *cap * sz);
  mffi_lib_free(lib, *arr);
  *arr = p;
  *cap = ncap;
  return 0;
}

static bool rm_in_arena(const rm_lib *r, const void *p, uint64_t n) {
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)r->base;
  return a >= b && wire_span(a - b, n, 0, r->size);
}

static const char *rm_sig_name(int sig, char *buf, size_t n) {
  const char *d = sigabbrev_np(sig);
  if (d)
    snprintf(buf, n, "signal %d (SIG%s: %s)", sig, d, strsignal(sig));
  else
    snprintf(buf, n, "signal %d", sig);
  return buf;
}

/* -- Finding the sandbox --------------------------------------------------- */

static bool rm_exe_ok(const char *path) {
  return path && path[0] && access(path, X_OK) == 0;
}

/* Try dir/rel; on success *out is an owned copy. */
static bool rm_try(mffi_lib *lib, const char *dir, size_t ndir,
                   const char *rel, char **out) {
  char buf[PATH_MAX];
  int n = snprintf(buf, sizeof buf, "%.*s/%s", (int)ndir, dir, rel);
  if (n < 0 || (size_t)n >= sizeof buf || !rm_exe_ok(buf)) return false;
  *out = rm_strdup(lib, buf);
  return *out != NULL;
}

/* The sandbox executable: the option, $MFFI_SANDBOX, beside the object
** that holds this code (libmodffi.so, or the program linking it
** statically), then the installed libexec path. */
static int rm_find_sandbox(rm_lib *r) {
  mffi_lib *lib = r->lib;
  const char *given = r->opts.sandbox ? r->opts.sandbox : getenv("MFFI_SANDBOX");
  if (given && given[0]) {
    if (!rm_exe_ok(given))
      return mffi_lib_err(lib, MFFI_ENOLIB,
                          "sandbox executable '%s' is not executable: %s",
                          given, strerror(errno));
    r->sandbox = rm_strdup(lib, given);
    return r->sandbox ? MFFI_OK : MFFI_ENOMEM;
  }
  static const char *const rels[] = {
      "modffi-sandbox", "../bin/modffi-sandbox",
      "../libexec/modffi/modffi-sandbox", "../../libexec/modffi/modffi-sandbox"};
  Dl_info di;
  char self[PATH_MAX];
  const char *obj = NULL;
  if (dladdr((void *)&rm_find_sandbox, &di) && di.dli_fname &&
      strchr(di.dli_fname, '/'))
    obj = di.dli_fname;
  if (!obj || strcmp(obj, "") == 0) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
      self[n] = '\0';
      obj = self;
    }
  }
  if (obj && strchr(obj, '/')) {
    char real[PATH_MAX];
    if (realpath(obj, real)) obj = real;
    const char *slash = strrchr(obj, '/');
    for (size_t i = 0; i < sizeof rels / sizeof *rels; i++)
      if (rm_try(lib, obj, (size_t)(slash - obj), rels[i], &r->sandbox))
        return MFFI_OK;
  }
  const char *inst = MFFI_LIBEXECDIR "/modffi/modffi-sandbox";
  if (rm_exe_ok(inst)) {
    r->sandbox = rm_strdup(lib, inst);
    return r->sandbox ? MFFI_OK : MFFI_ENOMEM;
  }
  return mffi_lib_err(lib, MFFI_ENOLIB,
                      "cannot find modffi-sandbox (looked beside %s and in "
                      "%s/modffi; set MFFI_SANDBOX or "
                      "mffi_remote_opts.sandbox)",
                      obj ? obj : "this program", MFFI_LIBEXECDIR);
}

/* -- The arena's heap: host-private extent lists --------------------------- */

static int rm_ext_insert(mffi_lib *lib, rm_ext **arr, size_t *n, size_t *cap,
                         size_t at, rm_ext e) {
  if (rm_grow(lib, (void **)arr, cap, *n + 1, sizeof **arr)) return -1;
  memmove(&(*arr)[at + 1], &(*arr)[at], (*n - at) * sizeof **arr);
  (*arr)[at] = e;
  (*n)++;
  return 0;
}

static void rm_ext_remove(rm_ext *arr, size_t *n, size_t at) {
  memmove(&arr[at], &arr[at + 1], (*n - at - 1) * sizeof *arr);
  (*n)--;
}

/* Index of the first extent with off >= x. */
static size_t rm_ext_search(const rm_ext *arr, size_t n, uint64_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (arr[mid].off < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int rm_heap_reset(rm_lib *r) {
  r->nfree = r->nused = 0;
  rm_ext all = {r->heap_lo, r->heap_hi - r->heap_lo};
  return rm_ext_insert(r->lib, &r->free_ext, &r->nfree, &r->capfree, 0, all);
}

/* First fit; the remainder before and after stays free. */
static int rm_heap_alloc(rm_lib *r, uint64_t sz, uint64_t align,
                         uint64_t *out) {
  if (!wire_round(sz ? sz : 1, &sz)) return MFFI_ERANGE;
  if (align < WIRE_ALIGN) align = WIRE_ALIGN;
  for (size_t i = 0; i < r->nfree; i++) {
    rm_ext f = r->free_ext[i];
    uint64_t a = (f.off + align - 1) & ~(align - 1);
    if (a < f.off || a - f.off > f.size || f.size - (a - f.off) < sz) continue;
    /* Reserve room for both list changes first: nothing half done. */
    if (rm_grow(r->lib, (void **)&r->free_ext, &r->capfree, r->nfree + 2,
                sizeof *r->free_ext) ||
        rm_grow(r->lib, (void **)&r->used_ext, &r->capused, r->nused + 1,
                sizeof *r->used_ext))
      return MFFI_ENOMEM;
    rm_ext_remove(r->free_ext, &r->nfree, i);
    size_t at = i;
    if (a > f.off)
      rm_ext_insert(r->lib, &r->free_ext, &r->nfree, &r->capfree, at++,
                    (rm_ext){f.off, a - f.off});
    uint64_t end = a + sz, fend = f.off + f.size;
    if (fend > end)
      rm_ext_insert(r->lib, &r->free_ext, &r->nfree, &r->capfree, at,
                    (rm_ext){end, fend - end});
    size_t u = rm_ext_search(r->used_ext, r->nused, a);
    rm_ext_insert(r->lib, &r->used_ext, &r->nused, &r->capused, u,
                  (rm_ext){a, sz});
    *out = a;
    return MFFI_OK;
  }
  return MFFI_ENOMEM;
}

static void rm_heap_free(rm_lib *r, uint64_t off) {
  size_t u = rm_ext_search(r->used_ext, r->nused, off);
  if (u >= r->nused || r->used_ext[u].off != off) return;
  rm_ext e = r->used_ext[u];
  rm_ext_remove(r->used_ext, &r->nused, u);
  size_t i = rm_ext_search(r->free_ext, r->nfree, e.off);
  /* Coalesce with the neighbours. */
  if (i > 0 && r->free_ext[i - 1].off + r->free_ext[i - 1].size == e.off) {
    r->free_ext[i - 1].size += e.size;
    if (i < r->nfree && e.off + e.size == r->free_ext[i].off) {
      r->free_ext[i - 1].size += r->free_ext[i].size;
      rm_ext_remove(r->free_ext, &r->nfree, i);
    }
    return;
  }
  if (i < r->nfree && e.off + e.size == r->free_ext[i].off) {
    r->free_ext[i].off = e.off;
    r->free_ext[i].size += e.size;
    return;
  }
  /* The used slot just removed leaves room (capfree >= nfree + 1 kept by
  ** alloc's reservation), so this cannot fail. */
  rm_ext_insert(r->lib, &r->free_ext, &r->nfree, &r->capfree, i, e);
}

/* -- Scratch --------------------------------------------------------------- */

/* Take n bytes of scratch (aligned); *at gets the arena offset. */
static int rm_scratch(rm_lib *r, uint64_t n, uint64_t align, uint64_t *at) {
  if (align < WIRE_ALIGN) align = WIRE_ALIGN;
  uint64_t a = (r->top + align - 1) & ~(align - 1);
  if (a < r->top || !wire_span(a, n, r->scratch_lo, r->scratch_hi))
    return mffi_lib_err(r->lib, MFFI_ERANGE,
                        "a call needs more than the %llu bytes of the "
                        "arena's scratch (raise mffi_remote_opts.arena_size)",
                        (unsigned long long)(r->scratch_hi - r->scratch_lo));
  uint64_t end;
  if (!wire_round(a + n, &end)) return MFFI_ERANGE;
  r->top = end;
  *at = a;
  return MFFI_OK;
}

static void *rm_at(const rm_lib *r, uint64_t off) {
  return r->base + off;
}

/* -- Death ----------------------------------------------------------------- */

/* The sandbox is gone or must go: kill and reap it, say why, and fail the
** library. why: MFFI_ECRASHED (it died), MFFI_ETIMEOUT, MFFI_EPROTOCOL
** (reason in fmt). Returns the code the call returns. */
static int rm_fail(rm_lib *r, int why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rm_fail(rm_lib *r, int why, const char *fmt, ...) {
  mffi_lib *lib = r->lib;
  char reason[256] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
  }
  int status = 0;
  bool reaped = false;
  if (r->pid > 0) {
    kill(r->pid, SIGKILL); /* Dead already, or it must die now. */
    for (;;) {
      pid_t w = waitpid(r->pid, &status, 0);
      if (w == r->pid) {
        reaped = true;
        break;
      }
      if (w < 0 && errno != EINTR) break;
    }
  }
  wire_ctl *ctl = r->base ? (wire_ctl *)r->base : NULL;
  int note_sig = ctl ? (int)atomic_load(&ctl->note_sig) : 0;
  int note_sys = ctl ? (int)atomic_load(&ctl->note_syscall) : -1;
  const char *doing = r->doing ? r->doing : "a request";
  char what[400], nm[64];
  int rc = why;
  if (why == MFFI_ETIMEOUT) {
    snprintf(what, sizeof what, "did not return within %u ms; the sandbox was killed",
             r->opts.timeout_ms);
  } else if (why == MFFI_EPROTOCOL) {
    snprintf(what, sizeof what, "sent a bad message (%s); the sandbox was killed",
             reason);
  } else if (note_sig == SIGSYS && note_sys >= 0) {
    rc = MFFI_EDENIED;
    snprintf(what, sizeof what, "made system call '%s', which policy '%s' denies",
             mffi__syscall_name(note_sys, nm, sizeof nm),
             r->policy ? r->policy : "compute");
  } else if (reaped && WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGSYS) rc = MFFI_EDENIED;
    snprintf(what, sizeof what, "was killed by %s",
             rm_sig_name(sig, nm, sizeof nm));
  } else if (note_sig > 0 && reaped && WIFEXITED(status) &&
             WEXITSTATUS(status) == 128 + note_sig) {
    snprintf(what, sizeof what, "was killed by %s",
             rm_sig_name(note_sig, nm, sizeof nm));
  } else if (reaped && WIFEXITED(status)) {
    snprintf(what, sizeof what, "exited with status %d", WEXITSTATUS(status));
  } else {
    snprintf(what, sizeof what, "died (%s)", reason[0] ? reason : "unknown");
  }
  r->pid = 0;
  if (r->sock >= 0) close(r->sock);
  r->sock = -1;
  mffi_lib_fail(lib, rc);
  return mffi_lib_err(lib, rc, "the sandbox of %s %s (%s%s%s)",
                      mffi_lib_target(lib) ? mffi_lib_target(lib)
                                           : "the running process",
                      what, r->doing_fn ? "in a call to '" : "during ", doing,
                      r->doing_fn ? "'" : "");
}

/* While asleep: has the sandbox died, or the deadline passed? */
static int rm_poll(void *ud) {
  rm_lib *r = ud;
  if (r->deadline && rm_now() >= r->deadline) return MFFI_ETIMEOUT;
  struct pollfd p = {r->sock, POLLIN, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLIN)))
    return MFFI_ECRASHED;
  return 0;
}

/* -- Requests -------------------------------------------------------------- */

static int rm_serve_callback(rm_lib *r, const wire_msg *m, uint64_t pay,
                             uint64_t end);

/* A message from the sandbox, validated: its header copied to *m and its
** payload at arena offset *pay, within [lo, scratch_hi). */
static int rm_recv(rm_lib *r, uint64_t lo, wire_msg *m, uint64_t *pay) {
  uint64_t off;
  int rc = mffi__wire_wait(&r->ch, rm_poll, r, RM_SLICE_MS, &off, m);
  if (rc == MFFI_ETIMEOUT) return rm_fail(r, MFFI_ETIMEOUT, NULL);
  if (rc) return rm_fail(r, MFFI_ECRASHED, NULL);
  /* Another process wrote these bytes: tell memcheck, which cannot see it. */
  VALGRIND_MAKE_MEM_DEFINED(m, sizeof *m);
  uint64_t len = sizeof *m + (uint64_t)m->len;
  const char *bad = mffi__wire_msg_check(lo, r->scratch_hi, off, m);
  if (bad)
    return rm_fail(r, MFFI_EPROTOCOL, "%s (at %llu, %llu bytes)", bad,
                   (unsigned long long)off, (unsigned long long)len);
  VALGRIND_MAKE_MEM_DEFINED(r->base + off, len);
  *pay = off + sizeof *m;
  return MFFI_OK;
}

/* Post the message at off (header filled but top) and wait for its reply,
** serving callbacks meanwhile. *m gets the reply's header, *pay its
** payload offset. */
static int rm_transact(rm_lib *r, uint64_t off, wire_msg *m, uint64_t *pay) {
  wire_msg *out = rm_at(r, off);
  out->top = r->top;
  uint64_t lo = r->top;
  mffi__wire_post(&r->ch, off);
  for (;;) {
    int rc = rm_recv(r, lo, m, pay);
    if (rc != MFFI_OK) return rc;
    if (m->kind == WIRE_REPLY) return MFFI_OK;
    rc = rm_serve_callback(r, m, *pay, *pay + m->len);
    if (rc != MFFI_OK) return rc;
  }
}

/* Start a request: a message of kind with room for n payload bytes. */
static int rm_begin(rm_lib *r, uint32_t kind, uint32_t id, uint64_t n,
                    uint64_t *off) {
  int rc = rm_scratch(r, sizeof(wire_msg) + n, WIRE_MSG_ALIGN, off);
  if (rc != MFFI_OK) return rc;
  wire_msg *m = rm_at(r, *off);
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->id = id;
  m->len = (uint32_t)n;
  return MFFI_OK;
}

/* The reply's status; on failure its text (NUL-terminated within the
** payload, else cut) becomes the detail. */
static int rm_status(rm_lib *r, const wire_msg *m, uint64_t pay) {
  if (m->status == MFFI_OK) return MFFI_OK;
  int rc = m->status;
  if (rc >= 0 || rc < MFFI_EVIOLATION)
    return rm_fail(r, MFFI_EPROTOCOL, "unknown status %d", rc);
  char text[RM_MSG_MAX];
  size_t n = m->len < sizeof text - 1 ? m->len : sizeof text - 1;
  memcpy(text, rm_at(r, pay), n);
  text[n] = '\0';
  return mffi_lib_err(r->lib, rc, "%s", text[0] ? text : mffi_strerror(rc));
}

/* Lock the library for a request on this thread (or nest inside a
** callback's handler already holding it). */
static bool rm_enter(rm_lib *r, rm_active *a) {
  for (rm_active *x = rm_tl_active; x; x = x->up)
    if (x->r == r) {
      a->r = NULL;
      return false;
    }
  pthread_mutex_lock(&r->mu);
  a->r = r;
  a->up = rm_tl_active;
  rm_tl_active = a;
  return true;
}

static void rm_leave(rm_lib *r, rm_active *a) {
  if (!a->r) return;
  rm_tl_active = a->up;
  pthread_mutex_unlock(&r->mu);
}

/* The library failed earlier: refuse at once with its code. */
static int rm_failed_err(rm_lib *r) {
  mffi_lib *lib = r->lib;
  return mffi_lib_err(lib, mffi_lib_failed(lib),
                      "the sandbox of %s failed earlier; mffi_reopen() "
                      "starts it again",
                      mffi_lib_target(lib) ? mffi_lib_target(lib)
                                           : "the running process");
}

/* A simple request: kind, id, a, b, payload; reply status. The reply's
** header and payload offset are returned for the caller to read. Runs
** under the lock (the caller holds it). */
static int rm_simple(rm_lib *r, uint32_t kind, uint32_t id, uint64_t a,
                     uint64_t b, const void *pay, uint64_t npay,
                     wire_msg *reply, uint64_t *rpay) {
  if (mffi_lib_failed(r->lib)) return rm_failed_err(r);
  uint64_t off;
  int rc = rm_begin(r, kind, id, npay, &off);
  if (rc != MFFI_OK) return rc;
  wire_msg *m = rm_at(r, off);
  m->a = a;
  m->b = b;
  if (npay) memcpy(m + 1, pay, npay);
  rc = rm_transact(r, off, reply, rpay);
  if (rc != MFFI_OK) return rc;
  return rm_status(r, reply, *rpay);
}

/* One request on its own (bind, cdef, closures): lock, post, wait, restore
** the scratch and what the library was doing. *reply gets the answer's
** header (its payload is not kept). */
static int rm_request(rm_lib *r, const char *what, uint32_t kind, uint32_t id,
                      uint64_t a, uint64_t b, const void *pay, uint64_t npay,
                      wire_msg *reply) {
  rm_active act;
  rm_enter(r, &act);
  uint64_t saved = r->top;
  const char *saved_doing = r->doing;
  bool saved_fn = r->doing_fn;
  r->doing = what;
  r->doing_fn = false;
  uint64_t rpay;
  int rc = rm_simple(r, kind, id, a, b, pay, npay, reply, &rpay);
  r->top = saved;
  r->doing = saved_doing;
  r->doing_fn = saved_fn;
  rm_leave(r, &act);
  return rc;
}

/* -- Starting the sandbox -------------------------------------------------- */

static void rm_unmap(rm_lib *r) {
  if (r->base) munmap(r->base, r->size);
  r->base = NULL;
}

/* Map a fresh arena; mffi__spawn passes memfd to the sandbox. */
static int rm_map(rm_lib *r, int *memfd) {
  mffi_lib *lib = r->lib;
  int fd = memfd_create("modffi-arena", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, (off_t)r->size) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return mffi_lib_err(lib, MFFI_ENOMEM, "cannot make a %zu-byte arena: %s",
                        r->size, strerror(e));
  }
  void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return mffi_lib_err(lib, MFFI_ENOMEM, "cannot map the arena: %s",
                        strerror(e));
  }
  r->base = p;
  *memfd = fd;
  wire_layout lay = wire_layout_of(r->size);
  r->scratch_lo = lay.scratch_lo;
  r->scratch_hi = lay.scratch_hi;
  r->heap_lo = lay.host_lo;
  r->heap_hi = lay.host_hi;
  r->top = r->scratch_lo;
  memset(&r->ch, 0, sizeof r->ch);
  r->ch.ctl = (wire_ctl *)r->base;
  r->ch.host = true;
  r->ch.spin_ns = WIRE_SPIN_NS;
  atomic_store(&r->ch.ctl->note_syscall, -1);
  return rm_heap_reset(r) ? MFFI_ENOMEM : MFFI_OK;
}

/* Read exactly n bytes from the socket within ms. */
static int rm_read_full(int fd, void *buf, size_t n, int ms) {
  unsigned char *p = buf;
  uint64_t until = rm_now() + (uint64_t)ms * 1000000u;
  while (n > 0) {
    uint64_t now = rm_now();
    if (now >= until) return -ETIMEDOUT;
    struct pollfd pf = {fd, POLLIN, 0};
    int pr = poll(&pf, 1, (int)((until - now) / 1000000u) + 1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k == 0 ? -EPIPE : -errno;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* How long a sandbox may take to start: the call deadline when there is
** one (but never less than RM_START_MIN_MS), else RM_HELLO_MS. */
static unsigned rm_start_ms(const rm_lib *r) {
  unsigned t = r->opts.timeout_ms;
  if (!t) return RM_HELLO_MS;
  return t < RM_START_MIN_MS ? RM_START_MIN_MS : t;
}

static void rm_stop(rm_lib *r);

/* One try at a sandbox on a fresh arena: spawn, hello. */
static int rm_spawn_once(rm_lib *r, bool *retry) {
  mffi_lib *lib = r->lib;
  *retry = false;
  int memfd = -1;
  int rc = rm_map(r, &memfd);
  if (rc != MFFI_OK) return rc;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    close(memfd);
    return mffi_lib_err(lib, MFFI_ENOMEM, "socketpair: %s", strerror(errno));
  }
  char base[32], size[32];
  snprintf(base, sizeof base, "%#lx", (unsigned long)(uintptr_t)r->base);
  snprintf(size, sizeof size, "%zu", r->size);
  const char *args[] = {"serve", base, size, NULL};
  int fds[] = {sv[1], memfd};
  char err[256] = "";
  unsigned ns = MFFI_LAYER_USERNS | MFFI_LAYER_PIDNS | MFFI_LAYER_NETNS |
                MFFI_LAYER_IPCNS;
  unsigned got = 0;
  pid_t pid = 0;
  int sr = mffi__spawn(r->sandbox, args, fds, 2, ns,
                       (r->opts.flags & MFFI_REMOTE_STDERR) != 0, &got, &pid,
                       err, sizeof err);
  close(sv[1]);
  close(memfd);
  if (sr != 0) {
    close(sv[0]);
    return mffi_lib_err(lib, MFFI_ENOLIB, "cannot start %s: %s", r->sandbox,
                        err);
  }
  r->pid = pid;
  r->sock = sv[0];
  r->layers = got;
  r->missing = ns & ~got;
  wire_hello h;
  int e = rm_read_full(r->sock, &h, sizeof h, rm_start_ms(r));
  r->doing = "its start";
  r->doing_fn = false;
  if (e != 0) {
    if (e == -ETIMEDOUT) {
      rm_fail(r, MFFI_ETIMEOUT, NULL);
      return mffi_lib_err(lib, MFFI_ENOLIB, "%s said no hello within %u ms",
                          r->sandbox, rm_start_ms(r));
    }
    rm_fail(r, MFFI_ECRASHED, NULL);
    char why[RM_WHY];
    snprintf(why, sizeof why, "%s", mffi_errmsg(mffi_lib_ctx(lib)));
    return mffi_lib_err(lib, MFFI_ENOLIB, "cannot start %s: %s", r->sandbox,
                        why);
  }
  if (h.magic != WIRE_MAGIC || h.version != WIRE_VERSION ||
      h.sz_ptr != sizeof(void *) || h.sz_long != sizeof(long) ||
      h.sz_ldouble != sizeof(long double) || h.sz_msg != sizeof(wire_msg) ||
      h.test_int != WIRE_HELLO_INT || h.test_dbl != WIRE_HELLO_DOUBLE) {
    rm_fail(r, MFFI_EPROTOCOL, "bad hello");
    return mffi_lib_err(lib, MFFI_EPROTOCOL,
                        "%s is not a modffi-sandbox of this build (its "
                        "hello: magic %#x, version %u)",
                        r->sandbox, h.magic, h.version);
  }
  r->shared_heap = h.shared_heap == 1;
  if (h.map_errno != 0) {
    /* Not a failure of the library: a later try may find a free address,
    ** and the library must not be left in its failed state. */
    rm_stop(r);
    *retry = h.map_errno == EEXIST;
    return mffi_lib_err(lib, MFFI_ENOLIB,
                        "the sandbox cannot map the arena at %s: %s", base,
                        strerror(h.map_errno));
  }
  return MFFI_OK;
}

/* Spawn the sandbox and open the target in it. */
static int rm_start(rm_lib *r) {
  mffi_lib *lib = r->lib;
  int rc = MFFI_ENOLIB;
  for (int i = 0; i < RM_MAP_TRIES; i++) {
    bool retry;
    rc = rm_spawn_once(r, &retry);
    if (rc == MFFI_OK || !retry) break;
    rm_unmap(r);
  }
  if (rc != MFFI_OK) return rc;
  /* The target, the options and every declaration so far. */
  const char *target = mffi_lib_target(lib);
  /* The log travels as entries of an 8-byte length and the text. */
  size_t nlog = 0, nent = mffi_lib_cdef_count(lib);
  for (size_t i = 0; i < nent; i++) {
    size_t k;
    mffi_lib_cdef_text(lib, i, &k);
    nlog += sizeof(uint64_t) + k;
  }
  const char *pol = r->policy ? r->policy : "compute";
  wire_init in = {0};
  in.flags = mffi_lib_flags(lib);
  in.rflags = r->opts.flags;
  in.max_closures = r->opts.max_closures;
  in.cpu_seconds = r->opts.cpu_seconds;
  in.as_limit = r->opts.as_limit;
  in.scratch_off = r->scratch_lo;
  in.scratch_end = r->scratch_hi;
  in.has_target = target != NULL;
  in.ntarget = target ? strlen(target) + 1 : 1;
  in.npolicy = strlen(pol) + 1;
  in.nlog = nlog;
  uint64_t n = sizeof in + in.ntarget + in.npolicy + nlog;
  uint64_t off;
  r->doing = "its start";
  r->doing_fn = false;
  rc = rm_begin(r, WIRE_INIT, 0, n, &off);
  if (rc != MFFI_OK) {
    rm_fail(r, MFFI_ECRASHED, NULL);
    return mffi_lib_err(lib, MFFI_ERANGE,
                        "the declarations (%zu bytes) do not fit the arena's "
                        "scratch; raise mffi_remote_opts.arena_size",
                        nlog);
  }
  unsigned char *p = (unsigned char *)rm_at(r, off) + sizeof(wire_msg);
  memcpy(p, &in, sizeof in);
  p += sizeof in;
  memcpy(p, target ? target : "", in.ntarget);
  p += in.ntarget;
  memcpy(p, pol, in.npolicy);
  p += in.npolicy;
  for (size_t i = 0; i < nent; i++) {
    size_t k;
    const char *t = mffi_lib_cdef_text(lib, i, &k);
    uint64_t k64 = k;
    memcpy(p, &k64, sizeof k64);
    memcpy(p + sizeof k64, t, k);
    p += sizeof k64 + k;
  }
  wire_msg m;
  uint64_t pay;
  uint64_t saved = r->scratch_lo;
  r->deadline = rm_now() + (uint64_t)rm_start_ms(r) * 1000000u;
  rc = rm_transact(r, off, &m, &pay);
  r->deadline = 0;
  r->top = saved;
  if (rc != MFFI_OK) return rc;
  r->layers |= (unsigned)m.a;
  r->missing |= (unsigned)m.b;
  r->missing &= ~r->layers;
  if (m.status != MFFI_OK) {
    rc = rm_status(r, &m, pay);
    char why[RM_WHY];
    snprintf(why, sizeof why, "%s", mffi_errmsg(mffi_lib_ctx(lib)));
    rm_fail(r, MFFI_ECRASHED, NULL);
    return mffi_lib_err(lib, rc, "%s", why);
  }
  /* The detail of missing layers, as text. */
  size_t k = m.len < sizeof r->detail - 1 ? m.len : sizeof r->detail - 1;
  memcpy(r->detail, rm_at(r, pay), k);
  r->detail[k] = '\0';
  r->detail[strnlen(r->detail, k)] = '\0';
  return MFFI_OK;
}

/* -- Open and close -------------------------------------------------------- */

static void rm_stop(rm_lib *r) {
  if (r->pid > 0) {
    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  r->pid = 0;
  if (r->sock >= 0) close(r->sock);
  r->sock = -1;
  rm_unmap(r);
}

static void rm_free_state(rm_lib *r) {
  mffi_lib *lib = r->lib;
  rm_stop(r);
  pthread_mutex_destroy(&r->mu);
  for (size_t i = 0; i < r->nstrs; i++)
    mffi_lib_free(lib, r->strs[i]);
  mffi_lib_free(lib, r->strs);
  mffi_lib_free(lib, r->cbs);
  mffi_lib_free(lib, r->free_ext);
  mffi_lib_free(lib, r->used_ext);
  mffi_lib_free(lib, r->policy);
  mffi_lib_free(lib, r->sandbox);
  mffi_lib_free(lib, r);
}

static int rm_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts) {
  (void)target;
  const mffi_remote_opts *ro = opts->strategy_opts;
  if (ro && ro->version != MFFI_REMOTE_OPTS_VERSION)
    return mffi_lib_err(lib, MFFI_EMISUSE,
                        "unknown mffi_remote_opts version %d", ro->version);
  rm_lib *r = mffi_lib_malloc(lib, sizeof *r);
  if (!r) return MFFI_ENOMEM;
  memset(r, 0, sizeof *r);
  r->lib = lib;
  r->sock = -1;
  pthread_mutex_init(&r->mu, NULL);
  if (ro) r->opts = *ro;
  r->opts.version = MFFI_REMOTE_OPTS_VERSION;
  if (!r->opts.arena_size) r->opts.arena_size = RM_ARENA_DEFAULT;
  if (!r->opts.max_closures) r->opts.max_closures = RM_CLOSURES_DEFAULT;
  if (!r->opts.as_limit) r->opts.as_limit = RM_AS_DEFAULT;
  int rc = MFFI_OK;
  mffi__policy pol;
  char err[256];
  if (r->opts.arena_size < RM_ARENA_MIN || r->opts.arena_size > RM_ARENA_MAX)
    rc = mffi_lib_err(lib, MFFI_ERANGE,
                      "arena_size %zu is outside [%zu, %zu]",
                      r->opts.arena_size, RM_ARENA_MIN, RM_ARENA_MAX);
  else if (r->opts.max_closures > RM_CLOSURES_MAX)
    rc = mffi_lib_err(lib, MFFI_ERANGE, "max_closures %u is above %u",
                      r->opts.max_closures, RM_CLOSURES_MAX);
  else if (mffi__policy_parse(r->opts.policy, &pol, err, sizeof err) != 0)
    rc = mffi_lib_err(lib, MFFI_EMISUSE, "%s", err);
  if (rc == MFFI_OK) {
    r->size = (r->opts.arena_size + 4095) & ~(size_t)4095;
    r->policy = rm_strdup(lib, r->opts.policy ? r->opts.policy : "compute");
    r->opts.policy = r->policy;
    if (!r->policy) rc = MFFI_ENOMEM;
  }
  if (rc == MFFI_OK) rc = rm_find_sandbox(r);
  r->opts.sandbox = NULL; /* Not kept: the path found is. */
  if (rc == MFFI_OK) rc = rm_start(r);
  if (rc != MFFI_OK) {
    rm_free_state(r);
    return rc;
  }
  mffi_lib_set_data(lib, r);
  return MFFI_OK;
}

static void rm_close(mffi_lib *lib) {
  rm_lib *r = mffi_lib_data(lib);
  if (r) rm_free_state(r);
  mffi_lib_set_data(lib, NULL);
}

static int rm_reopen(mffi_lib *lib) {
  rm_lib *r = mffi_lib_data(lib);
  rm_stop(r);
  if (r->cbs) memset(r->cbs, 0, r->capcbs * sizeof *r->cbs);
  r->ncbs = 0;
  r->layers = r->missing = 0;
  r->detail[0] = '\0';
  r->doing = NULL;
  return rm_start(r);
}

static int rm_cdef(mffi_lib *lib, const char *src, size_t len) {
  wire_msg m;
  return rm_request(mffi_lib_data(lib), "declarations", WIRE_CDEF, 0, 0, 0,
                    src, len, &m);
}

/* -- Bind ------------------------------------------------------------------ */

/* Append the C text of t and a NUL to buf at *n (cap bytes). */
static int rm_put_type(mffi_lib *lib, const mffi_type *t, char **buf,
                       size_t *n, size_t *cap) {
  size_t need = mffi_type_str(t, NULL, NULL, 0) + 1;
  if (rm_grow(lib, (void **)buf, cap, *n + need, 1)) return MFFI_ENOMEM;
  mffi_type_str(t, NULL, *buf + *n, need);
  *n += need;
  return MFFI_OK;
}

static void rm_unbind(mffi_fn *fn) {
  rm_fn *f = mffi_fn_data(fn);
  if (!f) return;
  mffi_lib *lib = mffi_fn_lib(fn);
  rm_lib *r = mffi_lib_data(lib);
  if (r && f->bound && !mffi_lib_failed(lib) && r->pid > 0) {
    wire_msg m;
    rm_request(r, "unbinding", WIRE_UNBIND, f->id, 0, 0, NULL, 0, &m);
  }
  mffi_lib_free(lib, f->arg_size);
  mffi_lib_free(lib, f);
  mffi_fn_set_data(fn, NULL);
}

static int rm_call(mffi_fn *fn, void *ret, void *const *args);

static int rm_bind(mffi_fn *fn) {
  mffi_lib *lib = mffi_fn_lib(fn);
  rm_lib *r = mffi_lib_data(lib);
  const mffi_type *ft = mffi_fn_type(fn);
  bool is_var = mffi_fn_is_var(fn);
  rm_fn *f = mffi_lib_malloc(lib, sizeof *f);
  if (!f) return MFFI_ENOMEM;
  memset(f, 0, sizeof *f);
  mffi_fn_set_data(fn, f);
  size_t nargs = mffi_fn_nargs(fn);
  f->nargs = nargs;
  f->plan = mffi_fn_plan(fn);
  if (!f->plan) return MFFI_ENOMEM;
  f->arg_size = mffi_lib_malloc(lib, (nargs ? nargs : 1) * sizeof(size_t));
  if (!f->arg_size) return MFFI_ENOMEM;
  for (size_t i = 0; i < nargs; i++)
    f->arg_size[i] = mffi_sizeof(mffi_fn_arg_type(fn, i));
  if (!is_var) {
    const mffi_type *rt = mffi_type_target(ft);
    f->ret_size = mffi_sizeof(rt);
  }
  /* What the sandbox binds: the name and the variadic types, or the
  ** address and the type. */
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int rc = MFFI_OK;
  const char *name = mffi_fn_name(fn);
  uint64_t how = name ? 0 : 1;
  if (name) {
    size_t k = strlen(name) + 1;
    if (rm_grow(lib, (void **)&buf, &cap, k, 1)) rc = MFFI_ENOMEM;
    if (rc == MFFI_OK) memcpy(buf, name, k);
    n = k;
    for (size_t i = mffi_fn_nfixed(fn); rc == MFFI_OK && i < nargs; i++)
      rc = rm_put_type(lib, mffi_fn_arg_type(fn, i), &buf, &n, &cap);
  } else {
    rc = rm_put_type(lib, ft, &buf, &n, &cap);
  }
  if (rc != MFFI_OK) {
    mffi_lib_free(lib, buf);
    return rc;
  }
  wire_msg m;
  rc = rm_request(r, "binding", WIRE_BIND,
                  (uint32_t)(nargs - mffi_fn_nfixed(fn)), how,
                  (uint64_t)(uintptr_t)mffi_fn_addr(fn), buf, n, &m);
  mffi_lib_free(lib, buf);
  if (rc != MFFI_OK) return rc;
  f->id = m.id;
  f->bound = true;
  mffi_fn_set_addr(fn, (void *)(uintptr_t)m.a);
  if (!is_var) mffi_fn_set_call(fn, rm_call);
  return MFFI_OK;
}

/* -- Call ------------------------------------------------------------------ */

/* A pointer the sandbox handed back: if it lies in a buffer copied for
** this call, the caller's own address at the same offset. */
static void *rm_translate(const rm_lib *r, const rm_copy *cp, size_t ncp,
                          void *p) {
  uintptr_t a = (uintptr_t)p;
  for (size_t i = 0; i < ncp; i++) {
    uintptr_t lo = (uintptr_t)r->base + cp[i].at;
    if (a >= lo && a - lo < cp[i].size)
      return (unsigned char *)cp[i].host + (a - lo);
  }
  return p;
}

/* Keep a result string for the library's life (deduplicated). */
static int rm_keep_str(rm_lib *r, const char *s, size_t n, char **out) {
  for (size_t i = 0; i < r->nstrs; i++)
    if (strncmp(r->strs[i], s, n) == 0 && r->strs[i][n] == '\0') {
      *out = r->strs[i];
      return MFFI_OK;
    }
  if (r->nstrs >= RM_STR_MAX || r->strbytes + n + 1 > RM_STR_BYTES)
    return mffi_lib_err(r->lib, MFFI_ERANGE,
                        "more than %u distinct result strings", RM_STR_MAX);
  if (rm_grow(r->lib, (void **)&r->strs, &r->capstrs, r->nstrs + 1,
              sizeof *r->strs))
    return MFFI_ENOMEM;
  char *c = mffi_lib_malloc(r->lib, n + 1);
  if (!c) return MFFI_ENOMEM;
  memcpy(c, s, n);
  c[n] = '\0';
  r->strs[r->nstrs++] = c;
  r->strbytes += n + 1;
  *out = c;
  return MFFI_OK;
}

/* Marshal pointer argument i (value at *pv, in the message) by plan a. */
static int rm_marshal(rm_lib *r, mffi_fn *fn, const mffi_arg_plan *a,
                      void *const *args, void **pv, rm_copy *cp,
                      size_t *ncp) {
  void *p = *pv;
  if (!p) return MFFI_OK;
  uint64_t bytes;
  switch (a->pass) {
  case MFFI_PASS_STRING: {
    if (rm_in_arena(r, p, 1)) return MFFI_OK;
    bytes = strlen(p) + 1;
    break;
  }
  case MFFI_PASS_IN:
  case MFFI_PASS_OUT:
  case MFFI_PASS_INOUT: {
    uint64_t count = a->count;
    if (a->count_arg >= 0) {
      int64_t c = mffi_fn_arg_int(fn, args, (size_t)a->count_arg);
      if (c < 0)
        return mffi_lib_err(r->lib, MFFI_ERANGE,
                            "%s: argument %d gives a negative count (%lld) "
                            "for buffer '%s'",
                            mffi_fn_name(fn), a->count_arg + 1, (long long)c,
                            a->name ? a->name : "?");
      count = (uint64_t)c;
    }
    if (a->elem_size && count > UINT64_MAX / a->elem_size)
      return mffi_lib_err(r->lib, MFFI_ERANGE, "buffer size overflows");
    bytes = count * a->elem_size;
    if (bytes == 0 || rm_in_arena(r, p, bytes)) return MFFI_OK;
    break;
  }
  default: return MFFI_OK;
  }
  size_t align = a->elem ? mffi_alignof(a->elem) : 1;
  uint64_t at = 0;
  int rc = rm_scratch(r, bytes, align, &at);
  if (rc != MFFI_OK) return rc;
  void *dst = rm_at(r, at);
  if (a->pass == MFFI_PASS_OUT)
    memset(dst, 0, bytes);
  else
    memcpy(dst, p, bytes);
  rm_copy *c = &cp[(*ncp)++];
  c->host = p;
  c->at = at;
  c->size = bytes;
  c->back = a->pass == MFFI_PASS_OUT || a->pass == MFFI_PASS_INOUT;
  c->ptr_elems = a->elem && mffi_type_kind(mffi_type_unqual(a->elem)) ==
                                MFFI_KIND_POINTER;
  *pv = dst;
  return MFFI_OK;
}

/* The result, copied to ret at its exact size; pointers translated. */
static int rm_result(rm_lib *r, rm_fn *f, const wire_msg *m, uint64_t pay,
                     void *ret, const rm_copy *cp, size_t ncp) {
  if (f->ret_size == 0 || !ret) return MFFI_OK;
  if (m->len < f->ret_size)
    return rm_fail(r, MFFI_EPROTOCOL, "a %u-byte result for a %zu-byte type",
                   m->len, f->ret_size);
  const unsigned char *src = rm_at(r, pay);
  const mffi_arg_plan *rp = &f->plan->ret;
  if (rp->pass == MFFI_PASS_VALUE || f->ret_size != sizeof(void *)) {
    memcpy(ret, src, f->ret_size);
    return MFFI_OK;
  }
  void *p;
  memcpy(&p, src, sizeof p);
  if (rp->pass == MFFI_PASS_STRING && p) {
    uint64_t n = m->a; /* Length of the copy, with its NUL; 0: none. */
    if (n) {
      size_t len;
      const char *bad = mffi__wire_str_check(src, m->len, f->ret_size, &len);
      if (!bad && len + 1 != n) bad = "a string of another length than said";
      if (bad) return rm_fail(r, MFFI_EPROTOCOL, "result: %s", bad);
      char *s = NULL;
      int rc = rm_keep_str(r, (const char *)src + f->ret_size, len, &s);
      if (rc != MFFI_OK) return rc;
      p = s;
    } else {
      /* Not copied: it must be ours, in the arena or a copied buffer. */
      void *t = rm_translate(r, cp, ncp, p);
      if (t == p && !rm_in_arena(r, p, 1))
        return rm_fail(r, MFFI_EPROTOCOL,
                       "a string result outside the arena, not copied");
      p = t;
    }
  } else {
    p = rm_translate(r, cp, ncp, p);
  }
  memcpy(ret, &p, sizeof p);
  return MFFI_OK;
}

static int rm_call(mffi_fn *fn, void *ret, void *const *args) {
  rm_fn *f = mffi_fn_data(fn);
  mffi_lib *lib = mffi_fn_lib(fn);
  rm_lib *r = mffi_lib_data(lib);
  size_t nargs = f->nargs;
  if (!args && nargs) return mffi_lib_err(lib, MFFI_EMISUSE, "args is NULL");
  rm_active act;
  rm_enter(r, &act);
  int rc = mffi_lib_failed(lib);
  if (rc != MFFI_OK) {
    rm_leave(r, &act);
    return rm_failed_err(r);
  }
  uint64_t saved = r->top;
  uint64_t saved_deadline = r->deadline;
  const char *saved_doing = r->doing;
  bool saved_fn = r->doing_fn;
  /* The message: header, arg table, values. */
  uint64_t vbytes = 0;
  for (size_t i = 0; i < nargs; i++)
    vbytes += wire_up(f->arg_size[i]);
  uint64_t npay = nargs * sizeof(wire_arg) + vbytes, off;
  rm_copy cp[nargs ? nargs : 1];
  size_t ncp = 0;
  rc = rm_begin(r, WIRE_CALL, f->id, npay, &off);
  if (rc == MFFI_OK) {
    wire_msg *m = rm_at(r, off);
    m->nargs = (uint32_t)nargs;
    wire_arg *tab = (wire_arg *)(m + 1);
    unsigned char *vals = (unsigned char *)(tab + nargs);
    uint64_t at = nargs * sizeof(wire_arg);
    for (size_t i = 0; i < nargs && rc == MFFI_OK; i++) {
      tab[i] = (wire_arg){(uint32_t)at, (uint32_t)f->arg_size[i], 0, 0};
      unsigned char *v = vals + (at - nargs * sizeof(wire_arg));
      memcpy(v, args[i], f->arg_size[i]);
      const mffi_arg_plan *a = &f->plan->args[i];
      if (a->pass != MFFI_PASS_VALUE && a->pass != MFFI_PASS_HANDLE &&
          a->pass != MFFI_PASS_FUNC && f->arg_size[i] == sizeof(void *)) {
        void *pv;
        memcpy(&pv, v, sizeof pv);
        rc = rm_marshal(r, fn, a, args, &pv, cp, &ncp);
        memcpy(v, &pv, sizeof pv);
      }
      at += wire_up(f->arg_size[i]);
    }
  }
  wire_msg reply;
  uint64_t pay = 0;
  if (rc == MFFI_OK) {
    r->deadline = r->opts.timeout_ms
                      ? rm_now() + (uint64_t)r->opts.timeout_ms * 1000000u
                      : 0;
    r->doing = mffi_fn_name(fn) ? mffi_fn_name(fn) : "a function";
    r->doing_fn = true;
    rc = rm_transact(r, off, &reply, &pay);
  }
  if (rc == MFFI_OK) rc = rm_status(r, &reply, pay);
  if (rc == MFFI_OK) {
    mffi_set_errno(reply.err);
    for (size_t i = 0; i < ncp; i++) {
      if (!cp[i].back) continue;
      memcpy(cp[i].host, rm_at(r, cp[i].at), cp[i].size);
      if (cp[i].ptr_elems)
        for (uint64_t k = 0; k + sizeof(void *) <= cp[i].size;
             k += sizeof(void *)) {
          void *q;
          memcpy(&q, (unsigned char *)cp[i].host + k, sizeof q);
          q = rm_translate(r, cp, ncp, q);
          memcpy((unsigned char *)cp[i].host + k, &q, sizeof q);
        }
    }
    rc = rm_result(r, f, &reply, pay, ret, cp, ncp);
  }
  r->top = saved;
  r->deadline = saved_deadline;
  r->doing = saved_doing;
  r->doing_fn = saved_fn;
  rm_leave(r, &act);
  return rc;
}

/* -- Callbacks ------------------------------------------------------------- */

/* A WIRE_CALLBACK at payload [pay, end): run the handler, answer. */
static int rm_serve_callback(rm_lib *r, const wire_msg *m, uint64_t pay,
                             uint64_t end) {
  if (m->id >= r->ncbs || !r->cbs[m->id])
    return rm_fail(r, MFFI_EPROTOCOL, "callback to unknown closure %u", m->id);
  mffi_closure *c = r->cbs[m->id];
  const mffi_type *ft = mffi_closure_type(c);
  size_t n = mffi_type_nparams(ft);
  uint64_t plen = end - pay;
  const unsigned char *pb = rm_at(r, pay);
  size_t sizes[n ? n : 1];
  wire_arg tab[n ? n : 1];
  for (size_t i = 0; i < n; i++)
    sizes[i] = mffi_sizeof(mffi_type_param(ft, i));
  const char *bad = mffi__wire_args_check(pb, plen, m->nargs, sizes, n, tab);
  if (bad) return rm_fail(r, MFFI_EPROTOCOL, "%s", bad);
  /* Host copies of every value (the arena is the sandbox's to change). */
  typedef struct {
    _Alignas(16) unsigned char b[32];
  } cell;
  cell vals[n ? n : 1];
  char *strs[n ? n : 1];
  void *argv[n ? n : 1];
  size_t nstr = 0;
  int rc = MFFI_OK;
  for (size_t i = 0; i < n && rc == MFFI_OK; i++) {
    memcpy(vals[i].b, pb + tab[i].off, sizes[i]);
    argv[i] = vals[i].b;
    if (!(tab[i].flags & WIRE_ARG_STRING)) continue;
    /* The string follows its pointer value, NUL-terminated. */
    size_t len;
    if (sizes[i] != sizeof(char *) ||
        (bad = mffi__wire_str_check(pb, plen, tab[i].off + sizeof(char *),
                                    &len)) != NULL) {
      rc = rm_fail(r, MFFI_EPROTOCOL, "callback argument %zu: %s", i + 1,
                   bad ? bad : "a string flag on a non-pointer");
      break;
    }
    char *copy = mffi_lib_malloc(r->lib, len + 1);
    if (!copy) {
      rc = MFFI_ENOMEM;
      break;
    }
    memcpy(copy, pb + tab[i].off + sizeof(char *), len + 1);
    strs[nstr++] = copy;
    memcpy(vals[i].b, &copy, sizeof copy);
  }
  const mffi_type *rt = mffi_type_target(ft);
  size_t rsz = mffi_sizeof(rt);
  _Alignas(16) unsigned char rbuf[64];
  memset(rbuf, 0, sizeof rbuf);
  if (rc == MFFI_OK) {
    /* The handler may call in again: its scratch starts above this
    ** message. */
    uint64_t saved = r->top, saved_deadline = r->deadline;
    const char *saved_doing = r->doing;
    bool saved_fn = r->doing_fn;
    uint64_t top;
    if (!wire_round(end, &top) || top > r->scratch_hi) top = r->scratch_hi;
    if (top > r->top) r->top = top;
    mffi_closure_invoke(c, rsz ? rbuf : NULL, argv);
    r->deadline = saved_deadline;
    r->doing = saved_doing;
    r->doing_fn = saved_fn;
    uint64_t off;
    rc = mffi_lib_failed(r->lib);
    if (rc == MFFI_OK) rc = rm_begin(r, WIRE_CB_RET, m->id, rsz, &off);
    if (rc == MFFI_OK) {
      wire_msg *out = rm_at(r, off);
      memcpy(out + 1, rbuf, rsz);
      out->top = r->top;
      mffi__wire_post(&r->ch, off);
    }
    r->top = saved;
  }
  for (size_t i = 0; i < nstr; i++)
    mffi_lib_free(r->lib, strs[i]);
  return rc;
}

static int rm_callback(mffi_closure *c) {
  mffi_lib *lib = mffi_closure_lib(c);
  rm_lib *r = mffi_lib_data(lib);
  const mffi_type *ft = mffi_closure_type(c);
  if (mffi_sizeof(mffi_type_target(ft)) > 64)
    return mffi_lib_err(lib, MFFI_EUNSUPPORTED,
                        "a remote callback returns at most 64 bytes");
  for (size_t i = 0; i < mffi_type_nparams(ft); i++)
    if (mffi_sizeof(mffi_type_param(ft, i)) > 32)
      return mffi_lib_err(lib, MFFI_EUNSUPPORTED,
                          "a remote callback's arguments are at most 32 "
                          "bytes each (argument %zu)",
                          i + 1);
  rm_cb *st = mffi_lib_malloc(lib, sizeof *st);
  if (!st) return MFFI_ENOMEM;
  size_t id = 0;
  while (id < r->ncbs && r->cbs[id])
    id++;
  if (id == r->ncbs) {
    if (rm_grow(lib, (void **)&r->cbs, &r->capcbs, r->ncbs + 1,
                sizeof *r->cbs)) {
      mffi_lib_free(lib, st);
      return MFFI_ENOMEM;
    }
    r->cbs[r->ncbs++] = NULL;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int rc = rm_put_type(lib, ft, &buf, &n, &cap);
  wire_msg m;
  if (rc == MFFI_OK)
    rc = rm_request(r, "making a callback", WIRE_CB_MAKE, (uint32_t)id, 0, 0,
                    buf, n, &m);
  mffi_lib_free(lib, buf);
  if (rc != MFFI_OK) {
    mffi_lib_free(lib, st);
    return rc;
  }
  st->host_id = (uint32_t)id;
  st->slot = m.id;
  r->cbs[id] = c;
  mffi_closure_set_data(c, st);
  mffi_closure_set_code(c, (void *)(uintptr_t)m.a);
  return MFFI_OK;
}

static void rm_callback_free(mffi_closure *c) {
  rm_cb *st = mffi_closure_data(c);
  if (!st) return;
  mffi_lib *lib = mffi_closure_lib(c);
  rm_lib *r = mffi_lib_data(lib);
  if (st->host_id < r->ncbs && r->cbs[st->host_id] == c)
    r->cbs[st->host_id] = NULL;
  if (!mffi_lib_failed(lib) && r->pid > 0) {
    wire_msg m;
    rm_request(r, "freeing a callback", WIRE_CB_FREE, st->slot, 0, 0, NULL, 0,
               &m);
  }
  mffi_lib_free(lib, st);
  mffi_closure_set_data(c, NULL);
}

/* -- Memory ---------------------------------------------------------------- */

static int rm_new(mffi_lib *lib, size_t sz, size_t align, void **out) {
  rm_lib *r = mffi_lib_data(lib);
  rm_active a;
  rm_enter(r, &a);
  uint64_t off;
  int rc = rm_heap_alloc(r, sz, align, &off);
  rm_leave(r, &a);
  if (rc == MFFI_ENOMEM)
    return mffi_lib_err(lib, MFFI_ENOMEM,
                        "the arena has no free %zu bytes (raise "
                        "mffi_remote_opts.arena_size)",
                        sz);
  if (rc != MFFI_OK) return mffi_lib_err(lib, rc, "allocation size overflows");
  memset(rm_at(r, off), 0, sz);
  *out = rm_at(r, off);
  return MFFI_OK;
}

static void rm_delete(mffi_lib *lib, void *p) {
  rm_lib *r = mffi_lib_data(lib);
  if (!r->base || !rm_in_arena(r, p, 1)) return;
  rm_active a;
  rm_enter(r, &a);
  rm_heap_free(r, (uint64_t)((unsigned char *)p - r->base));
  rm_leave(r, &a);
}

/* Copy between the host and library memory outside the arena, through
** the sandbox, in pieces that fit the scratch. */
static int rm_copy_lib(mffi_lib *lib, void *host, void *libp, size_t n,
                       bool to_lib) {
  rm_lib *r = mffi_lib_data(lib);
  if (rm_in_arena(r, libp, n)) {
    if (to_lib)
      memcpy(libp, host, n);
    else
      memcpy(host, libp, n);
    return MFFI_OK;
  }
  rm_active a;
  rm_enter(r, &a);
  int rc = MFFI_OK;
  uint64_t chunk = (r->scratch_hi - r->scratch_lo) / 4;
  r->doing = to_lib ? "writing library memory" : "reading library memory";
  r->doing_fn = false;
  for (size_t done = 0; done < n && rc == MFFI_OK;) {
    size_t k = n - done < chunk ? n - done : (size_t)chunk;
    uint64_t saved = r->top;
    wire_msg m;
    uint64_t pay;
    uintptr_t at = (uintptr_t)libp + done;
    if (to_lib) {
      rc = rm_simple(r, WIRE_WRITE, 0, at, k, (unsigned char *)host + done, k,
                     &m, &pay);
    } else {
      rc = rm_simple(r, WIRE_READ, 0, at, k, NULL, 0, &m, &pay);
      if (rc == MFFI_OK && m.len != k)
        rc = rm_fail(r, MFFI_EPROTOCOL, "read %u bytes of %zu", m.len, k);
      if (rc == MFFI_OK) memcpy((unsigned char *)host + done, rm_at(r, pay), k);
    }
    r->top = saved;
    done += k;
  }
  rm_leave(r, &a);
  return rc;
}

static int rm_read(mffi_lib *lib, void *dst, const void *lib_src, size_t n) {
  return rm_copy_lib(lib, dst, (void *)lib_src, n, false);
}

static int rm_write(mffi_lib *lib, void *lib_dst, const void *src, size_t n) {
  return rm_copy_lib(lib, (void *)src, lib_dst, n, true);
}

/* -- Info ------------------------------------------------------------------ */

int mffi_remote_info_get(mffi_lib *lib, mffi_remote_info *out) {
  if (!lib || !out || mffi_lib_strategy(lib) != &mffi__strategy_remote)
    return MFFI_EMISUSE;
  rm_lib *r = mffi_lib_data(lib);
  out->layers = r->layers;
  out->missing = r->missing;
  out->pid = r->pid;
  out->policy = r->policy;
  out->sandbox = r->sandbox;
  out->detail = r->detail;
  out->shared_heap = r->shared_heap;
  return MFFI_OK;
}

const char *mffi_layer_name(unsigned layer) {
  return mffi__layer_name(layer);
}

/* The remote strategy: every call crosses to the sandbox. */
const mffi_strategy mffi__strategy_remote = {
    .version = MFFI_STRATEGY_VERSION,
    .name = "remote",
    .flags = MFFI_STRATEGY_PLAN,
    .xOpen = rm_open,
    .xClose = rm_close,
    .xBind = rm_bind,
    .xUnbind = rm_unbind,
    .xCall = rm_call,
    .xNew = rm_new,
    .xDelete = rm_delete,
    .xRead = rm_read,
    .xWrite = rm_write,
    .xCallback = rm_callback,
    .xCallbackFree = rm_callback_free,
    .xCdef = rm_cdef,
    .xReopen = rm_reopen,
};
