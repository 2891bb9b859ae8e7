// SPDX-License-Identifier: GPL-2.0
/*
 * The socket's slot: most packets only add to it; a packet of another key
 * takes its place and the old one goes to the maps (count.bpf.h). account()
 * is the whole packet path of the cgroup_skb programs.
 */
#ifndef __TM_SLOT_BPF_H__
#define __TM_SLOT_BPF_H__

#include "maps.bpf.h"
#include "kernel.bpf.h"
#include "parse.bpf.h"
#include "masks.bpf.h"
#include "count.bpf.h"
#include "events.bpf.h"
#include "raw.bpf.h"
#include "iface.bpf.h"

/* The packet as a slot of its own. */
static __always_inline void fill_slot(struct tm_slot *s, struct pkt *p, __u64 now)
{
	s->first_ns = bpf_ktime_get_coarse_ns();
	s->first_tick = now;
	s->last_tick = now;
	__builtin_memcpy(&s->key, &p->key, sizeof(s->key));
	s->ifindex = p->ifindex;
	s->valid = 1;
	/*
	 * Read before the lists. An odd generation is an edit under way (or
	 * one killed half-way): what is looked up now is kept under a
	 * generation no edit ever leaves (even, and behind), so the next
	 * packet looks again until the edit is done.
	 */
	s->masks_gen = control.masks_gen & ~1u;
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
		name_iface(k, st, o, p->ifindex, p->key.uid);
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
	 * load, or one of the kernel's. A process's keeps a slot as a socket
	 * made since does: a reader finds it by its file, and its release or
	 * close moves it into the maps. The others' packets go straight to the
	 * maps: the kernel's socket is never released, a connection waiting in
	 * its listener's queue has no file and was not asked to be told of its
	 * close, a raw socket's packets are looked at one by one, and without
	 * the kernel's sk_buff (before Linux 6.3) neither is known. Marked
	 * direct before the owner is set, so no CPU that sees the owner can
	 * still make a slot.
	 */
	if (st && !st->owner.cgroup_id) {
		struct sock___tm *ksk = k ? k->sk : NULL;

		full = sk ? bpf_sk_fullsock(sk) : NULL;
		st->raw = full && full->type == SOCK_RAW;
		if (!ksk || st->raw || !ksk->sk_socket || BPF_CORE_READ_BITFIELD(ksk, sk_kern_sock)) {
			bpf_spin_lock(&st->lock);
			st->direct = 1;
			bpf_spin_unlock(&st->lock);
		}
		st->owner.comm[0] = '?';
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

#endif /* __TM_SLOT_BPF_H__ */
