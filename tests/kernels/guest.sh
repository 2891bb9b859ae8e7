#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the initramfs that scripts/check-kernels boots in qemu on each
# kernel: it sets the machine up (mounts, nftables' modules, loopback) and
# runs the suite's tests tagged "kernel" (bats test_tags) with the project's
# own runner, scripts/run-tests, which runs them again under each way
# tm-load may take. Writes its TAP lines prefixed "GUEST " on the console,
# then powers the machine off.
/bin/busybox --install -s /bin
# The host's own tools first (busybox's shell still prefers its own
# applets: util-linux's setpriv and unshare are named by path).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmp /tmp
mkdir -p /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
# The modules nftables needs, in the order scripts/check-kernels found.
while read -r m; do
	insmod "/modules/$m" 2>/dev/null || dmesg | tail -n 3 | sed "s|^|GUEST # $m: |"
done </modules/order
ip link set lo up
# A test that hangs still ends the run, with what it had printed.
(sleep 480; echo "GUEST # timed out; the last lines:"; tail -n 20 /tmp/log | sed 's/^/GUEST # /'
 poweroff -f) &

echo "GUEST # kernel $(uname -r)"
# The suite's shell is bash: busybox's sh would run its own setpriv.
ln -sf /usr/bin/bash /bin/sh
cd /tm || poweroff -f
OUT=build TM_TEST_TAGS=kernel /usr/bin/bash scripts/run-tests 2>&1 | tee /tmp/log | sed 's/^/GUEST /'
echo "GUEST done"
poweroff -f
