// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the configuration reader (tm-load --config), on whatever
 * bytes a file can hold, with tm-load's kind of settings. It takes the
 * file or refuses it; a value it hands on is text with no control
 * character but a tab, no blank at either end, never empty.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tm.h"
#include "fuzz.h"

enum { OPT_CGROUP = TM_OPT_OWN, OPT_MASKS, OPT_REPLACE, OPT_PIN_ROOT };

static const struct option longopts[] = {
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "masks", required_argument, NULL, OPT_MASKS },
	{ "max-conns", required_argument, NULL, 'c' },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
	{}
};
static const int not[] = { OPT_PIN_ROOT, 0 };

static int apply(void *ctx, int val, char *arg)
{
	size_t n = strlen(arg), i;

	if (!n || arg[0] == ' ' || arg[0] == '\t' || arg[n - 1] == ' ' || arg[n - 1] == '\t')
		abort();
	for (i = 0; i < n; i++)
		if (((unsigned char)arg[i] < 0x20 && arg[i] != '\t') || arg[i] == 0x7f)
			abort();
	if (val == OPT_PIN_ROOT || val == OPT_REPLACE)
		abort();	/* not settings of the file */
	if (val == 'c') {
		static const struct tm_num conns = { .min = 1024, .max = 1 << 24 };
		uint64_t v;

		return tm_parse_num("max-conns", arg, &conns, &v);
	}
	++*(int *)ctx;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tm_init("fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int applied = 0, fd, err;
	struct tm_config c = { .longopts = longopts, .not = not, .nothing = "nothing loaded",
			       .apply = apply, .ctx = &applied };
	char path[64];

	fd = fuzz_file(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	err = tm_config_read(&c, path);
	if (err && err != -TM_EUSAGE)
		abort();
	tm_config_free(&c);
	close(fd);
	return 0;
}
