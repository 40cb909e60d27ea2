/* C declaration parser: shared state of lexer, expressions, parser.
** See LICENSE. */
#ifndef MFFI_CDEF_H
#define MFFI_CDEF_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ctx.h"
#include "../types.h"
#include "parse.h"

#define CP_MAX_DEPTH 200   /* Max. nesting of declarators/expressions. */
#define CP_KW_SLOTS 256    /* Keyword hash slots (keywords < half). */
#define CP_KW_MAX 96       /* Keywords (spellings) at most. */
#define CP_ATTR_CACHE 32   /* Slots of the attribute name cache. */
#define CP_MAX_STRING 4096 /* Max. bytes of a (concatenated) string. */
/* Limits that keep hostile input linear and small (MFFI_ERANGE beyond). */
#define CP_MAX_DERIV 65536            /* Steps of one declarator. */
#define CP_MAX_ITEMS (1u << 20)       /* Members, or enumerators, of one. */
#define CP_MAX_PARAMS 65536           /* Parameters of one function. */
#define CP_MAX_TEXT ((size_t)1 << 31) /* Bytes of one mffi_cdef text. */

/* Tokens: single characters stand for themselves; the rest follow. */
enum {
  TK_EOF = 256,
  TK_NAME,   /* Identifier (tok.name is pooled). */
  TK_INT,    /* Integer or character constant (tok.ival, tok.uns, tok.wide). */
  TK_FLOAT,  /* Floating constant (only skipped or rejected). */
  TK_STRING, /* String literal (tok.str, tok.len: decoded bytes). */
  TK_DEFINE, /* "#define NAME" of an object-like macro (tok.name). */
  TK_EOL,    /* End of a #define line. */
  TK_ELLIPSIS,
  TK_ARROW,
  TK_INC,
  TK_DEC,
  TK_SHL,
  TK_SHR,
  TK_LE,
  TK_GE,
  TK_EQ,
  TK_NE,
  TK_ANDAND,
  TK_OROR,
  TK_ASSIGNOP,
  /* Keywords. */
  TK_KW_FIRST,
  TK_TYPEDEF = TK_KW_FIRST,
  TK_EXTERN,
  TK_STATIC,
  TK_AUTO,
  TK_REGISTER,
  TK_THREAD,
  TK_INLINE,
  TK_NORETURN,
  TK_CONST,
  TK_VOLATILE,
  TK_RESTRICT,
  TK_ATOMIC,
  TK_VOID,
  TK_CHAR,
  TK_SHORT,
  TK_INTKW,
  TK_LONG,
  TK_FLOATKW,
  TK_DOUBLE,
  TK_SIGNED,
  TK_UNSIGNED,
  TK_BOOL,
  TK_COMPLEX,
  TK_INT128,
  TK_INT128_T,
  TK_UINT128_T,
  TK_FLOAT16,
  TK_FLOAT32,
  TK_FLOAT64,
  TK_FLOAT128,
  TK_FLOAT32X,
  TK_FLOAT64X,
  TK_VALIST,
  TK_STRUCT,
  TK_UNION,
  TK_ENUM,
  TK_SIZEOF,
  TK_ALIGNOF,
  TK_ALIGNAS,
  TK_ATTRIBUTE,
  TK_EXTENSION,
  TK_ASM,
  TK_TYPEOF,
  TK_STATIC_ASSERT,
  TK_OFFSETOF,
  TK_RESERVED, /* Statement keywords: never a name in a declaration. */
  TK_KW_LAST
};

typedef struct cp_token {
  int tok;
  const char *p;    /* Start in the source. */
  size_t len;       /* Length in the source. */
  uint32_t line;    /* 1-based; as line markers say, if any. */
  uint32_t col;     /* 1-based, in bytes. */
  const char *file; /* Pooled file name of the last line marker, or NULL. */
  const char *name; /* TK_NAME, TK_DEFINE, keywords: pooled spelling. */
  uint64_t ival;    /* TK_INT value. */
  bool uns;         /* TK_INT: unsigned type. */
  bool wide;        /* TK_INT: 64-bit type (long). */
  char *str;        /* TK_STRING: decoded bytes (arena), NUL-terminated. */
  uint8_t pack;     /* #pragma pack in effect when it was read (0: none). */
} cp_token;

/* An entry of the #pragma pack(push) stack. Entries are never changed
** once made, so a saved stack top is a saved stack (see cp_mark). */
typedef struct cp_pack {
  const struct cp_pack *prev;
  const char *id; /* Pooled identifier of pack(push, id), or NULL. */
  uint8_t align;  /* The value pack(pop) restores. */
} cp_pack;

/* A block of the parse arena. */
typedef struct cp_chunk cp_chunk;

/* A set of pointers (pooled names, type nodes), in the arena. */
typedef struct cp_pset {
  const void **v; /* Open addressing; NULL empty, or a removed mark. */
  uint32_t n, cap;
  bool keep; /* Lives for the whole parse (cp->keep), not one declaration. */
} cp_pset;

/* A position in the temporary arena, to release what came after it. */
typedef struct cp_amark {
  cp_chunk *chunk;
  size_t used;
} cp_amark;

/* An integer constant value with its C type reduced to width and sign. */
typedef struct cp_val {
  uint64_t v;
  bool uns;  /* Unsigned type. */
  bool wide; /* 64-bit (long) rather than 32-bit (int). */
} cp_val;

/* A backslash-newline removed from the text (see mffi__cp_lex_splice). */
typedef struct cp_splice {
  size_t at;  /* Offset in the spliced copy of the byte after it. */
  size_t cum; /* Bytes removed up to and including this one. */
} cp_splice;

struct cp_state;
typedef struct cp_state {
  mffi_ctx *ctx;
  mffi__tt *tt;
  const char *src, *end; /* The text (the spliced copy, if any). */
  const char *orig;      /* The caller's text, when src is a copy. */
  const cp_splice *spl;  /* Splices removed, by offset; nspl of them. */
  size_t nspl;
  const char *pos;       /* Lexer position. */
  const char *linestart; /* Start of the current line. */
  uint32_t line;         /* Physical line, 1-based. */
  int64_t line_adj;      /* Line markers: presumed line minus physical line. */
  const char *file;      /* Line markers: pooled file name, or NULL. */
  bool in_define;        /* Newlines end a #define: emit TK_EOL. */
  bool bol;              /* At the beginning of a line (for '#'). */
  cp_token tok;          /* Current token. */
  cp_token ahead;        /* One token of look-ahead, if have_ahead. */
  bool have_ahead;
  cp_pset undefs; /* Names of #undef lines not yet used by a #define. */
  cp_pset redefs; /* Tags and enumerators of earlier calls defined again. */
  uint8_t pack;   /* Current #pragma pack value, 0 if none. */
  const cp_pack *pack_stack;  /* pack(push) entries, top first. */
  int depth;                  /* Recursion depth. */
  int noeval;                 /* > 0 in an operand that is not evaluated. */
  int in_params;              /* > 0 inside a parameter list. */
  int in_len_try;             /* > 0 inside a tried parameter array length. */
  int in_members;             /* > 0 inside a struct or union body. */
  bool speculative;           /* Evaluating a #define: declare nothing. */
  uint8_t kwtab[CP_KW_SLOTS]; /* Keyword hash: list index + 1, 0 empty. */
  bool typename_mode;      /* Parsing for mffi_typeof (unknown names differ). */
  mffi__cdef_skips *skips; /* Tolerant parse (mffi__cdef_tolerant), or NULL. */
  cp_pset skipped;         /* Names declared by skipped declarations. */
  bool opaque;             /* Retrying a skipped declaration (sk_opaque): */
                           /* its outer tagged struct or union body is read */
                           /* over, the type left incomplete; false once done. */
  size_t opaque_from, opaque_to; /* The body read over (text offsets). */
  const char *decl_name;   /* The top-level declarator last read. */
  void (*on_define)(struct cp_state *cp); /* Called at each TK_DEFINE. */
  jmp_buf *jb;                            /* Where errors go. */
  cp_chunk *arena; /* Temporaries of the declaration being read. */
  cp_chunk *keep;  /* What lives for the whole parse (pack stack, sets). */

  const char *kwname[CP_KW_MAX]; /* Pooled keyword spellings met, by index. */
  cp_chunk *spare;               /* Released arena chunks, to use again. */
  const char *attr_from[CP_ATTR_CACHE]; /* Pooled attribute names met, */
  const char *attr_to[CP_ATTR_CACHE];   /* and their forms without __. */
} cp_state;

/* A saved lexer position, to try a parse and come back. */
typedef struct cp_mark {
  const char *pos, *linestart;
  uint32_t line;
  bool in_define, bol, have_ahead;
  cp_token tok, ahead;
  uint8_t pack;
  const cp_pack *pack_stack;
  int64_t line_adj;
  const char *file;
} cp_mark;

/* lex.c */
void mffi__cp_lex_init(cp_state *cp, const char *src, size_t len);
/* Replace the text by a copy without backslash-newlines, if it has any
** (raises MFFI_ENOMEM: call under the error frame). */
void mffi__cp_lex_splice(cp_state *cp);
/* The offset in the caller's text of p (a pointer into cp->src). */
size_t mffi__cp_offset(const cp_state *cp, const char *p);
/* Advance to the next token; #define lines go to cp->on_define. */
void mffi__cp_next(cp_state *cp);
const cp_token *mffi__cp_peek(cp_state *cp);
cp_mark mffi__cp_mark(const cp_state *cp);
void mffi__cp_reset(cp_state *cp, const cp_mark *m);
/* Pointer sets: add p (returns true if it was there already); take p
** (returns true if it was there, and removes it). */
bool mffi__cp_pset_add(cp_state *cp, cp_pset *s, const void *p);
bool mffi__cp_pset_take(cp_pset *s, const void *p);
/* True if p is in s. */
bool mffi__cp_pset_has(const cp_pset *s, const void *p);
/* After a #define whose body is not a constant: skip the rest of the line. */
void mffi__cp_skip_define(cp_state *cp);
/* Raise an error at token t: "LINE:COL: MSG near 'TOKEN'". Never returns. */
_Noreturn void mffi__cp_err_at(cp_state *cp, const cp_token *t, int rc,
                               const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Raise rc; ctx's message (set by a type-table call) gets the position of
** token t prefixed. MFFI_ENOMEM keeps the plain message. Never returns. */
_Noreturn void mffi__cp_rethrow(cp_state *cp, const cp_token *t, int rc);
/* Arena memory: freed when the top-level declaration being read is done
** (alloc), or when the parse is (keep_alloc). Never NULL: raises
** MFFI_ENOMEM. */
void *mffi__cp_alloc(cp_state *cp, size_t n);
void *mffi__cp_keep_alloc(cp_state *cp, size_t n);
/* Mark the temporary arena; release everything allocated since a mark. */
cp_amark mffi__cp_arena_mark(const cp_state *cp);
void mffi__cp_arena_release(cp_state *cp, cp_amark m);
/* Free both arenas. */
void mffi__cp_arena_free(cp_state *cp);
const char *mffi__cp_pool(cp_state *cp, const char *s, size_t len);
/* The same, given h = mffi__tt_strhash(s, len). */
const char *mffi__cp_pool_h(cp_state *cp, const char *s, size_t len,
                            uint32_t h);

/* expr.c */
/* Parse and evaluate an integer constant expression (conditional level). */
cp_val mffi__cp_const_expr(cp_state *cp);
/* Convert v to the integer type of kind k (as a cast does). */
cp_val mffi__cp_convert(const cp_state *cp, cp_val v, mffi_kind k);

/* parse.c, used by expr.c */
/* True if the current token starts a type name. */
bool mffi__cp_starts_type(cp_state *cp);
/* Parse a type name (specifiers + abstract declarator). */
mffi__tid mffi__cp_type_name(cp_state *cp);
/* The type of an expression operand of sizeof/_Alignof/__typeof__: a
** declared name, or else an integer constant expression. */
mffi__tid mffi__cp_expr_type(cp_state *cp);

#define cp_next mffi__cp_next
#define cp_err mffi__cp_err_at
#define cp_alloc mffi__cp_alloc

#endif
