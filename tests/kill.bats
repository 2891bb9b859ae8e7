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

# bpf() commands that change nothing a kill could leave behind: they make
# objects only the process holds (freed when it dies) or only read. A kill
# as one of them starts leaves the state a kill at the next changing call
# leaves, so only the others are kill points. Any command not named here
# counts as changing.
KEEPS_STATE='BPF_(MAP_CREATE|PROG_LOAD|BTF_LOAD|OBJ_GET|OBJ_GET_INFO_BY_FD|[A-Z]+_GET_(FD_BY_ID|NEXT_ID)|MAP_LOOKUP_ELEM|MAP_LOOKUP_BATCH|MAP_GET_NEXT_KEY|PROG_QUERY|PROG_TEST_RUN|ITER_CREATE|ENABLE_STATS)'

# kill_points SYSCALL CMD...: the numbers (1 = first) of CMD's calls of
# SYSCALL that may change state outside it, one a line.
kill_points() {
	strace -f -qq -o "$BIN/calls" -e trace="$1" "${@:2}" >/dev/null 2>&1
	grep -E "^[0-9]+ +$1\(" "$BIN/calls" | grep -nvE "^[0-9]+ +bpf\($KEEPS_STATE," |
		cut -d: -f1 || true
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
		n=$(kill_points "$call" "$@")
		$check || { echo "the command itself did not leave the right state" >&2; return 1; }
		for i in $n; do
			$BEFORE
			killed_at "$call" "$i" "$@"
			$check || { echo "killed at $call #$i" >&2; return 1; }
			points=$((points + 1))
		done
	done
	echo "# $* : $points kill points" >&3
	[ "$points" -gt 20 ]
}

# bats test_tags=bulk
@test "tm-load killed at any step: the next tm-load makes a whole load, and tm-unload leaves nothing" {
	BEFORE=before_load
	before_load() { tm-unload >/dev/null 2>&1; nothing_left; }
	after_load() {
		tm-load --cgroup "$CG" >/dev/null 2>&1 || [ -e "$TM_PIN_ROOT/control" ] || return 1
		whole_load "$CG" && tm-unload >/dev/null 2>&1 && nothing_left
	}
	each_kill after_load tm-load --cgroup "$CG"
}

# bats test_tags=bulk
@test "tm-load killed at any step: tm-unload alone leaves nothing" {
	BEFORE=before_load
	before_load() { tm-unload >/dev/null 2>&1; nothing_left; }
	after_unload() { tm-unload >/dev/null 2>&1 && nothing_left; }
	each_kill after_unload tm-load --cgroup "$CG"
}

# bats test_tags=bulk
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

# bats test_tags=bulk
@test "tm-unload killed at any step: the next tm-unload leaves nothing" {
	BEFORE=before_unload
	before_unload() {
		[ -e "$TM_PIN_ROOT/control" ] || tm-load --cgroup "$CG" >/dev/null 2>&1
		whole_load "$CG"
	}
	after_unload() { tm-unload >/dev/null 2>&1 && nothing_left; }
	each_kill after_unload tm-unload
}
