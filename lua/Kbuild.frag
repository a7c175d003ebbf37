# SPDX-License-Identifier: GPL-2.0
#
# The Lua core's C: Lua 5.5.1 itself and the project's additions to it.
#
# Lua's sources are prepared in build/lua/src by scripts/lua-source.sh (the
# Makefile runs it before Kbuild). They see the project's luaconf.h and the
# klibc headers in place of a C library, and nothing else of ours.
include $(src)/lua/units.mk
lunatik-y += \
	$(addprefix build/lua/src/,$(addsuffix .o,$(LUA_UNITS))) \
	lua/lunatik_number.o \
	lua/lunatik_cstack.o \
	lua/lunatik_work.o \
	lua/klibc/klibc.o \
	lua/klibc/setjmp_64.o

# -O2 whatever the kernel's own choice (tinyconfig, and so both VM kernels,
# picks -Os): the interpreter loop is the hot path of every script, and the
# host build (lua/build.rs) uses -O2 too, so both have the same frames.
lua_cflags := -DLUNATIK_KERNEL -I$(src)/build/lua/src -I$(src)/lua/klibc/include \
	-Wno-implicit-fallthrough -O2
lua_c_objs := $(addprefix build/lua/src/,$(LUA_UNITS)) lua/lunatik_number lua/lunatik_cstack lua/lunatik_work \
	lua/klibc/klibc
$(foreach o,$(lua_c_objs),$(eval CFLAGS_$(o).o += $(lua_cflags)))
# lauxlib's error functions, declared noreturn by the patch, end in
# `return luaL_error(...)`: unreachable, but clang flags the return.
CFLAGS_build/lua/src/lauxlib.o += -Wno-invalid-noreturn

# setjmp/longjmp move the stack pointer in ways objtool cannot follow.
OBJECT_FILES_NON_STANDARD_lua/klibc/setjmp_64.o := y
