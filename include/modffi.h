/* modffi: modular foreign function bindings for C. See LICENSE.
**
** This header is the API reference. Conventions that hold everywhere:
**
** - Functions that can fail return MFFI_OK (0) or a negative MFFI_E* code;
**   mffi_strerror() names the code and mffi_errmsg() gives the detail of the
**   last failure on a context by the calling thread (with line:col for
**   declaration errors).
** - Out-parameters come last and are set to NULL (or 0) on failure.
** - NULL in, zero out: every accessor here (mffi_type_*, mffi_sizeof,
**   mffi_alignof, mffi_decl_*, mffi_fn_*, mffi_lib_*, mffi_closure_code)
**   given a NULL object returns the zero of its result (0, NULL,
**   MFFI_KIND_VOID, MFFI_DECL_TYPEDEF, MFFI_PATH_NONE), and a function that
**   can fail returns MFFI_EMISUSE. (The accessors of modffi_strategy.h,
**   which the front calls for a strategy with live objects only, do not
**   check.)
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

/* -- Version --------------------------------------------------------------- */

#define MFFI_VERSION_MAJOR 0
#define MFFI_VERSION_MINOR 2
#define MFFI_VERSION_PATCH 0
/* 0xMMmmpp: compare with >= to test for a minimum version. */
#define MFFI_VERSION_HEX                                                      \
  ((MFFI_VERSION_MAJOR << 16) | (MFFI_VERSION_MINOR << 8) | MFFI_VERSION_PATCH)

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH".
** Static text. Releases with the same major version are ABI-compatible. */
MFFI_API const char *mffi_version(void);

/* -- Errors ---------------------------------------------------------------- */

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
  XX(IO, -15, "input/output error")                                          \
  XX(VIOLATION, -16, "rule violation refused (checked strategy)")

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

/* -- Context --------------------------------------------------------------- */

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

/* Free a context and everything it owns (types, declarations, strings),
** closing first, as mffi_close() does, every library still open on it
** (newest first; their functions, closures and mffi_new() memory go with
** them, so pointers to those are invalid afterwards, as is any mffi_lib
** pointer of ctx). mffi_ctx_free(NULL) does nothing. */
MFFI_API void mffi_ctx_free(mffi_ctx *ctx);

/* The error state: the detail of the last failure on ctx made by the
** calling thread. Each thread has its own, so threads that use one context
** (where that is allowed, e.g. mffi_call) never see each other's failures.
** When it is valid: every function of this header that returns a code and
** can reach a context (through ctx, lib, fn or a type) records its failure
** there, and a call that returns MFFI_OK clears it (but mffi_call(), whose
** success leaves it alone: the call path does not touch it); functions that
** return
** no code (accessors, mffi_sizeof...) leave it alone, except mffi_delete,
** which records a misuse. So right after a call returned an error,
** mffi_errcode() is that code and mffi_errmsg() its detail; after a later
** successful call both are cleared. A thread keeps the state of its 8 most
** recently failing contexts; an older one reads as if there were none.
**
** mffi_errmsg: the detail, e.g. "3:7: ';' expected near 'int'". "" if the
** last call succeeded, gave no detail, or this thread made no failing call
** on ctx; "out of memory" after an allocation failure (no allocation is
** needed to report it). The text stays valid until this thread's next call
** on ctx (or on 8 other contexts). ctx may be NULL ("" then). */
MFFI_API const char *mffi_errmsg(const mffi_ctx *ctx);

/* Byte offset into the declaration text of the last parse or declaration
** error (as for mffi_errmsg: this thread's), or -1 when the last failure
** had no position. */
MFFI_API long mffi_erroffset(const mffi_ctx *ctx);

/* The return code of this thread's last failing call on ctx (see
** mffi_errmsg), or MFFI_OK. */
MFFI_API int mffi_errcode(const mffi_ctx *ctx);

/* -- Declarations ---------------------------------------------------------- */

/* Parse C declarations and add them to ctx. src need not be NUL-terminated;
** len is its length in bytes. Accepts what `gcc -E -P` produces from real
** headers (see docs/cdef.md): typedefs, struct/union/enum definitions,
** function prototypes, extern variables, `#define NAME <integer expr>`, GNU
** attributes, asm renames, and inline function bodies (skipped). Other
** preprocessor lines are ignored.
** All or nothing: on failure nothing of src is added and ctx is as before,
** also when one declaration cannot be represented (MFFI_EUNSUPPORTED);
** the modffi command line skips those with a note (docs/cdef.md).
** Returns MFFI_OK; MFFI_EPARSE (syntax); MFFI_EDECL (redefinition,
** conflicting or incomplete type, structs/unions/arrays nested more than
** 1024 levels deep...); MFFI_EUNSUPPORTED; MFFI_ERANGE (a constant that
** does not fit, an object over 2^59 bytes); MFFI_ENOMEM. mffi_errmsg() then
** says "LINE:COL: what near 'TOKEN'" (or "FILE:LINE:COL: ..." after a line
** marker) and mffi_erroffset() gives the byte offset.
** Limits, so that time and memory stay linear in len whatever the input
** (docs/cdef.md, "Limits"): len below 2 GiB; nesting of declarators and
** expressions 200 (MFFI_EPARSE); 65536 pointer, array and function steps in
** one declarator; 65536 parameters of one function; 2^20 members of one
** struct or union or enumerators of one enum (MFFI_ERANGE beyond each). */
MFFI_API int mffi_cdef(mffi_ctx *ctx, const char *src, size_t len);

/* -- Types ----------------------------------------------------------------- */

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
/* 1 for a signed integer type: signed char, short, int, long, long long,
** __int128, plain char where the ABI makes it signed (x86-64 does), an enum
** whose underlying type is signed, and typedefs and qualified versions of
** these; 0 for every other type. */
MFFI_API int mffi_type_is_signed(const mffi_type *t);

/* 1 for a function type with a prototype; 0 for one declared without
** (`double sqrt()`: called with C's default argument promotions, as the
** variadic part of a call; bind it with mffi_bind_variadic()) and for
** other kinds. */
MFFI_API int mffi_type_prototyped(const mffi_type *t);

/* Calling conventions a function type can have. MFFI_CC_DEFAULT is the
** platform's C convention (System V on x86-64 Linux); MFFI_CC_MS_ABI the
** Microsoft x64 one, which GCC and Clang give a function declared with
** __attribute__((ms_abi)) (Wine, UEFI, code shared with Windows). The
** convention is part of the type: an ms_abi function type is a type of its
** own, as in C. */
typedef enum mffi_callconv {
  MFFI_CC_DEFAULT = 0,
  MFFI_CC_MS_ABI = 1
} mffi_callconv;

/* The calling convention of function type t (MFFI_CC_DEFAULT for other
** kinds and NULL). The attribute may be written where GCC takes it: on the
** declaration (`int f(int) __attribute__((ms_abi))`), in its specifiers,
** at the start of a nested declarator (`int (__attribute__((ms_abi))
** *fp)(int)`), or on a pointer to the function, which passes it on to the
** function type; sysv_abi names the default. Calls, callbacks and the
** generated wrappers follow the type's convention. */
MFFI_API mffi_callconv mffi_type_callconv(const mffi_type *t);

/* Enum types: the number of enumerators (0 for an incomplete enum or
** another kind), and enumerator i in declaration order: its name and
** value (either pointer may be NULL). Returns MFFI_OK, or MFFI_EMISUSE
** if t is not an enum or i is out of range. */
MFFI_API size_t mffi_type_nenumerators(const mffi_type *t);
MFFI_API int mffi_type_enumerator(const mffi_type *t, size_t i,
                                  const char **name, int64_t *value);

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
** non-negative integer constants). *out gets the member with offsets from
** the start of t.
** As GCC's offsetof does, this computes an offset only, so an index may run
** past the declared length (and into a flexible array member): "arr[3]" of
** `int arr[3]` is the offset one past the end. That is the only place an
** index is not checked: mffi_field_get/mffi_field_set, which touch memory,
** refuse such a path with MFFI_ERANGE.
** Returns MFFI_OK, MFFI_ENOTFOUND (no such member), MFFI_EPARSE (bad path),
** MFFI_EMISUSE (t is not an aggregate), MFFI_ERANGE (the offset would be
** over 2^59 bytes, the largest object modffi lays out). */
MFFI_API int mffi_fieldof(const mffi_type *t, const char *path,
                          mffi_field *out);

/* Byte offset of the member at path (see mffi_fieldof). For a bit-field it is
** MFFI_EMISUSE, as offsetof refuses it. */
MFFI_API int mffi_offsetof(const mffi_type *t, const char *path, size_t *out);

/* Write t as C into buf (snprintf-style: at most n bytes with the NUL;
** returns the length the full text needs, excluding the NUL). name, if not
** NULL, is placed as the declarator: ("int (*)(void)", "fp") gives
** "int (*fp)(void)". Structs and unions print as "struct tag" (or their
** typedef name when anonymous and named by a typedef); a type whose
** alignment was changed by a typedef's aligned(N) prints as that typedef's
** name. _Float32/_Float64/_Float32x/_Float64x keep their spelling: GCC
** treats them as types of their own. A type nested more than 200 levels
** deep (declarator levels plus nested parameter lists and bodies) prints
** "..." in place of its inner part, so the text is then not C. */
MFFI_API size_t mffi_type_str(const mffi_type *t, const char *name, char *buf,
                              size_t n);

/* -- Declarations, for reading back ---------------------------------------- */

typedef struct mffi_decl mffi_decl;

typedef enum mffi_decl_kind {
  MFFI_DECL_TYPEDEF,  /* typedef NAME = type */
  MFFI_DECL_FUNCTION, /* a function prototype */
  MFFI_DECL_VARIABLE, /* an extern variable */
  MFFI_DECL_CONSTANT, /* an enumerator or an integer #define */
  MFFI_DECL_TAG       /* a struct/union/enum definition or forward decl */
} mffi_decl_kind;

/* One argument of an attribute: an integer (a constant expression), or a
** word or string. Identifiers (`read_only`, `free`) are stored bare, with
** GCC's "__x__" spelling reduced to "x"; string literals are stored as
** written, double quotes included (`"use g instead"`), so the two can be
** told apart; an argument that is neither (`sizeof(x) * n` when it cannot
** be evaluated) is stored as its source text. */
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
** layout; functions and variables keep their attributes and their asm
** rename (a function whose malloc(dealloc) names itself, as glibc's
** reallocarray does, prints as two declarations on the line, since GCC
** accepts that only on a redeclaration); thread-local variables print with
** _Thread_local; constants print as "#define NAME VALUE" (no ';') or, for
** enumerators, as a comment (they print within their enum). */
MFFI_API size_t mffi_decl_str(const mffi_decl *d, char *buf, size_t n);

/* -- Libraries and calls --------------------------------------------------- */

/* A strategy: how a library is linked and how calls reach it (see
** modffi_strategy.h and DESIGN.md). Strategies are static values; the
** built-in ones are found by name with mffi_strategy_find(). */
typedef struct mffi_strategy mffi_strategy;

/* An open library: a shared object (or the running process) reached
** through one strategy. Close it with mffi_close(); mffi_ctx_free() closes
** the libraries still open on the context. Several libraries may be open on
** one context. */
typedef struct mffi_lib mffi_lib;

/* A bound symbol: a function ready to call, or an extern variable (bound to
** its address). Owned by its library; freed by mffi_close() or earlier by
** mffi_fn_free(). */
typedef struct mffi_fn mffi_fn;

/* A callback: a code pointer that C can call and that runs a handler.
** Owned by its library; freed by mffi_close() or mffi_closure_free(). */
typedef struct mffi_closure mffi_closure;

/* The built-in strategy called name ("dynamic"), or one added with
** mffi_strategy_register(); NULL if there is none. The result is static
** (valid until it is unregistered). Thread-safe. */
MFFI_API const mffi_strategy *mffi_strategy_find(const char *name);

/* The name of strategy s ("dynamic", "remote"...); static text, "" for
** NULL. */
MFFI_API const char *mffi_strategy_name(const mffi_strategy *s);

/* Make a strategy findable by its name (s->name) until it is unregistered.
** s must stay valid until then; it is not copied. The registry is
** process-global with a fixed capacity of 16 strategies. Thread-safe.
** Returns MFFI_OK; MFFI_EMISUSE (NULL, no name, unknown version, name
** taken); MFFI_ENOMEM (16 strategies are registered: unregister one). */
MFFI_API int mffi_strategy_register(const mffi_strategy *s);

/* Remove s (the pointer given to mffi_strategy_register()) from the
** registry, e.g. before the plug-in that defines it is dlclosed; libraries
** opened through s must be closed first (they call into it). The built-in
** strategies cannot be removed. Thread-safe. Returns MFFI_OK; MFFI_EMISUSE
** (s is NULL); MFFI_ENOTFOUND (s is not registered). */
MFFI_API int mffi_strategy_unregister(const mffi_strategy *s);

/* Options for mffi_open(). */
typedef struct mffi_open_opts {
  int version;               /* Set to MFFI_OPEN_OPTS_VERSION. */
  unsigned flags;            /* MFFI_OPEN_* bits. */
  const void *strategy_opts; /* Strategy-specific options, or NULL (see the
                                strategy's documentation). */
} mffi_open_opts;
#define MFFI_OPEN_OPTS_VERSION 1

/* Never use modffi's own call code: every call goes through libffi (dynamic
** strategy). For tests and benchmarks that compare both paths. libffi
** cannot place a variadic stack argument aligned to more than 16 bytes:
** binding such a call then fails with MFFI_EUNSUPPORTED. */
#define MFFI_OPEN_FFI_ONLY 0x1u
/* Make the library's symbols available to later loads (RTLD_GLOBAL). */
#define MFFI_OPEN_GLOBAL 0x2u
/* Resolve function symbols on first call (RTLD_LAZY); default is at open
** (RTLD_NOW), so missing dependencies fail mffi_open() cleanly. */
#define MFFI_OPEN_LAZY 0x4u

/* Open target through strategy s (NULL: "dynamic").
** target: a path ("./libfoo.so", contains '/') or a soname searched as
** dlopen() does ("libm.so.6"); NULL means the running process and the
** libraries it has loaded. opts may be NULL for defaults.
** Declarations are looked up in ctx when binding; they may be added with
** mffi_cdef() before or after the open.
** Returns MFFI_OK; MFFI_ENOLIB ("cannot open 'libfoo.so': <dlerror>" in
** mffi_errmsg(ctx)); MFFI_ENOMEM; MFFI_EMISUSE (ctx or out NULL, bad opts
** version); or a strategy's own error. *out is NULL on failure.
** Uses ctx: not thread-safe with other calls on the same context. */
MFFI_API int mffi_open(mffi_ctx *ctx, const mffi_strategy *s,
                       const char *target, const mffi_open_opts *opts,
                       mffi_lib **out);

/* Start a failed library afresh. A remote library whose sandbox died
** (MFFI_ECRASHED, MFFI_ETIMEOUT, MFFI_EDENIED, MFFI_EPROTOCOL) stays failed:
** every later call returns that code at once. mffi_reopen() starts a new
** sandbox; afterwards every mffi_fn of lib is bound again and every
** mffi_closure made again (its mffi_closure_code() may change: pass it to
** the library anew), while memory from mffi_new() is gone (its pointers are
** dangling, as after mffi_delete()). On a library that has not failed it
** does the same (a restart). For strategies that cannot fail (dynamic,
** static) it only rebinds. Returns MFFI_OK, MFFI_EMISUSE (lib NULL), or the
** error of the restart (the library then stays failed) or of the first
** function or closure that could not be made again (the others are). */
MFFI_API int mffi_reopen(mffi_lib *lib);
/* The code every call on lib returns since it failed (MFFI_ECRASHED,
** MFFI_ETIMEOUT, MFFI_EDENIED, MFFI_EPROTOCOL), MFFI_OK while it works,
** MFFI_EMISUSE for NULL. */
MFFI_API int mffi_lib_failed(const mffi_lib *lib);

/* Close a library: frees its bound symbols, closures and memory from
** mffi_new(), then releases the library. Pointers into it (functions,
** variables, closure code) are invalid afterwards. mffi_close(NULL) does
** nothing. */
MFFI_API void mffi_close(mffi_lib *lib);

/* The context a library was opened on, its strategy, and the target as
** given (NULL for the running process). Borrowed. */
MFFI_API mffi_ctx *mffi_lib_ctx(const mffi_lib *lib);
MFFI_API const mffi_strategy *mffi_lib_strategy(const mffi_lib *lib);
MFFI_API const char *mffi_lib_target(const mffi_lib *lib);

/* Bind the function or extern variable declared as `name` in the library's
** context: resolve its symbol (the asm rename if there is one) and, for a
** function, prepare the call once, so mffi_call() is cheap.
** A variadic function bound this way is called with its fixed arguments
** only; use mffi_bind_variadic() to pass more.
** Returns MFFI_OK; MFFI_ENOTFOUND ("'baz' is not declared"); MFFI_EMISUSE
** (name is a typedef or constant, NULL arguments); MFFI_ENOSYM ("symbol 'bar'
** not found in libm.so.6"); MFFI_EUNSUPPORTED (a parameter or return type
** the strategy cannot pass: an incomplete struct by value, a struct or
** union over 64 KiB by value, which would be copied onto the stack, a GCC
** vector over 16 bytes or a struct holding one, whose ABI depends on
** whether the library was built with -mavx); MFFI_ENOMEM. *out is NULL on
** failure. Every scalar goes by value, and so do complex types (float,
** double, long double, _Float16, and GCC's complex integers) and, on
** x86-64, GCC vectors of up to 16 bytes, _Float16 and _Float128, alone or
** in structs and unions, where GCC puts them (the libffi path,
** MFFI_OPEN_FFI_ONLY, and callbacks refuse those in SSE registers).
** Binding the same name twice gives two independent mffi_fn objects. */
MFFI_API int mffi_bind(mffi_lib *lib, const char *name, mffi_fn **out);

/* Bind a variadic function for calls with nvar extra arguments of the
** given types (after the fixed ones). The types are those of the values
** the caller passes; C's default argument promotions are applied by the
** call (a float is passed as a double, _Bool/char/short as int), so pass
** a `float` value for a float type. Bind once per distinct argument list
** and reuse the mffi_fn. Returns as mffi_bind(), and MFFI_EMISUSE if the
** function is not variadic (and nvar > 0), or a type is void, a function
** or an array. */
MFFI_API int mffi_bind_variadic(mffi_lib *lib, const char *name,
                                const mffi_type *const *var_types,
                                size_t nvar, mffi_fn **out);

/* Bind a function by address rather than by name: addr is a function
** pointer obtained elsewhere (a struct member, a library's return value),
** and type is its function type or pointer-to-function type. Returns as
** mffi_bind() (no symbol lookup). */
MFFI_API int mffi_bind_ptr(mffi_lib *lib, const mffi_type *type, void *addr,
                           mffi_fn **out);

/* mffi_bind_ptr() for a variadic function type called with nvar extra
** arguments of the types var_types[0..nvar-1], as mffi_bind_variadic()
** does for a name (the same promotions, the same errors). nvar may be 0;
** var_types may be NULL then. */
MFFI_API int mffi_bind_ptr_variadic(mffi_lib *lib, const mffi_type *type,
                                    void *addr,
                                    const mffi_type *const *var_types,
                                    size_t nvar, mffi_fn **out);

/* Free a bound symbol before mffi_close(). mffi_fn_free(NULL) does
** nothing. */
MFFI_API void mffi_fn_free(mffi_fn *fn);

/* Call fn. args[i] points at the value of the i-th argument, an object of
** the parameter's type (for the variadic part: of the type given to
** mffi_bind_variadic()); args may be NULL when there are no arguments. ret
** receives the return value, written at exactly the C size of the return
** type (a `char` return writes 1 byte); ret may be NULL to discard it, and
** is ignored for void (a discarded struct return over 256 bytes, which the
** callee must still be given room for, takes a scratch block from the
** context's allocator for the call: MFFI_ENOMEM if there is none). ret and each args[i] must be aligned for their type.
** errno is not touched before the call; right after it, errno is saved for
** mffi_errno().
** Returns MFFI_OK; MFFI_EMISUSE (fn NULL, fn is a variable, args NULL with
** arguments expected); remote: MFFI_ECRASHED, MFFI_ETIMEOUT, MFFI_EDENIED,
** MFFI_EPROTOCOL. Error details go to the library's context.
** Thread safety: dynamic: any number of threads may call the same fn at
** once (nothing is written but on failure); other strategies say. */
MFFI_API int mffi_call(mffi_fn *fn, void *ret, void *const *args);

/* The errno value saved right after the last mffi_call() on this thread
** (whatever the fn or context), as ctypes' use_errno and cffi's ffi.errno
** do; 0 if this thread made no call. Thread-local; async-signal unsafe. */
MFFI_API int mffi_errno(void);

/* Set this thread's saved errno value (e.g. to 0 before a call whose
** failure is signalled only by errno, when other code may run between). */
MFFI_API void mffi_set_errno(int value);

/* The type fn was bound with: a function type (for a function, including
** for mffi_bind_ptr a pointer type's target) or the variable's type.
** Borrowed from the context. */
MFFI_API const mffi_type *mffi_fn_type(const mffi_fn *fn);
/* The bound address: the function's code or the variable's storage (in the
** library's address space; for remote, not dereferenceable by the host). */
MFFI_API void *mffi_fn_addr(const mffi_fn *fn);
/* The declared name (NULL for mffi_bind_ptr). Borrowed. */
MFFI_API const char *mffi_fn_name(const mffi_fn *fn);
/* 1 if fn is a variable (bound to its address), 0 for a function. */
MFFI_API int mffi_fn_is_var(const mffi_fn *fn);
/* The number of arguments a call takes (fixed + variadic). */
MFFI_API size_t mffi_fn_nargs(const mffi_fn *fn);
/* The type of argument i as the caller passes it, or NULL. */
MFFI_API const mffi_type *mffi_fn_arg_type(const mffi_fn *fn, size_t i);

/* How mffi_call() reaches the function (see mffi_fn_path()). */
#define MFFI_PATH_NONE 0  /* A variable, or a strategy with no such notion. */
#define MFFI_PATH_FAST 1  /* modffi's own call code runs the bind-time plan
                             (x86-64: every signature; registers, stack
                             area, memory returns). */
#define MFFI_PATH_FFI 2   /* libffi, with the call description prepared:
                             other targets, MFFI_OPEN_FFI_ONLY. */
#define MFFI_PATH_DIRECT 3 /* A generated direct call (static strategy). */
MFFI_API int mffi_fn_path(const mffi_fn *fn);

/* The function's address when it may be called natively, in this process,
** with the C type of its declaration (a variadic function through a
** pointer of its variadic type, so that C's promotions apply): so for the
** dynamic and static strategies; NULL for variables and for strategies
** that must see every call (remote, checked). Code that knows the type at
** compile time (the wrappers modffi gen writes) calls through it. */
MFFI_API void *mffi_fn_native(const mffi_fn *fn);

/* -- Remote strategy ------------------------------------------------------- */

/* mffi_strategy_find("remote") runs the library in a separate, confined
** modffi-sandbox process (docs/sandbox.md): a crash, a deadline or a denied
** system call there becomes an error code here. Calls cross a shared
** arena mapped at the same address in both processes; arguments are
** marshalled by each function's plan (modffi_strategy.h,
** docs/marshalling.md). Give these options as mffi_open_opts.strategy_opts
** (NULL: all defaults). They are copied at open. */
typedef struct mffi_remote_opts {
  int version;           /* MFFI_REMOTE_OPTS_VERSION. */
  unsigned timeout_ms;   /* Deadline of each call; 0: none. Past it the
                            sandbox is killed and the call returns
                            MFFI_ETIMEOUT. */
  const char *policy;    /* NULL or "compute" (default: memory, time, futex;
                            no files, no network, no processes), or
                            "files:DIR" (compute plus read-only access to
                            files under the absolute directory DIR). */
  unsigned flags;        /* MFFI_REMOTE_* bits. */
  size_t arena_size;     /* Bytes of shared memory; 0: 64 MiB. A quarter
                            holds each call's marshalled buffers, the rest
                            mffi_new() blocks. */
  unsigned max_closures; /* Live callbacks at most; 0: 64. */
  const char *sandbox;   /* Path of modffi-sandbox; NULL: $MFFI_SANDBOX,
                            then beside the loaded libmodffi or the running
                            program, then the installed libexec path. */
  uint64_t as_limit;     /* RLIMIT_AS of the sandbox in bytes; 0: 16 GiB.
                            Not applied in builds with AddressSanitizer. */
  unsigned cpu_seconds;  /* RLIMIT_CPU of the sandbox; 0: none. */
} mffi_remote_opts;
#define MFFI_REMOTE_OPTS_VERSION 1

/* Fail mffi_open() when any confinement layer cannot be applied, instead
** of running with fewer (which mffi_remote_info() reports). */
#define MFFI_REMOTE_STRICT 0x1u
/* Keep the sandbox's stderr (for debugging a library); default: closed. */
#define MFFI_REMOTE_STDERR 0x2u

/* Confinement layers, one bit each (mffi_remote_info()). */
#define MFFI_LAYER_EXEC 0x001u      /* A fresh exec: no host memory. */
#define MFFI_LAYER_ENV 0x002u       /* Empty environment. */
#define MFFI_LAYER_FDS 0x004u       /* Every fd closed but the channel. */
#define MFFI_LAYER_PDEATHSIG 0x008u /* Killed when the host dies. */
#define MFFI_LAYER_RLIMITS 0x010u   /* Address space, CPU, files,
                                       processes. */
#define MFFI_LAYER_NNP 0x020u       /* no_new_privs. */
#define MFFI_LAYER_SECCOMP 0x040u   /* System call filter (the policy). */
#define MFFI_LAYER_LANDLOCK 0x080u  /* File access rules (the policy). */
#define MFFI_LAYER_USERNS 0x100u    /* New user namespace. */
#define MFFI_LAYER_PIDNS 0x200u     /* New pid namespace. */
#define MFFI_LAYER_NETNS 0x400u     /* New network namespace. */
#define MFFI_LAYER_IPCNS 0x800u     /* New IPC namespace. */
#define MFFI_LAYER_ALL 0xfffu

/* What a remote library's sandbox runs under. */
typedef struct mffi_remote_info {
  unsigned layers;     /* MFFI_LAYER_* bits applied. */
  unsigned missing;    /* MFFI_LAYER_* bits that could not be applied. */
  long pid;            /* The sandbox's process id (host's view), or 0
                          while the library is failed. */
  const char *policy;  /* The policy text ("compute", "files:/srv"). */
  const char *sandbox; /* Path of the sandbox executable. */
  const char *detail;  /* Why each missing layer is missing ("" if none). */
  int shared_heap;     /* 1: the library's malloc allocates in the arena,
                          so what it returns (a strdup'ed string, a buffer
                          to fill) is host-readable at the same address
                          and passes back as it is; 0 in sanitizer builds
                          of the sandbox, whose runtime keeps its heap. */
} mffi_remote_info;

/* Describe the sandbox of remote library lib into *out (strings borrowed
** from lib, valid until it is closed or reopened). Returns MFFI_OK, or
** MFFI_EMISUSE if lib is not a remote library. */
MFFI_API int mffi_remote_info_get(mffi_lib *lib, mffi_remote_info *out);

/* The static name of one MFFI_LAYER_* bit ("seccomp"); "?" otherwise. */
MFFI_API const char *mffi_layer_name(unsigned layer);

/* -- Memory ---------------------------------------------------------------- */

/* Allocate n zeroed objects of type t in memory the library can see
** (dynamic: the heap, through the context's allocator; remote: the shared
** arena). Aligned for t. *out is released with mffi_delete() or at
** mffi_close(). Returns MFFI_OK; MFFI_EMISUSE (t incomplete, void or a
** function; n == 0); MFFI_ERANGE (n * sizeof t is over 2^59 bytes, the
** largest object modffi lays out: such a size never reaches the allocator);
** MFFI_ENOMEM. *out is NULL on failure. */
MFFI_API int mffi_new(mffi_lib *lib, const mffi_type *t, size_t n,
                      void **out);

/* Drop the caller's reference to p from mffi_new(). The memory is freed
** when nothing keeps it alive any more (see mffi_keep()); freeing it drops
** what it keeps. mffi_delete(lib, NULL) does nothing. Deleting a pointer
** that did not come from mffi_new() on lib, or deleting twice, is ignored
** (and recorded as MFFI_EMISUSE in mffi_errmsg()). */
MFFI_API void mffi_delete(mffi_lib *lib, void *p);

/* Keep-alive: dependent (from mffi_new() on lib) stays allocated at least
** as long as owner (also from mffi_new() on lib): the struct that holds a
** pointer keeps its target. The caller may mffi_delete(dependent) right
** after; it is freed with owner. A dependent may have several owners;
** cycles are never freed before mffi_close().
** Returns MFFI_OK, MFFI_EMISUSE (either pointer not from mffi_new() on
** lib, or owner == dependent), MFFI_ENOMEM. */
MFFI_API int mffi_keep(mffi_lib *lib, void *owner, void *dependent);

/* Copy n bytes from library memory lib_src to host memory dst (read), or
** from src into library memory lib_dst (write). When the library address
** falls in a block from mffi_new(), the range must fit in the block.
** Returns MFFI_OK, MFFI_ERANGE (out of the block), MFFI_EMISUSE (NULL
** pointer with n > 0); remote may add MFFI_EDENIED. */
MFFI_API int mffi_read(mffi_lib *lib, void *dst, const void *lib_src,
                       size_t n);
MFFI_API int mffi_write(mffi_lib *lib, void *lib_dst, const void *src,
                        size_t n);

/* Get or set the member at path ("a.b[2].c", see mffi_fieldof()) of the
** object of struct/union type t at obj, in host memory. value points at an
** object of the member's type (for a bit-field: of its declared type; set
** truncates to the width, get sign- or zero-extends). Thread-safe.
** Every index in path must lie within its array ("arr[2]" at most for
** `int arr[3]`; none into a flexible array member, which is not part of t):
** only bytes of the object are read or written.
** Returns MFFI_OK, MFFI_ENOTFOUND, MFFI_EPARSE, MFFI_EMISUSE (NULL
** pointer, t not an aggregate), MFFI_ERANGE (an index out of its array). */
MFFI_API int mffi_field_get(const mffi_type *t, const void *obj,
                            const char *path, void *value);
MFFI_API int mffi_field_set(const mffi_type *t, void *obj, const char *path,
                            const void *value);

/* -- Callbacks ------------------------------------------------------------- */

/* A callback's handler. args[i] points at the value of argument i (of the
** parameter's type; read-only, valid during the call). ret points at a
** zeroed buffer of the return type's size (NULL for void) for the handler to
** fill. data is the pointer given to mffi_callback(). The handler must not
** longjmp or unwind out. It runs on the thread that calls the code pointer. */
typedef void (*mffi_handler)(void *ret, void *const *args, void *data);

/* Make a code pointer of function type fnptr_type (a function type or a
** pointer to one; not variadic: see mffi_callback_variadic()) that runs
** h(ret, args, data) when called.
** Every scalar type and struct/union by value is supported as argument and
** return, as for mffi_call(). Returns MFFI_OK; MFFI_EMISUSE (not a function
** type, variadic, NULL h); MFFI_EUNSUPPORTED; MFFI_ENOMEM. *out is NULL on
** failure. data is borrowed, never freed by modffi. */
MFFI_API int mffi_callback(mffi_lib *lib, const mffi_type *fnptr_type,
                           mffi_handler h, void *data, mffi_closure **out);

/* Make a code pointer of variadic function type fnptr_type (a function type
** with "...", or a pointer to one) for C callers that pass, after the fixed
** parameters, exactly nvar more arguments of the types var_types[0..nvar-1]
** (like mffi_bind_variadic() for calls). The handler runs as for
** mffi_callback(), with args[0..nfixed-1] the fixed arguments and
** args[nfixed..nfixed+nvar-1] the variadic ones. A C caller passes a
** variadic value after the default argument promotions (float as double,
** _Bool/char/short as int): give the types as the handler should see the
** values. A float type, for instance, means the caller passes a double
** (as it does for a float expression) and args[i] points at a float
** converted from it; a double type receives the double unchanged; a char
** type, the low byte of the int the caller passed. A C caller may call
** the code with another variadic argument list only if it is the same
** after promotions. nvar may be 0; var_types may be NULL then. The
** closure serves one argument list: make one per list.
** Returns as mffi_callback(), and MFFI_EMISUSE if the type is not
** variadic, var_types is NULL with nvar > 0, or a variadic type is NULL,
** of another context, void, a function or an array; MFFI_EUNSUPPORTED if
** the strategy has no variadic callbacks (remote) or there are more than
** 127 arguments in all. mffi_closure_free() frees it. */
MFFI_API int mffi_callback_variadic(mffi_lib *lib, const mffi_type *fnptr_type,
                                    const mffi_type *const *var_types,
                                    size_t nvar, mffi_handler h, void *data,
                                    mffi_closure **out);

/* The pointer to pass to C where a function pointer of the closure's type
** is expected. Valid until the closure is freed. */
MFFI_API void *mffi_closure_code(const mffi_closure *c);

/* Free a closure; C must not call its code afterwards.
** mffi_closure_free(NULL) does nothing. */
MFFI_API void mffi_closure_free(mffi_closure *c);

/* -- Checked strategy ------------------------------------------------------ */

/* The checked decorator (docs/checked.md) runs the rules that a function's
** declaration states (GCC attributes: malloc(dealloc), access, alloc_size,
** nonnull, null_terminated_string_arg, returns_nonnull,
** warn_unused_result) before each call reaches an inner strategy, and
** refuses a violation with MFFI_EVIOLATION; the library never sees the
** refused call (a NULL result despite returns_nonnull is reported after
** the call, with MFFI_EVIOLATION too). It tracks the blocks that malloc-attributed functions
** return and those from mffi_new() on the checked library, and refuses a
** second release, a release by the wrong deallocator, any use after
** release, a buffer larger than its block, NULL for a nonnull parameter,
** and a struct argument whose pointer member points into a released block.
** mffi_errmsg() names the function, the parameter (and member), the rule,
** and where the block was allocated and released, e.g.
**   "free_buffer: argument 1 'buf': double release of a block of 64 bytes
**    allocated by allocate_buffer and released by free_buffer".
** By name: mffi_strategy_find("checked") (over "dynamic"),
** "checked:static", "checked:remote", or "checked:NAME" for any strategy
** mffi_strategy_find() knows (made on the first lookup, which is then not
** thread-safe, as registration is not). mffi_open_opts.strategy_opts is
** handed to the inner strategy unchanged. Thread safety: calls on one checked
** library must not overlap unless MFFI_CHECKED_SHARED is set (then a lock
** guards the block table; a block released by one thread while another
** passes it is still not caught). Functions no rule applies to may always
** be called concurrently, as on the inner strategy. */

/* The checked decorator over inner (NULL: "dynamic"). The result is static
** and lives for the process; asking twice for the same inner gives the same
** strategy. inner must stay valid. NULL when the fixed-size cache (16
** decorators besides the built-in ones) is full. Not thread-safe: make the
** strategies before other threads use them. */
MFFI_API const mffi_strategy *mffi_checked_strategy(
    const mffi_strategy *inner);

/* Bits of mffi_checked_opts.flags. */
/* Audit: record each violation (counter, report callback, mffi_errmsg)
** and let the call through, for auditing an existing program. */
#define MFFI_CHECKED_AUDIT 0x1u
/* Thread affinity: the library is single-threaded; a block it returned
** (or from mffi_new) may only be passed on the thread that made it. */
#define MFFI_CHECKED_AFFINITY 0x2u
/* Shared: calls on the library may run on several threads at once; the
** block table is then locked (atomic operations on every checked call,
** which then always takes the slower full path). Without it, calls on one
** checked library must not overlap. */
#define MFFI_CHECKED_SHARED 0x4u

/* A tracked block, as reported. Borrowed for the duration of the
** callback. */
typedef struct mffi_checked_block {
  const void *addr;         /* Start of the block (library address). */
  size_t size;              /* Size in bytes; 0 with size_known == 0. */
  int size_known;           /* alloc_size or mffi_new gave a size. */
  const char *allocated_by; /* The function, or "mffi_new". */
  const char *dealloc;      /* The deallocator it needs ("mffi_delete"
                               for mffi_new), or NULL if none is declared. */
} mffi_checked_block;

typedef enum mffi_checked_kind {
  MFFI_CHECKED_VIOLATION, /* A rule was broken (refused unless audit). */
  MFFI_CHECKED_LEAK       /* At mffi_close: a block from a malloc(dealloc)
                             function was never released. */
} mffi_checked_kind;

/* What the report callback receives. */
typedef struct mffi_checked_event {
  mffi_checked_kind kind;
  const char *function; /* The function called (VIOLATION), or NULL. */
  const char *message;  /* The full text (as mffi_errmsg() gives it). */
  const mffi_checked_block *block; /* LEAK: the block; else NULL. */
} mffi_checked_event;

/* A report callback. ud is mffi_checked_opts.report_ud. It runs on the
** thread of the call (or of mffi_close) and must not call into the same
** checked library. */
typedef void (*mffi_checked_report_fn)(void *ud,
                                       const mffi_checked_event *ev);

/* Per-library settings of a checked library. */
typedef struct mffi_checked_opts {
  int version;                   /* Set to MFFI_CHECKED_OPTS_VERSION. */
  unsigned flags;                /* MFFI_CHECKED_* bits. */
  mffi_checked_report_fn report; /* Violations and leaks; NULL: none. */
  void *report_ud;               /* Passed to report unchanged. */
} mffi_checked_opts;
#define MFFI_CHECKED_OPTS_VERSION 1

/* Change the settings of lib, a library opened through a checked
** strategy (the defaults: refuse violations, no affinity, no callback).
** Call it right after mffi_open(): affinity applies to blocks made after.
** opts NULL restores the defaults. Returns MFFI_OK, or MFFI_EMISUSE (lib
** is not a checked library, or an unknown opts version). */
MFFI_API int mffi_checked_configure(mffi_lib *lib,
                                    const mffi_checked_opts *opts);

/* The number of violations seen on lib since it was opened (refused or,
** in audit mode, let through); 0 for a library that is not checked. */
MFFI_API size_t mffi_checked_violations(const mffi_lib *lib);

/* Call each(ud, block) for every live tracked block of lib, in address
** order; a non-zero return from each stops the walk. Returns the number of
** blocks visited, or MFFI_EMISUSE (lib not checked, each NULL). Do not
** call lib's functions from each. */
MFFI_API long mffi_checked_each(mffi_lib *lib,
                                int (*each)(void *ud,
                                            const mffi_checked_block *b),
                                void *ud);

/* The library that lib decorates (owned by lib), or NULL if lib is not
** checked: for calls that must bypass the checks. */
MFFI_API mffi_lib *mffi_checked_inner(const mffi_lib *lib);

#ifdef __cplusplus
}
#endif
#endif
