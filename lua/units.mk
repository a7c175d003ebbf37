# SPDX-License-Identifier: GPL-2.0
#
# The Lua 5.5.1 units lunatik.ko links (the core and the libraries DESIGN.md
# section 4 lists; no io, os, math (ours is in Rust), debug or loadlib).
# Kbuild includes this file and lua/build.rs reads it, so the module and the
# host tests always compile the same list.
LUA_UNITS := lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject \
	lopcodes lparser lstate lstring ltable ltm lundump lvm lzio \
	lauxlib lbaselib lcorolib lstrlib ltablib lutf8lib
