#!/bin/bash
# Tests of `modffi gen` bindings in every mode (issue 10): a static table
# links against whatever subset the library exports; --std; long double
# _Complex; --variadic wrappers; N_mffi_missing(); open on a target with none
# of the functions; --header ./x.h kept as given. Each program is run under
# dynamic, static, remote, checked and in direct mode, and compared with the
# direct build (the C compiler's own call) as the oracle. See LICENSE.
#
# Environment: MODFFI, MFFI_SOURCE_DIR, MFFI_BINARY_DIR, MFFI_SANITIZE.
set -u
MODFFI=${MODFFI:-build/bin/modffi}
MODFFI=$(cd "$(dirname "$MODFFI")" && pwd)/$(basename "$MODFFI") # The test cds.
SRC=${MFFI_SOURCE_DIR:-.}
BIN=${MFFI_BINARY_DIR:-build}
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | head -20; }
SAN=
[ "${MFFI_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined"
WARN="-Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes -Werror"
INC="-I$SRC/include"
LIBS="$BIN/lib/libmodffi.a $(pkg-config --libs libffi libseccomp) -ldl -lpthread"
STRATS="dynamic static remote checked"
export MFFI_SANDBOX="$BIN/bin/modffi-sandbox"
build() { # OUT STD ARGS...: compile and link with -std=STD
  local out=$1 std=$2; shift 2
  $CC -std=$std -O1 $SAN $WARN $INC "$@" -o "$out" 2>"$T/cc.err"
}
# run_all NAME PROG DIRECTPROG: every strategy's output equals direct mode's.
run_all() {
  local n=$1 p=$2 d=$3
  "$d" direct >"$T/$n.direct" 2>&1 || true
  for s in $STRATS; do
    "$p" $s >"$T/$n.$s" 2>&1 || true
    cmp -s "$T/$n.$s" "$T/$n.direct" && ok "$n: $s == direct" ||
      { diff "$T/$n.direct" "$T/$n.$s" >"$T/d" 2>&1; ko "$n: $s == direct" "$T/d"; }
  done
}

# -- Fixture library with a variadic function ----------------------------------
$CC -shared -fPIC -O1 -w -I"$SRC/tests/fixtures" -o "$T/libdynfx.so" \
  "$SRC/tests/fixtures/dynfx.c" || { echo "cannot build fixture"; exit 1; }

# -- Static table: the library's exported subset links ------------------------
# mffi_gen_absent is declared but exported by no library: the static table
# must still link, and only its own calls fail, as under dynamic.
mkdir -p "$T/w"
cat >"$T/w/wk.h" <<'H'
int abs(int);
long labs(long);
int mffi_gen_absent(int);
H
cat >"$T/wk.c" <<'C'
#include <stdio.h>
#include "wk_mffi.h"
int main(int argc, char **argv) {
  (void)argc;
  if (wk_mffi_open_name(argv[1], NULL) != 0) {
    printf("open: %s\n", wk_mffi_errmsg());
    return 1;
  }
  printf("abs %d labs %ld\n", wk_abs(-5), wk_labs(-7L));
#ifndef wk_MFFI_DIRECT
  int r = wk_mffi_gen_absent(1);
  printf("absent %d status %d %s\n", r, wk_mffi_status(), wk_mffi_errmsg());
  for (int i = 0; wk_mffi_missing(i); i++) printf("missing %s\n", wk_mffi_missing(i));
#else
  printf("absent 0 status -9 wk: mffi_gen_absent: not available in the opened target\n");
  printf("missing mffi_gen_absent\n");
#endif
  return 0;
}
C
for lib in "--lib libc.so.6" ""; do
  rm -f "$T"/wk_mffi*
  what="static table links the exported subset (${lib:-no --lib})"
  if (cd "$T/w" && "$MODFFI" gen --name wk --header ./wk.h --cdef wk.h $lib -o "$T" >"$T/o" 2>&1) &&
    build "$T/wkt" c11 -I"$T" -I"$T/w" "$T/wk.c" "$T/wk_mffi.c" "$T/wk_mffi_static.c" $LIBS; then
    ok "$what"
  else
    ko "$what" "$T/cc.err"
  fi
done
grep -q 'int (mffi_gen_absent)(int) __attribute__((weak))' "$T/wk_mffi_static.c" &&
  ok "no --lib: references are weak" || ko "no --lib: references are weak"
(cd "$T/w" && "$MODFFI" gen --name wk --header ./wk.h --cdef wk.h --lib libc.so.6 -o "$T" >"$T/o" 2>&1)
grep -q 'int (abs)(int); /\*' "$T/wk_mffi_static.c" &&
  grep -q 'int (mffi_gen_absent)(int) __attribute__((weak))' "$T/wk_mffi_static.c" &&
  ok "--lib: exported strong, unexported weak" || ko "--lib: exported strong, unexported weak" "$T/wk_mffi_static.c"
build "$T/wkt" c11 -I"$T" -I"$T/w" "$T/wk.c" "$T/wk_mffi.c" "$T/wk_mffi_static.c" $LIBS &&
  build "$T/wkd" c11 -Dwk_MFFI_DIRECT -I"$T" -I"$T/w" "$T/wk.c" &&
  STRATS="dynamic static remote checked" run_all "weak" "$T/wkt" "$T/wkd" ||
  ko "weak: build" "$T/cc.err"

# -- --header ./x.h is kept as given ---------------------------------------------
grep -q '#include "./wk.h"' "$T/wk_mffi.h" && ! grep -rq "$T/w/wk.h" "$T"/wk_mffi* &&
  ok "--header ./x.h included as given" || ko "--header ./x.h included as given" "$T/wk_mffi.h"

# -- sqlite3: the header declares functions Debian's library does not export -----
if [ -f /usr/include/sqlite3.h ] && pkg-config --exists sqlite3; then
  mkdir -p "$T/sq"
  "$MODFFI" gen --name sq --header sqlite3.h --only '^sqlite3_' --lib libsqlite3.so.0 \
    -o "$T/sq" >"$T/o" 2>&1 || ko "sqlite3: gen" "$T/o"
  cat >"$T/sq.c" <<'C'
#include <stdio.h>
#include "sq_mffi.h"
int main(int argc, char **argv) {
  (void)argc;
  if (sq_mffi_open_name(argv[1], NULL) != 0) {
    printf("open: %s\n", sq_mffi_errmsg());
    return 1;
  }
  printf("%s %d\n", sq_sqlite3_libversion(), sq_sqlite3_libversion_number());
  return 0;
}
C
  if build "$T/sqt" c11 -I"$T/sq" "$T/sq.c" "$T/sq/sq_mffi.c" "$T/sq/sq_mffi_static.c" $LIBS \
    $(pkg-config --libs sqlite3) && build "$T/sqd" c11 -Dsq_MFFI_DIRECT -I"$T/sq" "$T/sq.c" \
    $(pkg-config --libs sqlite3); then
    ok "sqlite3 --only '^sqlite3_': static table links"
    STRATS="dynamic static checked" run_all "sqlite3" "$T/sqt" "$T/sqd"
  else
    ko "sqlite3 --only '^sqlite3_': static table links" "$T/cc.err"
  fi
fi

# -- Open on a target with none of the functions ----------------------------------
mkdir -p "$T/z"
"$MODFFI" gen --name z --header zlib.h --only '^(crc32|adler32)$' --lib libz.so.1 -o "$T/z" >"$T/o" 2>&1
cat >"$T/zm.c" <<'C'
#include <stdio.h>
#include "z_mffi.h"
int main(void) {
  int rc = z_mffi_open_name("dynamic", "libm.so.6");
  printf("%d %s\n", rc, z_mffi_errmsg());
  return 0;
}
C
build "$T/zm" c11 -I"$T/z" "$T/zm.c" "$T/z/z_mffi.c" "$T/z/z_mffi_static.c" $LIBS -lz &&
  "$T/zm" >"$T/o" 2>&1
grep -q "^-9 z: open: none of its 2 functions is in libm.so.6" "$T/o" &&
  ok "open on a target with none of the functions fails" || ko "open on a target with none of the functions fails" "$T/o"

# -- --std: the header read in the compile's language mode ------------------------
for std in c11 gnu11; do
  rm -rf "$T/sg"; mkdir -p "$T/sg"
  "$MODFFI" gen --name sg --std $std --header signal.h --only '^(raise|sigaction|sigwaitinfo)$' \
    -o "$T/sg" >"$T/o" 2>&1 || ko "--std $std: gen" "$T/o"
  e=0
  for f in sg_mffi.c sg_mffi_static.c; do
    $CC -std=$std -c $INC $WARN -I"$T/sg" "$T/sg/$f" -o "$T/x.o" >"$T/cc.err" 2>&1 || e=1
  done
  [ $e = 0 ] && ok "--std $std: compiles with -std=$std" || ko "--std $std: compiles with -std=$std" "$T/cc.err"
done
grep -q "sg_sigaction" "$T/sg/sg_mffi.h" && ok "--std gnu11 keeps POSIX declarations" ||
  ko "--std gnu11 keeps POSIX declarations"
rm -rf "$T/sg"; mkdir -p "$T/sg"
"$MODFFI" gen --name sg --header signal.h --only '^(sigaction)$' -o "$T/sg" >"$T/o" 2>&1
! $CC -std=c11 -c $INC $WARN -I"$T/sg" "$T/sg/sg_mffi.c" -o "$T/x.o" >/dev/null 2>&1 &&
  grep -q "regenerate with --std" "$T/sg/sg_mffi.h" &&
  ok "default mode under -std=c11 fails, and the header says why" ||
  ko "default mode under -std=c11 fails, and the header says why"

# -- long double _Complex ------------------------------------------------------------
mkdir -p "$T/cm"
"$MODFFI" gen --name cm --header complex.h --lib libm.so.6 --only '^(csqrtl|cabsl|csqrt)$' \
  -o "$T/cm" >"$T/o" 2>&1 || ko "complex: gen" "$T/o"
cat >"$T/cm.c" <<'C'
#include <stdio.h>
#include "cm_mffi.h"
int main(int argc, char **argv) {
  (void)argc;
  if (cm_mffi_open_name(argv[1], NULL) != 0) return 1;
  long double _Complex r = cm_csqrtl(-4.0L);
  double _Complex d = cm_csqrt(-9.0);
  printf("csqrtl %Lg %Lg cabsl %Lg st %d\n", __real__ r, __imag__ r,
         cm_cabsl(3.0L + 4.0L * (long double _Complex)1.0iF), cm_mffi_status());
  printf("csqrt %g %g\n", __real__ d, __imag__ d);
  return 0;
}
C
if build "$T/cmt" c11 -I"$T/cm" "$T/cm.c" "$T/cm/cm_mffi.c" "$T/cm/cm_mffi_static.c" $LIBS -lm &&
  build "$T/cmd" c11 -Dcm_MFFI_DIRECT -I"$T/cm" "$T/cm.c" -lm; then
  # Returned on the x87 stack, passed in memory: every strategy; without
  # an ABI module that classifies it (MFFI_GENERIC_ABI), the wrappers call
  # it natively under dynamic and static, and remote and checked say why.
  if "$MODFFI" call -l libm.so.6 'long double _Complex csqrtl(long double _Complex)' \
    '{-4, 0}' 2>&1 | grep -q "call engine (libffi) has no description"; then
    STRATS="dynamic static" run_all "long double _Complex" "$T/cmt" "$T/cmd"
    for s in remote checked; do
      "$T/cmt" $s >"$T/o" 2>&1
      grep -q "st -6" "$T/o" && ok "long double _Complex: $s refuses" ||
        ko "long double _Complex: $s refuses" "$T/o"
    done
  else
    STRATS="dynamic static remote checked" run_all "long double _Complex" "$T/cmt" "$T/cmd"
  fi
else
  ko "long double _Complex: build" "$T/cc.err"
fi

# -- --variadic: typed wrappers of variadic functions in every mode ----------------
mkdir -p "$T/va"
"$MODFFI" gen --name va --header dynfx.h --cdef "$SRC/tests/fixtures/dynfx.h" \
  --only '^fx_add$' --variadic 'sum3=fx_sumv(long, long, long)' \
  --variadic 'sum0=fx_sumv()' --lib "$T/libdynfx.so" -o "$T/va" >"$T/o" 2>&1 || ko "variadic: gen" "$T/o"
cat >"$T/va.c" <<'C'
#include <stdio.h>
#include "va_mffi.h"
int main(int argc, char **argv) {
  (void)argc;
  if (va_mffi_open_name(argv[1], argv[2]) != 0) {
    printf("open: %s\n", va_mffi_errmsg());
    return 1;
  }
  printf("sum3 %ld sum0 %ld st %d\n", va_sum3(3, 10L, -3000000000L, 7L),
         va_sum0(0), va_mffi_status());
  return 0;
}
C
if build "$T/vat" c11 -I"$T/va" -I"$SRC/tests/fixtures" "$T/va.c" "$T/va/va_mffi.c" "$T/va/va_mffi_static.c" $LIBS \
  "$T/libdynfx.so" && build "$T/vad" c11 -Dva_MFFI_DIRECT -I"$T/va" -I"$SRC/tests/fixtures" "$T/va.c" "$T/libdynfx.so"; then
  ok "variadic: builds in every mode"
  LD_LIBRARY_PATH="$T" "$T/vad" direct x >"$T/va.direct" 2>&1
  grep -q "^sum3 -2999999983 sum0 0 st 0" "$T/va.direct" && ok "variadic: direct result" ||
    ko "variadic: direct result" "$T/va.direct"
  for s in $STRATS; do
    tg="$T/libdynfx.so"
    [ "$s" = static ] && tg=va
    LD_LIBRARY_PATH="$T" "$T/vat" $s "$tg" >"$T/va.$s" 2>&1
    cmp -s "$T/va.$s" "$T/va.direct" && ok "variadic: $s == direct" || ko "variadic: $s == direct" "$T/va.$s"
  done
else
  ko "variadic: builds in every mode" "$T/cc.err"
fi
# printf-family with long double, through libc (remote's sandbox may not write).
mkdir -p "$T/vp"
"$MODFFI" gen --name vp --header stdio.h --lib libc.so.6 --only '^puts$' \
  --variadic 'fmt_ld=snprintf(long double, int)' -o "$T/vp" >"$T/o" 2>&1 || ko "variadic libc: gen" "$T/o"
cat >"$T/vp.c" <<'C'
#include <stdio.h>
#include "vp_mffi.h"
int main(int argc, char **argv) {
  (void)argc;
  if (vp_mffi_open_name(argv[1], NULL) != 0) return 1;
  char b[64] = "";
  int n = vp_fmt_ld(b, sizeof b, "%.3Lf|%c", 1.5L, 'x');
  printf("%d [%s] st %d\n", n, b, vp_mffi_status());
  return 0;
}
C
if build "$T/vpt" c11 -I"$T/vp" "$T/vp.c" "$T/vp/vp_mffi.c" "$T/vp/vp_mffi_static.c" $LIBS &&
  build "$T/vpd" c11 -Dvp_MFFI_DIRECT -I"$T/vp" "$T/vp.c"; then
  STRATS="dynamic static checked" run_all "variadic snprintf(long double, int)" "$T/vpt" "$T/vpd"
else
  ko "variadic libc: build" "$T/cc.err"
fi
"$MODFFI" gen --name bad --header stdio.h --only '^puts$' --variadic 'x=puts(int)' -o "$T/vp" >"$T/o" 2>&1
grep -q "'puts' is not a declared variadic function" "$T/o" && ok "--variadic on a non-variadic function refused" ||
  ko "--variadic on a non-variadic function refused" "$T/o"
"$MODFFI" gen --name bad --header stdio.h --only '^puts$' --variadic 'x=printf(no_such_t)' -o "$T/vp" >"$T/o" 2>&1
grep -q "type 'no_such_t'" "$T/o" && ok "--variadic with an unknown type refused" ||
  ko "--variadic with an unknown type refused" "$T/o"

# -- Function-like macros: the documented pattern (docs/binding-guide.md) -------
mkdir -p "$T/zd"
"$MODFFI" gen --name zd --header zlib.h --lib libz.so.1 \
  --only '^(deflateInit_|deflate|deflateEnd|crc32)$' -o "$T/zd" >"$T/o" 2>&1 || ko "macro: gen" "$T/o"
cat >"$T/zd.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "zd_mffi.h"
#define zd_deflateInit(s, l) \
  zd_deflateInit_((s), (l), ZLIB_VERSION, (int)sizeof(z_stream))
int main(int argc, char **argv) {
  (void)argc;
  if (zd_mffi_open_name(argv[1], NULL) != 0) return 1;
  static unsigned char in[] = "hello hello hello hello", out[128];
  z_stream s;
  memset(&s, 0, sizeof s);
  int rc = zd_deflateInit(&s, Z_BEST_COMPRESSION);
  s.next_in = in;
  s.avail_in = sizeof in;
  s.next_out = out;
  s.avail_out = sizeof out;
  int rd = zd_deflate(&s, Z_FINISH);
  unsigned long n = sizeof out - s.avail_out;
  printf("init %d deflate %d end %d n %lu crc %lu st %d\n", rc, rd,
         zd_deflateEnd(&s), n, zd_crc32(0, out, (unsigned)n), zd_mffi_status());
  return 0;
}
C
if build "$T/zdt" c11 -I"$T/zd" "$T/zd.c" "$T/zd/zd_mffi.c" "$T/zd/zd_mffi_static.c" $LIBS -lz &&
  build "$T/zdd" c11 -Dzd_MFFI_DIRECT -I"$T/zd" "$T/zd.c" -lz; then
  # Not remote: z_stream points into this process's memory, which a
  # sandboxed zlib cannot follow (remote needs mffi_new buffers).
  STRATS="dynamic static checked" run_all "deflateInit through the binding" "$T/zdt" "$T/zdd"
else
  ko "macro: build" "$T/cc.err"
fi

# -- ms_abi functions and callbacks -------------------------------------------
# The wrappers keep the library's convention (the slow path stands in for
# the function pointer until a native one is bound), callbacks included.
if [ "$(uname -m)" = x86_64 ]; then
  mkdir -p "$T/ms"
  cat >"$T/ms/msl.h" <<'H'
struct msl_s3 { char c[3]; };
long double __attribute__((ms_abi)) msl_f(struct msl_s3 s, long double x, double d, int i);
int __attribute__((ms_abi)) msl_cb(int (__attribute__((ms_abi)) *f)(int), int v);
H
  cat >"$T/ms/msl.c" <<'C'
#include "msl.h"
long double __attribute__((ms_abi)) msl_f(struct msl_s3 s, long double x, double d, int i) {
  return s.c[0] + s.c[1] + s.c[2] + x * d + i;
}
int __attribute__((ms_abi)) msl_cb(int (__attribute__((ms_abi)) *f)(int), int v) {
  return f(v) + f(v + 1);
}
C
  cat >"$T/msu.c" <<'C'
#include <stdio.h>
#include "ms_mffi.h"
static int __attribute__((ms_abi)) twice(int v) { return 2 * v; }
int main(int argc, char **argv) {
  (void)argc;
  if (ms_mffi_open_name(argv[1], NULL) != 0) return 1;
  struct msl_s3 s = {{1, 2, 3}};
  printf("f %Lg cb %d st %d\n", ms_msl_f(s, 2.5L, 4.0, 7), ms_msl_cb(twice, 20),
         ms_mffi_status());
  return 0;
}
C
  $CC -shared -fPIC -O1 -o "$T/ms/libmsl.so" "$T/ms/msl.c" || ko "ms_abi: library"
  "$MODFFI" gen --name ms --header "$T/ms/msl.h" --lib "$T/ms/libmsl.so" \
    -o "$T/ms" >"$T/o" 2>&1 || ko "ms_abi: gen" "$T/o"
  if build "$T/mst" c11 -I"$T/ms" "$T/msu.c" "$T/ms/ms_mffi.c" "$T/ms/ms_mffi_static.c" \
    "$T/ms/libmsl.so" -Wl,-rpath,"$T/ms" $LIBS &&
    build "$T/msd" c11 -Dms_MFFI_DIRECT -I"$T/ms" "$T/msu.c" "$T/ms/libmsl.so" -Wl,-rpath,"$T/ms"; then
    run_all "ms_abi" "$T/mst" "$T/msd"
  else
    ko "ms_abi: build" "$T/cc.err"
  fi
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
