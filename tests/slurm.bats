#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# A real Slurm, Debian's 22.05, as one node in a network namespace of the
# test's own: munged, slurmctld and slurmd started by the test (slurmd in
# the test's cgroup, where tm_spank.so makes each job task's cgroup v2
# directory), tm's prolog and epilog from dist/slurm, two users (from a
# passwd file of the test's, by nss_wrapper) submitting with sbatch and
# srun; each job's ledger row against nftables, which counts each user's
# datagrams in the namespace.

load lib

A=42671
B=42672

setup() {
	tm_setup
	local c
	for c in munged slurmctld slurmd sbatch srun scontrol sqlite3; do
		command -v $c >/dev/null ||
			skip "needs Debian's slurmctld, slurmd, slurm-client and munge (scripts/install-deps)"
	done
	NSSW=/usr/lib/$(gcc -print-multiarch)/libnss_wrapper.so
	[ -e "$NSSW" ] || skip "needs Debian's libnss-wrapper (scripts/install-deps)"
	[ -e "$BUILD/tm_spank.so" ] || skip "needs tm_spank.so (libslurm-dev when built)"
	DB=$BIN/history.db
	SL=$BIN/slurm
	mkdir -p "$SL/state" "$SL/spool"
	chmod 755 "$SL"
}

teardown() {
	local f p i
	# Slurm down first, if it is up (its daemons are the test's): its jobs
	# cancelled, then the daemons.
	if [ -n "${NS:-}" ] && [ -e "$SL/slurmctld.pid" ] && kill -0 "$(cat "$SL/slurmctld.pid")" 2>/dev/null; then
		timeout 10 env SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" scancel --partition batch >/dev/null 2>&1
		for ((i = 0; i < 50; i++)); do
			[ -z "$(timeout 5 env SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" squeue -h 2>/dev/null)" ] && break
			sleep 0.1
		done
		timeout 10 env SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" scontrol shutdown >/dev/null 2>&1
	fi
	# Whatever of Slurm's is left in the test's cgroup (slurmstepd, a job's
	# processes) is the test's: ended by pid.
	for ((i = 0; i < 20; i++)); do
		p=$(find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -vxF -f <(printf '%s\n' "${PIDS[@]}"))
		[ -z "$p" ] && break
		kill -9 $p 2>/dev/null
		sleep 0.1
	done
	# What tm_spank.so leaves of its layout once every job is gone.
	[ -d "$CG/slurm" ] && find "$CG/slurm" -depth -type d -exec rmdir {} + 2>/dev/null
	for f in "$SL"/*.log "$BIN"/job-*.out; do [ -s "$f" ] && { echo "# $f"; tail -20 "$f"; } >&2; done
	tm_teardown
}

# in_ns CMD...: CMD in the namespace (its network only: Slurm needs the
# host's cgroup mounts, which ip netns exec would hide), with the test's
# users and Slurm.
in_ns() {
	env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$SL/passwd" NSS_WRAPPER_GROUP="$SL/group" \
		SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" "$@"
}

# as_user UID CMD...: CMD as UID in the namespace, from the test's cgroup.
as_user() {
	local uid=$1
	shift
	in_ns setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# start_dbd: MariaDB (on the namespace's loopback, its files the test's)
# and slurmdbd, with the cluster, account phys and the two users in it.
start_dbd() {
	command -v mariadbd >/dev/null && command -v mariadb >/dev/null && command -v slurmdbd >/dev/null ||
		skip "needs Debian's mariadb-server-core and slurmdbd (scripts/install-deps)"
	mariadb-install-db --no-defaults --datadir="$SL/db" --user=root \
		--auth-root-authentication-method=normal --skip-test-db >"$SL/mariadb-install.log" 2>&1
	bg nsenter --net=/run/netns/"$NS" mariadbd --no-defaults --datadir="$SL/db" --user=root \
		--socket="$SL/mysql.sock" --port=3306 --bind-address=127.0.0.1 \
		--pid-file="$SL/mariadb.pid" --log-error="$SL/mariadb.log" --innodb-buffer-pool-size=16M
	eventually test -S "$SL/mysql.sock"
	eventually mariadb --no-defaults --socket="$SL/mysql.sock" -uroot -e \
		"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'tm'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'"
	cat >"$SL/slurmdbd.conf" <<-EOF
		AuthType=auth/munge
		AuthInfo=socket=$SL/munge.sock
		DbdHost=$(hostname -s)
		DbdAddr=127.0.0.1
		DbdPort=6819
		SlurmUser=root
		StorageType=accounting_storage/mysql
		StorageHost=127.0.0.1
		StoragePort=3306
		StorageUser=slurm
		StoragePass=tm
		StorageLoc=slurm_acct_db
		PidFile=$SL/slurmdbd.pid
		LogFile=$SL/slurmdbd.log
	EOF
	chmod 600 "$SL/slurmdbd.conf"
	bg env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$SL/passwd" NSS_WRAPPER_GROUP="$SL/group" \
		SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" slurmdbd -D
	local i
	for ((i = 0; i < 100; i++)); do
		in_ns sacctmgr -i add cluster tmtest >/dev/null 2>&1 && break
		sleep 0.1
	done
	in_ns sacctmgr -i add account phys
	in_ns sacctmgr -i add user tmslurma,tmslurmb account=phys
}

# start_slurm [dbd]: munged, slurmctld and slurmd (after MariaDB and
# slurmdbd, with dbd), up and the node idle.
start_slurm() {
	new_netns s; NS=$REPLY
	# An address besides loopback's: Slurm's daemons look for one to listen.
	ip -n "$NS" link add tmv0 type veth peer name tmv1
	ip -n "$NS" addr add 10.255.0.1/24 dev tmv0
	ip -n "$NS" link set tmv0 up
	ip -n "$NS" link set tmv1 up
	udp_by_uid "$NS" $A $B
	printf 'root:x:0:0::/root:/bin/sh\ntmslurma:x:%s:%s::%s:/bin/sh\ntmslurmb:x:%s:%s::%s:/bin/sh\n' \
		$A $A "$BIN" $B $B "$BIN" >"$SL/passwd"
	printf 'root:x:0:\ntmslurma:x:%s:\ntmslurmb:x:%s:\n' $A $B >"$SL/group"
	head -c 1024 /dev/urandom >"$SL/munge.key"
	chmod 400 "$SL/munge.key"
	bg munged -F -f --key-file="$SL/munge.key" --socket="$SL/munge.sock" \
		--pid-file="$SL/munged.pid" --seed-file="$SL/munged.seed" \
		--log-file="$SL/munged.log" 2>>"$SL/munged.log"
	# The prolog and epilog as make install writes them, with this build's tm-job.
	local s
	for s in prolog epilog; do
		{
			printf '#!/bin/sh\nexec 2>>%s\nexport TM_PIN_ROOT=%s\n' "$SL/$s.log" "$TM_PIN_ROOT"
			sed -e "s#@SBINDIR@/tm-job \\(start\\|end\\)#$BUILD/tm-job \\1 --db $DB#" \
				-e "s|@LIBEXECDIR@|$SL|" "$TOP/dist/slurm/$s.in" | tail -n +2
		} >"$SL/$s"
		chmod 755 "$SL/$s"
	done
	echo "required $BUILD/tm_spank.so base=$CG" >"$SL/plugstack.conf"
	cat >"$SL/slurm.conf" <<-EOF
		ClusterName=tmtest
		SlurmctldHost=$(hostname -s)(127.0.0.1)
		SlurmUser=root
		SlurmctldPort=6817
		SlurmdPort=6818
		AuthType=auth/munge
		AuthInfo=socket=$SL/munge.sock
		CredType=cred/munge
		StateSaveLocation=$SL/state
		SlurmdSpoolDir=$SL/spool
		SlurmctldPidFile=$SL/slurmctld.pid
		SlurmdPidFile=$SL/slurmd.pid
		SlurmctldLogFile=$SL/slurmctld.log
		SlurmdLogFile=$SL/slurmd.log
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		JobAcctGatherType=jobacct_gather/none
		AccountingStorageType=accounting_storage/none
		SchedulerType=sched/builtin
		SelectType=select/cons_tres
		SelectTypeParameters=CR_CPU
		MpiDefault=none
		MailProg=/bin/true
		ReturnToService=2
		SlurmdParameters=config_overrides
		PlugStackConfig=$SL/plugstack.conf
		Prolog=$SL/prolog
		Epilog=$SL/epilog
		NodeName=tmnode NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
		PartitionName=batch Nodes=tmnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
	EOF
	eventually test -S "$SL/munge.sock"
	if [ "${1:-}" = dbd ]; then
		printf 'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\nAccountingStoragePort=6819\nAccountingStoragePass=%s\n' "$SL/munge.sock" >>"$SL/slurm.conf"
		sed -i '/^AccountingStorageType=accounting_storage\/none$/d' "$SL/slurm.conf"
		start_dbd
	fi
	bg env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$SL/passwd" NSS_WRAPPER_GROUP="$SL/group" \
		SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" slurmctld -D -i
	# slurmd in the test's cgroup: the base of its jobs' directories.
	bg sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$SL/passwd" NSS_WRAPPER_GROUP="$SL/group" \
		SLURM_CONF="$SL/slurm.conf" nsenter --net=/run/netns/"$NS" slurmd -D -N tmnode
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(in_ns sinfo -h -o %T 2>/dev/null)" = idle ] && return 0
		sleep 0.1
	done
	cat "$SL/slurmctld.log" "$SL/slurmd.log" >&2
	return 1
}

# job_row ID: the ledger's row of job ID once its epilog closed it.
job_row() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(sqlite3 "$DB" "SELECT end IS NOT NULL FROM jobs WHERE id = '$1'" 2>/dev/null)" = 1 ] && break
		sleep 0.1
	done
	sqlite3 -separator ' ' "$DB" "SELECT user, uid, partition, in_bytes, out_bytes, in_packets, out_packets, end >= start FROM jobs WHERE id = '$1'"
}


@test "a real Slurm: two users' sbatch jobs and srun steps, a job of under two seconds and two jobs at once; each job's ledger row exact against nftables, its tasks metered in Slurm's layout" {
	tm-load --cgroup "$CG"
	# Slurm's own traffic (srun with slurmctld and slurmstepd) is on
	# 127.0.0.1, left out as an internal network; the jobs send to 127.0.0.2.
	tm-mask add 127.0.0.1/32
	start_slurm
	# B's socket outside Slurm receives every job's datagrams.
	local pf=$BIN/port port
	IN_NETNS=$NS bg as "$CG" $B "$BIN/tmtraffic" udp-drain 127.0.0.2 "$pf"
	wait_file "$pf"
	port=$(cat "$pf")
	nft_take "$NS" 1 >/dev/null

	# A's batch job: a step of two tasks sending 3 datagrams of 100 bytes
	# each, and the batch script itself 1 of 300.
	cat >"$BIN/job.sh" <<-EOF
		#!/bin/sh
		srun -n 2 $BIN/tmtraffic udp-send 127.0.0.2 $port 3 100
		$BIN/tmtraffic udp-send 127.0.0.2 $port 1 300
	EOF
	chmod 755 "$BIN/job.sh"
	run as_user $A sbatch --parsable --wait -n 2 -o "$BIN/job-%j.out" -D "$BIN" "$BIN/job.sh"
	[ "$status" = 0 ]
	local j1=$output
	[ "$(job_row "$j1")" = "tmslurma $A batch 0 $((6 * 128 + 328)) 0 7 1" ]
	[ "$(nft_take "$NS" 0)" = "$((6 * 128 + 328)) 7" ]
	# Its parts: loopback, IPv4.
	[ "$(sqlite3 "$DB" "SELECT family, iface LIKE 'lo%', out_bytes FROM job_parts WHERE id = '$j1'")" = "ipv4|1|1096" ]
	# Its cgroups were Slurm's layout (the steps gone with the job).
	[ ! -e "$CG/slurm/uid_$A/job_$j1" ]

	# B's job of under two seconds, the batch step alone.
	run as_user $B sbatch --parsable --wait -o "$BIN/job-%j.out" -D "$BIN" --wrap "$BIN/tmtraffic udp-send 127.0.0.2 $port 2 50"
	[ "$status" = 0 ]
	local j2=$output
	[ "$(job_row "$j2")" = "tmslurmb $B batch 0 $((2 * 78)) 0 2 1" ]
	[ "$(nft_take "$NS" 1)" = "$((2 * 78)) 2" ]

	# Two jobs at once on the node, one of each user's, each waiting for the
	# test to have seen both in their cgroups.
	run as_user $A sbatch --parsable -o "$BIN/job-%j.out" -D "$BIN" --wrap \
		"touch $BIN/a.up; while [ ! -e $BIN/go ]; do sleep 0.05; done; $BIN/tmtraffic udp-send 127.0.0.2 $port 4 200"
	local j3=$output
	run as_user $B sbatch --parsable -o "$BIN/job-%j.out" -D "$BIN" --wrap \
		"touch $BIN/b.up; while [ ! -e $BIN/go ]; do sleep 0.05; done; srun $BIN/tmtraffic udp-send 127.0.0.2 $port 5 10"
	local j4=$output
	wait_file "$BIN/a.up" -e
	wait_file "$BIN/b.up" -e
	[ -n "$(cat "$CG/slurm/uid_$A/job_$j3/step_batch/task_0/cgroup.procs")" ]
	[ -n "$(cat "$CG/slurm/uid_$B/job_$j4/step_batch/task_0/cgroup.procs")" ]
	touch "$BIN/go"
	[ "$(job_row "$j3")" = "tmslurma $A batch 0 $((4 * 228)) 0 4 1" ]
	[ "$(job_row "$j4")" = "tmslurmb $B batch 0 $((5 * 38)) 0 5 1" ]
	[ "$(nft_take "$NS" 0)" = "$((4 * 228)) 4" ]
	[ "$(nft_take "$NS" 1)" = "$((5 * 38)) 5" ]
	# tm-stat names them as jobs, ended.
	[ "$(tm-stat --by job --json --user $A | jq -r --arg j "$j3" '.[] | select(.job == $j) | "\(.kind) \(.state) \(.out_bytes)"')" = "slurm ended 912" ]
	[ "$(tm-stat --by job --json --user $B | jq -r --arg j "$j4" '.[] | select(.job == $j) | "\(.kind) \(.out_bytes)"')" = "slurm 190" ]
	# One row a job, and tm-report's JSON the same.
	[ "$(sqlite3 "$DB" "SELECT count(*), count(DISTINCT id) FROM jobs")" = "4|4" ]
	[ "$(tm-report --db "$DB" --job "$j3" --json | jq -c '[.jobs[] | [.job, .user, .out_bytes]]')" = "[[\"$j3\",\"tmslurma\",912]]" ]
}

@test "sacct: each job's figures in its AdminComment (tm's word), what another tool wrote there kept; equal to the ledger's" {
	tm-load --cgroup "$CG"
	tm-mask add 127.0.0.1/32
	start_slurm dbd
	local pf=$BIN/port port
	IN_NETNS=$NS bg as "$CG" $B "$BIN/tmtraffic" udp-drain 127.0.0.2 "$pf"
	wait_file "$pf"
	port=$(cat "$pf")
	run as_user $A sbatch --parsable --wait -o "$BIN/job-%j.out" -D "$BIN" --wrap "$BIN/tmtraffic udp-send 127.0.0.2 $port 3 100"
	[ "$status" = 0 ]
	local j1=$output
	[ "$(job_row "$j1")" = "tmslurma $A batch 0 384 0 3 1" ]
	# The account Slurm gave the job, in the ledger.
	[ "$(sqlite3 "$DB" "SELECT account FROM jobs WHERE id = '$j1'")" = phys ]
	local want="tm:in_bytes=0,out_bytes=384,in_packets=0,out_packets=3"
	eventually [ "$(in_ns sacct -n -P -X -j "$j1" -o AdminComment)" = "$want" ]
	# Another tool's comment kept, tm's word put again, not twice (an epilog
	# run again); another's that sacctmgr would change (Slurm 22.05
	# lowercases what it writes) left as it is.
	# (As slurmd runs it: no nss_wrapper, which a sanitized tm-job refuses.)
	epilog() {
		SLURM_JOB_ID=$j1 SLURM_CONF=$SL/slurm.conf TM_PIN_ROOT=$TM_PIN_ROOT \
			nsenter --net=/run/netns/"$NS" "$SL/epilog"
	}
	in_ns sacctmgr -i modify job where jobid="$j1" set AdminComment="js1:abc $want" >/dev/null
	epilog
	[ "$(in_ns sacct -n -P -X -j "$j1" -o AdminComment)" = "js1:abc $want" ]
	# (Such as scontrol writes for a running job: into slurmdbd's table here.)
	mariadb --no-defaults --socket="$SL/mysql.sock" -uroot slurm_acct_db -e \
		"UPDATE tmtest_job_table SET admin_comment = 'JS1:Abc' WHERE id_job = $j1"
	[ "$(in_ns sacct -n -P -X -j "$j1" -o AdminComment)" = "JS1:Abc" ]
	epilog
	[ "$(in_ns sacct -n -P -X -j "$j1" -o AdminComment)" = "JS1:Abc" ]
	grep -q "would change" "$SL/epilog.log"
}
