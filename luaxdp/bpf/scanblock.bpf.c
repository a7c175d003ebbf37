// SPDX-License-Identifier: GPL-2.0
/*
 * The scan blocker's eBPF half (examples/scanblock/xdp.lua): every IPv4
 * frame goes to the Lua function of the state "scanblock", which drops
 * those of blocked sources; other frames (ARP, IPv6) pass without Lua.
 * The IPv4 header follows a plain Ethernet header, at offset 14. A
 * failed call passes the frame: a blocker that cannot reach its script
 * must not cut the host off.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lua_kfuncs.h"

#define ETH_P_IP 0x0800

static char state[] = "scanblock"; /* writable memory: see lua.bpf.c */

SEC("xdp")
int scanblock(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int action;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	action = bpf_lua_run(ctx, state, sizeof(state), NULL, 0);
	return action < 0 ? XDP_PASS : action;
}

char _license[] SEC("license") = "GPL";
