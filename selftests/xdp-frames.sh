# Frames for the XDP suite and benchmark, as hexadecimal text (what
# `lunatik xdp test --data` reads and `xxd -r -p` turns into bytes).
# Sourced by selftests/suites/08-xdp.sh and selftests/bench.d/xdp.sh.

# hexstr TEXT: the bytes of TEXT.
hexstr() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
h16() { printf %04x "$1"; }
zeros() { printf "%0$(($1 * 2))d" 0; }
# hello NAME: a TLS record holding a ClientHello with server name NAME,
# after one extension of another kind (so parsers walk the list).
hello() {
	local n=${#1} ext body hs
	ext="000a00040002001d""0000$(h16 $((n + 5)))$(h16 $((n + 3)))00$(h16 $n)$(hexstr "$1")"
	body="0303$(zeros 32)00""00021301""0100$(h16 $((${#ext} / 2)))$ext"
	hs="01$(printf %06x $((${#body} / 2)))$body"
	echo "160301$(h16 $((${#hs} / 2)))$hs"
}
# frame PORT FLAGS PAYLOAD: Ethernet, IPv4 and TCP (to PORT, with FLAGS)
# headers, then PAYLOAD.
frame() {
	echo "020000000002020000000001""0800" \
		"4500$(h16 $((40 + ${#3} / 2)))""000040004006""0000""0a000001""0a000002" \
		"c000$(h16 "$1")""00000001""00000000""50$2""ffff""0000""0000" \
		"$3"
}
# TCP flags PSH and ACK: what the SNI programs look for.
PSH_ACK=18
