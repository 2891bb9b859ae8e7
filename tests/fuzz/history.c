// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: tm-report's reading of a history database whose rows anyone
 * who could write the file may have made. SQLite's columns take any type
 * (an INTEGER column holds text or a blob, a number may be huge or
 * negative): the input is cut into rows of traffic, last and meta of any
 * types, put in a database tm-record's own open made, and read as
 * tm-report reads it, over every tier. It must come back (0, or an error
 * said), never crash.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "tm.h"

static char path[64];

/* The database and SQLite's files beside it. */
static void remove_db(void)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	char f[80];
	size_t i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, ext[i]);
		unlink(f);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tm_init("fuzz");
	atexit(remove_db);
	/* In memory where there is a tmpfs for it: a database a run. */
	snprintf(path, sizeof(path), "%s/tm-fuzz-history.%d.db",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	return 0;
}

/* One value from the input: its type from a byte, then up to 15 bytes of it. */
static void bind_one(sqlite3_stmt *st, int col, const uint8_t **p, const uint8_t *end)
{
	uint8_t kind, n;
	int64_t v = 0;

	if (end - *p < 2) {
		sqlite3_bind_int64(st, col, 0);
		return;
	}
	kind = (*p)[0] % 5;
	n = (*p)[1] % 16;
	*p += 2;
	if (n > end - *p)
		n = end - *p;
	switch (kind) {
	case 0:
		memcpy(&v, *p, n < 8 ? n : 8);
		sqlite3_bind_int64(st, col, v);
		break;
	case 1:
		sqlite3_bind_text(st, col, (const char *)*p, n, SQLITE_TRANSIENT);
		break;
	case 2:
		sqlite3_bind_blob(st, col, *p, n, SQLITE_TRANSIENT);
		break;
	case 3:
		memcpy(&v, *p, n < 8 ? n : 8);
		sqlite3_bind_double(st, col, (double)v / 7.0);
		break;
	default:
		sqlite3_bind_null(st, col);
		break;
	}
	*p += n;
}

static void fill(sqlite3 *db, const char *sql, int cols, const uint8_t **p, const uint8_t *end)
{
	sqlite3_stmt *st;
	int i;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
		return;
	for (i = 1; i <= cols; i++)
		bind_one(st, i, p, end);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tiers[] = { "5min", "hour", "day", "month", "year" };
	const uint8_t *p = data, *end = data + size;
	struct tm_query q = { .path = path, .since = 0, .until = INT64_MAX, .top = 3 };
	struct tm_report r = {};
	sqlite3 *db;
	int rows;

	remove_db();
	if (tm_history_open(path, true, &db))
		abort();	/* a new file: it must open */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (rows = 0; p < end && rows < 32; rows++) {
		switch (*p++ % 4) {
		case 0:
			/* A row with a real tier, so the report reaches it. */
			fill(db, "INSERT OR IGNORE INTO traffic VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     9, &p, end);
			sqlite3_exec(db, "UPDATE traffic SET tier = 'day' WHERE typeof(tier) != 'text'",
				     NULL, NULL, NULL);
			break;
		case 1:
			fill(db, "INSERT OR IGNORE INTO last VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", 7, &p, end);
			break;
		case 2:
			fill(db, "INSERT OR REPLACE INTO meta VALUES(?1, ?2)", 2, &p, end);
			break;
		default:
			fill(db, "INSERT OR IGNORE INTO traffic VALUES('5min', ?1, 'user', ?2, '', ?3, ?4, ?5, ?6)",
			     6, &p, end);
			break;
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	tm_history_close(db);
	/* tm-record opens it again (its schema applied over what is there)... */
	if (!tm_history_open(path, false, &db))
		tm_history_close(db);
	/* ...and tm-report reads it, by each tier. */
	if (!tm_history_open_ro(path, &r.db)) {
		for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++) {
			q.by = t;
			r.q = &q;
			tm_report_read(&r);
			tm_report_free(&r);
		}
		tm_history_close(r.db);
	}
	remove_db();
	return 0;
}


