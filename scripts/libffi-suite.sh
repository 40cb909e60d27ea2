#!/bin/bash
# libffi's own test suite run unchanged through modffi's libffi API
# (libmodffi_ffi.so, docs/libffi-api.md). See LICENSE.
#
# Usage: scripts/libffi-suite.sh LIBFFI_SRC_DIR [BUILD_DIR=build]
#   LIBFFI_SRC_DIR holds testsuite/ (libffi 3.4.4, e.g. its git tag v3.4.4).
#
# Suites libffi.call, libffi.closures, libffi.complex (every *.c) and
# libffi.bhaible (test-call.c with -DDGTEST=1..81, test-callback.c with
# -DDGTEST=1..80, bhaible.exp's warning flags): each program's DejaGnu
# directives are followed as libffi's .exp files would on x86_64-linux-gnu
# with gcc (dg-do run runs, anything else is skipped; dg-skip-if and
# dg-options with target selectors; dg-output concatenated into one Tcl regex,
# matched against stdout+stderr, with \n as \r?\n). Each program is compiled
# against the system libffi (-lffi, the oracle) and against
# BUILD_DIR/lib/libmodffi_ffi.so, and run three times (10 s each): libffi,
# modffi's engine, modffi's libffi path (MFFI_FFI_PATH=libffi). Pass: exit 0
# and the output matched. A program printing "modffi-ffi: refused:" on stderr
# is REFUSED; one failing under libffi itself is not counted against modffi.
# Without libmodffi_ffi.so only the libffi column is run.
# As DejaGnu does, each file is built at -O0 and -O2 (or
# LIBFFI_TEST_OPTIMIZATION), and a file that uses ABI_NUM also for the
# FFI_GNUW64 ABI (ms_abi functions and closures), a program each.
#
# Exit 0 when every runnable program that passes with libffi passes both ways
# through modffi with nothing refused, else 1 (2: usage). Work dir under
# ${TMPDIR:-/tmp}, removed at the end unless LIBFFI_SUITE_KEEP=1.
set -u
if [ $# -lt 1 ] || [ ! -d "$1/testsuite" ]; then
  echo "usage: $0 LIBFFI_SRC_DIR [BUILD_DIR=build]  (LIBFFI_SRC_DIR/testsuite)" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
build=${2:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/libffi-suite.XXXXXX") || exit 1
if [ "${LIBFFI_SUITE_KEEP:-0}" = 1 ]; then
  echo "libffi-suite: work dir $work (kept)"
else
  trap 'rm -rf "$work"' EXIT
fi
# ffitest.h includes the build tree's fficonfig.h: what x86-64 Linux defines.
cat >"$work/fficonfig.h" <<'H'
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_MMAP_ANON 1
#define HAVE_LONG_DOUBLE 1
#define HAVE_AS_X86_PCREL 1
H
# bpo-38748.c includes libffi's internal ffi_common.h (-I$src/include in
# libffi's tree); without that tree, the integer typedefs it uses.
inc=$src/include
if [ ! -f "$inc/ffi_common.h" ]; then
  inc=$work
  cat >"$work/ffi_common.h" <<'H'
#include <stdint.h>
typedef uint8_t UINT8;   typedef int8_t SINT8;
typedef uint16_t UINT16; typedef int16_t SINT16;
typedef uint32_t UINT32; typedef int32_t SINT32;
typedef uint64_t UINT64; typedef int64_t SINT64;
H
fi
export LS_INC=$inc LS_SRC=$src LS_BUILD=$build LS_WORK=$work LS_CC=${CC:-cc}
# shellcheck disable=SC2155
export LS_FFI_CFLAGS=$(pkg-config --cflags libffi)
python3 - <<'PY'
import concurrent.futures as cf, glob, os, re, subprocess, sys

src, build, work = os.environ["LS_SRC"], os.environ["LS_BUILD"], os.environ["LS_WORK"]
cc = os.environ["LS_CC"].split()
ffi_cflags = os.environ["LS_FFI_CFLAGS"].split()
lib = os.path.join(build, "lib")
have_mffi = os.path.exists(os.path.join(lib, "libmodffi_ffi.so"))
ts = os.path.join(src, "testsuite")
TRIPLET = "x86_64-pc-linux-gnu"
WARN = "-Wno-unused-variable -Wno-unused-parameter -Wno-unused-but-set-variable -Wno-uninitialized".split()

def tcl_words(s):
    """Split a Tcl command into words; "..." get backslash substitution."""
    words, i, n = [], 0, len(s)
    while i < n:
        if s[i].isspace():
            i += 1; continue
        if s[i] == '{':
            d, j = 1, i + 1
            while j < n and d:
                if s[j] == '\\': j += 1
                elif s[j] == '{': d += 1
                elif s[j] == '}': d -= 1
                j += 1
            words.append(("b", s[i + 1:j - 1])); i = j
        elif s[i] == '"':
            j, out = i + 1, []
            while j < n and s[j] != '"':
                if s[j] == '\\' and j + 1 < n:
                    c = s[j + 1]; j += 2
                    m = {'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b',
                         'f': '\f', 'v': '\v'}
                    if c in m: out.append(m[c])
                    elif c == 'x':
                        h = re.match(r'[0-9a-fA-F]{1,2}', s[j:])
                        if h: out.append(chr(int(h.group(), 16))); j += len(h.group())
                        else: out.append('x')
                    elif c in '01234567':
                        o = re.match(r'[0-7]{0,2}', s[j:]).group()
                        out.append(chr(int(c + o, 8))); j += len(o)
                    else: out.append(c)
                else:
                    out.append(s[j]); j += 1
            words.append(("q", "".join(out))); i = j + 1
        else:
            j = i
            while j < n and not s[j].isspace(): j += 1
            words.append(("w", s[i:j])); i = j
    return [w for _, w in words]

def triplet_match(pats):
    import fnmatch
    return any(fnmatch.fnmatchcase(TRIPLET, p) or p in ("*-*-*", "*")
               for p in pats.split() if p not in ("||", "&&"))

def selector(sel):
    """dg-process-target: 'target X' -> S/N, 'xfail X' -> F/P."""
    w = sel.split(None, 1)
    what, rest = w[0], (w[1] if len(w) > 1 else "")
    if what == "target" and " xfail " in " " + rest + " ":
        t, x = rest.split("xfail", 1)
        if selector("target " + t) == "N": return "N"
        return selector("xfail " + x)
    rest = rest.strip()
    if rest in ("gccbug",):           # gcc 12, default ABI: no gcc bug
        hit = False
    elif rest.startswith("{"):
        expr = rest.strip("{} ")
        if expr.startswith("!"): hit = not triplet_match(expr[1:])
        else: hit = triplet_match(expr)
    else:
        hit = triplet_match(rest)
    if what == "xfail": return "F" if hit else "P"
    return "S" if hit else "N"

def directives(path):
    """What dg-test would do with the file: (do, skip reason, options, regex, xfail)."""
    text = open(path, errors="replace").read()
    do, skip, opts, pat, xfail, outxf = None, None, [], "", False, False
    for m in re.finditer(r'\{\s*(dg-[-a-z]+)(.*?)\}\s*(?:\*/|$)', text, re.M):
        name, args = m.group(1), tcl_words(m.group(2) + "")
        # re-split the whole directive: braces inside must balance
        line = text[m.start():text.find("\n", m.start())]
        inner = re.match(r'\{\s*(.*)\}', line.split("*/")[0].strip())
        if inner: args = tcl_words(inner.group(1))[1:]
        if name == "dg-do":
            do = args[0] if args else "run"
            if len(args) > 1:
                r = selector(args[1])
                if r == "N": skip = "dg-do target excludes %s" % TRIPLET
                if r == "F": xfail = True
        elif name in ("dg-options", "dg-additional-options"):
            if len(args) < 2 or selector(args[1]) == "S":
                opts += args[0].split() if args else []
        elif name == "dg-output":
            if len(args) >= 2:
                r = selector(args[1])
                if r == "N": continue
                if r == "F": outxf = True
            pat += args[0] if args else ""
        elif name == "dg-skip-if":
            if len(args) >= 2 and selector("target " + args[1]) == "S":
                skip = "dg-skip-if: %s" % (args[0] or args[1])
        elif name.startswith("dg-require"):
            skip = "%s not emulated" % name
        elif name == "dg-xfail-if":
            if len(args) >= 2 and selector("target " + args[1]) == "S": xfail = True
        elif name == "dg-excess-errors":
            xfail = True
    return do or "compile", skip, opts, pat, xfail or outxf

def tcl_to_py(p):
    p = p.replace("\n", "\r?\n")
    return p

# As libffi.exp's run-many-tests with gcc: each file at every optimization
# (LIBFFI_TEST_OPTIMIZATION, as there, else -O0 and -O2), and a file that
# mentions ABI_NUM also built for the second x86-64 ABI (ms_abi callees and
# closures, FFI_GNUW64).
OPTS = [os.environ["LIBFFI_TEST_OPTIMIZATION"]] if os.environ.get(
    "LIBFFI_TEST_OPTIMIZATION") else ["-O0", "-O2"]
ABIS = [("", []), (" gnuw64", ["-DABI_NUM=FFI_GNUW64", "-DABI_ATTR=__MSABI__"])]

def variants(f):
    with open(f, errors="replace") as fh:
        multi = "ABI_NUM" in fh.read()
    for o in OPTS:
        for tag, flags in (ABIS if multi else ABIS[:1]):
            yield " " + o + tag, o.split() + flags

progs = []   # (suite, name, source, flags, skip, regex, xfail)
for suite in ("libffi.call", "libffi.closures", "libffi.complex"):
    for f in sorted(glob.glob(os.path.join(ts, suite, "*.c"))):
        do, skip, opts, pat, xf = directives(f)
        if do != "run" and not skip: skip = "dg-do %s (not run)" % do
        for tag, vflags in variants(f):
            progs.append((suite, os.path.basename(f)[:-2] + tag, f,
                          vflags + opts, skip, pat, xf))
bh = os.path.join(ts, "libffi.bhaible")
for base, top in (("test-call", 81), ("test-callback", 80)):
    f = os.path.join(bh, base + ".c")
    if os.path.exists(f):
        for i in range(1, top + 1):
            for tag, vflags in variants(f):
                progs.append(("libffi.bhaible", "%s-%d%s" % (base, i, tag), f,
                              vflags + ["-DDGTEST=%d" % i] + WARN, None, "",
                              False))

def compile_(p, kind):
    suite, name, f, opts, skip, pat, xf = p
    exe = os.path.join(work, "%s.%s.%s" % (suite, name.replace(" ", "_"), kind))
    link = ["-lffi"] if kind == "ffi" else ["-L" + lib, "-lmodffi_ffi", "-Wl,-rpath," + lib]
    cmd = cc + ["-w", "-I" + os.path.join(ts, suite), "-I" + work,
           "-I" + os.environ["LS_INC"]] + ffi_cflags + \
          ["-W", "-Wall", "-Wno-psabi"] + opts + [f, "-o", exe] + link + ["-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if r.returncode == 0: return exe
    errs = [l for l in r.stderr.splitlines() if "error" in l] or r.stderr.splitlines() or ["?"]
    return "COMPILE: compile failed (%s): %s" % (kind, errs[0])

def run(exe, pat, env_extra):
    env = dict(os.environ); env.pop("MFFI_FFI_PATH", None); env.update(env_extra)
    try:
        r = subprocess.run([exe], capture_output=True, env=env, timeout=10, cwd=work)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        err, rc = r.stderr.decode(errors="replace"), r.returncode
    except subprocess.TimeoutExpired:
        return "FAIL", "timeout (10 s)"
    if any(l.startswith("modffi-ffi: refused:") for l in err.splitlines()):
        return "REFUSED", err
    if rc != 0:
        return "FAIL", "exit %d\n%s%s" % (rc, err, r.stdout.decode(errors="replace")[-400:])
    if pat:
        try:
            ok = re.search(tcl_to_py(pat), out) is not None
        except re.error as e:
            return "FAIL", "pattern not convertible: %s" % e
        if not ok:
            return "FAIL", "output did not match dg-output\n--- output:\n%s" % out[-600:]
    return "PASS", ""

kinds = ["ffi"] + (["mffi"] if have_mffi else [])
todo = [(p, k) for p in progs if not p[4] for k in kinds]
with cf.ThreadPoolExecutor(2) as ex:
    exes = dict(zip([(p[1], p[0], k) for p, k in todo], ex.map(lambda a: compile_(*a), todo)))

modes = [("libffi", "ffi", {})]
if have_mffi:
    modes += [("modffi fast", "mffi", {}), ("modffi libffi path", "mffi", {"MFFI_FFI_PATH": "libffi"})]
results = {}
def one(p):
    res = {}
    for label, k, env in modes:
        e = exes[(p[1], p[0], k)]
        res[label] = ("COMPILE", e[9:]) if e.startswith("COMPILE: ") else run(e, p[5], env)
    return p, res
with cf.ThreadPoolExecutor(2) as ex:
    for p, res in ex.map(one, [p for p in progs if not p[4]]):
        results[(p[0], p[1])] = res

ok_all, notes = True, []
hdr = "%-16s %8s %4s %7s %7s %7s %6s %7s %7s %5s" % ("suite", "programs", "run", "libffi",
      "fast", "lpath", "failed", "refused", "skipped", "xfail")
print("Passed: libffi / modffi fast (engine) / modffi libffi path (MFFI_FFI_PATH=libffi)")
if not have_mffi: print("(%s/libmodffi_ffi.so not found: libffi column only)" % lib)
print(hdr); print("-" * len(hdr))
for suite in ("libffi.call", "libffi.closures", "libffi.complex", "libffi.bhaible"):
    ps = [p for p in progs if p[0] == suite]
    run_ = [p for p in ps if not p[4]]
    cnt = {m[0]: 0 for m in modes}; failed = refused = xfl = 0
    for p in run_:
        res = results[(suite, p[1])]
        for m in cnt:
            cnt[m] += res[m][0] == "PASS"
        if p[6]: xfl += 1
        lf = res["libffi"][0]
        if lf != "PASS":
            notes.append("%s/%s: fails with libffi itself%s: %s" % (suite, p[1],
                         " (xfail)" if p[6] else "", res["libffi"][1].strip().splitlines()[:3]))
            continue
        bad = [(m, r) for m, r in res.items() if m != "libffi" and r[0] != "PASS"]
        if any(r[0] == "REFUSED" for _, r in bad): refused += 1
        elif bad: failed += 1
        if bad: ok_all = False
        for m, r in bad:
            lines = r[1].strip().splitlines()[:4]
            notes.append("%s/%s [%s]: %s\n    %s" % (suite, p[1], m, r[0],
                         "\n    ".join(lines)))
    for p in ps:
        if p[4]: notes.append("%s/%s: skipped: %s" % (suite, p[1], p[4]))
    g = lambda m: str(cnt[m]) if m in cnt else "-"
    print("%-16s %8d %4d %7s %7s %7s %6d %7d %7d %5d" % (suite, len(ps), len(run_),
          g("libffi"), g("modffi fast"), g("modffi libffi path"), failed, refused,
          len(ps) - len(run_), xfl))
if notes:
    print("\nFailures, refusals, skips:")
    for n in notes: print("  " + n)
print("\nresult: %s" % ("PASS" if ok_all and have_mffi else
      ("FAIL" if have_mffi else "no libmodffi_ffi.so: modffi not checked")))
sys.exit(0 if ok_all and have_mffi else 1)
PY
