// SPDX-License-Identifier: GPL-2.0
/*
 * Cgroups by id, recorded at socket creation so a cgroup keeps its path
 * after it is removed.
 */
#ifndef __TM_CGROUPS_BPF_H__
#define __TM_CGROUPS_BPF_H__

#include "maps.bpf.h"
#include "kernel.bpf.h"

/*
 * Whether a cgroup uid owns (one below a cgroup delegated to them) may be
 * recorded on their share: what they recorded less what was retired, and
 * all users' likewise, each below its part of the map.
 */
static __always_inline bool cgroup_share(__u32 uid)
{
	struct tm_share *sh = share_of(uid), *all = share_of(TM_UID_HOST);
	struct tm_retired *r;
	__u32 held, held_all, host = TM_UID_HOST;

	if (!sh || !all)
		return false;
	held = sh->cgroups;
	r = bpf_map_lookup_elem(&retired, &uid);
	if (r)
		held -= (__u32)r->cgroups;
	held_all = all->cgroups;
	r = bpf_map_lookup_elem(&retired, &host);
	if (r)
		held_all -= (__u32)r->shared;
	return held < TM_CGROUPS_MAX / TM_CGROUPS_SHARE && held_all < TM_CGROUPS_MAX / 2;
}

/* A cgroup recorded on its owner's share. */
static __always_inline void cgroup_charge(__u32 uid)
{
	struct tm_share *sh = share_of(uid), *all = share_of(TM_UID_HOST);

	if (sh)
		__sync_fetch_and_add(&sh->cgroups, 1);
	if (all)
		__sync_fetch_and_add(&all->cgroups, 1);
}

/* The owner of a cgroup's directory: 0 (root) unless it was given away. */
static __always_inline __u32 cgroup_owner(struct kernfs_node___tm *kn)
{
	if (!bpf_core_field_exists(kn->iattr))
		return 0;
	return BPF_CORE_READ(kn, iattr, ia_uid.val);
}

/*
 * The creating task's cgroup and its ancestors, as far up as one is not
 * yet recorded: name and parent, while they exist, so the cgroup keeps its
 * path after it is removed. The kernel's own objects are read with probes
 * (its cgroup names are not reachable otherwise from this hook).
 */
static __always_inline void record_cgroups(void)
{
	struct task_struct___tm *task = (void *)bpf_get_current_task();
	struct kernfs_node___tm *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	struct kernfs_node___tm *parent;
	struct tm_global *g;
	struct tm_cgroup *v;
	__u32 zero = 0;
	__u64 id;
	int i, err;

	v = bpf_map_lookup_elem(&cgroup_scratch, &zero);
	if (!v)
		return;
	for (i = 0; i < 64 && kn; i++) {
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&cgroups, &id))
			return;
		parent = kn_parent(kn);
		v->parent = parent ? BPF_CORE_READ(parent, id) : 0;
		v->owner = cgroup_owner(kn);
		if (v->owner && !cgroup_share(v->owner)) {
			g = global_counters();
			if (g)
				g->cgroups_share++;
			return;
		}
		if (bpf_probe_read_kernel_str(v->name, sizeof(v->name), BPF_CORE_READ(kn, name)) < 0)
			return;
		err = bpf_map_update_elem(&cgroups, &id, v, BPF_NOEXIST);
		if (err == -E2BIG) {
			g = global_counters();
			if (g)
				g->cgroups_full++;
			return;
		}
		if (!err && v->owner)
			cgroup_charge(v->owner);
		kn = parent;
	}
}

#endif /* __TM_CGROUPS_BPF_H__ */
