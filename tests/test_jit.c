/* Generated call routines (x86_64_jit.c): which plans get one, their code
** memory over bind/unbind cycles and fork(), the unusual calls. See LICENSE.
**
** The results of generated routines against direct calls are checked on
** random signatures by test_callgen; here each check is against the
** fixture's direct call too, on the signatures named.
*/
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call/call.h"
#include "fixtures/dynfx.h"
#include "fixtures/fxutil.h"
#include "modffi_strategy.h"

#if defined(__x86_64__) && !defined(_WIN32) && !defined(MFFI_GENERIC_ABI)
#define JT_HAVE 1 /* The generator exists in this build. */
#else
#define JT_HAVE 0
#endif

TestSuite(jit, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

/* Signatures that are no shape (x86_64_fast.c has its own routine for
** those, for when nothing is generated) and that the generator knows: small integers, struct tails of 3
** bytes, floats, stack arguments, memory-class values, packed structs. */
static const char *const jt_names[] = {
    "fx_sext",    "fx_f3_rev",   "fx_c3_inc",   "fx_int10",    "fx_mixed20",
    "fx_big_inc", "fx_pd_scale", "fx_pk_inc",   "fx_dl_inc",   "fx_uf_inc",
    "fx_sumv",    "fx_float",    "fx_char",     "fx_dbl12",    "fx_stack_aggs",
    "fx_mix_inc", "fx_nest_inc", "fx_i128_neg", "fx_huge_fill"};
#define JT_N (sizeof jt_names / sizeof *jt_names)

/* Signatures with x87 results (long double, struct { long double },
** complex long double), 16-byte SSE pieces (vectors, _Float128, a struct
** of one) and 2-byte ones (_Float16). */
static const char *const jt_xnames[] = {
    "fx_ldouble", "fx_ld_half", "fx_lc",    "fx_lc2",  "fx_v_f16",
    "fx_v_d16",   "fx_v_q16",   "fx_v_h16", "fx_v_sv", "fx_v9",
    "fx_vmixed",  "fx_q",       "fx_h",     "fx_hc"};
#define JT_NX (sizeof jt_xnames / sizeof *jt_xnames)

/* Whether this process can run generated code (MFFI_JIT=0 may say no). */
static bool jt_on(void) {
  const char *e = getenv("MFFI_JIT");
  return JT_HAVE && !(e && e[0] == '0');
}

/* The fixture's own function, for a direct call. */
#define FX(name) ((__typeof__(&name))fx_sym(#name))

static bool jt_generated(mffi_fn *fn) {
  return mffi__jit_owns(mffi_fn_get_call(fn));
}

Test(jit, which_plans) {
  if (!jt_on()) cr_skip_test("no generator in this build or environment");
  for (size_t i = 0; i < JT_N; i++) {
    mffi_fn *fn = fx_bind(fx.fast, jt_names[i]);
    cr_expect(jt_generated(fn), "%s: no generated routine", jt_names[i]);
    cr_expect_eq(mffi_fn_path(fn), MFFI_PATH_FAST);
    mffi_fn_free(fn);
  }
  /* x87 results, 16-byte and 2-byte SSE pieces. */
  for (size_t i = 0; i < JT_NX; i++) {
    mffi_fn *fn = fx_bind(fx.fast, jt_xnames[i]);
    cr_expect(jt_generated(fn), "%s: no generated routine", jt_xnames[i]);
    mffi_fn_free(fn);
  }
  /* The shapes' signatures too (generated routines call the callee with a
  ** direct call); while the generator is off, the shapes run them. */
  static const char *const shapes[] = {"fx_int", "fx_double", "fx_pt_swap",
                                       "fx_v_f8"};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    mffi_fn *fn = fx_bind(fx.fast, shapes[i]);
    cr_expect(jt_generated(fn), "%s: no generated routine", shapes[i]);
    mffi_fn_free(fn);
  }
  /* Off for later binds, and on again. */
  cr_expect(mffi__jit_enable(false), "was off before");
  mffi_fn *fn = fx_bind(fx.fast, "fx_int10");
  cr_expect(!jt_generated(fn), "generated while off");
  mffi_fn_free(fn);
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    fn = fx_bind(fx.fast, shapes[i]);
    cr_expect(!jt_generated(fn), "%s: generated while off", shapes[i]);
    cr_expect_eq(mffi_fn_path(fn), MFFI_PATH_FAST, "%s", shapes[i]);
    mffi_fn_free(fn);
  }
  cr_expect(!mffi__jit_enable(true), "was on");
  fn = fx_bind(fx.fast, "fx_int10");
  cr_expect(jt_generated(fn), "not generated when on again");
  mffi_fn_free(fn);
}

/* A few results against direct calls: tails, floats, stack, memory. */
Test(jit, results) {
  struct fx_c3 c3 = {{'a', (char)0xff, 'y'}}, c3r, c3d;
  void *a1[] = {&c3};
  mffi_fn *fn = fx_bind(fx.fast, "fx_c3_inc");
  memset(&c3r, 0x77, sizeof c3r);
  cr_assert_eq(mffi_call(fn, &c3r, a1), MFFI_OK);
  c3d = ((struct fx_c3(*)(struct fx_c3))fx_sym("fx_c3_inc"))(c3);
  cr_expect(memcmp(&c3r, &c3d, sizeof c3d) == 0, "fx_c3_inc");
  mffi_fn_free(fn);

  struct fx_f3 f3 = {1.5f, -2.25f, 1e30f}, f3r, f3d;
  void *a2[] = {&f3};
  fn = fx_bind(fx.fast, "fx_f3_rev");
  cr_assert_eq(mffi_call(fn, &f3r, a2), MFFI_OK);
  f3d = ((struct fx_f3(*)(struct fx_f3))fx_sym("fx_f3_rev"))(f3);
  cr_expect(memcmp(&f3r, &f3d, sizeof f3d) == 0, "fx_f3_rev");
  mffi_fn_free(fn);

  int a = -7, f = 1 << 30, j = -1;
  long b = 1L << 40, e = -3, g = 5, i9 = 1L << 50;
  short c = -300;
  char d = -2;
  unsigned h = 0xfffffff0u;
  void *a3[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i9, &j};
  long r = 0;
  fn = fx_bind(fx.fast, "fx_int10");
  cr_assert_eq(mffi_call(fn, &r, a3), MFFI_OK);
  cr_expect_eq(r, FX(fx_int10)(a, b, c, d, e, f, g, h, i9, j));
  mffi_fn_free(fn);

  struct fx_big big = {{1, -2, 3, -4, 1L << 60}}, bigr, bigd;
  void *a4[] = {&big};
  fn = fx_bind(fx.fast, "fx_big_inc");
  cr_assert_eq(mffi_call(fn, &bigr, a4), MFFI_OK);
  bigd = ((struct fx_big(*)(struct fx_big))fx_sym("fx_big_inc"))(big);
  cr_expect(memcmp(&bigr, &bigd, sizeof bigd) == 0, "fx_big_inc");
  mffi_fn_free(fn);
}

/* The calls a generated routine hands to mffi__fast_call. */
Test(jit, unusual_calls) {
  mffi_fn *fn = fx_bind(fx.fast, "fx_int10");
  cr_expect_eq(mffi_call(fn, NULL, NULL), MFFI_EMISUSE);
  mffi_fn_free(fn);
  /* A memory-class return discarded: the callee still gets a buffer. */
  int *last = fx_sym("fx_huge_last");
  fn = fx_bind(fx.fast, "fx_huge_fill");
  int ch = 0x3c;
  void *a1[] = {&ch};
  *last = 0;
  cr_assert_eq(mffi_call(fn, NULL, a1), MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  cr_expect_eq(*last, 0x3c);
  mffi_fn_free(fn);
  /* A register return discarded. */
  struct fx_f3 f3 = {1, 2, 3};
  void *a2[] = {&f3};
  fn = fx_bind(fx.fast, "fx_f3_rev");
  cr_expect_eq(mffi_call(fn, NULL, a2), MFFI_OK);
  mffi_fn_free(fn);
}

/* errno on a thread that never called before (its errno address not yet
** cached: the routine's slow way), then again (its %fs way). */
static void *jt_errno_body(void *arg) {
  mffi_fn *fn = arg;
  static _Thread_local int seen[2];
  for (int k = 0; k < 2; k++) {
    int e = 40 + k, r = 0;
    float unused = 0; /* The float of int (*)(int, float). */
    void *args[] = {&e, &unused};
    errno = 0;
    if (mffi_call(fn, &r, args) != MFFI_OK || r != -1) return (void *)1;
    seen[k] = mffi_errno();
  }
  return seen[0] == 40 && seen[1] == 41 ? NULL : (void *)2;
}

Test(jit, errno_saved) {
  /* fx_fail(int) is a shape: a float argument makes no shape. */
  mffi_fn *fn = NULL;
  const mffi_type *t = fx_type("int (*)(int, float)");
  cr_assert_eq(mffi_bind_ptr(fx.fast, t, fx_sym("fx_fail"), &fn), MFFI_OK);
  if (jt_on()) cr_expect(jt_generated(fn));
  for (int i = 0; i < 3; i++) {
    pthread_t th;
    void *res = (void *)9;
    cr_assert_eq(pthread_create(&th, NULL, jt_errno_body, fn), 0);
    pthread_join(th, &res);
    cr_expect_null(res, "thread %d: errno not saved (%p)", i, res);
  }
  mffi_fn_free(fn);
}

/* Bind every signature, call one, free them. */
static void jt_cycle(void) {
  mffi_fn *fns[JT_N];
  for (size_t i = 0; i < JT_N; i++)
    fns[i] = fx_bind(fx.fast, jt_names[i]);
  struct fx_c3 c3 = {{1, 2, 3}}, r;
  void *args[] = {&c3};
  cr_assert_eq(mffi_call(fns[2], &r, args), MFFI_OK);
  cr_assert(r.c[0] == 2 && r.c[1] == 3 && r.c[2] == 4);
  for (size_t i = 0; i < JT_N; i++)
    mffi_fn_free(fns[i]);
}

Test(jit, cycles_reuse_code_memory) {
  if (!JT_HAVE) cr_skip_test("no generator in this build");
  size_t mapped0, live0, mapped, live;
  mffi__jit_stats(&mapped0, &live0);
  jt_cycle();
  mffi__jit_stats(&mapped, &live);
  cr_expect_eq(live, live0, "routines left after unbinding");
  size_t after_one = mapped;
  if (jt_on()) cr_expect_gt(after_one, 0, "no code memory was mapped");
  for (int k = 0; k < 300; k++)
    jt_cycle();
  mffi__jit_stats(&mapped, &live);
  cr_expect_eq(live, live0);
  cr_expect_eq(mapped, after_one,
               "code memory grew over bind/unbind cycles "
               "(%zu -> %zu bytes)",
               after_one, mapped);
  /* mffi_close and mffi_reopen unbind too. */
  mffi_fn *fn = fx_bind(fx.fast, "fx_int10");
  (void)fn;
  cr_assert_eq(mffi_reopen(fx.fast), MFFI_OK);
  mffi__jit_stats(&mapped, &live);
  cr_expect_eq(live, live0 + (jt_on() ? 1 : 0), "reopen: one routine, again");
  mffi_close(fx.fast);
  fx.fast = NULL;
  mffi__jit_stats(&mapped, &live);
  cr_expect_eq(live, live0, "close: routines left");
}

/* Bind the signatures of jt_names, in order or reversed; MFFI_OK or not. */
static int jt_bind_all(mffi_lib *lib, mffi_fn **fns, bool reverse) {
  for (size_t k = 0; k < JT_N; k++) {
    size_t i = reverse ? JT_N - 1 - k : k;
    if (mffi_bind(lib, jt_names[i], &fns[i]) != MFFI_OK) return -1;
  }
  return MFFI_OK;
}

/* Calls through four of them that went wrong (fixture results). */
static int jt_check(mffi_fn **fns) {
  struct fx_c3 c3 = {{10, 20, 30}}, c3r;
  struct fx_f3 f3 = {1, 2, 3}, f3r;
  signed char sa = -5;
  short sb = -300;
  unsigned char sc = 250;
  unsigned short sd = 65000;
  _Bool se = 1;
  float fl = 2.5f, flr = 0;
  int sr = 0, bad = 0;
  void *a_c3[] = {&c3}, *a_f3[] = {&f3}, *a_s[] = {&sa, &sb, &sc, &sd, &se};
  void *a_fl[] = {&fl};
  for (int k = 0; k < 3; k++) {
    bad += mffi_call(fns[2], &c3r, a_c3) != MFFI_OK ||
           memcmp(&c3r, &(struct fx_c3){{11, 21, 31}}, 3) != 0;
    bad += mffi_call(fns[1], &f3r, a_f3) != MFFI_OK || f3r.a != 3 ||
           f3r.b != 2 || f3r.c != 1;
    bad += mffi_call(fns[0], &sr, a_s) != MFFI_OK ||
           sr != FX(fx_sext)(sa, sb, sc, sd, se);
    bad += mffi_call(fns[11], &flr, a_fl) != MFFI_OK || flr != FX(fx_float)(fl);
  }
  return bad;
}

/* Parent and child bind, after fork(), into the slots free at the fork, in
** opposite orders: with the code pages still shared, the child's calls
** would run the routines the parent wrote over its own. */
Test(jit, fork_child_has_own_code) {
  if (!JT_HAVE) cr_skip_test("no generator in this build");
  mffi_fn *fns[JT_N];
  for (size_t i = 0; i < JT_N; i++)
    fns[i] = fx_bind(fx.fast, jt_names[i]);
  for (size_t i = 0; i < JT_N; i++)
    mffi_fn_free(fns[i]);
  int up[2], down[2];
  cr_assert_eq(pipe(up), 0);
  cr_assert_eq(pipe(down), 0);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  char c = 0;
  mffi_fn *mine[JT_N];
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    int rc = jt_bind_all(fx.fast, mine, false);
    if (write(up[1], "b", 1) != 1 || read(down[0], &c, 1) != 1) _exit(3);
    _exit(rc != MFFI_OK ? 1 : jt_check(mine) ? 2 : 0);
  }
  close(up[1]); /* A dead child ends the reads. */
  close(down[0]);
  cr_assert_eq(read(up[0], &c, 1), 1, "the child died before binding");
  cr_assert_eq(jt_bind_all(fx.fast, mine, true), MFFI_OK);
  int bad = jt_check(mine);
  cr_assert_eq(write(down[1], "p", 1), 1);
  close(up[0]);
  close(down[1]);
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_expect_eq(bad, 0, "the parent's routines went wrong");
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the child's routines went wrong (status %d)", st);
  for (size_t i = 0; i < JT_N; i++)
    mffi_fn_free(mine[i]);
}

/* -- Odd-sized aggregates: byte tails ----------------------------------------
** struct { char c[N]; } travels as one or two INTEGER eightbytes whose last
** one has N % 8 bytes: the routine loads and stores exactly those. Each value
** is put just before an unmapped page, so a wider access faults. */

#define JT_CN(N)                                                               \
  struct jt_c##N {                                                             \
    char c[N];                                                                 \
  };                                                                           \
  __attribute__((noinline)) static struct jt_c##N jt_f##N(                     \
      struct jt_c##N a, long x1, long x2, long x3, long x4, long x5,           \
      struct jt_c##N b) {                                                      \
    struct jt_c##N r;                                                          \
    for (int i = 0; i < N; i++)                                                \
      r.c[i] = (char)(a.c[i] * 3 + b.c[i] + i + x1 - x2 + x3 - x4 + x5);       \
    return r;                                                                  \
  } __attribute__((noinline)) static struct jt_c##N jt_g##N(                   \
      struct jt_c##N a, struct jt_c##N b) {                                    \
    struct jt_c##N r;                                                          \
    for (int i = 0; i < N; i++)                                                \
      r.c[i] = (char)(a.c[i] - 2 * b.c[i] + 7 * i);                            \
    return r;                                                                  \
  }
JT_CN(3)
JT_CN(5)
JT_CN(6)
JT_CN(7)
JT_CN(11)
JT_CN(13)
JT_CN(14)
JT_CN(15)

#include <sys/mman.h>

/* n bytes that end where an unmapped page begins. */
static unsigned char *jt_edge(unsigned char *pages, int k, size_t n) {
  long pg = sysconf(_SC_PAGESIZE);
  return pages + (size_t)(2 * k + 1) * (size_t)pg - n;
}

#define JT_CHECK(N)                                                            \
  do {                                                                         \
    char decl[128], ft[160], gt[96];                                           \
    snprintf(decl, sizeof decl, "struct jt_c%d { char c[%d]; };", N, N);       \
    cr_assert_eq(mffi_cdef(fx.ctx, decl, strlen(decl)), MFFI_OK);              \
    snprintf(ft, sizeof ft,                                                    \
             "struct jt_c%d (*)(struct jt_c%d, long, long, long, long, "       \
             "long, struct jt_c%d)",                                           \
             N, N, N);                                                         \
    snprintf(gt, sizeof gt, "struct jt_c%d (*)(struct jt_c%d, struct jt_c%d)", \
             N, N, N);                                                         \
    mffi_fn *f = NULL, *g = NULL;                                              \
    cr_assert_eq(mffi_bind_ptr(fx.fast, fx_type(ft), (void *)jt_f##N, &f),     \
                 MFFI_OK);                                                     \
    cr_assert_eq(mffi_bind_ptr(fx.fast, fx_type(gt), (void *)jt_g##N, &g),     \
                 MFFI_OK);                                                     \
    if (jt_on()) cr_expect(jt_generated(f) && jt_generated(g), "N=%d", N);     \
    struct jt_c##N *a = (void *)jt_edge(pages, 0, N),                          \
                   *b = (void *)jt_edge(pages, 1, N),                          \
                   *r = (void *)jt_edge(pages, 2, N), want;                    \
    for (int i = 0; i < N; i++) {                                              \
      a->c[i] = (char)(i * 37 + 1);                                            \
      b->c[i] = (char)(200 - i * 11);                                          \
    }                                                                          \
    long x[5] = {1, 1L << 40, -5, 9, 3};                                       \
    void *args[] = {a, &x[0], &x[1], &x[2], &x[3], &x[4], b};                  \
    cr_assert_eq(mffi_call(f, r, args), MFFI_OK);                              \
    want = jt_f##N(*a, x[0], x[1], x[2], x[3], x[4], *b);                      \
    cr_expect(memcmp(r, &want, N) == 0, "f, N=%d", N);                         \
    void *args2[] = {a, b};                                                    \
    cr_assert_eq(mffi_call(g, r, args2), MFFI_OK);                             \
    want = jt_g##N(*a, *b);                                                    \
    cr_expect(memcmp(r, &want, N) == 0, "g, N=%d", N);                         \
    mffi_fn_free(f);                                                           \
    mffi_fn_free(g);                                                           \
  } while (0)

Test(jit, byte_tails) {
  long pg = sysconf(_SC_PAGESIZE);
  unsigned char *pages = mmap(NULL, (size_t)(6 * pg), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(pages != MAP_FAILED);
  for (int k = 0; k < 3; k++)
    cr_assert_eq(mprotect(pages + (2 * k + 1) * pg, (size_t)pg, PROT_NONE), 0);
  JT_CHECK(3);
  JT_CHECK(5);
  JT_CHECK(6);
  JT_CHECK(7);
  JT_CHECK(11);
  JT_CHECK(13);
  JT_CHECK(14);
  JT_CHECK(15);
  munmap(pages, (size_t)(6 * pg));
}

/* -- A long routine (over the first emission buffer) ------------------------
 */

#define JT_P10(k)                                                              \
  int a##k##0, int a##k##1, int a##k##2, int a##k##3, int a##k##4,             \
      int a##k##5, int a##k##6, int a##k##7, int a##k##8, int a##k##9
#define JT_S10(k)                                                              \
  (a##k##0 * 1L + a##k##1 * 2L + a##k##2 * 3L + a##k##3 * 5L + a##k##4 * 7L +  \
   a##k##5 * 11L + a##k##6 * 13L + a##k##7 * 17L + a##k##8 * 19L +             \
   a##k##9 * 23L) *                                                            \
      (k + 1)
__attribute__((noinline)) static long jt_sum100(JT_P10(0), JT_P10(1), JT_P10(2),
                                                JT_P10(3), JT_P10(4), JT_P10(5),
                                                JT_P10(6), JT_P10(7), JT_P10(8),
                                                JT_P10(9)) {
  return JT_S10(0) + JT_S10(1) + JT_S10(2) + JT_S10(3) + JT_S10(4) + JT_S10(5) +
         JT_S10(6) + JT_S10(7) + JT_S10(8) + JT_S10(9);
}

Test(jit, hundred_arguments) {
  static char ty[1024];
  int n = snprintf(ty, sizeof ty, "long (*)(");
  for (int i = 0; i < 100; i++)
    n += snprintf(ty + n, sizeof ty - (size_t)n, "%sint", i ? ", " : "");
  snprintf(ty + n, sizeof ty - (size_t)n, ")");
  mffi_fn *fn = NULL;
  cr_assert_eq(mffi_bind_ptr(fx.fast, fx_type(ty), (void *)jt_sum100, &fn),
               MFFI_OK);
  if (jt_on()) cr_expect(jt_generated(fn));
  int v[100];
  void *args[100];
  for (int i = 0; i < 100; i++) {
    v[i] = (i * 7919) % 2001 - 1000;
    args[i] = &v[i];
  }
  long r = 0;
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK);
#define JT_V10(k)                                                              \
  v[k * 10], v[k * 10 + 1], v[k * 10 + 2], v[k * 10 + 3], v[k * 10 + 4],       \
      v[k * 10 + 5], v[k * 10 + 6], v[k * 10 + 7], v[k * 10 + 8],              \
      v[k * 10 + 9]
  long want = jt_sum100(JT_V10(0), JT_V10(1), JT_V10(2), JT_V10(3), JT_V10(4),
                        JT_V10(5), JT_V10(6), JT_V10(7), JT_V10(8), JT_V10(9));
  cr_expect_eq(r, want);
  mffi_fn_free(fn);
}

/* A freed slot taken again runs its new routine. Natively x86 sees the
** write through the other view; under valgrind (test_jit_valgrind.sh) the
** routine must say so (VALGRIND_DISCARD_TRANSLATIONS). */
Test(jit, reused_slot_runs_new_code) {
  int bad = 0;
  for (int k = 0; k < 4; k++) {
    mffi_fn *a = fx_bind(fx.fast, "fx_float");
    float x = 1.5f + (float)k, r = 0;
    void *ar[] = {&x};
    cr_assert_eq(mffi_call(a, &r, ar), MFFI_OK);
    bad += r != FX(fx_float)(x);
    mffi_fn_free(a);
    mffi_fn *b = fx_bind(fx.fast, "fx_char");
    char c = (char)(5 + k), rc = 0;
    void *br[] = {&c};
    cr_assert_eq(mffi_call(b, &rc, br), MFFI_OK);
    bad += rc != FX(fx_char)(c);
    mffi_fn_free(b);
  }
  cr_expect_eq(bad, 0, "%d calls ran another routine", bad);
}

/* -- x87 results ------------------------------------------------------------
** long double comes back in %st0, complex long double in %st0 and %st1:
** stored with fstpt, and popped when the result is discarded, or the x87
** stack (8 slots) overflows and later long double results are NaNs. */

/* The x87 tag word: 0xffff when the register stack is empty. */
static unsigned jt_x87_tags(void) {
#if JT_HAVE
  unsigned char env[28];
  __asm__ volatile("fnstenv %0\n\tfldenv %0" : "=m"(env));
  return env[8] | (unsigned)env[9] << 8;
#else
  return 0xffff;
#endif
}

Test(jit, x87_results) {
  long double x = 1.0L / 7, r = 0;
  void *a1[] = {&x};
  mffi_fn *fn = fx_bind(fx.fast, "fx_ldouble");
  if (jt_on()) cr_expect(jt_generated(fn));
  cr_assert_eq(mffi_call(fn, &r, a1), MFFI_OK);
  cr_expect(r == FX(fx_ldouble)(x), "fx_ldouble: %La", r);
  for (int k = 0; k < 20; k++)
    cr_assert_eq(mffi_call(fn, NULL, a1), MFFI_OK);
  cr_expect_eq(jt_x87_tags(), 0xffff, "discarded results left on the stack");
  r = 0;
  cr_assert_eq(mffi_call(fn, &r, a1), MFFI_OK);
  cr_expect(r == FX(fx_ldouble)(x), "after 20 discarded calls: %La", r);
  mffi_fn_free(fn);

  struct fx_ld ld = {-5.0L / 3}, ldr = {0};
  void *a2[] = {&ld};
  fn = fx_bind(fx.fast, "fx_ld_half");
  cr_assert_eq(mffi_call(fn, &ldr, a2), MFFI_OK);
  cr_expect(ldr.x == FX(fx_ld_half)(ld).x);
  mffi_fn_free(fn);

  long double _Complex lc = 1.0L / 3 - 7.0L * (__extension__ 1.0iL), lcr = 0;
  int k5 = 5;
  void *a3[] = {&lc, &k5};
  fn = fx_bind(fx.fast, "fx_lc");
  if (jt_on()) cr_expect(jt_generated(fn));
  cr_assert_eq(mffi_call(fn, &lcr, a3), MFFI_OK);
  cr_expect(lcr == FX(fx_lc)(lc, k5), "fx_lc: %La %La", __real__ lcr,
            __imag__ lcr);
  for (int k = 0; k < 20; k++)
    cr_assert_eq(mffi_call(fn, NULL, a3), MFFI_OK);
  cr_expect_eq(jt_x87_tags(), 0xffff, "discarded complex results left");
  lcr = 0;
  cr_assert_eq(mffi_call(fn, &lcr, a3), MFFI_OK);
  cr_expect(lcr == FX(fx_lc)(lc, k5), "fx_lc after discarded calls");
  mffi_fn_free(fn);

  long double _Complex lb = -2.0L + 0.5L * (__extension__ 1.0iL);
  int n = 3;
  double d = 0.75;
  void *a4[] = {&n, &lc, &d, &lb};
  fn = fx_bind(fx.fast, "fx_lc2");
  cr_assert_eq(mffi_call(fn, &lcr, a4), MFFI_OK);
  cr_expect(lcr == FX(fx_lc2)(n, lc, d, lb), "fx_lc2");
  mffi_fn_free(fn);
}

/* -- 16-byte and 2-byte SSE pieces ----------------------------------------- */

/* V f(V, V) against the direct call, lane by lane. */
#define JT_VSUB(V, f)                                                          \
  do {                                                                         \
    V a_, b_, r_, d_;                                                          \
    for (unsigned k_ = 0; k_ < sizeof a_ / sizeof a_[0]; k_++) {               \
      a_[k_] = (__typeof__(a_[0]))(k_ * 3 + 1);                                \
      b_[k_] = (__typeof__(a_[0]))(100 - (int)k_ * 7);                         \
    }                                                                          \
    void *args_[] = {&a_, &b_};                                                \
    mffi_fn *fn_ = fx_bind(fx.fast, #f);                                       \
    if (jt_on()) cr_expect(jt_generated(fn_), #f);                             \
    memset(&r_, 0x55, sizeof r_);                                              \
    cr_assert_eq(mffi_call(fn_, &r_, args_), MFFI_OK);                         \
    d_ = FX(f)(a_, b_);                                                        \
    for (unsigned k_ = 0; k_ < sizeof a_ / sizeof a_[0]; k_++)                 \
      cr_expect(r_[k_] == d_[k_], #f " lane %u", k_);                          \
    cr_assert_eq(mffi_call(fn_, NULL, args_), MFFI_OK);                        \
    mffi_fn_free(fn_);                                                         \
  } while (0)

Test(jit, vectors) {
  JT_VSUB(fx_vc16, fx_v_c16);
  JT_VSUB(fx_vi16, fx_v_i16);
  JT_VSUB(fx_vq16, fx_v_q16);
  JT_VSUB(fx_vf16, fx_v_f16);
  JT_VSUB(fx_vd16, fx_v_d16);
  JT_VSUB(fx_vh16, fx_v_h16);

  struct fx_sv sa = {{1, 2, 3, 4.5f}}, sb = {{-1, 0.25f, 8, 2}}, sr, sd;
  void *a1[] = {&sa, &sb};
  mffi_fn *fn = fx_bind(fx.fast, "fx_v_sv");
  cr_assert_eq(mffi_call(fn, &sr, a1), MFFI_OK);
  sd = FX(fx_v_sv)(sa, sb);
  cr_expect(memcmp(&sr, &sd, sizeof sd) == 0, "fx_v_sv");
  mffi_fn_free(fn);

  /* Eight in %xmm0-7, the ninth on the stack. */
  fx_vf16 v[9], f, want;
  void *a2[9];
  for (int i = 0; i < 9; i++) {
    v[i] = (fx_vf16){i + 1.0f, -i * 0.5f, i * 3.25f, 100.0f - i};
    a2[i] = &v[i];
  }
  fn = fx_bind(fx.fast, "fx_v9");
  cr_assert_eq(mffi_call(fn, &f, a2), MFFI_OK);
  want = FX(fx_v9)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
  cr_expect(memcmp(&f, &want, sizeof f) == 0, "fx_v9");
  mffi_fn_free(fn);

  fx_vmixed_call m;
  fx_vmixed_setup(&m);
  double got = 0;
  fn = fx_bind(fx.fast, "fx_vmixed");
  cr_assert_eq(mffi_call(fn, &got, m.args), MFFI_OK);
  cr_expect_eq(got, m.want);
  mffi_fn_free(fn);

  _Float128 qa = 1, qb = 3, qr = 0;
  void *a4[] = {&qa, &qb};
  fn = fx_bind(fx.fast, "fx_q");
  cr_assert_eq(mffi_call(fn, &qr, a4), MFFI_OK);
  cr_expect(qr == FX(fx_q)(qa, qb), "1/3 in _Float128, to the last bit");
  mffi_fn_free(fn);
}

/* _Float16 pieces of 2, 4, 6 bytes, in %xmm0 and %xmm1. Each value ends
** where an unmapped page begins: a wider load or store faults. */
struct jt_h3 {
  _Float16 h[3];
};
struct jt_h5 {
  _Float16 h[5];
};
__attribute__((noinline)) static _Float16 jt_h(_Float16 a, int i, _Float16 b) {
  return a * b - (_Float16)i;
}
__attribute__((noinline)) static struct jt_h3 jt_h3(struct jt_h3 a, float f,
                                                    struct jt_h3 b) {
  struct jt_h3 r;
  for (int i = 0; i < 3; i++)
    r.h[i] = a.h[i] - b.h[i] * (_Float16)(i + 1) + (_Float16)f;
  return r;
}
__attribute__((noinline)) static struct jt_h5 jt_h5(struct jt_h5 a,
                                                    _Float16 x) {
  struct jt_h5 r;
  for (int i = 0; i < 5; i++)
    r.h[i] = a.h[4 - i] * x + (_Float16)i;
  return r;
}

Test(jit, float16_pieces) {
  static const char decl[] = "struct jt_h3 { _Float16 h[3]; };"
                             "struct jt_h5 { _Float16 h[5]; };";
  cr_assert_eq(mffi_cdef(fx.ctx, decl, strlen(decl)), MFFI_OK, "%s",
               mffi_errmsg(fx.ctx));
  long pg = sysconf(_SC_PAGESIZE);
  unsigned char *pages = mmap(NULL, (size_t)(8 * pg), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(pages != MAP_FAILED);
  for (int k = 0; k < 4; k++)
    cr_assert_eq(mprotect(pages + (2 * k + 1) * pg, (size_t)pg, PROT_NONE), 0);
  mffi_fn *f1 = NULL, *f2 = NULL, *f3 = NULL;
  cr_assert_eq(mffi_bind_ptr(fx.fast,
                             fx_type("_Float16 (*)(_Float16, int, _Float16)"),
                             (void *)jt_h, &f1),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  cr_assert_eq(mffi_bind_ptr(fx.fast,
                             fx_type("struct jt_h3 (*)(struct jt_h3, float, "
                                     "struct jt_h3)"),
                             (void *)jt_h3, &f2),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  cr_assert_eq(mffi_bind_ptr(fx.fast,
                             fx_type("struct jt_h5 (*)(struct jt_h5, "
                                     "_Float16)"),
                             (void *)jt_h5, &f3),
               MFFI_OK, "%s", mffi_errmsg(fx.ctx));
  if (jt_on())
    cr_expect(jt_generated(f1) && jt_generated(f2) && jt_generated(f3));

  _Float16 *ha = (void *)jt_edge(pages, 0, 2),
           *hb = (void *)jt_edge(pages, 1, 2),
           *hr = (void *)jt_edge(pages, 2, 2);
  int i = 3;
  *ha = (_Float16)1.5;
  *hb = (_Float16)-2.25;
  void *a1[] = {ha, &i, hb};
  cr_assert_eq(mffi_call(f1, hr, a1), MFFI_OK);
  cr_expect(*hr == jt_h(*ha, i, *hb), "_Float16");

  struct jt_h3 *pa = (void *)jt_edge(pages, 0, 6),
               *pb = (void *)jt_edge(pages, 1, 6),
               *pr = (void *)jt_edge(pages, 2, 6), w3;
  for (int k = 0; k < 3; k++) {
    pa->h[k] = (_Float16)(k + 0.5);
    pb->h[k] = (_Float16)(-k * 1.25);
  }
  float fl = 0.75f;
  void *a2[] = {pa, &fl, pb};
  cr_assert_eq(mffi_call(f2, pr, a2), MFFI_OK);
  w3 = jt_h3(*pa, fl, *pb);
  cr_expect(memcmp(pr, &w3, sizeof w3) == 0, "struct jt_h3");

  /* 10 bytes: 8 in %xmm0, 2 in %xmm1. */
  struct jt_h5 *qa = (void *)jt_edge(pages, 0, 10),
               *qr = (void *)jt_edge(pages, 2, 10), w5;
  for (int k = 0; k < 5; k++)
    qa->h[k] = (_Float16)(k * 1.5 - 2);
  _Float16 *x = (void *)jt_edge(pages, 3, 2);
  *x = (_Float16)0.5;
  void *a3[] = {qa, x};
  cr_assert_eq(mffi_call(f3, qr, a3), MFFI_OK);
  w5 = jt_h5(*qa, *x);
  cr_expect(memcmp(qr, &w5, sizeof w5) == 0, "struct jt_h5");
  mffi_fn_free(f1);
  mffi_fn_free(f2);
  mffi_fn_free(f3);
  munmap(pages, (size_t)(8 * pg));
}

/* -- Unwind tables ----------------------------------------------------------
** A callee walks the stack with _Unwind_Backtrace and glibc's backtrace():
** both must pass through the generated routine (its FDE) into
** jt_bt_outer, the C function that made the call. */

#include <execinfo.h>
#include <unwind.h>

static struct {
  void *fns[64]; /* The enclosing function of each frame (its FDE). */
  int n;
  void *ips[64]; /* backtrace()'s return addresses. */
  int nips;
} jt_bt;

static _Unwind_Reason_Code jt_bt_step(struct _Unwind_Context *uc, void *arg) {
  (void)arg;
  if (jt_bt.n == 64) return _URC_END_OF_STACK;
  jt_bt.fns[jt_bt.n++] =
      _Unwind_FindEnclosingFunction((void *)_Unwind_GetIP(uc));
  return _URC_NO_REASON;
}

__attribute__((noinline)) static int jt_bt_callee(int x, float y) {
  jt_bt.n = 0;
  _Unwind_Backtrace(jt_bt_step, NULL);
  jt_bt.nips = backtrace(jt_bt.ips, 64);
  return x + (int)y;
}

__attribute__((noinline, noclone)) static int jt_bt_outer(mffi_fn *fn) {
  int x = 4, r = 0;
  float y = 2.0f;
  void *args[] = {&x, &y};
  if (mffi_call(fn, &r, args) != MFFI_OK) return -1;
  __asm__ volatile("" ::: "memory"); /* No tail call: a frame of its own. */
  return r;
}

/* Whether f is one of the n functions in fns. */
static bool jt_bt_has(void *const *fns, int n, const void *f) {
  for (int i = 0; i < n; i++)
    if (fns[i] == f) return true;
  return false;
}

Test(jit, unwinds_through_routine) {
  mffi_fn *fn = NULL;
  cr_assert_eq(mffi_bind_ptr(fx.fast, fx_type("int (*)(int, float)"),
                             (void *)jt_bt_callee, &fn),
               MFFI_OK);
  bool gen = jt_on() && jt_generated(fn);
  if (jt_on()) cr_expect(gen);
  for (int k = 0; k < 2; k++) { /* Also after the slot was taken again. */
    cr_assert_eq(jt_bt_outer(fn), 6);
    cr_expect(jt_bt_has(jt_bt.fns, jt_bt.n, (void *)jt_bt_outer),
              "_Unwind_Backtrace stopped before jt_bt_outer (%d frames)",
              jt_bt.n);
    void *code;
    mffi_call_fn call = mffi_fn_get_call(fn);
    memcpy(&code, &call, sizeof code);
    if (gen)
      cr_expect(jt_bt_has(jt_bt.fns, jt_bt.n, code),
                "no frame of the generated routine");
    void *enc[64];
    for (int i = 0; i < jt_bt.nips; i++)
      enc[i] = _Unwind_FindEnclosingFunction((char *)jt_bt.ips[i] - 1);
    cr_expect(jt_bt_has(enc, jt_bt.nips, (void *)jt_bt_outer),
              "backtrace() stopped before jt_bt_outer (%d frames)", jt_bt.nips);
    mffi_fn_free(fn);
    fn = fx_bind(fx.fast, "fx_float"); /* Takes the slot. */
    mffi_fn_free(fn);
    cr_assert_eq(mffi_bind_ptr(fx.fast, fx_type("int (*)(int, float)"),
                               (void *)jt_bt_callee, &fn),
                 MFFI_OK);
  }
  mffi_fn_free(fn);
}
