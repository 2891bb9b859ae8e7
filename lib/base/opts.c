// SPDX-License-Identifier: GPL-2.0
/* The options every command takes, and what none of them takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/*
 * --pin-root, -v and -h, and the answer to an option getopt did not know;
 * a command's own switch sends its default case here.
 */
int tm_common_opt(int c, const char *arg, const char **pin_root, void (*usage)(FILE *))
{
	switch (c) {
	case TM_OPT_PIN_ROOT:
		*pin_root = arg;
		return 0;
	case 'v':
		tm_verbose++;
		return 0;
	case 'h':
		usage(stdout);
		exit(TM_EXIT_OK);
	default:
		fprintf(stderr, "Try '%s --help' for more information.\n", tm_prog);
		return -TM_EUSAGE;
	}
}

int tm_no_more_args(int argc, char **argv, int next)
{
	if (next < argc) {
		tm_usage_err("'%s': unexpected argument", argv[next]);
		return -TM_EUSAGE;
	}
	return 0;
}

/* ARG as one of NAMES, its index in *out; "must be a, b or c" otherwise. */
int tm_pick(const char *opt, const char *arg, const char *const *names, int n, int *out)
{
	char list[256] = "";
	size_t used = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(arg, names[i])) {
			*out = i;
			return 0;
		}
		used += snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0, "%s%s",
				 i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	}
	tm_usage_err("%s '%s': must be %s", opt, arg, list);
	return -TM_EUSAGE;
}
