#!/bin/bash
# gdb walks through modffi's generated call routines when MFFI_GDB=1 makes
# them known to it (src/call/gdbjit.c): a breakpoint in a library function
# called through mffi_call shows the routine by name and the caller's main
# below it, for a routine freed and then made again at the same address
# too. Skipped (77) without gdb or off x86-64. See LICENSE.
set -u
BIN=${MFFI_BINARY_DIR:?}
SRC=${MFFI_SOURCE_DIR:?}
command -v gdb >/dev/null 2>&1 || { echo "skip: no gdb"; exit 77; }
[ "$(uname -m)" = x86_64 ] || { echo "skip: no generated routines here"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | head -30; fail=$((fail + 1)); }

cat >"$T/lib.c" <<'C'
int gj_callee(int a, int b);
int gj_callee(int a, int b) { return a * b + 1; }
C
cat >"$T/p.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "modffi.h"
int main(int argc, char **argv) {
  mffi_ctx *ctx;
  mffi_lib *lib;
  mffi_fn *fn;
  const char *d = "int gj_callee(int, int);";
  int a = 6, b = 7, r = 0;
  void *args[] = {&a, &b};
  if (argc < 2 || mffi_ctx_new(&ctx, NULL) || mffi_cdef(ctx, d, strlen(d)) ||
      mffi_open(ctx, NULL, argv[1], NULL, &lib) ||
      mffi_bind(lib, "gj_callee", &fn))
    return 1;
  for (int round = 0; round < 2; round++) { /* Bound again: a new routine. */
    if (mffi_call(fn, &r, args)) return 1;
    printf("r=%d path=%d\n", r, mffi_fn_path(fn));
    mffi_fn_free(fn);
    if (round == 0 && mffi_bind(lib, "gj_callee", &fn)) return 1;
  }
  mffi_ctx_free(ctx);
  return 0;
}
C
san=
[ "${MFFI_SANITIZE:-0}" = 1 ] && san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
if cc -g -O0 -shared -fPIC -o "$T/libgj.so" "$T/lib.c" &&
  cc -g $san -I"$SRC/include" -o "$T/p" "$T/p.c" -L"$BIN/lib" -lmodffi \
    -Wl,-rpath,"$BIN/lib" >"$T/cc.err" 2>&1; then
  ok "the program builds"
else
  ko "the program builds" "$T/cc.err"
fi
run_gdb() { # OUT: the backtraces at both calls
  gdb -nx -batch -ex "set breakpoint pending on" -ex "break gj_callee" \
    -ex "run $T/libgj.so" -ex bt -ex continue -ex bt -ex continue "$T/p" >"$1" 2>&1
}
MFFI_GDB=1 ASAN_OPTIONS=detect_leaks=0 run_gdb "$T/on"
if grep -q "r=43 path=1" "$T/on"; then
  ok "the calls run under gdb"
else
  ko "the calls run under gdb" "$T/on"
fi
# Each stop: callee, the routine by name, then main (with mffi_call
# between them where it is no tail call: a debug build).
n=$(grep -cE "^#1 .* in modffi_call_routine \(\)" "$T/on")
m=$(grep -cE "^#[23] .* in main " "$T/on")
if [ "$n" = 2 ] && [ "$m" = 2 ]; then
  ok "MFFI_GDB=1: gdb names the routine and walks through it, twice"
else
  ko "MFFI_GDB=1: gdb names the routine and walks through it, twice" "$T/on"
fi
MFFI_GDB=0 ASAN_OPTIONS=detect_leaks=0 run_gdb "$T/off"
if ! grep -q "modffi_call_routine" "$T/off" && grep -q "r=43" "$T/off"; then
  ok "MFFI_GDB=0: nothing is registered"
else
  ko "MFFI_GDB=0: nothing is registered" "$T/off"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
