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

#define MFFI_STRATEGY_VERSION 3

/* Capability bits of mffi_strategy.flags (version 2 and later). */
/* Bound functions live in this process at mffi_fn_addr() and may be called
** there natively with the C type of their declaration (dynamic, static).
** A strategy that must see every call (remote, checked) leaves it clear. */
#define MFFI_STRATEGY_NATIVE 0x1u
/* The front builds the marshalling plan of every function before xBind
** (mffi_fn_plan() then never fails in the strategy). Version 3. */
#define MFFI_STRATEGY_PLAN 0x2u
/* xCallback makes variadic closures too (mffi_callback_variadic()): it
** reads the argument list with mffi_closure_nargs(), mffi_closure_nfixed()
** and mffi_closure_arg_type(). Without it the front refuses them with
** MFFI_EUNSUPPORTED. Version 2. */
#define MFFI_STRATEGY_VARCALLBACK 0x4u

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
  ** front does not, so that mffi_call() stays a tail call). May be NULL
  ** when xBind always sets a per-function routine. */
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

  /* -- Version 3 -- */
  /* Declarations were added to the library's context after the open
  ** (src, len as given to mffi_cdef, which has already succeeded on the
  ** host). A strategy whose library keeps its own copy of the declarations
  ** (remote) forwards them; NULL: nothing to do. A failure marks the library
  ** failed (mffi_lib_fail()); mffi_cdef still succeeds. */
  int (*xCdef)(mffi_lib *lib, const char *src, size_t len);
  /* Start the library afresh after a failure (mffi_reopen()). Every block
  ** of lib has been freed and every fn unbound and closure freed (through
  ** xUnbind and xCallbackFree); the front binds and makes them again after
  ** xReopen succeeds. NULL: the library cannot fail, and mffi_reopen()
  ** only rebinds. */
  int (*xReopen)(mffi_lib *lib);
};

/* -- For strategy implementations ------------------------------------------ */

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

/* The sticky failed state (remote: the sandbox died). A strategy marks the
** library failed with the code later calls must return (MFFI_ECRASHED...);
** the front then refuses mffi_bind, mffi_new and mffi_callback on it with
** that code, and the strategy's own call routine does the same for calls,
** until mffi_reopen() succeeds. mffi_lib_failed() (modffi.h) reads it. */
MFFI_API void mffi_lib_fail(mffi_lib *lib, int rc);

/* The log of every declaration text given to mffi_cdef() on the library's
** context and accepted, in order: what a strategy hands to a library that
** builds its own type table (remote). Entry i (0 <= i < count) has *len
** bytes (possibly with NUL bytes, as in comments). Borrowed; valid until
** the next mffi_cdef() on the context. */
MFFI_API size_t mffi_lib_cdef_count(const mffi_lib *lib);
MFFI_API const char *mffi_lib_cdef_text(const mffi_lib *lib, size_t i,
                                        size_t *len);

/* What xBind needs to know about fn. */
MFFI_API mffi_lib *mffi_fn_lib(const mffi_fn *fn);
/* The symbol to look up (asm rename or name); NULL for mffi_bind_ptr(). */
MFFI_API const char *mffi_fn_symbol(const mffi_fn *fn);
/* Number of fixed parameters (the prototype's); the rest up to
** mffi_fn_nargs() are variadic. */
MFFI_API size_t mffi_fn_nfixed(const mffi_fn *fn);
/* The declaration fn was bound from (its attributes and parameter names),
** or NULL for mffi_bind_ptr(). Borrowed from the context. */
MFFI_API const mffi_decl *mffi_fn_decl(const mffi_fn *fn);
MFFI_API void mffi_fn_set_addr(mffi_fn *fn, void *addr);
/* Replace the call routine of fn (default: the strategy's xCall). */
MFFI_API void mffi_fn_set_call(mffi_fn *fn, mffi_call_fn call);
/* The call routine mffi_call() runs for fn. A routine of a strategy with
** MFFI_STRATEGY_NATIVE uses only fn's data slot, address and context, so a
** decorator on the same context may install it on its own fn, with the
** same data and address, to forward at no cost (the checked decorator does
** for functions no rule applies to). */
MFFI_API mffi_call_fn mffi_fn_get_call(const mffi_fn *fn);
/* Record how fn is called (MFFI_PATH_*), for mffi_fn_path(). */
MFFI_API void mffi_fn_set_path(mffi_fn *fn, int path);

/* What xCallback needs to know about c. */
MFFI_API mffi_lib *mffi_closure_lib(const mffi_closure *c);
/* The function type of the callback (not the pointer type). */
MFFI_API const mffi_type *mffi_closure_type(const mffi_closure *c);
/* The arguments the closure is called with: the function type's parameters
** and, for mffi_callback_variadic(), the variadic ones after the first
** mffi_closure_nfixed() (as given there: types before C's default
** promotions). mffi_closure_arg_type() is NULL when i is out of range. */
MFFI_API size_t mffi_closure_nargs(const mffi_closure *c);
MFFI_API size_t mffi_closure_nfixed(const mffi_closure *c);
MFFI_API const mffi_type *mffi_closure_arg_type(const mffi_closure *c,
                                                size_t i);
MFFI_API void mffi_closure_set_code(mffi_closure *c, void *code);
/* Run the handler: ret and args as in mffi_handler. */
MFFI_API void mffi_closure_invoke(mffi_closure *c, void *ret,
                                  void *const *args);

/* -- The marshalling plan -------------------------------------------------- */

/* How an argument or the result crosses a boundary between address spaces,
** and which rules guard it. One plan per bound function, computed once from
** the declaration's GCC attributes and the documented defaults; shared by
** the remote strategy (what to copy) and the checked decorator (what to
** verify). See docs/marshalling.md for the table with examples. */
typedef enum mffi_pass {
  MFFI_PASS_VALUE,  /* Not a pointer (scalar, struct or union by value):
                       copied. */
  MFFI_PASS_HANDLE, /* A pointer passed as a value and never dereferenced
                       by the host: void * and pointers to incomplete types
                       without an access attribute, access(none, ...),
                       variadic pointers other than char *. */
  MFFI_PASS_STRING, /* A NUL-terminated string in: const char * (plain
                       char), or null_terminated_string_arg(i). As a result:
                       a char * not from a malloc function, copied out. */
  MFFI_PASS_IN,     /* A buffer the callee reads: access(read_only, ...),
                       or const T * with T complete (one T). */
  MFFI_PASS_OUT,    /* A buffer the callee writes: access(write_only, ...). */
  MFFI_PASS_INOUT,  /* Both: access(read_write, ...), or T * with T complete
                       and not const (one T). */
  MFFI_PASS_FUNC    /* A pointer to function: a closure's code pointer. */
} mffi_pass;

/* Rule bits of mffi_arg_plan.rules. */
#define MFFI_RULE_NONNULL 0x1u /* nonnull (all pointers or this index);
                                  for the result, returns_nonnull. */
#define MFFI_RULE_STRING 0x2u  /* null_terminated_string_arg(i). */
#define MFFI_RULE_ACCESS 0x4u  /* The buffer comes from an access attribute
                                  (else from a default). */
#define MFFI_RULE_OWNED 0x8u   /* Result: fresh memory from a malloc
                                  function, released by mffi_plan.dealloc. */

typedef struct mffi_arg_plan {
  mffi_pass pass;
  unsigned rules;          /* MFFI_RULE_* bits. */
  const mffi_type *type;   /* The argument's type as passed. */
  const mffi_type *elem;   /* IN/OUT/INOUT: the element type (the pointee;
                              unsigned char for void *); else NULL. */
  size_t elem_size;        /* sizeof *elem (1 for void). */
  int count_arg;           /* Index of the argument whose value is the
                              element count (access's size-index), or -1. */
  size_t count;            /* The element count when count_arg is -1. */
  const char *name;        /* The parameter's name as declared, or NULL. */
} mffi_arg_plan;

typedef struct mffi_plan {
  size_t nargs;                /* mffi_fn_nargs(). */
  const mffi_arg_plan *args;   /* One per argument. */
  mffi_arg_plan ret;           /* The result (VALUE for void). */
  const char *dealloc;         /* malloc(dealloc[, idx]): the function that
                                  releases the result, or NULL. */
  int dealloc_arg;             /* Its argument (0-based) taking the result. */
  int alloc_size[2];           /* alloc_size(i[, j]): argument indexes whose
                                  product is the result's size, or -1. */
  unsigned flags;              /* MFFI_PLAN_* bits. */
} mffi_plan;

/* Bits of mffi_plan.flags. */
#define MFFI_PLAN_COPY 0x1u   /* Some argument or the result is more than a
                                 value (needs marshalling across spaces). */
#define MFFI_PLAN_RULES 0x2u  /* Some rule applies (nonnull, owned result,
                                 access bounds, warn_unused_result...). */
#define MFFI_PLAN_WARN_UNUSED 0x4u /* warn_unused_result. */

/* The plan of fn, built on first use and kept with fn (strategies with
** MFFI_STRATEGY_PLAN get it built before xBind). NULL only when building
** it ran out of memory (MFFI_ENOMEM recorded on the context). Borrowed from
** fn. Not thread-safe on first use: call it from the context's thread. */
MFFI_API const mffi_plan *mffi_fn_plan(mffi_fn *fn);

/* The value of integer argument i of a call, as passed in args (for
** count_arg); 0 if i is out of range or the argument is not an integer.
** Negative values are returned as they are. */
MFFI_API int64_t mffi_fn_arg_int(const mffi_fn *fn, void *const *args,
                                 size_t i);

#ifdef __cplusplus
}
#endif
#endif
