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
