#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-top, driven in a terminal of its own (tmux: send-keys, capture-pane),
# and its --batch snapshots, checked exactly.

load lib

setup() {
	tm_setup
	cp "$BUILD/tm-top" "$BIN/"
	TMUX_SOCK=$BIN/tmux.sock
}

teardown() {
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	tm_teardown
}

A=42661
B=42662

# top_in_tmux ARGS...: tm-top in a detached terminal, 100x24 (COLS=N: N
# wide); when it ends, the shell there prints its status and the terminal's
# modes.
top_in_tmux() {
	tmux -S "$TMUX_SOCK" new-session -d -x "${COLS:-100}" -y 24 -s top \
		"TM_PIN_ROOT=$TM_PIN_ROOT $BIN/tm-top $*; echo EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo; sleep 60"
}

screen() {
	tmux -S "$TMUX_SOCK" capture-pane -p -t top
}

keys() {
	tmux -S "$TMUX_SOCK" send-keys -t top "$@"
}

# shows TEXT: the screen shows TEXT.
shows() {
	screen | grep -qF -- "$1"
}

# wait_screen TEXT: until the screen shows TEXT (5 s at most).
wait_screen() {
	eventually shows "$1" && return 0
	echo "not on the screen: $1" >&2
	screen >&2
	return 1
}

@test "tm-top shows both users with their totals, their connections, the busy user first by rate; resize and q leave a sane terminal" {
	tm-load --cgroup "$CG"
	# A: 3 datagrams of 100 bytes to itself (384 bytes each way), then idle.
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 3 100
	# B: busy for 20 s, 200 datagrams of 100 bytes a second, to a port
	# nobody listens on.
	bg as "$CG" $B "$BIN/tmtraffic" udp-rate 127.0.0.1 9 200 20 100
	top_in_tmux --delay 0.3
	wait_screen "by user  sorted by rate in + out"
	wait_screen "B/s"
	local row
	row=$(screen | grep -E "^$A +$A ")
	[[ "$row" =~ ^$A\ +$A\ +0\ B/s\ +0\ B/s\ +384\ B\ +384\ B$ ]] || { echo "row: $row" >&2; false; }
	# By rate, the busy user is first (the first row under the heads).
	busy_first() { [[ "$(screen | sed -n 5p)" == "$B "* ]]; }
	eventually busy_first || { screen >&2; false; }
	# Sort by bytes since the load (s three times): A's 768 then B's.
	keys s s s
	wait_screen "sorted by bytes since load"
	# The connections: A's over loopback, with the process.
	keys c
	wait_screen "by conn"
	row=$(screen | grep -E "^$A +udp +127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:[0-9]+ +[0-9]+ +tmtraffic ")
	[ "$(wc -l <<<"$row")" = 2 ]
	# Enter on a row of users: that user's connections only.
	keys u
	wait_screen "by user"
	keys End Enter
	wait_screen "by conn"
	[ -z "$(screen | sed -n '5,$p' | grep -E "^[0-9]+ " | awk '{ print $1 }' | sort -u | grep -vx "$(screen | sed -n '5p' | awk '{ print $1 }')")" ]
	keys BSpace
	wait_screen "by user"
	# A tiny terminal, then a big one again.
	tmux -S "$TMUX_SOCK" resize-window -t top -x 20 -y 4
	wait_screen "terminal too small"
	tmux -S "$TMUX_SOCK" resize-window -t top -x 100 -y 24
	wait_screen "USER"
	keys q
	wait_screen "EXIT=0"
	# The terminal is given back as it was: canonical mode, echo.
	wait_screen "icanon echo"
}

@test "tm-top: SIGINT restores the terminal, exit 0; an unload under it is a message and exit 1" {
	tm-load --cgroup "$CG"
	top_in_tmux --delay 0.2
	wait_screen "tm-top  "
	keys C-c
	wait_screen "EXIT=0"
	wait_screen "icanon echo"
	tmux -S "$TMUX_SOCK" kill-server
	# A server of its own: one starting on the socket of a server still
	# going away can exit at once ("server exited unexpectedly").
	TMUX_SOCK=$BIN/tmux2.sock
	top_in_tmux --delay 0.2 --by proto
	wait_screen "by proto"
	tm-unload
	wait_screen "EXIT=1"
	wait_screen "nothing"
	wait_screen "icanon echo"
}

@test "tm-top --batch: plain snapshots, exact with --bytes, widths kept, -n ends it" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" $B "$CG" $A ::1 2 1000
	run tm-top --batch --bytes --delay 0.1 -n 2
	[ "$status" = 0 ]
	# Both snapshots alike: nothing moved in between, so rates are 0.
	# Equal totals: the key (UID) breaks the tie.
	local snap
	snap="total  in 0 B/s  out 0 B/s   since load  in 2608  out 2608

USER     UID  IN_RATE  OUT_RATE    IN   OUT
$A  $A    0 B/s     0 B/s  2096   512
$B  $B    0 B/s     0 B/s   512  2096
"
	[ "$(sed 's/^tm-top  .*  every/tm-top  TIME  every/' <<<"$output")" = "tm-top  TIME  every 0.1 s  by user  sorted by rate in + out
$snap
tm-top  TIME  every 0.1 s  by user  sorted by rate in + out
${snap%$'\n'}" ]
	run tm-top --batch -n 1 --delay 0.1 --by family --bits --user $A
	[ "$status" = 0 ]
	[[ "${lines[0]}" == *"by family  sorted by rate in + out  user $A" ]]
	[ "${lines[1]}" = "total  in 0 bit/s  out 0 bit/s   since load  in 2.05 KiB  out 512 B" ]
	[ "${lines[2]}" = "USER     UID  FAMILY  IN_RATE  OUT_RATE        IN    OUT" ]
	[ "${lines[3]}" = "$A  $A  ipv6    0 bit/s   0 bit/s  2.05 KiB    0 B" ]
	[ "${lines[4]}" = "$A  $A  ipv4    0 bit/s   0 bit/s       0 B  512 B" ]
	[ "${#lines[@]}" = 5 ]
	# Machine output: each snapshot one JSON array a line, tm-stat's fields.
	run tm-top --batch -n 2 --interval 0.1 --json --user $A
	[ "$status" = 0 ]
	[ "${#lines[@]}" = 2 ]
	[ "$(jq -c 'map([.uid, .in_bytes, .out_bytes, .in_rate, .out_rate])' <<<"${lines[1]}")" = "[[$A,2096,512,0,0]]" ]
	[ "$(jq -r '.[0].ts | type' <<<"${lines[0]}")" = string ]
	[ "$(tm-top --batch -n 1 --interval 0.1 --format json --by family --user $A | jq -c 'map(.family)')" = '["ipv6","ipv4"]' ]
}

@test "tm-top refuses what it does not take, and wants a terminal without --batch" {
	tm-load --cgroup "$CG"
	local bad
	for bad in "-n 3" "--json" "--batch --format csv" "--exact" "--delay 0" "--delay x" "--by host" "--sort size" "--depth -1" "extra"; do
		run tm-top $bad
		[ "$status" = 2 ] || { echo "$bad: $status $output" >&2; false; }
	done
	run tm-top </dev/null
	[ "$status" = 2 ]
	[[ "$output" == *"needs a terminal; for scripts: --batch"* ]]
	tm-unload
	run tm-top --batch -n 1
	[ "$status" = 1 ]
	[[ "$output" == *"nothing loaded"* ]]
}

@test "tm-top by cgroup: a container path too long for the screen is cut at its start, the figures stay on it; + and - step a level at a time" {
	# Three levels below the metered cgroup, as a container runtime nests them.
	local c=$CG p long=
	for p in kubepods.slice kubepods-burstable-pod0123456789abcdef0123456789abcdef.slice \
		cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope; do
		c=$c/$p
		mkdir "$c"
		CGROUPS+=("$c")
	done
	tm-load --cgroup "$CG"
	udp_exchange "$c" $A "$c" $A 127.0.0.1 3 100
	COLS=100 top_in_tmux --interval 0.2 --by cgroup
	wait_screen "by cgroup"
	wait_screen "384 B"
	local row
	row=$(screen | grep -E "^$A ")
	# The whole line on the screen, the path's end kept after "…", the figures last.
	[ "${#row}" -le 100 ]
	[[ "$row" == *"…"*"0123456789abcdef.scope "* ]] || { echo "row: $row" >&2; false; }
	[[ "$row" =~ \ 384\ B\ +384\ B$ ]] || { echo "row: $row" >&2; false; }
	# At every level, + has nothing deeper; - is one level up (2), then 1, 0, and no further.
	keys +
	sleep 0.5
	refute shows "(depth"
	keys -
	wait_screen "by cgroup (depth 2)"
	wait_screen "pod0123456789abcdef0123456789abcdef.slice "
	keys - -
	wait_screen "by cgroup (depth 0)"
	keys -
	sleep 0.5
	shows "by cgroup (depth 0)"
	# And back down: 1, 2, then every level again (no depth shown).
	keys + +
	wait_screen "by cgroup (depth 2)"
	keys +
	eventually refute shows "(depth"
	wait_screen "0123456789abcdef.scope "
	keys q
	wait_screen "EXIT=0"
}
