/* Parse speed: mffi_cdef against LuaJIT's ffi.cdef, in process, on one
** text. See LICENSE.
**
**   parse_speed FILE [REPS [WHICH]]
**
** WHICH is "all" (default), "modffi" or "luajit". Each rep parses FILE
** once into a fresh context (mffi_ctx_new) or a fresh Lua state
** (luaL_newstate + require "ffi"); only the parse is timed: creating
** and freeing the context or state is outside the clock. The two take
** turns rep by rep, so load elsewhere hits them alike. Prints one line
** per parser: "NAME MEDIAN_NS MIN_NS". Built with -DHAVE_LUAJIT (and
** luajit's pkg-config flags) to include LuaJIT.
**
** The parse itself is in a non-inlined function (ps_modffi_parse,
** ps_luajit_parse), so `valgrind --tool=callgrind --toggle-collect=NAME`
** counts its instructions alone. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"
#include "modffi.h"

#ifdef HAVE_LUAJIT
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

__attribute__((noinline)) int ps_modffi_parse(mffi_ctx *ctx, const char *s,
                                              size_t n);
__attribute__((noinline)) int ps_modffi_parse(mffi_ctx *ctx, const char *s,
                                              size_t n) {
  return mffi_cdef(ctx, s, n);
}

/* One modffi rep: the parse time in ns, or -1 on failure. */
static double rep_modffi(const char *s, size_t n) {
  mffi_ctx *ctx;
  if (mffi_ctx_new(&ctx, NULL) != MFFI_OK)
    return -1;
  double t0 = now_ns();
  int rc = ps_modffi_parse(ctx, s, n);
  double t = now_ns() - t0;
  if (rc != MFFI_OK) {
    fprintf(stderr, "parse_speed: mffi_cdef: %s\n", mffi_errmsg(ctx));
    t = -1;
  }
  mffi_ctx_free(ctx);
  return t;
}

#ifdef HAVE_LUAJIT
/* Stack: ffi.cdef, the text. */
__attribute__((noinline)) int ps_luajit_parse(lua_State *L);
__attribute__((noinline)) int ps_luajit_parse(lua_State *L) {
  return lua_pcall(L, 1, 0, 0);
}

static double rep_luajit(const char *s, size_t n) {
  lua_State *L = luaL_newstate();
  if (!L)
    return -1;
  luaL_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, "ffi");
  if (lua_pcall(L, 1, 1, 0) != 0) {
    fprintf(stderr, "parse_speed: require 'ffi': %s\n", lua_tostring(L, -1));
    lua_close(L);
    return -1;
  }
  lua_getfield(L, -1, "cdef");
  lua_pushlstring(L, s, n); /* Interned before the clock starts. */
  double t0 = now_ns();
  int rc = ps_luajit_parse(L);
  double t = now_ns() - t0;
  if (rc != 0) {
    fprintf(stderr, "parse_speed: ffi.cdef: %s\n", lua_tostring(L, -1));
    t = -1;
  }
  lua_close(L);
  return t;
}
#endif

static void report(const char *name, double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  printf("%s %.0f %.0f\n", name, v[n / 2], v[0]);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: parse_speed FILE [REPS [all|modffi|luajit]]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 100;
  const char *which = argc > 3 ? argv[3] : "all";
  if (reps < 1)
    reps = 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)sz + 1);
  if (!s || fread(s, 1, (size_t)sz, f) != (size_t)sz) {
    fprintf(stderr, "parse_speed: cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(f);
  s[sz] = 0;

  int do_m = !strcmp(which, "all") || !strcmp(which, "modffi");
  int do_l = !strcmp(which, "all") || !strcmp(which, "luajit");
#ifndef HAVE_LUAJIT
  if (do_l && strcmp(which, "all")) {
    fprintf(stderr, "parse_speed: built without LuaJIT\n");
    return 1;
  }
  do_l = 0;
#endif
  double *tm = calloc((size_t)reps, sizeof *tm);
  double *tl = calloc((size_t)reps, sizeof *tl);
  if (!tm || !tl)
    return 1;
  for (int i = 0; i < reps; i++) {
    if (do_m && (tm[i] = rep_modffi(s, (size_t)sz)) < 0)
      return 1;
#ifdef HAVE_LUAJIT
    if (do_l && (tl[i] = rep_luajit(s, (size_t)sz)) < 0)
      return 1;
#endif
  }
  if (do_m)
    report("modffi", tm, reps);
  if (do_l)
    report("luajit", tl, reps);
  free(tm);
  free(tl);
  free(s);
  return 0;
}
