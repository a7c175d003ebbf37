// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter glue for luanetfilter/kernel.rs: struct nf_hook_ops is not in
 * the Rust bindings, and the skb helpers are inline. A hook is an
 * nf_hook_ops whose function and priv are the Rust side's (a
 * Registration's hook function and its private data).
 */
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "netfilter.h"

struct nf_hook_ops *lunatik_nf_hook_new(void *priv, nf_hookfn *hook, u8 pf,
					 unsigned int hooknum, int priority)
{
	struct nf_hook_ops *ops = kzalloc(sizeof(*ops), GFP_KERNEL);

	if (!ops)
		return NULL;
	ops->hook = hook;
	ops->priv = priv;
	ops->pf = pf;
	ops->hooknum = hooknum;
	ops->priority = priority;
	return ops;
}

int lunatik_nf_hook_register(struct net *net, struct nf_hook_ops *ops)
{
	return nf_register_net_hook(net, ops);
}

void lunatik_nf_hook_unregister(struct net *net, struct nf_hook_ops *ops)
{
	nf_unregister_net_hook(net, ops);
}

void lunatik_nf_hook_free(struct nf_hook_ops *ops)
{
	kfree(ops);
}

int lunatik_skb_prepare(struct sk_buff *skb, struct lunatik_skb_info *info)
{
	unsigned char *tail;

	/* Views need the bytes in one piece. */
	if (skb_linearize(skb))
		return -ENOMEM;
	tail = skb_tail_pointer(skb);
	info->len = skb->len;
	/* IP hooks run after the network header is set; stay inside the
	 * buffer whatever it says.
	 */
	info->net = skb_network_header(skb);
	if (info->net < skb->head || info->net > tail)
		info->net = skb->data;
	info->net_len = tail > info->net ? tail - info->net : 0;
	if (skb_mac_header_was_set(skb) && skb_mac_header(skb) < tail) {
		info->mac = skb_mac_header(skb);
		info->mac_len = tail - info->mac;
	} else {
		info->mac = NULL;
		info->mac_len = 0;
	}
	info->ifindex = skb->dev ? skb->dev->ifindex : skb->skb_iif;
	info->mark = skb->mark;
	return 0;
}

u32 lunatik_skb_mark(const struct sk_buff *skb)
{
	return skb->mark;
}

void lunatik_skb_set_mark(struct sk_buff *skb, u32 mark)
{
	skb->mark = mark;
}
