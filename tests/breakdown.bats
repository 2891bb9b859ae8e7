#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Which program moved the bytes, to where, over which interface, in which job.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42481
B=42482

# conn_rows UID: tm-stat --by conn rows of UID, as JSON lines.
conn_rows() {
	tm-stat --by conn --json --user "$1" | jq -c '.[]'
}

@test "two processes of one UID to two remote ports are two connection rows and two process rows" {
	tm-load --cgroup "$CG"
	recv_bg() {
		rm -f "$BIN/rport"
		bg as "$CG" $B "$BIN/tmtraffic" udp-recv 127.0.0.1 "$BIN/rport" "$1" >/dev/null
		wait_file "$BIN/rport"
		RPORT=$(cat "$BIN/rport")
	}
	recv_bg 4; local r1=$RPORT
	udp_send "$CG" $A 127.0.0.1 "$r1" 4 100; local p1=$SENDER s1=$SPORT
	recv_bg 7; local r2=$RPORT
	udp_send "$CG" $A 127.0.0.1 "$r2" 7 300; local p2=$SENDER s2=$SPORT
	run conn_rows $A
	[ "${#lines[@]}" = 2 ]
	[ "$(jq -s 'map(select(.rport == '$r1' and .lport == '$s1' and .pid == '$p1' and .comm == "tmtraffic"
		and .out_bytes == 512 and .out_packets == 4 and .proto == "udp" and .local == "127.0.0.1")) | length' <<<"$output")" = 1 ]
	[ "$(jq -s 'map(select(.rport == '$r2' and .lport == '$s2' and .pid == '$p2' and .out_bytes == 2296
		and .out_packets == 7)) | length' <<<"$output")" = 1 ]
	run tm-stat --by proc --json --user $A
	[ "$(jq 'length' <<<"$output")" = 2 ]
	[ "$(jq 'map(select(.pid == '$p1' and .comm == "tmtraffic" and .out_bytes == 512)) | length' <<<"$output")" = 1 ]
	[ "$(jq 'map(select(.pid == '$p2' and .out_bytes == 2296)) | length' <<<"$output")" = 1 ]
	# The receiver's side: one socket per receiver, each its own row.
	[ "$(tm-stat --by conn --json --user $B | jq 'map(.in_bytes) | sort')" = "$(jq -n '[512, 2296]')" ]
}

@test "an accepted TCP socket is attributed to the server process" {
	tm-load --cgroup "$CG"
	bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 127.0.0.1 "$BIN/tport"
	local server=${PIDS[-1]}
	wait_file "$BIN/tport"
	local port
	port=$(cat "$BIN/tport")
	as "$CG" $A "$BIN/tmtraffic" tcp-send 127.0.0.1 "$port" 10000 >/dev/null
	wait "$server"
	run conn_rows $B
	[ "${#lines[@]}" = 1 ]
	[ "$(jq -r '[.pid, .comm, .lport, .in_bytes >= 10000] | @tsv' <<<"$output")" = "$server	tmtraffic	$port	true" ]
	# Everything the server's process moved is in its process row.
	[ "$(tm-stat --by proc --json --user $B | jq -r '.[0] | [.pid, .in_bytes] | @tsv')" = \
		"$server	$(stat_field $B in_bytes)" ]
}

@test "a process in a child cgroup shows under that cgroup's path" {
	new_cgroup /job42
	local job=$REPLY
	tm-load --cgroup "$CG"
	udp_exchange "$job" $A "$CG" $B 127.0.0.1 6 100
	run tm-stat --by cgroup --json
	[ "$(jq -r '.[] | select(.uid == '$A') | [.cgroup, .out_bytes] | @tsv' <<<"$output")" = "/$ID/job42	768" ]
	[ "$(jq -r '.[] | select(.uid == '$B') | [.cgroup, .in_bytes] | @tsv' <<<"$output")" = "/$ID	768" ]
}

@test "traffic over a veth shows under that interface, and per protocol" {
	veth_pair
	tm-load --cgroup "$CG"
	veth_udp $A $B 192.0.2.2 8 100
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 100
	# Each interface is named in its own namespace: the veth as $NSA names
	# it (not as the host names its index), the host's lo plainly.
	local ino
	ino=$(stat -L -c %i /run/netns/"$NSA")
	run tm-stat --by iface --json --user $A
	[ "$(jq -r 'map([.iface, .netns, .out_bytes] | @tsv) | sort | .[]' <<<"$output")" = "lo	$(stat -L -c %i /proc/self/ns/net)	384
$VA@$NSA	$ino	1024" ]
	# From inside $NSA, its veth is its own and the host's lo is not.
	run nsenter --net=/run/netns/"$NSA" "$BUILD/tm-stat" --by iface --json --user $A
	[ "$(jq -r 'map(.iface) | sort | .[]' <<<"$output")" = "lo@$(stat -L -c %i /proc/self/ns/net)
$VA" ]
	run tm-stat --by proto --json --user $A
	[ "$(jq -r '.[] | [.proto, .out_bytes, .out_packets] | @tsv' <<<"$output")" = "udp	1408	11" ]
}

@test "filling the connection map past --max-conns keeps per-user totals exact and reports evictions" {
	tm-load --cgroup "$CG" --max-conns 16
	local port
	for port in $(seq 20001 20040); do
		as "$CG" $A "$BIN/tmtraffic" udp-send 127.0.0.1 $port 1 10 >/dev/null
	done
	[ "$(stat_field $A out_bytes)" = $((40 * 38)) ]
	[ "$(stat_field $A out_packets)" = 40 ]
	local live
	live=$(tm-stat --by conn --json 2>/dev/null | jq length)
	[ "$live" -le 16 ]
	run tm-stat --by conn
	[[ "$output" == *"tm-stat: note: $((40 - live)) connection rows made room for their user's newer ones, past the user's share of tm-load --max-conns; their bytes are in the per-user totals"* ]]
}

# udp_many CG UID FIRST N: N sockets of UID in one process, each a datagram
# of 10 bytes to 127.0.0.1:FIRST+i from a port of its own, closed at once.
udp_many() {
	as "$1" "$2" /usr/bin/python3 -c 'import socket, sys
first, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"0123456789", ("127.0.0.1", first + i))
    s.close()' "$3" "$4"
}

# bats test_tags=bulk
@test "one user's thousands of short-lived connections make room among their own rows, never another user's" {
	# A user may hold a sixteenth of the rows: 4 here.
	tm-load --cgroup "$CG" --max-conns 64
	udp_many "$CG" $B 20000 2
	udp_many "$CG" $A 21000 3000
	# B's rows are whole, with their bytes.
	[ "$(conn_rows $B 2>/dev/null | jq -s -c 'map(select(.remote == "127.0.0.1")) | sort_by(.rport) | map([.rport, .out_bytes, .out_packets])')" = "[[20000,38,1],[20001,38,1]]" ]
	# A holds their share, their newest connections; the rest made room.
	[ "$(conn_rows $A 2>/dev/null | jq -s -c 'map(select(.remote == "127.0.0.1")) | map(.rport) | sort')" = "[23996,23997,23998,23999]" ]
	[ "$(stat_field $A out_packets)" = 3000 ]
	[ "$(stat_field $A out_bytes)" = $((3000 * 38)) ]
	[ "$(tm-status --json | jq '.conns_full')" = 0 ]
	run tm-stat --by conn --user $A
	[[ "$output" == *"tm-stat: note: "*" connection rows made room for their user's newer ones"* ]]
}

@test "a user given no connection row, the map full, is told their traffic is in the totals, and no one's rows are pushed out" {
	# One row a user: 16 of them fill it (with the kernel's replies).
	tm-load --cgroup "$CG" --max-conns 16
	local u
	for u in $(seq 42600 42616); do
		udp_many "$CG" $u 20000 1
	done
	local before
	before=$(tm-stat --by conn --json | jq -c 'map([.uid, .rport, .out_bytes, .in_bytes]) | sort')
	[ "$(jq length <<<"$before")" = 16 ]
	udp_many "$CG" $B 20000 2
	[ "$(tm-stat --by conn --json | jq -c 'map([.uid, .rport, .out_bytes, .in_bytes]) | sort')" = "$before" ]
	[ "$(tm-stat --by conn --json --user $B 2>/dev/null)" = "[]" ]
	[ "$(tm-status --json | jq '.conns_full')" -ge 2 ]
	run tm-stat --by conn --user $B
	[[ "$output" == *"(no rows of this breakdown now; the traffic is in the per-user totals, tm-stat --by user)"* ]]
	[[ "$output" == *"connections were given no row (the connection map is full: tm-load --max-conns); their bytes are in the per-user totals"* ]]
	[[ "$output" != *"no traffic counted yet"* ]]
	[ "$(stat_field $B out_bytes)" = $((2 * 38)) ]
	# A user with no traffic at all: none counted yet.
	run tm-stat --by conn --user 42999
	[[ "$output" == *"(no traffic counted yet)"* ]]
}

@test "report files hold a header and the totals each interval, and a block per connection that moved in it, by what it moved" {
	tm-load --cgroup "$CG"
	# Before tm-stat: in the totals, in no interval.
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 100
	mkdir -m 755 "$BIN/reports"
	# A strict umask does not change the files' mode.
	bg bash -c 'umask 077; exec tm-stat --interval 0.3 --output "$1"' sh "$BIN/reports/%u.log"
	local st=${PIDS[-1]} f=$BIN/reports/$A.log
	wait_caught "$st" 15
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 10 100
	# Two more reports after the traffic: the rest of its interval, and one
	# where nothing moved.
	reports_past() { [ "$(grep -c '^=== ' "$f" 2>/dev/null)" -ge "$1" ]; }
	moved() { grep -q "^total  RX 0 bytes 0 packets ([^)]*)  TX 1664 bytes 13 packets" "$f" 2>/dev/null; }
	eventually moved
	eventually reports_past $(($(grep -c '^=== ' "$f") + 2))
	kill -TERM "$st"
	wait "$st"
	[ "$(stat -c %a "$f")" = 640 ]
	[ "$(grep -c "^=== .*  user $A (uid $A)  interval 0.3 s$" "$f")" = "$(grep -c '^=== ' "$f")" ]
	# What moved in the intervals, exactly: the 10 datagrams, not the 3 before.
	[ "$(awk '$1 == "TX" { s += $2 } END { print s }' "$f")" = 1280 ]
	[ "$(awk '$1 == "TX" { s += $7 } END { print s }' "$BIN/reports/$B.log")" = 1280 ]
	# In the one or two intervals it moved in, not in every report.
	local blocks
	blocks=$(grep -c '^conn udp 127.0.0.1:[0-9]* -> 127.0.0.1:[0-9]*  pid [0-9]* tmtraffic$' "$f")
	[ "$blocks" -ge 1 ] && [ "$blocks" -le 2 ]
	[ "$(grep -c '^=== ' "$f")" -gt "$blocks" ]
	# The last report's totals are since the load.
	[ "$(grep '^total' "$f" | tail -n 1 | awk '{ print $10 }')" = 1664 ]
}

@test "SIGTERM makes tm-stat write a last report and exit 0" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/reports"
	bg tm-stat --interval 60 --bits --output "$BIN/reports/%U.log"
	local st=${PIDS[-1]}
	wait_caught "$st" 15
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 100
	kill -TERM "$st"
	wait "$st"
	[ "$(grep -c '^=== ' "$BIN/reports/$A.log")" = 1 ]
	# --bits: the rates in bits a second.
	grep -q '^total  RX 0 bytes 0 packets (0 bit/s)  TX 256 bytes 2 packets ([0-9.]* [kM]\?bit/s)$' "$BIN/reports/$A.log"
	[ "$(grep -c '^  TX 256 bytes 2 packets' "$BIN/reports/$A.log")" = 1 ]
}

@test "--by, --sort and --top: bad values are exit 2; --top cuts the rows" {
	tm-load --cgroup "$CG"
	run tm-stat --by host
	[ "$status" = 2 ]
	[ "${lines[0]}" = "tm-stat: --by 'host': must be user, conn, proc, iface, proto, cgroup, job or family" ]
	run tm-stat --sort size
	[ "$status" = 2 ]
	run tm-stat --top 0
	[ "$status" = 2 ]
	mkdir -m 755 "$BIN/r"
	run tm-stat --output "$BIN/r/x.log"
	[ "$status" = 2 ]
	[ "${lines[0]}" = "tm-stat: --output goes with --interval" ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$CG" $B "$CG" $A 127.0.0.1 5 100
	[ "$(tm-stat --json --top 1 --sort out | jq -r '.[] | .uid')" = $B ]
	[ "$(tm-stat --json --top 1 --sort in | jq -r '.[] | .uid')" = $A ]
}

# bats test_tags=bulk
@test "one user's thousands of processes cannot push another's rows out: past a sixteenth of --max-details, theirs go to their row (other)" {
	# 256 rows: a user may hold 16.
	tm-load --cgroup "$CG" --max-details 256
	as "$CG" $B "$BIN/tmtraffic" udp-send 127.0.0.1 9 2 100 >/dev/null
	# 300 processes, one 10-byte datagram (38 bytes) each.
	[ "$(as "$CG" $A "$BIN/tmtraffic" udp-procs 127.0.0.1 9 300 10)" = 300 ]
	as "$CG" $B "$BIN/tmtraffic" udp-send 127.0.0.1 9 3 100 >/dev/null
	run tm-stat --by proc --json --user $B
	[ "$(jq -r 'map([.comm, .out_bytes, .out_packets] | @tsv) | sort | .[]' <<<"$output")" = "tmtraffic	256	2
tmtraffic	384	3" ]
	run tm-stat --by proc --json --user $A
	[ "$(jq length <<<"$output")" = 17 ]
	[ "$(jq '[.[].out_bytes] | add' <<<"$output")" = $((300 * 38)) ]
	[ "$(jq -c 'map(select(.comm == "(other)")) | map([.pid, .out_packets])' <<<"$output")" = "[[null,284]]" ]
	# In every breakdown, and said.
	run tm-stat --by cgroup --format csv --user $A
	[[ "$output" == *"$A,$A,(other),0,$((284 * 38)),0,284"* ]]
	[[ "$output" == *"tm-stat: note: users with more than 16 rows in this breakdown have the rest in their row (other)"* ]]
	[ "$(stat_field $A out_bytes)" = $((300 * 38)) ]
	run tm-load --replace --max-details 512
	[ "$status" = 2 ]
}

@test "the docs' Slurm example: its --depth from the metered cgroup makes a job, its steps inside, one row" {
	# The depth the README, tm(8) and tm-stat(1) give (the same in all three).
	local d
	d=$(grep -hoE -- 'tm-stat (\\)?-(\\)?-by cgroup (\\)?-(\\)?-depth [0-9]+' "$TOP/README.md" "$TOP/man/tm.8" \
		"$TOP/man/tm-stat.1" | grep -oE '[0-9]+$' | sort -u)
	[[ "$d" =~ ^[0-9]+$ ]]
	# Slurm's layout (cgroup/v2 plugin) below the metered cgroup, as below the root.
	local c=$CG p
	for p in system.slice slurmstepd.scope job_4711 step_0; do
		c=$c/$p
		mkdir "$c"
		CGROUPS+=("$c")
	done
	mkdir "$c/../step_batch"
	CGROUPS+=("$c/../step_batch")
	tm-load --cgroup "$CG"
	udp_exchange "$c" $A "$c/../step_batch" $A 127.0.0.1 2 100
	run tm-stat --by cgroup --depth "$d" --json
	[ "$status" = 0 ]
	[ "$(jq -r '.[] | select(.uid != null) | .cgroup' <<<"$output")" = \
		"${CG#"$CG2"}/system.slice/slurmstepd.scope/job_4711" ]
}

# job_cgroups: Slurm's layout below the test's cgroup: job 4711 (steps 0 and
# batch), job 4712 (step 0), a Docker container and a login session of A.
# In REPLY: the task cgroups of 4711/0, 4711/batch and 4712/0, the
# container's and the session's.
DOCKER_ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
job_cgroups() {
	local s=/system.slice/slurmstepd.scope d leaves=()
	for d in /system.slice $s $s/job_4711 $s/job_4711/step_0 $s/job_4711/step_0/user \
		$s/job_4711/step_0/user/task_0 $s/job_4711/step_batch $s/job_4711/step_batch/user \
		$s/job_4711/step_batch/user/task_0 $s/job_4712 $s/job_4712/step_0 \
		$s/job_4712/step_0/user $s/job_4712/step_0/user/task_0 \
		/system.slice/docker-$DOCKER_ID.scope /user.slice /user.slice/user-$A.slice \
		/user.slice/user-$A.slice/session-5.scope; do
		new_cgroup "$d"
		case $d in *task_0 | *.scope) [[ $d == */slurmstepd.scope ]] || leaves+=("$REPLY") ;; esac
	done
	REPLY=("${leaves[@]}")
}

@test "--by job: a Slurm job with its steps, a container and a session a row each, ended jobs so marked, the rest one row" {
	job_cgroups
	local t0=${REPLY[0]} tb=${REPLY[1]} u0=${REPLY[2]} dk=${REPLY[3]} se=${REPLY[4]}
	tm-load --cgroup "$CG"
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$tb" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$u0" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$dk" $A "$CG" $B 127.0.0.1 6 100
	udp_exchange "$se" $A "$CG" $B 127.0.0.1 5 100
	# Job 4712 ends: its cgroups go.
	local s=$CG/system.slice/slurmstepd.scope/job_4712
	rmdir "$s/step_0/user/task_0" "$s/step_0/user" "$s/step_0" "$s"
	run tm-stat --by job --json --user $A
	[ "$status" = 0 ]
	local j=/$ID/system.slice/slurmstepd.scope
	[ "$(jq -r 'sort_by(.job) | .[] | [.job, .kind, .state, .cgroup, .out_bytes, .out_packets] | @tsv' <<<"$output")" = \
		"$DOCKER_ID	docker	running	/$ID/system.slice/docker-$DOCKER_ID.scope	768	6
4711	slurm	running	$j/job_4711	384	3
4712	slurm	ended	$j/job_4712	512	4
5	session	running	/$ID/user.slice/user-$A.slice/session-5.scope	640	5" ]
	# B's cgroup is in no job: one row, its job null; every byte is there.
	run tm-stat --by job --json --user $B
	[ "$(jq -c '[.[] | [.job, .kind, .state, .cgroup, .in_bytes]]' <<<"$output")" = "[[null,null,null,null,2304]]" ]
	[ "$(tm-stat --json --user $B | jq '.[0].in_bytes')" = 2304 ]
	# The table: the same rows, largest first.
	run tm-stat --by job --bytes --user $A
	[ "${lines[0]}" = "$(printf '%s\n' "${lines[0]}" | grep -E '^USER +JOB +KIND +STATE +IN +OUT')" ]
	[ "$(awk 'NR > 1 { print $2, $3, $4, $6 }' <<<"$output")" = "$DOCKER_ID docker running 768
5 session running 640
4712 slurm ended 512
4711 slurm running 384" ]
	# tm-top's rows by job are the same jobs.
	[ "$(tm-top --batch --count 1 --json --by job --user $A | jq -r 'map(.job) | sort | join(" ")')" = \
		"$DOCKER_ID 4711 4712 5" ]
}

@test "--by job: the site's rules come first; a bad rules file is refused with its line, and nothing is shown" {
	job_cgroups
	local t0=${REPLY[0]}
	tm-load --cgroup "$CG"
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	printf '# a site scheduler\nbatch **/slurmstepd.scope/job_{id}\n' >"$BIN/jobs"
	TM_JOB_RULES=$BIN/jobs run tm-stat --by job --json --user $A
	[ "$(jq -r '.[] | select(.job == "4711") | .kind' <<<"$output")" = batch ]
	printf 'batch **/job_{name}\n' >"$BIN/jobs"
	TM_JOB_RULES=$BIN/jobs run tm-stat --by job --json --user $A
	[ "$status" = 1 ]
	[ "$output" = "tm-stat: $BIN/jobs:1: '**/job_{name}': a field must be {id}, {step}, {task} or {uid}" ]
	mkfifo "$BIN/fifo"
	TM_JOB_RULES=$BIN/fifo run timeout 10 tm-stat --by job --user $A
	[ "$status" = 1 ]
	[[ $output == *"$BIN/fifo"*FIFO* ]] || [[ $output == *"$BIN/fifo"*fifo* ]]
}

@test "--by job: hostile job names reach every format escaped, one row each" {
	local s=/system.slice/slurmstepd.scope
	new_cgroup /system.slice
	new_cgroup $s
	new_cgroup "$s/job_a\"b"$'\e[2J'"c,d"
	local job=$REPLY
	tm-load --cgroup "$CG"
	udp_exchange "$job" $A "$CG" $B 127.0.0.1 1 100
	run tm-stat --by job --json --user $A
	[ "$(jq -r '.[0].job' <<<"$output")" = "a\"b"$'\e[2J'"c,d" ]
	run tm-stat --by job --format csv --user $A
	[ "$(wc -l <<<"$output")" = 2 ]
	refute grep -q $'\e' <<<"$output"
	run tm-stat --by job --user $A
	refute grep -q $'\e' <<<"$output"
	[[ $output == *'a"b\x1b[2Jc,d'* ]]
	run tm-stat --format prometheus
	refute grep -q $'\e' <<<"$output"
	grep -qF 'jobid="a\"b␛[2Jc,d",kind="slurm"} 128' <<<"$output"
	promtool check metrics <<<"$output"
}

@test "--job and --cgroup: only the rows of a job's cgroups or of a subtree, in each breakdown of the details; refused where they do not go" {
	job_cgroups
	local t0=${REPLY[0]} tb=${REPLY[1]} u0=${REPLY[2]} s=/$ID/system.slice/slurmstepd.scope
	tm-load --cgroup "$CG"
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$tb" $A "$CG" $B ::1 1 100
	udp_exchange "$u0" $A "$CG" $B 127.0.0.1 3 100
	# Job 4711: 2 x 128 over IPv4 and 1 x 148 over IPv6, sent by A.
	run tm-stat --by proto --job 4711 --json
	[ "$(jq -c '[.[] | [.uid, .proto, .out_bytes, .out_packets]]' <<<"$output")" = "[[$A,\"udp\",404,3]]" ]
	run tm-stat --by job --job 4712 --json
	[ "$(jq -c '[.[] | [.job, .out_bytes]]' <<<"$output")" = '[["4712",384]]' ]
	run tm-stat --by cgroup --cgroup "$s/job_4711/" --json
	[ "$(jq -r '.[] | [.cgroup, .out_bytes] | @tsv' <<<"$output")" = "$s/job_4711/step_0/user/task_0	256
$s/job_4711/step_batch/user/task_0	148" ]
	run tm-stat --by proc -c "$CG2$s" --json
	[ "$(jq -c '[.[] | .uid] | unique' <<<"$output")" = "[$A]" ]
	[ "$(jq '[.[] | .out_bytes] | add' <<<"$output")" = 788 ]
	# A path is whole parts: job_47 is not job_4711's parent.
	run tm-stat --by cgroup --cgroup "$s/job_47" --json
	[ "$output" = "[]" ]
	run tm-stat --by iface --job 9999 --json
	[ "$output" = "[]" ]
	# Connections: by the cgroup of the socket that made the row.
	run tm-stat --by conn --job 4711 --json
	[ "$(jq -c '[.[] | [.uid, .family, .out_bytes, .out_packets]] | sort' <<<"$output")" = "[[$A,\"ipv4\",256,2],[$A,\"ipv6\",148,1]]" ]
	run tm-stat --by conn --cgroup "$s/job_4712" --json
	[ "$(jq -c '[.[] | .out_bytes]' <<<"$output")" = "[384]" ]
	local bad
	for bad in "--job 4711" "--by family --job 4711" "--by family --cgroup /" "--by job --job ''" \
		"--by job --job a/b" "--by cgroup --cgroup rel/path" "--by cgroup --cgroup /a$'\e'b" \
		"--format prometheus --job 4711"; do
		eval "run tm-stat $bad"
		[ "$status" = 2 ] || { echo "not refused: $bad" >&2; false; }
		[[ $output == tm-stat:* ]]
		refute grep -q $'\e' <<<"$output"
	done
}
