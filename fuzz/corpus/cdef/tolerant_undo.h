struct fwd;
int f(int);
typedef float v4 __attribute__((vector_size(16)));
int f(int) __attribute__((nonnull));
int f(int) __attribute__((pure)), g(v4);
struct fwd { int a; } *h(v4);
int f(int) __attribute__((cold));
enum e { E1 = 1 } *k(v4);
enum e2 { E2 = E1 };
