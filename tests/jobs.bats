#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The job ledger: tm-job start and end as Slurm's prolog and epilog run
# them, each job's row exact, whole and written once.

load lib

setup() {
	tm_setup
	command -v sqlite3 >/dev/null || skip "needs sqlite3 (scripts/install-deps)"
	DB=$BIN/history.db
}

teardown() { tm_teardown; }

A=42691
B=42692

# slurm_job ID [DIR]: Slurm's cgroups of job ID below the test's cgroup
# (in DIR, job_ID if not given), steps 0 and batch; their task cgroups in
# REPLY.
slurm_job() {
	local s=/system.slice/slurmstepd.scope/${2:-job_$1} d leaves=()
	[ -d "$CG/system.slice" ] || new_cgroup /system.slice
	[ -d "$CG/system.slice/slurmstepd.scope" ] || new_cgroup /system.slice/slurmstepd.scope
	for d in $s $s/step_0 $s/step_0/user $s/step_0/user/task_0 $s/step_batch \
		$s/step_batch/user $s/step_batch/user/task_0; do
		new_cgroup "$d"
		[[ $d == */task_0 ]] && leaves+=("$REPLY")
	done
	REPLY=("${leaves[@]}")
}

# slurm ID CMD...: CMD with the environment Slurm gives a prolog or epilog
# (the account $ACCOUNT, phys if unset).
slurm() {
	local id=$1
	shift
	SLURM_JOB_ID=$id SLURM_JOB_USER=alice SLURM_JOB_UID=$A SLURM_JOB_ACCOUNT=${ACCOUNT-phys} \
		SLURM_JOB_PARTITION=batch SLURMD_NODENAME=n1 "$@"
}

# q SQL: one answer from the ledger.
q() {
	sqlite3 -separator ' ' "$DB" "$1"
}

@test "a job's row: opened by the prolog, closed by the epilog with exactly what its cgroups moved, by family and interface; its steps that ended kept for it" {
	tm-load --cgroup "$CG"
	slurm_job 4711; local t0=${REPLY[0]} tb=${REPLY[1]}
	slurm_job 4712; local u0=${REPLY[0]}
	run slurm 4711 tm-job start --db "$DB"
	[ "$status" = 0 ] && [ -z "$output" ]
	# Made by the prolog: everyone's jobs, root's alone.
	[ "$(stat -c '%a %U' "$DB")" = "600 root" ]
	[ "$(q "SELECT node, kind, id, user, uid, account, partition, end IS NULL FROM jobs")" = "n1 slurm 4711 alice $A phys batch 1" ]
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$tb" $A "$CG" $B 127.0.0.1 1 300
	udp_exchange "$u0" $A "$CG" $B 127.0.0.1 4 100
	# B to the job: what it received.
	udp_exchange "$CG" $B "$tb" $A 127.0.0.1 3 50
	# Step 0 ends and tm-record retires what ended: not the open job's rows.
	rmdir "$t0" "${t0%/*}" "${t0%/*/*}"
	tm-record --grace 0 --db "$DB" --once
	[ "$(tm-status --json | jq .details_retired)" = 0 ]
	run slurm 4711 tm-job end --db "$DB"
	[ "$status" = 0 ]
	[ "$output" = "job 4711 (slurm, alice, account phys): received 234 B in 3 packets, sent 584 B in 3 packets" ]
	[ "$(q "SELECT in_bytes, out_bytes, in_packets, out_packets, end >= start, start > 0 FROM jobs WHERE id = '4711'")" = "234 584 3 3 1 1" ]
	[ "$(q "SELECT family, iface, in_bytes, out_bytes, in_packets, out_packets FROM job_parts")" = "ipv4 lo 234 584 3 3" ]
	# Its remote networks, as its connection rows had them (step 0's too).
	[ "$(q "SELECT net, in_bytes, out_bytes, in_packets, out_packets FROM job_nets")" = "127.0.0.0/24 234 584 3 3" ]
	# Once closed, its rows may go: the next sample retires step 0's.
	tm-record --grace 0 --db "$DB" --once
	[ "$(tm-status --json | jq .details_retired)" -gt 0 ]
	# Run again (a rerun, a retry after a kill): the same line, the row as it was.
	local before
	before=$(q "SELECT * FROM jobs; SELECT * FROM job_parts")
	run slurm 4711 tm-job end --db "$DB"
	[ "$status" = 0 ]
	[ "$output" = "job 4711 (slurm, alice, account phys): received 234 B in 3 packets, sent 584 B in 3 packets (ended before)" ]
	[ "$(q "SELECT * FROM jobs; SELECT * FROM job_parts")" = "$before" ]
	# A prolog run again while its job runs opens nothing new.
	slurm 4712 tm-job start --db "$DB"
	slurm 4712 tm-job start --db "$DB"
	[ "$(q "SELECT count(*) FROM jobs WHERE id = '4712'")" = 1 ]
	run slurm 4712 tm-job end --db "$DB" --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.node, .kind, .job, .user, .uid, .account, .partition, .in_bytes, .out_bytes, .in_packets, .out_packets, .closed_before, (.parts | length)]' <<<"$output")" = \
		"[\"n1\",\"slurm\",\"4712\",\"alice\",$A,\"phys\",\"batch\",0,512,0,4,false,1]" ]
}

@test "a job no prolog opened gets its row at its end; one with no traffic a row of zeros; another kind by --kind and --job" {
	tm-load --cgroup "$CG"
	slurm_job 5001; local t0=${REPLY[0]}
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 1 10
	run tm-job end --db "$DB" --job 5001 --job-user $A --node n2
	[ "$status" = 0 ]
	[ "$output" = "job 5001 (slurm, $A): received 0 B in 0 packets, sent 38 B in 1 packets" ]
	[ "$(q "SELECT node, start, uid, out_bytes, account IS NULL FROM jobs")" = "n2 0 $A 38 1" ]
	run tm-job end --db "$DB" --job 5002 --node n2 --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.start, .in_bytes, .out_bytes, .parts]' <<<"$output")" = "[null,0,0,[]]" ]
	# A container, by its kind and id as tm-stat --by job shows them.
	local id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	new_cgroup /system.slice/docker-$id.scope 2>/dev/null || { new_cgroup /system.slice; new_cgroup /system.slice/docker-$id.scope; }
	udp_exchange "$REPLY" $B "$CG" $A 127.0.0.1 2 10
	run tm-job end --db "$DB" --kind docker --job "$id" --node n2 --json
	[ "$(jq -c '[.kind, .out_bytes, .out_packets]' <<<"$output")" = '["docker",76,2]' ]
	# Its remote networks: the top ten by bytes, of twelve (IPv4 as /24s, IPv6 as /64s).
	local i id2=${id/0123/4567}
	new_cgroup /system.slice/docker-$id2.scope; local c2=$REPLY
	for ((i = 1; i <= 11; i++)); do
		udp_exchange "$c2" $B "$CG" $A 127.0.$i.1 $i 10
	done
	udp_exchange "$c2" $B "$CG" $A ::1 20 10
	run tm-job end --db "$DB" --kind docker --job "$id2" --node n2 --json
	[ "$(jq -c '[.networks[] | [.network, .out_bytes, .out_packets]]' <<<"$output")" = \
		'[["::/64",1160,20],["127.0.11.0/24",418,11],["127.0.10.0/24",380,10],["127.0.9.0/24",342,9],["127.0.8.0/24",304,8],["127.0.7.0/24",266,7],["127.0.6.0/24",228,6],["127.0.5.0/24",190,5],["127.0.4.0/24",152,4],["127.0.3.0/24",114,3]]' ]
	[ "$(jq .out_bytes <<<"$output")" = $((66 * 38 + 1160)) ]
}

@test "tm-job refuses what it cannot take, exit 2, and writes nothing; with nothing loaded the epilog is exit 1 and the job stays open" {
	run tm-job start --db "$DB"
	[ "$status" = 2 ]
	[[ "$output" == *"no job: --job ID, or \$SLURM_JOB_ID"* ]]
	run tm-job stop --db "$DB" --job 1
	[ "$status" = 2 ]
	[[ "$output" == *"'stop': start or end"* ]]
	run tm-job start --db "$DB" --job 1 --kind 'Slurm!'
	[ "$status" = 2 ]
	[[ "$output" == *"--kind: 'Slurm!': lower-case letters, digits, - and _ only"* ]]
	run env SLURM_JOB_ID=1 SLURM_JOB_ACCOUNT=$'ph\nys' tm-job start --db "$DB"
	[ "$status" = 2 ]
	[[ "$output" == *"\$SLURM_JOB_ACCOUNT: 'ph\\nys': a control character"* ]]
	run tm-job start --db "$DB" --job 1 --job-user no-such-user-here
	[ "$status" = 2 ]
	run tm-job start --db "" --job 1
	[ "$status" = 2 ]
	[ ! -e "$DB" ]
	# Nothing loaded: the prolog records, the epilog cannot read a total.
	tm-job start --db "$DB" --job 7
	run tm-job end --db "$DB" --job 7
	[ "$status" = 1 ]
	[ "$(q "SELECT id, end IS NULL FROM jobs")" = "7 1" ]
}

@test "hostile accounts reach the ledger as they are, and the line and JSON whole; control characters are refused" {
	tm-load --cgroup "$CG"
	local acct=$'x",E[2J\xff' id='4713'
	slurm_job "$id"
	run env SLURM_JOB_ID=$id SLURM_JOB_ACCOUNT="$acct" tm-job start --db "$DB"
	[ "$status" = 0 ]
	run env SLURM_JOB_ID=$id tm-job end --db "$DB" --json
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 1 ]
	[ "$(jq -r .account <<<"$output")" = $'x",E[2J\xef\xbf\xbd' ]
	run env SLURM_JOB_ID=$id tm-job end --db "$DB"
	[ "${#lines[@]}" = 1 ]
	[ "$output" = 'job 4713 (slurm, account x",E[2J\xff): received 0 B in 0 packets, sent 0 B in 0 packets (ended before)' ]
	[ "$(sqlite3 "$DB" "SELECT hex(account) FROM jobs")" = "$(printf 'x",E[2J\377' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" ]
}

@test "tm-report --jobs: the jobs that ran, most bytes first; a job, an account, a range; table, JSON, CSV and a page" {
	tm-load --cgroup "$CG"
	local id t
	for id in 6001 6002 6003; do
		slurm_job $id
		t=${REPLY[0]}
		ACCOUNT=$([ $id = 6002 ] && echo chem || echo phys) slurm $id tm-job start --db "$DB"
	done
	udp_exchange "$CG/system.slice/slurmstepd.scope/job_6001/step_0/user/task_0" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$CG/system.slice/slurmstepd.scope/job_6002/step_0/user/task_0" $A "$CG" $B 127.0.0.1 3 100
	udp_exchange "$CG/system.slice/slurmstepd.scope/job_6003/step_0/user/task_0" $A "$CG" $B 127.0.0.1 2 100
	for id in 6001 6002; do
		# (The epilog without the account: the prolog's is kept.)
		ACCOUNT= slurm $id tm-job end --db "$DB" >/dev/null
	done
	# 6003 still runs: in the report, its end null.
	run tm-report --db "$DB" --jobs --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.jobs[] | [.job, .account, .out_bytes, .out_packets, (.end != null)]]' <<<"$output")" = \
		'[["6002","chem",384,3,true],["6001","phys",128,1,true],["6003","phys",0,0,false]]' ]
	[ "$(jq -c '.jobs[0].parts' <<<"$output")" = '[{"family":"ipv4","iface":"lo","in_bytes":0,"out_bytes":384,"in_packets":0,"out_packets":3}]' ]
	run tm-report --db "$DB" --account phys --json
	[ "$(jq -c '[.jobs[].job]' <<<"$output")" = '["6001","6003"]' ]
	run tm-report --db "$DB" --job 6002 --json
	[ "$(jq -c '[.jobs[].job]' <<<"$output")" = '["6002"]' ]
	run tm-report --db "$DB" --jobs --top 1 --json
	[ "$(jq -c '[.jobs[].job]' <<<"$output")" = '["6002"]' ]
	run tm-report --db "$DB" --jobs --user 42999 --json
	[ "$(jq -c '.jobs' <<<"$output")" = '[]' ]
	run tm-report --db "$DB" --jobs --until 2000-01-01 --json
	[ "$(jq -c '.jobs' <<<"$output")" = '[]' ]
	run tm-report --db "$DB" --jobs --bytes
	[ "$status" = 0 ]
	[ "${lines[1]}" = "job 6002 (slurm, alice, account chem): received 0 B in 0 packets, sent 384 B in 3 packets" ]
	# (6003 runs: no parts yet.)
	[ "$(grep -c '^  ipv4  *lo  in 0  out ' <<<"$output")" = 2 ]
	[ "${lines[0]}" = "tm-report  jobs that ran from the first to the last" ]
	run tm-report --db "$DB" --jobs --format csv
	[ "${lines[0]}" = "node,kind,job,user,uid,account,partition,start,end,family,iface,network,in_bytes,out_bytes,in_packets,out_packets,sluid" ]
	[ "$(awk -F, 'NR > 1 && $10 == "" && $12 == "" { print $3 "=" $14 }' <<<"$output" | tr '\n' ' ')" = "6002=384 6001=128 6003=0 " ]
	[ "$(awk -F, '$12 != "" && NR > 1 { print $3 "=" $12 "=" $14 }' <<<"$output" | tr '\n' ' ')" = "6002=127.0.0.0/24=384 6001=127.0.0.0/24=128 " ]
	run tm-report --db "$DB" --jobs --format html --bytes
	[[ "$output" == *"<title>tm: network traffic by job</title>"* ]]
	# The jobs, then their users and their accounts ranked, most bytes first.
	[ "$(grep -c '<tr><td class="n">' <<<"$output")" = 6 ]
	[ "$(sed -n '/<h2>By user</,/<\/table>/p' <<<"$output" | grep -c '<tr><td class="n">1</td><td class="k">alice</td><td class="n">3</td><td class="n">0</td><td class="n">512</td><td class="n">100.0%</td></tr>')" = 1 ]
	[ "$(sed -n '/<h2>By account</,/<\/table>/p' <<<"$output" | grep -o '<td class="k">[a-z]*</td><td class="n">[0-9]</td><td class="n">0</td><td class="n">[0-9]*</td><td class="n">[0-9.]*%' | tr '\n' ' ')" = \
		'<td class="k">chem</td><td class="n">1</td><td class="n">0</td><td class="n">384</td><td class="n">75.0% <td class="k">phys</td><td class="n">2</td><td class="n">0</td><td class="n">128</td><td class="n">25.0% ' ]
	# What the ledger is not for.
	run tm-report --db "$DB" --jobs --period month
	[ "$status" = 2 ]
	run tm-report --db "$DB" --account ""
	[ "$status" = 2 ]
}

# bats test_tags=bulk
@test "1000 jobs of two users through prolog and epilog on a load of default sizes, tm-record sampling between: every ledger row exact against nftables, ended steps held for their epilog, the maps never full, no two series with equal labels in tm-stat or node_exporter" {
	command -v prometheus-node-exporter >/dev/null ||
		skip "needs Debian's prometheus-node-exporter (scripts/install-deps)"
	tm-load --cgroup "$CG"
	new_cgroup /system.slice
	new_cgroup /system.slice/slurmstepd.scope; local s=$REPLY
	local pf=$BIN/port port j u d b p nft_rows=
	# The traffic on a namespace's loopback, where nftables counts each
	# user's datagrams apart.
	new_netns j; local ns=$REPLY
	udp_by_uid "$ns" $A $B
	# node_exporter reads tm-stat's textfile every hundred jobs.
	free_ports 1
	mkdir "$BIN/text"
	bg prometheus-node-exporter --web.listen-address="127.0.0.1:${PORTS[0]}" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$BIN/text" 2>"$BIN/node_exporter.log"
	# B's one socket receives every job's datagram.
	IN_NETNS=$ns bg as "$CG" $B "$BIN/tmtraffic" udp-drain 127.0.0.1 "$pf"
	wait_file "$pf"
	port=$(cat "$pf")
	for ((j = 1; j <= 1000; j++)); do
		u=$((j % 2 ? A : B)) d=$s/job_$j
		mkdir "$d" "$d/step_0"
		CGROUPS+=("$d" "$d/step_0")
		SLURM_JOB_ID=$j SLURM_JOB_UID=$u SLURM_JOB_ACCOUNT=acct$((j % 3)) tm-job start --db "$DB"
		IN_NETNS=$ns as "$d/step_0" $u "$BIN/tmtraffic" udp-send 127.0.0.1 "$port" 1 $((j % 50 + 10)) >/dev/null
		rmdir "$d/step_0"
		# Now and then a sample between the step's end and the epilog.
		((j % 20)) || tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
		SLURM_JOB_ID=$j tm-job end --db "$DB" >/dev/null
		rmdir "$d"
		# What nftables counted of the job's user since the last job: the job.
		read -r b p < <(nft_take "$ns" $((j % 2 ? 0 : 1)))
		nft_rows+="${nft_rows:+,}('$j', $b, $p)"
		if ! ((j % 100)); then
			run tm-stat --format prometheus
			[ -z "$(same_labels)" ] || { echo "job $j: $(same_labels)" >&2; false; }
			# node_exporter has the job just ended (its rows go at the next sample), and no error.
			tm-stat --textfile "$BIN/text/tm.prom" --history "$DB"
			scrape "${PORTS[0]}" >"$BIN/scraped"
			grep -q '^node_textfile_scrape_error 0$' "$BIN/scraped"
			grep -q "^tm_job_transmit_bytes_total{.*jobid=\"$j\"" "$BIN/scraped"
		fi
	done
	tm-record --grace 0 --db "$DB" --once --keep-5min 0 --keep-year 0
	# node_exporter never found two series with the same labels.
	! grep -i "collected before" "$BIN/node_exporter.log"
	# Every job closed, each exact: its one datagram, IP length.
	[ "$(q "SELECT count(*) FROM jobs WHERE end IS NOT NULL")" = 1000 ]
	[ "$(q "SELECT count(*) FROM jobs WHERE out_bytes != CAST(id AS INTEGER) % 50 + 38 OR out_packets != 1 OR in_bytes != 0")" = 0 ]
	# Every job's row is what nftables counted of it, to the byte.
	[ "$(q "WITH nft(id, bytes, packets) AS (VALUES $nft_rows) SELECT count(*), sum(j.out_bytes = n.bytes AND j.out_packets = n.packets) FROM nft n JOIN jobs j USING (id)")" = "1000 1000" ]
	[ "$(q "SELECT count(*) FROM jobs WHERE uid != CASE CAST(id AS INTEGER) % 2 WHEN 1 THEN $A ELSE $B END")" = 0 ]
	[ "$(q "SELECT count(*) FROM job_parts WHERE family = 'ipv4' AND iface LIKE 'lo@%'")" = 1000 ]
	[ "$(q "SELECT count(*) FROM jobs")" = 1000 ]
	run tm-status --json
	[ "$(jq -c '[.details_other, .details_full_packets, .cgroups_full, .cgroups_share, .conns_full, .details_retired]' <<<"$output")" = "[0,0,0,0,0,1000]" ]
	[ "$(jq '.maps[] | select(.name == "details") | .entries' <<<"$output")" -le 2 ]
	# The account ranking, from the ledger: acct0's jobs, most bytes first.
	run tm-report --db "$DB" --account acct0 --top 1 --json
	[ "$(jq -c '[.jobs[] | [.job, .out_bytes]]' <<<"$output")" = '[["99",87]]' ]
}

# calls SYSCALL CMD...: how many times CMD makes SYSCALL.
calls() {
	strace -f -qq -o "$BIN/calls" -e trace="$1" "${@:2}" >/dev/null 2>&1
	grep -cE "^[0-9]+ +$1\(" "$BIN/calls" || true
}

# bats test_tags=bulk
@test "tm-job killed at each of its writes to the database: one run more leaves the job's one row, whole and exact" {
	command -v strace >/dev/null || skip "needs strace (scripts/install-deps)"
	tm-load --cgroup "$CG"
	slurm_job 4800; local t0=${REPLY[0]}
	slurm 4800 tm-job start --db "$DB"
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	cp "$DB" "$BIN/open.db"
	local sc n total kills=0
	for sc in pwrite64 write fsync fdatasync ftruncate unlink; do
		cp "$BIN/open.db" "$DB"
		rm -f "$DB-wal" "$DB-shm"
		total=$(calls $sc tm-job end --job 4800 --node n1 --db "$DB")
		for ((n = 1; n <= total; n++)); do
			cp "$BIN/open.db" "$DB"
			rm -f "$DB-wal" "$DB-shm"
			killed_at $sc $n tm-job end --job 4800 --node n1 --db "$DB"
			kills=$((kills + 1))
			run tm-job end --job 4800 --node n1 --db "$DB"
			[ "$status" = 0 ] || { echo "$sc $n: the run after: $output" >&2; false; }
			[ "$(q "SELECT count(*), sum(end IS NOT NULL), sum(out_bytes), sum(out_packets) FROM jobs")" = "1 1 256 2" ] ||
				{ echo "$sc $n: $(q "SELECT * FROM jobs")" >&2; false; }
			[ "$(q "SELECT family, iface, out_bytes FROM job_parts")" = "ipv4 lo 256" ] ||
				{ echo "$sc $n: parts $(q "SELECT * FROM job_parts")" >&2; false; }
		done
	done
	# The prolog likewise: one run more leaves one open row.
	for sc in pwrite64 fsync fdatasync unlink; do
		total=$(rm -f "$DB"*; calls $sc tm-job start --job 4801 --node n1 --db "$DB")
		for ((n = 1; n <= total; n++)); do
			rm -f "$DB" "$DB-wal" "$DB-shm"
			killed_at $sc $n tm-job start --job 4801 --node n1 --db "$DB"
			kills=$((kills + 1))
			tm-job start --job 4801 --node n1 --db "$DB"
			[ "$(q "SELECT count(*), sum(end IS NULL) FROM jobs")" = "1 1" ] ||
				{ echo "start, $sc $n: $(q "SELECT * FROM jobs")" >&2; false; }
		done
	done
	# (The kills happened: the database is written with these calls.)
	[ "$kills" -ge 6 ]
}

# cgid PATH: the cgroup id of the test's cgroup PATH (its inode).
cgid() {
	stat -c %i "$CG$1"
}

@test "jobs no prolog opened get their rows from tm-record: a container at its end, a service made again two rows, a pod with a restarted container one, a Slurm job's epilog takes the row on; each exact, none twice" {
	tm-load --cgroup "$CG"
	local id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	new_cgroup /system.slice
	new_cgroup /system.slice/docker-$id.scope; local dk=$REPLY
	local own; own=$(cgid /system.slice/docker-$id.scope)
	udp_exchange "$dk" $A "$CG" $B 127.0.0.1 2 100
	# Seen running: its row, open, nothing in it yet.
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT kind, id, uid, user IS NOT NULL, end IS NULL, start > 0, out_bytes, cgroup FROM jobs")" = "docker $id $A 1 1 1 0 $own" ]
	udp_exchange "$CG" $B "$dk" $A 127.0.0.1 1 50
	rmdir "$dk"
	# Gone: its rows retired into its row, which is closed.
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT in_bytes, out_bytes, in_packets, out_packets, end >= start FROM jobs WHERE kind = 'docker'")" = "78 256 1 2 1" ]
	[ "$(q "SELECT family, iface, in_bytes, out_bytes FROM job_parts WHERE kind = 'docker'")" = "ipv4 lo 78 256" ]
	[ "$(tm-status --json | jq .details_retired)" -gt 0 ]
	local before; before=$(q "SELECT * FROM jobs; SELECT * FROM job_parts")
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT * FROM jobs; SELECT * FROM job_parts")" = "$before" ]

	# A service made again before tm-record looked: two rows, one each.
	new_cgroup /system.slice/web.service
	udp_exchange "$REPLY" $B "$CG" $A 127.0.0.1 1 10
	rmdir "$CG/system.slice/web.service"
	new_cgroup /system.slice/web.service; local web=$REPLY
	udp_exchange "$web" $B "$CG" $A 127.0.0.1 1 20
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT out_bytes, end IS NULL FROM jobs WHERE kind = 'service' ORDER BY start")" = "38 0
0 1" ]
	rmdir "$web"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT uid, out_bytes, out_packets, end IS NULL FROM jobs WHERE kind = 'service' ORDER BY start")" = "$B 38 1 0
$B 48 1 0" ]

	# A pod whose container ended and was made again: the pod's one row, both in it.
	local pod=/kubepods.slice/kubepods-pod0e5a1f9c_3b2d_4c8e_9f1a_2b3c4d5e6f70.slice
	local c1=$pod/cri-containerd-${id/0123/1111}.scope c2=$pod/cri-containerd-${id/0123/2222}.scope
	new_cgroup /kubepods.slice; new_cgroup $pod; new_cgroup "$c1"
	udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 1 100
	rmdir "$CG$c1"
	new_cgroup "$c2"
	udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 2 200
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT id, out_bytes, end IS NULL FROM jobs WHERE kind = 'pod'")" = "0e5a1f9c-3b2d-4c8e-9f1a-2b3c4d5e6f70 128 1" ]
	rmdir "$CG$c2" "$CG$pod"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT out_bytes, out_packets, end IS NULL FROM jobs WHERE kind = 'pod'")" = "584 3 0" ]
	[ "$(q "SELECT net, out_bytes, out_packets FROM job_nets WHERE kind = 'pod'")" = "127.0.0.0/24 584 3" ]

	# A Slurm job on a node with an epilog and no prolog: tm-record's row,
	# a step that ended in it, is the one the epilog closes, with the rest.
	slurm_job 6001; local t0=${REPLY[0]} tb=${REPLY[1]}
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$tb" $A "$CG" $B 127.0.0.1 1 300
	rmdir "$t0" "${t0%/*}" "${t0%/*/*}"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT out_bytes, end IS NULL FROM jobs WHERE id = '6001'")" = "128 1" ]
	run slurm 6001 tm-job end --db "$DB"
	[ "$status" = 0 ]
	[ "$output" = "job 6001 (slurm, alice, account phys): received 0 B in 0 packets, sent 456 B in 2 packets" ]
	[ "$(q "SELECT count(*), out_bytes, out_packets, end IS NOT NULL FROM jobs WHERE id = '6001'")" = "1 456 2 1" ]
	[ "$(q "SELECT family, iface, out_bytes, out_packets FROM job_parts WHERE id = '6001'")" = "ipv4 lo 456 2" ]
	[ "$(q "SELECT net, out_bytes, out_packets FROM job_nets WHERE id = '6001'")" = "127.0.0.0/24 456 2" ]
	# Its cgroups gone, tm-record adds nothing to it.
	rmdir "$tb" "${tb%/*}" "${tb%/*/*}" "$CG/system.slice/slurmstepd.scope/job_6001"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT count(*), out_bytes FROM jobs WHERE id = '6001'")" = "1 456" ]
}

@test "Slurm 26.05's job directories named by SLUID: the prolog's row found by either name, tm-record's row of one given the job's number by its epilog; each exact, one row a job" {
	tm-load --cgroup "$CG"
	local S1=s5K1KKYAYG5D00 S2=s0ZZ9ABCDEFGHJ
	# A prolog given a SLUID that is not one: refused, nothing written.
	run env SLURM_JOB_SLUID=s5K1KKYAYG5DI0 SLURM_JOB_ID=7000 tm-job start --db "$DB"
	[ "$status" = 2 ] && [[ $output == *"not a SLUID"* ]]
	[ ! -e "$DB" ]
	slurm_job 7001 $S1; local t0=${REPLY[0]} tb=${REPLY[1]}
	SLURM_JOB_SLUID=$S1 slurm 7001 tm-job start --db "$DB"
	[ "$(q "SELECT id, sluid, end IS NULL FROM jobs")" = "7001 $S1 1" ]
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 2 100
	udp_exchange "$tb" $A "$CG" $B 127.0.0.1 1 300
	# Named by its SLUID while it runs.
	[ "$(tm-stat --by job --json | jq -r '.[] | select(.kind == "slurm") | "\(.job) \(.out_bytes)"')" = "$S1 584" ]
	# Its ended step held for the epilog: held by its SLUID.
	rmdir "$t0" "${t0%/*}" "${t0%/*/*}"
	tm-record --grace 0 --db "$DB" --once
	[ "$(tm-status --json | jq .details_retired)" = 0 ]
	SLURM_JOB_SLUID=$S1 run slurm 7001 tm-job end --db "$DB"
	[ "$status" = 0 ]
	[ "$output" = "job 7001 (slurm, alice, account phys): received 0 B in 0 packets, sent 584 B in 3 packets" ]
	[ "$(q "SELECT count(*), id, sluid, out_bytes, out_packets, end IS NOT NULL FROM jobs")" = "1 7001 $S1 584 3 1" ]
	# tm-report finds it by either name, and says both.
	[ "$(tm-report --db "$DB" --job $S1 --json | jq -c '[.jobs[] | [.job, .sluid, .out_bytes]]')" = "[[\"7001\",\"$S1\",584]]" ]
	[ "$(tm-report --db "$DB" --job 7001 --format csv | sed -n 2p)" = "n1,slurm,7001,alice,$A,phys,batch,$(q "SELECT start FROM jobs"),$(q "SELECT end FROM jobs"),,,,0,584,0,3,$S1" ]

	# No prolog: tm-record's row named by the SLUID, an ended step in it;
	# the epilog, which has both names, closes that row under the number.
	slurm_job 7002 $S2; t0=${REPLY[0]} tb=${REPLY[1]}
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 1 100
	udp_exchange "$tb" $A "$CG" $B 127.0.0.1 1 300
	rmdir "$t0" "${t0%/*}" "${t0%/*/*}"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT id, sluid, out_bytes, end IS NULL FROM jobs WHERE id != '7001'")" = "$S2 $S2 128 1" ]
	SLURM_JOB_SLUID=$S2 slurm 7002 tm-job end --db "$DB" >/dev/null
	[ "$(q "SELECT count(*), id, sluid, out_bytes, out_packets, end IS NOT NULL FROM jobs WHERE id != '7001'")" = "1 7002 $S2 456 2 1" ]
	[ "$(q "SELECT DISTINCT id FROM job_parts WHERE id != '7001'; SELECT DISTINCT id FROM job_cgroups")" = "7002
7002" ]
	[ "$(q "SELECT out_bytes FROM job_parts WHERE id = '7002'")" = 456 ]
	# Its cgroups gone, tm-record adds nothing to it and opens nothing new.
	rmdir "$tb" "${tb%/*}" "${tb%/*/*}" "$CG/system.slice/slurmstepd.scope/$S2"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT count(*), sum(out_bytes) FROM jobs")" = "2 1040" ]
}

@test "tm-record --keep-jobs DAYS: jobs that ended longer ago go with their parts, networks and cgroups; newer ones and open ones stay; bad values refused" {
	tm-load --cgroup "$CG"
	slurm_job 8001; local t0=${REPLY[0]} tb=${REPLY[1]}
	local j
	for j in 8001 8002 8003 8004; do slurm $j tm-job start --db "$DB"; done
	udp_exchange "$t0" $A "$CG" $B 127.0.0.1 1 100
	for j in 8001 8002 8003; do slurm $j tm-job end --db "$DB" >/dev/null; done
	# 8001 is over: its cgroups gone, their rows retired.
	rmdir "$t0" "${t0%/*}" "${t0%/*/*}" "$tb" "${tb%/*}" "${tb%/*/*}" "$CG/system.slice/slurmstepd.scope/job_8001"
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT count(*) FROM job_parts WHERE id = '8001'; SELECT count(*) FROM job_nets WHERE id = '8001'")" = "1
1" ]
	sqlite3 "$DB" "INSERT INTO job_cgroups SELECT node, kind, id, start, 1 FROM jobs WHERE id = '8001'"
	# 8001 ended a hundred days ago, 8002 forty; 8003 now; 8004, open, began a year ago.
	local now; now=$(date +%s)
	sqlite3 "$DB" "UPDATE jobs SET end = $now - 100 * 86400 WHERE id = '8001';
		UPDATE jobs SET end = $now - 40 * 86400 WHERE id = '8002';
		UPDATE jobs SET start = $now - 365 * 86400 WHERE id = '8004';
		DELETE FROM meta WHERE key = 'last_prune'"
	for bad in 31 -2 36501 x ''; do
		run tm-record --db "$DB" --once --keep-jobs "$bad"
		[ "$status" = 2 ]
	done
	[ "$(q "SELECT count(*) FROM jobs")" = 4 ]
	tm-record --db "$DB" --once --keep-jobs 60
	[ "$(q "SELECT group_concat(id, ' ') FROM (SELECT id FROM jobs ORDER BY id)")" = "8002 8003 8004" ]
	[ "$(q "SELECT count(*) FROM job_parts WHERE id = '8001'; SELECT count(*) FROM job_nets WHERE id = '8001'; SELECT count(*) FROM job_cgroups")" = "0
0
0" ]
	# The default keeps every job.
	sqlite3 "$DB" "UPDATE jobs SET end = $now - 3650 * 86400 WHERE id = '8002'; DELETE FROM meta WHERE key = 'last_prune'"
	tm-record --db "$DB" --once
	[ "$(q "SELECT count(*) FROM jobs")" = 3 ]
}

# bats test_tags=bulk
@test "tm-record killed at each of its writes as it retires an ended container's rows into its pod's row: one sample more adds them once, exact" {
	command -v strace >/dev/null || skip "needs strace (scripts/install-deps)"
	tm-load --cgroup "$CG"
	new_cgroup /kubepods.slice
	tm-record --grace 0 --db "$DB" --once
	local sc n total kills=0 i=0 uid pod
	# Each kill point a pod of its own, whose one container sent a datagram and ended.
	pod() {
		i=$((i + 1))
		uid=$(printf '%08x-0000-4000-8000-%012x' $i $i)
		pod=/kubepods.slice/kubepods-pod${uid//-/_}.slice
		new_cgroup $pod
		new_cgroup $pod/cri-containerd-$(printf '%064x' $i).scope
		udp_exchange "$REPLY" $A "$CG" $B 127.0.0.1 1 100
		rmdir "$REPLY"
	}
	for sc in bpf pwrite64 fdatasync; do
		pod
		total=$(calls $sc tm-record --grace 0 --db "$DB" --once)
		[ "$(q "SELECT count(*), out_bytes, end IS NULL FROM jobs WHERE id = '$uid'")" = "1 128 1" ]
		rmdir "$CG$pod"
		for ((n = 1; n <= total; n++)); do
			pod
			killed_at $sc $n tm-record --grace 0 --db "$DB" --once
			kills=$((kills + 1))
			tm-record --grace 0 --db "$DB" --once
			[ "$(q "SELECT count(*), out_bytes, out_packets, end IS NULL FROM jobs WHERE id = '$uid'")" = "1 128 1 1" ] ||
				{ echo "$sc $n: $(q "SELECT * FROM jobs WHERE id = '$uid'")" >&2; false; }
			[ "$(q "SELECT count(*), sum(out_bytes) FROM job_parts WHERE id = '$uid'")" = "1 128" ] ||
				{ echo "$sc $n: parts $(q "SELECT * FROM job_parts WHERE id = '$uid'")" >&2; false; }
			rmdir "$CG$pod"
		done
	done
	echo "# $kills kill points" >&3
	[ "$kills" -ge 10 ]
	# Every pod ended: each row closed with what it had; no rows left behind in the maps.
	tm-record --grace 0 --db "$DB" --once
	[ "$(q "SELECT count(*), sum(end IS NULL), min(out_bytes), max(out_bytes) FROM jobs")" = "$i 0 128 128" ]
	[ "$(tm-stat --by cgroup --json | jq '[.[] | select(.cgroup | test("kubepods-pod"))] | length')" = 0 ]
}

@test "a ledger made before jobs had cgroup and sluid columns is read as it is, given them, its rows kept, and read by tm-report" {
	sqlite3 "$DB" "CREATE TABLE jobs(node TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER, user TEXT, uid INTEGER, account TEXT, partition TEXT, in_bytes INTEGER NOT NULL DEFAULT 0, out_bytes INTEGER NOT NULL DEFAULT 0, in_packets INTEGER NOT NULL DEFAULT 0, out_packets INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(node, kind, id, start));
		INSERT INTO jobs VALUES('n1', 'slurm', '7', 100, 200, 'alice', $A, 'phys', NULL, 5, 6, 7, 8);"
	tm-job start --job 8 --node n1 --db "$DB"
	[ "$(q "SELECT id, cgroup IS NULL, sluid IS NULL, end IS NULL FROM jobs ORDER BY id")" = "7 1 1 0
8 1 1 1" ]
	run tm-report --db "$DB" --jobs --json
	[ "$status" = 0 ]
	[ "$(jq -c '[.jobs[] | [.job, .account, .out_bytes, .networks]]' <<<"$output")" = '[["7","phys",6,[]],["8",null,0,[]]]' ]
	# One made before jobs had a sluid column, read as it is (tm-report
	# opens it read-only), by id too.
	local old=$BIN/old.db
	tm-job start --job 9 --node n1 --db "$old"
	sqlite3 "$old" "DROP INDEX jobs_sluid; ALTER TABLE jobs DROP COLUMN sluid"
	[ "$(tm-report --db "$old" --job 9 --json | jq -c '[.jobs[] | [.job, .sluid, .out_bytes]]')" = '[["9",null,0]]' ]
}
