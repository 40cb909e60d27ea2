/* Call engine: internal interface of the fast path and libffi. See LICENSE.
**
** A call is prepared once per bound function (a plan) and run many times.
** Two engines:
** - the register fast path (x86_64_sysv.c), for signatures whose arguments
**   all travel in registers; on other ABIs mffi__fast_prepare always says
**   "not eligible";
** - libffi (ffi.c), for everything else, and for closures.
** The ABI file also describes aggregates to libffi (mffi__abi_ffi_type), so
** that libffi passes them exactly as our classifier says.
*/
#ifndef MFFI_CALL_H
#define MFFI_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ffi.h>

#include "lib.h"

/* A signature, as the plans need it. */
typedef struct mffi__sig {
  mffi_ctx *ctx;
  mffi__tid ret;         /* Return type. */
  const mffi__tid *args; /* nargs types as the caller passes them. */
  uint32_t nargs;
  uint32_t nfixed; /* Arguments after nfixed are variadic. */
  bool variadic;
} mffi__sig;

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

/* -- Register fast path (x86_64_sysv.c) ------------------------------------ */

typedef struct mffi__fast mffi__fast;

/* Prepare the fast path for sig. Returns MFFI_OK and *out; 1 if the
** signature is not eligible (*out NULL; use libffi); MFFI_ENOMEM. */
int mffi__fast_prepare(const mffi__sig *sig, mffi__fast **out);
void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p);
/* A routine specialized for the shape of sig (few int/pointer/double
** arguments), which needs no plan; NULL if there is none. */
mffi_call_fn mffi__fast_shape(const mffi__sig *sig);
/* The call routine: fn->data is the mffi__fast plan. */
int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args);

/* Describe aggregate (or __int128) tid to libffi as this ABI passes it.
** Returns MFFI_OK and *out (allocated through ctx and recorded in *owned);
** 1 if this ABI has no description (use the member-wise one). */
typedef struct mffi__ffiown mffi__ffiown;
int mffi__abi_ffi_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out);
/* One eightbyte of an aggregate passed in a register. */
typedef struct mffi__part {
  uint8_t off; /* Byte offset in the value. */
  uint8_t len; /* Bytes (8, or fewer for the tail). */
  bool sse;    /* In an SSE register (else a general one). */
} mffi__part;

/* Follow the register assignment for an argument of type tid: *ngpr and
** *nsse count the registers used so far and are advanced. Returns the
** number of parts (1-2) when tid is an aggregate (or __int128) that
** travels in registers, with the parts in parts[]; 0 when the value is
** passed as it is (a scalar, or an aggregate on the stack). The libffi path
** passes register aggregates as these parts (libffi 3.4 overruns its
** register area for a struct whose INTEGER eightbyte lands in %r9). */
int mffi__abi_split(const mffi__tt *tt, mffi__tid tid, int *ngpr, int *nsse,
                    mffi__part parts[2]);

/* The stack layout of a call: for each of the n argument types (after
** promotion; ngpr integer registers are taken already, by a hidden return
** pointer), offs[i] gets the byte offset in the stack argument area, or -1
** when the argument travels in registers; *bytes gets the area's size.
** Returns 1 if a stack argument is aligned to more than 16 bytes (libffi
** 3.4 places those by absolute address while the ABI places them by
** offset, so ffi.c lays such calls out itself), else 0. */
int mffi__abi_stack_layout(const mffi__tt *tt, const mffi__tid *types,
                           uint32_t n, int ngpr, long *offs, size_t *bytes);
/* Re-place the variadic stack arguments (from index nfixed on) for an area
** that starts at base modulo 64: a variadic callee aligns its va_arg
** pointer by absolute address (GCC), named ones use offsets. */
void mffi__abi_stack_relayout(const mffi__tt *tt, const mffi__tid *types,
                              uint32_t n, uint32_t nfixed, size_t base,
                              long *offs, size_t *bytes);

/* A function `void probe(long x 6, ...)` that records where its stack
** arguments start (va_list's overflow area), as a code pointer for libffi,
** and what it recorded last on this thread; NULL where there is none. */
void (*mffi__abi_probe(void))(void);
uintptr_t mffi__abi_probed(void);

/* 1 if a return value of type tid travels through a hidden pointer. */
bool mffi__abi_ret_in_memory(const mffi__tt *tt, mffi__tid tid);

/* -- libffi (ffi.c) -------------------------------------------------------- */

typedef struct mffi__ffi mffi__ffi;

/* Memory owned by a libffi plan (synthetic ffi_types). */
struct mffi__ffiown {
  void **blocks;
  size_t n, cap;
};
/* Allocate sz zeroed bytes owned by own. NULL on out of memory. */
void *mffi__ffiown_alloc(mffi_ctx *ctx, mffi__ffiown *own, size_t sz);

/* Prepare a libffi call description for sig. split: pass register
** aggregates as their eightbytes and lay out over-aligned stack arguments
** ourselves (both work around libffi 3.4 bugs; calls and closures use it;
** false gives libffi's own description).
** MFFI_OK and *out, or an error code recorded in ctx. */
int mffi__ffi_prepare(const mffi__sig *sig, bool split, mffi__ffi **out);
void mffi__ffi_free(mffi_ctx *ctx, mffi__ffi *p);
/* The call routine: fn->data is the mffi__ffi plan. */
int mffi__ffi_call(mffi_fn *fn, void *ret, void *const *args);

/* Closures: make c->code for the function type c->tid. */
int mffi__ffi_closure(mffi_closure *c);
/* Take n libffi closures now (they need executable memory, which a
** sandbox cannot map once confined); later closures come from this reserve
** only, and MFFI_ERANGE says when it is used up. Once per process (the
** sandbox's), not thread-safe. MFFI_OK, MFFI_ENOMEM, MFFI_EMISUSE. */
int mffi__ffi_closure_reserve(mffi_ctx *ctx, size_t n);
void mffi__ffi_closure_free(mffi_closure *c);

#endif
