#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Files root writes at a path a template names: the template's own
# directory only its owner may write; below it, a user's own directory,
# where that user may plant what they like: no link is followed, no planted
# file is written into, no FIFO waited on.

load lib

setup() {
	tm_setup
	tm-load --cgroup "$CG" 2>/dev/null
	DIR=$BIN/reports
	mkdir -m 755 "$DIR"
	# Each user's own directory, as a %U in the template makes it theirs.
	mkdir -m 755 "$DIR/$A" "$DIR/$B"
	chown $A:$A "$DIR/$A"
	chown $B:$B "$DIR/$B"
	echo "root's own" >"$BIN/victim"
	chmod 644 "$BIN/victim"
}
teardown() { tm_teardown; }

A=42551
B=42552

@test "tm-stat --output follows no symbolic link a user planted, and still writes the others' reports" {
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	setpriv --reuid=$A --regid=$A --clear-groups ln -s "$BIN/victim" "$DIR/$A/r.log"
	run tm-stat --interval 0.1 --count 1 --output "$DIR/%U/r.log"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot write '$DIR/$A/r.log': Operation not permitted"* ]]
	[ "$(cat "$BIN/victim")" = "root's own" ]
	grep -q "^=== .* user $B (uid $B)" "$DIR/$B/r.log"
}

@test "--output into a directory others may write (as /tmp) is refused at start: nobody can plant a file at another's name" {
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	mkdir -m 1777 "$BIN/open"
	# A plants the file B's report would go to, readable and writable by all.
	setpriv --reuid=$A --regid=$A --clear-groups sh -c "umask 0; : >'$BIN/open/$B.log'"
	local cmd
	for cmd in "tm-stat --interval 0.1 --count 1" tm-stream; do
		run $cmd --output "$BIN/open/%U.log"
		[ "$status" = 2 ]
		[[ "${lines[0]}" == *"--output '$BIN/open/%U.log': others than its owner may write in '$BIN/open'"* ]]
	done
	[ ! -s "$BIN/open/$B.log" ]
	[ "$(ls -A "$BIN/open")" = "$B.log" ]
	# Group-writable is others too.
	chmod 775 "$BIN/open"
	run tm-stat --interval 0.1 --count 1 --output "$BIN/open/%U.log"
	[ "$status" = 2 ]
}

@test "tm-stat --output does not write into a file another user could write, nor through a hard link" {
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	# B's own directory: B leaves a file there everyone may write.
	setpriv --reuid=$B --regid=$B --clear-groups sh -c "umask 0; : >'$DIR/$B/r.log'"
	run tm-stat --interval 0.1 --count 1 --output "$DIR/%U/r.log"
	[ "$status" = 1 ]
	[[ "$output" == *"'$DIR/$B/r.log': not a file tm writes to"* ]]
	[ ! -s "$DIR/$B/r.log" ]
	# A hard link to another file is refused too.
	rm -f "$DIR/$B/r.log"
	ln "$BIN/victim" "$DIR/$B.log"
	run tm-stat --interval 0.1 --count 1 --output "$DIR/%U.log"
	[ "$status" = 1 ]
	[ "$(cat "$BIN/victim")" = "root's own" ]
}

@test "tm-stream --output follows no symbolic link either, and a FIFO is not waited on" {
	setpriv --reuid=$A --regid=$A --clear-groups ln -s "$BIN/victim" "$DIR/$A/r.log"
	setpriv --reuid=$B --regid=$B --clear-groups mkfifo "$DIR/$B/r.log"
	start_stream --output "$DIR/%U/r.log"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	sleep 0.3
	kill -TERM "$STREAM"
	wait "$STREAM"
	[ "$(cat "$BIN/victim")" = "root's own" ]
	grep -q "'$DIR/$A/r.log': its lines are dropped" "$BIN/stream.err"
	# A FIFO nobody reads: refused at once (ENXIO), never waited on.
	grep -q "cannot write '$DIR/$B/r.log': No such device or address" "$BIN/stream.err"
}

@test "each user may read their own report file, the admin group every one, nobody else" {
	tm-unload >/dev/null
	tm-load --cgroup "$CG" --group 42559 2>/dev/null
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	(umask 0; tm-stat --interval 0.1 --count 1 --output "$DIR/%U.log")
	[ "$(stat -c '%U %a' "$DIR/$A.log")" = "root 640" ]
	setpriv --reuid=$A --regid=$A --clear-groups grep -q "user $A" "$DIR/$A.log"
	refute setpriv --reuid=$B --regid=$B --clear-groups cat "$DIR/$A.log" 2>/dev/null
	setpriv --reuid=$B --regid=$B --groups=42559 grep -q "user $A" "$DIR/$A.log"
	refute setpriv --reuid=$B --regid=$B --groups=42558 cat "$DIR/$A.log" 2>/dev/null
	# Appending again keeps it so.
	tm-stat --interval 0.1 --count 1 --output "$DIR/%U.log"
	refute setpriv --reuid=$B --regid=$B --clear-groups cat "$DIR/$A.log" 2>/dev/null
	[ "$(grep -c "user $A" "$DIR/$A.log")" = 2 ]
}

@test "a file every user's lines go to (no %u or %U) is readable by the admin group, by no user" {
	tm-unload >/dev/null
	tm-load --cgroup "$CG" --group 42559 2>/dev/null
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	tm-stat --interval 0.1 --count 1 --output "$DIR/all.log"
	grep -q "user $A" "$DIR/all.log"
	grep -q "user $B" "$DIR/all.log"
	# Neither user, whichever was written last, may read the other's lines.
	refute setpriv --reuid=$A --regid=$A --clear-groups cat "$DIR/all.log" 2>/dev/null
	refute setpriv --reuid=$B --regid=$B --clear-groups cat "$DIR/all.log" 2>/dev/null
	setpriv --reuid=$B --regid=$B --groups=42559 grep -q "user $A" "$DIR/all.log"
	# A file an older tm gave a user stops being theirs at the next write.
	python3 -c 'import os, struct, sys
e = [(1, 6, 0xffffffff), (2, 4, int(sys.argv[2])), (4, 0, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))' \
		"$DIR/all.log" $A
	setpriv --reuid=$A --regid=$A --clear-groups grep -q "user $A" "$DIR/all.log"
	tm-stat --interval 0.1 --count 1 --output "$DIR/all.log"
	refute setpriv --reuid=$A --regid=$A --clear-groups cat "$DIR/all.log" 2>/dev/null
}

@test "directories a template names below its own are made 0755, and a user's link or open directory there is refused" {
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 2 10
	# In their own directories: B points x at root's; A makes an x everybody may write.
	setpriv --reuid=$B --regid=$B --clear-groups ln -s "$BIN" "$DIR/$B/x"
	setpriv --reuid=$A --regid=$A --clear-groups mkdir -m 0777 "$DIR/$A/x"
	run tm-stat --interval 0.1 --count 1 --output "$DIR/%U/x/traffic.log"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot write '$DIR/$B/x/traffic.log': Operation not permitted"* ]]
	[[ "$output" == *"cannot write '$DIR/$A/x/traffic.log': Operation not permitted"* ]]
	[ ! -e "$BIN/traffic.log" ]
	[ ! -e "$DIR/$A/x/traffic.log" ]
	# Missing ones are made, root's, 0755, two levels deep.
	rm -r "$DIR/$A" "$DIR/$B"
	(umask 077; tm-stat --interval 0.1 --count 1 --output "$DIR/%U/net/traffic.log")
	[ "$(stat -c '%U %a' "$DIR/$A" "$DIR/$A/net")" = "root 755
root 755" ]
	setpriv --reuid=$A --regid=$A --clear-groups grep -q "user $A" "$DIR/$A/net/traffic.log"
}
