# Netfilter hooks in Lua, with real traffic between network namespaces
# over a veth pair: busybox httpd in "server", wget in "client".
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
IP=/usr/bin/ip
SERVER=10.200.0.2
plan 14

# netns ARGS...: `ip netns ARGS`, without the warning this kernel (no
# CONFIG_FILE_LOCKING) gives for every call.
netns() {
	local rc=0
	$IP netns "$@" 2>/tmp/netns.err || rc=$?
	grep -v "could not flock" /tmp/netns.err >&2
	return $rc
}
# nsx NS COMMAND...: runs COMMAND in namespace NS.
nsx() { local ns=$1; shift; $IP netns exec "$ns" "$@"; }
# get AGENT: one HTTP request from the client with that User-Agent; the
# page on standard output. A dropped request times out.
get() { nsx client timeout 3 wget -q -O - -U "$1" "http://$SERVER/" 2>/dev/null; }
# sv COMMAND...: lunatik in the server's namespace.
sv() { nsx server lunatik "$@"; }

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
check insmod insmod "$KO"

netns add server && netns add client &&
	$IP link add vc type veth peer name vs &&
	$IP link set vc netns client && $IP link set vs netns server &&
	nsx client ip addr add 10.200.0.1/24 dev vc && nsx server ip addr add $SERVER/24 dev vs &&
	nsx client ip link set vc up && nsx server ip link set vs up &&
	nsx client ip link set lo up && nsx server ip link set lo up &&
	mkdir -p /tmp/www && echo "hello from server" >/tmp/www/index.html
# Started directly (not through a shell function) so $! is httpd itself.
$IP netns exec server httpd -f -p 80 -h /tmp/www 2>/dev/null &
httpd_pid=$!
sleep 1
[ "$(get Mozilla/5.0)" = "hello from server" ]
result $? http_works_without_hooks

# Hooks need a softirq state.
expect 0 sv run /examples/hello.lua --name proc &&
	expect 1 sv exec proc -e 'require("netfilter").register{hook = function() end, pf = 2, hooknum = 1}' &&
	grep -q "netfilter hooks need a softirq state" $err &&
	expect 1 sv exec proc -e 'require("linux.nf") return require("netfilter").register{pf = 2}' &&
	expect 0 sv stop proc
result $? register_needs_softirq_state

# The User-Agent blocker: a blocked agent's request is dropped, others are
# served; the blocklist changes while traffic flows.
expect 0 sv run /examples/useragent.lua softirq &&
	expect 0 sv exec useragent -e 'require("rcu").table("useragent.blocklist").BadBot = true' &&
	[ "$(get Mozilla/5.0)" = "hello from server" ] && ! get BadBot/1.0 >/dev/null &&
	[ "$(get Wget)" = "hello from server" ] &&
	expect 0 sv exec useragent -e 'return requests >= 3, blocked >= 1' &&
	[ "$(cat $out)" = "$(printf 'true\ttrue')" ]
result $? useragent_blocked_and_allowed

# Traffic flows in the background; blocking Wget stops its requests,
# unblocking lets them through again, without reloading anything.
(for i in $(seq 40); do get Wget >/dev/null && echo ok || echo dropped; sleep 0.2; done >/tmp/flow.log) &
flow=$!
sleep 2
sv exec useragent -e 'require("rcu").table("useragent.blocklist").Wget = true'
sleep 4
sv exec useragent -e 'require("rcu").table("useragent.blocklist").Wget = nil'
wait $flow
diag "live update: $(tr '\n' ' ' </tmp/flow.log | sed 's/ok ok\( ok\)*/ok.../g; s/dropped dropped\( dropped\)*/dropped.../g')"
first_drop=$(grep -n dropped /tmp/flow.log | head -1 | cut -d: -f1)
last_drop=$(grep -n dropped /tmp/flow.log | tail -1 | cut -d: -f1)
[ -n "$first_drop" ] && [ "$first_drop" -gt 1 ] && [ "$(tail -1 /tmp/flow.log)" = ok ] &&
	[ "$(sed -n "$((last_drop + 1)),\$p" /tmp/flow.log | grep -c dropped)" = 0 ]
result $? blocklist_updated_live

# The DNS blocker: queries for a blocked name (and names under it) never
# reach the server; others do.
nsx server lunatik-udp listen 53 8 >/tmp/dns.log 2>/dev/null &
dns=$!
expect 0 sv run /examples/dnsblock.lua softirq &&
	expect 0 sv exec dnsblock -e 'require("rcu").table("dns.blocklist")["ads.example"] = true'
r=$?
sleep 1
for name in allowed.example x.ads.example ads.example www.allowed.example; do
	nsx client timeout 2 nslookup $name $SERVER >/dev/null 2>&1
done
wait $dns
diag "dns server saw: $(grep -o '[a-z.]*example' /tmp/dns.log | sort | uniq -c | tr '\n' ' ')"
[ $r = 0 ] && grep -q allowed.example /tmp/dns.log && grep -q www.allowed.example /tmp/dns.log &&
	! grep -q ads.example /tmp/dns.log &&
	expect 0 sv exec dnsblock -e 'return blocked > 0' && [ "$(cat $out)" = true ]
result $? dns_queries_blocked

# Hooks that fail: one raises, one loops, one exhausts its memory. Asked
# to fail open, they let the packets pass; the states count the failures,
# and the kernel log gets rate-limited messages. (Fail-closed hooks, the
# default, are tested in 07-hardening.)
cat >/tmp/bad.lua <<'LUA'
local nf = require("linux.nf")
local how = ...
function hook(skb)
	if mode == "error" then error("broken hook")
	elseif mode == "loop" then while true do end
	elseif mode == "memory" then local t = {} for i = 1, 1000 do local s = "m" .. i for k = 1, 16 do s = s .. s end t[i] = s end
	else return "not a verdict" end
end
require("netfilter").register{hook = function(skb) return hook(skb) end, pf = nf.proto.IPV4,
	hooknum = nf.inet.LOCAL_IN, priority = nf.ip.pri.FIRST, failopen = true}
LUA
r=0
for mode in error loop memory noverdict; do
	sv run /tmp/bad.lua softirq --name bad-$mode --memory 512K --budget 100000 >/dev/null &&
		sv exec bad-$mode -e "mode = '$mode'" || r=1
done
[ "$(get Mozilla/5.0)" = "hello from server" ] || { r=1; diag "request failed with failing hooks"; }
nsx client lunatik-udp flood $SERVER:9 400 >/dev/null
sv stats --json >$out
diag "$(jq -c '[.[] | select(.name | startswith("bad-")) | {name, calls, errors, budget_kills, alloc_failures}]' $out)"
jq -e '[.[] | select(.name | startswith("bad-"))] | length == 4 and all(.errors > 100)' $out >/dev/null &&
	jq -e '.[] | select(.name == "bad-loop") | .budget_kills > 100' $out >/dev/null &&
	jq -e '.[] | select(.name == "bad-memory") | .alloc_failures > 0' $out >/dev/null || r=1
errors=$(jq '.[] | select(.name == "bad-error") | .errors' $out)
logged=$(dmesg | grep -c "bad-error: callback failed")
diag "bad-error: $errors errors, $logged log lines, $(dmesg | grep -c 'bad-error: (.* messages suppressed)') suppression notes"
[ "$logged" -gt 0 ] && [ "$logged" -lt "$errors" ] && dmesg | grep -q "bad-noverdict: callback failed: netfilter hook returned no verdict" || r=1
for mode in error loop memory noverdict; do sv stop bad-$mode || r=1; done
result $r failopen_hooks_accept_and_count

# A per-CPU state hooks every CPU's replica; each counts in its own VM.
cat >/tmp/percpu.lua <<'LUA'
local nf = require("linux.nf")
local counts = require("rcu").table("percpu.counts")
local me, n = tostring(require("linux").random()), 0
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, hook = function(skb)
	n = n + 1
	counts[me] = n
	return nf.action.ACCEPT
end}
LUA
expect 0 sv run /tmp/percpu.lua softirq percpu && [ "$(get Mozilla/5.0)" = "hello from server" ] &&
	expect 0 sv exec percpu -e 'local total, vms = 0, 0
		require("rcu").map(require("rcu").table("percpu.counts"), function(k, v) total = total + v vms = vms + 1 end)
		return total > 0, vms >= 1' && [ "$(cat $out)" = "$(printf 'true\ttrue')" ] &&
	expect 0 sv stats percpu --json && jq -e ".[0].replicas == $(nproc)" $out >/dev/null &&
	expect 0 sv stop percpu
result $? percpu_state_hooks

# :unregister() takes the hook out: the blocked agent gets through.
expect 0 sv run /examples/hello.lua softirq --name dropall &&
	expect 0 sv exec dropall -e 'local nf = require("linux.nf")
		h = require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
			hook = function(skb) return nf.action.DROP end}' &&
	! get Mozilla/5.0 >/dev/null &&
	expect 0 sv exec dropall -e 'h:unregister()' && [ "$(get Mozilla/5.0)" = "hello from server" ] &&
	expect 0 sv stop dropall
result $? unregister_removes_hook

# Marks: a hook's second result marks the packet, and a hook registered
# with `mark` sees only packets carrying that mark.
expect 0 sv run /examples/hello.lua softirq --name marks &&
	expect 0 sv exec marks -e 'local nf, netfilter = require("linux.nf"), require("netfilter")
		netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
			hook = function(skb) return nf.action.ACCEPT, 7 end}
		drop8 = netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, mark = 8,
			hook = function(skb) return nf.action.DROP end}' &&
	[ "$(get Mozilla/5.0)" = "hello from server" ] &&
	expect 0 sv exec marks -e 'local nf = require("linux.nf") drop8:unregister()
		require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, mark = 7,
			hook = function(skb) seen = skb:mark() return nf.action.DROP end}' &&
	! get Mozilla/5.0 >/dev/null && expect 0 sv exec marks -e 'return seen' && equals 7 &&
	expect 0 sv stop marks && [ "$(get Mozilla/5.0)" = "hello from server" ]
result $? marks_set_and_filtered

# Destroying a hooked state while traffic flows: traffic continues.
(for i in $(seq 25); do get Mozilla/5.0 >/dev/null && echo ok || echo failed; sleep 0.1; done >/tmp/flow2.log) &
flow=$!
sleep 1
sv stop useragent
wait $flow
[ "$(grep -c ok /tmp/flow2.log)" = 25 ]
result $? stop_state_under_traffic

# Deleting a namespace whose state hooks its traffic: its states go, with
# no warning, and the other namespaces' traffic continues.
netns add doomed && nsx doomed ip link set lo up &&
	nsx doomed lunatik run /examples/useragent.lua softirq >/dev/null
$IP netns exec doomed httpd -f -p 80 -h /tmp/www 2>/dev/null &
doomed_httpd=$!
$IP netns exec doomed sh -c 'for i in $(seq 20); do timeout 2 wget -q -O - http://127.0.0.1/ >/dev/null 2>&1; done' 2>/dev/null &
doomed_flow=$!
(for i in $(seq 20); do get Mozilla/5.0 >/dev/null && echo ok || echo failed; sleep 0.1; done >/tmp/flow3.log) &
flow=$!
sleep 1
# The flow's shell first, so it starts no new wget.
kill $doomed_flow $doomed_httpd 2>/dev/null
wait $doomed_httpd $doomed_flow 2>/dev/null
netns del doomed
wait $flow
gone=0
for i in $(seq 50); do
	dmesg | grep -q "destroyed 1 states of a network namespace going away" && { gone=1; break; }
	sleep 0.2
done
[ $gone = 1 ] && [ "$(grep -c ok /tmp/flow3.log)" = 20 ]
result $? delete_namespace_under_traffic

# Unloading the module with hooks in place while traffic flows.
expect 0 sv run /examples/useragent.lua softirq &&
	expect 0 sv run /examples/dnsblock.lua softirq
(for i in $(seq 25); do get Mozilla/5.0 >/dev/null && echo ok || echo failed; sleep 0.1; done >/tmp/flow4.log) &
flow=$!
sleep 1
rmmod lunatik
rc=$?
wait $flow
[ $rc = 0 ] && [ "$(grep -c ok /tmp/flow4.log)" = 25 ] && [ ! -e /sys/module/lunatik ]
result $? rmmod_under_traffic

kill $httpd_pid 2>/dev/null
wait $httpd_pid 2>/dev/null
netns del server
netns del client
kmemleak_clean
