// SPDX-License-Identifier: GPL-2.0
/*
 * tm-stat: totals from the pinned counters, per user or broken down by
 * connection, process, interface, protocol or cgroup; once, every SEC
 * seconds, or as per-user report files.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "tm.h"

#define MAX_USERS 256

enum sort { SORT_BYTES, SORT_IN, SORT_OUT, SORT_PACKETS, SORT_KEY, SORT_MAX };

static const char *const sort_names[SORT_MAX] = { "bytes", "in", "out", "packets", "key" };

struct opts {
	const char *pin_root;
	enum tm_fmt format;
	enum tm_by by;
	enum sort sort;
	bool exact, bits;
	uint32_t users[MAX_USERS];
	int nusers;
	double interval;
	uint64_t count;		/* 0: for ever */
	uint64_t top;		/* 0: every row */
	int depth;		/* --by cgroup: roll up below this; -1: don't */
	bool self;		/* a user's self-view: their rows, no host notes */
	const char *output;
	const char *textfile;	/* the Prometheus exposition, renamed into place */
	const char *history;	/* tm-record's database: this day's and month's totals */
	const char *job;	/* --job: only the rows of its cgroups */
	const char *cgroup;	/* --cgroup: only the rows of cgroups at or below it */
	char cgroup_path[4096];	/* (--cgroup's path, its trailing slashes cut) */
	bool by_set, sort_set, format_set, count_set;	/* given, not defaults */
};

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-stat [OPTION]...\n"
"Print traffic totals from the pinned counters: bytes and packets in and out\n"
"since tm-load, per user or broken down further, largest first.\n"
"\n"
"  -B, --by KEY         user (default), conn, proc, iface, proto, cgroup, job\n"
"                       (a Slurm job, a pod, a container, a machine, a session\n"
"                       or a service, by its cgroup's path) or family (IPv4\n"
"                       and IPv6 apart)\n"
"      --depth N        with --by cgroup (and prometheus's cgroups): each cgroup\n"
"                       deeper than N levels below the metered cgroup counts\n"
"                       under its ancestor N levels below it (a job with its\n"
"                       steps, a unit, a container: one row); 0 sums into the\n"
"                       metered cgroup\n"
"      --job JOB        only the rows of job JOB's cgroups (its id, as --by job\n"
"                       shows it), with --by proc, iface, proto, cgroup or job\n"
"  -c, --cgroup PATH    only the rows of cgroups at or below PATH (as --by\n"
"                       cgroup shows it, or under the cgroup v2 mount as\n"
"                       tm-load takes it), with the same\n"
"  -u, --user USER      only this user, by name or UID (repeatable); with --by\n"
"                       user a named user with no traffic shows zeros\n"
"      --format FMT     table (default), json, csv or prometheus (the text\n"
"                       exposition format: every user's counters by family,\n"
"                       protocol, interface (device) and cgroup, and tm's health)\n"
"  -j, --json           same as --format json: an array of rows\n"
"  -b, --bytes          exact byte counts in the table instead of KiB, MiB, ...\n"
"      --bits           with --interval: rates in the table and the --output\n"
"                       reports in bits a second (kbit/s, Mbit/s), not bytes\n"
"  -t, --top N          only the first N rows\n"
"  -s, --sort KEY       bytes (in + out, default), in, out, packets, or key\n"
"  -i, --interval SEC   report every SEC seconds (fractions allowed) with rates\n"
"                       over the interval; json: one array a line\n"
"  -n, --count N        with --interval: stop after N reports\n"
"  -o, --output TEMPLATE  with --interval: append each user's report to their\n"
"                       own file (%%u user name, %%U uid, %%%% a %%): a header\n"
"                       with the time, the user's totals and rates, and a block\n"
"                       per connection that moved in the interval, with what it\n"
"                       moved; SIGINT or SIGTERM write a last report\n"
"      --textfile FILE  write --format prometheus into FILE (node_exporter's\n"
"                       textfile directory, a name ending .prom): a new file\n"
"                       renamed over it, once or every --interval; removed\n"
"                       when the meter is unloaded, and with --interval when\n"
"                       tm-stat stops (SIGTERM, --count)\n"
"      --history PATH   with prometheus: also gauges of each user's bytes this\n"
"                       day and this month to now (tm-record's database PATH),\n"
"                       and each job's account from its ledger (tm-job)\n"
TM_COMMON_HELP
"\n"
"Rows: user, uid, in_bytes, out_bytes, in_packets, out_packets, and the keys\n"
"of the breakdown: conn: proto, family, local, lport, remote, rport, pid, comm,\n"
"first_seen, last_seen; proc: pid, comm; iface: iface, netns; proto: proto;\n"
"cgroup: cgroup; job: job, kind, state (running or ended), cgroup (the job's\n"
"own; all three null for the user's cgroups in no job); family: family (null\n"
"for the untracked row). With --interval\n"
"also ts, in_rate and out_rate (bytes per second). Users are UIDs as the host\n"
"sees them, in user namespaces too. An\n"
"interface is named as in its own network namespace: NAME@NS when that is not\n"
"this one (NS: its name under /run/netns, else the inode netns gives). A\n"
"cgroup keeps its path after it is removed. Rows a user has past their share of\n"
"a breakdown (tm-load --max-details) are their row (other), pid null; rows of\n"
"cgroups that ended, once tm-record retired them, their row (retired).\n"
"Packets of no user socket are the row uid null, user \"unknown\"; with --by\n"
"user, traffic of untracked networks is the row uid null, user \"untracked\".\n"
"JSON and CSV are valid UTF-8 whatever names processes have (bytes that are\n"
"not UTF-8 become U+FFFD); tables show control characters as \\n, \\xHH.\n"
"\n"
"Installed setuid, a user who is not root sees only their own rows, read from\n"
"" TM_DEFAULT_PIN_ROOT " (no --pin-root), unless in tm-load --group's group.\n"
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage.\n");
}

enum { OPT_FORMAT = TM_OPT_OWN, OPT_TEXTFILE, OPT_HISTORY, OPT_DEPTH, OPT_BITS, OPT_JOB };

/* A job's id or a cgroup's path as tm shows them: text with no control character. */
static int filter_text(const char *opt, const char *arg, bool path)
{
	char shown[256];
	size_t i, n = strlen(arg);

	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
			break;
	if (!n || i < n || n >= 4096 || (path ? arg[0] != '/' : !!strchr(arg, '/'))) {
		tm_usage_err("%s '%s': must be %s", opt, tm_shown(arg, n, shown, sizeof(shown)),
			     path ? "a cgroup path as tm-stat --by cgroup shows it (/...)" :
				    "a job as tm-stat --by job shows it (no /, no control character)");
		return -TM_EUSAGE;
	}
	return 0;
}

/* One option of the command line. */
static int apply(struct opts *o, int c, const char *arg)
{
	const unsigned formats = 1u << TM_FMT_TABLE | 1u << TM_FMT_JSON | 1u << TM_FMT_CSV |
				 1u << TM_FMT_PROMETHEUS;
	int err = 0, v;

	switch (c) {
	case 'B':
		err = tm_pick("--by", arg, tm_by_names, TM_BY_MAX, &v);
		o->by = v;
		o->by_set = true;
		return err;
	case OPT_DEPTH:
		return tm_parse_depth("--depth", arg, &o->depth);
	case 'u':
		return tm_add_user(arg, o->users, &o->nusers, MAX_USERS);
	case OPT_FORMAT:
		o->format_set = true;
		return tm_parse_format("--format", arg, formats, &o->format);
	case 'j':
		o->format = TM_FMT_JSON;
		o->format_set = true;
		return 0;
	case 'b':
		o->exact = true;
		return 0;
	case OPT_BITS:
		o->bits = true;
		return 0;
	case 't':
		return tm_parse_count("--top", arg, &o->top);
	case 's':
		err = tm_pick("--sort", arg, sort_names, SORT_MAX, &v);
		o->sort = v;
		o->sort_set = true;
		return err;
	case 'i':
		return tm_parse_interval("--interval", arg, &o->interval);
	case 'n':
		o->count_set = true;
		return tm_parse_count("--count", arg, &o->count);
	case 'o':
		o->output = arg;
		return tm_check_template(arg, "uU");
	case OPT_HISTORY:
		o->history = arg;
		return 0;
	case OPT_TEXTFILE:
		o->textfile = arg;
		return tm_prom_check_textfile(arg);
	case OPT_JOB:
		o->job = arg;
		return filter_text("--job", arg, false);
	case 'c': {
		char mnt[PATH_MAX];
		size_t n = strlen(arg), m;

		err = filter_text("--cgroup", arg, true);
		if (err)
			return err;
		/* As tm-load takes it (under the cgroup v2 mount) or as tm-stat shows it. */
		if (!tm_cgroup2_mount(mnt, sizeof(mnt)) && (m = strlen(mnt)) > 1 &&
		    !strncmp(arg, mnt, m) && (!arg[m] || arg[m] == '/')) {
			arg += m;
			n -= m;
			if (!n)
				arg = "/", n = 1;
		}
		/* /a/b/ is /a/b; / stays */
		memcpy(o->cgroup_path, arg, n + 1);
		while (n > 1 && o->cgroup_path[n - 1] == '/')
			o->cgroup_path[--n] = '\0';
		o->cgroup = o->cgroup_path;
		return 0;
	}
	default:
		return tm_common_opt(c, arg, &o->pin_root, usage);
	}
}

/* What the options say together: one that needs another, or one the format does not take. */
static int check_args(struct opts *o)
{
	const char *bad = o->by_set ? "--by" : o->sort_set ? "--sort" : o->top ? "--top" :
			  o->exact ? "--bytes" : o->bits ? "--bits" : o->output ? "--output" :
			  o->job ? "--job" : o->cgroup ? "--cgroup" : NULL;
	const char *alone;

	if (o->textfile) {
		if (o->format_set && o->format != TM_FMT_PROMETHEUS) {
			tm_usage_err("--textfile writes --format prometheus");
			return -TM_EUSAGE;
		}
		o->format = TM_FMT_PROMETHEUS;
	}
	if (o->format == TM_FMT_PROMETHEUS && bad) {
		tm_usage_err("%s does not go with --format prometheus (it writes every "
			     "breakdown it offers, as counters)", bad);
		return -TM_EUSAGE;
	}
	/* The first of these that holds is said. */
	alone = o->format == TM_FMT_PROMETHEUS && o->interval && !o->textfile ?
		"--interval goes with --textfile for --format prometheus" :
		o->history && o->format != TM_FMT_PROMETHEUS ? "--history goes with --format prometheus" :
		o->count_set && !o->interval ? "--count goes with --interval" :
		o->bits && !o->interval ? "--bits goes with --interval (rates)" :
		o->output && !o->interval ? "--output goes with --interval" :
		o->depth >= 0 && o->by != TM_BY_CGROUP && o->format != TM_FMT_PROMETHEUS ?
		"--depth goes with --by cgroup or --format prometheus" :
		(o->job || o->cgroup) && !tm_by_details(o->by) && o->by != TM_BY_CONN ?
		"--job and --cgroup go with --by conn, proc, iface, proto, cgroup or job" : NULL;
	if (alone) {
		tm_usage_err("%s", alone);
		return -TM_EUSAGE;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, 'B' },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "bits", no_argument, NULL, OPT_BITS },
		{ "top", required_argument, NULL, 't' },
		{ "sort", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "textfile", required_argument, NULL, OPT_TEXTFILE },
		{ "history", required_argument, NULL, OPT_HISTORY },
		TM_COMMON_OPTIONS,
		{}
	};
	int c, err;

	o->depth = -1;
	while ((c = getopt_long(argc, argv, "B:u:c:jbt:s:i:n:o:vVh", longopts, NULL)) != -1) {
		err = apply(o, c, optarg);
		if (err)
			return err;
	}
	err = tm_no_more_args(argc, argv, optind);
	return err ? err : check_args(o);
}

static uint64_t sort_value(const struct tm_row *r, enum sort key)
{
	switch (key) {
	case SORT_IN:
		return r->c.in_bytes;
	case SORT_OUT:
		return r->c.out_bytes;
	case SORT_PACKETS:
		return r->c.in_packets + r->c.out_packets;
	case SORT_KEY:
		return 0;
	default:
		return r->c.in_bytes + r->c.out_bytes;
	}
}

/*
 * Whether the users asked for have traffic in their totals: a breakdown
 * with no rows may still have had traffic, whose rows went (evicted, past
 * a share) while the per-user totals kept every byte.
 */
static bool has_totals(const struct opts *o, const struct tm_pins *p)
{
	struct tm_rows s = {};
	bool any = false;
	size_t i;

	/* (A user named is a row even with nothing counted.) */
	if (!tm_rows_read(p, TM_BY_USER, o->users, o->nusers, &s))
		for (i = 0; i < s.n && !any; i++)
			any = s.v[i].c.in_packets || s.v[i].c.out_packets;
	tm_rows_free(&s);
	return any;
}

/* What a reader of the table should know: the interval, the filter. */
static void table_notes(const struct opts *o, const struct tm_pins *p,
			struct tm_names *names, const struct tm_rows *s, size_t nrows, bool before)
{
	struct tm_iface_key key, *prev = NULL;
	struct tm_iface v;
	bool first = true;

	if (before) {
		if (o->interval) {
			char when[64];
			struct tm tm;

			localtime_r(&s->wall.tv_sec, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
			printf("%s  (every %g s)\n", when, o->interval);
		}
		return;
	}
	if (!nrows && o->by != TM_BY_USER && has_totals(o, p))
		printf("(no rows of this breakdown now; the traffic is in the per-user totals, "
		       "tm-stat --by user)\n");
	else if (!nrows)
		printf("(no traffic counted yet)\n");
	while (p->control->ifaces && !bpf_map_get_next_key(p->fd[TM_MAP_IFACES], prev, &key)) {
		if (!bpf_map_lookup_elem(p->fd[TM_MAP_IFACES], &key, &v)) {
			const char *name = tm_names_iface(names, key.netns_cookie, v.netns,
							  key.ifindex, NULL);
			char line[256];
			TM_BUF(b, line);

			tm_put_text(&b, name ? name : "?", name ? strlen(name) : 1);
			printf("%s%.*s", first ? "(only packets on " : ", ", (int)(b.p - line), line);
			first = false;
		}
		prev = &key;
	}
	if (!first)
		printf(")\n");
	if (o->interval)
		putchar('\n');
}

static void notes(const struct opts *o, const struct tm_pins *p, const struct tm_rows *s)
{
	const struct tm_health_item *it;
	struct tm_health h;
	int i;

	/* What was counted apart, as the meter's health describes it. */
	tm_health_of(&h, &s->g, s->conns_live);
	for (i = 0; i < TM_HEALTH_COUNT; i++) {
		it = &tm_health_items[i];
		if (!(it->by & 1u << o->by) || !tm_health_value(&h, i))
			continue;
		if (it->bytes != TM_HEALTH_NONE)
			tm_err("note: %" PRIu64 " packets (%" PRIu64 " bytes) %s",
			       tm_health_value(&h, i), tm_health_value(&h, it->bytes), it->note);
		else
			tm_err("note: %" PRIu64 " %s", tm_health_value(&h, i), it->note);
	}
	if (tm_by_details(o->by) && s->g.details_other)
		tm_err("note: users with more than %u rows in this breakdown have the rest "
		       "in their row (other)", p->control->details_quota);
	/* Once a table, for a person reading it: not on every scripted reading. */
	if (p->control->owner_kind == TM_OWNER_CREATOR && o->format == TM_FMT_TABLE)
		tm_err("note: this kernel does not let tm read a socket's owner (tm-status "
		       "says why): each socket counts under the UID that made it, and one "
		       "made before the load under its UID as its network namespace maps it");
}

/* One report of a reading: its rows in display order, in the format asked. */
static int report(const struct opts *o, const struct tm_pins *p, struct tm_out *out,
		  struct tm_names *names, const struct tm_rows *s, bool first)
{
	struct tm_row_ctx ctx = { names, s };
	struct tm_ordered *ord;
	size_t nrows, i;
	int err = 0;

	ord = malloc((s->n ? s->n : 1) * sizeof(*ord));
	if (!ord)
		return -ENOMEM;
	for (i = 0; i < s->n; i++)
		ord[i] = (struct tm_ordered){ .value = sort_value(&s->v[i], o->sort), .row = &s->v[i] };
	err = tm_rows_order(ord, s->n);
	if (err) {
		free(ord);
		return err;
	}
	nrows = o->top && o->top < s->n ? o->top : s->n;
	if (o->format == TM_FMT_TABLE)
		table_notes(o, p, names, s, nrows, true);
	tm_out_begin(out, first);
	for (i = 0; i < nrows && !err; i++) {
		/* Rows in this order are far apart in memory: ask ahead. */
		if (i + 8 < nrows)
			__builtin_prefetch(ord[i + 8].row);
		err = tm_out_row(out, ord[i].row, &ctx);
	}
	free(ord);
	if (!err)
		err = tm_out_end(out);
	if (!err && o->format == TM_FMT_TABLE)
		table_notes(o, p, names, s, nrows, false);
	if (!err && (fflush(stdout) || ferror(stdout)))
		err = -errno;
	/* The notes are about the host: not for a user's self-view. */
	if (!err && first && !o->self)
		notes(o, p, s);
	return err;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* --job and --cgroup: the cgroups whose rows are shown. */
struct filter {
	const struct opts *o;
	struct tm_names *names;
};

static bool keep_cgroup(uint64_t id, void *ctx)
{
	const struct filter *f = ctx;

	return tm_names_cgroup_in(f->names, id, f->o->job, f->o->cgroup);
}

/* One reading of the breakdown asked for, rolled up with --depth, filtered by --job and --cgroup. */
static int read_rows(const struct opts *o, const struct tm_pins *p, struct tm_names *names,
		     struct tm_rows *s)
{
	static struct filter f;

	if (o->job || o->cgroup) {
		f = (struct filter){ o, names };
		s->keep = keep_cgroup;
		s->keep_ctx = &f;
	}
	return tm_rows_read_named(p, o->by, o->users, o->nusers, names, o->depth, s);
}

/*
 * A reading every interval, with rates since the one before. Report files
 * also need each user's connections: a second reading, by connection.
 */
static int interval_reports(const struct opts *o, const struct tm_pins *p, struct tm_out *out,
			    struct tm_names *names)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct tm_rows a = {}, b = {}, *cur = &a, *prev = &b, *tmp;
	struct tm_rows ca = {}, cb = {}, *conns = &ca, *conns_prev = &cb, moved = {};
	uint64_t n;
	bool last = false;
	int err;

	err = read_rows(o, p, names, prev);
	if (!err && o->output)
		err = tm_rows_read(p, TM_BY_CONN, o->users, o->nusers, conns_prev);
	/* Caught from the first reading on (a test waits for that): the
	 * first interval starts there. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (n = 0; !err && !last && (!o->count || n < o->count); n++) {
		tm_sleep(o->interval);
		/* SIGINT or SIGTERM: one last report, then out. */
		last = stop;
		err = read_rows(o, p, names, cur);
		if (err)
			break;
		tm_rows_rates(cur, prev);
		if (o->output) {
			/* The connections that moved in this interval, by what they moved. */
			err = tm_rows_read(p, TM_BY_CONN, o->users, o->nusers, conns);
			if (!err)
				err = tm_rows_since(conns, conns_prev, &moved);
			if (!err)
				err = tm_write_reports(o->output, p->control->admin_gid, o->interval,
						       o->bits, cur, &moved);
			tmp = conns_prev, conns_prev = conns, conns = tmp;
		} else {
			err = report(o, p, out, names, cur, n == 0);
		}
		tmp = prev, prev = cur, cur = tmp;
	}
	tm_rows_free(&a);
	tm_rows_free(&b);
	tm_rows_free(&ca);
	tm_rows_free(&cb);
	tm_rows_free(&moved);
	return err;
}

/* This day's and this month's totals, gathered for the gauges. */
struct current {
	const struct opts *o;
	struct { int64_t uid; struct tm_counters day, month; } *v;
	size_t n, cap;
};

static int add_current(int64_t uid, const struct tm_counters *day, const struct tm_counters *month,
		       void *ctx)
{
	struct current *c = ctx;

	if (!tm_users_match(c->o->users, c->o->nusers, uid < 0 ? TM_UID_UNKNOWN : (uint32_t)uid))
		return 0;
	if (tm_grow(&c->v, &c->cap, c->n, sizeof(*c->v)))
		return -ENOMEM;
	c->v[c->n].uid = uid;
	c->v[c->n].day = *day;
	c->v[c->n++].month = *month;
	return 0;
}

struct history_ctx {
	const struct opts *o;
	const struct tm_pins *p;
	struct tm_ledger_jobs jobs;	/* the ledger's of the last month, by kind and id */
	sqlite3 *db;		/* the history, open for one exposition */
};

static int cmp_job(const void *a, const void *b)
{
	const struct tm_ledger_job *x = &((const struct tm_ledger_entry *)a)->j,
				   *y = &((const struct tm_ledger_entry *)b)->j;
	int d = strcmp(x->kind, y->kind);

	return d ? d : strcmp(x->id, y->id);
}

/*
 * --history: the history opened for an exposition (once, for the accounts
 * and the gauges), and the jobs of the ledger there read, for the job
 * family's account label: again for each exposition (jobs start between
 * them).
 */
static int read_accounts(struct history_ctx *h)
{
	struct tm_ledger_query q = { h->o->history, time(NULL) - TM_LEDGER_HOLD, INT64_MAX,
				     .no_parts = true };
	int err;

	tm_ledger_jobs_free(&h->jobs);
	tm_history_close(h->db);
	h->db = NULL;
	err = tm_history_open_ro(h->o->history, &h->db);
	if (!err)
		err = tm_ledger_read(h->db, &q, &h->jobs);
	if (!err && h->jobs.n)
		qsort(h->jobs.v, h->jobs.n, sizeof(h->jobs.v[0]), cmp_job);
	return err;
}

static const char *job_account(const char *kind, size_t nkind, const char *id, size_t nid,
			       void *ctx)
{
	const struct history_ctx *h = ctx;
	struct tm_ledger_entry key = {}, *e;

	if (nkind >= sizeof(key.j.kind) || nid >= sizeof(key.j.id))
		return NULL;
	memcpy(key.j.kind, kind, nkind);
	memcpy(key.j.id, id, nid);
	e = h->jobs.n ? bsearch(&key, h->jobs.v, h->jobs.n, sizeof(*e), cmp_job) : NULL;
	return e && e->j.account[0] ? e->j.account : NULL;
}

/*
 * --history: gauges of each user's bytes this calendar day and month (local
 * time) to now, which PromQL's windows cannot say: the history's rows, and
 * what the counters grew since the sample they end at.
 */
static int history_gauges(FILE *f, void *ctx)
{
	static const struct { const char *name, *help; bool month, out; } g[] = {
		{ "tm_day_receive_bytes", "Bytes received this day (local time) to now", false, false },
		{ "tm_day_transmit_bytes", "Bytes sent this day (local time) to now", false, true },
		{ "tm_month_receive_bytes", "Bytes received this month (local time) to now", true, false },
		{ "tm_month_transmit_bytes", "Bytes sent this month (local time) to now", true, true },
	};
	const struct history_ctx *h = ctx;
	struct current cur = { .o = h->o };
	struct tm_rows s = {};
	struct tm_series *series = NULL;
	char load[128], uid[24];
	size_t i, k;
	int err;

	err = tm_history_load_name(h->p, load, sizeof(load));
	if (!err)
		err = tm_rows_read(h->p, TM_BY_USER, h->o->users, h->o->nusers, &s);
	if (!err && !(series = calloc(s.n ? s.n : 1, sizeof(*series))))
		err = -ENOMEM;
	for (i = 0, k = 0; !err && i < s.n; i++)
		if (!s.v[i].untracked)
			series[k++] = (struct tm_series){ "user", s.v[i].uid, "", s.v[i].c };
	if (!err)
		err = tm_history_current(h->db, h->o->history, load, series, k, time(NULL), add_current,
					 &cur);
	for (k = 0; !err && k < sizeof(g) / sizeof(g[0]); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name, g[k].help, g[k].name);
		for (i = 0; i < cur.n; i++) {
			const struct tm_counters *c = g[k].month ? &cur.v[i].month : &cur.v[i].day;
			const char *name = cur.v[i].uid < 0 ? "unknown" : tm_uid_name(cur.v[i].uid);

			snprintf(uid, sizeof(uid), "%lld", (long long)cur.v[i].uid);
			fprintf(f, "%s{", g[k].name);
			tm_prom_label(f, "user", name ? name : uid, strlen(name ? name : uid));
			if (cur.v[i].uid >= 0) {
				putc(',', f);
				tm_prom_label(f, "uid", uid, strlen(uid));
			}
			fprintf(f, "} %llu\n",
				(unsigned long long)(g[k].out ? c->out_bytes : c->in_bytes));
		}
	}
	free(cur.v);
	free(series);
	tm_rows_free(&s);
	return err;
}

/*
 * --format prometheus: once to stdout, or into --textfile, once or every
 * interval. When the meter is unloaded, the file goes too: its figures
 * would be of a meter no longer there. So when a writer every interval
 * ends (SIGTERM: systemctl stop; SIGINT; --count): frozen counters would
 * read as a host with no traffic. Written once, the file stays (cron).
 */
static int prometheus(const struct opts *o, const struct tm_pins *p)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct history_ctx h = { .o = o, .p = p };
	struct tm_prom po = { p, o->users, o->nusers, o->depth, o->self,
			      o->history ? history_gauges : NULL, &h,
			      o->history ? job_account : NULL };
	uint64_t n;
	int err;

	if (!o->textfile) {
		err = o->history ? read_accounts(&h) : 0;
		if (!err)
			err = tm_prom_write(stdout, &po);
		if (!err && (fflush(stdout) || ferror(stdout)))
			err = -errno;
		tm_ledger_jobs_free(&h.jobs);
		tm_history_close(h.db);
		return err;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = o->history ? read_accounts(&h) : 0;
	if (!err)
		err = tm_prom_textfile(o->textfile, &po);
	for (n = 1; !err && !stop && o->interval && (!o->count || n < o->count); n++) {
		tm_sleep(o->interval);
		if (!stop && o->history)
			err = read_accounts(&h);
		if (!stop && !err)
			err = tm_prom_textfile(o->textfile, &po);
	}
	tm_ledger_jobs_free(&h.jobs);
	tm_history_close(h.db);
	if ((err == -ENOENT || (!err && o->interval)) && !unlink(o->textfile))
		tm_err("removed %s%s", o->textfile, err ? "" : ": its writer stopped");
	return err;
}

/* pins: opened already (self-view), else opened here. */
static int run(const struct opts *o, struct tm_pins *opened)
{
	const struct tm_col *cols[TM_OUT_MAXCOLS];
	struct tm_names names;
	struct tm_rows s = {};
	struct tm_pins pins;
	struct tm_out out;
	size_t ncols;
	int err;

	if (opened)
		pins = *opened;
	else if ((err = tm_pins_open(&pins, o->pin_root)))
		return err;
	if (o->format == TM_FMT_PROMETHEUS) {
		err = prometheus(o, &pins);
		tm_pins_close(&pins);
		return err == -EPIPE ? 0 : err;
	}
	tm_names_init(&names, &pins);
	/* The site's job rules read whole first: a bad one, and nothing is shown. */
	if ((o->by == TM_BY_JOB || o->job) && (err = tm_names_jobs_load(&names)))
		goto out;
	ncols = tm_row_columns(o->by, o->format == TM_FMT_TABLE, o->interval > 0, cols);
	err = tm_out_init(&out, o->format, cols, ncols);
	if (err)
		goto out;
	out.exact = o->exact;
	out.bits = o->bits;
	if (!o->interval) {
		err = read_rows(o, &pins, &names, &s);
		if (!err)
			err = report(o, &pins, &out, &names, &s, true);
		tm_rows_free(&s);
	} else {
		err = interval_reports(o, &pins, &out, &names);
	}
	tm_out_free(&out);
out:
	tm_names_free(&names);
	tm_pins_close(&pins);
	/* A reader that went away (| head) is not an error. */
	return err == -EPIPE ? 0 : err;
}

/*
 * Run setuid by a user: their own rows only (all of them for the load's
 * admin group), from the built-in pin root.
 */
static int self_view_opts(struct opts *o, bool all)
{
	if (o->history) {
		tm_usage_err("--history: the history database is root's");
		return -TM_EUSAGE;
	}
	o->self = !all;
	return tm_self_view_rows(o->pin_root, all, o->users, &o->nusers);
}

int main(int argc, char **argv)
{
	struct tm_pins pins;
	struct opts o = {};
	bool self = tm_self_view(), all = false, opened = false;
	int err = 0;

	tm_init("tm-stat");
	/* Before anything the user gave is read: see lib/kernel/priv.c. */
	if (self) {
		err = tm_self_view_open(&pins, &all);
		opened = !err;
	}
	if (!err)
		err = parse_args(argc, argv, &o);
	if (!err && self)
		err = self_view_opts(&o, all);
	/* Refused: the pins opened for the self-view go unused. */
	if (err && opened)
		tm_pins_close(&pins);
	/* Each report is flushed whole when done. */
	if (!err) {
		tm_stdout_block_buffered();
		err = run(&o, self ? &pins : NULL);
	}
	return tm_exit_code(err);
}
