/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lib/kernel: the kernel's side, over base: the pin root and its pins, the maps
 * read and summed, self-view privileges, cgroups, the untracked networks,
 * what the running kernel offers, the ways of a load and their programs.
 * Its files use only this layer and those below it.
 */
#ifndef TM_KERNEL_H
#define TM_KERNEL_H

#include <sys/types.h>

#include "base/base.h"

/* make PIN_ROOT=DIR builds another in (what a setuid tm-stat reads). */
#ifndef TM_DEFAULT_PIN_ROOT
#define TM_DEFAULT_PIN_ROOT	"/sys/fs/bpf/tm"
#endif
#define TM_BPFFS		"/sys/fs/bpf"

/* kernel.c */
unsigned int tm_kernel_hz(const char **how);
bool tm_kernel_has_func(const char *name);

/* ways.c: the programs and the ways of the tables in tm_abi.h */
enum tm_link_kind { TM_LINK_CGROUP, TM_LINK_ITER };
enum tm_way { TM_WAY_ALWAYS, TM_WAY_OWNER, TM_WAY_PENDING };
struct tm_prog_desc {
	const char *name;	/* in the BPF object */
	enum tm_link_kind link;
	const char *pin;	/* a cgroup link's kind in its pin name; the iterator's pin */
	enum tm_way way;	/* loaded always, or with the way way_kind */
	int way_kind;		/* enum tm_owner_kind or tm_pending_kind */
};
extern const struct tm_prog_desc tm_progs[TM_PROG_COUNT];
int tm_owner_kind_parse(const char *s);
int tm_pending_kind_parse(const char *s);
const char *tm_owner_kind_name(int kind);
const char *tm_pending_kind_name(int kind);
const char *tm_owner_kinds_list(void);
const char *tm_pending_kinds_list(void);
bool tm_prog_taken(const struct tm_prog_desc *p, int owner, int pending);
int tm_prog_pending(int kind);
int tm_prog_by_name(const char *name);

/* pins.c: the maps of a pin root, opened by the list in tm_abi.h (tm_maps: bpffs.c) */
struct tm_map_pin {
	const char *pin;	/* name under the pin root */
	const char *obj;	/* name in the BPF object */
};

extern const struct tm_map_pin tm_maps[TM_MAP_COUNT];

struct tm_pins {
	char root[PATH_MAX];
	int fd[TM_MAP_COUNT];		/* by enum tm_map_id */
	int lock_fd;
	struct tm_control *control;	/* the pinned control map, mmapped */
	/*
	 * Read-only (self-view): map fds opened with BPF_F_RDONLY, control a
	 * copy read at open, and the iterator's link held open, so all of it
	 * stays usable once privileges are dropped.
	 */
	bool rdonly;
	struct tm_control control_copy;
	int pending_fd;
	/* The cgroups the links are attached to, read at open (each once). */
	uint64_t *metered;
	size_t nmetered;
};

/* One pinned cgroup link: links/KIND-CGROUPID. */
struct tm_link {
	char path[PATH_MAX];
	char kind[16];
	uint64_t cgid;
};

int tm_links_list(const char *root, struct tm_link **out, int *n);

int tm_pins_open(struct tm_pins *p, const char *opt);
int tm_pins_open_rdonly(struct tm_pins *p, const char *root);
void tm_reader_reap(struct tm_pins *p);
void tm_pins_close(struct tm_pins *p);

/*
 * Each socket's packets not yet in the maps: read them after the maps and
 * add them to what the maps hold.
 */
typedef int (*tm_pending_cb)(const struct tm_pending *p, void *ctx);
int tm_pending_for_each(const struct tm_pins *p, tm_pending_cb cb, void *ctx);
uint32_t tm_map_id(int fd);
int tm_pins_same_load(const struct tm_pins *p);

/* rings.c: reading an event ring; users' own (user_rings), for their tm-stream */
typedef int (*tm_ring_cb)(void *ctx, void *data, size_t len);
struct tm_ring {
	int fd;
	tm_ring_cb cb;
	void *ctx;
	size_t page, data_len;
	unsigned long mask;
	unsigned long read;	/* bytes read, all told */
	unsigned long *consumer;
	const unsigned long *producer;
	const char *data;
};

int tm_ring_open(struct tm_ring *r, int map_fd, tm_ring_cb cb, void *ctx);
int tm_ring_consume(struct tm_ring *r);
int tm_ring_poll(struct tm_ring *r, int timeout_ms);
void tm_ring_close(struct tm_ring *r);
pid_t tm_ring_holder(int rings, uint32_t key);
int tm_user_ring(struct tm_pins *rw, uint32_t key, int *rings, uint32_t *ring_id);
void tm_user_ring_drop(struct tm_pins *rw, int rings, uint32_t key, uint32_t ring_id);

/* bpffs.c: paths under the pin root, its pins, its layout, its lock */
int tm_path(char *buf, size_t len, const char *dir, const char *name);
int tm_check_bpffs(const char *path);
int tm_pin_get(const char *root, const char *name, int *fd);
void tm_pins_gone(const char *root);
int tm_check_layout(int control_fd, const char *root);
int tm_lock(const char *dir, int *fd);

/* maps.c: sum of one per-CPU value into its plain form (all fields __u64). */
int tm_percpu_lookup(int map_fd, const void *key, void *sum, size_t value_size);

/* maps.c: every entry of a hash, by batches. */
typedef int (*tm_map_cb)(const void *key, const void *value, void *ctx);
int tm_map_for_each(int map_fd, size_t key_size, size_t value_size, tm_map_cb cb, void *ctx);

/* maps.c: how full a pinned map is (entries counted for hashes and tries only). */
struct tm_map_fill {
	uint32_t type, max, used;
	uint64_t memlock;
	bool counted;		/* used is a count (not for arrays and rings) */
};

void tm_map_fill(int fd, struct tm_map_fill *m);

/* ifaces.c: interfaces by network namespace, and a load's filter of them */
struct tm_iface_pick {
	struct tm_iface_key key;
	struct tm_iface v;
};

uint64_t tm_netns_cookie(void);
int tm_iface_resolve(const char *arg, struct tm_iface_pick *f);
int tm_ifaces_set(int fd, int names_fd, struct tm_control *ctl, const struct tm_iface_pick *f,
		  int n);

/*
 * load.c: the BPF object loaded the ways the tables say, attached, swapped
 * (tm-load alone links it; struct tm_bpf is its skeleton)
 */
struct tm_bpf;
struct bpf_link;
struct bpf_program;

/* A cgroup a load meters, open. */
struct tm_cg {
	const char *path;
	char real[PATH_MAX];
	int fd;
	uint64_t id;
};

/* The ways a load reads owners and pending counts, and why not the first. */
struct tm_ways {
	int owner;		/* enum tm_owner_kind */
	int pending;		/* enum tm_pending_kind */
	bool owner_set;		/* asked for (or a --replace's): no other is tried */
	bool pending_set;
	unsigned int hz;
	const char *hz_how;
	char owner_note[sizeof(((struct tm_control *)0)->owner_note)];
	char pending_note[sizeof(((struct tm_control *)0)->pending_note)];
};

typedef int (*tm_prepare_fn)(struct tm_bpf *skel, void *ctx);
int tm_load_ways(struct tm_ways *w, bool fresh, tm_prepare_fn prepare, void *ctx,
		 struct tm_bpf **out, struct bpf_link **link);
void tm_ways_say(const struct tm_ways *w);
struct bpf_program *tm_skel_prog(struct tm_bpf *skel, int id);
int tm_skel_maps(struct tm_bpf *skel, const char *dir, const struct tm_pins *reuse);
int tm_attach_all(struct tm_bpf *skel, int owner, const struct tm_cg *cg, const char *dir);
int tm_pending_pin(struct bpf_link *link, const char *dir);
int tm_links_replace(struct tm_bpf *skel, const struct tm_ways *w, const struct tm_link *old,
		     int nold, const struct tm_cg *cg, int ncg, const char *root);
void tm_skel_free(struct tm_bpf *skel);

/* priv.c: a self-view reader, run setuid by a user */
bool tm_self_view(void);
bool tm_admin(const struct tm_control *c);
void tm_drop_privileges(void);
int tm_self_view_users(uint32_t *users, int *n);
int tm_self_view_rows(const char *pin_root, bool all, uint32_t *users, int *n);
int tm_self_view_open(struct tm_pins *p, bool *all);

/* root.c: the pin root's name, lock, staging and removal */
struct tm_root {
	char path[PATH_MAX];		/* absolute, no trailing slash */
	char parent[PATH_MAX];
	const char *base;		/* its last part, in path */
	int lock_fd;			/* on parent, while held */
};

enum { TM_ROOT_NONE, TM_ROOT_EMPTY, TM_ROOT_OURS };

int tm_root_name(const char *opt, struct tm_root *r);
int tm_root_lock(struct tm_root *r);
void tm_root_unlock(struct tm_root *r);
int tm_root_remove(const char *dir);
int tm_root_clear_staging(const struct tm_root *r);
int tm_root_staging(const struct tm_root *r, char *buf, size_t len);
int tm_root_state(const struct tm_root *r);

/* cgroup.c */
int tm_cgroup2_mount(char *buf, size_t len);
int tm_cgroups_record(int fd, const char *dir);
int tm_cgroup_open(const char *path, int *fd, uint64_t *id);

/* masks.c */
struct tm_masks {
	struct tm_cidr *v;
	size_t n, cap;
};

int tm_masks_append(struct tm_masks *m, const struct tm_cidr *c);
void tm_masks_free(struct tm_masks *m);
void tm_masks_normalize(struct tm_masks *m);
bool tm_masks_has(const struct tm_masks *m, const struct tm_cidr *c);
__u32 tm_masks_count(const struct tm_masks *m, __u8 family);
int tm_masks_parse_file(const char *path, struct tm_masks *m);
int tm_masks_parse_args(char **args, int n, struct tm_masks *m);
int tm_masks_trie(const char *root, int outer);
int tm_masks_read(const char *root, int outer, struct tm_masks *m);
bool tm_masks_interrupted(const struct tm_control *ctl);
int tm_masks_install(const char *root, int outer, struct tm_control *ctl,
		     const struct tm_masks *want, int *added, int *removed);

#endif /* TM_KERNEL_H */
