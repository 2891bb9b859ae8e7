// SPDX-License-Identifier: GPL-2.0
/*
 * tm-fill: puts N synthetic users or connections into a pinned tm load, so
 * the bench can time tm-stat on full maps and the datapath with many live
 * connections without making that much traffic.
 *
 *   tm-fill users N | conns N      (pin root from TM_PIN_ROOT)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tm.h"

static int fill_users(const struct tm_pins *p, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		/* UIDs from 200000 up: no real user's. */
		struct tm_user_key k = { .uid = 200000 + i, .family = TM_FAMILY_IPV4 };
		struct tm_counters v = { 1000 + i, 10, 2000 + i, 20 };

		if (bpf_map_update_elem(p->fd[TM_MAP_USERS], &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int fill_conns(const struct tm_pins *p, long n)
{
	int fd = p->fd[TM_MAP_CONNS], err = 0;
	long i;

	for (i = 0; i < n; i++) {
		struct tm_conn_key k = {
			.uid = 200000 + i % 1000,
			.family = TM_FAMILY_IPV4,
			.proto = 6,
			.lport = 10000 + i % 50000,
			.rport = 443,
			.laddr = { 10, 0, 0, 1 },
			.raddr = { 198, 18, (i >> 8) & 0xff, i & 0xff },
		};
		struct tm_conn v = { .c = { 1000, 10, 2000, 20 }, .pid = 1, .comm = "fill" };

		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			err = -errno;
			break;
		}
	}
	return err;
}

int main(int argc, char **argv)
{
	struct tm_pins p;
	long n;
	int err;

	tm_init("tm-fill");
	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: tm-fill users|conns N\n");
		return 2;
	}
	err = tm_pins_open(&p, NULL);
	if (err)
		return 1;
	err = !strcmp(argv[1], "users") ? fill_users(&p, n) : fill_conns(&p, n);
	if (err)
		tm_err("%s: %s", argv[1], strerror(-err));
	tm_pins_close(&p);
	return err ? 1 : 0;
}
