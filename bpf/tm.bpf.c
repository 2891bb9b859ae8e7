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
#include <bpf/bpf_core_read.h>

#include "tm_abi.h"

#define SOCK_RAW 3	/* not in the UAPI headers */
#define E2BIG 7
#define barrier() asm volatile("" ::: "memory")
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
/* An event's room in the ring: its 8-byte header and the record. */
#define WAKE_STEP (8 + sizeof(struct tm_event))

char LICENSE[] SEC("license") = "GPL";

struct tm_control control = {
	.layout_version = TM_LAYOUT_VERSION,
	.wake_bytes = TM_WAKE_BYTES,
	.details_quota = TM_DETAILS_MAX / TM_DETAILS_SHARE,
	.admin_gid = TM_GID_NONE,
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
 * The users' own streams: each a ring of its own, by UID (TM_UID_ALL: an
 * admin group member's, every event), put in and taken out by a user's
 * tm-stream. A user's stream never reads "events", so it can neither take
 * nor hold up anyone else's.
 */
struct user_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TM_USER_RING_SIZE);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, TM_USER_RINGS_MAX);
	__type(key, __u32);
	__array(values, struct user_ring);
} user_rings SEC(".maps");

/*
 * Per socket: who created it, recorded at creation (BPF_F_CLONE hands a
 * listener's record to the sockets it accepts), and its packets since they
 * were last moved into the maps.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct tm_sock);
} socks SEC(".maps");

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

/* How many rows of "details" each user holds (control.details_quota at most). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_USERS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} quota SEC(".maps");

/* With control.ifaces set, only packets on these interfaces count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TM_IFACES_MAX);
	__type(key, struct tm_iface_key);
	__type(value, struct tm_iface);
} ifaces SEC(".maps");

/* Every interface that carried a slot, named as in its own namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_IFNAMES_MAX);
	__type(key, struct tm_iface_key);
	__type(value, struct tm_iface);
} ifnames SEC(".maps");

/* Cgroups by id: name and parent, recorded while they exist. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_CGROUPS_MAX);
	__type(key, __u64);
	__type(value, struct tm_cgroup);
} cgroups SEC(".maps");

/* Room to build a struct tm_cgroup: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tm_cgroup);
} cgroup_scratch SEC(".maps");

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
 * The kernel's side of what the programs read: only the fields used, found
 * by name in the running kernel's BTF (CO-RE), so no kernel header is
 * needed and the offsets are always the kernel's own.
 */
struct ns_common___tm {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___tm {
	struct ns_common___tm ns;
	__u64 net_cookie;
} __attribute__((preserve_access_index));

struct possible_net_t___tm {
	struct net___tm *net;
} __attribute__((preserve_access_index));

struct sock_common___tm {
	struct possible_net_t___tm skc_net;
} __attribute__((preserve_access_index));

struct kuid_t___tm {
	__u32 val;
} __attribute__((preserve_access_index));

struct sock___tm {
	struct sock_common___tm __sk_common;
	struct kuid_t___tm sk_uid;
	__u8 sk_kern_sock:1;
} __attribute__((preserve_access_index));

struct net_device___tm {
	char name[TM_IFNAMSIZ];
} __attribute__((preserve_access_index));

struct sk_buff___tm {
	struct net_device___tm *dev;
	struct sock___tm *sk;
} __attribute__((preserve_access_index));

struct kernfs_node___tm {
	__u64 id;
	const char *name;
	struct kernfs_node___tm *__parent;	/* Linux 6.15 and later */
} __attribute__((preserve_access_index));

struct kernfs_node___old {
	struct kernfs_node___tm *parent;	/* before */
} __attribute__((preserve_access_index));

struct cgroup___tm {
	struct kernfs_node___tm *kn;
} __attribute__((preserve_access_index));

struct css_set___tm {
	struct cgroup___tm *dfl_cgrp;
} __attribute__((preserve_access_index));

struct nsproxy___tm {
	struct net___tm *net_ns;
} __attribute__((preserve_access_index));

struct task_struct___tm {
	struct css_set___tm *cgroups;
	struct nsproxy___tm *nsproxy;
} __attribute__((preserve_access_index));

/*
 * The kernel's own object behind a program's context (Linux 6.3). Weak:
 * where the kernel lacks it, the programs that call it are not loaded and
 * their twins that do not (owners recorded at creation) are.
 */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/*
 * Whose a packet is: the UID of its socket as the host sees it. The kernel
 * keeps a socket's owner as a kuid, the UID in the initial user namespace;
 * bpf_get_socket_uid() would map it into the user namespace that owns the
 * socket's network namespace, so a container's root would read as the
 * host's root. What has no owner is the kernel's own traffic: TCP resets
 * and time-wait ACKs from its per-namespace control sockets, ICMP errors
 * and echo replies, NDP and MLD. Those sockets are the kernel's
 * (sk_kern_sock); a root process's own raw socket is root's.
 */
static __always_inline __u32 sock_owner(const struct sock___tm *sk)
{
	if (!sk || BPF_CORE_READ_BITFIELD(sk, sk_kern_sock))
		return TM_UID_UNKNOWN;
	return sk->sk_uid.val;
}

/* The socket's network namespace, as its owner record keeps it. */
static __always_inline void set_netns(struct tm_owner *o, const struct sock___tm *sk)
{
	struct net___tm *net = sk ? sk->__sk_common.skc_net.net : NULL;

	if (net) {
		o->netns = net->ns.inum;
		o->netns_cookie = net->net_cookie;
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
 * A slot is untracked when both its ends lie in untracked networks. The
 * local end is looked up first: for most traffic of most sites that one
 * lookup settles it. With no entries, no lookup at all.
 */
static __always_inline bool untracked(const struct tm_conn_key *k)
{
	if (k->family == TM_FAMILY_IPV4) {
		struct tm_mask4_key key = { .prefixlen = 32 };

		if (!control.masks4)
			return false;
		__builtin_memcpy(key.addr, k->laddr, 4);
		if (!bpf_map_lookup_elem(&masks4, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 4);
		return bpf_map_lookup_elem(&masks4, &key) != NULL;
	}
	if (k->family == TM_FAMILY_IPV6) {
		struct tm_mask6_key key = { .prefixlen = 128 };

		if (!control.masks6)
			return false;
		__builtin_memcpy(key.addr, k->laddr, 16);
		if (!bpf_map_lookup_elem(&masks6, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 16);
		return bpf_map_lookup_elem(&masks6, &key) != NULL;
	}
	return false;
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
	if (p->key.proto == IPPROTO_TCP || p->key.proto == IPPROTO_UDP) {
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
}

static __always_inline struct tm_global *global_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global, &zero);
}

/* Shared by all CPUs: contention is per entry, never global. */
static __always_inline void add_atomic(struct tm_counters *c, const struct tm_counters *d)
{
	if (d->in_packets) {
		__sync_fetch_and_add(&c->in_bytes, d->in_bytes);
		__sync_fetch_and_add(&c->in_packets, d->in_packets);
	}
	if (d->out_packets) {
		__sync_fetch_and_add(&c->out_bytes, d->out_bytes);
		__sync_fetch_and_add(&c->out_packets, d->out_packets);
	}
}

static __always_inline void add(struct tm_counters *c, const struct tm_counters *d)
{
	c->in_bytes += d->in_bytes;
	c->in_packets += d->in_packets;
	c->out_bytes += d->out_bytes;
	c->out_packets += d->out_packets;
}

/*
 * A map's first entry of key, made from init: racing CPUs may both try to
 * make it; one wins, and both get the same entry. *made: this call made it.
 * Callers look up first and build init only on a miss, so the common case
 * is one lookup and nothing more.
 */
static __always_inline void *insert(void *map, const void *key, const void *init, bool *made)
{
	int err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);

	if (made)
		*made = !err;
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void count_user(const struct tm_slot *s)
{
	struct tm_user_key key = {
		.uid = s->key.uid,
		.family = s->key.family,
	};
	struct tm_counters *c;
	struct tm_global *g;

	c = bpf_map_lookup_elem(&users, &key);
	if (!c) {
		struct tm_counters zero = {};

		c = insert(&users, &key, &zero, NULL);
	}
	if (c) {
		add(c, &s->c);
		return;
	}
	g = global_counters();
	if (g) {
		g->users_full_bytes += s->c.in_bytes + s->c.out_bytes;
		g->users_full_packets += s->c.in_packets + s->c.out_packets;
	}
}

/*
 * A user's first row of key: one more against their quota, or, with the
 * quota used up, their row "other" (same user and family, nothing else).
 */
static __always_inline struct tm_detail *detail_insert(struct tm_detail_key *key,
						      const struct tm_owner *o)
{
	struct tm_detail fresh = {};
	struct tm_global *g;
	struct tm_detail *d;
	__u32 one = 1, *q;
	bool made = false;

	q = bpf_map_lookup_elem(&quota, &key->uid);
	if (q && *q >= control.details_quota) {
		key->pid = TM_PID_OTHER;
		key->cgroup_id = 0;
		key->netns_cookie = 0;
		key->ifindex = 0;
		key->proto = 0;
		g = global_counters();
		if (g)
			g->details_other++;
		d = bpf_map_lookup_elem(&details, key);
		if (d)
			return d;
		return insert(&details, key, &fresh, NULL);
	}
	__builtin_memcpy(fresh.comm, o->comm, sizeof(fresh.comm));
	d = insert(&details, key, &fresh, &made);
	if (made) {
		if (q)
			__sync_fetch_and_add(q, 1);
		else if (bpf_map_update_elem(&quota, &key->uid, &one, BPF_NOEXIST) &&
			 (q = bpf_map_lookup_elem(&quota, &key->uid)))
			__sync_fetch_and_add(q, 1);
	}
	return d;
}

/* One entry feeds tm-stat --by proc, iface, proto and cgroup. */
static __always_inline void count_detail(const struct tm_owner *o, const struct tm_slot *s)
{
	struct tm_detail_key key = {
		.uid = s->key.uid,
		.pid = o->pid,
		.cgroup_id = o->cgroup_id,
		.netns_cookie = o->netns_cookie,
		.ifindex = s->ifindex,
		.family = s->key.family,
		.proto = s->key.proto,
	};
	struct tm_detail *d;
	struct tm_global *g;

	d = bpf_map_lookup_elem(&details, &key);
	if (!d)
		d = detail_insert(&key, o);
	if (d) {
		add_atomic(&d->c, &s->c);
		return;
	}
	g = global_counters();
	if (g) {
		g->details_full_bytes += s->c.in_bytes + s->c.out_bytes;
		g->details_full_packets += s->c.in_packets + s->c.out_packets;
	}
}

/*
 * The connection as its local end sees it. The map is an LRU: when it is
 * full the least recently active connection makes room, and its bytes
 * stay in the per-user totals, which never depend on this map.
 */
static __always_inline void count_conn(const struct tm_owner *o, const struct tm_slot *s)
{
	struct tm_conn *v;

	v = bpf_map_lookup_elem(&conns, &s->key);
	if (!v) {
		struct tm_conn fresh = {
			.first_ns = s->first_ns,
			.pid = o->pid,
		};
		struct tm_global *g;
		bool made = false;

		__builtin_memcpy(fresh.comm, o->comm, sizeof(fresh.comm));
		v = insert(&conns, &s->key, &fresh, &made);
		g = made ? global_counters() : NULL;
		if (g)
			g->conns_new++;
		if (!v)
			return;
	}
	add_atomic(&v->c, &s->c);
	if (s->last_ns > v->last_ns)
		v->last_ns = s->last_ns;
}

/*
 * Reading the clock is a helper call; reading jiffies costs a load, since
 * the verifier inlines it. So a slot keeps the time of its first packet
 * and the jiffies of its first and last, and works out the time of its last
 * when it is read. The kernel's HZ is set by tm-load (control.hz); without
 * it, the clock it is.
 */
static __always_inline __u64 tick(void)
{
	return control.hz ? bpf_jiffies64() : bpf_ktime_get_coarse_ns();
}

static __always_inline void set_last_ns(struct tm_slot *s)
{
	__u32 hz = control.hz;

	if (hz)
		s->last_ns = s->first_ns + (s->last_tick - s->first_tick) *
					   (1000000000ull / hz);
	else
		s->last_ns = s->last_tick;
}

/* A slot's packets go into the maps. */
static __always_inline void flush(const struct tm_owner *o, struct tm_slot *s)
{
	struct tm_global *g;

	if (!s->c.in_packets && !s->c.out_packets)
		return;
	set_last_ns(s);
	if (s->untracked) {
		g = global_counters();
		if (g)
			add(&g->untracked, &s->c);
		return;
	}
	count_user(s);
	count_detail(o, s);
	count_conn(o, s);
}

static __always_inline void fill_event(struct tm_event *e, const struct pkt *p,
				       const struct tm_owner *o)
{
	e->ts_ns = bpf_ktime_get_ns();
	e->uid = p->key.uid;
	e->pid = o->pid;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	e->bytes = p->bytes;
	e->packets = p->packets;
	e->ifindex = p->ifindex;
	e->dir = p->egress ? TM_DIR_OUT : TM_DIR_IN;
	e->family = p->key.family;
	e->proto = p->key.proto;
	e->has_ports = p->has_ports;
	e->sport = p->egress ? p->key.lport : p->key.rport;
	e->dport = p->egress ? p->key.rport : p->key.lport;
	e->netns = o->netns;
	__builtin_memcpy(e->saddr, p->egress ? p->key.laddr : p->key.raddr, 16);
	__builtin_memcpy(e->daddr, p->egress ? p->key.raddr : p->key.laddr, 16);
}

/* Into a user's own ring, if their stream has one; always woken. */
static __always_inline void emit_user(__u32 key, const struct pkt *p, const struct tm_owner *o)
{
	struct tm_global *g;
	struct tm_event *e;
	void *ring;

	ring = bpf_map_lookup_elem(&user_rings, &key);
	if (!ring)
		return;
	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		g = global_counters();
		if (g)
			g->user_events_lost++;
		return;
	}
	fill_event(e, p, o);
	bpf_ringbuf_submit(e, 0);
}

/* A tracked packet's event, into each ring that is read: users' own, root's. */
static __always_inline void emit(const struct pkt *p, const struct tm_owner *o)
{
	struct tm_event *e;
	__u64 queued;

	/* The control words first: with no stream, they are all it reads. */
	if (control.user_rings && !p->untracked) {
		emit_user(p->key.uid, p, o);
		emit_user(TM_UID_ALL, p, o);
	}
	if (!control.reader_pid || p->untracked)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		struct tm_global *g = global_counters();

		if (g)
			g->events_lost++;
		return;
	}
	fill_event(e, p, o);
	/*
	 * Waking the reader costs more than the rest of the event: wake it
	 * once, as the queue grows past a batch. It reads all there is before
	 * it sleeps, and polls with a timeout, so a quiet stream still flows
	 * within that timeout, and so does one whose wake-up was missed when
	 * two CPUs stepped past the mark together.
	 */
	queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(e, queued >= control.wake_bytes &&
			      queued < control.wake_bytes + WAKE_STEP ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* The packet as a slot of its own. */
static __always_inline void fill_slot(struct tm_slot *s, struct pkt *p, __u64 now)
{
	s->first_ns = bpf_ktime_get_coarse_ns();
	s->first_tick = now;
	s->last_tick = now;
	__builtin_memcpy(&s->key, &p->key, sizeof(s->key));
	s->ifindex = p->ifindex;
	s->valid = 1;
	s->masks_gen = control.masks_gen;
	s->untracked = untracked(&p->key);
	p->untracked = s->untracked;
	if (p->egress) {
		s->c.out_bytes = p->bytes;
		s->c.out_packets = p->packets;
	} else {
		s->c.in_bytes = p->bytes;
		s->c.in_packets = p->packets;
	}
}

/* The packet has the slot's key and the masks have not changed since. */
static __always_inline bool same_slot(const struct tm_slot *s, const struct pkt *p)
{
	const __u64 *a = (const void *)&s->key, *b = (const void *)&p->key;

	return s->valid && s->masks_gen == control.masks_gen &&
	       a[0] == b[0] && a[1] == b[1] && a[2] == b[2] &&
	       a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

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

/*
 * Each interface a slot starts on gets its name in "ifnames", as its own
 * namespace names it, while it exists; a socket remembers the last one it
 * checked, so a socket that keeps no slot does not look it up each time.
 */
static __always_inline void name_iface(const struct sk_buff___tm *k, struct tm_sock *st,
				       const struct tm_owner *o, __u32 ifindex)
{
	struct tm_iface_key key = {
		.netns_cookie = o->netns_cookie,
		.ifindex = ifindex,
	};
	struct net_device___tm *dev;

	if (st && st->named_ifindex == ifindex)
		return;
	if (!bpf_map_lookup_elem(&ifnames, &key)) {
		struct tm_iface v = { .netns = o->netns };

		dev = k->dev;
		if (!dev || bpf_probe_read_kernel_str(v.name, sizeof(v.name), dev->name) < 0)
			return;
		bpf_map_update_elem(&ifnames, &key, &v, BPF_NOEXIST);
	}
	if (st)
		st->named_ifindex = ifindex;
}

/*
 * The packet's slot is another, or the socket keeps none: the packet gets
 * its own, which takes the socket's place (whose slot leaves for the maps)
 * or goes to the maps itself.
 */
static __always_inline void settle(struct __sk_buff *skb, const struct sk_buff___tm *k,
				   struct tm_sock *st, struct pkt *p, __u64 now, bool keep)
{
	struct tm_owner none = { .comm = "?" };
	const struct tm_owner *o = &none;
	struct tm_slot fresh = {};
	struct tm_global *g;
	__u64 *a, *b, t;
	int i;

	if (st) {
		o = &st->owner;
		if (st->raw && raw_copy(skb, st, p)) {
			g = global_counters();
			if (g) {
				g->raw_copies_bytes += p->bytes;
				g->raw_copies_packets += p->packets;
			}
			return;
		}
	} else if (k) {
		set_netns(&none, k->sk);
	}
	if (k) {
		p->key.uid = sock_owner(k->sk);
		name_iface(k, st, o, p->ifindex);
	} else {
		p->key.uid = st ? st->owner.uid : TM_UID_UNKNOWN;
	}
	fill_slot(&fresh, p, now);
	if (st && keep) {
		a = (__u64 *)&st->slot;
		b = (__u64 *)&fresh;
		bpf_spin_lock(&st->lock);
		if (!st->direct) {
			st->seq++;
			barrier();
			/* Swapped word by word: no third copy on the stack. */
#pragma unroll
			for (i = 0; i < sizeof(fresh) / 8; i++) {
				t = a[i];
				a[i] = b[i];
				b[i] = t;
			}
			barrier();
			st->seq++;
		}
		bpf_spin_unlock(&st->lock);
	}
	/* fresh is now what leaves: the socket's old slot, or this packet. */
	flush(o, &fresh);
	emit(p, o);
}

/*
 * With --iface, only packets on the interfaces named count. k: the kernel's
 * sk_buff, NULL where the programs may not read it.
 */
static __always_inline bool iface_counted(const struct sk_buff___tm *k,
					  const struct tm_sock *st, __u32 ifindex)
{
	struct tm_iface_key key = { .ifindex = ifindex };
	struct tm_owner o = {};

	/*
	 * The barriers keep the compiler from merging the two loads into one
	 * instruction on two kinds of pointer, which the verifier refuses.
	 */
	if (st) {
		key.netns_cookie = st->owner.netns_cookie;
		barrier();
	} else if (k) {
		set_netns(&o, k->sk);
		barrier();
		key.netns_cookie = o.netns_cookie;
	}
	return bpf_map_lookup_elem(&ifaces, &key) != NULL;
}

/*
 * Most packets only add to their socket's slot: one socket-storage lookup
 * (the kernel caches it in the socket) and a compare, under the slot's
 * lock. The maps are written when the slot changes key, when the socket is
 * released, and for every packet of a socket that keeps no slot: one
 * released, one made before the load or by the kernel, a listener, a raw
 * socket.
 *
 * by_socket: the owner is read from the socket itself, through the
 * kernel's sk_buff (TM_OWNER_SOCKET); else it is the creator recorded in
 * the socket's storage, and for a socket made before the load or by the
 * kernel, the socket's UID as its network namespace's user namespace sees
 * it (a raw one's: unknown, the kernel's).
 */
static __always_inline void account(struct __sk_buff *skb, int egress, const bool by_socket)
{
	struct sk_buff___tm *k = by_socket ? bpf_cast_to_kern_ctx(skb) : NULL;
	struct pkt p = {
		.bytes = skb->len,
		/* A GSO/GRO super-packet carries gso_segs segments, a plain one 1. */
		.packets = skb->gso_segs ? skb->gso_segs : 1,
		.egress = egress,
		.ifindex = skb->ifindex,
		.key.family = skb_family(skb),
	};
	struct tm_sock *st = NULL;
	struct bpf_sock *sk, *full;
	bool listener = false, direct = false;
	__u64 now;

	sk = skb->sk;
	if (sk) {
		/* NULL for a socket that is not a full one. */
		st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		/*
		 * A listener's packets (SYN-ACKs) go straight to the maps: its
		 * storage is copied to every socket it accepts, slot and all.
		 */
		listener = sk->state == BPF_TCP_LISTEN;
	}
	/*
	 * Storage made here, not when the socket was: a socket older than the
	 * load, or one of the kernel's, which is never released. Their packets
	 * go straight to the maps. Marked direct before the owner is set, so
	 * no CPU that sees the owner can still make a slot.
	 */
	if (st && !st->owner.cgroup_id) {
		bpf_spin_lock(&st->lock);
		st->direct = 1;
		bpf_spin_unlock(&st->lock);
		st->owner.comm[0] = '?';
		full = sk ? bpf_sk_fullsock(sk) : NULL;
		st->raw = full && full->type == SOCK_RAW;
		if (k) {
			set_netns(&st->owner, k->sk);
			st->owner.uid = sock_owner(k->sk);
		} else {
			/* Its namespace unknown: Linux 6.1 has no way to it here. */
			st->owner.uid = st->raw ? TM_UID_UNKNOWN : bpf_get_socket_uid(skb);
		}
		st->owner.cgroup_id = bpf_skb_cgroup_id(skb);
	}
	if (control.ifaces && !iface_counted(k, st, p.ifindex))
		return;
	parse(skb, &p);
	now = tick();
	if (st && !listener) {
		bpf_spin_lock(&st->lock);
		/* The owner is the socket's: only a new slot works it out. */
		p.key.uid = st->slot.key.uid;
		if (same_slot(&st->slot, &p) && !st->direct) {
			if (egress) {
				st->slot.c.out_bytes += p.bytes;
				st->slot.c.out_packets += p.packets;
			} else {
				st->slot.c.in_bytes += p.bytes;
				st->slot.c.in_packets += p.packets;
			}
			st->slot.last_tick = now;
			p.untracked = st->slot.untracked;
			bpf_spin_unlock(&st->lock);
			emit(&p, &st->owner);
			return;
		}
		/* Once direct, always: settle need not look again. */
		direct = st->direct;
		bpf_spin_unlock(&st->lock);
	}
	settle(skb, k, st, &p, now, !listener && !direct);
}

/*
 * The creating task's cgroup and its ancestors, as far up as one is not
 * yet recorded: name and parent, while they exist, so the cgroup keeps its
 * path after it is removed. The kernel's own objects are read with probes
 * (its cgroup names are not reachable otherwise from this hook).
 */
static __always_inline struct kernfs_node___tm *kn_parent(struct kernfs_node___tm *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

static __always_inline void record_cgroups(void)
{
	struct task_struct___tm *task = (void *)bpf_get_current_task();
	struct kernfs_node___tm *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	struct kernfs_node___tm *parent;
	struct tm_global *g;
	struct tm_cgroup *v;
	__u32 zero = 0;
	__u64 id;
	int i;

	v = bpf_map_lookup_elem(&cgroup_scratch, &zero);
	if (!v)
		return;
	for (i = 0; i < 64 && kn; i++) {
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&cgroups, &id))
			return;
		parent = kn_parent(kn);
		v->parent = parent ? BPF_CORE_READ(parent, id) : 0;
		if (bpf_probe_read_kernel_str(v->name, sizeof(v->name), BPF_CORE_READ(kn, name)) < 0)
			return;
		if (bpf_map_update_elem(&cgroups, &id, v, BPF_NOEXIST) == -E2BIG) {
			g = global_counters();
			if (g)
				g->cgroups_full++;
			return;
		}
		kn = parent;
	}
}

SEC("cgroup/sock_create")
int tm_sock_create(struct bpf_sock *sk)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	struct tm_sock *st;

	if (!bpf_map_lookup_elem(&cgroups, &cgroup_id))
		record_cgroups();
	st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st) {
		struct task_struct___tm *task = (void *)bpf_get_current_task();

		st->owner.pid = bpf_get_current_pid_tgid() >> 32;
		/* The UID in the initial user namespace, a container's too. */
		st->owner.uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(st->owner.comm, sizeof(st->owner.comm));
		/* A socket is made in its maker's network namespace. */
		st->owner.netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
		st->owner.netns_cookie = bpf_get_netns_cookie(sk);
		/* A raw socket keeps no slot: raw_copy() looks at each packet. */
		st->raw = sk->type == SOCK_RAW;
		st->direct = st->raw;
		st->owner.cgroup_id = cgroup_id;
	}
	return 1;
}

/* The socket keeps no slot from now on; the one it had goes to the maps. */
static __always_inline void go_direct(struct tm_sock *st)
{
	struct tm_slot s = {};

	bpf_spin_lock(&st->lock);
	st->direct = 1;
	st->seq++;
	barrier();
	s = st->slot;
	st->slot.valid = 0;
	st->slot.c.in_bytes = 0;
	st->slot.c.in_packets = 0;
	st->slot.c.out_bytes = 0;
	st->slot.c.out_packets = 0;
	barrier();
	st->seq++;
	bpf_spin_unlock(&st->lock);
	flush(&st->owner, &s);
}

/*
 * A socket closed by its process may still send (what is left in its
 * buffer, the FIN) and receive: from now on, those packets go straight to
 * the maps.
 */
SEC("cgroup/sock_release")
int tm_sock_release(struct bpf_sock *sk)
{
	struct tm_sock *st = bpf_sk_storage_get(&socks, sk, 0, 0);

	if (st)
		go_direct(st);
	return 1;
}

/*
 * A connection its server never accepts is never released: it goes when
 * the listener closes, by way of TCP_CLOSE. So each connection a listener
 * makes asks to be told of its state changes, and goes direct as it closes.
 */
SEC("sockops")
int tm_sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk;
	struct tm_sock *st;

	if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
		return 1;
	}
	if (ops->op != BPF_SOCK_OPS_STATE_CB || ops->args[1] != BPF_TCP_CLOSE)
		return 1;
	sk = ops->sk;
	if (!sk)
		return 1;
	st = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (st)
		go_direct(st);
	return 1;
}

/*
 * The slots not yet in the maps, one struct tm_pending each, for the
 * commands to add to what the maps hold (pinned as "pending"). Kernels
 * differ in which iterator they let do it, so there are three, tried in
 * this order (enum tm_pending_kind): one over the socket storage itself,
 * each socket once; one over every open file of every task; and that one
 * again with the storage found by address, for kernels that will not hand
 * the file's socket to bpf_sk_storage_get(). Over files, a socket open in
 * several fds comes once per fd, and its cookie lets the reader keep one;
 * a socket with no fd (waiting in a listener's accept queue, or in flight
 * in a unix socket) is not seen until it has one again, or until its slot
 * goes to the maps.
 */
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_sk_storage_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	struct sock *sk;
	void *value;
} __attribute__((preserve_access_index));

struct socket {
	struct sock *sk;
} __attribute__((preserve_access_index));

/*
 * A socket's slot, read whole: not while it is swapped (seq odd), nor if a
 * swap came in between. A few tries; one that never settles is left to the
 * next reading. probe: st is a kernel address, read with probes.
 */
static __always_inline bool read_pending(struct tm_pending *rec, const struct tm_sock *st,
					 const bool probe)
{
	__u16 seq, again;
	int i;

	if (probe)
		bpf_probe_read_kernel(&rec->owner, sizeof(rec->owner), &st->owner);
	else
		__builtin_memcpy(&rec->owner, &st->owner, sizeof(rec->owner));
	for (i = 0; i < 4; i++) {
		if (probe) {
			if (bpf_probe_read_kernel(&seq, sizeof(seq), &st->seq) ||
			    bpf_probe_read_kernel(&rec->slot, sizeof(rec->slot), &st->slot) ||
			    bpf_probe_read_kernel(&again, sizeof(again), &st->seq))
				return false;
		} else {
			seq = READ_ONCE(st->seq);
			barrier();
			__builtin_memcpy(&rec->slot, &st->slot, sizeof(rec->slot));
			barrier();
			again = READ_ONCE(st->seq);
		}
		if (!(seq & 1) && seq == again)
			break;
	}
	if (i == 4 || !rec->slot.valid || (!rec->slot.c.in_packets && !rec->slot.c.out_packets))
		return false;
	set_last_ns(&rec->slot);
	return true;
}

SEC("iter/bpf_sk_storage_map")
int tm_pending_storage(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct tm_sock *st = ctx->value;
	struct sock *sk = ctx->sk;
	struct tm_pending rec;

	if (!sk || !st || !read_pending(&rec, st, false))
		return 0;
	rec.cookie = bpf_get_socket_cookie(sk);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task_file")
int tm_pending(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct tm_pending rec;
	struct tm_sock *st;
	struct socket *so;
	struct sock *sk;

	if (!file)
		return 0;
	so = bpf_sock_from_file(file);
	if (!so)
		return 0;
	sk = so->sk;
	if (!sk)
		return 0;
	st = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (!st || !read_pending(&rec, st, false))
		return 0;
	rec.cookie = bpf_get_socket_cookie(sk);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/*
 * The kernel's socket storage, as far as the walk below needs it: each
 * socket's list of its elements, one per storage map, each with its map
 * and its data.
 */
struct hlist_node___tm {
	struct hlist_node___tm *next;
} __attribute__((preserve_access_index));

struct hlist_head___tm {
	struct hlist_node___tm *first;
} __attribute__((preserve_access_index));

struct bpf_local_storage___tm {
	struct hlist_head___tm list;
} __attribute__((preserve_access_index));

struct bpf_local_storage_data___tm {
	void *smap;
	__u8 data[8];
} __attribute__((preserve_access_index));

struct bpf_local_storage_elem___tm {
	struct hlist_node___tm snode;
	struct bpf_local_storage_data___tm sdata;
} __attribute__((preserve_access_index));

struct sock___storage {
	struct bpf_local_storage___tm *sk_bpf_storage;
} __attribute__((preserve_access_index));

struct socket___tm {
	struct sock___storage *sk;
} __attribute__((preserve_access_index));

SEC("iter/task_file")
int tm_pending_files_core(struct bpf_iter__task_file *ctx)
{
	struct bpf_local_storage_elem___tm *e;
	struct file *file = ctx->file;
	struct sock___storage *sk;
	struct hlist_node___tm *n;
	struct socket___tm *so;
	const struct tm_sock *st = NULL;
	struct tm_pending rec;
	int i;

	if (!file)
		return 0;
	so = (void *)bpf_sock_from_file(file);
	if (!so)
		return 0;
	sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return 0;
	n = BPF_CORE_READ(sk, sk_bpf_storage, list.first);
	for (i = 0; i < 16 && n; i++) {
		e = (void *)n - bpf_core_field_offset(struct bpf_local_storage_elem___tm, snode);
		if (BPF_CORE_READ(e, sdata.smap) == (void *)&socks) {
			st = (void *)e + bpf_core_field_offset(struct bpf_local_storage_elem___tm, sdata) +
			     bpf_core_field_offset(struct bpf_local_storage_data___tm, data);
			break;
		}
		n = BPF_CORE_READ(n, next);
	}
	if (!st || !read_pending(&rec, st, true))
		return 0;
	/* Its address: unique while it is open, and all the reader needs. */
	rec.cookie = (__u64)sk;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

SEC("cgroup_skb/ingress")
int tm_ingress(struct __sk_buff *skb)
{
	account(skb, 0, true);
	return 1;
}

SEC("cgroup_skb/egress")
int tm_egress(struct __sk_buff *skb)
{
	account(skb, 1, true);
	return 1;
}

/* The same, on kernels that do not let the programs read the socket. */
SEC("cgroup_skb/ingress")
int tm_ingress_creator(struct __sk_buff *skb)
{
	account(skb, 0, false);
	return 1;
}

SEC("cgroup_skb/egress")
int tm_egress_creator(struct __sk_buff *skb)
{
	account(skb, 1, false);
	return 1;
}
