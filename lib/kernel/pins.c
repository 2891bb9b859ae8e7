// SPDX-License-Identifier: GPL-2.0
/* The pin root: finding it, checking it, opening its maps. */
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

/*
 * The control map is shared with the running programs; mapped, each field
 * is written on its own, so two commands never undo each other's change.
 */
static int map_control(struct tm_pins *p)
{
	void *m = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		       p->fd[TM_MAP_CONTROL], 0);

	if (m == MAP_FAILED) {
		int err = -errno;

		tm_err("cannot map '%s/%s': %s", p->root, tm_maps[TM_MAP_CONTROL].pin,
		       strerror(-err));
		return err;
	}
	p->control = m;
	return 0;
}

static bool is_stream(__u32 pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "tm-stream\n");
}

/*
 * A tm-stream that died without a word (SIGKILL) leaves its pid in the
 * control map and the event path on. Whoever opens the pins next sees that
 * the pid is gone, or is some other program now, and switches it off.
 */
void tm_reader_reap(struct tm_pins *p)
{
	__u32 pid = __atomic_load_n(&p->control->reader_pid, __ATOMIC_SEQ_CST);

	if (pid && !is_stream(pid))
		__atomic_compare_exchange_n(&p->control->reader_pid, &pid, 0, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * The pins of the root that opt names (--pin-root, else $TM_PIN_ROOT, else
 * the default). Nothing loaded is a runtime state (exit 1, with what to
 * do); a pin root that cannot be read or is not tm's is the caller's
 * mistake (exit 2).
 */
/*
 * The links under root/links, by their pin names (KIND-CGROUPID): *out
 * is to be freed.
 */
int tm_links_list(const char *root, struct tm_link **out, int *n)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t cap = 0;
	int err = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (tm_path(dir, sizeof(dir), root, TM_PIN_LINKS))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		const char *dash = strrchr(de->d_name, '-');
		struct tm_link *l;

		if (de->d_name[0] == '.' || !dash)
			continue;
		err = tm_grow(out, &cap, *n, sizeof(**out));
		if (err)
			break;
		l = &(*out)[(*n)++];
		err = tm_path(l->path, sizeof(l->path), dir, de->d_name);
		snprintf(l->kind, sizeof(l->kind), "%.*s", (int)(dash - de->d_name), de->d_name);
		l->cgid = strtoull(dash + 1, NULL, 10);
	}
	closedir(d);
	return err;
}

/* The metered cgroups, from the links' names: while the caller may read them. */
static int read_metered(struct tm_pins *p)
{
	struct tm_link *links;
	size_t i, j, cap = 0;
	int n, err = tm_links_list(p->root, &links, &n);

	/* A root whose links are gone (an unload under way) meters nothing. */
	if (err == -ENOENT)
		err = 0;

	for (i = 0; !err && i < (size_t)n; i++) {
		for (j = 0; j < p->nmetered && p->metered[j] != links[i].cgid; j++)
			;
		if (j == p->nmetered && !(err = tm_grow(&p->metered, &cap, p->nmetered,
							 sizeof(p->metered[0]))))
			p->metered[p->nmetered++] = links[i].cgid;
	}
	free(links);
	return err;
}

int tm_pins_open(struct tm_pins *p, const char *opt)
{
	struct tm_root r;
	const char *root = p->root;
	struct stat st;
	int i, err;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < TM_MAP_COUNT; i++)
		p->fd[i] = -1;
	p->lock_fd = -1;
	p->pending_fd = -1;
	err = tm_root_name(opt, &r);
	if (err)
		return err;
	memcpy(p->root, r.path, sizeof(p->root));

	/*
	 * Where bpffs itself is closed to the caller (mode 0700 or 1700, as
	 * some hosts mount it), the root cannot even be looked at: the same
	 * answer as a root the caller may not read. Lacking a privilege is a
	 * runtime failure (exit 1) from every command, as tm-load's is.
	 */
	if (stat(root, &st)) {
		err = -errno;
		if (err == -ENOENT) {
			tm_err("nothing loaded at '%s': run tm-load first", root);
			return err;
		}
		if (err == -EACCES || err == -EPERM) {
			tm_err("cannot open pin root '%s': %s%s", root, strerror(-err),
			       tm_priv_hint(err));
			return err;
		}
		tm_usage_err("'%s': %s", root, strerror(-err));
		return -TM_EUSAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		tm_usage_err("'%s': not a directory", root);
		return -TM_EUSAGE;
	}
	err = tm_check_bpffs(root);
	if (err)
		return err;
	if (faccessat(AT_FDCWD, root, R_OK | X_OK, AT_EACCESS)) {
		err = -errno;
		tm_err("cannot open pin root '%s': %s%s", root, strerror(-err),
		       tm_priv_hint(err));
		return err;
	}
	err = tm_pin_get(root, tm_maps[TM_MAP_CONTROL].pin, &p->fd[TM_MAP_CONTROL]);
	if (err == -ENOENT) {
		/* An unload takes the control map last: what is left is nothing. */
		int state = tm_root_state(&r);

		if (state == TM_ROOT_NONE || state == TM_ROOT_EMPTY) {
			tm_err("nothing loaded at '%s': run tm-load first", root);
			return -ENOENT;
		}
		return state < 0 ? state : -TM_EUSAGE;
	}
	if (!err)
		err = tm_check_layout(p->fd[TM_MAP_CONTROL], root);
	for (i = 0; !err && i < TM_MAP_COUNT; i++)
		if (p->fd[i] < 0)
			err = tm_pin_get(root, tm_maps[i].pin, &p->fd[i]);
	if (!err)
		err = map_control(p);
	if (!err)
		err = read_metered(p);
	if (!err)
		tm_reader_reap(p);
	if (err == -ENOENT)
		tm_pins_gone(root);
	if (err)
		tm_pins_close(p);
	return err;
}

void tm_pins_close(struct tm_pins *p)
{
	int i;

	if (p->control && !p->rdonly)
		munmap(p->control, sysconf(_SC_PAGESIZE));
	p->control = NULL;
	for (i = 0; i < TM_MAP_COUNT; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	if (p->pending_fd >= 0)
		close(p->pending_fd);
	p->pending_fd = -1;
	free(p->metered);
	p->metered = NULL;
	p->nmetered = 0;
}

/*
 * The pins of root, to read only: what a self-view reader opens while it
 * still has the privilege to, before it drops it for good. Nothing it holds
 * after can change a counter or the control map.
 */
int tm_pins_open_rdonly(struct tm_pins *p, const char *root)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	__u32 zero = 0;
	int i, err = 0;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < TM_MAP_COUNT; i++)
		p->fd[i] = -1;
	p->lock_fd = -1;
	p->pending_fd = -1;
	p->rdonly = true;
	snprintf(p->root, sizeof(p->root), "%s", root);
	for (i = 0; !err && i < TM_MAP_COUNT; i++) {
		err = tm_path(path, sizeof(path), root, tm_maps[i].pin);
		if (!err && (p->fd[i] = bpf_obj_get_opts(path, &ro)) < 0)
			err = -errno;
	}
	if (!err && !tm_path(path, sizeof(path), root, TM_PIN_PENDING) &&
	    (p->pending_fd = bpf_obj_get(path)) < 0)
		err = -errno;
	if (!err && bpf_map_lookup_elem(p->fd[TM_MAP_CONTROL], &zero, &p->control_copy))
		err = -errno;
	if (!err)
		err = read_metered(p);
	if (!err && p->control_copy.layout_version != TM_LAYOUT_VERSION) {
		tm_err("'%s' holds a pin layout this tm does not understand (it knows "
		       "version %d)", root, TM_LAYOUT_VERSION);
		err = -EPROTO;
	}
	if (err == -ENOENT)
		tm_err("nothing loaded at '%s': ask the administrator to run tm-load", root);
	else if (err && err != -EPROTO)
		tm_err("cannot open the pins at '%s': %s", root, strerror(-err));
	if (err) {
		tm_pins_close(p);
		return err;
	}
	p->control = &p->control_copy;
	return 0;
}

static int cmp_cookie(const void *a, const void *b)
{
	const struct tm_pending *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/*
 * Reading the pinned iterator runs it over every open file; it writes
 * whole records, one struct tm_pending for each fd of a socket with a
 * slot. A socket open in several fds is handed to cb once.
 */
int tm_pending_for_each(const struct tm_pins *p, tm_pending_cb cb, void *ctx)
{
	struct tm_pending *recs = NULL;
	size_t cap = 0, have = 0, i;
	char path[PATH_MAX];
	ssize_t n;
	int fd, err = 0;

	/*
	 * Through the link held since the pins were opened (self-view), else
	 * by path each time, so the new iterator of a tm-load --replace is read.
	 */
	if (p->pending_fd >= 0) {
		fd = bpf_iter_create(p->pending_fd);
	} else {
		err = tm_path(path, sizeof(path), p->root, TM_PIN_PENDING);
		if (err)
			return err;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	for (;;) {
		/* Room for 256 more records, whatever is cut short. */
		while (!err && (have + 256 * sizeof(*recs)) / sizeof(*recs) > cap)
			err = tm_grow(&recs, &cap, cap, sizeof(*recs));
		if (err)
			break;
		n = read(fd, (char *)recs + have, 256 * sizeof(*recs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		have += n;
	}
	close(fd);
	have /= sizeof(*recs);
	if (!err && have)
		qsort(recs, have, sizeof(*recs), cmp_cookie);
	for (i = 0; i < have && !err; i++)
		if (!i || recs[i].cookie != recs[i - 1].cookie)
			err = cb(&recs[i], ctx);
	free(recs);
	return err;
}

/* A map's ID, as the kernel has it; 0: unknown. */
uint32_t tm_map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * Whether the load at the pin root is still the one whose pins p holds,
 * by the pinned control map's ID: held, an unloaded meter's maps stay alive,
 * so an unload and a load between two samples would go unseen. 1: the same;
 * 0: another; -ENOENT: none.
 */
int tm_pins_same_load(const struct tm_pins *p)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	struct bpf_map_info now = {}, held = {};
	__u32 ln = sizeof(now), lh = sizeof(held);
	char path[PATH_MAX];
	int fd, err;

	err = tm_path(path, sizeof(path), p->root, tm_maps[TM_MAP_CONTROL].pin);
	if (err)
		return err;
	fd = bpf_obj_get_opts(path, &ro);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &now, &ln) ||
	    bpf_obj_get_info_by_fd(p->fd[TM_MAP_CONTROL], &held, &lh))
		err = -errno;
	else
		err = now.id == held.id;
	close(fd);
	return err;
}
