/*
 * Unit tests: the PSAP-callback memory (modules/e911/core/e911_callback_memory.c) over
 * the shared-memory shim (shm_test.c).
 *
 * Data-driven (see test/data/recent/README.md): the number normalisation
 * table and scenario scripts, one cmocka test per script. Table tests cover
 * the bounds, memory accounting, a full table reused after everything
 * expired, visibility across processes, and four forked processes hammering
 * one table before its structure is checked by filling it to the brim.
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
#include <time.h>
#include <unistd.h>

#include "e911_callback_memory.h"
#include "e911_shm.h"
#include "shm_test.h"
#include "testutil.h"

#define RECENT_DATA E911_TEST_DATA "/recent"
#define MAXF 6

static void test_normalize(void **state)
{
	tu_lines_t l;
	char *line;
	char *f[MAXF];
	char out[E911_RECENT_DIGITS_MAX + 1];
	int count = 0;

	tu_lines_open(&l, RECENT_DATA "/normalize.txt");
	while((line = tu_lines_next(&l)) != NULL) {
		int rc;

		if(tu_split(line, f, MAXF) != 2)
			fail_msg("%s:%d: malformed line", l.path, l.lineno);
		rc = e911_recent_callers_normalize(
				f[1], strlen(f[1]), out, sizeof(out));
		if(strcmp(f[0], "-") == 0) {
			if(rc != -1)
				fail_msg(
						"'%s' normalised to %s, expected rejection", f[1], out);
		} else {
			if(rc < 0)
				fail_msg("'%s' rejected, expected %s", f[1], f[0]);
			assert_string_equal(out, f[0]);
			assert_int_equal(rc, strlen(f[0]));
		}
		count++;
	}
	assert_true(count >= 20);
	/* controls, a short buffer, NULL, the length honoured */
	assert_int_equal(
			e911_recent_callers_normalize("+1312555\r\n0100", 15, out, 16), -1);
	assert_int_equal(
			e911_recent_callers_normalize("+13125550100", 12, out, 15), -1);
	assert_int_equal(e911_recent_callers_normalize(NULL, 0, out, 16), -1);
	assert_int_equal(e911_recent_callers_normalize("4100x", 4, out, 16), 4);
	assert_string_equal(out, "4100");
}

static void test_scenario(void **state)
{
	const tu_case_t *c = *state;
	size_t allocs = e911_test_shm_allocs();
	e911_recent_callers_t *r = NULL;
	tu_lines_t l;
	char *line;
	char *f[MAXF];

	tu_lines_open(&l, c->path);
	while((line = tu_lines_next(&l)) != NULL) {
		int n;
		long long got = 0;
		long long want;

		n = tu_split(line, f, MAXF);
		want = atoll(f[n - 1]);
		if(strcmp(f[0], "new") == 0 && n == 2) {
			e911_recent_callers_destroy(r);
			r = e911_recent_callers_new((uint32_t)atol(f[1]));
			assert_non_null(r);
			continue;
		}
		if(r == NULL)
			fail_msg("%s:%d: no table yet", c->path, l.lineno);
		if(strcmp(f[0], "put") == 0 && n == 4)
			got = e911_recent_callers_put(r, f[1], strlen(f[1]), atoll(f[2]));
		else if(strcmp(f[0], "check") == 0 && n == 4)
			got = e911_recent_callers_check(r, f[1], strlen(f[1]), atoll(f[2]));
		else if(strcmp(f[0], "remove") == 0 && n == 3)
			got = e911_recent_callers_remove(r, f[1], strlen(f[1]));
		else if(strcmp(f[0], "expire") == 0 && n == 3)
			got = e911_recent_callers_expire(r, atoll(f[1]));
		else if(strcmp(f[0], "count") == 0 && n == 2)
			got = e911_recent_callers_count(r);
		else
			fail_msg("%s:%d: unknown operation", c->path, l.lineno);
		if(got != want)
			fail_msg("%s:%d: %s gave %lld, expected %lld", c->path, l.lineno,
					f[0], got, want);
	}
	e911_recent_callers_destroy(r);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_locks_held(), 0);
}

/* ---- table tests ---- */

static void number(char *buf, size_t size, unsigned i)
{
	snprintf(buf, size, "+1312%07u", i);
}

static void test_bounds(void **state)
{
	size_t allocs = e911_test_shm_allocs();
	e911_recent_callers_t *r;
	char num[32];

	assert_null(e911_recent_callers_new(0));
	assert_null(e911_recent_callers_new(E911_RECENT_MAX_ENTRIES + 1));
	e911_recent_callers_destroy(NULL);
	assert_int_equal(e911_recent_callers_put(NULL, "911", 3, 1), -1);
	assert_int_equal(e911_recent_callers_check(NULL, "911", 3, 1), -1);
	assert_int_equal(e911_recent_callers_remove(NULL, "911", 3), -1);
	assert_int_equal(e911_recent_callers_expire(NULL, 1), 0);
	assert_int_equal(e911_recent_callers_count(NULL), 0);

	/* one entry: each put replaces the previous number */
	r = e911_recent_callers_new(1);
	assert_non_null(r);
	for(unsigned i = 0; i < 100; i++) {
		number(num, sizeof(num), i);
		assert_int_equal(e911_recent_callers_put(r, num, strlen(num), 10), 0);
		assert_int_equal(e911_recent_callers_count(r), 1);
		assert_int_equal(e911_recent_callers_check(r, num, strlen(num), 0), 1);
	}
	number(num, sizeof(num), 98);
	assert_int_equal(e911_recent_callers_check(r, num, strlen(num), 0), 0);
	e911_recent_callers_destroy(r);
	assert_int_equal(e911_test_shm_allocs(), allocs);

	/* out of shared memory */
	e911_test_shm_limit(e911_test_shm_used() + 1024);
	assert_null(e911_recent_callers_new(1000));
	e911_test_shm_limit(E911_TEST_SHM_NOLIMIT);
	assert_int_equal(e911_test_shm_allocs(), allocs);
}

/* A table used to its bound, then expired, holds max entries again. */
static void test_full_cycles(void **state)
{
	const uint32_t max = 500;
	e911_recent_callers_t *r = e911_recent_callers_new(max);
	char num[32];

	assert_non_null(r);
	for(int round = 0; round < 3; round++) {
		for(unsigned i = 0; i < 3 * max; i++) {
			number(num, sizeof(num), round * 10000 + i);
			assert_int_equal(
					e911_recent_callers_put(r, num, strlen(num), 100 + round),
					0);
		}
		assert_int_equal(e911_recent_callers_count(r), max);
		/* the newest max survive, the others were evicted oldest first */
		for(unsigned i = 0; i < 3 * max; i++) {
			number(num, sizeof(num), round * 10000 + i);
			assert_int_equal(e911_recent_callers_check(r, num, strlen(num), 0),
					i >= 2 * max ? 1 : 0);
		}
		assert_int_equal(e911_recent_callers_expire(r, 100 + round), max);
		assert_int_equal(e911_recent_callers_count(r), 0);
	}
	e911_recent_callers_destroy(r);
	assert_int_equal(e911_test_shm_check(), 0);
}

/* Puts 50 numbers into the table arg; returns how many failed. */
static int put_fifty(void *arg, unsigned id)
{
	e911_recent_callers_t *r = arg;
	char num[32];
	int bad = 0;

	for(unsigned i = 0; i < 50; i++) {
		number(num, sizeof(num), i);
		bad += e911_recent_callers_put(r, num, strlen(num), 1000) != 0;
	}
	return bad;
}

/* A number put by one process is seen by another. */
static void test_across_processes(void **state)
{
	e911_recent_callers_t *r = e911_recent_callers_new(64);
	char num[32];

	assert_non_null(r);
	tu_run_children(1, put_fifty, r);
	for(unsigned i = 0; i < 50; i++) {
		snprintf(num, sizeof(num), "tel:+1-312-%07u", i);
		assert_int_equal(
				e911_recent_callers_check(r, num, strlen(num), 999), 1);
	}
	assert_int_equal(e911_recent_callers_count(r), 50);
	e911_recent_callers_destroy(r);
}

#define MP_PROCS 4
#define MP_MAX 64
#define MP_NUMBERS 200
#define MP_SECONDS 1.0

/* What the processes of the concurrency test share. */
typedef struct mp_arg
{
	e911_recent_callers_t *r;
	int64_t *clock;
} mp_arg_t;

/* One hammering process: random puts, checks, removes and expiries in
 * every spelling; returns the number of contract violations seen. */
static int mp_child(void *arg, unsigned id)
{
	const mp_arg_t *a = arg;
	e911_recent_callers_t *r = a->r;
	int64_t *clock = a->clock;
	unsigned seed = 0x9e3779b9u * (id + 1);
	struct timespec t0;
	char num[64];
	long ops;
	int bad = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for(ops = 0; bad == 0; ops++) {
		unsigned k = (unsigned)rand_r(&seed) % MP_NUMBERS;
		unsigned op = (unsigned)rand_r(&seed) % 100;
		int64_t now = __atomic_load_n(clock, __ATOMIC_RELAXED);
		int rc;

		if(ops % 256 == 0 && tu_elapsed(&t0) >= MP_SECONDS)
			break;
		switch(rand_r(&seed) % 3) {
			case 0:
				snprintf(num, sizeof(num), "+1312%07u", k);
				break;
			case 1:
				snprintf(num, sizeof(num), "tel:+1-312-%07u", k);
				break;
			default:
				snprintf(num, sizeof(num), "sip:1312%07u@x;user=phone", k);
				break;
		}
		if(op < 40) {
			rc = e911_recent_callers_put(
					r, num, strlen(num), now + 1 + rand_r(&seed) % 20);
			bad += rc != 0;
		} else if(op < 85) {
			rc = e911_recent_callers_check(r, num, strlen(num), now);
			bad += rc != 0 && rc != 1;
		} else if(op < 95) {
			rc = e911_recent_callers_remove(r, num, strlen(num));
			bad += rc != 0 && rc != 1;
		} else if(op < 97) {
			e911_recent_callers_expire(r, now);
		} else {
			__atomic_add_fetch(clock, 1, __ATOMIC_RELAXED);
		}
		bad += e911_recent_callers_count(r) > MP_MAX;
	}
	if(bad)
		fprintf(stderr, "child %u: %d violations after %ld ops\n", id, bad,
				ops);
	return bad;
}

static void test_concurrency(void **state)
{
	size_t allocs = e911_test_shm_allocs();
	e911_recent_callers_t *r = e911_recent_callers_new(MP_MAX);
	int64_t *clock = e911_shm_malloc(sizeof(*clock));
	char num[32];
	uint32_t held;

	assert_non_null(r);
	assert_non_null(clock);
	*clock = 1000;
	tu_run_children(MP_PROCS, mp_child, &(mp_arg_t){r, clock});
	assert_int_equal(e911_test_locks_held(), 0);
	assert_true(e911_recent_callers_count(r) <= MP_MAX);
	/* the structure survived: everything expires, and then exactly
	 * MP_MAX new numbers fit and are all found */
	held = e911_recent_callers_count(r);
	assert_int_equal(e911_recent_callers_expire(r, INT64_MAX), held);
	assert_int_equal(e911_recent_callers_count(r), 0);
	for(unsigned i = 0; i < MP_MAX; i++) {
		number(num, sizeof(num), 5000 + i);
		assert_int_equal(e911_recent_callers_put(r, num, strlen(num), 10), 0);
	}
	assert_int_equal(e911_recent_callers_count(r), MP_MAX);
	for(unsigned i = 0; i < MP_MAX; i++) {
		number(num, sizeof(num), 5000 + i);
		assert_int_equal(e911_recent_callers_check(r, num, strlen(num), 0), 1);
	}
	e911_shm_free(clock);
	e911_recent_callers_destroy(r);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_shm_check(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_normalize),
			cmocka_unit_test(test_bounds),
			cmocka_unit_test(test_full_cycles),
			cmocka_unit_test(test_across_processes),
			cmocka_unit_test(test_concurrency),
	};
	int failed = 0;

	failed += tu_run_case_files("recent_scenarios", RECENT_DATA "/scenarios",
			".txt", test_scenario);
	failed += cmocka_run_group_tests_name("recent_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
