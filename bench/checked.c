/* The checked decorator's cost per call, against plain dynamic. See LICENSE.
**
** Usage: checked PATH/checked_lib.so [CALLS-PER-REP [REPS]]
** For each signature it measures ns per call of a direct call, mffi_call()
** through the dynamic strategy and mffi_call() through "checked" (over
** dynamic), and prints a Markdown table with the ratio checked/dynamic.
** The cases: `cb_add(int, int)` (no rule can apply: the checked routine
** forwards), `cb_peek(void *)` (unannotated pointer: looked up in the block
** table), and `cb_touch(buf, n)` with access(read_write, 1, 2) and
** nonnull(1) on a tracked block of 64 bytes among 100 live blocks (lookup,
** bounds and nonnull checks), the last on the same block each time and
** then on each of the 101 blocks in turn (the loops of every column then
** pick the next block too); last, an allocation and its release, where the
** checker updates its table (no target). Best of REPS repetitions, as
** bench/calls.c.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"
#include "modffi.h"

#define DECLS                                                                  \
  "int cb_add(int a, int b);\n"                                                \
  "void cb_free(unsigned char *buf);\n"                                        \
  "unsigned char *cb_alloc(unsigned long n)\n"                                 \
  "  __attribute__((malloc, malloc(cb_free, 1), alloc_size(1)));\n"            \
  "int cb_touch(unsigned char *buf, unsigned long n)\n"                        \
  "  __attribute__((access(read_write, 1, 2), nonnull(1)));\n"                 \
  "int cb_peek(void *h);\n"

int cb_add(int a, int b);
unsigned char *cb_alloc(unsigned long n);
void cb_free(unsigned char *buf);
int cb_touch(unsigned char *buf, unsigned long n);
int cb_peek(void *h);

#define DEFAULT_CALLS 200000L
#define DEFAULT_REPS 25
#define NBLOCKS 100 /* Live tracked blocks besides the one used. */

static volatile uintptr_t sink;
static int a_i[2] = {40, 2};
static unsigned char *a_buf;
static unsigned long a_n = 64;
static void *a_args[2];

static void direct_add(long n) {
  int acc = 0;
  for (long i = 0; i < n; i++)
    acc += cb_add(a_i[0], a_i[1]);
  sink = (uintptr_t)acc;
}

static void direct_peek(long n) {
  int acc = 0;
  for (long i = 0; i < n; i++)
    acc += cb_peek(a_buf);
  sink = (uintptr_t)acc;
}

static void direct_touch(long n) {
  int acc = 0;
  for (long i = 0; i < n; i++)
    acc += cb_touch(a_buf, a_n);
  sink = (uintptr_t)acc;
}

/* The rotating case: each call on the next of the tracked blocks. */
static unsigned char *blocks[NBLOCKS + 1];
static int rotate;

static void direct_touch_rot(long n) {
  int acc = 0, j = 0;
  for (long i = 0; i < n; i++) {
    acc += cb_touch(blocks[j], a_n);
    if (++j == NBLOCKS + 1) j = 0;
  }
  sink = (uintptr_t)acc;
}

static mffi_fn *fn_dyn, *fn_ck;

static void loop(mffi_fn *fn, long n) {
  int r = 0, acc = 0, j = 0;
  for (long i = 0; i < n; i++) {
    if (rotate) {
      a_buf = blocks[j];
      if (++j == NBLOCKS + 1) j = 0;
    }
    mffi_call(fn, &r, a_args);
    acc += r;
  }
  sink = (uintptr_t)acc;
}

static void loop_dyn(long n) {
  loop(fn_dyn, n);
}

static void loop_ck(long n) {
  loop(fn_ck, n);
}

/* The full path: an allocation and its release (the table changes). */
static mffi_fn *al_dyn, *fr_dyn, *al_ck, *fr_ck;

static void direct_pair(long n) {
  for (long i = 0; i < n; i++)
    cb_free(cb_alloc(a_n));
}

static void pair(mffi_fn *al, mffi_fn *fr, long n) {
  for (long i = 0; i < n; i++) {
    unsigned char *p = NULL;
    void *a[] = {&a_n}, *b[] = {&p};
    mffi_call(al, &p, a);
    mffi_call(fr, NULL, b);
  }
}

static void pair_dyn(long n) {
  pair(al_dyn, fr_dyn, n);
}

static void pair_ck(long n) {
  pair(al_ck, fr_ck, n);
}

static void measure(void (*const *loops)(long), int nloops, long n, int reps,
                    double *best) {
  for (int l = 0; l < nloops; l++) {
    loops[l](n / 10 + 1);
    best[l] = -1;
  }
  for (int r = 0; r < reps; r++)
    for (int l = 0; l < nloops; l++) {
      double t0 = now_ns();
      loops[l](n);
      double t = (now_ns() - t0) / (double)n;
      if (best[l] < 0 || t < best[l]) best[l] = t;
    }
}

static int bind(mffi_ctx *ctx, mffi_lib *lib, const char *name, mffi_fn **out) {
  int rc = mffi_bind(lib, name, out);
  if (rc != MFFI_OK)
    fprintf(stderr, "checked: bind %s: %s\n", name, mffi_errmsg(ctx));
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: checked PATH/checked_lib.so [CALLS [REPS]]\n");
    return 2;
  }
  long n = argc > 2 ? atol(argv[2]) : DEFAULT_CALLS;
  int reps = argc > 3 ? atoi(argv[3]) : DEFAULT_REPS;
  if (n <= 0 || reps <= 0) return 2;
  mffi_ctx *ctx = NULL;
  mffi_lib *dyn = NULL, *ck = NULL;
  const char decls[] = DECLS;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK ||
      mffi_cdef(ctx, decls, sizeof decls - 1) != MFFI_OK ||
      mffi_open(ctx, NULL, argv[1], NULL, &dyn) != MFFI_OK ||
      mffi_open(ctx, mffi_strategy_find("checked"), argv[1], NULL, &ck) !=
          MFFI_OK) {
    fprintf(stderr, "checked: %s\n", mffi_errmsg(ctx));
    return 1;
  }
  /* Blocks from the checked library, so that lookups search a table. */
  mffi_fn *alloc, *cfree;
  if (bind(ctx, ck, "cb_alloc", &alloc) || bind(ctx, ck, "cb_free", &cfree))
    return 1;
  for (int i = 0; i <= NBLOCKS; i++) {
    unsigned long sz = 64;
    void *a[] = {&sz};
    if (mffi_call(alloc, &blocks[i], a) != MFFI_OK) {
      fprintf(stderr, "checked: cb_alloc: %s\n", mffi_errmsg(ctx));
      return 1;
    }
  }
  a_buf = blocks[NBLOCKS / 2];

  struct {
    const char *name, *label;
    void (*direct)(long);
    void *args[2];
  } cases[] = {
      {"cb_add",
       "`int cb_add(int, int)`, unannotated",
       direct_add,
       {&a_i[0], &a_i[1]}},
      {"cb_peek",
       "`int cb_peek(void *)`, unannotated pointer",
       direct_peek,
       {&a_buf, NULL}},
      {"cb_touch",
       "`int cb_touch(buf, n)`, access(read_write, 1, 2), nonnull(1)",
       direct_touch,
       {&a_buf, &a_n}},
      {"cb_touch",
       "the same, each call on the next of the 101 blocks",
       direct_touch_rot,
       {&a_buf, &a_n}},
  };
  printf("%ld calls per repetition, best of %d; ns per call; %d live "
         "tracked blocks.\n\n",
         n, reps, NBLOCKS + 1);
  printf("| case | direct ns | dynamic ns | checked ns | checked/dynamic |\n");
  printf("|---|---:|---:|---:|---:|\n");
  double ratio[4];
  for (size_t i = 0; i < 4; i++) {
    rotate = i == 3;
    if (bind(ctx, dyn, cases[i].name, &fn_dyn) ||
        bind(ctx, ck, cases[i].name, &fn_ck))
      return 1;
    a_args[0] = cases[i].args[0];
    a_args[1] = cases[i].args[1];
    int r1 = -1, r2 = -2;
    if (mffi_call(fn_dyn, &r1, a_args) != MFFI_OK ||
        mffi_call(fn_ck, &r2, a_args) != MFFI_OK || r1 != r2) {
      fprintf(stderr, "checked: %s: results differ (%s)\n", cases[i].name,
              mffi_errmsg(ctx));
      return 1;
    }
    void (*const loops[])(long) = {cases[i].direct, loop_dyn, loop_ck};
    a_buf = blocks[NBLOCKS / 2];
    double t[3];
    measure(loops, 3, n, reps, t);
    ratio[i] = t[2] / t[1];
    printf("| %s | %.2f | %.2f | %.2f | %.2fx |\n", cases[i].label, t[0], t[1],
           t[2], ratio[i]);
    fflush(stdout);
    mffi_fn_free(fn_dyn);
    mffi_fn_free(fn_ck);
  }
  if (bind(ctx, dyn, "cb_alloc", &al_dyn) || bind(ctx, dyn, "cb_free", &fr_dyn))
    return 1;
  al_ck = alloc;
  fr_ck = cfree;
  {
    void (*const loops[])(long) = {direct_pair, pair_dyn, pair_ck};
    double t[3];
    measure(loops, 3, n, reps, t);
    printf("| `cb_free(cb_alloc(64))`, malloc(cb_free, 1), alloc_size(1): "
           "the table changes | %.2f | %.2f | %.2f | %.2fx |\n",
           t[0], t[1], t[2], t[2] / t[1]);
  }
  double worst = ratio[2] > ratio[3] ? ratio[2] : ratio[3];
  printf("\nTargets (issue 8): unannotated <= 1.1x dynamic: %s (%.2fx); "
         "annotated <= 3x dynamic: %s (%.2fx, the worse of the two "
         "cb_touch rows).\n",
         ratio[0] <= 1.1 ? "met" : "NOT met", ratio[0],
         worst <= 3 ? "met" : "NOT met", worst);
  for (int i = 0; i <= NBLOCKS; i++) {
    void *a[] = {&blocks[i]};
    mffi_call(cfree, NULL, a);
  }
  mffi_close(ck);
  mffi_close(dyn);
  mffi_ctx_free(ctx);
  return 0;
}
