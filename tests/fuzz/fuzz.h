/* SPDX-License-Identifier: GPL-2.0 */
/* What the fuzz targets share. */
#ifndef TM_FUZZ_H
#define TM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The input as a file a reader opens by name (path, /proc/self/fd/N): its
 * descriptor, to close after, or -1.
 */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

#endif /* TM_FUZZ_H */
