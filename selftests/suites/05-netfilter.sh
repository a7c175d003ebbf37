# limit: 1200 (seconds this suite's VM boot may take; see docs/testing.md)
# Netfilter hooks in Lua, with real traffic between network namespaces
# over a veth pair: busybox httpd in "server", wget in "client".
#
# No step sleeps for a fixed time hoping something has happened: each
# waits (wait_until, with a generous bound) for the event itself, such as
# a line in a log, a counter reaching a value or a request succeeding.
# Requests that should be dropped give up after a few seconds; nothing is
# concluded from how long anything takes.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
SERVER=10.200.0.2
plan 17

# get AGENT: one HTTP request from the client with that User-Agent, which
# should be served; the page on standard output. The timeout only stops a
# hung test, so it is long.
get() { nsx client timeout 30 wget -q -O - -U "$1" "http://$SERVER/" 2>/dev/null; }
# dropped AGENT: one request with that User-Agent gets no page. A dropped
# request is retransmitted until wget gives up, so it is given 3 seconds.
dropped() { ! nsx client timeout 3 wget -q -O - -U "$1" "http://$SERVER/" >/dev/null 2>&1; }
# served: a request is answered with the page.
served() { [ "$(get Mozilla/5.0)" = "hello from server" ]; }

# lines FILE: the number of lines in FILE.
lines() { wc -l <"$1"; }
# at_least FILE N: FILE has N lines or more.
at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# flow_start LOG AGENT TIMEOUT: requests from the client with AGENT, one
# after the other, in the background ($flow), until flow_stop; each adds
# a line to LOG: "ok", or "failed" when no page came within TIMEOUT
# seconds. Line k+1 is a request started after request k ended.
flow_start() {
	rm -f /tmp/flow.stop
	(while [ ! -e /tmp/flow.stop ]; do
		if nsx client timeout "$3" wget -q -O - -U "$2" "http://$SERVER/" >/dev/null 2>&1; then
			echo ok
		else
			echo failed
		fi
	done >"$1") &
	flow=$!
}
# flow_stop: ends the flow after its current request.
flow_stop() { touch /tmp/flow.stop; wait $flow; }
# all_ok LOG [FROM [TO]]: every line of LOG from line FROM (default the
# first) to line TO (default the last) is "ok".
all_ok() { [ "$(sed -n "${2:-1},${3:-\$}p" "$1" | grep -vc '^ok$')" = 0 ]; }
# flow_diag LOG: the flow's log, runs of lines shortened, as a diagnostic.
flow_diag() {
	diag "$1: $(tr '\n' ' ' <"$1" | sed 's/ok ok\( ok\)*/ok.../g; s/failed failed\( failed\)*/failed.../g')"
}
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
# It serves once it listens: the first requests may be refused.
$IP netns exec server httpd -f -p 80 -h /tmp/www 2>/dev/null &
httpd_pid=$!
wait_until served
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
	served && dropped BadBot/1.0 &&
	[ "$(get Wget)" = "hello from server" ] &&
	expect 0 sv exec useragent -e 'return requests >= 3, blocked >= 1' &&
	[ "$(cat $out)" = "$(printf 'true\ttrue')" ]
result $? useragent_blocked_and_allowed

# Traffic flows in the background; blocking Wget stops its requests,
# unblocking lets them through again, without reloading anything. Each
# step waits for its effect, read from the flow's log: requests served
# before the block; requests started after the exec setting it returned
# failing; requests started after the exec clearing it served again. A
# request in flight while the table changes may go either way, so it does
# not count. Nothing here polls the state while the block is set: a
# packet finding its replica busy (in `lunatik exec`) is accepted unfiltered,
# and the hook's own counter also counts the retransmissions of requests
# wget gave up on, so neither is evidence.
# count_from LOG FROM WORD N: LOG has N lines WORD or more from line FROM on.
count_from() { [ "$(sed -n "$2,\$p" "$1" | grep -c "^$3\$")" -ge "$4" ]; }
flow_start /tmp/flow.log Wget 3
wait_until count_from /tmp/flow.log 1 ok 2 &&
	expect 0 sv exec useragent -e 'require("rcu").table("useragent.blocklist").Wget = true' &&
	n0=$(lines /tmp/flow.log) &&
	wait_until count_from /tmp/flow.log $((n0 + 2)) failed 2 &&
	expect 0 sv exec useragent -e 'require("rcu").table("useragent.blocklist").Wget = nil' &&
	n1=$(lines /tmp/flow.log) &&
	wait_until count_from /tmp/flow.log $((n1 + 2)) ok 2
r=$?
flow_stop
flow_diag /tmp/flow.log
result $r blocklist_updated_live

# The DNS blocker: queries for a blocked name (and names under it) never
# reach the server; others do. The server is a UDP listener that never
# answers and runs until the test stops it; it says when it is bound.
# Busybox nslookup gives up one second after sending its queries (A and
# AAAA), so lookups end quickly whether or not the query got through; what
# got through is read from the listener's log. Packets are delivered in
# order, so once the last query (allowed) is in the log, any earlier
# query the hook had let through would be there too, and the hook's
# counter shows the blocked queries were sent and dropped.
# Started directly, as httpd, so $! is the listener itself.
$IP netns exec server lunatik-udp listen 53 >/tmp/dns.log 2>/tmp/dns.err &
dns=$!
# dns_blocked_at_least N: the blocker has dropped N queries or more.
dns_blocked_at_least() { [ "$(sv exec dnsblock -e 'return blocked')" -ge "$1" ]; }
wait_until grep -q "listening on 53" /tmp/dns.err &&
	expect 0 sv run /examples/dnsblock.lua softirq &&
	expect 0 sv exec dnsblock -e 'require("rcu").table("dns.blocklist")["ads.example"] = true'
r=$?
for name in allowed.example x.ads.example ads.example www.allowed.example; do
	nsx client nslookup -timeout=1 -retry=1 $name $SERVER >/dev/null 2>&1
done
[ $r = 0 ] && wait_until grep -q allowed.example /tmp/dns.log &&
	wait_until grep -q www.allowed.example /tmp/dns.log &&
	wait_until dns_blocked_at_least 2
r=$?
kill $dns
wait $dns 2>/dev/null
diag "dns server saw: $(grep -o '[a-z.]*example' /tmp/dns.log | sort | uniq -c | tr '\n' ' ')"
[ $r = 0 ] && ! grep -q ads.example /tmp/dns.log && expect 0 sv stop dnsblock
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
served || { r=1; diag "request failed with failing hooks"; }
nsx client lunatik-udp flood $SERVER:9 400 >/dev/null
# The datagrams may still be queued for the hooks when the flood returns.
# failures_counted: every bad state counts the failures of its kind.
failures_counted() {
	sv stats --json >$out &&
		jq -e '[.[] | select(.name | startswith("bad-"))] | length == 4 and all(.errors > 100)' $out >/dev/null &&
		jq -e '.[] | select(.name == "bad-loop") | .budget_kills > 100' $out >/dev/null &&
		jq -e '.[] | select(.name == "bad-memory") | .alloc_failures > 0' $out >/dev/null
}
wait_until failures_counted || r=1
diag "$(jq -c '[.[] | select(.name | startswith("bad-")) | {name, calls, errors, budget_kills, alloc_failures}]' $out)"
errors=$(jq '.[] | select(.name == "bad-error") | .errors' $out)
logged=$(dmesg | grep -c "bad-error: callback failed")
diag "bad-error: $errors errors, $logged log lines, $(dmesg | grep -c 'bad-error: (.* messages suppressed)') suppression notes"
[ "$logged" -gt 0 ] && [ "$logged" -lt "$errors" ] && dmesg | grep -q "bad-noverdict: callback failed: netfilter hook returned no verdict" || r=1
for mode in error loop memory noverdict; do sv stop bad-$mode || r=1; done
result $r failopen_hooks_accept_and_count

# Every packet gets the same skb object (made once per state), attached
# to the packet only while the hook runs: an skb and a view a script keeps
# read as detached afterwards, never as a freed packet.
cat >/tmp/keep.lua <<'LUA'
local nf = require("linux.nf")
n, same = 0, 0
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, hook = function(skb)
	n = n + 1
	if not kept then kept, kept_view = skb, skb:data("net") end
	if skb == kept and #kept_view > 0 then same = same + 1 end
	return nf.action.ACCEPT
end}
LUA
# keep_saw N: the hook has seen N packets or more.
keep_saw() { [ "$(sv exec keep -e 'return n')" -ge "$1" ]; }
expect 0 sv run /tmp/keep.lua softirq &&
	nsx client lunatik-udp flood $SERVER:9 50 >/dev/null &&
	wait_until keep_saw 50 &&
	expect 0 sv exec keep -e 'return same == n, #kept_view, #kept > 0, select(2, pcall(kept_view.getbyte, kept_view, 0))' &&
	grep -q "^true	0	true	.*out of bounds" $out &&
	expect 0 sv stop keep
r=$?
[ $r = 0 ] || diag "kept objects: $(cat $out)"
result $r kept_skb_and_view_are_detached

# A hook without a mark that makes garbage and collects it on every
# packet (upstream Lunatik 3.6.4 crashed the kernel on this pattern):
# every packet is seen, none fails, the kernel stays well (vmtest reads
# the console for any BUG or oops).
cat >/tmp/gc.lua <<'LUA'
local nf = require("linux.nf")
n = 0
require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, hook = function(skb)
	n = n + 1
	local junk = {}
	for i = 1, 8 do junk[i] = {skb:data("net"), tostring(i)} end
	collectgarbage()
	return nf.action.ACCEPT
end}
LUA
# gc_saw N: the hook has seen N packets or more.
gc_saw() { [ "$(sv exec gc -e 'return n')" -ge "$1" ]; }
expect 0 sv run /tmp/gc.lua softirq &&
	nsx client lunatik-udp flood $SERVER:9 200 >/dev/null &&
	wait_until gc_saw 200 &&
	sv stats gc --json >$out &&
	jq -e '.[0].errors == 0' $out >/dev/null &&
	expect 0 sv stop gc
r=$?
[ $r = 0 ] || diag "gc hook: $(cat $out)"
result $r collecting_hook_keeps_working

# A per-CPU state hooks every CPU's replica; each counts in its own.
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
expect 0 sv run /tmp/percpu.lua softirq percpu && served &&
	expect 0 sv exec percpu -e 'local total, replicas = 0, 0
		require("rcu").map(require("rcu").table("percpu.counts"), function(k, v) total = total + v replicas = replicas + 1 end)
		return total > 0, replicas >= 1' && [ "$(cat $out)" = "$(printf 'true\ttrue')" ] &&
	expect 0 sv stats percpu --json && jq -e ".[0].replicas == $(nproc)" $out >/dev/null &&
	expect 0 sv stop percpu
result $? percpu_state_hooks

# :unregister() takes the hook out: the blocked agent gets through.
expect 0 sv run /examples/hello.lua softirq --name dropall &&
	expect 0 sv exec dropall -e 'local nf = require("linux.nf")
		h = require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
			hook = function(skb) return nf.action.DROP end}' &&
	dropped Mozilla/5.0 &&
	expect 0 sv exec dropall -e 'h:unregister()' && served &&
	expect 0 sv stop dropall
result $? unregister_removes_hook

# Deferred work from the packet path (docs/states.md, "Deferred work"):
# a hook that unregisters itself over and over in its callback queues one
# operation, nothing fails. Alternating between two hooks queues up to
# the bound (64 a replica), then the callback fails with a Lua error saying so
# (failopen: the request is served) and the state's memory stays under
# its 256 KiB cap. The next chunk does the work: no hook is called after.
calls() { sv stats "$1" --json >$out && jq '.[0].calls' $out; }
expect 0 sv run /examples/hello.lua softirq --name same --memory 256K &&
	expect 0 sv exec same -e 'local nf = require("linux.nf")
		a = require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
			failopen = true, hook = function(skb)
				for i = 1, 1000 do a:unregister() end
				return nf.action.ACCEPT
			end}' &&
	served && expect 0 sv stats same --json && jq -e '.[0].errors == 0' $out >/dev/null &&
	expect 0 sv stop same &&
	expect 0 sv run /examples/hello.lua softirq --name churn --memory 256K &&
	expect 0 sv exec churn -e 'local nf, netfilter = require("linux.nf"), require("netfilter")
		b = netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
			hook = function(skb) return nf.action.ACCEPT end}
		a = netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN,
			failopen = true, hook = function(skb)
				for i = 1, 1000 do a:unregister() b:unregister() end
				return nf.action.ACCEPT
			end}' &&
	served && served && expect 0 sv stats churn --json &&
	jq -e '.[0].errors >= 2 and .[0].memory_used <= 262144 and .[0].memory_peak <= 262144
		and (.[0].last_error | contains("too much deferred work"))' $out >/dev/null
r=$?
diag "$(jq -c '.[0] | {calls, errors, memory_used, memory_peak, last_error}' $out 2>/dev/null | cut -c1-200)"
if [ $r = 0 ]; then
	expect 0 sv exec churn -e 'return 1' && before=$(calls churn) && served &&
		[ "$(calls churn)" = "$before" ] || { r=1; diag "a hook still runs after the work was done"; }
fi
sv stop same 2>/dev/null
sv stop churn 2>/dev/null
result $r deferred_work_bounded

# Marks: a hook's second result marks the packet, and a hook registered
# with `mark` sees only packets carrying that mark.
expect 0 sv run /examples/hello.lua softirq --name marks &&
	expect 0 sv exec marks -e 'local nf, netfilter = require("linux.nf"), require("netfilter")
		netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
			hook = function(skb) return nf.action.ACCEPT, 7 end}
		drop8 = netfilter.register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, mark = 8,
			hook = function(skb) return nf.action.DROP end}' &&
	served &&
	expect 0 sv exec marks -e 'local nf = require("linux.nf") drop8:unregister()
		require("netfilter").register{pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, mark = 7,
			hook = function(skb) seen = skb:mark() return nf.action.DROP end}' &&
	dropped Mozilla/5.0 && expect 0 sv exec marks -e 'return seen' && equals 7 &&
	expect 0 sv stop marks && served
result $? marks_set_and_filtered

# Destroying a hooked state while traffic flows: traffic continues. The
# flow's timeout only stops a hung test: every request must be served.
flow_start /tmp/flow2.log Mozilla/5.0 30
wait_until at_least /tmp/flow2.log 3 && expect 0 sv stop useragent &&
	n=$(lines /tmp/flow2.log) && wait_until at_least /tmp/flow2.log $((n + 3))
r=$?
flow_stop
flow_diag /tmp/flow2.log
[ $r = 0 ] && all_ok /tmp/flow2.log
result $? stop_state_under_traffic

# Deleting a namespace whose state hooks its traffic: its states go, with
# no warning, and the other namespaces' traffic continues. The namespace
# is deleted once its hook has seen requests and the other flow runs, and
# the flow goes on until requests started after the deletion are served.
netns add doomed && nsx doomed ip link set lo up &&
	nsx doomed lunatik run /examples/useragent.lua softirq >/dev/null
r=$?
$IP netns exec doomed httpd -f -p 80 -h /tmp/www 2>/dev/null &
doomed_httpd=$!
$IP netns exec doomed sh -c 'while :; do timeout 2 wget -q -O - http://127.0.0.1/ >/dev/null 2>&1; done' 2>/dev/null &
doomed_flow=$!
flow_start /tmp/flow3.log Mozilla/5.0 30
# doomed_hooked: the doomed namespace's hook has seen two requests.
doomed_hooked() { [ "$(nsx doomed lunatik exec useragent -e 'return requests')" -ge 2 ]; }
# doomed_gone: the namespace's states were destroyed as it went away.
doomed_gone() { dmesg | grep -q "destroyed 1 states of a network namespace going away"; }
[ $r = 0 ] && wait_until doomed_hooked && wait_until at_least /tmp/flow3.log 2 || r=1
# The flow's shell first, so it starts no new wget.
kill $doomed_flow $doomed_httpd 2>/dev/null
wait $doomed_httpd $doomed_flow 2>/dev/null
netns del doomed
n=$(lines /tmp/flow3.log)
wait_until doomed_gone && wait_until at_least /tmp/flow3.log $((n + 3)) || r=1
flow_stop
flow_diag /tmp/flow3.log
[ $r = 0 ] && all_ok /tmp/flow3.log
result $? delete_namespace_under_traffic

# Unloading the module with hooks in place while traffic flows.
expect 0 sv run /examples/useragent.lua softirq &&
	expect 0 sv run /examples/dnsblock.lua softirq
r=$?
flow_start /tmp/flow4.log Mozilla/5.0 30
wait_until at_least /tmp/flow4.log 3 && rmmod lunatik && n=$(lines /tmp/flow4.log) &&
	wait_until at_least /tmp/flow4.log $((n + 3)) || r=1
flow_stop
flow_diag /tmp/flow4.log
[ $r = 0 ] && all_ok /tmp/flow4.log && [ ! -e /sys/module/lunatik ]
result $? rmmod_under_traffic

kill $httpd_pid 2>/dev/null
wait $httpd_pid 2>/dev/null
netns del server
netns del client
kmemleak_clean
