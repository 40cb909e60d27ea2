int a
int b;
struct s { int a; }};
int f(int a;
