extern int rn(const char *p) __asm__("" "rn_impl");
extern int rn2(const char *p) __asm("rn2_impl") __attribute__((pure));
extern int rn3 __asm__("rn3_impl");
typedef struct _IO_FILE FILE;
extern FILE *fopen(const char *restrict, const char *restrict) __asm__("" "fopen64") __attribute__((__malloc__));
