// SPDX-License-Identifier: GPL-2.0
/*
 * Event rings: reading one, and users' own (user_rings, by UID), made for
 * a user's tm-stream by its privileged half, one stream of a user's at a
 * time, and taken out when it ends. A user's stream never reads root's
 * ring, so it can neither take, delay nor block anyone else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "kernel.h"

/*
 * The pid of the stream whose ring is in user_rings at key (its name says),
 * if that stream still runs; else 0.
 */
pid_t tm_ring_holder(int rings, uint32_t key)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), id;
	unsigned int pid = 0;
	int fd;

	if (bpf_map_lookup_elem(rings, &key, &id))
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || sscanf(info.name, "tm_u%u", &pid) != 1)
		pid = 0;
	close(fd);
	return pid && (pid_t)pid != getpid() && !kill(pid, 0) ? (pid_t)pid : 0;
}

/*
 * The user's own ring: made, and put in user_rings under their UID (an
 * admin group member's under TM_UID_ALL, for every event), so the programs
 * write their events into it too. One stream of a user's at a time, so no
 * user can make rings without end; a ring whose stream is gone is
 * replaced. *rings: the map, writable; *ring_id.
 */
int tm_user_ring(struct tm_pins *rw, uint32_t key, int *rings, uint32_t *ring_id)
{
	int ring, err = 0;
	char name[BPF_OBJ_NAME_LEN];
	pid_t holder;
	uint32_t old;
	bool had;

	*rings = fcntl(rw->fd[TM_MAP_USER_RINGS], F_DUPFD_CLOEXEC, 0);
	if (*rings < 0) {
		err = -errno;
		tm_err("cannot open the users' rings: %s", strerror(-err));
		return err;
	}
	holder = tm_ring_holder(*rings, key);
	if (holder) {
		tm_err("you have a tm-stream running already (pid %d): one at a time", (int)holder);
		close(*rings);
		return -EBUSY;
	}
	/* Named for its stream, so the next can tell whether it still runs. */
	snprintf(name, sizeof(name), "tm_u%d", (int)getpid());
	ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name, 0, 0, TM_USER_RING_SIZE, NULL);
	if (ring < 0) {
		err = -errno;
		tm_err("cannot make your event ring: %s", strerror(-err));
		close(*rings);
		return err;
	}
	/* A gone stream's ring, if any, is replaced: counted once. */
	had = !bpf_map_lookup_elem(*rings, &key, &old);
	if (bpf_map_update_elem(*rings, &key, &ring, BPF_ANY)) {
		err = -errno;
		tm_err("cannot register your event ring: %s", strerror(-err));
		close(*rings);
		close(ring);
		return err;
	}
	if (!had)
		__atomic_fetch_add(&rw->control->user_rings, 1, __ATOMIC_SEQ_CST);
	*ring_id = tm_map_id(ring);
	return ring;
}

/* The ring at key out of user_rings, if it is still ring_id (a later stream may have put its own in). */
void tm_user_ring_drop(struct tm_pins *rw, int rings, uint32_t key, uint32_t ring_id)
{
	uint32_t id = 0;

	if (!bpf_map_lookup_elem(rings, &key, &id) && id == ring_id &&
	    !bpf_map_delete_elem(rings, &key))
		__atomic_fetch_sub(&rw->control->user_rings, 1, __ATOMIC_SEQ_CST);
}

/*
 * Reading a ring (the kernel's layout, Documentation/bpf/ringbuf.rst): the
 * consumer's position on a page of its own, written by us; the producer's
 * on the next, then the data, mapped twice so a record that wraps reads
 * straight. libbpf's reader writes the consumer position back after every
 * record; the programs read it on every reserve, so each packet's event
 * waited on a cache line the reader had just taken. This one hands back
 * its place once a batch.
 */
#define GIVE_BACK	65536	/* bytes read before the place is handed back */

int tm_ring_open(struct tm_ring *r, int map_fd, tm_ring_cb cb, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *p;

	memset(r, 0, sizeof(*r));
	r->fd = map_fd;
	r->cb = cb;
	r->ctx = ctx;
	r->page = sysconf(_SC_PAGESIZE);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries)
		return -EINVAL;
	r->mask = info.max_entries - 1;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer = p;
	r->data_len = r->page + 2 * (size_t)info.max_entries;
	p = mmap(NULL, r->data_len, PROT_READ, MAP_SHARED, map_fd, r->page);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(r->consumer, r->page);
		r->consumer = NULL;
		return err;
	}
	r->producer = p;
	r->data = (const char *)p + r->page;
	return 0;
}

/* A record's room in the ring: its header and itself, 8-byte aligned. */
static unsigned long room(__u32 len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
}

/*
 * Every record there is now, each to the callback (a non-zero return
 * stops there, that record read). Records read, or the callback's error.
 */
int tm_ring_consume(struct tm_ring *r)
{
	unsigned long cons = __atomic_load_n(r->consumer, __ATOMIC_RELAXED), given = cons;
	unsigned long prod, start = cons;
	int n = 0, err = 0;

	while (!err && (prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE)) != cons) {
		while (!err && cons < prod) {
			const __u32 *hdr = (const void *)(r->data + (cons & r->mask));
			__u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out;	/* still being written */
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				err = r->cb(r->ctx, (void *)(hdr + 2), len & ~BPF_RINGBUF_DISCARD_BIT);
				n++;
			}
			cons += room(len);
			if (cons - given >= GIVE_BACK) {
				__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
				given = cons;
			}
		}
	}
out:
	if (cons != given)
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
	r->read += cons - start;
	return err ? err : n;
}

/*
 * Waits up to timeout_ms for records (a signal ends the wait), then reads
 * them (tm_ring_consume).
 */
int tm_ring_poll(struct tm_ring *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return tm_ring_consume(r);
}

void tm_ring_close(struct tm_ring *r)
{
	if (r->consumer)
		munmap(r->consumer, r->page);
	if (r->producer)
		munmap((void *)r->producer, r->data_len);
	memset(r, 0, sizeof(*r));
}
