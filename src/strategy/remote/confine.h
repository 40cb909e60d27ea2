/* Remote strategy: confinement layers of the sandbox. See LICENSE. */
#ifndef MFFI_CONFINE_H
#define MFFI_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MFFI__LAYER_EXEC 0x001u
#define MFFI__LAYER_ENV 0x002u
#define MFFI__LAYER_FDS 0x004u
#define MFFI__LAYER_PDEATHSIG 0x008u
#define MFFI__LAYER_RLIMITS 0x010u
#define MFFI__LAYER_NNP 0x020u
#define MFFI__LAYER_SECCOMP 0x040u
#define MFFI__LAYER_LANDLOCK 0x080u
#define MFFI__LAYER_USERNS 0x100u
#define MFFI__LAYER_PIDNS 0x200u
#define MFFI__LAYER_NETNS 0x400u
#define MFFI__LAYER_IPCNS 0x800u

const char *mffi__layer_name(unsigned bit);

#define MFFI__POLICY_COMPUTE 0
#define MFFI__POLICY_FILES 1
typedef struct mffi__policy {
  int kind;
  char dir[4096];
} mffi__policy;
int mffi__policy_parse(const char *text, mffi__policy *out, char *err,
                       size_t errsz);

int mffi__spawn(const char *exe, const char *const *args, const int *fds,
                int nfds, unsigned want_ns, bool keep_stderr, unsigned *layers,
                pid_t *pid, char *err, size_t errsz);

typedef struct mffi__confine_opts {
  mffi__policy policy;
  uint64_t as_limit;
  unsigned cpu_seconds;
  unsigned nofile;
  bool strict;
} mffi__confine_opts;
typedef struct mffi__confine_report {
  unsigned layers, missing;
  char detail[512];
} mffi__confine_report;
int mffi__confine_self(const mffi__confine_opts *opts,
                       mffi__confine_report *r);

const char *mffi__syscall_name(int nr, char *buf, size_t n);

#endif
