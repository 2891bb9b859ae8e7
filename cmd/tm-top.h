/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tm-top's two halves: the view (tm-top.c: options, readings, rows in
 * order, the header and each line as text, --batch) and the screen
 * (top-screen.c: curses, keys).
 */
#ifndef TM_TOP_H
#define TM_TOP_H

#include <signal.h>

#include "tm.h"

#define MAX_USERS 256
#define MAX_COLS 16

enum sort { SORT_RATE, SORT_IN, SORT_OUT, SORT_BYTES, SORT_MAX };

extern const char *const sort_names[SORT_MAX];
extern const char *const sort_heads[SORT_MAX];

struct opts {
	const char *pin_root;
	double delay;
	bool bits, batch, exact, self;
	bool json;		/* --batch: each snapshot one JSON array a line */
	uint64_t iterations;	/* --batch -n; 0: for ever */
	uint32_t users[MAX_USERS];
	int nusers;
	enum tm_by by;
	int depth;		/* cgroup roll-up; -1: none */
	enum sort sort;
};

/* What is on the screen, and what it was read from. */
struct view {
	const struct opts *o;
	const struct tm_pins *p;
	struct tm_names names;
	enum tm_by by;
	int depth;
	int deepest;		/* by cgroup: the deepest level read, before the roll-up */
	enum sort sort;
	bool bits, paused;
	uint32_t drill[MAX_USERS];	/* the users shown: the filter or a drill-down */
	int ndrill;
	struct tm_rows rows[2], users[2];	/* the breakdown and the totals: now, before */
	int cur;
	bool have_prev;
	const struct tm_col *cols[MAX_COLS];
	size_t ncols, width[MAX_COLS];	/* widths only grow, until the columns change */
	size_t max_width;		/* the screen's columns; 0: no limit (--batch) */
	struct tm_ordered *order;	/* rows[cur]'s rows, in display order */
	size_t norder;
	long sel, top;			/* selected row, first row shown */
	char message[160];
};

extern volatile sig_atomic_t stop;

void fit_widths(struct view *v);
void header(const struct view *v, struct tm_buf *l1, struct tm_buf *l2);
void line_of(struct view *v, long k, struct tm_buf *b);
int order_rows(struct view *v);
int restart(struct view *v);
void set_columns(struct view *v);
int take_reading(struct view *v);
int screen(struct view *v);

#endif /* TM_TOP_H */
