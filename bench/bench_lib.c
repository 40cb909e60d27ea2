/* The callee library of bench/calls.c. See LICENSE.
**
** Built as a shared object and linked normally, so the direct calls go
** through the PLT like any call into a library. Each function does the
** least work that still depends on every argument.
*/
#include <stdint.h>

#include "bench_lib.h"

void nop(void) {}

int add(int a, int b) { return a + b; }

double muladd(double a, double b, double c) { return a * b + c; }

void *ptr6(void *a, void *b, void *c, void *d, void *e, void *f) {
  return (void *)((uintptr_t)a ^ (uintptr_t)b ^ (uintptr_t)c ^ (uintptr_t)d ^
                  (uintptr_t)e ^ (uintptr_t)f);
}

/* GCC's SLP vectorizer packs the two adds into one vector op through the
** stack, and the store-forwarding stall that follows would dwarf the call
** being measured: keep the plain scalar code. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-slp-vectorize")))
#endif
struct bench_pt
pt_add(struct bench_pt a, struct bench_pt b) {
  struct bench_pt r = {a.x + b.x, a.y + b.y};
  return r;
}

unsigned long bench_strlen(const char *s) {
  unsigned long n = 0;
  while (s[n])
    n++;
  return n;
}

/* Reads and writes every byte: a buffer in and out. */
void bench_touch(unsigned char *buf, unsigned long n) {
  for (unsigned long i = 0; i < n; i += 4096)
    buf[i] ^= 1;
  if (n) buf[n - 1] ^= 1;
}

int int10(int a, int b, int c, int d, int e, int f, int g, int h, int i,
          int j) {
  return a + b + c + d + e + f + g + h + i + j;
}

/* 24 bytes: class MEMORY (SysV x86-64 psABI 3.2.3), returned through a
** hidden pointer. */
struct bench_big24 big24(long a, long b) {
  struct bench_big24 r = {a, b, a + b};
  return r;
}

double mix(float a, int b, double c, long d) {
  return (double)a + b + c + (double)d;
}

/* The comparator the qsort rows sort with, for the direct row. */
int bench_cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}
