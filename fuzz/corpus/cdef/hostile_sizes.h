struct s { char a[0x7fffffffffffffff]; char b[0x7fffffffffffffff]; };
int a[0x7fffffffffffffff][0x7fffffffffffffff];
struct t { long long x : 65; };
typedef int al __attribute__((aligned(3)));
