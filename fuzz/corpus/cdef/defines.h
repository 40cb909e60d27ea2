#define FOO 42
#define BAR (FOO * 2 + 1)
#define NEG (-5)
#define HEX 0xffu
#define BIG 0x7fffffffffffffffLL
#define CH 'A'
#define SHIFT (1 << 4)
  #  define SPACED 7
#define SZ sizeof(long)
#define FLOATY 1.5
#define STR "text"
#define FN(x) ((x) + 1)
#define EMPTY
#define KW int
#undef FOO
# 1 "foo.h" 3 4
#pragma GCC visibility push(default)
#line 3
int after_defines;
