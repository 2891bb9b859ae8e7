// SPDX-License-Identifier: GPL-2.0
/* The pinned maps read: per-CPU values summed, whole maps in batches, fill. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel.h"

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void percpu_sum(const void *percpu, void *sum, size_t value_size, int ncpus)
{
	size_t stride = round8(value_size), words = value_size / sizeof(__u64), i;
	__u64 *out = sum;
	int cpu;

	memset(sum, 0, value_size);
	for (cpu = 0; cpu < ncpus; cpu++) {
		const __u64 *v = (const void *)((const char *)percpu + cpu * stride);

		for (i = 0; i < words; i++)
			out[i] += v[i];
	}
}

int tm_percpu_lookup(int map_fd, const void *key, void *sum, size_t value_size)
{
	int ncpus = libbpf_num_possible_cpus();
	void *buf;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	buf = calloc(ncpus, round8(value_size));
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, key, buf))
		err = -errno;
	else
		percpu_sum(buf, sum, value_size, ncpus);
	free(buf);
	return err;
}

/*
 * Reads a whole hash with batch lookups, a few thousand entries a system
 * call, and hands each key with its value (copied, so aligned) to cb.
 */
int tm_map_for_each(int map_fd, size_t key_size, size_t value_size, tm_map_cb cb, void *ctx)
{
	__u32 chunk = 4096, count, i;
	__u64 batch[8], in_batch[8];
	bool first = true, done = false;
	char *keys = NULL, *vals = NULL, *sum = NULL;
	int err = 0;

	sum = malloc(value_size);
	while (!done && !err) {
		if (!keys) {
			keys = calloc(chunk, key_size);
			vals = calloc(chunk, value_size);
			if (!keys || !vals || !sum) {
				err = -ENOMEM;
				break;
			}
		}
		count = chunk;
		if (bpf_map_lookup_batch(map_fd, first ? NULL : in_batch, batch,
					 keys, vals, &count, NULL)) {
			if (errno == ENOENT) {
				done = true;
			} else if (errno == ENOSPC && chunk < (1u << 20)) {
				/* One hash bucket holds more than a chunk. */
				free(keys);
				free(vals);
				keys = vals = NULL;
				chunk *= 4;
				continue;
			} else {
				err = -errno;
				break;
			}
		}
		for (i = 0; i < count && !err; i++) {
			memcpy(sum, vals + (size_t)i * value_size, value_size);
			err = cb(keys + (size_t)i * key_size, sum, ctx);
		}
		memcpy(in_batch, batch, sizeof(batch));
		first = false;
	}
	free(keys);
	free(vals);
	free(sum);
	return err;
}

/* Memory the kernel charges for a map, as its fdinfo says. */
static uint64_t memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

void tm_map_fill(int fd, struct tm_map_fill *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char key[64], next[64];
	void *prev = NULL;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size > sizeof(key))
		return;
	m->type = info.type;
	m->max = info.max_entries;
	m->memlock = memlock(fd);
	if (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info.type == BPF_MAP_TYPE_RINGBUF || info.type == BPF_MAP_TYPE_SK_STORAGE)
		return;
	m->counted = true;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		m->used++;
		memcpy(key, next, info.key_size);
		prev = key;
	}
}
