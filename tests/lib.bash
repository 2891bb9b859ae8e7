# SPDX-License-Identifier: GPL-2.0
# Shared by tm's bats tests: each test gets its own pin root and its own
# child cgroup, and teardown removes everything the test made, even when the
# test failed. Only processes the test started are ended, by their PID.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${TM_BUILD:-$TOP/build}
CG2=$("$TOP/scripts/cgroup2-mount")

tm_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -n "$CG2" ] || skip "no cgroup v2 mount"
	ID="tmt$$n${BATS_TEST_NUMBER}"
	export TM_PIN_ROOT=/sys/fs/bpf/$ID
	CG=$CG2/$ID
	mkdir "$CG"
	CGROUPS=("$CG")
	PIDS=()
	NETNS=()
	EXTRA_PINS=()	# more bpffs directories a test makes
	# Binaries other UIDs run must be reachable by them (/root is not).
	BIN=$(mktemp -d /tmp/tm-test.XXXXXX)
	chmod 1777 "$BIN"
	cp "$BUILD/tests/tmtraffic" "$BUILD/tm-stat" "$BIN/"
	PATH=$BUILD:$PATH
	# scripts/run-tests runs the kernel's core again with each way of
	# loading forced (tm-load --owner, --pending): TM_TEST_WAYS.
	if [ -n "${TM_TEST_WAYS:-}" ]; then
		mkdir "$BIN/ways"
		printf '#!/bin/sh\nexec "%s/tm-load" %s "$@"\n' "$BUILD" "$TM_TEST_WAYS" >"$BIN/ways/tm-load"
		chmod 755 "$BIN/ways/tm-load"
		PATH=$BIN/ways:$PATH
	fi
}

# refute CMD...: CMD must fail. (A bare "! CMD" is no assertion in bats:
# bash's errexit ignores a negated command.)
refute() {
	if "$@"; then
		echo "expected to fail: $*" >&2
		return 1
	fi
}

# owners_by: how this load reads owners (socket or creator, tm-status).
owners_by() {
	tm-status --json | jq -r .owners
}

tm_teardown() {
	local p ns cg i
	# Every step, even when one fails (a process already gone, say).
	set +e
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	tm-unload >/dev/null 2>&1 || true
	# If tm-unload could not, take the pins down by hand.
	if [ -e "$TM_PIN_ROOT" ]; then
		for p in "$TM_PIN_ROOT"/links/*; do
			[ -e "$p" ] && bpftool link detach pinned "$p" 2>/dev/null
		done
		rm -rf "$TM_PIN_ROOT"
	fi
	rm -rf "$TM_PIN_ROOT"-loading-* "${EXTRA_PINS[@]}" 2>/dev/null
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ((p = ${#CGROUPS[@]} - 1; p >= 0; p--)); do
		cg=${CGROUPS[p]}
		[ -d "$cg" ] || continue
		# A cgroup with processes cannot go; ours are ended above (one
		# that exited after a parent it left, reaped by init, a little
		# later: 5 s at most).
		for ((i = 0; i < 25; i++)); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
		[ ! -d "$cg" ] || rmdir "$cg"
	done
	rm -rf "$BIN"
}

# new_cgroup NAME: another child cgroup in REPLY, removed at teardown.
# (Not via $(...): a subshell would not register it for removal.)
new_cgroup() {
	REPLY=$CG2/$ID$1
	mkdir "$REPLY"
	CGROUPS+=("$REPLY")
}

# as CGROUP UID CMD...: run CMD as UID (and GID) inside CGROUP; with
# IN_NETNS=NS set, inside network namespace NS too. Under bg it execs, so
# the PID bg records is CMD's own and teardown can end it.
as() {
	local cg=$1 uid=$2 pre=() run=()
	shift 2
	[ -n "${IN_NETNS:-}" ] && pre=(nsenter --net=/run/netns/"$IN_NETNS")
	[ -n "${AS_EXEC:-}" ] && run=(exec)
	"${run[@]}" sh -c 'cg=$1; shift; echo $$ > "$cg/cgroup.procs" && exec "$@"' sh "$cg" \
		"${pre[@]}" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# free_ports N: N loopback TCP ports nothing listens on, in PORTS.
free_ports() {
	PORTS=($(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"))
}

# scrape PORT: what the exporter on loopback PORT gives /metrics, once it answers (5 s at most).
scrape() {
	python3 - "$1" <<-'PY'
		import sys, time, urllib.request
		for i in range(100):
		    try:
		        with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5) as r:
		            sys.stdout.write(r.read().decode())
		            sys.exit(0)
		    except OSError:
		        time.sleep(0.05)
		sys.exit(1)
	PY
}

# udp_by_uid NS UID...: in namespace NS, nftables' table tmudp counting the
# UDP datagrams each UID sends, in counters u0, u1, ... in order (nft_take).
udp_by_uid() {
	local ns=$1 i=0 uid counters= rules=
	shift
	for uid in "$@"; do
		counters+="counter u$i {}"$'\n'
		rules+="meta skuid $uid meta l4proto udp counter name u$i"$'\n'
		i=$((i + 1))
	done
	ip netns exec "$ns" nft -f - <<-NFT
		table inet tmudp {
		$counters
		chain out {
		type filter hook output priority 0
		$rules
		}
		}
	NFT
}

# nft_take NS N: what udp_by_uid's counter uN counted since the last take,
# "BYTES PACKETS".
nft_take() {
	[[ $(ip netns exec "$1" nft reset counter inet tmudp "u$2" | tr -d '\n') =~ packets\ ([0-9]+)\ bytes\ ([0-9]+) ]] &&
		echo "${BASH_REMATCH[2]} ${BASH_REMATCH[1]}"
}

# new_netns NAME: a network namespace with lo up in REPLY, deleted at teardown.
new_netns() {
	REPLY=$ID$1
	ip netns add "$REPLY"
	NETNS+=("$REPLY")
	ip -n "$REPLY" link set lo up
}

# eventually CMD...: CMD until it succeeds, every 0.05 s, 100 tries (5 s)
# at most; the status of the last.
eventually() {
	local i
	for ((i = 1; i < 100; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# wait_file FILE [-e]: until FILE has something in it (with -e: until it
# exists, empty or not); 5 s at most.
wait_file() {
	eventually [ "${2:--s}" "$1" ] || { echo "timed out waiting for $1" >&2; return 1; }
}

# wait_line FILE TEXT: until a line of FILE holds TEXT (5 s at most).
wait_line() {
	eventually grep -qsF -- "$2" "$1" || { echo "timed out waiting for '$2' in $1" >&2; return 1; }
}

# catches PID SIGNUM: PID has a handler for SIGNUM.
catches() {
	local mask
	mask=$(awk '$1 == "SigCgt:" { print $2 }' /proc/"$1"/status 2>/dev/null) &&
		[ -n "$mask" ] && (((16#$mask >> ($2 - 1)) & 1))
}

# wait_caught PID SIGNUM: until PID has a handler for SIGNUM (5 s at most):
# the commands set theirs just before their main loop, so past start-up.
wait_caught() {
	eventually catches "$1" "$2" ||
		{ echo "timed out waiting for $1 to catch signal $2" >&2; return 1; }
}

# bg CMD...: start CMD in the background and remember its PID.
bg() {
	AS_EXEC=1 "$@" &
	PIDS+=($!)
}

# udp_exchange CGROUP_A UID_A CGROUP_B UID_B ADDR N SIZE [GAP_US]: UID_B
# receives, UID_A sends N datagrams of SIZE bytes; fails unless all arrive.
udp_exchange() {
	local cga=$1 a=$2 cgb=$3 b=$4 addr=$5 n=$6 size=$7 gap=${8:-0}
	local pf out
	# A name not yet used (a used one would hand over an old port); only
	# the name: the receiver, another UID, makes the file.
	pf=$(mktemp -u "$BIN/port.XXXXXX") out=$BIN/recv.${pf##*.}
	bg as "$cgb" "$b" "$BIN/tmtraffic" udp-recv "$addr" "$pf" "$n" >"$out"
	local rpid=${PIDS[-1]}
	wait_file "$pf"
	as "$cga" "$a" "$BIN/tmtraffic" udp-send "$addr" "$(cat "$pf")" "$n" "$size" "$gap" >/dev/null
	wait "$rpid"
	[ "$(cat "$out")" = "$n" ]
}

# veth_udp UID_A UID_B ADDR N SIZE [CGROUP_A]: UID_B receives in $NSB, UID_A
# sends N datagrams of SIZE bytes from $NSA (see veth_pair), in CGROUP_A
# (default $CG); fails unless all arrive.
veth_udp() {
	local pf out
	pf=$(mktemp -u "$BIN/port.XXXXXX") out=$BIN/recv.${pf##*.}
	IN_NETNS=$NSB bg as "$CG" "$2" "$BIN/tmtraffic" udp-recv "$3" "$pf" "$4" >"$out"
	local rpid=${PIDS[-1]}
	wait_file "$pf"
	IN_NETNS=$NSA as "${6:-$CG}" "$1" "$BIN/tmtraffic" udp-send "$3" "$(cat "$pf")" "$4" "$5" \
		>/dev/null
	wait "$rpid"
	[ "$(cat "$out")" = "$4" ]
}

# stat_field USER FIELD: one field of USER's row from tm-stat --json.
stat_field() {
	tm-stat --json --user "$1" | jq -r ".[0].$2"
}

# unknown_field FIELD: a field of the unknown owner's row (0 if none).
unknown_field() {
	tm-stat --json | jq -r "(map(select(.uid == null)) | .[0].$1) // 0"
}

# layout_version: the pin layout this tm writes (bpf/tm_abi.h).
layout_version() {
	awk '$2 == "TM_LAYOUT_VERSION" { print $3 }' "$TOP/bpf/tm_abi.h"
}

# link_count CGROUP: how many programs are attached to CGROUP.
link_count() {
	bpftool cgroup show "$1" 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l
}

# untracked_field FIELD: a field of tm-stat's untracked row (0 if none).
untracked_field() {
	tm-stat --json | jq -r "(map(select(.user == \"untracked\")) | .[0].$1) // 0"
}

# veth_pair: namespaces $NSA (192.0.2.1, 2001:db8::1) and $NSB (192.0.2.2,
# 2001:db8::2) joined by veth $VA -- $VB. Documentation addresses, and only
# inside the test's own namespaces.
veth_pair() {
	new_netns a; NSA=$REPLY
	new_netns b; NSB=$REPLY
	VA=${ID}va VB=${ID}vb
	ip link add "$VA" type veth peer name "$VB"
	ip link set "$VA" netns "$NSA"
	ip link set "$VB" netns "$NSB"
	ip -n "$NSA" addr add 192.0.2.1/24 dev "$VA"
	ip -n "$NSB" addr add 192.0.2.2/24 dev "$VB"
	ip -n "$NSA" addr add 2001:db8::1/64 dev "$VA" nodad
	ip -n "$NSB" addr add 2001:db8::2/64 dev "$VB" nodad
	ip -n "$NSA" link set "$VA" up
	ip -n "$NSB" link set "$VB" up
}

# reader_pid: the tm-stream registered in the control map (0: none).
reader_pid() {
	bpftool map dump pinned "$TM_PIN_ROOT/control" | jq '.[0].value.".data"[0].control.reader_pid'
}

# start_stream ARGS...: tm-stream in the background, stdout to $BIN/stream.out
# and stderr to $BIN/stream.err; returns once it reads events. STREAM: its PID.
start_stream() {
	bg tm-stream "$@" >"$BIN/stream.out" 2>"$BIN/stream.err"
	STREAM=${PIDS[-1]}
	eventually is_reader "$STREAM" ||
		{ echo "tm-stream did not start: $(cat "$BIN/stream.err")" >&2; return 1; }
}

# is_reader PID: PID is the registered tm-stream reader.
is_reader() {
	[ "$(reader_pid)" = "$1" ]
}

# wait_until_reader PID: until PID is the registered tm-stream reader.
wait_until_reader() {
	eventually is_reader "$1" || { echo "$1 did not become the reader" >&2; return 1; }
}

# udp_send CGROUP UID ADDR PORT N SIZE: as udp-send; SENDER and SPORT are the
# sender's PID and the local port it sent from.
udp_send() {
	bg as "$1" "$2" "$BIN/tmtraffic" udp-send "$3" "$4" "$5" "$6" >"$BIN/sport"
	SENDER=${PIDS[-1]}
	wait "$SENDER"
	SPORT=$(cat "$BIN/sport")
}

# with_passwd FILE CMD...: CMD with FILE as /etc/passwd, in a mount
# namespace of its own (the host's users are left alone).
with_passwd() {
	local f=$1
	shift
	unshare -m sh -c 'mount --bind "$0" /etc/passwd && exec "$@"' "$f" "$@"
}

# drain_bg CGROUP UID: a receiver of UID in CGROUP on 127.0.0.1 that reads
# until ended; its port in REPLY.
drain_bg() {
	local pf
	pf=$(mktemp -u "$BIN/drain.XXXXXX")
	bg as "$1" "$2" "$BIN/tmtraffic" udp-drain 127.0.0.1 "$pf"
	wait_file "$pf"
	REPLY=$(cat "$pf")
}

# script_start CGROUP UID: one socket of UID in CGROUP, kept open, fed
# lines by script_send (its slot keeps what it learnt from one packet to
# the next). The test holds the only writer of its input, on fd 8 (bats
# has 3).
script_start() {
	mkfifo "$BIN/cmd"
	exec 8<>"$BIN/cmd"
	# Not through bg: a background command's stdin is /dev/null unless
	# redirected on that very command.
	AS_EXEC=1 as "$1" "$2" "$BIN/tmtraffic" udp-script 127.0.0.1 <"$BIN/cmd" \
		>"$BIN/script.out" 8>&- &
	SCRIPT=$!
	PIDS+=("$SCRIPT")
	SENT=0
}

# script_sent: the socket has sent every batch asked of it.
script_sent() {
	[ "$(wc -l <"$BIN/script.out")" -ge "$SENT" ]
}

# script_send PORT N SIZE: sends and waits until the socket has sent them.
script_send() {
	echo "$1 $2 $3" >&8
	SENT=$((SENT + 1))
	eventually script_sent && return 0
	echo "udp-script sent $(wc -l <"$BIN/script.out") of $SENT batches" >&2
	return 1
}

script_end() {
	exec 8>&-
	wait "$SCRIPT"
}

# same_labels: the samples of the Prometheus text in $output that share a
# name and labels (node_exporter would drop all but one).
same_labels() {
	grep -v '^#' <<<"$output" | sed 's/ [^ ]*$//' | sort | uniq -d
}

# killed_at SYSCALL N CMD...: CMD, killed (SIGKILL) as it makes its Nth SYSCALL.
killed_at() {
	# strace dies of the signal it injected: in a subshell, so that no
	# shell reports it.
	(strace -f -qq -o /dev/null -e trace="$1" -e inject="$1:signal=KILL:when=$2" \
		"${@:3}" >/dev/null 2>&1) 2>/dev/null || true
}
