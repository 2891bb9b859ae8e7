// SPDX-License-Identifier: GPL-2.0
/*
 * Text built by appending: for the lines a command writes by the thousand,
 * printf's format parsing would be most of the cost.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

/* Two digits a division: "00" to "99". */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* How many digits v has. */
static size_t digits(uint64_t v)
{
	size_t n = 1;

	for (; v >= 10000; v /= 10000)
		n += 4;
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/*
 * Written in place, last digits first: built on the stack and copied, each
 * copy read back bytes just stored two at a time, and waited on them.
 */
void tm_put_u64(struct tm_buf *b, uint64_t v)
{
	size_t n = digits(v);
	char *p;

	if (n > (size_t)(b->end - b->p)) {
		char tmp[20];
		struct tm_buf t = { tmp, tmp + sizeof(tmp) };

		tm_put_u64(&t, v);
		tm_put(b, tmp, t.p - tmp);
		return;
	}
	p = b->p + n;
	b->p = p;
	while (v >= 100) {
		p -= 2;
		__builtin_memcpy(p, digit_pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (v >= 10)
		__builtin_memcpy(p - 2, digit_pairs + v * 2, 2);
	else
		p[-1] = '0' + v;
}

void tm_put_ts(struct tm_buf *b, int64_t ns)
{
	char frac[9];
	uint32_t f = ns % 1000000000;
	int i;

	tm_put_u64(b, ns / 1000000000);
	for (i = 8; i >= 0; i--) {
		frac[i] = '0' + f % 10;
		f /= 10;
	}
	tm_put(b, ".", 1);
	tm_put(b, frac, 9);
}

void tm_put_addr(struct tm_buf *b, uint8_t family, const uint8_t *a)
{
	if (family == TM_FAMILY_IPV4) {
		char s[24], *p = s;	/* 15 at most; room the compiler can see */
		int i;

		/* Built whole, then put once: a dotted quad is 7 to 15 bytes. */
		for (i = 0; i < 4; i++) {
			unsigned v = a[i];

			if (v >= 100) {
				*p++ = '0' + v / 100;
				*p++ = digit_pairs[v % 100 * 2];
				*p++ = digit_pairs[v % 100 * 2 + 1];
			} else if (v >= 10) {
				*p++ = digit_pairs[v * 2];
				*p++ = digit_pairs[v * 2 + 1];
			} else {
				*p++ = '0' + v;
			}
			*p++ = '.';
		}
		tm_put(b, s, p - s - 1);
	} else if (family == TM_FAMILY_IPV6) {
		char s[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, a, s, sizeof(s));
		tm_put_str(b, s);
	} else {
		tm_put(b, "?", 1);
	}
}
