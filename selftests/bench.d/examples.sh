# The use-case examples (docs/examples.md, "Figures"), between two
# network namespaces over a veth pair: client ec (10.213.0.1) and server
# es (10.213.0.2), where the states run and the hooks are registered.
#   l7policy   requests per second: `lunatik-tcp rps` makes REQS HTTP/1.0
#              requests, one connection each, one after the other, to
#              busybox httpd; no policy, then examples/l7policy.lua with
#              10 rules and with 1,000 (inserted 100 per `lunatik exec`).
#   scanblock  packets per second: 64-byte UDP datagrams to a listener
#              (the blocked-source check only) and SYNs from PKTS spoofed
#              sources to a closed port (each answered with a reset the
#              detector scores: an rcu write); no hook, the netfilter
#              path (examples/scanblock.lua), XDP with a program that
#              only passes (pass.o: what native XDP on the veth costs by
#              itself), and the XDP path (examples/scanblock/xdp.lua from
#              scanblock.o).
#   blocked    packets per second from a source already blocked (the
#              scanner once the detector has blocked it): the client's
#              address is put in scan.blocked with `lunatik exec`, as the
#              walk would put it, then the same UDP flood: the netfilter
#              path drops it at PRE_ROUTING, the XDP path in the driver
#              before any skb exists; no hook (the UDP figure above, the
#              same traffic taken in by the listener) for reference.
# A packet rate is what the server's stack took in (UDP datagrams or TCP
# segments received, from its /proc/net/snmp) per second of sending: at
# XDP a veth queues frames in a ring of its own, and frames the ring had
# no room for must not count. A blocked source's packets never reach the
# stack, so there the rate is the state's own `dropped` counter (one per
# packet the Lua check dropped, on either path) per second of sending:
# both paths count the same event, the drop decision, and frames a full
# veth ring lost before XDP saw them are not counted (a sender's own rate
# would count them: veth_xmit reports success for them). The sender and
# the receiving softirq share the CPUs, so per second of sending is the
# rate at which the server disposes of the flood. Each figure is the
# best of three; under QEMU TCG only the ratios within one run mean
# anything.
IP=/usr/bin/ip
KO=/lib/modules/lunatik.ko
BPF=/lib/bpf
REQS=${LUNATIK_BENCH_REQUESTS:-300}
PKTS=${LUNATIK_BENCH_PACKETS:-10000}
SERVER=10.213.0.2
insmod $KO || exit 1

$IP netns add ec
$IP netns add es
$IP link add ec0 type veth peer name es0
$IP link set ec0 netns ec
$IP link set es0 netns es
$IP -n ec addr add 10.213.0.1/24 dev ec0
$IP -n es addr add $SERVER/24 dev es0
$IP -n ec link set ec0 up
$IP -n es link set es0 up
$IP -n ec link set lo up
$IP -n es link set lo up
# The resets answering spoofed sources go back through the client (which
# drops them), so the server sends them and LOCAL_OUT sees them.
$IP -n es route add default via 10.213.0.1
es() { $IP netns exec es "$@"; }
ec() { $IP netns exec ec "$@"; }
mkdir -p /tmp/wwwb/public
echo public >/tmp/wwwb/public/index.html
es httpd -f -p 80 -h /tmp/wwwb 2>/dev/null &
httpd=$!
es lunatik-udp listen 9 3600 >/dev/null 2>&1 &
listener=$!
# Neighbour entries, and a server that answers, before any measurement.
i=0
until ec wget -q -O /dev/null http://$SERVER/public/index.html || [ $i -ge 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
ec lunatik-udp flood $SERVER:9 100 >/dev/null

# pct PART WHOLE: PART as a percentage of WHOLE.
pct() { [ "${2:-0}" -gt 0 ] && echo "$(($1 * 100 / $2))%" || echo "?"; }
# best COMMAND...: the largest of three numbers COMMAND prints.
best() {
	local b=0 v k
	for k in 1 2 3; do
		v=$("$@")
		[ "${v:-0}" -gt "$b" ] && b=$v
	done
	echo $b
}
# rps: one run of requests' rate.
rps() { ec lunatik-tcp rps $SERVER:80 $REQS /public/index.html | sed -n 's/.*: \([0-9]*\) rps/\1/p'; }
# snmp PROTO FIELD: a counter of the server's /proc/net/snmp.
snmp() {
	es cat /proc/net/snmp | awk -v p="$1:" -v f="$2" \
		'$1 == p { if (!c) { for (i = 2; i <= NF; i++) if ($i == f) c = i } else { print $c; exit } }'
}
udp_in() { echo $(($(snmp Udp InDatagrams) + $(snmp Udp RcvbufErrors))); }
tcp_in() { snmp Tcp InSegs; }
# rate COUNTER COMMAND...: COMMAND sends ("sent N in NS ns: ..."); the
# rate at which COUNTER grew meanwhile, per second of sending. The ring
# of a veth at XDP holds 256 frames: a moment after sending, it is empty.
rate() {
	local counter=$1 before after ns
	shift
	before=$($counter)
	ns=$("$@" | sed -n 's/.* in \([0-9]*\) ns.*/\1/p')
	sleep 0.2
	after=$($counter)
	[ "${ns:-0}" -gt 0 ] && echo $(((after - before) * 1000000000 / ns)) || echo 0
}
udp() { rate udp_in ec lunatik-udp flood $SERVER:9 $PKTS; }
# syn: PKTS SYNs from as many sources to the closed port 22. The scores
# they leave are forgotten first, so every run scores PKTS new sources.
syn() {
	forget
	rate tcp_in ec lunatik-tcp synflood $SERVER:22 $PKTS 10.99.0.1
}
# The blocked source: the client itself.
CLIENT=10.213.0.1
dropped_n() { es lunatik exec scanblock -e 'return dropped'; }
# blocked: one run of UDP from the client, blocked, to the listener: the
# rate of the running detector's drops.
blocked() { rate dropped_n ec lunatik-udp flood $SERVER:9 $PKTS; }
# block_client / unblock_client: the client in scan.blocked for an hour,
# or out of it (the entry the walk writes at the threshold).
block_client() {
	es lunatik exec scanblock -e "require('rcu').table('scan.blocked')['$CLIENT'] =
		require('linux').time() // 1000000000 + 3600" >/dev/null
}
unblock_client() { es lunatik exec scanblock -e "require('rcu').table('scan.blocked')['$CLIENT'] = nil" >/dev/null; }
# blocked_best: best of three blocked runs (the tracked scores forgotten
# first, so each packet's sweep finds an empty queue on either path),
# then how many of the 3 x PKTS packets sent the detector dropped.
blocked_best() {
	local d0 b
	forget
	block_client
	d0=$(dropped_n)
	b=$(best blocked)
	echo "$b $(($(dropped_n) - d0))"
	unblock_client
}
# forget: the running detector (if any) forgets every source it tracks.
forget() {
	es lunatik exec scanblock -e 'return 0' >/dev/null 2>&1 || return 0
	es lunatik exec scanblock -e 'require("rcu").table("scan.config").expire_s = 0'
	local k=0
	until [ "$(es lunatik exec scanblock -e 'sweep(500) return tracked')" = 0 ] || [ $k -ge 100 ]; do
		k=$((k + 1))
	done
	es lunatik exec scanblock -e 'require("rcu").table("scan.config").expire_s = nil'
}

# --- l7policy ---------------------------------------------------------------
l7_none=$(best rps)
es lunatik run /examples/l7policy.lua softirq >/dev/null
es lunatik exec l7policy -e 'local r = require("rcu").table("l7.rules")
	r["* GET /public/"] = true
	for i = 1, 9 do r["10.9.0." .. i .. " POST /admin" .. i .. "/"] = true end'
l7_10=$(best rps)
# 990 more, 100 per exec: GET rules for other clients and paths.
n=1
while [ $n -le 990 ]; do
	last=$((n + 99))
	[ $last -gt 990 ] && last=990
	es lunatik exec l7policy -e "local r = require('rcu').table('l7.rules')
		for i = $n, $last do r['10.9.' .. i // 256 .. '.' .. i % 256 .. ' GET /api/v' .. i .. '/'] = true end"
	n=$((last + 1))
done
l7_1000=$(best rps)
l7_rules=$(es lunatik exec l7policy -e 'local n = 0
	require("rcu").map(require("rcu").table("l7.rules"), function() n = n + 1 end) return n')
l7_counts=$(es lunatik exec l7policy -e 'return allowed, denied' | tr '\t' /)
es lunatik stop l7policy

# --- scanblock --------------------------------------------------------------
udp_none=$(best udp)
syn_none=$(best syn)
es lunatik run /examples/scanblock.lua softirq >/dev/null
udp_nf=$(best udp)
syn_nf=$(best syn)
nf_counts=$(es lunatik exec scanblock -e 'return blocks, dropped, untracked' | tr '\t' /)
set -- $(blocked_best)
blk_nf=${1:-0} blk_nf_dropped=${2:-?}
forget
es lunatik stop scanblock
es lunatik xdp attach es0 $BPF/pass.o --mode native >/dev/null
udp_pass=$(best udp)
syn_pass=$(best syn)
es lunatik xdp detach es0
es lunatik run examples/scanblock/xdp softirq --name scanblock >/dev/null
es lunatik xdp attach es0 $BPF/scanblock.o --mode native >/dev/null
udp_xdp=$(best udp)
syn_xdp=$(best syn)
xdp_counts=$(es lunatik exec scanblock -e 'return blocks, dropped, untracked' | tr '\t' /)
xdp_calls=$(es lunatik stats --json 2>/dev/null | jq '.[] | select(.name == "scanblock") | .calls' 2>/dev/null)
set -- $(blocked_best)
blk_xdp=${1:-0} blk_xdp_dropped=${2:-?}
forget
es lunatik xdp detach es0
es lunatik stop scanblock

echo "  Examples (docs/examples.md), client and server namespaces over a veth pair:"
echo "    l7policy, $REQS HTTP/1.0 requests to busybox httpd, best of 3 (requests/s):"
echo "      no policy:               $l7_none"
echo "      10 rules:                $l7_10 ($(pct "$l7_10" "$l7_none") of no policy)"
echo "      1,000 rules:             $l7_1000 ($(pct "$l7_1000" "$l7_none") of no policy; $l7_rules rules; allowed/denied $l7_counts)"
echo "    scanblock, $PKTS packets a flood, best of 3 (packets/s the server took in):"
echo "                               UDP to a listener                   SYNs from spoofed sources"
printf '      %-24s %-35s %s\n' "no hook:" "$udp_none" "$syn_none"
printf '      %-24s %-35s %s\n' "netfilter path:" "$udp_nf ($(pct "$udp_nf" "$udp_none"))" "$syn_nf ($(pct "$syn_nf" "$syn_none"))"
printf '      %-24s %-35s %s\n' "XDP pass.o (no Lua):" "$udp_pass ($(pct "$udp_pass" "$udp_none"))" "$syn_pass ($(pct "$syn_pass" "$syn_none"))"
printf '      %-24s %-35s %s\n' "XDP path:" "$udp_xdp ($(pct "$udp_xdp" "$udp_none"), $(pct "$udp_xdp" "$udp_pass") of pass.o)" \
	"$syn_xdp ($(pct "$syn_xdp" "$syn_none"), $(pct "$syn_xdp" "$syn_pass") of pass.o)"
echo "      (blocks/dropped/untracked: netfilter $nf_counts, XDP $xdp_counts; calls of the XDP state, XDP and LOCAL_OUT: $xdp_calls)"
echo "    scanblock, UDP from a blocked source, $PKTS packets a flood, best of 3 (packets/s the server disposed of):"
printf '      %-24s %s\n' "no hook:" "$udp_none (taken in by the listener: the UDP figure above)"
printf '      %-24s %s\n' "netfilter path:" "$blk_nf dropped at PRE_ROUTING ($(pct "$blk_nf" "$udp_none") of no hook)"
printf '      %-24s %s\n' "XDP path:" "$blk_xdp dropped at XDP ($(pct "$blk_xdp" "$udp_none") of no hook, $(pct "$blk_xdp" "$blk_nf") of netfilter)"
echo "      (dropped of $((3 * PKTS)) sent: netfilter $blk_nf_dropped, XDP $blk_xdp_dropped)"

kill $listener $httpd 2>/dev/null
wait $listener $httpd 2>/dev/null
$IP netns del ec
$IP netns del es
rmmod lunatik
