/* C declaration lexer: tokens, #define lines, errors, arena. See LICENSE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdef.h"

/* -- Arena ----------------------------------------------------------------- */

struct cp_chunk {
  cp_chunk *next;
  size_t used, cap;
  max_align_t data[]; /* cap bytes. */
};

#define CP_CHUNK_MIN 8192 /* Bytes of a regular arena chunk. */

/* Released chunks are used again, except under AddressSanitizer, which
** then sees a read of released arena memory as a use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define LX_REUSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LX_REUSE 0
#endif
#endif
#ifndef LX_REUSE
#define LX_REUSE 1
#endif

static void *lx_alloc(cp_state *cp, cp_chunk **list, size_t n) {
  if (n > SIZE_MAX / 2) mffi__cp_rethrow(cp, NULL, MFFI_ENOMEM);
  n = (n + 15) & ~(size_t)15;
  cp_chunk *c = *list;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > CP_CHUNK_MIN ? n : CP_CHUNK_MIN;
    if (cp->spare && cap == CP_CHUNK_MIN) { /* Released earlier. */
      c = cp->spare;
      cp->spare = c->next;
    } else {
      c = mffi__malloc(cp->ctx, sizeof *c + cap);
      if (!c) mffi__cp_rethrow(cp, NULL, MFFI_ENOMEM);
    }
    c->next = *list;
    c->used = 0;
    c->cap = cap;
    *list = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

void *mffi__cp_alloc(cp_state *cp, size_t n) {
  return lx_alloc(cp, &cp->arena, n);
}

void *mffi__cp_keep_alloc(cp_state *cp, size_t n) {
  return lx_alloc(cp, &cp->keep, n);
}

cp_amark mffi__cp_arena_mark(const cp_state *cp) {
  cp_amark m = {cp->arena, cp->arena ? cp->arena->used : 0};
  return m;
}

/* Chunks of the regular size go to cp->spare for the next declaration: an
** arena released per declaration would otherwise malloc and free its
** chunk for each one. */
void mffi__cp_arena_release(cp_state *cp, cp_amark m) {
  while (cp->arena && cp->arena != m.chunk) {
    cp_chunk *c = cp->arena;
    cp->arena = c->next;
    if (LX_REUSE && c->cap == CP_CHUNK_MIN) {
      c->next = cp->spare;
      cp->spare = c;
    } else {
      mffi__free(cp->ctx, c);
    }
  }
  if (cp->arena) cp->arena->used = m.used;
}

void mffi__cp_arena_free(cp_state *cp) {
  cp_amark none = {NULL, 0};
  mffi__cp_arena_release(cp, none);
  while (cp->keep) {
    cp_chunk *next = cp->keep->next;
    mffi__free(cp->ctx, cp->keep);
    cp->keep = next;
  }
  while (cp->spare) {
    cp_chunk *next = cp->spare->next;
    mffi__free(cp->ctx, cp->spare);
    cp->spare = next;
  }
}

const char *mffi__cp_pool(cp_state *cp, const char *s, size_t len) {
  return mffi__cp_pool_h(cp, s, len, mffi__tt_strhash(s, len));
}

const char *mffi__cp_pool_h(cp_state *cp, const char *s, size_t len,
                            uint32_t h) {
  const char *p = mffi__tt_str_h(cp->ctx, s, len, h);
  if (!p) mffi__cp_rethrow(cp, NULL, MFFI_ENOMEM);
  return p;
}

/* Out of the scanner's fast path (numbers, strings, directives are rare in
** headers): keeps lx_scan small, with fewer registers to save per token. */
#define LX_COLD __attribute__((noinline))

/* -- Errors ---------------------------------------------------------------- */

/* "near 'tok'" or "at end of input" for token t. */
static void lx_where(const cp_token *t, char *buf, size_t n) {
  if (t->tok == TK_EOF) {
    snprintf(buf, n, " at end of input");
  } else if (t->tok == TK_EOL) {
    snprintf(buf, n, " at end of line");
  } else {
    int len = t->len > 40 ? 40 : (int)t->len;
    snprintf(buf, n, " near '%.*s%s'", len, t->p, t->len > 40 ? "..." : "");
  }
}

static _Noreturn void lx_throw(cp_state *cp, const cp_token *t, int rc,
                               const char *msg) {
  char where[64];
  lx_where(t, where, sizeof where);
  char tmp[MFFI_ERRMSG_MAX];
  snprintf(tmp, sizeof tmp, "%s", msg);
  if (t->file)
    mffi__err_at(cp->ctx, rc, (long)mffi__cp_offset(cp, t->p),
                 "%.160s:%u:%u: %.240s%s", t->file, t->line, t->col, tmp,
                 where);
  else
    mffi__err_at(cp->ctx, rc, (long)mffi__cp_offset(cp, t->p),
                 "%u:%u: %.400s%s", t->line, t->col, tmp, where);
  longjmp(*cp->jb, rc);
}

void mffi__cp_err_at(cp_state *cp, const cp_token *t, int rc, const char *fmt,
                     ...) {
  char msg[MFFI_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lx_throw(cp, t ? t : &cp->tok, rc, msg);
}

void mffi__cp_rethrow(cp_state *cp, const cp_token *t, int rc) {
  if (rc == MFFI_ENOMEM) {
    mffi__nomem(cp->ctx);
    longjmp(*cp->jb, rc);
  }
  lx_throw(cp, t ? t : &cp->tok, rc, mffi_errmsg(cp->ctx));
}

/* -- Line splices (C11 5.1.1.2, translation phase 2) --------------------
**
** A text with backslash-newlines is read from a copy without them, so that
** a splice may fall anywhere (inside a number, a punctuator, a name, a
** string, at the end of a // comment) and the scanner never sees one.
** Positions are mapped back: cp->spl lists, for each splice removed, the
** copy offset of the byte after it and the bytes removed so far. */

/* The length of a backslash-newline at p (2, or 3 with a CR), or 0. */
static size_t lx_splice_len(const char *p, const char *end) {
  if (p + 1 < end && p[0] == '\\' && p[1] == '\n') return 2;
  if (p + 2 < end && p[0] == '\\' && p[1] == '\r' && p[2] == '\n') return 3;
  return 0;
}

void mffi__cp_lex_splice(cp_state *cp) {
  const char *s = cp->src, *end = cp->end;
  size_t n = (size_t)(end - s), count = 0;
  for (const char *p = memchr(s, '\\', n); p;
       p = p + 1 < end ? memchr(p + 1, '\\', (size_t)(end - p - 1)) : NULL)
    count += lx_splice_len(p, end) != 0;
  if (!count) return;
  char *copy = mffi__cp_keep_alloc(cp, n + 1);
  cp_splice *v = mffi__cp_keep_alloc(cp, count * sizeof *v);
  size_t o = 0, cum = 0, k = 0;
  for (size_t i = 0; i < n;) {
    size_t sl = lx_splice_len(s + i, end);
    if (sl) {
      cum += sl;
      i += sl;
      v[k].at = o;
      v[k++].cum = cum;
    } else {
      copy[o++] = s[i++];
    }
  }
  copy[o] = '\0';
  cp->orig = s;
  cp->spl = v;
  cp->nspl = k;
  cp->src = cp->pos = cp->linestart = copy;
  cp->end = copy + o;
}

/* The index + 1 of the last splice at or before copy offset c (0: none). */
static size_t lx_splices_before(const cp_state *cp, size_t c) {
  size_t lo = 0, hi = cp->nspl; /* Count of entries with at <= c. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cp->spl[mid].at <= c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t mffi__cp_offset(const cp_state *cp, const char *p) {
  size_t c = (size_t)(p - cp->src);
  size_t j = cp->nspl ? lx_splices_before(cp, c) : 0;
  return j ? c + cp->spl[j - 1].cum : c;
}

/* Line (as the user knows it: after a line marker "# 68 "link.h"", the
** line of that file) and column (in the original bytes) of p, on the
** lexer's current line. */
static void lx_pos_slow(const cp_state *cp, const char *p, uint32_t *line,
                        uint32_t *col) {
  int64_t phys = cp->line;
  size_t start = (size_t)(cp->linestart - cp->src), at = (size_t)(p - cp->src);
  if (cp->nspl) {
    size_t j = lx_splices_before(cp, at);
    phys += (int64_t)j;
    size_t o = mffi__cp_offset(cp, p), ls = mffi__cp_offset(cp, cp->linestart);
    if (j && cp->spl[j - 1].at + cp->spl[j - 1].cum > ls)
      ls = cp->spl[j - 1].at + cp->spl[j - 1].cum;
    start = ls;
    at = o;
  }
  int64_t l = phys + cp->line_adj;
  *line = l < 1 ? 1 : l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
  size_t c = at >= start ? at - start + 1 : 1;
  *col = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* lx_pos_slow, inline for the common case: no splices. */
static inline void lx_pos(const cp_state *cp, const char *p, uint32_t *line,
                          uint32_t *col) {
  size_t c = (size_t)(p - cp->linestart) + 1; /* Huge if p < linestart. */
  int64_t l = (int64_t)cp->line + cp->line_adj;
  if (cp->nspl || c > UINT32_MAX || (uint64_t)(l - 1) >= UINT32_MAX) {
    lx_pos_slow(cp, p, line, col);
    return;
  }
  *line = (uint32_t)l;
  *col = (uint32_t)c;
}

/* An error at the lexer's position (no token yet). */
static _Noreturn void lx_err(cp_state *cp, const char *at, int rc,
                             const char *msg) {
  cp_token t = {.tok = 0, .p = at, .len = at < cp->end ? 1 : 0};
  lx_pos(cp, at, &t.line, &t.col);
  t.file = cp->file;
  if (at >= cp->end) t.tok = TK_EOF;
  lx_throw(cp, &t, rc, msg);
}

/* -- Keywords -------------------------------------------------------------- */

typedef struct lx_kw {
  const char *s;
  uint8_t len;
  int tok;
} lx_kw;

#define KW(s, tok)                                                             \
  { s, sizeof s - 1, tok }

static const lx_kw lx_keywords[] = {
    KW("typedef", TK_TYPEDEF),
    KW("extern", TK_EXTERN),
    KW("static", TK_STATIC),
    KW("auto", TK_AUTO),
    KW("register", TK_REGISTER),
    KW("_Thread_local", TK_THREAD),
    KW("__thread", TK_THREAD),
    KW("inline", TK_INLINE),
    KW("__inline", TK_INLINE),
    KW("__inline__", TK_INLINE),
    KW("_Noreturn", TK_NORETURN),
    KW("const", TK_CONST),
    KW("__const", TK_CONST),
    KW("__const__", TK_CONST),
    KW("volatile", TK_VOLATILE),
    KW("__volatile", TK_VOLATILE),
    KW("__volatile__", TK_VOLATILE),
    KW("restrict", TK_RESTRICT),
    KW("__restrict", TK_RESTRICT),
    KW("__restrict__", TK_RESTRICT),
    KW("_Atomic", TK_ATOMIC),
    KW("void", TK_VOID),
    KW("char", TK_CHAR),
    KW("short", TK_SHORT),
    KW("int", TK_INTKW),
    KW("long", TK_LONG),
    KW("float", TK_FLOATKW),
    KW("double", TK_DOUBLE),
    KW("signed", TK_SIGNED),
    KW("__signed", TK_SIGNED),
    KW("__signed__", TK_SIGNED),
    KW("unsigned", TK_UNSIGNED),
    KW("_Bool", TK_BOOL),
    KW("_Complex", TK_COMPLEX),
    KW("__complex__", TK_COMPLEX),
    KW("__complex", TK_COMPLEX),
    KW("__int128", TK_INT128),
    KW("__int128_t", TK_INT128_T),
    KW("__uint128_t", TK_UINT128_T),
    KW("_Float16", TK_FLOAT16),
    KW("_Float32", TK_FLOAT32),
    KW("_Float64", TK_FLOAT64),
    KW("_Float128", TK_FLOAT128),
    KW("__float128", TK_FLOAT128),
    KW("_Float32x", TK_FLOAT32X),
    KW("_Float64x", TK_FLOAT64X),
    KW("__float80", TK_FLOAT64X),
    KW("__builtin_va_list", TK_VALIST),
    KW("struct", TK_STRUCT),
    KW("union", TK_UNION),
    KW("enum", TK_ENUM),
    KW("sizeof", TK_SIZEOF),
    KW("_Alignof", TK_ALIGNOF),
    KW("__alignof__", TK_ALIGNOF),
    KW("__alignof", TK_ALIGNOF),
    KW("_Alignas", TK_ALIGNAS),
    KW("__attribute__", TK_ATTRIBUTE),
    KW("__attribute", TK_ATTRIBUTE),
    KW("__extension__", TK_EXTENSION),
    KW("__asm__", TK_ASM),
    KW("__asm", TK_ASM),
    KW("asm", TK_ASM),
    KW("__typeof__", TK_TYPEOF),
    KW("__typeof", TK_TYPEOF),
    KW("typeof", TK_TYPEOF),
    KW("_Static_assert", TK_STATIC_ASSERT),
    KW("__builtin_offsetof", TK_OFFSETOF),
    KW("if", TK_RESERVED),
    KW("else", TK_RESERVED),
    KW("while", TK_RESERVED),
    KW("for", TK_RESERVED),
    KW("do", TK_RESERVED),
    KW("switch", TK_RESERVED),
    KW("case", TK_RESERVED),
    KW("default", TK_RESERVED),
    KW("break", TK_RESERVED),
    KW("continue", TK_RESERVED),
    KW("return", TK_RESERVED),
    KW("goto", TK_RESERVED),
};

#define LX_NKW (sizeof lx_keywords / sizeof *lx_keywords)

/* Fill the keyword hash of this parse (cheap: about a hundred entries).
** The slot of a keyword is its pool hash (mffi__tt_strhash), which the
** scanner computes as it reads a name, so a name costs one hash. */
static void lx_kw_init(cp_state *cp) {
  _Static_assert(LX_NKW < CP_KW_SLOTS / 2, "keyword hash too full");
  _Static_assert(LX_NKW <= CP_KW_MAX, "cp_state.kwname too small");
  memset(cp->kwtab, 0, sizeof cp->kwtab);
  for (size_t i = 0; i < LX_NKW; i++) {
    const lx_kw *k = &lx_keywords[i];
    unsigned j = mffi__tt_strhash(k->s, k->len) & (CP_KW_SLOTS - 1);
    while (cp->kwtab[j])
      j = (j + 1) & (CP_KW_SLOTS - 1);
    cp->kwtab[j] = (uint8_t)(i + 1);
  }
}

/* The keyword s[0..len) with pool hash h: its index + 1, or 0. */
static unsigned lx_keyword(const cp_state *cp, const char *s, size_t len,
                           uint32_t h) {
  for (unsigned j = h & (CP_KW_SLOTS - 1); cp->kwtab[j];
       j = (j + 1) & (CP_KW_SLOTS - 1)) {
    const lx_kw *k = &lx_keywords[cp->kwtab[j] - 1];
    if (k->len == len && memcmp(k->s, s, len) == 0) return cp->kwtab[j];
  }
  return 0;
}

/* -- Scanning -------------------------------------------------------------- */

/* Byte classes: LX_ID for identifier bytes (letters, digits, '_', '$'),
** LX_DIGIT for decimal digits, LX_SKIP for what may start blanks or a
** comment (" \t\n\v\f\r/"). Bytes past 127 are none of them. */
enum { LX_ID = 1, LX_DIGIT = 2, LX_SKIP = 4 };
static const uint8_t lx_cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool lx_isid(int c) {
  return lx_cls[(unsigned char)c] & LX_ID;
}
static bool lx_isdigit(int c) {
  return lx_cls[(unsigned char)c] & LX_DIGIT;
}
static int lx_hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void lx_newline(cp_state *cp, const char *nl) {
  cp->line++;
  cp->linestart = nl + 1;
  cp->bol = true;
}

/* Skip to the end of the line (splices are gone), not past it. */
static void lx_skip_line(cp_state *cp) {
  const char *p = cp->pos;
  while (p < cp->end && *p != '\n') {
    if (*p == '/' && p + 1 < cp->end && p[1] == '*') { /* comment in line */
      const char *q = p + 2;
      while (q + 1 < cp->end && !(q[0] == '*' && q[1] == '/')) {
        if (*q == '\n') lx_newline(cp, q);
        q++;
      }
      if (q + 1 >= cp->end) lx_err(cp, p, MFFI_EPARSE, "unterminated comment");
      p = q + 2;
      continue;
    }
    p++;
  }
  cp->pos = p;
}

/* Skip blanks and comments. Returns with cp->pos at a token, or at '\n'
** inside a #define (which ends it). */
static void lx_skip_space(cp_state *cp) {
  const char *p = cp->pos;
  for (;;) {
    if (p >= cp->end) break;
    char c = *p;
    if (c == '\n') {
      if (cp->in_define) break;
      lx_newline(cp, p);
      p++;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      p++;
    } else if (c == '/' && p + 1 < cp->end && p[1] == '/') {
      /* To the end of the line: a backslash there was a splice, and the
      ** next line is already part of this one. */
      while (p < cp->end && *p != '\n')
        p++;
    } else if (c == '/' && p + 1 < cp->end && p[1] == '*') {
      const char *start = p;
      bool bol = cp->bol;
      p += 2;
      while (p + 1 < cp->end && !(p[0] == '*' && p[1] == '/')) {
        if (*p == '\n') lx_newline(cp, p);
        p++;
      }
      if (p + 1 >= cp->end) {
        cp->pos = p;
        lx_err(cp, start, MFFI_EPARSE, "unterminated comment");
      }
      p += 2;
      cp->bol = bol && cp->bol;
    } else {
      break;
    }
  }
  cp->pos = p;
}

/* One escape sequence after '\\' at *pp; returns its value. */
static uint32_t lx_escape(cp_state *cp, const char **pp) {
  const char *p = *pp;
  if (p >= cp->end) lx_err(cp, p, MFFI_EPARSE, "unterminated escape");
  uint32_t v;
  char c = *p++;
  switch (c) {
  case 'n': v = '\n'; break;
  case 't': v = '\t'; break;
  case 'r': v = '\r'; break;
  case 'a': v = '\a'; break;
  case 'b': v = '\b'; break;
  case 'f': v = '\f'; break;
  case 'v': v = '\v'; break;
  case 'e':
  case 'E': v = 27; break;
  case 'x': {
    v = 0;
    int d, n = 0;
    while (p < cp->end && (d = lx_hexval(*p)) >= 0)
      v = v * 16 + (uint32_t)d, p++, n++;
    if (n == 0)
      lx_err(cp, p, MFFI_EPARSE, "\\x used with no following hex digits");
    break;
  }
  case 'u':
  case 'U': {
    int want = c == 'u' ? 4 : 8, d;
    v = 0;
    for (int i = 0; i < want; i++) {
      if (p >= cp->end || (d = lx_hexval(*p)) < 0)
        lx_err(cp, p, MFFI_EPARSE, "incomplete universal character name");
      v = v * 16 + (uint32_t)d;
      p++;
    }
    break;
  }
  default:
    if (c >= '0' && c <= '7') {
      v = (uint32_t)(c - '0');
      for (int i = 0; i < 2 && p < cp->end && *p >= '0' && *p <= '7'; i++)
        v = v * 8 + (uint32_t)(*p++ - '0');
    } else {
      v = (unsigned char)c; /* \\ \' \" \? and unknown escapes */
    }
  }
  *pp = p;
  return v;
}

static LX_COLD void lx_number(cp_state *cp, cp_token *t) {
  const char *p = cp->pos, *start = p;
  int base = 10;
  bool isfloat = false;
  if (*p == '0' && p + 1 < cp->end && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
  } else if (*p == '0' && p + 1 < cp->end && (p[1] == 'b' || p[1] == 'B')) {
    base = 2;
    p += 2;
  } else if (*p == '0') {
    base = 8;
  }
  /* Find the extent of the pp-number first. */
  const char *q = p;
  while (q < cp->end) {
    char c = *q;
    if (lx_isid(c) || c == '.') {
      if ((c == 'e' || c == 'E') && base != 16 && q + 1 < cp->end &&
          (q[1] == '+' || q[1] == '-'))
        q++, isfloat = true;
      else if ((c == 'p' || c == 'P') && base == 16 && q + 1 < cp->end &&
               (q[1] == '+' || q[1] == '-'))
        q++, isfloat = true;
      if (c == '.') isfloat = true;
      if ((c == 'e' || c == 'E') && base != 16) isfloat = true;
      if ((c == 'p' || c == 'P') && base == 16) isfloat = true;
      q++;
    } else {
      break;
    }
  }
  t->p = start;
  t->len = (size_t)(q - start);
  cp->pos = q;
  if (isfloat) {
    t->tok = TK_FLOAT;
    return;
  }
  uint64_t v = 0;
  bool overflow = false;
  for (; p < q; p++) {
    int d = lx_hexval(*p);
    if (d < 0 || d >= base) break;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) overflow = true;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  bool u = false;
  int l = 0;
  for (; p < q; p++) {
    char c = *p;
    if ((c == 'u' || c == 'U') && !u)
      u = true;
    else if ((c == 'l' || c == 'L') && l < 2)
      l++;
    else
      break;
  }
  if (p != q) {
    cp->tok = *t;
    cp_err(cp, t, MFFI_EPARSE, "invalid integer constant");
  }
  if (overflow) {
    cp->tok = *t;
    cp_err(cp, t, MFFI_ERANGE, "integer constant is too large");
  }
  t->tok = TK_INT;
  t->ival = v;
  /* C11 6.4.4.1p5: the first type of the list that can hold the value. */
  if (u) {
    t->uns = true;
    t->wide = l > 0 || v > UINT32_MAX;
  } else if (l == 0 && v <= INT32_MAX) {
    t->uns = t->wide = false;
  } else if (l == 0 && base != 10 && v <= UINT32_MAX) {
    t->uns = true;
    t->wide = false;
  } else {
    t->wide = true;
    t->uns = v > INT64_MAX; /* gcc: "so large that it is unsigned" */
  }
}

static LX_COLD void lx_char(cp_state *cp, cp_token *t, bool widechar) {
  const char *p = cp->pos + 1;
  uint64_t v = 0;
  int n = 0;
  while (p < cp->end && *p != '\'') {
    if (*p == '\n') break;
    uint32_t c;
    if (*p == '\\') {
      p++;
      c = lx_escape(cp, &p);
    } else {
      c = (unsigned char)*p++;
    }
    v = widechar ? c : ((v << 8) | (c & 0xff));
    n++;
  }
  if (p >= cp->end || *p != '\'')
    lx_err(cp, cp->pos, MFFI_EPARSE, "missing terminating ' character");
  if (n == 0) lx_err(cp, cp->pos, MFFI_EPARSE, "empty character constant");
  p++;
  t->tok = TK_INT;
  t->len = (size_t)(p - t->p);
  t->uns = false;
  t->wide = false;
  /* A one-char constant has the value of that char as (signed) char. */
  if (!widechar && n == 1 && cp->tt->abi->char_signed && (v & 0x80))
    v = (uint64_t)(int64_t)(int8_t)v;
  else if (!widechar)
    v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
  t->ival = v;
  cp->pos = p;
}

static LX_COLD void lx_string(cp_state *cp, cp_token *t) {
  const char *p = cp->pos + 1;
  size_t cap = 64, n = 0;
  char *buf = cp_alloc(cp, cap);
  while (p < cp->end && *p != '"') {
    if (*p == '\n') break;
    uint32_t c;
    if (*p == '\\') {
      p++;
      c = lx_escape(cp, &p);
    } else {
      c = (unsigned char)*p++;
    }
    if (n + 2 > cap) {
      if (cap >= CP_MAX_STRING)
        lx_err(cp, t->p, MFFI_EPARSE, "string too long");
      char *nb = cp_alloc(cp, cap * 2);
      memcpy(nb, buf, n);
      buf = nb;
      cap *= 2;
    }
    buf[n++] = (char)c;
  }
  if (p >= cp->end || *p != '"')
    lx_err(cp, t->p, MFFI_EPARSE, "missing terminating \" character");
  p++;
  buf[n] = '\0';
  t->tok = TK_STRING;
  t->str = buf;
  t->ival = n;
  t->len = (size_t)(p - t->p);
  cp->pos = p;
}

/* -- #pragma pack ---------------------------------------------------------- */

/* A cursor over one #pragma line: words, numbers and punctuation. */
typedef struct lx_pl {
  const char *p, *end;
} lx_pl;

static void pl_space(lx_pl *l) {
  while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\r'))
    l->p++;
}

static bool pl_punct(lx_pl *l, char c) {
  pl_space(l);
  if (l->p < l->end && *l->p == c) {
    l->p++;
    return true;
  }
  return false;
}

/* An identifier: its start and length, or false. */
static bool pl_word(lx_pl *l, const char **w, size_t *n) {
  pl_space(l);
  const char *q = l->p;
  if (q >= l->end || !lx_isid(*q) || lx_isdigit(*q)) return false;
  while (q < l->end && lx_isid(*q))
    q++;
  *w = l->p;
  *n = (size_t)(q - l->p);
  l->p = q;
  return true;
}

/* An integer constant (decimal, octal or hex, with u/l suffixes), or
** false. Values past 255 come back as 255: never a valid pack value. */
static bool pl_number(lx_pl *l, unsigned *v) {
  pl_space(l);
  const char *q = l->p;
  if (q >= l->end || !lx_isdigit(*q)) return false;
  unsigned base = 10, x = 0;
  if (*q == '0' && q + 1 < l->end && (q[1] == 'x' || q[1] == 'X'))
    base = 16, q += 2;
  else if (*q == '0')
    base = 8;
  int d;
  for (; q < l->end && (d = lx_hexval(*q)) >= 0 && (unsigned)d < base; q++)
    x = x * base + (unsigned)d > 255 ? 255 : x * base + (unsigned)d;
  while (q < l->end && (*q == 'u' || *q == 'U' || *q == 'l' || *q == 'L'))
    q++;
  if (q < l->end && lx_isid(*q)) return false;
  *v = x;
  l->p = q;
  return true;
}

/* The text after "#pragma pack" up to the end of its line, as GCC reads
** it (c-pragma.cc, handle_pragma_pack): "()" and "(N)" set the value,
** "(push[, id][, N])" saves it first, "(pop[, id])" restores the one saved
** (with id: the one saved under id, dropping those above it; an id never
** pushed drops the top entry). N is 0, 1, 2, 4, 8 or 16; 0 and "()" mean
** no packing. GCC ignores a malformed pragma with a warning, and so do we:
** the layout stays GCC's. */
static void lx_pragma_pack(cp_state *cp, const char *p, const char *end) {
  lx_pl l = {p, end};
  enum { PK_SET, PK_PUSH, PK_POP } action = PK_SET;
  const char *id = NULL, *w;
  size_t n;
  unsigned align = 0;
  bool have_align = false;
  if (!pl_punct(&l, '(')) return;
  if (pl_punct(&l, ')')) {
    have_align = true; /* "()": back to no packing. */
  } else if (pl_number(&l, &align)) {
    have_align = true;
    if (!pl_punct(&l, ')')) return;
  } else if (pl_word(&l, &w, &n)) {
    if (n == 4 && memcmp(w, "push", 4) == 0)
      action = PK_PUSH;
    else if (n == 3 && memcmp(w, "pop", 3) == 0)
      action = PK_POP;
    else
      return;
    while (pl_punct(&l, ',')) {
      unsigned v;
      if (!id && pl_word(&l, &w, &n))
        id = mffi__cp_pool(cp, w, n);
      else if (action == PK_PUSH && !have_align && pl_number(&l, &v))
        align = v, have_align = true;
      else
        return;
    }
    if (!pl_punct(&l, ')')) return;
  } else {
    return;
  }
  if (action != PK_POP) {
    if (!have_align) align = cp->pack; /* "(push)" keeps the value. */
    if (align != 0 && align != 1 && align != 2 && align != 4 && align != 8 &&
        align != 16)
      return;
  }
  if (action == PK_SET) {
    cp->pack = (uint8_t)align;
  } else if (action == PK_PUSH) {
    cp_pack *e = mffi__cp_keep_alloc(cp, sizeof *e);
    e->prev = cp->pack_stack;
    e->id = id;
    e->align = cp->pack;
    cp->pack_stack = e;
    cp->pack = (uint8_t)align;
  } else if (cp->pack_stack) {
    const cp_pack *e = cp->pack_stack;
    if (id) {
      const cp_pack *f = e;
      while (f && f->id != id)
        f = f->prev;
      if (f) e = f;
    }
    cp->pack = e->align;
    cp->pack_stack = e->prev;
  }
}

/* -- Pointer sets ---------------------------------------------------------- */

#define LX_TOMB ((const void *)1) /* A removed entry. */

static size_t lx_ptr_hash(const void *p, uint32_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 20) & (cap - 1);
}

bool mffi__cp_pset_add(cp_state *cp, cp_pset *s, const void *p) {
  if (s->cap) {
    for (size_t j = lx_ptr_hash(p, s->cap); s->v[j]; j = (j + 1) & (s->cap - 1))
      if (s->v[j] == p) return true;
  }
  if ((s->n + 1) * 2 > s->cap) { /* Rebuild, dropping removed entries. */
    uint32_t ncap = s->cap ? s->cap * 2 : 64;
    const void **nv = s->keep ? mffi__cp_keep_alloc(cp, ncap * sizeof *nv)
                              : mffi__cp_alloc(cp, ncap * sizeof *nv);
    memset(nv, 0, ncap * sizeof *nv);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->cap; i++) {
      const void *o = s->v[i];
      if (!o || o == LX_TOMB) continue;
      size_t j = lx_ptr_hash(o, ncap);
      while (nv[j])
        j = (j + 1) & (ncap - 1);
      nv[j] = o;
      n++;
    }
    s->v = nv;
    s->cap = ncap;
    s->n = n;
  }
  size_t j = lx_ptr_hash(p, s->cap);
  while (s->v[j] && s->v[j] != LX_TOMB)
    j = (j + 1) & (s->cap - 1);
  if (!s->v[j]) s->n++; /* A reused removed slot was counted already. */
  s->v[j] = p;
  return false;
}

bool mffi__cp_pset_has(const cp_pset *s, const void *p) {
  if (!s->cap) return false;
  for (size_t j = lx_ptr_hash(p, s->cap); s->v[j]; j = (j + 1) & (s->cap - 1))
    if (s->v[j] == p) return true;
  return false;
}

bool mffi__cp_pset_take(cp_pset *s, const void *p) {
  if (!s->cap) return false;
  for (size_t j = lx_ptr_hash(p, s->cap); s->v[j]; j = (j + 1) & (s->cap - 1))
    if (s->v[j] == p) {
      s->v[j] = LX_TOMB;
      return true;
    }
  return false;
}

/* A line marker at p: "# 68 "file" flags" (cc -E) or "#line 68 ["file"]".
** The line after it is line 68 of file; errors then name that file and
** line. A marker that does not read as one is ignored, as cpp would refuse
** it rather than guess. */
static void lx_line_marker(cp_state *cp, const char *p) {
  while (p < cp->end && (*p == ' ' || *p == '\t'))
    p++;
  uint64_t n = 0;
  const char *d = p;
  while (p < cp->end && lx_isdigit(*p) && n <= UINT32_MAX)
    n = n * 10 + (uint64_t)(*p++ - '0');
  if (p == d || n > UINT32_MAX) return;
  if (p < cp->end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
    return; /* "# 12x": not a line number. */
  while (p < cp->end && (*p == ' ' || *p == '\t'))
    p++;
  if (p < cp->end && *p == '"') {
    const char *q = p + 1;
    char buf[CP_MAX_STRING];
    size_t len = 0;
    while (q < cp->end && *q != '"' && *q != '\n' && len < sizeof buf) {
      if (*q == '\\' && q + 1 < cp->end && q[1] != '\n') q++;
      buf[len++] = *q++;
    }
    if (q >= cp->end || *q != '"') return;
    cp->file = mffi__cp_pool(cp, buf, len);
  }
  /* The marker's own line ends before the line it numbers. */
  uint32_t line, col;
  int64_t adj = cp->line_adj;
  cp->line_adj = 0;
  lx_pos(cp, p, &line, &col); /* The physical line of the marker. */
  cp->line_adj = adj;
  cp->line_adj = (int64_t)n - ((int64_t)line + 1);
}

/* _Pragma("...") at q (just past the keyword): a pack pragma takes effect,
** any other is skipped. */
static LX_COLD void lx_pragma_op(cp_state *cp, const char *q) {
  const char *kw = cp->pos;
  cp->pos = q;
  lx_skip_space(cp);
  if (cp->pos >= cp->end || *cp->pos != '(')
    lx_err(cp, kw, MFFI_EPARSE, "expected '(' after _Pragma");
  cp->pos++;
  lx_skip_space(cp);
  if (cp->pos >= cp->end || *cp->pos != '"')
    lx_err(cp, kw, MFFI_EPARSE, "_Pragma takes a parenthesized string literal");
  cp_token s;
  memset(&s, 0, sizeof s);
  s.p = cp->pos;
  lx_string(cp, &s);
  lx_skip_space(cp);
  if (cp->pos >= cp->end || *cp->pos != ')')
    lx_err(cp, kw, MFFI_EPARSE, "_Pragma takes a parenthesized string literal");
  cp->pos++;
  lx_pl l = {s.str, s.str + s.ival};
  const char *w;
  size_t n;
  if (pl_word(&l, &w, &n) && n == 4 && memcmp(w, "pack", 4) == 0)
    lx_pragma_pack(cp, l.p, l.end);
}

/* A '#' line: #define NAME gives TK_DEFINE; #pragma pack changes the
** packing; all else is skipped. Returns true if a token was produced. */
static LX_COLD bool lx_directive(cp_state *cp, cp_token *t) {
  const char *p = cp->pos + 1;
  while (p < cp->end && (*p == ' ' || *p == '\t'))
    p++;
  if (p < cp->end && lx_isdigit(*p)) { /* "# 68 "file"" */
    lx_line_marker(cp, p);
    cp->pos = p;
    lx_skip_line(cp);
    return false;
  }
  const char *w = p;
  while (p < cp->end && lx_isid(*p))
    p++;
  if ((size_t)(p - w) == 4 && memcmp(w, "line", 4) == 0) lx_line_marker(cp, p);
  if ((size_t)(p - w) == 5 && memcmp(w, "undef", 5) == 0) {
    while (p < cp->end && (*p == ' ' || *p == '\t'))
      p++;
    const char *n = p;
    while (p < cp->end && lx_isid(*p))
      p++;
    if (p > n)
      mffi__cp_pset_add(cp, &cp->undefs, mffi__cp_pool(cp, n, (size_t)(p - n)));
  }
  if ((size_t)(p - w) == 6 && memcmp(w, "pragma", 6) == 0) {
    lx_pl l = {p, cp->end};
    const char *pw;
    size_t n;
    if (pl_word(&l, &pw, &n) && n == 4 && memcmp(pw, "pack", 4) == 0) {
      const char *e = l.p;
      while (e < cp->end && *e != '\n')
        e++;
      lx_pragma_pack(cp, l.p, e);
    }
  }
  if ((size_t)(p - w) == 6 && memcmp(w, "define", 6) == 0) {
    while (p < cp->end && (*p == ' ' || *p == '\t'))
      p++;
    const char *n = p;
    while (p < cp->end && lx_isid(*p))
      p++;
    if (p > n && !lx_isdigit(*n) && (p >= cp->end || *p != '(')) {
      t->tok = TK_DEFINE;
      t->p = n;
      t->len = (size_t)(p - n);
      lx_pos(cp, n, &t->line, &t->col);
      t->file = cp->file;
      t->name = mffi__cp_pool(cp, n, t->len);
      cp->pos = p;
      cp->in_define = true;
      return true;
    }
  }
  cp->pos = p;
  lx_skip_line(cp);
  return false;
}

/* The punctuator at p (longest match): its token and length, or 0. */
static int lx_punct(const char *p, const char *end, int *len) {
  char c = p[0], d = p + 1 < end ? p[1] : 0;
  *len = 2;
  switch (c) {
  case '{':
  case '}':
  case '[':
  case ']':
  case '(':
  case ')':
  case ';':
  case ',':
  case ':':
  case '?':
  case '~': break;
  case '.':
    if (d == '.' && p + 2 < end && p[2] == '.') return *len = 3, TK_ELLIPSIS;
    break;
  case '<':
  case '>':
    if (d == c) {
      if (p + 2 < end && p[2] == '=') return *len = 3, TK_ASSIGNOP;
      return c == '<' ? TK_SHL : TK_SHR;
    }
    if (d == '=') return c == '<' ? TK_LE : TK_GE;
    break;
  case '-':
    if (d == '>') return TK_ARROW;
    if (d == '-') return TK_DEC;
    if (d == '=') return TK_ASSIGNOP;
    break;
  case '+':
    if (d == '+') return TK_INC;
    if (d == '=') return TK_ASSIGNOP;
    break;
  case '&':
  case '|':
    if (d == c) return c == '&' ? TK_ANDAND : TK_OROR;
    if (d == '=') return TK_ASSIGNOP;
    break;
  case '=':
    if (d == '=') return TK_EQ;
    break;
  case '!':
    if (d == '=') return TK_NE;
    break;
  case '*':
  case '/':
  case '%':
  case '^':
    if (d == '=') return TK_ASSIGNOP;
    break;
  default: return 0;
  }
  *len = 1;
  return (unsigned char)c;
}

static void lx_scan(cp_state *cp, cp_token *t) {
  for (;;) {
    const char *p = cp->pos;
    while (p < cp->end && *p == ' ') /* Most tokens follow one blank. */
      p++;
    if (p < cp->end && (lx_cls[(unsigned char)*p] & LX_SKIP)) {
      cp->pos = p;
      lx_skip_space(cp);
      p = cp->pos;
    }
    cp->pos = p;
    /* Every field, one store each (a memset of the token first costs a
    ** store-buffer stall per token, as perf shows). */
    t->tok = 0;
    t->p = p;
    t->len = 0;
    lx_pos(cp, p, &t->line, &t->col);
    t->file = cp->file;
    t->name = NULL;
    t->ival = 0;
    t->uns = t->wide = false;
    t->str = NULL;
    t->pack = cp->pack;
    if (p >= cp->end) {
      if (cp->in_define) {
        cp->in_define = false;
        t->tok = TK_EOL;
        return;
      }
      t->tok = TK_EOF;
      return;
    }
    char c = *p;
    if (c == '\n') { /* Only reached inside a #define. */
      cp->in_define = false;
      t->tok = TK_EOL;
      return;
    }
    if (c == '#' && cp->bol && !cp->in_define) {
      if (lx_directive(cp, t)) {
        cp->bol = false;
        return;
      }
      continue;
    }
    cp->bol = false;
    if (lx_cls[(unsigned char)c] == LX_ID) { /* Not a digit. */
      if ((c == 'L' || c == 'u' || c == 'U') && p + 1 < cp->end &&
          (p[1] == '\'' || p[1] == '"' ||
           (c == 'u' && p[1] == '8' && p + 2 < cp->end && p[2] == '"'))) {
        const char *q = p + 1 + (p[1] == '8');
        cp->pos = q;
        if (*q == '\'')
          lx_char(cp, t, true);
        else
          lx_string(cp, t);
        t->p = p;
        t->len = (size_t)(cp->pos - p);
        return;
      }
      const char *q = p, *end = cp->end;
      uint32_t h = MFFI__STRHASH_INIT;
      while (q < end && (lx_cls[(unsigned char)*q] & LX_ID))
        h = mffi__tt_strhash_step(h, *q++);
      size_t len = (size_t)(q - p);
      if (len == 7 && memcmp(p, "_Pragma", 7) == 0) {
        lx_pragma_op(cp, q);
        continue;
      }
      t->len = len;
      cp->pos = q;
      unsigned kw = lx_keyword(cp, p, len, h);
      if (kw) {
        t->tok = lx_keywords[kw - 1].tok;
        if (!cp->kwname[kw - 1])
          cp->kwname[kw - 1] = mffi__cp_pool_h(cp, p, len, h);
        t->name = cp->kwname[kw - 1];
      } else {
        t->tok = TK_NAME;
        t->name = mffi__cp_pool_h(cp, p, len, h);
      }
      return;
    }
    if (lx_isdigit(c) || (c == '.' && p + 1 < cp->end && lx_isdigit(p[1]))) {
      lx_number(cp, t);
      return;
    }
    if (c == '\'') {
      lx_char(cp, t, false);
      return;
    }
    if (c == '"') {
      lx_string(cp, t);
      return;
    }
    int len, op = lx_punct(p, cp->end, &len);
    if (op) {
      t->tok = op;
      t->len = (size_t)len;
      cp->pos = p + len;
      return;
    }
    char msg[64];
    if ((unsigned char)c >= 32 && (unsigned char)c < 127)
      snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    else
      snprintf(msg, sizeof msg, "unexpected byte 0x%02x",
               (unsigned)(unsigned char)c);
    lx_err(cp, p, MFFI_EPARSE, msg);
  }
}

/* -- Interface ------------------------------------------------------------- */

void mffi__cp_lex_init(cp_state *cp, const char *src, size_t len) {
  cp->src = cp->pos = cp->linestart = src;
  cp->end = src + len;
  cp->line = 1;
  cp->bol = true;
  cp->in_define = false;
  cp->have_ahead = false;
  lx_kw_init(cp);
}

/* The #define lines met by mffi__cp_next, and the tokens after them. */
static LX_COLD void lx_defines(cp_state *cp) {
  while (cp->tok.tok == TK_DEFINE && cp->on_define) {
    cp->on_define(cp); /* Reads the body, up to its TK_EOL. */
    if (cp->have_ahead) {
      cp->tok = cp->ahead;
      cp->have_ahead = false;
    } else {
      lx_scan(cp, &cp->tok);
    }
  }
}

void mffi__cp_next(cp_state *cp) {
  if (cp->have_ahead) {
    cp->tok = cp->ahead;
    cp->have_ahead = false;
  } else {
    lx_scan(cp, &cp->tok);
  }
  if (cp->tok.tok == TK_DEFINE && cp->on_define) lx_defines(cp);
}

void mffi__cp_skip_define(cp_state *cp) {
  cp->have_ahead = false;
  if (cp->in_define) lx_skip_line(cp);
  cp->in_define = false;
  cp->tok.tok = TK_EOL;
}

const cp_token *mffi__cp_peek(cp_state *cp) {
  if (!cp->have_ahead) {
    cp_token save = cp->tok;
    lx_scan(cp, &cp->ahead);
    cp->tok = save;
    cp->have_ahead = true;
  }
  return &cp->ahead;
}

cp_mark mffi__cp_mark(const cp_state *cp) {
  cp_mark m = {cp->pos,  cp->linestart,  cp->line,     cp->in_define,
               cp->bol,  cp->have_ahead, cp->tok,      cp->ahead,
               cp->pack, cp->pack_stack, cp->line_adj, cp->file};
  return m;
}

void mffi__cp_reset(cp_state *cp, const cp_mark *m) {
  cp->pos = m->pos;
  cp->linestart = m->linestart;
  cp->line = m->line;
  cp->in_define = m->in_define;
  cp->bol = m->bol;
  cp->have_ahead = m->have_ahead;
  cp->tok = m->tok;
  cp->ahead = m->ahead;
  cp->pack = m->pack;
  cp->pack_stack = m->pack_stack;
  cp->line_adj = m->line_adj;
  cp->file = m->file;
}
