#!/usr/bin/env bash
# Tests of the modffi command line. See LICENSE.
#
# Run by ctest with MODFFI (the binary), MFFI_SOURCE_DIR, MFFI_BINARY_DIR
# and MFFI_SANITIZE in the environment. The C compiler is the oracle: printed
# declarations must compile, alone and beside the header they came from, and
# layouts must match what sizeof/offsetof say.
set -euo pipefail

MODFFI=${MODFFI:?set MODFFI to the modffi binary}
CC=${CC:-cc}
SANITIZE=${MFFI_SANITIZE:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npass=0
nfail=0
pass() { npass=$((npass + 1)); }
fail() {
  nfail=$((nfail + 1))
  echo "FAIL: $*" >&2
}

# run EXPECTED_STATUS NAME CMD... : run CMD with stdout/stderr captured in
# $tmp/out and $tmp/err; pass if its exit status is EXPECTED_STATUS. Always
# returns 0 (so that set -e does not stop the run); ran_ok tells the result.
ran_ok=0
run() {
  local want=$1 name=$2
  shift 2
  local rc=0
  "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [[ $rc == "$want" ]]; then
    pass
    ran_ok=1
  else
    fail "$name: exit status $rc, expected $want"
    sed 's/^/  stderr: /' "$tmp/err" | head -20 >&2
    ran_ok=0
  fi
}

# expect NAME FILE REGEX : pass if FILE has a line matching REGEX (ERE).
expect() {
  if grep -Eq -- "$3" "$2"; then
    pass
  else
    fail "$1: no line matching /$3/ in $(basename "$2")"
    sed 's/^/  | /' "$2" | head -20 >&2
  fi
}

# line NAME FILE TEXT : pass if FILE has a line that is exactly TEXT.
line() {
  if grep -Fxq -- "$3" "$2"; then
    pass
  else
    fail "$1: no line '$3' in $(basename "$2")"
  fi
}

# empty NAME FILE : pass if FILE is empty.
empty() {
  if [[ ! -s $2 ]]; then
    pass
  else
    fail "$1: $(basename "$2") is not empty"
    sed 's/^/  | /' "$2" | head -20 >&2
  fi
}

# -- Help, version, usage errors ---------------------------------------------

run 0 "--help" "$MODFFI" --help && expect "--help" "$tmp/out" '^Usage: modffi'
run 0 "--version" "$MODFFI" --version &&
  expect "--version" "$tmp/out" '^modffi [0-9]+\.[0-9]+\.[0-9]+$'
# Every command listed by --help answers --help.
{ "$MODFFI" --help || true; } | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' \
  >"$tmp/cmds"
cmds=$(cat "$tmp/cmds")
for cmd in cdef layout call; do
  if grep -qx "$cmd" "$tmp/cmds"; then pass; else
    fail "--help does not list $cmd"
  fi
done
for cmd in $cmds; do
  run 0 "$cmd --help" "$MODFFI" "$cmd" --help &&
    expect "$cmd --help" "$tmp/out" "^Usage: modffi $cmd"
  empty "$cmd --help stderr" "$tmp/err"
done
run 0 "cdef -h" "$MODFFI" cdef -h
run 2 "no command" "$MODFFI" && expect "no command" "$tmp/err" '^Usage:'
run 2 "unknown command" "$MODFFI" frobnicate &&
  expect "unknown command" "$tmp/err" "^modffi: unknown command 'frobnicate'"
run 2 "unknown top option" "$MODFFI" --frob &&
  expect "unknown top option" "$tmp/err" "unknown option '--frob'"
run 2 "cdef unknown option" "$MODFFI" cdef --frob x.h &&
  expect "cdef unknown option" "$tmp/err" "^modffi: unknown option '--frob'"
run 2 "cdef no file" "$MODFFI" cdef --check
run 2 "cdef --kinds without value" "$MODFFI" cdef --print --kinds
run 2 "cdef bad kind" "$MODFFI" cdef --print --kinds function,bogus x.h &&
  expect "cdef bad kind" "$tmp/err" "'bogus'"
run 2 "cdef --check --print" "$MODFFI" cdef --check --print x.h
run 2 "layout unknown option" "$MODFFI" layout --xml x.h int &&
  expect "layout unknown option" "$tmp/err" "'--xml'"
run 2 "layout no type" "$MODFFI" layout x.h
run 2 "layout no args" "$MODFFI" layout --json
run 2 "layout --json=1" "$MODFFI" layout --json=1 x.h int

# -- cdef --check -------------------------------------------------------------

cat >"$tmp/good.h" <<'EOF'
typedef unsigned long my_size_t;
struct point { int x, y; };
int dist(const struct point *a, const struct point *b);
EOF
printf 'int ok(void);\nint broken(int;\n' >"$tmp/bad.h"

run 0 "check ok" "$MODFFI" cdef --check "$tmp/good.h" &&
  empty "check ok stdout" "$tmp/out" && empty "check ok stderr" "$tmp/err"
run 0 "check default mode" "$MODFFI" cdef "$tmp/good.h" &&
  empty "check default stdout" "$tmp/out"
run 0 "check stdin" "$MODFFI" cdef --check - <"$tmp/good.h"
run 0 "check two files" "$MODFFI" cdef --check "$tmp/good.h" - \
  <<<'struct point origin(void);'
run 1 "check error" "$MODFFI" cdef --check "$tmp/bad.h" &&
  expect "check error message" "$tmp/err" \
    "^modffi: $tmp/bad.h:2:[0-9]+: .+" && empty "check error stdout" "$tmp/out"
run 1 "check error stdin" "$MODFFI" cdef --check - <"$tmp/bad.h" &&
  expect "check error stdin message" "$tmp/err" '^modffi: <stdin>:2:[0-9]+: '
run 1 "check error second file" "$MODFFI" cdef "$tmp/good.h" "$tmp/bad.h" &&
  expect "check error second file" "$tmp/err" "bad\.h:2:"
# Each file is a translation unit: the same definitions again are fine (two
# headers including the same system header), different ones conflict.
run 0 "check same file twice" "$MODFFI" cdef "$tmp/good.h" "$tmp/good.h"
printf 'struct point { long x; };\n' >"$tmp/other.h"
run 1 "check redefinition" "$MODFFI" cdef "$tmp/good.h" "$tmp/other.h" &&
  expect "check redefinition" "$tmp/err" \
    "^modffi: $tmp/other.h:1:8: redefinition of 'struct point' with other members or layout; the previous definition is at $tmp/good.h:[0-9]+:[0-9]+ near 'point'$"
# What cannot be represented is skipped with a note (name, position,
# reason), and so is what needs it; the rest is read. --strict fails as
# mffi_cdef does. gcc compiles what --print gives beside the header.
cat >"$tmp/unrep.h" <<'EOF'
typedef float v4 __attribute__((vector_size(16)));
typedef _Atomic(int) atomic_t;
typedef int big_t __attribute__((mode(OI)));
struct holds { atomic_t v; int n; };
int vadd(atomic_t a, v4 b);
int takes(struct holds *h);
struct later { char c; v4 x; };
int good(int x);
EOF
run 0 "unrepresentable skipped" "$MODFFI" cdef --print "$tmp/unrep.h" &&
  line "note _Atomic" "$tmp/err" "modffi: note: skipped 'atomic_t': $tmp/unrep.h:2:9: _Atomic(type) is not supported near '_Atomic'" &&
  line "note mode(OI)" "$tmp/err" "modffi: note: skipped 'big_t': $tmp/unrep.h:3:13: unable to emulate 'OI' near 'big_t'" &&
  line "note cascade" "$tmp/err" "modffi: note: skipped 'struct holds': $tmp/unrep.h:4:1: it uses 'atomic_t', which was skipped; its body is left out: an incomplete type" &&
  line "note cascade to a function" "$tmp/err" "modffi: note: skipped 'vadd': $tmp/unrep.h:5:1: it uses 'atomic_t', which was skipped" &&
  line "rest read" "$tmp/out" "int good(int x);" &&
  line "opaque behind a pointer" "$tmp/out" "int takes(struct holds *h);"
# (gcc refuses mode(OI) too: the header beside them goes without it.)
{ sed 3d "$tmp/unrep.h"; grep -v '^typedef\|^struct' "$tmp/out"; } >"$tmp/unrep_chk.c"
if $CC -fsyntax-only -x c "$tmp/unrep_chk.c" 2>"$tmp/cc.err"; then pass; else
  fail "skipped header: printed prototypes beside the header"; cat "$tmp/cc.err" >&2; fi
run 0 "layout after a skip" "$MODFFI" layout "$tmp/unrep.h" "struct later" &&
  expect "layout after a skip" "$tmp/out" '^struct later: size 32, align 16'
run 1 "layout of a skipped type" "$MODFFI" layout "$tmp/unrep.h" "atomic_t" &&
  expect "layout of a skipped type" "$tmp/err" "note: skipped 'atomic_t'"
run 1 "cdef --strict" "$MODFFI" cdef --strict --check "$tmp/unrep.h" &&
  line "cdef --strict" "$tmp/err" "modffi: $tmp/unrep.h:2:9: _Atomic(type) is not supported near '_Atomic'"
# A real header: GCC's <immintrin.h> passes vectors by value in thousands
# of inline functions; it is read whole, and compiles beside itself.
if echo '#include <immintrin.h>' | $CC -E -x c - >"$tmp/imm.i" 2>/dev/null; then
  run 0 "immintrin.h" "$MODFFI" cdef --print "$tmp/imm.i" &&
    expect "immintrin.h functions" "$tmp/out" '^__typeof__\(float __attribute__\(\(vector_size\(16\)\)\)\) _mm_add_ps\(' &&
    expect "immintrin.h declarations" "$tmp/out" '^typedef .* __m128 __attribute__\(\(may_alias\)\);'
  if [ -s "$tmp/err" ]; then fail "immintrin.h: notes"; head "$tmp/err" >&2; else pass; fi
  { echo '#include <immintrin.h>'; grep -v '^typedef\|^struct\|^union\|^enum\|^#define\|^/\*' "$tmp/out"; } >"$tmp/imm_chk.c"
  if $CC -fsyntax-only -x c "$tmp/imm_chk.c" 2>"$tmp/cc.err"; then pass; else
    fail "immintrin.h: printed prototypes beside the header"; head "$tmp/cc.err" >&2; fi
  run 0 "immintrin.h --strict" "$MODFFI" cdef --strict --check "$tmp/imm.i"
fi
printf 'enum inc_e;\n' >"$tmp/inc_enum.h"
run 1 "layout of an incomplete enum" "$MODFFI" layout "$tmp/inc_enum.h" \
  "enum inc_e" &&
  expect "layout of an incomplete enum" "$tmp/err" "incomplete type"
run 1 "check missing file" "$MODFFI" cdef --check "$tmp/nope.h" &&
  expect "check missing file" "$tmp/err" "^modffi: $tmp/nope.h: "
run 0 "options after operands" "$MODFFI" cdef "$tmp/good.h" --print &&
  expect "options after operands" "$tmp/out" '^int dist\('

# -- cdef --print -------------------------------------------------------------

cat >"$tmp/small.h" <<'EOF'
#include <stddef.h>
typedef unsigned long my_size_t;
typedef struct { int x, y; } point_t, *point_p;
struct list { struct list *next; void *data; };
union value { long i; double d; const char *s; };
enum mode { MODE_READ = 1, MODE_WRITE = 2, MODE_BOTH = MODE_READ | MODE_WRITE };
typedef enum { LOW, HIGH = 100 } level_t;
struct bits { unsigned a : 3, b : 5; int : 0; signed c : 7; };
struct anon { int kind; union { int i; float f; }; struct { short lo, hi; }; };
struct flex { size_t n; double v[]; };
struct __attribute__((packed)) pk { char c; int i; };
struct al { char c; long l __attribute__((aligned(16))); }
  __attribute__((aligned(32)));
typedef long __attribute__((aligned(4))) long4;
struct uses4 { char c; long4 l; };
typedef int (*cmp_fn)(const void *, const void *);
typedef void handler_fn(int);
extern int counter;
extern const char *const names[];
extern cmp_fn default_cmp;
extern handler_fn *handlers[4];
void sort(void *base, my_size_t n, my_size_t sz, cmp_fn cmp);
void (*set_handler(int sig, void (*h)(int)))(int);
int (*lookup(const char *name))[8];
point_t mid(point_t a, point_t b);
int logf_(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
void *xalloc(my_size_t n) __attribute__((malloc, alloc_size(1)));
int renamed(void) __asm__("real_renamed");
int oldstyle();
void fill(char *buf, my_size_t n)
  __attribute__((access(write_only, 1, 2), nonnull(1)));
level_t get_level(enum mode m, struct list *l, union value v);
long double _Complex cmul(double _Complex a, float _Complex b);
__int128 wide(unsigned __int128 x, _Bool f);
int usevl(const char *fmt, __builtin_va_list ap);
long4 get4(struct uses4 *u);
EOF
{
  echo '#define LIMIT 100'
  echo '#define NEG (-5)'
  echo '#define HUGE_ 0xffffffffffffffffUL'
  "$CC" -E -P "$tmp/small.h"
} >"$tmp/small.i"

run 0 "print small" "$MODFFI" cdef --print "$tmp/small.i"
cp "$tmp/out" "$tmp/small.out"
o=$tmp/small.out
line "print function" "$o" 'void sort(void *base, unsigned long n, '\
'unsigned long sz, int (*cmp)(const void *, const void *));'
line "print fn returning fn ptr" "$o" \
  'void (*set_handler(int sig, void (*h)(int)))(int);'
line "print fn returning array ptr" "$o" 'int (*lookup(const char *name))[8];'
line "print asm" "$o" 'int renamed(void) __asm__("real_renamed");'
line "print attributes" "$o" 'void fill(char *buf, unsigned long n) '\
'__attribute__((access(write_only, 1, 2))) __attribute__((nonnull(1)));'
line "print define" "$o" '#define HUGE_ 18446744073709551615UL'
line "print negative define" "$o" '#define NEG -5'
line "print typedef body" "$o" 'typedef struct { int x; int y; } point_t;'
line "print typedef of typedef tag" "$o" 'typedef point_t *point_p;'
line "print aligned typedef" "$o" \
  'typedef long long4 __attribute__((aligned(4)));'
line "print aligned use" "$o" 'struct uses4 { char c; long4 l; };'
line "print enumerator" "$o" '/* enumerator MODE_BOTH = 3 */'
line "print enum" "$o" \
  'enum mode { MODE_READ = 1, MODE_WRITE = 2, MODE_BOTH = 3 };'
line "print record attributes" "$o" 'struct al { char c; '\
'long l __attribute__((aligned(16))); } __attribute__((aligned(32)));'
line "print variable" "$o" 'extern void (*handlers[4])(int);'
n_lines=$(wc -l <"$tmp/small.out")
n_semi=$(grep -Ec ';$|^#define |^/\* enumerator ' "$tmp/small.out" || true)
if [[ $n_lines == "$n_semi" ]]; then pass; else
  fail "print: every line is a declaration ($n_semi of $n_lines)"
fi

# The printout compiles alone, and means the same as the original.
run 0 "print compiles alone" "$CC" -fsyntax-only -x c "$tmp/small.out"
# Printed functions and variables beside the header they came from: any
# conflicting type is an error.
{
  echo "#include \"$tmp/small.h\""
  "$MODFFI" cdef --print --kinds function,variable "$tmp/small.i" || true
} >"$tmp/beside.c"
run 0 "print beside header" "$CC" -fsyntax-only "$tmp/beside.c"
# The printout parses again and prints the same.
run 0 "print reparse" "$MODFFI" cdef --print "$tmp/small.out"
if cmp -s "$tmp/out" "$tmp/small.out"; then pass; else
    fail "print round trip differs"
    diff "$tmp/small.out" "$tmp/out" | head -20 >&2 || true
  fi

# --kinds filters.
run 0 "kinds function" "$MODFFI" cdef --print --kinds function "$tmp/small.i"
fn_re='[])]( __asm__\("[^"]*"\))?( __attribute__\(\(.*\)\))*;$'
if grep -Evq "$fn_re" "$tmp/out"; then
  fail "kinds function: a line is not a function"
  grep -Ev "$fn_re" "$tmp/out" | head >&2
else pass; fi
expect "kinds function has sort" "$tmp/out" '^void sort\('
run 0 "kinds tag,constant" "$MODFFI" cdef --print --kinds tag,constant \
  "$tmp/small.i"
expect "kinds tag" "$tmp/out" '^struct list \{'
expect "kinds constant" "$tmp/out" '^#define LIMIT 100$'
if grep -Eq '^typedef|^extern|sort\(' "$tmp/out"; then
  fail "kinds tag,constant: other kinds printed"
else pass; fi
run 0 "kinds=typedef" "$MODFFI" cdef --print --kinds=typedef "$tmp/small.i"
line "kinds=typedef" "$tmp/out" \
  'typedef int (*cmp_fn)(const void *, const void *);'

# System headers: their printed prototypes and globals compile beside them.
for h in stdio.h stdlib.h string.h math.h time.h signal.h unistd.h pthread.h \
  sys/stat.h wchar.h setjmp.h complex.h dirent.h sys/socket.h netdb.h fcntl.h \
  locale.h inttypes.h expat.h sqlite3.h ffi.h; do
  echo "#include <$h>" >"$tmp/sys.c"
  if ! "$CC" -E -P "$tmp/sys.c" >"$tmp/sys.i" 2>/dev/null; then continue; fi
  run 0 "cdef $h" "$MODFFI" cdef --print "$tmp/sys.i"
  if ((ran_ok)); then
    cp "$tmp/out" "$tmp/sys.out"
    run 0 "$h printout compiles" "$CC" -fsyntax-only -x c "$tmp/sys.out"
    { cat "$tmp/sys.c"
      "$MODFFI" cdef --print --kinds function,variable "$tmp/sys.i" || true
    } >"$tmp/sysb.c"
    run 0 "$h beside header" "$CC" -fsyntax-only "$tmp/sysb.c"
    run 0 "$h reparse" "$MODFFI" cdef --print "$tmp/sys.out"
    if cmp -s "$tmp/out" "$tmp/sys.out"; then pass; else
      fail "$h: printout prints differently when parsed again"
      diff "$tmp/sys.out" "$tmp/out" | head -10 >&2 || true
    fi
  fi
done

# -- layout -------------------------------------------------------------------

cat >"$tmp/lay.h" <<'EOF'
struct s1 { char c; int i; double d; short s; };
struct s2 { unsigned a : 3; unsigned b : 5; int c : 7;
            unsigned long long d : 40; char e; _Bool f : 1; };
struct s3 { int tag; union { int i; float f; struct { char lo; char hi; }; };
            struct { short x, y; } pt; long tail; };
struct s4 { char c; int arr[3]; double flex[]; };
struct __attribute__((packed)) s5 { char c; int i; short s; };
struct s6 { char c; int i __attribute__((aligned(16))); long l; }
  __attribute__((aligned(32)));
struct s7 { char a; unsigned : 0; char b; int : 3; int c : 4; };
union u1 { char c[5]; int i; double d; };
typedef struct { int x, y; struct s1 inner; } point_t;
struct s8 { char c;
            struct { char d; unsigned e : 4; } __attribute__((packed)); };
typedef long __attribute__((aligned(4))) long4;
typedef int int16 __attribute__((aligned(16)));
struct s9 { char c; long4 l; char d; int16 i; long4 arr[2]; };
EOF
# TYPE|FIELD|KIND: KIND "-" for an ordinary member, "bit:T" for a bit-field
# of declared type T, "flex:T" for a flexible array of T.
cat >"$tmp/lay.spec" <<'EOF'
struct s1|c|-
struct s1|i|-
struct s1|d|-
struct s1|s|-
struct s2|a|bit:unsigned int
struct s2|b|bit:unsigned int
struct s2|c|bit:int
struct s2|d|bit:unsigned long long
struct s2|e|-
struct s2|f|bit:_Bool
struct s3|tag|-
struct s3|i|-
struct s3|f|-
struct s3|lo|-
struct s3|hi|-
struct s3|pt|-
struct s3|tail|-
struct s4|c|-
struct s4|arr|-
struct s4|flex|flex:double
struct s5|c|-
struct s5|i|-
struct s5|s|-
struct s6|c|-
struct s6|i|-
struct s6|l|-
struct s7|a|-
struct s7|b|-
struct s7|c|bit:int
union u1|c|-
union u1|i|-
union u1|d|-
point_t|x|-
point_t|y|-
point_t|inner|-
struct s8|c|-
struct s8|d|-
struct s8|e|bit:unsigned int
struct s9|c|-
struct s9|l|-
struct s9|d|-
struct s9|i|-
struct s9|arr|-
EOF

# The oracle: a C program that prints, per type, the JSON modffi should
# give (without the "type" keys).
{
  cat <<EOF
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "$tmp/lay.h"
EOF
  cat <<'EOF'
/* First set bit and number of set bits of an object. */
static void bits(const unsigned char *p, size_t n, size_t *first, int *cnt) {
  *first = (size_t)-1;
  *cnt = 0;
  for (size_t i = 0; i < n * 8; i++) {
    if (p[i / 8] >> (i % 8) & 1) {
      if (*first == (size_t)-1) *first = i;
      ++*cnt;
    }
  }
}
static const char *sep;
#define BEGIN(T)                                                              \
  printf("{\"size\": %zu, \"align\": %zu, \"fields\": [", sizeof(T),         \
         _Alignof(T));                                                        \
  sep = "";
#define END() printf("]}\n");
#define ONE(F, OFF, SZ, AL, BOFF)                                             \
  printf("%s{\"name\": \"%s\", \"offset\": %zu, \"size\": %zu, "              \
         "\"align\": %zu, \"bit_offset\": %zu",                               \
         sep, #F, (size_t)(OFF), (size_t)(SZ), (size_t)(AL), (size_t)(BOFF)); \
  sep = ", ";
#define M(T, F) (((T *)0)->F)
#define FIELD(T, F)                                                           \
  ONE(F, offsetof(T, F), sizeof M(T, F), _Alignof(__typeof__(M(T, F))),      \
      offsetof(T, F) * 8)                                                     \
  printf("}");
#define FLEX(T, F, E)                                                         \
  ONE(F, offsetof(T, F), 0, _Alignof(E), offsetof(T, F) * 8) printf("}");
#define BITS(T, F, BT)                                                        \
  {                                                                           \
    union {                                                                   \
      T v;                                                                    \
      unsigned char b[sizeof(T)];                                             \
    } u;                                                                      \
    size_t first;                                                             \
    int cnt;                                                                  \
    memset(&u, 0, sizeof u);                                                  \
    u.v.F = ~0ULL;                                                            \
    bits(u.b, sizeof u.b, &first, &cnt);                                      \
    ONE(F, first / 8, sizeof(BT), _Alignof(BT), first)                        \
    printf(", \"bit_width\": %d}", cnt);                                      \
  }
int main(void) {
EOF
  prev=
  while IFS='|' read -r ty field kind; do
    if [[ $ty != "$prev" ]]; then
      [[ -n $prev ]] && echo '  END()'
      echo "  BEGIN($ty)"
      prev=$ty
    fi
    case $kind in
    -) echo "  FIELD($ty, $field)" ;;
    bit:*) echo "  BITS($ty, $field, ${kind#bit:})" ;;
    flex:*) echo "  FLEX($ty, $field, ${kind#flex:})" ;;
    esac
  done <"$tmp/lay.spec"
  echo '  END()'
  echo '  return 0;'
  echo '}'
} >"$tmp/oracle.c"
run 0 "oracle compiles" "$CC" -w -o "$tmp/oracle" "$tmp/oracle.c"
if ((ran_ok)); then
  "$tmp/oracle" >"$tmp/oracle.out" || fail "oracle run"
  i=0
  for ty in $(cut -d'|' -f1 "$tmp/lay.spec" | uniq | tr ' ' '@'); do
    ty=${ty//@/ }
    i=$((i + 1))
    run 0 "layout --json $ty" "$MODFFI" layout --json "$tmp/lay.h" "$ty"
    if ((ran_ok)); then
      nobj=$(grep -c '^{' "$tmp/out" || true)
      if [[ $(wc -l <"$tmp/out") == 1 && $nobj == 1 ]]; then pass; else
        fail "layout --json $ty: not one line with one object"
      fi
      sed -E 's/"type": "([^"\\]|\\.)*", //g' "$tmp/out" >"$tmp/got"
      sed -n "${i}p" "$tmp/oracle.out" >"$tmp/want"
      if cmp -s "$tmp/got" "$tmp/want"; then pass; else
        fail "layout --json $ty differs from the compiler"
        echo "  modffi: $(cat "$tmp/got")" >&2
        echo "  cc:     $(cat "$tmp/want")" >&2
      fi
    fi
  done
fi

# Printing keeps the layout: the same oracle, compiled against the
# printout, gives the same numbers.
run 0 "print lay.h" "$MODFFI" cdef --print "$tmp/lay.h"
cp "$tmp/out" "$tmp/lay.out"
sed "s|#include \"$tmp/lay.h\"|#include \"$tmp/lay.out\"|" "$tmp/oracle.c" \
  >"$tmp/oracle2.c"
run 0 "oracle on printout compiles" "$CC" -w -o "$tmp/oracle2" "$tmp/oracle2.c"
if ((ran_ok)); then
  "$tmp/oracle2" >"$tmp/oracle2.out" || fail "oracle on printout run"
  if cmp -s "$tmp/oracle.out" "$tmp/oracle2.out"; then pass; else
    fail "the printout of lay.h lays out differently"
    diff "$tmp/oracle.out" "$tmp/oracle2.out" | head -10 >&2 || true
  fi
fi

run 0 "layout json types" "$MODFFI" layout --json "$tmp/lay.h" "struct s2"
expect "layout json type key" "$tmp/out" '^\{"type": "struct s2", "size": '
expect "layout json field type" "$tmp/out" '"name": "d", '\
'"type": "unsigned long long", "offset": [0-9]+, "size": 8, "align": 8, '\
'"bit_offset": [0-9]+, "bit_width": 40\}'
run 0 "layout typedef" "$MODFFI" layout --json "$tmp/lay.h" point_t
expect "layout typedef name" "$tmp/out" '^\{"type": "point_t", '
expect "layout nested not expanded" "$tmp/out" \
  '"name": "inner", "type": "struct s1", '
run 0 "layout scalar" "$MODFFI" layout --json "$tmp/lay.h" "long double"
expect "layout scalar" "$tmp/out" \
  '^\{"type": "long double", "size": 16, "align": 16, "fields": \[\]\}$'
run 0 "layout pointer" "$MODFFI" layout --json "$tmp/lay.h" "struct s1 *[3]"
expect "layout pointer" "$tmp/out" \
  '^\{"type": "struct s1 \*\[3\]", "size": 24, "align": 8, "fields": \[\]\}$'
run 0 "layout stdin" "$MODFFI" layout --json - "struct s1" <"$tmp/lay.h"
run 0 "layout table" "$MODFFI" layout "$tmp/lay.h" "struct s2"
expect "layout table header" "$tmp/out" '^struct s2: size [0-9]+, align [0-9]+$'
expect "layout table columns" "$tmp/out" \
  '^name +type +offset +size +align +bits$'
expect "layout table bit-field" "$tmp/out" '^b +unsigned int +0 +4 +4 +3:5$'
run 1 "layout unknown type" "$MODFFI" layout "$tmp/lay.h" "struct nope" &&
  expect "layout unknown type" "$tmp/err" "^modffi: .*struct nope"
run 1 "layout bad type" "$MODFFI" layout "$tmp/lay.h" "int (" &&
  expect "layout bad type" "$tmp/err" "^modffi: type 'int \(': "
run 1 "layout bad file" "$MODFFI" layout --json "$tmp/bad.h" int &&
  expect "layout bad file" "$tmp/err" "^modffi: $tmp/bad.h:2:[0-9]+: "
echo 'struct inc;' >"$tmp/inc.h"
run 1 "layout incomplete" "$MODFFI" layout "$tmp/inc.h" "struct inc" &&
  expect "layout incomplete" "$tmp/err" 'incomplete'

# -- No leaks (valgrind, when there is no sanitizer) --------------------------

if command -v valgrind >/dev/null && [[ $SANITIZE != 1 && $SANITIZE != ON ]]
then
  vg() {
    local name=$1
    shift
    local rc=0
    valgrind -q --leak-check=full --show-leak-kinds=all \
      --errors-for-leak-kinds=all --error-exitcode=99 "$@" \
      >/dev/null 2>"$tmp/vg" <"$tmp/small.i" || rc=$?
    if [[ $rc == 99 ]]; then
      fail "valgrind $name"
      head -30 "$tmp/vg" >&2
    else pass; fi
  }
  vg "check" "$MODFFI" cdef --check "$tmp/small.i"
  vg "check stdin" "$MODFFI" cdef --check -
  vg "check error" "$MODFFI" cdef --check "$tmp/good.h" "$tmp/bad.h"
  vg "missing file" "$MODFFI" cdef "$tmp/nope.h"
  vg "print" "$MODFFI" cdef --print "$tmp/small.i"
  vg "print kinds" "$MODFFI" cdef --print --kinds tag "$tmp/small.i"
  vg "layout json" "$MODFFI" layout --json "$tmp/lay.h" "struct s3"
  vg "layout table" "$MODFFI" layout "$tmp/lay.h" "point_t"
  vg "layout bad type" "$MODFFI" layout "$tmp/lay.h" "struct nope"
  vg "layout incomplete" "$MODFFI" layout "$tmp/inc.h" "struct inc"
  vg "usage" "$MODFFI" cdef --bogus
  vg "help" "$MODFFI" --help
fi

echo "$npass passed, $nfail failed"
[[ $nfail == 0 ]]
