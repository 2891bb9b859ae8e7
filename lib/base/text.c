// SPDX-License-Identifier: GPL-2.0
/*
 * Text a user controls (process names, cgroup paths, user names), made safe
 * for where it goes: JSON strings, CSV fields, and what people read (tables
 * and report files), Prometheus labels. All come out as valid UTF-8: a byte
 * sequence that is not UTF-8 becomes U+FFFD, one for each maximal invalid
 * subpart (as Unicode recommends, and as Python's errors="replace" does) in
 * JSON, CSV and labels, and \xHH for each byte in text for people. None
 * passes a control character on: JSON escapes it, text shows it as \xHH,
 * CSV and labels (which have no escape for it) write its picture.
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

/*
 * Whether any of the eight bytes at s needs a look: a control character,
 * a quote, a backslash, DEL, or a byte of a character past ASCII.
 */
static bool json_word_special(const unsigned char *s)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t x, q, bs, del;

	__builtin_memcpy(&x, s, 8);
	q = x ^ (ones * '"');
	bs = x ^ (ones * '\\');
	del = x ^ (ones * 0x7f);
	/* (y - ones) & ~y & high: some byte of y is 0, for bytes under 0x80. */
	return ((x - ones * 0x20) | (q - ones) | (bs - ones) | (del - ones) | x) & high;
}

/* Quotes, backslashes and control characters escaped; see above for the rest. */
void tm_put_json(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0;
	int l = 0;

	while (i < n) {
		unsigned char c;

		/* Eight plain bytes at a time, the usual case. */
		if (n - i >= 8 && !json_word_special(s + i)) {
			i += 8;
			continue;
		}
		c = s[i];
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
 * A control character as its picture, U+2400..U+241F and U+2421 for DEL:
 * where a format has no escape for it (CSV, a Prometheus label), the byte
 * itself would reach a terminal that prints the file, and obey it there.
 */
static void put_picture(struct tm_buf *b, unsigned char c)
{
	char e[3] = { '\xe2', '\x90', c == 0x7f ? '\xa1' : (char)(0x80 + c) };

	tm_put(b, e, 3);
}

/*
 * Valid UTF-8 with no control character, C0, DEL or C1: controls as their
 * pictures (C1 as U+FFFD: it has none), bytes that are not UTF-8 as U+FFFD,
 * any other character as it is. Writes the character at s (of n bytes);
 * returns how many bytes it took.
 */
static size_t put_inert(struct tm_buf *b, const unsigned char *s, size_t n)
{
	int l;

	if (s[0] < 0x20 || s[0] == 0x7f) {
		put_picture(b, s[0]);
		return 1;
	}
	l = tm_utf8_char(s, n);
	if (l < 0 || (l == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
		tm_put_lit(b, REPLACEMENT);
		return l < 0 ? -l : l;
	}
	tm_put(b, (const char *)s, l);
	return l;
}

/* Whether s holds nothing put_inert() would change. */
static bool inert(const unsigned char *s, size_t n)
{
	size_t i;
	int l;

	for (i = 0; i < n; i += l) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		l = s[i] < 0x80 ? 1 : tm_utf8_char(s + i, n - i);
		if (l < 0 || (l == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0))
			return false;
	}
	return true;
}

/*
 * One CSV field (RFC 4180), in double quotes with quotes doubled when it
 * holds a comma or a quote. CSV has no escape, so a control character is
 * written as its picture (see put_inert()): a field never breaks a line
 * and never reaches a terminal as a command.
 */
void tm_put_csv(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	bool quote = memchr(str, ',', n) || memchr(str, '"', n);
	size_t i;

	if (!quote && inert(s, n)) {
		tm_put(b, str, n);
		return;
	}
	if (quote)
		tm_put_lit(b, "\"");
	for (i = 0; i < n;) {
		if (s[i] == '"') {
			tm_put_lit(b, "\"\"");
			i++;
		} else {
			i += put_inert(b, s + i, n - i);
		}
	}
	if (quote)
		tm_put_lit(b, "\"");
}

/*
 * A Prometheus label value: the name itself, escaped only as the
 * exposition format says (a backslash, a quote and a line feed), so
 * Prometheus reads back the real name (a systemd unit's "\x2d" stays four
 * characters); any other control character as its picture, and bytes that
 * are not UTF-8 as U+FFFD (see put_inert()).
 */
void tm_put_label(struct tm_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i;

	for (i = 0; i < n;) {
		if (s[i] == '\\' || s[i] == '"') {
			char e[2] = { '\\', s[i] };

			tm_put(b, e, 2);
			i++;
		} else if (s[i] == '\n') {
			tm_put_lit(b, "\\n");
			i++;
		} else {
			i += put_inert(b, s + i, n - i);
		}
	}
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
	size_t i = 0, w = n;

	/* Less the continuation bytes (10xxxxxx), eight bytes at a time. */
	for (; i + 8 <= n; i += 8) {
		uint64_t x, cont;

		memcpy(&x, s + i, sizeof(x));
		cont = x & ~(x << 1) & 0x8080808080808080ull;
		if (cont)
			w -= __builtin_popcountll(cont);
	}
	for (; i < n; i++)
		w -= ((unsigned char)s[i] & 0xc0) == 0x80;
	return w;
}

/* A user's string as a message shows it: its start, with nothing a terminal obeys. */
const char *tm_shown(const char *s, size_t n, char *buf, size_t len)
{
	struct tm_buf b = { buf, buf + len - 4 };

	tm_put_text(&b, s, n > 60 ? 60 : n);
	if (n > 60)
		tm_put_lit(&b, "...");
	*b.p = '\0';
	return buf;
}
