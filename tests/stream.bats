#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-stream: one line per packet, exact, and every event printed or counted.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42471
B=42472

# recv_bg ADDR N: a receiver of N datagrams as B; RPORT its port, RECEIVER its PID.
recv_bg() {
	rm -f "$BIN/rport"
	bg as "$CG" $B "$BIN/tmtraffic" udp-recv "$1" "$BIN/rport" "$2" >/dev/null
	RECEIVER=${PIDS[-1]}
	wait_file "$BIN/rport"
	RPORT=$(cat "$BIN/rport")
}

@test "N IPv4 datagrams make exactly N out events of P+28 bytes, with ports, pid and comm; total_out grows by exactly that" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 10	# totals before the stream
	start_stream --user $A --count 20
	recv_bg 127.0.0.1 20
	local t0 t1
	t0=$(date +%s.%N)
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 20 100
	t1=$(date +%s.%N)
	wait "$STREAM"
	local out=$BIN/stream.out
	[ "$(wc -l <"$out")" = 20 ]
	[ "$(jq -s 'map(select(.dir == "out" and .bytes == 128 and .uid == '$A' and .user == "'$A'"
		and .proto == "udp" and .family == "ipv4" and .src == "127.0.0.1" and .dst == "127.0.0.1"
		and .sport == '"$SPORT"' and .dport == '"$RPORT"' and .pid == '"$SENDER"'
		and .comm == "tmtraffic" and .iface == "lo")) | length' "$out")" = 20 ]
	# Totals start from the counters (3 * 38 before) and grow by each event.
	[ "$(jq -s '[.[].total_out] == [range(1; 21) | 114 + . * 128]' "$out")" = true ]
	[ "$(jq -s 'map(.total_in) | unique' "$out")" = "[
  0
]" ]
	[ "$(jq -r '.ts' "$out" | grep -cE '^[0-9]{10}\.[0-9]{9}$')" = 20 ]
	# Wall clock to the kernel's tick (at most 10 ms behind), one socket's in order.
	[ "$(jq -r '.ts' "$out" | awk -v t0="$t0" -v t1="$t1" '
		$1 < t0 - 0.011 || $1 > t1 || $1 < prev { bad++ } { prev = $1 } END { print bad + 0 }')" = 0 ]
	[ "$(tail -1 "$BIN/stream.err")" = "tm-stream: 20 lines written, 0 events lost" ]
}

@test "events carry their socket's cgroup and its job: a Slurm step made after the stream started, a container, none" {
	tm-load --cgroup "$CG"
	new_cgroup /system.slice
	start_stream --count 6
	# Made after the stream began: its names are read when its packets come.
	new_cgroup /system.slice/slurmstepd.scope
	new_cgroup /system.slice/slurmstepd.scope/job_4711
	new_cgroup /system.slice/slurmstepd.scope/job_4711/step_0; local step=$REPLY
	local id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	new_cgroup /system.slice/docker-$id.scope; local dk=$REPLY
	recv_bg 127.0.0.1 3
	udp_send "$step" $A 127.0.0.1 "$RPORT" 2 10
	udp_send "$dk" $A 127.0.0.1 "$RPORT" 1 10
	wait "$STREAM"
	local out=$BIN/stream.out p=${CG#"$CG2"}
	[ "$(jq -c -s 'map(select(.dir == "out") | [.cgroup, .job, .kind])' "$out")" = \
		"[[\"$p/system.slice/slurmstepd.scope/job_4711/step_0\",\"4711\",\"slurm\"],[\"$p/system.slice/slurmstepd.scope/job_4711/step_0\",\"4711\",\"slurm\"],[\"$p/system.slice/docker-$id.scope\",\"$id\",\"docker\"]]" ]
	# The receiver's socket is in the test's cgroup: in no job.
	[ "$(jq -c -s 'map(select(.dir == "in") | [.cgroup, .job, .kind]) | unique' "$out")" = "[[\"$p\",null,null]]" ]
}

@test "IPv6 events are P+48 bytes, and the receiver's in events carry its own pid" {
	tm-load --cgroup "$CG"
	start_stream --count 10
	recv_bg ::1 5
	udp_send "$CG" $A ::1 "$RPORT" 5 200
	wait "$STREAM"
	local out=$BIN/stream.out
	[ "$(jq -s 'map(select(.dir == "out" and .uid == '$A' and .bytes == 248 and .family == "ipv6"
		and .src == "::1" and .sport == '"$SPORT"')) | length' "$out")" = 5 ]
	[ "$(jq -s 'map(select(.dir == "in" and .uid == '$B' and .bytes == 248 and .pid == '"$RECEIVER"'
		and .dport == '"$RPORT"' and .total_in == (248 * 5))) | length' "$out")" = 1 ]
	[ "$(jq -s 'map(select(.dir == "in")) | length' "$out")" = 5 ]
}

@test "csv lines are direction,bytes,src_ip,dst_ip,timestamp,total_in,total_out" {
	tm-load --cgroup "$CG"
	start_stream --format csv --user $A --count 4
	recv_bg 127.0.0.1 4
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 4 72
	wait "$STREAM"
	run cat "$BIN/stream.out"
	[ "${#lines[@]}" = 4 ]
	local i
	for i in 0 1 2 3; do
		[[ "${lines[i]}" =~ ^out,100,127\.0\.0\.1,127\.0\.0\.1,[0-9]{10}\.[0-9]{9},0,$((100 * (i + 1)))$ ]]
	done
}

@test "--output writes each user's lines to their own file, and SIGHUP after a rename starts a new one with nothing lost" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/logs"
	start_stream --format csv --output "$BIN/logs/traffic_user_%i_%U.log"
	recv_bg 127.0.0.1 6
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 6 100
	wait "$RECEIVER"
	local fa=$BIN/logs/traffic_user_lo_$A.log fb=$BIN/logs/traffic_user_lo_$B.log
	# Flushed within a second.
	local i
	for ((i = 0; i < 40; i++)); do
		[ "$(cat "$fa" "$fb" 2>/dev/null | wc -l)" = 12 ] && break
		sleep 0.1
	done
	[ "$(grep -c '^out,128,' "$fa")" = 6 ] && [ "$(wc -l <"$fa")" = 6 ]
	[ "$(grep -c '^in,128,' "$fb")" = 6 ] && [ "$(wc -l <"$fb")" = 6 ]
	[ "$(stat -c %a "$fa")" = 640 ]
	mv "$fa" "$fa.1"
	kill -HUP "$STREAM"
	sleep 0.3
	recv_bg 127.0.0.1 5
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 5 100
	wait "$RECEIVER"
	kill -TERM "$STREAM"
	wait "$STREAM"
	[ "$(wc -l <"$fa.1")" = 6 ]
	[ "$(wc -l <"$fa")" = 5 ]
	[ "$(tail -1 "$fa" | cut -d, -f7)" = $((11 * 128)) ]
	[ "$(wc -l <"$fb")" = 11 ]
	[ ! -s "$BIN/stream.out" ]
}

@test "--output into directories not there yet makes them (mode 755, as mkdir -p), as it makes %u's" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/var"
	start_stream --output "$BIN/var/new/logs/%U/tm.log"
	recv_bg 127.0.0.1 3
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 3 100
	wait "$RECEIVER"
	wait_line "$BIN/var/new/logs/$A/tm.log" '"bytes":128'
	[ "$(stat -c '%a %U' "$BIN/var/new" "$BIN/var/new/logs" "$BIN/var/new/logs/$A")" = "755 root
755 root
755 root" ]
	kill -TERM "$STREAM"
	wait "$STREAM"
	[ "$(grep -c '"dir":"out"' "$BIN/var/new/logs/$A/tm.log")" = 3 ]
}

@test "a second reader is refused, naming the first" {
	tm-load --cgroup "$CG"
	start_stream
	run tm-stream
	[ "$status" = 1 ]
	[ "$output" = "tm-stream: another tm-stream is reading (pid $STREAM); one reader at a time" ]
}

@test "tm-stream | head -1 exits 0, quietly" {
	tm-load --cgroup "$CG"
	recv_bg 127.0.0.1 200
	bg as "$CG" $A "$BIN/tmtraffic" udp-send 127.0.0.1 "$RPORT" 200 10 10000
	run bash -c 'set -o pipefail; tm-stream | head -1'
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 1 ]
	[[ "${lines[0]}" == '{"ts":"'* ]]
	[ "$(reader_pid)" = 0 ]
}

@test "a reader killed with SIGKILL does not leave the event path on" {
	tm-load --cgroup "$CG"
	start_stream
	kill -KILL "$STREAM"
	wait "$STREAM" || true
	[ "$(reader_pid)" = "$STREAM" ]
	# Whoever opens the pins next notices.
	tm-stat >/dev/null
	[ "$(reader_pid)" = 0 ]
	start_stream --count 1
	kill -TERM "$STREAM"
}

@test "masked traffic is never streamed" {
	tm-load --cgroup "$CG"
	tm-mask add 127.0.0.0/8
	start_stream
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	udp_exchange "$CG" $A "$CG" $B ::1 2 100
	kill -TERM "$STREAM"
	wait "$STREAM"
	[ "$(wc -l <"$BIN/stream.out")" = 4 ]
	[ "$(jq -s 'map(select(.family == "ipv6")) | length' "$BIN/stream.out")" = 4 ]
}

@test "a socket older than the load shows pid 0 and comm ?" {
	recv_bg 127.0.0.1 3
	tm-load --cgroup "$CG"
	start_stream --user $B --count 3
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 3 100
	wait "$STREAM"
	[ "$(jq -s 'map(select(.pid == 0 and .comm == "?")) | length' "$BIN/stream.out")" = 3 ]
}

@test "an accepted TCP socket is the server process's" {
	tm-load --cgroup "$CG"
	start_stream --user $B
	bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 127.0.0.1 "$BIN/tport"
	local server=${PIDS[-1]}
	wait_file "$BIN/tport"
	as "$CG" $A "$BIN/tmtraffic" tcp-send 127.0.0.1 "$(cat "$BIN/tport")" 5000 >/dev/null
	wait "$server"
	kill -TERM "$STREAM"
	wait "$STREAM"
	[ "$(jq -s 'map(select(.pid != '"$server"' or .comm != "tmtraffic")) | length' "$BIN/stream.out")" = 0 ]
	[ "$(jq -s 'map(select(.dir == "in")) | length' "$BIN/stream.out")" -ge 3 ]
}

@test "tm-stream refuses a template it cannot write, and bad options, with exit 2" {
	tm-load --cgroup "$CG"
	: >"$BIN/file"
	run tm-stream --output "$BIN/file/dir/%u.log"
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stream: --output '$BIN/file/dir/%u.log': cannot write in '$BIN/file/dir': Not a directory" ]]
	# Below a directory others may write in, a missing one is refused too.
	mkdir -m 1777 "$BIN/open"
	run tm-stream --output "$BIN/open/new/%u.log"
	[ "$status" = 2 ]
	[[ "${lines[0]}" == *"others than its owner may write in '$BIN/open'"* ]]
	[ ! -e "$BIN/open/new" ]
	run tm-stream --output "$BIN/%x.log"
	[ "$status" = 2 ]
	run tm-stream --format xml
	[ "$status" = 2 ]
	run tm-stream --count 0
	[ "$status" = 2 ]
	[ "$(reader_pid)" = 0 ]
}

@test "IPv6 extension headers are walked to the ports" {
	tm-load --cgroup "$CG"
	start_stream --user 0 --count 3
	recv_bg ::1 3
	# Setting a Destination Options header needs CAP_NET_RAW: root sends.
	TM_DSTOPTS=1 udp_send "$CG" 0 ::1 "$RPORT" 3 100
	wait "$STREAM"
	# 40 (IPv6) + 8 (options) + 8 (UDP) + 100
	[ "$(jq -s 'map(select(.bytes == 156 and .proto == "udp" and .sport == '"$SPORT"'
		and .dport == '"$RPORT"')) | length' "$BIN/stream.out")" = 3 ]
}

@test "every event is either printed or counted as lost" {
	tm-load --cgroup "$CG" --events-size 4096
	start_stream
	# The reader stops; 400 events meet a ring with room for about 40.
	kill -STOP "$STREAM"
	recv_bg 127.0.0.1 200
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 200 10
	wait "$RECEIVER"
	kill -CONT "$STREAM"
	sleep 0.3
	kill -TERM "$STREAM"
	wait "$STREAM"
	local written lost
	read -r written lost < <(tail -1 "$BIN/stream.err" | awk '{ print $2, $5 }')
	[ "$(wc -l <"$BIN/stream.out")" = "$written" ]
	[ "$lost" -gt 0 ]
	[ $((written + lost)) = 400 ]
	grep -q "events lost in the last" "$BIN/stream.err"
}

@test "tm-stream exits 1 with a message when the meter is unloaded under it" {
	tm-load --cgroup "$CG"
	start_stream
	tm-unload
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$STREAM" 2>/dev/null || break
		sleep 0.1
	done
	run wait "$STREAM"
	[ "$status" = 1 ]
	grep -qx "tm-stream: the meter at $TM_PIN_ROOT was unloaded" "$BIN/stream.err"
}

@test "tm-stream --follow goes on with the next load, its totals from that load's counters" {
	tm-load --cgroup "$CG"
	start_stream --follow --user $A --count 3
	tm-unload
	wait_line "$BIN/stream.err" "waiting for the next load"
	tm-load --cgroup "$CG"
	wait_line "$BIN/stream.err" "following the new load at $TM_PIN_ROOT"
	# The reader registers with the new load before it says so.
	[ "$(reader_pid)" = "$STREAM" ]
	recv_bg 127.0.0.1 3
	udp_send "$CG" $A 127.0.0.1 "$RPORT" 3 100
	wait "$STREAM"
	[ "$(jq -s 'map(.total_out)' "$BIN/stream.out" | jq -c .)" = "[128,256,384]" ]
}

@test "tm-stream | head -1 ends as soon as head does, even when no more events come" {
	tm-load --cgroup "$CG"
	recv_bg 127.0.0.1 1
	# One event, then nothing: tm-stream must notice head is gone by itself.
	(sleep 0.5; as "$CG" $A "$BIN/tmtraffic" udp-send 127.0.0.1 "$RPORT" 1 10 >/dev/null) &
	PIDS+=($!)
	run timeout 10 bash -c 'set -o pipefail; tm-stream --user '$A' | head -1'
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 1 ]
	[ "$(reader_pid)" = 0 ]
}

@test "a 32 KiB ring wakes its reader in time: nothing lost at 10,000 events a second" {
	tm-load --cgroup "$CG" --events-size 32768
	start_stream
	bg as "$CG" $B "$BIN/tmtraffic" udp-drain 127.0.0.1 "$BIN/dport"
	wait_file "$BIN/dport"
	as "$CG" $A "$BIN/tmtraffic" udp-rate 127.0.0.1 "$(cat "$BIN/dport")" 5000 1 10 >/dev/null
	sleep 0.3
	kill -TERM "$STREAM"
	wait "$STREAM"
	local written lost
	read -r written lost < <(tail -1 "$BIN/stream.err" | awk '{ print $2, $5 }')
	[ "$written" -ge 9000 ]
	[ "$lost" = 0 ]
}

# json_lines FILE: every line of FILE is one JSON object, the last ends in a line feed; N in REPLY.
json_lines() {
	REPLY=$(python3 -c 'import json, sys
data = open(sys.argv[1], "rb").read()
assert not data or data.endswith(b"\n"), "a torn last line: %r" % data[-80:]
n = 0
for i, l in enumerate(data.split(b"\n")[:-1], 1):
    try:
        json.loads(l)
    except ValueError as e:
        sys.exit("%s:%d: %s: %r" % (sys.argv[1], i, e, l[:120]))
    n += 1
print(n)' "$1")
}

@test "tm-stream --output killed with SIGKILL mid-traffic leaves whole lines only, and the next run's lines start lines" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/logs"
	local i
	for ((i = 0; i < 6; i++)); do
		start_stream --output "$BIN/logs/%U.log"
		udp_exchange "$CG" $A "$CG" $B 127.0.0.1 1000 20 30
		kill -KILL "$STREAM"
		wait "$STREAM" || true
	done
	json_lines "$BIN/logs/$A.log"
	# Lines were written (most of them, the kills aside), each whole.
	[ "$REPLY" -gt 1000 ]
	json_lines "$BIN/logs/$B.log"
	[ "$REPLY" -gt 1000 ]
}

@test "a log file a killed writer left with a torn last line is mended when it is opened: the torn part is cut, and said" {
	tm-load --cgroup "$CG"
	mkdir -m 755 "$BIN/logs"
	local f=$BIN/logs/$A.log
	printf '{"ts":"1.0","dir":"out"}\n{"ts":"1796356343.4' >"$f"
	chmod 600 "$f"
	start_stream --output "$BIN/logs/%U.log"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 20
	kill -TERM "$STREAM"
	wait "$STREAM"
	grep -qF "'$f': cut off a torn last line (19 bytes) that a killed writer left" "$BIN/stream.err"
	json_lines "$f"
	[ "$REPLY" = 4 ]
	[ "$(head -1 "$f")" = '{"ts":"1.0","dir":"out"}' ]
	# One line that never ended: cut whole.
	printf 'torn' >"$BIN/logs/$B.log"
	chmod 600 "$BIN/logs/$B.log"
	start_stream --output "$BIN/logs/%U.log"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 20
	kill -TERM "$STREAM"
	wait "$STREAM"
	json_lines "$BIN/logs/$B.log"
	[ "$REPLY" = 2 ]
}
