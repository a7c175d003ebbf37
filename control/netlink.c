// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink helpers for the Rust side: the functions below are
 * inline in <net/genetlink.h> and <net/netlink.h>, so they get symbols
 * here. The family itself (policies, ops table, groups) is generated from
 * netlink/lunatik.yaml into netlink/lunatik-nl-gen.c.
 */
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "netlink.h"

struct net *lunatik_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct net *lunatik_genl_dump_net(const struct netlink_callback *cb)
{
	return sock_net(cb->skb->sk);
}

int lunatik_genl_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

int lunatik_genl_multicast(struct genl_family *family, struct net *net,
			   struct sk_buff *skb, unsigned int group, gfp_t flags)
{
	return genlmsg_multicast_netns(family, net, skb, 0, group, flags);
}

bool lunatik_genl_has_listeners(struct genl_family *family, struct net *net,
				unsigned int group)
{
	return genl_has_listeners(family, net, group);
}

/*
 * GENL_MCAST_CAP_NET_ADMIN is built with BIT(), which bindgen cannot
 * evaluate; the Rust side gets its value from here rather than repeating it.
 */
u8 lunatik_genl_mcast_cap_net_admin(void)
{
	return GENL_MCAST_CAP_NET_ADMIN;
}

struct nlattr *lunatik_nla_nest_start(struct sk_buff *skb, int type)
{
	return nla_nest_start(skb, type);
}

void lunatik_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_end(skb, start);
}

void lunatik_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}
