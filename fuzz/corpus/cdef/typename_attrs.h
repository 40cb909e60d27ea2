typedef int __attribute__((mode(QI))) q;
int x[sizeof(int __attribute__((aligned(8))))];
char s[sizeof("a" "b")];
unsig\
ned in\
t y; // c \
int z;
#define D 1
#undef D
#define D 2
