# Benchmarks inside the VM (make bench): loads the module with its KUnit
# suite lunatik_bench selected and prints the figures it logs. Under QEMU
# TCG only the ratios measured in one run mean anything.
# printf, not echo: a trailing newline would become part of the glob.
printf %s lunatik_bench >/sys/module/kunit/parameters/filter_glob
dmesg -c >/dev/null
insmod /lib/modules/lunatik.ko || exit 1
echo "lunatik-rs benchmarks ($(nproc) vCPUs, QEMU TCG):"
dmesg | sed -n 's/.*lunatik: bench: /  /p'
grep -q '^ok' /sys/kernel/debug/kunit/lunatik_bench/results 2>/dev/null ||
	echo "  (the benchmark suite failed; see the kernel log)"
rmmod lunatik
