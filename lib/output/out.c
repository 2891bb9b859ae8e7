// SPDX-License-Identifier: GPL-2.0
/*
 * The one writer of records: a list of column descriptions and a record go
 * in; a table row, a JSON object or a CSV line comes out. It alone knows
 * separators, quoting, escaping and units, so no command writes a field by
 * hand (bpftool's json_writer is the model).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

#define LINE_SIZE	(1 << 16)	/* the longest record: cells of PATH_MAX, escaped */
#define SCRATCH_SIZE	(1 << 14)
#define HELD_SIZE	(1 << 18)	/* a stream's lines, written together */

void tm_val_text(struct tm_val *v, const char *s)
{
	v->s = s;
	v->len = strlen(s);
}

void tm_val_word(struct tm_val *v, const char *word)
{
	tm_val_text(v, word);
	v->plain = true;
}

void tm_val_built(struct tm_val *v, const struct tm_buf *scratch, const char *start)
{
	v->s = start;
	v->len = scratch->p - start;
}

/* Text tm built in scratch from start (numbers, an address): as it is everywhere. */
void tm_val_made(struct tm_val *v, const struct tm_buf *scratch, const char *start)
{
	tm_val_built(v, scratch, start);
	v->plain = true;
}

/* An address, or a protocol's name, built in scratch as the value. */
void tm_val_addr(struct tm_val *v, struct tm_buf *scratch, uint8_t family, const uint8_t *a)
{
	const char *start = scratch->p;

	tm_put_addr(scratch, family, a);
	tm_val_made(v, scratch, start);
}

void tm_val_proto(struct tm_val *v, struct tm_buf *scratch, uint8_t proto)
{
	const char *start = scratch->p;

	tm_put_proto(scratch, proto);
	tm_val_made(v, scratch, start);
}

static const char *const fmt_names[] = { "table", "json", "csv", "prometheus" };

int tm_parse_format(const char *opt, const char *arg, unsigned allowed, enum tm_fmt *fmt)
{
	const char *names[TM_FMT_MAX];
	int idx[TM_FMT_MAX], n = 0, i, pick;

	for (i = 0; i < TM_FMT_MAX; i++)
		if (allowed & (1u << i)) {
			idx[n] = i;
			names[n++] = fmt_names[i];
		}
	if (tm_pick(opt, arg, names, n, &pick))
		return -TM_EUSAGE;
	*fmt = idx[pick];
	return 0;
}

int tm_out_init(struct tm_out *o, enum tm_fmt fmt, const struct tm_col *const *cols,
		size_t ncols)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	if (ncols > TM_OUT_MAXCOLS)
		return -E2BIG;
	o->fmt = fmt;
	o->cols = cols;
	o->ncols = ncols;
	o->f = stdout;
	o->line = malloc(LINE_SIZE);
	o->scratch = malloc(SCRATCH_SIZE);
	if (!o->line || !o->scratch) {
		tm_out_free(o);
		return -ENOMEM;
	}
	for (i = 0; i < ncols; i++) {
		o->heads[i] = cols[i]->head;
		o->align[i] = cols[i]->kind == TM_K_TEXT ? TM_LEFT : TM_RIGHT;
		/*
		 * Each key made once, with its separator and a string's
		 * opening quote: one copy a field.
		 */
		o->json_quoted[i] = cols[i]->kind == TM_K_TEXT || cols[i]->kind == TM_K_TIME;
		if (asprintf(&o->json_key[i], "%s\"%s\":%s", i ? "," : "", cols[i]->key,
			     o->json_quoted[i] ? "\"" : "") < 0) {
			o->json_key[i] = NULL;
			tm_out_free(o);
			return -ENOMEM;
		}
		o->json_key_len[i] = strlen(o->json_key[i]);
	}
	if (fmt == TM_FMT_TABLE)
		tm_table_init(&o->table, ncols, o->heads, o->align);
	return 0;
}

void tm_out_free(struct tm_out *o)
{
	size_t i;

	for (i = 0; i < o->ncols; i++) {
		free(o->json_key[i]);
		o->json_key[i] = NULL;
	}
	free(o->line);
	free(o->scratch);
	free(o->held);
	if (o->fmt == TM_FMT_TABLE)
		tm_table_free(&o->table);
	o->line = o->scratch = o->held = NULL;
	o->nheld = 0;
}

/* CSV: the header line, once; JSON without lines: the array opens. */
void tm_out_begin(struct tm_out *o, bool header)
{
	size_t i;

	o->rows = 0;
	if (o->fmt == TM_FMT_JSON && !o->lines)
		fputc('[', o->f);
	if (o->fmt == TM_FMT_CSV && header) {
		struct tm_buf b = { o->line, o->line + LINE_SIZE };

		for (i = 0; i < o->ncols; i++) {
			if (i)
				tm_put_lit(&b, ",");
			tm_put_str(&b, o->cols[i]->key);
		}
		tm_put_lit(&b, "\n");
		fwrite(o->line, 1, b.p - o->line, o->f);
	}
}

static void put_time(struct tm_buf *b, uint64_t ns)
{
	tm_put_ts(b, (int64_t)ns);
}

static void put_real(struct tm_buf *b, double v)
{
	char num[40];
	int n = snprintf(num, sizeof(num), "%.3f", isfinite(v) ? v : 0);

	tm_put(b, num, n > 0 ? (size_t)n : 0);
}

/* A text value, made safe for where it goes by esc, unless it is plain. */
static inline void put_val_text(struct tm_buf *b, const struct tm_val *v,
				void (*esc)(struct tm_buf *, const char *, size_t))
{
	if (v->plain)
		tm_put(b, v->s, v->len);
	else
		esc(b, v->s, v->len);
}

/* A field: its key (with a string's opening quote), then its value. */
static void json_field(struct tm_buf *b, const struct tm_out *o, size_t i,
		       const struct tm_val *v)
{
	if (v->null) {
		tm_put(b, o->json_key[i], o->json_key_len[i] - o->json_quoted[i]);
		tm_put_lit(b, "null");
		return;
	}
	tm_put(b, o->json_key[i], o->json_key_len[i]);
	switch (o->cols[i]->kind) {
	case TM_K_TEXT:
		put_val_text(b, v, tm_put_json);
		tm_put_lit(b, "\"");
		break;
	case TM_K_RATE:
		put_real(b, v->d);
		break;
	case TM_K_TIME:
		put_time(b, v->u);
		tm_put_lit(b, "\"");
		break;
	default:
		tm_put_u64(b, v->u);
		break;
	}
}

static void csv_value(struct tm_buf *b, const struct tm_col *c, const struct tm_val *v)
{
	if (v->null)
		return;
	switch (c->kind) {
	case TM_K_TEXT:
		put_val_text(b, v, tm_put_csv);
		break;
	case TM_K_RATE:
		tm_put_u64(b, v->d > 0 && isfinite(v->d) ? (uint64_t)llround(v->d) : 0);
		break;
	case TM_K_TIME:
		put_time(b, v->u);
		break;
	default:
		tm_put_u64(b, v->u);
		break;
	}
}

/* A value as a table shows it (sizes exact or in units, rates in bytes or bits). */
void tm_put_cell(struct tm_buf *b, const struct tm_col *c, const struct tm_val *v, bool exact,
		 bool bits)
{
	if (v->null) {
		tm_put_lit(b, "-");
		return;
	}
	switch (c->kind) {
	case TM_K_TEXT:
		put_val_text(b, v, tm_put_text);
		break;
	case TM_K_SIZE:
		if (exact)
			tm_put_u64(b, v->u);
		else
			tm_put_size(b, v->u);
		break;
	case TM_K_RATE:
		tm_put_rate(b, v->d, bits);
		break;
	case TM_K_TIME: {
		time_t t = v->u / 1000000000;
		struct tm tm;
		char when[32];
		size_t n;

		localtime_r(&t, &tm);
		n = strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		tm_put(b, when, n);
		break;
	}
	default:
		tm_put_u64(b, v->u);
		break;
	}
}

/* A stream's lines held so far, to the file they are for. */
int tm_out_flush(struct tm_out *o)
{
	int err = 0;

	if (o->nheld && fwrite(o->held, 1, o->nheld, o->held_f) != o->nheld)
		err = -(errno ? errno : EIO);
	o->nheld = 0;
	return err;
}

/*
 * One record. A table keeps it until tm_out_end; a stream's line is held
 * with the lines before it, to be written with them (tm_out_flush); other
 * JSON and CSV go to o->f whole, in one write to its buffer.
 */
int tm_out_row(struct tm_out *o, const void *rec, const void *ctx)
{
	size_t len[TM_OUT_MAXCOLS], i;
	bool ascii[TM_OUT_MAXCOLS];
	struct tm_buf b = { o->line, o->line + LINE_SIZE };

	/* A table's row is written where the table keeps it. */
	if (o->fmt == TM_FMT_TABLE) {
		b.p = tm_table_room(&o->table, LINE_SIZE);
		if (!b.p)
			return -ENOMEM;
		b.end = b.p + LINE_SIZE;
	} else if (o->lines) {
		if (!o->held && !(o->held = malloc(HELD_SIZE)))
			return -ENOMEM;
		/* Lines for another file, or no room for a line's worst case. */
		if (o->held_f != o->f || HELD_SIZE - o->nheld < LINE_SIZE)
			tm_out_flush(o);
		o->held_f = o->f;
		b.p = o->held + o->nheld;
		b.end = b.p + LINE_SIZE;
	}

	if (o->fmt == TM_FMT_JSON)
		tm_put_str(&b, o->rows && !o->lines ? ",{" : "{");
	for (i = 0; i < o->ncols; i++) {
		const struct tm_col *c = o->cols[i];
		struct tm_buf scratch = { o->scratch, o->scratch + SCRATCH_SIZE };
		struct tm_val v = { 0 };

		c->get(rec, ctx, &v, &scratch);
		switch (o->fmt) {
		case TM_FMT_JSON:
			json_field(&b, o, i, &v);
			break;
		case TM_FMT_CSV:
			if (i)
				tm_put_lit(&b, ",");
			csv_value(&b, c, &v);
			break;
		default: {
			char *cell = b.p;

			tm_put_cell(&b, c, &v, o->exact, o->bits);
			len[i] = b.p - cell;
			/* Only a user's text can be wider or narrower than long. */
			ascii[i] = c->kind != TM_K_TEXT || v.null || v.plain;
			break;
		}
		}
	}
	o->rows++;
	if (o->fmt == TM_FMT_TABLE) {
		tm_table_place(&o->table, len, ascii);
		return 0;
	}
	tm_put_str(&b, o->fmt == TM_FMT_JSON ? (o->lines ? "}\n" : "}") : "\n");
	if (o->lines)
		o->nheld = b.p - o->held;
	else
		fwrite(o->line, 1, b.p - o->line, o->f);
	return 0;
}

/* The array closes; a table is printed, padded to its widest cells. */
int tm_out_end(struct tm_out *o)
{
	tm_out_flush(o);
	if (o->fmt == TM_FMT_JSON && !o->lines)
		fputs("]\n", o->f);
	if (o->fmt == TM_FMT_TABLE) {
		tm_table_print(&o->table, o->f);
		tm_table_free(&o->table);
		tm_table_init(&o->table, o->ncols, o->heads, o->align);
	}
	return ferror(o->f) ? -(errno ? errno : EIO) : 0;
}
