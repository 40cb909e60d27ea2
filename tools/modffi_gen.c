/* The `modffi gen` command: write a binding's typed API. See LICENSE.
**
** The command gathers the description (cdef files, or the header run
** through the system preprocessor) and hands it to the generator
** (src/gen/gen.c), which writes the files.
*/
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "gen/gen.h"
#include "types.h"

#define GEN_MAX_DIRS 64  /* Max. -I and -D options. */
#define GEN_MAX_NOTES 20 /* Skipped declarations noted one by one. */

static const char cli_gen_usage[] =
    "Usage: " CLI_PROG " gen --name N --header H [--cdef FILE]...\n"
    "                  [--annotate FILE]... [-I DIR]...\n"
    "                  [-D NAME[=VALUE]]... [--std MODE] [--only REGEX]\n"
    "                  [--variadic 'NAME=F(TYPE, ...)']...\n"
    "                  [--lib SONAME]\n"
    "                  -o DIR\n"
    "\n"
    "Write the binding N into DIR: N_mffi.h (the typed API: N_F() for each\n"
    "function F), N_mffi.c (wrappers that call through whichever strategy\n"
    "N_mffi_open() was given) and N_mffi_static.c (the static strategy's\n"
    "table, compiled against H, with compile-time checks of every described\n"
    "type and layout). See docs/binding-guide.md.\n"
    "\n"
    "  --name N         binding name, a C identifier (prefix of every name)\n"
    "  --header H       the library's header: 'zlib.h' is included as\n"
    "                   <zlib.h>; a path starting with '/', './' or '../' as\n"
    "                   \"the/path/as/given.h\" (compile with -I for the\n"
    "                   directory a relative path starts from)\n"
    "  --cdef FILE      the description (repeatable); without it, the\n"
    "                   declarations of H itself, as `cc -E` prints them\n"
    "  --annotate FILE  declarations read after the header's (repeatable):\n"
    "                   a redeclaration there adds its attributes, e.g.\n"
    "                   access(read_only, 2, 3), to the header's\n"
    "  -I DIR           include directory for preprocessing H (repeatable)\n"
    "  -D NAME[=VALUE]  macro for preprocessing H (repeatable)\n"
    "  --std MODE       preprocess H as `cc -std=MODE` (c11, gnu17...): the\n"
    "                   language mode you compile the generated files in, "
    "since\n"
    "                   a header declares less in strict ISO mode (glibc: no\n"
    "                   fd_set or siginfo_t under -std=c11); default: cc's "
    "own\n"
    "  --variadic 'NAME=F(T, ...)'\n"
    "                   a typed wrapper N_NAME of variadic function F taking\n"
    "                   F's parameters, then one argument of each type T\n"
    "                   (repeatable; e.g. 'open3=open(unsigned int)',\n"
    "                   'printf_d=printf(int)'): works under every strategy\n"
    "                   and in direct mode\n"
    "  --only REGEX     bind only functions and variables whose name matches\n"
    "                   this POSIX extended regex (and the types they need)\n"
    "  --lib SONAME     default target of the dynamic strategy\n"
    "                   (e.g. libz.so.1); without it, the running process.\n"
    "                   Also checked now: functions it does not export are\n"
    "                   weak references in the static table, the others\n"
    "                   strong (without --lib all are weak, and a linker\n"
    "                   using --as-needed then drops the library)\n"
    "  -o, --output DIR output directory (created if missing)\n"
    "  -h, --help       show this help\n"
    "\n"
    "The compiler is $CC, or cc. Function-like macros (zlib's deflateInit)\n"
    "are not functions: call the wrapper of the function they expand to\n"
    "(N_deflateInit_(s, l, ZLIB_VERSION, (int)sizeof(z_stream))); see\n"
    "docs/binding-guide.md.\n";

enum {
  GEN_O_HELP = 1,
  GEN_O_NAME,
  GEN_O_HEADER,
  GEN_O_CDEF,
  GEN_O_INC,
  GEN_O_DEF,
  GEN_O_ONLY,
  GEN_O_LIB,
  GEN_O_OUT,
  GEN_O_ANNOTATE,
  GEN_O_STD,
  GEN_O_VARIADIC
};

/* Append s to the command line, single-quoted for sh. Returns 0, or -1 if
** cmd (of cap bytes) is full. */
static int gen_shq(char *cmd, size_t cap, const char *s) {
  size_t n = strlen(cmd);
  if (n + 2 >= cap) return -1;
  cmd[n++] = ' ';
  cmd[n++] = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      if (n + 5 >= cap) return -1;
      memcpy(cmd + n, "'\\''", 4);
      n += 4;
    } else {
      if (n + 2 >= cap) return -1;
      cmd[n++] = *s;
    }
  }
  if (n + 2 >= cap) return -1;
  cmd[n++] = '\'';
  cmd[n] = '\0';
  return 0;
}

/* Run the preprocessor on `#include INCLUDE` and feed its output to ctx,
** noting what is skipped in sk. Returns 0, or -1 after reporting. */
static int gen_preprocess(mffi_ctx *ctx, const char *include,
                          const char *header, const char *std, char **dirs,
                          int ndirs, char **defs, int ndefs, cli_skips *sk) {
  const char *cc = getenv("CC");
  if (!cc || !cc[0]) cc = "cc";
  size_t cap = 8192;
  char *cmd = malloc(cap);
  if (!cmd) {
    cli_error("out of memory");
    return -1;
  }
  int ok = snprintf(cmd, cap, "printf '%%s\\n'") > 0;
  char line[PATH_MAX + 32];
  snprintf(line, sizeof line, "#include %s", include);
  ok = ok && gen_shq(cmd, cap, line) == 0;
  size_t n = strlen(cmd);
  ok = ok && snprintf(cmd + n, cap - n, " | %s -E", cc) < (int)(cap - n);
  if (ok && std) {
    char opt[64];
    ok = (size_t)snprintf(opt, sizeof opt, "-std=%s", std) < sizeof opt &&
         gen_shq(cmd, cap, opt) == 0;
  }
  for (int i = 0; ok && i < ndirs; i++)
    ok = gen_shq(cmd, cap, "-I") == 0 && gen_shq(cmd, cap, dirs[i]) == 0;
  for (int i = 0; ok && i < ndefs; i++)
    ok = gen_shq(cmd, cap, "-D") == 0 && gen_shq(cmd, cap, defs[i]) == 0;
  ok = ok && gen_shq(cmd, cap, "-x") == 0 && gen_shq(cmd, cap, "c") == 0 &&
       gen_shq(cmd, cap, "-") == 0;
  if (!ok) {
    cli_error("gen: preprocessor command too long");
    free(cmd);
    return -1;
  }
  FILE *p = popen(cmd, "r");
  free(cmd);
  if (!p) {
    cli_error("gen: cannot run the preprocessor: %s", strerror(errno));
    return -1;
  }
  size_t len = 0, bcap = 1 << 16;
  char *buf = malloc(bcap);
  for (;;) {
    if (!buf) break;
    if (bcap - len < 4096) {
      char *nb = realloc(buf, bcap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      bcap *= 2;
    }
    size_t k = fread(buf + len, 1, bcap - len, p);
    len += k;
    if (k == 0) break;
  }
  int st = pclose(p);
  if (!buf) {
    cli_error("out of memory");
    return -1;
  }
  if (st != 0) {
    cli_error("gen: preprocessing %s failed (%s exit status %d)", header, cc,
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(buf);
    return -1;
  }
  char where[PATH_MAX + 32];
  snprintf(where, sizeof where, "%s (preprocessed)", header);
  int rc = cli_cdef_text(ctx, buf, len, where, sk);
  free(buf);
  return rc;
}

/* A declaration that --only selects must be representable: 0, or -1 after
** naming the first skipped one the regex matches, and why. Without
** --only, what was skipped is only noted. */
static int gen_check_skips(const char *only, const cli_skips *sk) {
  if (sk->oom) {
    cli_error("out of memory");
    return -1;
  }
  if (!only || !sk->n) return 0;
  regex_t re;
  if (regcomp(&re, only, REG_EXTENDED | REG_NOSUB) != 0)
    return 0; /* mffi__gen reports the bad regex. */
  int rc = 0;
  for (size_t i = 0; i < sk->n && rc == 0; i++) {
    if (!*sk->names[i] || regexec(&re, sk->names[i], 0, NULL, 0) != 0) continue;
    cli_error("gen: '%s' matches --only but cannot be bound: %s", sk->names[i],
              sk->whys[i]);
    rc = -1;
  }
  regfree(&re);
  return rc;
}

/* How the generated files include the header: <H>, or "H" as given when H
** is a path (so generated files carry no absolute path of the machine
** they were generated on; compile them with -I for the directory H is
** relative to). Returns 0, or -1 after reporting. */
static int gen_include(const char *h, char *out, size_t cap) {
  bool path =
      h[0] == '/' || strncmp(h, "./", 2) == 0 || strncmp(h, "../", 3) == 0;
  if (path && access(h, R_OK) != 0) {
    cli_error("gen: %s: %s", h, strerror(errno));
    return -1;
  }
  if (strpbrk(h, "\"\\\n<>")) {
    cli_error("gen: %s: unusable characters in the header name", h);
    return -1;
  }
  if ((size_t)snprintf(out, cap, path ? "\"%s\"" : "<%s>", h) >= cap) {
    cli_error("gen: header name too long");
    return -1;
  }
  return 0;
}

/* The generator's export check: 1 if shared object ud defines sym. */
static int gen_exported(void *ud, const char *sym) {
  return dlsym(ud, sym) != NULL;
}

int cli_gen(int argc, char **argv) {
  static const cli_opt opts[] = {
      {"help", 'h', false, GEN_O_HELP},
      {"name", 0, true, GEN_O_NAME},
      {"header", 0, true, GEN_O_HEADER},
      {"cdef", 0, true, GEN_O_CDEF},
      {"include-dir", 'I', true, GEN_O_INC},
      {"define", 'D', true, GEN_O_DEF},
      {"only", 0, true, GEN_O_ONLY},
      {"lib", 0, true, GEN_O_LIB},
      {"output", 'o', true, GEN_O_OUT},
      {"annotate", 0, true, GEN_O_ANNOTATE},
      {"std", 0, true, GEN_O_STD},
      {"variadic", 0, true, GEN_O_VARIADIC},
      {NULL, 0, false, 0},
  };
  cli_args a;
  cli_args_init(&a, "gen", argc, argv);
  const char *name = NULL, *header = NULL, *only = NULL, *lib = NULL,
             *out = NULL, *std = NULL;
  char *cdefs[GEN_MAX_DIRS], *dirs[GEN_MAX_DIRS], *defs[GEN_MAX_DIRS],
      *notes[GEN_MAX_DIRS];
  const char *vars[GEN_MAX_DIRS];
  int ncdefs = 0, ndirs = 0, ndefs = 0, nnotes = 0, nvars = 0;
  for (int id; (id = cli_getopt(&a, opts)) != 0;) {
    switch (id) {
    case GEN_O_HELP: fputs(cli_gen_usage, stdout); return CLI_EXIT_OK;
    case GEN_O_NAME: name = a.value; break;
    case GEN_O_HEADER: header = a.value; break;
    case GEN_O_ONLY: only = a.value; break;
    case GEN_O_LIB: lib = a.value; break;
    case GEN_O_OUT: out = a.value; break;
    case GEN_O_STD: std = a.value; break;
    case GEN_O_VARIADIC:
      if (nvars == GEN_MAX_DIRS)
        return cli_usage_error("gen", "too many --variadic (at most %d)",
                               GEN_MAX_DIRS);
      vars[nvars++] = a.value;
      break;
    case GEN_O_CDEF:
    case GEN_O_INC:
    case GEN_O_DEF:
    case GEN_O_ANNOTATE: {
      char **v = id == GEN_O_CDEF  ? cdefs
                 : id == GEN_O_INC ? dirs
                 : id == GEN_O_DEF ? defs
                                   : notes;
      int *n = id == GEN_O_CDEF  ? &ncdefs
               : id == GEN_O_INC ? &ndirs
               : id == GEN_O_DEF ? &ndefs
                                 : &nnotes;
      if (*n == GEN_MAX_DIRS)
        return cli_usage_error("gen", "too many %s options (at most %d)",
                               id == GEN_O_CDEF  ? "--cdef"
                               : id == GEN_O_INC ? "-I"
                               : id == GEN_O_DEF ? "-D"
                                                 : "--annotate",
                               GEN_MAX_DIRS);
      v[(*n)++] = (char *)a.value;
      break;
    }
    default: return CLI_EXIT_USAGE;
    }
  }
  if (a.noperands > 0)
    return cli_usage_error("gen", "unexpected operand '%s'", argv[1]);
  if (!name) return cli_usage_error("gen", "--name is required");
  if (!header) return cli_usage_error("gen", "--header is required");
  if (!out) return cli_usage_error("gen", "-o DIR is required");
  char include[PATH_MAX + 8];
  if (gen_include(header, include, sizeof include) != 0) return CLI_EXIT_FAIL;
  if (mkdir(out, 0777) != 0 && errno != EEXIST) {
    cli_error("gen: cannot create '%s': %s", out, strerror(errno));
    return CLI_EXIT_FAIL;
  }
  mffi_ctx *ctx;
  cli_skips sk = {.limit = GEN_MAX_NOTES};
  if (ncdefs > 0) {
    if (cli_load(cdefs, ncdefs, false, &sk, &ctx) != 0) {
      cli_skips_free(&sk);
      return CLI_EXIT_FAIL;
    }
  } else {
    if (mffi_ctx_new(&ctx, NULL) != MFFI_OK) {
      cli_error("out of memory");
      return CLI_EXIT_FAIL;
    }
    if (gen_preprocess(ctx, include, header, std, dirs, ndirs, defs, ndefs,
                       &sk) != 0) {
      cli_skips_free(&sk);
      mffi_ctx_free(ctx);
      return CLI_EXIT_FAIL;
    }
  }
  if (nnotes > 0 && cli_cdef_files(ctx, notes, nnotes, &sk) != 0) {
    cli_skips_free(&sk);
    mffi_ctx_free(ctx);
    return CLI_EXIT_FAIL;
  }
  cli_skips_summary(&sk);
  int skrc = gen_check_skips(only, &sk);
  cli_skips_free(&sk);
  if (skrc != 0) {
    mffi_ctx_free(ctx);
    return CLI_EXIT_FAIL;
  }
  mffi__gen_opts o = {name, header, include, only, lib,          out,
                      NULL, NULL,   std,     vars, (size_t)nvars};
  void *so = NULL;
  if (lib) {
    /* The library at hand tells which declared functions it exports: those
    ** become strong references in the static table (a static archive
    ** then links them), the others weak. */
    so = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
    if (so) {
      o.xExported = gen_exported;
      o.ud = so;
    } else {
      fprintf(stderr,
              CLI_PROG " gen: warning: cannot load --lib %s (%s): every "
                       "function of the static table is a weak reference\n",
              lib, dlerror());
    }
  }
  mffi__gen_stats st;
  int rc = mffi__gen(ctx, &o, &st);
  if (rc != MFFI_OK) cli_error("gen: %s", mffi_errmsg(ctx));
  mffi_ctx_free(ctx);
  if (so) dlclose(so);
  if (rc != MFFI_OK) return CLI_EXIT_FAIL;
  return CLI_EXIT_OK;
}
