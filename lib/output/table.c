// SPDX-License-Identifier: GPL-2.0
/* Tables for people: columns as wide as their widest cell, padded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/*
 * A cell is its offset in the arena, and its length and width in 16 bits
 * each: a longer cell (no name is) is cut.
 */
#define CELL_MAX	0xffff

void tm_table_init(struct tm_table *t, size_t ncols, const char *const *heads,
		   const enum tm_align *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->heads = heads;
	t->align = align;
	/* Each column's width on screen, then its longest cell in bytes. */
	t->width = calloc(ncols ? 2 * ncols : 1, sizeof(*t->width));
	for (size_t i = 0; t->width && i < ncols; i++)
		t->width[i] = t->width[ncols + i] = strlen(heads[i]);
}

/*
 * Cells go into one growing arena, as offsets: a report of 65,536 rows is
 * a few allocations, not 650,000. A row is written straight into the
 * arena: tm_table_room gives room for it at the end, the caller writes its
 * cells there one after the other, tm_table_place takes their lengths,
 * and which are ASCII (as wide as they are long: numbers, addresses; NULL:
 * none known to be). Cells are text already made safe to show.
 */
char *tm_table_room(struct tm_table *t, size_t n)
{
	if (!t->width)
		return NULL;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint32_t *c = realloc(t->cells, cap * t->ncols * 2 * sizeof(*c));

		if (!c)
			return NULL;
		t->cells = c;
		t->cap = cap;
	}
	if (t->used + n > t->size) {
		size_t size = t->size ? t->size * 2 : 65536;
		char *a;

		while (size < t->used + n)
			size *= 2;
		if (size > UINT32_MAX)
			return NULL;	/* offsets are 32 bits */
		a = realloc(t->arena, size);
		if (!a)
			return NULL;
		t->arena = a;
		t->size = size;
	}
	return t->arena + t->used;
}

void tm_table_place(struct tm_table *t, const size_t *len, const bool *ascii)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		size_t l = len[i] > CELL_MAX ? CELL_MAX : len[i], w;
		uint32_t *cell = &t->cells[(t->nrows * t->ncols + i) * 2];

		w = ascii && ascii[i] ? l : tm_text_width(t->arena + t->used, l);
		cell[0] = t->used;
		cell[1] = l << 16 | w;
		t->used += len[i];
		if (w > t->width[i])
			t->width[i] = w;
		if (l > t->width[t->ncols + i])
			t->width[t->ncols + i] = l;
	}
	t->nrows++;
}

/* One row, padded, into line; returns its length. */
static size_t format_row(const struct tm_table *t, const char *const *text,
			 const size_t *len, const size_t *width, char *line)
{
	char *p = line;
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		size_t l = len[i], pad = t->width[i] - width[i];
		bool last = i + 1 == t->ncols;

		if (t->align[i] == TM_RIGHT) {
			memset(p, ' ', pad);
			p += pad;
		}
		memcpy(p, text[i], l);
		p += l;
		/* No trailing blanks after a left-aligned last column. */
		if (t->align[i] == TM_LEFT && !last) {
			memset(p, ' ', pad);
			p += pad;
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
	size_t len[t->ncols ? t->ncols : 1], width[t->ncols ? t->ncols : 1], i, r, linelen = 1;
	char *line;

	if (!t->width)
		return;
	/* A cell's bytes can outnumber its columns (UTF-8): room for both. */
	for (i = 0; i < t->ncols; i++)
		linelen += t->width[i] + t->width[t->ncols + i] + 2;
	line = malloc(linelen);
	if (!line)
		return;
	for (i = 0; i < t->ncols; i++) {
		text[i] = t->heads[i];
		len[i] = width[i] = strlen(t->heads[i]);
	}
	fwrite(line, 1, format_row(t, text, len, width, line), f);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const uint32_t *cell = &t->cells[(r * t->ncols + i) * 2];

			text[i] = t->arena + cell[0];
			len[i] = cell[1] >> 16;
			width[i] = cell[1] & 0xffff;
		}
		fwrite(line, 1, format_row(t, text, len, width, line), f);
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
