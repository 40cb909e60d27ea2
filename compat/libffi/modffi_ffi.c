/* libffi's API on modffi's call engine. See LICENSE.
**
** libmodffi_ffi.so defines what libffi 3.4's <ffi.h> declares for calls
** and closures (ffi_prep_cif, ffi_prep_cif_var, ffi_call,
** ffi_get_struct_offsets, ffi_closure_alloc, ffi_closure_free,
** ffi_prep_closure_loc, ffi_prep_closure and the ffi_type_* objects), so a
** program written for libffi runs unchanged through modffi: compile it
** against the installed <ffi.h> and link with -lmodffi_ffi instead of
** -lffi. docs/libffi-api.md says what it does and does not do.
**
** It is a user of modffi's public API, nothing more: each cif becomes a C
** function pointer type ("int (*)(double, struct mffi_ffi_s1)") in one
** process-wide context, each (cif, function) pair a mffi_fn bound by
** address, each closure a mffi_closure. Signatures and struct
** descriptions are interned by their text, so preparing the same cif again
** costs a lookup and no memory. modffi's own libffi (the fallback path,
** MFFI_FFI_PATH=libffi in the environment) is reached through libffi's
** versioned symbols; this library's symbols have a version of their own
** (modffi_ffi.map), so the two never meet.
**
** libffi reports no errors from ffi_call: what modffi refuses is refused
** at ffi_prep_cif (FFI_BAD_TYPEDEF, with a line "modffi-ffi: refused: ..."
** on stderr); a call that still cannot be made (out of memory) prints why
** and aborts, where libffi would crash.
*/
#define _GNU_SOURCE
#include <ffi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "modffi.h"
#include "modffi_strategy.h" /* mffi_fn_get_call */

#define MF_PUBLIC __attribute__((visibility("default")))

/* -- Type objects ---------------------------------------------------------- */

#define MF_TYPE(name, T, code)                                                 \
  MF_PUBLIC ffi_type ffi_type_##name = {sizeof(T), _Alignof(T), code, NULL}
MF_PUBLIC ffi_type ffi_type_void = {1, 1, FFI_TYPE_VOID, NULL};
MF_TYPE(uint8, uint8_t, FFI_TYPE_UINT8);
MF_TYPE(sint8, int8_t, FFI_TYPE_SINT8);
MF_TYPE(uint16, uint16_t, FFI_TYPE_UINT16);
MF_TYPE(sint16, int16_t, FFI_TYPE_SINT16);
MF_TYPE(uint32, uint32_t, FFI_TYPE_UINT32);
MF_TYPE(sint32, int32_t, FFI_TYPE_SINT32);
MF_TYPE(uint64, uint64_t, FFI_TYPE_UINT64);
MF_TYPE(sint64, int64_t, FFI_TYPE_SINT64);
MF_TYPE(float, float, FFI_TYPE_FLOAT);
MF_TYPE(double, double, FFI_TYPE_DOUBLE);
MF_TYPE(pointer, void *, FFI_TYPE_POINTER);
MF_TYPE(longdouble, long double, FFI_TYPE_LONGDOUBLE);

static ffi_type *mf_cf[] = {&ffi_type_float, NULL};
static ffi_type *mf_cd[] = {&ffi_type_double, NULL};
static ffi_type *mf_cl[] = {&ffi_type_longdouble, NULL};
MF_PUBLIC ffi_type ffi_type_complex_float = {
    sizeof(float _Complex), _Alignof(float _Complex), FFI_TYPE_COMPLEX, mf_cf};
MF_PUBLIC ffi_type ffi_type_complex_double = {sizeof(double _Complex),
                                              _Alignof(double _Complex),
                                              FFI_TYPE_COMPLEX, mf_cd};
MF_PUBLIC ffi_type ffi_type_complex_longdouble = {
    sizeof(long double _Complex), _Alignof(long double _Complex),
    FFI_TYPE_COMPLEX, mf_cl};

/* -- Process-wide state ---------------------------------------------------- */

/* How ffi_call() stores a result: libffi widens integers narrower than
** ffi_arg to a whole ffi_arg. */
enum { RET_ASIS, RET_SEXT, RET_ZEXT };

/* A function bound for one signature, at one address. Never freed (there
** is no cif to free), so a reader may hold one without the lock. */
typedef struct mf_fn {
  void *addr;
  mffi_fn *fn;
  mffi_call_fn call; /* fn's routine, called without mffi_call's hop. */
  struct mf_fn *next;
} mf_fn;

/* One signature, shared by every cif that has its text. */
typedef struct mf_sig {
  const mffi_type *fnptr;           /* "R (*)(A0, A1[, ...])" */
  const mffi_type **vtypes;         /* The variadic part's types. */
  unsigned nvar;
  int rmode;                        /* RET_* */
  size_t rsize;                     /* The return type's size. */
  _Atomic(mf_fn *) last;            /* The function last called. */
  mf_fn *fns;                       /* Under mf.mu. */
} mf_sig;

/* An interned string -> pointer entry (signatures, struct tags). */
typedef struct mf_ent {
  char *key;
  void *val;
  struct mf_ent *next;
} mf_ent;

#define MF_NBUCKET 1024
#define MF_CHUNK 4096  /* Signatures per chunk of the index table. */
#define MF_NCHUNK 1024 /* cif->flags holds an index: 4 M signatures. */

static struct {
  pthread_mutex_t mu;
  pthread_once_t once;
  mffi_ctx *ctx;
  mffi_lib *lib;
  char why[256]; /* Why the context could not be made, if it could not. */
  mf_ent *sigs[MF_NBUCKET], *tags[MF_NBUCKET];
  _Atomic(mf_sig **) chunk[MF_NCHUNK]; /* Index -> signature. */
  unsigned nsig, ntag;
} mf = {.mu = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

static void mf_init(void) {
  const char *path = getenv("MFFI_FFI_PATH");
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, 0, NULL};
  if (path && strcmp(path, "libffi") == 0) o.flags = MFFI_OPEN_FFI_ONLY;
  int rc = mffi_ctx_new(&mf.ctx, NULL);
  if (rc == MFFI_OK) rc = mffi_open(mf.ctx, NULL, NULL, &o, &mf.lib);
  if (rc != MFFI_OK) {
    snprintf(mf.why, sizeof mf.why, "cannot start modffi: %s",
             mf.ctx ? mffi_errmsg(mf.ctx) : mffi_strerror(rc));
    mffi_ctx_free(mf.ctx);
    mf.ctx = NULL;
  }
}

/* Say on stderr what modffi refuses, as "modffi-ffi: refused: ...". */
static void mf_refuse(const char *what, const char *detail) {
  fprintf(stderr, "modffi-ffi: refused: %s: %s\n", what, detail);
}

static void mf_die(const char *what) {
  fprintf(stderr, "modffi-ffi: %s\n", what);
  abort();
}

static unsigned mf_hash(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h % MF_NBUCKET;
}

static mf_ent **mf_find(mf_ent **tab, const char *key) {
  mf_ent **e = &tab[mf_hash(key)];
  while (*e && strcmp((*e)->key, key) != 0)
    e = &(*e)->next;
  return e;
}

static bool mf_put(mf_ent **at, const char *key, void *val) {
  mf_ent *e = malloc(sizeof *e);
  char *k = strdup(key);
  if (!e || !k) {
    free(e);
    free(k);
    return false;
  }
  *e = (mf_ent){k, val, NULL};
  *at = e;
  return true;
}

/* -- Text ------------------------------------------------------------------ */

typedef struct mf_buf {
  char *p;
  size_t n, cap;
  bool oom;
} mf_buf;

static void mf_add(mf_buf *b, const char *s) {
  size_t k = strlen(s);
  if (b->oom) return;
  if (b->n + k + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->n + k + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, k + 1);
  b->n += k;
}

/* -- Types ----------------------------------------------------------------- */

#define MF_MAXDEPTH 64 /* Nesting; a deeper (or cyclic) struct is refused. */

/* libffi's layout of a struct, filling in the sizes and alignments of it
** and of the structs in it that have none yet (libffi's ffi_prep_cif does
** the same); the members' offsets into offsets, if not NULL. */
static ffi_status mf_layout(ffi_type *t, size_t *offsets, int depth) {
  if (!t->elements || depth > MF_MAXDEPTH) return FFI_BAD_TYPEDEF;
  size_t size = 0, align = 1;
  for (ffi_type **m = t->elements; *m; m++) {
    ffi_type *e = *m;
    if (e->type == FFI_TYPE_STRUCT && e->size == 0 &&
        mf_layout(e, NULL, depth + 1) != FFI_OK)
      return FFI_BAD_TYPEDEF;
    if (e->type == FFI_TYPE_VOID || e->alignment == 0) return FFI_BAD_TYPEDEF;
    size = (size + e->alignment - 1) / e->alignment * e->alignment;
    if (offsets) *offsets++ = size;
    size += e->size;
    if (e->alignment > align) align = e->alignment;
  }
  size = (size + align - 1) / align * align;
  if (size == 0) return FFI_BAD_TYPEDEF;
  t->size = size;
  t->alignment = (unsigned short)align;
  return FFI_OK;
}

static const char *mf_scalar(const ffi_type *t) {
  switch (t->type) {
  case FFI_TYPE_VOID: return "void";
  case FFI_TYPE_INT: return "int";
  case FFI_TYPE_FLOAT: return "float";
  case FFI_TYPE_DOUBLE: return "double";
  case FFI_TYPE_LONGDOUBLE: return "long double";
  case FFI_TYPE_UINT8: return "unsigned char";
  case FFI_TYPE_SINT8: return "signed char";
  case FFI_TYPE_UINT16: return "unsigned short";
  case FFI_TYPE_SINT16: return "short";
  case FFI_TYPE_UINT32: return "unsigned int";
  case FFI_TYPE_SINT32: return "int";
  case FFI_TYPE_UINT64: return "unsigned long";
  case FFI_TYPE_SINT64: return "long";
  case FFI_TYPE_POINTER: return "void *";
  default: return NULL;
  }
}

/* Append the C spelling of t to b, declaring its struct types in mf.ctx
** (under mf.mu). FFI_OK, or FFI_BAD_TYPEDEF with the reason in why. */
static ffi_status mf_text(mf_buf *b, ffi_type *t, int depth, mf_buf *why) {
  if (!t || depth > MF_MAXDEPTH) {
    mf_add(why, t ? "structs nested too deep" : "a NULL type");
    return FFI_BAD_TYPEDEF;
  }
  const char *s = mf_scalar(t);
  if (s) {
    mf_add(b, s);
    return FFI_OK;
  }
  if (t->type == FFI_TYPE_COMPLEX) {
    const ffi_type *e = t->elements ? t->elements[0] : NULL;
    s = e && e->type != FFI_TYPE_VOID && e->type != FFI_TYPE_POINTER
            ? mf_scalar(e)
            : NULL;
    if (!s) {
      mf_add(why, "a complex type of no scalar element");
      return FFI_BAD_TYPEDEF;
    }
    mf_add(b, "_Complex ");
    mf_add(b, s);
    return FFI_OK;
  }
  if (t->type != FFI_TYPE_STRUCT) {
    mf_add(why, "an unknown type code");
    return FFI_BAD_TYPEDEF;
  }
  if (t->size == 0 && mf_layout(t, NULL, depth) != FFI_OK) {
    mf_add(why, "a struct with no members, a void one, or one too deep");
    return FFI_BAD_TYPEDEF;
  }
  /* The members' spellings are the struct's key: one tag per layout. */
  mf_buf key = {0};
  ffi_status rc = FFI_OK;
  for (ffi_type **m = t->elements; rc == FFI_OK && *m; m++) {
    rc = mf_text(&key, *m, depth + 1, why);
    mf_add(&key, ";");
  }
  if (rc == FFI_OK && key.oom) {
    mf_add(why, "out of memory");
    rc = FFI_BAD_TYPEDEF;
  }
  mf_ent **at = rc == FFI_OK ? mf_find(mf.tags, key.p) : NULL;
  if (at && !*at) { /* Declare it: struct mffi_ffi_sN { T0 m0; ... }; */
    char tag[32], mem[32];
    snprintf(tag, sizeof tag, "struct mffi_ffi_s%u", mf.ntag);
    mf_buf d = {0};
    mf_add(&d, tag);
    mf_add(&d, " {");
    unsigned i = 0;
    for (ffi_type **m = t->elements; *m; m++, i++) {
      mf_add(&d, " ");
      (void)mf_text(&d, *m, depth + 1, why); /* Known good: just spelled. */
      snprintf(mem, sizeof mem, " m%u;", i);
      mf_add(&d, mem);
    }
    mf_add(&d, " };");
    const mffi_type *st = NULL;
    if (d.oom || !mf_put(at, key.p, NULL)) {
      mf_add(why, "out of memory");
      rc = FFI_BAD_TYPEDEF;
    } else if (mffi_cdef(mf.ctx, d.p, d.n) != MFFI_OK ||
               mffi_typeof(mf.ctx, tag, &st) != MFFI_OK) {
      mf_add(why, mffi_errmsg(mf.ctx));
      rc = FFI_BAD_TYPEDEF;
    } else {
      (*at)->val = (void *)st;
      mf.ntag++;
    }
    free(d.p);
  }
  if (rc == FFI_OK && !(*at)->val) {
    mf_add(why, "a struct modffi could not declare");
    rc = FFI_BAD_TYPEDEF;
  }
  if (rc == FFI_OK) {
    /* libffi's layout and the C compiler's must agree, or the description
    ** means something else to the two. */
    const mffi_type *st = (*at)->val;
    if (mffi_sizeof(st) != t->size || mffi_alignof(st) != t->alignment) {
      mf_add(why, "a struct whose size or alignment is not C's");
      rc = FFI_BAD_TYPEDEF;
    } else {
      mf_add(b, "struct ");
      mf_add(b, mffi_type_tag(st)); /* Tagged: declared so above. */
    }
  }
  free(key.p);
  return rc;
}

/* -- Signatures ------------------------------------------------------------ */

static int mf_rmode(const ffi_type *t) {
  switch (t->type) {
  case FFI_TYPE_UINT8:
  case FFI_TYPE_UINT16:
  case FFI_TYPE_UINT32: return RET_ZEXT;
  case FFI_TYPE_SINT8:
  case FFI_TYPE_SINT16:
  case FFI_TYPE_SINT32:
  case FFI_TYPE_INT: return RET_SEXT;
  default: return RET_ASIS;
  }
}

/* The signature of a cif being prepared (under mf.mu): found by its text,
** or made, with a trial bind so that what modffi refuses is refused now.
** Its index + 1 in *idx. */
static ffi_status mf_sig_get(ffi_type *rtype, ffi_type **atypes,
                             unsigned nfixed, unsigned ntotal, bool variadic,
                             bool ms, unsigned *idx, mf_buf *why) {
  mf_buf t = {0};
  ffi_status rc = mf_text(&t, rtype, 0, why);
  mf_add(&t, ms ? " (__attribute__((ms_abi)) *)(" : " (*)(");
  for (unsigned i = 0; rc == FFI_OK && i < nfixed; i++) {
    if (i) mf_add(&t, ", ");
    rc = mf_text(&t, atypes[i], 0, why);
    if (rc == FFI_OK && atypes[i]->type == FFI_TYPE_VOID) {
      mf_add(why, "a void argument");
      rc = FFI_BAD_TYPEDEF;
    }
  }
  mf_add(&t, variadic ? (nfixed ? ", ...)" : "...)") : nfixed ? ")" : "void)");
  size_t fnlen = t.n;
  for (unsigned i = nfixed; rc == FFI_OK && i < ntotal; i++) {
    mf_add(&t, "|");
    rc = mf_text(&t, atypes[i], 0, why);
  }
  if (rc == FFI_OK && t.oom) {
    mf_add(why, "out of memory");
    rc = FFI_BAD_TYPEDEF;
  }
  mf_ent **at = rc == FFI_OK ? mf_find(mf.sigs, t.p) : NULL;
  if (at && *at) {
    *idx = (unsigned)(uintptr_t)(*at)->val;
    free(t.p);
    return FFI_OK;
  }
  mf_sig *s = NULL;
  if (rc == FFI_OK && mf.nsig >= (unsigned)MF_CHUNK * MF_NCHUNK) {
    mf_add(why, "too many signatures");
    rc = FFI_BAD_TYPEDEF;
  }
  if (rc == FFI_OK) {
    s = calloc(1, sizeof *s);
    if (s) s->vtypes = calloc(ntotal - nfixed + 1, sizeof *s->vtypes);
    if (!s || !s->vtypes) {
      mf_add(why, "out of memory");
      rc = FFI_BAD_TYPEDEF;
    }
  }
  if (rc == FFI_OK) { /* The types, each spelled again on its own. */
    char c = t.p[fnlen];
    t.p[fnlen] = '\0';
    if (mffi_typeof(mf.ctx, t.p, &s->fnptr) != MFFI_OK) rc = FFI_BAD_TYPEDEF;
    t.p[fnlen] = c;
    for (unsigned i = nfixed; rc == FFI_OK && i < ntotal; i++) {
      mf_buf v = {0};
      if (mf_text(&v, atypes[i], 0, why) != FFI_OK || v.oom ||
          mffi_typeof(mf.ctx, v.p, &s->vtypes[s->nvar++]) != MFFI_OK)
        rc = FFI_BAD_TYPEDEF;
      free(v.p);
    }
    if (rc != FFI_OK) mf_add(why, mffi_errmsg(mf.ctx));
  }
  if (rc == FFI_OK) { /* What modffi cannot call is refused here. */
    mffi_fn *fn = NULL;
    if (mffi_bind_ptr_variadic(mf.lib, s->fnptr, (void *)mf_init, s->vtypes,
                               s->nvar, &fn) != MFFI_OK) {
      mf_add(why, mffi_errmsg(mf.ctx));
      rc = FFI_BAD_TYPEDEF;
    }
    mffi_fn_free(fn);
  }
  if (rc == FFI_OK) {
    s->rmode = mf_rmode(rtype);
    s->rsize = rtype->type == FFI_TYPE_VOID ? 0 : rtype->size;
    unsigned k = mf.nsig, c = k / MF_CHUNK;
    mf_sig **ch = atomic_load(&mf.chunk[c]);
    if (!ch && (ch = calloc(MF_CHUNK, sizeof *ch)))
      atomic_store(&mf.chunk[c], ch);
    if (!ch || !mf_put(at, t.p, (void *)(uintptr_t)(k + 1))) {
      mf_add(why, "out of memory");
      rc = FFI_BAD_TYPEDEF;
    } else {
      ch[k % MF_CHUNK] = s;
      mf.nsig++;
      *idx = k + 1;
      s = NULL; /* Kept. */
    }
  }
  if (s) free(s->vtypes);
  free(s);
  free(t.p);
  return rc;
}

/* The signature of a prepared cif, or NULL. */
static mf_sig *mf_sig_of(const ffi_cif *cif) {
  unsigned k = cif ? cif->flags : 0;
  if (k == 0 || k > (unsigned)MF_CHUNK * MF_NCHUNK) return NULL;
  k--;
  mf_sig **ch = atomic_load(&mf.chunk[k / MF_CHUNK]);
  return ch ? ch[k % MF_CHUNK] : NULL;
}

/* The ABIs modffi calls: System V, and the Microsoft x64 convention
** (ms_abi function types) by both its names. */
static bool mf_abi_ok(ffi_abi abi) {
  return abi == FFI_UNIX64 || abi == FFI_GNUW64 || abi == FFI_WIN64;
}

static ffi_status mf_prep(ffi_cif *cif, ffi_abi abi, bool variadic,
                          unsigned nfixed, unsigned ntotal, ffi_type *rtype,
                          ffi_type **atypes) {
  if (!cif) return FFI_BAD_TYPEDEF;
  if (abi <= FFI_FIRST_ABI || abi >= FFI_LAST_ABI) return FFI_BAD_ABI;
  cif->abi = abi;
  cif->nargs = ntotal;
  cif->arg_types = atypes;
  cif->rtype = rtype;
  cif->bytes = 0;
  cif->flags = 0;
  if (!mf_abi_ok(abi)) {
    mf_refuse("ffi_prep_cif", "an ABI other than FFI_UNIX64, FFI_GNUW64 and "
                              "FFI_WIN64");
    return FFI_BAD_ABI;
  }
  if (!rtype || (ntotal && !atypes) || nfixed > ntotal)
    return FFI_BAD_TYPEDEF;
  /* FFI_WIN64 is MSVC's convention, whose long double is a double: a
  ** function of GCC's (FFI_GNUW64, ms_abi) takes an 80-bit one. */
  for (unsigned i = 0; abi == FFI_WIN64 && i <= ntotal; i++)
    if ((i < ntotal ? atypes[i] : rtype)->type == FFI_TYPE_LONGDOUBLE) {
      mf_refuse("ffi_prep_cif", "long double in an FFI_WIN64 call (MSVC's "
                                "long double); FFI_GNUW64 is GCC's");
      return FFI_BAD_TYPEDEF;
    }
  /* libffi's own checks first (its errors, not refusals): a type of size 0
  ** is an aggregate to lay out, and has members. */
  for (unsigned i = 0; i <= ntotal; i++) {
    ffi_type *t = i < ntotal ? atypes[i] : rtype;
    if (!t || (t->size == 0 && mf_layout(t, NULL, 0) != FFI_OK))
      return FFI_BAD_TYPEDEF;
  }
  pthread_once(&mf.once, mf_init);
  if (!mf.ctx) {
    mf_refuse("ffi_prep_cif", mf.why);
    return FFI_BAD_TYPEDEF;
  }
  mf_buf why = {0};
  unsigned idx = 0;
  pthread_mutex_lock(&mf.mu);
  ffi_status rc = mf_sig_get(rtype, atypes, nfixed, ntotal, variadic,
                             abi != FFI_UNIX64, &idx, &why);
  pthread_mutex_unlock(&mf.mu);
  if (rc != FFI_OK) {
    mf_refuse("ffi_prep_cif", why.p && !why.oom ? why.p : "out of memory");
    free(why.p);
    return rc;
  }
  free(why.p);
  cif->flags = idx;
  return FFI_OK;
}

MF_PUBLIC ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned nargs,
                                  ffi_type *rtype, ffi_type **atypes) {
  return mf_prep(cif, abi, false, nargs, nargs, rtype, atypes);
}

MF_PUBLIC ffi_status ffi_prep_cif_var(ffi_cif *cif, ffi_abi abi,
                                      unsigned nfixedargs, unsigned ntotalargs,
                                      ffi_type *rtype, ffi_type **atypes) {
  ffi_status rc =
      mf_prep(cif, abi, true, nfixedargs, ntotalargs, rtype, atypes);
  if (rc != FFI_OK) return rc;
  /* As libffi: a variadic argument is passed promoted, so a float or an
  ** integer narrower than int is the caller's mistake. */
  for (unsigned i = nfixedargs; i < ntotalargs; i++) {
    const ffi_type *t = atypes[i];
    if (t == &ffi_type_float ||
        (t->type != FFI_TYPE_STRUCT && t->type != FFI_TYPE_COMPLEX &&
         t->size < sizeof(int))) {
      cif->flags = 0;
      return FFI_BAD_ARGTYPE;
    }
  }
  return FFI_OK;
}

MF_PUBLIC ffi_status ffi_get_struct_offsets(ffi_abi abi, ffi_type *struct_type,
                                            size_t *offsets) {
  if (abi <= FFI_FIRST_ABI || abi >= FFI_LAST_ABI) return FFI_BAD_ABI;
  if (!struct_type || struct_type->type != FFI_TYPE_STRUCT)
    return FFI_BAD_TYPEDEF;
  return mf_layout(struct_type, offsets, 0);
}

/* -- Calls ----------------------------------------------------------------- */

/* s's function at addr, bound now (under mf.mu). */
static __attribute__((noinline)) mf_fn *mf_fn_bind(mf_sig *s, void *addr) {
  pthread_mutex_lock(&mf.mu);
  mf_fn *f;
  for (f = s->fns; f && f->addr != addr; f = f->next)
    ;
  if (!f && (f = calloc(1, sizeof *f))) {
    if (mffi_bind_ptr_variadic(mf.lib, s->fnptr, addr, s->vtypes, s->nvar,
                               &f->fn) == MFFI_OK) {
      f->addr = addr;
      f->call = mffi_fn_get_call(f->fn);
      f->next = s->fns;
      s->fns = f;
    } else {
      fprintf(stderr, "modffi-ffi: ffi_call: %s\n", mffi_errmsg(mf.ctx));
      free(f);
      f = NULL;
    }
  }
  pthread_mutex_unlock(&mf.mu);
  if (!f) mf_die("ffi_call: cannot bind the function");
  atomic_store_explicit(&s->last, f, memory_order_release);
  return f;
}

/* s's function at addr: the one called last, or bound on first use. */
static inline mf_fn *mf_fn_at(mf_sig *s, void *addr) {
  mf_fn *f = atomic_load_explicit(&s->last, memory_order_acquire);
  return f && f->addr == addr ? f : mf_fn_bind(s, addr);
}

/* call(fn, ret, args) through a direct call to an indirect jump, which is
** cheaper than the indirect call the compiler would make (0.6-0.8 ns on
** the x86-64 machines measured, docs/call-engine.md). */
int mf_via(mffi_fn *fn, void *ret, void *const *args, mffi_call_fn call);
__asm__(".text\n"
        ".p2align 4\n"
        ".hidden mf_via\n"
        ".type mf_via, @function\n"
        "mf_via:\n"
        ".cfi_startproc\n"
        "  endbr64\n"
        "  jmpq *%rcx\n"
        ".cfi_endproc\n"
        ".size mf_via, .-mf_via\n");

/* Widen a result of size n at p to the ffi_arg libffi stores. */
static ffi_arg mf_widen(const void *p, size_t n, int mode) {
  switch (n) {
  case 1: {
    uint8_t v;
    memcpy(&v, p, 1);
    return mode == RET_SEXT ? (ffi_arg)(ffi_sarg)(int8_t)v : v;
  }
  case 2: {
    uint16_t v;
    memcpy(&v, p, 2);
    return mode == RET_SEXT ? (ffi_arg)(ffi_sarg)(int16_t)v : v;
  }
  default: {
    uint32_t v;
    memcpy(&v, p, 4);
    return mode == RET_SEXT ? (ffi_arg)(ffi_sarg)(int32_t)v : v;
  }
  }
}

static __attribute__((noreturn, noinline)) void mf_call_failed(void) {
  fprintf(stderr, "modffi-ffi: ffi_call: %s\n", mffi_errmsg(mf.ctx));
  abort();
}

MF_PUBLIC void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue,
                        void **avalue) {
  mf_sig *s = mf_sig_of(cif);
  if (!s) mf_die("ffi_call: the cif was not prepared by ffi_prep_cif");
  if (!avalue && cif->nargs) mf_die("ffi_call: avalue is NULL");
  mf_fn *f = mf_fn_at(s, (void *)fn);
  if (s->rmode == RET_ASIS && rvalue) {
    /* Cannot fail (the arguments are there, the result has room): a tail
    ** call. */
    f->call(f->fn, rvalue, (void *const *)avalue);
    return;
  }
  uint32_t small = 0;
  int rc = mf_via(f->fn, s->rmode != RET_ASIS ? (void *)&small : rvalue,
                  (void *const *)avalue, f->call);
  if (rc != MFFI_OK) mf_call_failed();
  if (rvalue) {
    ffi_arg w = mf_widen(&small, s->rsize, s->rmode);
    memcpy(rvalue, &w, sizeof w);
  }
}

/* -- Closures -------------------------------------------------------------- */

/* As libffi's: ffi_closure_alloc() gives memory mapped twice from one
** memory file, the closure in the writable view and its code at the same
** offset in the executable one (so the two hold the same bytes, as libffi
** programs may check). The code, in the closure's tramp, jumps through a
** cell beside it that ffi_prep_closure_loc() points at modffi's callback:
**   tramp + 0:  endbr64; jmp *6(%rip)   (to tramp + 16)
**   tramp + 16: the target;  tramp + 24: our record (mf_clo). */
#define MF_REGION (64 * 1024) /* Bytes mapped at a time. */
#define MF_SLOT 128           /* One closure of up to this size. */

typedef struct mf_region {
  unsigned char *rw, *rx;
  size_t size;
  struct mf_region *next;
} mf_region;

typedef struct mf_clo {
  ffi_closure *closure;
  mffi_closure *mc;
  mf_sig *sig;
  struct mf_clo *next; /* Foreign closures (below). */
} mf_clo;

/* Under mf.mu: */
static mf_region *mf_regions;
static unsigned char *mf_slot_free; /* Free slots (rw), linked through
                                       their first word. */
static mf_clo *mf_foreign;          /* Closures prepared in memory not
                                       ours (libffi's old way). */

static void mf_unprepared(void) {
  mf_die("a closure was called before ffi_prep_closure_loc");
}

/* A region of size bytes mapped twice, or NULL (under mf.mu). */
static mf_region *mf_region_new(size_t size) {
  mf_region *r = calloc(1, sizeof *r);
  int fd = memfd_create("modffi-ffi", MFD_CLOEXEC | 0x10u /* MFD_EXEC */);
  if (fd < 0) fd = memfd_create("modffi-ffi", MFD_CLOEXEC);
  if (!r || fd < 0 || ftruncate(fd, (off_t)size) != 0) goto fail;
  r->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  r->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  if (r->rw == MAP_FAILED || r->rx == MAP_FAILED) {
    if (r->rw != MAP_FAILED) munmap(r->rw, size);
    if (r->rx != MAP_FAILED) munmap(r->rx, size);
    goto fail;
  }
  close(fd);
  r->size = size;
  r->next = mf_regions;
  mf_regions = r;
  return r;
fail:
  if (fd >= 0) close(fd);
  free(r);
  return NULL;
}

/* The region holding the rw address p (under mf.mu). */
static mf_region *mf_region_of(const void *p) {
  for (mf_region *r = mf_regions; r; r = r->next)
    if ((const unsigned char *)p >= r->rw &&
        (const unsigned char *)p < r->rw + r->size)
      return r;
  return NULL;
}

static void **mf_cell(ffi_closure *closure, int k) {
  return (void **)(void *)(closure->tramp + 16 + 8 * k);
}

MF_PUBLIC void *ffi_closure_alloc(size_t size, void **code) {
  if (size < sizeof(ffi_closure)) size = sizeof(ffi_closure);
  pthread_mutex_lock(&mf.mu);
  unsigned char *w = NULL;
  mf_region *r = NULL;
  if (size <= MF_SLOT) {
    if (!mf_slot_free && (r = mf_region_new(MF_REGION))) {
      for (size_t o = MF_REGION; o >= MF_SLOT; o -= MF_SLOT) {
        memcpy(r->rw + o - MF_SLOT, &mf_slot_free, sizeof mf_slot_free);
        mf_slot_free = r->rw + o - MF_SLOT;
      }
    }
    if ((w = mf_slot_free)) memcpy(&mf_slot_free, w, sizeof w);
  } else {
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    if ((r = mf_region_new((size + ps - 1) / ps * ps))) w = r->rw;
  }
  if (w) r = mf_region_of(w);
  pthread_mutex_unlock(&mf.mu);
  if (!w) return NULL;
  memset(w, 0, size);
  ffi_closure *closure = (ffi_closure *)(void *)w;
  static const unsigned char jump[] = {0xf3, 0x0f, 0x1e, 0xfa, 0xff,
                                       0x25, 0x06, 0x00, 0x00, 0x00};
  memcpy(closure->tramp, jump, sizeof jump);
  memset(closure->tramp + sizeof jump, 0xcc, 16 - sizeof jump);
  *mf_cell(closure, 0) = (void *)mf_unprepared;
  if (code) *code = r->rx + (w - r->rw);
  return closure;
}

MF_PUBLIC void ffi_closure_free(void *ptr) {
  if (!ptr) return;
  pthread_mutex_lock(&mf.mu);
  mf_region *r = mf_region_of(ptr);
  if (r) { /* Else not from ffi_closure_alloc(): not ours to free. */
    ffi_closure *closure = ptr;
    __atomic_store_n(mf_cell(closure, 0), (void *)mf_unprepared,
                     __ATOMIC_RELEASE);
    mf_clo *c = *mf_cell(closure, 1);
    if (c) mffi_closure_free(c->mc);
    free(c);
    if (r->size == MF_REGION) { /* A slot: back on the list. */
      memcpy(ptr, &mf_slot_free, sizeof mf_slot_free);
      mf_slot_free = ptr;
    } else { /* A region of its own. */
      mf_region **at = &mf_regions;
      while (*at != r)
        at = &(*at)->next;
      *at = r->next;
      munmap(r->rw, r->size);
      munmap(r->rx, r->size);
      free(r);
    }
  }
  pthread_mutex_unlock(&mf.mu);
}

/* The handler of every closure: the user's fun, with libffi's conventions
** for the result (an integer narrower than ffi_arg is written as one). */
static void mf_handler(void *ret, void *const *args, void *data) {
  const mf_clo *c = data;
  ffi_closure *cl = c->closure;
  if (c->sig->rmode != RET_ASIS || !ret) {
    ffi_arg w = 0;
    cl->fun(cl->cif, &w, (void **)args, cl->user_data);
    if (ret) memcpy(ret, &w, c->sig->rsize);
    return;
  }
  cl->fun(cl->cif, ret, (void **)args, cl->user_data);
}

MF_PUBLIC ffi_status ffi_prep_closure_loc(
    ffi_closure *closure, ffi_cif *cif,
    void (*fun)(ffi_cif *, void *, void **, void *), void *user_data,
    void *codeloc) {
  if (!closure || !cif || !fun) return FFI_BAD_TYPEDEF;
  if (!mf_abi_ok(cif->abi)) return FFI_BAD_ABI;
  mf_sig *s = mf_sig_of(cif); /* Made by ffi_prep_cif, for its ABI. */
  if (!s) return FFI_BAD_TYPEDEF;
  pthread_mutex_lock(&mf.mu);
  bool ours = mf_region_of(closure) != NULL;
  mf_clo *c = ours ? *mf_cell(closure, 1) : mf_foreign;
  if (!ours) /* The caller's own memory, code at codeloc (libffi's old way). */
    while (c && c->closure != closure)
      c = c->next;
  if (!c && (c = calloc(1, sizeof *c))) {
    c->closure = closure;
    if (ours) {
      *mf_cell(closure, 1) = c;
    } else {
      c->next = mf_foreign;
      mf_foreign = c;
    }
  }
  ffi_status rc = FFI_OK;
  mffi_closure *mc = NULL;
  closure->cif = cif;
  closure->fun = fun;
  closure->user_data = user_data;
  if (!c) {
    rc = FFI_BAD_TYPEDEF;
  } else {
    c->sig = s;
    int mrc = mffi_type_variadic(mffi_type_target(s->fnptr))
                  ? mffi_callback_variadic(mf.lib, s->fnptr, s->vtypes,
                                           s->nvar, mf_handler, c, &mc)
                  : mffi_callback(mf.lib, s->fnptr, mf_handler, c, &mc);
    if (mrc != MFFI_OK) {
      mf_refuse("ffi_prep_closure_loc", mffi_errmsg(mf.ctx));
      rc = FFI_BAD_TYPEDEF;
    }
  }
  if (rc == FFI_OK) {
    mffi_closure *old = c->mc;
    c->mc = mc;
    void *target = mffi_closure_code(mc);
    if (ours) {
      __atomic_store_n(mf_cell(closure, 0), target, __ATOMIC_RELEASE);
    } else { /* jmp *0(%rip); .quad target */
      unsigned char j[14] = {0xff, 0x25, 0, 0, 0, 0};
      memcpy(j + 6, &target, sizeof target);
      char *at = codeloc ? codeloc : (char *)closure;
      memcpy(at, j, sizeof j);
      __builtin___clear_cache(at, at + sizeof j);
    }
    mffi_closure_free(old); /* Not running: the caller re-prepares it. */
  }
  pthread_mutex_unlock(&mf.mu);
  return rc;
}

MF_PUBLIC ffi_status ffi_prep_closure(
    ffi_closure *closure, ffi_cif *cif,
    void (*fun)(ffi_cif *, void *, void **, void *), void *user_data) {
  return ffi_prep_closure_loc(closure, cif, fun, user_data, closure);
}
