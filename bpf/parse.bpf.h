// SPDX-License-Identifier: GPL-2.0
/*
 * What one packet is: family, addresses, protocol and ports, read from its
 * network header (IPv6 extension headers walked).
 */
#ifndef __TM_PARSE_BPF_H__
#define __TM_PARSE_BPF_H__

#include "common.bpf.h"

static __always_inline __u8 skb_family(const struct __sk_buff *skb)
{
	switch (skb->protocol) {
	case bpf_htons(ETH_P_IP):
		return TM_FAMILY_IPV4;
	case bpf_htons(ETH_P_IPV6):
		return TM_FAMILY_IPV6;
	default:
		return TM_FAMILY_OTHER;
	}
}

/*
 * Copies len bytes at off of the network header: straight from the linear
 * data when it is there (always, in practice, for the IP header at these
 * hooks), through the helper otherwise.
 */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/*
 * What one packet is. key and ifindex are laid out as in struct tm_slot,
 * so a packet is compared with a socket's slot as six words.
 */
struct pkt {
	struct tm_conn_key key;		/* local end first; uid set last */
	__u32 ifindex;
	__u32 bytes;
	__u32 packets;
	__u8 egress;
	__u8 has_ports;			/* 0: no ports (ICMP, a later fragment) */
	__u8 untracked;
	__u16 l4off;			/* transport header; 0: not reached */
};

_Static_assert(sizeof(struct tm_slot) % 8 == 0, "tm_slot is swapped as words");
_Static_assert(__builtin_offsetof(struct pkt, ifindex) ==
	       __builtin_offsetof(struct tm_slot, ifindex), "pkt and tm_slot differ");

/* TCP's and UDP's ports, at off. */
static __always_inline void parse_ports(struct __sk_buff *skb, struct pkt *p, __u32 off)
{
	__u16 ports[2];

	if (load(skb, off, ports, 4))
		return;
	if (p->egress) {
		p->key.lport = bpf_ntohs(ports[0]);
		p->key.rport = bpf_ntohs(ports[1]);
	} else {
		p->key.lport = bpf_ntohs(ports[1]);
		p->key.rport = bpf_ntohs(ports[0]);
	}
	p->has_ports = 1;
}

/*
 * Addresses, protocol and ports. IPv6 extension headers are walked to the
 * transport header; a fragment other than the first has no ports.
 */
static __always_inline void parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 off;
	__u8 proto;

	if (p->key.family == TM_FAMILY_IPV4) {
		struct iphdr ip;

		if (load(skb, 0, &ip, sizeof(ip)))
			return;
		if (p->egress) {
			__builtin_memcpy(p->key.laddr, &ip.saddr, 4);
			__builtin_memcpy(p->key.raddr, &ip.daddr, 4);
		} else {
			__builtin_memcpy(p->key.laddr, &ip.daddr, 4);
			__builtin_memcpy(p->key.raddr, &ip.saddr, 4);
		}
		p->key.proto = ip.protocol;
		if (ip.frag_off & bpf_htons(0x1fff))
			return;
		off = ip.ihl * 4;
		p->l4off = off;
	} else if (p->key.family == TM_FAMILY_IPV6) {
		struct ipv6hdr ip6;
		int i;

		if (load(skb, 0, &ip6, sizeof(ip6)))
			return;
		if (p->egress) {
			__builtin_memcpy(p->key.laddr, &ip6.saddr, 16);
			__builtin_memcpy(p->key.raddr, &ip6.daddr, 16);
		} else {
			__builtin_memcpy(p->key.laddr, &ip6.daddr, 16);
			__builtin_memcpy(p->key.raddr, &ip6.saddr, 16);
		}
		proto = ip6.nexthdr;
		off = sizeof(ip6);
#pragma unroll
		for (i = 0; i < 6; i++) {
			__u8 ext[2];
			__u16 frag;

			if (proto != IPPROTO_HOPOPTS && proto != IPPROTO_ROUTING &&
			    proto != IPPROTO_DSTOPTS && proto != IPPROTO_FRAGMENT &&
			    proto != IPPROTO_AH)
				break;
			if (load(skb, off, ext, 2))
				return;
			if (proto == IPPROTO_FRAGMENT) {
				if (load(skb, off + 2, &frag, 2))
					return;
				if (frag & bpf_htons(0xfff8)) {
					p->key.proto = ext[0];
					return;
				}
				off += 8;
			} else if (proto == IPPROTO_AH) {
				off += (ext[1] + 2) * 4;
			} else {
				off += (ext[1] + 1) * 8;
			}
			proto = ext[0];
		}
		p->key.proto = proto;
		p->l4off = off;
	} else {
		return;
	}
	if (p->key.proto == IPPROTO_TCP || p->key.proto == IPPROTO_UDP)
		parse_ports(skb, p, off);
}

#endif /* __TM_PARSE_BPF_H__ */
