# Shared settings for the build scripts; sourced, never run.
# Every path the project writes outside the repository is derived here.

KERNEL_PKG=linux-source-7.3
KERNEL_PKG_VERSION='7.3.4-1~bpo13+1'
KERNEL_SUITE=trixie-backports
KERNEL_VERSION=7.3.4
BINDGEN_VERSION=0.73.2
LLVM_SUFFIX=-19

CACHE_DIR=${LUNATIK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lunatik-rs}
KERNEL_SRC=$CACHE_DIR/linux-$KERNEL_VERSION

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_FRAGMENT=$REPO_DIR/selftests/config
# The bench kernel: selftests/config with the debug options turned off.
BENCH_FRAGMENT=$REPO_DIR/selftests/bench.config

export PATH=$HOME/.cargo/bin:$PATH
export LIBCLANG_PATH=/usr/lib/llvm$LLVM_SUFFIX/lib

# The configuration fragments of a kernel flavour, merged in this order:
# "selftest" (the default, with the debug checkers) or "bench".
kernel_fragments() {
	case "${1:-selftest}" in
	selftest) echo "$CONFIG_FRAGMENT" ;;
	bench) echo "$CONFIG_FRAGMENT $BENCH_FRAGMENT" ;;
	*) die "unknown kernel flavour: $1" ;;
	esac
}

# The build tree is keyed by everything that makes a module built against it
# incompatible: the fragments, the kernel version and the compilers. The
# selftest key hashes selftests/config alone, so adding flavours did not
# move its cache.
kernel_build_dir() {
	local flavour=${1:-selftest} key prefix=
	[ "$flavour" = selftest ] || prefix=$flavour-
	key=$( {
		# shellcheck disable=SC2046 # fragment paths hold no spaces
		cat $(kernel_fragments "$flavour")
		echo "$KERNEL_PKG_VERSION"
		rustc --version
		"clang$LLVM_SUFFIX" --version | sed -n 1p
		bindgen --version
	} | sha256sum | cut -c1-12)
	echo "$CACHE_DIR/linux-$KERNEL_VERSION-$prefix$key"
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
