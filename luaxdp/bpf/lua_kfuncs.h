/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of lunatik.ko (luaxdp/kfunc.c, docs/xdp.md), as eBPF
 * programs declare them; libbpf resolves them in the module's BTF.
 */
#ifndef LUNATIK_BPF_LUA_H
#define LUNATIK_BPF_LUA_H

extern int bpf_lua_run(struct xdp_md *ctx, const char *state, size_t state__sz,
		       void *arg, size_t arg__sz) __ksym;
extern int bpf_luaxdp_run(char *key, size_t key__sz, struct xdp_md *ctx,
			  void *arg, size_t arg__sz) __ksym;

#endif /* LUNATIK_BPF_LUA_H */
