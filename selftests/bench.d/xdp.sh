# XDP programs calling Lua (docs/xdp.md, "Benchmark"): BPF_PROG_TEST_RUN
# with `repeat` runs one program on one frame many times inside the
# kernel and reports the mean time per run. All four run on the same
# frame, a ClientHello for a blocked name:
#   pass       returns XDP_PASS (the floor: entering and leaving XDP)
#   empty Lua  calls a Lua function that returns PASS (bpf_lua_run)
#   Lua SNI    examples/xdp/sni.lua, the name in an rcu table of N names
#   eBPF SNI   the same parse in plain eBPF, a BPF hash map of N names
# Under QEMU TCG only the ratios mean anything.
. /selftests/xdp-frames.sh
BPF=/lib/bpf
N=1000
REPEAT=20000
insmod /lib/modules/lunatik.ko || exit 1
frame 443 $PSH_ACK "$(hello blocked.example)" >/tmp/bench.hex
i=0
: >/tmp/bench.names
while [ $i -lt $N ]; do
	echo "name$i.example" >>/tmp/bench.names
	i=$((i + 1))
done
echo blocked.example >>/tmp/bench.names

cat >/tmp/empty.lua <<'LUA'
local a = require("linux.xdp")
require("xdp").attach(function(packet, arg) return a.PASS end)
LUA
lunatik run /tmp/empty.lua softirq --name xdp >/dev/null
lunatik run /examples/xdp/sni.lua softirq >/dev/null
lunatik exec sni -e "local t = require('rcu').table('sni.blocklist')
	for i = 0, $((N - 1)) do t['name' .. i .. '.example'] = true end
	t['blocked.example'] = true"

# ns OBJECT PROG [ARGS]: nanoseconds per run, the best of three.
ns() {
	local obj=$1 prog=$2 best= v k
	shift 2
	for k in 1 2 3; do
		v=$(lunatik xdp test "$BPF/$obj" --prog "$prog" --data /tmp/bench.hex --repeat $REPEAT "$@" |
			sed -n 's/.*ns \([0-9]*\)/\1/p')
		[ -z "$best" ] || [ "$v" -lt "$best" ] && best=$v
	done
	echo "${best:-0}"
}
pass=$(ns pass.o pass)
empty=$(ns lua.o lua)
lua=$(ns sni.o sni)
plain=$(ns sni_plain.o sni_plain --map blocked=/tmp/bench.names)
verdicts="$(lunatik xdp test $BPF/sni.o --data /tmp/bench.hex) / $(lunatik xdp test $BPF/sni_plain.o --data /tmp/bench.hex --map blocked=/tmp/bench.names)"
# ratio A B: A / B with two decimals.
ratio() { [ "$2" -gt 0 ] && printf '%d.%02d' $(($1 / $2)) $(($1 * 100 / $2 % 100)) || echo '?'; }
echo "  XDP, BPF_PROG_TEST_RUN x $REPEAT on a ClientHello frame (ns per packet, best of 3; $N names):"
echo "    plain XDP_PASS:          $pass"
echo "    empty Lua callback:      $empty ($(ratio $empty $pass)x plain pass; goal <= 3x)"
echo "    Lua SNI filter:          $lua"
echo "    plain-eBPF SNI (hash):   $plain ($(ratio $lua $plain)x is Lua SNI / eBPF SNI; goal <= 10x)"
echo "    SNI verdicts (Lua / eBPF): $verdicts"
lunatik stop xdp
lunatik stop sni
rmmod lunatik
