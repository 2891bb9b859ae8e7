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
 *
 * A job no prolog opened (a container, a unit, a Slurm job on a node with
 * no prolog) has its row kept by tm-record (tm_ledger_keep): opened when it
 * first sees the job's traffic, its cgroups' rows added as they are
 * retired, closed once the job's own cgroup has ended. Such a row names
 * the job's own cgroup (column cgroup), so a path made again (a service
 * restarted) is another row; job_cgroups names each cgroup whose rows were
 * added, so a retirement cut short and done again adds nothing twice.
 *
 * A Slurm job whose cgroup is named by its SLUID (Slurm 26.05) is found by
 * either name: tm-record's row of it has the SLUID for its id until the
 * prolog or epilog, which have both, gives it the job's number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "model.h"

/* An error said (tm_history_err), and the transaction rolled back. */
static int db_err(sqlite3 *db, const char *path, const char *what)
{
	int err = tm_history_err(db, path, what);

	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
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

/* What a job's row is named by: its id, and its SLUID if it has one. */
struct names {
	char id[256], sluid[TM_SLUID_LEN + 1];
};

/*
 * The job's newest row into j (start, end, what it knows), found by j's id
 * or SLUID (either may name the row); its own names into *was. 1 found, 0
 * none, -EIO. What j already has of user, uid, account, partition and
 * SLUID stays. Of whatever node name: the database is the node's own, and
 * Slurm's name of it (a prolog's) need not be its host name (tm-record's).
 */
static int newest(sqlite3 *db, struct tm_ledger_job *j, struct names *was)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, "SELECT start, end, user, uid, account, partition, in_bytes, "
			       "out_bytes, in_packets, out_packets, cgroup, node, id, sluid FROM "
			       "jobs WHERE kind = ?2 AND (id = ?3 OR sluid = ?3 OR id = ?4 OR "
			       "sluid = ?4) ORDER BY start DESC LIMIT 1", -1, &st, NULL))
		return -EIO;
	bind_key(st, j);
	bind_text(st, 4, j->sluid);
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
		tm_history_counters(st, 6, &j->c);
		j->cgroup = sqlite3_column_int64(st, 10);
		column_text(st, 11, j->node, sizeof(j->node));
		column_text(st, 12, was->id, sizeof(was->id));
		column_text(st, 13, was->sluid, sizeof(was->sluid));
		if (!j->sluid[0])
			memcpy(j->sluid, was->sluid, sizeof(j->sluid));
	} else if (rc != SQLITE_DONE) {
		found = -EIO;
	}
	sqlite3_finalize(st);
	return found;
}

/* Whether the job has a row started at j->start: 1, 0, -EIO. */
static int newest_at(sqlite3 *db, const struct tm_ledger_job *j)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM jobs WHERE node = ? AND kind = ? AND id = ? AND "
			       "start = ?", -1, &st, NULL))
		return -EIO;
	bind_key(st, j);
	sqlite3_bind_int64(st, 4, j->start);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

/* The job's row as j has it, made or replaced. */
static int put_job(sqlite3 *db, const struct tm_ledger_job *j)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO jobs(node, kind, id, start, end, user, "
			       "uid, account, partition, in_bytes, out_bytes, in_packets, "
			       "out_packets, cgroup, sluid) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			       "?, ?, ?)", -1, &st, NULL))
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
	tm_history_bind_counters(st, 10, &j->c);
	if (j->cgroup)
		sqlite3_bind_int64(st, 14, (int64_t)j->cgroup);
	else
		sqlite3_bind_null(st, 14);
	bind_text(st, 15, j->sluid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* An insert whose row, if there, has the counters added to it instead. */
#define ADD_COUNTERS " ON CONFLICT DO UPDATE SET in_bytes = in_bytes + excluded.in_bytes, " \
	"out_bytes = out_bytes + excluded.out_bytes, in_packets = in_packets + " \
	"excluded.in_packets, out_packets = out_packets + excluded.out_packets"

/* A row of one of a job's tables: one or two text columns, then counters. */
struct added {
	const char *a, *b;	/* b NULL: one text column */
	const struct tm_counters *c;
};

/* Rows of one of the job's tables (sql: ADD_COUNTERS's insert), added to what is there. */
static int put_added(sqlite3 *db, const struct tm_ledger_job *j, const char *sql,
		     const struct added *v, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int err = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
		return -EIO;
	for (i = 0; i < n && !err; i++) {
		bind_key(st, j);
		sqlite3_bind_int64(st, 4, j->start);
		sqlite3_bind_text(st, 5, v[i].a, -1, SQLITE_STATIC);
		if (v[i].b)
			sqlite3_bind_text(st, 6, v[i].b, -1, SQLITE_STATIC);
		tm_history_bind_counters(st, v[i].b ? 7 : 6, v[i].c);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return err;
}

/* The parts added to what the job's row has of each already. */
static int put_parts(sqlite3 *db, const struct tm_ledger_job *j, const struct tm_ledger_part *parts,
		     size_t n)
{
	struct added *v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t i;
	int err;

	if (n && !v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = (struct added){ parts[i].family, parts[i].iface, &parts[i].c };
	err = put_added(db, j, "INSERT INTO job_parts VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			ADD_COUNTERS, v, n);
	free(v);
	return err;
}

/*
 * The networks added to what the job's row has of each, and the row's
 * networks cut to the top TM_LEDGER_NETS by bytes.
 */
static int put_nets(sqlite3 *db, const struct tm_ledger_job *j, const struct tm_ledger_net *nets,
		    size_t n)
{
	struct added *v;
	sqlite3_stmt *st;
	size_t i;
	int err;

	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = (struct added){ nets[i].net, NULL, &nets[i].c };
	err = put_added(db, j, "INSERT INTO job_nets VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"
			ADD_COUNTERS, v, n);
	free(v);
	if (err || sqlite3_prepare_v2(db, "DELETE FROM job_nets WHERE node = ?1 AND kind = ?2 AND "
				      "id = ?3 AND start = ?4 AND net NOT IN (SELECT net FROM "
				      "job_nets WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
				      "start = ?4 ORDER BY in_bytes + out_bytes DESC, net LIMIT ?5)",
				      -1, &st, NULL))
		return err ? err : -EIO;
	bind_key(st, j);
	sqlite3_bind_int64(st, 4, j->start);
	sqlite3_bind_int(st, 5, TM_LEDGER_NETS);
	err = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return err;
}

/*
 * The row j->start of the job named was, in every table, named as j names
 * it (tm-record's row of a job its SLUID named, given the job's number).
 */
struct renamed {
	const struct tm_ledger_job *j;
	const struct names *was;
};

static void bind_renamed(sqlite3_stmt *st, size_t i, const void *ctx)
{
	const struct renamed *r = ctx;

	sqlite3_bind_text(st, 1, r->j->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->j->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->was->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->j->start);
	sqlite3_bind_text(st, 5, r->j->id, -1, SQLITE_STATIC);
	if (!i)
		bind_text(st, 6, r->j->sluid);
}

static int rename_row(sqlite3 *db, const struct tm_ledger_job *j, const struct names *was)
{
	static const char *const sql[] = {
		"UPDATE jobs SET id = ?5, sluid = ?6 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
		"UPDATE job_parts SET id = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
		"UPDATE job_cgroups SET id = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
		"UPDATE job_nets SET id = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
	};
	struct renamed r = { j, was };

	if (!strcmp(was->id, j->id) && !strcmp(was->sluid, j->sluid))
		return 0;
	return tm_history_each(db, sql, sizeof(sql) / sizeof(sql[0]), bind_renamed, &r);
}

/*
 * A writer's transaction, and the job's newest row read in it: 1, 0 or
 * -EIO (said). An open row named otherwise than j names the job is
 * renamed: j's names are the prolog's or epilog's, which have both.
 */
static int begin(sqlite3 *db, const char *path, struct tm_ledger_job *j)
{
	struct names was = {};
	int found;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, path, "cannot start a transaction");
	found = newest(db, j, &was);
	if (found > 0 && !j->end && rename_row(db, j, &was))
		return db_err(db, path, "cannot write the job ledger");
	return found < 0 ? db_err(db, path, "cannot read the job ledger") : found;
}

static int commit(sqlite3 *db, const char *path)
{
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, path, "cannot commit");
	return 0;
}

/*
 * tm-record's open row of a job (its traffic came before its prolog ran)
 * made the prolog's: what the prolog knows written in, under its node
 * name, and held from then on for the epilog, what it holds kept.
 */
struct adopted {
	const struct tm_ledger_job *j;
	const char *node;
};

static void bind_adopted(sqlite3_stmt *st, size_t i, const void *ctx)
{
	const struct adopted *a = ctx;
	const struct tm_ledger_job *j = a->j;

	bind_key(st, j);
	sqlite3_bind_int64(st, 4, j->start);
	sqlite3_bind_text(st, 5, a->node, -1, SQLITE_STATIC);
	if (!i) {
		bind_text(st, 6, j->user);
		if (j->uid >= 0)
			sqlite3_bind_int64(st, 7, j->uid);
		bind_text(st, 8, j->account);
		bind_text(st, 9, j->partition);
	}
}

static int adopt(sqlite3 *db, struct tm_ledger_job *j, const char *node)
{
	static const char *const sql[] = {
		"UPDATE jobs SET node = ?5, user = ?6, uid = ?7, account = ?8, partition = ?9, "
		"cgroup = NULL WHERE node = ?1 AND kind = ?2 AND id = ?3 AND start = ?4",
		"UPDATE job_parts SET node = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
		"UPDATE job_cgroups SET node = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
		"UPDATE job_nets SET node = ?5 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
		"start = ?4",
	};
	struct adopted ad = { j, node };

	if (tm_history_each(db, sql, sizeof(sql) / sizeof(sql[0]), bind_adopted, &ad))
		return -EIO;
	snprintf(j->node, sizeof(j->node), "%s", node);
	j->cgroup = 0;
	return 0;
}

/*
 * Opens the job's row, started at now, unless it is open already (then j
 * gets its start and *fresh is false; a row tm-record opened is made the
 * prolog's). 0 or -EIO (said).
 */
int tm_ledger_start(sqlite3 *db, const char *path, struct tm_ledger_job *j, int64_t now,
		    bool *fresh)
{
	char node[sizeof(j->node)];
	int found;

	*fresh = false;
	memcpy(node, j->node, sizeof(node));
	found = begin(db, path, j);
	if (found < 0)
		return found;
	if (!found || j->end) {
		memcpy(j->node, node, sizeof(node));
		j->start = now;
		j->end = 0;
		j->cgroup = 0;
		memset(&j->c, 0, sizeof(j->c));
		*fresh = true;
		if (put_job(db, j))
			return db_err(db, path, "cannot write the job ledger");
	} else if (j->cgroup && adopt(db, j, node)) {
		return db_err(db, path, "cannot write the job ledger");
	}
	return commit(db, path);
}

/*
 * An epilog's first half: the job's row read in a writer's transaction,
 * left open for tm_ledger_end_commit (or tm_ledger_abort). A row closed
 * already is left as it is and j gets what it says (*closed true): the
 * rows it was made from may be retired since. Else j gets what the row
 * holds so far (tm-record's, of the job's cgroups that ended: their ids in
 * *recorded, whose rows the epilog must not count again); a job no prolog
 * opened and tm-record has no row of starts at 0. 0 or -EIO (said).
 */
int tm_ledger_end_begin(sqlite3 *db, const char *path, struct tm_ledger_job *j, bool *closed,
			uint64_t **recorded, size_t *nrecorded)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int found, rc;

	*closed = false;
	*recorded = NULL;
	*nrecorded = 0;
	found = begin(db, path, j);
	if (found < 0)
		return found;
	if (found && j->end) {
		*closed = true;
		return 0;
	}
	if (!found) {
		j->start = 0;
		j->cgroup = 0;
		memset(&j->c, 0, sizeof(j->c));
		return 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT cgroup FROM job_cgroups WHERE node = ? AND kind = ? AND "
			       "id = ? AND start = ?", -1, &st, NULL))
		return db_err(db, path, "cannot read the job ledger");
	bind_key(st, j);
	sqlite3_bind_int64(st, 4, j->start);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tm_grow(recorded, &cap, *nrecorded, sizeof(**recorded))) {
			sqlite3_finalize(st);
			tm_ledger_abort(db);
			return -ENOMEM;
		}
		(*recorded)[(*nrecorded)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(db, path, "cannot read the job ledger");
}

static int read_parts(sqlite3 *db, const char *path, struct tm_ledger_entry *e);
static int read_nets(sqlite3 *db, const char *path, struct tm_ledger_entry *e);

/*
 * The epilog's second half: the row e->j closed at now with c, e's parts
 * and networks (what the job's cgroups' rows hold now) added to what it
 * had; then e holds the row as written, its totals, parts and networks.
 * Nothing is written when tm_ledger_end_begin found it closed.
 */
int tm_ledger_end_commit(sqlite3 *db, const char *path, struct tm_ledger_entry *e, bool closed,
			 const struct tm_counters *c, int64_t now)
{
	struct tm_ledger_job *j = &e->j;
	int err;

	if (!closed) {
		j->end = now;
		tm_counters_add(&j->c, c);
		if (put_job(db, j) || put_parts(db, j, e->parts, e->nparts) ||
		    put_nets(db, j, e->nets, e->nnets))
			return db_err(db, path, "cannot write the job ledger");
	}
	free(e->parts);
	free(e->nets);
	e->parts = NULL;
	e->nets = NULL;
	e->nparts = e->nnets = 0;
	err = read_parts(db, path, e);
	if (!err)
		err = read_nets(db, path, e);
	if (err) {
		tm_ledger_abort(db);
		return err;
	}
	return commit(db, path);
}

void tm_ledger_abort(sqlite3 *db)
{
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- the rows tm-record keeps of jobs no prolog opened ---- */

/*
 * The row what tm-record saw of a job goes to, into t: 1 one to add to
 * (a prolog's open row, of whatever node name the prolog gave, as the
 * database is the node's own; tm-record's own of this cgroup since boot,
 * open),
 * 0 none (to be made), 2 none to add to (a prolog's row closed within
 * TM_LEDGER_HOLD: its epilog took the job's totals; tm-record's own,
 * closed), -EIO.
 */
static int target(sqlite3 *db, struct tm_ledger_job *t, uint64_t cgroup, int64_t now,
		  int64_t boot)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (sqlite3_prepare_v2(db, "SELECT start, end, cgroup, node, id FROM jobs WHERE kind = ?2 "
			       "AND (id = ?3 OR sluid = ?3) AND ((cgroup IS NULL AND (end IS NULL "
			       "OR end >= ?4)) OR (node = ?1 AND cgroup = ?5 AND start >= ?6)) "
			       "ORDER BY cgroup IS NULL DESC, start DESC LIMIT 1", -1, &st, NULL))
		return -EIO;
	bind_key(st, t);
	sqlite3_bind_int64(st, 4, now - TM_LEDGER_HOLD);
	sqlite3_bind_int64(st, 5, (int64_t)cgroup);
	sqlite3_bind_int64(st, 6, boot);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->start = sqlite3_column_int64(st, 0);
		found = sqlite3_column_type(st, 1) == SQLITE_NULL ? 1 : 2;
		t->cgroup = sqlite3_column_int64(st, 2);
		column_text(st, 3, t->node, sizeof(t->node));
		column_text(st, 4, t->id, sizeof(t->id));
	} else if (rc != SQLITE_DONE) {
		found = -EIO;
	}
	sqlite3_finalize(st);
	return found;
}

/* What one ended cgroup's rows held, added to row t unless added before. */
static int add_take(sqlite3 *db, const struct tm_ledger_job *t, const struct tm_ledger_take *k)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO job_cgroups VALUES(?, ?, ?, ?, ?)", -1,
			       &st, NULL))
		return -EIO;
	bind_key(st, t);
	sqlite3_bind_int64(st, 4, t->start);
	sqlite3_bind_int64(st, 5, (int64_t)k->cgroup);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (!sqlite3_changes(db))
		return 0;
	if (sqlite3_prepare_v2(db, "UPDATE jobs SET in_bytes = in_bytes + ?4, out_bytes = "
			       "out_bytes + ?5, in_packets = in_packets + ?6, out_packets = "
			       "out_packets + ?7 WHERE node = ?1 AND kind = ?2 AND id = ?3 AND "
			       "start = ?8", -1, &st, NULL))
		return -EIO;
	bind_key(st, t);
	tm_history_bind_counters(st, 4, &k->c);
	sqlite3_bind_int64(st, 8, t->start);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	return put_parts(db, t, k->parts, k->nparts) || put_nets(db, t, k->nets, k->nnets) ? -EIO : 0;
}

/* The row closed at now, or at its start if that is later. */
static int close_at(sqlite3 *db, const struct tm_ledger_job *t, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "UPDATE jobs SET end = max(start, ?4) WHERE node = ?1 AND "
			       "kind = ?2 AND id = ?3 AND start = ?5 AND end IS NULL", -1, &st, NULL))
		return -EIO;
	bind_key(st, t);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, t->start);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int keep_one(sqlite3 *db, const char *node, const struct tm_ledger_seen *s, int64_t now,
		    int64_t boot)
{
	struct tm_ledger_job t = { .uid = s->uid };
	size_t i;
	int found, err = 0;

	snprintf(t.node, sizeof(t.node), "%s", node);
	snprintf(t.kind, sizeof(t.kind), "%s", s->kind);
	snprintf(t.id, sizeof(t.id), "%s", s->id);
	if (!strcmp(s->kind, "slurm") && tm_job_is_sluid(s->id, strlen(s->id)))
		memcpy(t.sluid, s->id, sizeof(t.sluid));
	found = target(db, &t, s->cgroup, now, boot);
	if (found < 0 || found == 2)
		return found < 0 ? found : 0;
	if (!found) {
		t.start = now;
		t.cgroup = s->cgroup;
		if (t.uid >= 0)
			snprintf(t.user, sizeof(t.user), "%s", tm_uid_name((uint32_t)t.uid));
		/* A start taken already (the path made again within a second): the next. */
		while ((err = newest_at(db, &t)) > 0)
			t.start++;
		if (!err)
			err = put_job(db, &t);
	}
	for (i = 0; !err && i < s->ntakes; i++)
		err = add_take(db, &t, &s->takes[i]);
	if (!err && s->ended && t.cgroup)
		err = close_at(db, &t, s->ended_at ? s->ended_at : now);
	return err;
}

/*
 * Closes tm-record's open rows since boot of jobs not among the n seen
 * whose own cgroup has ended (live(id, ctx) false): their last rows were
 * retired before, or they had none.
 */
static int close_gone(sqlite3 *db, const char *node, const struct tm_ledger_seen *v, size_t n,
		      bool (*live)(uint64_t id, void *ctx), void *ctx, int64_t now, int64_t boot)
{
	sqlite3_stmt *st;
	struct tm_ledger_job *gone = NULL;
	size_t ngone = 0, cap = 0, i;
	int rc = SQLITE_DONE, err = 0;

	if (sqlite3_prepare_v2(db, "SELECT kind, id, start, cgroup FROM jobs WHERE node = ? AND "
			       "cgroup IS NOT NULL AND end IS NULL AND start >= ?", -1, &st, NULL))
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, boot);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = sqlite3_column_int64(st, 3);
		bool seen = false;

		for (i = 0; i < n && !seen; i++)
			seen = v[i].cgroup == id;
		if (seen || live(id, ctx))
			continue;
		if (tm_grow(&gone, &cap, ngone, sizeof(*gone))) {
			err = -ENOMEM;
			break;
		}
		memset(&gone[ngone], 0, sizeof(*gone));
		snprintf(gone[ngone].node, sizeof(gone->node), "%s", node);
		column_text(st, 0, gone[ngone].kind, sizeof(gone->kind));
		column_text(st, 1, gone[ngone].id, sizeof(gone->id));
		gone[ngone++].start = sqlite3_column_int64(st, 2);
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(st);
	for (i = 0; !err && i < ngone; i++)
		err = close_at(db, &gone[i], now);
	free(gone);
	return err;
}

/*
 * tm-record's rows of the jobs no prolog opened, kept in one transaction
 * as it retires rows: each job seen (its traffic in the rows now, or in
 * those being retired) gets a row if it has none, each of its cgroups that
 * ended is added to it once (takes), and its row is closed when its own
 * cgroup has ended (ended; or, not seen, live says so). The rows of a job
 * a prolog opened are its epilog's: left. Only rows made since boot are
 * looked at: a cgroup's id is another's after a reboot. 0 or -errno (said).
 */
int tm_ledger_keep(sqlite3 *db, const char *path, const char *node,
		   const struct tm_ledger_seen *v, size_t n,
		   bool (*live)(uint64_t id, void *ctx), void *ctx, int64_t now, int64_t boot)
{
	size_t i;
	int err = 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, path, "cannot start a transaction");
	for (i = 0; i < n && !err; i++)
		err = keep_one(db, node, &v[i], now, boot);
	if (!err)
		err = close_gone(db, node, v, n, live, ctx, now, boot);
	if (err == -ENOMEM)
		return tm_ledger_abort(db), err;
	if (err)
		return db_err(db, path, "cannot write the job ledger");
	return commit(db, path);
}

void tm_ledger_seen_free(struct tm_ledger_seen *v, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i].ntakes; k++) {
			free(v[i].takes[k].parts);
			free(v[i].takes[k].nets);
		}
		free(v[i].takes);
	}
	free(v);
}

/*
 * The jobs a prolog opened that are open in the ledger (the database is
 * the node's own), started since `since`: their rows are held from
 * retirement for the epilog. (tm-record's own rows take the rows as they
 * are retired.)
 */
int tm_ledger_held(sqlite3 *db, const char *path, int64_t since, struct tm_ledger_open *out)
{
	sqlite3_stmt *st;
	int rc;

	out->n = 0;
	/* By either name: a job's cgroup may be named by its SLUID. */
	if (sqlite3_prepare_v2(db, "SELECT kind, id FROM jobs WHERE end IS NULL AND cgroup IS "
			       "NULL AND start >= ?1 UNION ALL SELECT kind, sluid FROM jobs WHERE "
			       "end IS NULL AND cgroup IS NULL AND start >= ?1 AND sluid IS NOT "
			       "NULL", -1, &st, NULL))
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

static int read_nets(sqlite3 *db, const char *path, struct tm_ledger_entry *e)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT net, in_bytes, out_bytes, in_packets, out_packets FROM "
			       "job_nets WHERE node = ? AND kind = ? AND id = ? AND start = ? "
			       "ORDER BY in_bytes + out_bytes DESC, net", -1, &st, NULL))
		return strstr(sqlite3_errmsg(db), "no such table") ? 0 :
		       db_err(db, path, "cannot read the job ledger");
	bind_key(st, &e->j);
	sqlite3_bind_int64(st, 4, e->j.start);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tm_ledger_net *n;

		if (tm_grow(&e->nets, &cap, e->nnets, sizeof(*e->nets))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		n = &e->nets[e->nnets++];
		column_text(st, 0, n->net, sizeof(n->net));
		tm_history_counters(st, 1, &n->c);
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
	const char *sluid;
	char sql[512];
	sqlite3_stmt *st;
	size_t i;
	int rc;

	/* A ledger no tm-job of SLUIDs wrote to yet (read-only here) has no sluid. */
	sluid = sqlite3_prepare_v2(db, "SELECT sluid FROM jobs", -1, &st, NULL) == SQLITE_OK ?
		"sluid" : "NULL";
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "SELECT node, kind, id, start, end, user, uid, account, "
		 "partition, in_bytes, out_bytes, in_packets, out_packets, %s FROM jobs WHERE "
		 "start < ?1 AND (end IS NULL OR end >= ?2) AND (?3 IS NULL OR id = ?3 OR %s = "
		 "?3) AND (?4 IS NULL OR account = ?4) ORDER BY in_bytes + out_bytes DESC, end, "
		 "node, kind, id", sluid, sluid);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
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
		column_text(st, 13, j.sluid, sizeof(j.sluid));
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
		if (!rc)
			rc = read_nets(db, q->path, &out->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void tm_ledger_entry_free(struct tm_ledger_entry *e)
{
	free(e->parts);
	free(e->nets);
	e->parts = NULL;
	e->nets = NULL;
	e->nparts = e->nnets = 0;
}

void tm_ledger_jobs_free(struct tm_ledger_jobs *jobs)
{
	size_t i;

	for (i = 0; i < jobs->n; i++)
		tm_ledger_entry_free(&jobs->v[i]);
	free(jobs->v);
	memset(jobs, 0, sizeof(*jobs));
}

/*
 * Adds c to the part of family on iface (a name, NAME@NS, or NULL: "?"),
 * made if new. 0 or -ENOMEM.
 */
int tm_ledger_part_add(struct tm_ledger_part **v, size_t *n, size_t *cap, uint8_t family,
		       const char *iface, const struct tm_counters *c)
{
	const char *fam = tm_family_name(family);
	size_t k;

	if (!iface)
		iface = "?";
	for (k = 0; k < *n; k++)
		if (!strcmp((*v)[k].iface, iface) && !strcmp((*v)[k].family, fam))
			break;
	if (k == *n) {
		if (tm_grow(v, cap, *n, sizeof(**v)))
			return -ENOMEM;
		memset(&(*v)[k], 0, sizeof(**v));
		snprintf((*v)[k].family, sizeof((*v)[k].family), "%s", fam);
		snprintf((*v)[k].iface, sizeof((*v)[k].iface), "%s", iface);
		(*n)++;
	}
	tm_counters_add(&(*v)[k].c, c);
	return 0;
}

/* Adds c to the network raddr of family is in, rolled up as the ledger keeps it. */
int tm_ledger_net_add(struct tm_ledger_net **v, size_t *n, size_t *cap, uint8_t family,
		      const uint8_t *raddr, const struct tm_counters *c)
{
	char net[64];
	size_t k;

	tm_cidr_network(family, raddr, TM_LEDGER_PREFIX4, TM_LEDGER_PREFIX6, net, sizeof(net));
	for (k = 0; k < *n && strcmp((*v)[k].net, net); k++)
		;
	if (k == *n) {
		if (tm_grow(v, cap, *n, sizeof(**v)))
			return -ENOMEM;
		memset(&(*v)[k], 0, sizeof(**v));
		snprintf((*v)[k].net, sizeof((*v)[k].net), "%s", net);
		(*n)++;
	}
	tm_counters_add(&(*v)[k].c, c);
	return 0;
}
