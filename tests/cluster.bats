#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Prometheus end to end, with Debian's prometheus and node_exporter: three
# "nodes" on this host (three loads, each on its own cgroup with its own pin
# root, each writing its own textfile directory read by its own
# node_exporter on its own loopback port), one Prometheus scraping the three
# with the shipped recording rules; two UIDs make traffic of known size on
# each node, and PromQL through the HTTP API sums it across the nodes.

load lib

A=42641
B=42642

setup() {
	tm_setup
	command -v promtool >/dev/null && command -v prometheus-node-exporter >/dev/null ||
		skip "needs Debian's prometheus and prometheus-node-exporter (scripts/install-deps)"
	NODE_ROOTS=()
}

teardown() {
	local r
	# The writers first, so that they do not see their meters go.
	for r in "${PIDS[@]}"; do
		kill "$r" 2>/dev/null
		wait "$r" 2>/dev/null
	done
	PIDS=()
	for r in "${NODE_ROOTS[@]}"; do
		TM_PIN_ROOT=$r tm-unload >/dev/null 2>&1
		EXTRA_PINS+=("$r")
	done
	tm_teardown
}

# promql EXPR: the result of an instant query, as "labels value" lines
# (labels as JSON, sorted), from Prometheus's HTTP API.
promql() {
	python3 - "http://127.0.0.1:$PROM_PORT/api/v1/query" "$1" <<-'PY'
		import json, sys, urllib.parse, urllib.request
		url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
		with urllib.request.urlopen(url, timeout=5) as r:
		    d = json.load(r)
		assert d["status"] == "success", d
		for s in sorted(d["data"]["result"], key=lambda s: json.dumps(s["metric"], sort_keys=True)):
		    print(json.dumps(s["metric"], sort_keys=True), s["value"][1])
	PY
}

# rules_ok N: Prometheus has N rules, each evaluated with no error.
rules_ok() {
	python3 - "http://127.0.0.1:$PROM_PORT/api/v1/rules" "$1" <<-'PY'
		import json, sys, urllib.request
		with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
		    d = json.load(r)
		rules = [r for g in d["data"]["groups"] for r in g["rules"]]
		bad = [(r["name"], r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"]
		if len(rules) != int(sys.argv[2]) or bad:
		    sys.exit("%d rules; not ok: %s" % (len(rules), bad))
	PY
}

# wait_promql EXPR WANT: until the query gives WANT (30 s at most).
wait_promql() {
	local i got
	for ((i = 0; i < 150; i++)); do
		got=$(promql "$1" 2>/dev/null) && [ "$got" = "$2" ] && return 0
		sleep 0.2
	done
	echo "query: $1" >&2
	echo "want: $2" >&2
	echo "got:  $got" >&2
	return 1
}

@test "three nodes, one Prometheus: exact per-user bytes summed across the nodes, no textfile error, the rules evaluate" {
	free_ports 4
	PROM_PORT=${PORTS[3]}
	local n targets=
	for n in 1 2 3; do
		new_cgroup "n$n"
		local cg=$REPLY root=/sys/fs/bpf/${ID}n$n
		NODE_ROOTS+=("$root")
		TM_PIN_ROOT=$root tm-load --cgroup "$cg"
		mkdir "$BIN/text$n"
		TM_PIN_ROOT=$root bg tm-stat --textfile "$BIN/text$n/tm.prom" --interval 0.2
		bg prometheus-node-exporter --web.listen-address="127.0.0.1:${PORTS[n - 1]}" \
			--collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$BIN/text$n" 2>>"$BIN/node_exporter.log"
		targets+="      - targets: ['127.0.0.1:${PORTS[n - 1]}']
        labels: {node: n$n}
"
	done
	cp "$TOP/dist/prometheus/tm.rules.yml" "$BIN/"
	cat >"$BIN/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		rule_files: [tm.rules.yml]
		scrape_configs:
		  - job_name: node
		    static_configs:
		$targets
	EOF
	bg prometheus --config.file="$BIN/prometheus.yml" --storage.tsdb.path="$BIN/tsdb" \
		--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$BIN/prometheus.log"
	wait_promql 'count(up == 1)' '{} 3'

	# On node n: A sends 2n datagrams of 100 bytes to B over IPv4 (128 bytes
	# each), B sends 3 of 200 to A over IPv6 (248 each).
	# Node 3's run in a cgroup named as systemd names units, with a
	# backslash escape in the name itself.
	new_cgroup 'n3/sys-x\x2dy.slice'; local unit=$REPLY
	for n in 1 2 3; do
		local cg=$CG2/${ID}n$n
		[ $n = 3 ] && cg=$unit
		udp_exchange "$cg" $A "$cg" $B 127.0.0.1 $((2 * n)) 100
		udp_exchange "$cg" $B "$cg" $A ::1 3 200
	done
	local a_out=$(((2 + 4 + 6) * 128)) b_out=$((3 * 3 * 248))
	# What tm itself says, node by node, adds up to the same.
	local sum=0
	for n in 1 2 3; do
		sum=$((sum + $(TM_PIN_ROOT=/sys/fs/bpf/${ID}n$n tm-stat --json --user $A | jq '.[0].out_bytes')))
	done
	[ "$sum" = $a_out ]

	wait_promql 'sum by (user) (tm_transmit_bytes_total)' \
		"{\"user\": \"$A\"} $a_out
{\"user\": \"$B\"} $b_out"
	promql 'sum by (user) (tm_receive_bytes_total)' >"$BIN/recv"
	[ "$(cat "$BIN/recv")" = "{\"user\": \"$A\"} $b_out
{\"user\": \"$B\"} $a_out" ]
	# Per node, and per family.
	[ "$(promql "sum by (node) (tm_transmit_bytes_total{user=\"$A\",family=\"ipv4\"})")" = \
		"{\"node\": \"n1\"} 256
{\"node\": \"n2\"} 512
{\"node\": \"n3\"} 768" ]
	[ "$(promql "sum(tm_cgroup_receive_packets_total{user=\"$A\"})")" = "{} 9" ]
	# Prometheus reads back the cgroup's real name: one backslash, not two.
	[ "$(promql "sum by (cgroup) (tm_cgroup_transmit_bytes_total{node=\"n3\",user=\"$A\"})" |
		python3 -c 'import json, sys; print(json.loads(sys.stdin.read().rsplit(" ", 1)[0])["cgroup"])')" = \
		"/${ID}n3/sys-x\\x2dy.slice" ]
	# node_exporter read every file without an error.
	[ "$(promql 'max by (node) (node_textfile_scrape_error)')" = \
		'{"node": "n1"} 0
{"node": "n2"} 0
{"node": "n3"} 0' ]
	# The recording rules run on the real series (rates need a few scrapes).
	wait_promql "count(instance_user:tm_transmit_bytes:rate5m{user=\"$A\"})" '{} 3'
	[ -n "$(promql "user:tm_transmit_bytes:rate5m{user=\"$A\"}")" ]

	# A Slurm job on n1, and traffic within an untracked network on n2, for
	# the dashboard's panels of jobs and of untracked networks.
	new_cgroup n1/system.slice; new_cgroup n1/system.slice/slurmstepd.scope
	new_cgroup n1/system.slice/slurmstepd.scope/job_77; local job=$REPLY
	udp_exchange "$job" $A "$CG2/${ID}n1" $B 127.0.0.1 2 100
	TM_PIN_ROOT=/sys/fs/bpf/${ID}n2 tm-mask add 127.0.0.0/8
	udp_exchange "$CG2/${ID}n2" $A "$CG2/${ID}n2" $B 127.0.0.1 1 100
	wait_promql "sum(tm_job_transmit_bytes_total{jobid=\"77\"})" '{} 256'
	wait_promql 'count(tm_receive_bytes_total{user="untracked"}) > 0' '{} 1'
	# A pod's container on n1, and kube-state-metrics' series of it beside
	# tm's: the recording rules name its namespace and pod.
	local pod=n1/kubepods.slice/kubepods-pod0e5a1f9c_3b2d_4c8e_9f1a_2b3c4d5e6f70.slice cid
	cid=$(printf 'a%.0s' {1..64})
	new_cgroup n1/kubepods.slice; new_cgroup $pod; new_cgroup $pod/cri-containerd-$cid.scope
	udp_exchange "$REPLY" $A "$CG2/${ID}n1" $B 127.0.0.1 3 100
	printf 'kube_pod_container_info{namespace="ml",pod="train-0",uid="0e5a1f9c-3b2d-4c8e-9f1a-2b3c4d5e6f70",container="worker",container_id="containerd://%s"} 1\n' \
		"$cid" >"$BIN/text1/ksm.prom"
	wait_promql 'sum by (namespace, pod) (tm_container_transmit_bytes_total * on (container_id) group_left (namespace, pod) label_replace(kube_pod_container_info, "container_id", "$1", "container_id", ".*://(.+)"))' \
		'{"namespace": "ml", "pod": "train-0"} 384'
	wait_promql 'count by (namespace, pod) (namespace_pod:tm_container_transmit_bytes:rate5m)' \
		'{"namespace": "ml", "pod": "train-0"} 1'
	# Every recording and alert rule evaluates on the real series, no error.
	eventually rules_ok 17
	# Every panel of the dashboard gives series (its variables as Grafana
	# would fill them: every node, a minute's rate, the last ten minutes).
	local expr n=0
	while IFS= read -r expr; do
		expr=${expr//'$__rate_interval'/1m}
		expr=${expr//'$__range'/10m}
		expr=${expr//'$instance'/.*}
		expr=${expr//'$jobid'/.+}
		[ -n "$(promql "$expr")" ] || { echo "no series: $expr" >&2; false; }
		n=$((n + 1))
	done < <(jq -r '.. | objects | select(has("expr")) | .expr' "$TOP/dist/grafana/tm.json")
	[ "$n" = 15 ]
	# The job's row in the top jobs.
	expr=$(jq -r '.panels[] | select(.title == "Top jobs in the range") | .targets[0].expr' "$TOP/dist/grafana/tm.json")
	expr=${expr//'$__range'/10m}
	[[ $(promql "${expr//'$instance'/.*}") == *'"jobid": "77"'* ]]
	# And its traffic by interface and protocol, the job chosen as Grafana
	# would fill the variable.
	expr=$(jq -r '.panels[] | select(.title == "A job'"'"'s traffic by interface and protocol") |
		.targets[0].expr' "$TOP/dist/grafana/tm.json")
	expr=${expr//'$__rate_interval'/1m}
	expr=${expr//'$instance'/.*}
	[[ $(promql "${expr//'$jobid'/77}") == '{"device": "lo", "jobid": "77", "kind": "slurm", "proto": "udp"} '* ]]
	refute grep -i "level=error" "$BIN/prometheus.log"
}

@test "the shipped dashboard: panels that do not overlap, in the rows they are under, and queries of its own variables only" {
	local d=$TOP/dist/grafana/tm.json
	# Two panels' rectangles meet nowhere.
	run jq -r '[.panels[] | .gridPos] as $p | [range(0; $p | length) as $i | range($i + 1; $p | length) as $j |
		select($p[$i].x < $p[$j].x + $p[$j].w and $p[$j].x < $p[$i].x + $p[$i].w and
		       $p[$i].y < $p[$j].y + $p[$j].h and $p[$j].y < $p[$i].y + $p[$i].h) |
		"\($i) \($j)"] | .[]' "$d"
	[ "$status" = 0 ] && [ -z "$output" ] || { echo "overlap: $output" >&2; false; }
	# Every panel is below the row it belongs to, in the order shown.
	run jq -r '.panels | map(.gridPos.y) | . == sort' "$d"
	[ "$output" = true ]
	# A query names no variable but Grafana's own and the dashboard's.
	run jq -r '[.templating.list[].name] as $v | .. | objects | select(has("expr")) | .expr |
		[scan("\\$[a-z_]+")] | .[] | select(. as $x | ($v | map("$" + .)) + ["$__rate_interval", "$__range"] | index($x) | not)' "$d"
	[ "$status" = 0 ] && [ -z "$output" ] || { echo "unknown variables: $output" >&2; false; }
}

@test "the shipped recording rules pass promtool check rules and promtool test rules" {
	cp "$TOP/dist/prometheus/tm.rules.yml" "$TOP/dist/prometheus/tm.rules.test.yml" "$BIN/"
	cd "$BIN"
	promtool check rules tm.rules.yml
	promtool test rules tm.rules.test.yml
}

@test "doc/prometheus.md's join of tm_container_* with kube-state-metrics names each container's namespace, pod and container (promtool)" {
	local expr c1 c2 pod=0e5a1f9c-3b2d-4c8e-9f1a-2b3c4d5e6f70
	c1=$(printf '1%.0s' {1..64}) c2=$(printf '2%.0s' {1..64})
	# The doc's query as it is, indented for a YAML block.
	expr=$(awk '/^    sum by \(namespace, pod, container\)/ { f = 1 } f && /^$/ { exit }
		f { sub(/^    /, "          "); print }' "$TOP/doc/prometheus.md")
	[ -n "$expr" ]
	cat >"$BIN/join.test.yml" <<-YML
		rule_files: []
		evaluation_interval: 1m
		tests:
		  - interval: 1m
		    input_series:
		      # alice 10 B/s and bob 1 B/s from one container, alice 2 B/s from another
		      - series: 'tm_container_transmit_bytes_total{instance="n1",user="alice",uid="1000",jobid="$pod",container_id="$c1"}'
		        values: '0+600x10'
		      - series: 'tm_container_transmit_bytes_total{instance="n1",user="bob",uid="1001",jobid="$pod",container_id="$c1"}'
		        values: '0+60x10'
		      - series: 'tm_container_transmit_bytes_total{instance="n1",user="alice",uid="1000",jobid="$pod",container_id="$c2"}'
		        values: '0+120x10'
		      - series: 'kube_pod_container_info{namespace="ml",pod="train-0",uid="$pod",container="worker",container_id="containerd://$c1"}'
		        values: '1x10'
		      - series: 'kube_pod_container_info{namespace="ml",pod="train-0",uid="$pod",container="sidecar",container_id="containerd://$c2"}'
		        values: '1x10'
		    promql_expr_test:
		      - expr: |
		$expr
		        eval_time: 10m
		        exp_samples:
		          - labels: '{namespace="ml",pod="train-0",container="worker"}'
		            value: 11
		          - labels: '{namespace="ml",pod="train-0",container="sidecar"}'
		            value: 2
	YML
	promtool test rules "$BIN/join.test.yml"
}
