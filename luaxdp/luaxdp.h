/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between luaxdp/kfunc.c (the kfuncs, which must be C to
 * carry BTF) and luaxdp/xdp.rs (the Rust side they call), declared once.
 */
#ifndef LUNATIK_LUAXDP_H
#define LUNATIK_LUAXDP_H

#include <linux/types.h>

struct net;

/* luaxdp/kfunc.c: registers the kfunc set for XDP programs (module init). */
int lunatik_xdp_register_kfuncs(void);

/*
 * luaxdp/xdp.rs: runs the function `xdp.attach` set in the softirq state
 * `name` (name_len bytes, no NUL) of `net` on the packet bytes
 * data[0..data_len) and the argument arg[0..arg_len); returns its XDP
 * action or a negative errno (docs/xdp.md, "Verdicts").
 */
int lunatik_xdp_run(struct net *net, const char *name, size_t name_len,
		    void *data, size_t data_len, void *arg, size_t arg_len);

#endif /* LUNATIK_LUAXDP_H */
