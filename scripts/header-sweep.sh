#!/bin/bash
# Every header under a directory (default /usr/include) that gcc accepts
# when included alone, read by `modffi cdef --strict --check` from its
# preprocessed text: the count read, and each failure with its message.
# Not a test (the set of headers is the machine's); the check behind
# docs/cdef.md's claim. See LICENSE.
# Usage: scripts/header-sweep.sh [BUILD_DIR [INCLUDE_DIR]]
set -u
build=$(cd "${1:-build}" && pwd)
inc=${2:-/usr/include}
modffi=$build/bin/modffi
cc=${CC:-cc}
[ -x "$modffi" ] || { echo "header-sweep: $modffi not found; build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 ok=0 fail=0
while IFS= read -r h; do
  printf '#include <%s>\n' "$h" >"$tmp/h.c"
  $cc -fsyntax-only -w "$tmp/h.c" 2>/dev/null || continue
  $cc -E -w "$tmp/h.c" >"$tmp/h.i" 2>/dev/null || continue
  n=$((n + 1))
  if timeout 60 "$modffi" cdef --strict --check "$tmp/h.i" >/dev/null 2>"$tmp/err"; then
    ok=$((ok + 1))
  else
    fail=$((fail + 1))
    echo "$h: $(head -1 "$tmp/err")"
  fi
done < <(cd "$inc" && find . -name '*.h' | sed 's|^\./||' | sort)
echo "headers $cc accepts under $inc: $n; read strictly: $ok; failed: $fail"
[ "$fail" -eq 0 ]
