struct s { int a; };
struct s { int b; };
typedef int t;
typedef long t;
