#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# The kernel-dependent core of tm, run as /init of the initramfs that
# scripts/check-kernels boots in qemu on each kernel: load, exact bytes
# against nftables, a user namespace's owner, a live socket's count, each
# way tm-load may take, unload. Writes TAP lines prefixed "GUEST " on the
# console, then powers the machine off.
/bin/busybox --install -s /bin
# The host's own tools first (busybox's shell still prefers its own
# applets: util-linux's setpriv and unshare are named by path).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
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
(sleep 420; echo "GUEST # timed out in: $desc"; sed 's/^/GUEST # /' /tmp/out; poweroff -f) &

A=1001
B=1002
CG=/sys/fs/cgroup/t
mkdir "$CG"
n=0
echo "GUEST # kernel $(uname -r)"

# as UID CMD...: CMD as UID in the metered cgroup.
as() {
	sh -c 'echo $$ >/sys/fs/cgroup/t/cgroup.procs && exec /usr/bin/setpriv --reuid="$0" --regid="$0" --clear-groups "$@"' "$@"
}

# t DESCRIPTION CMD...: one TAP line; CMD's output under it if it fails.
t() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/tmp/out 2>&1; then
		echo "GUEST ok $n $desc"
	else
		echo "GUEST not ok $n $desc"
		sed 's/^/GUEST # /' /tmp/out
	fi
}

skip() {
	n=$((n + 1))
	echo "GUEST ok $n $1 # skip $2"
}

field() {	# USER FIELD: from tm-stat
	tm-stat --json --user "$1" 2>/dev/null | jq -r ".[0].$2 // 0"
}

nft_bytes() {	# UID: what nftables counted going out from UID's sockets
	nft -j list table inet tmk |
		jq -r "[.nftables[] | .rule? | select(.) | select(.expr[0].match.right == $1) | .expr[1].counter.bytes][0]"
}

wait_for() {	# FILE: until it has content (10 s at most)
	i=0
	while [ ! -s "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# xchg N SIZE ADDR [WRAP...]: A sends N datagrams of SIZE to B.
xchg() {
	cnt=$1 size=$2 addr=$3
	shift 3
	rm -f /tmp/port /tmp/recv
	as $B tmtraffic udp-recv "$addr" /tmp/port "$cnt" >/tmp/recv &
	r=$!
	wait_for /tmp/port || return 1
	as $A "$@" tmtraffic udp-send "$addr" "$(cat /tmp/port)" "$cnt" "$size" >/dev/null || return 1
	wait $r
	[ "$(cat /tmp/recv)" = "$cnt" ]
}

load() {
	tm-load --cgroup "$CG" "$@"
}

exact_vs_nft() {
	nft flush ruleset
	nft add table inet tmk
	nft add chain inet tmk out '{ type filter hook output priority 0; }'
	nft add rule inet tmk out meta skuid $A counter
	nft add rule inet tmk out meta skuid $B counter
	xchg 10 100 127.0.0.1 || return 1
	xchg 4 300 ::1 || return 1
	want=$((10 * 128 + 4 * 348))
	echo "tm: $(field $A out_bytes) $(field $A out_packets) $(field $B in_bytes); nft: $(nft_bytes $A)"
	[ "$(nft_bytes $A)" = $want ] && [ "$(field $A out_bytes)" = $want ] &&
		[ "$(field $A out_packets)" = 14 ] && [ "$(field $B in_bytes)" = $want ]
}

userns_owner() {
	before=$(field $A out_bytes)
	# Root in a user namespace of A's own: A's traffic, as the host sees it.
	xchg 5 100 127.0.0.1 /usr/bin/unshare -Ur || return 1
	echo "A before $before, after $(field $A out_bytes); rows: $(tm-stat --json 2>/dev/null)"
	[ "$(field $A out_bytes)" = $((before + 5 * 128)) ] &&
		[ "$(tm-stat --json 2>/dev/null | jq '[.[] | select(.uid == 0)] | length')" = 0 ]
}

live_socket() {
	before=$(field $A out_bytes)
	rm -f /tmp/port /tmp/script.out
	as $B tmtraffic udp-drain 127.0.0.1 /tmp/port >/dev/null &
	d=$!
	wait_for /tmp/port || return 1
	# One socket, kept open for 8 s after it has sent: read while open.
	(echo "$(cat /tmp/port) 6 100"; sleep 8) | as $A tmtraffic udp-script 127.0.0.1 >/tmp/script.out &
	s=$!
	wait_for /tmp/script.out || return 1
	open=$(field $A out_bytes)
	wait $s
	closed=$(field $A out_bytes)
	kill $d
	echo "before $before, open $open, closed $closed"
	[ "$open" = $((before + 6 * 128)) ] && [ "$closed" = "$open" ]
}

unloaded() {
	tm-unload || return 1
	[ ! -e /sys/fs/bpf/tm ] || return 1
	[ -z "$(bpftool cgroup show "$CG" 2>&1)" ] || return 1
	# No program of tm's is left in the kernel.
	! bpftool prog show | grep -q ' name tm_'
}

t "tm-load loads: $(load -v 2>&1 | grep -E '^tm-load: (owners|pending)' | tr '\n' ' ')" tm-status
t "UDP over 127.0.0.1 and ::1: tm's bytes equal nftables' (meta skuid)" exact_vs_nft
t "in a user namespace of its own, a user's traffic counts under the host UID" userns_owner
t "an open socket's packets count before it closes, and once after" live_socket
t "tm-unload leaves no pin, no attached program, no program" unloaded
for ways in "--owner creator" "--pending storage" "--pending files" "--pending files-core"; do
	if why=$(load $ways 2>&1); then
		t "[$ways] UDP: tm's bytes equal nftables'" exact_vs_nft
		t "[$ways] an open socket's packets count before it closes, and once after" live_socket
		t "[$ways] tm-unload leaves nothing" unloaded
	else
		skip "[$ways]" "this kernel refuses it: $(echo "$why" | tail -n 1)"
	fi
done
echo "GUEST 1..$n"
echo "GUEST done"
poweroff -f
