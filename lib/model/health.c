// SPDX-License-Identifier: GPL-2.0
/*
 * The meter's own health: what it counted apart (events lost, packets a
 * full map had no room for, evicted connections, raw sockets' copies,
 * unrecorded cgroups) and how full its maps are. Each figure is described
 * once, in TM_HEALTH (model.h); tm-status, the Prometheus exposition,
 * tm-stat's notes and tm-stream all read it from here.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "model.h"

#define G(field) ((uint64_t)h->g.field)
#define USED(m) ((uint64_t)h->map[TM_MAP_##m].used)
#define MAX(m) ((uint64_t)h->map[TM_MAP_##m].max)

#define TM_HEALTH_GET(id, key, prom, label, type, help, value, bytes, text, by, note) \
	static uint64_t get_##id(const struct tm_health *h) { return value; }
TM_HEALTH(TM_HEALTH_GET)
#undef TM_HEALTH_GET

const struct tm_health_item tm_health_items[TM_HEALTH_COUNT] = {
#define TM_HEALTH_ITEM(id, key, prom, label, type, help, value, bytes, text, by, note) \
	[TM_HEALTH_##id] = { key, prom, label, TM_HEALTH_##type, help, get_##id, \
			     TM_HEALTH_##bytes, text, by, note },
	TM_HEALTH(TM_HEALTH_ITEM)
#undef TM_HEALTH_ITEM
};

uint64_t tm_health_value(const struct tm_health *h, int id)
{
	return tm_health_items[id].get(h);
}

/* The counted-apart figures alone (no map's fill); 0 or -errno (said). */
int tm_health_counted(const struct tm_pins *p, struct tm_health *h)
{
	uint32_t zero = 0;
	int err;

	memset(h, 0, sizeof(*h));
	h->layout_version = p->control->layout_version;
	err = tm_percpu_lookup(p->fd[TM_MAP_GLOBAL], &zero, &h->g, sizeof(h->g));
	if (err)
		tm_err("cannot read %s/%s: %s", p->root, tm_maps[TM_MAP_GLOBAL].pin, strerror(-err));
	/* Nothing retired yet: no entry. */
	zero = TM_UID_HOST;
	if (!err && bpf_map_lookup_elem(p->fd[TM_MAP_RETIRED], &zero, &h->retired) && errno != ENOENT) {
		err = -errno;
		tm_err("cannot read %s/%s: %s", p->root, tm_maps[TM_MAP_RETIRED].pin, strerror(-err));
	}
	return err;
}

/* The counted-apart figures and every map's fill; 0 or -errno (said). */
int tm_health_read(const struct tm_pins *p, struct tm_health *h)
{
	int i, err = tm_health_counted(p, h);

	for (i = 0; !err && i < TM_MAP_COUNT; i++) {
		/* "masks" holds one map, the trie: that is what fills. */
		int fd = i == TM_MAP_MASKS ? tm_masks_trie(p->root, p->fd[i]) : p->fd[i];

		if (fd >= 0)
			tm_map_fill(fd, &h->map[i]);
		if (fd >= 0 && i == TM_MAP_MASKS)
			close(fd);
	}
	return err;
}

/* A reading's counted-apart figures, with the live connections it counted. */
void tm_health_of(struct tm_health *h, const struct tm_global *g, uint64_t conns_live)
{
	memset(h, 0, sizeof(*h));
	h->g = *g;
	h->map[TM_MAP_CONNS].used = conns_live;
}
