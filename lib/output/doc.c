// SPDX-License-Identifier: GPL-2.0
/*
 * One writer of nested documents (tm-status, tm-report, tm-mask list), as
 * iproute2's print calls do: each call writes one value, as a JSON member
 * (compact, one document a line) or as the text it is given a format for,
 * so a document is written once, not as twin printers. Straight to a FILE:
 * nothing is cut, whatever the length of a name. Strings are a user's text:
 * escaped for JSON (valid UTF-8 always), made safe for a terminal in text.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void tm_doc_init(struct tm_doc *d, FILE *f, bool json)
{
	memset(d, 0, sizeof(*d));
	d->f = f;
	d->json = json;
}

/* Whether the values written now are an array's (they have no keys). */
static bool in_array(const struct tm_doc *d)
{
	return d->depth && d->depth <= TM_DOC_DEPTH && d->arr[d->depth - 1];
}

/*
 * Starts a member: its key in an object, or a comma in an array. false:
 * none, a value without a key in an object is not in the JSON.
 */
static bool member(struct tm_doc *d, const char *key)
{
	bool arr = in_array(d);

	if (!arr && !key && d->depth)
		return false;
	if (d->depth && d->depth <= TM_DOC_DEPTH) {
		if (d->has[d->depth - 1])
			putc(',', d->f);
		d->has[d->depth - 1] = true;
	}
	if (key && !arr) {
		putc('"', d->f);
		fputs(key, d->f);
		fputs("\":", d->f);
	}
	return true;
}

static void open_(struct tm_doc *d, const char *key, char c)
{
	if (!d->json || !member(d, key))
		return;
	putc(c, d->f);
	if (d->depth < TM_DOC_DEPTH) {
		d->has[d->depth] = false;
		d->arr[d->depth] = c == '[';
	}
	d->depth++;
}

static void close_(struct tm_doc *d, char c)
{
	if (!d->json)
		return;
	putc(c, d->f);
	if (--d->depth == 0)
		putc('\n', d->f);
}

void tm_doc_obj(struct tm_doc *d, const char *key)
{
	open_(d, key, '{');
}

void tm_doc_obj_end(struct tm_doc *d)
{
	close_(d, '}');
}

void tm_doc_arr(struct tm_doc *d, const char *key)
{
	open_(d, key, '[');
}

void tm_doc_arr_end(struct tm_doc *d)
{
	close_(d, ']');
}

/*
 * s (n bytes) made safe by put (tm_put_json, tm_put_csv, tm_put_label,
 * tm_put_text) into a buffer with room for its worst case, then written to
 * f: never cut.
 */
void tm_fput_safe_n(FILE *f, void (*put)(struct tm_buf *, const char *, size_t),
		    const char *s, size_t n)
{
	char small[256], *buf = small;
	size_t room = 6 * n + 8;	/* \u00XX a byte at the most */
	struct tm_buf b;

	if (room > sizeof(small) && !(buf = malloc(room))) {
		fputs("?", f);
		return;
	}
	b = (struct tm_buf){ buf, buf + room };
	put(&b, s, n);
	fwrite(buf, 1, b.p - buf, f);
	if (buf != small)
		free(buf);
}

void tm_fput_safe(FILE *f, void (*put)(struct tm_buf *, const char *, size_t), const char *s)
{
	tm_fput_safe_n(f, put, s, strlen(s));
}

/*
 * Text mode: fmt, this program's own words with one %s (a width allowed:
 * "%-12s "), given the value as text; no fmt: not in the text.
 */
static void text(struct tm_doc *d, const char *fmt, const char *s)
{
	if (fmt)
		fprintf(d->f, fmt, s);
}

void tm_doc_str(struct tm_doc *d, const char *key, const char *fmt, const char *s)
{
	char *t;
	size_t n = strlen(s);

	if (d->json) {
		if (!member(d, key))
			return;
		putc('"', d->f);
		tm_fput_safe(d->f, tm_put_json, s);
		putc('"', d->f);
		return;
	}
	if (!fmt)
		return;
	/* Text a person reads: no control character reaches their terminal. */
	t = malloc(4 * n + 1);
	if (t) {
		struct tm_buf b = { t, t + 4 * n };

		tm_put_text(&b, s, n);
		*b.p = 0;
	}
	text(d, fmt, t ? t : "?");
	free(t);
}

/* A number, already written as text: a JSON member as it is, or into fmt. */
static void number(struct tm_doc *d, const char *key, const char *fmt, const char *num)
{
	if (!d->json)
		text(d, fmt, num);
	else if (member(d, key))
		fputs(num, d->f);
}

void tm_doc_u64(struct tm_doc *d, const char *key, const char *fmt, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	number(d, key, fmt, num);
}

void tm_doc_i64(struct tm_doc *d, const char *key, const char *fmt, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	number(d, key, fmt, num);
}

/* A number with a fraction, written with decimals (JSON and text alike). */
void tm_doc_double(struct tm_doc *d, const char *key, const char *fmt, int decimals, double v)
{
	char num[64];

	snprintf(num, sizeof(num), "%.*f", decimals, v);
	number(d, key, fmt, num);
}

/* true or false; in text, fmt given "yes" or "no" (fmt may leave it out). */
void tm_doc_bool(struct tm_doc *d, const char *key, const char *fmt, bool v)
{
	number(d, key, fmt, v ? (d->json ? "true" : "yes") : (d->json ? "false" : "no"));
}

/* JSON's null where there is no value; text says what it is given. */
void tm_doc_null(struct tm_doc *d, const char *key, const char *text_)
{
	if (d->json)
		number(d, key, NULL, "null");
	else if (text_)
		fputs(text_, d->f);
}

/* Text mode only: words between the values. */
void tm_doc_text(struct tm_doc *d, const char *s)
{
	if (!d->json)
		fputs(s, d->f);
}

/* The four counters, as every JSON object of tm names them (JSON only). */
void tm_doc_counters(struct tm_doc *d, const struct tm_counters *c)
{
	tm_doc_u64(d, "in_bytes", NULL, c->in_bytes);
	tm_doc_u64(d, "out_bytes", NULL, c->out_bytes);
	tm_doc_u64(d, "in_packets", NULL, c->in_packets);
	tm_doc_u64(d, "out_packets", NULL, c->out_packets);
}
