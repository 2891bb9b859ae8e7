// SPDX-License-Identifier: GPL-2.0
/*
 * Text built by appending: for the lines a command writes by the thousand,
 * printf's format parsing would be most of the cost.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

/* Two digits a division: "00" to "99" (tm_put_u64, inline in base.h). */
const char tm_digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

const uint64_t tm_pow10[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
	1000000000000ull, 10000000000000ull, 100000000000000ull,
	1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
	1000000000000000000ull, 10000000000000000000ull,
};

/*
 * What f makes (at most TM_PUT_ROOM bytes), cut to b's room: the writers
 * below write in place, and take this way only at a line's very end.
 */
#define TM_PUT_ROOM	24
static __attribute__((noinline)) void put_cut(struct tm_buf *b,
					      void (*f)(struct tm_buf *, const void *),
					      const void *arg)
{
	char tmp[TM_PUT_ROOM];
	struct tm_buf t = { tmp, tmp + sizeof(tmp) };

	f(&t, arg);
	tm_put(b, tmp, t.p - tmp);
}

static void put_u64_at(struct tm_buf *b, const void *arg)
{
	tm_put_u64(b, *(const uint64_t *)arg);
}

/* v's first digits, as many as b has room for (a line cut at its end). */
void tm_put_u64_cut(struct tm_buf *b, uint64_t v)
{
	put_cut(b, put_u64_at, &v);
}

/* A point and nine digits, the nanoseconds of a second. */
static void put_frac(struct tm_buf *b, const void *arg)
{
	uint32_t f = *(const uint32_t *)arg;
	char *p = b->p;

	if (b->end - p < 10) {
		put_cut(b, put_frac, arg);
		return;
	}
	p[0] = '.';
	p[1] = '0' + f / 100000000;
	tm_put8(p + 10, f % 100000000);
	b->p = p + 10;
}

/* Seconds, a point, and nanoseconds as nine digits. */
void tm_put_ts(struct tm_buf *b, int64_t ns)
{
	/* (Of a time before 1970, nine digits still: the last nine.) */
	uint32_t f = (uint32_t)(ns % 1000000000) % 1000000000;

	tm_put_u64(b, ns / 1000000000);
	put_frac(b, &f);
}

/*
 * Each byte as an IPv4 address shows it, a dot after it, in four bytes
 * (the unused ones after the dot), and how many bytes that is.
 */
static char octet[256][4];
static uint8_t octet_len[256];

static __attribute__((constructor)) void octets_make(void)
{
	unsigned v;

	for (v = 0; v < 256; v++) {
		char *p = octet[v];

		if (v >= 100)
			*p++ = '0' + v / 100;
		if (v >= 10)
			*p++ = '0' + v / 10 % 10;
		*p++ = '0' + v % 10;
		*p++ = '.';
		octet_len[v] = p - octet[v];
	}
}

/* A dotted quad, written in place: four bytes an octet, the last dot dropped. */
static void put_ipv4(struct tm_buf *b, const void *arg)
{
	const uint8_t *a = arg;
	char *p = b->p;
	int i;

	if (b->end - p < 16) {
		put_cut(b, put_ipv4, arg);
		return;
	}
	for (i = 0; i < 4; i++) {
		__builtin_memcpy(p, octet[a[i]], 4);
		p += octet_len[a[i]];
	}
	b->p = p - 1;
}

void tm_put_addr(struct tm_buf *b, uint8_t family, const uint8_t *a)
{
	if (family == TM_FAMILY_IPV4) {
		put_ipv4(b, a);
	} else if (family == TM_FAMILY_IPV6) {
		char s[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, a, s, sizeof(s));
		tm_put_str(b, s);
	} else {
		tm_put(b, "?", 1);
	}
}
