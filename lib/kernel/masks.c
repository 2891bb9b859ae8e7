// SPDX-License-Identifier: GPL-2.0
/* The untracked networks: lists of CIDRs, list files, and the two LPM tries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kernel.h"

int tm_masks_append(struct tm_masks *m, const struct tm_cidr *c)
{
	if (tm_grow(&m->v, &m->cap, m->n, sizeof(m->v[0])))
		return -ENOMEM;
	m->v[m->n++] = *c;
	return 0;
}

void tm_masks_free(struct tm_masks *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Sorts and drops duplicates, so lists compare and print the same way. */
void tm_masks_normalize(struct tm_masks *m)
{
	size_t i, j = 0;

	if (m->n)
		qsort(m->v, m->n, sizeof(m->v[0]), tm_cidr_cmp);
	for (i = 0; i < m->n; i++)
		if (!j || tm_cidr_cmp(&m->v[j - 1], &m->v[i]))
			m->v[j++] = m->v[i];
	m->n = j;
}

bool tm_masks_has(const struct tm_masks *m, const struct tm_cidr *c)
{
	return m->n && bsearch(c, m->v, m->n, sizeof(m->v[0]), tm_cidr_cmp);
}

#define LINE_MAX_LEN	4096		/* an entry is 50 bytes; the rest, comment */
#define FILE_MAX_SIZE	(16 << 20)	/* 16384 entries of each family, commented */

/*
 * One line of f into line (at most LINE_MAX_LEN bytes kept): its length,
 * -1 at the end of the file. *nul: it held a NUL byte; *cut: it was longer.
 */
static ssize_t read_line(FILE *f, char *line, bool *nul, bool *cut, size_t *total)
{
	size_t n = 0;
	int ch;

	*nul = *cut = false;
	while ((ch = getc_unlocked(f)) != EOF && ++*total <= FILE_MAX_SIZE) {
		if (ch == '\n')
			break;
		if (ch == '\0')
			*nul = true;
		if (n < LINE_MAX_LEN)
			line[n++] = ch;
		else
			*cut = true;
	}
	line[n] = '\0';
	return ch == EOF && !n ? -1 : (ssize_t)n;
}

/* The networks of one family in m. */
__u32 tm_masks_count(const struct tm_masks *m, __u8 family)
{
	__u32 n = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		n += m->v[i].family == family;
	return n;
}

/* A list longer than the trie holds: -TM_EUSAGE, said. */
static int too_many(const struct tm_masks *m)
{
	__u32 n4 = tm_masks_count(m, TM_FAMILY_IPV4), n6 = tm_masks_count(m, TM_FAMILY_IPV6);

	if (n4 <= TM_MASKS_MAX && n6 <= TM_MASKS_MAX)
		return 0;
	tm_usage_err("%u IPv4 and %u IPv6 networks: the list holds %d of each at the most; "
		     "nothing changed", n4, n6, TM_MASKS_MAX);
	return -TM_EUSAGE;
}

/*
 * A list file: one entry a line, blank lines and # comments allowed. Every
 * line is checked and every bad one reported (by line number) before the
 * caller applies anything. A file that cannot be read whole is an error,
 * never an empty list.
 */
int tm_masks_parse_file(const char *path, struct tm_masks *m)
{
	char line[LINE_MAX_LEN + 1], why[128], show[256];
	size_t total = 0;
	int lineno = 0, bad = 0, err = 0, fd;
	bool nul, cut;
	struct stat st;
	ssize_t n;
	FILE *f;

	fd = tm_open_file(path, &st);
	if (fd == -TM_ENOTFILE) {
		tm_usage_err("'%s': not a regular file (%s), not a list of networks; nothing applied",
			     path, tm_file_kind(st.st_mode));
		return -TM_EUSAGE;
	}
	if (fd < 0 || !(f = fdopen(fd, "re"))) {
		err = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		tm_usage_err("'%s': %s", path, strerror(-err));
		return -TM_EUSAGE;
	}
	while (!err && (n = read_line(f, line, &nul, &cut, &total)) >= 0) {
		char *s = line, *end;
		struct tm_cidr c;

		lineno++;
		if (total > FILE_MAX_SIZE)
			break;
		if (nul || cut) {
			if (bad++ < 20)
				tm_err("%s:%d: '%s': %s", path, lineno, tm_shown(line, n, show, sizeof(show)),
				       nul ? "a NUL byte in the line" : "line too long");
			continue;
		}
		if ((end = strchr(s, '#')))
			*end = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		end = s + strlen(s);
		while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*s)
			continue;
		if (tm_cidr_parse(s, &c, why, sizeof(why))) {
			if (bad++ < 20)
				tm_err("%s:%d: '%s': %s", path, lineno,
				       tm_shown(s, strlen(s), show, sizeof(show)), why);
			continue;
		}
		err = tm_masks_append(m, &c);
	}
	if (ferror(f) && !err)
		err = -(errno ? errno : EIO);
	fclose(f);
	if (err) {
		tm_err("cannot read '%s': %s; nothing applied", path, strerror(-err));
		return err;
	}
	if (total > FILE_MAX_SIZE) {
		tm_usage_err("'%s': larger than %d MiB: not a list of networks; nothing applied",
			     path, FILE_MAX_SIZE >> 20);
		return -TM_EUSAGE;
	}
	if (bad) {
		if (bad > 20)
			tm_err("%s: %d more bad lines", path, bad - 20);
		tm_err("%s: %d bad line%s; nothing applied", path, bad, bad > 1 ? "s" : "");
		return -TM_EUSAGE;
	}
	tm_masks_normalize(m);
	return too_many(m);
}

int tm_masks_parse_args(char **args, int n, struct tm_masks *m)
{
	char why[128];
	int i, bad = 0, err;

	for (i = 0; i < n; i++) {
		struct tm_cidr c;

		if (tm_cidr_parse(args[i], &c, why, sizeof(why))) {
			tm_err("'%s': %s", args[i], why);
			bad++;
			continue;
		}
		err = tm_masks_append(m, &c);
		if (err)
			return err;
	}
	if (bad)
		return -TM_EUSAGE;
	tm_masks_normalize(m);
	return 0;
}

static void to_key(const struct tm_cidr *c, struct tm_mask_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = TM_MASK_KEY_BITS + c->prefixlen;
	k->family = c->family;
	memcpy(k->addr, c->addr, c->family == TM_FAMILY_IPV4 ? 4 : 16);
}

static int map_id(int fd, __u32 *id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/*
 * The trie in "masks" (outer) of the load at root, opened: a descriptor,
 * -ENOENT if none is there. By its pin (TM_PIN_MASKS_TRIE) when that is
 * the one "masks" holds; else (a load made before the pin was, an edit
 * killed between its two steps) by its id, which takes CAP_SYS_ADMIN.
 */
int tm_masks_trie(const char *root, int outer)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	__u32 zero = 0, id, pinned = 0;
	int fd, tries;

	/* (Twice more if an edit swaps the list in between.) */
	for (tries = 0; tries < 3; tries++) {
		if (bpf_map_lookup_elem(outer, &zero, &id))
			return -errno;
		if (tm_path(path, sizeof(path), root, TM_PIN_MASKS_TRIE) ||
		    (fd = bpf_obj_get_opts(path, &ro)) < 0)
			break;
		if (!map_id(fd, &pinned) && pinned == id)
			return fd;
		close(fd);
	}
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static int read_trie(int fd, struct tm_masks *m)
{
	struct tm_mask_key key, next;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct tm_cidr c = { .family = next.family };

		c.prefixlen = next.prefixlen - TM_MASK_KEY_BITS;
		memcpy(c.addr, next.addr, 16);
		err = tm_masks_append(m, &c);
		if (err)
			return err;
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int tm_masks_read(const char *root, int outer, struct tm_masks *m)
{
	int fd = tm_masks_trie(root, outer), err;

	if (fd == -ENOENT)
		return 0;	/* no trie yet: no networks */
	err = fd < 0 ? fd : read_trie(fd, m);
	if (fd >= 0)
		close(fd);
	if (err)
		tm_err("cannot read the untracked networks: %s", strerror(-err));
	else
		tm_masks_normalize(m);
	return err;
}


/*
 * The generation: even while the list stands, odd while an edit is under
 * way. A packet that looks at the list while it is odd keeps no answer
 * (bpf/slot.bpf.h), so an edit killed half-way leaves every packet looking
 * at the list as it is, until the next edit finishes it.
 */
bool tm_masks_interrupted(const struct tm_control *ctl)
{
	return __atomic_load_n(&ctl->masks_gen, __ATOMIC_SEQ_CST) & 1;
}

static void gen_begin(struct tm_control *ctl)
{
	if (!tm_masks_interrupted(ctl))
		__atomic_fetch_add(&ctl->masks_gen, 1, __ATOMIC_SEQ_CST);
}

static void gen_end(struct tm_control *ctl)
{
	if (tm_masks_interrupted(ctl))
		__atomic_fetch_add(&ctl->masks_gen, 1, __ATOMIC_SEQ_CST);
}

/*
 * The programs skip the lookups of a family whose count is 0, so a count
 * is never below the trie's: raised before the swap, lowered after it.
 */
static void set_counts(struct tm_control *ctl, __u32 n4, __u32 n6)
{
	__atomic_store_n(&ctl->masks4, n4, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ctl->masks6, n6, __ATOMIC_SEQ_CST);
}

/* A new trie holding exactly m: a descriptor, or -errno said. */
static int fill_trie(const struct tm_masks *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct tm_mask_key key;
	__u32 one = 1;
	char net[64];
	size_t i;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "tm_masks", sizeof(key), sizeof(one),
			    2 * TM_MASKS_MAX, &opts);
	if (fd < 0) {
		err = -errno;
		tm_err("cannot make a list of untracked networks: %s%s", strerror(-err),
		       tm_priv_hint(err));
		return err;
	}
	for (i = 0; i < m->n; i++) {
		to_key(&m->v[i], &key);
		if (bpf_map_update_elem(fd, &key, &one, BPF_NOEXIST) && errno != EEXIST) {
			err = -errno;
			tm_cidr_format(&m->v[i], net, sizeof(net));
			tm_err("cannot add %s: %s", net, strerror(-err));
			close(fd);
			return err;
		}
	}
	return fd;
}

/*
 * The trie fd, "masks"' own now, pinned as TM_PIN_MASKS_TRIE in root; in
 * the place of one before, beside it first (bpffs takes no dot in a name),
 * then renamed over it.
 */
static int pin_trie(const char *root, int fd)
{
	char path[PATH_MAX], next[PATH_MAX];
	int err;

	err = tm_path(path, sizeof(path), root, TM_PIN_MASKS_TRIE);
	if (!err)
		err = tm_path(next, sizeof(next), root, TM_PIN_MASKS_TRIE "_next");
	if (err)
		return err;
	if (!bpf_obj_pin(fd, path))
		return 0;	/* the first */
	if (errno != EEXIST || (unlink(next) && errno != ENOENT) || bpf_obj_pin(fd, next) ||
	    rename(next, path)) {
		err = -errno;
		tm_err("cannot pin the list of untracked networks as %s: %s (the list is in "
		       "place)", path, strerror(-err));
		unlink(next);
	}
	return err;
}

/*
 * Makes the list exactly want (normalized), whole or not at all: the new
 * list is filled into a trie of its own, out of the programs' sight, and
 * put in the old one's place with one update, then pinned. Killed before that update,
 * the old list stands; after it, the new one; either way the generation
 * may be left odd, which the next edit finishes (and tm-status says). A
 * list longer than the trie holds is refused before anything changes.
 */
int tm_masks_install(const char *root, int outer, struct tm_control *ctl,
		     const struct tm_masks *want, int *added, int *removed)
{
	__u32 n4 = tm_masks_count(want, TM_FAMILY_IPV4), n6 = tm_masks_count(want, TM_FAMILY_IPV6);
	struct tm_masks have = {};
	__u32 zero = 0;
	size_t i;
	int fd, err;

	*added = *removed = 0;
	err = too_many(want);
	if (!err)
		err = tm_masks_read(root, outer, &have);
	if (err)
		return err;
	for (i = 0; i < want->n; i++)
		*added += !tm_masks_has(&have, &want->v[i]);
	for (i = 0; i < have.n; i++)
		*removed += !tm_masks_has(want, &have.v[i]);
	fd = fill_trie(want);
	if (fd < 0) {
		tm_masks_free(&have);
		return fd;
	}
	gen_begin(ctl);
	set_counts(ctl, n4 > ctl->masks4 ? n4 : ctl->masks4, n6 > ctl->masks6 ? n6 : ctl->masks6);
	if (bpf_map_update_elem(outer, &zero, &fd, BPF_ANY)) {
		err = -errno;
		tm_err("cannot put the new list in place: %s; the old one stands", strerror(-err));
	} else {
		set_counts(ctl, n4, n6);
		err = pin_trie(root, fd);
	}
	gen_end(ctl);	/* a whole list stands, the new or the old */
	close(fd);
	tm_masks_free(&have);
	return err;
}
