#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-record: what it stores sums exactly to the traffic made, against
# nftables and tm's own totals, across tm-load --replace, a full unload and
# load, and a kill -9 and restart of tm-record itself.

load lib

setup() {
	tm_setup
	command -v sqlite3 >/dev/null || skip "needs sqlite3 (scripts/install-deps)"
	DB=$BIN/history.db
}

teardown() { tm_teardown; }

A=42671
B=42672

# q SQL: one value from the database.
q() {
	sqlite3 "$DB" "$1"
}

# wait_db SQL WANT: until the query gives WANT (10 s at most).
wait_db() {
	local i got
	for ((i = 0; i < 200; i++)); do
		got=$(sqlite3 "$DB" "$1" 2>/dev/null) && [ "$got" = "$2" ] && return 0
		sleep 0.05
	done
	echo "$1: want $2, got $got" >&2
	return 1
}

# start_record: tm-record every 0.1 s in the background, as REC.
start_record() {
	bg tm-record --db "$DB" --interval 0.1 "$@"
	REC=${PIDS[-1]}
}

A_OUT="SELECT ifnull(sum(out_bytes), 0) FROM traffic WHERE tier = '5min' AND kind = 'user' AND uid = $A"

@test "tm-record's deltas sum exactly to the traffic, across --replace, an unload and load, and kill -9" {
	new_netns r; local ns=$REPLY
	ip netns exec "$ns" nft -f - <<-NFT
		table inet tmrec {
			chain out {
				type filter hook output priority 0
				meta skuid $A counter
			}
		}
	NFT
	tm-load --cgroup "$CG"
	start_record
	# A sends to B over the namespace's loopback: 5 of 100 bytes (128 each).
	IN_NETNS=$ns udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	wait_db "$A_OUT" 640
	# Programs swapped, counters kept: 3 of 200 (228).
	tm-load --replace --cgroup "$CG"
	IN_NETNS=$ns udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 200
	wait_db "$A_OUT" $((640 + 684))
	# tm-record killed, traffic while it is down (2 of 300: 328), restarted.
	kill -9 "$REC"
	wait "$REC" || true
	IN_NETNS=$ns udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 300
	start_record
	wait_db "$A_OUT" $((640 + 684 + 656))
	local first_load
	first_load=$(stat_field $A out_bytes)
	[ "$first_load" = $((640 + 684 + 656)) ]
	# A fresh load: its counters start at zero; tm-record waits for it and
	# takes its values as they are (4 of 50: 78).
	tm-unload
	tm-load --cgroup "$CG"
	IN_NETNS=$ns udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 50
	wait_db "$A_OUT" $((640 + 684 + 656 + 312))
	kill -TERM "$REC"
	local rc=0
	wait "$REC" || rc=$?
	[ "$rc" = 0 ]
	# nftables saw the same on the wire; tm's two loads add up to it.
	local nft
	nft=$(ip netns exec "$ns" nft -j list table inet tmrec |
		jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.)][0].bytes')
	[ "$nft" = $((640 + 684 + 656 + 312)) ]
	[ $((first_load + $(stat_field $A out_bytes))) = "$nft" ]
	# B received the same, and the packets add up.
	[ "$(q "SELECT sum(in_bytes), sum(in_packets) FROM traffic WHERE tier = 'hour' AND kind = 'user' AND uid = $B")" = \
		"$nft|14" ]
	# Every tier holds the same sums, series by series.
	[ "$(q "SELECT count(*) FROM (SELECT DISTINCT kind, uid, key, s FROM (SELECT kind, uid, key,
		sum(in_bytes) || ',' || sum(out_bytes) || ',' || sum(in_packets) || ',' || sum(out_packets) AS s
		FROM traffic GROUP BY tier, kind, uid, key))")" = \
	   "$(q "SELECT count(*) FROM (SELECT DISTINCT kind, uid, key FROM traffic)")" ]
	[ "$(q "SELECT count(DISTINCT tier) FROM traffic")" = 5 ]
	# The other breakdowns: the network, the process name, the cgroup.
	[ "$(q "SELECT key, sum(out_bytes) FROM traffic WHERE tier = 'day' AND kind = 'net' AND uid = $A GROUP BY key")" = \
		"127.0.0.0/24|$nft" ]
	[ "$(q "SELECT key, sum(out_bytes) FROM traffic WHERE tier = 'day' AND kind = 'proc' AND uid = $A GROUP BY key")" = \
		"tmtraffic|$nft" ]
	[ "$(q "SELECT key, sum(out_bytes) FROM traffic WHERE tier = 'day' AND kind = 'cgroup' AND uid = $A GROUP BY key")" = \
		"/$ID|$nft" ]
}

@test "tm-record sees an unload and a load that both happen between two of its samples" {
	tm-load --cgroup "$CG"
	start_record
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	wait_db "$A_OUT" 640
	# Held still, it takes no sample while the meter goes and comes back,
	# and the maps it holds open stay alive.
	kill -STOP "$REC"
	tm-unload
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 50
	kill -CONT "$REC"
	wait_db "$A_OUT" $((640 + 312))
	[ "$(stat_field $A out_bytes)" = 312 ]
}

@test "tm-record: remote networks rolled up to the prefixes asked, IPv4 and IPv6; --once; tiers kept at 0 are not written" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$CG" $A "$CG" $B ::1 1 100
	tm-record --db "$DB" --once --prefix4 8 --prefix6 127 --keep-5min 0 --keep-year 0
	[ "$(q "SELECT key, sum(out_bytes) FROM traffic WHERE tier = 'hour' AND kind = 'net' AND uid = $A GROUP BY key ORDER BY key")" = \
		"127.0.0.0/8|256
::/127|148" ]
	[ "$(q "SELECT group_concat(DISTINCT tier) FROM (SELECT tier FROM traffic ORDER BY tier)")" = "day,hour,month" ]
	# Everyone's history: readable by root alone.
	[ "$(stat -c %a "$DB")" = 600 ]
	# Nothing new: a second sample adds nothing.
	tm-record --db "$DB" --once --keep-5min 0 --keep-year 0
	[ "$(q "SELECT sum(out_bytes) FROM traffic WHERE tier = 'day' AND kind = 'user'")" = 404 ]
}

@test "tm-record without --db keeps the history tm-report reads by default; --count N takes N samples and exits" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 2 100
	# /var/lib as a fresh tmpfs of this test's own (the machine's is not touched).
	run unshare -m sh -c 'mount -t tmpfs tm-record /var/lib && mkdir /var/lib/tm &&
		timeout 20 tm-record --count 3 --interval 0.1 &&
		sqlite3 /var/lib/tm/history.db "SELECT sum(out_bytes) FROM traffic WHERE tier = '"'day'"' AND kind = '"'user'"' AND uid = $1"' sh $A
	[ "$status" = 0 ]
	[ "$output" = 256 ]
	[ "$(tm-report --help | grep -c -- '--db PATH        the database (default /var/lib/tm/history.db)')" = 1 ]
}

@test "tm-record refuses bad options and a database it cannot use, and changes nothing" {
	tm-load --cgroup "$CG"
	local bad
	for bad in "--db" "--db $DB --interval 0" "--db $DB --count 0" "--db $DB -n x" "--db $DB --prefix4 33" "--db $DB --prefix6 x" \
		"--db $DB --keep-day -2" "--db $DB --keep-hour x" "--db $DB extra"; do
		run tm-record $bad
		[ "$status" = 2 ] || { echo "$bad: $status $output" >&2; false; }
	done
	[ ! -e "$DB" ]
	echo "not a database" >"$BIN/junk.db"
	run tm-record --db "$BIN/junk.db" --once
	[ "$status" = 1 ]
	[ "$(cat "$BIN/junk.db")" = "not a database" ]
	run tm-record --db "$BIN/no/such/dir/h.db" --once
	[ "$status" = 1 ]
	tm-unload
	run tm-record --db "$DB" --once
	[ "$status" = 1 ]
	[[ "$output" == *"nothing loaded"* ]]
}

@test "tm-record retires the rows of cgroups that ended once recorded: job after job on a small share, each exact, none in (other), the history exact" {
	# --max-details 256: a user's share is 16 rows; each job makes 2 of A's.
	tm-load --cgroup "$CG" --max-details 256
	local i job sum=0 p
	for ((i = 1; i <= 40; i++)); do
		new_cgroup "/job_$i"
		job=$REPLY
		udp_exchange "$job" $A "$job" $A 127.0.0.1 1 $((100 + i))
		sum=$((sum + 128 + i))
		# While it is there: its own row, exact (not in the row (other)).
		p=/$ID/job_$i
		[ "$(tm-stat --by cgroup --json --user $A | jq -r --arg p "$p" '.[] | select(.cgroup == $p) | .out_bytes')" = $((128 + i)) ] ||
			{ echo "job $i not in its own row" >&2; false; }
		rmdir "$job"
		tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
	done
	run tm-status --json
	[ "$(jq .details_other <<<"$output")" = 0 ]
	[ "$(jq .details_retired <<<"$output")" = 80 ]
	[ "$(jq .cgroups_retired <<<"$output")" = 40 ]
	# The breakdown still adds up to A's total: (retired) holds the jobs'.
	run tm-stat --by cgroup --json --user $A
	[ "$(jq -r '.[] | [.cgroup, .out_bytes, .in_bytes] | @tsv' <<<"$output")" = "(retired)	$sum	$sum" ]
	[ "$(tm-stat --json --user $A | jq '.[0].out_bytes')" = "$sum" ]
	run tm-stat --by proc --json --user $A
	[ "$(jq -c 'map([.comm, .pid, .out_bytes])' <<<"$output")" = "[[\"(retired)\",null,$sum]]" ]
	# The history: every job under its path, exact; the processes' name once.
	run tm-report --db "$DB" --json --top 100 --user $A
	[ "$(jq '.users[0].cgroups | length' <<<"$output")" = 40 ]
	[ "$(jq '[.users[0].cgroups[].out_bytes] | add' <<<"$output")" = "$sum" ]
	[ "$(jq -r --arg p "/$ID/job_7" '.users[0].cgroups[] | select(.key == $p) | .out_bytes' <<<"$output")" = 135 ]
	[ "$(jq -c '.users[0].processes | map([.key, .out_bytes])' <<<"$output")" = "[[\"tmtraffic\",$sum]]" ]
	[ "$(jq '.users[0].out_bytes' <<<"$output")" = "$sum" ]
	# A path made again after its first cgroup was retired: its history is both.
	mkdir "$CG/job_1"
	udp_exchange "$CG/job_1" $A "$CG/job_1" $A 127.0.0.1 2 101
	tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
	run tm-report --db "$DB" --json --top 100 --user $A
	[ "$(jq -r --arg p "/$ID/job_1" '.users[0].cgroups[] | select(.key == $p) | .out_bytes' <<<"$output")" = $((3 * 129)) ]
	[ "$(jq -c '.users[0].processes | map([.key, .out_bytes])' <<<"$output")" = "[[\"tmtraffic\",$((sum + 258))]]" ]
}

# bats test_tags=bulk
@test "a thousand jobs in a row on one load of default sizes: each job exact in the history, the maps never full, one series per label set" {
	tm-load --cgroup "$CG"
	local pf=$BIN/port port i j want=0
	# B receives every job's datagram on one socket of its own.
	bg as "$CG" $B "$BIN/tmtraffic" udp-drain 127.0.0.1 "$pf"
	wait_file "$pf"
	port=$(cat "$pf")
	for ((i = 0; i < 10; i++)); do
		[ "$("$BIN/tmtraffic" udp-jobs 127.0.0.1 "$port" "$CG" $((i * 100)) 100 100 $A)" = 100 ]
		tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
		run tm-stat --format prometheus
		[ -z "$(same_labels)" ]
	done
	for ((j = 0; j < 1000; j++)); do
		want=$((want + 128 + j % 100))
	done
	run tm-status --json
	[ "$(jq -c '[.details_other, .details_full_packets, .cgroups_full, .details_retired, .cgroups_retired]' <<<"$output")" = \
		"[0,0,0,1000,1000]" ]
	# What is left of the maps is what lives: B's one row, the metered cgroup.
	[ "$(jq '.maps[] | select(.name == "details") | .entries' <<<"$output")" -le 2 ]
	[ "$(jq '.maps[] | select(.name == "cgroups") | .entries' <<<"$output")" -lt 10 ]
	[ "$(tm-stat --json --user $A | jq '.[0].out_bytes')" = "$want" ]
	[ "$(stat_field $B in_bytes)" = "$want" ]
	run tm-stat --by job --json --user $A
	[ "$(jq -c 'map([.job, .out_bytes])' <<<"$output")" = "[[\"(retired)\",$want]]" ]
	# The history has every job under its own path, each exact.
	run tm-report --db "$DB" --json --top 2000 --user $A
	[ "$(jq '.users[0].cgroups | length' <<<"$output")" = 1000 ]
	[ "$(jq --arg p "/$ID/job_" '[.users[0].cgroups[] | select(.out_bytes != 128 + ((.key | ltrimstr($p) | tonumber) % 100))] | length' <<<"$output")" = 0 ]
	[ "$(jq '.users[0].out_bytes' <<<"$output")" = "$want" ]
}

# cgroups_made UID DIR FIRST N: N cgroups DIR/cFIRST... made by UID, each
# with a socket made in it; the process ends back in DIR.
cgroups_made() {
	local i
	for ((i = $3; i < $3 + $4; i++)); do
		CGROUPS+=("$2/c$i")	# removed at teardown, children first
	done
	as "$2" "$1" /usr/bin/python3 -c 'import os, socket, sys
d, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def enter(path):
    with open(path + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
for i in range(first, first + n):
    os.mkdir("%s/c%d" % (d, i))
    enter("%s/c%d" % (d, i))
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
enter(d)' "$2" "$3" "$4"
}

# recorded: entries of the cgroups map.
recorded() {
	tm-status --json | jq '.maps[] | select(.name == "cgroups") | .entries'
}

# bats test_tags=bulk
@test "a user's own cgroups (a delegated subtree) are recorded on their share, given back once retired; the host's never on it" {
	tm-load --cgroup "$CG"
	local share=$((8192 / 16)) n=600 before i
	# A subtree delegated to A, as systemd delegates user@UID.service.
	new_cgroup /user; local d=$REPLY
	chown $A:$A "$d" "$d/cgroup.procs" "$d/cgroup.threads" "$d/cgroup.subtree_control"
	before=$(recorded)
	cgroups_made $A "$d" 0 $n
	# Recorded: the share, the delegated cgroup itself one of them.
	[ "$(recorded)" = $((before + share)) ]
	[ "$(tm-status --json | jq .cgroups_share)" = $((n - share + 1)) ]
	[ "$(tm-status --json | jq .cgroups_full)" = 0 ]
	tm-status | grep -q "^ *$((n - share + 1)) cgroups unrecorded (their owner's share of cgroups used)"
	tm-stat --format prometheus | grep -qx "tm_cgroups_unrecorded_share_total $((n - share + 1))"
	tm-stat --by cgroup 2>&1 >/dev/null | grep -q "cgroups of users' own (delegated) subtrees could not be recorded"
	# The host's cgroups are on no user's share: recorded all the same.
	new_cgroup /job_1; local job=$REPLY
	as "$job" $A /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()'
	[ "$(recorded)" = $((before + share + 1)) ]
	# A's cgroups end and are retired: A's share is theirs again.
	for ((i = 0; i < n; i++)); do
		rmdir "$d/c$i"
	done
	tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
	[ "$(recorded)" = $((before + 2)) ]
	cgroups_made $A "$d" $n 10
	[ "$(recorded)" = $((before + 12)) ]
	[ "$(tm-status --json | jq .cgroups_share)" = $((n - share + 1)) ]
	# Names given back make no row: A's breakdowns have no (retired).
	[ "$(tm-stat --by cgroup --json --user $A | jq 'map(select(.cgroup == "(retired)")) | length')" = 0 ]
}

@test "tm-record --grace: rows of ended cgroups stay --grace after they ended, across a restart, so the exposition sees their last values; with --no-history a job's go into its ledger row, the rest counted unrecorded; no traffic rows" {
	tm-load --cgroup "$CG"
	local id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	new_cgroup /plain; local plain=$REPLY
	new_cgroup /system.slice
	new_cgroup /system.slice/docker-$id.scope; local dk=$REPLY
	udp_exchange "$plain" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$dk" $A "$CG" $B 127.0.0.1 2 100
	rmdir "$plain" "$dk"
	# Both wait, in the breakdowns and the exposition; the container's row open.
	tm-record --db "$DB" --no-history --grace 2 --once
	[ "$(tm-status --json | jq .details_retired)" = 0 ]
	[ "$(tm-stat --by cgroup --json --user $A | jq -r --arg p "/$ID/plain" '.[] | select(.cgroup == $p) | .out_bytes')" = 128 ]
	tm-stat --format prometheus | grep -q "^tm_job_transmit_bytes_total{.*jobid=\"$id\".*} 256$"
	[ "$(q "SELECT kind, out_bytes, end IS NULL FROM jobs")" = "docker|0|1" ]
	# Another tm-record before the grace is over: still there.
	tm-record --db "$DB" --no-history --grace 2 --once
	[ "$(tm-status --json | jq .details_retired)" = 0 ]
	sleep 2.2
	# Then the container's rows go into its row, closed at its end; the rest unrecorded.
	tm-record --db "$DB" --no-history --grace 2 --once
	[ "$(q "SELECT kind, out_bytes, out_packets, end IS NOT NULL, end < strftime('%s', 'now') - 1 FROM jobs")" = "docker|256|2|1|1" ]
	run tm-status --json
	local all; all=$(jq .details_retired <<<"$output")
	local job; job=$(q "SELECT count(*) FROM job_cgroups")
	[ "$all" -gt 1 ]
	[ "$(jq .details_retired_unrecorded <<<"$output")" -gt 0 ]
	[ "$(jq .details_retired_unrecorded <<<"$output")" -lt "$all" ]
	# Their bytes in A's (retired), A's total whole; no traffic rows written.
	[ "$(tm-stat --by cgroup --json --user $A | jq -r '.[] | [.cgroup, .out_bytes] | @tsv')" = "(retired)	384" ]
	[ "$(tm-stat --json --user $A | jq '.[0].out_bytes')" = 384 ]
	[ "$(q "SELECT count(*) FROM traffic")" = 0 ]
	run tm-stat --format prometheus
	grep -qx "tm_details_retired_unrecorded_total $(tm-status --json | jq .details_retired_unrecorded)" <<<"$output"
	refute grep -q "jobid=\"$id\"" <<<"$output"
	# What was waiting is forgotten at the next sample.
	tm-record --db "$DB" --no-history --grace 2 --once
	[ "$(q "SELECT count(*) FROM ended")" = 0 ]
	# With a history, every row retired is recorded: none unrecorded.
	new_cgroup /plain2; local p2=$REPLY
	udp_exchange "$p2" $A "$CG" $B 127.0.0.1 1 100
	rmdir "$p2"
	local unrec; unrec=$(tm-status --json | jq .details_retired_unrecorded)
	tm-record --db "$DB" --grace 0 --once
	[ "$(tm-status --json | jq .details_retired)" -gt "$all" ]
	[ "$(tm-status --json | jq .details_retired_unrecorded)" = "$unrec" ]
	# What it refuses: a history with --no-history, a negative grace.
	run tm-record --db "$DB" --no-history --keep-day 3 --once
	[ "$status" = 2 ] && [[ $output == *"not with --keep-day"* ]]
	run tm-record --db "$DB" --no-history --grace -1 --once
	[ "$status" = 2 ]
}
