#!/bin/bash
# Run one test program under valgrind: no invalid access, no use of
# uninitialised memory, no definite leak. See LICENSE.
# Usage: valgrind_suite.sh PROGRAM SKIP   (PROGRAM in $MFFI_BINARY_DIR/bin;
# SKIP: valgrind's --trace-children-skip patterns, children it must not
# follow). Shared by the test_*_valgrind.sh scripts.
set -u
prog=$1 skip=$2
BIN=${MFFI_BINARY_DIR:?}/bin
if [ "${MFFI_SANITIZE:-0}" = 1 ]; then
  echo "skipped: valgrind does not run sanitizer builds"
  exit 77 # ctest reports it as skipped (SKIP_RETURN_CODE).
fi
if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
valgrind -q --trace-children=yes --trace-children-skip="$skip" \
  --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
  "$BIN/$prog" --jobs 1 >"$log" 2>&1
rc=$?
if [ $rc = 0 ] && ! grep -qE "==[0-9]+== (Invalid|Conditional|Syscall param)" "$log"; then
  tail -1 "$log"
  echo "1 passed, 0 failed"
  exit 0
fi
cat "$log"
echo "0 passed, 1 failed"
exit 1
