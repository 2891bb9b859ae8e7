// SPDX-License-Identifier: GPL-2.0
/*
 * tm-record: samples the pinned counters every interval into SQLite, as
 * deltas in five-minute, hourly, daily, monthly and yearly rows: per user,
 * per user and remote network (rolled up to a prefix), per user and process
 * name, and per user and cgroup. See lib/model/history.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "tm.h"

struct opts {
	const char *pin_root;
	const char *db;
	double interval;
	uint64_t count;		/* samples, then exit; 0: until a signal */
	int prefix4, prefix6;
	int depth;
	int keep[TM_TIER_MAX];
	int keep_jobs;		/* days a job's ledger row is kept after its end; -1: ever */
	bool history;		/* some tier kept: every row retired is recorded */
	int64_t grace;		/* seconds rows of ended cgroups wait */
};

static const int default_keep[TM_TIER_MAX] = { 576, 168, 62, 25, -1 };

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-record [OPTION]...\n"
"Sample the pinned counters into an SQLite database: what each user moved,\n"
"in total, with each remote network, by process name and by cgroup, in\n"
"five-minute, hourly, daily, monthly and yearly rows. Runs until SIGTERM or\n"
"SIGINT, which take a last sample.\n"
"\n"
"      --db PATH        the database (default " TM_DEFAULT_HISTORY_DB "; made if\n"
"                       missing, WAL)\n"
"  -i, --interval SEC   between samples (default 300; fractions allowed)\n"
"      --once           one sample, then exit (as --count 1)\n"
"  -n, --count N        N samples, then exit\n"
"      --prefix4 N      remote IPv4 addresses rolled up to /N (default 24)\n"
"      --prefix6 N      remote IPv6 addresses rolled up to /N (default 64)\n"
"      --depth N        cgroups rolled up N levels below the metered cgroup\n"
"      --keep-5min N    five-minute rows kept (default 576: two days)\n"
"      --keep-hour N    hourly rows kept (default 168: a week)\n"
"      --keep-day N     daily rows kept (default 62)\n"
"      --keep-month N   monthly rows kept (default 25)\n"
"      --keep-year N    yearly rows kept (default -1)\n"
"                       -1 keeps every row, 0 keeps none (the tier is not\n"
"                       written); rows are pruned at most once an hour\n"
"      --keep-jobs DAYS the job ledger's rows kept DAYS (32 or more) after their\n"
"                       job ended (default -1: every one; an open job is kept)\n"
"      --no-history     keep no traffic rows (--keep-5min to --keep-year 0):\n"
"                       only the job ledger, and the retiring of ended\n"
"                       cgroups' rows\n"
"      --grace SEC      how long after its cgroup ended a row is kept before it\n"
"                       is retired, for readers such as tm-stat --textfile to\n"
"                       see its last values (default 300; 0: at the sample\n"
"                       after); with no history, a row no job's ledger row\n"
"                       records is then counted as retired unrecorded\n"
TM_COMMON_HELP
"\n"
"A counter that went down means the meter was loaded afresh: the new value\n"
"is the delta. Nothing is counted twice or lost across meter reloads, reboots\n"
"and restarts of tm-record (each sample is one transaction). Days, months and\n"
"years begin at local midnight (TZ).\n"
"\n"
"When the meter is unloaded, it waits for the next load and records that.\n"
"Exit status: 0 success (also on SIGTERM, SIGINT), 1 failure or nothing\n"
"loaded at start, 2 bad usage.\n");
}

static int parse_keep(const char *opt, const char *arg, int *out)
{
	static const struct tm_num rows = { .min = 0, .max = 100000000, .also = "-1 for every row" };
	uint64_t v;

	if (!strcmp(arg, "-1")) {
		*out = -1;
		return 0;
	}
	if (tm_parse_num(opt, arg, &rows, &v))
		return -TM_EUSAGE;
	*out = v;
	return 0;
}

static int parse_prefix(const char *opt, const char *arg, int max, int *out)
{
	const struct tm_num len = { .min = 0, .max = max };
	uint64_t v;

	if (tm_parse_num(opt, arg, &len, &v))
		return -TM_EUSAGE;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_DB = TM_OPT_OWN, OPT_ONCE, OPT_PREFIX4, OPT_PREFIX6, OPT_DEPTH, OPT_NO_HISTORY,
	       OPT_GRACE, OPT_KEEP_JOBS, OPT_KEEP };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "count", required_argument, NULL, 'n' },
		{ "prefix4", required_argument, NULL, OPT_PREFIX4 },
		{ "prefix6", required_argument, NULL, OPT_PREFIX6 },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "keep-5min", required_argument, NULL, OPT_KEEP + TM_TIER_5MIN },
		{ "keep-hour", required_argument, NULL, OPT_KEEP + TM_TIER_HOUR },
		{ "keep-day", required_argument, NULL, OPT_KEEP + TM_TIER_DAY },
		{ "keep-month", required_argument, NULL, OPT_KEEP + TM_TIER_MONTH },
		{ "keep-year", required_argument, NULL, OPT_KEEP + TM_TIER_YEAR },
		{ "no-history", no_argument, NULL, OPT_NO_HISTORY },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "keep-jobs", required_argument, NULL, OPT_KEEP_JOBS },
		TM_COMMON_OPTIONS,
		{}
	};
	int kept = -1;		/* a --keep-* given: its tier */
	bool no_history = false;
	int c, t, err;

	o->interval = 300;
	o->grace = 300;
	o->keep_jobs = -1;
	o->prefix4 = 24;
	o->prefix6 = 64;
	o->depth = -1;
	memcpy(o->keep, default_keep, sizeof(o->keep));
	while ((c = getopt_long(argc, argv, "i:n:vVh", longopts, NULL)) != -1) {
		err = 0;
		if (c >= OPT_KEEP && c < OPT_KEEP + TM_TIER_MAX) {
			char name[32];

			snprintf(name, sizeof(name), "--keep-%s", tm_tier_names[c - OPT_KEEP]);
			err = parse_keep(name, optarg, &o->keep[c - OPT_KEEP]);
			if (err)
				return err;
			kept = c - OPT_KEEP;
			continue;
		}
		switch (c) {
		case OPT_DB:
			o->db = optarg;
			break;
		case 'i':
			err = tm_parse_interval("--interval", optarg, &o->interval);
			break;
		case OPT_ONCE:
			o->count = 1;
			break;
		case 'n':
			err = tm_parse_count("--count", optarg, &o->count);
			break;
		case OPT_PREFIX4:
			err = parse_prefix("--prefix4", optarg, 32, &o->prefix4);
			break;
		case OPT_PREFIX6:
			err = parse_prefix("--prefix6", optarg, 128, &o->prefix6);
			break;
		case OPT_DEPTH:
			err = tm_parse_depth("--depth", optarg, &o->depth);
			break;
		case OPT_NO_HISTORY:
			no_history = true;
			break;
		case OPT_KEEP_JOBS: {
			/* Longer than a job's rows are held for its epilog, and its
			 * row read for their account: a job is never pruned while
			 * its rows may be about. */
			static const struct tm_num days = { .min = TM_LEDGER_HOLD / 86400 + 1,
							    .max = 36500,
							    .also = "-1 for every job" };
			uint64_t v;

			if (!strcmp(optarg, "-1"))
				break;
			err = tm_parse_num("--keep-jobs", optarg, &days, &v);
			o->keep_jobs = v;
			break;
		}
		case OPT_GRACE: {
			static const struct tm_num secs = { .min = 0, .max = 7 * 86400 };
			uint64_t v;

			err = tm_parse_num("--grace", optarg, &secs, &v);
			o->grace = v;
			break;
		}
		default:
			err = tm_common_opt(c, optarg, &o->pin_root, usage);
			break;
		}
		if (err)
			return err;
	}
	err = tm_no_more_args(argc, argv, optind);
	if (err)
		return err;
	if (!o->db)
		o->db = TM_DEFAULT_HISTORY_DB;
	if (!*o->db) {
		tm_usage_err("--db: an empty path");
		return -TM_EUSAGE;
	}
	if (no_history && kept >= 0) {
		tm_usage_err("--no-history keeps no rows: not with --keep-%s", tm_tier_names[kept]);
		return -TM_EUSAGE;
	}
	if (no_history)
		memset(o->keep, 0, sizeof(o->keep));
	for (t = 0; t < TM_TIER_MAX; t++)
		o->history |= o->keep[t] != 0;
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* The series of one sample, and the text of their keys. */
struct sample {
	struct tm_series *s;
	size_t n, cap;
	char **keys;
	size_t nkeys, keycap;
};

static const char *keep_text(struct sample *sm, const char *text, size_t len)
{
	char *k;

	if (tm_grow(&sm->keys, &sm->keycap, sm->nkeys, sizeof(*sm->keys)))
		return NULL;
	k = strndup(text, len);
	if (!k)
		return NULL;
	sm->keys[sm->nkeys++] = k;
	return k;
}

static int add(struct sample *sm, const char *kind, uint32_t uid, const char *key,
	       const struct tm_counters *c)
{
	if (!key || tm_grow(&sm->s, &sm->cap, sm->n, sizeof(*sm->s)))
		return -ENOMEM;
	sm->s[sm->n++] = (struct tm_series){ kind, uid, key, *c };
	return 0;
}

static void sample_free(struct sample *sm)
{
	while (sm->nkeys)
		free(sm->keys[--sm->nkeys]);
	free(sm->keys);
	free(sm->s);
	memset(sm, 0, sizeof(*sm));
}

/* The remote network of a connection: its address with the host part zero. */
static const char *network(struct sample *sm, const struct opts *o, const struct tm_row *r)
{
	char text[64];

	tm_cidr_network(r->family, r->raddr, o->prefix4, o->prefix6, text, sizeof(text));
	return keep_text(sm, text, strlen(text));
}

/* Everything one sample stores, read from the pins. */
static int read_sample(const struct opts *o, const struct tm_pins *p, struct tm_names *names,
		       struct sample *sm)
{
	static const enum tm_by bys[] = { TM_BY_USER, TM_BY_CONN, TM_BY_PROC, TM_BY_CGROUP };
	struct tm_rows s = {};
	size_t b, i;
	int err = 0;

	for (b = 0; b < sizeof(bys) / sizeof(bys[0]) && !err; b++) {
		err = tm_rows_read_named(p, bys[b], NULL, 0, names, o->depth, &s);
		if (err)
			break;
		for (i = 0; i < s.n && !err; i++) {
			const struct tm_row *r = &s.v[i];
			char buf[64];

			/*
			 * The untracked networks are nobody's: not a user's history.
			 * The retired rows were recorded under their own keys.
			 */
			if (r->untracked || r->other == TM_ROW_RETIRED)
				continue;
			switch (bys[b]) {
			case TM_BY_USER:
				err = add(sm, "user", r->uid, "", &r->c);
				break;
			case TM_BY_CONN:
				err = add(sm, "net", r->uid, network(sm, o, r), &r->c);
				break;
			case TM_BY_PROC:
				err = add(sm, "proc", r->uid, r->other ? keep_text(sm, "(other)", 7) :
					  keep_text(sm, r->comm, strnlen(r->comm, TM_COMM_LEN)), &r->c);
				break;
			default: {
				const char *path = r->other ? "(other)" :
					tm_names_cgroup(names, r->cgroup_id, buf, sizeof(buf));

				err = add(sm, "cgroup", r->uid, keep_text(sm, path, strlen(path)), &r->c);
				break;
			}
			}
		}
	}
	tm_rows_free(&s);
	return err;
}

/* The rows retiring takes out, as the series the history has them under. */
struct forget {
	struct sample sm;
	const struct opts *o;
	struct tm_names *names;
};

static int note_retired(const struct tm_detail_key *k, const struct tm_detail *v, void *ctx)
{
	struct forget *f = ctx;
	uint64_t id = f->o->depth >= 0 ? tm_names_cgroup_at_depth(f->names, k->cgroup_id, f->o->depth) :
					  k->cgroup_id;
	char buf[64];
	const char *path = tm_names_cgroup(f->names, id, buf, sizeof(buf));
	int err = add(&f->sm, "proc", k->uid,
		      keep_text(&f->sm, v->comm, strnlen(v->comm, TM_COMM_LEN)), &v->c);

	return err ? err : add(&f->sm, "cgroup", k->uid, keep_text(&f->sm, path, strlen(path)), &v->c);
}

/* The jobs the rows are in, for the ledger's rows of jobs no prolog opened. */
struct jobs {
	struct tm_ledger_seen *v;
	size_t n, cap;
	struct tm_names *names;
};

#define NONE	SIZE_MAX

/* The job cgroup id is in, as seen (made if new); NULL: in none, or no room. */
static struct tm_ledger_seen *seen(struct jobs *js, uint64_t id, int64_t uid)
{
	struct tm_ledger_seen *s;
	struct tm_job j;
	uint64_t own = tm_names_job(js->names, id, &j);
	size_t i;

	if (!own)
		return NULL;
	for (i = 0; i < js->n; i++)
		if (js->v[i].cgroup == own)
			return &js->v[i];
	if (tm_grow(&js->v, &js->cap, js->n, sizeof(*js->v)))
		return NULL;
	s = &js->v[js->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->kind, sizeof(s->kind), "%s", j.kind);
	snprintf(s->id, sizeof(s->id), "%s", j.id);
	s->cgroup = own;
	s->uid = j.uid >= 0 ? j.uid : uid;
	s->ended = !tm_names_cgroup_live(js->names, own);
	return s;
}

/* One retired row, added to its cgroup's take of its job s. */
static int take(struct jobs *js, struct tm_ledger_seen *s, const struct tm_detail_key *k,
		const struct tm_detail *v)
{
	struct tm_ledger_take *t;
	size_t i;

	for (i = 0; i < s->ntakes && s->takes[i].cgroup != k->cgroup_id; i++)
		;
	if (i == s->ntakes) {
		if (tm_grow(&s->takes, &s->cap, s->ntakes, sizeof(*s->takes)))
			return -ENOMEM;
		memset(&s->takes[i], 0, sizeof(*t));
		s->takes[s->ntakes++].cgroup = k->cgroup_id;
	}
	t = &s->takes[i];
	tm_counters_add(&t->c, &v->c);
	return tm_ledger_part_add(&t->parts, &t->nparts, &t->cap, k->family,
				  tm_names_iface(js->names, k->netns_cookie, 0, k->ifindex, NULL),
				  &v->c);
}

static bool live(uint64_t id, void *ctx)
{
	return tm_names_cgroup_live(ctx, id);
}

/* What retiring does besides: the ledger and the history told first. */
struct retiring {
	struct forget f;
	sqlite3 *db;
	const struct tm_pins *p;
};

/* The cgroups whose rows are retired into their jobs' rows, each with its take. */
struct taken {
	uint64_t id;
	struct tm_ledger_take *t;
};

static bool is_taken(uint64_t id, void *ctx)
{
	const struct { struct taken *v; size_t n; } *tk = ctx;

	return tk->n && bsearch(&id, tk->v, tk->n, sizeof(*tk->v), tm_cmp_u64);
}

/*
 * The remote networks of the connection rows of the cgroups taken, into
 * their takes (a connection is in the cgroup of the socket that made it).
 */
static int take_nets(const struct tm_pins *p, struct jobs *js)
{
	struct { struct taken *v; size_t n; } tk = {};
	struct tm_rows s = { .keep = is_taken, .keep_ctx = &tk };
	size_t i, k, n = 0;
	int err = 0;

	for (i = 0; i < js->n; i++)
		n += js->v[i].ntakes;
	if (!n)
		return 0;
	tk.v = malloc(n * sizeof(*tk.v));
	if (!tk.v)
		return -ENOMEM;
	for (i = 0; i < js->n; i++)
		for (k = 0; k < js->v[i].ntakes; k++)
			tk.v[tk.n++] = (struct taken){ js->v[i].takes[k].cgroup, &js->v[i].takes[k] };
	qsort(tk.v, tk.n, sizeof(*tk.v), tm_cmp_u64);
	err = tm_rows_read(p, TM_BY_CONN, NULL, 0, &s);
	for (i = 0; !err && i < s.n; i++) {
		const struct taken *at = bsearch(&s.v[i].cgroup_id, tk.v, tk.n, sizeof(*tk.v),
						 tm_cmp_u64);
		struct tm_ledger_take *t = at->t;

		err = tm_ledger_net_add(&t->nets, &t->nnets, &t->netcap, s.v[i].family,
					s.v[i].raddr, &s.v[i].c);
	}
	tm_rows_free(&s);
	free(tk.v);
	return err;
}

/*
 * How long each row to go has waited: since its cgroup was first seen
 * ended (kept in the database, so a restart does not begin the wait
 * again). A row waits --grace, so readers (the exposition) see its last
 * values; then it goes, counted unrecorded when neither a history nor a
 * job's ledger row has it. The ended jobs' own cgroups are marked too:
 * when they were first seen ended is their end.
 */
static int fates(struct retiring *rt, const struct tm_retiring *r, const size_t *job,
		 struct jobs *js, int64_t now, int64_t boot)
{
	size_t max = r->n + js->n + 1, i, k, n = 0;
	uint64_t *ids = malloc(max * sizeof(*ids));
	int64_t *since = malloc(max * sizeof(*since));
	const uint64_t *at;
	int err = -ENOMEM;

	if (ids && since) {
		for (i = 0; i < r->n; i++)
			ids[n++] = r->keys[i].cgroup_id;
		for (i = 0; i < js->n; i++)
			if (!tm_names_cgroup_live(js->names, js->v[i].cgroup))
				ids[n++] = js->v[i].cgroup;
		/* Each cgroup once. */
		if (n)
			qsort(ids, n, sizeof(*ids), tm_cmp_u64);
		for (i = k = 0; i < n; i++)
			if (!k || ids[k - 1] != ids[i])
				ids[k++] = ids[i];
		n = k;
		err = tm_history_ended(rt->db, rt->f.o->db, ids, n, now, boot, since);
	}
	for (i = 0; !err && i < r->n; i++) {
		at = bsearch(&r->keys[i].cgroup_id, ids, n, sizeof(*ids), tm_cmp_u64);
		r->fate[i] = now - since[at - ids] < rt->f.o->grace ? TM_RETIRE_WAIT :
			     job[i] != NONE || rt->f.o->history ? TM_RETIRE_NOW : TM_RETIRE_UNRECORDED;
	}
	for (i = 0; !err && i < js->n; i++) {
		at = bsearch(&js->v[i].cgroup, ids, n, sizeof(*ids), tm_cmp_u64);
		if (at)
			js->v[i].ended_at = since[at - ids];
	}
	free(ids);
	free(since);
	return err;
}

/*
 * Before the rows go: the jobs no prolog opened get their rows in the
 * ledger (each job whose traffic is in the rows; a job's cgroups that
 * ended added to it; closed when none of its rows stay and its own cgroup
 * is gone), in one transaction, so what the rows held is in the ledger
 * before they leave the maps. Rows wait --grace first (fates).
 */
static int plan(const struct tm_retiring *r, void *ctx)
{
	struct retiring *rt = ctx;
	struct jobs js = { .names = rt->f.names };
	size_t *job = malloc((r->n ? r->n : 1) * sizeof(*job));
	int64_t now = time(NULL), boot = tm_boot_time();
	char node[256] = "?";
	size_t i;
	int err = job ? 0 : -ENOMEM;

	/*
	 * Each row's job (its place in js, NONE: in none), looked up once. What
	 * ended first: a path made again is the older job's before the newer's.
	 */
	for (i = 0; i < r->n && !err; i++) {
		struct tm_ledger_seen *s = seen(&js, r->keys[i].cgroup_id, r->keys[i].uid);

		job[i] = s ? (size_t)(s - js.v) : NONE;
	}
	if (!err)
		err = fates(rt, r, job, &js, now, boot);
	for (i = 0; i < r->n && !err; i++) {
		if (job[i] == NONE)
			continue;
		if (r->fate[i] != TM_RETIRE_WAIT)
			err = take(&js, &js.v[job[i]], &r->keys[i], &r->vals[i]);
		else
			js.v[job[i]].ended = false;
	}
	if (!err)
		err = take_nets(rt->p, &js);
	for (i = 0; i < r->nstay && !err; i++) {
		struct tm_ledger_seen *s;

		/* A cgroup's rows one after another: its job looked up once. */
		if (i && r->stay[i].cgroup_id == r->stay[i - 1].cgroup_id)
			continue;
		s = seen(&js, r->stay[i].cgroup_id, r->stay[i].uid);
		if (s)
			s->ended = false;
	}
	gethostname(node, sizeof(node) - 1);
	if (!err)
		err = tm_ledger_keep(rt->db, rt->f.o->db, node, js.v, js.n, live, rt->f.names, now,
				     boot);
	tm_ledger_seen_free(js.v, js.n);
	free(job);
	return err;
}

static int note_row(const struct tm_detail_key *k, const struct tm_detail *v, void *ctx)
{
	return note_retired(k, v, &((struct retiring *)ctx)->f);
}

/*
 * Once a sample is stored, the rows of cgroups that ended (all of it in
 * the sample) are retired, and the history's last values of their series
 * lessened by what they held; the jobs no prolog opened have their rows in
 * the ledger kept first (plan). The rows of jobs a prolog opened (its
 * epilog to come: for a month at most) stay for the epilog.
 */
static int retire(const struct opts *o, const struct tm_pins *p, struct tm_names *names,
		  sqlite3 *db)
{
	struct retiring rt = { .f = { .o = o, .names = names }, .db = db, .p = p };
	struct forget *f = &rt.f;
	struct tm_retire_hooks hooks = { plan, note_row, &rt };
	struct tm_ledger_open held = {};
	struct tm_retirement ret;
	int err, e;

	err = tm_ledger_held(db, o->db, time(NULL) - TM_LEDGER_HOLD, &held);
	if (!err)
		err = tm_retire(p, names, &held, &ret, &hooks);
	e = tm_history_forget(db, o->db, f->sm.s, f->sm.n);
	tm_ledger_open_free(&held);
	sample_free(&f->sm);
	return err ? err : e;
}

static int one_sample(const struct opts *o, const struct tm_pins *p, struct tm_names *names,
		      sqlite3 *db)
{
	struct sample sm = {};
	char load[128];
	int64_t now = time(NULL);
	int err;

	err = tm_history_load_name(p, load, sizeof(load));
	if (!err)
		err = read_sample(o, p, names, &sm);
	if (!err)
		err = tm_history_sample(db, o->db, sm.s, sm.n, load, now, o->keep);
	if (!err)
		err = tm_history_prune(db, o->db, o->keep, o->keep_jobs, now, false);
	if (!err)
		err = retire(o, p, names, db);
	sample_free(&sm);
	return err;
}

/*
 * The meter was unloaded: what it counted since the last sample is gone
 * with it (tm-record.service stops before tm.service, and takes a last
 * sample). Until a load is there again, or a signal; then its counters,
 * from zero.
 */
static int follow(const struct opts *o, struct tm_pins *p, struct tm_names *names)
{
	char path[PATH_MAX];
	struct tm_root r;

	tm_names_free(names);
	tm_pins_close(p);
	if (tm_root_name(o->pin_root, &r) ||
	    tm_path(path, sizeof(path), r.path, tm_maps[TM_MAP_CONTROL].pin))
		return -EINVAL;
	tm_err("waiting for the next load at %s", r.path);
	for (;;) {
		while (!stop && access(path, F_OK))
			tm_sleep(o->interval < 1 ? o->interval : 1);
		if (stop)
			return -EINTR;
		/* A load half made, or going again: the next look. */
		if (!tm_pins_open(p, o->pin_root))
			break;
		tm_sleep(0.2);
	}
	tm_names_init(names, p);
	tm_err("recording the new load at %s", r.path);
	return 0;
}

/* Another load came while tm-record slept: its counters, from zero. */
static int take_new_load(const struct opts *o, struct tm_pins *p, struct tm_names *names)
{
	int err;

	tm_names_free(names);
	tm_pins_close(p);
	err = tm_pins_open(p, o->pin_root);
	if (err)
		return err;
	tm_names_init(names, p);
	tm_err("recording the new load at %s", p->root);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct opts o = {};
	struct tm_pins pins;
	struct tm_names names;
	sqlite3 *db = NULL;
	bool last = false;
	uint64_t n = 1;
	int err;

	tm_init("tm-record");
	err = parse_args(argc, argv, &o);
	if (err)
		return tm_exit_code(err);
	err = tm_pins_open(&pins, o.pin_root);
	if (err)
		return tm_exit_code(err);
	err = tm_history_open(o.db, true, &db);
	if (err) {
		tm_pins_close(&pins);
		return tm_exit_code(err);
	}
	tm_names_init(&names, &pins);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = one_sample(&o, &pins, &names, db);
	for (; !err && (!o.count || n < o.count) && !last; n++) {
		tm_sleep(o.interval);
		/* SIGTERM or SIGINT: one last sample, then out. */
		last = stop;
		err = tm_pins_same_load(&pins);
		if (err == 0)
			err = take_new_load(&o, &pins, &names);
		if (err >= 0)
			err = one_sample(&o, &pins, &names, db);
		if (err == -ENOENT && !last) {
			err = follow(&o, &pins, &names);
			if (err == -EINTR)
				return tm_history_close(db), tm_exit_code(0);
			if (!err)
				err = one_sample(&o, &pins, &names, db);
		}
	}
	tm_names_free(&names);
	tm_history_close(db);
	tm_pins_close(&pins);
	return tm_exit_code(err);
}
