// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

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
