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
#include <pthread.h>
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

/* -- Confined children ----------------------------------------------------- */

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
static int t_stderr = -1;   /* fd 2 of confined children; -1: /dev/null. */
static void (*t_pre)(void); /* Run in the child before confining. */

static void t_on_sigsys(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  t_sh->sigsys_nr = si->si_syscall;
  _exit(99);
}

typedef int (*t_body)(t_shared *sh, void *arg);

/* Run body(sh, arg) in a child confined by opts; returns the child's wait
** status. With `handler`, a SIGSYS handler records the syscall number and
** exits 99. Stderr goes to t_stderr, by default /dev/null (writes to fd 2
** are allowed and would clutter the output). */
static int t_run(const mffi__confine_opts *opts, bool handler, t_body body,
                 void *arg) {
  t_sh->confine_rc = -2;
  t_sh->sigsys_nr = -1;
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int nul = t_stderr >= 0 ? t_stderr : open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, 2);
    if (t_pre) t_pre();
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

/* -- Names and policies ---------------------------------------------------- */

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

/* -- compute: what is denied ----------------------------------------------- */

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

static int b_affinity_parent(t_shared *sh, void *arg) {
  (void)sh;
  cpu_set_t set;
  sched_getaffinity(*(pid_t *)arg, sizeof set, &set);
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
      {"sched_getaffinity", b_affinity_parent},
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

/* -- compute: what works --------------------------------------------------- */

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
  /* Its own CPU affinity (the transport moves off the host's CPU). */
  cpu_set_t cpus;
  T_CHECK(sh, sched_getaffinity(0, sizeof cpus, &cpus) == 0);
  T_CHECK(sh, sched_setaffinity(0, sizeof cpus, &cpus) == 0);
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

/* -- files:DIR ------------------------------------------------------------- */

/* A temp dir holding "data" ("hello\n") and "sub/more" ("more\n"). */
static char t_dir[64];

static void t_files_init(void) {
  t_init();
  snprintf(t_dir, sizeof t_dir, "/tmp/mffi-confine-XXXXXX");
  cr_assert_not_null(mkdtemp(t_dir));
  char path[128];
  snprintf(path, sizeof path, "%s/data", t_dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("hello\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/sub", t_dir);
  cr_assert_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/sub/more", t_dir);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("more\n", f);
  fclose(f);
}

static void t_files_fini(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
  cr_assert_eq(system(cmd), 0);
}

static mffi__confine_opts t_files_opts(void) {
  char policy[128];
  snprintf(policy, sizeof policy, "files:%s", t_dir);
  return t_opts(policy);
}

static int b_files_read(t_shared *sh, void *arg) {
  (void)arg;
  char path[128], buf[32];
  /* stdio: openat O_RDONLY, fstat, read, close. */
  snprintf(path, sizeof path, "%s/data", t_dir);
  FILE *f = fopen(path, "r");
  T_CHECK(sh, f != NULL);
  T_CHECK(sh, fgets(buf, sizeof buf, f) && strcmp(buf, "hello\n") == 0);
  fclose(f);
  /* Plain fds, pread, lseek, a file in a subdirectory. */
  snprintf(path, sizeof path, "%s/sub/more", t_dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  T_CHECK(sh, fd >= 0);
  T_CHECK(sh, pread(fd, buf, 4, 1) == 4 && memcmp(buf, "ore\n", 4) == 0);
  T_CHECK(sh, lseek(fd, 0, SEEK_END) == 5);
  close(fd);
  /* readdir and stat. */
  DIR *d = opendir(t_dir);
  T_CHECK(sh, d != NULL);
  int seen = 0;
  for (struct dirent *e; (e = readdir(d));)
    seen += strcmp(e->d_name, "data") == 0 || strcmp(e->d_name, "sub") == 0;
  closedir(d);
  T_CHECK(sh, seen == 2);
  struct stat st;
  snprintf(path, sizeof path, "%s/data", t_dir);
  T_CHECK(sh, stat(path, &st) == 0 && st.st_size == 6);
  /* Outside DIR: Landlock says EACCES. */
  errno = 0;
  T_CHECK(sh, open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
  errno = 0;
  T_CHECK(sh, opendir("/etc") == NULL && errno == EACCES);
  return 0;
}

Test(confine, files_read_beneath_dir, .init = t_files_init,
     .fini = t_files_fini) {
  mffi__confine_opts o = t_files_opts();
  int st = t_run(&o, true, b_files_read, NULL);
  T_OK(st, "files body");
  cr_assert_eq(t_sh->report.layers, T_CONFINED);
}

static int b_files_create(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  char path[128];
  snprintf(path, sizeof path, "%s/new", t_dir);
  return open(path, O_WRONLY | O_CREAT, 0644) < 0 ? 10 : 11;
}

static int b_files_write(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  char path[128];
  snprintf(path, sizeof path, "%s/data", t_dir);
  return open(path, O_RDWR) < 0 ? 10 : 11;
}

static int b_files_trunc(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  char path[128];
  snprintf(path, sizeof path, "%s/data", t_dir);
  return open(path, O_RDONLY | O_TRUNC) < 0 ? 10 : 11;
}

/* Landlock alone (seccomp skipped): writing, creating and removing beneath
** DIR fail with EACCES. */
static int b_files_landlock_writes(t_shared *sh, void *arg) {
  (void)arg;
  char path[128];
  snprintf(path, sizeof path, "%s/new", t_dir);
  errno = 0;
  T_CHECK(sh, open(path, O_WRONLY | O_CREAT, 0644) < 0 && errno == EACCES);
  snprintf(path, sizeof path, "%s/data", t_dir);
  errno = 0;
  T_CHECK(sh, open(path, O_WRONLY) < 0 && errno == EACCES);
  errno = 0;
  T_CHECK(sh, unlink(path) < 0 && errno == EACCES);
  snprintf(path, sizeof path, "%s/dir", t_dir);
  errno = 0;
  T_CHECK(sh, mkdir(path, 0755) < 0 && errno == EACCES);
  return 0;
}

Test(confine, files_denies_writes, .init = t_files_init, .fini = t_files_fini) {
  mffi__confine_opts o = t_files_opts();
  static const t_body bodies[] = {b_files_create, b_files_write, b_files_trunc,
                                  b_socket, b_execve};
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    int st = t_run(&o, false, bodies[i], NULL);
    T_SIGSYS(st, "files: write, create, truncate, socket or execve");
  }
  o.skip_layers = MFFI__LAYER_SECCOMP;
  int st = t_run(&o, true, b_files_landlock_writes, NULL);
  t_need(MFFI__LAYER_LANDLOCK);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st,
            t_sh->text);
  cr_assert_eq(t_sh->report.layers,
               MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP | MFFI__LAYER_LANDLOCK);
  char path[128];
  snprintf(path, sizeof path, "%s/new", t_dir);
  cr_assert_eq(access(path, F_OK), -1, "%s was created", path);
}

/* compute under Landlock alone: no file at all, not even for reading. */
static int b_compute_landlock(t_shared *sh, void *arg) {
  (void)arg;
  errno = 0;
  T_CHECK(sh, open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES);
  errno = 0;
  T_CHECK(sh, opendir("/") == NULL && errno == EACCES);
  return 0;
}

Test(confine, compute_landlock_no_files, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  o.skip_layers = MFFI__LAYER_SECCOMP;
  int st = t_run(&o, true, b_compute_landlock, NULL);
  t_need(MFFI__LAYER_LANDLOCK);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st,
            t_sh->text);
}

/* -- Rlimits --------------------------------------------------------------- */

static int b_rlimits(t_shared *sh, void *arg) {
  (void)arg;
  static const int res[] = {RLIMIT_AS,    RLIMIT_CPU,  RLIMIT_NOFILE,
                            RLIMIT_NPROC, RLIMIT_CORE, RLIMIT_FSIZE};
  for (int i = 0; i < 6; i++) {
    struct rlimit rl;
    T_CHECK(sh, getrlimit(res[i], &rl) == 0);
    /* Soft and hard are equal, but for RLIMIT_CPU's second of slack. */
    T_CHECK(sh, rl.rlim_cur == rl.rlim_max ||
                    (res[i] == RLIMIT_CPU && rl.rlim_max == rl.rlim_cur + 1));
    sh->val[i] = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
  }
  /* More address space than RLIMIT_AS allows. */
  void *p = mmap(NULL, (size_t)3 << 30, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  sh->val[6] = p == MAP_FAILED ? errno : 0;
  return 0;
}

Test(confine, rlimits, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  o.skip_layers = MFFI__LAYER_SECCOMP; /* getrlimit is denied. */
  o.as_limit = (uint64_t)2 << 30;
  o.cpu_seconds = 30;
  o.nofile = 32;
  int st = t_run(&o, false, b_rlimits, NULL);
  t_need(MFFI__LAYER_RLIMITS);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st,
            t_sh->text);
  if (T_ASAN) {
    cr_assert_eq(t_sh->val[0], -1L, "RLIMIT_AS is left alone under ASan");
  } else {
    cr_assert_eq(t_sh->val[0], 2L << 30);
    cr_assert_eq(t_sh->val[6], (long)ENOMEM);
  }
  cr_assert_eq(t_sh->val[1], 30L);
  cr_assert_eq(t_sh->val[2], 32L);
  cr_assert_eq(t_sh->val[3], 0L);
  cr_assert_eq(t_sh->val[4], 0L);
  cr_assert_eq(t_sh->val[5], 0L);
  /* Defaults: nofile 64, no CPU or address-space limit. */
  o = t_opts("compute");
  o.skip_layers = MFFI__LAYER_SECCOMP;
  st = t_run(&o, false, b_rlimits, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
  cr_assert_eq(t_sh->val[2], 64L);
  cr_assert_eq(t_sh->val[1], -1L);
}

/* A stderr kept and redirected to a file keeps taking writes: no
** RLIMIT_FSIZE then (it would kill the sandbox with SIGXFSZ). */
static int b_stderr_file(t_shared *sh, void *arg) {
  (void)arg;
  T_CHECK(sh, write(2, "kept\n", 5) == 5);
  return 0;
}

Test(confine, rlimit_fsize_spares_stderr_file, .init = t_init) {
  char path[] = "/tmp/mffi-confine-err-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  mffi__confine_opts o = t_opts("compute");
  t_stderr = fd;
  int st = t_run(&o, true, b_stderr_file, NULL);
  T_OK(st, "write to a stderr file");
  char buf[16] = "";
  cr_assert_eq(pread(fd, buf, sizeof buf - 1, 0), 5);
  cr_assert_str_eq(buf, "kept\n");
  close(fd);
  unlink(path);
}

/* -- Missing layers and strict mode ---------------------------------------- */

static int b_can_open(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  int fd = open("/dev/null", O_RDONLY);
  return fd >= 0 ? 0 : 10;
}

Test(confine, strict_stops_at_missing_layer, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  o.strict = true;
  o.fail_layers = MFFI__LAYER_LANDLOCK;
  int st = t_run(&o, false, b_can_open, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 100, "status 0x%x", st);
  cr_assert_eq(t_sh->confine_rc, -1);
  cr_assert_eq(t_sh->report.missing, MFFI__LAYER_LANDLOCK);
  cr_assert_eq(t_sh->report.layers, MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP);
  cr_assert_str_eq(t_sh->report.detail, "landlock: forced by fail_layers");
}

Test(confine, missing_layer_reported_not_strict, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  o.fail_layers = MFFI__LAYER_LANDLOCK | MFFI__LAYER_SECCOMP;
  /* Neither Landlock nor seccomp: open() works, and the report says so. */
  int st = t_run(&o, false, b_can_open, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
  cr_assert_eq(t_sh->confine_rc, 0);
  cr_assert_eq(t_sh->report.missing,
               MFFI__LAYER_LANDLOCK | MFFI__LAYER_SECCOMP);
  cr_assert_eq(t_sh->report.layers, MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP);
  cr_assert_str_eq(t_sh->report.detail, "landlock: forced by fail_layers; "
                                        "seccomp: forced by fail_layers");
  /* Only Landlock missing: seccomp still traps the open. */
  o.fail_layers = MFFI__LAYER_LANDLOCK;
  st = t_run(&o, false, b_can_open, NULL);
  T_SIGSYS(st, "open without Landlock");
  cr_assert_eq(t_sh->report.layers,
               MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP | MFFI__LAYER_SECCOMP);
}

/* A kernel without Landlock, faked by a filter that makes the Landlock
** syscalls fail with ENOSYS (or EOPNOTSUPP: built in, disabled at boot). */
static int t_fake_errno;

static void t_no_landlock(void) {
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
  if (!f ||
      seccomp_rule_add(f, SCMP_ACT_ERRNO(t_fake_errno),
                       SCMP_SYS(landlock_create_ruleset), 0) != 0 ||
      seccomp_load(f) != 0)
    _exit(30);
  seccomp_release(f);
}

Test(confine, kernel_without_landlock, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  t_pre = t_no_landlock;
  t_fake_errno = ENOSYS;
  int st = t_run(&o, false, b_can_open, NULL);
  T_SIGSYS(st, "open with seccomp only");
  cr_assert_eq(t_sh->confine_rc, 0);
  cr_assert_eq(t_sh->report.missing, MFFI__LAYER_LANDLOCK);
  cr_assert_eq(t_sh->report.layers,
               MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP | MFFI__LAYER_SECCOMP);
  cr_assert_str_eq(t_sh->report.detail,
                   "landlock: not supported by this kernel (ENOSYS)");
  t_fake_errno = EOPNOTSUPP;
  o.strict = true;
  st = t_run(&o, false, b_can_open, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 100, "status 0x%x", st);
  cr_assert_eq(t_sh->confine_rc, -1);
  cr_assert_eq(t_sh->report.layers, MFFI__LAYER_RLIMITS | MFFI__LAYER_NNP);
  cr_assert_str_eq(t_sh->report.detail,
                   "landlock: disabled at boot (EOPNOTSUPP)");
  t_pre = NULL;
}

/* Without no_new_privs (skipped) an unprivileged process cannot load
** Landlock or seccomp: the report must say so rather than claim them. Run
** as a user without CAP_SYS_ADMIN only. */
static int b_drop_root_and_confine(t_shared *sh, void *arg) {
  (void)arg;
  if (setgid(65534) != 0 || setuid(65534) != 0) return 20;
  mffi__confine_opts o = t_opts("compute");
  o.skip_layers = MFFI__LAYER_NNP;
  sh->confine_rc = mffi__confine_self(&o, &sh->report);
  return 0;
}

Test(confine, no_nnp_unprivileged_reports_missing, .init = t_init) {
  if (geteuid() != 0) cr_skip_test("needs root to switch to nobody");
  mffi__confine_opts o = t_opts("compute");
  o.skip_layers = MFFI__LAYER_ALL; /* The body confines, as nobody. */
  int st = t_run(&o, false, b_drop_root_and_confine, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
  cr_assert_eq(t_sh->confine_rc, 0);
  cr_assert_eq(t_sh->report.layers & (MFFI__LAYER_LANDLOCK |
                                      MFFI__LAYER_SECCOMP | MFFI__LAYER_NNP),
               0u, "layers 0x%x", t_sh->report.layers);
  cr_assert(t_sh->report.missing & MFFI__LAYER_SECCOMP, "%s",
            t_sh->report.detail);
  cr_assert(strstr(t_sh->report.detail, "seccomp: load"), "%s",
            t_sh->report.detail);
}

/* -- Spawn ----------------------------------------------------------------- */

/* What spawn_probe reported, and how it ended. */
typedef struct t_probe {
  char out[4096];  /* Its "key value" lines from fd 3. */
  char extra[64];  /* What it wrote to fd 4. */
  unsigned layers; /* From mffi__spawn. */
  char err[256];   /* mffi__spawn's note. */
  int status;      /* Its wait status. */
  pid_t pid;
} t_probe;

/* Read fd until EOF into buf (NUL-terminated). */
static void t_slurp(int fd, char *buf, size_t n) {
  size_t len = 0;
  for (ssize_t k; len + 1 < n && (k = read(fd, buf + len, n - 1 - len));) {
    if (k < 0 && errno == EINTR) continue;
    cr_assert_geq(k, 0, "read: %s", strerror(errno));
    len += (size_t)k;
  }
  buf[len] = '\0';
}

/* The value of line "key value" in out, copied to a static buffer; "" if
** the line is missing. */
static const char *t_get(const char *out, const char *key) {
  static char val[512];
  size_t kl = strlen(key);
  val[0] = '\0';
  for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
    if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == '\n')) {
      const char *v = p[kl] == ' ' ? p + kl + 1 : p + kl;
      size_t vl = strcspn(v, "\n");
      snprintf(val, sizeof val, "%.*s", (int)vl, v);
      break;
    }
  }
  return val;
}

/* This process's namespace link ("net:[4026531840]"). */
static const char *t_ns(const char *name, char *buf, size_t n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/ns/%s", name);
  ssize_t k = readlink(path, buf, n - 1);
  cr_assert_gt(k, 0, "%s: %s", path, strerror(errno));
  buf[k] = '\0';
  return buf;
}

/* "pipe:[ino]" of fd, as /proc/PID/fd shows it. */
static const char *t_fdlink(int fd, char *buf, size_t n) {
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  snprintf(buf, n, "pipe:[%lu]", (unsigned long)st.st_ino);
  return buf;
}

/* Run spawn_probe report ARGS with fds {chan, extra}. */
static void t_probe_run(t_probe *pr, unsigned want_ns, bool keep_stderr,
                        const char *const *args, char *chan_link,
                        char *extra_link) {
  int chan[2], extra[2];
  cr_assert_eq(pipe2(chan, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(extra, O_CLOEXEC), 0);
  t_fdlink(chan[1], chan_link, 64);
  t_fdlink(extra[1], extra_link, 64);
  /* A host fd without O_CLOEXEC, which the probe must not see. */
  int stray = open("/dev/zero", O_RDONLY);
  cr_assert_geq(stray, 0);
  int fds[] = {chan[1], extra[1]};
  memset(pr, 0, sizeof *pr);
  int rc = mffi__spawn(MFFI_SPAWN_PROBE, args, fds, 2, want_ns, keep_stderr,
                       &pr->layers, &pr->pid, pr->err, sizeof pr->err);
  cr_assert_eq(rc, 0, "spawn: %s", pr->err);
  close(stray);
  close(chan[1]);
  close(extra[1]);
  t_slurp(chan[0], pr->out, sizeof pr->out);
  t_slurp(extra[0], pr->extra, sizeof pr->extra);
  close(chan[0]);
  close(extra[0]);
  cr_assert_eq(waitpid(pr->pid, &pr->status, 0), pr->pid);
  cr_assert(WIFEXITED(pr->status) && WEXITSTATUS(pr->status) == 0,
            "probe status 0x%x", pr->status);
}

#define T_SPAWN_BASE                                                           \
  (MFFI__LAYER_EXEC | MFFI__LAYER_ENV | MFFI__LAYER_FDS | MFFI__LAYER_PDEATHSIG)

Test(confine, spawn_fds_env_args) {
  t_probe pr;
  char chan[64], extra[64];
  const char *const args[] = {"report", "a b", "", "c", NULL};
  t_probe_run(&pr, 0, false, args, chan, extra);
  cr_assert_eq(pr.layers, T_SPAWN_BASE);
  cr_assert_str_eq(pr.err, "");
  cr_assert_str_eq(t_get(pr.out, "fds"), "0 1 2 3 4");
  cr_assert_str_eq(t_get(pr.out, "fd0"), "/dev/null");
  cr_assert_str_eq(t_get(pr.out, "fd1"), "/dev/null");
  cr_assert_str_eq(t_get(pr.out, "fd2"), "/dev/null");
  cr_assert_str_eq(t_get(pr.out, "fd3"), chan);
  cr_assert_str_eq(t_get(pr.out, "fd4"), extra);
  cr_assert_str_eq(pr.extra, "extra\n");
  cr_assert_str_eq(t_get(pr.out, "env"), "0");
  cr_assert_str_eq(t_get(pr.out, "args"), "a b  c");
  cr_assert_str_eq(t_get(pr.out, "argv0"), MFFI_SPAWN_PROBE);
  /* No namespaces asked: the probe shares ours. */
  char buf[64];
  cr_assert_str_eq(t_get(pr.out, "ns_net"), t_ns("net", buf, sizeof buf));
  cr_assert_str_eq(t_get(pr.out, "ns_pid"), t_ns("pid", buf, sizeof buf));
  char pid[16];
  snprintf(pid, sizeof pid, "%d", (int)pr.pid);
  cr_assert_str_eq(t_get(pr.out, "pid"), pid);
}

Test(confine, spawn_keep_stderr) {
  int err[2];
  cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
  char want[64];
  t_fdlink(err[1], want, sizeof want);
  int saved = dup(2);
  cr_assert_geq(saved, 0);
  dup2(err[1], 2);               /* Without O_CLOEXEC, as fd 2 usually is. */
  fcntl(2, F_SETFD, FD_CLOEXEC); /* And with: spawn must clear it. */
  t_probe pr;
  char chan[64], extra[64];
  const char *const args[] = {"report", NULL};
  t_probe_run(&pr, 0, true, args, chan, extra);
  dup2(saved, 2);
  close(saved);
  close(err[0]);
  close(err[1]);
  cr_assert_str_eq(t_get(pr.out, "fd2"), want);
  cr_assert_str_eq(t_get(pr.out, "fd1"), "/dev/null");
  cr_assert_str_eq(t_get(pr.out, "fds"), "0 1 2 3 4");
}

Test(confine, spawn_namespaces) {
  t_probe pr;
  char chan[64], extra[64], buf[64];
  const char *const args[] = {"report", NULL};
  t_probe_run(&pr, MFFI__LAYER_NS, false, args, chan, extra);
  cr_assert_eq(pr.layers & T_SPAWN_BASE, T_SPAWN_BASE);
  static const struct {
    unsigned bit;
    const char *ns;
  } ns[] = {{MFFI__LAYER_USERNS, "user"},
            {MFFI__LAYER_PIDNS, "pid"},
            {MFFI__LAYER_NETNS, "net"},
            {MFFI__LAYER_IPCNS, "ipc"}};
  unsigned missing = 0;
  for (int i = 0; i < 4; i++) {
    char key[16];
    snprintf(key, sizeof key, "ns_%s", ns[i].ns);
    const char *theirs = t_get(pr.out, key);
    cr_assert_neq(theirs[0], '\0', "%s missing from the report", key);
    if (pr.layers & ns[i].bit)
      cr_assert_str_neq(theirs, t_ns(ns[i].ns, buf, sizeof buf),
                        "%s obtained but the same as ours", ns[i].ns);
    else
      missing |= ns[i].bit;
  }
  if (pr.layers & MFFI__LAYER_PIDNS)
    cr_assert_str_eq(t_get(pr.out, "pid"), "1");
  if (pr.layers & MFFI__LAYER_USERNS) /* Unmapped: the overflow uid. */
    cr_assert_str_eq(t_get(pr.out, "uid"), "65534");
  cr_assert_str_eq(t_get(pr.out, "fds"), "0 1 2 3 4");
  cr_assert_str_eq(t_get(pr.out, "env"), "0");
  if (missing) {
    char names[64];
    cr_assert(strstr(pr.err, "namespaces refused"), "%s", pr.err);
    cr_skip_test("kernel refused %s: %s",
                 mffi__layer_list(missing, names, sizeof names), pr.err);
  }
  cr_assert_str_eq(pr.err, "");
}

/* Sources that sit on the target numbers (fds {4, 3} to 3 and 4) are
** swapped, not lost. Runs in a child that may clobber its fds 3 and 4. */
Test(confine, spawn_fds_on_targets) {
  int a[2], b[2];
  cr_assert_eq(pipe(a), 0);
  cr_assert_eq(pipe(b), 0);
  char alink[64], blink[64];
  t_fdlink(a[1], alink, sizeof alink);
  t_fdlink(b[1], blink, sizeof blink);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int ra = a[0], rb = b[0]; /* Read ends, moved out of the way. */
    ra = fcntl(ra, F_DUPFD_CLOEXEC, 20);
    rb = fcntl(rb, F_DUPFD_CLOEXEC, 20);
    if (dup2(a[1], 4) != 4 || dup2(b[1], 3) != 3) _exit(20);
    int fds[] = {4, 3};
    unsigned layers;
    pid_t child;
    char err[256];
    const char *const args[] = {"report", NULL};
    if (mffi__spawn(MFFI_SPAWN_PROBE, args, fds, 2, 0, false, &layers, &child,
                    err, sizeof err) != 0)
      _exit(21);
    close(3);
    close(4);
    close(a[1]);
    close(b[1]);
    close(a[0]);
    close(b[0]);
    /* The probe reports on its fd 3, our a, and writes "extra" to 4 (b). */
    char out[4096], ex[64];
    size_t len = 0;
    for (ssize_t k; (k = read(ra, out + len, sizeof out - 1 - len)) > 0;)
      len += (size_t)k;
    out[len] = '\0';
    ssize_t k = read(rb, ex, sizeof ex - 1);
    ex[k < 0 ? 0 : k] = '\0';
    int st;
    waitpid(child, &st, 0);
    if (strcmp(t_get(out, "fd3"), alink) != 0) _exit(22);
    if (strcmp(t_get(out, "fd4"), blink) != 0) _exit(23);
    if (strcmp(ex, "extra\n") != 0) _exit(24);
    if (strcmp(t_get(out, "fds"), "0 1 2 3 4") != 0) _exit(25);
    _exit(0);
  }
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
}

Test(confine, spawn_exec_failure) {
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  unsigned layers = 1;
  pid_t pid = 1;
  char err[256];
  int rc = mffi__spawn("/no/such/sandbox", NULL, &p[1], 1, MFFI__LAYER_NS,
                       false, &layers, &pid, err, sizeof err);
  cr_assert_eq(rc, -1);
  cr_assert_str_eq(err, "execve /no/such/sandbox: No such file or directory");
  cr_assert_eq(layers, 0u);
  cr_assert_eq(pid, 0);
  /* The failed child was reaped: no child is left to wait for. */
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
  cr_assert_eq(errno, ECHILD);
  close(p[0]);
  close(p[1]);
  /* Bad arguments. */
  int many[MFFI__SPAWN_MAX_FDS + 1] = {0};
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, NULL, many,
                           MFFI__SPAWN_MAX_FDS + 1, 0, false, &layers, &pid,
                           err, sizeof err),
               -1);
  const char *args[MFFI__SPAWN_MAX_ARGS + 2];
  for (int i = 0; i <= MFFI__SPAWN_MAX_ARGS; i++)
    args[i] = "x";
  args[MFFI__SPAWN_MAX_ARGS + 1] = NULL;
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, args, NULL, 0, 0, false, &layers,
                           &pid, err, sizeof err),
               -1);
  cr_assert(strstr(err, "arguments"), "%s", err);
}

/* The sandbox dies with its parent: an intermediate process spawns the probe
** (which blocks reading its channel forever) and exits; the orphan comes to
** us (a subreaper) and must have been killed by SIGKILL. Should
** PDEATHSIG fail, the probe blocks and the test times out. */
Test(confine, spawn_dies_with_parent) {
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  int chan[2], rep[2];
  cr_assert_eq(pipe(chan), 0); /* We keep the write end: no EOF. */
  cr_assert_eq(pipe(rep), 0);
  fflush(NULL);
  pid_t mid = fork();
  cr_assert_geq(mid, 0);
  if (mid == 0) {
    unsigned layers;
    pid_t child;
    char err[256];
    const char *const args[] = {"wait", NULL};
    if (mffi__spawn(MFFI_SPAWN_PROBE, args, &chan[0], 1, MFFI__LAYER_NS, false,
                    &layers, &child, err, sizeof err) != 0)
      _exit(1);
    write(rep[1], &child, sizeof child);
    _exit(0);
  }
  close(rep[1]);
  pid_t child = 0;
  cr_assert_eq(read(rep[0], &child, sizeof child), (ssize_t)sizeof child);
  int st;
  cr_assert_eq(waitpid(mid, &st, 0), mid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  cr_assert_eq(waitpid(child, &st, 0), child, "waitpid: %s", strerror(errno));
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
  close(chan[0]);
  close(chan[1]);
  close(rep[0]);
}

/* A kernel that refuses the user namespace (here: a seccomp filter that
** makes clone(CLONE_NEWUSER) fail with EPERM) costs that namespace only. */
Test(confine, spawn_drops_refused_namespace) {
  fflush(NULL);
  int rep[2];
  cr_assert_eq(pipe(rep), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (!f ||
        seccomp_rule_add(
            f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
            SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) != 0 ||
        seccomp_load(f) != 0)
      _exit(20);
    seccomp_release(f);
    struct {
      unsigned layers;
      int rc;
      char err[256];
    } res;
    pid_t child;
    int chan[2];
    if (pipe(chan) != 0) _exit(21);
    const char *const args[] = {"report", NULL};
    res.rc = mffi__spawn(MFFI_SPAWN_PROBE, args, &chan[1], 1, MFFI__LAYER_NS,
                         false, &res.layers, &child, res.err, sizeof res.err);
    if (res.rc == 0) waitpid(child, NULL, 0);
    write(rep[1], &res, sizeof res);
    _exit(0);
  }
  close(rep[1]);
  struct {
    unsigned layers;
    int rc;
    char err[256];
  } res;
  cr_assert_eq(read(rep[0], &res, sizeof res), (ssize_t)sizeof res);
  close(rep[0]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
  cr_assert_eq(res.rc, 0, "%s", res.err);
  cr_assert_eq(res.layers & MFFI__LAYER_USERNS, 0u);
  cr_assert(strstr(res.err, "namespaces refused: userns"), "%s", res.err);
  cr_assert(strstr(res.err, "Operation not permitted"), "%s", res.err);
  if (geteuid() == 0) /* Root needs no user namespace for the others. */
    cr_assert_eq(res.layers & MFFI__LAYER_NS,
                 MFFI__LAYER_PIDNS | MFFI__LAYER_NETNS | MFFI__LAYER_IPCNS,
                 "layers 0x%x: %s", res.layers, res.err);
}

/* abort() in the sandbox is a crash, but as pid 1 of its own pid namespace
** not a SIGABRT: the kernel drops the signals a namespace's init sends
** itself while their action is the default, so glibc's abort() falls back
** to a faulting instruction (SIGSEGV). The sandbox must catch the signals it
** wants reported by name (docs/sandbox.md). This pins the kernel behaviour
** down: if it changes, the docs must. */
Test(confine, spawn_abort_as_pid1) {
  int chan[2];
  cr_assert_eq(pipe2(chan, O_CLOEXEC), 0);
  unsigned layers;
  pid_t pid;
  char err[256];
  const char *const args[] = {"abort", NULL};
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, args, &chan[1], 1, MFFI__LAYER_NS,
                           false, &layers, &pid, err, sizeof err),
               0, "%s", err);
  close(chan[0]);
  close(chan[1]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  if (!(layers & MFFI__LAYER_PIDNS)) cr_skip_test("no pid namespace: %s", err);
  if (T_ASAN) /* ASan's SEGV handler reports the fault and exits 1. */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
  else
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x", st);
  /* Without the pid namespace, abort() is SIGABRT as usual. */
  cr_assert_eq(pipe2(chan, O_CLOEXEC), 0);
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, args, &chan[1], 1,
                           MFFI__LAYER_NS & ~MFFI__LAYER_PIDNS, false, &layers,
                           &pid, err, sizeof err),
               0, "%s", err);
  close(chan[0]);
  close(chan[1]);
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
}

/* The whole sequence as the sandbox runs it: spawned into namespaces, the
** probe maps a shared memfd (the arena), confines itself, reports there and
** dies by SIGSYS on open() (compute) or socket() (files:DIR, where Landlock
** refuses the open), also as pid 1 of its pid namespace. */
static void t_spawn_confined(const char *policy, unsigned want_ns) {
  int chan[2];
  cr_assert_eq(pipe2(chan, O_CLOEXEC), 0);
  int mfd = memfd_create("t_arena", MFD_CLOEXEC);
  cr_assert_geq(mfd, 0);
  cr_assert_eq(ftruncate(mfd, 4096), 0);
  char *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  cr_assert_neq(shm, MAP_FAILED);
  int fds[] = {chan[1], mfd};
  unsigned layers;
  pid_t pid;
  char err[256];
  const char *const args[] = {"confine", policy, NULL};
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, args, fds, 2, want_ns, false,
                           &layers, &pid, err, sizeof err),
               0, "%s", err);
  close(chan[0]);
  close(chan[1]);
  close(mfd);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert_str_eq(t_get(shm, "rc"), "0", "report: %s", shm);
  char want[16];
  snprintf(want, sizeof want, "%u", (unsigned)T_CONFINED);
  if (strcmp(t_get(shm, "missing"), "0") != 0)
    cr_skip_test("missing layers: %s", t_get(shm, "detail"));
  cr_assert_str_eq(t_get(shm, "layers"), want, "report: %s", shm);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
  if (strncmp(policy, "files:", 6) == 0)
    cr_assert_str_eq(t_get(shm, "open_errno"), "13", "report: %s", shm);
  else
    cr_assert_str_eq(t_get(shm, "open_errno"), "", "report: %s", shm);
  munmap(shm, 4096);
  if ((want_ns & ~layers) & MFFI__LAYER_NS)
    cr_skip_test("namespaces refused: %s", err);
}

Test(confine, spawned_sandbox_confines_itself) {
  t_spawn_confined("compute", MFFI__LAYER_NS);
  t_spawn_confined("files:/usr/share", MFFI__LAYER_NS);
  t_spawn_confined("compute", 0);
}

/* Spawning from several threads at once, while another allocates: each
** probe sees exactly its own fds (no fd of a concurrent spawn leaks in). */
#define T_THREADS 4
#define T_SPAWNS 8

static void *t_spawner(void *arg) {
  int *bad = arg;
  for (int i = 0; i < T_SPAWNS; i++) {
    int chan[2], extra[2];
    if (pipe2(chan, O_CLOEXEC) || pipe2(extra, O_CLOEXEC)) {
      ++*bad;
      break;
    }
    int fds[] = {chan[1], extra[1]};
    unsigned layers;
    pid_t pid;
    char err[256], out[4096];
    const char *const args[] = {"report", NULL};
    int rc =
        mffi__spawn(MFFI_SPAWN_PROBE, args, fds, 2, i % 2 ? MFFI__LAYER_NS : 0,
                    false, &layers, &pid, err, sizeof err);
    close(chan[1]);
    close(extra[1]);
    size_t len = 0;
    for (ssize_t k;
         rc == 0 && (k = read(chan[0], out + len, sizeof out - 1 - len)) > 0;)
      len += (size_t)k;
    out[len] = '\0';
    close(chan[0]);
    close(extra[0]);
    int st = 0;
    if (rc == 0) waitpid(pid, &st, 0);
    if (rc != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        strcmp(t_get(out, "fds"), "0 1 2 3 4") != 0)
      ++*bad;
  }
  return NULL;
}

static void *t_allocator(void *arg) {
  volatile int *stop = arg;
  while (!*stop)
    free(malloc(1 + (size_t)rand() % 100000));
  return NULL;
}

Test(confine, spawn_from_threads) {
  pthread_t th[T_THREADS], alloc;
  int bad[T_THREADS] = {0};
  volatile int stop = 0;
  cr_assert_eq(pthread_create(&alloc, NULL, t_allocator, (void *)&stop), 0);
  for (int i = 0; i < T_THREADS; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, t_spawner, &bad[i]), 0);
  for (int i = 0; i < T_THREADS; i++)
    pthread_join(th[i], NULL);
  stop = 1;
  pthread_join(alloc, NULL);
  for (int i = 0; i < T_THREADS; i++)
    cr_assert_eq(bad[i], 0, "thread %d: %d bad spawns", i, bad[i]);
}

/* RLIMIT_CPU ends a spinning sandbox: SIGXCPU at the limit, or SIGKILL a
** second later as pid 1 of a pid namespace (which ignores SIGXCPU). */
static int t_spin_status(unsigned want_ns, unsigned *layers) {
  int chan[2];
  cr_assert_eq(pipe2(chan, O_CLOEXEC), 0);
  pid_t pid;
  char err[256];
  const char *const args[] = {"cpu", NULL};
  cr_assert_eq(mffi__spawn(MFFI_SPAWN_PROBE, args, &chan[1], 1, want_ns, false,
                           layers, &pid, err, sizeof err),
               0, "%s", err);
  close(chan[0]);
  close(chan[1]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  return st;
}

Test(confine, rlimit_cpu_ends_spinning_sandbox) {
  unsigned layers;
  int st = t_spin_status(0, &layers);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU, "status 0x%x", st);
  st = t_spin_status(MFFI__LAYER_PIDNS, &layers);
  if (!(layers & MFFI__LAYER_PIDNS)) cr_skip_test("no pid namespace");
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

/* -- The exact allow lists ------------------------------------------------- */

/* Raw syscall `nr` with all-zero arguments (harmless where it is allowed). */
static int b_raw(t_shared *sh, void *arg) {
  (void)sh;
  syscall(*(long *)arg, 0, 0, 0, 0, 0, 0);
  return 10;
}

/* A sample of what neither policy allows: each must trap by its own number
** (fcntl with 0 is F_DUPFD, write and writev with 0 are fd 0). */
static const long t_denied_both[] = {
    SYS_write,
    SYS_writev,
    SYS_ioctl,
    SYS_dup,
    SYS_dup2,
    SYS_dup3,
    SYS_fcntl,
    SYS_getppid,
    SYS_getuid,
    SYS_uname,
    SYS_chdir,
    SYS_getcwd,
    SYS_ptrace,
    SYS_personality,
    SYS_pkey_mprotect,
    SYS_io_uring_setup,
    SYS_bpf,
    SYS_userfaultfd,
    SYS_membarrier,
    SYS_rseq,
    SYS_set_robust_list,
    SYS_openat2,
    SYS_memfd_create,
    SYS_mknodat,
    SYS_unlinkat,
    SYS_mkdirat,
    SYS_renameat2,
    SYS_ftruncate,
    SYS_fallocate,
    SYS_prlimit64,
    SYS_seccomp,
    SYS_landlock_create_ruleset,
    SYS_connect,
    SYS_sendto,
    SYS_recvfrom,
    SYS_shmget,
    SYS_msgget,
    SYS_mount,
    SYS_unshare,
    SYS_setns,
    SYS_pidfd_open,
    SYS_process_vm_readv,
    SYS_vfork,
    SYS_clone,
    SYS_execveat,
    SYS_chmod,
    SYS_symlinkat,
    SYS_linkat,
    SYS_sched_setscheduler, /* sched_setaffinity on itself is allowed. */
    SYS_poll,
    SYS_socketpair,
    SYS_sendmsg,
    SYS_kill, /* kill(0): group. */
};
/* What compute denies and files:DIR allows. */
static const long t_files_only[] = {
    SYS_read,       SYS_pread64,    SYS_readv,      SYS_lseek,
    SYS_fstat,      SYS_newfstatat, SYS_statx,      SYS_fstatfs,
    SYS_access,     SYS_faccessat,  SYS_faccessat2, SYS_readlink,
    SYS_readlinkat, SYS_getdents64, SYS_openat,     SYS_open,
};

static void t_expect_trap(const mffi__confine_opts *o, long nr) {
  char want[64], got[64];
  int st = t_run(o, true, b_raw, &nr);
  t_need(MFFI__LAYER_SECCOMP);
  mffi__syscall_name((int)nr, want, sizeof want);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 99,
            "%s: not trapped (status 0x%x)", want, st);
  cr_assert_eq(t_sh->sigsys_nr, (int)nr, "%s: trapped as %s", want,
               mffi__syscall_name(t_sh->sigsys_nr, got, sizeof got));
}

Test(confine, compute_denies_the_rest, .init = t_init) {
  mffi__confine_opts o = t_opts("compute");
  for (size_t i = 0; i < sizeof t_denied_both / sizeof *t_denied_both; i++)
    t_expect_trap(&o, t_denied_both[i]);
  for (size_t i = 0; i < sizeof t_files_only / sizeof *t_files_only; i++)
    t_expect_trap(&o, t_files_only[i]);
}

static int b_raw_all(t_shared *sh, void *arg) {
  (void)sh, (void)arg;
  for (size_t i = 0; i < sizeof t_files_only / sizeof *t_files_only; i++)
    syscall(t_files_only[i], 0, 0, 0, 0, 0, 0);
  /* fcntl: the three flag commands. */
  syscall(SYS_fcntl, 0, F_GETFD, 0);
  syscall(SYS_fcntl, 0, F_GETFL, 0);
  syscall(SYS_fcntl, 0, F_SETFD, 0);
  return 0;
}

Test(confine, files_allows_and_denies, .init = t_files_init,
     .fini = t_files_fini) {
  mffi__confine_opts o = t_files_opts();
  int st = t_run(&o, true, b_raw_all, NULL);
  T_OK(st, "files: the read-only syscalls");
  for (size_t i = 0; i < sizeof t_denied_both / sizeof *t_denied_both; i++)
    t_expect_trap(&o, t_denied_both[i]);
}
