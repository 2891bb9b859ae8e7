#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What make install and make deb put on a machine: units systemd accepts,
# whose commands work with only the capabilities the units leave them;
# logrotate with tm-stream's logs; an install and a package that go away
# without a trace.

load lib

A=42651

setup() {
	tm_setup
	# The commands the suite built, installed from that build.
	MK=(make -s --no-print-directory -C "$TOP" OUT="$BUILD")
}

teardown() {
	# A meter the package test loaded at the built-in pin root.
	[ -z "${DEFAULT_LOAD:-}" ] || "$BUILD/tm-unload" --pin-root /sys/fs/bpf/tm
	tm_teardown
}

# as_login UID CMD...: CMD run by UID as a login shell on Debian has it:
# the default PATH (no sbin), nothing else of this environment.
as_login() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/games HOME=/ LANG=C.UTF-8 "$@"
}

# install_at DIR: make install with everything under DIR (no DESTDIR: the
# units name DIR's own commands and configuration, as systemd will run them).
install_at() {
	"${MK[@]}" install PREFIX="$1/usr" SYSCONFDIR="$1/etc" >/dev/null
	UNITS=$1/usr/lib/systemd/system
}

# unit_cmd UNIT KEY: the command line of KEY (ExecStart, ...) in UNIT, with
# systemd's %% as the % it stands for.
unit_cmd() {
	sed -n "s/^$2=//p" "$UNITS/$1" | sed 's/%%/%/g'
}

# unit_caps UNIT: its CapabilityBoundingSet as setpriv's --bounding-set.
unit_caps() {
	local c caps=-all
	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$UNITS/$1"); do
		c=${c#CAP_}
		caps+=,+${c,,}
	done
	echo "$caps"
}

# as_unit UNIT CMD...: CMD with UNIT's capability bounding set, nothing
# inheritable, and no new privileges (as systemd runs it). Under bg it
# execs, so the PID bg records is CMD's own.
as_unit() {
	local u=$1 run=()
	shift
	[ -n "${AS_EXEC:-}" ] && run=(exec)
	"${run[@]}" setpriv --bounding-set "$(unit_caps "$u")" --inh-caps -all --no-new-privs "$@"
}

@test "systemd-analyze verify accepts every unit, and would say if one were wrong" {
	install_at "$BIN/p"
	local u units=()
	for u in tm.service tm-log.service tm-textfile.service tm-record.service; do
		units+=("$UNITS/$u")
	done
	run systemd-analyze verify --man=no "${units[@]}"
	[ "$status" = 0 ]
	[ -z "$output" ]
	# A unit with a mistake in it is not accepted in silence.
	mkdir "$BIN/bad"
	sed 's/^ExecStart=/ExecStrat=/' "$UNITS/tm.service" >"$BIN/bad/tm.service"
	run systemd-analyze verify --man=no "$BIN/bad/tm.service"
	[ -n "$output" ]
}

@test "the units' own commands, with only the capabilities the units keep, load, reload, log, export and unload" {
	install_at "$BIN/p"
	local sbin=$BIN/p/usr/sbin bin=$BIN/p/usr/bin
	# The shipped example configuration, with this test's cgroup.
	printf 'cgroup %s\n' "$CG" >>"$BIN/p/etc/tm/tm.conf"
	printf '127.0.0.0/8\n' >>"$BIN/p/etc/tm/masks"
	[ "$(unit_cmd tm.service ExecStart)" = "$sbin/tm-load --config $BIN/p/etc/tm/tm.conf" ]
	[ "$(unit_caps tm.service)" = "-all,+bpf,+perfmon,+net_admin,+sys_admin" ]
	as_unit tm.service $(unit_cmd tm.service ExecStart)
	[ "$(tm-mask list)" = 127.0.0.0/8 ]
	# tm-log.service: its tm-stream writes each user's file.
	local log
	log=$(unit_cmd tm-log.service ExecStart | sed "s|/var/log/tm/|$BIN/log/|")
	[ "$log" = "$bin/tm-stream --follow --output $BIN/log/%u.log" ]
	mkdir -m 0755 "$BIN/log"
	bg as_unit tm-log.service $log 2>"$BIN/log.err"
	wait_until_reader "${PIDS[-1]}"
	# tm-textfile.service: its tm-stat writes the exposition.
	local text
	text=$(unit_cmd tm-textfile.service ExecStart | sed "s|/var/lib/prometheus/node-exporter/|$BIN/text/|")
	[ "$text" = "$bin/tm-stat --textfile $BIN/text/tm.prom --interval 15" ]
	mkdir "$BIN/text"
	# (every 0.2 s rather than 15, so that the unload is seen soon)
	bg as_unit tm-textfile.service ${text% 15} 0.2
	local writer=${PIDS[-1]}
	udp_exchange "$CG" $A "$CG" $A ::1 2 100
	wait_file "$BIN/text/tm.prom"
	wait_line "$BIN/log/$A.log" '"bytes":148'
	# tm-record.service: its tm-record stores a sample (--once here).
	local rec
	rec=$(unit_cmd tm-record.service ExecStart)
	[ "$rec" = "$sbin/tm-record --db /var/lib/tm/history.db" ]
	as_unit tm-record.service ${rec% *} "$BIN/history.db" --once
	[ "$(sqlite3 "$BIN/history.db" "SELECT sum(out_bytes) FROM traffic WHERE tier = 'day' AND kind = 'user' AND uid = $A")" = 296 ]
	# systemctl reload: the file's networks again, the counters kept.
	tm-mask add 10.0.0.0/8
	as_unit tm.service $(unit_cmd tm.service ExecReload)
	[ "$(tm-mask list)" = 127.0.0.0/8 ]
	[ "$(stat_field $A out_bytes)" = 296 ]
	# systemctl stop: unloaded, and the exporter's file goes with it.
	as_unit tm.service $(unit_cmd tm.service ExecStop)
	[ ! -e "$TM_PIN_ROOT" ]
	local rc=0
	wait "$writer" || rc=$?
	[ "$rc" = 1 ]
	[ ! -e "$BIN/text/tm.prom" ]
}

@test "logrotate with the shipped configuration: tm-stream's files are renamed, told by SIGHUP, and made anew, readable by their user" {
	install_at "$BIN/p"
	tm-load --cgroup "$CG"
	mkdir -m 0755 "$BIN/log"
	bg tm-stream --output "$BIN/log/%u.log"
	local stream=${PIDS[-1]}
	wait_until_reader "$stream"
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 3 100
	wait_line "$BIN/log/$A.log" '"total_out":384'
	# The shipped file, for this directory, telling this tm-stream.
	sed -e "s|/var/log/tm/|$BIN/log/|" \
		-e "s|systemctl kill --kill-whom=main --signal=HUP tm-log.service|kill -HUP $stream|" \
		"$BIN/p/etc/logrotate.d/tm" >"$BIN/logrotate.conf"
	grep -q "kill -HUP $stream" "$BIN/logrotate.conf"
	logrotate -f -s "$BIN/logrotate.state" "$BIN/logrotate.conf"
	[ -e "$BIN/log/$A.log.1" ]
	udp_exchange "$CG" $A "$CG" $A 127.0.0.1 1 100
	wait_line "$BIN/log/$A.log" '"total_out":512'
	# The old lines went with the old file, the new ones to the new.
	[ "$(grep -c '"dir":"out"' "$BIN/log/$A.log.1")" = 3 ]
	[ "$(grep -c '"dir":"out"' "$BIN/log/$A.log")" = 1 ]
	# The new file is root's, 0600 with an ACL (the group bits show its mask),
	# and its user reads it.
	[ "$(stat -c '%U %a' "$BIN/log/$A.log")" = "root 640" ]
	setpriv --reuid=$A --regid=$A --clear-groups cat "$BIN/log/$A.log" >/dev/null
	refute setpriv --reuid=$((A + 1)) --regid=$((A + 1)) --clear-groups cat "$BIN/log/$A.log" 2>/dev/null
	# Bounded in size, not only by the week: a file past maxsize is rotated at
	# the next run (not forced) though rotated a moment ago; one under it is not.
	local max
	max=$(awk '$1 == "maxsize" { print $2 }' "$BIN/logrotate.conf")
	[ -n "$max" ]
	logrotate -s "$BIN/logrotate.state" "$BIN/logrotate.conf"
	[ -z "$(ls "$BIN/log/$A.log.2"* 2>/dev/null)" ]
	kill -TERM "$stream"
	wait "$stream"
	truncate -s "$(numfmt --from=iec "$max")" "$BIN/log/$A.log"
	truncate -s +1 "$BIN/log/$A.log"
	sed -i "s|kill -HUP $stream|true|" "$BIN/logrotate.conf"
	logrotate -s "$BIN/logrotate.state" "$BIN/logrotate.conf"
	# (the one before, compressed now: delaycompress)
	[ -e "$BIN/log/$A.log.2.gz" ] && [ "$(stat -c %s "$BIN/log/$A.log.1")" -gt 1000000 ]
}

@test "make install with DESTDIR puts every file in place, and make uninstall takes every one away" {
	local d=$BIN/dest
	"${MK[@]}" install DESTDIR="$d" PREFIX=/usr >/dev/null
	# What users run in bin/ (setuid, section 1), the admin's in sbin/.
	[ "$(stat -c '%a' "$d/usr/sbin/tm-load" "$d/usr/bin/tm-stat" "$d/usr/bin/tm-top" \
		"$d/usr/bin/tm-report" "$d/usr/bin/tm-stream" "$d/usr/sbin/tm-record" "$d/usr/sbin/tm-job")" = "755
4755
4755
4755
4755
755
755" ]
	local f
	for f in usr/share/man/man8/tm.8 usr/share/man/man8/tm-status.8 usr/share/man/man8/tm-job.8 usr/share/man/man1/tm-stat.1 \
		usr/share/man/man1/tm-top.1 usr/share/man/man1/tm-report.1 usr/share/man/man1/tm-stream.1 \
		usr/lib/systemd/system/tm.service usr/lib/systemd/system/tm-log.service \
		usr/lib/systemd/system/tm-textfile.service usr/lib/systemd/system/tm-record.service etc/logrotate.d/tm etc/tm/tm.conf \
		etc/tm/masks etc/tm/jobs usr/share/doc/tm/tm.rules.yml usr/share/doc/tm/tm.yaml \
		usr/share/bash-completion/completions/tm-stat; do
		[ -e "$d/$f" ] || { echo "missing: $f" >&2; false; }
	done
	grep -qx "ExecStart=/usr/sbin/tm-load --config /etc/tm/tm.conf" "$d/usr/lib/systemd/system/tm.service"
	# A second install keeps a configuration someone edited.
	echo "10.0.0.0/8" >>"$d/etc/tm/masks"
	"${MK[@]}" install DESTDIR="$d" PREFIX=/usr >/dev/null
	grep -qx "10.0.0.0/8" "$d/etc/tm/masks"
	# Uninstall: nothing but the edited file is left, and it is said.
	run "${MK[@]}" uninstall DESTDIR="$d" PREFIX=/usr
	[ "$status" = 0 ]
	[[ "$output" == *"kept     $d/etc/tm/masks (changed)"* ]]
	[ "$(cd "$d" && find . ! -type d)" = "./etc/tm/masks" ]
	rm "$d/etc/tm/masks"
	"${MK[@]}" install DESTDIR="$d" PREFIX=/usr >/dev/null
	"${MK[@]}" uninstall DESTDIR="$d" PREFIX=/usr >/dev/null
	[ -z "$(cd "$d" && find . ! -type d)" ]
}

@test "the setuid readers are built hardened: PIE, full RELRO, immediate binding, stack protector, fortified calls" {
	local d=$BIN/dest f
	# As installed: not the sanitizer build (SANITIZE=1 turns these off).
	make -s -C "$TOP" OUT="$BIN/h" SANITIZE=0 install DESTDIR="$d" PREFIX=/usr >/dev/null
	for f in tm-stat tm-stream tm-top tm-report; do
		readelf -h "$d/usr/bin/$f" | grep -q 'Type: *DYN'
		readelf -d "$d/usr/bin/$f" | grep -q 'BIND_NOW'
		readelf -lW "$d/usr/bin/$f" | grep -q 'GNU_RELRO'
		nm -D "$d/usr/bin/$f" | grep -q '__stack_chk_fail'
		nm -D "$d/usr/bin/$f" | grep -q '_chk@'
	done
}

@test "make PIN_ROOT=... after a build builds again: a setuid reader never keeps the old path" {
	local o=$BIN/b
	make -s -C "$TOP" OUT="$o" PIN_ROOT=/sys/fs/bpf/tm-first >/dev/null
	grep -q /sys/fs/bpf/tm-first "$o/tm-stat"
	make -s -C "$TOP" OUT="$o" PIN_ROOT=/sys/fs/bpf/tm-second HISTORY_DB=/var/lib/tm/other.db >/dev/null
	grep -q /sys/fs/bpf/tm-second "$o/tm-stat"
	refute grep -q /sys/fs/bpf/tm-first "$o/tm-stat"
	grep -q /var/lib/tm/other.db "$o/tm-report"
	# The same again changes nothing.
	local before
	before=$(stat -c %Y "$o/tm-stat")
	sleep 1
	make -s -C "$TOP" OUT="$o" PIN_ROOT=/sys/fs/bpf/tm-second HISTORY_DB=/var/lib/tm/other.db >/dev/null
	[ "$(stat -c %Y "$o/tm-stat")" = "$before" ]
}

@test "make install after make PIN_ROOT=... HISTORY_DB=... installs what was built, not the defaults" {
	local o=$BIN/b d=$BIN/dest
	make -s -C "$TOP" OUT="$o" PIN_ROOT=/sys/fs/bpf/tm-site HISTORY_DB=/var/lib/tm/site.db >/dev/null
	make -s -C "$TOP" OUT="$o" install DESTDIR="$d" PREFIX=/usr >/dev/null
	grep -q /sys/fs/bpf/tm-site "$d/usr/bin/tm-stat"
	grep -q /var/lib/tm/site.db "$d/usr/bin/tm-report"
	# Named again (empty: the default), it changes.
	make -s -C "$TOP" OUT="$o" PIN_ROOT= install DESTDIR="$d" PREFIX=/usr >/dev/null
	refute grep -q /sys/fs/bpf/tm-site "$d/usr/bin/tm-stat"
	grep -q /var/lib/tm/site.db "$d/usr/bin/tm-report"
}

# users_find_the_readers: with the package installed, a user with Debian's
# default PATH runs tm-stat, tm-top --batch, tm-report and man tm-stat by
# name, and sees their own traffic. The meter is loaded at the built-in pin
# root by this test, unless one is there (then that one is read, not touched).
users_find_the_readers() {
	if [ ! -e /sys/fs/bpf/tm ]; then
		/usr/sbin/tm-load --pin-root /sys/fs/bpf/tm --cgroup "$CG" || return
		DEFAULT_LOAD=1
		udp_exchange "$CG" $A "$CG" $A 127.0.0.1 2 100 || return
		[ "$(as_login $A tm-stat --json | jq -r '.[0].out_bytes')" = 256 ] || return
	else
		as_login $A tm-stat >/dev/null || return
	fi
	as_login $A tm-top --batch --count 1 --interval 0.1 | grep -q . || return
	# No history yet: tm-report by name says so (1), not "command not found" (127).
	local rc=0
	as_login $A tm-report >/dev/null 2>&1 || rc=$?
	[ "$rc" = 1 ] || { echo "tm-report: $rc" >&2; return 1; }
	[ "$(as_login $A man -w tm-stat)" = /usr/share/man/man1/tm-stat.1.gz ] || return
	as_login $A man -P cat tm-stat 2>/dev/null | grep -q 'TM-STAT(1)'
}

@test "make deb builds a package that dpkg installs, whose commands run, and that purges without a trace" {
	if dpkg-query -W -f '${Status}' tm 2>/dev/null | grep -q installed || [ -e /usr/sbin/tm-load ]; then
		skip "tm is installed on this machine already: not replaced by a test"
	fi
	"${MK[@]}" deb DEBDIR="$BIN/deb" >/dev/null
	local deb
	deb=$(ls "$BIN"/deb/tm_*.deb)
	dpkg-deb --info "$deb" >"$BIN/info"
	grep -q "^ Depends: .*libbpf1" "$BIN/info"
	# Every shared library the commands link (NEEDED) is of a package it
	# depends on.
	local bin name lib pkg
	for bin in "$BIN"/deb/deb-root/usr/bin/tm-* "$BIN"/deb/deb-root/usr/sbin/tm-*; do
		for name in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			lib=$(ldd "$bin" | awk -v n="$name" '$1 == n { print $3 }')
			pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib") || true
			pkg=${pkg%%:*}
			[ -n "$pkg" ]
			[ "$pkg" = libc6 ] || grep -q "^ Depends: .*$pkg" "$BIN/info" ||
				{ echo "not a dependency: $pkg" >&2; false; }
		done
	done
	# (man pages too on a host whose dpkg leaves them out, as slim images do)
	dpkg --path-include='/usr/share/man/*' -i "$deb" >"$BIN/dpkg.log" 2>&1 || { cat "$BIN/dpkg.log" >&2; dpkg -P tm >/dev/null 2>&1; false; }
	dpkg -L tm >"$BIN/files"
	local ok=0
	{
		[ "$(stat -c '%a %U' /usr/bin/tm-stat /usr/bin/tm-stream /usr/sbin/tm-load)" = "4755 root
4755 root
755 root" ] &&
		users_find_the_readers &&
		[ -e /lib/systemd/system/tm.service ] && [ -e /usr/share/man/man8/tm.8.gz ] &&
		[ "$(dpkg-query -W -f '${Conffiles}' tm | awk '{ print $1 }' | sort | tr '\n' ' ')" = \
			"/etc/logrotate.d/tm /etc/tm/jobs /etc/tm/masks /etc/tm/tm.conf " ]
	} || ok=1
	dpkg -P tm >"$BIN/dpkg.log" 2>&1
	[ "$ok" = 0 ]
	refute dpkg-query -W tm 2>/dev/null
	# Not one of its files is left.
	local f left=
	while read -r f; do
		[ -d "$f" ] && continue
		[ -e "$f" ] && left+=" $f"
	done <"$BIN/files"
	[ -z "$left" ] || { echo "left:$left" >&2; false; }
	[ ! -e /etc/tm ]
}
