# limit: 300 (seconds this suite's VM boot may take; see docs/testing.md)
# What `make install DESTDIR=` staged into the VM's root (run-vm.sh) is a
# working installation: modprobe finds the module through modules.dep,
# the installed command runs an installed example, the man pages and
# completions are in place, and the command alone opens the prompt.
. /selftests/lib.sh
plan 7

LUNATIK=/usr/local/bin/lunatik
release=$(uname -r)

# has FILE TEXT: FILE contains TEXT (a fixed string).
has() {
	grep -qF -- "$2" "$1" && return 0
	diag "missing '$2' in $1"
	return 1
}

echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
[ -e /sys/module/lunatik ] && rmmod lunatik

r=0
for f in /lib/modules/$release/extra/lunatik.ko $LUNATIK \
	/usr/local/share/man/man1/lunatik.1 /usr/local/share/man/man1/lunatik-run.1 \
	/usr/local/share/bash-completion/completions/lunatik \
	/usr/local/share/zsh/site-functions/_lunatik \
	/usr/local/share/fish/vendor_completions.d/lunatik.fish \
	/lib/modules/lua/examples/hello.lua /lib/modules/lua/examples/dnsblock.lua; do
	[ -s "$f" ] || { r=1; diag "not installed: $f"; }
done
has /lib/modules/$release/modules.dep "extra/lunatik.ko:" &&
	has /usr/local/share/man/man1/lunatik-run.1 ".TH lunatik-run 1" &&
	has /usr/local/share/bash-completion/completions/lunatik "complete -F" || r=1
result $r installed_tree_is_complete

modprobe lunatik && [ "$(cat /sys/module/lunatik/initstate 2>/dev/null)" = live ] &&
	dmesg | grep -q "lunatik: loaded"
result $? modprobe_loads_the_installed_module

# `examples/hello` is found as /lib/modules/lua/examples/hello.lua; the
# state is named after the module, as upstream Lunatik names it.
expect 0 $LUNATIK run examples/hello && dmesg | grep -qF "lunatik: examples/hello: hello, kernel" &&
	expect 0 $LUNATIK exec examples/hello -e 'return greet("installed")' && equals "hello, installed"
result $? installed_command_runs_installed_example

expect 0 $LUNATIK --version && has $out "lunatik "
result $? version

# Without a verb: the prompt, in a state of its own, removed at the end of
# input.
printf 'return 6 * 7\nx = "a" .. "b"\nreturn x\n' >/tmp/shell.in
expect 0 $LUNATIK </tmp/shell.in && [ "$(cat $out)" = "$(printf '42\nab')" ] &&
	expect 0 $LUNATIK list --json && jq -e 'map(.name) == ["examples/hello"]' $out >/dev/null
result $? no_verb_opens_the_shell

expect 0 $LUNATIK stop examples/hello && modprobe -r lunatik && [ ! -e /sys/module/lunatik ] &&
	dmesg | grep -q "lunatik: unloaded"
result $? modprobe_r_unloads

kmemleak_clean
