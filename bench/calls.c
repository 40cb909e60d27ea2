/* Call overhead: direct, raw libffi and mffi_call, in one run. See LICENSE.
**
** Usage: calls PATH/bench_lib.so [CALLS-PER-REP [REPS]]
** For each case it measures ns per call of a direct call through the PLT
** (bench_lib.so is linked normally), ffi_call() with a cif prepared once,
** mffi_call() (dynamic strategy, fast path where the signature allows it)
** and mffi_call() with the libffi path forced (MFFI_OPEN_FFI_ONLY), and
** prints a Markdown table with the ratios. Each figure is the best of REPS
** repetitions of CALLS-PER-REP calls after a warm-up: the minimum is the
** run least disturbed by the rest of the machine. Only ratios measured in
** the same run mean anything; absolute figures vary between machines.
*/
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modffi.h"

/* -- The callee (bench/bench_lib.c) ---------------------------------- */

#define BENCH_DECLS                                                            \
  "struct bench_pt { double x, y; };\n"                                        \
  "void nop(void);\n"                                                          \
  "int add(int a, int b);\n"                                                   \
  "double muladd(double a, double b, double c);\n"                             \
  "void *ptr6(void *a, void *b, void *c, void *d, void *e, void *f);\n"        \
  "struct bench_pt pt_add(struct bench_pt a, struct bench_pt b);\n"

#include "bench_lib.h" /* The same, as C. */

#define MAXARGS 6
#define DEFAULT_CALLS 200000L /* Calls per repetition. */
#define DEFAULT_REPS 25       /* Repetitions; the best one counts. */

/* Results land here so no call can be proven useless. */
static volatile uintptr_t sink;

typedef struct bcase {
  const char *name; /* Also the symbol. */
  const char *label;
  void (*direct)(long n);
  ffi_cif cif;
  ffi_type *atypes[MAXARGS];
  ffi_type *rtype;
  unsigned nargs;
  void (*addr)(void); /* For ffi_call: the function's address. */
  void *args[MAXARGS];
  mffi_fn *fast, *ffi;
} bcase;

/* Argument values, shared by every way of calling. */
static int a_i[2] = {40, 2};
static double a_d[3] = {1.5, 2.0, 0.25};
static void *a_p[6];
static struct bench_pt a_pt[2] = {{1, 2}, {3, 4}};

/* -- Direct calls ----------------------------------------------------- */

static void direct_nop(long n) {
  for (long i = 0; i < n; i++)
    nop();
}

static void direct_add(long n) {
  int acc = 0;
  for (long i = 0; i < n; i++)
    acc += add(a_i[0], a_i[1]);
  sink = (uintptr_t)acc;
}

static void direct_muladd(long n) {
  double acc = 0;
  for (long i = 0; i < n; i++)
    acc += muladd(a_d[0], a_d[1], a_d[2]);
  sink = (uintptr_t)acc;
}

static void direct_ptr6(long n) {
  uintptr_t acc = 0;
  for (long i = 0; i < n; i++)
    acc += (uintptr_t)ptr6(a_p[0], a_p[1], a_p[2], a_p[3], a_p[4], a_p[5]);
  sink = acc;
}

static void direct_pt_add(long n) {
  double acc = 0;
  for (long i = 0; i < n; i++)
    acc += pt_add(a_pt[0], a_pt[1]).y;
  sink = (uintptr_t)acc;
}

/* -- Through libffi and modffi ---------------------------------------- */

/* Big enough for any return value here; ffi_call widens small integers to
** ffi_arg, so this is at least that. */
typedef union retval {
  ffi_arg word;
  double d;
  struct bench_pt pt;
  void *p;
} retval;
static retval ret;

static bcase *cur;

static void loop_ffi(long n) {
  for (long i = 0; i < n; i++)
    ffi_call(&cur->cif, cur->addr, &ret, cur->args);
  sink = (uintptr_t)ret.word;
}

static void loop_fast(long n) {
  for (long i = 0; i < n; i++)
    mffi_call(cur->fast, &ret, cur->args);
  sink = (uintptr_t)ret.word;
}

static void loop_mffi_ffi(long n) {
  for (long i = 0; i < n; i++)
    mffi_call(cur->ffi, &ret, cur->args);
  sink = (uintptr_t)ret.word;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best ns per call of each of nloops loops, over reps repetitions of n
** calls each, after a warm-up. The loops take turns within a repetition,
** so a burst of load elsewhere on the machine hits them all alike. */
static void measure(void (*const *loops)(long), int nloops, long n, int reps,
                    double *best) {
  for (int l = 0; l < nloops; l++) {
    loops[l](n / 10 + 1);
    best[l] = -1;
  }
  for (int r = 0; r < reps; r++) {
    for (int l = 0; l < nloops; l++) {
      double t0 = now_ns();
      loops[l](n);
      double t = (now_ns() - t0) / (double)n;
      if (best[l] < 0 || t < best[l])
        best[l] = t;
    }
  }
}

/* Before timing anything: both mffi paths must return what ffi_call
** returns, or the figures would time failures. 0 if they agree. */
static int verify(bcase *c) {
  retval want, fast, ffi;
  memset(&want, 0, sizeof want);
  memset(&fast, 0, sizeof fast);
  memset(&ffi, 0, sizeof ffi);
  ffi_call(&c->cif, c->addr, &want, c->args);
  if (mffi_call(c->fast, &fast, c->args) != MFFI_OK ||
      mffi_call(c->ffi, &ffi, c->args) != MFFI_OK)
    return -1;
  if (c->rtype == &ffi_type_void)
    return 0;
  if (c->rtype == &ffi_type_sint) { /* Widened to ffi_arg by libffi. */
    int v = (int)want.word;
    memset(&want, 0, sizeof want);
    memcpy(&want, &v, sizeof v);
  }
  size_t sz = c->rtype->size;
  return memcmp(&want, &fast, sz) != 0 || memcmp(&want, &ffi, sz) != 0;
}

static int bind(mffi_ctx *ctx, mffi_lib *lib, const char *name, mffi_fn **out) {
  int rc = mffi_bind(lib, name, out);
  if (rc != MFFI_OK)
    fprintf(stderr, "calls: bind %s: %s\n", name, mffi_errmsg(ctx));
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: calls PATH/bench_lib.so [CALLS [REPS]]\n");
    return 2;
  }
  long n = argc > 2 ? atol(argv[2]) : DEFAULT_CALLS;
  int reps = argc > 3 ? atoi(argv[3]) : DEFAULT_REPS;
  if (n <= 0 || reps <= 0)
    return 2;
  for (int i = 0; i < 6; i++)
    a_p[i] = (void *)(uintptr_t)(0x1000 * (i + 1));

  static ffi_type *pt_elems[] = {&ffi_type_double, &ffi_type_double, NULL};
  static ffi_type pt_type = {0, 0, FFI_TYPE_STRUCT, pt_elems};

  bcase cases[] = {
      {.name = "nop",
       .label = "`void nop(void)`",
       .direct = direct_nop,
       .rtype = &ffi_type_void,
       .nargs = 0,
       .addr = (void (*)(void))nop},
      {.name = "add",
       .label = "`int add(int, int)`",
       .direct = direct_add,
       .rtype = &ffi_type_sint,
       .nargs = 2,
       .atypes = {&ffi_type_sint, &ffi_type_sint},
       .args = {&a_i[0], &a_i[1]},
       .addr = (void (*)(void))add},
      {.name = "muladd",
       .label = "`double muladd(double, double, double)`",
       .direct = direct_muladd,
       .rtype = &ffi_type_double,
       .nargs = 3,
       .atypes = {&ffi_type_double, &ffi_type_double, &ffi_type_double},
       .args = {&a_d[0], &a_d[1], &a_d[2]},
       .addr = (void (*)(void))muladd},
      {.name = "ptr6",
       .label = "`void *ptr6(void *, void *, void *, void *, void *, "
                "void *)`",
       .direct = direct_ptr6,
       .rtype = &ffi_type_pointer,
       .nargs = 6,
       .atypes = {&ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer,
                  &ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer},
       .args = {&a_p[0], &a_p[1], &a_p[2], &a_p[3], &a_p[4], &a_p[5]},
       .addr = (void (*)(void))ptr6},
      {.name = "pt_add",
       .label = "`struct pt pt_add(struct pt, struct pt)`, "
                "`struct pt {double x, y;}`",
       .direct = direct_pt_add,
       .rtype = &pt_type,
       .nargs = 2,
       .atypes = {&pt_type, &pt_type},
       .args = {&a_pt[0], &a_pt[1]},
       .addr = (void (*)(void))pt_add},
  };
  size_t ncases = sizeof cases / sizeof cases[0];

  mffi_ctx *ctx = NULL;
  mffi_lib *lib = NULL, *lib_ffi = NULL;
  mffi_open_opts ffi_only = {MFFI_OPEN_OPTS_VERSION, MFFI_OPEN_FFI_ONLY, NULL};
  const char decls[] = BENCH_DECLS;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_cdef(ctx, decls, sizeof decls - 1) != MFFI_OK ||
      mffi_open(ctx, NULL, argv[1], NULL, &lib) != MFFI_OK ||
      mffi_open(ctx, NULL, argv[1], &ffi_only, &lib_ffi) != MFFI_OK) {
    fprintf(stderr, "calls: %s\n", mffi_errmsg(ctx));
    return 1;
  }
  for (size_t i = 0; i < ncases; i++) {
    bcase *c = &cases[i];
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, c->nargs, c->rtype, c->atypes) !=
        FFI_OK) {
      fprintf(stderr, "calls: ffi_prep_cif %s failed\n", c->name);
      return 1;
    }
    if (bind(ctx, lib, c->name, &c->fast) != MFFI_OK ||
        bind(ctx, lib_ffi, c->name, &c->ffi) != MFFI_OK)
      return 1;
    if (verify(c) != 0) {
      fprintf(stderr, "calls: %s: mffi_call disagrees with ffi_call (%s)\n",
              c->name, mffi_errmsg(ctx));
      return 1;
    }
  }

  printf("%ld calls per repetition, best of %d; ns per call.\n\n", n, reps);
  printf("| case | direct ns | ffi_call ns | mffi_call ns | "
         "mffi_call (libffi path) ns | mffi/direct | ffi_call/mffi | "
         "mffi path |\n");
  printf("|---|---:|---:|---:|---:|---:|---:|---|\n");
  double add_direct = 0, add_ffi = 0, add_mffi = 0;
  for (size_t i = 0; i < ncases; i++) {
    cur = &cases[i];
    void (*const loops[])(long) = {cur->direct, loop_ffi, loop_fast,
                                   loop_mffi_ffi};
    double t[4];
    measure(loops, 4, n, reps, t);
    double d = t[0], f = t[1], m = t[2], mf = t[3];
    int path = mffi_fn_path(cur->fast);
    printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2fx | %.2fx | %s |\n",
           cur->label, d, f, m, mf, m / d, f / m,
           path == MFFI_PATH_FAST  ? "fast"
           : path == MFFI_PATH_FFI ? "libffi"
                                   : "other");
    fflush(stdout);
    if (strcmp(cur->name, "add") == 0) {
      add_direct = d;
      add_ffi = f;
      add_mffi = m;
    }
  }
  printf("\nTargets (issue 3), `add`: mffi_call <= 2x direct: %s (%.2fx); "
         ">= 5x faster than ffi_call: %s (%.2fx).\n",
         add_mffi <= 2 * add_direct ? "met" : "NOT met", add_mffi / add_direct,
         add_ffi >= 5 * add_mffi ? "met" : "NOT met", add_ffi / add_mffi);
  mffi_close(lib_ffi);
  mffi_close(lib);
  mffi_ctx_free(ctx);
  return 0;
}
