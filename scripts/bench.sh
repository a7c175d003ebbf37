#!/usr/bin/env bash
# The host half of `make bench`: builds (on first use) and reuses the bench
# kernel (scripts/kernel.sh bench: no debug checkers), builds the module
# against it in build/bench/src, a copy of the sources, so the normal
# build in the repository is not disturbed, optionally builds the upstream
# Lunatik checkout named by LUNATIK_UPSTREAM against the same kernel
# (scripts/upstream.sh) and the modules of the revisions named by
# LUNATIK_BENCH_REVS, and boots the VM once to run selftests/bench.sh.
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
make -C "$kdir" M="$out/src" LLVM="$LLVM_SUFFIX" LUNATIK_BENCH=1 -j"$(nproc)" modules >&2

# What the VM gets besides the module: upstream's modules and scripts,
# and the modules of earlier revisions to compare with.
overlay=$out/overlay
rm -rf "$overlay"
mkdir -p "$overlay"
if [ -n "${LUNATIK_UPSTREAM:-}" ]; then
	scripts/upstream.sh "$LUNATIK_UPSTREAM" "$kdir" "$out/upstream"
	cp -r "$out/upstream/root/." "$overlay/"
fi

# LUNATIK_BENCH_REVS="NAME=REV ...": the module of each git revision, built
# against the bench kernel from `git archive` (with the Lua sources that
# revision's own patch prepares, so a change to the patch is measured
# too), measured in the same boot after the table, each against the others
# (selftests/bench.sh, "Revisions"): before/after figures for a change
# without a second boot.
if [ -n "${LUNATIK_BENCH_REVS:-}" ]; then
	mkdir -p "$overlay/lib/modules/revisions"
	n=0
	for spec in $LUNATIK_BENCH_REVS; do
		name=${spec%%=*} rev=${spec#*=}
		n=$((n + 1))
		dir=$out/rev/$name
		log "building revision $name ($rev) against the bench kernel"
		rm -rf "$dir"
		mkdir -p "$dir"
		git archive "$rev" | tar -C "$dir" -xf -
		"$dir/scripts/lua-source.sh" >&2
		make -C "$kdir" M="$dir" LLVM="$LLVM_SUFFIX" LUNATIK_BENCH=1 -j"$(nproc)" modules >&2
		# Numbered, so the VM measures them in the order given.
		cp "$dir/lunatik.ko" "$overlay/lib/modules/revisions/$(printf %02d $n)-$name.ko"
	done
fi

# The eBPF programs of the XDP section (selftests/bench.d/xdp.sh), against
# the bench kernel's BTF, so a fresh machine need not build the selftest
# kernel for them.
make --no-print-directory bpf KDIR="$kdir" >&2

LUNATIK_KO=$out/src/lunatik.ko LUNATIK_VM_OVERLAY=$overlay selftests/run-vm.sh bench "$kdir"
