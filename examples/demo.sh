# The demo run by `make demo` inside the VM: load lunatik.ko, drive it
# with the lunatik CLI, show a runaway loop and a memory hog stopped by the
# instruction budget and the memory cap while their states keep working,
# then block HTTP requests by User-Agent with a netfilter hook in Lua,
# update the blocklist live, police an HTTP API per client address, block
# a port scanner, rewrite the DNS answers for one name, then drop TLS
# ClientHellos by server name at XDP (an eBPF program calling Lua), edit
# that blocklist live too, and unload.
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
say() { printf '\n\033[36m# %s\033[0m\n' "$*"; }

echo "lunatik-rs demo on Linux $(uname -r), $(nproc) CPUs"
step insmod /lib/modules/lunatik.ko
step genl ctrl get name LUNATIK

say "a state runs a script (hello.lua, found under /lib/modules/lua as Lunatik does)"
step cat /lib/modules/lua/hello.lua
step lunatik run hello.lua
step sh -c 'dmesg | grep "lunatik: hello:"'
step lunatik exec hello -e 'return greet("operator"), 6 * 7'
step lunatik run hello.lua --name hello2 --memory 512K --budget 1000000
step lunatik list

say "a runaway loop is stopped by the instruction budget; the state lives on"
step lunatik exec hello2 -e 'while true do end'
step lunatik exec hello2 -e 'return greet("still here")'

say "a memory hog is stopped by the 512 KiB cap; the state lives on"
step lunatik exec hello2 -e 'local t = {} for i = 1, 10000000 do t[i] = i end'
step lunatik exec hello2 -e 'return collectgarbage("count") < 512'
step lunatik stats hello2

say "script output reaches 'lunatik log' listeners"
lunatik log --count 2 &
sleep 1
step lunatik exec hello -e 'print("from the kernel") print(greet("log"))'
wait

say "errors name the chunk and line"
printf 'local x = 1\nlocal y = = 2\n' >/tmp/broken.lua
step lunatik run /tmp/broken.lua
step lunatik stop hello
step lunatik stop hello2
step lunatik list --json

say "a packet filter in Lua: HTTP requests blocked by User-Agent"
IP=/usr/bin/ip
{
	$IP netns add server && $IP netns add client
	$IP link add vc type veth peer name vs
	$IP link set vc netns client && $IP link set vs netns server
	$IP netns exec client ip addr add 10.200.0.1/24 dev vc
	$IP netns exec server ip addr add 10.200.0.2/24 dev vs
	$IP netns exec client ip link set vc up && $IP netns exec server ip link set vs up
	mkdir -p /tmp/www && echo "hello from the server" >/tmp/www/index.html
} 2>/dev/null
$IP netns exec server httpd -f -p 80 -h /tmp/www 2>/dev/null &
echo "(namespaces 'server' with busybox httpd on 10.200.0.2 and 'client', joined by a veth pair)"
server() { $IP netns exec server "$@"; }
client() { $IP netns exec client "$@"; }
get() { printf '%s -> ' "$1"; client timeout 3 wget -q -O - -U "$1" http://10.200.0.2/ 2>/dev/null || echo "(no answer: dropped)"; }
step server lunatik run useragent.lua softirq
step server lunatik exec useragent -e 'require("rcu").table("useragent.blocklist").BadBot = true'
step get "Mozilla/5.0 (X11)"
step get "BadBot/2.1"
say "the blocklist is updated while the filter runs"
step server lunatik exec useragent -e 'require("rcu").table("useragent.blocklist").Wget = true'
step get "Wget"
step server lunatik exec useragent -e 'require("rcu").table("useragent.blocklist").BadBot = nil'
step get "BadBot/2.1"
step server lunatik exec useragent -e 'return "requests", requests, "blocked", blocked'
step server lunatik stats useragent
step server lunatik stop useragent

say "an HTTP API policy: which methods and paths each client address may use (l7policy.lua)"
mkdir -p /tmp/www/public /tmp/www/admin && echo "public page" >/tmp/www/public/index.html && echo "admin page" >/tmp/www/admin/index.html
fetch() { printf '%s -> ' "$1"; client timeout 3 wget -q -O - "http://10.200.0.2$1" 2>/dev/null || echo "(no answer: dropped)"; }
step server lunatik run l7policy.lua softirq
step server lunatik exec l7policy -e 'require("rcu").table("l7.rules")["* GET /public/"] = true'
step fetch /public/index.html
step fetch /admin/index.html
say "the admin rule is added for this client's address while the policy runs"
step server lunatik exec l7policy -e 'require("rcu").table("l7.rules")["10.200.0.1 GET /admin/"] = true'
step fetch /admin/index.html
step server lunatik exec l7policy -e 'return hits["* GET /public/"], hits["10.200.0.1 GET /admin/"], hits.default'
step server lunatik stop l7policy

say "scan suppression: a Threshold Random Walk over connection outcomes (scanblock.lua)"
step server lunatik run scanblock.lua softirq
step client lunatik-tcp scan 10.200.0.2 1000 1199 2000
step server lunatik exec scanblock -e 'return "blocks", blocks, "dropped", dropped'
step fetch /public/index.html
say "the operator lifts the block by hand (it would end by itself after block_s, 60 s)"
step server lunatik exec scanblock -e 'require("rcu").table("scan.blocked")["10.200.0.1"] = nil'
step fetch /public/index.html
step server lunatik stop scanblock

say "rewriting packets: DNS answers for one name get another address (dnsrewrite.lua)"
$IP netns exec server lunatik-dns 53 www.example=192.0.2.1 mail.example=192.0.2.3 >/dev/null 2>/tmp/dns.err &
dns=$!
for _ in $(seq 100); do grep -q listening /tmp/dns.err && break; sleep 0.1; done
# resolve NAME: the addresses the client's resolver query gets.
resolve() {
	printf '%s -> ' "$1"
	client nslookup -type=a -timeout=2 -retry=1 "$1" 10.200.0.2 2>&1 | awk '/^Address: / { printf "%s ", $2 }'
	echo
}
step resolve www.example
step client lunatik run dnsrewrite.lua softirq
step client lunatik exec dnsrewrite -e 'require("rcu").table("dns.rewrite")["www.example"] = "10.200.0.9"'
step resolve www.example
step resolve mail.example
step client lunatik exec dnsrewrite -e 'return "answers", answers, "rewritten", rewritten'
step client lunatik stop dnsrewrite
kill $dns
wait $dns 2>/dev/null

say "at XDP, before any skb: an eBPF program hands TLS ClientHellos to Lua, which drops blocked server names"
. /selftests/xdp-frames.sh
# hello_to NAME: a ClientHello for NAME sent over TCP to the server's
# port 443, and what the server received of it.
hello_to() {
	printf '%s -> ' "$1"
	rm -f /tmp/got
	# Started directly (not through a function) so $! is nc itself.
	$IP netns exec server nc -l -p 443 >/tmp/got &
	local nc=$!
	sleep 1
	hello "$1" | xxd -r -p >/tmp/hello.bin
	client timeout 3 nc 10.200.0.2 443 </tmp/hello.bin >/dev/null 2>&1
	kill $nc 2>/dev/null
	wait $nc 2>/dev/null
	if grep -q "$1" /tmp/got; then echo "received by the server"; else echo "(nothing arrived: dropped at XDP)"; fi
}
step server lunatik run /examples/xdp/sni.lua softirq
step server lunatik xdp attach vs /lib/bpf/sni.o
step server lunatik xdp list
step server lunatik exec sni -e 'require("rcu").table("sni.blocklist")["ads.example"] = true'
step hello_to news.example
step hello_to ads.example
say "the SNI blocklist is edited while the program stays attached"
step server lunatik exec sni -e 'local t = require("rcu").table("sni.blocklist") t["ads.example"] = nil t["news.example"] = true'
step hello_to ads.example
step hello_to news.example
step server lunatik exec sni -e 'return "blocked", blocked, "passed", passed'
step server lunatik xdp detach vs
step server lunatik stop sni
step rmmod lunatik
step sh -c 'dmesg | grep lunatik: | tail -n 1'
