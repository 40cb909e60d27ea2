/* The checked decorator: rules refused before the call. See LICENSE.
**
** The fixture tests/fixtures/buflib.c (two allocators and users of their
** buffers) is compiled with cc into a temporary directory; its plain header
** buflib.h and the overlay buflib_rules.h are given to mffi_cdef. Each
** rule is tried under "checked" (over dynamic) and
** "checked:remote" (skipped while the remote strategy is not built): the
** bad call is refused with MFFI_EVIOLATION, the message names the function,
** the argument and the blocks, and buflib_calls() shows that the library
** never saw it. Good calls give what direct calls into the library give.
** The rules come from tests/fixtures/buflib_rules.h, a redeclaration
** overlay of the plain header.
** The glibc suite feeds `cc -E -P` of the real stdio.h/unistd.h/stdlib.h to
** mffi_cdef and relies on glibc's own attributes.
*/
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"
#include "modffi_strategy.h"
#include "fixtures/slurp.h"
#include "oom_alloc.h"

/* -- Fixture --------------------------------------------------------------- */

typedef struct bl_env {
  char dir[64];
  char path[160];
  mffi_ctx *ctx;
  mffi_lib *lib;
  void *dl;          /* The same library, for direct calls. */
  mffi_fn *calls_fn; /* buflib_calls on the inner library. */
} bl_env;

static bl_env bl;

static void bl_build(void) {
  snprintf(bl.dir, sizeof bl.dir, "/tmp/mffi-buflib-XXXXXX");
  cr_assert_not_null(mkdtemp(bl.dir));
  snprintf(bl.path, sizeof bl.path, "%s/libbuflib.so", bl.dir);
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "%s -shared -fPIC -O1 -w -I%s/tests/fixtures -o %s "
           "%s/tests/fixtures/buflib.c",
           cc, MFFI_SOURCE_DIR, bl.path, MFFI_SOURCE_DIR);
  cr_assert_eq(system(cmd), 0, "cannot build the fixture: %s", cmd);
  bl.dl = dlopen(bl.path, RTLD_NOW);
  cr_assert_not_null(bl.dl, "%s", dlerror());
}

/* A stand-in for remote until it lands: the dynamic strategy without
** MFFI_STRATEGY_NATIVE (so checked forwards every call through mffi_call)
** and with memory of its own (xNew/xDelete/xRead/xWrite, counted), as an
** out-of-process strategy has. */
static mffi_strategy fake;
static long fake_nnew, fake_ndelete, fake_nread, fake_nwrite;

static int fake_new(mffi_lib *lib, size_t sz, size_t align, void **out) {
  cr_assert_leq(align, 16);
  void *p = mffi_lib_malloc(lib, sz);
  if (!p) return MFFI_ENOMEM;
  memset(p, 0, sz);
  fake_nnew++;
  *out = p;
  return MFFI_OK;
}

static void fake_delete(mffi_lib *lib, void *p) {
  fake_ndelete++;
  mffi_lib_free(lib, p);
}

static int fake_read(mffi_lib *lib, void *dst, const void *src, size_t n) {
  (void)lib;
  fake_nread++;
  memcpy(dst, src, n);
  return MFFI_OK;
}

static int fake_write(mffi_lib *lib, void *dst, const void *src, size_t n) {
  (void)lib;
  fake_nwrite++;
  memcpy(dst, src, n);
  return MFFI_OK;
}

static void fake_register(void) {
  if (mffi_strategy_find("fakeremote")) return;
  fake = *mffi_strategy_find("dynamic");
  fake.name = "fakeremote";
  fake.flags &= ~MFFI_STRATEGY_NATIVE;
  fake.xNew = fake_new;
  fake.xDelete = fake_delete;
  fake.xRead = fake_read;
  fake.xWrite = fake_write;
  cr_assert_eq(mffi_strategy_register(&fake), MFFI_OK);
}

/* Open the fixture through the strategy called name (skipping the test if
** its inner strategy is not built). */
static void bl_open(const char *name) {
  if (strcmp(name, "checked:remote") == 0 && !mffi_strategy_find("remote"))
    cr_skip_test("the remote strategy is not built yet");
  if (strcmp(name, "checked:fakeremote") == 0) fake_register();
  bl_build();
  cr_assert_eq(mffi_ctx_new(&bl.ctx, NULL), MFFI_OK);
  size_t len;
  char *src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib.h", &len);
  int rc = mffi_cdef(bl.ctx, src, len);
  free(src);
  cr_assert_eq(rc, MFFI_OK, "buflib.h: %s", mffi_errmsg(bl.ctx));
  src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib_rules.h", &len);
  rc = mffi_cdef(bl.ctx, src, len);
  free(src);
  cr_assert_eq(rc, MFFI_OK, "buflib_rules.h: %s", mffi_errmsg(bl.ctx));
  const mffi_strategy *s = mffi_strategy_find(name);
  cr_assert_not_null(s, "no strategy %s", name);
  cr_assert_str_eq(mffi_strategy_find(name)->name, name);
  rc = mffi_open(bl.ctx, s, bl.path, NULL, &bl.lib);
  cr_assert_eq(rc, MFFI_OK, "open: %s", mffi_errmsg(bl.ctx));
}

static void bl_teardown(void) {
  mffi_ctx_free(bl.ctx); /* Closes the library. */
  if (bl.dl) dlclose(bl.dl);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", bl.dir);
  if (bl.dir[0]) (void)system(cmd);
  memset(&bl, 0, sizeof bl);
}

TestSuite(checked, .fini = bl_teardown, .timeout = 60);

/* The library's own count of calls into it, asked past the checks (the
** inner library), so that it counts where the library runs (for remote:
** in the sandbox). */
static int bl_calls(void) {
  if (!bl.calls_fn) {
    int rc =
        mffi_bind(mffi_checked_inner(bl.lib), "buflib_calls", &bl.calls_fn);
    cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  }
  int n = -1;
  cr_assert_eq(mffi_call(bl.calls_fn, &n, NULL), MFFI_OK);
  return n;
}

static mffi_fn *bl_fn(const char *name) {
  mffi_fn *fn = NULL;
  int rc = mffi_bind(bl.lib, name, &fn);
  cr_assert_eq(rc, MFFI_OK, "bind %s: %s", name, mffi_errmsg(bl.ctx));
  return fn;
}

static unsigned char *bl_alloc(const char *alloc, size_t n) {
  unsigned char *p = NULL;
  void *args[] = {&n};
  int rc = mffi_call(bl_fn(alloc), &p, args);
  cr_assert_eq(rc, MFFI_OK, "%s: %s", alloc, mffi_errmsg(bl.ctx));
  cr_assert_not_null(p);
  return p;
}

static int bl_free(const char *dealloc, void *p) {
  void *args[] = {&p};
  return mffi_call(bl_fn(dealloc), NULL, args);
}

static int bl_fill(void *p, size_t n, int v) {
  void *args[] = {&p, &n, &v};
  return mffi_call(bl_fn("fill_buffer"), NULL, args);
}

static int bl_sum(const void *p, size_t n, unsigned *out) {
  void *args[] = {&p, &n};
  return mffi_call(bl_fn("sum_buffer"), out, args);
}

/* Assert a refusal with text in the message, unseen by the library (the
** fixture's own call counter did not move). */
#define REFUSED(call, text)                                                    \
  do {                                                                         \
    int seen_ = bl_calls();                                                    \
    int rc_ = (call);                                                          \
    cr_assert_eq(rc_, MFFI_EVIOLATION, "%s: rc %d (%s)", #call, rc_,           \
                 mffi_errmsg(bl.ctx));                                         \
    cr_assert(strstr(mffi_errmsg(bl.ctx), (text)) != NULL,                     \
              "message '%s' lacks '%s'", mffi_errmsg(bl.ctx), (text));         \
    cr_assert_eq(bl_calls(), seen_, "the library saw the refused call");       \
  } while (0)

/* Each case runs over dynamic, over remote, and over a non-native stand-in
** for remote (fakeremote, above). */
#define BOTH(name)                                                             \
  static void name(void);                                                      \
  Test(checked, name##_dynamic) {                                              \
    bl_open("checked");                                                        \
    name();                                                                    \
  }                                                                            \
  Test(checked, name##_remote) {                                               \
    bl_open("checked:remote");                                                 \
    name();                                                                    \
  }                                                                            \
  Test(checked, name##_nonnative) {                                            \
    bl_open("checked:fakeremote");                                             \
    name();                                                                    \
  }                                                                            \
  static void name(void)

/* -- Correct use ----------------------------------------------------------- */

static int count_live(void *ud, const mffi_checked_block *b) {
  const mffi_checked_block **last = ud;
  *last = b;
  return 0;
}

typedef struct live_copy {
  size_t n;
  mffi_checked_block b[8];
} live_copy;

static int copy_live(void *ud, const mffi_checked_block *b) {
  live_copy *lc = ud;
  if (lc->n < 8) lc->b[lc->n++] = *b;
  return 0;
}

BOTH(correct_use) {
  /* The same sequence directly, as the oracle. */
  unsigned char *(*d_alloc)(size_t) =
      (unsigned char *(*)(size_t))(uintptr_t)dlsym(bl.dl, "allocate_buffer");
  void (*d_fill)(unsigned char *, size_t, int) =
      (void (*)(unsigned char *, size_t, int))(uintptr_t)dlsym(bl.dl,
                                                               "fill_buffer");
  unsigned (*d_sum)(const unsigned char *, size_t) = (unsigned (*)(
      const unsigned char *, size_t))(uintptr_t)dlsym(bl.dl, "sum_buffer");
  void (*d_free)(unsigned char *) =
      (void (*)(unsigned char *))(uintptr_t)dlsym(bl.dl, "free_buffer");
  unsigned char *dp = d_alloc(64);
  d_fill(dp, 64, 3);
  d_fill(dp + 32, 32, 5);
  unsigned want = d_sum(dp, 64);
  d_free(dp);

  unsigned char *p = bl_alloc("allocate_buffer", 64);
  live_copy lc = {0};
  cr_assert_eq(mffi_checked_each(bl.lib, copy_live, &lc), 1);
  cr_assert_eq(lc.b[0].addr, p);
  cr_assert_eq(lc.b[0].size, 64);
  cr_assert_eq(lc.b[0].size_known, 1);
  cr_assert_str_eq(lc.b[0].allocated_by, "allocate_buffer");
  cr_assert_str_eq(lc.b[0].dealloc, "free_buffer");
  cr_assert_eq(bl_fill(p, 64, 3), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(bl_fill(p + 32, 32, 5), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  unsigned got = 0;
  cr_assert_eq(bl_sum(p, 64, &got), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(got, want);
  cr_assert_eq(got, 32 * 3 + 32 * 5);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  const mffi_checked_block *last = NULL;
  cr_assert_eq(mffi_checked_each(bl.lib, count_live, &last), 0);
  /* The second allocator with its own deallocator. */
  unsigned char *q = bl_alloc("pool_alloc", 16);
  cr_assert_eq(bl_fill(q, 16, 1), MFFI_OK);
  cr_assert_eq(bl_free("pool_free", q), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  /* A function no rule touches is forwarded. */
  int a = 40, b = 2, r = 0;
  void *args[] = {&a, &b};
  cr_assert_eq(mffi_call(bl_fn("buf_add"), &r, args), MFFI_OK);
  cr_assert_eq(r, 42);
  cr_assert_eq(mffi_checked_violations(bl.lib), 0);
}

/* -- Each rule ------------------------------------------------------------- */

BOTH(double_free) {
  unsigned char *p = bl_alloc("allocate_buffer", 64);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  REFUSED(bl_free("free_buffer", p),
          "free_buffer: argument 1 'buf': double release of a block of 64 "
          "bytes allocated by allocate_buffer and released by free_buffer");
  cr_assert_eq(mffi_checked_violations(bl.lib), 1);
}

BOTH(use_after_free) {
  unsigned char *p = bl_alloc("allocate_buffer", 64);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  REFUSED(bl_fill(p, 8, 1),
          "fill_buffer: argument 1 'buf': use after release of a block of 64 "
          "bytes allocated by allocate_buffer and released by free_buffer");
  unsigned s;
  REFUSED(bl_sum(p + 8, 8, &s), "sum_buffer: argument 1 'buf': use after "
                                "release");
  /* A pointer into the released block is not a release: a use. */
  REFUSED(bl_free("free_buffer", p + 8), "use after release");
}

BOTH(size_mismatch) {
  unsigned char *p = bl_alloc("allocate_buffer", 64);
  REFUSED(bl_fill(p, 128, 0),
          "fill_buffer: argument 1 'buf': 128 bytes exceed a block of 64 "
          "bytes (offset 0) allocated by allocate_buffer");
  REFUSED(bl_fill(p + 32, 33, 0), "33 bytes exceed a block of 64 bytes "
                                  "(offset 32)");
  unsigned s;
  REFUSED(bl_sum(p + 1, 64, &s), "sum_buffer: argument 1 'buf': 64 bytes");
  /* Exactly to the end is fine. */
  cr_assert_eq(bl_fill(p + 32, 32, 2), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
}

BOTH(signed_count_and_interior_release) {
  unsigned char *p = bl_alloc("allocate_buffer", 16);
  int n = -1, v = 0;
  void *args[] = {&p, &n, &v};
  mffi_fn *fi = bl_fn("fill_int");
  REFUSED(mffi_call(fi, NULL, args),
          "fill_int: argument 1 'buf': negative count -1 for a block of 16 "
          "bytes allocated by allocate_buffer");
  n = 17;
  REFUSED(mffi_call(fi, NULL, args), "17 bytes exceed a block of 16 bytes");
  n = 16;
  cr_assert_eq(mffi_call(fi, NULL, args), MFFI_OK);
  REFUSED(bl_free("free_buffer", p + 8),
          "free_buffer: argument 1 'buf': release of a pointer 8 bytes into a "
          "block of 16 bytes allocated by allocate_buffer");
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
}

BOTH(null_into_nonnull) {
  REFUSED(bl_fill(NULL, 0, 0), "fill_buffer: argument 1 'buf': NULL passed "
                               "for a nonnull parameter");
  unsigned s;
  REFUSED(bl_sum(NULL, 0, &s), "sum_buffer: argument 1 'buf': NULL");
  /* free_buffer(NULL) is allowed: no nonnull. */
  cr_assert_eq(bl_free("free_buffer", NULL), MFFI_OK);
}

BOTH(wrong_deallocator) {
  unsigned char *q = bl_alloc("pool_alloc", 32);
  REFUSED(bl_free("free_buffer", q),
          "free_buffer: argument 1 'buf': a block of 32 bytes allocated by "
          "pool_alloc must be released by pool_free, not by free_buffer");
  cr_assert_eq(bl_free("pool_free", q), MFFI_OK);
  unsigned char *p = bl_alloc("allocate_buffer", 8);
  REFUSED(bl_free("pool_free", p), "must be released by free_buffer, not "
                                   "by pool_free");
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  /* mffi_new memory belongs to mffi_delete. */
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  void *m;
  cr_assert_eq(mffi_new(bl.lib, uc, 16, &m), MFFI_OK);
  REFUSED(bl_free("free_buffer", m),
          "a block of 16 bytes allocated by mffi_new must be released by "
          "mffi_delete, not by free_buffer");
  cr_assert_eq(bl_fill(m, 16, 7), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  REFUSED(bl_fill(m, 17, 7), "17 bytes exceed a block of 16 bytes (offset 0) "
                             "allocated by mffi_new");
  mffi_delete(bl.lib, m);
}

/* The quarantine: a deleted mffi_new block is not handed out again at once,
** so a use of the stale pointer is still caught after the next mffi_new. */
BOTH(quarantine) {
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  void *a, *b;
  cr_assert_eq(mffi_new(bl.lib, uc, 32, &a), MFFI_OK);
  mffi_delete(bl.lib, a);
  cr_assert_eq(mffi_new(bl.lib, uc, 32, &b), MFFI_OK);
  cr_assert_neq(a, b);
  REFUSED(bl_fill(a, 1, 0), "use after release of a block of 32 bytes "
                            "allocated by mffi_new and released by "
                            "mffi_delete");
  cr_assert_eq(bl_fill(b, 32, 0), MFFI_OK);
  mffi_delete(bl.lib, b);
}

/* -- Dangling members ------------------------------------------------------ */

static void *view_new(void *data, size_t len) {
  const mffi_type *vt;
  cr_assert_eq(mffi_typeof(bl.ctx, "struct buf_view", &vt), MFFI_OK);
  void *v;
  cr_assert_eq(mffi_new(bl.lib, vt, 1, &v), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(mffi_field_set(vt, v, "data", &data), MFFI_OK);
  cr_assert_eq(mffi_field_set(vt, v, "len", &len), MFFI_OK);
  return v;
}

static int view_sum(void *v, unsigned *out) {
  void *args[] = {&v};
  return mffi_call(bl_fn("view_sum"), out, args);
}

BOTH(dangling_member) {
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  unsigned char *data;
  cr_assert_eq(mffi_new(bl.lib, uc, 16, (void **)&data), MFFI_OK);
  memset(data, 2, 16);
  void *v = view_new(data, 16);
  unsigned s = 0;
  cr_assert_eq(view_sum(v, &s), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(s, 32);
  mffi_delete(bl.lib, data); /* Nothing keeps it: freed. */
  REFUSED(view_sum(v, &s),
          "view_sum: member 'data' of argument 1 'v' points into a released "
          "block (a block of 16 bytes allocated by mffi_new, released by "
          "mffi_delete); keep it alive with mffi_keep(owner, dependent)");
  mffi_delete(bl.lib, v);
}

BOTH(dangling_member_kept) {
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  unsigned char *data;
  cr_assert_eq(mffi_new(bl.lib, uc, 16, (void **)&data), MFFI_OK);
  memset(data, 3, 16);
  void *v = view_new(data, 16);
  cr_assert_eq(mffi_keep(bl.lib, v, data), MFFI_OK);
  mffi_delete(bl.lib, data); /* v keeps it. */
  unsigned s = 0;
  cr_assert_eq(view_sum(v, &s), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(s, 48);
  mffi_delete(bl.lib, v); /* Frees both. */
}

BOTH(dangling_member_library_block) {
  unsigned char *p = bl_alloc("allocate_buffer", 24);
  void *v = view_new(p, 24);
  cr_assert_eq(bl_fill(p, 24, 1), MFFI_OK);
  unsigned s = 0;
  cr_assert_eq(view_sum(v, &s), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(s, 24);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  REFUSED(view_sum(v, &s), "member 'data' of argument 1 'v' points into a "
                           "released block (a block of 24 bytes allocated by "
                           "allocate_buffer, released by free_buffer)");
}

/* -- Results --------------------------------------------------------------- */

BOTH(results) {
  /* warn_unused_result with the result discarded. */
  REFUSED(mffi_call(bl_fn("buflib_calls"), NULL, NULL),
          "buflib_calls: the result is declared warn_unused_result but ret "
          "is NULL");
  int n = -1;
  cr_assert_eq(mffi_call(bl_fn("buflib_calls"), &n, NULL), MFFI_OK);
  cr_assert_eq(n, bl_calls());
  /* returns_nonnull broken: reported after the call. */
  void *r = (void *)1;
  int seen = bl_calls();
  cr_assert_eq(mffi_call(bl_fn("buf_nothing"), &r, NULL), MFFI_EVIOLATION);
  cr_assert_eq(bl_calls(), seen + 1); /* It did run. */
  cr_assert_null(r);
  cr_assert(strstr(mffi_errmsg(bl.ctx), "buf_nothing: returned NULL although "
                                        "declared returns_nonnull"),
            "%s", mffi_errmsg(bl.ctx));
}

BOTH(strings) {
  const mffi_type *ch;
  cr_assert_eq(mffi_typeof(bl.ctx, "char", &ch), MFFI_OK);
  char *s;
  cr_assert_eq(mffi_new(bl.lib, ch, 4, (void **)&s), MFFI_OK);
  memcpy(s, "abc", 4);
  size_t len = 0;
  void *args[] = {&s};
  cr_assert_eq(mffi_call(bl_fn("buf_strlen"), &len, args), MFFI_OK);
  cr_assert_eq(len, 3);
  memcpy(s, "abcd", 4); /* No NUL in the block. */
  REFUSED(mffi_call(bl_fn("buf_strlen"), &len, args),
          "buf_strlen: argument 1 's': string not terminated within a block "
          "of 4 bytes (offset 0) allocated by mffi_new");
  mffi_delete(bl.lib, s);
  REFUSED(mffi_call(bl_fn("buf_strlen"), &len, args), "use after release");
}

/* In-process only: the addresses come from this process's dlsym. */
static void by_address_and_variables(void);
Test(checked, by_address_and_variables_dynamic) {
  bl_open("checked");
  by_address_and_variables();
}
Test(checked, by_address_and_variables_nonnative) {
  bl_open("checked:fakeremote");
  by_address_and_variables();
}
static void by_address_and_variables(void) {
  mffi_fn *v = bl_fn("buflib_version");
  cr_assert(mffi_fn_is_var(v));
  cr_assert_eq(*(int *)mffi_fn_addr(v), 3);
  cr_assert_eq(mffi_fn_addr(v), dlsym(bl.dl, "buflib_version"));
  /* By address: the plan's defaults still guard the pointers. */
  const mffi_type *ft;
  cr_assert_eq(
      mffi_typeof(bl.ctx, "void (*)(unsigned char *, size_t, int)", &ft),
      MFFI_OK);
  mffi_fn *fill;
  cr_assert_eq(mffi_bind_ptr(bl.lib, ft, dlsym(bl.dl, "fill_buffer"), &fill),
               MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  unsigned char *p = bl_alloc("allocate_buffer", 4);
  size_t n = 4;
  int val = 9;
  void *args[] = {&p, &n, &val};
  cr_assert_eq(mffi_call(fill, NULL, args), MFFI_OK);
  cr_assert_eq(p[3], 9);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  REFUSED(mffi_call(fill, NULL, args),
          "function: argument 1: use after release of a block of 4 bytes");
}

/* -- Reports --------------------------------------------------------------- */

typedef struct events {
  int nviolations, nleaks;
  char last[512];
  size_t leak_size;
  const char *leak_by;
} events;

static void on_event(void *ud, const mffi_checked_event *ev) {
  events *e = ud;
  snprintf(e->last, sizeof e->last, "%s", ev->message);
  if (ev->kind == MFFI_CHECKED_VIOLATION) {
    e->nviolations++;
    cr_assert_not_null(ev->function);
  } else {
    e->nleaks++;
    cr_assert_not_null(ev->block);
    e->leak_size = ev->block->size;
    e->leak_by = ev->block->allocated_by; /* Pooled by the context. */
  }
}

BOTH(audit) {
  events ev = {0};
  mffi_checked_opts o = {MFFI_CHECKED_OPTS_VERSION, MFFI_CHECKED_AUDIT,
                         on_event, &ev};
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_OK);
  int seen = bl_calls();
  /* Recorded and let through (fill_buffer(NULL, 0) does nothing). */
  cr_assert_eq(bl_fill(NULL, 0, 0), MFFI_OK);
  cr_assert_eq(bl_calls(), seen + 1);
  cr_assert_eq(ev.nviolations, 1);
  cr_assert(strstr(ev.last, "NULL passed for a nonnull parameter"), "%s",
            ev.last);
  cr_assert_eq(mffi_checked_violations(bl.lib), 1);
  /* Back to refusing; the callback still hears. */
  o.flags = 0;
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_OK);
  REFUSED(bl_fill(NULL, 0, 0), "NULL passed");
  cr_assert_eq(ev.nviolations, 2);
  cr_assert_eq(mffi_checked_violations(bl.lib), 2);
}

BOTH(leaks_at_close) {
  events ev = {0};
  mffi_checked_opts o = {MFFI_CHECKED_OPTS_VERSION, 0, on_event, &ev};
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_OK);
  unsigned char *p = bl_alloc("allocate_buffer", 40);
  unsigned char *q = bl_alloc("pool_alloc", 8);
  cr_assert_eq(bl_free("pool_free", q), MFFI_OK);
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  void *m;
  cr_assert_eq(mffi_new(bl.lib, uc, 16, &m), MFFI_OK); /* Not a leak. */
  bool inproc =
      strcmp(mffi_lib_strategy(mffi_checked_inner(bl.lib))->name, "remote");
  mffi_close(bl.lib);
  bl.calls_fn = NULL; /* Closed with it. */
  bl.lib = NULL;
  cr_assert_eq(ev.nleaks, 1);
  cr_assert_eq(ev.leak_size, 40);
  cr_assert_str_eq(ev.leak_by, "allocate_buffer");
  cr_assert(strstr(ev.last, "leak: a block of 40 bytes at") &&
                strstr(ev.last, "allocated by allocate_buffer was never "
                                "released by free_buffer"),
            "%s", ev.last);
  if (inproc) { /* The leak was on purpose: free it for LeakSanitizer. */
    void (*d_free)(unsigned char *) =
        (void (*)(unsigned char *))(uintptr_t)dlsym(bl.dl, "free_buffer");
    d_free(p);
  }
}

typedef struct thr_arg {
  unsigned char *p;
  int rc;
  char msg[512];
} thr_arg;

static void *thr_fill(void *ud) {
  thr_arg *t = ud;
  t->rc = bl_fill(t->p, 4, 1);
  snprintf(t->msg, sizeof t->msg, "%s", mffi_errmsg(bl.ctx));
  return NULL;
}

BOTH(affinity) {
  unsigned char *p = bl_alloc("allocate_buffer", 4);
  thr_arg t = {p, -1, ""};
  pthread_t th;
  /* Off by default: another thread may use the block. */
  cr_assert_eq(pthread_create(&th, NULL, thr_fill, &t), 0);
  pthread_join(th, NULL);
  cr_assert_eq(t.rc, MFFI_OK, "%s", t.msg);
  mffi_checked_opts o = {MFFI_CHECKED_OPTS_VERSION, MFFI_CHECKED_AFFINITY, NULL,
                         NULL};
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_OK);
  int seen = bl_calls();
  cr_assert_eq(pthread_create(&th, NULL, thr_fill, &t), 0);
  pthread_join(th, NULL);
  cr_assert_eq(t.rc, MFFI_EVIOLATION);
  cr_assert(strstr(t.msg, "fill_buffer: argument 1 'buf': a block of 4 bytes "
                          "allocated by allocate_buffer on another thread"),
            "%s", t.msg);
  cr_assert_eq(bl_calls(), seen);
  cr_assert_eq(bl_fill(p, 4, 1), MFFI_OK); /* Its own thread. */
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
}

typedef struct shared_arg {
  int rc; /* First failure, or MFFI_OK. */
} shared_arg;

static mffi_fn *sh_alloc, *sh_fill, *sh_free; /* Bound before the threads. */

static void *thr_cycle(void *ud) {
  shared_arg *t = ud;
  for (int k = 0; k < 500 && t->rc == MFFI_OK; k++) {
    unsigned char *p = NULL;
    size_t n = 8 + k % 5;
    int v = 1;
    void *a[] = {&n}, *fa[] = {&p, &n, &v}, *ra[] = {&p};
    int rc = mffi_call(sh_alloc, &p, a);
    if (rc == MFFI_OK) rc = mffi_call(sh_fill, NULL, fa);
    /* Past the end of its own live block: refused. (Not a second release:
    ** another thread may get the same address from malloc in between.) */
    n++;
    if (rc == MFFI_OK && mffi_call(sh_fill, NULL, fa) != MFFI_EVIOLATION)
      rc = -100;
    if (rc == MFFI_OK) rc = mffi_call(sh_free, NULL, ra);
    t->rc = rc;
  }
  return NULL;
}

/* MFFI_CHECKED_SHARED: calls from several threads at once keep the table
** whole (functions are bound first, on this thread, as the context's rules
** ask). */
Test(checked, shared_threads) {
  bl_open("checked");
  mffi_checked_opts o = {MFFI_CHECKED_OPTS_VERSION, MFFI_CHECKED_SHARED, NULL,
                         NULL};
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_OK);
  sh_alloc = bl_fn("allocate_buffer");
  sh_fill = bl_fn("fill_buffer");
  sh_free = bl_fn("free_buffer");
  shared_arg t[4] = {{0}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, thr_cycle, &t[i]), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(t[i].rc, MFFI_OK, "thread %d: %d", i, t[i].rc);
  const mffi_checked_block *last = NULL;
  cr_assert_eq(mffi_checked_each(bl.lib, count_live, &last), 0);
  cr_assert_eq(mffi_checked_violations(bl.lib), 4 * 500);
}

/* -- Other paths ----------------------------------------------------------- */

static void twice(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = 2 * *(const int *)args[0];
}

BOTH(callbacks_and_reopen) {
  const mffi_type *ft;
  cr_assert_eq(mffi_typeof(bl.ctx, "int (*)(int)", &ft), MFFI_OK);
  mffi_closure *c;
  cr_assert_eq(mffi_callback(bl.lib, ft, twice, NULL, &c), MFFI_OK, "%s",
               mffi_errmsg(bl.ctx));
  mffi_fn *apply = bl_fn("buf_apply");
  void *code = mffi_closure_code(c);
  int x = 20, r = 0;
  void *args[] = {&code, &x};
  cr_assert_eq(mffi_call(apply, &r, args), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(r, 41);
  cr_assert_eq(mffi_reopen(bl.lib), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  code = mffi_closure_code(c);
  r = 0;
  cr_assert_eq(mffi_call(apply, &r, args), MFFI_OK, "%s", mffi_errmsg(bl.ctx));
  cr_assert_eq(r, 41);
  cr_assert_not_null(mffi_checked_inner(bl.lib));
}

/* The overlay is what brings the rules: the plain header has none. */
Test(checked, overlay_adds_rules) {
  mffi_ctx *ctx;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  size_t len;
  char *src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib.h", &len);
  cr_assert_eq(mffi_cdef(ctx, src, len), MFFI_OK);
  free(src);
  const mffi_decl *d = mffi_decl_find(ctx, "allocate_buffer");
  cr_assert_null(mffi_decl_attr_find(d, "malloc"));
  src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib_rules.h", &len);
  cr_assert_eq(mffi_cdef(ctx, src, len), MFFI_OK, "%s", mffi_errmsg(ctx));
  free(src);
  d = mffi_decl_find(ctx, "allocate_buffer");
  cr_assert_not_null(mffi_decl_attr_find(d, "alloc_size"));
  cr_assert_not_null(
      mffi_decl_attr_find(mffi_decl_find(ctx, "fill_buffer"), "access"));
  mffi_ctx_free(ctx);
}

/* Over a strategy with memory of its own, mffi_new, mffi_delete, mffi_read
** and mffi_write reach it. */
Test(checked, inner_memory) {
  bl_open("checked:fakeremote");
  const mffi_type *uc;
  cr_assert_eq(mffi_typeof(bl.ctx, "unsigned char", &uc), MFFI_OK);
  void *m;
  cr_assert_eq(mffi_new(bl.lib, uc, 8, &m), MFFI_OK);
  cr_assert_eq(fake_nnew, 1);
  unsigned char in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8] = {0};
  cr_assert_eq(mffi_write(bl.lib, m, in, 8), MFFI_OK);
  cr_assert_eq(mffi_read(bl.lib, out, m, 8), MFFI_OK);
  cr_assert_eq(fake_nwrite, 1);
  cr_assert_eq(fake_nread, 1);
  cr_assert_eq(memcmp(in, out, 8), 0);
  unsigned s = 0;
  cr_assert_eq(bl_sum(m, 8, &s), MFFI_OK);
  cr_assert_eq(s, 36);
  mffi_delete(bl.lib, m);
  cr_assert_eq(fake_ndelete, 0); /* In quarantine. */
  REFUSED(bl_sum(m, 8, &s), "use after release");
  /* 64 blocks are held; the 65th delete gives the oldest back. */
  for (int i = 0; i < 64; i++) {
    void *q;
    cr_assert_eq(mffi_new(bl.lib, uc, 8, &q), MFFI_OK);
    mffi_delete(bl.lib, q);
  }
  cr_assert_eq(fake_ndelete, 1);
  /* A large block is given back at once. */
  void *big;
  cr_assert_eq(mffi_new(bl.lib, uc, 2u << 20, &big), MFFI_OK);
  mffi_delete(bl.lib, big);
  cr_assert_eq(fake_ndelete, 2);
  cr_assert_null(mffi_fn_native(bl_fn("buf_add")));
  cr_assert_eq(mffi_lib_strategy(mffi_checked_inner(bl.lib)), &fake);
  mffi_close(bl.lib); /* The quarantine is emptied first. */
  bl.lib = NULL;
  cr_assert_eq(fake_ndelete, fake_nnew);
}

Test(checked, names) {
  cr_assert_str_eq(mffi_strategy_find("checked")->name, "checked");
  cr_assert_str_eq(mffi_strategy_find("checked:static")->name,
                   "checked:static");
  cr_assert_str_eq(mffi_strategy_find("checked:remote")->name,
                   "checked:remote");
  cr_assert_eq(mffi_strategy_find("checked:dynamic"),
               mffi_strategy_find("checked"));
  cr_assert_eq(mffi_checked_strategy(NULL), mffi_strategy_find("checked"));
  cr_assert_eq(mffi_checked_strategy(mffi_strategy_find("static")),
               mffi_strategy_find("checked:static"));
  cr_assert_null(mffi_strategy_find("checked:nosuch"));
  cr_assert_null(mffi_strategy_find("checkedx"));
  const mffi_strategy *s = mffi_strategy_find("checked");
  cr_assert_eq(s->flags & MFFI_STRATEGY_NATIVE, 0u);
  cr_assert_neq(s->flags & MFFI_STRATEGY_PLAN, 0u);
}

Test(checked, remote_absent) {
  if (mffi_strategy_find("remote")) cr_skip_test("remote is built");
  mffi_ctx *ctx;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  mffi_lib *lib = (mffi_lib *)1;
  cr_assert_eq(
      mffi_open(ctx, mffi_strategy_find("checked:remote"), NULL, NULL, &lib),
      MFFI_EUNSUPPORTED);
  cr_assert_null(lib);
  cr_assert(strstr(mffi_errmsg(ctx), "no strategy 'remote'"), "%s",
            mffi_errmsg(ctx));
  mffi_ctx_free(ctx);
}

/* A strategy a user wrote: the dynamic one under another name. */
static mffi_strategy user_dyn;

Test(checked, over_user_strategy) {
  user_dyn = *mffi_strategy_find("dynamic");
  user_dyn.name = "userdyn";
  cr_assert_eq(mffi_strategy_register(&user_dyn), MFFI_OK);
  const mffi_strategy *s = mffi_checked_strategy(&user_dyn);
  cr_assert_not_null(s);
  cr_assert_str_eq(s->name, "checked:userdyn");
  cr_assert_eq(mffi_strategy_find("checked:userdyn"), s);
  cr_assert_eq(mffi_checked_strategy(&user_dyn), s);
  bl_open("checked:userdyn");
  unsigned char *p = bl_alloc("allocate_buffer", 8);
  cr_assert_eq(bl_free("free_buffer", p), MFFI_OK);
  REFUSED(bl_free("free_buffer", p), "double release");
}

Test(checked, misuse) {
  bl_open("checked");
  mffi_lib *plain;
  cr_assert_eq(mffi_open(bl.ctx, NULL, bl.path, NULL, &plain), MFFI_OK);
  mffi_checked_opts o = {MFFI_CHECKED_OPTS_VERSION, 0, NULL, NULL};
  cr_assert_eq(mffi_checked_configure(plain, &o), MFFI_EMISUSE);
  cr_assert_eq(mffi_checked_configure(NULL, &o), MFFI_EMISUSE);
  o.version = 99;
  cr_assert_eq(mffi_checked_configure(bl.lib, &o), MFFI_EMISUSE);
  cr_assert_eq(mffi_checked_configure(bl.lib, NULL), MFFI_OK);
  cr_assert_eq(mffi_checked_violations(plain), 0);
  cr_assert_null(mffi_checked_inner(plain));
  cr_assert_eq(mffi_checked_each(plain, copy_live, NULL), MFFI_EMISUSE);
  cr_assert_eq(mffi_checked_each(bl.lib, NULL, NULL), MFFI_EMISUSE);
  cr_assert_null(mffi_fn_native(bl_fn("buf_add")));
  /* A rule-free function runs the dynamic strategy's own routine. */
#if defined(__x86_64__) && !defined(MFFI_GENERIC_ABI)
  cr_assert_eq(mffi_fn_path(bl_fn("buf_add")), MFFI_PATH_FAST);
#else
  cr_assert_eq(mffi_fn_path(bl_fn("buf_add")), MFFI_PATH_FFI);
#endif
  /* A plain library shares the context and is not checked. */
  mffi_fn *f;
  cr_assert_eq(mffi_bind(plain, "free_buffer", &f), MFFI_OK);
  cr_assert_eq(mffi_call(f, NULL, (void *[]){&(void *){NULL}}), MFFI_OK);
  mffi_close(plain);
}

/* -- glibc's own attributes ------------------------------------------------ */

static mffi_ctx *g_ctx;
static mffi_lib *g_lib;

static void glibc_setup(void) {
  char dir[] = "/tmp/mffi-glibc-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char src[128], out[128], cmd[512];
  snprintf(src, sizeof src, "%s/h.c", dir);
  snprintf(out, sizeof out, "%s/h.i", dir);
  FILE *f = fopen(src, "w");
  cr_assert_not_null(f);
  fputs("#include <stdio.h>\n#include <unistd.h>\n#include <stdlib.h>\n", f);
  fclose(f);
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  snprintf(cmd, sizeof cmd, "%s -E -P %s -o %s", cc, src, out);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  size_t len;
  char *text = fx_slurp(out, &len);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  (void)system(cmd);
  cr_assert_eq(mffi_ctx_new(&g_ctx, NULL), MFFI_OK);
  int rc = mffi_cdef(g_ctx, text, len);
  free(text);
  cr_assert_eq(rc, MFFI_OK, "stdio.h/unistd.h: %s", mffi_errmsg(g_ctx));
  rc = mffi_open(g_ctx, mffi_strategy_find("checked"), NULL, NULL, &g_lib);
  cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(g_ctx));
}

static void glibc_teardown(void) {
  mffi_ctx_free(g_ctx);
  g_ctx = NULL;
  g_lib = NULL;
}

TestSuite(checked_glibc, .init = glibc_setup, .fini = glibc_teardown,
          .timeout = 60);

static mffi_fn *g_fn(const char *name) {
  mffi_fn *fn = NULL;
  int rc = mffi_bind(g_lib, name, &fn);
  cr_assert_eq(rc, MFFI_OK, "bind %s: %s", name, mffi_errmsg(g_ctx));
  return fn;
}

Test(checked_glibc, second_fclose) {
  const mffi_plan *p = mffi_fn_plan(g_fn("fopen"));
  cr_assert_str_eq(p->dealloc, "fclose"); /* glibc's malloc(fclose, 1). */
  const char *path = "/dev/null", *mode = "r";
  FILE *f = NULL;
  void *a[] = {&path, &mode};
  cr_assert_eq(mffi_call(g_fn("fopen"), &f, a), MFFI_OK, "%s",
               mffi_errmsg(g_ctx));
  cr_assert_not_null(f);
  mffi_fn *fc = g_fn("fclose");
  int r = -1;
  void *b[] = {&f};
  cr_assert_eq(mffi_call(fc, &r, b), MFFI_OK, "%s", mffi_errmsg(g_ctx));
  cr_assert_eq(r, 0);
  cr_assert_eq(mffi_call(fc, &r, b), MFFI_EVIOLATION);
  cr_assert(strstr(mffi_errmsg(g_ctx),
                   "fclose: argument 1 '__stream': double release of a block "
                   "of unknown size allocated by fopen and released by fclose"),
            "%s", mffi_errmsg(g_ctx));
  /* A FILE * used after fclose. */
  int fd = 0;
  cr_assert_eq(mffi_call(g_fn("fileno"), &fd, b), MFFI_EVIOLATION);
  cr_assert(strstr(mffi_errmsg(g_ctx), "fileno: argument 1 '__stream': use "
                                       "after release"),
            "%s", mffi_errmsg(g_ctx));
}

Test(checked_glibc, read_past_block) {
  /* malloc is alloc_size(1): its blocks have a size. */
  size_t n = 16;
  void *buf = NULL;
  void *a[] = {&n};
  cr_assert_eq(mffi_call(g_fn("malloc"), &buf, a), MFFI_OK);
  cr_assert_not_null(buf);
  const char *path = "/dev/zero", *mode = "r";
  FILE *f = NULL;
  void *fa[] = {&path, &mode};
  cr_assert_eq(mffi_call(g_fn("fopen"), &f, fa), MFFI_OK);
  int fd = -1;
  void *fb[] = {&f};
  cr_assert_eq(mffi_call(g_fn("fileno"), &fd, fb), MFFI_OK);
  mffi_fn *rd = g_fn("read");
  long got = -1;
  size_t count = 16;
  memset(buf, 1, 16);
  void *ra[] = {&fd, &buf, &count};
  cr_assert_eq(mffi_call(rd, &got, ra), MFFI_OK, "%s", mffi_errmsg(g_ctx));
  cr_assert_eq(got, 16);
  cr_assert_eq(((unsigned char *)buf)[15], 0); /* /dev/zero was read. */
  count = 64;
  cr_assert_eq(mffi_call(rd, &got, ra), MFFI_EVIOLATION);
  cr_assert(strstr(mffi_errmsg(g_ctx),
                   "read: argument 2 '__buf': 64 bytes exceed a block of 16 "
                   "bytes (offset 0) allocated by malloc"),
            "%s", mffi_errmsg(g_ctx));
  /* mffi_new memory too. */
  const mffi_type *ch;
  cr_assert_eq(mffi_typeof(g_ctx, "char", &ch), MFFI_OK);
  void *m;
  cr_assert_eq(mffi_new(g_lib, ch, 8, &m), MFFI_OK);
  void *rm[] = {&fd, &m, &count};
  cr_assert_eq(mffi_call(rd, &got, rm), MFFI_EVIOLATION);
  cr_assert(strstr(mffi_errmsg(g_ctx), "64 bytes exceed a block of 8 bytes "
                                       "(offset 0) allocated by mffi_new"),
            "%s", mffi_errmsg(g_ctx));
  int r;
  cr_assert_eq(mffi_call(g_fn("fclose"), &r, fb), MFFI_OK);
  free(buf); /* malloc has no declared deallocator: not tracked by free. */
}

Test(checked_glibc, variadic) {
  const mffi_type *it;
  cr_assert_eq(mffi_typeof(g_ctx, "int", &it), MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_variadic(g_lib, "snprintf", &it, 1, &fn), MFFI_OK,
               "%s", mffi_errmsg(g_ctx));
  char out[16];
  char *o = out;
  size_t n = sizeof out;
  const char *fmt = "<%d>";
  int v = 42, r = 0;
  void *a[] = {&o, &n, &fmt, &v};
  cr_assert_eq(mffi_call(fn, &r, a), MFFI_OK, "%s", mffi_errmsg(g_ctx));
  cr_assert_eq(r, 4);
  cr_assert_str_eq(out, "<42>");
}

Test(checked_glibc, variadic_use_after_release) {
  const mffi_type *ch, *cp;
  cr_assert_eq(mffi_typeof(g_ctx, "char", &ch), MFFI_OK);
  cr_assert_eq(mffi_typeof(g_ctx, "char *", &cp), MFFI_OK);
  char *s;
  cr_assert_eq(mffi_new(g_lib, ch, 8, (void **)&s), MFFI_OK);
  memcpy(s, "hello", 6);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_variadic(g_lib, "snprintf", &cp, 1, &fn), MFFI_OK);
  char out[16];
  char *o = out;
  size_t n = sizeof out;
  const char *fmt = "[%s]";
  int r = 0;
  void *a[] = {&o, &n, &fmt, &s};
  cr_assert_eq(mffi_call(fn, &r, a), MFFI_OK, "%s", mffi_errmsg(g_ctx));
  cr_assert_str_eq(out, "[hello]");
  mffi_delete(g_lib, s);
  cr_assert_eq(mffi_call(fn, &r, a), MFFI_EVIOLATION);
  cr_assert(strstr(mffi_errmsg(g_ctx), "snprintf: argument 4: use after "
                                       "release of a block of 8 bytes "
                                       "allocated by mffi_new"),
            "%s", mffi_errmsg(g_ctx));
}

/* -- Out of memory --------------------------------------------------------- */

/* Open, bind, allocate and track through a checked library with allocation
** n failing; everything either works or fails cleanly. */
static int oom_run(oom_state *st, long n, const char *path) {
  mffi_ctx_opts co = {MFFI_CTX_OPTS_VERSION, oom_alloc, st};
  mffi_ctx *ctx = NULL;
  oom_disarm(st);
  if (mffi_ctx_new(&ctx, &co) != MFFI_OK) return -1;
  size_t len;
  char *src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib.h", &len);
  int rc = mffi_cdef(ctx, src, len);
  free(src);
  cr_assert_eq(rc, MFFI_OK);
  src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/buflib_rules.h", &len);
  rc = mffi_cdef(ctx, src, len);
  free(src);
  cr_assert_eq(rc, MFFI_OK);
  oom_arm(st, n, 0);
  mffi_lib *lib = NULL;
  mffi_fn *al = NULL, *fr = NULL, *vs = NULL;
  void *m = NULL;
  rc = mffi_open(ctx, mffi_strategy_find("checked"), path, NULL, &lib);
  if (rc == MFFI_OK) rc = mffi_bind(lib, "allocate_buffer", &al);
  if (rc == MFFI_OK) rc = mffi_bind(lib, "free_buffer", &fr);
  if (rc == MFFI_OK) rc = mffi_bind(lib, "view_sum", &vs);
  if (rc == MFFI_OK) {
    const mffi_type *t;
    rc = mffi_typeof(ctx, "struct buf_view", &t);
    if (rc == MFFI_OK) rc = mffi_new(lib, t, 1, &m);
  }
  unsigned char *p = NULL;
  if (rc == MFFI_OK) {
    size_t sz = 8;
    void *a[] = {&sz};
    rc = mffi_call(al, &p, a);
  }
  if (rc == MFFI_OK) {
    void *a[] = {&p};
    rc = mffi_call(fr, NULL, a);
    if (rc == MFFI_OK)
      rc = mffi_call(fr, NULL, a) == MFFI_EVIOLATION ? MFFI_OK : -100;
  }
  cr_assert_neq(rc, -100, "double release not refused at n=%ld", n);
  if (rc != MFFI_OK) cr_assert_eq(rc, MFFI_ENOMEM, "n=%ld: %d", n, rc);
  oom_disarm(st);
  mffi_ctx_free(ctx);
  cr_assert_eq(st->nlive, 0, "n=%ld: %ld blocks leaked", n, st->nlive);
  cr_assert_eq(st->bad_ptr + st->bad_osize, 0);
  return rc;
}

Test(checked, oom) {
  bl_build();
  oom_state st = {0};
  long n = 1;
  for (; n < 1000; n++)
    if (oom_run(&st, n, bl.path) == MFFI_OK) break;
  cr_assert_lt(n, 1000);
  cr_assert_gt(n, 1); /* Something was failed along the way. */
}

/* More blocks than the lookup cache has slots, in and out of the table:
** every answer must still be right. */
BOTH(many_blocks) {
  enum { N = 600 };
  static unsigned char *p[N];
  for (int i = 0; i < N; i++)
    p[i] = bl_alloc(i % 2 ? "allocate_buffer" : "pool_alloc", 8 + i % 13);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < N; i++) {
      size_t sz = 8 + i % 13;
      cr_assert_eq(bl_fill(p[i], sz, 1), MFFI_OK, "%d: %s", i,
                   mffi_errmsg(bl.ctx));
      REFUSED(bl_fill(p[i] + 1, sz, 1), "exceed");
    }
  for (int i = 0; i < N; i += 2)
    cr_assert_eq(bl_free("pool_free", p[i]), MFFI_OK);
  for (int i = 0; i < N; i++) {
    if (i % 2) {
      cr_assert_eq(bl_fill(p[i], 1, 1), MFFI_OK);
      REFUSED(bl_free("pool_free", p[i]), "must be released by free_buffer");
    } else {
      REFUSED(bl_fill(p[i], 1, 1), "use after release");
      REFUSED(bl_free("pool_free", p[i]), "double release");
    }
  }
  for (int i = 1; i < N; i += 2)
    cr_assert_eq(bl_free("free_buffer", p[i]), MFFI_OK);
  const mffi_checked_block *last = NULL;
  cr_assert_eq(mffi_checked_each(bl.lib, count_live, &last), 0);
}

/* Released blocks are remembered up to a bound; the newest are kept. */
Test(checked, forget_oldest_released) {
  bl_open("checked");
  enum { N = 5000 };
  static unsigned char *p[N];
  for (int i = 0; i < N; i++)
    p[i] = bl_alloc("allocate_buffer", 16);
  for (int i = 0; i < N; i++)
    cr_assert_eq(bl_free("free_buffer", p[i]), MFFI_OK);
  REFUSED(bl_free("free_buffer", p[N - 1]), "double release");
  REFUSED(bl_fill(p[N - 100], 1, 0), "use after release");
  /* The oldest are forgotten: calls on them are let through unjudged. */
  long forgotten = 0;
  for (int i = 0; i < 100; i++) {
    unsigned s;
    int rc = bl_sum(p[i], 0, &s);
    if (rc == MFFI_OK) forgotten++;
  }
  cr_assert_gt(forgotten, 0);
  const mffi_checked_block *last = NULL;
  cr_assert_eq(mffi_checked_each(bl.lib, count_live, &last), 0);
}
