/* SPDX-License-Identifier: GPL-2.0 */
/* What every tm command needs once: messages, pins, cgroups, users, output. */
#ifndef TM_H
#define TM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tm_abi.h"

#define TM_DEFAULT_PIN_ROOT	"/sys/fs/bpf/tm"
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
bool tm_has_bpf_privilege(void);
int tm_need_privilege(void);

/* opts.c: a command's own long options are numbered from TM_OPT_OWN */
#define TM_OPT_PIN_ROOT		256
#define TM_OPT_OWN		257
#define TM_COMMON_OPTIONS \
	{ "pin-root", required_argument, NULL, TM_OPT_PIN_ROOT }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

int tm_common_opt(int c, const char *arg, const char **pin_root, void (*usage)(FILE *));
int tm_no_more_args(int argc, char **argv, int next);

/* pins.c */
struct tm_pins {
	char root[4096];
	int users_fd;
	int global_fd;
	int control_fd;
	int masks4_fd;
	int masks6_fd;
	int ifaces_fd;
	int lock_fd;
	struct tm_control *control;	/* the pinned control map, mmapped */
};

const char *tm_pin_root(const char *opt);
int tm_check_bpffs(const char *path);
int tm_pins_open(struct tm_pins *p, const char *root);
int tm_pin_get(const char *root, const char *name, int *fd);
void tm_reader_reap(struct tm_pins *p);
void tm_pins_close(struct tm_pins *p);
int tm_check_layout(int control_fd, const char *root);
int tm_lock(const char *dir, int *fd);
int tm_remove_tree(const char *dir);

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
int tm_pending_for_each(const char *root, tm_pending_cb cb, void *ctx);

/* cgroup.c */
int tm_cgroup2_mount(char *buf, size_t len);
int tm_cgroup_open(const char *path, int *fd, uint64_t *id);

/* user.c */
int tm_parse_user(const char *s, uint32_t *uid);
bool tm_users_match(const uint32_t *users, int n, uint32_t uid);
int tm_add_user(const char *arg, uint32_t *users, int *n, int max);
const char *tm_user_name(uint32_t uid, char *buf, size_t len);

/* cidr.c */
struct tm_cidr {
	__u8 family;		/* TM_FAMILY_IPV4 or TM_FAMILY_IPV6 */
	__u8 prefixlen;
	__u8 addr[16];		/* network order; IPv4 in the first 4 */
};

int tm_cidr_parse(const char *text, struct tm_cidr *c, char *why, size_t len);
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

void tm_put(struct tm_buf *b, const char *s, size_t n);
void tm_put_str(struct tm_buf *b, const char *s);
void tm_put_u64(struct tm_buf *b, uint64_t v);
void tm_put_ts(struct tm_buf *b, int64_t ns);
void tm_put_addr(struct tm_buf *b, uint8_t family, const uint8_t *a);
void tm_put_json(struct tm_buf *b, const char *s, size_t max);

/* template.c */
int tm_check_template(const char *t, const char *allowed);
void tm_expand_template(const char *t, uint32_t uid, const char *ifname, char *path, size_t len);
FILE *tm_open_output(const char *path);

/* format.c */
void tm_human_bytes(uint64_t v, char *buf, size_t len);
const char *tm_proto_name(uint8_t proto, char *buf, size_t len);
const char *tm_family_name(uint8_t family);
void tm_human_rate(double bytes_per_sec, char *buf, size_t len);
int tm_parse_interval(const char *opt, const char *s, double *sec);
int tm_parse_count(const char *opt, const char *s, uint64_t *n);
void tm_format_ts(const struct timespec *ts, char *buf, size_t len);
void tm_stdout_line_buffered(void);

enum tm_align { TM_LEFT, TM_RIGHT };

struct tm_table {
	size_t ncols;
	const char **heads;
	const enum tm_align *align;
	size_t *width;		/* widest cell of each column so far */
	size_t nrows, cap;
	uint32_t *cells;	/* nrows * ncols (offset, length) pairs in arena */
	char *arena;
	size_t used, size;
};

void tm_table_init(struct tm_table *t, size_t ncols, const char **heads,
		   const enum tm_align *align);
int tm_table_add(struct tm_table *t, const char **row);
void tm_table_print(const struct tm_table *t, FILE *f);
void tm_table_free(struct tm_table *t);

#endif /* TM_H */
