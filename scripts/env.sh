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

export PATH=$HOME/.cargo/bin:$PATH
export LIBCLANG_PATH=/usr/lib/llvm$LLVM_SUFFIX/lib

# The build tree is keyed by everything that makes a module built against it
# incompatible: the fragment, the kernel version and the compilers.
kernel_build_dir() {
	local key
	key=$( {
		cat "$CONFIG_FRAGMENT"
		echo "$KERNEL_PKG_VERSION"
		rustc --version
		"clang$LLVM_SUFFIX" --version | sed -n 1p
		bindgen --version
	} | sha256sum | cut -c1-12)
	echo "$CACHE_DIR/linux-$KERNEL_VERSION-$key"
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
