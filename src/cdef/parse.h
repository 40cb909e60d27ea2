/* The parser's entry points for the rest of the library and the command
** line (cdef/parse.c). See LICENSE. */
#ifndef MFFI_CDEF_PARSE_H
#define MFFI_CDEF_PARSE_H

#include "../types.h"

/* Called for each declaration skipped by mffi__cdef_tolerant: the first
** name it declares ("" if none) and why ("FILE:LINE:COL: reason"). */
typedef void (*mffi__cdef_note_fn)(void *ud, const char *name, const char *why);

/* A byte range [from, to) of the text that a tolerant parse left out: it
** is blanked in the text logged for the strategies. */
typedef struct mffi__cdef_range {
  size_t from, to;
} mffi__cdef_range;

/* The tolerant parse's state: where notes go, and the ranges of the text
** that were left out (owned, from ctx's allocator). */
typedef struct mffi__cdef_skips {
  mffi__cdef_note_fn note;
  void *ud;
  mffi__cdef_range *ranges;
  size_t nranges;
  size_t capranges;
} mffi__cdef_skips;

/* Parse declarations (see mffi_cdef); the caller runs the transaction.
** With sk, a top-level declaration that cannot be represented
** (MFFI_EUNSUPPORTED), or that fails and names what an earlier one of
** them declared, is skipped and reported to sk->note. */
int mffi__cdef_parse(struct mffi_ctx *ctx, const char *src, size_t len,
                     mffi__cdef_skips *sk);

/* mffi_cdef for the command line: the same transaction, except that a
** top-level declaration that cannot be represented is skipped rather than
** failing the call. A declaration is skipped when it fails with
** MFFI_EUNSUPPORTED, or fails in any way except MFFI_ENOMEM and names
** (as a type, tag or identifier) what a skipped one declared; note(ud,
** name, why) is called for each (note may be NULL). The text logged for
** the strategies (mffi_lib_cdef_text) has the skipped declarations
** blanked out, lines kept, so that it parses strictly. Returns as
** mffi_cdef. */
int mffi__cdef_tolerant(struct mffi_ctx *ctx, const char *src, size_t len,
                        mffi__cdef_note_fn note, void *ud);
/* Parse a type name (see mffi_typeof). */
int mffi__cdef_typename(struct mffi_ctx *ctx, const char *src, size_t len,
                        mffi__tid *out);

#endif
