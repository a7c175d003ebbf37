#!/usr/bin/env bash
# Configures and builds the selftest kernel into the cache (tinyconfig plus
# selftests/config), or reuses a finished build with the same key.
# Prints the build directory on standard output.
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$(dirname "$0")/kernel-source.sh"
build=$(kernel_build_dir)
if [ -f "$build/.lunatik-built" ]; then
	echo "$build"
	exit 0
fi

make_kernel() {
	make -C "$KERNEL_SRC" O="$build" LLVM="$LLVM_SUFFIX" "$@"
}

log "configuring the kernel in $build"
mkdir -p "$build"
make_kernel -s tinyconfig >&2
"$KERNEL_SRC/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$CONFIG_FRAGMENT" >/dev/null
make_kernel -s olddefconfig >&2

# Kconfig drops options whose dependencies are unmet without a word; the
# tests rely on every one of them, so a dropped option stops the build here.
dropped=0
while read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" "$build/.config" || { echo "dropped: $line" >&2; dropped=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" "$build/.config" && { echo "still set: $opt" >&2; dropped=1; } ;;
	esac
done <"$CONFIG_FRAGMENT"
[ "$dropped" = 0 ] || die "the kernel configuration lost options from selftests/config (see above)"

log "building the kernel (30 to 40 minutes on 2 cores with the debug options of selftests/config)"
make_kernel -j"$(nproc)" >&2
touch "$build/.lunatik-built"
echo "$build"
