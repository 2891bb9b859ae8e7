// SPDX-License-Identifier: GPL-2.0
/*
 * Raw sockets: which of the copies of incoming packets the kernel hands
 * every raw socket are the socket's own.
 */
#ifndef __TM_RAW_BPF_H__
#define __TM_RAW_BPF_H__

#include "parse.bpf.h"

#define ICMP_ECHOREPLY		0
#define ICMP_ECHO		8
#define ICMPV6_ECHO_REQUEST	128
#define ICMPV6_ECHO_REPLY	129

/* ICMP errors, which quote the packet they answer. */
static __always_inline bool icmp_error(__u8 family, __u8 type)
{
	if (family == TM_FAMILY_IPV4)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/*
 * The kernel hands every raw socket of a packet's protocol a copy of each
 * incoming packet, and the hook runs on each copy before the socket's own
 * filter: two users pinging at once would each be charged both users'
 * replies, and a raw TCP socket every segment a TCP socket also gets. The
 * one thing that tells whose such a packet is, is ICMP's echo identifier:
 * a raw socket owns an incoming packet when it is an echo reply with the
 * identifier of the socket's last echo request, or an ICMP error quoting
 * that request. Everything else a raw socket is handed is a copy, counted
 * apart (tm_global.raw_copies_*) and in no row. Outgoing packets are
 * always the socket's; an echo request there records its identifier.
 */
static __always_inline bool raw_copy(struct __sk_buff *skb, struct tm_sock *st,
				     const struct pkt *p)
{
	bool v4 = p->key.family == TM_FAMILY_IPV4;
	__u8 icmp[8], ip[40];
	__u16 id;
	__u32 off;

	if ((p->key.family != TM_FAMILY_IPV4 && p->key.family != TM_FAMILY_IPV6) ||
	    p->key.proto != (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) || !p->l4off ||
	    bpf_skb_load_bytes(skb, p->l4off, icmp, sizeof(icmp)))
		return !p->egress;
	__builtin_memcpy(&id, icmp + 4, 2);
	if (p->egress) {
		if (icmp[0] == (v4 ? ICMP_ECHO : ICMPV6_ECHO_REQUEST)) {
			st->echo_id = id;
			st->echo_set = 1;
		}
		return false;
	}
	if (!st->echo_set)
		return true;
	if (icmp[0] == (v4 ? ICMP_ECHOREPLY : ICMPV6_ECHO_REPLY))
		return id != st->echo_id;
	if (!icmp_error(p->key.family, icmp[0]))
		return true;
	/* The quoted packet: its IP header, then its ICMP header. */
	off = p->l4off + 8;
	if (v4) {
		if (bpf_skb_load_bytes(skb, off, ip, 20) || ip[9] != IPPROTO_ICMP)
			return true;
		off += (ip[0] & 0xf) * 4;
	} else {
		if (bpf_skb_load_bytes(skb, off, ip, 40) || ip[6] != IPPROTO_ICMPV6)
			return true;
		off += 40;
	}
	if (bpf_skb_load_bytes(skb, off, icmp, sizeof(icmp)))
		return true;
	__builtin_memcpy(&id, icmp + 4, 2);
	return icmp[0] != (v4 ? ICMP_ECHO : ICMPV6_ECHO_REQUEST) || id != st->echo_id;
}

#endif /* __TM_RAW_BPF_H__ */
