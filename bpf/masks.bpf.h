// SPDX-License-Identifier: GPL-2.0
/*
 * The untracked networks (tm-mask): both ends of a connection in them.
 */
#ifndef __TM_MASKS_BPF_H__
#define __TM_MASKS_BPF_H__

#include "maps.bpf.h"

/*
 * A slot is untracked when both its ends lie in untracked networks. The
 * local end is looked up first: for most traffic of most sites that one
 * lookup settles it. With no entries, no lookup at all.
 */
static __always_inline bool untracked(const struct tm_conn_key *k)
{
	if (k->family == TM_FAMILY_IPV4) {
		struct tm_mask4_key key = { .prefixlen = 32 };

		if (!control.masks4)
			return false;
		__builtin_memcpy(key.addr, k->laddr, 4);
		if (!bpf_map_lookup_elem(&masks4, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 4);
		return bpf_map_lookup_elem(&masks4, &key) != NULL;
	}
	if (k->family == TM_FAMILY_IPV6) {
		struct tm_mask6_key key = { .prefixlen = 128 };

		if (!control.masks6)
			return false;
		__builtin_memcpy(key.addr, k->laddr, 16);
		if (!bpf_map_lookup_elem(&masks6, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 16);
		return bpf_map_lookup_elem(&masks6, &key) != NULL;
	}
	return false;
}

#endif /* __TM_MASKS_BPF_H__ */
