/* Call overhead: direct, raw libffi and mffi_call, in one run. See LICENSE.
**
** Usage: calls PATH/bench_lib.so [CALLS-PER-REP [REPS]]
** For each case it measures ns per call of a direct call through the PLT
** (bench_lib.so is linked normally), ffi_call() with a cif prepared once,
** mffi_call() (dynamic strategy, fast path where the signature allows it),
** the same routine called through its pointer (mffi_fn_get_call(), as a
** runtime that keeps it may: mffi_call's own entry left out), and
** mffi_call() with the libffi path forced (MFFI_OPEN_FFI_ONLY), and
** prints a Markdown table with the ratios. Each figure is the median of
** REPS samples of CALLS-PER-REP calls after a warm-up, minus the median of
** an empty loop of as many iterations measured alongside (the loop's own
** cost). The last row sorts 64 ints with qsort() through a comparator:
** a plain C function, a libffi closure and an mffi_callback() closure, in
** ns per comparison. With BENCH_TSV=FILE the figures are also written to
** FILE, one "case<TAB>direct<TAB>ffi_call<TAB>mffi_call<TAB>path" line each
** (path: the one mffi_fn_path() reports, "fast", "libffi" or "other"; for
** qsort, "callback"), for bench/peers.sh's side-by-side table. Only ratios
** measured in the same run mean anything; absolute figures vary between
** machines.
*/
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modffi.h"
#include "modffi_strategy.h" /* mffi_fn_get_call */

/* -- The callee (bench/bench_lib.c) ---------------------------------- */

#define BENCH_DECLS                                                            \
  "struct bench_pt { double x, y; };\n"                                        \
  "void nop(void);\n"                                                          \
  "int add(int a, int b);\n"                                                   \
  "double muladd(double a, double b, double c);\n"                             \
  "void *ptr6(void *a, void *b, void *c, void *d, void *e, void *f);\n"        \
  "struct bench_pt pt_add(struct bench_pt a, struct bench_pt b);\n"        \
  "struct bench_big24 { long a, b, c; };\n"                                 \
  "int int10(int, int, int, int, int, int, int, int, int, int);\n"          \
  "struct bench_big24 big24(long a, long b);\n"                            \
  "double mix(float a, int b, double c, long d);\n"

#include "bench_lib.h" /* The same, as C. */
#include "bench_time.h"

#define MAXARGS 10
#define DEFAULT_CALLS 200000L /* Calls per repetition. */
#define DEFAULT_REPS 25       /* Samples; the median counts. */

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
static int a_10[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static long a_l[2] = {40, 2};
static float a_f = 1.5f;
static double a_md = 0.25;

/* The loop around every measured call, with nothing in it: subtracted. */
static void loop_empty(long n) {
  for (long i = 0; i < n; i++)
    __asm__ volatile("" ::: "memory");
}

/* -- Direct calls ----------------------------------------------------- */

/* Big enough for any return value here; ffi_call widens small integers to
** ffi_arg, so this is at least that. */
typedef union retval {
  ffi_arg word;
  int i;
  long l;
  double d;
  struct bench_pt pt;
  struct bench_big24 big;
  void *p;
} retval;
static retval ret;

/* Each direct call's result is stored in ret, as each mffi_call() stores
** its result there: no loop carries a dependency from one call to the next
** (a sum of the results would add the latency of an addition, four cycles
** for a double, to the direct loops only). big24 keeps one member: a copy
** of the whole struct would read it in 16-byte loads just after the
** callee's 8-byte stores, which the CPU cannot forward (5.7 ns here). */

static void direct_nop(long n) {
  for (long i = 0; i < n; i++)
    nop();
}

static void direct_add(long n) {
  for (long i = 0; i < n; i++)
    ret.i = add(a_i[0], a_i[1]);
}

static void direct_muladd(long n) {
  for (long i = 0; i < n; i++)
    ret.d = muladd(a_d[0], a_d[1], a_d[2]);
}

static void direct_ptr6(long n) {
  for (long i = 0; i < n; i++)
    ret.p = ptr6(a_p[0], a_p[1], a_p[2], a_p[3], a_p[4], a_p[5]);
}

static void direct_pt_add(long n) {
  for (long i = 0; i < n; i++)
    ret.pt = pt_add(a_pt[0], a_pt[1]);
}

static void direct_int10(long n) {
  for (long i = 0; i < n; i++)
    ret.i = int10(a_10[0], a_10[1], a_10[2], a_10[3], a_10[4], a_10[5],
                  a_10[6], a_10[7], a_10[8], a_10[9]);
}

static void direct_big24(long n) {
  for (long i = 0; i < n; i++)
    ret.l = big24(a_l[0], a_l[1]).c;
}

static void direct_mix(long n) {
  for (long i = 0; i < n; i++)
    ret.d = mix(a_f, a_i[0], a_md, a_l[0]);
}

/* -- Through libffi and modffi ---------------------------------------- */


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

static void loop_routine(long n) {
  mffi_call_fn f = mffi_fn_get_call(cur->fast);
  for (long i = 0; i < n; i++)
    f(cur->fast, &ret, cur->args);
  sink = (uintptr_t)ret.word;
}

static void loop_mffi_ffi(long n) {
  for (long i = 0; i < n; i++)
    mffi_call(cur->ffi, &ret, cur->args);
  sink = (uintptr_t)ret.word;
}

#define MAXLOOPS 5
#define MAXREPS 101

/* Median ns per call of each of nloops loops, over reps samples of n
** calls each, after a warm-up, minus the median of the empty loop. The
** loops take turns within a repetition, so a burst of load elsewhere on
** the machine hits them all alike. */
static void measure(void (*const *loops)(long), int nloops, long n, int reps,
                    double *med) {
  static double t[MAXLOOPS + 1][MAXREPS];
  void (*all[MAXLOOPS + 1])(long);
  if (reps > MAXREPS)
    reps = MAXREPS;
  all[0] = loop_empty;
  for (int l = 0; l < nloops; l++)
    all[l + 1] = loops[l];
  for (int l = 0; l <= nloops; l++)
    all[l](n / 10 + 1);
  for (int r = 0; r < reps; r++) {
    for (int l = 0; l <= nloops; l++) {
      double t0 = now_ns();
      all[l](n);
      t[l][r] = (now_ns() - t0) / (double)n;
    }
  }
  double m[MAXLOOPS + 1];
  for (int l = 0; l <= nloops; l++) {
    qsort(t[l], (size_t)reps, sizeof(double), cmp_double);
    m[l] = t[l][reps / 2];
  }
  for (int l = 0; l < nloops; l++)
    med[l] = m[l + 1] - m[0];
}

/* -- A callback through qsort ----------------------------------------- */

#define NSORT 64
static int sort_src[NSORT], sort_buf[NSORT];
static int (*sort_cmp)(const void *, const void *);

static void sort_fill(void) {
  unsigned x = 12345;
  for (int i = 0; i < NSORT; i++) {
    x = x * 1103515245u + 12345u;
    sort_src[i] = (int)(x >> 8);
  }
}

/* n sorts of the same NSORT ints with sort_cmp; the copy is in the empty
** loop's place below (loop_copy), so only the sorting remains. */
static void loop_sort(long n) {
  for (long i = 0; i < n; i++) {
    memcpy(sort_buf, sort_src, sizeof sort_buf);
    qsort(sort_buf, NSORT, sizeof(int), sort_cmp);
  }
  sink = (uintptr_t)sort_buf[0];
}

static void loop_copy(long n) {
  for (long i = 0; i < n; i++) {
    memcpy(sort_buf, sort_src, sizeof sort_buf);
    __asm__ volatile("" ::: "memory");
  }
}

static long ncmp;
static int count_cmp(const void *a, const void *b) {
  ncmp++;
  return bench_cmp_int(a, b);
}

static void ffi_cmp(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  (void)data;
  *(ffi_arg *)ret = (ffi_arg)(ffi_sarg)bench_cmp_int(*(void **)args[0],
                                                      *(void **)args[1]);
}

static void mffi_cmp(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = bench_cmp_int(*(void *const *)args[0], *(void *const *)args[1]);
}

/* ns per comparison of qsort through a C comparator, a libffi closure and
** an mffi closure, printed as the last row. 0 or -1 after a message. */
static int bench_qsort(mffi_ctx *ctx, mffi_lib *lib, long n, int reps,
                       FILE *tsv) {
  sort_fill();
  sort_cmp = count_cmp;
  ncmp = 0;
  loop_sort(1);
  long per_sort = ncmp;
  static ffi_cif cif;
  static ffi_type *at[2] = {&ffi_type_pointer, &ffi_type_pointer};
  void *code = NULL;
  ffi_closure *fc = ffi_closure_alloc(sizeof(ffi_closure), &code);
  if (!fc || ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, at) !=
                 FFI_OK ||
      ffi_prep_closure_loc(fc, &cif, ffi_cmp, NULL, code) != FFI_OK) {
    fprintf(stderr, "calls: libffi closure failed\n");
    return -1;
  }
  const mffi_type *ft = NULL;
  mffi_closure *mc = NULL;
  if (mffi_typeof(ctx, "int (*)(const void *, const void *)", &ft) !=
          MFFI_OK ||
      mffi_callback(lib, ft, mffi_cmp, NULL, &mc) != MFFI_OK) {
    fprintf(stderr, "calls: mffi_callback: %s\n", mffi_errmsg(ctx));
    return -1;
  }
  int (*cmps[3])(const void *, const void *) = {
      bench_cmp_int, (int (*)(const void *, const void *))code,
      (int (*)(const void *, const void *))mffi_closure_code(mc)};
  for (int k = 0; k < 3; k++) { /* Each must sort. */
    sort_cmp = cmps[k];
    loop_sort(1);
    for (int i = 1; i < NSORT; i++)
      if (sort_buf[i - 1] > sort_buf[i]) {
        fprintf(stderr, "calls: qsort comparator %d does not sort\n", k);
        return -1;
      }
  }
  long ns = n / per_sort + 1;
  double t[3], copy[1];
  void (*const cl[])(long) = {loop_copy};
  measure(cl, 1, ns, reps, copy);
  for (int k = 0; k < 3; k++) {
    sort_cmp = cmps[k];
    void (*const sl[])(long) = {loop_sort};
    measure(sl, 1, ns, reps, &t[k]);
    t[k] = (t[k] - copy[0]) / (double)per_sort;
  }
  printf("| `qsort` of %d ints, per comparison (%ld a sort) | %.2f | %.2f | "
         "%.2f | - | - | %.2fx | - | %.2fx | callback |\n",
         NSORT, per_sort, t[0], t[1], t[2], t[2] / t[0], t[1] / t[2]);
  if (tsv)
    fprintf(tsv, "qsort\t%.3f\t%.3f\t%.3f\tcallback\n", t[0], t[1], t[2]);
  mffi_closure_free(mc);
  ffi_closure_free(fc);
  return 0;
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
  static ffi_type *big_elems[] = {&ffi_type_slong, &ffi_type_slong,
                                  &ffi_type_slong, NULL};
  static ffi_type big_type = {0, 0, FFI_TYPE_STRUCT, big_elems};

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
      {.name = "int10",
       .label = "`int int10(int x 10)` (four on the stack)",
       .direct = direct_int10,
       .rtype = &ffi_type_sint,
       .nargs = 10,
       .atypes = {&ffi_type_sint, &ffi_type_sint, &ffi_type_sint,
                  &ffi_type_sint, &ffi_type_sint, &ffi_type_sint,
                  &ffi_type_sint, &ffi_type_sint, &ffi_type_sint,
                  &ffi_type_sint},
       .args = {&a_10[0], &a_10[1], &a_10[2], &a_10[3], &a_10[4], &a_10[5],
                &a_10[6], &a_10[7], &a_10[8], &a_10[9]},
       .addr = (void (*)(void))int10},
      {.name = "big24",
       .label = "`struct big24 big24(long, long)`, 24 bytes, in memory",
       .direct = direct_big24,
       .rtype = &big_type,
       .nargs = 2,
       .atypes = {&ffi_type_slong, &ffi_type_slong},
       .args = {&a_l[0], &a_l[1]},
       .addr = (void (*)(void))big24},
      {.name = "mix",
       .label = "`double mix(float, int, double, long)`",
       .direct = direct_mix,
       .rtype = &ffi_type_double,
       .nargs = 4,
       .atypes = {&ffi_type_float, &ffi_type_sint, &ffi_type_double,
                  &ffi_type_slong},
       .args = {&a_f, &a_i[0], &a_md, &a_l[0]},
       .addr = (void (*)(void))mix},
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

  const char *tsv_path = getenv("BENCH_TSV");
  FILE *tsv = tsv_path ? fopen(tsv_path, "w") : NULL;
  printf("%ld calls per sample, median of %d samples minus the empty "
         "loop's; ns per call.\n\n",
         n, reps);
  printf("| case | direct ns | ffi_call ns | mffi_call ns | routine ns | "
         "mffi_call (libffi path) ns | mffi/direct | routine/direct | "
         "ffi_call/mffi | mffi path |\n");
  printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  double add_direct = 0, add_ffi = 0, add_mffi = 0, worst = 0;
  for (size_t i = 0; i < ncases; i++) {
    cur = &cases[i];
    void (*const loops[])(long) = {cur->direct, loop_ffi, loop_fast,
                                   loop_routine, loop_mffi_ffi};
    double t[5];
    measure(loops, 5, n, reps, t);
    double d = t[0], f = t[1], m = t[2], rt = t[3], mf = t[4];
    if (m / d > worst) worst = m / d;
    int path = mffi_fn_path(cur->fast);
    const char *pname = path == MFFI_PATH_FAST  ? "fast"
                        : path == MFFI_PATH_FFI ? "libffi"
                                                : "other";
    printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2fx | %.2fx | %.2fx "
           "| %s |\n",
           cur->label, d, f, m, rt, mf, m / d, rt / d, f / m, pname);
    fflush(stdout);
    if (tsv)
      fprintf(tsv, "%s\t%.3f\t%.3f\t%.3f\t%s\n", cur->name, d, f, m, pname);
    if (strcmp(cur->name, "add") == 0) {
      add_direct = d;
      add_ffi = f;
      add_mffi = m;
    }
  }
  if (bench_qsort(ctx, lib, n, reps, tsv) != 0)
    return 1;
  if (tsv)
    fclose(tsv);
  printf("\nTargets (issue 3), `add`: mffi_call <= 2x direct: %s (%.2fx); "
         ">= 5x faster than ffi_call: %s (%.2fx).\n",
         add_mffi <= 2 * add_direct ? "met" : "NOT met", add_mffi / add_direct,
         add_ffi >= 5 * add_mffi ? "met" : "NOT met", add_ffi / add_mffi);
  printf("Targets (issue 11): every case <= 1.5x direct: %s (worst %.2fx); "
         "`add` <= 1.3x: %s (%.2fx).\n",
         worst <= 1.5 ? "met" : "NOT met", worst,
         add_mffi <= 1.3 * add_direct ? "met" : "NOT met",
         add_mffi / add_direct);
  mffi_close(lib_ffi);
  mffi_close(lib);
  mffi_ctx_free(ctx);
  return 0;
}
