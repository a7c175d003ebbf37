# limit: 1800 (seconds this suite's VM boot may take; see docs/testing.md)
# Fault injection (docs/testing.md, "Fault injection"): each lifecycle
# path runs again and again with the Nth allocation of its process made to
# fail (failslab and fail_page_alloc, through /proc/PID/fail-nth and
# lunatik-fail-nth), for N = 1, 2, ... until a run makes fewer than N
# allocations and so runs without a fault. Every run must succeed or fail
# with a clean error (an exit code of the command's and an error message,
# never a signal), the state it touched must be in a state the command's
# outcome says (created or not, stopped or not), and the states, hooks,
# XDP attachments and rcu entries made before the sweep must still work.
# The console scan (KASAN, lockdep, warnings, Rust panics) and the
# kmemleak scan at the end cover what the failures did to the kernel.
# Nothing is random: a run is the same for the same N, so a failing N
# replays (docs/testing.md says how).
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
BPF=/lib/bpf
plan 18

. /selftests/xdp-frames.sh
frame 80 $PSH_ACK "$(hexstr 'GET / HTTP/1.0')" >/tmp/http.hex
XDP_TX=3

# The fault injection: nothing fails at random (probability 0), only the
# Nth call a task asks for with fail-nth; allocations that may sleep are
# failed too (the control plane's are GFP_KERNEL); and no message or
# stack dump is printed for an injected failure, so none is taken for a
# kernel report.
for f in failslab fail_page_alloc; do
	echo 0 >/sys/kernel/debug/$f/probability
	echo 0 >/sys/kernel/debug/$f/verbose
	echo N >/sys/kernel/debug/$f/ignore-gfp-wait
done

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
check insmod insmod "$KO"

# The states that exist before the sweeps and must outlive them:
# - keep: a process state holding x = 42;
# - guard: a softirq state whose hook drops UDP datagrams to port 9
#   arriving at this host and counts them;
# - xdp: a softirq state whose XDP function answers TX (lua.o calls it);
# - the rcu table faults.t with a = 1 .. e = 5, opened by keep.
cat >/tmp/guard.lua <<'LUA'
local nf = require("linux.nf")
dropped = 0
hook = require("netfilter").register{
	hook = function(skb)
		local ip = skb:data("net")
		if ip:getuint8(9) == 17 and ip:getuint8(22) == 0 and ip:getuint8(23) == 9 then
			dropped = dropped + 1
			return nf.action.DROP
		end
		return nf.action.ACCEPT
	end,
	pf = nf.proto.INET,
	hooknum = nf.inet.LOCAL_IN,
}
LUA
# full.lua: a state with one of everything a state can hold (a hook, an
# XDP attachment, a named and an anonymous rcu table), for stop, netns
# deletion and rmmod.
cat >/tmp/full.lua <<'LUA'
local nf = require("linux.nf")
hook = require("netfilter").register{
	hook = function() return nf.action.ACCEPT end,
	pf = nf.proto.INET,
	hooknum = nf.inet.LOCAL_OUT,
}
require("xdp").attach(function() return require("linux.xdp").PASS end)
named = require("rcu").table("faults.full")
named.k = "v"
anon = require("rcu").table()
anon.k = 1
return "full"
LUA
cat >/tmp/small.lua <<'LUA'
x = 1
local t = {}
for i = 1, 10 do t[i] = ("s"):rep(i) end
return #t
LUA
expect 0 lunatik run /examples/hello.lua --name keep &&
	expect 0 lunatik exec keep -e 'x = 42
		local t = require("rcu").table("faults.t")
		t.a, t.b, t.c, t.d, t.e = 1, 2, 3, 4, 5' &&
	expect 0 lunatik run /tmp/guard.lua softirq --name guard &&
	expect 0 lunatik run /examples/hello.lua softirq --name xdp &&
	expect 0 lunatik exec xdp -e 'require("xdp").attach(function() return require("linux.xdp").TX end)'
result $? survivors_made

# survivors: the states made before the sweeps still work: keep answers
# and sees faults.t whole, guard's hook drops a datagram to port 9 (its
# counter goes up), and lua.o gets TX from xdp's function.
survivors() {
	local before
	expect 0 lunatik exec keep -e 'local t = require("rcu").table("faults.t")
		return x, t.a, t.b, t.c, t.d, t.e' &&
		equals "$(printf '42\t1\t2\t3\t4\t5')" &&
		expect 0 lunatik exec guard -e 'return dropped' && before=$(cat $out) &&
		lunatik-udp flood 127.0.0.1:9 1 >/dev/null &&
		wait_until dropped_above "$before" &&
		expect 0 lunatik xdp test $BPF/lua.o --prog lua_raw --data /tmp/http.hex &&
		equals "retval $XDP_TX"
}
# dropped_above N: guard's hook has dropped more than N datagrams.
dropped_above() { [ "$(lunatik exec guard -e 'return dropped')" -gt "$1" ]; }
survivors
result $? survivors_work

# clean_error RC: the last run under a fault failed cleanly: an exit
# code of the command's own (not a signal, not "cannot execute") and a
# message on standard error besides lunatik-fail-nth's line.
clean_error() {
	[ "$1" -ge 1 ] && [ "$1" -le 124 ] && messages | grep -q .
}
# messages: the last run's error messages, without lunatik-fail-nth's
# line and iproute2's warning about this kernel's missing file locks.
messages() { grep -v '^lunatik-fail-nth:\|could not flock' $err; }

# How many runs under a fault a sweep makes at most: a path making more
# allocations than this is swept in steps (every 2nd, 3rd... allocation;
# docs/testing.md). RUNS=0 sweeps every allocation of every path.
RUNS=8

# sweep NAME PREPARE AFTER COMMAND...: runs PREPARE, COMMAND without a
# fault (which must succeed; its allocations are counted) and AFTER 0;
# then for N = 1, 1 + STEP, 1 + 2 STEP, ... (STEP from RUNS) runs
# PREPARE, then COMMAND with the Nth allocation inside its armed system
# calls failing (lunatik-fail-nth), then AFTER with COMMAND's exit code,
# which checks what COMMAND left behind and cleans up, while N is within
# the count. Each run must fail cleanly or succeed (a run that makes
# fewer than N allocations must succeed). A sweep stops after five failed
# checks. The error messages seen are listed, with how often.
sweep() {
	local name=$1 prepare=$2 after=$3 n=1 step total
	local rc runs=0 failed=0 bad=0
	shift 3
	: >/tmp/messages
	$prepare && timeout 60 lunatik-fail-nth 1000000 "$@" >$out 2>$err &&
		total=$((1000000 - $(sed -n 's/^lunatik-fail-nth: not reached (\([0-9]*\) left)$/\1/p' $err))) &&
		$after 0 || {
		diag "$name: the run without a fault failed"
		sed 's/^/#   err: /' $err | head -5
		return 1
	}
	step=1
	diag "$name: $total allocations"
	[ "$RUNS" -gt 0 ] && [ "$total" -gt "$RUNS" ] && step=$(((total + RUNS - 1) / RUNS))
	while [ $bad -lt 5 ] && [ $n -le "$total" ]; do
		$prepare || { diag "$name: N=$n: the preparation failed"; bad=5; break; }
		rc=0
		# A run that hangs (a request whose answer was lost) is ended
		# after a generous bound and fails the sweep.
		timeout 60 lunatik-fail-nth $n "$@" >$out 2>$err || rc=$?
		runs=$((runs + 1))
		[ $((runs % 5)) = 0 ] && diag "$name: run $runs, N=$n"
		if [ $rc = 124 ] || [ $rc = 143 ]; then
			diag "$name: N=$n: still running after 60 s"
			sed 's/^/#   err: /' $err | head -5
			bad=5
			break
		fi
		# A path's allocations vary a little from run to run (what the
		# Lua collector frees when, what a first run caches): a run may
		# end before its Nth, and must then have succeeded.
		if grep -q '^lunatik-fail-nth: not reached' $err; then
			[ $rc = 0 ] || {
				diag "$name: N=$n: exited $rc without a fault"
				sed 's/^/#   err: /' $err | head -5
				bad=$((bad + 1))
			}
		elif ! grep -q '^lunatik-fail-nth: injected' $err; then
			diag "$name: N=$n: $(tail -1 $err)"
			bad=5
			break
		elif [ $rc != 0 ]; then
			failed=$((failed + 1))
			messages | head -1 >>/tmp/messages
			clean_error $rc || {
				diag "$name: N=$n: exited $rc, not a clean error"
				sed 's/^/#   err: /' $err | head -5
				bad=$((bad + 1))
			}
		fi
		$after $rc || { diag "$name: N=$n: the check after exit $rc failed"; bad=$((bad + 1)); }
		n=$((n + step))
	done
	diag "$name: $total allocations, $runs runs (N = 1, $((1 + step)), ... $((n - step))), $failed failed cleanly; their errors:"
	sort /tmp/messages | uniq -c | sort -rn | head -8 | sed 's/^/#     /'
	[ $bad = 0 ]
}
none() { :; }

# run: a softirq state replicated on every CPU is made and runs a script;
# a failed run leaves no state behind, a successful one a state that
# answers.
after_run() {
	if [ "$1" = 0 ]; then
		expect 0 lunatik exec fr -e 'return x' && equals 1 && expect 0 lunatik stop fr
	else
		expect 4 lunatik stop fr
	fi
}
sweep run none after_run lunatik run /tmp/small.lua softirq percpu --name fr
result $? run_softirq_percpu

sweep run none after_run lunatik run /tmp/small.lua --name fr
result $? run_process

# exec: a chunk that allocates runs in keep; whatever happens to it, keep
# still holds x = 42.
after_exec() {
	{ [ "$1" != 0 ] || equals 20; } && expect 0 lunatik exec keep -e 'return x' && equals 42
}
sweep exec none after_exec \
	lunatik exec keep -e 'local t = {} for i = 1, 20 do t[i] = ("v"):rep(i) .. i end return #t'
result $? exec

# A netfilter hook registered in a softirq state. The registration is
# deferred to the end of the chunk (docs/architecture.md, "Deferred
# work"), so a refused one fails the run after `h` got its handle: a
# failed run must leave the state with no hook (its attachments empty in
# `lunatik list`), and the orphan handle must unregister harmlessly; a
# successful one unregisters. The libraries and the callback are loaded
# beforehand, so the sweep's allocations are the registration's rather
# than the loading's.
expect 0 lunatik run /examples/hello.lua softirq --name hk &&
	expect 0 lunatik exec hk -e 'nf, netfilter = require("linux.nf"), require("netfilter")
		function accept() return nf.action.ACCEPT end'
# hooks STATE N: STATE has N attachments.
hooks() {
	lunatik list --json >/tmp/list.json &&
		jq -e ".[] | select(.name == \"$1\") | .attachments | length == $2" /tmp/list.json >/dev/null
}
after_register() {
	if [ "$1" = 0 ]; then
		hooks hk 1 && expect 0 lunatik exec hk -e 'h:unregister() h = nil'
	elif grep -q 'No buffer space available' $err; then
		# The answer was lost, not necessarily the request.
		expect 0 lunatik exec hk -e 'if h then h:unregister() h = nil end'
	else
		hooks hk 0 && expect 0 lunatik exec hk -e 'if h then h:unregister() h = nil end'
	fi && hooks hk 0
}
sweep hook_register none after_register lunatik exec hk -e \
	'h = netfilter.register{hook = accept, pf = nf.proto.INET, hooknum = nf.inet.LOCAL_OUT}'
result $? hook_register

# Unregistering a hook (nf_unregister_net_hook allocates a smaller hook
# array): whatever the outcome, the state still stops.
prepare_unregister() {
	expect 0 lunatik exec hk -e \
		'h = netfilter.register{hook = accept, pf = nf.proto.INET, hooknum = nf.inet.LOCAL_OUT}'
}
after_unregister() { expect 0 lunatik exec hk -e 'pcall(h.unregister, h) h = nil'; }
sweep hook_unregister prepare_unregister after_unregister lunatik exec hk -e 'h:unregister()'
result $? hook_unregister
expect 0 lunatik stop hk

# XDP attach in another state: a failed attach leaves the state without
# an attachment and every other state's attachment in place (xdp still
# answers lua.o: finding 4 of issue 22 was a failed allocation emptying
# the index), a successful one detaches again.
expect 0 lunatik run /examples/hello.lua softirq --name xa &&
	expect 0 lunatik exec xa -e 'xdp = require("xdp") function drop() return 1 end'
after_attach() {
	if [ "$1" = 0 ]; then
		expect 0 lunatik exec xa -e 'xdp.detach()'
	else
		# The answer may be lost after the attach ("No buffer space
		# available"): detach whatever there is.
		expect 0 lunatik xdp test $BPF/lua.o --prog lua_raw --data /tmp/http.hex &&
			equals "retval $XDP_TX" && expect 0 lunatik exec xa -e 'pcall(xdp.detach)'
	fi
}
sweep xdp_attach none after_attach \
	lunatik exec xa -e 'xdp.attach(drop)'
result $? xdp_attach
expect 0 lunatik stop xa

# rcu writes: new entries in faults.t and a new named table; the entries
# made before are all there afterwards, and the new ones go again.
after_rcu() {
	expect 0 lunatik exec keep -e 'local t = require("rcu").table("faults.t")
		for i = 1, 8 do t["n" .. i] = nil end
		require("rcu").table("faults.n").k = nil
		return t.a, t.b, t.c, t.d, t.e' && equals "$(printf '1\t2\t3\t4\t5')"
}
sweep rcu_write none after_rcu lunatik exec keep -e 'local rcu = require("rcu")
	local t = rcu.table("faults.t")
	for i = 1, 8 do t["n" .. i] = ("w"):rep(i) end
	t.c = 3
	rcu.table("faults.n").k = 1'
result $? rcu_write

# stop: a state holding a hook, an XDP attachment and rcu tables is
# stopped; if the stop failed, the state is still there and a second stop
# (without a fault) ends it.
# A stop whose answer was lost (netlink could not allocate the
# acknowledgement: "No buffer space available") may have stopped the
# state; any other failure must leave it.
prepare_stop() { expect 0 lunatik run /tmp/full.lua softirq --name st; }
after_stop() {
	local rc=0
	if [ "$1" != 0 ]; then
		lunatik stop st >/dev/null 2>&1 || rc=$?
		[ $rc = 0 ] || { [ $rc = 4 ] && grep -q 'No buffer space available' $err; } || {
			diag "the failed stop ($(messages | head -1)) left no state, or a state a second stop did not end (exit $rc)"
			return 1
		}
	fi
	expect 4 lunatik exec st -e 'return 1'
}
sweep stop prepare_stop after_stop lunatik stop st
result $? stop

survivors
result $? survivors_after_sweeps

# A namespace's creation runs the module's per-namespace setup in the
# task that creates it: a failed creation leaves no namespace, a
# successful one takes states. Deleting a namespace with a state (which
# has everything of full.lua): the deleting task only drops its
# reference; the namespace's cleanup, the module's included, runs in a
# workqueue the injection does not reach, so this sweep covers little of
# the module (docs/testing.md).
after_netns_add() {
	if [ "$1" = 0 ]; then
		nsx fns lunatik run /tmp/full.lua softirq --name n1 >/dev/null &&
			netns del fns
	else
		! netns list | grep -qw fns || { netns del fns; false; }
	fi
}
sweep netns_add none after_netns_add $IP netns add fns
result $? netns_add

prepare_netns_del() {
	netns add fns && nsx fns lunatik run /tmp/full.lua softirq --name n1 >/dev/null
}
after_netns_del() { [ "$1" = 0 ] || netns del fns; }
sweep netns_del prepare_netns_del after_netns_del $IP netns del fns
result $? netns_del

survivors
result $? survivors_after_netns

# rmmod with states in two namespaces (each with everything of
# full.lua): a failed rmmod leaves a working module, a successful one
# none; then insmod, whose sweep covers the module's loading and init.
prepare_rmmod() {
	{ [ -d /sys/module/lunatik ] || insmod $KO; } &&
		{ netns list | grep -qw fns || netns add fns; } &&
		lunatik run /tmp/full.lua softirq --name r1 >/dev/null &&
		nsx fns lunatik run /tmp/full.lua softirq --name r2 >/dev/null
}
after_rmmod() {
	if [ "$1" = 0 ]; then
		[ ! -d /sys/module/lunatik ]
	else
		expect 0 lunatik stop r1 && expect 0 nsx fns lunatik stop r2
	fi
}
lunatik stop keep && lunatik stop guard && lunatik stop xdp
sweep rmmod prepare_rmmod after_rmmod rmmod lunatik
result $? rmmod

after_insmod() {
	if [ "$1" = 0 ]; then
		expect 0 lunatik run /examples/hello.lua --name ins && rmmod lunatik
	else
		[ ! -d /sys/module/lunatik ]
	fi
}
sweep insmod none after_insmod insmod $KO
result $? insmod
netns del fns

# Nothing the failures left behind leaks (the namespaces' cleanup has
# run by the time the scan looks: kmemleak reports only objects older
# than its wait).
kmemleak_clean
