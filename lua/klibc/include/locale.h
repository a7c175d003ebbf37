/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel has one locale; lua_getlocaledecpoint() is ".". */
