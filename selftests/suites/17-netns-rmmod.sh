# limit: 1000 (seconds this suite's VM boot may take; see docs/testing.md)
# Namespaces deleted while the module unloads (issue 22, finding 7):
# twenty rounds in one boot of insmod, two namespaces joined by a veth
# pair with a softirq state in each, the SNI filter attached to the
# server's end and run on a blocked hello in the server's namespace, both
# namespaces deleted, and rmmod retried until the attached program's
# reference on the module is gone.
# rmmod then races the namespaces' asynchronous cleanup (cleanup_net):
# some of their states are destroyed by that cleanup, others by the
# module's own exit (unregister_pernet_subsys). Either way everything
# must be freed: every state is destroyed with its namespace, and
# kmemleak, scanned twice at the end, reports nothing.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
BPF=/lib/bpf
S=10.215.0.2
ROUNDS=20
plan 4

. /selftests/xdp-frames.sh
frame 443 $PSH_ACK "$(hello blocked.example)" >/tmp/blocked.hex
# The client's state: a named rcu table of its namespace, and a function
# for the kfuncs (no program calls it).
cat >/tmp/client.lua <<'LUA'
require("rcu").table("client.table")["x.example"] = 1
require("xdp").attach(function() return require("linux.xdp").PASS end)
LUA

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
[ -e /sys/module/lunatik ] && rmmod lunatik

sv() { nsx server lunatik "$@"; }
cl() { nsx client lunatik "$@"; }
# unloaded: rmmod succeeds (it fails while the attached program holds
# the module, until the namespace's device and the program are gone).
unloaded() { rmmod lunatik && [ ! -e /sys/module/lunatik ]; }

# round N: one round; its failures are diagnostics naming the round.
round() {
	insmod "$KO" &&
		netns add server && netns add client &&
		$IP link add vc type veth peer name vs &&
		$IP link set vc netns client && $IP link set vs netns server &&
		nsx client ip addr add 10.215.0.1/24 dev vc && nsx server ip addr add $S/24 dev vs &&
		nsx client ip link set vc up && nsx server ip link set vs up &&
		expect 0 sv run /examples/xdp/sni.lua softirq &&
		expect 0 sv exec sni -e "require('rcu').table('sni.blocklist')['blocked.example'] = true" &&
		expect 0 cl run /tmp/client.lua softirq --name client &&
		expect 0 sv xdp attach vs $BPF/sni.o || { diag "round $1: setup failed"; return 1; }
	# The filter drops a blocked hello in the server's namespace
	# (BPF_PROG_TEST_RUN there: the kfunc finds the state of that
	# namespace), which the state counts.
	expect 0 nsx server lunatik xdp test $BPF/sni.o --prog sni --data /tmp/blocked.hex &&
		equals "retval 1" &&
		expect 0 sv exec sni -e 'return blocked' && equals 1 ||
		{ diag "round $1: the hello was not dropped"; return 1; }
	# The program holds the module; the namespaces go with their states,
	# the device and the program; then rmmod succeeds.
	expect 1 rmmod lunatik || { diag "round $1: rmmod not refused"; return 1; }
	netns del server && netns del client &&
		wait_until unloaded || { diag "round $1: the module did not unload"; return 1; }
}

r=0
i=1
start=$(date +%s)
while [ $i -le $ROUNDS ]; do
	round $i || { r=1; break; }
	diag "round $i done at $(($(date +%s) - start)) s"
	i=$((i + 1))
done
[ $r = 0 ] && diag "$ROUNDS rounds in $(($(date +%s) - start)) s"
result $r create_attach_delete_rmmod_rounds

# Each state was destroyed with its namespace, by the namespace's cleanup
# or by the module's exit: 2 states a round, none left over.
destroyed=$(dmesg | sed -n 's/.*lunatik: destroyed \([0-9]*\) states of a network namespace.*/\1/p' |
	awk '{ n += $1 } END { print n + 0 }')
diag "states destroyed with their namespace: $destroyed"
[ "$destroyed" = $((2 * ROUNDS)) ]
result $? every_state_destroyed

dmesg | grep -E "WARNING|BUG" | head -5 | sed 's/^/# /'
! dmesg | grep -qE "WARNING|BUG"
result $? kernel_log_clean

# kmemleak reports only objects older than its minimum age (5 s), so the
# scans follow after that long; two scans, as an object may be reported
# only on the second.
sleep 6
echo scan >/sys/kernel/debug/kmemleak
echo scan >/sys/kernel/debug/kmemleak
leaks=$(cat /sys/kernel/debug/kmemleak)
if [ -z "$leaks" ]; then
	ok kmemleak_clean
else
	echo "$leaks" | head -80 | sed 's/^/# /'
	diag "unreferenced objects: $(echo "$leaks" | grep -c '^unreferenced object')"
	not_ok kmemleak_clean "kmemleak reports unreferenced objects"
fi
