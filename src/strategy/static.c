/* The static strategy: calls through tables from `modffi gen`. See LICENSE.
**
** A table (modffi_static.h) is compiled against the library's real header,
** so the C compiler has checked every described type; a thunk calls the
** function by name. Opening "N" finds the registered table N, binding finds
** the entry by declared name, and a call runs the thunk: no dlopen, no
** libffi. Three things a table cannot do are handed to the dynamic
** strategy's engine, on the entry's real address: variadic functions
** (no thunk can forward "..."), functions bound by address (mffi_bind_ptr), and
** callbacks (closures need a code pointer made at run time: the dynamic
** strategy's, on the call plan or libffi).
**
** Written against the public strategy interface only (modffi_strategy.h),
** as a strategy from outside would be: proof that the interface suffices.
*/
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "modffi.h"
#include "modffi_static.h"
#include "modffi_strategy.h"

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

/* -- Registry -------------------------------------------------------------- */

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

/* -- Strategy -------------------------------------------------------------- */

/* The dynamic strategy, to which the table hands what it cannot do. */
static const mffi_strategy *st_dyn(void) {
  return mffi_strategy_find("dynamic");
}

static int st_open(mffi_lib *lib, const char *target,
                   const mffi_open_opts *opts) {
  (void)opts;
  if (!target)
    return mffi_lib_err(lib, MFFI_EMISUSE,
                        "the static strategy needs a table name as target");
  const mffi_static_table *t = st_acquire(target);
  if (!t)
    return mffi_lib_err(lib, MFFI_ENOLIB,
                        "no static table '%s' is linked into this program "
                        "(compile and link %s_mffi_static.c)",
                        target, target);
  mffi_lib_set_data(lib, (void *)t);
  return MFFI_OK;
}

static void st_close(mffi_lib *lib) {
  if (mffi_lib_data(lib)) st_release(mffi_lib_data(lib));
  mffi_lib_set_data(lib, NULL);
}

/* Compare the type of fn with the text the table was generated from. */
static int st_check_type(mffi_fn *fn, const mffi_static_entry *e) {
  if (!e->type) return MFFI_OK;
  mffi_lib *lib = mffi_fn_lib(fn);
  const mffi_type *t = mffi_fn_type(fn);
  char buf[ST_TYPE_BUF];
  size_t n = mffi_type_str(t, NULL, buf, sizeof buf);
  int same;
  if (n < sizeof buf) {
    same = strcmp(buf, e->type) == 0;
  } else {
    char *big = mffi_lib_malloc(lib, n + 1);
    if (!big) return mffi_lib_err(lib, MFFI_ENOMEM, "out of memory");
    mffi_type_str(t, NULL, big, n + 1);
    same = strcmp(big, e->type) == 0;
    mffi_lib_free(lib, big);
  }
  if (same) return MFFI_OK;
  return mffi_lib_err(lib, MFFI_EMISMATCH,
                      "'%s' is declared as '%s' but static table '%s' was "
                      "generated for '%s'",
                      mffi_fn_name(fn), n < sizeof buf ? buf : "(long type)",
                      ((const mffi_static_table *)mffi_lib_data(lib))->name,
                      e->type);
}

/* Run the generated thunk. */
static int st_call(mffi_fn *fn, void *ret, void *const *args) {
  const mffi_static_entry *e = mffi_fn_data(fn);
  if (!args && mffi_fn_nargs(fn))
    return mffi_lib_err(mffi_fn_lib(fn), MFFI_EMISUSE, "args is NULL");
  e->thunk(ret, args);
  mffi_set_errno(errno);
  return MFFI_OK;
}

static int st_bind(mffi_fn *fn) {
  mffi_lib *lib = mffi_fn_lib(fn);
  const mffi_static_table *t = mffi_lib_data(lib);
  const char *name = mffi_fn_name(fn);
  /* By address: the table has nothing to add; use the call engine. */
  if (!name) return st_dyn()->xBind(fn);
  const mffi_static_entry *e = st_entry(t, name);
  if (!e)
    return mffi_lib_err(lib, MFFI_ENOSYM,
                        "'%s' is not in static table '%s' (generated from %s)",
                        name, t->name, t->header ? t->header : "?");
  bool e_var = (e->flags & MFFI_STATIC_VARIABLE) != 0;
  bool is_var = mffi_fn_is_var(fn);
  if (is_var != e_var)
    return mffi_lib_err(lib, MFFI_EMISMATCH,
                        "'%s' is a %s in static table '%s'", name,
                        e_var ? "variable" : "function", t->name);
  int rc = st_check_type(fn, e);
  if (rc != MFFI_OK) return rc;
  mffi_fn_set_addr(fn, e->addr);
  if (is_var) return MFFI_OK;
  /* Variadic: a thunk could pass the fixed arguments only. */
  if ((e->flags & MFFI_STATIC_VARIADIC) || !e->thunk)
    return st_dyn()->xBind(fn);
  mffi_fn_set_data(fn, (void *)e);
  mffi_fn_set_call(fn, st_call);
  mffi_fn_set_path(fn, MFFI_PATH_DIRECT);
  return MFFI_OK;
}

static void st_unbind(mffi_fn *fn) {
  int path = mffi_fn_path(fn);
  if (path == MFFI_PATH_FAST || path == MFFI_PATH_FFI) st_dyn()->xUnbind(fn);
  mffi_fn_set_data(fn, NULL);
}

static int st_callback(mffi_closure *c) {
  return st_dyn()->xCallback(c);
}

static void st_callback_free(mffi_closure *c) {
  st_dyn()->xCallbackFree(c);
}

/* The static strategy: generated tables in this process, memory on the
** heap, callbacks through the dynamic strategy's closures. A
** function bound from a table reports MFFI_PATH_DIRECT, and its
** mffi_fn_addr() is the real function, of exactly the described type (the
** compiler checked it): generated wrappers call it directly. */
const mffi_strategy mffi__strategy_static = {
    .version = MFFI_STRATEGY_VERSION,
    .name = "static",
    .flags = MFFI_STRATEGY_NATIVE | MFFI_STRATEGY_VARCALLBACK,
    .opts = NULL,
    .xOpen = st_open,
    .xClose = st_close,
    .xBind = st_bind,
    .xUnbind = st_unbind,
    .xCall = NULL, /* st_bind gives each function its own routine. */
    .xNew = NULL,
    .xDelete = NULL,
    .xRead = NULL,
    .xWrite = NULL,
    .xCallback = st_callback,
    .xCallbackFree = st_callback_free,
};
