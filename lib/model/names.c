// SPDX-License-Identifier: GPL-2.0
/*
 * What rows are named by, besides users: cgroup paths and interface names.
 *
 * Cgroups: the programs record each cgroup that makes a socket, with its
 * ancestors, and tm-load records those under the metered cgroups at load
 * ("cgroups" pin): id, parent, name. A walk of the cgroup v2 tree adds any
 * live one that is missing. So a path is built from parents, and a cgroup
 * removed since keeps its path.
 *
 * Interfaces: an index means something only in its network namespace. The
 * programs record each interface that carries a slot by namespace cookie
 * and index, with its name there and the namespace's inode ("ifnames"
 * pin). An interface of this process's own namespace shows as its name;
 * another's as NAME@NS, NS being the namespace's name under /run/netns
 * (ip netns) or its inode number.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "model.h"

void tm_names_init(struct tm_names *n, const struct tm_pins *pins)
{
	struct timespec mono, real;
	struct stat st;

	memset(n, 0, sizeof(*n));
	n->pins = pins;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	n->mono_to_real = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			  (real.tv_nsec - mono.tv_nsec);
	if (!stat("/proc/self/ns/net", &st))
		n->own_netns = st.st_ino;
	n->own_cookie = tm_netns_cookie();
}

/*
 * A new reading: cgroups that came since the names were read are read
 * again (what was read stays valid until this call).
 */
void tm_names_refresh(struct tm_names *n)
{
	size_t i;

	for (i = 0; i < n->ncg; i++) {
		free(n->cg[i].name);
		free(n->cg[i].path);
		free(n->cg[i].job);
		free(n->cg[i].kind);
	}
	n->ncg = 0;
	n->cg_loaded = false;
	n->last = NULL;
}

void tm_names_free(struct tm_names *n)
{
	size_t i;

	tm_names_refresh(n);
	tm_job_rules_free(&n->jobs);
	free(n->cg);
	for (i = 0; i < n->nif; i++)
		free(n->ifs[i].shown);
	free(n->ifs);
	for (i = 0; i < n->nns; i++)
		free(n->ns[i].name);
	free(n->ns);
	memset(n, 0, sizeof(*n));
}

static long mono_sec(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* ---- cgroups ---- */

static struct tm_cgnode *cg_add(struct tm_names *n, uint64_t id, uint64_t parent,
				const char *name)
{
	struct tm_cgnode *c;

	n->last = NULL;		/* the array may move */
	if (tm_grow(&n->cg, &n->cgcap, n->ncg, sizeof(n->cg[0])))
		return NULL;
	c = &n->cg[n->ncg];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->parent = parent;
	c->name = strdup(name);
	if (!c->name)
		return NULL;
	n->ncg++;
	return c;
}

static int cg_cmp(const void *a, const void *b)
{
	const struct tm_cgnode *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* A stream asks of one cgroup many times in a row: the last found first. */
static struct tm_cgnode *cg_find(struct tm_names *n, uint64_t id)
{
	struct tm_cgnode key = { .id = id };

	if (n->last && n->last->id == id)
		return n->last;
	n->last = n->ncg ? bsearch(&key, n->cg, n->ncg, sizeof(n->cg[0]), cg_cmp) : NULL;
	return n->last;
}

static int add_recorded(const void *key, const void *value, void *ctx)
{
	const struct tm_cgroup *v = value;
	char name[TM_CGNAME_LEN];

	memcpy(name, v->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	return cg_add(ctx, *(const uint64_t *)key, v->parent, name) ? 0 : -ENOMEM;
}

static struct tm_names *walking;
static size_t walk_sorted;	/* entries before the walk, sorted */

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct tm_names *n = walking;
	struct tm_cgnode key = { .id = st->st_ino };
	struct stat up;
	char parent[PATH_MAX];
	const char *slash;
	struct tm_cgnode *c;

	if (flag != FTW_D)
		return 0;
	c = walk_sorted ? bsearch(&key, n->cg, walk_sorted, sizeof(n->cg[0]), cg_cmp) : NULL;
	if (c) {
		c->live = true;
		return 0;
	}
	if (ftw->level == 0)
		c = cg_add(n, st->st_ino, 0, "");
	else {
		slash = strrchr(path, '/');
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
		if (stat(parent, &up))
			return 0;
		c = cg_add(n, st->st_ino, up.st_ino, slash + 1);
	}
	if (c)
		c->live = true;
	return c ? 0 : 1;
}

/* What the pins recorded, then what the tree has now; sorted by id. */
static void cg_load(struct tm_names *n)
{
	char mnt[PATH_MAX];

	if (n->cg_loaded)
		return;
	n->cg_loaded = true;
	n->cg_loaded_at = mono_sec();
	if (n->pins && n->pins->fd[TM_MAP_CGROUPS] >= 0)
		tm_map_for_each(n->pins->fd[TM_MAP_CGROUPS], sizeof(uint64_t),
				sizeof(struct tm_cgroup), add_recorded, n);
	n->last = NULL;
	if (n->ncg)
		qsort(n->cg, n->ncg, sizeof(n->cg[0]), cg_cmp);
	if (!tm_cgroup2_mount(mnt, sizeof(mnt))) {
		walking = n;
		walk_sorted = n->ncg;
		nftw(mnt, walk_one, 32, FTW_PHYS | FTW_MOUNT);
		walking = NULL;
	}
	n->last = NULL;
	if (n->ncg)
		qsort(n->cg, n->ncg, sizeof(n->cg[0]), cg_cmp);
}

/* Up to TM_CG_DEPTH ids from id to the root, id first; how many. */
#define TM_CG_DEPTH 128

static size_t cg_chain(struct tm_names *n, uint64_t id, uint64_t chain[TM_CG_DEPTH])
{
	struct tm_cgnode *c;
	size_t k = 0;

	while (k < TM_CG_DEPTH) {
		chain[k++] = id;
		c = cg_find(n, id);
		if (!c || !c->parent)
			break;
		id = c->parent;
	}
	return k;
}

/*
 * The cgroup v2 path of an id, relative to the mount ("/" is the root). A
 * cgroup neither recorded nor alive is "(gone: ID)".
 */
const char *tm_names_cgroup(struct tm_names *n, uint64_t id, char *buf, size_t len)
{
	uint64_t chain[TM_CG_DEPTH];
	char path[8192];
	TM_BUF(b, path);
	struct tm_cgnode *c;
	size_t k, i;

	cg_load(n);
	c = cg_find(n, id);
	if (!c) {
		snprintf(buf, len, id ? "(gone: %" PRIu64 ")" : "?", id);
		return buf;
	}
	if (c->path)
		return c->path;
	/* The chain ends at the root, or at an ancestor neither recorded nor alive. */
	k = cg_chain(n, id, chain);
	if (!cg_find(n, chain[k - 1])) {
		tm_put_lit(&b, "(gone: ");
		tm_put_u64(&b, chain[k - 1]);
		tm_put_lit(&b, ")");
	}
	for (i = k - 1; i-- > 0;) {
		tm_put_lit(&b, "/");
		tm_put_str(&b, cg_find(n, chain[i])->name);
	}
	if (b.p == path)
		tm_put_lit(&b, "/");
	c->path = strndup(path, b.p - path);
	return c->path ? c->path : "?";
}

/*
 * id's chain of ancestors (itself first) into chain, and where in it the
 * metered cgroup it is under is: its level below that cgroup, or -1 when
 * under none or not known.
 */
static int metered_level(struct tm_names *n, uint64_t id, uint64_t *chain)
{
	size_t k, i, j;

	if (!n->pins)
		return -1;
	cg_load(n);
	k = cg_chain(n, id, chain);
	for (i = 0; i < k; i++)
		for (j = 0; j < n->pins->nmetered; j++)
			if (chain[i] == n->pins->metered[j])
				return (int)i;
	return -1;
}

/*
 * The cgroup a row of id rolls up into with --depth: its ancestor depth
 * levels below the metered cgroup it is under, or id itself if it is no
 * deeper than that (or under no metered cgroup, or not known).
 */
uint64_t tm_names_cgroup_at_depth(struct tm_names *n, uint64_t id, int depth)
{
	uint64_t chain[TM_CG_DEPTH];
	int l = metered_level(n, id, chain);

	return l > depth ? chain[l - depth] : id;
}

/* How many levels below the metered cgroup it is under id is (0: that
 * cgroup itself); -1: under none, or not known. */
int tm_names_cgroup_level(struct tm_names *n, uint64_t id)
{
	uint64_t chain[TM_CG_DEPTH];

	return metered_level(n, id, chain);
}

/*
 * The site's job rules: TM_JOB_RULES (root only), else TM_JOB_RULES_FILE;
 * read once (a file refused is said once, and then no cgroup is in a job).
 */
int tm_names_jobs_load(struct tm_names *n)
{
	const char *env = getenv("TM_JOB_RULES");

	if (!n->jobs_loaded) {
		n->jobs_err = tm_job_rules_read(env && *env && !getuid() ? env : TM_JOB_RULES_FILE,
						&n->jobs);
		n->jobs_loaded = true;
	}
	return n->jobs_err;
}

/* Whether cgroup id exists now (false: removed, or not known). */
bool tm_names_cgroup_live(struct tm_names *n, uint64_t id)
{
	struct tm_cgnode *c;

	cg_load(n);
	c = cg_find(n, id);
	return c && c->live;
}

/*
 * The job cgroup id is in, into j, and the id of the job's own cgroup (its
 * ancestor or itself); 0 when it is in none, or not known.
 */
uint64_t tm_names_job(struct tm_names *n, uint64_t id, struct tm_job *j)
{
	uint64_t chain[TM_CG_DEPTH];
	char buf[64];
	const char *path = tm_names_cgroup(n, id, buf, sizeof(buf));
	size_t k, i;

	if (path == buf || path[0] != '/' || tm_names_jobs_load(n) ||
	    !tm_job_of(path, &n->jobs, j))
		return 0;
	k = cg_chain(n, id, chain);
	for (i = 0; i < k; i++) {
		const char *up = tm_names_cgroup(n, chain[i], buf, sizeof(buf));

		if (up != buf && strlen(up) == j->len)
			return chain[i];
	}
	return 0;
}

/*
 * The job cgroup id is in, and its kind, kept with the cgroup for the next
 * time (a stream asks for each packet's); false: in none, or not known.
 */
bool tm_names_job_of(struct tm_names *n, uint64_t id, const char **job, const char **kind)
{
	struct tm_cgnode *c;
	struct tm_job j;

	cg_load(n);
	c = cg_find(n, id);
	if (!c)
		return false;
	if (!c->job_read) {
		c->job_read = true;
		if (tm_names_job(n, id, &j)) {
			/* (tm_names_job may load no more: c stays where it is.) */
			c->job = strdup(j.id);
			c->kind = strdup(j.kind);
			if (!c->job || !c->kind) {
				free(c->job);
				free(c->kind);
				c->job = c->kind = NULL;
			}
		}
	}
	*job = c->job;
	*kind = c->kind;
	return c->job;
}

/*
 * Whether cgroup id has a name here: one made since the names were read
 * has them read again first, once a second at most (a stream's packets of
 * a new job).
 */
bool tm_names_cgroup_known(struct tm_names *n, uint64_t id)
{
	cg_load(n);
	if (!cg_find(n, id) && mono_sec() > n->cg_loaded_at) {
		tm_names_refresh(n);
		cg_load(n);
	}
	return cg_find(n, id);
}

/*
 * Whether cgroup id is in job (its id, as tm_names_job gives it; NULL: any)
 * and at or below the cgroup path under (NULL: anywhere).
 */
bool tm_names_cgroup_in(struct tm_names *n, uint64_t id, const char *job, const char *under)
{
	const char *jid, *kind;
	char buf[64];
	const char *path;
	size_t len;

	if (under) {
		path = tm_names_cgroup(n, id, buf, sizeof(buf));
		len = strlen(under);
		if (path == buf || (strcmp(under, "/") && (strncmp(path, under, len) ||
							  (path[len] && path[len] != '/'))))
			return false;
	}
	return !job || (tm_names_job_of(n, id, &jid, &kind) && !strcmp(jid, job));
}

/* ---- interfaces ---- */

static int add_ifname(const void *key, const void *value, void *ctx)
{
	const struct tm_iface_key *k = key;
	const struct tm_iface *v = value;
	struct tm_names *n = ctx;
	struct tm_ifname *e;

	if (tm_grow(&n->ifs, &n->ifcap, n->nif, sizeof(n->ifs[0])))
		return -ENOMEM;
	e = &n->ifs[n->nif++];
	memset(e, 0, sizeof(*e));
	e->cookie = k->netns_cookie;
	e->ifindex = k->ifindex;
	e->netns = v->netns;
	memcpy(e->name, v->name, TM_IFNAMSIZ);
	e->name[TM_IFNAMSIZ] = '\0';
	return 0;
}

/* (Re)reads "ifnames": entries already read keep their place. */
static void if_load(struct tm_names *n)
{
	long now = mono_sec();
	size_t i, old = n->nif;

	/* A miss rereads the map, at most once a second. */
	if (n->if_loaded && now == n->if_loaded_at)
		return;
	n->if_loaded = true;
	n->if_loaded_at = now;
	if (!n->pins || n->pins->fd[TM_MAP_IFNAMES] < 0)
		return;
	tm_map_for_each(n->pins->fd[TM_MAP_IFNAMES], sizeof(struct tm_iface_key),
			sizeof(struct tm_iface), add_ifname, n);
	/* Drop what was read again. */
	for (i = old; i < n->nif;) {
		size_t j;
		bool dup = false;

		for (j = 0; j < old && !dup; j++)
			dup = n->ifs[j].cookie == n->ifs[i].cookie &&
			      n->ifs[j].ifindex == n->ifs[i].ifindex;
		if (dup)
			n->ifs[i] = n->ifs[--n->nif];
		else
			i++;
	}
}

/*
 * A stream's are read before its first event: they would otherwise hold
 * up the events first read, which a burst at the start may be. A cgroup or
 * interface they miss is still looked for again at once, as it would have
 * been had they been read at that event (then once a second at most).
 */
void tm_names_load(struct tm_names *n)
{
	cg_load(n);
	if_load(n);
	n->cg_loaded_at = 0;
	n->if_loaded_at = 0;
}

/* The name of a namespace under /run/netns, by inode; NULL if none. */
static const char *netns_name(struct tm_names *n, uint32_t ino)
{
	struct dirent *de;
	size_t i;
	DIR *d;

	if (!n->ns_read) {
		n->ns_read = true;
		d = opendir("/run/netns");
		while (d && (de = readdir(d))) {
			struct stat st;

			if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) ||
			    tm_grow(&n->ns, &n->nscap, n->nns, sizeof(n->ns[0])))
				continue;
			n->ns[n->nns].ino = st.st_ino;
			n->ns[n->nns].name = strdup(de->d_name);
			if (n->ns[n->nns].name)
				n->nns++;
		}
		if (d)
			closedir(d);
	}
	for (i = 0; i < n->nns; i++)
		if (n->ns[i].ino == ino)
			return n->ns[i].name;
	return NULL;
}

static struct tm_ifname *if_find(struct tm_names *n, uint64_t cookie, uint32_t netns,
				 uint32_t ifindex)
{
	int pass;
	size_t i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n->nif; i++) {
			struct tm_ifname *e = &n->ifs[i];

			if (e->ifindex == ifindex &&
			    (cookie ? e->cookie == cookie : e->netns == netns))
				return e;
		}
		if_load(n);
	}
	return NULL;
}

/*
 * An interface as rows and events show it: its name in its own namespace,
 * with @NS after it if that is not this process's. cookie 0: the namespace
 * is told by its inode, netns (events carry only that). *ino: the
 * namespace's inode, 0 if unknown. NULL only when out of memory.
 */
const char *tm_names_iface(struct tm_names *n, uint64_t cookie, uint32_t netns,
			   uint32_t ifindex, uint32_t *ino)
{
	struct tm_ifname *e = if_find(n, cookie, netns, ifindex);
	bool own;
	char tmp[TM_IFNAMSIZ + 1];

	if (!e) {
		/* Never recorded: named here if it is this namespace's. */
		if (tm_grow(&n->ifs, &n->ifcap, n->nif, sizeof(n->ifs[0])))
			return NULL;
		e = &n->ifs[n->nif++];
		memset(e, 0, sizeof(*e));
		e->cookie = cookie;
		e->netns = netns;
		e->ifindex = ifindex;
		own = cookie ? cookie == n->own_cookie : netns == n->own_netns;
		if (own)
			e->netns = n->own_netns;
		if (!own || !if_indextoname(ifindex, tmp))
			snprintf(tmp, sizeof(tmp), "%u", ifindex);
		memcpy(e->name, tmp, sizeof(e->name));
	}
	if (ino)
		*ino = e->netns;
	if (!e->shown) {
		const char *ns = NULL;
		char num[16];

		if (e->netns && e->netns != n->own_netns) {
			ns = netns_name(n, e->netns);
			if (!ns) {
				snprintf(num, sizeof(num), "%" PRIu32, e->netns);
				ns = num;
			}
		}
		if (ns ? asprintf(&e->shown, "%s@%s", e->name, ns) < 0 :
			 !(e->shown = strdup(e->name)))
			e->shown = NULL;
	}
	return e->shown;
}
