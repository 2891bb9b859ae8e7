#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Untracked networks and the interface filter, changed while the meter runs.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42451
B=42452

@test "loopback traffic between two untracked networks is not counted, but is in the untracked row" {
	tm-load --cgroup "$CG"
	tm-mask add 127.0.0.0/8
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 12 100
	[ "$(stat_field $A out_bytes)" = 0 ]
	[ "$(stat_field $B in_bytes)" = 0 ]
	[ "$(untracked_field out_bytes)" = $((12 * 128)) ]
	[ "$(untracked_field out_packets)" = 12 ]
	[ "$(untracked_field in_bytes)" = $((12 * 128)) ]
	[ "$(tm-stat --json | jq -r 'map(select(.user == "untracked")) | .[0].uid')" = null ]
	run tm-stat
	[[ "${lines[-1]}" =~ ^untracked\ +-\  ]]
}

@test "IPv6 between two untracked networks over a veth pair is untracked; one side alone is counted" {
	veth_pair
	tm-load --cgroup "$CG"
	tm-mask add 2001:db8::1 2001:db8::2
	veth_udp $A $B 2001:db8::2 10 200
	[ "$(stat_field $A out_bytes)" = 0 ]
	[ "$(untracked_field out_bytes)" = $((10 * 248)) ]
	[ "$(untracked_field in_bytes)" = $((10 * 248)) ]
	# Only the destination stays untracked now: both ends count again.
	tm-mask del 2001:db8::1
	veth_udp $A $B 2001:db8::2 7 200
	[ "$(stat_field $A out_bytes)" = $((7 * 248)) ]
	[ "$(stat_field $B in_bytes)" = $((7 * 248)) ]
	[ "$(untracked_field out_bytes)" = $((10 * 248)) ]
}

@test "IPv4 with only the source untracked is counted" {
	veth_pair
	tm-load --cgroup "$CG"
	tm-mask add 192.0.2.1
	veth_udp $A $B 192.0.2.2 9 100
	[ "$(stat_field $A out_bytes)" = $((9 * 128)) ]
	[ "$(stat_field $B in_bytes)" = $((9 * 128)) ]
	[ "$(untracked_field out_bytes)" = 0 ]
}

@test "del restores counting at once" {
	tm-load --cgroup "$CG"
	tm-mask add 127.0.0.0/8
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	tm-mask del 127.0.0.0/8
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 8 100
	[ "$(stat_field $A out_bytes)" = $((8 * 128)) ]
	[ "$(stat_field $B in_packets)" = 8 ]
	[ "$(untracked_field out_packets)" = 5 ]
	run tm-mask list
	[ -z "$output" ]
}

@test "each wildcard form lists as its CIDR" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.*.* 192.168.1.* 2001:db8::* 2001:db8:abcd:1234:5678:9abc:def0:* \
		::ffff:172.16.0.0/108 198.51.100.7
	run tm-mask list
	[ "$status" = 0 ]
	[ "$output" = "10.0.0.0/16
172.16.0.0/12
192.168.1.0/24
198.51.100.7/32
2001:db8::/32
2001:db8:abcd:1234:5678:9abc:def0:0/112" ]
	run tm-mask list --json
	[ "$(jq -r length <<<"$output")" = 6 ]
	[ "$(jq -r '.[0]' <<<"$output")" = 10.0.0.0/16 ]
}

@test "bad entries are exit 2, named, and change nothing" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8
	local bad
	for bad in 10.0.0.0/33 300.1.1.1 2001:db8:::1 10.0.*.5 ""; do
		run tm-mask add 172.16.0.0/12 "$bad"
		[ "$status" = 2 ]
		[[ "$output" == "tm-mask: '$bad': "* ]]
	done
	run tm-mask add 10.1.2.3/8
	[ "$status" = 2 ]
	[ "$output" = "tm-mask: '10.1.2.3/8': host bits set; the network is 10.0.0.0/8" ]
	run tm-mask del 10.0.0.0/8 192.168.0.0/16
	[ "$status" = 2 ]
	[ "$output" = "tm-mask: '192.168.0.0/16': not in the list" ]
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	[ "$(bpftool map dump pinned "$TM_PIN_ROOT/control" | jq '.[0].value.".data"[0].control.masks4')" = 1 ]
}

@test "load FILE is checked whole: errors name the line, and nothing is applied" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8
	printf '# site networks\n192.168.0.0/16\n\n  172.16.*.*  # lab\nnot-a-net\n10.0.0.1/8\n' >"$BIN/bad.list"
	run tm-mask load "$BIN/bad.list"
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-mask: $BIN/bad.list:5: 'not-a-net': not an IPv4 or IPv6 address" ]]
	[[ "${lines[1]}" == "tm-mask: $BIN/bad.list:6: '10.0.0.1/8': host bits set; the network is 10.0.0.0/8" ]]
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	printf '# site networks\n192.168.0.0/16\n\n  172.16.*.*  # lab\n' >"$BIN/good.list"
	run tm-mask load "$BIN/good.list"
	[ "$status" = 0 ]
	[ "$output" = "tm-mask: $BIN/good.list: 2 entries (2 added, 1 removed)" ]
	[ "$(tm-mask list | tr '\n' ' ')" = "172.16.0.0/16 192.168.0.0/16 " ]
	tm-mask flush
	[ -z "$(tm-mask list)" ]
}

@test "tm-load --masks FILE leaves those networks out from the first packet" {
	printf '127.0.0.0/8\n::1\n' >"$BIN/masks"
	tm-load --cgroup "$CG" --masks "$BIN/masks"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" $A "$CG" $B ::1 3 100
	[ "$(stat_field $A out_bytes)" = 0 ]
	[ "$(untracked_field out_bytes)" = $((4 * 128 + 3 * 148)) ]
	printf '127.0.0.0/8\nbad\n' >"$BIN/bad"
	run tm-load --cgroup "$CG" --masks "$BIN/bad" --pin-root "$TM_PIN_ROOT"x
	[ "$status" = 2 ]
	[ ! -e "$TM_PIN_ROOT"x ]
}

@test "an editor waits for the lock another editor holds" {
	tm-load --cgroup "$CG"
	# While flock(1) holds the pin root's lock, tm-mask cannot get in.
	run flock "$TM_PIN_ROOT" timeout 1 "$BUILD/tm-mask" add 10.0.0.0/8
	[ "$status" = 124 ]
	[ -z "$(tm-mask list)" ]
	tm-mask add 10.0.0.0/8
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
}

@test "--iface on a veth counts that veth's traffic and not lo's" {
	veth_pair
	# Interface names are resolved in tm-load's network namespace.
	nsenter --net=/run/netns/"$NSA" "$BUILD/tm-load" --cgroup "$CG" --iface "$VA"
	veth_udp $A $B 192.0.2.2 6 100
	[ "$(stat_field $A out_bytes)" = $((6 * 128)) ]
	# Loopback inside the same namespace: not on the veth, not counted.
	IN_NETNS=$NSA udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	[ "$(stat_field $A out_bytes)" = $((6 * 128)) ]
	[ "$(stat_field $A out_packets)" = 6 ]
	# Named as its own namespace names it.
	run tm-stat
	[[ "$output" == *"(only packets on $VA@$NSA)"* ]]
}

@test "tm-load --iface with an unknown interface is exit 2 and loads nothing" {
	run tm-load --cgroup "$CG" --iface no-such-if0
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-load: --iface 'no-such-if0': no such interface" ]]
	[ ! -e "$TM_PIN_ROOT" ]
}
