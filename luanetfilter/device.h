/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of luanetfilter/device.c: a netfilter hook bound to a network
 * device (the netdev family, inet ingress), declared once;
 * luanetfilter/device.rs mirrors them.
 */
#ifndef LUNATIK_NF_DEVICE_H
#define LUNATIK_NF_DEVICE_H

#include <linux/types.h>

struct net;
struct nf_hook_ops;
struct lunatik_nf_dev;

int lunatik_nf_dev_hook(struct net *net, struct nf_hook_ops *ops, const char *name,
			struct lunatik_nf_dev **out);
void lunatik_nf_dev_unhook(struct lunatik_nf_dev *d);
bool lunatik_nf_dev_gone(const struct lunatik_nf_dev *d);
void lunatik_nf_dev_free(struct lunatik_nf_dev *d);

#endif /* LUNATIK_NF_DEVICE_H */
