// SPDX-License-Identifier: GPL-2.0
/*
 * Networks as users write them: CIDR (10.0.0.0/8, 2001:db8::/32), a bare
 * address, or the wildcard form where each trailing * is one octet or one
 * 16-bit group (10.0.*.*, 2001:db8:abcd:1234:5678:9abc:def0:*), with "::*"
 * standing for every group after the ones written (2001:db8::* is /32).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const __u8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -TM_EUSAGE;
}

static int addr_bits(const struct tm_cidr *c)
{
	return c->family == TM_FAMILY_IPV4 ? 32 : 128;
}

/* Zero the host bits; true if any was set. */
bool tm_cidr_clear_host_bits(struct tm_cidr *c)
{
	int bytes = addr_bits(c) / 8, i;
	bool set = false;

	for (i = 0; i < bytes; i++) {
		int keep = c->prefixlen - i * 8;
		__u8 mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (__u8)(0xff << (8 - keep));

		set |= (c->addr[i] & ~mask) != 0;
		c->addr[i] &= mask;
	}
	return set;
}

static int parse_v4_wildcard(char *s, struct tm_cidr *c, char *why, size_t len)
{
	char *parts[4], *save, *tok;
	int n = 0, i, fixed = 0;

	for (tok = strtok_r(s, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (n == 4)
			return fail(why, len, "an IPv4 wildcard has four parts");
		parts[n++] = tok;
	}
	if (n != 4)
		return fail(why, len, "an IPv4 wildcard has four parts");
	for (i = 0; i < 4; i++) {
		char *end;
		long v;

		if (!strcmp(parts[i], "*"))
			continue;
		if (i > fixed)
			return fail(why, len, "a * may only stand for trailing octets");
		errno = 0;
		v = strtol(parts[i], &end, 10);
		if (!isdigit((unsigned char)parts[i][0]) || *end || v > 255)
			return fail(why, len, "not an IPv4 or IPv6 address");
		c->addr[i] = v;
		fixed++;
	}
	c->family = TM_FAMILY_IPV4;
	c->prefixlen = fixed * 8;
	return 0;
}

static int count_groups(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (*s != ':' && (s[1] == ':' || !s[1]))
			n++;
	return n;
}

static int parse_v6_wildcard(char *s, struct tm_cidr *c, char *why, size_t len)
{
	size_t l = strlen(s);
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN + 16];
	int stars = 0;

	if (l >= 3 && !strcmp(s + l - 3, "::*")) {
		/* Everything after the groups written is wild. */
		s[l - 1] = '\0';
		if (strchr(s, '*') || strstr(s, "::") != s + l - 3)
			return fail(why, len, "a * may only stand for trailing groups");
		if (inet_pton(AF_INET6, s, &a) != 1)
			return fail(why, len, "not an IPv4 or IPv6 address");
		s[l - 3] = '\0';
		stars = 8 - count_groups(s);
	} else {
		while (l >= 2 && !strcmp(s + l - 2, ":*")) {
			s[l -= 2] = '\0';
			stars++;
		}
		if (!stars || strchr(s, '*'))
			return fail(why, len, "a * may only stand for trailing groups");
		snprintf(buf, sizeof(buf), "%s", s);
		for (l = 0; l < (size_t)stars; l++)
			strncat(buf, ":0", sizeof(buf) - strlen(buf) - 1);
		if (inet_pton(AF_INET6, buf, &a) != 1)
			return fail(why, len, "not an IPv4 or IPv6 address");
	}
	if (stars < 0 || stars > 8)
		return fail(why, len, "not an IPv4 or IPv6 address");
	c->family = TM_FAMILY_IPV6;
	c->prefixlen = 128 - 16 * stars;
	memcpy(c->addr, &a, 16);
	tm_cidr_clear_host_bits(c);
	return 0;
}

/*
 * An IPv4-mapped IPv6 network (::ffff:10.0.0.0/104, ::ffff:a00:*) is the
 * IPv4 network it maps: that is how it applies, and how list shows it.
 */
static int unmap_v4(struct tm_cidr *c, char *why, size_t len)
{
	if (c->family != TM_FAMILY_IPV6 || memcmp(c->addr, v4mapped, 12))
		return 0;
	if (c->prefixlen < 96)
		return fail(why, len, "an IPv4-mapped network needs a prefix of 96 or more");
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = TM_FAMILY_IPV4;
	c->prefixlen -= 96;
	return 0;
}

static int parse_prefix(const char *p, int max, int *out, char *why, size_t len)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(p, &end, 10);
	if (!isdigit((unsigned char)*p) || *end || errno || v > max) {
		snprintf(why, len, "prefix length must be 0..%d", max);
		return -TM_EUSAGE;
	}
	*out = v;
	return 0;
}

int tm_cidr_parse(const char *text, struct tm_cidr *c, char *why, size_t len)
{
	char s[128], *slash;
	int prefix, err;

	memset(c, 0, sizeof(*c));
	if (!*text)
		return fail(why, len, "empty entry");
	if (strlen(text) >= sizeof(s))
		return fail(why, len, "not an IPv4 or IPv6 address");
	snprintf(s, sizeof(s), "%s", text);
	slash = strchr(s, '/');
	if (slash)
		*slash++ = '\0';

	if (strchr(s, '*')) {
		if (slash)
			return fail(why, len, "a wildcard takes no /prefix");
		if (!strchr(s, ':'))
			return parse_v4_wildcard(s, c, why, len);
		err = parse_v6_wildcard(s, c, why, len);
		return err ? err : unmap_v4(c, why, len);
	}
	if (inet_pton(AF_INET, s, c->addr) == 1) {
		c->family = TM_FAMILY_IPV4;
		prefix = 32;
	} else if (inet_pton(AF_INET6, s, c->addr) == 1) {
		c->family = TM_FAMILY_IPV6;
		prefix = 128;
	} else {
		return fail(why, len, "not an IPv4 or IPv6 address");
	}
	if (slash) {
		err = parse_prefix(slash, prefix, &prefix, why, len);
		if (err)
			return err;
	}
	c->prefixlen = prefix;
	err = unmap_v4(c, why, len);
	if (err)
		return err;
	if (tm_cidr_clear_host_bits(c)) {
		char net[64];

		tm_cidr_format(c, net, sizeof(net));
		snprintf(why, len, "host bits set; the network is %s", net);
		return -TM_EUSAGE;
	}
	return 0;
}

void tm_cidr_format(const struct tm_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == TM_FAMILY_IPV4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefixlen);
}

int tm_cidr_cmp(const void *x, const void *y)
{
	const struct tm_cidr *a = x, *b = y;
	int d;

	if (a->family != b->family)
		return a->family - b->family;
	d = memcmp(a->addr, b->addr, 16);
	if (d)
		return d;
	return a->prefixlen - b->prefixlen;
}

/*
 * The network addr (16 bytes, IPv4 in the first 4) of family is in, rolled
 * up to /prefix4 or /prefix6, as text; "?" for another family.
 */
void tm_cidr_network(uint8_t family, const uint8_t *addr, int prefix4, int prefix6, char *buf,
		     size_t len)
{
	struct tm_cidr c = { .family = family };

	if (family != TM_FAMILY_IPV4 && family != TM_FAMILY_IPV6) {
		snprintf(buf, len, "?");
		return;
	}
	c.prefixlen = family == TM_FAMILY_IPV4 ? prefix4 : prefix6;
	memcpy(c.addr, addr, sizeof(c.addr));
	tm_cidr_clear_host_bits(&c);
	tm_cidr_format(&c, buf, len);
}
