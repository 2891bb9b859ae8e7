// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the history: where each tier's buckets start, in time zones
 * with DST and with half hours, and pruning that keeps exactly the counts
 * asked, on an in-memory database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>

#include "tm.h"
#include "unit.h"

static void zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* A local time in the zone set, as Unix seconds (isdst: -1 to let it choose). */
static int64_t local(int y, int mon, int d, int h, int min, int isdst)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = min, .tm_isdst = isdst };

	return mktime(&tm);
}

static void starts(void)
{
	int64_t t;

	zone("UTC");
	t = 1796136486;		/* 2026-12-01 14:08:06 UTC */
	ok(tm_tier_start(TM_TIER_5MIN, t) == 1796136300, "5min: floor to 300 s");
	ok(tm_tier_start(TM_TIER_HOUR, t) == 1796133600, "hour: the hour's start");
	ok(tm_tier_start(TM_TIER_DAY, t) == 1796083200, "day: midnight UTC");
	ok(tm_tier_start(TM_TIER_MONTH, t) == 1796083200, "month: the 1st (2026-12-01)");
	ok(tm_tier_start(TM_TIER_YEAR, t) == 1767225600, "year: 2026-01-01");

	/* Berlin, the day summer time begins (23 hours) and ends (25). */
	zone("Europe/Berlin");
	t = local(2026, 3, 29, 12, 0, -1);
	ok(tm_tier_start(TM_TIER_DAY, t) == local(2026, 3, 29, 0, 0, -1), "DST starts: local midnight");
	ok(tm_tier_start(TM_TIER_DAY, t + 86400) - tm_tier_start(TM_TIER_DAY, t) == 23 * 3600,
	   "DST starts: that day is 23 hours");
	t = local(2026, 10, 25, 12, 0, -1);
	ok(tm_tier_start(TM_TIER_DAY, t + 86400) - tm_tier_start(TM_TIER_DAY, t) == 25 * 3600,
	   "DST ends: that day is 25 hours");
	/* 02:30 happens twice that night: two hours, each its own bucket. */
	ok(tm_tier_start(TM_TIER_HOUR, local(2026, 10, 25, 2, 30, 1)) == local(2026, 10, 25, 2, 0, 1),
	   "DST ends: the first 02:00 hour");
	ok(tm_tier_start(TM_TIER_HOUR, local(2026, 10, 25, 2, 30, 0)) == local(2026, 10, 25, 2, 0, 0),
	   "DST ends: the second 02:00 hour");
	ok(local(2026, 10, 25, 2, 0, 0) - local(2026, 10, 25, 2, 0, 1) == 3600,
	   "DST ends: an hour apart");
	ok(tm_tier_start(TM_TIER_MONTH, local(2026, 11, 15, 9, 0, -1)) == local(2026, 11, 1, 0, 0, -1),
	   "Berlin: the month starts at local midnight");
	ok(tm_tier_start(TM_TIER_YEAR, local(2026, 6, 15, 9, 0, -1)) == local(2026, 1, 1, 0, 0, -1),
	   "Berlin: the year starts at local midnight, in winter time");

	/* India: a half-hour offset; hours start at :30 UTC. */
	zone("Asia/Kolkata");
	t = local(2026, 12, 1, 10, 45, -1);
	ok(tm_tier_start(TM_TIER_HOUR, t) == local(2026, 12, 1, 10, 0, -1), "Kolkata: the local hour");
	ok(tm_tier_start(TM_TIER_HOUR, t) % 3600 == 1800, "Kolkata: at :30 UTC");
	ok(tm_tier_start(TM_TIER_DAY, t) == local(2026, 12, 1, 0, 0, -1), "Kolkata: local midnight");
	ok(tm_tier_start(TM_TIER_5MIN, t) == t, "5min: 10:45 is a start");
	zone("UTC");
}

static int64_t count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Samples an hour apart: each tier's sums equal, and pruning keeps exactly N. */
static void samples_and_pruning(void)
{
	static const int all[TM_TIER_MAX] = { -1, -1, -1, -1, -1 };
	const int keep[TM_TIER_MAX] = { 3, 2, 1, 0, -1 };
	struct tm_series s = { "user", 1000, "", { 0 } };
	sqlite3 *db;
	int64_t t0 = 1796083200, i;
	bool good = true;

	if (tm_history_open(":memory:", true, &db)) {
		ok(0, "history: open");
		return;
	}
	for (i = 0; i < 30; i++) {
		s.c.out_bytes += 100 + i;
		s.c.out_packets += 1;
		good &= !tm_history_sample(db, ":memory:", &s, 1, "boot:1", t0 + i * 3600, all);
	}
	ok(good, "history: 30 samples an hour apart");
	ok(count(db, "SELECT count(DISTINCT start) FROM traffic WHERE tier = '5min'") == 30,
	   "history: 30 five-minute rows");
	ok(count(db, "SELECT count(DISTINCT start) FROM traffic WHERE tier = 'day'") == 2,
	   "history: 30 hours make 2 days");
	/* The first sample is the whole counter (100); the rest, deltas. */
	ok(count(db, "SELECT count(DISTINCT sum) FROM (SELECT sum(out_bytes) AS sum FROM traffic"
		     " GROUP BY tier)") == 1, "history: every tier sums the same");
	ok(count(db, "SELECT sum(out_bytes) FROM traffic WHERE tier = 'year'") == (int64_t)s.c.out_bytes,
	   "history: the sum is the counter");
	/* A new load: the counter went down, its value is the delta. */
	s.c.out_bytes = 7;
	good = !tm_history_sample(db, ":memory:", &s, 1, "boot:2", t0 + 30 * 3600, all);
	ok(good && count(db, "SELECT sum(out_bytes) FROM traffic WHERE tier = 'month'") ==
		   30 * 100 + 29 * 30 / 2 + 7, "history: a reload's new counter is its delta");
	good = !tm_history_prune(db, ":memory:", keep, -1, t0 + 31 * 3600, true);
	ok(good, "history: prune");
	ok(count(db, "SELECT count(DISTINCT start) FROM traffic WHERE tier = '5min'") == 3 &&
	   count(db, "SELECT min(start) FROM traffic WHERE tier = '5min'") == t0 + 28 * 3600,
	   "history: the newest 3 five-minute rows kept");
	ok(count(db, "SELECT count(DISTINCT start) FROM traffic WHERE tier = 'hour'") == 2,
	   "history: 2 hourly rows kept");
	ok(count(db, "SELECT count(DISTINCT start) FROM traffic WHERE tier = 'day'") == 1,
	   "history: 1 daily row kept");
	ok(count(db, "SELECT count(*) FROM traffic WHERE tier = 'month'") == 0,
	   "history: 0 keeps no monthly row");
	ok(count(db, "SELECT count(*) FROM traffic WHERE tier = 'year'") == 1,
	   "history: -1 keeps every yearly row");
	/* At most once an hour: a second prune soon after does nothing. */
	s.c.out_bytes = 8;
	tm_history_sample(db, ":memory:", &s, 1, "boot:2", t0 + 32 * 3600, all);
	tm_history_prune(db, ":memory:", keep, -1, t0 + 31 * 3600 + 60, false);
	ok(count(db, "SELECT count(*) FROM traffic WHERE tier = 'month'") == 1,
	   "history: no second prune within the hour");
	sqlite3_close(db);
}

/*
 * Samples of several series, as tm-record gives them: in any order, one
 * key twice, series gone and back, a counter that goes down.
 */
static void series_walk(void)
{
	static const int all[TM_TIER_MAX] = { -1, -1, -1, -1, -1 };
	struct tm_series s[] = {
		{ "user", 1000, "", { 10, 1, 0, 0 } },
		{ "proc", 1000, "curl", { 4, 1, 0, 0 } },
		{ "proc", TM_UID_UNKNOWN, "?", { 3, 1, 0, 0 } },
		{ "proc", 1000, "curl", { 6, 1, 0, 0 } },	/* the same key again */
		{ "user", 999, "", { 0, 0, 0, 0 } },		/* nothing yet */
	};
	sqlite3 *db;
	int64_t t0 = 1796083200;
	bool good;

	if (tm_history_open(":memory:", true, &db)) {
		ok(0, "history: open");
		return;
	}
	good = !tm_history_sample(db, ":memory:", s, 5, "boot:1", t0, all);
	ok(good && count(db, "SELECT in_bytes FROM traffic WHERE tier = 'day' AND kind = 'proc'"
			     " AND uid = 1000 AND key = 'curl'") == 10,
	   "history: one key twice in a sample is added up");
	ok(count(db, "SELECT in_bytes FROM traffic WHERE tier = 'day' AND uid = -1") == 3,
	   "history: no owner is uid -1");
	ok(count(db, "SELECT count(*) FROM traffic WHERE tier = 'day'") == 3,
	   "history: a series with nothing counted has no row");
	/* curl's rows gone (retired), user 1000 grown, the unowned one the same. */
	s[0].c.in_bytes = 15;
	s[1] = s[0];
	s[1].kind = "net";
	s[1].key = "10.0.0.0/8";
	s[1].c.in_bytes = 5;
	good = !tm_history_sample(db, ":memory:", s, 3, "boot:1", t0 + 3600, all);
	ok(good && count(db, "SELECT sum(in_bytes) FROM traffic WHERE tier = 'hour'"
			     " AND start = 1796086800") == 10,
	   "history: only what grew is added (5 of a user, 5 of a new network)");
	ok(count(db, "SELECT count(*) FROM last WHERE key = 'curl'") == 0,
	   "history: a series gone leaves last");
	/* curl back, below what it was: all of it counts again. */
	s[3].c.in_bytes = 2;
	good = !tm_history_sample(db, ":memory:", s, 4, "boot:1", t0 + 7200, all);
	ok(good && count(db, "SELECT in_bytes FROM traffic WHERE tier = 'day' AND key = 'curl'") == 12,
	   "history: a series back counts from zero");
	/* A counter that went down (an entry made again): last follows it, nothing added. */
	s[0].c.in_bytes = 1;
	good = !tm_history_sample(db, ":memory:", s, 4, "boot:1", t0 + 10800, all);
	ok(good && count(db, "SELECT in_bytes FROM last WHERE kind = 'user' AND uid = 1000") == 1 &&
		   count(db, "SELECT in_bytes FROM traffic WHERE tier = 'day' AND kind = 'user'"
			     " AND uid = 1000") == 15,
	   "history: a counter that goes down is kept, not added");
	sqlite3_close(db);
}

void test_history(void)
{
	starts();
	samples_and_pruning();
	series_walk();
}
