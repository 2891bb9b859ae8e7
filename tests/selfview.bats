#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Self-view: an installed copy (make install DESTDIR=...), its tm-stat
# setuid root, run by two unprivileged UIDs with traffic of known size.

load lib

A=42471
B=42472
ADMIN_GID=42479

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	# A directory users may enter, on a file system that honours setuid.
	local d
	for d in /tmp /var/tmp "$BATS_TEST_DIRNAME/.."; do
		findmnt -no OPTIONS -T "$d" | grep -qw nosuid || break
	done
	SV=$(mktemp -d "$d/tm-sv.XXXXXX")
	chmod 0755 "$SV"
	export SV SV_ROOT=/sys/fs/bpf/tmsv${SV##*.}
	# Built with its own pin root: what its setuid tm-stat reads.
	make -s -C "$BATS_TEST_DIRNAME/.." OUT="$SV/build" PIN_ROOT="$SV_ROOT" HISTORY_DB="$SV/history.db" \
		install DESTDIR="$SV/inst" PREFIX=/usr >/dev/null
	# What users run in bin/, the admin's in sbin/.
	export SBIN=$SV/inst/usr/sbin UBIN=$SV/inst/usr/bin
}

teardown_file() {
	[ -n "${SV:-}" ] && rm -rf "$SV"
}

setup() {
	tm_setup
	# The installed commands, at the pin root built in.
	export TM_PIN_ROOT=$SV_ROOT
	PATH=$SBIN:$UBIN:$PATH
}

teardown() { tm_teardown; }

# user_stat UID [--groups=GID] -- ARGS...: the installed tm-stat run as UID,
# with no supplementary group or that one.
user_stat() {
	local uid=$1 groups=--clear-groups
	shift
	[ "$1" != -- ] && { groups=$1; shift; }
	shift
	setpriv --reuid="$uid" --regid="$uid" "$groups" "$UBIN/tm-stat" "$@"
}

# traffic: A sends 4 datagrams of 100 bytes to B, B 2 of 300 to B.
traffic() {
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" $B "$CG" $B 127.0.0.1 2 300
}

@test "the installed tm-stat, tm-stream, tm-top and tm-report are setuid root and the rest is not" {
	[ "$(stat -c '%a %U' "$UBIN/tm-stat" "$UBIN/tm-stream" "$UBIN/tm-top" "$UBIN/tm-report")" = "4755 root
4755 root
4755 root
4755 root" ]
	for c in tm-load tm-unload tm-mask; do
		[ "$(stat -c %a "$SBIN/$c")" = 755 ]
	done
}

@test "each user sees exactly their own totals, connections and processes, and nothing of the other's" {
	tm-load --cgroup "$CG"
	traffic
	run user_stat $A -- --json
	[ "$status" = 0 ]
	[ "$(jq -c 'map([.uid, .in_bytes, .out_bytes, .out_packets])' <<<"$output")" = "[[$A,0,512,4]]" ]
	run user_stat $B -- --json
	[ "$(jq -c 'map([.uid, .in_bytes, .out_bytes, .in_packets])' <<<"$output")" = "[[$B,1168,656,6]]" ]
	for by in conn proc iface proto cgroup; do
		run user_stat $A -- --by $by --json
		[ "$status" = 0 ]
		[ "$(jq -r 'map(.uid) | unique | map(tostring) | join(" ")' <<<"$output")" = "$A" ]
		[ "$(jq '[.[].out_bytes] | add' <<<"$output")" = 512 ]
		run user_stat $B -- --by $by --json
		[ "$status" = 0 ]
		[ "$(jq -r 'map(.uid) | unique | map(tostring) | join(" ")' <<<"$output")" = "$B" ]
	done
	run user_stat $A -- --by conn --json
	[ "$(jq -r '.[0] | [.remote, .rport > 0, .comm] | @tsv' <<<"$output")" = "127.0.0.1	true	tmtraffic" ]
	# The table: their row, no host notes, nobody else's.
	run user_stat $A -- --bytes
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[1]}" =~ ^$A\ +$A\ +0\ +512\ +0\ +4$ ]]
	# Root sees both.
	[ "$(tm-stat --json | jq length)" = 2 ]
}

@test "a user's --format prometheus and --textfile hold their own series only, and none of the host's health" {
	tm-load --cgroup "$CG"
	traffic
	run user_stat $A -- --format prometheus
	[ "$status" = 0 ]
	grep -qx "tm_transmit_bytes_total{user=\"$A\",uid=\"$A\",family=\"ipv4\"} 512" <<<"$output"
	refute grep -q "uid=\"$B\"" <<<"$output"
	refute grep -q '^tm_events_lost_total\|^tm_map_\|^tm_layout_version' <<<"$output"
	[ "$(grep -v '^#' <<<"$output" | grep -vc "uid=\"$A\"")" = 0 ]
	promtool check metrics <<<"$output"
	# --textfile writes as the user, where the user may write.
	mkdir -m 0755 "$BIN/u"
	chown $B:$B "$BIN/u"
	user_stat $B -- --textfile "$BIN/u/tm.prom"
	[ "$(stat -c %u "$BIN/u/tm.prom")" = $B ]
	grep -qx "tm_receive_bytes_total{user=\"$B\",uid=\"$B\",family=\"ipv4\"} 1168" "$BIN/u/tm.prom"
	refute grep -q "uid=\"$A\"" "$BIN/u/tm.prom"
	# Root's has both, and the health.
	run tm-stat --format prometheus
	grep -q "uid=\"$A\"" <<<"$output"
	grep -q "uid=\"$B\"" <<<"$output"
	grep -q '^tm_events_lost_total 0$' <<<"$output"
}

@test "a user's tm-top shows their own rows and totals only, and cannot ask for another's" {
	tm-load --cgroup "$CG"
	traffic
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-top" --batch -n 1 --delay 0.1 --bytes
	[ "$status" = 0 ]
	[ "${lines[1]}" = "total  in 0 B/s  out 0 B/s   since load  in 0  out 512" ]
	[ "$(sed -n '5,$p' <<<"$output" | awk 'NF { print $1 }' | sort -u)" = "$A" ]
	run setpriv --reuid=$B --regid=$B --clear-groups "$UBIN/tm-top" --batch -n 1 --delay 0.1 --by conn
	[ "$status" = 0 ]
	[ "$(sed -n '5,$p' <<<"$output" | awk 'NF { print $1 }' | sort -u)" = "$B" ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-top" --batch -n 1 --user $B
	[ "$status" = 1 ]
	[[ "$output" == *"you may see your own traffic only"* ]]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-top" --batch --pin-root "$TM_PIN_ROOT"
	[ "$status" = 2 ]
	# Root sees both.
	run "$UBIN/tm-top" --batch -n 1 --delay 0.1
	[ "$(sed -n '5,$p' <<<"$output" | awk 'NF { print $1 }' | sort -u | wc -l)" = 2 ]
}

@test "a user's tm-report shows their own history only, from the database root keeps" {
	rm -f "$SV"/history.db*
	tm-load --cgroup "$CG"
	traffic
	tm-record --db "$SV/history.db" --once
	[ "$(stat -c '%a %U' "$SV/history.db")" = "600 root" ]
	refute setpriv --reuid=$A --regid=$A --clear-groups cat "$SV/history.db" >/dev/null 2>&1
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-report" --format json
	[ "$status" = 0 ]
	[ "$(jq -c '[.users[] | [.uid, .out_bytes]]' <<<"$output")" = "[[$A,512]]" ]
	run setpriv --reuid=$B --regid=$B --clear-groups "$UBIN/tm-report" --format csv
	[ "$status" = 0 ]
	[ "$(awk -F, 'NR > 1 { print $3 }' <<<"$output" | sort -u)" = "$B" ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-report" --user $B
	[ "$status" = 1 ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-report" --db "$SV/history.db"
	[ "$status" = 2 ]
	[[ "$output" == *"only root chooses the database"* ]]
	# Root sees both.
	run "$UBIN/tm-report" --format json
	[ "$(jq '.users | length' <<<"$output")" = 2 ]
	rm -f "$SV"/history.db*
}

@test "a user's tm-report --jobs shows their own jobs only" {
	rm -f "$SV"/history.db*
	tm-load --cgroup "$CG"
	local u id
	new_cgroup /system.slice
	new_cgroup /system.slice/slurmstepd.scope
	for u in $A $B; do
		id=77$u
		new_cgroup /system.slice/slurmstepd.scope/job_$id
		udp_exchange "$REPLY" $u "$CG" $u 127.0.0.1 1 10
		SLURM_JOB_UID=$u "$SBIN/tm-job" start --job $id --db "$SV/history.db"
		SLURM_JOB_UID=$u "$SBIN/tm-job" end --job $id --db "$SV/history.db" >/dev/null
	done
	"$SBIN/tm-job" end --job 7700 --db "$SV/history.db" >/dev/null
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-report" --jobs --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.jobs[] | [.job, .uid, .out_bytes]]' <<<"$output")" = "[[\"77$A\",$A,38]]" ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-report" --job 77$B --json
	[ "$(jq -c '.jobs' <<<"$output")" = "[]" ]
	# Root sees all three, the one of no known user too.
	run "$UBIN/tm-report" --jobs --json
	[ "$(jq '.jobs | length' <<<"$output")" = 3 ]
	rm -f "$SV"/history.db*
}

@test "a user cannot ask for another's rows, choose the pin root or reach the pins another way" {
	tm-load --cgroup "$CG"
	traffic
	run user_stat $A -- --user $B
	[ "$status" = 1 ]
	[ "$output" = "tm-stat: you may see your own traffic only (uid $A)" ]
	run user_stat $A -- --pin-root "$TM_PIN_ROOT"
	[ "$status" = 2 ]
	[[ "$output" == *"only root chooses the pin root"* ]]
	# The environment does not choose it either.
	run env TM_PIN_ROOT=/sys/fs/bpf/elsewhere setpriv --reuid=$A --regid=$A --clear-groups \
		"$UBIN/tm-stat" --json
	[ "$status" = 0 ]
	[ "$(jq -r '.[0].out_bytes' <<<"$output")" = 512 ]
	# Nor can bpftool or the root-only commands, and nothing changes.
	run setpriv --reuid=$A --regid=$A --clear-groups bpftool map dump pinned "$TM_PIN_ROOT/users"
	[ "$status" != 0 ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$SBIN/tm-mask" add 127.0.0.0/8
	[ "$status" = 1 ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$SBIN/tm-unload"
	[ "$status" = 1 ]
	: >"$BIN/none.masks"
	run setpriv --reuid=$A --regid=$A --clear-groups "$SBIN/tm-load" --replace --masks "$BIN/none.masks"
	[ "$status" = 1 ]
	# A template is the user's own business: written as the user, or not at all.
	mkdir -m 0700 "$BIN/rootonly"
	run user_stat $A -- --interval 0.1 --count 1 --output "$BIN/rootonly/%U.log"
	[ "$status" = 2 ]
	[[ "$output" == *"cannot write in '$BIN/rootonly'"* ]]
	[ -z "$(ls -A "$BIN/rootonly")" ]
	[ -z "$(tm-mask list)" ]
	[ -e "$TM_PIN_ROOT/control" ]
	[ "$(tm-stat --json | jq length)" = 2 ]
}

@test "members of the load's admin group (tm-load --group) see every user" {
	tm-load --cgroup "$CG" --group $ADMIN_GID
	traffic
	run user_stat $A --groups=$ADMIN_GID -- --json
	[ "$status" = 0 ]
	[ "$(jq -c 'map(.uid) | sort' <<<"$output")" = "[$A,$B]" ]
	run user_stat $A --groups=$ADMIN_GID -- --user $B --json
	[ "$(jq -r '.[0].in_bytes' <<<"$output")" = 1168 ]
	# Not a member: their own only.
	run user_stat $A -- --json
	[ "$(jq -c 'map(.uid)' <<<"$output")" = "[$A]" ]
	# --replace can name the group later.
	tm-load --replace --group 0
	run user_stat $A --groups=$ADMIN_GID -- --json
	[ "$(jq -c 'map(.uid)' <<<"$output")" = "[$A]" ]
	run tm-load --replace --group no-such-group-tm
	[ "$status" = 2 ]
}

@test "with nothing loaded a user is told so, exit 1" {
	run user_stat $A -- --json
	[ "$status" = 1 ]
	[[ "$output" == "tm-stat: nothing loaded at '$SV_ROOT'"* ]]
}

@test "hostile user names: a terminal escape is shown escaped to its user, and ../ or / cannot move a report file" {
	tm-load --cgroup "$CG"
	traffic
	cp /etc/passwd "$BIN/passwd"
	printf '%s:x:%s:%s::/:/bin/sh\n' $'\e[2J\e]0;x\a' $A $A '../../evil/x' $B $B >>"$BIN/passwd"
	chmod 644 "$BIN/passwd"
	run with_passwd "$BIN/passwd" setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stat"
	[ "$status" = 0 ]
	[[ "$output" != *$'\e'* ]] && [[ "$output" != *$'\a'* ]]
	[[ "${lines[1]}" == '\x1b[2J\x1b]0;x\x07 '* ]]
	run with_passwd "$BIN/passwd" setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stat" --json
	[ "$(jq -r '.[0].user' <<<"$output")" = $'\e[2J\e]0;x\a' ]
	# Root's per-user reports stay in the directory the template names.
	mkdir -m 755 "$BIN/rep"
	with_passwd "$BIN/passwd" "$UBIN/tm-stat" --interval 0.1 --count 1 --output "$BIN/rep/%u.log"
	[ -f "$BIN/rep/.._.._evil_x.log" ]
	[ ! -e "$BIN/evil" ]
	[ "$(ls -A "$BIN/rep" | wc -l)" = 2 ]
}

# user_rings: the users' own rings in the load (their streams' keys).
user_rings() {
	bpftool -j map dump pinned "$TM_PIN_ROOT/user_rings" | jq -r '[.[].key | join(" ")] | join(",")'
}

has_user_ring() {
	[ -n "$(user_rings)" ]
}

# child_of PID: PID has a child; CHILD its PID.
child_of() {
	CHILD=$(cat /proc/"$1"/task/"$1"/children 2>/dev/null)
	CHILD=${CHILD% }
	[ -n "$CHILD" ]
}

@test "a user's tm-stream prints their own events only, beside root's, which it can neither take nor hold up" {
	tm-load --cgroup "$CG"
	start_stream
	bg setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" >"$BIN/a.out" 2>"$BIN/a.err"
	local st=${PIDS[-1]} i
	eventually has_user_ring
	# Root's stream is still the reader of the event ring.
	[ "$(reader_pid)" = "$STREAM" ]
	# One stream of A's at a time: no user makes rings without end.
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" --count 1
	[ "$status" = 1 ]
	[[ "$output" == *"you have a tm-stream running already (pid $st): one at a time"* ]]
	traffic
	wait_line "$BIN/a.out" '"total_out":512'
	sleep 0.3
	# A's four datagrams out, nothing of B's.
	[ "$(wc -l <"$BIN/a.out")" = 4 ]
	[ "$(jq -r '[.uid, .dir, .bytes] | @tsv' "$BIN/a.out" | sort -u)" = "$A	out	128" ]
	# Root's has everyone's: A's 4 out, B's 4 + 2 in and 2 out.
	wait_line "$BIN/stream.out" '"total_in":1168'
	[ "$(wc -l <"$BIN/stream.out")" = 12 ]
	# A stops their stream (both halves): root's loses nothing.
	child_of "$st"
	kill -STOP "$st" "$CHILD"
	for i in 1 2 3; do
		traffic
	done
	wait_line "$BIN/stream.out" '"total_in":4672'
	[ "$(wc -l <"$BIN/stream.out")" = 48 ]
	[ "$(tm-status --json | jq .events_lost)" = 0 ]
	kill -CONT "$st" "$CHILD"
	wait_line "$BIN/a.out" '"total_out":2048'
	# A's stream ends; its ring is taken out.
	kill -TERM "$st"
	local rc=0
	wait "$st" || rc=$?
	[ "$rc" = 0 ]
	[ -z "$(user_rings)" ]
}

@test "a user's tm-stream cannot choose the pin root, follow, or read another's events, and ends with the load" {
	tm-load --cgroup "$CG"
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" --pin-root "$TM_PIN_ROOT"
	[ "$status" = 2 ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" --follow
	[ "$status" = 2 ]
	run setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" --user $B
	[ "$status" = 1 ]
	[[ "$output" == *"you may see your own traffic only (uid $A)"* ]]
	# Each refusal took its ring out again, and none read the event ring.
	[ -z "$(user_rings)" ]
	[ "$(reader_pid)" = 0 ]
	bg setpriv --reuid=$A --regid=$A --clear-groups "$UBIN/tm-stream" >"$BIN/a.out" 2>"$BIN/a.err"
	local st=${PIDS[-1]}
	# The dropped child reads (its SIGUSR1 handler set: the parent tells
	# it of the unload with that).
	eventually child_of "$st"
	wait_caught "$CHILD" 10
	tm-unload
	local rc=0
	wait "$st" || rc=$?
	[ "$rc" = 1 ]
	grep -q "the meter at $TM_PIN_ROOT was unloaded" "$BIN/a.err"
}

@test "one user's thousands of processes leave another user's self-view rows exact" {
	tm-load --cgroup "$CG" --max-details 256
	[ "$(as "$CG" $A "$BIN/tmtraffic" udp-procs 127.0.0.1 9 300 10)" = 300 ]
	traffic
	run user_stat $B -- --by proc --json
	[ "$status" = 0 ]
	# Two receiving processes and one sending.
	[ "$(jq -r 'map([.comm, .in_bytes, .out_bytes]) | .[] | @tsv' <<<"$output" | sort)" = "tmtraffic	0	656
tmtraffic	512	0
tmtraffic	656	0" ]
	run user_stat $A -- --by proc --json
	[ "$(jq '[.[].out_bytes] | add' <<<"$output")" = $((300 * 38 + 512)) ]
	[ "$(jq 'map(select(.comm == "(other)")) | length' <<<"$output")" = 1 ]
}

@test "a user's --depth rolls their cgroups up as root's does" {
	mkdir -p "$CG/job/step"
	CGROUPS+=("$CG/job" "$CG/job/step")
	tm-load --cgroup "$CG"
	udp_exchange "$CG/job/step" $A "$CG/job/step" $A 127.0.0.1 3 100
	run user_stat $A -- --by cgroup --depth 1 --json
	[ "$status" = 0 ]
	[ "$(jq -r '.[] | [.cgroup, .out_bytes] | @tsv' <<<"$output")" = "/$ID/job	384" ]
	run user_stat $A -- --by cgroup --depth 0 --json
	[ "$(jq -r '.[0].cgroup' <<<"$output")" = "/$ID" ]
}

@test "a user's --by job shows their own jobs only, and the site's rules only root may point elsewhere" {
	local s=$CG/system.slice/slurmstepd.scope
	mkdir -p "$s/job_1/step_0" "$s/job_2/step_0"
	CGROUPS+=("$CG/system.slice" "$s" "$s/job_1" "$s/job_1/step_0" "$s/job_2" "$s/job_2/step_0")
	tm-load --cgroup "$CG"
	udp_exchange "$s/job_1/step_0" $A "$CG" $B 127.0.0.1 3 100
	udp_exchange "$s/job_2/step_0" $B "$CG" $A 127.0.0.1 2 100
	run user_stat $A -- --by job --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.[] | [.job, .kind, .out_bytes, .in_bytes]]' <<<"$output")" = '[["1","slurm",384,0],[null,null,0,256]]' ]
	run user_stat $B -- --by job --json
	[ "$(jq -c '[.[] | [.job, .out_bytes]]' <<<"$output")" = '[[null,0],["2",256]]' ]
	# A rules file a user names is not read (setuid root would read it for them).
	printf 'mine **/job_{id}\n' >"$BIN/jobs"
	chmod 644 "$BIN/jobs"
	TM_JOB_RULES=$BIN/jobs run user_stat $A -- --by job --json
	[ "$(jq -r '.[0].kind' <<<"$output")" = slurm ]
	TM_JOB_RULES=/etc/shadow run user_stat $A -- --by job --json
	[ "$status" = 0 ]
	refute grep -q shadow <<<"$output"
}
