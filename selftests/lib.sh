# KTAP helpers for the selftest suites; sourced by each suite.
# A suite calls `plan N`, then one `ok`/`not_ok` (or `check`) per test.

_ktap_n=0

# plan N: starts a KTAP document announcing N tests.
plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

# ok NAME: reports a passed test.
ok() {
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n $1"
}

# not_ok NAME REASON: reports a failed test with its reason.
not_ok() {
	_ktap_n=$((_ktap_n + 1))
	echo "not ok $_ktap_n $1 # $2"
}

# check NAME COMMAND...: runs COMMAND and reports its exit status, with the
# command's output as diagnostics when it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		echo "$out" | sed 's/^/# /'
		not_ok "$name" "command failed: $*"
	fi
}

# diag TEXT: a KTAP diagnostic line.
diag() { echo "# $*"; }

# kmemleak_clean: the test `kmemleak_clean`, passed when kmemleak finds no
# unreferenced object. kmemleak reports only objects older than 5 seconds,
# hence the wait; the report is shown when the test fails.
kmemleak_clean() {
	local leaks
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$leaks" ]; then
		ok kmemleak_clean
	else
		echo "$leaks" | head -40 | sed 's/^/# /'
		not_ok kmemleak_clean "kmemleak reports unreferenced objects"
	fi
}

# wait_until COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails,
# with a diagnostic, if it has not after 1800 tries (three minutes or
# more). Tests wait for what COMMAND checks (a line in a log, a counter
# reaching a value), never for a fixed time: the bound only decides how
# long a broken test takes to fail, so it is generous for a slow or busy
# emulated machine (each suite's own time limit still bounds the suite).
wait_until() {
	local i=0
	while [ $i -lt 1800 ]; do
		"$@" 2>/dev/null && return 0
		i=$((i + 1))
		sleep 0.1
	done
	diag "gave up waiting for: $*"
	return 1
}

# running PID: process PID is alive (an exited one awaiting `wait` is a
# zombie, which `kill -0` would still find).
running() { [ -r /proc/$1/stat ] && ! grep -q ') Z ' /proc/$1/stat 2>/dev/null; }

# stopped PID: process PID has exited.
stopped() { ! running "$1"; }

# ends PID: waits for background job PID to exit by itself (see
# wait_until), kills it if it does not, and returns its exit status.
ends() {
	wait_until stopped "$1" || kill "$1" 2>/dev/null
	wait "$1"
}

# iproute2's ip (busybox's has no netns), for the suites that make
# network namespaces.
IP=/usr/bin/ip

# netns ARGS...: `ip netns ARGS`, without the warning this kernel (no
# CONFIG_FILE_LOCKING) gives for every call.
netns() {
	local rc=0
	$IP netns "$@" 2>/tmp/netns.err || rc=$?
	grep -v "could not flock" /tmp/netns.err >&2
	return $rc
}

# nsx NS COMMAND...: runs COMMAND in namespace NS ("" for this one).
nsx() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then $IP netns exec "$ns" "$@"; else "$@"; fi
}

# Files where `expect` leaves a command's output and errors.
out=/tmp/out err=/tmp/err

# expect CODE COMMAND...: runs COMMAND (standard output in $out, errors in
# $err) and requires exit code CODE; on a mismatch shows both as
# diagnostics and fails.
expect() {
	local code=$1 rc=0
	shift
	"$@" >$out 2>$err || rc=$?
	[ "$rc" = "$code" ] && return 0
	diag "'$*' exited $rc, expected $code"
	sed 's/^/#   out: /' $out | head -20
	sed 's/^/#   err: /' $err | head -20
	return 1
}

# result STATUS NAME: reports test NAME as passed when STATUS is 0.
result() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2" "see diagnostics"; fi; }

# equals TEXT: the last `expect`'s output is exactly TEXT.
equals() {
	[ "$(cat $out)" = "$1" ] && return 0
	diag "expected '$1', got '$(cat $out)'"
	return 1
}
