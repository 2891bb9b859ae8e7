// SPDX-License-Identifier: GPL-2.0
/*
 * tm-stat: totals from the pinned counters, per user or broken down by
 * connection, process, interface, protocol or cgroup; once, every SEC
 * seconds, or as per-user report files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "tm.h"

#define MAX_USERS 256

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };
enum by { BY_USER, BY_CONN, BY_PROC, BY_IFACE, BY_PROTO, BY_CGROUP };
enum sort { SORT_BYTES, SORT_IN, SORT_OUT, SORT_PACKETS, SORT_KEY };

static const char *const by_names[] = { "user", "conn", "proc", "iface", "proto", "cgroup" };
static const char *const sort_names[] = { "bytes", "in", "out", "packets", "key" };

struct opts {
	const char *pin_root;
	enum format format;
	enum by by;
	enum sort sort;
	bool exact;
	uint32_t users[MAX_USERS];
	int nusers;
	double interval;
	uint64_t count;		/* 0: for ever */
	uint64_t top;		/* 0: every row */
	const char *output;
	char iface_note[TM_IFACES_MAX * (TM_IFNAMSIZ + 2)];
};

/*
 * One row of any breakdown. The fields a breakdown does not group by are
 * zero, so rows sort by all of them and equal neighbours merge.
 */
struct row {
	uint32_t uid;
	uint8_t untracked;	/* the untracked networks' row, not a user's */
	uint8_t family;
	uint8_t proto;
	uint8_t pad;
	uint32_t pid;
	char comm[TM_COMM_LEN];
	uint32_t ifindex;
	uint64_t cgroup_id;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	/* not part of the key: */
	uint64_t first_ns, last_ns;
	struct tm_counters c;
	double in_rate, out_rate;
};

#define ROW_KEY_LEN offsetof(struct row, first_ns)

struct snapshot {
	struct row *rows;
	size_t n, cap;
	struct tm_global g;
	uint64_t conns_live;
	uint64_t pending;	/* rows from sockets' slots */
	struct timespec mono, wall;
	int (*cmp)(const void *, const void *);
};

struct ctx {
	struct opts *o;
	struct tm_pins pins;
	int conns_fd, details_fd;
	int64_t mono_to_real;
	char (*cg_paths)[PATH_MAX];	/* cgroup id -> path, from one walk */
	uint64_t *cg_ids;
	size_t ncg;
};

static volatile sig_atomic_t stop;
static bool pipe_gone;		/* stdout's reader went away (| head) */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-stat [OPTION]...\n"
"Print traffic totals from the pinned counters: bytes and packets in and out\n"
"since tm-load, per user or broken down further, largest first.\n"
"\n"
"  -B, --by KEY         user (default), conn, proc, iface, proto or cgroup\n"
"  -u, --user USER      only this user, by name or UID (repeatable); with --by\n"
"                       user a named user with no traffic shows zeros\n"
"      --format FMT     table (default), json or csv\n"
"  -j, --json           same as --format json: an array of rows\n"
"  -b, --bytes          exact byte counts in the table instead of KiB, MiB, ...\n"
"  -t, --top N          only the first N rows\n"
"  -s, --sort KEY       bytes (in + out, default), in, out, packets, or key\n"
"  -i, --interval SEC   report every SEC seconds (fractions allowed) with rates\n"
"                       over the interval; json: one array a line\n"
"  -n, --count N        with --interval: stop after N reports\n"
"  -o, --output TEMPLATE  with --interval: append each user's report to their\n"
"                       own file (%%u user name, %%U uid, %%%% a %%): a header\n"
"                       with the time, the user's totals and rates, and a block\n"
"                       per connection; SIGINT or SIGTERM write a last report\n"
"      --pin-root DIR   the pin root (default: $TM_PIN_ROOT, else %s)\n"
"  -v, --verbose        show libbpf's messages\n"
"  -h, --help           show this help and exit\n"
"\n"
"Rows: uid, user, in_bytes, out_bytes, in_packets, out_packets, and the keys\n"
"of the breakdown: conn: proto, family, local, lport, remote, rport, pid, comm,\n"
"first_seen, last_seen; proc: pid, comm; iface: iface; proto: proto; cgroup:\n"
"cgroup. With --interval also in_rate and out_rate (bytes per second) and ts.\n"
"Packets of no user socket are the row uid null, user \"unknown\"; with --by\n"
"user, traffic of untracked networks is the row uid null, user \"untracked\".\n"
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage.\n",
		TM_DEFAULT_PIN_ROOT);
}

/* ARG as one of NAMES: "must be a, b or c" otherwise. */
static int pick(const char *opt, const char *arg, const char *const *names, int n, int *out)
{
	char list[128] = "";
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(arg, names[i])) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	}
	tm_usage_err("%s '%s': must be %s", opt, arg, list);
	return -TM_EUSAGE;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_FORMAT = TM_OPT_OWN };
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, 'B' },
		{ "user", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "sort", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		TM_COMMON_OPTIONS,
		{}
	};
	static const char *const formats[] = { "table", "json", "csv" };
	bool have_count = false;
	int c, err, v;

	while ((c = getopt_long(argc, argv, "B:u:jbt:s:i:n:o:vh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case 'B':
			err = pick("--by", optarg, by_names, 6, &v);
			o->by = v;
			break;
		case 'u':
			err = tm_add_user(optarg, o->users, &o->nusers, MAX_USERS);
			break;
		case OPT_FORMAT:
			err = pick("--format", optarg, formats, 3, &v);
			o->format = v;
			break;
		case 'j':
			o->format = FMT_JSON;
			break;
		case 'b':
			o->exact = true;
			break;
		case 't':
			err = tm_parse_count("--top", optarg, &o->top);
			break;
		case 's':
			err = pick("--sort", optarg, sort_names, 5, &v);
			o->sort = v;
			break;
		case 'i':
			err = tm_parse_interval("--interval", optarg, &o->interval);
			break;
		case 'n':
			err = tm_parse_count("--count", optarg, &o->count);
			have_count = true;
			break;
		case 'o':
			o->output = optarg;
			err = tm_check_template(optarg, "uU");
			break;
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
	if (have_count && !o->interval) {
		tm_usage_err("--count goes with --interval");
		return -TM_EUSAGE;
	}
	if (o->output && !o->interval) {
		tm_usage_err("--output goes with --interval");
		return -TM_EUSAGE;
	}
	return 0;
}

static struct row *new_row(struct snapshot *s)
{
	if (tm_grow(&s->rows, &s->cap, s->n, sizeof(s->rows[0])))
		return NULL;
	memset(&s->rows[s->n], 0, sizeof(s->rows[0]));
	return &s->rows[s->n++];
}

struct read_ctx {
	const struct opts *o;
	struct snapshot *s;
};

/* A new row for uid, or *r NULL when --user leaves uid out. */
static int start_row(struct read_ctx *rc, uint32_t uid, struct row **r)
{
	*r = NULL;
	if (!tm_users_match(rc->o->users, rc->o->nusers, uid))
		return 0;
	*r = new_row(rc->s);
	if (!*r)
		return -ENOMEM;
	(*r)->uid = uid;
	return 0;
}

static int add_user(const void *key, const void *value, void *ctx)
{
	const struct tm_user_key *k = key;
	struct row *r;
	int err = start_row(ctx, k->uid, &r);

	if (r)
		r->c = *(const struct tm_counters *)value;
	return err;
}

/* Keeps only the fields the breakdown groups by. */
static int add_detail(const void *key, const void *value, void *ctx)
{
	const struct tm_detail_key *k = key;
	const struct tm_detail *v = value;
	struct read_ctx *rc = ctx;
	enum by by = rc->o->by;
	struct row *r;
	int err = start_row(rc, k->uid, &r);

	if (!r)
		return err;
	r->c = v->c;
	if (by == BY_PROC) {
		r->pid = k->pid;
		memcpy(r->comm, v->comm, sizeof(r->comm));
	} else if (by == BY_IFACE) {
		r->ifindex = k->ifindex;
	} else if (by == BY_PROTO) {
		r->proto = k->proto;
	} else if (by == BY_CGROUP) {
		r->cgroup_id = k->cgroup_id;
	}
	return 0;
}

static int conn_row(struct read_ctx *rc, const struct tm_conn_key *k, const struct tm_conn *v)
{
	struct row *r;
	int err;

	err = start_row(rc, k->uid, &r);
	if (!r)
		return err;
	r->family = k->family;
	r->proto = k->proto;
	r->lport = k->lport;
	r->rport = k->rport;
	memcpy(r->laddr, k->laddr, 16);
	memcpy(r->raddr, k->raddr, 16);
	r->pid = v->pid;
	memcpy(r->comm, v->comm, sizeof(r->comm));
	r->first_ns = v->first_ns;
	r->last_ns = v->last_ns;
	r->c = v->c;
	return 0;
}

static int add_conn(const void *key, const void *value, void *ctx)
{
	struct read_ctx *rc = ctx;

	rc->s->conns_live++;
	return conn_row(rc, key, value);
}

static void counters_add(struct tm_counters *to, const struct tm_counters *c)
{
	to->in_bytes += c->in_bytes;
	to->in_packets += c->in_packets;
	to->out_bytes += c->out_bytes;
	to->out_packets += c->out_packets;
}

/* A socket's packets not yet in the maps, as the maps would hold them. */
static int add_pending(const struct tm_pending *p, void *ctx)
{
	const struct tm_slot *sl = &p->slot;
	struct read_ctx *rc = ctx;
	struct row *r;
	int err;

	rc->s->pending++;
	if (sl->untracked) {
		counters_add(&rc->s->g.untracked, &sl->c);
		return 0;
	}
	if (rc->o->by == BY_USER) {
		err = start_row(rc, sl->key.uid, &r);
		if (r)
			r->c = sl->c;
		return err;
	}
	if (rc->o->by == BY_CONN) {
		struct tm_conn v = {
			.c = sl->c,
			.first_ns = sl->first_ns,
			.last_ns = sl->last_ns,
			.pid = p->owner.pid,
		};

		memcpy(v.comm, p->owner.comm, sizeof(v.comm));
		return conn_row(rc, &sl->key, &v);
	} else {
		struct tm_detail_key k = {
			.uid = sl->key.uid,
			.pid = p->owner.pid,
			.cgroup_id = p->owner.cgroup_id,
			.ifindex = sl->ifindex,
			.family = sl->key.family,
			.proto = sl->key.proto,
		};
		struct tm_detail v = { .c = sl->c };

		memcpy(v.comm, p->owner.comm, sizeof(v.comm));
		return add_detail(&k, &v, rc);
	}
}

/* By user (as a number, so rows read in UID order), then the rest. */
static int cmp_key(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return memcmp(a, b, ROW_KEY_LEN);
}

/*
 * A connection is its key, as in the map: a pid and comm of its own
 * (a socket's slot not yet in the map) do not make it another.
 */
static int cmp_conn(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = memcmp(x, y, offsetof(struct row, pid));

	return d ? d : memcmp(x->laddr, y->laddr, offsetof(struct row, first_ns) -
			      offsetof(struct row, laddr));
}

/* Sorted by key, rows with equal keys become one. */
static void merge(struct snapshot *s)
{
	size_t i, j = 0;

	qsort(s->rows, s->n, sizeof(s->rows[0]), s->cmp);
	for (i = 0; i < s->n; i++) {
		struct row *r = &s->rows[i], *w;

		if (j && !s->cmp(&s->rows[j - 1], r)) {
			w = &s->rows[j - 1];
			counters_add(&w->c, &r->c);
			if (r->first_ns && (!w->first_ns || r->first_ns < w->first_ns))
				w->first_ns = r->first_ns;
			if (r->last_ns > w->last_ns)
				w->last_ns = r->last_ns;
			continue;
		}
		s->rows[j++] = *r;
	}
	s->n = j;
}

static int take_snapshot(struct ctx *x, struct snapshot *s)
{
	const struct opts *o = x->o;
	struct read_ctx rc = { o, s };
	__u32 zero = 0;
	int i, err;

	s->n = 0;
	s->conns_live = 0;
	s->pending = 0;
	/* How rows are told apart. */
	s->cmp = o->by == BY_CONN ? cmp_conn : cmp_key;
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->wall);
	if (o->by == BY_USER)
		err = tm_percpu_for_each(x->pins.users_fd, sizeof(struct tm_user_key),
					 sizeof(struct tm_counters), add_user, &rc);
	else if (o->by == BY_CONN)
		err = tm_map_for_each(x->conns_fd, sizeof(struct tm_conn_key),
				      sizeof(struct tm_conn), false, add_conn, &rc);
	else
		err = tm_map_for_each(x->details_fd, sizeof(struct tm_detail_key),
				      sizeof(struct tm_detail), false, add_detail, &rc);
	if (!err)
		err = tm_percpu_lookup(x->pins.global_fd, &zero, &s->g, sizeof(s->g));
	if (!err)
		err = tm_pending_for_each(x->pins.root, add_pending, &rc);
	if (err) {
		tm_err("cannot read the counters in %s: %s", x->pins.root, strerror(-err));
		return err;
	}
	/* A user asked for by name shows, with zeros if need be. */
	for (i = 0; o->by == BY_USER && i < o->nusers; i++) {
		struct row *r = new_row(s);

		if (!r)
			return -ENOMEM;
		r->uid = o->users[i];
	}
	if (o->by == BY_USER && !o->nusers &&
	    (s->g.untracked.in_packets || s->g.untracked.out_packets)) {
		struct row *r = new_row(s);

		if (!r)
			return -ENOMEM;
		r->uid = TM_UID_UNKNOWN;
		r->untracked = 1;
		r->c = s->g.untracked;
	}
	/* The map's connections are unique already: sorted for rates only. */
	if (o->by != BY_CONN || o->interval || s->pending)
		merge(s);
	return 0;
}

/* Rates over the interval; both snapshots are in key order. */
static void compute_rates(struct snapshot *cur, const struct snapshot *prev)
{
	double dt = (cur->mono.tv_sec - prev->mono.tv_sec) +
		    (cur->mono.tv_nsec - prev->mono.tv_nsec) / 1e9;
	size_t i;

	for (i = 0; i < cur->n; i++) {
		struct row *r = &cur->rows[i];
		const struct row *p = bsearch(r, prev->rows, prev->n, sizeof(*r), cur->cmp);
		uint64_t in0 = p ? p->c.in_bytes : 0, out0 = p ? p->c.out_bytes : 0;

		r->in_rate = dt > 0 && r->c.in_bytes >= in0 ? (r->c.in_bytes - in0) / dt : 0;
		r->out_rate = dt > 0 && r->c.out_bytes >= out0 ? (r->c.out_bytes - out0) / dt : 0;
	}
}

static uint64_t sort_value(const struct row *r, enum sort key)
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

/* A row in display order, with its sort value worked out once. */
struct ordered {
	uint64_t value;
	const struct row *row;
};

/* Largest first, the key breaking ties; the untracked row last. */
static int cmp_display(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->row->untracked != y->row->untracked)
		return x->row->untracked - y->row->untracked;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return cmp_key(x->row, y->row);
}

/* --------------------------------------------------------------- names */

static const char *row_user(const struct row *r, char *buf, size_t len)
{
	if (!r->untracked)
		return tm_user_name(r->uid, buf, len);
	snprintf(buf, len, "untracked");
	return buf;
}

static const char *iface_name(uint32_t ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "%u", ifindex);
	return buf;
}

static struct ctx *walk_ctx;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct ctx *x = walk_ctx;
	void *p, *q;

	if (flag != FTW_D)
		return 0;
	p = realloc(x->cg_ids, (x->ncg + 1) * sizeof(*x->cg_ids));
	q = realloc(x->cg_paths, (x->ncg + 1) * sizeof(*x->cg_paths));
	if (p)
		x->cg_ids = p;
	if (q)
		x->cg_paths = q;
	if (!p || !q)
		return 1;
	x->cg_ids[x->ncg] = st->st_ino;
	snprintf(x->cg_paths[x->ncg], PATH_MAX, "%s", path);
	x->ncg++;
	return 0;
}

/* The cgroup v2 path of an id, relative to the mount ("/" is the root). */
static const char *cgroup_path(struct ctx *x, uint64_t id, char *buf, size_t len)
{
	static char mnt[PATH_MAX];
	size_t i;

	if (!x->cg_ids && !tm_cgroup2_mount(mnt, sizeof(mnt))) {
		walk_ctx = x;
		nftw(mnt, walk_one, 32, FTW_PHYS | FTW_MOUNT);
	}
	for (i = 0; i < x->ncg; i++)
		if (x->cg_ids[i] == id) {
			const char *rel = x->cg_paths[i] + strlen(mnt);

			snprintf(buf, len, "%s", *rel ? rel : "/");
			return buf;
		}
	snprintf(buf, len, id ? "(gone: %" PRIu64 ")" : "?", id);
	return buf;
}

/* -------------------------------------------------------------- output */

/* The key columns of a breakdown, as text, in table and CSV order. */
struct keycols {
	const char *heads[8];
	int n;
	char vals[8][PATH_MAX];
};

static struct tm_buf col(struct keycols *k, const char *head)
{
	struct tm_buf b = { k->vals[k->n], k->vals[k->n] + PATH_MAX - 1 };

	k->heads[k->n++] = head;
	return b;
}

static void end(struct tm_buf *b)
{
	*b->p = '\0';
}

/* ADDR:PORT, [ADDR]:PORT for IPv6, ADDR alone without ports. */
static void put_endpoint(struct tm_buf *b, const struct row *r, const uint8_t *a, uint16_t port)
{
	bool ports = r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP;
	bool v6 = r->family == TM_FAMILY_IPV6 && ports;

	if (v6)
		tm_put_lit(b, "[");
	tm_put_addr(b, r->family, a);
	if (v6)
		tm_put_lit(b, "]");
	if (ports) {
		tm_put_lit(b, ":");
		tm_put_u64(b, port);
	}
}

static void key_columns(struct ctx *x, const struct row *r, struct keycols *k, bool csv)
{
	char tmp[PATH_MAX];
	struct tm_buf b;

	k->n = 0;
	switch (x->o->by) {
	case BY_CONN:
		b = col(k, csv ? "proto" : "PROTO");
		tm_put_str(&b, tm_proto_name(r->proto, tmp, sizeof(tmp)));
		end(&b);
		if (csv) {
			b = col(k, "family");
			tm_put_str(&b, tm_family_name(r->family));
			end(&b);
			b = col(k, "local");
			tm_put_addr(&b, r->family, r->laddr);
			end(&b);
			b = col(k, "lport");
			tm_put_u64(&b, r->lport);
			end(&b);
			b = col(k, "remote");
			tm_put_addr(&b, r->family, r->raddr);
			end(&b);
			b = col(k, "rport");
			tm_put_u64(&b, r->rport);
			end(&b);
		} else {
			b = col(k, "LOCAL");
			put_endpoint(&b, r, r->laddr, r->lport);
			end(&b);
			b = col(k, "REMOTE");
			put_endpoint(&b, r, r->raddr, r->rport);
			end(&b);
		}
		/* A connection also names its process. */
		__attribute__((fallthrough));
	case BY_PROC:
		b = col(k, csv ? "pid" : "PID");
		tm_put_u64(&b, r->pid);
		end(&b);
		b = col(k, csv ? "comm" : "COMM");
		tm_put(&b, r->comm, strnlen(r->comm, TM_COMM_LEN));
		end(&b);
		break;
	case BY_IFACE:
		b = col(k, csv ? "iface" : "IFACE");
		tm_put_str(&b, iface_name(r->ifindex, tmp));
		end(&b);
		break;
	case BY_PROTO:
		b = col(k, csv ? "proto" : "PROTO");
		tm_put_str(&b, tm_proto_name(r->proto, tmp, sizeof(tmp)));
		end(&b);
		break;
	case BY_CGROUP:
		b = col(k, csv ? "cgroup" : "CGROUP");
		tm_put_str(&b, cgroup_path(x, r->cgroup_id, tmp, sizeof(tmp)));
		end(&b);
		break;
	default:
		break;
	}
}

static void put_bytes_cell(const struct opts *o, struct tm_buf *b, uint64_t v)
{
	char h[32];

	if (o->exact) {
		tm_put_u64(b, v);
	} else {
		tm_human_bytes(v, h, sizeof(h));
		tm_put_str(b, h);
	}
}

static int print_table(struct ctx *x, const struct row *const *rows, size_t nrows,
		       const struct snapshot *s)
{
	const struct opts *o = x->o;
	const char *heads[16];
	enum tm_align align[16];
	struct keycols k;
	struct tm_table t;
	size_t i, ncols = 0;
	int err = 0;

	/* The heads, from a row of zeros. */
	{
		struct row z = {};

		key_columns(x, &z, &k, false);
	}
	heads[ncols] = "USER", align[ncols++] = TM_LEFT;
	if (o->by == BY_USER)
		heads[ncols] = "UID", align[ncols++] = TM_RIGHT;
	for (i = 0; i < (size_t)k.n; i++)
		heads[ncols] = k.heads[i], align[ncols++] = TM_LEFT;
	heads[ncols] = "IN", align[ncols++] = TM_RIGHT;
	heads[ncols] = "OUT", align[ncols++] = TM_RIGHT;
	heads[ncols] = "IN_PKTS", align[ncols++] = TM_RIGHT;
	heads[ncols] = "OUT_PKTS", align[ncols++] = TM_RIGHT;
	if (o->interval) {
		heads[ncols] = "IN_RATE", align[ncols++] = TM_RIGHT;
		heads[ncols] = "OUT_RATE", align[ncols++] = TM_RIGHT;
	}
	tm_table_init(&t, ncols, heads, align);
	for (i = 0; i < nrows && !err; i++) {
		const struct row *r = rows[i];
		char cells[8][96];
		const char *cellp[16];
		size_t c = 0, j, nc = 0;
		struct tm_buf b;

#define CELL() (b = (struct tm_buf){ cells[nc], cells[nc] + 95 }, cellp[c++] = cells[nc++])
		CELL();
		row_user(r, cells[nc - 1], 96);
		if (o->by == BY_USER) {
			CELL();
			if (r->uid == TM_UID_UNKNOWN)
				tm_put_lit(&b, "-");
			else
				tm_put_u64(&b, r->uid);
			end(&b);
		}
		key_columns(x, r, &k, false);
		for (j = 0; j < (size_t)k.n; j++)
			cellp[c++] = k.vals[j];
		CELL(); put_bytes_cell(o, &b, r->c.in_bytes); end(&b);
		CELL(); put_bytes_cell(o, &b, r->c.out_bytes); end(&b);
		CELL(); tm_put_u64(&b, r->c.in_packets); end(&b);
		CELL(); tm_put_u64(&b, r->c.out_packets); end(&b);
		if (o->interval) {
			CELL(); tm_human_rate(r->in_rate, cells[nc - 1], 96);
			CELL(); tm_human_rate(r->out_rate, cells[nc - 1], 96);
		}
#undef CELL
		err = tm_table_add(&t, cellp);
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

static void put_kv_u64(struct tm_buf *b, const char *key, uint64_t v)
{
	tm_put_lit(b, ",\"");
	tm_put_str(b, key);
	tm_put_lit(b, "\":");
	tm_put_u64(b, v);
}

static void put_kv_str(struct tm_buf *b, const char *key, const char *v, size_t max)
{
	tm_put_lit(b, ",\"");
	tm_put_str(b, key);
	tm_put_lit(b, "\":\"");
	tm_put_json(b, v, max);
	tm_put_lit(b, "\"");
}

static void put_kv_real(struct tm_buf *b, const char *key, double v)
{
	char num[40];

	snprintf(num, sizeof(num), "%.3f", v);
	tm_put_lit(b, ",\"");
	tm_put_str(b, key);
	tm_put_lit(b, "\":");
	tm_put_str(b, num);
}

/* One compact array: rows written field by field, strings escaped. */
static int print_json(struct ctx *x, const struct row *const *rows, size_t nrows,
		      const struct snapshot *s)
{
	const struct opts *o = x->o;
	char name[64], ts[40], tmp[PATH_MAX], line[2 * PATH_MAX + 1024];
	size_t i;

	tm_format_ts(&s->wall, ts, sizeof(ts));
	putchar('[');
	for (i = 0; i < nrows; i++) {
		const struct row *r = rows[i];
		bool ports = r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP;
		TM_BUF(b, line);

		tm_put_str(&b, i ? ",{\"uid\":" : "{\"uid\":");
		if (r->uid == TM_UID_UNKNOWN)
			tm_put_lit(&b, "null");
		else
			tm_put_u64(&b, r->uid);
		put_kv_str(&b, "user", row_user(r, name, sizeof(name)), sizeof(name));
		put_kv_u64(&b, "in_bytes", r->c.in_bytes);
		put_kv_u64(&b, "out_bytes", r->c.out_bytes);
		put_kv_u64(&b, "in_packets", r->c.in_packets);
		put_kv_u64(&b, "out_packets", r->c.out_packets);
		switch (o->by) {
		case BY_CONN:
			put_kv_str(&b, "proto", tm_proto_name(r->proto, tmp, sizeof(tmp)), 16);
			put_kv_str(&b, "family", tm_family_name(r->family), 8);
			tm_put_lit(&b, ",\"local\":\"");
			tm_put_addr(&b, r->family, r->laddr);
			tm_put_lit(&b, "\",\"lport\":");
			if (ports)
				tm_put_u64(&b, r->lport);
			else
				tm_put_lit(&b, "null");
			tm_put_lit(&b, ",\"remote\":\"");
			tm_put_addr(&b, r->family, r->raddr);
			tm_put_lit(&b, "\",\"rport\":");
			if (ports)
				tm_put_u64(&b, r->rport);
			else
				tm_put_lit(&b, "null");
			put_kv_u64(&b, "pid", r->pid);
			put_kv_str(&b, "comm", r->comm, TM_COMM_LEN);
			tm_put_lit(&b, ",\"first_seen\":\"");
			tm_put_ts(&b, (int64_t)r->first_ns + x->mono_to_real);
			tm_put_lit(&b, "\",\"last_seen\":\"");
			tm_put_ts(&b, (int64_t)r->last_ns + x->mono_to_real);
			tm_put_lit(&b, "\"");
			break;
		case BY_PROC:
			put_kv_u64(&b, "pid", r->pid);
			put_kv_str(&b, "comm", r->comm, TM_COMM_LEN);
			break;
		case BY_IFACE:
			put_kv_str(&b, "iface", iface_name(r->ifindex, tmp), IF_NAMESIZE);
			break;
		case BY_PROTO:
			put_kv_str(&b, "proto", tm_proto_name(r->proto, tmp, sizeof(tmp)), 16);
			break;
		case BY_CGROUP:
			put_kv_str(&b, "cgroup", cgroup_path(x, r->cgroup_id, tmp, sizeof(tmp)),
				   sizeof(tmp));
			break;
		default:
			break;
		}
		if (o->interval) {
			put_kv_real(&b, "in_rate", r->in_rate);
			put_kv_real(&b, "out_rate", r->out_rate);
			put_kv_str(&b, "ts", ts, sizeof(ts));
		}
		tm_put_lit(&b, "}");
		fwrite(line, 1, b.p - line, stdout);
	}
	fputs("]\n", stdout);
	return ferror(stdout) ? -errno : 0;
}

static int print_csv(struct ctx *x, const struct row *const *rows, size_t nrows,
		     const struct snapshot *s, bool header)
{
	const struct opts *o = x->o;
	char name[64], ts[40], line[9 * PATH_MAX];
	struct keycols k;
	size_t i;
	int j;

	tm_format_ts(&s->wall, ts, sizeof(ts));
	if (header) {
		struct row z = {};

		key_columns(x, &z, &k, true);
		printf("%suid,user", o->interval ? "ts," : "");
		for (j = 0; j < k.n; j++)
			printf(",%s", k.heads[j]);
		printf(",in_bytes,out_bytes,in_packets,out_packets%s\n",
		       o->interval ? ",in_rate,out_rate" : "");
	}
	for (i = 0; i < nrows; i++) {
		const struct row *r = rows[i];
		TM_BUF(b, line);

		if (o->interval) {
			tm_put_str(&b, ts);
			tm_put_lit(&b, ",");
		}
		if (r->uid != TM_UID_UNKNOWN)
			tm_put_u64(&b, r->uid);
		tm_put_lit(&b, ",");
		tm_put_str(&b, row_user(r, name, sizeof(name)));
		key_columns(x, r, &k, true);
		for (j = 0; j < k.n; j++) {
			tm_put_lit(&b, ",");
			tm_put_str(&b, k.vals[j]);
		}
		tm_put_lit(&b, ",");
		tm_put_u64(&b, r->c.in_bytes);
		tm_put_lit(&b, ",");
		tm_put_u64(&b, r->c.out_bytes);
		tm_put_lit(&b, ",");
		tm_put_u64(&b, r->c.in_packets);
		tm_put_lit(&b, ",");
		tm_put_u64(&b, r->c.out_packets);
		if (o->interval) {
			tm_put_lit(&b, ",");
			tm_put_u64(&b, (uint64_t)llround(r->in_rate));
			tm_put_lit(&b, ",");
			tm_put_u64(&b, (uint64_t)llround(r->out_rate));
		}
		tm_put_lit(&b, "\n");
		fwrite(line, 1, b.p - line, stdout);
	}
	return 0;
}

/*
 * Per-user report files, as HPC sites keep them: each interval appends a
 * header with the time, the user's totals and rates, and a block per
 * connection. The connections are read here, whatever --by says.
 */
static int write_reports(struct ctx *x, const struct snapshot *users, const struct snapshot *conns)
{
	const struct opts *o = x->o;
	char when[64], name[64], path[PATH_MAX], rin[32], rout[32];
	struct tm tm;
	size_t i, j;
	int err = 0;

	localtime_r(&users->wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	for (i = 0; i < users->n; i++) {
		const struct row *u = &users->rows[i];
		FILE *f;

		if (u->untracked)
			continue;
		tm_user_name(u->uid, name, sizeof(name));
		tm_expand_template(o->output, u->uid, NULL, path, sizeof(path));
		f = tm_open_output(path);
		if (!f) {
			tm_err("cannot write '%s': %s", path, strerror(errno));
			err = -EIO;
			continue;
		}
		tm_human_rate(u->in_rate, rin, sizeof(rin));
		tm_human_rate(u->out_rate, rout, sizeof(rout));
		fprintf(f, "=== %s  user %s (uid %s)  interval %g s\n", when, name,
			u->uid == TM_UID_UNKNOWN ? "-" : (snprintf(path, sizeof(path), "%u", u->uid), path),
			o->interval);
		fprintf(f, "total  RX %" PRIu64 " bytes %" PRIu64 " packets (%s)  TX %" PRIu64
			" bytes %" PRIu64 " packets (%s)\n",
			(uint64_t)u->c.in_bytes, (uint64_t)u->c.in_packets, rin,
			(uint64_t)u->c.out_bytes, (uint64_t)u->c.out_packets, rout);
		for (j = 0; j < conns->n; j++) {
			const struct row *c = &conns->rows[j];
			char src[80], dst[80], pb[8];
			struct tm_buf sb = { src, src + sizeof(src) - 1 };
			struct tm_buf db = { dst, dst + sizeof(dst) - 1 };

			if (c->uid != u->uid)
				continue;
			put_endpoint(&sb, c, c->laddr, c->lport);
			end(&sb);
			put_endpoint(&db, c, c->raddr, c->rport);
			end(&db);
			fprintf(f, "conn %s %s -> %s  pid %u %.*s\n", tm_proto_name(c->proto, pb, sizeof(pb)),
				src, dst, c->pid, TM_COMM_LEN, c->comm);
			fprintf(f, "  TX %" PRIu64 " bytes %" PRIu64 " packets  RX %" PRIu64
				" bytes %" PRIu64 " packets\n",
				(uint64_t)c->c.out_bytes, (uint64_t)c->c.out_packets,
				(uint64_t)c->c.in_bytes, (uint64_t)c->c.in_packets);
		}
		fputc('\n', f);
		if (fclose(f)) {
			tm_err("cannot write '%s': %s", path, strerror(errno));
			err = -EIO;
		}
	}
	return err;
}

static void notes(struct ctx *x, const struct snapshot *s)
{
	uint64_t evicted = s->g.conns_new > s->conns_live ? s->g.conns_new - s->conns_live : 0;

	if (s->g.users_full_packets)
		tm_err("note: %" PRIu64 " packets (%" PRIu64 " bytes) had no room in the "
		       "per-user map and are not in any row",
		       (uint64_t)s->g.users_full_packets, (uint64_t)s->g.users_full_bytes);
	if (x->o->by == BY_CONN && evicted)
		tm_err("note: %" PRIu64 " connections were evicted to make room (tm-load "
		       "--max-conns); their bytes are in the per-user totals", evicted);
	if (x->o->by >= BY_PROC && s->g.details_full_packets)
		tm_err("note: %" PRIu64 " packets (%" PRIu64 " bytes) had no room in the "
		       "breakdown map and are not in these rows",
		       (uint64_t)s->g.details_full_packets, (uint64_t)s->g.details_full_bytes);
}

static int report(struct ctx *x, struct snapshot *s, bool first)
{
	const struct opts *o = x->o;
	struct ordered *ord;
	const struct row **order;
	size_t nrows, i;
	int err;

	/* The display order, as pointers: the rows stay in key order. */
	ord = malloc((s->n ? s->n : 1) * sizeof(*ord));
	order = malloc((s->n ? s->n : 1) * sizeof(*order));
	if (!ord || !order) {
		free(ord);
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < s->n; i++) {
		ord[i].row = &s->rows[i];
		ord[i].value = sort_value(&s->rows[i], o->sort);
	}
	qsort(ord, s->n, sizeof(*ord), cmp_display);
	for (i = 0; i < s->n; i++)
		order[i] = ord[i].row;
	free(ord);
	nrows = o->top && o->top < s->n ? o->top : s->n;
	switch (o->format) {
	case FMT_JSON:
		err = print_json(x, order, nrows, s);
		break;
	case FMT_CSV:
		err = print_csv(x, order, nrows, s, first);
		break;
	default:
		err = print_table(x, order, nrows, s);
		break;
	}
	free(order);
	if (!err && (fflush(stdout) || ferror(stdout)))
		err = -errno;
	/* A reader that went away (| head) is not an error. */
	if (err == -EPIPE)
		pipe_gone = true, err = 0;
	if (!err && first)
		notes(x, s);
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

static int interval_reports(struct ctx *x)
{
	struct snapshot a = {}, b = {}, *cur = &a, *prev = &b, *tmp;
	struct snapshot ca = {}, cb = {}, *ccur = &ca, *cprev = &cb;
	struct opts *o = x->o, co;
	struct ctx cx;
	uint64_t n;
	bool last = false;
	int err;

	/* Report files also need each user's connections: a second reader. */
	co = *o;
	co.by = BY_CONN;
	cx = *x;
	cx.o = &co;
	err = take_snapshot(x, prev);
	if (!err && o->output)
		err = take_snapshot(&cx, cprev);
	for (n = 0; !err && !last && !pipe_gone && (!o->count || n < o->count); n++) {
		sleep_interval(o->interval);
		/* SIGINT or SIGTERM: one last report, then out. */
		last = stop;
		err = take_snapshot(x, cur);
		if (err)
			break;
		compute_rates(cur, prev);
		if (o->output) {
			err = take_snapshot(&cx, ccur);
			if (!err)
				err = write_reports(x, cur, ccur);
			tmp = cprev, cprev = ccur, ccur = tmp;
		} else {
			err = report(x, cur, n == 0);
		}
		tmp = prev, prev = cur, cur = tmp;
	}
	free(a.rows);
	free(b.rows);
	free(ca.rows);
	free(cb.rows);
	return err;
}

static int run(struct opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ctx x = { .o = o, .conns_fd = -1, .details_fd = -1 };
	struct timespec mono, real;
	struct snapshot s = {};
	int err;

	err = tm_pins_open(&x.pins, tm_pin_root(o->pin_root));
	if (err)
		return err;
	err = tm_pin_get(x.pins.root, TM_PIN_CONNS, &x.conns_fd);
	if (!err)
		err = tm_pin_get(x.pins.root, TM_PIN_DETAILS, &x.details_fd);
	if (err)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	x.mono_to_real = (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
	if (o->format == FMT_TABLE)
		read_iface_note(o, &x.pins);
	if (!o->interval) {
		err = take_snapshot(&x, &s);
		if (!err)
			err = report(&x, &s, true);
		free(s.rows);
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = interval_reports(&x);
out:
	if (x.conns_fd >= 0)
		close(x.conns_fd);
	if (x.details_fd >= 0)
		close(x.details_fd);
	free(x.cg_ids);
	free(x.cg_paths);
	tm_pins_close(&x.pins);
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
	/* Fully buffered, in large writes; each report is flushed when done. */
	if (!err) {
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
		err = run(&o);
	}
	return tm_exit_code(err);
}
