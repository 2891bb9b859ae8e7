// SPDX-License-Identifier: GPL-2.0
/* Per-user file names from a template: %u name, %U uid, %i interface, %%. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tm.h"

/*
 * Every placeholder must be one of those allowed, and the directory before
 * the first placeholder must be writable: a template that cannot work is
 * refused at start, not in a loop of errors.
 */
int tm_check_template(const char *t, const char *allowed)
{
	char dir[PATH_MAX], *p;
	const char *q;

	if (!*t || t[strlen(t) - 1] == '/') {
		tm_usage_err("--output '%s': must name a file", t);
		return -TM_EUSAGE;
	}
	for (q = strchr(t, '%'); q; q = strchr(q + 2, '%'))
		if (!q[1] || (q[1] != '%' && !strchr(allowed, q[1]))) {
			tm_usage_err("--output '%s': '%%%c': not a placeholder here", t,
				     q[1] ? q[1] : ' ');
			return -TM_EUSAGE;
		}
	snprintf(dir, sizeof(dir), "%s", t);
	if ((p = strchr(dir, '%')))
		*p = '\0';
	p = strrchr(dir, '/');
	if (!p)
		snprintf(dir, sizeof(dir), ".");
	else if (p == dir)
		dir[1] = '\0';
	else
		*p = '\0';
	if (access(dir, W_OK | X_OK)) {
		tm_usage_err("--output '%s': cannot write in '%s': %s", t, dir, strerror(errno));
		return -TM_EUSAGE;
	}
	return 0;
}

void tm_expand_template(const char *t, uint32_t uid, const char *ifname, char *path, size_t len)
{
	char name[64];
	size_t n = 0;

	for (; *t && n + 1 < len; t++) {
		if (*t != '%') {
			path[n++] = *t;
			continue;
		}
		if (!t[1]) {
			path[n++] = '%';	/* a trailing % is itself */
			break;
		}
		switch (*++t) {
		case 'u':
			n += snprintf(path + n, len - n, "%s", tm_user_name(uid, name, sizeof(name)));
			break;
		case 'U':
			if (uid == TM_UID_UNKNOWN)
				n += snprintf(path + n, len - n, "unknown");
			else
				n += snprintf(path + n, len - n, "%u", uid);
			break;
		case 'i':
			n += snprintf(path + n, len - n, "%s", ifname ? ifname : "");
			break;
		default:
			path[n++] = '%';
			break;
		}
		if (n >= len)
			n = len - 1;
	}
	path[n] = '\0';
}

/*
 * Appends to path; a file made here is mode 0640 whatever the umask, and
 * one that exists keeps the mode its owner gave it.
 */
FILE *tm_open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	FILE *f;

	if (fd >= 0)
		fchmod(fd, 0640);
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}
