// SPDX-License-Identifier: GPL-2.0
/*
 * tm-load: load tm's programs, pin maps and cgroup links under the pin root,
 * and exit. The pins keep the counting going until tm-unload.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tm.h"
#include "tm.skel.h"

#define MAX_CGROUPS 64

struct opts {
	struct tm_cg cg[MAX_CGROUPS];
	int ncg;
	struct tm_iface_pick ifaces[TM_IFACES_MAX];
	int nif;
	const char *masks_file;
	struct tm_masks masks;
	__u32 events_size;
	__u32 max_conns;
	__u32 max_details;
	bool group_set;
	__u32 admin_gid;	/* --group: sees every user in a setuid tm-stat */
	__u32 max_users;
	bool replace;
	const char *pin_root;
	const char *config;	/* --config: settings read from this file */
	int owner;		/* --owner: enum tm_owner_kind; 0: the first that loads */
	int pending;		/* --pending: enum tm_pending_kind; 0: likewise */
	struct tm_config file;	/* --config's, whose values the options point into */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-load [OPTION]...\n"
"Load tm's BPF programs, pin them under the pin root and attach them to cgroup\n"
"v2 directories, then exit: counting goes on until tm-unload.\n"
"\n"
"  -c, --cgroup PATH    count the sockets of this cgroup v2 directory and all\n"
"                       below it (repeatable; default: the cgroup v2 root, found\n"
"                       in /proc/self/mountinfo)\n"
"      --iface [NS:]IF  count only packets on this interface (repeatable;\n"
"                       default: every interface): IF in tm-load's network\n"
"                       namespace, or in NS, a name under /run/netns or a\n"
"                       namespace file such as /proc/PID/ns/net\n"
"      --masks FILE     untracked networks, one a line (as tm-mask load FILE)\n"
"      --max-users N    (user, address family) pairs counted (default %u; a\n"
"                       fresh load only); more are counted as 'users_full'\n"
"      --group GROUP    its members see every user in tm-stat, which shows\n"
"                       anyone else only their own traffic (default: none)\n"
"      --max-details N  rows of the per process, interface, protocol and cgroup\n"
"                       breakdowns (default %u; a fresh load only): a user may\n"
"                       hold a sixteenth, the rest is their row (other)\n"
"      --max-conns N    connection rows (default %u; a fresh load only): a\n"
"                       user may hold a sixteenth, their oldest making room\n"
"      --events-size BYTES  the event ring for tm-stream: a power of two from\n"
"                       4096 to 1073741824 (default %u; a fresh load only)\n"
"      --replace        swap in these programs over an existing load, keeping\n"
"                       every counter; with --cgroup, --iface or --masks, those\n"
"                       become exactly what is named\n"
"      --config FILE    settings from FILE (as tm.service reads /etc/tm/tm.conf):\n"
"                       one a line, a long option above without its dashes and\n"
"                       its value (cgroup /sys/fs/cgroup, max-conns 131072);\n"
"                       # comments; with --replace, its sizes are left as loaded\n"
"      --owner WAY      how a packet's owner is read: 'socket' (the socket's\n"
"                       own UID; Linux 6.3) or 'creator' (the UID that made\n"
"                       the socket, recorded then; default: the first this\n"
"                       kernel accepts, as tm-status shows)\n"
"      --pending WAY    how counts not yet in the maps are read: 'storage',\n"
"                       'files' or 'files-core' (default: the first this kernel\n"
"                       accepts, in that order)\n"
"      --pin-root DIR   pin under DIR (default: $TM_PIN_ROOT, else %s)\n"
"  -v, --verbose        say which ways this kernel took and why; libbpf's\n"
"                       messages (twice: debug)\n"
"  -V, --version        show tm's version and exit\n"
"  -h, --help           show this help and exit\n"
"\n"
"Exit status: 0 loaded, 1 failure (nothing is left behind), 2 bad usage.\n",
		TM_USERS_MAX, TM_DETAILS_MAX, TM_CONNS_MAX, TM_EVENTS_SIZE, TM_DEFAULT_PIN_ROOT);
}

/* --iface [NS:]NAME: resolved now (lib/kernel/ifaces.c), each once. */
static int add_iface(struct opts *o, const char *arg)
{
	struct tm_iface_pick f;
	int i, err = tm_iface_resolve(arg, &f);

	if (err)
		return err;
	for (i = 0; i < o->nif; i++)
		if (!memcmp(&o->ifaces[i].key, &f.key, sizeof(f.key)))
			return 0;
	if (o->nif == TM_IFACES_MAX) {
		tm_usage_err("at most %d interfaces", TM_IFACES_MAX);
		return -TM_EUSAGE;
	}
	o->ifaces[o->nif++] = f;
	return 0;
}

enum { OPT_REPLACE = TM_OPT_OWN, OPT_IFACE, OPT_MASKS, OPT_EVENTS_SIZE, OPT_MAX_CONNS,
       OPT_MAX_USERS, OPT_MAX_DETAILS, OPT_GROUP, OPT_CONFIG, OPT_OWNER, OPT_PENDING };

static const struct option longopts[] = {
	{ "cgroup", required_argument, NULL, 'c' },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "masks", required_argument, NULL, OPT_MASKS },
	{ "events-size", required_argument, NULL, OPT_EVENTS_SIZE },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-details", required_argument, NULL, OPT_MAX_DETAILS },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "max-users", required_argument, NULL, OPT_MAX_USERS },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "pending", required_argument, NULL, OPT_PENDING },
	TM_COMMON_OPTIONS,
	{}
};

static int read_config(struct opts *o, const char *path);

/* --events-size and --max-*: the sizes of a fresh load's maps. */
static int parse_size(struct opts *o, int c, const char *arg)
{
	static const struct tm_num events = { .min = 4096, .max = 1u << 30, .pow2 = true };
	static const struct tm_num rows = { .min = 1, .max = 1u << 24 };
	const char *name = c == OPT_EVENTS_SIZE ? "--events-size" : c == OPT_MAX_CONNS ?
			   "--max-conns" : c == OPT_MAX_DETAILS ? "--max-details" : "--max-users";
	uint64_t v;
	int err;

	err = tm_parse_num(name, arg, c == OPT_EVENTS_SIZE ? &events : &rows, &v);
	if (err)
		return err;
	*(c == OPT_EVENTS_SIZE ? &o->events_size : c == OPT_MAX_CONNS ? &o->max_conns :
	  c == OPT_MAX_DETAILS ? &o->max_details : &o->max_users) = v;
	return 0;
}

/* --group: a group's name or number, the admin group of a setuid tm-stat. */
static int parse_group(struct opts *o, const char *arg)
{
	static const struct tm_num gid = { .min = 0, .max = TM_GID_NONE - 1 };
	bool number = *arg && strspn(arg, "0123456789") == strlen(arg);
	struct group *g = getgrnam(arg);
	uint64_t v;

	if (!g && !number) {
		tm_usage_err("--group '%s': no such group", arg);
		return -TM_EUSAGE;
	}
	if (!g && tm_parse_num("--group", arg, &gid, &v))
		return -TM_EUSAGE;
	o->admin_gid = g ? g->gr_gid : v;
	o->group_set = true;
	return 0;
}

/* One option, from the command line or a line of --config's file. */
static int apply(struct opts *o, int c, char *arg)
{
	switch (c) {
	case 'c':
		if (o->ncg == MAX_CGROUPS) {
			tm_usage_err("at most %d cgroups", MAX_CGROUPS);
			return -TM_EUSAGE;
		}
		o->cg[o->ncg++].path = arg;
		return 0;
	case OPT_IFACE:
		return add_iface(o, arg);
	case OPT_MASKS:
		if (o->masks_file) {
			tm_usage_err("--masks given twice");
			return -TM_EUSAGE;
		}
		o->masks_file = arg;
		return tm_masks_parse_file(arg, &o->masks);
	case OPT_EVENTS_SIZE:
	case OPT_MAX_CONNS:
	case OPT_MAX_DETAILS:
	case OPT_MAX_USERS:
		return parse_size(o, c, arg);
	case OPT_GROUP:
		return parse_group(o, arg);
	case OPT_REPLACE:
		o->replace = true;
		return 0;
	case OPT_OWNER:
		o->owner = tm_owner_kind_parse(arg);
		if (!o->owner) {
			tm_usage_err("--owner '%s': %s", arg, tm_owner_kinds_list());
			return -TM_EUSAGE;
		}
		return 0;
	case OPT_PENDING:
		o->pending = tm_pending_kind_parse(arg);
		if (!o->pending) {
			tm_usage_err("--pending '%s': %s", arg, tm_pending_kinds_list());
			return -TM_EUSAGE;
		}
		return 0;
	case OPT_CONFIG:
		if (o->config) {
			tm_usage_err("--config given twice");
			return -TM_EUSAGE;
		}
		o->config = arg;
		return read_config(o, arg);
	default:
		return tm_common_opt(c, arg, &o->pin_root, usage);
	}
}

static int apply_setting(void *o, int c, char *arg)
{
	return apply(o, c, arg);
}

/* Sizes are of a fresh load: kept as they are by a reload. */
static bool size_kept(int c, void *ctx)
{
	const struct opts *o = ctx;

	return o->replace && (c == OPT_EVENTS_SIZE || c == OPT_MAX_CONNS ||
			      c == OPT_MAX_DETAILS || c == OPT_MAX_USERS);
}

/* --config FILE: tm-load's options that take a value, one a line (lib/base/config.c). */
static int read_config(struct opts *o, const char *path)
{
	static const int not[] = { OPT_CONFIG, TM_OPT_PIN_ROOT, 0 };

	o->file = (struct tm_config){ .longopts = longopts, .not = not,
				      .nothing = "nothing loaded", .apply = apply_setting,
				      .skip = size_kept,
				      .skipped = "applies at a fresh load, not with --replace",
				      .ctx = o };
	return tm_config_read(&o->file, path);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c, err, i;

	/* --replace first: it changes how a --config file's sizes are read. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--replace"))
			o->replace = true;
	while ((c = getopt_long(argc, argv, "c:vVh", longopts, NULL)) != -1) {
		err = apply(o, c, optarg);
		if (err)
			return err;
	}
	err = tm_no_more_args(argc, argv, optind);
	if (err)
		return err;
	if (o->replace && (o->events_size || o->max_conns || o->max_users || o->max_details)) {
		tm_usage_err("--%s goes with a fresh load, not --replace",
			     o->events_size ? "events-size" : o->max_conns ? "max-conns" :
			     o->max_details ? "max-details" : "max-users");
		return -TM_EUSAGE;
	}
	return 0;
}

static bool path_inside(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (strncmp(inner, outer, n))
		return false;
	return inner[n] == '/' || (n == 1 && outer[0] == '/');
}

/*
 * Every cgroup is opened and checked before anything is loaded. A program
 * attached to a cgroup also runs for every cgroup below it, so naming a
 * cgroup and one inside it would count those packets twice.
 */
static int open_cgroups(struct opts *o)
{
	static char root[PATH_MAX];
	int i, j, err;

	if (!o->ncg) {
		if (tm_cgroup2_mount(root, sizeof(root))) {
			tm_err("no cgroup v2 mount found in /proc/self/mountinfo; "
			       "mount one (mount -t cgroup2 none DIR) and name it with --cgroup");
			return -ENOENT;
		}
		o->cg[o->ncg++].path = root;
	}
	for (i = 0; i < o->ncg; i++) {
		struct tm_cg *cg = &o->cg[i];

		cg->fd = -1;
		err = tm_cgroup_open(cg->path, &cg->fd, &cg->id);
		if (err)
			return err;
		if (!realpath(cg->path, cg->real))
			snprintf(cg->real, sizeof(cg->real), "%s", cg->path);
		for (j = 0; j < i; j++) {
			const struct tm_cg *p = &o->cg[j];

			if (p->id == cg->id) {
				tm_usage_err("'%s': named twice", cg->path);
				return -TM_EUSAGE;
			}
			if (path_inside(cg->real, p->real) || path_inside(p->real, cg->real)) {
				tm_usage_err("'%s' and '%s': one is inside the other, so its "
					     "traffic would count twice; name only the outer one",
					     p->path, cg->path);
				return -TM_EUSAGE;
			}
		}
	}
	return 0;
}

static void close_cgroups(struct opts *o)
{
	int i;

	for (i = 0; i < o->ncg; i++)
		if (o->cg[i].fd >= 0)
			close(o->cg[i].fd);
}

/* The pin root's parent must be bpffs; the usual /sys/fs/bpf is mounted if missing. */
static int prepare_parent(const char *parent)
{
	struct statfs sfs;

	if (!strcmp(parent, TM_BPFFS) && !statfs(parent, &sfs) &&
	    sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", TM_BPFFS, "bpf", 0, "mode=0700")) {
			int err = -errno;

			tm_err("cannot mount bpffs at %s: %s%s", TM_BPFFS,
			       strerror(-err), tm_priv_hint(err));
			return err;
		}
	}
	return tm_check_bpffs(parent);
}

/*
 * What --masks and --iface ask for, applied to the maps of the load pinned
 * in dir. A fresh load gets its list (empty without --masks) into "masks"
 * here.
 */
static int apply_filters(const struct opts *o, const char *dir, bool fresh, int masks,
			 int ifaces, int ifnames, struct tm_control *ctl)
{
	int added, removed, err = 0;

	if (o->masks_file || fresh)
		err = tm_masks_install(dir, masks, ctl, &o->masks, &added, &removed);
	if (!err && o->nif)
		err = tm_ifaces_set(ifaces, ifnames, ctl, o->ifaces, o->nif);
	return err;
}

/*
 * The cgroups there are now under those metered, and their ancestors, are
 * recorded so each keeps its path once removed; the programs record those
 * that come later as they make their first socket.
 */
static void record_cgroups(const struct opts *o, int fd)
{
	int i;

	for (i = 0; i < o->ncg; i++)
		tm_cgroups_record(fd, o->cg[i].real);
}

/* What one user may hold of a map of max rows: its part, one at least. */
static __u32 share(__u32 max, __u32 part)
{
	return max / part ? max / part : 1;
}

/* A fresh load's sizes and settings, before it loads. */
static int prepare_fresh(struct tm_bpf *skel, void *ctx)
{
	const struct opts *o = ctx;

	if (o->events_size) {
		bpf_map__set_max_entries(skel->maps.events, o->events_size);
		if (o->events_size / 4 < TM_WAKE_BYTES)
			skel->data->control.wake_bytes = o->events_size / 4;
	}
	if (o->max_conns) {
		bpf_map__set_max_entries(skel->maps.conns, o->max_conns);
		bpf_map__set_max_entries(skel->maps.conn_queue, o->max_conns);
		skel->data->control.conns_quota = share(o->max_conns, TM_CONNS_SHARE);
	}
	if (o->group_set)
		skel->data->control.admin_gid = o->admin_gid;
	if (o->max_details) {
		bpf_map__set_max_entries(skel->maps.details, o->max_details);
		skel->data->control.details_quota = share(o->max_details, TM_DETAILS_SHARE);
	}
	if (o->max_users) {
		/* The maps by UID alone hold as many as there are pairs. */
		bpf_map__set_max_entries(skel->maps.users, o->max_users);
		bpf_map__set_max_entries(skel->maps.quota, o->max_users);
		bpf_map__set_max_entries(skel->maps.retired, o->max_users + 1);
		bpf_map__set_max_entries(skel->maps.shares, o->max_users + 1);
	}
	return 0;
}

/*
 * A fresh load is built in a staging directory beside the pin root and
 * renamed into place only when complete, so a failure at any step leaves
 * nothing: removing the staging pins detaches what was attached.
 */
static int load_fresh(struct opts *o, const struct tm_root *r)
{
	char staging[PATH_MAX], links[PATH_MAX];
	struct tm_ways w = { .owner = o->owner ? o->owner : TM_OWNER_SOCKET,
			     .pending = o->pending ? o->pending : TM_PENDING_STORAGE,
			     .owner_set = o->owner, .pending_set = o->pending };
	const char *root = r->path;
	struct bpf_link *pending = NULL;
	struct tm_bpf *skel = NULL;
	int i, err;

	err = tm_root_staging(r, staging, sizeof(staging));
	if (!err)
		err = tm_path(links, sizeof(links), staging, TM_PIN_LINKS);
	if (err)
		return err;
	w.hz = tm_kernel_hz(&w.hz_how);
	err = tm_load_ways(&w, true, prepare_fresh, o, &skel, &pending);
	if (err)
		return err;
	tm_ways_say(&w);
	if (mkdir(staging, 0700) || mkdir(links, 0700)) {
		err = -errno;
		tm_err("cannot create %s: %s", staging, strerror(-err));
		goto out;
	}
	err = tm_skel_maps(skel, staging, NULL);
	if (!err) {
		err = tm_pending_pin(pending, staging);
		pending = NULL;
	}
	/* Filters first, so not one packet is counted that they leave out. */
	if (!err)
		err = apply_filters(o, staging, true, bpf_map__fd(skel->maps.masks),
				    bpf_map__fd(skel->maps.ifaces),
				    bpf_map__fd(skel->maps.ifnames), &skel->data->control);
	for (i = 0; !err && i < o->ncg; i++)
		err = tm_attach_all(skel, w.owner, &o->cg[i], staging);
	if (!err)
		record_cgroups(o, bpf_map__fd(skel->maps.cgroups));
	if (!err && rename(staging, root)) {
		err = -errno;
		tm_err("cannot move %s to %s: %s", staging, root, strerror(-err));
	}
	if (!err && chmod(root, 0700))
		err = -errno;
out:
	if (err)
		tm_root_remove(staging);
	bpf_link__destroy(pending);
	tm_bpf__destroy(skel);
	return err;
}

/* A --replace takes over the pinned maps before it loads. */
static int prepare_replace(struct tm_bpf *skel, void *pins)
{
	return tm_skel_maps(skel, NULL, pins);
}

/*
 * --replace: the new programs share the pinned maps, and each pinned link
 * is switched to its new program in one atomic update, so not one packet
 * goes uncounted and every counter stays.
 */
static int load_replace(struct opts *o, bool named, const char *root)
{
	struct tm_link *old = NULL;
	struct tm_bpf *skel = NULL;
	struct tm_pins pins;
	struct tm_ways w = { .owner_set = true, .pending_set = true };
	int nold = 0, err;

	err = tm_pins_open(&pins, root);
	if (err)
		return err;
	err = tm_links_list(root, &old, &nold);
	if (err)
		tm_err("cannot read the links of %s: %s", root, strerror(-err));
	if (err)
		goto out;
	/* The ways of the load replaced: its iterator takes only its own kind. */
	w.owner = pins.control->owner_kind;
	w.pending = pins.control->pending_kind;
	if ((o->owner && o->owner != w.owner) || (o->pending && o->pending != w.pending)) {
		tm_usage_err("--owner and --pending go with a fresh load: this one reads owners "
			     "by %s and pending counts by %s", tm_owner_kind_name(w.owner),
			     tm_pending_kind_name(w.pending));
		err = -TM_EUSAGE;
		goto out;
	}
	err = tm_load_ways(&w, false, prepare_replace, &pins, &skel, NULL);
	if (!err)
		err = tm_lock(root, &pins.lock_fd);	/* as tm-mask does */
	if (!err)
		err = apply_filters(o, root, false, pins.fd[TM_MAP_MASKS], pins.fd[TM_MAP_IFACES],
				    pins.fd[TM_MAP_IFNAMES], pins.control);
	if (!err && o->group_set)
		__atomic_store_n(&pins.control->admin_gid, o->admin_gid, __ATOMIC_RELAXED);
	if (err)
		goto out;

	err = tm_links_replace(skel, &w, old, nold, o->cg, named ? o->ncg : 0, root);
	if (!err && named)
		record_cgroups(o, pins.fd[TM_MAP_CGROUPS]);
out:
	free(old);
	tm_bpf__destroy(skel);
	tm_pins_close(&pins);
	return err;
}

static int run(struct opts *o)
{
	bool named = o->ncg > 0;
	struct tm_root r;
	int state, err;

	err = tm_root_name(o->pin_root, &r);
	if (!err)
		err = open_cgroups(o);
	if (!err)
		err = tm_need_privilege();
	if (!err)
		err = prepare_parent(r.parent);
	if (!err)
		err = tm_root_lock(&r);
	if (err)
		return err;
	/* Under the lock, no live tm-load has a staging directory. */
	tm_root_clear_staging(&r);
	state = tm_root_state(&r);
	if (state < 0) {
		err = state;
	} else if (state == TM_ROOT_OURS && o->replace) {
		err = load_replace(o, named, r.path);
		if (!err)
			fprintf(stderr, "tm-load: replaced the programs at %s, counters kept\n",
				r.path);
	} else if (state == TM_ROOT_OURS) {
		tm_err("already loaded at '%s': run tm-unload first, or --replace to "
		       "swap the programs and keep the counters", r.path);
		err = -EEXIST;
	} else if (o->replace) {
		/* A mistyped pin root must not start metering the whole host. */
		tm_err("nothing loaded at '%s' to replace; without --replace, tm-load "
		       "makes a fresh load", r.path);
		err = -ENOENT;
	} else {
		/* An empty root is what an unload killed at its end left. */
		if (state == TM_ROOT_EMPTY && rmdir(r.path)) {
			err = -errno;
			tm_err("cannot remove the empty %s: %s", r.path, strerror(-err));
		}
		if (!err)
			err = load_fresh(o, &r);
		if (!err) {
			int i;

			fprintf(stderr, "tm-load: loaded at %s, counting", r.path);
			for (i = 0; i < o->ncg; i++)
				fprintf(stderr, " %s", o->cg[i].path);
			fputc('\n', stderr);
		}
	}
	tm_root_unlock(&r);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int err;

	tm_init("tm-load");
	err = parse_args(argc, argv, &o);
	if (!err)
		err = run(&o);
	close_cgroups(&o);
	tm_masks_free(&o.masks);
	tm_config_free(&o.file);
	return tm_exit_code(err);
}
