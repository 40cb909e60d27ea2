extern int grid[4][5];
extern char *tzname[2];
extern const char *const sys_errlist[];
typedef int (*parr)[5];
typedef int *arrp[5];
typedef char buf_t[sizeof(int) * 4 + (1 ? 2 : 3)];
typedef const buf_t cbuf_t;
int f(int a[10], int b[static 4], int c[const 2], int d[][3]);
