/* Stub generator: typed API, wrappers and static tables. See LICENSE.
**
** Everything is printed from the type table with mffi_type_str() and
** mffi_decl_str(), so the generated C spells each type as the description
** does (typedef names resolved: `uLong` prints as `unsigned long`, which
** is the same type to the compiler). The three outputs:
**
** - N_mffi.h includes the real header H, so a program using the binding
**   keeps H's type names and macros and compiles the same way under every
**   strategy and in direct mode; then one prototype N_F per function.
** - N_mffi.c embeds the selected declarations as cdef text (what the
**   dynamic strategy needs at run time), binds every function once at open,
**   and dispatches. When the strategy lets a function be called natively in
**   this process (mffi_fn_native: dynamic and static), the wrapper calls
**   its address directly, with the type the compiler knows; otherwise
**   (remote, checked) it goes through mffi_call.
** - N_mffi_static.c is compiled against H: every function and variable
**   redeclared with the described type (a conflict is a compile error
**   naming it), _Static_asserts on every reached struct's size, alignment
**   and member offsets, then one thunk per function and the registered
**   table.
*/
#include <assert.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "gen/gen.h"
#include "types.h"

#define GEN_MAX_DEPTH 64 /* Max. nesting of members followed for offsets. */
#define GEN_PATH_MAX 512 /* Max. bytes of a member path in an assertion. */
#define GEN_MSG_MAX 256  /* Bytes of the generated per-thread message. */
#define GEN_MAX_VARGS 16 /* Max. extra argument types of a --variadic. */

/* -- Output buffer --------------------------------------------------------- */

typedef struct gen_buf {
  mffi_ctx *ctx;
  char *p;
  size_t len, cap;
  bool oom; /* An allocation failed: the text is incomplete. */
} gen_buf;

/* Make room for n more bytes plus the NUL. */
static bool gb_room(gen_buf *b, size_t n) {
  if (b->oom) return false;
  if (b->len + n + 1 <= b->cap) return true;
  void *arr = b->p;
  if (mffi__grow(b->ctx, &arr, &b->cap, b->len + n + 1, 1) != 0) {
    b->oom = true;
    return false;
  }
  b->p = arr;
  return true;
}

static void gb_puts(gen_buf *b, const char *s) {
  size_t n = strlen(s);
  if (!gb_room(b, n)) return;
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static void gb_printf(gen_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void gb_printf(gen_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !gb_room(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Append type t declaring name (NULL: a type name). */
static void gb_type(gen_buf *b, const mffi_type *t, const char *name) {
  size_t n = mffi_type_str(t, name, NULL, 0);
  if (!gb_room(b, n)) return;
  mffi_type_str(t, name, b->p + b->len, n + 1);
  b->len += n;
}

static void gb_decl(gen_buf *b, const mffi_decl *d) {
  size_t n = mffi_decl_str(d, NULL, 0);
  if (!gb_room(b, n)) return;
  mffi_decl_str(d, b->p + b->len, n + 1);
  b->len += n;
}

/* Append s as the inside of a C string literal. */
static void gb_cstr(gen_buf *b, const char *s) {
  for (; *s; s++) {
    char c = *s;
    if (c == '"' || c == '\\')
      gb_printf(b, "\\%c", c);
    else if (c == '\n')
      gb_puts(b, "\\n");
    else if ((unsigned char)c < 0x20)
      gb_printf(b, "\\%03o", c);
    else
      gb_printf(b, "%c", c);
  }
}

/* A type printed into a fresh ctx-allocated string; NULL on OOM. */
static char *gen_type_str(mffi_ctx *ctx, const mffi_type *t, const char *name) {
  size_t n = mffi_type_str(t, name, NULL, 0);
  char *s = mffi__malloc(ctx, n + 1);
  if (s) mffi_type_str(t, name, s, n + 1);
  return s;
}

/* -- Selection ------------------------------------------------------------- */

typedef struct gen_sym {
  const mffi_decl *d;
  bool is_var;
  bool wrap;            /* Gets a typed wrapper (non-variadic function). */
  const char *skip;     /* Why it is not bound at all, or NULL. */
  const char *wname;    /* Wrapper suffix: N_<wname>; the name, or the
                           instance's name given to --variadic. */
  bool inst;            /* A variadic function at fixed extra argument types
                           (--variadic): d is the function, vt the types. */
  const mffi_type **vt; /* inst: the nvt extra argument types. */
  size_t nvt;
} gen_sym;

typedef struct gen {
  mffi_ctx *ctx;
  mffi__tt *tt;
  const mffi__gen_opts *o;
  gen_sym *syms; /* Selected functions and variables, decl order. */
  size_t nsyms, capsyms;
  uint8_t *seen; /* By tid: reached from a selected symbol. */
  size_t nseen;
  const char *N;       /* o->name. */
  const char *var[26]; /* Template variables $A..$Z (see gb_tmpl). */
  char num[26][24];    /* Storage of the numeric ones. */
} gen;

/* -- Templates -------------------------------------------------------------
** Generated code is written as templates: C text in which $X (X an upper
** case letter) stands for the value of variable X, set by gen_var_*()
** before the template is printed, and $$ for a dollar sign. */

/* Set variable c ('A'..'Z') to s (borrowed: it must outlive its use). */
static void gen_var(gen *g, char c, const char *s) {
  assert(c >= 'A' && c <= 'Z');
  g->var[c - 'A'] = s;
}

/* Set variable c to the decimal number n. */
static void gen_var_num(gen *g, char c, size_t n) {
  assert(c >= 'A' && c <= 'Z');
  snprintf(g->num[c - 'A'], sizeof g->num[0], "%zu", n);
  g->var[c - 'A'] = g->num[c - 'A'];
}

/* Set $F to the name of symbol s and $K to its index k among wrappers. */
static void gen_var_sym(gen *g, const gen_sym *s, size_t k) {
  gen_var(g, 'F', s->wname);
  gen_var_num(g, 'K', k);
}

/* Append template t with g's variables substituted. */
static void gb_tmpl(gen_buf *b, const char *t, const gen *g) {
  while (*t) {
    const char *d = strchr(t, '$');
    size_t n = d ? (size_t)(d - t) : strlen(t);
    if (n && gb_room(b, n)) {
      memcpy(b->p + b->len, t, n);
      b->len += n;
      b->p[b->len] = '\0';
    }
    if (!d) return;
    char c = d[1];
    if (c == '$') {
      gb_puts(b, "$");
    } else {
      const char *v = c >= 'A' && c <= 'Z' ? g->var[c - 'A'] : NULL;
      assert(v && "template variable not set");
      gb_puts(b, v ? v : "");
    }
    t = d + 2;
  }
}

/* Why a function cannot be bound, or NULL. */
static const char *gen_unbindable(gen *g, const mffi_decl *d) {
  const mffi_type *ft = mffi__B(g->tt, d->tid);
  if (ft->flags & MFFI_TF_UNPROTO) return "no prototype";
  for (uint32_t i = 0; i <= ft->nparams; i++) {
    const mffi_type *p = mffi__B(g->tt, i < ft->nparams ? ft->params[i]
                                                        : ft->child);
    if (p->kind == MFFI_KIND_VALIST) return "va_list parameter";
    /* A struct whose definition was skipped (or never given). */
    if ((p->kind == MFFI_KIND_STRUCT || p->kind == MFFI_KIND_UNION) &&
        !(p->flags & MFFI_TF_COMPLETE))
      return "an incomplete struct or union by value";
  }
  return NULL;
}

/* Mark tid and everything it reaches (pointees, members, parameters). */
static void gen_reach(gen *g, mffi__tid tid, int depth) {
  if (tid == MFFI_TID_NONE || tid >= g->nseen || depth > 1000) return;
  if (g->seen[tid]) return;
  g->seen[tid] = 1;
  mffi_type *t = mffi__T(g->tt, tid);
  if (t->base != tid) gen_reach(g, t->base, depth + 1);
  mffi_type *b = mffi__B(g->tt, tid);
  switch (b->kind) {
  case MFFI_KIND_POINTER:
  case MFFI_KIND_ARRAY:
  case MFFI_KIND_COMPLEX:
  case MFFI_KIND_ENUM: gen_reach(g, b->child, depth + 1); break;
  case MFFI_KIND_FUNCTION:
    gen_reach(g, b->child, depth + 1);
    for (uint32_t i = 0; i < b->nparams; i++)
      gen_reach(g, b->params[i], depth + 1);
    break;
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
    for (uint32_t i = 0; i < b->nmembers; i++)
      gen_reach(g, b->members[i].tid, depth + 1);
    break;
  default: break;
  }
}

/* Append a symbol for d (selected, or an instance's function). NULL on
** OOM. */
static gen_sym *gen_add(gen *g, const mffi_decl *d) {
  void *arr = g->syms;
  if (mffi__grow(g->ctx, &arr, &g->capsyms, g->nsyms + 1, sizeof *g->syms) != 0)
    return NULL;
  g->syms = arr;
  gen_sym *s = &g->syms[g->nsyms++];
  memset(s, 0, sizeof *s);
  s->d = d;
  s->wname = d->name;
  return s;
}

static bool gen_is_ident(const char *s);

/* Add the instance spec "NAME=F(T1, T2...)" of --variadic: the wrapper
** N_NAME takes F's fixed parameters, then one of each type Ti. F joins
** the selection if --only left it out. */
static int gen_instance(gen *g, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *lp = eq ? strchr(eq, '(') : NULL;
  size_t len = strlen(spec);
  if (!eq || !lp || len < 2 || spec[len - 1] != ')')
    return mffi__err(g->ctx, MFFI_EPARSE,
                     "--variadic '%s': expected NAME=FUNCTION(TYPE, ...)",
                     spec);
  char *buf = mffi__malloc(g->ctx, len + 1);
  if (!buf) return mffi__nomem(g->ctx);
  memcpy(buf, spec, len + 1);
  char *name = buf, *fn = buf + (eq - spec) + 1, *types = buf + (lp - spec);
  buf[eq - spec] = '\0';
  *types++ = '\0';
  buf[len - 1] = '\0';
  while (*fn == ' ')
    fn++;
  for (char *e = fn + strlen(fn); e > fn && e[-1] == ' ';)
    *--e = '\0';
  int rc = MFFI_OK;
  const mffi_decl *d = mffi_decl_find(g->ctx, fn);
  if (!gen_is_ident(name) || strlen(name) > 64)
    rc = mffi__err(g->ctx, MFFI_EPARSE,
                   "--variadic '%s': '%s' is not a C identifier", spec, name);
  else if (!d || d->kind != MFFI_DECL_FUNCTION ||
           !(mffi__B(g->tt, d->tid)->flags & MFFI_TF_VARIADIC) ||
           gen_unbindable(g, d))
    rc = mffi__err(g->ctx, MFFI_ENOTFOUND,
                   "--variadic '%s': '%s' is not a declared variadic function",
                   spec, fn);
  for (size_t i = 0; rc == MFFI_OK && i < g->nsyms; i++)
    if (strcmp(g->syms[i].wname, name) == 0 && !g->syms[i].is_var &&
        (g->syms[i].wrap || g->syms[i].inst))
      rc = mffi__err(g->ctx, MFFI_EPARSE,
                     "--variadic '%s': a wrapper %s_%s already exists", spec,
                     g->N, name);
  bool have = false;
  for (size_t i = 0; rc == MFFI_OK && i < g->nsyms; i++)
    have |= g->syms[i].d == d && !g->syms[i].inst;
  if (rc == MFFI_OK && !have && !gen_add(g, d)) rc = mffi__nomem(g->ctx);
  /* The types, split at commas outside parentheses. */
  const mffi_type *vt[GEN_MAX_VARGS];
  size_t nvt = 0;
  for (char *t = types; rc == MFFI_OK && *t;) {
    int depth = 0;
    char *e = t;
    for (; *e && (depth > 0 || *e != ','); e++)
      depth += *e == '(' ? 1 : *e == ')' ? -1 : 0;
    char sep = *e;
    *e = '\0';
    if (nvt == GEN_MAX_VARGS)
      rc = mffi__err(g->ctx, MFFI_ERANGE, "--variadic '%s': over %d types",
                     spec, GEN_MAX_VARGS);
    else if ((rc = mffi_typeof(g->ctx, t, &vt[nvt])) != MFFI_OK)
      rc = mffi__err(g->ctx, rc, "--variadic '%s': type '%s': %s", spec, t,
                     mffi_errmsg(g->ctx));
    else
      nvt++;
    t = sep ? e + 1 : e;
  }
  gen_sym *s = NULL;
  if (rc == MFFI_OK && !(s = gen_add(g, d))) rc = mffi__nomem(g->ctx);
  if (rc == MFFI_OK) {
    s->inst = true;
    s->wrap = true;
    s->nvt = nvt;
    size_t nn = strlen(name) + 1;
    char *wn = mffi__malloc(g->ctx, nn);
    s->vt = mffi__malloc(g->ctx, (nvt ? nvt : 1) * sizeof *s->vt);
    if (!wn || !s->vt) {
      mffi__free(g->ctx, wn);
      g->nsyms--;
      rc = mffi__nomem(g->ctx);
    } else {
      memcpy(wn, name, nn);
      s->wname = wn;
      memcpy(s->vt, vt, nvt * sizeof *vt);
    }
  }
  mffi__free(g->ctx, buf);
  return rc;
}

static int gen_select(gen *g) {
  regex_t re;
  const char *only = g->o->only;
  if (only) {
    int e = regcomp(&re, only, REG_EXTENDED | REG_NOSUB);
    if (e != 0) {
      char msg[128];
      regerror(e, &re, msg, sizeof msg);
      return mffi__err(g->ctx, MFFI_EPARSE, "--only '%s': %s", only, msg);
    }
  }
  int rc = MFFI_OK;
  size_t nd = mffi_ndecls(g->ctx);
  for (size_t i = 0; i < nd && rc == MFFI_OK; i++) {
    const mffi_decl *d = mffi_decl_at(g->ctx, i);
    if (d->kind != MFFI_DECL_FUNCTION && d->kind != MFFI_DECL_VARIABLE)
      continue;
    if (only && regexec(&re, d->name, 0, NULL, 0) != 0) continue;
    void *arr = g->syms;
    if (mffi__grow(g->ctx, &arr, &g->capsyms, g->nsyms + 1, sizeof *g->syms) !=
        0) {
      rc = mffi__nomem(g->ctx);
      break;
    }
    g->syms = arr;
    gen_sym *s = &g->syms[g->nsyms++];
    memset(s, 0, sizeof *s);
    s->d = d;
    s->wname = d->name;
    s->is_var = d->kind == MFFI_DECL_VARIABLE;
    if (!s->is_var) {
      s->skip = gen_unbindable(g, d);
      s->wrap = !s->skip && !(mffi__B(g->tt, d->tid)->flags & MFFI_TF_VARIADIC);
    }
  }
  if (only) regfree(&re);
  for (size_t i = 0; rc == MFFI_OK && i < g->o->nvariadic; i++)
    rc = gen_instance(g, g->o->variadic[i]);
  if (rc != MFFI_OK) return rc;
  if (g->nsyms == 0)
    return mffi__err(g->ctx, MFFI_ENOTFOUND,
                     only ? "no function or variable matches --only '%s'"
                          : "the description declares no function or "
                            "variable%s",
                     only ? only : "");
  g->nseen = g->tt->ntypes;
  g->seen = mffi__calloc(g->ctx, g->nseen ? g->nseen : 1);
  if (!g->seen) return mffi__nomem(g->ctx);
  for (size_t i = 0; i < g->nsyms; i++) {
    if (!g->syms[i].skip) gen_reach(g, g->syms[i].d->tid, 0);
    for (size_t j = 0; j < g->syms[i].nvt; j++)
      gen_reach(g, g->syms[i].vt[j]->id, 0);
  }
  return MFFI_OK;
}

/* 1 if the tag declaration d defines or declares a reached type. */
static bool gen_tag_needed(gen *g, const mffi_decl *d) {
  mffi__tid b = mffi__T(g->tt, d->tid)->base;
  return b < g->nseen && g->seen[b];
}

/* 1 if typedef d gives its name to a reached anonymous record or enum. */
static bool gen_typedef_needed(gen *g, const mffi_decl *d) {
  const mffi_type *b = mffi__B(g->tt, d->tid);
  if (b->kind != MFFI_KIND_STRUCT && b->kind != MFFI_KIND_UNION &&
      b->kind != MFFI_KIND_ENUM)
    return false;
  if (!(b->flags & MFFI_TF_TYPEDEF_TAG) || !b->tag ||
      strcmp(b->tag, d->name) != 0)
    return false;
  return b->id < g->nseen && g->seen[b->id];
}

/* -- Shared pieces --------------------------------------------------------- */

static void gen_banner(gen *g, gen_buf *b, const char *what) {
  gb_printf(b,
            "/* Generated by modffi codegen. DO NOT EDIT. */\n"
            "/* %s for '%s', from the header %s.\n"
            "** Regenerate with `modffi gen --name %s --header %s ...`. */\n",
            what, g->N, g->o->header, g->N, g->o->header);
}

static const mffi_type *gen_ftype(gen *g, const gen_sym *s) {
  return g->ctx->tt.types[mffi__B(g->tt, s->d->tid)->id];
}

/* Append the declarator "NAME(P0 a0, P1 a1)" of a function: with named
** parameters when pnames, else type names only. Then the whole
** declaration is the return type printed around it. */
static void gen_proto(gen *g, gen_buf *b, const gen_sym *s, const char *name,
                      int pnames) {
  const mffi_type *ft = gen_ftype(g, s);
  gen_buf d = {g->ctx, NULL, 0, 0, false};
  gb_printf(&d, "%s(", name);
  size_t np = mffi_type_nparams(ft);
  for (size_t i = 0; i < np; i++) {
    char an[32];
    const char *pn = NULL;
    if (pnames == 1) pn = mffi_decl_param_name(s->d, i);
    if (pnames && !pn) {
      snprintf(an, sizeof an, "a%zu", i);
      pn = an;
    }
    if (i) gb_puts(&d, ", ");
    gb_type(&d, mffi_type_param(ft, i), pn);
  }
  for (size_t j = 0; j < s->nvt; j++) { /* An instance's extra types. */
    char an[32];
    snprintf(an, sizeof an, "a%zu", np + j);
    if (np + j) gb_puts(&d, ", ");
    gb_type(&d, s->vt[j], pnames ? an : NULL);
  }
  if (np + s->nvt == 0) gb_puts(&d, "void");
  if (mffi_type_variadic(ft) && !s->inst) gb_puts(&d, ", ...");
  gb_puts(&d, ")");
  if (d.oom) {
    b->oom = true;
  } else {
    gb_type(b, mffi_type_target(ft), d.p);
  }
  mffi__free(g->ctx, d.p);
}

/* The number of arguments a wrapper of s passes. */
static size_t gen_nargs(gen *g, const gen_sym *s) {
  return mffi_type_nparams(gen_ftype(g, s)) + s->nvt;
}

/* Append "a0, a1, ..." for the arguments of a call. */
static void gen_args(gen_buf *b, size_t np) {
  for (size_t i = 0; i < np; i++)
    gb_printf(b, "%sa%zu", i ? ", " : "", i);
}

static bool gen_is_void(const mffi_type *t);

/* A pointer-to-function parameter type: C calls it, so under a strategy
** that runs the library elsewhere it must become a closure. */
static bool gen_is_fnptr(const mffi_type *t) {
  const mffi_type *u = mffi_type_unqual(t);
  return mffi_type_kind(u) == MFFI_KIND_POINTER &&
         mffi_type_kind(mffi_type_unqual(mffi_type_target(u))) ==
             MFFI_KIND_FUNCTION;
}

/* The handler that runs C function pointer `data` of type t (a pointer to
** function) with a closure's arguments: "static void NAME(...) {...}". */
static void gen_fnptr_handler(gen *g, gen_buf *b, const mffi_type *t,
                              const char *hname) {
  const mffi_type *ft = mffi_type_unqual(mffi_type_target(mffi_type_unqual(t)));
  const mffi_type *rt = mffi_type_target(ft);
  size_t np = mffi_type_nparams(ft);
  (void)g;
  gb_printf(b,
            "static void %s(void *ret, void *const *args, void *data) {\n"
            "  ",
            hname);
  gb_type(b, mffi_type_unqual(t), "f");
  gb_puts(b, ";\n  memcpy(&f, &data, sizeof f);\n  ");
  if (gen_is_void(rt)) {
    gb_puts(b, "(void)ret;\n  f(");
  } else {
    gb_puts(b, "*(");
    gb_type(b, mffi_type_unqual(rt), "*");
    gb_puts(b, ")ret = f(");
  }
  for (size_t j = 0; j < np; j++) {
    gb_puts(b, j ? ", *(" : "*(");
    gb_type(b, mffi_type_unqual(mffi_type_param(ft, j)), "*");
    gb_printf(b, ")args[%zu]", j);
  }
  gb_puts(b, np ? ");\n" : ");\n");
  if (np == 0) gb_puts(b, "  (void)args;\n");
  gb_puts(b, "}\n\n");
}

static bool gen_variadic(gen *g, const gen_sym *s) {
  return !s->is_var && (mffi__B(g->tt, s->d->tid)->flags & MFFI_TF_VARIADIC);
}

static bool gen_is_void(const mffi_type *t) {
  return mffi_type_kind(mffi_type_unqual(t)) == MFFI_KIND_VOID;
}

/* Silence, between push and pop, what generated code cannot avoid: a
** header's deprecated functions are still bound (the typed prototypes
** carry the deprecation on), and array parameters ("int [2]") are
** redeclared as the pointers they are. Unknown names are ignored by both
** GCC and clang. */
static void gen_diag_push(gen_buf *b) {
  gb_puts(b, "#pragma GCC diagnostic push\n"
             "#pragma GCC diagnostic ignored \"-Wpragmas\"\n"
             "#pragma GCC diagnostic ignored \"-Wunknown-warning-option\"\n"
             "#pragma GCC diagnostic ignored \"-Wdeprecated-declarations\"\n"
             "#pragma GCC diagnostic ignored \"-Warray-parameter\"\n");
}

static void gen_diag_pop(gen_buf *b) {
  gb_puts(b, "#pragma GCC diagnostic pop\n");
}

/* 1 if the wrapper's prototype repeats attributes of the function. */
static bool gen_has_proto_attrs(const gen_sym *s) {
  return mffi_decl_attr_find(s->d, "deprecated") != NULL;
}

/* Append the attributes of d that a wrapper's prototype should repeat. */
static void gen_proto_attrs(gen_buf *b, const gen_sym *s) {
  if (gen_has_proto_attrs(s)) gb_puts(b, " __attribute__((deprecated))");
}

/* 1 if symbol s is referenced weakly by the static table: not known to be
** exported (no check given, or the check did not find it). */
static bool gen_weak(const gen *g, const gen_sym *s) {
  if (!g->o->xExported) return true;
  return !g->o->xExported(g->o->ud, mffi_decl_symbol(s->d));
}

/* -- N_mffi.h -------------------------------------------------------------- */

/* The pieces of N_mffi.h. Variables: $N the binding name, $I what follows
** #include, $D the default dynamic target in words, $F a function. */

static const char hd_intro[] =
    "/*\n"
    "** One program, any strategy: call $N_F(...) where the library has "
    "F(...).\n"
    "**\n"
    "**   $N_mffi_open($N_mffi_strategy(\"dynamic\"), NULL);  // or "
    "\"static\"\n"
    "**   ... $N_F(args) ...\n"
    "**   $N_mffi_close();\n"
    "**\n"
    "** Conventions (docs/generated-api.md):\n"
    "** - A wrapper returns the function's own value. A wrapper call that "
    "fails\n"
    "**   (not open, symbol missing, strategy failure) returns zero (NULL, a\n"
    "**   zeroed struct) and sets the status, like errno: $N_mffi_status() "
    "is\n"
    "**   MFFI_OK or the code of the last failure on this thread, "
    "$N_mffi_errmsg()\n"
    "**   says why; a successful open or $N_mffi_clear_status() resets it.\n"
    "**   errno is as the function left it.\n"
    "** - $N_mffi_open(s, target): s NULL means \"dynamic\"; target NULL "
    "means\n"
    "**   the default (static: \"$N\"; dynamic: $D).\n"
    "**   It binds every function once; a function missing from the target "
    "does\n"
    "**   not fail the open, its calls fail with MFFI_ENOSYM.\n"
    "** - Compiled with -D$N_MFFI_DIRECT, the API is static inline direct "
    "calls:\n"
    "**   open/close do nothing and no modffi library is needed.\n"
    "** - Function pointers are passed as they are: C functions work as\n"
    "**   callbacks under the in-process strategies.\n"
    "** - $P\n"
    "*/\n"
    "#ifndef $N_MFFI_H\n"
    "#define $N_MFFI_H\n"
    "\n"
    "#include $I\n"
    "\n";

static const char hd_not_bound[] = "/* Not bound: $F ($S). */\n";
static const char hd_no_wrap_variadic[] =
    "/* No typed wrapper: $F (variadic; generate one per argument list with "
    "--variadic 'NAME=$F(TYPE, ...)'). */\n";
static const char hd_no_wrap_var[] =
    "/* No typed wrapper: $F (a variable; mffi_bind on $N_mffi_lib()). */\n";

static const char hd_direct[] =
    "typedef struct mffi_strategy mffi_strategy;\n"
    "typedef struct mffi_lib mffi_lib;\n"
    "static inline const mffi_strategy *$N_mffi_strategy(const char *name) "
    "{\n"
    "  (void)name;\n"
    "  return 0;\n"
    "}\n"
    "static inline int $N_mffi_open(const mffi_strategy *s, const char "
    "*target) {\n"
    "  (void)s;\n"
    "  (void)target;\n"
    "  return 0;\n"
    "}\n"
    "static inline int $N_mffi_open_name(const char *strategy,\n"
    "                                   const char *target) {\n"
    "  (void)strategy;\n"
    "  (void)target;\n"
    "  return 0;\n"
    "}\n"
    "static inline void $N_mffi_close(void) {}\n"
    "static inline int $N_mffi_status(void) { return 0; }\n"
    "static inline void $N_mffi_clear_status(void) {}\n"
    "static inline const char *$N_mffi_errmsg(void) { return \"\"; }\n"
    "static inline mffi_lib *$N_mffi_lib(void) { return 0; }\n"
    "static inline const char *$N_mffi_missing(int i) {\n"
    "  (void)i;\n"
    "  return 0;\n"
    "}\n"
    "\n";

static const char hd_api[] =
    "#include <modffi.h>\n"
    "\n"
    "#ifdef __cplusplus\n"
    "extern \"C\" {\n"
    "#endif\n"
    "\n"
    "/* mffi_strategy_find(name): \"dynamic\", \"static\", ... */\n"
    "const mffi_strategy *$N_mffi_strategy(const char *name);\n"
    "/* Open the binding; MFFI_OK or an MFFI_E* code (see $N_mffi_errmsg()). "
    "*/\n"
    "int $N_mffi_open(const mffi_strategy *s, const char *target);\n"
    "/* The same with the strategy by name (NULL: \"dynamic\"); an unknown\n"
    "** name is MFFI_ENOTFOUND. */\n"
    "int $N_mffi_open_name(const char *strategy, const char *target);\n"
    "/* Close it (also done by a new open). */\n"
    "void $N_mffi_close(void);\n"
    "/* MFFI_OK, or the code of the last failed call or open on this thread\n"
    "** since the last successful open or clear (like errno). */\n"
    "int $N_mffi_status(void);\n"
    "/* Reset the status to MFFI_OK and the message to \"\". */\n"
    "void $N_mffi_clear_status(void);\n"
    "/* Why it failed (\"\" when the status is MFFI_OK). Per thread. */\n"
    "const char *$N_mffi_errmsg(void);\n"
    "/* The open library, for mffi_callback(), mffi_new()...; NULL if closed. "
    "*/\n"
    "mffi_lib *$N_mffi_lib(void);\n"
    "/* The i-th (from 0) bound function that cannot be called in the opened\n"
    "** target: not provided there (its calls fail with MFFI_ENOSYM) or of a\n"
    "** type the strategy cannot pass (MFFI_EUNSUPPORTED); NULL past the last\n"
    "** one or when closed: for (i = 0; (f = $N_mffi_missing(i)); i++). */\n"
    "const char *$N_mffi_missing(int i);\n"
    "\n";

static const char hd_end[] = "\n"
                             "#ifdef __cplusplus\n"
                             "}\n"
                             "#endif\n"
                             "\n"
                             "#endif /* $N_MFFI_DIRECT */\n"
                             "#endif /* $N_MFFI_H */\n";

static void gen_header(gen *g, gen_buf *b) {
  const char *N = g->N;
  gen_banner(g, b, "Typed API");
  char dflt[300];
  if (g->o->target)
    snprintf(dflt, sizeof dflt, "\"%s\"", g->o->target);
  else
    snprintf(dflt, sizeof dflt, "the running process");
  gen_var(g, 'D', dflt);
  gen_var(g, 'I', g->o->include);
  char mode[160];
  if (g->o->std)
    snprintf(mode, sizeof mode,
             "The header was read as under -std=%.40s: compile in that mode.",
             g->o->std);
  else
    snprintf(mode, sizeof mode,
             "The header was read in cc's default mode: under a stricter "
             "-std=cNN,\n**   regenerate with --std cNN.");
  gen_var(g, 'P', mode);
  gb_tmpl(b, hd_intro, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    gen_var_sym(g, s, 0);
    gen_var(g, 'S', s->skip ? s->skip : "");
    if (s->inst)
      continue;
    else if (s->skip)
      gb_tmpl(b, hd_not_bound, g);
    else if (!s->is_var && !s->wrap)
      gb_tmpl(b, hd_no_wrap_variadic, g);
    else if (s->is_var)
      gb_tmpl(b, hd_no_wrap_var, g);
  }
  gb_tmpl(b, "\n#ifdef $N_MFFI_DIRECT\n\n", g);
  gen_diag_push(b);
  gb_tmpl(b, hd_direct, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    char wname[256];
    snprintf(wname, sizeof wname, "%s_%s", N, s->wname);
    const mffi_type *ft = gen_ftype(g, s);
    if (gen_has_proto_attrs(s)) { /* Attributes go on a declaration. */
      gb_puts(b, "static inline ");
      gen_proto(g, b, s, wname, 2);
      gen_proto_attrs(b, s);
      gb_puts(b, ";\n");
    }
    gb_puts(b, "static inline ");
    gen_proto(g, b, s, wname, 2);
    gb_printf(b, " {\n  %s%s(",
              gen_is_void(mffi_type_target(ft)) ? "" : "return ", s->d->name);
    gen_args(b, gen_nargs(g, s));
    gb_puts(b, ");\n}\n");
  }
  gen_diag_pop(b);
  gb_tmpl(b, "\n#else /* !$N_MFFI_DIRECT */\n\n", g);
  gb_tmpl(b, hd_api, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    char wname[256];
    snprintf(wname, sizeof wname, "%s_%s", N, s->wname);
    gen_proto(g, b, s, wname, 1);
    gen_proto_attrs(b, s);
    gb_puts(b, ";\n");
  }
  gb_tmpl(b, hd_end, g);
}

/* -- N_mffi.c
 * ------------------------------------------------------------------ */

/* The description the dynamic strategy parses at open: the reached tags
** and the typedefs naming anonymous ones, then the selected symbols. */
static void gen_cdef_text(gen *g, gen_buf *b) {
  gen_buf line = {g->ctx, NULL, 0, 0, false};
  size_t nd = mffi_ndecls(g->ctx);
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < nd; i++) {
      const mffi_decl *d = mffi_decl_at(g->ctx, i);
      bool want = false;
      if (pass == 0) {
        if (d->kind == MFFI_DECL_TAG)
          want = gen_tag_needed(g, d);
        else if (d->kind == MFFI_DECL_TYPEDEF)
          want = gen_typedef_needed(g, d);
      } else if (d->kind == MFFI_DECL_FUNCTION ||
                 d->kind == MFFI_DECL_VARIABLE) {
        for (size_t k = 0; k < g->nsyms; k++)
          if (g->syms[k].d == d && !g->syms[k].skip) want = true;
      }
      if (!want) continue;
      line.len = 0;
      gb_decl(&line, d);
      gb_puts(&line, "\n");
      if (line.oom) break;
      gb_puts(b, "    \"");
      gb_cstr(b, line.p);
      gb_puts(b, "\"\n");
    }
  }
  if (line.oom) b->oom = true;
  mffi__free(g->ctx, line.p);
}

/* 1 if type t passed by value is one the call engine refuses. */
static bool gen_engine_refuses(const mffi_type *t) {
  const mffi_type *u = mffi_type_unqual(t);
  mffi_kind k = mffi_type_kind(u);
  if (k == MFFI_KIND_FLOAT128) return true;
  if (k != MFFI_KIND_COMPLEX) return false;
  mffi_kind e = mffi_type_kind(mffi_type_unqual(mffi_type_target(u)));
  return e == MFFI_KIND_LDOUBLE || e == MFFI_KIND_FLOAT128;
}

/* 1 if function s has a parameter or result the call engine refuses: the
** wrapper then calls it natively when it can find its address. */
static bool gen_native_only(gen *g, const gen_sym *s) {
  const mffi_type *ft = gen_ftype(g, s);
  if (gen_engine_refuses(mffi_type_target(ft))) return true;
  for (size_t j = 0; j < mffi_type_nparams(ft); j++)
    if (gen_engine_refuses(mffi_type_param(ft, j))) return true;
  return false;
}

/* -- N_mffi.c pieces ------------------------------------------------------- */

/* The generated code of N_mffi.c, piece by piece, in the order written.
** Variables: $N the binding name, $T the default target (a C string
** literal or 0), $M the message size, $W the number of wrapped functions,
** $F a function's name, $K its index in N__fn, $J a parameter's index. */

static const char wr_prologue[] = "#include <stdio.h>\n"
                                  "#include <string.h>\n"
                                  "\n"
                                  "#include \"$N_mffi.h\"\n"
                                  "\n"
                                  "#ifdef $N_MFFI_DIRECT\n"
                                  "typedef int $N__mffi_direct_mode; /* The "
                                  "API is inline. */\n"
                                  "#else\n"
                                  "\n"
                                  "static const char $N__cdef[] =\n";

static const char wr_names[] =
    "#define $N__NFN $W\n"
    "static const char *const $N__names[$N__NFN] = {\n";

static const char wr_state[] =
    "static const char *const $N__target = $T;\n"
    "static mffi_ctx *$N__ctx;\n"
    "static mffi_lib *$N__lib;\n"
    "static mffi_fn *$N__fn[$N__NFN];\n"
    "static int $N__bindrc[$N__NFN]; /* What mffi_bind() returned. */\n"
    "static _Thread_local int $N__rc;\n"
    "static _Thread_local char $N__msg[$M];\n"
    "\n";

/* Per wrapped function: its type, and the pointer the wrapper jumps
** through, the generic path until a native address is known, so the
** wrapper is one indirect tail jump, like a PLT entry. */
static const char wr_fn_ptr[] = ";\nstatic $N__$F_t *$N__$F_p = $N__slow_$F;\n";

static const char wr_fail[] =
    "\n"
    "static int $N__fail(int rc, const char *what, const char *detail) {\n"
    "  $N__rc = rc;\n"
    "  snprintf($N__msg, sizeof $N__msg, \"$N: %s%s%s\", what,\n"
    "           detail && detail[0] ? \": \" : \"\", detail ? detail : "
    "\"\");\n"
    "  return rc;\n"
    "}\n"
    "\n"
    "/* The generic path: through mffi_call(). */\n"
    "static inline void $N__call(int i, void *ret, void *const *args) {\n"
    "  if (__builtin_expect(!$N__fn[i], 0)) {\n"
    "    int brc = $N__bindrc[i];\n"
    "    if (!$N__lib) {\n"
    "      $N__fail(MFFI_EMISUSE, $N__names[i], \"called before "
    "$N_mffi_open()\");\n"
    "    } else if (brc == MFFI_ENOSYM || brc == MFFI_OK) {\n"
    "      $N__fail(MFFI_ENOSYM, $N__names[i], \"not available in the opened "
    "target\");\n"
    "    } else {\n"
    "      char d[160];\n"
    "      snprintf(d, sizeof d, \"cannot be called through the '%.40s' "
    "strategy (%s)\",\n"
    "               mffi_strategy_name(mffi_lib_strategy($N__lib)), mffi_strerror(brc));\n"
    "      $N__fail(brc, $N__names[i], d);\n"
    "    }\n"
    "    return;\n"
    "  }\n"
    "  int rc = mffi_call($N__fn[i], ret, args);\n"
    "  if (rc != MFFI_OK) $N__fail(rc, $N__names[i], mffi_errmsg($N__ctx));\n"
    "}\n"
    "\n";

/* Function pointers for out-of-process strategies: one closure per
** pointer and handler, made on first use, freed at close. */
static const char wr_closures[] =
    "/* A C function pointer passed where the library runs elsewhere\n"
    "** (remote, checked): the same function behind a closure, made\n"
    "** once per pointer; not thread-safe on first use. */\n"
    "#define $N__MAXCB 256\n"
    "typedef struct $N__cbent {\n"
    "  void *fp;\n"
    "  mffi_handler h;\n"
    "  mffi_closure *c;\n"
    "} $N__cbent;\n"
    "static $N__cbent $N__cbs[$N__MAXCB];\n"
    "static int $N__ncbs;\n"
    "\n"
    "static void *$N__closure(void *fp, const char *type, mffi_handler h,\n"
    "                         const char *what) {\n"
    "  if (!fp || !$N__lib) return fp;\n"
    "  for (int i = 0; i < $N__ncbs; i++)\n"
    "    if ($N__cbs[i].fp == fp && $N__cbs[i].h == h)\n"
    "      return mffi_closure_code($N__cbs[i].c);\n"
    "  const mffi_type *t;\n"
    "  mffi_closure *c;\n"
    "  int rc = $N__ncbs == $N__MAXCB ? MFFI_ERANGE : mffi_typeof($N__ctx, "
    "type, &t);\n"
    "  if (rc == MFFI_OK) rc = mffi_callback($N__lib, t, h, fp, &c);\n"
    "  if (rc != MFFI_OK) {\n"
    "    $N__fail(rc, what, rc == MFFI_ERANGE ? \"too many callbacks\"\n"
    "                                        : mffi_errmsg($N__ctx));\n"
    "    return NULL;\n"
    "  }\n"
    "  $N__cbs[$N__ncbs++] = ($N__cbent){fp, h, c};\n"
    "  return mffi_closure_code(c);\n"
    "}\n"
    "\n";

static const char wr_close[] =
    "const mffi_strategy *$N_mffi_strategy(const char *name) {\n"
    "  return mffi_strategy_find(name);\n"
    "}\n"
    "\n"
    "void $N_mffi_close(void) {\n"
    "  mffi_close($N__lib);\n"
    "  mffi_ctx_free($N__ctx);\n"
    "  $N__lib = NULL;\n"
    "  $N__ctx = NULL;\n"
    "  memset($N__fn, 0, sizeof $N__fn);\n"
    "  memset($N__bindrc, 0, sizeof $N__bindrc);\n";
static const char wr_close_cbs[] =
    "  $N__ncbs = 0; /* mffi_close freed the closures. */\n";
static const char wr_close_fn[] = "  $N__$F_p = $N__slow_$F;\n";
static const char wr_close_inst[] = "  $N__$F_p = NULL;\n";

/* An instance of a variadic function (--variadic): the pointer is set
** when the strategy runs it in this process, and the wrapper calls it
** with the function's own (variadic) type, so C's promotions apply. */
static const char wr_inst_ptr[] = ";\nstatic $N__$F_t *$N__$F_p;\n";
static const char wr_open_native_inst[] =
    "  if ((native = mffi_fn_native($N__fn[$K])) != NULL)\n"
    "    $N__$F_p = ($N__$F_t *)native;\n";

static const char wr_bind_plain[] =
    "\n"
    "static int $N__bind(int i) {\n"
    "  return mffi_bind($N__lib, $N__names[i], &$N__fn[i]);\n"
    "}\n";
/* With instances: $N__nvt[i] extra argument types, as C type names. */
static const char wr_bind_inst[] =
    "static int $N__bind(int i) {\n"
    "  if (!$N__nvt[i]) return mffi_bind($N__lib, $N__names[i], &$N__fn[i]);\n"
    "  const mffi_type *vt[$V];\n"
    "  for (int j = 0; j < $N__nvt[i]; j++) {\n"
    "    int rc = mffi_typeof($N__ctx, $N__vts[i][j], &vt[j]);\n"
    "    if (rc != MFFI_OK) return rc;\n"
    "  }\n"
    "  return mffi_bind_variadic($N__lib, $N__names[i], vt, $N__nvt[i],\n"
    "                            &$N__fn[i]);\n"
    "}\n";

/* The binder of function i, and for instances their argument types. */
static void wr_bind(gen *g, gen_buf *b) {
  bool any_inst = false;
  for (size_t i = 0; i < g->nsyms; i++)
    any_inst |= g->syms[i].inst && g->syms[i].nvt > 0;
  if (!any_inst) {
    gb_tmpl(b, wr_bind_plain, g);
    return;
  }
  gb_puts(b, "\n");
  size_t k = 0, maxv = 1;
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    if (s->nvt) {
      gen_var_sym(g, s, k);
      gb_tmpl(b, "static const char *const $N__vt_$K[] = {", g);
      for (size_t j = 0; j < s->nvt; j++) {
        char *ts = gen_type_str(g->ctx, s->vt[j], NULL);
        if (!ts) {
          b->oom = true;
          return;
        }
        gb_puts(b, j ? ", \"" : "\"");
        gb_cstr(b, ts);
        gb_puts(b, "\"");
        mffi__free(g->ctx, ts);
      }
      gb_puts(b, "};\n");
      if (s->nvt > maxv) maxv = s->nvt;
    }
    k++;
  }
  gb_tmpl(b, "static const char *const *const $N__vts[$N__NFN] = {", g);
  k = 0;
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    gen_var_sym(g, s, k++);
    gb_puts(b, k > 1 ? ", " : "");
    gb_tmpl(b, s->nvt ? "$N__vt_$K" : "0", g);
  }
  gb_tmpl(b, "};\nstatic const unsigned char $N__nvt[$N__NFN] = {", g);
  k = 0;
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    gb_printf(b, "%s%zu", k++ ? ", " : "", s->nvt);
  }
  gb_puts(b, "};\n\n");
  gen_var_num(g, 'V', maxv);
  gb_tmpl(b, wr_bind_inst, g);
}

static const char wr_open[] =
    "int $N_mffi_open(const mffi_strategy *s, const char *target) {\n"
    "  $N_mffi_close();\n"
    "  if (!s) s = mffi_strategy_find(\"dynamic\");\n"
    "  if (!s) return $N__fail(MFFI_EMISUSE, \"open\", \"no such "
    "strategy\");\n"
    "  if (!target)\n"
    "    target = strcmp(mffi_strategy_name(s), \"static\") == 0 ||\n"
    "             strcmp(mffi_strategy_name(s), \"checked:static\") == 0\n"
    "                 ? \"$N\"\n"
    "                 : $N__target;\n"
    "  int rc = mffi_ctx_new(&$N__ctx, NULL);\n"
    "  if (rc != MFFI_OK) return $N__fail(rc, \"open\", mffi_strerror(rc));\n"
    "  rc = mffi_cdef($N__ctx, $N__cdef, sizeof $N__cdef - 1);\n"
    "  if (rc == MFFI_OK) rc = mffi_open($N__ctx, s, target, NULL, "
    "&$N__lib);\n"
    "  if (rc != MFFI_OK) {\n"
    "    $N__fail(rc, \"open\", mffi_errmsg($N__ctx));\n"
    "    mffi_ctx_free($N__ctx);\n"
    "    $N__ctx = NULL;\n"
    "    return rc;\n"
    "  }\n"
    "  for (int i = 0; i < $W; i++)\n"
    "    if (($N__bindrc[i] = $N__bind(i)) != MFFI_OK) {\n"
    "      $N__fn[i] = NULL; /* Missing here: fails when called. */\n"
    "      if ((rc = mffi_lib_failed($N__lib)) != MFFI_OK) {\n"
    "        $N__fail(rc, \"open\", mffi_errmsg($N__ctx));\n"
    "        $N_mffi_close();\n"
    "        return rc;\n"
    "      }\n"
    "    }\n"
    "  int nfound = 0;\n"
    "  for (int i = 0; i < $W; i++)\n"
    "    nfound += $N__bindrc[i] != MFFI_ENOSYM;\n"
    "  if ($W > 0 && nfound == 0) { /* The wrong target, or none linked. */\n"
    "    char d[160];\n"
    "    snprintf(d, sizeof d,\n"
    "             \"none of its %d functions is in %.60s (the wrong target, or "
    "\"\n"
    "             \"the library is not linked)\",\n"
    "             $W, target ? target : \"the running process\");\n"
    "    $N__fail(MFFI_ENOSYM, \"open\", d);\n"
    "    $N_mffi_close();\n"
    "    return MFFI_ENOSYM;\n"
    "  }\n";
static const char wr_open_native[] =
    "  if ((native = mffi_fn_native($N__fn[$K])) != NULL)\n"
    "    $N__$F_p = ($N__$F_t *)native;\n";
/* A function of a type the call engine cannot pass (long double _Complex,
** _Float128): under dynamic, the wrapper calls its address natively. */
static const char wr_open_dlsym[] =
    "  if ($N__bindrc[$K] == MFFI_EUNSUPPORTED && strcmp(mffi_strategy_name(s), \"dynamic\") "
    "== 0 &&\n"
    "      (native = $N__dlsym(target, \"$S\")) != NULL) {\n"
    "    $N__$F_p = ($N__$F_t *)native;\n"
    "    $N__bindrc[$K] = MFFI_OK;\n"
    "  }\n";
static const char wr_dlsym[] =
    "#include <dlfcn.h>\n"
    "\n"
    "/* The address of symbol name in target (NULL: the program), or NULL. */\n"
    "static void *$N__dlsym(const char *target, const char *name) {\n"
    "  void *h = dlopen(target, RTLD_LAZY);\n"
    "  void *p = h ? dlsym(h, name) : NULL;\n"
    "  if (h) dlclose(h); /* The strategy holds it open. */\n"
    "  return p;\n"
    "}\n"
    "\n";
static const char wr_open_end[] =
    "  $N__rc = MFFI_OK;\n"
    "  $N__msg[0] = '\\0';\n"
    "  return MFFI_OK;\n"
    "}\n"
    "\n"
    "int $N_mffi_open_name(const char *strategy, const char *target) {\n"
    "  const mffi_strategy *s = mffi_strategy_find(strategy ? strategy : "
    "\"dynamic\");\n"
    "  if (!s) {\n"
    "    char d[96];\n"
    "    snprintf(d, sizeof d, \"no strategy '%.60s'\", strategy);\n"
    "    return $N__fail(MFFI_ENOTFOUND, \"open\", d);\n"
    "  }\n"
    "  return $N_mffi_open(s, target);\n"
    "}\n"
    "\n"
    "int $N_mffi_status(void) { return $N__rc; }\n"
    "\n"
    "void $N_mffi_clear_status(void) {\n"
    "  $N__rc = MFFI_OK;\n"
    "  $N__msg[0] = '\\0';\n"
    "}\n"
    "\n"
    "const char *$N_mffi_errmsg(void) {\n"
    "  return $N__rc == MFFI_OK ? \"\" : $N__msg;\n"
    "}\n"
    "\n"
    "mffi_lib *$N_mffi_lib(void) { return $N__lib; }\n"
    "\n"
    "const char *$N_mffi_missing(int i) {\n"
    "  if (!$N__lib || i < 0) return NULL;\n"
    "  for (int k = 0; k < $W; k++)\n"
    "    if ($N__bindrc[k] != MFFI_OK && i-- == 0) return $N__names[k];\n"
    "  return NULL;\n"
    "}\n";

/* A function pointer argument $J under a strategy without native calls:
** the same function behind a closure (the type string follows). */
static const char wr_slow_fnptr[] = "  if (!mffi_fn_native($N__fn[$K])) {\n"
                                    "    void *fp_;\n"
                                    "    memcpy(&fp_, &a$J, sizeof fp_);\n"
                                    "    fp_ = $N__closure(fp_, \"";
static const char wr_slow_fnptr_end[] = "\", $N__h_$F_$J, \"$F\");\n"
                                        "    memcpy(&a$J, &fp_, sizeof fp_);\n"
                                        "  }\n";

static const char wr_epilogue[] = "\n#endif /* $N_MFFI_DIRECT */\n";

/* The slow path stands in for the function pointer until the strategy
** gives a native one, so it has the function's calling convention. */
static void gen_slow_cc(gen_buf *b, const mffi_type *ft) {
  if (mffi_type_callconv(ft) == MFFI_CC_MS_ABI)
    gb_puts(b, "__attribute__((ms_abi)) ");
}

/* The generic path of one wrapper, out of line so that the wrapper itself
** is one indirect tail jump (no frame, no spilled arguments); then the
** wrapper. */
static void wr_function(gen *g, gen_buf *b, const gen_sym *s) {
  const mffi_type *ft = gen_ftype(g, s);
  const mffi_type *rt = mffi_type_target(ft);
  size_t np = gen_nargs(g, s), nfixed = mffi_type_nparams(ft);
  bool isvoid = gen_is_void(rt);
  char wname[256], sname[256];
  snprintf(wname, sizeof wname, "%s_%s", g->N, s->wname);
  snprintf(sname, sizeof sname, "%s__slow_%s", g->N, s->wname);
  gb_puts(b, "\nstatic __attribute__((noinline)) ");
  gen_slow_cc(b, ft);
  gen_proto(g, b, s, sname, 2);
  gb_puts(b, " {\n");
  if (!isvoid) {
    gb_puts(b, "  ");
    gb_type(b, mffi_type_unqual(rt), "r");
    gb_puts(b, ";\n  memset(&r, 0, sizeof r);\n");
  }
  for (size_t j = 0; j < nfixed; j++) {
    const mffi_type *pt = mffi_type_param(ft, j);
    if (!gen_is_fnptr(pt)) continue;
    char *ts = gen_type_str(g->ctx, mffi_type_unqual(pt), NULL);
    if (!ts) {
      b->oom = true;
      continue;
    }
    gen_var_num(g, 'J', j);
    gb_tmpl(b, wr_slow_fnptr, g);
    gb_cstr(b, ts);
    gb_tmpl(b, wr_slow_fnptr_end, g);
    mffi__free(g->ctx, ts);
  }
  if (np) {
    gb_printf(b, "  void *args[%zu] = {", np);
    for (size_t j = 0; j < np; j++)
      gb_printf(b, "%s(void *)&a%zu", j ? ", " : "", j);
    gb_puts(b, "};\n");
  }
  gb_tmpl(b, "  $N__call($K, ", g);
  gb_printf(b, "%s, %s);\n", isvoid ? "NULL" : "&r", np ? "args" : "NULL");
  gb_puts(b, isvoid ? "}\n\n" : "  return r;\n}\n\n");
  gen_proto(g, b, s, wname, 2);
  if (s->inst) { /* Natively through the variadic type, or generically. */
    gb_tmpl(b,
            isvoid ? " {\n  if ($N__$F_p) {\n    $N__$F_p("
                   : " {\n  if ($N__$F_p) return $N__$F_p(",
            g);
    gen_args(b, np);
    gb_puts(b, isvoid ? ");\n    return;\n  }\n  " : ");\n  return ");
    gb_tmpl(b, "$N__slow_$F(", g);
  } else {
    gb_tmpl(b, isvoid ? " {\n  $N__$F_p(" : " {\n  return $N__$F_p(", g);
  }
  gen_args(b, np);
  gb_puts(b, ");\n}\n");
}

static void gen_wrappers(gen *g, gen_buf *b) {
  gen_banner(g, b, "Wrappers dispatching through the opened strategy");
  gb_tmpl(b, wr_prologue, g);
  gen_cdef_text(g, b);
  gb_puts(b, "    \"\";\n\n");
  size_t nw = 0;
  for (size_t i = 0; i < g->nsyms; i++)
    nw += g->syms[i].wrap;
  gen_var_num(g, 'W', nw ? nw : 1);
  gb_tmpl(b, wr_names, g);
  for (size_t i = 0; i < g->nsyms; i++)
    if (g->syms[i].wrap) gb_printf(b, "    \"%s\",\n", g->syms[i].d->name);
  if (!nw) gb_puts(b, "    0,\n");
  gb_puts(b, "};\n\n");
  gb_tmpl(b, wr_state, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    gen_var_sym(g, s, 0);
    char tname[256], sname[256];
    snprintf(tname, sizeof tname, "%s__%s_t", g->N, s->wname);
    snprintf(sname, sizeof sname, "%s__slow_%s", g->N, s->wname);
    gb_puts(b, "typedef ");
    gb_type(b, gen_ftype(g, s), tname);
    if (s->inst) {
      gb_tmpl(b, wr_inst_ptr, g);
      continue;
    }
    gb_puts(b, ";\nstatic __attribute__((noinline)) ");
    gen_slow_cc(b, gen_ftype(g, s));
    gen_proto(g, b, s, sname, 2);
    gb_tmpl(b, wr_fn_ptr, g);
  }
  wr_bind(g, b);
  gb_tmpl(b, wr_fail, g);
  bool any_fnptr = false;
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    const mffi_type *ft = gen_ftype(g, s);
    for (size_t j = 0; j < mffi_type_nparams(ft); j++)
      any_fnptr |= gen_is_fnptr(mffi_type_param(ft, j));
  }
  if (any_fnptr) gb_tmpl(b, wr_closures, g);
  bool any_native_only = false;
  for (size_t i = 0; i < g->nsyms; i++)
    any_native_only |=
        g->syms[i].wrap && !g->syms[i].inst && gen_native_only(g, &g->syms[i]);
  if (any_native_only) gb_tmpl(b, wr_dlsym, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (!s->wrap) continue;
    const mffi_type *ft = gen_ftype(g, s);
    for (size_t j = 0; j < mffi_type_nparams(ft); j++) {
      if (!gen_is_fnptr(mffi_type_param(ft, j))) continue;
      char hname[300];
      snprintf(hname, sizeof hname, "%s__h_%s_%zu", g->N, s->wname, j);
      gen_fnptr_handler(g, b, mffi_type_param(ft, j), hname);
    }
  }
  gb_tmpl(b, wr_close, g);
  if (any_fnptr) gb_tmpl(b, wr_close_cbs, g);
  for (size_t i = 0; i < g->nsyms; i++) {
    if (!g->syms[i].wrap) continue;
    gen_var_sym(g, &g->syms[i], 0);
    gb_tmpl(b, g->syms[i].inst ? wr_close_inst : wr_close_fn, g);
  }
  gb_puts(b, "}\n\n");
  gen_var_num(g, 'W', nw);
  gb_tmpl(b, wr_open, g);
  if (nw) gb_puts(b, "  void *native;\n");
  size_t k = 0;
  for (size_t i = 0; i < g->nsyms; i++) {
    if (!g->syms[i].wrap) continue;
    gen_var_sym(g, &g->syms[i], k++);
    gb_tmpl(b, g->syms[i].inst ? wr_open_native_inst : wr_open_native, g);
    if (!g->syms[i].inst && gen_native_only(g, &g->syms[i])) {
      gen_var(g, 'S', mffi_decl_symbol(g->syms[i].d));
      gb_tmpl(b, wr_open_dlsym, g);
    }
  }
  gb_tmpl(b, wr_open_end, g);
  k = 0;
  for (size_t i = 0; i < g->nsyms; i++) {
    if (!g->syms[i].wrap) continue;
    gen_var_sym(g, &g->syms[i], k++);
    wr_function(g, b, &g->syms[i]);
  }
  gb_tmpl(b, wr_epilogue, g);
}

/* -- N_mffi_static.c
 * ----------------------------------------------------------- */

/* Assert the offsets of the named members of record tid (at base bytes
** from the outer type), following anonymous members and members of
** untagged record type. */
static void gen_offsets(gen *g, gen_buf *b, const char *tname,
                        const mffi_type *rec, size_t base, const char *path,
                        int depth) {
  if (depth > GEN_MAX_DEPTH) return;
  size_t n = mffi_type_nfields(rec);
  for (size_t i = 0; i < n; i++) {
    mffi_field f;
    if (mffi_type_field(rec, i, &f) != MFFI_OK || f.bit_width >= 0) continue;
    const mffi_type *ft = mffi_type_unqual(f.type);
    mffi_kind k = mffi_type_kind(ft);
    bool rec_k = k == MFFI_KIND_STRUCT || k == MFFI_KIND_UNION;
    if (!f.name) {
      if (rec_k) gen_offsets(g, b, tname, ft, base + f.offset, path, depth + 1);
      continue;
    }
    char p[GEN_PATH_MAX];
    int pl = snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", f.name);
    if (pl < 0 || (size_t)pl >= sizeof p) continue;
    /* A header may define a member's name as a macro (glibc:
    ** `#define si_pid _sifields._kill.si_pid`); such paths are skipped. */
    gb_puts(b, "#if ");
    for (const char *c = p; *c;) {
      size_t seg = strcspn(c, ".");
      gb_printf(b, "%s!defined(%.*s)", c == p ? "" : " && ", (int)seg, c);
      c += seg + (c[seg] == '.');
    }
    gb_printf(b,
              "\n_Static_assert(offsetof(%s, %s) == %zu,\n"
              "               \"modffi: offsetof(%s, %s) is %zu in the "
              "description, not in %s\");\n#endif\n",
              tname, p, base + f.offset, tname, p, base + f.offset,
              g->o->header);
    if (rec_k && !mffi_type_tag(ft) && mffi_type_complete(ft))
      gen_offsets(g, b, tname, ft, base + f.offset, p, depth + 1);
  }
}

static size_t gen_layout_asserts(gen *g, gen_buf *b) {
  size_t n = 0;
  for (mffi__tid tid = 0; tid < g->nseen; tid++) {
    if (!g->seen[tid]) continue;
    mffi_type *t = mffi__T(g->tt, tid);
    if (t->base != tid) continue;
    if ((t->kind != MFFI_KIND_STRUCT && t->kind != MFFI_KIND_UNION) ||
        !t->tag || !(t->flags & MFFI_TF_COMPLETE))
      continue;
    char *tname = gen_type_str(g->ctx, t, NULL);
    if (!tname) {
      b->oom = true;
      return n;
    }
    /* An anonymous record is spelled by its typedef name, and the typedef
    ** may carry its own aligned(N): _Alignof then sees the typedef's. */
    size_t align = t->align;
    if (t->flags & MFFI_TF_TYPEDEF_TAG) {
      const mffi_decl *td = mffi_decl_find(g->ctx, t->tag);
      if (td && td->kind == MFFI_DECL_TYPEDEF)
        align = mffi_alignof(g->ctx->tt.types[td->tid]);
    }
    gb_printf(b,
              "_Static_assert(sizeof(%s) == %zu,\n"
              "               \"modffi: sizeof(%s) is %zu in the description, "
              "not in %s\");\n"
              "_Static_assert(_Alignof(%s) == %zu,\n"
              "               \"modffi: _Alignof(%s) is %zu in the "
              "description, not in %s\");\n",
              tname, t->size, tname, t->size, g->o->header, tname, align, tname,
              align, g->o->header);
    gen_offsets(g, b, tname, t, 0, "", 0);
    mffi__free(g->ctx, tname);
    n++;
  }
  return n;
}

static int gen_sym_cmp(const void *a, const void *b) {
  const gen_sym *x = *(const gen_sym *const *)a;
  const gen_sym *y = *(const gen_sym *const *)b;
  return strcmp(x->d->name, y->d->name);
}

/* The table, registered with the entries whose address is not null: $C
** entries, the header's name follows st_table. */
static const char st_table[] = "};\n"
                               "\n"
                               "static mffi_static_entry $N__live[$C];\n"
                               "static mffi_static_table $N__table = {\n"
                               "    MFFI_STATIC_VERSION, \"$N\", \"";
static const char st_register[] =
    "\", 0, $N__live};\n"
    "\n"
    "/* Registered at load time: mffi_open(ctx, "
    "mffi_strategy_find(\"static\"),\n"
    "** \"$N\", ...) finds it. A function the library does not export (a weak\n"
    "** reference left null by the linker) is left out: binding it fails with\n"
    "** MFFI_ENOSYM, and only its own calls fail, as under dynamic. */\n"
    "__attribute__((constructor)) static void $N__register(void) {\n"
    "  size_t n = 0;\n"
    "  for (size_t i = 0; i < sizeof $N__entries / sizeof $N__entries[0]; "
    "i++)\n"
    "    if ($N__entries[i].addr) $N__live[n++] = $N__entries[i];\n"
    "  $N__table.n = n;\n"
    "  (void)mffi_static_register(&$N__table);\n"
    "}\n";

static int gen_static(gen *g, gen_buf *b, mffi__gen_stats *st) {
  const char *N = g->N;
  gen_banner(g, b, "Static strategy table");
  gb_printf(
      b,
      "/* Compiled against the real header: every described function "
      "type and\n"
      "** struct layout is checked by the compiler below. */\n"
      "#include <stddef.h>\n#include <string.h>\n\n"
      "#include %s\n\n#include <modffi_static.h>\n\n"
      "/* -- Types of the described functions and variables, redeclared */\n",
      g->o->include);
  gen_diag_push(b);
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (s->skip || s->inst) continue;
    /* A redeclaration: the compiler refuses one whose type conflicts with
    ** the header's ("conflicting types for 'F'"), quoting this line with
    ** its comment. The name is parenthesized so a function-like macro of
    ** the same name is not expanded. (__builtin_types_compatible_p on
    ** __typeof__(&F) would wrongly refuse functions declared with
    ** attribute const or noreturn, which GCC turns into qualifiers.) */
    char dn[300];
    snprintf(dn, sizeof dn, "(%s)", s->d->name);
    if (s->is_var) gb_puts(b, "extern ");
    gb_type(b, g->ctx->tt.types[s->d->tid], dn);
    /* Weak unless known exported: a function the header declares but the
    ** library does not export links as a null address, and the table
    ** leaves it out at load time (see st_register below). */
    if (gen_weak(g, s)) gb_puts(b, " __attribute__((weak))");
    gb_printf(b, "; /* modffi: '%s' must match its declaration in %s */\n",
              s->d->name, g->o->header);
  }
  gb_puts(b, "\n/* -- Layouts of the structs and unions they reach */\n");
  size_t ns = gen_layout_asserts(g, b);
  if (st) st->nstructs = ns;
  gb_puts(b, "\n/* -- Thunks: call by name, arguments from the description's "
             "types */\n");
  for (size_t i = 0; i < g->nsyms; i++) {
    const gen_sym *s = &g->syms[i];
    if (s->skip || s->is_var || gen_variadic(g, s)) continue;
    const mffi_type *ft = gen_ftype(g, s);
    const mffi_type *rt = mffi_type_target(ft);
    size_t np = mffi_type_nparams(ft);
    const char *F = s->d->name;
    bool isvoid = gen_is_void(rt);
    char tn[300];
    for (size_t j = 0; j < np; j++) {
      snprintf(tn, sizeof tn, "%s__%s_a%zu", N, F, j);
      gb_puts(b, "typedef ");
      gb_type(b, mffi_type_param(ft, j), tn);
      gb_puts(b, ";\n");
    }
    if (!isvoid) {
      snprintf(tn, sizeof tn, "%s__%s_r", N, F);
      gb_puts(b, "typedef ");
      gb_type(b, mffi_type_unqual(rt), tn);
      gb_puts(b, ";\n");
    }
    gb_printf(b, "static void %s__thunk_%s(void *ret, void *const *args) {\n",
              N, F);
    if (np == 0) gb_puts(b, "  (void)args;\n");
    if (isvoid)
      gb_printf(b, "  (void)ret;\n  %s(", F);
    else
      gb_printf(b, "  %s__%s_r r = %s(", N, F, F);
    for (size_t j = 0; j < np; j++)
      gb_printf(b, "%s*(%s__%s_a%zu *)args[%zu]", j ? ", " : "", N, F, j, j);
    gb_puts(b, ");\n");
    if (!isvoid) gb_puts(b, "  if (ret) memcpy(ret, &r, sizeof r);\n");
    gb_puts(b, "}\n");
  }
  /* The table, sorted by name for the strategy's binary search. */
  size_t nb = 0;
  for (size_t i = 0; i < g->nsyms; i++)
    nb += !g->syms[i].skip && !g->syms[i].inst;
  const gen_sym **sorted = mffi__malloc(g->ctx, (nb ? nb : 1) * sizeof *sorted);
  if (!sorted) return mffi__nomem(g->ctx);
  nb = 0;
  for (size_t i = 0; i < g->nsyms; i++)
    if (!g->syms[i].skip && !g->syms[i].inst) sorted[nb++] = &g->syms[i];
  qsort(sorted, nb, sizeof *sorted, gen_sym_cmp);
  gb_printf(b, "\nstatic const mffi_static_entry %s__entries[] = {\n", N);
  for (size_t i = 0; i < nb; i++) {
    const gen_sym *s = sorted[i];
    gb_printf(b, "    {\"%s\", \"", s->d->name);
    char *ts = gen_type_str(g->ctx, g->ctx->tt.types[s->d->tid], NULL);
    if (!ts) {
      mffi__free(g->ctx, sorted);
      return mffi__nomem(g->ctx);
    }
    gb_cstr(b, ts);
    mffi__free(g->ctx, ts);
    if (s->is_var)
      gb_printf(b, "\", NULL, (void *)&%s, MFFI_STATIC_VARIABLE},\n",
                s->d->name);
    else if (gen_variadic(g, s))
      gb_printf(b, "\", NULL, (void *)&%s, MFFI_STATIC_VARIADIC},\n",
                s->d->name);
    else
      gb_printf(b, "\", %s__thunk_%s, (void *)&%s, 0},\n", N, s->d->name,
                s->d->name);
  }
  if (!nb) gb_puts(b, "    {0, 0, 0, 0, 0},\n");
  mffi__free(g->ctx, sorted);
  gen_var_num(g, 'C', nb ? nb : 1);
  gb_tmpl(b, st_table, g);
  gb_cstr(b, g->o->header);
  gb_tmpl(b, st_register, g);
  gen_diag_pop(b);
  return MFFI_OK;
}

/* -- Driver
 * -------------------------------------------------------------------- */

static int gen_write(gen *g, const char *suffix, const gen_buf *b) {
  if (b->oom) return mffi__nomem(g->ctx);
  gen_buf path = {g->ctx, NULL, 0, 0, false};
  gb_printf(&path, "%s/%s%s", g->o->outdir, g->N, suffix);
  if (path.oom) return mffi__nomem(g->ctx);
  int rc = MFFI_OK;
  FILE *f = fopen(path.p, "w");
  if (!f) {
    rc = mffi__err(g->ctx, MFFI_EIO, "cannot write '%s': %s", path.p,
                   strerror(errno));
  } else {
    size_t w = fwrite(b->p, 1, b->len, f);
    int e = ferror(f) || w != b->len;
    if (fclose(f) != 0) e = 1;
    if (e)
      rc = mffi__err(g->ctx, MFFI_EIO, "cannot write '%s': %s", path.p,
                     strerror(errno));
  }
  mffi__free(g->ctx, path.p);
  return rc;
}

static bool gen_is_ident(const char *s) {
  if (!s ||
      !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
    return false;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

/* Generate the three files (see gen.h): select, print into buffers from
** ctx's allocator, then write them; nothing is written unless all three
** were printed. */
int mffi__gen(mffi_ctx *ctx, const mffi__gen_opts *o, mffi__gen_stats *stats) {
  if (!ctx || !o) return MFFI_EMISUSE;
  mffi__ok(ctx);
  if (stats) memset(stats, 0, sizeof *stats);
  if (!gen_is_ident(o->name) || strlen(o->name) > 64)
    return mffi__err(ctx, MFFI_EMISUSE,
                     "the name '%s' is not a C identifier (at most 64 "
                     "characters)",
                     o->name ? o->name : "");
  if (!o->header || !o->include || !o->outdir)
    return mffi__err(ctx, MFFI_EMISUSE, "header and output directory needed");
  gen g = {.ctx = ctx, .tt = &ctx->tt, .o = o, .N = o->name};
  gen_buf hb = {ctx, NULL, 0, 0, false}, cb = hb, sb = hb, tlit = hb;
  if (o->target)
    gb_printf(&tlit, "\"%s\"", o->target);
  else
    gb_puts(&tlit, "0");
  gen_var(&g, 'N', g.N);
  gen_var(&g, 'T', tlit.p ? tlit.p : "0");
  gen_var_num(&g, 'M', GEN_MSG_MAX);
  int rc = gen_select(&g);
  if (rc == MFFI_OK) rc = gen_static(&g, &sb, stats);
  if (rc == MFFI_OK) {
    gen_header(&g, &hb);
    gen_wrappers(&g, &cb);
    if (hb.oom || cb.oom || sb.oom) rc = mffi__nomem(ctx);
  }
  if (rc == MFFI_OK) rc = gen_write(&g, "_mffi.h", &hb);
  if (rc == MFFI_OK) rc = gen_write(&g, "_mffi.c", &cb);
  if (rc == MFFI_OK) rc = gen_write(&g, "_mffi_static.c", &sb);
  if (rc == MFFI_OK && stats) {
    for (size_t i = 0; i < g.nsyms; i++) {
      if (g.syms[i].inst)
        stats->ninstances++;
      else if (g.syms[i].skip)
        stats->nskipped++;
      else if (g.syms[i].is_var)
        stats->nvars++;
      else
        stats->nfuncs++;
    }
  }
  mffi__free(ctx, hb.p);
  mffi__free(ctx, cb.p);
  mffi__free(ctx, sb.p);
  mffi__free(ctx, tlit.p);
  for (size_t i = 0; i < g.nsyms; i++) {
    if (!g.syms[i].inst) continue;
    mffi__free(ctx, (void *)g.syms[i].wname);
    mffi__free(ctx, (void *)g.syms[i].vt);
  }
  mffi__free(ctx, g.syms);
  mffi__free(ctx, g.seen);
  return rc;
}
