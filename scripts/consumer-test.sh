#!/bin/bash
# modffi as another project sees it: `make install PREFIX=<tmp>`, then
# tests/consumer (zcheck, a zlib binding) copied out of the tree and built
# from the installed files only, with CMake (find_package, modffi_add_binding)
# and with a Makefile and pkg-config; each build runs under every strategy
# (dynamic, static, remote, checked) and must print what the same source in
# direct mode prints. Then the installed man pages, the package's version
# rules, the binding's rebuild dependencies, and `make uninstall`, which must
# leave no file behind. Run by .ci/run; see LICENSE.
#
# Usage: scripts/consumer-test.sh   (from anywhere; uses BUILD=build)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/modffi-consumer.XXXXXX)
P=$T/prefix
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && tail -c 3000 "$2" | sed 's/^/     /'; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }
# Only the installed files: nothing from our build tree or environment.
unset MFFI_SANDBOX MODFFI MFFI_SOURCE_DIR MFFI_BINARY_DIR CMAKE_PREFIX_PATH
export PKG_CONFIG_PATH=$P/lib/pkgconfig

# -- Install -------------------------------------------------------------------
if make --no-print-directory install PREFIX="$P" BUILD="$BUILD" >"$T/install.log" 2>&1; then
  ok "make install PREFIX=$P"
else
  ko "make install PREFIX=$P" "$T/install.log"
  finish
fi
for f in bin/modffi lib/libmodffi.so lib/libmodffi.a libexec/modffi/modffi-sandbox \
  include/modffi.h include/modffi_static.h include/modffi_strategy.h \
  lib/pkgconfig/modffi.pc lib/cmake/modffi/modffiConfig.cmake \
  lib/cmake/modffi/modffiConfigVersion.cmake lib/cmake/modffi/modffiAddBinding.cmake \
  share/man/man1/modffi.1 share/man/man1/modffi-sandbox.1 share/man/man3/modffi.3; do
  [ -e "$P/$f" ] || echo "$f" >>"$T/missing"
done
[ ! -s "$T/missing" ] && ok "installed: CLI, libraries, sandbox, headers, modffi.pc, CMake package, man pages" ||
  ko "installed: every expected file" "$T/missing"
sort "$BUILD/install_manifest.txt" >"$T/manifest"
(cd / && find "$P" ! -type d | sort) >"$T/found"
if cmp -s "$T/manifest" "$T/found"; then
  ok "the prefix holds exactly the $(wc -l <"$T/manifest") files of install_manifest.txt"
else
  diff "$T/manifest" "$T/found" >"$T/diff"
  ko "the prefix holds exactly the files of install_manifest.txt" "$T/diff"
fi
version=$("$P/bin/modffi" --version | awk '{ print $2 }')
[ "$version" = "$(pkg-config --modversion modffi)" ] &&
  ok "modffi --version = pkg-config --modversion = $version" ||
  ko "modffi --version ($version) = pkg-config --modversion"

# -- pkg-config ------------------------------------------------------------------
c=$(pkg-config --cflags modffi) l=$(pkg-config --libs modffi) s=$(pkg-config --static --libs modffi)
[[ " $c " == *" -I$P/include "* ]] && ok "pkg-config --cflags: -I$P/include" ||
  ko "pkg-config --cflags ($c)"
[[ " $l " == *" -L$P/lib -lmodffi "* ]] && ok "pkg-config --libs: -L$P/lib -lmodffi" ||
  ko "pkg-config --libs ($l)"
miss=""
for d in -lmodffi -lffi -lseccomp -ldl -lpthread; do [[ " $s " == *" $d "* ]] || miss="$miss $d"; done
[ -z "$miss" ] && ok "pkg-config --static --libs: $s" || ko "pkg-config --static --libs lacks$miss ($s)"
[ "$(pkg-config --variable=modffi modffi)" = "$P/bin/modffi" ] &&
  [ "$(pkg-config --variable=sandbox modffi)" = "$P/libexec/modffi/modffi-sandbox" ] &&
  ok "pkg-config variables modffi and sandbox" || ko "pkg-config variables modffi and sandbox"

# -- Man pages, as installed ----------------------------------------------------
for p in 1:modffi 1:modffi-sandbox 3:modffi; do
  sec=${p%%:*} name=${p#*:}
  w=$(man -M "$P/share/man" -w "$sec" "$name" 2>/dev/null)
  if [ "$w" = "$P/share/man/man$sec/$name.$sec" ] &&
    MANWIDTH=80 man -M "$P/share/man" "$sec" "$name" 2>"$T/man.err" | grep -q "^NAME" &&
    [ ! -s "$T/man.err" ]; then
    ok "man -M $P/share/man $sec $name"
  else
    ko "man -M $P/share/man $sec $name (found '$w')" "$T/man.err"
  fi
done
# The example of modffi(3), built as its page says and run.
awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { if (on) exit } on' \
  "$P/share/man/man3/modffi.3" | sed 's/\\e/\\/g' >"$T/pow.c"
# shellcheck disable=SC2046
if cc -o "$T/pow" "$T/pow.c" $(pkg-config --cflags --libs modffi) -Wl,-rpath,"$P/lib" \
  >"$T/cc.err" 2>&1 && [ "$("$T/pow")" = 1.4142135623730951 ]; then
  ok "modffi(3)'s example builds with pkg-config and prints 1.4142135623730951"
else
  ko "modffi(3)'s example builds and runs" "$T/cc.err"
fi

# A libffi program linked with the installed -lmodffi_ffi instead of -lffi.
if [ -e "$P/lib/libmodffi_ffi.so" ]; then
  cat >"$T/lffi.c" <<'EOF'
#include <ffi.h>
#include <math.h>
#include <stdio.h>
int main(void) {
  ffi_cif cif;
  ffi_type *a[] = {&ffi_type_double, &ffi_type_double};
  double x = 2, y = 0.5, r;
  void *v[] = {&x, &y};
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_double, a) != FFI_OK)
    return 1;
  ffi_call(&cif, FFI_FN(pow), &r, v);
  printf("%.17g\n", r);
  return 0;
}
EOF
  # shellcheck disable=SC2046
  if cc -o "$T/lffi" "$T/lffi.c" $(pkg-config --cflags libffi) -L"$P/lib" \
    -lmodffi_ffi -Wl,-rpath,"$P/lib" -lm >"$T/cc.err" 2>&1 &&
    [ "$("$T/lffi")" = 1.4142135623730951 ]; then
    ok "a libffi program linked with the installed -lmodffi_ffi runs"
  else
    ko "a libffi program linked with the installed -lmodffi_ffi runs" "$T/cc.err"
  fi
fi

# -- The package's version rules (SameMajorVersion) -------------------------------
IFS=. read -r vmaj vmin _ <<<"$version"
cat >"$T/vrule.cmake" <<'EOF'
# What find_package(modffi V) decides: PACKAGE_VERSION_COMPATIBLE.
string(REPLACE "." ";" parts "${PACKAGE_FIND_VERSION}")
list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
include(${V})
if(PACKAGE_VERSION_COMPATIBLE)
  message("TRUE")
else()
  message("FALSE")
endif()
EOF
vrule() { # vrule REQUESTED: prints TRUE or FALSE
  cmake -DPACKAGE_FIND_VERSION="$1" -DV="$P/lib/cmake/modffi/modffiConfigVersion.cmake" \
    -P "$T/vrule.cmake" 2>&1
}
[ "$(vrule "$vmaj.$vmin")" = TRUE ] && [ "$(vrule "$vmaj.0")" = TRUE ] &&
  [ "$(vrule "$vmaj.$((vmin + 1))")" = FALSE ] && [ "$(vrule "$((vmaj + 1)).0")" = FALSE ] &&
  ok "modffiConfigVersion: $vmaj.$vmin and $vmaj.0 accepted, $vmaj.$((vmin + 1)) and $((vmaj + 1)).0 refused" ||
  ko "modffiConfigVersion: version rules"

# modffi_add_binding() refuses what it cannot do, saying why.
misuse() { # misuse EXPECTED-TEXT ARGS...
  local want=$1
  shift
  printf 'include("%s")\nmodffi_add_binding(%s)\n' \
    "$P/lib/cmake/modffi/modffiAddBinding.cmake" "$*" >"$T/misuse.cmake"
  ! cmake -P "$T/misuse.cmake" >"$T/misuse.log" 2>&1 && grep -q "$want" "$T/misuse.log"
}
misuse "unknown arguments: HEADR" zlib HEADR zlib.h &&
  misuse "NAME must be a C identifier" 9lives HEADER zlib.h &&
  misuse "HEADER is required" zlib ONLY "^crc" &&
  misuse "no target modffi::cli" zlib HEADER zlib.h &&
  ok "modffi_add_binding: unknown argument, bad NAME, no HEADER, no package: each an error" ||
  ko "modffi_add_binding: misuse is an error that says why" "$T/misuse.log"

# -- The consumer, out of the tree ------------------------------------------------
cp -r "$ROOT/tests/consumer" "$T/src"
texts=(123456789 Wikipedia "modffi consumer")
# runall LABEL DIR PROGRAM DIRECT: every strategy against direct mode.
runall() {
  local label=$1 prog=$2 direct=$3 s
  "$direct" none "${texts[@]}" >"$T/direct.out" 2>&1
  for s in dynamic static remote checked; do
    if "$prog" "$s" "${texts[@]}" >"$T/$s.out" 2>&1 && cmp -s "$T/direct.out" "$T/$s.out"; then
      ok "$label: $s == direct"
    else
      diff "$T/direct.out" "$T/$s.out" >"$T/diff"
      ko "$label: $s == direct" "$T/diff"
    fi
  done
}
# The oracle itself: standard check values (CRC-32 and Adler-32 of the
# texts), and the header's version.
direct_ok() {
  grep -qx "123456789: crc32 cbf43926 adler32 091e01de" "$T/direct.out" &&
    grep -qx "Wikipedia: crc32 adaac02e adler32 11e60398" "$T/direct.out" &&
    grep -qE "^zlib ([0-9.]+), header \1$" "$T/direct.out"
}
mt() { stat -c %Y.%y "$1" 2>/dev/null; }

# CMake, linking modffi::modffi, then modffi::modffi_static. zlib.h and the
# zconf.h it includes are read from copies, first on the include path through
# CMAKE_C_FLAGS, so that the dependency tests below can touch them.
mkdir -p "$T/inc" && cp /usr/include/zlib.h /usr/include/zconf.h "$T/inc/"
# With Ninja too when it is installed (the Makefile generator is CMake's
# default, and the one CI is sure to have).
variants="shared static"
command -v ninja >/dev/null && variants="$variants ninja"
for variant in $variants; do
  B=$T/cmake-$variant
  opt=OFF gen=()
  [ $variant = static ] && opt=ON
  [ $variant = ninja ] && gen=(-G Ninja)
  if cmake "${gen[@]}" -S "$T/src" -B "$B" -DCMAKE_PREFIX_PATH="$P" -DZCHECK_STATIC=$opt \
    -DCMAKE_C_FLAGS="-I$T/inc" >"$T/cfg.log" 2>&1 &&
    cmake --build "$B" -j 2 >"$T/build.log" 2>&1; then
    ok "CMake consumer ($variant): find_package(modffi $vmaj.$vmin) and modffi_add_binding build it"
  else
    ko "CMake consumer ($variant) builds" "$T/build.log"
    cat "$T/cfg.log" >>"$T/build.log"
    continue
  fi
  runall "CMake consumer ($variant)" "$B/zcheck" "$B/zcheck_direct"
  direct_ok && ok "CMake consumer ($variant): direct mode gives zlib's check values" ||
    ko "CMake consumer ($variant): direct mode gives zlib's check values" "$T/direct.out"
  if [ $variant != static ]; then
    ldd "$B/zcheck" | grep -q "libmodffi.so.* => $P/lib/" &&
      ok "CMake consumer ($variant) loads $P/lib/libmodffi.so" ||
      { ldd "$B/zcheck" >"$T/ldd"; ko "CMake consumer ($variant) loads the installed libmodffi.so" "$T/ldd"; }
  else
    ! ldd "$B/zcheck" | grep -q libmodffi &&
      ok "CMake consumer (static) does not load libmodffi.so" ||
      ko "CMake consumer (static) does not load libmodffi.so"
  fi
done

# The binding's dependencies (in the shared build): nothing to do when nothing
# changed; regenerated when the annotations, the header (found through the
# depfile of the preprocessor run) or modffi change.
B=$T/cmake-shared
H=$B/zlib_mffi/zlib_mffi.h
if [ -f "$H" ]; then
  # regen [FILE]: touch FILE, rebuild; prints "regenerated", "kept" or
  # "build failed".
  regen() {
    local before
    before=$(mt "$H")
    sleep 1.1 # Time stamps of one second on some file systems.
    [ -n "${1:-}" ] && touch "$1"
    if ! cmake --build "$B" -j 2 >"$T/rebuild.log" 2>&1; then
      echo "build failed"
    elif [ "$(mt "$H")" != "$before" ]; then
      echo regenerated
    else
      echo kept
    fi
  }
  expect() { # expect WANT WHAT [FILE]
    local got
    got=$(regen "${3:-}")
    [ "$got" = "$1" ] && ok "$2: $1" || ko "$2: $1, not $got" "$T/rebuild.log"
  }
  expect kept "nothing changed"
  expect regenerated "an ANNOTATE file changed" "$T/src/zlib_annotate.h"
  expect regenerated "modffi changed" "$P/bin/modffi"
  grep -q "$T/inc/zlib.h" "$B/zlib_mffi/zlib_mffi.d" &&
    ok "the depfile names the header the preprocessor read ($T/inc/zlib.h)" ||
    ko "the depfile names the header the preprocessor read" "$B/zlib_mffi/zlib_mffi.d"
  expect regenerated "the header changed" "$T/inc/zlib.h"
  expect regenerated "a header it includes changed" "$T/inc/zconf.h"
  expect kept "nothing changed since"
  "$B/zcheck" remote "${texts[@]}" | cmp -s - "$T/direct.out" &&
    ok "rebuilt: remote == direct" || ko "rebuilt: remote == direct"
fi

# What the preprocessor of modffi_add_binding() sees (tests/consumer/probe):
# the target's include directories, definitions (its own, set after the
# call, and a linked target's), compile options and language mode; a new
# mode regenerates the binding, a reconfigure that changes nothing does not.
B=$T/probe
probe_fns() { grep -oE '\bprobe_[a-z0-9]+\(' "$B/probe_mffi/probe_mffi.h" | tr -d '(' | sort -u | tr '\n' ' '; }
if cmake -S "$T/src/probe" -B "$B" -DCMAKE_PREFIX_PATH="$P" >"$T/probe.log" 2>&1 &&
  cmake --build "$B" --target probe_mffi_gen >>"$T/probe.log" 2>&1; then
  want="probe_c99 probe_def probe_gnu probe_iface probe_inc probe_uchar probe_value "
  [ "$(probe_fns)" = "$want" ] && ok "binding preprocessed with the target's flags and C_STANDARD 99 (gnu): $want" ||
    { probe_fns >"$T/got"; ko "binding preprocessed with the target's flags: $want" "$T/got"; }
  before=$(mt "$B/probe_mffi/probe_mffi.h")
  sleep 1.1
  cmake -S "$T/src/probe" -B "$B" >>"$T/probe.log" 2>&1 &&
    cmake --build "$B" --target probe_mffi_gen >>"$T/probe.log" 2>&1
  [ "$(mt "$B/probe_mffi/probe_mffi.h")" = "$before" ] && ok "reconfigured, nothing changed: not regenerated" ||
    ko "reconfigured, nothing changed: not regenerated" "$T/probe.log"
  cmake -S "$T/src/probe" -B "$B" -DPROBE_ISO=ON >>"$T/probe.log" 2>&1 &&
    cmake --build "$B" --target probe_mffi_gen >>"$T/probe.log" 2>&1
  want="probe_c99 probe_def probe_iface probe_inc probe_iso probe_uchar probe_value "
  [ "$(probe_fns)" = "$want" ] && ok "C_EXTENSIONS OFF: regenerated in ISO mode: $want" ||
    { probe_fns >"$T/got"; ko "C_EXTENSIONS OFF: regenerated in ISO mode: $want" "$T/got"; }
else
  ko "the probe binding generates" "$T/probe.log"
fi

# The Makefile and pkg-config.
if make -C "$T/src" >"$T/make.log" 2>&1; then
  ok "Makefile consumer: built with pkg-config (shared, static, direct)"
  for v in shared static; do
    runall "Makefile consumer ($v)" "$T/src/zcheck_$v" "$T/src/zcheck_direct"
  done
  direct_ok && ok "Makefile consumer: direct mode gives zlib's check values" ||
    ko "Makefile consumer: direct mode gives zlib's check values" "$T/direct.out"
  ! ldd "$T/src/zcheck_static" | grep -q libmodffi &&
    ok "Makefile consumer (static) does not load libmodffi.so" ||
    ko "Makefile consumer (static) does not load libmodffi.so"
else
  ko "Makefile consumer: built with pkg-config" "$T/make.log"
fi

# The project of README.md's "Using modffi from another project", from the
# text alone: its C blocks (named by their first comment), its CMake and
# Makefile blocks.
R=$T/readme
mkdir -p "$R"
awk -v dir="$R" '
  /^## Using modffi from another project/ { on = 1; next }
  on && /^## / { exit }
  on && /^```(c|cmake|make)$/ { kind = substr($0, 4); n = 0; f = ""; next }
  on && /^```$/ { kind = ""; next }
  on && kind != "" {
    if (kind == "c" && n == 0) { f = $2; sub(/:$/, "", f) }
    if (kind == "cmake") f = "CMakeLists.txt"
    if (kind == "make") f = "Makefile"
    n++
    print > (dir "/" f)
  }' "$ROOT/README.md"
ls "$R" >"$T/readme.files"
if [ "$(tr '\n' ' ' <"$T/readme.files")" = "CMakeLists.txt Makefile app.c zlib_annotate.h " ]; then
  ok "README: app.c, zlib_annotate.h, CMakeLists.txt and Makefile taken from its text"
else
  ko "README: the four files taken from its text" "$T/readme.files"
fi
readme_runs() { # readme_runs LABEL APP
  local s bad=""
  for s in dynamic static remote checked; do
    "$2" "$s" hello >"$T/app.out" 2>&1 && grep -qxE "zlib [0-9.]+: crc32 3610a686" "$T/app.out" ||
      bad="$bad $s"
  done
  [ -z "$bad" ] && ok "$1: prints crc32 3610a686 under dynamic, static, remote, checked" ||
    ko "$1: prints crc32 3610a686 under$bad" "$T/app.out"
}
cp -r "$R" "$T/readme-make"
if cmake -S "$R" -B "$R/build" -DCMAKE_PREFIX_PATH="$P" >"$T/readme.log" 2>&1 &&
  cmake --build "$R/build" >>"$T/readme.log" 2>&1; then
  ok "README's CMake project builds"
  readme_runs "README's CMake project" "$R/build/app"
else
  ko "README's CMake project builds" "$T/readme.log"
fi
if make -C "$T/readme-make" >"$T/readme.log" 2>&1; then
  ok "README's Makefile builds"
  readme_runs "README's Makefile project" "$T/readme-make/app"
else
  ko "README's Makefile builds" "$T/readme.log"
fi

# The remote strategy found the installed sandbox by itself: without it, it
# fails, naming what it looked for.
mv "$P/libexec/modffi/modffi-sandbox" "$T/sandbox.away"
for prog in "$T/cmake-shared/zcheck" "$T/src/zcheck_static"; do
  if ! "$prog" remote x >"$T/o" 2>&1 && grep -q "cannot find modffi-sandbox" "$T/o"; then
    ok "$(basename "$prog"): remote without $P/libexec/modffi/modffi-sandbox fails"
  else
    ko "$(basename "$prog"): remote without the installed sandbox fails" "$T/o"
  fi
done
mv "$T/sandbox.away" "$P/libexec/modffi/modffi-sandbox"

# -- Uninstall ---------------------------------------------------------------------
mkdir -p "$P/share/doc" && echo other >"$P/share/doc/not-modffi.txt"
if make --no-print-directory uninstall BUILD="$BUILD" >"$T/uninstall.log" 2>&1; then
  ok "make uninstall"
else
  ko "make uninstall" "$T/uninstall.log"
fi
(cd / && find "$P" ! -type d) >"$T/left"
if [ "$(cat "$T/left")" = "$P/share/doc/not-modffi.txt" ]; then
  ok "after make uninstall only a file modffi did not install is left"
else
  ko "after make uninstall only a file modffi did not install is left" "$T/left"
fi
[ ! -e "$P/lib/cmake/modffi" ] && [ ! -e "$P/libexec/modffi" ] &&
  ok "modffi's own directories are gone" || ko "modffi's own directories are gone"

finish
