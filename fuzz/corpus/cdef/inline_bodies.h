static __inline int inl(int x) { const char *s = "}"; (void)s; return x + '}'; }
extern __inline __attribute__((__gnu_inline__)) int inl2(int x) { if (x) { return 1; } /* } */ return 0; }
__inline int inl4(void) { struct { int a; } v = { 1 }; return v.a; }
static inline __attribute__((always_inline)) unsigned bswap(unsigned x) { return __builtin_bswap32(x); }
int after_bodies(void);
