// SPDX-License-Identifier: GPL-2.0
/*
 * tm-top's screen: the view drawn with curses, refreshed every delay,
 * driven by keys; stderr held while curses owns the terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <curses.h>

#include "tm-top.h"

static void draw_line(int y, const char *s, size_t len, int attr)
{
	if (y >= LINES)
		return;
	move(y, 0);
	attron(attr);
	/* addnstr takes bytes; the line is cut at the screen's edge by curses */
	addnstr(s, (int)len);
	attroff(attr);
	clrtoeol();
}

static void draw(struct view *v)
{
	char l1[1024], l2[1024], line[16384];
	TM_BUF(b1, l1);
	TM_BUF(b2, l2);
	long k, shown;
	const int first = 4;

	erase();
	if (LINES < 6 || COLS < 30) {
		draw_line(0, "terminal too small", 18, A_BOLD);
		refresh();
		return;
	}
	v->max_width = COLS;
	fit_widths(v);
	header(v, &b1, &b2);
	draw_line(0, l1, b1.p - l1, A_BOLD);
	draw_line(1, l2, b2.p - l2, 0);
	{
		TM_BUF(b, line);

		line_of(v, -1, &b);
		draw_line(first - 1, line, b.p - line, A_REVERSE);
	}
	shown = LINES - first - 1;
	if (v->sel >= (long)v->norder)
		v->sel = v->norder ? (long)v->norder - 1 : 0;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + shown)
		v->top = v->sel - shown + 1;
	for (k = v->top; k < (long)v->norder && k < v->top + shown; k++) {
		TM_BUF(b, line);

		line_of(v, k, &b);
		draw_line(first + (int)(k - v->top), line, b.p - line, k == v->sel ? A_BOLD | A_UNDERLINE : 0);
	}
	if (!v->norder)
		draw_line(first, "(no traffic counted yet)", 24, 0);
	if (v->message[0])
		draw_line(LINES - 1, v->message, strlen(v->message), A_BOLD);
	else
		draw_line(LINES - 1, "q quit  u c p i t g f rows  s sort  b bits  space pause  / user  Enter drill  ? help",
			  86, A_DIM);
	refresh();
}

static int set_by(struct view *v, enum tm_by by)
{
	v->by = by;
	return restart(v);
}

/* Enter: from a user's row to their connections. */
static int drill_down(struct view *v)
{
	const struct tm_row *r;

	if (!v->norder || v->o->self)
		return v->norder ? set_by(v, TM_BY_CONN) : 0;
	r = v->order[v->sel].row;
	if (r->untracked || r->uid == TM_UID_UNKNOWN)
		return 0;
	v->drill[0] = r->uid;
	v->ndrill = 1;
	return set_by(v, TM_BY_CONN);
}

/* Backspace: back to everyone the command line named, by user. */
static int back(struct view *v)
{
	memcpy(v->drill, v->o->users, sizeof(v->drill));
	v->ndrill = v->o->nusers;
	return set_by(v, TM_BY_USER);
}

/* '/': a user to show, typed at the bottom line; empty: everyone. */
static int filter_prompt(struct view *v)
{
	char name[64] = "";
	uint32_t uid;
	int err;

	move(LINES - 1, 0);
	clrtoeol();
	addstr("user (empty: all): ");
	echo();
	curs_set(1);
	timeout(-1);
	getnstr(name, sizeof(name) - 1);
	noecho();
	curs_set(0);
	v->message[0] = 0;
	if (!name[0])
		return back(v);
	err = tm_parse_user(name, &uid);
	if (err) {
		snprintf(v->message, sizeof(v->message), "no such user");
		return 0;
	}
	if (v->o->self && uid != getuid()) {
		snprintf(v->message, sizeof(v->message), "you may see your own traffic only");
		return 0;
	}
	v->drill[0] = uid;
	v->ndrill = 1;
	return restart(v);
}

/* One key; 1 to quit. */
static int key(struct view *v, int ch)
{
	int err = 0;

	v->message[0] = 0;
	switch (ch) {
	case 'q': case 'Q':
		return 1;
	case 'u': err = set_by(v, TM_BY_USER); break;
	case 'c': err = set_by(v, TM_BY_CONN); break;
	case 'p': err = set_by(v, TM_BY_PROC); break;
	case 'i': err = set_by(v, TM_BY_IFACE); break;
	case 't': err = set_by(v, TM_BY_PROTO); break;
	case 'g': err = set_by(v, TM_BY_CGROUP); break;
	case 'J': err = set_by(v, TM_BY_JOB); break;
	case 'f': err = set_by(v, TM_BY_FAMILY); break;
	case 's':
		v->sort = (v->sort + 1) % SORT_MAX;
		err = order_rows(v);
		break;
	case 'b':
		v->bits = !v->bits;
		set_columns(v);
		break;
	case ' ':
		v->paused = !v->paused;
		break;
	case '+':
		/* One level deeper; from the deepest there is, every level
		 * (no roll-up). At every level already: nothing deeper. */
		if (v->by == TM_BY_CGROUP && v->depth >= 0) {
			v->depth = v->depth + 1 >= v->deepest ? -1 : v->depth + 1;
			err = restart(v);
		}
		break;
	case '-':
		/* One level shallower: from every level, one above the deepest
		 * there is; down to 0 (the metered cgroup), no further. */
		if (v->by == TM_BY_CGROUP && v->depth != 0 && (v->depth > 0 || v->deepest > 0)) {
			v->depth = v->depth < 0 ? v->deepest - 1 : v->depth - 1;
			err = restart(v);
		}
		break;
	case '/':
		err = filter_prompt(v);
		break;
	case '\n': case '\r': case KEY_ENTER:
		err = drill_down(v);
		break;
	case KEY_BACKSPACE: case 127: case '\b': case KEY_LEFT:
		err = back(v);
		break;
	case KEY_UP: case 'k':
		if (v->sel > 0)
			v->sel--;
		break;
	case KEY_DOWN: case 'j':
		if (v->sel + 1 < (long)v->norder)
			v->sel++;
		break;
	case KEY_PPAGE:
		v->sel -= LINES - 5;
		if (v->sel < 0)
			v->sel = 0;
		break;
	case KEY_NPAGE:
		v->sel += LINES - 5;
		break;
	case KEY_HOME:
		v->sel = 0;
		break;
	case KEY_END:
		v->sel = v->norder ? (long)v->norder - 1 : 0;
		break;
	case '?': case 'h':
		snprintf(v->message, sizeof(v->message),
			 "u c p i t g f: rows  s: sort  b: bits  space: pause  /: user  Enter: drill  Backspace: back  + -: depth");
		break;
	default:
		break;
	}
	return err ? -1 : 0;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * While curses owns the terminal, messages to stderr (a read that failed,
 * libbpf's) would land on the screen: they go to a memory file, shown once
 * the terminal is given back.
 */
static int hold_stderr(int *saved)
{
	int fd = memfd_create("tm-top-stderr", MFD_CLOEXEC);

	*saved = dup(2);
	if (fd < 0 || *saved < 0 || dup2(fd, 2) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void release_stderr(int held, int saved)
{
	char buf[4096];
	ssize_t n;

	if (saved < 0)
		return;
	dup2(saved, 2);
	close(saved);
	if (held < 0)
		return;
	lseek(held, 0, SEEK_SET);
	while ((n = read(held, buf, sizeof(buf))) > 0)
		if (write(2, buf, n) < 0)
			break;
	close(held);
}

int screen(struct view *v)
{
	double next;
	int err = 0, saved = -1, held;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		tm_err("the screen needs a terminal; for scripts: --batch");
		return -TM_EUSAGE;
	}
	held = hold_stderr(&saved);
	if (!initscr()) {
		release_stderr(held, saved);
		tm_err("cannot set up the terminal");
		return -EIO;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	next = now_sec() + v->o->delay;
	draw(v);
	while (!stop) {
		double left = next - now_sec();
		int ch, r;

		if (left <= 0) {
			next = now_sec() + v->o->delay;
			if (!v->paused) {
				v->have_prev = true;
				if (take_reading(v)) {
					err = -ENOENT;
					break;
				}
			}
			draw(v);
			continue;
		}
		timeout((int)(left * 1000) + 1);
		ch = getch();
		if (ch == ERR)
			continue;
		if (ch == KEY_RESIZE) {
			draw(v);
			continue;
		}
		r = key(v, ch);
		if (r == 1)
			break;
		if (r < 0) {
			err = -ENOENT;
			break;
		}
		/* A new breakdown: its rates come after one more delay. */
		draw(v);
	}
	endwin();
	release_stderr(held, saved);
	return err;
}
