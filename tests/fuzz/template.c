// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the --output template expander, with any template, checked or
 * not: the result is always terminated within its buffer.
 */
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
	char t[512];
	size_t len;

	if (size >= sizeof(t))
		return 0;
	memcpy(t, data, size);
	t[size] = '\0';
	tm_check_template(t, "uUi");
	/* A buffer of its own size, so ASan sees any byte past it. */
	len = size % 64 + 1;
	{
		char *p = malloc(len);

		if (!p)
			return 0;
		tm_expand_template(t, 4242, "eth0", p, len);
		if (strnlen(p, len) == len)
			abort();
		free(p);
	}
	return 0;
}
