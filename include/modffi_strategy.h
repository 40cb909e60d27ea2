/* modffi strategy interface, for writing a strategy. See LICENSE.
**
** A strategy decides how a library is linked and how a call reaches it. The
** front (mffi_open, mffi_bind, mffi_call, ...) owns the objects (mffi_lib,
** mffi_fn, mffi_closure) and does what is common: declaration lookup,
** argument checks, error messages, keep-alive bookkeeping, errno capture.
** A strategy fills in a vtable of x-callbacks and keeps its own state in the
** data slot of each object (mffi_lib_data(), mffi_fn_data(), ...).
**
** How the four strategies of DESIGN.md fit:
** - dynamic: xOpen dlopens, xBind dlsyms and prepares a call plan, xCall runs
**   it (built in: mffi_strategy_find("dynamic")).
** - static (built in): the target names a table that generated code
**   registered at load time (modffi_static.h, mffi_static_register()); xBind
**   finds the entry by name and sets its thunk with mffi_fn_set_call().
** - remote: xOpen starts the sandbox; xBind/xCall/xNew/xRead/xWrite/
**   xCallback send frames; xNew allocates in the shared arena.
** - checked (a decorator): its opts name the inner strategy; it opens an
**   inner mffi_lib with mffi_open() on the same context, binds inner
**   functions with mffi_bind(), and checks each call around mffi_call().
**
** The vtable starts with `version` and only grows at the end: a strategy
** built for an older version keeps working, and the front never calls a
** member beyond the version a strategy declares. Optional members may be
** NULL; the front then returns MFFI_EUNSUPPORTED (or uses the default noted).
**
** Threading: xOpen, xClose, xBind, xUnbind, xNew, xDelete, xCallback and
** xCallbackFree run under the context's rules (one thread at a time per
** context). xCall, xRead and xWrite may run concurrently unless the
** strategy documents otherwise.
*/
#ifndef MODFFI_STRATEGY_H
#define MODFFI_STRATEGY_H

#include "modffi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MFFI_STRATEGY_VERSION 2

/* Capability bits of mffi_strategy.flags (version 2 and later). */
/* Bound functions live in this process at mffi_fn_addr() and may be called
** there natively with the C type of their declaration (dynamic, static).
** A strategy that must see every call (remote, checked) leaves it clear. */
#define MFFI_STRATEGY_NATIVE 0x1u

/* A call routine: what mffi_call() runs for a bound function. */
typedef int (*mffi_call_fn)(mffi_fn *fn, void *ret, void *const *args);

struct mffi_strategy {
  int version;      /* MFFI_STRATEGY_VERSION this table was written for. */
  const char *name; /* "dynamic", "static", "remote", "checked", ... */
  const void *opts; /* Strategy-wide options (e.g. the inner strategy of a
                       decorator, a generated table); may be NULL. Per-open
                       options come in mffi_open_opts.strategy_opts. */

  /* Open target (NULL: the running process) for lib; store state with
  ** mffi_lib_set_data(). Report failures with mffi_lib_err() and return the
  ** code. opts is never NULL (defaults filled in). */
  int (*xOpen)(mffi_lib *lib, const char *target, const mffi_open_opts *opts);
  /* Release the state of lib. Every fn, closure and block of lib has been
  ** freed already. */
  void (*xClose)(mffi_lib *lib);

  /* Resolve and prepare fn. The front has filled in the name, symbol,
  ** type, argument types and, for mffi_bind_ptr(), the address. For a
  ** function, xBind sets the address (mffi_fn_set_addr) and may set a
  ** per-function call routine (mffi_fn_set_call) to replace xCall; for a
  ** variable it sets the address only. */
  int (*xBind)(mffi_fn *fn);
  /* Release the state of fn; may be NULL. */
  void (*xUnbind)(mffi_fn *fn);
  /* The default call routine (see mffi_call() for the contract). It
  ** records the callee's errno with mffi_set_errno() before returning (the
  ** front does not, so that mffi_call() stays a tail call). */
  int (*xCall)(mffi_fn *fn, void *ret, void *const *args);

  /* Memory the library can see: sz bytes aligned to align (a power of two),
  ** zeroed. NULL members: the context's heap (right for in-process
  ** strategies). */
  int (*xNew)(mffi_lib *lib, size_t sz, size_t align, void **out);
  void (*xDelete)(mffi_lib *lib, void *p);
  /* Copy to and from library memory; NULL: memcpy. */
  int (*xRead)(mffi_lib *lib, void *dst, const void *lib_src, size_t n);
  int (*xWrite)(mffi_lib *lib, void *lib_dst, const void *src, size_t n);

  /* Make the code pointer of closure c (mffi_closure_set_code()) that calls
  ** mffi_closure_invoke(c, ret, args) when called. */
  int (*xCallback)(mffi_closure *c);
  void (*xCallbackFree)(mffi_closure *c);

  /* -- Version 2 -- */
  unsigned flags; /* MFFI_STRATEGY_* capability bits. */
};

/* -- For strategy implementations ---------------------------------------- */

/* Per-object strategy state. */
MFFI_API void *mffi_lib_data(const mffi_lib *lib);
MFFI_API void mffi_lib_set_data(mffi_lib *lib, void *data);
MFFI_API void *mffi_fn_data(const mffi_fn *fn);
MFFI_API void mffi_fn_set_data(mffi_fn *fn, void *data);
MFFI_API void *mffi_closure_data(const mffi_closure *c);
MFFI_API void mffi_closure_set_data(mffi_closure *c, void *data);

/* Record a failure on the library's context with a printf-style message;
** returns rc. */
MFFI_API int mffi_lib_err(mffi_lib *lib, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocation through the context's allocator (see mffi_alloc_fn). */
MFFI_API void *mffi_lib_malloc(mffi_lib *lib, size_t n);
MFFI_API void mffi_lib_free(mffi_lib *lib, void *p);

/* The library's open flags (MFFI_OPEN_*). */
MFFI_API unsigned mffi_lib_flags(const mffi_lib *lib);

/* What xBind needs to know about fn. */
MFFI_API mffi_lib *mffi_fn_lib(const mffi_fn *fn);
/* The symbol to look up (asm rename or name); NULL for mffi_bind_ptr(). */
MFFI_API const char *mffi_fn_symbol(const mffi_fn *fn);
/* Number of fixed parameters (the prototype's); the rest up to
** mffi_fn_nargs() are variadic. */
MFFI_API size_t mffi_fn_nfixed(const mffi_fn *fn);
MFFI_API void mffi_fn_set_addr(mffi_fn *fn, void *addr);
/* Replace the call routine of fn (default: the strategy's xCall). */
MFFI_API void mffi_fn_set_call(mffi_fn *fn, mffi_call_fn call);
/* Record how fn is called (MFFI_PATH_*), for mffi_fn_path(). */
MFFI_API void mffi_fn_set_path(mffi_fn *fn, int path);

/* What xCallback needs to know about c. */
MFFI_API mffi_lib *mffi_closure_lib(const mffi_closure *c);
/* The function type of the callback (not the pointer type). */
MFFI_API const mffi_type *mffi_closure_type(const mffi_closure *c);
MFFI_API void mffi_closure_set_code(mffi_closure *c, void *code);
/* Run the handler: ret and args as in mffi_handler. */
MFFI_API void mffi_closure_invoke(mffi_closure *c, void *ret,
                                  void *const *args);

#ifdef __cplusplus
}
#endif
#endif
