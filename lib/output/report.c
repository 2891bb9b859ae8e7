// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user report files, as HPC sites keep them (tm-stat --output): each
 * interval appends a header with the time, the user's totals and rates, and
 * a block per connection that moved in the interval, by what it moved. Names a user controls are escaped, so no process
 * name can start a line of its own.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "output.h"

static void put_counts(struct tm_buf *b, const char *dir, uint64_t bytes, uint64_t packets)
{
	tm_put_str(b, dir);
	tm_put_lit(b, " ");
	tm_put_u64(b, bytes);
	tm_put_lit(b, " bytes ");
	tm_put_u64(b, packets);
	tm_put_lit(b, " packets");
}

static void put_user_block(struct tm_buf *b, const char *when, const struct tm_row *u,
			   double interval, bool bits)
{
	const char *name = tm_uid_name(u->uid);
	char secs[32];

	tm_put_lit(b, "=== ");
	tm_put_str(b, when);
	tm_put_lit(b, "  user ");
	if (name)
		tm_put_text(b, name, strlen(name));
	else
		tm_put_u64(b, u->uid);
	tm_put_lit(b, " (uid ");
	if (u->uid == TM_UID_UNKNOWN)
		tm_put_lit(b, "-");
	else
		tm_put_u64(b, u->uid);
	snprintf(secs, sizeof(secs), "%g", interval);
	tm_put_lit(b, ")  interval ");
	tm_put_str(b, secs);
	tm_put_lit(b, " s\n");
	put_counts(b, "total  RX", u->c.in_bytes, u->c.in_packets);
	tm_put_lit(b, " (");
	tm_put_rate(b, u->in_rate, bits);
	tm_put_lit(b, ")  ");
	put_counts(b, "TX", u->c.out_bytes, u->c.out_packets);
	tm_put_lit(b, " (");
	tm_put_rate(b, u->out_rate, bits);
	tm_put_lit(b, ")\n");
}

static void put_conn_block(struct tm_buf *b, const struct tm_row *c)
{
	bool ports = tm_proto_has_ports(c->proto);

	tm_put_lit(b, "conn ");
	tm_put_proto(b, c->proto);
	tm_put_lit(b, " ");
	tm_put_endpoint(b, c->family, ports, c->laddr, c->lport);
	tm_put_lit(b, " -> ");
	tm_put_endpoint(b, c->family, ports, c->raddr, c->rport);
	tm_put_lit(b, "  pid ");
	tm_put_u64(b, c->pid);
	tm_put_lit(b, " ");
	tm_put_text(b, c->comm, strnlen(c->comm, TM_COMM_LEN));
	tm_put_lit(b, "\n  ");
	put_counts(b, "TX", c->c.out_bytes, c->c.out_packets);
	tm_put_lit(b, "  ");
	put_counts(b, "RX", c->c.in_bytes, c->c.in_packets);
	tm_put_lit(b, "\n");
}

/*
 * One report for each user in users (a by-user reading with rates, in bits
 * a second if bits), with
 * that user's rows of conns (a by-connection reading), appended to the file
 * the template names.
 */
int tm_write_reports(const char *template, uint32_t admin_gid, double interval, bool bits,
		     const struct tm_rows *users, const struct tm_rows *conns)
{
	char when[64], path[PATH_MAX], block[4096];
	struct tm tm;
	size_t i, j;
	int err = 0;

	localtime_r(&users->wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	for (i = 0; i < users->n; i++) {
		const struct tm_row *u = &users->v[i];
		TM_BUF(b, block);
		FILE *f;

		if (u->untracked)
			continue;
		tm_expand_template(template, u->uid, NULL, path, sizeof(path));
		f = tm_open_output(template, path, u->uid, admin_gid);
		if (!f) {
			err = -EIO;
			continue;
		}
		put_user_block(&b, when, u, interval, bits);
		fwrite(block, 1, b.p - block, f);
		for (j = 0; j < conns->n; j++) {
			if (conns->v[j].uid != u->uid)
				continue;
			b.p = block;
			put_conn_block(&b, &conns->v[j]);
			fwrite(block, 1, b.p - block, f);
		}
		fputc('\n', f);
		if (fclose(f)) {
			tm_err("cannot write '%s': %s", path, strerror(errno));
			err = -EIO;
		}
	}
	return err;
}
