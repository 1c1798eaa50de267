/*
 * Unit tests: removal tombstones (modules/e911/core/e911_tombstones.c) over
 * the shared-memory shim (shm_test.c).
 *
 * Data-driven (see test/data/tombstones/README.md): scenario scripts, one
 * cmocka test per script, each checking that it left no memory or lock
 * behind; plus the argument checks and a tombstone seen across processes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e911_shm.h"
#include "e911_tombstones.h"
#include "shm_test.h"
#include "testutil.h"

#define TOMB_DATA E911_TEST_DATA "/tombstones"
#define MAXF 6

static void test_scenario(void **state)
{
	const tu_case_t *c = *state;
	size_t allocs = e911_test_shm_allocs();
	e911_tombstones_t *t = NULL;
	tu_lines_t l;
	char *line;
	char *f[MAXF];

	tu_lines_open(&l, c->path);
	while((line = tu_lines_next(&l)) != NULL) {
		int n = tu_split(line, f, MAXF);
		long long got = 0;
		long long want = atoll(f[n - 1]);
		const char *k = n > 1 && strcmp(f[1], "-") != 0 ? f[1] : NULL;
		size_t klen = k != NULL ? strlen(k) : 0;

		if(strcmp(f[0], "new") == 0 && n == 3) {
			e911_tombstones_destroy(t);
			t = e911_tombstones_new((uint32_t)atol(f[1]), 0, atoll(f[2]));
			assert_non_null(t);
			continue;
		}
		if(strcmp(f[0], "flush") == 0 && n == 2) {
			e911_tombstones_flush(t, atoll(f[1]));
			continue;
		}
		if(t == NULL)
			fail_msg("%s:%d: no tombstones yet", c->path, l.lineno);
		if(strcmp(f[0], "remove") == 0 && n == 4)
			got = e911_tombstone_put(t, k, klen, atoll(f[2]));
		else if(strcmp(f[0], "refuses") == 0 && n == 5)
			got = e911_tombstone_refuses(t, k, klen, atoll(f[2]), atoll(f[3]));
		else if(strcmp(f[0], "removed_at") == 0 && n == 4)
			got = e911_tombstone_removed_at(t, k, klen, atoll(f[2]));
		else if(strcmp(f[0], "purge") == 0 && n == 3)
			got = e911_tombstones_purge(t, atoll(f[1]));
		else if(strcmp(f[0], "count") == 0 && n == 2)
			got = (long long)e911_tombstones_count(t);
		else
			fail_msg("%s:%d: unknown step", c->path, l.lineno);
		if(got != want)
			fail_msg("%s:%d: %s gave %lld, expected %lld", c->path, l.lineno,
					f[0], got, want);
	}
	e911_tombstones_destroy(t);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_locks_held(), 0);
}

static void test_arguments(void **state)
{
	e911_tombstones_t *t;

	assert_null(e911_tombstones_new(0, 0, 60));
	assert_null(e911_tombstones_new(10, 0, 0));
	e911_tombstones_destroy(NULL);
	assert_int_equal(e911_tombstone_put(NULL, "a", 1, 1), -1);
	assert_int_equal(e911_tombstone_refuses(NULL, "a", 1, 1, 1), 0);
	assert_int_equal(e911_tombstone_removed_at(NULL, "a", 1, 1), -1);
	e911_tombstones_flush(NULL, 1);
	assert_int_equal(e911_tombstones_count(NULL), 0);
	t = e911_tombstones_new(10, 0, 60);
	assert_non_null(t);
	assert_int_equal(e911_tombstone_put(t, "a", 1, -1), -1);
	assert_int_equal(e911_tombstone_put(t, "a", 0, 1), -1);
	{
		char big[300];
		memset(big, 'k', sizeof(big));
		assert_int_equal(e911_tombstone_put(t, big, sizeof(big), 1), -1);
		assert_int_equal(e911_tombstone_refuses(t, big, sizeof(big), 0, 1), 0);
	}
	e911_tombstones_destroy(t);
}

/* A removal made in one process refuses the record in another (the
 * replication workers are separate processes). */
static void test_across_processes(void **state)
{
	e911_tombstones_t *t = e911_tombstones_new(10, 0, 60);
	pid_t pid;
	int st;

	assert_non_null(t);
	pid = fork();
	assert_true(pid >= 0);
	if(pid == 0) {
		int ok = e911_tombstone_put(t, "alice", 5, 1000) == 0;
		e911_tombstones_flush(t, 900);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e911_tombstone_refuses(t, "alice", 5, 999, 1001), 1);
	assert_int_equal(e911_tombstone_removed_at(t, "bob", 3, 901), 900);
	e911_tombstones_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_arguments),
			cmocka_unit_test(test_across_processes),
	};
	int failed = 0;

	failed += tu_run_case_files(
			"tombstones_scenarios", TOMB_DATA, ".txt", test_scenario);
	failed += cmocka_run_group_tests_name("tombstones_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
