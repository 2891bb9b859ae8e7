// SPDX-License-Identifier: GPL-2.0
/*
 * The pins read into rows of one breakdown: the maps, then the sockets'
 * slots not yet in them, added together, so a reading is exact when it is
 * made. What every reader (tm-stat, and those to come) starts from.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "model.h"

const char *const tm_by_names[TM_BY_MAX] = {
	"user", "conn", "proc", "iface", "proto", "cgroup", "job", "family",
};

#define ROW_KEY_LEN offsetof(struct tm_row, first_ns)

struct reading {
	const struct tm_pins *pins;
	enum tm_by by;
	const uint32_t *users;
	int nusers;
	struct tm_rows *s;
};

static struct tm_row *new_row(struct tm_rows *s)
{
	if (tm_grow(&s->v, &s->cap, s->n, sizeof(s->v[0])))
		return NULL;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	return &s->v[s->n++];
}

/* A new row for uid, or *r NULL when the filter leaves uid out. */
static int start_row(struct reading *rd, uint32_t uid, struct tm_row **r)
{
	*r = NULL;
	if (!tm_users_match(rd->users, rd->nusers, uid))
		return 0;
	*r = new_row(rd->s);
	if (!*r)
		return -ENOMEM;
	(*r)->uid = uid;
	return 0;
}

void tm_counters_add(struct tm_counters *to, const struct tm_counters *c)
{
	to->in_bytes += c->in_bytes;
	to->in_packets += c->in_packets;
	to->out_bytes += c->out_bytes;
	to->out_packets += c->out_packets;
}

/* The users map is by user and address family: by family, keep it. */
static int add_user(const void *key, const void *value, void *ctx)
{
	const struct tm_user_key *k = key;
	struct reading *rd = ctx;
	struct tm_row *r;
	int err = start_row(rd, k->uid, &r);

	if (r) {
		r->c = *(const struct tm_counters *)value;
		if (rd->by == TM_BY_FAMILY)
			r->family = k->family;
	}
	return err;
}

/* Keeps only the fields the breakdown groups by. */
static int add_detail(const void *key, const void *value, void *ctx)
{
	const struct tm_detail_key *k = key;
	const struct tm_detail *v = value;
	struct reading *rd = ctx;
	struct tm_row *r;
	int err;

	/* A filter by cgroup or job: the row "other" is in neither. */
	if (rd->s->keep && (k->pid == TM_PID_OTHER || !rd->s->keep(k->cgroup_id, rd->s->keep_ctx)))
		return 0;
	err = start_row(rd, k->uid, &r);
	if (!r)
		return err;
	r->c = v->c;
	if (rd->s->by_family)
		r->family = k->family;
	/* Past the user's quota: one row "other" in every breakdown. */
	if (k->pid == TM_PID_OTHER) {
		r->other = TM_ROW_OTHER;
		return 0;
	}
	if (rd->s->by_path) {
		r->ifindex = k->ifindex;
		r->netns_cookie = k->netns_cookie;
		r->proto = k->proto;
	}
	switch (rd->by) {
	case TM_BY_PROC:
		r->pid = k->pid;
		memcpy(r->comm, v->comm, sizeof(r->comm));
		break;
	case TM_BY_IFACE:
		r->ifindex = k->ifindex;
		r->netns_cookie = k->netns_cookie;
		break;
	case TM_BY_PROTO:
		r->proto = k->proto;
		break;
	case TM_BY_CGROUP:
	case TM_BY_JOB:
		r->cgroup_id = k->cgroup_id;
		break;
	default:
		break;
	}
	return 0;
}

/* A user's entry in "retired" as their row "(retired)". */
static int add_retired(const void *key, const void *value, void *ctx)
{
	const struct tm_retired *v = value;
	uint32_t uid = *(const uint32_t *)key;
	struct reading *rd = ctx;
	struct tm_row *r;
	int err;

	/* (An entry of names only, its user's cgroups, is no row.) */
	if (uid == TM_UID_HOST || !v->rows)
		return 0;
	err = start_row(rd, uid, &r);
	if (r) {
		r->c = v->c;
		r->other = TM_ROW_RETIRED;
	}
	return err;
}

static int conn_row(struct reading *rd, const struct tm_conn_key *k, const struct tm_conn *v)
{
	struct tm_row *r;
	int err;

	/* A filter by cgroup or job: the cgroup of the socket that made the row. */
	if (rd->s->keep && !rd->s->keep(v->cgroup_id, rd->s->keep_ctx))
		return 0;
	err = start_row(rd, k->uid, &r);
	if (!r)
		return err;
	r->cgroup_id = v->cgroup_id;
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
	struct reading *rd = ctx;

	rd->s->conns_live++;
	return conn_row(rd, key, value);
}

/* A socket's packets not yet in the maps, as the maps would hold them. */
static int add_pending(const struct tm_pending *p, void *ctx)
{
	const struct tm_slot *sl = &p->slot;
	struct reading *rd = ctx;
	struct tm_row *r;
	int err;

	rd->s->pending++;
	if (sl->untracked) {
		tm_counters_add(&rd->s->g.untracked, &sl->c);
		return 0;
	}
	if (rd->by == TM_BY_USER || rd->by == TM_BY_FAMILY) {
		err = start_row(rd, sl->key.uid, &r);
		if (r) {
			r->c = sl->c;
			if (rd->by == TM_BY_FAMILY)
				r->family = sl->key.family;
		}
		return err;
	}
	if (rd->by == TM_BY_CONN) {
		struct tm_conn v = {
			.c = sl->c,
			.first_ns = sl->first_ns,
			.last_ns = sl->last_ns,
			.pid = p->owner.pid,
			.cgroup_id = p->owner.cgroup_id,
		};

		memcpy(v.comm, p->owner.comm, sizeof(v.comm));
		return conn_row(rd, &sl->key, &v);
	} else {
		struct tm_detail_key k = {
			.uid = sl->key.uid,
			.pid = p->owner.pid,
			.cgroup_id = p->owner.cgroup_id,
			.netns_cookie = p->owner.netns_cookie,
			.ifindex = sl->ifindex,
			.family = sl->key.family,
			.proto = sl->key.proto,
		};
		struct tm_detail v = { .c = sl->c };

		memcpy(v.comm, p->owner.comm, sizeof(v.comm));
		return add_detail(&k, &v, rd);
	}
}

/* Connections ever inserted, less those in the map now: the evicted ones. */
uint64_t tm_conns_evicted(const struct tm_global *g, uint64_t live)
{
	return g->conns_new > live ? g->conns_new - live : 0;
}

/* By user (as a number, so rows read in UID order), then the rest. */
static int cmp_key(const void *a, const void *b)
{
	const struct tm_row *x = a, *y = b;

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
	const struct tm_row *x = a, *y = b;
	int d = memcmp(x, y, offsetof(struct tm_row, pid));

	return d ? d : memcmp(x->laddr, y->laddr, offsetof(struct tm_row, first_ns) -
			      offsetof(struct tm_row, laddr));
}

int tm_row_cmp_key(const void *a, const void *b)
{
	return cmp_key(a, b);
}

/* Whether x is shown before y (tm_rows_order). */
static inline bool shown_before(const struct tm_ordered *x, const struct tm_ordered *y)
{
	if (x->last != y->last)
		return y->last;
	if (x->value != y->value)
		return x->value > y->value;
	if (x->then != y->then)
		return x->then > y->then;
	if (x->uid != y->uid)
		return x->uid < y->uid;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix;
	return memcmp(x->row, y->row, ROW_KEY_LEN) < 0;
}

/*
 * A merge sort with the comparison inlined: a screen of 65,536 connections
 * is a million comparisons, and qsort's call through a pointer for each was
 * a fifth of tm-stat --by conn. tmp holds half of v.
 */
static void order(struct tm_ordered *v, struct tm_ordered *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n <= 16) {
		for (i = 1; i < n; i++) {
			struct tm_ordered x = v[i];

			for (j = i; j && shown_before(&x, &v[j - 1]); j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	order(v, tmp, h);
	order(v + h, tmp, n - h);
	if (!shown_before(&v[h], &v[h - 1]))
		return;		/* in order already */
	memcpy(tmp, v, h * sizeof(*v));
	while (i < h && j < n)
		v[k++] = shown_before(&v[j], &tmp[i]) ? v[j++] : tmp[i++];
	while (i < h)
		v[k++] = tmp[i++];
}

int tm_rows_order(struct tm_ordered *v, size_t n)
{
	struct tm_ordered *tmp = malloc((n / 2 + 1) * sizeof(*tmp));
	const unsigned char *r0 = n ? (const void *)v[0].row : NULL;
	size_t i, d = ROW_KEY_LEN;

	if (!tmp)
		return -ENOMEM;
	/*
	 * Ties of value and user are common (a user's many small connections
	 * alike): their keys are compared from the first byte after the UID
	 * where any two rows differ, 8 bytes of it kept here in memcmp's order,
	 * so most ties need no read of the rows.
	 */
	for (i = 1; i < n; i++) {
		const unsigned char *r = (const void *)v[i].row;

		if (memcmp(r + 4, r0 + 4, d - 4))
			for (d = 4; r[d] == r0[d]; d++)
				;
	}
	if (d > ROW_KEY_LEN - 8)
		d = ROW_KEY_LEN - 8;
	for (i = 0; i < n; i++) {
		uint64_t p;

		memcpy(&p, (const char *)v[i].row + d, sizeof(p));
		v[i].prefix = be64toh(p);
		v[i].uid = v[i].row->uid;
		v[i].last = v[i].row->untracked;
	}
	order(v, tmp, n);
	free(tmp);
	return 0;
}

/* Sorted by key, rows with equal keys become one. */
static void merge(struct tm_rows *s)
{
	int (*cmp)(const void *, const void *) = s->by == TM_BY_CONN ? cmp_conn : cmp_key;
	size_t i, j = 0;

	if (s->sorted)
		return;
	s->sorted = true;
	if (s->n)
		qsort(s->v, s->n, sizeof(s->v[0]), cmp);
	for (i = 0; i < s->n; i++) {
		struct tm_row *r = &s->v[i], *w;

		if (j && !cmp(&s->v[j - 1], r)) {
			w = &s->v[j - 1];
			tm_counters_add(&w->c, &r->c);
			if (r->first_ns && (!w->first_ns || r->first_ns < w->first_ns))
				w->first_ns = r->first_ns;
			if (r->last_ns > w->last_ns)
				w->last_ns = r->last_ns;
			continue;
		}
		s->v[j++] = *r;
	}
	s->n = j;
}

/*
 * One reading of the breakdown BY, for the users named (none: all). With
 * TM_BY_USER, a user named shows with zeros if need be; by user or by
 * family, with no filter, the untracked networks are a row of their own.
 */
int tm_rows_read(const struct tm_pins *p, enum tm_by by, const uint32_t *users, int nusers,
		 struct tm_rows *s)
{
	struct reading rd = { p, by, users, nusers, s };
	__u32 zero = 0;
	int i, err;

	s->by = by;
	s->n = 0;
	s->conns_live = 0;
	s->pending = 0;
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->wall);
	if (by == TM_BY_USER || by == TM_BY_FAMILY)
		err = tm_map_for_each(p->fd[TM_MAP_USERS], sizeof(struct tm_user_key),
				      sizeof(struct tm_counters), add_user, &rd);
	else if (by == TM_BY_CONN)
		err = tm_map_for_each(p->fd[TM_MAP_CONNS], sizeof(struct tm_conn_key),
				      sizeof(struct tm_conn), add_conn, &rd);
	else
		err = tm_map_for_each(p->fd[TM_MAP_DETAILS], sizeof(struct tm_detail_key),
				      sizeof(struct tm_detail), add_detail, &rd);
	/* Their rows of cgroups that ended: so the breakdown still adds up. */
	if (!err && tm_by_details(by) && !s->keep)
		err = tm_map_for_each(p->fd[TM_MAP_RETIRED], sizeof(__u32), sizeof(struct tm_retired),
				      add_retired, &rd);
	if (!err)
		err = tm_percpu_lookup(p->fd[TM_MAP_GLOBAL], &zero, &s->g, sizeof(s->g));
	if (!err)
		err = tm_pending_for_each(p, add_pending, &rd);
	if (err == -ENOENT)
		tm_pins_gone(p->root);
	else if (err)
		tm_err("cannot read the counters in %s: %s", p->root, strerror(-err));
	if (err)
		return err;
	for (i = 0; by == TM_BY_USER && i < nusers; i++) {
		struct tm_row *r = new_row(s);

		if (!r)
			return -ENOMEM;
		r->uid = users[i];
	}
	if ((by == TM_BY_USER || by == TM_BY_FAMILY) && !nusers &&
	    (s->g.untracked.in_packets || s->g.untracked.out_packets)) {
		struct tm_row *r = new_row(s);

		if (!r)
			return -ENOMEM;
		r->uid = TM_UID_UNKNOWN;
		r->untracked = 1;
		r->c = s->g.untracked;
	}
	/* The map's connections are unique already: sorted for rates only. */
	s->sorted = false;
	if (by != TM_BY_CONN || s->pending)
		merge(s);
	return 0;
}

struct cg_path {
	const char *path;
	uint64_t id;
	uint64_t newest;	/* the path's newest id (ids only grow) */
};

static int cmp_cg_path(const void *a, const void *b)
{
	const struct cg_path *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Cgroup rows as they are named: each under its ancestor depth levels below
 * the metered cgroup it is under (depth < 0: not rolled up), rows that meet
 * there added up; then the rows of cgroups with one path as one row, under
 * the newest id (the one that may still be there). A path is made again
 * with a new id (a login's session scope, a container restarted, a job
 * directory reused); two rows or Prometheus series with equal labels could
 * not be told apart (node_exporter keeps one of them).
 */
void tm_rows_cgroups(struct tm_rows *s, struct tm_names *n, int depth)
{
	struct cg_path *v, *c;
	char buf[64];
	size_t i, k = 0;

	for (i = 0; i < s->n && depth >= 0; i++)
		s->v[i].cgroup_id = tm_names_cgroup_at_depth(n, s->v[i].cgroup_id, depth);
	s->sorted = false;
	merge(s);
	v = s->n ? malloc(s->n * sizeof(*v)) : NULL;
	if (!v)
		return;	/* none, or out of memory: rows by id, as read */
	/* The names keep the paths; a cgroup not known has one of its own. */
	for (i = 0; i < s->n; i++) {
		const char *path = tm_names_cgroup(n, s->v[i].cgroup_id, buf, sizeof(buf));

		if (path != buf && !s->v[i].other)
			v[k++] = (struct cg_path){ path, s->v[i].cgroup_id, 0 };
	}
	qsort(v, k, sizeof(*v), cmp_cg_path);
	for (i = k; i-- > 0;)
		v[i].newest = i + 1 < k && !strcmp(v[i].path, v[i + 1].path) ? v[i + 1].newest : v[i].id;
	for (i = 0; i < s->n; i++) {
		struct tm_row *r = &s->v[i];
		struct cg_path key = { tm_names_cgroup(n, r->cgroup_id, buf, sizeof(buf)),
				       r->cgroup_id, 0 };

		if (key.path != buf && !r->other &&
		    (c = bsearch(&key, v, k, sizeof(*v), cmp_cg_path)))
			r->cgroup_id = c->newest;
	}
	free(v);
	s->sorted = false;
	merge(s);
}

/*
 * Cgroup rows as jobs: each row under its job's own cgroup, the cgroups in
 * no job as one row of the user's (cgroup 0), then one row a path.
 */
void tm_rows_jobs(struct tm_rows *s, struct tm_names *n)
{
	struct tm_job j;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->v[i].other)
			s->v[i].cgroup_id = tm_names_job(n, s->v[i].cgroup_id, &j);
	tm_rows_cgroups(s, n, -1);
}

/*
 * One reading of a breakdown, its rows named: cgroups made since names was
 * last read get their names, cgroup rows are as tm_rows_cgroups makes them
 * (rolled up with depth >= 0), job rows as tm_rows_jobs does.
 */
int tm_rows_read_named(const struct tm_pins *p, enum tm_by by, const uint32_t *users,
		       int nusers, struct tm_names *names, int depth, struct tm_rows *s)
{
	int err;

	if (by == TM_BY_CGROUP || by == TM_BY_JOB || s->keep)
		tm_names_refresh(names);
	err = tm_rows_read(p, by, users, nusers, s);
	if (!err && by == TM_BY_CGROUP)
		tm_rows_cgroups(s, names, depth);
	if (!err && by == TM_BY_JOB)
		tm_rows_jobs(s, names);
	return err;
}

/* Rates over the interval since prev, a reading of the same breakdown. */
void tm_rows_rates(struct tm_rows *cur, struct tm_rows *prev)
{
	int (*cmp)(const void *, const void *) = cur->by == TM_BY_CONN ? cmp_conn : cmp_key;
	double dt = (cur->mono.tv_sec - prev->mono.tv_sec) +
		    (cur->mono.tv_nsec - prev->mono.tv_nsec) / 1e9;
	size_t i;

	merge(cur);
	merge(prev);
	for (i = 0; i < cur->n; i++) {
		struct tm_row *r = &cur->v[i];
		const struct tm_row *p = prev->n ? bsearch(r, prev->v, prev->n, sizeof(*r), cmp) : NULL;
		uint64_t in0 = p ? p->c.in_bytes : 0, out0 = p ? p->c.out_bytes : 0;

		r->in_rate = dt > 0 && r->c.in_bytes >= in0 ? (r->c.in_bytes - in0) / dt : 0;
		r->out_rate = dt > 0 && r->c.out_bytes >= out0 ? (r->c.out_bytes - out0) / dt : 0;
	}
}

/*
 * What each row of cur moved since prev (the same breakdown, read before),
 * into out: its counters less prev's, and only rows that moved. A row whose
 * counters went down is a new one under an old key (a connection pushed out
 * and made again): all of it is new.
 */
int tm_rows_since(struct tm_rows *cur, struct tm_rows *prev, struct tm_rows *out)
{
	int (*cmp)(const void *, const void *) = cur->by == TM_BY_CONN ? cmp_conn : cmp_key;
	size_t i, j = 0;

	merge(cur);
	merge(prev);
	out->n = 0;
	out->by = cur->by;
	out->sorted = true;
	out->wall = cur->wall;
	out->mono = cur->mono;
	for (i = 0; i < cur->n; i++) {
		struct tm_row r = cur->v[i];
		const struct tm_row *p = prev->n ? bsearch(&r, prev->v, prev->n, sizeof(r), cmp) : NULL;

		if (p && r.c.in_bytes >= p->c.in_bytes && r.c.out_bytes >= p->c.out_bytes &&
		    r.c.in_packets >= p->c.in_packets && r.c.out_packets >= p->c.out_packets) {
			r.c.in_bytes -= p->c.in_bytes;
			r.c.out_bytes -= p->c.out_bytes;
			r.c.in_packets -= p->c.in_packets;
			r.c.out_packets -= p->c.out_packets;
		}
		if (!r.c.in_packets && !r.c.out_packets)
			continue;
		if (tm_grow(&out->v, &out->cap, j, sizeof(*out->v)))
			return -ENOMEM;
		out->v[j++] = r;
		out->n = j;
	}
	return 0;
}

void tm_rows_free(struct tm_rows *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
