// SPDX-License-Identifier: GPL-2.0
/* Units, numbers from the command line, and timestamps. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "base.h"

static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

/*
 * 1023 B, 1.50 KiB, 10.0 KiB, 500 GiB: three significant digits. Dividing
 * by a power of two is exact in a double; the digits are written by hand,
 * as a large report formats two of these a row.
 */
void tm_put_size(struct tm_buf *b, uint64_t v)
{
	double d = v;
	size_t u = 0;
	uint64_t r;

	if (v < 1024) {
		tm_put_u64(b, v);
		tm_put_lit(b, " B");
		return;
	}
	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	if (d < 10) {
		r = (uint64_t)(d * 100 + 0.5);
		tm_put_u64(b, r / 100);
		tm_put_lit(b, ".");
		tm_put_u64(b, r / 10 % 10);
		tm_put_u64(b, r % 10);
	} else if (d < 100) {
		r = (uint64_t)(d * 10 + 0.5);
		tm_put_u64(b, r / 10);
		tm_put_lit(b, ".");
		tm_put_u64(b, r % 10);
	} else {
		tm_put_u64(b, (uint64_t)(d + 0.5));
	}
	tm_put_lit(b, " ");
	tm_put_str(b, units[u]);
}

/* Bits a second in SI units, as network people count them: 0 bit/s, 1.50 Mbit/s. */
static void put_bitrate(struct tm_buf *b, double bytes_per_sec)
{
	static const char *const si[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	double d = bytes_per_sec > 0 && isfinite(bytes_per_sec) ? bytes_per_sec * 8 : 0;
	size_t u = 0;
	char num[32];
	int n;

	while (d >= 1000 && u + 1 < sizeof(si) / sizeof(si[0])) {
		d /= 1000;
		u++;
	}
	if (!u)
		n = snprintf(num, sizeof(num), "%.0f %s", d, si[u]);
	else
		n = snprintf(num, sizeof(num), d < 10 ? "%.2f %s" : d < 100 ? "%.1f %s" : "%.0f %s",
			     d, si[u]);
	tm_put(b, num, n > 0 ? (size_t)n : 0);
}

/* A rate: bytes a second in binary units (1.50 MiB/s), or with bits in bits a second. */
void tm_put_rate(struct tm_buf *b, double bytes_per_sec, bool bits)
{
	if (bits) {
		put_bitrate(b, bytes_per_sec);
		return;
	}
	tm_put_size(b, bytes_per_sec < 0 ? 0 : (uint64_t)llround(bytes_per_sec));
	tm_put_lit(b, "/s");
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	}
	return NULL;
}

/* tcp, udp, icmp, icmpv6, or the number. */
void tm_put_proto(struct tm_buf *b, uint8_t proto)
{
	const char *name = proto_name(proto);

	if (name)
		tm_put_str(b, name);
	else
		tm_put_u64(b, proto);
}

bool tm_proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

const char *tm_family_name(uint8_t family)
{
	return family == TM_FAMILY_IPV4 ? "ipv4" : family == TM_FAMILY_IPV6 ? "ipv6" : "other";
}

/* Sleeps sec seconds; a signal cuts it short (the caller's loop sees why). */
void tm_sleep(double sec)
{
	struct timespec ts = { (time_t)sec, (long)((sec - floor(sec)) * 1e9) };

	nanosleep(&ts, NULL);
}

/* A pipe reader should see each line as it is made, not in 4 KiB lumps. */
void tm_stdout_line_buffered(void)
{
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
}

/*
 * For commands that write many lines: stdout in 64 KiB writes (glibc takes
 * the size only with a buffer of ours), flushed by the command when a
 * report or a round of reading is done; and a closed pipe comes back from
 * write() as EPIPE, not as a signal that kills.
 */
void tm_stdout_block_buffered(void)
{
	static char outbuf[1 << 16];

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
}
