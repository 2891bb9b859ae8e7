// SPDX-License-Identifier: GPL-2.0
/*
 * tm-top: who is using the network now. A screen that refreshes in place
 * (ncurses), rows by rate over the last delay, from the same readings as
 * tm-stat (the sockets' pending counts included, so a long transfer shows a
 * steady rate); or --batch, plain snapshots for scripts, as top -b.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tm-top.h"

const char *const sort_names[SORT_MAX] = { "rate", "in", "out", "bytes" };
const char *const sort_heads[SORT_MAX] = {
	"rate in + out", "rate in", "rate out", "bytes since load",
};

volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-top [OPTION]...\n"
"Show who is using the network now: rows by the rate over the last delay,\n"
"refreshed in place, with the host's totals and rates on top.\n"
"\n"
"  -i, --interval SEC   between readings (default 1; fractions allowed)\n"
"  -d, --delay SEC      the same (top's name for it)\n"
"  -B, --by KEY         the rows: user (default), conn, proc, iface, proto,\n"
"                       cgroup, job or family\n"
"      --depth N        cgroups rolled up N levels below the metered cgroup\n"
"  -s, --sort KEY       rate (in + out, default), in, out, or bytes (since load)\n"
"  -u, --user USER      only this user, by name or UID (repeatable)\n"
"      --bits           rates in bits a second (kbit/s, Mbit/s), not bytes\n"
"  -b, --bytes          exact byte counts, not KiB, MiB, ...\n"
"      --batch          plain snapshots on stdout, no screen (top's -b)\n"
"  -n, --count N        with --batch: stop after N snapshots\n"
"      --format FMT     with --batch: table (default) or json (each snapshot one\n"
"                       array a line, the fields of tm-stat --interval --json)\n"
"  -j, --json           same as --format json\n"
TM_COMMON_HELP
"\n"
"Keys: u c p i t g J f  rows by user, conn, proc, iface, proto, cgroup, job,\n"
"      family\n"
"      s  next sort     b  bits/bytes     space  pause     /  user filter\n"
"      Enter  a user's connections (p then their processes)   Backspace  back\n"
"      + -  cgroup roll-up depth     arrows, PgUp, PgDn  select     q  quit\n"
"\n"
"Rates count the sockets' packets not yet in the maps, so a long transfer\n"
"shows a steady rate. Installed setuid, a user who is not root sees only\n"
"their own rows (as tm-stat). Exit status: 0 on q, SIGINT or SIGTERM; 1 when\n"
"the meter is unloaded under it or cannot be read; 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_BATCH = TM_OPT_OWN, OPT_BITS, OPT_DEPTH, OPT_FORMAT };
	enum tm_fmt fmt = TM_FMT_TABLE;
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "delay", required_argument, NULL, 'd' },
		{ "by", required_argument, NULL, 'B' },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "sort", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "bits", no_argument, NULL, OPT_BITS },
		{ "bytes", no_argument, NULL, 'b' },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		TM_COMMON_OPTIONS,
		{}
	};
	bool have_n = false;
	int c, err, v;

	o->delay = 1;
	o->depth = -1;
	while ((c = getopt_long(argc, argv, "i:d:B:s:u:bn:jvVh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case 'i':
		case 'd':
			err = tm_parse_interval(c == 'i' ? "--interval" : "--delay", optarg, &o->delay);
			break;
		case 'B':
			err = tm_pick("--by", optarg, tm_by_names, TM_BY_MAX, &v);
			o->by = v;
			break;
		case OPT_DEPTH:
			err = tm_parse_depth("--depth", optarg, &o->depth);
			break;
		case 's':
			err = tm_pick("--sort", optarg, sort_names, SORT_MAX, &v);
			o->sort = v;
			break;
		case 'u':
			err = tm_add_user(optarg, o->users, &o->nusers, MAX_USERS);
			break;
		case OPT_BITS:
			o->bits = true;
			break;
		case 'b':
			o->exact = true;
			break;
		case OPT_BATCH:
			o->batch = true;
			break;
		case OPT_FORMAT:
			err = tm_parse_format("--format", optarg,
					      1u << TM_FMT_TABLE | 1u << TM_FMT_JSON, &fmt);
			o->json = fmt == TM_FMT_JSON;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			err = tm_parse_count("--count", optarg, &o->iterations);
			have_n = true;
			break;
		default:
			err = tm_common_opt(c, optarg, &o->pin_root, usage);
			break;
		}
		if (err)
			return err;
	}
	err = tm_no_more_args(argc, argv, optind);
	if (err)
		return err;
	if ((have_n || o->json) && !o->batch) {
		tm_usage_err("%s goes with --batch", have_n ? "--count" : "--json");
		return -TM_EUSAGE;
	}
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* The columns of a breakdown: its keys, the rates, then the totals. */
void set_columns(struct view *v)
{
	const struct tm_col *all[TM_OUT_MAXCOLS];
	static const char *const tail[] = { "in_rate", "out_rate", "in_bytes", "out_bytes" };
	size_t n = tm_row_columns(v->by, true, true, all), i, t;

	v->ncols = 0;
	for (i = 0; i < n && v->ncols < MAX_COLS - 4; i++) {
		const char *k = all[i]->key;

		if (strcmp(k, "ts") && !strstr(k, "_bytes") && !strstr(k, "_packets") &&
		    !strstr(k, "_rate"))
			v->cols[v->ncols++] = all[i];
	}
	for (t = 0; t < 4; t++)
		for (i = 0; i < n; i++)
			if (!strcmp(all[i]->key, tail[t]))
				v->cols[v->ncols++] = all[i];
	for (i = 0; i < v->ncols; i++)
		v->width[i] = strlen(v->cols[i]->head);
}

/* One cell, as text, into b. */
static void cell(const struct view *v, const struct tm_col *c, const struct tm_row *r,
		 struct tm_buf *b)
{
	struct tm_row_ctx ctx = { (struct tm_names *)&v->names, &v->rows[v->cur] };
	char scratch[4096];
	TM_BUF(sb, scratch);
	struct tm_val val = {};

	c->get(r, &ctx, &val, &sb);
	if (c->kind == TM_K_RATE && !val.null) {
		if (!v->have_prev)
			tm_put_lit(b, "-");
		else
			tm_put_rate(b, val.d, v->bits);
		return;
	}
	tm_put_cell(b, c, &val, v->o->exact, false);
}

static bool right_aligned(const struct tm_col *c)
{
	return c->kind != TM_K_TEXT;
}

static double sort_value(const struct view *v, const struct tm_row *r)
{
	switch (v->sort) {
	case SORT_IN:
		return r->in_rate;
	case SORT_OUT:
		return r->out_rate;
	case SORT_BYTES:
		return (double)r->c.in_bytes + r->c.out_bytes;
	default:
		return r->in_rate + r->out_rate;
	}
}

/* A value of 0 or more as a number that sorts as it does. */
static uint64_t as_ordered(double d)
{
	uint64_t u;

	if (!(d > 0))
		return 0;	/* (and NaN) */
	memcpy(&u, &d, sizeof(u));
	return u;
}

int order_rows(struct view *v)
{
	const struct tm_rows *s = &v->rows[v->cur];
	size_t i;
	int err;

	free(v->order);
	v->norder = 0;
	v->order = malloc((s->n ? s->n : 1) * sizeof(*v->order));
	if (!v->order)
		return -ENOMEM;
	/* Largest first, the key breaking ties (so rows do not jump about). */
	for (i = 0; i < s->n; i++)
		v->order[i] = (struct tm_ordered){
			.value = as_ordered(sort_value(v, &s->v[i])),
			.then = s->v[i].c.in_bytes + s->v[i].c.out_bytes,
			.row = &s->v[i],
		};
	err = tm_rows_order(v->order, s->n);
	if (!err)
		v->norder = s->n;
	return err;
}

static int read_one(struct view *v, enum tm_by by, struct tm_rows *s)
{
	int err = tm_rows_read_named(v->p, by, v->drill, v->ndrill, &v->names, -1, s);
	size_t i;

	if (err || by != TM_BY_CGROUP)
		return err;
	/* How deep + may go: the rows' levels before they are rolled up. */
	v->deepest = 0;
	for (i = 0; i < s->n; i++) {
		int l = tm_names_cgroup_level(&v->names, s->v[i].cgroup_id);

		if (l > v->deepest)
			v->deepest = l;
	}
	if (v->depth >= 0)
		tm_rows_cgroups(s, &v->names, v->depth);
	return 0;
}

/* The users' rows the header's totals add up: the rows shown, when by user. */
static const struct tm_rows *user_rows(const struct view *v, int i)
{
	return v->by == TM_BY_USER ? &v->rows[i] : &v->users[i];
}

/*
 * A reading of the breakdown and, unless it is by user already, of the
 * users' totals, with rates since the one before (none after the breakdown
 * changed: it starts again).
 */
int take_reading(struct view *v)
{
	bool users = v->by != TM_BY_USER;
	int next = !v->cur, err;

	err = read_one(v, v->by, &v->rows[next]);
	if (!err && users)
		err = read_one(v, TM_BY_USER, &v->users[next]);
	if (err)
		return err;
	if (v->have_prev) {
		tm_rows_rates(&v->rows[next], &v->rows[v->cur]);
		if (users)
			tm_rows_rates(&v->users[next], &v->users[v->cur]);
	}
	v->cur = next;
	return order_rows(v);
}

/* Start again: new columns, a fresh baseline, no rates until the next one. */
int restart(struct view *v)
{
	set_columns(v);
	v->have_prev = false;
	v->sel = v->top = 0;
	return take_reading(v);
}

/* The host's (or the users shown') totals and rates. */
static void totals(const struct view *v, struct tm_counters *c, double *in, double *out)
{
	const struct tm_rows *u = user_rows(v, v->cur);
	size_t i;

	memset(c, 0, sizeof(*c));
	*in = *out = 0;
	for (i = 0; i < u->n; i++) {
		if (u->v[i].untracked)
			continue;
		tm_counters_add(c, &u->v[i].c);
		*in += u->v[i].in_rate;
		*out += u->v[i].out_rate;
	}
}

/* The header's two lines. */
void header(const struct view *v, struct tm_buf *l1, struct tm_buf *l2)
{
	struct tm_counters c;
	double in, out;
	char when[32], tmp[64];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(tmp, sizeof(tmp), "%g", v->o->delay);
	tm_put_lit(l1, "tm-top  ");
	tm_put_str(l1, when);
	tm_put_lit(l1, "  every ");
	tm_put(l1, tmp, n > 0 ? (size_t)n : 0);
	tm_put_lit(l1, " s  by ");
	tm_put_str(l1, tm_by_names[v->by]);
	if (v->by == TM_BY_CGROUP && v->depth >= 0) {
		n = snprintf(tmp, sizeof(tmp), " (depth %d)", v->depth);
		tm_put(l1, tmp, n > 0 ? (size_t)n : 0);
	}
	tm_put_lit(l1, "  sorted by ");
	tm_put_str(l1, sort_heads[v->sort]);
	if (v->ndrill && v->ndrill <= 4) {
		int i;

		tm_put_lit(l1, "  user ");
		for (i = 0; i < v->ndrill; i++) {
			const char *name = tm_uid_name(v->drill[i]);

			if (i)
				tm_put_lit(l1, ",");
			if (name)
				tm_put_text(l1, name, strlen(name));
			else
				tm_put_u64(l1, v->drill[i]);
		}
	}
	if (v->paused)
		tm_put_lit(l1, "  [paused]");
	totals(v, &c, &in, &out);
	tm_put_lit(l2, "total  in ");
	if (v->have_prev)
		tm_put_rate(l2, in, v->bits);
	else
		tm_put_lit(l2, "-");
	tm_put_lit(l2, "  out ");
	if (v->have_prev)
		tm_put_rate(l2, out, v->bits);
	else
		tm_put_lit(l2, "-");
	tm_put_lit(l2, "   since load  in ");
	if (v->o->exact)
		tm_put_u64(l2, c.in_bytes);
	else
		tm_put_size(l2, c.in_bytes);
	tm_put_lit(l2, "  out ");
	if (v->o->exact)
		tm_put_u64(l2, c.out_bytes);
	else
		tm_put_size(l2, c.out_bytes);
}

/*
 * The widths to draw with: v->width, but within v->max_width the widest
 * text column (a cgroup's path, a name) gives up what the line is over, down
 * to 12 columns, so the figures stay on the screen.
 */
static void draw_widths(const struct view *v, size_t *ew)
{
	size_t total = 0, i, widest = MAX_COLS, over;

	for (i = 0; i < v->ncols; i++) {
		ew[i] = v->width[i];
		total += ew[i] + (i ? 2 : 0);
		if (!right_aligned(v->cols[i]) && (widest == MAX_COLS || ew[i] > ew[widest]))
			widest = i;
	}
	if (!v->max_width || total <= v->max_width || widest == MAX_COLS || ew[widest] <= 12)
		return;
	over = total - v->max_width;
	ew[widest] = ew[widest] > over + 12 ? ew[widest] - over : 12;
}

/*
 * A cell wider than w: its end (a path's last parts, which tell containers
 * apart) after "…". *len and the width shown change.
 */
static const char *cut_cell(const char *s, size_t *len, size_t *shown, size_t w)
{
	static const char ell[] = "\xe2\x80\xa6";
	size_t off = 0;

	while (off < *len && tm_text_width(s + off, *len - off) > w - 1) {
		off++;
		while (off < *len && (s[off] & 0xc0) == 0x80)
			off++;
	}
	/* "…" goes in the byte before, kept for it (cells have room: see line_of). */
	*len -= off;
	*shown = tm_text_width(s + off, *len) + 1;
	memcpy((char *)s + off - 3, ell, 3);
	*len += 3;
	return s + off - 3;
}

/*
 * The table's lines, padded to widths that only grow: first the column
 * heads, then row k of the order. Widths are display widths.
 */
void line_of(struct view *v, long k, struct tm_buf *b)
{
	char cells[MAX_COLS][1024 + 3];
	size_t len[MAX_COLS], w[MAX_COLS], ew[MAX_COLS], i, pad;
	const char *text[MAX_COLS];

	for (i = 0; i < v->ncols; i++) {
		/* (three bytes before each cell for a "…", if it is cut) */
		struct tm_buf cb = { cells[i] + 3, cells[i] + sizeof(cells[i]) };

		if (k < 0)
			tm_put_str(&cb, v->cols[i]->head);
		else
			cell(v, v->cols[i], v->order[k].row, &cb);
		text[i] = cells[i] + 3;
		len[i] = cb.p - text[i];
		w[i] = tm_text_width(text[i], len[i]);
		if (w[i] > v->width[i])
			v->width[i] = w[i];
	}
	draw_widths(v, ew);
	for (i = 0; i < v->ncols; i++) {
		if (w[i] > ew[i])
			text[i] = cut_cell(text[i], &len[i], &w[i], ew[i]);
		pad = ew[i] - w[i];
		if (i)
			tm_put_lit(b, "  ");
		if (right_aligned(v->cols[i]))
			while (pad--)
				tm_put_lit(b, " ");
		tm_put(b, text[i], len[i]);
		if (!right_aligned(v->cols[i]) && i + 1 < v->ncols)
			while (pad--)
				tm_put_lit(b, " ");
	}
}

/* Every row once first, so that the widths fit them all before any is drawn. */
void fit_widths(struct view *v)
{
	char line[16384];
	long k;

	for (k = -1; k < (long)v->norder; k++) {
		TM_BUF(b, line);

		line_of(v, k, &b);
	}
}

/* --batch --json: one snapshot, one array a line, rows as shown. */
static int print_json(struct view *v)
{
	const struct tm_col *cols[TM_OUT_MAXCOLS];
	size_t n = tm_row_columns(v->by, false, true, cols);
	struct tm_row_ctx ctx = { &v->names, &v->rows[v->cur] };
	struct tm_out out;
	long k;
	int err;

	err = tm_out_init(&out, TM_FMT_JSON, cols, n);
	if (err)
		return err;
	tm_out_begin(&out, true);
	for (k = 0; !err && k < (long)v->norder; k++)
		err = tm_out_row(&out, v->order[k].row, &ctx);
	if (!err)
		err = tm_out_end(&out);
	tm_out_free(&out);
	if (!err && (fflush(stdout) || ferror(stdout)))
		err = -errno;
	return err;
}

/* --batch: one snapshot, plain, on stdout. */
static int print_snapshot(struct view *v)
{
	char l1[1024], l2[1024], line[16384];
	TM_BUF(b1, l1);
	TM_BUF(b2, l2);
	long k;

	fit_widths(v);
	header(v, &b1, &b2);
	printf("%.*s\n%.*s\n\n", (int)(b1.p - l1), l1, (int)(b2.p - l2), l2);
	for (k = -1; k < (long)v->norder; k++) {
		TM_BUF(b, line);

		line_of(v, k, &b);
		printf("%.*s\n", (int)(b.p - line), line);
	}
	if (!v->norder)
		printf("(no traffic counted yet)\n");
	putchar('\n');
	return fflush(stdout) || ferror(stdout) ? -errno : 0;
}

static int batch(struct view *v)
{
	uint64_t n;
	int err = 0;

	/* The first snapshot has rates: over the first delay. */
	for (n = 0; !err && !stop && (!v->o->iterations || n < v->o->iterations); n++) {
		tm_sleep(v->o->delay);
		if (stop)
			break;
		v->have_prev = true;
		err = take_reading(v);
		if (!err)
			err = v->o->json ? print_json(v) : print_snapshot(v);
	}
	return err == -EPIPE ? 0 : err;
}

/* Installed setuid and run by a user: their own rows, from the built-in root. */
static int self_view_opts(struct opts *o, bool all)
{
	o->self = !all;
	return tm_self_view_rows(o->pin_root, all, o->users, &o->nusers);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static struct opts o;
	static struct view v;
	struct tm_pins pins;
	bool self = tm_self_view(), all = false, opened = false;
	int err = 0;

	tm_init("tm-top");
	if (self) {
		err = tm_self_view_open(&pins, &all);
		opened = !err;
	}
	if (!err)
		err = parse_args(argc, argv, &o);
	if (!err && self)
		err = self_view_opts(&o, all);
	if (err) {
		if (opened)
			tm_pins_close(&pins);
		return tm_exit_code(err);
	}
	if (!self && (err = tm_pins_open(&pins, o.pin_root)))
		return tm_exit_code(err);
	setlocale(LC_ALL, "");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	v.o = &o;
	v.p = &pins;
	v.by = o.by;
	v.depth = o.depth;
	v.sort = o.sort;
	v.bits = o.bits;
	memcpy(v.drill, o.users, sizeof(v.drill));
	v.ndrill = o.nusers;
	tm_names_init(&v.names, &pins);
	/* The site's job rules (the j key), read whole before the screen. */
	err = tm_names_jobs_load(&v.names);
	if (!err && o.batch)
		tm_stdout_block_buffered();
	if (!err)
		err = restart(&v);
	if (!err)
		err = o.batch ? batch(&v) : screen(&v);
	tm_rows_free(&v.rows[0]);
	tm_rows_free(&v.rows[1]);
	tm_rows_free(&v.users[0]);
	tm_rows_free(&v.users[1]);
	free(v.order);
	tm_names_free(&v.names);
	tm_pins_close(&pins);
	return tm_exit_code(err);
}
