// SPDX-License-Identifier: GPL-2.0
/*
 * The floor tm's datapath is measured against: the least a per-UID meter
 * can do, one per-CPU hash lookup and two adds per packet, nothing else.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct counters {
	__u64 bytes;
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct counters);
} floor_users SEC(".maps");

static __always_inline int count(struct __sk_buff *skb)
{
	__u32 uid = bpf_get_socket_uid(skb);
	struct counters *c = bpf_map_lookup_elem(&floor_users, &uid);

	if (!c) {
		struct counters zero = {};

		bpf_map_update_elem(&floor_users, &uid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&floor_users, &uid);
		if (!c)
			return 1;
	}
	c->bytes += skb->len;
	c->packets += skb->gso_segs ? skb->gso_segs : 1;
	return 1;
}

SEC("cgroup_skb/ingress")
int floor_ingress(struct __sk_buff *skb)
{
	return count(skb);
}

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb)
{
	return count(skb);
}
