#!/usr/bin/env bash
# Configures and builds a kernel into the cache, or reuses a finished build
# with the same key. Prints the build directory on standard output.
#
#   scripts/kernel.sh          the selftest kernel: tinyconfig + selftests/config
#   scripts/kernel.sh bench    the bench kernel: the same, then
#                              selftests/bench.config (no debug checkers)
set -euo pipefail
. "$(dirname "$0")/env.sh"

flavour=${1:-selftest}
read -r -a fragments <<<"$(kernel_fragments "$flavour")"

"$(dirname "$0")/kernel-source.sh"
build=$(kernel_build_dir "$flavour")
if [ -f "$build/.lunatik-built" ]; then
	echo "$build"
	exit 0
fi

make_kernel() {
	make -C "$KERNEL_SRC" O="$build" LLVM="$LLVM_SUFFIX" "$@"
}

log "configuring the $flavour kernel in $build"
mkdir -p "$build"
make_kernel -s tinyconfig >&2
"$KERNEL_SRC/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${fragments[@]}" >/dev/null
make_kernel -s olddefconfig >&2

# Kconfig drops options whose dependencies are unmet without a word; the
# tests rely on every one of them, so a dropped option stops the build here.
# A later fragment overrides an earlier one, so only the last word on each
# option is checked.
wanted() {
	awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { opt = $0; sub(/=.*/, "", opt) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { opt = $2 }
	opt != "" { if (!(opt in line)) order[n++] = opt; line[opt] = $0; opt = "" }
	END { for (i = 0; i < n; i++) print line[order[i]] }
	' "${fragments[@]}"
}
dropped=0
while read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" "$build/.config" || { echo "dropped: $line" >&2; dropped=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" "$build/.config" && { echo "still set: $opt" >&2; dropped=1; } ;;
	esac
done < <(wanted)
[ "$dropped" = 0 ] || die "the kernel configuration lost options from ${fragments[*]} (see above)"

case "$flavour" in
selftest) log "building the kernel (30 to 40 minutes on 2 cores with the debug options of selftests/config)" ;;
*) log "building the $flavour kernel (10 to 15 minutes on 2 cores)" ;;
esac
make_kernel -j"$(nproc)" >&2
touch "$build/.lunatik-built"
echo "$build"
