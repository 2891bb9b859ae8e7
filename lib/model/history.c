// SPDX-License-Identifier: GPL-2.0
/*
 * History in SQLite: what tm-record stores. Each sample adds the counters'
 * growth since the one before (deltas) to a row of every tier at once, as
 * vnstat does: five-minute, hourly, daily, monthly and yearly rows, so a
 * tier's rows always equal the sums of the rows they stand for. Days,
 * months and years start at local midnight (TZ), DST included.
 *
 * A counter that went down means the meter was loaded afresh: the load is
 * named by the boot and the control map's ID, and when it changes every
 * counter starts again from zero, so the new value is the delta. Each
 * sample is one transaction with the last values it started from, so a
 * killed tm-record neither loses nor counts twice what it had read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "model.h"

const char *const tm_tier_names[TM_TIER_MAX] = { "5min", "hour", "day", "month", "year" };

/*
 * Read-only, and read once (so SQLite has its -wal and -shm open) before a
 * setuid caller drops its privileges.
 */
int tm_history_open_ro(const char *path, sqlite3 **db)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(*db, "SELECT count(*) FROM meta", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		tm_err("cannot read %s: %s", path, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(*db, 10000);
	return 0;
}

void tm_history_close(sqlite3 *db)
{
	sqlite3_close(db);
}

/* Where the bucket of tier holding t starts, as local time counts them. */
int64_t tm_tier_start(enum tm_tier tier, int64_t t)
{
	time_t tt = t;
	struct tm tm;

	if (tier == TM_TIER_5MIN)
		return t - ((t % 300) + 300) % 300;
	localtime_r(&tt, &tm);
	if (tier == TM_TIER_HOUR)
		return t - tm.tm_min * 60 - tm.tm_sec;
	tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
	if (tier >= TM_TIER_MONTH)
		tm.tm_mday = 1;
	if (tier == TM_TIER_YEAR)
		tm.tm_mon = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* The load the counters belong to: this boot, and the control map's ID. */
int tm_history_load_name(const struct tm_pins *p, char *out, size_t len)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	char boot[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (f) {
		if (!fgets(boot, sizeof(boot), f))
			boot[0] = 0;
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = 0;
	if (bpf_obj_get_info_by_fd(p->fd[TM_MAP_CONTROL], &info, &ilen))
		return -errno;
	snprintf(out, len, "%s:%u", boot, info.id);
	return 0;
}

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	/* tier: 5min, hour, day, month, year; start: the bucket's start (Unix
	 * seconds); kind: user, net (remote network), proc (process name),
	 * cgroup; uid: -1 for no owner; key: '' for user, else the network,
	 * the name or the path. */
	"CREATE TABLE IF NOT EXISTS traffic("
	" tier TEXT NOT NULL, start INTEGER NOT NULL, kind TEXT NOT NULL,"
	" uid INTEGER NOT NULL, key TEXT NOT NULL,"
	" in_bytes INTEGER NOT NULL, out_bytes INTEGER NOT NULL,"
	" in_packets INTEGER NOT NULL, out_packets INTEGER NOT NULL,"
	" PRIMARY KEY(tier, start, kind, uid, key)) WITHOUT ROWID;"
	/* The counters of the last sample, of the load meta.load names. */
	"CREATE TABLE IF NOT EXISTS last("
	" kind TEXT NOT NULL, uid INTEGER NOT NULL, key TEXT NOT NULL,"
	" in_bytes INTEGER NOT NULL, out_bytes INTEGER NOT NULL,"
	" in_packets INTEGER NOT NULL, out_packets INTEGER NOT NULL,"
	" PRIMARY KEY(kind, uid, key)) WITHOUT ROWID;"
	/* The job ledger (ledger.c): a job a row, its parts by family and
	 * interface; end NULL while it runs, start 0 when no prolog opened it
	 * and its epilog closed it. cgroup: the job's own cgroup's id, for a
	 * row tm-record keeps of a job no prolog opened (NULL: a prolog's);
	 * sluid: a Slurm job's SLUID, as its prolog was given it (Slurm 26.05
	 * names the job's cgroup by it); job_cgroups: the ended cgroups whose
	 * rows were added to a job's. */
	"CREATE TABLE IF NOT EXISTS jobs("
	" node TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,"
	" end INTEGER, user TEXT, uid INTEGER, account TEXT, partition TEXT,"
	" in_bytes INTEGER NOT NULL DEFAULT 0, out_bytes INTEGER NOT NULL DEFAULT 0,"
	" in_packets INTEGER NOT NULL DEFAULT 0, out_packets INTEGER NOT NULL DEFAULT 0,"
	" cgroup INTEGER, sluid TEXT,"
	" PRIMARY KEY(node, kind, id, start));"
	"CREATE TABLE IF NOT EXISTS job_parts("
	" node TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,"
	" family TEXT NOT NULL, iface TEXT NOT NULL,"
	" in_bytes INTEGER NOT NULL, out_bytes INTEGER NOT NULL,"
	" in_packets INTEGER NOT NULL, out_packets INTEGER NOT NULL,"
	" PRIMARY KEY(node, kind, id, start, family, iface));"
	/* A job's top remote networks (TM_LEDGER_NETS), as its connection
	 * rows had them, rolled up to /24 and /64. */
	"CREATE TABLE IF NOT EXISTS job_nets("
	" node TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,"
	" net TEXT NOT NULL,"
	" in_bytes INTEGER NOT NULL, out_bytes INTEGER NOT NULL,"
	" in_packets INTEGER NOT NULL, out_packets INTEGER NOT NULL,"
	" PRIMARY KEY(node, kind, id, start, net)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS job_cgroups("
	" node TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,"
	" cgroup INTEGER NOT NULL,"
	" PRIMARY KEY(node, kind, id, start, cgroup)) WITHOUT ROWID;"
	/* tm-record --no-history: when each ended cgroup whose rows wait for
	 * --grace was first seen ended (since this boot: ids are reused after). */
	"CREATE TABLE IF NOT EXISTS ended(cgroup INTEGER PRIMARY KEY, since INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES('schema', '1');";

/* Four counters bound from parameter col on: in_bytes, out_bytes, in_packets, out_packets. */
void tm_history_bind_counters(sqlite3_stmt *st, int col, const struct tm_counters *c)
{
	sqlite3_bind_int64(st, col, (int64_t)c->in_bytes);
	sqlite3_bind_int64(st, col + 1, (int64_t)c->out_bytes);
	sqlite3_bind_int64(st, col + 2, (int64_t)c->in_packets);
	sqlite3_bind_int64(st, col + 3, (int64_t)c->out_packets);
}

/* Four counters of a row, in_bytes, out_bytes, in_packets, out_packets, from column col. */
void tm_history_counters(sqlite3_stmt *st, int col, struct tm_counters *c)
{
	c->in_bytes = sqlite3_column_int64(st, col);
	c->out_bytes = sqlite3_column_int64(st, col + 1);
	c->in_packets = sqlite3_column_int64(st, col + 2);
	c->out_packets = sqlite3_column_int64(st, col + 3);
}

/*
 * Each of n statements run once, in order, its parameters bound by bind
 * (i: which statement), in the caller's transaction: one change made to
 * each of a job's tables, say. 0 or -EIO.
 */
int tm_history_each(sqlite3 *db, const char *const *sql, size_t n,
		    void (*bind)(sqlite3_stmt *st, size_t i, const void *ctx), const void *ctx)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL))
			return -EIO;
		bind(st, i, ctx);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

/* What SQLite says went wrong, said with the database and what was done: -EIO. */
int tm_history_err(sqlite3 *db, const char *path, const char *what)
{
	tm_err("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -EIO;
}


/* A ledger made before jobs had its newer columns is given them. */
static int add_columns(sqlite3 *db, char **msg)
{
	static const char *const cols[][2] = {
		{ "SELECT cgroup FROM jobs LIMIT 0", "ALTER TABLE jobs ADD COLUMN cgroup INTEGER" },
		{ "SELECT sluid FROM jobs LIMIT 0", "ALTER TABLE jobs ADD COLUMN sluid TEXT" },
	};
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (sqlite3_exec(db, cols[i][0], NULL, NULL, NULL) != SQLITE_OK &&
		    sqlite3_exec(db, cols[i][1], NULL, NULL, msg) != SQLITE_OK)
			return -EIO;
	/* Jobs found by SLUID (tm-record's rows of Slurm 26.05's job directories). */
	return sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS jobs_sluid ON jobs(sluid)", NULL, NULL,
			    msg) == SQLITE_OK ? 0 : -EIO;
}

/*
 * The database for writing, made if create and missing. Everyone's
 * history: the process's umask becomes 077, so the file and the -wal and
 * -shm SQLite makes later are root's alone.
 */
int tm_history_open(const char *path, bool create, sqlite3 **out)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOFOLLOW;
	int rc;

	umask(077);
	rc = sqlite3_open_v2(path, &db, flags, NULL);

	if (rc != SQLITE_OK) {
		tm_err("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK || add_columns(db, &msg)) {
		tm_err("%s: not a database tm can use: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		return -EIO;
	}
	*out = db;
	return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int meta_get(sqlite3 *db, const char *key, char *val, size_t len)
{
	sqlite3_stmt *st;
	int found = 0;

	val[0] = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL))
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(val, len, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int meta_set(sqlite3 *db, const char *key, const char *val)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO meta VALUES(?, ?) ON CONFLICT(key) DO UPDATE "
			       "SET value = excluded.value", -1, &st, NULL))
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* A series' owner as the history keeps it: -1 for no owner. */
static int64_t series_uid(uint32_t uid)
{
	return uid == TM_UID_UNKNOWN ? -1 : (int64_t)uid;
}

/* A series' key (kind, uid as the history keeps it, key) into st's parameters from i. */
static void bind_series_key(sqlite3_stmt *st, int i, const char *kind, int64_t uid,
			    const char *key)
{
	sqlite3_bind_text(st, i, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i + 1, uid);
	sqlite3_bind_text(st, i + 2, key, -1, SQLITE_STATIC);
}

/*
 * Each series run through st, its parameters 1 to 7: kind, uid (-1 for no
 * owner), key, in and out bytes, in and out packets.
 */
static int put_series(sqlite3_stmt *st, const struct tm_series *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		bind_series_key(st, 1, s[i].kind, series_uid(s[i].uid), s[i].key);
		tm_history_bind_counters(st, 4, &s[i].c);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -EIO;
		sqlite3_reset(st);
	}
	return 0;
}

/* The order of last's primary key (kind, uid, key): text as memcmp, uid as a number. */
static int cmp_series_key(const char *k1, int64_t u1, const char *key1,
			  const char *k2, int64_t u2, const char *key2)
{
	int c = strcmp(k1, k2);

	if (c)
		return c;
	if (u1 != u2)
		return u1 < u2 ? -1 : 1;
	return strcmp(key1, key2);
}

static int cmp_series(const void *a, const void *b)
{
	const struct tm_series *x = *(const struct tm_series *const *)a;
	const struct tm_series *y = *(const struct tm_series *const *)b;

	return cmp_series_key(x->kind, series_uid(x->uid), x->key,
			      y->kind, series_uid(y->uid), y->key);
}

/* A row of last, as read. */
struct last_row {
	char *kind, *key;
	int64_t uid;
	struct tm_counters c;
};

static void last_free(struct last_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].key);
	}
	free(v);
}

/* last, whole, in its key's order. */
static int last_read(sqlite3 *db, struct last_row **out, size_t *n)
{
	struct last_row *v = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;
	int rc, err = 0;

	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT kind, uid, key, in_bytes, out_bytes, in_packets,"
			       " out_packets FROM last ORDER BY kind, uid, key", -1, &st, NULL))
		return -EIO;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct last_row *r;

		if (tm_grow(&v, &cap, *n, sizeof(*v))) {
			err = -ENOMEM;
			break;
		}
		r = &v[*n];
		r->kind = strdup((const char *)sqlite3_column_text(st, 0));
		r->uid = sqlite3_column_int64(st, 1);
		r->key = strdup((const char *)sqlite3_column_text(st, 2));
		tm_history_counters(st, 3, &r->c);
		(*n)++;
		if (!r->kind || !r->key)
			err = -ENOMEM;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(st);
	if (err) {
		last_free(v, *n);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return err;
}

static uint64_t grown(uint64_t now, uint64_t was)
{
	return now > was ? now - was : 0;
}

/* The statements of a sample. */
struct writes {
	sqlite3_stmt *traffic, *last, *gone;
	int64_t start[TM_TIER_MAX];
	const int *keep;
};

/* A series whose counters moved from was (zeros: new) to c. */
static int write_series(struct writes *w, const char *kind, int64_t uid, const char *key,
			const struct tm_counters *c, const struct tm_counters *was)
{
	struct tm_counters d = {
		.in_bytes = grown(c->in_bytes, was->in_bytes),
		.out_bytes = grown(c->out_bytes, was->out_bytes),
		.in_packets = grown(c->in_packets, was->in_packets),
		.out_packets = grown(c->out_packets, was->out_packets),
	};
	int t;

	if (!memcmp(c, was, sizeof(*c)))
		return 0;	/* unchanged: nothing to write */
	for (t = 0; (d.in_bytes || d.out_bytes || d.in_packets || d.out_packets) &&
		    t < TM_TIER_MAX; t++) {
		if (!w->keep[t])
			continue;
		sqlite3_bind_text(w->traffic, 1, tm_tier_names[t], -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->traffic, 2, w->start[t]);
		bind_series_key(w->traffic, 3, kind, uid, key);
		tm_history_bind_counters(w->traffic, 6, &d);
		if (sqlite3_step(w->traffic) != SQLITE_DONE)
			return -EIO;
		sqlite3_reset(w->traffic);
	}
	bind_series_key(w->last, 1, kind, uid, key);
	tm_history_bind_counters(w->last, 4, c);
	if (sqlite3_step(w->last) != SQLITE_DONE)
		return -EIO;
	sqlite3_reset(w->last);
	return 0;
}

static int forget_series(struct writes *w, const struct last_row *r)
{
	bind_series_key(w->gone, 1, r->kind, r->uid, r->key);
	if (sqlite3_step(w->gone) != SQLITE_DONE)
		return -EIO;
	sqlite3_reset(w->gone);
	return 0;
}

/*
 * The series, in last's order (equal ones added up), walked beside last:
 * what grew is added to each tier's bucket, last becomes the series (a
 * series gone is taken out of it). Most series do not change between two
 * samples, and they are neither written nor rewritten.
 */
static int write_sample(struct writes *w, const struct tm_series *const *v, size_t n,
			const struct last_row *last, size_t nlast)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (!err && (i < n || j < nlast)) {
		const struct tm_series *s = i < n ? v[i] : NULL;
		struct tm_counters c;
		int cmp;

		if (!s) {
			err = forget_series(w, &last[j++]);
			continue;
		}
		c = s->c;
		/* The same series twice (two rows that meet under one key). */
		while (++i < n && !cmp_series(&v[i - 1], &v[i]))
			tm_counters_add(&c, &v[i]->c);
		cmp = -1;
		while (!err && j < nlast &&
		       (cmp = cmp_series_key(s->kind, series_uid(s->uid), s->key,
					     last[j].kind, last[j].uid, last[j].key)) > 0)
			err = forget_series(w, &last[j++]);
		if (err)
			break;
		if (j < nlast && !cmp)
			err = write_series(w, s->kind, series_uid(s->uid), s->key, &c, &last[j++].c);
		else
			err = write_series(w, s->kind, series_uid(s->uid), s->key, &c,
					   &(struct tm_counters){ 0 });
	}
	return err;
}

/*
 * One sample: the series read now (kind, uid, key, counters), for the load
 * named load, at time now. keep: each tier's count (0: that tier is not
 * written).
 */
int tm_history_sample(sqlite3 *db, const char *path, const struct tm_series *s, size_t n,
		      const char *load, int64_t now, const int keep[TM_TIER_MAX])
{
	const struct tm_series **v = malloc((n ? n : 1) * sizeof(*v));
	struct writes w = { .keep = keep };
	struct last_row *last = NULL;
	size_t i, nlast = 0;
	char was[128];
	int t, err;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = &s[i];
	qsort(v, n, sizeof(*v), cmp_series);
	for (t = 0; t < TM_TIER_MAX; t++)
		w.start[t] = tm_tier_start(t, now);
	if (exec(db, "BEGIN IMMEDIATE")) {
		free(v);
		return tm_history_err(db, path, "cannot begin a sample");
	}
	/* Another load (or none before): every counter started from zero. */
	if (meta_get(db, "load", was, sizeof(was)) < 0)
		goto fail;
	if (strcmp(was, load) && (exec(db, "DELETE FROM last") || meta_set(db, "load", load)))
		goto fail;
	/* (last unread, every series would count again from zero) */
	if (last_read(db, &last, &nlast) ||
	    sqlite3_prepare_v2(db, "INSERT INTO traffic VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"
			       " ON CONFLICT DO UPDATE SET in_bytes = in_bytes + excluded.in_bytes,"
			       " out_bytes = out_bytes + excluded.out_bytes,"
			       " in_packets = in_packets + excluded.in_packets,"
			       " out_packets = out_packets + excluded.out_packets", -1, &w.traffic, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO last VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
			       " SET in_bytes = excluded.in_bytes, out_bytes = excluded.out_bytes,"
			       " in_packets = excluded.in_packets, out_packets = excluded.out_packets",
			       -1, &w.last, NULL) ||
	    sqlite3_prepare_v2(db, "DELETE FROM last WHERE kind = ? AND uid = ? AND key = ?", -1,
			       &w.gone, NULL))
		goto fail;
	snprintf(was, sizeof(was), "%lld", (long long)now);
	if (write_sample(&w, v, n, last, nlast) || meta_set(db, "last_sample", was) ||
	    exec(db, "COMMIT"))
		goto fail;
	err = 0;
	goto out;
fail:
	err = tm_history_err(db, path, "cannot store a sample");
	exec(db, "ROLLBACK");
out:
	sqlite3_finalize(w.traffic);
	sqlite3_finalize(w.last);
	sqlite3_finalize(w.gone);
	last_free(last, nlast);
	free(v);
	return err;
}

/*
 * What was just taken out of the counters (rows retired after the last
 * sample) taken out of that sample's values too, series by series, so the
 * next deltas of the same keys (a process name other rows share, a cgroup
 * path made again) are neither lost nor counted twice. One transaction.
 */
int tm_history_forget(sqlite3 *db, const char *path, const struct tm_series *s, size_t n)
{
	sqlite3_stmt *st = NULL;

	if (!n)
		return 0;
	if (exec(db, "BEGIN IMMEDIATE") ||
	    sqlite3_prepare_v2(db, "UPDATE last SET in_bytes = max(in_bytes - ?4, 0),"
			       " out_bytes = max(out_bytes - ?5, 0), in_packets = max(in_packets - ?6, 0),"
			       " out_packets = max(out_packets - ?7, 0)"
			       " WHERE kind = ?1 AND uid = ?2 AND key = ?3", -1, &st, NULL))
		goto fail;
	if (put_series(st, s, n))
		goto fail;
	sqlite3_finalize(st);
	if (exec(db, "COMMIT"))
		goto fail;
	return 0;
fail:
	tm_history_err(db, path, "cannot note the rows retired");
	sqlite3_finalize(st);
	exec(db, "ROLLBACK");
	return -EIO;
}

/*
 * When each of the n cgroups (ended, with rows that nothing records) was
 * first seen ended, into since[i]: now for one not seen before. The
 * cgroups not among them (retired since, or from an earlier boot) are
 * forgotten. One transaction; 0 or -EIO (said).
 */
int tm_history_ended(sqlite3 *db, const char *path, const uint64_t *ids, size_t n, int64_t now,
		     int64_t boot, int64_t *since)
{
	sqlite3_stmt *ins = NULL, *sel = NULL, *mark = NULL;
	char old[96];
	size_t i;

	/* An earlier boot's first: its ids are other cgroups now. */
	snprintf(old, sizeof(old), "DELETE FROM ended WHERE since < %lld", (long long)boot);
	if (exec(db, "BEGIN IMMEDIATE") || exec(db, old) ||
	    exec(db, "CREATE TEMP TABLE IF NOT EXISTS seen_ended(cgroup INTEGER PRIMARY KEY);"
		     "DELETE FROM seen_ended") ||
	    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO ended VALUES(?1, ?2)", -1, &ins, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO seen_ended VALUES(?1)", -1, &mark, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT since FROM ended WHERE cgroup = ?1", -1, &sel, NULL))
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(ins, 1, (int64_t)ids[i]);
		sqlite3_bind_int64(ins, 2, now);
		sqlite3_bind_int64(mark, 1, (int64_t)ids[i]);
		sqlite3_bind_int64(sel, 1, (int64_t)ids[i]);
		if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(mark) != SQLITE_DONE ||
		    sqlite3_step(sel) != SQLITE_ROW)
			goto fail;
		since[i] = sqlite3_column_int64(sel, 0);
		sqlite3_reset(ins);
		sqlite3_reset(mark);
		sqlite3_reset(sel);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(mark);
	sqlite3_finalize(sel);
	ins = mark = sel = NULL;
	if (!exec(db, "DELETE FROM ended WHERE cgroup NOT IN (SELECT cgroup FROM seen_ended)") &&
	    !exec(db, "COMMIT"))
		return 0;
fail:
	tm_history_err(db, path, "cannot note the cgroups that ended");
	sqlite3_finalize(ins);
	sqlite3_finalize(mark);
	sqlite3_finalize(sel);
	exec(db, "ROLLBACK");
	return -EIO;
}

/*
 * The jobs that ended before `before`, with their parts, networks and
 * cgroups, deleted from the job ledger (tm-record --keep-jobs), in the
 * caller's transaction. An open job is kept, however old. 0 or -EIO.
 */
static void bind_before(sqlite3_stmt *st, size_t i, const void *ctx)
{
	sqlite3_bind_int64(st, 1, *(const int64_t *)ctx);
}

static int prune_jobs(sqlite3 *db, int64_t before)
{
	static const char *const sql[] = {
		"DELETE FROM job_parts WHERE (node, kind, id, start) IN (SELECT node, kind, id, "
		"start FROM jobs WHERE end < ?1)",
		"DELETE FROM job_nets WHERE (node, kind, id, start) IN (SELECT node, kind, id, "
		"start FROM jobs WHERE end < ?1)",
		"DELETE FROM job_cgroups WHERE (node, kind, id, start) IN (SELECT node, kind, id, "
		"start FROM jobs WHERE end < ?1)",
		"DELETE FROM jobs WHERE end < ?1",
	};

	return tm_history_each(db, sql, sizeof(sql) / sizeof(sql[0]), bind_before, &before);
}

/*
 * Each tier keeps its newest keep[tier] buckets (-1: all), and the job
 * ledger the jobs that ended in the last keep_jobs days (-1: all); at most
 * once an hour unless force.
 */
int tm_history_prune(sqlite3 *db, const char *path, const int keep[TM_TIER_MAX], int keep_jobs,
		     int64_t now, bool force)
{
	sqlite3_stmt *st = NULL;
	char val[32];
	int t;

	if (!force && meta_get(db, "last_prune", val, sizeof(val)) > 0 &&
	    now - strtoll(val, NULL, 10) < 3600 && now >= strtoll(val, NULL, 10))
		return 0;
	if (exec(db, "BEGIN IMMEDIATE"))
		return tm_history_err(db, path, "cannot prune");
	if (sqlite3_prepare_v2(db, "DELETE FROM traffic WHERE tier = ?1 AND start NOT IN"
			       " (SELECT DISTINCT start FROM traffic WHERE tier = ?1"
			       "  ORDER BY start DESC LIMIT ?2)", -1, &st, NULL))
		goto fail;
	for (t = 0; t < TM_TIER_MAX; t++) {
		if (keep[t] < 0)
			continue;
		sqlite3_bind_text(st, 1, tm_tier_names[t], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, keep[t]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (keep_jobs >= 0 && prune_jobs(db, now - (int64_t)keep_jobs * 86400))
		goto fail;
	snprintf(val, sizeof(val), "%lld", (long long)now);
	if (meta_set(db, "last_prune", val) || exec(db, "COMMIT"))
		goto fail;
	return 0;
fail:
	sqlite3_finalize(st);
	exec(db, "ROLLBACK");
	return tm_history_err(db, path, "cannot prune");
}

/*
 * Each user's bytes this day and this month, to now: the history's rows
 * for them, and what the counters grew since the sample those rows end at
 * (all of it if the meter was loaded afresh since). cb gets uid (-1: no
 * owner) and the two sums.
 */
int tm_history_current(sqlite3 *db, const char *path, const char *load,
		       const struct tm_series *now, size_t n, int64_t t,
		       int (*cb)(int64_t uid, const struct tm_counters *day,
				 const struct tm_counters *month, void *ctx), void *ctx)
{
	static const char sql[] =
		"WITH cur(uid, i, o, ip, op) AS (SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]',"
		"  value ->> '$[3]', value ->> '$[4]' FROM json_each(?1)),"
		" grown AS (SELECT c.uid, max(c.i - ifnull(l.in_bytes, 0), 0) AS i,"
		"  max(c.o - ifnull(l.out_bytes, 0), 0) AS o, max(c.ip - ifnull(l.in_packets, 0), 0) AS ip,"
		"  max(c.op - ifnull(l.out_packets, 0), 0) AS op FROM cur c LEFT JOIN last l"
		"  ON l.kind = 'user' AND l.uid = c.uid AND l.key = '' AND ?2),"
		" kept AS (SELECT uid, tier, in_bytes AS i, out_bytes AS o, in_packets AS ip,"
		"  out_packets AS op FROM traffic WHERE kind = 'user' AND key = ''"
		"  AND ((tier = 'day' AND start = ?3) OR (tier = 'month' AND start = ?4))),"
		" uids AS (SELECT uid FROM grown UNION SELECT uid FROM kept)"
		" SELECT u.uid,"
		"  ifnull(g.i, 0) + ifnull(d.i, 0), ifnull(g.o, 0) + ifnull(d.o, 0),"
		"  ifnull(g.ip, 0) + ifnull(d.ip, 0), ifnull(g.op, 0) + ifnull(d.op, 0),"
		"  ifnull(g.i, 0) + ifnull(m.i, 0), ifnull(g.o, 0) + ifnull(m.o, 0),"
		"  ifnull(g.ip, 0) + ifnull(m.ip, 0), ifnull(g.op, 0) + ifnull(m.op, 0)"
		" FROM uids u LEFT JOIN grown g ON g.uid = u.uid"
		" LEFT JOIN kept d ON d.uid = u.uid AND d.tier = 'day'"
		" LEFT JOIN kept m ON m.uid = u.uid AND m.tier = 'month' ORDER BY u.uid";
	char was[128], *json = NULL;
	size_t cap = 2 + n * 110, i;
	struct tm_buf b;
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	json = malloc(cap);
	if (!json)
		return -ENOMEM;
	b = (struct tm_buf){ json, json + cap };
	tm_put_lit(&b, "[");
	for (i = 0; i < n; i++) {
		char row[128];
		int l = snprintf(row, sizeof(row), "%s[%lld,%llu,%llu,%llu,%llu]", i ? "," : "",
				 (long long)series_uid(now[i].uid),
				 (unsigned long long)now[i].c.in_bytes,
				 (unsigned long long)now[i].c.out_bytes,
				 (unsigned long long)now[i].c.in_packets,
				 (unsigned long long)now[i].c.out_packets);

		tm_put(&b, row, l > 0 ? (size_t)l : 0);
	}
	tm_put_lit(&b, "]");
	if (meta_get(db, "load", was, sizeof(was)) < 0 ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL)) {
		free(json);
		return tm_history_err(db, path, "cannot read");
	}
	sqlite3_bind_text(st, 1, json, b.p - json, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, !strcmp(was, load));
	sqlite3_bind_int64(st, 3, tm_tier_start(TM_TIER_DAY, t));
	sqlite3_bind_int64(st, 4, tm_tier_start(TM_TIER_MONTH, t));
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tm_counters day = {
			sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3),
			sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 4),
		};
		struct tm_counters month = {
			sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 7),
			sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 8),
		};

		err = cb(sqlite3_column_int64(st, 0), &day, &month, ctx);
	}
	if (!err && rc != SQLITE_DONE)
		err = tm_history_err(db, path, "cannot read");
	sqlite3_finalize(st);
	free(json);
	return err;
}
