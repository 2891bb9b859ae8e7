// SPDX-License-Identifier: GPL-2.0
/* Users by name or UID, both ways. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm.h"

/*
 * A name is looked up first, so a user literally named "1000" still wins;
 * a number with no passwd entry is a valid UID all the same, because tm
 * meters UIDs, not accounts.
 */
int tm_parse_user(const char *s, uint32_t *uid)
{
	struct passwd *pw;
	unsigned long v;
	char *end;

	if (!*s) {
		tm_usage_err("'': empty user name");
		return -TM_EUSAGE;
	}
	pw = getpwnam(s);
	if (pw) {
		*uid = pw->pw_uid;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno && v < TM_UID_UNKNOWN) {
		*uid = v;
		return 0;
	}
	tm_usage_err("'%s': no such user", s);
	return -TM_EUSAGE;
}

const char *tm_user_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd *pw;

	if (uid == TM_UID_UNKNOWN)
		snprintf(buf, len, "unknown");
	else if ((pw = getpwuid(uid)))
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", uid);
	return buf;
}
