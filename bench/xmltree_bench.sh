#!/bin/bash
# xmltree on a multi-MB document, per strategy, against the program written
# directly against expat. See LICENSE.
#
#   bash bench/xmltree_bench.sh BUILD_DIR [RUNS [BOOKS]]
#
# Generates a document of BOOKS (default 50000, about 10 MB) catalogue
# entries in BUILD_DIR/bench/, runs xmltree_plain, xmltree --strategy
# dynamic, xmltree --strategy static and xmltree_direct RUNS times each
# (default 7, interleaved so that a drifting machine affects all alike),
# checks that the outputs are identical, and prints the best wall time and
# the best CPU time (user + system) of each with their ratios to
# xmltree_plain as a Markdown table. On a loaded machine the CPU time is
# the steadier figure. Targets (DESIGN.md): static <= 1.05x, dynamic <=
# 1.2x.
set -eu
build=$(cd "${1:-build}" && pwd)
runs=${2:-7}
books=${3:-50000}
bin=$build/bin
out=$build/bench
mkdir -p "$out"
for p in xmltree xmltree_direct xmltree_plain; do
  if [ ! -x "$bin/$p" ]; then
    echo "xmltree_bench: $bin/$p not found; build first (make)" >&2
    exit 1
  fi
done

doc=$out/xmltree_bench.xml
awk -v n="$books" 'BEGIN {
  print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"; print "<catalog>";
  for (i = 0; i < n; i++) {
    printf "  <book id=\"b%d\" lang=\"%s\">\n", i, (i % 3) ? "en" : "fr";
    printf "    <title>Title %d &amp; subtitle</title>\n", i;
    printf "    <authors><author>Author %d</author><author>Co-author</author></authors>\n", i;
    printf "    <note><![CDATA[<not-an-element>%d</not-an-element>]]></note>\n", i;
    printf "    <price currency=\"EUR\">%d.99</price><stock><shelf row=\"%d\"/></stock>\n", i % 100, i % 7;
    printf "  </book>\n" }
  print "</catalog>" }' >"$doc"
size=$(wc -c <"$doc")

now_ns() { date +%s%N; }
export LC_ALL=C # "0.123", not "0,123", from time.

# One timed run of variant $1; prints "WALL_NS CPU_MS".
run_one() {
  case $1 in
  plain) set -- "$bin/xmltree_plain" "$doc" ;;
  direct) set -- "$bin/xmltree_direct" "$doc" ;;
  *) set -- "$bin/xmltree" --strategy "$1" "$doc" ;;
  esac
  local t0 t1 cpu
  t0=$(now_ns)
  cpu=$( { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null; } 2>&1 )
  t1=$(now_ns)
  local u=${cpu% *} s=${cpu#* }
  echo "$((t1 - t0)) $(( 10#${u/./} + 10#${s/./} ))"
}

# Outputs must agree before times mean anything.
"$bin/xmltree_plain" "$doc" >"$out/xmltree_bench.plain"
for v in dynamic static remote; do
  "$bin/xmltree" --strategy "$v" "$doc" | cmp -s - "$out/xmltree_bench.plain" || {
    echo "xmltree_bench: --strategy $v output differs" >&2
    exit 1
  }
done
"$bin/xmltree_direct" "$doc" | cmp -s - "$out/xmltree_bench.plain" || {
  echo "xmltree_bench: direct output differs" >&2
  exit 1
}
lines=$(wc -l <"$out/xmltree_bench.plain")

declare -A wall cpu
for v in plain dynamic static direct remote; do wall[$v]=; cpu[$v]=; done
i=0
while [ "$i" -lt "$runs" ]; do
  for v in plain dynamic static direct remote; do
    read -r w c < <(run_one "$v")
    if [ -z "${wall[$v]}" ] || [ "$w" -lt "${wall[$v]}" ]; then wall[$v]=$w; fi
    if [ -z "${cpu[$v]}" ] || [ "$c" -lt "${cpu[$v]}" ]; then cpu[$v]=$c; fi
  done
  i=$((i + 1))
done

ms() { printf '%d.%02d' $(($1 / 1000000)) $((($1 / 10000) % 100)); }
ratio() { printf '%d.%02d' $(($1 / $2)) $((($1 * 100 / $2) % 100)); }

echo "| xmltree on $size bytes, $lines elements | wall, best of $runs (ms) | × plain | CPU, best of $runs (ms) | × plain |"
echo "|---|---:|---:|---:|---:|"
row() {
  echo "| $1 | $(ms "${wall[$2]}") | $(ratio "${wall[$2]}" "${wall[plain]}") | ${cpu[$2]} | $(ratio "${cpu[$2]}" "${cpu[plain]}") |"
}
row "xmltree_plain (expat directly)" plain
row "xmltree_direct (-Dexpat_MFFI_DIRECT)" direct
row "xmltree --strategy static" static
row "xmltree --strategy dynamic" dynamic
row "xmltree --strategy remote" remote
echo
echo "Outputs identical. Targets: static <= 1.05x, dynamic <= 1.2x, remote <= 4x."

# The document the remote target names, if the system has it.
fd=/usr/share/mime/packages/freedesktop.org.xml
if [ -r "$fd" ]; then
  "$bin/xmltree_plain" "$fd" >"$out/xmltree_fd.plain"
  "$bin/xmltree" --strategy remote "$fd" | cmp -s - "$out/xmltree_fd.plain" || {
    echo "xmltree_bench: remote output differs on $fd" >&2
    exit 1
  }
  doc=$fd
  for v in plain remote; do wall[$v]=; cpu[$v]=; done
  i=0
  while [ "$i" -lt "$runs" ]; do
    for v in plain remote; do
      read -r w c < <(run_one "$v")
      if [ -z "${wall[$v]}" ] || [ "$w" -lt "${wall[$v]}" ]; then wall[$v]=$w; fi
      if [ -z "${cpu[$v]}" ] || [ "$c" -lt "${cpu[$v]}" ]; then cpu[$v]=$c; fi
    done
    i=$((i + 1))
  done
  echo
  echo "| xmltree on $fd ($(wc -c <"$fd") bytes) | wall, best of $runs (ms) | × plain | CPU (ms) | × plain |"
  echo "|---|---:|---:|---:|---:|"
  row "xmltree_plain" plain
  row "xmltree --strategy remote" remote
fi
