/* Confinement layers: seccomp, Landlock, rlimits and spawn. See LICENSE.
**
** Each confinement runs in a forked child (confinement cannot be undone, and
** Criterion's own reporting needs syscalls the filters deny). The child
** reports through a MAP_SHARED page and its exit status; the parent asserts.
** A layer the kernel refuses skips the test with the reason, never passes.
** Confined children end with _exit: under ASan, LeakSanitizer's exit-time
** scan would need ptrace and clone, which the filter denies.
*/
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strategy/remote/confine.h"

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#else
#define T_ASAN 0
#endif

TestSuite(confine, .timeout = 60);

/* -- Confined children ------------------------------------------------------
 */

/* Shared between a confined child and the test: the report, what the body
** saw, and the syscall a SIGSYS handler caught. */
typedef struct t_shared {
  int confine_rc;
  mffi__confine_report report;
  int sigsys_nr; /* -1 until the handler runs. */
  long val[8];   /* Free for the body. */
  char text[256];
} t_shared;

static t_shared *t_sh;

static void t_on_sigsys(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  t_sh->sigsys_nr = si->si_syscall;
  _exit(99);
}

typedef int (*t_body)(t_shared *sh, void *arg);

/* Run body(sh, arg) in a child confined by opts; returns the child's wait
** status. With `handler`, a SIGSYS handler records the syscall number and
** exits 99. Stderr goes to /dev/null in the child (its writes are allowed
** and would clutter the output). */
static int t_run(const mffi__confine_opts *opts, bool handler, t_body body,
                 void *arg) {
  t_sh->confine_rc = -2;
  t_sh->sigsys_nr = -1;
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int nul = open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, 2);
    t_sh->confine_rc = mffi__confine_self(opts, &t_sh->report);
    if (t_sh->confine_rc != 0) _exit(100);
    if (handler) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_sigaction = t_on_sigsys;
      sa.sa_flags = SA_SIGINFO;
      sigaction(SIGSYS, &sa, NULL);
    }
    _exit(body(t_sh, arg));
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  return st;
}

static void t_init(void) {
  t_sh = mmap(NULL, sizeof *t_sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(t_sh, MAP_FAILED);
}

/* Skip the test if one of `need` was missing in the child's report. */
static void t_need(unsigned need) {
  if (t_sh->confine_rc == -2) cr_assert_fail("the child died before confining");
  if (t_sh->report.missing & need) {
    char names[128];
    cr_skip_test(
        "layer not available: %s (%s)",
        mffi__layer_list(t_sh->report.missing & need, names, sizeof names),
        t_sh->report.detail);
  }
}

static mffi__confine_opts t_opts(const char *policy) {
  mffi__confine_opts o;
  memset(&o, 0, sizeof o);
  char err[256];
  cr_assert_eq(mffi__policy_parse(policy, &o.policy, err, sizeof err), 0, "%s",
               err);
  return o;
}

#define T_CONFINED                                                             \
  (MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP | MFFI__LAYER_LANDLOCK |              \
   MFFI__LAYER_SECCOMP)

/* Expect status st to be death by SIGSYS. */
#define T_SIGSYS(st, what)                                                     \
  do {                                                                         \
    t_need(MFFI__LAYER_SECCOMP);                                               \
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,                       \
              "%s: expected death by SIGSYS, got status 0x%x", what, st);      \
  } while (0)

/* Expect the child to have exited 0 (the body's checks passed). */
#define T_OK(st, what)                                                         \
  do {                                                                         \
    t_need(T_CONFINED);                                                        \
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,                           \
              "%s: status 0x%x (sigsys %d, %s)", what, st, t_sh->sigsys_nr,    \
              t_sh->text);                                                     \
  } while (0)

/* -- Names and policies -------------------------------------------------- */

Test(confine, layer_names) {
  cr_assert_str_eq(mffi__layer_name(MFFI__LAYER_SECCOMP), "seccomp");
  cr_assert_str_eq(mffi__layer_name(MFFI__LAYER_IPCNS), "ipcns");
  cr_assert_str_eq(mffi__layer_name(0x3), "?");
  cr_assert_str_eq(mffi__layer_name(0x1000), "?");
  char buf[128];
  for (unsigned bit = 1; bit <= MFFI__LAYER_ALL; bit <<= 1)
    cr_assert_str_neq(mffi__layer_name(bit), "?", "bit 0x%x", bit);
  cr_assert_str_eq(mffi__layer_list(0, buf, sizeof buf), "none");
  cr_assert_str_eq(
      mffi__layer_list(MFFI__LAYER_EXEC | MFFI__LAYER_NETNS | MFFI__LAYER_NNP,
                       buf, sizeof buf),
      "exec,nnp,netns");
  mffi__layer_list(MFFI__LAYER_ALL, buf, 10); /* Truncates, stays a string. */
  cr_assert_lt(strlen(buf), 10u);
}

Test(confine, policy_parse) {
  mffi__policy p;
  char err[256];
  cr_assert_eq(mffi__policy_parse(NULL, &p, err, sizeof err), 0);
  cr_assert_eq(p.kind, MFFI__POLICY_COMPUTE);
  cr_assert_eq(mffi__policy_parse("compute", &p, err, sizeof err), 0);
  cr_assert_eq(p.kind, MFFI__POLICY_COMPUTE);
  cr_assert_eq(mffi__policy_parse("files:/usr/share", &p, err, sizeof err), 0);
  cr_assert_eq(p.kind, MFFI__POLICY_FILES);
  cr_assert_str_eq(p.dir, "/usr/share");

  cr_assert_eq(mffi__policy_parse("x", &p, err, sizeof err), -1);
  cr_assert_str_eq(err, "unknown policy 'x' (compute, files:DIR)");
  cr_assert_eq(mffi__policy_parse("", &p, err, sizeof err), -1);
  cr_assert_eq(mffi__policy_parse("computer", &p, err, sizeof err), -1);
  cr_assert_eq(mffi__policy_parse("files:usr", &p, err, sizeof err), -1);
  cr_assert_str_eq(err, "policy 'files:usr': DIR must be an absolute path");
  cr_assert_eq(mffi__policy_parse("files:", &p, err, sizeof err), -1);
  cr_assert_eq(mffi__policy_parse("files:/no/such/dir", &p, err, sizeof err),
               -1);
  cr_assert_str_eq(err, "policy 'files:/no/such/dir': No such file or "
                        "directory");
  cr_assert_eq(mffi__policy_parse("files:/etc/passwd", &p, err, sizeof err),
               -1);
  cr_assert_str_eq(err, "policy 'files:/etc/passwd': not a directory");
  char longp[5000] = "files:/";
  memset(longp + 7, 'a', 4200);
  longp[4207] = '\0';
  cr_assert_eq(mffi__policy_parse(longp, &p, err, sizeof err), -1);
  cr_assert(strstr(err, "longer than"), "%s", err);
}

Test(confine, syscall_names) {
  char buf[64];
  cr_assert_str_eq(mffi__syscall_name(SYS_openat, buf, sizeof buf), "openat");
  cr_assert_str_eq(mffi__syscall_name(SYS_write, buf, sizeof buf), "write");
  cr_assert_str_eq(mffi__syscall_name(SYS_execve, buf, sizeof buf), "execve");
  cr_assert_str_eq(mffi__syscall_name(99999, buf, sizeof buf), "syscall 99999");
}

/* -- compute: what is denied ------------------------------------------- */

static int b_open_passwd(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  int fd = open("/etc/passwd", O_RDONLY);
  return fd < 0 ? 10 : 11; /* Either is a failure: the call must trap. */
}

Test(confine, compute_report, .init = t_init) {
  mffi__confine_opts o = t_opts(NULL);
  int st = t_run(&o, false, b_open_passwd, NULL);
  t_need(T_CONFINED);
  cr_assert_eq(t_sh->confine_rc, 0);
  cr_assert_eq(t_sh->report.layers, T_CONFINED, "layers 0x%x",
               t_sh->report.layers);
  cr_assert_eq(t_sh->report.missing, 0u);
  cr_assert_str_eq(t_sh->report.detail, "");
  T_SIGSYS(st, "open(/etc/passwd)");
}

Test(confine, compute_sigsys_names_openat, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  int st = t_run(&o, true, b_open_passwd, NULL);
  t_need(MFFI__LAYER_SECCOMP);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 99, "status 0x%x", st);
  char buf[64];
  cr_assert_str_eq(mffi__syscall_name(t_sh->sigsys_nr, buf, sizeof buf),
                   "openat");
}

static int b_socket(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  return socket(AF_INET, SOCK_STREAM, 0) < 0 ? 10 : 11;
}

static int b_execve(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  char *argv[] = {(char *)"/bin/true", NULL}, *envp[] = {NULL};
  execve("/bin/true", argv, envp);
  return 10;
}

static int b_fork(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  pid_t p = fork();
  if (p == 0) _exit(0);
  return 10;
}

static int b_thread_clone3(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  syscall(SYS_clone3, NULL, 0);
  return 10;
}

static int b_mmap_exec(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  return p == MAP_FAILED ? 10 : 11;
}

static int b_mprotect_exec(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 12;
  mprotect(p, 4096, PROT_READ | PROT_EXEC);
  return 10;
}

static int b_write_stdout(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  write(1, "x", 1);
  return 10;
}

static int b_kill_parent(t_shared *sh, void *arg) {
  (void)sh;
  kill(*(pid_t *)arg, 0);
  return 10;
}

static int b_kill_group(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  kill(0, 0);
  return 10;
}

static int b_ioctl_prctl(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  return 10;
}

/* Each body must die by SIGSYS, and the handler must name its syscall. */
Test(confine, compute_denies, .init = t_init) {
  pid_t parent = getpid();
  static const struct {
    const char *name; /* Syscall the handler must see. */
    t_body body;
  } cases[] = {
      {"socket", b_socket},      {"execve", b_execve},
      {"clone", b_fork},         {"clone3", b_thread_clone3},
      {"mmap", b_mmap_exec},     {"mprotect", b_mprotect_exec},
      {"write", b_write_stdout}, {"kill", b_kill_parent},
      {"kill", b_kill_group},    {"prctl", b_ioctl_prctl},
  };
  mffi__confine_opts o = t_opts("compute");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = t_run(&o, false, cases[i].body, &parent);
    T_SIGSYS(st, cases[i].name);
    st = t_run(&o, true, cases[i].body, &parent);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 99, "%s: status 0x%x",
              cases[i].name, st);
    char buf[64];
    cr_assert_str_eq(mffi__syscall_name(t_sh->sigsys_nr, buf, sizeof buf),
                     cases[i].name);
  }
}

/* -- compute: what works ------------------------------------------------ */

#define T_CHECK(sh, cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      snprintf((sh)->text, sizeof(sh)->text, "line %d: %s", __LINE__, #cond);  \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static int t_cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int b_compute_works(t_shared *sh, void *arg) {
  (void)arg;
  sh->text[0] = '\0';
  /* Anonymous read-write memory. */
  char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  T_CHECK(sh, p != MAP_FAILED);
  memset(p, 0x5a, 1 << 20);
  T_CHECK(sh, mprotect(p, 4096, PROT_READ) == 0);
  T_CHECK(sh, munmap(p, 1 << 20) == 0);
  /* malloc: small (brk), large (mmap), realloc (mremap), free. */
  size_t big = 100u << 20;
  char *m = malloc(big);
  T_CHECK(sh, m != NULL);
  memset(m, 1, big);
  char *m2 = realloc(m, big + (8u << 20));
  T_CHECK(sh, m2 != NULL && m2[big - 1] == 1);
  free(m2);
  char *s = malloc(100);
  T_CHECK(sh, s != NULL);
  free(s);
  /* futex: a wake with no waiter, a wait whose value differs. */
  int word = 1;
  T_CHECK(sh, syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0) == 0);
  T_CHECK(sh, syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0) == -1 &&
                  errno == EAGAIN);
  /* Time, randomness, sleeping, yielding. */
  struct timespec ts;
  T_CHECK(sh, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0);
  T_CHECK(sh, clock_gettime(CLOCK_REALTIME, &ts) == 0);
  char rnd[16];
  T_CHECK(sh, syscall(SYS_getrandom, rnd, sizeof rnd, 0) == sizeof rnd);
  struct timespec nap = {0, 1000};
  T_CHECK(sh, nanosleep(&nap, NULL) == 0);
  T_CHECK(sh, sched_yield() == 0);
  /* Signals to itself only. */
  T_CHECK(sh, kill(getpid(), 0) == 0);
  T_CHECK(sh, syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) == 0);
  /* fd 2 (here /dev/null) takes writes; qsort of > 1 KiB asks sysinfo. */
  T_CHECK(sh, write(2, "x", 1) == 1);
  int *v = malloc(4096 * sizeof *v);
  T_CHECK(sh, v != NULL);
  for (int i = 0; i < 4096; i++)
    v[i] = (i * 7919) % 4096;
  qsort(v, 4096, sizeof *v, t_cmp_int);
  for (int i = 1; i < 4096; i++)
    T_CHECK(sh, v[i - 1] <= v[i]);
  free(v);
  return 0;
}

Test(confine, compute_allows, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  int st = t_run(&o, true, b_compute_works, NULL);
  T_OK(st, "compute body");
}

/* A failed assert or abort() is a crash (SIGABRT), not a denied syscall:
** the message goes to fd 2, raise() signals the process itself. */
static int b_abort(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  fprintf(stderr, "t_abort: giving up\n");
  abort();
}

Test(confine, compute_abort_is_sigabrt, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  int st = t_run(&o, false, b_abort, NULL);
  t_need(T_CONFINED);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
}
