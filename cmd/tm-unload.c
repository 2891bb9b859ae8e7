// SPDX-License-Identifier: GPL-2.0
/* tm-unload: detach every tm link and remove the pin root. Idempotent. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-unload [OPTION]...\n"
"Detach tm's programs from every cgroup and remove everything under the pin\n"
"root, counters included. Nothing loaded is not an error.\n"
"\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 unloaded or nothing loaded, 1 failure, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TM_COMMON_OPTIONS,
		{}
	};
	const char *opt_root = NULL, *root;
	char parent[4096];
	struct tm_pins pins;
	struct stat st;
	int c, err;

	tm_init("tm-unload");
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		err = tm_common_opt(c, optarg, &opt_root, usage);
		if (err)
			return tm_exit_code(err);
	}
	err = tm_no_more_args(argc, argv, optind);
	if (err)
		return tm_exit_code(err);
	root = tm_pin_root(opt_root);
	if (stat(root, &st) && errno == ENOENT) {
		fprintf(stderr, "tm-unload: nothing loaded at %s\n", root);
		return TM_EXIT_OK;
	}
	err = tm_need_privilege();
	if (err)
		return tm_exit_code(err);
	/* Refuse to empty a directory that is not tm's, or not of our layout. */
	err = tm_pins_open(&pins, root);
	if (err)
		return tm_exit_code(err);
	/* Loading and unloading both change the parent: they take its lock. */
	snprintf(parent, sizeof(parent), "%s", root);
	*(strrchr(parent, '/') ?: parent) = '\0';
	err = tm_lock(*parent ? parent : "/", &pins.lock_fd);
	if (!err) {
		err = tm_remove_tree(root);
		if (err)
			tm_err("cannot remove %s: %s", root, strerror(-err));
	}
	tm_pins_close(&pins);
	return tm_exit_code(err);
}
