#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Packets held in their socket until it closes or changes peer: counted
# while they are held, once, under the right peer and the current masks.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42491
B=42492

# pending_of UID: how many sockets hold packets of UID not yet in the maps.
# Records are struct tm_pending, 176 bytes: a 48-byte owner, then the slot,
# whose key starts with the uid (the 13th 4-byte word).
pending_of() {
	local n
	n=$(wc -c <"$TM_PIN_ROOT/pending")
	[ $((n % 176)) = 0 ] || { echo "pending: $n bytes, not whole records" >&2; return 1; }
	od -A n -v -t u4 -w176 "$TM_PIN_ROOT/pending" | awk -v u="$1" '$13 == u' | wc -l
}

# peer_rows: $A's connections as "rport out_packets out_bytes", by port.
peer_rows() {
	tm-stat --by conn --json --user $A |
		jq -r 'sort_by(.rport) | map([.rport, .out_packets, .out_bytes] | @tsv) | .[]'
}

# bats test_tags=kernel
@test "an open socket's packets count before it closes, and only once after" {
	tm-load --cgroup "$CG"
	drain_bg "$CG" $B; local port=$REPLY
	script_start "$CG" $A
	script_send "$port" 10 100
	# Held in both sockets, not yet in the maps: tm-stat still has them.
	[ "$(pending_of $A)" = 1 ] && [ "$(pending_of $B)" = 1 ]
	[ "$(stat_field $A out_bytes)" = 1280 ] && [ "$(stat_field $A out_packets)" = 10 ]
	[ "$(stat_field $B in_bytes)" = 1280 ] && [ "$(stat_field $B in_packets)" = 10 ]
	run tm-stat --by proc --json --user $A
	[ "$(jq -r '.[0] | [.comm, .out_bytes] | @tsv' <<<"$output")" = "tmtraffic	1280" ]
	script_send "$port" 5 100
	[ "$(stat_field $A out_bytes)" = 1920 ]
	# Closed: the slot went into the maps, and nothing is counted twice.
	script_end
	[ "$(pending_of $A)" = 0 ]
	[ "$(stat_field $A out_bytes)" = 1920 ] && [ "$(stat_field $A out_packets)" = 15 ]
	[ "$(stat_field $B in_bytes)" = 1920 ]
}

@test "a socket that changes peer counts each peer's packets to its own connection" {
	tm-load --cgroup "$CG"
	drain_bg "$CG" $B; local p1=$REPLY
	drain_bg "$CG" $B; local p2=$REPLY
	script_start "$CG" $A
	script_send "$p1" 3 100
	script_send "$p2" 4 200
	script_send "$p1" 2 100
	# Open: one peer's slot is in the socket, the rest in the maps.
	local want
	want=$(printf '%s\t5\t640\n%s\t4\t912\n' "$p1" "$p2" | sort -n)
	[ "$(pending_of $A)" = 1 ]
	[ "$(peer_rows)" = "$want" ]
	script_end
	[ "$(pending_of $A)" = 0 ]
	[ "$(peer_rows)" = "$want" ]
	[ "$(stat_field $A out_bytes)" = 1552 ]
}

@test "a mask added or removed applies at once to a socket's next packets" {
	tm-load --cgroup "$CG"
	drain_bg "$CG" $B; local port=$REPLY
	script_start "$CG" $A
	script_send "$port" 10 100
	tm-mask add 127.0.0.0/8
	script_send "$port" 7 100
	[ "$(stat_field $A out_packets)" = 10 ] && [ "$(stat_field $B in_packets)" = 10 ]
	[ "$(untracked_field out_packets)" = 7 ] && [ "$(untracked_field in_packets)" = 7 ]
	tm-mask del 127.0.0.0/8
	script_send "$port" 4 100
	script_end
	[ "$(stat_field $A out_packets)" = 14 ] && [ "$(stat_field $A out_bytes)" = 1792 ]
	[ "$(stat_field $B in_packets)" = 14 ]
	[ "$(untracked_field out_bytes)" = 896 ]
}

# floor_attach: bench/floor.bpf.c, a meter that counts every packet on its
# own as it passes, attached beside tm: the reference for the slots.
floor_attach() {
	FLOOR=/sys/fs/bpf/${ID}floor
	EXTRA_PINS+=("$FLOOR")
	mkdir -p "$FLOOR/maps"
	bpftool prog loadall "$BUILD/bench/floor.bpf.o" "$FLOOR" pinmaps "$FLOOR/maps"
	bpftool cgroup attach "$CG" ingress pinned "$FLOOR/floor_ingress" multi
	bpftool cgroup attach "$CG" egress pinned "$FLOOR/floor_egress" multi
}

# floor_of UID: "bytes packets" the floor counted for UID, in and out.
floor_of() {
	local key
	key=$(printf '%08x' "$1" | sed -E 's/(..)(..)(..)(..)/0x\4 0x\3 0x\2 0x\1/')
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$FLOOR/maps/floor_users" key $key |
		jq -r '[.formatted.values[].value] | "\(map(.bytes) | add) \(map(.packets) | add)"'
}

# tm_of UID: "bytes packets" tm counted for UID, in and out.
tm_of() {
	tm-stat --json --user "$1" |
		jq -r '.[0] | "\(.in_bytes + .out_bytes) \(.in_packets + .out_packets)"'
}

# agree_with_floor UID...: tm and the floor have the same bytes and packets
# for each UID, once the last packets are in (2 s at most).
agree_with_floor() {
	local i u same
	for ((i = 0; i < 20; i++)); do
		same=1
		for u in "$@"; do
			[ "$(tm_of "$u")" = "$(floor_of "$u")" ] || same=0
		done
		[ $same = 1 ] && return 0
		sleep 0.1
	done
	for u in "$@"; do
		echo "uid $u: tm $(tm_of "$u"), floor $(floor_of "$u")" >&2
	done
	return 1
}

@test "what a TCP socket sends and receives after its close counts, as a per-packet meter sees it" {
	tm-load --cgroup "$CG"
	floor_attach
	local pf=$BIN/tcp.port
	# The sink reads only once the sender has closed: by construction,
	# data is still queued when the socket is closed.
	bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 127.0.0.1 "$pf" "$BIN/go" >"$BIN/sink.out"
	local sink=${PIDS[-1]}
	wait_file "$pf"
	run as "$CG" $A "$BIN/tmtraffic" tcp-fill 127.0.0.1 "$(cat "$pf")"
	[ "$status" = 0 ]
	local written=${output% *} queued=${output#* }
	[ "$queued" -gt 0 ]
	touch "$BIN/go"
	wait "$sink"
	[ "$(cat "$BIN/sink.out")" = "$written" ]
	# The last packets come after the processes are gone.
	agree_with_floor $A $B
	[ "$(tm_of $A | cut -d' ' -f1)" -gt "$written" ]
}

@test "a connection its server never accepts counts when the server closes, as a per-packet meter sees it" {
	tm-load --cgroup "$CG"
	floor_attach
	local pf=$BIN/tcp.port
	bg as "$CG" $B "$BIN/tmtraffic" tcp-ignore 127.0.0.1 "$pf" 1500
	local server=${PIDS[-1]}
	wait_file "$pf"
	# Queued in the accepted socket nobody took, then thrown away with it.
	run as "$CG" $A "$BIN/tmtraffic" tcp-blast 127.0.0.1 "$(cat "$pf")" 50000
	[ "$status" = 0 ]
	wait "$server"
	agree_with_floor $A $B
	[ "$(tm_of $B | cut -d' ' -f1)" -gt 50000 ]
}

# before_load DIR UID CMD...: CMD (tmtraffic, with TM_WAIT=DIR) of UID in the
# test's cgroup, in the background, its socket made; PID in REPLY. touch
# DIR/go lets it on.
before_load() {
	local dir=$1 uid=$2
	shift 2
	mkdir -m 1777 "$dir"
	TM_WAIT=$dir bg as "$CG" "$uid" "$BIN/tmtraffic" "$@"
	REPLY=${PIDS[-1]}
	wait_file "$dir/open" -e
}

# load_and_go DIR PID: tm loaded and the floor attached, then before_load's
# PID let on (DIR/go) and waited for.
load_and_go() {
	tm-load --cgroup "$CG"
	floor_attach
	touch "$1/go"
	wait "$2"
}

# bats test_tags=kernel
@test "a UDP socket made before the load counts from the load on, exactly and once: a slot of its own where the owner is read from the socket" {
	drain_bg "$CG" $B; local port=$REPLY
	script_start "$CG" $A
	script_send "$port" 1 100
	tm-load --cgroup "$CG"
	script_send "$port" 10 100
	[ "$(stat_field $A out_bytes)" = 1280 ] && [ "$(stat_field $A out_packets)" = 10 ]
	[ "$(stat_field $B in_bytes)" = 1280 ] && [ "$(stat_field $B in_packets)" = 10 ]
	# Held in both old sockets where the kernel gives the socket's owner
	# (Linux 6.3); in the maps at once where not.
	local held=0
	[ "$(owners_by)" = socket ] && held=1
	[ "$(pending_of $A)" = $held ] && [ "$(pending_of $B)" = $held ]
	run tm-stat --by proc --json --user $A
	[ "$(jq -r '.[0] | [.pid, .comm, .out_bytes] | @tsv' <<<"$output")" = "0	?	1280" ]
	script_send "$port" 5 100
	script_end
	[ "$(pending_of $A)" = 0 ]
	[ "$(stat_field $A out_bytes)" = 1920 ] && [ "$(stat_field $A out_packets)" = 15 ]
	[ "$(stat_field $B in_bytes)" = 1920 ]
}

# bats test_tags=kernel
@test "a TCP connection made before the load counts from the load on as a per-packet meter sees it" {
	local pf=$BIN/tcp.port
	bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 127.0.0.1 "$pf" >"$BIN/sink.out"
	local sink=${PIDS[-1]}
	wait_file "$pf"
	before_load "$BIN/w" $A tcp-send 127.0.0.1 "$(cat "$pf")" 3000000
	load_and_go "$BIN/w" "$REPLY"
	wait "$sink"
	[ "$(cat "$BIN/sink.out")" = 3000000 ]
	agree_with_floor $A $B
	[ "$(tm_of $A | cut -d' ' -f1)" -gt 3000000 ]
	[ "$(pending_of $A)" = 0 ] && [ "$(pending_of $B)" = 0 ]
}

# bats test_tags=kernel
@test "a connection in its listener's queue since before the load, never accepted, counts as a per-packet meter sees it" {
	local pf=$BIN/tcp.port
	# The listener is ended (its close throws the connection away) once the
	# client has sent, not on a timer: a slow machine's load takes long.
	bg as "$CG" $B "$BIN/tmtraffic" tcp-ignore 127.0.0.1 "$pf" 60000
	local server=${PIDS[-1]}
	wait_file "$pf"
	before_load "$BIN/w" $A tcp-blast 127.0.0.1 "$(cat "$pf")" 50000
	load_and_go "$BIN/w" "$REPLY"
	kill "$server"
	wait "$server" || true
	agree_with_floor $A $B
	[ "$(tm_of $B | cut -d' ' -f1)" -gt 50000 ]
}
