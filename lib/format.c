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
		uint32_t *c = realloc(t->cells, cap * t->ncols * 2 * sizeof(*c));

		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		size_t l = strlen(row[i]);
		uint32_t *cell = &t->cells[(t->nrows * t->ncols + i) * 2];

		if (t->used + l > t->size) {
			size_t size = t->size ? t->size * 2 : 65536;
			char *a;

			while (size < t->used + l)
				size *= 2;
			if (size > UINT32_MAX)
				return -ENOMEM;	/* offsets are 32 bits */
			a = realloc(t->arena, size);
			if (!a)
				return -ENOMEM;
			t->arena = a;
			t->size = size;
		}
		memcpy(t->arena + t->used, row[i], l);
		cell[0] = t->used;
		cell[1] = l;
		t->used += l;
		if (l > t->width[i])
			t->width[i] = l;
	}
	t->nrows++;
	return 0;
}

/* One row, padded, into line; returns its length. */
static size_t format_row(const struct tm_table *t, const char *const *text,
			 const size_t *len, char *line)
{
	char *p = line;
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		size_t w = t->width[i], l = len[i];
		bool last = i + 1 == t->ncols;

		if (t->align[i] == TM_RIGHT) {
			memset(p, ' ', w - l);
			p += w - l;
		}
		memcpy(p, text[i], l);
		p += l;
		/* No trailing blanks after a left-aligned last column. */
		if (t->align[i] == TM_LEFT && !last) {
			memset(p, ' ', w - l);
			p += w - l;
		}
		if (!last) {
			memcpy(p, "  ", 2);
			p += 2;
		}
	}
	*p++ = '\n';
	return p - line;
}

void tm_table_print(const struct tm_table *t, FILE *f)
{
	const char *text[t->ncols ? t->ncols : 1];
	size_t len[t->ncols ? t->ncols : 1], i, r, linelen = 1;
	char *line;

	if (!t->width)
		return;
	for (i = 0; i < t->ncols; i++)
		linelen += t->width[i] + 2;
	line = malloc(linelen);
	if (!line)
		return;
	for (i = 0; i < t->ncols; i++) {
		text[i] = t->heads[i];
		len[i] = strlen(t->heads[i]);
	}
	fwrite(line, 1, format_row(t, text, len, line), f);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const uint32_t *cell = &t->cells[(r * t->ncols + i) * 2];

			text[i] = t->arena + cell[0];
			len[i] = cell[1];
		}
		fwrite(line, 1, format_row(t, text, len, line), f);
	}
	free(line);
}

void tm_table_free(struct tm_table *t)
{
	free(t->cells);
	free(t->arena);
	free(t->width);
	memset(t, 0, sizeof(*t));
}
