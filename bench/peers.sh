#!/bin/sh
# The side-by-side table: modffi against the FFIs users would pick instead,
# over the same callee library (bench/bench_lib.c) and signatures, in one
# run. See LICENSE and bench/README.md.
#
#   sh bench/peers.sh BUILD_DIR [--reuse]
#
# Runs, one after the other: BUILD_DIR/bench/calls (direct, mffi_call,
# ffi_call; built by scripts/bench.sh) with BENCH_TSV, bench/gen_calls.sh
# (generated wrappers, static and dynamic) with BENCH_TSV, bench/peers.lua
# under LuaJIT with the JIT and with -joff, and bench/peers.py (cffi ABI
# mode, cffi API mode, ctypes); then prints one Markdown table, ns per call
# and the ratio to the direct call of the same row. With --reuse it takes
# calls.tsv and gen_calls.tsv from BUILD_DIR/bench/ as `make bench` just
# wrote them instead of running those two again.
#
# A peer that is not installed (or fails) is left out with a note: this
# script fails only when modffi's own benchmarks cannot run.
# LUAJIT=path and PYTHON=path choose the interpreters (default: luajit,
# python3 from PATH). scripts/install-deps.sh bench installs both peers.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
reuse=${2:-}
out=$build/bench
pdir=$out/peers
mkdir -p "$pdir"
notes=$pdir/notes.txt
: >"$notes"
note() { printf '%s\n' "$*" >>"$notes"; }
so=$out/bench_lib.so
load0=$(uptime | sed 's/.*load average: //')

if [ "$reuse" != --reuse ] || [ ! -s "$out/calls.tsv" ]; then
  if [ ! -x "$out/calls" ] || [ ! -f "$so" ]; then
    echo "peers: $out/calls not built; run make bench first" >&2
    exit 1
  fi
  BENCH_TSV=$out/calls.tsv "$out/calls" "$so" >"$pdir/calls.out"
fi
if [ "$reuse" != --reuse ] || [ ! -s "$out/gen_calls.tsv" ]; then
  BENCH_TSV=$out/gen_calls.tsv sh "$src/bench/gen_calls.sh" "$build" \
    >"$pdir/gen_calls.out"
fi
# calls.tsv is "case direct ffi_call mffi_call": make it "way case ns".
# A fifth field, the path mffi_call took, becomes a "path" line.
awk -F '\t' -v OFS='\t' '{ print "direct", $1, $2; print "ffi_call", $1, $3;
  print "mffi_call", $1, $4
  if (NF > 4 && $5 != "callback") print "path", $1, $5 }' \
  "$out/calls.tsv" >"$pdir/all.tsv"
cat "$out/gen_calls.tsv" >>"$pdir/all.tsv"

# -- LuaJIT ------------------------------------------------------------------
luajit=${LUAJIT:-luajit}
if command -v "$luajit" >/dev/null 2>&1; then
  ver=$("$luajit" -v 2>&1 | awk 'NR == 1 { print $1, $2 }')
  note "LuaJIT: $ver."
  for mode in jit joff; do
    label=luajit
    flags=
    if [ $mode = joff ]; then
      label="luajit-joff"
      flags=-joff
    fi
    # shellcheck disable=SC2086
    if "$luajit" $flags "$src/bench/peers.lua" $label "$so" \
      >"$pdir/$label.tsv" 2>"$pdir/$label.err"; then
      cat "$pdir/$label.tsv" >>"$pdir/all.tsv"
    else
      note "$label: failed ($pdir/$label.err): left out."
    fi
  done
else
  note "LuaJIT: \`$luajit\` not found (sh scripts/install-deps.sh bench):" \
    "left out."
fi

# -- Python: cffi (ABI, API mode), ctypes -------------------------------------
python=${PYTHON:-python3}
if command -v "$python" >/dev/null 2>&1; then
  if "$python" "$src/bench/peers.py" "$so" --api-dir "$pdir/cffi_api" \
    >"$pdir/python.tsv" 2>"$pdir/python.err"; then
    grep '^note' "$pdir/python.tsv" | cut -f 2- >>"$notes" || true
    grep -v '^note' "$pdir/python.tsv" >>"$pdir/all.tsv" || true
  else
    note "Python: $python bench/peers.py failed ($pdir/python.err): left out."
  fi
else
  note "Python: \`$python\` not found: cffi and ctypes left out."
fi

# -- The table -----------------------------------------------------------------
awk -F '\t' '
$1 == "path" { path[$2] = $3; next }
{ ns[$1, $2] = $3; have[$1] = 1 }
END {
  nw = split("direct mffi_call gen_static gen_dynamic ffi_call luajit " \
             "luajit-joff cffi cffi-api ctypes", way, " ")
  head["direct"] = "direct (PLT)"; head["mffi_call"] = "`mffi_call` dynamic"
  head["gen_static"] = "wrapper, static"
  head["gen_dynamic"] = "wrapper, dynamic"
  head["ffi_call"] = "raw `ffi_call`"; head["luajit"] = "LuaJIT JIT"
  head["luajit-joff"] = "LuaJIT `-joff`"; head["cffi"] = "cffi ABI"
  head["cffi-api"] = "cffi API"; head["ctypes"] = "ctypes"
  nc = split("nop add muladd ptr6 pt_add int10 big24 mix qsort", cs, " ")
  lab["nop"] = "`void nop(void)`"; lab["add"] = "`int add(int, int)`"
  lab["muladd"] = "`double muladd(double, double, double)`"
  lab["ptr6"] = "`void *ptr6(void *` x6`)`"
  lab["pt_add"] = "`pt_add`: `struct {double x, y;}` x2 in, one out"
  lab["int10"] = "`int int10(int` x10`)`, 4 on the stack"
  lab["big24"] = "`big24(long, long)`: 24-byte struct in memory"
  lab["mix"] = "`double mix(float, int, double, long)`"
  lab["qsort"] = "`qsort` callback, ns per comparison"
  line = "| signature"; rule = "|---"
  for (w = 1; w <= nw; w++)
    if (have[way[w]]) { line = line " | " head[way[w]]; rule = rule "|---:" }
  print line " |"; print rule "|"
  for (c = 1; c <= nc; c++) {
    k = cs[c]; d = ns["direct", k] + 0; line = "| " lab[k]
    for (w = 1; w <= nw; w++) {
      if (!have[way[w]]) continue
      if (!((way[w], k) in ns)) { line = line " | -"; continue }
      v = ns[way[w], k] + 0
      if (way[w] == "direct") line = line sprintf(" | %.2f", v)
      else if (d > 0) {
        r = v / d
        f = r < 10 ? "%.2f" : r < 100 ? "%.1f" : "%.0f"
        p = way[w] == "mffi_call" && path[k] != "" ? ", " path[k] : ""
        line = line sprintf(" | %.2f (" f "x%s)", v, r, p)
      }
      else line = line sprintf(" | %.2f", v)
    }
    print line " |"
  }
}' "$pdir/all.tsv"
echo
echo "ns per call (per comparison for qsort), the median sample minus the" \
  "median of an empty loop, each way in its own loop; in parentheses the" \
  "ratio to the direct call of the same row. The qsort row: a C comparator" \
  "(direct), a libffi closure (raw \`ffi_call\` column), an \`mffi_callback\`" \
  "closure (\`mffi_call\` column) and a comparator written in Lua or Python." \
  "Load average (1, 5, 15 min) at the start: $load0; at the end:" \
  "$(uptime | sed 's/.*load average: //')."
if [ -s "$notes" ]; then
  echo
  sed 's/^/- /' "$notes"
fi
