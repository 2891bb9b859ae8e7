// SPDX-License-Identifier: GPL-2.0
/*
 * Text a user controls (process names, cgroup paths, user names), made safe
 * for where it goes: JSON strings, CSV fields, and what people read (tables
 * and report files). All three always come out as valid UTF-8: a byte
 * sequence that is not UTF-8 becomes U+FFFD, one for each maximal invalid
 * subpart (as Unicode recommends, and as Python's errors="replace" does) in
 * JSON and CSV, and \xHH for each byte in text for people.
 */
#include <string.h>

#include "base.h"

/*
 * The length of the UTF-8 character at s (of n bytes), or, where it is not
 * one, minus the length of its maximal invalid subpart (at least 1).
 */
int tm_utf8_char(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else {
		return -1;
	}
	for (i = 1; i < need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

static const char hex[] = "0123456789abcdef";
#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */

/* Quotes, backslashes and control characters escaped; see above for the rest. */
void tm_put_json(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0;
	int l = 0;

	while (i < n) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (l = tm_utf8_char(s + i, n - i)) > 0) {
			i += l;
			continue;
		}
		tm_put(b, str + start, i - start);
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', c };

			tm_put(b, e, 2);
			i++;
		} else if (c < 0x80) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			tm_put(b, e, 6);
			i++;
		} else {
			tm_put_lit(b, REPLACEMENT);
			i += -l;
		}
		start = i;
	}
	tm_put(b, str + start, i - start);
}

/*
 * One CSV field (RFC 4180): in double quotes, with quotes doubled, when it
 * holds a comma, a quote, or any control character (CR and LF among them).
 */
void tm_put_csv(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool quote = false, valid = true;
	size_t i, start;
	int l = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == ',' || c == '"' || c < 0x20 || c == 0x7f) {
			quote = true;
		} else if (c >= 0x80) {
			l = tm_utf8_char(s + i, n - i);
			valid &= l > 0;
			i += (l > 0 ? l : -l) - 1;
		}
	}
	if (!quote && valid) {
		tm_put(b, str, n);
		return;
	}
	if (quote)
		tm_put_lit(b, "\"");
	for (i = start = 0; i < n;) {
		unsigned char c = s[i];

		if (c == '"') {
			tm_put(b, str + start, i + 1 - start);
			start = i;	/* the quote again */
			i++;
		} else if (c >= 0x80 && (l = tm_utf8_char(s + i, n - i)) < 0) {
			tm_put(b, str + start, i - start);
			tm_put_lit(b, REPLACEMENT);
			i += -l;
			start = i;
		} else {
			i += c >= 0x80 ? l : 1;
		}
	}
	tm_put(b, str + start, i - start);
	if (quote)
		tm_put_lit(b, "\"");
}

/*
 * Characters that move the cursor or reorder what follows: the C1
 * controls, and the line, paragraph and bidirectional controls of
 * U+2028..U+202E and U+2066..U+2069.
 */
static bool invisible(const unsigned char *s, int l)
{
	if (l == 2)
		return s[0] == 0xc2 && s[1] < 0xa0;
	if (l == 3 && s[0] == 0xe2)
		return (s[1] == 0x80 && s[2] >= 0xa8 && s[2] <= 0xae) ||
		       (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9);
	return false;
}

/*
 * Text for people: nothing in it can move the cursor, clear a screen or
 * start a line. Control characters, backslashes, invisible controls and
 * bytes that are not UTF-8 are written as \n, \t, \r, \\ and \xHH.
 */
void tm_put_text(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0;
	int l = 1, k;

	while (i < n) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (l = tm_utf8_char(s + i, n - i)) > 0 && !invisible(s + i, l)) {
			i += l;
			continue;
		}
		tm_put(b, str + start, i - start);
		if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
			char e[2] = { '\\', c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\t' ? 't' : 'r' };

			tm_put(b, e, 2);
			l = 1;
		} else {
			if (c < 0x80)
				l = 1;
			else if (l < 0)
				l = -l;
			for (k = 0; k < l; k++) {
				char e[4] = { '\\', 'x', hex[s[i + k] >> 4], hex[s[i + k] & 15] };

				tm_put(b, e, 4);
			}
		}
		i += l;
		start = i;
	}
	tm_put(b, str + start, i - start);
}

/* Columns on a terminal: one a character (wide ones are not told apart). */
size_t tm_text_width(const char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}
