# limit: 500 (seconds this suite's VM boot may take; see docs/testing.md)
# The data, rcu, byteorder, linux and lunatik libraries, through the CLI:
# data bounds at every edge, rcu tables shared between states and kept
# apart between namespaces, a 10-second stress of lock-free readers
# against writers, the rcu quota of each namespace (a script creating
# tables of 64 KiB values in a loop, from process and softirq states), and
# a TLS ClientHello parsed for its server name.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
plan 19

# rcu NS FIELD: one figure of the namespace's rcu tables (`lunatik stats
# --namespace --json`): rcu_bytes, rcu_tables, rcu_bytes_max, ...
rcu() { nsx "$1" lunatik stats --namespace --json | jq -r ".$2"; }


echo clear >/sys/kernel/debug/kmemleak
check insmod insmod "$KO"
lunatik run /examples/hello.lua --name libs >/dev/null

# Every accessor at offsets 0, size-width, size-width+1, -1 and huge:
# inside works, outside fails with "out of bounds".
cat >/tmp/edges.lua <<'LUA'
local data = require("data")
local widths = { byte = 1, int8 = 1, uint8 = 1, int16 = 2, uint16 = 2,
	int32 = 4, uint32 = 4, int64 = 8, number = 8 }
local size, checked = 16, 0
for name, w in pairs(widths) do
	for _, case in ipairs({ { 0, true }, { size - w, true }, { size - w + 1, false },
			{ -1, false }, { math.maxinteger, false }, { math.mininteger, false } }) do
		local off, inside = case[1], case[2]
		local d = data.new(size)
		local ok, e = pcall(function()
			d["set" .. name](d, off, 5)
			return d["get" .. name](d, off)
		end)
		if inside and not (ok and e == 5) then
			return "set/get" .. name .. " at " .. off .. " failed: " .. tostring(e)
		end
		if not inside and (ok or not e:find("out of bounds")) then
			return "set/get" .. name .. " at " .. off .. " did not fail: " .. tostring(e)
		end
		local ok2, e2 = pcall(d["get" .. name], d, off)
		if not inside and (ok2 or not e2:find("out of bounds")) then
			return "get" .. name .. " at " .. off .. " did not fail"
		end
		checked = checked + 1
	end
end
local d = data.new(4)
for _, bad in ipairs({ function() return d:getstring(5) end, function() return d:getstring(2, 3) end,
		function() d:setstring(3, "ab") end, function() return d:checksum(1, 4) end }) do
	local ok, e = pcall(bad)
	if ok or not e:find("out of bounds") then return "string/checksum bound not enforced" end
	checked = checked + 1
end
return "checked " .. checked
LUA
expect 0 lunatik exec libs /tmp/edges.lua && equals "checked 58"
result $? data_accessors_bounds_checked

expect 0 lunatik exec libs -e 'local b = require("byteorder")
	return b.hton16(0x1234), b.ntoh32(0x78563412), b.htobe64(1) == 1 << 56, b.le16toh(0x10007)' &&
	equals "$(printf '13330\t305419896\ttrue\t7')"
result $? byteorder

expect 0 lunatik exec libs -e 'local linux, lunatik = require("linux"), require("lunatik")
	local r = linux.random(1, 6)
	return linux.errname(-2), linux.errname(22), linux.ifindex("lo"), linux.ifindex("nope"),
		linux.numcpus(), linux.time() > 1600000000000000000, r >= 1 and r <= 6,
		lunatik.name, lunatik.version:match("^lunatik%-rs") ~= nil' &&
	equals "$(printf 'ENOENT\tEINVAL\t1\tnil\t%s\ttrue\ttrue\tlibs\ttrue' "$(nproc)")"
result $? linux_and_lunatik

expect 1 lunatik exec libs -e 'require("io")' && grep -q "module 'io' not found" $err
result $? require_unknown_library_fails

# The TLS ClientHello captured from openssl s_client
# (examples/tls-clienthello.hex): the parser in examples/tls_sni.lua finds
# the server name with data accessors only, and a truncated copy gives
# nil and the reason, not a read past the buffer.
hex=$(tr -d '\n' </examples/tls-clienthello.hex)
expect 0 lunatik run /examples/tls_sni.lua &&
	expect 0 lunatik exec tls_sni -e "local data = require('data')
		local hex = '$hex'
		local d = data.new(#hex // 2)
		for i = 0, #d - 1 do d:setbyte(i, tonumber(hex:sub(2 * i + 1, 2 * i + 2), 16)) end
		local short = data.new(40) short:setstring(0, d:getstring(0, 40))
		return tls_server_name(d), pcall(tls_server_name, short)" &&
	equals "$(printf 'blocked.example.com\ttrue\tnil\ttruncated record')"
r=$?
[ $r = 0 ] || sed 's/^/#   /' $out
result $r tls_client_hello_server_name

# Shared tables: a value one state writes, another reads; another
# namespace has its own table of that name.
expect 0 lunatik run /examples/hello.lua --name writer1 &&
	expect 0 lunatik exec writer1 -e 'local t = require("rcu").table("shared") t.color = "blue" t.n = 42 t.on = true' &&
	expect 0 lunatik exec libs -e 'local t = require("rcu").table("shared") return t.color, t.n, t.on, t.missing' &&
	equals "$(printf 'blue\t42\ttrue\tnil')" &&
	expect 0 lunatik exec libs -e 'local rcu = require("rcu") local t = rcu.table("shared") t.n = nil
		local keys = {} rcu.map(t, function(k, v) keys[#keys + 1] = k .. "=" .. tostring(v) end)
		table.sort(keys) return table.concat(keys, ","), tostring(t)' &&
	equals "$(printf 'color=blue,on=true\trcu.table shared')"
result $? rcu_table_shared_between_states

unshare -n sh -c '
	lunatik run /examples/hello.lua --name other >/dev/null &&
	[ "$(lunatik exec other -e "return require(\"rcu\").table(\"shared\").color")" = nil ] &&
	lunatik exec other -e "require(\"rcu\").table(\"shared\").color = \"red\"" &&
	[ "$(lunatik exec other -e "return require(\"rcu\").table(\"shared\").color")" = red ]
' >$out 2>&1 && expect 0 lunatik exec libs -e 'return require("rcu").table("shared").color' && equals blue
result $? rcu_names_do_not_cross_namespaces

expect 1 lunatik exec libs -e 'require("rcu").table("shared")[("k"):rep(256)] = 1' &&
	grep -q "longer than 255" $err &&
	expect 1 lunatik exec libs -e 'require("rcu").table("shared").f = {}' &&
	grep -q "booleans, integers or strings" $err
result $? rcu_keys_and_values_checked

# Stress: a softirq state reads the shared table in a loop while two
# process states rewrite and delete its entries. Every read must give nil
# or a value some writer wrote, whole. The amount of work is fixed, not
# the time: the writers write until the reader has made its reads and
# each writer its entries, so both sides overlap by construction however
# fast or slow the machine is.
cat >/tmp/reader.lua <<'LUA'
local t = require("rcu").table("stress")
local valid = {}
for i = 1, 16 do
	valid[i] = { [("A"):rep(100 + i)] = true, [i * 1000] = true, [("B"):rep(3000)] = true }
end
function read(rounds)
	local reads, bad = 0, 0
	for _ = 1, rounds do
		for i = 1, 16 do
			local v = t["k" .. i]
			reads = reads + 1
			if v ~= nil and not valid[i][v] then bad = bad + 1 end
		end
	end
	return reads, bad
end
LUA
cat >/tmp/writer.lua <<'LUA'
local t = require("rcu").table("stress")
function write(seed, rounds)
	local x = seed
	for _ = 1, rounds do
		x = (x * 1103515245 + 12345) % 2147483648
		local i, op = x % 16 + 1, (x // 16) % 4
		local k = "k" .. i
		if op == 0 then t[k] = nil
		elseif op == 1 then t[k] = ("A"):rep(100 + i)
		elseif op == 2 then t[k] = i * 1000
		else t[k] = ("B"):rep(3000) end
	end
end
LUA
lunatik run /tmp/reader.lua softirq >/dev/null && lunatik run /tmp/writer.lua --name w1 >/dev/null &&
	lunatik run /tmp/writer.lua --name w2 >/dev/null
STRESS_READS=2000 # reads the reader makes at least (160 per entry)
STRESS_WRITES=5   # entries each writer makes at least (300 writes each)
rm -f /tmp/stress.done
: >/tmp/w1.log
: >/tmp/w2.log
# writer NAME SEED: entries of STATE until the reader is done; one line
# per entry in /tmp/NAME.log, "fail" for an entry that failed.
writer() {
	while [ ! -e /tmp/stress.done ]; do
		if lunatik exec "$1" -e "write($2, 300)" >/dev/null 2>&1; then echo ok; else echo fail; fi
	done >/tmp/$1.log
}
writer w1 1 &
w1=$!
writer w2 7 &
w2=$!
: >/tmp/reads.log
# Entries are short (160 reads, 300 writes): a softirq entry runs with
# bottom halves off and under a deadline (docs/states.md), and on the
# selftest kernel (KASAN, kmemleak, under TCG) one entry of 80,000 reads
# of 3000-byte values held a CPU for minutes. The reader stops when its
# reads and both writers' entries are made, or after 5,000 entries (far
# more than it needs on any machine; reaching it fails the test).
rounds=0
stress_done() {
	[ "$(awk -F'\t' '{ r += $1 } END { print r + 0 }' /tmp/reads.log)" -ge $STRESS_READS ] &&
		[ "$(grep -c '^ok$' /tmp/w1.log)" -ge $STRESS_WRITES ] &&
		[ "$(grep -c '^ok$' /tmp/w2.log)" -ge $STRESS_WRITES ]
}
until stress_done || [ $rounds -ge 5000 ]; do
	lunatik exec reader -e 'return read(10)' >>/tmp/reads.log 2>&1 || echo fail >>/tmp/reads.log
	rounds=$((rounds + 1))
done
touch /tmp/stress.done
wait $w1 $w2
reads=$(awk -F'\t' '{ r += $1 } END { print r + 0 }' /tmp/reads.log)
bad=$(awk -F'\t' '{ b += $2 } END { print b + 0 }' /tmp/reads.log)
fails=$(cat /tmp/w1.log /tmp/w2.log /tmp/reads.log | grep -c fail)
writes=$(lunatik stats --json | jq '[.[] | select(.name == "w1" or .name == "w2") | .calls] | add')
diag "stress: $reads reads ($bad bad) in $rounds reader entries, $writes writer entries, $fails failed commands"
[ "$bad" = 0 ] && [ "$fails" = 0 ] && [ "$reads" -ge $STRESS_READS ] &&
	[ "$(grep -c '^ok$' /tmp/w1.log)" -ge $STRESS_WRITES ] && [ "$(grep -c '^ok$' /tmp/w2.log)" -ge $STRESS_WRITES ]
result $? rcu_stress_readers_see_old_or_new

# The rcu quota. A script creates named tables holding a 64 KiB string in
# a loop (the loop of the hardening issue; the string is made once, as a
# softirq state's instruction budget would otherwise end the loop before
# the quota does). Each state runs in a namespace of its own: it gets the
# quota error, the namespace's bytes never exceed the quota while it
# runs, the kernel is unaffected (vmtest reads the console).
cat >/tmp/fill.lua <<'LUA'
local rcu = require("rcu")
local v = string.rep("a", 65536)
for i = 1, 1000000 do rcu.table("t" .. i).k = v end
LUA
# fill NS CONTEXT: runs the loop in a new state of NS while sampling the
# namespace's bytes; leaves the samples in /tmp/samples.NS.
fill() {
	local ns=$1 ctx=$2 rc=0 poller
	: >/tmp/samples.$ns
	(while [ ! -e /tmp/filled.$ns ]; do rcu $ns rcu_bytes >>/tmp/samples.$ns; done) &
	poller=$!
	nsx $ns lunatik run /tmp/fill.lua $ctx --name fill >$out 2>$err || rc=$?
	touch /tmp/filled.$ns
	wait $poller
	rcu $ns rcu_bytes >>/tmp/samples.$ns
	return $rc
}
# quota_hit NS CONTEXT: the checks of one run of the loop.
quota_hit() {
	local ns=$1 rc=0 max bytes tables peak
	netns add $ns || return 1
	fill "$@" || rc=$?
	max=$(rcu $ns rcu_bytes_max) bytes=$(rcu $ns rcu_bytes) tables=$(rcu $ns rcu_tables)
	peak=$(sort -n /tmp/samples.$ns | tail -1)
	diag "$2: quota hit at $tables tables, $bytes of $max bytes" \
		"(peak of $(wc -l </tmp/samples.$ns) samples: $peak)"
	[ "$rc" = 1 ] || { diag "exit code $rc, expected 1"; sed 's/^/#   err: /' $err; return 1; }
	grep -q "rcu quota exceeded: 16777216 bytes per namespace" $err ||
		{ sed 's/^/#   err: /' $err; return 1; }
	[ "$max" = 16777216 ] && [ "$peak" -le "$max" ] && [ "$bytes" -le "$max" ] &&
		[ "$bytes" -gt $((max - 256 * 1024)) ] && [ "$tables" -gt 100 ]
}
all_bytes0=$(rcu "" rcu_bytes_all)
quota_hit rq1 process
result $? rcu_quota_process_state
quota_hit rq2 softirq
result $? rcu_quota_softirq_state

# The quota is per namespace: with rq1 and rq2 full, this namespace still
# makes tables and writes 64 KiB values.
expect 0 lunatik exec libs -e 'local rcu = require("rcu") local v = ("b"):rep(65536)
	for i = 1, 8 do rcu.table("own" .. i).k = v end
	local t = rcu.table() t.k = v return #rcu.table("own8").k, #t.k' &&
	equals "$(printf '65536\t65536')" && [ "$(rcu "" rcu_bytes)" -lt $((4 * 1024 * 1024)) ]
result $? rcu_quota_is_per_namespace

# A named table outlives the state that made it (the loop's state is gone:
# `lunatik run` removed it when the script failed; `maker` is stopped
# here) and still counts against the quota: rq1 is as full as before.
before=$(rcu rq1 rcu_bytes)
nsx rq1 lunatik run /examples/hello.lua --name reader >/dev/null &&
	expect 0 nsx rq1 lunatik exec reader -e 'local rcu = require("rcu")
		return #rcu.table("t1").k, pcall(function() rcu.table("t1").k2 = ("c"):rep(65536) end)' &&
	[ "$(cut -f1,2 $out)" = "$(printf '65536\tfalse')" ] && grep -q "rcu quota exceeded" $out &&
	[ "$(rcu rq1 rcu_bytes)" = "$before" ] &&
	lunatik run /examples/hello.lua --name maker >/dev/null &&
	b0=$(rcu "" rcu_bytes) &&
	expect 0 lunatik exec maker -e 'require("rcu").table("kept").k = "v"' &&
	b1=$(rcu "" rcu_bytes) && [ "$b1" -gt "$b0" ] && lunatik stop maker &&
	[ "$(rcu "" rcu_bytes)" = "$b1" ] &&
	expect 0 lunatik exec libs -e 'return require("rcu").table("kept").k' && equals v
result $? rcu_named_table_survives_stop_and_counts

# Anonymous tables are given back when their state goes: the bytes and
# tables return to the baseline (entries replaced in a loop wait for their
# grace periods first).
b0=$(rcu "" rcu_bytes) t0=$(rcu "" rcu_tables)
lunatik run /examples/hello.lua --name anon >/dev/null &&
	expect 0 lunatik exec anon -e 'local rcu = require("rcu") keep = {}
		for i = 1, 100 do local t = rcu.table(1024) keep[i] = t
			for j = 1, 20 do t["k" .. j % 5] = ("x"):rep(j * 100) end end
		return #keep' && equals 100 &&
	[ "$(rcu "" rcu_tables)" = $((t0 + 100)) ] && [ "$(rcu "" rcu_bytes)" -gt "$b0" ] &&
	lunatik stop anon
# rcu_back_to B: the namespace's rcu tables hold B bytes again.
rcu_back_to() { [ "$(rcu "" rcu_bytes)" = "$1" ]; }
wait_until rcu_back_to "$b0"
diag "anonymous tables: back to $(rcu "" rcu_bytes) bytes in $(rcu "" rcu_tables) tables (baseline $b0 in $t0)"
[ "$(rcu "" rcu_bytes)" = "$b0" ] && [ "$(rcu "" rcu_tables)" = "$t0" ]
result $? rcu_anonymous_tables_given_back

# Deleting the namespaces gives their bytes back: once they are gone,
# every namespace's tables are this one's.
netns del rq1 && netns del rq2
# only_this_namespace: every namespace's rcu bytes are this one's.
only_this_namespace() { [ "$(rcu "" rcu_bytes_all)" = "$(rcu "" rcu_bytes)" ]; }
wait_until only_this_namespace
diag "after deleting rq1 and rq2: $(rcu "" rcu_bytes_all) bytes in all namespaces" \
	"($all_bytes0 before them), $(rcu "" rcu_bytes) in this one"
[ "$(rcu "" rcu_bytes_all)" = "$(rcu "" rcu_bytes)" ] &&
	[ "$(rcu "" rcu_tables_all)" = "$(rcu "" rcu_tables)" ]
result $? rcu_namespace_deletion_gives_bytes_back

# linux.nf, generated from the kernel's headers: upstream's tables, with
# the uAPI's values (stable ABI, so they are safe to state here), and
# nothing the headers hide from the kernel (NFPROTO_DECNET, *_NUMHOOKS).
expect 0 lunatik run /examples/hello.lua --name nfc &&
	expect 0 lunatik exec nfc -e 'local nf = require("linux.nf")
		local n = 0
		for _, t in pairs{nf.proto, nf.inet, nf.netdev, nf.arp, nf.ip.pri, nf.br, nf.br.pri, nf.action} do
			-- Integers only: br holds the table br.pri too.
			for _, v in pairs(t) do if math.type(v) == "integer" then n = n + 1 end end
		end
		return nf.proto.INET, nf.proto.ARP, nf.proto.NETDEV, nf.proto.BRIDGE, nf.proto.IPV6,
			nf.inet.LOCAL_OUT, nf.inet.INGRESS, nf.netdev.INGRESS, nf.netdev.EGRESS,
			nf.arp.IN, nf.arp.OUT, nf.arp.FORWARD, nf.br.BROUTING, nf.br.pri.FILTER_BRIDGED,
			nf.br.pri.FIRST, nf.ip.pri.FILTER, nf.ip.pri.MANGLE, nf.ip.pri.LAST,
			nf.action.DROP, nf.action.ACCEPT, nf.action.STOP,
			nf.proto.DECNET, nf.inet.NUMHOOKS, nf.br.pri.PRE_ROUTING, n' &&
	equals "$(printf '1\t3\t5\t7\t10\t3\t5\t0\t1\t0\t1\t2\t5\t-200\t-2147483648\t0\t-150\t2147483647\t0\t1\t5\tnil\tnil\tnil\t53')" &&
	expect 0 lunatik stop nfc
result $? linux_nf_constants_from_the_headers

# Everything goes: states, tables (named ones with the module), entries
# freed after their grace periods; nothing leaks.
for s in libs writer1 tls_sni reader w1 w2; do lunatik stop $s; done
check rmmod rmmod lunatik
kmemleak_clean
