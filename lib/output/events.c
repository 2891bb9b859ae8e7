// SPDX-License-Identifier: GPL-2.0
/*
 * Every field of a tm-stream event, described once, as fields.c does
 * for rows: JSON writes them all, in this order; CSV writes the historical
 * per-packet format, direction,bytes,src_ip,dst_ip,timestamp,total_in,
 * total_out, with no header.
 */
#include <string.h>

#include "output.h"

static const struct tm_event *ev(const void *rec)
{
	return rec;
}

static const struct tm_event_ctx *ectx(const void *ctx)
{
	return ctx;
}

static void get_ts(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->ts_ns + ectx(ctx)->names->mono_to_real;
}

static void get_dir(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_word(v, ev(rec)->dir == TM_DIR_OUT ? "out" : "in");
}

static void get_uid(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->uid;
	v->null = ev(rec)->uid == TM_UID_UNKNOWN;
}

static void get_user(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_text(v, ectx(ctx)->user);
}

static void get_pid(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->pid;
}

static void get_comm(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->s = ev(rec)->comm;
	v->len = strnlen(ev(rec)->comm, TM_COMM_LEN);
}

static void get_proto(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_proto(v, sb, ev(rec)->proto);
}

static void get_family(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_word(v, tm_family_name(ev(rec)->family));
}

static void get_src(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_addr(v, sb, ev(rec)->family, ev(rec)->saddr);
}

static void get_dst(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	tm_val_addr(v, sb, ev(rec)->family, ev(rec)->daddr);
}

static void get_sport(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->sport;
	v->null = !ev(rec)->has_ports;
}

static void get_dport(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->dport;
	v->null = !ev(rec)->has_ports;
}

static void get_bytes(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->bytes;
}

static void get_iface(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	const char *name = tm_names_iface(ectx(ctx)->names, 0, ev(rec)->netns, ev(rec)->ifindex,
					  NULL);

	tm_val_text(v, name ? name : "?");
}

/* The inode of the network namespace of the packet's socket. */
static void get_netns(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ev(rec)->netns;
	v->null = !ev(rec)->netns;
}

/*
 * The socket's cgroup, its job and the job's kind, each asked of the names
 * once an event (the fields below read them): NULL where not known.
 */
void tm_event_names(struct tm_event_ctx *ec, const struct tm_event *e)
{
	uint64_t id = e->cgroup_id;

	ec->cgroup = ec->job = ec->kind = NULL;
	if (!id || !tm_names_cgroup_known(ec->names, id))
		return;
	ec->cgroup = tm_names_cgroup(ec->names, id, ec->cgroup_buf, sizeof(ec->cgroup_buf));
	if (!tm_names_job_of(ec->names, id, &ec->job, &ec->kind))
		ec->job = ec->kind = NULL;
}

static void name_field(struct tm_val *v, const char *name)
{
	if (name)
		tm_val_text(v, name);
	else
		v->null = true;
}

static void get_cgroup(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	name_field(v, ectx(ctx)->cgroup);
}

static void get_job(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	name_field(v, ectx(ctx)->job);
}

static void get_kind(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	name_field(v, ectx(ctx)->kind);
}

static void get_total_in(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ectx(ctx)->total_in;
}

static void get_total_out(const void *rec, const void *ctx, struct tm_val *v, struct tm_buf *sb)
{
	v->u = ectx(ctx)->total_out;
}

enum { TS, DIR, UID, USER, PID, COMM, PROTO, FAMILY, SRC, SPORT, DST, DPORT, BYTES, IFACE,
       NETNS, CGROUP, JOB, KIND, TOTAL_IN, TOTAL_OUT, NCOLS };

static const struct tm_col event_cols[NCOLS] = {
	[TS]        = { "ts",        "TIME",      TM_K_TIME, get_ts },
	[DIR]       = { "dir",       "DIR",       TM_K_TEXT, get_dir },
	[UID]       = { "uid",       "UID",       TM_K_NUM,  get_uid },
	[USER]      = { "user",      "USER",      TM_K_TEXT, get_user },
	[PID]       = { "pid",       "PID",       TM_K_NUM,  get_pid },
	[COMM]      = { "comm",      "COMM",      TM_K_TEXT, get_comm },
	[PROTO]     = { "proto",     "PROTO",     TM_K_TEXT, get_proto },
	[FAMILY]    = { "family",    "FAMILY",    TM_K_TEXT, get_family },
	[SRC]       = { "src",       "SRC",       TM_K_TEXT, get_src },
	[SPORT]     = { "sport",     "SPORT",     TM_K_NUM,  get_sport },
	[DST]       = { "dst",       "DST",       TM_K_TEXT, get_dst },
	[DPORT]     = { "dport",     "DPORT",     TM_K_NUM,  get_dport },
	[BYTES]     = { "bytes",     "BYTES",     TM_K_NUM,  get_bytes },
	[IFACE]     = { "iface",     "IFACE",     TM_K_TEXT, get_iface },
	[NETNS]     = { "netns",     "NETNS",     TM_K_NUM,  get_netns },
	[CGROUP]    = { "cgroup",    "CGROUP",    TM_K_TEXT, get_cgroup },
	[JOB]       = { "job",       "JOB",       TM_K_TEXT, get_job },
	[KIND]      = { "kind",      "KIND",      TM_K_TEXT, get_kind },
	[TOTAL_IN]  = { "total_in",  "TOTAL_IN",  TM_K_NUM,  get_total_in },
	[TOTAL_OUT] = { "total_out", "TOTAL_OUT", TM_K_NUM,  get_total_out },
};

bool tm_event_columns_named(const struct tm_col *const *cols, size_t ncols)
{
	size_t i;

	for (i = 0; i < ncols; i++)
		if (cols[i] == &event_cols[CGROUP] || cols[i] == &event_cols[JOB] ||
		    cols[i] == &event_cols[KIND])
			return true;
	return false;
}

/* The historical CSV, in its order. */
static const int csv_order[] = { DIR, BYTES, SRC, DST, TS, TOTAL_IN, TOTAL_OUT };

size_t tm_event_columns(enum tm_fmt fmt, const struct tm_col *out[TM_OUT_MAXCOLS])
{
	size_t i, n;

	if (fmt == TM_FMT_CSV) {
		n = sizeof(csv_order) / sizeof(csv_order[0]);
		for (i = 0; i < n; i++)
			out[i] = &event_cols[csv_order[i]];
		return n;
	}
	/* A table shows the namespace in IFACE (NAME@NS) only. */
	for (i = n = 0; i < NCOLS; i++)
		if (fmt != TM_FMT_TABLE || i != NETNS)
			out[n++] = &event_cols[i];
	return n;
}
