// SPDX-License-Identifier: GPL-2.0
/* Units, numbers from the command line, timestamps and tables. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "tm.h"

static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

/*
 * 1023 B, 1.50 KiB, 10.0 KiB, 500 GiB: three significant digits. Dividing
 * by a power of two is exact in a double; the digits are written by hand,
 * as a large report formats two of these a row.
 */
void tm_human_bytes(uint64_t v, char *buf, size_t len)
{
	char out[32];
	TM_BUF(b, out);
	double d = v;
	size_t u = 0;
	uint64_t r;

	if (v < 1024) {
		tm_put_u64(&b, v);
		tm_put_lit(&b, " B");
	} else {
		while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
			d /= 1024;
			u++;
		}
		if (d < 10) {
			r = (uint64_t)(d * 100 + 0.5);
			tm_put_u64(&b, r / 100);
			tm_put_lit(&b, ".");
			tm_put_u64(&b, r / 10 % 10);
			tm_put_u64(&b, r % 10);
		} else if (d < 100) {
			r = (uint64_t)(d * 10 + 0.5);
			tm_put_u64(&b, r / 10);
			tm_put_lit(&b, ".");
			tm_put_u64(&b, r % 10);
		} else {
			tm_put_u64(&b, (uint64_t)(d + 0.5));
		}
		tm_put_lit(&b, " ");
		tm_put_str(&b, units[u]);
	}
	if (len) {
		size_t n = (size_t)(b.p - out) < len - 1 ? (size_t)(b.p - out) : len - 1;

		memcpy(buf, out, n);
		buf[n] = '\0';
	}
}

const char *tm_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

const char *tm_family_name(uint8_t family)
{
	return family == TM_FAMILY_IPV4 ? "ipv4" : family == TM_FAMILY_IPV6 ? "ipv6" : "other";
}

void tm_human_rate(double bps, char *buf, size_t len)
{
	char b[32];

	tm_human_bytes(bps < 0 ? 0 : (uint64_t)llround(bps), b, sizeof(b));
	snprintf(buf, len, "%s/s", b);
}

/* Seconds, fractions allowed: 0.5, 2, 10.25; at least 1 ms, at most a day. */
int tm_parse_interval(const char *opt, const char *s, double *sec)
{
	char *end;
	double v;

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

int tm_parse_count(const char *opt, const char *s, uint64_t *n)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v == 0) {
		tm_usage_err("%s '%s': must be a whole number from 1", opt, s);
		return -TM_EUSAGE;
	}
	*n = v;
	return 0;
}

void tm_format_ts(const struct timespec *ts, char *buf, size_t len)
{
	snprintf(buf, len, "%lld.%09ld", (long long)ts->tv_sec, ts->tv_nsec);
}

/* A pipe reader should see each line as it is made, not in 4 KiB lumps. */
void tm_stdout_line_buffered(void)
{
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
}

void tm_table_init(struct tm_table *t, size_t ncols, const char **heads,
		   const enum tm_align *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->heads = heads;
	t->align = align;
	t->width = calloc(ncols, sizeof(*t->width));
	for (size_t i = 0; t->width && i < ncols; i++)
		t->width[i] = strlen(heads[i]);
}

/*
 * Cells go into one growing arena, as offsets: a report of 65,536 rows is
 * a few allocations, not 650,000.
 */
int tm_table_add(struct tm_table *t, const char **row)
{
	size_t i;

	if (!t->width)
		return -ENOMEM;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		size_t *c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		size_t l = strlen(row[i]);

		if (t->used + l + 1 > t->size) {
			size_t size = t->size ? t->size * 2 : 65536;
			char *a;

			while (size < t->used + l + 1)
				size *= 2;
			a = realloc(t->arena, size);
			if (!a)
				return -ENOMEM;
			t->arena = a;
			t->size = size;
		}
		memcpy(t->arena + t->used, row[i], l + 1);
		t->cells[t->nrows * t->ncols + i] = t->used;
		t->used += l + 1;
		if (l > t->width[i])
			t->width[i] = l;
	}
	t->nrows++;
	return 0;
}

static void pad(FILE *f, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		fwrite_unlocked(spaces, 1, k, f);
		n -= k;
	}
}

static void print_cell(const struct tm_table *t, size_t col, const char *s, FILE *f)
{
	size_t l = strlen(s), w = t->width[col];
	bool last = col + 1 == t->ncols;

	if (t->align[col] == TM_RIGHT)
		pad(f, w - l);
	fwrite_unlocked(s, 1, l, f);
	/* No trailing blanks after a left-aligned last column. */
	if (t->align[col] == TM_LEFT && !last)
		pad(f, w - l);
	if (!last)
		fwrite_unlocked("  ", 1, 2, f);
}

void tm_table_print(const struct tm_table *t, FILE *f)
{
	size_t i, r;

	if (!t->width)
		return;
	/* One lock for the whole table, not one a write. */
	flockfile(f);
	for (i = 0; i < t->ncols; i++)
		print_cell(t, i, t->heads[i], f);
	fputc_unlocked('\n', f);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			print_cell(t, i, t->arena + t->cells[r * t->ncols + i], f);
		fputc_unlocked('\n', f);
	}
	funlockfile(f);
}

void tm_table_free(struct tm_table *t)
{
	free(t->cells);
	free(t->arena);
	free(t->width);
	memset(t, 0, sizeof(*t));
}
