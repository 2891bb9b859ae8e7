// SPDX-License-Identifier: GPL-2.0
/*
 * What a report says, read from the history (tm-report): each user's
 * totals in a range of one tier, their periods, their top remote networks,
 * processes and cgroups, and the 95th percentile of their five-minute
 * rates. The SQL of the history lives here and in history.c only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "model.h"

const struct tm_top_kind tm_top_kinds[TM_TOP_MAX] = {
	[TM_TOP_NET] = { "net", "networks", "remote networks" },
	[TM_TOP_PROC] = { "proc", "processes", "processes" },
	[TM_TOP_CGROUP] = { "cgroup", "cgroups", "cgroups" },
};

static int db_fail(struct tm_report *r, const char *what)
{
	tm_err("%s: %s: %s", r->q->path, what, sqlite3_errmsg(r->db));
	return -EIO;
}

static void bind_range(sqlite3_stmt *st, const struct tm_query *o, int first)
{
	sqlite3_bind_int64(st, first, o->since);
	sqlite3_bind_int64(st, first + 1, o->until);
}

#define SUMS "sum(in_bytes), sum(out_bytes), sum(in_packets), sum(out_packets)"

/* A query of the report's tier (?1) and range (?2, ?3); NULL: said. */
static sqlite3_stmt *prepare(struct tm_report *r, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL)) {
		db_fail(r, "cannot read");
		return NULL;
	}
	sqlite3_bind_text(st, 1, tm_tier_names[r->q->by], -1, SQLITE_STATIC);
	bind_range(st, r->q, 2);
	return st;
}

static int read_users(struct tm_report *r)
{
	static const char sql[] =
		"SELECT uid, " SUMS " FROM traffic WHERE tier = ?1 AND kind = 'user'"
		" AND start >= ?2 AND start < ?3 GROUP BY uid"
		" ORDER BY sum(in_bytes) + sum(out_bytes) DESC, uid";
	sqlite3_stmt *st;
	int rc;

	if (!(st = prepare(r, sql)))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t uid = sqlite3_column_int64(st, 0);
		struct tm_report_user *u;

		if (!tm_users_match(r->q->users, r->q->nusers, uid < 0 ? TM_UID_UNKNOWN : (uint32_t)uid))
			continue;
		if (tm_grow(&r->users, &r->cap, r->n, sizeof(*r->users))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		u = &r->users[r->n++];
		memset(u, 0, sizeof(*u));
		u->uid = uid;
		tm_history_counters(st, 1, &u->c);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(r, "cannot read");
}

static int read_periods(struct tm_report *r, struct tm_report_user *u)
{
	static const char sql[] =
		"SELECT start, " SUMS " FROM traffic WHERE tier = ?1 AND kind = 'user' AND uid = ?4"
		" AND start >= ?2 AND start < ?3 GROUP BY start ORDER BY start";
	sqlite3_stmt *st;
	int rc;

	if (!(st = prepare(r, sql)))
		return -EIO;
	sqlite3_bind_int64(st, 4, u->uid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tm_grow(&u->periods, &u->pcap, u->nperiods, sizeof(*u->periods))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		u->periods[u->nperiods].start = sqlite3_column_int64(st, 0);
		tm_history_counters(st, 1, &u->periods[u->nperiods++].c);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(r, "cannot read");
}

static int read_top(struct tm_report *r, struct tm_report_user *u, size_t k)
{
	static const char sql[] =
		"SELECT key, " SUMS " FROM traffic WHERE tier = ?1 AND kind = ?5 AND uid = ?4"
		" AND start >= ?2 AND start < ?3 GROUP BY key"
		" ORDER BY sum(in_bytes) + sum(out_bytes) DESC, key LIMIT ?6";
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (!r->q->top)
		return 0;
	if (!(st = prepare(r, sql)))
		return -EIO;
	sqlite3_bind_int64(st, 4, u->uid);
	sqlite3_bind_text(st, 5, tm_top_kinds[k].kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)(r->q->top > INT32_MAX ? INT32_MAX : r->q->top));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tm_top *t;

		if (tm_grow(&u->tops[k], &cap, u->ntops[k], sizeof(*u->tops[k]))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		t = &u->tops[k][u->ntops[k]++];
		t->key = strdup((const char *)sqlite3_column_text(st, 0));
		tm_history_counters(st, 1, &t->c);
		if (!t->key) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(r, "cannot read");
}

/*
 * The 95th percentile of the user's five-minute rates in and out: over
 * every five-minute interval from the first to the last the database has in
 * the range (for any user), an interval without this user's traffic being 0.
 * The value at rank ceil(0.95 N), as burstable billing takes it. Only the
 * intervals with traffic are read and sorted: the N - K empty ones are the
 * lowest K places, so however far apart the first and last rows are (a
 * database anyone could have written), it costs what its rows cost.
 */
static int read_p95(struct tm_report *r, struct tm_report_user *u)
{
	static const char span[] =
		"SELECT min(start), max(start) FROM traffic WHERE tier = '5min'"
		" AND start >= ?1 AND start < ?2";
	static const char rows[] =
		"SELECT start, sum(in_bytes), sum(out_bytes) FROM traffic WHERE tier = '5min'"
		" AND kind = 'user' AND uid = ?3 AND start >= ?1 AND start < ?2 GROUP BY start";
	sqlite3_stmt *st;
	int64_t first, last;
	uint64_t *in = NULL, *out = NULL, n, rank, zeros;
	size_t k = 0, cap = 0;
	int rc, err = 0;

	if (sqlite3_prepare_v2(r->db, span, -1, &st, NULL))
		return db_fail(r, "cannot read");
	bind_range(st, r->q, 1);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL) {
		sqlite3_finalize(st);
		return rc == SQLITE_ROW ? 0 : db_fail(r, "cannot read");
	}
	first = sqlite3_column_int64(st, 0);
	last = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (last < first)
		return 0;
	n = ((uint64_t)last - (uint64_t)first) / 300 + 1;	/* no overflow */
	if (sqlite3_prepare_v2(r->db, rows, -1, &st, NULL))
		return db_fail(r, "cannot read");
	bind_range(st, r->q, 1);
	sqlite3_bind_int64(st, 3, u->uid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == cap) {
			size_t c = cap ? 2 * cap : 256;
			uint64_t *a = realloc(in, c * sizeof(*in)), *b;

			if (a)
				in = a;
			b = a ? realloc(out, c * sizeof(*out)) : NULL;
			if (!b) {
				err = -ENOMEM;
				break;
			}
			out = b;
			cap = c;
		}
		in[k] = sqlite3_column_int64(st, 1);
		out[k++] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (!err && rc != SQLITE_DONE)
		err = db_fail(r, "cannot read");
	if (err)
		goto done;
	if (n < k)
		n = k;	/* rows between the five-minute marks: each its own */
	if (k) {
		qsort(in, k, sizeof(*in), tm_cmp_u64);
		qsort(out, k, sizeof(*out), tm_cmp_u64);
	}
	rank = n - n / 20;	/* ceil(0.95 n), at least 1 */
	zeros = n - k;
	u->p95_in = rank <= zeros ? 0 : in[rank - zeros - 1] / 300.0;
	u->p95_out = rank <= zeros ? 0 : out[rank - zeros - 1] / 300.0;
	u->has_p95 = true;
done:
	free(in);
	free(out);
	return err;
}

int tm_report_read(struct tm_report *r)
{
	size_t i, k;
	int err = read_users(r);

	for (i = 0; i < r->n && !err; i++) {
		err = read_periods(r, &r->users[i]);
		for (k = 0; k < TM_TOP_MAX && !err; k++)
			err = read_top(r, &r->users[i], k);
		if (!err)
			err = read_p95(r, &r->users[i]);
	}
	return err;
}

void tm_report_free(struct tm_report *r)
{
	size_t i, k, j;

	for (i = 0; i < r->n; i++) {
		free(r->users[i].periods);
		for (k = 0; k < TM_TOP_MAX; k++) {
			for (j = 0; j < r->users[i].ntops[k]; j++)
				free(r->users[i].tops[k][j].key);
			free(r->users[i].tops[k]);
		}
	}
	free(r->users);
	r->users = NULL;
	r->n = r->cap = 0;
}
