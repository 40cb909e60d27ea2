/* C values on the command line: parse and print by type. See LICENSE.
**
** Used by `modffi call`. A value is parsed from text by the type it must
** have: integers (decimal, hex, octal, negative, enumerator names, 'c'),
** floating literals (inf, nan, hex floats), pointers (NULL, an address, a
** C string literal for char pointers, &INIT for a pointer to a temporary),
** and structs, unions and arrays as C initializers, designated
** ({.x = 1, .y = 2.5}, [2] = 7) or positional. Printing writes C syntax.
*/
#ifndef MFFI_CLI_VALUE_H
#define MFFI_CLI_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "modffi.h"

#define CV_ERRMAX 256                   /* Max. bytes of an error message. */
#define CV_MAX_OBJECT ((size_t)1 << 30) /* Max. bytes of one argument. */

/* A pointer argument made from &INIT, printed after the call. */
typedef struct cv_out {
  int arg;               /* 1-based argument number. */
  const mffi_type *type; /* The pointee type. */
  size_t n;              /* Objects at obj: 1, or the length of &{...}. */
  void *obj;
} cv_out;

/* Parser state: the context (for enumerators) and the temporaries it
** allocates (strings, &INIT objects), freed by cv_free. */
typedef struct cv_state {
  mffi_ctx *ctx;
  void **tmp;
  size_t ntmp, captmp;
  cv_out *outs; /* Top-level &INIT arguments, in order. */
  size_t nouts, capouts;
  char err[CV_ERRMAX];
} cv_state;

void cv_init(cv_state *st, mffi_ctx *ctx);
void cv_free(cv_state *st);

/* Parse text as a value of type t into dst (sizeof t bytes, zeroed by the
** caller). top: a whole command-line argument, where a char pointer takes
** the text itself unless it is NULL or starts with '"'. arg > 0 records a
** top-level &INIT as an out-parameter of that argument number. Returns 0,
** or -1 with st->err set. */
int cv_parse(cv_state *st, const mffi_type *t, const char *text, void *dst,
             int arg);

/* Print the out-parameters: "argN = VALUE" lines. */
void cv_print_outs(FILE *f, const cv_state *st);

/* The type a variadic argument written as text gets: int (or long long
** when it does not fit), double, char * for strings, void * for NULL.
** Returns NULL with st->err set if it cannot tell. */
const mffi_type *cv_guess(cv_state *st, const char *text);

/* Print the value of type t at src in C syntax. */
void cv_print(FILE *f, const mffi_type *t, const void *src);

#endif
