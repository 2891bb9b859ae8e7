/* SPDX-License-Identifier: GPL-2.0 */
/* What every tm command needs once: messages, pins, cgroups, users, output. */
#ifndef TM_H
#define TM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "tm_abi.h"

/* make PIN_ROOT=DIR builds another in (what a setuid tm-stat reads). */
#ifndef TM_DEFAULT_PIN_ROOT
#define TM_DEFAULT_PIN_ROOT	"/sys/fs/bpf/tm"
#endif
#define TM_BPFFS		"/sys/fs/bpf"

/*
 * Functions return 0 or a negative errno, having printed their own message.
 * -TM_EUSAGE means the user's input was wrong (exit 2); main() alone turns
 * results into exit codes with tm_exit_code().
 */
#define TM_EUSAGE		4096

enum { TM_EXIT_OK = 0, TM_EXIT_FAIL = 1, TM_EXIT_USAGE = 2 };

/* grow.c */
int tm_grow(void *arrp, size_t *cap, size_t n, size_t size);

/* log.c */
extern const char *tm_prog;
extern int tm_verbose;
void tm_init(const char *prog);
void tm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tm_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tm_exit_code(int err);
const char *tm_priv_hint(int err);
void tm_bpf_refusal_clear(void);
const char *tm_bpf_refused_prog(void);
const char *tm_bpf_refused_why(void);
bool tm_has_bpf_privilege(void);
int tm_need_privilege(void);

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

/* opts.c: a command's own long options are numbered from TM_OPT_OWN */
#define TM_OPT_PIN_ROOT		256
#define TM_OPT_OWN		257
#define TM_COMMON_OPTIONS \
	{ "pin-root", required_argument, NULL, TM_OPT_PIN_ROOT }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

/* The usage lines of the common options, for a usage text given to printf. */
#define TM_COMMON_HELP \
"      --pin-root DIR   the pin root (default: $TM_PIN_ROOT, else " TM_DEFAULT_PIN_ROOT ")\n" \
"  -v, --verbose        show libbpf's messages\n" \
"  -h, --help           show this help and exit\n"

int tm_common_opt(int c, const char *arg, const char **pin_root, void (*usage)(FILE *));
int tm_no_more_args(int argc, char **argv, int next);
int tm_pick(const char *opt, const char *arg, const char *const *names, int n, int *out);

/* u32map.c: a table keyed by 32-bit numbers, values of vsize bytes */
struct tm_u32map {
	char *slots;
	size_t cap, n, vsize;
};

void *tm_u32map_get(const struct tm_u32map *m, uint32_t key);
void *tm_u32map_put(struct tm_u32map *m, uint32_t key, bool *fresh);
void tm_u32map_free(struct tm_u32map *m, void (*free_value)(void *));

/* pins.c: the maps of a pin root, opened by the list in tm_abi.h */
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

int tm_path(char *buf, size_t len, const char *dir, const char *name);
int tm_check_bpffs(const char *path);
int tm_pins_open(struct tm_pins *p, const char *opt);
int tm_pin_get(const char *root, const char *name, int *fd);
void tm_reader_reap(struct tm_pins *p);
void tm_pins_close(struct tm_pins *p);
void tm_pins_gone(const char *root);
int tm_check_layout(int control_fd, const char *root);
int tm_lock(const char *dir, int *fd);

/* Sum of one per-CPU value into its plain form (all fields __u64). */
int tm_percpu_lookup(int map_fd, const void *key, void *sum, size_t value_size);

typedef int (*tm_percpu_cb)(const void *key, const void *sum, void *ctx);
int tm_percpu_for_each(int map_fd, size_t key_size, size_t value_size,
		       tm_percpu_cb cb, void *ctx);
int tm_map_for_each(int map_fd, size_t key_size, size_t value_size, bool percpu,
		    tm_percpu_cb cb, void *ctx);

/*
 * Each socket's packets not yet in the maps: read them after the maps and
 * add them to what the maps hold.
 */
typedef int (*tm_pending_cb)(const struct tm_pending *p, void *ctx);
int tm_pending_for_each(const struct tm_pins *p, tm_pending_cb cb, void *ctx);
int tm_pins_open_rdonly(struct tm_pins *p, const char *root);

/* How full a pinned map is (entries counted for hashes and tries only). */
struct tm_map_fill {
	uint32_t type, max, used;
	uint64_t memlock;
	bool counted;		/* used is a count (not for arrays and rings) */
};

void tm_map_fill(int fd, struct tm_map_fill *m);

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

/* user.c */
int tm_parse_user(const char *s, uint32_t *uid);
bool tm_users_match(const uint32_t *users, int n, uint32_t uid);
int tm_add_user(const char *arg, uint32_t *users, int *n, int max);
const char *tm_user_name(uint32_t uid, char *buf, size_t len);
const char *tm_uid_name(uint32_t uid);

/* cidr.c */
struct tm_cidr {
	__u8 family;		/* TM_FAMILY_IPV4 or TM_FAMILY_IPV6 */
	__u8 prefixlen;
	__u8 addr[16];		/* network order; IPv4 in the first 4 */
};

int tm_cidr_parse(const char *text, struct tm_cidr *c, char *why, size_t len);
bool tm_cidr_clear_host_bits(struct tm_cidr *c);
void tm_cidr_format(const struct tm_cidr *c, char *buf, size_t len);
int tm_cidr_cmp(const void *a, const void *b);

/* masks.c */
struct tm_masks {
	struct tm_cidr *v;
	size_t n, cap;
};

int tm_masks_append(struct tm_masks *m, const struct tm_cidr *c);
void tm_masks_free(struct tm_masks *m);
void tm_masks_normalize(struct tm_masks *m);
bool tm_masks_has(const struct tm_masks *m, const struct tm_cidr *c);
int tm_masks_parse_file(const char *path, struct tm_masks *m);
int tm_masks_parse_args(char **args, int n, struct tm_masks *m);
int tm_masks_read(int fd4, int fd6, struct tm_masks *m);
int tm_masks_update(int fd4, int fd6, const struct tm_cidr *c, bool del);
void tm_masks_set_counts(struct tm_control *ctl, const struct tm_masks *m);
void tm_masks_changed(struct tm_control *ctl);
int tm_masks_replace(int fd4, int fd6, struct tm_control *ctl,
		     const struct tm_masks *want, int *added, int *removed);

/* buf.c: appending text to a fixed buffer, cut at its end */
struct tm_buf {
	char *p, *end;
};

#define TM_BUF(b, arr) struct tm_buf b = { (arr), (arr) + sizeof(arr) }
#define tm_put_lit(b, lit) tm_put(b, lit, sizeof(lit) - 1)

/*
 * Inline: most pieces are a few bytes, and a call to memcpy for each would
 * be most of the cost of a line.
 */
static inline void tm_put(struct tm_buf *b, const char *s, size_t n)
{
	size_t i;

	if (n > (size_t)(b->end - b->p))
		n = b->end - b->p;	/* a line is sized for its worst case */
	if (n > 16) {
		__builtin_memcpy(b->p, s, n);
	} else {
		for (i = 0; i < n; i++)
			b->p[i] = s[i];
	}
	b->p += n;
}

static inline void tm_put_str(struct tm_buf *b, const char *s)
{
	tm_put(b, s, __builtin_strlen(s));
}
void tm_put_u64(struct tm_buf *b, uint64_t v);
void tm_put_ts(struct tm_buf *b, int64_t ns);
void tm_put_addr(struct tm_buf *b, uint8_t family, const uint8_t *a);

/* text.c: text a user controls, made safe for each place it goes */
int tm_utf8_char(const unsigned char *s, size_t n);
void tm_put_json(struct tm_buf *b, const char *s, size_t n);
void tm_put_csv(struct tm_buf *b, const char *s, size_t n);
void tm_put_text(struct tm_buf *b, const char *s, size_t n);
size_t tm_text_width(const char *s, size_t n);

/* template.c */
int tm_check_template(const char *t, const char *allowed);
void tm_expand_template(const char *t, uint32_t uid, const char *ifname, char *path, size_t len);
FILE *tm_open_output(const char *template, const char *path, uint32_t uid, uint32_t admin_gid);

/* format.c */
void tm_put_size(struct tm_buf *b, uint64_t v);
void tm_put_rate(struct tm_buf *b, double bytes_per_sec);
void tm_put_bitrate(struct tm_buf *b, double bytes_per_sec);
void tm_put_proto(struct tm_buf *b, uint8_t proto);
bool tm_proto_has_ports(uint8_t proto);
const char *tm_family_name(uint8_t family);
int tm_parse_interval(const char *opt, const char *s, double *sec);
int tm_parse_count(const char *opt, const char *s, uint64_t *n);
int tm_parse_depth(const char *opt, const char *s, int *depth);
void tm_sleep(double sec);
void tm_stdout_line_buffered(void);
void tm_stdout_block_buffered(void);

/* table.c */
enum tm_align { TM_LEFT, TM_RIGHT };

struct tm_table {
	size_t ncols;
	const char *const *heads;
	const enum tm_align *align;
	size_t *width;		/* widest cell of each column on screen, then in bytes */
	size_t nrows, cap;
	uint32_t *cells;	/* nrows * ncols (offset, length << 16 | width) */
	char *arena;
	size_t used, size;
};

void tm_table_init(struct tm_table *t, size_t ncols, const char *const *heads,
		   const enum tm_align *align);
int tm_table_add(struct tm_table *t, const char *const *text, const size_t *len);
void tm_table_print(const struct tm_table *t, FILE *f);
void tm_table_free(struct tm_table *t);

/* out.c: the one writer of records, from column descriptions */
enum tm_fmt { TM_FMT_TABLE, TM_FMT_JSON, TM_FMT_CSV, TM_FMT_PROMETHEUS, TM_FMT_MAX };

/* How a value is written: a table shows sizes and rates in units. */
enum tm_kind {
	TM_K_NUM,		/* u: a whole number */
	TM_K_TEXT,		/* s, len: text, escaped where it goes */
	TM_K_SIZE,		/* u: bytes */
	TM_K_RATE,		/* d: bytes a second */
	TM_K_TIME,		/* u: wall clock, ns since the epoch */
};

struct tm_val {
	bool null;		/* JSON null, an empty CSV field, "-" in a table */
	uint64_t u;
	double d;
	const char *s;
	size_t len;
};

/* Reads one field of a record; text it builds goes into scratch. */
typedef void (*tm_get_fn)(const void *rec, const void *ctx, struct tm_val *v,
			  struct tm_buf *scratch);

/* For getters: a string as the value, or what they built in scratch from start. */
void tm_val_text(struct tm_val *v, const char *s);
void tm_val_built(struct tm_val *v, const struct tm_buf *scratch, const char *start);
void tm_val_addr(struct tm_val *v, struct tm_buf *scratch, uint8_t family, const uint8_t *a);
void tm_val_proto(struct tm_val *v, struct tm_buf *scratch, uint8_t proto);

struct tm_col {
	const char *key;	/* JSON key and CSV header */
	const char *head;	/* table header */
	enum tm_kind kind;
	tm_get_fn get;
	uint32_t table, data;	/* rows: the breakdowns showing it (bit per enum tm_by) */
	bool interval;		/* rows: only in reports over an interval */
};

#define TM_OUT_MAXCOLS	32

struct tm_out {
	enum tm_fmt fmt;
	bool lines;		/* JSON: one object a line, not one array */
	bool exact;		/* table: sizes in bytes, not KiB, MiB, ... */
	const struct tm_col *const *cols;
	size_t ncols;
	FILE *f;		/* where rows go (stdout unless set) */
	size_t rows;
	struct tm_table table;
	char *json_key[TM_OUT_MAXCOLS];	/* ,"key": (no comma for the first) */
	size_t json_key_len[TM_OUT_MAXCOLS];
	const char *heads[TM_OUT_MAXCOLS];
	enum tm_align align[TM_OUT_MAXCOLS];
	char *line, *scratch;
};

int tm_parse_format(const char *opt, const char *arg, unsigned allowed, enum tm_fmt *fmt);
int tm_out_init(struct tm_out *o, enum tm_fmt fmt, const struct tm_col *const *cols,
		size_t ncols);
void tm_out_begin(struct tm_out *o, bool header);
int tm_out_row(struct tm_out *o, const void *rec, const void *ctx);
int tm_out_end(struct tm_out *o);
void tm_put_cell(struct tm_buf *b, const struct tm_col *c, const struct tm_val *v, bool exact);
void tm_out_free(struct tm_out *o);

/* names.c: cgroup paths and interface names, looked up once */
struct tm_cgnode {
	uint64_t id, parent;
	char *name;
	char *path;		/* built on first use */
};

struct tm_ifname {
	uint64_t cookie;	/* of the namespace; 0 if not known */
	uint32_t netns;		/* its inode */
	uint32_t ifindex;
	char name[TM_IFNAMSIZ + 1];
	char *shown;		/* NAME or NAME@NS */
};

struct tm_names {
	int64_t mono_to_real;	/* ns to add to CLOCK_MONOTONIC */
	const struct tm_pins *pins;	/* NULL: only what can be seen now */
	uint32_t own_netns;
	uint64_t own_cookie;
	bool cg_loaded, if_loaded, ns_read;
	struct tm_cgnode *cg;	/* sorted by id */
	size_t ncg, cgcap;
	struct tm_ifname *ifs;
	size_t nif, ifcap;
	long if_loaded_at;
	struct { uint32_t ino; char *name; } *ns;	/* /run/netns */
	size_t nns, nscap;
};

uint64_t tm_netns_cookie(void);
void tm_names_init(struct tm_names *n, const struct tm_pins *pins);
void tm_names_free(struct tm_names *n);
void tm_names_refresh(struct tm_names *n);
const char *tm_names_cgroup(struct tm_names *n, uint64_t id, char *buf, size_t len);
uint64_t tm_names_cgroup_at_depth(struct tm_names *n, uint64_t id, int depth);
const char *tm_names_iface(struct tm_names *n, uint64_t cookie, uint32_t netns,
			   uint32_t ifindex, uint32_t *ino);

/* rows.c: the pins read into the rows of one breakdown */
enum tm_by { TM_BY_USER, TM_BY_CONN, TM_BY_PROC, TM_BY_IFACE, TM_BY_PROTO, TM_BY_CGROUP,
	     TM_BY_FAMILY, TM_BY_MAX };

/* The breakdowns read from the details map (each user's share of it). */
static inline bool tm_by_details(enum tm_by by)
{
	return by >= TM_BY_PROC && by <= TM_BY_CGROUP;
}

extern const char *const tm_by_names[TM_BY_MAX];

/*
 * One row of any breakdown. The fields a breakdown does not group by are
 * zero, so rows sort by all of them and equal neighbours merge.
 */
struct tm_row {
	uint32_t uid;
	uint8_t untracked;	/* the untracked networks' row, not a user's */
	uint8_t family;
	uint8_t proto;
	uint8_t other;		/* the user's row "other": past their quota */
	uint32_t pid;
	char comm[TM_COMM_LEN];
	uint32_t ifindex;
	uint64_t netns_cookie;
	uint64_t cgroup_id;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	/* not part of the key: */
	uint64_t first_ns, last_ns;
	struct tm_counters c;
	double in_rate, out_rate;
};

struct tm_rows {
	enum tm_by by;
	struct tm_row *v;
	size_t n, cap;
	bool sorted;		/* by key, equal keys merged */
	struct tm_global g;
	uint64_t conns_live;	/* rows read from the connection map */
	uint64_t pending;	/* slots read from sockets */
	struct timespec mono, wall;
};

/* What a row's fields are read with. */
struct tm_row_ctx {
	struct tm_names *names;
	const struct tm_rows *rows;
};

void tm_counters_add(struct tm_counters *to, const struct tm_counters *c);
uint64_t tm_conns_evicted(const struct tm_global *g, uint64_t live);
int tm_rows_read(const struct tm_pins *p, enum tm_by by, const uint32_t *users, int nusers,
		 struct tm_rows *s);
void tm_rows_rates(struct tm_rows *cur, struct tm_rows *prev);
void tm_rows_cgroup_depth(struct tm_rows *s, struct tm_names *n, int depth);
void tm_rows_free(struct tm_rows *s);
int tm_row_cmp_key(const void *a, const void *b);

/* fields.c: every field of a row, described once */
size_t tm_row_columns(enum tm_by by, bool table, bool interval,
		      const struct tm_col *out[TM_OUT_MAXCOLS]);
void tm_put_endpoint(struct tm_buf *b, uint8_t family, bool ports, const uint8_t *a,
		     uint16_t port);

/* events.c: every field of a tm-stream event, described once */
struct tm_event_ctx {
	struct tm_names *names;
	const char *user;		/* the event's user, by name */
	uint64_t total_in, total_out;	/* the user's bytes since the load */
};

size_t tm_event_columns(enum tm_fmt fmt, const struct tm_col *out[TM_OUT_MAXCOLS]);

/* prom.c: the Prometheus text exposition */
struct tm_prom {
	const struct tm_pins *pins;
	const uint32_t *users;	/* only these (none: all) */
	int nusers;
	int depth;		/* cgroups rolled up (tm-stat --depth); -1: not */
	bool self;		/* a user's self-view: no health of the host */
	int (*extra)(FILE *f, void *ctx);	/* more families, written last */
	void *extra_ctx;
};

int tm_prom_write(FILE *f, const struct tm_prom *o);
int tm_prom_label(FILE *f, const char *name, const char *s, size_t n);
int tm_prom_textfile(const char *path, const struct tm_prom *o);

/* history.c: tm-record's SQLite history (linked only where it is used) */
enum tm_tier { TM_TIER_5MIN, TM_TIER_HOUR, TM_TIER_DAY, TM_TIER_MONTH, TM_TIER_YEAR, TM_TIER_MAX };

extern const char *const tm_tier_names[TM_TIER_MAX];

/* One series of a sample: a user's, or a user's with a network, name or cgroup. */
struct tm_series {
	const char *kind;	/* user, net, proc, cgroup */
	uint32_t uid;
	const char *key;	/* "" for user */
	struct tm_counters c;
};

typedef struct sqlite3 sqlite3;

int64_t tm_tier_start(enum tm_tier tier, int64_t t);
int tm_history_open(const char *path, bool create, sqlite3 **db);
int tm_history_sample(sqlite3 *db, const char *path, const struct tm_series *s, size_t n,
		      const char *load, int64_t now, const int keep[TM_TIER_MAX]);
int tm_history_prune(sqlite3 *db, const char *path, const int keep[TM_TIER_MAX], int64_t now,
		     bool force);
int tm_history_load_name(const struct tm_pins *p, char *out, size_t len);
int tm_history_current(sqlite3 *db, const char *path, const char *load,
		       const struct tm_series *now, size_t n, int64_t t,
		       int (*cb)(int64_t uid, const struct tm_counters *day,
				 const struct tm_counters *month, void *ctx), void *ctx);

/* report.c: per-user report files */
int tm_write_reports(const char *template, uint32_t admin_gid, double interval,
		     const struct tm_rows *users, const struct tm_rows *conns);

#endif /* TM_H */
