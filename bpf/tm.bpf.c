// SPDX-License-Identifier: GPL-2.0
/*
 * tm's datapath: cgroup_skb programs that count every packet of the sockets
 * in the attached cgroups against the socket owner's UID. They never drop:
 * both programs always return 1 ("allow").
 *
 * This file holds the programs only; what they do is in headers by concern:
 *   maps.bpf.h     the control words and every map
 *   kernel.bpf.h   the kernel's objects read with CO-RE, and the owner
 *   parse.bpf.h    a packet's family, addresses, protocol and ports
 *   masks.bpf.h    the untracked networks
 *   slot.bpf.h     the socket's slot: the whole packet path (account())
 *   count.bpf.h    a slot's packets into the maps
 *   events.bpf.h   per-packet events into the rings
 *   raw.bpf.h      raw sockets' copies
 *   iface.bpf.h    the interface filter and names
 *   cgroups.bpf.h  cgroups recorded with their names
 *   pending.bpf.h  the pending iterators' side
 */
#include "common.bpf.h"
#include "maps.bpf.h"
#include "slot.bpf.h"
#include "cgroups.bpf.h"
#include "pending.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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
int tm_pending_files(struct bpf_iter__task_file *ctx)
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
