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
"  -j, --json           one JSON object instead of the text\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		TM_COMMON_OPTIONS,
		{}
	};
	int c, err;

	while ((c = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		if (c == 'j') {
			o->json = true;
			continue;
		}
		err = tm_common_opt(c, optarg, &o->pin_root, usage);
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
};

static void put_json_str(struct tm_buf *b, const char *s)
{
	tm_put_lit(b, "\"");
	tm_put_json(b, s, strlen(s));
	tm_put_lit(b, "\"");
}

static void put_text(struct tm_buf *b, const char *s)
{
	tm_put_text(b, s, strlen(s));
}

/* The cgroups the links are attached to, each once, by path. */
static void cgroups_of(struct status *s, struct tm_buf *b, bool json)
{
	char buf[64];
	size_t i;
	bool first = true;

	for (i = 0; i < s->nlinks; i++) {
		const char *path;

		if (!s->links[i].cgroup_id ||
		    (i && s->links[i].cgroup_id == s->links[i - 1].cgroup_id))
			continue;
		path = tm_names_cgroup(&s->names, s->links[i].cgroup_id, buf, sizeof(buf));
		tm_put_str(b, first ? "" : json ? "," : " ");
		if (json)
			put_json_str(b, path);
		else
			put_text(b, path);
		first = false;
	}
}

/* The interface filter's names; none: every interface. */
static void ifaces_of(struct status *s, struct tm_buf *b, bool json)
{
	struct tm_iface_key key, *prev = NULL;
	struct tm_iface v;
	bool first = true;
	int fd = s->p->fd[TM_MAP_IFACES];

	while (s->p->control->ifaces && !bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, &v)) {
			const char *n = tm_names_iface(&s->names, key.netns_cookie, v.netns,
						       key.ifindex, NULL);

			tm_put_str(b, first ? "" : json ? "," : " ");
			if (json)
				put_json_str(b, n ? n : "?");
			else
				put_text(b, n ? n : "?");
			first = false;
		}
		prev = &key;
	}
}

/* A note of the control map, NUL-terminated whatever the map holds. */
static const char *note(const char *field, size_t len, char *buf)
{
	snprintf(buf, len, "%.*s", (int)len - 1, field);
	return buf;
}

#define NOTE(c, field, buf) note((c)->field, sizeof((c)->field), buf)

static void print_json(struct status *s, FILE *f)
{
	static char out[1 << 16];
	const struct tm_control *c = s->p->control;
	char why[sizeof(c->pending_note)];
	TM_BUF(b, out);
	size_t i;

	tm_put_lit(&b, "{\"pin_root\":");
	put_json_str(&b, s->p->root);
	tm_put_lit(&b, ",\"layout_version\":");
	tm_put_u64(&b, s->h.layout_version);
	tm_put_lit(&b, ",\"owners\":");
	put_json_str(&b, tm_owner_kind_name(c->owner_kind));
	tm_put_lit(&b, ",\"owners_not\":");
	put_json_str(&b, NOTE(c, owner_note, why));
	tm_put_lit(&b, ",\"pending\":");
	put_json_str(&b, tm_pending_kind_name(c->pending_kind));
	tm_put_lit(&b, ",\"pending_not\":");
	put_json_str(&b, NOTE(c, pending_note, why));
	tm_put_lit(&b, ",\"hz\":");
	tm_put_u64(&b, c->hz);
	tm_put_lit(&b, ",\"cgroups\":[");
	cgroups_of(s, &b, true);
	tm_put_lit(&b, "],\"links\":[");
	for (i = 0; i < s->nlinks; i++) {
		char buf[64];
		const struct link *l = &s->links[i];

		tm_put_str(&b, i ? ",{\"kind\":" : "{\"kind\":");
		put_json_str(&b, l->kind);
		tm_put_lit(&b, ",\"link_id\":");
		tm_put_u64(&b, l->link_id);
		tm_put_lit(&b, ",\"prog_id\":");
		tm_put_u64(&b, l->prog_id);
		tm_put_lit(&b, ",\"prog\":");
		put_json_str(&b, l->prog);
		tm_put_lit(&b, ",\"cgroup\":");
		if (l->cgroup_id)
			put_json_str(&b, tm_names_cgroup(&s->names, l->cgroup_id, buf,
							 sizeof(buf)));
		else
			tm_put_lit(&b, "null");
		tm_put_lit(&b, "}");
	}
	tm_put_lit(&b, "],\"ifaces\":[");
	ifaces_of(s, &b, true);
	tm_put_lit(&b, "],\"masks4\":");
	tm_put_u64(&b, c->masks4);
	tm_put_lit(&b, ",\"masks6\":");
	tm_put_u64(&b, c->masks6);
	tm_put_lit(&b, ",\"reader_pid\":");
	if (s->reader)
		tm_put_u64(&b, s->reader);
	else
		tm_put_lit(&b, "null");
	tm_put_lit(&b, ",\"maps\":[");
	for (i = 0; i < TM_MAP_COUNT; i++) {
		const struct tm_map_fill *m = &s->h.map[i];

		tm_put_str(&b, i ? ",{\"name\":" : "{\"name\":");
		put_json_str(&b, tm_maps[i].pin);
		tm_put_lit(&b, ",\"type\":");
		put_json_str(&b, type_name(m->type));
		tm_put_lit(&b, ",\"max_entries\":");
		tm_put_u64(&b, m->max);
		tm_put_lit(&b, ",\"entries\":");
		if (m->counted)
			tm_put_u64(&b, m->used);
		else
			tm_put_lit(&b, "null");
		tm_put_lit(&b, ",\"memlock\":");
		tm_put_u64(&b, m->memlock);
		tm_put_lit(&b, "}");
	}
	tm_put_lit(&b, "]");
	for (i = 0; i < TM_HEALTH_COUNT; i++) {
		if (!tm_health_items[i].key)
			continue;
		tm_put_lit(&b, ",\"");
		tm_put_str(&b, tm_health_items[i].key);
		tm_put_lit(&b, "\":");
		tm_put_u64(&b, tm_health_value(&s->h, i));
	}
	tm_put_lit(&b, "}\n");
	fwrite(out, 1, b.p - out, f);
}

/* A way the load took, and the kernel's reasons for those it did not. */
static void put_way(struct tm_buf *b, const char *way, const char *not)
{
	tm_put_str(b, way);
	if (*not) {
		tm_put_lit(b, " (not ");
		put_text(b, not);
		tm_put_lit(b, ")");
	}
}

static void print_text(struct status *s, FILE *f)
{
	static char out[1 << 16];
	const struct tm_control *c = s->p->control;
	char why[sizeof(c->pending_note)];
	TM_BUF(b, out);
	bool first;
	size_t i;

	tm_put_lit(&b, "pin root      ");
	put_text(&b, s->p->root);
	tm_put_lit(&b, " (layout version ");
	tm_put_u64(&b, s->h.layout_version);
	tm_put_lit(&b, ")\nowners        ");
	put_way(&b, tm_owner_kind_name(c->owner_kind), NOTE(c, owner_note, why));
	tm_put_lit(&b, "\npending       ");
	put_way(&b, tm_pending_kind_name(c->pending_kind), NOTE(c, pending_note, why));
	tm_put_lit(&b, "\nHZ            ");
	if (c->hz)
		tm_put_u64(&b, c->hz);
	else
		tm_put_lit(&b, "unknown: the clock is read");
	tm_put_lit(&b, "\ncgroups       ");
	cgroups_of(s, &b, false);
	tm_put_lit(&b, "\ninterfaces    ");
	if (c->ifaces)
		ifaces_of(s, &b, false);
	else
		tm_put_lit(&b, "every interface");
	tm_put_lit(&b, "\nuntracked     ");
	tm_put_u64(&b, c->masks4);
	tm_put_lit(&b, " IPv4 and ");
	tm_put_u64(&b, c->masks6);
	tm_put_lit(&b, " IPv6 networks\nreader        ");
	if (s->reader) {
		tm_put_lit(&b, "tm-stream pid ");
		tm_put_u64(&b, s->reader);
	} else {
		tm_put_lit(&b, "none (no events are written)");
	}
	for (i = 0, first = true; i < TM_HEALTH_COUNT; i++) {
		if (!tm_health_items[i].text)
			continue;
		tm_put_str(&b, first ? "\ncounted apart " : "\n              ");
		tm_put_u64(&b, tm_health_value(&s->h, i));
		tm_put_lit(&b, " ");
		tm_put_str(&b, tm_health_items[i].text);
		first = false;
	}
	tm_put_lit(&b, "\n\nLINK         ID       PROG     NAME             CGROUP\n");
	for (i = 0; i < s->nlinks; i++) {
		const struct link *l = &s->links[i];
		char buf[64];
		int n;

		n = snprintf(b.p, b.end - b.p, "%-12s %-8u %-8u %-16s ", l->kind, l->link_id,
			     l->prog_id, l->prog);
		b.p += n > 0 && n < b.end - b.p ? n : 0;
		if (l->cgroup_id)
			put_text(&b, tm_names_cgroup(&s->names, l->cgroup_id, buf, sizeof(buf)));
		else
			tm_put_lit(&b, "-");
		tm_put_lit(&b, "\n");
	}
	tm_put_lit(&b, "\nMAP       TYPE              ENTRIES          MEMORY\n");
	for (i = 0; i < TM_MAP_COUNT; i++) {
		const struct tm_map_fill *m = &s->h.map[i];
		char used[32];
		int n;

		if (m->counted)
			snprintf(used, sizeof(used), "%u/%u", m->used, m->max);
		else
			snprintf(used, sizeof(used), "%u", m->max);
		n = snprintf(b.p, b.end - b.p, "%-9s %-17s %-16s ", tm_maps[i].pin, type_name(m->type),
			     used);
		b.p += n > 0 && n < b.end - b.p ? n : 0;
		tm_put_size(&b, m->memlock);
		tm_put_lit(&b, "\n");
	}
	fwrite(out, 1, b.p - out, f);
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
		if (o->json)
			print_json(&s, stdout);
		else
			print_text(&s, stdout);
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
