// SPDX-License-Identifier: GPL-2.0
/*
 * tm_spank.so: a SPANK plugin that gives each task of a Slurm job a cgroup
 * v2 directory of its own, in the layout Slurm's cgroup v1 plugin uses,
 *
 *	BASE/slurm/uid_U/job_N/step_S/task_T
 *
 * for hosts where Slurm's own cgroup/v2 plugin cannot run (a hybrid host:
 * cgroup v1 controllers with cgroup v2 beside them), so that tm meters
 * every job by its cgroup (lib/model/job.c reads the layout). BASE is the
 * cgroup v2 directory slurmd runs in, which must be delegated to it
 * (systemd's Delegate=yes: dist/slurm/slurmd-delegate.conf), never one
 * systemd manages; or base=DIR in plugstack.conf.
 *
 * Each task makes its directories as root, just before it runs the user's
 * program, and moves itself into its own; a step's slurmstepd removes its
 * task and step directories when the step ends, and the job's and the
 * user's once they are empty. Only numbers Slurm gives go into a path.
 * A failure is logged and the task runs all the same: a job is never
 * failed for its metering.
 *
 *	plugstack.conf: optional /usr/lib/tm/tm_spank.so [base=DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <slurm/slurm.h>
#include <slurm/spank.h>

SPANK_PLUGIN(tm, 1);

/* The cgroup v2 mount: the first cgroup2 line of mountinfo. */
static int v2_mount(char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - cgroup2 ");

		/* id parent major:minor root mountpoint ... */
		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    (size_t)snprintf(out, len, "%s", mnt) < len)
			found = 1;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

/* This process's cgroup v2 path ("0::/PATH" of /proc/self/cgroup). */
static int own_cgroup(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		found = (size_t)snprintf(out, len, "%s", line + 3) < len;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

/* The job's directory: BASE/slurm/uid_U/job_N, with its parents' ends in ends[]. */
struct where {
	char path[PATH_MAX];
	size_t ends[3];		/* BASE/slurm, .../uid_U, .../job_N */
};

static int base_dir(int ac, char **av, char *out, size_t len)
{
	char mnt[PATH_MAX], own[PATH_MAX];
	int i, err;

	for (i = 0; i < ac; i++)
		if (!strncmp(av[i], "base=", 5)) {
			if (av[i][5] != '/' || strstr(av[i], "/..") ||
			    (size_t)snprintf(out, len, "%s", av[i] + 5) >= len)
				return -EINVAL;
			return 0;
		}
	err = v2_mount(mnt, sizeof(mnt));
	if (!err)
		err = own_cgroup(own, sizeof(own));
	if (!err && (size_t)snprintf(out, len, "%s%s", mnt, strcmp(own, "/") ? own : "") >= len)
		err = -ENAMETOOLONG;
	return err;
}

static int job_dir(spank_t sp, int ac, char **av, struct where *w)
{
	char base[PATH_MAX];
	uint32_t job;
	uid_t uid;
	int n, err;

	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS)
		return -EINVAL;
	err = base_dir(ac, av, base, sizeof(base));
	if (err)
		return err;
	n = snprintf(w->path, sizeof(w->path), "%s/slurm", base);
	w->ends[0] = n;
	n += snprintf(w->path + n, sizeof(w->path) - n, "/uid_%u", (unsigned)uid);
	w->ends[1] = n;
	n += snprintf(w->path + n, sizeof(w->path) - n, "/job_%u", (unsigned)job);
	w->ends[2] = n;
	return (size_t)n < sizeof(w->path) - 64 ? 0 : -ENAMETOOLONG;
}

/* The step's name as Slurm's layout has it: batch, extern, interactive or its number. */
static int step_name(spank_t sp, char *out, size_t len)
{
	uint32_t step;

	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return -EINVAL;
	if (step == SLURM_BATCH_SCRIPT)
		snprintf(out, len, "batch");
	else if (step == SLURM_EXTERN_CONT)
		snprintf(out, len, "extern");
	else if (step == SLURM_INTERACTIVE_STEP)
		snprintf(out, len, "interactive");
	else
		snprintf(out, len, "%u", (unsigned)step);
	return 0;
}

static int make(const char *path)
{
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

/* In the task, as root, before the user's program: into task_T of its step. */
int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	struct where w;
	char step[32], procs[PATH_MAX + 64];
	size_t n, i;
	int task, fd, err;

	if (spank_context() != S_CTX_REMOTE)
		return ESPANK_SUCCESS;
	err = job_dir(sp, ac, av, &w);
	if (!err)
		err = step_name(sp, step, sizeof(step));
	if (!err && spank_get_item(sp, S_TASK_ID, &task) != ESPANK_SUCCESS)
		err = -EINVAL;
	for (i = 0; !err && i < 3; i++) {
		char c = w.path[w.ends[i]];

		w.path[w.ends[i]] = '\0';
		err = make(w.path);
		w.path[w.ends[i]] = c;
	}
	n = w.ends[2];
	if (!err) {
		n += snprintf(w.path + n, sizeof(w.path) - n, "/step_%s", step);
		err = make(w.path);
	}
	if (!err) {
		n += snprintf(w.path + n, sizeof(w.path) - n, "/task_%d", task);
		err = make(w.path);
	}
	if (!err) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", w.path);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0)
			err = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (err)
		slurm_error("tm: no cgroup v2 directory for this task (%s): %s", w.path,
			    strerror(-err));
	return ESPANK_SUCCESS;
}

/* In slurmstepd as its step ends: the step's directories, then the job's and user's if empty. */
int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	struct where w;
	char step[32];
	struct dirent *e;
	DIR *d;
	int i;

	if (spank_context() != S_CTX_REMOTE || job_dir(sp, ac, av, &w) ||
	    step_name(sp, step, sizeof(step)))
		return ESPANK_SUCCESS;
	snprintf(w.path + w.ends[2], sizeof(w.path) - w.ends[2], "/step_%s", step);
	d = opendir(w.path);
	while (d && (e = readdir(d))) {
		char task[PATH_MAX + 256];

		if (strncmp(e->d_name, "task_", 5))
			continue;
		snprintf(task, sizeof(task), "%s/%s", w.path, e->d_name);
		rmdir(task);
	}
	if (d)
		closedir(d);
	rmdir(w.path);
	/* The job's and the user's, if no other step or job is in them. */
	for (i = 2; i >= 1; i--) {
		w.path[w.ends[i]] = '\0';
		rmdir(w.path);
	}
	return ESPANK_SUCCESS;
}
