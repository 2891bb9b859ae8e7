// SPDX-License-Identifier: GPL-2.0
/*
 * What tm-load reads of the running kernel: its HZ, and whether a kernel
 * function exists. (The ways a load may take are in ways.c.)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <zlib.h>

#include "kernel.h"

/*
 * CONFIG_HZ=N in the kernel's configuration, where the host keeps it: in
 * /boot, as distributions ship it, or built in (IKCONFIG) as
 * /proc/config.gz. zlib reads either, compressed or not.
 */
static unsigned int hz_from_config(const char *path)
{
	unsigned int hz = 0;
	char line[256];
	gzFile f = gzopen(path, "rb");

	if (!f)
		return 0;
	while (!hz && gzgets(f, line, sizeof(line)))
		if (sscanf(line, "CONFIG_HZ=%u", &hz) != 1)
			hz = 0;
	gzclose(f);
	return hz;
}

/* jiffies and the monotonic clock, as /proc/timer_list gives them. */
static int timer_list(unsigned long long *jiffies, unsigned long long *now)
{
	char line[256];
	int got = 0;
	FILE *f = fopen("/proc/timer_list", "re");

	if (!f)
		return -errno;
	while (got != 3 && fgets(line, sizeof(line), f)) {
		if (!(got & 1) && sscanf(line, "now at %llu nsecs", now) == 1)
			got |= 1;
		else if (!(got & 2) && sscanf(line, "jiffies: %llu", jiffies) == 1)
			got |= 2;
	}
	fclose(f);
	return got == 3 ? 0 : -ENOENT;
}

/*
 * Without the configuration, HZ is measured: jiffies against the clock
 * over 150 ms (a jiffy's step is at most 7% of that), taken as the HZ a
 * kernel may have that is nearest, when within 15% of it.
 */
static unsigned int hz_measured(void)
{
	static const unsigned int known[] = { 100, 250, 300, 1000 };
	unsigned long long j0, t0, j1, t1;
	struct timespec d = { 0, 150 * 1000 * 1000 };
	unsigned int best = 0;
	double rate;
	size_t i;

	if (timer_list(&j0, &t0))
		return 0;
	nanosleep(&d, NULL);
	if (timer_list(&j1, &t1) || t1 <= t0)
		return 0;
	rate = (double)(j1 - j0) * 1e9 / (double)(t1 - t0);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (rate > known[i] * 0.85 && rate < known[i] * 1.15 &&
		    (!best || fabs(rate - known[i]) < fabs(rate - best)))
			best = known[i];
	return best;
}

unsigned int tm_kernel_hz(const char **how)
{
	char path[128];
	struct utsname u;
	unsigned int hz = 0;

	if (!uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		hz = hz_from_config(path);
	}
	if (!hz)
		hz = hz_from_config("/proc/config.gz");
	*how = "the kernel's configuration";
	if (!hz) {
		hz = hz_measured();
		*how = hz ? "measured" : "unknown: the programs read the clock";
	}
	return hz;
}

bool tm_kernel_has_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool found;

	if (!btf)
		return false;
	found = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}
