/* The remote strategy: calls, marshalling, callbacks, faults. See LICENSE.
**
** Each test process builds tests/fixtures/rmfx.c into a temporary
** directory, opens it in a sandbox and, for the oracle, with dlopen in the
** test process: every result through the sandbox must equal the direct
** call's. Faults (a crash, an exit, a loop, a denied system call) must turn
** into the right code and message while a canary in the host stays intact.
*/
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modffi.h"
#include "fixtures/slurp.h"
#include "modffi_strategy.h"

struct rm_pt {
  double x, y;
};
struct rm_big {
  long a[5];
};
struct rm_node {
  int v;
  struct rm_node *next;
};

static struct {
  char dir[64];
  char path[160];
  mffi_ctx *ctx;
  mffi_lib *lib;
  void *dl;
} rx;

static int open_remote(const mffi_remote_opts *ro, mffi_lib **out) {
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, 0, ro};
  return mffi_open(rx.ctx, mffi_strategy_find("remote"), rx.path, &o, out);
}

static void setup(void) {
  snprintf(rx.dir, sizeof rx.dir, "/tmp/mffi-rmfx-XXXXXX");
  cr_assert_not_null(mkdtemp(rx.dir));
  snprintf(rx.path, sizeof rx.path, "%s/librmfx.so", rx.dir);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cc -shared -fPIC -O1 -w -o %s %s/tests/fixtures/rmfx.c", rx.path,
           MFFI_SOURCE_DIR);
  cr_assert_eq(system(cmd), 0, "cannot build the fixture: %s", cmd);
  cr_assert_eq(mffi_ctx_new(&rx.ctx, NULL), MFFI_OK);
  size_t len;
  char *src = fx_slurp(MFFI_SOURCE_DIR "/tests/fixtures/rmfx.h", &len);
  int rc = mffi_cdef(rx.ctx, src, len);
  free(src);
  cr_assert_eq(rc, MFFI_OK, "rmfx.h: %s", mffi_errmsg(rx.ctx));
  rc = open_remote(NULL, &rx.lib);
  cr_assert_eq(rc, MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  rx.dl = dlopen(rx.path, RTLD_NOW);
  cr_assert_not_null(rx.dl, "%s", dlerror());
}

static void teardown(void) {
  mffi_ctx_free(rx.ctx);
  if (rx.dl) dlclose(rx.dl);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", rx.dir);
  if (rx.dir[0]) (void)system(cmd);
  memset(&rx, 0, sizeof rx);
}

TestSuite(remote, .init = setup, .fini = teardown, .timeout = 300);

static mffi_fn *bind(const char *name) {
  mffi_fn *fn;
  int rc = mffi_bind(rx.lib, name, &fn);
  cr_assert_eq(rc, MFFI_OK, "bind %s: %s", name, mffi_errmsg(rx.ctx));
  return fn;
}

static void *direct(const char *name) {
  void *p = dlsym(rx.dl, name);
  cr_assert_not_null(p, "%s", name);
  return p;
}

#define CALL(fn, ret, ...)                                                     \
  do {                                                                         \
    void *args_[] = {__VA_ARGS__};                                             \
    int rc_ = mffi_call(fn, ret, args_);                                       \
    cr_assert_eq(rc_, MFFI_OK, "%s", mffi_errmsg(rx.ctx));                     \
  } while (0)

static const mffi_type *type(const char *t) {
  const mffi_type *ty;
  cr_assert_eq(mffi_typeof(rx.ctx, t, &ty), MFFI_OK, "%s", t);
  return ty;
}

/* -- Values ---------------------------------------------------------------- */

Test(remote, scalars_and_aggregates_match_direct_calls) {
  int a = 40, b = 2, ri;
  CALL(bind("rm_add"), &ri, &a, &b);
  cr_assert_eq(ri, ((int (*)(int, int))direct("rm_add"))(a, b));

  float f = 1.5f;
  int i = 3;
  double d = 0.25, rd;
  long l = 7;
  CALL(bind("rm_mix"), &rd, &f, &i, &d, &l);
  cr_assert_eq(rd, ((double (*)(float, int, double, long))direct("rm_mix"))(
                       f, i, d, l));

  long v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, rl;
  double x = 1.5, y = 2.25;
  CALL(bind("rm_many"), &rl, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
       &v[7], &x, &y);
  cr_assert_eq(rl, ((long (*)(long, long, long, long, long, long, long, long,
                              double, double))direct("rm_many"))(
                       1, 2, 3, 4, 5, 6, 7, 8, x, y));

  struct rm_pt p = {1, 2}, q = {10, 20}, rp;
  CALL(bind("rm_pt_add"), &rp, &p, &q);
  cr_assert(rp.x == 11 && rp.y == 22);

  long seed = 9;
  struct rm_big big;
  CALL(bind("rm_big_make"), &big, &seed);
  for (int k = 0; k < 5; k++)
    cr_assert_eq(big.a[k], 9 * (k + 1));

  long double ld = 1.25L, rld;
  CALL(bind("rm_ld"), &rld, &ld);
  cr_assert(rld == 3.75L);

  __int128 w = (__int128)1 << 90, rw;
  CALL(bind("rm_i128"), &rw, &w);
  cr_assert(rw == w * 7 + 1);

  /* The result is written at its exact size: the byte after is intact. */
  unsigned char c = 41, rc2[2] = {0, 0xAA};
  CALL(bind("rm_uchar"), rc2, &c);
  cr_assert_eq(rc2[0], 42);
  cr_assert_eq(rc2[1], 0xAA);

  cr_assert_eq(mffi_call(bind("rm_void"), NULL, NULL), MFFI_OK);
  cr_assert_eq(mffi_fn_native(bind("rm_add")), NULL); /* Never native. */
}

Test(remote, variadic_and_errno) {
  const mffi_type *it = type("int");
  const mffi_type *vt[] = {it, it, it};
  mffi_fn *fn;
  cr_assert_eq(mffi_bind_variadic(rx.lib, "rm_sum", vt, 3, &fn), MFFI_OK);
  int n = 3, a = 100, b = 20, c = 3, r;
  CALL(fn, &r, &n, &a, &b, &c);
  cr_assert_eq(r, 123);

  int e = ENOENT;
  mffi_set_errno(0);
  CALL(bind("rm_set_errno"), &r, &e);
  cr_assert_eq(r, -1);
  cr_assert_eq(mffi_errno(), ENOENT);
}

/* -- Pointers by plan ------------------------------------------------------ */

Test(remote, strings_in_and_out) {
  const char *v = NULL;
  CALL(bind("rm_version"), &v, NULL);
  cr_assert_str_eq(v, "rmfx 1.2.3");
  const char *v2 = NULL;
  CALL(bind("rm_version"), &v2, NULL);
  cr_assert_eq(v, v2, "the same string is kept once");
  CALL(bind("rm_null_str"), &v, NULL);
  cr_assert_null(v);

  /* A result pointing into a string argument points into the caller's. */
  const char *s = "hello, world";
  int ch = 'w';
  const char *r = NULL;
  CALL(bind("rm_find"), &r, &s, &ch);
  cr_assert_eq(r, s + 7);
  ch = 'z';
  CALL(bind("rm_find"), &r, &s, &ch);
  cr_assert_null(r);

  /* An owned result is a handle in the library: read it, release it. */
  char *h = NULL;
  const char *lower = "sandboxed";
  CALL(bind("rm_dup_upper"), &h, &lower);
  cr_assert_not_null(h);
  char buf[16] = "";
  cr_assert_eq(mffi_read(rx.lib, buf, h, 10), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  cr_assert_str_eq(buf, "SANDBOXED");
  mffi_remote_info info;
  cr_assert_eq(mffi_remote_info_get(rx.lib, &info), MFFI_OK);
  if (info.shared_heap) /* The library's heap is arena memory: readable. */
    cr_assert_str_eq(h, "SANDBOXED");
  cr_assert_eq(mffi_write(rx.lib, h, "x", 1), MFFI_OK);
  cr_assert_eq(mffi_read(rx.lib, buf, h, 10), MFFI_OK);
  cr_assert_str_eq(buf, "xANDBOXED");
  CALL(bind("rm_free"), NULL, &h);
}

Test(remote, buffers_by_access_attributes) {
  unsigned char buf[300];
  memset(buf, 0, sizeof buf);
  size_t n = 257, rn;
  int v = 0x5a;
  unsigned char *p = buf;
  CALL(bind("rm_fill"), &rn, &p, &n, &v);
  cr_assert_eq(rn, 257u);
  for (size_t i = 0; i < 257; i++)
    cr_assert_eq(buf[i], 0x5a);
  cr_assert_eq(buf[257], 0, "only n bytes come back");

  unsigned rs;
  const unsigned char *cp = buf;
  CALL(bind("rm_checksum"), &rs, &cp, &n);
  cr_assert_eq(rs, ((unsigned (*)(const unsigned char *, size_t))direct(
                       "rm_checksum"))(buf, n));

  int a[7] = {1, 2, 3, 4, 5, 6, 7};
  int *ap = a;
  size_t na = 7;
  CALL(bind("rm_reverse"), NULL, &ap, &na);
  for (int i = 0; i < 7; i++)
    cr_assert_eq(a[i], 7 - i);

  /* One object in and out by default. */
  struct rm_pt pt = {3, 4}, *pp = &pt;
  double k = 2, r;
  CALL(bind("rm_scale"), NULL, &pp, &k);
  cr_assert(pt.x == 6 && pt.y == 8);
  CALL(bind("rm_norm2"), &r, &pp);
  cr_assert_eq(r, 100.0);

  /* NULL stays NULL. */
  unsigned char *np = NULL;
  size_t zero = 0;
  CALL(bind("rm_fill"), &rn, &np, &zero, &v);
}

Test(remote, arena_memory_is_shared_zero_copy) {
  /* A list whose nodes point at each other, built in the arena: the
  ** library walks the same addresses. */
  const mffi_type *nt = type("struct rm_node");
  struct rm_node *nodes[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(mffi_new(rx.lib, nt, 1, (void **)&nodes[i]), MFFI_OK);
  for (int i = 0; i < 4; i++) {
    nodes[i]->v = (i + 1) * 10;
    nodes[i]->next = i < 3 ? nodes[i + 1] : NULL;
  }
  int r;
  CALL(bind("rm_list_sum"), &r, &nodes[0]);
  cr_assert_eq(r, 100);
  /* Buffers from mffi_new pass as they are: the library writes them. */
  unsigned char *buf;
  cr_assert_eq(mffi_new(rx.lib, type("unsigned char"), 1 << 20, (void **)&buf),
               MFFI_OK);
  size_t n = 1 << 20, rn;
  int v = 7;
  CALL(bind("rm_fill"), &rn, &buf, &n, &v);
  cr_assert_eq(buf[0], 7);
  cr_assert_eq(buf[n - 1], 7);
  /* mffi_read/mffi_write stay within the block. */
  char tmp[8];
  cr_assert_eq(mffi_read(rx.lib, tmp, buf + n - 4, 8), MFFI_ERANGE);
  for (int i = 0; i < 4; i++)
    mffi_delete(rx.lib, nodes[i]);
  mffi_delete(rx.lib, buf);
}

Test(remote, opaque_handles_and_variables) {
  int v = 77, r;
  void *o = NULL;
  CALL(bind("rm_obj_new"), &o, &v);
  cr_assert_not_null(o);
  CALL(bind("rm_obj_get"), &r, &o);
  cr_assert_eq(r, 77);
  CALL(bind("rm_obj_free"), NULL, &o);

  /* A variable binds to its library address: read it through mffi_read. */
  mffi_fn *var = bind("rm_counter");
  int c = 0;
  cr_assert_eq(mffi_read(rx.lib, &c, mffi_fn_addr(var), sizeof c), MFFI_OK);
  cr_assert_eq(c, 40);
  CALL(bind("rm_bump"), &r, NULL);
  cr_assert_eq(r, 41);
  cr_assert_eq(mffi_read(rx.lib, &c, mffi_fn_addr(var), sizeof c), MFFI_OK);
  cr_assert_eq(c, 41);
}

Test(remote, declarations_after_open_reach_the_sandbox) {
  const char *d = "int abs(int); int rm_add(int a, int b);";
  cr_assert_eq(mffi_cdef(rx.ctx, d, strlen(d)), MFFI_OK);
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(rx.lib, "abs", &fn), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  int x = -9, r;
  CALL(fn, &r, &x);
  cr_assert_eq(r, 9);
  cr_assert_eq(mffi_lib_failed(rx.lib), MFFI_OK);
}

/* A bind the sandbox refuses (no such symbol) leaves the others bound:
** freeing its mffi_fn must not unbind the sandbox's function 0. */
Test(remote, a_failed_bind_leaves_the_others) {
  const char *d = "int rm_no_such_function(int);";
  cr_assert_eq(mffi_cdef(rx.ctx, d, strlen(d)), MFFI_OK);
  mffi_fn *add, *none = (mffi_fn *)1;
  cr_assert_eq(mffi_bind(rx.lib, "rm_add", &add), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  cr_assert_eq(mffi_bind(rx.lib, "rm_no_such_function", &none), MFFI_ENOSYM);
  cr_assert_null(none);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "rm_no_such_function"), "%s",
            mffi_errmsg(rx.ctx));
  for (int i = 0; i < 3; i++) {
    int a = 2, b = 40 + i, r = 0;
    void *av[] = {&a, &b};
    cr_assert_eq(mffi_call(add, &r, av), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
    cr_assert_eq(r, 42 + i);
    cr_assert_eq(mffi_bind(rx.lib, "rm_no_such_function", &none),
                 MFFI_ENOSYM);
  }
  cr_assert_eq(mffi_lib_failed(rx.lib), MFFI_OK);
  mffi_fn_free(add);
}

/* -- Callbacks ------------------------------------------------------------- */

static int square(int x) { return x * x; }

static void h_square(void *ret, void *const *args, void *data) {
  (void)data;
  *(int *)ret = square(*(int *)args[0]);
}

typedef struct words {
  char got[8][16];
  int n;
  const void *ptrs[8];
} words;

static void h_word(void *ret, void *const *args, void *data) {
  (void)ret;
  words *w = data;
  const char *s = *(const char *const *)args[0];
  if (w->n < 8) {
    w->ptrs[w->n] = s;
    snprintf(w->got[w->n++], 16, "%s", s);
  }
}

/* A handler that calls into the library again. */
static mffi_fn *nest_fn;
static void h_nested(void *ret, void *const *args, void *data) {
  (void)data;
  int a = *(int *)args[0], b = 1000, r = 0;
  void *av[] = {&a, &b};
  mffi_call(nest_fn, &r, av);
  *(int *)ret = r;
}

static void h_dcb(void *ret, void *const *args, void *data) {
  (void)data;
  double x = *(double *)args[0];
  struct rm_pt p = *(struct rm_pt *)args[1];
  *(double *)ret = x * p.x + p.y;
}

/* Variadic callbacks do not cross the sandbox: refused, plainly. */
Test(remote, variadic_callback_refused) {
  const mffi_type *ft = NULL, *vt[1] = {NULL};
  cr_assert_eq(mffi_typeof(rx.ctx, "int (*)(int, ...)", &ft), MFFI_OK);
  cr_assert_eq(mffi_typeof(rx.ctx, "double", &vt[0]), MFFI_OK);
  mffi_closure *c = (mffi_closure *)1;
  cr_assert_eq(mffi_callback_variadic(rx.lib, ft, vt, 1, h_square, NULL, &c),
               MFFI_EUNSUPPORTED);
  cr_assert_null(c);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "no variadic callbacks"), "%s",
            mffi_errmsg(rx.ctx));
}

Test(remote, callbacks) {
  mffi_closure *c;
  cr_assert_eq(mffi_callback(rx.lib, type("rm_cb"), h_square, NULL, &c),
               MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  void *code = mffi_closure_code(c);
  int n = 5, r;
  CALL(bind("rm_apply"), &r, &code, &n);
  cr_assert_eq(r, 0 + 1 + 4 + 9 + 16);

  /* A const char * argument reaches the handler as a host string. */
  mffi_closure *cw;
  words w = {0};
  cr_assert_eq(mffi_callback(rx.lib, type("rm_str_cb"), h_word, &w, &cw),
               MFFI_OK);
  void *wcode = mffi_closure_code(cw);
  const char *text = "alpha beta gamma";
  void *ud = NULL;
  CALL(bind("rm_words"), NULL, &text, &wcode, &ud);
  cr_assert_eq(w.n, 3);
  cr_assert_str_eq(w.got[0], "alpha");
  cr_assert_str_eq(w.got[2], "gamma");

  /* Nesting: the handler calls the library, which answers first. */
  nest_fn = bind("rm_add");
  mffi_closure *cn;
  cr_assert_eq(mffi_callback(rx.lib, type("rm_cb"), h_nested, NULL, &cn),
               MFFI_OK);
  void *ncode = mffi_closure_code(cn);
  n = 3;
  CALL(bind("rm_apply"), &r, &ncode, &n);
  cr_assert_eq(r, 3000 + 0 + 1 + 2);

  /* Doubles and a struct by value, both ways. */
  mffi_closure *cd;
  cr_assert_eq(mffi_callback(rx.lib, type("rm_dcb"), h_dcb, NULL, &cd),
               MFFI_OK);
  void *dcode = mffi_closure_code(cd);
  double x = 2, rd;
  struct rm_pt p = {3, 0.5};
  CALL(bind("rm_dapply"), &rd, &dcode, &x, &p);
  cr_assert_eq(rd, 2 * 3 + 0.5 + 1);
  mffi_closure_free(c);
  mffi_closure_free(cw);
}

Test(remote, closures_are_bounded) {
  mffi_remote_opts ro = {.version = MFFI_REMOTE_OPTS_VERSION,
                         .max_closures = 2};
  mffi_lib *lib;
  cr_assert_eq(open_remote(&ro, &lib), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  mffi_closure *c[3];
  cr_assert_eq(mffi_callback(lib, type("rm_cb"), h_square, NULL, &c[0]),
               MFFI_OK);
  cr_assert_eq(mffi_callback(lib, type("rm_cb"), h_square, NULL, &c[1]),
               MFFI_OK);
  cr_assert_eq(mffi_callback(lib, type("rm_cb"), h_square, NULL, &c[2]),
               MFFI_ERANGE);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "max_closures"), "%s",
            mffi_errmsg(rx.ctx));
  mffi_closure_free(c[0]);
  cr_assert_eq(mffi_callback(lib, type("rm_cb"), h_square, NULL, &c[2]),
               MFFI_OK, "a freed trampoline is reused");
  mffi_close(lib);
}

/* -- Faults ---------------------------------------------------------------- */

static volatile unsigned long canary[64];

static void canary_set(void) {
  for (int i = 0; i < 64; i++)
    canary[i] = 0x5eed0000u + (unsigned)i;
}

static void canary_check(void) {
  for (int i = 0; i < 64; i++)
    cr_assert_eq(canary[i], 0x5eed0000u + (unsigned)i, "host memory touched");
}

/* Call name() and expect code with words in the message; then later calls
** fail fast, and a reopen brings everything back. */
static void expect_fault(mffi_lib *lib, const char *name, int code,
                         const char *words1, const char *words2) {
  canary_set();
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, name, &fn), MFFI_OK);
  mffi_fn *add;
  cr_assert_eq(mffi_bind(lib, "rm_add", &add), MFFI_OK);
  int arg = 3, r = 0;
  void *args[] = {&arg};
  int rc = mffi_call(fn, &r, args);
  cr_assert_eq(rc, code, "%s: %s (%s)", name, mffi_errname(rc),
               mffi_errmsg(rx.ctx));
  const char *msg = mffi_errmsg(rx.ctx);
  cr_assert(strstr(msg, words1), "%s: '%s' lacks '%s'", name, msg, words1);
  if (words2) cr_assert(strstr(msg, words2), "'%s' lacks '%s'", msg, words2);
  canary_check();
  int a = 1, b = 2;
  void *av[] = {&a, &b};
  cr_assert_eq(mffi_call(add, &r, av), code, "fails fast");
  cr_assert_eq(mffi_lib_failed(lib), code);
  cr_assert_eq(mffi_reopen(lib), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  cr_assert_eq(mffi_call(add, &r, av), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  cr_assert_eq(r, 3);
}

static bool layer(mffi_lib *lib, unsigned bit) {
  mffi_remote_info info;
  cr_assert_eq(mffi_remote_info_get(lib, &info), MFFI_OK);
  return (info.layers & bit) != 0;
}

Test(remote, crashes_become_codes) {
  expect_fault(rx.lib, "rm_segv", MFFI_ECRASHED, "SIGSEGV", "rm_segv");
  expect_fault(rx.lib, "rm_abort", MFFI_ECRASHED, "SIGABRT", NULL);
  expect_fault(rx.lib, "rm_exit", MFFI_ECRASHED, "exited with status 3",
               NULL);
  expect_fault(rx.lib, "rm_oob", MFFI_ECRASHED, "SIGSEGV", NULL);
}

Test(remote, deadline) {
  mffi_remote_opts ro = {.version = MFFI_REMOTE_OPTS_VERSION,
                         .timeout_ms = 200};
  mffi_lib *lib;
  cr_assert_eq(open_remote(&ro, &lib), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  expect_fault(lib, "rm_spin", MFFI_ETIMEOUT, "200 ms", "rm_spin");
  mffi_close(lib);
}

Test(remote, denied_system_calls) {
  if (!layer(rx.lib, MFFI_LAYER_SECCOMP))
    cr_skip_test("seccomp is not applied on this machine");
  expect_fault(rx.lib, "rm_open_passwd", MFFI_EDENIED, "openat", "compute");
  expect_fault(rx.lib, "rm_socket", MFFI_EDENIED, "socket", NULL);
  expect_fault(rx.lib, "rm_exec", MFFI_EDENIED, "execve", NULL);
}

Test(remote, files_policy) {
  char dir[80], file[120];
  snprintf(dir, sizeof dir, "%s/data", rx.dir);
  cr_assert_eq(mkdir(dir, 0755), 0);
  snprintf(file, sizeof file, "%s/hello.txt", dir);
  FILE *f = fopen(file, "w");
  fputs("inside", f);
  fclose(f);
  char pol[120];
  snprintf(pol, sizeof pol, "files:%s", dir);
  mffi_remote_opts ro = {.version = MFFI_REMOTE_OPTS_VERSION, .policy = pol};
  mffi_lib *lib;
  cr_assert_eq(open_remote(&ro, &lib), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  if (!layer(lib, MFFI_LAYER_LANDLOCK))
    cr_skip_test("Landlock is not applied on this machine");
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "rm_read_file", &fn), MFFI_OK);
  char buf[32] = "";
  int n = 31, r;
  const char *path = file;
  char *bp = buf;
  void *args[] = {&path, &bp, &n};
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  cr_assert_eq(r, 6);
  cr_assert_eq(memcmp(buf, "inside", 6), 0);
  path = "/etc/passwd";
  cr_assert_eq(mffi_call(fn, &r, args), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  cr_assert_eq(r, -EACCES, "outside the directory: %d", r);
  mffi_close(lib);
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  cr_assert_eq(fscanf(f, "%ld %ld", &pages, &res), 2);
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

Test(remote, crash_reopen_cycles_do_not_grow) {
  mffi_fn *segv = bind("rm_segv"), *add = bind("rm_add");
  int a = 1, b = 2, r;
  void *av[] = {&a, &b};
  /* Warm up, then measure. */
  for (int i = 0; i < 20; i++) {
    cr_assert_eq(mffi_call(segv, NULL, NULL), MFFI_ECRASHED);
    cr_assert_eq(mffi_reopen(rx.lib), MFFI_OK);
  }
  int fds = count_fds();
  long rss = rss_kb();
  int cycles = getenv("MFFI_REMOTE_CYCLES") ? atoi(getenv("MFFI_REMOTE_CYCLES"))
                                            : 1000;
  for (int i = 0; i < cycles; i++) {
    cr_assert_eq(mffi_call(segv, NULL, NULL), MFFI_ECRASHED);
    cr_assert_eq(mffi_reopen(rx.lib), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  }
  cr_assert_eq(mffi_call(add, &r, av), MFFI_OK);
  cr_assert_eq(r, 3);
  cr_assert_eq(count_fds(), fds, "file descriptors grew");
  cr_assert_lt(rss_kb() - rss, 2048, "memory grew by %ld KiB",
               rss_kb() - rss);
  /* No zombie: every sandbox was reaped (only the live one remains). */
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), 0);
}

/* -- Threads --------------------------------------------------------------- */

static void *thread_calls(void *ud) {
  mffi_fn *fn = ud;
  for (int i = 0; i < 2000; i++) {
    int a = i, b = (int)(uintptr_t)pthread_self() & 0xff, r = 0;
    void *av[] = {&a, &b};
    if (mffi_call(fn, &r, av) != MFFI_OK || r != a + b) return (void *)1;
  }
  return NULL;
}

Test(remote, threads_share_one_library) {
  mffi_fn *fn = bind("rm_add");
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, thread_calls, fn);
  for (int i = 0; i < 4; i++) {
    void *res;
    pthread_join(t[i], &res);
    cr_assert_null(res, "thread %d saw a wrong result", i);
  }
}

/* -- Options and info ------------------------------------------------------ */

Test(remote, options_and_info) {
  mffi_remote_info info;
  cr_assert_eq(mffi_remote_info_get(rx.lib, &info), MFFI_OK);
  cr_assert_gt(info.pid, 0);
  cr_assert_str_eq(info.policy, "compute");
  cr_assert(info.layers & MFFI_LAYER_EXEC);
  cr_assert(info.layers & MFFI_LAYER_ENV);
  cr_assert(info.layers & MFFI_LAYER_FDS);
  cr_assert_eq(info.layers & info.missing, 0u);
  cr_assert_eq(kill((pid_t)info.pid, 0), 0);

  mffi_lib *dyn;
  cr_assert_eq(mffi_open(rx.ctx, NULL, rx.path, NULL, &dyn), MFFI_OK);
  cr_assert_eq(mffi_remote_info_get(dyn, &info), MFFI_EMISUSE);

  mffi_remote_opts bad = {.version = 99};
  mffi_lib *lib;
  cr_assert_eq(open_remote(&bad, &lib), MFFI_EMISUSE);
  cr_assert_null(lib);
  mffi_remote_opts pol = {.version = MFFI_REMOTE_OPTS_VERSION,
                          .policy = "network"};
  cr_assert_eq(open_remote(&pol, &lib), MFFI_EMISUSE);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "network"), "%s", mffi_errmsg(rx.ctx));
  mffi_remote_opts exe = {.version = MFFI_REMOTE_OPTS_VERSION,
                          .sandbox = "/nonexistent/modffi-sandbox"};
  cr_assert_eq(open_remote(&exe, &lib), MFFI_ENOLIB);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "/nonexistent"), "%s",
            mffi_errmsg(rx.ctx));
  /* A target the sandbox cannot open is an open error, with dlerror. */
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, 0, NULL};
  cr_assert_eq(mffi_open(rx.ctx, mffi_strategy_find("remote"),
                         "/nonexistent/libx.so", &o, &lib),
               MFFI_ENOLIB);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "libx.so"), "%s", mffi_errmsg(rx.ctx));
  mffi_close(dyn);
}

Test(remote, closing_kills_the_sandbox) {
  mffi_remote_info info;
  mffi_lib *lib;
  cr_assert_eq(open_remote(NULL, &lib), MFFI_OK);
  cr_assert_eq(mffi_remote_info_get(lib, &info), MFFI_OK);
  pid_t pid = (pid_t)info.pid;
  mffi_close(lib);
  cr_assert_eq(kill(pid, 0), -1, "the sandbox is gone");
  cr_assert_eq(errno, ESRCH);
}

/* -- Untrusted replies ----------------------------------------------------- */

/* Open through the fake sandbox in mode `mode` (a symlink of that name). */
static int open_fake(const char *mode, mffi_lib **out) {
  char link[200];
  snprintf(link, sizeof link, "%s/%s", rx.dir, mode);
  unlink(link);
  cr_assert_eq(symlink(MFFI_FAKE_SANDBOX, link), 0);
  mffi_remote_opts ro = {.version = MFFI_REMOTE_OPTS_VERSION,
                         .timeout_ms = 1000,
                         .sandbox = link};
  return open_remote(&ro, out);
}

Test(remote, bad_hellos_fail_the_open) {
  static const char *const modes[] = {"bad-magic", "bad-version", "bad-sizes",
                                      "bad-double", "short-hello", "silent"};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
    mffi_lib *lib = (mffi_lib *)1;
    int rc = open_fake(modes[i], &lib);
    cr_assert(rc == MFFI_EPROTOCOL || rc == MFFI_ENOLIB, "%s: %s (%s)",
              modes[i], mffi_errname(rc), mffi_errmsg(rx.ctx));
    cr_assert_null(lib);
  }
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), 0, "a fake sandbox was not reaped");
}

Test(remote, bad_replies_kill_the_sandbox) {
  static const char *const modes[] = {
      "call-outside",      "call-below",           "call-misaligned",
      "call-huge-len",     "call-payload-overrun", "call-bad-kind",
      "call-bogus-status", "call-short-result",    "callback-unknown",
      "callback-bad-args", "call-string-unterminated",
      "call-string-outside"};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
    canary_set();
    mffi_lib *lib;
    int rc = open_fake(modes[i], &lib);
    cr_assert_eq(rc, MFFI_OK, "%s: %s", modes[i], mffi_errmsg(rx.ctx));
    /* A string result for the string modes, an int for the others. */
    bool str = strstr(modes[i], "string") != NULL;
    mffi_fn *fn;
    cr_assert_eq(mffi_bind(lib, str ? "rm_version" : "rm_add", &fn), MFFI_OK,
                 "%s: %s", modes[i], mffi_errmsg(rx.ctx));
    int a = 1, b = 2;
    union {
      int i;
      const char *s;
    } r;
    void *av[] = {&a, &b};
    rc = mffi_call(fn, &r, str ? NULL : av);
    cr_assert_eq(rc, MFFI_EPROTOCOL, "%s: %s (%s)", modes[i], mffi_errname(rc),
                 mffi_errmsg(rx.ctx));
    cr_assert(strstr(mffi_errmsg(rx.ctx), "bad message"), "%s: %s", modes[i],
              mffi_errmsg(rx.ctx));
    cr_assert_eq(mffi_lib_failed(lib), MFFI_EPROTOCOL);
    cr_assert_eq(mffi_call(fn, &r, str ? NULL : av), MFFI_EPROTOCOL);
    canary_check();
    mffi_close(lib);
  }
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), 0, "a fake sandbox was not reaped");
}

Test(remote, a_taken_arena_address_is_retried) {
  char mark[220];
  snprintf(mark, sizeof mark, "%s/taken-once.started", rx.dir);
  unlink(mark);
  mffi_lib *lib;
  cr_assert_eq(open_fake("taken-once", &lib), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  cr_assert_eq(access(mark, F_OK), 0, "the first start did not run");
  cr_assert_eq(mffi_lib_failed(lib), MFFI_OK, "the retry left it failed");
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "rm_add", &fn), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  int a = 1, b = 2, r = -1;
  void *av[] = {&a, &b};
  cr_assert_eq(mffi_call(fn, &r, av), MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  cr_assert_eq(r, 0, "the fake sandbox answers 0");
  mffi_close(lib);
  unlink(mark);
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), 0, "a fake sandbox was not reaped");
}

Test(remote, exit_during_a_call) {
  mffi_lib *lib;
  cr_assert_eq(open_fake("call-exit", &lib), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, "rm_add", &fn), MFFI_OK);
  int a = 1, b = 2, r;
  void *av[] = {&a, &b};
  cr_assert_eq(mffi_call(fn, &r, av), MFFI_ECRASHED);
  cr_assert(strstr(mffi_errmsg(rx.ctx), "exited with status 0"), "%s",
            mffi_errmsg(rx.ctx));
  mffi_close(lib);
}

/* -- Real libraries -------------------------------------------------------- */

/* A context for libc, libm or zlib, with an annotation overlay. */
static mffi_lib *open_real(const char *target, const char *decls,
                           const char *overlay) {
  cr_assert_eq(mffi_cdef(rx.ctx, decls, strlen(decls)), MFFI_OK, "%s",
               mffi_errmsg(rx.ctx));
  if (overlay)
    cr_assert_eq(mffi_cdef(rx.ctx, overlay, strlen(overlay)), MFFI_OK, "%s",
                 mffi_errmsg(rx.ctx));
  mffi_lib *lib;
  mffi_open_opts o = {MFFI_OPEN_OPTS_VERSION, 0, NULL};
  cr_assert_eq(mffi_open(rx.ctx, mffi_strategy_find("remote"), target, &o,
                         &lib),
               MFFI_OK, "%s", mffi_errmsg(rx.ctx));
  return lib;
}

static mffi_fn *bind_in(mffi_lib *lib, const char *name) {
  mffi_fn *fn;
  cr_assert_eq(mffi_bind(lib, name, &fn), MFFI_OK, "%s: %s", name,
               mffi_errmsg(rx.ctx));
  return fn;
}

static void h_cmp(void *ret, void *const *args, void *data) {
  (void)data;
  /* The pointers are into the arena, which the host may read. */
  const int *a = *(const int *const *)args[0], *b = *(const int *const *)args[1];
  *(int *)ret = (*a > *b) - (*a < *b);
}

Test(remote, libc_and_libm_match_direct_calls) {
  mffi_lib *lib = open_real(
      "libm.so.6",
      "double pow(double, double); double frexp(double, int *);"
      "double modf(double, double *); void sincos(double, double *, double *);"
      "double strtod(const char *s, char **end);"
      "int snprintf(char *buf, size_t n, const char *fmt, ...);"
      "char *strerror(int e); char *getenv(const char *name);"
      "void qsort(void *base, size_t n, size_t sz,"
      "           int (*cmp)(const void *, const void *));",
      "int snprintf(char *buf, size_t n, const char *fmt, ...)"
      "  __attribute__((access(write_only, 1, 2)));");
  double x = 2, y = 0.5, r;
  CALL(bind_in(lib, "pow"), &r, &x, &y);
  cr_assert_eq(r, pow(2, 0.5));
  int e = 0, *ep = &e;
  x = 48;
  CALL(bind_in(lib, "frexp"), &r, &x, &ep);
  int e2;
  cr_assert_eq(r, frexp(48, &e2));
  cr_assert_eq(e, e2);
  double ip = 0, *ipp = &ip, ip2;
  x = 3.75;
  CALL(bind_in(lib, "modf"), &r, &x, &ipp);
  cr_assert_eq(r, modf(3.75, &ip2));
  cr_assert_eq(ip, ip2);
  double s = 0, c = 0, *sp = &s, *cp = &c;
  x = 0.5;
  CALL(bind_in(lib, "sincos"), NULL, &x, &sp, &cp);
  cr_assert(s == sin(0.5) && c == cos(0.5));

  const char *num = "  6.25e2xyz";
  char *end = NULL, **endp = &end;
  CALL(bind_in(lib, "strtod"), &r, &num, &endp);
  cr_assert_eq(r, 625.0);
  cr_assert_eq(end, num + 8, "endptr points into the caller's string");

  const mffi_type *vt[2] = {type("int"), type("const char *")};
  mffi_fn *sn;
  cr_assert_eq(mffi_bind_variadic(lib, "snprintf", vt, 2, &sn), MFFI_OK);
  char buf[32], *bp = buf;
  size_t n = sizeof buf;
  const char *fmt = "%d-%s", *word = "sandbox";
  int v = 42, rn;
  memset(buf, 'x', sizeof buf);
  CALL(sn, &rn, &bp, &n, &fmt, &v, &word);
  cr_assert_eq(rn, 10);
  cr_assert_str_eq(buf, "42-sandbox");

  int en = ENOENT;
  const char *msg = NULL;
  CALL(bind_in(lib, "strerror"), &msg, &en);
  cr_assert_str_eq(msg, strerror(ENOENT));
  const char *var = "PATH", *val = (const char *)1;
  CALL(bind_in(lib, "getenv"), &val, &var);
  cr_assert_null(val, "the sandbox's environment is empty");

  /* qsort on an arena array, comparing through a host callback. */
  int *arr;
  cr_assert_eq(mffi_new(lib, type("int"), 64, (void **)&arr), MFFI_OK);
  for (int i = 0; i < 64; i++)
    arr[i] = (i * 37) % 64;
  mffi_closure *cl;
  cr_assert_eq(mffi_callback(lib, type("int (*)(const void *, const void *)"),
                             h_cmp, NULL, &cl),
               MFFI_OK);
  void *code = mffi_closure_code(cl);
  size_t cnt = 64, sz = sizeof(int);
  CALL(bind_in(lib, "qsort"), NULL, &arr, &cnt, &sz, &code);
  for (int i = 0; i < 64; i++)
    cr_assert_eq(arr[i], i);
}

Test(remote, zlib_with_an_annotation_overlay) {
  void *z = dlopen("libz.so.1", RTLD_NOW);
  if (!z) cr_skip_test("libz.so.1 is not installed");
  mffi_lib *lib = open_real(
      "libz.so.1",
      "typedef unsigned long uLong; typedef unsigned int uInt;"
      "typedef unsigned char Bytef;"
      "uLong crc32(uLong crc, const Bytef *buf, uInt len);"
      "uLong compressBound(uLong n);"
      "int compress(Bytef *dest, uLong *destLen, const Bytef *source,"
      "             uLong sourceLen);"
      "int uncompress(Bytef *dest, uLong *destLen, const Bytef *source,"
      "               uLong sourceLen);"
      "const char *zlibVersion(void);",
      /* zlib.h says nothing of its buffers: the overlay does. */
      "uLong crc32(uLong crc, const Bytef *buf, uInt len)"
      "  __attribute__((access(read_only, 2, 3)));"
      "int compress(Bytef *dest, uLong *destLen, const Bytef *source,"
      "             uLong sourceLen) __attribute__((access(read_only, 3, 4)));"
      "int uncompress(Bytef *dest, uLong *destLen, const Bytef *source,"
      "             uLong sourceLen) __attribute__((access(read_only, 3, 4)));");
  static const char text[] = "modular foreign function bindings, modular, "
                             "modular, modular foreign functions";
  unsigned long crc = 0, rcrc;
  const unsigned char *tp = (const unsigned char *)text;
  unsigned len = sizeof text;
  CALL(bind_in(lib, "crc32"), &rcrc, &crc, &tp, &len);
  unsigned long (*dcrc)(unsigned long, const unsigned char *, unsigned) =
      (unsigned long (*)(unsigned long, const unsigned char *, unsigned))
          dlsym(z, "crc32");
  cr_assert_eq(rcrc, dcrc(0, tp, len));
  const char *ver = NULL;
  CALL(bind_in(lib, "zlibVersion"), &ver, NULL);
  cr_assert_str_eq(ver, ((const char *(*)(void))dlsym(z, "zlibVersion"))());

  /* The destination's size lives behind a pointer, which access cannot
  ** say: it is arena memory, passed as it is. */
  unsigned char *dst, *back;
  cr_assert_eq(mffi_new(lib, type("unsigned char"), 256, (void **)&dst),
               MFFI_OK);
  cr_assert_eq(mffi_new(lib, type("unsigned char"), 256, (void **)&back),
               MFFI_OK);
  unsigned long dl = 256, *dlp = &dl, sl = sizeof text;
  int rc;
  CALL(bind_in(lib, "compress"), &rc, &dst, &dlp, &tp, &sl);
  cr_assert_eq(rc, 0);
  unsigned long bl = 256, *blp = &bl;
  const unsigned char *cdst = dst;
  CALL(bind_in(lib, "uncompress"), &rc, &back, &blp, &cdst, &dl);
  cr_assert_eq(rc, 0);
  cr_assert_eq(bl, sizeof text);
  cr_assert_eq(memcmp(back, text, sizeof text), 0);
  dlclose(z);
}
