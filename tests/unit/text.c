// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the writer: escaping, UTF-8 repair, CSV quoting, records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm.h"
#include "unit.h"

typedef void (*put_fn)(struct tm_buf *b, const char *s, size_t n);

/* What put makes of the n bytes at in, as a C string. */
static const char *put(put_fn fn, const char *in, size_t n)
{
	static char out[512];
	struct tm_buf b = { out, out + sizeof(out) - 1 };

	fn(&b, in, n);
	*b.p = '\0';
	return out;
}

#define PUT(fn, lit) put(fn, lit, sizeof(lit) - 1)

static void test_utf8(void)
{
	static const struct { const char *s; size_t n; int want; } cases[] = {
		{ "a", 1, 1 }, { "\xc3\xa9", 2, 2 }, { "\xe2\x82\xac", 3, 3 },
		{ "\xf0\x9f\x98\x80", 4, 4 },
		{ "\xff", 1, -1 }, { "\x80", 1, -1 }, { "\xc0\xaf", 2, -1 },	/* overlong */
		{ "\xe0\x80\xaf", 3, -1 },	/* overlong: E0 takes A0..BF */
		{ "\xed\xa0\x80", 3, -1 },	/* a surrogate */
		{ "\xf4\x90\x80\x80", 4, -1 },	/* past U+10FFFF */
		{ "\xe2\x82", 2, -2 },		/* cut short: one maximal subpart */
		{ "\xe2\x82" "a", 3, -2 },
		{ "\xf0\x9f\x98", 3, -3 },
	};
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "utf8 case %zu is %d", i, cases[i].want);
		ok(tm_utf8_char((const unsigned char *)cases[i].s, cases[i].n) == cases[i].want,
		   name);
	}
}

/*
 * Each byte that needs a look, at every place in and around the eight-byte
 * steps: escaped where it is, the plain bytes about it as they were.
 */
static void test_json_steps(void)
{
	static const struct { const char *in, *out; } special[] = {
		{ "\x01", "\\u0001" }, { "\x1f", "\\u001f" }, { "\"", "\\\"" },
		{ "\\", "\\\\" }, { "\x7f", "\\u007f" }, { "\x80", "\xef\xbf\xbd" },
		{ "\xff", "\xef\xbf\xbd" }, { "\xc3\xa9", "\xc3\xa9" }, { " ", " " },
		{ "~", "~" }, { "!", "!" }, { "#", "#" }, { "[", "[" }, { "]", "]" },
	};
	char in[40], want[48], name[64];
	size_t i, k, bad, len;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		bad = 0;
		for (k = 0; k < 24; k++) {
			len = strlen(special[i].in);
			memset(in, 'a', k);
			memcpy(in + k, special[i].in, len);
			memset(in + k + len, 'b', 24 - k);
			snprintf(want, sizeof(want), "%.*s%s%.*s", (int)k, in, special[i].out,
				 (int)(24 - k), in + k + len);
			bad += strcmp(put(tm_put_json, in, 24 + len), want) != 0;
		}
		snprintf(name, sizeof(name), "json: special case %zu at each of 24 places", i);
		ok(!bad, name);
	}
}

void test_text(void)
{
	test_utf8();
	test_json_steps();
	str_is(PUT(tm_put_json, "plain"), "plain", "json: plain text as it is");
	str_is(PUT(tm_put_json, "a\"b\\c"), "a\\\"b\\\\c", "json: quote and backslash escaped");
	str_is(PUT(tm_put_json, "a\nb\tc\x1b[2J\x7f"), "a\\u000ab\\u0009c\\u001b[2J\\u007f",
	       "json: control characters as \\u00XX");
	str_is(PUT(tm_put_json, "caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac",
	       "json: valid UTF-8 kept");
	str_is(PUT(tm_put_json, "a\xff\"b"), "a\xef\xbf\xbd\\\"b", "json: 0xff becomes U+FFFD");
	str_is(PUT(tm_put_json, "\xe2\x82x\xf0\x9f\x98"), "\xef\xbf\xbdx\xef\xbf\xbd",
	       "json: a cut sequence is one U+FFFD");
	str_is(PUT(tm_put_json, "\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd",
	       "json: an overlong form is one U+FFFD a byte");

	str_is(PUT(tm_put_csv, "plain"), "plain", "csv: plain field unquoted");
	str_is(PUT(tm_put_csv, "a,b\"c"), "\"a,b\"\"c\"", "csv: comma and quote: quoted, quote doubled");
	str_is(PUT(tm_put_csv, "x\n0,root,9,"), "\"x\xe2\x90\x8a" "0,root,9,\"",
	       "csv: a newline as its picture, quoted for the commas, no new row");
	str_is(PUT(tm_put_csv, "\"\""), "\"\"\"\"\"\"", "csv: quotes only");
	str_is(PUT(tm_put_csv, "a\xff"), "a\xef\xbf\xbd", "csv: invalid UTF-8 repaired");
	str_is(PUT(tm_put_csv, "a\t\xff,"), "\"a\xe2\x90\x89\xef\xbf\xbd,\"",
	       "csv: a tab as its picture, repaired and quoted");
	str_is(PUT(tm_put_csv, "\x1b[2J\r\x7f"), "\xe2\x90\x9b[2J\xe2\x90\x8d\xe2\x90\xa1",
	       "csv: ESC, CR and DEL as pictures, unquoted: nothing a terminal obeys");
	str_is(PUT(tm_put_csv, "a\xc2\x9b" "1m\xc3\xa9"), "a\xef\xbf\xbd" "1m\xc3\xa9",
	       "csv: a C1 control as U+FFFD, other UTF-8 kept");

	str_is(PUT(tm_put_label, "a\\x2d\"b\nc"), "a\\\\x2d\\\"b\\nc",
	       "label: backslash, quote and newline escaped as the format says");
	str_is(PUT(tm_put_label, "\x1b[2J\t\xff\xc2\x85"), "\xe2\x90\x9b[2J\xe2\x90\x89\xef\xbf\xbd\xef\xbf\xbd",
	       "label: other controls as pictures, invalid bytes and C1 as U+FFFD");

	str_is(PUT(tm_put_text, "plain \xc3\xa9"), "plain \xc3\xa9", "text: plain text as it is");
	str_is(PUT(tm_put_text, "x\n0,root\x1b[2J"), "x\\n0,root\\x1b[2J",
	       "text: newline and escape visible");
	str_is(PUT(tm_put_text, "a\\b\tc\rd\x7f"), "a\\\\b\\tc\\rd\\x7f", "text: backslash and controls");
	str_is(PUT(tm_put_text, "a\xff\xc2\x9b"), "a\\xff\\xc2\\x9b",
	       "text: invalid bytes and C1 controls as \\xHH");
	str_is(PUT(tm_put_text, "\xe2\x80\xae" "evil"), "\\xe2\\x80\\xae" "evil",
	       "text: a bidi override is shown, not obeyed");
	ok(tm_text_width("\xc3\xa9t\xc3\xa9", 5) == 3, "text width counts characters");
}

struct rec {
	uint64_t n;
	const char *s;
	double rate;
	bool null;
};

static void get_n(const void *r, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ((const struct rec *)r)->n;
	v->null = ((const struct rec *)r)->null;
}

static void get_s(const void *r, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->s = ((const struct rec *)r)->s;
	v->len = strlen(v->s);
}

static void get_rate(const void *r, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->d = ((const struct rec *)r)->rate;
}

static const struct tm_col cols[] = {
	{ .key = "n", .head = "N", .kind = TM_K_NUM, .get = get_n },
	{ .key = "name", .head = "NAME", .kind = TM_K_TEXT, .get = get_s },
	{ .key = "size", .head = "SIZE", .kind = TM_K_SIZE, .get = get_n },
	{ .key = "rate", .head = "RATE", .kind = TM_K_RATE, .get = get_rate },
};

/* The records written as fmt, as a C string. */
static const char *write_recs(enum tm_fmt fmt, bool lines, const struct rec *r, size_t n)
{
	static char buf[1024];
	const struct tm_col *c[] = { &cols[0], &cols[1], &cols[2], &cols[3] };
	struct tm_out o;
	size_t i;

	memset(buf, 0, sizeof(buf));
	if (tm_out_init(&o, fmt, c, 4))
		return "(no memory)";
	o.lines = lines;
	o.f = fmemopen(buf, sizeof(buf) - 1, "w");
	tm_out_begin(&o, true);
	for (i = 0; i < n; i++)
		tm_out_row(&o, &r[i], NULL);
	tm_out_end(&o);
	fclose(o.f);
	tm_out_free(&o);
	return buf;
}

void test_out(void)
{
	const struct rec r[] = {
		{ 2048, "a,\"b\"", 1.5, false },
		{ 7, "x\ny", 0, true },
	};

	str_is(write_recs(TM_FMT_JSON, false, r, 2),
	       "[{\"n\":2048,\"name\":\"a,\\\"b\\\"\",\"size\":2048,\"rate\":1.500},"
	       "{\"n\":null,\"name\":\"x\\u000ay\",\"size\":null,\"rate\":0.000}]\n",
	       "writer: a JSON array, commas and nulls");
	str_is(write_recs(TM_FMT_JSON, true, r, 1),
	       "{\"n\":2048,\"name\":\"a,\\\"b\\\"\",\"size\":2048,\"rate\":1.500}\n",
	       "writer: JSON lines");
	str_is(write_recs(TM_FMT_JSON, false, r, 0), "[]\n", "writer: an empty JSON array");
	str_is(write_recs(TM_FMT_CSV, false, r, 2),
	       "n,name,size,rate\n2048,\"a,\"\"b\"\"\",2048,2\n,x\xe2\x90\x8a" "y,,0\n",
	       "writer: CSV with header, quoting and empty nulls");
	str_is(write_recs(TM_FMT_TABLE, false, r, 2),
	       "   N  NAME       SIZE   RATE\n"
	       "2048  a,\"b\"  2.00 KiB  2 B/s\n"
	       "   -  x\\ny          -  0 B/s\n",
	       "writer: a table, escaped and in units");
}

void test_u32map(void)
{
	struct tm_u32map m = { .vsize = sizeof(uint64_t) };
	bool fresh, all = true;
	uint64_t *v;
	uint32_t i;

	for (i = 0; i < 5000; i++) {
		v = tm_u32map_put(&m, i * 7919, &fresh);
		all &= v && fresh && *v == 0;
		if (v)
			*v = i;
	}
	ok(all, "u32map: 5000 keys inserted fresh and zeroed");
	for (i = 0; i < 5000 && all; i++) {
		v = tm_u32map_get(&m, i * 7919);
		all &= v && *v == i;
	}
	ok(all && m.n == 5000, "u32map: every key found with its value after growing");
	v = tm_u32map_put(&m, 7919, &fresh);
	ok(v && !fresh && *v == 1, "u32map: putting a key again finds it");
	ok(!tm_u32map_get(&m, 1), "u32map: a key never put is not there");
	tm_u32map_free(&m, NULL);
	ok(!tm_u32map_get(&m, 0), "u32map: empty after free");
}
