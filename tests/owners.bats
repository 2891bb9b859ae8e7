#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Whose a packet is, and where: host UIDs inside user namespaces, raw
# sockets, the kernel's replies, interfaces of other network namespaces,
# cgroups that are gone, and cgroup roll-up.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

U=42441
A=42442
B=42443

# nft_total TABLE_JSON_FILE CHAIN FIELD: a chain's counter, summed.
nft_total() {
	jq "[.nftables[] | .rule? | select(. and .chain == \"$2\") | .expr[] | .counter? |
	     select(.) | .$3] | add // 0" "$1"
}

# in_bytes/out_bytes of the rows of a uid that is not U, nor unknown: none.
others() {
	tm-stat --json | jq -c "map(select(.uid != $1 and .uid != null))"
}

# bats test_tags=kernel
@test "TCP, UDP and ping inside unshare -Urn count under the host UID, equal to nftables' counts" {
	tm-load --cgroup "$CG"
	cat >"$BIN/userns.sh" <<-'EOF'
		set -e
		B=$1
		ip link set lo up
		nft -f - <<-NFT
			table inet tmtest {
				chain in {
					type filter hook input priority 0
					meta l4proto { tcp, udp } counter
				}
				chain out {
					type filter hook output priority 0
					meta l4proto { tcp, udp } counter
				}
			}
		NFT
		"$B/tmtraffic" tcp-sink 127.0.0.1 "$B/tport" >"$B/tsink" &
		while [ ! -s "$B/tport" ]; do sleep 0.02; done
		"$B/tmtraffic" tcp-send 127.0.0.1 "$(cat "$B/tport")" 3000000 >/dev/null
		wait
		"$B/tmtraffic" udp-recv ::1 "$B/uport" 20 >"$B/urecv" &
		while [ ! -s "$B/uport" ]; do sleep 0.02; done
		"$B/tmtraffic" udp-send ::1 "$(cat "$B/uport")" 20 500 >/dev/null
		wait
		"$B/tmtraffic" raw-ping 127.0.0.1 4 4242 >"$B/pings"
		nft -j list table inet tmtest >"$B/nft.json"
	EOF
	as "$CG" $U unshare -Urn sh "$BIN/userns.sh" "$BIN"
	[ "$(cat "$BIN/tsink")" = 3000000 ]
	[ "$(cat "$BIN/urecv")" = 20 ]
	[ "$(cat "$BIN/pings")" = 4 ]
	local nin nout
	nin=$(nft_total "$BIN/nft.json" in bytes)
	nout=$(nft_total "$BIN/nft.json" out bytes)
	echo "nft in $nin out $nout; tm: $(tm-stat --json)"
	# Every byte is the host UID's: none the namespace's root (host root) or
	# anyone else's. Echo requests and replies are 84 bytes each.
	[ "$(others $U)" = "[]" ]
	[ "$(stat_field $U in_bytes)" = $((nin + 4 * 84)) ]
	[ "$(stat_field $U out_bytes)" = $((nout + 4 * 84)) ]
	[ "$(stat_field $U in_packets)" -gt 20 ]
	run tm-stat --by conn --json
	[ "$(jq -r 'map(.uid) | unique | map(tostring) | join(" ")' <<<"$output")" = "$U" ]
}

# bats test_tags=kernel
@test "a nested user namespace's uid 1000 counts under the host UID too" {
	tm-load --cgroup "$CG"
	cat >"$BIN/nested.sh" <<-'EOF'
		set -e
		B=$1
		ip link set lo up
		"$B/tmtraffic" udp-recv 127.0.0.1 "$B/port" 7 >"$B/recv" &
		while [ ! -s "$B/port" ]; do sleep 0.02; done
		unshare -U --map-user=1000 --map-group=1000 \
			sh -c '[ "$(id -u)" = 1000 ] && exec "$0/tmtraffic" udp-send 127.0.0.1 "$1" 7 100' \
			"$B" "$(cat "$B/port")" >/dev/null
		wait
	EOF
	as "$CG" $U unshare -Urn sh "$BIN/nested.sh" "$BIN"
	[ "$(cat "$BIN/recv")" = 7 ]
	[ "$(others $U)" = "[]" ]
	[ "$(stat_field $U out_bytes)" = $((7 * 128)) ]
	[ "$(stat_field $U in_bytes)" = $((7 * 128)) ]
}

@test "a socket made in a user namespace before the load counts under the host UID" {
	if [ -n "${TM_TEST_WAYS:-}" ]; then
		tm-load --cgroup "$CG"
		# Documented: by creator, such a socket counts under the UID its
		# namespace maps it to (doc/kernels.md).
		[ "$(owners_by)" = socket ] || skip "owners by creator: see doc/kernels.md"
		tm-unload
	fi
	mkfifo "$BIN/cmds"
	exec 7<>"$BIN/cmds"
	# (Not holding fd 7 itself, so it sees the end of input.)
	bg as "$CG" $U unshare -Urn sh -c \
		'ip link set lo up && exec "$0/tmtraffic" udp-script 127.0.0.1 <"$0/cmds" >"$0/script.out"' \
		"$BIN" 7>&-
	local pid=${PIDS[-1]}
	# Its socket is open before anything is loaded.
	has_socket() { ls -l /proc/"$1"/fd 2>/dev/null | grep -q socket:; }
	eventually has_socket "$pid"
	tm-load --cgroup "$CG"
	echo "9 5 100" >&7
	wait_line "$BIN/script.out" sent
	exec 7>&-
	wait "$pid"
	[ "$(others $U)" = "[]" ]
	[ "$(stat_field $U out_bytes)" = $((5 * 128)) ]
	[ "$(stat_field $U out_packets)" = 5 ]
}

@test "root's raw-socket pings are root's; the kernel's echo replies and resets are unknown, IPv4 and IPv6" {
	# The kernel's reply sockets are in the cgroup v2 root: a load there,
	# counting only the loopback of a namespace of the test's own.
	new_netns k; local ns=$REPLY
	tm-load --cgroup "$CG2" --iface "$ns:lo"
	# Documented: by creator, the kernel's sockets have no namespace the
	# interface filter can match (doc/kernels.md).
	[ "$(owners_by)" = socket ] || skip "owners by creator: see doc/kernels.md"
	cat >"$BIN/kernel.sh" <<-'EOF'
		set -e
		B=$1 C=$2
		nft -f - <<-NFT
			table inet tmtest {
				chain out {
					type filter hook output priority 0
					meta l4proto icmp icmp type echo-reply counter
					meta l4proto ipv6-icmp icmpv6 type echo-reply counter
					meta nfproto ipv4 tcp flags & rst == rst counter
					meta nfproto ipv6 tcp flags & rst == rst counter
				}
			}
		NFT
		"$B/tmtraffic" raw-ping 127.0.0.1 5 101 >"$B/ping4"
		"$B/tmtraffic" raw-ping ::1 5 102 >"$B/ping6"
		for i in 1 2 3; do
			! setpriv --reuid="$C" --regid="$C" --clear-groups \
				"$B/tmtraffic" tcp-send 127.0.0.1 9 1 2>/dev/null
			! setpriv --reuid="$C" --regid="$C" --clear-groups \
				"$B/tmtraffic" tcp-send ::1 9 1 2>/dev/null
		done
		nft -j list table inet tmtest >"$B/nft.json"
	EOF
	IN_NETNS=$ns as "$CG" 0 sh "$BIN/kernel.sh" "$BIN" $A
	[ "$(cat "$BIN/ping4")" = 5 ]
	[ "$(cat "$BIN/ping6")" = 5 ]
	local counts
	counts=$(jq -c '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) |
			 [.packets, .bytes]]' "$BIN/nft.json")
	echo "nft: echo replies v4, v6, resets v4, v6: $counts; tm: $(tm-stat --json)"
	# nftables saw 5 + 5 echo replies and 3 + 3 resets go out.
	[ "$counts" = "[[5,420],[5,520],[3,120],[3,180]]" ]
	# Root's own raw sockets: 84-byte (IPv4) and 104-byte (IPv6) echoes.
	[ "$(stat_field root out_bytes)" = $((5 * 84 + 5 * 104)) ]
	[ "$(stat_field root in_bytes)" = $((5 * 84 + 5 * 104)) ]
	[ "$(stat_field root out_packets)" = 10 ]
	# The kernel's echo replies and IPv4 resets are the unknown owner's. The
	# IPv6 resets pass no hook: the kernel sends them with no socket on
	# the packet (tcp_v6_send_response), and the egress hook runs only
	# for a packet's own socket. Their receiving end counts them.
	[ "$(unknown_field out_bytes)" = $((420 + 520 + 120)) ]
	[ "$(unknown_field out_packets)" = 13 ]
	[ "$(stat_field $A out_bytes)" = $((3 * 60 + 3 * 80)) ]
	[ "$(stat_field $A in_bytes)" = $((3 * 40 + 3 * 60)) ]
}

@test "two users pinging over raw sockets at once are each charged their own replies; copies are counted apart" {
	new_netns p; local ns=$REPLY
	ip netns exec "$ns" nft -f - <<-NFT
		table inet tmtest {
			chain in {
				type filter hook input priority 0
				meta l4proto icmp icmp type echo-reply counter
				meta l4proto ipv6-icmp icmpv6 type echo-reply counter
			}
		}
	NFT
	tm-load --cgroup "$CG"
	# Both sockets are open before either sends and until both are done.
	local fam addr
	for fam in 4 6; do
		addr=127.0.0.1
		[ $fam = 6 ] && addr=::1
		mkdir "$BIN/sync$fam"
		chmod 1777 "$BIN/sync$fam"
		IN_NETNS=$ns bg as "$CG" $A --inh-caps=+net_raw --ambient-caps=+net_raw \
			"$BIN/tmtraffic" raw-ping $addr 10 $A 5000 "$BIN/sync$fam" >"$BIN/a$fam"
		IN_NETNS=$ns bg as "$CG" $B --inh-caps=+net_raw --ambient-caps=+net_raw \
			"$BIN/tmtraffic" raw-ping $addr 10 $B 5000 "$BIN/sync$fam" >"$BIN/b$fam"
		wait_file "$BIN/sync$fam/$A.open" -e
		wait_file "$BIN/sync$fam/$B.open" -e
		touch "$BIN/sync$fam/go"
		wait_file "$BIN/sync$fam/$A.done" -e
		wait_file "$BIN/sync$fam/$B.done" -e
		touch "$BIN/sync$fam/end"
		wait "${PIDS[-1]}"
		wait "${PIDS[-2]}"
	done
	[ "$(cat "$BIN/a4" "$BIN/b4" "$BIN/a6" "$BIN/b6" | tr '\n' ' ')" = "10 10 10 10 " ]
	local wire
	wire=$(ip netns exec "$ns" nft -j list table inet tmtest |
		jq -c '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | [.packets, .bytes]]')
	echo "nft echo replies in (v4, v6): $wire; tm: $(tm-stat --json)"
	# On the wire: 20 replies of 84 bytes, 20 of 104.
	[ "$wire" = "[[20,1680],[20,2080]]" ]
	local u
	for u in $A $B; do
		[ "$(stat_field $u in_bytes)" = $((10 * 84 + 10 * 104)) ]
		[ "$(stat_field $u in_packets)" = 20 ]
		[ "$(stat_field $u out_bytes)" = $((10 * 84 + 10 * 104)) ]
	done
	# Each socket was also handed the other's 20 replies: 40 copies.
	run tm-stat
	[[ "$output" == *"tm-stat: note: 40 packets ($((20 * 84 + 20 * 104)) bytes) were copies handed to raw sockets they were not for, and are in no row"* ]]
}

@test "--iface lo counts this namespace's loopback only; --iface NS:lo only that namespace's" {
	new_netns l; local ns=$REPLY
	tm-load --cgroup "$CG" --iface lo
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 3 100
	IN_NETNS=$ns udp_exchange "$CG" $B "$CG" $B 127.0.0.1 4 100
	[ "$(stat_field $A out_bytes)" = $((3 * 128)) ]
	[ "$(stat_field $B out_bytes)" = 0 ]
	run tm-stat
	[[ "$output" == *"(only packets on lo)"* ]]
	tm-load --replace --iface "$ns:lo"
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 3 100
	IN_NETNS=$ns udp_exchange "$CG" $B "$CG" $B 127.0.0.1 4 100
	[ "$(stat_field $A out_bytes)" = $((3 * 128)) ]
	[ "$(stat_field $B out_bytes)" = $((4 * 128)) ]
	run tm-stat
	[[ "$output" == *"(only packets on lo@$ns)"* ]]
	run tm-stat --by iface --json
	[ "$(jq -r 'map([.user, .iface] | @tsv) | sort | .[]' <<<"$output")" = "$A	lo
$B	lo@$ns" ]
}

@test "--iface with a namespace that is not one, or no such interface in it, is exit 2 and loads nothing" {
	new_netns x; local ns=$REPLY
	run tm-load --cgroup "$CG" --iface "${ns}nope:lo"
	[ "$status" = 2 ]
	[[ "$output" == *"/run/netns/${ns}nope"* ]]
	run tm-load --cgroup "$CG" --iface /etc/hostname:lo
	[ "$status" = 2 ]
	[[ "$output" == *"not a network namespace"* ]]
	run tm-load --cgroup "$CG" --iface "$ns:eth9"
	[ "$status" = 2 ]
	[[ "$output" == *"no such interface in /run/netns/$ns"* ]]
	run tm-load --cgroup "$CG" --iface ":lo"
	[ "$status" = 2 ]
	[ ! -e "$TM_PIN_ROOT" ]
	[ "$(link_count "$CG")" = 0 ]
}

@test "cgroups removed before tm-stat runs still show by their path, made before or after the load" {
	local old="$CG/old"
	mkdir "$old"
	CGROUPS+=("$old")
	tm-load --cgroup "$CG"
	mkdir -p "$CG/job 7/step,0"
	CGROUPS+=("$CG/job 7" "$CG/job 7/step,0")
	udp_exchange "$old" $A "$old" $B 127.0.0.1 2 100
	udp_exchange "$CG/job 7/step,0" $A "$CG/job 7/step,0" $B 127.0.0.1 3 100
	rmdir "$CG/job 7/step,0" "$CG/job 7" "$old"
	run tm-stat --by cgroup --json --user $A
	[ "$status" = 0 ]
	[ "$(jq -r 'map([.cgroup, .out_bytes] | @tsv) | sort | .[]' <<<"$output")" = "/${ID}/job 7/step,0	384
/${ID}/old	256" ]
	run tm-stat --by cgroup --format csv --user $A
	[[ "$output" == *'"/'$ID'/job 7/step,0",0,384'* ]]
}

@test "--depth rolls a job's steps up into the job, equal to their sum, in every format" {
	mkdir -p "$CG/job1/step0" "$CG/job1/step1/task0" "$CG/job2"
	CGROUPS+=("$CG/job1" "$CG/job1/step0" "$CG/job1/step1" "$CG/job1/step1/task0" "$CG/job2")
	tm-load --cgroup "$CG"
	udp_exchange "$CG/job1/step0" $A "$CG/job1/step0" $A 127.0.0.1 2 100
	udp_exchange "$CG/job1/step1/task0" $A "$CG/job1/step1/task0" $A 127.0.0.1 3 100
	udp_exchange "$CG/job2" $A "$CG/job2" $A 127.0.0.1 5 100
	# A step that is gone still rolls up.
	rmdir "$CG/job1/step1/task0"
	run tm-stat --by cgroup --json
	[ "$(jq length <<<"$output")" = 3 ]
	run tm-stat --by cgroup --depth 1 --json
	[ "$(jq -r 'map([.cgroup, .out_bytes, .in_packets] | @tsv) | sort | .[]' <<<"$output")" = "/$ID/job1	640	5
/$ID/job2	640	5" ]
	run tm-stat --by cgroup --depth 2 --json
	[ "$(jq -r 'map([.cgroup, .out_bytes] | @tsv) | sort | .[]' <<<"$output")" = "/$ID/job1/step0	256
/$ID/job1/step1	384
/$ID/job2	640" ]
	run tm-stat --by cgroup --depth 0 --format csv
	[ "${lines[1]}" = "$A,$A,/$ID,1280,1280,10,10" ]
	run tm-stat --by cgroup --depth 1 --bytes
	[[ "$output" =~ /$ID/job1\ +640\ +640\ +5\ +5 ]]
	# Deeper than the tree: every row as it is.
	run tm-stat --by cgroup --depth 9 --json
	[ "$(jq length <<<"$output")" = 3 ]
}

@test "--depth is for --by cgroup, and a whole number" {
	tm-load --cgroup "$CG"
	run tm-stat --depth 1
	[ "$status" = 2 ]
	[[ "$output" == *"--depth goes with --by cgroup"* ]]
	for bad in -1 x 1.5 ""; do
		run tm-stat --by cgroup --depth "$bad"
		[ "$status" = 2 ]
	done
}
