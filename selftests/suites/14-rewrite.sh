# limit: 300 (seconds this suite's VM boot may take; see docs/testing.md)
# Writable packets in netfilter hooks (docs/netfilter.md, "Writing
# packets"): views are read-only unless the hook asks; edits made through
# a writable view reach the receiver; skb:checksum() is what makes the
# receiver accept them (without it, the IPv4 header checksum, the UDP
# checksum or the TCP checksum is wrong and the receiving kernel drops
# the packet, counted in its SNMP counters); examples/dnsrewrite.lua
# changes the address a real resolver query gets for one name, and only
# for that name.
#
# The DNS server is lunatik-dns (selftests/tools/src/bin/lunatik-dns.rs),
# whose answers carry a UDP checksum computed in software, so the
# client's kernel verifies it (a veth pair never checks the checksums
# of local traffic left to the device, CHECKSUM_PARTIAL).
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
C=10.212.0.1 S=10.212.0.2
plan 11

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
check insmod insmod "$KO"

netns add rwc && netns add rws &&
	$IP link add rwc0 type veth peer name rws0 &&
	$IP link set rwc0 netns rwc && $IP link set rws0 netns rws &&
	nsx rwc ip addr add $C/24 dev rwc0 && nsx rws ip addr add $S/24 dev rws0 &&
	nsx rwc ip link set rwc0 up && nsx rws ip link set rws0 up &&
	nsx rwc ip link set lo up && nsx rws ip link set lo up

# snmp NS PROTO FIELD: a counter of /proc/net/snmp in namespace NS.
snmp() {
	nsx "$1" cat /proc/net/snmp | awk -v p="$2:" -v f="$3" '
		$1 == p && !c { for (i = 2; i <= NF; i++) if ($i == f) c = i; next }
		$1 == p { print $c }'
}
# above NS PROTO FIELD N: that counter exceeds N.
above() { [ "$(snmp "$1" "$2" "$3")" -gt "$4" ]; }
# lookup NAME [SECONDS]: the client's resolver query for NAME's A
# records, answered by the server, or failing after SECONDS (10: an
# answer that must arrive gets a generous bound; one that must not, 2).
lookup() { nsx rwc nslookup -type=a -timeout=${2:-10} -retry=1 "$1" $S >$out 2>&1; }

# --- A UDP payload byte and the IPv4 header's TOS, rewritten by the
# sender's POST_ROUTING hook, which first tries the read-only view.
cat >/tmp/rw.lua <<'LUA'
local nf = require("linux.nf")
local byteorder = require("byteorder")
fix, edited = true, 0
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.POST_ROUTING,
	hook = function(skb)
		local d = skb:data()
		if #d < 29 or d:getuint8(0) ~= 0x45 or d:getuint8(9) ~= 17 or
			byteorder.ntoh16(d:getuint16(22)) ~= 9 then
			return nf.action.ACCEPT
		end
		local _, e = pcall(d.setbyte, d, 28, 0x59)
		refused = e
		d = skb:data("net", true)
		d:setbyte(1, 0x10)
		d:setbyte(28, 0x59)
		if fix then fixed = skb:checksum() end
		edited = edited + 1
		return nf.action.ACCEPT
	end}
LUA
# Started directly (not through nsx, a function) so $! is the process.
$IP netns exec rws lunatik-udp listen 9 >/tmp/rw9.log 2>/tmp/rw9.err &
listener=$!
wait_until grep -q "listening on 9" /tmp/rw9.err &&
	expect 0 nsx rwc lunatik run /tmp/rw.lua softirq &&
	nsx rwc lunatik-udp flood $S:9 3 >/dev/null &&
	wait_until grep -q "^Yxxxxxxx" /tmp/rw9.log &&
	expect 0 nsx rwc lunatik exec rw -e 'return refused, fixed' &&
	equals "$(printf 'read only\ttrue')"
result $? writes_reach_the_receiver_read_only_by_default

# Without skb:checksum() the TOS change leaves the IPv4 header checksum
# wrong: the receiver counts the datagrams as header errors, and none
# reaches the listener.
hdr=$(snmp rws Ip InHdrErrors)
expect 0 nsx rwc lunatik exec rw -e 'fix = false' &&
	nsx rwc lunatik-udp flood $S:9 3 hex:$(printf '7a%.0s' $(seq 64)) >/dev/null &&
	wait_until above rws Ip InHdrErrors $((hdr + 2)) &&
	! grep -q "zzzz" /tmp/rw9.log
r=$?
diag "receiver's Ip InHdrErrors: $hdr before, $(snmp rws Ip InHdrErrors) after"
result $r unfixed_ipv4_checksum_dropped
kill $listener
wait $listener 2>/dev/null
expect 0 nsx rwc lunatik stop rw

# --- Answers of a real resolver query, edited by the client's
# PRE_ROUTING hook: the last byte of the last answer's address flips
# (192.0.2.2 becomes 192.0.2.3).
$IP netns exec rws lunatik-dns 53 www.example=192.0.2.1 www.example=192.0.2.2 mail.example=192.0.2.3 \
	bad.example=truncated >/tmp/rwdns.log 2>/tmp/rwdns.err &
dns=$!
cat >/tmp/flip.lua <<'LUA'
local nf = require("linux.nf")
local byteorder = require("byteorder")
fix = true
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
	hook = function(skb)
		local d = skb:data()
		if #d < 29 or d:getuint8(9) ~= 17 or byteorder.ntoh16(d:getuint16(20)) ~= 53 then
			return nf.action.ACCEPT
		end
		d = skb:data("net", true)
		d:setbyte(#d - 1, d:getbyte(#d - 1) ~ 1)
		if fix then skb:checksum() end
		return nf.action.ACCEPT
	end}
LUA
wait_until grep -q "listening on 53" /tmp/rwdns.err &&
	lookup www.example && grep -q "Address: 192.0.2.2" $out &&
	expect 0 nsx rwc lunatik run /tmp/flip.lua softirq &&
	lookup www.example && grep -q "Address: 192.0.2.1" $out && grep -q "Address: 192.0.2.3" $out &&
	! grep -q "192.0.2.2" $out
r=$?
diag "$(tr '\n\t' '  ' <$out)"
result $r fixed_udp_checksum_accepted

csum=$(snmp rwc Udp InCsumErrors)
expect 0 nsx rwc lunatik exec flip -e 'fix = false' &&
	! lookup www.example 2 && ! grep -q "192.0.2" $out &&
	wait_until above rwc Udp InCsumErrors "$csum"
r=$?
diag "client's Udp InCsumErrors: $csum before, $(snmp rwc Udp InCsumErrors) after"
result $r unfixed_udp_checksum_dropped
expect 0 nsx rwc lunatik stop flip

# --- examples/dnsrewrite.lua: one name's A records rewritten, other
# names and a truncated answer left alone, no failure.
expect 0 nsx rwc lunatik run dnsrewrite.lua softirq &&
	expect 0 nsx rwc lunatik exec dnsrewrite -e 'local t = require("rcu").table("dns.rewrite")
		t["www.example"] = "10.9.9.9" t["bad.example"] = "10.9.9.9"' &&
	lookup www.example && [ "$(grep -c "Address: 10.9.9.9" $out)" = 2 ] && ! grep -q "192.0.2.[12]" $out
r=$?
diag "$(tr '\n\t' '  ' <$out)"
result $r dnsrewrite_rewrites_the_name

lookup mail.example && grep -q "Address: 192.0.2.3" $out &&
	{ lookup bad.example; wait_until grep -q "bad.example 1" /tmp/rwdns.log; } &&
	expect 0 nsx rwc lunatik exec dnsrewrite -e 'return answers >= 3, rewritten' &&
	equals "$(printf 'true\t2')" &&
	expect 0 nsx rwc lunatik stats dnsrewrite --json && jq -e '.[0].errors == 0' $out >/dev/null
r=$?
diag "$(cat $out)"
result $r dnsrewrite_leaves_other_names_and_malformed_answers
expect 0 nsx rwc lunatik stop dnsrewrite
kill $dns
wait $dns 2>/dev/null

# --- TCP: an HTTP answer's body edited by the client's PRE_ROUTING hook
# ("hello" becomes "Hello"). The server's device computes no checksums,
# so the kernel computes them before it and the client verifies them.
mkdir -p /tmp/www14 && echo "hello from the server" >/tmp/www14/index.html
nsx rws lunatik-dns tx-checksum-off rws0 >/dev/null
$IP netns exec rws httpd -f -p 80 -h /tmp/www14 &
httpd=$!
cat >/tmp/tcpflip.lua <<'LUA'
local nf = require("linux.nf")
local byteorder = require("byteorder")
fix = true
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
	hook = function(skb)
		local d = skb:data()
		local tcp = (d:getuint8(0) & 0x0f) * 4
		if d:getuint8(9) ~= 6 or #d < tcp + 20 or byteorder.ntoh16(d:getuint16(tcp)) ~= 80 then
			return nf.action.ACCEPT
		end
		local body = tcp + (d:getuint8(tcp + 12) >> 4) * 4
		local at = body < #d and d:getstring(body):find("hello from", 1, true)
		if not at then return nf.action.ACCEPT end
		d = skb:data("net", true)
		d:setbyte(body + at - 1, string.byte("H"))
		if fix then fixed = skb:checksum() end
		return nf.action.ACCEPT
	end}
LUA
# get SECONDS: the page, within SECONDS (busybox wget -T crashes).
get() { nsx rwc timeout "$1" wget -q -O - http://$S/index.html >$out 2>&1; }
wait_until get 10 && grep -q "^hello from the server" $out &&
	expect 0 nsx rwc lunatik run /tmp/tcpflip.lua softirq &&
	get 30 && grep -q "^Hello from the server" $out &&
	expect 0 nsx rwc lunatik exec tcpflip -e 'return fixed' && equals true
r=$?
diag "got: $(cat $out)"
result $r tcp_fixed_checksum_accepted

# Without skb:checksum() every copy of the segment (retransmissions too)
# fails the client's TCP checksum, and the body never arrives.
csum=$(snmp rwc Tcp InCsumErrors)
expect 0 nsx rwc lunatik exec tcpflip -e 'fix = false' &&
	! get 3 && ! grep -q "ello from" $out &&
	wait_until above rwc Tcp InCsumErrors "$csum"
r=$?
diag "client's Tcp InCsumErrors: $csum before, $(snmp rwc Tcp InCsumErrors) after"
result $r tcp_unfixed_checksum_dropped
expect 0 nsx rwc lunatik stop tcpflip
kill $httpd
wait $httpd 2>/dev/null
netns del rwc
netns del rws

check rmmod rmmod lunatik
kmemleak_clean
