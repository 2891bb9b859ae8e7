// SPDX-License-Identifier: GPL-2.0
/* The pin root: finding it, checking it, opening its maps, locking it. */
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

#include "tm.h"

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
 * call, and hands each key with its value (summed over the CPUs for a
 * per-CPU map) to cb.
 */
int tm_map_for_each(int map_fd, size_t key_size, size_t value_size, bool percpu,
		    tm_percpu_cb cb, void *ctx)
{
	int ncpus = percpu ? libbpf_num_possible_cpus() : 1;
	size_t stride = percpu ? (size_t)ncpus * round8(value_size) : value_size;
	__u32 chunk = 4096, count, i;
	__u64 batch[8], in_batch[8];
	bool first = true, done = false;
	char *keys = NULL, *vals = NULL, *sum = NULL;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	sum = malloc(value_size);
	while (!done && !err) {
		if (!keys) {
			keys = calloc(chunk, key_size);
			vals = calloc(chunk, stride);
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
			const char *v = vals + (size_t)i * stride;

			if (percpu)
				percpu_sum(v, sum, value_size, ncpus);
			else
				memcpy(sum, v, value_size);
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

int tm_percpu_for_each(int map_fd, size_t key_size, size_t value_size,
		       tm_percpu_cb cb, void *ctx)
{
	return tm_map_for_each(map_fd, key_size, value_size, true, cb, ctx);
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
