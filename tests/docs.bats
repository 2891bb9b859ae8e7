#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# What each command says it takes, in --help, in its man page and in its
# bash completion, is the same list of options. No root, no pins needed.

load lib

CMDS=(tm-load tm-unload tm-stat tm-mask tm-stream tm-status tm-top tm-record tm-report)

# help_opts CMD: the long options --help lists, one a line, sorted.
help_opts() {
	"$BUILD/$1" --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u
}

# man_opts CMD: the long options the man page describes (each .TP item).
man_opts() {
	awk 'prev == ".TP" { print } { prev = $0 }' "$TOP/man/$1.8" | sed 's/\\-/-/g' |
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
	sed 's/\\-/-/g' "$TOP/man/$1.8" | awk -v o="$2" '
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
		"tm-stream --format" "tm-top --by" "tm-top --sort" "tm-report --by" "tm-report --format"; do
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
