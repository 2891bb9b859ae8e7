// SPDX-License-Identifier: GPL-2.0
/*
 * A job of the ledger as tm-job and tm-report write it: the members of its
 * JSON object, and its line of words.
 */
#include <string.h>

#include "output.h"

static void str_or_null(struct tm_doc *d, const char *key, const char *s)
{
	if (*s)
		tm_doc_str(d, key, NULL, s);
	else
		tm_doc_null(d, key, NULL);
}

/*
 * The members of a job's object: node, kind, job, sluid, user, uid,
 * account, partition, start and end (Unix seconds; null: not known, or running),
 * the counters, its parts and its top remote networks.
 */
void tm_doc_ledger_job(struct tm_doc *d, const struct tm_ledger_entry *e)
{
	const struct tm_ledger_job *j = &e->j;
	size_t i;

	str_or_null(d, "node", j->node);
	str_or_null(d, "kind", j->kind);
	str_or_null(d, "job", j->id);
	str_or_null(d, "sluid", j->sluid);
	str_or_null(d, "user", j->user);
	if (j->uid >= 0)
		tm_doc_i64(d, "uid", NULL, j->uid);
	else
		tm_doc_null(d, "uid", NULL);
	str_or_null(d, "account", j->account);
	str_or_null(d, "partition", j->partition);
	if (j->start)
		tm_doc_i64(d, "start", NULL, j->start);
	else
		tm_doc_null(d, "start", NULL);
	if (j->end)
		tm_doc_i64(d, "end", NULL, j->end);
	else
		tm_doc_null(d, "end", NULL);
	tm_doc_counters(d, &j->c);
	tm_doc_arr(d, "parts");
	for (i = 0; i < e->nparts; i++) {
		tm_doc_obj(d, NULL);
		tm_doc_str(d, "family", NULL, e->parts[i].family);
		tm_doc_str(d, "iface", NULL, e->parts[i].iface);
		tm_doc_counters(d, &e->parts[i].c);
		tm_doc_obj_end(d);
	}
	tm_doc_arr_end(d);
	tm_doc_arr(d, "networks");
	for (i = 0; i < e->nnets; i++) {
		tm_doc_obj(d, NULL);
		tm_doc_str(d, "network", NULL, e->nets[i].net);
		tm_doc_counters(d, &e->nets[i].c);
		tm_doc_obj_end(d);
	}
	tm_doc_arr_end(d);
}

/* "job ID (KIND, USER, account ACCOUNT): received SIZE in N packets, sent ...", escaped. */
void tm_put_ledger_job(struct tm_buf *b, const struct tm_ledger_job *j)
{
	tm_put_lit(b, "job ");
	tm_put_text(b, j->id, strlen(j->id));
	tm_put_lit(b, " (");
	tm_put_text(b, j->kind, strlen(j->kind));
	if (j->user[0]) {
		tm_put_lit(b, ", ");
		tm_put_text(b, j->user, strlen(j->user));
	}
	if (j->account[0]) {
		tm_put_lit(b, ", account ");
		tm_put_text(b, j->account, strlen(j->account));
	}
	tm_put_lit(b, "): received ");
	tm_put_size(b, j->c.in_bytes);
	tm_put_lit(b, " in ");
	tm_put_u64(b, j->c.in_packets);
	tm_put_lit(b, " packets, sent ");
	tm_put_size(b, j->c.out_bytes);
	tm_put_lit(b, " in ");
	tm_put_u64(b, j->c.out_packets);
	tm_put_lit(b, " packets");
}
