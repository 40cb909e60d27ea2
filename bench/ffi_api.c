/* libffi's API, on libffi and on modffi: one source, linked twice.
** See LICENSE.
**
** Usage: ffi_api_libffi | ffi_api_modffi [CALLS-PER-REP [REPS]]
** scripts/bench.sh builds this file against <ffi.h> twice: with -lffi and
** with -lmodffi_ffi (compat/libffi, docs/libffi-api.md). Each binary times
** ffi_call() with a prepared cif on the signatures of bench/calls.c (the
** callee library bench/bench_lib.so) and a qsort() of 64 ints through an
** ffi_closure comparator, and prints "case<TAB>ns" lines: ns per call (per
** comparison for qsort), the median of REPS samples minus the median of an
** empty loop, as calls.c measures. Results are checked first.
*/
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_lib.h"
#include "bench_time.h"

#define NCASE 8
#define MAXREPS 101
#define NSORT 64

static ffi_type *pt_el[] = {&ffi_type_double, &ffi_type_double, NULL};
static ffi_type pt_t = {0, 0, FFI_TYPE_STRUCT, pt_el};
static ffi_type *big_el[] = {&ffi_type_sint64, &ffi_type_sint64,
                             &ffi_type_sint64, NULL};
static ffi_type big_t = {0, 0, FFI_TYPE_STRUCT, big_el};

typedef struct fcase {
  const char *name;
  void (*fn)(void);
  ffi_type *rtype;
  unsigned nargs;
  ffi_type *atypes[10];
  void *args[10];
  ffi_cif cif;
} fcase;

static int a_i[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static double a_d[3] = {1.5, 2.0, 0.25};
static void *a_p[6] = {(void *)0x1000, (void *)0x2000, (void *)0x3000,
                       (void *)0x4000, (void *)0x5000, (void *)0x6000};
static struct bench_pt a_pt[2] = {{1, 2}, {3, 4}};
static long a_l[2] = {40, 2};
static float a_f = 1.5f;
static int a_40 = 40;

static union {
  ffi_arg w;
  double d;
  void *p;
  struct bench_pt pt;
  struct bench_big24 big;
} ret;
static volatile uintptr_t sink;
static fcase cases[NCASE];
static fcase *cur;

static void setup(void) {
  ffi_type *I = &ffi_type_sint32, *D = &ffi_type_double,
           *P = &ffi_type_pointer, *L = &ffi_type_sint64;
  fcase c[NCASE] = {
      {"nop", FFI_FN(nop), &ffi_type_void, 0, {0}, {0}, {0}},
      {"add", FFI_FN(add), I, 2, {I, I}, {&a_i[0], &a_i[1]}, {0}},
      {"muladd", FFI_FN(muladd), D, 3, {D, D, D},
       {&a_d[0], &a_d[1], &a_d[2]}, {0}},
      {"ptr6", FFI_FN(ptr6), P, 6, {P, P, P, P, P, P},
       {&a_p[0], &a_p[1], &a_p[2], &a_p[3], &a_p[4], &a_p[5]}, {0}},
      {"pt_add", FFI_FN(pt_add), &pt_t, 2, {&pt_t, &pt_t},
       {&a_pt[0], &a_pt[1]}, {0}},
      {"int10", FFI_FN(int10), I, 10, {I, I, I, I, I, I, I, I, I, I},
       {&a_i[0], &a_i[1], &a_i[2], &a_i[3], &a_i[4], &a_i[5], &a_i[6],
        &a_i[7], &a_i[8], &a_i[9]},
       {0}},
      {"big24", FFI_FN(big24), &big_t, 2, {L, L}, {&a_l[0], &a_l[1]}, {0}},
      {"mix", FFI_FN(mix), D, 4, {&ffi_type_float, I, D, L},
       {&a_f, &a_40, &a_d[2], &a_l[0]}, {0}},
  };
  memcpy(cases, c, sizeof c);
  for (int i = 0; i < NCASE; i++)
    if (ffi_prep_cif(&cases[i].cif, FFI_DEFAULT_ABI, cases[i].nargs,
                     cases[i].rtype, cases[i].atypes) != FFI_OK) {
      fprintf(stderr, "ffi_api: ffi_prep_cif %s failed\n", cases[i].name);
      exit(1);
    }
}

static int check(void) {
  ffi_call(&cases[1].cif, cases[1].fn, &ret, cases[1].args);
  int ok = (int)ret.w == 3;
  ffi_call(&cases[4].cif, cases[4].fn, &ret, cases[4].args);
  ok &= ret.pt.x == 4 && ret.pt.y == 6;
  ffi_call(&cases[5].cif, cases[5].fn, &ret, cases[5].args);
  ok &= (int)ret.w == 55;
  ffi_call(&cases[6].cif, cases[6].fn, &ret, cases[6].args);
  ok &= ret.big.c == 42;
  ffi_call(&cases[7].cif, cases[7].fn, &ret, cases[7].args);
  ok &= ret.d == mix(a_f, a_40, a_d[2], a_l[0]);
  return ok;
}

static void loop_empty(long n) {
  for (long i = 0; i < n; i++)
    __asm__ volatile("" ::: "memory");
}

static void loop_call(long n) {
  for (long i = 0; i < n; i++)
    ffi_call(&cur->cif, cur->fn, &ret, cur->args);
  sink = (uintptr_t)ret.w;
}

/* -- qsort through a closure ------------------------------------------ */

static int sort_src[NSORT], sort_buf[NSORT];
static int (*sort_cmp)(const void *, const void *);

static void cmp_fun(ffi_cif *cif, void *r, void **args, void *data) {
  (void)cif;
  (void)data;
  int x = **(const int **)args[0], y = **(const int **)args[1];
  *(ffi_arg *)r = (ffi_arg)(ffi_sarg)((x > y) - (x < y));
}

static void loop_sort_empty(long n) {
  for (long i = 0; i < n; i++) {
    memcpy(sort_buf, sort_src, sizeof sort_buf);
    __asm__ volatile("" ::: "memory");
  }
}

static void loop_sort(long n) {
  for (long i = 0; i < n; i++) {
    memcpy(sort_buf, sort_src, sizeof sort_buf);
    qsort(sort_buf, NSORT, sizeof *sort_buf, sort_cmp);
  }
  sink = (uintptr_t)sort_buf[0];
}

static long ncmp; /* Comparisons a sort makes (counted once). */
static int counting_cmp(const void *a, const void *b) {
  ncmp++;
  return bench_cmp_int(a, b);
}

/* Median ns per iteration of loop minus that of empty, over reps samples
** of n iterations taking turns. */
static double measure(void (*loop)(long), void (*empty)(long), long n,
                      int reps) {
  static double t[2][MAXREPS];
  void (*both[2])(long) = {empty, loop};
  for (int l = 0; l < 2; l++)
    both[l](n / 10 + 1);
  for (int r = 0; r < reps; r++)
    for (int l = 0; l < 2; l++) {
      double t0 = now_ns();
      both[l](n);
      t[l][r] = (now_ns() - t0) / (double)n;
    }
  qsort(t[0], (size_t)reps, sizeof(double), cmp_double);
  qsort(t[1], (size_t)reps, sizeof(double), cmp_double);
  return t[1][reps / 2] - t[0][reps / 2];
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int reps = argc > 2 ? atoi(argv[2]) : 25;
  if (n < 1) n = 1;
  if (reps < 1 || reps > MAXREPS) reps = 25;
  setup();
  if (!check()) {
    fprintf(stderr, "ffi_api: a call returned a wrong value\n");
    return 1;
  }
  for (int i = 0; i < NCASE; i++) {
    cur = &cases[i];
    printf("%s\t%.3f\n", cur->name, measure(loop_call, loop_empty, n, reps));
  }
  unsigned x = 12345;
  for (int i = 0; i < NSORT; i++) {
    x = x * 1103515245u + 12345u;
    sort_src[i] = (int)(x >> 8);
  }
  ffi_cif cif;
  ffi_type *at[] = {&ffi_type_pointer, &ffi_type_pointer};
  void *code;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  if (!cl ||
      ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, at) != FFI_OK ||
      ffi_prep_closure_loc(cl, &cif, cmp_fun, NULL, code) != FFI_OK) {
    fprintf(stderr, "ffi_api: cannot make the closure\n");
    return 1;
  }
  sort_cmp = counting_cmp;
  loop_sort(1);
  long per_sort = ncmp;
  sort_cmp = (int (*)(const void *, const void *))code;
  loop_sort(1);
  for (int i = 1; i < NSORT; i++)
    if (sort_buf[i - 1] > sort_buf[i]) {
      fprintf(stderr, "ffi_api: the closure sorts wrong\n");
      return 1;
    }
  long ns = n / per_sort + 1;
  printf("qsort\t%.3f\n",
         measure(loop_sort, loop_sort_empty, ns, reps) / (double)per_sort);
  ffi_closure_free(cl);
  return 0;
}
