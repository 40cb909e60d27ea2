/* Integer constant expressions of C declarations. See LICENSE.
**
** Values carry a reduced C type: 32 or 64 bits, signed or unsigned, which
** is enough for the usual arithmetic conversions of C11 6.3.1.8 on LP64
** (every narrower type promotes to int). Signed values are kept
** sign-extended to 64 bits, and every result is wrapped to its width, as
** GCC folds them.
*/
#include <stdio.h>
#include <string.h>

#include "cdef.h"

static cp_val ex_unary(cp_state *cp);

static cp_val ex_norm(cp_val v) {
  if (!v.wide)
    v.v = v.uns ? (uint64_t)(uint32_t)v.v : (uint64_t)(int64_t)(int32_t)v.v;
  return v;
}

static cp_val ex_int(int64_t i) {
  cp_val v = {(uint64_t)i, false, false};
  return v;
}

/* The common type of a binary operation (C11 6.3.1.8 on LP64). */
static void ex_common(cp_val *a, cp_val *b) {
  bool wide = a->wide || b->wide, uns;
  if (a->wide == b->wide)
    uns = a->uns || b->uns;
  else
    uns = a->wide ? a->uns : b->uns; /* long holds every unsigned int */
  a->wide = b->wide = wide;
  a->uns = b->uns = uns;
  *a = ex_norm(*a);
  *b = ex_norm(*b);
}

cp_val mffi__cp_convert(const cp_state *cp, cp_val v, mffi_kind k) {
  const mffi__tt *tt = cp->tt;
  size_t size = tt->abi->size[k < MFFI_NPRIM ? k : MFFI_KIND_INT];
  if (k == MFFI_KIND_BOOL) return ex_int(v.v != 0);
  bool sgn = mffi__kind_is_signed(tt, k);
  if (size < 4) { /* Truncate, then promote to int. */
    uint64_t m = (1ull << (size * 8)) - 1, x = v.v & m;
    if (sgn && (x >> (size * 8 - 1))) x |= ~m;
    return ex_int((int64_t)x);
  }
  cp_val r = {v.v, !sgn, size >= 8};
  return ex_norm(r);
}

/* The integer kind of a type, for casts and sizeof operands. */
static mffi_kind ex_int_kind(cp_state *cp, mffi__tid tid, const cp_token *at) {
  const mffi_type *t = mffi__B(cp->tt, tid);
  mffi_kind k = (mffi_kind)t->kind;
  if (k == MFFI_KIND_ENUM) {
    if (!(t->flags & MFFI_TF_COMPLETE))
      k = MFFI_KIND_UINT;
    else
      k = (mffi_kind)t->child;
  }
  if (!mffi__kind_is_int(k))
    cp_err(cp, at, MFFI_EUNSUPPORTED,
           "cast to a non-integer type in a constant expression");
  return k;
}

/* sizeof and _Alignof: the operand is a parenthesized type name or an
** expression whose type we can tell (a declared name, a constant). */
static mffi__tid ex_operand_type(cp_state *cp) {
  if (cp->tok.tok == '(') {
    cp_mark m = mffi__cp_mark(cp);
    cp_next(cp);
    if (mffi__cp_starts_type(cp)) {
      mffi__tid tid = mffi__cp_type_name(cp);
      if (cp->tok.tok != ')') cp_err(cp, NULL, MFFI_EPARSE, "expected ')'");
      cp_next(cp);
      return tid;
    }
    mffi__cp_reset(cp, &m);
  }
  return mffi__cp_expr_type(cp);
}

static cp_val ex_sizeof(cp_state *cp, bool align) {
  cp_token at = cp->tok;
  cp_next(cp);
  mffi__tid tid = ex_operand_type(cp);
  const mffi_type *b = mffi__B(cp->tt, tid);
  cp_val r = {0, true, true};
  if (b->kind == MFFI_KIND_VOID || b->kind == MFFI_KIND_FUNCTION) {
    r.v = 1; /* GNU C: sizeof(void) == sizeof(function) == 1. */
    return r;
  }
  if (!mffi__tt_complete(cp->tt, tid))
    cp_err(cp, &at, MFFI_EDECL,
           "invalid application of '%s' to incomplete "
           "type",
           align ? "_Alignof" : "sizeof");
  r.v = align ? mffi__align(cp->tt, tid) : mffi__size(cp->tt, tid);
  return r;
}

/* __builtin_offsetof(type, a.b[2].c) */
static cp_val ex_offsetof(cp_state *cp) {
  cp_token at = cp->tok;
  cp_next(cp);
  if (cp->tok.tok != '(') cp_err(cp, NULL, MFFI_EPARSE, "expected '('");
  cp_next(cp);
  mffi__tid tid = mffi__cp_type_name(cp);
  if (cp->tok.tok != ',') cp_err(cp, NULL, MFFI_EPARSE, "expected ','");
  cp_next(cp);
  char path[512];
  size_t n = 0;
  for (;;) {
    char piece[128];
    if (cp->tok.tok == TK_NAME) {
      snprintf(piece, sizeof piece, "%s%s", n ? "." : "", cp->tok.name);
      cp_next(cp);
    } else if (cp->tok.tok == '[') {
      cp_next(cp);
      cp_val i = mffi__cp_const_expr(cp);
      if (cp->tok.tok != ']') cp_err(cp, NULL, MFFI_EPARSE, "expected ']'");
      cp_next(cp);
      snprintf(piece, sizeof piece, "[%lld]", (long long)i.v);
    } else if (cp->tok.tok == '.' && n) {
      cp_next(cp);
      continue;
    } else {
      break;
    }
    size_t pl = strlen(piece);
    if (n + pl + 1 > sizeof path)
      cp_err(cp, NULL, MFFI_EPARSE, "member path too long");
    memcpy(path + n, piece, pl + 1);
    n += pl;
  }
  if (cp->tok.tok != ')') cp_err(cp, NULL, MFFI_EPARSE, "expected ')'");
  cp_next(cp);
  size_t off;
  int rc = mffi_offsetof(cp->tt->types[tid], path, &off);
  if (rc) cp_err(cp, &at, rc, "no member '%s' for offsetof", path);
  cp_val r = {off, true, true};
  return r;
}

static cp_val ex_primary(cp_state *cp) {
  cp_token t = cp->tok;
  switch (t.tok) {
  case TK_INT: {
    cp_next(cp);
    cp_val v = {t.ival, t.uns, t.wide};
    return ex_norm(v);
  }
  case TK_NAME: {
    const mffi_decl *d = mffi__tt_decl_find_pooled(cp->tt, t.name);
    if (!d) cp_err(cp, &t, MFFI_EDECL, "'%s' undeclared", t.name);
    if (d->kind != MFFI_DECL_CONSTANT)
      cp_err(cp, &t, MFFI_EDECL, "'%s' is not an integer constant", t.name);
    cp_next(cp);
    mffi_kind k = (mffi_kind)mffi__B(cp->tt, d->tid)->kind;
    cp_val v = {(uint64_t)d->value, !mffi__kind_is_signed(cp->tt, k),
                cp->tt->abi->size[k] > 4};
    return ex_norm(v);
  }
  case '(': {
    cp_next(cp);
    cp_val v = mffi__cp_const_expr(cp);
    if (cp->tok.tok != ')') cp_err(cp, NULL, MFFI_EPARSE, "expected ')'");
    cp_next(cp);
    return v;
  }
  case TK_FLOAT:
    cp_err(cp, &t, MFFI_EUNSUPPORTED,
           "floating constant in an integer constant expression");
  case TK_STRING:
    cp_err(cp, &t, MFFI_EUNSUPPORTED,
           "string in an integer constant expression");
  case TK_OFFSETOF: return ex_offsetof(cp);
  default: cp_err(cp, &t, MFFI_EPARSE, "expected expression");
  }
}

static cp_val ex_unary(cp_state *cp) {
  if (++cp->depth > CP_MAX_DEPTH)
    cp_err(cp, NULL, MFFI_EPARSE, "expression nested too deeply");
  cp_val v;
  cp_token t = cp->tok;
  switch (t.tok) {
  case '-':
  case '+':
  case '~':
  case '!':
    cp_next(cp);
    v = ex_unary(cp);
    if (t.tok == '-')
      v.v = 0 - v.v;
    else if (t.tok == '~')
      v.v = ~v.v;
    else if (t.tok == '!')
      v = ex_int(v.v == 0);
    v = ex_norm(v);
    break;
  case TK_SIZEOF: v = ex_sizeof(cp, false); break;
  case TK_ALIGNOF: v = ex_sizeof(cp, true); break;
  case TK_EXTENSION:
    cp_next(cp);
    v = ex_unary(cp);
    break;
  case '(': {
    cp_mark m = mffi__cp_mark(cp);
    cp_next(cp);
    if (mffi__cp_starts_type(cp)) { /* A cast. */
      mffi__tid tid = mffi__cp_type_name(cp);
      if (cp->tok.tok != ')') cp_err(cp, NULL, MFFI_EPARSE, "expected ')'");
      cp_next(cp);
      mffi_kind k = ex_int_kind(cp, tid, &t);
      v = mffi__cp_convert(cp, ex_unary(cp), k);
      break;
    }
    mffi__cp_reset(cp, &m);
    v = ex_primary(cp);
    break;
  }
  default: v = ex_primary(cp);
  }
  cp->depth--;
  return v;
}

static int ex_prec(int tok) {
  switch (tok) {
  case TK_OROR: return 1;
  case TK_ANDAND: return 2;
  case '|': return 3;
  case '^': return 4;
  case '&': return 5;
  case TK_EQ:
  case TK_NE: return 6;
  case '<':
  case '>':
  case TK_LE:
  case TK_GE: return 7;
  case TK_SHL:
  case TK_SHR: return 8;
  case '+':
  case '-': return 9;
  case '*':
  case '/':
  case '%': return 10;
  default: return 0;
  }
}

static cp_val ex_apply(cp_state *cp, const cp_token *op, cp_val a, cp_val b) {
  if (op->tok == TK_ANDAND) return ex_int(a.v && b.v);
  if (op->tok == TK_OROR) return ex_int(a.v || b.v);
  if (op->tok == TK_SHL || op->tok == TK_SHR) {
    /* The result has the promoted type of the left operand. */
    unsigned width = a.wide ? 64 : 32;
    int64_t n = b.uns ? (int64_t)(b.v > 127 ? 127 : b.v) : (int64_t)b.v;
    if (n < 0 || (unsigned)n >= width) {
      if (cp->noeval) return a;
      cp_err(cp, op, MFFI_EDECL, "shift count out of range");
    }
    if (op->tok == TK_SHL)
      a.v <<= n;
    else if (a.uns)
      a.v = (a.wide ? a.v : (uint32_t)a.v) >> n;
    else
      a.v = (uint64_t)((int64_t)a.v >> n);
    return ex_norm(a);
  }
  ex_common(&a, &b);
  bool s = !a.uns;
  switch (op->tok) {
  case '|': a.v |= b.v; break;
  case '^': a.v ^= b.v; break;
  case '&': a.v &= b.v; break;
  case '+': a.v += b.v; break;
  case '-': a.v -= b.v; break;
  case '*': a.v *= b.v; break;
  case '/':
  case '%':
    if (b.v == 0) {
      if (cp->noeval) return a;
      cp_err(cp, op, MFFI_EDECL, "division by zero in a constant expression");
    }
    if (s && (int64_t)b.v == -1) { /* Avoid INT64_MIN / -1 trapping. */
      a.v = op->tok == '/' ? 0 - a.v : 0;
    } else if (s) {
      int64_t x = (int64_t)a.v, y = (int64_t)b.v;
      a.v = (uint64_t)(op->tok == '/' ? x / y : x % y);
    } else {
      a.v = op->tok == '/' ? a.v / b.v : a.v % b.v;
    }
    break;
  case TK_EQ: return ex_int(a.v == b.v);
  case TK_NE: return ex_int(a.v != b.v);
  case '<': return ex_int(s ? (int64_t)a.v < (int64_t)b.v : a.v < b.v);
  case '>': return ex_int(s ? (int64_t)a.v > (int64_t)b.v : a.v > b.v);
  case TK_LE: return ex_int(s ? (int64_t)a.v <= (int64_t)b.v : a.v <= b.v);
  case TK_GE: return ex_int(s ? (int64_t)a.v >= (int64_t)b.v : a.v >= b.v);
  }
  return ex_norm(a);
}

/* Precedence climbing over the binary operators. */
static cp_val ex_binary(cp_state *cp, int minprec) {
  cp_val a = ex_unary(cp);
  for (;;) {
    int p = ex_prec(cp->tok.tok);
    if (p == 0 || p < minprec) return a;
    cp_token op = cp->tok;
    cp_next(cp);
    /* The right side of && and || is not evaluated when the left decides. */
    bool skip = (op.tok == TK_ANDAND && !a.v) || (op.tok == TK_OROR && a.v);
    cp->noeval += skip;
    cp_val b = ex_binary(cp, p + 1);
    cp->noeval -= skip;
    a = ex_apply(cp, &op, a, b);
  }
}

cp_val mffi__cp_const_expr(cp_state *cp) {
  cp_val c = ex_binary(cp, 1);
  if (cp->tok.tok != '?') return c;
  if (++cp->depth > CP_MAX_DEPTH)
    cp_err(cp, NULL, MFFI_EPARSE, "expression nested too deeply");
  cp_next(cp);
  cp->noeval += !c.v;
  cp_val a = mffi__cp_const_expr(cp);
  cp->noeval -= !c.v;
  if (cp->tok.tok != ':') cp_err(cp, NULL, MFFI_EPARSE, "expected ':'");
  cp_next(cp);
  cp->noeval += !!c.v;
  cp_val b = mffi__cp_const_expr(cp);
  cp->noeval -= !!c.v;
  ex_common(&a, &b);
  cp->depth--;
  return c.v ? a : b;
}
