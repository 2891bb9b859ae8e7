/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lib/base: what needs no BPF object: messages, options, growing arrays, fixed
 * buffers, users, addresses and networks, text made safe, file-name
 * templates, numbers and times as text.
 * Its files use only this layer and those below it.
 */
#ifndef TM_BASE_H
#define TM_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "tm_abi.h"


/*
 * Functions return 0 or a negative errno, having printed their own message.
 * -TM_EUSAGE means the user's input was wrong (exit 2); main() alone turns
 * results into exit codes with tm_exit_code().
 */
#define TM_EUSAGE		4096
#define TM_ENOTFILE		4097	/* tm_open_file(): not a regular file */

enum { TM_EXIT_OK = 0, TM_EXIT_FAIL = 1, TM_EXIT_USAGE = 2 };

/* file.c: files a user names */
struct stat;
const char *tm_file_kind(unsigned int mode);
bool tm_open_to_others(unsigned int mode);
int64_t tm_boot_time(void);
int tm_open_file(const char *path, struct stat *st);

/* grow.c */
int tm_grow(void *arrp, size_t *cap, size_t n, size_t size);
int tm_cmp_u64(const void *a, const void *b);

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
void tm_verifier_reason(const char *log, size_t len, char *out, size_t outlen);
bool tm_has_bpf_privilege(void);
int tm_need_privilege(void);

/* opts.c: a command's own long options are numbered from TM_OPT_OWN */
#define TM_OPT_PIN_ROOT		256
#define TM_OPT_OWN		257
#define TM_COMMON_OPTIONS \
	{ "pin-root", required_argument, NULL, TM_OPT_PIN_ROOT }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "help", no_argument, NULL, 'h' }

/* The usage lines of the common options, for a usage text given to printf. */
#define TM_COMMON_HELP \
"      --pin-root DIR   the pin root (default: $TM_PIN_ROOT, else " TM_DEFAULT_PIN_ROOT ")\n" \
"  -v, --verbose        show libbpf's messages\n" \
"  -V, --version        show tm's version and exit\n" \
"  -h, --help           show this help and exit\n"

int tm_common_opt(int c, const char *arg, const char **pin_root, void (*usage)(FILE *));
__attribute__((noreturn)) void tm_version(void);

/* A number option's bounds (tm_parse_num); also: what else it takes, for the message. */
struct tm_num {
	uint64_t min, max;
	bool pow2;
	const char *also;
};

int tm_parse_num(const char *opt, const char *s, const struct tm_num *n, uint64_t *v);
int tm_parse_count(const char *opt, const char *s, uint64_t *n);
int tm_parse_depth(const char *opt, const char *s, int *depth);
int tm_parse_interval(const char *opt, const char *s, double *sec);
int tm_parse_when(const char *opt, const char *arg, int64_t *out);
int tm_no_more_args(int argc, char **argv, int next);
int tm_pick(const char *opt, const char *arg, const char *const *names, int n, int *out);
int tm_pick_text_json(const char *opt, const char *arg, bool *json);

/* u32map.c: a table keyed by 32-bit numbers, values of vsize bytes */
struct tm_u32map {
	char *slots;
	size_t cap, n, vsize;
};

void *tm_u32map_get(const struct tm_u32map *m, uint32_t key);
void *tm_u32map_put(struct tm_u32map *m, uint32_t key, bool *fresh);
void tm_u32map_free(struct tm_u32map *m, void (*free_value)(void *));

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
void tm_cidr_network(uint8_t family, const uint8_t *addr, int prefix4, int prefix6, char *buf,
		     size_t len);
int tm_cidr_cmp(const void *a, const void *b);

/* config.c: a file of long options, one "SETTING VALUE" a line */
struct option;
struct tm_config {
	const struct option *longopts;	/* the command's: each with a value is a setting */
	const int *not;			/* options it may not hold, by val; 0 ends them */
	const char *nothing;		/* what a refused file means ("nothing loaded") */
	int (*apply)(void *ctx, int val, char *arg);	/* as from the command line */
	bool (*skip)(int val, void *ctx);	/* a setting left as it is, with a note */
	const char *skipped;		/* the note's words */
	void *ctx;
	char **values;			/* the values, which the options point into */
	size_t nvalues;
};

int tm_config_read(struct tm_config *c, const char *path);
void tm_config_free(struct tm_config *c);

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
/* (GCC cannot see that a short string never takes the 8-byte moves.) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
static inline void tm_put(struct tm_buf *b, const char *s, size_t n)
{
	char *p = b->p;
	size_t i;

	if (n > (size_t)(b->end - p))
		n = b->end - p;	/* a line is sized for its worst case */
	b->p = p + n;
	if (n > 16) {
		__builtin_memcpy(p, s, n);
	} else if (n >= 8) {
		/* Two moves that may overlap: its first and last eight bytes. */
		uint64_t x, y;

		__builtin_memcpy(&x, s, 8);
		__builtin_memcpy(&y, s + n - 8, 8);
		__builtin_memcpy(p, &x, 8);
		__builtin_memcpy(p + n - 8, &y, 8);
	} else if (n >= 4) {
		uint32_t x, y;

		__builtin_memcpy(&x, s, 4);
		__builtin_memcpy(&y, s + n - 4, 4);
		__builtin_memcpy(p, &x, 4);
		__builtin_memcpy(p + n - 4, &y, 4);
	} else {
		for (i = 0; i < n; i++)
			p[i] = s[i];
	}
}
#pragma GCC diagnostic pop

static inline void tm_put_str(struct tm_buf *b, const char *s)
{
	tm_put(b, s, __builtin_strlen(s));
}

/* Numbers: inline, as a line has many. */
extern const char tm_digit_pairs[201];
extern const uint64_t tm_pow10[20];
void tm_put_u64_cut(struct tm_buf *b, uint64_t v);

/* How many digits v has: from its length in bits, then one compare. */
static inline size_t tm_digits(uint64_t v)
{
	uint64_t w = v | 1;	/* 0 has one digit, as 1 does */
	/* 1233 / 4096 is just over log10(2): t is the digits of 2^bits, less one. */
	size_t t = (size_t)(64 - __builtin_clzll(w)) * 1233 >> 12;

	return t + (w >= tm_pow10[t]);
}

/* Exactly eight digits of v (< 10^8) ending at p: two halves, worked apart. */
static inline void tm_put8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	__builtin_memcpy(p - 8, tm_digit_pairs + hi / 100 * 2, 2);
	__builtin_memcpy(p - 6, tm_digit_pairs + hi % 100 * 2, 2);
	__builtin_memcpy(p - 4, tm_digit_pairs + lo / 100 * 2, 2);
	__builtin_memcpy(p - 2, tm_digit_pairs + lo % 100 * 2, 2);
}

/*
 * Written in place, last digits first: built on the stack and copied, each
 * copy read back bytes just stored two at a time, and waited on them.
 * Eight digits at a time while more are left, in 32-bit arithmetic.
 */
static inline void tm_put_u64(struct tm_buf *b, uint64_t v)
{
	size_t n = tm_digits(v);
	uint32_t w;
	char *p;

	if (n > (size_t)(b->end - b->p)) {
		tm_put_u64_cut(b, v);
		return;
	}
	p = b->p + n;
	b->p = p;
	while (v >= 100000000) {
		tm_put8(p, v % 100000000);
		v /= 100000000;
		p -= 8;
	}
	w = v;
	while (w >= 100) {
		p -= 2;
		__builtin_memcpy(p, tm_digit_pairs + w % 100 * 2, 2);
		w /= 100;
	}
	if (w >= 10)
		__builtin_memcpy(p - 2, tm_digit_pairs + w * 2, 2);
	else
		p[-1] = '0' + w;
}

void tm_put_ts(struct tm_buf *b, int64_t ns);
void tm_put_addr(struct tm_buf *b, uint8_t family, const uint8_t *a);

/* text.c: text a user controls, made safe for each place it goes */
int tm_utf8_char(const unsigned char *s, size_t n);
void tm_put_json(struct tm_buf *b, const char *s, size_t n);
void tm_put_csv(struct tm_buf *b, const char *s, size_t n);
void tm_put_label(struct tm_buf *b, const char *s, size_t n);
void tm_put_text(struct tm_buf *b, const char *s, size_t n);
size_t tm_text_width(const char *s, size_t n);
const char *tm_shown(const char *s, size_t n, char *buf, size_t len);

/* template.c */
int tm_check_template(const char *t, const char *allowed);
void tm_expand_template(const char *t, uint32_t uid, const char *ifname, char *path, size_t len);
FILE *tm_open_output(const char *template, const char *path, uint32_t uid, uint32_t admin_gid);

/* format.c */
void tm_put_size(struct tm_buf *b, uint64_t v);
void tm_put_rate(struct tm_buf *b, double bytes_per_sec, bool bits);
void tm_put_proto(struct tm_buf *b, uint8_t proto);
bool tm_proto_has_ports(uint8_t proto);
const char *tm_family_name(uint8_t family);
void tm_sleep(double sec);
void tm_stdout_line_buffered(void);
void tm_stdout_block_buffered(void);

#endif /* TM_BASE_H */
