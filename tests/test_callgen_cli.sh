#!/usr/bin/env bash
# `modffi call` against direct C calls on random signatures. See LICENSE.
#
# tests/callgen.h (CLI mode: scalars and structs the command line can
# spell) writes a library, its declarations and a driver that calls every
# function directly. Each function is then called as
#   modffi call -l LIB --cdef DECLS NAME ARG...
# and the last line printed must be the driver's return value.
# Env: MODFFI (the CLI), MFFI_SOURCE_DIR, MFFI_BINARY_DIR; MFFI_CALLGEN_SEED
# picks another seed, MFFI_CALLGEN_CLI_N the number of signatures.
set -euo pipefail

src=${MFFI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${MFFI_BINARY_DIR:-$src/build}
MODFFI=${MODFFI:-$bin/bin/modffi}
n=${MFFI_CALLGEN_CLI_N:-50}
cc=${CC:-cc}

if [ ! -x "$MODFFI" ]; then
  echo "test_callgen_cli: no CLI at $MODFFI (set MODFFI, or build it)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d /tmp/mffi-callgen-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The generator is the header; a three-line main drives it.
"$cc" -std=gnu11 -O1 -I"$src/tests" -o "$tmp/gen" -x c - <<'EOF'
#include "callgen.h"
int main(int argc, char **argv) {
  cg_gen g;
  cg_generate(&g, cg_seed(), argc > 2 ? atoi(argv[2]) : 50, CG_CLI);
  int rc = cg_write(argv[1], "lib.c", &g.lib) ||
           cg_write(argv[1], "driver.c", &g.driver) ||
           cg_write(argv[1], "cdef.h", &g.cdef) ||
           cg_write(argv[1], "cli.args", &g.cliargs);
  printf("0x%llx\n", (unsigned long long)g.seed);
  cg_free(&g);
  return rc;
}
EOF
seed=$("$tmp/gen" "$tmp" "$n")
"$cc" -shared -fPIC -O1 -w -Wno-psabi -o "$tmp/libcg.so" "$tmp/lib.c"
"$cc" -O1 -w -Wno-psabi -o "$tmp/driver" "$tmp/driver.c" "$tmp/libcg.so" \
  -Wl,-rpath,"$tmp"
"$tmp/driver" >"$tmp/direct.out"
mapfile -t direct <"$tmp/direct.out"

pass=0
fail=0
refused=0
i=0
while IFS=$'\t' read -r -a fields; do
  name=${fields[0]}
  args=("${fields[@]:1}")
  # Driver line: "f<i> <value> h=<hash>"; keep the value.
  want=${direct[$i]-}
  want=${want#"f$i "}
  want=${want% h=*}
  i=$((i + 1))
  status=0
  out=$("$MODFFI" call -l "$tmp/libcg.so" --cdef "$tmp/cdef.h" "$name" \
    "${args[@]}" 2>"$tmp/err") || status=$?
  got=${out##*$'\n'}
  if [ "$status" -eq 0 ] && [ "$got" = "$want" ]; then
    pass=$((pass + 1))
    continue
  fi
  # Without an ABI module that classifies aggregates (MFFI_GENERIC_ABI),
  # what libffi cannot describe exactly is refused by name: counted.
  if [ "$status" -eq 1 ] && grep -q "libffi cannot pass .* on this target" "$tmp/err"; then
    refused=$((refused + 1))
    continue
  fi
  fail=$((fail + 1))
  echo "FAIL $name (seed $seed): $(grep -m1 "^[^ ]* $name(" "$tmp/cdef.h" ||
    grep -m1 " $name(" "$tmp/cdef.h")"
  printf '  args:'
  printf " '%s'" "${args[@]}"
  printf '\n  expected: %s\n  actual:   %s (exit %d)\n' "$want" "$got" \
    "$status"
  sed 's/^/  stderr: /' "$tmp/err" | head -5
done <"$tmp/cli.args"

echo "$pass passed, $fail failed, $refused refused by name (libffi, generic ABI only)"
[ "$fail" -eq 0 ]
