# The Lua API fuzzer (selftests/fuzz/api.lua) in the kernel: random calls
# with edge-case arguments into every library a state has, linux, lunatik
# and rcu included, in a process state and a softirq state, 100,000 calls
# in all, 500 per `exec` entry (well inside a softirq entry's budget).
# The calls may fail; the kernel must not complain (vmtest scans the
# console for KASAN, lockdep, warnings and stalls) and the states must
# still answer. Each entry's seed is printed: the host test replays one
# with LUNATIK_FUZZ_SEED=S (docs/testing.md).
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
FUZZ=/selftests/fuzz/api.lua
ENTRIES=100 # per state
CALLS=500   # per entry
plan 10

echo clear >/sys/kernel/debug/kmemleak
check insmod insmod "$KO"

# The first seed: lunatik.fuzzseed= on the command line (run-vm.sh passes
# LUNATIK_FUZZ_SEED) replays a run; otherwise each run tries new seeds.
base=$(date +%s)
for arg in $(cat /proc/cmdline); do
	case "$arg" in lunatik.fuzzseed=*) base=${arg#lunatik.fuzzseed=} ;; esac
done
diag "first seed $base (LUNATIK_FUZZ_SEED=$base replays this run)"

expect 0 lunatik run "$FUZZ" --name fuzzp
result $? load_in_process_state
expect 0 lunatik run "$FUZZ" softirq --name fuzzs
result $? load_in_softirq_state

# fuzz_state STATE FIRST LOG: ENTRIES entries in STATE, seeds FIRST,
# FIRST + 2, ..., one line each in LOG: "STATE seed S: N calls, checksum
# C, T s", or "... FAILED ..." when the entry failed, made fewer calls than
# asked or the fuzzer's own code broke (its third result is not nil).
fuzz_state() {
	local state=$1 seed=$2 log=$3 i=0 start end made sum broken
	local o=/tmp/$state.out e=/tmp/$state.err
	: >"$log"
	while [ $i -lt $ENTRIES ]; do
		start=$(cut -d' ' -f1 /proc/uptime)
		if lunatik exec "$state" -e "return fuzz($seed, $CALLS)" >$o 2>$e; then
			end=$(cut -d' ' -f1 /proc/uptime)
			IFS="$(printf '\t')" read -r made sum broken <$o
			if [ "$made" = "$CALLS" ] && [ "$broken" = nil ]; then
				echo "$state seed $seed: $made calls, checksum $sum, $(awk "BEGIN { print $end - $start }") s" >>"$log"
			else
				echo "$state seed $seed: FAILED: $(head -c 300 $o)" >>"$log"
			fi
		else
			echo "$state seed $seed: FAILED: $(head -c 300 $e)" >>"$log"
		fi
		seed=$((seed + 2))
		i=$((i + 1))
	done
}

# The two states run side by side, one per CPU: the softirq state's
# entries meet the process state's rcu writes and the allocator as the
# other CPU leaves them.
fuzz_state fuzzp "$base" /tmp/fuzzp.log &
fuzz_state fuzzs $((base + 1)) /tmp/fuzzs.log
wait
cat /tmp/fuzzp.log /tmp/fuzzs.log | sed 's/^/# /'
total=$(cat /tmp/fuzzp.log /tmp/fuzzs.log | awk '$5 == "calls," { n += $4 } END { print n + 0 }')
failures=$(cat /tmp/fuzzp.log /tmp/fuzzs.log | grep -c FAILED)
slowest=$(awk '$5 == "calls," { if ($8 > m) m = $8 } END { print m + 0 }' /tmp/fuzzs.log)
diag "fuzz: $total calls made in $((2 * ENTRIES)) entries, $failures failed; longest softirq entry (with the command) $slowest s"
[ "$failures" = 0 ] && [ "$total" -ge 100000 ]
result $? fuzz_100000_calls

expect 0 lunatik exec fuzzp -e 'return 1 + 1' && equals 2
result $? process_state_answers
expect 0 lunatik exec fuzzs -e 'return 1 + 1' && equals 2
result $? softirq_state_answers

expect 0 lunatik stats --json &&
	jq -e '(map(.name) | sort) == ["fuzzp", "fuzzs"]' $out >/dev/null &&
	expect 0 lunatik stats fuzzs
r=$?
[ $r = 0 ] && lunatik stats --json | jq -c '.[] | {name, calls, errors, budget_kills, alloc_failures, memory_peak}' | sed 's/^/# /'
result $r stats_work

expect 0 lunatik stop fuzzp && expect 0 lunatik stop fuzzs
result $? stop_states
check rmmod rmmod lunatik
kmemleak_clean
