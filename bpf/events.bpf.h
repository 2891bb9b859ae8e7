// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet events: into root's ring while tm-stream reads it, and into
 * each user's own ring their stream put in.
 */
#ifndef __TM_EVENTS_BPF_H__
#define __TM_EVENTS_BPF_H__

#include "maps.bpf.h"
#include "parse.bpf.h"

/* An event's room in the ring: its 8-byte header and the record. */
#define WAKE_STEP (8 + sizeof(struct tm_event))

/*
 * The time is the coarse clock's, to the kernel's tick (1 to 10 ms; 4 ms
 * on Debian's kernels): the fine clock is a helper call that was a third
 * of what an event cost with a reader attached. It never goes back, so one
 * socket's events keep their order; events in one tick share a time.
 */
static __always_inline void fill_event(struct tm_event *e, const struct pkt *p,
				       const struct tm_owner *o)
{
	e->ts_ns = bpf_ktime_get_coarse_ns();
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
	e->cgroup_id = o->cgroup_id;
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

#endif /* __TM_EVENTS_BPF_H__ */
