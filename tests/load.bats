#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Loading, replacing and unloading: what is attached and pinned, exactly.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

A=42431
B=42432

cgroup_id() { stat -c %i "$1"; }

# prog_ids CGROUP: the IDs of the programs attached to CGROUP, sorted.
prog_ids() {
	bpftool cgroup show "$1" | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' | sort
}

@test "tm-load pins maps and links, attaches the five programs and the iterator, and exits" {
	run tm-load --cgroup "$CG"
	[ "$status" = 0 ]
	[ -e "$TM_PIN_ROOT/control" ] && [ -e "$TM_PIN_ROOT/users" ] && [ -e "$TM_PIN_ROOT/global" ]
	local id
	id=$(cgroup_id "$CG")
	[ -e "$TM_PIN_ROOT/links/ingress-$id" ] && [ -e "$TM_PIN_ROOT/links/egress-$id" ]
	[ -e "$TM_PIN_ROOT/links/sock_create-$id" ] && [ -e "$TM_PIN_ROOT/links/sock_release-$id" ]
	[ -e "$TM_PIN_ROOT/events" ] && [ -e "$TM_PIN_ROOT/socks" ] && [ -e "$TM_PIN_ROOT/pending" ]
	[ "$(bpftool cgroup show "$CG" | grep -c 'cgroup_inet_sock_release.*tm_sock_release')" = 1 ]
	[ -e "$TM_PIN_ROOT/links/sockops-$id" ]
	[ "$(bpftool cgroup show "$CG" | grep -c 'sock_ops.*tm_sockops')" = 1 ]
	# Nothing held in sockets yet: the iterator reads empty.
	[ "$(wc -c <"$TM_PIN_ROOT/pending")" = 0 ]
	[ "$(bpftool cgroup show "$CG" | grep -c 'cgroup_inet_sock_create.*tm_sock_create')" = 1 ]
	[ "$(bpftool cgroup show "$CG" | grep -c 'cgroup_inet_ingress.*tm_ingress')" = 1 ]
	[ "$(bpftool cgroup show "$CG" | grep -c 'cgroup_inet_egress.*tm_egress')" = 1 ]
	# The maps carry BTF: bpftool prints named fields.
	bpftool map dump pinned "$TM_PIN_ROOT/control" | grep -q "\"layout_version\": $(layout_version)"
}

# bats test_tags=kernel
@test "from Linux 6.3 on, owners are read from the socket: a program that does not verify there is a defect, not a fallback" {
	tm-load --cgroup "$CG"
	local v
	v=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
	if [ "$v" -ge 6003 ]; then
		[ "$(tm-status --json | jq -r '[.owners, .owners_not] | @tsv')" = "socket	" ] ||
			{ tm-status --json | jq -r .owners_not >&2; false; }
	else
		[ "$(owners_by)" = creator ]
	fi
}

@test "the pin root is root-owned and not world-accessible" {
	tm-load --cgroup "$CG"
	[ "$(stat -c '%U %a' "$TM_PIN_ROOT")" = "root 700" ]
	[ "$(stat -c '%a' "$TM_PIN_ROOT/users")" = 600 ]
}

@test "a second load is refused and nothing is counted twice" {
	tm-load --cgroup "$CG"
	run tm-load --cgroup "$CG"
	[ "$status" = 1 ]
	[[ "$output" == *"already loaded at '$TM_PIN_ROOT'"*"--replace"* ]]
	[ "$(link_count "$CG")" = 5 ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 10 100
	[ "$(stat_field $A out_bytes)" = 1280 ]
	[ "$(stat_field $B in_bytes)" = 1280 ]
}

@test "--replace swaps the programs and keeps every counter" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 10 100
	local old
	old=$(prog_ids "$CG")
	run tm-load --replace
	[ "$status" = 0 ]
	[ "$(prog_ids "$CG")" != "$old" ]
	[ "$(link_count "$CG")" = 5 ]
	[ "$(stat_field $A out_bytes)" = 1280 ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 10 100
	[ "$(stat_field $A out_bytes)" = 2560 ]
	[ "$(stat_field $B in_packets)" = 20 ]
}

@test "--replace under traffic loses no count" {
	tm-load --cgroup "$CG"
	local pf=$BIN/port out=$BIN/recv
	bg as "$CG" $B "$BIN/tmtraffic" udp-recv 127.0.0.1 "$pf" 3000 >"$out"
	local rpid=${PIDS[-1]}
	wait_file "$pf"
	# 3000 datagrams over about 1.5 s while the programs are swapped 6 times.
	bg as "$CG" $A "$BIN/tmtraffic" udp-send 127.0.0.1 "$(cat "$pf")" 3000 64 500
	local spid=${PIDS[-1]}
	for i in 1 2 3 4 5 6; do
		tm-load --replace 2>/dev/null
		sleep 0.1
	done
	wait "$spid"
	wait "$rpid"
	[ "$(cat "$out")" = 3000 ]
	[ "$(stat_field $A out_bytes)" = $((3000 * 92)) ]
	[ "$(stat_field $A out_packets)" = 3000 ]
	[ "$(stat_field $B in_bytes)" = $((3000 * 92)) ]
}

@test "--replace with --cgroup leaves exactly the cgroups named attached" {
	new_cgroup other
	local other=$REPLY
	tm-load --cgroup "$CG"
	tm-load --replace --cgroup "$other"
	[ "$(link_count "$CG")" = 0 ]
	[ "$(link_count "$other")" = 5 ]
	local id
	id=$(cgroup_id "$other")
	[ "$(ls "$TM_PIN_ROOT/links" | sort | tr '\n' ' ')" = "egress-$id ingress-$id sock_create-$id sock_release-$id sockops-$id " ]
}

# bats test_tags=kernel
@test "tm-unload leaves no pin, link or attachment, and a second one is a note" {
	new_cgroup two
	local two=$REPLY
	tm-load --cgroup "$CG" --cgroup "$two"
	[ "$(link_count "$two")" = 5 ]
	run tm-unload
	[ "$status" = 0 ]
	[ ! -e "$TM_PIN_ROOT" ]
	[ "$(link_count "$CG")" = 0 ]
	[ "$(link_count "$two")" = 0 ]
	local ids
	ids=$(bpftool -j link show | jq "[.[] | select(.cgroup_id == $(cgroup_id "$CG") or .cgroup_id == $(cgroup_id "$two"))] | length")
	[ "$ids" = 0 ]
	run tm-unload
	[ "$status" = 0 ]
	[[ "$output" == "tm-unload: nothing loaded at $TM_PIN_ROOT" ]]
}

@test "a load that fails half-way leaves nothing behind" {
	new_cgroup full
	local full=$REPLY fill=/sys/fs/bpf/${ID}fill
	# Fill the second cgroup's 64 ingress slots, so tm-load attaches to the
	# first cgroup and to the second's sock_create and egress, then fails.
	mkdir "$fill"
	EXTRA_PINS+=("$fill")
	for i in $(seq 64); do
		bpftool prog load "$BUILD/bench/floor.bpf.o" "$fill/p$i" type cgroup/skb
		bpftool cgroup attach "$full" ingress pinned "$fill/p$i" multi
		rm "$fill/p$i"
	done
	rmdir "$fill"
	run tm-load --cgroup "$CG" --cgroup "$full"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot attach to $full"* ]]
	[ ! -e "$TM_PIN_ROOT" ]
	[ -z "$(ls -d "$TM_PIN_ROOT"-loading-* 2>/dev/null)" ]
	[ "$(link_count "$CG")" = 0 ]
	[ "$(bpftool cgroup show "$full" | grep -c egress)" = 0 ]
	[ "$(bpftool cgroup show "$full" | grep -c sock_create)" = 0 ]
	[ "$(bpftool cgroup show "$full" | grep -c ingress)" = 64 ]
}

@test "a staging directory left by a killed tm-load is cleared by the next" {
	mkdir "$TM_PIN_ROOT-loading-999999999"
	tm-load --cgroup "$CG"
	[ ! -e "$TM_PIN_ROOT-loading-999999999" ]
}

@test "tm-load mounts bpffs when /sys/fs/bpf has none" {
	# In a mount namespace of its own, so the host's bpffs is untouched; the
	# pins die with that namespace's bpffs.
	run unshare --mount --propagation private sh -c '
		while [ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ]; do umount /sys/fs/bpf || exit 9; done
		tm-load --cgroup "$1" || exit 8
		stat -f -c %T /sys/fs/bpf
		ls "$TM_PIN_ROOT"
		tm-unload' sh "$CG"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"bpf_fs"*"control"* ]]
	[ "$(link_count "$CG")" = 0 ]
}

@test "--replace with nothing loaded is refused and attaches nothing" {
	ROOT_LINKS=$(link_count "$CG2")
	run tm-load --replace --cgroup "$CG"
	[ "$status" = 1 ]
	[ "$output" = "tm-load: nothing loaded at '$TM_PIN_ROOT' to replace; without --replace, tm-load makes a fresh load" ]
	[ ! -e "$TM_PIN_ROOT" ]
	[ "$(link_count "$CG")" = 0 ]
	[ "$(link_count "$CG2")" = "$ROOT_LINKS" ]
}

@test "a staging directory with programs attached, left by a tm-load killed before its rename, is taken down by tm-unload" {
	# Killed as it renames the staging directory into place: everything is
	# pinned and attached there.
	(strace -f -qq -o /dev/null -e trace=rename -e inject=rename:signal=KILL \
		tm-load --cgroup "$CG" >/dev/null 2>&1) 2>/dev/null || true
	[ "$(ls -d "$TM_PIN_ROOT"-loading-* | wc -l)" = 1 ]
	[ "$(link_count "$CG")" = 5 ]
	run tm-unload
	[ "$status" = 0 ]
	[ "$output" = "tm-unload: removed 1 unfinished load beside $TM_PIN_ROOT" ]
	[ "$(link_count "$CG")" = 0 ]
	[ -z "$(ls -d "$TM_PIN_ROOT"-loading-* 2>/dev/null)" ]
}

@test "every command gives the same answer for an empty or relative --pin-root, and changes nothing" {
	local c args
	for c in tm-load tm-unload tm-stat tm-stream tm-mask; do
		for bad in "" "relative/tm" "/sys/fs/bpf/a.b"; do
			args=()
			[ $c = tm-mask ] && args=(list)
			[ $c = tm-load ] && args=(--cgroup "$CG")
			run $c --pin-root "$bad" "${args[@]}"
			[ "$status" = 2 ]
			[ "${lines[0]}" = "$c: --pin-root '$bad': must be an absolute path whose last part is a name with no dot (bpffs reserves dots)" ]
		done
	done
	[ "$(link_count "$CG")" = 0 ]
}

@test "a reader that meets an unload half done says nothing is loaded (exit 1), not that the root is foreign" {
	tm-load --cgroup "$CG"
	# Killed as it removes its first map (after the 5 links, the list's
	# trie and the iterator): nothing counts any more, the control map is
	# still there.
	(strace -f -qq -o /dev/null -e trace=unlink -e inject=unlink:signal=KILL:when=8 \
		tm-unload >/dev/null 2>&1) 2>/dev/null || true
	[ -e "$TM_PIN_ROOT/control" ]
	run tm-stat
	[ "$status" = 1 ]
	[ "$output" = "tm-stat: nothing whole is loaded at '$TM_PIN_ROOT': it is being unloaded, or an unload was stopped (tm-unload finishes it)" ]
	tm-unload
	[ ! -e "$TM_PIN_ROOT" ]
}

@test "another pin root whose name only begins like a staging directory is not touched" {
	local other=$TM_PIN_ROOT-loading-x
	EXTRA_PINS+=("$other")
	TM_PIN_ROOT=$other tm-load --cgroup "$CG"
	new_cgroup b
	tm-load --cgroup "$REPLY"
	tm-unload
	[ -e "$other/control" ]
	TM_PIN_ROOT=$other tm-unload
	[ ! -e "$other" ]
}

@test "--config that is /dev/zero, a directory or a FIFO is refused at once and loads nothing" {
	mkfifo "$BIN/fifo"
	for f in /dev/zero "$BIN" "$BIN/fifo"; do
		run timeout 10 tm-load --cgroup "$CG" --config "$f"
		[ "$status" = 2 ]
		[[ "$output" == *"$f: not a regular file (a "*"); nothing loaded"* ]]
		[ ! -e "$TM_PIN_ROOT" ]
	done
	# A regular file with a NUL byte is not text either.
	printf 'cgroup %s\n\0max-conns 5\n' "$CG" >"$BIN/nul.conf"
	run tm-load --config "$BIN/nul.conf"
	[ "$status" = 2 ]
	[[ "$output" == *"nul.conf:2: a NUL byte: not text; nothing loaded"* ]]
	[ ! -e "$TM_PIN_ROOT" ]
}

# bats test_tags=kernel
@test "every way tm-load may take loads and counts exactly, or is refused with the kernel's own reason" {
	local ways took=0
	for ways in "--owner socket" "--owner creator" "--pending storage" "--pending files" \
		"--pending files-core"; do
		run tm-load --cgroup "$CG" $ways
		if [ "$status" = 0 ]; then
			took=$((took + 1))
			udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
			[ "$(stat_field $A out_bytes)" = $((4 * 128)) ]
			[ "$(stat_field $B in_packets)" = 4 ]
			tm-unload
		else
			# Which program, and the verifier's or the kernel's words:
			# never "needs root" to root.
			[ "$status" = 1 ]
			[[ "$output" == *"the kernel refused tm_"*": "* ||
			   "$output" == *"this kernel has no bpf_cast_to_kern_ctx"* ]]
			[[ "$output" != *"needs root"* ]]
			[ ! -e "$TM_PIN_ROOT" ]
		fi
	done
	# The default takes the first of each that loads.
	[ "$took" -ge 2 ]
	tm-load --cgroup "$CG"
	run tm-status --json
	[ "$(jq -r '.owners' <<<"$output")" != "?" ]
	[ "$(jq -r '.pending' <<<"$output")" != "?" ]
}

@test "without the kernel's configuration HZ is measured, and without that the clock is read; counts stay exact" {
	local want
	want=$( (cat "/boot/config-$(uname -r)" 2>/dev/null || zcat /proc/config.gz 2>/dev/null) |
		sed -n 's/^CONFIG_HZ=//p')
	[ -n "$want" ] || skip "this host keeps no kernel configuration to compare with"
	# A mount namespace of the test's own hides the configuration...
	unshare --mount --propagation private sh -c '
		mount -t tmpfs none /boot
		[ -e /proc/config.gz ] && mount --bind /dev/null /proc/config.gz
		exec tm-load --cgroup "$1"' sh "$CG"
	[ "$(tm-status --json | jq -r .hz)" = "$want" ]
	tm-unload
	# ...and then /proc/timer_list too.
	unshare --mount --propagation private sh -c '
		mount -t tmpfs none /boot
		[ -e /proc/config.gz ] && mount --bind /dev/null /proc/config.gz
		mount --bind /dev/null /proc/timer_list
		exec tm-load --cgroup "$1"' sh "$CG"
	[ "$(tm-status --json | jq -r .hz)" = 0 ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 5 100
	[ "$(stat_field $A out_bytes)" = $((5 * 128)) ]
	[ "$(tm-stat --by conn --json --user $A | jq -r '.[0].out_packets')" = 5 ]
}

@test "make run's script leaves a meter loaded already alone unless REPLACE=1, which swaps in its programs" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 2 100
	local before
	before=$(prog_ids "$CG")
	run "$TOP/scripts/run-meter" "$BUILD"
	[ "$status" = 1 ]
	[[ "$output" == *"a meter is loaded at $TM_PIN_ROOT already; left as it is."* ]]
	[[ "$output" == *"make run REPLACE=1"* ]]
	[ "$(prog_ids "$CG")" = "$before" ]
	# Told: this build's programs, the counters kept, then the totals (it
	# execs tm-stat, which timeout ends).
	REPLACE=1 run timeout 3 "$TOP/scripts/run-meter" "$BUILD"
	[ "$status" = 124 ]
	[ "$(prog_ids "$CG")" != "$before" ]
	[ "$(stat_field $A out_bytes)" = 256 ]
}
