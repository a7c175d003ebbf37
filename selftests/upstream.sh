# Upstream Lunatik inside the bench VM (sourced by selftests/bench.sh):
# scripts/upstream.sh staged the user's checkout, built against the bench
# kernel, under /lib/modules/upstream (modules, and the file `api`) and
# its Lua scripts under /lib/modules/lua. Upstream is driven through its
# own control device, /dev/lunatik, which runs each chunk written to it in
# its "driver" runtime and keeps the result for the next read.

# The modules a netfilter hook needs, dependencies first where known.
UP_MODULES="lunatik luadevice lualinux luarcu luathread luadata luaskb luanetfilter lunatik_run"

# up_do CHUNK: runs CHUNK in the driver runtime, prints its result.
up_do() {
	printf %s "$1" >/dev/lunatik && cat /dev/lunatik
}

# up_load: loads the modules (passes until none is left that loads, so the
# order of dependencies need not be known) and starts the runner.
up_load() {
	local pass m progress
	for pass in 1 2 3 4 5 6; do
		progress=0
		for m in $UP_MODULES; do
			[ -f "$UP/$m.ko" ] || continue
			grep -q "^$m " /proc/modules && continue
			insmod "$UP/$m.ko" 2>/dev/null && progress=1
		done
		[ $progress = 1 ] || break
	done
	[ -c /dev/lunatik ] || return 1
	up_do 'lunatik = require("lunatik") lunatik.runner = require("lunatik.runner") lunatik.runner.startup()'
}

# up_context: the runner's argument for a softirq runtime: the context's
# name since 4.x, `false` (not sleepable) before.
up_context() {
	grep -q context "$UP/api" && echo '"softirq"' || echo false
}

# up_view: how a hook reaches the network header: an skb object since
# 4.x, the packet's data object itself before.
up_view() {
	grep -q skb "$UP/api" && echo 'skb:data("net")' || echo skb
}

# up_run SCRIPT / up_stop SCRIPT: a script of /lib/modules/lua in a
# softirq runtime of its own.
up_run() {
	local out
	out=$(up_do "lunatik.runner.run('$1', $(up_context))")
	[ -z "$out" ] || echo "upstream run $1: $out" >&2
}
up_stop() {
	up_do "lunatik.runner.stop('$1')" >/dev/null
}

# up_unload: stops every runtime and unloads the modules, last first.
up_unload() {
	local m list=
	up_do 'lunatik.runner.shutdown()' >/dev/null
	for m in $UP_MODULES; do list="$m $list"; done
	for m in $list; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
	return 0
}
