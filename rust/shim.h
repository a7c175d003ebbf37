/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of lunatik.ko's core: every function the Rust crate calls in
 * the core's C shims is declared here, once (a library's shims are
 * declared in its own folder's header, such as luanetfilter/netfilter.h). The Rust side mirrors each declaration in a
 * single `extern "C"` block next to its safe wrapper.
 */
#ifndef LUNATIK_SHIM_H
#define LUNATIK_SHIM_H

#include <linux/types.h>

/* rust/cpu.c */
unsigned int lunatik_num_possible_cpus(void);
bool lunatik_cpu_possible(unsigned int cpu);
void lunatik_cond_resched(void);

/* rust/lock.c */
struct spinlock;
void lunatik_spin_lock_bh(struct spinlock *lock);
int lunatik_spin_trylock_bh(struct spinlock *lock);
void lunatik_spin_unlock_bh(struct spinlock *lock);
void lunatik_local_bh_disable(void);
void lunatik_local_bh_enable(void);

/* rust/netlink.c */
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

/* rust/script.c: script files for `require`, under /lib/modules/lua */
struct file;
struct file *lunatik_script_open(const char *rel);
loff_t lunatik_script_size(struct file *file);

/* rust/baseline.c */
void lunatik_empty_call(void);

#endif /* LUNATIK_SHIM_H */
