// SPDX-License-Identifier: GPL-2.0
/*
 * The job a cgroup path is in (lib/model/job.c): real shapes of Slurm,
 * Kubernetes, Docker, Podman, systemd-nspawn, machined, sessions and
 * services; shapes that look like one and are not; the site's rules.
 */
#include <stdio.h>
#include <string.h>

#include "tm.h"
#include "unit.h"

#define CID "4f2a1c9e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10"
#define POD "8a3c2b1d_5e6f_4a7b_9c8d_1e2f3a4b5c6d"
#define PODID "8a3c2b1d-5e6f-4a7b-9c8d-1e2f3a4b5c6d"

struct shape {
	const char *path;
	const char *want;	/* kind id step task container uid own; "" for none */
};

static const struct shape shapes[] = {
	/* Slurm, cgroup/v2 */
	{ "/system.slice/slurmstepd.scope/job_4711/step_0/user/task_0",
	  "slurm 4711 0 0 - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/slurmstepd.scope/job_4711/step_batch/user/task_0",
	  "slurm 4711 batch 0 - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/slurmstepd.scope/job_4711/step_extern/user/task_special",
	  "slurm 4711 extern special - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/slurmstepd.scope/job_4711/step_interactive/user/task_0",
	  "slurm 4711 interactive 0 - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/slurmstepd.scope/job_4711/step_12/slurm",
	  "slurm 4711 12 - - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/slurmstepd.scope/job_4711",
	  "slurm 4711 - - - - /system.slice/slurmstepd.scope/job_4711" },
	{ "/system.slice/node07_slurmstepd.scope/job_88/step_3/user/task_2",
	  "slurm 88 3 2 - - /system.slice/node07_slurmstepd.scope/job_88" },
	/* Slurm 26.05: the job directory named by the job's SLUID */
	{ "/system.slice/slurmstepd.scope/s5K1KKYAYG5D00/step_0/user/task_0",
	  "slurm s5K1KKYAYG5D00 0 0 - - /system.slice/slurmstepd.scope/s5K1KKYAYG5D00" },
	{ "/system.slice/node07_slurmstepd.scope/s0ZZ9ABCDEFGHJ/step_extern/user/task_special",
	  "slurm s0ZZ9ABCDEFGHJ extern special - - /system.slice/node07_slurmstepd.scope/s0ZZ9ABCDEFGHJ" },
	{ "/system.slice/slurmstepd.scope/job_a9f3e2c1/step_0/user/task_0",
	  "slurm a9f3e2c1 0 0 - - /system.slice/slurmstepd.scope/job_a9f3e2c1" },
	/* Slurm's v1 layout, as tm's SPANK plugin makes it in cgroup v2 */
	{ "/slurm/uid_1001/job_55/step_batch/task_0",
	  "slurm 55 batch 0 - 1001 /slurm/uid_1001/job_55" },
	{ "/system.slice/slurmd.service/slurm_node1/uid_1001/job_56/step_0",
	  "slurm 56 0 - - 1001 /system.slice/slurmd.service/slurm_node1/uid_1001/job_56" },
	/* Kubernetes, systemd driver: containerd, CRI-O, docker; each QoS */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice/cri-containerd-" CID ".scope",
	  "pod " PODID " - - " CID " - /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD ".slice/crio-" CID ".scope",
	  "pod " PODID " - - " CID " - /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD ".slice" },
	{ "/kubepods.slice/kubepods-pod" POD ".slice/docker-" CID ".scope",
	  "pod " PODID " - - " CID " - /kubepods.slice/kubepods-pod" POD ".slice" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice",
	  "pod " PODID " - - - - /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice/crio-conmon-" CID ".scope",
	  "pod " PODID " - - - - /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD ".slice" },
	/* cgroupfs driver */
	{ "/kubepods/burstable/pod" PODID "/" CID,
	  "pod " PODID " - - " CID " - /kubepods/burstable/pod" PODID },
	{ "/kubepods/pod" PODID "/" CID,
	  "pod " PODID " - - " CID " - /kubepods/pod" PODID },
	/* kind and k3s nest the kubelet's root */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD ".slice/cri-containerd-" CID ".scope",
	  "pod " PODID " - - " CID " - /kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD ".slice" },
	/* Docker: systemd and cgroupfs drivers, rootless */
	{ "/system.slice/docker-" CID ".scope", "docker " CID " - - - - /system.slice/docker-" CID ".scope" },
	{ "/docker/" CID, "docker " CID " - - - - /docker/" CID },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" CID ".scope",
	  "docker " CID " - - - 1000 /user.slice/user-1000.slice/user@1000.service/user.slice/docker-" CID ".scope" },
	/* Podman: rootful (and its container subgroup), rootless */
	{ "/machine.slice/libpod-" CID ".scope", "podman " CID " - - - - /machine.slice/libpod-" CID ".scope" },
	{ "/machine.slice/libpod-" CID ".scope/container",
	  "podman " CID " - - - - /machine.slice/libpod-" CID ".scope" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope",
	  "podman " CID " - - - 1000 /user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope" },
	/* podman's monitor is not the container: its unit, a scope, no job */
	{ "/machine.slice/libpod-conmon-" CID ".scope", "" },
	/* machines */
	{ "/machine.slice/systemd-nspawn@web.service/payload",
	  "machine web - - - - /machine.slice/systemd-nspawn@web.service" },
	{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator",
	  "machine qemu-1-vm1 - - - - /machine.slice/machine-qemu\\x2d1\\x2dvm1.scope" },
	/* logins and services */
	{ "/user.slice/user-1000.slice/session-3.scope",
	  "session 3 - - - 1000 /user.slice/user-1000.slice/session-3.scope" },
	{ "/system.slice/nginx.service", "service nginx.service - - - - /system.slice/nginx.service" },
	{ "/system.slice/system-getty.slice/getty@tty1.service",
	  "service getty@tty1.service - - - - /system.slice/system-getty.slice/getty@tty1.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
	  "service foo.service - - - 1000 /user.slice/user-1000.slice/user@1000.service/app.slice/foo.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope",
	  "service user@1000.service - - - 1000 /user.slice/user-1000.slice/user@1000.service" },
	/* a job's shape in a user's own tree is that user's service, not a job */
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/slurmstepd.scope/job_99/step_0",
	  "service user@1000.service - - - 1000 /user.slice/user-1000.slice/user@1000.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/kubepods/pod" PODID "/" CID,
	  "service user@1000.service - - - 1000 /user.slice/user-1000.slice/user@1000.service" },
	/* no job */
	{ "/", "" },
	{ "/system.slice", "" },
	{ "/init.scope", "" },
	{ "/user.slice/user-1000.slice", "" },
	{ "/system.slice/slurmstepd.scope", "" },
	{ "/system.slice/slurmstepd.scope/job_", "" },
	/* not a SLUID: slurmstepd's own cgroup, a short one, I/L/O/U, lower case, v1 */
	{ "/system.slice/slurmstepd.scope/system", "" },
	{ "/system.slice/slurmstepd.scope/s5K1KKYAYG5D0/step_0", "" },
	{ "/system.slice/slurmstepd.scope/s5K1KKYAYG5DI0/step_0", "" },
	{ "/system.slice/slurmstepd.scope/s5k1kkyayg5d00/step_0", "" },
	{ "/slurm/uid_1001/s5K1KKYAYG5D00/step_0", "" },
	{ "/docker/not-a-container", "" },
	{ "/kubepods.slice/kubepods-burstable.slice", "" },
	/* below a test's own cgroup, as the suite makes them */
	{ "/tmt1n1/system.slice/slurmstepd.scope/job_7/step_0/user/task_0",
	  "slurm 7 0 0 - - /tmt1n1/system.slice/slurmstepd.scope/job_7" },
};

static const char *or_dash(const char *s)
{
	return *s ? s : "-";
}

static const char *shown(const char *path, const struct tm_job_rules *r)
{
	static char buf[1024], uid[24];
	struct tm_job j;

	if (!tm_job_of(path, r, &j))
		return "";
	if (j.uid >= 0)
		snprintf(uid, sizeof(uid), "%lld", (long long)j.uid);
	snprintf(buf, sizeof(buf), "%s %s %s %s %s %s %.*s", j.kind, j.id, or_dash(j.step),
		 or_dash(j.task), or_dash(j.container), j.uid >= 0 ? uid : "-", (int)j.len, path);
	return buf;
}

static void test_site_rules(void)
{
	struct tm_job_rules r = {};
	char why[128];

	ok(!tm_job_rule_add(&r, "pbs", "**/pbs.slice/pbs-{id}.scope", why, sizeof(why)) &&
	   !tm_job_rule_add(&r, "lsf", "/lsf/{uid}/job.{id}.{step}", why, sizeof(why)),
	   "jobs: site rules taken");
	str_is(shown("/system.slice/pbs.slice/pbs-1234.server.scope/task", &r),
	       "pbs 1234.server - - - - /system.slice/pbs.slice/pbs-1234.server.scope",
	       "jobs: a site rule with ** takes the job below any parts");
	str_is(shown("/lsf/1002/job.77.3", &r), "lsf 77 3 - - 1002 /lsf/1002/job.77.3",
	       "jobs: a site rule's fields, {uid} among them");
	str_is(shown("/lsf/alice/job.77.3", &r), "",
	       "jobs: a {uid} that is no number is no match");
	/* The site's rules come first: a rule may take a shape tm knows. */
	ok(!tm_job_rule_add(&r, "batch", "**/slurmstepd.scope/job_{id}", why, sizeof(why)),
	   "jobs: a rule over a known shape taken");
	str_is(shown("/system.slice/slurmstepd.scope/job_9/step_0", &r),
	       "batch 9 - - - - /system.slice/slurmstepd.scope/job_9", "jobs: the site's rule first");
	tm_job_rules_free(&r);
	ok(tm_job_rule_add(&r, "pbs", "/pbs/{name}", why, sizeof(why)) == -TM_EUSAGE &&
	   strstr(why, "{id}, {step}"), "jobs: an unknown field refused");
	ok(tm_job_rule_add(&r, "pbs", "/pbs/{step}", why, sizeof(why)) == -TM_EUSAGE &&
	   strstr(why, "no {id}"), "jobs: a rule with no {id} refused");
	ok(tm_job_rule_add(&r, "PBS!", "/pbs/{id}", why, sizeof(why)) == -TM_EUSAGE,
	   "jobs: a kind not a short lower-case word refused");
	ok(tm_job_rule_add(&r, "pbs", "/pbs/{id}{step}", why, sizeof(why)) == -TM_EUSAGE,
	   "jobs: two fields side by side refused (no way to split them)");
	ok(tm_job_rule_add(&r, "pbs", "/pbs/id}", why, sizeof(why)) == -TM_EUSAGE,
	   "jobs: a lone } refused");
	ok(r.n == 0, "jobs: nothing kept of refused rules");
	tm_job_rules_free(&r);
}

void test_jobs(void)
{
	size_t i;
	char name[160];

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(name, sizeof(name), "jobs: %.120s", shapes[i].path);
		str_is(shown(shapes[i].path, NULL), shapes[i].want, name);
	}
	test_site_rules();
}
