# limit: 1800 (seconds this suite's VM boot may take; see docs/testing.md)
# The Lua API fuzzer (selftests/fuzz/api.lua) in the kernel: random calls
# with edge-case arguments into every library a state has, linux, lunatik
# and rcu included, in a process state and a softirq state, 100,000 calls
# or more in all: 96,000 in the process state (entries of 960 calls) and
# 6,000 in the softirq state (entries of 40 calls). The softirq state's
# entries have a 500 ms deadline (on this debug kernel under emulation a
# call takes a few milliseconds, an allocation up to one), and an entry
# stopped by its deadline is an outcome the fuzzer may cause, not a
# failure: it is counted apart, and the state must answer afterwards. How
# many entries the deadline stops depends on the machine's speed and load
# (15 of 165 on an idle 2-core host, 232 of 382 on a busy one), so the
# calls are counted by the fuzzer itself (fuzz_calls(): every call
# completed, a stopped entry's included) and each state runs entries
# until its calls are made.
# The calls may fail; the kernel must not complain (vmtest scans the
# console for KASAN, lockdep, warnings and stalls) and the states must
# still answer. Each entry's seed is printed: the host test replays one
# with LUNATIK_FUZZ_SEED=S (docs/testing.md).
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
FUZZ=/selftests/fuzz/api.lua
TARGET_P=96000 # calls in the process state
CALLS_P=960    # calls per entry
TARGET_S=6000  # calls in the softirq state
CALLS_S=40     # calls per entry
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

# fuzz_state STATE FIRST LOG TARGET CALLS: entries of CALLS calls in
# STATE, seeds FIRST, FIRST + 2, ..., until the state's fuzzer has
# completed TARGET calls (an entry that failed counts all its calls, so a
# broken fuzzer ends as soon), one line each in LOG: "STATE seed S: N
# calls, checksum C, T s", "... STOPPED by the deadline after N calls in
# all" (softirq state only), or "... FAILED ..." when the entry failed,
# made fewer calls than asked or the fuzzer's own code broke (its third
# result is not nil). At most TARGET entries are tried.
fuzz_state() {
	local state=$1 seed=$2 log=$3 target=$4 calls=$5 i=0 total=0 start end made sum broken completed
	local o=/tmp/$state.out e=/tmp/$state.err
	: >"$log"
	while [ $total -lt $target ] && [ $i -lt $target ]; do
		start=$(cut -d' ' -f1 /proc/uptime)
		if lunatik exec "$state" -e "return fuzz($seed, $calls)" >$o 2>$e; then
			end=$(cut -d' ' -f1 /proc/uptime)
			IFS="$(printf '\t')" read -r made sum broken <$o
			if [ "$made" = "$calls" ] && [ "$broken" = nil ]; then
				echo "$state seed $seed: $made calls, checksum $sum, $(awk "BEGIN { print $end - $start }") s" >>"$log"
			else
				echo "$state seed $seed: FAILED: $(head -c 300 $o)" >>"$log"
			fi
			total=$((total + calls))
		elif [ $state = fuzzs ] && grep -q "time limit exceeded" $e &&
			completed=$(lunatik exec "$state" -e 'return fuzz_calls()' 2>$e); then
			total=$completed
			echo "$state seed $seed: STOPPED by the deadline after $total calls in all" >>"$log"
		else
			echo "$state seed $seed: FAILED: $(head -c 300 $e)" >>"$log"
			total=$((total + calls))
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
fuzz_state fuzzp "$base" /tmp/fuzzp.log $TARGET_P $CALLS_P &
fuzz_state fuzzs $((base + 1)) /tmp/fuzzs.log $TARGET_S $CALLS_S
wait
# The calls each state's fuzzer completed, stopped entries' included.
calls_p=$(lunatik exec fuzzp -e 'return fuzz_calls()') || calls_p=0
calls_s=$(lunatik exec fuzzs -e 'return fuzz_calls()') || calls_s=0
total=$((calls_p + calls_s))
failures=$(cat /tmp/fuzzp.log /tmp/fuzzs.log | grep -c FAILED)
stopped=$(grep -c STOPPED /tmp/fuzzs.log)
slowest=$(awk '$6 == "checksum" { if ($8 > m) m = $8 } END { print m + 0 }' /tmp/fuzzs.log)
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
