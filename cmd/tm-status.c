// SPDX-License-Identifier: GPL-2.0
/*
 * tm-status: what is loaded at the pin root: the layout, the metered
 * cgroups and their links, the programs, each map's fill and memory, the
 * filters, the reader, and what was counted apart. Reads only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tm.h"

struct opts {
	const char *pin_root;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-status [OPTION]...\n"
"Show what is loaded at the pin root: layout version, the cgroups metered\n"
"and their links (with program and link IDs), the interface filter and the\n"
"untracked networks, each map's entries in use and kernel memory, the\n"
"tm-stream reader, and what was counted apart (events lost, full maps,\n"
"evicted connections, raw-socket copies).\n"
"\n"
"      --format FMT     text (default) or json (one JSON object)\n"
"  -j, --json           same as --format json\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, TM_OPT_OWN },
		{ "json", no_argument, NULL, 'j' },
		TM_COMMON_OPTIONS,
		{}
	};
	int c, err;

	while ((c = getopt_long(argc, argv, "jvVh", longopts, NULL)) != -1) {
		if (c == 'j') {
			o->json = true;
			continue;
		}
		err = c == TM_OPT_OWN ? tm_pick_text_json("--format", optarg, &o->json) :
		      tm_common_opt(c, optarg, &o->pin_root, usage);
		if (err)
			return err;
	}
	return tm_no_more_args(argc, argv, optind);
}

/* One pinned link: its kind (from its pin name), IDs and cgroup. */
struct link {
	char kind[16];
	uint32_t link_id, prog_id;
	char prog[BPF_OBJ_NAME_LEN];
	uint64_t cgroup_id;
};

static int cmp_link(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	if (x->cgroup_id != y->cgroup_id)
		return x->cgroup_id < y->cgroup_id ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

static void prog_name(uint32_t id, char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = '\0';
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(name, BPF_OBJ_NAME_LEN, "%s", info.name);
	if (fd >= 0)
		close(fd);
}

/* One pinned link at path, of kind: its IDs and cgroup as the kernel has them. */
static void add_link(const char *path, const char *kind, struct link **out, size_t *n,
		     size_t *cap)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	struct link *l;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !tm_grow(out, cap, *n, sizeof(**out))) {
		l = &(*out)[(*n)++];
		memset(l, 0, sizeof(*l));
		snprintf(l->kind, sizeof(l->kind), "%s", kind);
		l->link_id = info.id;
		l->prog_id = info.prog_id;
		if (info.type == BPF_LINK_TYPE_CGROUP)
			l->cgroup_id = info.cgroup.cgroup_id;
		prog_name(l->prog_id, l->prog);
	}
	close(fd);
}

/* The links under root/links, and the iterator's: sorted by cgroup, kind. */
static int read_links(const char *root, struct link **out, size_t *n)
{
	char path[PATH_MAX];
	struct tm_link *pinned;
	size_t cap = 0;
	int i, npinned, err;

	*out = NULL;
	*n = 0;
	if (!tm_path(path, sizeof(path), root, TM_PIN_PENDING))
		add_link(path, TM_PIN_PENDING, out, n, &cap);
	err = tm_links_list(root, &pinned, &npinned);
	for (i = 0; !err && i < npinned; i++)
		add_link(pinned[i].path, pinned[i].kind, out, n, &cap);
	free(pinned);
	if (err)
		return err;
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_link);
	return 0;
}

static const char *type_name(uint32_t t)
{
	const char *n = libbpf_bpf_map_type_str(t);

	return n ? n : "?";
}

/* The reader, if one is registered and alive. */
static uint32_t live_reader(const struct tm_control *c)
{
	uint32_t pid = __atomic_load_n(&c->reader_pid, __ATOMIC_RELAXED);

	return pid && !kill(pid, 0) ? pid : 0;
}

struct status {
	struct tm_pins *p;
	struct tm_names names;
	struct link *links;
	size_t nlinks;
	struct tm_health h;	/* what was counted apart, every map's fill */
	uint32_t reader;
	uint32_t masks4, masks6;	/* untracked networks of each family */
};

/* The cgroups the links are attached to, each once, by path. */
static void cgroups_of(struct status *s, struct tm_doc *d)
{
	char buf[64];
	size_t i;
	bool first = true;

	tm_doc_text(d, "\ncgroups       ");
	tm_doc_arr(d, "cgroups");
	for (i = 0; i < s->nlinks; i++) {
		if (!s->links[i].cgroup_id ||
		    (i && s->links[i].cgroup_id == s->links[i - 1].cgroup_id))
			continue;
		tm_doc_str(d, NULL, first ? "%s" : " %s",
			   tm_names_cgroup(&s->names, s->links[i].cgroup_id, buf, sizeof(buf)));
		first = false;
	}
	tm_doc_arr_end(d);
}

/* The interface filter's names; none: every interface. */
static void ifaces_of(struct status *s, struct tm_doc *d)
{
	struct tm_iface_key key, *prev = NULL;
	struct tm_iface v;
	bool first = true;
	int fd = s->p->fd[TM_MAP_IFACES];

	tm_doc_text(d, "\ninterfaces    ");
	tm_doc_arr(d, "ifaces");
	while (s->p->control->ifaces && !bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, &v)) {
			const char *n = tm_names_iface(&s->names, key.netns_cookie, v.netns,
						       key.ifindex, NULL);

			tm_doc_str(d, NULL, first ? "%s" : " %s", n ? n : "?");
			first = false;
		}
		prev = &key;
	}
	tm_doc_arr_end(d);
	if (!s->p->control->ifaces)
		tm_doc_text(d, "every interface");
}

/* A note of the control map, NUL-terminated whatever the map holds. */
static const char *note(const char *field, size_t len, char *buf)
{
	snprintf(buf, len, "%.*s", (int)len - 1, field);
	return buf;
}

#define NOTE(c, field, buf) note((c)->field, sizeof((c)->field), buf)

/* A way the load took, and the kernel's reasons for those it did not. */
static void way(struct tm_doc *d, const char *key, const char *label, const char *way,
		const char *not_key, const char *not)
{
	tm_doc_str(d, key, label, way);
	tm_doc_str(d, not_key, *not ? " (not %s)" : NULL, not);
}

/* The untracked networks of each family, as the list holds them now. */
static void count_masks(struct status *s)
{
	struct tm_masks m = {};

	if (tm_masks_read(s->p->root, s->p->fd[TM_MAP_MASKS], &m))
		return;
	s->masks4 = tm_masks_count(&m, TM_FAMILY_IPV4);
	s->masks6 = tm_masks_count(&m, TM_FAMILY_IPV6);
	tm_masks_free(&m);
}

/* What the load is and does: its ways, cgroups, filters and reader. */
static void print_load(struct status *s, struct tm_doc *d)
{
	const struct tm_control *c = s->p->control;
	char why[sizeof(c->pending_note)];

	tm_doc_str(d, "pin_root", "pin root      %s", s->p->root);
	tm_doc_u64(d, "layout_version", " (layout version %s)", s->h.layout_version);
	way(d, "owners", "\nowners        %s", tm_owner_kind_name(c->owner_kind), "owners_not",
	    NOTE(c, owner_note, why));
	way(d, "pending", "\npending       %s", tm_pending_kind_name(c->pending_kind),
	    "pending_not", NOTE(c, pending_note, why));
	tm_doc_u64(d, "hz", c->hz ? "\nHZ            %s" : NULL, c->hz);
	if (!c->hz)
		tm_doc_text(d, "\nHZ            unknown: the clock is read");
	cgroups_of(s, d);
	ifaces_of(s, d);
	tm_doc_u64(d, "masks4", "\nuntracked     %s IPv4 and ", s->masks4);
	tm_doc_u64(d, "masks6", "%s IPv6 networks", s->masks6);
	tm_doc_bool(d, "masks_interrupted", tm_masks_interrupted(c) ?
		    "\n              an edit was interrupted: the list is whole, but every "
		    "packet looks it up until tm-mask edits it again" : NULL,
		    tm_masks_interrupted(c));
	if (s->reader)
		tm_doc_u64(d, "reader_pid", "\nreader        tm-stream pid %s", s->reader);
	else
		tm_doc_null(d, "reader_pid", "\nreader        none (no events are written)");
}

/* What was counted apart, from the health's one description. */
static void print_health(struct status *s, struct tm_doc *d)
{
	const struct tm_health_item *it;
	char fmt[128];
	bool first = true;
	int i;

	for (i = 0; i < TM_HEALTH_COUNT; i++) {
		it = &tm_health_items[i];
		if (!it->key && !it->text)
			continue;
		if (it->text)
			snprintf(fmt, sizeof(fmt), "%s%%s %s",
				 first ? "\ncounted apart " : "\n              ", it->text);
		tm_doc_u64(d, it->key, it->text ? fmt : NULL, tm_health_value(&s->h, i));
		first &= !it->text;
	}
}

static void print_links(struct status *s, struct tm_doc *d)
{
	char buf[64];
	size_t i;

	tm_doc_text(d, "\n\nLINK         ID       PROG     NAME             CGROUP\n");
	tm_doc_arr(d, "links");
	for (i = 0; i < s->nlinks; i++) {
		const struct link *l = &s->links[i];

		tm_doc_obj(d, NULL);
		tm_doc_str(d, "kind", "%-12s ", l->kind);
		tm_doc_u64(d, "link_id", "%-8s ", l->link_id);
		tm_doc_u64(d, "prog_id", "%-8s ", l->prog_id);
		tm_doc_str(d, "prog", "%-16s ", l->prog);
		if (l->cgroup_id)
			tm_doc_str(d, "cgroup", "%s\n",
				   tm_names_cgroup(&s->names, l->cgroup_id, buf, sizeof(buf)));
		else
			tm_doc_null(d, "cgroup", "-\n");
		tm_doc_obj_end(d);
	}
	tm_doc_arr_end(d);
}

static void print_maps(struct status *s, struct tm_doc *d)
{
	char used[32], mem[32], name_fmt[32], head[96];
	size_t i, w = strlen("MAP");

	/* The name column as wide as the longest name (user_rings). */
	for (i = 0; i < TM_MAP_COUNT; i++)
		if (strlen(tm_maps[i].pin) > w)
			w = strlen(tm_maps[i].pin);
	snprintf(name_fmt, sizeof(name_fmt), "%%-%ds ", (int)w);
	snprintf(head, sizeof(head), "\n%-*s %-17s %-16s MEMORY\n", (int)w, "MAP", "TYPE", "ENTRIES");
	tm_doc_text(d, head);
	tm_doc_arr(d, "maps");
	for (i = 0; i < TM_MAP_COUNT; i++) {
		const struct tm_map_fill *m = &s->h.map[i];
		TM_BUF(b, mem);

		tm_doc_obj(d, NULL);
		tm_doc_str(d, "name", name_fmt, tm_maps[i].pin);
		tm_doc_str(d, "type", "%-17s ", type_name(m->type));
		tm_doc_u64(d, "max_entries", NULL, m->max);
		if (m->counted) {
			tm_doc_u64(d, "entries", NULL, m->used);
			snprintf(used, sizeof(used), "%u/%u", m->used, m->max);
		} else {
			tm_doc_null(d, "entries", NULL);
			snprintf(used, sizeof(used), "%u", m->max);
		}
		tm_doc_str(d, NULL, "%-16s ", used);
		tm_doc_u64(d, "memlock", NULL, m->memlock);
		tm_put_size(&b, m->memlock);
		*(b.p < b.end ? b.p : b.end - 1) = 0;
		tm_doc_str(d, NULL, "%s\n", mem);
		tm_doc_obj_end(d);
	}
	tm_doc_arr_end(d);
}

/* The one document: as text, or as one JSON object (--json). */
static void print(struct status *s, FILE *f, bool json)
{
	struct tm_doc d;

	tm_doc_init(&d, f, json);
	tm_doc_obj(&d, NULL);
	print_load(s, &d);
	print_health(s, &d);
	print_links(s, &d);
	print_maps(s, &d);
	tm_doc_obj_end(&d);
}

static int run(const struct opts *o)
{
	struct tm_pins pins;
	struct status s = {};
	int err;

	err = tm_pins_open(&pins, o->pin_root);
	if (err)
		return err;
	s.p = &pins;
	tm_names_init(&s.names, &pins);
	err = read_links(pins.root, &s.links, &s.nlinks);
	if (err)
		tm_err("cannot read %s: %s", pins.root, strerror(-err));
	else
		err = tm_health_read(&pins, &s.h);
	if (!err) {
		s.reader = live_reader(pins.control);
		count_masks(&s);
		print(&s, stdout, o->json);
		if (fflush(stdout) && errno != EPIPE)
			err = -errno;
	}
	free(s.links);
	tm_names_free(&s.names);
	tm_pins_close(&pins);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int err;

	tm_init("tm-status");
	err = parse_args(argc, argv, &o);
	if (!err)
		err = run(&o);
	return tm_exit_code(err);
}
