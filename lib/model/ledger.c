// SPDX-License-Identifier: GPL-2.0
/*
 * The job ledger: one row a job, in the history database beside what
 * tm-record stores. A scheduler's prolog opens a job's row with what it
 * knows of the job (tm-job start); its epilog closes it with the job's
 * totals and their parts by address family and interface, all in one
 * transaction (tm-job end). Both may be run again, or after a kill, and
 * change nothing the first did: a job is opened once, closed once.
 *
 * A job is (node, kind, id, start): a job id used again later is another
 * job. Its start is 0 when no prolog opened it. The tables are history.c's
 * schema's.
 *
 * While a job is open its cgroups' rows are held from retirement
 * (tm_ledger_held), so the epilog finds every one of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "model.h"

static int db_err(sqlite3 *db, const char *path, const char *what)
{
	tm_err("%s: %s: %s", path, what, sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_key(sqlite3_stmt *st, const struct tm_ledger_job *j)
{
	sqlite3_bind_text(st, 1, j->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->id, -1, SQLITE_STATIC);
}

static void column_text(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, len, "%s", s ? (const char *)s : "");
}

/*
 * The job's newest row into j (start, end, what it knows); 1 found, 0 none,
 * -EIO. What j already has of user, uid, account and partition stays.
 */
static int newest(sqlite3 *db, struct tm_ledger_job *j)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, "SELECT start, end, user, uid, account, partition, in_bytes, "
			       "out_bytes, in_packets, out_packets FROM jobs WHERE node = ? AND "
			       "kind = ? AND id = ? ORDER BY start DESC LIMIT 1", -1, &st, NULL))
		return -EIO;
	bind_key(st, j);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		found = 1;
		j->start = sqlite3_column_int64(st, 0);
		j->end = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
		if (!j->user[0])
			column_text(st, 2, j->user, sizeof(j->user));
		if (j->uid < 0 && sqlite3_column_type(st, 3) != SQLITE_NULL)
			j->uid = sqlite3_column_int64(st, 3);
		if (!j->account[0])
			column_text(st, 4, j->account, sizeof(j->account));
		if (!j->partition[0])
			column_text(st, 5, j->partition, sizeof(j->partition));
		if (j->end)
			tm_history_counters(st, 6, &j->c);
	} else if (rc != SQLITE_DONE) {
		found = -EIO;
	}
	sqlite3_finalize(st);
	return found;
}

/* The job's row as j has it, made or replaced. */
static int put_job(sqlite3 *db, const struct tm_ledger_job *j)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO jobs VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, "
			       "?, ?, ?, ?)", -1, &st, NULL))
		return -EIO;
	bind_key(st, j);
	sqlite3_bind_int64(st, 4, j->start);
	if (j->end)
		sqlite3_bind_int64(st, 5, j->end);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, j->user);
	if (j->uid >= 0)
		sqlite3_bind_int64(st, 7, j->uid);
	else
		sqlite3_bind_null(st, 7);
	bind_text(st, 8, j->account);
	bind_text(st, 9, j->partition);
	sqlite3_bind_int64(st, 10, (int64_t)j->c.in_bytes);
	sqlite3_bind_int64(st, 11, (int64_t)j->c.out_bytes);
	sqlite3_bind_int64(st, 12, (int64_t)j->c.in_packets);
	sqlite3_bind_int64(st, 13, (int64_t)j->c.out_packets);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int put_parts(sqlite3 *db, const struct tm_ledger_job *j, const struct tm_ledger_part *parts,
		     size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int err = 0;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO job_parts VALUES(?, ?, ?, ?, ?, ?, ?, ?, "
			       "?, ?)", -1, &st, NULL))
		return -EIO;
	for (i = 0; i < n && !err; i++) {
		bind_key(st, j);
		sqlite3_bind_int64(st, 4, j->start);
		sqlite3_bind_text(st, 5, parts[i].family, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, parts[i].iface, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, (int64_t)parts[i].c.in_bytes);
		sqlite3_bind_int64(st, 8, (int64_t)parts[i].c.out_bytes);
		sqlite3_bind_int64(st, 9, (int64_t)parts[i].c.in_packets);
		sqlite3_bind_int64(st, 10, (int64_t)parts[i].c.out_packets);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return err;
}

/* A writer's transaction, and the job's newest row read in it: 1, 0 or -EIO (said). */
static int begin(sqlite3 *db, const char *path, struct tm_ledger_job *j)
{
	int found;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, path, "cannot start a transaction");
	found = newest(db, j);
	return found < 0 ? db_err(db, path, "cannot read the job ledger") : found;
}

static int commit(sqlite3 *db, const char *path)
{
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, path, "cannot commit");
	return 0;
}

/*
 * Opens the job's row, started at now, unless it is open already (then j
 * gets its start and *fresh is false). 0 or -EIO (said).
 */
int tm_ledger_start(sqlite3 *db, const char *path, struct tm_ledger_job *j, int64_t now,
		    bool *fresh)
{
	int found;

	*fresh = false;
	found = begin(db, path, j);
	if (found < 0)
		return found;
	if (!found || j->end) {
		j->start = now;
		j->end = 0;
		memset(&j->c, 0, sizeof(j->c));
		*fresh = true;
		if (put_job(db, j))
			return db_err(db, path, "cannot write the job ledger");
	}
	return commit(db, path);
}

/*
 * Closes the job's row at now with its totals (j->c) and parts; a job no
 * prolog opened gets a row of its own (start 0). A row closed already is
 * left as it is, and j gets what it says (*closed true): the rows it was
 * made from may be retired since. 0 or -EIO (said).
 */
int tm_ledger_end(sqlite3 *db, const char *path, struct tm_ledger_job *j,
		  const struct tm_ledger_part *parts, size_t n, int64_t now, bool *closed)
{
	struct tm_counters c = j->c;
	int found;

	*closed = false;
	found = begin(db, path, j);
	if (found < 0)
		return found;
	if (found && j->end) {
		*closed = true;
	} else {
		if (!found)
			j->start = 0;
		j->end = now;
		j->c = c;
		if (put_job(db, j) || put_parts(db, j, parts, n))
			return db_err(db, path, "cannot write the job ledger");
	}
	return commit(db, path);
}

/*
 * The jobs open in the ledger (the database is the node's own), started
 * since `since`: their rows are held from retirement.
 */
int tm_ledger_held(sqlite3 *db, const char *path, int64_t since, struct tm_ledger_open *out)
{
	sqlite3_stmt *st;
	int rc;

	out->n = 0;
	if (sqlite3_prepare_v2(db, "SELECT kind, id FROM jobs WHERE end IS NULL AND start >= ?",
			       -1, &st, NULL))
		return db_err(db, path, "cannot read the job ledger");
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tm_ledger_key *k;

		if (tm_grow(&out->v, &out->cap, out->n, sizeof(out->v[0]))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		k = &out->v[out->n++];
		column_text(st, 0, k->kind, sizeof(k->kind));
		column_text(st, 1, k->id, sizeof(k->id));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(db, path, "cannot read the job ledger");
}

void tm_ledger_open_free(struct tm_ledger_open *o)
{
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static int read_parts(sqlite3 *db, const char *path, struct tm_ledger_entry *e)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT family, iface, in_bytes, out_bytes, in_packets, "
			       "out_packets FROM job_parts WHERE node = ? AND kind = ? AND id = ? "
			       "AND start = ? ORDER BY in_bytes + out_bytes DESC, family, iface",
			       -1, &st, NULL))
		return db_err(db, path, "cannot read the job ledger");
	bind_key(st, &e->j);
	sqlite3_bind_int64(st, 4, e->j.start);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tm_ledger_part *p;

		if (tm_grow(&e->parts, &cap, e->nparts, sizeof(*e->parts))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		p = &e->parts[e->nparts++];
		column_text(st, 0, p->family, sizeof(p->family));
		column_text(st, 1, p->iface, sizeof(p->iface));
		tm_history_counters(st, 2, &p->c);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(db, path, "cannot read the job ledger");
}

/*
 * The jobs that ran in the query's range (started before its end, ended
 * after its start or not yet), of its users, job and account, most bytes
 * first, with their parts. A database with no ledger has no jobs.
 */
int tm_ledger_read(sqlite3 *db, const struct tm_ledger_query *q, struct tm_ledger_jobs *out)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT node, kind, id, start, end, user, uid, account, "
				"partition, in_bytes, out_bytes, in_packets, out_packets FROM jobs "
				"WHERE start < ?1 AND (end IS NULL OR end >= ?2) AND (?3 IS NULL OR "
				"id = ?3) AND (?4 IS NULL OR account = ?4) ORDER BY "
				"in_bytes + out_bytes DESC, end, node, kind, id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return strstr(sqlite3_errmsg(db), "no such table") ? 0 :
		       db_err(db, q->path, "cannot read the job ledger");
	sqlite3_bind_int64(st, 1, q->until);
	sqlite3_bind_int64(st, 2, q->since);
	bind_text(st, 3, q->job);
	bind_text(st, 4, q->account);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (!q->top || out->n < q->top)) {
		struct tm_ledger_job j = { .uid = -1 };
		struct tm_ledger_entry *e;

		column_text(st, 0, j.node, sizeof(j.node));
		column_text(st, 1, j.kind, sizeof(j.kind));
		column_text(st, 2, j.id, sizeof(j.id));
		j.start = sqlite3_column_int64(st, 3);
		j.end = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 4);
		column_text(st, 5, j.user, sizeof(j.user));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			j.uid = sqlite3_column_int64(st, 6);
		column_text(st, 7, j.account, sizeof(j.account));
		column_text(st, 8, j.partition, sizeof(j.partition));
		tm_history_counters(st, 9, &j.c);
		/* A job of no known user is root's to see. */
		if (q->nusers && (j.uid < 0 || !tm_users_match(q->users, q->nusers, (uint32_t)j.uid)))
			continue;
		if (tm_grow(&out->v, &out->cap, out->n, sizeof(*out->v))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		e = &out->v[out->n++];
		memset(e, 0, sizeof(*e));
		e->j = j;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(db, q->path, "cannot read the job ledger");
	for (i = 0; i < out->n && !q->no_parts; i++) {
		rc = read_parts(db, q->path, &out->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void tm_ledger_jobs_free(struct tm_ledger_jobs *jobs)
{
	size_t i;

	for (i = 0; i < jobs->n; i++)
		free(jobs->v[i].parts);
	free(jobs->v);
	memset(jobs, 0, sizeof(*jobs));
}
