/* Stub generator behind `modffi gen`. See LICENSE.
**
** From the declarations of a context, writes the three files of a binding
** called N (see docs/generated-api.md):
**   N_mffi.h         the typed API, and its direct (static inline) mode;
**   N_mffi.c         wrappers dispatching through the strategy opened;
**   N_mffi_static.c  the static strategy's table, compiled against the
**                    real header, with _Static_assert type and layout checks.
*/
#ifndef MFFI_GEN_H
#define MFFI_GEN_H

#include <stddef.h>

#include "modffi.h"

typedef struct mffi__gen_opts {
  const char *name;    /* N: a C identifier, prefix of everything emitted. */
  const char *header;  /* The header as the user named it (messages). */
  const char *include; /* What follows #include: "<zlib.h>" or "\"/p.h\"". */
  const char *only;    /* POSIX extended regex on function/variable names,
                          or NULL for every one. */
  const char *target;  /* Default dynamic target (soname), or NULL for the
                          running process. */
  const char *outdir;  /* Directory the files are written to. */
  /* Whether the library exports symbol sym (1) or not (0); NULL when
  ** unknown. The static table references unexported or unknown symbols
  ** weakly, so it links against whatever subset the library has. */
  int (*xExported)(void *ud, const char *sym);
  void *ud;        /* For xExported. */
  const char *std; /* The -std= mode H was preprocessed in, or NULL. */
  /* Typed wrappers of variadic functions at fixed extra argument types:
  ** each "NAME=F(T1, T2...)" makes N_NAME(F's parameters, T1, T2...). */
  const char *const *variadic;
  size_t nvariadic;
} mffi__gen_opts;

/* What was generated, for the caller's summary. */
typedef struct mffi__gen_stats {
  size_t nfuncs;     /* Functions bound (variadic ones: static only). */
  size_t nvars;      /* Variables (static table only). */
  size_t nskipped;   /* Selected but not bindable (listed in N_mffi.h). */
  size_t nstructs;   /* Structs and unions whose layout is asserted. */
  size_t ninstances; /* --variadic wrappers. */
} mffi__gen_stats;

/* Write N_mffi.h, N_mffi.c and N_mffi_static.c for the declarations of ctx
** selected by o->only (functions and variables, and the types they reach)
** into o->outdir. stats may be NULL. All memory comes from ctx's
** allocator (regcomp excepted). Returns MFFI_OK; MFFI_EMISUSE (bad name);
** MFFI_EPARSE (bad regex); MFFI_ENOTFOUND (nothing selected); MFFI_EIO
** (cannot write, with the path and reason); MFFI_ENOMEM. The detail is in
** mffi_errmsg(ctx). Adds pointer types to ctx's table. */
int mffi__gen(mffi_ctx *ctx, const mffi__gen_opts *o, mffi__gen_stats *stats);

#endif
