/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of control/netlink.c (generic netlink helpers), declared once;
 * control/genl/ mirrors them.
 */
#ifndef LUNATIK_NETLINK_H
#define LUNATIK_NETLINK_H

#include <linux/types.h>

struct genl_family;
struct genl_info;
struct net;
struct netlink_callback;
struct nlattr;
struct sk_buff;
struct net *lunatik_genl_info_net(const struct genl_info *info);
struct net *lunatik_genl_dump_net(const struct netlink_callback *cb);
int lunatik_genl_reply(struct sk_buff *skb, struct genl_info *info);
int lunatik_genl_multicast(struct genl_family *family, struct net *net,
			   struct sk_buff *skb, unsigned int group, gfp_t flags);
bool lunatik_genl_has_listeners(struct genl_family *family, struct net *net,
				unsigned int group);
u8 lunatik_genl_mcast_cap_net_admin(void);
struct nlattr *lunatik_nla_nest_start(struct sk_buff *skb, int type);
void lunatik_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
void lunatik_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start);

#endif /* LUNATIK_NETLINK_H */
