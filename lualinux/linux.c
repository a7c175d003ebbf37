// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel helpers behind the `linux` Lua library (lualinux/linux.rs): the
 * functions they use are inline or macros.
 */
#include <linux/cpumask.h>
#include <linux/netdevice.h>
#include <linux/timekeeping.h>

#include "linux.h"

u64 lunatik_time_ns(void)
{
	return ktime_get_real_ns();
}

int lunatik_ifindex(struct net *net, const char *name)
{
	struct net_device *dev = dev_get_by_name(net, name);
	int index;

	if (!dev)
		return 0;
	index = dev->ifindex;
	dev_put(dev);
	return index;
}

unsigned int lunatik_num_online_cpus(void)
{
	return num_online_cpus();
}
