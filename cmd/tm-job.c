// SPDX-License-Identifier: GPL-2.0
/*
 * tm-job: a scheduler's prolog and epilog. "start" opens a job's row in the
 * ledger; "end" reads the job's totals from the pins (every row of the
 * cgroups its path names it in, with the sockets' waiting packets), closes
 * the row with them in one transaction and prints them on one line, as
 * systemd does for a unit. See lib/model/ledger.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tm.h"

struct opts {
	const char *pin_root, *db;
	bool end;
	enum { TEXT, JSON, COMMENT } format;
	const char *user;		/* a name or UID, as given */
	struct tm_ledger_job j;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-job start|end [OPTION]...\n"
"A scheduler's prolog and epilog: a job's row in the ledger, in the history\n"
"database. start opens it; end closes it with what the job's cgroups moved\n"
"(bytes and packets in and out, by address family and interface) and prints\n"
"that on one line. Either may be run again, or after a kill: a job is opened\n"
"once and closed once. While a job is open, tm-record keeps its cgroups'\n"
"rows for its end (for a month at most). Slurm's prolog and epilog set\n"
"what the defaults read.\n"
"\n"
"      --job ID         the job, as its cgroup path names it (default\n"
"                       $SLURM_JOB_ID)\n"
"      --sluid SLUID    its SLUID, as Slurm 26.05 names its cgroup by (default\n"
"                       $SLURM_JOB_SLUID): the job is found by either name\n"
"      --kind KIND      the job's kind, as tm-stat --by job shows it (default\n"
"                       slurm)\n"
"      --job-user USER  its user, a name or UID (default $SLURM_JOB_USER,\n"
"                       $SLURM_JOB_UID)\n"
"      --account NAME   its account (default $SLURM_JOB_ACCOUNT)\n"
"      --partition NAME its partition (default $SLURM_JOB_PARTITION)\n"
"      --node NAME      this node (default $SLURMD_NODENAME, else the host name)\n"
"      --db PATH        the database (default " TM_DEFAULT_HISTORY_DB "; made if\n"
"                       missing)\n"
"      --format FMT     end's line: text (default), json, or comment (the tm:\n"
"                       part of Slurm's AdminComment: tm:in_bytes=N,...)\n"
"  -j, --json           --format json\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 success, 1 failure (nothing loaded at end, a database that\n"
"cannot be written, no privilege), 2 bad usage. A Slurm epilog that fails\n"
"drains the node: call it as tm-job end || true.\n");
}

/* A value a job's row keeps: text, no control characters, of a size that fits. */
static int check_text(const char *opt, const char *v, size_t size, bool word)
{
	const unsigned char *s = (const unsigned char *)v;

	if (!*s) {
		tm_usage_err("%s: empty", opt);
		return -TM_EUSAGE;
	}
	if (strlen(v) >= size) {
		tm_usage_err("%s: longer than %zu bytes", opt, size - 1);
		return -TM_EUSAGE;
	}
	/* A kind as job rules have it (job.c); else no control character. */
	if (word)
		s += tm_job_kind_span(v);
	else
		while (*s && *s >= 0x20 && *s != 0x7f)
			s++;
	if (*s) {
		char shown[96];

		tm_usage_err("%s: '%s': %s", opt, tm_shown(v, strlen(v), shown, sizeof(shown)),
			     word ? "lower-case letters, digits, - and _ only" : "a control character");
		return -TM_EUSAGE;
	}
	return 0;
}

/* One of the job's fields, from its option or else the environment. */
static int set_field(char *field, size_t size, const char *opt, const char *arg, const char *env)
{
	const char *v = arg ? arg : env ? getenv(env) : NULL;
	char what[64];

	if (!v || (!arg && !*v))
		return 0;
	snprintf(what, sizeof(what), arg || !env ? "%s" : "$%s", arg || !env ? opt : env);
	if (check_text(what, v, size, false))
		return -TM_EUSAGE;
	snprintf(field, size, "%s", v);
	return 0;
}

/* The job's SLUID, from --sluid or $SLURM_JOB_SLUID: s and 13 of Crockford's base 32. */
static int set_sluid(struct tm_ledger_job *j, const char *arg)
{
	const char *v = arg ? arg : getenv("SLURM_JOB_SLUID");
	char shown[64];

	if (!v || (!arg && !*v))
		return 0;
	if (!tm_job_is_sluid(v, strlen(v))) {
		tm_usage_err("%s: '%s': not a SLUID (s and 13 of 0-9 A-Z but I L O U)",
			     arg ? "--sluid" : "$SLURM_JOB_SLUID",
			     tm_shown(v, strlen(v), shown, sizeof(shown)));
		return -TM_EUSAGE;
	}
	memcpy(j->sluid, v, sizeof(j->sluid));
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_JOB = TM_OPT_OWN, OPT_SLUID, OPT_KIND, OPT_JOB_USER, OPT_ACCOUNT, OPT_PARTITION,
	       OPT_NODE, OPT_DB, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "job", required_argument, NULL, OPT_JOB },
		{ "sluid", required_argument, NULL, OPT_SLUID },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "job-user", required_argument, NULL, OPT_JOB_USER },
		{ "account", required_argument, NULL, OPT_ACCOUNT },
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		TM_COMMON_OPTIONS,
		{}
	};
	const char *job = NULL, *sluid = NULL, *kind = NULL, *account = NULL, *partition = NULL;
	const char *node = NULL;
	struct tm_ledger_job *j = &o->j;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "jvVh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JOB:
			job = optarg;
			break;
		case OPT_SLUID:
			sluid = optarg;
			break;
		case OPT_KIND:
			kind = optarg;
			break;
		case OPT_JOB_USER:
			o->user = optarg;
			break;
		case OPT_ACCOUNT:
			account = optarg;
			break;
		case OPT_PARTITION:
			partition = optarg;
			break;
		case OPT_NODE:
			node = optarg;
			break;
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_FORMAT:
		{
			static const char *const formats[] = { "text", "json", "comment" };
			int v;

			err = tm_pick("--format", optarg, formats, 3, &v) ? -TM_EUSAGE : 0;
			o->format = v;
		}
			break;
		case 'j':
			o->format = JSON;
			break;
		default:
			err = tm_common_opt(c, optarg, &o->pin_root, usage);
			break;
		}
		if (err)
			return err;
	}
	if (optind >= argc || (strcmp(argv[optind], "start") && strcmp(argv[optind], "end"))) {
		tm_usage_err(optind < argc ? "'%s': start or end" : "start or end, and a job",
			     optind < argc ? argv[optind] : "");
		return -TM_EUSAGE;
	}
	o->end = !strcmp(argv[optind], "end");
	err = tm_no_more_args(argc, argv, optind + 1);
	if (!err && !o->db)
		o->db = TM_DEFAULT_HISTORY_DB;
	if (!err && !*o->db) {
		tm_usage_err("--db: an empty path");
		err = -TM_EUSAGE;
	}
	j->uid = -1;
	snprintf(j->kind, sizeof(j->kind), "slurm");
	if (!err && kind)
		err = check_text("--kind", kind, sizeof(j->kind), true);
	if (!err && kind)
		snprintf(j->kind, sizeof(j->kind), "%s", kind);
	if (!err)
		err = set_field(j->id, sizeof(j->id), "--job", job, "SLURM_JOB_ID");
	if (!err && !j->id[0]) {
		tm_usage_err("no job: --job ID, or $SLURM_JOB_ID as Slurm's prolog and epilog have");
		err = -TM_EUSAGE;
	}
	if (!err)
		err = set_sluid(j, sluid);
	if (!err)
		err = set_field(j->account, sizeof(j->account), "--account", account,
				"SLURM_JOB_ACCOUNT");
	if (!err)
		err = set_field(j->partition, sizeof(j->partition), "--partition", partition,
				"SLURM_JOB_PARTITION");
	if (!err)
		err = set_field(j->node, sizeof(j->node), "--node", node, "SLURMD_NODENAME");
	if (!err && !j->node[0] && gethostname(j->node, sizeof(j->node) - 1))
		snprintf(j->node, sizeof(j->node), "?");
	return err;
}

/* The job's user: --job-user, else Slurm's name and UID. */
static int job_user(struct opts *o)
{
	struct tm_ledger_job *j = &o->j;
	static const struct tm_num uids = { .min = 0, .max = TM_UID_UNKNOWN - 1 };
	const char *uid = getenv("SLURM_JOB_UID");
	uint64_t v;
	uint32_t u;
	int err;

	if (o->user) {
		err = tm_parse_user(o->user, &u);
		if (err)
			return err;
		j->uid = u;
		snprintf(j->user, sizeof(j->user), "%s", tm_uid_name(u));
		return 0;
	}
	err = set_field(j->user, sizeof(j->user), NULL, NULL, "SLURM_JOB_USER");
	if (!err && uid && *uid) {
		err = tm_parse_num("$SLURM_JOB_UID", uid, &uids, &v);
		if (!err)
			j->uid = v;
	}
	return err;
}

/*
 * The rows of one job, as tm-stat --job shows them, but for those of the
 * cgroups tm-record added to the job's row already (recorded, sorted).
 */
struct filter {
	struct tm_names *names;
	const struct tm_ledger_job *j;
	const uint64_t *recorded;
	size_t nrecorded;
};

static bool keep_job(uint64_t id, void *ctx)
{
	const struct filter *f = ctx;
	const char *job, *kind;

	return tm_names_job_of(f->names, id, &job, &kind) && !strcmp(kind, f->j->kind) &&
	       (!strcmp(job, f->j->id) || (f->j->sluid[0] && !strcmp(job, f->j->sluid))) &&
	       !(f->nrecorded && bsearch(&id, f->recorded, f->nrecorded, sizeof(id), tm_cmp_u64));
}

/*
 * What the job's cgroups moved, from the pins: totals into c, parts into e
 * (rows of users on the same interface and family: one part), and the
 * remote networks of its connection rows.
 */
static int read_job(struct tm_pins *pins, struct filter *f, struct tm_counters *c,
		    struct tm_ledger_entry *e)
{
	struct tm_names names;
	struct tm_rows s = {};
	size_t i, cap = 0;
	int err;

	tm_names_init(&names, pins);
	f->names = &names;
	err = tm_names_jobs_load(&names);
	s.keep = keep_job;
	s.keep_ctx = f;
	s.by_family = true;
	if (!err)
		err = tm_rows_read_named(pins, TM_BY_IFACE, NULL, 0, &names, -1, &s);
	for (i = 0; !err && i < s.n; i++) {
		const struct tm_row *r = &s.v[i];

		tm_counters_add(c, &r->c);
		err = tm_ledger_part_add(&e->parts, &e->nparts, &cap, r->family,
					 tm_names_iface(&names, r->netns_cookie, 0, r->ifindex,
							NULL), &r->c);
	}
	cap = 0;
	if (!err)
		err = tm_rows_read_named(pins, TM_BY_CONN, NULL, 0, &names, -1, &s);
	for (i = 0; !err && i < s.n; i++)
		err = tm_ledger_net_add(&e->nets, &e->nnets, &cap, s.v[i].family, s.v[i].raddr,
					&s.v[i].c);
	tm_rows_free(&s);
	tm_names_free(&names);
	return err;
}

/*
 * The job's line: words; one JSON object with its parts and networks; or
 * the part of Slurm's AdminComment that is tm's, one word of numbers.
 */
static void print_job(const struct opts *o, const struct tm_ledger_entry *e, bool closed)
{
	static char line[16384];
	TM_BUF(b, line);
	struct tm_doc d;

	if (o->format == COMMENT) {
		printf("tm:in_bytes=%llu,out_bytes=%llu,in_packets=%llu,out_packets=%llu\n",
		       (unsigned long long)e->j.c.in_bytes, (unsigned long long)e->j.c.out_bytes,
		       (unsigned long long)e->j.c.in_packets, (unsigned long long)e->j.c.out_packets);
		return;
	}
	if (o->format == JSON) {
		tm_doc_init(&d, stdout, true);
		tm_doc_obj(&d, NULL);
		tm_doc_ledger_job(&d, e);
		tm_doc_bool(&d, "closed_before", NULL, closed);
		tm_doc_obj_end(&d);
		return;
	}
	tm_put_ledger_job(&b, &e->j);
	tm_put_str(&b, closed ? " (ended before)\n" : "\n");
	fwrite(line, 1, b.p - line, stdout);
}

/*
 * The epilog: in one transaction of the ledger, the job's row read, what
 * its cgroups hold now read from the pins (but for those tm-record added
 * to the row already) and the row closed with both.
 */
static int end(struct opts *o, struct tm_pins *pins, sqlite3 *db, struct tm_ledger_entry *e,
	       bool *closed)
{
	struct tm_ledger_job *j = &e->j;
	struct filter f = { .j = j };
	struct tm_counters c = {};
	uint64_t *recorded;
	int err;

	err = tm_ledger_end_begin(db, o->db, j, closed, &recorded, &f.nrecorded);
	if (err)
		return err;
	f.recorded = recorded;
	if (f.nrecorded)
		qsort(recorded, f.nrecorded, sizeof(*recorded), tm_cmp_u64);
	if (!*closed)
		err = read_job(pins, &f, &c, e);
	free(recorded);
	if (err) {
		tm_ledger_abort(db);
		return err;
	}
	return tm_ledger_end_commit(db, o->db, e, *closed, &c, time(NULL));
}

static int run(struct opts *o)
{
	struct tm_ledger_job *j = &o->j;
	struct tm_ledger_entry e = {};
	struct tm_pins pins;
	sqlite3 *db = NULL;
	bool fresh, closed = false, opened = false;
	int err;

	err = tm_need_privilege();
	if (!err)
		err = job_user(o);
	/* Nothing loaded: the epilog fails before it makes a database. */
	if (!err && o->end)
		opened = !(err = tm_pins_open(&pins, o->pin_root));
	if (!err)
		err = tm_history_open(o->db, true, &db);
	if (!err && !o->end)
		err = tm_ledger_start(db, o->db, j, time(NULL), &fresh);
	e.j = *j;
	if (!err && o->end)
		err = end(o, &pins, db, &e, &closed);
	if (!err && o->end)
		print_job(o, &e, closed);
	if (db)
		tm_history_close(db);
	if (opened)
		tm_pins_close(&pins);
	tm_ledger_entry_free(&e);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int err;

	tm_init("tm-job");
	err = parse_args(argc, argv, &o);
	if (!err)
		err = run(&o);
	if (!err && fflush(stdout))
		err = -errno;
	return tm_exit_code(err == -EPIPE ? 0 : err);
}
