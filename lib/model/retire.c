// SPDX-License-Identifier: GPL-2.0
/*
 * Rows that never run out: on a load that lives for months, the rows of
 * "details" of cgroups that have ended, and their names in "cgroups", are
 * taken out once recorded, so later jobs find room.
 *
 * A cgroup has ended when its directory is gone (no process can be in it
 * again) and no socket the programs know of was made in it (the pending
 * iterator's sockets): then nothing can add to its rows. Each row is taken
 * out with one lookup-and-delete, and what it held is added to its user's
 * entry in "retired" (shown as their row "(retired)", so the breakdowns
 * still add up to the user's totals), whose rows count gives the user their
 * share of "details" back. A name is taken out when its cgroup has ended,
 * no row or socket names it, and no recorded cgroup has it as parent.
 *
 * One retirer at a time: under the pin root's lock, as every editor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "model.h"

/* Cgroup ids as a sorted set. */
struct ids {
	uint64_t *v;
	size_t n, cap;
};

static int ids_add(struct ids *s, uint64_t id)
{
	if (tm_grow(&s->v, &s->cap, s->n, sizeof(s->v[0])))
		return -ENOMEM;
	s->v[s->n++] = id;
	return 0;
}

static int cmp_key_cgroup(const void *a, const void *b)
{
	return tm_cmp_u64(&((const struct tm_detail_key *)a)->cgroup_id,
		      &((const struct tm_detail_key *)b)->cgroup_id);
}

static void ids_sort(struct ids *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(s->v[0]), tm_cmp_u64);
}

static bool ids_has(const struct ids *s, uint64_t id)
{
	return s->n && bsearch(&id, s->v, s->n, sizeof(s->v[0]), tm_cmp_u64);
}

struct walk {
	struct tm_names *names;
	const struct tm_ledger_open *held;	/* jobs whose rows stay */
	struct ids sockets;		/* cgroups sockets were made in */
	struct ids kept;		/* cgroups rows or sockets still name */
	struct tm_detail_key *stay;	/* the rows that stay */
	size_t nstay, staycap;
	struct tm_detail_key *keys;	/* rows to retire */
	struct tm_detail *vals;		/* what they held when looked at */
	size_t nkeys, keycap, valcap;
};

static int add_socket(const struct tm_pending *p, void *ctx)
{
	return ids_add(&((struct walk *)ctx)->sockets, p->owner.cgroup_id);
}

/* Whether cgroup id is in a job the ledger holds open. */
static bool held(struct walk *w, uint64_t id)
{
	const char *job, *kind;
	size_t i;

	if (!w->held || !w->held->n || !tm_names_job_of(w->names, id, &job, &kind))
		return false;
	for (i = 0; i < w->held->n; i++)
		if (!strcmp(w->held->v[i].kind, kind) && !strcmp(w->held->v[i].id, job))
			return true;
	return false;
}

/* A row of a cgroup that has ended is to go; any other keeps its cgroup's name. */
static int look_at_row(const void *key, const void *value, void *ctx)
{
	const struct tm_detail_key *k = key;
	struct walk *w = ctx;

	if (k->pid == TM_PID_OTHER || !k->cgroup_id || tm_names_cgroup_live(w->names, k->cgroup_id) ||
	    ids_has(&w->sockets, k->cgroup_id) || held(w, k->cgroup_id)) {
		if (tm_grow(&w->stay, &w->staycap, w->nstay, sizeof(*k)))
			return -ENOMEM;
		w->stay[w->nstay++] = *k;
		return ids_add(&w->kept, k->cgroup_id);
	}
	if (tm_grow(&w->keys, &w->keycap, w->nkeys, sizeof(*k)) ||
	    tm_grow(&w->vals, &w->valcap, w->nkeys, sizeof(*w->vals)))
		return -ENOMEM;
	w->vals[w->nkeys] = *(const struct tm_detail *)value;
	w->keys[w->nkeys++] = *k;
	return 0;
}

struct node {
	uint64_t id, parent;
	uint32_t owner;		/* not 0: on that user's share */
};

static int add_node(const void *key, const void *value, void *ctx)
{
	struct { struct node *v; size_t n, cap; } *s = ctx;
	const struct tm_cgroup *v = value;

	if (tm_grow(&s->v, &s->cap, s->n, sizeof(s->v[0])))
		return -ENOMEM;
	s->v[s->n++] = (struct node){ *(const uint64_t *)key, v->parent, v->owner };
	return 0;
}

/* A user's entry in "retired", with more added (what struct tm_retired holds). */
static int add_retired(const struct tm_pins *p, uint32_t uid, const struct tm_counters *c,
		       const struct tm_retired *more)
{
	struct tm_retired r = {};

	if (bpf_map_lookup_elem(p->fd[TM_MAP_RETIRED], &uid, &r) && errno != ENOENT)
		return -errno;
	if (c)
		tm_counters_add(&r.c, c);
	r.rows += more->rows;
	r.cgroups += more->cgroups;
	r.shared += more->shared;
	r.unrecorded += more->unrecorded;
	return bpf_map_update_elem(p->fd[TM_MAP_RETIRED], &uid, &r, BPF_ANY) ? -errno : 0;
}

/*
 * The names no row, socket or other name needs, of cgroups that ended; how
 * many went. A name on a user's share is given back to the user (and to
 * all users') as it goes, so the programs may record theirs again.
 */
static int retire_names(const struct tm_pins *p, struct walk *w, uint64_t *gone)
{
	struct { struct node *v; size_t n, cap; } nodes = {};
	struct ids parents = {};
	size_t i, j;
	bool more = true;
	int err;

	err = tm_map_for_each(p->fd[TM_MAP_CGROUPS], sizeof(uint64_t), sizeof(struct tm_cgroup),
			      add_node, &nodes);
	/* Leaves first, then the parents they leave childless, and so on. */
	while (!err && more) {
		more = false;
		parents.n = 0;
		for (i = 0; i < nodes.n && !err; i++)
			if (nodes.v[i].id)
				err = ids_add(&parents, nodes.v[i].parent);
		ids_sort(&parents);
		for (i = 0; i < nodes.n && !err; i++) {
			uint64_t id = nodes.v[i].id;
			bool metered = false;

			for (j = 0; j < p->nmetered; j++)
				metered |= p->metered[j] == id;
			if (!id || metered || ids_has(&parents, id) || ids_has(&w->kept, id) ||
			    ids_has(&w->sockets, id) || tm_names_cgroup_live(w->names, id))
				continue;
			if (bpf_map_delete_elem(p->fd[TM_MAP_CGROUPS], &id) && errno != ENOENT) {
				err = -errno;
				break;
			}
			nodes.v[i].id = 0;
			(*gone)++;
			more = true;
			if (nodes.v[i].owner) {
				err = add_retired(p, nodes.v[i].owner, NULL,
						  &(struct tm_retired){ .cgroups = 1 });
				if (!err)
					err = add_retired(p, TM_UID_HOST, NULL,
							  &(struct tm_retired){ .shared = 1 });
			}
		}
	}
	free(nodes.v);
	free(parents.v);
	return err;
}

/*
 * Retires the rows and names of the cgroups that have ended, but for those
 * of the jobs held (open in the ledger; NULL: none). The hooks, each if
 * not NULL: plan is called once, before any row is taken out, with the rows
 * to go (what they held) and those that stay, and may tell of each row to
 * go its fate (an error from it retires nothing): TM_RETIRE_NOW (recorded),
 * TM_RETIRE_UNRECORDED (nothing recorded it: counted so), TM_RETIRE_WAIT
 * (not yet: it stays, with its cgroup's name); row with each row as it is taken out, so a recorder
 * can note it. Takes the pin root's lock. 0 or -errno (said).
 */
int tm_retire(const struct tm_pins *p, struct tm_names *names, const struct tm_ledger_open *held,
	      struct tm_retirement *out, const struct tm_retire_hooks *hooks)
{
	struct walk w = { .names = names, .held = held };
	struct tm_retired host = {};
	uint8_t *fate = NULL;
	size_t i;
	int err, lock = -1;

	memset(out, 0, sizeof(*out));
	err = tm_lock(p->root, &lock);
	if (err)
		return err;
	tm_names_refresh(names);
	err = tm_pending_for_each(p, add_socket, &w);
	ids_sort(&w.sockets);
	if (!err)
		err = tm_map_for_each(p->fd[TM_MAP_DETAILS], sizeof(struct tm_detail_key),
				      sizeof(struct tm_detail), look_at_row, &w);
	ids_sort(&w.kept);
	if (w.nstay)
		qsort(w.stay, w.nstay, sizeof(*w.stay), cmp_key_cgroup);
	if (!err && w.nkeys && !(fate = calloc(w.nkeys, sizeof(*fate))))
		err = -ENOMEM;
	if (!err && hooks && hooks->plan)
		err = hooks->plan(&(struct tm_retiring){ w.keys, w.vals, w.nkeys, w.stay, w.nstay,
							 fate }, hooks->ctx);
	/* Rows to wait for: their cgroups' names stay with them. */
	for (i = 0; !err && i < w.nkeys; i++)
		if (fate[i] == TM_RETIRE_WAIT)
			err = ids_add(&w.kept, w.keys[i].cgroup_id);
	ids_sort(&w.kept);
	/*
	 * Each row taken out and its counters put in its user's entry at once,
	 * so a kill between leaves at most one row out of the breakdowns (never
	 * out of the user's totals).
	 */
	for (i = 0; !err && i < w.nkeys; i++) {
		struct tm_retired one = { .rows = 1, .unrecorded = fate[i] == TM_RETIRE_UNRECORDED };
		struct tm_detail v;

		if (fate[i] == TM_RETIRE_WAIT)
			continue;
		if (bpf_map_lookup_and_delete_elem(p->fd[TM_MAP_DETAILS], &w.keys[i], &v)) {
			if (errno != ENOENT)
				err = -errno;
			continue;
		}
		err = add_retired(p, w.keys[i].uid, &v.c, &one);
		tm_counters_add(&host.c, &v.c);
		host.unrecorded += one.unrecorded;
		out->rows++;
		out->unrecorded += one.unrecorded;
		if (!err && hooks && hooks->row)
			err = hooks->row(&w.keys[i], &v, hooks->ctx);
	}
	if (!err)
		err = retire_names(p, &w, &out->cgroups);
	host.rows = out->rows;
	host.cgroups = out->cgroups;
	if (out->rows || out->cgroups)
		add_retired(p, TM_UID_HOST, &host.c, &host);
	close(lock);
	if (err)
		tm_err("cannot retire ended cgroups' rows in %s: %s", p->root, strerror(-err));
	free(w.sockets.v);
	free(w.kept.v);
	free(w.keys);
	free(w.vals);
	free(w.stay);
	free(fate);
	return err;
}
