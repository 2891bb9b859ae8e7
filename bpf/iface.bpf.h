// SPDX-License-Identifier: GPL-2.0
/*
 * Interfaces: the --iface filter, and each interface's name recorded in
 * its own namespace.
 */
#ifndef __TM_IFACE_BPF_H__
#define __TM_IFACE_BPF_H__

#include "maps.bpf.h"
#include "kernel.bpf.h"

/*
 * Whether an interface of a namespace owned by a user namespace other than
 * the host's (one any user can make, with unshare -rn) may be named on
 * uid's share; if so, it is counted on it and on all users' together.
 */
static __always_inline bool iface_share(__u32 uid)
{
	struct tm_share *sh = share_of(uid), *all = share_of(TM_UID_HOST);

	if (!sh || !all || sh->ifnames >= TM_IFNAMES_MAX / TM_IFNAMES_SHARE ||
	    all->ifnames >= TM_IFNAMES_MAX / 2)
		return false;
	__sync_fetch_and_add(&sh->ifnames, 1);
	__sync_fetch_and_add(&all->ifnames, 1);
	return true;
}

/*
 * Each interface a slot starts on gets its name in "ifnames", as its own
 * namespace names it, while it exists; a socket remembers the last one it
 * checked, so a socket that keeps no slot does not look it up each time.
 * uid: the packet's owner.
 */
static __always_inline void name_iface(const struct sk_buff___tm *k, struct tm_sock *st,
				       const struct tm_owner *o, __u32 ifindex, __u32 uid)
{
	struct tm_iface_key key = {
		.netns_cookie = o->netns_cookie,
		.ifindex = ifindex,
	};
	struct net_device___tm *dev;
	struct tm_global *g;

	if (st && st->named_ifindex == ifindex)
		return;
	if (!bpf_map_lookup_elem(&ifnames, &key)) {
		struct tm_iface v = { .netns = o->netns };

		dev = k->dev;
		if (!dev || bpf_probe_read_kernel_str(v.name, sizeof(v.name), dev->name) < 0)
			return;
		g = global_counters();
		/* (The kernel's own packets there are no user's: they name none.) */
		if (netns_of_user(k->sk) && (uid == TM_UID_UNKNOWN || !iface_share(uid))) {
			if (g)
				g->ifnames_share++;
		} else if (bpf_map_update_elem(&ifnames, &key, &v, BPF_NOEXIST) == -E2BIG) {
			if (g)
				g->ifnames_full++;
		}
	}
	if (st)
		st->named_ifindex = ifindex;
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

#endif /* __TM_IFACE_BPF_H__ */
