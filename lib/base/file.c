// SPDX-License-Identifier: GPL-2.0
/*
 * Files a user names: read without ever waiting on one that is not a file
 * (a FIFO blocks an open until a writer comes, a device may never end),
 * and what such a thing is, in words.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

const char *tm_file_kind(unsigned int mode)
{
	return S_ISREG(mode) ? "a file" : S_ISDIR(mode) ? "a directory" :
	       S_ISFIFO(mode) ? "a FIFO" : S_ISLNK(mode) ? "a symbolic link" :
	       S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" :
	       "not a file";
}

/* Whether others than its owner may write in a directory (or file) of mode. */
bool tm_open_to_others(unsigned int mode)
{
	return mode & 022;
}

/*
 * path opened for reading if it is a regular file, st filled: the open
 * does not wait (O_NONBLOCK, cleared after). -errno if it cannot be
 * opened; -TM_ENOTFILE (st says what it is) if it is not a file.
 */
int tm_open_file(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -TM_ENOTFILE;
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* When this boot began, in Unix seconds (/proc/stat's btime); 0 not known. */
int64_t tm_boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long t = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	fclose(f);
	return t;
}
