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
# Logs of the last run stay in build/vm/. LUNATIK_VM_TIMEOUT (seconds)
# bounds a check or demo run. LUNATIK_SUITES (a space-separated list of
# suite name prefixes, such as "03") runs only those suites.
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

kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "error: no kernel image at $kernel" >&2; exit 1; }
ko=${LUNATIK_KO:-$repo/lunatik.ko}
[ -f "$ko" ] || { echo "error: $ko is not built (run make)" >&2; exit 1; }
cli=$repo/target/release/lunatik
[ -x "$cli" ] || { echo "error: the lunatik CLI is not built (run make cli)" >&2; exit 1; }

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

qemu=(
	qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1G
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz"
	-nic none -display none -no-reboot
)
# KUnit suites in the module run only where a suite selects them.
# The soft-lockup detector reports a CPU stuck for twice watchdog_thresh
# seconds: 20 s, far above any bounded entry (selftests/config has the
# other detectors' settings).
cmdline="console=ttyS0 panic=-1 oops=panic kunit.filter_glob=none watchdog_thresh=10 lunatik.mode=$mode"
suites=${LUNATIK_SUITES:-}
[ -n "$suites" ] && cmdline="$cmdline lunatik.suites=$(echo "$suites" | tr ' ' ,)"
only=${LUNATIK_BENCH_ONLY:-}
[ -n "$only" ] && cmdline="$cmdline lunatik.bench_only=$(echo "$only" | tr ' ' ,)"
[ -n "${LUNATIK_FUZZ_SEED:-}" ] && cmdline="$cmdline lunatik.fuzzseed=$LUNATIK_FUZZ_SEED"

case "$mode" in
check)
	: >"$out/ktap.log"
	: >"$out/console.log"
	echo "==> booting the selftest VM (console: build/vm/console.log)"
	rc=0
	timeout "$timeout_s" "${qemu[@]}" -append "$cmdline loglevel=7" \
		-serial "file:$out/console.log" -serial "file:$out/ktap.log" \
		</dev/null || rc=$?
	[ "$rc" = 124 ] && echo "==> the VM was killed after ${timeout_s}s"
	cargo run --quiet --locked --manifest-path "$repo/Cargo.toml" -p vmtest -- \
		"$out/ktap.log" "$out/console.log"
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
