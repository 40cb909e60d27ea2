extern int errno_like;
extern char **environ;
extern volatile int flag;
int counter;
extern int a1 __attribute__((unused)), a2;
extern struct point { int x, y; } origin;
static const int local_const;
_Thread_local int tls;
__thread int tls2;
