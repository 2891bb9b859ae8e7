#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-status: what is loaded, named right, and how full it is.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42581
B=42582

@test "tm-status --json names the cgroups, every link with its program, the filters and the maps' fill" {
	new_cgroup two; local two=$REPLY
	tm-load --cgroup "$CG" --cgroup "$two" --iface lo
	tm-mask add 10.0.0.0/8 2001:db8::/32 192.168.0.0/16
	udp_exchange "$CG" $A "$two" $B 127.0.0.1 3 100
	udp_exchange "$CG" $A "$CG" $A ::1 2 100
	run tm-status --json
	[ "$status" = 0 ]
	[ "$(jq -r '.layout_version' <<<"$output")" = "$(layout_version)" ]
	[ "$(jq -r '.cgroups | sort | join(" ")' <<<"$output")" = "/$ID /${ID}two" ]
	# Five programs on each cgroup, and the iterator: the programs of the
	# ways this kernel took.
	local sfx="" iter
	[ "$(jq -r .owners <<<"$output")" = creator ] && sfx=_creator
	case $(jq -r .pending <<<"$output") in
	storage) iter=tm_pending_storage ;;
	files) iter=tm_pending_files ;;
	files-core) iter=tm_pending_files_core ;;
	esac
	# (The kernel keeps 15 characters of a program's name.)
	local eg=tm_egress$sfx in=tm_ingress$sfx
	iter=${iter:0:15}
	[ "$(jq -r '[.links[] | select(.cgroup == "/'$ID'") | .kind + ":" + .prog] | sort | join(" ")' <<<"$output")" = \
		"egress:${eg:0:15} ingress:${in:0:15} sock_create:tm_sock_create sock_release:tm_sock_release sockops:tm_sockops" ]
	[ "$(jq '[.links[] | select(.cgroup == "/'$ID'two")] | length' <<<"$output")" = 5 ]
	[ "$(jq -r '.links[] | select(.kind == "pending") | [.prog, (.cgroup | tostring)] | @tsv' <<<"$output")" = "$iter	null" ]
	# The IDs are the kernel's own.
	local id prog
	id=$(jq -r '.links[] | select(.kind == "pending") | .link_id' <<<"$output")
	prog=$(jq -r '.links[] | select(.kind == "pending") | .prog_id' <<<"$output")
	bpftool link show id "$id" | grep -q "prog $prog "
	bpftool prog show id "$prog" | grep -q "name tm_pending"
	[ "$(jq -c '.ifaces' <<<"$output")" = '["lo"]' ]
	[ "$(jq -c '[.masks4, .masks6]' <<<"$output")" = "[2,1]" ]
	[ "$(jq '.reader_pid' <<<"$output")" = null ]
	# users: (A, IPv4), (B, IPv4), (A, IPv6); quota: A and B.
	[ "$(jq -c '[.maps[] | select(.name == "users" or .name == "quota" or .name == "ifaces") |
		[.name, .entries]]' <<<"$output")" = '[["users",3],["ifaces",1],["quota",2]]' ]
	[ "$(jq '.maps[] | select(.name == "conns") | .max_entries' <<<"$output")" = 65536 ]
	[ "$(jq '[.maps[] | select(.memlock > 0)] | length' <<<"$output")" -ge 10 ]
	[ "$(jq '.events_lost' <<<"$output")" = 0 ]
}

@test "tm-status shows a running tm-stream as the reader, and the text names the same" {
	tm-load --cgroup "$CG"
	start_stream
	run tm-status --json
	[ "$(jq '.reader_pid' <<<"$output")" = "$STREAM" ]
	run tm-status
	[ "$status" = 0 ]
	[[ "$output" == *"reader        tm-stream pid $STREAM"* ]]
	[[ "$output" == *"cgroups       /$ID"* ]]
	[[ "$output" == *"interfaces    every interface"* ]]
	# The tables' columns line up: each cell starts where its heading does
	# (user_rings, the longest map name, pushed the map table's over).
	local table head col off bad=0
	for table in LINK MAP; do
		head=$(grep -m 1 "^$table " <<<"$output")
		for col in $(awk '{ for (i = 2; i <= NF; i++) print $i }' <<<"$head"); do
			off=$(($(awk -v h="$head" -v c="$col" 'BEGIN { print index(h, c) }') - 1))
			while read -r line; do
				[ "${line:off-1:1}" = " " ] && [ "${line:off:1}" != " " ] ||
					{ echo "$table $col: '$line'" >&2; bad=1; }
			done < <(sed -n "/^$head\$/,/^\$/p" <<<"$output" | sed '1d;/^$/d')
		done
	done
	[ "$bad" = 0 ]
	[ "$(sed -n '/^MAP /,/^$/p' <<<"$output" | grep -c '^user_rings ')" = 1 ]
}

@test "tm-status with nothing loaded is exit 1, and refuses what it does not take" {
	run tm-status
	[ "$status" = 1 ]
	[[ "$output" == *"nothing loaded at '$TM_PIN_ROOT'"* ]]
	run tm-status --bogus
	[ "$status" = 2 ]
	run tm-status extra
	[ "$status" = 2 ]
}

# bats test_tags=bulk
@test "a user's own network namespaces are named on their share of ifnames, never the host's or another user's room" {
	as "$CG" $A unshare -rn true 2>/dev/null || skip "users may not make user namespaces here"
	tm-load --cgroup "$CG"
	local share=$((1024 / 16)) n=80
	# A: n namespaces of their own, a datagram out on each one's lo.
	as "$CG" $A sh -c 'for i in $(seq "$2"); do
		unshare -rn sh -c "ip link set lo up && \"\$0\" udp-send 127.0.0.1 9 1 10" "$1" >/dev/null || exit 1
	done' sh "$BIN/tmtraffic" $n
	# B: one namespace; a namespace root made, used by A.
	as "$CG" $B unshare -rn sh -c 'ip link set lo up && "$0" udp-send 127.0.0.1 9 1 10' \
		"$BIN/tmtraffic" >/dev/null
	new_netns h; local ns=$REPLY
	IN_NETNS=$ns as "$CG" $A "$BIN/tmtraffic" udp-send 127.0.0.1 9 1 10 >/dev/null
	local rows
	rows=$(tm-stat --by iface --json --user $A 2>/dev/null)
	# A's own: the share named, the rest by index; the host's named too
	# (shown by the inode or name of its namespace, which a namespace
	# that ended may have had before).
	[ "$(jq '[.[] | select(.iface | test("^lo@"))] | length' <<<"$rows")" = $((share + 1)) ]
	[ "$(jq '[.[] | select(.iface == "1" and .netns == null)] | length' <<<"$rows")" = $((n - share)) ]
	[ "$(tm-stat --by iface --json --user $B 2>/dev/null | jq -r '.[].iface')" = "lo@$(
		tm-stat --by iface --json --user $B 2>/dev/null | jq -r '.[].netns')" ]
	# Every packet counted all the same; the unnamed said.
	[ "$(stat_field $A out_packets)" = $((n + 1)) ]
	local unnamed
	unnamed=$(tm-status --json | jq .ifnames_share)
	[ "$unnamed" -ge $((n - share)) ]
	[ "$(tm-status --json | jq .ifnames_full)" = 0 ]
	tm-status | grep -q "^ *$unnamed interfaces unnamed (their user's share of ifnames used)"
	tm-stat --format prometheus | grep -qx "tm_interfaces_unnamed_share_total $unnamed"
	tm-stat --by iface 2>&1 >/dev/null |
		grep -q "interfaces of users' own network namespaces were not named (their user's share of the map is used); they show by index"
}

# bats test_tags=bulk
@test "a full ifnames map is counted apart and said: tm-status, the exposition, tm-stat --by iface's note" {
	tm-load --cgroup "$CG"
	new_netns d; local ns=$REPLY
	# 1030 veth pairs inside the test's own namespace, each the route to
	# one address with a neighbour entry: what goes out one end arrives at
	# the other, in the same namespace, and is dropped there.
	local n=1030 i
	for ((i = 0; i < n; i++)); do
		echo "link add v$i type veth peer name w$i"
		echo "link set v$i up"
		echo "link set w$i up"
		echo "route add 10.77.$((i / 256)).$((i % 256))/32 dev v$i"
		echo "neigh add 10.77.$((i / 256)).$((i % 256)) lladdr 02:00:00:00:00:01 dev v$i"
	done >"$BIN/links"
	ip -n "$ns" -batch "$BIN/links"
	# One socket of A, a datagram out through each.
	IN_NETNS=$ns as "$CG" $A /usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(__import__("sys").argv[1])):
    s.sendto(b"x", ("10.77.%d.%d" % (i // 256, i % 256), 9))' $n
	# lo of the host's namespace may be there too; the rest did not fit.
	local named full
	named=$(tm-status --json | jq '.maps[] | select(.name == "ifnames") | .entries')
	full=$(tm-status --json | jq .ifnames_full)
	[ "$named" = 1024 ]
	[ "$full" -ge $((n - 1024)) ] && [ "$full" -le $((n + 1 - 1024)) ]
	tm-status | grep -q "^ *$full interfaces unnamed (the ifnames map full)"
	tm-stat --format prometheus | grep -qx "tm_interfaces_unnamed_total $full"
	tm-stat --by iface 2>&1 >/dev/null | grep -q "interfaces could not be named (the ifnames map is full); they show by index"
	# Every packet is counted all the same.
	[ "$(stat_field $A out_packets)" = $n ]
}
