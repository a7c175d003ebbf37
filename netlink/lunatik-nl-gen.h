/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	netlink/lunatik.yaml */
/* YNL-GEN kernel header */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#ifndef _LINUX_LUNATIK_GEN_H
#define _LINUX_LUNATIK_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/lunatik.h>

int lunatik_nl_new_doit(struct sk_buff *skb, struct genl_info *info);
int lunatik_nl_del_doit(struct sk_buff *skb, struct genl_info *info);
int lunatik_nl_get_doit(struct sk_buff *skb, struct genl_info *info);
int lunatik_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int lunatik_nl_run_doit(struct sk_buff *skb, struct genl_info *info);
int lunatik_nl_ns_get_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	LUNATIK_NLGRP_EVENTS,
};

extern struct genl_family lunatik_nl_family;

#endif /* _LINUX_LUNATIK_GEN_H */
