/* Library, bound symbol and closure objects (front internals). See LICENSE.
**
** The front (lib.c, memory.c) owns these objects; a strategy keeps its own
** state in the `data` slots. The built-in strategies may read the fields
** directly; others go through the accessors of modffi_strategy.h.
*/
#ifndef MFFI_LIB_H
#define MFFI_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "modffi.h"
#include "modffi_strategy.h"

#define MFFI_MAX_ARGS 127 /* Max. arguments of one call (fixed + variadic). */

typedef struct mffi__block mffi__block;

struct mffi_fn {
  mffi_call_fn call; /* What mffi_call runs: first, for the hot path. */
  void *addr;        /* Function code or variable storage. */
  void *data;        /* Strategy state (dynamic: the call plan). */
  mffi_lib *lib;
  const char *name;   /* Pooled in the ctx; NULL for mffi_bind_ptr. */
  const char *symbol; /* Pooled; NULL for mffi_bind_ptr. */
  mffi__tid tid;       /* Function type (or the variable's type). */
  mffi__tid *args;     /* nargs argument types, as the caller passes. */
  uint32_t nargs;
  uint32_t nfixed;      /* The prototype's parameters. */
  bool is_var;          /* An extern variable. */
  bool variadic;        /* The prototype has "..." (or none at all). */
  int path;             /* MFFI_PATH_*. */
  const mffi_decl *decl; /* The declaration; NULL for mffi_bind_ptr. */
  mffi_plan *plan;       /* Built on demand (plan.c), or NULL. */
  mffi_fn *prev, *next;  /* The library's list. */
};

struct mffi_closure {
  mffi_handler handler;
  void *hdata; /* The user's data for the handler. */
  void *code;  /* The code pointer C calls. */
  void *data;  /* Strategy state. */
  mffi_lib *lib;
  mffi__tid tid; /* The function type. */
  const mffi__tid *args; /* nargs argument types as the caller passes them:
                            the parameters (borrowed from the type), then
                            for a variadic callback the variadic ones
                            (owned). */
  uint32_t nargs;
  uint32_t nfixed; /* The prototype's parameters. */
  bool variadic;   /* mffi_callback_variadic (args is owned). */
  mffi_closure *prev, *next;
};

struct mffi_lib {
  mffi_ctx *ctx;
  const mffi_strategy *s;
  char *target;        /* Copy of the target, or NULL. */
  const char *display; /* target, or "the running process". */
  unsigned flags;      /* MFFI_OPEN_*. */
  void *data;          /* Strategy state. */
  mffi_fn *fns;        /* Bound symbols. */
  mffi_closure *closures;
  mffi__block **blocks; /* mffi_new blocks, sorted by address. */
  size_t nblocks, capblocks;
  int failed;              /* Sticky failure code, or MFFI_OK. */
  mffi_lib *lprev, *lnext; /* The context's list of open libraries. */
};

/* errno right after the last call on this thread, and where this thread's
** errno lives (cached: &errno is a libc call). initial-exec TLS keeps the
** access to one %fs-relative load; the few bytes fit glibc's static TLS
** surplus even when libmodffi.so is dlopened. */
#define MFFI__TLS __thread __attribute__((tls_model("initial-exec")))
extern MFFI__TLS int mffi__errno_val;
extern MFFI__TLS int *mffi__errno_ptr;
int *mffi__errno_where(void);

/* Save errno for mffi_errno(); call right after the foreign call. */
static inline void mffi__errno_save(void) {
  int *p = mffi__errno_ptr;
  if (__builtin_expect(p == NULL, 0)) p = mffi__errno_where();
  mffi__errno_val = *p;
}


/* Record that lib refuses work because it failed earlier (the sticky
** state of mffi_lib_fail); returns the failure's code. */
int mffi__lib_failed_err(mffi_lib *lib);

/* Free every memory block of lib (at close). */
void mffi__mem_close(mffi_lib *lib);

/* Build fn's marshalling plan if it has none (plan.c); MFFI_OK or
** MFFI_ENOMEM. mffi__plan_free releases it. */
int mffi__plan_prepare(mffi_fn *fn);
void mffi__plan_free(mffi_fn *fn);

/* The dynamic strategy (strategy/dynamic.c). */
extern const mffi_strategy mffi__strategy_dynamic;
/* The static strategy (strategy/static.c): generated tables. */
extern const mffi_strategy mffi__strategy_static;

#endif
