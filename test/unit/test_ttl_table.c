/*
 * Unit tests: the module's one expiring shared-memory table
 * (modules/e911/core/e911_ttl_table.c) - what its two users (reference
 * tokens, PSAP-callback memory; test_tokens.c, test_recent.c) do not show:
 * the put flags, the walk, the byte bound, running out of shared memory.
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "e911_ttl_table.h"
#include "shm_test.h"

static int read_str(const void *value, size_t vlen, void *arg)
{
	memcpy(arg, value, vlen);
	((char *)arg)[vlen] = '\0';
	return (int)vlen;
}

static void test_put_flags(void **state)
{
	e911_ttl_table_t *t = e911_ttl_new(8, 0);
	char out[32];

	assert_non_null(t);
	assert_int_equal(
			e911_ttl_put(t, "k", 1, "one", 3, 100, E911_TTL_NEW), E911_TTL_OK);
	/* NEW refuses a key that is there and leaves it as it was */
	assert_int_equal(e911_ttl_put(t, "k", 1, "two", 3, 500, E911_TTL_NEW),
			E911_TTL_EXISTS);
	assert_int_equal(e911_ttl_read(t, "k", 1, 0, read_str, out), 3);
	assert_string_equal(out, "one");
	assert_int_equal(e911_ttl_live(t, "k", 1, 100), 0); /* expired at 100 */
	/* KEEP_LATER replaces the value and keeps the later expiry */
	assert_int_equal(
			e911_ttl_put(t, "k", 1, "one", 3, 300, E911_TTL_NEW), E911_TTL_OK);
	assert_int_equal(
			e911_ttl_put(t, "k", 1, "three", 5, 200, E911_TTL_KEEP_LATER),
			E911_TTL_OK);
	assert_int_equal(e911_ttl_read(t, "k", 1, 250, read_str, out), 5);
	assert_string_equal(out, "three");
	assert_int_equal(e911_ttl_live(t, "k", 1, 299), 1);
	assert_int_equal(e911_ttl_live(t, "k", 1, 300), 0);
	/* bad arguments */
	assert_int_equal(e911_ttl_put(t, NULL, 1, "x", 1, 1, 0), E911_TTL_FAIL);
	assert_int_equal(e911_ttl_put(t, "k", 0, "x", 1, 1, 0), E911_TTL_FAIL);
	assert_int_equal(e911_ttl_put(t, "k", E911_TTL_KEY_MAX + 1, "x", 1, 1, 0),
			E911_TTL_FAIL);
	e911_ttl_destroy(t);
	assert_int_equal(e911_test_shm_check(), 0);
}

typedef struct walk_acc
{
	char keys[64];
	int stop_after;
} walk_acc_t;

static int walk_fn(const void *key, size_t klen, const void *value, size_t vlen,
		int64_t expires, void *arg)
{
	walk_acc_t *a = arg;

	strncat(a->keys, key, klen);
	return --a->stop_after == 0;
}

static void test_walk_order_and_stop(void **state)
{
	e911_ttl_table_t *t = e911_ttl_new(8, 0);
	walk_acc_t a;

	assert_non_null(t);
	e911_ttl_put(t, "c", 1, NULL, 0, 300, E911_TTL_NEW);
	e911_ttl_put(t, "a", 1, NULL, 0, 100, E911_TTL_NEW);
	e911_ttl_put(t, "b", 1, NULL, 0, 200, E911_TTL_NEW);
	e911_ttl_put(t, "d", 1, NULL, 0, 200, E911_TTL_NEW); /* tie: after b */
	memset(&a, 0, sizeof(a));
	a.stop_after = 100;
	/* in order of expiry; the expired one (a, at 150) is skipped */
	assert_int_equal(e911_ttl_walk(t, 150, walk_fn, &a), 3);
	assert_string_equal(a.keys, "bdc");
	memset(&a, 0, sizeof(a));
	a.stop_after = 2;
	assert_int_equal(e911_ttl_walk(t, 0, walk_fn, &a), 2);
	assert_string_equal(a.keys, "ab");
	e911_ttl_destroy(t);
}

static void test_byte_bound(void **state)
{
	size_t one = e911_ttl_entry_size(1, 100);
	e911_ttl_table_t *t = e911_ttl_new(100, 2 * one);
	char v[600];
	e911_ttl_stats_t st;

	assert_non_null(t);
	memset(v, 'x', sizeof(v));
	assert_int_equal(e911_ttl_put(t, "a", 1, v, 100, 10, 0), E911_TTL_OK);
	assert_int_equal(e911_ttl_put(t, "b", 1, v, 100, 20, 0), E911_TTL_OK);
	/* a third entry only fits once the one expiring first is gone */
	assert_int_equal(e911_ttl_put(t, "c", 1, v, 100, 30, 0), E911_TTL_OK);
	assert_int_equal(e911_ttl_live(t, "a", 1, 0), 0);
	assert_int_equal(e911_ttl_live(t, "c", 1, 0), 1);
	/* an entry larger than the whole budget is refused */
	assert_int_equal(e911_ttl_put(t, "d", 1, v, 500, 40, 0), E911_TTL_FAIL);
	e911_ttl_get_stats(t, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.bytes, 2 * one);
	assert_int_equal(st.evicted, 1);
	e911_ttl_destroy(t);
}

static void test_out_of_shared_memory(void **state)
{
	e911_ttl_table_t *t = e911_ttl_new(1000, 0);
	char v[512];
	e911_ttl_stats_t st;
	int ok = 0;
	int i;

	assert_non_null(t);
	memset(v, 'y', sizeof(v));
	e911_test_shm_limit(e911_test_shm_used() + 8 * 1024);
	/* puts keep succeeding by making room; none fails outright */
	for(i = 0; i < 200; i++) {
		char k[8];

		snprintf(k, sizeof(k), "k%d", i);
		ok += e911_ttl_put(t, k, strlen(k), v, sizeof(v), 1000 + i, 0)
			  == E911_TTL_OK;
	}
	e911_ttl_get_stats(t, &st);
	assert_int_equal(ok, 200);
	assert_true(st.evicted > 0);
	assert_true(st.entries < 200);
	e911_test_shm_limit(E911_TEST_SHM_NOLIMIT);
	e911_ttl_destroy(t);
	assert_int_equal(e911_test_locks_held(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_put_flags),
			cmocka_unit_test(test_walk_order_and_stop),
			cmocka_unit_test(test_byte_bound),
			cmocka_unit_test(test_out_of_shared_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
