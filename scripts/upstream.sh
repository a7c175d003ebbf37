#!/usr/bin/env bash
# scripts/upstream.sh CHECKOUT KDIR OUT: builds the netfilter modules of an
# upstream Lunatik checkout (the user's own, from LUNATIK_UPSTREAM; the
# project never vendors upstream code) against the kernel in KDIR, for the
# upstream column of `make bench`, and stages what the bench VM needs in
# OUT/root: lib/modules/upstream/*.ko plus the files `api` and `version`,
# and upstream's Lua scripts under lib/modules/lua (its own
# `scripts_install` rule). The checkout itself is not touched: it is
# copied to OUT/src and built there.
set -euo pipefail
. "$(dirname "$0")/env.sh"

checkout=${1:?usage: upstream.sh CHECKOUT KDIR OUT}
kdir=${2:?usage: upstream.sh CHECKOUT KDIR OUT}
out=${3:?usage: upstream.sh CHECKOUT KDIR OUT}
checkout=$(cd "$checkout" && pwd)
[ -f "$checkout/lunatik_core.c" ] && [ -f "$checkout/Makefile" ] ||
	die "$checkout is not a Lunatik checkout (no lunatik_core.c)"
[ -f "$checkout/lua/lua.h" ] ||
	die "$checkout/lua is empty: run 'git submodule update --init' there"

version=$(git -C "$checkout" describe --tags --always --dirty 2>/dev/null || echo unknown)
log "building upstream Lunatik $version against $kdir"
rm -rf "$out"
mkdir -p "$out/src" "$out/root/lib/modules/upstream" "$out/root/lib/modules/lua"
tar -C "$checkout" --exclude=.git -cf - . | tar -C "$out/src" -xf -

# Only the modules a netfilter hook needs: the others are not measured,
# and some releases' ones no longer build against new kernels.
config=(
	CONFIG_LUNATIK=m CONFIG_LUNATIK_RUNTIME=y CONFIG_LUNATIK_RUN=m
	CONFIG_LUNATIK_DEVICE=m CONFIG_LUNATIK_LINUX=m CONFIG_LUNATIK_RCU=m
	CONFIG_LUNATIK_THREAD=m CONFIG_LUNATIK_DATA=m CONFIG_LUNATIK_SKB=m
	CONFIG_LUNATIK_NETFILTER=m
)
# Upstream assumes a GCC-built kernel (-Wimplicit-fallthrough=0), and
# older releases call strncpy, which kernel 7 dropped: selftests/upstream/
# compat.h supplies it.
kcflags="-Wno-unknown-warning-option -include $REPO_DIR/selftests/upstream/compat.h"
(
	cd "$out/src"
	make -s lunatik_sym.h >&2
	# Releases that generate Lua bindings from the kernel (4.x) need it
	# before the modules.
	if grep -q '^autogen:' Makefile; then
		make -s autogen MODULES_BUILD_PATH="$kdir" LLVM="$LLVM_SUFFIX" "${config[@]}" >&2
	fi
	make -C "$kdir" M="$PWD" LLVM="$LLVM_SUFFIX" KCFLAGS="$kcflags" "${config[@]}" \
		-j"$(nproc)" modules >&2
	make -s scripts_install SCRIPTS_INSTALL_PATH="$out/root/lib/modules/lua" \
		LUNATIK_INSTALL_PATH="$out/bin" LUA_PATH="$out/lua-path" INSTALL=install >&2
)
find "$out/src" -name '*.ko' -not -path '*/examples/*' \
	-exec cp {} "$out/root/lib/modules/upstream/" \;
[ -f "$out/root/lib/modules/upstream/luanetfilter.ko" ] || die "no luanetfilter.ko was built"

# How the bench drives this release (selftests/upstream.sh): since 4.x
# runtimes take a context name and hooks get an skb object.
api=
grep -q '"softirq"' "$out/src/lunatik_core.c" && api="$api context"
[ -f "$out/src/lib/luaskb.c" ] && api="$api skb"
echo "$api" >"$out/root/lib/modules/upstream/api"
echo "$version" >"$out/root/lib/modules/upstream/version"
log "upstream Lunatik $version staged in $out/root"
