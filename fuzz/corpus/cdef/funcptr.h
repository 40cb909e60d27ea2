void (*signal(int sig, void (*handler)(int)))(int);
int (*(*fpp)(void))[3];
typedef int (*(*cb_t)(int))(char);
int qsort_r(void *base, unsigned long n, unsigned long sz,
            int (*cmp)(const void *, const void *, void *), void *arg);
void (*a[3])(void);
void (*(*b)[3])(void);
int f(int (*(*(*)(int))(int))(int));
