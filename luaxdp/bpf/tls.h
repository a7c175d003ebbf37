/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a TLS record may start in a frame, for the SNI programs
 * (sni.bpf.c, sni_plain.bpf.c): an IPv4 TCP segment to port 443 with PSH
 * set, its payload inside the frame.
 */
#ifndef LUNATIK_BPF_TLS_H
#define LUNATIK_BPF_TLS_H

#define ETH_P_IP 0x0800

/*
 * The offset of the TCP payload from the start of the frame, or -1 when
 * the frame is not such a segment (the caller passes it).
 */
static __always_inline int tls_payload_offset(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct tcphdr *tcp;
	void *payload;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	if (ip->protocol != IPPROTO_TCP || ip->ihl < 5)
		return -1;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return -1;
	if (tcp->dest != bpf_htons(443) || !tcp->psh || tcp->doff < 5)
		return -1;
	payload = (void *)tcp + tcp->doff * 4;
	if (payload > data_end)
		return -1;
	return payload - data;
}

#endif /* LUNATIK_BPF_TLS_H */
