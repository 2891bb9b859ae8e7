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

# mask_script: a receiver of $B ($PORT) and one socket of $A sending to
# it, kept open: its slot keeps its answer "untracked?" from one packet to
# the next.
mask_script() {
	drain_bg "$CG" $B
	PORT=$REPLY
	script_start "$CG" $A
}

# one_more: the socket sends one more datagram of 100 bytes (128 counted).
one_more() {
	script_send "$PORT" 1 100
}

# sent_as: "counted untracked" bytes of A's packets so far.
sent_as() {
	echo "$(stat_field $A out_bytes) $(untracked_field out_bytes)"
}

@test "tm-mask del killed at any bpf() or close() leaves the old list or the new, whole; open sockets follow the list that stands; one rerun finishes it" {
	tm-load --cgroup "$CG"
	printf '%s\n' 10.0.0.0/8 127.0.0.0/8 172.16.0.0/12 192.168.0.0/16 2001:db8::/32 fd00::/8 >"$BIN/old.list"
	local old new del=(127.0.0.0/8 172.16.0.0/12 fd00::/8)
	tm-mask load "$BIN/old.list" 2>/dev/null
	old=$(tm-mask list | tr '\n' ' ')
	new="10.0.0.0/8 192.168.0.0/16 2001:db8::/32 "
	mask_script
	local call first n i points=0 list before after rc
	for call in bpf close; do
		tm-mask load "$BIN/old.list" 2>/dev/null
		# Before the new list's trie is made, the calls only read: a kill
		# there is a kill before the start. From it on, each is a kill point.
		# (Its status is not the test's: LeakSanitizer, in a SANITIZE=1
		# build, fails at exit under ptrace. What it left is.)
		strace -f -qq -o "$BIN/calls" -e trace=bpf,close tm-mask del "${del[@]}" >/dev/null 2>&1 || true
		first=$(awk -v c="$call" '$2 ~ "^" c "\\(" { n++ } / bpf\(BPF_MAP_CREATE/ { print n + 1; exit }' \
			"$BIN/calls")
		n=$(grep -cE "^[0-9]+ +$call\(" "$BIN/calls")
		[ -n "$first" ] && [ "$first" -le "$n" ]
		[ "$(tm-mask list | tr '\n' ' ')" = "$new" ]
		for ((i = first; i <= n; i++)); do
			tm-mask load "$BIN/old.list" 2>/dev/null
			one_more	# its slot now says: untracked
			(strace -f -qq -o /dev/null -e trace=$call -e inject=$call:signal=KILL:when=$i \
				tm-mask del "${del[@]}" >/dev/null 2>&1) 2>/dev/null || true
			list=$(tm-mask list | tr '\n' ' ')
			[ "$list" = "$old" ] || [ "$list" = "$new" ] ||
				{ echo "$call #$i: the list is neither: $list" >&2; false; }
			# The open socket's next packet: as the list that stands says.
			before=$(sent_as)
			one_more
			after=$(sent_as)
			if [ "$list" = "$old" ]; then
				[ "$after" = "${before% *} $((${before#* } + 128))" ] ||
					{ echo "$call #$i: old list, but $before -> $after" >&2; false; }
			else
				[ "$after" = "$((${before% *} + 128)) ${before#* }" ] ||
					{ echo "$call #$i: new list, but $before -> $after" >&2; false; }
			fi
			# One rerun: the new list, no edit left half done.
			rc=0
			tm-mask del "${del[@]}" 2>"$BIN/rerun.err" || rc=$?
			[ "$rc" = 0 ] || { [ "$rc" = 2 ] && [ "$list" = "$new" ] &&
				grep -q "not in the list" "$BIN/rerun.err"; } ||
				{ echo "$call #$i: rerun $rc: $(cat "$BIN/rerun.err")" >&2; false; }
			[ "$(tm-mask list | tr '\n' ' ')" = "$new" ]
			[ "$(tm-status --json | jq .masks_interrupted)" = false ]
			points=$((points + 1))
		done
	done
	echo "# $points kill points" >&3
	[ "$points" -gt 8 ]
}

@test "an edit killed between the swap and its end says so; open sockets follow the new list meanwhile; the next edit finishes it" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8 127.0.0.0/8
	mask_script
	one_more	# its slot now says: untracked
	# The swap is the del's last bpf(): held for 30 s just after it returns,
	# and killed there (no system call comes between it and the edit's end).
	strace -f -qq -o "$BIN/calls" -e trace=bpf tm-mask del 127.0.0.0/8 >/dev/null 2>&1 || true
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	local n
	n=$(grep -cE '^[0-9]+ +bpf\(' "$BIN/calls")
	tm-mask add 127.0.0.0/8
	strace -f -qq -o /dev/null -e trace=bpf -e inject=bpf:delay_exit=30000000:when=$n \
		tm-mask del 127.0.0.0/8 >/dev/null 2>&1 &
	PIDS+=($!)
	local tracer=$! mask
	eventually eval '[ "$(tm-mask list)" = 10.0.0.0/8 ]'
	mask=$(cat /proc/$tracer/task/*/children | tr -d " ")
	[ -n "$mask" ] && [ "$(cat /proc/$mask/comm)" = tm-mask ]
	kill -KILL "$mask"
	wait "$tracer" || true
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	[ "$(tm-status --json | jq .masks_interrupted)" = true ]
	tm-status | grep -q "an edit was interrupted: the list is whole"
	# The open socket is counted at once, as the list in place says.
	local before after
	before=$(sent_as)
	one_more
	after=$(sent_as)
	[ "$after" = "$((${before% *} + 128)) ${before#* }" ]
	run tm-mask del 127.0.0.0/8
	[ "$status" = 0 ]
	[[ "$output" == *"an earlier edit of the list was interrupted"* ]]
	[[ "$output" == *"the edit that was interrupted had taken them out"* ]]
	[ "$(tm-status --json | jq .masks_interrupted)" = false ]
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
}

@test "the list is read with CAP_BPF alone (its trie pinned, not opened by id); a pin that is not the list in place is not believed" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8 2001:db8::/32
	local bpf_only=(setpriv --bounding-set -all,+bpf,+perfmon,+net_admin --inh-caps -all)
	run "${bpf_only[@]}" tm-mask list
	[ "$status" = 0 ] && [ "$output" = "10.0.0.0/8
2001:db8::/32" ] || { echo "$output" >&2; false; }
	# tm-status's fill of the list: its two entries.
	[ "$("${bpf_only[@]}" tm-status --json | jq '.maps[] | select(.name == "masks") | .entries')" = 2 ]
	# An edit with CAP_BPF alone too; the pin follows the list.
	"${bpf_only[@]}" tm-mask del 2001:db8::/32
	[ "$("${bpf_only[@]}" tm-mask list)" = 10.0.0.0/8 ]
	# Another map where the list's pin is (as if an edit were killed
	# between the swap and the pin): the list in place is read by its id,
	# which takes CAP_SYS_ADMIN; without it, an error, never that map.
	rm "$TM_PIN_ROOT/masks_trie"
	bpftool map pin pinned "$TM_PIN_ROOT/ifaces" "$TM_PIN_ROOT/masks_trie"
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	run "${bpf_only[@]}" tm-mask list
	[ "$status" = 1 ] && [[ $output == *"cannot read the untracked networks: Operation not permitted"* ]]
	# The next edit pins the list again.
	tm-mask add 192.168.0.0/16
	[ "$("${bpf_only[@]}" tm-mask list | tr '\n' ' ')" = "10.0.0.0/8 192.168.0.0/16 " ]
}

@test "a list longer than the trie holds is refused whole, exit 2, before anything changes" {
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8
	python3 -c 'for i in range(16385): print("11.%d.%d.0/24" % (i // 256, i % 256))' >"$BIN/big.list"
	run tm-mask load "$BIN/big.list"
	[ "$status" = 2 ]
	[[ "$output" == *"16385 IPv4 and 0 IPv6 networks: the list holds 16384 of each at the most; nothing changed"* ]]
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	run tm-load --replace --masks "$BIN/big.list"
	[ "$status" = 2 ]
	[ "$(tm-mask list)" = 10.0.0.0/8 ]
	# Exactly as many is taken, and then one more add is refused.
	head -n 16384 "$BIN/big.list" >"$BIN/full.list"
	tm-mask load "$BIN/full.list" 2>/dev/null
	[ "$(tm-mask list | wc -l)" = 16384 ]
	run tm-mask add 12.0.0.0/8
	[ "$status" = 2 ]
	[ "$(tm-mask list | wc -l)" = 16384 ]
	tm-mask add 2001:db8::/32
	[ "$(tm-mask list | wc -l)" = 16385 ]
}
