/* Generated code made known to gdb (gdbjit.c). See LICENSE. */
#ifndef MFFI_GDBJIT_H
#define MFFI_GDBJIT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether MFFI_GDB=1 asks for it (read once). */
bool mffi__gdbjit_on(void);
/* Describe to gdb the routine of size bytes at code, named name, whose
** unwind table (.eh_frame, absolute addresses) is ehsize bytes at eh.
** Nothing when off, or out of memory (gdb then does not see it).
** Thread-safe. */
void mffi__gdbjit_add(const void *code, size_t size, const void *eh,
                      size_t ehsize, const char *name);
/* Forget the routine at code, before its memory is reused. */
void mffi__gdbjit_remove(const void *code);

#endif
