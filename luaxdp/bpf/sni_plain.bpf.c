// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's yardstick: the SNI filter of sni.bpf.c and
 * examples/xdp/sni.lua written in plain eBPF. It finds the server name of
 * a TLS ClientHello in a TCP segment to port 443 and drops the packet when
 * the name is a key of the hash map `blocked` (the name's bytes, padded
 * with zeros to NAME_MAX). Every read goes through bpf_xdp_load_bytes(),
 * which checks the bounds, so a truncated record passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tls.h"

#define NAME_MAX 64
#define MAX_EXTENSIONS 32

struct name {
	char bytes[NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct name);
	__type(value, __u8);
} blocked SEC(".maps");

static __always_inline int load8(struct xdp_md *ctx, __u32 off, __u32 *v)
{
	__u8 x;

	if (bpf_xdp_load_bytes(ctx, off, &x, 1))
		return -1;
	*v = x;
	return 0;
}

static __always_inline int load16(struct xdp_md *ctx, __u32 off, __u32 *v)
{
	__u16 x;

	if (bpf_xdp_load_bytes(ctx, off, &x, 2))
		return -1;
	*v = bpf_ntohs(x);
	return 0;
}

SEC("xdp")
int sni_plain(struct xdp_md *ctx)
{
	int offset = tls_payload_offset(ctx);
	struct name key = {};
	__u32 p, v, len, end, kind, i;

	if (offset < 0)
		return XDP_PASS;
	p = offset;

	/* Record header: handshake (0x16), version, length. */
	if (load8(ctx, p, &v) || v != 0x16)
		return XDP_PASS;
	/* Handshake header: ClientHello (1), length; version, random. */
	if (load8(ctx, p + 5, &v) || v != 1)
		return XDP_PASS;
	p += 5 + 4 + 2 + 32;
	if (load8(ctx, p, &v)) /* session id */
		return XDP_PASS;
	p += 1 + v;
	if (load16(ctx, p, &v)) /* cipher suites */
		return XDP_PASS;
	p += 2 + v;
	if (load8(ctx, p, &v)) /* compression methods */
		return XDP_PASS;
	p += 1 + v;
	if (load16(ctx, p, &v)) /* extensions */
		return XDP_PASS;
	end = p + 2 + v;
	p += 2;
	for (i = 0; i < MAX_EXTENSIONS && p + 4 <= end; i++) {
		if (load16(ctx, p, &kind) || load16(ctx, p + 2, &len))
			return XDP_PASS;
		p += 4;
		if (kind != 0) {
			p += len;
			continue;
		}
		/* server_name: list length, name type, name length, name. */
		if (load16(ctx, p + 3, &len) || len < 1 || len > NAME_MAX - 1)
			return XDP_PASS;
		if (bpf_xdp_load_bytes(ctx, p + 5, key.bytes, len & (NAME_MAX - 1)))
			return XDP_PASS;
		return bpf_map_lookup_elem(&blocked, &key) ? XDP_DROP : XDP_PASS;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
