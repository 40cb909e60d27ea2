#!/bin/sh
# `make demo`: one program, every strategy. See LICENSE.
#
#   sh scripts/demo.sh BUILD_DIR
#
# Runs examples/xmltree (written once against the binding that `modffi gen`
# generated from expat.h at build time) on a bundled sample and on a large
# XML file of the system, under the dynamic and static strategies, in direct
# mode, and as xmltree_plain (the same program written directly against
# expat); shows that the outputs are identical and how long each took.
# Then calls libc and libm from the command line with `modffi call`.
set -u
BUILD=${1:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/.." && pwd)
SAMPLE=$HERE/examples/xmltree/sample.xml
BIG=/usr/share/mime/packages/freedesktop.org.xml
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

for p in modffi xmltree xmltree_direct xmltree_plain; do
  if [ ! -x "$BIN/$p" ]; then
    echo "demo: $BIN/$p is missing; build first (make)" >&2
    exit 1
  fi
done

now_ns() { date +%s%N; }

# time_best OUT CMD...: run CMD 5 times with stdout to OUT; print the best
# wall time in milliseconds (3 decimals).
time_best() {
  out=$1
  shift
  best=
  for i in 1 2 3 4 5; do
    t0=$(now_ns)
    "$@" >"$out" 2>"$out.err"
    t1=$(now_ns)
    dt=$((t1 - t0))
    if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  printf '%d.%03d' $((best / 1000000)) $(((best / 1000) % 1000))
}

# demo_file FILE: every variant on FILE, a table, and a verdict.
demo_file() {
  f=$1
  lines=0
  printf '\n== xmltree %s (%s bytes)\n\n' "$f" "$(wc -c <"$f")"
  printf '  %-38s %10s  %s\n' "command" "best of 5" "output"
  tp=$(time_best "$TMP/plain" "$BIN/xmltree_plain" "$f")
  lines=$(wc -l <"$TMP/plain")
  printf '  %-38s %7s ms  %s lines (the oracle)\n' "xmltree_plain (expat directly)" "$tp" "$lines"
  same=yes
  for v in dynamic static direct; do
    if [ "$v" = direct ]; then
      label="xmltree_direct (-Dexpat_MFFI_DIRECT)"
      t=$(time_best "$TMP/$v" "$BIN/xmltree_direct" "$f")
    else
      label="xmltree --strategy $v"
      t=$(time_best "$TMP/$v" "$BIN/xmltree" --strategy "$v" "$f")
    fi
    if cmp -s "$TMP/plain" "$TMP/$v"; then
      verdict="identical"
    else
      verdict="DIFFERS"
      same=no
    fi
    printf '  %-38s %7s ms  %s\n' "$label" "$t" "$verdict"
  done
  if [ "$same" = yes ]; then
    echo "  -> the same program, byte-identical output under every strategy"
  else
    echo "  -> OUTPUTS DIFFER" >&2
    status=1
  fi
}

status=0
echo "modffi demo: examples/xmltree is one source file using expat through"
echo "the binding generated at build time by:"
echo "  modffi gen --name expat --header expat.h --only '^XML_' --lib libexpat.so.1"
echo
echo "== xmltree --strategy static $SAMPLE"
"$BIN/xmltree" --strategy static "$SAMPLE" | sed 's/^/  /'
demo_file "$SAMPLE"
if [ -f "$BIG" ]; then
  demo_file "$BIG"
else
  echo
  echo "($BIG not found: install shared-mime-info for a large file)"
fi

echo
echo "== a malformed document, under each strategy"
printf '<catalog>\n  <book>\n</catalog>\n' >"$TMP/bad.xml"
for v in dynamic static; do
  "$BIN/xmltree" --strategy "$v" "$TMP/bad.xml" >/dev/null 2>"$TMP/err"
  printf '  %-8s exit %d: %s\n' "$v" $? "$(cat "$TMP/err")"
done

echo
echo "== modffi call: any C function from the command line (dynamic strategy)"
echo "\$ modffi call -l libc.so.6 'int puts(const char *)' 'Hello, world'"
"$BIN/modffi" call -l libc.so.6 'int puts(const char *)' 'Hello, world' || status=1
echo "\$ modffi call -l libm.so.6 'double pow(double, double)' 2 0.5"
"$BIN/modffi" call -l libm.so.6 'double pow(double, double)' 2 0.5 || status=1
exit $status
