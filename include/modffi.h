/* modffi: modular foreign function bindings for C. See LICENSE.
**
** This header is the API reference. Conventions that hold everywhere:
**
** - Functions that can fail return MFFI_OK (0) or a negative MFFI_E* code;
**   mffi_strerror() names the code and mffi_errmsg() gives the detail of the
**   last failure on a context (with line:col for declaration errors).
** - Out-parameters come last and are set to NULL (or 0) on failure.
** - Every object is opaque. Each _new/_open has a _free/_close, and
**   _free(NULL) does nothing.
** - Returned `const char *` and `const mffi_type *` values are borrowed: they
**   stay valid until the context that owns them is freed.
** - A context is not thread-safe: use one per thread, or lock around it.
**   Contexts share nothing, so different contexts may be used concurrently.
** - The library never aborts, exits or longjmps out of a call.
*/
#ifndef MODFFI_H
#define MODFFI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MFFI_API
#if defined(__GNUC__)
#define MFFI_API __attribute__((visibility("default")))
#else
#define MFFI_API
#endif
#endif

/* -- Version ---------------------------------------------------------- */

#define MFFI_VERSION_MAJOR 0
#define MFFI_VERSION_MINOR 1
#define MFFI_VERSION_PATCH 0
/* 0xMMmmpp: compare with >= to test for a minimum version. */
#define MFFI_VERSION_HEX                                                      \
  ((MFFI_VERSION_MAJOR << 16) | (MFFI_VERSION_MINOR << 8) | MFFI_VERSION_PATCH)

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH".
** Static text. Releases with the same major version are ABI-compatible. */
MFFI_API const char *mffi_version(void);

/* -- Errors ----------------------------------------------------------- */

/* Every error code, once: XX(NAME, value, description). */
#define MFFI_ERR_MAP(XX)                                                      \
  XX(NOMEM, -1, "out of memory")                                              \
  XX(MISUSE, -2, "library misuse (bad argument or call order)")             \
  XX(PARSE, -3, "syntax error in declaration")                                \
  XX(DECL, -4, "invalid declaration")                                         \
  XX(NOTFOUND, -5, "name not found")                                          \
  XX(UNSUPPORTED, -6, "unsupported construct")                                \
  XX(RANGE, -7, "value out of range")                                         \
  XX(NOLIB, -8, "cannot open library")                                        \
  XX(NOSYM, -9, "symbol not found")                                           \
  XX(MISMATCH, -10, "type mismatch")                                          \
  XX(CRASHED, -11, "library process crashed")                                \
  XX(TIMEOUT, -12, "call timed out")                                          \
  XX(DENIED, -13, "denied by policy")                                         \
  XX(PROTOCOL, -14, "protocol violation")                                     \
  XX(IO, -15, "input/output error")

enum {
  MFFI_OK = 0,
#define MFFI__ERR_ENUM(name, value, text) MFFI_E##name = value,
  MFFI_ERR_MAP(MFFI__ERR_ENUM)
#undef MFFI__ERR_ENUM
};

/* Static English text for a return code ("out of memory"); never NULL.
** Unknown codes give "unknown error". */
MFFI_API const char *mffi_strerror(int rc);

/* The symbolic name of a return code ("MFFI_ENOMEM"), or "MFFI_OK";
** static text, "?" for an unknown code. */
MFFI_API const char *mffi_errname(int rc);

/* -- Context ---------------------------------------------------------- */

typedef struct mffi_ctx mffi_ctx;

/* The allocator hook, with Lua's contract: ptr == NULL allocates nsize
** bytes; nsize == 0 frees ptr (osize bytes) and returns NULL; otherwise it
** resizes. A failed allocation or resize returns NULL and leaves ptr as it
** was. Memory must be aligned for any object type (like malloc). `ud` is the
** alloc_ud given in mffi_ctx_opts. */
typedef void *(*mffi_alloc_fn)(void *ud, void *ptr, size_t osize,
                               size_t nsize);

typedef struct mffi_ctx_opts {
  int version;          /* Set to MFFI_CTX_OPTS_VERSION. */
  mffi_alloc_fn alloc;  /* NULL: the C library's realloc/free. */
  void *alloc_ud;       /* Passed to alloc unchanged. */
} mffi_ctx_opts;
#define MFFI_CTX_OPTS_VERSION 1

/* Create a context: a type table, a declaration namespace and the error
** state. opts may be NULL for the defaults. Every allocation the context
** ever makes goes through opts->alloc.
** Returns MFFI_OK, MFFI_ENOMEM, or MFFI_EMISUSE (out is NULL, or opts has an
** unknown version). *out is NULL on failure. */
MFFI_API int mffi_ctx_new(mffi_ctx **out, const mffi_ctx_opts *opts);

/* Free a context and everything it owns (types, declarations, strings).
** mffi_ctx_free(NULL) does nothing. */
MFFI_API void mffi_ctx_free(mffi_ctx *ctx);

/* Detail of the last failure on ctx, e.g. "3:7: ';' expected near 'int'".
** "" if the last call succeeded or gave no detail; "out of memory" after an
** allocation failure (no allocation is needed to report it). The text stays
** valid until the next call on ctx. ctx may be NULL ("" then). */
MFFI_API const char *mffi_errmsg(const mffi_ctx *ctx);

/* Byte offset into the declaration text of the last parse or declaration
** error, or -1 when the last failure had no position. */
MFFI_API long mffi_erroffset(const mffi_ctx *ctx);

/* The return code of the last failing call on ctx, or MFFI_OK. */
MFFI_API int mffi_errcode(const mffi_ctx *ctx);

/* -- Declarations ----------------------------------------------------- */

/* Parse C declarations and add them to ctx. src need not be NUL-terminated;
** len is its length in bytes. Accepts what `gcc -E -P` produces from real
** headers (see docs/cdef.md): typedefs, struct/union/enum definitions,
** function prototypes, extern variables, `#define NAME <integer expr>`, GNU
** attributes, asm renames, and inline function bodies (skipped). Other
** preprocessor lines are ignored.
** All or nothing: on failure nothing of src is added and ctx is as before.
** Returns MFFI_OK; MFFI_EPARSE (syntax); MFFI_EDECL (redefinition,
** conflicting or incomplete type...); MFFI_EUNSUPPORTED; MFFI_ERANGE (a
** constant that does not fit); MFFI_ENOMEM. mffi_errmsg() then says
** "LINE:COL: what near 'TOKEN'" and mffi_erroffset() gives the byte offset. */
MFFI_API int mffi_cdef(mffi_ctx *ctx, const char *src, size_t len);

/* -- Types ------------------------------------------------------------ */

/* A type. Types are interned: within one context, two equal types are the
** same pointer and have the same id, and the same declarations fed to two
** fresh contexts give the same ids. Typedef names are aliases, not types.
** Types are owned by their context. */
typedef struct mffi_type mffi_type;

typedef enum mffi_kind {
  MFFI_KIND_VOID,
  MFFI_KIND_BOOL,     /* _Bool */
  MFFI_KIND_CHAR,     /* plain char (signed on x86-64) */
  MFFI_KIND_SCHAR,
  MFFI_KIND_UCHAR,
  MFFI_KIND_SHORT,
  MFFI_KIND_USHORT,
  MFFI_KIND_INT,
  MFFI_KIND_UINT,
  MFFI_KIND_LONG,
  MFFI_KIND_ULONG,
  MFFI_KIND_LLONG,
  MFFI_KIND_ULLONG,
  MFFI_KIND_INT128,   /* __int128 */
  MFFI_KIND_UINT128,  /* unsigned __int128 */
  MFFI_KIND_FLOAT16,  /* _Float16 */
  MFFI_KIND_FLOAT,
  MFFI_KIND_DOUBLE,
  MFFI_KIND_LDOUBLE,  /* long double (x87 80-bit on x86-64) */
  MFFI_KIND_FLOAT128, /* _Float128, __float128 */
  MFFI_KIND_COMPLEX,  /* _Complex T; mffi_type_target() is T */
  MFFI_KIND_VALIST,   /* __builtin_va_list */
  MFFI_KIND_POINTER,  /* target: the pointee */
  MFFI_KIND_ARRAY,    /* target: the element; mffi_type_length() */
  MFFI_KIND_FUNCTION, /* target: the return type; params, variadic */
  MFFI_KIND_STRUCT,
  MFFI_KIND_UNION,
  MFFI_KIND_ENUM      /* target: the underlying integer type */
} mffi_kind;

/* Qualifier bits, as returned by mffi_type_quals(). */
#define MFFI_QUAL_CONST 1u
#define MFFI_QUAL_VOLATILE 2u
#define MFFI_QUAL_RESTRICT 4u

/* Parse a type name as C writes it in a cast ("struct tm *",
** "int (*)(const void *, const void *)", "size_t[4]") against the
** declarations of ctx, and return the interned type in *out (borrowed).
** Returns MFFI_OK, MFFI_EPARSE, MFFI_ENOTFOUND (unknown typedef name),
** MFFI_EDECL, MFFI_ENOMEM; *out is NULL on failure. Types it creates stay. */
MFFI_API int mffi_typeof(mffi_ctx *ctx, const char *type_expr,
                         const mffi_type **out);

/* The type with the given id, or NULL if there is none. */
MFFI_API const mffi_type *mffi_type_byid(const mffi_ctx *ctx, uint32_t id);

/* The number of types in ctx; ids run from 0 to this minus 1. */
MFFI_API uint32_t mffi_ntypes(const mffi_ctx *ctx);

MFFI_API uint32_t mffi_type_id(const mffi_type *t);
MFFI_API mffi_kind mffi_type_kind(const mffi_type *t);
/* Size in bytes as sizeof gives it; 0 for void, functions, incomplete
** types and flexible arrays. */
MFFI_API size_t mffi_sizeof(const mffi_type *t);
/* Alignment in bytes as _Alignof gives it; 1 for void and functions, 0 for
** an incomplete struct or union. */
MFFI_API size_t mffi_alignof(const mffi_type *t);
/* MFFI_QUAL_* bits of this type (not of its target). */
MFFI_API unsigned mffi_type_quals(const mffi_type *t);
/* The same type without qualifiers and alignment overrides. */
MFFI_API const mffi_type *mffi_type_unqual(const mffi_type *t);
/* Pointee, array element, function return type, enum underlying type or
** complex component; NULL for other kinds. */
MFFI_API const mffi_type *mffi_type_target(const mffi_type *t);
/* Array element count; -1 for a flexible or unsized array; 0 otherwise. */
MFFI_API long mffi_type_length(const mffi_type *t);
/* 1 if the type is complete (sizeof may be applied), else 0. */
MFFI_API int mffi_type_complete(const mffi_type *t);
/* Struct, union or enum tag, or the typedef name that first named an
** anonymous one; NULL if it has neither (or for other kinds). */
MFFI_API const char *mffi_type_tag(const mffi_type *t);

/* Function types: number of fixed parameters, the i-th parameter type (after
** C's adjustments: arrays and functions become pointers, top-level
** qualifiers dropped; NULL if out of range), and 1 if variadic. */
MFFI_API size_t mffi_type_nparams(const mffi_type *t);
MFFI_API const mffi_type *mffi_type_param(const mffi_type *t, size_t i);
MFFI_API int mffi_type_variadic(const mffi_type *t);

/* A member of a struct or union, as laid out. */
typedef struct mffi_field {
  const char *name;       /* NULL for an anonymous struct/union member or
                             an unnamed bit-field. */
  const mffi_type *type;  /* Declared type (for bit-fields, the base). */
  size_t offset;          /* Byte offset from the start of the aggregate;
                             for a bit-field, bit_offset / 8. */
  size_t bit_offset;      /* Bit offset from the start of the aggregate. */
  int bit_width;          /* Width of a bit-field, or -1 if not one. */
} mffi_field;

/* Struct or union: the number of direct members (anonymous members count as
** one; unnamed bit-fields count), and member i. mffi_type_field returns
** MFFI_OK, or MFFI_EMISUSE if t is not a complete struct/union or i is out
** of range. */
MFFI_API size_t mffi_type_nfields(const mffi_type *t);
MFFI_API int mffi_type_field(const mffi_type *t, size_t i, mffi_field *out);

/* Find a member by path, C's way: "a.b[2].c" (members of anonymous
** structs and unions are found by their own names, array indexes are
** constants; an index may run past the declared length, as offsetof allows).
** *out gets the member with offsets from the start of t.
** Returns MFFI_OK, MFFI_ENOTFOUND (no such member), MFFI_EPARSE (bad path),
** MFFI_EMISUSE (t is not an aggregate). */
MFFI_API int mffi_fieldof(const mffi_type *t, const char *path,
                          mffi_field *out);

/* Byte offset of the member at path (see mffi_fieldof). For a bit-field it is
** MFFI_EMISUSE, as offsetof refuses it. */
MFFI_API int mffi_offsetof(const mffi_type *t, const char *path, size_t *out);

/* Write t as C into buf (snprintf-style: at most n bytes with the NUL;
** returns the length the full text needs, excluding the NUL). name, if not
** NULL, is placed as the declarator: ("int (*)(void)", "fp") gives
** "int (*fp)(void)". Structs and unions print as "struct tag" (or their
** typedef name when anonymous and named by a typedef). */
MFFI_API size_t mffi_type_str(const mffi_type *t, const char *name, char *buf,
                              size_t n);

/* -- Declarations, for reading back ------------------------------------ */

typedef struct mffi_decl mffi_decl;

typedef enum mffi_decl_kind {
  MFFI_DECL_TYPEDEF,  /* typedef NAME = type */
  MFFI_DECL_FUNCTION, /* a function prototype */
  MFFI_DECL_VARIABLE, /* an extern variable */
  MFFI_DECL_CONSTANT, /* an enumerator or an integer #define */
  MFFI_DECL_TAG       /* a struct/union/enum definition or forward decl */
} mffi_decl_kind;

/* One argument of an attribute: an integer (a constant expression), or a
** word or string (identifiers such as `read_only` or `free`; string
** literals without their quotes). */
typedef struct mffi_attr_arg {
  const char *str; /* NULL for an integer argument. */
  int64_t num;     /* The integer value; 0 for a string argument. */
} mffi_attr_arg;

/* An attribute as written: __attribute__((name(args...))). The name has its
** leading and trailing "__" removed ("__nonnull__" is "nonnull"). */
typedef struct mffi_attr {
  const char *name;
  size_t nargs;
  const mffi_attr_arg *args;
} mffi_attr;

/* Declarations in the order they were made; a name declared twice (a
** function prototype repeated) appears once, at its first place. */
MFFI_API size_t mffi_ndecls(const mffi_ctx *ctx);
MFFI_API const mffi_decl *mffi_decl_at(const mffi_ctx *ctx, size_t i);
/* The typedef, function, variable or constant called name, or NULL. */
MFFI_API const mffi_decl *mffi_decl_find(const mffi_ctx *ctx,
                                         const char *name);

MFFI_API mffi_decl_kind mffi_decl_kind_of(const mffi_decl *d);
/* The declared name; for MFFI_DECL_TAG, the tag (NULL if anonymous). */
MFFI_API const char *mffi_decl_name(const mffi_decl *d);
/* The name to look up in a shared object: the __asm__ rename, or the name. */
MFFI_API const char *mffi_decl_symbol(const mffi_decl *d);
/* The declared type: the aliased type, the function type, the variable's
** type, the constant's type, or the struct/union/enum. */
MFFI_API const mffi_type *mffi_decl_type(const mffi_decl *d);
/* Constants: the value (enumerators and #defines). */
MFFI_API int64_t mffi_decl_value(const mffi_decl *d);
/* Functions: the name of parameter i as written, or NULL. */
MFFI_API const char *mffi_decl_param_name(const mffi_decl *d, size_t i);
/* Attributes on the declaration (functions, variables, typedefs), in the
** order written. */
MFFI_API size_t mffi_decl_nattrs(const mffi_decl *d);
MFFI_API const mffi_attr *mffi_decl_attr(const mffi_decl *d, size_t i);
/* The first attribute called name ("malloc", "nonnull"...), or NULL. */
MFFI_API const mffi_attr *mffi_decl_attr_find(const mffi_decl *d,
                                              const char *name);

/* Write d back as one line of C that a compiler accepts (snprintf-style,
** see mffi_type_str), ending with ';' and without a newline. Struct and
** union definitions are printed whole, with the attributes that change the
** layout; functions and variables keep the attributes that matter to modffi
** and their asm rename; constants print as "#define NAME VALUE" or, for
** enumerators, as a comment (they print within their enum). */
MFFI_API size_t mffi_decl_str(const mffi_decl *d, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
