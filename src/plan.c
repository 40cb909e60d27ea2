/* Marshalling plans: how each argument crosses a boundary. See LICENSE.
**
** A plan is derived once per bound function from its declaration: first the
** GCC attributes that say what a pointer is (access, nonnull,
** null_terminated_string_arg, malloc, alloc_size, returns_nonnull,
** warn_unused_result), then the documented defaults for what they leave
** open (modffi_strategy.h, docs/marshalling.md). Attribute indexes are
** 1-based in C and 0-based here; an index that names no parameter, or a
** pointer parameter for a size, is ignored, as GCC warns and ignores it.
*/
#include <string.h>

#include "lib.h"

/* -- Types ----------------------------------------------------------------- */

static const mffi_type *pl_type(const mffi__tt *tt, mffi__tid tid) {
  return tt->types[tid];
}

/* The base node of tid with enums left alone. */
static const mffi_type *pl_base(const mffi__tt *tt, mffi__tid tid) {
  return mffi__B(tt, tid);
}

static bool pl_is_ptr(const mffi__tt *tt, mffi__tid tid) {
  return pl_base(tt, tid)->kind == MFFI_KIND_POINTER;
}

static bool pl_is_int(const mffi__tt *tt, mffi__tid tid) {
  return mffi__kind_is_int((mffi_kind)pl_base(tt, tid)->kind);
}

/* The default plan of a value of type tid (argument or result). */
static void pl_default(const mffi__tt *tt, mffi__tid tid, bool is_ret,
                       bool variadic, mffi_arg_plan *a) {
  memset(a, 0, sizeof *a);
  a->type = pl_type(tt, tid);
  a->count_arg = -1;
  a->pass = MFFI_PASS_VALUE;
  const mffi_type *b = pl_base(tt, tid);
  if (b->kind != MFFI_KIND_POINTER) return;
  const mffi_type *to = pl_type(tt, b->child);
  const mffi_type *tb = pl_base(tt, b->child);
  bool is_const = (to->quals & MFFI_QUAL_CONST) != 0;
  if (tb->kind == MFFI_KIND_FUNCTION) {
    a->pass = MFFI_PASS_FUNC;
  } else if (tb->kind == MFFI_KIND_CHAR && (is_const || is_ret || variadic)) {
    /* const char * in; a char * result that no malloc attribute owns is a
    ** string to copy out; a variadic char * is printf's %s. */
    a->pass = MFFI_PASS_STRING;
  } else if (is_ret || variadic || tb->kind == MFFI_KIND_VOID ||
             !mffi__tt_complete(tt, b->child)) {
    a->pass = MFFI_PASS_HANDLE;
  } else {
    a->pass = is_const ? MFFI_PASS_IN : MFFI_PASS_INOUT;
    a->elem = to;
    a->elem_size = mffi__size(tt, b->child);
    a->count = 1;
  }
}

/* An attribute's i-th argument as a 0-based parameter index, or -1. */
static int pl_index(const mffi_attr *at, size_t i, size_t nparams) {
  if (i >= at->nargs || at->args[i].str) return -1;
  int64_t v = at->args[i].num;
  return v >= 1 && (uint64_t)v <= nparams ? (int)(v - 1) : -1;
}

/* access(mode, ref[, size]) on parameter ref. */
static void pl_access(const mffi__tt *tt, mffi_plan *p, mffi_arg_plan *args,
                      size_t nfixed, const mffi_attr *at) {
  if (at->nargs < 2 || !at->args[0].str) return;
  int ref = pl_index(at, 1, nfixed);
  if (ref < 0 || !pl_is_ptr(tt, args[ref].type->id)) return;
  int size = at->nargs > 2 ? pl_index(at, 2, nfixed) : -1;
  if (size >= 0 && !pl_is_int(tt, args[size].type->id)) size = -1;
  const char *mode = at->args[0].str;
  mffi_pass pass;
  if (strcmp(mode, "read_only") == 0)
    pass = MFFI_PASS_IN;
  else if (strcmp(mode, "write_only") == 0)
    pass = MFFI_PASS_OUT;
  else if (strcmp(mode, "read_write") == 0)
    pass = MFFI_PASS_INOUT;
  else if (strcmp(mode, "none") == 0)
    pass = MFFI_PASS_HANDLE;
  else
    return;
  mffi_arg_plan *a = &args[ref];
  mffi__tid to = pl_base(tt, a->type->id)->child;
  const mffi_type *tb = pl_base(tt, to);
  bool is_void = tb->kind == MFFI_KIND_VOID;
  /* GCC: without a size, a void * is not checked, a T * is one T. */
  if (pass != MFFI_PASS_HANDLE && size < 0 && is_void) pass = MFFI_PASS_HANDLE;
  if (pass != MFFI_PASS_HANDLE && !is_void && !mffi__tt_complete(tt, to))
    pass = MFFI_PASS_HANDLE;
  a->pass = pass;
  a->rules |= MFFI_RULE_ACCESS;
  if (pass == MFFI_PASS_HANDLE) {
    a->elem = NULL;
    a->elem_size = 0;
    a->count = 0;
    a->count_arg = -1;
    return;
  }
  a->elem = is_void ? pl_type(tt, MFFI_KIND_UCHAR) : pl_type(tt, to);
  a->elem_size = is_void ? 1 : mffi__size(tt, to);
  a->count_arg = size;
  a->count = size < 0 ? 1 : 0;
  p->flags |= MFFI_PLAN_RULES;
}

/* nonnull / nonnull(i, ...) on the fixed parameters. */
static void pl_nonnull(const mffi__tt *tt, mffi_arg_plan *args, size_t nfixed,
                       const mffi_attr *at) {
  if (at->nargs == 0) {
    for (size_t i = 0; i < nfixed; i++)
      if (pl_is_ptr(tt, args[i].type->id)) args[i].rules |= MFFI_RULE_NONNULL;
    return;
  }
  for (size_t k = 0; k < at->nargs; k++) {
    int i = pl_index(at, k, nfixed);
    if (i >= 0 && pl_is_ptr(tt, args[i].type->id))
      args[i].rules |= MFFI_RULE_NONNULL;
  }
}

/* Apply the attributes of d, in the order written (a later access on the
** same parameter wins, as a redeclaration's does). */
static void pl_attrs(const mffi__tt *tt, const mffi_decl *d, mffi_plan *p,
                     mffi_arg_plan *args, size_t nfixed) {
  for (uint32_t k = 0; k < d->nattrs; k++) {
    const mffi_attr *at = &d->attrs[k];
    const char *n = at->name;
    if (strcmp(n, "access") == 0) {
      pl_access(tt, p, args, nfixed, at);
    } else if (strcmp(n, "nonnull") == 0) {
      pl_nonnull(tt, args, nfixed, at);
    } else if (strcmp(n, "null_terminated_string_arg") == 0) {
      int i = pl_index(at, 0, nfixed);
      if (i < 0 || !pl_is_ptr(tt, args[i].type->id)) continue;
      mffi_arg_plan *a = &args[i];
      a->pass = MFFI_PASS_STRING;
      a->rules |= MFFI_RULE_STRING;
      a->elem = NULL;
      a->elem_size = 0;
      a->count = 0;
      a->count_arg = -1;
    } else if (strcmp(n, "returns_nonnull") == 0) {
      if (pl_is_ptr(tt, p->ret.type->id)) p->ret.rules |= MFFI_RULE_NONNULL;
    } else if (strcmp(n, "malloc") == 0) {
      if (!pl_is_ptr(tt, p->ret.type->id)) continue;
      /* Fresh memory: a handle to release, never a string to copy. */
      p->ret.pass = MFFI_PASS_HANDLE;
      p->ret.rules |= MFFI_RULE_OWNED;
      if (at->nargs > 0 && at->args[0].str && !p->dealloc) {
        p->dealloc = at->args[0].str;
        p->dealloc_arg = 0;
        if (at->nargs > 1 && !at->args[1].str && at->args[1].num >= 1)
          p->dealloc_arg = (int)(at->args[1].num - 1);
      }
    } else if (strcmp(n, "alloc_size") == 0) {
      for (size_t j = 0; j < 2; j++) {
        int i = pl_index(at, j, nfixed);
        p->alloc_size[j] = i >= 0 && pl_is_int(tt, args[i].type->id) ? i : -1;
      }
    } else if (strcmp(n, "warn_unused_result") == 0) {
      p->flags |= MFFI_PLAN_WARN_UNUSED;
    }
  }
}

/* Build the plan of fn into storage owned by fn. */
static int pl_build(mffi_fn *fn) {
  mffi_ctx *ctx = fn->lib->ctx;
  const mffi__tt *tt = &ctx->tt;
  size_t n = fn->nargs;
  mffi_plan *p = mffi__calloc(ctx, sizeof *p + n * sizeof(mffi_arg_plan));
  if (!p) return mffi__nomem(ctx);
  mffi_arg_plan *args = (mffi_arg_plan *)(p + 1);
  p->nargs = n;
  p->args = args;
  p->dealloc_arg = -1;
  p->alloc_size[0] = p->alloc_size[1] = -1;
  mffi__tid rtid = fn->is_var ? fn->tid : mffi__B(tt, fn->tid)->child;
  pl_default(tt, rtid, true, false, &p->ret);
  for (size_t i = 0; i < n; i++) {
    pl_default(tt, fn->args[i], false, i >= fn->nfixed, &args[i]);
    if (fn->decl && i < fn->decl->nparam_names)
      args[i].name = fn->decl->param_names[i];
  }
  if (fn->decl) pl_attrs(tt, fn->decl, p, args, fn->nfixed);
  for (size_t i = 0; i < n; i++) {
    if (args[i].pass != MFFI_PASS_VALUE && args[i].pass != MFFI_PASS_HANDLE &&
        args[i].pass != MFFI_PASS_FUNC)
      p->flags |= MFFI_PLAN_COPY;
    if (args[i].rules & (MFFI_RULE_NONNULL | MFFI_RULE_STRING))
      p->flags |= MFFI_PLAN_RULES;
  }
  if (p->ret.pass == MFFI_PASS_STRING) p->flags |= MFFI_PLAN_COPY;
  if (p->ret.rules || p->alloc_size[0] >= 0 ||
      (p->flags & MFFI_PLAN_WARN_UNUSED))
    p->flags |= MFFI_PLAN_RULES;
  fn->plan = p;
  return MFFI_OK;
}

/* -- Public ---------------------------------------------------------------- */

int mffi__plan_prepare(mffi_fn *fn) {
  return fn->plan ? MFFI_OK : pl_build(fn);
}

void mffi__plan_free(mffi_fn *fn) {
  mffi__free(fn->lib->ctx, fn->plan);
  fn->plan = NULL;
}

const mffi_plan *mffi_fn_plan(mffi_fn *fn) {
  if (!fn) return NULL;
  if (!fn->plan && pl_build(fn) != MFFI_OK) return NULL;
  return fn->plan;
}

int64_t mffi_fn_arg_int(const mffi_fn *fn, void *const *args, size_t i) {
  if (!fn || !args || i >= fn->nargs || !args[i]) return 0;
  const mffi__tt *tt = &fn->lib->ctx->tt;
  const mffi_type *b = mffi__type_scalar(tt, fn->args[i]);
  if (!mffi__kind_is_int((mffi_kind)b->kind)) return 0;
  bool sign = mffi__kind_is_signed(tt, (mffi_kind)b->kind);
  const void *v = args[i];
  switch (b->size) {
  case 1: return sign ? (int64_t) * (const int8_t *)v : *(const uint8_t *)v;
  case 2: return sign ? (int64_t) * (const int16_t *)v : *(const uint16_t *)v;
  case 4: return sign ? (int64_t) * (const int32_t *)v : *(const uint32_t *)v;
  case 8: return *(const int64_t *)v;
  case 16: { /* Saturated: a count beyond 2^63 is no smaller for it. */
    int64_t lo, hi;
    memcpy(&lo, v, 8); /* Little-endian: low half first. */
    memcpy(&hi, (const char *)v + 8, 8);
    if (hi == (lo >> 63) && (sign || hi == 0)) return lo;
    return sign && hi < 0 ? INT64_MIN : INT64_MAX;
  }
  default: return 0;
  }
}
