# SPDX-License-Identifier: GPL-2.0
# bash completion for tm-load, tm-unload, tm-stat, tm-mask, tm-stream, tm-status, tm-top, tm-record,
# tm-report and tm-job

_tm_users() {
	COMPREPLY=($(compgen -u -- "$cur"))
}

_tm() {
	local cur prev cmd=${COMP_WORDS[0]##*/}
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	}
	case $prev in
	--pin-root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-c|--cgroup) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-u|--user|--job-user) _tm_users; return ;;
	--format)
		if [ "$cmd" = tm-report ]; then
			COMPREPLY=($(compgen -W "table json csv html" -- "$cur"))
		elif [ "$cmd" = tm-stream ]; then
			COMPREPLY=($(compgen -W "json csv" -- "$cur"))
		elif [ "$cmd" = tm-status ] || [ "$cmd" = tm-mask ]; then
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		elif [ "$cmd" = tm-job ]; then
			COMPREPLY=($(compgen -W "text json comment" -- "$cur"))
		elif [ "$cmd" = tm-top ]; then
			COMPREPLY=($(compgen -W "table json" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "table json csv prometheus" -- "$cur"))
		fi
		return ;;
	-o|--output|--textfile|--config|--db|--history) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--iface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
	--masks|load) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--group) COMPREPLY=($(compgen -g -- "$cur")); return ;;
	--owner) COMPREPLY=($(compgen -W "socket creator" -- "$cur")); return ;;
	--pending) COMPREPLY=($(compgen -W "storage files files-core" -- "$cur")); return ;;
	--job|--kind|--account|--partition|--node|-i|--interval|-n|--count|-d|--delay|--prefix4|--prefix6|--keep-5min|--keep-hour|--keep-day|--keep-month|--keep-year|--keep-jobs|--grace|--sluid|--events-size|--max-conns|--max-details|--max-users|-t|--top|--depth) return ;;
	-B|--by) COMPREPLY=($(compgen -W "user conn proc iface proto cgroup job family" -- "$cur")); return ;;
	--period) COMPREPLY=($(compgen -W "hour day month year" -- "$cur")); return ;;
	--since|--until) return ;;
	-s|--sort)
		if [ "$cmd" = tm-top ]; then
			COMPREPLY=($(compgen -W "rate in out bytes" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "bytes in out packets key" -- "$cur"))
		fi
		return ;;
	esac
	local opts
	case $cmd in
	tm-load) opts="--cgroup --iface --masks --group --max-users --max-details --max-conns --events-size --replace --config --owner --pending --pin-root --verbose --version --help" ;;
	tm-stream) opts="--user --format --json --output --count --follow --pin-root --verbose --version --help" ;;
	tm-mask)
		local w sub=
		for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
			case $w in add|del|list|flush|load) sub=$w ;; esac
		done
		case $sub in
		"") opts="add del list flush load --format --json --pin-root --verbose --version --help" ;;
		list) opts="--format --json" ;;
		*) return ;;
		esac ;;
	tm-unload) opts="--pin-root --verbose --version --help" ;;
	tm-status) opts="--format --json --pin-root --verbose --version --help" ;;
	tm-record) opts="--db --interval --once --count --prefix4 --prefix6 --depth --keep-5min --keep-hour --keep-day --keep-month --keep-year --keep-jobs --no-history --grace --pin-root --verbose --version --help" ;;
	tm-report) opts="--db --user --since --until --period --top --jobs --job --account --format --json --bytes --bits --verbose --version --help" ;;
	tm-top) opts="--interval --delay --by --depth --sort --user --bits --bytes --batch --count --format --json --pin-root --verbose --version --help" ;;
	tm-job)
		local w sub=
		for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
			case $w in start|end) sub=$w ;; esac
		done
		opts="--job --sluid --kind --job-user --account --partition --node --db --format --json --pin-root --verbose --version --help"
		[ -z "$sub" ] && opts="start end $opts" ;;
	tm-stat) opts="--by --depth --job --cgroup --user --top --sort --format --json --bytes --bits --interval --count --output --textfile --history --pin-root --verbose --version --help" ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

complete -F _tm tm-load tm-unload tm-stat tm-mask tm-stream tm-status tm-top tm-record tm-report tm-job
