// SPDX-License-Identifier: GPL-2.0
/*
 * Counting: a slot's packets added to the per-user, per-detail and
 * per-connection maps (or to the untracked total), and the clock a slot
 * keeps its times by.
 */
#ifndef __TM_COUNT_BPF_H__
#define __TM_COUNT_BPF_H__

#include "maps.bpf.h"

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
		add_atomic(c, &s->c);
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
	struct tm_retired *r;
	struct tm_global *g;
	struct tm_detail *d;
	__u32 one = 1, *q, held = 0;
	bool made = false;

	q = bpf_map_lookup_elem(&quota, &key->uid);
	if (q) {
		held = *q;
		r = bpf_map_lookup_elem(&retired, &key->uid);
		if (r)
			held -= (__u32)r->rows;
	}
	if (held >= control.details_quota) {
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
 * A place in the user's queue for a new row of key: the next one, whose row,
 * if it still has it, goes. So past their share a user's own oldest row
 * makes room, never anyone else's. -1: no place (a map full).
 */
static __always_inline int conn_place(const struct tm_conn_key *key)
{
	struct tm_queue_key place = { .uid = key->uid };
	struct tm_conn_key *old;
	struct tm_share *sh;
	struct tm_conn *v;
	__u32 quota = control.conns_quota;

	sh = share_of(key->uid);
	if (!sh || !quota)
		return -1;
	place.pos = __sync_fetch_and_add(&sh->conns_next, 1) % quota;
	old = bpf_map_lookup_elem(&conn_queue, &place);
	if (old) {
		/* Not its row's place: two CPUs raced to make the row. */
		v = bpf_map_lookup_elem(&conns, old);
		if (v && v->pos == place.pos)
			bpf_map_delete_elem(&conns, old);
	}
	if (bpf_map_update_elem(&conn_queue, &place, key, BPF_ANY))
		return -1;
	return place.pos;
}

/*
 * The connection as its local end sees it. A user's rows past their share
 * make room for their new ones, oldest first; the bytes of a row that goes
 * stay in the per-user totals, which never depend on this map.
 */
static __always_inline void count_conn(const struct tm_owner *o, const struct tm_slot *s)
{
	struct tm_global *g;
	struct tm_conn *v;

	v = bpf_map_lookup_elem(&conns, &s->key);
	if (!v) {
		struct tm_conn fresh = {
			.first_ns = s->first_ns,
			.pid = o->pid,
			.cgroup_id = o->cgroup_id,
		};
		bool made = false;
		int pos;

		pos = conn_place(&s->key);
		if (pos >= 0) {
			fresh.pos = pos;
			__builtin_memcpy(fresh.comm, o->comm, sizeof(fresh.comm));
			v = insert(&conns, &s->key, &fresh, &made);
		}
		g = global_counters();
		if (g && made)
			g->conns_new++;
		else if (g && !v)
			g->conns_full++;
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

#endif /* __TM_COUNT_BPF_H__ */
