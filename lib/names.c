// SPDX-License-Identifier: GPL-2.0
/*
 * What rows are named by, besides users: cgroup paths (from one walk of the
 * cgroup v2 tree) and interface names, each looked up once per process.
 */
#include <ftw.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tm.h"

void tm_names_init(struct tm_names *n)
{
	struct timespec mono, real;

	memset(n, 0, sizeof(*n));
	n->ifnames.vsize = IF_NAMESIZE;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	n->mono_to_real = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			  (real.tv_nsec - mono.tv_nsec);
}

void tm_names_free(struct tm_names *n)
{
	size_t i;

	for (i = 0; i < n->ncg; i++)
		free(n->cg[i].path);
	free(n->cg);
	n->cg = NULL;
	tm_u32map_free(&n->ifnames, NULL);
	n->ncg = n->cgcap = 0;
}

static struct tm_names *walking;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct tm_names *n = walking;
	const char *rel = path + n->mntlen;

	if (flag != FTW_D)
		return 0;
	if (tm_grow(&n->cg, &n->cgcap, n->ncg, sizeof(n->cg[0])))
		return 1;
	n->cg[n->ncg].id = st->st_ino;
	n->cg[n->ncg].path = strdup(*rel ? rel : "/");
	if (!n->cg[n->ncg].path)
		return 1;
	n->ncg++;
	return 0;
}

/*
 * The cgroup v2 path of an id, relative to the mount ("/" is the root). A
 * cgroup that is gone by the time of the walk is "(gone: ID)".
 */
const char *tm_names_cgroup(struct tm_names *n, uint64_t id, char *buf, size_t len)
{
	char mnt[PATH_MAX];
	size_t i;

	if (!n->cg_walked) {
		n->cg_walked = true;
		if (!tm_cgroup2_mount(mnt, sizeof(mnt))) {
			n->mntlen = strlen(mnt);
			walking = n;
			nftw(mnt, walk_one, 32, FTW_PHYS | FTW_MOUNT);
			walking = NULL;
		}
	}
	for (i = 0; i < n->ncg; i++)
		if (n->cg[i].id == id)
			return n->cg[i].path;
	snprintf(buf, len, id ? "(gone: %" PRIu64 ")" : "?", id);
	return buf;
}

/*
 * The name of an interface in this network namespace, else its index; the
 * string lives as long as n. NULL only when out of memory.
 */
const char *tm_names_iface(struct tm_names *n, uint32_t ifindex)
{
	bool fresh;
	char *name = tm_u32map_put(&n->ifnames, ifindex, &fresh);

	if (name && fresh && !if_indextoname(ifindex, name))
		snprintf(name, IF_NAMESIZE, "%u", ifindex);
	return name;
}
