#!/usr/bin/env bash
# Installs everything the build and the selftests need, idempotently:
# Debian packages, the rust-src component, bindgen-cli and the kernel source.
# On a machine that already has it all, this takes a few seconds.
set -euo pipefail
. "$(dirname "$0")/env.sh"

APT_PACKAGES=(
	"clang$LLVM_SUFFIX" "lld$LLVM_SUFFIX" "llvm$LLVM_SUFFIX" "libclang$LLVM_SUFFIX-dev"
	flex bison bc libelf-dev libssl-dev dwarves cpio busybox-static
	qemu-system-x86 iproute2 kmod xz-utils make gcc patch
	python3 python3-yaml python3-jsonschema jq
	bpftool libbpf-dev zlib1g-dev pkg-config
	# Building an upstream Lunatik checkout for `make bench LUNATIK_UPSTREAM=...`.
	lua5.4
)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v rustup >/dev/null || die "rustup is required (the kernel needs rustc plus rust-src)"
if ! rustup component list --installed | grep -q '^rust-src'; then
	log "adding the rust-src component"
	rustup component add rust-src
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	log "installing bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --version "=$BINDGEN_VERSION" bindgen-cli
fi

"$(dirname "$0")/kernel-source.sh"
