# limit: 1800 (seconds this suite's VM boot may take; see docs/testing.md)
# The Lua API fuzzer (selftests/fuzz/api.lua) in the kernel: random calls
# with edge-case arguments into every library a state has, linux, lunatik
# and rcu included, in a process state and a softirq state, 100,000 calls
# or more in all: 100 entries of 960 calls in the process state, and
# entries of 40 calls in the softirq state until 6,000 calls are made
# there. The softirq state's entries have a 500 ms deadline (on this
# debug kernel under emulation a call takes a few milliseconds, an
# allocation up to one), and an entry stopped by its deadline is an
# outcome the fuzzer may cause, not a failure: it is counted apart, its
# calls are not, and the state must answer afterwards. How many entries
# the deadline stops depends on the machine's speed, so the softirq
# state runs entries until its calls are made (at most 3 entries per 40
# calls asked: a machine where most entries miss the deadline fails).
# The calls may fail; the kernel must not complain (vmtest scans the
# console for KASAN, lockdep, warnings and stalls) and the states must
# still answer. Each entry's seed is printed: the host test replays one
# with LUNATIK_FUZZ_SEED=S (docs/testing.md).
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
FUZZ=/selftests/fuzz/api.lua
ENTRIES_P=100 # entries of the process state
CALLS_P=960   # calls per entry
ENTRIES_S=150 # entries of the softirq state
CALLS_S=40
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
# Loaded before any hook, the script's entry is preemptible (it takes
# about a second on this kernel); an inert hook (no packet carries its
# mark) then exposes the state to the packet path, so the fuzzing entries
# hold the bh spinlock, allocate atomically and meet the softirq deadline.
expect 0 lunatik run "$FUZZ" softirq --name fuzzs &&
	expect 0 lunatik exec fuzzs -e 'local nf = require("linux.nf") require("netfilter").register{
		pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_IN, mark = 0x7fffffff,
		hook = function() return nf.action.ACCEPT end}'
result $? load_in_softirq_state

# fuzz_state STATE FIRST LOG N CALLS: entries of CALLS calls in STATE,
# seeds FIRST, FIRST + 2, ..., until N of them made their calls (or 3N
# entries were tried), one line each in LOG: "STATE seed S: N calls,
# checksum C, T s", "... STOPPED by the deadline" (softirq state only), or
# "... FAILED ..." when the entry failed, made fewer calls than asked or
# the fuzzer's own code broke (its third result is not nil).
fuzz_state() {
	local state=$1 seed=$2 log=$3 entries=$4 calls=$5 i=0 finished=0 start end made sum broken
	local o=/tmp/$state.out e=/tmp/$state.err
	: >"$log"
	while [ $finished -lt $entries ] && [ $i -lt $((3 * entries)) ]; do
		start=$(cut -d' ' -f1 /proc/uptime)
		if lunatik exec "$state" -e "return fuzz($seed, $calls)" >$o 2>$e; then
			end=$(cut -d' ' -f1 /proc/uptime)
			IFS="$(printf '\t')" read -r made sum broken <$o
			if [ "$made" = "$calls" ] && [ "$broken" = nil ]; then
				echo "$state seed $seed: $made calls, checksum $sum, $(awk "BEGIN { print $end - $start }") s" >>"$log"
				finished=$((finished + 1))
			else
				echo "$state seed $seed: FAILED: $(head -c 300 $o)" >>"$log"
				finished=$((finished + 1))
			fi
		elif [ $state = fuzzs ] && grep -q "time limit exceeded" $e; then
			echo "$state seed $seed: STOPPED by the deadline" >>"$log"
		else
			echo "$state seed $seed: FAILED: $(head -c 300 $e)" >>"$log"
			finished=$((finished + 1))
		fi
		# Each entry's line as it happens, so a run cut short shows how far
		# it got.
		tail -n 1 "$log" | sed 's/^/# /'
		seed=$((seed + 2))
		i=$((i + 1))
	done
}

# The two states run side by side, one per CPU: the softirq state's
# entries meet the process state's rcu writes and the allocator as the
# other CPU leaves them.
fuzz_state fuzzp "$base" /tmp/fuzzp.log $ENTRIES_P $CALLS_P &
fuzz_state fuzzs $((base + 1)) /tmp/fuzzs.log $ENTRIES_S $CALLS_S
wait
total=$(cat /tmp/fuzzp.log /tmp/fuzzs.log | awk '$5 == "calls," { n += $4 } END { print n + 0 }')
failures=$(cat /tmp/fuzzp.log /tmp/fuzzs.log | grep -c FAILED)
stopped=$(grep -c STOPPED /tmp/fuzzs.log)
slowest=$(awk '$5 == "calls," { if ($8 > m) m = $8 } END { print m + 0 }' /tmp/fuzzs.log)
diag "fuzz: $total calls made in $(cat /tmp/fuzzp.log /tmp/fuzzs.log | wc -l) entries, $failures failed, $stopped softirq entries stopped by the deadline; longest softirq entry (with the command) $slowest s"
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
