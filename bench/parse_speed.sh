#!/bin/bash
# Parse speed on real headers: mffi_cdef / `modffi cdef` beside LuaJIT's
# ffi.cdef and `gcc -fsyntax-only`, on one text. See LICENSE.
#
#   bash bench/parse_speed.sh BUILD_DIR [REPS]
#
# The text: `cc -E -P` of 16 common headers (stdio, stdlib, string,
# sqlite3, zlib, pthread, time, signal, unistd, sys/socket, netdb, fcntl,
# sys/stat, dirent, locale, wchar), written to BUILD_DIR/bench/parse/h16.h.
# Filter: none. Without -O, glibc defines no extern inline bodies
# (__USE_EXTERN_INLINES needs __OPTIMIZE__), and what remains
# (__attribute__, __asm__ labels, __extension__, __restrict, __inline) is
# accepted by both parsers; the script checks that both accept the text
# and stops if one does not, rather than time a failed parse.
#
# Rows:
# - in process (bench/parse_speed.c): each rep parses the text into a
#   fresh modffi context / a fresh Lua state with ffi loaded; only the
#   parse call is timed, the two take turns, median of REPS (default 200);
# - process: the whole command (`modffi cdef --check FILE`, `luajit -e`
#   reading the file and calling ffi.cdef, `gcc -fsyntax-only`), start-up
#   included, best wall time of 20 runs (gcc: 10);
# - instructions: counted by callgrind (valgrind) when it is installed,
#   exactly: in process with --toggle-collect on the parse call alone,
#   processes whole (gcc with its cc1 child). Hardware counters (perf
#   stat) are used instead when valgrind is absent and perf can count.
# LuaJIT (libluajit-5.1-dev, `scripts/install-deps.sh bench`) is skipped
# with a note when missing.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
reps=${2:-200}
cc=${CC:-cc}
out=$build/bench/parse
mkdir -p "$out"
modffi=$build/bin/modffi
lib=$build/lib/libmodffi.a
if [ ! -x "$modffi" ] || [ ! -f "$lib" ]; then
  echo "parse_speed: $modffi or $lib not found; build first (make)" >&2
  exit 1
fi

# -- The text ---------------------------------------------------------------
headers="stdio stdlib string sqlite3 zlib pthread time signal unistd
  sys/socket netdb fcntl sys/stat dirent locale wchar"
: >"$out/h16.c"
for h in $headers; do
  echo "#include <$h.h>" >>"$out/h16.c"
done
if ! "$cc" -E -P "$out/h16.c" -o "$out/h16.h" 2>"$out/cpp.err"; then
  echo "parse_speed: cannot preprocess the headers (sqlite3.h and zlib.h" \
    "come with scripts/install-deps.sh bench):" >&2
  cat "$out/cpp.err" >&2
  exit 1
fi
text=$out/h16.h
bytes=$(wc -c <"$text")
kb=$(awk "BEGIN { printf \"%.1f\", $bytes / 1024 }")

# -- The in-process harness ---------------------------------------------------
have_lj=0
lj_cflags="" lj_libs=""
if pkg-config --exists luajit 2>/dev/null && command -v luajit >/dev/null; then
  have_lj=1
  lj_cflags="-DHAVE_LUAJIT $(pkg-config --cflags luajit)"
  lj_libs=$(pkg-config --libs luajit)
fi
# shellcheck disable=SC2046,SC2086
"$cc" -std=gnu11 -O2 -g -Wall -Wextra -I"$src/include" $lj_cflags \
  -o "$out/parse_speed" "$src/bench/parse_speed.c" "$lib" $lj_libs \
  $(pkg-config --libs libffi libseccomp) -lpthread -ldl -lm
"$modffi" cdef --strict --check "$text"
if [ $have_lj = 1 ]; then
  "$out/parse_speed" "$text" 1 luajit >/dev/null
fi

# -- Measurements -------------------------------------------------------------
# best_wall N CMD...: the best wall time of N runs, in ns.
best_wall() {
  local n=$1 best="" t0 t1
  shift
  for _ in $(seq "$n"); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    if [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ]; then
      best=$((t1 - t0))
    fi
  done
  echo "$best"
}

counter=none
if command -v valgrind >/dev/null 2>&1; then
  counter=callgrind
elif perf stat -x, -e instructions:u true 2>&1 | grep -q '^[0-9]'; then
  counter=perf
fi
# cg_total PREFIX: the instructions of every callgrind file PREFIX.*.
cg_total() {
  cat "$1".* | awk '/^summary:/ { s += $2 } END { print s + 0 }'
}
# instr_proc CMD...: instructions of a whole process (and its children).
instr_proc() {
  case $counter in
  callgrind)
    rm -f "$out"/cg.proc.*
    valgrind --tool=callgrind --trace-children=yes \
      --callgrind-out-file="$out/cg.proc.%p" "$@" >/dev/null 2>&1
    cg_total "$out/cg.proc"
    ;;
  perf)
    perf stat -x, -e instructions:u "$@" 2>&1 >/dev/null |
      awk -F, '/instructions/ { print $1 }'
    ;;
  *) echo "" ;;
  esac
}
# instr_inproc WHICH FUNCTION: instructions of one in-process parse.
instr_inproc() {
  case $counter in
  callgrind)
    rm -f "$out"/cg.in.*
    valgrind --tool=callgrind --toggle-collect="$2" \
      --callgrind-out-file="$out/cg.in.%p" \
      "$out/parse_speed" "$text" 1 "$1" >/dev/null 2>&1
    cg_total "$out/cg.in"
    ;;
  *) echo "" ;;
  esac
}

which=modffi
[ $have_lj = 1 ] && which=all
read -r m_ns l_ns <<<"$("$out/parse_speed" "$text" "$reps" "$which" |
  awk '{ v[$1] = $2 } END { print v["modffi"], (v["luajit"] ? v["luajit"] : 0) }')"
lua_cdef="local f = io.open('$text'); require('ffi').cdef(f:read('*a'))"
m_cli=$(best_wall 20 "$modffi" cdef --check "$text")
l_cli=0
[ $have_lj = 1 ] && l_cli=$(best_wall 20 luajit -e "$lua_cdef")
g_cli=$(best_wall 10 "$cc" -fsyntax-only -x c "$text")
m_in_i=$(instr_inproc modffi ps_modffi_parse)
m_cli_i=$(instr_proc "$modffi" cdef --check "$text")
l_in_i="" l_cli_i=""
if [ $have_lj = 1 ]; then
  l_in_i=$(instr_inproc luajit ps_luajit_parse)
  l_cli_i=$(instr_proc luajit -e "$lua_cdef")
fi
g_cli_i=$(instr_proc "$cc" -fsyntax-only -x c "$text")

# row NAME HOW NS INSTR REF_NS: one table line (REF_NS: LuaJIT's, or 0).
row() {
  awk -v name="$1" -v how="$2" -v ns="$3" -v ins="$4" -v ref="$5" \
    -v bytes="$bytes" 'BEGIN {
    kb = bytes / 1024
    i = ins == "" ? "-" : sprintf("%.1f M", ins / 1e6)
    ib = ins == "" ? "-" : sprintf("%.0f", ins / bytes)
    r = ref > 0 ? sprintf("%.2fx", ns / ref) : "-"
    printf "| %s | %s | %.2f | %.1f | %s | %s | %s |\n", name, how,
      ns / 1e6, ns / 1e3 / kb, i, ib, r
  }'
}

echo "Text: cc -E -P of 16 headers, $bytes bytes ($kb KB); in process:" \
  "median of $reps parses; process: best of 20 runs (gcc 10);" \
  "instructions: $counter."
echo
echo "| parser | how | ms | µs/KB | instructions | per byte | / LuaJIT |"
echo "|---|---|---:|---:|---:|---:|---:|"
row "mffi_cdef" "in process" "$m_ns" "$m_in_i" "$l_ns"
[ $have_lj = 1 ] && row "LuaJIT ffi.cdef" "in process" "$l_ns" "$l_in_i" "$l_ns"
row "modffi cdef --check" "process" "$m_cli" "$m_cli_i" "$l_cli"
[ $have_lj = 1 ] && row "luajit -e 'ffi.cdef(...)'" "process" "$l_cli" \
  "$l_cli_i" "$l_cli"
row "gcc -fsyntax-only" "process" "$g_cli" "$g_cli_i" "$l_cli"
if [ $have_lj = 0 ]; then
  echo
  echo "LuaJIT skipped: luajit and libluajit-5.1-dev not found" \
    "(scripts/install-deps.sh bench)."
fi
