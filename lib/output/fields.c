// SPDX-License-Identifier: GPL-2.0
/*
 * Every field of a row, described once: its JSON key and CSV header, its
 * table header, its kind (which says how each format writes it), where it
 * shows, and how it is read from a row. The table, JSON and CSV outputs are
 * all written from this list; adding a field is one entry.
 */
#include <string.h>

#include "output.h"

#define ALL	((1u << TM_BY_MAX) - 1)
#define BY(x)	(1u << TM_BY_##x)

/*
 * The key of a user's row "other" (past their quota of breakdown rows) or
 * "retired" (the rows of cgroups that ended, once recorded).
 */
#define OTHER(r) ((r)->other == TM_ROW_RETIRED ? "(retired)" : "(other)")

static const struct tm_row *row(const void *rec)
{
	return rec;
}

static const struct tm_row_ctx *rctx(const void *ctx)
{
	return ctx;
}

static bool has_ports(const struct tm_row *r)
{
	return tm_proto_has_ports(r->proto);
}

/* ADDR:PORT, [ADDR]:PORT for IPv6, ADDR alone without ports. */
void tm_put_endpoint(struct tm_buf *b, uint8_t family, bool ports, const uint8_t *a,
		     uint16_t port)
{
	bool v6 = family == TM_FAMILY_IPV6 && ports;

	if (v6)
		tm_put_lit(b, "[");
	tm_put_addr(b, family, a);
	if (v6)
		tm_put_lit(b, "]");
	if (ports) {
		tm_put_lit(b, ":");
		tm_put_u64(b, port);
	}
}

static void get_ts(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	const struct timespec *w = &rctx(ctx)->rows->wall;

	v->u = (uint64_t)w->tv_sec * 1000000000 + w->tv_nsec;
}

static void get_user(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	const struct tm_row *r = row(rec);
	const char *name = r->untracked ? "untracked" : tm_uid_name(r->uid);
	char *start = sb->p;

	if (name) {
		tm_val_text(v, name);
		return;
	}
	tm_put_u64(sb, r->uid);
	tm_val_made(v, sb, start);
}

static void get_uid(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->uid;
	v->null = row(rec)->uid == TM_UID_UNKNOWN;
}

static void get_proto(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	if (row(rec)->other)
		tm_val_text(v, OTHER(row(rec)));
	else
		tm_val_proto(v, sb, row(rec)->proto);
}

/* Null for the untracked networks' row (--by family): of both families. */
static void get_family(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_word(v, tm_family_name(row(rec)->family));
	v->null = row(rec)->untracked;
}

static void endpoint(const struct tm_row *r, const uint8_t *a, uint16_t port,
		     struct tm_val *v, struct tm_buf *sb)
{
	char *start = sb->p;

	tm_put_endpoint(sb, r->family, has_ports(r), a, port);
	tm_val_made(v, sb, start);
}

static void get_local(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	endpoint(row(rec), row(rec)->laddr, row(rec)->lport, v, sb);
}

static void get_remote(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	endpoint(row(rec), row(rec)->raddr, row(rec)->rport, v, sb);
}

static void get_laddr(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_addr(v, sb, row(rec)->family, row(rec)->laddr);
}

static void get_raddr(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_addr(v, sb, row(rec)->family, row(rec)->raddr);
}

static void get_lport(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->lport;
	v->null = !has_ports(row(rec));
}

static void get_rport(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->rport;
	v->null = !has_ports(row(rec));
}

static void get_pid(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->pid;
	v->null = row(rec)->other;
}

static void get_comm(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	if (row(rec)->other) {
		tm_val_text(v, OTHER(row(rec)));
		return;
	}
	v->s = row(rec)->comm;
	v->len = strnlen(row(rec)->comm, TM_COMM_LEN);
}

static void mono_time(const void *ctx, uint64_t mono_ns, struct tm_val *v)
{
	v->u = mono_ns + rctx(ctx)->names->mono_to_real;
	v->null = !mono_ns;
}

static void get_first(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	mono_time(ctx, row(rec)->first_ns, v);
}

static void get_last(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	mono_time(ctx, row(rec)->last_ns, v);
}

static void get_iface(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	const struct tm_row *r = row(rec);
	const char *name = r->other ? OTHER(r) :
			   tm_names_iface(rctx(ctx)->names, r->netns_cookie, 0, r->ifindex, NULL);

	tm_val_text(v, name ? name : "?");
}

/* The interface's network namespace, by inode; null if not known. */
static void get_netns(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	const struct tm_row *r = row(rec);
	uint32_t ino = 0;

	if (!r->other)
		tm_names_iface(rctx(ctx)->names, r->netns_cookie, 0, r->ifindex, &ino);
	v->u = ino;
	v->null = !ino;
}

static void get_cgroup(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	char buf[64];

	if (row(rec)->other) {
		tm_val_text(v, OTHER(row(rec)));
		return;
	}
	tm_val_text(v, tm_names_cgroup(rctx(ctx)->names, row(rec)->cgroup_id, buf, sizeof(buf)));
	if (v->s == buf) {
		char *start = sb->p;

		tm_put_str(sb, buf);
		tm_val_built(v, sb, start);
	}
}

/*
 * The job a row is (--by job): its id, kind and whether its cgroup is still
 * there; the cgroups in no job are one row with all three null.
 */
static bool row_job(const void *rec, const void *ctx, struct tm_val *v, struct tm_job *j)
{
	const struct tm_row *r = row(rec);

	if (r->other) {
		tm_val_text(v, OTHER(row(rec)));
		return false;
	}
	if (!r->cgroup_id || !tm_names_job(rctx(ctx)->names, r->cgroup_id, j)) {
		tm_val_text(v, "");
		v->null = true;
		return false;
	}
	return true;
}

static void get_job(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	struct tm_job j;
	char *start = sb->p;

	if (!row_job(rec, ctx, v, &j))
		return;
	tm_put_str(sb, j.id);
	tm_val_built(v, sb, start);
}

static void get_kind(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	struct tm_job j;
	char *start = sb->p;

	if (!row_job(rec, ctx, v, &j)) {
		v->null = true;
		return;
	}
	tm_put_str(sb, j.kind);
	tm_val_built(v, sb, start);
}

static void get_state(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	struct tm_job j;

	if (!row_job(rec, ctx, v, &j)) {
		v->null = true;
		return;
	}
	tm_val_text(v, tm_names_cgroup_live(rctx(ctx)->names, row(rec)->cgroup_id) ? "running" :
		    "ended");
}

/* The job's own cgroup; null for the row of cgroups in no job. */
static void get_job_cgroup(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	if (!row(rec)->cgroup_id && !row(rec)->other) {
		tm_val_text(v, "");
		v->null = true;
		return;
	}
	get_cgroup(rec, ctx, v, sb);
}

static void get_in_bytes(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->c.in_bytes;
}

static void get_out_bytes(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->c.out_bytes;
}

static void get_in_packets(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->c.in_packets;
}

static void get_out_packets(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = row(rec)->c.out_packets;
}

static void get_in_rate(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->d = row(rec)->in_rate;
}

static void get_out_rate(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->d = row(rec)->out_rate;
}

/*
 * In this order in every format. table and data: the breakdowns whose
 * tables, and whose JSON and CSV, show the field; interval: only in
 * reports over an interval.
 */
static const struct tm_col row_cols[] = {
	{ "ts",          "TIME",     TM_K_TIME, get_ts,          0,         ALL, true },
	{ "user",        "USER",     TM_K_TEXT, get_user,        ALL,       ALL, false },
	{ "uid",         "UID",      TM_K_NUM,  get_uid,         BY(USER) | BY(FAMILY), ALL, false },
	{ "proto",       "PROTO",    TM_K_TEXT, get_proto,       BY(CONN) | BY(PROTO), BY(CONN) | BY(PROTO), false },
	{ "family",      "FAMILY",   TM_K_TEXT, get_family,      BY(FAMILY), BY(CONN) | BY(FAMILY), false },
	{ "local",       "LOCAL",    TM_K_TEXT, get_local,       BY(CONN),  0, false },
	{ "local",       "LOCAL",    TM_K_TEXT, get_laddr,       0,         BY(CONN), false },
	{ "lport",       "LPORT",    TM_K_NUM,  get_lport,       0,         BY(CONN), false },
	{ "remote",      "REMOTE",   TM_K_TEXT, get_remote,      BY(CONN),  0, false },
	{ "remote",      "REMOTE",   TM_K_TEXT, get_raddr,       0,         BY(CONN), false },
	{ "rport",       "RPORT",    TM_K_NUM,  get_rport,       0,         BY(CONN), false },
	{ "pid",         "PID",      TM_K_NUM,  get_pid,         BY(CONN) | BY(PROC), BY(CONN) | BY(PROC), false },
	{ "comm",        "COMM",     TM_K_TEXT, get_comm,        BY(CONN) | BY(PROC), BY(CONN) | BY(PROC), false },
	{ "first_seen",  "FIRST",    TM_K_TIME, get_first,       0,         BY(CONN), false },
	{ "last_seen",   "LAST",     TM_K_TIME, get_last,        0,         BY(CONN), false },
	{ "iface",       "IFACE",    TM_K_TEXT, get_iface,       BY(IFACE), BY(IFACE), false },
	{ "netns",       "NETNS",    TM_K_NUM,  get_netns,       0,         BY(IFACE), false },
	{ "cgroup",      "CGROUP",   TM_K_TEXT, get_cgroup,      BY(CGROUP), BY(CGROUP), false },
	{ "job",         "JOB",      TM_K_TEXT, get_job,         BY(JOB),   BY(JOB), false },
	{ "kind",        "KIND",     TM_K_TEXT, get_kind,        BY(JOB),   BY(JOB), false },
	{ "state",       "STATE",    TM_K_TEXT, get_state,       BY(JOB),   BY(JOB), false },
	{ "cgroup",      "CGROUP",   TM_K_TEXT, get_job_cgroup,  0,         BY(JOB), false },
	{ "in_bytes",    "IN",       TM_K_SIZE, get_in_bytes,    ALL,       ALL, false },
	{ "out_bytes",   "OUT",      TM_K_SIZE, get_out_bytes,   ALL,       ALL, false },
	{ "in_packets",  "IN_PKTS",  TM_K_NUM,  get_in_packets,  ALL,       ALL, false },
	{ "out_packets", "OUT_PKTS", TM_K_NUM,  get_out_packets, ALL,       ALL, false },
	{ "in_rate",     "IN_RATE",  TM_K_RATE, get_in_rate,     ALL,       ALL, true },
	{ "out_rate",    "OUT_RATE", TM_K_RATE, get_out_rate,    ALL,       ALL, true },
};

/* The columns of breakdown BY in a table or in JSON and CSV; how many. */
size_t tm_row_columns(enum tm_by by, bool table, bool interval,
		      const struct tm_col *out[TM_OUT_MAXCOLS])
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(row_cols) / sizeof(row_cols[0]); i++) {
		const struct tm_col *c = &row_cols[i];

		if (((table ? c->table : c->data) & (1u << by)) && (interval || !c->interval))
			out[n++] = c;
	}
	return n;
}
