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
