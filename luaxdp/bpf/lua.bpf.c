// SPDX-License-Identifier: GPL-2.0
/*
 * Every packet goes to the function `xdp.attach` set in the softirq state
 * STATE ("xdp" unless the build says otherwise), with no argument.
 *   lua      the function's action; XDP_PASS when the call fails
 *   lua_raw  the kfunc's result as it is (an action or a negative errno),
 *            for BPF_PROG_TEST_RUN: attached to a device, a negative value
 *            is an invalid action and the packet is dropped
 *   lua_arg  like lua_raw, with the packet's length as a 4-byte argument
 *            (network order), for tests of the argument's view
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lua_kfuncs.h"

#ifndef STATE
#define STATE "xdp"
#endif

/*
 * The verifier checks a kfunc's memory arguments for reading and writing,
 * so the name lives in writable memory (.data), though the kfunc never
 * writes it.
 */
static char state[] = STATE;

SEC("xdp")
int lua(struct xdp_md *ctx)
{
	int action = bpf_lua_run(ctx, state, sizeof(state), NULL, 0);

	return action < 0 ? XDP_PASS : action;
}

SEC("xdp")
int lua_raw(struct xdp_md *ctx)
{
	return bpf_lua_run(ctx, state, sizeof(state), NULL, 0);
}

SEC("xdp")
int lua_arg(struct xdp_md *ctx)
{
	__u32 len = bpf_htonl(ctx->data_end - ctx->data);

	return bpf_lua_run(ctx, state, sizeof(state) - 1, &len, sizeof(len));
}

char _license[] SEC("license") = "GPL";
