// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter hooks bound to a network device, for luanetfilter/device.rs
 * (docs/netfilter.md, "Hooks on a device"). The kernel keeps such hooks in
 * the device itself (dev->nf_hooks_ingress, _egress) and does not remove
 * them when the device goes away: its owner must, on NETDEV_UNREGISTER,
 * as nf_tables does. So each binding holds a reference to the device
 * and listens to the device events of the state's namespace; when its
 * device is unregistered (deleted, or moved to another namespace) it
 * unregisters the hook and lets the device go. RTNL orders the two:
 * the event runs under it, and so do the binding's registration and
 * release, so the device is hooked and held exactly while `dev` is set.
 * The hook's nf_hook_ops and private data belong to luanetfilter/kernel.rs,
 * which frees them a grace period after the hook left netfilter.
 */
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "device.h"

struct lunatik_nf_dev {
	struct notifier_block nb;
	struct net *net;
	struct nf_hook_ops *ops;
	/* Held and hooked while set; changed under RTNL only. */
	struct net_device *dev;
	netdevice_tracker tracker;
	/* The device went away while hooked. */
	bool gone;
};

/* Under RTNL, with d->dev set: unhooks and lets the device go. */
static void lunatik_nf_dev_release(struct lunatik_nf_dev *d)
{
	nf_unregister_net_hook(d->net, d->ops);
	netdev_put(d->dev, &d->tracker);
	d->dev = NULL;
}

static int lunatik_nf_dev_event(struct notifier_block *nb, unsigned long event,
				void *ptr)
{
	struct lunatik_nf_dev *d = container_of(nb, struct lunatik_nf_dev, nb);

	/* Also sent, in the old namespace, when the device moves out. */
	if (event != NETDEV_UNREGISTER || !d->dev ||
	    netdev_notifier_info_to_dev(ptr) != d->dev)
		return NOTIFY_DONE;
	lunatik_nf_dev_release(d);
	WRITE_ONCE(d->gone, true);
	return NOTIFY_DONE;
}

int lunatik_nf_dev_hook(struct net *net, struct nf_hook_ops *ops, const char *name,
			struct lunatik_nf_dev **out)
{
	struct lunatik_nf_dev *d = kzalloc(sizeof(*d), GFP_KERNEL);
	struct net_device *dev;
	int err;

	if (!d)
		return -ENOMEM;
	d->nb.notifier_call = lunatik_nf_dev_event;
	d->net = net;
	d->ops = ops;
	/* Listening first: an unregistration after the checks below is seen. */
	err = register_netdevice_notifier_net(net, &d->nb);
	if (err)
		goto free;
	rtnl_lock();
	dev = netdev_get_by_name(net, name, &d->tracker, GFP_KERNEL);
	err = -ENODEV;
	if (!dev)
		goto unlock;
	/* Found by name while its unregistration had begun: its event is over. */
	if (dev->reg_state != NETREG_REGISTERED)
		goto put;
	ops->dev = dev;
	err = nf_register_net_hook(net, ops);
	if (err)
		goto put;
	d->dev = dev;
	rtnl_unlock();
	*out = d;
	return 0;
put:
	netdev_put(dev, &d->tracker);
unlock:
	rtnl_unlock();
	unregister_netdevice_notifier_net(net, &d->nb);
free:
	kfree(d);
	return err;
}

void lunatik_nf_dev_unhook(struct lunatik_nf_dev *d)
{
	rtnl_lock();
	if (d->dev)
		lunatik_nf_dev_release(d);
	rtnl_unlock();
	/* Replays NETDEV_UNREGISTER for every device: dev is NULL now. */
	unregister_netdevice_notifier_net(d->net, &d->nb);
}

bool lunatik_nf_dev_gone(const struct lunatik_nf_dev *d)
{
	return READ_ONCE(d->gone);
}

void lunatik_nf_dev_free(struct lunatik_nf_dev *d)
{
	kfree(d);
}
