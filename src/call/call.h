/* Call engine: internal interface of the fast path and libffi. See LICENSE.
**
** A call is prepared once per bound function (a plan) and run many times.
** The ABI module (x86_64_sysv.c, or generic.c elsewhere) classifies a
** signature once into a target-neutral plan (mffi__cplan). Two engines run
** plans:
** - the ABI's own call routine (x86_64_fast.c: a frame of registers and
**   stack area handed to a small assembly routine), for every plan it
**   marks runnable; generic.c marks none;
** - libffi (ffi.c), for the rest, for MFFI_OPEN_FFI_ONLY, and for closures.
** The ABI file also describes aggregates to libffi (mffi__abi_ffi_type), so
** that libffi passes them exactly as our classifier says. Nothing outside
** the ABI files names a machine register or counts them.
*/
#ifndef MFFI_CALL_H
#define MFFI_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ffi.h>

#include "lib.h"

/* The ABI module of this build: x86-64 System V, or generic.c (libffi for
** every call), also chosen with -DMFFI_GENERIC_ABI (CMake option). */
#if defined(__x86_64__) && !defined(_WIN32) && !defined(MFFI_GENERIC_ABI)
#define MFFI__ABI_X64_SYSV 1
#endif

/* A signature, as the plans need it. */
typedef struct mffi__sig {
  mffi_ctx *ctx;
  mffi__tid ret;         /* Return type. */
  const mffi__tid *args; /* nargs types as the caller passes them. */
  uint32_t nargs;
  uint32_t nfixed; /* Arguments after nfixed are variadic. */
  bool variadic;
  bool msabi; /* The Microsoft x64 convention (ms_abi function types). */
} mffi__sig;

/* The signature of function type ft (a base node) called with the nargs
** argument types args (its parameters, then the variadic ones). */
static inline mffi__sig mffi__sig_of(mffi_ctx *ctx, const mffi_type *ft,
                                     const mffi__tid *args, uint32_t nargs,
                                     bool variadic) {
  mffi__sig s = {ctx,
                 ft->child,
                 args,
                 nargs,
                 ft->nparams,
                 variadic,
                 (ft->flags & MFFI_TF_MSABI) != 0};
  return s;
}

/* Max. bytes of a struct or union passed or returned by value. A by-value
** argument is copied onto the stack (by libffi too), so an unbounded one is
** a stack overflow; GCC has no limit, real interfaces stay far below. */
#define MFFI__MAX_BYVALUE 65536
/* Max. bytes of the stack scratch for a discarded memory-class return
** (ret == NULL); larger ones use the context's allocator. */
#define MFFI__DISCARD_STACK 256

/* How a value of a type is passed, in engine-neutral terms. */
typedef enum mffi__vkind {
  MFFI__V_VOID,
  MFFI__V_SINT,   /* Signed integer of size 1, 2, 4, 8. */
  MFFI__V_UINT,   /* Unsigned integer (also _Bool, pointers). */
  MFFI__V_INT128, /* 16-byte integer. */
  MFFI__V_FLOAT,
  MFFI__V_DOUBLE,
  MFFI__V_LDOUBLE,
  MFFI__V_AGG, /* Struct, union, or complex float/double. */
  MFFI__V_BAD  /* Cannot be passed by value. */
} mffi__vkind;

/* The kind and size of tid as a value. On MFFI__V_BAD, a reason is
** recorded in ctx (MFFI_EUNSUPPORTED or MFFI_EMISUSE) and returned by
** mffi__value_check. */
mffi__vkind mffi__value_kind(const mffi__tt *tt, mffi__tid tid, size_t *size);
int mffi__value_check(mffi_ctx *ctx, mffi__tid tid, bool is_ret);

/* Call run(fn, ret, args) with a scratch buffer of size bytes (aligned to
** align, at most 16) as ret: on the stack when it is small, else from the
** context's allocator. For a discarded memory-class return, which the
** callee must still be given room for. MFFI_ENOMEM if it cannot be had. */
int mffi__call_scratch(mffi_fn *fn, mffi_ctx *ctx, size_t size, size_t align,
                       int (*run)(mffi_fn *, void *, void *const *),
                       void *const *args);

/* The type a variadic argument of type tid is passed as, after C's default
** promotions: float -> double, small integers -> int. */
mffi__tid mffi__promote(const mffi__tt *tt, mffi__tid tid);

/* The len (1-8) bytes at s as a zero-extended little-endian eightbyte. A
** variable-length memcpy becomes `rep movs`, slower than the whole call. */
static inline uint64_t mffi__load_bytes(const unsigned char *s, unsigned len) {
  uint64_t v;
  if (len == 8) {
    memcpy(&v, s, 8);
    return v;
  }
  v = 0;
  if (len >= 4) {
    uint32_t w;
    memcpy(&w, s, 4);
    v = w;
    for (unsigned i = 4; i < len; i++)
      v |= (uint64_t)s[i] << (8 * i);
    return v;
  }
  for (unsigned i = 0; i < len; i++)
    v |= (uint64_t)s[i] << (8 * i);
  return v;
}

/* -- The call plan (one per bound function) -------------------------------- */

/* Where a piece of a value travels. Register numbers count within their
** class, in the order the ABI assigns them; only the ABI files know which
** machine registers they are (an ABI with two conventions numbers its
** registers once, for both). */
enum {
  MFFI__LOC_INT,   /* The idx-th integer argument/return register. */
  MFFI__LOC_FP,    /* The idx-th floating-point register. */
  MFFI__LOC_X87,   /* The idx-th slot of an x87-style return stack. */
  MFFI__LOC_STACK  /* The stack argument area, at byte offset `at`. */
};

/* How the caller's bytes become a register or stack slot. */
enum {
  MFFI__CV_COPY, /* len bytes, zero-extended to the slot. */
  MFFI__CV_SEXT, /* A signed integer of len bytes, sign-extended. */
  MFFI__CV_ZEXT, /* An unsigned one, zero-extended. */
  MFFI__CV_F2D,  /* A float promoted to double (variadic arguments). */
  MFFI__CV_REF   /* The address of a copy of the value's len bytes, which
                    the call routine makes at offset `off` of the plan's
                    reference area (arguments passed by reference). */
};

/* One piece of an argument or of the return value. */
typedef struct mffi__piece {
  uint16_t arg; /* The caller's argument index. */
  uint8_t loc;  /* MFFI__LOC_*. */
  uint8_t conv; /* MFFI__CV_*. */
  uint32_t idx; /* Register number in its class (not MFFI__LOC_STACK). */
  uint32_t off; /* Byte offset in the value (MFFI__CV_REF: see there). */
  uint32_t len; /* Bytes of the value. */
  uint32_t at;  /* MFFI__LOC_STACK: offset in the stack area. */
} mffi__piece;

/* One argument of a plan. */
typedef struct mffi__aplan {
  mffi__tid tid;    /* The type as passed (after C's default promotions). */
  uint8_t prom;     /* MFFI__CV_COPY, or the promotion (F2D, SEXT, ZEXT). */
  uint8_t csize;    /* The caller's size, for a promotion. */
  uint16_t npieces; /* 0: the ABI does not say (pass it as its type). */
  uint32_t first;   /* Its first piece in mffi__cplan.pieces. */
} mffi__aplan;

/* Max. pieces of one return value. */
#define MFFI__MAX_RPIECES 4

/* A signature's call plan, computed once at bind time by the ABI module
** (mffi__abi_plan), as LuaJIT's CCallState: where each argument's bytes go,
** how the value comes back. The ABI's call routine (mffi__fast_*) runs it;
** the libffi adapter reads it to describe the call to libffi. One block
** from the context's allocator; mffi__cplan_free releases it. */
typedef struct mffi__cplan {
  mffi_ctx *ctx;
  uint32_t nargs, nfixed;
  bool variadic;
  bool runnable;  /* The ABI's call routine can run it. */
  bool ret_mem;   /* The return value is written through a hidden pointer,
                     passed before the arguments. */
  bool over;      /* A stack argument is aligned beyond 16 bytes. */
  bool stack_abs; /* ... and a variadic one, placed by absolute address. */
  bool msabi;     /* The Microsoft x64 convention (libffi: FFI_GNUW64). */
  uint8_t ret_reg; /* The integer register of the hidden pointer. */
  uint8_t nret;   /* Pieces of the return value (none for void, memory). */
  uint16_t nfill; /* Integer words libffi must be given after the register
                     arguments so that what follows lands on the stack. */
  uint32_t nfp;    /* Floating-point registers taken (variadic callees). */
  uint32_t sbytes; /* Size of the stack argument area. */
  uint32_t salign; /* Alignment the area needs (16 or more). */
  uint32_t rbytes; /* Size of the reference area (MFFI__CV_REF copies): it
                      follows the stack area, aligned to salign, as each
                      copy is to its type (16 at least); a multiple of
                      salign, as sbytes then is. */
  mffi__tid ret;
  uint32_t rsize, ralign;
  mffi__piece rp[MFFI__MAX_RPIECES]; /* The return value's pieces. */
  mffi__aplan *args;                 /* nargs. */
  mffi__piece *pieces;               /* npieces, in argument order. */
  uint32_t npieces;
} mffi__cplan;

/* A plan for sig with room for maxpieces pieces, with the target-neutral
** part filled in: each argument's type as passed and its promotion, the
** return type's size and alignment; no pieces, not runnable. NULL when out
** of memory (recorded in ctx). */
mffi__cplan *mffi__cplan_new(const mffi__sig *sig, uint32_t maxpieces);
void mffi__cplan_free(mffi__cplan *p);

/* The ABI module's plan for sig. MFFI_OK and *out (the caller owns it), or
** an error recorded in ctx. */
int mffi__abi_plan(const mffi__sig *sig, mffi__cplan **out);
/* The plan of an ms_abi signature (x86_64_ms.c), for mffi__abi_plan. */
int mffi__abi_plan_ms(const mffi__sig *sig, mffi__cplan **out);

/* Describe aggregate (or __int128) tid to libffi as this ABI passes it.
** Returns MFFI_OK and *out (allocated through ctx and recorded in *owned);
** 1 if this ABI has no description (use the member-wise one); 2 if libffi
** cannot pass it at all (a value in a 16-byte or 2-byte SSE register). */
typedef struct mffi__ffiown mffi__ffiown;
int mffi__abi_ffi_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out);

/* -- The ABI's call routine (x86_64_*.c; generic.c says "not runnable") --- */

typedef struct mffi__fast mffi__fast;

/* Prepare plan's call routine; the routine takes plan over (also on
** failure). Returns MFFI_OK and *out; 1 if the plan is not runnable (*out
** NULL, plan left to the caller); MFFI_ENOMEM. */
int mffi__fast_prepare(mffi__cplan *plan, mffi__fast **out);
void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p);
/* The routine that runs p fastest (fn->data is p): one specialized for the
** shape of its signature, a register-only one, or mffi__fast_call. */
mffi_call_fn mffi__fast_entry(const mffi__fast *p);
/* The general call routine: fn->data is the mffi__fast. */
int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args);

/* Generated call routines (x86_64_jit.c): machine code made for one plan
** at bind time, run as fn->call with fn->data the plan's mffi__fast. NULL
** when the plan has a piece it does not know, when executable memory cannot
** be had, or when off (MFFI_JIT=0 in the environment, mffi__jit_enable):
** then the routines above run it. Thread-safe. */
mffi_call_fn mffi__jit_make(const mffi__cplan *plan);
void mffi__jit_free(mffi_call_fn code); /* NULL: nothing. */
/* Turn the generator on or off for later binds (a process that cannot map
** executable memory, as the confined sandbox, turns it off first); returns
** whether it was on. */
bool mffi__jit_enable(bool on);
/* Bytes of code memory mapped, and routines alive (for the tests). */
void mffi__jit_stats(size_t *mapped, size_t *live);
/* Whether f is a generated routine. */
bool mffi__jit_owns(mffi_call_fn f);

/* -- libffi (ffi.c) -------------------------------------------------------- */

typedef struct mffi__ffi mffi__ffi;

/* Memory owned by a libffi plan (synthetic ffi_types). */
struct mffi__ffiown {
  void **blocks;
  size_t n, cap;
};
/* Allocate sz zeroed bytes owned by own. NULL on out of memory. */
void *mffi__ffiown_alloc(mffi_ctx *ctx, mffi__ffiown *own, size_t sz);

/* Prepare a libffi call description from plan, which it takes over (also
** on failure). Aggregates the plan puts in registers are passed as their
** register pieces, and over-aligned stack arguments laid out as the plan
** says (both work around libffi 3.4 bugs); a plan with stack_abs set is
** refused (libffi places such arguments by absolute address, unknown at
** bind time). MFFI_OK and *out, or an error code recorded in ctx. */
int mffi__ffi_prepare(mffi__cplan *plan, mffi__ffi **out);
void mffi__ffi_free(mffi_ctx *ctx, mffi__ffi *p);
/* The call routine: fn->data is the mffi__ffi plan. */
int mffi__ffi_call(mffi_fn *fn, void *ret, void *const *args);

/* Closures: make c->code for the function type c->tid (with the variadic
** argument types c->args[c->nfixed..c->nargs-1]): on the plan where the
** ABI has a closure entry (below), else a libffi closure. */
int mffi__ffi_closure(mffi_closure *c);
/* Take n libffi closures now (they need executable memory, which a
** sandbox cannot map once confined); later closures come from this reserve
** only, and MFFI_ERANGE says when it is used up. Once per process (the
** sandbox's), not thread-safe. MFFI_OK, MFFI_ENOMEM, MFFI_EMISUSE. */
int mffi__ffi_closure_reserve(mffi_ctx *ctx, size_t n);
/* MFFI_ERANGE, recorded: all n closures of the reserve are in use. */
int mffi__closure_reserve_full(mffi_ctx *ctx, size_t n);
void mffi__ffi_closure_free(mffi_closure *c);

/* -- Closures on the plan (x86_64_closure.c; other ABIs have none) -------- */

typedef struct mffi__pclo mffi__pclo;

/* A closure for c whose entry runs plan; it takes plan over (frees it) on
** success. MFFI_OK with *out and its code pointer *code; 1 if this entry
** cannot run plan or there is no executable memory (plan left to the
** caller, nothing recorded: use libffi); MFFI_ERANGE (the reserve is used
** up) or MFFI_ENOMEM, recorded in the plan's context. Thread-safe. */
int mffi__pclo_new(mffi_closure *c, mffi__cplan *plan, mffi__pclo **out,
                   void **code);
void mffi__pclo_free(mffi_ctx *ctx, mffi__pclo *p);
/* Map n trampolines now and never map executable memory again (as
** mffi__ffi_closure_reserve, which calls it). MFFI_OK, MFFI_EMISUSE, or 1
** / MFFI_ENOMEM when they cannot be had (closures then use libffi's). */
int mffi__pclo_reserve(size_t n);

#endif
