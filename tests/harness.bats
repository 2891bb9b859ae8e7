#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The test harness itself: what a test starts, its teardown can end.

load lib

setup() { tm_setup; }
teardown() { tm_teardown; }

@test "bg records the PID of the traffic process itself, not of a shell around it" {
	bg as "$CG" 42499 "$BIN/tmtraffic" udp-drain 127.0.0.1 "$BIN/pf"
	wait_file "$BIN/pf"
	[ "$(cat /proc/"${PIDS[-1]}"/comm)" = tmtraffic ]
	[ "$(cat "$CG/cgroup.procs")" = "${PIDS[-1]}" ]
}

@test "udp_exchange never hands the sender the port of an earlier exchange" {
	# Each exchange starts from the same random state: names drawn from
	# $RANDOM would repeat, and the second sender would read the first
	# receiver's port file, long since closed.
	local i
	for i in 1 2 3; do
		RANDOM=7
		udp_exchange "$CG" 42498 "$CG" 42499 127.0.0.1 1 10
	done
}
