# limit: 1800 (seconds this suite's VM boot may take; see docs/testing.md)
# The `set` library and the Lua modules of lib/ (`net`, `struct`): the
# behaviours of upstream Lunatik's tests/set and tests/struct, in process
# and softirq states; a set's memory charged to the state that built it
# and given back when it is collected; and examples/dnsset.lua blocking
# DNS queries with a blocklist of 100,000 names, generated here, between
# two network namespaces: each query is one datagram (lunatik-udp), so
# the hook's counters are exact, and the server's listener shows what
# got through.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
SERVER=10.216.0.2
plan 8

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
check insmod insmod "$KO"
diag "at $(cut -d. -f1 /proc/uptime) s of uptime"

# Upstream's behaviours of set.new and set.labeled, as assertions.
cat >/tmp/settest.lua <<'LUA'
local set = require("set")
local function raises(f, msg)
	local ok, e = pcall(f)
	assert(not ok, "expected an error: " .. msg)
	assert(tostring(e):find(msg, 1, true), "expected '" .. msg .. "', got " .. tostring(e))
end
local s = set.new({ "delta", "alpha", "charlie", "bravo" })
assert(s:has("charlie") and s:has("alpha") and not s:has("nope") and #s == 4)
s = set.new({ "a", "bb", "ccc" })
assert(not s:has("b") and not s:has("cccc") and not s:has("") and s:has("ccc"))
s = set.new({ "x", "x", "y" })
assert(s:has("x") and s:has("y") and #s == 3)
s = set.new({})
assert(#s == 0 and not s:has("anything"))
s = set.new({ "" })
assert(s:has("") and not s:has("x") and #s == 1)
raises(function() set.new({ "ok", 42 }) end, "members must be strings")
local l = set.labeled({ alpha = 1, bravo = 2, charlie = 4, delta = 8 })
assert(l:match("charlie") == 4 and l:match("nope") == 0 and #l == 4)
l = set.labeled({ ["a.b.c"] = 1, ["b.c"] = 2, c = 4 })
assert(l:match("a.b.c") == 7 and l:match("x.a.b.c") == 7 and l:match("b.c") == 6)
assert(l:match("c") == 4 and l:match("nope") == 0)
l = set.labeled({ ["a.b"] = 1 | 4, b = 2 })
assert(l:match("x.a.b") == 7 and l:match("z.w") == 0 and l:match("c.b") == 2)
assert(set.labeled({}):match("a.b") == 0)
l = set.labeled({ [""] = 5 })
assert(l:match("a.") == 5 and l:match("a") == 0 and #l == 1)
for _, v in ipairs({ 1, 255, 256, 65535, 65536, 16777215, 4294967295 }) do
	assert(set.labeled({ k = v }):match("k") == v)
end
raises(function() set.labeled({ [42] = 1, k = 2 }) end, "members must be strings")
for _, v in ipairs({ "not a number", 0, -1, 4294967296 }) do
	raises(function() set.labeled({ k = v }) end, "labels must be integers in [1, 2^32)")
end
-- A set of 5,000 names: every member found, near misses not.
local names = {}
for i = 1, 5000 do names[i] = ("n%d.example"):format(i) end
local big = set.new(names)
for i = 1, #names, 13 do
	assert(big:has(names[i]) and not big:has(names[i] .. ".") and not big:has("x" .. names[i]))
end
ran = true
LUA
expect 0 lunatik run /tmp/settest.lua --name setp &&
	expect 0 lunatik run /tmp/settest.lua softirq --name sets &&
	expect 0 lunatik exec sets -e 'return ran' && equals true &&
	expect 0 lunatik stop setp && expect 0 lunatik stop sets
result $? set_behaves_as_upstream
diag "at $(cut -d. -f1 /proc/uptime) s of uptime"

# mem NAME: the memory the state NAME uses now.
mem() { lunatik stats --json | jq ".[] | select(.name == \"$1\") | .memory_used"; }
# A set's bytes are the state's: building one of 20,000 names (about
# 480 KB of keys) adds about their size plus 4 bytes a name; dropping it
# gives them back; a cap too small for more sets refuses the next with
# "not enough memory", and the state goes on.
expect 0 lunatik run /examples/hello.lua softirq --name setmem --memory 4M &&
	expect 0 lunatik exec setmem -e 'set = require("set")
		names = {} keys = 0
		for i = 1, 20000 do names[i] = ("host%d.blocked.example"):format(i) keys = keys + #names[i] end
		collectgarbage() return keys' &&
	keys=$(cat $out) && m0=$(mem setmem) &&
	expect 0 lunatik exec setmem -e 's = set.new(names) collectgarbage() return #s' && equals 20000 &&
	m1=$(mem setmem) &&
	expect 0 lunatik exec setmem -e 's = nil collectgarbage()' && m2=$(mem setmem) &&
	diag "20,000 names, $keys key bytes: the set took $((m1 - m0)) bytes ($(((m1 - m0 - keys) / 20)) per 1,000 names beside the keys); $((m1 - m2)) came back" &&
	[ $((m1 - m0)) -ge "$keys" ] && [ $((m1 - m0)) -le $((keys + 5 * 20000 + 65536)) ] &&
	[ $((m1 - m2)) -ge "$keys" ] &&
	expect 1 lunatik exec setmem -e 'local t = {} for i = 1, 8 do t[i] = set.new(names) end' &&
	grep -q "not enough memory" $err &&
	expect 0 lunatik exec setmem -e 'return set.new({"a"}):has("a")' && equals true &&
	expect 0 lunatik stop setmem
result $? set_memory_is_the_states
diag "at $(cut -d. -f1 /proc/uptime) s of uptime"

# net and struct, from /lib/modules/lua (make install puts them there).
cat >/tmp/netstruct.lua <<'LUA'
local net, struct = require("net"), require("struct")
assert(net.aton("192.168.1.1") == 3232235777 and net.ntoa(3232235777) == "192.168.1.1")
assert(net.ntoa("\10\0\0\1") == "10.0.0.1" and net.aton("1.2.3") == nil)
assert(net.ntoa(net.aton("2001:0db8:0:0:0:0:0:1")) == "2001:db8::1")
assert(net.ntoa(net.aton("::ffff:10.0.0.1")) == "::ffff:10.0.0.1" and #net.aton("::") == 16)
local c = struct{ size = 16, fields = {
	{ name = "a", offset = 0, size = 1, signed = false },
	{ name = "b", offset = 2, size = 2, signed = false },
	{ name = "c", offset = 4, size = 4, signed = true },
	{ name = "d", offset = 8, size = 4, signed = false },
} }
assert(c.format == "=I1xI2i4I4xxxx" and c.size == 16)
local a, b, x, d = c:unpack(c:pack(1, 2, -3, 4))
assert(a == 1 and b == 2 and x == -3 and d == 4 and c:fieldsize("b") == 2 and c:fieldsize("no") == nil)
assert(struct{ size = 4, fields = { { name = "hi", offset = 2, size = 2 }, { name = "lo", offset = 0, size = 2 } } }.format == "=I2I2")
assert(not pcall(struct, { size = 4, fields = { { name = "x", offset = 0, size = 4 }, { name = "y", offset = 0, size = 4 } } }))
ran = true
LUA
[ -f /lib/modules/lua/net.lua ] && [ -f /lib/modules/lua/struct.lua ] &&
	expect 0 lunatik run /tmp/netstruct.lua --name nsp &&
	expect 0 lunatik run /tmp/netstruct.lua softirq --name nss &&
	expect 0 lunatik exec nss -e 'return ran' && equals true &&
	expect 0 lunatik stop nsp && expect 0 lunatik stop nss
result $? net_and_struct_from_lib_modules_lua
diag "at $(cut -d. -f1 /proc/uptime) s of uptime"

# Upstream Lunatik's own tests/set/set.lua and tests/struct/test.lua,
# unmodified, when the VM has them (with its lib/util.lua) under
# /lib/modules/lua, as docs/testing.md shows how to put them there
# (LUNATIK_VM_OVERLAY): run with `lunatik run` as upstream's `lunatik
# test` would, every check of set.lua must print PASS and none FAIL, and
# test.lua must end with its message. Skipped without them.
if [ -f /lib/modules/lua/util.lua ] && [ -f /lib/modules/lua/tests/set/set.lua ] &&
	[ -f /lib/modules/lua/tests/struct/test.lua ]; then
	want=$(grep -c '^test(' /lib/modules/lua/tests/set/set.lua)
	expect 0 lunatik run tests/set/set && expect 0 lunatik stop tests/set/set &&
		expect 0 lunatik run tests/struct/test && expect 0 lunatik stop tests/struct/test &&
		passes=$(dmesg | grep -c "tests/set/set: PASS") &&
		diag "upstream tests/set: $passes of $want checks passed" &&
		[ "$passes" = "$want" ] && ! dmesg | grep -q "tests/set/set: FAIL" &&
		dmesg | grep -q "tests/struct/test: struct: all tests passed"
	result $? upstream_tests_set_and_struct_unmodified
else
	ok "upstream_tests_set_and_struct_unmodified # SKIP upstream's tests are not in /lib/modules/lua"
fi

# --- examples/dnsset.lua with 100,000 names: h1.blocked1.example to
# h100000.blocked0.example, made by the list module it requires.
mkdir -p /lib/modules/lua/dnsset
cat >/lib/modules/lua/dnsset/list.lua <<'LUA'
local names = {}
for i = 1, 100000 do names["h" .. i .. ".blocked" .. i % 100 .. ".example"] = 1 end
return names
LUA
netns add sc && netns add ss &&
	$IP link add sc0 type veth peer name ss0 &&
	$IP link set sc0 netns sc && $IP link set ss0 netns ss &&
	nsx sc ip addr add 10.216.0.1/24 dev sc0 && nsx ss ip addr add $SERVER/24 dev ss0 &&
	nsx sc ip link set sc0 up && nsx ss ip link set ss0 up &&
	nsx sc ip link set lo up && nsx ss ip link set lo up
$IP netns exec ss lunatik-udp listen 53 >/tmp/dns16.log 2>/tmp/dns16.err &
dns=$!
# hexname NAME: NAME in a DNS question's wire form, in hex.
hexname() {
	local label IFS=.
	for label in $1; do
		printf '%02x' ${#label}
		printf %s "$label" | od -An -tx1 | tr -d ' \n'
	done
	printf 00
}
# query NAME: one DNS query for NAME (A, IN, recursion desired), one
# datagram from the client to the server.
query() {
	nsx sc lunatik-udp flood $SERVER:53 1 "hex:123401000001000000000000$(hexname "$1")00010001" >/dev/null
}
t0=$(date +%s)
wait_until grep -q "listening on 53" /tmp/dns16.err &&
	expect 0 nsx ss lunatik run /examples/dnsset.lua softirq &&
	diag "dnsset: 100,000 names loaded in about $(($(date +%s) - t0)) s" &&
	expect 0 nsx ss lunatik exec dnsset -e 'return listed' && equals 100000
r=$?
nsx ss lunatik stats dnsset | sed -n 's/^ *memory */# dnsset memory: /p'
# Blocked: two listed names, a name under one, the last of the list in
# capitals. Allowed: a parent of a listed name, a near miss, a name of
# its own, and last one more (packets arrive in order: once the last is
# in the server's log, every query before it has been judged).
blocked_names="h777.blocked77.example x.y.h4242.blocked42.example H100000.BLOCKED0.EXAMPLE h1.blocked1.example"
allowed_names="blocked77.example h777.blocked78.example allowed.example last.allowed.example"
for name in $blocked_names $allowed_names; do
	query $name
done
[ $r = 0 ] && wait_until grep -q "last.allowed.example" /tmp/dns16.log &&
	expect 0 nsx ss lunatik exec dnsset -e 'return queries, blocked, labels[1]' &&
	equals "$(printf '8\t4\t4')"
r=$?
kill $dns
wait $dns 2>/dev/null
diag "dns server saw: $(grep -ao '[A-Za-z0-9.]*example' /tmp/dns16.log | tr '\n' ' ')"
for name in $allowed_names; do
	grep -qF "$name" /tmp/dns16.log || { diag "$name did not get through"; r=1; }
done
for name in h777.blocked77 h4242.blocked42 h100000.blocked0 BLOCKED0 h1.blocked1; do
	grep -qi "[^0-9]${name}[^0-9]" /tmp/dns16.log && { diag "$name got through"; r=1; }
done
[ $r = 0 ] && expect 0 nsx ss lunatik stop dnsset
result $? dnsset_blocks_100000_names
diag "at $(cut -d. -f1 /proc/uptime) s of uptime"
netns del sc
netns del ss
rm -rf /lib/modules/lua/dnsset

check rmmod rmmod lunatik
kmemleak_clean
