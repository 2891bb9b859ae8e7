// SPDX-License-Identifier: GPL-2.0
/* Messages, exit codes and privilege checks shared by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>

#include "base.h"

const char *tm_prog = "tm";
int tm_verbose;

/* The last program the kernel refused, as libbpf named it. */
static char refused_prog[64];

/*
 * A verifier's log ends with its reason, then its statistics: the reason
 * is the last line that is not one of those; "" if there is none.
 */
void tm_verifier_reason(const char *log, size_t len, char *out, size_t outlen)
{
	static const char *const stats[] = { "processed ", "verification time", "stack depth",
					     "max_states", "peak_states", "mark_read", "" };
	const char *end = log + len, *line;
	size_t i, n;

	out[0] = 0;
	while (end > log) {
		while (end > log && end[-1] == '\n')
			end--;
		line = end;
		while (line > log && line[-1] != '\n')
			line--;
		n = end - line;
		for (i = 0; n && stats[i][0] && strncmp(line, stats[i], strlen(stats[i])); i++)
			;
		if (n && !stats[i][0]) {
			snprintf(out, outlen, "%.*s", (int)n, line);
			return;
		}
		end = line;
	}
}

/*
 * Which program libbpf says failed: "prog 'NAME': BPF program load failed"
 * (refused, with a log or before the verifier ran) or "failed to load".
 */
static void note_refusal(const char *msg)
{
	const char *p = strstr(msg, "prog '");

	if (p && (strstr(p, "load failed") || strstr(p, "failed to load")))
		sscanf(p, "prog '%63[^']'", refused_prog);
}

void tm_bpf_refusal_clear(void)
{
	refused_prog[0] = 0;
}

const char *tm_bpf_refused_prog(void)
{
	return refused_prog;
}

/* libbpf explains every failure at length; that is for -v only. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char *msg = NULL;
	int n;

	if (level == LIBBPF_DEBUG && tm_verbose < 2)
		return 0;
	n = vasprintf(&msg, fmt, ap);
	if (n < 0)
		return 0;
	if (level == LIBBPF_WARN)
		note_refusal(msg);
	if (tm_verbose)
		fputs(msg, stderr);
	free(msg);
	return n;
}

void tm_init(const char *prog)
{
	tm_prog = prog;
	libbpf_set_print(libbpf_print);
}

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tm_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* A usage error also points at --help. */
void tm_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", tm_prog);
}

int tm_exit_code(int err)
{
	if (!err)
		return TM_EXIT_OK;
	return err == -TM_EUSAGE ? TM_EXIT_USAGE : TM_EXIT_FAIL;
}

/* Said only to a caller without the privileges: else it is not why. */
const char *tm_priv_hint(int err)
{
	if ((err == -EPERM || err == -EACCES) && !tm_has_bpf_privilege())
		return " (needs root, or CAP_BPF and CAP_NET_ADMIN)";
	return "";
}

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool tm_has_bpf_privilege(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_NET_ADMIN));
}

int tm_need_privilege(void)
{
	if (tm_has_bpf_privilege())
		return 0;
	tm_err("needs root, or CAP_BPF and CAP_NET_ADMIN");
	return -EPERM;
}
