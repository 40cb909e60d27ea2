typedef int T;
struct s { T T; };
enum { T2 = sizeof(T) };
typedef T U[T2];
U u;
