// SPDX-License-Identifier: GPL-2.0
/* bpffs: paths under the pin root, its pins, its layout, its lock. */
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

const struct tm_map_pin tm_maps[TM_MAP_COUNT] = {
#define TM_MAP_ENTRY(id, pin, obj) [TM_MAP_##id] = { pin, obj },
	TM_MAPS(TM_MAP_ENTRY)
#undef TM_MAP_ENTRY
};

/* DIR/NAME into buf, or -ENAMETOOLONG said once: never a cut path. */
int tm_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		tm_err("'%s/%s': path too long", dir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

int tm_check_bpffs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs)) {
		int err = -errno;

		tm_usage_err("'%s': %s%s", path, strerror(-err), tm_priv_hint(err));
		return -TM_EUSAGE;
	}
	if (sfs.f_type != BPF_FS_MAGIC) {
		tm_usage_err("'%s': not on a BPF filesystem (bpffs)", path);
		return -TM_EUSAGE;
	}
	return 0;
}

/* A missing pin is left to the caller to explain. */
int tm_pin_get(const char *root, const char *name, int *fd)
{
	char path[PATH_MAX];
	int err;

	*fd = -1;
	err = tm_path(path, sizeof(path), root, name);
	if (err)
		return err;
	*fd = bpf_obj_get(path);
	if (*fd >= 0)
		return 0;
	err = -errno;
	if (err == -EACCES || err == -EPERM) {
		tm_err("cannot open pin root '%s': %s%s", root, strerror(-err),
		       tm_priv_hint(err));
		return err;
	}
	if (err != -ENOENT)
		tm_err("cannot open '%s': %s", path, strerror(-err));
	return err;
}

int tm_check_layout(int control_fd, const char *root)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct tm_control c;
	__u32 key = 0;

	if (bpf_obj_get_info_by_fd(control_fd, &info, &len)) {
		int err = -errno;

		tm_err("cannot read '%s/%s': %s", root, tm_maps[TM_MAP_CONTROL].pin,
		       strerror(-err));
		return err;
	}
	if (info.value_size != sizeof(c) || bpf_map_lookup_elem(control_fd, &key, &c) ||
	    c.layout_version != TM_LAYOUT_VERSION) {
		tm_err("'%s' holds a pin layout this tm does not understand (it knows version %d); "
		       "unload it with the tm that loaded it", root, TM_LAYOUT_VERSION);
		return -EPROTO;
	}
	return 0;
}

/* A pin of a root that was whole is missing: an unload has begun. */
void tm_pins_gone(const char *root)
{
	tm_err("nothing whole is loaded at '%s': it is being unloaded, or an unload "
	       "was stopped (tm-unload finishes it)", root);
}

/* Editors serialise on a directory lock; readers need none. */
int tm_lock(const char *dir, int *fd)
{
	int lfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		int err = -errno;

		tm_err("cannot lock '%s': %s%s", dir, strerror(-err), tm_priv_hint(err));
		if (lfd >= 0)
			close(lfd);
		return err;
	}
	*fd = lfd;
	return 0;
}
