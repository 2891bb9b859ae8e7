// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the CIDR and wildcard parser. Whatever it accepts, what
 * tm-mask list prints of it must parse back to the very same entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], why[128], net[64];
	struct tm_cidr a, b;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (tm_cidr_parse(text, &a, why, sizeof(why)))
		return 0;
	if (a.family != TM_FAMILY_IPV4 && a.family != TM_FAMILY_IPV6)
		abort();
	if (a.prefixlen > (a.family == TM_FAMILY_IPV4 ? 32 : 128))
		abort();
	tm_cidr_format(&a, net, sizeof(net));
	if (tm_cidr_parse(net, &b, why, sizeof(why)) || tm_cidr_cmp(&a, &b)) {
		fprintf(stderr, "'%s' -> '%s' does not parse back: %s\n", text, net, why);
		abort();
	}
	return 0;
}
