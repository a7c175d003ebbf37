/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of luanetfilter/write.c (writable packets and their
 * checksums), declared once; luanetfilter/write.rs mirrors them.
 */
#ifndef LUNATIK_WRITE_H
#define LUNATIK_WRITE_H

struct sk_buff;
struct lunatik_skb_info;

int lunatik_skb_make_writable(struct sk_buff *skb, struct lunatik_skb_info *info);
int lunatik_skb_checksum(struct sk_buff *skb);

#endif /* LUNATIK_WRITE_H */
