#!/usr/bin/env bash
# run-vm.sh MODE KDIR: boots the selftest VM (QEMU, TCG, 2 vCPUs, no network)
# with KDIR's bzImage and an initramfs holding busybox, lunatik.ko, the
# suites and the examples.
#   check  run the suites; vmtest judges the KTAP and console logs
#   demo   run examples/demo.sh on the terminal
#   bench  run selftests/bench.sh on the terminal
#   shell  an interactive shell on the terminal
# Logs of the last run stay in build/vm/. LUNATIK_VM_TIMEOUT (seconds)
# bounds a check or demo run.
set -euo pipefail
mode=${1:?usage: run-vm.sh check|demo|bench|shell KDIR}
kdir=${2:?usage: run-vm.sh check|demo|bench|shell KDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/build/vm
timeout_s=${LUNATIK_VM_TIMEOUT:-1200}

kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || { echo "error: no kernel image at $kernel" >&2; exit 1; }
[ -f "$repo/lunatik.ko" ] || { echo "error: lunatik.ko is not built (run make)" >&2; exit 1; }

# The initramfs: a fresh tree each run, so nothing stale is tested.
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,selftests/suites,examples}
cp "$(command -v busybox)" "$root/bin/busybox"
cp "$repo/selftests/init" "$root/init"
cp "$repo/lunatik.ko" "$root/lib/modules/"
cp "$repo/selftests/lib.sh" "$repo/selftests/bench.sh" "$root/selftests/"
cp "$repo"/selftests/suites/*.sh "$root/selftests/suites/"
cp -r "$repo"/examples/. "$root/examples/"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

qemu=(
	qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1G
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz"
	-nic none -display none -no-reboot
)
# KUnit suites in the module run only where a suite selects them.
cmdline="console=ttyS0 panic=-1 oops=panic kunit.filter_glob=none lunatik.mode=$mode"

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
demo | bench)
	timeout "$timeout_s" "${qemu[@]}" -append "$cmdline quiet" -serial stdio </dev/null
	;;
shell)
	"${qemu[@]}" -append "$cmdline quiet" -serial mon:stdio
	;;
*)
	echo "error: unknown mode '$mode'" >&2
	exit 2
	;;
esac
