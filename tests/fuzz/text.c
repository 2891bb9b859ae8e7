// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the escapers every name a user controls goes through. JSON and
 * CSV must come out valid UTF-8; JSON and text for people with no control
 * character; CSV with none outside quotes.
 */
#include <stdlib.h>
#include <string.h>

#include "tm.h"

static void valid_utf8(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		int l = tm_utf8_char((const unsigned char *)s + i, n - i);

		if (l <= 0)
			abort();
		i += l;
	}
}

static void no_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 16];
	const char *in = (const char *)data;
	struct tm_buf b;

	if (size > 4096)
		return 0;
	b = (struct tm_buf){ out, out + sizeof(out) };
	tm_put_json(&b, in, size);
	valid_utf8(out, b.p - out);
	no_controls(out, b.p - out);

	b = (struct tm_buf){ out, out + sizeof(out) };
	tm_put_text(&b, in, size);
	valid_utf8(out, b.p - out);
	no_controls(out, b.p - out);

	b = (struct tm_buf){ out, out + sizeof(out) };
	tm_put_csv(&b, in, size);
	valid_utf8(out, b.p - out);
	if (b.p > out && out[0] != '"') {
		const char *p;

		for (p = out; p < b.p; p++)
			if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r')
				abort();
	}
	return 0;
}
