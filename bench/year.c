// SPDX-License-Identifier: GPL-2.0
/*
 * tm-year USERS DB: a year of tm-record's samples, every five minutes, for
 * USERS users with five series each (their total, two remote networks, a
 * process, a cgroup), growing by varying amounts, written with the history's
 * own functions and its default retention. Prints the database's size and
 * the CPU a sample took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "tm.h"

int main(int argc, char **argv)
{
	static const int keep[TM_TIER_MAX] = { 576, 168, 62, 25, -1 };
	int users = argc > 1 ? atoi(argv[1]) : 10, i, k;
	const char *path = argc > 2 ? argv[2] : "year.db";
	const int64_t t0 = 1767225600, samples = 365 * 288;	/* 2026 */
	struct tm_series *s = calloc(users * 5, sizeof(*s));
	static const char *const kinds[5] = { "user", "net", "net", "proc", "cgroup" };
	static const char *const keys[5] = { "", "198.51.100.0/24", "192.0.2.0/24", "rsync",
					     "/system.slice/slurmstepd.scope/job_4711" };
	struct rusage ru;
	struct stat st;
	sqlite3 *db;
	int64_t n;

	tm_init("tm-year");
	if (!s || tm_history_open(path, true, &db))
		return 1;
	for (i = 0; i < users; i++)
		for (k = 0; k < 5; k++)
			s[i * 5 + k] = (struct tm_series){ kinds[k], 1000 + i, keys[k], { 0 } };
	srand(1);
	for (n = 0; n < samples; n++) {
		for (i = 0; i < users * 5; i++) {
			s[i].c.in_bytes += rand() % 100000000;
			s[i].c.out_bytes += rand() % 10000000;
			s[i].c.in_packets += rand() % 70000;
			s[i].c.out_packets += rand() % 20000;
		}
		if (tm_history_sample(db, path, s, users * 5, "boot:1", t0 + n * 300, keep) ||
		    tm_history_prune(db, path, keep, -1, t0 + n * 300, false))
			return 1;
	}
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	getrusage(RUSAGE_SELF, &ru);
	if (stat(path, &st))
		return 1;
	printf("%lld %.3f\n", (long long)st.st_size,
	       (ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec / 1e6) * 1000 / samples);
	free(s);
	return 0;
}
