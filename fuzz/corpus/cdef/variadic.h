typedef __builtin_va_list va_list;
int printf(const char *restrict fmt, ...);
int open(const char *, int, ...);
int vprintf(const char *, va_list);
void nothing(void);
int old();
int execl(const char *path, const char *arg, ...) __attribute__((__sentinel__));
