# Benchmarks inside the VM (make bench): loads the module with its KUnit
# suite lunatik_bench selected and prints the figures it logs. Under QEMU
# TCG only the ratios measured in one run mean anything.
# printf, not echo: a trailing newline would become part of the glob.
printf %s lunatik_bench >/sys/module/kunit/parameters/filter_glob
dmesg -c >/dev/null
insmod /lib/modules/lunatik.ko || exit 1
echo "lunatik-rs benchmarks ($(nproc) vCPUs, QEMU TCG):"
dmesg | sed -n 's/.*lunatik: bench: /  /p'
grep -q '^ok' /sys/kernel/debug/kunit/lunatik_bench/results 2>/dev/null ||
	echo "  (the benchmark suite failed; see the kernel log)"
rmmod lunatik

# Packets per second through a netfilter hook: lunatik-udp floods 64-byte
# UDP datagrams from one namespace to a listener in another over a veth
# pair, with no hook, then with a Lua hook that only returns ACCEPT, then
# with the User-Agent blocker (which parses every IPv4 TCP packet; these
# are UDP, so it returns after three header reads). The veth transmit
# runs the receiving stack, hooks included, in the sender's context, so
# the sender's rate is the path's rate. Each figure is the best of three.
IP=/usr/bin/ip
N=20000
insmod /lib/modules/lunatik.ko || exit 1
$IP netns add bs 2>/dev/null; $IP netns add bc 2>/dev/null
$IP link add bvc type veth peer name bvs
$IP link set bvc netns bc && $IP link set bvs netns bs
$IP netns exec bc ip addr add 10.201.0.1/24 dev bvc
$IP netns exec bs ip addr add 10.201.0.2/24 dev bvs
$IP netns exec bc ip link set bvc up && $IP netns exec bs ip link set bvs up
# One warm-up flood fills the neighbour table.
$IP netns exec bc lunatik-udp flood 10.201.0.2:9 100 >/dev/null
best_pps() {
	local best=0 pps i
	for i in 1 2 3; do
		$IP netns exec bs lunatik-udp listen 9 30 >/dev/null 2>&1 &
		local listener=$!
		sleep 0.5
		pps=$($IP netns exec bc lunatik-udp flood 10.201.0.2:9 $N | sed 's/.*: \([0-9]*\) pps/\1/')
		kill $listener 2>/dev/null
		wait $listener 2>/dev/null
		[ "$pps" -gt "$best" ] && best=$pps
	done
	echo $best
}
none=$(best_pps)
cat >/tmp/accept.lua <<'LUA'
local nf = require("linux.nf")
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
	hook = function(skb) return nf.action.ACCEPT end}
LUA
$IP netns exec bs lunatik run /tmp/accept.lua softirq >/dev/null
trivial=$(best_pps)
$IP netns exec bs lunatik stop accept
$IP netns exec bs lunatik run /examples/useragent.lua softirq >/dev/null
agent=$(best_pps)
calls=$($IP netns exec bs lunatik stats useragent --json | jq '.[0].calls')
echo "  netfilter, $N UDP datagrams of 64 bytes between namespaces (best of 3):"
echo "    no hook:                  $none pps"
echo "    Lua hook returning ACCEPT: $trivial pps ($(( trivial * 100 / none ))% of no hook)"
echo "    User-Agent blocker:       $agent pps ($(( agent * 100 / none ))% of no hook; $calls hook calls)"
$IP netns del bs 2>/dev/null; $IP netns del bc 2>/dev/null
rmmod lunatik

# Sections other files add (selftests/bench.d/*.sh), each run on its own.
for f in /selftests/bench.d/*.sh; do [ -e "$f" ] && sh "$f"; done
