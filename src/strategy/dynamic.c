/* The dynamic strategy: dlopen/dlsym and the call engine. See LICENSE. */
#include <dlfcn.h>
#include <string.h>

#include "call/call.h"
#include "lib.h"

static int dyn_open(mffi_lib *lib, const char *target,
                    const mffi_open_opts *opts) {
  int mode = (opts->flags & MFFI_OPEN_LAZY) ? RTLD_LAZY : RTLD_NOW;
  mode |= (opts->flags & MFFI_OPEN_GLOBAL) ? RTLD_GLOBAL : RTLD_LOCAL;
  dlerror();
  void *h = dlopen(target, mode);
  if (!h) {
    const char *e = dlerror();
    return mffi__err(lib->ctx, MFFI_ENOLIB, "cannot open '%s': %s",
                     target ? target : "the running process",
                     e ? e : "unknown error");
  }
  lib->data = h;
  return MFFI_OK;
}

static void dyn_close(mffi_lib *lib) {
  if (lib->data) dlclose(lib->data);
  lib->data = NULL;
}

static int dyn_bind(mffi_fn *fn) {
  mffi_lib *lib = fn->lib;
  mffi_ctx *ctx = lib->ctx;
  mffi_type *ft = mffi__B(&ctx->tt, fn->tid);
  int rc = MFFI_OK;
  if (!fn->is_var) { /* Types first: they do not depend on the library. */
    rc = mffi__value_check(ctx, ft->child, true);
    for (uint32_t i = 0; rc == MFFI_OK && i < fn->nargs; i++)
      rc = mffi__value_check(ctx, fn->args[i], false);
    if (rc != MFFI_OK) return rc;
  }
  if (!fn->addr) {
    dlerror();
    void *p = dlsym(lib->data, fn->symbol);
    if (!p) {
      dlerror();
      return mffi__err(ctx, MFFI_ENOSYM, "symbol '%s' not found in %s",
                       fn->symbol, lib->display);
    }
    fn->addr = p;
  }
  if (fn->is_var) return MFFI_OK;
  mffi__sig sig = mffi__sig_of(ctx, ft, fn->args, fn->nargs, fn->variadic);
  mffi__cplan *plan = NULL;
  rc = mffi__abi_plan(&sig, &plan);
  if (rc != MFFI_OK) return rc;
  if (!(lib->flags & MFFI_OPEN_FFI_ONLY)) {
    mffi__fast *fast = NULL;
    rc = mffi__fast_prepare(plan, &fast);
    if (rc == MFFI_OK) {
      fn->data = fast;
      fn->call = mffi__fast_entry(fast);
      fn->path = MFFI_PATH_FAST;
      return MFFI_OK;
    }
    if (rc != 1) return mffi__nomem(ctx);
  }
  mffi__ffi *ff = NULL;
  rc = mffi__ffi_prepare(plan, &ff);
  if (rc != MFFI_OK) return rc;
  fn->data = ff;
  fn->call = mffi__ffi_call;
  fn->path = MFFI_PATH_FFI;
  return MFFI_OK;
}

static void dyn_unbind(mffi_fn *fn) {
  mffi_ctx *ctx = fn->lib->ctx;
  if (fn->path == MFFI_PATH_FAST)
    mffi__fast_free(ctx, fn->data);
  else if (fn->path == MFFI_PATH_FFI)
    mffi__ffi_free(ctx, fn->data);
  fn->data = NULL;
}

/* The dynamic strategy: libraries in this process, memory on the heap (the
** default xNew/xRead/xWrite), callbacks on the call plan (x86_64_closure.c)
** or as libffi closures. */
const mffi_strategy mffi__strategy_dynamic = {
    .version = MFFI_STRATEGY_VERSION,
    .name = "dynamic",
    .flags = MFFI_STRATEGY_NATIVE | MFFI_STRATEGY_VARCALLBACK,
    .opts = NULL,
    .xOpen = dyn_open,
    .xClose = dyn_close,
    .xBind = dyn_bind,
    .xUnbind = dyn_unbind,
    .xCall = NULL, /* dyn_bind sets each function's own routine. */
    .xNew = NULL,
    .xDelete = NULL,
    .xRead = NULL,
    .xWrite = NULL,
    .xCallback = mffi__ffi_closure,
    .xCallbackFree = mffi__ffi_closure_free,
};
