// SPDX-License-Identifier: GPL-2.0
/*
 * The pending iterators' side: the iterator contexts and the kernel's socket
 * storage as they read them, and one socket's slot read whole.
 */
#ifndef __TM_PENDING_BPF_H__
#define __TM_PENDING_BPF_H__

#include "maps.bpf.h"
#include "count.bpf.h"

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

#endif /* __TM_PENDING_BPF_H__ */
