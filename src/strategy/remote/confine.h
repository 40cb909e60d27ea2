/* Sandbox confinement: spawn in namespaces, rlimits, Landlock, seccomp.
** See LICENSE.
**
** Linux only. The host calls mffi__spawn to start modffi-sandbox; the sandbox
** calls mffi__confine_self once its setup is done and before it serves calls.
** Each step reports the layers it applied as MFFI__LAYER_* bits, so the host
** can show them and refuse to run with fewer (strict mode). See
** docs/sandbox.md, "Confinement layers", for what each layer does.
*/
#ifndef MFFI_CONFINE_H
#define MFFI_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* -- Layers ---------------------------------------------------------------- */

/* One bit per layer (public later as MFFI_LAYER_*, with these values). */
#define MFFI__LAYER_EXEC 0x001u      /* Fresh exec of modffi-sandbox. */
#define MFFI__LAYER_ENV 0x002u       /* Empty environment. */
#define MFFI__LAYER_FDS 0x004u       /* Every fd closed but the channel. */
#define MFFI__LAYER_PDEATHSIG 0x008u /* Dies with the host (SIGKILL). */
#define MFFI__LAYER_RLIMITS 0x010u   /* Address space, CPU, files, procs. */
#define MFFI__LAYER_NNP 0x020u       /* no_new_privs. */
#define MFFI__LAYER_SECCOMP 0x040u   /* Syscall filter of the policy. */
#define MFFI__LAYER_LANDLOCK 0x080u  /* File (and TCP, signal) access. */
#define MFFI__LAYER_USERNS 0x100u    /* New user namespace. */
#define MFFI__LAYER_PIDNS 0x200u     /* New pid namespace. */
#define MFFI__LAYER_NETNS 0x400u     /* New network namespace. */
#define MFFI__LAYER_IPCNS 0x800u     /* New IPC namespace. */
#define MFFI__LAYER_ALL 0xfffu       /* Every bit above. */
/* The namespace bits, as mffi__spawn's want_ns takes them. */
#define MFFI__LAYER_NS                                                         \
  (MFFI__LAYER_USERNS | MFFI__LAYER_PIDNS | MFFI__LAYER_NETNS |                \
   MFFI__LAYER_IPCNS)

/* Static name of one layer bit ("seccomp"), "?" for anything else. */
const char *mffi__layer_name(unsigned bit);

/* Write the names of the bits of `layers` into buf, comma-separated
** ("exec,env,fds"), "none" when no bit is set; truncates to n. Returns buf. */
const char *mffi__layer_list(unsigned layers, char *buf, size_t n);

/* -- Policies -------------------------------------------------------------- */

#define MFFI__POLICY_COMPUTE 0    /* Memory, time, futex, exit: nothing else. */
#define MFFI__POLICY_FILES 1      /* Compute + read-only files beneath dir. */
#define MFFI__POLICY_DIR_MAX 4096 /* Max. bytes of a files:DIR path, NUL. */

typedef struct mffi__policy {
  int kind;                       /* MFFI__POLICY_COMPUTE or _FILES. */
  char dir[MFFI__POLICY_DIR_MAX]; /* FILES: absolute directory; else "". */
} mffi__policy;

/* Parse a policy: NULL or "compute" (the default), or "files:DIR" where DIR
** is an absolute path to an existing directory. Returns 0 with *out filled,
** or -1 with a message in err (e.g. "unknown policy 'x' (compute,
** files:DIR)"). */
int mffi__policy_parse(const char *text, mffi__policy *out, char *err,
                       size_t errsz);

/* -- Host side: spawn ------------------------------------------------------ */

#define MFFI__SPAWN_MAX_ARGS 32 /* Max. entries of mffi__spawn's args. */
#define MFFI__SPAWN_MAX_FDS 16  /* Max. fds mffi__spawn hands over. */

/* Start `exe` as a child process, without fork: clone(CLONE_VM|CLONE_VFORK)
** on a private stack, as posix_spawn does, so it is safe in a multi-threaded
** host and copies no page tables. The child gets new user, pid, network and
** IPC namespaces for the MFFI__LAYER_*NS bits of want_ns, as far as the
** kernel allows: when clone fails with EPERM, EINVAL, ENOSPC or EUSERS, the
** largest subset that works is used and err says which were refused (the call
** still returns 0; err is "" when all were obtained). The user namespace has
** no uid mapping, so after exec the child has no capabilities anywhere.
**
** In the child, before execve: every signal disposition reset to SIG_DFL and
** the mask emptied; fds[0..nfds-1] dup'ed to 3, 4, ... in order; every other
** fd closed; fds 0 and 1 (and 2 unless keep_stderr) on /dev/null;
** PR_SET_PDEATHSIG(SIGKILL); then execve(exe, {exe, args..., NULL}, {NULL}).
** args is a NULL-terminated list (NULL for none). The working directory is
** inherited.
**
** On success returns 0, *pid is the child's pid in the caller's pid
** namespace (waitpid and kill it as usual; SIGCHLD reports its end) and
** *layers holds EXEC, ENV, FDS, PDEATHSIG and the namespaces obtained. On
** failure returns -1 with err filled ("clone: ...", "execve /x: ...";
** a child that failed before or at execve has been reaped), *pid = 0 and
** *layers = 0. The caller keeps its fds and must close its copies. Under
** valgrind, which runs CLONE_VM|CLONE_VFORK as a plain fork, a failure in
** the child is seen only as its exit status 127.
**
** PR_SET_PDEATHSIG fires when the *thread* that called mffi__spawn exits,
** not only when the process does: spawn from a thread that outlives the
** sandbox. */
int mffi__spawn(const char *exe, const char *const *args, const int *fds,
                int nfds, unsigned want_ns, bool keep_stderr, unsigned *layers,
                pid_t *pid, char *err, size_t errsz);

/* -- Sandbox side: confine ------------------------------------------------- */

typedef struct mffi__confine_opts {
  mffi__policy policy;  /* What the seccomp filter and Landlock allow. */
  uint64_t as_limit;    /* RLIMIT_AS in bytes; 0: none (ignored under ASan). */
  unsigned cpu_seconds; /* RLIMIT_CPU; 0: none. */
  unsigned nofile;      /* RLIMIT_NOFILE; 0: 64. */
  bool strict;          /* Stop and fail at the first layer that fails. */
  unsigned skip_layers; /* Layers not to apply at all (neither applied nor
                           missing): debugging, valgrind, tests. */
  unsigned fail_layers; /* Test hook: layers to report as missing without
                           trying them ("forced by fail_layers"). */
} mffi__confine_opts;

typedef struct mffi__confine_report {
  unsigned layers;  /* Layers applied. */
  unsigned missing; /* Layers tried that failed. */
  char detail[512]; /* "; "-separated reasons of the missing ones. */
} mffi__confine_report;

/* Confine the calling process, in this order: rlimits (RLIMIT_AS, _CPU,
** _NOFILE, NPROC = 0, CORE = 0, FSIZE = 0 unless fd 2 is a regular file),
** no_new_privs, Landlock (compute:
** no file access; files:DIR: read-only beneath DIR; plus no TCP and, where
** the ABI has them, no abstract unix sockets or signals outside the
** sandbox), then the seccomp filter of the policy (libseccomp; a denied
** syscall raises SIGSYS with si_syscall set: install a handler after this
** call to report it). Call it once, after setup (library loaded, arena
** mapped, trampolines made), while the process has a single thread: Landlock
** and no_new_privs bind the calling thread and threads it creates later.
**
** Each layer that works sets its bit in r->layers; each that fails sets its
** bit in r->missing and appends a reason to r->detail ("landlock: not
** supported by this kernel (ENOSYS)"). With opts->strict, returns -1 at the
** first failure (later layers untried); otherwise returns 0, possibly with
** missing layers. Only r is written; no allocation survives the call. */
int mffi__confine_self(const mffi__confine_opts *opts, mffi__confine_report *r);

/* The name of syscall nr on this architecture ("openat") copied into buf, or
** "syscall NR" when unknown. For messages on the host side. Returns buf. */
const char *mffi__syscall_name(int nr, char *buf, size_t n);

#endif
