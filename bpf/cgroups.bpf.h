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
	int i;

	v = bpf_map_lookup_elem(&cgroup_scratch, &zero);
	if (!v)
		return;
	for (i = 0; i < 64 && kn; i++) {
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&cgroups, &id))
			return;
		parent = kn_parent(kn);
		v->parent = parent ? BPF_CORE_READ(parent, id) : 0;
		if (bpf_probe_read_kernel_str(v->name, sizeof(v->name), BPF_CORE_READ(kn, name)) < 0)
			return;
		if (bpf_map_update_elem(&cgroups, &id, v, BPF_NOEXIST) == -E2BIG) {
			g = global_counters();
			if (g)
				g->cgroups_full++;
			return;
		}
		kn = parent;
	}
}

#endif /* __TM_CGROUPS_BPF_H__ */
