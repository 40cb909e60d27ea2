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

/* Reads the extern variable d (n bytes) into dst for a value that names
** it: 0, or -1 with a message in err (CV_ERRMAX bytes). */
typedef int cv_read_var_fn(void *ud, const mffi_decl *d, void *dst, size_t n,
                           char *err);

/* Parser state: the context (for enumerators) and the temporaries it
** allocates (strings, &INIT objects), freed by cv_free. */
typedef struct cv_state {
  mffi_ctx *ctx;
  cv_read_var_fn *read_var; /* NULL: names of variables are not values. */
  void *ud;                 /* For read_var. */
  unsigned nexpr;           /* Expressions evaluated so far (their names). */
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

/* The type an argument without a parameter (variadic, or of a function
** declared without a prototype) is passed as, by C's rules for what the
** text is: a cast "(T)V" gives T, and *rest then points at V (else at
** text); an integer literal, character constant, constant name or integer
** constant expression gives int (or the literal's type by its suffix and
** size), a floating literal double (float, long double by suffix), a
** string literal or other text char *, NULL void *, the name of an extern
** variable its type. Returns NULL with st->err set for text that is none
** of these unambiguously (&INIT, a malformed number). */
const mffi_type *cv_guess(cv_state *st, const char *text, const char **rest);

/* True if s is one C identifier. */
bool cv_is_ident(const char *s);

/* Print the value of type t at src in C syntax. */
void cv_print(FILE *f, const mffi_type *t, const void *src);

/* Print a result of type t at src for people: as cv_print, except that a
** char pointer prints as a C string literal (NULL as NULL; with address,
** its address before it) and an enum value as its enumerator's name. */
void cv_print_result(FILE *f, const mffi_type *t, const void *src,
                     bool address);

#endif
