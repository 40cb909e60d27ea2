#!/usr/bin/env bash
# `modffi call --strategy checked[:INNER]`: rules refused from the command
# line. See LICENSE.
#
# Builds tests/fixtures/buflib.c with cc into a temporary directory and
# calls it with its plain header and the rule overlay buflib_rules.h. Env:
# MODFFI (the CLI), MFFI_SOURCE_DIR. Ends with "N passed, M failed".
set -u

src=${MFFI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
MODFFI=${MODFFI:-$src/build/bin/modffi}
cc=${CC:-cc}
pass=0
fail=0

tmp=$(mktemp -d /tmp/mffi-checked-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! "$cc" -shared -fPIC -O1 -w -I"$src/tests/fixtures" -o "$tmp/libbuflib.so" \
  "$src/tests/fixtures/buflib.c"; then
  echo "test_checked_cli: cannot build the fixture" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
BL=(-l "$tmp/libbuflib.so" --cdef "$src/tests/fixtures/buflib.h"
  --cdef "$src/tests/fixtures/buflib_rules.h")

ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL: $*"
}

# run NAME WANT-STATUS WANT-TEXT STRATEGY ARGS...: the exit status is 0 or
# not as WANT-STATUS (ok/fail) says, and stdout+stderr contains WANT-TEXT.
run() {
  local name=$1 want=$2 text=$3 strategy=$4
  shift 4
  local out status
  out=$("$MODFFI" call --strategy "$strategy" "${BL[@]}" "$@" 2>&1)
  status=$?
  if { [ "$want" = ok ] && [ $status -eq 0 ]; } ||
    { [ "$want" = fail ] && [ $status -ne 0 ]; }; then
    if [[ "$out" == *"$text"* ]]; then
      ok
      return
    fi
  fi
  bad "$name ($strategy): exit $status"
  printf '  want: %s\n  got:  %s\n' "$text" "$out" | head -4
}

strategies=(checked checked:dynamic)
if "$MODFFI" call --strategy remote "${BL[@]}" buf_add 1 2 >/dev/null 2>&1; then
  strategies+=(checked:remote)
else
  echo "skip: checked:remote (the remote strategy is not built yet)"
  run "no inner strategy" fail "no strategy 'remote'" checked:remote buf_add 1 2
fi
for s in "${strategies[@]}"; do
  run "unannotated" ok 5 "$s" buf_add 2 3
  run "good buffer" ok 6 "$s" sum_buffer '&{1, 2, 3}' 3
  run "NULL into nonnull" fail \
    "fill_buffer: argument 1 'buf': NULL passed for a nonnull parameter" \
    "$s" fill_buffer NULL 0 0
  run "returns_nonnull" fail "returned NULL although declared returns_nonnull" \
    "$s" buf_nothing
done
run "unknown inner" fail "unknown strategy 'checked:nosuch'" checked:nosuch \
  buf_add 1 2
"$MODFFI" call --help 2>&1 | grep -q 'checked\[:INNER\]' && ok ||
  bad "--help names checked[:INNER]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
