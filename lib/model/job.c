// SPDX-License-Identifier: GPL-2.0
/*
 * What job a cgroup is, read from its path: the schedulers and container
 * managers each make cgroups of a shape of their own, and a job's cgroup
 * (with all below it) is the job. The site's own rules (TM_JOB_RULES_FILE:
 * "KIND PATTERN" a line) are tried first, then these, in this order:
 *
 *   slurm    [NODE_]slurmstepd.scope/job_ID[/step_S[/user/task_T]] (cgroup
 *            v2); in its place sSLUID, the job's 14-character SLUID, which
 *            Slurm 26.05 names job directories by unless cgroup.conf says
 *            CgroupJobIdPaths=yes (the job is then named by its SLUID, which
 *            Slurm's commands take for a job id, and the Prolog's record
 *            gives the ledger its number); slurm[_NODE]/uid_U/job_ID
 *            [/step_S[/task_T]] (Slurm's v1 layout, which tm's SPANK plugin
 *            makes on hybrid hosts)
 *   pod      kubepods...: a pod directory (systemd driver:
 *            kubepods[-QOS]-pod<UID with _>.slice; cgroupfs: pod<UID>), and
 *            below it the container's (cri-containerd-ID.scope, crio-ID.scope,
 *            docker-ID.scope; cgroupfs: ID)
 *   docker   docker-ID.scope; docker/ID
 *   podman   libpod-ID.scope (rootful or rootless; not libpod-conmon-ID)
 *   machine  systemd-nspawn@NAME.service; machine-NAME.scope (machined)
 *   session  session-N.scope (a login)
 *   service  the last NAME.service on the path (a user's own under user@UID)
 *
 * A uid is read where the path says it (user-UID.slice, uid_U). The kinds
 * a system daemon makes (slurm, pod, docker, machine) are not taken below
 * a user@UID.service: that is the user's own tree, where they may make
 * any name, and a user must not pass their traffic off as someone's job.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

#define MAX_PARTS	128

/* The path's parts: each a pointer into it and a length. */
struct parts {
	const char *p[MAX_PARTS];
	size_t len[MAX_PARTS];
	size_t n;
	const char *path;
};

static void split(const char *path, struct parts *s)
{
	const char *c = path, *e;

	s->n = 0;
	s->path = path;
	while (*c && s->n < MAX_PARTS) {
		while (*c == '/')
			c++;
		if (!*c)
			break;
		e = strchr(c, '/');
		if (!e)
			e = c + strlen(c);
		s->p[s->n] = c;
		s->len[s->n++] = e - c;
		c = e;
	}
}

static bool is(const struct parts *s, size_t i, const char *lit)
{
	return s->len[i] == strlen(lit) && !memcmp(s->p[i], lit, s->len[i]);
}

/* Part i begins with pre and ends with suf, with something between: its start and length. */
static bool between(const struct parts *s, size_t i, const char *pre, const char *suf,
		    const char **mid, size_t *len)
{
	size_t a = strlen(pre), b = strlen(suf);

	if (s->len[i] <= a + b || memcmp(s->p[i], pre, a) ||
	    memcmp(s->p[i] + s->len[i] - b, suf, b))
		return false;
	*mid = s->p[i] + a;
	*len = s->len[i] - a - b;
	return true;
}

static bool all_of(const char *p, size_t n, int (*cls)(int))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!cls((unsigned char)p[i]))
			return false;
	return n > 0;
}

static int is_hex(int c)
{
	return isdigit(c) || (c >= 'a' && c <= 'f');
}

static int is_digit(int c)
{
	return isdigit(c);
}

/* Crockford's base 32, in which Slurm writes a SLUID: no I, L, O or U. */
static int is_base32(int c)
{
	return isdigit(c) || (c >= 'A' && c <= 'Z' && !strchr("ILOU", c));
}

bool tm_job_is_sluid(const char *s, size_t len)
{
	return len == TM_SLUID_LEN && s[0] == 's' && all_of(s + 1, len - 1, is_base32);
}

/* A field of j from len bytes at p; false if it does not fit (not taken). */
static bool put(char *field, size_t size, const char *p, size_t len)
{
	if (len >= size)
		return false;
	memcpy(field, p, len);
	field[len] = '\0';
	return true;
}

/* The job's own cgroup ends with part i. */
static void ends_at(struct tm_job *j, const struct parts *s, size_t i)
{
	j->len = s->p[i] + s->len[i] - s->path;
}

static bool number(const char *p, size_t len, int64_t *v)
{
	char buf[24];

	if (!all_of(p, len, is_digit) || len > 18)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	*v = strtoll(buf, NULL, 10);
	return true;
}

/* user-UID.slice and user@UID.service before part end say whose tree it is. */
static void uid_of(const struct parts *s, size_t end, struct tm_job *j, bool *delegated)
{
	const char *m;
	size_t i, len;
	int64_t uid;

	*delegated = false;
	for (i = 0; i < end; i++) {
		if (between(s, i, "user-", ".slice", &m, &len) && number(m, len, &uid))
			j->uid = uid;
		if (between(s, i, "user@", ".service", &m, &len) && number(m, len, &uid)) {
			j->uid = uid;
			*delegated = true;
		}
	}
}

static bool slurm(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, k, len;
	int64_t uid;

	for (i = 0; i + 1 < s->n; i++) {
		bool v2 = is(s, i, "slurmstepd.scope") ||
			  (s->len[i] > 17 && between(s, i, "", "_slurmstepd.scope", &m, &len));
		bool v1 = is(s, i, "slurm") || between(s, i, "slurm_", "", &m, &len);

		if (!v2 && !v1)
			continue;
		k = i + 1;
		if (v1 && k < s->n && between(s, k, "uid_", "", &m, &len) && number(m, len, &uid))
			j->uid = uid, k++;
		if (k < s->n && v2 && tm_job_is_sluid(s->p[k], s->len[k]))
			m = s->p[k], len = s->len[k];
		else if (k >= s->n || !between(s, k, "job_", "", &m, &len))
			continue;
		if (!put(j->id, sizeof(j->id), m, len))
			continue;
		strcpy(j->kind, "slurm");
		ends_at(j, s, k);
		if (++k < s->n && between(s, k, "step_", "", &m, &len))
			put(j->step, sizeof(j->step), m, len);
		else
			return true;
		/* v2: step_S/user/task_T; v1: step_S/task_T */
		if (++k < s->n && v2 && is(s, k, "user"))
			k++;
		if (k < s->n && between(s, k, "task_", "", &m, &len))
			put(j->task, sizeof(j->task), m, len);
		return true;
	}
	return false;
}

/* A container's ID in a part of a runtime's shape. */
static bool container_id(const struct parts *s, size_t i, const char **id, size_t *len)
{
	static const char *const pre[] = { "cri-containerd-", "crio-", "docker-", "containerd-",
					   NULL };
	const char *const *p;

	for (p = pre; *p; p++)
		if (between(s, i, *p, ".scope", id, len) && all_of(*id, *len, is_hex))
			return true;
	*id = s->p[i];
	*len = s->len[i];
	return *len == 64 && all_of(*id, *len, is_hex);
}

static bool kubernetes(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, len, k;
	bool under = false;

	for (i = 0; i < s->n; i++) {
		if (!under) {
			under = s->len[i] >= 8 && (!memcmp(s->p[i], "kubepods", 8) ||
				memmem(s->p[i], s->len[i], "-kubepods", 9));
			continue;
		}
		/* systemd: ...-pod<UID>.slice, the UID's dashes as _; cgroupfs: pod<UID> */
		if (s->len[i] > 10 && !memcmp(s->p[i] + s->len[i] - 6, ".slice", 6)) {
			const char *pod = memmem(s->p[i], s->len[i], "-pod", 4);

			if (!pod)
				continue;
			m = pod + 4;
			len = s->p[i] + s->len[i] - 6 - m;
		} else if (!between(s, i, "pod", "", &m, &len)) {
			continue;
		}
		if (len < 8 || !put(j->id, sizeof(j->id), m, len))
			continue;
		for (k = 0; j->id[k]; k++)
			if (j->id[k] == '_')
				j->id[k] = '-';
		strcpy(j->kind, "pod");
		ends_at(j, s, i);
		if (i + 1 < s->n && container_id(s, i + 1, &m, &len))
			put(j->container, sizeof(j->container), m, len);
		return true;
	}
	return false;
}

static bool containers(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, len;

	for (i = 0; i < s->n; i++) {
		if (between(s, i, "docker-", ".scope", &m, &len) && all_of(m, len, is_hex))
			strcpy(j->kind, "docker");
		else if (is(s, i, "docker") && i + 1 < s->n && container_id(s, i + 1, &m, &len))
			strcpy(j->kind, "docker"), i++;
		else if (between(s, i, "libpod-", ".scope", &m, &len) && all_of(m, len, is_hex))
			strcpy(j->kind, "podman");
		else
			continue;
		if (!put(j->id, sizeof(j->id), m, len))
			return false;
		ends_at(j, s, i);
		return true;
	}
	return false;
}

/* systemd's unit-name escapes (\x2d is '-') undone. */
static bool unescaped(char *field, size_t size, const char *p, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '\\' && i + 3 < len && p[i + 1] == 'x' && isxdigit((unsigned char)p[i + 2]) &&
		    isxdigit((unsigned char)p[i + 3])) {
			char hex[3] = { p[i + 2], p[i + 3], 0 };

			c = (char)strtol(hex, NULL, 16);
			i += 3;
		}
		if (o + 1 >= size)
			return false;
		field[o++] = c;
	}
	field[o] = '\0';
	return o > 0;
}

static bool machine(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, len;

	for (i = 0; i < s->n; i++)
		if ((between(s, i, "systemd-nspawn@", ".service", &m, &len) ||
		     between(s, i, "machine-", ".scope", &m, &len)) &&
		    unescaped(j->id, sizeof(j->id), m, len)) {
			strcpy(j->kind, "machine");
			ends_at(j, s, i);
			return true;
		}
	return false;
}

static bool session(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, len;

	for (i = 0; i < s->n; i++)
		if (between(s, i, "session-", ".scope", &m, &len) &&
		    put(j->id, sizeof(j->id), m, len)) {
			strcpy(j->kind, "session");
			ends_at(j, s, i);
			return true;
		}
	return false;
}

static bool service(const struct parts *s, struct tm_job *j)
{
	const char *m;
	size_t i, len;

	for (i = s->n; i-- > 0;)
		if (between(s, i, "", ".service", &m, &len) && put(j->id, sizeof(j->id), s->p[i],
								     s->len[i])) {
			strcpy(j->kind, "service");
			ends_at(j, s, i);
			return true;
		}
	return false;
}

/* ---- site rules ---- */

static const char *const rule_fields[] = { "id", "step", "task", "uid", NULL };

/* Where field f of a match goes. */
static char *field_of(struct tm_job *j, int f, size_t *size)
{
	static char uid[24];

	switch (f) {
	case 0: *size = sizeof(j->id); return j->id;
	case 1: *size = sizeof(j->step); return j->step;
	case 2: *size = sizeof(j->task); return j->task;
	default: *size = sizeof(uid); return uid;
	}
}

/* The field named at p ("{name}"), its index and length; -1 if none. */
static int field_at(const char *p, size_t *skip)
{
	const char *e = strchr(p, '}');
	int f;

	if (*p != '{' || !e)
		return -1;
	for (f = 0; rule_fields[f]; f++)
		if ((size_t)(e - p - 1) == strlen(rule_fields[f]) &&
		    !memcmp(p + 1, rule_fields[f], e - p - 1)) {
			*skip = e - p + 1;
			return f;
		}
	return -1;
}

struct capture {
	int f;
	const char *p;
	size_t len;
};

struct caps {
	struct capture v[8];
	int n;
};

/* One pattern part (up to its '/' or end) against text[0..len): *, {field}, literal. */
static bool part_match(const char *pat, const char *text, size_t len, struct caps *c)
{
	size_t skip, k;
	int f;

	if (!*pat || *pat == '/')
		return len == 0;
	if (*pat == '*') {
		for (k = 0; k <= len; k++)
			if (part_match(pat + 1, text + k, len - k, c))
				return true;
		return false;
	}
	f = field_at(pat, &skip);
	if (f >= 0) {
		if (c->n >= (int)(sizeof(c->v) / sizeof(c->v[0])))
			return false;
		for (k = 1; k <= len; k++) {
			int n = c->n;

			c->v[c->n++] = (struct capture){ f, text, k };
			if (part_match(pat + skip, text + k, len - k, c))
				return true;
			c->n = n;
		}
		return false;
	}
	return len && *pat == *text && part_match(pat + 1, text + 1, len - 1, c);
}

/* The pattern from pat against parts i.. of s: true with *end the parts it took. */
static bool rule_match(const char *pat, const struct parts *s, size_t i, struct caps *c,
		       size_t *end)
{
	const char *next;
	size_t k;
	int n = c->n;

	while (*pat == '/')
		pat++;
	if (!*pat) {
		*end = i;
		return true;
	}
	next = strchr(pat, '/');
	next = next ? next : pat + strlen(pat);
	if (next - pat == 2 && !memcmp(pat, "**", 2)) {
		for (k = i; k <= s->n; k++)
			if (rule_match(next, s, k, c, end))
				return true;
		return false;
	}
	if (i < s->n && part_match(pat, s->p[i], s->len[i], c) &&
	    rule_match(next, s, i + 1, c, end))
		return true;
	c->n = n;
	return false;
}

static bool site(const struct parts *s, const struct tm_job_rules *r, struct tm_job *j)
{
	size_t i, end, size;
	int k;

	for (i = 0; r && i < r->n; i++) {
		struct caps c = { .n = 0 };
		struct tm_job t = { .uid = -1 };

		if (!rule_match(r->v[i].pattern, s, 0, &c, &end) || !end)
			continue;
		for (k = 0; k < c.n; k++) {
			char *field = field_of(&t, c.v[k].f, &size);

			if (!put(field, size, c.v[k].p, c.v[k].len))
				break;
			if (c.v[k].f == 3 && !number(c.v[k].p, c.v[k].len, &t.uid))
				break;
		}
		if (k < c.n || !t.id[0])
			continue;
		snprintf(t.kind, sizeof(t.kind), "%s", r->v[i].kind);
		ends_at(&t, s, end - 1);
		*j = t;
		return true;
	}
	return false;
}

/* How many of s's parts the job's own cgroup takes. */
static size_t parts_of(const struct parts *s, const struct tm_job *j)
{
	size_t n = 0;

	while (n < s->n && (size_t)(s->p[n] + s->len[n] - s->path) <= j->len)
		n++;
	return n;
}

static void none(struct tm_job *j)
{
	memset(j, 0, sizeof(*j));
	j->uid = -1;
}

/*
 * The job the cgroup at path (relative to the cgroup v2 mount, as
 * tm_names_cgroup gives it) is in, by the site's rules (NULL: none) and
 * then tm's; false if none says.
 */
bool tm_job_of(const char *path, const struct tm_job_rules *rules, struct tm_job *j)
{
	static bool (*const kinds[])(const struct parts *, struct tm_job *) = {
		slurm, kubernetes, containers, machine, session, service,
	};
	struct parts s;
	bool delegated;
	size_t i;

	none(j);
	split(path, &s);
	if (site(&s, rules, j))
		return true;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		none(j);
		if (!kinds[i](&s, j))
			continue;
		uid_of(&s, parts_of(&s, j), j, &delegated);
		/* In a user's own tree only what runs rootless there. */
		if (delegated && (kinds[i] == slurm || kinds[i] == kubernetes || kinds[i] == machine))
			continue;
		return true;
	}
	none(j);
	return false;
}

/* How many of s's first characters a kind may have: a-z, 0-9, - and _. */
size_t tm_job_kind_span(const char *s)
{
	size_t k;

	for (k = 0; s[k]; k++)
		if (!islower((unsigned char)s[k]) && !isdigit((unsigned char)s[k]) &&
		    s[k] != '-' && s[k] != '_')
			break;
	return k;
}

/* A kind is a short word; a pattern's fields are known ones, {id} among them. */
static int rule_check(const char *kind, const char *pat, char *why, size_t len)
{
	const char *p;
	size_t skip, k = tm_job_kind_span(kind);
	bool id = false;

	if (kind[k] || !k || k >= sizeof(((struct tm_job *)0)->kind)) {
		snprintf(why, len, "the kind must be 1 to %zu of a-z, 0-9, - and _",
			 sizeof(((struct tm_job *)0)->kind) - 1);
		return -1;
	}
	for (p = pat; *p; p++) {
		int f;

		if (*p == '}') {
			snprintf(why, len, "a } with no {");
			return -1;
		}
		if (*p != '{')
			continue;
		f = field_at(p, &skip);
		if (f < 0) {
			snprintf(why, len, "a field must be {id}, {step}, {task} or {uid}");
			return -1;
		}
		id |= f == 0;
		p += skip - 1;
		if (p[1] == '{' || p[1] == '*') {
			snprintf(why, len, "a field must not be followed by another or by *");
			return -1;
		}
	}
	if (!id) {
		snprintf(why, len, "no {id} in the pattern");
		return -1;
	}
	return 0;
}

int tm_job_rule_add(struct tm_job_rules *r, const char *kind, const char *pattern, char *why,
		    size_t len)
{
	struct tm_job_rule *v;

	if (rule_check(kind, pattern, why, len))
		return -TM_EUSAGE;
	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	snprintf(v[r->n].kind, sizeof(v[r->n].kind), "%s", kind);
	v[r->n].pattern = strdup(pattern);
	if (!v[r->n].pattern)
		return -ENOMEM;
	r->n++;
	return 0;
}

/*
 * The site's rules from path, "KIND PATTERN" a line (blank lines and #
 * comments aside). No file: no rules. A bad line is an error naming it.
 */
int tm_job_rules_read(const char *path, struct tm_job_rules *r)
{
	char line[1024], why[128], shown[256];
	struct stat st;
	FILE *f;
	int fd, no = 0, err = 0;

	memset(r, 0, sizeof(*r));
	fd = tm_open_file(path, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		tm_err("%s: %s", path, fd == -TM_ENOTFILE ? tm_file_kind(st.st_mode) :
		       strerror(-fd));
		return fd;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *kind, *pat, *rest, *c;

		no++;
		line[strcspn(line, "\r\n")] = '\0';
		for (c = line; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				break;
		kind = line + strspn(line, " \t");
		if (!*kind || *kind == '#')
			continue;
		if (*c) {
			tm_err("%s:%d: '%s': a control character: not text", path, no,
			       tm_shown(line, strlen(line), shown, sizeof(shown)));
			err = -EINVAL;
			break;
		}
		pat = kind + strcspn(kind, " \t");
		if (*pat)
			*pat++ = '\0';
		pat += strspn(pat, " \t");
		rest = pat + strcspn(pat, " \t");
		if (*rest)
			*rest++ = '\0';
		rest += strspn(rest, " \t");
		if (!*pat || *rest) {
			tm_err("%s:%d: want KIND PATTERN", path, no);
			err = -EINVAL;
			break;
		}
		err = tm_job_rule_add(r, kind, pat, why, sizeof(why));
		if (err == -TM_EUSAGE)
			tm_err("%s:%d: '%s': %s", path, no,
			       tm_shown(pat, strlen(pat), shown, sizeof(shown)), why);
	}
	fclose(f);
	if (err)
		tm_job_rules_free(r);
	/* The site's file, not the command line, is wrong: a failure, not a usage error. */
	return err == -TM_EUSAGE ? -EINVAL : err;
}

void tm_job_rules_free(struct tm_job_rules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].pattern);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
