// SPDX-License-Identifier: GPL-2.0
/*
 * The options every command takes, what none of them takes, and the values
 * of options: one of a list of names, a number within bounds, seconds.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

/*
 * --pin-root, -v, -V and -h, and the answer to an option getopt did not know;
 * a command's own switch sends its default case here.
 */
int tm_common_opt(int c, const char *arg, const char **pin_root, void (*usage)(FILE *))
{
	switch (c) {
	case TM_OPT_PIN_ROOT:
		*pin_root = arg;
		return 0;
	case 'v':
		tm_verbose++;
		return 0;
	case 'V':
		tm_version();
	case 'h':
		usage(stdout);
		exit(TM_EXIT_OK);
	default:
		fprintf(stderr, "Try '%s --help' for more information.\n", tm_prog);
		return -TM_EUSAGE;
	}
}

/* "tm-stat (tm) 0.6.0" on stdout, then exit 0: --version of every command. */
void tm_version(void)
{
	printf("%s (tm) %s\n", tm_prog, TM_VERSION);
	exit(TM_EXIT_OK);
}

int tm_no_more_args(int argc, char **argv, int next)
{
	if (next < argc) {
		tm_usage_err("'%s': unexpected argument", argv[next]);
		return -TM_EUSAGE;
	}
	return 0;
}

/* ARG as one of NAMES, its index in *out; "must be a, b or c" otherwise. */
int tm_pick(const char *opt, const char *arg, const char *const *names, int n, int *out)
{
	char list[256] = "";
	size_t used = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(arg, names[i])) {
			*out = i;
			return 0;
		}
		used += snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0, "%s%s",
				 i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	}
	tm_usage_err("%s '%s': must be %s", opt, arg, list);
	return -TM_EUSAGE;
}

/*
 * A whole number in decimal digits alone (no sign, space, base or
 * exponent) within n's bounds; else "must be a whole number from MIN[ to
 * MAX][, a power of two][, or ALSO]", and nothing is set.
 */
/* --format of a command whose only formats are its text and JSON (tm-status, tm-mask). */
int tm_pick_text_json(const char *opt, const char *arg, bool *json)
{
	static const char *const formats[] = { "text", "json" };
	int v;

	if (tm_pick(opt, arg, formats, 2, &v))
		return -TM_EUSAGE;
	*json = v == 1;
	return 0;
}

int tm_parse_num(const char *opt, const char *s, const struct tm_num *n, uint64_t *v)
{
	unsigned long long x;
	char *end;
	char to[32] = "";

	errno = 0;
	x = strtoull(s, &end, 10);
	if (isdigit((unsigned char)*s) && !*end && !errno && x >= n->min && x <= n->max &&
	    (!n->pow2 || !(x & (x - 1)))) {
		*v = x;
		return 0;
	}
	if (n->max != UINT64_MAX)
		snprintf(to, sizeof(to), " to %" PRIu64, n->max);
	tm_usage_err("%s '%s': must be a whole number from %" PRIu64 "%s%s%s%s", opt, s, n->min, to,
		     n->pow2 ? ", a power of two" : "", n->also ? ", or " : "", n->also ? n->also : "");
	return -TM_EUSAGE;
}

/* A count of things, 1 or more (--count, --top, --iterations). */
int tm_parse_count(const char *opt, const char *s, uint64_t *n)
{
	static const struct tm_num count = { .min = 1, .max = UINT64_MAX };

	return tm_parse_num(opt, s, &count, n);
}

/* --depth N: a cgroup roll-up, 0 to 1000 levels below the metered cgroup. */
int tm_parse_depth(const char *opt, const char *s, int *depth)
{
	static const struct tm_num levels = { .min = 0, .max = 1000 };
	uint64_t v;
	int err = tm_parse_num(opt, s, &levels, &v);

	if (!err)
		*depth = v;
	return err;
}

/* Seconds, fractions allowed: 0.5, 2, 10.25; at least 1 ms, at most a day. */
int tm_parse_interval(const char *opt, const char *s, double *sec)
{
	char *end;
	double v;

	/* Decimal digits with a fraction at most: strtod alone takes 0x1, " 1", 1e3. */
	if (strspn(s, "0123456789.") != strlen(s) || !isdigit((unsigned char)*s)) {
		tm_usage_err("%s '%s': must be a number of seconds from 0.001 to 86400",
			     opt, s);
		return -TM_EUSAGE;
	}
	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < 0.001 || v > 86400) {
		tm_usage_err("%s '%s': must be a number of seconds from 0.001 to 86400",
			     opt, s);
		return -TM_EUSAGE;
	}
	*sec = v;
	return 0;
}

/* Local midnight DAYS days from today's. */
static int64_t midnight(int days)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/*
 * A time from now, as journalctl takes one: N with a unit (s, m or min, h,
 * d, w), ago by itself ("1h"), with a "-" or " ago"; ahead with a "+".
 * Whether ARG is one; *out then.
 */
static bool relative_when(const char *arg, int64_t *out)
{
	static const struct {
		const char *name;
		int64_t sec;
	} units[] = { { "s", 1 }, { "m", 60 }, { "min", 60 }, { "h", 3600 },
		      { "d", 86400 }, { "w", 7 * 86400 } };
	const char *p = arg, *u;
	int64_t sign = -1;
	size_t ulen, i;
	uint64_t n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '+' ? 1 : -1;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > 100000000)	/* past 3 years of seconds a digit: no time */
			return false;
		n = n * 10 + (*p - '0');
	}
	u = p;
	ulen = strcspn(u, " ");
	if (u[ulen]) {
		/* Only " ago", and not with a sign. */
		if (strcmp(u + ulen, " ago") || arg[0] == '+' || arg[0] == '-')
			return false;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == ulen && !strncmp(u, units[i].name, ulen)) {
			*out = (int64_t)time(NULL) + sign * (int64_t)n * units[i].sec;
			return true;
		}
	return false;
}

/*
 * A time: @SECONDS; now, today, yesterday, tomorrow; a time from now (1h,
 * 30m, 7d, -2w, '1h ago', +1d); YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DD
 * HH:MM[:SS] with a space or a T (ISO 8601), local time.
 */
int tm_parse_when(const char *opt, const char *arg, int64_t *out)
{
	struct tm tm = { .tm_mday = 1, .tm_isdst = -1 };
	static const char *const days[] = { "yesterday", "today", "tomorrow" };
	int y, mo = 1, d = 1, h = 0, mi = 0, s = 0, n = 0, got, day;
	char *end;

	if (arg[0] == '@') {
		long long v;

		errno = 0;
		v = strtoll(arg + 1, &end, 10);
		if (arg[1] < '0' || arg[1] > '9' || *end || errno)
			goto bad;
		*out = v;
		return 0;
	}
	if (!strcmp(arg, "now")) {
		*out = time(NULL);
		return 0;
	}
	for (day = 0; day < 3; day++)
		if (!strcmp(arg, days[day])) {
			*out = midnight(day - 1);
			return 0;
		}
	if (relative_when(arg, out))
		return 0;
	got = sscanf(arg, "%4d%n-%2d%n-%2d%n%*1[ T]%2d:%2d%n:%2d%n", &y, &n, &mo, &n, &d, &n, &h, &mi,
		     &n, &s, &n);
	if (got < 1 || got == 4 || (size_t)n != strlen(arg) || y < 1970 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = mktime(&tm);
	if (tm.tm_mday != d)	/* 2026-02-30 */
		goto bad;
	return 0;
bad:
	tm_usage_err("%s '%s': a time as 1h, 30m, 7d, 2w (ago), today, yesterday, YYYY-MM-DD, "
		     "'YYYY-MM-DD HH:MM' (or with a T), YYYY-MM, YYYY or @SECONDS", opt, arg);
	return -TM_EUSAGE;
}
