// SPDX-License-Identifier: GPL-2.0
/*
 * Self-view: tm-stat installed setuid root lets every user read their own
 * traffic. The privilege serves one step, taken before anything the user
 * gave (arguments, environment) is looked at: the pins of the pin root
 * built in are opened read-only. Then every privilege is dropped for good
 * (real, effective and saved IDs back to the caller's; a non-dumpable
 * process, so its memory, which holds other users' counters, cannot be
 * read), and the command runs as the user, showing that user's rows only,
 * unless the user is in the load's admin group (tm-load --group).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kernel.h"

/* Run setuid by someone who is not root: the self-view. */
bool tm_self_view(void)
{
	return geteuid() == 0 && getuid() != 0;
}

/* The caller is in the load's admin group (tm-load --group). */
bool tm_admin(const struct tm_control *c)
{
	gid_t groups[NGROUPS_MAX], gid = c->admin_gid;
	int n, i;

	if (gid == TM_GID_NONE)
		return false;
	if (getgid() == gid)
		return true;
	n = getgroups(NGROUPS_MAX, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* For good: if the IDs cannot all be the caller's, nothing goes on. */
void tm_drop_privileges(void)
{
	uid_t uid = getuid(), ru, eu, su;
	gid_t gid = getgid(), rg, eg, sg;

	prctl(PR_SET_DUMPABLE, 0);
	if (setresgid(gid, gid, gid) || setresuid(uid, uid, uid) ||
	    getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    setuid(0) == 0) {
		tm_err("cannot drop privileges: %s", strerror(errno));
		_exit(1);
	}
}

/*
 * A user's --user list: themselves only (another is exit 1); none given is
 * themselves too.
 */
int tm_self_view_users(uint32_t *users, int *n)
{
	uid_t me = getuid();
	int i;

	for (i = 0; i < *n; i++)
		if (users[i] != me) {
			tm_err("you may see your own traffic only (uid %u)", (unsigned)me);
			return -EPERM;
		}
	users[0] = me;
	*n = 1;
	return 0;
}

/*
 * A reader of rows run setuid by a user (tm-stat, tm-top): no pin root of
 * their choosing, and their own rows unless all (the load's admin group).
 */
int tm_self_view_rows(const char *pin_root, bool all, uint32_t *users, int *n)
{
	if (pin_root) {
		tm_usage_err("--pin-root: only root chooses the pin root (this %s reads %s)",
			     tm_prog, TM_DEFAULT_PIN_ROOT);
		return -TM_EUSAGE;
	}
	return all ? 0 : tm_self_view_users(users, n);
}

/*
 * Opens the built-in pin root read-only and drops privileges, whatever
 * happened. *all: the caller may see every user (root's group of
 * administrators for this load).
 */
int tm_self_view_open(struct tm_pins *p, bool *all)
{
	int err = tm_pins_open_rdonly(p, TM_DEFAULT_PIN_ROOT);

	tm_drop_privileges();
	*all = !err && tm_admin(p->control);
	return err;
}
