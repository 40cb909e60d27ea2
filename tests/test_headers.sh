#!/usr/bin/env bash
# Parses real headers (cc -E -P output) with `modffi cdef`; gcc judges the
# result. See LICENSE.
#
# For each header H, plain and with -D_GNU_SOURCE:
#   1. `modffi cdef --strict --check` accepts the preprocessed text (nothing
#      skipped);
#   2. our printed functions and variables, appended after `#include <H>`,
#      compile against the real header (every prototype understood);
#   3. our printed declarations of all kinds compile by themselves.
# Also: zlib.h preprocessed with -dD gives Z_OK etc. as constants, and
# valgrind finds no leak or bad access (when not under ASan).
#
# Environment: MODFFI (the CLI), MFFI_SANITIZE (1 under ASan), CC.
# Ends with "N passed, M failed"; exits 1 if M > 0.
set -u

: "${MODFFI:?set MODFFI to the path of the modffi executable}"
CC=${CC:-cc}
HEADERS="stdio.h stdlib.h string.h math.h time.h signal.h unistd.h pthread.h
sys/socket.h netdb.h wchar.h zlib.h expat.h sqlite3.h link.h quadmath.h
unwind.h"
VALGRIND_HEADERS="stdio.h sqlite3.h"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mffi-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
npass=0
nfail=0

pass() {
  npass=$((npass + 1))
  echo "ok - $*"
}

fail() {
  nfail=$((nfail + 1))
  echo "FAIL - $*"
}

# The first lines of a log, indented.
show() {
  sed -n '1,15p' "$1" | sed 's/^/    /'
}

# gcc's first errors in log $1, each followed by the source line it names.
show_errors() {
  grep -E ':[0-9]+:[0-9]+: error:' "$1" | head -n 8 | while IFS= read -r e; do
    echo "    $e"
    local file line
    file=${e%%:*}
    line=$(echo "$e" | cut -d: -f2)
    if [ -f "$file" ]; then
      echo "      | $(sed -n "${line}p" "$file" | cut -c1-300)"
    fi
  done
}

# Compile $2 with cc flags $1 (-fsyntax-only); pass when gcc reports no
# error. Warnings are tolerated.
compiles() {
  local flags=$1 file=$2 log=$2.log
  # shellcheck disable=SC2086
  $CC -std=gnu11 $flags -fsyntax-only "$file" >"$log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] && ! grep -q ': error:' "$log"
}

check_header() {
  local h=$1 def=$2
  local tag="$h${def:+ $def}"
  local base
  base=$tmp/$(echo "$h$def" | tr '/ =' '___')

  # shellcheck disable=SC2086 # $def is empty or one flag.
  if ! echo "#include <$h>" | $CC $def -E -P - >"$base.i" 2>"$base.cpp.log"; then
    fail "$tag: cc -E failed (is the -dev package installed?)"
    show "$base.cpp.log"
    return
  fi

  if "$MODFFI" cdef --strict --check "$base.i" >"$base.check.log" 2>&1; then
    pass "$tag: cdef --check"
  else
    fail "$tag: cdef --check"
    show "$base.check.log"
    # Show the offending line when the message has LINE:COL.
    local pos
    pos=$(grep -oE '(^|[^0-9])[0-9]+:[0-9]+:' "$base.check.log" | head -n 1 |
      grep -oE '[0-9]+:[0-9]+')
    if [ -n "$pos" ]; then
      echo "      | $(sed -n "${pos%%:*}p" "$base.i" | cut -c1-300)"
    fi
    return
  fi

  # The same with cc -E's line markers ("# 68 "/usr/include/..."").
  # shellcheck disable=SC2086 # $def is empty or one flag.
  if echo "#include <$h>" | $CC $def -E - >"$base.lm.i" 2>/dev/null &&
    "$MODFFI" cdef --strict --check "$base.lm.i" >"$base.lm.log" 2>&1; then
    pass "$tag: cdef --check of cc -E with line markers"
  else
    fail "$tag: cdef --check of cc -E with line markers"
    show "$base.lm.log"
  fi

  # Our prototypes against the real header: gcc rejects any conflict. The
  # header's function-like macros are undefined first: zlib.h, for one,
  # defines gzgetc(g) as a macro after declaring the function.
  local fv=$base.fv.c
  # shellcheck disable=SC2086 # $def is empty or one flag.
  echo "#include <$h>" | $CC $def -dM -E - 2>/dev/null |
    sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\)(.*/#undef \1/p' \
      >"$base.undef.h"
  if ! {
    echo "#include <$h>"
    cat "$base.undef.h"
    "$MODFFI" cdef --strict --print --kinds function,variable "$base.i"
  } >"$fv" 2>"$base.fv.print.log"; then
    fail "$tag: cdef --print --kinds function,variable failed"
    show "$base.fv.print.log"
  elif [ "$(wc -l <"$fv")" -lt "$(($(wc -l <"$base.undef.h") + 2))" ]; then
    fail "$tag: cdef --print --kinds function,variable printed nothing"
    show "$base.fv.print.log"
  elif compiles "$def -Werror=implicit-function-declaration" "$fv"; then
    pass "$tag: printed functions and variables match the header"
  else
    fail "$tag: printed functions and variables conflict with the header"
    show_errors "$fv.log"
  fi

  # All our declarations, alone, are valid C.
  local all=$base.all.c
  if ! "$MODFFI" cdef --strict --print "$base.i" >"$all" 2>"$base.all.print.log" ||
    [ ! -s "$all" ]; then
    fail "$tag: cdef --print failed"
    show "$base.all.print.log"
  elif compiles "$def" "$all"; then
    pass "$tag: printed declarations compile alone"
  else
    fail "$tag: printed declarations do not compile alone"
    show_errors "$all.log"
  fi
}

for h in $HEADERS; do
  check_header "$h" ""
  check_header "$h" "-D_GNU_SOURCE"
done

# -- zlib.h with its macros (-dD): the integer ones become constants. --------
zd=$tmp/zlib_dD.i
if echo '#include <zlib.h>' | $CC -E -P -dD - >"$zd" 2>"$zd.log"; then
  if "$MODFFI" cdef --strict --check "$zd" >"$zd.check.log" 2>&1; then
    pass "zlib.h -dD: cdef --check"
    "$MODFFI" cdef --strict --print --kinds constant "$zd" >"$zd.const" 2>&1
    missing=""
    for kv in Z_OK=0 Z_STREAM_END=1 Z_NEED_DICT=2 Z_ERRNO=-1 Z_BUF_ERROR=-5 \
      Z_DEFLATED=8 Z_FINISH=4 Z_BEST_COMPRESSION=9 Z_NULL=0 MAX_WBITS=15; do
      name=${kv%%=*}
      val=${kv#*=}
      grep -qE "^#define[[:space:]]+${name}[[:space:]]+\(?${val}[uUlL]*\)?;?[[:space:]]*$" \
        "$zd.const" || missing="$missing $name=$val"
    done
    if [ -z "$missing" ]; then
      pass "zlib.h -dD: Z_OK, Z_STREAM_END... are constants"
    else
      fail "zlib.h -dD: constants missing or wrong:$missing"
      grep -E '^#define[[:space:]]+(Z_|MAX_WBITS)' "$zd.const" | head -n 12 |
        sed 's/^/    /'
    fi
    # The function-like and non-integer macros are not constants.
    if grep -qE '^#define[[:space:]]+(deflateInit|ZLIB_VERSION)[[:space:](]' \
      "$zd.const"; then
      fail "zlib.h -dD: a function-like or string macro became a constant"
    else
      pass "zlib.h -dD: function-like and string macros ignored"
    fi
  else
    fail "zlib.h -dD: cdef --check"
    show "$zd.check.log"
  fi
else
  fail "zlib.h -dD: cc -E -dD failed"
  show "$zd.log"
fi

# -- Several headers in one context, as translation units of one program ----
# Each header's own definitions of the glibc types (typedefs of anonymous
# structs such as __fsid_t included) are the same types: accepted. What is
# printed back compiles as one file.
all_i=""
all_lm=""
for h in $HEADERS; do
  b=$tmp/$(echo "$h" | tr '/ =' '___')
  all_i="$all_i $b.i"
  all_lm="$all_lm $b.lm.i"
done
# shellcheck disable=SC2086 # word splitting wanted: one file each.
if "$MODFFI" cdef --strict --check $all_i >"$tmp/all.log" 2>&1 &&
  "$MODFFI" cdef --strict --check $all_lm >>"$tmp/all.log" 2>&1 &&
  "$MODFFI" cdef --strict --check "$tmp/expat.h.i" "$tmp/pthread.h.i" \
    "$tmp/expat.h.i" >>"$tmp/all.log" 2>&1; then
  pass "all headers in one context: cdef --check"
else
  fail "all headers in one context: cdef --check"
  show "$tmp/all.log"
fi
# shellcheck disable=SC2086
if "$MODFFI" cdef --strict --print $all_i >"$tmp/all_print.c" 2>"$tmp/all_print.log" &&
  compiles "" "$tmp/all_print.c"; then
  pass "all headers in one context: printed declarations compile"
else
  fail "all headers in one context: printed declarations compile"
  show "$tmp/all_print.log"
  show_errors "$tmp/all_print.c.log"
fi
if "$MODFFI" gen --name eb --header expat.h --cdef "$tmp/expat.h.i" \
  --cdef "$tmp/pthread.h.i" --only '^(XML_ParserCreate|pthread_self)$' \
  -o "$tmp/ebgen" >"$tmp/ebgen.log" 2>&1 && [ -s "$tmp/ebgen/eb_mffi.h" ]; then
  pass "gen --cdef expat.i --cdef pthread.i"
else
  fail "gen --cdef expat.i --cdef pthread.i"
  show "$tmp/ebgen.log"
fi
# A real conflict still fails, naming both positions (line markers: files).
cf=$tmp/conflict
mkdir -p "$cf"
printf 'typedef struct { int a; } cf_t;\n' >"$cf/cf_a.h"
printf '\ntypedef struct { long a; } cf_t;\n' >"$cf/cf_b.h"
echo '#include "cf_a.h"' | $CC -E -I"$cf" - >"$cf/a.i" 2>/dev/null
echo '#include "cf_b.h"' | $CC -E -I"$cf" - >"$cf/b.i" 2>/dev/null
if ! "$MODFFI" cdef --strict --check "$cf/a.i" "$cf/b.i" >"$cf/log" 2>&1 &&
  grep -q "$cf/cf_b.h:2:28: conflicting types for 'cf_t'; the previous declaration is at $cf/cf_a.h:1:27" "$cf/log"; then
  pass "a real conflict between headers names both positions"
else
  fail "a real conflict between headers names both positions"
  show "$cf/log"
fi

# -- Errors name the header and line that line markers give ------------------
lm=$tmp/lm
mkdir -p "$lm"
printf 'int ok1;\n/* two */\nint bad bad;\n' >"$lm/bad_mffi.h"
printf '#include "bad_mffi.h"\n' | $CC -E -I"$lm" - >"$lm/bad.i" 2>/dev/null
"$MODFFI" cdef --strict --check "$lm/bad.i" >"$lm/check.log" 2>&1
if grep -q "^modffi: $lm/bad_mffi.h:3:9: expected ';' near 'bad'" "$lm/check.log"; then
  pass "line markers: cdef --check names the header's file and line"
else
  fail "line markers: cdef --check names the header's file and line"
  show "$lm/check.log"
fi
"$MODFFI" gen --name lmb --header "$lm/bad_mffi.h" -o "$lm/out" >"$lm/gen.log" 2>&1
if grep -q "$lm/bad_mffi.h:3:9: expected ';'" "$lm/gen.log"; then
  pass "line markers: gen names the header's file and line"
else
  fail "line markers: gen names the header's file and line"
  show "$lm/gen.log"
fi

# -- valgrind: no leak, no invalid access --------------------------------------
if [ "${MFFI_SANITIZE:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
  for h in $VALGRIND_HEADERS; do
    base=$tmp/$(echo "$h" | tr '/ =' '___')
    if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible \
      --error-exitcode=99 "$MODFFI" cdef --strict --check "$base.i" \
      >"$base.vg.log" 2>&1; then
      pass "$h: valgrind cdef --check"
    else
      fail "$h: valgrind cdef --check"
      show "$base.vg.log"
    fi
  done
else
  echo "# valgrind skipped (sanitizer build or no valgrind)"
fi

echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
