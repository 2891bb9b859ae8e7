// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF object loaded the ways the tables in tm_abi.h say (TM_PROGS,
 * TM_OWNER_WAYS, TM_PENDING_WAYS): the first ways the running kernel takes,
 * each refusal noted with the kernel's reason, read from the refused
 * program's own verifier log; the cgroup programs attached in the table's
 * order, swapped in place by --replace, detached with their links. Only
 * tm-load links this file: it holds the skeleton, the object in it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "tm.skel.h"

/* Room for a verifier's log: libbpf's own largest (the kernel's reason ends it). */
#define LOG_SIZE (16u << 20)

/* The skeleton's program of each entry of TM_PROGS. */
struct bpf_program *tm_skel_prog(struct tm_bpf *skel, int id)
{
	static const size_t at[TM_PROG_COUNT] = {
#define TM_PROG_AT(id, obj, link, pin, way, v) [TM_PROG_##id] = offsetof(struct tm_bpf, progs.obj),
		TM_PROGS(TM_PROG_AT)
#undef TM_PROG_AT
	};

	return *(struct bpf_program **)((char *)skel + at[id]);
}

/* Whether a load reading owners this way attaches program id to cgroups. */
static bool cgroup_prog(int id, int owner)
{
	return tm_progs[id].link == TM_LINK_CGROUP && tm_prog_taken(&tm_progs[id], owner, 0);
}

/* The cgroup program such a load attaches as a link of kind (its pin name); -1: none. */
static int cgroup_prog_of_kind(const char *kind, int owner)
{
	int i;

	for (i = 0; i < TM_PROG_COUNT; i++)
		if (cgroup_prog(i, owner) && !strcmp(tm_progs[i].pin, kind))
			return i;
	return -1;
}

static int link_pin_name(char *buf, size_t len, const char *dir,
			 const char *kind, uint64_t cgid)
{
	int n = snprintf(buf, len, "%s/%s/%s-%" PRIu64, dir, TM_PIN_LINKS, kind, cgid);

	if (n < 0 || (size_t)n >= len) {
		tm_err("'%s': path too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * A new link, pinned at path unless err already says no. Pinned, it
 * outlives this fd; unpinned, closing it detaches it.
 */
static int keep_link(struct bpf_link *link, const char *path, int err)
{
	if (!err)
		err = bpf_link__pin(link, path);
	if (err)
		tm_err("cannot pin %s: %s", path, strerror(-err));
	bpf_link__destroy(link);
	return err;
}

static int attach_one(struct bpf_program *prog, const char *kind,
		      const struct tm_cg *cg, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_cgroup(prog, cg->fd);
	if (!link) {
		err = -errno;
		tm_err("cannot attach to %s: %s%s", cg->path, strerror(-err),
		       tm_priv_hint(err));
		return err;
	}
	err = link_pin_name(path, sizeof(path), dir, kind, cg->id);
	return keep_link(link, path, err);
}

/* Each cgroup program of the load, in the table's order (its comment says why). */
int tm_attach_all(struct tm_bpf *skel, int owner, const struct tm_cg *cg, const char *dir)
{
	int i, err = 0;

	for (i = 0; !err && i < TM_PROG_COUNT; i++)
		if (cgroup_prog(i, owner))
			err = attach_one(tm_skel_prog(skel, i), tm_progs[i].pin, cg, dir);
	return err;
}

static struct bpf_map *skel_map(struct tm_bpf *skel, int id)
{
	struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, tm_maps[id].obj);

	if (!m)
		tm_err("the BPF object has no map '%s'", tm_maps[id].obj);
	return m;
}

/*
 * Every map of the list in tm_abi.h: pinned under dir for a fresh load, or,
 * for --replace, the pinned one of reuse taken over by the new programs.
 */
int tm_skel_maps(struct tm_bpf *skel, const char *dir, const struct tm_pins *reuse)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int i, err;

	for (i = 0; i < TM_MAP_COUNT; i++) {
		m = skel_map(skel, i);
		if (!m)
			return -ENOENT;
		err = tm_path(path, sizeof(path), reuse ? reuse->root : dir, tm_maps[i].pin);
		if (!err)
			err = reuse ? bpf_map__reuse_fd(m, reuse->fd[i]) : bpf_map__pin(m, path);
		if (err) {
			tm_err("cannot %s %s: %s", reuse ? "reuse the pinned map" : "pin", path,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static struct bpf_program *pending_prog(struct tm_bpf *skel, int kind)
{
	return tm_skel_prog(skel, tm_prog_pending(kind));
}

/*
 * The iterator over the sockets' slots: reading it gives one struct
 * tm_pending for each slot not yet in the maps. The storage's is bound to
 * the map it walks.
 */
static struct bpf_link *make_pending(struct tm_bpf *skel, int kind)
{
	union bpf_iter_link_info li = { .map.map_fd = bpf_map__fd(skel->maps.socks) };
	LIBBPF_OPTS(bpf_iter_attach_opts, ao, .link_info = &li, .link_info_len = sizeof(li));

	return bpf_program__attach_iter(pending_prog(skel, kind),
					kind == TM_PENDING_STORAGE ? &ao : NULL);
}

/* The iterator's link, pinned as a file under dir. */
int tm_pending_pin(struct bpf_link *link, const char *dir)
{
	char path[PATH_MAX];

	return keep_link(link, path, tm_path(path, sizeof(path), dir, TM_PIN_PENDING));
}

static void add_note(char *buf, size_t len, const char *way, const char *why)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s: %s", n ? "; " : "", way, why);
}

/* A load's logs: one a program it loads, for the verifier's reason. */
struct logs {
	char *of[TM_PROG_COUNT];
};

/* Only the programs of the ways taken are loaded, each with a log of its own. */
static int take_ways(struct tm_bpf *skel, const struct tm_ways *w, struct logs *l)
{
	bool taken;
	int i;

	for (i = 0; i < TM_PROG_COUNT; i++) {
		taken = tm_prog_taken(&tm_progs[i], w->owner, w->pending);
		bpf_program__set_autoload(tm_skel_prog(skel, i), taken);
		/* Untouched, its pages cost nothing: only a refused program writes. */
		if (taken && !l->of[i] && !(l->of[i] = calloc(1, LOG_SIZE)))
			return -ENOMEM;
		/* Emptied, taken or not: what an earlier try's refusal left is not this try's. */
		if (l->of[i])
			l->of[i][0] = 0;
		if (taken)
			bpf_program__set_log_buf(tm_skel_prog(skel, i), l->of[i], LOG_SIZE);
	}
	return 0;
}

static void logs_free(struct logs *l)
{
	int i;

	for (i = 0; i < TM_PROG_COUNT; i++)
		free(l->of[i]);
}

/* The program the kernel refused, and why, as its log or the kernel's error says. */
struct refusal {
	int prog;		/* -1: not known */
	char why[256];
};

static void read_refusal(const struct logs *l, int err, struct refusal *r)
{
	int i;

	r->prog = -1;
	r->why[0] = 0;
	for (i = 0; i < TM_PROG_COUNT && r->prog < 0; i++)
		if (l->of[i] && l->of[i][0]) {
			r->prog = i;
			tm_verifier_reason(l->of[i], strnlen(l->of[i], LOG_SIZE), r->why,
					   sizeof(r->why));
			if (tm_verbose)
				fprintf(stderr, "%s: the kernel's log of %s:\n%s\n", tm_prog,
					tm_progs[i].name, l->of[i]);
		}
	/* Refused before the verifier ran, no log: libbpf names the program. */
	if (r->prog < 0 && *tm_bpf_refused_prog())
		r->prog = tm_prog_by_name(tm_bpf_refused_prog());
	if (!r->why[0])
		snprintf(r->why, sizeof(r->why), "%s", strerror(-err));
}

/* After a refusal of r's program: the next way of its kind, unless one was asked for. */
static bool next_way(struct tm_ways *w, const struct refusal *r)
{
	if (r->prog < 0)
		return false;
	if (tm_progs[r->prog].way == TM_WAY_OWNER && !w->owner_set &&
	    w->owner + 1 < TM_OWNER_KINDS) {
		add_note(w->owner_note, sizeof(w->owner_note), tm_owner_kind_name(w->owner), r->why);
		w->owner++;
		return true;
	}
	if (tm_progs[r->prog].way == TM_WAY_PENDING && !w->pending_set &&
	    w->pending + 1 < TM_PENDING_KINDS) {
		add_note(w->pending_note, sizeof(w->pending_note),
			 tm_pending_kind_name(w->pending), r->why);
		w->pending++;
		return true;
	}
	return false;
}

/* A fresh load keeps its ways, and why not the others, in its control map. */
static void keep_ways(struct tm_bpf *skel, const struct tm_ways *w)
{
	struct tm_control *c = &skel->data->control;

	c->owner_kind = w->owner;
	c->pending_kind = w->pending;
	c->hz = w->hz;
	memcpy(c->owner_note, w->owner_note, sizeof(c->owner_note));
	memcpy(c->pending_note, w->pending_note, sizeof(c->pending_note));
}

/*
 * One try at the ways w says: opened, prepared, loaded; for a fresh load
 * the pending iterator made too (a kernel may refuse that only then).
 * 0: loaded; 1: refused, and w is at the next ways to try; else -errno, said.
 */
static int try_ways(struct tm_ways *w, bool fresh, tm_prepare_fn prepare, void *ctx,
		    struct tm_bpf *skel, struct logs *l, struct bpf_link **link)
{
	struct refusal r;
	int err = take_ways(skel, w, l);

	if (!err && fresh)
		keep_ways(skel, w);
	if (!err)
		err = prepare(skel, ctx);
	if (err)
		return err;
	tm_bpf_refusal_clear();
	err = tm_bpf__load(skel);
	if (err) {
		read_refusal(l, err, &r);
		if (next_way(w, &r))
			return 1;
		if (r.prog >= 0)
			tm_err("cannot load the BPF programs: the kernel refused %s: %s%s",
			       tm_progs[r.prog].name, r.why, tm_priv_hint(err));
		else
			tm_err("cannot load the BPF programs: %s%s%s", strerror(-err),
			       tm_priv_hint(err), tm_verbose ? "" : " (-v tells more)");
		return err;
	}
	if (fresh && !(*link = make_pending(skel, w->pending))) {
		err = -errno;
		if (w->pending_set || w->pending + 1 >= TM_PENDING_KINDS) {
			tm_err("cannot make the socket iterator (%s): %s%s",
			       tm_pending_kind_name(w->pending), strerror(-err), tm_priv_hint(err));
			return err;
		}
		add_note(w->pending_note, sizeof(w->pending_note),
			 tm_pending_kind_name(w->pending), strerror(-err));
		w->pending++;
		return 1;
	}
	return 0;
}

/*
 * Opens and loads the programs of the ways w names (those set are kept),
 * else of the first ways this kernel takes: a way it refuses is noted with
 * its reason, as the verifier or the kernel gave it, and the next is tried.
 * A fresh load also makes the pending iterator here (*link); a --replace
 * keeps the ways of the load it replaces (all set).
 */
int tm_load_ways(struct tm_ways *w, bool fresh, tm_prepare_fn prepare, void *ctx,
		 struct tm_bpf **out, struct bpf_link **link)
{
	const char *why = "this kernel has no bpf_cast_to_kern_ctx (Linux 6.3)";
	struct logs l = {};
	struct tm_bpf *skel;
	int err;

	*out = NULL;
	if (w->owner == TM_OWNER_SOCKET && !tm_kernel_has_func("bpf_cast_to_kern_ctx")) {
		if (w->owner_set) {
			tm_err("cannot read owners from the socket: %s", why);
			return -EOPNOTSUPP;
		}
		add_note(w->owner_note, sizeof(w->owner_note), tm_owner_kind_name(w->owner), why);
		w->owner = TM_OWNER_CREATOR;
	}
	do {
		skel = tm_bpf__open();
		if (!skel) {
			err = -errno;
			tm_err("cannot open the BPF object: %s", strerror(-err));
			break;
		}
		err = try_ways(w, fresh, prepare, ctx, skel, &l, link);
		if (err)
			tm_bpf__destroy(skel);
	} while (err == 1);
	logs_free(&l);
	if (!err)
		*out = skel;
	return err;
}

/* -v: what this kernel took, and why not the first ways. */
void tm_ways_say(const struct tm_ways *w)
{
	if (!tm_verbose)
		return;
	fprintf(stderr, "tm-load: owners: %s%s%s%s\n", tm_owner_kind_name(w->owner),
		*w->owner_note ? " (not " : "", w->owner_note, *w->owner_note ? ")" : "");
	fprintf(stderr, "tm-load: pending counts: %s%s%s%s\n", tm_pending_kind_name(w->pending),
		*w->pending_note ? " (not " : "", w->pending_note, *w->pending_note ? ")" : "");
	if (w->hz_how)
		fprintf(stderr, "tm-load: HZ: %u (%s)\n", w->hz, w->hz_how);
}

/* The pinned iterator gets the new program too, in place. */
static int swap_pending(struct tm_bpf *skel, int kind, const char *root)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int err;

	err = tm_path(path, sizeof(path), root, TM_PIN_PENDING);
	if (err)
		return err;
	link = bpf_link__open(path);
	if (!link) {
		err = -errno;
		tm_err("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	err = bpf_link__update_program(link, pending_prog(skel, kind));
	if (err)
		tm_err("cannot swap the program of %s: %s", path, strerror(-err));
	bpf_link__destroy(link);
	return err;
}

/*
 * What is missing on the cgroups named: a new cgroup, or the rest of one
 * that a killed --replace attached only in part. So the same command run
 * again completes a replace that was stopped.
 */
static int attach_missing(struct tm_bpf *skel, int owner, const struct tm_link *old, int nold,
			  const struct tm_cg *cg, int ncg, const char *root)
{
	int i, j, k, err = 0;
	bool have;

	for (i = 0; !err && i < ncg; i++)
		for (k = 0; !err && k < TM_PROG_COUNT; k++) {
			if (!cgroup_prog(k, owner))
				continue;
			for (j = 0, have = false; j < nold; j++)
				have |= old[j].cgid == cg[i].id && !strcmp(old[j].kind, tm_progs[k].pin);
			if (!have)
				err = attach_one(tm_skel_prog(skel, k), tm_progs[k].pin, &cg[i], root);
		}
	return err;
}

/*
 * An old link: switched to its new program in one atomic update when its
 * cgroup stays metered (every one when ncg is 0), else detached and unpinned.
 */
static int swap_link(struct tm_bpf *skel, int owner, const struct tm_link *old,
		     const struct tm_cg *cg, int ncg)
{
	int i, id = cgroup_prog_of_kind(old->kind, owner), err = 0;
	bool keep = !ncg;
	struct bpf_link *link;

	for (i = 0; !keep && i < ncg; i++)
		keep = old->cgid == cg[i].id;
	link = bpf_link__open(old->path);
	if (!link) {
		err = -errno;
		tm_err("cannot open %s: %s", old->path, strerror(-err));
		return err;
	}
	if (keep && id < 0) {
		err = -EPROTO;
		tm_err("%s: a link this tm does not know", old->path);
	} else if (keep) {
		err = bpf_link__update_program(link, tm_skel_prog(skel, id));
		if (err)
			tm_err("cannot swap the program of %s: %s", old->path, strerror(-err));
	} else {
		bpf_link__detach(link);
		unlink(old->path);
	}
	bpf_link__destroy(link);
	return err;
}

/*
 * --replace: the pinned links switched to the new programs, those of
 * cgroups no longer named detached, the missing ones attached first, and
 * the iterator swapped. cg, ncg: the cgroups named (0: all stay as they are).
 */
int tm_links_replace(struct tm_bpf *skel, const struct tm_ways *w, const struct tm_link *old,
		     int nold, const struct tm_cg *cg, int ncg, const char *root)
{
	int j, err = attach_missing(skel, w->owner, old, nold, cg, ncg, root);

	for (j = 0; !err && j < nold; j++)
		err = swap_link(skel, w->owner, &old[j], cg, ncg);
	if (!err)
		err = swap_pending(skel, w->pending, root);
	return err;
}

void tm_skel_free(struct tm_bpf *skel)
{
	tm_bpf__destroy(skel);
}
