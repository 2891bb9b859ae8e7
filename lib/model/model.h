/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lib/model: what the pins mean, over kernel: cgroup and interface names, the rows
 * of a breakdown read from the maps and the pending slots, the history.
 * Its files use only this layer and those below it.
 */
#ifndef TM_MODEL_H
#define TM_MODEL_H

#include "kernel/kernel.h"

/* job.c: the job a cgroup is in, by its path's shape */
struct tm_job {
	char kind[24];		/* slurm, pod, docker, podman, machine, session,
				 * service; a site rule's own */
	char id[256];		/* job id, pod UID, container ID, name, unit */
	char step[64], task[64];	/* Slurm's, where the path has them */
	char container[80];	/* a pod's container ID; "" at the pod's level */
	int64_t uid;		/* where the path says (user-UID.slice); else -1 */
	size_t len;		/* the job's own cgroup: the path's first len bytes */
};

struct tm_job_rule {
	char kind[24];
	char *pattern;
};

/* The site's rules (TM_JOB_RULES_FILE), tried before tm's own. */
struct tm_job_rules {
	struct tm_job_rule *v;
	size_t n;
};

#ifndef TM_JOB_RULES_FILE
#define TM_JOB_RULES_FILE	"/etc/tm/jobs"
#endif

bool tm_job_of(const char *path, const struct tm_job_rules *rules, struct tm_job *j);
#define TM_SLUID_LEN	14	/* 's' and 13 of Crockford's base 32 */
bool tm_job_is_sluid(const char *s, size_t len);
size_t tm_job_kind_span(const char *s);
int tm_job_rule_add(struct tm_job_rules *r, const char *kind, const char *pattern, char *why,
		    size_t len);
int tm_job_rules_read(const char *path, struct tm_job_rules *r);
void tm_job_rules_free(struct tm_job_rules *r);

/* names.c: cgroup paths and interface names, looked up once */
struct tm_cgnode {
	uint64_t id, parent;
	char *name;
	char *path;		/* built on first use */
	bool live;		/* seen in the cgroup tree at this reading */
	bool job_read;		/* job and kind found (or none), on first use */
	char *job, *kind;	/* NULL: in no job */
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
	bool cg_loaded, if_loaded, ns_read, jobs_loaded;
	long cg_loaded_at;	/* CLOCK_MONOTONIC seconds */
	struct tm_job_rules jobs;
	int jobs_err;		/* the rules file refused (said once) */
	struct tm_cgnode *cg;	/* sorted by id */
	struct tm_cgnode *last;	/* the last one found (cg_find) */
	size_t ncg, cgcap;
	struct tm_ifname *ifs;
	size_t nif, ifcap;
	long if_loaded_at;
	struct { uint32_t ino; char *name; } *ns;	/* /run/netns */
	size_t nns, nscap;
};

void tm_names_init(struct tm_names *n, const struct tm_pins *pins);
void tm_names_free(struct tm_names *n);
void tm_names_refresh(struct tm_names *n);
/* The cgroups' and interfaces' names read now, not at their first use. */
void tm_names_load(struct tm_names *n);
const char *tm_names_cgroup(struct tm_names *n, uint64_t id, char *buf, size_t len);
uint64_t tm_names_cgroup_at_depth(struct tm_names *n, uint64_t id, int depth);
int tm_names_cgroup_level(struct tm_names *n, uint64_t id);
bool tm_names_cgroup_live(struct tm_names *n, uint64_t id);
int tm_names_jobs_load(struct tm_names *n);
uint64_t tm_names_job(struct tm_names *n, uint64_t id, struct tm_job *j);
bool tm_names_job_of(struct tm_names *n, uint64_t id, const char **job, const char **kind);
bool tm_names_cgroup_known(struct tm_names *n, uint64_t id);
bool tm_names_cgroup_in(struct tm_names *n, uint64_t id, const char *job, const char *under);
const char *tm_names_iface(struct tm_names *n, uint64_t cookie, uint32_t netns,
			   uint32_t ifindex, uint32_t *ino);

/* rows.c: the pins read into the rows of one breakdown */
enum tm_by { TM_BY_USER, TM_BY_CONN, TM_BY_PROC, TM_BY_IFACE, TM_BY_PROTO, TM_BY_CGROUP,
	     TM_BY_JOB, TM_BY_FAMILY, TM_BY_MAX };

/* The breakdowns read from the details map (each user's share of it). */
static inline bool tm_by_details(enum tm_by by)
{
	return by >= TM_BY_PROC && by <= TM_BY_JOB;
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
	uint8_t other;		/* TM_ROW_OTHER: the user's row "other" (past
				 * their quota); TM_ROW_RETIRED: their rows of
				 * cgroups that ended, retired (retire.c) */
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

#define TM_ROW_OTHER	1
#define TM_ROW_RETIRED	2

struct tm_rows {
	enum tm_by by;
	struct tm_row *v;
	size_t n, cap;
	bool sorted;		/* by key, equal keys merged */
	struct tm_global g;
	uint64_t conns_live;	/* rows read from the connection map */
	uint64_t pending;	/* slots read from sockets */
	struct timespec mono, wall;
	/* Set by the caller, kept across readings: the details breakdowns
	 * hold only the rows of cgroups keep(id, keep_ctx) is true of. */
	bool (*keep)(uint64_t cgroup_id, void *ctx);
	void *keep_ctx;
	bool by_family;		/* the details breakdowns by address family too */
	bool by_path;		/* and by interface and IP protocol too */
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
int tm_rows_since(struct tm_rows *cur, struct tm_rows *prev, struct tm_rows *out);
void tm_rows_cgroups(struct tm_rows *s, struct tm_names *n, int depth);
void tm_rows_jobs(struct tm_rows *s, struct tm_names *n);
int tm_rows_read_named(const struct tm_pins *p, enum tm_by by, const uint32_t *users,
		       int nusers, struct tm_names *names, int depth, struct tm_rows *s);
void tm_rows_free(struct tm_rows *s);
int tm_row_cmp_key(const void *a, const void *b);

/*
 * Rows in display order: largest value first, then largest then, the key
 * breaking ties, the untracked networks' row last. The caller fills value,
 * then and row; tm_rows_order sorts them (stable).
 */
struct tm_ordered {
	uint64_t value, then;
	const struct tm_row *row;
	/* tm_rows_order's, from row: what is compared without reading it */
	uint64_t prefix;
	uint32_t uid, last;
};

int tm_rows_order(struct tm_ordered *v, size_t n);

/* retire.c: the rows and names of cgroups that have ended, taken out */
struct tm_retirement {
	uint64_t rows, cgroups;		/* taken out by this call */
	uint64_t unrecorded;		/* of the rows, those nothing recorded */
};

/* What a retirement's plan says of a row to go. */
enum { TM_RETIRE_NOW, TM_RETIRE_UNRECORDED, TM_RETIRE_WAIT };

struct tm_ledger_open;

/* The rows a retirement is to take out (what they held), and those that stay. */
struct tm_retiring {
	const struct tm_detail_key *keys;
	const struct tm_detail *vals;
	size_t n;
	const struct tm_detail_key *stay;	/* by cgroup */
	size_t nstay;
	uint8_t *fate;		/* of each row to go: TM_RETIRE_NOW unless told */
};

struct tm_retire_hooks {
	int (*plan)(const struct tm_retiring *r, void *ctx);
	int (*row)(const struct tm_detail_key *k, const struct tm_detail *v, void *ctx);
	void *ctx;
};

int tm_retire(const struct tm_pins *p, struct tm_names *names, const struct tm_ledger_open *held,
	      struct tm_retirement *out, const struct tm_retire_hooks *hooks);

/* The history tm-record keeps and tm-report reads unless told another
 * (tm-record.service's; make HISTORY_DB=PATH builds another in). */
#ifndef TM_DEFAULT_HISTORY_DB
#define TM_DEFAULT_HISTORY_DB	"/var/lib/tm/history.db"
#endif

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
typedef struct sqlite3_stmt sqlite3_stmt;

int64_t tm_tier_start(enum tm_tier tier, int64_t t);
int tm_history_open(const char *path, bool create, sqlite3 **db);
void tm_history_counters(sqlite3_stmt *st, int col, struct tm_counters *c);
void tm_history_bind_counters(sqlite3_stmt *st, int col, const struct tm_counters *c);
int tm_history_sample(sqlite3 *db, const char *path, const struct tm_series *s, size_t n,
		      const char *load, int64_t now, const int keep[TM_TIER_MAX]);
int tm_history_forget(sqlite3 *db, const char *path, const struct tm_series *s, size_t n);
int tm_history_ended(sqlite3 *db, const char *path, const uint64_t *ids, size_t n, int64_t now,
		     int64_t boot, int64_t *since);
int tm_history_prune(sqlite3 *db, const char *path, const int keep[TM_TIER_MAX], int keep_jobs,
		     int64_t now, bool force);
int tm_history_open_ro(const char *path, sqlite3 **db);
void tm_history_close(sqlite3 *db);
int tm_history_err(sqlite3 *db, const char *path, const char *what);
int tm_history_each(sqlite3 *db, const char *const *sql, size_t n,
		    void (*bind)(sqlite3_stmt *st, size_t i, const void *ctx), const void *ctx);
int tm_history_load_name(const struct tm_pins *p, char *out, size_t len);
int tm_history_current(sqlite3 *db, const char *path, const char *load,
		       const struct tm_series *now, size_t n, int64_t t,
		       int (*cb)(int64_t uid, const struct tm_counters *day,
				 const struct tm_counters *month, void *ctx), void *ctx);

/* ledger.c: the job ledger, in the history database */
struct tm_ledger_job {
	char node[256], kind[24], id[256];
	char user[256], account[256], partition[256];	/* "": not known */
	int64_t uid;		/* -1: not known */
	int64_t start, end;	/* Unix seconds; start 0: no prolog; end 0: open */
	struct tm_counters c;
	uint64_t cgroup;	/* tm-record's row of a job no prolog opened: the
				 * job's own cgroup; 0: a prolog's or epilog's */
	char sluid[TM_SLUID_LEN + 1];	/* a Slurm job's SLUID; "": none given */
};

/* A part of a job's totals: one address family on one interface. */
struct tm_ledger_part {
	char family[8], iface[280];	/* NAME, or NAME@NS */
	struct tm_counters c;
};

/* What a report of the ledger asks: jobs that ran in [since, until). */
struct tm_ledger_query {
	const char *path;	/* the database, for messages */
	int64_t since, until;
	const uint32_t *users;	/* none: all */
	int nusers;
	const char *job, *account;	/* NULL: any */
	uint64_t top;		/* the first N jobs by bytes; 0: all */
	bool no_parts;		/* the jobs' rows only */
};

/* One of a job's top remote networks, rolled up (TM_LEDGER_PREFIX4, 6). */
struct tm_ledger_net {
	char net[64];
	struct tm_counters c;
};

/* How many remote networks a job's row keeps, the top by bytes; their prefixes. */
#define TM_LEDGER_NETS		10
#define TM_LEDGER_PREFIX4	24
#define TM_LEDGER_PREFIX6	64

struct tm_ledger_entry {
	struct tm_ledger_job j;
	struct tm_ledger_part *parts;
	size_t nparts;
	struct tm_ledger_net *nets;
	size_t nnets;
};

struct tm_ledger_jobs {
	struct tm_ledger_entry *v;
	size_t n, cap;
};

struct tm_ledger_key {
	char kind[24], id[256];
};

/* How long an open job's rows are held from retirement, its epilog to come. */
#define TM_LEDGER_HOLD		(31 * 86400)

/* Jobs open in the ledger. */
struct tm_ledger_open {
	struct tm_ledger_key *v;
	size_t n, cap;
};

int tm_ledger_start(sqlite3 *db, const char *path, struct tm_ledger_job *j, int64_t now,
		    bool *fresh);
int tm_ledger_end_begin(sqlite3 *db, const char *path, struct tm_ledger_job *j, bool *closed,
			uint64_t **recorded, size_t *nrecorded);
int tm_ledger_end_commit(sqlite3 *db, const char *path, struct tm_ledger_entry *e, bool closed,
			 const struct tm_counters *c, int64_t now);
void tm_ledger_abort(sqlite3 *db);

/* What one ended cgroup's rows held, for its job's row. */
struct tm_ledger_take {
	uint64_t cgroup;
	struct tm_counters c;
	struct tm_ledger_part *parts;
	size_t nparts, cap;
	struct tm_ledger_net *nets;	/* its connection rows' networks */
	size_t nnets, netcap;
};

/* A job whose rows tm-record saw (tm_ledger_keep). */
struct tm_ledger_seen {
	char kind[24], id[256];
	uint64_t cgroup;	/* the job's own cgroup */
	int64_t uid;		/* its user, -1 not known */
	bool ended;		/* its own cgroup ended, and none of its rows stay */
	int64_t ended_at;	/* when its own cgroup was first seen ended; 0: now */
	struct tm_ledger_take *takes;	/* its cgroups whose rows are retired now */
	size_t ntakes, cap;
};

int tm_ledger_keep(sqlite3 *db, const char *path, const char *node,
		   const struct tm_ledger_seen *v, size_t n,
		   bool (*live)(uint64_t id, void *ctx), void *ctx, int64_t now, int64_t boot);
void tm_ledger_seen_free(struct tm_ledger_seen *v, size_t n);
int tm_ledger_part_add(struct tm_ledger_part **v, size_t *n, size_t *cap, uint8_t family,
		       const char *iface, const struct tm_counters *c);
int tm_ledger_net_add(struct tm_ledger_net **v, size_t *n, size_t *cap, uint8_t family,
		      const uint8_t *raddr, const struct tm_counters *c);
void tm_ledger_entry_free(struct tm_ledger_entry *e);
int tm_ledger_held(sqlite3 *db, const char *path, int64_t since, struct tm_ledger_open *out);
void tm_ledger_open_free(struct tm_ledger_open *o);
int tm_ledger_read(sqlite3 *db, const struct tm_ledger_query *q, struct tm_ledger_jobs *out);
void tm_ledger_jobs_free(struct tm_ledger_jobs *jobs);

/* query.c: a report's figures, read from the history (tm-report) */
enum tm_top_id { TM_TOP_NET, TM_TOP_PROC, TM_TOP_CGROUP, TM_TOP_MAX };

/* The breakdowns a report tops, as tm-record keeps them. */
struct tm_top_kind {
	const char *kind, *json, *title;
};

extern const struct tm_top_kind tm_top_kinds[TM_TOP_MAX];

/* What a report asks: users (none: all) in periods starting in [since, until). */
struct tm_query {
	const char *path;	/* the database, for messages */
	enum tm_tier by;
	int64_t since, until;
	const uint32_t *users;
	int nusers;
	uint64_t top;		/* top rows of each kind a user; 0: none */
};

struct tm_period {
	int64_t start;
	struct tm_counters c;
};

struct tm_top {
	char *key;
	struct tm_counters c;
};

struct tm_report_user {
	int64_t uid;		/* -1: no owner */
	struct tm_counters c;
	bool has_p95;
	double p95_in, p95_out;	/* bytes a second */
	struct tm_period *periods;
	size_t nperiods, pcap;
	struct tm_top *tops[TM_TOP_MAX];
	size_t ntops[TM_TOP_MAX];
};

/* Users by their bytes in the range, most first. */
struct tm_report {
	const struct tm_query *q;
	sqlite3 *db;
	struct tm_report_user *users;
	size_t n, cap;
};

int tm_report_read(struct tm_report *r);
void tm_report_free(struct tm_report *r);

/*
 * health.c: the meter's own health, each figure once: X(ID, tm-status's JSON
 * key (NULL: not there), Prometheus name (NULL: not exposed), its map="..."
 * label, COUNTER or GAUGE, the HELP line (the first of a name gives it), its
 * value (h: a struct tm_health), the item with its bytes (NONE), tm-status's
 * words after the number, the breakdowns tm-stat notes it in (a mask of
 * 1 << tm_by; 0: never), and the note after "N" (or "N packets (B bytes)").
 */
#define TM_BY_ALL	0xffffu
#define TM_BY_DETAILS	(1u << TM_BY_PROC | 1u << TM_BY_IFACE | 1u << TM_BY_PROTO | 1u << TM_BY_CGROUP | \
			 1u << TM_BY_JOB)
#define TM_HEALTH(X)								\
	X(LAYOUT_VERSION, NULL, "tm_layout_version", NULL, GAUGE,		\
	  "Version of the pinned maps' layout", h->layout_version, NONE, NULL, 0, NULL) \
	X(EVENTS_LOST, "events_lost", "tm_events_lost_total", NULL, COUNTER,	\
	  "Events tm-stream's ring had no room for (counted, not streamed)",	\
	  G(events_lost), NONE, "events lost", 0, NULL)				\
	X(USER_EVENTS_LOST, "user_events_lost", "tm_user_events_lost_total", NULL, COUNTER, \
	  "Events users' own tm-stream rings had no room for",			\
	  G(user_events_lost), NONE, "events lost in users' own streams", 0, NULL) \
	X(USERS_FULL_PACKETS, "users_full_packets", "tm_map_full_packets_total", "users", COUNTER, \
	  "Packets not in a map's rows because it was full (users: in no user's total)", \
	  G(users_full_packets), USERS_FULL_BYTES, "packets with the users map full", \
	  TM_BY_ALL, "had no room in the per-user map and are not in any row")	\
	X(DETAILS_FULL_PACKETS, "details_full_packets", "tm_map_full_packets_total", "details", COUNTER, \
	  NULL, G(details_full_packets), DETAILS_FULL_BYTES,			\
	  "packets with the details map full", TM_BY_DETAILS,			\
	  "had no room in the breakdown map and are not in these rows")	\
	X(USERS_FULL_BYTES, NULL, "tm_map_full_bytes_total", "users", COUNTER,	\
	  "Bytes not in a map's rows because it was full (users: in no user's total)", \
	  G(users_full_bytes), NONE, NULL, 0, NULL)				\
	X(DETAILS_FULL_BYTES, NULL, "tm_map_full_bytes_total", "details", COUNTER, \
	  NULL, G(details_full_bytes), NONE, NULL, 0, NULL)			\
	X(CONNS_EVICTED, "conns_evicted", "tm_conn_evictions_total", NULL, COUNTER, \
	  "Connection rows that made room for their user's newer ones, past the user's share (tm-load --max-conns)", \
	  tm_conns_evicted(&h->g, USED(CONNS)), NONE, "connections evicted",	\
	  1u << TM_BY_CONN,							\
	  "connection rows made room for their user's newer ones, past the user's share of tm-load --max-conns; their bytes are in the per-user totals") \
	X(CONNS_FULL, "conns_full", "tm_conns_unrecorded_total", NULL, COUNTER,	\
	  "Connections given no row: the connection map was full (tm-load --max-conns)", \
	  G(conns_full), NONE, "connections given no row (the conns map full)",	\
	  1u << TM_BY_CONN,							\
	  "connections were given no row (the connection map is full: tm-load --max-conns); their bytes are in the per-user totals") \
	X(DETAILS_OTHER, "details_other", "tm_details_other_total", NULL, COUNTER, \
	  "Counts added to a user's row (other): past their share of the breakdowns", \
	  G(details_other), NONE, "slots counted in a user's row (other)", 0, NULL) \
	X(RAW_COPIES_PACKETS, "raw_copies_packets", "tm_raw_copies_packets_total", NULL, COUNTER, \
	  "Copies of packets handed to raw sockets they were not for (in no row)", \
	  G(raw_copies_packets), RAW_COPIES_BYTES, "raw-socket copies", TM_BY_ALL, \
	  "were copies handed to raw sockets they were not for, and are in no row") \
	X(RAW_COPIES_BYTES, NULL, "tm_raw_copies_bytes_total", NULL, COUNTER,	\
	  "Bytes of copies handed to raw sockets they were not for (in no row)", \
	  G(raw_copies_bytes), NONE, NULL, 0, NULL)				\
	X(CGROUPS_FULL, "cgroups_full", "tm_cgroups_unrecorded_total", NULL, COUNTER, \
	  "Cgroups whose path could not be recorded: the cgroups map was full", \
	  G(cgroups_full), NONE, "cgroups unrecorded (the cgroups map full)",	\
	  1u << TM_BY_CGROUP | 1u << TM_BY_JOB,							\
	  "cgroups could not be recorded (the map is full); once removed they show as (gone: ID)") \
	X(CGROUPS_SHARE, "cgroups_share", "tm_cgroups_unrecorded_share_total", NULL, COUNTER, \
	  "Cgroups users own not recorded: the user's share of the cgroups map was used", \
	  G(cgroups_share), NONE, "cgroups unrecorded (their owner's share of cgroups used)", \
	  1u << TM_BY_CGROUP | 1u << TM_BY_JOB,					\
	  "cgroups of users' own (delegated) subtrees could not be recorded (their share of the map is used); once removed they show as (gone: ID)") \
	X(IFNAMES_FULL, "ifnames_full", "tm_interfaces_unnamed_total", NULL, COUNTER, \
	  "Interfaces whose name could not be recorded: the ifnames map was full", \
	  G(ifnames_full), NONE, "interfaces unnamed (the ifnames map full)",	\
	  1u << TM_BY_IFACE,							\
	  "interfaces could not be named (the ifnames map is full); they show by index") \
	X(IFNAMES_SHARE, "ifnames_share", "tm_interfaces_unnamed_share_total", NULL, COUNTER, \
	  "Interfaces of users' own network namespaces not named: the user's share of the ifnames map was used", \
	  G(ifnames_share), NONE, "interfaces unnamed (their user's share of ifnames used)", \
	  1u << TM_BY_IFACE,							\
	  "interfaces of users' own network namespaces were not named (their user's share of the map is used); they show by index") \
	X(DETAILS_RETIRED, "details_retired", "tm_details_retired_total", NULL, COUNTER, \
	  "Rows of the breakdown map of cgroups that ended, retired once recorded (their bytes in the users' row (retired))", \
	  h->retired.rows, NONE, "breakdown rows of ended cgroups retired", 0, NULL) \
	X(DETAILS_UNRECORDED, "details_retired_unrecorded", "tm_details_retired_unrecorded_total", NULL, COUNTER, \
	  "Of those rows, the ones nothing recorded (no history, no job's ledger row), retired after tm-record --grace", \
	  h->retired.unrecorded, NONE, "of them, retired unrecorded (tm-record --grace)", 0, NULL) \
	X(CGROUPS_RETIRED, "cgroups_retired", "tm_cgroups_retired_total", NULL, COUNTER, \
	  "Names of cgroups that ended, retired from the cgroups map",		\
	  h->retired.cgroups, NONE, "names of ended cgroups retired", 0, NULL)	\
	TM_HEALTH_FILL(X, USERS, users)						\
	TM_HEALTH_FILL(X, CONNS, conns)						\
	TM_HEALTH_FILL(X, DETAILS, details)					\
	TM_HEALTH_FILL(X, CGROUPS, cgroups)					\
	TM_HEALTH_FILL(X, IFNAMES, ifnames)					\
	TM_HEALTH_MAX(X, USERS, users)						\
	TM_HEALTH_MAX(X, CONNS, conns)						\
	TM_HEALTH_MAX(X, DETAILS, details)					\
	TM_HEALTH_MAX(X, CGROUPS, cgroups)					\
	TM_HEALTH_MAX(X, IFNAMES, ifnames)

/* A map's fill as the exposition shows it (tm-status shows every map's). */
#define TM_HEALTH_FILL(X, MAP, name)						\
	X(ENTRIES_##MAP, NULL, "tm_map_entries", #name, GAUGE,			\
	  "Entries in use in a pinned map", USED(MAP), NONE, NULL, 0, NULL)
#define TM_HEALTH_MAX(X, MAP, name)						\
	X(MAX_ENTRIES_##MAP, NULL, "tm_map_max_entries", #name, GAUGE,		\
	  "Capacity of a pinned map", MAX(MAP), NONE, NULL, 0, NULL)

enum tm_health_id {
#define TM_HEALTH_ENUM(id, ...) TM_HEALTH_##id,
	TM_HEALTH(TM_HEALTH_ENUM)
#undef TM_HEALTH_ENUM
	TM_HEALTH_COUNT,
	TM_HEALTH_NONE = -1
};

enum tm_health_type { TM_HEALTH_COUNTER, TM_HEALTH_GAUGE };

struct tm_health {
	uint32_t layout_version;
	struct tm_global g;
	struct tm_retired retired;	/* "retired"'s TM_UID_HOST: the host's */
	struct tm_map_fill map[TM_MAP_COUNT];	/* by enum tm_map_id */
};

struct tm_health_item {
	const char *key;	/* tm-status --json; NULL: not there */
	const char *prom;	/* Prometheus name; NULL: not exposed */
	const char *label;	/* map="..." */
	enum tm_health_type type;
	const char *help;	/* NULL: the name's first item gave it */
	uint64_t (*get)(const struct tm_health *h);
	int bytes;		/* the item of its bytes; TM_HEALTH_NONE */
	const char *text;	/* tm-status's words; NULL: not in its text */
	unsigned int by;	/* tm-stat notes it in these breakdowns */
	const char *note;
};

extern const struct tm_health_item tm_health_items[TM_HEALTH_COUNT];
uint64_t tm_health_value(const struct tm_health *h, int id);
int tm_health_counted(const struct tm_pins *p, struct tm_health *h);
int tm_health_read(const struct tm_pins *p, struct tm_health *h);
void tm_health_of(struct tm_health *h, const struct tm_global *g, uint64_t conns_live);

#endif /* TM_MODEL_H */
