// SPDX-License-Identifier: GPL-2.0
/*
 * tm-mask: edit the untracked networks while the meter runs. A packet whose
 * source and destination are both untracked is left out of every per-user
 * counter and added to the untracked counter instead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm.h"

struct opts {
	const char *pin_root;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-mask [OPTION]... add ENTRY...\n"
"       tm-mask [OPTION]... del ENTRY...\n"
"       tm-mask [OPTION]... list [--json | --format FMT]\n"
"       tm-mask [OPTION]... flush\n"
"       tm-mask [OPTION]... load FILE\n"
"Edit the untracked networks of the running meter. A packet whose source and\n"
"destination are both in untracked networks is counted in no user's row, only\n"
"in the \"untracked\" row of tm-stat, and never streamed.\n"
"\n"
"  add ENTRY...   add networks (adding one already there is no error)\n"
"  del ENTRY...   remove networks; each must be in the list\n"
"  list           print the list, one CIDR a line (--json: an array)\n"
"  flush          empty the list\n"
"  load FILE      make the list exactly FILE: one entry a line, blank lines\n"
"                 and # comments allowed\n"
"\n"
"ENTRY: a CIDR (10.0.0.0/8, 2001:db8::/32), a bare address (a /32 or /128),\n"
"or a wildcard where each trailing * is one octet or one 16-bit group:\n"
"10.0.*.* is 10.0.0.0/16, 2001:db8:abcd:1234:5678:9abc:def0:* is .../112, and\n"
"2001:db8::* is 2001:db8::/32. IPv4-mapped entries (::ffff:10.0.0.0/104) are\n"
"the IPv4 networks they map.\n"
"\n"
"Every entry is checked before any is applied: one bad entry, and nothing\n"
"changes.\n"
"\n"
"      --format FMT     list as text (default) or json\n"
"  -j, --json           same as --format json\n"
TM_COMMON_HELP
"\n"
"Exit status: 0 success, 1 failure or nothing loaded, 2 bad usage or entry.\n");
}

static int list(const struct opts *o, const struct tm_pins *p)
{
	struct tm_masks m = {};
	struct tm_doc d;
	char net[64];
	size_t i;
	int err;

	err = tm_masks_read(p->root, p->fd[TM_MAP_MASKS], &m);
	if (err)
		return err;
	/* One CIDR a line, or one JSON array. */
	tm_doc_init(&d, stdout, o->json);
	tm_doc_arr(&d, NULL);
	for (i = 0; i < m.n; i++) {
		tm_cidr_format(&m.v[i], net, sizeof(net));
		tm_doc_str(&d, NULL, "%s\n", net);
	}
	tm_doc_arr_end(&d);
	tm_masks_free(&m);
	if (fflush(stdout) && errno != EPIPE)
		return -errno;
	return 0;
}

/*
 * add and del: every entry checked, and for del present, before the list
 * changes; then the list as it will be, put in place whole.
 */
static int edit(struct tm_pins *p, const struct tm_masks *args, bool del, bool finished)
{
	struct tm_masks have = {}, after = {};
	size_t i;
	int err, missing = 0, added, removed;

	err = tm_masks_read(p->root, p->fd[TM_MAP_MASKS], &have);
	for (i = 0; !err && i < have.n; i++)
		if (!del || !tm_masks_has(args, &have.v[i]))
			err = tm_masks_append(&after, &have.v[i]);
	for (i = 0; !err && i < args->n; i++) {
		if (!del)
			err = tm_masks_append(&after, &args->v[i]);
		else if (!tm_masks_has(&have, &args->v[i]))
			missing++;
	}
	/* A del an interrupted run of itself had done: it is done. */
	if (!err && del && finished && missing == (int)args->n) {
		tm_err("note: none of those is in the list: the edit that was interrupted had "
		       "taken them out");
		missing = 0;
	}
	for (i = 0; !err && missing && i < args->n; i++)
		if (!tm_masks_has(&have, &args->v[i])) {
			char net[64];

			tm_cidr_format(&args->v[i], net, sizeof(net));
			tm_err("'%s': not in the list", net);
		}
	if (!err && missing)
		err = -TM_EUSAGE;
	tm_masks_normalize(&after);
	if (!err)
		err = tm_masks_install(p->root, p->fd[TM_MAP_MASKS], p->control, &after, &added, &removed);
	tm_masks_free(&have);
	tm_masks_free(&after);
	return err;
}

static int replace(struct tm_pins *p, const struct tm_masks *want, const char *what)
{
	int added, removed, err;

	err = tm_masks_install(p->root, p->fd[TM_MAP_MASKS], p->control, want, &added, &removed);
	if (!err)
		fprintf(stderr, "tm-mask: %s: %zu entr%s (%d added, %d removed)\n", what,
			want->n, want->n == 1 ? "y" : "ies", added, removed);
	return err;
}

enum { CMD_ADD, CMD_DEL, CMD_LIST, CMD_FLUSH, CMD_LOAD, CMD_MAX };

static const char *const cmd_names[CMD_MAX] = { "add", "del", "list", "flush", "load" };

static int run(const struct opts *o, const char *cmd, char **args, int nargs)
{
	struct tm_masks m = {};
	struct tm_pins pins;
	bool is_list, is_flush, is_add, is_del, is_load, interrupted;
	int err, which;

	/* Check the words and every entry before touching the pins. */
	if (tm_pick("command", cmd, cmd_names, CMD_MAX, &which))
		return -TM_EUSAGE;
	is_list = which == CMD_LIST;
	is_flush = which == CMD_FLUSH;
	is_add = which == CMD_ADD;
	is_del = which == CMD_DEL;
	is_load = which == CMD_LOAD;
	if (((is_list || is_flush) && nargs) || (is_load && nargs != 1) ||
	    ((is_add || is_del) && !nargs)) {
		tm_usage_err("%s: %s", cmd, is_load ? "takes one FILE" :
			     (is_list || is_flush) ? "takes no argument" : "needs at least one ENTRY");
		return -TM_EUSAGE;
	}
	if (o->json && !is_list) {
		tm_usage_err("--json goes with list");
		return -TM_EUSAGE;
	}
	if (is_add || is_del)
		err = tm_masks_parse_args(args, nargs, &m);
	else if (is_load)
		err = tm_masks_parse_file(args[0], &m);
	else
		err = 0;
	if (err)
		goto out;

	err = tm_pins_open(&pins, o->pin_root);
	if (err)
		goto out;
	if (!is_list)
		err = tm_lock(pins.root, &pins.lock_fd);
	/* An edit killed half-way is finished by the next: said, once. */
	interrupted = !err && !is_list && tm_masks_interrupted(pins.control);
	if (interrupted)
		tm_err("note: an earlier edit of the list was interrupted; the list is whole "
		       "(as it left it), and an edit that goes through finishes it");
	if (!err) {
		if (is_list)
			err = list(o, &pins);
		else if (is_add || is_del)
			err = edit(&pins, &m, is_del, interrupted);
		else
			err = replace(&pins, &m, is_load ? args[0] : "flushed");
	}
	tm_pins_close(&pins);
out:
	tm_masks_free(&m);
	return err;
}

static const struct option longopts[] = {
	{ "format", required_argument, NULL, TM_OPT_OWN },
	{ "json", no_argument, NULL, 'j' },
	TM_COMMON_OPTIONS,
	{}
};

/* An option of the list's format: before the command or after list. */
static int format_opt(struct opts *o, int c, const char *arg)
{
	if (c == 'j') {
		o->json = true;
		return 0;
	}
	return tm_pick_text_json("--format", arg, &o->json);
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int c, err;

	tm_init("tm-mask");
	/* "+": options end at the command, so entries like -1 are entries. */
	while ((c = getopt_long(argc, argv, "+jvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
		case TM_OPT_OWN:
			err = format_opt(&o, c, optarg);
			if (err)
				return tm_exit_code(err);
			break;
		default:
			err = tm_common_opt(c, optarg, &o.pin_root, usage);
			if (err)
				return tm_exit_code(err);
			break;
		}
	}
	if (optind == argc) {
		tm_usage_err("a command is needed: add, del, list, flush or load");
		return TM_EXIT_USAGE;
	}
	/* list --json, list --format FMT: the list's options after it too. */
	if (!strcmp(argv[optind], "list")) {
		int at = optind;

		optind++;
		while ((c = getopt_long(argc, argv, "+j", longopts, NULL)) != -1) {
			err = c == 'j' || c == TM_OPT_OWN ? format_opt(&o, c, optarg) :
				tm_common_opt('?', NULL, &o.pin_root, usage);
			if (err)
				return tm_exit_code(err);
		}
		/* What is left, after list: unexpected, as before. */
		memmove(argv + at + 1, argv + optind, (argc - optind) * sizeof(*argv));
		argc -= optind - at - 1;
		optind = at;
	}
	tm_stdout_line_buffered();
	return tm_exit_code(run(&o, argv[optind], argv + optind + 1, argc - optind - 1));
}
