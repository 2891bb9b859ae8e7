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
 * The first lookup reads the whole database once into a hash. Where every
 * source in nsswitch.conf can be enumerated (files, systemd), a UID not
 * found is final; with others (LDAP, SSSD) it is asked for, once.
 */
struct name {
	uint32_t uid;
	bool used;
	char *name;		/* the user's name, or the UID in digits */
};

static struct name *names;
static size_t names_cap, names_n;
static bool names_loaded, names_complete;

static struct name *name_slot(uint32_t uid)
{
	size_t mask = names_cap - 1, i = (uid * 2654435761u) & mask;

	while (names[i].used && names[i].uid != uid)
		i = (i + 1) & mask;
	return &names[i];
}

static struct name *name_add(uint32_t uid, const char *name)
{
	struct name *n;

	if (names_n * 2 >= names_cap) {
		struct name *old = names;
		size_t oldcap = names_cap, i;

		names_cap = oldcap ? oldcap * 2 : 1024;
		names = calloc(names_cap, sizeof(*names));
		if (!names) {
			names = old;
			names_cap = oldcap;
			return NULL;
		}
		for (i = 0; i < oldcap; i++)
			if (old[i].used)
				*name_slot(old[i].uid) = old[i];
		free(old);
	}
	n = name_slot(uid);
	if (n->used)
		return n;	/* the first entry of a UID wins, as with getpwuid */
	if (name) {
		n->name = strdup(name);
	} else {
		char digits[16];

		snprintf(digits, sizeof(digits), "%u", uid);
		n->name = strdup(digits);
	}
	if (!n->name)
		return NULL;
	n->used = true;
	n->uid = uid;
	names_n++;
	return n;
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

const char *tm_user_name(uint32_t uid, char *buf, size_t len)
{
	struct name *n;

	if (uid == TM_UID_UNKNOWN) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	if (!names_loaded)
		load_names();
	n = names_cap ? name_slot(uid) : NULL;
	if (!n || !n->used) {
		struct passwd *pw = names_complete ? NULL : getpwuid(uid);

		n = name_add(uid, pw ? pw->pw_name : NULL);
	}
	if (n && len) {
		size_t l = strlen(n->name);

		if (l >= len)
			l = len - 1;
		memcpy(buf, n->name, l);
		buf[l] = '\0';
	} else {
		snprintf(buf, len, "%u", uid);
	}
	return buf;
}
