#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bad input: exit 2, a message naming the token, and nothing changed.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

# nothing_loaded: no pins and no programs on the test cgroup.
nothing_loaded() {
	[ ! -e "$TM_PIN_ROOT" ] && [ "$(link_count "$CG")" = 0 ]
}

@test "every command answers --help with its usage and exit 0" {
	for c in tm-load tm-unload tm-stat; do
		run $c --help
		[ "$status" = 0 ]
		[[ "${lines[0]}" == "Usage: $c "* ]]
	done
}

@test "an unknown option is exit 2 and points at --help" {
	for c in tm-load tm-unload tm-stat; do
		run $c --bogus
		[ "$status" = 2 ]
		[[ "$output" == *"Try '$c --help'"* ]]
	done
}

@test "tm-load refuses a path that is not cgroup v2, naming it and where cgroup v2 is" {
	run tm-load --cgroup /tmp
	[ "$status" = 2 ]
	[[ "$output" == "tm-load: '/tmp': not a cgroup v2 directory (cgroup v2 is mounted at $CG2)"* ]]
	nothing_loaded
}

@test "tm-load with one good and one missing cgroup changes nothing" {
	run tm-load --cgroup "$CG" --cgroup "$CG2/no-such-cgroup"
	[ "$status" = 2 ]
	[[ "$output" == *"'$CG2/no-such-cgroup': No such file or directory"* ]]
	nothing_loaded
}

@test "tm-load refuses a cgroup inside another it was given: its traffic would count twice" {
	new_cgroup "/inner"
	run tm-load --cgroup "$CG" --cgroup "$REPLY"
	[ "$status" = 2 ]
	[[ "$output" == *"one is inside the other"* ]]
	nothing_loaded
}

@test "tm-load refuses a pin root that is not on bpffs" {
	run tm-load --cgroup "$CG" --pin-root /tmp/tm-not-bpffs
	[ "$status" = 2 ]
	[[ "$output" == *"'/tmp': not on a BPF filesystem"* ]]
	[ ! -e /tmp/tm-not-bpffs ]
	[ "$(link_count "$CG")" = 0 ]
}

@test "tm-load without privilege says what it needs and changes nothing" {
	cp "$BUILD/tm-load" "$BIN/"
	run setpriv --reuid=42441 --regid=42441 --clear-groups "$BIN/tm-load" --cgroup "$CG"
	[ "$status" = 1 ]
	[[ "$output" == "tm-load: needs root, or CAP_BPF and CAP_NET_ADMIN" ]]
	nothing_loaded
}

@test "tm-stat --user with an unknown name is exit 2 naming it" {
	tm-load --cgroup "$CG"
	run tm-stat --user no-such-user-xyz
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: 'no-such-user-xyz': no such user" ]]
}

@test "tm-stat rejects a bad --interval or --count, naming the token" {
	tm-load --cgroup "$CG"
	for bad in 0 -1 abc 1x "" nan 100000; do
		run tm-stat --interval "$bad"
		[ "$status" = 2 ]
		[[ "${lines[0]}" == "tm-stat: --interval '$bad': must be a number of seconds"* ]]
	done
	run tm-stat --interval 1 --count 0
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: --count '0': must be a whole number from 1" ]]
	run tm-stat --count 3
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: --count goes with --interval" ]]
	run tm-stat --format xml
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: --format 'xml': must be table, json, csv or prometheus" ]]
}

@test "tm-stat with nothing loaded says to run tm-load, exit 1" {
	run tm-stat
	[ "$status" = 1 ]
	[[ "$output" == "tm-stat: nothing loaded at '$TM_PIN_ROOT': run tm-load first" ]]
}

@test "tm-stat on a pin root that is not bpffs is exit 2, on one it may not read exit 1" {
	run tm-stat --pin-root /tmp
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: '/tmp': not on a BPF filesystem (bpffs)" ]]
	tm-load --cgroup "$CG"
	run setpriv --reuid=42442 --regid=42442 --clear-groups "$BIN/tm-stat"
	[ "$status" = 1 ]
	[[ "${lines[0]}" == "tm-stat: cannot open pin root '$TM_PIN_ROOT': Permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)" ]]
}

@test "a bpffs directory that is not tm's is exit 2 and left alone; an empty one tm-unload removes" {
	mkdir "$TM_PIN_ROOT" "$TM_PIN_ROOT/theirs"
	run tm-stat
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-stat: '$TM_PIN_ROOT': not a tm pin root (no 'control' in it)" ]]
	run tm-unload
	[ "$status" = 2 ]
	[[ "${lines[0]}" == "tm-unload: '$TM_PIN_ROOT': not a tm pin root (no 'control' in it)" ]]
	[ -d "$TM_PIN_ROOT/theirs" ]
	rmdir "$TM_PIN_ROOT/theirs"
	# Empty, it is what an unload stopped at its very end leaves: nothing to lose.
	run tm-unload
	[ "$status" = 0 ]
	[[ "$output" == "tm-unload: removed $TM_PIN_ROOT, left empty by an unload that was stopped" ]]
	[ ! -e "$TM_PIN_ROOT" ]
}

@test "tm-stat | head -1 ends quietly with status 0" {
	tm-load --cgroup "$CG"
	run bash -c 'set -o pipefail; tm-stat --interval 0.05 --json | head -1 >/dev/null'
	[ "$status" = 0 ]
	[ -z "$output" ]
}

@test "a pin layout of another version is refused, and left alone" {
	tm-load --cgroup "$CG"
	# layout_version 99, the other fields as they were
	local rest
	rest=$(bpftool -j map lookup pinned "$TM_PIN_ROOT/control" key 0 0 0 0 |
		jq -r '.value[4:] | join(" ")')
	[ -n "$rest" ]
	bpftool map update pinned "$TM_PIN_ROOT/control" key 0 0 0 0 value 99 0 0 0 $rest
	for c in tm-stat tm-mask tm-stream tm-unload; do
		args=()
		[ $c = tm-mask ] && args=(list)
		run $c "${args[@]}"
		[ "$status" = 1 ]
		[[ "$output" == "$c: '$TM_PIN_ROOT' holds a pin layout this tm does not understand"* ]]
	done
	[ -e "$TM_PIN_ROOT/control" ]
	bpftool map update pinned "$TM_PIN_ROOT/control" key 0 0 0 0 \
		value "$(layout_version)" 0 0 0 $rest
	tm-unload
}

@test "whatever the mode of bpffs (0755, 0700, 1700), a user who may not read the pins gets the same answer, exit 1" {
	local mode
	cp "$BUILD/tm-stream" "$BUILD/tm-mask" "$BUILD/tm-unload" "$BIN/"
	for mode in 0755 0700 1700; do
		# A bpffs of the test's own, in a mount namespace of its own.
		run unshare --mount --propagation private sh -c '
			umount /sys/fs/bpf 2>/dev/null
			mount -t bpf -o mode="$1" bpf /sys/fs/bpf || exit 9
			tm-load --cgroup "$2" 2>/dev/null || exit 8
			for c in tm-stat tm-stream tm-mask tm-unload; do
				a=; [ $c = tm-mask ] && a=list
				setpriv --reuid=42443 --regid=42443 --clear-groups "$3/$c" $a 2>&1
				echo "status $?"
			done
			tm-unload 2>/dev/null' sh "$mode" "$CG" "$BIN"
		[ "$status" = 0 ]
		[ "${lines[0]}" = "tm-stat: cannot open pin root '$TM_PIN_ROOT': Permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)" ]
		[ "${lines[1]}" = "status 1" ]
		[ "${lines[2]}" = "tm-stream: cannot open pin root '$TM_PIN_ROOT': Permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)" ]
		[ "${lines[3]}" = "status 1" ]
		[ "${lines[4]}" = "tm-mask: cannot open pin root '$TM_PIN_ROOT': Permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)" ]
		[ "${lines[5]}" = "status 1" ]
		[ "${lines[6]}" = "tm-unload: needs root, or CAP_BPF and CAP_NET_ADMIN" ]
		[ "${lines[7]}" = "status 1" ]
	done
	[ "$(link_count "$CG")" = 0 ]
}
