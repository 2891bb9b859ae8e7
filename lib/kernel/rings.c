// SPDX-License-Identifier: GPL-2.0
/*
 * Users' own event rings (user_rings, by UID): made for a user's tm-stream
 * by its privileged half, one stream of a user's at a time, and taken out
 * when it ends. A user's stream never reads root's ring, so it can neither
 * take, delay nor block anyone else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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
