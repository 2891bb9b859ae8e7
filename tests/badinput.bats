#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Bad input, one row per option of every command: exit 2, a message that
# names the token, and nothing changed (the masks and the counters are as
# they were).

load lib

setup() {
	tm_setup
	tm-load --cgroup "$CG" 2>/dev/null
	tm-mask add 10.0.0.0/8
	udp_exchange "$CG" 42541 "$CG" 42542 127.0.0.1 3 10
	BEFORE="$(tm-mask list) $(tm-stat --json --sort key)"
}
teardown() { tm_teardown; }

NUMBERS=("" "-1" "0x10" " 12" "12x" "abc" "99999999999999999999" "1e3")

# refused TOKEN CMD...: exit 2 naming 'TOKEN', and nothing changed.
refused() {
	local token=$1
	shift
	run "$@"
	if [ "$status" != 2 ] || [[ "$output" != *"'$token'"* ]]; then
		echo "$*: status $status: $output" >&2
		return 1
	fi
	[ "$(tm-mask list) $(tm-stat --json --sort key)" = "$BEFORE" ] ||
		{ echo "$*: changed something" >&2; return 1; }
}

@test "tm-load: every numeric option refuses empty, negative, hex, spaced, junk, huge and exponent values" {
	local opt v
	for opt in --max-users --max-conns --events-size; do
		for v in "${NUMBERS[@]}"; do
			refused "$v" tm-load --cgroup "$CG" "$opt" "$v"
		done
	done
	refused "" tm-load --cgroup ""
	refused "$CG2/no-such" tm-load --cgroup "$CG2/no-such"
	refused "" tm-load --cgroup "$CG" --iface ""
	refused "no-such-if0" tm-load --cgroup "$CG" --iface no-such-if0
	refused "" tm-load --cgroup "$CG" --masks ""
	refused "$BIN" tm-load --cgroup "$CG" --masks "$BIN"
}

@test "tm-stat: every option refuses what is not one of its values" {
	local opt v
	for opt in --top --count; do
		for v in "${NUMBERS[@]}" 0; do
			refused "$v" tm-stat --interval 1 "$opt" "$v"
		done
	done
	for v in "${NUMBERS[@]}" 0 0.0001 86401 nan inf; do
		refused "$v" tm-stat --interval "$v"
	done
	for v in "" host USER json; do refused "$v" tm-stat --by "$v"; done
	for v in "" xml JSON; do refused "$v" tm-stat --format "$v"; done
	for v in "" size IN; do refused "$v" tm-stat --sort "$v"; done
	for v in "" no-such-user-x -1 4294967295 " 1"; do refused "$v" tm-stat --user "$v"; done
	for v in "" "$BIN/" "$BIN/%x.log" "$BIN/no-such-dir/%U.log"; do
		refused "$v" tm-stat --interval 1 --output "$v"
	done
}

@test "tm-stream: every option refuses what is not one of its values" {
	local v
	for v in "${NUMBERS[@]}" 0; do refused "$v" tm-stream --count "$v"; done
	for v in "" table xml; do refused "$v" tm-stream --format "$v"; done
	for v in "" no-such-user-x; do refused "$v" tm-stream --user "$v"; done
	for v in "" "$BIN/" "$BIN/%x.log"; do refused "$v" tm-stream --output "$v"; done
	[ "$(reader_pid)" = 0 ]
}

@test "tm-mask: bad entries and bad files are refused whole" {
	local v
	for v in "" "10.0.0.0/33" "10.0.0.1/8" "300.0.0.0" "10.0.*.1" "::ffff:10.0.0.0/8" \
		 "2001:db8::*:1" "10.0.0.0/-1" "10.0.0.0/0x8" " 10.0.0.0/8"; do
		refused "$v" tm-mask add 192.168.0.0/16 "$v"
		refused "$v" tm-mask del "$v"
	done
	printf '10.1.0.0/16\n10.2.0.0/33\n' >"$BIN/bad.list"
	refused "10.2.0.0/33" tm-mask load "$BIN/bad.list"
	printf '10.1.0.0/16\n10.2.0.0/16\0junk\n' >"$BIN/nul.list"
	refused '10.2.0.0/16\x00junk' tm-mask load "$BIN/nul.list"
	head -c 20000 /dev/zero | tr '\0' x >"$BIN/long.list"
	refused "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." tm-mask load "$BIN/long.list"
	[ "$(echo "$output" | wc -c)" -lt 400 ]
	refused "$BIN" tm-mask load "$BIN"
	refused "/dev/zero" tm-mask load /dev/zero
	refused "flip" tm-mask flip
}

@test "an IPv4-mapped wildcard is the IPv4 network it maps, listed and deleted by that name" {
	tm-mask add '::ffff:7f00:*'
	[ "$(tm-mask list)" = "10.0.0.0/8
127.0.0.0/16" ]
	tm-mask del 127.0.0.0/16
	[ "$(tm-mask list)" = "10.0.0.0/8" ]
}

@test "a list of networks or a configuration that is a FIFO or a device is refused at once, wherever it is named" {
	mkfifo "$BIN/fifo"
	printf 'masks %s\n' "$BIN/fifo" >"$BIN/fifo.conf"
	local f
	for f in "$BIN/fifo" /dev/zero; do
		run timeout 10 tm-mask load "$f"
		[ "$status" = 2 ]
		[[ "${lines[0]}" == "tm-mask: '$f': not a regular file (a "*"), not a list of networks; nothing applied" ]]
		new_cgroup "x$RANDOM"
		run timeout 10 tm-load --replace --cgroup "$CG" --masks "$f"
		[ "$status" = 2 ]
		[[ "$output" == *"'$f': not a regular file"* ]]
	done
	run timeout 10 tm-load --replace --config "$BIN/fifo.conf"
	[ "$status" = 2 ]
	[[ "$output" == *"'$BIN/fifo': not a regular file (a FIFO)"* ]]
	[ "$(tm-mask list) $(tm-stat --json --sort key)" = "$BEFORE" ]
}

@test "a configuration line ending CR LF reads as its LF form; any other control character is refused, shown" {
	new_cgroup crlf
	printf 'cgroup %s\r\nmax-conns 4096\r\n# a comment\r\n' "$REPLY" >"$BIN/crlf.conf"
	tm-unload
	tm-load --config "$BIN/crlf.conf"
	[ "$(tm-status --json | jq -c '[.cgroups, (.maps[] | select(.name == "conns") | .max_entries)]')" = \
		"[[\"/${ID}crlf\"],4096]" ]
	tm-unload
	tm-load --cgroup "$CG"
	tm-mask add 10.0.0.0/8
	udp_exchange "$CG" 42541 "$CG" 42542 127.0.0.1 3 10
	printf 'cgroup %s\x1b[2J\n' "$CG" >"$BIN/esc.conf"
	run tm-load --replace --config "$BIN/esc.conf"
	[ "$status" = 2 ]
	[ "${lines[0]}" = "tm-load: $BIN/esc.conf:1: '$CG\\x1b[2J': a control character: not text" ]
	printf 'cgroup %s\rmax-conns 5\n' "$CG" >"$BIN/cr.conf"
	run tm-load --replace --config "$BIN/cr.conf"
	[ "$status" = 2 ]
	[ "${lines[0]}" = "tm-load: $BIN/cr.conf:1: '$CG\\rmax-conns 5': a control character: not text" ]
	[ "$(tm-mask list) $(tm-stat --json --sort key)" = "$BEFORE" ]
}

@test "a pin root with a control character in its name is refused by every command, shown escaped" {
	local c args
	for c in tm-load tm-unload tm-stat tm-stream tm-mask tm-status; do
		args=()
		[ $c = tm-mask ] && args=(list)
		[ $c = tm-load ] && args=(--cgroup "$CG")
		run $c --pin-root $'/sys/fs/bpf/a\nb\e[2J' "${args[@]}"
		[ "$status" = 2 ]
		[ "${lines[0]}" = "$c: --pin-root '/sys/fs/bpf/a\\nb\\x1b[2J': a control character in the name" ]
		run env TM_PIN_ROOT=$'/sys/fs/bpf/x\ty' $c "${args[@]}"
		[ "$status" = 2 ]
		[[ "$output" == *"TM_PIN_ROOT '/sys/fs/bpf/x\\ty': a control character in the name"* ]]
	done
	[ ! -e $'/sys/fs/bpf/a\nb\e[2J' ]
	[ "$(tm-mask list) $(tm-stat --json --sort key)" = "$BEFORE" ]
}
