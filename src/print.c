/* C printer for types and declarations. See LICENSE. */

/* Types are printed the way C reads them: a specifier (the innermost
** non-derived type, with its qualifiers) followed by a declarator built from
** the chain of pointers, arrays and functions around the optional name. The
** declarator is printed in two passes over the same chain: the prefix
** ("*", "(*" and pointer qualifiers, innermost first) before the name, the
** suffix ("[N]", "(params)", ")") after it.
**
** Typedef names are aliases, so they never appear in printed types, except
** for an anonymous struct, union or enum that a typedef named: its node
** carries the typedef name as its tag (MFFI_TF_TYPEDEF_TAG), and it prints
** as that name.
**
** An alignment override (a typedef with aligned(N)) cannot be written as a
** declaration specifier followed by an attribute, because GCC then applies
** the attribute to the declared object (and refuses to lower alignment).
** So an override prints by the name of the typedef that made it when one
** is visible, else as __typeof__(T __attribute__((aligned(N)))), where the
** attribute is part of a type name and so binds to the type.
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "print.h"

/* Max. nesting of printed types (bodies, params, declarator levels): the
** printer recurses, so deeper parts print as "..." (see mffi_type_str). */
#define PR_MAX_DEPTH 200

/* -- Bounded writer -------------------------------------------------------- */

/* Append the first n bytes of s; keep buf NUL-terminated when cap > 0. */
static void pr_sb_write(mffi__sb *sb, const char *s, size_t n) {
  if (sb->cap > 0) {
    size_t end = sb->len < sb->cap - 1 ? sb->len : sb->cap - 1;
    size_t k = n < sb->cap - 1 - end ? n : sb->cap - 1 - end;
    memcpy(sb->buf + end, s, k);
    sb->buf[end + k] = '\0';
  }
  sb->len += n;
}

/* Append the string s to sb (see mffi__sb in types.h). */
void mffi__sb_puts(mffi__sb *sb, const char *s) {
  pr_sb_write(sb, s, strlen(s));
}

/* Append printf-style text to sb (see mffi__sb in types.h). */
void mffi__sb_printf(mffi__sb *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n;
  if (sb->cap > 0 && sb->len < sb->cap) {
    n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
  } else {
    n = vsnprintf(NULL, 0, fmt, ap);
  }
  va_end(ap);
  if (n > 0) sb->len += (size_t)n;
}

/* -- Printer state --------------------------------------------------------- */

typedef struct pr {
  mffi__sb *sb;
  const mffi__tt *tt;
  char last;        /* Last byte asked for (even if it did not fit). */
  mffi__tid expand; /* Named record printed with its body, or NONE. */
  int depth;        /* Current nesting, against PR_MAX_DEPTH. */
  uint32_t limit;   /* Typedefs before this declaration index are visible. */
} pr;

static bool pr_isword(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

static void pr_puts(pr *p, const char *s) {
  size_t n = strlen(s);
  if (n == 0) return;
  pr_sb_write(p->sb, s, n);
  p->last = s[n - 1];
}

/* Append a token, with a space first when it would otherwise fuse with
** the previous word ("const" "*", "int" "x", "*const" "p"). */
static void pr_tok(pr *p, const char *s) {
  if (!*s) return;
  if (pr_isword(p->last) && (pr_isword(s[0]) || s[0] == '*' || s[0] == '('))
    pr_puts(p, " ");
  pr_puts(p, s);
}

/* Formatted text for numbers and short fixed words only (the scratch
** buffer bounds it; longer text goes through pr_puts). */
static void pr_printf(pr *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pr_printf(pr *p, const char *fmt, ...) {
  char tmp[96];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) pr_puts(p, tmp);
}

/* -- Type classification --------------------------------------------------- */

static bool pr_is_record(unsigned kind) {
  return kind == MFFI_KIND_STRUCT || kind == MFFI_KIND_UNION ||
         kind == MFFI_KIND_ENUM;
}

/* The alignment override carried by node t, or 0 if it has none: a
** variant (base differs) keeps USERALIGN only when aligned() re-aligned it;
** a base record's USERALIGN is its own aligned(N), printed with its body. */
static uint32_t pr_align_override(const mffi__tt *tt, const mffi_type *t) {
  (void)tt;
  if (t->base == t->id || !(t->flags & MFFI_TF_USERALIGN)) return 0;
  return t->align;
}

/* True if the node is printed by the specifier, not by the declarator. */
static bool pr_is_leaf(const mffi__tt *tt, mffi__tid tid) {
  const mffi_type *t = mffi__T(tt, tid);
  if (pr_align_override(tt, t)) return true;
  if (t->flags & MFFI_TF_VECTOR) return true; /* __typeof__(...) */
  switch (t->kind) {
  case MFFI_KIND_POINTER:
  case MFFI_KIND_ARRAY:
  case MFFI_KIND_FUNCTION: return false;
  default: return true;
  }
}

/* The structural child (pointee, element, return type) of a derived node. */
static mffi__tid pr_child(const mffi__tt *tt, mffi__tid tid) {
  return mffi__B(tt, tid)->child;
}

/* The leaf at the end of tid's chain of pointers, arrays and functions. */
static mffi__tid pr_leaf(const mffi__tt *tt, mffi__tid tid) {
  while (!pr_is_leaf(tt, tid)) /* A loop: chains may be long (1M stars). */
    tid = pr_child(tt, tid);
  return tid;
}

/* True if the declarator of tid starts before the name (has a pointer). */
static bool pr_has_prefix(const mffi__tt *tt, mffi__tid tid) {
  while (!pr_is_leaf(tt, tid)) {
    if (mffi__T(tt, tid)->kind == MFFI_KIND_POINTER) return true;
    tid = pr_child(tt, tid);
  }
  return false;
}

static const char *pr_prim_name(unsigned kind) {
  switch (kind) {
  case MFFI_KIND_VOID: return "void";
  case MFFI_KIND_BOOL: return "_Bool";
  case MFFI_KIND_CHAR: return "char";
  case MFFI_KIND_SCHAR: return "signed char";
  case MFFI_KIND_UCHAR: return "unsigned char";
  case MFFI_KIND_SHORT: return "short";
  case MFFI_KIND_USHORT: return "unsigned short";
  case MFFI_KIND_INT: return "int";
  case MFFI_KIND_UINT: return "unsigned int";
  case MFFI_KIND_LONG: return "long";
  case MFFI_KIND_ULONG: return "unsigned long";
  case MFFI_KIND_LLONG: return "long long";
  case MFFI_KIND_ULLONG: return "unsigned long long";
  case MFFI_KIND_INT128: return "__int128";
  case MFFI_KIND_UINT128: return "unsigned __int128";
  case MFFI_KIND_FLOAT16: return "_Float16";
  case MFFI_KIND_FLOAT: return "float";
  case MFFI_KIND_DOUBLE: return "double";
  case MFFI_KIND_LDOUBLE: return "long double";
  case MFFI_KIND_FLOAT128: return "_Float128";
  case MFFI_KIND_VALIST: return "__builtin_va_list";
  default: return NULL;
  }
}

/* _Float32, _Float64, _Float32x, _Float64x: types of their own to GCC. */
static const char *pr_floatn_name(const mffi_type *t) {
  if (t->flags & MFFI_TF_FLOATN)
    return t->kind == MFFI_KIND_FLOAT ? "_Float32" : "_Float64";
  if (t->flags & MFFI_TF_FLOATNX)
    return t->kind == MFFI_KIND_DOUBLE ? "_Float32x" : "_Float64x";
  return NULL;
}

static void pr_quals(pr *p, unsigned quals) {
  if (quals & MFFI_QUAL_CONST) pr_tok(p, "const");
  if (quals & MFFI_QUAL_VOLATILE) pr_tok(p, "volatile");
  if (quals & MFFI_QUAL_RESTRICT) pr_tok(p, "restrict");
}

/* -- Types ----------------------------------------------------------------- */

static void pr_full(pr *p, mffi__tid tid, const char *name,
                    const char *const *pnames, uint32_t npnames);
static void pr_body(pr *p, mffi__tid tid);

/* An integer constant of the given integer kind, as a C literal of that
** type when it needs a suffix (INT64_MIN has no literal). */
static void pr_int(pr *p, int64_t v, unsigned kind) {
  bool is_unsigned =
      mffi__kind_is_int(kind) && !mffi__kind_is_signed(p->tt, (mffi_kind)kind);
  if (is_unsigned) {
    uint64_t u = (uint64_t)v;
    switch (kind) {
    case MFFI_KIND_ULONG: pr_printf(p, "%" PRIu64 "UL", u); return;
    case MFFI_KIND_ULLONG:
    case MFFI_KIND_UINT128: pr_printf(p, "%" PRIu64 "ULL", u); return;
    default:
      if (u > UINT32_MAX)
        pr_printf(p, "%" PRIu64 "UL", u);
      else if (u > INT32_MAX)
        pr_printf(p, "%" PRIu64 "U", u);
      else
        pr_printf(p, "%" PRIu64, u);
      return;
    }
  }
  const char *sfx = "";
  if (kind == MFFI_KIND_LONG) sfx = "L";
  if (kind == MFFI_KIND_LLONG || kind == MFFI_KIND_INT128) sfx = "LL";
  if (v == INT64_MIN) {
    pr_printf(p, "(-%" PRId64 "%s - 1)", INT64_MAX, *sfx ? sfx : "L");
  } else if (v < 0) {
    if (!*sfx && v == INT32_MIN)
      pr_puts(p, "(-2147483647 - 1)");
    else
      pr_printf(p, "%" PRId64 "%s", v, sfx);
  } else {
    pr_printf(p, "%" PRId64 "%s", v, sfx);
  }
}

/* The enum's value of an enumerator, with the enum's signedness. */
static void pr_enum_value(pr *p, const mffi_type *e, int64_t v) {
  bool is_unsigned = false;
  if (e->child != MFFI_TID_NONE) {
    mffi_kind k = (mffi_kind)mffi__B(p->tt, e->child)->kind;
    is_unsigned = mffi__kind_is_int(k) && !mffi__kind_is_signed(p->tt, k);
  }
  if (is_unsigned && (uint64_t)v > INT64_MAX) {
    pr_printf(p, "%" PRIu64 "UL", (uint64_t)v);
  } else if (is_unsigned) {
    pr_printf(p, "%" PRIu64, (uint64_t)v);
  } else if (v == INT64_MIN) {
    pr_printf(p, "(-%" PRId64 "L - 1)", INT64_MAX);
  } else {
    pr_printf(p, "%" PRId64, v);
  }
}

/* The attributes a record carries on its own definition. */
static void pr_record_attrs(pr *p, const mffi_type *b) {
  if (b->flags & MFFI_TF_PACKED) pr_puts(p, " __attribute__((packed))");
  if (b->attr_align)
    pr_printf(p, " __attribute__((aligned(%" PRIu32 ")))", b->attr_align);
}

/* "struct tag" / "enum tag" / the typedef display name / the whole body. */
static void pr_record_spec(pr *p, mffi__tid tid) {
  const mffi_type *b = mffi__B(p->tt, tid);
  const char *kw = b->kind == MFFI_KIND_STRUCT  ? "struct"
                   : b->kind == MFFI_KIND_UNION ? "union"
                                                : "enum";
  bool typedef_tag = b->tag && (b->flags & MFFI_TF_TYPEDEF_TAG);
  if (typedef_tag && b->id != p->expand) {
    pr_tok(p, b->tag);
    return;
  }
  pr_tok(p, kw);
  if (b->tag && !typedef_tag) pr_tok(p, b->tag);
  if (!b->tag || typedef_tag || b->id == p->expand) pr_body(p, b->id);
}

/* A visible typedef that names the alignment override t (with at most t's
** qualifiers), or NULL. */
static const mffi_decl *pr_aligned_typedef(const pr *p, const mffi_type *t) {
  const mffi__tt *tt = p->tt;
  uint32_t n = tt->ndecls < p->limit ? tt->ndecls : p->limit;
  for (uint32_t i = 0; i < n; i++) {
    const mffi_decl *d = tt->decls[i];
    if (d->kind != MFFI_DECL_TYPEDEF) continue;
    const mffi_type *a = mffi__T(tt, d->tid);
    if (a->base != a->id && (a->flags & MFFI_TF_USERALIGN) &&
        a->base == t->base && a->align == t->align &&
        (a->quals & ~t->quals) == 0)
      return d;
  }
  return NULL;
}

/* The alignment-override leaf. By the name of the typedef that made it,
** when one is visible (that is how the source wrote it); else the base type
** with the attribute, in a type name so that it binds to the type. */
static void pr_aligned_spec(pr *p, const mffi_type *t, bool bare) {
  const mffi_decl *td = pr_aligned_typedef(p, t);
  if (td) {
    pr_quals(p, t->quals & ~mffi__T(p->tt, td->tid)->quals);
    pr_tok(p, td->name);
    return;
  }
  pr_quals(p, t->quals);
  if (!bare) pr_tok(p, "__typeof__(");
  mffi__tid base = t->base;
  if (pr_is_leaf(p->tt, base)) {
    pr_full(p, base, NULL, NULL, 0);
  } else {
    /* Arrays and pointers: an attribute after their abstract declarator
    ** would not bind to them, one after a typeof does. */
    pr_tok(p, "__typeof__(");
    pr_full(p, base, NULL, NULL, 0);
    pr_puts(p, ")");
  }
  pr_printf(p, " __attribute__((aligned(%" PRIu32 ")))", t->align);
  if (!bare) pr_puts(p, ")");
}

/* The specifier for a leaf node, with its qualifiers. */
static void pr_spec(pr *p, mffi__tid tid, bool bare) {
  const mffi_type *t = mffi__T(p->tt, tid);
  if (pr_align_override(p->tt, t)) {
    pr_aligned_spec(p, t, bare);
    return;
  }
  pr_quals(p, t->quals);
  if (t->flags & MFFI_TF_VECTOR) { /* A type name binds the attribute. */
    pr_tok(p, "__typeof__(");
    pr_full(p, pr_child(p->tt, tid), NULL, NULL, 0);
    pr_printf(p, " __attribute__((vector_size(%zu))))", t->size);
  } else if (t->kind == MFFI_KIND_COMPLEX) {
    pr_full(p, pr_child(p->tt, tid), NULL, NULL, 0);
    pr_tok(p, "_Complex");
  } else if (pr_is_record(t->kind)) {
    pr_record_spec(p, tid);
  } else {
    const char *s = pr_floatn_name(t);
    if (!s) s = pr_prim_name(t->kind);
    pr_tok(p, s ? s : "int");
  }
}

/* A function's parameter list, with names when known. */
static void pr_params(pr *p, const mffi_type *f, const char *const *pnames,
                      uint32_t npnames) {
  pr_puts(p, "(");
  if (f->flags & MFFI_TF_UNPROTO) {
    pr_puts(p, ")");
    return;
  }
  if (f->nparams == 0 && !(f->flags & MFFI_TF_VARIADIC)) {
    pr_puts(p, "void)");
    return;
  }
  for (uint32_t i = 0; i < f->nparams; i++) {
    if (i) pr_puts(p, ", ");
    const char *pn = pnames && i < npnames ? pnames[i] : NULL;
    pr_full(p, f->params[i], pn, NULL, 0);
  }
  if (f->flags & MFFI_TF_VARIADIC) pr_puts(p, f->nparams ? ", ..." : "...");
  pr_puts(p, ")");
}

/* The calling convention of tid if it is a function of another than the
** default. */
static void pr_callconv(pr *p, mffi__tid tid) {
  const mffi_type *b = mffi__B(p->tt, tid);
  if (b->kind == MFFI_KIND_FUNCTION && (b->flags & MFFI_TF_MSABI))
    pr_tok(p, "__attribute__((ms_abi)) ");
}

/* Declarator text before the name, innermost derivation first. */
static void pr_prefix(pr *p, mffi__tid tid, int n) {
  if (pr_is_leaf(p->tt, tid)) return;
  if (n + p->depth > PR_MAX_DEPTH) { /* Recursion bound: mark the cut. */
    pr_tok(p, "...");
    return;
  }
  const mffi_type *t = mffi__T(p->tt, tid);
  mffi__tid c = pr_child(p->tt, tid);
  pr_prefix(p, c, n + 1);
  if (t->kind != MFFI_KIND_POINTER) return;
  if (!pr_is_leaf(p->tt, c) && mffi__T(p->tt, c)->kind != MFFI_KIND_POINTER) {
    pr_tok(p, "(");
    pr_callconv(p, c); /* At the start of a nested declarator: c's. */
  }
  pr_tok(p, "*");
  if (t->quals & MFFI_QUAL_CONST) pr_puts(p, "const");
  if (t->quals & MFFI_QUAL_VOLATILE) pr_tok(p, "volatile");
  if (t->quals & MFFI_QUAL_RESTRICT) pr_tok(p, "restrict");
}

/* Declarator text after the name, outermost derivation first. */
static void pr_suffix(pr *p, mffi__tid tid, const char *const *pnames,
                      uint32_t npnames, int n) {
  if (pr_is_leaf(p->tt, tid)) return;
  if (n + p->depth > PR_MAX_DEPTH) {
    /* Pointers print nothing after the name: mark only a cut suffix. */
    for (mffi__tid c = tid; !pr_is_leaf(p->tt, c); c = pr_child(p->tt, c))
      if (mffi__B(p->tt, c)->kind != MFFI_KIND_POINTER) {
        pr_tok(p, "...");
        break;
      }
    return;
  }
  const mffi_type *b = mffi__B(p->tt, tid);
  mffi__tid c = b->child;
  if (b->kind == MFFI_KIND_POINTER) {
    if (!pr_is_leaf(p->tt, c) && mffi__T(p->tt, c)->kind != MFFI_KIND_POINTER)
      pr_puts(p, ")");
  } else if (b->kind == MFFI_KIND_ARRAY) {
    if (b->length < 0 || (b->flags & MFFI_TF_VLA_LEN))
      pr_puts(p, "[]");
    else
      pr_printf(p, "[%ld]", b->length);
  } else {
    pr_params(p, b, pnames, npnames);
  }
  pr_suffix(p, c, NULL, 0, n + 1);
}

/* Type tid declaring `name` (may be NULL). pnames names the parameters of
** tid when it is itself a function. */
static void pr_full(pr *p, mffi__tid tid, const char *name,
                    const char *const *pnames, uint32_t npnames) {
  if (p->depth >= PR_MAX_DEPTH) {
    pr_tok(p, "...");
    return;
  }
  /* A lone aligned type with no declarator is a type name: the attribute
  ** binds to the type without __typeof__. */
  bool bare = !name && p->depth == 0 && pr_is_leaf(p->tt, tid);
  p->depth++;
  pr_spec(p, pr_leaf(p->tt, tid), bare);
  bool has_prefix = pr_has_prefix(p->tt, tid);
  if (has_prefix || name) {
    if (p->last != ' ' && p->last != '\0') pr_puts(p, " ");
  }
  pr_prefix(p, tid, 0);
  pr_callconv(p, tid); /* A function declared, or named by a type name. */
  if (name) pr_tok(p, name);
  pr_suffix(p, tid, pnames, npnames, 0);
  p->depth--;
}

/* -- Bodies ---------------------------------------------------------------- */

/* One member of a struct or union body, with its ';'. */
static void pr_member(pr *p, const mffi__member *m) {
  /* An anonymous struct or union member has no tag: pr_full prints its
  ** body inline. */
  pr_full(p, m->tid, m->name, NULL, 0);
  if (m->bit_width >= 0) pr_printf(p, " : %d", m->bit_width);
  if (m->align_attr)
    pr_printf(p, " __attribute__((aligned(%" PRIu32 ")))", m->align_attr);
  if (m->packed) pr_puts(p, " __attribute__((packed))");
  pr_puts(p, ";");
}

/* " { members } attrs" of a struct, union or enum (after its keyword and
** tag). An incomplete record has no body to print. */
static void pr_body(pr *p, mffi__tid tid) {
  const mffi_type *b = mffi__B(p->tt, tid);
  if (b->id == p->expand) p->expand = MFFI_TID_NONE;
  if (!(b->flags & MFFI_TF_COMPLETE)) return;
  if (p->depth >= PR_MAX_DEPTH) {
    pr_puts(p, " { ... }");
    return;
  }
  p->depth++;
  pr_puts(p, " {");
  if (b->kind == MFFI_KIND_ENUM) {
    for (uint32_t i = 0; i < b->nenums; i++) {
      pr_puts(p, i ? ", " : " ");
      pr_puts(p, b->enums[i].name);
      pr_puts(p, " = ");
      pr_enum_value(p, b, b->enums[i].value);
    }
  } else {
    for (uint32_t i = 0; i < b->nmembers; i++) {
      pr_puts(p, " ");
      pr_member(p, &b->members[i]);
    }
  }
  pr_puts(p, " }");
  pr_record_attrs(p, b);
  p->depth--;
}

/* -- Declarations ---------------------------------------------------------- */

/* A malloc(dealloc, ...) attribute naming the function it is on: GCC
** looks dealloc up where the attribute is written, so it can only go on a
** redeclaration (glibc: "Add reallocarray as its own deallocator"). */
static bool pr_attr_self(const mffi_decl *d, const mffi_attr *a) {
  return d->kind == MFFI_DECL_FUNCTION && d->name &&
         strcmp(a->name, "malloc") == 0 && a->nargs > 0 && a->args[0].str &&
         strcmp(a->args[0].str, d->name) == 0;
}

static bool pr_has_self_attr(const mffi_decl *d) {
  for (uint32_t i = 0; i < d->nattrs; i++) {
    if (pr_attr_self(d, &d->attrs[i])) return true;
  }
  return false;
}

/* The attributes of d: those not naming d itself (self false), or only
** those (self true). */
static void pr_attrs(pr *p, const mffi_decl *d, bool self) {
  for (uint32_t i = 0; i < d->nattrs; i++) {
    const mffi_attr *a = &d->attrs[i];
    if (pr_attr_self(d, a) != self) continue;
    /* The printed type already is what mode() and vector_size() made. */
    if (strcmp(a->name, "mode") == 0 || strcmp(a->name, "vector_size") == 0 ||
        strcmp(a->name, "ms_abi") == 0 || strcmp(a->name, "sysv_abi") == 0)
      continue;
    pr_puts(p, " __attribute__((");
    pr_puts(p, a->name);
    if (a->nargs) {
      pr_puts(p, "(");
      for (size_t j = 0; j < a->nargs; j++) {
        if (j) pr_puts(p, ", ");
        if (a->args[j].str)
          pr_puts(p, a->args[j].str);
        else
          pr_printf(p, "%" PRId64, a->args[j].num);
      }
      pr_puts(p, ")");
    }
    pr_puts(p, "))");
  }
}

static bool pr_has_attr(const mffi_decl *d, const char *name) {
  for (uint32_t i = 0; i < d->nattrs; i++) {
    if (strcmp(d->attrs[i].name, name) == 0) return true;
  }
  return false;
}

/* ` __asm__("sym")` when the symbol differs from the name. */
static void pr_asm(pr *p, const mffi_decl *d) {
  if (!d->symbol || !d->name || strcmp(d->symbol, d->name) == 0) return;
  pr_puts(p, " __asm__(\"");
  for (const char *s = d->symbol; *s; s++) {
    char c[3] = {'\\', *s, '\0'};
    pr_puts(p, (*s == '"' || *s == '\\') ? c : c + 1);
  }
  pr_puts(p, "\")");
}

/* The record at the leaf of tid when it is anonymous and was named by the
** typedef `name`: that typedef prints its body. */
static mffi__tid pr_typedef_body(const mffi__tt *tt, mffi__tid tid,
                                 const char *name) {
  const mffi_type *b = mffi__B(tt, pr_leaf(tt, tid));
  if (!pr_is_record(b->kind) || !(b->flags & MFFI_TF_TYPEDEF_TAG) || !b->tag ||
      !name || strcmp(b->tag, name) != 0)
    return MFFI_TID_NONE;
  return b->id;
}

static void pr_decl_body(pr *p, const mffi_decl *d);

/* A definition laid out under #pragma pack(N) is printed between
** _Pragma("pack(push, N)") and _Pragma("pack(pop)"), which keeps it one
** line and the layout the same. */
static void pr_decl(pr *p, const mffi_decl *d) {
  const mffi__tt *tt = p->tt;
  mffi__tid body = MFFI_TID_NONE;
  if (d->kind == MFFI_DECL_TYPEDEF)
    body = pr_typedef_body(tt, d->tid, d->name);
  else if (d->kind == MFFI_DECL_TAG && d->defined)
    body = mffi__B(tt, d->tid)->id;
  unsigned pack = body != MFFI_TID_NONE ? mffi__B(tt, body)->pack : 0;
  if (pack) pr_printf(p, "_Pragma(\"pack(push, %u)\") ", pack);
  pr_decl_body(p, d);
  if (pack) pr_puts(p, " _Pragma(\"pack(pop)\")");
}

static void pr_decl_body(pr *p, const mffi_decl *d) {
  const mffi__tt *tt = p->tt;
  switch (d->kind) {
  case MFFI_DECL_TYPEDEF: {
    p->expand = pr_typedef_body(tt, d->tid, d->name);
    pr_puts(p, "typedef ");
    const mffi_type *t = mffi__T(tt, d->tid);
    if (pr_align_override(tt, t) && !t->quals && pr_has_attr(d, "aligned")) {
      /* The typedef's own aligned(N), printed with its attributes below,
      ** makes the override, as in the source. */
      pr_full(p, t->base, d->name, NULL, 0);
    } else {
      pr_full(p, d->tid, d->name, NULL, 0);
    }
    pr_attrs(p, d, false);
    pr_puts(p, ";");
    break;
  }
  case MFFI_DECL_FUNCTION:
    pr_full(p, d->tid, d->name, d->param_names, d->nparam_names);
    pr_asm(p, d);
    pr_attrs(p, d, false);
    pr_puts(p, ";");
    if (pr_has_self_attr(d)) {
      /* Attributes that name the function itself: on a redeclaration. */
      pr_puts(p, " ");
      pr_full(p, d->tid, d->name, d->param_names, d->nparam_names);
      pr_asm(p, d);
      pr_attrs(p, d, true);
      pr_puts(p, ";");
    }
    break;
  case MFFI_DECL_VARIABLE:
    pr_puts(p, d->thread_local ? "extern _Thread_local " : "extern ");
    pr_full(p, d->tid, d->name, NULL, 0);
    pr_asm(p, d);
    pr_attrs(p, d, false);
    pr_puts(p, ";");
    break;
  case MFFI_DECL_CONSTANT:
    if (d->enum_tid != MFFI_TID_NONE) {
      pr_puts(p, "/* enumerator ");
      pr_puts(p, d->name);
      pr_puts(p, " = ");
      pr_enum_value(p, mffi__B(tt, d->enum_tid), d->value);
      pr_puts(p, " */");
    } else {
      pr_puts(p, "#define ");
      pr_puts(p, d->name);
      pr_puts(p, " ");
      pr_int(p, d->value, mffi__B(tt, d->tid)->kind);
    }
    break;
  case MFFI_DECL_TAG: {
    const mffi_type *b = mffi__B(tt, d->tid);
    if (d->defined) p->expand = b->id;
    pr_record_spec(p, b->id);
    pr_puts(p, ";");
    break;
  }
  }
}

/* -- Entry points ---------------------------------------------------------- */

/* Print type tid declaring `name` (NULL for a type name) into sb. */
void mffi__print_type(mffi__sb *sb, const mffi__tt *tt, mffi__tid tid,
                      const char *name) {
  pr p = {.sb = sb,
          .tt = tt,
          .last = '\0',
          .expand = MFFI_TID_NONE,
          .limit = UINT32_MAX};
  if (sb->cap > 0 && sb->len < sb->cap) sb->buf[sb->len] = '\0';
  if (tid >= tt->ntypes) return;
  pr_full(&p, tid, name, NULL, 0);
}

/* Print declaration d as one line of C into sb (see mffi_decl_str). */
void mffi__print_decl(mffi__sb *sb, const mffi__tt *tt, const mffi_decl *d) {
  pr p = {.sb = sb,
          .tt = tt,
          .last = '\0',
          .expand = MFFI_TID_NONE,
          .limit = d->index};
  if (sb->cap > 0 && sb->len < sb->cap) sb->buf[sb->len] = '\0';
  pr_decl(&p, d);
}

/* Public: t as C into buf (see modffi.h); the length the text needs. */
size_t mffi_type_str(const mffi_type *t, const char *name, char *buf,
                     size_t n) {
  mffi__sb sb = {.buf = buf, .cap = buf ? n : 0, .len = 0};
  if (sb.cap) buf[0] = '\0';
  if (!t || !t->ctx) return 0;
  mffi__print_type(&sb, &t->ctx->tt, t->id, name);
  return sb.len;
}

/* Public: d as one line of C into buf (see modffi.h); the length the text
** needs. */
size_t mffi_decl_str(const mffi_decl *d, char *buf, size_t n) {
  mffi__sb sb = {.buf = buf, .cap = buf ? n : 0, .len = 0};
  if (sb.cap) buf[0] = '\0';
  if (!d || !d->ctx) return 0;
  mffi__print_decl(&sb, &d->ctx->tt, d);
  return sb.len;
}
