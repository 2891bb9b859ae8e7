// SPDX-License-Identifier: GPL-2.0
/*
 * tm-stream: one line per packet, from the ring buffer the programs write
 * while a reader is registered, to stdout or to per-user files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tm.h"

#define MAX_USERS 256
#define STOP_COUNT (-ECANCELED)	/* from the event callback: --count reached */
#define LOAD_GONE (-ESTALE)	/* the load we read was unloaded */
#define POLL_MS 100		/* the longest a quiet event waits to be printed */
#define GATHER_NS 4000000	/* and a busy stream's, as a batch gathers */

struct opts {
	const char *pin_root;
	enum tm_fmt format;
	uint32_t users[MAX_USERS];
	int nusers;
	const char *output;
	uint64_t count;			/* 0: for ever */
	bool follow;			/* wait for the next load after an unload */
};

/* A user's running totals, starting from the pinned counters. */
struct user {
	uint64_t in, out;
	const char *name;
};

struct out_file {
	uint32_t uid, netns, ifindex;
	char *path;
	FILE *f;			/* NULL: could not be opened (said once) */
};

struct stream {
	const struct opts *o;
	struct tm_pins pins;
	struct tm_names names;
	struct tm_out out;
	uint64_t snap_ns;		/* events up to here are in the totals */
	struct tm_u32map users;		/* uid -> struct user */
	struct out_file *files;
	size_t nfiles, files_cap;
	uint64_t written, unwritten, lost_at_start, lost_seen, lost_before;
	bool had_load;			/* a load was read (another is told) */
	bool epipe;
	bool self;			/* a user's self-view: pins opened for it */
	bool named;			/* a column shows the cgroup, job or kind */
};

/* gone: a self-view's privileged parent says the load was unloaded. */
static volatile sig_atomic_t stop, hup, gone;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tm-stream [OPTION]...\n"
"Print one line per packet that tm counts, as it happens: JSON by default.\n"
"Packets of untracked networks are not streamed. One reader at a time.\n"
"\n"
"  -u, --user USER      only this user, by name or UID (repeatable)\n"
"      --format FMT     json (default) or csv\n"
"  -j, --json           same as --format json\n"
"  -o, --output TEMPLATE  append to per-user files instead of stdout: %%u user\n"
"                       name, %%U uid, %%i interface, %%%% a %%; readable by the\n"
"                       user and tm-load --group's group only, flushed every\n"
"                       second; SIGHUP reopens them (logrotate)\n"
"  -n, --count N        stop after N lines\n"
"      --follow         when the meter is unloaded, wait for the next load and\n"
"                       go on with it (without: exit 1 with a message)\n"
TM_COMMON_HELP
"\n"
"JSON fields: ts (wall clock, seconds.nanoseconds, to the kernel's tick: 1 to\n"
"10 ms; one socket's in order), dir (in|out), uid (null for no owner), user,\n"
"pid, comm (0 and \"?\" for sockets older than the load),\n"
"proto, family, src, sport, dst, dport (null without ports), bytes (IP length),\n"
"iface (NAME, or NAME@NS for another network namespace's), netns (its inode),\n"
"cgroup (the socket's), job and kind (its job's, as tm-stat --by job; null\n"
"outside a job), total_in, total_out (the user's bytes since tm-load).\n"
"CSV: direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out\n"
"Installed setuid, a user who is not root sees only their own events, from\n"
"" TM_DEFAULT_PIN_ROOT " (no --pin-root, no --follow), unless in tm-load --group's\n"
"group, through a ring of their own: root's tm-stream runs beside it.\n"
"\n"
"Events the ring had no room for are counted and reported on stderr.\n"
"Exit status: 0 success (also on SIGINT, SIGTERM, or a closed pipe), 1 failure,\n"
"another reader, or the meter unloaded, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_FORMAT = TM_OPT_OWN, OPT_FOLLOW };
	static const struct option longopts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		TM_COMMON_OPTIONS,
		{}
	};
	int c, err;

	while ((c = getopt_long(argc, argv, "u:jo:n:vVh", longopts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case 'u':
			err = tm_add_user(optarg, o->users, &o->nusers, MAX_USERS);
			break;
		case OPT_FORMAT:
			err = tm_parse_format("--format", optarg,
					      1u << TM_FMT_JSON | 1u << TM_FMT_CSV, &o->format);
			break;
		case 'j':
			o->format = TM_FMT_JSON;
			break;
		case 'o':
			o->output = optarg;
			err = tm_check_template(optarg, "uUi");
			break;
		case 'n':
			err = tm_parse_count("--count", optarg, &o->count);
			break;
		case OPT_FOLLOW:
			o->follow = true;
			break;
		default:
			err = tm_common_opt(c, optarg, &o->pin_root, usage);
			break;
		}
		if (err)
			return err;
	}
	return tm_no_more_args(argc, argv, optind);
}

static struct user *user_get(struct stream *s, uint32_t uid)
{
	bool fresh;
	struct user *u = tm_u32map_put(&s->users, uid, &fresh);

	if (u && fresh)
		u->name = tm_uid_name(uid);
	return u;
}

/* Totals start from what the counters hold, maps and sockets alike. */
static int add_start(struct stream *s, uint32_t uid, const struct tm_counters *c)
{
	struct user *u = user_get(s, uid);

	if (!u)
		return -ENOMEM;
	u->in += c->in_bytes;
	u->out += c->out_bytes;
	return 0;
}

static int add_snapshot(const void *key, const void *value, void *ctx)
{
	return add_start(ctx, ((const struct tm_user_key *)key)->uid, value);
}

static int add_snapshot_pending(const struct tm_pending *p, void *ctx)
{
	return p->slot.untracked ? 0 : add_start(ctx, p->slot.key.uid, &p->slot.c);
}

/* The per-user file of this event, opened on first use and kept open. */
static FILE *out_file(struct stream *s, uint32_t uid, uint32_t netns, uint32_t ifindex)
{
	char path[PATH_MAX];
	const bool by_if = strstr(s->o->output, "%i") != NULL;
	struct out_file *of;
	size_t i;

	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].uid == uid &&
		    (!by_if || (s->files[i].ifindex == ifindex && s->files[i].netns == netns)))
			return s->files[i].f;
	tm_expand_template(s->o->output, uid,
			   by_if ? tm_names_iface(&s->names, 0, netns, ifindex, NULL) : NULL,
			   path, sizeof(path));
	if (tm_grow(&s->files, &s->files_cap, s->nfiles, sizeof(s->files[0])))
		return NULL;
	of = &s->files[s->nfiles++];
	of->uid = uid;
	of->ifindex = ifindex;
	of->netns = netns;
	of->path = strdup(path);
	of->f = tm_open_output(s->o->output, path, uid, s->pins.control->admin_gid);
	if (!of->f)
		tm_err("'%s': its lines are dropped", path);
	return of->f;
}

static void close_files(struct stream *s)
{
	size_t i;

	tm_out_flush(&s->out);
	for (i = 0; i < s->nfiles; i++) {
		if (s->files[i].f && fclose(s->files[i].f))
			tm_err("cannot write '%s': %s", s->files[i].path, strerror(errno));
		free(s->files[i].path);
	}
	s->nfiles = 0;
}

static void flush_files(struct stream *s)
{
	size_t i;

	tm_out_flush(&s->out);
	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].f)
			fflush(s->files[i].f);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct tm_event *e = data;
	struct stream *s = ctx;
	struct tm_event_ctx ec = { .names = &s->names };
	struct user *u;

	if (len < sizeof(*e))
		return 0;
	u = user_get(s, e->uid);
	if (!u)
		return -ENOMEM;
	/* Older events are in the snapshot the totals started from. */
	if (e->ts_ns > s->snap_ns) {
		if (e->dir == TM_DIR_OUT)
			u->out += e->bytes;
		else
			u->in += e->bytes;
	}
	if (!tm_users_match(s->o->users, s->o->nusers, e->uid))
		return 0;
	ec.user = u->name ? u->name : "?";
	ec.total_in = u->in;
	ec.total_out = u->out;
	if (s->named)
		tm_event_names(&ec, e);
	s->out.f = stdout;
	if (s->o->output) {
		s->out.f = out_file(s, e->uid, e->netns, e->ifindex);
		if (!s->out.f) {
			s->unwritten++;
			return 0;
		}
	}
	tm_out_row(&s->out, e, &ec);
	if (s->out.f == stdout && ferror(stdout)) {
		s->epipe = errno == EPIPE;
		return s->epipe ? STOP_COUNT : -errno;
	}
	s->written++;
	if (s->o->count && s->written >= s->o->count)
		return STOP_COUNT;
	return 0;
}

/* Events the ring read had no room for (a user's: all users' own rings). */
static uint64_t lost_now(const struct stream *s)
{
	struct tm_health h;

	if (tm_health_counted(&s->pins, &h))
		return s->lost_seen + s->lost_at_start;
	return tm_health_value(&h, s->self ? TM_HEALTH_USER_EVENTS_LOST : TM_HEALTH_EVENTS_LOST);
}

/*
 * One reader of the event ring at a time: the pid goes into the control
 * map with a compare-and-swap, so two starting readers cannot both win.
 * Users' own streams never read this ring (they have rings of their own),
 * so none can keep the site's logging from starting.
 */
static int register_reader(struct stream *s)
{
	__u32 cur = 0;

	/* tm_pins_open() has cleared a dead reader's pid already. */
	if (__atomic_compare_exchange_n(&s->pins.control->reader_pid, &cur, getpid(), false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	tm_err("another tm-stream is reading (pid %u); one reader at a time", cur);
	return -EBUSY;
}

static void unregister_reader(struct stream *s)
{
	__u32 me = getpid();

	__atomic_compare_exchange_n(&s->pins.control->reader_pid, &me, 0, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else if (sig == SIGUSR1)
		gone = 1;
	else
		stop = 1;
}

static void report_lost(struct stream *s, double interval)
{
	uint64_t lost = lost_now(s) - s->lost_at_start;

	if (lost > s->lost_seen)
		tm_err("%" PRIu64 " events lost in the last %.1f s: the ring was full "
		       "(tm-load --events-size makes it larger)", lost - s->lost_seen, interval);
	s->lost_seen = lost;
}

/*
 * The ring we read is no longer the root's: unloaded, or another load. A
 * self-view cannot look (it has dropped the privilege to): its parent
 * tells it.
 */
static bool load_gone(const struct stream *s)
{
	if (s->self)
		return gone;
	return tm_pins_same_load(&s->pins) != 1;
}

/* Whoever read our stdout has gone (| head): no need to wait for an event. */
static bool stdout_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/*
 * The events of one load, until a signal, --count, a closed stdout, or the
 * load's end (LOAD_GONE). Totals start from its counters.
 */
static int read_load(struct stream *s)
{
	struct tm_ring rb = {};
	int64_t last = now_ns(CLOCK_MONOTONIC);
	int err = 0;

	/* A self-view's pins are open and its parent registered it. */
	if (!s->self)
		err = tm_pins_open(&s->pins, s->o->pin_root);
	if (err)
		return err;
	err = tm_ring_open(&rb, s->pins.fd[TM_MAP_EVENTS], on_event, s);
	if (err) {
		tm_err("cannot read the event ring: %s", strerror(-err));
		goto out;
	}
	/* Names first: the first events are not held up reading them. */
	if (s->named)
		tm_names_load(&s->names);
	if (!s->self)
		err = register_reader(s);
	if (err)
		goto out;
	if (s->had_load)
		tm_err("following the new load at %s", s->pins.root);
	s->had_load = true;
	s->lost_at_start = lost_now(s);
	s->lost_seen = 0;
	/* Totals start from the counters; events up to now are already in them. */
	tm_u32map_free(&s->users, NULL);
	s->snap_ns = now_ns(CLOCK_MONOTONIC);
	err = tm_map_for_each(s->pins.fd[TM_MAP_USERS], sizeof(struct tm_user_key),
			      sizeof(struct tm_counters), add_snapshot, s);
	if (!err)
		err = tm_pending_for_each(&s->pins, add_snapshot_pending, s);
	while (!err && !stop) {
		unsigned long was = rb.read;
		int64_t t;

		/*
		 * The programs wake us only for a batch; after the timeout,
		 * read whatever a quiet stream left.
		 */
		err = tm_ring_poll(&rb, POLL_MS);
		if (err > 0)
			err = 0;
		/*
		 * Every line read in this round goes out now, whole: read_load
		 * returns with no line held, however it ends.
		 */
		tm_out_flush(&s->out);
		if (!err && ((fflush(stdout) && errno == EPIPE) ||
			     (!s->o->output && stdout_gone()))) {
			s->epipe = true;
			err = STOP_COUNT;
		}
		if (hup) {
			hup = 0;
			close_files(s);
		}
		/*
		 * Events are coming, but slower than the ring fills: let a
		 * batch gather. A reader on the producers' heels reads each
		 * record as it is written, and every packet's event then
		 * waits on lines the reader has just taken.
		 */
		if (!err && rb.read != was && rb.read - was < (rb.mask + 1) / 8)
			nanosleep(&(struct timespec){ 0, GATHER_NS }, NULL);
		t = now_ns(CLOCK_MONOTONIC);
		if (t - last >= 1000000000) {
			report_lost(s, (t - last) / 1e9);
			flush_files(s);
			last = t;
			if (!err && load_gone(s))
				err = LOAD_GONE;
		}
	}
	if (!s->self)
		unregister_reader(s);
	if (err != LOAD_GONE)
		report_lost(s, (now_ns(CLOCK_MONOTONIC) - last) / 1e9);
	s->lost_before += s->lost_seen;
out:
	tm_ring_close(&rb);
	tm_pins_close(&s->pins);
	return err;
}

/* With --follow: until a load is at the root again (or a signal). */
static void wait_for_load(const struct stream *s)
{
	char path[PATH_MAX];
	struct tm_root r;

	if (tm_root_name(s->o->pin_root, &r) ||
	    tm_path(path, sizeof(path), r.path, tm_maps[TM_MAP_CONTROL].pin))
		return;
	while (!stop && access(path, F_OK))
		sleep(1);
}

static int stream(struct stream *s)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const struct tm_col *cols[TM_OUT_MAXCOLS];
	size_t ncols;
	int err;

	tm_names_init(&s->names, &s->pins);
	ncols = tm_event_columns(s->o->format, cols);
	s->named = tm_event_columns_named(cols, ncols);
	err = tm_out_init(&s->out, s->o->format, cols, ncols);
	if (err)
		goto out;
	s->out.lines = true;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		err = read_load(s);
		if (err != LOAD_GONE)
			break;
		fflush(stdout);
		flush_files(s);
		if (!s->o->follow) {
			tm_err("the meter at %s was unloaded", s->pins.root);
			err = -ENOENT;
			break;
		}
		tm_err("the meter at %s was unloaded; waiting for the next load", s->pins.root);
		wait_for_load(s);
		if (stop) {
			err = 0;
			break;
		}
	}
	if (err == STOP_COUNT)
		err = 0;
	if (!s->epipe && s->had_load)
		fprintf(stderr, "tm-stream: %" PRIu64 " lines written, %" PRIu64 " events lost%s\n",
			s->written, s->lost_before,
			s->unwritten ? " (and some lines not written)" : "");
out:
	close_files(s);
	tm_out_free(&s->out);
	tm_names_free(&s->names);
	if (!s->epipe && fflush(stdout) && errno != EPIPE)
		err = err ?: -errno;
	return err;
}

/* What a user's own stream may ask: their events, this load, no pin root. */
static int self_view_opts(struct opts *o, bool all)
{
	if (o->pin_root || o->follow) {
		tm_usage_err("--%s: not in a user's tm-stream (it reads %s, this load only)",
			     o->pin_root ? "pin-root" : "follow", TM_DEFAULT_PIN_ROOT);
		return -TM_EUSAGE;
	}
	return all ? 0 : tm_self_view_users(o->users, &o->nusers);
}

static volatile sig_atomic_t forward;

static void on_parent_signal(int sig)
{
	forward = sig;
}

/*
 * The privileged half of a user's tm-stream: it reads nothing the user
 * gave. It waits for the child, passes it SIGINT, SIGTERM and SIGHUP, and
 * tells it (SIGUSR1) when the load it reads is gone; then it takes the
 * user's ring out, if it is still theirs. The child's exit status is the
 * command's.
 */
static int parent_wait(pid_t child, struct tm_pins *rw, int rings, __u32 key, uint32_t ring_id)
{
	struct sigaction sa = { .sa_handler = on_parent_signal };
	struct timespec tick = { 0, 200000000 };
	bool told = false;
	int st = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(child, &st, WNOHANG) != child) {
		if (forward) {
			kill(child, forward);
			forward = 0;
		}
		if (!told && tm_pins_same_load(rw) != 1) {
			kill(child, SIGUSR1);
			told = true;
		}
		nanosleep(&tick, NULL);
	}
	tm_user_ring_drop(rw, rings, key, ring_id);
	close(rings);
	tm_pins_close(rw);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/*
 * A user's own tm-stream (installed setuid root), privilege separated as
 * plocate's updatedb is: the parent, root, opens the pins read-only and
 * makes the user a ring of their own (tm_user_ring()), then forks; the child
 * drops every privilege before it reads a single argument, and holds only
 * that ring and read-only maps. It never reads "events": it cannot take,
 * delay or block root's stream or another user's, and root's tm-stream
 * runs beside it. It prints that user's events only, unless the user is
 * in the load's admin group. Returns an exit status.
 */
static int self_view(int argc, char **argv, struct stream *s, struct opts *o)
{
	int err, ring, rings = -1;
	uint32_t ring_id = 0;
	struct tm_pins rw;
	bool all = false;
	pid_t child;
	__u32 key;

	err = tm_pins_open(&rw, TM_DEFAULT_PIN_ROOT);
	if (!err) {
		err = tm_pins_open_rdonly(&s->pins, TM_DEFAULT_PIN_ROOT);
		if (err)
			tm_pins_close(&rw);
	}
	if (!err) {
		all = tm_admin(s->pins.control);
		key = all ? TM_UID_ALL : getuid();
		ring = tm_user_ring(&rw, key, &rings, &ring_id);
		err = ring < 0 ? ring : 0;
		if (err) {
			tm_pins_close(&rw);
			tm_pins_close(&s->pins);
		} else {
			close(s->pins.fd[TM_MAP_EVENTS]);
			s->pins.fd[TM_MAP_EVENTS] = ring;
		}
	}
	if (err) {
		tm_drop_privileges();
		return tm_exit_code(err);
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		tm_err("cannot fork: %s", strerror(errno));
		tm_user_ring_drop(&rw, rings, key, ring_id);
		tm_pins_close(&rw);
		tm_drop_privileges();
		return 1;
	}
	if (child) {
		tm_pins_close(&s->pins);
		return parent_wait(child, &rw, rings, key, ring_id);
	}
	/* Unmapped and closed before the drop: the control map stays root's,
	 * and which users stream is not this user's business. */
	tm_pins_close(&rw);
	close(rings);
	close(s->pins.fd[TM_MAP_USER_RINGS]);
	s->pins.fd[TM_MAP_USER_RINGS] = -1;
	tm_drop_privileges();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() == 1)
		_exit(1);
	s->self = true;
	err = parse_args(argc, argv, o);
	if (!err)
		err = self_view_opts(o, all);
	if (!err) {
		tm_stdout_block_buffered();
		err = stream(s);
	}
	/* Closed already when a load was read; not when the options were refused. */
	tm_pins_close(&s->pins);
	tm_u32map_free(&s->users, NULL);
	free(s->files);
	return tm_exit_code(err);
}

int main(int argc, char **argv)
{
	struct opts o = { .format = TM_FMT_JSON };
	struct stream s = { .o = &o, .users = { .vsize = sizeof(struct user) } };
	int err;

	tm_init("tm-stream");
	/* Before anything the user gave is read. */
	if (tm_self_view())
		return self_view(argc, argv, &s, &o);
	err = parse_args(argc, argv, &o);
	if (!err) {
		/*
		 * Not line-buffered: stdout is flushed after each round of
		 * reading the ring, so a pipe sees every line as soon as its
		 * round is read, without a write for each line at high rates.
		 */
		tm_stdout_block_buffered();
		err = stream(&s);
	}
	tm_u32map_free(&s.users, NULL);
	free(s.files);
	return tm_exit_code(err);
}
