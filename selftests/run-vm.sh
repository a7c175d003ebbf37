#!/usr/bin/env bash
# run-vm.sh MODE KDIR: boots the selftest VM (QEMU, TCG, 2 vCPUs, no network)
# with KDIR's bzImage and an initramfs holding busybox, lunatik.ko, the
# lunatik CLI, iproute2's genl (an outside client of the family), the
# suites and the examples (also under /lib/modules/lua, where Lunatik
# looks for scripts), and what `make install DESTDIR=` stages (the module
# under /lib/modules/RELEASE/extra, /usr/local/bin/lunatik, man pages,
# completions, /lib/modules/lua/examples).
#   check  run the suites; vmtest judges the KTAP and console logs
#   demo   run examples/demo.sh on the terminal
#   bench  run selftests/bench.sh on the terminal
#   shell  an interactive shell on the terminal
# Logs of the last run stay in build/vm/: in check mode one folder per
# suite (build/vm/SUITE/{ktap,console}.log), since each suite boots the VM
# once under the time limit its file declares (a line "# limit: SECONDS",
# see docs/testing.md), and build/vm/runs.tsv lists the boots for vmtest.
# LUNATIK_VM_TIMEOUT (seconds) bounds a demo or bench run (default 1200)
# and, when set, replaces every suite's limit. LUNATIK_SUITES (a
# space-separated list of suite name prefixes, such as "03") runs only
# those suites. LUNATIK_VM_SMP (default 2) is the number of vCPUs and
# LUNATIK_VM_QEMU_ARGS adds QEMU options; LUNATIK_VM_HOST_CPUS (a CPU
# list for taskset, such as "0") runs QEMU on those host CPUs only, so the
# VM can be slowed on purpose (docs/testing.md).
# LUNATIK_UPSTREAM, the path of a Lunatik checkout, puts its
# examples/filter/sni.lua, unmodified, where `lunatik run
# examples/filter/sni` finds it (suite 08-xdp); without it a stand-in of
# this project's with the same behaviour (selftests/fixtures/) is there.
# Its examples/dnsblock/{nf_dnsblock,common}.lua, unmodified, replace the
# installed pair of this project's (suite 11-require).
# LUNATIK_FUZZ_SEED sets the first seed of the Lua API fuzzer's suite
# (06-fuzz), to replay a run; by default it derives one from the time.
# LUNATIK_KO is the module to load (default: the repository's lunatik.ko;
# scripts/bench.sh gives the one built against the bench kernel), and
# LUNATIK_VM_OVERLAY a directory copied over the initramfs (the staged
# upstream Lunatik of `make bench LUNATIK_UPSTREAM=...`).
# LUNATIK_BENCH_ONLY (a space-separated list of bench.d section name
# prefixes, such as "examples") makes a bench VM run only those sections.
# LUNATIK_BENCH_PROFILE=1 adds perf to a bench VM, which then profiles
# the packet path (selftests/bench.sh).
set -euo pipefail
mode=${1:?usage: run-vm.sh check|demo|bench|shell KDIR}
kdir=${2:?usage: run-vm.sh check|demo|bench|shell KDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/build/vm
timeout_s=${LUNATIK_VM_TIMEOUT:-1200}
smp=${LUNATIK_VM_SMP:-2}
read -r -a extra_qemu <<<"${LUNATIK_VM_QEMU_ARGS:-}"

kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "error: no kernel image at $kernel" >&2; exit 1; }
ko=${LUNATIK_KO:-$repo/lunatik.ko}
[ -f "$ko" ] || { echo "error: $ko is not built (run make)" >&2; exit 1; }
cli=$repo/target/release/lunatik
[ -x "$cli" ] || { echo "error: the lunatik CLI is not built (run make cli)" >&2; exit 1; }
# The suites' traffic generators, netlink fuzzer and fault injector
# (selftests/tools),
# which make cli builds with the CLI.
for tool in tcp udp dns genl-fuzz fail-nth; do
	[ -x "$repo/target/release/lunatik-$tool" ] ||
		{ echo "error: lunatik-$tool is not built (run make cli)" >&2; exit 1; }
done

# The initramfs: a fresh tree each run, so nothing stale is tested.
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules/lua/examples/filter,lib/bpf,selftests/suites,selftests/fuzz,selftests/bench.d,selftests/bench-lua,examples,usr/bin}
cp "$(command -v busybox)" "$root/bin/busybox"

# A dynamically linked host binary and the libraries it needs, at the
# paths the host has them.
install_bin() {
	local lib
	cp -L "$1" "$root/usr/bin/"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
install_bin "$cli"
install_bin "$repo/target/release/lunatik-genl-fuzz"
install_bin "$repo/target/release/lunatik-udp"
install_bin "$repo/target/release/lunatik-dns"
install_bin "$repo/target/release/lunatik-fail-nth"
if [ "$mode" = bench ]; then
	install_bin "$repo/target/release/lunatik-lua-bench"
	cp "$repo"/selftests/bench-lua/*.lua "$root/selftests/bench-lua/"
	cp "$repo/selftests/upstream.sh" "$root/selftests/"
	# LUNATIK_BENCH_PROFILE=1: perf, to profile the packet path.
	if [ -n "${LUNATIK_BENCH_PROFILE:-}" ]; then
		install_bin "$(command -v perf)"
		touch "$root/selftests/profile"
	fi
fi
install_bin "$repo/target/release/lunatik-tcp"
# genl and jq fall back to where Debian puts them when PATH lacks sbin.
install_bin "$(command -v genl || echo /usr/sbin/genl)"
# iproute2's ip, for network namespaces (busybox's has no netns); busybox
# keeps /sbin/ip, this one is /usr/bin/ip.
install_bin /sbin/ip
install_bin "$(command -v jq || echo /usr/bin/jq)"
# An unprivileged user for the permission tests.
mkdir -p "$root/etc"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cp "$repo/selftests/init" "$root/init"
cp "$ko" "$root/lib/modules/lunatik.ko"
cp "$repo/selftests/lib.sh" "$repo/selftests/bench.sh" "$repo/selftests/xdp-frames.sh" "$root/selftests/"
cp "$repo"/selftests/bench.d/*.sh "$root/selftests/bench.d/" 2>/dev/null || true
cp "$repo"/selftests/suites/*.sh "$root/selftests/suites/"
cp "$repo"/selftests/fuzz/*.lua "$root/selftests/fuzz/"
cp -r "$repo"/examples/. "$root/examples/"
cp "$repo"/examples/*.lua "$root/lib/modules/lua/" 2>/dev/null || true
# The Lua modules of lib/ (net, struct) where `make install` puts them;
# the bench VM has no installed tree.
cp "$repo"/lib/*.lua "$root/lib/modules/lua/"
# The examples' own modules (require("examples.scanblock.common")) where
# `make install` puts them; the bench VM has no installed tree.
if [ "$mode" = bench ]; then
	cp -r "$repo"/examples/. "$root/lib/modules/lua/examples/"
fi
# The eBPF programs of luaxdp/bpf (make bpf), and the script Lunatik's
# SNI program calls.
cp "$repo"/build/bpf/*.o "$root/lib/bpf/" 2>/dev/null || true
if [ -n "${LUNATIK_UPSTREAM:-}" ]; then
	cp "$LUNATIK_UPSTREAM/examples/filter/sni.lua" "$root/lib/modules/lua/examples/filter/sni.lua"
	echo upstream >"$root/lib/modules/lua/examples/filter/ORIGIN"
else
	cp "$repo/selftests/fixtures/filter-sni.lua" "$root/lib/modules/lua/examples/filter/sni.lua"
	echo fixture >"$root/lib/modules/lua/examples/filter/ORIGIN"
fi
# What `make install` lays out, staged as the VM's installed system
# (suite 10-install loads the module with modprobe and runs the installed
# command and examples): the kernel's own module lists first, as an
# installed kernel has them, so depmod finds a complete tree.
if [ "$mode" != bench ]; then
	inst=$out/install
	release=$(cat "$kdir/include/config/kernel.release")
	rm -rf "$inst"
	mkdir -p "$inst/lib/modules/$release"
	cp "$kdir"/modules.builtin "$kdir"/modules.builtin.modinfo "$kdir"/modules.order \
		"$inst/lib/modules/$release/"
	make -s -C "$repo" install DESTDIR="$inst" KDIR="$kdir" >"$out/install.log" 2>&1 ||
		{ cat "$out/install.log" >&2; echo "error: make install DESTDIR=$inst failed" >&2; exit 1; }
	cp -a "$inst/." "$root/"
fi
# With LUNATIK_UPSTREAM, upstream's own examples/dnsblock pair, unmodified,
# replaces the installed one of the same layout (suite 11-require runs
# whichever is there; ORIGIN says which).
dnsblock=$root/lib/modules/lua/examples/dnsblock
if [ -d "$dnsblock" ]; then
	if [ -n "${LUNATIK_UPSTREAM:-}" ] && [ -f "$LUNATIK_UPSTREAM/examples/dnsblock/nf_dnsblock.lua" ]; then
		cp "$LUNATIK_UPSTREAM"/examples/dnsblock/{nf_dnsblock,common}.lua "$dnsblock/"
		echo upstream >"$dnsblock/ORIGIN"
	else
		echo project >"$dnsblock/ORIGIN"
	fi
fi
chmod +x "$root/init"
[ -n "${LUNATIK_VM_OVERLAY:-}" ] && cp -r "$LUNATIK_VM_OVERLAY"/. "$root/"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

qemu=()
[ -n "${LUNATIK_VM_HOST_CPUS:-}" ] && qemu=(taskset -c "$LUNATIK_VM_HOST_CPUS")
qemu+=(
	qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$smp" -m 1G
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz"
	-nic none -display none -no-reboot "${extra_qemu[@]}"
)
# KUnit suites in the module run only where a suite selects them.
# The soft-lockup detector reports a CPU stuck for twice watchdog_thresh
# seconds: 20 s, far above any bounded entry (selftests/config has the
# other detectors' settings).
cmdline="console=ttyS0 panic=-1 oops=panic kunit.filter_glob=none watchdog_thresh=10 lunatik.mode=$mode"
suites=${LUNATIK_SUITES:-}
only=${LUNATIK_BENCH_ONLY:-}
[ -n "$only" ] && cmdline="$cmdline lunatik.bench_only=$(echo "$only" | tr ' ' ,)"
[ -n "${LUNATIK_FUZZ_SEED:-}" ] && cmdline="$cmdline lunatik.fuzzseed=$LUNATIK_FUZZ_SEED"

# selected SUITE: whether LUNATIK_SUITES picks SUITE (by name prefix).
selected() {
	[ -z "$suites" ] && return 0
	local p
	for p in $suites; do
		case "$1" in "$p"*) return 0 ;; esac
	done
	return 1
}

# suite_limit FILE: the time limit, in seconds, that suite FILE declares
# on a line "# limit: SECONDS" (or LUNATIK_VM_TIMEOUT when set).
suite_limit() {
	local limit
	limit=$(sed -n 's/^# limit: \([0-9][0-9]*\).*/\1/p' "$1" | head -1)
	[ -n "$limit" ] || { echo "error: $1 declares no '# limit: SECONDS' line" >&2; exit 1; }
	echo "${LUNATIK_VM_TIMEOUT:-$limit}"
}

# run_suites: boots the VM once per selected suite, each boot under the
# suite's own limit, so a hang or a slow suite costs its own results only;
# then vmtest judges every boot and prints the time report. A boot whose
# kernel reported a problem before the suite started (nothing of lunatik
# was loaded then) is kept as boot-N.console.log and booted again, twice
# at most; vmtest shows its report in the verdict.
run_suites() {
	local runs=$out/runs.tsv vmtest=$repo/target/debug/vmtest
	local f suite limit dir retries rc start took status
	cargo build --quiet --locked --manifest-path "$repo/Cargo.toml" -p vmtest
	: >"$runs"
	for f in "$repo"/selftests/suites/*.sh; do
		suite=$(basename "$f" .sh)
		selected "$suite" || continue
		limit=$(suite_limit "$f")
		dir=$out/$suite
		rm -rf "$dir"
		mkdir -p "$dir"
		retries=0
		while :; do
			echo "==> $suite: booting the selftest VM (limit $limit s; console: build/vm/$suite/console.log)"
			start=$(date +%s)
			rc=0
			timeout -k 10 "$limit" "${qemu[@]}" \
				-append "$cmdline loglevel=7 lunatik.suites=$suite" \
				-serial "file:$dir/console.log" -serial "file:$dir/ktap.log" \
				</dev/null || rc=$?
			took=$(($(date +%s) - start))
			if [ $retries -lt 2 ] && "$vmtest" boot-report "$dir/console.log" >"$dir/boot-report.txt"; then
				retries=$((retries + 1))
				mv "$dir/console.log" "$dir/boot-$retries.console.log"
				mv "$dir/ktap.log" "$dir/boot-$retries.ktap.log"
				echo "==> $suite: the kernel reported a problem while booting, before the suite started; booting again"
				sed 's/^/    /' "$dir/boot-report.txt"
				continue
			fi
			break
		done
		status=done
		[ "$rc" = 124 ] || [ "$rc" = 137 ] && status=timeout
		[ $status = timeout ] && echo "==> $suite: the VM was killed at its limit, after $took s"
		echo "==> $suite: $(grep -c '^ok ' "$dir/ktap.log") ok, $(grep -c '^not ok ' "$dir/ktap.log") not ok, in $took s"
		printf '%s\t%s\t%s\t%s\t%s\n' "$suite" "$limit" "$took" "$status" "$retries" >>"$runs"
	done
	"$vmtest" "$runs"
}

case "$mode" in
check)
	run_suites
	;;
demo)
	timeout "$timeout_s" "${qemu[@]}" -append "$cmdline quiet" -serial stdio </dev/null
	;;
bench)
	# kmemleak records a backtrace for every allocation, which under TCG
	# costs more than the Lua code being measured; benchmarks boot
	# without it (the selftests keep it).
	timeout "$timeout_s" "${qemu[@]}" -append "$cmdline quiet kmemleak=off" -serial stdio </dev/null
	;;
shell)
	"${qemu[@]}" -append "$cmdline quiet" -serial mon:stdio
	;;
*)
	echo "error: unknown mode '$mode'" >&2
	exit 2
	;;
esac
