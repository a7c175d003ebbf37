# Set lookups (docs/libraries.md, "set"): the cost of one `s:has(name)`
# and one `s:match(name)` in a set of 1,000 names and in one of
# 1,000,000, which a lookup that is a hash and one bucket's scan keeps
# the same (a binary search would take 10 steps, then 20). Each figure is
# ns per call of a Lua loop over 1,000 probe names, half members spread
# over the whole set, half not, repeated to 1,000,000 calls, best of 3;
# it includes the loop and the method call, and "Lua table" is the same
# loop reading a plain Lua table of the same names, for scale. A process
# state: the million-name set is one 30 MB block, which only `kvmalloc`
# gives (a softirq state's blocks come from `kmalloc`, at most 4 MiB).
# Under QEMU TCG only the ratios mean anything.
# NAMES (1,000,000) is the large set's size: about 180 MB of state
# memory with the tables the sets are built from.
NAMES=${LUNATIK_BENCH_SET_NAMES:-1000000}
# REPS (1,000) times 1,000 probes is the number of calls a figure times.
REPS=${LUNATIK_BENCH_SET_REPS:-1000}
insmod /lib/modules/lunatik.ko || exit 1
lunatik run /examples/hello.lua --name setbench --memory 1G --budget 1000000000 >/dev/null

# build N: the sets and the table of N names h1.example.0 ... with the
# probes, in globals of the state.
build() {
	lunatik exec setbench -e "local set = require('set')
		local n = $1
		local names, labeled, tbl = {}, {}, {}
		for i = 1, n do
			local name = ('h%d.example.%d'):format(i, i % 97)
			names[i] = name labeled[name] = 1 tbl[name] = true
		end
		plain, match, table_ = set.new(names), set.labeled(labeled), tbl
		names, labeled = nil, nil
		probes, deep = {}, {}
		for k = 1, 1000 do
			local i = (k * 7919) % n + 1
			probes[k] = k % 2 == 0 and ('h%d.example.%d'):format(i, i % 97) or ('m%d.example.%d'):format(i, i % 97)
			deep[k] = 'www.a.' .. probes[k]
		end
		collectgarbage()
		return #plain" >/dev/null
}
# per WHAT: ns per call of the loop WHAT (has, match, table), best of 3.
per() {
	lunatik exec setbench -e "local time = require('linux').time
		local what, best = '$1', math.maxinteger
		for run = 1, 3 do
			local t0 = time()
			if what == 'has' then
				for r = 1, $REPS do for k = 1, 1000 do plain:has(probes[k]) end end
			elseif what == 'match' then
				for r = 1, $REPS do for k = 1, 1000 do match:match(deep[k]) end end
			else
				for r = 1, $REPS do for k = 1, 1000 do local _ = table_[probes[k]] end end
			end
			best = math.min(best, time() - t0)
		end
		return best // ($REPS * 1000)"
}
# ratio A B: B as a percentage of A.
ratio() { [ "${1:-0}" -gt 0 ] && echo "$(($2 * 100 / $1))%" || echo "?"; }

build 1000
has_k=$(per has) match_k=$(per match) table_k=$(per table)
build $NAMES
has_m=$(per has) match_m=$(per match) table_m=$(per table)
checked=$(lunatik exec setbench -e 'local hits = 0
	for k = 1, 1000 do if plain:has(probes[k]) then hits = hits + 1 end end
	local deep_hits = 0
	for k = 1, 1000 do if match:match(deep[k]) == 1 then deep_hits = deep_hits + 1 end end
	return hits .. "/" .. deep_hits')
lunatik stop setbench
rmmod lunatik

echo "  Set lookups (ns per call, Lua loop included; best of 3 x $((REPS * 1000)) calls):"
printf '    %-34s %-14s %-16s %s\n' "" "1,000 names" "$NAMES names" "large / 1,000"
printf '    %-34s %-14s %-16s %s\n' "set:has, half hits" "$has_k" "$has_m" "$(ratio "$has_k" "$has_m")"
printf '    %-34s %-14s %-16s %s\n' "labeled set:match, 5-level names" "$match_k" "$match_m" "$(ratio "$match_k" "$match_m")"
printf '    %-34s %-14s %-16s %s\n' "Lua table read, for scale" "$table_k" "$table_m" "$(ratio "$table_k" "$table_m")"
echo "    (members found among the probes, has/match: $checked of 1000, 500 expected)"
