typedef int T;
int f(T T);
int g(int (T));
void h(int n, int a[n]);
void k(int a[*]);
int m(register int a);
int p(int, ...);
