// SPDX-License-Identifier: GPL-2.0
/* The baseline of the benchmark: every packet passes, nothing else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
