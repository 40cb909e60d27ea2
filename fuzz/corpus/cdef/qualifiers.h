const int ci; volatile int vi; const volatile int cvi;
int *restrict rp; int *__restrict rp2; int *__restrict__ rp3;
char *const cp; const char *pc; const char *const cpc;
__const int c2; __volatile__ int v2; __signed__ int s2;
void q(const volatile int *restrict p, int *__restrict q, int *__restrict__ r);
void *const volatile restrict all;
