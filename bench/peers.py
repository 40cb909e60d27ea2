"""Python's FFIs on the signatures of bench/calls.c. See LICENSE.

Usage: python3 bench/peers.py PATH/bench_lib.so [--api-dir DIR] [CALLS [REPS]]

Times each signature of bench/bench_lib.h through
  - cffi in ABI mode (ffi.cdef of bench_lib.h, ffi.dlopen of the library);
  - cffi in API mode, when --api-dir is given and a C extension module can be
    built there (ffi.set_source, ffi.compile: needs Python.h and a compiler,
    no network);
  - ctypes (CDLL, argtypes and restype set once).
Method as in bench/calls.c: CALLS calls per sample after a warm-up, REPS
samples in which the ways take turns, the median sample minus the median of
an empty loop (`for _ in range(n): pass`) of as many iterations, timed with
time.perf_counter_ns(). Each loop calls the function with its arguments
held in local variables and drops the result, which Python builds anyway.
The qsort row sorts the same 64 ints as bench/calls.c through C's qsort()
with a Python comparator (ffi.callback, ctypes.CFUNCTYPE) in ns per
comparison, minus a loop that only copies the array back.

Prints "way<TAB>case<TAB>ns" lines for bench/peers.sh, and "note<TAB>text"
for a way it skipped and why. Never fails because a peer is missing.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
API_MODULE = "_bench_peers_api"
NSORT = 64


def header_decls():
    """bench_lib.h without its preprocessor lines (cffi's cdef takes no #if)."""
    with open(os.path.join(HERE, "bench_lib.h")) as f:
        return "".join(l for l in f if not l.lstrip().startswith("#"))


QSORT_DECL = ("void qsort(void *base, size_t n, size_t size,\n"
              "           int (*cmp)(const void *, const void *));\n")


def build_api(libpath, outdir):
    """Builds the API-mode module into outdir (run in a child process)."""
    import cffi
    ffib = cffi.FFI()
    ffib.cdef(header_decls() + QSORT_DECL)
    libdir = os.path.dirname(os.path.abspath(libpath))
    ffib.set_source(API_MODULE, '#include "bench_lib.h"\n#include <stdlib.h>\n',
                    include_dirs=[HERE],
                    extra_compile_args=["-O2"],
                    extra_link_args=[os.path.abspath(libpath),
                                     "-Wl,-rpath," + libdir])
    ffib.compile(tmpdir=outdir, verbose=False)


def sort_data():
    """bench/calls.c's sort_fill()."""
    x, out = 12345, []
    for _ in range(NSORT):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(x >> 8)
    return out


def loop_empty(n):
    for _ in range(n):
        pass


def measure(loops, n, reps):
    """Median ns per iteration of each loop minus the empty loop's median."""
    everything = [loop_empty] + list(loops)
    for f in everything:
        f(n // 10 + 1)
    t = [[] for _ in everything]
    clock = time.perf_counter_ns
    for _ in range(reps):
        for i, f in enumerate(everything):
            t0 = clock()
            f(n)
            t[i].append((clock() - t0) / n)
    med = [sorted(s)[reps // 2] for s in t]
    return [m - med[0] for m in med[1:]]


# -- One way of calling: its loops and its qsort -----------------------------

def check_results(lib, ptrs, p1, p2, as_int):
    """Each callee once, against the C results (as_int: a pointer result
    as an integer, in the peer's own way)."""
    assert lib.add(40, 2) == 42
    assert lib.muladd(1.5, 2.0, 0.25) == 3.25
    assert as_int(lib.ptr6(*ptrs)) == 0x1000 ^ 0x2000 ^ 0x3000 ^ 0x4000 ^ \
        0x5000 ^ 0x6000
    r = lib.pt_add(p1, p2)
    assert (r.x, r.y) == (4, 6)
    assert lib.int10(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) == 55
    b = lib.big24(40, 2)
    assert (b.a, b.b, b.c) == (40, 2, 42)
    assert lib.mix(1.5, 40, 0.25, 40) == 81.75


def call_loops(lib, ptrs, p1, p2):
    """The timed loops of the eight signatures, one way of calling them
    (arguments bound as defaults, so a loop reads no global)."""
    def nop(n, f=lib.nop):
        for _ in range(n):
            f()

    def add(n, f=lib.add, a=40, b=2):
        for _ in range(n):
            f(a, b)

    def muladd(n, f=lib.muladd, a=1.5, b=2.0, c=0.25):
        for _ in range(n):
            f(a, b, c)

    def ptr6(n, f=lib.ptr6, a=ptrs[0], b=ptrs[1], c=ptrs[2], d=ptrs[3],
             e=ptrs[4], g=ptrs[5]):
        for _ in range(n):
            f(a, b, c, d, e, g)

    def pt_add(n, f=lib.pt_add, a=p1, b=p2):
        for _ in range(n):
            f(a, b)

    def int10(n, f=lib.int10):
        for _ in range(n):
            f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)

    def big24(n, f=lib.big24, a=40, b=2):
        for _ in range(n):
            f(a, b)

    def mix(n, f=lib.mix, a=1.5, b=40, c=0.25, d=40):
        for _ in range(n):
            f(a, b, c, d)

    return dict(nop=nop, add=add, muladd=muladd, ptr6=ptr6, pt_add=pt_add,
                int10=int10, big24=big24, mix=mix)


def cffi_way(ffi, lib, libc):
    """Loops over lib (ABI or API mode alike) and the qsort pieces."""
    ptrs = [ffi.cast("void *", 0x1000 * i) for i in range(1, 7)]
    pt = ffi.new("struct bench_pt[2]", [(1, 2), (3, 4)])
    p1, p2 = pt[0], pt[1]
    check_results(lib, ptrs, p1, p2,
                  lambda p: int(ffi.cast("uintptr_t", p)))

    loops = call_loops(lib, ptrs, p1, p2)

    src = ffi.new("int[]", sort_data())
    buf = ffi.new("int[]", NSORT)
    size = ffi.sizeof(src)
    ip = ffi.typeof("const int *")
    cast = ffi.cast

    def cmp(a, b):
        u, v = cast(ip, a)[0], cast(ip, b)[0]
        return (u > v) - (u < v)

    cb = ffi.callback("int (*)(const void *, const void *)", cmp)
    count = [0]

    def counting(a, b):
        count[0] += 1
        return cmp(a, b)

    ccb = ffi.callback("int (*)(const void *, const void *)", counting)
    qsort, memmove = libc.qsort, ffi.memmove

    def copy(n):
        for _ in range(n):
            memmove(buf, src, size)

    def sort(n, c=cb):
        for _ in range(n):
            memmove(buf, src, size)
            qsort(buf, NSORT, 4, c)

    sort(1, ccb)
    assert list(buf) == sorted(sort_data())
    return loops, copy, sort, count[0], (cb, ccb)


def ctypes_way(libpath):
    import ctypes as ct

    class Pt(ct.Structure):
        _fields_ = [("x", ct.c_double), ("y", ct.c_double)]

    class Big24(ct.Structure):
        _fields_ = [("a", ct.c_long), ("b", ct.c_long), ("c", ct.c_long)]

    lib = ct.CDLL(libpath)
    sigs = dict(nop=(None, []), add=(ct.c_int, [ct.c_int] * 2),
                muladd=(ct.c_double, [ct.c_double] * 3),
                ptr6=(ct.c_void_p, [ct.c_void_p] * 6),
                pt_add=(Pt, [Pt, Pt]), int10=(ct.c_int, [ct.c_int] * 10),
                big24=(Big24, [ct.c_long] * 2),
                mix=(ct.c_double, [ct.c_float, ct.c_int, ct.c_double,
                                   ct.c_long]))
    for name, (res, args) in sigs.items():
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = args
    ptrs = [0x1000 * i for i in range(1, 7)]
    p1, p2 = Pt(1, 2), Pt(3, 4)
    check_results(lib, ptrs, p1, p2, int)

    loops = call_loops(lib, ptrs, p1, p2)

    IntArray = ct.c_int * NSORT
    src, buf = IntArray(*sort_data()), IntArray()
    size = ct.sizeof(src)
    CMP = ct.CFUNCTYPE(ct.c_int, ct.POINTER(ct.c_int), ct.POINTER(ct.c_int))

    def cmp(a, b):
        u, v = a[0], b[0]
        return (u > v) - (u < v)

    count = [0]

    def counting(a, b):
        count[0] += 1
        return cmp(a, b)

    cb, ccb = CMP(cmp), CMP(counting)
    libc = ct.CDLL(None)
    qsort = libc.qsort
    qsort.restype = None
    qsort.argtypes = [ct.c_void_p, ct.c_size_t, ct.c_size_t, CMP]
    memmove = ct.memmove

    def copy(n):
        for _ in range(n):
            memmove(buf, src, size)

    def sort(n, c=cb):
        for _ in range(n):
            memmove(buf, src, size)
            qsort(buf, NSORT, 4, c)

    sort(1, ccb)
    assert list(buf) == sorted(sort_data())
    return loops, copy, sort, count[0], (cb, ccb)


# -- main -------------------------------------------------------------------

def main(argv):
    if len(argv) >= 4 and argv[1] == "--build-api":
        build_api(argv[3], argv[2])
        return 0
    args = argv[1:]
    api_dir = None
    if "--api-dir" in args:
        i = args.index("--api-dir")
        api_dir = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    libpath = os.path.abspath(args[0])
    calls = int(args[1]) if len(args) > 1 else 50000
    reps = int(args[2]) if len(args) > 2 else 15
    ver = "Python %d.%d.%d" % sys.version_info[:3]

    ways = []  # (name, loops, copy, sort, comparisons per sort, keep-alive)
    try:
        import cffi
    except ImportError:
        cffi = None
        print("note\tcffi: not installed for %s (%s): left out." %
              (sys.executable, ver))
    if cffi is not None:
        ffi = cffi.FFI()
        ffi.cdef(header_decls() + QSORT_DECL)
        lib, libc = ffi.dlopen(libpath), ffi.dlopen(None)
        ways.append(("cffi",) + cffi_way(ffi, lib, libc))
        print("note\tcffi: cffi %s, %s." % (cffi.__version__, ver))
        if api_dir:
            os.makedirs(api_dir, exist_ok=True)
            log = os.path.join(api_dir, "build.log")
            with open(log, "w") as f:
                rc = subprocess.call([sys.executable, os.path.abspath(__file__),
                                      "--build-api", api_dir, libpath],
                                     stdout=f, stderr=subprocess.STDOUT)
            if rc == 0:
                sys.path.insert(0, api_dir)
                mod = __import__(API_MODULE)
                ways.append(("cffi-api",) + cffi_way(mod.ffi, mod.lib,
                                                      mod.lib))
            else:
                print("note\tcffi-api: the API-mode module did not build "
                      "(see %s): left out." % log)
    ways.append(("ctypes",) + ctypes_way(libpath))
    sys.stdout.flush()

    for case in ("nop", "add", "muladd", "ptr6", "pt_add", "int10", "big24",
                 "mix"):
        t = measure([w[1][case] for w in ways], calls, reps)
        for w, ns in zip(ways, t):
            print("%s\t%s\t%.3f" % (w[0], case, ns))
        sys.stdout.flush()
    for w in ways:
        per_sort = w[4]
        n = calls // per_sort + 1
        copy, sort = measure([w[2], w[3]], n, reps)
        print("%s\tqsort\t%.3f" % (w[0], (sort - copy) / per_sort))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
