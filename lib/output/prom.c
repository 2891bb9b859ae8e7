// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus text exposition format (version 0.0.4, what node_exporter's
 * textfile collector reads): each user's counters by address family,
 * protocol, interface and cgroup, and the meter's own health. Labels are
 * read with the same column descriptions as tm-stat's other formats; pids,
 * ports and peers are never labels (one series each would be unbounded).
 *
 * A file for node_exporter is written beside its final name and renamed
 * over it, so a scrape sees the old exposition or the new, never half.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "output.h"

/* One breakdown's metric families: its name part and its key's label. */
struct family {
	enum tm_by by;
	const char *prefix;	/* tm_<prefix>receive_bytes_total */
	const char *key;	/* the row field that is the label */
	const char *label;	/* its label name */
	const char *what;	/* for HELP: "... by user and <what>" */
	const char *key2, *label2;	/* a second label, or NULL */
};

/*
 * A job's label is jobid: Prometheus gives every target's series a label
 * job of its own (the scrape job), and would rename ours.
 */
static const struct family families[] = {
	{ TM_BY_FAMILY, "",        "family", "family", "address family", NULL, NULL },
	{ TM_BY_PROTO,  "proto_",  "proto",  "proto",  "IP protocol", NULL, NULL },
	{ TM_BY_IFACE,  "device_", "iface",  "device", "network interface", NULL, NULL },
	{ TM_BY_CGROUP, "cgroup_", "cgroup", "cgroup", "cgroup", NULL, NULL },
	{ TM_BY_JOB,    "job_",    "job",    "jobid",  "job (tm-stat --by job)", "kind", "kind" },
};

/* The four counters of every row, in the row's own fields. */
static const struct counter {
	const char *name;	/* receive_bytes_total */
	const char *field;	/* in_bytes */
	const char *help;
} counters[] = {
	{ "receive_bytes_total",    "in_bytes",    "Bytes received (IP length)" },
	{ "transmit_bytes_total",   "out_bytes",   "Bytes sent (IP length)" },
	{ "receive_packets_total",  "in_packets",  "Packets received" },
	{ "transmit_packets_total", "out_packets", "Packets sent" },
};
#define NCOUNTERS	(sizeof(counters) / sizeof(counters[0]))

static const struct tm_col *find_col(const struct tm_col *const *cols, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(cols[i]->key, key))
			return cols[i];
	return NULL;
}

/* A label: its value as tm_put_label() writes it. */
int tm_prom_label(FILE *f, const char *name, const char *str, size_t n)
{
	fprintf(f, "%s=\"", name);
	tm_fput_safe_n(f, tm_put_label, str, n);
	putc('"', f);
	return ferror(f) ? -EIO : 0;
}

/* A label from a column of a row, after a comma unless *first; none if null. */
static int col_label(FILE *f, bool *first, const char *name, const struct tm_col *c,
		     const void *row, const void *ctx)
{
	char scratch[4096];
	TM_BUF(sb, scratch);
	struct tm_val v = {};
	char num[24];

	if (!c)
		return 0;
	c->get(row, ctx, &v, &sb);
	if (v.null)
		return 0;
	if (!*first)
		putc(',', f);
	*first = false;
	if (c->kind == TM_K_TEXT)
		return tm_prom_label(f, name, v.s, v.len);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v.u);
	return tm_prom_label(f, name, num, strlen(num));
}

/* A job's account, from what the caller knows of the job (the ledger's). */
static int account_label(FILE *f, const struct tm_prom *o, const struct tm_col *job,
			 const struct tm_col *kind, const void *row, const void *ctx)
{
	char s1[4096], s2[256];
	TM_BUF(b1, s1);
	TM_BUF(b2, s2);
	struct tm_val id = {}, k = {};
	const char *account;

	job->get(row, ctx, &id, &b1);
	kind->get(row, ctx, &k, &b2);
	if (id.null || k.null)
		return 0;
	account = o->account(k.s, k.len, id.s, id.len, o->extra_ctx);
	if (!account)
		return 0;
	putc(',', f);
	return tm_prom_label(f, "account", account, strlen(account));
}

static uint64_t field_value(const struct tm_col *c, const void *row, const void *ctx)
{
	char scratch[64];
	TM_BUF(sb, scratch);
	struct tm_val v = {};

	c->get(row, ctx, &v, &sb);
	return v.u;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A breakdown's samples: each row's labels, written once, and its four
 * counters; rows of equal labels are one series, their counters summed
 * into the first (a job id whose cgroups are two, such as a unit of one
 * name that is both the system's and a user's: one series, not two that
 * node_exporter would drop one of).
 */
struct sample {
	size_t at;		/* its labels, at text + at */
	size_t first;		/* the first row of its labels: the series */
	uint64_t v[NCOUNTERS];	/* counters[]'s, in order */
};

static int cmp_labels(const void *a, const void *b, void *text)
{
	const struct sample *x = *(struct sample *const *)a, *y = *(struct sample *const *)b;
	int c = strcmp((char *)text + x->at, (char *)text + y->at);

	return c ? c : x < y ? -1 : x > y;
}

/* The labels of row r of a breakdown, as one text. */
static int row_labels(FILE *f, const struct tm_prom *o, const struct family *fam,
		      const struct tm_col *const *c, const void *r, const void *ctx)
{
	bool first = true;
	int err;

	err = col_label(f, &first, "user", c[0], r, ctx);
	if (!err)
		err = col_label(f, &first, "uid", c[1], r, ctx);
	if (!err)
		err = col_label(f, &first, fam->label, c[2], r, ctx);
	if (!err && c[3])
		err = col_label(f, &first, fam->label2, c[3], r, ctx);
	if (!err && fam->by == TM_BY_JOB && o->account)
		err = account_label(f, o, c[2], c[3], r, ctx);
	return err;
}

/* One breakdown: four metric families, a sample per series in each. */
static int write_breakdown(FILE *f, const struct tm_prom *o, const struct family *fam,
			   struct tm_names *names)
{
	const struct tm_col *cols[TM_OUT_MAXCOLS], *lc[4], *val[NCOUNTERS];
	struct tm_rows s = {};
	struct tm_row_ctx ctx = { names, &s };
	struct sample *v = NULL, **by = NULL;
	char *text = NULL;
	size_t size = 0, ncols, i, k;
	FILE *m = NULL;
	int err;

	err = tm_rows_read_named(o->pins, fam->by, o->users, o->nusers, names, o->depth, &s);
	if (err)
		return err;
	ncols = tm_row_columns(fam->by, false, false, cols);
	lc[0] = find_col(cols, ncols, "user");
	lc[1] = find_col(cols, ncols, "uid");
	lc[2] = find_col(cols, ncols, fam->key);
	lc[3] = fam->key2 ? find_col(cols, ncols, fam->key2) : NULL;
	for (k = 0; k < NCOUNTERS; k++)
		val[k] = find_col(cols, ncols, counters[k].field);
	v = calloc(s.n ? s.n : 1, sizeof(*v));
	by = calloc(s.n ? s.n : 1, sizeof(*by));
	m = open_memstream(&text, &size);
	if (!v || !by || !m)
		err = -ENOMEM;
	for (i = 0; i < s.n && !err; i++) {
		v[i].at = ftell(m);
		err = row_labels(m, o, fam, lc, &s.v[i], &ctx);
		putc('\0', m);
		for (k = 0; k < NCOUNTERS; k++)
			v[i].v[k] = field_value(val[k], &s.v[i], &ctx);
		by[i] = &v[i];
	}
	if (m && fclose(m) && !err)
		err = -ENOMEM;
	if (!err && s.n) {
		qsort_r(by, s.n, sizeof(*by), cmp_labels, text);
		for (i = 0; i < s.n; i++) {
			struct sample *x = by[i], *y = i ? by[i - 1] : NULL;

			x->first = y && !strcmp(text + x->at, text + y->at) ? y->first :
				   (size_t)(x - v);
			if (x->first != (size_t)(x - v))
				for (k = 0; k < NCOUNTERS; k++)
					v[x->first].v[k] += x->v[k];
		}
	}
	for (k = 0; k < NCOUNTERS && !err; k++) {
		char name[64], help[160];

		snprintf(name, sizeof(name), "tm_%s%s", fam->prefix, counters[k].name);
		snprintf(help, sizeof(help), "%s by user and %s since tm-load", counters[k].help,
			 fam->what);
		head(f, name, "counter", help);
		for (i = 0; i < s.n; i++)
			if (v[i].first == i)
				fprintf(f, "%s{%s} %llu\n", name, text + v[i].at,
					(unsigned long long)v[i].v[k]);
	}
	if (!err && ferror(f))
		err = -EIO;
	free(text);
	free(by);
	free(v);
	tm_rows_free(&s);
	return err;
}

/* A pod's container: its rows, its user's, summed. */
struct container {
	struct tm_row r;	/* the first row's user; the sum of the rows' counters */
	struct tm_job j;
};

static int cmp_container(const void *a, const void *b)
{
	const struct container *x = a, *y = b;
	int c;

	if (x->r.uid != y->r.uid)
		return x->r.uid < y->r.uid ? -1 : 1;
	c = strcmp(x->j.id, y->j.id);
	return c ? c : strcmp(x->j.container, y->j.container);
}

/*
 * Each user's traffic by a pod's container (the cgroups of the container's
 * ID, with what is below them): labels jobid (the pod's UID) and
 * container_id, as kube-state-metrics' kube_pod_container_info has it but
 * for the runtime's "containerd://" before it. A container made again has
 * an ID of its own, so never a series of another's labels.
 */
static int write_containers(FILE *f, const struct tm_prom *o, struct tm_names *names)
{
	const struct tm_col *cols[TM_OUT_MAXCOLS], *user, *uid;
	struct tm_rows s = {};
	struct tm_row_ctx ctx = { names, &s };
	struct container *v = NULL;
	size_t n = 0, cap = 0, i, k, ncols;
	int err;

	err = tm_rows_read_named(o->pins, TM_BY_CGROUP, o->users, o->nusers, names, -1, &s);
	for (i = 0; !err && i < s.n; i++) {
		struct tm_job j;

		if (s.v[i].other || !s.v[i].cgroup_id ||
		    !tm_names_job(names, s.v[i].cgroup_id, &j) || strcmp(j.kind, "pod") ||
		    !j.container[0])
			continue;
		if (tm_grow(&v, &cap, n, sizeof(*v))) {
			err = -ENOMEM;
			break;
		}
		v[n].r = s.v[i];
		v[n++].j = j;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_container);
	/* Equal ones merged: a container's cgroup and those below it. */
	for (i = 0, k = 0; i < n; i++) {
		if (k && !cmp_container(&v[k - 1], &v[i]))
			tm_counters_add(&v[k - 1].r.c, &v[i].r.c);
		else
			v[k++] = v[i];
	}
	n = k;
	ncols = tm_row_columns(TM_BY_CGROUP, false, false, cols);
	user = find_col(cols, ncols, "user");
	uid = find_col(cols, ncols, "uid");
	for (k = 0; k < NCOUNTERS && !err; k++) {
		const struct tm_col *val = find_col(cols, ncols, counters[k].field);
		char name[64], help[160];

		snprintf(name, sizeof(name), "tm_container_%s", counters[k].name);
		snprintf(help, sizeof(help), "%s by user and a pod's container since tm-load",
			 counters[k].help);
		head(f, name, "counter", help);
		for (i = 0; i < n && !err; i++) {
			bool first = true;

			fprintf(f, "%s{", name);
			err = col_label(f, &first, "user", user, &v[i].r, &ctx);
			if (!err)
				err = col_label(f, &first, "uid", uid, &v[i].r, &ctx);
			if (!err) {
				putc(',', f);
				err = tm_prom_label(f, "jobid", v[i].j.id, strlen(v[i].j.id));
			}
			if (!err) {
				putc(',', f);
				err = tm_prom_label(f, "container_id", v[i].j.container,
						    strlen(v[i].j.container));
			}
			fprintf(f, "} %llu\n", (unsigned long long)field_value(val, &v[i].r, &ctx));
		}
	}
	free(v);
	tm_rows_free(&s);
	return err;
}

/* The meter's own health, from its one description (model/health.c). */
static void write_health(FILE *f, const struct tm_health *h)
{
	const struct tm_health_item *it;
	int i;

	for (i = 0; i < TM_HEALTH_COUNT; i++) {
		it = &tm_health_items[i];
		if (!it->prom)
			continue;
		if (!i || !tm_health_items[i - 1].prom || strcmp(it->prom, tm_health_items[i - 1].prom))
			head(f, it->prom, it->type == TM_HEALTH_GAUGE ? "gauge" : "counter", it->help);
		if (it->label)
			fprintf(f, "%s{map=\"%s\"} %llu\n", it->prom, it->label,
				(unsigned long long)it->get(h));
		else
			fprintf(f, "%s %llu\n", it->prom, (unsigned long long)it->get(h));
	}
}

int tm_prom_write(FILE *f, const struct tm_prom *o)
{
	struct tm_names names;
	size_t i;
	int err = 0;

	tm_names_init(&names, o->pins);
	for (i = 0; i < sizeof(families) / sizeof(families[0]) && !err; i++)
		err = write_breakdown(f, o, &families[i], &names);
	if (!err)
		err = write_containers(f, o, &names);
	/* For root and the admin group, not a self-view. */
	if (!err && !o->self) {
		struct tm_health h;

		err = tm_health_read(o->pins, &h);
		if (!err)
			write_health(f, &h);
	}
	if (!err && o->extra)
		err = o->extra(f, o->extra_ctx);
	tm_names_free(&names);
	return err;
}

/*
 * What --textfile may name: a name node_exporter reads (*.prom), where
 * nothing but a regular file is (a typo must not rename over a device, a
 * FIFO, a link or /etc/passwd), in a directory only its owner may write
 * (else anyone could replace or remove what node_exporter reads). 0, or
 * -TM_EUSAGE said.
 */
int tm_prom_check_textfile(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char dir[PATH_MAX], shown[256], dshown[256];
	size_t n = strlen(base);
	struct stat st;

	tm_shown(path, strlen(path), shown, sizeof(shown));
	if (n <= 5 || strcmp(base + n - 5, ".prom")) {
		tm_usage_err("--textfile '%s': a name ending .prom (node_exporter reads those "
			     "only), such as /var/lib/prometheus/node-exporter/tm.prom", shown);
		return -TM_EUSAGE;
	}
	if (!lstat(path, &st) && !S_ISREG(st.st_mode)) {
		tm_usage_err("--textfile '%s': %s is there, not a file; left alone", shown,
			     tm_file_kind(st.st_mode));
		return -TM_EUSAGE;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) ?: 1 : 1,
		 slash ? path : ".");
	if (!stat(dir, &st) && tm_open_to_others(st.st_mode)) {
		tm_usage_err("--textfile '%s': others than its owner may write in %s, so they "
			     "could replace what node_exporter reads; use a directory of mode 755",
			     shown, tm_shown(dir, strlen(dir), dshown, sizeof(dshown)));
		return -TM_EUSAGE;
	}
	return 0;
}

/*
 * The exposition into path: a temporary file in its directory (a name
 * node_exporter does not read: it takes *.prom only), made with O_EXCL,
 * mode 0644, then renamed over path.
 */
int tm_prom_textfile(const char *path, const struct tm_prom *o)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int n, fd, err, write_err;
	struct stat st;
	FILE *f;

	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.%d.tmp", slash ? (int)(slash - path + 1) : 0,
		     path, slash ? slash + 1 : path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EEXIST && !unlink(tmp))
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = -errno;
		tm_err("cannot write %s: %s", tmp, strerror(-err));
		return err;
	}
	/* Readable by node_exporter whatever the umask. */
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	/* Errors reading the pins are told where they happen. */
	err = tm_prom_write(f, o);
	write_err = ferror(f) || fflush(f) ? -(errno ? errno : EIO) : 0;
	if (fclose(f) && !write_err)
		write_err = -errno;
	/* Only a file is ever replaced, whatever came there since the start. */
	if (!err && !write_err && !lstat(path, &st) && !S_ISREG(st.st_mode)) {
		tm_err("cannot write %s: %s is there now, not a file; left alone", path,
		       tm_file_kind(st.st_mode));
		err = -EPERM;
	}
	if (!err && !write_err && rename(tmp, path))
		write_err = -errno;
	if (!err && write_err)
		tm_err("cannot write %s: %s", path, strerror(-write_err));
	if (err || write_err)
		unlink(tmp);
	return err ? err : write_err;
}
