// SPDX-License-Identifier: GPL-2.0
/*
 * The programs' state: the control words tm-load sets (.data, read by every
 * program) and every map, in the order of TM_MAPS (tm_abi.h); with the two
 * ways into them that all the others use.
 */
#ifndef __TM_MAPS_BPF_H__
#define __TM_MAPS_BPF_H__

#include "common.bpf.h"

struct tm_control control = {
	.layout_version = TM_LAYOUT_VERSION,
	.wake_bytes = TM_WAKE_BYTES,
	.details_quota = TM_DETAILS_MAX / TM_DETAILS_SHARE,
	.conns_quota = TM_CONNS_MAX / TM_CONNS_SHARE,
	.admin_gid = TM_GID_NONE,
};

/*
 * Shared by all CPUs and added to atomically, as conns and details are: it
 * is written only as a slot leaves its socket, and per-CPU values took
 * 8192 x 32 bytes a CPU (34 MiB on 128 CPUs), and a reader's copy of them
 * as much. Allocated on first use.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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

/*
 * Untracked networks: one LPM trie of both families, the one map in
 * "masks". tm-mask never edits the trie the programs read: it fills a new
 * one and puts it in place of the old with one update, so a packet (and a
 * reader) sees the old list or the new one, whole, never a list half
 * changed; the old trie is freed once no program can hold it.
 */
struct mask_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * TM_MASKS_MAX);
	/* Sizes, not types: an inner map's key type reaches BTF only as a
	 * forward declaration, which libbpf cannot size. */
	__uint(key_size, sizeof(struct tm_mask_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct mask_trie);
} masks SEC(".maps");

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

/*
 * Connections (tm-load --max-conns), each user's own oldest making room
 * for their new ones past their share (conn_queue).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
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

/*
 * How many rows of "details" each user made; less their rows in "retired",
 * what they hold (control.details_quota at most).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_USERS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} quota SEC(".maps");

/* Rows of "details" retired, by user (tm_abi.h): written by user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_USERS_MAX + 1);
	__type(key, __u32);
	__type(value, struct tm_retired);
} retired SEC(".maps");

/* Each user's connection rows in the order they were made, as big as "conns". */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_CONNS_MAX);
	__type(key, struct tm_queue_key);
	__type(value, struct tm_conn_key);
} conn_queue SEC(".maps");

/* What each user holds of the maps shared by all, and all users together. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TM_USERS_MAX + 1);
	__type(key, __u32);
	__type(value, struct tm_share);
} shares SEC(".maps");

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

static __always_inline struct tm_global *global_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global, &zero);
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

/* A user's entry in "shares", made on first use; NULL: the map is full. */
static __always_inline struct tm_share *share_of(__u32 uid)
{
	struct tm_share *sh, zero = {};

	sh = bpf_map_lookup_elem(&shares, &uid);
	return sh ? sh : insert(&shares, &uid, &zero, NULL);
}

#endif /* __TM_MAPS_BPF_H__ */
