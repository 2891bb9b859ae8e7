#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# scripts/install-deps as a fresh machine meets it: a package that is not
# installed is an answer to act on, never the end of the script. dpkg-query
# and apt-get are stand-ins here (nothing is installed); the script runs in a
# mount namespace of its own whose apt sources are empty, so what it writes
# there is seen by the test alone.

load lib

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace)"
	FAKE=$(mktemp -d /tmp/tm-deps.XXXXXX)
	mkdir "$FAKE/bin"
	# apt-get: records each call, installs nothing.
	printf '#!/bin/sh\necho "$*" >>"%s/apt-get.calls"\n' "$FAKE" >"$FAKE/bin/apt-get"
	chmod 755 "$FAKE/bin/apt-get"
}

teardown() { rm -rf "$FAKE"; }

# dpkg_query_says OUT STATUS: the stand-in dpkg-query prints OUT (its
# answer for qemu-system-x86) and exits STATUS, as the real one does.
dpkg_query_says() {
	printf '#!/bin/sh\nprintf %%s "%s"\n[ %s = 0 ] || echo "dpkg-query: no packages found matching qemu-system-x86" >&2\nexit %s\n' \
		"$1" "$2" "$2" >"$FAKE/bin/dpkg-query"
	chmod 755 "$FAKE/bin/dpkg-query"
}

# install_deps_kernels: scripts/install-deps --kernels with the stand-ins
# first on PATH and tmpfs over /etc/apt/sources.list.d (and an empty
# /etc/apt/sources.list); prints the sources it left, after a line "--".
install_deps_kernels() {
	PATH=$FAKE/bin:$PATH unshare -m sh -c '
		mount -t tmpfs tm-deps /etc/apt/sources.list.d || exit 9
		if [ -e /etc/apt/sources.list ]; then
			: >"$1/empty" && mount --bind "$1/empty" /etc/apt/sources.list || exit 9
		fi
		bash "$2/scripts/install-deps" --kernels || exit
		echo --
		cat /etc/apt/sources.list.d/* 2>/dev/null
		true' sh "$FAKE" "$TOP"
}

@test "install-deps --kernels on a machine without qemu installs it from bookworm-backports" {
	dpkg_query_says "" 1
	run install_deps_kernels
	echo "$output"
	[ "$status" = 0 ]
	grep -qx "install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86" "$FAKE/apt-get.calls"
	# bookworm-backports was in no source: the script added it.
	sed -n '/^--$/,$p' <<<"$output" | grep -qx "deb http://deb.debian.org/debian bookworm-backports main"
}

@test "install-deps --kernels replaces a qemu older than 8 (bookworm's own 7.2)" {
	dpkg_query_says "1:7.2+dfsg-7+deb12u7" 0
	run install_deps_kernels
	echo "$output"
	[ "$status" = 0 ]
	grep -qx "install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86" "$FAKE/apt-get.calls"
}

@test "install-deps --kernels leaves a qemu of 8 or later as it is" {
	dpkg_query_says "1:8.2.2+ds-2~bpo12+1" 0
	run install_deps_kernels
	echo "$output"
	[ "$status" = 0 ]
	refute grep -q qemu-system-x86 "$FAKE/apt-get.calls"
}

@test "install-deps --kernels alone installs what the guests are built from too (nft, ip, bpftool)" {
	dpkg_query_says "1:8.2.2+ds-2~bpo12+1" 0
	# As a machine without them: /usr/sbin (nft, ip, bpftool) empty.
	PATH=$FAKE/bin:$PATH unshare -m sh -c '
		mount -t tmpfs tm-deps /etc/apt/sources.list.d && mount -t tmpfs tm-deps /usr/sbin || exit 9
		bash "$1/scripts/install-deps" --kernels' sh "$TOP"
	grep -q "^install .* nftables" "$FAKE/apt-get.calls"
	grep -q "^install .* iproute2" "$FAKE/apt-get.calls"
	grep -q "^install .* bpftool" "$FAKE/apt-get.calls"
}

# install_deps_hiding ARGS...: install-deps ARGS with the stand-ins, in a
# mount namespace where a file of each set is missing: libbpf.h and
# /usr/sbin (bpftool; nft, ip, logrotate) for building, libclang-rt's fuzzer
# and the DejaVu font for the tests.
install_deps_hiding() {
	PATH=$FAKE/bin:$PATH unshare -m sh -c '
		for d in /usr/include/bpf /usr/sbin /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux \
			/usr/share/fonts/truetype/dejavu; do
			mkdir -p "$d" && mount -t tmpfs tm-deps "$d" || exit 9
		done
		shift; bash "$0/scripts/install-deps" "$@"' "$TOP" - "$@"
}

@test "install-deps in sets: alone what building and running need, --tests the tests' too" {
	dpkg_query_says "1:8.2.2+ds-2~bpo12+1" 0
	install_deps_hiding
	grep -q "^install .* libbpf-dev" "$FAKE/apt-get.calls"
	grep -q "^install .* bpftool" "$FAKE/apt-get.calls"
	refute grep -qE "fonts-dejavu-core|libclang-rt|nftables|logrotate" "$FAKE/apt-get.calls"
	: >"$FAKE/apt-get.calls"
	install_deps_hiding --tests
	grep -q "^install .* libbpf-dev" "$FAKE/apt-get.calls"
	grep -q "^install .* fonts-dejavu-core" "$FAKE/apt-get.calls"
	grep -q "^install .* libclang-rt-14-dev" "$FAKE/apt-get.calls"
	grep -q "^install .* nftables" "$FAKE/apt-get.calls"
	# make run takes the first set, make check the second.
	make -n -C "$TOP" run | grep -qx 'scripts/install-deps'
	make -n -C "$TOP" check | grep -qx 'scripts/install-deps --tests'
	run bash "$TOP/scripts/install-deps" --all
	[ "$status" = 2 ]
}
