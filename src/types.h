/* Type table: interned types, declarations, layouts. See LICENSE.
**
** Every type is a node in one array; its index is its id (tid). The
** primitive kinds occupy the first ids (tid == kind), so two contexts fed the
** same declarations number every type alike. Derived types (pointer, array,
** function, qualified, aligned, complex) are interned by structure; structs,
** unions and enums are nominal: each definition is a new node, reached by
** its tag. Typedef names are aliases recorded as declarations.
**
** mffi_cdef runs as a transaction: the arrays only grow during it, in-place
** changes to older nodes (completing a forward-declared struct, merging a
** redeclared function's attributes) are logged, and a rollback truncates
** the arrays, replays the log and rebuilds the hashes.
*/
#ifndef MFFI_TYPES_H
#define MFFI_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modffi.h"

typedef uint32_t mffi__tid;
#define MFFI_TID_NONE UINT32_MAX
#define MFFI_NPRIM (MFFI_KIND_VALIST + 1) /* Primitive ids: tid == kind. */
#define MFFI_MAX_SIZE ((size_t)1 << 59)   /* Largest object, in bytes. */
/* Max. levels of structs, unions and arrays nested in one type (through
** named types too). The call engines and printers walk aggregates
** recursively: without a bound, 400,000 nested structs overflow the stack. */
#define MFFI_MAX_NEST 1024

/* Type flags. */
#define MFFI_TF_COMPLETE 0x01u  /* Struct/union/enum has been defined. */
#define MFFI_TF_VARIADIC 0x02u  /* Function takes "...". */
#define MFFI_TF_UNPROTO 0x04u   /* Function declared "f()" (no prototype). */
#define MFFI_TF_PACKED 0x08u    /* Struct/union/enum has attribute packed. */
#define MFFI_TF_FLEX 0x10u      /* Struct ends in a flexible array member. */
#define MFFI_TF_VLA_LEN 0x20u   /* Array has no length ("[]"). */
#define MFFI_TF_USERALIGN 0x40u /* align comes from an aligned() attribute. */
#define MFFI_TF_TYPEDEF_TAG                                                    \
  0x80u /* tag is the typedef name of an anonymous one. */
/* Spellings GCC keeps as types of their own (not compatible with float,
** double, long double), with the same representation: _Float32, _Float64
** (FLOATN on float, double); _Float32x, _Float64x (FLOATNX on double, long
** double). They are variants of the plain type. */
#define MFFI_TF_FLOATN 0x100u
#define MFFI_TF_FLOATNX 0x200u
/* A GCC vector (vector_size(N), mode(V4SF)): an array node of `length`
** scalars of its child, with the vector's size and alignment. */
#define MFFI_TF_VECTOR 0x400u
/* A struct or union that holds a vector by value, somewhere inside. */
#define MFFI_TF_HASVEC 0x800u
/* A function of the Microsoft x64 convention (__attribute__((ms_abi))): a
** type of its own, incompatible with the same signature in the default one
** (GCC's rule). sysv_abi names the default. */
#define MFFI_TF_MSABI 0x1000u
/* The flags that are part of a function type's identity. */
#define MFFI_TF_FUNC (MFFI_TF_VARIADIC | MFFI_TF_UNPROTO | MFFI_TF_MSABI)
#define MFFI_VECTOR_MAX_ALIGN 16 /* Vector alignment cap: x86-64 SSE. */

/* A member of a struct or union. Offsets are filled in by the layout. */
typedef struct mffi__member {
  const char *name;    /* Pooled; NULL for anonymous or unnamed bit-field. */
  mffi__tid tid;       /* Declared type. */
  int bit_width;       /* -1 if not a bit-field. */
  uint32_t align_attr; /* aligned(N) on the member, 0 if none. */
  bool packed;         /* packed on the member. */
  size_t offset;       /* Byte offset (bit_offset / 8 for bit-fields). */
  size_t bit_offset;   /* Bit offset from the start of the aggregate. */
} mffi__member;

/* An enumerator of an enum type. */
typedef struct mffi__enumerator {
  const char *name; /* Pooled. */
  int64_t value;
} mffi__enumerator;

struct mffi_type {
  uint8_t kind;          /* mffi_kind. */
  uint8_t quals;         /* MFFI_QUAL_* bits. */
  uint16_t flags;        /* MFFI_TF_* bits. */
  mffi__tid id;          /* This node's index. */
  mffi__tid base;        /* Same type without quals/align override (or id). */
  mffi__tid child;       /* Pointee, element, return, underlying, component. */
  size_t size;           /* sizeof; 0 when incomplete. */
  uint32_t align;        /* _Alignof; 0 when incomplete. */
  uint32_t attr_align;   /* aligned(N) given on a struct/union, 0 if none. */
  uint8_t pack;          /* #pragma pack(N) in effect at its definition. */
  mffi__tid ptr_to;      /* A hint: the pointer to this type, or 0. */
  long length;           /* Array element count; -1 for "[]". */
  const char *tag;       /* Tag, or first typedef name of an anonymous one. */
  struct mffi_ctx *ctx;  /* Owner, so accessors need only the type. */
  mffi__member *members; /* Struct/union members (base node only). */
  uint32_t nmembers;
  uint32_t nest;     /* Struct/union/array levels, this one included (base). */
  mffi__tid *params; /* Function parameter types (adjusted). */
  uint32_t nparams;
  mffi__enumerator *enums; /* Enum constants (base node only). */
  uint32_t nenums;
  uint32_t undo_ix; /* 1 + its entry in the transaction's log, 0 if none. */
};

/* One attribute, pooled strings. */
struct mffi_decl {
  mffi_decl_kind kind;
  const char *name;   /* Pooled; NULL for an anonymous tag. */
  const char *symbol; /* asm rename, or name. */
  mffi__tid tid;
  int64_t value;            /* Constants. */
  mffi__tid enum_tid;       /* Enumerators: their enum; else MFFI_TID_NONE. */
  const char **param_names; /* Functions: nparams entries, may be NULL. */
  uint32_t nparam_names;
  mffi_attr *attrs; /* Owned array; each args array owned too. */
  uint32_t nattrs;
  bool defined;      /* TAG: a definition (not just "struct s;"). */
  bool thread_local; /* VARIABLE: _Thread_local / __thread. */
  uint32_t index;    /* Position in the declaration list. */
  uint32_t undo_ix;  /* 1 + its entry in the transaction's log, 0 if none. */
  const char *file;  /* Where it was declared: the line marker's pooled */
  uint32_t line;     /* file name (NULL: the text of its mffi_cdef), line */
  uint32_t col;      /* and column (1-based; 0 if not from a text). */
  struct mffi_ctx *ctx;
};

/* The ABI's data: scalar sizes and alignments by kind. */
typedef struct mffi__abi {
  const char *name;
  uint8_t size[MFFI_NPRIM];
  uint8_t align[MFFI_NPRIM];
  uint8_t ptr_size; /* Pointers: size and alignment. */
  bool char_signed;
  /* Bit-fields: unnamed ones do not raise the aggregate's alignment. */
  bool unnamed_bitfield_no_align;
} mffi__abi;

/* The ABI this build lays out for (x86-64 SysV today). */
extern const mffi__abi mffi__abi_native;

typedef struct mffi__undo mffi__undo;
typedef struct mffi__strchunk mffi__strchunk;

/* Blocks of nodes, by index (see tt_slab_node in types.c). */
typedef struct mffi__slab {
  void **blocks;
  size_t nblocks, capblocks;
} mffi__slab;

typedef struct mffi__tt {
  const mffi__abi *abi;
  mffi_type **types; /* By id. */
  uint32_t ntypes;
  size_t captypes;
  uint32_t *ihash;   /* Intern hash of derived types: tid + 1, 0 empty. */
  size_t nihash;     /* Slots, a power of two. */
  mffi_decl **decls; /* In declaration order. */
  uint32_t ndecls;
  size_t capdecls;
  uint32_t *nhash; /* Ordinary names -> decl index + 1. */
  size_t nnhash;
  uint32_t *thash; /* Tags -> tid + 1. */
  size_t nthash;
  char **strs; /* String pool, open addressing. */
  size_t nstrs, capstrs;
  mffi__strchunk *strchunks;       /* Where the pooled strings live. */
  mffi__slab type_slab, decl_slab; /* Where types[i] and decls[i] live. */
  /* Transaction state. */
  bool in_tx;
  uint32_t tx_ntypes, tx_ndecls;
  mffi__undo *undo;
  size_t nundo, capundo;
  size_t undo_floor; /* Entries below belong to before the savepoint. */
} mffi__tt;

/* A point inside a transaction to come back to (mffi__tt_save). */
typedef struct mffi__tt_savepoint {
  uint32_t ntypes, ndecls;
  size_t nundo;
} mffi__tt_savepoint;

struct mffi_ctx;

int mffi__tt_init(struct mffi_ctx *ctx);
void mffi__tt_free(struct mffi_ctx *ctx);

/* Transactions around mffi_cdef (see the file comment). */
void mffi__tt_begin(struct mffi_ctx *ctx);
void mffi__tt_commit(struct mffi_ctx *ctx);
void mffi__tt_rollback(struct mffi_ctx *ctx);
/* Savepoints inside a transaction, for skipping one declaration: save
** records the table's state (each object changed after it is logged
** again); restore brings the table back to it, freeing what came after
** (it allocates nothing). The transaction goes on either way. */
void mffi__tt_save(struct mffi_ctx *ctx, mffi__tt_savepoint *sp);
void mffi__tt_restore(struct mffi_ctx *ctx, const mffi__tt_savepoint *sp);

/* A pooled copy of s[0..len); the same text gives the same pointer.
** NULL on out of memory. */
const char *mffi__tt_str(struct mffi_ctx *ctx, const char *s, size_t len);
/* The same, given h = mffi__tt_strhash(s, len) (the lexer hashes a name
** as it reads it). */
const char *mffi__tt_str_h(struct mffi_ctx *ctx, const char *s, size_t len,
                           uint32_t h);

/* The string pool's hash (FNV-1a), whole or a byte at a time from
** MFFI__STRHASH_INIT. */
#define MFFI__STRHASH_INIT 2166136261u
static inline uint32_t mffi__tt_strhash_step(uint32_t h, char c) {
  return (h ^ (unsigned char)c) * 16777619u;
}
static inline uint32_t mffi__tt_strhash(const char *s, size_t len) {
  uint32_t h = MFFI__STRHASH_INIT;
  for (size_t i = 0; i < len; i++)
    h = mffi__tt_strhash_step(h, s[i]);
  return h;
}

/* The node for tid (no bounds check in release builds). */
static inline mffi_type *mffi__T(const mffi__tt *tt, mffi__tid tid) {
  return tt->types[tid];
}
/* The base node: no qualifiers, no alignment override. */
static inline mffi_type *mffi__B(const mffi__tt *tt, mffi__tid tid) {
  return tt->types[tt->types[tid]->base];
}

/* Size and alignment of any type; variants made before their struct was
** defined read the base node, which is always current. */
static inline size_t mffi__size(const mffi__tt *tt, mffi__tid tid) {
  return mffi__B(tt, tid)->size;
}
static inline uint32_t mffi__align(const mffi__tt *tt, mffi__tid tid) {
  const mffi_type *t = tt->types[tid];
  if (t->base != t->id && (t->flags & MFFI_TF_USERALIGN)) return t->align;
  return mffi__B(tt, tid)->align;
}

/* Aggregate nesting of tid (see MFFI_MAX_NEST): 0 for scalars and
** pointers. */
static inline uint32_t mffi__nest(const mffi__tt *tt, mffi__tid tid) {
  return mffi__B(tt, tid)->nest;
}

/* Derived types, interned. Each returns MFFI_OK and *out, or an error code
** with ctx's message set (MFFI_ENOMEM; MFFI_EDECL for an array of an
** incomplete or function type, a function returning an array...). */
int mffi__tt_ptr(struct mffi_ctx *ctx, mffi__tid to, mffi__tid *out);
int mffi__tt_array(struct mffi_ctx *ctx, mffi__tid elem, long len,
                   mffi__tid *out);
int mffi__tt_func(struct mffi_ctx *ctx, mffi__tid ret, const mffi__tid *params,
                  uint32_t nparams, uint16_t flags, mffi__tid *out);
/* Add qualifiers (an array's go to its element, as in C). */
int mffi__tt_qual(struct mffi_ctx *ctx, mffi__tid tid, unsigned quals,
                  mffi__tid *out);
/* The same type with alignment `align` (typedef aligned(N) semantics: may
** lower or raise). */
int mffi__tt_aligned(struct mffi_ctx *ctx, mffi__tid tid, uint32_t align,
                     mffi__tid *out);
int mffi__tt_complex(struct mffi_ctx *ctx, mffi__tid component, mffi__tid *out);
/* The vector of `size` bytes of elem (an integer or floating type, not
** _Bool): MFFI_EDECL unless size is a power of two multiple of elem's. */
int mffi__tt_vector(struct mffi_ctx *ctx, mffi__tid elem, uint64_t size,
                    mffi__tid *out);
/* True if a value of type tid holds a vector (is one, or an array, struct
** or union with one inside). */
bool mffi__tt_has_vector(const mffi__tt *tt, mffi__tid tid);
/* The _FloatN spelling of a floating type: flag is MFFI_TF_FLOATN or
** MFFI_TF_FLOATNX. */
int mffi__tt_floatn(struct mffi_ctx *ctx, mffi__tid tid, uint16_t flag,
                    mffi__tid *out);

/* A new, incomplete struct, union or enum. tag is pooled or NULL. */
int mffi__tt_record(struct mffi_ctx *ctx, mffi_kind kind, const char *tag,
                    mffi__tid *out);
/* Define a struct/union: take the members (copied), lay them out.
** attr_align is aligned(N) on the type (0 if none); pack is the #pragma
** pack value in effect (0 if none), which caps member alignments. Errors:
** MFFI_EDECL for an incomplete member type, a flexible array not last (or
** alone), a bad bit-field; MFFI_ERANGE for a type over MFFI_MAX_SIZE. *bad gets the index
** of the member at fault. */
int mffi__tt_define_record(struct mffi_ctx *ctx, mffi__tid tid,
                           const mffi__member *members, uint32_t nmembers,
                           bool packed, uint32_t attr_align, uint32_t pack,
                           uint32_t *bad);
/* Define an enum: its constants (copied), and its underlying type chosen
** as GCC does (unsigned int, int, then the 64-bit types; smallest with
** packed). huge: some value is at least 2^63 (stored wrapped in int64; all
** values are then non-negative and the type is unsigned long). */
int mffi__tt_define_enum(struct mffi_ctx *ctx, mffi__tid tid,
                         const mffi__enumerator *enums, uint32_t nenums,
                         bool packed, bool huge);
/* True if a and b are one type to a program whose translation units
** define them each (C11 6.2.7p1: same tags, members, layout). same_body
** compares two struct, union or enum definitions ignoring their tags. */
bool mffi__tt_same(const mffi__tt *tt, mffi__tid a, mffi__tid b);
bool mffi__tt_same_body(const mffi__tt *tt, mffi__tid a, mffi__tid b);
/* Bind and look up tags (struct, union and enum share one namespace). */
mffi__tid mffi__tt_tag_find(const mffi__tt *tt, const char *tag);
/* The same for a pooled tag (mffi__tt_str): no string compare. */
mffi__tid mffi__tt_tag_find_pooled(const mffi__tt *tt, const char *tag);
int mffi__tt_tag_bind(struct mffi_ctx *ctx, const char *tag, mffi__tid tid);

/* Declarations. decl_add copies *d (strings must be pooled; attrs and
** param_names arrays are taken over) and indexes it by name, except TAG
** declarations, which are listed only. *out gets the stored copy. */
int mffi__tt_decl_add(struct mffi_ctx *ctx, const mffi_decl *d,
                      mffi_decl **out);
mffi_decl *mffi__tt_decl_find(const mffi__tt *tt, const char *name);
/* The same for a pooled name (mffi__tt_str): the parser's names are. */
mffi_decl *mffi__tt_decl_find_pooled(const mffi__tt *tt, const char *name);
/* Before changing an older declaration in place, log it for rollback.
** Returns MFFI_OK or MFFI_ENOMEM. */
int mffi__tt_decl_touch(struct mffi_ctx *ctx, mffi_decl *d);
/* Replace d's attributes with attrs (taken over), freeing the current ones
** unless a rollback may still restore them. MFFI_OK or MFFI_ENOMEM. */
int mffi__tt_decl_set_attrs(struct mffi_ctx *ctx, mffi_decl *d,
                            mffi_attr *attrs, uint32_t nattrs);
/* The same for a type node about to be changed in place. */
int mffi__tt_type_touch(struct mffi_ctx *ctx, mffi__tid tid);
/* Free a declaration's owned arrays (attrs, param_names). */
void mffi__tt_decl_free_parts(struct mffi_ctx *ctx, mffi_decl *d);

/* The member at path in t (see mffi_fieldof). bounded: every index must lie
** within its array (MFFI_ERANGE otherwise, and for any index into "[]"), as
** for an access; else an index may run past the length, as offsetof allows.
** Either way MFFI_ERANGE if the offset would exceed MFFI_MAX_SIZE. */
int mffi__type_path(const mffi_type *t, const char *path, bool bounded,
                    mffi_field *out);
/* Record the failure rc of mffi__type_path on t's context with a detail
** naming path and t; returns rc (MFFI_OK records nothing). */
int mffi__type_path_fail(const mffi_type *t, const char *path, int rc);

/* 1 if the type can be an object (complete, not void or function). */
bool mffi__tt_complete(const mffi__tt *tt, mffi__tid tid);
/* 1 for the integer kinds (bool, chars, ints, enums). */
bool mffi__kind_is_int(mffi_kind k);
/* _Float16, float, double, long double, _Float128. */
bool mffi__kind_is_float(mffi_kind k);
bool mffi__kind_is_signed(const mffi__tt *tt, mffi_kind k);
/* The node of tid without qualifiers; an enum becomes its underlying
** integer type. */
mffi_type *mffi__type_scalar(const mffi__tt *tt, mffi__tid tid);

#endif
