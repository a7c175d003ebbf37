// SPDX-License-Identifier: GPL-2.0
/*
 * The bpf_lua_* kfuncs (docs/xdp.md): XDP programs call a Lua function of
 * a softirq state by the state's name. They are C because only C objects
 * carry the BTF the verifier needs; each finds the packet and the
 * receiving device's namespace in the xdp_buff and hands them to
 * lunatik_xdp_run() (luaxdp/xdp.rs), which does the rest.
 *
 * Both run wherever an XDP program runs: in softirq (NAPI, generic XDP)
 * or in process context under BPF_PROG_TEST_RUN, always inside an RCU
 * read-side section with migration off.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/netdevice.h>
#include <linux/string.h>
#include <net/xdp.h>

#include "luaxdp.h"

static int lunatik_xdp_call(struct xdp_md *ctx, const char *name, size_t name_sz,
			    void *arg, size_t arg_sz)
{
	struct xdp_buff *xdp = (struct xdp_buff *)ctx;

	/* The name ends at its first NUL or at its size: the program may
	 * count the NUL or not, and the key may be read-only.
	 */
	return lunatik_xdp_run(dev_net(xdp->rxq->dev), name, strnlen(name, name_sz),
			       xdp->data, xdp->data_end - xdp->data,
			       arg_sz ? arg : NULL, arg ? arg_sz : 0);
}

__bpf_kfunc_start_defs();

/**
 * bpf_lua_run - run the XDP function of a Lua state
 * @ctx: the program's context
 * @state: the state's name
 * @state__sz: bytes of @state, with or without a trailing NUL
 * @arg__nullable: bytes for the function's second argument, or NULL
 *                 (the suffix tells the verifier NULL is allowed)
 * @arg__sz: bytes of @arg__nullable
 *
 * Return: the XDP action the function returned, or a negative errno.
 */
__bpf_kfunc int bpf_lua_run(struct xdp_md *ctx, const char *state, size_t state__sz,
			    void *arg__nullable, size_t arg__sz)
{
	return lunatik_xdp_call(ctx, state, state__sz, arg__nullable, arg__sz);
}

/**
 * bpf_luaxdp_run - bpf_lua_run() with Lunatik's argument order
 * @key: the state's name (never written)
 * @key__sz: bytes of @key, with or without a trailing NUL
 * @ctx: the program's context
 * @arg__nullable: as for bpf_lua_run()
 * @arg__sz: bytes of @arg__nullable
 *
 * Return: as bpf_lua_run().
 */
__bpf_kfunc int bpf_luaxdp_run(char *key, size_t key__sz, struct xdp_md *ctx,
			       void *arg__nullable, size_t arg__sz)
{
	return lunatik_xdp_call(ctx, key, key__sz, arg__nullable, arg__sz);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(lunatik_xdp_kfunc_ids)
BTF_ID_FLAGS(func, bpf_lua_run)
BTF_ID_FLAGS(func, bpf_luaxdp_run)
BTF_KFUNCS_END(lunatik_xdp_kfunc_ids)

static const struct btf_kfunc_id_set lunatik_xdp_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &lunatik_xdp_kfunc_ids,
};

/*
 * There is no unregistration: the set lives in the module's BTF, which
 * goes with the module, and a loaded program that calls a kfunc holds a
 * reference on the module (so rmmod fails with EBUSY meanwhile).
 */
int lunatik_xdp_register_kfuncs(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &lunatik_xdp_kfunc_set);
}
