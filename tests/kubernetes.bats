#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# dist/kubernetes/tm.yaml, the DaemonSet. There is no cluster here: its
# containers run as a kubelet runs them on a node, each in a mount namespace
# of its own with its volumes mounted at their paths (the host paths the
# test's own: its bpffs directory, its cgroup, its files), its read-only
# mounts and root read-only, no new privileges and only its capabilities.

load lib

A=42711
B=42712

setup() {
	tm_setup
	MANIFEST=$TOP/dist/kubernetes/tm.yaml
	yq -c . "$MANIFEST" >"$BIN/objects.json"
	# The host paths, as the test's own. A hostPath not here fails the test.
	BPFFS=/sys/fs/bpf/${ID}k
	mkdir "$BPFFS"
	EXTRA_PINS+=("$BPFFS")
	export TM_PIN_ROOT=$BPFFS/tm
	mkdir -m 755 "$BIN/text" "$BIN/lib"
	declare -gA HOST=([/sys/fs/bpf]=$BPFFS [/sys/fs/cgroup]=$CG
		[/var/lib/prometheus/node-exporter]=$BIN/text [/var/lib/tm]=$BIN/lib
		[/etc/passwd]=/etc/passwd [/etc/group]=/etc/group)
}

teardown() { tm_teardown; }

# object KIND: the manifest's object of KIND, as JSON.
object() {
	jq -c --arg k "$1" 'select(.kind == $k)' "$BIN/objects.json"
}

# container NAME: the DaemonSet's (init) container NAME, as JSON.
container() {
	object DaemonSet | jq -c --arg n "$1" '.spec.template.spec |
		(.initContainers + .containers)[] | select(.name == $n)'
}

# mounts_of NAME: "SOURCE MOUNTPATH ro|rw" a line, for each of the
# container's volume mounts: a hostPath as the test's own path, a ConfigMap
# as a directory of its files.
mounts_of() {
	local c vols name path ro kind src
	c=$(container "$1")
	vols=$(object DaemonSet | jq -c '.spec.template.spec.volumes')
	while IFS=$'\t' read -r name path ro; do
		kind=$(jq -r --arg n "$name" '.[] | select(.name == $n) |
			if .hostPath then "host " + .hostPath.path
			elif .configMap then "config " + .configMap.name else "?" end' <<<"$vols")
		case $kind in
		host\ *)
			src=${HOST[${kind#host }]:-}
			[ -n "$src" ] || { echo "hostPath ${kind#host } is not one the test knows" >&2; return 1; }
			;;
		config\ *)
			src=$BIN/cm-${kind#config }
			if [ ! -d "$src" ]; then
				mkdir "$src"
				local key
				object ConfigMap | jq -e --arg n "${kind#config }" 'select(.metadata.name == $n)' >/dev/null
				for key in $(object ConfigMap | jq -r '.data | keys[]'); do
					object ConfigMap | jq -j --arg k "$key" '.data[$k]' >"$src/$key"
				done
			fi
			;;
		*) echo "volume $name: neither hostPath nor configMap" >&2; return 1 ;;
		esac
		echo "$src $path $ro"
	done < <(jq -r '.volumeMounts[] | [.name, .mountPath, (if .readOnly then "ro" else "rw" end)] | @tsv' <<<"$c")
}

# kubelet NAME: the container's command, as a kubelet runs it (see the top);
# under bg it execs, so the PID bg records is the command's own.
# A mount path not on this host is made in an overlay of its parent, so the
# host's files are left alone.
kubelet() {
	local c caps nnp
	c=$(container "$1")
	mounts_of "$1" >"$BIN/mounts.$1" || return 1
	caps=$(jq -r '.securityContext.capabilities | (["-all"] + (.add | map("+" + ascii_downcase))) | join(",")' <<<"$c")
	[ "$(jq -r '.securityContext.capabilities.drop | join(",")' <<<"$c")" = ALL ]
	[ "$(jq -r '.securityContext.runAsUser' <<<"$c")" = 0 ]
	[ "$(jq -r '.securityContext.allowPrivilegeEscalation' <<<"$c")" = false ]
	[ "$(jq -r '.securityContext.readOnlyRootFilesystem' <<<"$c")" = true ]
	jq -j '.command[] | ., "\u0000"' <<<"$c" >"$BIN/command.$1"
	local cmd
	mapfile -d '' -t cmd <"$BIN/command.$1"
	local run=()
	[ -n "${AS_EXEC:-}" ] && run=(exec)
	"${run[@]}" env -u TM_PIN_ROOT unshare --mount --propagation private bash -c '
		set -e
		ovl=$1 mounts=$2 caps=$3
		shift 3
		declare -A over=()
		while read -r src path ro; do
			if [ ! -e "$path" ]; then
				up=${path%/*}
				until [ -e "$up" ]; do up=${up%/*}; done
				if [ -z "${over[$up]:-}" ]; then
					d=$ovl/$((${#over[@]}))
					mkdir -p "$d/up" "$d/work"
					mount -t overlay tm-test -o "lowerdir=$up,upperdir=$d/up,workdir=$d/work" "$up"
					over[$up]=1
				fi
				if [ -d "$src" ]; then mkdir -p "$path"; else : >"$path"; fi
			fi
			mount --bind "$src" "$path"
			[ "$ro" = rw ] || mount -o remount,bind,ro "$path"
		done <"$mounts"
		mount -o remount,bind,ro /
		exec setpriv --bounding-set "$caps" --inh-caps -all --no-new-privs "$@"
	' kubelet "$BIN/ovl.$1" "$BIN/mounts.$1" "$caps" "${cmd[@]}"
}

@test "dist/kubernetes/tm.yaml: a Namespace, a ConfigMap and a DaemonSet the API would take, of tm's commands and only its capabilities" {
	[ "$(jq -r '[.apiVersion, .kind] | join(" ")' "$BIN/objects.json")" = "v1 Namespace
v1 ConfigMap
apps/v1 DaemonSet" ]
	local ds
	ds=$(object DaemonSet)
	# The selector selects the pods it makes; all in the Namespace made.
	jq -e '.spec.selector.matchLabels | to_entries | all(.value == $t[.key])' \
		--argjson t "$(jq '.spec.template.metadata.labels' <<<"$ds")" <<<"$ds"
	[ "$(jq -r 'select(.kind != "Namespace") | .metadata.namespace' "$BIN/objects.json" | sort -u)" = \
		"$(object Namespace | jq -r .metadata.name)" ]
	# Every mount names a volume; every container has an image and a command.
	jq -e '.spec.template.spec | [.volumes[].name] as $v | (.initContainers + .containers) |
		all(.image and (.command | length > 0) and all(.volumeMounts[]; .name as $n | $v | index($n)))' <<<"$ds"
	# The pins on the host's bpffs, so the counts outlive the pod.
	jq -e '.spec.template.spec.volumes[] | select(.name == "bpffs") | .hostPath.path == "/sys/fs/bpf"' <<<"$ds"
	jq -e '.spec.template.spec.hostNetwork == true' <<<"$ds"
	# CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, no other, in each container.
	[ "$(jq -r '.spec.template.spec | (.initContainers + .containers)[] |
		.securityContext.capabilities | [(.drop | join(",")), (.add | sort | join(","))] | @tsv' <<<"$ds" | sort -u)" = \
		"ALL	BPF,NET_ADMIN,PERFMON" ]
	# The commands are tm's, and their options are ones tm takes.
	local c
	for c in load textfile record; do
		container $c | jq -e '.command | length > 0'
	done
	run container load
	[[ $(jq -r '.command[2]' <<<"$output") == *"tm-load --config /etc/tm/tm.conf"* ]]
	[ "$(container textfile | jq -r '.command[0]')" = tm-stat ]
	[ "$(container record | jq -r '.command[0]')" = tm-record ]
	# tm.conf as tm-load reads it, the masks as tm-mask's format.
	object ConfigMap | jq -j '.data.masks' >"$BIN/masks"
	object ConfigMap | jq -j '.data["tm.conf"]' |
		sed "s|^cgroup .*|cgroup $CG|; s|/etc/tm/masks|$BIN/masks|" >"$BIN/tm.conf"
	tm-load --config "$BIN/tm.conf"
	[ "$(tm-mask list | wc -l)" = "$(grep -c . "$BIN/masks")" ]
}

@test "the DaemonSet's containers, run as a kubelet runs them: the load, tm-stat's textfile and tm-record's history; the pod made again keeps every counter" {
	run kubelet load
	[ "$status" = 0 ] || { echo "$output" >&2; false; }
	[[ $output == *"loaded at /sys/fs/bpf/tm, counting /sys/fs/cgroup"* ]]
	# On the host: the test's cgroup metered, the ConfigMap's masks loaded.
	bpftool cgroup show "$CG" | grep -qw tm_egress
	[ "$(tm-mask list | grep -c .)" = 4 ]

	bg kubelet textfile 2>"$BIN/textfile.err"
	local text=${PIDS[-1]}
	bg kubelet record 2>"$BIN/record.err"
	local record=${PIDS[-1]}
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 3 100
	# tm-stat's textfile has A's 384 bytes.
	local prom=$BIN/text/tm.prom
	eventually grep -q "^tm_transmit_bytes_total{user=\"[^\"]*\",uid=\"$A\",family=\"ipv4\"} 384\$" "$prom" ||
		{ cat "$BIN/textfile.err" >&2; false; }
	promtool check metrics <"$prom"
	# The pod goes: its containers are stopped (SIGTERM) and tm-record keeps
	# what it sampled last; the programs stay, still counting.
	kill "$text" "$record"
	wait "$record"
	wait "$text" || true
	run tm-report --db "$BIN/lib/history.db" --json --user $A
	[ "$status" = 0 ] || { echo "$output" >&2; false; }
	[ "$(jq '.users[0].out_bytes' <<<"$output")" = 384 ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 1 100
	[ "$(stat_field $A out_bytes)" = 512 ]
	# The pod made again (an update of the DaemonSet): the programs swapped,
	# every counter kept.
	run kubelet load
	[ "$status" = 0 ] || { echo "$output" >&2; false; }
	[[ $output == *"replaced the programs at /sys/fs/bpf/tm, counters kept"* ]]
	[ "$(stat_field $A out_bytes)" = 512 ]
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 1 100
	[ "$(stat_field $A out_bytes)" = 640 ]
	# The host's files as they were: what the containers made is in the
	# test's overlays and volumes.
	[ ! -e /etc/tm/tm.conf ] || [ "$(cat /etc/tm/tm.conf)" != "$(cat "$BIN/cm-tm-config/tm.conf")" ]
}
