/* The C printer: type and declaration text (print.c). See LICENSE. */
#ifndef MFFI_PRINT_H
#define MFFI_PRINT_H

#include "types.h"

/* A bounded writer with snprintf semantics: `len` counts every byte asked
** for, even those that did not fit. */
typedef struct mffi__sb {
  char *buf;
  size_t cap; /* Bytes available, including the NUL. */
  size_t len; /* Bytes written or wanted, excluding the NUL. */
} mffi__sb;

void mffi__sb_puts(mffi__sb *sb, const char *s);
void mffi__sb_printf(mffi__sb *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* C text for tid with an optional declarator name. */
void mffi__print_type(mffi__sb *sb, const mffi__tt *tt, mffi__tid tid,
                      const char *name);
/* C text for a declaration (see mffi_decl_str). */
void mffi__print_decl(mffi__sb *sb, const mffi__tt *tt, const mffi_decl *d);

#endif
