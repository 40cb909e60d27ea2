#!/usr/bin/env bash
# `modffi call`: arguments by type, output in C syntax, errors. See LICENSE.
#
# Calls libc, libm and the fixture library tests/fixtures/dynfx.c (built here
# with cc into a temporary directory, declared by dynfx.h) from the command
# line, on the fast path and with --ffi. Env: MODFFI (the CLI),
# MFFI_SOURCE_DIR. Ends with "N passed, M failed".
set -u

src=${MFFI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
MODFFI=${MODFFI:-$src/build/bin/modffi}
cc=${CC:-cc}
pass=0
fail=0

if [ ! -x "$MODFFI" ]; then
  echo "test_call_cli: no CLI at $MODFFI (set MODFFI)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d /tmp/mffi-call-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! "$cc" -shared -fPIC -O1 -w -I"$src/tests/fixtures" -o "$tmp/libdynfx.so" \
  "$src/tests/fixtures/dynfx.c"; then
  echo "test_call_cli: cannot build the fixture" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
FX=(-l "$tmp/libdynfx.so" --cdef "$src/tests/fixtures/dynfx.h")

ok() {
  pass=$((pass + 1))
}
bad() {
  fail=$((fail + 1))
  echo "FAIL: $*"
}

# expect NAME WANT-STDOUT ARGS...: exit 0 and exactly this output (fast
# path and --ffi).
expect() {
  local name=$1 want=$2
  shift 2
  local out status
  for mode in "" --ffi; do
    out=$("$MODFFI" call $mode "$@" 2>"$tmp/err")
    status=$?
    if [ "$status" -eq 0 ] && [ "$out" = "$want" ]; then
      ok
    else
      bad "$name${mode:+ ($mode)}: exit $status"
      printf '  want: %s\n  got:  %s\n' "$want" "$out"
      sed 's/^/  stderr: /' "$tmp/err" | head -3
    fi
  done
}

# last NAME WANT-LAST-LINE ARGS...: exit 0, last line as given.
last() {
  local name=$1 want=$2
  shift 2
  local out status
  out=$("$MODFFI" call "$@" 2>"$tmp/err")
  status=$?
  if [ "$status" -eq 0 ] && [ "${out##*$'\n'}" = "$want" ]; then
    ok
  else
    bad "$name: exit $status"
    printf '  want last line: %s\n  got: %s\n' "$want" "$out"
    sed 's/^/  stderr: /' "$tmp/err" | head -3
  fi
}

# fails NAME STDERR-PATTERN ARGS...: non-zero exit, message matches.
fails() {
  local name=$1 pat=$2
  shift 2
  local status
  "$MODFFI" call "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ "$status" -ne 0 ] && grep -Eq -- "$pat" "$tmp/err"; then
    ok
  else
    bad "$name: exit $status"
    printf '  want stderr matching: %s\n' "$pat"
    sed 's/^/  stderr: /' "$tmp/err" | head -3
  fi
}

# fails1 NAME STDERR-PATTERN ARGS...: exit status exactly 1, the message
# matches, and nothing on stdout (a refused value never reaches the call).
fails1() {
  local name=$1 pat=$2
  shift 2
  local status
  "$MODFFI" call "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ "$status" -eq 1 ] && [ ! -s "$tmp/out" ] && grep -Eq -- "$pat" "$tmp/err"; then
    ok
  else
    bad "$name: exit $status"
    printf '  want stderr matching: %s\n' "$pat"
    sed 's/^/  stderr: /' "$tmp/err" | head -3
  fi
}

nl=$'\n'

# -- The issue's examples ------------------------------------------------------
expect "puts" "Hello, world${nl}13" -l libc.so.6 'int puts(const char *)' \
  'Hello, world'
expect "pow" "1.4142135623730951" -l libm.so.6 'double pow(double, double)' 2 \
  0.5
expect "frexp out-parameter" "arg2 = 4${nl}0.5" -l libm.so.6 \
  'double frexp(double, int *)' 8 '&0'
expect "default library is the running process" "5" 'int abs(int)' -5
expect "declaration with a semicolon" "3" 'unsigned long strlen(const char *s);' abc
expect "several libraries" "3" -l libm.so.6 -l libc.so.6 \
  'unsigned long strlen(const char *)' abc

# -- Integers --------------------------------------------------------------------
expect "int" "-7" "${FX[@]}" fx_int 7
expect "hex" "-42" "${FX[@]}" fx_int 0x2a
expect "enumerator name as int" "-2" "${FX[@]}" fx_int FX_GREEN
expect "enum in, enum out" "FX_BLUE" "${FX[@]}" fx_enum FX_RED
expect "enum by value" "FX_RED" "${FX[@]}" fx_enum 40000
# Complex values are written {re, im}, as they print; _Float16, _Float128
# and vectors by value travel in SSE registers, which only the fast path
# (not --ffi, libffi has no such values) loads.
expect "complex double" "{0, 3}" -l libm.so.6 'double _Complex csqrt(double _Complex)' '{-9, 0}'
expect "complex long double" "{0, 2}" -l libm.so.6 \
  'long double _Complex csqrtl(long double _Complex)' '{-4, 0}'
expect "complex int" "{-4, -70000}" "${FX[@]}" fx_cint '{70000, -5}'
expect "complex long double in memory, out on x87" "{1, -0.5}" "${FX[@]}" fx_lc '{0.5, -2}' 3
fails1 "complex without braces" "'\\{' expected for a complex value" "${FX[@]}" fx_cint 5
last "_Float16" "3.25" "${FX[@]}" fx_h 3.5 0.25
last "_Float128 to its last digit" "0.333333333333333333333333333333333317" "${FX[@]}" fx_q 1 3
last "_Float16 complex" "{3, -1.5}" "${FX[@]}" fx_hc '{1.5, 2}'
last "vector of 4 floats" "{0, 1, 2, 3.5}" "${FX[@]}" fx_v_f16 '{1, 2, 3, 4.5}' '{1, 1, 1, 1}'
last "struct holding a vector" "{.v = {0, 1, 2, 3}}" "${FX[@]}" fx_v_sv '{{1,2,3,4}}' '{{1,1,1,1}}'
fails1 "vector over 16 bytes" "holds a vector of over 16 bytes" "${FX[@]}" fx_v_d32 '{1}' '{1}'
fails1 "_Float16 through libffi" "libffi cannot return '_Float16' by value" --ffi "${FX[@]}" fx_h 1 2
expect "char literal" "66" "${FX[@]}" fx_char "'A'"
expect "char is printed in decimal" "-128" "${FX[@]}" fx_char 127
expect "_Bool" "1" "${FX[@]}" fx_bool 0
expect "unsigned long long" "18446744073709551614" "${FX[@]}" fx_ullong \
  9223372036854775807
expect "long long min" "-9223372036854775808" "${FX[@]}" fx_llong \
  -9223371036854775808
expect "small args extended" "31" "${FX[@]}" fx_sext -5 -300 250 65000 1
expect "many args" "$((1 + 2*2 + 3*3 + 4*4 + 5*5 + 6*6 + 7*7 + 8*8 + 9*9 + 10*10))" \
  "${FX[@]}" fx_int10 1 2 3 4 5 6 7 8 9 10

# -- Floating ----------------------------------------------------------------------
expect "float 9 digits" "0.550000012" "${FX[@]}" fx_float 1.1
expect "double 17 digits" "0.010000000000000002" "${FX[@]}" fx_double 0.1
expect "hex float" "64" "${FX[@]}" fx_double 0x1p3
expect "inf" "inf" "${FX[@]}" fx_double -inf
expect "nan" "nan" "${FX[@]}" fx_float nan
expect "long double" "0.5" "${FX[@]}" fx_ldouble 1.5
expect "mixed20" "$("$MODFFI" call --ffi "${FX[@]}" fx_mixed20 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20)" \
  "${FX[@]}" fx_mixed20 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20

# -- Pointers and strings -------------------------------------------------------------
expect "pointer in hex" "0x1001" "${FX[@]}" fx_ptr 0x1000
expect "NULL" "0x1" "${FX[@]}" fx_ptr NULL
expect "C string literal" "3" 'unsigned long strlen(const char *)' '"a\tb"'
expect "text as is" "4" 'unsigned long strlen(const char *)' 'a\tb'
expect "void prints nothing" "arg1 = 1234" "${FX[@]}" fx_void '&0'
expect "&{array}" "arg1 = {1, 2, 3, 4}${nl}10" "${FX[@]}" fx_sum_arr '&{1, 2, 3, 4}' 4
expect "&{array} out" "arg1 = {3, 2, 1}" "${FX[@]}" fx_rev_arr '&{1, 2, 3}' 3
expect "&struct" "arg1 = {.x = 3, .y = 4}${nl}0x0" \
  --cdef "$src/tests/fixtures/dynfx.h" \
  'void *memchr(const struct fx_pt *, int, unsigned long)' '&{3, 4}' 0 0
expect "variable" "42" "${FX[@]}" fx_counter

# -- Aggregates ----------------------------------------------------------------------
expect "designated" "{.x = 2, .y = 1}" "${FX[@]}" fx_pt_swap '{.x = 1, .y = 2}'
expect "positional" "{.x = -6, .y = 5}" "${FX[@]}" fx_pt_swap '{5, -6}'
expect "mixed designators" "{.x = 9, .y = 0}" "${FX[@]}" fx_pt_swap '{.y = 9}'
expect "int/float struct" "{.i = 8, .f = 2.5, .d = -1.25}" "${FX[@]}" \
  fx_mix_inc '{7, 1.5, -2.25}'
expect "char array member" "{.c = \"bcd\"}" "${FX[@]}" fx_c3_inc '{"abc"}'
expect "array member braces" "{.c = \"\\002\\003\\004\"}" "${FX[@]}" fx_c3_inc '{{1, 2, 3}}'
expect "bit-fields" "{.a = 6, .b = -4, .c = 1003, .d = -14}" "${FX[@]}" \
  fx_bits_inc '{.a = 5, .b = -3, .c = 1000, .d = -7}'
expect "memory-class struct" "{.a = {2, 4, 6, 8, 10}}" "${FX[@]}" fx_big_inc \
  '{.a = {1, 2, 3, 4, 5}}'
expect "index designators" "{.a = {1, 2, 10, 4, 5}}" "${FX[@]}" fx_big_inc \
  '{.a = {[2] = 7}}'
expect "union" "{.d = 4.9406564584124654e-324}" "${FX[@]}" fx_u_inc '{.l = 0}'
expect "nested" "{.p = {.x = 2, .y = 2}, .u = {.f = {1, 2, 6}}}" "${FX[@]}" \
  fx_nest_inc '{.p = {1, 2}, .u = {.f = {1, 2, 3}}}'
expect "struct and double" "{.x = 3, .y = -4}" "${FX[@]}" fx_pd_scale \
  '{.x = 1.5, .y = -2}' 2
expect "packed" "{.c = 98, .i = 8}" "${FX[@]}" fx_pk_inc "{'a', 7}"

# -- Variadic -------------------------------------------------------------------------
expect "snprintf" "10" 'int snprintf(char *, unsigned long, const char *, ...)' \
  NULL 0 '%d-%s-%g' 42 abc 1.5
expect "variadic mix" "3.5" "${FX[@]}" fx_vmix id 1 1.25
expect "printf output" "7 x 2.5${nl}8" 'int printf(const char *, ...)' \
  $'%d %s %g\n' 7 x 2.5

# -- Errors ---------------------------------------------------------------------------
fails "unknown symbol names the libraries" \
  "symbol 'nosuch' not found in libm.so.6, libc.so.6" -l libm.so.6 \
  -l libc.so.6 'int nosuch(void)'
fails "undeclared name" "'fx_nothing' is not declared" "${FX[@]}" fx_nothing
fails "unknown library" "cannot open 'libnope-mffi.so'" -l libnope-mffi.so \
  'int f(void)'
fails "too few arguments" "takes 2 arguments, 1 given" -l libm.so.6 \
  'double pow(double, double)' 2
fails "too many arguments" "takes 1 argument, 2 given" 'int abs(int)' 1 2
fails "does not fit" "does not fit" "${FX[@]}" fx_schar 200
fails "does not fit unsigned" "does not fit" "${FX[@]}" fx_uchar -1
fails "does not fit float" "does not fit" "${FX[@]}" fx_float 1e39
fails "not a number" "not a valid floating literal" "${FX[@]}" fx_double 1.5x
fails "not an integer" "not an integer" "${FX[@]}" fx_int twelve
fails "no such member" "no member 'z'" "${FX[@]}" fx_pt_swap '{.z = 1}'
fails "too many initializers" "too many initializers" "${FX[@]}" fx_pt_swap \
  '{1, 2, 3}'
fails "bit-field range" "does not fit" "${FX[@]}" fx_bits_inc '{.a = 8}'
fails "bad declaration" "declaration" 'int (('
fails "unknown option" "unknown option" --frobnicate 'int abs(int)' 1
fails "missing operand" "missing DECL-OR-NAME" -l libc.so.6
fails "unknown strategy" "unknown strategy 'nope'" --strategy nope \
  'int abs(int)' 1
fails "&INIT for void *" "complete object type" \
  'void *memset(void *, int, unsigned long)' '&1' 0 1

# -- Hostile initializers: every index, length and depth is checked ---------
UTS='struct utsname { char sysname[65]; char nodename[65]; char release[65];
  char version[65]; char machine[65]; char domainname[65]; };
  int uname(struct utsname *)'
bounds="exceeds array bounds"
fails1 "wild designator index" "array index 100000000 in initializer $bounds" \
  -l libc.so.6 "$UTS" '&{.sysname[100000000] = 1}'
fails1 "designator one past the end" "array index 65 in initializer $bounds" \
  -l libc.so.6 "$UTS" '&{.sysname[65] = 1}'
fails1 "index past the end" "array index 65 in initializer $bounds" \
  -l libc.so.6 "$UTS" '&{.sysname = {[65] = 1}}'
fails1 "index beyond 2^64" "$bounds" -l libc.so.6 "$UTS" \
  '&{.release = {[99999999999999999999999] = 1}}'
fails1 "nested array index" "array index 3 in initializer $bounds" \
  'struct m { int a[2][3]; }; int abs(struct m *)' '&{.a[1][3] = 1}'
fails1 "nested array, inner list" "array index 7 in initializer $bounds" \
  'struct m { int a[2][3]; }; int abs(struct m *)' '&{.a = {[1] = {[7] = 1}}}'
fails1 "too many in a nested array" "too many initializers" \
  'struct m { int a[2][3]; }; int abs(struct m *)' '&{.a = {{1, 2, 3, 4}}}'
fails1 "string too long" "string too long for char\[65\]" -l libc.so.6 "$UTS" \
  "&{.machine = \"$(printf 'x%.0s' {1..66})\"}"
fails1 "flexible array, list" "flexible array member" \
  'struct f { int n; int a[]; }; int abs(struct f *)' '&{.a = {1, 2}}'
fails1 "flexible array, positional string" "flexible array member" \
  'struct f { int n; char a[]; }; int abs(struct f *)' '&{1, "abc"}'
fails1 "flexible array, designator" "flexible array member 'a'" \
  'struct f { int n; int a[]; }; int abs(struct f *)' '&{.a[0] = 1}'
deep=$(printf '{.next = &%.0s' {1..300})'{}'$(printf '}%.0s' {1..300})
fails1 "deep &INIT chain" "nested too deeply" \
  'struct n { struct n *next; }; int abs(struct n *)' "&$deep"
fails1 "huge &INIT object" "too large" \
  'struct big { char a[1000000000000]; }; int abs(struct big *)' '&{}'
fails1 "huge by-value argument" "1000000000000 bytes is over the limit" \
  'struct big { char a[1000000000000]; }; int abs(struct big)' '{}'
expect "the last element is in bounds" \
  "arg1 = {.a = {{0, 0, 0}, {0, 0, 7}}, .s = \"x\"}${nl}0x0" -l libc.so.6 \
  'struct m { int a[2][3]; char s[2]; };
   void *memchr(struct m *, int, unsigned long)' \
  '&{.a[1][2] = 7, .s = "x"}' 0 0

# -- C's rules for arguments, results and errors (issue 10) ---------------------
# The oracle: a C program compiled here prints what C makes of each value.
cat >"$tmp/oracle.c" <<'EOC'
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
int main(void) {
  printf("%d|%zu\n", O_CREAT | O_WRONLY, sizeof(struct stat));
  printf("%c|%zu|%Lf|%d|%f|%s\n", 'a', (size_t)3, (long double)1.5, (char)65,
         1.5f, "a,b");
  printf("%ld|%u|%d\n", 5000000000, 7u, '\377');
  return 0;
}
EOC
printf '#include <fcntl.h>\n#include <sys/stat.h>\n#include <stdio.h>\n' |
  "$cc" -E -P -dD -x c - >"$tmp/fcntl.i"
if "$cc" -o "$tmp/oracle" "$tmp/oracle.c" && "$tmp/oracle" >"$tmp/oracle.out"; then
  o1=$(sed -n 1p "$tmp/oracle.out")
  o2=$(sed -n 2p "$tmp/oracle.out")
  o3=$(sed -n 3p "$tmp/oracle.out")
  expect "constant expressions as values" "$o1${nl}$((${#o1} + 1))" \
    --cdef "$tmp/fcntl.i" 'int printf(const char *, ...)' '"%d|%zu\n"' 'O_CREAT|O_WRONLY' \
    'sizeof(struct stat)'
  expect "variadic casts, character constants, float suffix" \
    "$o2${nl}$((${#o2} + 1))" \
    'int printf(const char *, ...)' '"%c|%zu|%Lf|%d|%f|%s\n"' "'a'" '(size_t)3' \
    '(long double)1.5' '(char)65' 1.5f '"a,b"'
  expect "variadic literals take C's types" "$o3${nl}$((${#o3} + 1))" \
    'int printf(const char *, ...)' '"%ld|%u|%d\n"' 5000000000 7u "'\\377'"
else
  bad "the oracle program does not build or run"
fi
expect "a bare word in a variadic position is a string" "a inf${nl}6" \
  'int printf(const char *, ...)' '"%s %s\n"' a inf
expect "(double)inf" "inf${nl}4" 'int printf(const char *, ...)' '"%g\n"' \
  '(double)inf'
expect "constant expression with spaces" "12" 'int abs(int)' '-(3 << 2)'
fails1 "not a constant expression" "not an integer constant expression" \
  'int abs(int)' 'nosuch | 1'
expect "enumerator in a variadic position" "40000${nl}6" "${FX[@]}" \
  'int printf(const char *, ...)' '"%d\n"' FX_BLUE
fails1 "a malformed number in a variadic position" "not a valid number" \
  'int printf(const char *, ...)' '"%d"' 12abc
fails1 "&INIT in a variadic position" "needs a pointer parameter or a cast" \
  'int printf(const char *, ...)' '"%p"' '&5'
expect "a cast &INIT in a variadic position" "arg2 = 5${nl}0" \
  'int printf(const char *, ...)' '"%.0s"' '(int *)&5'

# Extern variables and the standard typedefs without --cdef.
expect "stdout as an argument" "hi${nl}1" -l libc.so.6 \
  'int fputs(const char *, FILE *)' "hi$nl" stdout
expect "size_t without --cdef" "3" 'size_t strlen(const char *)' abc
expect "intN_t without --cdef" "-5" "${FX[@]}" 'int32_t fx_int(int32_t)' 5
expect "a --cdef typedef wins" "3" --cdef "$tmp/fcntl.i" \
  'size_t strlen(const char *)' abc

# Bytes for const void *, zeroed buffers.
expect "text for a const void *" "abc${nl}4" \
  'long write(int, const void *, unsigned long)' 1 'abc\n' 4
cwd=$(pwd)
expect "&char[N] is a zeroed buffer, printed as a string" \
  "arg1 = \"$cwd\"${nl}\"$cwd\"" 'char *getcwd(char *, size_t)' '&char[4096]' \
  4096
fails1 "&TYPE must fit the pointer" "does not point to" \
  'int abs(int *)' '&double[2]'

# Results people can read.
expect "a string result" '"No such file or directory"' \
  'char *strerror(int)' 2
if "$MODFFI" call --address 'char *strerror(int)' 2 |
  grep -Eqx '\(char \*\)0x[0-9a-f]+ "No such file or directory"'; then
  ok
else
  bad "--address prints the address too"
fi
expect "a NULL string result" "NULL" 'char *getenv(const char *)' \
  MFFI_NO_SUCH_VARIABLE_EVER
expect "escapes in a string result" '"a\tb\001\""' \
  'char *strchr(const char *, int)' '"xa\tb\1\""' "'a'"
expect "errno after the call" "errno = 2 (ENOENT: No such file or directory)${nl}-1" \
  --errno 'int open(const char *, int)' /nonexistent/x 0
expect "errno 0" "errno = 0${nl}3" --errno 'size_t strlen(const char *)' abc

# Literals.
expect "'\\xff' for unsigned char" "0" "${FX[@]}" fx_uchar "'\\xff'"
expect "-0 for unsigned" "0" 'unsigned abs(unsigned)' -0
expect "a float suffix" "0.75" "${FX[@]}" fx_float 1.5f
# ~(2^100 + 5) is 2^128 - 1 - (2^100 + 5); fx_int128(x) is 3x - 1.
expect "128-bit literal beyond 64 bits" \
  "340282365653287863235145205935065006074" "${FX[@]}" fx_uint128 \
  1267650600228229401496703205381
expect "negative 128-bit literal" "-3802951800684688204490109616129" \
  "${FX[@]}" fx_int128 -1267650600228229401496703205376
fails1 "a 128-bit literal too large" "does not fit" "${FX[@]}" fx_int128 \
  170141183460469231731687303715884105728
# Two elements, though the first string holds a comma.
if "$MODFFI" call 'int printf(const char *, ...)' '"%.0s"' \
  '(const char **)&{"a,b", "c"}' |
  grep -Eqx 'arg2 = \{0x[0-9a-f]+, 0x[0-9a-f]+\}'; then
  ok
else
  bad "string literals inside &{...}"
fi
fails1 "multi-character constant" "multi-character constant 'ab'" \
  'int abs(int)' "'ab'"
fails1 "hex escape out of range" "hex escape sequence out of range" \
  'int puts(const char *)' '"\x41424344"'
fails1 "octal escape out of range" "octal escape sequence out of range" \
  'int puts(const char *)' '"\777"'

# Declared without a prototype: default promotions, as C.
expect "unprototyped function, double argument" "1.4142135623730951" \
  -l libm.so.6 'double sqrt()' 2.0
expect "unprototyped function, cast argument" "1.4142135623730951" \
  -l libm.so.6 'double sqrt()' '(double)2'

# Arguments are checked before the symbol is looked up.
fails1 "range error before a missing symbol" "'200' does not fit the type" \
  'signed char f(signed char)' 200

# --help
if "$MODFFI" call --help | grep -q "DECL-OR-NAME"; then ok; else bad "--help"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
