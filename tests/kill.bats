#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-load, tm-load --replace and tm-unload killed (SIGKILL) at each of their
# system calls that change anything, one at a time: the kernel's bpf() and
# the calls that make, rename and remove names in bpffs. Between two such
# calls nothing outside the process changes, so these are all the states a
# kill can leave. After each, one more command must leave exactly a whole
# load or nothing: no pins, no attachments, no staging directories.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

CALLS=(bpf mkdir rename unlink rmdir)
KINDS=5	# programs attached to each cgroup

# count_calls SYSCALL CMD...: how many times CMD makes SYSCALL.
count_calls() {
	strace -f -qq -o "$BIN/calls" -e trace="$1" "${@:2}" >/dev/null 2>&1
	grep -cE "^[0-9]+ +$1\(" "$BIN/calls" || true
}

# killed_at SYSCALL N CMD...: CMD, killed as it makes its Nth SYSCALL.
killed_at() {
	# strace dies of the signal it injected: in a subshell, so that no
	# shell reports it.
	(strace -f -qq -o /dev/null -e trace="$1" -e inject="$1:signal=KILL:when=$2" \
		"${@:3}" >/dev/null 2>&1) 2>/dev/null || true
}

staging_left() {
	ls -d "$TM_PIN_ROOT"-loading-* 2>/dev/null | wc -l
}

# nothing_left: no root, no staging, nothing attached to the test's cgroups.
nothing_left() {
	local cg
	[ ! -e "$TM_PIN_ROOT" ] || { echo "pin root left" >&2; return 1; }
	[ "$(staging_left)" = 0 ] || { echo "staging left" >&2; return 1; }
	for cg in "${CGROUPS[@]}"; do
		[ "$(link_count "$cg")" = 0 ] || { echo "programs left on $cg" >&2; return 1; }
	done
}

# whole_load CGROUP...: a complete load attached to exactly these cgroups.
whole_load() {
	local cg want
	tm-stat >/dev/null || { echo "tm-stat fails on the load" >&2; return 1; }
	[ "$(staging_left)" = 0 ] || { echo "staging left" >&2; return 1; }
	for cg in "${CGROUPS[@]}"; do
		want=0
		[[ " $* " == *" $cg "* ]] && want=$KINDS
		[ "$(link_count "$cg")" = $want ] ||
			{ echo "$cg: $(link_count "$cg") programs, want $want" >&2; return 1; }
	done
	[ "$(ls "$TM_PIN_ROOT/links" | wc -l)" = $((KINDS * $#)) ] ||
		{ echo "$(ls "$TM_PIN_ROOT/links" | wc -l) link pins" >&2; return 1; }
}

# each_kill CHECK CMD...: CMD killed at each of its state-changing calls in
# turn, CHECK run after each; prints how many kill points there were.
each_kill() {
	local check=$1 call n i points=0
	shift
	for call in "${CALLS[@]}"; do
		$BEFORE
		n=$(count_calls "$call" "$@")
		$check || { echo "the command itself did not leave the right state" >&2; return 1; }
		for ((i = 1; i <= n; i++)); do
			$BEFORE
			killed_at "$call" "$i" "$@"
			$check || { echo "killed at $call #$i of $n" >&2; return 1; }
			points=$((points + 1))
		done
	done
	echo "# $* : $points kill points" >&3
	[ "$points" -gt 20 ]
}

@test "tm-load killed at any step: the next tm-load makes a whole load, and tm-unload leaves nothing" {
	BEFORE=before_load
	before_load() { tm-unload >/dev/null 2>&1; nothing_left; }
	after_load() {
		tm-load --cgroup "$CG" >/dev/null 2>&1 || [ -e "$TM_PIN_ROOT/control" ] || return 1
		whole_load "$CG" && tm-unload >/dev/null 2>&1 && nothing_left
	}
	each_kill after_load tm-load --cgroup "$CG"
}

@test "tm-load killed at any step: tm-unload alone leaves nothing" {
	BEFORE=before_load
	before_load() { tm-unload >/dev/null 2>&1; nothing_left; }
	after_unload() { tm-unload >/dev/null 2>&1 && nothing_left; }
	each_kill after_unload tm-load --cgroup "$CG"
}

@test "tm-load --replace killed at any step: the same command again completes it, counters kept" {
	new_cgroup b
	local cgb=$REPLY
	BEFORE=before_replace
	before_replace() {
		[ -e "$TM_PIN_ROOT/control" ] || tm-load --cgroup "$CG" >/dev/null 2>&1
		tm-load --replace --cgroup "$CG" >/dev/null 2>&1
		whole_load "$CG" || return 1
		udp_exchange "$CG" 42531 "$CG" 42532 127.0.0.1 1 10 || return 1
		SENT=$(stat_field 42531 out_bytes)
	}
	after_replace() {
		tm-load --replace --cgroup "$cgb" >/dev/null 2>&1 || return 1
		whole_load "$cgb" || return 1
		[ "$(stat_field 42531 out_bytes)" = "$SENT" ] || { echo "counters lost" >&2; return 1; }
	}
	each_kill after_replace tm-load --replace --cgroup "$cgb"
}

@test "tm-unload killed at any step: the next tm-unload leaves nothing" {
	BEFORE=before_unload
	before_unload() {
		[ -e "$TM_PIN_ROOT/control" ] || tm-load --cgroup "$CG" >/dev/null 2>&1
		whole_load "$CG"
	}
	after_unload() { tm-unload >/dev/null 2>&1 && nothing_left; }
	each_kill after_unload tm-unload
}
