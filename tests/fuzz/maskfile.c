// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the mask-file reader, on whatever bytes a file can hold. It
 * either takes the whole file or refuses it; what it takes is a sorted
 * list of valid entries without duplicates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tm.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tm_init("fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_masks m = {};
	char path[64];
	size_t i;
	int fd = fuzz_file(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (!tm_masks_parse_file(path, &m))
		for (i = 1; i < m.n; i++)
			if (tm_cidr_cmp(&m.v[i - 1], &m.v[i]) >= 0)
				abort();
	tm_masks_free(&m);
	close(fd);
	return 0;
}
