char a[12\
34];
char b[0x\
1\
0];
char c[1 <\
< 3];
char d[sizeof "a\
b" "c"];
unsig\
ned in\
t x;
int y; // comment \
int hidden;
#define K 1\
2
char e[K];
int z = 1 =\
= 1;
typedef float v4 __attribute__((vector_\
size(16)));
v4 va\
dd(v4 a);
int p -\
> q;
