/* Shared helpers of the modffi command line. See LICENSE. */
#ifndef MFFI_CLI_H
#define MFFI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "modffi.h"

#define CLI_PROG "modffi" /* Program name in messages. */

/* Exit statuses of every command. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* The input was bad or an operation failed. */
#define CLI_EXIT_USAGE 2 /* Unknown command or option, missing operand. */

/* Print "modffi: MESSAGE\n" on stderr (printf-style). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a usage error for command cmd (NULL for the top level):
** "modffi: MESSAGE" and a hint to --help, on stderr. Returns
** CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The name under which a path is reported: "<stdin>" for "-". */
const char *cli_display_name(const char *path);

/* Read the whole of path ("-" for stdin) into a new NUL-terminated buffer
** from malloc: *out (freed by the caller) and its length *len (without the
** NUL). Returns 0, or -1 after printing "modffi: PATH: reason" (then *out is
** NULL). */
int cli_read_file(const char *path, char **out, size_t *len);

/* Report the last failure of ctx for input `where` (a file name, or
** another label): "modffi: WHERE:LINE:COL: message" for a parse or
** declaration error, "modffi: WHERE: message" otherwise. */
void cli_report(const mffi_ctx *ctx, const char *where);

/* The declarations skipped while reading (see mffi__cdef_tolerant in
** src/types.h): each is noted on stderr ("modffi: note: skipped 'NAME':
** FILE:LINE:COL: reason"), the first `limit` of them (0: all), and kept. */
typedef struct cli_skips {
  const char *where; /* Display name of the input being read. */
  size_t limit;      /* Notes printed at most (0: no limit). */
  char **names;      /* The names (strdup), n of them. */
  char **whys;       /* Their reasons, as noted. */
  size_t n, cap;
  bool oom; /* A name could not be kept. */
} cli_skips;

/* The callback of mffi__cdef_tolerant for a cli_skips (ud). */
void cli_note(void *ud, const char *name, const char *why);

/* Print "N more declarations skipped" if notes were held back. */
void cli_skips_summary(const cli_skips *sk);

/* Free what sk holds (not sk). */
void cli_skips_free(cli_skips *sk);

/* Feed text to ctx as input `where`: strictly (mffi_cdef) when sk is NULL,
** else tolerantly, noting the skipped declarations in sk. Returns 0, or
** -1 after reporting the failure (see cli_report). */
int cli_cdef_text(mffi_ctx *ctx, const char *text, size_t len,
                  const char *where, cli_skips *sk);

/* Read each of the n files and feed it to ctx, in order (see
** cli_cdef_text). Returns 0, or -1 after reporting the first failure. */
int cli_cdef_files(mffi_ctx *ctx, char *const *files, int n, cli_skips *sk);

/* A new context holding the declarations of the n files: *out (freed by
** the caller with mffi_ctx_free). The command line is tolerant: what
** cannot be represented is skipped and noted, in sk if given (else all
** notes are printed and none kept), strictly only with strict. Returns 0,
** or -1 after reporting the failure (*out is then NULL). */
int cli_load(char *const *files, int n, bool strict, cli_skips *sk,
             mffi_ctx **out);

/* True if arg is "--help" or "-h". */
bool cli_is_help(const char *arg);

/* Option parsing for the commands: a small getopt_long without globals.
** Options are long ("--name", "--name=value", "--name value") or a single
** letter ("-x"). "--" ends the options; "-" alone is an operand. Operands
** and options may be mixed; operands are collected in order in argv[1..]
** (the array is reordered in place). */
typedef struct cli_opt {
  const char *name; /* Long name without "--". */
  char letter;      /* Short letter, or 0. */
  bool has_arg;     /* Takes a value. */
  int id;           /* Returned by cli_getopt. */
} cli_opt;

typedef struct cli_args {
  int argc;
  char **argv;       /* argv[0] is the command name. */
  int next;          /* Next argument to look at. */
  int noperands;     /* Operands collected so far, in argv[1..]. */
  bool done;         /* Seen "--". */
  const char *value; /* The value of the last option with an argument. */
  const char *cmd;   /* Command name for messages. */
} cli_args;

/* Start parsing argv (argv[0] is the command name). */
void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv);

/* The id of the next option in opts (a table ending with a NULL name),
** 0 when there are no more options (then the operands are
** a->argv[1 .. a->noperands]), or -1 after a usage error was reported
** (unknown option, missing or unexpected value). */
int cli_getopt(cli_args *a, const cli_opt *opts);

/* The `modffi call` command (tools/modffi_call.c). argv[0] is "call".
** Returns the process exit status. */
int cli_call(int argc, char **argv);

/* The `modffi gen` command (tools/modffi_gen.c). argv[0] is "gen".
** Returns the process exit status. */
int cli_gen(int argc, char **argv);

/* The sandbox-info command (tools/modffi_sandbox_info.c). */
int cli_sandbox_info(int argc, char **argv);

#endif
