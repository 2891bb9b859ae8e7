#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# tm-report over a history: tm-record's own, and rows written here by hand
# where periods, time zones and percentiles need known figures; the HTML
# page read back by headless Chromium (in a network namespace of its own:
# it reaches nothing).

load lib

setup() {
	tm_setup
	command -v sqlite3 >/dev/null || skip "needs sqlite3 (scripts/install-deps)"
	DB=$BIN/history.db
	cp "$BUILD/tm-report" "$BIN/"
}

teardown() { tm_teardown; }

A=42681
B=42682

# row TIER DATE KIND UID KEY IN OUT: a row of the history (a packet each way),
# DATE in UTC.
row() {
	sqlite3 "$DB" "INSERT INTO traffic VALUES('$1', $(date -u -d "$2" +%s), '$3', $4, '$5', $6, $7, 1, 1)"
}

# history: the schema (tm-record's, from a load with no traffic), then rows.
history() {
	tm-load --cgroup "$CG"
	tm-record --db "$DB" --once
	row day 2026-11-01 user $A "" 1000 10
	row day 2026-11-02 user $A "" 2000 20
	row day 2026-12-01 user $A "" 4000 40
	row month 2026-11-01 user $A "" 3000 30
	row month 2026-12-01 user $A "" 4000 40
	row day 2026-11-02 user $B "" 500 5000
	row month 2026-11-01 user $B "" 500 5000
	row day 2026-11-01 net $A 10.0.0.0/24 1000 10
	row day 2026-11-02 net $A 10.0.0.0/24 1500 15
	row day 2026-11-02 net $A 192.0.2.0/24 500 5
	row day 2026-12-01 net $A 198.51.100.0/24 4000 40
	row day 2026-11-02 proc $A '<script>alert(1)</script>' 2000 20
	row day 2026-11-02 cgroup $A 'a"b&c' 2000 20
}

@test "tm-report: each user's exact totals by day and by month, largest first, in JSON, CSV and the table" {
	history
	export TZ=UTC
	run tm-report --db "$DB" --format json
	[ "$status" = 0 ]
	[ "$(jq -c '[.users[] | [.uid, .in_bytes, .out_bytes, .in_packets]]' <<<"$output")" = "[[$A,7000,70,3],[$B,500,5000,1]]" ]
	[ "$(jq -c '.users[0].periods | map([.start, .in_bytes, .out_bytes])' <<<"$output")" = \
		'[["2026-11-01T00:00:00+0000",1000,10],["2026-11-02T00:00:00+0000",2000,20],["2026-12-01T00:00:00+0000",4000,40]]' ]
	[ "$(jq -c '.users[0].networks | map([.key, .in_bytes])' <<<"$output")" = \
		'[["198.51.100.0/24",4000],["10.0.0.0/24",2500],["192.0.2.0/24",500]]' ]
	run tm-report --db "$DB" --period month --format json
	[ "$(jq -c '.users[0].periods | map([.start, .in_bytes])' <<<"$output")" = \
		'[["2026-11-01T00:00:00+0000",3000],["2026-12-01T00:00:00+0000",4000]]' ]
	run tm-report --db "$DB" --period month --format csv --top 1 --user $B
	[ "$output" = "section,user,uid,start,key,in_bytes,out_bytes,in_packets,out_packets
total,$B,$B,,,500,5000,1,1
period,$B,$B,2026-11-01T00:00:00+0000,,500,5000,1,1" ]
	run tm-report --db "$DB" --bytes --top 1
	[ "$status" = 0 ]
	[ "${lines[0]}" = "tm-report  by day, from the first to the last" ]
	[ "${lines[1]}" = "$A (uid $A)  in 7000  out 70" ]
	[ "${lines[2]}" = "  2026-11-01        in 1000  out 10" ]
	[ "${lines[5]}" = "  top remote networks:" ]
	[ "${lines[6]}" = "    198.51.100.0/24  in 4000  out 40" ]
}

@test "tm-report: --since and --until take the periods that start between them, in local time" {
	history
	export TZ=UTC
	run tm-report --db "$DB" --since 2026-11-02 --until 2026-12 --format json
	[ "$(jq -c '[.users[] | [.uid, .in_bytes, .out_bytes]]' <<<"$output")" = "[[$B,500,5000],[$A,2000,20]]" ]
	run tm-report --db "$DB" --since 2026-12-01 --format json
	[ "$(jq -c '[.users[] | [.uid, .in_bytes]]' <<<"$output")" = "[[$A,4000]]" ]
	run tm-report --db "$DB" --since @$(date -u -d 2026-11-02 +%s) --until @$(date -u -d 2026-11-03 +%s) --format json
	[ "$(jq -c '[.users[] | .uid]' <<<"$output")" = "[$B,$A]" ]
	# Kolkata is 5:30 ahead: the same rows start at 05:30 there, and
	# 2026-11-02 local midnight is before the UTC one.
	TZ=Asia/Kolkata run tm-report --db "$DB" --format csv --user $A
	[[ "$output" == *"period,$A,$A,2026-11-01T05:30:00+0530,,1000,10,1,1"* ]]
	TZ=Asia/Kolkata run tm-report --db "$DB" --since 2026-11-02 --until 2026-11-03 --format json
	[ "$(jq -c '[.users[] | [.uid, .in_bytes]]' <<<"$output")" = "[[$B,500],[$A,2000]]" ]
}

@test "tm-report: --since and --until as journalctl takes them: 1h, 2d ago, today, yesterday, ISO 8601" {
	history
	export TZ=UTC
	local now h today yesterday
	now=$(date +%s)
	h=$((now - now % 3600))
	today=$(date -u -d today +%F) yesterday=$(date -u -d yesterday +%F)
	# Hours of A: one started two hours ago, one this hour; days: yesterday's and today's.
	sqlite3 "$DB" "INSERT INTO traffic VALUES('hour', $((h - 7200)), 'user', $A, '', 100, 1, 1, 1);
		INSERT INTO traffic VALUES('hour', $h, 'user', $A, '', 200, 2, 1, 1);"
	row day "$yesterday" user $A "" 30 3
	row day "$today" user $A "" 60 6
	t() { tm-report --db "$DB" --user $A --format json "$@" | jq -c '[.users[] | .in_bytes]'; }
	[ "$(t --period hour --since 1h)" = "[200]" ]
	[ "$(t --period hour --since '3h ago')" = "[300]" ]
	[ "$(t --period hour --since -3h --until 1h)" = "[100]" ]
	[ "$(t --period hour --since +1h)" = "[]" ]
	[ "$(t --since today)" = "[60]" ]
	[ "$(t --since yesterday --until today)" = "[30]" ]
	[ "$(t --since 2d)" = "[90]" ]
	[ "$(t --since "${yesterday}T00:00" --until "${today}T00:00:00")" = "[30]" ]
	local bad
	for bad in 1y "1 h" "1h ago ago" Yesterday "${today}T"; do
		run tm-report --db "$DB" --since "$bad"
		[ "$status" = 2 ] || { echo "$bad: $status" >&2; false; }
		[[ "$output" == *"a time as 1h, 30m, 7d"* ]]
	done
}

# rising_rates UID T0 N: N five-minute rows of UID from T0 on, received at
# 1, 2, ... N bytes a second.
rising_rates() {
	local i
	for ((i = 0; i < $3; i++)); do
		echo "INSERT INTO traffic VALUES('5min', $(($2 + i * 300)), 'user', $1, '', $(((i + 1) * 300)), 0, 1, 0);"
	done | sqlite3 "$DB"
}

@test "tm-report: the 95th percentile of five-minute rates counts intervals without traffic as zero" {
	history
	local t0
	t0=$(date -u -d 2026-12-01 +%s)
	# A: 20 intervals at 1..20 bytes a second; B's row 39 intervals on
	# makes the span 40 intervals, 20 of them A's zeros: rank 38 of 40.
	rising_rates $A "$t0" 20
	sqlite3 "$DB" "INSERT INTO traffic VALUES('5min', $((t0 + 39 * 300)), 'user', $B, '', 0, 600, 0, 1)"
	run tm-report --db "$DB" --format json
	[ "$(jq -c '.users[] | select(.uid == '$A') | [.p95_in_rate, .p95_out_rate]' <<<"$output")" = "[18,0]" ]
	[ "$(jq -c '.users[] | select(.uid == '$B') | [.p95_in_rate, .p95_out_rate]' <<<"$output")" = "[0,0]" ]
	# Over A's 20 intervals only: rank 19.
	run tm-report --db "$DB" --format json --until @$((t0 + 20 * 300))
	[ "$(jq -c '.users[] | select(.uid == '$A') | .p95_in_rate' <<<"$output")" = 19 ]
}

@test "tm-report: the 95th percentile over a span of any width, as a history anyone wrote may hold, is exact and costs what its rows cost" {
	history
	local t0
	t0=$(date -u -d 2026-12-01 +%s)
	# A: 40 intervals at 1..40 bytes a second; B's one row a thousand
	# years on: 105 million five-minute intervals, almost all empty.
	rising_rates $A "$t0" 40
	sqlite3 "$DB" "INSERT INTO traffic VALUES('5min', $((t0 + 36500 * 86400)), 'user', $B, '', 0, 600, 0, 1)"
	run tm-report --db "$DB" --format json
	[ "$status" = 0 ]
	[ "$(jq -c '[.users[] | select(.uid == '$A') | .p95_in_rate, .p95_out_rate]' <<<"$output")" = "[0,0]" ]
	# Ends of the int64 range: no overflow, a percentile all the same.
	sqlite3 "$DB" "INSERT INTO traffic VALUES('5min', -9223372036854775807, 'user', $B, '', 0, 600, 0, 1)"
	sqlite3 "$DB" "INSERT INTO traffic VALUES('5min', 9223372036854775806, 'user', $B, '', 0, 600, 0, 1)"
	run tm-report --db "$DB" --format json
	[ "$status" = 0 ]
	[ "$(jq -c '[.users[] | select(.uid == '$B') | .p95_in_rate, .p95_out_rate]' <<<"$output")" = "[0,0]" ]
	# Over A's 40 intervals alone: rank 38, 38 bytes a second.
	run tm-report --db "$DB" --format json --since @$t0 --until @$((t0 + 40 * 300))
	[ "$(jq -c '.users[] | select(.uid == '$A') | .p95_in_rate' <<<"$output")" = 38 ]
}

@test "tm-report over tm-record's own history: the bytes made, exactly" {
	tm-load --cgroup "$CG"
	udp_exchange "$CG" $A "$CG" $B 127.0.0.1 4 100
	udp_exchange "$CG" $B "$CG" $A ::1 2 1000
	tm-record --db "$DB" --once
	for by in hour day month year; do
		run tm-report --db "$DB" --period $by --format json
		[ "$status" = 0 ]
		[ "$(jq -c '[.users[] | [.uid, .in_bytes, .out_bytes, .in_packets, .out_packets]] | sort' <<<"$output")" = \
			"[[$A,2096,512,2,4],[$B,512,2096,4,2]]" ]
	done
	[ "$(jq -c '.users[] | select(.uid == '$A') | .processes | map(.key)' <<<"$output")" = '["tmtraffic"]' ]
	[ "$(jq -c '.users[] | select(.uid == '$A') | .cgroups | map(.key)' <<<"$output")" = "[\"/$ID\"]" ]
}

@test "tm-report --format html: one page, a chart and the exact totals for each user, hostile names inert, as Chromium shows it" {
	command -v chromium >/dev/null || skip "needs chromium (scripts/install-deps)"
	history
	TZ=UTC tm-report --db "$DB" --format html >"$BIN/report.html"
	# Self-contained: nothing to fetch, no script.
	refute grep -Eiq '<script|src=|href="[^#]|@import|url\(' "$BIN/report.html"
	# Headless Chromium with no network at all: the page as it reads it.
	unshare -n chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$BIN/chromium" \
		--dump-dom "file://$BIN/report.html" >"$BIN/dom.html" 2>/dev/null
	unshare -n chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$BIN/chromium" \
		--window-size=900,1400 --screenshot="$BIN/report.png" "file://$BIN/report.html" >/dev/null 2>&1
	[ "$(grep -o '<svg[^>]*aria-label="[^"]*"' "$BIN/dom.html" | grep -o 'aria-label="[^:]*' | sort)" = \
		"aria-label=\"$A
aria-label=\"$B" ]
	grep -q "In <b>6.84 KiB</b> (7000 bytes), out <b>70 B</b> (70 bytes)" "$BIN/dom.html"
	grep -q "In <b>500 B</b> (500 bytes), out <b>4.88 KiB</b> (5000 bytes)" "$BIN/dom.html"
	# The process named like a script is text, not an element.
	grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$BIN/dom.html"
	refute grep -qi '<script' "$BIN/dom.html"
	grep -q 'a"b&amp;c' "$BIN/dom.html"
	# A picture of it: a PNG, and not an empty one.
	[ "$(head -c 8 "$BIN/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	[ "$(stat -c %s "$BIN/report.png")" -gt 20000 ]
}

@test "tm-report's page says the host and when it was made, ranks the users, and fits a long cgroup and big figures in the page, as Chromium lays it out" {
	command -v chromium >/dev/null || skip "needs chromium (scripts/install-deps)"
	history
	# A container's cgroup path of 300 characters, no space in it, and figures of 19 digits.
	local long
	long=/kubepods.slice/$(printf 'cri-containerd-%.0s0123456789abcdef' {1..9}).scope
	row day 2026-11-02 cgroup $B "$long" 1234567890123456789 1
	TZ=UTC tm-report --db "$DB" --format html --bytes >"$BIN/report.html"
	grep -q "<h1>Network traffic by user on $(hostname)</h1>" "$BIN/report.html"
	grep -qE "; made $(date +%Y-%m-%d) [0-9:]{8} [+-][0-9]{4}</p>" "$BIN/report.html"
	# The ranking: largest first (in + out), a link to each user's section, their share.
	[ "$(sed -n '/<table class="rank">/,/<\/table>/p' "$BIN/report.html" | grep -o 'href="#uid-[0-9]*"' | tr '\n' ' ')" = \
		"href=\"#uid-$A\" href=\"#uid-$B\" " ]
	# A: 7070 of 12570 bytes.
	grep -q '<td class="n">1</td><td class="k"><a href="#uid-'"$A"'">'"$A"'</a></td><td class="n">7000</td><td class="n">70</td><td class="n">56.2%</td>' "$BIN/report.html"
	# Laid out at 900 pixels: no part of the page wider than the window, no
	# figure on two lines. (A copy with a script that measures it, for this
	# test only: the page has none.)
	sed 's|</body>|<script>const w = document.documentElement.scrollWidth, n = [...document.querySelectorAll("td.n")].filter(c => { const r = document.createRange(); r.selectNodeContents(c); return r.getClientRects().length > 1; }).length; document.body.insertAdjacentHTML("beforeend", "<pre id=check>width " + (w <= innerWidth ? "fits" : w + " > " + innerWidth) + " wrapped " + n + " of " + document.querySelectorAll("td.n").length + "</pre>");</script></body>|' \
		"$BIN/report.html" >"$BIN/measure.html"
	unshare -n chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$BIN/chromium" \
		--window-size=900,1400 --dump-dom "file://$BIN/measure.html" >"$BIN/dom.html" 2>/dev/null
	local check
	check=$(grep -o '<pre id="check">[^<]*' "$BIN/dom.html")
	[[ "$check" =~ width\ fits\ wrapped\ 0\ of\ ([0-9]+)$ ]] || { echo "$check" >&2; false; }
	[ "${BASH_REMATCH[1]}" -ge 20 ]
	grep -q "1234567890123456789" "$BIN/dom.html"
}

@test "tm-report refuses bad options and a file that is not a history" {
	history
	local bad
	for bad in "--by week" "--format xml" "--since 2026-13-01" "--since 2026-02-30" "--until x" \
		"--since 2026-12-01 --until 2026-11-01" "--top -1" "--user nosuchuser_tm" "extra"; do
		run tm-report --db "$DB" $bad
		[ "$status" = 2 ] || { echo "$bad: $status $output" >&2; false; }
	done
	echo junk >"$BIN/junk.db"
	run tm-report --db "$BIN/junk.db"
	[ "$status" = 1 ]
	run tm-report --db "$BIN/none.db"
	[ "$status" = 1 ]
	[ ! -e "$BIN/none.db" ]
}
