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
# emulator's hiccups. The figures are printed; docs/states.md gives them
# for an idle host.
RUN_BOUND_NS=2000000000
CALL_BOUND_NS=1000000000
plan 9

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
# One runaway a line: its name, a bar, its source.
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
EOF
r=0
worst=0
while IFS='|' read -r class src; do
	# An inert hook (no packet carries its mark) exposes the state to the
	# packet path: from then on its entries hold the bh spinlock and meet
	# the softirq deadlines (docs/states.md).
	lunatik run /examples/hello.lua softirq --name rw-$class >/dev/null </dev/null &&
		lunatik exec rw-$class -e "$INERT_HOOK" </dev/null || { r=1; continue; }
	if lunatik exec rw-$class -e "$src" >$out 2>$err </dev/null; then
		diag "$class: the runaway returned: $(cat $out)"
		r=1
	elif ! grep -q "exceeded\|error in error handling" $err; then
		diag "$class: unexpected error: $(head -3 $err)"
		r=1
	fi
	t=$(longest rw-$class </dev/null)
	diag "$class: longest entry $t ns"
	[ "$t" -gt "$worst" ] && worst=$t
	[ "$t" -le $RUN_BOUND_NS ] || { diag "$class: took $t ns, past the bound"; r=1; }
	expect 0 lunatik exec rw-$class -e 'return 6 * 7' </dev/null && equals 42 || r=1
	lunatik stop rw-$class </dev/null || r=1
done </tmp/runaways
diag "worst runaway entry: $worst ns (bound $RUN_BOUND_NS ns)"
result $r runaways_end_within_the_bound

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
for policy in closed open; do
	r=0
	for mode in loop backtrack finalizer print error; do
		name=fail-$policy-$mode
		failopen=false
		[ $policy = open ] && failopen=true
		sed "s/FAILOPEN/$failopen/" /tmp/failhook.lua >/tmp/$name.lua
		sv run /tmp/$name.lua softirq >/dev/null && sv exec $name -e "mode = '$mode'" || { r=1; continue; }
		before=$(noports)
		flood2 20
		wait_until stat_reached $name errors 40 || r=1
		# A fail-open packet reaches UDP just after its hook returns.
		[ $policy = closed ] || wait_until noports_reached $((before + 40)) || r=1
		passed=$(( $(noports) - before ))
		sv stats $name --json >$out
		errors=$(jq '.[0].errors' $out)
		t=$(jq '.[0].longest_entry_ns' $out)
		diag "fail-$policy $mode: $passed of 40 passed, $errors errors, longest entry $t ns"
		[ "$t" -le $CALL_BOUND_NS ] || r=1
		# Every call fails: the print hook returns no verdict after printing
		# the whole packet (92 arguments, past the 20 stack slots a C
		# function is given).
		[ "$errors" -ge 40 ] || r=1
		if [ $policy = closed ]; then [ "$passed" = 0 ] || r=1; else [ "$passed" = 40 ] || r=1; fi
		sv stop $name || r=1
	done
	result $r fail_${policy}_hooks_under_load
done

# The print hook printed whole packets: the log holds them, rate-limited.
dmesg | grep -q "fail-open-print: 69"
result $? print_of_many_arguments_reaches_the_log

netns del server
netns del client
check rmmod rmmod lunatik
