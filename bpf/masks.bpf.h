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
 * lookup settles it. With no entries of the family, no lookup at all; with
 * no trie in "masks" (a load killed before it put one there), none either.
 */
static __always_inline bool untracked(const struct tm_conn_key *k)
{
	struct tm_mask_key key = { .family = k->family };
	__u32 zero = 0;
	void *trie;

	if (k->family == TM_FAMILY_IPV4 ? !control.masks4 :
	    k->family == TM_FAMILY_IPV6 ? !control.masks6 : true)
		return false;
	trie = bpf_map_lookup_elem(&masks, &zero);
	if (!trie)
		return false;
	if (k->family == TM_FAMILY_IPV4) {
		key.prefixlen = TM_MASK_KEY_BITS + 32;
		__builtin_memcpy(key.addr, k->laddr, 4);
		if (!bpf_map_lookup_elem(trie, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 4);
	} else {
		key.prefixlen = TM_MASK_KEY_BITS + 128;
		__builtin_memcpy(key.addr, k->laddr, 16);
		if (!bpf_map_lookup_elem(trie, &key))
			return false;
		__builtin_memcpy(key.addr, k->raddr, 16);
	}
	return bpf_map_lookup_elem(trie, &key) != NULL;
}

#endif /* __TM_MASKS_BPF_H__ */
