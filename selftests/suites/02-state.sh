# limit: 400 (seconds this suite's VM boot may take; see docs/testing.md)
# Lua states inside the kernel: the module's KUnit suite `lunatik_state`
# (kunit/state_tests.rs) runs when the module loads; its KTAP results are
# nested here as a subtest document, then the kernel log and kmemleak are
# checked for what the tests left behind.
. /selftests/lib.sh
KO=/lib/modules/lunatik.ko
SUITE=lunatik_state
plan 5

# The VM boots with kunit.filter_glob matching nothing, so other suites
# load the module without running tests; select this suite only.
echo clear >/sys/kernel/debug/kmemleak
# printf, not echo: a trailing newline would become part of the glob.
printf %s "$SUITE" >/sys/module/kunit/parameters/filter_glob
dmesg -c >/dev/null
check insmod insmod "$KO"

results=/sys/kernel/debug/kunit/$SUITE/results
if [ -r "$results" ] && grep -qE '^ *(not )?ok 1 ' "$results"; then
	# The file is a KTAP document whose one test is the suite: the suite's
	# own document is nested here directly, and the line below sums it up.
	sed '1{/^KTAP version/d;};2{/^1\.\.1$/d;};${/^\(not \)\{0,1\}ok 1 /d;}' "$results" |
		sed 's/^/    /'
	if grep -q '^ *not ok ' "$results"; then
		not_ok "$SUITE" "KUnit tests failed (see above and build/vm/console.log)"
	else
		ok "$SUITE"
	fi
else
	dmesg | tail -40 | sed 's/^/# /'
	not_ok "$SUITE" "the KUnit suite did not run (no results in $results)"
fi

# print() goes to the kernel log, prefixed with the state's name, with the
# arguments separated by tabs, which the log shows escaped (as it does any
# control character a script prints, so no script can forge log lines).
if dmesg | grep -qF 'lunatik: kunit-print: hello\t42\tnil'; then
	ok print_in_kernel_log
else
	dmesg | grep lunatik | tail -20 | sed 's/^/# /'
	not_ok print_in_kernel_log "no 'kunit-print: hello\t42\tnil' line"
fi

printf %s none >/sys/module/kunit/parameters/filter_glob
check rmmod rmmod lunatik

# Every state the tests made is gone.
kmemleak_clean
