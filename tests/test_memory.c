/* Typed memory: new/delete, keep-alive, read/write, fields. See LICENSE. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modffi.h"

/* An allocator that counts live blocks. */
static long live;

static void *count_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    if (ptr) live--;
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p && !ptr) live++;
  return p;
}

static mffi_ctx *ctx;
static mffi_lib *lib;

static const char decls[] =
    "struct inner { int a; unsigned b : 3; int c : 5; };\n"
    "struct outer { char tag; struct inner in[3]; double d;\n"
    "  union { long l; float f; }; struct inner *link; };\n"
    "struct __attribute__((aligned(64))) wide { char c; };\n"
    "struct opaque;\n"
    "struct bounded { int arr[3]; int after; int grid[2][2]; };\n"
    "struct flexed { int n; int tail[]; };\n"
    "void *memset(void *s, int c, unsigned long n);\n";

static void setup(void) {
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, count_alloc, NULL};
  cr_assert_eq(mffi_ctx_new(&ctx, &o), MFFI_OK);
  cr_assert_eq(mffi_cdef(ctx, decls, sizeof decls - 1), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  cr_assert_eq(mffi_open(ctx, NULL, NULL, NULL, &lib), MFFI_OK);
}

static void teardown(void) {
  mffi_close(lib);
  mffi_ctx_free(ctx);
  cr_assert_eq(live, 0, "%ld blocks leaked", live);
}

TestSuite(memory, .init = setup, .fini = teardown, .timeout = 30);

static const mffi_type *ty(const char *expr) {
  const mffi_type *t = NULL;
  cr_assert_eq(mffi_typeof(ctx, expr, &t), MFFI_OK, "%s", mffi_errmsg(ctx));
  return t;
}

Test(memory, new_delete) {
  void *p = NULL;
  const mffi_type *o = ty("struct outer");
  cr_assert_eq(mffi_new(lib, o, 4, &p), MFFI_OK);
  cr_assert_not_null(p);
  for (size_t i = 0; i < 4 * mffi_sizeof(o); i++)
    cr_assert_eq(((unsigned char *)p)[i], 0, "zeroed");
  cr_assert_eq((uintptr_t)p % mffi_alignof(o), 0);
  void *w = NULL;
  cr_assert_eq(mffi_new(lib, ty("struct wide"), 1, &w), MFFI_OK);
  cr_assert_eq((uintptr_t)w % 64, 0, "aligned(64)");
  long before = live;
  mffi_delete(lib, p);
  cr_assert_lt(live, before);
  mffi_delete(lib, w);
  mffi_delete(lib, NULL);

  void *q = (void *)1;
  cr_assert_eq(mffi_new(lib, o, 0, &q), MFFI_EMISUSE);
  cr_assert_null(q);
  cr_assert_eq(mffi_new(lib, ty("struct opaque"), 1, &q), MFFI_EMISUSE);
  cr_assert_eq(mffi_new(lib, ty("void"), 1, &q), MFFI_EMISUSE);
  cr_assert_eq(mffi_new(lib, ty("int (int)"), 1, &q), MFFI_EMISUSE);
  cr_assert_eq(mffi_new(lib, ty("char"), SIZE_MAX, &q), MFFI_ERANGE);
  cr_assert_eq(mffi_new(lib, ty("long"), SIZE_MAX / 2, &q), MFFI_ERANGE);
}

Test(memory, bad_delete_is_ignored) {
  int x;
  mffi_delete(lib, &x);
  cr_assert_eq(mffi_errcode(ctx), MFFI_EMISUSE);
  void *p;
  cr_assert_eq(mffi_new(lib, ty("int"), 1, &p), MFFI_OK);
  mffi_delete(lib, p);
  mffi_delete(lib, p); /* Twice: reported, not a crash. */
  cr_assert_eq(mffi_errcode(ctx), MFFI_EMISUSE);
}

Test(memory, keep_alive) {
  void *owner, *dep, *dep2;
  cr_assert_eq(mffi_new(lib, ty("struct outer"), 1, &owner), MFFI_OK);
  cr_assert_eq(mffi_new(lib, ty("struct inner"), 1, &dep), MFFI_OK);
  cr_assert_eq(mffi_new(lib, ty("int"), 8, &dep2), MFFI_OK);
  long base = live;
  cr_assert_eq(mffi_keep(lib, owner, dep), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, dep, dep2), MFFI_OK); /* A chain. */
  long kept = live;
  /* The struct holds the pointer; the caller lets go of the target. */
  mffi_delete(lib, dep);
  mffi_delete(lib, dep2);
  cr_assert_eq(live, kept, "still alive through the owner");
  *(int *)dep2 = 5; /* Still writable (ASan would catch a free). */
  cr_assert_eq(mffi_write(lib, dep, &(int){7}, sizeof(int)), MFFI_OK);
  mffi_delete(lib, owner);
  cr_assert_lt(live, base - 2, "owner, dep and dep2 freed together");

  /* Misuse. */
  int x;
  void *a;
  cr_assert_eq(mffi_new(lib, ty("int"), 1, &a), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, a, &x), MFFI_EMISUSE);
  cr_assert_eq(mffi_keep(lib, &x, a), MFFI_EMISUSE);
  cr_assert_eq(mffi_keep(lib, a, a), MFFI_EMISUSE);
}

Test(memory, shared_dependent) {
  void *o1, *o2, *d;
  cr_assert_eq(mffi_new(lib, ty("long"), 1, &o1), MFFI_OK);
  cr_assert_eq(mffi_new(lib, ty("long"), 1, &o2), MFFI_OK);
  cr_assert_eq(mffi_new(lib, ty("long"), 1, &d), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, o1, d), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, o2, d), MFFI_OK);
  mffi_delete(lib, d);
  long l0 = live;
  mffi_delete(lib, o1);
  cr_assert_eq(mffi_read(lib, &(long){0}, d, sizeof(long)), MFFI_OK);
  mffi_delete(lib, o2);
  cr_assert_lt(live, l0 - 1);
  /* A cycle lives until mffi_close (the teardown checks for leaks). */
  void *c1, *c2;
  cr_assert_eq(mffi_new(lib, ty("long"), 1, &c1), MFFI_OK);
  cr_assert_eq(mffi_new(lib, ty("long"), 1, &c2), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, c1, c2), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, c2, c1), MFFI_OK);
  mffi_delete(lib, c1);
  mffi_delete(lib, c2);
}

Test(memory, read_write_bounds) {
  int *p;
  cr_assert_eq(mffi_new(lib, ty("int"), 4, (void **)&p), MFFI_OK);
  int in[4] = {1, 2, 3, 4}, out[4] = {0};
  cr_assert_eq(mffi_write(lib, p, in, sizeof in), MFFI_OK);
  cr_assert_eq(mffi_read(lib, out, p, sizeof out), MFFI_OK);
  cr_assert_arr_eq(in, out, sizeof in);
  cr_assert_eq(mffi_read(lib, out, p + 2, 2 * sizeof(int)), MFFI_OK);
  cr_assert_eq(mffi_read(lib, out, p + 2, 3 * sizeof(int)), MFFI_ERANGE);
  cr_assert(strstr(mffi_errmsg(ctx), "overrun"), "%s", mffi_errmsg(ctx));
  cr_assert_eq(mffi_write(lib, p + 3, in, 2 * sizeof(int)), MFFI_ERANGE);
  cr_assert_eq(mffi_read(lib, NULL, p, 4), MFFI_EMISUSE);
  cr_assert_eq(mffi_read(lib, NULL, NULL, 0), MFFI_OK);
  /* Memory that is not from mffi_new: plain copies. */
  int local = 9, got = 0;
  cr_assert_eq(mffi_read(lib, &got, &local, sizeof got), MFFI_OK);
  cr_assert_eq(got, 9);
  /* The library writes into mffi_new memory. */
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "memset", &fn), MFFI_OK, "%s", mffi_errmsg(ctx));
  int byte = 0x11;
  unsigned long n = sizeof in;
  void *dst = p, *ret = NULL;
  void *args[] = {&dst, &byte, &n};
  cr_assert_eq(mffi_call(fn, &ret, args), MFFI_OK);
  cr_assert_eq(ret, p);
  cr_assert_eq(p[3], 0x11111111);
}

Test(memory, fields) {
  const mffi_type *o = ty("struct outer");
  void *obj;
  cr_assert_eq(mffi_new(lib, o, 1, &obj), MFFI_OK);
  char tag = 'T';
  cr_assert_eq(mffi_field_set(o, obj, "tag", &tag), MFFI_OK);
  int a = -77;
  cr_assert_eq(mffi_field_set(o, obj, "in[2].a", &a), MFFI_OK);
  unsigned b = 13; /* Truncated to 3 bits: 5. */
  cr_assert_eq(mffi_field_set(o, obj, "in[1].b", &b), MFFI_OK);
  int c = -9;
  cr_assert_eq(mffi_field_set(o, obj, "in[1].c", &c), MFFI_OK);
  double d = 6.5;
  cr_assert_eq(mffi_field_set(o, obj, "d", &d), MFFI_OK);
  long l = 0x1122334455667788L;
  cr_assert_eq(mffi_field_set(o, obj, "l", &l), MFFI_OK, "anonymous union");

  char tag2;
  int a2, c2;
  unsigned b2;
  double d2;
  long l2;
  cr_assert_eq(mffi_field_get(o, obj, "tag", &tag2), MFFI_OK);
  cr_assert_eq(mffi_field_get(o, obj, "in[2].a", &a2), MFFI_OK);
  cr_assert_eq(mffi_field_get(o, obj, "in[1].b", &b2), MFFI_OK);
  cr_assert_eq(mffi_field_get(o, obj, "in[1].c", &c2), MFFI_OK);
  cr_assert_eq(mffi_field_get(o, obj, "d", &d2), MFFI_OK);
  cr_assert_eq(mffi_field_get(o, obj, "l", &l2), MFFI_OK);
  cr_assert_eq(tag2, 'T');
  cr_assert_eq(a2, -77);
  cr_assert_eq(b2, 5);
  cr_assert_eq(c2, -9, "signed bit-field sign-extends");
  cr_assert_eq(d2, 6.5);
  cr_assert_eq(l2, l);

  /* The bytes are where the C compiler puts them. */
  struct inner {
    int a;
    unsigned b : 3;
    int c : 5;
  };
  struct outer {
    char tag;
    struct inner in[3];
    double d;
    union {
      long l;
      float f;
    };
    struct inner *link;
  } *co = obj;
  cr_assert_eq(co->tag, 'T');
  cr_assert_eq(co->in[2].a, -77);
  cr_assert_eq(co->in[1].b, 5u);
  cr_assert_eq(co->in[1].c, -9);
  cr_assert_eq(co->d, 6.5);
  cr_assert_eq(co->l, l);

  cr_assert_eq(mffi_field_get(o, obj, "nope", &a2), MFFI_ENOTFOUND);
  cr_assert_eq(mffi_field_get(o, NULL, "tag", &a2), MFFI_EMISUSE);
  cr_assert_eq(mffi_field_get(ty("int"), obj, "x", &a2), MFFI_EMISUSE);
  mffi_delete(lib, obj);
}

/* Bit-fields of every declared size, against the compiler's layout: the
** value comes back at the declared type's size, sign-extended for signed
** types (the 16-byte ones included). */
Test(memory, bit_fields_of_every_size) {
  struct bfw {
    signed char a : 3;
    short b : 9;
    long long c : 40;
    __int128 d : 5;
    unsigned __int128 e : 7;
  };
  const char *decl = "struct bfw { signed char a : 3; short b : 9;"
                     " long long c : 40; __int128 d : 5;"
                     " unsigned __int128 e : 7; };";
  cr_assert_eq(mffi_cdef(ctx, decl, strlen(decl)), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  const mffi_type *w = ty("struct bfw");
  cr_assert_eq(mffi_sizeof(w), sizeof(struct bfw));
  void *obj;
  cr_assert_eq(mffi_new(lib, w, 1, &obj), MFFI_OK);
  signed char a = -3;
  short b = -200;
  long long c = -123456789012LL;
  __int128 d = -7;
  unsigned __int128 e = 100;
  cr_assert_eq(mffi_field_set(w, obj, "a", &a), MFFI_OK);
  cr_assert_eq(mffi_field_set(w, obj, "b", &b), MFFI_OK);
  cr_assert_eq(mffi_field_set(w, obj, "c", &c), MFFI_OK);
  cr_assert_eq(mffi_field_set(w, obj, "d", &d), MFFI_OK);
  cr_assert_eq(mffi_field_set(w, obj, "e", &e), MFFI_OK);
  struct bfw *cw = obj;
  cr_assert_eq(cw->a, -3);
  cr_assert_eq(cw->b, -200);
  cr_assert_eq(cw->c, -123456789012LL);
  cr_assert(cw->d == -7);
  cr_assert(cw->e == 100);
  signed char a2 = 0;
  short b2 = 0;
  long long c2 = 0;
  __int128 d2 = 0;
  unsigned __int128 e2 = ~(unsigned __int128)0;
  cr_assert_eq(mffi_field_get(w, obj, "a", &a2), MFFI_OK);
  cr_assert_eq(mffi_field_get(w, obj, "b", &b2), MFFI_OK);
  cr_assert_eq(mffi_field_get(w, obj, "c", &c2), MFFI_OK);
  cr_assert_eq(mffi_field_get(w, obj, "d", &d2), MFFI_OK);
  cr_assert_eq(mffi_field_get(w, obj, "e", &e2), MFFI_OK);
  cr_assert_eq(a2, -3);
  cr_assert_eq(b2, -200);
  cr_assert_eq(c2, -123456789012LL);
  cr_assert(d2 == -7, "a 16-byte signed bit-field sign-extends");
  cr_assert(e2 == 100, "a 16-byte unsigned one zero-extends");
  mffi_delete(lib, obj);
}

/* Indexes past the end of an array: get/set refuse them (nothing outside the
** object is touched), mffi_offsetof computes them as offsetof does. */
Test(memory, field_index_bounds) {
  struct bounded {
    int arr[3];
    int after;
    int grid[2][2];
  } obj;
  memset(&obj, 0, sizeof obj);
  obj.after = 42;
  const mffi_type *t = ty("struct bounded");
  cr_assert_eq(mffi_sizeof(t), sizeof obj);
  int v = 7, got = -1;
  cr_assert_eq(mffi_field_set(t, &obj, "arr[2]", &v), MFFI_OK);
  cr_assert_eq(obj.arr[2], 7);
  cr_assert_eq(mffi_field_get(t, &obj, "grid[1][1]", &got), MFFI_OK);
  const char *bad[] = {"arr[3]",     "arr[1000]",  "arr[0x7fffffffffffffff]",
                       "grid[2][0]", "grid[0][2]", "arr[99999999999999999999]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(mffi_field_set(t, &obj, bad[i], &v), MFFI_ERANGE, "%s",
                 bad[i]);
    cr_assert_eq(mffi_field_get(t, &obj, bad[i], &got), MFFI_ERANGE, "%s",
                 bad[i]);
  }
  cr_assert_eq(obj.after, 42, "the neighbour is untouched");
  cr_assert_eq(obj.grid[1][0], 0);

  /* offsetof's meaning, as GCC computes it. */
  size_t off = 0;
  cr_assert_eq(mffi_offsetof(t, "arr[3]", &off), MFFI_OK);
  cr_assert_eq(off, offsetof(struct bounded, arr) + 3 * sizeof(int));
  cr_assert_eq(mffi_offsetof(t, "grid[0][3]", &off), MFFI_OK);
  cr_assert_eq(off, offsetof(struct bounded, grid) + 3 * sizeof(int));
  /* An offset that is not representable is refused, not wrapped. */
  cr_assert_eq(mffi_offsetof(t, "arr[0x7fffffffffffffff]", &off), MFFI_ERANGE);
  cr_assert_eq(mffi_offsetof(t, "arr[99999999999999999999]", &off),
               MFFI_ERANGE);
  cr_assert_eq(mffi_offsetof(t, "arr[144115188075855873]", &off), MFFI_ERANGE,
               "over 2^59 bytes");
  cr_assert_eq(mffi_offsetof(t, "arr[-1]", &off), MFFI_EPARSE);

  /* A flexible array member is not part of the object. */
  const mffi_type *f = ty("struct flexed");
  int buf[4] = {0};
  cr_assert_eq(mffi_field_set(f, buf, "tail[0]", &v), MFFI_ERANGE);
  cr_assert_eq(buf[1], 0);
  cr_assert_eq(mffi_offsetof(f, "tail[2]", &off), MFFI_OK);
  cr_assert_eq(off, 3 * sizeof(int));
}

/* A qualified type made while its struct was incomplete reads its size and
** alignment from the struct, once defined (one source of truth). */
Test(memory, qualified_forward_struct) {
  const char d[] = "struct s; typedef const struct s cs;\n"
                   "typedef volatile struct s vs;\n"
                   "struct s { double x; int y; };\n"
                   "struct holder { cs member; vs other; };";
  cr_assert_eq(mffi_cdef(ctx, d, sizeof d - 1), MFFI_OK, "%s",
               mffi_errmsg(ctx));
  struct s {
    double x;
    int y;
  };
  struct holder {
    const struct s member;
    volatile struct s other;
  };
  const mffi_type *cs = mffi_decl_type(mffi_decl_find(ctx, "cs"));
  cr_assert_eq(mffi_sizeof(cs), sizeof(struct s));
  cr_assert_eq(mffi_alignof(cs), _Alignof(struct s));
  cr_assert_eq(ty("const struct s"), cs, "one interned node");
  void *p = NULL;
  cr_assert_eq(mffi_new(lib, cs, 2, &p), MFFI_OK, "%s", mffi_errmsg(ctx));
  cr_assert_eq((uintptr_t)p % _Alignof(struct s), 0);
  /* The whole block is there: read and write its last byte. */
  unsigned char last = 0x5a;
  cr_assert_eq(
      mffi_write(lib, (unsigned char *)p + 2 * sizeof(struct s) - 1, &last, 1),
      MFFI_OK);
  mffi_delete(lib, p);

  const mffi_type *h = ty("struct holder");
  cr_assert_eq(mffi_sizeof(h), sizeof(struct holder));
  struct holder obj = {{1.5, 7}, {2.5, 9}};
  struct s got;
  memset(&got, 0xee, sizeof got);
  cr_assert_eq(mffi_field_get(h, &obj, "member", &got), MFFI_OK);
  cr_assert_eq(got.x, 1.5);
  cr_assert_eq(got.y, 7);
  struct s put = {-4.0, 11};
  struct holder obj2;
  memset(&obj2, 0, sizeof obj2);
  cr_assert_eq(mffi_field_set(h, &obj2, "other", &put), MFFI_OK);
  cr_assert_eq(obj2.other.x, -4.0);
  cr_assert_eq(obj2.other.y, 11);
  cr_assert_eq(mffi_field_get(h, &obj, "other.y", &got.y), MFFI_OK);
  cr_assert_eq(got.y, 9);
}

/* A keep-alive chain as long as the user likes is released without
** recursion (the old code overflowed the stack at 200,000 blocks) and in
** linear time; everything is freed. */
Test(memory, long_keep_chain) {
  enum { N = 200000 };
  void **p = malloc(N * sizeof *p);
  cr_assert_not_null(p);
  const mffi_type *in = ty("int");
  void *warm; /* Let the library make its block array first. */
  cr_assert_eq(mffi_new(lib, in, 1, &warm), MFFI_OK);
  mffi_delete(lib, warm);
  long before = live;
  for (size_t i = 0; i < N; i++)
    cr_assert_eq(mffi_new(lib, in, 1, &p[i]), MFFI_OK);
  for (size_t i = 0; i + 1 < N; i++)
    cr_assert_eq(mffi_keep(lib, p[i], p[i + 1]), MFFI_OK);
  for (size_t i = N - 1; i > 0; i--)
    mffi_delete(lib, p[i]); /* Still kept by their predecessors. */
  cr_assert_gt(live, before + N, "nothing is freed yet");
  /* The tail is still readable through mffi_read. */
  int v = 5;
  cr_assert_eq(mffi_write(lib, p[N - 1], &v, sizeof v), MFFI_OK);
  mffi_delete(lib, p[0]);
  cr_assert_eq(live, before, "%ld blocks left", live - before);
  /* The library still tracks new blocks correctly. */
  void *q;
  cr_assert_eq(mffi_new(lib, in, 1, &q), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, q, q), MFFI_EMISUSE);
  mffi_delete(lib, q);
  cr_assert_eq(live, before);
  free(p);
}

/* A diamond and a shared dependent: freed once, when the last owner goes. */
Test(memory, keep_shared) {
  const mffi_type *in = ty("int");
  void *a, *b, *c, *d;
  cr_assert_eq(mffi_new(lib, in, 1, &a), MFFI_OK);
  mffi_delete(lib, a); /* Let the library make its block array first. */
  long before = live;
  cr_assert_eq(mffi_new(lib, in, 1, &a), MFFI_OK);
  cr_assert_eq(mffi_new(lib, in, 1, &b), MFFI_OK);
  cr_assert_eq(mffi_new(lib, in, 1, &c), MFFI_OK);
  cr_assert_eq(mffi_new(lib, in, 1, &d), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, a, b), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, a, c), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, b, d), MFFI_OK);
  cr_assert_eq(mffi_keep(lib, c, d), MFFI_OK);
  mffi_delete(lib, b);
  mffi_delete(lib, c);
  mffi_delete(lib, d);
  int v = 1;
  cr_assert_eq(mffi_write(lib, d, &v, sizeof v), MFFI_OK, "d is alive");
  mffi_delete(lib, a);
  cr_assert_eq(live, before);
}

static void mem_handler(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = *(const int *)args[0] + 1;
}

/* mffi_ctx_free closes the libraries still open on the context, with their
** functions, closures and blocks: nothing leaks, nothing is used after it is
** freed (ASan), whatever was closed before. */
Test(memory, ctx_free_closes_libraries) {
  mffi_ctx *c;
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, count_alloc, NULL};
  long before = live;
  cr_assert_eq(mffi_ctx_new(&c, &o), MFFI_OK);
  const char d[] = "void *memset(void *s, int c, unsigned long n);";
  cr_assert_eq(mffi_cdef(c, d, sizeof d - 1), MFFI_OK);
  mffi_lib *l[4];
  const mffi_type *ft, *in;
  cr_assert_eq(mffi_typeof(c, "int (*)(int)", &ft), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "int", &in), MFFI_OK);
  for (int i = 0; i < 4; i++) {
    mffi_open_opts oo = {MFFI_OPEN_OPTS_VERSION, i % 2 ? MFFI_OPEN_FFI_ONLY : 0,
                         NULL};
    cr_assert_eq(mffi_open(c, NULL, NULL, &oo, &l[i]), MFFI_OK);
    mffi_fn *fn;
    cr_assert_eq(mffi_bind(l[i], "memset", &fn), MFFI_OK);
    mffi_closure *cl;
    cr_assert_eq(mffi_callback(l[i], ft, mem_handler, NULL, &cl), MFFI_OK);
    int (*code)(int) = (int (*)(int))mffi_closure_code(cl);
    cr_assert_eq(code(41), 42);
    void *a, *b;
    cr_assert_eq(mffi_new(l[i], in, 8, &a), MFFI_OK);
    cr_assert_eq(mffi_new(l[i], in, 8, &b), MFFI_OK);
    cr_assert_eq(mffi_keep(l[i], a, b), MFFI_OK);
  }
  mffi_close(l[2]); /* From the middle of the list... */
  mffi_close(l[3]); /* ...and its head. */
  mffi_ctx_free(c); /* l[0] and l[1] are still open. */
  cr_assert_eq(live, before, "%ld blocks leaked", live - before);
}

/* Absurd sizes are refused before they reach the allocator hook. */
static size_t biggest_ask;

static void *watch_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (nsize > biggest_ask) biggest_ask = nsize;
  return count_alloc(ud, ptr, osize, nsize);
}

Test(memory, absurd_sizes) {
  mffi_ctx *c;
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, watch_alloc, NULL};
  cr_assert_eq(mffi_ctx_new(&c, &o), MFFI_OK);
  const char d[] = "struct huge { char a[1000000000000000]; };";
  cr_assert_eq(mffi_cdef(c, d, sizeof d - 1), MFFI_OK, "%s", mffi_errmsg(c));
  mffi_lib *l;
  cr_assert_eq(mffi_open(c, NULL, NULL, NULL, &l), MFFI_OK);
  const mffi_type *ch, *in, *hu;
  cr_assert_eq(mffi_typeof(c, "char", &ch), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "int", &in), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "struct huge", &hu), MFFI_OK);
  biggest_ask = 0;
  void *p = (void *)1;
  cr_assert_eq(mffi_new(l, ch, SIZE_MAX / 2, &p), MFFI_ERANGE);
  cr_assert_null(p);
  cr_assert(strstr(mffi_errmsg(c), "2^59"), "%s", mffi_errmsg(c));
  cr_assert_eq(mffi_new(l, ch, SIZE_MAX, &p), MFFI_ERANGE);
  cr_assert_eq(mffi_new(l, in, SIZE_MAX / 4 + 1, &p), MFFI_ERANGE,
               "the product wraps");
  cr_assert_eq(mffi_new(l, ch, ((size_t)1 << 59) + 1, &p), MFFI_ERANGE);
  cr_assert_eq(mffi_new(l, hu, 1000, &p), MFFI_ERANGE);
  cr_assert_lt(biggest_ask, (size_t)1 << 20, "asked the hook for %zu bytes",
               biggest_ask);
  cr_assert_eq(mffi_new(l, in, 4, &p), MFFI_OK, "small sizes still work");
  mffi_close(l);
  mffi_ctx_free(c);
}

Test(memory, close_frees_everything) {
  long base = live;
  mffi_lib *l2;
  cr_assert_eq(mffi_open(ctx, NULL, NULL, NULL, &l2), MFFI_OK);
  for (int i = 0; i < 100; i++) {
    void *p;
    cr_assert_eq(mffi_new(l2, ty("struct outer"), (size_t)i + 1, &p), MFFI_OK);
  }
  mffi_close(l2);
  cr_assert_eq(live, base);
}

/* -- Out of memory --------------------------------------------------------- */

#include "oom_alloc.h"

static const char oom_decls[] =
    "typedef struct { int quot; int rem; } div_t;\n"
    "div_t div(int, int);\n"
    "int abs(int);\n"
    "int snprintf(char *, unsigned long, const char *, ...);\n"
    "struct big { long a[5]; };\n"
    "extern char **environ;\n";

/* Run op with allocation n failing (sticky or not) for n = 1, 2, ... until
** it succeeds: every failure must be MFFI_ENOMEM with *out NULL and no
** block left behind. */
#define OOM_LOOP(st, sticky, setup_ok, op, outp, undo)                         \
  do {                                                                         \
    for (long n_ = 1;; n_++) {                                                 \
      long before_ = (st).nlive;                                               \
      oom_arm(&(st), n_, sticky);                                              \
      int rc_ = (op);                                                          \
      oom_disarm(&(st));                                                       \
      if (rc_ == MFFI_OK) {                                                    \
        undo;                                                                  \
        cr_assert_eq((st).nlive, before_, "leak after success");               \
        break;                                                                 \
      }                                                                        \
      cr_assert_eq(rc_, MFFI_ENOMEM, "failure %ld: %s", n_,                    \
                   mffi_strerror(rc_));                                        \
      cr_assert_null(outp, "out-parameter set on failure %ld", n_);            \
      cr_assert_eq((st).nlive, before_, "%s: leak on failure %ld", #op, n_);   \
      cr_assert_lt(n_, 10000, "never succeeds");                               \
    }                                                                          \
  } while (0)

static void h_noop(void *ret, void *const *args, void *data) {
  (void)ret;
  (void)args;
  (void)data;
}

static void oom_suite(int sticky) {
  oom_state st = {0};
  mffi_ctx_opts o = {MFFI_CTX_OPTS_VERSION, oom_alloc, &st};
  mffi_ctx *c;
  cr_assert_eq(mffi_ctx_new(&c, &o), MFFI_OK);
  cr_assert_eq(mffi_cdef(c, oom_decls, sizeof oom_decls - 1), MFFI_OK, "%s",
               mffi_errmsg(c));
  const mffi_type *tint, *tbig, *tcb, *tdbl;
  cr_assert_eq(mffi_typeof(c, "int", &tint), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "double", &tdbl), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "struct big", &tbig), MFFI_OK);
  cr_assert_eq(mffi_typeof(c, "struct big (*)(div_t, struct big, float)", &tcb),
               MFFI_OK);
  mffi_lib *l = NULL;
  OOM_LOOP(st, sticky, 1, mffi_open(c, NULL, NULL, NULL, &l), l, mffi_close(l));
  mffi_open_opts ffi = {MFFI_OPEN_OPTS_VERSION, MFFI_OPEN_FFI_ONLY, NULL};
  mffi_lib *lf = NULL;
  cr_assert_eq(mffi_open(c, NULL, NULL, NULL, &l), MFFI_OK);
  cr_assert_eq(mffi_open(c, NULL, NULL, &ffi, &lf), MFFI_OK);
  mffi_fn *fn = NULL;
  OOM_LOOP(st, sticky, 1, mffi_bind(l, "abs", &fn), fn, mffi_fn_free(fn));
  OOM_LOOP(st, sticky, 1, mffi_bind(l, "div", &fn), fn, mffi_fn_free(fn));
  OOM_LOOP(st, sticky, 1, mffi_bind(lf, "div", &fn), fn, mffi_fn_free(fn));
  OOM_LOOP(st, sticky, 1, mffi_bind(l, "environ", &fn), fn, mffi_fn_free(fn));
  const mffi_type *vt[3] = {tint, tdbl, tbig};
  OOM_LOOP(st, sticky, 1, mffi_bind_variadic(l, "snprintf", vt, 3, &fn), fn,
           mffi_fn_free(fn));
  OOM_LOOP(st, sticky, 1, mffi_bind_variadic(lf, "snprintf", vt, 3, &fn), fn,
           mffi_fn_free(fn));
  mffi_closure *cl = NULL;
  OOM_LOOP(st, sticky, 1, mffi_callback(l, tcb, h_noop, NULL, &cl), cl,
           mffi_closure_free(cl));
  void *p = NULL, *q = NULL;
  /* The block list keeps its capacity: make it first. */
  void *warm = NULL;
  cr_assert_eq(mffi_new(l, tint, 1, &warm), MFFI_OK);
  OOM_LOOP(st, sticky, 1, mffi_new(l, tbig, 3, &p), p, mffi_delete(l, p));
  cr_assert_eq(mffi_new(l, tbig, 1, &p), MFFI_OK);
  cr_assert_eq(mffi_new(l, tint, 1, &q), MFFI_OK);
  /* mffi_keep: on failure nothing changes; on success the owner's list
  ** holds the dependent. */
  for (long n = 1;; n++) {
    long before = st.nlive;
    oom_arm(&st, n, sticky);
    int rc = mffi_keep(l, p, q);
    oom_disarm(&st);
    if (rc == MFFI_OK) break;
    cr_assert_eq(rc, MFFI_ENOMEM);
    cr_assert_eq(st.nlive, before, "mffi_keep: leak on failure %ld", n);
  }
  mffi_delete(l, q);
  mffi_delete(l, p);
  mffi_delete(l, warm);
  mffi_close(l);
  mffi_close(lf);
  mffi_ctx_free(c);
  cr_assert_eq(st.nlive, 0, "%ld blocks leaked", st.nlive);
  cr_assert_eq(st.bad_osize + st.bad_ptr, 0);
}

Test(memory_oom, every_allocation) {
  oom_suite(0);
}
Test(memory_oom, sticky) {
  oom_suite(1);
}
