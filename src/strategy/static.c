/* The static strategy: calls through tables from `modffi gen`. See LICENSE.
**
** A table (modffi_static.h) is compiled against the library's real header,
** so the C compiler has checked every described type; a thunk calls the
** function by name. Opening "N" finds the registered table N, binding finds
** the entry by declared name, and a call runs the thunk: no dlopen, no
** libffi. Three things a table cannot do are handed to the dynamic
** strategy's engine, on the entry's real address: variadic functions
** (no thunk can forward "..."), functions bound by address (mffi_bind_ptr), and
** callbacks (closures need a code pointer made at run time: libffi).
*/
#include <pthread.h>
#include <string.h>

#include "lib.h"
#include "modffi_static.h"

/* Max. registered tables per process. The registry is process-global, so
** it cannot use a context's allocator (and registration runs in
** constructors, before any context exists): a fixed capacity, documented in
** modffi_static.h, and mffi_static_unregister to free a slot. */
#define ST_MAX_TABLES 64
#define ST_TYPE_BUF 512 /* Type text compared on the stack first. */

static const mffi_static_table *st_tables[ST_MAX_TABLES];
static unsigned st_nopen[ST_MAX_TABLES]; /* Libraries open on each table. */
static int st_ntables;
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;

/* -- Registry ----------------------------------------------------------- */

/* The index of the table called name, or -1; st_lock held. */
static int st_index(const char *name) {
  for (int i = 0; i < st_ntables; i++)
    if (strcmp(st_tables[i]->name, name) == 0) return i;
  return -1;
}

const mffi_static_table *mffi_static_find(const char *name) {
  if (!name) return NULL;
  pthread_mutex_lock(&st_lock);
  int i = st_index(name);
  const mffi_static_table *t = i >= 0 ? st_tables[i] : NULL;
  pthread_mutex_unlock(&st_lock);
  return t;
}

int mffi_static_register(const mffi_static_table *t) {
  if (!t || t->version < 1 || !t->name || !t->name[0] ||
      (t->n > 0 && !t->entries))
    return MFFI_EMISUSE;
  for (size_t i = 0; i < t->n; i++) {
    const mffi_static_entry *e = &t->entries[i];
    if (!e->name || !e->addr ||
        (!e->thunk &&
         !(e->flags & (MFFI_STATIC_VARIABLE | MFFI_STATIC_VARIADIC))))
      return MFFI_EMISUSE;
    if (i > 0 && strcmp(t->entries[i - 1].name, t->entries[i].name) >= 0)
      return MFFI_EMISUSE; /* Not sorted: lookups would miss entries. */
  }
  int rc = MFFI_OK;
  pthread_mutex_lock(&st_lock);
  int old = st_index(t->name);
  if (old >= 0)
    rc = st_tables[old] == t ? MFFI_OK : MFFI_EMISUSE;
  else if (st_ntables == ST_MAX_TABLES)
    rc = MFFI_ENOMEM;
  else {
    st_nopen[st_ntables] = 0;
    st_tables[st_ntables++] = t;
  }
  pthread_mutex_unlock(&st_lock);
  return rc;
}

int mffi_static_unregister(const mffi_static_table *t) {
  if (!t) return MFFI_EMISUSE;
  int rc = MFFI_ENOTFOUND;
  pthread_mutex_lock(&st_lock);
  for (int i = 0; i < st_ntables; i++) {
    if (st_tables[i] != t) continue;
    if (st_nopen[i] > 0) {
      rc = MFFI_EMISUSE; /* Libraries still read it: close them first. */
      break;
    }
    for (int k = i; k + 1 < st_ntables; k++) {
      st_tables[k] = st_tables[k + 1];
      st_nopen[k] = st_nopen[k + 1];
    }
    st_ntables--;
    rc = MFFI_OK;
    break;
  }
  pthread_mutex_unlock(&st_lock);
  return rc;
}

/* The table called name, counted as used by one more library (in one step,
** so it cannot be unregistered in between); NULL if there is none. */
static const mffi_static_table *st_acquire(const char *name) {
  pthread_mutex_lock(&st_lock);
  int i = st_index(name);
  if (i >= 0) st_nopen[i]++;
  pthread_mutex_unlock(&st_lock);
  return i >= 0 ? st_tables[i] : NULL;
}

/* A library on table t is closed. */
static void st_release(const mffi_static_table *t) {
  pthread_mutex_lock(&st_lock);
  for (int i = 0; i < st_ntables; i++)
    if (st_tables[i] == t && st_nopen[i] > 0) st_nopen[i]--;
  pthread_mutex_unlock(&st_lock);
}

/* The entry called name in t, by binary search; NULL if absent. */
static const mffi_static_entry *st_entry(const mffi_static_table *t,
                                         const char *name) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, t->entries[mid].name);
    if (c == 0) return &t->entries[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* -- Strategy ------------------------------------------------------------ */

static int st_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts) {
  (void)opts;
  if (!target)
    return mffi__err(lib->ctx, MFFI_EMISUSE,
                     "the static strategy needs a table name as target");
  const mffi_static_table *t = st_acquire(target);
  if (!t)
    return mffi__err(lib->ctx, MFFI_ENOLIB,
                     "no static table '%s' is linked into this program "
                     "(compile and link %s_mffi_static.c)",
                     target, target);
  lib->data = (void *)t;
  return MFFI_OK;
}

static void st_close(mffi_lib *lib) {
  if (lib->data) st_release(lib->data);
  lib->data = NULL;
}

/* Compare the type of fn with the text the table was generated from. */
static int st_check_type(mffi_fn *fn, const mffi_static_entry *e) {
  if (!e->type) return MFFI_OK;
  mffi_ctx *ctx = fn->lib->ctx;
  const mffi_type *t = ctx->tt.types[fn->tid];
  char buf[ST_TYPE_BUF];
  size_t n = mffi_type_str(t, NULL, buf, sizeof buf);
  int same;
  if (n < sizeof buf) {
    same = strcmp(buf, e->type) == 0;
  } else {
    char *big = mffi__malloc(ctx, n + 1);
    if (!big) return mffi__nomem(ctx);
    mffi_type_str(t, NULL, big, n + 1);
    same = strcmp(big, e->type) == 0;
    mffi__free(ctx, big);
  }
  if (same) return MFFI_OK;
  return mffi__err(ctx, MFFI_EMISMATCH,
                   "'%s' is declared as '%s' but static table '%s' was "
                   "generated for '%s'",
                   fn->name, n < sizeof buf ? buf : "(long type)",
                   ((const mffi_static_table *)fn->lib->data)->name, e->type);
}

/* Run the generated thunk. */
static int st_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi_static_entry *e = fn->data;
  if (!args && fn->nargs)
    return mffi__err(fn->lib->ctx, MFFI_EMISUSE, "args is NULL");
  e->thunk(ret, args);
  mffi__errno_save();
  return MFFI_OK;
}

static int st_bind(mffi_fn *fn) {
  mffi_lib *lib = fn->lib;
  const mffi_static_table *t = lib->data;
  /* By address: the table has nothing to add; use the call engine. */
  if (!fn->name) return mffi__strategy_dynamic.xBind(fn);
  const mffi_static_entry *e = st_entry(t, fn->name);
  if (!e)
    return mffi__err(lib->ctx, MFFI_ENOSYM,
                     "'%s' is not in static table '%s' (generated from %s)",
                     fn->name, t->name, t->header ? t->header : "?");
  bool e_var = (e->flags & MFFI_STATIC_VARIABLE) != 0;
  if (fn->is_var != e_var)
    return mffi__err(lib->ctx, MFFI_EMISMATCH,
                     "'%s' is a %s in static table '%s'", fn->name,
                     e_var ? "variable" : "function", t->name);
  int rc = st_check_type(fn, e);
  if (rc != MFFI_OK) return rc;
  fn->addr = e->addr;
  if (fn->is_var) return MFFI_OK;
  /* Variadic: a thunk could pass the fixed arguments only. */
  if ((e->flags & MFFI_STATIC_VARIADIC) || !e->thunk)
    return mffi__strategy_dynamic.xBind(fn);
  fn->data = (void *)e;
  fn->call = st_call;
  fn->path = MFFI_PATH_DIRECT;
  return MFFI_OK;
}

static void st_unbind(mffi_fn *fn) {
  if (fn->path == MFFI_PATH_FAST || fn->path == MFFI_PATH_FFI)
    mffi__strategy_dynamic.xUnbind(fn);
  fn->data = NULL;
}

/* Unused: st_bind always installs a per-function routine. */
static int st_call_unprepared(mffi_fn *fn, void *ret, void *const *args) {
  (void)ret;
  (void)args;
  return mffi__err(fn->lib->ctx, MFFI_EMISUSE, "function is not prepared");
}

static int st_callback(mffi_closure *c) {
  return mffi__strategy_dynamic.xCallback(c);
}

static void st_callback_free(mffi_closure *c) {
  mffi__strategy_dynamic.xCallbackFree(c);
}

/* The static strategy: generated tables in this process, memory on the
** heap, callbacks through the dynamic strategy's libffi closures. A
** function bound from a table reports MFFI_PATH_DIRECT, and its
** mffi_fn_addr() is the real function, of exactly the described type (the
** compiler checked it): generated wrappers call it directly. */
const mffi_strategy mffi__strategy_static = {
    .version = MFFI_STRATEGY_VERSION,
    .name = "static",
    .flags = MFFI_STRATEGY_NATIVE,
    .opts = NULL,
    .xOpen = st_open,
    .xClose = st_close,
    .xBind = st_bind,
    .xUnbind = st_unbind,
    .xCall = st_call_unprepared,
    .xNew = NULL,
    .xDelete = NULL,
    .xRead = NULL,
    .xWrite = NULL,
    .xCallback = st_callback,
    .xCallbackFree = st_callback_free,
};
