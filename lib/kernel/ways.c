// SPDX-License-Identifier: GPL-2.0
/*
 * The ways a load may read owners and pending counts, and the programs of
 * each, from the tables in tm_abi.h (TM_OWNER_WAYS, TM_PENDING_WAYS,
 * TM_PROGS): their names for tm-load's options and tm-status, and which
 * programs a load of given ways takes. What the running kernel accepts is
 * tm-load's to find out; kernel.c reads the kernel itself.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

static const char *const owner_names[TM_OWNER_KINDS] = {
#define TM_WAY_NAME(id, v, name) [v] = name,
	TM_OWNER_WAYS(TM_WAY_NAME)
};

static const char *const pending_names[TM_PENDING_KINDS] = {
	TM_PENDING_WAYS(TM_WAY_NAME)
#undef TM_WAY_NAME
};

const struct tm_prog_desc tm_progs[TM_PROG_COUNT] = {
#define TM_PROG_DESC(id, obj, link, pin, way, v) \
	[TM_PROG_##id] = { #obj, TM_LINK_##link, pin, TM_WAY_##way, v },
	TM_PROGS(TM_PROG_DESC)
#undef TM_PROG_DESC
};

static int parse(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 1; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return 0;
}

int tm_owner_kind_parse(const char *s)
{
	return parse(owner_names, TM_OWNER_KINDS, s);
}

int tm_pending_kind_parse(const char *s)
{
	return parse(pending_names, TM_PENDING_KINDS, s);
}

const char *tm_owner_kind_name(int kind)
{
	return kind > 0 && kind < TM_OWNER_KINDS ? owner_names[kind] : "?";
}

const char *tm_pending_kind_name(int kind)
{
	return kind > 0 && kind < TM_PENDING_KINDS ? pending_names[kind] : "?";
}

/* "'a', 'b' or 'c'": every name of a table, for a message that lists them. */
static const char *list(const char *const *names, int n)
{
	static char buf[128];
	size_t len = 0;
	int i;

	buf[0] = 0;
	for (i = 1; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s'%s'",
				i == 1 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	return buf;
}

const char *tm_owner_kinds_list(void)
{
	return list(owner_names, TM_OWNER_KINDS);
}

const char *tm_pending_kinds_list(void)
{
	return list(pending_names, TM_PENDING_KINDS);
}

/* Whether a load that reads owners and pending counts these ways loads p. */
bool tm_prog_taken(const struct tm_prog_desc *p, int owner, int pending)
{
	switch (p->way) {
	case TM_WAY_OWNER:
		return p->way_kind == owner;
	case TM_WAY_PENDING:
		return p->way_kind == pending;
	default:
		return true;
	}
}

/* The program of the pending way kind; -1 if none. */
int tm_prog_pending(int kind)
{
	int i;

	for (i = 0; i < TM_PROG_COUNT; i++)
		if (tm_progs[i].way == TM_WAY_PENDING && tm_progs[i].way_kind == kind)
			return i;
	return -1;
}

/* The program whose name in the BPF object is name; -1 if none. */
int tm_prog_by_name(const char *name)
{
	int i;

	for (i = 0; i < TM_PROG_COUNT; i++)
		if (!strcmp(tm_progs[i].name, name))
			return i;
	return -1;
}
