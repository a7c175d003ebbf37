#!/usr/bin/env bash
# The host half of `make bench`: builds (on first use) and reuses the bench
# kernel (scripts/kernel.sh bench: no debug checkers), builds the module
# against it in build/bench/src, a copy of the sources, so the normal
# build in the repository is not disturbed, optionally builds the upstream
# Lunatik checkout named by LUNATIK_UPSTREAM against the same kernel
# (scripts/upstream.sh), and boots the VM once to run selftests/bench.sh.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$REPO_DIR"

kdir=$(scripts/kernel.sh bench)
out=$REPO_DIR/build/bench

# Kbuild builds an external module in its source tree (and refuses a
# separate output tree once the repository has objects of its own), so
# the bench build gets its own copy: the files git knows, as they are
# now, and the prepared Lua sources (a fresh copy each time: a file moved
# or deleted in the repository must not linger in it).
log "building the module against the bench kernel in build/bench/src"
rm -rf "$out/src"
mkdir -p "$out/src"
{
	git ls-files -co --exclude-standard
	find build/lua/src -type f
} | tar -cf - -T - | tar -C "$out/src" -xf -
make -C "$kdir" M="$out/src" LLVM="$LLVM_SUFFIX" -j"$(nproc)" modules >&2

overlay=
if [ -n "${LUNATIK_UPSTREAM:-}" ]; then
	scripts/upstream.sh "$LUNATIK_UPSTREAM" "$kdir" "$out/upstream"
	overlay=$out/upstream/root
fi

LUNATIK_KO=$out/src/lunatik.ko LUNATIK_VM_OVERLAY=$overlay selftests/run-vm.sh bench "$kdir"
