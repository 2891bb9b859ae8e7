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

/*
 * A user or interface name as one part of a path: user names come from NSS
 * (LDAP, SSSD) and may hold a '/', or be "." or "..". Those become '_', so
 * %u and %i never leave the directory the template names.
 */
static int put_name(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s", name);
	size_t i;

	for (i = 0; i < len && out[i]; i++)
		if (out[i] == '/')
			out[i] = '_';
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		memset(out, '_', strlen(out));
	return n;
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
			n += put_name(path + n, len - n, tm_user_name(uid, name, sizeof(name)));
			break;
		case 'U':
			if (uid == TM_UID_UNKNOWN)
				n += snprintf(path + n, len - n, "unknown");
			else
				n += snprintf(path + n, len - n, "%u", uid);
			break;
		case 'i':
			/* A container's interface is named by whoever owns it. */
			n += put_name(path + n, len - n, ifname ? ifname : "");
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
 * Whether root may append to a file it found at a path a user may have
 * chosen: a regular file, one link, owned by root or by the user the file
 * is for, and writable by nobody else. Anything else could be a file a user
 * planted (to read another's report, or to have root write where it
 * should not), and is left alone.
 */
static bool ours(int fd, uint32_t uid)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	       (st.st_uid == 0 || st.st_uid == uid) && !(st.st_mode & 022);
}

/*
 * Appends to path, the file of uid's lines. A file made here is mode 0640
 * whatever the umask. No link is followed, not even to a file of tm's, and
 * a file that exists must pass ours(); a FIFO with no reader is refused
 * rather than waited on. NULL with errno set, and said, otherwise.
 */
FILE *tm_open_output(const char *path, uint32_t uid)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = open(path, flags | O_CREAT | O_EXCL, 0640);
	FILE *f;

	if (fd >= 0) {
		fchmod(fd, 0640);
	} else if (errno == EEXIST) {
		fd = open(path, flags);
		if (fd >= 0 && !ours(fd, uid)) {
			close(fd);
			tm_err("'%s': not a file tm writes to (a link, a file of another user, "
			       "or one others may write); left alone", path);
			errno = EPERM;
			return NULL;
		}
	}
	if (fd < 0) {
		if (errno == ELOOP)
			errno = EPERM;	/* a symbolic link: said as refused */
		tm_err("cannot write '%s': %s", path, strerror(errno));
		return NULL;
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	f = fdopen(fd, "a");
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
		tm_err("cannot write '%s': %s", path, strerror(errno));
	}
	return f;
}
