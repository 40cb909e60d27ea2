-- LuaJIT's FFI on the signatures of bench/calls.c. See LICENSE.
--
-- Usage: luajit [-joff] bench/peers.lua LABEL PATH/bench_lib.so [CALLS [REPS]]
--
-- Declares bench/bench_lib.h (read from beside this script, preprocessor
-- lines dropped) with ffi.cdef, loads the callee library with ffi.load and
-- times each signature the way bench/calls.c does: CALLS calls per sample
-- after a warm-up (which also lets the JIT compile the loop), REPS samples
-- in which all loops take turns, the median sample minus the median of an
-- empty loop of as many iterations. The clock is clock_gettime
-- (CLOCK_MONOTONIC) called through the FFI. The qsort row sorts the same 64
-- ints as bench/calls.c through C's qsort() with a Lua comparator
-- (ffi.cast of a Lua function), minus a loop that only copies the array,
-- in ns per comparison. Prints "LABEL<TAB>case<TAB>ns" lines for
-- bench/peers.sh; run it with -joff for the interpreter.
local ffi = require("ffi")

local label, libpath = arg[1], arg[2]
local calls = tonumber(arg[3] or "") or 200000
local reps = tonumber(arg[4] or "") or 25
if not label or not libpath then
  io.stderr:write("usage: luajit [-joff] peers.lua LABEL PATH/bench_lib.so"
                  .. " [CALLS [REPS]]\n")
  os.exit(2)
end

-- The declarations: bench_lib.h itself, without its #-lines.
local here = (arg[0]:match("^(.*)/[^/]*$") or ".")
local f = assert(io.open(here .. "/bench_lib.h", "r"))
local decls = f:read("*a"):gsub("\n#[^\n]*", "\n"):gsub("^#[^\n]*", "")
f:close()
ffi.cdef(decls)
ffi.cdef [[
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct timespec *ts);
void qsort(void *base, size_t n, size_t size,
           int (*cmp)(const void *, const void *));
]]
local C = ffi.C
local lib = ffi.load(libpath)

local ts = ffi.new("struct timespec")
local function now_ns()
  C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

local sink -- Results land here.

-- Argument values, as in bench/calls.c.
local p = {}
for i = 1, 6 do p[i] = ffi.cast("void *", 0x1000 * i) end
local pt1 = ffi.new("struct bench_pt", 1, 2)
local pt2 = ffi.new("struct bench_pt", 3, 4)

local function loop_empty(n)
  for _ = 1, n do end
end

-- Each case: its loop and the value one call must return. Each loop keeps
-- the last result, as calls.c does: no addition chains the calls.
local cases = {
  {"nop", function(n)
    local nop = lib.nop
    for _ = 1, n do nop() end
  end},
  {"add", function(n)
    local add, r = lib.add
    for _ = 1, n do r = add(40, 2) end
    sink = r
  end},
  {"muladd", function(n)
    local muladd, r = lib.muladd
    for _ = 1, n do r = muladd(1.5, 2.0, 0.25) end
    sink = r
  end},
  {"ptr6", function(n)
    -- Test each result: a pointer kept in a Lua variable across
    -- iterations would be boxed every time (about 30 ns under the JIT),
    -- and keeping or adding it up boxes two more 64-bit cdata in the
    -- interpreter (about 250 ns under -joff).
    local ptr6, hits = lib.ptr6, 0
    local a, b, c, d, e, g = p[1], p[2], p[3], p[4], p[5], p[6]
    for _ = 1, n do
      if ptr6(a, b, c, d, e, g) == nil then hits = hits + 1 end
    end
    sink = hits
  end},
  {"pt_add", function(n)
    local pt_add, r = lib.pt_add
    for _ = 1, n do r = pt_add(pt1, pt2).y end
    sink = r
  end},
  {"int10", function(n)
    local int10, r = lib.int10
    for _ = 1, n do r = int10(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) end
    sink = r
  end},
  {"big24", function(n)
    -- Keep the struct: reading a long field would box an int64 cdata
    -- each time (the JIT cannot compile this call: aggregates by value).
    local big24, r = lib.big24
    for _ = 1, n do r = big24(40, 2) end
    sink = r.c
  end},
  {"mix", function(n)
    local mix, r = lib.mix
    for _ = 1, n do r = mix(1.5, 40, 0.25, 40) end
    sink = r
  end},
}

-- Each call must return what C returns, or the figures would time failures.
local function check()
  assert(lib.add(40, 2) == 42)
  assert(lib.muladd(1.5, 2.0, 0.25) == 3.25)
  local x = 0
  for i = 1, 6 do x = bit.bxor(x, 0x1000 * i) end
  local r6 = lib.ptr6(p[1], p[2], p[3], p[4], p[5], p[6])
  assert(ffi.cast("uintptr_t", r6) == x)
  local r = lib.pt_add(pt1, pt2)
  assert(r.x == 4 and r.y == 6)
  assert(lib.int10(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) == 55)
  local b = lib.big24(40, 2)
  assert(b.a == 40 and b.b == 2 and b.c == 42)
  assert(lib.mix(1.5, 40, 0.25, 40) == 81.75)
end

-- Median ns per iteration of each loop, minus the empty loop's median.
local function measure(loops, n)
  local all = {loop_empty}
  for i = 1, #loops do all[i + 1] = loops[i] end
  for i = 1, #all do all[i](math.floor(n / 10) + 1) end -- Warm up.
  local t = {}
  for i = 1, #all do t[i] = {} end
  for r = 1, reps do
    for i = 1, #all do
      local t0 = now_ns()
      all[i](n)
      t[i][r] = (now_ns() - t0) / n
    end
  end
  local med = {}
  for i = 1, #all do
    table.sort(t[i])
    med[i] = t[i][math.floor(reps / 2) + 1]
  end
  local out = {}
  for i = 1, #loops do out[i] = med[i + 1] - med[1] end
  return out
end

check()
local loops = {}
for i, c in ipairs(cases) do loops[i] = c[2] end
local t = measure(loops, calls)
for i, c in ipairs(cases) do
  io.write(string.format("%s\t%s\t%.3f\n", label, c[1], t[i]))
end

-- qsort with a Lua comparator. The data: bench/calls.c's sort_fill().
local NSORT = 64
local src = ffi.new("int[?]", NSORT)
local buf = ffi.new("int[?]", NSORT)
local x = 12345ULL
for i = 0, NSORT - 1 do
  x = (x * 1103515245ULL + 12345ULL) % 4294967296ULL
  src[i] = tonumber(x / 256ULL)
end
local ncmp = 0
local ip = ffi.typeof("const int *")
local function cmp(a, b)
  local u, v = ffi.cast(ip, a)[0], ffi.cast(ip, b)[0]
  if u < v then return -1 elseif u > v then return 1 end
  return 0
end
local counting = ffi.cast("int (*)(const void *, const void *)", function(a, b)
  ncmp = ncmp + 1
  return cmp(a, b)
end)
local cb = ffi.cast("int (*)(const void *, const void *)", cmp)
local size = ffi.sizeof(src)
ffi.copy(buf, src, size)
C.qsort(buf, NSORT, 4, counting)
local per_sort = ncmp
counting:free()
ffi.copy(buf, src, size)
C.qsort(buf, NSORT, 4, cb)
for i = 1, NSORT - 1 do
  assert(buf[i - 1] <= buf[i], "the comparator does not sort")
end
local function loop_copy(n)
  for _ = 1, n do ffi.copy(buf, src, size) end
end
local function loop_sort(n)
  for _ = 1, n do
    ffi.copy(buf, src, size)
    C.qsort(buf, NSORT, 4, cb)
  end
end
local nsorts = math.floor(calls / per_sort) + 1
local ts2 = measure({loop_copy, loop_sort}, nsorts)
io.write(string.format("%s\tqsort\t%.3f\n", label,
                       (ts2[2] - ts2[1]) / per_sort))
cb:free()
