// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own objects, as far as the packet path and the cgroup record
 * read them (CO-RE shadows), and the owner read from them.
 */
#ifndef __TM_KERNEL_BPF_H__
#define __TM_KERNEL_BPF_H__

#include "common.bpf.h"

/*
 * The kernel's side of what the programs read: only the fields used, found
 * by name in the running kernel's BTF (CO-RE), so no kernel header is
 * needed and the offsets are always the kernel's own.
 */
struct ns_common___tm {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct user_namespace___tm {
	int level;			/* 0: the host's */
} __attribute__((preserve_access_index));

struct net___tm {
	struct ns_common___tm ns;
	__u64 net_cookie;
	struct user_namespace___tm *user_ns;
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
	void *sk_socket;		/* NULL: no process's (yet, or any more) */
} __attribute__((preserve_access_index));

struct net_device___tm {
	char name[TM_IFNAMSIZ];
} __attribute__((preserve_access_index));

struct sk_buff___tm {
	struct net_device___tm *dev;
	struct sock___tm *sk;
} __attribute__((preserve_access_index));

struct kernfs_iattrs___tm {
	struct kuid_t___tm ia_uid;
} __attribute__((preserve_access_index));

struct kernfs_node___tm {
	__u64 id;
	const char *name;
	struct kernfs_iattrs___tm *iattr;	/* NULL: root's, as made */
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
 * Whether the socket's network namespace is owned by a user namespace other
 * than the host's: one any user may make, as unshare -rn does.
 */
static __always_inline bool netns_of_user(const struct sock___tm *sk)
{
	struct net___tm *net = sk ? sk->__sk_common.skc_net.net : NULL;
	struct user_namespace___tm *ns = net ? net->user_ns : NULL;

	return ns && ns->level > 0;
}

/* A kernfs node's parent: "__parent" since Linux 6.15, "parent" before. */
static __always_inline struct kernfs_node___tm *kn_parent(struct kernfs_node___tm *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

#endif /* __TM_KERNEL_BPF_H__ */
