// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the option parsers every command shares. The first byte picks
 * the parser, the rest is the argument. A number taken is within its
 * bounds and written back in decimal is the argument itself (but for
 * leading zeros); an interval
 * taken is from 1 ms to a day; a time taken as @SECONDS is those seconds,
 * and every time taken is taken the same again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tm_init("fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tm_num sizes = { .min = 4096, .max = 1u << 30, .pow2 = true };
	static const char *const names[] = { "table", "json", "csv" };
	char arg[128], back[32];
	uint64_t v;
	int64_t t, t2;
	double sec;
	int which;

	if (!size || size >= sizeof(arg))
		return 0;
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		if (tm_parse_num("--events-size", arg, &sizes, &v))
			break;
		if (v < sizes.min || v > sizes.max || (v & (v - 1)))
			abort();
		/* (leading zeros are decimal too: 04096 is 4096) */
		snprintf(back, sizeof(back), "%" PRIu64, v);
		if (strcmp(back, arg + strspn(arg, "0")))
			abort();
		break;
	case 1:
		if (!tm_parse_count("--count", arg, &v) && !v)
			abort();
		break;
	case 2:
		if (!tm_parse_interval("--interval", arg, &sec) && !(sec >= 0.001 && sec <= 86400))
			abort();
		break;
	case 3:
		if (tm_parse_when("--since", arg, &t))
			break;
		/* The same again (a time from now, read a second later at most). */
		if (tm_parse_when("--since", arg, &t2) || t2 < t || t2 - t > 1)
			abort();
		if (arg[0] == '@' && t != strtoll(arg + 1, NULL, 10))
			abort();
		break;
	default:
		if (!tm_pick("--format", arg, names, 3, &which) &&
		    (which < 0 || which > 2 || strcmp(names[which], arg)))
			abort();
		break;
	}
	return 0;
}
