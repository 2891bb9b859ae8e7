// SPDX-License-Identifier: GPL-2.0
/*
 * tm-report: what tm-record kept, for any past hour, day, month or year:
 * each user's totals in and out, by period, their top remote networks,
 * processes and cgroups, and the 95th percentile of their five-minute
 * rates; as a table, JSON, CSV or one self-contained HTML page with a chart
 * per user (inline SVG, no script, nothing fetched).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tm.h"


#define MAX_USERS 256

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_HTML, FMT_MAX };

static const char *const fmt_names[FMT_MAX] = { "table", "json", "csv", "html" };
static const char *const period_names[] = { "hour", "day", "month", "year" };

struct opts {
	const char *db;
	uint32_t users[MAX_USERS];
	int nusers;
	int64_t since, until;	/* periods starting in [since, until) */
	bool since_set, until_set;
	enum tm_tier by;
	uint64_t top;
	bool top_set, by_set;
	enum fmt fmt;
	bool exact, bits, self;
	bool jobs;			/* the job ledger, not the users' history */
	const char *job, *account;
};

struct report {
	const struct opts *o;
	struct tm_report h;	/* what the history says */
	struct tm_ledger_jobs jobs;	/* with --jobs, what the ledger says */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-report [OPTION]...\n"
"Report what tm-record kept: each user's bytes in and out by hour, day, month\n"
"or year, their top remote networks, processes and cgroups, and the 95th\n"
"percentile of their five-minute rates.\n"
"\n"
"      --db PATH        the database (default " TM_DEFAULT_HISTORY_DB ")\n"
"  -u, --user USER      only this user, by name or UID (repeatable)\n"
"      --since WHEN     periods from WHEN: a time ago (30m, 1h, 7d, 2w; also\n"
"                       -1h, '1h ago'), now, today, yesterday, tomorrow,\n"
"                       YYYY, YYYY-MM, YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]'\n"
"                       (or with a T), local time; or @SECONDS\n"
"      --until WHEN     periods before WHEN (same forms)\n"
"      --period PERIOD  hour, day (default), month or year\n"
"  -t, --top N          networks, processes and cgroups a user shows (5);\n"
"                       with --jobs, the jobs shown (default: all)\n"
"      --jobs           the job ledger (tm-job): jobs that ran in the range,\n"
"                       most bytes first, each with its parts by address\n"
"                       family and interface\n"
"      --job ID         only this job, by its id or SLUID (as --jobs)\n"
"      --account NAME   only this account's jobs (as --jobs)\n"
"      --format FMT     table (default), json, csv or html (one page, a chart\n"
"                       per user, nothing fetched, no script)\n"
"  -j, --json           same as --format json\n"
"  -b, --bytes          exact byte counts in the table\n"
"      --bits           the 95th percentile in the table and the page in bits\n"
"                       a second (kbit/s, Mbit/s), not bytes\n"
"  -v, --verbose        more messages\n"
"  -V, --version        show tm's version and exit\n"
"  -h, --help           show this help and exit\n"
"\n"
"Periods are local time (TZ). The 95th percentile is over the five-minute\n"
"rows in the range (tm-record keeps two days of them by default), a\n"
"five-minute interval with no traffic counting as zero.\n"
"Installed setuid, a user who is not root sees only their own rows, from\n"
TM_DEFAULT_HISTORY_DB " (no --db), unless in tm-load --group's group.\n"
"\n"
"Exit status: 0 success, 1 failure, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_DB = TM_OPT_OWN, OPT_SINCE, OPT_UNTIL, OPT_PERIOD, OPT_FORMAT, OPT_BITS, OPT_BY,
	       OPT_JOBS, OPT_JOB, OPT_ACCOUNT };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "period", required_argument, NULL, OPT_PERIOD },
		/* Not in --help: a pointer to --period for tm-stat's and tm-top's habit. */
		{ "by", required_argument, NULL, OPT_BY },
		{ "top", required_argument, NULL, 't' },
		{ "jobs", no_argument, NULL, OPT_JOBS },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "account", required_argument, NULL, OPT_ACCOUNT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "bits", no_argument, NULL, OPT_BITS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, err, v;

	o->by = TM_TIER_DAY;
	o->top = 5;
	o->since = INT64_MIN;
	o->until = INT64_MAX;
	while ((c = getopt_long(argc, argv, "u:t:jbvVh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case OPT_DB:
			o->db = optarg;
			break;
		case 'u':
			err = tm_add_user(optarg, o->users, &o->nusers, MAX_USERS);
			break;
		case OPT_SINCE:
			err = tm_parse_when("--since", optarg, &o->since);
			o->since_set = true;
			break;
		case OPT_UNTIL:
			err = tm_parse_when("--until", optarg, &o->until);
			o->until_set = true;
			break;
		case OPT_PERIOD:
			err = tm_pick("--period", optarg, period_names, 4, &v);
			o->by = TM_TIER_HOUR + v;
			o->by_set = true;
			break;
		case OPT_JOBS:
			o->jobs = true;
			break;
		case OPT_JOB:
			o->job = optarg;
			o->jobs = true;
			break;
		case OPT_ACCOUNT:
			o->account = optarg;
			o->jobs = true;
			break;
		case OPT_BY:
			tm_usage_err("--by is a breakdown (tm-stat, tm-top); a report's periods are "
				     "--period %s", optarg);
			return -TM_EUSAGE;
		case 't':
			err = tm_parse_count("--top", optarg, &o->top);
			o->top_set = true;
			break;
		case OPT_FORMAT:
			err = tm_pick("--format", optarg, fmt_names, FMT_MAX, &v);
			o->fmt = v;
			break;
		case 'j':
			o->fmt = FMT_JSON;
			break;
		case 'b':
			o->exact = true;
			break;
		case OPT_BITS:
			o->bits = true;
			break;
		case 'v':
			break;
		case 'V':
			tm_version();
		case 'h':
			usage(stdout);
			exit(0);
		default:
			tm_usage_err("see the usage");
			return -TM_EUSAGE;
		}
		if (err)
			return err;
	}
	err = tm_no_more_args(argc, argv, optind);
	if (!err && o->since >= o->until) {
		tm_usage_err("--since must come before --until");
		err = -TM_EUSAGE;
	}
	if (!err && o->jobs && (o->by_set || o->bits)) {
		tm_usage_err("%s: not for the job ledger (--jobs)", o->by_set ? "--period" : "--bits");
		err = -TM_EUSAGE;
	}
	if (!err && ((o->job && !*o->job) || (o->account && !*o->account))) {
		tm_usage_err("%s: empty", o->job && !*o->job ? "--job" : "--account");
		err = -TM_EUSAGE;
	}
	if (!err && o->jobs && !o->top_set)
		o->top = 0;
	return err;
}

/* ---- reading ---- */

/* ---- writing ---- */

static const char *user_name(const struct tm_report_user *u, char *buf, size_t len)
{
	const char *name;

	if (u->uid < 0)
		return "unknown";
	name = tm_uid_name((uint32_t)u->uid);
	if (name)
		return name;
	snprintf(buf, len, "%lld", (long long)u->uid);
	return buf;
}

/* A period's start as people read it, by the size of the period. */
static void period_text(const struct opts *o, int64_t start, char *buf, size_t len)
{
	static const char *const fmts[] = { "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m", "%Y" };
	time_t t = start;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, fmts[o->by - TM_TIER_HOUR], &tm);
}

static void iso_time(int64_t start, char *buf, size_t len)
{
	time_t t = start;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

/* HTML text: as a table shows it (no control character, valid UTF-8), then escaped. */
static void put_html(FILE *f, const char *s)
{
	size_t n = strlen(s), cap = 4 * n + 8;
	char *buf = malloc(cap), *p;
	struct tm_buf b = { buf, buf + cap };

	if (!buf)
		return;
	tm_put_text(&b, s, n);
	for (p = buf; p < b.p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: putc(*p, f); break;
		}
	}
	free(buf);
}

static void put_size(FILE *f, const struct opts *o, uint64_t v)
{
	char buf[40];
	TM_BUF(b, buf);

	if (o->exact)
		tm_put_u64(&b, v);
	else
		tm_put_size(&b, v);
	fwrite(buf, 1, b.p - buf, f);
}

static void put_rate(FILE *f, const struct opts *o, double v)
{
	char buf[40];
	TM_BUF(b, buf);

	tm_put_rate(&b, v, o->bits);
	fwrite(buf, 1, b.p - buf, f);
}

static void range_text(const struct opts *o, char *buf, size_t len)
{
	char a[32] = "the first", z[32] = "the last";
	time_t t;
	struct tm tm;

	if (o->since_set) {
		t = o->since;
		localtime_r(&t, &tm);
		strftime(a, sizeof(a), "%Y-%m-%d %H:%M", &tm);
	}
	if (o->until_set) {
		t = o->until;
		localtime_r(&t, &tm);
		strftime(z, sizeof(z), "before %Y-%m-%d %H:%M", &tm);
	}
	if (o->jobs)
		snprintf(buf, len, "jobs that ran from %s to %s", a, z);
	else
		snprintf(buf, len, "by %s, from %s to %s", period_names[o->by - TM_TIER_HOUR], a, z);
}

static void write_table(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	char name[32], when[40], range[128];
	size_t i, j, k;

	range_text(o, range, sizeof(range));
	fprintf(f, "tm-report  %s\n", range);
	if (!r->h.n)
		fprintf(f, "\n(no traffic recorded in this range)\n");
	for (i = 0; i < r->h.n; i++) {
		const struct tm_report_user *u = &r->h.users[i];

		fputc('\n', f);
		tm_fput_safe(f, tm_put_text, user_name(u, name, sizeof(name)));
		if (u->uid >= 0)
			fprintf(f, " (uid %lld)", (long long)u->uid);
		fputs("  in ", f);
		put_size(f, o, u->c.in_bytes);
		fputs("  out ", f);
		put_size(f, o, u->c.out_bytes);
		if (u->has_p95) {
			fputs("  95th percentile in ", f);
			put_rate(f, o, u->p95_in);
			fputs(" out ", f);
			put_rate(f, o, u->p95_out);
		}
		fputc('\n', f);
		for (j = 0; j < u->nperiods; j++) {
			period_text(o, u->periods[j].start, when, sizeof(when));
			fprintf(f, "  %-16s  in ", when);
			put_size(f, o, u->periods[j].c.in_bytes);
			fputs("  out ", f);
			put_size(f, o, u->periods[j].c.out_bytes);
			fputc('\n', f);
		}
		for (k = 0; k < TM_TOP_MAX; k++) {
			if (!u->ntops[k])
				continue;
			fprintf(f, "  top %s:\n", tm_top_kinds[k].title);
			for (j = 0; j < u->ntops[k]; j++) {
				fputs("    ", f);
				tm_fput_safe(f, tm_put_text, u->tops[k][j].key);
				fputs("  in ", f);
				put_size(f, o, u->tops[k][j].c.in_bytes);
				fputs("  out ", f);
				put_size(f, o, u->tops[k][j].c.out_bytes);
				fputc('\n', f);
			}
		}
	}
}

/* A user's periods and tops, each an array of objects. */
static void json_user_rows(struct tm_doc *d, const struct tm_report_user *u)
{
	char when[40];
	size_t j, k;

	tm_doc_arr(d, "periods");
	for (j = 0; j < u->nperiods; j++) {
		iso_time(u->periods[j].start, when, sizeof(when));
		tm_doc_obj(d, NULL);
		tm_doc_str(d, "start", NULL, when);
		tm_doc_i64(d, "ts", NULL, u->periods[j].start);
		tm_doc_counters(d, &u->periods[j].c);
		tm_doc_obj_end(d);
	}
	tm_doc_arr_end(d);
	for (k = 0; k < TM_TOP_MAX; k++) {
		tm_doc_arr(d, tm_top_kinds[k].json);
		for (j = 0; j < u->ntops[k]; j++) {
			tm_doc_obj(d, NULL);
			tm_doc_str(d, "key", NULL, u->tops[k][j].key);
			tm_doc_counters(d, &u->tops[k][j].c);
			tm_doc_obj_end(d);
		}
		tm_doc_arr_end(d);
	}
}

/* The range asked: since and until, null where not given. */
static void json_range(struct tm_doc *d, const struct opts *o)
{
	if (o->since_set)
		tm_doc_i64(d, "since", NULL, o->since);
	else
		tm_doc_null(d, "since", NULL);
	if (o->until_set)
		tm_doc_i64(d, "until", NULL, o->until);
	else
		tm_doc_null(d, "until", NULL);
}

static void write_json(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	struct tm_doc d;
	char name[32];
	size_t i;

	tm_doc_init(&d, f, true);
	tm_doc_obj(&d, NULL);
	tm_doc_str(&d, "by", NULL, period_names[o->by - TM_TIER_HOUR]);
	json_range(&d, o);
	tm_doc_arr(&d, "users");
	for (i = 0; i < r->h.n; i++) {
		const struct tm_report_user *u = &r->h.users[i];

		tm_doc_obj(&d, NULL);
		tm_doc_str(&d, "user", NULL, user_name(u, name, sizeof(name)));
		if (u->uid >= 0)
			tm_doc_i64(&d, "uid", NULL, u->uid);
		else
			tm_doc_null(&d, "uid", NULL);
		tm_doc_counters(&d, &u->c);
		if (u->has_p95) {
			tm_doc_double(&d, "p95_in_rate", NULL, 3, u->p95_in);
			tm_doc_double(&d, "p95_out_rate", NULL, 3, u->p95_out);
		} else {
			tm_doc_null(&d, "p95_in_rate", NULL);
			tm_doc_null(&d, "p95_out_rate", NULL);
		}
		json_user_rows(&d, u);
		tm_doc_obj_end(&d);
	}
	tm_doc_arr_end(&d);
	tm_doc_obj_end(&d);
}

static void csv_row(FILE *f, const char *section, const struct tm_report_user *u, const char *start,
		    const char *key, const struct tm_counters *c)
{
	char name[32];

	fprintf(f, "%s,", section);
	tm_fput_safe(f, tm_put_csv, user_name(u, name, sizeof(name)));
	if (u->uid >= 0)
		fprintf(f, ",%lld,", (long long)u->uid);
	else
		fputs(",,", f);
	fprintf(f, "%s,", start);
	tm_fput_safe(f, tm_put_csv, key);
	fprintf(f, ",%llu,%llu,%llu,%llu\n", (unsigned long long)c->in_bytes,
		(unsigned long long)c->out_bytes, (unsigned long long)c->in_packets,
		(unsigned long long)c->out_packets);
}

static void write_csv(const struct report *r, FILE *f)
{
	char when[40];
	size_t i, j, k;

	fputs("section,user,uid,start,key,in_bytes,out_bytes,in_packets,out_packets\n", f);
	for (i = 0; i < r->h.n; i++) {
		const struct tm_report_user *u = &r->h.users[i];

		csv_row(f, "total", u, "", "", &u->c);
		for (j = 0; j < u->nperiods; j++) {
			iso_time(u->periods[j].start, when, sizeof(when));
			csv_row(f, "period", u, when, "", &u->periods[j].c);
		}
		for (k = 0; k < TM_TOP_MAX; k++)
			for (j = 0; j < u->ntops[k]; j++)
				csv_row(f, tm_top_kinds[k].kind, u, "", u->tops[k][j].key, &u->tops[k][j].c);
	}
}

/* ---- the job ledger (--jobs) ---- */

static void job_time(int64_t t, char *buf, size_t len)
{
	if (t)
		iso_time(t, buf, len);
	else
		snprintf(buf, len, "-");
}

/* A line of a job's parts: "  WHAT  NAME  in SIZE  out SIZE". */
static void job_part_line(FILE *f, const struct opts *o, const char *what, const char *name,
			  const struct tm_counters *c)
{
	fprintf(f, "  %-5s ", what);
	tm_fput_safe(f, tm_put_text, name);
	fputs("  in ", f);
	put_size(f, o, c->in_bytes);
	fputs("  out ", f);
	put_size(f, o, c->out_bytes);
	fputc('\n', f);
}

static void jobs_table(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	char range[128], a[40], z[40];
	size_t i, k;

	range_text(o, range, sizeof(range));
	fprintf(f, "tm-report  %s\n", range);
	if (!r->jobs.n)
		fprintf(f, "\n(no job in the ledger in this range)\n");
	for (i = 0; i < r->jobs.n; i++) {
		const struct tm_ledger_entry *e = &r->jobs.v[i];
		char line[16384];
		TM_BUF(b, line);

		tm_put_ledger_job(&b, &e->j);
		fputc('\n', f);
		fwrite(line, 1, b.p - line, f);
		job_time(e->j.start, a, sizeof(a));
		job_time(e->j.end, z, sizeof(z));
		fprintf(f, "\n  node ");
		tm_fput_safe(f, tm_put_text, e->j.node);
		if (e->j.partition[0]) {
			fputs("  partition ", f);
			tm_fput_safe(f, tm_put_text, e->j.partition);
		}
		if (e->j.sluid[0])
			fprintf(f, "  sluid %s", e->j.sluid);
		fprintf(f, "  %s to %s\n", a, e->j.end ? z : "(running)");
		for (k = 0; k < e->nparts; k++)
			job_part_line(f, o, e->parts[k].family, e->parts[k].iface, &e->parts[k].c);
		for (k = 0; k < e->nnets; k++)
			job_part_line(f, o, "net", e->nets[k].net, &e->nets[k].c);
	}
}

static void jobs_json(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	struct tm_doc d;
	size_t i;

	tm_doc_init(&d, f, true);
	tm_doc_obj(&d, NULL);
	json_range(&d, o);
	tm_doc_arr(&d, "jobs");
	for (i = 0; i < r->jobs.n; i++) {
		tm_doc_obj(&d, NULL);
		tm_doc_ledger_job(&d, &r->jobs.v[i]);
		tm_doc_obj_end(&d);
	}
	tm_doc_arr_end(&d);
	tm_doc_obj_end(&d);
}

static void csv_text(FILE *f, const char *s)
{
	tm_fput_safe(f, tm_put_csv, s);
	putc(',', f);
}

static void jobs_csv(const struct report *r, FILE *f)
{
	size_t i, k;

	fputs("node,kind,job,user,uid,account,partition,start,end,family,iface,network,in_bytes,"
	      "out_bytes,in_packets,out_packets,sluid\n", f);
	for (i = 0; i < r->jobs.n; i++) {
		const struct tm_ledger_entry *e = &r->jobs.v[i];

		/*
		 * The job's totals (family, iface and network empty), then each
		 * part (family and iface), then each network.
		 */
		for (k = 0; k <= e->nparts + e->nnets; k++) {
			const struct tm_ledger_part *pt = k && k <= e->nparts ? &e->parts[k - 1] : NULL;
			const struct tm_ledger_net *nt = k > e->nparts ? &e->nets[k - 1 - e->nparts] :
							 NULL;
			const struct tm_counters *c = pt ? &pt->c : nt ? &nt->c : &e->j.c;

			csv_text(f, e->j.node);
			csv_text(f, e->j.kind);
			csv_text(f, e->j.id);
			csv_text(f, e->j.user);
			if (e->j.uid >= 0)
				fprintf(f, "%lld", (long long)e->j.uid);
			putc(',', f);
			csv_text(f, e->j.account);
			csv_text(f, e->j.partition);
			if (e->j.start)
				fprintf(f, "%lld", (long long)e->j.start);
			putc(',', f);
			if (e->j.end)
				fprintf(f, "%lld", (long long)e->j.end);
			putc(',', f);
			csv_text(f, pt ? pt->family : "");
			csv_text(f, pt ? pt->iface : "");
			csv_text(f, nt ? nt->net : "");
			fprintf(f, "%llu,%llu,%llu,%llu,%s\n", (unsigned long long)c->in_bytes,
				(unsigned long long)c->out_bytes, (unsigned long long)c->in_packets,
				(unsigned long long)c->out_packets, e->j.sluid);
		}
	}
}

/*
 * A page's head, its style and its title: "Network traffic by WHAT on
 * HOST", the range and when it was made.
 */
static void html_head(FILE *f, const struct opts *o, const char *what, int width)
{
	char range[128], host[256] = "", made[64];
	time_t now = time(NULL);
	struct tm tm;

	range_text(o, range, sizeof(range));
	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	localtime_r(&now, &tm);
	strftime(made, sizeof(made), "%Y-%m-%d %H:%M:%S %z", &tm);
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width\">\n"
		"<title>tm: network traffic by %s</title>\n<style>\n"
		"body { font: 15px/1.4 sans-serif; margin: 2em auto; padding: 0 1em; max-width: %dpx; color: #222; }\n"
		"h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-top: 1px solid #ccc; padding-top: .8em; }\n"
		"h2 span, .range { color: #666; font-weight: normal; }\n"
		"table { border-collapse: collapse; margin: .6em 0; }\n"
		"td, th { padding: .15em .8em .15em 0; text-align: left; vertical-align: top; }\n"
		"td.n, th.n { text-align: right; white-space: nowrap; }\n"
		"td.k { overflow-wrap: anywhere; }\n"
		"a { color: inherit; }\n"
		"th { font-weight: 600; border-bottom: 1px solid #ccc; }\n"
		".chart .in { fill: #3b78b0; } .chart .out { fill: #e08a2c; }\n"
		".chart .axis { stroke: #888; } .chart .tick { font: 11px sans-serif; fill: #444; }\n"
		"</style>\n</head>\n<body>\n<h1>Network traffic by %s", what, width, what);
	if (host[0]) {
		fputs(" on ", f);
		put_html(f, host);
	}
	fputs("</h1>\n<p class=\"range\">", f);
	put_html(f, range);
	fprintf(f, "; made %s</p>\n", made);
}

static void html_cell(FILE *f, const char *s, const char *cls)
{
	fprintf(f, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	put_html(f, s);
	fputs("</td>", f);
}

/* A ranking's line: what the jobs of one user (or account) moved. */
struct rank {
	char key[256];
	size_t jobs;
	unsigned long long in, out;
};

/* A job's user as a ranking shows it: the name, else the UID, else "(unknown)". */
static void job_user_key(const struct tm_ledger_job *j, char *out, size_t len)
{
	if (j->user[0])
		snprintf(out, len, "%s", j->user);
	else if (j->uid >= 0)
		snprintf(out, len, "%lld", (long long)j->uid);
	else
		snprintf(out, len, "(unknown)");
}

static void job_account_key(const struct tm_ledger_job *j, char *out, size_t len)
{
	snprintf(out, len, "%s", j->account[0] ? j->account : "(none)");
}

static int cmp_rank_key(const void *a, const void *b)
{
	return strcmp(((const struct rank *)a)->key, ((const struct rank *)b)->key);
}

static int cmp_rank_bytes(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	unsigned long long tx = x->in + x->out, ty = y->in + y->out;

	return tx != ty ? (tx < ty ? 1 : -1) : strcmp(x->key, y->key);
}

/* The jobs' users (or accounts), most bytes first, with their share of all. */
static void jobs_rank_html(const struct report *r, FILE *f, const char *what,
			   void (*key)(const struct tm_ledger_job *j, char *out, size_t len))
{
	struct rank *v = r->jobs.n ? calloc(r->jobs.n, sizeof(*v)) : NULL;
	unsigned long long all = 0;
	size_t i, n = 0;

	if (!v)
		return;
	for (i = 0; i < r->jobs.n; i++) {
		const struct tm_ledger_job *j = &r->jobs.v[i].j;

		key(j, v[i].key, sizeof(v[i].key));
		v[i].jobs = 1;
		v[i].in = j->c.in_bytes;
		v[i].out = j->c.out_bytes;
		all += j->c.in_bytes + j->c.out_bytes;
	}
	qsort(v, r->jobs.n, sizeof(*v), cmp_rank_key);
	for (i = 0; i < r->jobs.n; i++) {
		if (n && !strcmp(v[n - 1].key, v[i].key)) {
			v[n - 1].jobs++;
			v[n - 1].in += v[i].in;
			v[n - 1].out += v[i].out;
		} else {
			v[n++] = v[i];
		}
	}
	qsort(v, n, sizeof(*v), cmp_rank_bytes);
	fprintf(f, "<h2>By %s</h2>\n<table class=\"rank\">\n<tr><th class=\"n\">#</th><th>%s</th>"
		"<th class=\"n\">jobs</th><th class=\"n\">in</th><th class=\"n\">out</th>"
		"<th class=\"n\">share</th></tr>\n", what, what);
	for (i = 0; i < n; i++) {
		fprintf(f, "<tr><td class=\"n\">%zu</td>", i + 1);
		html_cell(f, v[i].key, "k");
		fprintf(f, "<td class=\"n\">%zu</td><td class=\"n\">", v[i].jobs);
		put_size(f, r->o, v[i].in);
		fputs("</td><td class=\"n\">", f);
		put_size(f, r->o, v[i].out);
		fprintf(f, "</td><td class=\"n\">%.1f%%</td></tr>\n",
			all ? 100.0 * (v[i].in + v[i].out) / all : 0.0);
	}
	fputs("</table>\n", f);
	free(v);
}

/* The jobs, largest first, with their share of all; then their users and accounts. */
static void jobs_html(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	unsigned long long all = 0;
	char a[40];
	size_t i;

	for (i = 0; i < r->jobs.n; i++)
		all += r->jobs.v[i].j.c.in_bytes + r->jobs.v[i].j.c.out_bytes;
	html_head(f, o, "job", 960);
	if (!r->jobs.n) {
		fputs("<p>No job in the ledger in this range.</p>\n", f);
	} else {
		fputs("<table class=\"rank\">\n<tr><th class=\"n\">#</th><th>job</th><th>kind</th>"
		      "<th>user</th><th>account</th><th>partition</th><th>node</th><th>end</th>"
		      "<th class=\"n\">in</th><th class=\"n\">out</th><th class=\"n\">share</th></tr>\n", f);
		for (i = 0; i < r->jobs.n; i++) {
			const struct tm_ledger_job *j = &r->jobs.v[i].j;
			unsigned long long t = j->c.in_bytes + j->c.out_bytes;

			fprintf(f, "<tr><td class=\"n\">%zu</td>", i + 1);
			html_cell(f, j->id, "k");
			html_cell(f, j->kind, NULL);
			html_cell(f, j->user, "k");
			html_cell(f, j->account, "k");
			html_cell(f, j->partition, "k");
			html_cell(f, j->node, "k");
			job_time(j->end, a, sizeof(a));
			html_cell(f, j->end ? a : "running", NULL);
			fputs("<td class=\"n\">", f);
			put_size(f, o, j->c.in_bytes);
			fputs("</td><td class=\"n\">", f);
			put_size(f, o, j->c.out_bytes);
			fprintf(f, "</td><td class=\"n\">%.1f%%</td></tr>\n", all ? 100.0 * t / all : 0.0);
		}
		fputs("</table>\n", f);
		jobs_rank_html(r, f, "user", job_user_key);
		jobs_rank_html(r, f, "account", job_account_key);
	}
	fputs("<p class=\"range\">Made by tm-report from the job ledger (tm-job). Bytes are IP "
	      "lengths.</p>\n</body>\n</html>\n", f);
}

/*
 * A user's chart: a pair of bars (in, out) per period, scaled to the
 * largest, the largest's size on the axis, the first and last period under
 * it, and each bar's exact figure as its title (shown on hover, no script).
 */
static void svg_chart(const struct report *r, const struct tm_report_user *u, FILE *f)
{
	const int w = 720, h = 220, left = 80, right = 10, top = 20, bottom = 40;
	const int plot_w = w - left - right, plot_h = h - top - bottom;
	uint64_t max = 1;
	char name[32], when[40];
	size_t j;
	double slot;

	for (j = 0; j < u->nperiods; j++) {
		if (u->periods[j].c.in_bytes > max)
			max = u->periods[j].c.in_bytes;
		if (u->periods[j].c.out_bytes > max)
			max = u->periods[j].c.out_bytes;
	}
	/* A bar no wider than 30 pixels, however few the periods. */
	slot = u->nperiods ? (double)plot_w / u->nperiods : plot_w;
	if (slot > 75)
		slot = 75;
	fprintf(f, "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" aria-label=\"", w, h, w, h);
	put_html(f, user_name(u, name, sizeof(name)));
	fprintf(f, ": bytes in and out by %s\">\n", period_names[r->o->by - TM_TIER_HOUR]);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left,
		top + plot_h, left + plot_w, top + plot_h);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left, top,
		left, top + plot_h);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">", left - 6, top + 4);
	{
		struct opts o = *r->o;

		o.exact = false;
		put_size(f, &o, max);
	}
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">0</text>\n",
		left - 6, top + plot_h + 4);
	for (j = 0; j < u->nperiods; j++) {
		const struct tm_period *p = &u->periods[j];
		double x = left + j * slot, bw = slot * 0.4;
		double hin = (double)p->c.in_bytes / max * plot_h;
		double hout = (double)p->c.out_bytes / max * plot_h;

		period_text(r->o, p->start, when, sizeof(when));
		fprintf(f, "<rect class=\"in\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
			   "<title>%s in: %llu bytes</title></rect>\n",
			x + slot * 0.1, top + plot_h - hin, bw, hin, when,
			(unsigned long long)p->c.in_bytes);
		fprintf(f, "<rect class=\"out\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
			   "<title>%s out: %llu bytes</title></rect>\n",
			x + slot * 0.5, top + plot_h - hout, bw, hout, when,
			(unsigned long long)p->c.out_bytes);
	}
	if (u->nperiods) {
		period_text(r->o, u->periods[0].start, when, sizeof(when));
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"tick\">%s</text>\n", left,
			top + plot_h + 18, when);
		period_text(r->o, u->periods[u->nperiods - 1].start, when, sizeof(when));
		if (u->nperiods > 1)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
				left + u->nperiods * slot, top + plot_h + 34, when);
	}
	fprintf(f, "<rect class=\"in\" x=\"%d\" y=\"4\" width=\"10\" height=\"10\"/>"
		   "<text x=\"%d\" y=\"13\" class=\"tick\">in</text>"
		   "<rect class=\"out\" x=\"%d\" y=\"4\" width=\"10\" height=\"10\"/>"
		   "<text x=\"%d\" y=\"13\" class=\"tick\">out</text>\n</svg>\n",
		left + plot_w - 90, left + plot_w - 76, left + plot_w - 45, left + plot_w - 31);
}

static void html_counters_row(FILE *f, const struct opts *o, const char *first,
			      const struct tm_counters *c, bool html_first)
{
	fputs("<tr><td class=\"k\">", f);
	if (html_first)
		put_html(f, first);
	else
		fputs(first, f);
	fputs("</td><td class=\"n\">", f);
	put_size(f, o, c->in_bytes);
	fputs("</td><td class=\"n\">", f);
	put_size(f, o, c->out_bytes);
	fprintf(f, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
		(unsigned long long)c->in_packets, (unsigned long long)c->out_packets);
}

/* The users, largest first (in + out), with their share of it all. */
static void html_ranking(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	unsigned long long all = 0;
	char name[32];
	size_t i;

	for (i = 0; i < r->h.n; i++)
		all += r->h.users[i].c.in_bytes + r->h.users[i].c.out_bytes;
	fputs("<table class=\"rank\">\n<tr><th class=\"n\">#</th><th>user</th><th class=\"n\">in</th>"
	      "<th class=\"n\">out</th><th class=\"n\">share</th></tr>\n", f);
	for (i = 0; i < r->h.n; i++) {
		const struct tm_report_user *u = &r->h.users[i];
		unsigned long long t = u->c.in_bytes + u->c.out_bytes;

		fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"k\"><a href=\"#uid-%lld\">", i + 1,
			(long long)u->uid);
		put_html(f, user_name(u, name, sizeof(name)));
		fputs("</a></td><td class=\"n\">", f);
		put_size(f, o, u->c.in_bytes);
		fputs("</td><td class=\"n\">", f);
		put_size(f, o, u->c.out_bytes);
		fprintf(f, "</td><td class=\"n\">%.1f%%</td></tr>\n", all ? 100.0 * t / all : 0.0);
	}
	fputs("</table>\n", f);
}

static void write_html(const struct report *r, FILE *f)
{
	const struct opts *o = r->o;
	char name[32], when[40];
	size_t i, j, k;

	html_head(f, o, "user", 760);
	if (!r->h.n)
		fputs("<p>No traffic recorded in this range.</p>\n", f);
	else
		html_ranking(r, f);
	for (i = 0; i < r->h.n; i++) {
		const struct tm_report_user *u = &r->h.users[i];

		fprintf(f, "<section class=\"user\" id=\"uid-%lld\">\n<h2>", (long long)u->uid);
		put_html(f, user_name(u, name, sizeof(name)));
		if (u->uid >= 0)
			fprintf(f, " <span>(uid %lld)</span>", (long long)u->uid);
		fputs("</h2>\n<p class=\"totals\">In <b>", f);
		put_size(f, o, u->c.in_bytes);
		fprintf(f, "</b> (%llu bytes), out <b>", (unsigned long long)u->c.in_bytes);
		put_size(f, o, u->c.out_bytes);
		fprintf(f, "</b> (%llu bytes)", (unsigned long long)u->c.out_bytes);
		if (u->has_p95) {
			fputs("; 95th percentile rate in ", f);
			put_rate(f, o, u->p95_in);
			fputs(", out ", f);
			put_rate(f, o, u->p95_out);
		}
		fputs(".</p>\n", f);
		svg_chart(r, u, f);
		fprintf(f, "<table>\n<tr><th>%s</th><th class=\"n\">in</th><th class=\"n\">out</th>"
			   "<th class=\"n\">packets in</th><th class=\"n\">packets out</th></tr>\n",
			period_names[o->by - TM_TIER_HOUR]);
		for (j = 0; j < u->nperiods; j++) {
			period_text(o, u->periods[j].start, when, sizeof(when));
			html_counters_row(f, o, when, &u->periods[j].c, false);
		}
		fputs("</table>\n", f);
		for (k = 0; k < TM_TOP_MAX; k++) {
			if (!u->ntops[k])
				continue;
			fprintf(f, "<table>\n<tr><th>top %s</th><th class=\"n\">in</th><th class=\"n\">out</th>"
				   "<th class=\"n\">packets in</th><th class=\"n\">packets out</th></tr>\n",
				tm_top_kinds[k].title);
			for (j = 0; j < u->ntops[k]; j++)
				html_counters_row(f, o, u->tops[k][j].key, &u->tops[k][j].c, true);
			fputs("</table>\n", f);
		}
		fputs("</section>\n", f);
	}
	fputs("<p class=\"range\">Made by tm-report. Bytes are IP lengths; periods are local time.</p>\n"
	      "</body>\n</html>\n", f);
}

/* Each format's writer, of the users' history and of the job ledger. */
static void (*const users_writers[FMT_MAX])(const struct report *, FILE *) = {
	[FMT_TABLE] = write_table, [FMT_JSON] = write_json, [FMT_CSV] = write_csv,
	[FMT_HTML] = write_html,
};
static void (*const jobs_writers[FMT_MAX])(const struct report *, FILE *) = {
	[FMT_TABLE] = jobs_table, [FMT_JSON] = jobs_json, [FMT_CSV] = jobs_csv,
	[FMT_HTML] = jobs_html,
};

int main(int argc, char **argv)
{
	static struct opts o;
	struct report r = { .o = &o };
	struct tm_query q;
	bool self = tm_self_view(), all = false;
	sqlite3 *db = NULL;
	int err = 0;

	tm_init("tm-report");
	/* A user's self-view: the built-in database, opened before anything they gave is read. */
	if (self) {
		struct tm_pins pins;
		/* The load's admin group, if a meter is loaded, sees everyone. */
		int perr = access(TM_DEFAULT_PIN_ROOT "/control", F_OK) ? -ENOENT :
			   tm_pins_open_rdonly(&pins, TM_DEFAULT_PIN_ROOT);

		err = tm_history_open_ro(TM_DEFAULT_HISTORY_DB, &db);
		tm_drop_privileges();
		all = !perr && tm_admin(pins.control);
		if (!perr)
			tm_pins_close(&pins);
	}
	if (!err)
		err = parse_args(argc, argv, &o);
	if (!err && self) {
		if (o.db) {
			tm_usage_err("--db: only root chooses the database (this tm-report reads %s)",
				     TM_DEFAULT_HISTORY_DB);
			err = -TM_EUSAGE;
		} else if (!all) {
			err = tm_self_view_users(o.users, &o.nusers);
		}
		o.db = TM_DEFAULT_HISTORY_DB;
	}
	if (!err && !self) {
		if (!o.db)
			o.db = TM_DEFAULT_HISTORY_DB;
		err = tm_history_open_ro(o.db, &db);
	}
	if (!err && o.jobs) {
		struct tm_ledger_query lq = { o.db, o.since, o.until, o.users, o.nusers, o.job,
					      o.account, o.top, false };

		err = tm_ledger_read(db, &lq, &r.jobs);
	} else if (!err) {
		q = (struct tm_query){ o.db, o.by, o.since, o.until, o.users, o.nusers, o.top };
		r.h = (struct tm_report){ .q = &q, .db = db };
		err = tm_report_read(&r.h);
	}
	if (!err) {
		(o.jobs ? jobs_writers : users_writers)[o.fmt](&r, stdout);
		if (fflush(stdout) || ferror(stdout))
			err = errno == EPIPE ? 0 : -errno;
	}
	tm_report_free(&r.h);
	tm_ledger_jobs_free(&r.jobs);
	tm_history_close(db);
	return tm_exit_code(err);
}
