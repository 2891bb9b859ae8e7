// SPDX-License-Identifier: GPL-2.0
/* tm-unload: detach every tm link and remove the pin root. Idempotent. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tm.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-unload [OPTION]...\n"
"Detach tm's programs from every cgroup and remove everything under the pin\n"
"root, counters included. Nothing loaded is not an error. What a tm-load or\n"
"tm-unload that was killed left behind is removed too.\n"
"\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 unloaded or nothing loaded, 1 failure (or no privilege),\n"
"2 bad usage or a pin root that is not tm's.\n");
}

/* What is at the root, taken down; with the parent's lock held. */
static int unload(const struct tm_root *r)
{
	int state, err, staged = tm_root_clear_staging(r);

	if (staged)
		fprintf(stderr, "tm-unload: removed %d unfinished load%s beside %s\n", staged,
			staged == 1 ? "" : "s", r->path);
	state = tm_root_state(r);
	if (state < 0)
		return state;
	if (state == TM_ROOT_NONE) {
		if (!staged)
			fprintf(stderr, "tm-unload: nothing loaded at %s\n", r->path);
		return 0;
	}
	err = tm_root_remove(r->path);
	if (err)
		tm_err("cannot remove %s: %s", r->path, strerror(-err));
	else if (state == TM_ROOT_EMPTY)
		fprintf(stderr, "tm-unload: removed %s, left empty by an unload that was "
			"stopped\n", r->path);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TM_COMMON_OPTIONS,
		{}
	};
	const char *opt_root = NULL;
	struct tm_root r;
	int c, err;

	tm_init("tm-unload");
	while ((c = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
		err = tm_common_opt(c, optarg, &opt_root, usage);
		if (err)
			return tm_exit_code(err);
	}
	err = tm_no_more_args(argc, argv, optind);
	if (!err)
		err = tm_root_name(opt_root, &r);
	if (!err)
		err = tm_need_privilege();
	/* Loading and unloading both change the parent: they take its lock. */
	if (!err)
		err = tm_root_lock(&r);
	if (!err) {
		err = unload(&r);
		tm_root_unlock(&r);
	}
	return tm_exit_code(err);
}
