# limit: 700 (seconds this suite's VM boot may take; see docs/testing.md)
# Netfilter hooks beyond IPv4/IPv6 (docs/netfilter.md, "Hook points"):
# netdev ingress and egress on a named veth, a bridge hook between two
# namespaces, ARP hooks, the refusals of register, a device deleted or
# moved away under its hook, and `lunatik list` showing hooks and XDP
# attachments. Each step waits for the traffic it needs (wait_until);
# a ping that must fail gets two seconds, and nothing is concluded from
# timing. Hook counters say what the hook saw.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
plan 16

# ping NS ADDR: one echo from NS to ADDR is answered.
ping1() { nsx "$1" ping -c 1 -W 2 "$2" >/dev/null 2>&1; }
# unanswered NS ADDR: one echo from NS to ADDR gets no answer.
unanswered() { ! ping1 "$@"; }
# lx NS NAME CODE: runs CODE in state NAME of NS (values in $out).
lx() { expect 0 nsx "$1" lunatik exec "$2" -e "$3"; }
# value NS NAME EXPR: prints what EXPR evaluates to in the state.
value() { nsx "$1" lunatik exec "$2" -e "return $3"; }
# at_least NS NAME EXPR N: EXPR is at least N in the state.
at_least() { [ "$(value "$1" "$2" "$3")" -ge "$4" ]; }

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
check insmod insmod "$KO"

# spoke I: namespace hI, reaching "hub" over hIa (10.13.I.1) -- hIb
# (10.13.I.2).
spoke() {
	netns add h$1 &&
		$IP link add h$1a type veth peer name h$1b &&
		$IP link set h$1a netns h$1 && $IP link set h$1b netns hub &&
		nsx h$1 ip addr add 10.13.$1.1/24 dev h$1a &&
		nsx hub ip addr add 10.13.$1.2/24 dev h$1b &&
		nsx h$1 ip link set h$1a up && nsx hub ip link set h$1b up
}
netns add hub && spoke 1 && spoke 2 &&
	wait_until ping1 h1 10.13.1.2 && wait_until ping1 h2 10.13.2.2
result $? hub_reachable_without_hooks

# The hook script: counts what it sees in `seen`, checks every packet
# came from DEV (`foreign` counts the others), and drops ICMP echo
# requests (type 8) or replies (type 0), as TYPE says. IPv4 ICMP is
# recognised in the `net` view; the `mac` view must hold the frame's
# Ethernet header with type 0x0800 (`mac_ok` counts those).
cat >/tmp/netdev.lua <<'EOF'
local nf = require("linux.nf")
local netfilter = require("netfilter")
seen, foreign, mac_ok = 0, 0, 0
function watch(dev, ifindex, hooknum, icmp_type)
	return netfilter.register{
		pf = nf.proto.NETDEV, hooknum = hooknum, dev = dev, priority = -5,
		hook = function(skb)
			local ip = skb:data("net")
			if #ip < 21 or ip:getbyte(0) >> 4 ~= 4 or ip:getbyte(9) ~= 1 then
				return nf.action.ACCEPT
			end
			seen = seen + 1
			if skb:ifindex() ~= ifindex then foreign = foreign + 1 end
			local mac = skb:data("mac")
			if mac and #mac >= 14 + #ip and mac:getbyte(12) == 8 and mac:getbyte(13) == 0 then
				mac_ok = mac_ok + 1
			end
			local ihl = (ip:getbyte(0) & 15) * 4
			if ip:getbyte(ihl) == icmp_type then return nf.action.DROP end
			return nf.action.ACCEPT
		end,
	}
end
EOF
ifindex() { nsx "$1" cat /sys/class/net/"$2"/ifindex; }
# returns NS ARGS...: `ip -n NS ARGS` succeeds within wait_until's bound.
# It runs in the background: the kernel waits, uninterruptibly and for
# ever, for a device someone still holds to be freed before `ip link
# del` returns, so a leaked reference must fail the test, not hang it.
returns() {
	local ns=$1 pid
	shift
	$IP -n "$ns" "$@" &
	pid=$!
	wait_until stopped $pid && wait $pid
}

# Netdev ingress on h1b: echo requests from h1 are dropped and counted;
# h2's reach the hub through h2b untouched; the hook saw only h1b.
h1b=$(ifindex hub h1b)
expect 0 nsx hub lunatik run /tmp/netdev.lua softirq --name ingress &&
	lx hub ingress "h = watch('h1b', $h1b, require('linux.nf').netdev.INGRESS, 8)" &&
	unanswered h1 10.13.1.2 && wait_until at_least hub ingress seen 1 &&
	ping1 h2 10.13.2.2 && n=$(value hub ingress seen) &&
	unanswered h1 10.13.1.2 && wait_until at_least hub ingress seen $((n + 1)) &&
	lx hub ingress "return foreign, mac_ok == seen" && equals "$(printf '0\ttrue')"
result $? netdev_ingress_drops_on_its_device

# Netdev egress on h2b: the hub's replies to h2 are dropped on their way
# out (the requests got in: the hook saw them leave as replies), with
# the Ethernet header already built (the mac view checks it).
h2b=$(ifindex hub h2b)
expect 0 nsx hub lunatik run /tmp/netdev.lua softirq --name egress &&
	lx hub egress "h = watch('h2b', $h2b, require('linux.nf').netdev.EGRESS, 0)" &&
	unanswered h2 10.13.2.2 && wait_until at_least hub egress seen 1 &&
	lx hub egress "return foreign, mac_ok == seen" && equals "$(printf '0\ttrue')" &&
	lx hub egress "h:unregister()" && wait_until ping1 h2 10.13.2.2
result $? netdev_egress_drops_leaving_its_device

# `lunatik list` shows each state's hooks: family, hook, priority and
# device, in text and JSON; a state without hooks shows none.
expect 0 nsx hub lunatik run /examples/hello.lua --name plain &&
	expect 0 nsx hub lunatik list && grep -qx "  netfilter NETDEV INGRESS priority -5 dev h1b" $out &&
	! grep -q "EGRESS" $out &&
	expect 0 nsx hub lunatik list --json &&
	[ "$(jq -c '.[] | select(.name == "ingress") | .attachments' $out)" = \
		'[{"kind":"netfilter","family":"NETDEV","hook":"INGRESS","priority":-5,"device":"h1b"}]' ] &&
	[ "$(jq -c '.[] | select(.name == "plain") | .attachments' $out)" = '[]' ]
result $? list_shows_hooks

# Refusals: a device missing from the state's namespace (h1a is in h1),
# a hook on a device without one, `dev` where the family has no device,
# hook numbers outside the family, an unknown family. None leaves a hook.
r=0
expect 0 nsx hub lunatik run /tmp/netdev.lua softirq --name refused || r=1
expect 1 nsx hub lunatik exec refused -e "watch('h1a', 0, 0, 8)" &&
	grep -q "no such device in the state's namespace" $err || r=1
refuse() {
	expect 1 nsx hub lunatik exec refused -e "local nf = require('linux.nf')
		require('netfilter').register{hook = function() end, $1}" &&
		grep -q "$2" $err || { diag "accepted: $1"; r=1; }
}
refuse "pf = nf.proto.NETDEV, hooknum = nf.netdev.INGRESS" "'dev' is required"
refuse "pf = nf.proto.INET, hooknum = nf.inet.INGRESS" "'dev' is required"
refuse "pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, dev = 'h1b'" "'dev' is only for"
refuse "pf = nf.proto.ARP, hooknum = nf.arp.IN, dev = 'h1b'" "'dev' is only for"
refuse "pf = nf.proto.NETDEV, hooknum = 2, dev = 'h1b'" "one of netdev"
refuse "pf = nf.proto.BRIDGE, hooknum = nf.br.BROUTING" "one of br"
refuse "pf = nf.proto.ARP, hooknum = 3" "one of arp"
refuse "pf = nf.proto.IPV6, hooknum = nf.inet.INGRESS" "one of inet"
refuse "pf = 99, hooknum = 0" "pf must be"
refuse "pf = nf.proto.NETDEV, hooknum = 0, dev = 'a-name-too-long-for-linux'" "not a device name"
refuse "pf = nf.proto.NETDEV, hooknum = 0, dev = 7" "must be a device name"
expect 0 nsx hub lunatik list && ! grep -A1 "^refused " $out | grep -q netfilter || r=1
expect 0 nsx hub lunatik stop refused || r=1
result $r register_refusals

# Inet ingress is on a device too (the kernel keeps it with the netdev
# ingress hooks): it sees the hub's packets from h2 before the IP stack.
cat >/tmp/inet-ingress.lua <<'EOF'
local nf = require("linux.nf")
seen = 0
require("netfilter").register{
	pf = nf.proto.INET, hooknum = nf.inet.INGRESS, dev = "h2b",
	hook = function(skb) seen = seen + 1 return nf.action.ACCEPT end,
}
EOF
expect 0 nsx hub lunatik run /tmp/inet-ingress.lua softirq &&
	ping1 h2 10.13.2.2 && wait_until at_least hub inet-ingress seen 1 &&
	expect 0 nsx hub lunatik list && grep -qx "  netfilter INET INGRESS priority 0 dev h2b" $out &&
	expect 0 nsx hub lunatik stop inet-ingress
result $? inet_ingress_on_a_device

# A device deleted under its hook: the kernel keeps netdev hooks in the
# device, so the module takes the hook out when the device goes; `ip link
# del` returns (nothing holds the device), the list shows the hook gone,
# and stopping the state afterwards frees the rest (kmemleak and KASAN
# watch). Then a device moved to another namespace, whose gone hook is
# unregistered before the state stops.
$IP -n hub link add gone0 type veth peer name gone1 &&
	nsx hub ip link set gone0 up && nsx hub ip link set gone1 up &&
	expect 0 nsx hub lunatik run /tmp/netdev.lua softirq --name doomed &&
	lx hub doomed "h = watch('gone0', 0, 0, 8)" &&
	expect 0 nsx hub lunatik list && grep -qx "  netfilter NETDEV INGRESS priority -5 dev gone0" $out &&
	returns hub link del gone0 &&
	expect 0 nsx hub lunatik list && grep -qx "  netfilter NETDEV INGRESS priority -5 dev gone0 (gone)" $out &&
	expect 0 nsx hub lunatik list --json &&
	[ "$(jq -c '.[] | select(.name == "doomed") | .attachments[0].device_gone' $out)" = true ] &&
	expect 0 nsx hub lunatik stop doomed &&
	expect 0 nsx hub lunatik list && ! grep -q "gone0" $out
result $? device_deleted_under_its_hook

netns add away &&
	$IP -n hub link add move0 type veth peer name move1 &&
	expect 0 nsx hub lunatik run /tmp/netdev.lua softirq --name mover &&
	lx hub mover "h = watch('move0', 0, 1, 8)" &&
	returns hub link set move0 netns away &&
	expect 0 nsx hub lunatik list && grep -qx "  netfilter NETDEV EGRESS priority -5 dev move0 (gone)" $out &&
	lx hub mover "h:unregister()" &&
	expect 0 nsx hub lunatik list && ! grep -q "move0" $out &&
	expect 0 nsx hub lunatik stop mover &&
	returns away link del move0 && netns del away
result $? device_moved_away_under_its_hook

# A namespace dismantled with a hooked device and its state inside: the
# kernel unregisters the namespace's devices first (the hook is taken
# out then), then the module destroys the state.
# ns_states_gone: the kernel log says the namespace's state was destroyed.
ns_states_gone() { dmesg | grep -q "destroyed 1 states of a network namespace going away"; }
netns add doomed &&
	$IP -n doomed link add d0 type veth peer name d1 && nsx doomed ip link set d0 up &&
	expect 0 nsx doomed lunatik run /tmp/netdev.lua softirq --name doomed &&
	lx doomed doomed "h = watch('d0', 0, 0, 8)" &&
	netns del doomed && wait_until ns_states_gone
result $? namespace_dismantled_under_a_device_hook

# Stopping the states with the devices in place lets the devices go too.
expect 0 nsx hub lunatik stop ingress && expect 0 nsx hub lunatik stop egress &&
	ping1 h1 10.13.1.2 && returns hub link del h1b
result $? stop_releases_the_device

# The bridge: "s1" and "s2" on ports p1 and p2 of br0 in "br" (which has
# 10.13.3.254 on the bridge and routes to "s3" over r3). A bridge
# FORWARD hook drops IPv4 frames between the ports: s1 no longer reaches
# s2, while s1 still reaches the bridge's own address (delivered, not
# forwarded) and s3 (routed by br's IP stack, not bridged); the hook saw
# only the bridged frames, whose `net` view starts at the IP header.
# port I: namespace sI (10.13.3.I) on port pI of br0.
port() {
	netns add s$1 &&
		$IP link add s$1a type veth peer name p$1 &&
		$IP link set s$1a netns s$1 && $IP link set p$1 netns br &&
		nsx br ip link set p$1 master br0 && nsx br ip link set p$1 up &&
		nsx s$1 ip addr add 10.13.3.$1/24 dev s$1a && nsx s$1 ip link set s$1a up &&
		nsx s$1 ip route add default via 10.13.3.254
}
netns add br && netns add s3 &&
	$IP -n br link add br0 type bridge && nsx br ip addr add 10.13.3.254/24 dev br0 &&
	port 1 && port 2 &&
	$IP link add s3a type veth peer name r3 && $IP link set s3a netns s3 && $IP link set r3 netns br &&
	nsx s3 ip addr add 10.13.4.1/24 dev s3a && nsx s3 ip link set s3a up &&
	nsx s3 ip route add default via 10.13.4.254 &&
	nsx br ip addr add 10.13.4.254/24 dev r3 && nsx br ip link set r3 up &&
	nsx br ip link set br0 up && nsx br sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' &&
	wait_until ping1 s1 10.13.3.2 && wait_until ping1 s1 10.13.4.1
result $? bridge_forwards_without_hooks

# The hook counts the IPv4 frames it sees (`ipv4`; ARP between the
# ports passes), and among them those from 10.13.3.x to 10.13.3.y read
# at the IP header's offsets (`bridged`).
cat >/tmp/bridge.lua <<'EOF'
local nf = require("linux.nf")
ipv4, bridged = 0, 0
require("netfilter").register{
	pf = nf.proto.BRIDGE, hooknum = nf.br.FORWARD, priority = nf.br.pri.FILTER_BRIDGED,
	hook = function(skb)
		local ip = skb:data("net")
		if #ip < 20 or ip:getbyte(0) >> 4 ~= 4 then return nf.action.ACCEPT end
		ipv4 = ipv4 + 1
		if ip:getbyte(12) == 10 and ip:getbyte(14) == 3 and ip:getbyte(18) == 3 then
			bridged = bridged + 1
		end
		return nf.action.DROP
	end,
}
EOF
expect 0 nsx br lunatik run /tmp/bridge.lua softirq &&
	unanswered s1 10.13.3.2 && wait_until at_least br bridge ipv4 1 &&
	n=$(value br bridge ipv4) &&
	ping1 s1 10.13.3.254 && ping1 s1 10.13.4.1 && ping1 s2 10.13.4.1 &&
	[ "$(value br bridge ipv4)" = "$n" ] &&
	lx br bridge "return bridged == ipv4" && equals true &&
	expect 0 nsx br lunatik list && grep -qx "  netfilter BRIDGE FORWARD priority -200" $out &&
	expect 0 nsx br lunatik stop bridge && wait_until ping1 s1 10.13.3.2
result $? bridge_forward_hook

# ARP: a hook on ARP IN lx h2 drops the hub's requests, so the hub cannot
# resolve h2's address (its neighbour entry stays INCOMPLETE or turns
# FAILED) while h2 still answers nothing; unregistered, resolution
# works, and an ARP OUT hook counts the replies h2 sends (op 2) from the
# ARP header the `net` view starts at (with no `mac` view there).
cat >/tmp/arp.lua <<'EOF'
local nf = require("linux.nf")
requests, replies, nomac = 0, 0, 0
local netfilter = require("netfilter")
inbound = netfilter.register{
	pf = nf.proto.ARP, hooknum = nf.arp.IN,
	hook = function(skb)
		local arp = skb:data("net")
		if #arp >= 8 and arp:getbyte(6) == 0 and arp:getbyte(7) == 1 then
			requests = requests + 1
			return nf.action.DROP
		end
		return nf.action.ACCEPT
	end,
}
netfilter.register{
	pf = nf.proto.ARP, hooknum = nf.arp.OUT,
	hook = function(skb)
		local arp = skb:data("net")
		if #arp >= 8 and arp:getbyte(6) == 0 and arp:getbyte(7) == 2 then
			replies = replies + 1
			-- Sent ARP has no link-layer header set yet at OUT.
			if skb:data("mac") == nil then nomac = nomac + 1 end
		end
		return nf.action.ACCEPT
	end,
}
EOF
# unresolved: the hub's entry for h2 is INCOMPLETE or FAILED.
unresolved() { nsx hub ip neigh show 10.13.2.1 dev h2b | grep -Eq "INCOMPLETE|FAILED"; }
nsx hub ip neigh flush dev h2b && nsx h2 ip neigh flush dev h2a &&
	expect 0 nsx h2 lunatik run /tmp/arp.lua softirq &&
	unanswered hub 10.13.2.1 && wait_until unresolved && at_least h2 arp requests 1 &&
	[ "$(value h2 arp replies)" = 0 ] &&
	expect 0 nsx h2 lunatik list && grep -qx "  netfilter ARP IN priority 0" $out &&
	grep -qx "  netfilter ARP OUT priority 0" $out &&
	lx h2 arp "inbound:unregister()" &&
	wait_until ping1 hub 10.13.2.1 && wait_until at_least h2 arp replies 1 &&
	lx h2 arp "return nomac == replies" && equals true &&
	expect 0 nsx h2 lunatik stop arp
result $? arp_hooks

# XDP attachments show in the list too, until detached.
expect 0 nsx hub lunatik run /examples/hello.lua softirq --name xdp &&
	lx hub xdp "require('xdp').attach(function() return 2 end)" &&
	expect 0 nsx hub lunatik list && grep -A1 "^xdp " $out | grep -qx "  xdp" &&
	expect 0 nsx hub lunatik list --json &&
	[ "$(jq -c '.[] | select(.name == "xdp") | .attachments' $out)" = '[{"kind":"xdp"}]' ] &&
	lx hub xdp "require('xdp').detach()" &&
	expect 0 nsx hub lunatik list --json &&
	[ "$(jq -c '.[] | select(.name == "xdp") | .attachments' $out)" = '[]' ] &&
	expect 0 nsx hub lunatik stop xdp && expect 0 nsx hub lunatik stop plain
result $? list_shows_xdp_attachments

for ns in hub h1 h2 br s1 s2 s3; do netns del $ns; done
rmmod lunatik
kmemleak_clean
