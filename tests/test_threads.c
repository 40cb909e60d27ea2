/* Threads: concurrent calls, callbacks from foreign threads, mffi_errno and
** the error state per thread. See LICENSE.
**
** Each check is a function that returns NULL or what went wrong, run by a
** Criterion test in the normal build. ThreadSanitizer cannot run Criterion
** (its fixed-address arena collides with TSan's shadow memory, Snaipe/
** Criterion#274), so `make check TSAN=1` compiles this file again with
** TH_MAIN defined, as the program test_threads_tsan that runs the same
** checks from main(). Workers never assert: each records what it saw, and
** the check looks at it after the join.
*/
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"

#define TH_N 8       /* Threads per check. */
#define TH_ITER 2000 /* Calls per thread. */

/* -- Environment: the fixture library, opened twice ------------------------ */

typedef struct th_env {
  char dir[64];
  char path[160];
  mffi_ctx *ctx;
  mffi_lib *lib[2]; /* Fast path allowed; MFFI_OPEN_FFI_ONLY. */
  void *dl;         /* For direct calls. */
  char decls[1 << 16]; /* dynfx.h. */
  size_t ndecls;
} th_env;

static th_env env;

/* Build tests/fixtures/dynfx.c, declare dynfx.h, open it. NULL or why not. */
static const char *th_setup(void) {
  snprintf(env.dir, sizeof env.dir, "/tmp/mffi-threads-XXXXXX");
  if (!mkdtemp(env.dir)) return "mkdtemp failed";
  snprintf(env.path, sizeof env.path, "%s/libdynfx.so", env.dir);
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "%s -shared -fPIC -O1 -w -Wno-psabi -I%s/tests/fixtures -o %s "
           "%s/tests/fixtures/dynfx.c",
           cc, MFFI_SOURCE_DIR, env.path, MFFI_SOURCE_DIR);
  if (system(cmd) != 0) return "cannot build the fixture";
  if (mffi_ctx_new(&env.ctx, NULL) != MFFI_OK) return "mffi_ctx_new";
  FILE *f = fopen(MFFI_SOURCE_DIR "/tests/fixtures/dynfx.h", "rb");
  if (!f) return "cannot read dynfx.h";
  size_t len = fread(env.decls, 1, sizeof env.decls, f);
  env.ndecls = len;
  fclose(f);
  if (mffi_cdef(env.ctx, env.decls, len) != MFFI_OK)
    return mffi_errmsg(env.ctx);
  if (mffi_open(env.ctx, NULL, env.path, NULL, &env.lib[0]) != MFFI_OK)
    return mffi_errmsg(env.ctx);
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, MFFI_OPEN_FFI_ONLY, NULL};
  if (mffi_open(env.ctx, NULL, env.path, &o, &env.lib[1]) != MFFI_OK)
    return mffi_errmsg(env.ctx);
  env.dl = dlopen(env.path, RTLD_NOW);
  return env.dl ? NULL : "dlopen failed";
}

static void th_teardown(void) {
  mffi_ctx_free(env.ctx); /* Closes both libraries. */
  if (env.dl) dlclose(env.dl);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", env.dir);
  if (env.dir[0]) (void)system(cmd);
  memset(&env, 0, sizeof env);
}

/* -- Workers --------------------------------------------------------------- */

typedef struct th_job {
  int id;
  mffi_fn *fn;
  const mffi_type *type;
  mffi_closure *cl;
  pthread_t self;
  int bad;       /* Calls that went wrong. */
  char why[160]; /* The first of them. */
} th_job;

static char th_msg[256]; /* A check's failure text. */

static void th_fail(th_job *j, const char *fmt, int a, int b) {
  if (j->bad++ == 0) snprintf(j->why, sizeof j->why, fmt, a, b);
}

/* Run body on TH_N threads; NULL if none of them saw anything wrong. */
static const char *th_run(void *(*body)(void *), th_job *jobs) {
  pthread_t t[TH_N];
  int started = 0;
  for (int i = 0; i < TH_N; i++)
    if (pthread_create(&t[i], NULL, body, &jobs[i]) == 0)
      started++;
    else
      break;
  for (int i = 0; i < started; i++)
    pthread_join(t[i], NULL);
  if (started < TH_N) return "pthread_create failed";
  for (int i = 0; i < TH_N; i++)
    if (jobs[i].bad) {
      snprintf(th_msg, sizeof th_msg, "thread %d: %d bad, first: %s", i,
               jobs[i].bad, jobs[i].why);
      return th_msg;
    }
  return NULL;
}

static mffi_fn *th_bind(mffi_lib *lib, const char *name) {
  mffi_fn *fn = NULL;
  return mffi_bind(lib, name, &fn) == MFFI_OK ? fn : NULL;
}

/* -- One mffi_fn, many callers --------------------------------------------- */

static int (*th_direct)(int); /* fx_int, for the oracle. */

static void *th_call_body(void *arg) {
  th_job *j = arg;
  for (int k = 0; k < TH_ITER; k++) {
    int x = j->id * 100000 + k, r = 0;
    void *args[] = {&x};
    int rc = mffi_call(j->fn, &r, args);
    if (rc != MFFI_OK) th_fail(j, "rc %d at %d", rc, k);
    int want = th_direct(x); /* The direct call. */
    if (r != want) th_fail(j, "got %d, want %d", r, want);
  }
  return NULL;
}

/* Many threads call the same fn at once (fast path and libffi), and every
** result matches the direct call. */
static const char *th_one_fn_many_callers(void) {
  th_direct = (int (*)(int))dlsym(env.dl, "fx_int");
  if (!th_direct) return "dlsym fx_int";
  for (int l = 0; l < 2; l++) {
    mffi_fn *fn = th_bind(env.lib[l], "fx_int");
    if (!fn) return mffi_errmsg(env.ctx);
    th_job jobs[TH_N];
    for (int i = 0; i < TH_N; i++)
      jobs[i] = (th_job){.id = i, .fn = fn};
    const char *bad = th_run(th_call_body, jobs);
    mffi_fn_free(fn);
    if (bad) return bad;
  }
  return NULL;
}

/* -- Callbacks from foreign threads ---------------------------------------- */

static atomic_int th_cb_calls;

static void th_add(void *ret, void *const *args, void *data) {
  const th_job *j = data;
  atomic_fetch_add(&th_cb_calls, 1);
  /* The library's own thread, never the one that called mffi_call. */
  int foreign = !pthread_equal(pthread_self(), j->self);
  *(int *)ret = foreign ? *(const int *)args[0] + *(const int *)args[1] : -7;
}

static void *th_cb_body(void *arg) {
  th_job *j = arg;
  /* Written before the first call: the handler reads it on a thread the
  ** library starts after that. */
  j->self = pthread_self();
  for (int k = 0; k < TH_ITER / 20; k++) {
    void *code = mffi_closure_code(j->cl);
    int a = j->id, b = k, r = 0;
    void *args[] = {&code, &a, &b};
    int rc = mffi_call(j->fn, &r, args);
    if (rc != MFFI_OK) th_fail(j, "rc %d at %d", rc, k);
    if (r != a + b) th_fail(j, "got %d, want %d", r, a + b);
  }
  return NULL;
}

/* A callback called from a thread the library starts (fx_cb_thread), while
** several of our threads do the same through one fn, a closure each. */
static const char *th_callbacks_from_foreign_threads(void) {
  const mffi_type *ft;
  if (mffi_typeof(env.ctx, "int (*)(int, int)", &ft) != MFFI_OK)
    return mffi_errmsg(env.ctx);
  for (int l = 0; l < 2; l++) {
    mffi_fn *fn = th_bind(env.lib[l], "fx_cb_thread");
    if (!fn) return mffi_errmsg(env.ctx);
    th_job jobs[TH_N];
    pthread_t t[TH_N];
    atomic_store(&th_cb_calls, 0);
    for (int i = 0; i < TH_N; i++) {
      jobs[i] = (th_job){.id = i, .fn = fn};
      if (mffi_callback(env.lib[l], ft, th_add, &jobs[i], &jobs[i].cl) !=
          MFFI_OK)
        return mffi_errmsg(env.ctx);
    }
    for (int i = 0; i < TH_N; i++)
      if (pthread_create(&t[i], NULL, th_cb_body, &jobs[i]) != 0)
        return "pthread_create failed";
    for (int i = 0; i < TH_N; i++)
      pthread_join(t[i], NULL);
    const char *bad = NULL;
    for (int i = 0; i < TH_N && !bad; i++)
      if (jobs[i].bad) {
        snprintf(th_msg, sizeof th_msg, "thread %d: %s", i, jobs[i].why);
        bad = th_msg;
      }
    for (int i = 0; i < TH_N; i++)
      mffi_closure_free(jobs[i].cl);
    mffi_fn_free(fn);
    if (bad) return bad;
    if (atomic_load(&th_cb_calls) != TH_N * (TH_ITER / 20))
      return "the handler did not run once per call";
  }
  return NULL;
}

/* Closures made, called and freed on many threads at once, each on a
** context of its own: the trampoline slots they take are the process's. */
static void th_mul(void *ret, void *const *args, void *data) {
  *(int *)ret = *(const int *)args[0] * *(const int *)data;
}

static void *th_make_body(void *arg) {
  th_job *j = arg;
  mffi_ctx *ctx = NULL;
  mffi_lib *lib = NULL;
  const mffi_type *ft = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_open(ctx, NULL, NULL, NULL, &lib) != MFFI_OK ||
      mffi_typeof(ctx, "int (*)(int)", &ft) != MFFI_OK) {
    th_fail(j, "setup failed (%d, %d)", 0, 0);
    mffi_ctx_free(ctx);
    return NULL;
  }
  int k = j->id + 2;
  for (int i = 0; i < TH_ITER / 10; i++) {
    mffi_closure *c[4] = {NULL, NULL, NULL, NULL};
    for (int n = 0; n < 4; n++)
      if (mffi_callback(lib, ft, th_mul, &k, &c[n]) != MFFI_OK)
        th_fail(j, "mffi_callback failed at %d.%d", i, n);
    for (int n = 0; n < 4; n++) {
      if (!c[n]) continue;
      int r = ((int (*)(int))mffi_closure_code(c[n]))(i + n);
      if (r != (i + n) * k) th_fail(j, "got %d, want %d", r, (i + n) * k);
    }
    for (int n = 0; n < 4; n++)
      mffi_closure_free(c[n]);
  }
  mffi_ctx_free(ctx);
  return NULL;
}

static const char *th_closures_made_on_many_threads(void) {
  th_job jobs[TH_N];
  for (int i = 0; i < TH_N; i++)
    jobs[i] = (th_job){.id = i};
  return th_run(th_make_body, jobs);
}

/* -- errno ----------------------------------------------------------------- */

static void *th_errno_body(void *arg) {
  th_job *j = arg;
  for (int k = 0; k < TH_ITER; k++) {
    int e = 1 + (j->id * 7 + k) % 120, r = 0;
    void *args[] = {&e};
    if (mffi_call(j->fn, &r, args) != MFFI_OK) th_fail(j, "call at %d", k, 0);
    errno = 0; /* mffi_errno is the saved value, not errno itself. */
    if (mffi_errno() != e)
      th_fail(j, "mffi_errno %d, want %d", mffi_errno(), e);
  }
  mffi_set_errno(1000 + j->id);
  if (mffi_errno() != 1000 + j->id)
    th_fail(j, "set_errno gave %d (thread %d)", mffi_errno(), j->id);
  return NULL;
}

/* Each thread sees the errno of its own last call, whatever others do. */
static const char *th_errno_per_thread(void) {
  for (int l = 0; l < 2; l++) {
    mffi_fn *fn = th_bind(env.lib[l], "fx_fail");
    if (!fn) return mffi_errmsg(env.ctx);
    th_job jobs[TH_N];
    for (int i = 0; i < TH_N; i++)
      jobs[i] = (th_job){.id = i, .fn = fn};
    mffi_set_errno(77);
    const char *bad = th_run(th_errno_body, jobs);
    mffi_fn_free(fn);
    if (bad) return bad;
    if (mffi_errno() != 77) return "the main thread's errno changed";
  }
  return NULL;
}

/* -- Failures -------------------------------------------------------------- */

static void *th_fail_body(void *arg) {
  th_job *j = arg;
  char path[32], want[64];
  snprintf(path, sizeof path, "member_of_thread_%d", j->id);
  snprintf(want, sizeof want, "'member_of_thread_%d'", j->id);
  int v, obj[8] = {0};
  for (int k = 0; k < TH_ITER; k++) {
    /* A failure with this thread's own text... */
    int rc = mffi_field_get(j->type, obj, path, &v);
    if (rc != MFFI_ENOTFOUND) th_fail(j, "field_get rc %d at %d", rc, k);
    if (!strstr(mffi_errmsg(env.ctx), want))
      th_fail(j, "thread %d saw another detail at %d", j->id, k);
    if (mffi_errcode(env.ctx) != MFFI_ENOTFOUND)
      th_fail(j, "errcode %d at %d", mffi_errcode(env.ctx), k);
    /* ...and a failing call. */
    rc = mffi_call(j->fn, &v, NULL);
    if (rc != MFFI_EMISUSE || mffi_errcode(env.ctx) != MFFI_EMISUSE)
      th_fail(j, "mffi_call rc %d at %d", rc, k);
    if (!strstr(mffi_errmsg(env.ctx), "args"))
      th_fail(j, "call detail lost at %d (thread %d)", k, j->id);
  }
  return NULL;
}

/* Threads failing calls on one context at once: each reads back exactly its
** own failure (and ThreadSanitizer sees no race on the error state). */
static const char *th_concurrent_failures(void) {
  mffi_fn *fn = th_bind(env.lib[0], "fx_int");
  const mffi_type *t;
  if (!fn || mffi_typeof(env.ctx, "struct fx_pt", &t) != MFFI_OK)
    return mffi_errmsg(env.ctx);
  th_job jobs[TH_N];
  for (int i = 0; i < TH_N; i++)
    jobs[i] = (th_job){.id = i, .fn = fn, .type = t};
  const char *bad = th_run(th_fail_body, jobs);
  mffi_fn_free(fn);
  if (bad) return bad;
  /* The main thread made no failing call: its state is clean. */
  if (mffi_errcode(env.ctx) != MFFI_OK || mffi_errmsg(env.ctx)[0])
    return "the main thread sees a worker's failure";
  return NULL;
}

/* -- Binding on many threads at once --------------------------------------- */

#include "call/call.h" /* The code memory of generated routines. */

static long (*th_int10)(int, long, short, char, long, int, long, unsigned,
                        long, int);

/* Each thread binds on a context and library of its own (a context is
** not thread-safe): what they share is the code memory. */
static void *th_bind_body(void *arg) {
  th_job *j = arg;
  static const char *const names[] = {"fx_int10", "fx_f3_rev", "fx_c3_inc",
                                      "fx_mixed20", "fx_big_inc"};
  mffi_ctx *ctx = NULL;
  mffi_lib *lib = NULL;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_cdef(ctx, env.decls, env.ndecls) != MFFI_OK ||
      mffi_open(ctx, NULL, env.path, NULL, &lib) != MFFI_OK) {
    th_fail(j, "thread %d: cannot open (%d)", j->id, 0);
    mffi_ctx_free(ctx);
    return NULL;
  }
  for (int k = 0; k < TH_ITER / 20; k++) {
    mffi_fn *fns[5];
    for (int i = 0; i < 5; i++)
      if (!(fns[i] = th_bind(lib, names[i]))) {
        th_fail(j, "bind failed at %d (%d)", k, i);
        for (int m = 0; m < i; m++)
          mffi_fn_free(fns[m]);
        mffi_ctx_free(ctx);
        return NULL;
      }
    int a = j->id, f = k, jj = -k;
    long b = 1L << 33, e = -j->id, g = k * 3L, i9 = 7;
    short c = (short)-k;
    char d = 5;
    unsigned h = 0xffffu;
    void *args[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i9, &jj};
    long r = 0;
    if (mffi_call(fns[0], &r, args) != MFFI_OK ||
        r != th_int10(a, b, c, d, e, f, g, h, i9, jj))
      th_fail(j, "fx_int10 wrong at %d (thread %d)", k, j->id);
    for (int i = 0; i < 5; i++)
      mffi_fn_free(fns[i]);
  }
  mffi_ctx_free(ctx); /* Closes lib. */
  return NULL;
}

/* Threads bind and free at once (the generated routines share one code
** allocator): every call is right, no routine is left, and the code memory
** stays within the few routines alive at a time. */
static const char *th_bind_many(void) {
  th_int10 = (long (*)(int, long, short, char, long, int, long, unsigned, long,
                       int))dlsym(env.dl, "fx_int10");
  if (!th_int10) return "dlsym fx_int10";
  size_t mapped0, live0, mapped, live;
  mffi__jit_stats(&mapped0, &live0);
  th_job jobs[TH_N];
  for (int i = 0; i < TH_N; i++)
    jobs[i] = (th_job){.id = i};
  const char *bad = th_run(th_bind_body, jobs);
  if (bad) return bad;
  mffi__jit_stats(&mapped, &live);
  if (live != live0) return "generated routines left after unbinding";
  /* TH_N * 5 routines of at most 1 KiB alive at once: two 64 KiB chunks. */
  if (mapped > mapped0 + 2 * 65536) return "code memory grew";
  return NULL;
}

/* -- Drivers --------------------------------------------------------------- */

typedef struct th_check {
  const char *name;
  const char *(*fn)(void);
} th_check;

static const th_check th_checks[] = {
    {"one_fn_many_callers", th_one_fn_many_callers},
    {"callbacks_from_foreign_threads", th_callbacks_from_foreign_threads},
    {"errno_per_thread", th_errno_per_thread},
    {"concurrent_failures", th_concurrent_failures},
    {"bind_many", th_bind_many},
    {"closures_made_on_many_threads", th_closures_made_on_many_threads},
};
#define TH_NCHECKS (sizeof th_checks / sizeof *th_checks)

#ifdef TH_MAIN
int main(void) {
  int failed = 0;
  for (size_t i = 0; i < TH_NCHECKS; i++) {
    const char *bad = th_setup();
    if (!bad) bad = th_checks[i].fn();
    th_teardown();
    printf("%s: %s\n", th_checks[i].name, bad ? bad : "ok");
    failed += bad != NULL;
  }
  printf("%zu checks, %d failed\n", TH_NCHECKS, failed);
  return failed ? 1 : 0;
}
#else
#include <criterion/criterion.h>

static void th_init(void) {
  const char *bad = th_setup();
  cr_assert(bad == NULL, "setup: %s", bad);
}

TestSuite(threads, .init = th_init, .fini = th_teardown, .timeout = 120);

/* One Criterion test per check, by its index in th_checks. */
#define TH_TEST(i, tname)                                                      \
  Test(threads, tname) {                                                       \
    const char *bad = th_checks[i].fn();                                       \
    cr_expect(bad == NULL, "%s: %s", th_checks[i].name, bad);                  \
  }
TH_TEST(0, one_fn_many_callers)
TH_TEST(1, callbacks_from_foreign_threads)
TH_TEST(2, errno_per_thread)
TH_TEST(3, concurrent_failures)
TH_TEST(4, bind_many)
TH_TEST(5, closures_made_on_many_threads)
#endif
