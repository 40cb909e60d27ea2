/* Public views of types and declarations, and member paths. See LICENSE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "types.h"

#define TT(t) (&(t)->ctx->tt)

/* -- Types ----------------------------------------------------------------- */

const mffi_type *mffi_type_byid(const mffi_ctx *ctx, uint32_t id) {
  return ctx && id < ctx->tt.ntypes ? ctx->tt.types[id] : NULL;
}

uint32_t mffi_ntypes(const mffi_ctx *ctx) {
  return ctx ? ctx->tt.ntypes : 0;
}

uint32_t mffi_type_id(const mffi_type *t) {
  if (!t) return 0;
  return t->id;
}

mffi_kind mffi_type_kind(const mffi_type *t) {
  if (!t) return MFFI_KIND_VOID;
  return (mffi_kind)t->kind;
}

size_t mffi_sizeof(const mffi_type *t) {
  if (!t) return 0;
  return mffi__size(TT(t), t->id);
}

size_t mffi_alignof(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  if (b->kind == MFFI_KIND_FUNCTION) return 1;
  return mffi__align(TT(t), t->id);
}

unsigned mffi_type_quals(const mffi_type *t) {
  if (!t) return 0;
  return t->quals;
}

const mffi_type *mffi_type_unqual(const mffi_type *t) {
  if (!t) return NULL;
  return mffi__B(TT(t), t->id);
}

const mffi_type *mffi_type_target(const mffi_type *t) {
  if (!t) return NULL;
  const mffi_type *b = mffi__B(TT(t), t->id);
  switch (b->kind) {
  case MFFI_KIND_POINTER:
  case MFFI_KIND_ARRAY:
  case MFFI_KIND_FUNCTION:
  case MFFI_KIND_COMPLEX:
    return b->child == MFFI_TID_NONE ? NULL : TT(t)->types[b->child];
  case MFFI_KIND_ENUM:
    return b->flags & MFFI_TF_COMPLETE ? TT(t)->types[b->child] : NULL;
  default: return NULL;
  }
}

long mffi_type_length(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_ARRAY ? b->length : 0;
}

int mffi_type_complete(const mffi_type *t) {
  if (!t) return 0;
  return mffi__tt_complete(TT(t), t->id);
}

const char *mffi_type_tag(const mffi_type *t) {
  if (!t) return NULL;
  const mffi_type *b = mffi__B(TT(t), t->id);
  switch (b->kind) {
  case MFFI_KIND_STRUCT:
  case MFFI_KIND_UNION:
  case MFFI_KIND_ENUM: return b->tag;
  default: return NULL;
  }
}

size_t mffi_type_nparams(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_FUNCTION ? b->nparams : 0;
}

const mffi_type *mffi_type_param(const mffi_type *t, size_t i) {
  if (!t) return NULL;
  const mffi_type *b = mffi__B(TT(t), t->id);
  if (b->kind != MFFI_KIND_FUNCTION || i >= b->nparams) return NULL;
  return TT(t)->types[b->params[i]];
}

int mffi_type_variadic(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_FUNCTION && (b->flags & MFFI_TF_VARIADIC);
}

int mffi_type_is_signed(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  if (b->kind == MFFI_KIND_ENUM) b = mffi__B(TT(t), b->child);
  return mffi__kind_is_signed(TT(t), (mffi_kind)b->kind);
}

int mffi_type_prototyped(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_FUNCTION && !(b->flags & MFFI_TF_UNPROTO);
}

mffi_callconv mffi_type_callconv(const mffi_type *t) {
  if (!t) return MFFI_CC_DEFAULT;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_FUNCTION && (b->flags & MFFI_TF_MSABI)
             ? MFFI_CC_MS_ABI
             : MFFI_CC_DEFAULT;
}

size_t mffi_type_nenumerators(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return b->kind == MFFI_KIND_ENUM ? b->nenums : 0;
}

int mffi_type_enumerator(const mffi_type *t, size_t i, const char **name,
                         int64_t *value) {
  if (!t) return MFFI_EMISUSE;
  const mffi_type *b = mffi__B(TT(t), t->id);
  if (b->kind != MFFI_KIND_ENUM || i >= b->nenums) return MFFI_EMISUSE;
  if (name) *name = b->enums[i].name;
  if (value) *value = b->enums[i].value;
  return MFFI_OK;
}

static bool ti_is_record(const mffi_type *b) {
  return (b->kind == MFFI_KIND_STRUCT || b->kind == MFFI_KIND_UNION) &&
         (b->flags & MFFI_TF_COMPLETE);
}

size_t mffi_type_nfields(const mffi_type *t) {
  if (!t) return 0;
  const mffi_type *b = mffi__B(TT(t), t->id);
  return ti_is_record(b) ? b->nmembers : 0;
}

static void ti_field(const mffi__tt *tt, const mffi__member *m, size_t base,
                     mffi_field *out) {
  out->name = m->name;
  out->type = tt->types[m->tid];
  out->bit_offset = base * 8 + m->bit_offset;
  out->offset = out->bit_offset / 8;
  out->bit_width = m->bit_width;
}

int mffi_type_field(const mffi_type *t, size_t i, mffi_field *out) {
  if (!t) return MFFI_EMISUSE;
  const mffi_type *b = mffi__B(TT(t), t->id);
  mffi__ok(t->ctx);
  if (!out || !ti_is_record(b) || i >= b->nmembers)
    return mffi__err(t->ctx, MFFI_EMISUSE,
                     !out ? "mffi_type_field: out is NULL"
                     : !ti_is_record(b)
                         ? "mffi_type_field: not a complete struct or union"
                         : "mffi_type_field: no member %zu",
                     i);
  ti_field(TT(t), &b->members[i], 0, out);
  return MFFI_OK;
}

/* -- Member paths ---------------------------------------------------------- */

/* Find member `name` (len bytes) in record b, looking into anonymous
** members; adds the offset of the anonymous path to *base. */
static const mffi__member *ti_find(const mffi__tt *tt, const mffi_type *b,
                                   const char *name, size_t len, size_t *base) {
  for (uint32_t i = 0; i < b->nmembers; i++) {
    const mffi__member *m = &b->members[i];
    if (m->name) {
      if (strncmp(m->name, name, len) == 0 && m->name[len] == '\0') return m;
    } else if (m->bit_width < 0) {
      size_t sub = *base + m->offset;
      const mffi__member *r = ti_find(tt, mffi__B(tt, m->tid), name, len, &sub);
      if (r) {
        *base = sub;
        return r;
      }
    }
  }
  return NULL;
}

int mffi__type_path(const mffi_type *t, const char *path, bool bounded,
                    mffi_field *out) {
  if (!t || !path || !out) return MFFI_EMISUSE;
  const mffi__tt *tt = TT(t);
  mffi__tid cur = t->id;
  size_t off = 0;
  const mffi__member *m = NULL;
  const char *p = path;
  bool first = true;
  memset(out, 0, sizeof *out);
  for (;;) {
    while (*p == ' ')
      p++;
    if (*p == '\0') break;
    const mffi_type *b = mffi__B(tt, cur);
    if (*p == '[') {
      if (b->kind != MFFI_KIND_ARRAY) return MFFI_ENOTFOUND;
      const char *q = p + 1;
      while (*q == ' ')
        q++;
      if (*q < '0' || *q > '9') return MFFI_EPARSE;
      char *end;
      errno = 0;
      unsigned long long idx = strtoull(q, &end, 0);
      while (*end == ' ')
        end++;
      if (*end != ']') return MFFI_EPARSE;
      /* An object holds indexes below its length only (none for "[]"); the
      ** offsetof-like lenient form needs only a representable offset. */
      if (bounded && (b->length < 0 || idx >= (unsigned long long)b->length))
        return MFFI_ERANGE;
      size_t esz = mffi__size(tt, b->child);
      if (errno == ERANGE || idx > MFFI_MAX_SIZE ||
          (esz && (size_t)idx > (MFFI_MAX_SIZE - off) / esz))
        return MFFI_ERANGE;
      off += (size_t)idx * esz;
      cur = b->child;
      m = NULL;
      p = end + 1;
      first = false;
      continue;
    }
    if (*p == '.') {
      if (first) return MFFI_EPARSE;
      p++;
    }
    const char *n = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (*p >= '0' && *p <= '9') || *p == '_' || *p == '$')
      p++;
    if (p == n) return MFFI_EPARSE;
    if (!ti_is_record(b)) return first ? MFFI_EMISUSE : MFFI_ENOTFOUND;
    size_t base = off;
    m = ti_find(tt, b, n, (size_t)(p - n), &base);
    if (!m) return MFFI_ENOTFOUND;
    off = base;
    if (m->bit_width >= 0) {
      while (*p == ' ')
        p++;
      if (*p) return MFFI_ENOTFOUND; /* Nothing lies below a bit-field. */
      ti_field(tt, m, off, out);
      return MFFI_OK;
    }
    off += m->offset;
    if (off > MFFI_MAX_SIZE) return MFFI_ERANGE;
    cur = m->tid;
    first = false;
  }
  if (first) return MFFI_EPARSE;
  out->name = m ? m->name : NULL;
  out->type = tt->types[cur];
  out->offset = off;
  out->bit_offset = off * 8;
  out->bit_width = -1;
  return MFFI_OK;
}

int mffi__type_path_fail(const mffi_type *t, const char *path, int rc) {
  char tn[128];
  mffi_type_str(t, NULL, tn, sizeof tn);
  switch (rc) {
  case MFFI_OK: return rc;
  case MFFI_ENOTFOUND:
    return mffi__err(t->ctx, rc, "no member '%.200s' in '%s'", path, tn);
  case MFFI_EPARSE:
    return mffi__err(t->ctx, rc, "bad member path '%.200s'", path);
  case MFFI_ERANGE:
    return mffi__err(t->ctx, rc, "an index of '%.200s' is out of range in '%s'",
                     path, tn);
  case MFFI_EMISUSE:
    return mffi__err(t->ctx, rc, "'%s' is not a struct or union", tn);
  default: return mffi__err(t->ctx, rc, "member path '%.200s'", path);
  }
}

int mffi_fieldof(const mffi_type *t, const char *path, mffi_field *out) {
  if (!t) return MFFI_EMISUSE;
  mffi__ok(t->ctx);
  if (!path || !out)
    return mffi__err(t->ctx, MFFI_EMISUSE, "mffi_fieldof: NULL argument");
  return mffi__type_path_fail(t, path, mffi__type_path(t, path, false, out));
}

int mffi_offsetof(const mffi_type *t, const char *path, size_t *out) {
  if (out) *out = 0;
  if (!t || !out) return MFFI_EMISUSE;
  mffi_field f;
  int rc = mffi_fieldof(t, path, &f);
  if (rc) return rc;
  if (f.bit_width >= 0)
    return mffi__err(t->ctx, MFFI_EMISUSE,
                     "'%.200s' is a bit-field: it has no byte offset", path);
  *out = f.offset;
  return MFFI_OK;
}

/* -- Declarations ---------------------------------------------------------- */

size_t mffi_ndecls(const mffi_ctx *ctx) {
  return ctx ? ctx->tt.ndecls : 0;
}

const mffi_decl *mffi_decl_at(const mffi_ctx *ctx, size_t i) {
  return ctx && i < ctx->tt.ndecls ? ctx->tt.decls[i] : NULL;
}

const mffi_decl *mffi_decl_find(const mffi_ctx *ctx, const char *name) {
  return ctx && name ? mffi__tt_decl_find(&ctx->tt, name) : NULL;
}

mffi_decl_kind mffi_decl_kind_of(const mffi_decl *d) {
  if (!d) return MFFI_DECL_TYPEDEF;
  return d->kind;
}
const char *mffi_decl_name(const mffi_decl *d) {
  if (!d) return NULL;
  return d->name;
}
const char *mffi_decl_symbol(const mffi_decl *d) {
  if (!d) return NULL;
  return d->symbol;
}
const mffi_type *mffi_decl_type(const mffi_decl *d) {
  if (!d) return NULL;
  return d->ctx->tt.types[d->tid];
}
int64_t mffi_decl_value(const mffi_decl *d) {
  if (!d) return 0;
  return d->value;
}

const char *mffi_decl_param_name(const mffi_decl *d, size_t i) {
  if (!d) return NULL;
  return d->param_names && i < d->nparam_names ? d->param_names[i] : NULL;
}

size_t mffi_decl_nattrs(const mffi_decl *d) {
  if (!d) return 0;
  return d->nattrs;
}

const mffi_attr *mffi_decl_attr(const mffi_decl *d, size_t i) {
  if (!d) return NULL;
  return i < d->nattrs ? &d->attrs[i] : NULL;
}

const mffi_attr *mffi_decl_attr_find(const mffi_decl *d, const char *name) {
  if (!d || !name) return NULL;
  for (uint32_t i = 0; i < d->nattrs; i++)
    if (strcmp(d->attrs[i].name, name) == 0) return &d->attrs[i];
  return NULL;
}
