typedef struct _IO_FILE FILE;
extern FILE *stdin, *stdout, *stderr;
extern int fprintf (FILE *__restrict __stream, const char *__restrict __format, ...);
extern int sprintf (char *__restrict __s, const char *__restrict __format, ...) __attribute__ ((__nothrow__));
extern int snprintf (char *__restrict __s, unsigned long __maxlen, const char *__restrict __format, ...) __attribute__ ((__nothrow__)) __attribute__ ((__format__ (__printf__, 3, 4)));
extern FILE *fopen (const char *__restrict __filename, const char *__restrict __modes) __attribute__ ((__malloc__)) __attribute__ ((__malloc__ (fclose, 1))) ;
extern int fclose (FILE *__stream);
