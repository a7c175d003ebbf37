/* SPDX-License-Identifier: GPL-2.0 */
/* Lua numbers are integers in the kernel: no floating-point attribute
 * is needed (see l_floatatt in lua/luaconf.h). */
