#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Names a user controls (process names, cgroup paths) and UIDs with no
# passwd entry: every format stays parseable, rows and columns cannot be
# forged, and each name comes back as written (bytes that are not UTF-8 as
# U+FFFD, as Python decodes them with errors="replace").

load lib

setup() {
	tm_setup
	PARSE=$TOP/tests/helpers/parse-check
}
teardown() { tm_teardown; }

A=42511
B=42512

# Process names, 15 bytes at most: invalid UTF-8, quotes, commas, a line
# break that would start a CSV row, an escape sequence, backslash and tab,
# a cut UTF-8 sequence, a full 15 bytes, bytes 0x80-0xff.
COMMS=($'a\xff"b' 'a,b"c' $'x\n0,root,9,' $'\x1b[2J\\\t' $'\xc3\xa9\xe2\x82' \
	'abcdefghijklmno' $'\x80\x9f\xfe\xff')

hex() { printf '%s' "$1" | od -A n -v -t x1 | tr -d ' \n'; }

# hostile_traffic: one sender process of $A per name in COMMS, each in the
# cgroup $JOB, whose name is hostile too; 2 datagrams of 50 bytes each.
hostile_traffic() {
	new_cgroup $'/j,"\xff\x1b[2J\\\t'
	JOB=$REPLY
	tm-load --cgroup "$CG"
	local c
	for c in "${COMMS[@]}"; do
		TM_COMM=$c udp_exchange "$JOB" $A "$CG" $B 127.0.0.1 2 50
	done
	HEXES=()
	for c in "${COMMS[@]}"; do HEXES+=("$(hex "$c")"); done
}

# all_formats BY FIELD HEX...: tm-stat --by BY as JSON, CSV and a table,
# checked strictly against each other; FIELD of $A's rows is the names given.
all_formats() {
	local by=$1 field=$2
	shift 2
	tm-stat --by "$by" --json >"$BIN/o.json"
	tm-stat --by "$by" --format csv >"$BIN/o.csv"
	tm-stat --by "$by" >"$BIN/o.txt"
	jq -e 'type == "array" and length > 0' "$BIN/o.json" >/dev/null
	"$PARSE" rows "$BIN/o.json" "$BIN/o.csv" "$BIN/o.txt" "$field" $A "$@"
}

@test "hostile process names: --by proc in JSON, CSV and table parse and name each process exactly" {
	hostile_traffic
	all_formats proc comm "${HEXES[@]}"
	# Every sender is its own row with its own pid.
	[ "$(tm-stat --by proc --json --user $A | jq 'map(.pid) | unique | length')" = ${#COMMS[@]} ]
}

@test "hostile process names: --by conn in JSON, CSV and table parse and name each connection exactly" {
	hostile_traffic
	all_formats conn comm "${HEXES[@]}"
	[ "$(tm-stat --by conn --json --user $A | jq 'map(.out_bytes) | add')" = $((${#COMMS[@]} * 2 * 78)) ]
}

@test "a hostile cgroup name: --by cgroup in JSON, CSV and table parse and name the cgroup exactly" {
	hostile_traffic
	all_formats cgroup cgroup "$(hex "/$ID/${JOB##*/}")"
}

@test "a UID with no passwd entry, by user, iface and proto, in every format" {
	hostile_traffic
	all_formats user user "$(hex $A)"
	all_formats iface iface "$(hex lo)"
	all_formats proto proto "$(hex udp)"
}

@test "with --interval, JSON is one valid array a line and CSV one header, whatever the names" {
	hostile_traffic
	tm-stat --by proc --interval 0.1 --count 2 --json >"$BIN/i.json"
	tm-stat --by proc --interval 0.1 --count 2 --format csv >"$BIN/i.csv"
	[ "$(wc -l <"$BIN/i.json")" = 2 ]
	[ "$(jq -s 'map(length) | add' "$BIN/i.json")" = \
		"$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline=""), strict=True))) - 1)' "$BIN/i.csv")" ]
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], "rb")]' "$BIN/i.json"
	[ "$(head -1 "$BIN/i.csv")" = "ts,user,uid,pid,comm,in_bytes,out_bytes,in_packets,out_packets,in_rate,out_rate" ]
}

@test "a process name cannot forge a row or clear the screen in a table or a report file" {
	hostile_traffic
	run tm-stat --by proc --user $A
	[ "${#lines[@]}" = $((${#COMMS[@]} + 1)) ]
	[[ "$output" == *'x\n0,root,9,'* ]]
	[[ "$output" == *'\x1b[2J\\\t'* ]]
	[[ "$output" != *$'\x1b'* ]]
	mkdir -m 755 "$BIN/reports"
	bg tm-stat --interval 60 --output "$BIN/reports/%U.log"
	local st=${PIDS[-1]} c f=$BIN/reports/$A.log
	wait_caught "$st" 15
	# Traffic in its interval: each name's connection moves in it.
	for c in "${COMMS[@]}"; do
		TM_COMM=$c udp_exchange "$JOB" $A "$CG" $B 127.0.0.1 2 50
	done
	kill -TERM "$st"
	wait "$st"
	# A header and totals, then two lines for each connection, and a blank.
	[ "$(wc -l <"$f")" = $((2 + 2 * ${#COMMS[@]} + 1)) ]
	[ "$(grep -c '^conn ' "$f")" = ${#COMMS[@]} ]
	refute grep -q $'\x1b' "$f"
	grep -q 'pid [0-9]* x\\n0,root,9,$' "$f"
}

@test "tm-stream JSON and CSV lines parse whatever the process names, and name each sender exactly" {
	tm-load --cgroup "$CG"
	start_stream --user $A --count $((2 * ${#COMMS[@]}))
	local c
	for c in "${COMMS[@]}"; do
		TM_COMM=$c udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 50
	done
	wait "$STREAM"
	local hexes=()
	for c in "${COMMS[@]}"; do hexes+=("$(hex "$c")"); done
	jq -e . "$BIN/stream.out" >/dev/null
	"$PARSE" stream-json "$BIN/stream.out" comm $A "${hexes[@]}"
	start_stream --format csv --user $A --count 4
	TM_COMM=$'a,b\n"c' udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 50
	wait "$STREAM"
	"$PARSE" stream-csv "$BIN/stream.out" 4
}

@test "CSV and Prometheus pass no control character to a terminal: each is its picture, and the exposition still parses" {
	hostile_traffic
	tm-stat --by proc --format csv >"$BIN/o.csv"
	tm-stat --format prometheus >"$BIN/o.prom"
	promtool check metrics <"$BIN/o.prom"
	local f
	for f in o.csv o.prom; do
		refute grep -qP '[\x00-\x09\x0b-\x1f\x7f]' "$BIN/$f"
	done
	# The cgroup /j,"<ff><ESC>[2J\<TAB>: quote and backslash escaped as the
	# format says, ESC and TAB as their pictures, 0xff as U+FFFD.
	grep -qF "cgroup=\"/$ID/j,\\\""$'\xef\xbf\xbd\xe2\x90\x9b'"[2J\\\\"$'\xe2\x90\x89'"\"" "$BIN/o.prom"
	grep -qF $'\xe2\x90\x9b[2J\\\xe2\x90\x89' "$BIN/o.csv"
}
