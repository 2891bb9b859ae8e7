// SPDX-License-Identifier: GPL-2.0
/*
 * Interfaces by network namespace: an interface named as [NS:]NAME resolved
 * to its index and its namespace's cookie, and the filter of a load
 * (tm-load --iface) made exactly the interfaces named.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "kernel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The cookie of this process's network namespace; 0 if the kernel has none. */
uint64_t tm_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}

/*
 * [NS:]NAME is resolved now and kept as the interface's index and its
 * namespace's cookie: an index alone would also match the interface with
 * that index in every other namespace (lo is 1 in each). ':' cannot be in
 * an interface name, so the last one splits.
 */
int tm_iface_resolve(const char *arg, struct tm_iface_pick *f)
{
	const char *colon = strrchr(arg, ':');
	const char *name = colon ? colon + 1 : arg;
	char nspath[PATH_MAX];
	int self = -1, ns = -1, err = 0;
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (colon) {
		if (colon == arg || !*name) {
			tm_usage_err("--iface '%s': NAMESPACE:INTERFACE, both named", arg);
			return -TM_EUSAGE;
		}
		if (memchr(arg, '/', colon - arg))
			snprintf(nspath, sizeof(nspath), "%.*s", (int)(colon - arg), arg);
		else
			snprintf(nspath, sizeof(nspath), "/run/netns/%.*s", (int)(colon - arg), arg);
		ns = open(nspath, O_RDONLY | O_CLOEXEC);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns < 0 || self < 0) {
			tm_usage_err("--iface '%s': '%s': %s", arg, nspath, strerror(errno));
			err = -TM_EUSAGE;
		} else if (setns(ns, CLONE_NEWNET)) {
			err = errno == EPERM ? -EPERM : -TM_EUSAGE;
			if (err == -EPERM)
				tm_err("--iface '%s': cannot enter '%s': %s", arg, nspath,
				       strerror(errno));
			else
				tm_usage_err("--iface '%s': '%s' is not a network namespace", arg,
					     nspath);
		}
		if (err)
			goto out;
	}
	f->key.ifindex = strlen(name) < TM_IFNAMSIZ ? if_nametoindex(name) : 0;
	f->key.netns_cookie = tm_netns_cookie();
	if (!stat("/proc/self/ns/net", &st))
		f->v.netns = st.st_ino;
	snprintf(f->v.name, TM_IFNAMSIZ, "%s", name);
	if (colon && setns(self, CLONE_NEWNET)) {
		tm_err("cannot return to tm-load's network namespace: %s", strerror(errno));
		exit(1);
	}
	if (!f->key.ifindex) {
		tm_usage_err("--iface '%s': no such interface%s%s", arg, colon ? " in " : "",
			     colon ? nspath : "");
		err = -TM_EUSAGE;
		goto out;
	}
out:
	if (ns >= 0)
		close(ns);
	if (self >= 0)
		close(self);
	return err;
}

/*
 * The interface filter becomes exactly the interfaces named: the new ones
 * go in and the count is set before the old ones go out. Each is named in
 * "ifnames" too, for the rows to come.
 */
int tm_ifaces_set(int fd, int names_fd, struct tm_control *ctl, const struct tm_iface_pick *f,
		  int n)
{
	struct tm_iface_key key, next, *prev = NULL;
	int i, err = 0;

	for (i = 0; i < n && !err; i++) {
		if (bpf_map_update_elem(fd, &f[i].key, &f[i].v, BPF_ANY))
			err = -errno;
		bpf_map_update_elem(names_fd, &f[i].key, &f[i].v, BPF_NOEXIST);
	}
	if (err) {
		tm_err("cannot set the interface filter: %s", strerror(-err));
		return err;
	}
	__atomic_store_n(&ctl->ifaces, n, __ATOMIC_RELAXED);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool keep = false;

		for (i = 0; i < n; i++)
			keep |= !memcmp(&f[i].key, &next, sizeof(next));
		if (!keep && !bpf_map_delete_elem(fd, &next))
			continue;	/* the walk goes on from the same place */
		key = next;
		prev = &key;
	}
	return 0;
}
