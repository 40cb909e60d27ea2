typedef float v4 __attribute__((vector_size(16)));
typedef _Atomic(int) atomic_t;
typedef int big_t __attribute__((mode(OI)));
struct holds { atomic_t v; int n; };
typedef struct { big_t b; } wrap_t;
wrap_t *wrap_new(void);
v4 vadd(v4 a,
#pragma pack(1)
#define MID 7
        v4 b);
struct p { char c; int i; };
extern __inline v4 vzero(void) { return (v4){0}; }
struct outer { struct holds h; };
int takes(struct holds *h);
enum { FLAGS = (int)1.5 };
int good(int x), bad(v4), also(int);
