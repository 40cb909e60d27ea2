/* The modffi command line: dispatch, helpers, cdef, layout. See LICENSE. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cdef/parse.h"

/* -- Shared helpers (cli.h) ------------------------------------------------ */

/* "modffi: MESSAGE\n" on stderr. */
static void cli_verror(const char *fmt, va_list ap) {
  fputs(CLI_PROG ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

/* See cli.h. */
void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_verror(fmt, ap);
  va_end(ap);
}

/* See cli.h. */
int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_verror(fmt, ap);
  va_end(ap);
  if (cmd)
    fprintf(stderr, "Try '" CLI_PROG " %s --help'.\n", cmd);
  else
    fputs("Try '" CLI_PROG " --help'.\n", stderr);
  return CLI_EXIT_USAGE;
}

/* See cli.h. */
const char *cli_display_name(const char *path) {
  return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* See cli.h. */
bool cli_is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* See cli.h. */
int cli_read_file(const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f) {
    cli_error("%s: %s", path, strerror(errno));
    return -1;
  }
  size_t cap = 8192, n = 0;
  errno = 0;
  char *buf = malloc(cap);
  if (!buf) goto nomem;
  for (;;) {
    if (cap - n < 4096) {
      if (cap > SIZE_MAX / 2) goto nomem;
      char *nb = realloc(buf, cap * 2);
      if (!nb) goto nomem;
      buf = nb;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (k == 0) break;
  }
  if (ferror(f)) {
    int e = errno;
    cli_error("%s: %s", cli_display_name(path), e ? strerror(e) : "read error");
    free(buf);
    if (!is_stdin) fclose(f);
    return -1;
  }
  if (!is_stdin) fclose(f);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
nomem:
  cli_error("%s: out of memory", cli_display_name(path));
  free(buf);
  if (!is_stdin) fclose(f);
  return -1;
}

/* See cli.h. */
void cli_report(const mffi_ctx *ctx, const char *where) {
  const char *msg = mffi_errmsg(ctx);
  if (!*msg) msg = mffi_strerror(mffi_errcode(ctx));
  /* Declaration errors carry their position: the message starts with
  ** LINE:COL, so it reads on from the file name; after a line marker it
  ** starts with the original file's name instead, which stands alone. */
  if (mffi_erroffset(ctx) >= 0 && *msg >= '0' && *msg <= '9')
    cli_error("%s:%s", where, msg);
  else if (mffi_erroffset(ctx) >= 0)
    cli_error("%s", msg);
  else
    cli_error("%s: %s", where, msg);
}

/* See cli.h. */
void cli_note(void *ud, const char *name, const char *why) {
  cli_skips *sk = ud;
  if (!sk->limit || sk->n < sk->limit) {
    /* A position without a file name reads on from the input's name. */
    bool bare = *why >= '0' && *why <= '9';
    cli_error("note: skipped '%s': %s%s%s", *name ? name : "(unnamed)",
              bare ? sk->where : "", bare ? ":" : "", why);
  }
  if (sk->n == sk->cap) {
    size_t ncap = sk->cap ? 2 * sk->cap : 16;
    char **nn = realloc(sk->names, ncap * sizeof *nn);
    if (nn) sk->names = nn;
    char **nw = nn ? realloc(sk->whys, ncap * sizeof *nw) : NULL;
    if (nw) sk->whys = nw;
    if (!nn || !nw) {
      sk->oom = true;
      return;
    }
    sk->cap = ncap;
  }
  char *n = strdup(name), *w = strdup(why);
  if (!n || !w) {
    free(n);
    free(w);
    sk->oom = true;
    return;
  }
  sk->names[sk->n] = n;
  sk->whys[sk->n++] = w;
}

/* See cli.h. */
void cli_skips_summary(const cli_skips *sk) {
  if (sk->limit && sk->n > sk->limit)
    cli_error("note: %zu more declarations skipped ('modffi cdef --check' "
              "lists them)",
              sk->n - sk->limit);
}

/* See cli.h. */
void cli_skips_free(cli_skips *sk) {
  for (size_t i = 0; i < sk->n; i++) {
    free(sk->names[i]);
    free(sk->whys[i]);
  }
  free(sk->names);
  free(sk->whys);
  sk->names = sk->whys = NULL;
  sk->n = sk->cap = 0;
}

/* See cli.h. */
int cli_cdef_text(mffi_ctx *ctx, const char *text, size_t len,
                  const char *where, cli_skips *sk) {
  int rc;
  if (sk) {
    sk->where = where;
    rc = mffi__cdef_tolerant(ctx, text, len, cli_note, sk);
  } else {
    rc = mffi_cdef(ctx, text, len);
  }
  if (rc != MFFI_OK) {
    cli_report(ctx, where);
    return -1;
  }
  return 0;
}

/* src (len bytes, from malloc) with a line marker naming `name` first, so
** that every position, an earlier file's too, names its file: a new
** buffer (src is freed), or NULL on out of memory (src freed too). */
static char *cli_with_marker(char *src, size_t *len, const char *name) {
  size_t nn = strlen(name), cap = 2 * nn + 16 + *len;
  char *out = malloc(cap);
  if (!out) {
    free(src);
    return NULL;
  }
  size_t o = (size_t)snprintf(out, cap, "# 1 \"");
  for (const char *p = name; *p; p++) {
    if (*p == '"' || *p == '\\') out[o++] = '\\';
    out[o++] = *p == '\n' ? ' ' : *p;
  }
  out[o++] = '"';
  out[o++] = '\n';
  memcpy(out + o, src, *len);
  *len += o;
  free(src);
  return out;
}

/* See cli.h. */
int cli_cdef_files(mffi_ctx *ctx, char *const *files, int n, cli_skips *sk) {
  for (int i = 0; i < n; i++) {
    char *src;
    size_t len;
    if (cli_read_file(files[i], &src, &len) != 0) return -1;
    const char *name = cli_display_name(files[i]);
    src = cli_with_marker(src, &len, name);
    if (!src) {
      cli_error("out of memory");
      return -1;
    }
    int rc = cli_cdef_text(ctx, src, len, name, sk);
    free(src);
    if (rc != 0) return -1;
  }
  return 0;
}

/* See cli.h. */
int cli_load(char *const *files, int n, bool strict, cli_skips *sk,
             mffi_ctx **out) {
  mffi_ctx *ctx;
  *out = NULL;
  int rc = mffi_ctx_new(&ctx, NULL);
  if (rc != MFFI_OK) {
    cli_error("%s", mffi_strerror(rc));
    return -1;
  }
  cli_skips own = {0};
  cli_skips *use = strict ? NULL : sk ? sk : &own;
  rc = cli_cdef_files(ctx, files, n, use);
  cli_skips_free(&own);
  if (rc != 0) {
    mffi_ctx_free(ctx);
    return -1;
  }
  *out = ctx;
  return 0;
}

/* See cli.h. */
void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv) {
  memset(a, 0, sizeof *a);
  a->argc = argc;
  a->argv = argv;
  a->next = 1;
  a->cmd = cmd;
}

/* Move argument i into the operand list (argv[1 .. noperands]), keeping
** the order of everything else. */
static void cli_take_operand(cli_args *a, int i) {
  char *op = a->argv[i];
  int dst = a->noperands + 1;
  memmove(&a->argv[dst + 1], &a->argv[dst],
          (size_t)(i - dst) * sizeof a->argv[0]);
  a->argv[dst] = op;
  a->noperands++;
}

/* See cli.h. */
int cli_getopt(cli_args *a, const cli_opt *opts) {
  a->value = NULL;
  while (a->next < a->argc) {
    int i = a->next++;
    char *arg = a->argv[i];
    if (a->done || arg[0] != '-' || arg[1] == '\0') {
      cli_take_operand(a, i);
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      a->done = true;
      /* Drop "--" itself: it goes after the operands and is not counted. */
      cli_take_operand(a, i);
      a->noperands--;
      continue;
    }
    const cli_opt *o = NULL;
    const char *val = NULL;
    if (arg[1] == '-') {
      const char *nm = arg + 2;
      const char *eq = strchr(nm, '=');
      size_t nlen = eq ? (size_t)(eq - nm) : strlen(nm);
      for (const cli_opt *p = opts; p->name; p++) {
        if (strlen(p->name) == nlen && strncmp(p->name, nm, nlen) == 0) {
          o = p;
          break;
        }
      }
      if (o && eq) {
        if (!o->has_arg) {
          cli_usage_error(a->cmd, "option '--%s' takes no value", o->name);
          return -1;
        }
        val = eq + 1;
      }
    } else if (arg[2] == '\0') {
      for (const cli_opt *p = opts; p->name; p++) {
        if (p->letter && p->letter == arg[1]) {
          o = p;
          break;
        }
      }
    }
    if (!o) {
      cli_usage_error(a->cmd, "unknown option '%s'", arg);
      return -1;
    }
    if (o->has_arg && !val) {
      if (a->next >= a->argc) {
        cli_usage_error(a->cmd, "option '%s' needs a value", arg);
        return -1;
      }
      val = a->argv[a->next++];
      /* The value is consumed: park it with the options, not operands. */
    }
    a->value = val;
    return o->id;
  }
  return 0;
}

/* -- Command table --------------------------------------------------------- */

typedef struct cli_cmd {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli_cmd;

static int cli_cdef(int argc, char **argv);
static int cli_layout(int argc, char **argv);

static const cli_cmd cli_cmds[] = {
    {"cdef", cli_cdef, "check or print C declarations"},
    {"layout", cli_layout, "print the layout of a type"},
    {"call", cli_call, "call a function in a shared library"},
    {"gen", cli_gen, "generate a typed binding and its static table"},
    {"sandbox-info", cli_sandbox_info,
     "show the confinement of the remote strategy's sandbox"},
    {NULL, NULL, NULL},
};

static void cli_main_help(FILE *f) {
  fputs("Usage: " CLI_PROG " COMMAND [OPTION]... [ARG]...\n"
        "       " CLI_PROG " --help | --version\n"
        "\n"
        "Modular foreign function bindings for C.\n"
        "\n"
        "Commands:\n",
        f);
  for (const cli_cmd *c = cli_cmds; c->name; c++)
    fprintf(f, "  %-12s %s\n", c->name, c->summary);
  fputs("\n'" CLI_PROG " COMMAND --help' describes a command.\n"
        "Exit status: 0 success, 1 failure, 2 bad usage.\n",
        f);
}

/* -- cdef ------------------------------------------------------------------ */

static const char cli_cdef_usage[] =
    "Usage: " CLI_PROG " cdef [--check | --print [--kinds LIST]] FILE...\n"
    "\n"
    "Parse C declarations (as `cc -E -P` prints a header) from each FILE\n"
    "('-' reads stdin) into one context.\n"
    "\n"
    "  --check        only parse; print nothing on success (the default)\n"
    "  --print        print every declaration back as C, one per line\n"
    "  --strict       fail on a declaration that cannot be represented\n"
    "                 (as mffi_cdef does) instead of skipping it with a note\n"
    "  --kinds LIST   with --print, only these kinds, a comma list of\n"
    "                 typedef,function,variable,constant,tag\n"
    "  -h, --help     show this help\n"
    "\n"
    "Errors are reported as FILE:LINE:COL: message; exit status 1. A\n"
    "declaration modffi cannot represent (a vector passed by value,\n"
    "_Atomic(T)...) is skipped, and so is one that needs it: each is noted\n"
    "on stderr (\"note: skipped 'NAME': FILE:LINE:COL: reason\"). A tagged\n"
    "struct or union whose body is skipped stays, as an incomplete type.\n";

enum {
  CLI_O_HELP = 1,
  CLI_O_CHECK,
  CLI_O_PRINT,
  CLI_O_KINDS,
  CLI_O_JSON,
  CLI_O_STRICT
};

/* The MFFI_DECL_* bit set named by a comma list, or -1 if a name is
** unknown (reported). */
static int cli_parse_kinds(const char *list) {
  static const char *const names[] = {
      [MFFI_DECL_TYPEDEF] = "typedef",   [MFFI_DECL_FUNCTION] = "function",
      [MFFI_DECL_VARIABLE] = "variable", [MFFI_DECL_CONSTANT] = "constant",
      [MFFI_DECL_TAG] = "tag",
  };
  int mask = 0;
  const char *s = list;
  for (;;) {
    const char *e = strchr(s, ',');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    int k = -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
      if (strlen(names[i]) == n && strncmp(names[i], s, n) == 0) k = i;
    }
    if (k < 0) {
      cli_usage_error("cdef", "unknown declaration kind '%.*s' in --kinds",
                      (int)n, s);
      return -1;
    }
    mask |= 1 << k;
    if (!e) break;
    s = e + 1;
  }
  return mask;
}

/* Print every declaration of ctx whose kind is in mask, one per line. */
static int cli_print_decls(const mffi_ctx *ctx, int mask) {
  size_t cap = 256;
  char *buf = malloc(cap);
  if (!buf) {
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  size_t n = mffi_ndecls(ctx);
  for (size_t i = 0; i < n; i++) {
    const mffi_decl *d = mffi_decl_at(ctx, i);
    if (!(mask & (1 << mffi_decl_kind_of(d)))) continue;
    size_t len = mffi_decl_str(d, buf, cap);
    if (len >= cap) {
      char *nb = realloc(buf, len + 1);
      if (!nb) {
        free(buf);
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
      }
      buf = nb;
      cap = len + 1;
      mffi_decl_str(d, buf, cap);
    }
    fputs(buf, stdout);
    fputc('\n', stdout);
  }
  free(buf);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("write error: %s", strerror(errno));
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

static int cli_cdef(int argc, char **argv) {
  static const cli_opt opts[] = {
      {"help", 'h', false, CLI_O_HELP},   {"check", 0, false, CLI_O_CHECK},
      {"print", 0, false, CLI_O_PRINT},   {"kinds", 0, true, CLI_O_KINDS},
      {"strict", 0, false, CLI_O_STRICT}, {NULL, 0, false, 0},
  };
  cli_args a;
  cli_args_init(&a, "cdef", argc, argv);
  bool print = false, check = false, strict = false;
  int mask = -1;
  for (int id; (id = cli_getopt(&a, opts)) != 0;) {
    switch (id) {
    case CLI_O_HELP: fputs(cli_cdef_usage, stdout); return CLI_EXIT_OK;
    case CLI_O_CHECK: check = true; break;
    case CLI_O_PRINT: print = true; break;
    case CLI_O_STRICT: strict = true; break;
    case CLI_O_KINDS:
      mask = cli_parse_kinds(a.value);
      if (mask < 0) return CLI_EXIT_USAGE;
      break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (check && print)
    return cli_usage_error("cdef", "--check and --print exclude each other");
  if (mask != -1 && !print)
    return cli_usage_error("cdef", "--kinds needs --print");
  if (a.noperands == 0) return cli_usage_error("cdef", "no input file");
  mffi_ctx *ctx;
  if (cli_load(&argv[1], a.noperands, strict, NULL, &ctx) != 0)
    return CLI_EXIT_FAIL;
  int rc = print ? cli_print_decls(ctx, mask) : CLI_EXIT_OK;
  mffi_ctx_free(ctx);
  return rc;
}

/* -- layout ---------------------------------------------------------------- */

static const char cli_layout_usage[] =
    "Usage: " CLI_PROG " layout [--json] FILE... TYPE\n"
    "\n"
    "Parse the declarations in each FILE ('-' reads stdin) and print the\n"
    "size, alignment and members of TYPE, a C type name such as\n"
    "'struct tm', 'size_t' or 'union u[2]'.\n"
    "\n"
    "Members of anonymous structs and unions are listed as their own\n"
    "fields (as C reaches them), with offsets from the start of TYPE;\n"
    "unnamed bit-fields are left out. Bit-fields show their bit offset\n"
    "and width.\n"
    "\n"
    "  --json       one JSON object: {\"type\", \"size\", \"align\",\n"
    "               \"fields\": [{\"name\", \"type\", \"offset\", \"size\",\n"
    "               \"align\", \"bit_offset\" [, \"bit_width\"]}...]}\n"
    "  -h, --help   show this help\n";

/* A flattened field: what `t.name` reaches. */
typedef struct cli_field {
  const char *name;
  const mffi_type *type;
  size_t bit_offset; /* From the start of the outer type. */
  int bit_width;     /* -1 if not a bit-field. */
} cli_field;

typedef struct cli_fields {
  cli_field *v;
  size_t n, cap;
} cli_fields;

#define CLI_MAX_NEST 64 /* Max. nested anonymous members followed. */

/* Append the fields reachable by name in aggregate t, whose start is at
** bit `base` of the outer type. Returns 0, or -1 on out of memory. */
static int cli_flatten(cli_fields *fs, const mffi_type *t, size_t base,
                       int depth) {
  size_t n = mffi_type_nfields(t);
  for (size_t i = 0; i < n; i++) {
    mffi_field f;
    if (mffi_type_field(t, i, &f) != MFFI_OK) continue;
    if (!f.name) {
      mffi_kind k = mffi_type_kind(f.type);
      if (f.bit_width < 0 && depth < CLI_MAX_NEST &&
          (k == MFFI_KIND_STRUCT || k == MFFI_KIND_UNION)) {
        if (cli_flatten(fs, f.type, base + f.bit_offset, depth + 1) != 0)
          return -1;
      }
      continue; /* Unnamed bit-field, or nothing reachable. */
    }
    if (fs->n == fs->cap) {
      size_t ncap = fs->cap ? fs->cap * 2 : 16;
      cli_field *nv = realloc(fs->v, ncap * sizeof *nv);
      if (!nv) return -1;
      fs->v = nv;
      fs->cap = ncap;
    }
    fs->v[fs->n++] =
        (cli_field){f.name, f.type, base + f.bit_offset, f.bit_width};
  }
  return 0;
}

/* mffi_type_str into a new malloc'd string, or NULL. */
static char *cli_type_str(const mffi_type *t) {
  size_t n = mffi_type_str(t, NULL, NULL, 0);
  char *s = malloc(n + 1);
  if (s) mffi_type_str(t, NULL, s, n + 1);
  return s;
}

/* s as a JSON string literal. */
static void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    case '\r': fputs("\\r", f); break;
    default:
      if (*p < 0x20)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

static void cli_layout_json(const char *tname, const mffi_type *t,
                            const cli_fields *fs, char **ftypes) {
  fputs("{\"type\": ", stdout);
  cli_json_str(stdout, tname);
  printf(", \"size\": %zu, \"align\": %zu, \"fields\": [", mffi_sizeof(t),
         mffi_alignof(t));
  for (size_t i = 0; i < fs->n; i++) {
    const cli_field *f = &fs->v[i];
    fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
    cli_json_str(stdout, f->name);
    fputs(", \"type\": ", stdout);
    cli_json_str(stdout, ftypes[i]);
    printf(", \"offset\": %zu, \"size\": %zu, \"align\": %zu, "
           "\"bit_offset\": %zu",
           f->bit_offset / 8, mffi_sizeof(f->type), mffi_alignof(f->type),
           f->bit_offset);
    if (f->bit_width >= 0) printf(", \"bit_width\": %d", f->bit_width);
    fputs("}", stdout);
  }
  fputs("]}\n", stdout);
}

static void cli_layout_table(const char *tname, const mffi_type *t,
                             const cli_fields *fs, char **ftypes) {
  printf("%s: size %zu, align %zu\n", tname, mffi_sizeof(t), mffi_alignof(t));
  if (fs->n == 0) return;
  int wn = 4, wt = 4;
  for (size_t i = 0; i < fs->n; i++) {
    int ln = (int)strlen(fs->v[i].name), lt = (int)strlen(ftypes[i]);
    if (ln > wn) wn = ln;
    if (lt > wt) wt = lt;
  }
  printf("%-*s  %-*s  %6s  %6s  %5s  %s\n", wn, "name", wt, "type", "offset",
         "size", "align", "bits");
  for (size_t i = 0; i < fs->n; i++) {
    const cli_field *f = &fs->v[i];
    printf("%-*s  %-*s  %6zu  %6zu  %5zu", wn, f->name, wt, ftypes[i],
           f->bit_offset / 8, mffi_sizeof(f->type), mffi_alignof(f->type));
    if (f->bit_width >= 0) printf("  %zu:%d", f->bit_offset, f->bit_width);
    fputc('\n', stdout);
  }
}

/* Print the layout of t (named tname in the output). */
static int cli_layout_print(const mffi_type *t, bool json) {
  cli_fields fs = {0};
  char **ftypes = NULL;
  char *tname = cli_type_str(t);
  int rc = CLI_EXIT_FAIL;
  if (!tname) goto nomem;
  mffi_kind k = mffi_type_kind(t);
  if (k == MFFI_KIND_STRUCT || k == MFFI_KIND_UNION || k == MFFI_KIND_ENUM) {
    if (!mffi_type_complete(t)) {
      cli_error("layout: '%s' is an incomplete type", tname);
      goto out;
    }
    if (cli_flatten(&fs, t, 0, 0) != 0) goto nomem;
  }
  ftypes = calloc(fs.n ? fs.n : 1, sizeof *ftypes);
  if (!ftypes) goto nomem;
  for (size_t i = 0; i < fs.n; i++) {
    ftypes[i] = cli_type_str(fs.v[i].type);
    if (!ftypes[i]) goto nomem;
  }
  if (json)
    cli_layout_json(tname, t, &fs, ftypes);
  else
    cli_layout_table(tname, t, &fs, ftypes);
  rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  if (rc != CLI_EXIT_OK) cli_error("write error: %s", strerror(errno));
  goto out;
nomem:
  cli_error("out of memory");
out:
  if (ftypes) {
    for (size_t i = 0; i < fs.n; i++)
      free(ftypes[i]);
  }
  free(ftypes);
  free(fs.v);
  free(tname);
  return rc;
}

static int cli_layout(int argc, char **argv) {
  static const cli_opt opts[] = {
      {"help", 'h', false, CLI_O_HELP},
      {"json", 0, false, CLI_O_JSON},
      {NULL, 0, false, 0},
  };
  cli_args a;
  cli_args_init(&a, "layout", argc, argv);
  bool json = false;
  for (int id; (id = cli_getopt(&a, opts)) != 0;) {
    switch (id) {
    case CLI_O_HELP: fputs(cli_layout_usage, stdout); return CLI_EXIT_OK;
    case CLI_O_JSON: json = true; break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (a.noperands < 2)
    return cli_usage_error("layout",
                           a.noperands ? "no type name" : "no input file");
  const char *tname = argv[a.noperands];
  mffi_ctx *ctx;
  if (cli_load(&argv[1], a.noperands - 1, false, NULL, &ctx) != 0)
    return CLI_EXIT_FAIL;
  const mffi_type *t;
  int rc;
  if (mffi_typeof(ctx, tname, &t) != MFFI_OK) {
    cli_error("type '%s': %s", tname, mffi_errmsg(ctx));
    rc = CLI_EXIT_FAIL;
  } else {
    rc = cli_layout_print(t, json);
  }
  mffi_ctx_free(ctx);
  return rc;
}

/* -- Main ------------------------------------------------------------------ */

int main(int argc, char **argv) {
  if (argc < 2) {
    cli_main_help(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (cli_is_help(cmd)) {
    cli_main_help(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf(CLI_PROG " %s\n", mffi_version());
    return CLI_EXIT_OK;
  }
  if (cmd[0] == '-') return cli_usage_error(NULL, "unknown option '%s'", cmd);
  for (const cli_cmd *c = cli_cmds; c->name; c++) {
    if (strcmp(c->name, cmd) == 0) return c->run(argc - 1, argv + 1);
  }
  return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
