#!/bin/sh
# Build and run the benchmarks against a build tree. See LICENSE.
# Usage: scripts/bench.sh BUILD_DIR   (run by `make bench` after the build)
# Uses BUILD_DIR/lib/libmodffi.a and include/; writes BUILD_DIR/bench/.
# Each benchmark prints a Markdown table; add new ones at the end.
# Benchmarks are never a test or a CI gate: this script fails only when a
# benchmark cannot be built or run.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
out=$build/bench
cc=${CC:-cc}
cflags="-std=gnu11 -O2 -Wall -Wextra"
mkdir -p "$out"

lib=$build/lib/libmodffi.a
if [ ! -f "$lib" ]; then
  echo "bench: $lib not found; build first (make)" >&2
  exit 1
fi
# shellcheck disable=SC2046
set -- $(pkg-config --cflags libffi)
ffi_cflags="$*"
# shellcheck disable=SC2046
set -- $(pkg-config --libs libffi libseccomp) -lpthread
ffi_libs="$*"

# -- Calls: direct vs ffi_call vs mffi_call ---------------------------------
# The callee is a real shared object, linked normally (direct calls go
# through the PLT); its soname lets the rpath find it.
# shellcheck disable=SC2086
"$cc" $cflags -shared -fPIC -Wl,-soname,bench_lib.so \
  -o "$out/bench_lib.so" "$src/bench/bench_lib.c"
# shellcheck disable=SC2086
"$cc" $cflags -I"$src/include" $ffi_cflags -o "$out/calls" \
  "$src/bench/calls.c" "$out/bench_lib.so" -Wl,-rpath,"$out" \
  "$lib" $ffi_libs -ldl
echo "## Calls (bench/calls.c)"
echo
BENCH_TSV=$out/calls.tsv "$out/calls" "$out/bench_lib.so"

# -- Remote: round trips against a socketpair RPC and memcpy ---------------
# shellcheck disable=SC2086
"$cc" $cflags -I"$src/include" -o "$out/remote" "$src/bench/remote.c" \
  "$lib" $ffi_libs -ldl
echo
echo "## Remote strategy (bench/remote.c)"
echo
MFFI_SANDBOX=$build/bin/modffi-sandbox "$out/remote" "$out/bench_lib.so"

# -- Generated wrappers: direct mode, static, dynamic vs a direct call -------
echo
echo "## Generated wrappers (bench/gen_calls.c)"
echo
BENCH_TSV=$out/gen_calls.tsv sh "$src/bench/gen_calls.sh" "$build"

# -- Side by side: the same signatures through LuaJIT, cffi, ctypes ----------
# Reuses the two TSV files just written; a missing peer is a note.
echo
echo "## Side by side (bench/peers.sh)"
echo
sh "$src/bench/peers.sh" "$build" --reuse

# -- xmltree on a multi-MB document, per strategy vs plain expat ------------
echo
echo "## xmltree (bench/xmltree_bench.sh)"
echo
bash "$src/bench/xmltree_bench.sh" "$build"

# -- The checked decorator: cost per call against plain dynamic -------------
# shellcheck disable=SC2086
"$cc" $cflags -shared -fPIC -Wl,-soname,checked_lib.so \
  -o "$out/checked_lib.so" "$src/bench/checked_lib.c"
# shellcheck disable=SC2086
"$cc" $cflags -I"$src/include" -o "$out/checked" "$src/bench/checked.c" \
  "$out/checked_lib.so" -Wl,-rpath,"$out" "$lib" $ffi_libs -ldl
echo
echo "## Checked decorator (bench/checked.c)"
echo
"$out/checked" "$out/checked_lib.so"

# -- Declaration parser: time and memory at n and 8n ------------------------
echo
echo "## Parse scaling (bench/parse_scaling.sh)"
echo
bash "$src/bench/parse_scaling.sh" "$build"

# -- Declaration parser on 16 real headers, beside LuaJIT and gcc ------------
echo
echo "## Parse speed (bench/parse_speed.sh)"
echo
bash "$src/bench/parse_speed.sh" "$build"

# -- libffi's API: the same program on -lffi and on -lmodffi_ffi ------------
if [ -f "$build/lib/libmodffi_ffi.so" ]; then
  # shellcheck disable=SC2046
  set -- $(pkg-config --cflags libffi)
  for impl in libffi modffi; do
    if [ "$impl" = libffi ]; then l="-lffi"; else l="-L$build/lib -lmodffi_ffi"; fi
    # shellcheck disable=SC2086
    "$cc" $cflags "$@" -I"$src/bench" -o "$out/ffi_api_$impl" \
      "$src/bench/ffi_api.c" "$out/bench_lib.so" -Wl,-rpath,"$out" $l \
      -Wl,-rpath,"$build/lib"
  done
  "$out/ffi_api_libffi" >"$out/ffi_api_libffi.tsv"
  "$out/ffi_api_modffi" >"$out/ffi_api_modffi.tsv"
  MFFI_FFI_PATH=libffi "$out/ffi_api_modffi" >"$out/ffi_api_modffi_ffi.tsv"
  echo
  echo "## libffi's API on modffi (bench/ffi_api.c)"
  echo
  echo "One program (\`ffi_call\` with a prepared cif; \`qsort\` through an \`ffi_closure\`), linked with -lffi and with -lmodffi_ffi; ns per call (per comparison for qsort), median of 25 samples minus an empty loop."
  echo
  echo "| case | -lffi | -lmodffi_ffi | faster | -lmodffi_ffi, MFFI_FFI_PATH=libffi |"
  echo "|---|---:|---:|---:|---:|"
  paste "$out/ffi_api_libffi.tsv" "$out/ffi_api_modffi.tsv" \
    "$out/ffi_api_modffi_ffi.tsv" |
    awk -F'\t' '{ printf "| `%s` | %.2f | %.2f | %.1fx | %.2f |\n", $1, $2, $4, ($4 > 0 ? $2 / $4 : 0), $6 }'
fi
