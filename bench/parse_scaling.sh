#!/bin/bash
# Parse time and peak memory of `modffi cdef --check` on generated inputs
# at n and 8n, to show that they grow linearly. See LICENSE.
#
#   bash bench/parse_scaling.sh BUILD_DIR [N]
#
# For each shape (N members of a struct, N named parameters, N copies of
# one prototype, N distinct functions, N functions declared again by a
# second file, N enumerators, N stars in a declarator) it writes the input
# of size N (default 50000) and 8N to BUILD_DIR/bench/, runs the parser on
# each (best of 3 CPU times, user + system) and prints a Markdown table
# with the ratio 8N/N of time and of peak RSS: linear is about 8, quadratic
# 64. The 1M and 4M-star declarators show the derivation limit (refused,
# exit 1) and what it costs.
set -eu
build=$(cd "${1:-build}" && pwd)
n=${2:-50000}
modffi=$build/bin/modffi
out=$build/bench/parse
mkdir -p "$out"
if [ ! -x "$modffi" ]; then
  echo "parse_scaling: $modffi not found; build first (make)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "parse_scaling: python3 is needed to generate the inputs" >&2
  exit 1
fi

# gen SHAPE COUNT FILE...: write the input(s).
gen() {
  python3 - "$@" <<'EOF'
import sys
shape, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def w(i, text):
    with open(files[i], "w") as f:
        f.write(text)
if shape == "members":
    w(0, "struct s {\n" + "".join(f"  int m{i};\n" for i in range(n)) + "};\n")
elif shape == "params":
    w(0, "void f(" + ", ".join(f"int a{i}" for i in range(n)) + ");\n")
elif shape == "prototypes":
    w(0, "int f(int, long, char *);\n" * n)
elif shape == "functions":
    w(0, "".join(f"int f{i}(int, long, char *);\n" for i in range(n)))
elif shape == "redeclared":
    w(0, "".join(f"int f{i}(int);\n" for i in range(n)))
    w(1, "".join(f"int f{i}(int x) __attribute__((nonnull));\n"
                 for i in range(n)))
elif shape == "enumerators":
    w(0, "enum e { " + ", ".join(f"E{i}" for i in range(n)) + " };\n")
elif shape == "stars":
    w(0, "int " + "*" * n + "x;\n")
EOF
}

# measure FILE...: "CPU_SECONDS PEAK_KB EXIT" of the best of 3 runs.
measure() {
  local best="" kb=0 rc=0
  for _ in 1 2 3; do
    /usr/bin/time -o "$out/time.txt" -f "%U %S %M %x" \
      "$modffi" cdef --check "$@" >/dev/null 2>&1 || true
    local cpu
    cpu=$(awk 'END { printf "%.3f", $1 + $2 }' "$out/time.txt")
    kb=$(awk 'END { print $3 }' "$out/time.txt")
    rc=$(awk 'END { print $4 }' "$out/time.txt")
    if [ -z "$best" ] || awk "BEGIN { exit !($cpu < $best) }"; then
      best=$cpu
    fi
  done
  echo "$best $kb $rc"
}

if [ ! -x /usr/bin/time ]; then
  echo "parse_scaling: /usr/bin/time (Debian package time) is needed" >&2
  exit 1
fi

echo "| input | n | CPU s | peak RSS | 8n | CPU s | peak RSS | time x | RSS x |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for shape in members params prototypes functions redeclared enumerators \
  stars; do
  row="| $shape"
  declare -a res=()
  for k in "$n" $((8 * n)); do
    files=("$out/$shape.$k.a.h")
    [ "$shape" = redeclared ] && files+=("$out/$shape.$k.b.h")
    gen "$shape" "$k" "${files[@]}"
    read -r cpu kb _ <<<"$(measure "${files[@]}")"
    row="$row | $k | $cpu | $((kb / 1024)) MiB"
    res+=("$cpu" "$kb")
  done
  tx=$(awk "BEGIN { a = ${res[0]}; b = ${res[2]}; \
    if (a < 0.005) print \"-\"; else printf \"%.1f\", b / a }")
  mx=$(awk "BEGIN { printf \"%.1f\", ${res[3]} / ${res[1]} }")
  echo "$row | $tx | $mx |"
done

echo
echo "| declarator | CPU s | peak RSS | exit |"
echo "|---|---:|---:|---:|"
for k in 65536 1000000 4000000; do
  gen stars "$k" "$out/stars.$k.h"
  read -r cpu kb rc <<<"$(measure "$out/stars.$k.h")"
  echo "| $k stars | $cpu | $((kb / 1024)) MiB | $rc |"
done
