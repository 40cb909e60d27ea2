#!/bin/bash
# A program linked against libmodffi.so (not the static library the other
# tests use) loads it and calls through the dynamic and remote strategies:
# the shared object must resolve every symbol it needs. See LICENSE.
set -u
BIN=${MFFI_BINARY_DIR:?}
SRC=${MFFI_SOURCE_DIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2"; fail=$((fail + 1)); }

cat >"$T/p.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "modffi.h"
int main(int argc, char **argv) {
  mffi_ctx *ctx;
  mffi_lib *lib;
  const char *d = "int abs(int);";
  if (mffi_ctx_new(&ctx, NULL) || mffi_cdef(ctx, d, strlen(d))) return 1;
  if (mffi_open(ctx, mffi_strategy_find(argv[1]), NULL, NULL, &lib)) {
    fprintf(stderr, "%s\n", mffi_errmsg(ctx));
    return 1;
  }
  mffi_fn *fn;
  int x = -12, r = 0;
  void *args[] = {&x};
  if (mffi_bind(lib, "abs", &fn) || mffi_call(fn, &r, args)) {
    fprintf(stderr, "%s\n", mffi_errmsg(ctx));
    return 1;
  }
  printf("%d\n", r);
  mffi_ctx_free(ctx);
  (void)argc;
  return 0;
}
C
san=
[ "${MFFI_SANITIZE:-0}" = 1 ] && san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
if cc $san -I"$SRC/include" -o "$T/p" "$T/p.c" -L"$BIN/lib" -lmodffi \
  -Wl,-rpath,"$BIN/lib" >"$T/cc.err" 2>&1; then
  ok "a program links against libmodffi.so"
else
  ko "a program links against libmodffi.so" "$T/cc.err"
fi
for s in dynamic remote; do
  # remote: modffi-sandbox is found beside the shared object (../bin).
  if [ "$("$T/p" "$s" 2>"$T/err")" = 12 ]; then
    ok "$s through libmodffi.so"
  else
    ko "$s through libmodffi.so" "$T/err"
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
