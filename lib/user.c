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

/*
 * getpwuid() reads the passwd database on every call; a report of 65,536
 * connections asks for the same few users over and over. Remember them.
 */
#define NAME_CACHE 4096

static struct {
	uint32_t uid;
	bool used;
	char name[33];
} names[NAME_CACHE];

const char *tm_user_name(uint32_t uid, char *buf, size_t len)
{
	unsigned int slot = (uid * 2654435761u) % NAME_CACHE;
	struct passwd *pw;

	if (uid == TM_UID_UNKNOWN) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	if (!names[slot].used || names[slot].uid != uid) {
		pw = getpwuid(uid);
		if (pw && strlen(pw->pw_name) < sizeof(names[slot].name))
			snprintf(names[slot].name, sizeof(names[slot].name), "%s", pw->pw_name);
		else if (pw)
			names[slot].name[0] = '\0';	/* too long to keep: ask again */
		else
			snprintf(names[slot].name, sizeof(names[slot].name), "%u", uid);
		names[slot].uid = uid;
		names[slot].used = names[slot].name[0] != '\0';
		if (!names[slot].used) {
			snprintf(buf, len, "%s", pw->pw_name);
			return buf;
		}
	}
	snprintf(buf, len, "%s", names[slot].name);
	return buf;
}
