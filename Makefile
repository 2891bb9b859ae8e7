# SPDX-License-Identifier: GPL-2.0
# tm: build the BPF object and its skeleton, lib/ and every command in cmd/
# into $(OUT). Quiet unless V=1.

VERSION := 0.6.0
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
# What users run (on every login PATH, section 1) and what the admin runs
# (sbin, section 8).
BINDIR := $(PREFIX)/bin
SBINDIR := $(PREFIX)/sbin
MANDIR := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/tm
# Slurm's prolog and epilog, and the SPANK plugin.
LIBEXECDIR ?= $(PREFIX)/lib/tm

# SANITIZE=1: every binary with ASan and UBSan, no recovery, in their own
# output folder (make check SANITIZE=1 runs the suite on them).
ifeq ($(SANITIZE),1)
OUT ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
OUT ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg := @printf '  %-8s %s\n'
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE
# Each object's headers, as the compiler found them (OUT/**/*.d).
DEPFLAGS = -MMD -MP
# The test helper that makes traffic is not under test: built plain.
HELPER_CFLAGS := $(CFLAGS)
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
# Debian's hardening (dpkg-buildflags with hardening=+all), for the setuid
# readers above all: stack protector and clash protection, fortified libc
# calls, PIE, full RELRO with immediate binding. Not with the sanitizers.
ifneq ($(SANITIZE),1)
CFLAGS += -fstack-protector-strong -fstack-clash-protection -fPIE -Wformat -Werror=format-security
CFLAGS += $(shell $(CC) -fcf-protection -E -x c /dev/null >/dev/null 2>&1 && echo -fcf-protection)
CPPFLAGS += -D_FORTIFY_SOURCE=2
LDFLAGS += -pie -Wl,-z,relro -Wl,-z,now
endif
CPPFLAGS += -DTM_VERSION='"$(VERSION)"' -I$(OUT) -Ibpf -Ilib $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
# PIN_ROOT and HISTORY_DB as the build in OUT was made with (OUT/settings.mk,
# written with OUT/build.config): a later make in OUT (make install, make
# deb) builds and installs the same unless they are named again.
SETTINGS := PIN_ROOT HISTORY_DB
-include $(OUT)/settings.mk
# The default pin root, and the one a setuid tm-stat reads (its users
# cannot choose another).
ifneq ($(PIN_ROOT),)
CPPFLAGS += -DTM_DEFAULT_PIN_ROOT='"$(PIN_ROOT)"'
endif
# The history a setuid tm-report reads (tm-record.service's database).
ifneq ($(HISTORY_DB),)
CPPFLAGS += -DTM_DEFAULT_HISTORY_DB='"$(HISTORY_DB)"'
endif
LDLIBS += $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf) -lm

# BPF C uses the UAPI headers; asm/types.h lives under the host's multiarch
# directory, which the bpf target does not search by itself.
ARCH_INC := /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS := -O2 -g -target bpf -Wall -Ibpf -idirafter $(ARCH_INC)

USER_CMDS := tm-stat tm-stream tm-top tm-report
ADMIN_CMDS := tm-load tm-unload tm-mask tm-status tm-record tm-job
CMDS := $(ADMIN_CMDS) $(USER_CMDS)
# The history (history.c, query.c, ledger.c) needs SQLite: linked into tm-record, tm-report,
# tm-job, tm-stat (--history) and the unit tests only.
# lib/ in layers, each using only those below: base, kernel, model, output.
LIB_LAYERS := base kernel model output
HIST_SRCS := lib/model/history.c lib/model/query.c lib/model/ledger.c
LIB_SRCS := $(filter-out $(HIST_SRCS),$(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/*.c)))
HIST_OBJ := $(patsubst lib/%.c,$(OUT)/lib/%.o,$(HIST_SRCS))
LIB_OBJS := $(patsubst lib/%.c,$(OUT)/lib/%.o,$(LIB_SRCS))
# lib/ as an archive: each binary links only the objects it calls.
LIB := $(OUT)/libtm.a
BINS := $(addprefix $(OUT)/,$(CMDS))
SPANK := $(if $(wildcard /usr/include/slurm/spank.h),$(OUT)/tm_spank.so)
TEST_BINS := $(OUT)/tests/unit $(OUT)/tests/tmtraffic $(OUT)/bench/floor.bpf.o $(OUT)/bench/tm-fill \
	$(OUT)/bench/tm-year

.DELETE_ON_ERROR:
.PHONY: all clean install uninstall deb check check-kernels unit test-bins deps test-deps run bench fuzz FORCE
.DEFAULT_GOAL := all

# What is compiled in (the built-in pin root and history, the flags): when
# it changes, everything is built again, so a setuid reader never keeps an
# old path after "make PIN_ROOT=...".
BUILD_CONFIG := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
# (Blanks and line ends aside: $(file <) keeps the newline $(file >) wrote
# in GNU make 4.3, and a file rewritten every time rebuilds everything.)
same = $(and $(findstring $(strip $(1)),$(strip $(2))),$(findstring $(strip $(2)),$(strip $(1))))
define newline


endef
SETTINGS_MK := $(foreach v,$(SETTINGS),$(v) ?= $($(v))$(newline))
$(OUT)/build.config: FORCE | $(OUT)
	$(if $(call same,$(file <$@),$(BUILD_CONFIG)),,$(file >$@,$(BUILD_CONFIG)))
	$(if $(call same,$(file <$(OUT)/settings.mk),$(SETTINGS_MK)),,$(file >$(OUT)/settings.mk,$(SETTINGS_MK)))

all: $(BINS) $(SPANK)

# Slurm's SPANK plugin (dist/slurm/spank.c), where Slurm's headers are
# (libslurm-dev): loaded by slurmstepd, so built plain (no sanitizers) and
# position-independent.
$(OUT)/tm_spank.so: dist/slurm/spank.c | $(OUT)
	$(msg) CC $@
	$(Q)$(CC) $(HELPER_CFLAGS) -fPIC -shared -Wl,-z,relro -Wl,-z,now $< -o $@

$(OUT) $(OUT)/cmd $(OUT)/tests:
	$(Q)mkdir -p $@

$(OUT)/tm.bpf.o: bpf/tm.bpf.c | $(OUT)
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/tm.skel.h: $(OUT)/tm.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name tm_bpf > $@

$(OUT)/lib/%.o: lib/%.c $(OUT)/build.config
	$(Q)mkdir -p $(@D)
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The load (lib/kernel/load.c) holds the skeleton, the object in it.
$(OUT)/lib/kernel/load.o: $(OUT)/tm.skel.h

$(LIB): $(LIB_OBJS)
	$(msg) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The skeleton first: a command may include it (its .d says which, once built).
$(OUT)/cmd/%.o: cmd/%.c $(OUT)/tm.skel.h $(OUT)/build.config | $(OUT)/cmd
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/tm-record $(OUT)/tm-report $(OUT)/tm-stat $(OUT)/tm-job: $(HIST_OBJ)
$(OUT)/tm-record $(OUT)/tm-report $(OUT)/tm-stat $(OUT)/tm-job: LDLIBS += $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null || echo -lsqlite3)

# tm-top draws with ncurses (its wide-character build: UTF-8 names), in a
# file of its own (cmd/top-screen.c).
$(OUT)/cmd/tm-top.o $(OUT)/cmd/top-screen.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags ncursesw 2>/dev/null)
$(OUT)/tm-top: $(OUT)/cmd/top-screen.o
$(OUT)/tm-top: LDLIBS += $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)

# tm-load alone reads the kernel's configuration (HZ, /proc/config.gz).
$(OUT)/tm-load: LDLIBS += -lz

# The objects before the archive, which gives what they call.
$(OUT)/tm-%: $(OUT)/cmd/tm-%.o $(LIB)
	$(msg) LINK $@
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) -o $@

$(OUT)/tests/unit: $(wildcard tests/unit/*.c) tests/unit/unit.h $(HIST_OBJ) $(LIB) | $(OUT)/tests
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o %.a,$^) $(LDLIBS) -lsqlite3 -lz -o $@

$(OUT)/tests/tmtraffic: tests/helpers/tmtraffic.c | $(OUT)/tests
	$(msg) CC $@
	$(Q)$(CC) $(HELPER_CFLAGS) $< -o $@

test-bins: $(BINS) $(SPANK) $(TEST_BINS)

$(OUT)/bench/floor.bpf.o: bench/floor.bpf.c
	$(Q)mkdir -p $(@D)
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/tm-year: bench/year.c $(HIST_OBJ) $(LIB)
	$(Q)mkdir -p $(@D)
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lsqlite3 -o $@

$(OUT)/bench/tm-fill: bench/fill.c $(LIB)
	$(Q)mkdir -p $(@D)
	$(msg) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Cost and speed, side by side with a floor, as ratios; needs root.
bench: test-deps
	$(Q)$(MAKE) -s --no-print-directory test-bins
	$(Q)bench/run $(OUT)

# Installs what is missing (Debian 12): deps what building and running
# need, test-deps what the tests need too.
deps:
	$(Q)scripts/install-deps

test-deps:
	$(Q)scripts/install-deps --tests

# The C unit tests alone: no root, no packages installed, nothing loaded.
unit: $(OUT)/tests/unit
	$(Q)$(OUT)/tests/unit

# Everything at once: packages, build, tests. Needs root (BPF, cgroups,
# network namespaces). With SANITIZE=1 the kernel's core runs once, not
# again under each way tm-load may take (the ways differ in the BPF
# programs, which the sanitizers do not see), and the tests tagged "bulk"
# (the same code a thousand times over: kill points, thousands of jobs)
# are left out; the sanitized code is the code they run at a smaller count.
check: test-deps
	$(Q)$(MAKE) -s --no-print-directory test-bins
	$(Q)OUT=$(OUT) $(if $(filter 1,$(SANITIZE)),TM_NO_WAYS=1 TM_SKIP_TAGS=bulk) scripts/run-tests

# The kernel-dependent core on Debian's kernels (6.1, and 6.12 from
# bookworm-backports and trixie), each booted in qemu; needs root and
# Debian's archive (the kernels are cached in $(OUT)/kernels).
check-kernels: test-deps
	$(Q)$(MAKE) -s --no-print-directory test-bins
	$(Q)OUT=$(OUT) scripts/check-kernels

# libFuzzer (clang) over the parsers and escapers, FUZZ_SECONDS each, from
# the seed corpora in tests/fuzz/corpus; crashes are kept in $(OUT)/fuzz
# (a target's own messages are closed off: run a crash file on its own to
# see what it says).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/*.c)))
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=address,undefined -fno-sanitize-recover=all
# Not the load (the skeleton's object): no fuzz target loads anything.
# The history's SQL only where a target reads the history.
FUZZ_LIB := $(patsubst lib/%.c,$(OUT)/fuzz/lib/%.o,$(filter-out lib/kernel/load.c,$(LIB_SRCS)))
FUZZ_HIST := $(patsubst lib/%.c,$(OUT)/fuzz/lib/%.o,$(HIST_SRCS))

$(OUT)/fuzz/lib/%.o: lib/%.c
	$(Q)mkdir -p $(@D)
	$(msg) FUZZCC $@
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(msg) FUZZ $@
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -lz -o $@

$(OUT)/fuzz/history: tests/fuzz/history.c $(FUZZ_HIST) $(FUZZ_LIB)
	$(msg) FUZZ $@
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -lsqlite3 -lz -o $@

.SECONDARY: $(FUZZ_LIB) $(FUZZ_HIST)

fuzz: test-deps $(addprefix $(OUT)/fuzz/,$(FUZZ_TARGETS))
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p $(OUT)/fuzz/$$t.corpus && \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s" && \
		$(OUT)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -close_fd_mask=2 \
			-artifact_prefix=$(OUT)/fuzz/$$t- $(OUT)/fuzz/$$t.corpus tests/fuzz/corpus/$$t \
			2>$(OUT)/fuzz/$$t.log || { tail -40 $(OUT)/fuzz/$$t.log; exit 1; }; \
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $(OUT)/fuzz/$$t.log; \
	done

# Build, load the meter on the default cgroup v2 root, show live totals.
run: deps
	$(Q)$(MAKE) -s --no-print-directory all
	$(Q)scripts/run-meter $(OUT)

UNITS := tm.service tm-log.service tm-textfile.service tm-record.service
# What install puts under DESTDIR, made with the directories it names (the
# units with where the commands and the configuration are).
INSTALLED := $(addprefix $(SBINDIR)/,$(ADMIN_CMDS)) $(addprefix $(BINDIR)/,$(USER_CMDS)) \
	$(addprefix $(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
	$(addprefix $(MANDIR)/man1/,$(notdir $(wildcard man/*.1))) \
	$(BASHCOMPDIR)/tm $(addprefix $(BASHCOMPDIR)/,$(CMDS)) \
	$(addprefix $(UNITDIR)/,$(UNITS)) $(SYSCONFDIR)/logrotate.d/tm \
	$(DOCDIR)/tm.rules.yml $(DOCDIR)/tm.rules.test.yml $(DOCDIR)/tm.json $(DOCDIR)/tm.yaml \
	$(LIBEXECDIR)/slurm-prolog $(LIBEXECDIR)/slurm-epilog $(if $(SPANK),$(LIBEXECDIR)/tm_spank.so) \
	$(DOCDIR)/slurm/plugstack.conf $(DOCDIR)/slurm/slurmd-delegate.conf
CONFIG := $(SYSCONFDIR)/tm/tm.conf $(SYSCONFDIR)/tm/masks $(SYSCONFDIR)/tm/jobs

# An example configuration file as installed: naming SYSCONFDIR.
example = sed -e 's|/etc/tm/|$(SYSCONFDIR)/tm/|g' dist/$(1)

# The example configuration is installed where there is none: an edited
# one stays (CONFIG_FORCE=1 writes it anyway; the package does).
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(SYSCONFDIR)/tm \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(DOCDIR)/slurm $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(addprefix $(OUT)/,$(ADMIN_CMDS)) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(addprefix $(OUT)/,$(USER_CMDS)) $(DESTDIR)$(BINDIR)/
	@# setuid root: opens the pins read-only, drops every privilege, then
	@# shows the user their own traffic (lib/kernel/priv.c); root is unaffected.
	chmod 4755 $(addprefix $(DESTDIR)$(BINDIR)/,$(USER_CMDS))
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 completions/tm.bash $(DESTDIR)$(BASHCOMPDIR)/tm
	$(foreach c,$(CMDS),ln -sf tm $(DESTDIR)$(BASHCOMPDIR)/$(c);)
	$(foreach u,$(UNITS),sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/systemd/$(u).in > $(DESTDIR)$(UNITDIR)/$(u) && chmod 0644 $(DESTDIR)$(UNITDIR)/$(u);)
	install -m 0644 dist/logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tm
	install -m 0644 dist/prometheus/tm.rules.yml dist/prometheus/tm.rules.test.yml dist/grafana/tm.json \
		dist/kubernetes/tm.yaml $(DESTDIR)$(DOCDIR)/
	$(foreach s,prolog epilog,sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
		dist/slurm/$(s).in > $(DESTDIR)$(LIBEXECDIR)/slurm-$(s) && chmod 0755 $(DESTDIR)$(LIBEXECDIR)/slurm-$(s);)
	$(if $(SPANK),install -m 0644 $(SPANK) $(DESTDIR)$(LIBEXECDIR)/)
	sed -e 's|/usr/lib/tm/|$(LIBEXECDIR)/|g' dist/slurm/plugstack.conf > $(DESTDIR)$(DOCDIR)/slurm/plugstack.conf
	install -m 0644 dist/slurm/slurmd-delegate.conf $(DESTDIR)$(DOCDIR)/slurm/
	@for f in $(notdir $(CONFIG)); do \
		t=$(DESTDIR)$(SYSCONFDIR)/tm/$$f; \
		if [ -e "$$t" ] && [ -z "$(CONFIG_FORCE)" ]; then echo "  kept     $$t (there already)"; \
		else $(call example,$$f) > "$$t" && chmod 0644 "$$t"; fi; \
	done

# Removes what install put there; the configuration only if it is still
# the example (an edited one is yours), then the directories left empty.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@for f in $(notdir $(CONFIG)); do \
		t=$(DESTDIR)$(SYSCONFDIR)/tm/$$f; \
		if [ -e "$$t" ] && ! $(call example,$$f) | cmp -s "$$t" -; then echo "  kept     $$t (changed)"; \
		else rm -f "$$t"; fi; \
	done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/tm $(DESTDIR)$(DOCDIR)/slurm $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(LIBEXECDIR) 2>/dev/null

# A Debian package of this build, with dpkg-deb: /usr, units in
# /lib/systemd/system, the configuration as conffiles. Depends on the
# packages of the shared libraries the commands link.
# DEBDIR: where it is built (default: the build's own folder).
DEB_ARCH = $(shell dpkg --print-architecture)
DEBDIR ?= $(OUT)
DEB_MAINTAINER ?= tm developers <tm@example.org>
DEB = $(DEBDIR)/tm_$(VERSION)_$(DEB_ARCH).deb

deb: all
	$(Q)rm -rf $(DEBDIR)/deb-root
	$(Q)$(MAKE) -s --no-print-directory install DESTDIR=$(abspath $(DEBDIR))/deb-root PREFIX=/usr \
		UNITDIR=/lib/systemd/system CONFIG_FORCE=1 >/dev/null
	$(Q)scripts/mkdeb $(DEBDIR)/deb-root $(VERSION) $(DEB_ARCH) $(DEB) "$(DEB_MAINTAINER)"

clean:
	rm -rf $(OUT)

# The headers each object was built from (none before the first build).
-include $(wildcard $(OUT)/*.d $(OUT)/lib/*/*.d $(OUT)/cmd/*.d $(OUT)/fuzz/lib/*/*.d)
