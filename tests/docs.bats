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
