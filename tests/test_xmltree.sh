#!/bin/bash
# Tests of examples/xmltree: under every strategy (dynamic, static, remote) and in
# direct mode, its output, messages and exit status are byte-identical to
# those of xmltree_plain, written directly against expat, on generated
# documents (deep nesting, attributes, CDATA, non-ASCII names, > 1 MB) and
# malformed ones. See LICENSE.
#
# Environment: MFFI_SOURCE_DIR, MFFI_BINARY_DIR (MODFFI, MFFI_SANITIZE unused).
set -u
SRC=${MFFI_SOURCE_DIR:-.}
BIN=${MFFI_BINARY_DIR:-build}/bin
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && head -c 2000 "$2" | sed 's/^/     /'; }

for p in xmltree xmltree_direct xmltree_plain; do
  if [ ! -x "$BIN/$p" ]; then
    echo "FAIL $BIN/$p is not built (is expat installed?)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# run NAME INPUT [stdin]: every variant against the oracle.
run() {
  local name=$1 in=$2 how=${3:-file}
  local o="$T/out"
  if [ "$how" = stdin ]; then
    "$BIN/xmltree_plain" <"$in" >"$o.plain" 2>"$o.plain.err"; echo $? >"$o.plain.rc"
  else
    "$BIN/xmltree_plain" "$in" >"$o.plain" 2>"$o.plain.err"; echo $? >"$o.plain.rc"
  fi
  local v
  for v in dynamic static remote direct; do
    local cmd=("$BIN/xmltree" --strategy "$v")
    [ "$v" = direct ] && cmd=("$BIN/xmltree_direct")
    if [ "$how" = stdin ]; then
      "${cmd[@]}" <"$in" >"$o.$v" 2>"$o.$v.err"; echo $? >"$o.$v.rc"
    else
      "${cmd[@]}" "$in" >"$o.$v" 2>"$o.$v.err"; echo $? >"$o.$v.rc"
    fi
    if cmp -s "$o.plain" "$o.$v" && cmp -s "$o.plain.err" "$o.$v.err" &&
      cmp -s "$o.plain.rc" "$o.$v.rc"; then
      ok "$name: $v == plain"
    else
      { echo "rc $(cat "$o.$v.rc") vs $(cat "$o.plain.rc")"; cat "$o.$v.err";
        diff "$o.plain" "$o.$v" | head -5; } >"$o.diff"
      ko "$name: $v == plain" "$o.diff"
    fi
  done
}

# expect_error NAME: the last run failed with "xmltree: line N: ..." and 1.
expect_error() {
  if [ "$(cat "$T/out.plain.rc")" = 1 ] &&
    grep -Eq "^xmltree: line [0-9]+: .+" "$T/out.plain.err"; then
    ok "$1: exit 1 and 'xmltree: line N: message'"
  else
    ko "$1: exit 1 and 'xmltree: line N: message'" "$T/out.plain.err"
  fi
}

# -- Well-formed documents ----------------------------------------------------
run "bundled sample" "$SRC/examples/xmltree/sample.xml"
grep -qx '   größe' "$T/out.plain" && ok "sample: non-ASCII name printed" ||
  ko "sample: non-ASCII name printed" "$T/out.plain"

awk 'BEGIN { n = 1500; for (i = 0; i < n; i++) printf "<d%d>", i;
             for (i = n - 1; i >= 0; i--) printf "</d%d>", i; print "" }' >"$T/deep.xml"
run "deep nesting (1500 levels)" "$T/deep.xml"
[ "$(tail -1 "$T/out.plain")" = "$(printf '%*s%s' 4497 '' d1499)" ] &&
  ok "deep: last line indented 3 * 1499" || ko "deep: last line indented 3 * 1499"

cat >"$T/attrs.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE root [ <!ENTITY who "modffi"> ]>
<root a="1" b='2' xmlns:x="urn:x">
  <x:item id="i1" note="&lt;&amp;&gt; &who; &#169;" x:attr="v"/>
  <item empty=""><?pi target?><!-- comment <notanelement/> --></item>
  <data><![CDATA[<fake attr="1"/> ]]> text &who;</data>
  <mixed>text<b>bold</b>tail<i/>end</mixed>
</root>
EOF
run "attributes, entities, CDATA, PI" "$T/attrs.xml"
! grep -q fake "$T/out.plain" && ok "CDATA content is not an element" ||
  ko "CDATA content is not an element" "$T/out.plain"

printf '<?xml version="1.0" encoding="UTF-8"?>\n<日本語><Ελληνικά αριθμός="1"><éléphant/><ñandú>x</ñandú></Ελληνικά><emoji😀/></日本語>\n' >"$T/utf8.xml"
run "non-ASCII names (UTF-8)" "$T/utf8.xml"
printf '<?xml version="1.0" encoding="ISO-8859-1"?>\n<caf\351><na\357ve/></caf\351>\n' >"$T/latin1.xml"
run "non-ASCII names (ISO-8859-1)" "$T/latin1.xml"

awk 'BEGIN { print "<?xml version=\"1.0\"?>"; print "<catalog>";
  for (i = 0; i < 12000; i++) {
    printf "  <book id=\"b%d\" lang=\"en\"><title>Title %d &amp; more</title>", i, i;
    printf "<authors><author>A. Author %d</author><author>B</author></authors>", i;
    printf "<note><![CDATA[<x>%d</x>]]></note><price cur=\"EUR\">%d.99</price></book>\n", i, i % 100 }
  print "</catalog>" }' >"$T/big.xml"
sz=$(wc -c <"$T/big.xml")
[ "$sz" -gt 1048576 ] && ok "big document is $sz bytes (> 1 MB)" || ko "big document is > 1 MB"
run "big document" "$T/big.xml"
[ "$(wc -l <"$T/out.plain")" = 84001 ] && ok "big: 84001 elements" ||
  ko "big: 84001 elements"
run "big document on stdin" "$T/big.xml" stdin

# -- Malformed documents ----------------------------------------------------------
printf '<a>\n<b>\n</a>\n' >"$T/m1.xml"
run "mismatched tag" "$T/m1.xml"
expect_error "mismatched tag"
grep -qx 'xmltree: line 3: mismatched tag' "$T/out.plain.err" &&
  ok "mismatched tag: line 3" || ko "mismatched tag: line 3" "$T/out.plain.err"
printf '<a><b></b>\n' >"$T/m2.xml"
run "unclosed at end of input" "$T/m2.xml"
expect_error "unclosed at end of input"
: >"$T/m3.xml"
run "empty input" "$T/m3.xml"
expect_error "empty input"
printf '<a/>\n<b/>\n' >"$T/m4.xml"
run "junk after document element" "$T/m4.xml"
expect_error "junk after document element"
printf '<a x="1" x="2"/>' >"$T/m5.xml"
run "duplicate attribute" "$T/m5.xml"
expect_error "duplicate attribute"
printf '<a>&nosuch;</a>' >"$T/m6.xml"
run "undefined entity" "$T/m6.xml"
expect_error "undefined entity"
printf '<a><1/></a>' >"$T/m7.xml"
run "invalid token" "$T/m7.xml"
expect_error "invalid token"
printf '<a>\377\376</a>' >"$T/m8.xml"
run "invalid UTF-8" "$T/m8.xml"
expect_error "invalid UTF-8"
printf '<a><![CDATA[ never closed </a>' >"$T/m9.xml"
run "unclosed CDATA" "$T/m9.xml"
expect_error "unclosed CDATA"
{ head -n 9000 "$T/big.xml"; echo '<broken attr=>'; tail -n +9001 "$T/big.xml"; } >"$T/m10.xml"
run "error deep in a big document" "$T/m10.xml"
grep -qx 'xmltree: line 9001: not well-formed (invalid token)' "$T/out.plain.err" &&
  ok "big error: line 9001" || ko "big error: line 9001" "$T/out.plain.err"
run "nonexistent file" "$T/no-such-file.xml"
[ "$(cat "$T/out.plain.rc")" = 1 ] && grep -q "No such file" "$T/out.plain.err" &&
  ok "nonexistent file: exit 1" || ko "nonexistent file: exit 1" "$T/out.plain.err"

# -- Usage ---------------------------------------------------------------------------
"$BIN/xmltree" --strategy nosuch "$T/m1.xml" >"$T/o" 2>&1
[ $? = 2 ] && grep -q "no strategy 'nosuch'" "$T/o" && ok "unknown strategy" ||
  ko "unknown strategy" "$T/o"
"$BIN/xmltree" --bogus >"$T/o" 2>&1
[ $? = 2 ] && grep -q "^Usage" "$T/o" && ok "unknown option" || ko "unknown option" "$T/o"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
