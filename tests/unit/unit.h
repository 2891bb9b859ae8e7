/* SPDX-License-Identifier: GPL-2.0 */
/* The unit tests' TAP helpers, and the groups of tests beside unit.c. */
#ifndef TM_UNIT_H
#define TM_UNIT_H

void ok(int cond, const char *name);
void str_is(const char *got, const char *want, const char *name);

void test_text(void);
void test_out(void);
void test_u32map(void);
void test_history(void);
void test_ways(void);
void test_jobs(void);

#endif
