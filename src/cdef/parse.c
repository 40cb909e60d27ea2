/* C declaration parser: specifiers, declarators, definitions. See LICENSE.
**
** A recursive-descent parser for the declaration subset of C11 with the
** GNU extensions that `gcc -E` output of real headers carries. Declarators
** are read into a list of operations (pointer, array, function) in the
** order they apply to the base type, then built bottom-up through the type
** table. Temporaries live in an arena freed after the parse, and errors
** longjmp back to mffi__cdef_parse, which the transaction then rolls back:
** nothing leaks and nothing half-made stays.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cdef.h"

#define CP_BIGGEST_ALIGN 16     /* __attribute__((aligned)) on x86-64. */
#define CP_MAX_ALIGN (1u << 28) /* Largest aligned(N) GCC accepts. */

/* -- Small growable arrays in the arena ------------------------------------ */

typedef struct cp_vec {
  void *v;
  uint32_t n, cap;
} cp_vec;

static __attribute__((noinline)) void vec_grow(cp_state *cp, cp_vec *vec,
                                               size_t elsz) {
  uint32_t ncap = vec->cap ? vec->cap * 2 : 8;
  void *nv = cp_alloc(cp, ncap * elsz);
  if (vec->n) memcpy(nv, vec->v, vec->n * elsz);
  vec->v = nv;
  vec->cap = ncap;
}

/* Inline, so that elsz is a constant and the slot is cleared in place. */
static inline __attribute__((always_inline)) void *
vec_push(cp_state *cp, cp_vec *vec, size_t elsz) {
  if (vec->n == vec->cap) vec_grow(cp, vec, elsz);
  void *slot = (char *)vec->v + vec->n++ * elsz;
  memset(slot, 0, elsz);
  return slot;
}

/* -- Parser state beyond the lexer ----------------------------------------- */

enum { DM_NAMED, DM_ABSTRACT, DM_EITHER };         /* Declarator modes. */
enum { SC_TOP, SC_MEMBER, SC_PARAM, SC_TYPENAME }; /* Specifier contexts. */

typedef struct cp_specs {
  int storage; /* 0 or TK_TYPEDEF/TK_EXTERN/TK_STATIC/... */
  bool is_inline;
  unsigned quals;
  mffi__tid tid; /* From struct/enum/typedef/typeof, or the result. */
  bool have_tid;
  int nlong, nshort, nsigned, nunsigned, nint, ncomplex;
  int base;              /* TK_VOID, TK_CHAR, TK_FLOATKW... or 0. */
  const char *base_name; /* Its spelling (__float80 vs _Float64x). */
  bool thread_local;
  cp_vec attrs;     /* mffi_attr. */
  uint32_t alignas; /* _Alignas(N), 0 if none. */
  bool tag_only;    /* A struct/union/enum that may stand alone. */
  bool anon_tag;    /* It has no tag. */
  bool dup_enum;    /* An anonymous enum an earlier mffi_cdef declared. */
  mffi__tid tag_tid;
  cp_token first; /* Where the specifiers start. */
} cp_specs;

/* One step of a declarator. */
typedef struct cp_op {
  int kind;          /* '*', '[', '(' */
  unsigned quals;    /* '*': qualifiers of the pointer. */
  long len;          /* '[': length or -1. */
  mffi__tid *params; /* '(': adjusted parameter types. */
  const char **pnames;
  uint32_t nparams;
  uint16_t flags; /* '(': MFFI_TF_VARIADIC, MFFI_TF_UNPROTO. */
  cp_token tok;   /* For errors. */
} cp_op;

typedef struct cp_declarator {
  uint32_t nderiv; /* Derivations read so far (CP_MAX_DERIV). */
  const char *name;
  cp_token name_tok;
  cp_vec ops;   /* cp_op, in the order they apply. */
  cp_vec attrs; /* mffi_attr after and inside the declarator. */
  const char *asm_name;
  mffi__tid tid;       /* Built type. */
  const char **pnames; /* Parameter names, if the name is a function. */
  uint32_t npnames;
} cp_declarator;

static void sp_parse(cp_state *cp, cp_specs *s, int where);
static void dp_declarator(cp_state *cp, cp_declarator *d, cp_vec *out,
                          int mode);
static mffi__tid dp_build(cp_state *cp, mffi__tid base, cp_declarator *d);

/* -- Helpers --------------------------------------------------------------- */

static void cp_expect(cp_state *cp, int tok, const char *what) {
  if (cp->tok.tok != tok) cp_err(cp, NULL, MFFI_EPARSE, "expected %s", what);
  cp_next(cp);
}

static void cp_enter(cp_state *cp) {
  if (++cp->depth > CP_MAX_DEPTH)
    cp_err(cp, NULL, MFFI_EPARSE, "declaration nested too deeply");
}

/* Call a type-table function's result: raise its error at token t. */
static void cp_check(cp_state *cp, int rc, const cp_token *t) {
  if (rc != MFFI_OK) mffi__cp_rethrow(cp, t, rc);
}

/* Skip a balanced group starting at the current '(' '[' or '{'. */
static void cp_skip_group(cp_state *cp) {
  int depth = 0;
  cp_token open = cp->tok;
  do {
    int t = cp->tok.tok;
    if (t == '(' || t == '[' || t == '{')
      depth++;
    else if (t == ')' || t == ']' || t == '}')
      depth--;
    else if (t == TK_EOF)
      cp_err(cp, &open, MFFI_EPARSE, "unbalanced '%c'", *open.p);
    cp_next(cp);
  } while (depth > 0);
}

static void cp_assert_expr(cp_state *cp, void *arg) {
  *(cp_val *)arg = mffi__cp_const_expr(cp);
  if (cp->tok.tok != ',' && cp->tok.tok != ')')
    cp_err(cp, NULL, MFFI_EPARSE, "expected ',' or ')'");
}

/* _Static_assert(expr, "msg"); fails the parse when expr is 0. An
** expression we cannot evaluate (it names what we do not model) is let
** pass: the C compiler will judge it. */
static bool cp_try(cp_state *cp, void (*fn)(cp_state *, void *), void *arg);
static void cp_static_assert(cp_state *cp) {
  cp_token kw = cp->tok;
  cp_next(cp);
  if (cp->tok.tok != '(') cp_err(cp, NULL, MFFI_EPARSE, "expected '('");
  cp_token open = cp->tok;
  cp_next(cp);
  cp_val v;
  bool known = cp_try(cp, cp_assert_expr, &v);
  const char *msg = NULL;
  for (int depth = 1; depth > 0;) {
    int t = cp->tok.tok;
    if (t == TK_EOF) cp_err(cp, &open, MFFI_EPARSE, "unbalanced '('");
    if (t == TK_STRING && depth == 1 && !msg) msg = cp->tok.str;
    if (t == '(' || t == '[' || t == '{') depth++;
    if (t == ')' || t == ']' || t == '}') depth--;
    cp_next(cp);
  }
  if (known && v.v == 0)
    cp_err(cp, &kw, MFFI_EDECL, "static assertion failed: \"%s\"",
           msg ? msg : "");
  cp_expect(cp, ';', "';'");
}

/* Strip "__x__" to "x", as GCC does for attribute names. */
static const char *cp_attr_name(cp_state *cp, const char *s) {
  if (s[0] != '_' || s[1] != '_') return s;
  /* s is pooled: a few names (__nothrow__, __leaf__, __nonnull__...) come
  ** back at most declarations, so their answer is cached by pointer. */
  size_t k = ((uintptr_t)s >> 4) & (CP_ATTR_CACHE - 1);
  if (cp->attr_from[k] == s) return cp->attr_to[k];
  size_t n = strlen(s);
  const char *r = s;
  if (n > 4 && s[n - 1] == '_' && s[n - 2] == '_')
    r = mffi__cp_pool(cp, s + 2, n - 4);
  cp->attr_from[k] = s;
  cp->attr_to[k] = r;
  return r;
}

static bool cp_is_typedef_name(cp_state *cp, const char *name) {
  const mffi_decl *d = mffi__tt_decl_find_pooled(cp->tt, name);
  return d && d->kind == MFFI_DECL_TYPEDEF;
}

/* Add declaration d made at token t (which gives its position). */
static void dc_decl_add(cp_state *cp, mffi_decl *d, const cp_token *t) {
  d->file = t->file;
  d->line = t->line;
  d->col = t->col;
  cp_check(cp, mffi__tt_decl_add(cp->ctx, d, NULL), t);
}

/* "FILE:LINE:COL" or "LINE:COL" of declaration d into buf, with "of an
** earlier mffi_cdef" when d comes from another text without a file name. */
static const char *dc_where(const cp_state *cp, const mffi_decl *d, char *buf,
                            size_t n) {
  bool earlier = d->index < cp->tt->tx_ndecls && !d->file;
  if (d->file)
    snprintf(buf, n, "%.160s:%u:%u", d->file, d->line, d->col);
  else
    snprintf(buf, n, "%u:%u%s", d->line, d->col,
             earlier ? " of an earlier mffi_cdef" : "");
  return buf;
}

/* True if declaration o comes from an earlier mffi_cdef: another
** translation unit, which may declare the same things again. */
static bool dc_earlier(const cp_state *cp, const mffi_decl *o) {
  return cp->tt->in_tx && o->index < cp->tt->tx_ndecls;
}

/* Where the struct, union or enum tid was defined (see dc_where). */
static const char *dc_tag_where(const cp_state *cp, mffi__tid tid,
                                char buf[200]) {
  for (uint32_t i = cp->tt->ndecls; i-- > 0;) {
    const mffi_decl *d = cp->tt->decls[i];
    if (d->kind == MFFI_DECL_TAG && d->defined && d->tid == tid)
      return dc_where(cp, d, buf, 200);
  }
  snprintf(buf, 200, "an earlier mffi_cdef");
  return buf;
}

/* -- Attributes ------------------------------------------------------------ */

/* Raw source text from token a to just before the current token. */
static const char *cp_text_since(cp_state *cp, const cp_token *a) {
  const char *end = cp->tok.p;
  while (end > a->p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
    end--;
  return mffi__cp_pool(cp, a->p, (size_t)(end - a->p));
}

/* Run fn(cp, arg); if it raises an error other than out of memory, undo
** the tokens it read and return false. */
static bool cp_try(cp_state *cp, void (*fn)(cp_state *, void *), void *arg) {
  jmp_buf jb, *outer = cp->jb;
  cp_mark m = mffi__cp_mark(cp);
  int depth = cp->depth, noeval = cp->noeval, in_members = cp->in_members;
  int in_len_try = cp->in_len_try;
  cp->jb = &jb;
  int rc = setjmp(jb);
  if (rc == 0) {
    fn(cp, arg);
    cp->jb = outer;
    return true;
  }
  cp->jb = outer;
  if (rc == MFFI_ENOMEM) longjmp(*outer, rc);
  mffi__ok(cp->ctx);
  mffi__cp_reset(cp, &m);
  cp->depth = depth;
  cp->noeval = noeval;
  cp->in_members = in_members;
  cp->in_len_try = in_len_try;
  return false;
}

static void at_const_arg(cp_state *cp, void *arg) {
  cp_val v = mffi__cp_const_expr(cp);
  if (cp->tok.tok != ',' && cp->tok.tok != ')')
    cp_err(cp, NULL, MFFI_EPARSE, "expected ',' or ')'");
  ((mffi_attr_arg *)arg)->num = (int64_t)v.v;
}

static void at_arg(cp_state *cp, mffi_attr_arg *a) {
  const cp_token *t = &cp->tok;
  if ((t->tok == TK_NAME || t->tok >= TK_KW_FIRST) && t->name) {
    int nx = mffi__cp_peek(cp)->tok;
    const mffi_decl *d = mffi__tt_decl_find_pooled(cp->tt, t->name);
    if ((nx == ',' || nx == ')') && !(d && d->kind == MFFI_DECL_CONSTANT)) {
      a->str = cp_attr_name(cp, t->name);
      cp_next(cp);
      return;
    }
  }
  if (t->tok == TK_STRING) { /* Kept as written, quotes included. */
    cp_token first = *t;
    while (cp->tok.tok == TK_STRING)
      cp_next(cp);
    a->str = cp_text_since(cp, &first);
    return;
  }
  if (cp_try(cp, at_const_arg, a)) return;
  /* Not a constant: keep the text (e.g. cleanup(fn), vector_size(...)). */
  cp_token first = cp->tok;
  int depth = 0;
  while (depth > 0 || (cp->tok.tok != ',' && cp->tok.tok != ')')) {
    int k = cp->tok.tok;
    if (k == TK_EOF) cp_err(cp, &first, MFFI_EPARSE, "unbalanced attribute");
    if (k == '(' || k == '[') depth++;
    if (k == ')' || k == ']') depth--;
    cp_next(cp);
  }
  a->str = cp_text_since(cp, &first);
}

/* __attribute__((a, b(x, y), ...)), at the current TK_ATTRIBUTE. */
static void at_parse(cp_state *cp, cp_vec *attrs) {
  cp_token at = cp->tok;
  cp_next(cp);
  cp_expect(cp, '(', "'(' after __attribute__");
  cp_expect(cp, '(', "'((' after __attribute__");
  while (cp->tok.tok != ')') {
    if (cp->tok.tok == ',') {
      cp_next(cp);
      continue;
    }
    if (!cp->tok.name) cp_err(cp, NULL, MFFI_EPARSE, "expected attribute name");
    mffi_attr *a = vec_push(cp, attrs, sizeof *a);
    a->name = cp_attr_name(cp, cp->tok.name);
    cp_next(cp);
    if (cp->tok.tok == '(') {
      cp_next(cp);
      cp_vec args = {0};
      while (cp->tok.tok != ')') {
        at_arg(cp, vec_push(cp, &args, sizeof(mffi_attr_arg)));
        if (cp->tok.tok == ',')
          cp_next(cp);
        else if (cp->tok.tok != ')')
          cp_err(cp, NULL, MFFI_EPARSE, "expected ',' or ')' in attribute");
      }
      cp_next(cp);
      a->args = args.v;
      a->nargs = args.n;
    }
    if (cp->tok.tok != ',' && cp->tok.tok != ')')
      cp_err(cp, NULL, MFFI_EPARSE, "expected ',' or ')' in attribute");
  }
  cp_next(cp);
  if (cp->tok.tok != ')')
    cp_err(cp, &at, MFFI_EPARSE, "unbalanced __attribute__");
  cp_next(cp);
}

/* __asm__("name" ...): the concatenated string. */
static const char *at_asm(cp_state *cp) {
  cp_next(cp);
  cp_expect(cp, '(', "'(' after __asm__");
  char buf[CP_MAX_STRING];
  size_t n = 0;
  if (cp->tok.tok != TK_STRING)
    cp_err(cp, NULL, MFFI_EPARSE, "expected string");
  while (cp->tok.tok == TK_STRING) {
    size_t l = (size_t)cp->tok.ival;
    if (n + l >= sizeof buf) cp_err(cp, NULL, MFFI_EPARSE, "asm name too long");
    memcpy(buf + n, cp->tok.str, l);
    n += l;
    cp_next(cp);
  }
  cp_expect(cp, ')', "')'");
  return mffi__cp_pool(cp, buf, n);
}

/* Attributes and asm labels after a declarator, in any order. */
static void at_trailing(cp_state *cp, cp_declarator *d) {
  for (;;) {
    if (cp->tok.tok == TK_ATTRIBUTE)
      at_parse(cp, &d->attrs);
    else if (cp->tok.tok == TK_ASM)
      d->asm_name = at_asm(cp);
    else
      return;
  }
}

static const mffi_attr *at_find(const cp_vec *attrs, const char *name) {
  const mffi_attr *a = attrs->v;
  for (uint32_t i = 0; i < attrs->n; i++)
    if (strcmp(a[i].name, name) == 0) return &a[i];
  return NULL;
}

/* The alignment asked by aligned / aligned(N) in attrs, or 0. */
static uint32_t at_aligned(cp_state *cp, const cp_vec *attrs, const cp_token *t,
                           bool last_wins) {
  uint32_t al = 0;
  const mffi_attr *a = attrs->v;
  for (uint32_t i = 0; i < attrs->n; i++) {
    if (strcmp(a[i].name, "aligned") != 0) continue;
    uint64_t n = CP_BIGGEST_ALIGN;
    if (a[i].nargs >= 1) {
      if (a[i].args[0].str)
        cp_err(cp, t, MFFI_EDECL,
               "requested alignment is not an integer "
               "constant");
      n = (uint64_t)a[i].args[0].num;
    }
    if (n == 0 || (n & (n - 1)))
      cp_err(cp, t, MFFI_EDECL, "requested alignment is not a power of 2");
    if (n > CP_MAX_ALIGN)
      cp_err(cp, t, MFFI_EDECL,
             "requested alignment %llu exceeds the maximum of 2^28",
             (unsigned long long)n);
    /* GCC: on a member the largest aligned() counts, on a type the last. */
    if (!last_wins && n < al) continue;
    al = (uint32_t)n;
  }
  return al;
}

/* GCC's mode(M) attribute: the integer or floating type of machine mode M
** in place of the declared one, keeping its signedness and qualifiers
** (<sys/types.h>: "typedef int register_t __attribute__((mode(word)))"). */
static mffi__tid at_scalar_mode(cp_state *cp, mffi__tid tid, const char *m,
                                const cp_token *t) {
  static const struct {
    const char *mode;
    int size; /* Bytes of an integer mode, or 0. */
    mffi_kind fkind;
  } modes[] = {{"QI", 1, 0},
               {"byte", 1, 0},
               {"HI", 2, 0},
               {"SI", 4, 0},
               {"DI", 8, 0},
               {"word", 8, 0},
               {"pointer", 8, 0},
               /* libgcc's target modes (unwind.h): word_mode on x86-64. */
               {"unwind_word", 8, 0},
               {"libgcc_cmp_return", 8, 0},
               {"libgcc_shift_count", 8, 0},
               {"TI", 16, 0},
               {"HF", 0, MFFI_KIND_FLOAT16},
               {"SF", 0, MFFI_KIND_FLOAT},
               {"DF", 0, MFFI_KIND_DOUBLE},
               {"XF", 0, MFFI_KIND_LDOUBLE},
               {"TF", 0, MFFI_KIND_FLOAT128}};
  /* Complex modes: "C" + an integer mode (CSI), or a floating mode with
  ** C for F (SC, DC, XC, TC, HC). GCC puts one on any _Complex type, and
  ** only there, and makes the complex of the mode's component. */
  size_t mlen = m ? strlen(m) : 0;
  bool cint = mlen == 3 && m[0] == 'C' && m[2] == 'I';
  bool cflt = mlen == 2 && m[1] == 'C' && strchr("HSDXT", m[0]);
  const mffi_type *cb = mffi__B(cp->tt, tid);
  if (cb->kind == MFFI_KIND_COMPLEX || cint || cflt) {
    if (cb->kind != MFFI_KIND_COMPLEX || !(cint || cflt))
      cp_err(cp, t, MFFI_EDECL, "mode '%s' applied to inappropriate type", m);
    char sm[3] = {cint ? m[1] : m[0], cint ? 'I' : 'F', '\0'};
    mffi__tid comp = cb->child;
    if (cint && !mffi__kind_is_int((mffi_kind)mffi__B(cp->tt, comp)->kind))
      comp = MFFI_KIND_INT;
    if (cflt) comp = MFFI_KIND_DOUBLE;
    comp = at_scalar_mode(cp, comp, sm, t);
    mffi__tid out;
    cp_check(cp, mffi__tt_complex(cp->ctx, comp, &out), t);
    unsigned q = mffi__T(cp->tt, tid)->quals;
    if (q) cp_check(cp, mffi__tt_qual(cp->ctx, out, q, &out), t);
    return out;
  }
  for (size_t i = 0; m && i < sizeof modes / sizeof *modes; i++) {
    if (strcmp(m, modes[i].mode) != 0) continue;
    const mffi_type *n = mffi__T(cp->tt, tid);
    mffi_kind k = (mffi_kind)mffi__B(cp->tt, tid)->kind;
    mffi_kind r;
    if (modes[i].size) {
      if (!mffi__kind_is_int(k) || k == MFFI_KIND_BOOL)
        cp_err(cp, t, MFFI_EDECL, "mode '%s' applied to a non-integer type", m);
      bool sgn =
          mffi__kind_is_signed(cp->tt, k) ||
          (k == MFFI_KIND_ENUM && mffi__B(cp->tt, tid)->child < MFFI_NPRIM &&
           mffi__kind_is_signed(cp->tt, mffi__B(cp->tt, tid)->child));
      static const mffi_kind bysize[][2] = {
          {MFFI_KIND_UCHAR, MFFI_KIND_SCHAR},
          {MFFI_KIND_USHORT, MFFI_KIND_SHORT},
          {MFFI_KIND_UINT, MFFI_KIND_INT},
          {MFFI_KIND_ULONG, MFFI_KIND_LONG},
          {MFFI_KIND_UINT128, MFFI_KIND_INT128}};
      int row = modes[i].size == 1   ? 0
                : modes[i].size == 2 ? 1
                : modes[i].size == 4 ? 2
                : modes[i].size == 8 ? 3
                                     : 4;
      r = bysize[row][sgn];
    } else {
      if (k < MFFI_KIND_FLOAT16 || k > MFFI_KIND_FLOAT128)
        cp_err(cp, t, MFFI_EDECL, "mode '%s' applied to a non-floating type",
               m);
      r = modes[i].fkind;
    }
    mffi__tid out = (mffi__tid)r;
    if (n->quals) cp_check(cp, mffi__tt_qual(cp->ctx, out, n->quals, &out), t);
    return out;
  }
  /* GCC knows OI, XI (256, 512-bit integers) and the vector modes, but
  ** cannot emulate them on x86-64 without vector support. */
  if (m && (strcmp(m, "OI") == 0 || strcmp(m, "XI") == 0))
    cp_err(cp, t, MFFI_EUNSUPPORTED, "unable to emulate '%s'", m);
  cp_err(cp, t, MFFI_EUNSUPPORTED, "unknown machine mode '%s'", m ? m : "?");
}

/* GCC puts vector_size(N) on the element type, through the pointers and
** arrays of the declarator ("char v[3] __attribute__((vector_size(4)))" is
** an array of three vectors), and rebuilds them around the vector. */
static mffi__tid at_vectorize(cp_state *cp, mffi__tid tid, uint64_t size,
                              const cp_token *t, int depth) {
  const mffi_type *n = mffi__T(cp->tt, tid), *b = mffi__B(cp->tt, tid);
  if (depth > CP_MAX_DEPTH)
    cp_err(cp, t, MFFI_EUNSUPPORTED, "vector_size: declarator too deep");
  mffi__tid out;
  if (b->kind == MFFI_KIND_POINTER) {
    mffi__tid c = at_vectorize(cp, b->child, size, t, depth + 1);
    cp_check(cp, mffi__tt_ptr(cp->ctx, c, &out), t);
    if (n->quals) cp_check(cp, mffi__tt_qual(cp->ctx, out, n->quals, &out), t);
    return out;
  }
  if (b->kind == MFFI_KIND_ARRAY && !(b->flags & MFFI_TF_VECTOR)) {
    mffi__tid c = at_vectorize(cp, b->child, size, t, depth + 1);
    cp_check(cp, mffi__tt_array(cp->ctx, c, b->length, &out), t);
    return out;
  }
  if (b->kind == MFFI_KIND_FUNCTION)
    cp_err(cp, t, MFFI_EUNSUPPORTED,
           "vector_size on a function type is not supported");
  cp_check(cp, mffi__tt_vector(cp->ctx, tid, size, &out), t);
  return out;
}

/* The convention ms_abi or sysv_abi in attrs name last (MFFI_TF_MSABI or
** 0), or cc when they name none. */
static int at_last_callconv(const cp_vec *attrs, int cc) {
  const mffi_attr *a = attrs->v;
  for (uint32_t i = 0; i < attrs->n; i++) {
    if (strcmp(a[i].name, "ms_abi") == 0) cc = MFFI_TF_MSABI;
    if (strcmp(a[i].name, "sysv_abi") == 0) cc = 0;
  }
  return cc;
}

#define AT_MAX_PUSH 64 /* Derivations the convention is pushed through. */

/* tid with the function type it is, or reaches through pointers and
** arrays, in convention cc: GCC pushes ms_abi on a pointer down to the
** function ("int (*p)(int) __attribute__((ms_abi))"). A type with no
** function in it is kept (GCC ignores the attribute there, warning). */
static mffi__tid at_with_callconv(cp_state *cp, mffi__tid tid, int cc,
                                  const cp_token *t) {
  mffi__tid path[AT_MAX_PUSH];
  int n = 0;
  for (mffi__tid c = tid;; c = mffi__B(cp->tt, c)->child) {
    const mffi_type *b = mffi__B(cp->tt, c);
    bool through = b->kind == MFFI_KIND_POINTER ||
                   (b->kind == MFFI_KIND_ARRAY && !(b->flags & MFFI_TF_VECTOR));
    if (b->kind != MFFI_KIND_FUNCTION && !through) return tid;
    if (n == AT_MAX_PUSH) return tid;
    path[n++] = c;
    if (b->kind == MFFI_KIND_FUNCTION) break;
  }
  const mffi_type *f = mffi__B(cp->tt, path[n - 1]);
  if ((f->flags & MFFI_TF_MSABI) == (unsigned)cc) return tid;
  mffi__tid out;
  cp_check(cp,
           mffi__tt_func(cp->ctx, f->child, f->params, f->nparams,
                         (uint16_t)((f->flags & ~MFFI_TF_MSABI) | (unsigned)cc),
                         &out),
           t);
  for (int i = n - 1; i-- > 0;) { /* Rebuild the derivations outward. */
    const mffi_type *v = mffi__T(cp->tt, path[i]),
                    *b = mffi__B(cp->tt, path[i]);
    if (b->kind == MFFI_KIND_POINTER)
      cp_check(cp, mffi__tt_ptr(cp->ctx, out, &out), t);
    else
      cp_check(cp,
               mffi__tt_array(cp->ctx, out,
                              (b->flags & MFFI_TF_VLA_LEN) ? -1 : b->length,
                              &out),
               t);
    if (v->quals) cp_check(cp, mffi__tt_qual(cp->ctx, out, v->quals, &out), t);
    if (v->flags & MFFI_TF_USERALIGN)
      cp_check(cp, mffi__tt_aligned(cp->ctx, out, v->align, &out), t);
  }
  return out;
}

/* The attributes that change the type tid of a declaration (a1: its
** specifiers, a2: its declarator): mode(M), vector_size(N), and the
** calling convention (ms_abi, sysv_abi). Vector modes are "V" + a count +
** a scalar mode (V4SF: four floats). vector_size applies to a scalar type
** only here; GCC also accepts it through pointers and arrays. */
static mffi__tid at_decl_type(cp_state *cp, mffi__tid tid, const cp_vec *a1,
                              const cp_vec *a2, const cp_token *t) {
  int cc = at_last_callconv(a2, at_last_callconv(a1, -1));
  if (cc >= 0) tid = at_with_callconv(cp, tid, cc, t);
  const mffi_attr *a = at_find(a1, "mode");
  if (!a) a = at_find(a2, "mode");
  if (a) {
    const char *m = a->nargs == 1 ? a->args[0].str : NULL;
    if (m && m[0] == 'V' && m[1] >= '1' && m[1] <= '9') {
      uint64_t n = 0;
      const char *q = m + 1;
      while (*q >= '0' && *q <= '9' && n < (1u << 20))
        n = n * 10 + (uint64_t)(*q++ - '0');
      mffi__tid e = at_scalar_mode(cp, tid, q, t);
      cp_check(cp, mffi__tt_vector(cp->ctx, e, n * mffi__size(cp->tt, e), &tid),
               t);
    } else {
      tid = at_scalar_mode(cp, tid, m, t);
    }
  }
  a = at_find(a1, "vector_size");
  if (!a) a = at_find(a2, "vector_size");
  if (a) {
    if (a->nargs != 1 || a->args[0].str)
      cp_err(cp, t, MFFI_EDECL, "vector size is not an integer constant");
    tid = at_vectorize(cp, tid, (uint64_t)a->args[0].num, t, 0);
  }
  return tid;
}

static void at_reject_vector(cp_state *cp, const cp_vec *attrs,
                             const cp_token *t) {
  if (at_find(attrs, "vector_size"))
    cp_err(cp, t, MFFI_EUNSUPPORTED, "vector types are not supported");
}

/* The attributes that make a new type out of tid where a whole type is
** named: a typedef, or a type name (sizeof, casts, mffi_typeof). mode(M)
** first, then aligned(N), which may lower the alignment. GCC takes the
** last aligned(N) of the specifiers (sa) if there is one, else the last
** of the declarator (da): "typedef int __attribute__((aligned(2))) T
** __attribute__((aligned(8)))" is aligned to 2. */
static mffi__tid at_type_attrs(cp_state *cp, mffi__tid tid, const cp_vec *sa,
                               const cp_vec *da, const cp_token *t) {
  tid = at_decl_type(cp, tid, sa, da, t);
  uint32_t al = at_aligned(cp, sa, t, true);
  if (!al) al = at_aligned(cp, da, t, true);
  if (al) cp_check(cp, mffi__tt_aligned(cp->ctx, tid, al, &tid), t);
  return tid;
}

/* -- Struct, union and enum specifiers ------------------------------------- */

/* Find or create the record type for a tag reference. */
static mffi__tid sp_tag_ref(cp_state *cp, int kind, const char *tag,
                            const cp_token *t, bool add_forward) {
  mffi__tid tid = mffi__tt_tag_find_pooled(cp->tt, tag);
  if (tid != MFFI_TID_NONE) {
    if (cp->tt->types[tid]->kind != kind)
      cp_err(cp, t, MFFI_EDECL, "'%s' defined as wrong kind of tag", tag);
    return tid;
  }
  if (cp->speculative) /* A #define must not declare a tag. */
    cp_err(cp, t, MFFI_EDECL, "unknown tag '%s' in a constant", tag);
  cp_check(cp, mffi__tt_record(cp->ctx, (mffi_kind)kind, tag, &tid), t);
  cp_check(cp, mffi__tt_tag_bind(cp->ctx, tag, tid), t);
  if (add_forward) { /* So that printed declarations declare it first. */
    mffi_decl d = {.kind = MFFI_DECL_TAG,
                   .name = tag,
                   .tid = tid,
                   .enum_tid = MFFI_TID_NONE};
    dc_decl_add(cp, &d, t);
  }
  return tid;
}

/* Attributes written on a tag reference belong to the declaration. */
static void sp_keep_attrs(cp_state *cp, cp_specs *s, const cp_vec *attrs,
                          uint32_t from) {
  for (uint32_t i = from; i < attrs->n; i++)
    *(mffi_attr *)vec_push(cp, &s->attrs, sizeof(mffi_attr)) =
        ((mffi_attr *)attrs->v)[i];
}

/* Names of members, anonymous members flattened, for duplicate checks. */
static void sp_member_names(cp_state *cp, const mffi_type *rec, cp_vec *out) {
  for (uint32_t i = 0; i < rec->nmembers; i++) {
    const mffi__member *m = &rec->members[i];
    if (m->name) {
      *(const char **)vec_push(cp, out, sizeof(char *)) = m->name;
    } else if (m->bit_width < 0) {
      sp_member_names(cp, mffi__B(cp->tt, m->tid), out);
    }
  }
}

/* Names are pooled: a set of pointers finds duplicates in linear time. */
/* Refuse the item past `max` of a list of `what`. */
static void cp_count(cp_state *cp, uint32_t n, uint32_t max, const char *what) {
  if (n >= max) cp_err(cp, NULL, MFFI_ERANGE, "more than %u %s", max, what);
}

static void sp_check_dup(cp_state *cp, cp_pset *names, const char *name,
                         const cp_token *t) {
  if (mffi__cp_pset_add(cp, names, name))
    cp_err(cp, t, MFFI_EDECL, "duplicate member '%s'", name);
}

/* Where a member was written: what an error there needs of its token, in
** a third of the space (one is kept per member). */
typedef struct cp_pos {
  const char *p, *file;
  uint32_t len, line, col;
} cp_pos;

static cp_pos cp_pos_of(const cp_token *t) {
  cp_pos q = {t->p, t->file,
              t->len > UINT32_MAX ? UINT32_MAX : (uint32_t)t->len, t->line,
              t->col};
  return q;
}

static cp_token cp_tok_of(const cp_pos *q) {
  cp_token t = {.tok = TK_NAME,
                .p = q->p,
                .len = q->len,
                .line = q->line,
                .col = q->col,
                .file = q->file};
  return t;
}

static void sp_members(cp_state *cp, cp_vec *members, cp_vec *toks) {
  cp_pset names = {0};
  cp->in_members++;
  while (cp->tok.tok != '}') {
    if (cp->tok.tok == ';') {
      cp_next(cp);
      continue;
    }
    if (cp->tok.tok == TK_STATIC_ASSERT) {
      cp_static_assert(cp);
      continue;
    }
    if (cp->tok.tok == TK_EOF) cp_err(cp, NULL, MFFI_EPARSE, "expected '}'");
    cp_specs s;
    sp_parse(cp, &s, SC_MEMBER);
    if (cp->tok.tok == ';') { /* Anonymous struct/union member. */
      const mffi_type *b = mffi__B(cp->tt, s.tid);
      if (s.anon_tag &&
          (b->kind == MFFI_KIND_STRUCT || b->kind == MFFI_KIND_UNION)) {
        mffi__member *m = vec_push(cp, members, sizeof *m);
        *(cp_pos *)vec_push(cp, toks, sizeof(cp_pos)) = cp_pos_of(&s.first);
        m->tid = s.tid;
        m->bit_width = -1;
        m->align_attr = at_aligned(cp, &s.attrs, &s.first, false);
        m->packed = at_find(&s.attrs, "packed") != NULL;
        cp_vec sub = {0};
        sp_member_names(cp, b, &sub);
        for (uint32_t i = 0; i < sub.n; i++)
          sp_check_dup(cp, &names, ((const char **)sub.v)[i], &s.first);
      }
      cp_next(cp);
      continue;
    }
    for (;;) {
      cp_declarator d = {0};
      cp_token at = cp->tok;
      if (cp->tok.tok != ':') dp_declarator(cp, &d, &d.ops, DM_NAMED);
      int width = -1;
      if (cp->tok.tok == ':') {
        cp_token wt = cp->tok;
        cp_next(cp);
        cp_val w = mffi__cp_const_expr(cp);
        if (!w.uns && (int64_t)w.v < 0)
          cp_err(cp, &wt, MFFI_EDECL, "negative width in bit-field '%s'",
                 d.name ? d.name : "(anonymous)");
        if (w.v > 128)
          cp_err(cp, &wt, MFFI_EDECL,
                 "width of bit-field '%s' exceeds its "
                 "type",
                 d.name ? d.name : "(anonymous)");
        width = (int)w.v;
      }
      at_trailing(cp, &d);
      cp_count(cp, members->n, CP_MAX_ITEMS, "members in a struct or union");
      mffi__tid tid = dp_build(cp, s.tid, &d);
      /* GCC judges packed on the type before this declaration's mode()
      ** and vector_size(): on a byte-aligned one it is ignored, except on
      ** bit-fields ("char __attribute__((vector_size(4))) x
      ** __attribute__((packed))" is aligned to 4; c-attribs.cc). */
      bool byte_aligned = width < 0 && mffi__align(cp->tt, tid) <= 1;
      tid = at_decl_type(cp, tid, &s.attrs, &d.attrs, &at);
      mffi__member *m = vec_push(cp, members, sizeof *m);
      *(cp_pos *)vec_push(cp, toks, sizeof(cp_pos)) =
          cp_pos_of(d.name ? &d.name_tok : &at);
      m->name = d.name;
      m->tid = tid;
      m->bit_width = width;
      uint32_t a1 = at_aligned(cp, &s.attrs, &at, false);
      uint32_t a2 = at_aligned(cp, &d.attrs, &at, false);
      m->align_attr = a1 > a2 ? a1 : a2;
      if (s.alignas > m->align_attr) m->align_attr = s.alignas;
      m->packed = !byte_aligned &&
                  (at_find(&s.attrs, "packed") || at_find(&d.attrs, "packed"));
      if (d.name)
        sp_check_dup(cp, &names, d.name, &d.name_tok);
      else if (width < 0)
        cp_err(cp, &at, MFFI_EPARSE, "expected member name");
      if (cp->tok.tok == ',') {
        cp_next(cp);
        continue;
      }
      cp_expect(cp, ';', "';' at end of member declaration");
      break;
    }
  }
  cp->in_members--;
}

/* What precedes the body of a struct, union or enum specifier. */
typedef struct sp_head {
  cp_token kw, tagtok; /* The keyword; the tag (or the keyword). */
  const char *tag;     /* NULL if anonymous. */
  cp_vec attrs;        /* All attributes so far. */
  uint32_t npre;       /* How many came before the tag. */
  mffi__tid redef;     /* The earlier call's type this body redefines. */
} sp_head;

static const char *sp_kind_word(int kind) {
  return kind == MFFI_KIND_STRUCT  ? "struct"
         : kind == MFFI_KIND_UNION ? "union"
                                   : "enum";
}

/* For sk_opaque: read over the body at '{', which leaves h a reference to
** its tag, still incomplete. The range left out runs to the next token
** (the blanks between are blanks either way). */
static void sp_skip_body(cp_state *cp, sp_head *h) {
  cp->opaque = false;
  mffi__tid was = mffi__tt_tag_find_pooled(cp->tt, h->tag);
  if (was != MFFI_TID_NONE && (cp->tt->types[was]->flags & MFFI_TF_COMPLETE))
    cp_err(cp, &h->tagtok, MFFI_EUNSUPPORTED, "'%s' is defined", h->tag);
  cp->opaque_from = mffi__cp_offset(cp, cp->tok.p);
  cp_skip_group(cp);
  cp->opaque_to = mffi__cp_offset(cp, cp->tok.p);
}

/* Read "KEYWORD attrs [TAG] attrs". Without a body to follow, the
** specifier is a reference: resolve it into s and return MFFI_TID_NONE.
** Attributes after the tag of a reference belong to the declaration; GCC
** ignores those before it. With a body, return the type it defines (the
** tagged, still incomplete type, or a new anonymous one), past the '{'. */
static mffi__tid sp_tag_head(cp_state *cp, cp_specs *s, int kind, sp_head *h) {
  memset(h, 0, sizeof *h);
  h->kw = h->tagtok = cp->tok;
  cp_next(cp);
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &h->attrs);
  if (cp->tok.tok == TK_NAME) {
    h->tag = cp->tok.name;
    h->tagtok = cp->tok;
    cp_next(cp);
  }
  h->npre = h->attrs.n;
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &h->attrs);
  s->have_tid = true;
  s->tag_only = true;
  if (cp->opaque && h->tag && cp->tok.tok == '{' &&
      kind != MFFI_KIND_ENUM && !cp->in_params && !cp->in_members)
    sp_skip_body(cp, h);
  if (cp->tok.tok != '{') {
    if (!h->tag)
      cp_err(cp, NULL, MFFI_EPARSE, "expected '{' or tag after '%s'",
             sp_kind_word(kind));
    s->tid = s->tag_tid = sp_tag_ref(cp, kind, h->tag, &h->tagtok, true);
    sp_keep_attrs(cp, s, &h->attrs,
                  h->npre); /* "struct s __attribute__((x)) t" */
    return MFFI_TID_NONE;
  }
  mffi__tid tid;
  h->redef = MFFI_TID_NONE;
  if (h->tag) {
    tid = sp_tag_ref(cp, kind, h->tag, &h->tagtok, false);
    if (cp->tt->types[tid]->flags & MFFI_TF_COMPLETE) {
      /* Defined by an earlier mffi_cdef, as another translation unit
      ** would: the body goes into an untagged node to be compared. */
      if (!cp->tt->in_tx || tid >= cp->tt->tx_ntypes ||
          mffi__cp_pset_add(cp, &cp->redefs, cp->tt->types[tid])) {
        char where[200];
        cp_err(cp, &h->tagtok, MFFI_EDECL,
               "redefinition of '%s %s'; the previous definition is at %s",
               sp_kind_word(kind), h->tag, dc_tag_where(cp, tid, where));
      }
      h->redef = tid;
      cp_check(cp, mffi__tt_record(cp->ctx, (mffi_kind)kind, NULL, &tid),
               &h->kw);
    }
  } else {
    cp_check(cp, mffi__tt_record(cp->ctx, (mffi_kind)kind, NULL, &tid), &h->kw);
    s->anon_tag = true;
  }
  cp_next(cp);
  if (cp->speculative)
    cp_err(cp, &h->kw, MFFI_EDECL, "a definition in a constant expression");
  return tid;
}

/* A body that redefines h->redef (from an earlier mffi_cdef) was read into
** the untagged node tid: it must be the same definition. */
static void sp_same_redef(cp_state *cp, int kind, const sp_head *h,
                          mffi__tid tid) {
  if (mffi__tt_same_body(cp->tt, h->redef, tid)) return;
  char where[200];
  cp_err(cp, &h->tagtok, MFFI_EDECL,
         "redefinition of '%s %s' with other %s; the previous definition is "
         "at %s",
         sp_kind_word(kind), h->tag,
         kind == MFFI_KIND_ENUM ? "values" : "members or layout",
         dc_tag_where(cp, h->redef, where));
}

static void sp_record(cp_state *cp, cp_specs *s) {
  int kind = cp->tok.tok == TK_STRUCT ? MFFI_KIND_STRUCT : MFFI_KIND_UNION;
  sp_head h;
  mffi__tid tid = sp_tag_head(cp, s, kind, &h);
  if (tid == MFFI_TID_NONE) return;
  const cp_token kw = h.kw, tagtok = h.tagtok;
  const char *tag = h.tag;
  cp_vec attrs = h.attrs;
  cp_enter(cp);
  cp_vec members = {0}, toks = {0};
  sp_members(cp, &members, &toks);
  if (cp->tt->types[tid]->flags & MFFI_TF_COMPLETE)
    cp_err(cp, &tagtok, MFFI_EDECL, "nested redefinition of '%s %s'",
           sp_kind_word(kind), tag);
  cp->depth--;
  uint32_t pack = cp->tok.pack; /* GCC lays out at the closing brace. */
  cp_next(cp);                  /* '}' */
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &attrs);
  at_reject_vector(cp, &attrs, &kw);
  bool packed = at_find(&attrs, "packed") != NULL;
  uint32_t al = at_aligned(cp, &attrs, &kw, true);
  uint32_t bad = 0;
  int rc = mffi__tt_define_record(cp->ctx, tid, members.v, members.n, packed,
                                  al, pack, &bad);
  if (rc && bad < toks.n) { /* At the member at fault. */
    cp_token bt = cp_tok_of(&((cp_pos *)toks.v)[bad]);
    mffi__cp_rethrow(cp, &bt, rc);
  }
  if (rc) mffi__cp_rethrow(cp, &tagtok, rc);
  if (h.redef != MFFI_TID_NONE) {
    sp_same_redef(cp, kind, &h, tid);
    s->tid = s->tag_tid = h.redef;
    return;
  }
  if (tag) {
    mffi_decl d = {.kind = MFFI_DECL_TAG,
                   .name = tag,
                   .tid = tid,
                   .enum_tid = MFFI_TID_NONE,
                   .defined = true};
    dc_decl_add(cp, &d, &tagtok);
  }
  s->tid = s->tag_tid = tid;
}

/* Check that an ordinary name is free for a new enumerator. An
** enumerator of an earlier mffi_cdef (another translation unit) may be
** declared again: it is returned, for its value to be compared. */
static mffi_decl *sp_name_free(cp_state *cp, const char *name,
                               const cp_token *t) {
  mffi_decl *o = mffi__tt_decl_find_pooled(cp->tt, name);
  if (!o) return NULL;
  char where[200];
  dc_where(cp, o, where, sizeof where);
  if (o->kind == MFFI_DECL_CONSTANT && o->enum_tid != MFFI_TID_NONE &&
      dc_earlier(cp, o) && !mffi__cp_pset_add(cp, &cp->redefs, o))
    return o;
  if (o->kind == MFFI_DECL_CONSTANT)
    cp_err(cp, t, MFFI_EDECL,
           "redeclaration of enumerator '%s'; the previous declaration is at "
           "%s",
           name, where);
  cp_err(cp, t, MFFI_EDECL,
         "'%s' redeclared as different kind of symbol; the previous "
         "declaration is at %s",
         name, where);
}

static void sp_enum(cp_state *cp, cp_specs *s) {
  sp_head h;
  mffi__tid tid = sp_tag_head(cp, s, MFFI_KIND_ENUM, &h);
  if (tid == MFFI_TID_NONE) return;
  const cp_token tagtok = h.tagtok;
  const char *tag = h.tag;
  cp_vec attrs = h.attrs;
  cp_vec enums = {0};
  cp_val next = {0, false, false};
  bool overflow = false, have_neg = false, have_huge = false;
  uint32_t nreused = 0;
  while (cp->tok.tok != '}') {
    if (cp->tok.tok != TK_NAME)
      cp_err(cp, NULL, MFFI_EPARSE, "expected identifier in enum");
    cp_count(cp, enums.n, CP_MAX_ITEMS, "enumerators in an enum");
    cp_token nt = cp->tok;
    mffi_decl *prev = sp_name_free(cp, nt.name, &nt);
    cp_next(cp);
    while (cp->tok.tok == TK_ATTRIBUTE)
      at_parse(cp, &attrs);
    cp_val v = next;
    if (cp->tok.tok == '=') {
      cp_next(cp);
      v = mffi__cp_const_expr(cp);
    } else if (overflow) {
      cp_err(cp, &nt, MFFI_ERANGE, "overflow in enumeration values");
    }
    /* GCC gives an enumerator that fits in int the type int; the next
    ** implicit value is this one plus 1 in that type, and must not wrap. */
    bool neg = !v.uns && (int64_t)v.v < 0;
    if (neg ? (int64_t)v.v >= INT32_MIN : v.v <= INT32_MAX)
      v.uns = v.wide = false;
    bool huge = v.uns && v.v > (uint64_t)INT64_MAX;
    have_neg |= neg;
    have_huge |= huge;
    if (have_neg && have_huge)
      cp_err(cp, &nt, MFFI_ERANGE,
             "enumeration values exceed range of largest integer");
    mffi__enumerator *e = vec_push(cp, &enums, sizeof *e);
    e->name = nt.name;
    e->value = (int64_t)v.v;
    /* The constant is visible to the enumerators that follow. */
    mffi_decl d = {.kind = MFFI_DECL_CONSTANT,
                   .name = nt.name,
                   .value = (int64_t)v.v,
                   .enum_tid = tid,
                   .tid = !v.wide ? (v.uns ? MFFI_KIND_UINT : MFFI_KIND_INT)
                                  : (v.uns ? MFFI_KIND_ULONG : MFFI_KIND_LONG)};
    if (!prev) {
      dc_decl_add(cp, &d, &nt);
    } else if (prev->value != d.value || prev->tid != d.tid) {
      char where[200];
      cp_err(cp, &nt, MFFI_EDECL,
             "redeclaration of enumerator '%s' as %lld; the previous "
             "declaration, %lld, is at %s",
             nt.name, (long long)d.value, (long long)prev->value,
             dc_where(cp, prev, where, sizeof where));
    } else {
      nreused++; /* The same constant again: another translation unit. */
    }
    uint64_t max = v.wide ? (v.uns ? UINT64_MAX : INT64_MAX)
                          : (v.uns ? UINT32_MAX : INT32_MAX);
    overflow = v.v == max;
    next = v;
    next.v++;
    if (cp->tok.tok == ',')
      cp_next(cp);
    else if (cp->tok.tok != '}')
      cp_err(cp, NULL, MFFI_EPARSE, "expected ',' or '}' in enum");
  }
  cp_next(cp);
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &attrs);
  bool packed = at_find(&attrs, "packed") != NULL;
  cp_check(
      cp,
      mffi__tt_define_enum(cp->ctx, tid, enums.v, enums.n, packed, have_huge),
      &tagtok);
  if (h.redef != MFFI_TID_NONE) {
    sp_same_redef(cp, MFFI_KIND_ENUM, &h, tid);
    s->tid = s->tag_tid = h.redef;
    return;
  }
  /* An anonymous enum made only of earlier constants is a repetition. */
  s->dup_enum = !tag && enums.n && nreused == enums.n;
  if (tag) {
    mffi_decl d = {.kind = MFFI_DECL_TAG,
                   .name = tag,
                   .tid = tid,
                   .enum_tid = MFFI_TID_NONE,
                   .defined = true};
    dc_decl_add(cp, &d, &tagtok);
  }
  s->tid = s->tag_tid = tid;
}

/* -- Declaration specifiers ------------------------------------------------ */

static bool sp_is_specifier_kw(int tok) {
  return tok >= TK_KW_FIRST && tok < TK_SIZEOF && tok != TK_SIZEOF;
}

bool mffi__cp_starts_type(cp_state *cp) {
  int t = cp->tok.tok;
  if (t == TK_NAME) return cp_is_typedef_name(cp, cp->tok.name);
  if (t == TK_ATTRIBUTE || t == TK_EXTENSION || t == TK_TYPEOF ||
      t == TK_ALIGNAS)
    return true;
  return sp_is_specifier_kw(t) && t != TK_TYPEDEF && t != TK_EXTERN &&
         t != TK_STATIC && t != TK_AUTO && t != TK_REGISTER && t != TK_THREAD &&
         t != TK_INLINE && t != TK_NORETURN;
}

static bool sp_any_type(const cp_specs *s) {
  return s->have_tid || s->base || s->nlong || s->nshort || s->nsigned ||
         s->nunsigned || s->nint || s->ncomplex;
}

static void sp_typeof(cp_state *cp, cp_specs *s) {
  cp_next(cp);
  cp_expect(cp, '(', "'(' after __typeof__");
  s->tid = mffi__cp_starts_type(cp) ? mffi__cp_type_name(cp)
                                    : mffi__cp_expr_type(cp);
  s->have_tid = true;
  cp_expect(cp, ')', "')'");
}

static void sp_alignas(cp_state *cp, cp_specs *s) {
  cp_token at = cp->tok;
  cp_next(cp);
  cp_expect(cp, '(', "'(' after _Alignas");
  uint64_t n;
  if (mffi__cp_starts_type(cp)) {
    n = mffi__align(cp->tt, mffi__cp_type_name(cp));
  } else {
    n = mffi__cp_const_expr(cp).v;
  }
  cp_expect(cp, ')', "')'");
  if (n & (n - 1))
    cp_err(cp, &at, MFFI_EDECL, "requested alignment is not a power of 2");
  if (n > CP_MAX_ALIGN)
    cp_err(cp, &at, MFFI_EDECL,
           "requested alignment %llu exceeds the maximum of 2^28",
           (unsigned long long)n);
  if (n > s->alignas) s->alignas = (uint32_t)n;
}

/* The type named by the counted specifiers. */
static mffi__tid sp_finish_base(cp_state *cp, cp_specs *s) {
  const cp_token *t = &cp->tok;
  if (s->have_tid) {
    if (s->base || s->nlong || s->nshort || s->nsigned || s->nunsigned ||
        s->nint || s->ncomplex)
      cp_err(cp, &s->first, MFFI_EPARSE,
             "two or more data types in declaration specifiers");
    return s->tid;
  }
  if (s->nsigned && s->nunsigned)
    cp_err(cp, t, MFFI_EPARSE,
           "both 'signed' and 'unsigned' in declaration "
           "specifiers");
  if (s->nlong > 2) cp_err(cp, t, MFFI_EPARSE, "'long long long' is too long");
  if (s->nlong && s->nshort)
    cp_err(cp, t, MFFI_EPARSE,
           "both 'long' and 'short' in declaration "
           "specifiers");
  bool sgn = s->nsigned || s->nunsigned;
  mffi_kind k;
  switch (s->base) {
  case 0:
  case TK_INTKW:
    if (s->nshort)
      k = s->nunsigned ? MFFI_KIND_USHORT : MFFI_KIND_SHORT;
    else if (s->nlong == 2)
      k = s->nunsigned ? MFFI_KIND_ULLONG : MFFI_KIND_LLONG;
    else if (s->nlong == 1)
      k = s->nunsigned ? MFFI_KIND_ULONG : MFFI_KIND_LONG;
    else if (s->base || sgn || s->nint)
      k = s->nunsigned ? MFFI_KIND_UINT : MFFI_KIND_INT;
    else if (s->ncomplex)
      k = MFFI_KIND_DOUBLE; /* GNU: plain _Complex */
    else if (t->tok == TK_NAME)
      cp_err(cp, t, cp->typename_mode ? MFFI_ENOTFOUND : MFFI_EPARSE,
             "unknown type name '%s'", t->name);
    else
      cp_err(cp, t, MFFI_EPARSE, "expected a type specifier");
    break;
  case TK_CHAR:
    if (s->nlong || s->nshort)
      cp_err(cp, t, MFFI_EPARSE, "'long' or 'short' with 'char'");
    k = s->nunsigned ? MFFI_KIND_UCHAR
        : s->nsigned ? MFFI_KIND_SCHAR
                     : MFFI_KIND_CHAR;
    break;
  case TK_INT128:
    if (s->nlong || s->nshort)
      cp_err(cp, t, MFFI_EPARSE, "'long' or 'short' with '__int128'");
    k = s->nunsigned ? MFFI_KIND_UINT128 : MFFI_KIND_INT128;
    break;
  default:
    if (sgn)
      cp_err(cp, t, MFFI_EPARSE,
             "'signed' or 'unsigned' with a non-integer "
             "type");
    if (s->nshort || (s->nlong && s->base != TK_DOUBLE) || s->nlong > 1)
      cp_err(cp, t, MFFI_EPARSE, "'long' or 'short' with this type");
    switch (s->base) {
    case TK_VOID: k = MFFI_KIND_VOID; break;
    case TK_BOOL: k = MFFI_KIND_BOOL; break;
    case TK_FLOATKW:
    case TK_FLOAT32: k = MFFI_KIND_FLOAT; break;
    case TK_DOUBLE: k = s->nlong ? MFFI_KIND_LDOUBLE : MFFI_KIND_DOUBLE; break;
    case TK_FLOAT64:
    case TK_FLOAT32X: k = MFFI_KIND_DOUBLE; break;
    case TK_FLOAT64X: k = MFFI_KIND_LDOUBLE; break;
    case TK_FLOAT16: k = MFFI_KIND_FLOAT16; break;
    case TK_FLOAT128: k = MFFI_KIND_FLOAT128; break;
    case TK_VALIST: k = MFFI_KIND_VALIST; break;
    case TK_INT128_T: k = MFFI_KIND_INT128; break;
    case TK_UINT128_T: k = MFFI_KIND_UINT128; break;
    default: k = MFFI_KIND_INT;
    }
  }
  mffi__tid tid = (mffi__tid)k;
  uint16_t spelled =
      s->base == TK_FLOAT32 || s->base == TK_FLOAT64 ? MFFI_TF_FLOATN
      : s->base == TK_FLOAT32X ||
              (s->base == TK_FLOAT64X && strcmp(s->base_name, "__float80") != 0)
          ? MFFI_TF_FLOATNX
          : 0;
  if (spelled) cp_check(cp, mffi__tt_floatn(cp->ctx, tid, spelled, &tid), t);
  if (s->ncomplex) {
    if (k == MFFI_KIND_VOID || k == MFFI_KIND_BOOL || k == MFFI_KIND_VALIST)
      cp_err(cp, t, MFFI_EPARSE, "invalid '_Complex' type");
    cp_check(cp, mffi__tt_complex(cp->ctx, tid, &tid), t);
  }
  return tid;
}

static void sp_set_base(cp_state *cp, cp_specs *s, int tok) {
  if (s->base && !(s->base == TK_INTKW && tok == TK_INTKW)) {
    cp_err(cp, NULL, MFFI_EPARSE,
           "two or more data types in declaration specifiers");
  }
  if (s->base == TK_INTKW && tok == TK_INTKW)
    cp_err(cp, NULL, MFFI_EPARSE, "duplicate 'int'");
  s->base = tok;
}

/* Reject a combination of type specifiers at the one that breaks it. */
static void sp_validate(cp_state *cp, const cp_specs *s) {
  const char *what = cp->tok.name ? cp->tok.name : "?";
  bool sgn = s->nsigned || s->nunsigned;
  if (s->nsigned && s->nunsigned)
    cp_err(cp, NULL, MFFI_EPARSE,
           "both 'signed' and 'unsigned' in declaration specifiers");
  if (s->nlong > 2)
    cp_err(cp, NULL, MFFI_EPARSE, "'long long long' is too long");
  if (s->nsigned > 1 || s->nunsigned > 1 || s->nshort > 1 || s->ncomplex > 1)
    cp_err(cp, NULL, MFFI_EPARSE, "duplicate '%s'", what);
  if (s->have_tid &&
      (s->base || s->nlong || s->nshort || sgn || s->nint || s->ncomplex))
    cp_err(cp, NULL, MFFI_EPARSE,
           "two or more data types in declaration specifiers");
  bool intlike = !s->base || s->base == TK_INTKW || s->base == TK_CHAR ||
                 s->base == TK_INT128;
  if (sgn && !intlike)
    cp_err(cp, NULL, MFFI_EPARSE,
           "'signed' or 'unsigned' with a non-integer type");
  if (s->nlong && s->nshort)
    cp_err(cp, NULL, MFFI_EPARSE,
           "both 'long' and 'short' in declaration specifiers");
  if ((s->base == TK_CHAR || s->base == TK_INT128) && (s->nlong || s->nshort))
    cp_err(cp, NULL, MFFI_EPARSE, "'long' or 'short' with '%s'",
           s->base == TK_CHAR ? "char" : "__int128");
  if (!intlike &&
      (s->nshort || (s->nlong && s->base != TK_DOUBLE) || s->nlong > 1))
    cp_err(cp, NULL, MFFI_EPARSE, "'long' or 'short' with '%s'",
           s->base_name ? s->base_name : what);
}

static void sp_parse(cp_state *cp, cp_specs *s, int where) {
  memset(s, 0, sizeof *s);
  s->first = cp->tok;
  for (;;) {
    int t = cp->tok.tok;
    switch (t) {
    case TK_TYPEDEF:
    case TK_EXTERN:
    case TK_STATIC:
    case TK_AUTO:
    case TK_REGISTER:
      if (where != SC_TOP && !(where == SC_PARAM && t == TK_REGISTER))
        cp_err(cp, NULL, MFFI_EPARSE, "storage class '%s' not allowed here",
               cp->tok.name);
      if (s->storage)
        cp_err(cp, NULL, MFFI_EPARSE,
               "multiple storage classes in declaration specifiers");
      s->storage = t;
      break;
    case TK_THREAD: s->thread_local = true; break;
    case TK_INLINE:
    case TK_NORETURN: s->is_inline |= t == TK_INLINE; break;
    case TK_CONST: s->quals |= MFFI_QUAL_CONST; break;
    case TK_VOLATILE: s->quals |= MFFI_QUAL_VOLATILE; break;
    case TK_RESTRICT: s->quals |= MFFI_QUAL_RESTRICT; break;
    case TK_ATOMIC:
      if (mffi__cp_peek(cp)->tok == '(')
        cp_err(cp, NULL, MFFI_EUNSUPPORTED, "_Atomic(type) is not supported");
      break; /* Same layout as the plain type on x86-64 for our uses. */
    case TK_EXTENSION: break;
    case TK_ATTRIBUTE: at_parse(cp, &s->attrs); continue;
    case TK_ALIGNAS: sp_alignas(cp, s); continue;
    case TK_SIGNED: s->nsigned++; break;
    case TK_UNSIGNED: s->nunsigned++; break;
    case TK_LONG: s->nlong++; break;
    case TK_SHORT: s->nshort++; break;
    case TK_COMPLEX: s->ncomplex++; break;
    case TK_INTKW:
      /* int goes with nothing but the modifiers: "double int", "_Bool int",
      ** "_Float32 int" are as wrong as "char int" (gcc). */
      if (s->base)
        cp_err(cp, NULL, MFFI_EPARSE,
               "two or more data types in declaration specifiers");
      if (!s->base) s->base = TK_INTKW;
      s->nint++;
      break;
    case TK_VOID:
    case TK_CHAR:
    case TK_FLOATKW:
    case TK_DOUBLE:
    case TK_BOOL:
    case TK_INT128:
    case TK_INT128_T:
    case TK_UINT128_T:
    case TK_FLOAT16:
    case TK_FLOAT32:
    case TK_FLOAT64:
    case TK_FLOAT128:
    case TK_FLOAT32X:
    case TK_FLOAT64X:
    case TK_VALIST:
      if (t >= TK_FLOAT16 && t <= TK_FLOAT64X && s->storage == TK_TYPEDEF &&
          sp_any_type(s))
        goto done; /* "typedef float _Float32;": see dc_external. */
      if (s->have_tid)
        cp_err(cp, NULL, MFFI_EPARSE,
               "two or more data types in declaration specifiers");
      if (s->base == TK_INTKW && (t == TK_CHAR || t == TK_INT128)) {
        s->base = t; /* "int" written before the real base ("char int"?) */
        cp_err(cp, NULL, MFFI_EPARSE,
               "two or more data types in declaration specifiers");
      }
      sp_set_base(cp, s, t);
      s->base_name = cp->tok.name;
      break;
    case TK_STRUCT:
    case TK_UNION:
    case TK_ENUM:
      if (sp_any_type(s))
        cp_err(cp, NULL, MFFI_EPARSE,
               "two or more data types in declaration specifiers");
      if (t == TK_ENUM)
        sp_enum(cp, s);
      else
        sp_record(cp, s);
      continue;
    case TK_TYPEOF:
      if (sp_any_type(s))
        cp_err(cp, NULL, MFFI_EPARSE,
               "two or more data types in declaration specifiers");
      sp_typeof(cp, s);
      continue;
    case TK_NAME:
      if (!sp_any_type(s) && cp_is_typedef_name(cp, cp->tok.name)) {
        /* A typedef name, unless it is the declarator: "T;" cannot be. */
        s->tid = mffi__tt_decl_find_pooled(cp->tt, cp->tok.name)->tid;
        s->have_tid = true;
        break;
      }
      goto done;
    default: goto done;
    }
    if (t >= TK_VOID && t <= TK_VALIST) sp_validate(cp, s);
    cp_next(cp);
  }
done:
  s->tid = sp_finish_base(cp, s);
  if (s->have_tid && s->tag_tid != s->tid) s->tag_only = false;
  if ((s->quals & MFFI_QUAL_RESTRICT) &&
      mffi__B(cp->tt, s->tid)->kind != MFFI_KIND_POINTER)
    cp_err(cp, &s->first, MFFI_EDECL, "invalid use of 'restrict'");
  if (s->quals)
    cp_check(cp, mffi__tt_qual(cp->ctx, s->tid, s->quals, &s->tid), &s->first);
}

/* -- Declarators ----------------------------------------------------------- */

/* After '(' in a declarator: does a nested declarator follow (rather than
** a parameter list)? */
static bool dp_nested(cp_state *cp, int mode) {
  const cp_token *nx = mffi__cp_peek(cp);
  switch (nx->tok) {
  case '*':
  case '(':
  case '^':
  case TK_ATTRIBUTE: return true;
  case '[': return mode != DM_NAMED;
  case TK_NAME: return mode == DM_NAMED || !cp_is_typedef_name(cp, nx->name);
  default: return false;
  }
}

static unsigned dp_quals(cp_state *cp, cp_declarator *d) {
  unsigned q = 0;
  for (;;) {
    switch (cp->tok.tok) {
    case TK_CONST: q |= MFFI_QUAL_CONST; break;
    case TK_VOLATILE: q |= MFFI_QUAL_VOLATILE; break;
    case TK_RESTRICT: q |= MFFI_QUAL_RESTRICT; break;
    case TK_ATOMIC:
    case TK_EXTENSION: break;
    case TK_ATTRIBUTE: at_parse(cp, &d->attrs); continue;
    default: return q;
    }
    cp_next(cp);
  }
}

/* C11 6.7.6.3p7-8: array and function parameters become pointers, and
** top-level qualifiers do not belong to the function's type. A vector is
** no array to C: it stays a vector (passed by value). */
static mffi__tid dp_adjust_param(cp_state *cp, mffi__tid tid, unsigned aquals,
                                 const cp_token *t) {
  const mffi_type *b = mffi__T(cp->tt, tid);
  if (b->kind == MFFI_KIND_ARRAY &&
      !(mffi__B(cp->tt, tid)->flags & MFFI_TF_VECTOR)) {
    cp_check(cp, mffi__tt_ptr(cp->ctx, b->child, &tid), t);
    if (aquals) cp_check(cp, mffi__tt_qual(cp->ctx, tid, aquals, &tid), t);
  } else if (b->kind == MFFI_KIND_FUNCTION) {
    cp_check(cp, mffi__tt_ptr(cp->ctx, tid, &tid), t);
  }
  const mffi_type *n = mffi__T(cp->tt, tid);
  if (n->quals && !(n->flags & MFFI_TF_USERALIGN)) tid = n->base;
  return tid;
}

static void dp_params(cp_state *cp, cp_op *op) {
  cp_next(cp); /* '(' */
  cp_vec types = {0}, names = {0};
  cp_pset seen = {0}; /* Parameter names so far. */
  if (cp->tok.tok == ')') {
    op->flags |= MFFI_TF_UNPROTO;
    cp_next(cp);
    return;
  }
  if (cp->tok.tok == TK_VOID && mffi__cp_peek(cp)->tok == ')') {
    cp_next(cp);
    cp_next(cp);
    return;
  }
  for (;;) {
    if (cp->tok.tok == TK_ELLIPSIS) {
      if (types.n == 0)
        cp_err(cp, NULL, MFFI_EPARSE,
               "expected a named parameter before "
               "'...'");
      op->flags |= MFFI_TF_VARIADIC;
      cp_next(cp);
      break;
    }
    cp_count(cp, types.n, CP_MAX_PARAMS, "parameters");
    cp_token pt = cp->tok;
    if (cp->tok.tok == TK_NAME && !cp_is_typedef_name(cp, cp->tok.name))
      cp_err(cp, NULL, MFFI_EPARSE, "unknown type name '%s'", cp->tok.name);
    cp_specs s;
    sp_parse(cp, &s, SC_PARAM);
    cp_declarator d = {0};
    dp_declarator(cp, &d, &d.ops, DM_EITHER);
    while (cp->tok.tok == TK_ATTRIBUTE)
      at_parse(cp, &d.attrs);
    unsigned aquals = 0;
    if (d.ops.n) { /* "int a[const 4]": qualifiers of the adjusted pointer */
      cp_op *last = &((cp_op *)d.ops.v)[d.ops.n - 1];
      if (last->kind == '[') aquals = last->quals;
    }
    mffi__tid tid = dp_build(cp, s.tid, &d);
    tid = at_decl_type(cp, tid, &s.attrs, &d.attrs, &pt);
    if (mffi__B(cp->tt, tid)->kind == MFFI_KIND_VOID) {
      if (d.name || types.n || cp->tok.tok != ')' ||
          mffi__T(cp->tt, tid)->quals)
        cp_err(cp, &pt, MFFI_EDECL, "parameter %u has void type", types.n + 1);
    }
    *(mffi__tid *)vec_push(cp, &types, sizeof(mffi__tid)) =
        dp_adjust_param(cp, tid, aquals, &pt);
    if (d.name && mffi__cp_pset_add(cp, &seen, d.name))
      cp_err(cp, &d.name_tok, MFFI_EDECL, "redefinition of parameter '%s'",
             d.name);
    *(const char **)vec_push(cp, &names, sizeof(char *)) = d.name;
    if (cp->tok.tok == ',') {
      cp_next(cp);
      continue;
    }
    break;
  }
  cp_expect(cp, ')', "')' after parameters");
  op->params = types.v;
  op->pnames = names.v;
  op->nparams = types.n;
}

static void dp_array_len(cp_state *cp, void *arg) {
  *(cp_val *)arg = mffi__cp_const_expr(cp);
  if (cp->tok.tok != ']') cp_err(cp, NULL, MFFI_EPARSE, "expected ']'");
}

static void dp_array(cp_state *cp, cp_op *op, const cp_declarator *d) {
  cp_next(cp); /* '[' */
  op->len = -1;
  for (;;) { /* [static const N], [*] */
    int t = cp->tok.tok;
    if (t == TK_STATIC || t == TK_EXTENSION)
      cp_next(cp);
    else if (t == TK_CONST)
      op->quals |= MFFI_QUAL_CONST, cp_next(cp);
    else if (t == TK_VOLATILE)
      op->quals |= MFFI_QUAL_VOLATILE, cp_next(cp);
    else if (t == TK_RESTRICT)
      op->quals |= MFFI_QUAL_RESTRICT, cp_next(cp);
    else
      break;
  }
  if (cp->tok.tok == '*' && mffi__cp_peek(cp)->tok == ']') {
    if (!cp->in_params)
      cp_err(cp, NULL, MFFI_EDECL,
             "'[*]' not allowed in other than function prototype scope");
    cp_next(cp);
  } else if (cp->tok.tok != ']') {
    cp_token at = cp->tok;
    cp_val v;
    bool known = true;
    /* One try for the outermost length only: a failure inside a nested
    ** one fails the outer try, which skips the whole length once, where a
    ** try at every level would parse the inner text again for each. */
    if (!cp->in_params || cp->in_len_try) {
      dp_array_len(cp, &v);
    } else {
      cp->in_len_try++;
      known = cp_try(cp, dp_array_len, &v);
      cp->in_len_try--;
    }
    if (!known) {
      /* A parameter sized by another ("int n, char b[n]"): the length
      ** does not matter, the parameter becomes a pointer. */
      while (cp->tok.tok != ']') {
        if (cp->tok.tok == TK_EOF)
          cp_err(cp, NULL, MFFI_EPARSE, "expected ']'");
        if (cp->tok.tok == '(' || cp->tok.tok == '[')
          cp_skip_group(cp);
        else
          cp_next(cp);
      }
      cp_next(cp);
      return;
    }
    if (!v.uns && (int64_t)v.v < 0)
      cp_err(cp, &at, MFFI_EDECL, "size of array '%s' is negative",
             d->name ? d->name : "(anonymous)");
    if (v.v > (uint64_t)INT64_MAX / 2)
      cp_err(cp, &at, MFFI_ERANGE, "size of array '%s' is too large",
             d->name ? d->name : "(anonymous)");
    op->len = (long)v.v;
  }
  cp_expect(cp, ']', "']'");
}

/* Count one more pointer, array or function step of d. */
static void dp_deriv(cp_state *cp, cp_declarator *d) {
  if (++d->nderiv > CP_MAX_DERIV)
    cp_err(cp, NULL, MFFI_ERANGE,
           "declarator with more than %d pointer, array and function "
           "derivations",
           CP_MAX_DERIV);
}

static void dp_declarator(cp_state *cp, cp_declarator *d, cp_vec *out,
                          int mode) {
  cp_enter(cp);
  cp_vec sufs = {0}, inner = {0};
  /* out is empty here (a fresh list for each nesting level): pointers,
  ** which apply first, go straight into it. */
  while (cp->tok.tok == '*' || cp->tok.tok == '^') {
    dp_deriv(cp, d);
    cp_op *op = vec_push(cp, out, sizeof *op);
    op->kind = '*';
    op->tok = cp->tok;
    cp_next(cp);
    op->quals = dp_quals(cp, d);
  }
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &d->attrs);
  if (cp->tok.tok == '(' && dp_nested(cp, mode)) {
    cp_next(cp);
    while (cp->tok.tok == TK_ATTRIBUTE)
      at_parse(cp, &d->attrs);
    dp_declarator(cp, d, &inner, mode);
    cp_expect(cp, ')', "')'");
  } else if (cp->tok.tok == TK_NAME && mode != DM_ABSTRACT) {
    d->name = cp->tok.name;
    d->name_tok = cp->tok;
    if (!cp->in_params && !cp->in_members) cp->decl_name = d->name;
    cp_next(cp);
  } else if (mode == DM_NAMED) {
    cp_err(cp, NULL, MFFI_EPARSE, "expected identifier or '('");
  } else if (cp->tok.tok == TK_NAME && mode == DM_ABSTRACT) {
    cp_err(cp, NULL, MFFI_EPARSE, "unexpected name '%s' in type name",
           cp->tok.name);
  }
  for (;;) {
    if (cp->tok.tok == '[') {
      dp_deriv(cp, d);
      cp_op *op = vec_push(cp, &sufs, sizeof *op);
      op->kind = '[';
      op->tok = cp->tok;
      dp_array(cp, op, d);
    } else if (cp->tok.tok == '(') {
      dp_deriv(cp, d);
      cp_op *op = vec_push(cp, &sufs, sizeof *op);
      op->kind = '(';
      op->tok = cp->tok;
      cp_enter(cp);
      cp->in_params++;
      dp_params(cp, op);
      cp->in_params--;
      cp->depth--;
    } else {
      break;
    }
  }
  /* Order of application: pointers left to right, suffixes right to left,
  ** then the parenthesized inner declarator. */
  for (uint32_t i = sufs.n; i-- > 0;)
    *(cp_op *)vec_push(cp, out, sizeof(cp_op)) = ((cp_op *)sufs.v)[i];
  for (uint32_t i = 0; i < inner.n; i++)
    *(cp_op *)vec_push(cp, out, sizeof(cp_op)) = ((cp_op *)inner.v)[i];
  cp->depth--;
}

static mffi__tid dp_build(cp_state *cp, mffi__tid base, cp_declarator *d) {
  mffi__tid t = base;
  cp_op *ops = d->ops.v;
  for (uint32_t i = 0; i < d->ops.n; i++) {
    cp_op *op = &ops[i];
    switch (op->kind) {
    case '*':
      cp_check(cp, mffi__tt_ptr(cp->ctx, t, &t), &op->tok);
      if (op->quals)
        cp_check(cp, mffi__tt_qual(cp->ctx, t, op->quals, &t), &op->tok);
      break;
    case '[':
      cp_check(cp, mffi__tt_array(cp->ctx, t, op->len, &t), &op->tok);
      break;
    case '(':
      cp_check(
          cp, mffi__tt_func(cp->ctx, t, op->params, op->nparams, op->flags, &t),
          &op->tok);
      break;
    }
  }
  d->pnames = NULL;
  d->npnames = 0;
  if (d->ops.n && ops[d->ops.n - 1].kind == '(') {
    d->pnames = ops[d->ops.n - 1].pnames;
    d->npnames = ops[d->ops.n - 1].nparams;
  }
  d->tid = t;
  return t;
}

mffi__tid mffi__cp_type_name(cp_state *cp) {
  cp_specs s;
  sp_parse(cp, &s, SC_TYPENAME);
  cp_declarator d = {0};
  dp_declarator(cp, &d, &d.ops, DM_ABSTRACT);
  while (cp->tok.tok == TK_ATTRIBUTE)
    at_parse(cp, &d.attrs);
  mffi__tid tid = dp_build(cp, s.tid, &d);
  return at_type_attrs(cp, tid, &s.attrs, &d.attrs, &s.first);
}

mffi__tid mffi__cp_expr_type(cp_state *cp) {
  if (cp->tok.tok == '(') {
    cp_next(cp);
    mffi__tid t = mffi__cp_expr_type(cp);
    cp_expect(cp, ')', "')'");
    return t;
  }
  if (cp->tok.tok == TK_NAME) {
    const mffi_decl *d = mffi__tt_decl_find_pooled(cp->tt, cp->tok.name);
    if (!d) cp_err(cp, NULL, MFFI_EDECL, "'%s' undeclared", cp->tok.name);
    if (d->kind == MFFI_DECL_TYPEDEF)
      cp_err(cp, NULL, MFFI_EPARSE, "unexpected type name '%s'", d->name);
    cp_next(cp);
    return d->tid;
  }
  if (cp->tok.tok == TK_STRING) { /* sizeof("aa" "bb"): char[5] */
    mffi_kind k = MFFI_KIND_CHAR;
    uint64_t n = 1;
    for (; cp->tok.tok == TK_STRING; cp_next(cp)) {
      n += cp->tok.ival;
      char c = cp->tok.p[0]; /* L"", u"", U"" (u8"" is char) */
      mffi_kind e = c == 'L'                          ? MFFI_KIND_INT
                    : c == 'u' && cp->tok.p[1] != '8' ? MFFI_KIND_USHORT
                    : c == 'U'                        ? MFFI_KIND_UINT
                                                      : MFFI_KIND_CHAR;
      if (e != MFFI_KIND_CHAR && k != MFFI_KIND_CHAR && e != k)
        cp_err(cp, NULL, MFFI_EPARSE,
               "unsupported non-standard concatenation of string literals");
      if (e != MFFI_KIND_CHAR) k = e;
    }
    mffi__tid tid;
    cp_check(cp, mffi__tt_array(cp->ctx, (mffi__tid)k, (long)n, &tid), NULL);
    return tid;
  }
  cp_val v = mffi__cp_const_expr(cp);
  return v.wide ? (v.uns ? MFFI_KIND_ULONG : MFFI_KIND_LONG)
                : (v.uns ? MFFI_KIND_UINT : MFFI_KIND_INT);
}

/* -- Declarations ---------------------------------------------------------- */

/* Copy arena attributes into an owned array for a declaration. */
static int dc_attrs_own(mffi_ctx *ctx, const cp_vec *a1, const cp_vec *a2,
                        mffi_attr **out, uint32_t *nout) {
  uint32_t n = a1->n + a2->n;
  *out = NULL;
  *nout = 0;
  if (!n) return MFFI_OK;
  mffi_attr *v = mffi__calloc(ctx, n * sizeof *v);
  if (!v) return mffi__nomem(ctx);
  for (uint32_t i = 0; i < n; i++) {
    const mffi_attr *src =
        i < a1->n ? &((mffi_attr *)a1->v)[i] : &((mffi_attr *)a2->v)[i - a1->n];
    v[i] = *src;
    v[i].args = NULL;
    if (src->nargs) {
      mffi_attr_arg *args = mffi__malloc(ctx, src->nargs * sizeof *args);
      if (!args) {
        for (uint32_t j = 0; j < i; j++)
          mffi__free(ctx, (void *)v[j].args);
        mffi__free(ctx, v);
        return mffi__nomem(ctx);
      }
      memcpy(args, src->args, src->nargs * sizeof *args);
      v[i].args = args;
    }
  }
  *out = v;
  *nout = n;
  return MFFI_OK;
}

static bool dc_attr_same(const mffi_attr *a, const mffi_attr *b) {
  if (a->name != b->name || a->nargs != b->nargs) return false;
  for (size_t i = 0; i < a->nargs; i++)
    if (a->args[i].str != b->args[i].str || a->args[i].num != b->args[i].num)
      return false;
  return true;
}

/* Add attributes of a redeclaration that the declaration lacks. */
static void dc_merge_attrs(cp_state *cp, mffi_decl *o, const cp_specs *s,
                           const cp_declarator *d) {
  mffi_attr *na;
  uint32_t nn;
  cp_check(cp, dc_attrs_own(cp->ctx, &s->attrs, &d->attrs, &na, &nn),
           &d->name_tok);
  uint32_t keep = 0;
  for (uint32_t i = 0; i < nn; i++) {
    bool dup = false;
    for (uint32_t j = 0; j < o->nattrs && !dup; j++)
      dup = dc_attr_same(&na[i], &o->attrs[j]);
    for (uint32_t j = 0; j < keep && !dup; j++)
      dup = dc_attr_same(&na[i], &na[j]);
    if (dup)
      mffi__free(cp->ctx, (void *)na[i].args);
    else
      na[keep++] = na[i];
  }
  if (!keep) {
    mffi__free(cp->ctx, na);
    return;
  }
  mffi_attr *all = mffi__malloc(cp->ctx, (o->nattrs + keep) * sizeof *all);
  if (!all) {
    for (uint32_t i = 0; i < keep; i++)
      mffi__free(cp->ctx, (void *)na[i].args);
    mffi__free(cp->ctx, na);
    mffi__cp_rethrow(cp, &d->name_tok, MFFI_ENOMEM);
  }
  /* The old array may still be needed by a rollback, so the new one gets
  ** its own copies of the old arguments. */
  for (uint32_t i = 0; i < o->nattrs; i++) {
    all[i] = o->attrs[i];
    if (o->attrs[i].nargs) {
      mffi_attr_arg *args =
          mffi__malloc(cp->ctx, o->attrs[i].nargs * sizeof *args);
      if (!args) {
        for (uint32_t j = 0; j < i; j++)
          mffi__free(cp->ctx, (void *)all[j].args);
        for (uint32_t j = 0; j < keep; j++)
          mffi__free(cp->ctx, (void *)na[j].args);
        mffi__free(cp->ctx, all);
        mffi__free(cp->ctx, na);
        mffi__cp_rethrow(cp, &d->name_tok, MFFI_ENOMEM);
      }
      memcpy(args, o->attrs[i].args, o->attrs[i].nargs * sizeof *args);
      all[i].args = args;
    }
  }
  memcpy(all + o->nattrs, na, keep * sizeof *na);
  mffi__free(cp->ctx, na);
  uint32_t n = o->nattrs + keep;
  int rc = mffi__tt_decl_set_attrs(cp->ctx, o, all, n);
  if (rc) {
    mffi_decl tmp = {.attrs = all, .nattrs = n};
    mffi__tt_decl_free_parts(cp->ctx, &tmp);
    mffi__cp_rethrow(cp, &d->name_tok, rc);
  }
}

static const char **dc_pnames_own(cp_state *cp, const cp_declarator *d) {
  if (!d->npnames) return NULL;
  bool any = false;
  for (uint32_t i = 0; i < d->npnames; i++)
    any |= d->pnames[i] != NULL;
  if (!any) return NULL;
  const char **v = mffi__malloc(cp->ctx, d->npnames * sizeof *v);
  if (!v) mffi__cp_rethrow(cp, &d->name_tok, MFFI_ENOMEM);
  memcpy(v, d->pnames, d->npnames * sizeof *v);
  return v;
}

static void dc_add(cp_state *cp, mffi_decl_kind kind, const cp_specs *s,
                   const cp_declarator *d, mffi__tid tid) {
  mffi_decl nd = {.kind = kind,
                  .name = d->name,
                  .tid = tid,
                  .symbol = d->asm_name,
                  .enum_tid = MFFI_TID_NONE,
                  .thread_local = s->thread_local};
  if (kind == MFFI_DECL_FUNCTION) {
    nd.param_names = dc_pnames_own(cp, d);
    nd.nparam_names = nd.param_names ? d->npnames : 0;
  }
  nd.file = d->name_tok.file;
  nd.line = d->name_tok.line;
  nd.col = d->name_tok.col;
  int rc = dc_attrs_own(cp->ctx, &s->attrs, &d->attrs, &nd.attrs, &nd.nattrs);
  if (rc == MFFI_OK) rc = mffi__tt_decl_add(cp->ctx, &nd, NULL);
  if (rc) { /* The pieces were not taken over: free them. */
    mffi__tt_decl_free_parts(cp->ctx, &nd);
    mffi__cp_rethrow(cp, &d->name_tok, rc);
  }
}

/* Give an anonymous struct/union/enum the first typedef name it gets. */
static void dc_name_anon(cp_state *cp, mffi__tid tid, const char *name,
                         const cp_token *t) {
  mffi_type *b = mffi__B(cp->tt, tid);
  if (b->tag || (b->kind != MFFI_KIND_STRUCT && b->kind != MFFI_KIND_UNION &&
                 b->kind != MFFI_KIND_ENUM))
    return;
  cp_check(cp, mffi__tt_type_touch(cp->ctx, b->id), t);
  b->tag = name;
  b->flags |= MFFI_TF_TYPEDEF_TAG;
}

/* An earlier mffi_cdef's declaration o and a new type tid that is the same
** type defined again (typedefs of anonymous structs in each header). */
static bool dc_same_across(const cp_state *cp, const mffi_decl *o,
                           mffi__tid tid) {
  return dc_earlier(cp, o) && mffi__tt_same(cp->tt, o->tid, tid);
}

static void dc_declare(cp_state *cp, const cp_specs *s, cp_declarator *d) {
  const cp_token *t = &d->name_tok;
  mffi__tid tid = d->tid;
  const mffi_type *b = mffi__B(cp->tt, tid);
  mffi_decl *o = mffi__tt_decl_find_pooled(cp->tt, d->name);
  char where[200];
  if (o) dc_where(cp, o, where, sizeof where);
  if (s->storage == TK_TYPEDEF) {
    tid = at_type_attrs(cp, tid, &s->attrs, &d->attrs, t);
    if (o) {
      if (o->kind != MFFI_DECL_TYPEDEF)
        cp_err(cp, t, MFFI_EDECL,
               "'%s' redeclared as different kind of symbol; the previous "
               "declaration is at %s",
               d->name, where);
      if (o->tid != tid && !dc_same_across(cp, o, tid))
        cp_err(cp, t, MFFI_EDECL,
               "conflicting types for '%s'; the previous declaration is at %s",
               d->name, where);
      return;
    }
    dc_name_anon(cp, tid, d->name, t);
    dc_add(cp, MFFI_DECL_TYPEDEF, s, d, tid);
    return;
  }
  tid = at_decl_type(cp, tid, &s->attrs, &d->attrs, t);
  bool isfn = b->kind == MFFI_KIND_FUNCTION;
  if (s->storage == TK_STATIC) return; /* No symbol to bind. */
  if (!isfn && b->kind == MFFI_KIND_VOID)
    cp_err(cp, t, MFFI_EDECL, "variable '%s' declared void", d->name);
  mffi_decl_kind kind = isfn ? MFFI_DECL_FUNCTION : MFFI_DECL_VARIABLE;
  if (!o) {
    dc_add(cp, kind, s, d, tid);
    return;
  }
  if (o->kind != kind)
    cp_err(cp, t, MFFI_EDECL,
           "'%s' redeclared as different kind of symbol; the previous "
           "declaration is at %s",
           d->name, where);
  if (o->tid != tid && dc_same_across(cp, o, tid)) tid = o->tid;
  if (o->tid != tid) {
    const mffi_type *ot = mffi__T(cp->tt, o->tid), *nt = mffi__T(cp->tt, tid);
    bool take = false, ok = false;
    if (isfn && ot->child == nt->child &&
        ((ot->flags | nt->flags) & MFFI_TF_UNPROTO) &&
        !((ot->flags ^ nt->flags) & MFFI_TF_MSABI)) {
      ok = true; /* "int f();" and "int f(int)" agree: keep the prototype. */
      take = (ot->flags & MFFI_TF_UNPROTO) != 0;
    } else if (!isfn && ot->kind == MFFI_KIND_ARRAY &&
               nt->kind == MFFI_KIND_ARRAY && ot->child == nt->child &&
               (ot->length < 0 || nt->length < 0)) {
      ok = true; /* "extern int a[];" completed by "int a[4];" */
      take = ot->length < 0;
    }
    if (!ok)
      cp_err(cp, t, MFFI_EDECL,
             "conflicting types for '%s'; the previous declaration is at %s",
             d->name, where);
    if (take) {
      cp_check(cp, mffi__tt_decl_touch(cp->ctx, o), t);
      o->tid = tid;
    }
  }
  if (isfn && !o->param_names && d->npnames) {
    const char **pn = dc_pnames_own(cp, d);
    if (pn) {
      int rc = mffi__tt_decl_touch(cp->ctx, o);
      if (rc) {
        mffi__free(cp->ctx, (void *)pn);
        mffi__cp_rethrow(cp, t, rc);
      }
      o->param_names = pn;
      o->nparam_names = d->npnames;
    }
  }
  if (d->asm_name && d->asm_name != o->symbol) {
    cp_check(cp, mffi__tt_decl_touch(cp->ctx, o), t);
    o->symbol = d->asm_name;
  }
  if (s->attrs.n || d->attrs.n) dc_merge_attrs(cp, o, s, d);
}

/* Skip an initializer "= ..." up to ',' or ';' at depth 0. */
static void dc_skip_init(cp_state *cp) {
  cp_next(cp);
  while (cp->tok.tok != ',' && cp->tok.tok != ';') {
    if (cp->tok.tok == TK_EOF) cp_err(cp, NULL, MFFI_EPARSE, "expected ';'");
    if (cp->tok.tok == '(' || cp->tok.tok == '[' || cp->tok.tok == '{')
      cp_skip_group(cp);
    else
      cp_next(cp);
  }
}

/* #define NAME <integer constant expression>: other defines are ignored. */
static void dc_define_body(cp_state *cp, void *arg) {
  cp_val *v = arg;
  *v = mffi__cp_const_expr(cp);
  if (cp->tok.tok != TK_EOL) cp_err(cp, NULL, MFFI_EPARSE, "not a constant");
}

static void dc_define(cp_state *cp) {
  cp_token nt = cp->tok;
  cp_next(cp);
  cp_val v;
  if (cp->tok.tok == TK_EOL) return;
  cp->speculative = true;
  bool ok = cp_try(cp, dc_define_body, &v);
  cp->speculative = false;
  if (!ok) {
    mffi__cp_skip_define(cp);
    return;
  }
  mffi__tid tid = v.wide ? (v.uns ? MFFI_KIND_ULONG : MFFI_KIND_LONG)
                         : (v.uns ? MFFI_KIND_UINT : MFFI_KIND_INT);
  mffi_decl *o = mffi__tt_decl_find_pooled(cp->tt, nt.name);
  if (o) { /* Other names (enumerators, functions...) win over a macro. */
    if (o->kind != MFFI_DECL_CONSTANT || o->enum_tid != MFFI_TID_NONE) return;
    bool undefined = mffi__cp_pset_take(&cp->undefs, nt.name);
    if (o->value == (int64_t)v.v) return; /* The same value: fine. */
    if (!undefined) { /* gcc warns, cffi refuses: a header at odds. */
      char where[200];
      cp_err(cp, &nt, MFFI_EDECL,
             "'%s' redefined as %lld; the previous definition, %lld, is at %s",
             nt.name, (long long)v.v, (long long)o->value,
             dc_where(cp, o, where, sizeof where));
    }
    cp_check(cp, mffi__tt_decl_touch(cp->ctx, o), &nt);
    o->value = (int64_t)v.v;
    o->tid = tid;
    o->file = nt.file;
    o->line = nt.line;
    o->col = nt.col;
  } else {
    mffi_decl d = {.kind = MFFI_DECL_CONSTANT,
                   .name = nt.name,
                   .tid = tid,
                   .value = (int64_t)v.v,
                   .enum_tid = MFFI_TID_NONE};
    dc_decl_add(cp, &d, &nt);
  }
}

static void dc_external(cp_state *cp) {
  int t = cp->tok.tok;
  if (t == ';') {
    cp_next(cp);
    return;
  }
  if (t == TK_STATIC_ASSERT) {
    cp_static_assert(cp);
    return;
  }
  if (t == TK_ASM) {
    cp_next(cp);
    if (cp->tok.tok == TK_VOLATILE) cp_next(cp);
    if (cp->tok.tok != '(') cp_err(cp, NULL, MFFI_EPARSE, "expected '('");
    cp_skip_group(cp);
    cp_expect(cp, ';', "';'");
    return;
  }
  if (t == '}' || t == ')' || t == ']')
    cp_err(cp, NULL, MFFI_EPARSE, "unbalanced '%c'", t);
  cp_specs s;
  sp_parse(cp, &s, SC_TOP);
  int t2 = cp->tok.tok;
  if (s.storage == TK_TYPEDEF && t2 >= TK_FLOAT16 && t2 <= TK_FLOAT64X &&
      mffi__cp_peek(cp)->tok == ';') {
    /* Headers preprocessed by clang define GCC's _FloatN keywords as
    ** typedefs ("typedef float _Float32;"): the keyword already means it. */
    cp_next(cp);
    cp_next(cp);
    return;
  }
  if (cp->tok.tok == ';') {
    if (s.anon_tag && !s.dup_enum &&
        mffi__B(cp->tt, s.tid)->kind == MFFI_KIND_ENUM) {
      mffi_decl d = {.kind = MFFI_DECL_TAG,
                     .tid = s.tid,
                     .defined = true,
                     .enum_tid = MFFI_TID_NONE};
      dc_decl_add(cp, &d, &s.first);
    }
    cp_next(cp);
    return;
  }
  for (;;) {
    cp_declarator d = {0};
    dp_declarator(cp, &d, &d.ops, DM_NAMED);
    at_trailing(cp, &d);
    mffi__tid tid = dp_build(cp, s.tid, &d);
    bool isfn = mffi__B(cp->tt, tid)->kind == MFFI_KIND_FUNCTION;
    if (isfn && cp->tok.tok == '{') { /* An inline body: skip it. */
      if (s.storage == TK_TYPEDEF)
        cp_err(cp, NULL, MFFI_EPARSE, "expected ';'");
      dc_declare(cp, &s, &d);
      cp_skip_group(cp);
      return;
    }
    if (cp->tok.tok == '=') {
      if (s.storage == TK_TYPEDEF)
        cp_err(cp, NULL, MFFI_EDECL, "typedef '%s' is initialized", d.name);
      dc_skip_init(cp);
    }
    dc_declare(cp, &s, &d);
    if (cp->tok.tok == ',') {
      cp_next(cp);
      continue;
    }
    cp_expect(cp, ';', "';'");
    return;
  }
}

/* -- Skipping what cannot be represented ----------------------------------- */

/* What the scan of a skipped declaration found. */
typedef struct sk_scan {
  cp_vec names;     /* const char *: the names it declares. */
  const char *uses; /* A name a skipped declaration declared, or NULL. */
  int first_kw;     /* TK_STRUCT... if the first name is a tag, else 0. */
} sk_scan;

/* Read the declaration starting at the current token up to its end (the
** ';' at depth 0, or the '}' of a function body), by its brackets only,
** noting the names it declares: at brace depth 0, outside attribute, asm,
** typeof and _Atomic groups, array sizes and parameter lists, and not
** already a typedef name (then it is a specifier); and the tags it names.
** Leaves the token after it current. */
static void sk_scan_decl(cp_state *cp, sk_scan *r) {
  int depth = 0, brace = 0, prev = 0;
  int nodecl = -1; /* Depth of the group that declares nothing, or -1. */
  bool params = false, fnbody = false;
  for (;;) {
    const cp_token *t = &cp->tok;
    int k = t->tok;
    if (k == TK_EOF) {
      if (depth) cp_err(cp, NULL, MFFI_EPARSE, "unbalanced brackets");
      return;
    }
    if (k == TK_NAME) {
      bool tag = prev == TK_STRUCT || prev == TK_UNION || prev == TK_ENUM;
      if (mffi__cp_pset_has(&cp->skipped, t->name)) {
        if (!r->uses) r->uses = t->name;
      } else if (brace == 0 && nodecl < 0 &&
                 (tag || !cp_is_typedef_name(cp, t->name))) {
        if (!r->names.n) r->first_kw = tag ? prev : 0;
        *(const char **)vec_push(cp, &r->names, sizeof(const char *)) = t->name;
      }
    }
    if (k == '(' || k == '[' || k == '{') {
      if (nodecl < 0 && k != '{' &&
          (k == '[' || prev == TK_ATTRIBUTE || prev == TK_ASM ||
           prev == TK_TYPEOF || prev == TK_ALIGNAS || prev == TK_ATOMIC ||
           prev == TK_NAME || prev == ')' || prev == ']')) {
        nodecl = depth;
        params = k == '(' && (prev == TK_NAME || prev == ')' || prev == ']');
      }
      if (k == '{' && depth == 0 && prev == ')' && params) fnbody = true;
      if (k == '{') brace++;
      depth++;
    } else if (k == ')' || k == ']' || k == '}') {
      if (--depth < 0) cp_err(cp, NULL, MFFI_EPARSE, "unbalanced '%c'", k);
      if (nodecl == depth) nodecl = -1;
      if (k == '}') brace--;
      if (k == '}' && depth == 0 && fnbody) {
        cp_next(cp);
        return;
      }
    } else if (k == ';' && depth == 0) {
      cp_next(cp);
      return;
    }
    prev = k;
    cp_next(cp);
  }
}

static void sk_scan_try(cp_state *cp, void *arg) {
  sk_scan_decl(cp, arg);
}

/* Record the skipped bytes [from, to) of the text. */
static void sk_range(cp_state *cp, size_t from, size_t to) {
  mffi__cdef_skips *sk = cp->skips;
  if (mffi__grow(cp->ctx, (void **)&sk->ranges, &sk->capranges,
                 sk->nranges + 1, sizeof *sk->ranges) != 0)
    mffi__cp_rethrow(cp, NULL, MFFI_ENOMEM);
  sk->ranges[sk->nranges++] = (mffi__cdef_range){from, to};
}

/* Undo a declaration that failed: the type table back to sp, the lexer to
** m, the parser's nesting state cleared. */
static void sk_undo(cp_state *cp, const mffi__tt_savepoint *sp,
                    const cp_mark *m) {
  mffi__tt_restore(cp->ctx, sp);
  mffi__cp_reset(cp, m);
  cp->depth = cp->noeval = cp->in_params = cp->in_members = 0;
  cp->in_len_try = 0;
  cp->speculative = false;
}

/* Read the skipped declaration at m again with its outer struct or union
** body read over, so that what it declares stays with an incomplete type
** ("typedef struct s {...} T;" declares T as the incomplete 'struct s')
** and pointers to it stay usable. Only a tagged body: a tag made up for an
** untagged one would not be the real header's type. On success the body
** is the range left out and the token after the declaration is current;
** else everything is undone and false returned. */
static bool sk_opaque(cp_state *cp, const cp_mark *m, const sk_scan *r) {
  if (!r->names.n || r->first_kw == 0 || r->first_kw == TK_ENUM) return false;
  cp_mark end = mffi__cp_mark(cp);
  mffi__tt_savepoint sp;
  mffi__tt_save(cp->ctx, &sp);
  jmp_buf jb, *outer = cp->jb;
  cp->jb = &jb;
  mffi__cp_reset(cp, m);
  cp->opaque = true;
  int rc = setjmp(jb);
  if (rc == 0) {
    dc_external(cp);
    cp->jb = outer;
    bool used = !cp->opaque;
    cp->opaque = false;
    if (used) {
      sk_range(cp, cp->opaque_from, cp->opaque_to);
      return true;
    }
  } else {
    cp->jb = outer;
    cp->opaque = false;
    if (rc == MFFI_ENOMEM) longjmp(*outer, rc);
  }
  sk_undo(cp, &sp, &end);
  mffi__ok(cp->ctx);
  return false;
}

/* One top-level declaration of a tolerant parse: as dc_external, but one
** that cannot be represented (or names what one of those declared) is
** undone, read over and reported instead of failing the parse. */
static void sk_external(cp_state *cp) {
  cp_mark m = mffi__cp_mark(cp);
  mffi__tt_savepoint sp;
  mffi__tt_save(cp->ctx, &sp);
  jmp_buf jb, *outer = cp->jb;
  cp->jb = &jb;
  cp->decl_name = NULL;
  int rc = setjmp(jb);
  if (rc == 0) {
    dc_external(cp);
    cp->jb = outer;
    return;
  }
  cp->jb = outer;
  if (rc == MFFI_ENOMEM) longjmp(*outer, rc);
  const char *failed_name = cp->decl_name;
  char why[MFFI_ERRMSG_MAX];
  snprintf(why, sizeof why, "%s", mffi_errmsg(cp->ctx));
  long offset = mffi_erroffset(cp->ctx);
  sk_undo(cp, &sp, &m);
  cp_token first = cp->tok;
  sk_scan r = {0};
  /* A declaration that cannot be read over, or a real error: raise it. */
  bool read =
      (rc == MFFI_EUNSUPPORTED || cp->skipped.n) && cp_try(cp, sk_scan_try, &r);
  if (!read || (rc != MFFI_EUNSUPPORTED && !r.uses)) {
    mffi__err_at(cp->ctx, rc, offset, "%s", why);
    longjmp(*outer, rc);
  }
  mffi__ok(cp->ctx);
  size_t from = mffi__cp_offset(cp, first.p);
  size_t to = mffi__cp_offset(cp, cp->tok.tok == TK_EOF ? cp->end : cp->tok.p);
  bool opaque = sk_opaque(cp, &m, &r);
  /* What it declares is not there (or incomplete: what fails on it is
  ** skipped too); names declared before are there. */
  const char **names = r.names.v;
  for (uint32_t i = 0; i < r.names.n; i++)
    if (opaque || !mffi__tt_decl_find_pooled(cp->tt, names[i]))
      mffi__cp_pset_add(cp, &cp->skipped, names[i]);
  if (!opaque) sk_range(cp, from, to);
  if (!cp->skips->note) return;
  if (rc != MFFI_EUNSUPPORTED) {
    if (first.file)
      snprintf(why, sizeof why,
               "%.160s:%u:%u: it uses '%.100s', which was "
               "skipped",
               first.file, first.line, first.col, r.uses);
    else
      snprintf(why, sizeof why, "%u:%u: it uses '%.100s', which was skipped",
               first.line, first.col, r.uses);
  }
  char name[128] = "";
  if (failed_name) /* The declarator being read when it failed. */
    snprintf(name, sizeof name, "%.100s", failed_name);
  else if (r.names.n)
    snprintf(name, sizeof name, "%s%.100s",
             r.first_kw == TK_STRUCT  ? "struct "
             : r.first_kw == TK_UNION ? "union "
             : r.first_kw == TK_ENUM  ? "enum "
                                      : "",
             names[0]);
  if (opaque) {
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "; its body is left out: an incomplete "
                                      "type");
  }
  cp->skips->note(cp->skips->ud, name, why);
}

/* -- Entry points ---------------------------------------------------------- */

/* Each top-level declaration's temporaries are released when it is done,
** so that memory follows the largest declaration, not the whole text. The
** token read past it stays: unless it (or the look-ahead) is a string,
** whose bytes are in the arena, nothing of the arena is still in use. */
static void cp_unit(cp_state *cp, void *arg) {
  (void)arg;
  mffi__cp_lex_splice(cp);
  cp_next(cp);
  while (cp->tok.tok != TK_EOF) {
    cp_amark m = mffi__cp_arena_mark(cp);
    if (cp->skips)
      sk_external(cp);
    else
      dc_external(cp);
    if (cp->tok.tok != TK_STRING &&
        !(cp->have_ahead && cp->ahead.tok == TK_STRING))
      mffi__cp_arena_release(cp, m);
  }
}

static void cp_typename_only(cp_state *cp, void *arg) {
  mffi__cp_lex_splice(cp);
  cp_next(cp);
  if (cp->tok.tok == TK_EOF)
    cp_err(cp, NULL, MFFI_EPARSE, "expected a type name");
  *(mffi__tid *)arg = mffi__cp_type_name(cp);
  if (cp->tok.tok != TK_EOF)
    cp_err(cp, NULL, MFFI_EPARSE, "unexpected text after the type name");
}

/* Run fn under a fresh error frame; returns MFFI_OK or the error raised.
** The state lives in the caller's frame, so nothing here is clobbered by
** longjmp. */
static int cp_run(cp_state *cp, void (*fn)(cp_state *, void *), void *arg) {
  jmp_buf jb;
  cp->jb = &jb;
  int rc = setjmp(jb);
  if (rc == 0) fn(cp, arg);
  mffi__cp_arena_free(cp);
  return rc;
}

int mffi__cdef_parse(mffi_ctx *ctx, const char *src, size_t len,
                     mffi__cdef_skips *sk) {
  if (len >= CP_MAX_TEXT)
    return mffi__err(ctx, MFFI_ERANGE,
                     "declarations of %zu bytes: the limit is 2 GiB", len);
  cp_state cp = {.ctx = ctx,
                 .tt = &ctx->tt,
                 .on_define = dc_define,
                 .undefs = {.keep = true},
                 .redefs = {.keep = true},
                 .skips = sk,
                 .skipped = {.keep = true}};
  mffi__cp_lex_init(&cp, src, len);
  return cp_run(&cp, cp_unit, NULL);
}

int mffi__cdef_typename(mffi_ctx *ctx, const char *src, size_t len,
                        mffi__tid *out) {
  cp_state cp = {.ctx = ctx, .tt = &ctx->tt, .typename_mode = true};
  mffi__cp_lex_init(&cp, src, len);
  *out = MFFI_TID_NONE;
  mffi__tid tid = MFFI_TID_NONE;
  int rc = cp_run(&cp, cp_typename_only, &tid);
  if (rc == MFFI_OK) *out = tid;
  return rc;
}
