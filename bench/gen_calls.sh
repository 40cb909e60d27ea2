#!/bin/sh
# Build and run bench/gen_calls.c: a generated wrapper of int add(int, int)
# in direct mode, static and dynamic, against a direct call. See LICENSE.
# With BENCH_TSV=FILE, also the wrappers of every bench/bench_lib.h
# signature under static and dynamic, as lines for bench/peers.sh.
#
#   sh bench/gen_calls.sh BUILD_DIR [CALLS-PER-REP [REPS]]
#
# Uses BUILD_DIR/bin/modffi and BUILD_DIR/lib/libmodffi.a; writes
# BUILD_DIR/bench/gen_calls/. Prints a Markdown table.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
shift || true
out=$build/bench/gen_calls
cc=${CC:-cc}
cflags="-std=gnu11 -O2 -Wall -Wextra"
mkdir -p "$out/gen"
lib=$build/lib/libmodffi.a
for f in "$lib" "$build/bin/modffi"; do
  if [ ! -e "$f" ]; then
    echo "gen_calls: $f not found; build first (make)" >&2
    exit 1
  fi
done

# The callee: bench/bench_lib.c as a shared object, linked normally.
"$cc" $cflags -shared -fPIC -Wl,-soname,bench_lib.so \
  -o "$out/bench_lib.so" "$src/bench/bench_lib.c"
# Its header, which is also the description of the binding.
"$build/bin/modffi" gen --name bl --header "$src/bench/bench_lib.h" \
  --cdef "$src/bench/bench_lib.h" --lib "$out/bench_lib.so" -o "$out/gen"

inc="-I$src/include -I$out/gen"
# shellcheck disable=SC2086
"$cc" $cflags $inc -DGEN_CALLS_DIRECT_TU -Dbl_MFFI_DIRECT -c \
  -o "$out/gen_calls_direct.o" "$src/bench/gen_calls.c"
# shellcheck disable=SC2086
"$cc" $cflags $inc -o "$out/gen_calls" "$src/bench/gen_calls.c" \
  "$out/gen_calls_direct.o" "$out/gen/bl_mffi.c" "$out/gen/bl_mffi_static.c" \
  "$out/bench_lib.so" -Wl,-rpath,"$out" "$lib" $(pkg-config --libs libffi libseccomp) -ldl -lpthread
"$out/gen_calls" "$out/bench_lib.so" "$@"
