// SPDX-License-Identifier: GPL-2.0
/* Users by name or UID, both ways. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

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

/* One more --user for a filter of at most max users. */
int tm_add_user(const char *arg, uint32_t *users, int *n, int max)
{
	if (*n == max) {
		tm_usage_err("at most %d --user options", max);
		return -TM_EUSAGE;
	}
	return tm_parse_user(arg, &users[(*n)++]);
}

/* A --user filter: no users named means every user. */
bool tm_users_match(const uint32_t *users, int n, uint32_t uid)
{
	int i;

	for (i = 0; i < n; i++)
		if (users[i] == uid)
			return true;
	return n == 0;
}

/*
 * getpwuid() reads the passwd database on every call, and a report of
 * 65,536 connections or 10,000 users would make that thousands of reads.
 * The first lookup reads the whole database once into a table. Where every
 * source in nsswitch.conf can be enumerated (files, systemd), a UID not
 * found is final; with others (LDAP, SSSD) it is asked for, once.
 */
static struct tm_u32map names = { .vsize = sizeof(char *) };
static bool names_loaded, names_complete;

/* The first entry of a UID wins, as with getpwuid. */
static const char *name_add(uint32_t uid, const char *name)
{
	char digits[16], **slot;
	bool fresh;

	slot = tm_u32map_put(&names, uid, &fresh);
	if (!slot)
		return NULL;
	if (!fresh)
		return *slot;
	if (!name) {
		snprintf(digits, sizeof(digits), "%u", uid);
		name = digits;
	}
	*slot = strdup(name);
	return *slot;
}

static bool enumerable_sources(void)
{
	char line[512];
	bool ok = false;
	FILE *f = fopen("/etc/nsswitch.conf", "re");

	if (!f)
		return false;	/* glibc's default includes more than files */
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strncmp(line, "passwd:", 7))
			continue;
		ok = true;
		for (tok = strtok_r(line + 7, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (strcmp(tok, "files") && strcmp(tok, "systemd"))
				ok = false;
	}
	fclose(f);
	return ok;
}

static void load_names(void)
{
	struct passwd *pw;

	names_loaded = true;
	setpwent();
	while ((pw = getpwent()))
		name_add(pw->pw_uid, pw->pw_name);
	endpwent();
	names_complete = enumerable_sources();
}

/*
 * The name of a UID, as a user would call it: "unknown" for the unknown
 * owner, the digits for a UID with no passwd entry. The string lives as
 * long as the process; NULL only when out of memory.
 */
const char *tm_uid_name(uint32_t uid)
{
	char **slot;

	if (uid == TM_UID_UNKNOWN)
		return "unknown";
	if (!names_loaded)
		load_names();
	slot = tm_u32map_get(&names, uid);
	if (slot)
		return *slot;
	if (names_complete)
		return name_add(uid, NULL);
	{
		struct passwd *pw = getpwuid(uid);

		return name_add(uid, pw ? pw->pw_name : NULL);
	}
}

const char *tm_user_name(uint32_t uid, char *buf, size_t len)
{
	const char *name = tm_uid_name(uid);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%u", uid);
	return buf;
}
