// SPDX-License-Identifier: GPL-2.0
/*
 * The pin root's life: its name, the lock on its parent that loads and
 * unloads take, and its removal in an order a kill cannot spoil. A load is
 * built beside the root in <root>-loading-PID and renamed into place; a
 * root is taken down links first and its marker, the control map, last.
 * So whatever instant a tm-load or tm-unload is killed at, what it leaves
 * is either whole, or a staging directory, or a root that still has its
 * marker (or is empty): the next tm-load or tm-unload, under the same lock,
 * knows all three and finishes the job.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kernel.h"

#define STAGING "-loading-"

/*
 * The pin root: --pin-root, else $TM_PIN_ROOT, else the default. It must
 * be an absolute path whose last part is a name without a dot (bpffs
 * reserves dots), with room below it for the load's own names. The same
 * answer from every command.
 */
int tm_root_name(const char *opt, struct tm_root *r)
{
	const char *env = getenv("TM_PIN_ROOT");
	const char *given = opt ? opt : env ? env : TM_DEFAULT_PIN_ROOT;
	const char *what = opt ? "--pin-root" : env ? "TM_PIN_ROOT" : "pin root";
	char *slash;
	size_t n, i;

	memset(r, 0, sizeof(*r));
	r->lock_fd = -1;
	n = strlen(given);
	/* Room for "-loading-PID/links/sock_release-ID" below it. */
	if (n >= sizeof(r->path) - 80) {
		tm_usage_err("%s '%.64s...': path too long", what, given);
		return -TM_EUSAGE;
	}
	memcpy(r->path, given, n + 1);
	while (n > 1 && r->path[n - 1] == '/')
		r->path[--n] = '\0';
	slash = strrchr(r->path, '/');
	for (i = 0; i < n; i++)
		if ((unsigned char)given[i] < 0x20 || given[i] == 0x7f) {
			char shown[256];

			tm_usage_err("%s '%s': a control character in the name", what,
				     tm_shown(given, n, shown, sizeof(shown)));
			return -TM_EUSAGE;
		}
	if (r->path[0] != '/' || !slash[1] || strchr(slash, '.')) {
		tm_usage_err("%s '%s': must be an absolute path whose last part is a name "
			     "with no dot (bpffs reserves dots)", what, given);
		return -TM_EUSAGE;
	}
	snprintf(r->parent, sizeof(r->parent), "%.*s", (int)(slash - r->path) ?: 1, r->path);
	r->base = r->path + (slash - r->path) + 1;
	return 0;
}

/* Loads and unloads serialise on the parent: they add and remove names in it. */
int tm_root_lock(struct tm_root *r)
{
	return tm_lock(r->parent, &r->lock_fd);
}

void tm_root_unlock(struct tm_root *r)
{
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	r->lock_fd = -1;
}

/* One pin: a link is detached first, even if some process holds it open. */
static int remove_pin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);	/* EINVAL for a map, and for an iterator */
		close(fd);
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Every pin in dir but keep (NULL: all), and dir's subdirectories first. */
static int remove_pins(const char *dir, const char *keep)
{
	struct dirent *de;
	int err = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (keep && !strcmp(de->d_name, keep)))
			continue;
		if (tm_path(path, sizeof(path), dir, de->d_name)) {
			err = -ENAMETOOLONG;
			continue;
		}
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			err = tm_root_remove(path) ?: err;
		else
			err = remove_pin(path) ?: err;
	}
	closedir(d);
	return err;
}

/*
 * A load, taken down in the order that keeps it recognisable: the links
 * (so nothing counts any more), then the maps, then the control map that
 * marks the directory as tm's, then the directory.
 */
int tm_root_remove(const char *dir)
{
	char path[PATH_MAX];
	int err;

	err = tm_path(path, sizeof(path), dir, TM_PIN_LINKS);
	if (!err)
		err = remove_pins(path, NULL);
	if (!err && rmdir(path) && errno != ENOENT)
		err = -errno;
	if (!err)
		err = remove_pins(dir, tm_maps[TM_MAP_CONTROL].pin);
	if (!err)
		err = tm_path(path, sizeof(path), dir, tm_maps[TM_MAP_CONTROL].pin);
	if (!err)
		err = remove_pin(path);
	if (!err && rmdir(dir) && errno != ENOENT)
		err = -errno;
	return err;
}

/*
 * Staging directories of this root that a killed tm-load left. Called with
 * the lock held: no live tm-load has one then. How many were removed.
 */
int tm_root_clear_staging(const struct tm_root *r)
{
	size_t blen = strlen(r->base);
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(r->parent);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		const char *pid;

		/* <root>-loading-<pid>, digits only: no other root's name. */
		if (strncmp(de->d_name, r->base, blen) ||
		    strncmp(de->d_name + blen, STAGING, strlen(STAGING)))
			continue;
		pid = de->d_name + blen + strlen(STAGING);
		if (!*pid || strspn(pid, "0123456789") != strlen(pid) ||
		    tm_path(path, sizeof(path), r->parent, de->d_name))
			continue;
		if (!tm_root_remove(path))
			n++;
	}
	closedir(d);
	return n;
}

/* Where a fresh load is built before it is renamed into place. */
int tm_root_staging(const struct tm_root *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s" STAGING "%d", r->path, (int)getpid());

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * What is at the root: TM_ROOT_NONE, TM_ROOT_EMPTY (an unload was killed at
 * its very end), TM_ROOT_OURS (tm's control map of this layout is in it:
 * whole, or taken down half-way), or a negative errno with the reason said
 * (-TM_EUSAGE: something that is not tm's; -EPROTO: another layout).
 */
int tm_root_state(const struct tm_root *r)
{
	struct dirent *de;
	struct stat st;
	bool empty = true;
	int fd, err;
	DIR *d;

	if (stat(r->path, &st))
		return errno == ENOENT ? TM_ROOT_NONE : -errno;
	if (!S_ISDIR(st.st_mode)) {
		tm_usage_err("'%s': not a directory", r->path);
		return -TM_EUSAGE;
	}
	err = tm_check_bpffs(r->path);
	if (err)
		return err;
	d = opendir(r->path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (empty)
		return TM_ROOT_EMPTY;
	err = tm_pin_get(r->path, tm_maps[TM_MAP_CONTROL].pin, &fd);
	if (err == -ENOENT) {
		tm_usage_err("'%s': not a tm pin root (no '%s' in it)", r->path,
			     tm_maps[TM_MAP_CONTROL].pin);
		return -TM_EUSAGE;
	}
	if (err)
		return err;
	err = tm_check_layout(fd, r->path);
	close(fd);
	return err ? err : TM_ROOT_OURS;
}
