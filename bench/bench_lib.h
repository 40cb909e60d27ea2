/* The functions of bench/bench_lib.c, called by the benchmarks. See LICENSE.
** bench/calls.c also gives them to mffi_cdef as text (BENCH_DECLS). */
#ifndef BENCH_LIB_H
#define BENCH_LIB_H

struct bench_pt {
  double x, y;
};
void nop(void);
int add(int a, int b);
double muladd(double a, double b, double c);
void *ptr6(void *a, void *b, void *c, void *d, void *e, void *f);
struct bench_pt pt_add(struct bench_pt a, struct bench_pt b);
unsigned long bench_strlen(const char *s);
void bench_touch(unsigned char *buf, unsigned long n);
struct bench_big24 {
  long a, b, c;
};
int int10(int a, int b, int c, int d, int e, int f, int g, int h, int i,
          int j);
struct bench_big24 big24(long a, long b);
double mix(float a, int b, double c, long d);
int bench_cmp_int(const void *a, const void *b);

#endif
