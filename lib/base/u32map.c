// SPDX-License-Identifier: GPL-2.0
/*
 * A table keyed by 32-bit numbers (UIDs): open addressing with linear
 * probing, doubled when half full. Values are of one fixed size, zeroed
 * when inserted, and stay where they are until the table grows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

struct slot {
	uint32_t key;
	uint32_t used;
	/* the value follows, 8-byte aligned */
};

static size_t slot_size(const struct tm_u32map *m)
{
	return sizeof(struct slot) + ((m->vsize + 7) & ~(size_t)7);
}

static struct slot *slot_at(const struct tm_u32map *m, size_t i)
{
	return (struct slot *)(m->slots + i * slot_size(m));
}

/* The key's slot, or the empty one where it would go. */
static struct slot *find(const struct tm_u32map *m, uint32_t key)
{
	size_t mask = m->cap - 1, i = (key * 2654435761u) & mask;
	struct slot *s;

	while ((s = slot_at(m, i))->used && s->key != key)
		i = (i + 1) & mask;
	return s;
}

void *tm_u32map_get(const struct tm_u32map *m, uint32_t key)
{
	struct slot *s;

	if (!m->cap)
		return NULL;
	s = find(m, key);
	return s->used ? s + 1 : NULL;
}

static int grow(struct tm_u32map *m)
{
	struct tm_u32map bigger = *m;
	size_t i;

	bigger.cap = m->cap ? m->cap * 2 : 64;
	bigger.slots = calloc(bigger.cap, slot_size(m));
	if (!bigger.slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		struct slot *s = slot_at(m, i);

		if (s->used)
			memcpy(find(&bigger, s->key), s, slot_size(m));
	}
	free(m->slots);
	*m = bigger;
	return 0;
}

void *tm_u32map_put(struct tm_u32map *m, uint32_t key, bool *fresh)
{
	struct slot *s;

	if ((m->n + 1) * 2 > m->cap && grow(m))
		return NULL;
	s = find(m, key);
	if (fresh)
		*fresh = !s->used;
	if (!s->used) {
		s->used = 1;
		s->key = key;
		m->n++;
	}
	return s + 1;
}

void tm_u32map_free(struct tm_u32map *m, void (*free_value)(void *))
{
	size_t i;

	for (i = 0; free_value && i < m->cap; i++) {
		struct slot *s = slot_at(m, i);

		if (s->used)
			free_value(s + 1);
	}
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
