// SPDX-License-Identifier: GPL-2.0
/*
 * A configuration file of a command's long options: "SETTING VALUE" a
 * line, SETTING a long option without its dashes that takes a value;
 * blank lines and # comments. Read whole before anything is done; a bad
 * line names its file and line. The values are kept for the life of the
 * command (options point into them).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

#define CONFIG_MAX_SIZE (1 << 20)

/* The settings of the file: options with a value, other than those c leaves out. */
static const struct option *setting(const struct tm_config *c, const char *key)
{
	const struct option *opt;
	const int *no;

	for (opt = c->longopts; opt->name; opt++) {
		if (strcmp(opt->name, key) || opt->has_arg != required_argument)
			continue;
		for (no = c->not; *no && *no != opt->val; no++)
			;
		return *no ? NULL : opt;
	}
	return NULL;
}

/* "a, b or c": every setting, for the message of a line that names none. */
static void settings(const struct tm_config *c, char *buf, size_t len)
{
	const struct option *opt;
	size_t n = 0;

	buf[0] = 0;
	for (opt = c->longopts; opt->name && n < len; opt++)
		if (setting(c, opt->name) == opt)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", opt->name);
}

/* A copy of a setting's value, freed with the configuration. */
static int keep_value(struct tm_config *c, char **val)
{
	char **v = realloc(c->values, (c->nvalues + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->values = v;
	v[c->nvalues] = strdup(*val);
	if (!v[c->nvalues])
		return -ENOMEM;
	*val = v[c->nvalues++];
	return 0;
}

/*
 * Only a regular file, read without waiting (a FIFO would block the boot),
 * of a sane size, holding text: anything else is refused before a line of
 * it applies.
 */
static FILE *open_config(const struct tm_config *c, const char *path)
{
	struct stat st;
	int fd = tm_open_file(path, &st);
	FILE *f;

	if (fd == -TM_ENOTFILE) {
		tm_err("%s: not a regular file (%s); %s", path, tm_file_kind(st.st_mode), c->nothing);
		return NULL;
	}
	if (fd < 0) {
		tm_err("cannot read %s: %s", path, strerror(-fd));
		return NULL;
	}
	if (st.st_size > CONFIG_MAX_SIZE) {
		tm_err("%s: larger than %d MiB: not a %s configuration; %s", path,
		       CONFIG_MAX_SIZE >> 20, tm_prog, c->nothing);
	} else if ((f = fdopen(fd, "re"))) {
		return f;
	} else {
		tm_err("cannot read %s: %s", path, strerror(errno));
	}
	close(fd);
	return NULL;
}

/* A line's setting and value, blanks and the comment cut off; NULL key: none. */
static void split_line(char *line, char **key, char **val)
{
	char *end = line + strcspn(line, "#\n");

	/* A line of a file written on Windows ends in CR LF. */
	if (*end == '\n' && end > line && end[-1] == '\r')
		end--;
	*end = 0;
	*key = line + strspn(line, " \t");
	*val = *key + strcspn(*key, " \t");
	if (**val)
		*(*val)++ = 0;
	*val += strspn(*val, " \t");
	for (end = *val + strlen(*val); end > *val && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = 0;
	if (!**key)
		*key = NULL;
}

/* Whether s holds a control character (a tab between words is a blank). */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

/* One line of the file: 0, or -TM_EUSAGE said with its place. */
static int read_line(struct tm_config *c, const char *path, size_t lineno, char *line)
{
	char *key, *val, list[256];
	const struct option *opt;
	int err;

	split_line(line, &key, &val);
	if (!key)
		return 0;
	if (has_control(key) || has_control(val)) {
		const char *bad = has_control(key) ? key : val;
		char shown[256];

		tm_err("%s:%zu: '%s': a control character: not text", path, lineno,
		       tm_shown(bad, strlen(bad), shown, sizeof(shown)));
		return -TM_EUSAGE;
	}
	opt = setting(c, key);
	if (!opt || !*val) {
		settings(c, list, sizeof(list));
		if (!opt)
			tm_err("%s:%zu: not a setting of %s (%s)", path, lineno, tm_prog, list);
		else
			tm_err("%s:%zu: a setting needs a value", path, lineno);
		return -TM_EUSAGE;
	}
	if (c->skip && c->skip(opt->val, c->ctx)) {
		tm_err("note: %s:%zu: %s %s", path, lineno, key, c->skipped);
		return 0;
	}
	err = keep_value(c, &val);
	if (!err)
		err = c->apply(c->ctx, opt->val, val);
	if (err)
		tm_err("(in %s, line %zu)", path, lineno);
	return err;
}

int tm_config_read(struct tm_config *c, const char *path)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0, total = 0;
	ssize_t len;
	int err = 0;
	FILE *f = open_config(c, path);

	if (!f)
		return -TM_EUSAGE;
	while (!err && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		total += len;
		if (memchr(line, 0, len) || total > CONFIG_MAX_SIZE) {
			tm_err("%s:%zu: %s; %s", path, lineno,
			       total > CONFIG_MAX_SIZE ? "the file grew past 1 MiB" :
							 "a NUL byte: not text", c->nothing);
			err = -TM_EUSAGE;
			break;
		}
		err = read_line(c, path, lineno, line);
	}
	if (!err && ferror(f)) {
		tm_err("cannot read %s: %s", path, strerror(errno));
		err = -TM_EUSAGE;
	}
	free(line);
	fclose(f);
	return err;
}

void tm_config_free(struct tm_config *c)
{
	while (c->nvalues)
		free(c->values[--c->nvalues]);
	free(c->values);
	c->values = NULL;
}
