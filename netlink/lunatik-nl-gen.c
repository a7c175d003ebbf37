// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	netlink/lunatik.yaml */
/* YNL-GEN kernel source */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "lunatik-nl-gen.h"

#include <uapi/linux/lunatik.h>

/* LUNATIK_CMD_NEW - do */
static const struct nla_policy lunatik_new_nl_policy[LUNATIK_A_UNLIMITED + 1] = {
	[LUNATIK_A_NAME] = { .type = NLA_NUL_STRING, .len = LUNATIK_NAME_MAX, },
	[LUNATIK_A_CONTEXT] = NLA_POLICY_MAX(NLA_U32, 1),
	[LUNATIK_A_MEMORY] = { .type = NLA_UINT, },
	[LUNATIK_A_BUDGET] = { .type = NLA_UINT, },
	[LUNATIK_A_PERCPU] = { .type = NLA_FLAG, },
	[LUNATIK_A_UNLIMITED] = { .type = NLA_FLAG, },
};

/* LUNATIK_CMD_DEL - do */
static const struct nla_policy lunatik_del_nl_policy[LUNATIK_A_NAME + 1] = {
	[LUNATIK_A_NAME] = { .type = NLA_NUL_STRING, .len = LUNATIK_NAME_MAX, },
};

/* LUNATIK_CMD_GET - do */
static const struct nla_policy lunatik_get_nl_policy[LUNATIK_A_NAME + 1] = {
	[LUNATIK_A_NAME] = { .type = NLA_NUL_STRING, .len = LUNATIK_NAME_MAX, },
};

/* LUNATIK_CMD_RUN - do */
static const struct nla_policy lunatik_run_nl_policy[LUNATIK_A_SOURCE + 1] = {
	[LUNATIK_A_NAME] = { .type = NLA_NUL_STRING, .len = LUNATIK_NAME_MAX, },
	[LUNATIK_A_CHUNK_NAME] = { .type = NLA_NUL_STRING, .len = LUNATIK_CHUNK_NAME_MAX, },
	[LUNATIK_A_SOURCE] = NLA_POLICY_MAX_LEN(LUNATIK_SOURCE_PIECE_MAX),
};

/* Ops table for lunatik */
static const struct genl_split_ops lunatik_nl_ops[] = {
	{
		.cmd		= LUNATIK_CMD_NEW,
		.doit		= lunatik_nl_new_doit,
		.policy		= lunatik_new_nl_policy,
		.maxattr	= LUNATIK_A_UNLIMITED,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= LUNATIK_CMD_DEL,
		.doit		= lunatik_nl_del_doit,
		.policy		= lunatik_del_nl_policy,
		.maxattr	= LUNATIK_A_NAME,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= LUNATIK_CMD_GET,
		.doit		= lunatik_nl_get_doit,
		.policy		= lunatik_get_nl_policy,
		.maxattr	= LUNATIK_A_NAME,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= LUNATIK_CMD_GET,
		.dumpit	= lunatik_nl_get_dumpit,
		.flags	= GENL_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= LUNATIK_CMD_RUN,
		.doit		= lunatik_nl_run_doit,
		.policy		= lunatik_run_nl_policy,
		.maxattr	= LUNATIK_A_SOURCE,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= LUNATIK_CMD_NS_GET,
		.doit	= lunatik_nl_ns_get_doit,
		.flags	= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group lunatik_nl_mcgrps[] = {
	[LUNATIK_NLGRP_EVENTS] = { "events", },
};

struct genl_family lunatik_nl_family __ro_after_init = {
	.name		= LUNATIK_FAMILY_NAME,
	.version	= LUNATIK_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= lunatik_nl_ops,
	.n_split_ops	= ARRAY_SIZE(lunatik_nl_ops),
	.mcgrps		= lunatik_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(lunatik_nl_mcgrps),
};
