/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lib/output: writing what the model holds, over it: tables, the one writer of JSON,
 * CSV and table records from column descriptions, every field described
 * once, the Prometheus exposition, report files.
 * Its files use only this layer and those below it.
 */
#ifndef TM_OUTPUT_H
#define TM_OUTPUT_H

#include "model/model.h"

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
char *tm_table_room(struct tm_table *t, size_t n);
void tm_table_place(struct tm_table *t, const size_t *len, const bool *ascii);
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
	bool plain;		/* text made here (an address, a word of ours):
				 * nothing in it to escape anywhere */
	uint64_t u;
	double d;
	const char *s;
	size_t len;
};

/* Reads one field of a record; text it builds goes into scratch. */
typedef void (*tm_get_fn)(const void *rec, const void *ctx, struct tm_val *v,
			  struct tm_buf *scratch);

/*
 * For getters: a string as the value, or what they built in scratch from
 * start; a word of tm's own (a constant, never a user's: tm_val_word), or
 * text tm made (numbers, an address, a protocol: tm_val_made), goes out as
 * it is.
 */
void tm_val_text(struct tm_val *v, const char *s);
void tm_val_word(struct tm_val *v, const char *word);
void tm_val_built(struct tm_val *v, const struct tm_buf *scratch, const char *start);
void tm_val_made(struct tm_val *v, const struct tm_buf *scratch, const char *start);
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
	bool lines;		/* a stream's: JSON as one object a line, not
				 * one array; lines held, and written together
				 * by tm_out_flush or as the room runs out */
	bool exact;		/* table: sizes in bytes, not KiB, MiB, ... */
	bool bits;		/* table: rates in bits a second */
	const struct tm_col *const *cols;
	size_t ncols;
	FILE *f;		/* where rows go (stdout unless set) */
	size_t rows;
	struct tm_table table;
	/* ,"key": (no comma for the first), and a quote for a string value */
	char *json_key[TM_OUT_MAXCOLS];
	size_t json_key_len[TM_OUT_MAXCOLS];
	bool json_quoted[TM_OUT_MAXCOLS];
	const char *heads[TM_OUT_MAXCOLS];
	enum tm_align align[TM_OUT_MAXCOLS];
	char *line, *scratch;
	/* lines: what is written but not yet given to held_f (tm_out_flush) */
	char *held;
	size_t nheld;
	FILE *held_f;
};

int tm_parse_format(const char *opt, const char *arg, unsigned allowed, enum tm_fmt *fmt);
int tm_out_init(struct tm_out *o, enum tm_fmt fmt, const struct tm_col *const *cols,
		size_t ncols);
void tm_out_begin(struct tm_out *o, bool header);
int tm_out_row(struct tm_out *o, const void *rec, const void *ctx);
int tm_out_flush(struct tm_out *o);
int tm_out_end(struct tm_out *o);
void tm_put_cell(struct tm_buf *b, const struct tm_col *c, const struct tm_val *v, bool exact,
		 bool bits);
void tm_out_free(struct tm_out *o);

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
	/* The socket's cgroup, its job and its kind; NULL: not known, none. */
	const char *cgroup, *job, *kind;
	char cgroup_buf[64];
};

size_t tm_event_columns(enum tm_fmt fmt, const struct tm_col *out[TM_OUT_MAXCOLS]);
/*
 * An event's cgroup, job and kind into ec, looked up once for its fields;
 * whether any of cols shows them (else they need not be).
 */
void tm_event_names(struct tm_event_ctx *ec, const struct tm_event *e);
bool tm_event_columns_named(const struct tm_col *const *cols, size_t ncols);

/* prom.c: the Prometheus text exposition */
struct tm_prom {
	const struct tm_pins *pins;
	const uint32_t *users;	/* only these (none: all) */
	int nusers;
	int depth;		/* cgroups rolled up (tm-stat --depth); -1: not */
	bool self;		/* a user's self-view: no health of the host */
	int (*extra)(FILE *f, void *ctx);	/* more families, written last */
	void *extra_ctx;
	/* A job's account (its label account), NULL if not known; NULL: none.
	 * Called with extra_ctx. */
	const char *(*account)(const char *kind, size_t nkind, const char *id, size_t nid,
			       void *ctx);
};

int tm_prom_write(FILE *f, const struct tm_prom *o);
int tm_prom_label(FILE *f, const char *name, const char *s, size_t n);
int tm_prom_check_textfile(const char *path);
int tm_prom_textfile(const char *path, const struct tm_prom *o);

/*
 * doc.c: a nested document written once, as JSON or as text: each call is
 * one value, with its JSON key (NULL: not in JSON, but for an array's
 * values, which have none) and its text format (one %s, a width allowed;
 * NULL: not in the text)
 */
#define TM_DOC_DEPTH 16
struct tm_doc {
	FILE *f;
	bool json;
	int depth;
	bool has[TM_DOC_DEPTH];	/* a member written at this depth: the next takes a comma */
	bool arr[TM_DOC_DEPTH];	/* this depth is an array: values without keys */
};

void tm_doc_init(struct tm_doc *d, FILE *f, bool json);
void tm_doc_obj(struct tm_doc *d, const char *key);
void tm_doc_obj_end(struct tm_doc *d);
void tm_doc_arr(struct tm_doc *d, const char *key);
void tm_doc_arr_end(struct tm_doc *d);
void tm_doc_str(struct tm_doc *d, const char *key, const char *fmt, const char *s);
void tm_doc_u64(struct tm_doc *d, const char *key, const char *fmt, uint64_t v);
void tm_doc_i64(struct tm_doc *d, const char *key, const char *fmt, int64_t v);
void tm_doc_double(struct tm_doc *d, const char *key, const char *fmt, int decimals, double v);
void tm_doc_bool(struct tm_doc *d, const char *key, const char *fmt, bool v);
void tm_doc_null(struct tm_doc *d, const char *key, const char *text);
void tm_doc_text(struct tm_doc *d, const char *s);
void tm_doc_counters(struct tm_doc *d, const struct tm_counters *c);
void tm_fput_safe(FILE *f, void (*put)(struct tm_buf *, const char *, size_t), const char *s);
void tm_fput_safe_n(FILE *f, void (*put)(struct tm_buf *, const char *, size_t),
		    const char *s, size_t n);

/* jobs.c: a job of the ledger */
void tm_doc_ledger_job(struct tm_doc *d, const struct tm_ledger_entry *e);
void tm_put_ledger_job(struct tm_buf *b, const struct tm_ledger_job *j);

/* report.c: per-user report files */
int tm_write_reports(const char *template, uint32_t admin_gid, double interval, bool bits,
		     const struct tm_rows *users, const struct tm_rows *conns);

#endif /* TM_OUTPUT_H */
