/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of lualinux/linux.c behind the `linux` Lua library, declared
 * once; lualinux/linux.rs mirrors them in one `extern "C"` block.
 */
#ifndef LUNATIK_LINUX_H
#define LUNATIK_LINUX_H

#include <linux/types.h>

struct net;
u64 lunatik_time_ns(void);
int lunatik_ifindex(struct net *net, const char *name);
unsigned int lunatik_num_online_cpus(void);

#endif /* LUNATIK_LINUX_H */
