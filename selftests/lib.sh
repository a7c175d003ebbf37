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
