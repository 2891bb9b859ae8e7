// SPDX-License-Identifier: GPL-2.0
/*
 * tm's datapath: cgroup_skb programs that count every packet of the sockets
 * in the attached cgroups against the socket owner's UID. They never drop:
 * both programs always return 1 ("allow").
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tm_abi.h"

#define SOCK_RAW 3	/* not in the UAPI headers */
#define WAKE_BYTES (32 * 1024)

char LICENSE[] SEC("license") = "GPL";

struct tm_control control = {
	.layout_version = TM_LAYOUT_VERSION,
};

/*
 * Per-CPU so the hot path adds without atomics; allocated on first use so
 * an idle slot costs no memory on hosts with many CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_USERS_MAX);
	__type(key, struct tm_user_key);
	__type(value, struct tm_counters);
} users SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tm_global);
} global SEC(".maps");

/* Untracked networks, edited by tm-mask while the programs run. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_MASKS_MAX);
	__type(key, struct tm_mask4_key);
	__type(value, __u32);
} masks4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_MASKS_MAX);
	__type(key, struct tm_mask6_key);
	__type(value, __u32);
} masks6 SEC(".maps");

/* Per-packet events, written only while a tm-stream reader is registered. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TM_EVENTS_SIZE);
} events SEC(".maps");

/*
 * Who created each socket, recorded at creation; BPF_F_CLONE hands a
 * listener's record to the sockets it accepts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct tm_owner);
} owners SEC(".maps");

/* With control.ifaces set, only packets on these interfaces count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TM_IFACES_MAX);
	__type(key, __u32);
	__type(value, struct tm_iface);
} ifaces SEC(".maps");

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
 * The hook only ever sees full sockets: for a request socket's SYN-ACK the
 * kernel hands it the listener, whose UID is the right owner. What has no
 * owner is the kernel's own reply traffic: TCP resets and time-wait ACKs
 * from the per-namespace TCP control socket, ICMP errors and echo replies,
 * NDP and MLD. Those come from root-owned raw sockets of these protocols;
 * charging them to root would be a lie, so they go to the unknown owner.
 * bpf_get_socket_uid() answers the overflow UID (65534) when there is no
 * full socket. Only those two UIDs need a look at the socket itself.
 */
#define OVERFLOW_UID 65534

static __always_inline __u32 skb_owner(struct __sk_buff *skb)
{
	__u32 uid = bpf_get_socket_uid(skb);
	struct bpf_sock *sk;

	if (uid != 0 && uid != OVERFLOW_UID)
		return uid;
	sk = skb->sk;
	if (!sk)
		return TM_UID_UNKNOWN;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return TM_UID_UNKNOWN;
	if (uid == 0 && sk->type == SOCK_RAW &&
	    (sk->protocol == IPPROTO_TCP || sk->protocol == IPPROTO_ICMP ||
	     sk->protocol == IPPROTO_ICMPV6))
		return TM_UID_UNKNOWN;
	return uid;
}

static __always_inline struct tm_counters *user_counters(__u32 uid, __u8 family)
{
	struct tm_user_key key = {
		.uid = uid,
		.family = family,
	};
	struct tm_counters zero = {};
	struct tm_counters *c;

	c = bpf_map_lookup_elem(&users, &key);
	if (c)
		return c;
	/* First packet of this user: racing CPUs may both try, one wins. */
	bpf_map_update_elem(&users, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&users, &key);
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
 * A packet is untracked when its source and its destination both lie in
 * untracked networks. The source is looked up first: for most packets of
 * most sites that one lookup settles it. With no entries, no lookup at all.
 */
static __always_inline bool untracked(struct __sk_buff *skb, __u8 family)
{
	if (family == TM_FAMILY_IPV4) {
		struct tm_mask4_key key = { .prefixlen = 32 };
		__u32 addrs[2];

		if (!control.masks4 || load(skb, 12, addrs, 8))
			return false;
		__builtin_memcpy(key.addr, &addrs[0], 4);
		if (!bpf_map_lookup_elem(&masks4, &key))
			return false;
		__builtin_memcpy(key.addr, &addrs[1], 4);
		return bpf_map_lookup_elem(&masks4, &key) != NULL;
	}
	if (family == TM_FAMILY_IPV6) {
		struct tm_mask6_key key = { .prefixlen = 128 };
		__u32 addrs[8];

		if (!control.masks6 || load(skb, 8, addrs, 32))
			return false;
		__builtin_memcpy(key.addr, &addrs[0], 16);
		if (!bpf_map_lookup_elem(&masks6, &key))
			return false;
		__builtin_memcpy(key.addr, &addrs[4], 16);
		return bpf_map_lookup_elem(&masks6, &key) != NULL;
	}
	return false;
}

/*
 * Protocol and ports for an event. IPv6 extension headers are walked to
 * the transport header; a fragment other than the first has no ports.
 */
static __always_inline void parse_l4(struct __sk_buff *skb, struct tm_event *e)
{
	__u32 off;
	__u8 proto;

	if (e->family == TM_FAMILY_IPV4) {
		struct iphdr ip;

		if (load(skb, 0, &ip, sizeof(ip)))
			return;
		__builtin_memcpy(e->saddr, &ip.saddr, 4);
		__builtin_memcpy(e->daddr, &ip.daddr, 4);
		e->proto = ip.protocol;
		if (ip.frag_off & bpf_htons(0x1fff))
			return;
		off = ip.ihl * 4;
	} else if (e->family == TM_FAMILY_IPV6) {
		struct ipv6hdr ip6;
		int i;

		if (load(skb, 0, &ip6, sizeof(ip6)))
			return;
		__builtin_memcpy(e->saddr, &ip6.saddr, 16);
		__builtin_memcpy(e->daddr, &ip6.daddr, 16);
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
					e->proto = ext[0];
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
		e->proto = proto;
	} else {
		return;
	}
	if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP) {
		__u16 ports[2];

		if (load(skb, off, ports, 4))
			return;
		e->sport = bpf_ntohs(ports[0]);
		e->dport = bpf_ntohs(ports[1]);
		e->has_ports = 1;
	}
}

static __always_inline void emit(struct __sk_buff *skb, int egress, __u32 uid,
				 __u8 family, __u64 bytes, __u64 packets)
{
	struct tm_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct bpf_sock *sk = skb->sk;
	struct tm_owner *o = NULL;

	if (!e) {
		__u32 zero = 0;
		struct tm_global *g = bpf_map_lookup_elem(&global, &zero);

		if (g)
			g->events_lost++;
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->uid = uid;
	e->bytes = bytes;
	e->packets = packets;
	e->ifindex = skb->ifindex;
	e->dir = egress ? TM_DIR_OUT : TM_DIR_IN;
	e->family = family;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		o = bpf_sk_storage_get(&owners, sk, 0, 0);
	if (o) {
		e->pid = o->pid;
		__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	} else {
		e->comm[0] = '?';
	}
	parse_l4(skb, e);
	/*
	 * Waking the reader costs more than the rest of the event: wake it
	 * only once a batch is waiting. It polls with a timeout and reads
	 * what is there, so a quiet stream still flows within that timeout.
	 */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKE_BYTES ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void add(struct tm_counters *c, int egress, __u64 bytes,
				__u64 packets)
{
	if (egress) {
		c->out_bytes += bytes;
		c->out_packets += packets;
	} else {
		c->in_bytes += bytes;
		c->in_packets += packets;
	}
}

static __always_inline void account(struct __sk_buff *skb, int egress)
{
	/* A GSO/GRO super-packet carries gso_segs segments, a plain one 1. */
	__u64 packets = skb->gso_segs ? skb->gso_segs : 1;
	__u64 bytes = skb->len;
	__u8 family = skb_family(skb);
	struct tm_counters *c;
	struct tm_global *g;
	__u32 zero = 0, uid;

	if (control.ifaces) {
		__u32 ifindex = skb->ifindex;

		if (!bpf_map_lookup_elem(&ifaces, &ifindex))
			return;
	}
	if (untracked(skb, family)) {
		g = bpf_map_lookup_elem(&global, &zero);
		if (g)
			add(&g->untracked, egress, bytes, packets);
		return;
	}
	uid = skb_owner(skb);
	c = user_counters(uid, family);
	if (c) {
		add(c, egress, bytes, packets);
	} else {
		g = bpf_map_lookup_elem(&global, &zero);
		if (g) {
			g->users_full_bytes += bytes;
			g->users_full_packets += packets;
		}
	}
	if (control.reader_pid)
		emit(skb, egress, uid, family, bytes, packets);
}

SEC("cgroup/sock_create")
int tm_sock_create(struct bpf_sock *sk)
{
	struct tm_owner *o;

	o = bpf_sk_storage_get(&owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o) {
		o->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(o->comm, sizeof(o->comm));
	}
	return 1;
}

SEC("cgroup_skb/ingress")
int tm_ingress(struct __sk_buff *skb)
{
	account(skb, 0);
	return 1;
}

SEC("cgroup_skb/egress")
int tm_egress(struct __sk_buff *skb)
{
	account(skb, 1);
	return 1;
}
