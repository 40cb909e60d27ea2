/* C values on the command line: parse and print by type. See LICENSE. */
#ifndef __STDC_WANT_IEC_60559_TYPES_EXT__ /* strtof128, strfromf128 */
#define __STDC_WANT_IEC_60559_TYPES_EXT__ 1
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modffi_value.h"

/* _Float16 and _Float128 values, where the compiler has the types (GCC on
** x86-64; clang 14 has neither keyword) and libc reads and prints them. */
#if defined(__FLT16_MANT_DIG__)
#define CV_FLOAT16 1
#endif
#if defined(__FLT128_MANT_DIG__) && defined(__GLIBC__)
#define CV_FLOAT128 1
#endif

#define CV_WORDMAX 128   /* Max. bytes of one literal. */
#define CV_PATHMAX 256   /* Max. bytes of a designator chain. */
#define CV_MAX_DEPTH 256 /* Max. nesting of braces and &INIT in one value. */

/* A position in the text being parsed. */
typedef struct cv_p {
  cv_state *st;
  const char *s;
  size_t i;
  unsigned depth; /* cv_value calls under way (CV_MAX_DEPTH). */
} cv_p;

/* A bit-field destination: width -1 for a plain object. */
typedef struct cv_bits {
  size_t bit_offset; /* From the start of base. */
  int width;
} cv_bits;

static const cv_bits cv_nobits = {0, -1};

static int cv_fail(cv_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int cv_fail(cv_state *st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->err, sizeof st->err, fmt, ap);
  va_end(ap);
  return -1;
}

void cv_init(cv_state *st, mffi_ctx *ctx) {
  memset(st, 0, sizeof *st);
  st->ctx = ctx;
}

void cv_free(cv_state *st) {
  for (size_t i = 0; i < st->ntmp; i++)
    free(st->tmp[i]);
  free(st->tmp);
  free(st->outs);
  memset(st, 0, sizeof *st);
}

/* A zeroed temporary that lives until cv_free. */
static void *cv_alloc(cv_state *st, size_t n) {
  if (st->ntmp == st->captmp) {
    size_t cap = st->captmp ? st->captmp * 2 : 16;
    void **t = realloc(st->tmp, cap * sizeof *t);
    if (!t) return NULL;
    st->tmp = t;
    st->captmp = cap;
  }
  void *p = calloc(1, n ? n : 1);
  if (p) st->tmp[st->ntmp++] = p;
  return p;
}

/* -- Types ----------------------------------------------------------------- */

static const mffi_type *cv_unq(const mffi_type *t) {
  return mffi_type_unqual(t);
}

static mffi_kind cv_kind(const mffi_type *t) {
  return mffi_type_kind(cv_unq(t));
}

/* The integer kind of t (an enum's underlying one), or -1. */
static int cv_int_kind(const mffi_type *t) {
  mffi_kind k = cv_kind(t);
  if (k == MFFI_KIND_ENUM) {
    const mffi_type *u = mffi_type_target(cv_unq(t));
    return u ? cv_int_kind(u) : MFFI_KIND_INT;
  }
  if (k >= MFFI_KIND_BOOL && k <= MFFI_KIND_UINT128) return (int)k;
  return -1;
}

static bool cv_is_charish(const mffi_type *t) {
  mffi_kind k = cv_kind(t);
  return k == MFFI_KIND_CHAR || k == MFFI_KIND_SCHAR || k == MFFI_KIND_UCHAR;
}

/* -- Integers in memory ---------------------------------------------------- */

static void cv_store_int(void *dst, size_t sz, unsigned __int128 v) {
  switch (sz) {
  case 1: *(uint8_t *)dst = (uint8_t)v; break;
  case 2: {
    uint16_t x = (uint16_t)v;
    memcpy(dst, &x, 2);
    break;
  }
  case 4: {
    uint32_t x = (uint32_t)v;
    memcpy(dst, &x, 4);
    break;
  }
  case 8: {
    uint64_t x = (uint64_t)v;
    memcpy(dst, &x, 8);
    break;
  }
  case 16: memcpy(dst, &v, 16); break;
  default: break;
  }
}

static uint64_t cv_load_int(const void *src, size_t sz, bool sgn) {
  switch (sz) {
  case 1:
    return sgn ? (uint64_t)(int64_t) * (const int8_t *)src
               : *(const uint8_t *)src;
  case 2: {
    uint16_t x;
    memcpy(&x, src, 2);
    return sgn ? (uint64_t)(int64_t)(int16_t)x : x;
  }
  case 4: {
    uint32_t x;
    memcpy(&x, src, 4);
    return sgn ? (uint64_t)(int64_t)(int32_t)x : x;
  }
  default: {
    uint64_t x;
    memcpy(&x, src, 8);
    return x;
  }
  }
}

static void cv_put_bits(unsigned char *base, cv_bits b, uint64_t v) {
  for (int i = 0; i < b.width && i < 64; i++) {
    size_t bit = b.bit_offset + (size_t)i;
    unsigned char m = (unsigned char)(1u << (bit % 8));
    if ((v >> i) & 1u)
      base[bit / 8] |= m;
    else
      base[bit / 8] &= (unsigned char)~m;
  }
}

static uint64_t cv_get_bits(const unsigned char *base, cv_bits b, bool sgn) {
  uint64_t v = 0;
  int w = b.width > 64 ? 64 : b.width;
  for (int i = 0; i < w; i++) {
    size_t bit = b.bit_offset + (size_t)i;
    v |= (uint64_t)((base[bit / 8] >> (bit % 8)) & 1u) << i;
  }
  if (sgn && w > 0 && w < 64 && ((v >> (w - 1)) & 1u)) v |= ~(uint64_t)0 << w;
  return v;
}

/* -- Lexing ---------------------------------------------------------------- */

static void cv_ws(cv_p *p) {
  while (isspace((unsigned char)p->s[p->i]))
    p->i++;
}

static bool cv_accept(cv_p *p, char c) {
  cv_ws(p);
  if (p->s[p->i] != c) return false;
  p->i++;
  return true;
}

/* A literal word: everything up to a separator. */
static int cv_word(cv_p *p, char *w) {
  cv_ws(p);
  size_t n = 0;
  while (p->s[p->i] && !strchr(",}]={[", p->s[p->i]) &&
         !isspace((unsigned char)p->s[p->i])) {
    if (n + 1 >= CV_WORDMAX) return cv_fail(p->st, "literal too long");
    w[n++] = p->s[p->i++];
  }
  w[n] = '\0';
  if (n == 0) {
    if (p->s[p->i])
      return cv_fail(p->st, "value expected near '%.20s'", p->s + p->i);
    return cv_fail(p->st, "value expected at end of input");
  }
  return 0;
}

static int cv_hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One character of a string or character literal (after the backslash
** handling), or -1 with the error set. */
static int cv_char(cv_p *p) {
  const char *s = p->s;
  int c = (unsigned char)s[p->i];
  if (c == '\0') return cv_fail(p->st, "unterminated literal");
  p->i++;
  if (c != '\\') return c;
  c = (unsigned char)s[p->i++];
  switch (c) {
  case 'n': return '\n';
  case 't': return '\t';
  case 'r': return '\r';
  case 'a': return '\a';
  case 'b': return '\b';
  case 'f': return '\f';
  case 'v': return '\v';
  case 'e': return 27;
  case '\\':
  case '\'':
  case '"':
  case '?': return c;
  case 'x': {
    int v = 0, n = 0, d;
    bool big = false;
    while ((d = cv_hexval(s[p->i])) >= 0) {
      v = v * 16 + d;
      big |= v > 0xff;
      v &= 0xfff;
      p->i++;
      n++;
    }
    if (!n) return cv_fail(p->st, "\\x used with no following hex digits");
    if (big) return cv_fail(p->st, "hex escape sequence out of range");
    return v;
  }
  default:
    if (c >= '0' && c <= '7') {
      int v = c - '0';
      for (int n = 1; n < 3 && s[p->i] >= '0' && s[p->i] <= '7'; n++)
        v = v * 8 + (s[p->i++] - '0');
      if (v > 0xff) return cv_fail(p->st, "octal escape sequence out of range");
      return v;
    }
    if (c == '\0') return cv_fail(p->st, "unterminated literal");
    return cv_fail(p->st, "unknown escape '\\%c'", c);
  }
}

/* A C string literal (adjacent ones concatenate): a new NUL-terminated
** temporary in *out, its length without the NUL in *len. */
static int cv_string(cv_p *p, char **out, size_t *len) {
  size_t cap = strlen(p->s + p->i) + 1, n = 0;
  char *buf = cv_alloc(p->st, cap);
  if (!buf) return cv_fail(p->st, "out of memory");
  cv_ws(p);
  while (p->s[p->i] == '"') {
    p->i++;
    while (p->s[p->i] != '"') {
      int c = cv_char(p);
      if (c < 0) return -1;
      buf[n++] = (char)c;
    }
    p->i++;
    cv_ws(p);
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* -- Scalars --------------------------------------------------------------- */

/* An enumerator or #define constant called w. */
static bool cv_constant(cv_state *st, const char *w, int64_t *v) {
  const mffi_decl *d = mffi_decl_find(st->ctx, w);
  if (!d || mffi_decl_kind_of(d) != MFFI_DECL_CONSTANT) return false;
  *v = mffi_decl_value(d);
  return true;
}

typedef unsigned __int128 cv_u128;

/* The digits of an integer literal w (after its sign), with C's suffixes:
** *v, or -1 (not an integer literal), or -2 (too large for 128 bits). */
static int cv_int_digits(const char *w, cv_u128 *v, const char **suffix) {
  unsigned base = 10;
  const char *q = w;
  if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
    base = 16;
    q += 2;
  } else if (q[0] == '0' && (q[1] == 'b' || q[1] == 'B')) {
    base = 2;
    q += 2;
  } else if (q[0] == '0') {
    base = 8;
  }
  if (!isdigit((unsigned char)w[0])) return -1;
  cv_u128 x = 0;
  bool big = false;
  const char *d = q;
  for (int h; (h = cv_hexval(*d)) >= 0 && (unsigned)h < base; d++) {
    if (x > (~(cv_u128)0 - (unsigned)h) / base) big = true;
    x = x * base + (unsigned)h;
  }
  if (d == q && base != 8) return -1;
  const char *suf = d;
  while (*d && strchr("uUlL", *d))
    d++;
  if (*d || d - suf > 3) return -1;
  *v = x;
  if (suffix) *suffix = suf;
  return big ? -2 : 0;
}

/* An integer constant expression over the context's declarations (sizeof,
** casts, enumerators and #define constants): the parser of the
** declarations evaluates it as an enumerator's value. 0 with *v, or -1
** with st->err set. */
static int cv_eval(cv_state *st, const char *text, int64_t *v) {
  char name[48];
  snprintf(name, sizeof name, "__modffi_value_%u", st->nexpr++);
  size_t n = strlen(text) + sizeof name + 32;
  char *src = malloc(n);
  if (!src) return cv_fail(st, "out of memory");
  int len = snprintf(src, n, "enum { %s = (%s\n) };", name, text);
  int rc = mffi_cdef(st->ctx, src, (size_t)len);
  free(src);
  const mffi_decl *d = rc == MFFI_OK ? mffi_decl_find(st->ctx, name) : NULL;
  if (!d) {
    /* The message without the position in the made-up declaration. */
    const char *m = mffi_errmsg(st->ctx), *c = strstr(m, ": ");
    return cv_fail(st, "'%s' is not an integer constant expression (%s)",
                   text, c ? c + 2 : m);
  }
  *v = mffi_decl_value(d);
  return 0;
}

bool cv_is_ident(const char *s) {
  if (!isalpha((unsigned char)*s) && *s != '_') return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}

/* True if text reads as an expression rather than one literal or name. */
static bool cv_is_expr(const char *text) {
  for (const char *q = text; *q; q++)
    if (strchr("|&^~+*/%<>()!?", *q) || (*q == '-' && q != text) ||
        (*q == ' ' && q[1] && q[1] != ' '))
      return true;
  return strncmp(text, "sizeof", 6) == 0;
}

/* Range of an integer of kind k, signedness sgn, size sz and width bits
** (-1: the size's) for v (neg: v is the magnitude of a negative value). */
static bool cv_int_fits(int k, bool sgn, size_t sz, int bits, cv_u128 v,
                        bool neg) {
  int width = bits >= 0 ? bits : (int)sz * 8;
  if (k == MFFI_KIND_BOOL && bits < 0) width = 1;
  if (sgn) {
    cv_u128 lim = (cv_u128)1 << (width - 1);
    return neg ? v <= lim : v < lim;
  }
  if (neg) return v == 0; /* -0 is 0. */
  return width >= 128 || v <= (((cv_u128)1 << width) - 1);
}

/* An integer of type t (bits: width, or -1) from the word at p: a
** literal, a character constant, a constant's name, true/false. */
static int cv_parse_int(cv_p *p, const mffi_type *t, int bits, cv_u128 *out) {
  int k = cv_int_kind(t);
  bool sgn = mffi_type_is_signed(t);
  size_t sz = mffi_sizeof(t);
  char w[CV_WORDMAX];
  cv_u128 mag = 0;
  bool neg = false;
  cv_ws(p);
  if (p->s[p->i] == '\'') {
    size_t at = p->i++;
    int c = cv_char(p);
    if (c < 0) return -1;
    if (p->s[p->i] != '\'') {
      const char *close = strchr(p->s + p->i, '\'');
      if (close)
        return cv_fail(p->st,
                       "multi-character constant %.*s (a string is \"...\")",
                       (int)(close - (p->s + at) + 1), p->s + at);
      return cv_fail(p->st, "unterminated character constant");
    }
    p->i++;
    /* Its value is an int; stored, it converts as C converts it. */
    int64_t v = (signed char)c;
    *out = (cv_u128)(__int128)v;
    if (!sgn || sz * 8 > 8 || bits >= 0) {
      int width = bits >= 0 ? bits : (int)sz * 8;
      if (width < 128) *out &= ((cv_u128)1 << width) - 1;
    }
    return 0;
  }
  if (cv_word(p, w) != 0) return -1;
  int64_t sv;
  if (cv_constant(p->st, w, &sv) ||
      ((strcmp(w, "true") == 0 || strcmp(w, "false") == 0) &&
       ((sv = w[0] == 't'), true))) {
    neg = sv < 0;
    mag = neg ? (cv_u128)0 - (cv_u128)(__int128)sv : (cv_u128)sv;
  } else {
    const char *q = w;
    if (*q == '+' || *q == '-') neg = *q++ == '-';
    int r = cv_int_digits(q, &mag, NULL);
    if (r == -1) {
      if (isdigit((unsigned char)*q) || q != w)
        return cv_fail(p->st, "'%s' is not a valid integer", w);
      return cv_fail(p->st, "'%s' is not an integer or a known constant", w);
    }
    if (r == -2) goto range;
  }
  if (!cv_int_fits(k, sgn, sz, bits, mag, neg)) goto range;
  *out = neg ? (cv_u128)0 - mag : mag;
  return 0;
range:
  return cv_fail(p->st, "'%s' does not fit the type", w);
}

static int cv_parse_float(cv_p *p, mffi_kind k, void *dst) {
  char w[CV_WORDMAX];
  if (cv_word(p, w) != 0) return -1;
  int64_t c;
  char *end;
  errno = 0;
  if (cv_constant(p->st, w, &c)) {
    if (k == MFFI_KIND_FLOAT)
      *(float *)dst = (float)c;
    else if (k == MFFI_KIND_DOUBLE)
      *(double *)dst = (double)c;
#ifdef CV_FLOAT16
    else if (k == MFFI_KIND_FLOAT16)
      *(_Float16 *)dst = (_Float16)c;
#endif
#ifdef CV_FLOAT128
    else if (k == MFFI_KIND_FLOAT128)
      *(_Float128 *)dst = (_Float128)c;
#endif
    else
      *(long double *)dst = (long double)c;
    return 0;
  }
  /* C's suffixes (1.5f, 2.0L): the value is read at the parameter's type
  ** anyway. Not the f of "inf", nor a hex digit of a float without 'p'. */
  size_t wl = strlen(w);
  bool hex = w[0] == '0' && (w[1] == 'x' || w[1] == 'X');
  if (wl > 1 && strchr("fFlL", w[wl - 1]) &&
      (isdigit((unsigned char)w[wl - 2]) || w[wl - 2] == '.') &&
      (!hex || strpbrk(w, "pP")))
    w[wl - 1] = '\0';
  bool inf_lit = false; /* An explicit infinity is not an overflow. */
  for (const char *q = w; *q && !inf_lit; q++)
    inf_lit = tolower((unsigned char)q[0]) == 'i' &&
              tolower((unsigned char)q[1]) == 'n' &&
              tolower((unsigned char)q[2]) == 'f';
  if (k == MFFI_KIND_FLOAT) {
    float v = strtof(w, &end);
    if (*end || end == w) goto bad;
    if (isinf(v) && !inf_lit) goto range;
    memcpy(dst, &v, sizeof v);
  } else if (k == MFFI_KIND_DOUBLE) {
    double v = strtod(w, &end);
    if (*end || end == w) goto bad;
    if (isinf(v) && !inf_lit) goto range;
    memcpy(dst, &v, sizeof v);
#ifdef CV_FLOAT128
  } else if (k == MFFI_KIND_FLOAT16 || k == MFFI_KIND_FLOAT128) {
    /* Read at 113 bits: rounding again to 11 loses nothing (113 > 2*11+2). */
    _Float128 v = strtof128(w, &end);
    if (*end || end == w) goto bad;
    if (k == MFFI_KIND_FLOAT128) {
      if (isinf((long double)v) && !inf_lit) goto range;
      memcpy(dst, &v, sizeof v);
    } else {
#ifdef CV_FLOAT16
      _Float16 h = (_Float16)v;
      if (isinf((float)h) && !inf_lit) goto range;
      memcpy(dst, &h, sizeof h);
#endif
    }
#endif
  } else {
    long double v = strtold(w, &end);
    if (*end || end == w) goto bad;
    if (isinf(v) && !inf_lit) goto range;
    memcpy(dst, &v, sizeof v);
  }
  return 0;
bad:
  return cv_fail(p->st, "'%s' is not a valid floating literal", w);
range:
  return cv_fail(p->st, "'%s' does not fit the type", w);
}

/* -- Values ---------------------------------------------------------------- */

static int cv_value(cv_p *p, const mffi_type *t, unsigned char *base,
                    size_t off, cv_bits bits, int arg);
static int cv_value_at(cv_p *p, const mffi_type *t, unsigned char *base,
                       size_t off, cv_bits bits, int arg);

/* Record n objects of type t at obj as argument arg's out-parameter. */
static int cv_add_out(cv_state *st, int arg, const mffi_type *t, size_t n,
                      void *obj) {
  if (st->nouts == st->capouts) {
    size_t cap = st->capouts ? st->capouts * 2 : 8;
    cv_out *o = realloc(st->outs, cap * sizeof *o);
    if (!o) return cv_fail(st, "out of memory");
    st->outs = o;
    st->capouts = cap;
  }
  st->outs[st->nouts++] = (cv_out){arg, t, n, obj};
  return 0;
}

/* The number of elements of the list at s (after its '{'): commas at its
** own level, outside string and character literals, plus one. */
static size_t cv_count_elems(const char *s) {
  size_t cnt = 1;
  int depth = 0;
  for (size_t j = 0; s[j]; j++) {
    char c = s[j];
    if (c == '"' || c == '\'') {
      for (j++; s[j] && s[j] != c; j++)
        if (s[j] == '\\' && s[j + 1]) j++;
      if (!s[j]) break;
    } else if (c == '{') {
      depth++;
    } else if (c == '}') {
      if (depth-- == 0) break;
    } else if (c == ',' && depth == 0) {
      size_t k = j + 1;
      while (isspace((unsigned char)s[k]))
        k++;
      if (s[k] != '}') cnt++; /* Not a trailing comma. */
    }
  }
  return cnt;
}

/* &INIT: a temporary of the pointee type (an array for &{...} when the
** pointee is a scalar). */
static int cv_address(cv_p *p, const mffi_type *to, void **out, int arg) {
  mffi_kind tk = cv_kind(to);
  size_t sz = mffi_sizeof(to);
  if (sz == 0 || tk == MFFI_KIND_VOID || tk == MFFI_KIND_FUNCTION)
    return cv_fail(p->st, "&INIT needs a pointer to a complete object type");
  if (sz > CV_MAX_OBJECT)
    return cv_fail(p->st, "&INIT object of %zu bytes is too large (limit %zu)",
                   sz, (size_t)CV_MAX_OBJECT);
  size_t n = 1;
  unsigned char *obj;
  bool agg =
      tk == MFFI_KIND_STRUCT || tk == MFFI_KIND_UNION || tk == MFFI_KIND_ARRAY;
  cv_ws(p);
  if (p->s[p->i] == '{' && !agg) {
    /* Count the elements first: a scalar list has no nested braces. */
    size_t save = ++p->i, cnt = 0;
    cv_ws(p);
    if (p->s[p->i] != '}') cnt = cv_count_elems(p->s + p->i);
    n = cnt ? cnt : 1;
    if (n > CV_MAX_OBJECT / sz)
      return cv_fail(p->st, "&{...} of %zu objects is too large", n);
    obj = cv_alloc(p->st, n * sz);
    if (!obj) return cv_fail(p->st, "out of memory");
    p->i = save;
    for (size_t e = 0; e < cnt; e++) {
      if (e && !cv_accept(p, ',')) return cv_fail(p->st, "',' expected");
      if (cv_accept(p, '}')) {
        n = e;
        goto done;
      }
      if (cv_value(p, to, obj, e * sz, cv_nobits, 0) != 0) return -1;
    }
    cv_accept(p, ',');
    if (!cv_accept(p, '}')) return cv_fail(p->st, "'}' expected");
  } else {
    obj = cv_alloc(p->st, sz);
    if (!obj) return cv_fail(p->st, "out of memory");
    if (cv_value(p, to, obj, 0, cv_nobits, 0) != 0) return -1;
  }
done:
  if (arg > 0 && cv_add_out(p->st, arg, to, n, obj) != 0) return -1;
  *out = obj;
  return 0;
}

/* The rest of the text at p as a type name (&char[256]), consumed; NULL
** (nothing consumed) if it is none. */
static const mffi_type *cv_type_name(cv_p *p) {
  cv_ws(p);
  const char *r = p->s + p->i;
  int64_t v;
  if (!isalpha((unsigned char)*r) && *r != '_') return NULL;
  if (cv_is_ident(r) && cv_constant(p->st, r, &v)) return NULL;
  const mffi_type *t;
  if (mffi_typeof(p->st->ctx, r, &t) != MFFI_OK) return NULL;
  p->i += strlen(r);
  return t;
}

/* &TYPE: a zeroed temporary of type ot for a pointer to `to` (the same
** type, an array of it, or anything for void *), printed after the call. */
static int cv_zeroed(cv_p *p, const mffi_type *to, const mffi_type *ot,
                     void **out, int arg) {
  const mffi_type *el = ot;
  if (cv_kind(ot) == MFFI_KIND_ARRAY) el = mffi_type_target(cv_unq(ot));
  size_t sz = mffi_sizeof(ot);
  char tn[128], on[128];
  mffi_type_str(ot, NULL, on, sizeof on);
  if (sz == 0) return cv_fail(p->st, "&%s: not a complete object type", on);
  if (sz > CV_MAX_OBJECT)
    return cv_fail(p->st, "&%s: %zu bytes is too large (limit %zu)", on, sz,
                   (size_t)CV_MAX_OBJECT);
  if (to && cv_kind(to) != MFFI_KIND_VOID && cv_unq(el) != cv_unq(to) &&
      cv_unq(ot) != cv_unq(to)) {
    mffi_type_str(to, NULL, tn, sizeof tn);
    return cv_fail(p->st, "&%s does not point to %s", on, tn);
  }
  void *obj = cv_alloc(p->st, sz);
  if (!obj) return cv_fail(p->st, "out of memory");
  if (arg > 0 && cv_add_out(p->st, arg, ot, 1, obj) != 0) return -1;
  *out = obj;
  return 0;
}

static int cv_pointer(cv_p *p, const mffi_type *t, void *dst, int arg) {
  const mffi_type *to = mffi_type_target(cv_unq(t));
  void *v = NULL;
  cv_ws(p);
  if (p->s[p->i] == '&') {
    p->i++;
    const mffi_type *ot = cv_type_name(p);
    if (ot) {
      if (cv_zeroed(p, to, ot, &v, arg) != 0) return -1;
    } else if (cv_address(p, to, &v, arg) != 0) {
      return -1;
    }
  } else if (p->s[p->i] == '"') {
    if (!to || !cv_is_charish(to))
      return cv_fail(p->st, "a string needs a char pointer");
    char *str;
    size_t len;
    if (cv_string(p, &str, &len) != 0) return -1;
    v = str;
  } else {
    char w[CV_WORDMAX];
    if (cv_word(p, w) != 0) return -1;
    if (strcmp(w, "NULL") != 0 && strcmp(w, "nullptr") != 0) {
      char *end;
      errno = 0;
      unsigned long long a = strtoull(w, &end, 0);
      if (*end || w[0] == '-' || errno == ERANGE || a > UINTPTR_MAX)
        return cv_fail(p->st,
                       "'%s' is not a pointer (NULL, an address or &INIT)", w);
      v = (void *)(uintptr_t)a;
    }
  }
  memcpy(dst, &v, sizeof v);
  return 0;
}

/* Member i of aggregate t, skipping nothing. */
static bool cv_member(const mffi_type *t, size_t i, mffi_field *f) {
  return mffi_type_field(cv_unq(t), i, f) == MFFI_OK;
}

/* The index of the direct member called name, or (size_t)-1. */
static size_t cv_member_index(const mffi_type *t, const char *name) {
  size_t n = mffi_type_nfields(cv_unq(t));
  mffi_field f;
  for (size_t i = 0; i < n; i++)
    if (cv_member(t, i, &f) && f.name && strcmp(f.name, name) == 0) return i;
  return (size_t)-1;
}

/* Read a designator chain (".a.b[2]") up to '='. */
static int cv_designator(cv_p *p, char *path) {
  size_t n = 0;
  cv_ws(p);
  while (p->s[p->i] && p->s[p->i] != '=') {
    char c = p->s[p->i++];
    if (isspace((unsigned char)c)) continue;
    if (n == 0 && c == '.') continue; /* mffi_fieldof paths start bare. */
    if (n + 1 >= CV_PATHMAX) return cv_fail(p->st, "designator too long");
    path[n++] = c;
  }
  path[n] = '\0';
  if (!cv_accept(p, '='))
    return cv_fail(p->st, "'=' expected after '%s'", path);
  return 0;
}

/* Check every index of a designator chain that mffi_fieldof accepted
** against its array, as C does: mffi_fieldof allows offsetof-style indexes
** past the end, an initializer does not. */
static int cv_check_path(cv_state *st, const mffi_type *t, const char *path) {
  char prefix[CV_PATHMAX];
  for (size_t i = 0; path[i]; i++) {
    if (path[i] != '[') continue;
    memcpy(prefix, path, i);
    prefix[i] = '\0';
    mffi_field f;
    if (mffi_fieldof(cv_unq(t), prefix, &f) != MFFI_OK)
      return cv_fail(st, "no member '%s'", prefix);
    long len = mffi_type_length(cv_unq(f.type));
    char *end;
    errno = 0;
    unsigned long long ix = strtoull(path + i + 1, &end, 0);
    if (len < 0)
      return cv_fail(st, "cannot initialize the flexible array member '%s'",
                     prefix);
    if (errno == ERANGE || ix >= (unsigned long long)len)
      return cv_fail(st, "array index %.*s in initializer exceeds array bounds",
                     (int)(end - (path + i + 1)), path + i + 1);
  }
  return 0;
}

static int cv_record(cv_p *p, const mffi_type *t, unsigned char *obj) {
  bool is_union = cv_kind(t) == MFFI_KIND_UNION;
  size_t nf = mffi_type_nfields(cv_unq(t)), next = 0;
  if (cv_accept(p, '}')) return 0;
  for (;;) {
    cv_ws(p);
    mffi_field f;
    if (p->s[p->i] == '.') {
      char path[CV_PATHMAX];
      if (cv_designator(p, path) != 0) return -1;
      if (mffi_fieldof(cv_unq(t), path, &f) != MFFI_OK)
        return cv_fail(p->st, "no member '%s'", path);
      if (cv_check_path(p->st, t, path) != 0) return -1;
      size_t idx = strpbrk(path, ".[") ? (size_t)-1 : cv_member_index(t, path);
      if (idx != (size_t)-1) next = idx + 1;
    } else {
      /* Positional: the next named member (unnamed bit-fields are not). */
      while (next < nf && cv_member(t, next, &f) && !f.name && f.bit_width >= 0)
        next++;
      if (next >= nf || (is_union && next > 0))
        return cv_fail(p->st, "too many initializers");
      cv_member(t, next++, &f);
    }
    cv_bits b = {f.bit_offset, f.bit_width};
    if (cv_value(p, f.type, obj, f.offset, b, 0) != 0) return -1;
    if (cv_accept(p, '}')) return 0;
    if (!cv_accept(p, ',')) return cv_fail(p->st, "',' or '}' expected");
    if (cv_accept(p, '}')) return 0;
  }
}

static int cv_array(cv_p *p, const mffi_type *t, unsigned char *obj) {
  const mffi_type *el = mffi_type_target(cv_unq(t));
  long len = mffi_type_length(cv_unq(t));
  size_t esz = mffi_sizeof(el), next = 0;
  /* An array of unknown length (a flexible array member) has no storage in
  ** the object: C only lets a static object's initializer give it some. */
  if (len < 0)
    return cv_fail(p->st, "cannot initialize a flexible array member");
  if (cv_accept(p, '}')) return 0;
  for (;;) {
    cv_ws(p);
    if (p->s[p->i] == '[') {
      p->i++;
      char w[CV_WORDMAX];
      if (cv_word(p, w) != 0) return -1;
      char *end;
      errno = 0;
      unsigned long long ix = strtoull(w, &end, 0);
      if (*end || w[0] == '-' || !isdigit((unsigned char)w[0]))
        return cv_fail(p->st, "bad array index '%s'", w);
      if (errno == ERANGE || ix >= (unsigned long long)len)
        return cv_fail(p->st,
                       "array index %s in initializer exceeds array bounds", w);
      if (!cv_accept(p, ']') || !cv_accept(p, '='))
        return cv_fail(p->st, "'] =' expected");
      next = (size_t)ix;
    }
    if (next >= (size_t)len)
      return cv_fail(p->st, "too many initializers for an array of %ld", len);
    if (cv_value(p, el, obj, next * esz, cv_nobits, 0) != 0) return -1;
    next++;
    if (cv_accept(p, '}')) return 0;
    if (!cv_accept(p, ',')) return cv_fail(p->st, "',' or '}' expected");
    if (cv_accept(p, '}')) return 0;
  }
}

/* A value of type t into base + off (or into the bit-field bits). */
static int cv_value(cv_p *p, const mffi_type *t, unsigned char *base,
                    size_t off, cv_bits bits, int arg) {
  if (p->depth >= CV_MAX_DEPTH)
    return cv_fail(p->st, "initializer nested too deeply (limit %d)",
                   CV_MAX_DEPTH);
  p->depth++;
  int rc = cv_value_at(p, t, base, off, bits, arg);
  p->depth--;
  return rc;
}

/* cv_value without the depth count. */
static int cv_value_at(cv_p *p, const mffi_type *t, unsigned char *base,
                       size_t off, cv_bits bits, int arg) {
  mffi_kind k = cv_kind(t);
  unsigned char *dst = base + off;
  cv_ws(p);
  switch (k) {
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
    if (!cv_accept(p, '{'))
      return cv_fail(p->st, "'{' expected for a %s",
                     k == MFFI_KIND_STRUCT ? "struct" : "union");
    return cv_record(p, t, dst);
  case MFFI_KIND_ARRAY: {
    const mffi_type *el = mffi_type_target(cv_unq(t));
    if (p->s[p->i] == '"' && cv_is_charish(el)) {
      char *str;
      size_t len;
      if (cv_string(p, &str, &len) != 0) return -1;
      long n = mffi_type_length(cv_unq(t));
      if (n < 0)
        return cv_fail(p->st, "cannot initialize a flexible array member");
      if (len > (size_t)n)
        return cv_fail(p->st, "string too long for char[%ld]", n);
      memcpy(dst, str, len == (size_t)n ? len : len + 1);
      return 0;
    }
    if (!cv_accept(p, '{')) return cv_fail(p->st, "'{' expected for an array");
    return cv_array(p, t, dst);
  }
  case MFFI_KIND_POINTER: return cv_pointer(p, t, dst, arg);
  case MFFI_KIND_FLOAT:
  case MFFI_KIND_DOUBLE:
  case MFFI_KIND_LDOUBLE:
#if defined(CV_FLOAT16) && defined(CV_FLOAT128)
  case MFFI_KIND_FLOAT16:
#endif
#ifdef CV_FLOAT128
  case MFFI_KIND_FLOAT128:
#endif
    return cv_parse_float(p, k, dst);
  case MFFI_KIND_COMPLEX: { /* {re, im}, as it prints. */
    const mffi_type *c = mffi_type_target(cv_unq(t));
    if (!cv_accept(p, '{'))
      return cv_fail(p->st, "'{' expected for a complex value: {re, im}");
    if (cv_value(p, c, dst, 0, cv_nobits, 0) != 0) return -1;
    if (!cv_accept(p, ','))
      return cv_fail(p->st, "',' expected in a complex value: {re, im}");
    if (cv_value(p, c, dst, mffi_sizeof(c), cv_nobits, 0) != 0) return -1;
    cv_accept(p, ',');
    if (!cv_accept(p, '}'))
      return cv_fail(p->st, "'}' expected after a complex value: {re, im}");
    return 0;
  }
  default: {
    int ik = cv_int_kind(t);
    if (ik < 0) {
      char name[128];
      mffi_type_str(t, NULL, name, sizeof name);
      return cv_fail(p->st, "cannot give a value of type '%s'", name);
    }
    size_t sz = mffi_sizeof(t);
    unsigned __int128 v = 0;
    if (cv_parse_int(p, t, bits.width, &v) != 0) return -1;
    if (bits.width >= 0)
      cv_put_bits(base, bits, (uint64_t)v);
    else
      cv_store_int(dst, sz, v);
    return 0;
  }
  }
}

/* Bytes for a const void * from text: C's escapes apply (\n, \x41, \0);
** a NUL follows. */
static int cv_bytes(cv_state *st, const char *text, void *dst) {
  size_t n = strlen(text);
  char *buf = cv_alloc(st, n + 1);
  if (!buf) return cv_fail(st, "out of memory");
  cv_p p = {st, text, 0, 0};
  size_t k = 0;
  while (text[p.i]) {
    int c = cv_char(&p);
    if (c < 0) return -1;
    buf[k++] = (char)c;
  }
  buf[k] = '\0';
  memcpy(dst, &buf, sizeof buf);
  return 0;
}

/* The whole-argument forms: the name of an extern variable (its value),
** an integer constant expression for an integer, text as bytes for a
** const void *. 0 done, -1 failed, 1 not one of these. */
static int cv_parse_special(cv_state *st, const mffi_type *t,
                            const char *text, void *dst) {
  mffi_kind k = cv_kind(t);
  const mffi_decl *d = cv_is_ident(text) ? mffi_decl_find(st->ctx, text) : 0;
  if (d && mffi_decl_kind_of(d) == MFFI_DECL_VARIABLE) {
    const mffi_type *vt = mffi_decl_type(d);
    if (cv_unq(vt) != cv_unq(t) &&
        !(k == MFFI_KIND_POINTER && cv_kind(vt) == MFFI_KIND_POINTER)) {
      char a[128], b[128];
      mffi_type_str(vt, NULL, a, sizeof a);
      mffi_type_str(t, NULL, b, sizeof b);
      return cv_fail(st, "variable '%s' is a %s, not a %s", text, a, b);
    }
    if (!st->read_var)
      return cv_fail(st, "variable '%s' cannot be read here", text);
    return st->read_var(st->ud, d, dst, mffi_sizeof(t), st->err);
  }
  int ik = cv_int_kind(t);
  if (ik >= 0 && cv_is_expr(text) && text[0] != '\'') {
    int64_t v;
    if (cv_eval(st, text, &v) != 0) return -1;
    bool neg = v < 0;
    cv_u128 mag = neg ? (cv_u128)0 - (cv_u128)(__int128)v : (cv_u128)v;
    if (!cv_int_fits(ik, mffi_type_is_signed(t), mffi_sizeof(t), -1, mag,
                     neg))
      return cv_fail(st, "'%s' (%lld) does not fit the type", text,
                     (long long)v);
    cv_store_int(dst, mffi_sizeof(t), neg ? (cv_u128)0 - mag : mag);
    return 0;
  }
  if (k == MFFI_KIND_POINTER) {
    const mffi_type *to = mffi_type_target(cv_unq(t));
    char *end;
    errno = 0;
    (void)strtoull(text, &end, 0);
    bool number = *text && !*end && errno == 0;
    if (to && cv_kind(to) == MFFI_KIND_VOID &&
        (mffi_type_quals(to) & MFFI_QUAL_CONST) && !number &&
        text[0] != '"' && text[0] != '&' && strcmp(text, "NULL") != 0)
      return cv_bytes(st, text, dst);
  }
  return 1;
}

int cv_parse(cv_state *st, const mffi_type *t, const char *text, void *dst,
             int arg) {
  cv_p p = {st, text, 0, 0};
  st->err[0] = '\0';
  /* A char pointer argument takes the text itself, unless it is a C string
  ** literal, NULL or &INIT. */
  if (cv_kind(t) == MFFI_KIND_POINTER) {
    const mffi_type *to = mffi_type_target(cv_unq(t));
    const char *q = text;
    while (isspace((unsigned char)*q))
      q++;
    if (to && cv_is_charish(to) && *q != '"' && *q != '&' &&
        strcmp(text, "NULL") != 0) {
      char *copy = cv_alloc(st, strlen(text) + 1);
      if (!copy) return cv_fail(st, "out of memory");
      strcpy(copy, text);
      memcpy(dst, &copy, sizeof copy);
      return 0;
    }
  }
  int r = cv_parse_special(st, t, text, dst);
  if (r <= 0) return r;
  if (cv_value(&p, t, dst, 0, cv_nobits, arg) != 0) return -1;
  cv_ws(&p);
  if (text[p.i])
    return cv_fail(st, "unexpected '%.20s' after the value", text + p.i);
  return 0;
}

/* The index just past the ')' that closes the '(' at text[0], or 0. */
static size_t cv_paren_end(const char *text) {
  int depth = 0;
  for (size_t j = 0; text[j]; j++) {
    char c = text[j];
    if (c == '"' || c == '\'') {
      for (j++; text[j] && text[j] != c; j++)
        if (text[j] == '\\' && text[j + 1]) j++;
      if (!text[j]) return 0;
    } else if (c == '(') {
      depth++;
    } else if (c == ')' && --depth == 0) {
      return j + 1;
    }
  }
  return 0;
}

/* The C type of integer literal w (LP64): by its suffix and whether its
** value fits, decimal literals staying signed. NULL if w is not one. */
static const char *cv_int_literal_type(cv_state *st, const char *w) {
  const char *q = w[0] == '-' || w[0] == '+' ? w + 1 : w;
  cv_u128 v;
  const char *suf;
  int r = cv_int_digits(q, &v, &suf);
  if (r == -1) return NULL;
  bool dec = q[0] != '0' || !q[1], u = false;
  int l = 0;
  for (const char *c = suf; *c; c++) {
    if (*c == 'u' || *c == 'U')
      u = true;
    else
      l++;
  }
  if (r == -2 || v > UINT64_MAX) {
    cv_fail(st, "integer literal '%s' is too large; give a cast such as "
                "(unsigned __int128)%s",
            w, q);
    return "";
  }
  if (!u && l == 0 && v <= INT_MAX) return "int";
  if (u && l == 0 && v <= UINT_MAX) return "unsigned int";
  if (!u && l == 0 && !dec && v <= UINT_MAX) return "unsigned int";
  if (!u && v <= LONG_MAX) return l == 2 ? "long long" : "long";
  if (u || !dec) return l == 2 ? "unsigned long long" : "unsigned long";
  cv_fail(st, "integer literal '%s' is too large for long; write %sul or "
              "give a cast",
          w, q);
  return "";
}

/* The C type of floating literal w (digits with a '.' or an exponent),
** by its suffix; NULL if w is not one. */
static const char *cv_float_literal_type(const char *w) {
  const char *q = w[0] == '-' || w[0] == '+' ? w + 1 : w;
  if (!isdigit((unsigned char)q[0]) && !(q[0] == '.' && isdigit((unsigned char)q[1])))
    return NULL;
  bool hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
  if (!(hex ? strpbrk(q, "pP") : strpbrk(q, ".eE"))) return NULL;
  char *end;
  (void)strtold(q, &end);
  if (end == q) return NULL;
  if (!*end) return "double";
  if ((*end == 'f' || *end == 'F') && !end[1]) return "float";
  if ((*end == 'l' || *end == 'L') && !end[1]) return "long double";
  return NULL;
}

const mffi_type *cv_guess(cv_state *st, const char *text, const char **rest) {
  const char *name = NULL;
  const mffi_type *t = NULL;
  *rest = text;
  st->err[0] = '\0';
  /* A cast: (T)VALUE. */
  size_t pe = text[0] == '(' ? cv_paren_end(text) : 0;
  if (pe > 2 && text[pe]) {
    char tn[CV_WORDMAX * 2];
    if (pe - 2 < sizeof tn) {
      memcpy(tn, text + 1, pe - 2);
      tn[pe - 2] = '\0';
      if (mffi_typeof(st->ctx, tn, &t) == MFFI_OK) {
        mffi_kind k = cv_kind(t);
        if (k == MFFI_KIND_VOID || k == MFFI_KIND_ARRAY ||
            k == MFFI_KIND_FUNCTION) {
          cv_fail(st, "cannot pass a value of type '%s'", tn);
          return NULL;
        }
        *rest = text + pe;
        while (isspace((unsigned char)**rest))
          (*rest)++;
        return t;
      }
    }
  }
  const mffi_decl *d = cv_is_ident(text) ? mffi_decl_find(st->ctx, text) : 0;
  int64_t cv;
  if (text[0] == '&') {
    cv_fail(st, "&INIT needs a pointer parameter or a cast, e.g. "
                "'(int *)&5'");
    return NULL;
  } else if (text[0] == '"') {
    name = "char *";
  } else if (strcmp(text, "NULL") == 0) {
    name = "void *";
  } else if (text[0] == '\'') {
    name = "int"; /* A character constant is an int. */
  } else if (d && mffi_decl_kind_of(d) == MFFI_DECL_VARIABLE) {
    return mffi_decl_type(d);
  } else if ((name = cv_int_literal_type(st, text)) != NULL) {
    if (!*name) return NULL;
  } else if ((name = cv_float_literal_type(text)) != NULL) {
  } else if (cv_is_ident(text) && cv_constant(st, text, &cv)) {
    name = cv >= INT_MIN && cv <= INT_MAX ? "int" : "long";
  } else if (cv_is_expr(text) && cv_eval(st, text, &cv) == 0) {
    name = cv >= INT_MIN && cv <= INT_MAX ? "int" : "long";
  } else if (isdigit((unsigned char)text[0]) ||
             ((text[0] == '-' || text[0] == '.') &&
              isdigit((unsigned char)text[1]))) {
    cv_fail(st, "'%s' is not a valid number (a string is \"%s\")", text,
            text);
    return NULL;
  } else {
    name = "char *"; /* Text, as for a char * parameter. */
  }
  if (mffi_typeof(st->ctx, name, &t) != MFFI_OK) {
    cv_fail(st, "%s", mffi_errmsg(st->ctx));
    return NULL;
  }
  return t;
}

/* -- Printing -------------------------------------------------------------- */

static void cv_print_at(FILE *f, const mffi_type *t, const unsigned char *base,
                        size_t off, cv_bits bits);

/* n bytes at s as a C string literal: printable ASCII as it is, the
** usual escapes, other bytes in octal (three digits, so a digit that
** follows cannot join them). */
static void cv_print_string(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    case '\r': fputs("\\r", f); break;
    default:
      if (c >= 0x20 && c < 0x7f)
        fputc(c, f);
      else
        fprintf(f, "\\%03o", c);
    }
  }
  fputc('"', f);
}

/* The members of a struct/union at base, flattening anonymous members;
** *first tracks the separator. */
static void cv_print_members(FILE *f, const mffi_type *t,
                             const unsigned char *base, bool *first,
                             bool only_first) {
  size_t nf = mffi_type_nfields(cv_unq(t));
  for (size_t i = 0; i < nf; i++) {
    mffi_field m;
    if (!cv_member(t, i, &m)) continue;
    if (!m.name && m.bit_width >= 0) continue; /* Unnamed bit-field. */
    if (cv_kind(m.type) == MFFI_KIND_ARRAY && mffi_type_length(m.type) < 0)
      continue; /* Flexible array member. */
    if (!m.name) {
      cv_print_members(f, m.type, base + m.offset, first,
                       cv_kind(m.type) == MFFI_KIND_UNION);
    } else {
      fputs(*first ? "" : ", ", f);
      *first = false;
      fprintf(f, ".%s = ", m.name);
      cv_bits b = {m.bit_offset, m.bit_width};
      cv_print_at(f, m.type, base, m.offset, b);
    }
    if (only_first) return;
  }
}

static void cv_print_at(FILE *f, const mffi_type *t, const unsigned char *base,
                        size_t off, cv_bits bits) {
  const unsigned char *src = base + off;
  mffi_kind k = cv_kind(t);
  switch (k) {
  case MFFI_KIND_VOID: return;
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION: {
    bool first = true;
    fputc('{', f);
    cv_print_members(f, t, src, &first, k == MFFI_KIND_UNION);
    fputc('}', f);
    return;
  }
  case MFFI_KIND_ARRAY: {
    const mffi_type *el = mffi_type_target(cv_unq(t));
    long n = mffi_type_length(cv_unq(t));
    size_t esz = mffi_sizeof(el);
    if (cv_is_charish(el) && n > 0) {
      /* Text up to its NUL, if only NULs follow; else every byte. */
      size_t len = strnlen((const char *)src, (size_t)n), z = len;
      while (z < (size_t)n && src[z] == 0)
        z++;
      cv_print_string(f, (const char *)src, z == (size_t)n ? len : (size_t)n);
      return;
    }
    fputc('{', f);
    for (long i = 0; i < n; i++) {
      if (i) fputs(", ", f);
      cv_print_at(f, el, src, (size_t)i * esz, cv_nobits);
    }
    fputc('}', f);
    return;
  }
  case MFFI_KIND_POINTER:
  case MFFI_KIND_FUNCTION: {
    void *v;
    memcpy(&v, src, sizeof v);
    fprintf(f, "0x%llx", (unsigned long long)(uintptr_t)v);
    return;
  }
  case MFFI_KIND_FLOAT: {
    float v;
    memcpy(&v, src, sizeof v);
    fprintf(f, "%.9g", (double)v);
    return;
  }
  case MFFI_KIND_DOUBLE: {
    double v;
    memcpy(&v, src, sizeof v);
    fprintf(f, "%.17g", v);
    return;
  }
  case MFFI_KIND_LDOUBLE: {
    long double v;
    memcpy(&v, src, sizeof v);
    fprintf(f, "%.21Lg", v);
    return;
  }
#ifdef CV_FLOAT16
  case MFFI_KIND_FLOAT16: {
    _Float16 v;
    memcpy(&v, src, sizeof v);
    fprintf(f, "%.5g", (double)v); /* 5 digits tell every _Float16 apart. */
    return;
  }
#endif
#ifdef CV_FLOAT128
  case MFFI_KIND_FLOAT128: {
    _Float128 v;
    char b[64];
    memcpy(&v, src, sizeof v);
    strfromf128(b, sizeof b, "%.36g", v);
    fputs(b, f);
    return;
  }
#endif
  case MFFI_KIND_COMPLEX: {
    const mffi_type *c = mffi_type_target(cv_unq(t));
    fputc('{', f);
    cv_print_at(f, c, src, 0, cv_nobits);
    fputs(", ", f);
    cv_print_at(f, c, src, mffi_sizeof(c), cv_nobits);
    fputc('}', f);
    return;
  }
  default: break;
  }
  int ik = cv_int_kind(t);
  if (ik < 0) {
    fputs("?", f);
    return;
  }
  bool sgn = mffi_type_is_signed(t);
  size_t sz = mffi_sizeof(t);
  if (bits.width < 0 && sz == 16) {
    /* 128-bit integers in decimal. */
    unsigned __int128 v;
    memcpy(&v, src, 16);
    bool neg = sgn && (__int128)v < 0;
    if (neg) v = -v;
    char b[48];
    int i = 47;
    b[i] = '\0';
    do {
      b[--i] = (char)('0' + (int)(v % 10));
      v /= 10;
    } while (v);
    fprintf(f, "%s%s", neg ? "-" : "", b + i);
    return;
  }
  uint64_t v = bits.width >= 0 ? cv_get_bits(base, bits, sgn)
                               : cv_load_int(src, sz, sgn);
  if (ik == MFFI_KIND_BOOL) v &= 1;
  if (sgn)
    fprintf(f, "%" PRId64, (int64_t)v);
  else
    fprintf(f, "%" PRIu64, v);
}

void cv_print(FILE *f, const mffi_type *t, const void *src) {
  cv_print_at(f, t, src, 0, cv_nobits);
}

void cv_print_outs(FILE *f, const cv_state *st) {
  for (size_t i = 0; i < st->nouts; i++) {
    const cv_out *o = &st->outs[i];
    fprintf(f, "arg%d = ", o->arg);
    if (o->n == 1) {
      cv_print(f, o->type, o->obj);
    } else {
      size_t sz = mffi_sizeof(o->type);
      fputc('{', f);
      for (size_t e = 0; e < o->n; e++) {
        if (e) fputs(", ", f);
        cv_print(f, o->type, (const unsigned char *)o->obj + e * sz);
      }
      fputc('}', f);
    }
    fputc('\n', f);
  }
}

/* The longest string result printed; longer ones end in "...". */
#define CV_STRING_MAX 65536

void cv_print_result(FILE *f, const mffi_type *t, const void *src,
                     bool address) {
  mffi_kind k = cv_kind(t);
  if (k == MFFI_KIND_POINTER) {
    const mffi_type *to = mffi_type_target(cv_unq(t));
    const char *p;
    memcpy(&p, src, sizeof p);
    if (to && cv_is_charish(to)) {
      if (!p) {
        fputs("NULL", f);
        return;
      }
      if (address) fprintf(f, "(char *)0x%llx ", (unsigned long long)(uintptr_t)p);
      size_t n = strnlen(p, CV_STRING_MAX);
      cv_print_string(f, p, n);
      if (n == CV_STRING_MAX) fputs("...", f);
      return;
    }
  }
  if (k == MFFI_KIND_ENUM) {
    const mffi_type *e = cv_unq(t);
    int64_t v = (int64_t)cv_load_int(src, mffi_sizeof(t),
                                     mffi_type_is_signed(t));
    for (size_t i = 0; i < mffi_type_nenumerators(e); i++) {
      const char *name;
      int64_t ev;
      if (mffi_type_enumerator(e, i, &name, &ev) == MFFI_OK && ev == v) {
        fputs(name, f);
        return;
      }
    }
  }
  cv_print(f, t, src);
}
