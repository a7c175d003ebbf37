# The demo run by `make demo` inside the VM: load lunatik.ko, show that it
# is live, unload it. It grows as the module does.
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "lunatik-rs demo on Linux $(uname -r), $(nproc) CPUs"
step insmod /lib/modules/lunatik.ko
step cat /sys/module/lunatik/initstate
step sh -c 'dmesg | grep lunatik:'
step lsmod
step rmmod lunatik
step sh -c 'dmesg | grep lunatik: | tail -n 1'
