#!/bin/bash
# Tests of the man pages (man/*.[13], mdoc): each renders with man(1) and
# groff without a warning; modffi(1) has a section for every command of
# `modffi --help`, names every option each command's --help prints and
# describes none that no --help has; modffi(3) names every function
# modffi.h declares; modffi-sandbox(1) shows the sandbox's usage. See
# LICENSE.
#
# Environment: MODFFI (the CLI), MFFI_SOURCE_DIR, MFFI_BINARY_DIR.
set -u
SRC=${MFFI_SOURCE_DIR:-.}
BIN=${MFFI_BINARY_DIR:-build}/bin
MODFFI=${MODFFI:-$BIN/modffi}
MAN=$SRC/man
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && head -c 2000 "$2" | sed 's/^/     /'; }

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
  echo "skip: man or groff missing (scripts/install-deps.sh test installs man-db)"
  exit 77
fi

# -- Each page renders, without warnings ------------------------------------
pages="modffi.1 modffi-sandbox.1 modffi.3"
for p in $pages; do
  if groff -mdoc -ww -z -Tutf8 "$MAN/$p" >"$T/groff.err" 2>&1 && [ ! -s "$T/groff.err" ]; then
    ok "$p: groff -mdoc -ww: no warning"
  else
    ko "$p: groff -mdoc -ww: no warning" "$T/groff.err"
  fi
  MANWIDTH=80 MAN_KEEP_FORMATTING= man -l --warnings "$MAN/$p" >"$T/$p.txt" 2>"$T/man.err"
  rc=$?
  if [ $rc = 0 ] && [ ! -s "$T/man.err" ] && [ "$(wc -l <"$T/$p.txt")" -gt 20 ]; then
    ok "$p: man -l --warnings renders it, silently"
  else
    ko "$p: man -l --warnings renders it, silently (rc $rc)" "$T/man.err"
  fi
  # Plain text: no overstrike, no leftover mdoc macro or escape.
  sed 's/.\x08//g' "$T/$p.txt" >"$T/$p.plain"
  if grep -nE '^ *\.[A-Z][a-z]( |$)|\\(\(..|f[BIRP]|[e&*])' "$T/$p.plain" >"$T/bad"; then
    ko "$p: no unrendered macro or escape" "$T/bad"
  else
    ok "$p: no unrendered macro or escape"
  fi
done
M1=$T/modffi.1.plain

# -- modffi(1) against --help -------------------------------------------------
# Commands: the indented lines of `modffi --help` under "Commands:".
"$MODFFI" --help >"$T/help" 2>&1
cmds=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$T/help")
[ -n "$cmds" ] && ok "modffi --help lists commands: $(echo $cmds)" ||
  ko "modffi --help lists commands" "$T/help"
for c in $cmds; do
  # A subsection per command, titled by its name.
  if grep -qE "^   $c( |$)" "$M1"; then
    ok "modffi(1) has a section for '$c'"
  else
    ko "modffi(1) has a section for '$c'"
  fi
done
# Options: every -x and --long word of each help text.
opts() { tr -s " \t[]|(),;:'\`=" '\n' <"$1" | grep -xE -- '--[a-z][a-z0-9-]*|-[A-Za-z]' | sort -u; }
for c in "" $cmds; do
  # shellcheck disable=SC2086
  "$MODFFI" $c --help >"$T/h" 2>&1
  missing=""
  n=0
  for o in $(opts "$T/h"); do
    n=$((n + 1))
    grep -qe "$o\b" "$M1" || missing="$missing $o"
  done
  label="modffi${c:+ $c} --help"
  if [ "$n" -gt 0 ] && [ -z "$missing" ]; then
    ok "modffi(1) names all $n options of '$label'"
  else
    echo "missing:$missing" >"$T/miss"
    ko "modffi(1) names all $n options of '$label'" "$T/miss"
  fi
done
# And the other way: every option the page describes (.It Fl ...) is in
# some --help, so that none outlives its removal.
for c in "" $cmds; do
  # shellcheck disable=SC2086
  "$MODFFI" $c --help
done >"$T/allhelp" 2>&1
opts "$T/allhelp" >"$T/allopts"
grep -E '^\.It Fl ' "$MAN/modffi.1" | grep -oE 'Fl -?[A-Za-z][A-Za-z0-9-]*' |
  sed 's/^Fl /-/' | sort -u >"$T/pageopts"
stale=$(comm -23 "$T/pageopts" "$T/allopts" | tr '\n' ' ')
npage=$(wc -l <"$T/pageopts")
[ "$npage" -gt 10 ] && [ -z "$stale" ] &&
  ok "every one of the $npage options modffi(1) describes is in a --help" ||
  { echo "not in any --help: $stale" >"$T/stale"; ko "every option modffi(1) describes is in a --help" "$T/stale"; }
# The synopsis and the help give the same commands, the page nothing more.
syn=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$M1" | awk '$1 == "modffi" && $2 !~ /^-/ { print $2 }' | sort -u)
[ "$syn" = "$(echo "$cmds" | sort -u)" ] && ok "modffi(1) synopsis: the same commands" ||
  { echo "synopsis: $syn" >"$T/syn"; ko "modffi(1) synopsis: the same commands" "$T/syn"; }

# -- modffi(3) against modffi.h ---------------------------------------------
echo '#include "modffi.h"' | cc -E -P -I"$SRC/include" - >"$T/h.i" 2>"$T/cc.err" ||
  ko "modffi.h preprocesses" "$T/cc.err"
"$MODFFI" cdef --print --kinds function "$T/h.i" |
  grep -oE '\bmffi_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$T/fns"
nf=$(wc -l <"$T/fns")
missing=""
while read -r f; do
  grep -qE "\b$f\(\)" "$T/modffi.3.plain" || missing="$missing $f"
done <"$T/fns"
if [ "$nf" -gt 50 ] && [ -z "$missing" ]; then
  ok "modffi(3) names all $nf functions of modffi.h"
else
  echo "missing:$missing" >"$T/miss"
  ko "modffi(3) names all $nf functions of modffi.h" "$T/miss"
fi

# -- modffi-sandbox(1) against the sandbox's usage ------------------------------
"$BIN/modffi-sandbox" >"$T/sb" 2>&1
rc=$?
usage=$(sed -n 's/^usage: //p' "$T/sb" | head -1 | tr 'A-Z' 'a-z')
if [ $rc = 2 ] && [ -n "$usage" ] &&
  grep -qxF "     $usage" "$T/modffi-sandbox.1.plain"; then
  ok "modffi-sandbox(1) synopsis is its usage ('$usage'), exit status 2"
else
  ko "modffi-sandbox(1) synopsis is its usage (rc $rc)" "$T/sb"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
