/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of luanetfilter/netfilter.c and the Rust function its hook
 * calls, declared once; luanetfilter/netfilter.rs mirrors them.
 */
#ifndef LUNATIK_NETFILTER_H
#define LUNATIK_NETFILTER_H

#include <linux/types.h>

struct net;
struct sk_buff;
struct nf_hook_ops;
struct lunatik_skb_info {
	unsigned char *net;
	unsigned int net_len;
	unsigned char *mac;
	unsigned int mac_len;
	unsigned int len;
	int ifindex;
	u32 mark;
};
unsigned int lunatik_nf_hook_run(void *priv, struct sk_buff *skb);
struct nf_hook_ops *lunatik_nf_hook_new(void *priv, u8 pf, unsigned int hooknum,
					 int priority);
int lunatik_nf_hook_register(struct net *net, struct nf_hook_ops *ops);
void lunatik_nf_hook_unregister(struct net *net, struct nf_hook_ops *ops);
void lunatik_nf_hook_free(struct nf_hook_ops *ops);
int lunatik_skb_prepare(struct sk_buff *skb, struct lunatik_skb_info *info);
u32 lunatik_skb_mark(const struct sk_buff *skb);
void lunatik_skb_set_mark(struct sk_buff *skb, u32 mark);

#endif /* LUNATIK_NETFILTER_H */
