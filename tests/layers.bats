#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# lib/ in layers, read off the objects the build made: each file uses only
# its own layer and those below it (base < kernel < model < output), no
# two files use each other (no circle), and no formatter reads the maps
# itself (output uses nothing of kernel). No root, nothing loaded.

load lib

LAYERS=(base kernel model output)

# uses: "FILE USED-FILE SYMBOL", one a line, for every tm_ symbol a lib
# object uses that another lib object defines (FILE as LAYER/NAME).
uses() {
	local o
	for o in "$BUILD"/lib/*/*.o; do
		nm --defined-only -g "$o" | awk -v f="${o#"$BUILD"/lib/}" '{ print $3, f }'
	done | sort >"$BATS_TEST_TMPDIR/defs"
	for o in "$BUILD"/lib/*/*.o; do
		nm -u "$o" | awk -v f="${o#"$BUILD"/lib/}" '$2 ~ /^tm_/ { print $2, f }'
	done | sort >"$BATS_TEST_TMPDIR/undefs"
	join "$BATS_TEST_TMPDIR/undefs" "$BATS_TEST_TMPDIR/defs" | awk '{ print $2, $3, $1 }'
}

# rank LAYER: its place, 0 for base.
rank() {
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo 99
}

@test "every object of lib/ is in one of the four layers, and the layers are not empty" {
	local o l
	[ "$(ls "$BUILD"/lib/*/*.o | wc -l)" -ge 20 ]
	for o in "$BUILD"/lib/*/*.o; do
		l=${o#"$BUILD"/lib/}
		[ "$(rank "${l%%/*}")" != 99 ] || { echo "$l: not in a layer" >&2; return 1; }
	done
	for l in "${LAYERS[@]}"; do
		[ "$(ls "$BUILD/lib/$l/"*.o | wc -l)" -ge 3 ]
	done
	[ ! -e "$TOP/lib/pins.c" ] && [ "$(ls "$TOP"/lib/*.c 2>/dev/null | wc -l)" = 0 ]
}

@test "each file of lib/ uses only its own layer and those below it; output nothing of kernel" {
	local f g sym bad=0 n=0
	while read -r f g sym; do
		n=$((n + 1))
		if [ "$(rank "${f%%/*}")" -lt "$(rank "${g%%/*}")" ]; then
			echo "$f uses $sym of $g, a layer above it" >&2
			bad=1
		fi
		if [ "${f%%/*}" = output ] && [ "${g%%/*}" = kernel ]; then
			echo "$f uses $sym of $g: a formatter reads through the model, not the maps" >&2
			bad=1
		fi
	done < <(uses)
	# The check saw the uses there are (a build with no symbols would pass).
	[ $n -ge 50 ]
	[ $bad = 0 ]
}

@test "no two files of lib/ use each other, even by way of others (no circle)" {
	local out
	# tsort fails on a loop; each file is also paired with itself so that
	# one that uses nothing is still in the graph.
	out=$( { uses | awk '$1 != $2 { print $2, $1 }'
		for f in "$BUILD"/lib/*/*.o; do f=${f#"$BUILD"/lib/}; echo "$f $f"; done; } | tsort 2>&1 >/dev/null)
	[ -z "$out" ] || { echo "$out" >&2; return 1; }
}

@test "the history's SQL is in lib/model alone: no command includes sqlite3.h" {
	local f
	[ -z "$(grep -l '<sqlite3.h>' "$TOP"/cmd/*.c)" ]
	for f in $(grep -l '<sqlite3.h>' "$TOP"/lib/*/*.c "$TOP"/lib/*/*.h); do
		[[ $f == "$TOP"/lib/model/* ]] || { echo "$f includes sqlite3.h" >&2; return 1; }
	done
	[ -n "$(grep -l 'sqlite3_prepare' "$TOP"/lib/model/*.c)" ]
}

@test "each binary links only what it calls: the setuid readers carry no loader, no HZ reading, no zlib" {
	local b
	for b in tm-stat tm-stream tm-top tm-report; do
		refute grep -qE ' (tm_kernel_hz|tm_load_ways|tm_bpf__open|gzopen)$' <(nm "$BUILD/$b")
		refute grep -q 'libz\.so' <(objdump -p "$BUILD/$b")
	done
	# The loader has them: the check looks for names that are there.
	grep -qE ' tm_kernel_hz$' <(nm "$BUILD/tm-load")
	grep -qE ' tm_load_ways$' <(nm "$BUILD/tm-load")
	grep -q 'libz\.so' <(objdump -p "$BUILD/tm-load")
}
