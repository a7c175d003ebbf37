// SPDX-License-Identifier: GPL-2.0
/*
 * Writable packets for luanetfilter/write.rs: skb_ensure_writable and the
 * checksum helpers are inline or macros the Rust bindings do not reach.
 * Both functions run inside a hook, on the packet netfilter passed to it,
 * which lunatik_skb_prepare() has linearized.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>

#include "netfilter.h"
#include "write.h"

/*
 * Makes every byte of the packet, from the head of its buffer to its
 * tail, private to this hook and writable, then reports where the views'
 * bytes are now: a cloned packet gets its own copy (pskb_expand_head
 * copies the whole head, the link-layer header in the headroom with it),
 * which moves them. 0 or -ENOMEM.
 *
 * A checksum a device computed over the received bytes
 * (CHECKSUM_COMPLETE) or a verdict it gave on them
 * (CHECKSUM_UNNECESSARY) no longer holds once a script may change them:
 * the packet falls back to CHECKSUM_NONE, so the stack checks the
 * transport checksum in software (a script that edits without fixing it
 * sees the packet dropped, whatever the device did).
 */
int lunatik_skb_make_writable(struct sk_buff *skb, struct lunatik_skb_info *info)
{
	int err = skb_ensure_writable(skb, skb->len);

	if (err)
		return err;
	if (skb->ip_summed == CHECKSUM_COMPLETE || skb->ip_summed == CHECKSUM_UNNECESSARY)
		skb->ip_summed = CHECKSUM_NONE;
	return lunatik_skb_prepare(skb, info);
}

/*
 * Recomputes the IPv4 header checksum and the UDP or TCP checksum after
 * an edit. Returns 1 if a transport checksum was set, 0 if there was
 * none to set (another protocol, an IPv4 fragment, a UDP datagram sent
 * without one), -EPROTONOSUPPORT for a packet that is not IP, -EINVAL for
 * headers that do not fit the packet, -EOPNOTSUPP for an offloaded
 * checksum of another header than the transport one.
 *
 * For CHECKSUM_PARTIAL (local traffic: the device, or skb_checksum_help
 * before a device without offload, sums the transport header and payload
 * later) the field holds only the pseudo-header's sum, which is what is
 * refreshed; otherwise the whole sum is computed here.
 */
int lunatik_skb_checksum(struct sk_buff *skb)
{
	unsigned char *net = skb_network_header(skb);
	unsigned char *tail = skb_tail_pointer(skb);
	unsigned int avail, hlen, len;
	struct iphdr *iph = NULL;
	struct ipv6hdr *ip6h = NULL;
	__sum16 *check;
	__wsum sum = 0;
	u8 proto;

	if (net < skb->head || net >= tail)
		return -EINVAL;
	avail = tail - net;
	switch (net[0] >> 4) {
	case 4:
		iph = (struct iphdr *)net;
		if (avail < sizeof(*iph))
			return -EINVAL;
		hlen = iph->ihl * 4;
		if (hlen < sizeof(*iph) || ntohs(iph->tot_len) < hlen || ntohs(iph->tot_len) > avail)
			return -EINVAL;
		ip_send_check(iph);
		/* A fragment's transport checksum covers bytes it lacks. */
		if (ip_is_fragment(iph))
			return 0;
		proto = iph->protocol;
		len = ntohs(iph->tot_len) - hlen;
		break;
	case 6:
		ip6h = (struct ipv6hdr *)net;
		if (avail < sizeof(*ip6h))
			return -EINVAL;
		hlen = sizeof(*ip6h);
		len = ntohs(ip6h->payload_len);
		if (len > avail - hlen)
			return -EINVAL;
		/* Extension headers: nexthdr is not UDP or TCP, left alone. */
		proto = ip6h->nexthdr;
		break;
	default:
		return -EPROTONOSUPPORT;
	}

	switch (proto) {
	case IPPROTO_UDP:
		if (len < sizeof(struct udphdr))
			return -EINVAL;
		check = &((struct udphdr *)(net + hlen))->check;
		/* IPv4 UDP may go without a checksum; the sender's choice stays. */
		if (iph && !*check && skb->ip_summed != CHECKSUM_PARTIAL)
			return 0;
		break;
	case IPPROTO_TCP:
		if (len < sizeof(struct tcphdr))
			return -EINVAL;
		check = &((struct tcphdr *)(net + hlen))->check;
		break;
	default:
		return 0;
	}

	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		if (skb_checksum_start(skb) != net + hlen)
			return -EOPNOTSUPP;
		*check = iph ? ~csum_tcpudp_magic(iph->saddr, iph->daddr, len, proto, 0) :
			       ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, len, proto, 0);
		return 1;
	}
	*check = 0;
	sum = csum_partial(net + hlen, len, 0);
	*check = iph ? csum_tcpudp_magic(iph->saddr, iph->daddr, len, proto, sum) :
		       csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, len, proto, sum);
	if (proto == IPPROTO_UDP && !*check)
		*check = CSUM_MANGLED_0;
	return 1;
}
