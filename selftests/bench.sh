# Benchmarks inside the VM (make bench): one table of ratios, every figure
# from this one boot. Under QEMU TCG absolute times mean little (the CPU is
# emulated, and shared with whatever else the host runs); the ratios
# between figures measured side by side are what to read. docs/bench.md
# describes each row and how it is measured.
#
# Packets: lunatik-udp floods 64-byte UDP datagrams from the namespace bc
# over a veth pair to a listener in the initial namespace, where every
# hook is registered (upstream Lunatik registers hooks there only, so both
# are measured the same way). The veth transmit runs the receiving stack,
# hooks included, on the sender's CPU, so the sender's rate is the path's
# rate. Each figure is the best of three floods.
#
# With /lib/modules/upstream (make bench LUNATIK_UPSTREAM=...), the same
# trivial and header-reading hooks run in upstream Lunatik after this
# project's module is unloaded, for the upstream column.
IP=/usr/bin/ip
N=${LUNATIK_BENCH_PACKETS:-20000}
KO=/lib/modules/lunatik.ko
UP=/lib/modules/upstream
CPUS=$(nproc)

# Sections other features add (selftests/bench.d/*.sh), each printing its
# own figures as it goes, after this project's measurements and before
# upstream's (which may crash the kernel). LUNATIK_BENCH_ONLY (make bench;
# here lunatik.bench_only= on the kernel command line), a space-separated
# list of section name prefixes such as "examples", runs only those
# sections and skips the table.
only=$(sed -n 's/.*lunatik\.bench_only=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
sections() {
	local section p
	for section in /selftests/bench.d/*.sh; do
		[ -f "$section" ] || continue
		if [ -n "$only" ]; then
			for p in $only; do
				case "$(basename "$section")" in "$p"*) break ;; esac
				p=
			done
			[ -n "$p" ] || continue
		fi
		echo
		sh "$section"
	done
}
if [ -n "$only" ]; then
	echo "lunatik-rs benchmarks: $CPUS vCPUs, QEMU TCG, kernel $(uname -r), sections: $only"
	sections
	exit 0
fi

# Rows of the table: "label|this project|upstream".
ROWS=/tmp/bench.rows
: >$ROWS
row() { echo "$1|$2|${3:-}" >>$ROWS; }
# pct PART WHOLE: PART as a percentage of WHOLE.
pct() { [ "${2:-0}" -gt 0 ] && echo "$(( $1 * 100 / $2 ))%" || echo "?"; }
# ratio A B: A/B with two decimals.
ratio() { [ "${2:-0}" -gt 0 ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "?"; }
# added PPS BASE: nanoseconds a hook adds per packet, from the packet rates
# with and without it.
added() {
	[ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] &&
		awk -v h="$1" -v b="$2" 'BEGIN { printf "%d", 1e9 / h - 1e9 / b }' || echo 0
}

# --- Call costs (KUnit suite lunatik_bench, in the module) --------------
# printf, not echo: a trailing newline would become part of the glob.
printf %s lunatik_bench >/sys/module/kunit/parameters/filter_glob
dmesg -c >/dev/null
insmod $KO || exit 1
kunit=$(dmesg | sed -n 's/.*lunatik: bench: //p')
grep -q '^ok' /sys/kernel/debug/kunit/lunatik_bench/results 2>/dev/null ||
	echo "  (the benchmark suite failed; see the kernel log)"
idle=$(echo "$kunit" | sed -n 's/^idle state with standard libraries: \([0-9]*\) bytes/\1/p')
call=$(echo "$kunit" | sed -n 's/^empty Lua function.* ratio \([0-9.]*\)$/\1/p')
lua_ns=$(echo "$kunit" | sed -n 's/^empty Lua function \([0-9]*\) ns.*/\1/p')
c_ns=$(echo "$kunit" | sed -n 's/.*empty C function \([0-9]*\) ns.*/\1/p')
views=$(echo "$kunit" | sed -n 's/^softirq state call: //p')
row "idle state (Lua heap)" "$idle B"

# --- 1,000 idle states ---------------------------------------------------
echo "-- idle" >/tmp/idle.lua
free_kb() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
echo 3 >/proc/sys/vm/drop_caches
before=$(free_kb)
i=0
while [ $i -lt 1000 ]; do
	i=$((i + 1))
	lunatik run /tmp/idle.lua --name "idle$i" >/dev/null || break
done
after=$(free_kb)
heap=$(lunatik stats --json | jq '[.[] | select(.name | startswith("idle")) | .memory_used] | add')
row "1,000 idle states, kernel memory" "$(( (before - after) * 1024 )) B ($(( (before - after) * 1024 / 1000 )) B each)"
row "1,000 idle states, Lua heaps" "$heap B"
rmmod lunatik
insmod $KO || exit 1
row "empty callback / empty C call" "${call}x ($lua_ns ns / $c_ns ns)"

# --- Packets -------------------------------------------------------------
$IP netns add bc
$IP link add bvc type veth peer name bvs
$IP link set bvc netns bc
$IP addr add 10.201.0.2/24 dev bvs
$IP link set bvs up
$IP netns exec bc ip addr add 10.201.0.1/24 dev bvc
$IP netns exec bc ip link set bvc up
# One warm-up flood fills the neighbour table.
$IP netns exec bc lunatik-udp flood 10.201.0.2:9 100 >/dev/null

# flood PORT [CPU] [PAYLOAD]: one flood's packet rate.
flood() {
	$IP netns exec bc ${2:+taskset -c $2} lunatik-udp flood "10.201.0.2:$1" $N $3 |
		sed 's/.*: \([0-9]*\) pps/\1/'
}
# best_pps PORT [PAYLOAD]: the best of three floods, with a listener.
best_pps() {
	local best=0 pps i listener
	for i in 1 2 3; do
		lunatik-udp listen "$1" 60 >/dev/null 2>&1 &
		listener=$!
		sleep 0.5
		pps=$(flood "$1" "" "$2")
		kill $listener 2>/dev/null
		wait $listener 2>/dev/null
		[ "${pps:-0}" -gt "$best" ] && best=$pps
	done
	echo $best
}
# best_pair PORT: the best of three pairs of floods, one pinned to each of
# CPUs 0 and 1 at once, as the sum of their rates.
best_pair() {
	local best=0 i listener
	for i in 1 2 3; do
		lunatik-udp listen "$1" 60 >/dev/null 2>&1 &
		listener=$!
		sleep 0.5
		flood "$1" 0 >/tmp/pps0 &
		flood "$1" 1 >/tmp/pps1
		wait $!
		local sum=$(( $(cat /tmp/pps0) + $(cat /tmp/pps1) ))
		kill $listener 2>/dev/null
		wait $listener 2>/dev/null
		[ "$sum" -gt "$best" ] && best=$sum
	done
	echo $best
}
# best_one PORT: the best of three floods pinned to CPU 0.
best_one() {
	local best=0 i listener pps
	for i in 1 2 3; do
		lunatik-udp listen "$1" 60 >/dev/null 2>&1 &
		listener=$!
		sleep 0.5
		pps=$(flood "$1" 0)
		kill $listener 2>/dev/null
		wait $listener 2>/dev/null
		[ "${pps:-0}" -gt "$best" ] && best=$pps
	done
	echo $best
}

# The hooks compared with upstream: the same Lua code, with numbers for
# the constants so it reads the same in every release (NFPROTO_IPV4 2,
# NF_INET_PRE_ROUTING 0, NF_ACCEPT 1). VIEW is how the header is reached:
# skb:data("net") here and in upstream 4.x, the skb itself (a data
# object) in upstream 3.x.
hook_script() { # NAME BODY VIEW
	cat <<LUA
local netfilter = require("netfilter")
$1 = netfilter.register{pf = 2, hooknum = 0, priority = 0,
	hook = function(skb)
		$2
	end}
LUA
}
trivial_body='return 1'
header_body() {
	echo "local d = $1
		local v, ttl, proto = d:getuint8(0), d:getuint8(8), d:getuint8(9)
		if v == 0 and ttl == 0 and proto == 0 then return 0 end
		return 1"
}
hook_script accept "$trivial_body" >/tmp/accept.lua
hook_script header "$(header_body 'skb:data("net")')" >/tmp/header.lua

none=$(best_pps 9)
lunatik run /tmp/accept.lua softirq >/dev/null
trivial=$(best_pps 9)
lunatik stop accept
lunatik run /tmp/header.lua softirq >/dev/null
header=$(best_pps 9)
lunatik stop header
lunatik run /examples/useragent.lua softirq >/dev/null
agent=$(best_pps 9)
lunatik stop useragent
# A DNS query for www.example.com, a name not on the blocklist: the
# blocker parses it and looks up each of its three suffixes.
query=hex:12340100000100000000000003777777076578616d706c6503636f6d0000010001
lunatik run /examples/dnsblock.lua softirq >/dev/null
dns=$(best_pps 53 $query)
dns_queries=$(lunatik exec dnsblock -e 'return queries')
lunatik stop dnsblock

# With LUNATIK_BENCH_PROFILE=1 (make bench), where the time of a flood
# through the header hook goes: perf samples the software clock (TCG has
# no hardware counters), kernel and module symbols from /proc/kallsyms.
if [ -f /selftests/profile ]; then
	lunatik run /tmp/header.lua softirq >/dev/null
	lunatik-udp listen 9 60 >/dev/null 2>&1 &
	listener=$!
	sleep 0.5
	perf record -q -a -e cpu-clock -o /tmp/perf.data -- \
		$IP netns exec bc taskset -c 0 lunatik-udp flood 10.201.0.2:9 $N >/dev/null 2>&1
	kill $listener 2>/dev/null
	wait $listener 2>/dev/null
	lunatik stop header
	echo "profile of a flood through the header hook (perf, cpu-clock, CPU 0):"
	perf report -q -i /tmp/perf.data --stdio --sort symbol -C 0 2>/dev/null |
		grep -v '^$' | head -40
	echo
fi

# Per-CPU state: the trivial hook in one replica per CPU, flooded from one CPU,
# then from two at once; the same without a hook shows what the machine
# itself scales to.
if [ "$CPUS" -ge 2 ]; then
	one_none=$(best_one 9)
	two_none=$(best_pair 9)
	lunatik run /tmp/accept.lua softirq percpu >/dev/null
	one_pcpu=$(best_one 9)
	two_pcpu=$(best_pair 9)
	lunatik stop accept
fi

row "netfilter, no hook" "$none pps"
row "  trivial hook (return ACCEPT)" "$(pct "$trivial" "$none") of no hook, +$(added "$trivial" "$none") ns/packet"
row "  header hook (3 header bytes)" "$(pct "$header" "$none") of no hook, +$(added "$header" "$none") ns/packet"
row "  User-Agent blocker (UDP: 3 reads)" "$(pct "$agent" "$none") of no hook, +$(added "$agent" "$none") ns/packet"
row "  DNS blocker (a query, 3 lookups)" "$(pct "$dns" "$none") of no hook, +$(added "$dns" "$none") ns/packet ($dns_queries queries)"
if [ "$CPUS" -ge 2 ]; then
	row "per-CPU state, 2 vCPUs / 1 vCPU" "$(ratio "$two_pcpu" "$one_pcpu")x (no hook: $(ratio "$two_none" "$one_none")x)"
fi

# --- CPU-bound Lua: in the kernel vs the host build, both in this VM -----
lunatik run /tmp/idle.lua --name cpu >/dev/null
lunatik-lua-bench /selftests/bench-lua/*.lua >/tmp/cpu.out 2>/tmp/cpu.err ||
	echo "  (lunatik-lua-bench failed: $(cat /tmp/cpu.err))"
while read -r name host_ns kernel_ns; do
	row "CPU-bound Lua: $name, kernel / host speed" \
		"$(ratio "$host_ns" "$kernel_ns")x ($((kernel_ns / 1000000)) ms / $((host_ns / 1000000)) ms)"
done </tmp/cpu.out
lunatik stop cpu
rmmod lunatik

# --- Revisions (make bench LUNATIK_BENCH_REVS=...) -----------------------
# Each revision's module in turn, on the same topology and the same
# no-hook rate: call cost, idle state, the two hooks, CPU-bound Lua.
REVS=/tmp/bench.revs
: >$REVS
# xdp_ns PROGRAM: ns per run of the XDP program of PROGRAM.o on one
# frame (BPF_PROG_TEST_RUN, 20,000 runs), the best of three.
. /selftests/xdp-frames.sh
frame 443 $PSH_ACK "$(hello blocked.example)" >/tmp/revs.hex
xdp_ns() {
	local best= v k
	for k in 1 2 3; do
		v=$(lunatik xdp test "/lib/bpf/$1.o" --prog "$1" --data /tmp/revs.hex --repeat 20000 |
			sed -n 's/.*ns \([0-9]*\)/\1/p')
		[ -n "$v" ] && { [ -z "$best" ] || [ "$v" -lt "$best" ]; } && best=$v
	done
	echo "${best:-0}"
}
printf 'local a = require("linux.xdp")\nrequire("xdp").attach(function() return a.PASS end)\n' >/tmp/revs-xdp.lua
for ko in /lib/modules/revisions/*.ko; do
	[ -f "$ko" ] || continue
	name=$(basename "$ko" .ko)
	name=${name#*-}
	dmesg -c >/dev/null
	insmod "$ko" || { echo "$name|(did not load)" >>$REVS; continue; }
	k=$(dmesg | sed -n 's/.*lunatik: bench: //p')
	r_idle=$(echo "$k" | sed -n 's/^idle state with standard libraries: \([0-9]*\) bytes/\1/p')
	r_call=$(echo "$k" | sed -n 's/^empty Lua function.* ratio \([0-9.]*\)$/\1/p')
	lunatik run /tmp/accept.lua softirq >/dev/null
	r_trivial=$(best_pps 9)
	lunatik stop accept
	lunatik run /tmp/header.lua softirq >/dev/null
	r_header=$(best_pps 9)
	lunatik stop header
	lunatik run /tmp/idle.lua --name cpu >/dev/null
	r_cpu=$(lunatik-lua-bench /selftests/bench-lua/*.lua 2>/dev/null |
		while read -r n h k; do printf '%s %s ' "$n" "$(ratio "$h" "$k")x"; done)
	lunatik stop cpu
	lunatik run /tmp/revs-xdp.lua softirq --name xdp >/dev/null
	r_xdp=$(ratio "$(xdp_ns lua)" "$(xdp_ns pass)")
	lunatik stop xdp
	rmmod lunatik
	echo "$name|${r_idle} B|${r_call}x|$(pct "$r_trivial" "$none") +$(added "$r_trivial" "$none") ns|$(pct "$r_header" "$none") +$(added "$r_header" "$none") ns|${r_xdp}x|$r_cpu" >>$REVS
done

sections

# --- Upstream Lunatik, same boot, same topology --------------------------
# Upstream runs last and may crash the kernel (see below): what this
# project measured is printed first.
if [ -d $UP ]; then
	echo "lunatik-rs, before the upstream column is measured:"
	awk -F'|' '{ printf "  %-40s %s\n", $1, $2 }' $ROWS
	[ -s $REVS ] && sed 's/^/  revision /' $REVS
fi
if [ -d $UP ]; then
	. /selftests/upstream.sh
	up_none=$(best_pps 9)
	row "upstream: netfilter, no hook" "" "$up_none pps ($(cat $UP/version))"
	if up_load; then
		# Upstream 3.6.4 oopses (a NULL runtime in luanetfilter_hook)
		# once a hook's runtime collects garbage during a flood: its
		# runtimes run with the collector stopped (the hooks allocate
		# next to nothing; docs/bench.md).
		{ echo 'collectgarbage("stop")'; hook_script upstream_accept "$trivial_body"; } \
			>/lib/modules/lua/upstream_accept.lua
		{ echo 'collectgarbage("stop")'; hook_script upstream_header "$(header_body "$(up_view)")"; } \
			>/lib/modules/lua/upstream_header.lua
		# Upstream 3.6.4 oopses on the next packet once a runtime whose
		# hook is registered is stopped (its hook outlives the runtime),
		# so nothing is stopped or unloaded: the header hook is added to
		# the trivial one, and its cost is the difference.
		up_run upstream_accept
		up_trivial=$(best_pps 9)
		up_run upstream_header
		up_both=$(best_pps 9)
		up_added_header=$(( $(added "$up_both" "$up_none") - $(added "$up_trivial" "$up_none") ))
		row "  trivial hook, vs upstream" \
			"time added $(ratio "$(added "$trivial" "$none")" "$(added "$up_trivial" "$up_none")")x upstream's" \
			"$(pct "$up_trivial" "$up_none") of no hook, +$(added "$up_trivial" "$up_none") ns/packet"
		row "  header hook, vs upstream" \
			"time added $(ratio "$(added "$header" "$none")" "$up_added_header")x upstream's" \
			"+$up_added_header ns/packet (with the trivial hook: $(pct "$up_both" "$up_none") of no hook)"
	else
		row "upstream" "" "(its modules did not load; see the kernel log)"
	fi
fi

$IP netns del bc 2>/dev/null
$IP link del bvs 2>/dev/null

echo
echo "lunatik-rs benchmarks: $CPUS vCPUs, QEMU TCG, kernel $(uname -r), one boot."
echo "QEMU TCG emulates the CPU: absolute times mean little; read the ratios,"
echo "each measured side by side in this boot."
awk -F'|' '
	{ label[NR] = $1; ours[NR] = $2; up[NR] = $3; if ($3 != "") upstream = 1 }
	END {
		if (upstream) printf "  %-40s %-48s %s\n", "", "lunatik-rs", "upstream Lunatik"
		for (i = 1; i <= NR; i++)
			if (upstream) printf "  %-40s %-48s %s\n", label[i], ours[i], up[i]
			else printf "  %-40s %s\n", label[i], ours[i]
	}' $ROWS
[ -n "$views" ] && echo "  (softirq state call cost: $views)"
if [ -s $REVS ]; then
	echo
	echo "Revisions, in this boot (hooks against the no-hook rate above; XDP: an"
	echo "empty Lua callback over a plain XDP_PASS program; CPU-bound Lua as"
	echo "kernel / host speed, the host build being this tree's):"
	awk -F'|' '{ printf "  %-12s %-9s %-8s %-22s %-22s %-9s %s\n", $1, $2, $3, $4, $5, $6, $7 }' \
		<<EOF
revision|idle|call/C|trivial hook|header hook|XDP/pass|CPU-bound
EOF
	awk -F'|' '{ printf "  %-12s %-9s %-8s %-22s %-22s %-9s %s\n", $1, $2, $3, $4, $5, $6, $7 }' $REVS
fi

