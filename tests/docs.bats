#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What each command says it takes, in --help, in its man page and in its
# bash completion, is the same list of options. No root, no pins needed.

load lib

CMDS=(tm-load tm-unload tm-stat tm-mask tm-stream tm-status tm-top tm-record tm-report tm-job)

# man_file CMD: CMD's man page (section 1 for users' commands, 8 for the admin's).
man_file() {
	local f
	for f in "$TOP/man/$1.1" "$TOP/man/$1.8"; do
		[ -e "$f" ] && { echo "$f"; return; }
	done
	echo "$1: no man page" >&2
	return 1
}

# help_opts CMD: the long options --help lists, one a line, sorted.
help_opts() {
	"$BUILD/$1" --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u
}

# man_opts CMD: the long options the man page describes (each .TP item).
man_opts() {
	awk 'prev == ".TP" { print } { prev = $0 }' "$(man_file "$1")" | sed 's/\\-/-/g' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# completion_opts CMD: the long options bash completion offers.
completion_opts() {
	bash -c 'source "$1/completions/tm.bash"
		COMP_WORDS=("$2" "--"); COMP_CWORD=1; _tm
		printf "%s\n" "${COMPREPLY[@]}"' sh "$TOP" "$1" | sort -u
}

@test "--help, the man page and the completion of every command name the same options" {
	local c bad=0
	for c in "${CMDS[@]}"; do
		if [ "$(help_opts "$c")" != "$(man_opts "$c")" ]; then
			echo "$c: --help and man page differ:" >&2
			diff <(help_opts "$c") <(man_opts "$c") >&2 || true
			bad=1
		fi
		if [ "$(help_opts "$c")" != "$(completion_opts "$c")" ]; then
			echo "$c: --help and completion differ:" >&2
			diff <(help_opts "$c") <(completion_opts "$c") >&2 || true
			bad=1
		fi
	done
	[ $bad = 0 ]
}

@test "every man page lists -h and -v, and every --help shows both" {
	local c
	for c in "${CMDS[@]}"; do
		[ "$(man_opts "$c" | grep -cxE -- '--help|--verbose')" = 2 ]
		[ "$("$BUILD/$c" --help | grep -cE '^ +-(h, --help|v, --verbose) ')" = 2 ]
	done
}

@test "the option lists are not empty, so the comparison means something" {
	[ "$(help_opts tm-stat | wc -l)" -ge 12 ]
	[ "$(man_opts tm-load | wc -l)" -ge 10 ]
	[ "$(completion_opts tm-stream | wc -l)" -ge 7 ]
}

# refused_values CMD OPT: the values CMD names when OPT is given one it
# does not take (its own list: the table it parses from), one a line.
refused_values() {
	"$BUILD/$1" "$2" '?' 2>&1 | head -n 1 | sed -e "s/^[^:]*: $2 '?': //" -e 's/^must be //' \
		-e 's/ or /, /' | tr -d "'" | sed 's/, /\n/g' | sort
}

# help_entry CMD OPT: OPT's entry in CMD's --help, to the next option.
help_entry() {
	"$BUILD/$1" --help | awk -v o="$2" '
		$0 ~ "^ +(-[A-Za-z], )?--" { on = index($0, " " o " ") > 0 || index($0, " " o "=") > 0 }
		on'
}

# man_entry CMD OPT: OPT's .TP item in CMD's man page, roff escapes undone.
man_entry() {
	sed 's/\\-/-/g' "$(man_file "$1")" | awk -v o="$2" '
		prev == ".TP" { on = index($0, o) > 0 } /^\.TP/ { if (on) exit } on { print } { prev = $0 }'
}

# completion_values CMD OPT: what bash completion offers after OPT.
completion_values() {
	bash -c 'source "$1/completions/tm.bash"
		COMP_WORDS=("$2" "$3" ""); COMP_CWORD=2; _tm
		printf "%s\n" "${COMPREPLY[@]}"' sh "$TOP" "$1" "$2" | sort
}

@test "each option's values are the same in the command, its --help, its man page and its completion" {
	local co c o v bad=0 n=0
	for co in "tm-load --owner" "tm-load --pending" "tm-stat --by" "tm-stat --format" \
		"tm-stream --format" "tm-top --by" "tm-top --sort" "tm-report --period" "tm-report --format" \
		"tm-status --format" "tm-mask --format" "tm-top --format" "tm-job --format"; do
		read -r c o <<<"$co"
		[ "$(refused_values "$c" "$o" | wc -l)" -ge 2 ] || { echo "$c $o: no list in its refusal" >&2; bad=1; }
		if [ "$(refused_values "$c" "$o")" != "$(completion_values "$c" "$o")" ]; then
			echo "$c $o: the command and its completion differ:" >&2
			diff <(refused_values "$c" "$o") <(completion_values "$c" "$o") >&2 || true
			bad=1
		fi
		for v in $(refused_values "$c" "$o"); do
			n=$((n + 1))
			grep -qw -- "$v" <(help_entry "$c" "$o") || { echo "$c $o: --help does not name '$v'" >&2; bad=1; }
			grep -qw -- "$v" <(man_entry "$c" "$o") || { echo "$c $o: the man page does not name '$v'" >&2; bad=1; }
		done
	done
	[ $n -ge 30 ]
	[ $bad = 0 ]
}

# table_vocab: the option table of tm(8), a line per command and option:
# "CMD LONG SHORT" (SHORT - for none).
table_vocab() {
	sed -n '/vocabulary: begin/,/vocabulary: end/p' "$TOP/man/tm.8" | sed 's/\\-/-/g' |
		awk '/^(-[A-Za-z]|  )  --/ {
			short = substr($0, 1, 2) ~ /^-/ ? substr($0, 1, 2) : "-"
			match($0, /--[a-z0-9-]+/); long = substr($0, RSTART, RLENGTH)
			for (i = 1; i <= NF; i++) if ($i ~ /^tm-[a-z]+$/) print $i, long, short
		}' | sort
}

# help_vocab: the same from every command's --help.
help_vocab() {
	local c
	for c in "${CMDS[@]}"; do
		"$BUILD/$c" --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' |
			awk -v c="$c" '{ if ($1 ~ /,$/) print c, $2, substr($1, 1, 2); else print c, $1, "-" }'
	done | sort
}

@test "one vocabulary: tm(8)'s option table is every command's --help, each letter and name meaning one thing" {
	[ "$(table_vocab | wc -l)" -ge 80 ]
	diff <(table_vocab) <(help_vocab) >&2
	# A letter is one option, and an option has one letter (or none), in every command.
	[ -z "$(help_vocab | awk '$3 != "-" { print $3, $2 }' | sort -u | awk '{ print $1 }' | uniq -d)" ]
	[ -z "$(help_vocab | awk '{ print $2, $3 }' | sort -u | awk '{ print $1 }' | uniq -d)" ]
	# What the table fixes: top's habits chosen, the old meanings gone.
	help_vocab | grep -qx 'tm-top --delay -d'
	help_vocab | grep -qx 'tm-top --count -n'
	help_vocab | grep -qx 'tm-report --period -'
	for c in tm-stat tm-stream tm-status tm-mask tm-report tm-top; do
		help_vocab | grep -qx "$c --json -j"
		help_vocab | grep -qx "$c --format -"
	done
	for c in tm-stat tm-top tm-report; do
		help_vocab | grep -qx "$c --bytes -b"
		help_vocab | grep -qx "$c --bits -"
	done
}

# man_vocab: the same from every man page's OPTIONS (.TP items naming an option).
man_vocab() {
	local c
	for c in "${CMDS[@]}"; do
		sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$(man_file "$c")" |
			awk 'prev == ".TP" { print } { prev = $0 }' | sed 's/\\-/-/g' |
			grep -oE -- '^\.B[IR]? (-[A-Za-z] ", " )?--[a-z][a-z0-9-]*' |
			awk -v c="$c" '{ if ($2 ~ /^-[A-Za-z]$/) print c, $5, $2; else print c, $2, "-" }'
	done | sort
}

@test "the man pages give each option the letter the table and --help give it" {
	[ "$(man_vocab | wc -l)" -ge 80 ]
	diff <(man_vocab) <(help_vocab) >&2
}

@test "--version on every command: its name, tm and the Makefile's version, exit 0" {
	local c v
	v=$(sed -n 's/^VERSION := //p' "$TOP/Makefile")
	[ -n "$v" ]
	for c in "${CMDS[@]}"; do
		run "$BUILD/$c" --version
		[ "$status" = 0 ]
		[ "$output" = "$c (tm) $v" ]
		run "$BUILD/$c" -V
		[ "$output" = "$c (tm) $v" ]
	done
}

@test "the old meanings are refused, not taken as another: tm-stat -d, tm-record -d, tm-report --by, tm-top --iterations" {
	run "$BUILD/tm-stat" -d 2
	[ "$status" = 2 ]
	run "$BUILD/tm-record" -d 2
	[ "$status" = 2 ]
	run "$BUILD/tm-report" --by month
	[ "$status" = 2 ]
	[[ "$output" == *"--period month"* ]]
	run "$BUILD/tm-top" --iterations 1
	[ "$status" = 2 ]
	run "$BUILD/tm-top" --exact
	[ "$status" = 2 ]
}
