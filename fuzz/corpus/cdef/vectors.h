typedef float v4 __attribute__((vector_size(16)));
typedef char c4 __attribute__((mode(V4QI)));
struct r { char c; v4 x[2]; char __attribute__((vector_size(4))) *p; };
v4 f(v4);
