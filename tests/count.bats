#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What tm counts, to the byte: real programs, real traffic, exact numbers.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

# Two UIDs: one with a passwd entry, one without.
A=daemon
A_UID=1
B=42421

# bats test_tags=kernel
@test "UDP over 127.0.0.1: sender out = receiver in = N*(P+28) bytes, N packets" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A_UID "$CG" $B 127.0.0.1 25 100
	[ "$(stat_field $A out_bytes)" = $((25 * 128)) ]
	[ "$(stat_field $A out_packets)" = 25 ]
	[ "$(stat_field $A in_bytes)" = 0 ]
	[ "$(stat_field $B in_bytes)" = $((25 * 128)) ]
	[ "$(stat_field $B in_packets)" = 25 ]
	[ "$(stat_field $B out_bytes)" = 0 ]
}

# bats test_tags=kernel
@test "UDP over ::1: sender out = receiver in = N*(P+48) bytes, N packets" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A_UID "$CG" $B ::1 17 1000
	[ "$(stat_field $A out_bytes)" = $((17 * 1048)) ]
	[ "$(stat_field $A out_packets)" = 17 ]
	[ "$(stat_field $B in_bytes)" = $((17 * 1048)) ]
	[ "$(stat_field $B in_packets)" = 17 ]
}

@test "a named user shows by name, a UID with no passwd entry by number" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A_UID "$CG" $B 127.0.0.1 3 10
	run tm-stat --json
	[ "$status" = 0 ]
	[ "$(jq -r '.[] | select(.uid == 1) | .user' <<<"$output")" = daemon ]
	[ "$(jq -r ".[] | select(.uid == $B) | .user" <<<"$output")" = "$B" ]
	run tm-stat --bytes --user daemon --user $B
	[ "$status" = 0 ]
	[[ "${lines[1]}" =~ ^daemon\ +1\ +0\ +114\ +0\ +3$ ]] ||
		[[ "${lines[2]}" =~ ^daemon\ +1\ +0\ +114\ +0\ +3$ ]]
	[[ "$output" =~ $B\ +$B\ +114\ +0\ +3\ +0 ]]
}

@test "traffic of processes outside the attached cgroup is not counted" {
	new_cgroup out
	local outside=$REPLY
	tm-load --cgroup "$CG"
	udp_exchange "$outside" $A_UID "$outside" $B 127.0.0.1 10 100
	run tm-stat --json
	[ "$output" = "[]" ]
	# Only the receiving end is inside: only its ingress counts.
	udp_exchange "$outside" $A_UID "$CG" $B 127.0.0.1 10 100
	[ "$(stat_field $A out_bytes)" = 0 ]
	[ "$(stat_field $B in_bytes)" = 1280 ]
}

@test "attaching to two cgroups counts both" {
	new_cgroup two
	local cg2=$REPLY
	tm-load --cgroup "$CG" --cgroup "$cg2"
	udp_exchange "$CG" $A_UID "$cg2" $B 127.0.0.1 7 50
	[ "$(stat_field $A out_bytes)" = $((7 * 78)) ]
	[ "$(stat_field $B in_bytes)" = $((7 * 78)) ]
	[ "$(stat_field $B in_packets)" = 7 ]
}

@test "TCP over a veth pair: sender out_bytes equals nftables' meta skuid count, packets equal GSO segments" {
	veth_pair
	local nsa=$NSA nsb=$NSB
	ip netns exec "$nsa" nft -f - <<-NFT
		table inet tmtest {
			chain out {
				type filter hook output priority 0;
				meta skuid $A_UID counter
			}
		}
	NFT
	tm-load --cgroup "$CG"

	local pf=$BIN/port out=$BIN/sink segs
	IN_NETNS=$nsb bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 192.0.2.2 "$pf" >"$out"
	local sink=${PIDS[-1]}
	wait_file "$pf"
	segs=$(IN_NETNS=$nsa as "$CG" $A_UID "$BIN/tmtraffic" tcp-send 192.0.2.2 "$(cat "$pf")" 3000000)
	wait "$sink"
	[ "$(cat "$out")" = 3000000 ]

	local nft_bytes nft_packets
	nft_bytes=$(ip netns exec "$nsa" nft -j list table inet tmtest |
		jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .bytes] | add')
	nft_packets=$(ip netns exec "$nsa" nft -j list table inet tmtest |
		jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add')
	echo "nft: $nft_bytes bytes $nft_packets skbs; segs_out $segs; tm: $(tm-stat --json --user $A)"
	[ "$(stat_field $A out_bytes)" = "$nft_bytes" ]
	[ "$(stat_field $A out_packets)" = "$segs" ]
	# The transfer did use GSO: fewer skbs than segments.
	[ "$nft_packets" -lt "$segs" ]
}

@test "a TCP exchange charges every packet to a real UID, the SYN-ACK to the listener's" {
	new_netns lo; local ns=$REPLY
	tm-load --cgroup "$CG"
	local pf=$BIN/port out=$BIN/sink
	IN_NETNS=$ns bg as "$CG" $B "$BIN/tmtraffic" tcp-sink 127.0.0.1 "$pf" >"$out"
	local sink=${PIDS[-1]}
	wait_file "$pf"
	IN_NETNS=$ns as "$CG" $A_UID "$BIN/tmtraffic" tcp-send 127.0.0.1 "$(cat "$pf")" 1000 >/dev/null
	wait "$sink"
	# Client: SYN 60, ACK 52, data 52+1000, FIN 52, last ACK 52.
	[ "$(stat_field $A out_bytes)" = 1268 ]
	[ "$(stat_field $A out_packets)" = 5 ]
	# Everything the client sent reached the server's sockets.
	[ "$(stat_field $B in_bytes)" = 1268 ]
	[ "$(unknown_field out_packets)" = 0 ]
	[ "$(unknown_field in_packets)" = 0 ]
}

@test "the kernel's own replies (TCP resets, ICMP unreachables) go to the unknown owner, not root" {
	# The kernel's reply sockets are created at boot in the cgroup v2 root,
	# so only a load on the root sees them. The traffic stays in a private
	# namespace; other kernel replies on the host can only add to unknown.
	new_netns k; local ns=$REPLY
	local C=42422
	tm-load --cgroup "$CG2"
	local before after
	before=$(unknown_field out_bytes)
	IN_NETNS=$ns as "$CG" $C "$BIN/tmtraffic" udp-send 127.0.0.1 9 10 100
	for i in 1 2 3 4 5; do
		! IN_NETNS=$ns as "$CG" $C "$BIN/tmtraffic" tcp-send 127.0.0.1 9 1 2>/dev/null
	done
	after=$(unknown_field out_bytes)
	# 10 ICMP port unreachables quoting 128 bytes (20 + 8 + 128) and
	# 5 resets (40).
	[ $((after - before)) -ge $((10 * 156 + 5 * 40)) ]
	# The sender's side is exact: 10 datagrams, 5 SYNs, 5 resets received.
	[ "$(stat_field $C out_bytes)" = $((10 * 128 + 5 * 60)) ]
	[ "$(stat_field $C in_bytes)" = $((5 * 40)) ]
	run tm-stat --json
	[ "$(jq -r 'map(select(.uid == null)) | .[0].user' <<<"$output")" = unknown ]
}

@test "users beyond --max-users are counted as users_full, and tm-stat says so" {
	tm-load --cgroup "$CG" --max-users 2
	udp_exchange "$CG" $A_UID "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" 42423 "$CG" 42424 127.0.0.1 3 100
	# The first two (uid, family) pairs got rows; the rest is counted apart.
	run tm-stat --json
	[ "$(jq 'length' <<<"$output")" = 2 ]
	run tm-stat
	[[ "$output" == *"tm-stat: note: 6 packets (768 bytes) had no room in the per-user map and are not in any row"* ]]
	run tm-load --replace --max-users 4
	[ "$status" = 2 ]
}
