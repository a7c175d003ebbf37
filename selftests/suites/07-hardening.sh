# limit: 800 (seconds this suite's VM boot may take; see docs/testing.md)
# Hardening: every entry of a softirq state ends within its time bound,
# whatever the script does (Lua loops, work hidden in C library functions,
# finalizers, C stack overflows, print floods), from the control plane and
# from a packet hook with traffic flowing; failing packet filters fail
# closed (or open, when asked), also when two CPUs flood them at once.
# The console scan (KASAN, lockup, stall and hung-task detectors) covers
# every step.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
SERVER=10.201.0.2
# The documented bound of a softirq entry (docs/states.md) is its
# deadline, 500 ms for a chunk run from the control plane and 50 ms for a
# packet callback, plus one check interval. Under QEMU's emulation a vCPU
# also loses the host CPU now and then, and the guest clock counts that
# time too, so the test allows 2 s and 1 s: far from the forever (or the
# 76 s of one pattern) that these runaways took before, and safe from the
# emulator's hiccups. A run past its bound is repeated, up to three runs
# in all, and fails only if every run is past it: a guard that does not
# hold is past it every time, a stolen second is not. The figures are
# printed; docs/states.md gives them for an idle host.
RUN_BOUND_NS=2000000000
CALL_BOUND_NS=1000000000
plan 10

sv() { nsx server lunatik "$@"; }

# longest NAME: the state's longest entry, in nanoseconds.
longest() { lunatik stats "$1" --json | jq '.[0].longest_entry_ns'; }

dmesg -c >/dev/null
check insmod insmod "$KO"

# Each runaway in a fresh softirq state, entered from the control plane:
# the entry fails with the budget's or the deadline's error, the state
# answers afterwards, and the entry took no longer than the bound.
INERT_HOOK='local nf = require("linux.nf") require("netfilter").register{pf = nf.proto.IPV4,
	hooknum = nf.inet.LOCAL_IN, mark = 0x7fffffff, hook = function() return nf.action.ACCEPT end}'
# One runaway a line: its name, a bar, its source. A softirq state's
# memory is atomic slab memory, whose blocks stop at 4 MiB: the large
# arguments of the last lines (the C functions the cost model charges by
# size, docs/states.md) stay under it.
cat >/tmp/runaways <<'EOF'
lua_loop|while true do end
pcall_loop|while true do pcall(function() while true do end end) end
coroutines|while true do coroutine.wrap(function() for i = 1, 50000 do end end)() end
nested_coroutines|local function nest(n) if n == 0 then for i = 1, 500 do end return end for i = 1, 100 do coroutine.wrap(nest)(n - 1) end end while true do nest(3) end
backtracking|return string.find(string.rep('a', 60), string.rep('.-', 7) .. 'b')
plain_find|local s = string.rep('a', 1 << 20) local p = string.rep('a', 4000) .. 'b' for i = 1, 100 do string.find(s, p, 1, true) end
gsub|local s = string.rep('a', 1 << 20) for i = 1, 1000 do s:gsub('a', 'b') end
rep|local s = string.rep('a', 1 << 16) for i = 1, 100000 do local _ = s:rep(16) end
sort|local t = {} for i = 1, 100000 do t[i] = 100000 - i end for i = 1, 100 do table.sort(t) end
concat|local t = {} for i = 1, 50000 do t[i] = 'x' end for i = 1, 1000 do table.concat(t) end
insert|local t = {} for i = 1, 50000 do t[i] = i end for i = 1, 100000 do table.insert(t, 1, i) end
utf8|local s = string.rep(utf8.char(2047), 1 << 18) for i = 1, 10000 do utf8.len(s) end
upper|local s = string.rep('a', 1 << 20) for i = 1, 10000 do local _ = s:upper() end
dotdot|local s = string.rep('a', 1 << 18) for i = 1, 100000 do local _ = s .. s end
load|local src = string.rep('a = 1 ', 50000) for i = 1, 1000 do load(src) end
collect|local t = {} for i = 1, 100000 do t[i] = {} end for i = 1, 10000 do collectgarbage() end
finalizer|setmetatable({}, {__gc = function() while true do end end}) collectgarbage() return 1
cstack|local t = setmetatable({}, {__index = function(t, k) return t[k] end}) while true do pcall(function() return t.x end) end
print_flood|for i = 1, 1 << 40 do print(i) end
checksum|local d = require('data').new(1 << 20) while true do d:checksum() end
getstring|local d = require('data').new(1 << 20) while true do local _ = d:getstring(0) end
packsize|local f = string.rep('b', 1 << 21) while true do string.packsize(f) end
quote|local s = string.rep('"', 1 << 21) while true do local _ = string.format('%q', s) end
comment|local c = '--' .. string.rep('a', 1 << 21) while true do load(c) end
sub|local s = string.rep('a', 3 << 20) while true do local _ = s:sub(2) end
less_than|local a, b = string.rep('a', 3 << 20), string.rep('a', 3 << 20) while true do local _ = a < b end
next_empty|local t = table.create(1 << 18) while true do next(t) end
unpack|local t = {} for i = 1, 50000 do t[i] = i end while true do table.unpack(t) end
long_pattern|local s, p = string.rep('a', 1 << 20), string.rep('a', (1 << 20) - 1) .. 'b' while true do s:match(p) end
tonumber|local z = string.rep(' ', 1 << 21) .. '1' while true do tonumber(z) end
data_new|local data = require('data') while true do data.new(3 << 20) end
codes|local u = 'a' .. string.rep('\x80', 1 << 21) while true do for _ in utf8.codes(u) do end end
EOF
# runaway CLASS SRC: SRC in a fresh exposed state, which must stop it
# with the budget's or the deadline's error and answer afterwards; sets
# t to the state's longest entry.
runaway() {
	local class=$1 src=$2 rc=0
	# An inert hook (no packet carries its mark) exposes the state to the
	# packet path: from then on its entries hold the bh spinlock and meet
	# the softirq deadlines (docs/states.md).
	t=0
	lunatik run /examples/hello.lua softirq --name rw-$class >/dev/null </dev/null &&
		lunatik exec rw-$class -e "$INERT_HOOK" </dev/null || return 1
	if lunatik exec rw-$class -e "$src" >$out 2>$err </dev/null; then
		diag "$class: the runaway returned: $(cat $out)"
		rc=1
	elif ! grep -q "exceeded\|error in error handling" $err; then
		diag "$class: unexpected error: $(head -3 $err)"
		rc=1
	fi
	t=$(longest rw-$class </dev/null)
	diag "$class: longest entry $t ns"
	expect 0 lunatik exec rw-$class -e 'return 6 * 7' </dev/null && equals 42 || rc=1
	lunatik stop rw-$class </dev/null || rc=1
	return $rc
}
# The bound is on time, which the emulator's host can steal from a vCPU
# at any moment: a runaway past it is run again, in a fresh state, up to
# three times in all, and fails only if every run is past it. A guard
# that does not hold (an uncharged loop, an escaping coroutine) is past
# it every time; a host's hiccup is not.
r=0
worst=0
while IFS='|' read -r class src; do
	for trial in 1 2 3; do
		runaway "$class" "$src" || r=1
		[ "$t" -le $RUN_BOUND_NS ] && break
		diag "$class: took $t ns, past the bound (run $trial of 3)"
	done
	[ "$t" -gt "$worst" ] && worst=$t
	[ "$t" -le $RUN_BOUND_NS ] || r=1
done </tmp/runaways
diag "worst runaway entry: $worst ns (bound $RUN_BOUND_NS ns)"
result $r runaways_end_within_the_bound

# The C functions of the libraries only the kernel has (the host's
# lua/cost_tests.rs enumerates the rest), found by walking them, not
# listed: each is called in a loop with large arguments of every kind in
# an exposed softirq state, and its entry must end within the bound.
# The shapes and the walk run before the state is exposed (no deadline
# then, only the budget); each probe after it. A softirq state's memory is
# atomic slab memory, whose blocks stop at 4 MiB: no argument is bigger.
# The shapes' large values are made first, one a line, each in an entry
# of its own: before the state is exposed an entry has no deadline, and
# the longest entry is the state's, so no set-up entry may come near the
# bound on a slow or busy machine.
cat >/tmp/kshapes <<'PIECES'
N = 1 << 20
S = string.rep('a', N)
Z = string.rep(' ', N) .. '1'
T = {} for i = 1, N // 8 do T[i] = i end
E = table.create(N // 4)
PIECES
cat >/tmp/kprobe.lua <<'LUA'
local N, S, Z, T, E = N, S, Z, T, E
local id = function(...) return ... end
SHAPES = {{S}, {S, 2}, {S, S}, {S, 1, N}, {Z}, {T}, {T, id}, {E}, {N}, {N, N},
	{math.maxinteger}, {math.mininteger}, {-1}, {id}, {'%q', S}}
FUNCS = {}
local seen = {}
local function walk(t, path, depth)
	if type(t) ~= 'table' or seen[t] or depth > 3 then return end
	seen[t] = true
	local keys = {}
	for k in pairs(t) do if type(k) == 'string' then keys[#keys + 1] = k end end
	table.sort(keys)
	for _, k in ipairs(keys) do
		local v = t[k]
		if type(v) == 'function' and not seen[v] then
			seen[v] = true
			FUNCS[#FUNCS + 1] = {path .. '.' .. k, v}
		elseif type(v) == 'table' then walk(v, path .. '.' .. k, depth + 1) end
	end
end
for _, name in ipairs{'linux', 'lunatik', 'rcu', 'netfilter', 'linux.nf', 'xdp', 'linux.xdp'} do
	walk(require(name), name, 0)
end
function probe(i)
	local f = FUNCS[i][2]
	while true do
		for j = 1, #SHAPES do local a = SHAPES[j] pcall(f, a[1], a[2], a[3]) end
	end
end
return #FUNCS
LUA
r=0
worst=0
lunatik run /examples/hello.lua softirq --name kprobe >/dev/null </dev/null || r=1
while [ $r = 0 ] && read -r piece; do
	lunatik exec kprobe -e "$piece" </dev/null || r=1
done </tmp/kshapes
[ $r = 0 ] && n=$(lunatik exec kprobe /tmp/kprobe.lua </dev/null) &&
	lunatik exec kprobe -e "$INERT_HOOK" </dev/null || r=1
diag "kernel-only C functions found: ${n:-none}"
[ "${n:-0}" -ge 8 ] || r=1
i=1
while [ $r = 0 ] && [ $i -le "$n" ]; do
	name=$(lunatik exec kprobe -e "return FUNCS[$i][1]" </dev/null)
	if lunatik exec kprobe -e "probe($i)" >$out 2>$err </dev/null; then
		diag "$name: the probe returned"
		r=1
	elif ! grep -q "exceeded" $err; then
		diag "$name: unexpected error: $(head -3 $err)"
		r=1
	fi
	# The state's longest entry so far: past the bound, this probe's.
	t=$(longest kprobe </dev/null)
	[ "$t" -gt "$worst" ] && worst=$t && diag "$name: longest entry now $t ns"
	[ "$t" -le $RUN_BOUND_NS ] || { diag "$name: took $t ns, past the bound"; r=1; }
	i=$((i + 1))
done
lunatik stop kprobe </dev/null || r=1
diag "worst kernel-only C function entry: $worst ns (bound $RUN_BOUND_NS ns)"
result $r kernel_library_functions_end_within_the_bound

# A state whose finalizers loop stops, and its namespace and the module go,
# without hanging: closing runs the finalizers as one bounded entry.
lunatik run /examples/hello.lua softirq --name gc-stop >/dev/null &&
	lunatik exec gc-stop -e "$INERT_HOOK" &&
	lunatik exec gc-stop -e 'for i = 1, 3 do _G["x" .. i] = setmetatable({}, {__gc = function() while true do end end}) end' &&
	timeout 120 lunatik stop gc-stop
result $? looping_finalizers_do_not_hang_stop

# The namespace for traffic: a veth pair, the server end with no UDP
# listener on port 9, so the kernel counts every datagram that gets
# through the hooks as "NoPorts" (/proc/net/snmp).
netns add server && netns add client &&
	$IP link add vc type veth peer name vs &&
	$IP link set vc netns client && $IP link set vs netns server &&
	nsx client ip addr add 10.201.0.1/24 dev vc && nsx server ip addr add $SERVER/24 dev vs &&
	nsx client ip link set vc up && nsx server ip link set vs up &&
	nsx client ip link set lo up && nsx server ip link set lo up
# noports: datagrams the server's UDP found no socket for.
noports() { nsx server awk '/^Udp:/ { if (h) print $3; h = 1 }' /proc/net/snmp; }
# flood2 N: N datagrams to port 9 from each of the two CPUs at once. The
# veth transmit runs the receiving stack, hooks included, on the sender's
# CPU, so the hook is entered on both CPUs concurrently.
flood2() {
	nsx client taskset -c 0 lunatik-udp flood $SERVER:9 $1 >/dev/null &
	local a=$!
	nsx client taskset -c 1 lunatik-udp flood $SERVER:9 $1 >/dev/null &
	local b=$!
	wait $a $b
}
# stat_reached NAME FIELD N: the state's statistic FIELD is N or more
# (with wait_until: the hook has seen the packets the test counts on).
stat_reached() { [ "$(sv stats $1 --json | jq ".[0].$2")" -ge $3 ]; }
# global_reached NAME VAR N: the integer global VAR of state NAME is N or
# more.
global_reached() { [ "$(sv exec $1 -e "return $2")" -ge $3 ]; }
# noports_reached N: the server's UDP counted N datagrams for no socket.
noports_reached() { [ "$(noports)" -ge $1 ]; }
# rx_packets: packets the server's end of the veth pair received.
rx_packets() { nsx server cat /sys/class/net/vs/statistics/rx_packets; }
[ "$(noports)" = 0 ]
result $? udp_topology

# A filter that drops every UDP datagram to port 9, flooded from 2 CPUs:
# none reaches the stack (before, a busy replica accepted the packet
# unseen: 62% got through), and the hook saw every one that reached it.
cat >/tmp/dropudp.lua <<'LUA'
local nf = require("linux.nf")
seen = 0
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
	priority = nf.ip.pri.FIRST, hook = function(skb)
	local d = skb:data("net")
	if d:getbyte(9) ~= 17 then return nf.action.ACCEPT end
	seen = seen + 1
	return nf.action.DROP
end}
LUA
before=$(noports)
rx0=$(rx_packets)
expect 0 sv run /tmp/dropudp.lua softirq --name dropudp && flood2 3000 &&
	wait_until global_reached dropudp seen 6000 &&
	seen=$(sv exec dropudp -e 'return seen') && rx=$(( $(rx_packets) - rx0 )) &&
	diag "drop-all filter flooded from 2 CPUs: $rx received, $seen seen by the hook, $(( $(noports) - before )) got through" &&
	[ "$(noports)" = "$before" ] && [ "$seen" = 6000 ] && [ "$rx" -ge 6000 ] &&
	expect 0 sv stop dropudp
result $? contention_never_skips_the_filter

# Runaway callbacks in a packet hook with traffic flowing from 2 CPUs: a
# fail-closed hook (the default) drops every packet it fails on, a
# fail-open one passes it; each call ends within the bound.
cat >/tmp/failhook.lua <<'LUA'
local nf = require("linux.nf")
local failopen = FAILOPEN
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
	priority = nf.ip.pri.FIRST, failopen = failopen, hook = function(skb)
	local d = skb:data("net")
	if d:getbyte(9) ~= 17 then return nf.action.ACCEPT end
	if mode == "loop" then while true do end
	elseif mode == "backtrack" then string.find(string.rep("a", 60), string.rep(".-", 7) .. "b")
	elseif mode == "finalizer" then setmetatable({}, {__gc = function() while true do end end}) collectgarbage()
	elseif mode == "print" then print(d:getstring(0):byte(1, -1))
	else error("broken hook") end
end}
LUA
# failing_hook POLICY MODE: a flood of 40 datagrams from 2 CPUs through
# a hook failing in MODE; every call fails, and the packets are dropped
# (fail-closed) or passed (fail-open); sets t to the longest entry.
failing_hook() {
	local policy=$1 mode=$2 name=fail-$1-$2 failopen=false before passed errors rc=0
	t=0
	[ $policy = open ] && failopen=true
	sed "s/FAILOPEN/$failopen/" /tmp/failhook.lua >/tmp/$name.lua
	sv run /tmp/$name.lua softirq >/dev/null && sv exec $name -e "mode = '$mode'" || return 1
	before=$(noports)
	flood2 20
	wait_until stat_reached $name errors 40 || rc=1
	# A fail-open packet reaches UDP just after its hook returns.
	[ $policy = closed ] || wait_until noports_reached $((before + 40)) || rc=1
	passed=$(( $(noports) - before ))
	sv stats $name --json >$out
	errors=$(jq '.[0].errors' $out)
	t=$(jq '.[0].longest_entry_ns' $out)
	diag "fail-$policy $mode: $passed of 40 passed, $errors errors, longest entry $t ns"
	# Every call fails: the print hook returns no verdict after printing
	# the whole packet (92 arguments, past the 20 stack slots a C
	# function is given).
	[ "$errors" -ge 40 ] || rc=1
	if [ $policy = closed ]; then [ "$passed" = 0 ] || rc=1; else [ "$passed" = 40 ] || rc=1; fi
	sv stop $name || rc=1
	return $rc
}
# As for the runaways above, a flood whose longest call is past the bound
# is run again, up to three times in all; every run must fail closed (or
# open) on every packet.
for policy in closed open; do
	r=0
	for mode in loop backtrack finalizer print error; do
		for trial in 1 2 3; do
			failing_hook $policy $mode || r=1
			[ "$t" -le $CALL_BOUND_NS ] && break
			diag "fail-$policy $mode: past the bound (run $trial of 3)"
		done
		[ "$t" -le $CALL_BOUND_NS ] || r=1
	done
	result $r fail_${policy}_hooks_under_load
done

# The print hook printed whole packets: the log holds them, rate-limited.
dmesg | grep -q "fail-open-print: 69"
result $? print_of_many_arguments_reaches_the_log

netns del server
netns del client
check rmmod rmmod lunatik
