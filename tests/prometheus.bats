#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-stat --format prometheus and --textfile: exact counters in every
# family, a format promtool accepts whatever the names, and a file that is
# never seen half written.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42631
B=42632

# sample NAME LABELS: the value of the sample NAME{LABELS} in $output.
sample() {
	# (from the environment: awk -v would read the backslashes as escapes)
	W="$1{$2}" awk 'index($0, ENVIRON["W"] " ") == 1 { print $NF }' <<<"$output"
}

@test "--format prometheus: every family's counters exact for two users, and promtool accepts it" {
	tm-load --cgroup "$CG"
	# A to B: 4 of 100 bytes over IPv4 (128 on the wire each), 3 of 200
	# over IPv6 (248 each).
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" $A "$CG" $B ::1 3 200
	run tm-stat --format prometheus
	[ "$status" = 0 ]
	local a="user=\"$A\",uid=\"$A\"" b="user=\"$B\",uid=\"$B\""
	[ "$(sample tm_transmit_bytes_total "$a,family=\"ipv4\"")" = 512 ]
	[ "$(sample tm_transmit_bytes_total "$a,family=\"ipv6\"")" = 744 ]
	[ "$(sample tm_receive_bytes_total "$b,family=\"ipv4\"")" = 512 ]
	[ "$(sample tm_receive_bytes_total "$b,family=\"ipv6\"")" = 744 ]
	[ "$(sample tm_receive_bytes_total "$a,family=\"ipv4\"")" = 0 ]
	[ "$(sample tm_transmit_packets_total "$a,family=\"ipv4\"")" = 4 ]
	[ "$(sample tm_receive_packets_total "$b,family=\"ipv6\"")" = 3 ]
	[ "$(sample tm_proto_transmit_bytes_total "$a,proto=\"udp\"")" = 1256 ]
	[ "$(sample tm_proto_receive_packets_total "$b,proto=\"udp\"")" = 7 ]
	[ "$(sample tm_device_receive_bytes_total "$b,device=\"lo\"")" = 1256 ]
	[ "$(sample tm_device_transmit_packets_total "$a,device=\"lo\"")" = 7 ]
	[ "$(sample tm_cgroup_transmit_bytes_total "$a,cgroup=\"/$ID\"")" = 1256 ]
	[ "$(sample tm_cgroup_receive_bytes_total "$b,cgroup=\"/$ID\"")" = 1256 ]
	grep -qx "tm_layout_version $(layout_version)" <<<"$output"
	grep -qx 'tm_events_lost_total 0' <<<"$output"
	grep -qx 'tm_user_events_lost_total 0' <<<"$output"
	grep -qx 'tm_map_full_packets_total{map="users"} 0' <<<"$output"
	# users: (A, IPv4), (A, IPv6), (B, IPv4), (B, IPv6)
	grep -qx 'tm_map_entries{map="users"} 4' <<<"$output"
	grep -qx 'tm_map_max_entries{map="conns"} 65536' <<<"$output"
	# The same figures as the rows of tm-stat --by family.
	[ "$(tm-stat --by family --json | jq -r '.[] | "\(.uid) \(.family) \(.in_bytes) \(.out_bytes)"' | sort)" = \
		"$A ipv4 0 512
$A ipv6 0 744
$B ipv4 512 0
$B ipv6 744 0" ]
	# No pid, port or peer: only these label names.
	[ "$(grep -v '^#' <<<"$output" | grep -o '[a-z_]*="' | sort -u | tr -d '="' | tr '\n' ' ')" = \
		"cgroup device family map proto uid user " ]
	# Every family has its HELP and TYPE, and promtool's parser and linter
	# take it.
	[ "$(grep -c '^# TYPE ' <<<"$output")" = "$(grep -c '^# HELP ' <<<"$output")" ]
	promtool check metrics <<<"$output"
}

@test "--format prometheus: the unknown and untracked rows, --user, and --depth rolls the cgroups up" {
	tm-load --cgroup "$CG"
	tm-mask add 127.0.0.0/8
	new_cgroup "/job1"; local job=$REPLY
	new_cgroup "/job1/step0"; local s0=$REPLY
	new_cgroup "/job1/step1"; local s1=$REPLY
	udp_exchange "$s0" $A "$s1" $B ::1 2 100
	udp_exchange "$s1" $A "$s1" $B ::1 1 100
	# untracked: both ends in 127/8
	udp_exchange "$s0" $A "$s0" $B 127.0.0.1 5 100
	run tm-stat --format prometheus
	[ "$(sample tm_receive_bytes_total 'user="untracked"')" = 640 ]
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$A\",uid=\"$A\",cgroup=\"/$ID/job1/step0\"")" = 296 ]
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$A\",uid=\"$A\",cgroup=\"/$ID/job1/step1\"")" = 148 ]
	run tm-stat --format prometheus --depth 1
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$A\",uid=\"$A\",cgroup=\"/$ID/job1\"")" = 444 ]
	[ "$(sample tm_cgroup_receive_bytes_total "user=\"$B\",uid=\"$B\",cgroup=\"/$ID/job1\"")" = 444 ]
	refute grep -q step <<<"$output"
	run tm-stat --format prometheus --user $B
	[ "$status" = 0 ]
	refute grep -q "user=\"$A\"" <<<"$output"
	[ "$(sample tm_receive_packets_total "user=\"$B\",uid=\"$B\",family=\"ipv6\"")" = 3 ]
	promtool check metrics <<<"$output"
}

@test "a cgroup path made again (a new id) is one row, one series and one history key, with both cgroups' bytes" {
	new_cgroup /job7
	local job=$REPLY db=$BIN/h.db
	tm-load --cgroup "$CG"
	udp_exchange "$job" $A "$CG" $B 127.0.0.1 2 100
	# A job directory reused: the same path, another cgroup (id).
	local id1
	id1=$(stat -c %i "$job")
	rmdir "$job"
	mkdir "$job"
	[ "$(stat -c %i "$job")" != "$id1" ]
	udp_exchange "$job" $A "$CG" $B 127.0.0.1 3 100
	run tm-stat --by cgroup --json --user $A
	[ "$(jq -r '.[] | [.cgroup, .out_bytes, .out_packets] | @tsv' <<<"$output")" = "/$ID/job7	640	5" ]
	run tm-stat --by cgroup --user $A
	[ "$(grep -c "/$ID/job7" <<<"$output")" = 1 ]
	run tm-stat --format prometheus
	[ -z "$(same_labels)" ]
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$A\",uid=\"$A\",cgroup=\"/$ID/job7\"")" = 640 ]
	# Rolled up, the job's directory made again under its parent's name.
	new_cgroup /job7/step0
	udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 1 100
	run tm-stat --format prometheus --depth 1
	[ -z "$(same_labels)" ]
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$A\",uid=\"$A\",cgroup=\"/$ID/job7\"")" = 768 ]
	run tm-top --batch --count 1 --json --by cgroup --user $A
	[ "$(jq -r '.[] | select(.cgroup == "/'$ID'/job7") | .out_bytes' <<<"$output")" = 640 ]
	tm-record --db "$db" --once --keep-5min 0 --keep-year 0
	run tm-report --db "$db" --json --top 5 --user $A
	[ "$(jq -c '.users[0].cgroups | map([.key, .out_bytes])' <<<"$output")" = "[[\"/$ID/job7\",640],[\"/$ID/job7/step0\",128]]" ]
}

@test "--format prometheus: a family by job, labels jobid and kind; the cgroups in no job a series of their own; two jobs of equal labels one series" {
	new_cgroup /system.slice
	new_cgroup /system.slice/slurmstepd.scope
	new_cgroup /system.slice/slurmstepd.scope/job_4711
	new_cgroup /system.slice/slurmstepd.scope/job_4711/step_0
	tm-load --cgroup "$CG"
	udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 3 100
	run tm-stat --format prometheus
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"4711\",kind=\"slurm\"")" = 384 ]
	[ "$(sample tm_job_receive_packets_total "user=\"$B\",uid=\"$B\"")" = 3 ]
	[ -z "$(same_labels)" ]
	refute grep -q '{[^}]*job=' <<<"$output"
	promtool check metrics <<<"$output"
	# A unit of one name that is the system's and the user's own, both with
	# A's traffic: two jobs of equal labels, so one series with both.
	new_cgroup /system.slice/backup.service; local sys=$REPLY
	new_cgroup /user.slice; new_cgroup /user.slice/user-$A.slice
	new_cgroup /user.slice/user-$A.slice/user@$A.service
	new_cgroup /user.slice/user-$A.slice/user@$A.service/backup.service; local own=$REPLY
	udp_exchange "$sys" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$own" $A "$CG" $B 127.0.0.1 2 100
	run tm-stat --format prometheus
	[ -z "$(same_labels)" ] || { same_labels >&2; false; }
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"backup.service\",kind=\"service\"")" = 384 ]
	[ "$(sample tm_job_transmit_packets_total "user=\"$A\",uid=\"$A\",jobid=\"backup.service\",kind=\"service\"")" = 3 ]
}

@test "--format prometheus: a job's traffic by interface and protocol, labels jobid, kind, device and proto; its series add up to the job's" {
	new_cgroup /system.slice
	new_cgroup /system.slice/slurmstepd.scope
	new_cgroup /system.slice/slurmstepd.scope/job_4712; local job=$REPLY
	veth_pair
	tm-load --cgroup "$CG"
	udp_exchange "$job" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$job" $A "$CG" $B ::1 1 100
	veth_udp $A $B 192.0.2.2 3 100 "$job"
	local va
	va=$(tm-stat --by iface --json --user $A | jq -r '.[] | select(.iface != "lo") | .iface')
	[[ $va == "$VA"@* ]]
	run tm-stat --format prometheus
	[ -z "$(same_labels)" ] || { same_labels >&2; false; }
	local l="user=\"$A\",uid=\"$A\",jobid=\"4712\",kind=\"slurm\""
	[ "$(sample tm_job_device_transmit_bytes_total "$l,device=\"lo\",proto=\"udp\"")" = $((2 * 128 + 148)) ]
	[ "$(sample tm_job_device_transmit_packets_total "$l,device=\"$va\",proto=\"udp\"")" = 3 ]
	[ "$(sample tm_job_device_transmit_bytes_total "$l,device=\"$va\",proto=\"udp\"")" = 384 ]
	[ "$(grep -c "^tm_job_device_transmit_bytes_total{$l," <<<"$output")" = 2 ]
	[ "$(sample tm_job_transmit_bytes_total "$l")" = $((2 * 128 + 148 + 384)) ]
	# B's, received in the test's cgroup: in no job, so no jobid label.
	[ "$(sample tm_job_device_receive_packets_total "user=\"$B\",uid=\"$B\",device=\"lo\",proto=\"udp\"")" = 3 ]
	promtool check metrics <<<"$output"
}

@test "--format prometheus: a family by a pod's container, labels jobid (the pod's UID) and container_id; a container made again a series of its own" {
	local pod=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e5a1f9c_3b2d_4c8e_9f1a_2b3c4d5e6f70.slice
	local uid=0e5a1f9c-3b2d-4c8e-9f1a-2b3c4d5e6f70 c1 c2 c3
	c1=$(printf '1%.0s' {1..64}) c2=$(printf '2%.0s' {1..64}) c3=$(printf '3%.0s' {1..64})
	new_cgroup /kubepods.slice; new_cgroup /kubepods.slice/kubepods-burstable.slice
	new_cgroup $pod; local podcg=$REPLY
	new_cgroup $pod/cri-containerd-$c1.scope; local k1=$REPLY
	new_cgroup $pod/cri-containerd-$c2.scope; local k2=$REPLY
	# The cgroupfs driver's shape: the bare ID below pod<UID>.
	new_cgroup /kubepods; new_cgroup /kubepods/pod$uid; new_cgroup /kubepods/pod$uid/$c3; local k3=$REPLY
	tm-load --cgroup "$CG"
	udp_exchange "$k1" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$k2" $A "$CG" $B 127.0.0.1 1 200
	udp_exchange "$k2" $B "$CG" $A 127.0.0.1 1 10
	udp_exchange "$k3" $A "$CG" $B ::1 1 100
	# The pod's own cgroup is in no container.
	udp_exchange "$podcg" $A "$CG" $B 127.0.0.1 1 50
	run tm-stat --format prometheus
	[ -z "$(same_labels)" ] || { same_labels >&2; false; }
	[ "$(sample tm_container_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"$c1\"")" = 256 ]
	[ "$(sample tm_container_transmit_packets_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"$c2\"")" = 1 ]
	[ "$(sample tm_container_receive_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"$c2\"")" = 0 ]
	[ "$(sample tm_container_transmit_bytes_total "user=\"$B\",uid=\"$B\",jobid=\"$uid\",container_id=\"$c2\"")" = 38 ]
	[ "$(sample tm_container_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"$c3\"")" = 148 ]
	# Three containers of A's, one of B's; the pod's own 78 bytes only in the pod's series.
	[ "$(grep -c '^tm_container_transmit_bytes_total{' <<<"$output")" = 4 ]
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",kind=\"pod\"")" = $((256 + 228 + 148 + 78)) ]
	# A container that ended and was made again (a new ID): its own series.
	rmdir "$k1"
	new_cgroup $pod/cri-containerd-${c1/1111/4444}.scope
	udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 1 100
	run tm-stat --format prometheus
	[ -z "$(same_labels)" ]
	[ "$(sample tm_container_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"${c1/1111/4444}\"")" = 128 ]
	[ "$(sample tm_container_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"$uid\",container_id=\"$c1\"")" = 256 ]
	promtool check metrics <<<"$output"
}

@test "--history: the job family's series carry the account the ledger has for the job (hostile ones escaped); without it, none" {
	command -v sqlite3 >/dev/null || skip "needs sqlite3 (scripts/install-deps)"
	local db=$BIN/history.db s=/system.slice/slurmstepd.scope
	new_cgroup /system.slice
	new_cgroup $s
	new_cgroup $s/job_4711
	new_cgroup $s/job_4711/step_0; local j1=$REPLY
	new_cgroup $s/job_4712
	new_cgroup $s/job_4712/step_0; local j2=$REPLY
	new_cgroup $s/job_4713
	new_cgroup $s/job_4713/step_0; local j3=$REPLY
	tm-load --cgroup "$CG"
	SLURM_JOB_ACCOUNT=phys tm-job start --job 4711 --db "$db"
	SLURM_JOB_ACCOUNT=$'a"b\\c\xff' tm-job start --job 4712 --db "$db"
	udp_exchange "$j1" $A "$CG" $B 127.0.0.1 3 100
	udp_exchange "$j2" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$j3" $A "$CG" $B 127.0.0.1 2 100
	run tm-stat --format prometheus --history "$db"
	[ "$status" = 0 ]
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"4711\",kind=\"slurm\",account=\"phys\"")" = 384 ]
	# Escaped as labels are: \" and \\, a byte not UTF-8 as U+FFFD.
	local hostile=$'a\\"b\\\\c\xef\xbf\xbd'
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"4712\",kind=\"slurm\",account=\"$hostile\"")" = 128 ]
	# A job the ledger does not know: no account.
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"4713\",kind=\"slurm\"")" = 256 ]
	[ -z "$(same_labels)" ]
	promtool check metrics <<<"$output"
	# Closed, a job keeps its account; without --history, no account at all.
	tm-job end --job 4711 --db "$db" >/dev/null
	run tm-stat --format prometheus --history "$db"
	[ "$(sample tm_job_transmit_bytes_total "user=\"$A\",uid=\"$A\",jobid=\"4711\",kind=\"slurm\",account=\"phys\"")" = 384 ]
	run tm-stat --format prometheus
	refute grep -q 'account=' <<<"$output"
}

@test "--format prometheus: the kernel's own packets are the user unknown, with no uid" {
	# The kernel's reset sockets are in the cgroup v2 root: a load there,
	# counting only the loopback of a namespace of the test's own.
	new_netns k; local ns=$REPLY
	tm-load --cgroup "$CG2" --iface "$ns:lo"
	local i
	for i in 1 2 3; do
		! IN_NETNS=$ns as "$CG" $A "$BIN/tmtraffic" tcp-send 127.0.0.1 9 1 2>/dev/null
	done
	run tm-stat --format prometheus
	# Three SYNs (60 bytes) out and three resets (40) in for A; the resets
	# went out from no user's socket.
	[ "$(sample tm_transmit_bytes_total "user=\"$A\",uid=\"$A\",family=\"ipv4\"")" = 180 ]
	[ "$(sample tm_receive_bytes_total "user=\"$A\",uid=\"$A\",family=\"ipv4\"")" = 120 ]
	[ "$(sample tm_transmit_bytes_total 'user="unknown",family="ipv4"')" = 120 ]
	[ "$(sample tm_transmit_packets_total 'user="unknown",family="ipv4"')" = 3 ]
	promtool check metrics <<<"$output"
}

@test "--format prometheus: hostile user and cgroup names cannot break a line or a label" {
	tm-load --cgroup "$CG"
	# (cgroupfs refuses a line break in a name; NSS names cannot hold one)
	local evil=$'a"b\\c\e[2J} x 1'
	new_cgroup "/$evil"; local cg=$REPLY
	cp /etc/passwd "$BIN/passwd"
	printf '%s:x:%s:%s::/:/bin/sh\n' $'q"u\\o\e]0;t\a' $A $A >>"$BIN/passwd"
	udp_exchange "$cg" $A "$cg" $A 127.0.0.1 2 100
	run with_passwd "$BIN/passwd" tm-stat --format prometheus
	[ "$status" = 0 ]
	promtool check metrics <<<"$output"
	# The names themselves, escaped only as the format says: a backslash
	# and a quote (so a parser reads back the real name); a control
	# character, which the format has no escape for, as its picture (ESC
	# U+241B, BEL U+2407), so none reaches a terminal.
	local user=$'user="q\\"u\\\\o\xe2\x90\x9b]0;t\xe2\x90\x87",uid="'$A'"'
	[ "$(sample tm_transmit_bytes_total "$user,family=\"ipv4\"")" = 256 ]
	[ "$(sample tm_cgroup_transmit_bytes_total "$user,cgroup=\"/$ID/a\\\"b\\\\c"$'\xe2\x90\x9b[2J} x 1"')" = 256 ]
	refute grep -qP '[\x00-\x09\x0b-\x1f\x7f]' <<<"$output"
	# A systemd unit's escape stays as named; a byte that is not UTF-8
	# becomes U+FFFD, as the format is UTF-8.
	new_cgroup '/sys-x\x2dy.slice'; local unit=$REPLY
	new_cgroup $'/bad\xffname'; local bad=$REPLY
	udp_exchange "$unit" $B "$unit" $B 127.0.0.1 1 100
	udp_exchange "$bad" $B "$bad" $B 127.0.0.1 1 100
	run tm-stat --format prometheus
	[ "$status" = 0 ]
	promtool check metrics <<<"$output"
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$B\",uid=\"$B\",cgroup=\"/$ID/sys-x\\\\x2dy.slice\"")" = 128 ]
	[ "$(sample tm_cgroup_transmit_bytes_total "user=\"$B\",uid=\"$B\",cgroup=\"/$ID/bad"$'\xef\xbf\xbd'"name\"")" = 128 ]
	# Every sample is one line: a name, labels, a value.
	[ -z "$(grep -v '^#' <<<"$output" | grep -Ev '^[a-z_]+(\{.*\})? [0-9]+$')" ]
}

@test "--textfile is renamed into place: a reader never sees half a file, and nothing else is left" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 100
	mkdir "$BIN/tf"
	bg tm-stat --textfile "$BIN/tf/tm.prom" --interval 0.01 2>"$BIN/err"
	local writer=${PIDS[-1]} i n=0 last
	wait_file "$BIN/tf/tm.prom"
	[ "$(stat -c %a "$BIN/tf/tm.prom")" = 644 ]
	# Read it while it is replaced a hundred times a second: each copy is
	# whole (its last family ends it) and has the same counters.
	for ((i = 0; i < 300; i++)); do
		# (cat: one open of one file; cp refuses a file renamed over as it reads)
		cat "$BIN/tf/tm.prom" >"$BIN/copy"
		last=$(tail -n 1 "$BIN/copy")
		[ "$last" = 'tm_map_max_entries{map="ifnames"} 1024' ] || { echo "torn: $last" >&2; false; }
		grep -qx "tm_receive_bytes_total{user=\"$B\",uid=\"$B\",family=\"ipv4\"} 384" "$BIN/copy"
		n=$((n + 1))
	done
	[ "$n" = 300 ]
	kill -TERM "$writer"
	local rc=0
	wait "$writer" || rc=$?
	[ "$rc" = 0 ]
	# Stopped (systemctl stop), it takes its file with it: frozen counters
	# would read as a host with no traffic. No temporary is left either.
	[ -z "$(ls -A "$BIN/tf")" ]
	grep -qx "tm-stat: removed $BIN/tf/tm.prom: its writer stopped" "$BIN/err"
	# So does one that ends after --count; written once, the file stays.
	tm-stat --textfile "$BIN/tf/tm.prom" --interval 0.01 --count 3 2>/dev/null
	[ -z "$(ls -A "$BIN/tf")" ]
	tm-stat --textfile "$BIN/tf/tm.prom"
	[ "$(ls -A "$BIN/tf")" = tm.prom ]
}

@test "--textfile: a new meter's figures after an update, and the file goes when the meter is unloaded" {
	tm-load --cgroup "$CG"
	mkdir "$BIN/tf"
	bg tm-stat --textfile "$BIN/tf/tm.prom" --interval 0.05
	local writer=${PIDS[-1]}
	wait_file "$BIN/tf/tm.prom"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 100
	wait_line "$BIN/tf/tm.prom" "tm_transmit_bytes_total{user=\"$A\",uid=\"$A\",family=\"ipv4\"} 256"
	tm-unload
	local rc=0
	wait "$writer" 2>"$BIN/err" || rc=$?
	[ "$rc" = 1 ]
	[ ! -e "$BIN/tf/tm.prom" ]
	[ -z "$(ls -A "$BIN/tf")" ]
	# Once, without --interval.
	tm-load --cgroup "$CG"
	tm-stat --textfile "$BIN/tf/tm.prom"
	grep -qx "tm_layout_version $(layout_version)" "$BIN/tf/tm.prom"
}

@test "--format prometheus and --textfile refuse what does not go with them, and change nothing" {
	tm-load --cgroup "$CG"
	local bad
	for bad in "--format prometheus --by conn" "--format prometheus --top 3" \
		"--format prometheus --sort in" "--format prometheus --bytes" \
		"--format prometheus --interval 1" "--textfile $BIN/x.prom --format json" \
		"--textfile $BIN/x.prom --json" "--textfile $BIN/" "--textfile=" \
		"--format prometheus --interval 1 --output $BIN/%u"; do
		run tm-stat $bad
		[ "$status" = 2 ] || { echo "$bad: $status $output" >&2; false; }
	done
	[ ! -e "$BIN/x.prom" ]
	run tm-stat --textfile "$BIN/no/such/dir/tm.prom"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot write $BIN/no/such/dir/.tm.prom."*"No such file or directory"* ]]
	# A link planted at the temporary name (its pid: the shell's, which
	# execs tm-stat) is not followed.
	mkdir -m 755 "$BIN/tf"
	run sh -c 'ln -s "$1/planted" "$1/tf/.x.prom.$$.tmp" && exec tm-stat --textfile "$1/tf/x.prom"' sh "$BIN"
	[ "$status" = 0 ]
	[ ! -e "$BIN/planted" ]
	grep -q '^tm_layout_version ' "$BIN/tf/x.prom"
}

@test "--textfile replaces only a file node_exporter reads, in a directory only its owner writes: a device, a FIFO, a link, another name are left alone" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/tf"
	mkfifo "$BIN/tf/fifo.prom"
	ln -s "$BIN/victim" "$BIN/tf/link.prom"
	echo "root's own" >"$BIN/victim"
	mkdir "$BIN/tf/dir.prom"
	# Only the test's own files, in case a tm under test renames over them:
	# a device node (as /dev/null), a file as /etc/passwd is.
	mknod "$BIN/tf/null.prom" c 1 3
	cp /etc/passwd "$BIN/tf/passwd"
	local t
	for t in "$BIN/tf/null.prom" "$BIN/tf/fifo.prom" "$BIN/tf/link.prom" "$BIN/tf/dir.prom" \
		"$BIN/victim" "$BIN/tf/tm" "$BIN/tf/.prom" "$BIN/tf/passwd"; do
		run timeout 10 tm-stat --textfile "$t"
		[ "$status" = 2 ] || { echo "$t: $status $output" >&2; false; }
	done
	[[ "$(tm-stat --textfile "$BIN/tf/fifo.prom" 2>&1)" == *"fifo.prom': a FIFO is there, not a file; left alone"* ]]
	[ -c "$BIN/tf/null.prom" ] && [ -p "$BIN/tf/fifo.prom" ] && [ -L "$BIN/tf/link.prom" ] &&
		[ -d "$BIN/tf/dir.prom" ]
	[ "$(cat "$BIN/victim")" = "root's own" ]
	cmp /etc/passwd "$BIN/tf/passwd"
	[ "$(ls -A "$BIN/tf" | sort | tr '\n' ' ')" = "dir.prom fifo.prom link.prom null.prom passwd " ]
	# A directory others may write (as /tmp): anyone could replace the file.
	mkdir -m 1777 "$BIN/open"
	run tm-stat --textfile "$BIN/open/tm.prom"
	[ "$status" = 2 ]
	[[ "$output" == *"others than its owner may write in $BIN/open"* ]]
	[ -z "$(ls -A "$BIN/open")" ]
	# A file that turns into something else while the writer runs is not replaced.
	bg tm-stat --textfile "$BIN/tf/tm.prom" --interval 0.05 2>"$BIN/err"
	local writer=${PIDS[-1]}
	wait_file "$BIN/tf/tm.prom"
	# Swapped in at once (rename): between a rm and a mkfifo the writer,
	# every 50 ms, could put a new file there first.
	mkfifo "$BIN/tf/fifo.new"
	mv -f "$BIN/tf/fifo.new" "$BIN/tf/tm.prom"
	local rc=0
	wait "$writer" || rc=$?
	[ "$rc" = 1 ]
	grep -q "a FIFO is there now, not a file; left alone" "$BIN/err"
	[ -p "$BIN/tf/tm.prom" ]
	[ "$(ls -A "$BIN/tf" | grep -c tmp)" = 0 ]
}

@test "--history: gauges of each user's bytes this day and this month to now, from tm-record's rows and the counters since" {
	command -v sqlite3 >/dev/null || skip "needs sqlite3"
	local db=$BIN/history.db
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 100
	tm-record --db "$db" --once
	# Since that sample: 384 more, not yet in the history.
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 100
	# Earlier this month (as if from days before), in the monthly row only.
	sqlite3 "$db" "UPDATE traffic SET out_bytes = out_bytes + 1000 WHERE tier = 'month' AND kind = 'user' AND uid = $A"
	run tm-stat --format prometheus --history "$db"
	[ "$status" = 0 ]
	[ "$(sample tm_day_transmit_bytes "user=\"$A\",uid=\"$A\"")" = 640 ]
	[ "$(sample tm_month_transmit_bytes "user=\"$A\",uid=\"$A\"")" = 1640 ]
	[ "$(sample tm_day_receive_bytes "user=\"$B\",uid=\"$B\"")" = 640 ]
	grep -qx '# TYPE tm_month_receive_bytes gauge' <<<"$output"
	promtool check metrics <<<"$output"
	# A fresh load: what the old one counted after the sample is gone with
	# it; the new one's counters count whole.
	tm-unload
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 1 100
	run tm-stat --format prometheus --history "$db" --user $A
	[ "$(sample tm_day_transmit_bytes "user=\"$A\",uid=\"$A\"")" = $((256 + 128)) ]
	refute grep -q "uid=\"$B\"" <<<"$output"
	run tm-stat --history "$db"
	[ "$status" = 2 ]
	run tm-stat --format prometheus --history "$BIN/none.db"
	[ "$status" = 1 ]
}
