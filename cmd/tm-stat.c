// SPDX-License-Identifier: GPL-2.0
/* tm-stat: per-user totals from the pinned counters, once or every SEC seconds. */
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
#include <jansson.h>
#include <bpf/bpf.h>

#include "tm.h"

#define MAX_USERS 256

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };

struct opts {
	const char *pin_root;
	enum format format;
	bool exact;
	uint32_t users[MAX_USERS];
	int nusers;
	double interval;
	uint64_t count;		/* 0: for ever */
	char iface_note[TM_IFACES_MAX * (TM_IFNAMSIZ + 2)];
};

struct row {
	uint32_t uid;
	bool untracked;		/* the untracked networks' row, not a user's */
	struct tm_counters c;
	double in_rate, out_rate;
};

struct snapshot {
	struct row *rows;
	size_t n, cap;
	struct tm_global g;
	struct timespec mono, wall;
};

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-stat [OPTION]...\n"
"Print per-user traffic totals from the pinned counters: bytes and packets in\n"
"and out since tm-load, for every user with traffic, largest first.\n"
"\n"
"  -u, --user USER      only this user, by name or UID (repeatable); a named\n"
"                       user with no traffic shows zeros\n"
"      --format FMT     table (default), json or csv\n"
"  -j, --json           same as --format json: an array of rows\n"
"  -b, --bytes          exact byte counts in the table instead of KiB, MiB, ...\n"
"  -i, --interval SEC   report every SEC seconds (fractions allowed) with rates\n"
"                       over the interval; json: one array a line\n"
"  -n, --count N        with --interval: stop after N reports\n"
"      --pin-root DIR   the pin root (default: $TM_PIN_ROOT, else %s)\n"
"  -v, --verbose        show libbpf's messages\n"
"  -h, --help           show this help and exit\n"
"\n"
"Rows: uid, user, in_bytes, out_bytes, in_packets, out_packets; with\n"
"--interval also in_rate and out_rate (bytes per second) and ts. Packets that\n"
"belong to no user socket are the row uid null, user \"unknown\".\n"
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage.\n",
		TM_DEFAULT_PIN_ROOT);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_PIN_ROOT = 256, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_count = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "u:jbi:n:vh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case 'u':
			if (o->nusers == MAX_USERS) {
				tm_usage_err("at most %d --user options", MAX_USERS);
				return -TM_EUSAGE;
			}
			err = tm_parse_user(optarg, &o->users[o->nusers++]);
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "table"))
				o->format = FMT_TABLE;
			else if (!strcmp(optarg, "json"))
				o->format = FMT_JSON;
			else if (!strcmp(optarg, "csv"))
				o->format = FMT_CSV;
			else {
				tm_usage_err("--format '%s': must be table, json or csv", optarg);
				return -TM_EUSAGE;
			}
			break;
		case 'j':
			o->format = FMT_JSON;
			break;
		case 'b':
			o->exact = true;
			break;
		case 'i':
			err = tm_parse_interval("--interval", optarg, &o->interval);
			break;
		case 'n':
			err = tm_parse_count("--count", optarg, &o->count);
			have_count = true;
			break;
		case OPT_PIN_ROOT:
			o->pin_root = optarg;
			break;
		case 'v':
			tm_verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(TM_EXIT_OK);
		default:
			fprintf(stderr, "Try 'tm-stat --help' for more information.\n");
			return -TM_EUSAGE;
		}
		if (err)
			return err;
	}
	if (optind < argc) {
		tm_usage_err("'%s': unexpected argument", argv[optind]);
		return -TM_EUSAGE;
	}
	if (have_count && !o->interval) {
		tm_usage_err("--count goes with --interval");
		return -TM_EUSAGE;
	}
	return 0;
}

static bool wanted(const struct opts *o, uint32_t uid)
{
	int i;

	if (!o->nusers)
		return true;
	for (i = 0; i < o->nusers; i++)
		if (o->users[i] == uid)
			return true;
	return false;
}

static struct row *new_row(struct snapshot *s, uint32_t uid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct row *r = realloc(s->rows, cap * sizeof(*r));

		if (!r)
			return NULL;
		s->rows = r;
		s->cap = cap;
	}
	memset(&s->rows[s->n], 0, sizeof(s->rows[0]));
	s->rows[s->n].uid = uid;
	return &s->rows[s->n++];
}

static struct row *find_row(struct snapshot *s, uint32_t uid, bool add)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->rows[i].uid == uid && !s->rows[i].untracked)
			return &s->rows[i];
	return add ? new_row(s, uid) : NULL;
}

static struct row *find_untracked(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->rows[i].untracked)
			return &s->rows[i];
	return NULL;
}

struct read_ctx {
	const struct opts *o;
	struct snapshot *s;
};

/* The map is keyed by uid and family; a user's row is the sum of them. */
static int add_user(const void *key, const void *value, void *ctx)
{
	const struct tm_user_key *k = key;
	const struct tm_counters *v = value;
	struct read_ctx *rc = ctx;
	struct row *r;

	if (!wanted(rc->o, k->uid))
		return 0;
	r = find_row(rc->s, k->uid, true);
	if (!r)
		return -ENOMEM;
	r->c.in_bytes += v->in_bytes;
	r->c.in_packets += v->in_packets;
	r->c.out_bytes += v->out_bytes;
	r->c.out_packets += v->out_packets;
	return 0;
}

/* Largest first; the untracked row last, as it is no user's. */
static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t tx = x->c.in_bytes + x->c.out_bytes;
	uint64_t ty = y->c.in_bytes + y->c.out_bytes;

	if (x->untracked != y->untracked)
		return x->untracked - y->untracked;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int take_snapshot(const struct opts *o, const struct tm_pins *p,
			 struct snapshot *s)
{
	struct read_ctx rc = { o, s };
	__u32 zero = 0;
	int i, err;

	s->n = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->wall);
	err = tm_percpu_for_each(p->users_fd, sizeof(struct tm_user_key),
				 sizeof(struct tm_counters), add_user, &rc);
	if (!err)
		err = tm_percpu_lookup(p->global_fd, &zero, &s->g, sizeof(s->g));
	if (err) {
		tm_err("cannot read the counters in %s: %s", p->root, strerror(-err));
		return err;
	}
	for (i = 0; i < o->nusers; i++)
		if (!find_row(s, o->users[i], true))
			return -ENOMEM;
	if (!o->nusers && (s->g.untracked.in_packets || s->g.untracked.out_packets)) {
		struct row *r = new_row(s, TM_UID_UNKNOWN);

		if (!r)
			return -ENOMEM;
		r->untracked = true;
		r->c = s->g.untracked;
	}
	qsort(s->rows, s->n, sizeof(s->rows[0]), cmp_rows);
	return 0;
}

/* Rates over the interval, from the previous snapshot; a new user started at 0. */
static void compute_rates(struct snapshot *cur, struct snapshot *prev)
{
	double dt = (cur->mono.tv_sec - prev->mono.tv_sec) +
		    (cur->mono.tv_nsec - prev->mono.tv_nsec) / 1e9;
	size_t i;

	for (i = 0; i < cur->n; i++) {
		struct row *r = &cur->rows[i];
		struct row *p = r->untracked ? find_untracked(prev) : find_row(prev, r->uid, false);
		uint64_t in0 = p ? p->c.in_bytes : 0, out0 = p ? p->c.out_bytes : 0;

		r->in_rate = dt > 0 ? (r->c.in_bytes - in0) / dt : 0;
		r->out_rate = dt > 0 ? (r->c.out_bytes - out0) / dt : 0;
	}
}

static const char *row_user(const struct row *r, char *buf, size_t len)
{
	if (!r->untracked)
		return tm_user_name(r->uid, buf, len);
	snprintf(buf, len, "untracked");
	return buf;
}

static void bytes_cell(const struct opts *o, uint64_t v, char *buf, size_t len)
{
	if (o->exact)
		snprintf(buf, len, "%" PRIu64, v);
	else
		tm_human_bytes(v, buf, len);
}

static int print_table(const struct opts *o, const struct snapshot *s)
{
	static const char *heads[] = { "USER", "UID", "IN", "OUT", "IN_PKTS",
				       "OUT_PKTS", "IN_RATE", "OUT_RATE" };
	static const enum tm_align align[] = { TM_LEFT, TM_RIGHT, TM_RIGHT, TM_RIGHT,
					       TM_RIGHT, TM_RIGHT, TM_RIGHT, TM_RIGHT };
	struct tm_table t;
	size_t i;
	int err = 0;

	tm_table_init(&t, o->interval ? 8 : 6, heads, align);
	for (i = 0; i < s->n && !err; i++) {
		const struct row *r = &s->rows[i];
		char name[64], uid[16], in[32], out[32], ip[24], op[24], ir[32], or[32];
		const char *cells[] = { name, uid, in, out, ip, op, ir, or };

		row_user(r, name, sizeof(name));
		if (r->uid == TM_UID_UNKNOWN)
			snprintf(uid, sizeof(uid), "-");
		else
			snprintf(uid, sizeof(uid), "%u", r->uid);
		bytes_cell(o, r->c.in_bytes, in, sizeof(in));
		bytes_cell(o, r->c.out_bytes, out, sizeof(out));
		snprintf(ip, sizeof(ip), "%" PRIu64, (uint64_t)r->c.in_packets);
		snprintf(op, sizeof(op), "%" PRIu64, (uint64_t)r->c.out_packets);
		tm_human_rate(r->in_rate, ir, sizeof(ir));
		tm_human_rate(r->out_rate, or, sizeof(or));
		err = tm_table_add(&t, cells);
	}
	if (o->interval) {
		char when[64];
		struct tm tm;

		localtime_r(&s->wall.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
		printf("%s  (every %g s)\n", when, o->interval);
	}
	tm_table_print(&t, stdout);
	if (!t.nrows)
		printf("(no traffic counted yet)\n");
	if (o->iface_note[0])
		printf("(only packets on %s)\n", o->iface_note);
	if (o->interval)
		putchar('\n');
	tm_table_free(&t);
	return err;
}

static int print_json(const struct opts *o, const struct snapshot *s)
{
	json_t *arr = json_array();
	char name[64], ts[40];
	size_t i;
	int err = 0;

	tm_format_ts(&s->wall, ts, sizeof(ts));
	for (i = 0; i < s->n && arr; i++) {
		const struct row *r = &s->rows[i];
		json_t *row;

		row = json_pack("{s:o, s:s, s:I, s:I, s:I, s:I}",
				"uid", r->uid == TM_UID_UNKNOWN ? json_null() : json_integer(r->uid),
				"user", row_user(r, name, sizeof(name)),
				"in_bytes", (json_int_t)r->c.in_bytes,
				"out_bytes", (json_int_t)r->c.out_bytes,
				"in_packets", (json_int_t)r->c.in_packets,
				"out_packets", (json_int_t)r->c.out_packets);
		if (row && o->interval) {
			json_object_set_new(row, "in_rate", json_real(round(r->in_rate * 1000) / 1000));
			json_object_set_new(row, "out_rate", json_real(round(r->out_rate * 1000) / 1000));
			json_object_set_new(row, "ts", json_string(ts));
		}
		if (!row || json_array_append_new(arr, row))
			err = -ENOMEM;
	}
	if (!arr)
		err = -ENOMEM;
	if (!err && (json_dumpf(arr, stdout, JSON_COMPACT) || putchar('\n') == EOF))
		err = -errno;
	json_decref(arr);
	return err;
}

static int print_csv(const struct opts *o, const struct snapshot *s, bool header)
{
	char name[64], ts[40];
	size_t i;

	tm_format_ts(&s->wall, ts, sizeof(ts));
	if (header)
		printf("%suid,user,in_bytes,out_bytes,in_packets,out_packets%s\n",
		       o->interval ? "ts," : "", o->interval ? ",in_rate,out_rate" : "");
	for (i = 0; i < s->n; i++) {
		const struct row *r = &s->rows[i];
		char uid[16] = "";

		if (r->uid != TM_UID_UNKNOWN)
			snprintf(uid, sizeof(uid), "%u", r->uid);
		if (o->interval)
			printf("%s,", ts);
		printf("%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, uid,
		       row_user(r, name, sizeof(name)),
		       (uint64_t)r->c.in_bytes, (uint64_t)r->c.out_bytes,
		       (uint64_t)r->c.in_packets, (uint64_t)r->c.out_packets);
		if (o->interval)
			printf(",%.0f,%.0f", r->in_rate, r->out_rate);
		putchar('\n');
	}
	return 0;
}

static int report(const struct opts *o, const struct snapshot *s, bool first)
{
	int err;

	switch (o->format) {
	case FMT_JSON:
		err = print_json(o, s);
		break;
	case FMT_CSV:
		err = print_csv(o, s, first);
		break;
	default:
		err = print_table(o, s);
		break;
	}
	if (!err && (fflush(stdout) || ferror(stdout)))
		err = -errno;
	/* A reader that went away (| head) is not an error. */
	if (err == -EPIPE)
		stop = 1, err = 0;
	if (!err && first && (s->g.users_full_packets))
		tm_err("note: %" PRIu64 " packets (%" PRIu64 " bytes) had no room in the "
		       "per-user map and are not in any row",
		       (uint64_t)s->g.users_full_packets, (uint64_t)s->g.users_full_bytes);
	return err;
}

static void on_signal(int sig)
{
	stop = 1;
}

static void sleep_interval(double sec)
{
	struct timespec ts = { (time_t)sec, (long)((sec - floor(sec)) * 1e9) };

	/* A signal cuts the sleep short; the loop then sees stop. */
	nanosleep(&ts, NULL);
}

/* The interface filter tm-load was given, by name, for the table's reader. */
static void read_iface_note(struct opts *o, const struct tm_pins *p)
{
	__u32 key, *prev = NULL;
	struct tm_iface v;

	if (!p->control->ifaces)
		return;
	while (!bpf_map_get_next_key(p->ifaces_fd, prev, &key)) {
		size_t used = strlen(o->iface_note);

		if (!bpf_map_lookup_elem(p->ifaces_fd, &key, &v))
			snprintf(o->iface_note + used, sizeof(o->iface_note) - used, "%s%.*s",
				 used ? ", " : "", TM_IFNAMSIZ, v.name);
		prev = &key;
	}
}

static int run(struct opts *o)
{
	struct snapshot a = {}, b = {}, *cur = &a, *prev = &b, *tmp;
	struct sigaction sa = { .sa_handler = on_signal };
	struct tm_pins pins;
	uint64_t n;
	int err;

	err = tm_pins_open(&pins, tm_pin_root(o->pin_root));
	if (err)
		return err;
	if (o->format == FMT_TABLE)
		read_iface_note(o, &pins);
	if (!o->interval) {
		err = take_snapshot(o, &pins, cur);
		if (!err)
			err = report(o, cur, true);
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = take_snapshot(o, &pins, prev);
	for (n = 0; !err && !stop && (!o->count || n < o->count); n++) {
		sleep_interval(o->interval);
		if (stop)
			break;
		err = take_snapshot(o, &pins, cur);
		if (err)
			break;
		compute_rates(cur, prev);
		err = report(o, cur, n == 0);
		tmp = prev, prev = cur, cur = tmp;
	}
out:
	free(a.rows);
	free(b.rows);
	tm_pins_close(&pins);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int err;

	tm_init("tm-stat");
	/* EPIPE comes back from write(), not as a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	err = parse_args(argc, argv, &o);
	if (!err) {
		tm_stdout_line_buffered();
		err = run(&o);
	}
	return tm_exit_code(err);
}
