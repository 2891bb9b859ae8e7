// SPDX-License-Identifier: GPL-2.0
/*
 * The ways and the programs of tm_abi.h's tables (lib/kernel/ways.c), and
 * the reason a refusal gives (lib/base/log.c).
 */
#include <string.h>

#include "tm.h"
#include "unit.h"

static void test_way_names(void)
{
	ok(tm_owner_kind_parse("socket") == TM_OWNER_SOCKET, "ways: --owner socket");
	ok(tm_owner_kind_parse("creator") == TM_OWNER_CREATOR, "ways: --owner creator");
	ok(tm_pending_kind_parse("storage") == TM_PENDING_STORAGE, "ways: --pending storage");
	ok(tm_pending_kind_parse("files") == TM_PENDING_FILES, "ways: --pending files");
	ok(tm_pending_kind_parse("files-core") == TM_PENDING_FILES_CORE, "ways: --pending files-core");
	ok(!tm_owner_kind_parse("") && !tm_owner_kind_parse("Socket") && !tm_owner_kind_parse("?") &&
	   !tm_owner_kind_parse("storage"), "ways: no other --owner value, not even a pending way's");
	ok(!tm_pending_kind_parse("file") && !tm_pending_kind_parse("files-core ") &&
	   !tm_pending_kind_parse("socket"), "ways: no other --pending value");
	str_is(tm_owner_kind_name(TM_OWNER_CREATOR), "creator", "ways: an owner way's name");
	str_is(tm_pending_kind_name(TM_PENDING_FILES_CORE), "files-core", "ways: a pending way's name");
	str_is(tm_owner_kind_name(0), "?", "ways: no owner way (an older load's 0)");
	str_is(tm_pending_kind_name(TM_PENDING_KINDS), "?", "ways: a pending way past the table");
	str_is(tm_owner_kinds_list(), "'socket' or 'creator'", "ways: the owner ways, listed");
	str_is(tm_pending_kinds_list(), "'storage', 'files' or 'files-core'",
	       "ways: the pending ways, listed");
}

/* Each way of the table: its programs, and names the parser takes back. */
static void test_way_progs(void)
{
	int k, i, cgroup, iter, all;

	for (k = 1, all = 1; k < TM_OWNER_KINDS; k++) {
		all &= tm_owner_kind_parse(tm_owner_kind_name(k)) == k;
		for (i = 0, cgroup = 0; i < TM_PROG_COUNT; i++)
			cgroup += tm_progs[i].link == TM_LINK_CGROUP &&
				  tm_prog_taken(&tm_progs[i], k, 0);
		/* sock_create, sock_release, sockops, egress, ingress */
		all &= cgroup == 5;
	}
	ok(all, "ways: each owner way names itself and attaches five cgroup programs");
	for (k = 1, all = 1; k < TM_PENDING_KINDS; k++) {
		all &= tm_pending_kind_parse(tm_pending_kind_name(k)) == k;
		for (i = 0, iter = 0; i < TM_PROG_COUNT; i++)
			iter += tm_progs[i].link == TM_LINK_ITER && tm_prog_taken(&tm_progs[i], 0, k);
		all &= iter == 1 && tm_prog_pending(k) >= 0 &&
		       tm_progs[tm_prog_pending(k)].link == TM_LINK_ITER &&
		       !strcmp(tm_progs[tm_prog_pending(k)].pin, TM_PIN_PENDING);
	}
	ok(all, "ways: each pending way names itself and has one iterator, pinned as pending");
	ok(tm_prog_pending(0) < 0 && tm_prog_pending(TM_PENDING_KINDS) < 0,
	   "ways: no iterator for no pending way");
	str_is(tm_progs[tm_prog_pending(TM_PENDING_FILES)].name, "tm_pending_files",
	       "ways: the files iterator's program (not struct tm_pending's name)");
	ok(tm_prog_by_name("tm_egress_creator") == TM_PROG_EGRESS_CREATOR &&
	   tm_prog_by_name("tm_pending") < 0 && tm_prog_by_name("") < 0,
	   "ways: a program by its name in the object, and none by another");
	/* egress before ingress, after the socket programs: the attach order */
	ok(TM_PROG_SOCK_CREATE < TM_PROG_SOCK_RELEASE && TM_PROG_SOCKOPS < TM_PROG_EGRESS &&
	   TM_PROG_EGRESS < TM_PROG_INGRESS && TM_PROG_EGRESS_CREATOR < TM_PROG_INGRESS_CREATOR,
	   "ways: the table's attach order");
}


/* The kernel's reason, as the last line of a verifier's log that is not a statistic. */
static void test_verifier_reason(void)
{
	static const char refused[] =
		"func#0 @0\n0: R1=ctx() R10=fp0\n; so = bpf_sock_from_file(file);\n"
		"12: (85) call bpf_sock_from_file#136\n"
		"R2 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_\n"
		"processed 14 insns (limit 1000000) max_states_per_insn 0 total_states 1 "
		"peak_states 1 mark_read 1\n";
	static const char old[] = "R1 invalid mem access 'scalar'\nverification time 31 usec\n"
				  "stack depth 8\nprocessed 3 insns\n\n";
	char why[64], tiny[8];

	tm_verifier_reason(refused, strlen(refused), why, sizeof(why));
	str_is(why, "R2 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_",
	       "reason: the line before the statistics");
	tm_verifier_reason(old, strlen(old), why, sizeof(why));
	str_is(why, "R1 invalid mem access 'scalar'", "reason: every statistic and blank line skipped");
	tm_verifier_reason("processed 1 insns\n", 18, why, sizeof(why));
	str_is(why, "", "reason: none in a log of statistics alone");
	tm_verifier_reason("", 0, why, sizeof(why));
	str_is(why, "", "reason: none in an empty log");
	tm_verifier_reason(old, strlen(old), tiny, sizeof(tiny));
	str_is(tiny, "R1 inva", "reason: cut to the room given, NUL-terminated");
	tm_verifier_reason("a\nb", 1, why, sizeof(why));
	str_is(why, "a", "reason: only len bytes are read");
}

void test_ways(void)
{
	test_way_names();
	test_way_progs();
	test_verifier_reason();
}
