/* Random signatures: direct calls against mffi_call and callbacks. See LICENSE.
**
** tests/callgen.h writes a library of random functions, their declarations
** and a driver that calls them directly. The driver's output is the truth;
** each function is then called through the dynamic strategy on the fast
** path (with the generated routines of x86_64_jit.c, then without them) and
** on the forced-libffi path, and each callback test is run with an
** mffi_callback closure: on the call plan (x86-64) and a libffi one
** (MFFI_OPEN_FFI_ONLY). Every line must be identical.
** MFFI_CALLGEN_SEED=N picks another seed; MFFI_CALLGEN_KEEP=1 keeps the
** generated files (their directory is printed).
*/
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call/call.h"
#include "callgen.h"
#include "modffi.h"
#include "modffi_strategy.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define MFFI_HAVE_VALGRIND_H 1
#endif
#endif

/* Valgrind emulates x87 long double with doubles (see CG_NO_LDOUBLE). */
static bool under_valgrind(void) {
#ifdef MFFI_HAVE_VALGRIND_H
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

#define NSIGS 600    /* Signatures per run (the issue asks >= 500). */
#define MAXREPORT 40 /* Mismatches described in full; the rest counted. */

typedef void (*set_fn)(void *const *);
typedef void (*fmt_fn)(char *, size_t, const void *);
typedef void (*cbfmt_fn)(char *, size_t, int, const void *);
typedef void (*cbret_fn)(void *, int);

typedef struct harness {
  cg_gen g;
  char dir[64];
  void *dl;     /* Our own handle, for the helpers. */
  char **lines; /* The driver's output, one per line. */
  int nlines;
  unsigned long long *last;     /* cg_last in the library. */
  const unsigned long *retsize; /* sizeof each return type. */
  mffi_ctx *ctx;
  int nbad;
  int nrefused; /* Over-aligned signatures refused with EUNSUPPORTED. */
  int njit;     /* Calls that ran a generated routine. */
  cg_str report;
} harness;

static void *helper(harness *h, const char *what, int i) {
  char name[64];
  snprintf(name, sizeof name, "%s%d", what, i);
  void *p = dlsym(h->dl, name);
  cr_assert_not_null(p, "helper %s missing from the generated library", name);
  return p;
}

static void mismatch(harness *h, int i, const char *how, const char *want,
                     const char *got) {
  if (h->nbad++ >= MAXREPORT) return;
  cg_put(&h->report, "\n[%s] ", how);
  cg_proto(&h->g, &h->report, i, false);
  const cg_sig *s = &h->g.sigs[i];
  if (s->variadic) {
    cg_put(&h->report, " called with (");
    for (int a = s->nfixed; a < s->nargs; a++)
      cg_put(&h->report, "%s%s", a > s->nfixed ? ", " : "",
             h->g.types[s->args[a]].name);
    cg_put(&h->report, ")");
  }
  cg_put(&h->report, "\n  expected: %s\n  actual:   %s\n", want, got);
}

/* The ms_abi tests: every generated function and callback of the
** Microsoft x64 convention (CG_MS_ABI). */
static bool ms_mode;

static void setup(harness *h) {
  memset(h, 0, sizeof *h);
  uint64_t seed = cg_seed();
  cg_generate(&h->g, seed, NSIGS,
              (under_valgrind() ? CG_NO_LDOUBLE : 0) |
                  (ms_mode ? CG_MS_ABI : 0));
  snprintf(h->dir, sizeof h->dir, "/tmp/mffi-callgen-XXXXXX");
  cr_assert_not_null(mkdtemp(h->dir));
  cr_assert_eq(cg_write(h->dir, "lib.c", &h->g.lib), 0);
  cr_assert_eq(cg_write(h->dir, "driver.c", &h->g.driver), 0);
  cr_assert_eq(cg_write(h->dir, "cdef.h", &h->g.cdef), 0);

  /* The system compiler builds both sides; -w: the generated code relies
  ** on GNU enums wider than int, and GCC notes psABI history. */
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  cg_str cmd = {0};
  cg_put(&cmd, "%s -shared -fPIC -O1 -w -Wno-psabi -o %s/libcg.so %s/lib.c", cc,
         h->dir, h->dir);
  cr_assert_eq(system(cmd.p), 0, "compiling the library failed: %s", cmd.p);
  cmd.len = 0;
  cg_put(&cmd,
         "%s -O1 -w -Wno-psabi -o %s/driver %s/driver.c %s/libcg.so "
         "-Wl,-rpath,%s",
         cc, h->dir, h->dir, h->dir, h->dir);
  cr_assert_eq(system(cmd.p), 0, "compiling the driver failed: %s", cmd.p);
  cmd.len = 0;
  cg_put(&cmd, "%s/driver > %s/direct.out", h->dir, h->dir);
  cr_assert_eq(system(cmd.p), 0, "the direct driver failed: %s", cmd.p);
  cmd.len = 0;

  cg_put(&cmd, "%s/direct.out", h->dir);
  FILE *f = fopen(cmd.p, "r");
  cr_assert_not_null(f);
  int cap = h->g.nsigs + h->g.ncb;
  h->lines = calloc((size_t)cap, sizeof *h->lines);
  char *line = NULL;
  size_t n = 0;
  ssize_t len;
  while ((len = getline(&line, &n, f)) > 0 && h->nlines < cap) {
    if (line[len - 1] == '\n') line[len - 1] = 0;
    h->lines[h->nlines++] = strdup(line);
  }
  free(line);
  fclose(f);
  cr_assert_eq(h->nlines, cap, "the driver printed %d lines, not %d", h->nlines,
               cap);

  cmd.len = 0;
  cg_put(&cmd, "%s/libcg.so", h->dir);
  h->dl = dlopen(cmd.p, RTLD_NOW);
  cr_assert_not_null(h->dl, "%s", dlerror());
  h->last = dlsym(h->dl, "cg_last");
  h->retsize = dlsym(h->dl, "cg_retsize");
  cr_assert(h->last && h->retsize);
  cg_str_free(&cmd);

  cr_assert_eq(mffi_ctx_new(&h->ctx, NULL), MFFI_OK);
  int rc = mffi_cdef(h->ctx, h->g.cdef.p, h->g.cdef.len);
  cr_assert_eq(rc, MFFI_OK, "mffi_cdef: %s: %s (offset %ld; seed 0x%llx)",
               mffi_strerror(rc), mffi_errmsg(h->ctx), mffi_erroffset(h->ctx),
               (unsigned long long)seed);
}

static void teardown(harness *h) {
  static const char *const files[] = {"lib.c",    "driver.c", "cdef.h",
                                      "libcg.so", "driver",   "direct.out"};
  mffi_ctx_free(h->ctx);
  if (h->dl) dlclose(h->dl);
  for (int i = 0; i < h->nlines; i++)
    free(h->lines[i]);
  free(h->lines);
  if (getenv("MFFI_CALLGEN_KEEP")) {
    fprintf(stderr, "callgen: files kept in %s\n", h->dir);
  } else if (h->dir[0]) {
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      char path[128];
      snprintf(path, sizeof path, "%s/%s", h->dir, files[i]);
      unlink(path);
    }
    rmdir(h->dir);
  }
  cg_str_free(&h->report);
  cg_free(&h->g);
}

static void finish(harness *h, const char *what) {
  /* Static: the failed assertion does not return to free it. */
  static char report[1 << 16];
  unsigned long long seed = h->g.seed;
  int nbad = h->nbad;
  snprintf(report, sizeof report, "%s", h->report.p ? h->report.p : "");
  teardown(h);
  cr_assert_eq(nbad, 0,
               "%s: %d mismatch(es) with seed 0x%llx (rerun with "
               "MFFI_CALLGEN_SEED=0x%llx)%s%s",
               what, nbad, seed, seed, report,
               nbad > MAXREPORT ? "\n(more not shown)" : "");
}

/* Under the remote strategy, pointers are described as void *: the plan
** then passes their (random) values as they are, where a const char * or an
** int * would be read as a string or an object. Same ABI class, same bits. */
static bool as_handles;

static const char *type_name(harness *h, int t) {
  const char *n = h->g.types[t].name;
  if (as_handles && (strcmp(n, "const char *") == 0 || strcmp(n, "int *") == 0))
    return "void *";
  return n;
}

/* The declarations with the pointer spellings of type_name(). */
static char *handle_decls(const char *src) {
  size_t n = strlen(src);
  char *out = malloc(2 * n + 1); /* "int *" grows by one byte in five. */
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    bool word_start = i == 0 || !(src[i - 1] == '_' ||
                                  (src[i - 1] >= 'a' && src[i - 1] <= 'z'));
    if (strncmp(src + i, "const char *", 12) == 0) {
      memcpy(out + k, "const void *", 12);
      i += 12;
      k += 12;
    } else if (word_start && strncmp(src + i, "int *", 5) == 0) {
      memcpy(out + k, "void *", 6);
      i += 5;
      k += 6;
    } else {
      out[k++] = src[i++];
    }
  }
  out[k] = '\0';
  return out;
}

/* A context for the remote strategy: the same declarations, pointers as
** handles. */
static mffi_ctx *remote_ctx(harness *h) {
  mffi_ctx *ctx;
  cr_assert_eq(mffi_ctx_new(&ctx, NULL), MFFI_OK);
  char *d = handle_decls(h->g.cdef.p);
  int rc = mffi_cdef(ctx, d, strlen(d));
  free(d);
  cr_assert_eq(rc, MFFI_OK, "mffi_cdef: %s", mffi_errmsg(ctx));
  const char *last = "extern unsigned long long cg_last;";
  if (!mffi_decl_find(ctx, "cg_last"))
    cr_assert_eq(mffi_cdef(ctx, last, strlen(last)), MFFI_OK);
  return ctx;
}

/* Bind function i, for a variadic one with its variadic argument types. */
static int bind_sig(harness *h, mffi_lib *lib, int i, mffi_fn **out) {
  const cg_sig *s = &h->g.sigs[i];
  char name[32];
  snprintf(name, sizeof name, "cg_f%d", i);
  if (!s->variadic) return mffi_bind(lib, name, out);
  const mffi_type *vt[CG_MAXARGS];
  for (int a = s->nfixed; a < s->nargs; a++) {
    int rc = mffi_typeof(h->ctx, type_name(h, s->args[a]), &vt[a - s->nfixed]);
    if (rc != MFFI_OK) return rc;
  }
  return mffi_bind_variadic(lib, name, vt, (size_t)(s->nargs - s->nfixed), out);
}

/* Whether a refused signature is refused for a reason the build states:
** over-aligned stack arguments, or, without an ABI module that classifies
** aggregates (MFFI_GENERIC_ABI: libffi alone), a type libffi cannot
** describe exactly, named in the message; such are counted, and the rest
** is still compared. */
static bool refused_ok(harness *h, int i, int rc) {
  if (rc != MFFI_EUNSUPPORTED) return false;
  /* libffi's FFI_GNUW64 returns nothing in %xmm0 but float and double. */
  if (ms_mode && strstr(mffi_errmsg(h->ctx), "with the ms_abi convention"))
    return true;
  if (cg_sig_overaligned(&h->g, i)) return true;
#if defined(__x86_64__) && !defined(MFFI_GENERIC_ABI)
  return false;
#else
  return strstr(mffi_errmsg(h->ctx), "libffi cannot pass") != NULL ||
         strstr(mffi_errmsg(h->ctx), "call engine (libffi)") != NULL;
#endif
}

static _Alignas(64) unsigned char slots[CG_MAXARGS][CG_SLOT];
static unsigned char slots_before[CG_MAXARGS][CG_SLOT];
static _Alignas(64) unsigned char retbuf[CG_SLOT + 32];

/* Call every function through lib and compare with the driver. Returns the
** number that took the register fast path. */
static int call_all(harness *h, mffi_lib *lib, const char *how,
                    mffi_fn *last_var) {
  int nfast = 0;
  void *args[CG_MAXARGS];
  for (int a = 0; a < CG_MAXARGS; a++)
    args[a] = slots[a];
  static char fmt[CG_FMTMAX], got[CG_FMTMAX + 64];
  for (int i = 0; i < h->g.nsigs; i++) {
    mffi_fn *fn = NULL;
    int rc = bind_sig(h, lib, i, &fn);
    if (refused_ok(h, i, rc)) {
      h->nrefused++;
      continue;
    }
    if (rc != MFFI_OK) {
      snprintf(got, sizeof got, "bind: %s: %s", mffi_strerror(rc),
               mffi_errmsg(h->ctx));
      mismatch(h, i, how, h->lines[i], got);
      continue;
    }
    int path = mffi_fn_path(fn);
    nfast += path == MFFI_PATH_FAST;
    h->njit += mffi__jit_owns(mffi_fn_get_call(fn));
    char how_path[64];
    snprintf(how_path, sizeof how_path, "%s, bound to %s", how,
             path == MFFI_PATH_FAST  ? "the fast path"
             : path == MFFI_PATH_FFI ? "libffi"
                                     : "?");
    /* Padding in the argument buffers is garbage, on purpose. */
    memset(slots, 0x5a, sizeof slots);
    ((set_fn)helper(h, "cg_set", i))(args);
    memcpy(slots_before, slots, sizeof slots);
    memset(retbuf, 0xa5, sizeof retbuf);
    *h->last = 0;
    rc = mffi_call(fn, retbuf, args);
    if (rc != MFFI_OK) {
      snprintf(got, sizeof got, "call: %s: %s", mffi_strerror(rc),
               mffi_errmsg(h->ctx));
      mismatch(h, i, how_path, h->lines[i], got);
      mffi_fn_free(fn);
      continue;
    }
    ((fmt_fn)helper(h, "cg_fmtret", i))(fmt, sizeof fmt, retbuf);
    unsigned long long last = *h->last;
    if (last_var &&
        mffi_read(lib, &last, mffi_fn_addr(last_var), sizeof last) != MFFI_OK)
      last = ~0ull; /* Shows as a mismatch. */
    snprintf(got, sizeof got, "f%d %s h=%llx", i, fmt, last);
    if (strcmp(got, h->lines[i]) != 0)
      mismatch(h, i, how_path, h->lines[i], got);
    /* The arguments are the caller's: read, never written. */
    if (memcmp(slots_before, slots, sizeof slots) != 0)
      mismatch(h, i, how_path, "(argument buffers unchanged)",
               "mffi_call wrote into an argument buffer");
    /* ret is written at the exact C size, not widened. */
    unsigned long sz = h->retsize[i];
    for (unsigned long b = sz; b < sz + 16; b++) {
      if (retbuf[b] != 0xa5) {
        snprintf(got, sizeof got,
                 "byte %lu past the %lu-byte return value "
                 "was written",
                 b, sz);
        mismatch(h, i, how_path, "(return buffer untouched past its size)",
                 got);
        break;
      }
    }
    mffi_fn_free(fn);
  }
  return nfast;
}

/* Every signature of the harness (ms_mode: of ms_abi types) through the
** dynamic strategy on the fast path, with the generated routines and
** without them, then with FFI_ONLY on libffi; each how names the run with
** prefix first ("", "ms_abi, "). On x86-64 every signature must take the
** fast path both times, each on a routine of its own the first, none the
** second; with FFI_ONLY none may. *nfast, *njit: the first run's fast and
** generated bindings; *nown: refusals before the libffi run. */
static void calls_both_ways(harness *h, const char *prefix, int *nfast,
                            int *njit, int *nown) {
  char target[128], how_fast[64], how_nojit[64], how_ffi[64];
  snprintf(target, sizeof target, "%s/libcg.so", h->dir);
  snprintf(how_fast, sizeof how_fast, "%sfast path", prefix);
  snprintf(how_nojit, sizeof how_nojit, "%sfast path without the JIT", prefix);
  snprintf(how_ffi, sizeof how_ffi, "%slibffi path", prefix);
  mffi_lib *lib = NULL;
  int rc = mffi_open(h->ctx, mffi_strategy_find("dynamic"), target, NULL, &lib);
  cr_assert_eq(rc, MFFI_OK, "mffi_open: %s", mffi_errmsg(h->ctx));
  *nfast = call_all(h, lib, how_fast, NULL);
  *njit = h->njit;
  /* The same without the generated routines: the ones they stand for. */
  bool was_on = mffi__jit_enable(false);
  h->njit = 0;
  int nfast_nojit = call_all(h, lib, how_nojit, NULL);
  mffi__jit_enable(was_on);
  mffi_close(lib);
  if (h->njit != 0)
    mismatch(h, 0, how_nojit, "no generated routine", "some calls ran one");
#if defined(__x86_64__) && !defined(MFFI_GENERIC_ABI)
  /* x86-64 runs every plan itself (stack arguments, memory-class values,
  ** over-aligned variadic ones, long double): nothing falls to libffi. */
  if (*nfast != h->g.nsigs || nfast_nojit != h->g.nsigs || h->nrefused)
    mismatch(h, 0, how_fast, "every signature on the fast path",
             "some were bound to libffi or refused");
  /* Every random signature gets a routine of its own (600 of 600 over
  ** seeds 1, 2, 3, 7, 42 and the default), unless the environment turns the
  ** generator off or cannot map code. */
  size_t mapped, live;
  mffi__jit_stats(&mapped, &live);
  const char *env = getenv("MFFI_JIT");
  if (!(env && env[0] == '0') && mapped && *njit != h->g.nsigs)
    mismatch(h, 0, how_fast, "every signature on a generated routine",
             "some were not");
  if (live != 0)
    mismatch(h, 0, how_fast, "no generated routine left after close", "some");
#else
  (void)nfast_nojit;
#endif
  *nown = h->nrefused;
  mffi_open_opts opts = {MFFI_OPEN_OPTS_VERSION, MFFI_OPEN_FFI_ONLY, NULL};
  rc = mffi_open(h->ctx, mffi_strategy_find("dynamic"), target, &opts, &lib);
  cr_assert_eq(rc, MFFI_OK, "mffi_open: %s", mffi_errmsg(h->ctx));
  int nfast_ffi = call_all(h, lib, how_ffi, NULL);
  mffi_close(lib);
  if (nfast_ffi != 0)
    mismatch(h, 0, how_ffi, "no fast-path binding with FFI_ONLY",
             "some functions were bound to the fast path");
}

Test(callgen, calls, .timeout = 300) {
  harness h;
  setup(&h);
  int nfast, njit, nown;
  calls_both_ways(&h, "", &nfast, &njit, &nown);
  cr_log_info("callgen: %d signatures, %d on the fast path (%d generated), "
              "%d refused by name (over-aligned, or beyond libffi) (seed "
              "0x%llx)",
              h.g.nsigs, nfast, njit, h.nrefused, (unsigned long long)h.g.seed);
  finish(&h, "calls");
}

/* -- Callbacks ------------------------------------------------------------- */

typedef struct cb_state {
  cbfmt_fn fmt;
  cbret_fn ret;
  int nargs;
  int call;
  cg_str log;
} cb_state;

/* Log the arguments as the driver's C callback does, then return the
** value the driver's callback returns. */
static void cb_handler(void *ret, void *const *args, void *data) {
  cb_state *st = data;
  static char tmp[CG_FMTMAX];
  cg_put(&st->log, "(");
  for (int k = 0; k < st->nargs; k++) {
    st->fmt(tmp, sizeof tmp, k, args[k]);
    cg_put(&st->log, "%s%s", k ? ", " : "", tmp);
  }
  cg_put(&st->log, ")");
  if (ret) st->ret(ret, st->call);
  st->call++;
}

#if defined(__x86_64__) && !defined(MFFI_GENERIC_ABI)
#define PLAN_CLOSURES true /* Closures run on the call plan. */
#else
#define PLAN_CLOSURES false
#endif

/* Whether code is a trampoline slot of a plan closure (x86_64_closure.c):
** endbr64; movq rel32(%rip), %r10. */
static bool on_plan(const void *code) {
  static const unsigned char slot[] = {0xf3, 0x0f, 0x1e, 0xfa,
                                       0x4c, 0x8b, 0x15};
  return memcmp(code, slot, sizeof slot) == 0;
}

/* Whether signature i passes an over-aligned argument (on the stack: such
** types are over 16 bytes): a plan closure leaves those to libffi. */
static bool args_overaligned(const cg_gen *g, int i) {
  const cg_sig *s = &g->sigs[i];
  for (int a = 0; a < s->nargs; a++)
    if (g->types[s->args[a]].overaligned) return true;
  return false;
}

/* Run every callback test through lib; how names the strategy. Returns the
** closures made. With kind set, each must be a plan closure when *kind is
** true and its signature has no over-aligned stack argument (those are
** libffi's), else a libffi one. */
static int run_callbacks(harness *h, mffi_lib *lib, const char *how,
                         const bool *kind) {
  int nmade = 0;
  static char got[1 << 17];
  int rc;
  int line = h->g.nsigs;
  for (int i = 0; i < h->g.nsigs; i++) {
    const cg_sig *s = &h->g.sigs[i];
    if (!s->cb) continue;
    const char *want = h->lines[line++];
    cg_str tname = {0};
    cg_cb_type(&h->g, &tname, i);
    char *tn = as_handles ? handle_decls(tname.p) : strdup(tname.p);
    const mffi_type *t = NULL;
    mffi_closure *cl = NULL;
    mffi_fn *fn = NULL;
    cb_state st = {(cbfmt_fn)helper(h, "cg_cbfmt", i),
                   (cbret_fn)helper(h, "cg_cbret", i),
                   s->nargs,
                   0,
                   {0}};
    char name[32];
    snprintf(name, sizeof name, "cg_cb%d", i);
    if ((rc = mffi_typeof(h->ctx, tn, &t)) != MFFI_OK ||
        (rc = mffi_callback(lib, t, cb_handler, &st, &cl)) != MFFI_OK ||
        (rc = mffi_bind(lib, name, &fn)) != MFFI_OK) {
      if (refused_ok(h, i, rc) ||
          (rc == MFFI_EUNSUPPORTED && as_handles && cl == NULL)) {
        h->nrefused++;
      } else {
        snprintf(got, sizeof got, "%s: %s (type %s)", mffi_strerror(rc),
                 mffi_errmsg(h->ctx), tn);
        mismatch(h, i, how, want, got);
      }
    } else {
      void *code = mffi_closure_code(cl);
      nmade++;
      /* ms_abi passes over-aligned values by reference: on the plan. */
      bool plan = kind && *kind && (ms_mode || !args_overaligned(&h->g, i));
      if (kind && on_plan(code) != plan) {
        snprintf(got, sizeof got, "a %s closure (type %s)",
                 plan ? "libffi" : "plan", tn);
        mismatch(h, i, how, plan ? "a plan closure" : "a libffi closure", got);
      }
      void *args[1] = {&code};
      unsigned long long r = 0;
      rc = mffi_call(fn, &r, args);
      snprintf(got, sizeof got, "cb%d %llx %s", i, r, st.log.p ? st.log.p : "");
      if (rc != MFFI_OK || strcmp(got, want) != 0)
        mismatch(h, i, how, want, got);
    }
    mffi_fn_free(fn);
    mffi_closure_free(cl);
    free(tn);
    cg_str_free(&tname);
    cg_str_free(&st.log);
  }
  return nmade;
}

/* Every callback test of the harness's signatures (ms_mode: of ms_abi
** types) on the plan, then with FFI_ONLY as libffi closures. Every callback
** the plan describes runs on it (x86-64), none on libffi. *nown: those
** refused on the plan. */
static void callbacks_both_ways(harness *h, const char *how, int *nmade,
                                int *nffi, int *nown) {
  char path[128], how_ffi[64];
  snprintf(path, sizeof path, "%s/libcg.so", h->dir);
  snprintf(how_ffi, sizeof how_ffi, "%s through libffi", how);
  mffi_lib *lib = NULL;
  int rc = mffi_open(h->ctx, NULL, path, NULL, &lib);
  cr_assert_eq(rc, MFFI_OK, "mffi_open: %s", mffi_errmsg(h->ctx));
  bool plan = PLAN_CLOSURES, ffi = false;
  *nmade = run_callbacks(h, lib, how, &plan);
  mffi_close(lib);
  *nown = h->nrefused;
  mffi_open_opts opts = {MFFI_OPEN_OPTS_VERSION, MFFI_OPEN_FFI_ONLY, NULL};
  rc = mffi_open(h->ctx, mffi_strategy_find("dynamic"), path, &opts, &lib);
  cr_assert_eq(rc, MFFI_OK, "mffi_open: %s", mffi_errmsg(h->ctx));
  *nffi = run_callbacks(h, lib, how_ffi, &ffi);
  mffi_close(lib);
}

Test(callgen, callbacks, .timeout = 300) {
  harness h;
  setup(&h);
  int nmade, nffi, nown;
  callbacks_both_ways(&h, "callback", &nmade, &nffi, &nown);
  cr_log_info("callgen: %d callbacks (%s), %d through libffi", nmade,
              PLAN_CLOSURES ? "on the plan" : "libffi", nffi);
  if (h.nrefused)
    cr_log_info("callgen: %d over-aligned callbacks refused", h.nrefused);
  finish(&h, "callbacks");
}

/* -- The same oracle under the remote strategy ----------------------------- */

/* Open the generated library remotely on a context of handle pointers;
** *dyn keeps the harness's own context, to be freed by the caller. */
static mffi_lib *open_remote(harness *h, mffi_ctx **dyn) {
  char target[128];
  snprintf(target, sizeof target, "%s/libcg.so", h->dir);
  as_handles = true;
  *dyn = h->ctx;
  h->ctx = remote_ctx(h);
  mffi_lib *lib = NULL;
  int rc = mffi_open(h->ctx, mffi_strategy_find("remote"), target, NULL, &lib);
  cr_assert_eq(rc, MFFI_OK, "mffi_open: %s", mffi_errmsg(h->ctx));
  return lib;
}

Test(callgen, remote_calls, .timeout = 300) {
  harness h;
  setup(&h);
  mffi_ctx *dyn;
  mffi_lib *lib = open_remote(&h, &dyn);
  mffi_fn *last;
  cr_assert_eq(mffi_bind(lib, "cg_last", &last), MFFI_OK);
  call_all(&h, lib, "remote", last);
  mffi_close(lib);
  mffi_ctx_free(dyn);
  cr_log_info("callgen remote: %d signatures (seed 0x%llx)", h.g.nsigs,
              (unsigned long long)h.g.seed);
  finish(&h, "remote calls");
}

Test(callgen, remote_callbacks, .timeout = 300) {
  harness h;
  setup(&h);
  mffi_ctx *dyn;
  mffi_lib *lib = open_remote(&h, &dyn);
  run_callbacks(&h, lib, "remote callback", NULL);
  mffi_close(lib);
  mffi_ctx_free(dyn);
  if (h.nrefused)
    cr_log_info("callgen remote: %d callbacks refused (over-aligned, or "
                "arguments over 32 bytes)",
                h.nrefused);
  finish(&h, "remote callbacks");
}

/* -- The same oracle for ms_abi functions (x86-64) ------------------------- */

#if defined(__x86_64__)
/* Every signature of the Microsoft x64 convention, compiled by the system
** compiler: on modffi's own routines (generated, then the frame routine)
** with nothing refused, then on libffi's FFI_GNUW64, which refuses only
** __int128 and 16-byte vector results (returned in %xmm0). */
Test(callgen, ms_abi_calls, .timeout = 300) {
  ms_mode = true;
  harness h;
  setup(&h);
  int nfast, njit, nown;
  calls_both_ways(&h, "ms_abi, ", &nfast, &njit, &nown);
  cr_log_info("callgen ms_abi: %d signatures, %d on the fast path (%d "
              "generated), %d refused by libffi (seed 0x%llx)",
              h.g.nsigs, nfast, njit, h.nrefused - nown,
              (unsigned long long)h.g.seed);
  ms_mode = false;
  finish(&h, "ms_abi calls");
}

/* Callbacks of ms_abi function pointer types: on the plan (x86-64's ms_abi
** closure entry), then libffi's FFI_GNUW64 closures, which refuse only
** __int128 and 16-byte vector results. */
Test(callgen, ms_abi_callbacks, .timeout = 300) {
  ms_mode = true;
  harness h;
  setup(&h);
  int nmade, nffi, nown;
  callbacks_both_ways(&h, "ms_abi callback", &nmade, &nffi, &nown);
  if (PLAN_CLOSURES && nown)
    mismatch(&h, 0, "ms_abi callback", "every callback on the plan",
             "some were refused");
  cr_log_info("callgen ms_abi: %d callbacks (%s), %d through libffi (%d "
              "refused by libffi)",
              nmade, PLAN_CLOSURES ? "on the plan" : "libffi", nffi,
              h.nrefused - nown);
  ms_mode = false;
  finish(&h, "ms_abi callbacks");
}
#endif
