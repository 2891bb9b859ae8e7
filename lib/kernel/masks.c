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
	return 0;
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

static void to_key(const struct tm_cidr *c, void *key)
{
	if (c->family == TM_FAMILY_IPV4) {
		struct tm_mask4_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 4);
	} else {
		struct tm_mask6_key *k = key;

		k->prefixlen = c->prefixlen;
		memcpy(k->addr, c->addr, 16);
	}
}

static int read_trie(int fd, __u8 family, struct tm_masks *m)
{
	struct tm_mask6_key key, next;	/* large enough for either family */
	size_t klen = family == TM_FAMILY_IPV4 ? sizeof(struct tm_mask4_key)
					       : sizeof(struct tm_mask6_key);
	void *prev = NULL;
	int err;

	memset(&key, 0, sizeof(key));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct tm_cidr c = { .family = family };

		c.prefixlen = next.prefixlen;
		memcpy(c.addr, next.addr, klen - sizeof(__u32));
		err = tm_masks_append(m, &c);
		if (err)
			return err;
		memcpy(&key, &next, klen);
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int tm_masks_read(int fd4, int fd6, struct tm_masks *m)
{
	int err = read_trie(fd4, TM_FAMILY_IPV4, m);

	if (!err)
		err = read_trie(fd6, TM_FAMILY_IPV6, m);
	if (err)
		tm_err("cannot read the untracked networks: %s", strerror(-err));
	else
		tm_masks_normalize(m);
	return err;
}

int tm_masks_update(int fd4, int fd6, const struct tm_cidr *c, bool del)
{
	struct tm_mask6_key key = {};
	int fd = c->family == TM_FAMILY_IPV4 ? fd4 : fd6;
	__u32 one = 1;
	char net[64];

	to_key(c, &key);
	if (!(del ? bpf_map_delete_elem(fd, &key) : bpf_map_update_elem(fd, &key, &one, BPF_ANY)))
		return 0;
	tm_cidr_format(c, net, sizeof(net));
	tm_err("cannot %s %s: %s", del ? "remove" : "add", net,
	       errno == ENOSPC ? "the list is full" : strerror(errno));
	return -errno;
}

static __u32 count_family(const struct tm_masks *m, __u8 family)
{
	__u32 n = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		n += m->v[i].family == family;
	return n;
}

/*
 * The programs skip the lookups of a family whose count is 0, so a count
 * must never be 0 while its trie has entries; an upper bound is harmless.
 * Called once the tries are as counted, it also moves the generation on.
 */
static void set_counts(struct tm_control *ctl, __u32 n4, __u32 n6)
{
	__atomic_store_n(&ctl->masks4, n4, __ATOMIC_RELAXED);
	__atomic_store_n(&ctl->masks6, n6, __ATOMIC_RELAXED);
	tm_masks_changed(ctl);
}

/* Sockets keep the answer for their peers until the generation moves on. */
void tm_masks_changed(struct tm_control *ctl)
{
	__atomic_fetch_add(&ctl->masks_gen, 1, __ATOMIC_SEQ_CST);
}

void tm_masks_set_counts(struct tm_control *ctl, const struct tm_masks *m)
{
	set_counts(ctl, count_family(m, TM_FAMILY_IPV4), count_family(m, TM_FAMILY_IPV6));
}

/*
 * Makes the tries hold exactly want, which is normalized: new entries go in
 * before old ones go out, so a network in both lists is never counted.
 */
int tm_masks_replace(int fd4, int fd6, struct tm_control *ctl,
		     const struct tm_masks *want, int *added, int *removed)
{
	struct tm_masks have = {};
	size_t i;
	int err;

	*added = *removed = 0;
	err = tm_masks_read(fd4, fd6, &have);
	if (!err)
		set_counts(ctl, count_family(&have, TM_FAMILY_IPV4) + count_family(want, TM_FAMILY_IPV4),
			   count_family(&have, TM_FAMILY_IPV6) + count_family(want, TM_FAMILY_IPV6));
	for (i = 0; !err && i < want->n; i++)
		if (!tm_masks_has(&have, &want->v[i])) {
			err = tm_masks_update(fd4, fd6, &want->v[i], false);
			++*added;
		}
	for (i = 0; !err && i < have.n; i++)
		if (!tm_masks_has(want, &have.v[i])) {
			err = tm_masks_update(fd4, fd6, &have.v[i], true);
			++*removed;
		}
	tm_masks_free(&have);
	if (!err)
		tm_masks_set_counts(ctl, want);
	else
		tm_masks_changed(ctl);
	if (err)
		tm_err("the untracked list may be part-way changed; run the command again");
	return err;
}
