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

/* Connections, least recently active evicted first (tm-load --max-conns). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TM_CONNS_MAX);
	__type(key, struct tm_conn_key);
	__type(value, struct tm_conn);
} conns SEC(".maps");

/* Per user, process, interface, cgroup and protocol. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_DETAILS_MAX);
	__type(key, struct tm_detail_key);
	__type(value, struct tm_detail);
} details SEC(".maps");

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

/* What one packet is, worked out once for every consumer of it. */
struct pkt {
	__u64 bytes;
	__u64 packets;
	__u64 now;
	__u32 uid;
	__u32 ifindex;
	int egress;
	__u8 family;
	__u8 proto;		/* IPPROTO_*, 0 if not reached */
	__u8 has_ports;		/* 0: no ports (ICMP, a later fragment) */
	__u16 sport;		/* host order */
	__u16 dport;
	__u8 saddr[16];		/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	struct tm_owner *owner;	/* NULL: socket older than the load */
};

/*
 * Addresses, protocol and ports. IPv6 extension headers are walked to the
 * transport header; a fragment other than the first has no ports.
 */
static __always_inline void parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 off;
	__u8 proto;

	if (p->family == TM_FAMILY_IPV4) {
		struct iphdr ip;

		if (load(skb, 0, &ip, sizeof(ip)))
			return;
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
		p->proto = ip.protocol;
		if (ip.frag_off & bpf_htons(0x1fff))
			return;
		off = ip.ihl * 4;
	} else if (p->family == TM_FAMILY_IPV6) {
		struct ipv6hdr ip6;
		int i;

		if (load(skb, 0, &ip6, sizeof(ip6)))
			return;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
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
					p->proto = ext[0];
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
		p->proto = proto;
	} else {
		return;
	}
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		__u16 ports[2];

		if (load(skb, off, ports, 4))
			return;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
		p->has_ports = 1;
	}
}

static __always_inline struct tm_owner *owner_of(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&owners, sk, 0, 0);
}

static __always_inline struct tm_global *global_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global, &zero);
}

/* Shared by all CPUs: contention is per entry, never global. */
static __always_inline void add_atomic(struct tm_counters *c, const struct pkt *p)
{
	if (p->egress) {
		__sync_fetch_and_add(&c->out_bytes, p->bytes);
		__sync_fetch_and_add(&c->out_packets, p->packets);
	} else {
		__sync_fetch_and_add(&c->in_bytes, p->bytes);
		__sync_fetch_and_add(&c->in_packets, p->packets);
	}
}

/* One entry feeds tm-stat --by proc, iface, proto and cgroup. */
static __always_inline void count_detail(struct __sk_buff *skb, const struct pkt *p)
{
	struct tm_detail_key key = {
		.uid = p->uid,
		.ifindex = p->ifindex,
		.family = p->family,
		.proto = p->proto,
	};
	struct tm_detail *d;
	struct tm_global *g;

	if (p->owner) {
		key.pid = p->owner->pid;
		key.cgroup_id = p->owner->cgroup_id;
	} else {
		key.cgroup_id = bpf_skb_cgroup_id(skb);
	}
	d = bpf_map_lookup_elem(&details, &key);
	if (!d) {
		struct tm_detail fresh = {};

		if (p->owner)
			__builtin_memcpy(fresh.comm, p->owner->comm, sizeof(fresh.comm));
		else
			fresh.comm[0] = '?';
		bpf_map_update_elem(&details, &key, &fresh, BPF_NOEXIST);
		d = bpf_map_lookup_elem(&details, &key);
	}
	if (d) {
		add_atomic(&d->c, p);
		return;
	}
	g = global_counters();
	if (g) {
		g->details_full_bytes += p->bytes;
		g->details_full_packets += p->packets;
	}
}

/*
 * The connection as its local end sees it. The map is an LRU: when it is
 * full the least recently active connection makes room, and its bytes
 * stay in the per-user totals, which never depend on this map.
 */
static __always_inline void count_conn(const struct pkt *p)
{
	struct tm_conn_key key = {
		.uid = p->uid,
		.family = p->family,
		.proto = p->proto,
	};
	struct tm_conn *v;

	if (p->egress) {
		__builtin_memcpy(key.laddr, p->saddr, 16);
		__builtin_memcpy(key.raddr, p->daddr, 16);
		key.lport = p->sport;
		key.rport = p->dport;
	} else {
		__builtin_memcpy(key.laddr, p->daddr, 16);
		__builtin_memcpy(key.raddr, p->saddr, 16);
		key.lport = p->dport;
		key.rport = p->sport;
	}
	v = bpf_map_lookup_elem(&conns, &key);
	if (!v) {
		struct tm_conn fresh = { .first_ns = p->now };
		struct tm_global *g;

		if (p->owner) {
			fresh.pid = p->owner->pid;
			__builtin_memcpy(fresh.comm, p->owner->comm, sizeof(fresh.comm));
		} else {
			fresh.comm[0] = '?';
		}
		if (!bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST)) {
			g = global_counters();
			if (g)
				g->conns_new++;
		}
		v = bpf_map_lookup_elem(&conns, &key);
		if (!v)
			return;
	}
	add_atomic(&v->c, p);
	v->last_ns = p->now;
}

static __always_inline void emit(const struct pkt *p)
{
	struct tm_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		struct tm_global *g = global_counters();

		if (g)
			g->events_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->uid = p->uid;
	e->bytes = p->bytes;
	e->packets = p->packets;
	e->ifindex = p->ifindex;
	e->dir = p->egress ? TM_DIR_OUT : TM_DIR_IN;
	e->family = p->family;
	e->proto = p->proto;
	e->has_ports = p->has_ports;
	e->sport = p->sport;
	e->dport = p->dport;
	e->pad = 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	if (p->owner) {
		e->pid = p->owner->pid;
		__builtin_memcpy(e->comm, p->owner->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
		e->comm[0] = '?';
	}
	/*
	 * Waking the reader costs more than the rest of the event: wake it
	 * only once a batch is waiting. It polls with a timeout and reads
	 * what is there, so a quiet stream still flows within that timeout.
	 */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKE_BYTES ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void add(struct tm_counters *c, const struct pkt *p)
{
	if (p->egress) {
		c->out_bytes += p->bytes;
		c->out_packets += p->packets;
	} else {
		c->in_bytes += p->bytes;
		c->in_packets += p->packets;
	}
}

static __always_inline void account(struct __sk_buff *skb, int egress)
{
	struct pkt p = {
		.bytes = skb->len,
		/* A GSO/GRO super-packet carries gso_segs segments, a plain one 1. */
		.packets = skb->gso_segs ? skb->gso_segs : 1,
		.egress = egress,
		.family = skb_family(skb),
		.ifindex = skb->ifindex,
	};
	struct tm_counters *c;
	struct tm_global *g;

	if (control.ifaces && !bpf_map_lookup_elem(&ifaces, &p.ifindex))
		return;
	if (untracked(skb, p.family)) {
		g = global_counters();
		if (g)
			add(&g->untracked, &p);
		return;
	}
	p.uid = skb_owner(skb);
	c = user_counters(p.uid, p.family);
	if (c) {
		add(c, &p);
	} else {
		g = global_counters();
		if (g) {
			g->users_full_bytes += p.bytes;
			g->users_full_packets += p.packets;
		}
	}
	/* Jiffy resolution is plenty for first and last seen, at a third the cost. */
	p.now = bpf_ktime_get_coarse_ns();
	p.owner = owner_of(skb);
	parse(skb, &p);
	count_detail(skb, &p);
	count_conn(&p);
	if (control.reader_pid)
		emit(&p);
}

SEC("cgroup/sock_create")
int tm_sock_create(struct bpf_sock *sk)
{
	struct tm_owner *o;

	o = bpf_sk_storage_get(&owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o) {
		o->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(o->comm, sizeof(o->comm));
		o->cgroup_id = bpf_get_current_cgroup_id();
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
