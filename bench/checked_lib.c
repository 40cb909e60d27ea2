/* The callee of bench/checked.c: a small buffer library. See LICENSE. */
#include <stdlib.h>

int cb_add(int a, int b) {
  return a + b;
}

unsigned char *cb_alloc(unsigned long n) {
  return calloc(1, n);
}

void cb_free(unsigned char *buf) {
  free(buf);
}

int cb_touch(unsigned char *buf, unsigned long n) {
  return n ? buf[n - 1] : 0;
}

int cb_peek(void *h) {
  return h != 0;
}
