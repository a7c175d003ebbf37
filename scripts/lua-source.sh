#!/usr/bin/env bash
# Prepares the Lua sources the module and the host tests compile:
# takes Lua 5.5.1 from the lua-src crate (cargo fetches it from crates.io),
# copies it to build/lua/src, puts lua/luaconf.h in place of Lua's own
# (kept as luaconf.upstream.h, which ours includes) and applies
# lua/lua-5.5.1-kernel.patch. No Lua source is ever committed.
# Quick when the copy is current.
set -euo pipefail
. "$(dirname "$0")/env.sh"

LUA_VERSION=5.5.1
dest=$REPO_DIR/build/lua/src
key=$(cat "$REPO_DIR/lua/luaconf.h" "$REPO_DIR/lua/lua-$LUA_VERSION-kernel.patch" "$REPO_DIR/Cargo.lock" | sha256sum | cut -c1-16)
[ "$(cat "$dest/.lunatik-key" 2>/dev/null)" = "$key" ] && exit 0

# The lua-src package is a build dependency of the host crate lua/host;
# cargo metadata downloads it if needed and says where it was unpacked.
manifest=$(cargo metadata --format-version 1 --locked --manifest-path "$REPO_DIR/Cargo.toml" |
	grep -o '"manifest_path":"[^"]*/lua-src-[0-9.]*/Cargo.toml"' | sed -n 1p | cut -d'"' -f4)
src=$(dirname "$manifest")/lua-$LUA_VERSION
[ -f "$src/lua.h" ] || die "Lua $LUA_VERSION sources not found in the lua-src crate ($manifest)"

log "preparing Lua $LUA_VERSION sources in build/lua/src"
rm -rf "$dest"
mkdir -p "$dest"
cp "$src"/*.c "$src"/*.h "$dest/"
mv "$dest/luaconf.h" "$dest/luaconf.upstream.h"
cp "$REPO_DIR/lua/luaconf.h" "$dest/luaconf.h"
patch -s -p1 -d "$dest" <"$REPO_DIR/lua/lua-$LUA_VERSION-kernel.patch"
echo "$key" >"$dest/.lunatik-key"
