-- SPDX-License-Identifier: GPL-2.0
--
-- A fuzzer of the Lua API a script sees: random calls, with random and
-- edge-case arguments, to every function of every library the state has
-- (base, string, table, utf8, math, coroutine, data, byteorder and, in the
-- kernel, linux, lunatik and rcu), and to the language's operators on
-- objects whose metamethods fail. Every call runs in pcall; a call may fail
-- as it likes. What must not happen is a crash, a sanitizer report, a
-- kernel warning or a state that stops answering: the host test
-- (lua/fuzz_tests.rs) and the VM suite (selftests/suites/06-fuzz.sh) check
-- those around it.
--
-- fuzz(seed, calls) makes `calls` calls and returns the number made, a
-- checksum of what happened (which functions ran, whether they failed, how
-- many values they returned) and, if the fuzzer itself broke, why. All
-- randomness comes from the seed, and each seed builds its own fresh
-- tables and objects, so a run is replayed by calling fuzz with the same
-- seed (in a fresh state for an exact replay: shared state, such as the
-- rcu tables, carries over between seeds).
--
-- Written for this build: integers only (no float literal, `/` floors).
--
-- Bounded by construction: the fuzzer never loops on its own without a
-- bound, every generated chunk is free of loops, gotos and function
-- definitions, and the arguments that would make one library call run for
-- minutes are not generated (see BOUNDS below). A state's instruction
-- budget now counts work done inside C functions too (docs/states.md),
-- so these bounds only keep the fuzzer's calls short enough to make many
-- of them; they are no longer what stops a runaway call.

local maxint, minint = math.maxinteger, math.mininteger
local pcall, select, type, tostring = pcall, select, type, tostring
local collectgarbage = collectgarbage
local setmetatable, error = setmetatable, error
local unpack = table.unpack
local srep, schar, ssub = string.rep, string.char, string.sub
local tconcat = table.concat
local tsort = table.sort
local cocreate, coresume, cowrap, coyield = coroutine.create, coroutine.resume,
	coroutine.wrap, coroutine.yield

-- BOUNDS: the sizes that keep each call short. Pattern matching
-- backtracks (a subject of n bytes and a pattern with k repetitions can
-- cost n^(k+1) steps), so pattern subjects stay short; table ranges stay
-- near their start, since table.move, table.concat, table.insert and
-- table.unpack walk every index of a range (table.move(t, 1, maxinteger, 1)
-- would walk 2^63 of them); __len metamethods return small, non-negative
-- lengths, for table.insert and table.remove walk between the length and
-- the position (a length of -1 lets table.remove(t, minint + 1) walk 2^63
-- indices: seed 1098 hung on it before this bound); and `load` is
-- never given a reader function it did not make, since a C function that
-- always returns a string (collectgarbage, linux.numcpus) would be read
-- from until memory runs out, a full collection per piece.
local SUBJECT_MAX = 256 -- bytes of a pattern subject
local RANGE_MAX = 64 -- indices in a table range
local HUGE_SIZES = { 255, 256, 4095, 4096, 65535, 65536, 65537 }

-- The PRNG: xorshift64 on Lua's wrapping 64-bit integers, its state mixed
-- from the seed by splitmix64, so neighbouring seeds give unrelated runs.
local rng = 1

local function seed_rng(seed)
	local z = seed + 0x9E3779B97F4A7C15
	z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ~ (z >> 27)) * 0x94D049BB133111EB
	z = z ~ (z >> 31)
	rng = z ~= 0 and z or 1
end

local function next64()
	local x = rng
	x = x ~ (x << 13)
	x = x ~ (x >> 7)
	x = x ~ (x << 17)
	rng = x
	return x
end

-- An integer in [0, n), n >= 1.
local function below(n)
	return (next64() >> 1) % n
end

local function chance(n)
	return below(n) == 0
end

local function choose(list)
	return list[below(#list) + 1]
end

-- Integers at the edges of every width and sign.
local EDGES = {
	0, 1, -1, 2, -2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256,
	-255, -256, 1023, 1024, 4095, 4096, 65535, 65536, 65537, -65536,
	(1 << 31) - 1, 1 << 31, -(1 << 31), (1 << 32) - 1, 1 << 32, 1 << 53,
	1 << 62, maxint, maxint - 1, minint, minint + 1, -maxint,
}

local function int()
	local k = below(8)
	if k < 4 then
		return choose(EDGES)
	elseif k < 7 then
		return below(300) - 4
	end
	return next64()
end

-- Scratch tables the generators reuse, so that making an argument
-- allocates little more than the argument: in the selftest VM every
-- allocation costs about a millisecond (KASAN, kmemleak and SLUB debugging
-- each record a stack trace, under TCG), and the VM suite makes 100,000
-- calls. Each generator uses its own, and none calls another that uses
-- the same one while it fills it.
local codes = {} -- random_string's bytes
local parts = {} -- pattern, format_string, pack_format and chunk pieces
local spec = {} -- format_spec's pieces
local ARGS = {} -- the arguments of the call being made

-- Bytes of random strings: no capital letters and few others, so that no
-- printed string can spell a word the VM's console scan looks for.
local ALPHABET = { string.byte("abxyz019 %.[]^$()*+-?:,\0\t\n\128\255\195\169", 1, -1) }

-- A string of up to `max` (at most 256) random bytes.
local function random_string(max)
	local n = below(max + 1)
	for i = 1, n do
		codes[i] = ALPHABET[below(#ALPHABET) + 1]
	end
	return schar(unpack(codes, 1, n))
end

local SHORT = {
	"", "a", "ab", "abc", "\0", "a\0b", "\255\254", "%", "%%", "%d", "%s",
	"()", "[", "]", "^$", "hello world", "12", "-7", "0x10", "  42  ", "1e5",
	"10", "z", "\195\169", "\244\144\128\128", "\237\160\128", "\255",
	"collect", "count", "step", "data", "byteorder", "linux", "rcu",
	"lunatik", "fuzz.a", "__index", "n", "true", "nil", "k", "x", "y",
	"return 1", "\u{7FF}\u{FFFF}\u{10FFFF}", srep("a", 40), srep("b", 41),
}

-- Strings up to 64 KiB, made once (strings are values: sharing them
-- between seeds does not change a run).
local HUGE = {}
do
	local block = "ab%.[x]yz0-9\0\255\195\169:"
	for i, size in ipairs(HUGE_SIZES) do
		HUGE[i] = ssub(srep(block, size // #block + 1), 1, size)
	end
	HUGE[#HUGE + 1] = srep("\u{E9}\u{20AC}\u{1D11E}a", 6000)
end

-- The values of one seed's run: fresh tables, functions and objects,
-- made by new_pool, and the values calls returned (fed back as arguments).
local pool

-- The targets: every function to call, with the shape of its arguments.
local targets = {}

-- Library functions to pass where a callback is expected.
local callbacks = {}

-- Functions called only with arguments of their shape, never with
-- anything at all, and never passed as callbacks (pcall, xpcall and the
-- call operator would give them anything): those that walk a range of
-- indices, or read from a function until it stops, with no bound of their
-- own (see BOUNDS; seed 345 of the host test hung in table.move(t,
-- 285278208, 2147483647, 63232) before this), and print, so that the log
-- stays small.
local SHAPED_ONLY = {
	load = true, print = true, ["table.move"] = true, ["table.concat"] = true,
	["table.unpack"] = true,
}

local function add(name, fn, shape)
	if type(fn) == "function" then
		targets[#targets + 1] = {
			name = name, fn = fn, shape = shape or "*", ok = 0, failed = 0,
			shaped_only = SHAPED_ONLY[name],
		}
		-- collectgarbage as a callback would make each call of it a full
		-- collection.
		if not SHAPED_ONLY[name] and name ~= "collectgarbage" then
			callbacks[#callbacks + 1] = fn
		end
	end
end

local function short_string()
	local k = below(10)
	if k < 5 then
		return choose(SHORT)
	elseif k < 9 then
		return random_string(24)
	end
	-- A short string an earlier call returned, if any.
	if #pool.strings > 0 then
		return choose(pool.strings)
	end
	return ""
end

local function str()
	if chance(8) then
		return choose(HUGE)
	end
	return short_string()
end

local value

local function tbl()
	if chance(4) then
		return choose(pool.objects)
	end
	return choose(pool.tables)
end

local function func()
	local k = below(4)
	if k == 0 then
		return choose(callbacks)
	end
	return choose(pool.functions)
end

-- A coroutine, suspended, dead, running or not yet started.
local function thread()
	return choose(pool.threads)
end

local function special()
	local k = below(4)
	if k == 0 and #pool.views > 0 then
		return choose(pool.views)
	elseif k == 1 and #pool.rcu > 0 then
		return choose(pool.rcu)
	end
	return thread()
end

function value()
	local k = below(20)
	if k < 4 then
		return int()
	elseif k < 8 then
		return str()
	elseif k == 8 then
		return nil
	elseif k == 9 then
		return chance(2)
	elseif k < 12 then
		return tbl()
	elseif k < 14 then
		return func()
	elseif k < 16 then
		return special()
	end
	local fed = pool.fed
	if #fed > 0 then
		return fed[below(#fed) + 1]
	end
	return int()
end

-- Pattern pieces: every magic character, classes, sets, captures,
-- back-references, balances and frontiers, valid or not.
local PATTERN_PIECES = {
	"a", "b", "x", "0", ".", "%a", "%d", "%s", "%w", "%x", "%p", "%c",
	"%g", "%u", "%l", "%A", "%S", "%.", "%%", "%", "[ab]", "[^%d]", "[a-z]",
	"[%a-]", "[]", "[^]", "[", "]", "^", "$", "(", ")", "()", "*", "+", "-",
	"?", "%b()", "%bxy", "%b", "%f[%w]", "%f[^%z]", "%f", "%1", "%2",
	"%0", "%9", "%z", "\0", "[\0-\255]",
}

local function pattern()
	if chance(6) then
		return short_string()
	end
	local n = below(10) + 1
	for i = 1, n do
		parts[i] = choose(PATTERN_PIECES)
	end
	return tconcat(parts, "", 1, n)
end

local function subject()
	if chance(3) then
		return choose(SHORT)
	end
	return random_string(SUBJECT_MAX)
end

local REPLACEMENTS = { "%0", "%1", "%2", "%%", "%", "%a", "<%0%0>", "" }

local function replacement()
	local k = below(6)
	if k == 0 then
		return tbl()
	elseif k == 1 then
		return func()
	elseif k == 2 then
		return choose(REPLACEMENTS)
	end
	return short_string()
end

local FORMAT_CONVERSIONS = "diouxXcsqaAeEfFgGp%zb"
local FORMAT_FLAGS = "-+ #0"
local FORMAT_WIDTHS = { "0", "1", "5", "20", "99", "100", "250", "1000" }
local FORMAT_PRECISIONS = { ".", ".0", ".1", ".3", ".50", ".99", ".100", ".1000" }

local function format_spec()
	spec[1] = "%"
	local n = 1
	for _ = 1, below(4) do
		local i = below(#FORMAT_FLAGS) + 1
		n = n + 1
		spec[n] = ssub(FORMAT_FLAGS, i, i)
	end
	if chance(2) then
		n = n + 1
		spec[n] = choose(FORMAT_WIDTHS)
	end
	if chance(3) then
		n = n + 1
		spec[n] = choose(FORMAT_PRECISIONS)
	end
	local i = below(#FORMAT_CONVERSIONS) + 1
	n = n + 1
	spec[n] = ssub(FORMAT_CONVERSIONS, i, i)
	return tconcat(spec, "", 1, n)
end

local function format_string()
	local n = below(5) + 1
	for i = 1, n do
		parts[i] = chance(3) and short_string() or format_spec()
	end
	return tconcat(parts, "", 1, n)
end

-- string.pack options, with sizes and alignments in and out of range.
local PACK_PIECES = {
	"b", "B", "h", "H", "i", "I", "l", "L", "j", "J", "T", "f", "d", "n",
	"i1", "i3", "i8", "i16", "i17", "I9", "s", "s1", "s2", "s4", "z", "x",
	"c", "c0", "c1", "c10", "c2147483647", "<", ">", "=", "!", "!4", "!16",
	"Xi8", "Xi3", "X", " ", "j", "i0",
}

local function pack_format()
	local n = below(6) + 1
	for i = 1, n do
		parts[i] = choose(PACK_PIECES)
	end
	return tconcat(parts, "", 1, n)
end

-- Chunks for load: snippets and soups of tokens. No loop, goto or
-- function keyword is ever produced, so no chunk can run unboundedly.
local SNIPPETS = {
	"return ...", "return select('#', ...)", "error('chunk')", "return {...}",
	"local x <close> = ... return 1", "local x <const> = 1 x = 2",
	"return coroutine.yield(...)", "return 1 // 0", "return 1.5", "x = 1",
	"return _ENV", "local a, b = ... return a .. b", "return #...",
	"return (...)[1]", "return tostring(...)", "return 0x7fffffffffffffff + 1",
	"return 9223372036854775807", "return 9223372036854775808",
	"return '\\u{7FFFFFFF}'", "return '\\xff\\z   x'", "return [==[\nx]==]",
	"--[[ comment ]] return", "return 'unfinished", "return [[", "::a::",
	"global x = 1", "local t = {...} t[1] = t return t",
}

local TOKENS = {
	"local", "return", "if", "then", "else", "end", "do", "break", "and",
	"or", "not", "nil", "true", "false", "x", "y", "_ENV", "type", "select",
	"error", "tostring", "...", "(", ")", "{", "}", "[", "]", "=", "==",
	"~=", "<", "<=", "..", "+", "-", "*", "/", "//", "%", "^", "#", "&",
	"|", "~", "<<", ">>", ",", ";", ":", ".", "0", "1", "0x10", "'s'",
	"\"\\0\"", "[[s]]", "<close>", "<const>", "global", "1e2", "2.5",
}

local function chunk()
	if chance(2) then
		return choose(SNIPPETS)
	end
	local n = below(16) + 1
	for i = 1, n do
		parts[i] = choose(TOKENS)
	end
	return tconcat(parts, " ", 1, n)
end

-- A reader for load that returns a few pieces, then nothing.
local function reader()
	local pieces = { chunk(), " ", chunk() }
	local i = 0
	return function()
		i = i + 1
		return pieces[i]
	end
end

local GC_OPTIONS = {
	"collect", "count", "step", "isrunning", "incremental", "generational",
	"param", "stop", "restart", "bogus", "",
}
local GC_PARAMS = {
	"minormul", "majorminor", "minormajor", "pause", "stepmul", "stepsize",
	"bogus",
}

local DATA_METHODS = {
	"getbyte", "setbyte", "getint8", "setint8", "getuint8", "setuint8",
	"getint16", "setint16", "getuint16", "setuint16", "getint32",
	"setint32", "getuint32", "setuint32", "getint64", "setint64",
	"getnumber", "setnumber", "getstring", "setstring", "checksum",
}

-- The libraries the kernel adds; absent on the host.
local function optional(name)
	local ok, lib = pcall(require, name)
	if ok and type(lib) == "table" then
		return lib
	end
end

local data = optional("data")
local byteorder = optional("byteorder")
local linux = optional("linux")
local lunatik = optional("lunatik")
local rcu = optional("rcu")

local RCU_NAMES = { "fuzz.a", "fuzz.b", "fuzz.c" }
local RCU_KEYS = { "a", "b", "k1", "k2", "", srep("k", 255), srep("k", 256) }

-- Offsets and lengths around the edges of a view of `size` bytes.
local NEAR_EDGE = { 0, 1, -8, -4, -2, -1, 0, 1, 2 }

local function offset(size)
	local k = below(4)
	if k == 0 then
		return choose(EDGES)
	elseif k == 1 then
		return below(3) - 1
	elseif k == 2 then
		return size // 2
	end
	return size + choose(NEAR_EDGE)
end

-- Arguments for one call of target `t`, as a packed table.
local gen = {}
gen.V = value
gen.S = str
gen.s = subject
gen.P = pattern
gen.R = replacement
gen.F = format_string
gen.K = pack_format
gen.I = int
-- A position or count: small half the time, else any integer.
gen.n = function() return chance(2) and below(70) - 3 or int() end
gen.T = tbl
gen.f = func
gen.C = function() return chance(4) and func() or thread() end
gen.p = function() return chance(2) and below(1000) or int() end
-- A value for print: short strings only, so that the log stays small.
gen.x = function()
	local v = value()
	if type(v) == "string" and #v > 64 then
		return ssub(v, 1, 64)
	end
	return v
end
gen.L = function() return chance(8) and reader() or chunk() end
gen.E = function() return chance(4) and tbl() or pool.env end
gen.Q = function() return chance(2) and choose(SHORT) or str() end
gen.M = function()
	if chance(4) then
		return nil
	end
	return choose(pool.metatables)
end
local RCU_ODD_NAMES = { 0, -1, 1, 2, 16, 65537, maxint, minint, "", "bad name!" }
gen.N = function()
	if chance(3) then
		return choose(RCU_ODD_NAMES)
	end
	return choose(RCU_NAMES)
end
gen.U = function() return chance(8) and value() or choose(pool.rcu) end
gen.k = function() return chance(6) and value() or choose(RCU_KEYS) end
local RCU_VALUES = { srep("v", 65536), srep("v", 65537), 0, maxint, true, false }
gen.v = function()
	local k = below(6)
	if k == 0 then
		return value()
	elseif k == 1 then
		return choose(RCU_VALUES)
	end
	return chance(2) and short_string() or int()
end
gen.D = function()
	if chance(8) or #pool.views == 0 then
		return value()
	end
	return choose(pool.views)
end

local function gen_args(t)
	local shape = t.shape
	if chance(12) and not t.shaped_only then
		-- Anything at all, in any number.
		local n = below(6)
		for i = 1, n do
			ARGS[i] = value()
		end
		return n
	end
	local args, n, size = ARGS, 0, nil
	for i = 1, #shape do
		local c = ssub(shape, i, i)
		if c == "*" then
			-- Zero or more values, rarely many.
			for _ = 1, chance(16) and below(24) or below(4) do
				n = n + 1
				args[n] = value()
			end
		elseif c == "+" then
			-- For print: often more values than a C function's minimum
			-- stack space (20 slots).
			for _ = 1, chance(4) and below(32) or below(4) do
				n = n + 1
				args[n] = gen.x()
			end
		elseif c == "G" then
			-- collectgarbage's option, then what that option takes.
			local option = chance(8) and value() or choose(GC_OPTIONS)
			args[n + 1] = option
			n = n + 1
			if option == "param" then
				args[n + 1] = chance(8) and value() or choose(GC_PARAMS)
				n = n + 1
			end
			args[n + 1] = gen.p()
			n = n + 1
		elseif c == "O" then
			n = n + 1
			args[n] = offset(size or 16)
		elseif c == "a" or c == "A" then
			-- The start of a table range, and its end next to it.
			local first = chance(3) and choose(EDGES) or below(8) - 2
			n = n + 1
			args[n] = first
			if c == "A" and chance(16) then
				-- An end far away, for table.move and table.unpack, which
				-- refuse such a range (from a start below 1 to maxinteger)
				-- before walking it. table.concat does not: it walks until
				-- an element is not a string, and an __index that answers
				-- every key made it walk until memory ran out (seed 50003
				-- of the host test, 3 seconds under ASan).
				args[n + 1] = first < 1 and maxint or first + below(RANGE_MAX)
			else
				args[n + 1] = first + below(RANGE_MAX) - 2
			end
			n = n + 1
		else
			local v = gen[c]()
			n = n + 1
			args[n] = v
			if c == "D" and pool.is_view[v] then
				size = #v
			end
		end
		-- Sometimes stop early: missing arguments are a case too.
		if chance(24) then
			break
		end
	end
	return n
end

-- Operators, so metamethods run from the VM as well as from C.
local ops = {
	{ "op.index", function(a, b) return a[b] end, "VV" },
	{ "op.newindex", function(a, b, c) a[b] = c end, "VVV" },
	{ "op.call", function(f, ...) return f(...) end, "V*" },
	{ "op.len", function(a) return #a end, "V" },
	{ "op.concat", function(a, b) return a .. b end, "VV" },
	{ "op.eq", function(a, b) return a == b end, "VV" },
	{ "op.lt", function(a, b) return a < b end, "VV" },
	{ "op.le", function(a, b) return a <= b end, "VV" },
	{ "op.add", function(a, b) return a + b end, "VV" },
	{ "op.mul", function(a, b) return a * b end, "II" },
	{ "op.div", function(a, b) return a / b end, "II" },
	{ "op.idiv", function(a, b) return a // b end, "VV" },
	{ "op.mod", function(a, b) return a % b end, "II" },
	{ "op.pow", function(a, b) return a ^ b end, "II" },
	{ "op.shl", function(a, b) return a << b end, "VI" },
	{ "op.band", function(a, b) return a & b end, "VV" },
	{ "op.unm", function(a) return -a end, "V" },
	{ "op.bnot", function(a) return ~a end, "V" },
	{ "op.close", function(a) local x <close> = a return 1 end, "V" },
	{ "op.close_error", function(a) local x <close> = a error("body") end, "V" },
	-- A generic for with a closing value, stopped after a few steps.
	{ "op.for", function(f, s, c, closing)
		local n = 0
		for _ in f, s, c, closing do
			n = n + 1
			if n >= 8 then
				break
			end
		end
		return n
	end, "fVVV" },
	{ "op.resume", function(co, ...) return coresume(co, ...) end, "C*" },
}
for _, op in ipairs(ops) do
	add(op[1], op[2], op[3])
end

-- The base library, by name, with the shape of each one's arguments.
local BASE = {
	assert = "V*", collectgarbage = "G", error = "VI", getmetatable = "V",
	ipairs = "T", load = "LSSE", next = "TV", pairs = "T", pcall = "f*",
	print = "+", rawequal = "VV", rawget = "TV", rawlen = "V", rawset = "TVV",
	select = "n*", setmetatable = "TM", tonumber = "Sn", tostring = "V",
	type = "V", xpcall = "ff*", warn = "S*", require = "Q",
}

-- The other libraries' functions; those not listed take anything.
local SHAPES = {
	string = {
		byte = "Snn", char = "nnnn*", dump = "fV", find = "sPnV",
		format = "F*****", gmatch = "sPn", gsub = "sPRn", len = "S",
		lower = "S", match = "sPn", rep = "SnS", reverse = "S", sub = "Snn",
		upper = "S", pack = "K****", packsize = "K", unpack = "KSn",
	},
	table = {
		concat = "TSa", create = "nn", insert = "TnV", move = "TAnT",
		pack = "*", unpack = "TA", remove = "Tn", sort = "Tf",
	},
	utf8 = {
		char = "nnnn*", codes = "SV", codepoint = "Snn", len = "SnnV",
		offset = "Snn",
	},
	math = {
		abs = "I", max = "III", min = "III", tointeger = "V", type = "V",
		ult = "II", random = "II", randomseed = "II",
	},
	coroutine = {
		create = "f", resume = "C*", running = "", status = "C", wrap = "f",
		yield = "*", isyieldable = "C", close = "C",
	},
	debug = { traceback = "Vn" },
	byteorder = {},
	linux = { random = "II", time = "", errname = "I", ifindex = "S", numcpus = "" },
	rcu = { table = "N", map = "Uf" },
}

local function sorted_keys(t)
	local keys = {}
	for k in pairs(t) do
		if type(k) == "string" then
			keys[#keys + 1] = k
		end
	end
	tsort(keys)
	return keys
end

-- Sorted, so the targets have the same order in every state (pairs
-- follows the hash seed, which differs between states).
for _, name in ipairs(sorted_keys(BASE)) do
	add(name, _ENV[name], BASE[name])
end
-- debug.traceback with its level kept below 2^31 - 1: lua/interp/ passes
-- levels up to C's INT_MAX to luaL_traceback, whose `level++` then
-- overflows an int (undefined behaviour, which UBSan reports; the kernel's
-- -fno-strict-overflow makes it wrap there). Found by seeds 1 and 1001 of
-- the host test; to drop once lua/interp/ clamps the level lower.
local traceback = debug.traceback
local debug_lib = {
	traceback = function(msg, level, ...)
		if math.type(level) == "integer" and level >= (1 << 31) - 1 then
			level = (1 << 31) - 2
		end
		return traceback(msg, level, ...)
	end,
}
local LIBRARIES = {
	string = string, table = table, utf8 = utf8, math = math,
	coroutine = coroutine, debug = debug_lib, byteorder = byteorder,
	linux = linux, rcu = rcu,
}
for _, lib in ipairs(sorted_keys(SHAPES)) do
	local t = LIBRARIES[lib]
	if type(t) == "table" then
		for _, name in ipairs(sorted_keys(t)) do
			add(lib .. "." .. name, t[name], SHAPES[lib][name] or (lib == "byteorder" and "I" or "*"))
		end
	end
end

if data then
	add("data.new", data.new, "p")
	for _, m in ipairs(DATA_METHODS) do
		local ok, fn = pcall(function() return data.new(1)[m] end)
		if ok then
			local shape = m:sub(1, 3) == "set" and "DOI" or "DOO"
			if m == "setstring" then
				shape = "DOS"
			end
			add("data:" .. m, fn, shape)
		end
	end
end

if lunatik then
	add("lunatik.fields", function(k) return lunatik[k], lunatik.name, lunatik.version end, "V")
end

if rcu then
	add("rcu.get", function(t, k) return t[k] end, "Uk")
	add("rcu.set", function(t, k, v) t[k] = v end, "Ukv")
end

-- Builds the values of one seed's run.
local function new_pool()
	local function raiser(what)
		return function() error(what) end
	end
	-- An error value whose conversion to a string fails too.
	local bad = setmetatable({}, { __tostring = raiser("tostring of an error") })
	local function throw_bad() error(bad) end

	local loop_a, loop_b = {}, {}
	setmetatable(loop_a, { __index = loop_b, __newindex = loop_b })
	setmetatable(loop_b, { __index = loop_a, __newindex = loop_a })

	local everything = {}
	for _, event in ipairs({ "__index", "__newindex", "__call", "__len",
			"__tostring", "__eq", "__lt", "__le", "__concat", "__add", "__sub",
			"__mul", "__div", "__mod", "__pow", "__idiv", "__band", "__bor",
			"__bxor", "__shl", "__shr", "__unm", "__bnot", "__close", "__gc",
			"__pairs" }) do
		everything[event] = chance(2) and raiser(event) or throw_bad
	end

	local metatables = {
		{ __index = raiser("index") }, { __newindex = raiser("newindex") },
		{ __index = function(_, k) return k end },
		{ __len = raiser("len") }, { __len = function() return "x" end },
		{ __len = function() return 3 end },
		{ __len = function() return below(6) end },
		{ __tostring = raiser("tostring") }, { __tostring = function() return {} end },
		{ __tostring = throw_bad }, { __name = 42 }, { __name = "fuzz.object" },
		{ __eq = raiser("eq") }, { __lt = raiser("lt") }, { __le = raiser("le") },
		{ __lt = function() return true end }, { __eq = function() return true end },
		{ __call = raiser("call") }, { __call = function(...) return ... end },
		{ __concat = raiser("concat") }, { __add = raiser("add") },
		{ __unm = throw_bad }, { __gc = raiser("gc") }, { __gc = throw_bad },
		{ __close = raiser("close") }, { __close = throw_bad },
		{ __close = function() return 1 end }, { __mode = "k" }, { __mode = "v" },
		{ __mode = "kv" }, { __metatable = "locked" }, { __metatable = false },
		{ __pairs = raiser("pairs") }, { __index = loop_a }, everything,
	}

	local tables = {
		{}, { 1, 2, 3 }, { "a", "b", "c", "d" }, { 3, 1, 2, "x", true },
		{ a = 1, b = "x", [1] = 2 }, { nil, 2, nil, 4 }, { {}, { {} } },
		{ "%0", "x" }, loop_a, { [maxint] = 1, [minint] = 2, [0] = 3 },
	}
	local ints = {}
	for i = 1, 64 do
		ints[i] = below(1000)
	end
	tables[#tables + 1] = ints
	local cyclic = {}
	cyclic.self, cyclic[1] = cyclic, cyclic
	tables[#tables + 1] = cyclic
	local objects = {}
	for i, mt in ipairs(metatables) do
		objects[i] = setmetatable({ 1, 2, "s" }, mt)
	end

	local functions = {
		function(...) return ... end,
		function(...) return select("#", ...) end,
		raiser("function"), throw_bad,
		function() end,
		function(a, b) return a == b end,
		function(a, b) return a < b end,
		function(...) return coyield(...) end,
		function(x) return tostring(x) end,
		function(a) return a, a, a end,
		function(a) return #a end,
	}

	local threads = {}
	for i = 1, 4 do
		threads[i] = cocreate(choose(functions))
	end
	-- Suspended, holding a variable to close whose __close fails.
	local tbc = cocreate(function(o)
		local x <close> = o
		coyield(1)
		return 2
	end)
	coresume(tbc, objects[#objects])
	threads[#threads + 1] = tbc
	local dead = cocreate(function() end)
	coresume(dead)
	threads[#threads + 1] = dead
	threads[#threads + 1] = cowrap(choose(functions))
	threads[#threads + 1] = coroutine.running()

	local views, is_view = {}, {}
	if data then
		for _, size in ipairs({ 0, 1, 2, 3, 8, 16, 64, 1500, 65536 }) do
			local ok, d = pcall(data.new, size)
			if ok then
				views[#views + 1] = d
				is_view[d] = true
			end
		end
	end

	local rcu_tables = {}
	if rcu then
		for _, name in ipairs(RCU_NAMES) do
			local ok, t = pcall(rcu.table, name)
			if ok then
				rcu_tables[#rcu_tables + 1] = t
			end
		end
		local ok, t = pcall(rcu.table, below(16) + 1)
		if ok then
			rcu_tables[#rcu_tables + 1] = t
		end
	end

	-- The environment of loaded chunks: a few globals of their own, so a
	-- chunk assigning globals changes nothing outside this seed.
	local env = { type = type, select = select, error = error, tostring = tostring,
		coroutine = { yield = coyield } }

	return {
		metatables = metatables, tables = tables, objects = objects,
		functions = functions, threads = threads, views = views, is_view = is_view,
		rcu = rcu_tables, env = env, fed = {}, strings = {},
	}
end

-- Values a call returned go back into the pool, for later calls: a
-- coroutine it made, a view, a string, an iterator. Tables do not (a
-- loaded chunk can return _ENV, and the fuzzer must not rewrite the
-- libraries it calls), nor strings over 64 KiB (to bound memory).
local FED_MAX = 32

local function feed(v)
	local ty = type(v)
	if ty == "table" or ty == "nil" then
		return
	end
	if ty == "string" then
		if #v > 65536 then
			return
		end
		if #v <= 64 then
			local s = pool.strings
			s[#s < FED_MAX and #s + 1 or below(FED_MAX) + 1] = v
		end
	end
	local fed = pool.fed
	fed[#fed < FED_MAX and #fed + 1 or below(FED_MAX) + 1] = v
end

local TYPE_CODES = {
	["nil"] = 1, boolean = 2, number = 3, string = 4, table = 5,
	["function"] = 6, thread = 7, userdata = 8,
}

local function is_memory_error(e)
	return type(e) == "string" and e:find("not enough memory", 1, true) ~= nil
end

-- The garbage collector's settings, which calls change: kept before a
-- run and put back after it, so one seed does not slow down the next.
local function gc_settings()
	local saved = {}
	for _, p in ipairs(GC_PARAMS) do
		if p ~= "bogus" then
			saved[p] = collectgarbage("param", p)
		end
	end
	return saved
end

local function restore_gc(saved)
	collectgarbage("restart")
	collectgarbage("incremental")
	for p, v in pairs(saved) do
		collectgarbage("param", p, v)
	end
end

-- Makes `calls` random calls from `seed`; returns the number made, a
-- checksum and, if the fuzzer's own code failed (not a call it made, and
-- not for lack of memory), the error.
-- What a call of target `index` gave, folded into a number for the
-- checksum (whether it failed, whether it returned values, the type of the
-- first), its first values fed back. Taking the results as arguments, not
-- in a table, spares an allocation per call.
local function outcome(index, ok, ...)
	local t = targets[index]
	local count = select("#", ...)
	local code = index * 4 + (ok and 1 or 0) + (count > 0 and 2 or 0)
	if ok then
		t.ok = t.ok + 1
		code = code * 16 + (TYPE_CODES[type((...))] or 0)
		for i = 1, count < 4 and count or 4 do
			feed((select(i, ...)))
		end
	else
		t.failed = t.failed + 1
	end
	return code
end

-- Calls completed in this state since the fuzzer was loaded, whatever
-- became of the entries that made them: an entry stopped by its deadline
-- keeps the calls it completed before the stop (the one it was in is not
-- counted), so a run can count every call made.
local completed = 0
function fuzz_calls() return completed end

function fuzz(seed, calls)
	seed_rng(seed)
	pool = new_pool()
	local saved = gc_settings()
	local sum, made, broken = seed, 0, nil
	local function step()
		local index = below(#targets) + 1
		local t = targets[index]
		local n = gen_args(t)
		if fuzz_trace then
			-- Set by whoever replays a seed, to see each call before it
			-- runs (the last one shown is the one that hung or crashed).
			fuzz_trace(made, t.name, n, unpack(ARGS, 1, n))
		end
		sum = (sum ~ outcome(index, pcall(t.fn, unpack(ARGS, 1, n)))) * 0x100000001B3
	end
	for _ = 1, calls do
		made = made + 1
		local ok, e = pcall(step)
		if not ok and not is_memory_error(e) and broken == nil then
			local shown, text = pcall(tostring, e)
			broken = "call " .. made .. ": " .. (shown and text or "?")
		end
		completed = completed + 1
	end
	pool = nil
	restore_gc(saved)
	return made, sum, broken
end

-- What the calls since the fuzzer was loaded did, per target: "name ok
-- failed" lines, to see that each target gets arguments it accepts as
-- well as ones it refuses.
function fuzz_report()
	local lines = {}
	for i, t in ipairs(targets) do
		lines[i] = t.name .. " " .. t.ok .. " " .. t.failed
	end
	return table.concat(lines, "\n")
end
