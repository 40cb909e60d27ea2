/* Strategy-independent front: open, bind, call, close. See LICENSE. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"

MFFI__TLS int mffi__errno_val;
MFFI__TLS int *mffi__errno_ptr;

int *mffi__errno_where(void) {
  mffi__errno_ptr = &errno;
  return mffi__errno_ptr;
}

/* -- Helpers --------------------------------------------------------------- */

static char *lib_strdup(mffi_ctx *ctx, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mffi__malloc(ctx, n);
  if (p) memcpy(p, s, n);
  return p;
}

/* A NULL out-parameter (or other NULL argument) where lib is known:
** recorded, so no earlier failure's detail is reported for it. */
static int lib_null_arg(mffi_lib *lib, const char *fn) {
  if (!lib) return MFFI_EMISUSE;
  return mffi__err(lib->ctx, MFFI_EMISUSE, "%s: NULL argument", fn);
}

/* Calls on a variable, or before xBind set a routine. */
static int lib_call_misuse(mffi_fn *fn, void *ret, void *const *args) {
  (void)ret;
  (void)args;
  if (fn->is_var)
    return mffi__err(fn->lib->ctx, MFFI_EMISUSE,
                     "'%s' is a variable, not a function", fn->name);
  return mffi__err(fn->lib->ctx, MFFI_EMISUSE, "function is not callable");
}

/* -- Open and close -------------------------------------------------------- */

int mffi_open(mffi_ctx *ctx, const mffi_strategy *s, const char *target,
              const mffi_open_opts *opts, mffi_lib **out) {
  if (out) *out = NULL;
  if (!ctx) return MFFI_EMISUSE;
  if (!out) return mffi__err(ctx, MFFI_EMISUSE, "mffi_open: out is NULL");
  mffi__ok(ctx);
  if (opts && opts->version != MFFI_OPEN_OPTS_VERSION)
    return mffi__err(ctx, MFFI_EMISUSE, "unknown mffi_open_opts version %d",
                     opts->version);
  if (!s) s = &mffi__strategy_dynamic;
  if (s->version < 1 || !s->xOpen || !s->xBind)
    return mffi__err(ctx, MFFI_EMISUSE, "incomplete strategy '%s'",
                     s->name ? s->name : "?");
  mffi_open_opts defaults = {MFFI_OPEN_OPTS_VERSION, 0, NULL};
  if (!opts) opts = &defaults;
  mffi_lib *lib = mffi__calloc(ctx, sizeof *lib);
  if (!lib) return mffi__nomem(ctx);
  lib->ctx = ctx;
  lib->s = s;
  lib->flags = opts->flags;
  if (target) {
    lib->target = lib_strdup(ctx, target);
    if (!lib->target) {
      mffi__free(ctx, lib);
      return mffi__nomem(ctx);
    }
  }
  lib->display = target ? lib->target : "the running process";
  int rc = s->xOpen(lib, target, opts);
  if (rc != MFFI_OK) {
    if (mffi_errcode(ctx) != rc)
      mffi__err(ctx, rc, "cannot open '%s'", lib->display);
    mffi__free(ctx, lib->target);
    mffi__free(ctx, lib);
    return rc;
  }
  lib->lnext = ctx->libs; /* The context owns it: see mffi_ctx_free. */
  if (ctx->libs) ctx->libs->lprev = lib;
  ctx->libs = lib;
  *out = lib;
  return MFFI_OK;
}

void mffi_close(mffi_lib *lib) {
  if (!lib) return;
  if (lib->lprev)
    lib->lprev->lnext = lib->lnext;
  else
    lib->ctx->libs = lib->lnext;
  if (lib->lnext) lib->lnext->lprev = lib->lprev;
  while (lib->closures)
    mffi_closure_free(lib->closures);
  while (lib->fns)
    mffi_fn_free(lib->fns);
  mffi__mem_close(lib);
  if (lib->s->xClose) lib->s->xClose(lib);
  mffi_ctx *ctx = lib->ctx;
  mffi__free(ctx, lib->target);
  mffi__free(ctx, lib);
}

mffi_ctx *mffi_lib_ctx(const mffi_lib *lib) {
  return lib ? lib->ctx : NULL;
}

const mffi_strategy *mffi_lib_strategy(const mffi_lib *lib) {
  return lib ? lib->s : NULL;
}

const char *mffi_lib_target(const mffi_lib *lib) {
  return lib ? lib->target : NULL;
}

int mffi__lib_failed_err(mffi_lib *lib) {
  return mffi__err(lib->ctx, lib->failed,
                   "%s failed earlier (%s); mffi_reopen() starts it again",
                   lib->display, mffi_strerror(lib->failed));
}

int mffi_reopen(mffi_lib *lib) {
  if (!lib) return MFFI_EMISUSE;
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  const mffi_strategy *s = lib->s;
  /* Tear down what lived in the old library, keeping the objects. */
  mffi__mem_close(lib);
  for (mffi_closure *c = lib->closures; c; c = c->next) {
    if (c->code && s->xCallbackFree) s->xCallbackFree(c);
    c->code = NULL;
    c->data = NULL;
  }
  for (mffi_fn *fn = lib->fns; fn; fn = fn->next) {
    if (s->xUnbind) s->xUnbind(fn);
    fn->data = NULL;
    fn->call = lib_call_misuse;
    fn->path = MFFI_PATH_NONE;
    if (fn->name) fn->addr = NULL; /* mffi_bind_ptr keeps its address. */
  }
  if (s->version >= 3 && s->xReopen) {
    int rc = s->xReopen(lib);
    if (rc != MFFI_OK) {
      if (!lib->failed) lib->failed = rc;
      if (mffi_errcode(ctx) != rc)
        mffi__err(ctx, rc, "cannot reopen '%s'", lib->display);
      return rc;
    }
  }
  lib->failed = MFFI_OK;
  /* Bind and make everything again; report the first failure. */
  int first = MFFI_OK;
  char msg[MFFI_ERRMSG_MAX] = "";
  for (mffi_fn *fn = lib->fns; fn; fn = fn->next) {
    if (!fn->is_var) fn->call = s->xCall ? s->xCall : lib_call_misuse;
    int rc = s->xBind(fn);
    if (fn->is_var) fn->call = lib_call_misuse;
    if (rc != MFFI_OK) {
      if (s->xUnbind) s->xUnbind(fn);
      fn->data = NULL;
      fn->call = lib_call_misuse;
      if (first == MFFI_OK) {
        first = rc;
        snprintf(msg, sizeof msg, "rebinding '%s': %s",
                 fn->name ? fn->name : "function", mffi_errmsg(ctx));
      }
    }
  }
  for (mffi_closure *c = lib->closures; c; c = c->next) {
    int rc = s->xCallback ? s->xCallback(c) : MFFI_EUNSUPPORTED;
    if (rc != MFFI_OK && first == MFFI_OK) {
      first = rc;
      snprintf(msg, sizeof msg, "remaking a callback: %s", mffi_errmsg(ctx));
    }
  }
  if (first != MFFI_OK) return mffi__err(ctx, first, "%s", msg);
  mffi__ok(ctx);
  return MFFI_OK;
}

void mffi_lib_fail(mffi_lib *lib, int rc) {
  if (lib && rc != MFFI_OK && lib->failed == MFFI_OK) lib->failed = rc;
}

int mffi_lib_failed(const mffi_lib *lib) {
  return lib ? lib->failed : MFFI_EMISUSE;
}

/* -- Declaration log ------------------------------------------------------- */

int mffi__cdef_reserve(mffi_ctx *ctx, size_t len) {
  if (len > SIZE_MAX - ctx->ncdef_log) return -1;
  if (mffi__grow(ctx, (void **)&ctx->cdef_ends, &ctx->capcdef,
                 ctx->ncdef + 1, sizeof *ctx->cdef_ends) != 0)
    return -1;
  return mffi__grow(ctx, (void **)&ctx->cdef_log, &ctx->capcdef_log,
                    ctx->ncdef_log + len + 1, 1);
}

void mffi__cdef_done(mffi_ctx *ctx, const char *src, size_t len) {
  memcpy(ctx->cdef_log + ctx->ncdef_log, src, len);
  ctx->ncdef_log += len;
  ctx->cdef_ends[ctx->ncdef++] = ctx->ncdef_log;
  for (mffi_lib *lib = ctx->libs; lib; lib = lib->lnext) {
    const mffi_strategy *s = lib->s;
    if (s->version < 3 || !s->xCdef || lib->failed) continue;
    int rc = s->xCdef(lib, src, len);
    if (rc != MFFI_OK) mffi_lib_fail(lib, rc);
  }
  mffi__ok(ctx); /* A library's failure is its own, not mffi_cdef's. */
}

size_t mffi_lib_cdef_count(const mffi_lib *lib) {
  return lib ? lib->ctx->ncdef : 0;
}

const char *mffi_lib_cdef_text(const mffi_lib *lib, size_t i, size_t *len) {
  const mffi_ctx *ctx = lib ? lib->ctx : NULL;
  if (!ctx || i >= ctx->ncdef) {
    if (len) *len = 0;
    return NULL;
  }
  size_t from = i ? ctx->cdef_ends[i - 1] : 0;
  if (len) *len = ctx->cdef_ends[i] - from;
  return ctx->cdef_log + from;
}

/* -- Bind ------------------------------------------------------------------ */

/* Check that a variadic argument type can be passed. */
static int lib_check_var(mffi_ctx *ctx, const mffi_type *t, size_t i) {
  if (!t) return mffi__err(ctx, MFFI_EMISUSE, "variadic type %zu is NULL", i);
  if (t->ctx != ctx)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "variadic type %zu belongs to another context", i);
  mffi_type *b = mffi__B(&ctx->tt, t->id);
  if (b->kind == MFFI_KIND_VOID || b->kind == MFFI_KIND_FUNCTION ||
      b->kind == MFFI_KIND_ARRAY)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "variadic argument %zu cannot have type %s", i,
                     b->kind == MFFI_KIND_VOID       ? "void"
                     : b->kind == MFFI_KIND_FUNCTION ? "function"
                                                     : "array");
  return MFFI_OK;
}

/* Make fn for function type ftid (or variable type) and run xBind. */
static int lib_bind(mffi_lib *lib, const mffi_decl *decl, mffi__tid tid,
                    void *addr, const mffi_type *const *vtypes, size_t nvar,
                    mffi_fn **out) {
  mffi_ctx *ctx = lib->ctx;
  mffi__tt *tt = &ctx->tt;
  const char *name = decl ? decl->name : NULL;
  const char *symbol = decl ? (decl->symbol ? decl->symbol : decl->name) : NULL;
  bool is_var = decl && decl->kind == MFFI_DECL_VARIABLE;
  if (lib->failed) return mffi__lib_failed_err(lib);
  uint32_t nfixed = 0;
  bool variadic = false;
  if (!is_var) {
    mffi_type *ft = mffi__B(tt, tid);
    nfixed = ft->nparams;
    variadic = (ft->flags & (MFFI_TF_VARIADIC | MFFI_TF_UNPROTO)) != 0;
    if (nvar > 0 && !variadic)
      return mffi__err(ctx, MFFI_EMISUSE, "'%s' is not variadic",
                       name ? name : "function");
    if (nfixed + nvar > MFFI_MAX_ARGS)
      return mffi__err(ctx, MFFI_EUNSUPPORTED,
                       "too many arguments (%zu, at most %d)",
                       (size_t)nfixed + nvar, MFFI_MAX_ARGS);
    for (size_t i = 0; i < nvar; i++) {
      int rc = lib_check_var(ctx, vtypes[i], i);
      if (rc != MFFI_OK) return rc;
    }
  }
  mffi_fn *fn = mffi__calloc(ctx, sizeof *fn);
  if (!fn) return mffi__nomem(ctx);
  fn->lib = lib;
  fn->decl = decl;
  fn->name = name;
  fn->symbol = symbol;
  fn->tid = tid;
  fn->is_var = is_var;
  fn->variadic = variadic;
  fn->addr = addr;
  fn->call = lib_call_misuse;
  if (!is_var) {
    mffi_type *ft = mffi__B(tt, tid);
    fn->nfixed = nfixed;
    fn->nargs = nfixed + (uint32_t)nvar;
    fn->args =
        mffi__malloc(ctx, (fn->nargs ? fn->nargs : 1) * sizeof(mffi__tid));
    if (!fn->args) {
      mffi__free(ctx, fn);
      return mffi__nomem(ctx);
    }
    for (uint32_t i = 0; i < nfixed; i++)
      fn->args[i] = ft->params[i];
    for (size_t i = 0; i < nvar; i++)
      fn->args[nfixed + i] = vtypes[i]->id;
    fn->call = lib->s->xCall ? lib->s->xCall : lib_call_misuse;
  }
  int rc = MFFI_OK;
  if (lib->s->version >= 3 && (lib->s->flags & MFFI_STRATEGY_PLAN))
    rc = mffi__plan_prepare(fn);
  if (rc == MFFI_OK) rc = lib->s->xBind(fn);
  if (rc != MFFI_OK) {
    if (lib->s->xUnbind) lib->s->xUnbind(fn);
    mffi__plan_free(fn);
    mffi__free(ctx, fn->args);
    mffi__free(ctx, fn);
    if (mffi_errcode(ctx) != rc)
      mffi__err(ctx, rc, "cannot bind '%s' in %s", name ? name : "function",
                lib->display);
    return rc;
  }
  if (is_var) fn->call = lib_call_misuse;
  fn->next = lib->fns;
  if (lib->fns) lib->fns->prev = fn;
  lib->fns = fn;
  *out = fn;
  return MFFI_OK;
}

/* Find the declaration `name` and bind it. */
static int lib_bind_name(mffi_lib *lib, const char *name,
                         const mffi_type *const *vtypes, size_t nvar,
                         mffi_fn **out) {
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  if (!name || (nvar > 0 && !vtypes))
    return mffi__err(ctx, MFFI_EMISUSE, "NULL argument to mffi_bind");
  const mffi_decl *d = mffi__tt_decl_find(&ctx->tt, name);
  if (!d) return mffi__err(ctx, MFFI_ENOTFOUND, "'%s' is not declared", name);
  if (d->kind != MFFI_DECL_FUNCTION && d->kind != MFFI_DECL_VARIABLE)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "'%s' is a %s, not a function or variable", name,
                     d->kind == MFFI_DECL_TYPEDEF ? "typedef" : "constant");
  if (d->kind == MFFI_DECL_VARIABLE && nvar > 0)
    return mffi__err(ctx, MFFI_EMISUSE, "'%s' is not variadic", name);
  return lib_bind(lib, d, d->tid, NULL, vtypes, nvar, out);
}

int mffi_bind(mffi_lib *lib, const char *name, mffi_fn **out) {
  if (out) *out = NULL;
  if (!lib || !out) return lib_null_arg(lib, "mffi_bind");
  return lib_bind_name(lib, name, NULL, 0, out);
}

int mffi_bind_variadic(mffi_lib *lib, const char *name,
                       const mffi_type *const *var_types, size_t nvar,
                       mffi_fn **out) {
  if (out) *out = NULL;
  if (!lib || !out) return lib_null_arg(lib, "mffi_bind_variadic");
  return lib_bind_name(lib, name, var_types, nvar, out);
}

int mffi_bind_ptr_variadic(mffi_lib *lib, const mffi_type *type, void *addr,
                           const mffi_type *const *var_types, size_t nvar,
                           mffi_fn **out) {
  if (out) *out = NULL;
  if (!lib || !out) return lib_null_arg(lib, "mffi_bind_ptr");
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  if (!type || !addr || type->ctx != ctx || (nvar > 0 && !var_types))
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_bind_ptr needs a type of this context and an "
                     "address");
  mffi_type *b = mffi__B(&ctx->tt, type->id);
  if (b->kind == MFFI_KIND_POINTER) b = mffi__B(&ctx->tt, b->child);
  if (b->kind != MFFI_KIND_FUNCTION)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_bind_ptr needs a function or function pointer "
                     "type");
  return lib_bind(lib, NULL, b->id, addr, var_types, nvar, out);
}

int mffi_bind_ptr(mffi_lib *lib, const mffi_type *type, void *addr,
                  mffi_fn **out) {
  return mffi_bind_ptr_variadic(lib, type, addr, NULL, 0, out);
}

void mffi_fn_free(mffi_fn *fn) {
  if (!fn) return;
  mffi_lib *lib = fn->lib;
  if (lib->s->xUnbind) lib->s->xUnbind(fn);
  if (fn->prev)
    fn->prev->next = fn->next;
  else
    lib->fns = fn->next;
  if (fn->next) fn->next->prev = fn->prev;
  mffi__plan_free(fn);
  mffi__free(lib->ctx, fn->args);
  mffi__free(lib->ctx, fn);
}

/* -- Call ------------------------------------------------------------------ */

/* The call routine saves errno (mffi__errno_save, or mffi_set_errno for
** other strategies), so this is a tail call. */
int mffi_call(mffi_fn *fn, void *ret, void *const *args) {
  if (!fn) return MFFI_EMISUSE;
  return fn->call(fn, ret, args);
}

int mffi_errno(void) {
  return mffi__errno_val;
}

void mffi_set_errno(int value) {
  mffi__errno_val = value;
  errno = value;
}

const mffi_type *mffi_fn_type(const mffi_fn *fn) {
  return fn ? fn->lib->ctx->tt.types[fn->tid] : NULL;
}

void *mffi_fn_addr(const mffi_fn *fn) {
  return fn ? fn->addr : NULL;
}

const char *mffi_fn_name(const mffi_fn *fn) {
  return fn ? fn->name : NULL;
}

int mffi_fn_is_var(const mffi_fn *fn) {
  return fn && fn->is_var;
}

size_t mffi_fn_nargs(const mffi_fn *fn) {
  return fn ? fn->nargs : 0;
}

const mffi_type *mffi_fn_arg_type(const mffi_fn *fn, size_t i) {
  if (!fn || i >= fn->nargs) return NULL;
  return fn->lib->ctx->tt.types[fn->args[i]];
}

int mffi_fn_path(const mffi_fn *fn) {
  return fn ? fn->path : MFFI_PATH_NONE;
}

void *mffi_fn_native(const mffi_fn *fn) {
  if (!fn || fn->is_var) return NULL;
  const mffi_strategy *s = fn->lib->s;
  if (!s || s->version < 2 || !(s->flags & MFFI_STRATEGY_NATIVE)) return NULL;
  return fn->addr;
}

/* -- Callbacks ------------------------------------------------------------- */

/* Make a closure of fnptr_type (variadic: with the nvar argument types
** vtypes after the fixed ones) and run xCallback. */
static int lib_callback(mffi_lib *lib, const char *what,
                        const mffi_type *fnptr_type, bool variadic,
                        const mffi_type *const *vtypes, size_t nvar,
                        mffi_handler h, void *data, mffi_closure **out) {
  if (out) *out = NULL;
  if (!lib || !out) return lib_null_arg(lib, what);
  mffi_ctx *ctx = lib->ctx;
  mffi__ok(ctx);
  if (!fnptr_type || !h || fnptr_type->ctx != ctx)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "%s needs a type of this context and a handler", what);
  mffi_type *b = mffi__B(&ctx->tt, fnptr_type->id);
  if (b->kind == MFFI_KIND_POINTER) b = mffi__B(&ctx->tt, b->child);
  if (b->kind != MFFI_KIND_FUNCTION)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "a callback needs a function or function pointer type");
  bool isvar = (b->flags & MFFI_TF_VARIADIC) != 0;
  if (isvar && !variadic)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "a variadic callback needs its argument types "
                     "(mffi_callback_variadic)");
  if (variadic && !isvar)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "mffi_callback_variadic needs a variadic function type");
  if (nvar && !vtypes)
    return mffi__err(ctx, MFFI_EMISUSE, "variadic types are NULL");
  if ((size_t)b->nparams + nvar > MFFI_MAX_ARGS)
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "too many arguments (%zu, at most %d)",
                     (size_t)b->nparams + nvar, MFFI_MAX_ARGS);
  for (size_t i = 0; i < nvar; i++) {
    int rc = lib_check_var(ctx, vtypes[i], i);
    if (rc != MFFI_OK) return rc;
  }
  if (!lib->s->xCallback)
    return mffi__err(ctx, MFFI_EUNSUPPORTED, "strategy '%s' has no callbacks",
                     lib->s->name);
  if (variadic &&
      (lib->s->version < 2 || !(lib->s->flags & MFFI_STRATEGY_VARCALLBACK)))
    return mffi__err(ctx, MFFI_EUNSUPPORTED,
                     "strategy '%s' has no variadic callbacks", lib->s->name);
  if (lib->failed) return mffi__lib_failed_err(lib);
  mffi_closure *c = mffi__calloc(ctx, sizeof *c);
  if (!c) return mffi__nomem(ctx);
  c->handler = h;
  c->hdata = data;
  c->lib = lib;
  c->tid = b->id;
  c->nfixed = b->nparams;
  c->nargs = b->nparams + (uint32_t)nvar;
  c->args = b->params;
  c->variadic = variadic;
  if (variadic) {
    mffi__tid *a = mffi__malloc(ctx, (c->nargs ? c->nargs : 1) * sizeof *a);
    if (!a) {
      mffi__free(ctx, c);
      return mffi__nomem(ctx);
    }
    for (uint32_t i = 0; i < c->nfixed; i++)
      a[i] = b->params[i];
    for (size_t i = 0; i < nvar; i++)
      a[c->nfixed + i] = vtypes[i]->id;
    c->args = a;
  }
  int rc = lib->s->xCallback(c);
  if (rc != MFFI_OK) {
    if (c->variadic) mffi__free(ctx, (void *)c->args);
    mffi__free(ctx, c);
    return rc;
  }
  c->next = lib->closures;
  if (lib->closures) lib->closures->prev = c;
  lib->closures = c;
  *out = c;
  return MFFI_OK;
}

int mffi_callback(mffi_lib *lib, const mffi_type *fnptr_type, mffi_handler h,
                  void *data, mffi_closure **out) {
  return lib_callback(lib, "mffi_callback", fnptr_type, false, NULL, 0, h,
                      data, out);
}

int mffi_callback_variadic(mffi_lib *lib, const mffi_type *fnptr_type,
                           const mffi_type *const *var_types, size_t nvar,
                           mffi_handler h, void *data, mffi_closure **out) {
  return lib_callback(lib, "mffi_callback_variadic", fnptr_type, true,
                      var_types, nvar, h, data, out);
}

void *mffi_closure_code(const mffi_closure *c) {
  return c ? c->code : NULL;
}

void mffi_closure_free(mffi_closure *c) {
  if (!c) return;
  mffi_lib *lib = c->lib;
  if (lib->s->xCallbackFree) lib->s->xCallbackFree(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    lib->closures = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->variadic) mffi__free(lib->ctx, (void *)c->args);
  mffi__free(lib->ctx, c);
}

/* -- For strategies (modffi_strategy.h) ------------------------------------ */

void *mffi_lib_data(const mffi_lib *lib) {
  return lib->data;
}
void mffi_lib_set_data(mffi_lib *lib, void *data) {
  lib->data = data;
}
void *mffi_fn_data(const mffi_fn *fn) {
  return fn->data;
}
void mffi_fn_set_data(mffi_fn *fn, void *data) {
  fn->data = data;
}
void *mffi_closure_data(const mffi_closure *c) {
  return c->data;
}
void mffi_closure_set_data(mffi_closure *c, void *data) {
  c->data = data;
}

int mffi_lib_err(mffi_lib *lib, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mffi__verr(lib->ctx, rc, -1, fmt, ap);
  va_end(ap);
  return rc;
}

void *mffi_lib_malloc(mffi_lib *lib, size_t n) {
  return mffi__malloc(lib->ctx, n);
}

void mffi_lib_free(mffi_lib *lib, void *p) {
  mffi__free(lib->ctx, p);
}

unsigned mffi_lib_flags(const mffi_lib *lib) {
  return lib->flags;
}

mffi_lib *mffi_fn_lib(const mffi_fn *fn) {
  return fn->lib;
}
const char *mffi_fn_symbol(const mffi_fn *fn) {
  return fn->symbol;
}
size_t mffi_fn_nfixed(const mffi_fn *fn) {
  return fn->nfixed;
}
const mffi_decl *mffi_fn_decl(const mffi_fn *fn) {
  return fn->decl;
}
void mffi_fn_set_addr(mffi_fn *fn, void *addr) {
  fn->addr = addr;
}
void mffi_fn_set_call(mffi_fn *fn, mffi_call_fn call) {
  fn->call = call;
}
mffi_call_fn mffi_fn_get_call(const mffi_fn *fn) {
  return fn->call;
}
void mffi_fn_set_path(mffi_fn *fn, int path) {
  fn->path = path;
}

mffi_lib *mffi_closure_lib(const mffi_closure *c) {
  return c->lib;
}

const mffi_type *mffi_closure_type(const mffi_closure *c) {
  return c->lib->ctx->tt.types[c->tid];
}

size_t mffi_closure_nargs(const mffi_closure *c) {
  return c->nargs;
}

size_t mffi_closure_nfixed(const mffi_closure *c) {
  return c->nfixed;
}

const mffi_type *mffi_closure_arg_type(const mffi_closure *c, size_t i) {
  if (i >= c->nargs) return NULL;
  return c->lib->ctx->tt.types[c->args[i]];
}

void mffi_closure_set_code(mffi_closure *c, void *code) {
  c->code = code;
}

void mffi_closure_invoke(mffi_closure *c, void *ret, void *const *args) {
  c->handler(ret, args, c->hdata);
}
