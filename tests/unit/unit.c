// SPDX-License-Identifier: GPL-2.0
/* Unit tests of lib/'s parsers and formatters, printed as TAP. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tm.h"
#include "unit.h"

static int n, failed;

void ok(int cond, const char *name)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", n, name);
}

void str_is(const char *got, const char *want, const char *name)
{
	ok(!strcmp(got, want), name);
	if (strcmp(got, want))
		printf("# got '%s', want '%s'\n", got, want);
}

/* What a tm_buf writer wrote, as a string. */
static const char *put_size(uint64_t v)
{
	static char buf[32];
	struct tm_buf b = { buf, buf + sizeof(buf) - 1 };

	tm_put_size(&b, v);
	*b.p = '\0';
	return buf;
}

static const char *put_rate(double v)
{
	static char buf[32];
	struct tm_buf b = { buf, buf + sizeof(buf) - 1 };

	tm_put_rate(&b, v, false);
	*b.p = '\0';
	return buf;
}

static void test_human_bytes(void)
{
	static const struct { uint64_t v; const char *s; } cases[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.00 KiB" },
		{ 1536, "1.50 KiB" }, { 10 * 1024, "10.0 KiB" },
		{ 1048576, "1.00 MiB" }, { 500ULL << 30, "500 GiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "human bytes %s", cases[i].s);
		str_is(put_size(cases[i].v), cases[i].s, name);
	}
	str_is(put_rate(1536.4), "1.50 KiB/s", "human rate");
	str_is(put_rate(-3), "0 B/s", "negative rate shows as 0");
}

static void test_interval(void)
{
	static const char *bad[] = { "", "0", "-1", "abc", "1x", "nan", "inf",
				     "0.0009", "86401" };
	double d;
	size_t i;

	ok(!tm_parse_interval("-i", "2", &d) && d == 2, "interval 2");
	ok(!tm_parse_interval("-i", "0.25", &d) && d == 0.25, "interval 0.25");
	ok(!tm_parse_interval("-i", "86400", &d) && d == 86400, "interval a day");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "interval '%s' refused", bad[i]);
		ok(tm_parse_interval("-i", bad[i], &d) == -TM_EUSAGE, name);
	}
}

static void test_count(void)
{
	uint64_t v;

	ok(!tm_parse_count("-n", "1", &v) && v == 1, "count 1");
	ok(!tm_parse_count("-n", "18446744073709551615", &v) && v == UINT64_MAX,
	   "count max");
	ok(tm_parse_count("-n", "0", &v) == -TM_EUSAGE, "count 0 refused");
	ok(tm_parse_count("-n", "-1", &v) == -TM_EUSAGE, "count -1 refused");
	ok(tm_parse_count("-n", "+1", &v) == -TM_EUSAGE, "count +1 refused");
	ok(tm_parse_count("-n", "18446744073709551616", &v) == -TM_EUSAGE,
	   "count overflow refused");
	ok(tm_parse_count("-n", "", &v) == -TM_EUSAGE, "empty count refused");
}

/* The one number parser: bounds, powers of two, and nothing set on a refusal. */
static void test_num(void)
{
	static const struct tm_num size = { .min = 4096, .max = 1u << 30, .pow2 = true };
	static const struct tm_num len = { .min = 0, .max = 32 };
	uint64_t v = 7;
	int depth = 7;

	ok(!tm_parse_num("--x", "4096", &size, &v) && v == 4096, "num: the least");
	ok(!tm_parse_num("--x", "1073741824", &size, &v) && v == 1u << 30, "num: the most");
	v = 7;
	ok(tm_parse_num("--x", "2048", &size, &v) == -TM_EUSAGE && v == 7,
	   "num: below the least refused, nothing set");
	ok(tm_parse_num("--x", "2147483648", &size, &v) == -TM_EUSAGE, "num: above the most refused");
	ok(tm_parse_num("--x", "8192", &size, &v) == 0 && v == 8192 &&
	   tm_parse_num("--x", "12288", &size, &v) == -TM_EUSAGE, "num: a power of two, not another");
	ok(!tm_parse_num("--x", "0", &len, &v) && v == 0 && !tm_parse_num("--x", "32", &len, &v) &&
	   tm_parse_num("--x", "33", &len, &v) == -TM_EUSAGE, "num: 0 to 32, as a prefix length");
	ok(tm_parse_num("--x", " 1", &len, &v) == -TM_EUSAGE &&
	   tm_parse_num("--x", "1 ", &len, &v) == -TM_EUSAGE &&
	   tm_parse_num("--x", "0x10", &len, &v) == -TM_EUSAGE &&
	   tm_parse_num("--x", "1e1", &len, &v) == -TM_EUSAGE &&
	   tm_parse_num("--x", "-0", &len, &v) == -TM_EUSAGE, "num: decimal digits alone");
	ok(!tm_parse_depth("--depth", "0", &depth) && depth == 0 &&
	   !tm_parse_depth("--depth", "1000", &depth) && depth == 1000 &&
	   tm_parse_depth("--depth", "1001", &depth) == -TM_EUSAGE && depth == 1000 &&
	   tm_parse_depth("--depth", "-1", &depth) == -TM_EUSAGE, "num: --depth 0 to 1000");
}

static void test_users(void)
{
	char buf[64];
	uint32_t uid;

	ok(!tm_parse_user("root", &uid) && uid == 0, "user root is 0");
	ok(!tm_parse_user("4242", &uid) && uid == 4242, "a UID with no passwd entry");
	ok(!tm_parse_user("4294967294", &uid) && uid == 4294967294u, "largest UID");
	ok(tm_parse_user("4294967295", &uid) == -TM_EUSAGE, "(uid_t)-1 refused");
	ok(tm_parse_user("-1", &uid) == -TM_EUSAGE, "negative refused");
	ok(tm_parse_user("12ab", &uid) == -TM_EUSAGE, "12ab refused");
	ok(tm_parse_user("", &uid) == -TM_EUSAGE, "empty refused");
	ok(tm_parse_user("no-such-user-xyz", &uid) == -TM_EUSAGE, "unknown name refused");
	str_is(tm_user_name(0, buf, sizeof(buf)), "root", "name of 0");
	str_is(tm_user_name(4242, buf, sizeof(buf)), "4242", "name of an unnamed UID");
	str_is(tm_user_name(TM_UID_UNKNOWN, buf, sizeof(buf)), "unknown", "unknown owner");
}

static void test_ts(void)
{
	char buf[40];
	TM_BUF(b, buf);

	tm_put_ts(&b, 1700000000000000005LL);
	*b.p = '\0';
	str_is(buf, "1700000000.000000005", "timestamp seconds.nanoseconds");
	b.p = buf;
	tm_put_ts(&b, 1796689179160095449LL);
	*b.p = '\0';
	str_is(buf, "1796689179.160095449", "timestamp: every digit of the nanoseconds");
	b.p = buf;
	tm_put_ts(&b, 900000000LL);
	*b.p = '\0';
	str_is(buf, "0.900000000", "timestamp under a second");
	{
		char small[13];
		TM_BUF(c, small);

		tm_put_ts(&c, 1700000000000000005LL);
		ok(c.p - small == 13 && !memcmp(small, "1700000000.00", 13),
		   "timestamp cut to the room left");
	}
}

/* tm_parse_when: relative forms against the clock, within a second or two. */
static void test_when(void)
{
	static const struct { const char *in; int64_t from_now; } rel[] = {
		{ "1h", -3600 }, { "-1h", -3600 }, { "1h ago", -3600 }, { "30m", -1800 },
		{ "45min", -2700 }, { "90s", -90 }, { "7d", -7 * 86400 }, { "2w", -14 * 86400 },
		{ "+1d", 86400 }, { "now", 0 }, { "0d", 0 },
	};
	static const char *const bad[] = { "1x", "h", "1 h", "1h ago ago", "+1h ago", "-1h ago",
		"1hago", "2026-12-01T", "2026-12-01 ", "2026-12-01T08", "99999999999999d", "today ",
		"Today", "", "-", "+", "1.5h", "2026-12-01X08:00" };
	char name[96];
	int64_t t, u;
	time_t now;
	struct tm tm;
	size_t i;

	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(name, sizeof(name), "when '%s' is now %+lld s", rel[i].in,
			 (long long)rel[i].from_now);
		now = time(NULL);
		/* (read after now: at it, or a second or two later) */
		ok(!tm_parse_when("--since", rel[i].in, &t) && t - now - rel[i].from_now >= 0 &&
		   t - now - rel[i].from_now <= 2, name);
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	u = mktime(&tm);
	ok(!tm_parse_when("--since", "today", &t) && t == u, "when 'today' is local midnight");
	tm.tm_mday--;
	tm.tm_isdst = -1;
	u = mktime(&tm);
	ok(!tm_parse_when("--since", "yesterday", &t) && t == u, "when 'yesterday' is the midnight before");
	tm.tm_mday += 2;
	tm.tm_isdst = -1;
	u = mktime(&tm);
	ok(!tm_parse_when("--since", "tomorrow", &t) && t == u, "when 'tomorrow' is the next midnight");
	ok(!tm_parse_when("--since", "2026-12-01T08:00", &t) &&
	   !tm_parse_when("--since", "2026-12-01 08:00", &u) && t == u, "when: ISO 8601's T as a space");
	ok(!tm_parse_when("--since", "2026-12-01T08:00:30", &t) && t == u + 30, "when: with seconds");
	ok(!tm_parse_when("--since", "@1700000000", &t) && t == 1700000000, "when @SECONDS");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "when '%s' refused", bad[i]);
		ok(tm_parse_when("--since", bad[i], &t) == -TM_EUSAGE, name);
	}
}

static void test_u64(void)
{
	static const struct { uint64_t v; const char *s; } cases[] = {
		{ 0, "0" }, { 7, "7" }, { 10, "10" }, { 99, "99" }, { 100, "100" },
		{ 1005, "1005" }, { 4294967295u, "4294967295" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	char name[64], out[32], want[32];
	uint64_t p10 = 1, v[5];
	size_t i, j, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TM_BUF(b, out);

		tm_put_u64(&b, cases[i].v);
		snprintf(name, sizeof(name), "u64 %s", cases[i].s);
		ok(b.p - out == (long)strlen(cases[i].s) && !memcmp(out, cases[i].s, b.p - out),
		   name);
	}
	/* Each side of every change in length, in decimal and in bits, as printf has it. */
	for (i = 0; i < 64; i++) {
		v[0] = p10 - 1;
		v[1] = p10;
		v[2] = p10 + 1;
		v[3] = (1ull << i) - 1;
		v[4] = 1ull << i;
		for (j = 0; j < 5; j++) {
			TM_BUF(b, out);

			tm_put_u64(&b, v[j]);
			snprintf(want, sizeof(want), "%" PRIu64, v[j]);
			bad += b.p - out != (long)strlen(want) || memcmp(out, want, b.p - out);
		}
		if (i < 19)
			p10 *= 10;
	}
	ok(!bad, "u64 at every power of ten and of two, and either side");
	{
		char small[3];
		TM_BUF(b, small);

		tm_put_u64(&b, 12345);
		ok(b.p - small == 3 && !memcmp(small, "123", 3), "u64 cut to the room left");
	}
}

static void test_addr(void)
{
	static const struct { uint8_t a[16]; uint8_t family; const char *s; } cases[] = {
		{ { 0, 0, 0, 0 }, TM_FAMILY_IPV4, "0.0.0.0" },
		{ { 10, 200, 7, 255 }, TM_FAMILY_IPV4, "10.200.7.255" },
		{ { 255, 255, 255, 255 }, TM_FAMILY_IPV4, "255.255.255.255" },
		{ { 192, 0, 2, 99 }, TM_FAMILY_IPV4, "192.0.2.99" },
		{ { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, TM_FAMILY_IPV6, "2001:db8::1" },
	};
	char name[64], out[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TM_BUF(b, out);

		tm_put_addr(&b, cases[i].family, cases[i].a);
		snprintf(name, sizeof(name), "address %s", cases[i].s);
		ok(b.p - out == (long)strlen(cases[i].s) && !memcmp(out, cases[i].s, b.p - out),
		   name);
	}
	{
		/* Every octet, in each place, as printf has it. */
		uint8_t a[4];
		char want[20];
		size_t bad = 0, v;

		for (v = 0; v < 256; v++) {
			TM_BUF(b, out);

			a[0] = v;
			a[1] = 255 - v;
			a[2] = v / 2;
			a[3] = v * 7;
			tm_put_addr(&b, TM_FAMILY_IPV4, a);
			snprintf(want, sizeof(want), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
			bad += b.p - out != (long)strlen(want) || memcmp(out, want, b.p - out);
		}
		ok(!bad, "address: every octet in each place");
	}
	{
		char small[5];
		TM_BUF(b, small);

		tm_put_addr(&b, TM_FAMILY_IPV4, (const uint8_t[]){ 255, 255, 255, 255 });
		ok(b.p - small == 5 && !memcmp(small, "255.2", 5), "address cut to the room left");
	}
}

/* A row of a table, its cells copied where the table keeps them. */
static void table_add(struct tm_table *t, const char *const *text, const size_t *len)
{
	char *p = tm_table_room(t, 256);
	size_t i;

	for (i = 0; p && i < t->ncols; i++) {
		memcpy(p, text[i], len[i]);
		p += len[i];
	}
	tm_table_place(t, len, NULL);
}

static void test_table(void)
{
	static const char *heads[] = { "USER", "IN" };
	static const enum tm_align align[] = { TM_LEFT, TM_RIGHT };
	const char *r1[] = { "alice", "1" }, *r2[] = { "bo", "12345" }, *r3[] = { "\xc3\xa9" "e", "7" };
	const size_t l1[] = { 5, 1 }, l2[] = { 2, 5 }, l3[] = { 3, 1 };
	struct tm_table t;
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	tm_table_init(&t, 2, heads, align);
	table_add(&t, r1, l1);
	table_add(&t, r2, l2);
	table_add(&t, r3, l3);
	tm_table_print(&t, f);
	fclose(f);
	tm_table_free(&t);
	str_is(buf, "USER      IN\nalice      1\nbo     12345\n\xc3\xa9" "e         7\n",
	       "table aligns columns, a UTF-8 character one column wide");
}

/* A row of user uid, its remote port port, with bytes in. */
static struct tm_row order_row(uint32_t uid, uint16_t port, uint64_t bytes)
{
	struct tm_row r = { .uid = uid, .family = TM_FAMILY_IPV4, .proto = 6, .rport = port };

	r.c.in_bytes = bytes;
	return r;
}

static void test_order(void)
{
	struct tm_row rows[] = {
		order_row(1000, 80, 5), order_row(1000, 443, 9), order_row(7, 22, 5),
		order_row(1000, 22, 5), order_row(0, 0, 100), order_row(7, 22, 9),
		order_row(65536, 1, 5),
	};
	/* By value, then the key: UID as a number, then the rest; untracked last. */
	static const size_t want[] = { 5, 1, 2, 3, 0, 6, 4 };
	struct tm_ordered ord[64];
	size_t i, n = sizeof(rows) / sizeof(rows[0]);
	bool right = true;

	rows[4].untracked = 1;
	for (i = 0; i < n; i++)
		ord[i] = (struct tm_ordered){ .value = rows[i].c.in_bytes, .row = &rows[i] };
	ok(!tm_rows_order(ord, n), "order: sorted");
	for (i = 0; i < n; i++)
		right = right && ord[i].row == &rows[want[i]];
	ok(right, "order: largest first, the key breaking ties, the untracked row last");
	/* Past the insertion sort's runs: 64 rows, in reverse. */
	struct tm_row many[64];

	for (i = 0; i < 64; i++) {
		many[i] = order_row(1000, 64 - i, i % 3);
		ord[i] = (struct tm_ordered){ .value = i % 3, .then = 1, .row = &many[i] };
	}
	tm_rows_order(ord, 64);
	for (i = 1, right = true; i < 64; i++)
		right = right && (ord[i - 1].value > ord[i].value ||
				  (ord[i - 1].value == ord[i].value &&
				   tm_row_cmp_key(ord[i - 1].row, ord[i].row) < 0));
	ok(right, "order: 64 rows merged in order, ties by key");
}

static void test_template(void)
{
	char path[64];

	tm_expand_template("/x/%U.log", 42, NULL, path, sizeof(path));
	str_is(path, "/x/42.log", "template: %U");
	tm_expand_template("/x/a%", 42, NULL, path, sizeof(path));
	str_is(path, "/x/a%", "template: a trailing % is itself, nothing read past it");
	tm_expand_template("/x/%%%i", 42, "eth0", path, sizeof(path));
	str_is(path, "/x/%eth0", "template: %% and %i");
	tm_expand_template("/x/%U%U%U%U%U%U%U%U", 4294967294u, NULL, path, 20);
	ok(strlen(path) == 19, "template: cut at the buffer, terminated");
	ok(tm_check_template("", "uU") == -TM_EUSAGE, "template: empty refused");
	ok(tm_check_template("/tmp/", "uU") == -TM_EUSAGE, "template: a directory refused");
}

static void test_cidr(void)
{
	static const struct { const char *in, *out; } good[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "10.1.2.3", "10.1.2.3/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.*.*", "10.0.0.0/16" },
		{ "192.168.1.*", "192.168.1.0/24" },
		{ "*.*.*.*", "0.0.0.0/0" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "2001:db8::*", "2001:db8::/32" },
		{ "2001:db8:abcd:1234:5678:9abc:def0:*", "2001:db8:abcd:1234:5678:9abc:def0:0/112" },
		{ "2001:db8:abcd:1234:5678:9abc:*:*", "2001:db8:abcd:1234:5678:9abc::/96" },
		{ "::*", "::/0" },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:10.1.2.3", "10.1.2.3/32" },
	};
	static const struct { const char *in, *why; } bad[] = {
		{ "10.0.0.0/33", "prefix length must be 0..32" },
		{ "2001:db8::/129", "prefix length must be 0..128" },
		{ "10.0.0.0/", "prefix length must be 0..32" },
		{ "10.0.0.0/-1", "prefix length must be 0..32" },
		{ "10.0.0.0/8x", "prefix length must be 0..32" },
		{ "300.1.1.1", "not an IPv4 or IPv6 address" },
		{ "2001:db8:::1", "not an IPv4 or IPv6 address" },
		{ "10.0.*.5", "a * may only stand for trailing octets" },
		{ "10.*", "an IPv4 wildcard has four parts" },
		{ "10.0.0.0.*", "an IPv4 wildcard has four parts" },
		{ "10.0.*.*/16", "a wildcard takes no /prefix" },
		{ "2001:*:db8::", "a * may only stand for trailing groups" },
		{ "2001:db8:::*", "a * may only stand for trailing groups" },
		{ "", "empty entry" },
		{ "10.1.2.3/8", "host bits set; the network is 10.0.0.0/8" },
		{ "2001:db8::1/32", "host bits set; the network is 2001:db8::/32" },
		{ "::ffff:10.0.0.0/90", "an IPv4-mapped network needs a prefix of 96 or more" },
	};
	char buf[64], why[128], name[160];
	struct tm_cidr c;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(name, sizeof(name), "cidr '%s' is %s", good[i].in, good[i].out);
		if (tm_cidr_parse(good[i].in, &c, why, sizeof(why))) {
			ok(0, name);
			printf("# refused: %s\n", why);
			continue;
		}
		tm_cidr_format(&c, buf, sizeof(buf));
		str_is(buf, good[i].out, name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "cidr '%s' refused: %s", bad[i].in, bad[i].why);
		why[0] = '\0';
		ok(tm_cidr_parse(bad[i].in, &c, why, sizeof(why)) == -TM_EUSAGE &&
		   !strcmp(why, bad[i].why), name);
		if (strcmp(why, bad[i].why))
			printf("# got '%s'\n", why);
	}
}

int main(void)
{
	tm_init("unit");
	/* The refusals print their messages; keep TAP on stdout clean. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	test_human_bytes();
	test_interval();
	test_count();
	test_num();
	test_users();
	test_ts();
	test_when();
	test_u64();
	test_addr();
	test_table();
	test_order();
	test_cidr();
	test_template();
	test_text();
	test_out();
	test_u32map();
	test_history();
	test_ways();
	test_jobs();
	printf("1..%d\n", n);
	return failed != 0;
}
