// SPDX-License-Identifier: GPL-2.0
/* Messages, exit codes and privilege checks shared by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>

#include "tm.h"

const char *tm_prog = "tm";
int tm_verbose;

/* libbpf explains every failure at length; that is for -v only. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!tm_verbose || (level == LIBBPF_DEBUG && tm_verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
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

const char *tm_priv_hint(int err)
{
	if (err == -EPERM || err == -EACCES)
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
