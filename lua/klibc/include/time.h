/* SPDX-License-Identifier: GPL-2.0 */
/* Lua's time uses are all replaced (see luai_makeseed in lua/luaconf.h). */
#ifndef LUNATIK_TIME_H
#define LUNATIK_TIME_H
#include <linux/types.h>
#endif
