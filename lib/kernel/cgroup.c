// SPDX-License-Identifier: GPL-2.0
/* Finding cgroup v2 and opening directories in it. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "kernel.h"

/* mountinfo escapes blanks, tabs, newlines and backslashes as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/*
 * The first cgroup2 mount in this process's mount namespace: /sys/fs/cgroup
 * on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
 */
int tm_cgroup2_mount(char *buf, size_t len)
{
	char line[4096];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char *mnt, *save;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		/* id parent major:minor root mountpoint ... */
		mnt = strtok_r(line, " ", &save);
		for (i = 0; i < 4 && mnt; i++)
			mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		unescape(mnt);
		snprintf(buf, len, "%s", mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int tm_cgroup_open(const char *path, int *fd, uint64_t *id)
{
	char where[4096] = "nowhere: no cgroup2 mount";
	struct statfs sfs;
	struct stat st;
	int cfd;

	tm_cgroup2_mount(where, sizeof(where));
	cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		int err = -errno;

		tm_usage_err("'%s': %s (cgroup v2 is mounted at %s)", path,
			     strerror(-err), where);
		return -TM_EUSAGE;
	}
	if (fstatfs(cfd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC ||
	    fstat(cfd, &st)) {
		tm_usage_err("'%s': not a cgroup v2 directory (cgroup v2 is mounted at %s)",
			     path, where);
		close(cfd);
		return -TM_EUSAGE;
	}
	*fd = cfd;
	/* On cgroup2 the inode number is the cgroup id the kernel reports. */
	*id = st.st_ino;
	return 0;
}

/*
 * Records dir, its ancestors up to the cgroup v2 mount, and every cgroup
 * below it in the "cgroups" map (fd): what the programs record themselves
 * only for cgroups that make a socket after the load. Existing entries
 * stay. Best effort: a cgroup removed during the walk is skipped.
 */
static int record_fd;
static size_t record_mntlen;

static int record_one(const char *path, uint64_t id)
{
	struct tm_cgroup v = {};
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (strlen(path) <= record_mntlen || !slash) {
		/* The mount's root: the root cgroup, "" with no parent. */
		return bpf_map_update_elem(record_fd, &id, &v, BPF_NOEXIST);
	}
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (stat(parent, &st))
		return -errno;
	v.parent = st.st_ino;
	snprintf(v.name, sizeof(v.name), "%s", slash + 1);
	return bpf_map_update_elem(record_fd, &id, &v, BPF_NOEXIST);
}

static int record_walk(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_D && record_one(path, st->st_ino) && errno == E2BIG)
		return 1;	/* full: the rest would not fit either */
	return 0;
}

int tm_cgroups_record(int fd, const char *dir)
{
	char mnt[PATH_MAX], up[PATH_MAX];
	struct stat st;
	char *slash;

	if (tm_cgroup2_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	record_fd = fd;
	record_mntlen = strlen(mnt);
	if (record_mntlen == 1)
		record_mntlen = 0;	/* mounted on / */
	snprintf(up, sizeof(up), "%s", dir);
	while (strlen(up) > record_mntlen && (slash = strrchr(up, '/'))) {
		*slash = '\0';
		if (strlen(up) < record_mntlen)
			break;
		if (!stat(*up ? up : "/", &st))
			record_one(*up ? up : "/", st.st_ino);
	}
	nftw(dir, record_walk, 32, FTW_PHYS | FTW_MOUNT);
	return 0;
}
