/* Calls on targets without an ABI module of their own. See LICENSE.
**
** The plan says nothing about where values go, so libffi passes every
** argument as its type (the member-wise description of aggregates in
** ffi.c) and returns aggregates itself; no call routine of our own. Built
** for every target but x86-64 System V, and there too with
** -DMFFI_GENERIC_ABI=ON, so that this path is tested.
*/
#include "call/call.h"

#ifndef MFFI__ABI_X64_SYSV

int mffi__abi_plan(const mffi__sig *sig, mffi__cplan **out) {
  if (sig->msabi) { /* x86_64_ms.c, run by libffi's FFI_GNUW64. */
#if defined(__x86_64__) && !defined(_WIN32)
    return mffi__abi_plan_ms(sig, out);
#else
    *out = NULL;
    return mffi__err(sig->ctx, MFFI_EUNSUPPORTED,
                     "the ms_abi convention exists on x86-64 only");
#endif
  }
  *out = mffi__cplan_new(sig, 0);
  return *out ? MFFI_OK : MFFI_ENOMEM;
}

int mffi__abi_ffi_type(mffi_ctx *ctx, mffi__ffiown *own, mffi__tid tid,
                       bool is_ret, ffi_type **out) {
  (void)ctx;
  (void)own;
  (void)tid;
  (void)is_ret;
  *out = NULL;
  return 1;
}

int mffi__fast_prepare(mffi__cplan *plan, mffi__fast **out) {
  (void)plan;
  *out = NULL;
  return 1;
}

void mffi__fast_free(mffi_ctx *ctx, mffi__fast *p) {
  (void)ctx;
  (void)p;
}

mffi_call_fn mffi__fast_entry(const mffi__fast *p) {
  (void)p;
  return mffi__fast_call;
}

int mffi__fast_call(mffi_fn *fn, void *ret, void *const *args) {
  (void)ret;
  (void)args;
  return mffi__err(fn->lib->ctx, MFFI_EUNSUPPORTED, "no call routine");
}

#endif
