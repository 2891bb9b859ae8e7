// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>

#include "base.h"

/*
 * Room for one more element in *arrp, an array of n elements of size bytes
 * with room for *cap: doubled when full, 16 to start with.
 */
int tm_grow(void *arrp, size_t *cap, size_t n, size_t size)
{
	void **arr = arrp, *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* qsort's and bsearch's order of uint64_t values (at the start of elements). */
int tm_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}
