/* Layout engine: struct, union and enum layout as GCC does it. See LICENSE.
**
** The rules are those of the SysV psABI (x86-64 3.1.2, "Aggregates and
** Unions" and "Bit-Fields") with GCC's extensions: packed, aligned(N),
** zero-width bit-fields, flexible and zero-length arrays, empty structs.
** Scalar sizes come from the mffi__abi table so another LP64 ABI (AArch64)
** is a new table plus, where it differs, a flag.
*/
#include <string.h>

#include "ctx.h"
#include "types.h"

/* Sizes and alignments by kind, x86-64 SysV. */
const mffi__abi mffi__abi_native = {
    .name = "x86_64-sysv",
    /*        void bool char sch uch sh ush int uint long ulong ll ull
              i128 u128 f16 f32 f64 f80 f128 cplx valist */
    .size = {0, 1, 1,  1,  1, 2, 2, 4,  4,  8, 8,
             8, 8, 16, 16, 2, 4, 8, 16, 16, 0, 24},
    .align = {1, 1, 1,  1,  1, 2, 2, 4,  4,  8, 8,
              8, 8, 16, 16, 2, 4, 8, 16, 16, 0, 8},
    .ptr_size = 8,
    .char_signed = true,
    .unnamed_bitfield_no_align = true,
};

static size_t lay_round(size_t x, size_t a) {
  return a ? (x + a - 1) / a * a : x;
}

/* -- Records --------------------------------------------------------------- */

/* Running state while members are placed. */
typedef struct lay {
  size_t bitpos;  /* Next free bit (structs), or largest size in bits. */
  uint32_t align; /* Alignment so far. */
  uint32_t pack;  /* #pragma pack: cap on member alignments, 0 if none. */
} lay;

/* GCC's maximum_field_alignment: #pragma pack(N) caps the alignment of
** every member, aligned(N) members included (stor-layout.cc, layout_decl). */
static uint32_t lay_cap(const lay *L, uint32_t a) {
  return L->pack && a > L->pack ? L->pack : a;
}

/* Check a member before placing it. */
static int lay_check(mffi_ctx *ctx, const mffi__tt *tt, const mffi__member *m,
                     uint32_t i, uint32_t n, bool is_union) {
  const mffi_type *b = mffi__B(tt, m->tid);
  const char *name = m->name ? m->name : "(anonymous)";
  if (m->bit_width >= 0) {
    if (!mffi__kind_is_int(b->kind))
      return mffi__err(ctx, MFFI_EDECL, "bit-field '%s' has non-integer type",
                       name);
    if ((size_t)m->bit_width > b->size * 8 ||
        (b->kind == MFFI_KIND_BOOL && m->bit_width > 1))
      return mffi__err(ctx, MFFI_EDECL,
                       "width of bit-field '%s' exceeds its type", name);
    if (m->bit_width == 0 && m->name)
      return mffi__err(ctx, MFFI_EDECL, "zero width for bit-field '%s'", name);
    return MFFI_OK;
  }
  if (b->kind == MFFI_KIND_FUNCTION)
    return mffi__err(ctx, MFFI_EDECL, "field '%s' declared as a function",
                     name);
  if (b->kind == MFFI_KIND_ARRAY && (b->flags & MFFI_TF_VLA_LEN)) {
    if (i + 1 != n || is_union)
      return mffi__err(ctx, MFFI_EDECL,
                       "flexible array member '%s' not at end of struct", name);
    if (i == 0)
      return mffi__err(ctx, MFFI_EDECL,
                       "flexible array member '%s' in a struct with no named "
                       "members",
                       name);
    return MFFI_OK;
  }
  if (!mffi__tt_complete(tt, m->tid))
    return mffi__err(ctx, MFFI_EDECL, "field '%s' has incomplete type", name);
  return MFFI_OK;
}

/* GCC's rule for bit-fields (PCC_BITFIELD_TYPE_MATTERS): a bit-field may
** not span more units of its type's alignment than the type itself has.
** For natural alignment that means "does not straddle a unit"; typedefs
** that lower or raise the alignment change the unit. */
static bool lay_excess_span(size_t pos, size_t width, size_t align_bits,
                            size_t type_bits) {
  size_t off = pos % align_bits;
  return (off + width + align_bits - 1) / align_bits > type_bits / align_bits;
}

/* GCC also turns a bit-field that exactly fills an integer mode (8, 16,
** 32, 64 or 128 bits) at a position aligned for that mode into an ordinary
** field, to which the span rule does not apply (stor-layout.c, layout_decl;
** it shows only for types aligned above their size). */
static bool lay_int_mode(size_t pos, size_t width, bool packed) {
  if (width != 8 && width != 16 && width != 32 && width != 64 && width != 128)
    return false;
  return !(packed && width > 8) && pos % width == 0;
}

/* Place one bit-field. */
static void lay_bitfield(const mffi__tt *tt, lay *L, mffi__member *m,
                         bool packed, bool is_union) {
  uint32_t talign = mffi__align(tt, m->tid);
  size_t unit = (size_t)talign * 8;
  size_t w = (size_t)m->bit_width;
  size_t pos = is_union ? 0 : L->bitpos;
  if (w == 0) {      /* Zero width: start the next unit of the declared type, */
    size_t a = unit; /* or of its aligned(N) if that is larger. */
    if ((size_t)m->align_attr * 8 > a) a = (size_t)m->align_attr * 8;
    if (!is_union) L->bitpos = lay_round(pos, a);
    m->bit_offset = L->bitpos;
    m->offset = m->bit_offset / 8;
    return;
  }
  /* GCC's order (place_field): decide the integer-mode case at the current
  ** position, honour the member's aligned(N), then apply the span rule. */
  bool as_field = lay_int_mode(pos, w, packed);
  if (m->align_attr)
    pos = lay_round(pos, (size_t)lay_cap(L, m->align_attr) * 8);
  /* Under #pragma pack GCC skips the span rule altogether (place_field). */
  if (!packed && !as_field && !L->pack &&
      lay_excess_span(pos, w, unit, mffi__size(tt, m->tid) * 8))
    pos = lay_round(pos, unit);
  m->bit_offset = pos;
  m->offset = pos / 8;
  if (is_union) {
    if (lay_round(w, 8) > L->bitpos) L->bitpos = lay_round(w, 8);
  } else {
    L->bitpos = pos + w;
  }
  /* packed lowers a bit-field's share of the record's alignment to a byte,
  ** unless #pragma pack is in effect: then the cap is the pack value
  ** (update_alignment_for_field). */
  uint32_t a = packed && !L->pack ? 1 : talign;
  if (m->align_attr > a) a = m->align_attr;
  if (as_field && w / 8 > a) a = (uint32_t)(w / 8); /* the mode's alignment */
  a = lay_cap(L, a);
  if (!m->name && tt->abi->unnamed_bitfield_no_align) a = 1;
  if (a > L->align) L->align = a;
}

static void lay_field(const mffi__tt *tt, lay *L, mffi__member *m, bool packed,
                      bool is_union) {
  uint32_t a = packed ? 1 : mffi__align(tt, m->tid);
  if (m->align_attr > a) a = m->align_attr;
  a = lay_cap(L, a);
  size_t off = is_union ? 0 : lay_round(lay_round(L->bitpos, 8) / 8, a);
  size_t size = mffi__size(tt, m->tid);
  m->offset = off;
  m->bit_offset = off * 8;
  size_t end = (off + size) * 8;
  if (is_union ? end > L->bitpos : true) L->bitpos = end;
  if (a > L->align) L->align = a;
}

int mffi__tt_define_record(mffi_ctx *ctx, mffi__tid tid,
                           const mffi__member *members, uint32_t nmembers,
                           bool packed, uint32_t attr_align, uint32_t pack,
                           uint32_t *bad) {
  mffi__tt *tt = &ctx->tt;
  mffi_type *t = mffi__T(tt, tid);
  bool is_union = t->kind == MFFI_KIND_UNION;
  *bad = UINT32_MAX;
  if (t->flags & MFFI_TF_COMPLETE)
    return mffi__err(ctx, MFFI_EDECL, "redefinition of '%s'",
                     t->tag ? t->tag : "(anonymous)");
  uint32_t nest = 0;
  for (uint32_t i = 0; i < nmembers; i++) {
    *bad = i;
    int rc = lay_check(ctx, tt, &members[i], i, nmembers, is_union);
    if (rc) return rc;
    uint32_t mn = mffi__nest(tt, members[i].tid);
    if (mn >= MFFI_MAX_NEST)
      return mffi__err(ctx, MFFI_EDECL,
                       "structs, unions and arrays nested more than %d deep",
                       MFFI_MAX_NEST);
    if (mn > nest) nest = mn;
  }
  mffi__member *ms = NULL;
  if (nmembers) {
    ms = mffi__malloc(ctx, nmembers * sizeof *ms);
    if (!ms) return mffi__nomem(ctx);
    memcpy(ms, members, nmembers * sizeof *ms);
  }
  int rc = mffi__tt_type_touch(ctx, tid);
  if (rc) {
    mffi__free(ctx, ms);
    return rc;
  }
  lay L = {0, 1, pack};
  uint16_t flags = MFFI_TF_COMPLETE;
  for (uint32_t i = 0; i < nmembers; i++) {
    mffi__member *m = &ms[i];
    bool mp = packed || m->packed;
    if (m->bit_width >= 0)
      lay_bitfield(tt, &L, m, mp, is_union);
    else
      lay_field(tt, &L, m, mp, is_union);
    if (L.bitpos / 8 > MFFI_MAX_SIZE) {
      *bad = i;
      mffi__free(ctx, ms);
      return mffi__err(ctx, MFFI_ERANGE, "type is too large");
    }
    const mffi_type *mb = mffi__B(tt, m->tid);
    if (mb->kind == MFFI_KIND_ARRAY && (mb->flags & MFFI_TF_VLA_LEN))
      flags |= MFFI_TF_FLEX;
    if (mffi__tt_has_vector(tt, m->tid)) flags |= MFFI_TF_HASVEC;
  }
  if (attr_align > L.align) L.align = attr_align;
  t->members = ms;
  t->nmembers = nmembers;
  t->nest = nest + 1;
  t->align = L.align;
  t->attr_align = attr_align;
  t->pack = (uint8_t)pack;
  t->size = lay_round(lay_round(L.bitpos, 8) / 8, L.align);
  t->flags = (uint16_t)(t->flags | flags | (packed ? MFFI_TF_PACKED : 0));
  return MFFI_OK;
}

/* -- Enums ----------------------------------------------------------------- */

int mffi__tt_define_enum(mffi_ctx *ctx, mffi__tid tid,
                         const mffi__enumerator *enums, uint32_t nenums,
                         bool packed, bool huge) {
  mffi__tt *tt = &ctx->tt;
  int64_t lo = 0, hi = 0;
  for (uint32_t i = 0; i < nenums; i++) {
    if (i == 0 || enums[i].value < lo) lo = enums[i].value;
    if (i == 0 || enums[i].value > hi) hi = enums[i].value;
  }
  mffi_kind k;
  if (huge) {
    k = MFFI_KIND_ULONG;
  } else if (packed) {
    if (lo >= 0)
      k = hi <= 0xff           ? MFFI_KIND_UCHAR
          : hi <= 0xffff       ? MFFI_KIND_USHORT
          : hi <= 0xffffffffLL ? MFFI_KIND_UINT
                               : MFFI_KIND_ULONG;
    else
      k = lo >= -128 && hi <= 127              ? MFFI_KIND_SCHAR
          : lo >= -32768 && hi <= 32767        ? MFFI_KIND_SHORT
          : lo >= INT32_MIN && hi <= INT32_MAX ? MFFI_KIND_INT
                                               : MFFI_KIND_LONG;
  } else if (lo >= 0) {
    k = hi <= 0xffffffffLL ? MFFI_KIND_UINT : MFFI_KIND_ULONG;
  } else {
    k = lo >= INT32_MIN && hi <= INT32_MAX ? MFFI_KIND_INT : MFFI_KIND_LONG;
  }
  mffi__enumerator *es = NULL;
  if (nenums) {
    es = mffi__malloc(ctx, nenums * sizeof *es);
    if (!es) return mffi__nomem(ctx);
    memcpy(es, enums, nenums * sizeof *es);
  }
  int rc = mffi__tt_type_touch(ctx, tid);
  if (rc) {
    mffi__free(ctx, es);
    return rc;
  }
  mffi_type *t = mffi__T(tt, tid);
  t->enums = es;
  t->nenums = nenums;
  t->child = (mffi__tid)k;
  t->size = tt->abi->size[k];
  t->align = tt->abi->align[k];
  t->flags =
      (uint16_t)(t->flags | MFFI_TF_COMPLETE | (packed ? MFFI_TF_PACKED : 0));
  return MFFI_OK;
}
