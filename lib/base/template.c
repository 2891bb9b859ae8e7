// SPDX-License-Identifier: GPL-2.0
/* Per-user file names from a template: %u name, %U uid, %i interface, %%. */
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

/* PATH's directory, in place: "." for a bare name, "/" for one under it. */
static void up(char *path, size_t len)
{
	char *p = strrchr(path, '/');

	if (!p)
		snprintf(path, len, ".");
	else if (p == path)
		path[1] = '\0';
	else
		*p = '\0';
}

/*
 * Every placeholder must be one of those allowed, and the directory before
 * the first placeholder must be writable, by its owner only: a template
 * that cannot work, or could be made to write elsewhere, is refused at
 * start, not in a loop of errors.
 */
int tm_check_template(const char *t, const char *allowed)
{
	char dir[PATH_MAX], *p;
	struct stat st;
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
	up(dir, sizeof(dir));
	/* A directory not there yet is made at the first file (make_dirs()):
	 * the nearest one that is must be writable. */
	while (access(dir, F_OK) && errno == ENOENT && strcmp(dir, "/") && strcmp(dir, "."))
		up(dir, sizeof(dir));
	if (access(dir, W_OK | X_OK)) {
		tm_usage_err("--output '%s': cannot write in '%s': %s", t, dir, strerror(errno));
		return -TM_EUSAGE;
	}
	/* As for the directories below it (safe_dir()): else a user could
	 * plant a link, a FIFO or a file at another user's name. */
	if (!stat(dir, &st) && tm_open_to_others(st.st_mode)) {
		tm_usage_err("--output '%s': others than its owner may write in '%s', so a user "
			     "could put a file where another's goes; use a directory of mode 755",
			     t, dir);
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
	       (st.st_uid == 0 || st.st_uid == uid) && !tm_open_to_others(st.st_mode);
}

/*
 * A directory below the template's own, on the way to a file: root's or
 * the user's, and nobody else may write in it.
 */
static bool safe_dir(int fd, uint32_t uid)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISDIR(st.st_mode) &&
	       (st.st_uid == 0 || st.st_uid == uid) && !tm_open_to_others(st.st_mode);
}

/*
 * The template's own directory, and each missing one above it, made mode
 * 0755 (whatever the umask) as mkdir -p does; the administrator named it.
 */
static void make_dirs(const char *dir)
{
	char d[PATH_MAX], *p;

	snprintf(d, sizeof(d), "%s", dir);
	for (p = d + 1;; p++) {
		if (*p && *p != '/')
			continue;
		bool last = !*p;

		*p = '\0';
		if (!mkdir(d, 0755))
			chmod(d, 0755);
		if (last)
			break;
		*p = '/';
	}
}

/*
 * The directory path's file goes in, opened. The part the template names
 * before its first placeholder is the administrator's, opened as it is.
 * Each part after that (a %u directory, say) is opened without following a
 * link, made mode 0755 if missing, and refused (EPERM) unless safe_dir():
 * a user cannot point root's writes elsewhere with a link or a directory
 * of theirs others may write in. *base: the file's name in it.
 */
static int open_parent(const char *template, const char *path, uint32_t uid, const char **base)
{
	const char *pct = strchr(template, '%'), *slash = strrchr(path, '/'), *p, *end;
	size_t fixed = 0, len;
	char dir[PATH_MAX], part[NAME_MAX + 1];
	int dfd, next;

	*base = slash ? slash + 1 : path;
	if (!slash)
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* The template's own directory ends at its last '/' before a '%'. */
	for (p = template; *p && (!pct || p < pct); p++)
		if (*p == '/')
			fixed = p - template;
	len = slash - path;
	if (fixed > len || !pct)
		fixed = len;
	snprintf(dir, sizeof(dir), "%.*s", (int)fixed, path);
	dfd = open(fixed ? dir : *path == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT && fixed) {
		make_dirs(dir);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	for (p = path + fixed; dfd >= 0 && p < slash; p = end) {
		while (*p == '/' && p < slash)
			p++;
		end = memchr(p, '/', slash - p);
		if (!end)
			end = slash;
		if (end == p)
			continue;
		snprintf(part, sizeof(part), "%.*s", (int)(end - p), p);
		next = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT &&
		    (!mkdirat(dfd, part, 0755) || errno == EEXIST)) {
			next = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0)
				fchmod(next, 0755);	/* whatever the umask */
		}
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR))
			errno = EPERM;	/* a link or a file where a directory goes */
		if (next >= 0 && !safe_dir(next, uid)) {
			close(next);
			next = -1;
			errno = EPERM;
		}
		close(dfd);
		dfd = next;
	}
	return dfd;
}

/*
 * Who may read a file of uid's lines: root, who writes it, and uid and the
 * admin group, who read it; nobody else. A POSIX ACL says so exactly
 * (mode 0640 would let a whole group read): user::rw-, user:UID:r--,
 * group::---, group:ADMIN:r--, mask::r--, other::---.
 */
#define ACL_XATTR_VERSION	2
enum { ACL_USER_OBJ = 1, ACL_USER = 2, ACL_GROUP_OBJ = 4, ACL_GROUP = 8, ACL_MASK = 16,
       ACL_OTHER = 32 };

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

static int give_read(int fd, uint32_t uid, uint32_t admin_gid)
{
	struct {
		uint32_t version;
		struct acl_entry e[6];
	} acl = { .version = ACL_XATTR_VERSION };
	size_t n = 0;

	acl.e[n++] = (struct acl_entry){ ACL_USER_OBJ, 6, -1 };
	if (uid != TM_UID_UNKNOWN && uid != 0)
		acl.e[n++] = (struct acl_entry){ ACL_USER, 4, uid };
	acl.e[n++] = (struct acl_entry){ ACL_GROUP_OBJ, 0, -1 };
	if (admin_gid != TM_GID_NONE)
		acl.e[n++] = (struct acl_entry){ ACL_GROUP, 4, admin_gid };
	acl.e[n++] = (struct acl_entry){ ACL_MASK, 4, -1 };
	acl.e[n++] = (struct acl_entry){ ACL_OTHER, 0, -1 };
	return fsetxattr(fd, "system.posix_acl_access", &acl,
			 sizeof(acl.version) + n * sizeof(acl.e[0]), 0);
}

/*
 * A file of lines that holds only whole ones, whoever kills its writer
 * when. stdio writes its buffer out when it is full, mid-line: a writer
 * killed before the next write left half a line, and the next run's first
 * line was appended to it. Here stdio's writes are kept until a line ends,
 * and each write(2) ends on one. A write the kernel cut short (a kill
 * between two pages) is mended by the next open (mend_tail()).
 */
struct lines {
	int fd;
	char *buf;
	size_t len, cap;
};

/* a then b (either may be empty), in as few writes as the kernel takes: one, mostly. */
static int write_two(int fd, const char *a, size_t an, const char *b, size_t bn)
{
	struct iovec iov[2];
	ssize_t w;

	while (an + bn) {
		iov[0] = (struct iovec){ (void *)a, an };
		iov[1] = (struct iovec){ (void *)b, bn };
		w = writev(fd, an ? iov : iov + 1, an ? 2 : 1);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if ((size_t)w >= an) {
			b += w - an;
			bn -= w - an;
			an = 0;
		} else {
			a += w;
			an -= w;
		}
	}
	return 0;
}

/*
 * stdio's write: what was kept and this call's whole lines go out in one
 * writev (so a kill between two writes cannot tear a line); the rest, a
 * line not yet ended, is kept.
 */
static ssize_t lines_write(void *cookie, const char *p, size_t n)
{
	struct lines *l = cookie;
	const char *nl = n ? memrchr(p, '\n', n) : NULL;
	size_t whole = nl ? (size_t)(nl + 1 - p) : 0;

	if (whole) {
		if (write_two(l->fd, l->buf, l->len, p, whole))
			return -1;
		l->len = 0;
	}
	if (n > whole) {
		if (l->len + n - whole > l->cap) {
			size_t cap = 2 * (l->len + n - whole);
			char *b = realloc(l->buf, cap);

			if (!b)
				return -1;
			l->buf = b;
			l->cap = cap;
		}
		memcpy(l->buf + l->len, p + whole, n - whole);
		l->len += n - whole;
	}
	return n;
}

static int lines_close(void *cookie)
{
	struct lines *l = cookie;
	int err = write_two(l->fd, NULL, 0, l->buf, l->len);

	if (close(l->fd))
		err = -1;
	free(l->buf);
	free(l);
	return err;
}

static FILE *lines_open(int fd)
{
	struct lines *l = calloc(1, sizeof(*l));
	FILE *f;

	if (!l)
		return NULL;
	l->fd = fd;
	f = fopencookie(l, "a", (cookie_io_functions_t){ .write = lines_write,
							  .close = lines_close });
	if (!f)
		free(l);
	return f;
}

/*
 * A file of ours that does not end in a line feed was left so by a writer
 * killed mid-write: the torn line is cut off (it is no record any reader
 * could use), so the next line starts a line. Said, with what was cut. fd
 * is write-only (so that a FIFO was refused, not opened): the file is read
 * through rfd, the same file opened again.
 */
static void mend_read(int fd, int rfd, const char *path, off_t end)
{
	char buf[4096];
	off_t at, cut = 0;
	ssize_t n;
	char *nl;

	if (pread(rfd, buf, 1, end - 1) != 1 || buf[0] == '\n')
		return;
	/* The last line feed, read back from the end a block at a time. */
	for (at = end; at > 0; at -= n) {
		if (end - at > (1 << 20))
			return;		/* no line of ours is that long: not ours to cut */
		n = at < (off_t)sizeof(buf) ? at : (off_t)sizeof(buf);
		if (pread(rfd, buf, n, at - n) != n)
			return;
		nl = memrchr(buf, '\n', n);
		if (nl) {
			cut = at - n + (nl - buf) + 1;
			break;
		}
	}
	if (!ftruncate(fd, cut))
		tm_err("'%s': cut off a torn last line (%lld bytes) that a killed writer left",
		       path, (long long)(end - cut));
}

static void mend_tail(int fd, const char *path)
{
	char self[64];
	struct stat st;
	int rfd;

	if (fstat(fd, &st) || !st.st_size)
		return;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rfd = open(self, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return;
	mend_read(fd, rfd, path, st.st_size);
	close(rfd);
}

/* Whether the template names a file per user (%u or %U). */
static bool per_user(const char *t)
{
	for (; *t; t++)
		if (*t == '%' && t[1]) {
			if (t[1] == 'u' || t[1] == 'U')
				return true;
			t++;
		}
	return false;
}

/*
 * Appends to path (made from template), the file of uid's lines. A file
 * made here is root's, mode 0600 whatever the umask, readable by uid and
 * by the admin group through an ACL; a file the template does not make per
 * user holds everyone's lines, so no user may read it, only the group. No link is followed, not even to a
 * file of tm's, directories below the template's are checked (see
 * open_parent()), and a file that exists must pass ours(); a FIFO with no
 * reader is refused rather than waited on. NULL with errno set, and said,
 * otherwise.
 */
FILE *tm_open_output(const char *template, const char *path, uint32_t uid, uint32_t admin_gid)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	static bool said_acl;
	const char *base;
	struct stat st;
	int dfd, fd = -1;
	FILE *f;

	dfd = open_parent(template, path, uid, &base);
	if (dfd >= 0) {
		fd = openat(dfd, base, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			fchmod(fd, 0600);
		} else if (errno == EEXIST) {
			fd = openat(dfd, base, flags);
			if (fd >= 0 && !ours(fd, uid)) {
				close(fd);
				close(dfd);
				tm_err("'%s': not a file tm writes to (a link, a file of another "
				       "user, or one others may write); left alone", path);
				errno = EPERM;
				return NULL;
			}
			if (fd >= 0)
				mend_tail(fd, path);
		}
		close(dfd);
	}
	if (fd < 0) {
		if (errno == ELOOP)
			errno = EPERM;	/* a symbolic link: said as refused */
		tm_err("cannot write '%s': %s", path, strerror(errno));
		return NULL;
	}
	/* Root's files (old ones too) get the readers they should have. */
	if (!fstat(fd, &st) && st.st_uid == 0 &&
	    give_read(fd, per_user(template) ? uid : TM_UID_UNKNOWN, admin_gid) && !said_acl) {
		said_acl = true;
		tm_err("'%s': cannot let its user read it (%s): only root can",
		       path, strerror(errno));
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	f = lines_open(fd);
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
		tm_err("cannot write '%s': %s", path, strerror(errno));
	}
	return f;
}
