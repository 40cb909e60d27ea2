/* Sandbox confinement: spawn in namespaces, rlimits, Landlock, seccomp.
** See LICENSE.
**
** Linux only; kernel interfaces are used directly (clone flags, prctl,
** syscall(SYS_landlock_*)) and the seccomp filter is built with libseccomp.
** docs/sandbox.md, "Confinement layers", is the user-facing description of
** what is here; keep the syscall lists of both in step.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "strategy/remote/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_ASAN 1
#endif
#endif
#ifndef CF_ASAN
#define CF_ASAN 0
#endif

/* -- Layers ---------------------------------------------------------------- */

const char *mffi__layer_name(unsigned bit) {
  switch (bit) {
  case MFFI__LAYER_EXEC: return "exec";
  case MFFI__LAYER_ENV: return "env";
  case MFFI__LAYER_FDS: return "fds";
  case MFFI__LAYER_PDEATHSIG: return "pdeathsig";
  case MFFI__LAYER_RLIMITS: return "rlimits";
  case MFFI__LAYER_NNP: return "nnp";
  case MFFI__LAYER_SECCOMP: return "seccomp";
  case MFFI__LAYER_LANDLOCK: return "landlock";
  case MFFI__LAYER_USERNS: return "userns";
  case MFFI__LAYER_PIDNS: return "pidns";
  case MFFI__LAYER_NETNS: return "netns";
  case MFFI__LAYER_IPCNS: return "ipcns";
  default: return "?";
  }
}

const char *mffi__layer_list(unsigned layers, char *buf, size_t n) {
  size_t len = 0;
  if (n == 0) return buf;
  buf[0] = '\0';
  for (unsigned bit = 1; bit <= MFFI__LAYER_ALL; bit <<= 1) {
    if (!(layers & bit)) continue;
    int k = snprintf(buf + len, n - len, "%s%s", len ? "," : "",
                     mffi__layer_name(bit));
    if (k < 0 || (size_t)k >= n - len) return buf; /* Truncated. */
    len += (size_t)k;
  }
  if (len == 0) snprintf(buf, n, "none");
  return buf;
}

/* -- Policies -------------------------------------------------------------- */

int mffi__policy_parse(const char *text, mffi__policy *out, char *err,
                       size_t errsz) {
  memset(out, 0, sizeof *out);
  out->kind = MFFI__POLICY_COMPUTE;
  if (!text || strcmp(text, "compute") == 0) return 0;
  if (strncmp(text, "files:", 6) != 0) {
    snprintf(err, errsz, "unknown policy '%s' (compute, files:DIR)", text);
    return -1;
  }
  const char *dir = text + 6;
  struct stat st;
  if (dir[0] != '/') {
    snprintf(err, errsz, "policy '%s': DIR must be an absolute path", text);
    return -1;
  }
  if (strlen(dir) >= sizeof out->dir) {
    snprintf(err, errsz, "policy files:DIR: DIR longer than %d bytes",
             MFFI__POLICY_DIR_MAX - 1);
    return -1;
  }
  if (stat(dir, &st) != 0) {
    snprintf(err, errsz, "policy '%s': %s", text, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errsz, "policy '%s': not a directory", text);
    return -1;
  }
  out->kind = MFFI__POLICY_FILES;
  memcpy(out->dir, dir, strlen(dir) + 1);
  return 0;
}

/* -- Host side: spawn ------------------------------------------------------ */

#define SP_STACK (256 * 1024) /* Stack of the child until execve. */

/* What the child needs, and where it reports a failure. The child shares
** the parent's memory (CLONE_VM) and the parent sleeps until it has exec'd
** or exited (CLONE_VFORK), so plain fields suffice. */
typedef struct sp_child {
  const char *exe;
  char *const *argv;
  const int *fds;
  int nfds;
  int nullfd; /* /dev/null, opened by the parent. */
  bool keep_stderr;
  const char *fail_step; /* Set by the child: what failed... */
  int fail_errno;        /* ...and its errno. */
} sp_child;

static int sp_fail(sp_child *c, const char *step) {
  c->fail_errno = errno;
  c->fail_step = step;
  _exit(127);
}

/* The child, from clone to execve: async-signal-safe calls only, on its own
** stack, in the parent's memory. Not instrumented by ASan: its frame never
** returns, so the redzones it poisoned would stay poisoned in the shared
** shadow after the stack is unmapped. */
__attribute__((no_sanitize_address)) static int sp_child_main(void *arg) {
  sp_child *c = arg;
  /* Nothing of the host may run here: every handler back to SIG_DFL (also
  ** SIG_IGN, which execve would keep), then the mask the parent blocked
  ** emptied for the new program. glibc refuses its two internal signals;
  ** nothing sends those to this process, and execve resets their handlers. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
    return sp_fail(c, "sigprocmask");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return sp_fail(c, "prctl(PR_SET_PDEATHSIG)");

  /* fds[i] goes to 3 + i. Copy every source above the targets first, so
  ** that a source already sitting on a target number is not lost. */
  int base = 3 + c->nfds, hi[MFFI__SPAWN_MAX_FDS];
  for (int i = 0; i < c->nfds; i++)
    if ((hi[i] = fcntl(c->fds[i], F_DUPFD, base)) < 0)
      return sp_fail(c, "fcntl(F_DUPFD)");
  int nul = fcntl(c->nullfd, F_DUPFD, base);
  if (nul < 0) return sp_fail(c, "fcntl(F_DUPFD)");
  for (int fd = 0; fd < 3; fd++) {
    if (fd == 2 && c->keep_stderr) {
      if (fcntl(2, F_SETFD, 0) != 0 && errno != EBADF)
        return sp_fail(c, "fcntl(F_SETFD)");
    } else if (dup2(nul, fd) < 0) {
      return sp_fail(c, "dup2");
    }
  }
  for (int i = 0; i < c->nfds; i++)
    if (dup2(hi[i], 3 + i) < 0) return sp_fail(c, "dup2");
  if (syscall(SYS_close_range, (unsigned)base, ~0u, 0u) != 0) {
    /* Before Linux 5.9: close one by one up to the fd limit. */
    struct rlimit rl;
    if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &rl) != 0)
      return sp_fail(c, "close_range");
    for (rlim_t fd = (rlim_t)base; fd < rl.rlim_cur; fd++)
      close((int)fd);
  }

  char *envp[] = {NULL};
  execve(c->exe, c->argv, envp);
  return sp_fail(c, "execve");
}

/* Clone flags of the namespace bits of a layer set. */
static int sp_ns_flags(unsigned ns) {
  return ((ns & MFFI__LAYER_USERNS) ? CLONE_NEWUSER : 0) |
         ((ns & MFFI__LAYER_PIDNS) ? CLONE_NEWPID : 0) |
         ((ns & MFFI__LAYER_NETNS) ? CLONE_NEWNET : 0) |
         ((ns & MFFI__LAYER_IPCNS) ? CLONE_NEWIPC : 0);
}

/* Preference among namespace subsets: more namespaces first; among equal
** counts the user namespace (it drops every capability) before pid, net and
** ipc. */
static int sp_ns_score(unsigned ns) {
  int n = __builtin_popcount(ns);
  int rank =
      ((ns & MFFI__LAYER_USERNS) ? 8 : 0) | ((ns & MFFI__LAYER_PIDNS) ? 4 : 0) |
      ((ns & MFFI__LAYER_NETNS) ? 2 : 0) | ((ns & MFFI__LAYER_IPCNS) ? 1 : 0);
  return n * 16 + rank;
}

/* clone() errors that mean "not these namespaces": policy (EPERM), an
** unsupported flag (EINVAL), a full namespace count (ENOSPC, EUSERS). */
static bool sp_ns_refused(int e) {
  return e == EPERM || e == EINVAL || e == ENOSPC || e == EUSERS;
}

int mffi__spawn(const char *exe, const char *const *args, const int *fds,
                int nfds, unsigned want_ns, bool keep_stderr, unsigned *layers,
                pid_t *pid, char *err, size_t errsz) {
  *layers = 0;
  *pid = 0;
  if (errsz) err[0] = '\0';
  if (nfds < 0 || nfds > MFFI__SPAWN_MAX_FDS || (nfds && !fds)) {
    snprintf(err, errsz, "spawn: %d fds (at most %d)", nfds,
             MFFI__SPAWN_MAX_FDS);
    return -1;
  }
  char *argv[MFFI__SPAWN_MAX_ARGS + 2];
  int argc = 0;
  argv[argc++] = (char *)exe;
  for (; args && args[argc - 1]; argc++) {
    if (argc > MFFI__SPAWN_MAX_ARGS) {
      snprintf(err, errsz, "spawn: more than %d arguments",
               MFFI__SPAWN_MAX_ARGS);
      return -1;
    }
    argv[argc] = (char *)args[argc - 1];
  }
  argv[argc] = NULL;
  want_ns &= MFFI__LAYER_NS;

  sp_child c = {.exe = exe,
                .argv = argv,
                .fds = fds,
                .nfds = nfds,
                .keep_stderr = keep_stderr};
  c.nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (c.nullfd < 0) {
    snprintf(err, errsz, "spawn: /dev/null: %s", strerror(errno));
    return -1;
  }
  char *stack = mmap(NULL, SP_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    snprintf(err, errsz, "spawn: stack: %s", strerror(errno));
    close(c.nullfd);
    return -1;
  }

  /* Block every signal, glibc's internal ones too (raw syscall), so that no
  ** host handler runs in the child before it has reset them. */
  uint64_t all = ~(uint64_t)0, old = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  /* Namespace sets to try, best first (at most 16; a refused clone creates
  ** nothing, so trying is cheap). */
  unsigned cand[16];
  int ncand = 0;
  for (int score = sp_ns_score(want_ns); score >= 0; score--)
    for (unsigned ns = 0; ns <= MFFI__LAYER_NS; ns += MFFI__LAYER_USERNS)
      if (!(ns & ~want_ns) && sp_ns_score(ns) == score) cand[ncand++] = ns;
  pid_t child = -1;
  int first_errno = 0;
  unsigned got = 0;
  for (int i = 0; i < ncand; i++) {
    child = clone(sp_child_main, stack + SP_STACK,
                  CLONE_VM | CLONE_VFORK | SIGCHLD | sp_ns_flags(cand[i]), &c);
    if (child >= 0) {
      got = cand[i];
      break;
    }
    if (!first_errno) first_errno = errno;
    if (!sp_ns_refused(errno)) break;
  }
  int clone_errno = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
  munmap(stack, SP_STACK);
  close(c.nullfd);

  if (child < 0) {
    snprintf(err, errsz, "clone: %s", strerror(clone_errno));
    return -1;
  }
  if (c.fail_step) {
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    if (strcmp(c.fail_step, "execve") == 0)
      snprintf(err, errsz, "execve %s: %s", exe, strerror(c.fail_errno));
    else
      snprintf(err, errsz, "spawn: %s: %s", c.fail_step,
               strerror(c.fail_errno));
    return -1;
  }
  if (got != want_ns) {
    char names[64];
    snprintf(err, errsz, "namespaces refused: %s (clone: %s)",
             mffi__layer_list(want_ns & ~got, names, sizeof names),
             strerror(first_errno));
  }
  *layers = MFFI__LAYER_EXEC | MFFI__LAYER_ENV | MFFI__LAYER_FDS |
            MFFI__LAYER_PDEATHSIG | got;
  *pid = child;
  return 0;
}

/* -- Sandbox side: the report ---------------------------------------------- */

/* Record that layer `bit` failed, with a printf-style reason. Returns -1. */
__attribute__((format(printf, 3, 4))) static int
cf_fail(mffi__confine_report *r, unsigned bit, const char *fmt, ...) {
  r->missing |= bit;
  size_t len = strlen(r->detail);
  if (len + 3 >= sizeof r->detail) return -1;
  if (len) {
    memcpy(r->detail + len, "; ", 3);
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail + len, sizeof r->detail - len, fmt, ap);
  va_end(ap);
  return -1;
}

/* "ENOSYS" for the errno values a missing kernel feature gives. */
static const char *cf_errname(int e) {
  switch (e) {
  case ENOSYS: return "ENOSYS";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EPERM: return "EPERM";
  case EINVAL: return "EINVAL";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case ENOMEM: return "ENOMEM";
  default: return "?";
  }
}

/* -- Rlimits --------------------------------------------------------------- */

/* Lower limit `res` to soft v and hard v + slack; never above the current
** hard limit, which only a privileged process could raise. */
static int cf_setrlimit2(mffi__confine_report *r, int res, const char *name,
                         rlim_t v, rlim_t slack) {
  struct rlimit rl;
  if (getrlimit(res, &rl) != 0)
    return cf_fail(r, MFFI__LAYER_RLIMITS, "rlimits: %s: %s", name,
                   strerror(errno));
  rlim_t hard = v + slack;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < hard) hard = rl.rlim_max;
  rl.rlim_cur = v < hard ? v : hard;
  rl.rlim_max = hard;
  if (setrlimit(res, &rl) != 0)
    return cf_fail(r, MFFI__LAYER_RLIMITS, "rlimits: %s: %s", name,
                   strerror(errno));
  return 0;
}

/* Lower limit `res` to v, soft and hard. */
static int cf_setrlimit(mffi__confine_report *r, int res, const char *name,
                        rlim_t v) {
  return cf_setrlimit2(r, res, name, v, 0);
}

static int cf_rlimits(const mffi__confine_opts *o, mffi__confine_report *r) {
  int rc = 0;
  /* Under ASan the shadow memory is terabytes of reserved address space. */
  if (o->as_limit && !CF_ASAN)
    rc |= cf_setrlimit(r, RLIMIT_AS, "RLIMIT_AS", (rlim_t)o->as_limit);
  /* SIGXCPU at the soft limit names the cause; SIGKILL a second later ends
  ** a sandbox that ignores it (pid 1 of a pid namespace does). */
  if (o->cpu_seconds)
    rc |= cf_setrlimit2(r, RLIMIT_CPU, "RLIMIT_CPU", (rlim_t)o->cpu_seconds, 1);
  rc |= cf_setrlimit(r, RLIMIT_NOFILE, "RLIMIT_NOFILE",
                     (rlim_t)(o->nofile ? o->nofile : 64));
  rc |= cf_setrlimit(r, RLIMIT_NPROC, "RLIMIT_NPROC", 0);
  rc |= cf_setrlimit(r, RLIMIT_CORE, "RLIMIT_CORE", 0);
  /* Both policies are read-only: no file may grow (a write would raise
  ** SIGXFSZ even if every other layer failed). Except a kept stderr
  ** redirected to a file: a library's message there must not kill it. */
  struct stat st;
  if (fstat(2, &st) != 0 || !S_ISREG(st.st_mode))
    rc |= cf_setrlimit(r, RLIMIT_FSIZE, "RLIMIT_FSIZE", 0);
  return rc;
}

/* -- no_new_privs ---------------------------------------------------------- */

static int cf_nnp(mffi__confine_report *r) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return cf_fail(r, MFFI__LAYER_NNP, "nnp: prctl: %s", strerror(errno));
  return 0;
}

/* -- Landlock -------------------------------------------------------------- */

/* Rights newer than the Debian 12 kernel headers (Linux 6.1, ABI 2), with
** the values of the kernel's uapi/linux/landlock.h. */
#define CF_LL_FS_TRUNCATE (1ull << 14)  /* ABI 3. */
#define CF_LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5. */
#define CF_LL_NET_BIND_TCP (1ull << 0)  /* ABI 4. */
#define CF_LL_NET_CONNECT_TCP (1ull << 1)
#define CF_LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6. */
#define CF_LL_SCOPE_SIGNAL (1ull << 1)

/* struct landlock_ruleset_attr as of ABI 6; older ABIs read a prefix. */
typedef struct cf_ll_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4. */
  uint64_t scoped;             /* ABI 6. */
} cf_ll_attr;

/* Every file-system right ABI `abi` knows (all of them handled, so all are
** denied unless a rule grants them). */
static uint64_t cf_ll_fs_rights(long abi) {
  uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: 13 bits. */
  if (abi >= 2) fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) fs |= CF_LL_FS_TRUNCATE;
  if (abi >= 5) fs |= CF_LL_FS_IOCTL_DEV;
  return fs;
}

static int cf_landlock(const mffi__confine_opts *o, mffi__confine_report *r) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
                     LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    int e = errno;
    return cf_fail(r, MFFI__LAYER_LANDLOCK, "landlock: %s (%s)",
                   e == ENOSYS       ? "not supported by this kernel"
                   : e == EOPNOTSUPP ? "disabled at boot"
                                     : strerror(e),
                   cf_errname(e));
  }
  cf_ll_attr attr = {.handled_access_fs = cf_ll_fs_rights(abi)};
  size_t sz = sizeof attr.handled_access_fs;
  if (abi >= 4) {
    attr.handled_access_net = CF_LL_NET_BIND_TCP | CF_LL_NET_CONNECT_TCP;
    sz += sizeof attr.handled_access_net;
  }
  if (abi >= 6) {
    attr.scoped = CF_LL_SCOPE_ABSTRACT_UNIX | CF_LL_SCOPE_SIGNAL;
    sz += sizeof attr.scoped;
  }
  int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sz, 0);
  if (fd < 0)
    return cf_fail(r, MFFI__LAYER_LANDLOCK, "landlock: create_ruleset: %s",
                   strerror(errno));
  if (o->policy.kind == MFFI__POLICY_FILES) {
    int dfd = open(o->policy.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      int e = errno;
      close(fd);
      return cf_fail(r, MFFI__LAYER_LANDLOCK, "landlock: %s: %s", o->policy.dir,
                     strerror(e));
    }
    struct landlock_path_beneath_attr pb = {.allowed_access =
                                                LANDLOCK_ACCESS_FS_READ_FILE |
                                                LANDLOCK_ACCESS_FS_READ_DIR,
                                            .parent_fd = dfd};
    long rc =
        syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int e = errno;
    close(dfd);
    if (rc != 0) {
      close(fd);
      return cf_fail(r, MFFI__LAYER_LANDLOCK, "landlock: add_rule %s: %s",
                     o->policy.dir, strerror(e));
    }
  }
  long rc = syscall(SYS_landlock_restrict_self, fd, 0);
  int e = errno;
  close(fd);
  if (rc != 0)
    return cf_fail(r, MFFI__LAYER_LANDLOCK, "landlock: restrict_self: %s",
                   strerror(e));
  return 0;
}

/* -- Seccomp --------------------------------------------------------------- */

/* One allowed syscall, with at most one argument condition. */
typedef struct sc_allow {
  int nr;                  /* SCMP_SYS(name). */
  unsigned narg;           /* 0 or 1. */
  struct scmp_arg_cmp arg; /* The condition when narg == 1. */
} sc_allow;

/* clang-format off */
#define SC(name) {SCMP_SYS(name), 0, {0, 0, 0, 0}}
/* Allowed if argument n compares by op with a (MASKED_EQ: arg & a == b). */
#define SC_IF(name, n, op, a, b) {SCMP_SYS(name), 1, {n, op, a, b}}
/* clang-format on */

/* Flags that make an open write, create or truncate (O_TMPFILE without its
** O_DIRECTORY bit, which a read-only opendir uses). */
#define SC_OPEN_WRITE                                                          \
  (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY))

/* "compute": what a single-threaded library that computes on memory it is
** given needs, and nothing that reaches outside the process. Everything
** else traps (SIGSYS). The self-signal rules, which need the pid, are added
** in sc_build. */
static const sc_allow sc_compute[] = {
    /* Memory: malloc's heap (brk), large blocks and new arenas (mmap of
    ** anonymous memory or of an fd already open, such as the arena memfd),
    ** arena growth and guard pages (mprotect), free and realloc (munmap,
    ** mremap, madvise). Never PROT_EXEC: no new code after setup. */
    SC(brk),
    SC_IF(mmap, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
    SC_IF(mprotect, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
    SC(munmap),
    SC(mremap),
    SC(madvise),
    /* The transport sleeps and wakes on futex words in the arena; libc locks
    ** use futexes too. */
    SC(futex),
    /* The end of the process (exit_group) and of a thread (exit). */
    SC(exit),
    SC(exit_group),
    /* Signals: handlers return through rt_sigreturn; abort() and raise()
    ** change dispositions and masks; a handler may run on an alternate
    ** stack; the kernel restarts interrupted sleeps with restart_syscall. */
    SC(rt_sigreturn),
    SC(rt_sigaction),
    SC(rt_sigprocmask),
    SC(sigaltstack),
    SC(restart_syscall),
    /* abort()/raise() ask for their own pid and tid (tgkill: see sc_build). */
    SC(getpid),
    SC(gettid),
    /* Time and sleeping (clock_gettime and gettimeofday normally go through
    ** the vDSO; these are the fallbacks). */
    SC(clock_gettime),
    SC(clock_getres),
    SC(clock_nanosleep),
    SC(nanosleep),
    SC(gettimeofday),
    SC(time),
    /* Random numbers (hash seeds, getrandom(3), arc4random). */
    SC(getrandom),
    /* Spin-wait backoff, and moving off the host's CPU when the two meet
    ** (its own affinity only: pid 0). */
    SC(sched_yield),
    SC_IF(sched_getaffinity, 0, SCMP_CMP_EQ, 0, 0),
    SC_IF(sched_setaffinity, 0, SCMP_CMP_EQ, 0, 0),
    /* glibc's qsort asks sysconf(_SC_PHYS_PAGES), i.e. sysinfo, before it
    ** sorts more than 1 KiB. It reveals memory sizes and the load average. */
    SC(sysinfo),
    /* Closing an fd only takes from the sandbox itself. */
    SC(close),
    /* Writes to fd 2 only (/dev/null unless the host kept its stderr): an
    ** assert() or glibc's heap checker writes its message before abort(),
    ** and must end as SIGABRT (a crash), not as a denied write. fd 2 cannot
    ** be replaced (dup2/dup3 are denied), so this is no channel outward. */
    SC_IF(write, 0, SCMP_CMP_EQ, 2, 0),
    SC_IF(writev, 0, SCMP_CMP_EQ, 2, 0),
};

/* "files:DIR" adds reading files; Landlock decides which paths (DIR and
** beneath). Landlock does not restrict metadata: stat, access and readlink
** work on any path, so names, sizes and times outside DIR stay visible. */
static const sc_allow sc_files[] = {
    /* Opening for reading only: no write access mode, no O_CREAT, O_TRUNC,
    ** O_APPEND or O_TMPFILE. open(2) for old callers, openat for glibc. */
    SC_IF(openat, 2, SCMP_CMP_MASKED_EQ, SC_OPEN_WRITE, 0),
    SC_IF(open, 1, SCMP_CMP_MASKED_EQ, SC_OPEN_WRITE, 0),
    /* Reading and seeking (fread, pread, readv in stdio). */
    SC(read),
    SC(pread64),
    SC(readv),
    SC(lseek),
    /* Metadata: stdio sizes its buffer with fstat (newfstatat with
    ** AT_EMPTY_PATH in glibc), opendir checks the fd, statvfs. */
    SC(fstat),
    SC(newfstatat),
    SC(statx),
    SC(fstatfs),
    /* access()/faccessat(): libraries check readability before opening. */
    SC(access),
    SC(faccessat),
    SC(faccessat2),
    /* realpath() reads every symlink on the way. */
    SC(readlink),
    SC(readlinkat),
    /* readdir. */
    SC(getdents64),
    /* fcntl for flags only: fdopendir reads F_GETFL, O_CLOEXEC emulation
    ** sets FD_CLOEXEC. No F_DUPFD (new fds), no locks, no F_SETFL. */
    SC_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFD, 0),
    SC_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFL, 0),
    SC_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFD, 0),
};

static int sc_add(scmp_filter_ctx f, const sc_allow *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = t[i].narg
                 ? seccomp_rule_add(f, SCMP_ACT_ALLOW, t[i].nr, 1, t[i].arg)
                 : seccomp_rule_add(f, SCMP_ACT_ALLOW, t[i].nr, 0);
    if (rc != 0) return rc;
  }
  return 0;
}

/* Build and load the filter of policy `kind`. Returns 0 or a negative
** errno from libseccomp; *what names the step that failed. */
static int sc_build(int kind, const char **what) {
  *what = "seccomp_init";
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_TRAP);
  if (!f) return -ENOMEM;
  /* A syscall of another ABI (int 0x80) kills the whole process at once. */
  *what = "attribute";
  int rc = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  /* Every thread, in case the sandbox has more than one. */
  if (rc == 0) rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
  /* no_new_privs is its own layer, set (and reported) before: libseccomp
  ** must not set it behind the report's back. */
  if (rc == 0) rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0);
  if (rc == 0) {
    *what = "rule";
    rc = sc_add(f, sc_compute, sizeof sc_compute / sizeof sc_compute[0]);
  }
  if (rc == 0 && kind == MFFI__POLICY_FILES)
    rc = sc_add(f, sc_files, sizeof sc_files / sizeof sc_files[0]);
  /* Signals to this process only (abort() sends SIGABRT with tgkill). The
  ** pid is this namespace's view, as the kernel compares it: 1 as the first
  ** process of a new pid namespace. Not kill(0, ...): the process group
  ** may include the host. */
  struct scmp_arg_cmp self = {0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0};
  if (rc == 0)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, self);
  if (rc == 0)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1, self);
  if (rc == 0)
    rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, self);
  if (rc == 0) {
    *what = "load";
    rc = seccomp_load(f);
  }
  seccomp_release(f);
  return rc;
}

static int cf_seccomp(const mffi__confine_opts *o, mffi__confine_report *r) {
  const char *what;
  int rc = sc_build(o->policy.kind, &what);
  if (rc != 0)
    return cf_fail(r, MFFI__LAYER_SECCOMP, "seccomp: %s: %s (%s)", what,
                   strerror(-rc), cf_errname(-rc));
  return 0;
}

/* -- Confine --------------------------------------------------------------- */

int mffi__confine_self(const mffi__confine_opts *opts,
                       mffi__confine_report *r) {
  static const unsigned order[] = {MFFI__LAYER_RLIMITS, MFFI__LAYER_NNP,
                                   MFFI__LAYER_LANDLOCK, MFFI__LAYER_SECCOMP};
  memset(r, 0, sizeof *r);
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    unsigned bit = order[i];
    int rc;
    if (opts->skip_layers & bit) continue;
    if (opts->fail_layers & bit)
      rc = cf_fail(r, bit, "%s: forced by fail_layers", mffi__layer_name(bit));
    else if (bit == MFFI__LAYER_RLIMITS)
      rc = cf_rlimits(opts, r);
    else if (bit == MFFI__LAYER_NNP)
      rc = cf_nnp(r);
    else if (bit == MFFI__LAYER_LANDLOCK)
      rc = cf_landlock(opts, r);
    else
      rc = cf_seccomp(opts, r);
    if (rc == 0)
      r->layers |= bit;
    else if (opts->strict)
      return -1;
  }
  return 0;
}

/* -- Syscall names --------------------------------------------------------- */

const char *mffi__syscall_name(int nr, char *buf, size_t n) {
  char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name) {
    snprintf(buf, n, "%s", name);
    free(name); /* libseccomp's allocation, freed as its API says. */
  } else {
    snprintf(buf, n, "syscall %d", nr);
  }
  return buf;
}
