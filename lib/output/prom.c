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

/* A label of a breakdown's rows: its row field, as the columns of
 * breakdown from describe it, and its name. */
struct label {
	const char *key;
	const char *name;
	enum tm_by from;
};

/* One breakdown's metric families: its name part and its rows' labels
 * (after user and uid; key NULL: no more). */
struct family {
	enum tm_by by;
	bool by_path;		/* its rows by interface and protocol too */
	const char *prefix;	/* tm_<prefix>receive_bytes_total */
	const char *what;	/* for HELP: "... by user and <what>" */
	struct label labels[4];
};

#define JOB_LABELS	{ "job", "jobid", TM_BY_JOB }, { "kind", "kind", TM_BY_JOB }

/*
 * A job's label is jobid: Prometheus gives every target's series a label
 * job of its own (the scrape job), and would rename ours. A job's labels
 * are first, as account_label() reads them.
 */
static const struct family families[] = {
	{ TM_BY_FAMILY, false, "",        "address family", { { "family", "family", TM_BY_FAMILY } } },
	{ TM_BY_PROTO,  false, "proto_",  "IP protocol",    { { "proto", "proto", TM_BY_PROTO } } },
	{ TM_BY_IFACE,  false, "device_", "network interface", { { "iface", "device", TM_BY_IFACE } } },
	{ TM_BY_CGROUP, false, "cgroup_", "cgroup",         { { "cgroup", "cgroup", TM_BY_CGROUP } } },
	{ TM_BY_JOB,    false, "job_",    "job (tm-stat --by job)", { JOB_LABELS } },
	{ TM_BY_JOB,    true,  "job_device_", "job, network interface and IP protocol",
	  { JOB_LABELS, { "iface", "device", TM_BY_IFACE }, { "proto", "proto", TM_BY_PROTO } } },
};
#define NLABELS		(sizeof(families[0].labels) / sizeof(families[0].labels[0]))

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

/* The column key of breakdown by's rows (in JSON and CSV). */
static const struct tm_col *find_col(enum tm_by by, const char *key)
{
	const struct tm_col *cols[TM_OUT_MAXCOLS];
	size_t i, n = tm_row_columns(by, false, false, cols);

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
 * The samples of four metric families, a series each: its labels, written
 * once as a text to m, and its counters. Rows of equal labels are one
 * series, their counters summed (a job id whose cgroups are two, such as a
 * unit of one name that is both the system's and a user's: one series, not
 * two that node_exporter would drop one of).
 */
struct series {
	FILE *m;		/* the labels, each ended by a NUL */
	char *text;
	size_t size;
	struct sample {
		size_t at;		/* its labels, at text + at */
		uint64_t v[NCOUNTERS];	/* counters[]'s, in order */
	} *v;
	size_t n, cap;
};

static int series_open(struct series *s)
{
	*s = (struct series){};
	s->m = open_memstream(&s->text, &s->size);
	return s->m ? 0 : -ENOMEM;
}

/* A series begun: its labels are written to s->m next. */
static int series_start(struct series *s)
{
	if (tm_grow(&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -ENOMEM;
	s->v[s->n].at = ftell(s->m);
	return 0;
}

/* The series begun, its labels written, has the counters of row r. */
static void series_end(struct series *s, const struct tm_col *const *val, const void *r,
		       const void *ctx)
{
	size_t k;

	putc('\0', s->m);
	for (k = 0; k < NCOUNTERS; k++)
		s->v[s->n].v[k] = field_value(val[k], r, ctx);
	s->n++;
}

static int cmp_labels(const void *a, const void *b, void *ctx)
{
	const struct series *s = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(s->text + s->v[x].at, s->text + s->v[y].at);

	return c ? c : x < y ? -1 : x > y;
}

/* The four families tm_<prefix>*, their series by their labels. */
static int series_write(FILE *f, struct series *s, const char *prefix, const char *what)
{
	size_t *by = NULL, i, j, k, n = 0;
	int err = fclose(s->m) ? -ENOMEM : 0;

	s->m = NULL;
	if (!err && s->n && !(by = calloc(s->n, sizeof(*by))))
		err = -ENOMEM;
	for (i = 0; !err && i < s->n; i++)
		by[i] = i;
	if (!err && s->n)
		qsort_r(by, s->n, sizeof(*by), cmp_labels, s);
	for (i = 0; !err && i < s->n; i = j) {
		struct sample *x = &s->v[by[i]];

		for (j = i + 1; j < s->n && !strcmp(s->text + s->v[by[j]].at, s->text + x->at); j++)
			for (k = 0; k < NCOUNTERS; k++)
				x->v[k] += s->v[by[j]].v[k];
		by[n++] = by[i];
	}
	for (k = 0; k < NCOUNTERS && !err; k++) {
		char name[64], help[160];

		snprintf(name, sizeof(name), "tm_%s%s", prefix, counters[k].name);
		snprintf(help, sizeof(help), "%s by user and %s since tm-load", counters[k].help,
			 what);
		head(f, name, "counter", help);
		for (i = 0; i < n; i++)
			fprintf(f, "%s{%s} %llu\n", name, s->text + s->v[by[i]].at,
				(unsigned long long)s->v[by[i]].v[k]);
	}
	if (!err && ferror(f))
		err = -EIO;
	free(by);
	return err;
}

static void series_free(struct series *s)
{
	if (s->m)
		fclose(s->m);
	free(s->text);
	free(s->v);
}

/* The four counters' columns of breakdown by's rows. */
static void counter_cols(enum tm_by by, const struct tm_col *val[NCOUNTERS])
{
	size_t k;

	for (k = 0; k < NCOUNTERS; k++)
		val[k] = find_col(by, counters[k].field);
}

/* The labels of row r of a breakdown, as one text. */
static int row_labels(FILE *f, const struct tm_prom *o, const struct family *fam,
		      const struct tm_col *const *c, const void *r, const void *ctx)
{
	bool first = true;
	size_t i;
	int err;

	err = col_label(f, &first, "user", c[0], r, ctx);
	if (!err)
		err = col_label(f, &first, "uid", c[1], r, ctx);
	for (i = 0; i < NLABELS && fam->labels[i].key && !err; i++)
		err = col_label(f, &first, fam->labels[i].name, c[2 + i], r, ctx);
	if (!err && fam->by == TM_BY_JOB && o->account)
		err = account_label(f, o, c[2], c[3], r, ctx);
	return err;
}

/* One breakdown: four metric families, a sample per series in each. */
static int write_breakdown(FILE *f, const struct tm_prom *o, const struct family *fam,
			   struct tm_names *names)
{
	const struct tm_col *lc[2 + NLABELS] = {}, *val[NCOUNTERS];
	struct tm_rows s = { .by_path = fam->by_path };
	struct tm_row_ctx ctx = { names, &s };
	struct series out;
	size_t i;
	int err;

	err = tm_rows_read_named(o->pins, fam->by, o->users, o->nusers, names, o->depth, &s);
	if (err)
		return err;
	lc[0] = find_col(fam->by, "user");
	lc[1] = find_col(fam->by, "uid");
	for (i = 0; i < NLABELS && fam->labels[i].key; i++)
		lc[2 + i] = find_col(fam->labels[i].from, fam->labels[i].key);
	counter_cols(fam->by, val);
	err = series_open(&out);
	for (i = 0; i < s.n && !err; i++) {
		err = series_start(&out);
		if (!err)
			err = row_labels(out.m, o, fam, lc, &s.v[i], &ctx);
		if (!err)
			series_end(&out, val, &s.v[i], &ctx);
	}
	if (!err)
		err = series_write(f, &out, fam->prefix, fam->what);
	series_free(&out);
	tm_rows_free(&s);
	return err;
}

/*
 * Each user's traffic by a pod's container (the cgroups of the container's
 * ID, with what is below them): labels jobid (the pod's UID) and
 * container_id, as kube-state-metrics' kube_pod_container_info has it but
 * for the runtime's "containerd://" before it. A container made again has
 * an ID of its own, so never a series of another's labels. The cgroup rows
 * are read again, not rolled up (tm-stat --depth rolls up those of
 * tm_cgroup_*).
 */
static int write_containers(FILE *f, const struct tm_prom *o, struct tm_names *names)
{
	const struct tm_col *user = find_col(TM_BY_CGROUP, "user"),
			    *uid = find_col(TM_BY_CGROUP, "uid"), *val[NCOUNTERS];
	struct tm_rows s = {};
	struct tm_row_ctx ctx = { names, &s };
	struct series out;
	size_t i;
	int err;

	err = tm_rows_read_named(o->pins, TM_BY_CGROUP, o->users, o->nusers, names, -1, &s);
	if (err)
		return err;
	counter_cols(TM_BY_CGROUP, val);
	err = series_open(&out);
	for (i = 0; !err && i < s.n; i++) {
		const struct tm_row *r = &s.v[i];
		bool first = true;
		struct tm_job j;

		if (r->other || !r->cgroup_id || !tm_names_job(names, r->cgroup_id, &j) ||
		    strcmp(j.kind, "pod") || !j.container[0])
			continue;
		err = series_start(&out);
		if (!err)
			err = col_label(out.m, &first, "user", user, r, &ctx);
		if (!err)
			err = col_label(out.m, &first, "uid", uid, r, &ctx);
		if (!err) {
			putc(',', out.m);
			err = tm_prom_label(out.m, "jobid", j.id, strlen(j.id));
		}
		if (!err) {
			putc(',', out.m);
			err = tm_prom_label(out.m, "container_id", j.container, strlen(j.container));
		}
		if (!err)
			series_end(&out, val, r, &ctx);
	}
	if (!err)
		err = series_write(f, &out, "container_", "a pod's container");
	series_free(&out);
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
