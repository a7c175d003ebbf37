// SPDX-License-Identifier: GPL-2.0
/*
 * The SNI filter's eBPF half: TCP segments to port 443 with PSH set go to
 * the Lua function of the state STATE with one argument, the offset of
 * the TCP payload (where a TLS record starts) from the start of the
 * packet, as 2 bytes in network order: the contract of Lunatik's
 * examples/filter/https.c, so its sni.lua runs on it unmodified. Other
 * packets pass without Lua. A failed call passes the packet (Lunatik's
 * choice: an unreachable filter must not cut the host off).
 *
 * Built twice: sni.o calls bpf_lua_run() in the state "sni"
 * (examples/xdp/sni.lua); sni_luaxdp.o calls bpf_luaxdp_run() in the
 * state "examples/filter/sni", as Lunatik's program does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lua_kfuncs.h"
#include "tls.h"

#ifndef STATE
#define STATE "sni"
#endif

static char state[] = STATE; /* writable memory: see lua.bpf.c */

struct sni_arg {
	__u16 offset;
} __attribute__((packed));

SEC("xdp")
int sni(struct xdp_md *ctx)
{
	int offset = tls_payload_offset(ctx);
	struct sni_arg arg;
	int action;

	if (offset < 0)
		return XDP_PASS;
	arg.offset = bpf_htons((__u16)offset);
#ifdef LUAXDP
	action = bpf_luaxdp_run(state, sizeof(state), ctx, &arg, sizeof(arg));
#else
	action = bpf_lua_run(ctx, state, sizeof(state), &arg, sizeof(arg));
#endif
	return action < 0 ? XDP_PASS : action;
}

char _license[] SEC("license") = "GPL";
