/* The clock and the sort every benchmark program uses. See LICENSE. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

#include <time.h>

/* Now, in ns, on the monotonic clock. */
static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* qsort() order of doubles, for medians. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#endif
