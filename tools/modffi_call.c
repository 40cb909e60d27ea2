/* `modffi call`: call a C function from the command line. See LICENSE. */
#define _GNU_SOURCE /* strerrorname_np */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "modffi_strategy.h"
#include "modffi_value.h"

#define CALL_MAXLIBS 32  /* Max. -l options. */
#define CALL_MAXCDEFS 32 /* Max. --cdef options. */

static const char call_usage[] =
    "Usage: " CLI_PROG " call [OPTION]... DECL-OR-NAME [ARG]...\n"
    "\n"
    "Call a C function in a shared library and print its return value.\n"
    "DECL-OR-NAME is a declaration ('double pow(double, double)') or the\n"
    "name of a function or variable declared in a --cdef file.\n"
    "\n"
    "Options (before DECL-OR-NAME):\n"
    "  -l, --lib LIB       library to search (path or soname; repeatable;\n"
    "                      default: the running process, libc included)\n"
    "  --cdef FILE         read declarations from FILE (repeatable)\n"
    "  --strategy NAME     how to link: dynamic (default), static, remote,\n"
    "                      checked[:INNER] (the declared rules enforced,\n"
    "                      over dynamic or INNER; see docs/checked.md)\n"
    "  --timeout MS        remote: deadline of the call in milliseconds\n"
    "  --policy POLICY     remote: compute (default) or files:DIR\n"
    "  --ffi               call through libffi, not the register fast path\n"
    "  --errno             print 'errno = N (ENAME: text)' after the call\n"
    "  --address           print a string result's address before it\n"
    "  -h, --help          show this help\n"
    "\n"
    "Each ARG is parsed by the type of its parameter:\n"
    "  integers   42, -7, 0x2a, 'c', '\\xff', constant and enumerator names,\n"
    "             integer constant expressions: 'O_CREAT|O_WRONLY',\n"
    "             'sizeof(struct stat)', '1 << 4'\n"
    "  floats     2.5, 1e-3, 1.5f, 0x1.8p+1, inf, -inf, nan (also _Float16\n"
    "             and _Float128, read and printed to their precision)\n"
    "  complex    {re, im}: '{-9, 0}' (as it prints)\n"
    "  char *     the text itself; a C string literal if it starts with \";\n"
    "             NULL is a null pointer\n"
    "  const void * the text's bytes, with C escapes ('abc\\n'); NULL, an\n"
    "             address or &INIT as for other pointers\n"
    "  pointers   NULL, an address, &INIT: a pointer to a temporary set to\n"
    "             INIT (&{1, 2, 3} makes an array), or &TYPE: a zeroed\n"
    "             temporary ('&char[256]'); both print as 'argN = VALUE'\n"
    "             after the call\n"
    "  aggregates C initializers: {.x = 1, .y = 2.5}, {1, 2.5}, {[2] = 7};\n"
    "             vectors as arrays: {1, 2, 3, 4.5}\n"
    "  any        the name of an extern variable declared in --cdef (stdout)\n"
    "Arguments without a parameter (after the fixed ones of a variadic\n"
    "function, or of one declared without a prototype such as 'double\n"
    "sqrt()') take the type C gives what they are: a cast sets it\n"
    "('(long double)1.5', '(char)65', '(size_t)3'); an integer literal,\n"
    "character constant or constant is an int (or the literal's type:\n"
    "5000000000 is a long, 7u unsigned), a floating literal a double (1.5f\n"
    "a float, 1.5L a long double), a string literal, NULL or other text a\n"
    "char * (so inf is a string: write '(double)inf'). They are passed with\n"
    "C's default argument promotions.\n"
    "The typedefs size_t, ssize_t, ptrdiff_t, off_t, intN_t, uintN_t,\n"
    "intptr_t, uintptr_t, FILE and va_list are known without --cdef.\n"
    "The last line printed is the return value in C syntax (nothing for\n"
    "void); a char * result prints as a string literal, an enum value as\n"
    "its enumerator.\n";

/* Options of one invocation. */
typedef struct call_opts {
  const char *libs[CALL_MAXLIBS];
  int nlibs;
  char *cdefs[CALL_MAXCDEFS];
  int ncdefs;
  const char *strategy;
  bool ffi;
  bool print_errno; /* --errno */
  bool address;     /* --address */
  mffi_remote_opts remote; /* For --strategy remote. */
} call_opts;

/* The value of option `name` at argv[*i] ("--name=V", "--name V", "-lV",
** "-l V"), or NULL after a usage error. */
static const char *call_optval(int argc, char **argv, int *i, size_t namelen) {
  const char *a = argv[*i];
  if (a[namelen] == '=') return a + namelen + 1;
  if (a[namelen] != '\0' && a[1] != '-') return a + namelen; /* -lfoo */
  if (*i + 1 >= argc) {
    cli_usage_error("call", "option '%s' needs a value", a);
    return NULL;
  }
  return argv[++*i];
}

/* Parse the options; *first gets the index of DECL-OR-NAME. Returns -1 to
** continue, or an exit status. */
static int call_parse_opts(int argc, char **argv, call_opts *o, int *first) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') break;
    if (cli_is_help(a)) {
      fputs(call_usage, stdout);
      return CLI_EXIT_OK;
    }
    const char *v;
    if (strncmp(a, "-l", 2) == 0 || strncmp(a, "--lib", 5) == 0) {
      if (a[1] == '-' && a[5] != '\0' && a[5] != '=') goto unknown;
      v = call_optval(argc, argv, &i, a[1] == '-' ? 5 : 2);
      if (!v) return CLI_EXIT_USAGE;
      if (o->nlibs == CALL_MAXLIBS)
        return cli_usage_error("call", "too many libraries");
      o->libs[o->nlibs++] = v;
    } else if (strncmp(a, "--cdef", 6) == 0 && (!a[6] || a[6] == '=')) {
      v = call_optval(argc, argv, &i, 6);
      if (!v) return CLI_EXIT_USAGE;
      if (o->ncdefs == CALL_MAXCDEFS)
        return cli_usage_error("call", "too many --cdef files");
      o->cdefs[o->ncdefs++] = (char *)v;
    } else if (strncmp(a, "--strategy", 10) == 0 && (!a[10] || a[10] == '=')) {
      v = call_optval(argc, argv, &i, 10);
      if (!v) return CLI_EXIT_USAGE;
      o->strategy = v;
    } else if (strncmp(a, "--timeout", 9) == 0 && (!a[9] || a[9] == '=')) {
      v = call_optval(argc, argv, &i, 9);
      if (!v) return CLI_EXIT_USAGE;
      char *end;
      unsigned long ms = strtoul(v, &end, 10);
      if (!*v || *end || ms > 86400000ul)
        return cli_usage_error("call", "--timeout needs milliseconds, not '%s'",
                               v);
      o->remote.timeout_ms = (unsigned)ms;
    } else if (strncmp(a, "--policy", 8) == 0 && (!a[8] || a[8] == '=')) {
      v = call_optval(argc, argv, &i, 8);
      if (!v) return CLI_EXIT_USAGE;
      o->remote.policy = v;
    } else if (strcmp(a, "--ffi") == 0) {
      o->ffi = true;
    } else if (strcmp(a, "--errno") == 0) {
      o->print_errno = true;
    } else if (strcmp(a, "--address") == 0) {
      o->address = true;
    } else {
      goto unknown;
    }
  }
  if (i >= argc) return cli_usage_error("call", "missing DECL-OR-NAME");
  *first = i;
  return -1;
unknown:
  return cli_usage_error("call", "unknown option '%s'", argv[i]);
}

/* The name a declaration text declares: the identifier before the first
** '(' that opens a parameter list, else the last identifier. */
static void call_decl_name(const char *text, char *name, size_t n) {
  name[0] = '\0';
  const char *p = text, *last = NULL;
  size_t lastlen = 0;
  while (*p) {
    if (isalpha((unsigned char)*p) || *p == '_') {
      const char *s = p;
      while (isalnum((unsigned char)*p) || *p == '_')
        p++;
      last = s;
      lastlen = (size_t)(p - s);
      const char *q = p;
      while (isspace((unsigned char)*q))
        q++;
      if (*q == '(') break;
      continue;
    }
    p++;
  }
  if (last && lastlen < n) {
    memcpy(name, last, lastlen);
    name[lastlen] = '\0';
  }
}

/* The declaration to call: the name itself, or the one a declaration text
** adds. NULL after reporting the failure. */
static const mffi_decl *call_find_decl(mffi_ctx *ctx, const char *what) {
  if (cv_is_ident(what)) {
    const mffi_decl *d = mffi_decl_find(ctx, what);
    if (!d)
      cli_error("'%s' is not declared (give a declaration or --cdef)", what);
    return d;
  }
  size_t len = strlen(what);
  char *text = malloc(len + 2);
  if (!text) {
    cli_error("out of memory");
    return NULL;
  }
  memcpy(text, what, len);
  size_t end = len;
  while (end > 0 && isspace((unsigned char)text[end - 1]))
    end--;
  if (end == 0 || text[end - 1] != ';') text[end++] = ';';
  size_t n0 = mffi_ndecls(ctx);
  int rc = mffi_cdef(ctx, text, end);
  free(text);
  if (rc != MFFI_OK) {
    cli_report(ctx, "declaration");
    return NULL;
  }
  for (size_t i = n0; i < mffi_ndecls(ctx); i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    mffi_decl_kind k = mffi_decl_kind_of(d);
    if (k == MFFI_DECL_FUNCTION || k == MFFI_DECL_VARIABLE) return d;
  }
  char name[256];
  call_decl_name(what, name, sizeof name);
  const mffi_decl *d = name[0] ? mffi_decl_find(ctx, name) : NULL;
  if (!d || (mffi_decl_kind_of(d) != MFFI_DECL_FUNCTION &&
             mffi_decl_kind_of(d) != MFFI_DECL_VARIABLE)) {
    cli_error("'%s' declares no function or variable", what);
    return NULL;
  }
  return d;
}

/* A zeroed buffer for an object of type t (at least 16 bytes); NULL on out
** of memory or for an object over CV_MAX_OBJECT bytes. */
static void *call_buffer(const mffi_type *t) {
  size_t sz = mffi_sizeof(t), al = mffi_alignof(t);
  if (sz > CV_MAX_OBJECT) return NULL;
  if (sz < 16) sz = 16;
  if (al <= 16) return calloc(1, sz);
  sz = (sz + al - 1) / al * al;
  void *p = aligned_alloc(al, sz);
  if (p) memset(p, 0, sz);
  return p;
}

/* Everything one call owns, for the cleanup. */
typedef struct call_run {
  mffi_ctx *ctx;
  mffi_lib *libs[CALL_MAXLIBS + 1];
  int nlibs;
  void **bufs;
  int nbufs;
  void *ret;
  cv_state cv;
} call_run;

static void call_cleanup(call_run *r) {
  for (int i = 0; i < r->nbufs; i++)
    free(r->bufs[i]);
  free(r->bufs);
  free(r->ret);
  cv_free(&r->cv);
  for (int i = 0; i < r->nlibs; i++)
    mffi_close(r->libs[i]);
  mffi_ctx_free(r->ctx);
}

/* The libraries searched, for messages: "libm.so.6, libc.so.6". */
static void call_lib_list(const call_opts *o, char *buf, size_t n) {
  buf[0] = '\0';
  if (o->nlibs == 0) {
    snprintf(buf, n, "the running process");
    return;
  }
  size_t len = 0;
  for (int i = 0; i < o->nlibs && len < n; i++)
    len +=
        (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", o->libs[i]);
}

/* Bind d in the first library that has it. */
static int call_bind(call_run *r, const call_opts *o, const mffi_decl *d,
                     const mffi_type *const *vt, size_t nvar, bool unproto,
                     mffi_fn **fn) {
  const char *name = mffi_decl_name(d);
  for (int i = 0; i < r->nlibs; i++) {
    int rc = nvar || unproto
                 ? mffi_bind_variadic(r->libs[i], name, vt, nvar, fn)
                 : mffi_bind(r->libs[i], name, fn);
    if (rc == MFFI_OK) return 0;
    if (rc != MFFI_ENOSYM) {
      cli_report(r->ctx, name);
      return -1;
    }
  }
  char libs[1024];
  call_lib_list(o, libs, sizeof libs);
  cli_error("symbol '%s' not found in %s", mffi_decl_symbol(d), libs);
  return -1;
}

/* The standard typedefs (and the standard streams) a declaration on the
** command line may use without --cdef, each added only if the --cdef
** files did not declare its name. The values are LP64's, as glibc's. */
static const char *const call_std[][2] = {
    {"size_t", "typedef unsigned long size_t;"},
    {"ssize_t", "typedef long ssize_t;"},
    {"ptrdiff_t", "typedef long ptrdiff_t;"},
    {"off_t", "typedef long off_t;"},
    {"intptr_t", "typedef long intptr_t;"},
    {"uintptr_t", "typedef unsigned long uintptr_t;"},
    {"intmax_t", "typedef long intmax_t;"},
    {"uintmax_t", "typedef unsigned long uintmax_t;"},
    {"int8_t", "typedef signed char int8_t;"},
    {"int16_t", "typedef short int16_t;"},
    {"int32_t", "typedef int int32_t;"},
    {"int64_t", "typedef long int64_t;"},
    {"uint8_t", "typedef unsigned char uint8_t;"},
    {"uint16_t", "typedef unsigned short uint16_t;"},
    {"uint32_t", "typedef unsigned int uint32_t;"},
    {"uint64_t", "typedef unsigned long uint64_t;"},
    {"FILE", "typedef struct _IO_FILE FILE;"},
    {"va_list", "typedef __builtin_va_list va_list;"},
    {"stdin", "extern FILE *stdin;"},
    {"stdout", "extern FILE *stdout;"},
    {"stderr", "extern FILE *stderr;"},
};

static int call_prelude(mffi_ctx *ctx) {
  for (size_t i = 0; i < sizeof call_std / sizeof *call_std; i++) {
    if (mffi_decl_find(ctx, call_std[i][0])) continue;
    /* A --cdef file may hold the same name as a tag only, or FILE under
    ** another definition: then the stream is left to it. */
    if (mffi_cdef(ctx, call_std[i][1], strlen(call_std[i][1])) != MFFI_OK &&
        strncmp(call_std[i][1], "extern", 6) != 0) {
      cli_report(ctx, "standard typedefs");
      return -1;
    }
  }
  return 0;
}

/* cv_read_var_fn: an extern variable's value, from the first library
** that has it (through the strategy: remote's memory is not ours). */
static int call_read_var(void *ud, const mffi_decl *d, void *dst, size_t n,
                         char *err) {
  call_run *r = ud;
  const char *name = mffi_decl_name(d);
  for (int i = 0; i < r->nlibs; i++) {
    mffi_fn *v;
    if (mffi_bind(r->libs[i], name, &v) != MFFI_OK) continue;
    int rc = mffi_read(r->libs[i], dst, mffi_fn_addr(v), n);
    mffi_fn_free(v);
    if (rc == MFFI_OK) return 0;
    snprintf(err, CV_ERRMAX, "cannot read '%s': %s", name,
             mffi_errmsg(r->ctx));
    return -1;
  }
  snprintf(err, CV_ERRMAX, "variable '%s' not found in the libraries", name);
  return -1;
}

static int call_run_it(call_run *r, const call_opts *o, char **argv,
                       int nargs) {
  const mffi_strategy *s = mffi_strategy_find(o->strategy);
  if (!s) {
    cli_error("unknown strategy '%s'", o->strategy);
    return CLI_EXIT_FAIL;
  }
  if (cli_load(o->cdefs, o->ncdefs, false, NULL, &r->ctx) != 0)
    return CLI_EXIT_FAIL;
  if (call_prelude(r->ctx) != 0) return CLI_EXIT_FAIL;
  cv_init(&r->cv, r->ctx);
  r->cv.read_var = call_read_var;
  r->cv.ud = r;
  const mffi_decl *d = call_find_decl(r->ctx, argv[0]);
  if (!d) return CLI_EXIT_FAIL;
  mffi_open_opts oo = {MFFI_OPEN_OPTS_VERSION, o->ffi ? MFFI_OPEN_FFI_ONLY : 0,
                       NULL};
  /* remote, and checked:remote, which hands its options on. */
  const char *sn = mffi_strategy_name(s);
  size_t nl = strlen(sn);
  if (strcmp(sn, "remote") == 0 ||
      (nl > 7 && strcmp(sn + nl - 7, ":remote") == 0))
    oo.strategy_opts = &o->remote;
  for (int i = 0; i < (o->nlibs ? o->nlibs : 1); i++) {
    const char *target = o->nlibs ? o->libs[i] : NULL;
    if (mffi_open(r->ctx, s, target, &oo, &r->libs[r->nlibs]) != MFFI_OK) {
      cli_error("%s", mffi_errmsg(r->ctx));
      return CLI_EXIT_FAIL;
    }
    r->nlibs++;
  }
  const char *name = mffi_decl_name(d);
  const mffi_type *dt = mffi_decl_type(d);
  mffi_fn *fn = NULL;
  if (mffi_decl_kind_of(d) == MFFI_DECL_VARIABLE) {
    if (nargs > 1) {
      cli_error("'%s' is a variable: it takes no arguments", name);
      return CLI_EXIT_FAIL;
    }
    if (call_bind(r, o, d, NULL, 0, false, &fn) != 0) return CLI_EXIT_FAIL;
    size_t sz = mffi_sizeof(dt);
    if (sz == 0) {
      printf("0x%llx\n", (unsigned long long)(uintptr_t)mffi_fn_addr(fn));
      return CLI_EXIT_OK;
    }
    /* The library's memory may not be ours (remote): copy it out. */
    void *copy = malloc(sz);
    if (!copy || mffi_read(mffi_fn_lib(fn), copy, mffi_fn_addr(fn), sz)) {
      cli_error("cannot read '%s': %s", name,
                copy ? mffi_errmsg(r->ctx) : "out of memory");
      free(copy);
      return CLI_EXIT_FAIL;
    }
    cv_print(stdout, dt, copy);
    putchar('\n');
    free(copy);
    return CLI_EXIT_OK;
  }
  /* A function without a prototype takes every argument as a variadic
  ** one: its type from what the text is, C's default promotions. */
  bool proto = mffi_type_prototyped(dt);
  size_t nfixed = mffi_type_nparams(dt);
  size_t ngiven = (size_t)nargs - 1;
  bool variadic = mffi_type_variadic(dt) || !proto;
  if (ngiven < nfixed || (ngiven > nfixed && !variadic)) {
    cli_error("'%s' takes %s%zu argument%s, %zu given", name,
              variadic ? "at least " : "", nfixed, nfixed == 1 ? "" : "s",
              ngiven);
    return CLI_EXIT_FAIL;
  }
  size_t nvar = ngiven - nfixed;
  const mffi_type **types = calloc(ngiven ? ngiven : 1, sizeof *types);
  const char **texts = calloc(ngiven ? ngiven : 1, sizeof *texts);
  r->bufs = calloc(ngiven ? ngiven : 1, sizeof *r->bufs);
  if (!types || !texts || !r->bufs) {
    free(types);
    free(texts);
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  /* Every argument is read before the symbol is looked up, so a bad value
  ** is reported as such. */
  int st = CLI_EXIT_OK;
  for (size_t i = 0; i < ngiven && st == CLI_EXIT_OK; i++) {
    const char *text = argv[1 + i];
    texts[i] = text;
    if (i < nfixed) {
      types[i] = mffi_type_param(dt, i);
    } else if (!(types[i] = cv_guess(&r->cv, text, &texts[i]))) {
      cli_error("argument %zu: %s", i + 1, r->cv.err);
      st = CLI_EXIT_FAIL;
      break;
    }
    r->bufs[i] = call_buffer(types[i]);
    if (!r->bufs[i]) {
      size_t sz = mffi_sizeof(types[i]);
      if (sz > CV_MAX_OBJECT)
        cli_error("argument %zu: %zu bytes is over the limit of %zu bytes "
                  "for one argument",
                  i + 1, sz, (size_t)CV_MAX_OBJECT);
      else
        cli_error("argument %zu: out of memory (an object of %zu bytes)",
                  i + 1, sz);
      st = CLI_EXIT_FAIL;
      break;
    }
    r->nbufs++;
    if (cv_parse(&r->cv, types[i], texts[i], r->bufs[i], (int)i + 1) != 0) {
      char tn[128];
      mffi_type_str(types[i], NULL, tn, sizeof tn);
      cli_error("argument %zu (%s): %s", i + 1, tn, r->cv.err);
      st = CLI_EXIT_FAIL;
    }
  }
  if (st == CLI_EXIT_OK &&
      call_bind(r, o, d, types + nfixed, nvar, !proto, &fn) != 0)
    st = CLI_EXIT_FAIL;
  free(types);
  free(texts);
  if (st != CLI_EXIT_OK) return st;
  const mffi_type *rt = mffi_type_target(dt);
  r->ret = call_buffer(rt);
  if (!r->ret) {
    cli_error("return value: out of memory (an object of %zu bytes)",
              mffi_sizeof(rt));
    return CLI_EXIT_FAIL;
  }
  fflush(stdout); /* Keep our output after whatever the function prints. */
  int rc = mffi_call(fn, r->ret, r->bufs);
  int err = mffi_errno();
  if (rc != MFFI_OK) {
    cli_report(r->ctx, name);
    return CLI_EXIT_FAIL;
  }
  fflush(stdout);
  cv_print_outs(stdout, &r->cv);
  if (o->print_errno) {
    const char *en = err ? strerrorname_np(err) : NULL;
    if (err)
      printf("errno = %d (%s: %s)\n", err, en ? en : "?", strerror(err));
    else
      printf("errno = 0\n");
  }
  if (mffi_type_kind(mffi_type_unqual(rt)) != MFFI_KIND_VOID) {
    cv_print_result(stdout, rt, r->ret, o->address);
    putchar('\n');
  }
  return CLI_EXIT_OK;
}

/* The call command (see cli.h and call_usage). */
int cli_call(int argc, char **argv) {
  call_opts o;
  memset(&o, 0, sizeof o);
  o.strategy = "dynamic";
  o.remote.version = MFFI_REMOTE_OPTS_VERSION;
  int first = 0;
  int st = call_parse_opts(argc, argv, &o, &first);
  if (st >= 0) return st;
  call_run r;
  memset(&r, 0, sizeof r);
  st = call_run_it(&r, &o, argv + first, argc - first);
  call_cleanup(&r);
  if (fflush(stdout) != 0 && st == CLI_EXIT_OK) {
    cli_error("write error");
    st = CLI_EXIT_FAIL;
  }
  return st;
}
