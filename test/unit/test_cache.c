/*
 * Unit tests of the shared-memory location cache (e911_cache.c) over the
 * test shim (shm_test.c): freshness transitions at chosen times, replace,
 * remove/flush/expire, walk, the entry and byte bounds, the sampled-LRU
 * eviction, running out of shared memory, over-long keys, the allocator
 * itself, and four forked processes hammering one cache while checking every
 * record they copy out. Records are built by hand here (a header and a pool
 * with a few strings, one of them a checksum of the others), so these tests
 * do not depend on the record parser.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e911_cache.h"
#include "e911_shm.h"
#include "shm_test.h"
#include "testutil.h"

#define T_FAR 1000000000LL /* a time no test reaches */

/* ---- records built by hand ---- */

/* FNV-1a 64 over len bytes, continuing from h. */
static uint64_t t_fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for(i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Checksum of what a test record carries: size, key field and filler. */
static uint64_t t_rec_sum(const e911_record_t *r)
{
	const char *key = e911_rec_get(r, E911_F_KEY);
	const char *fill = e911_rec_get(r, E911_CA_A1);
	uint64_t h = 0xcbf29ce484222325ULL;

	h = t_fnv(h, &r->size, sizeof(r->size));
	h = t_fnv(h, key, strlen(key) + 1);
	return t_fnv(h, fill, strlen(fill) + 1);
}

/* Appends s to the pool of r (at *used) as field f. */
static void t_rec_add(e911_record_t *r, size_t *used, int f, const char *s)
{
	size_t len = strlen(s);

	r->off[f] = (uint16_t)*used;
	memcpy(r->pool + *used, s, len + 1);
	*used += len + 1;
}

/* Builds a malloc()ed record of about size bytes (at least the minimum)
 * carrying key, a filler derived from seed, and their checksum (E911_CA_LOC,
 * 16 hex digits). */
static e911_record_t *t_rec(const char *key, size_t size, unsigned seed)
{
	size_t klen = strlen(key);
	size_t base = sizeof(e911_record_t) + 1 + (klen + 1) + 3 + 17;
	size_t fill = size > base + 2 ? size - base - 1 : 1;
	e911_record_t *r;
	char *buf;
	char sum[17];
	size_t used = 1;
	size_t i;

	buf = malloc(fill + 1);
	assert_non_null(buf);
	for(i = 0; i < fill; i++)
		buf[i] = (char)('a' + (seed + i * 7) % 26);
	buf[fill] = '\0';
	r = calloc(1, base + fill + 1);
	assert_non_null(r);
	r->pool[0] = '\0';
	t_rec_add(r, &used, E911_F_KEY, key);
	t_rec_add(r, &used, E911_CA_COUNTRY, "US");
	t_rec_add(r, &used, E911_CA_A1, buf);
	r->size = (uint32_t)(offsetof(e911_record_t, pool) + used + 17);
	r->max_age = -1;
	snprintf(sum, sizeof(sum), "%016llx", (unsigned long long)t_rec_sum(r));
	t_rec_add(r, &used, E911_CA_LOC, sum);
	free(buf);
	return r;
}

/* Whether r is an intact test record for key: sizes and offsets in range,
 * strings terminated inside the block, key and checksum right. */
static int t_rec_ok(const e911_record_t *r, const char *key, size_t klen)
{
	const char *end;
	const char *s;
	char sum[17];
	int f;

	if(r == NULL || r->size < sizeof(e911_record_t) + 4
			|| r->size > E911_REC_MAX_SIZE)
		return 0;
	end = (const char *)r + r->size;
	for(f = 0; f < E911_F_COUNT; f++) {
		if(r->off[f] == 0)
			continue;
		s = r->pool + r->off[f];
		if(s >= end || memchr(s, '\0', (size_t)(end - s)) == NULL)
			return 0;
	}
	s = e911_rec_get(r, E911_F_KEY);
	if(s == NULL || e911_rec_get(r, E911_CA_A1) == NULL
			|| e911_rec_get(r, E911_CA_LOC) == NULL)
		return 0;
	if(strlen(s) != klen || memcmp(s, key, klen) != 0)
		return 0;
	snprintf(sum, sizeof(sum), "%016llx", (unsigned long long)t_rec_sum(r));
	return strcmp(sum, e911_rec_get(r, E911_CA_LOC)) == 0;
}

static e911_cache_stats_t t_stats(e911_cache_t *c)
{
	e911_cache_stats_t st;

	e911_cache_get_stats(c, &st);
	return st;
}

/* Puts a record of size bytes for key (fresh/stale far ahead). */
static int t_put(e911_cache_t *c, const char *key, size_t size, int64_t now)
{
	e911_record_t *r = t_rec(key, size, (unsigned)now);
	int rc = e911_cache_put(
			c, key, strlen(key), r, now, T_FAR, T_FAR, E911_ORIGIN_SERVICE);

	free(r);
	return rc;
}

static e911_cstate_t t_look(
		e911_cache_t *c, const char *key, int64_t now, e911_cache_res_t *res)
{
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_cache_res_t tmp;
	e911_cstate_t st;

	if(res == NULL)
		res = &tmp;
	st = e911_cache_lookup(c, key, strlen(key), now, res, buf, sizeof(buf));
	if(res->rec != NULL)
		assert_true(t_rec_ok(res->rec, key, strlen(key)));
	return st;
}

/* Walk callback summing visits, bytes and record checks. */
typedef struct t_walk
{
	uint32_t n;
	uint64_t bytes;
	uint32_t negative;
	uint32_t bad;
	uint32_t stop_after; /* 0 = never */
} t_walk_t;

static int t_walk_cb(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	t_walk_t *w = arg;

	w->n++;
	w->bytes += e911_cache_entry_size(klen, res->rec);
	if(res->state == E911_CS_NEGATIVE) {
		w->negative++;
		if(res->rec != NULL)
			w->bad++;
	} else if(!t_rec_ok(res->rec, key, klen)) {
		w->bad++;
	}
	return w->stop_after != 0 && w->n >= w->stop_after;
}

/* Walk callback copying the (last) entry's result, record pointer
 * dropped. */
static int t_peek_cb(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	e911_cache_res_t *out = arg;

	*out = *res;
	out->rec = NULL;
	return 0;
}

static t_walk_t t_walk_all(e911_cache_t *c)
{
	t_walk_t w;

	memset(&w, 0, sizeof(w));
	e911_cache_walk(c, INT64_MIN, t_walk_cb, &w);
	return w;
}

/* Checks the invariants a quiet cache must satisfy. */
static void t_invariants(
		e911_cache_t *c, uint32_t max_entries, uint64_t max_bytes)
{
	e911_cache_stats_t st = t_stats(c);
	t_walk_t w = t_walk_all(c);

	assert_int_equal(w.bad, 0);
	assert_int_equal(w.n, st.entries);
	assert_int_equal(w.bytes, st.bytes);
	assert_true(st.entries <= max_entries);
	if(max_bytes != 0)
		assert_true(st.bytes <= max_bytes);
	assert_int_equal(e911_test_locks_held(), 0);
	assert_int_equal(e911_test_shm_check(), 0);
}

/* ---- tests ---- */

static void test_states(void **state)
{
	e911_cache_t *c = e911_cache_new(100, 0);
	e911_record_t *r = t_rec("alice", 350, 1);
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_cache_res_t res;

	assert_non_null(c);
	assert_int_equal(t_look(c, "alice", 100, &res), E911_CS_MISS);
	assert_null(res.rec);
	assert_int_equal(e911_cache_put(c, "alice", 5, r, 100, 200, 300,
							 E911_ORIGIN_SNAPSHOT),
			0);

	assert_int_equal(
			e911_cache_lookup(c, "alice", 5, 150, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_ptr_equal(res.rec, buf);
	assert_memory_equal(buf, r, r->size);
	assert_int_equal(res.origin, E911_ORIGIN_SNAPSHOT);
	assert_int_equal(res.fetched_at, 100);
	assert_int_equal(res.fresh_until, 200);
	assert_int_equal(res.stale_until, 300);
	assert_int_equal(res.hits, 1);
	assert_int_equal(res.last_used, 150);

	assert_int_equal(t_look(c, "alice", 199, NULL), E911_CS_FRESH);
	assert_int_equal(t_look(c, "alice", 200, &res), E911_CS_STALE);
	assert_int_equal(res.hits, 3);
	assert_int_equal(t_look(c, "alice", 299, NULL), E911_CS_STALE);
	/* a buffer too small: a miss that leaves the entry alone */
	assert_int_equal(
			e911_cache_lookup(c, "alice", 5, 150, &res, buf, 10), E911_CS_MISS);
	assert_null(res.rec);
	assert_int_equal(t_stats(c).entries, 1);
	/* end of the stale window: removed, reported as a miss */
	assert_int_equal(t_look(c, "alice", 300, &res), E911_CS_MISS);
	assert_null(res.rec);
	assert_int_equal(t_stats(c).entries, 0);
	assert_int_equal(t_stats(c).bytes, 0);
	assert_int_equal(t_stats(c).expired, 1);
	assert_int_equal(t_look(c, "alice", 150, NULL), E911_CS_MISS);

	/* negative entries */
	assert_int_equal(e911_cache_put_negative(c, "bob", 3, 100, 150), 0);
	assert_int_equal(t_look(c, "bob", 149, &res), E911_CS_NEGATIVE);
	assert_null(res.rec);
	assert_int_equal(res.fresh_until, 150);
	assert_int_equal(res.hits, 1);
	assert_int_equal(t_stats(c).bytes, e911_cache_entry_size(3, NULL));
	assert_int_equal(t_look(c, "bob", 150, NULL), E911_CS_MISS);
	assert_int_equal(t_stats(c).expired, 2);

	/* put_negative drops the positive entry; put replaces a negative one */
	assert_int_equal(e911_cache_put(c, "alice", 5, r, 100, 200, 300,
							 E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(e911_cache_put_negative(c, "alice", 5, 110, 500), 0);
	assert_int_equal(t_look(c, "alice", 400, &res), E911_CS_NEGATIVE);
	assert_null(res.rec);
	assert_int_equal(t_stats(c).entries, 1);
	assert_int_equal(e911_cache_put(c, "alice", 5, r, 120, 200, 300,
							 E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(t_look(c, "alice", 150, &res), E911_CS_FRESH);
	assert_int_equal(res.origin, E911_ORIGIN_SERVICE);
	assert_int_equal(res.fetched_at, 120);
	assert_int_equal(t_stats(c).entries, 1);
	assert_int_equal(t_stats(c).bytes, e911_cache_entry_size(5, r));

	/* a stale_until before fresh_until means no stale window */
	free(r);
	r = t_rec("carol", 350, 2);
	assert_int_equal(
			e911_cache_put(c, "carol", 5, r, 100, 200, 50, E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(t_look(c, "carol", 199, NULL), E911_CS_FRESH);
	assert_int_equal(t_look(c, "carol", 200, NULL), E911_CS_MISS);

	t_invariants(c, 100, 0);
	free(r);
	e911_cache_destroy(c);
}

static void test_replace_keeps_stats(void **state)
{
	e911_cache_t *c = e911_cache_new(100, 0);
	e911_record_t *small = t_rec("k", 200, 1);
	e911_record_t *big = t_rec("k", 900, 2);
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_cache_res_t res;
	int i;

	assert_int_equal(
			e911_cache_put(c, "k", 1, small, 10, 100, 200, E911_ORIGIN_SERVICE),
			0);
	for(i = 0; i < 3; i++)
		assert_int_equal(t_look(c, "k", 20 + i, NULL), E911_CS_FRESH);
	assert_int_equal(
			e911_cache_put(c, "k", 1, big, 50, 150, 250, E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(t_stats(c).entries, 1);
	assert_int_equal(t_stats(c).bytes, e911_cache_entry_size(1, big));
	/* seen without touching it: hits and last_used came across */
	memset(&res, 0, sizeof(res));
	assert_int_equal(e911_cache_walk(c, 55, t_peek_cb, &res), 1);
	assert_int_equal(res.hits, 3);
	assert_int_equal(res.last_used, 22);
	assert_int_equal(res.fetched_at, 50);
	assert_int_equal(e911_cache_lookup(c, "k", 1, 60, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_int_equal(res.hits, 4);
	assert_int_equal(res.fetched_at, 50);
	assert_int_equal(res.fresh_until, 150);
	assert_memory_equal(buf, big, big->size);
	/* a negative entry replacing a positive one keeps them too */
	assert_int_equal(e911_cache_put_negative(c, "k", 1, 70, 300), 0);
	assert_int_equal(t_look(c, "k", 80, &res), E911_CS_NEGATIVE);
	assert_int_equal(res.hits, 5);
	assert_int_equal(t_stats(c).bytes, e911_cache_entry_size(1, NULL));
	t_invariants(c, 100, 0);
	free(small);
	free(big);
	e911_cache_destroy(c);
}

static void test_remove_flush_expire(void **state)
{
	size_t allocs = e911_test_shm_allocs();
	size_t used = e911_test_shm_used();
	e911_cache_t *c = e911_cache_new(1000, 0);
	e911_record_t *r;
	char key[32];
	int i;

	for(i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		/* stale_until 1000 + i*10; every fourth one negative */
		if(i % 4 == 0)
			assert_int_equal(e911_cache_put_negative(
									 c, key, strlen(key), 1, 1000 + i * 10),
					0);
		else {
			r = t_rec(key, 300, i);
			assert_int_equal(e911_cache_put(c, key, strlen(key), r, 1, 500,
									 1000 + i * 10, E911_ORIGIN_SERVICE),
					0);
			free(r);
		}
	}
	assert_int_equal(t_stats(c).entries, 100);
	assert_int_equal(e911_cache_remove(c, "key-5", 5), 1);
	assert_int_equal(e911_cache_remove(c, "key-5", 5), 0);
	assert_int_equal(e911_cache_remove(c, "nope", 4), 0);
	assert_int_equal(t_stats(c).entries, 99);
	/* at 1100 the stale windows of i = 0..10 ended; 5 is already gone */
	assert_int_equal(e911_cache_expire(c, 1100), 10);
	assert_int_equal(t_stats(c).expired, 10);
	assert_int_equal(e911_cache_expire(c, 1100), 0);
	assert_int_equal(t_look(c, "key-11", 1100, NULL), E911_CS_STALE);
	assert_int_equal(t_look(c, "key-12", 1100, NULL), E911_CS_NEGATIVE);
	t_invariants(c, 1000, 0);
	assert_int_equal(e911_cache_flush(c), 89);
	assert_int_equal(t_stats(c).entries, 0);
	assert_int_equal(t_stats(c).bytes, 0);
	assert_int_equal(e911_cache_flush(c), 0);
	e911_cache_destroy(c);
	/* everything went back */
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_shm_used(), used);
}

static void test_walk(void **state)
{
	e911_cache_t *c = e911_cache_new(1000, 0);
	char key[32];
	t_walk_t w;
	int i;

	for(i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "w%d", i);
		if(i % 3 == 0)
			assert_int_equal(
					e911_cache_put_negative(c, key, strlen(key), 1, T_FAR), 0);
		else
			assert_int_equal(t_put(c, key, 100 + i, 1), 0);
	}
	w = t_walk_all(c);
	assert_int_equal(w.n, 300);
	assert_int_equal(w.negative, 100);
	assert_int_equal(w.bad, 0);
	assert_int_equal(w.bytes, t_stats(c).bytes);
	/* a non-zero return stops the walk */
	memset(&w, 0, sizeof(w));
	w.stop_after = 7;
	assert_int_equal(e911_cache_walk(c, 1, t_walk_cb, &w), 7);
	/* expired entries are not visited (nor removed) */
	assert_int_equal(e911_cache_put_negative(c, "old", 3, 1, 10), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(e911_cache_walk(c, 10, t_walk_cb, &w), 300);
	assert_int_equal(t_stats(c).entries, 301);
	assert_int_equal(e911_test_locks_held(), 0);
	e911_cache_destroy(c);
}

/* The incremental sweep: slices of lock groups, together a full pass, remove
 * exactly the expired entries and visit every live one once; a visitor that
 * stops does not stop the expiry. */
static void test_sweep_step(void **state)
{
	e911_cache_t *c = e911_cache_new(1000, 0);
	uint32_t groups = e911_cache_lock_groups(c);
	uint32_t cursor = 0;
	uint32_t removed = 0;
	uint32_t i;
	char key[32];
	t_walk_t w;

	assert_true(groups >= 2 && (groups & (groups - 1)) == 0);
	for(i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "s%u", i);
		if(i % 4 == 0) /* negative, gone at 50 */
			assert_int_equal(
					e911_cache_put_negative(c, key, strlen(key), 1, 50), 0);
		else
			assert_int_equal(t_put(c, key, 100 + i, 1), 0);
	}
	/* a full pass in three uneven steps, the last one wrapping */
	memset(&w, 0, sizeof(w));
	removed += e911_cache_sweep_step(c, &cursor, groups / 2, 60, t_walk_cb, &w);
	assert_int_equal(cursor, groups / 2);
	removed += e911_cache_sweep_step(c, &cursor, groups / 4, 60, t_walk_cb, &w);
	removed += e911_cache_sweep_step(
			c, &cursor, groups - groups / 2 - groups / 4, 60, t_walk_cb, &w);
	assert_int_equal(cursor, 0);
	assert_int_equal(removed, 100);
	assert_int_equal(w.n, 300);
	assert_int_equal(w.negative, 0);
	assert_int_equal(w.bad, 0);
	assert_int_equal(t_stats(c).entries, 300);
	assert_int_equal(t_stats(c).expired, 100);
	/* more than the table wraps to one pass; a stopped visitor still expires */
	assert_int_equal(t_put(c, "late", 100, 1), 0);
	assert_int_equal(e911_cache_put_negative(c, "gone", 4, 1, 70), 0);
	memset(&w, 0, sizeof(w));
	w.stop_after = 1;
	assert_int_equal(
			e911_cache_sweep_step(c, &cursor, 10 * groups, 80, t_walk_cb, &w),
			1);
	assert_int_equal(w.n, 1);
	assert_int_equal(cursor, 0);
	/* without a visitor: expiry only */
	assert_int_equal(
			e911_cache_sweep_step(c, &cursor, groups, 80, NULL, NULL), 0);
	assert_int_equal(t_stats(c).entries, 301);
	assert_int_equal(e911_test_locks_held(), 0);
	t_invariants(c, 1000, 0);
	e911_cache_destroy(c);
}

static void test_entry_bound(void **state)
{
	const uint32_t max = 1000;
	e911_cache_t *c = e911_cache_new(max, 0);
	char key[32];
	uint32_t i;

	for(i = 0; i < 10 * max; i++) {
		snprintf(key, sizeof(key), "sip:+1312555%06u@example.net", i);
		assert_int_equal(t_put(c, key, 300, i), 0);
		assert_true(t_stats(c).entries <= max);
	}
	assert_int_equal(t_stats(c).entries, max);
	assert_int_equal(t_stats(c).evictions, 9 * max);
	assert_int_equal(t_stats(c).put_failed, 0);
	t_invariants(c, max, 0);
	e911_cache_destroy(c);
}

static void test_byte_bound(void **state)
{
	e911_record_t *r = t_rec("b000", 400, 4);
	size_t one = e911_cache_entry_size(4, r);
	uint64_t max_bytes = 20 * one + one / 2;
	e911_cache_t *c = e911_cache_new(1000, max_bytes);
	char key[32];
	int i;

	for(i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "b%03d", i);
		free(r);
		r = t_rec(key, 400, i);
		assert_int_equal(e911_cache_entry_size(4, r), one);
		assert_int_equal(e911_cache_put(c, key, 4, r, i, T_FAR, T_FAR,
								 E911_ORIGIN_SERVICE),
				0);
		assert_true(t_stats(c).bytes <= max_bytes);
	}
	assert_int_equal(t_stats(c).entries, 20);
	/* a record bigger than the whole budget never fits */
	free(r);
	r = t_rec("huge", 12000, 5);
	assert_int_equal(e911_cache_put(c, "huge", 4, r, 300, T_FAR, T_FAR,
							 E911_ORIGIN_SERVICE),
			-1);
	assert_int_equal(t_stats(c).put_failed, 1);
	assert_int_equal(t_stats(c).entries, 20);
	t_invariants(c, 1000, max_bytes);
	free(r);
	e911_cache_destroy(c);
}

static void test_lru_keeps_used(void **state)
{
	const int n = 2000;
	const int touched = n / 20; /* 5% */
	e911_cache_t *c = e911_cache_new(n, 0);
	char key[32];
	int64_t now = 1;
	int i, j;

	for(i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "old%d", i);
		assert_int_equal(t_put(c, key, 300, now++), 0);
	}
	/* touch every 20th key, then keep touching them while inserting */
	for(i = 0; i < n / 2; i++) {
		if(i % 50 == 0) {
			for(j = 0; j < touched; j++) {
				snprintf(key, sizeof(key), "old%d", j * 20);
				assert_int_equal(t_look(c, key, now, NULL), E911_CS_FRESH);
			}
			now++;
		}
		snprintf(key, sizeof(key), "new%d", i);
		assert_int_equal(t_put(c, key, 300, now++), 0);
	}
	assert_int_equal(t_stats(c).evictions, n / 2);
	for(j = 0; j < touched; j++) {
		snprintf(key, sizeof(key), "old%d", j * 20);
		assert_int_equal(t_look(c, key, now, NULL), E911_CS_FRESH);
	}
	t_invariants(c, n, 0);
	e911_cache_destroy(c);
}

static void test_out_of_shm(void **state)
{
	e911_cache_t *c = e911_cache_new(1000, 0);
	e911_record_t *huge = t_rec("k000", 15000, 6);
	e911_cache_stats_t st;
	size_t allocs;
	char key[32];
	int i;

	for(i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		assert_int_equal(t_put(c, key, 200, i + 1), 0);
	}
	/* no room for anything more */
	e911_test_shm_limit(e911_test_shm_used());

	/* creating a cache fails cleanly */
	allocs = e911_test_shm_allocs();
	assert_null(e911_cache_new(10, 0));
	assert_int_equal(e911_test_shm_allocs(), allocs);

	/* replacing k000 with a huge record: eviction frees too little */
	assert_int_equal(e911_cache_put(c, "k000", 4, huge, 200, T_FAR, T_FAR,
							 E911_ORIGIN_SERVICE),
			-1);
	st = t_stats(c);
	assert_int_equal(st.put_failed, 1);
	assert_true(st.evictions > 0);
	assert_int_equal(st.entries, 100 - st.evictions);
	/* the old entry was spared and kept */
	assert_int_equal(t_look(c, "k000", 201, NULL), E911_CS_FRESH);
	t_invariants(c, 1000, 0);

	/* a small insert fits in what eviction freed */
	assert_int_equal(t_put(c, "n1", 200, 202), 0);
	/* at the limit again: the insert evicts and retries, and succeeds */
	e911_test_shm_limit(e911_test_shm_used());
	st = t_stats(c);
	assert_int_equal(t_put(c, "n2", 200, 203), 0);
	assert_true(t_stats(c).evictions > st.evictions);
	assert_int_equal(t_stats(c).put_failed, 1);
	assert_int_equal(t_look(c, "n2", 204, NULL), E911_CS_FRESH);
	assert_int_equal(t_look(c, "n1", 204, NULL), E911_CS_FRESH);

	/* nothing at all allocatable: puts fail, lookups still work */
	e911_test_shm_limit(0);
	st = t_stats(c);
	assert_int_equal(t_put(c, "n3", 200, 205), -1);
	assert_int_equal(e911_cache_put_negative(c, "n4", 2, 205, T_FAR), -1);
	assert_int_equal(t_stats(c).put_failed, st.put_failed + 2);
	assert_int_equal(t_look(c, "n3", 206, NULL), E911_CS_MISS);
	assert_int_equal(t_stats(c).entries, 0);
	t_invariants(c, 1000, 0);

	e911_test_shm_limit(E911_TEST_SHM_NOLIMIT);
	assert_int_equal(t_put(c, "n3", 200, 207), 0);
	assert_int_equal(t_look(c, "n3", 208, NULL), E911_CS_FRESH);
	free(huge);
	e911_cache_destroy(c);
}

static void test_long_key(void **state)
{
	e911_cache_t *c = e911_cache_new(100, 0);
	e911_record_t *r = t_rec("x", 300, 7);
	char key[E911_KEY_MAX + 2];
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_cache_res_t res;

	memset(key, 'k', sizeof(key));
	assert_int_equal(e911_cache_put(c, key, E911_KEY_MAX + 1, r, 1, T_FAR,
							 T_FAR, E911_ORIGIN_SERVICE),
			-1);
	assert_int_equal(
			e911_cache_put_negative(c, key, E911_KEY_MAX + 1, 1, T_FAR), -1);
	assert_int_equal(e911_cache_lookup(c, key, E911_KEY_MAX + 1, 1, &res, buf,
							 sizeof(buf)),
			E911_CS_MISS);
	assert_int_equal(e911_cache_remove(c, key, E911_KEY_MAX + 1), 0);
	assert_int_equal(t_stats(c).entries, 0);
	assert_int_equal(t_stats(c).put_failed, 0);
	/* the longest allowed key works, and a prefix is another key */
	assert_int_equal(e911_cache_put(c, key, E911_KEY_MAX, r, 1, T_FAR, T_FAR,
							 E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(
			e911_cache_lookup(c, key, E911_KEY_MAX, 1, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_int_equal(e911_cache_lookup(c, key, E911_KEY_MAX - 1, 1, &res, buf,
							 sizeof(buf)),
			E911_CS_MISS);
	/* a bad record size is refused */
	r->size = 10;
	assert_int_equal(
			e911_cache_put(c, "y", 1, r, 1, T_FAR, T_FAR, E911_ORIGIN_SERVICE),
			-1);
	free(r);
	e911_cache_destroy(c);
}

/* The allocator under the cache: random sizes, random frees, checked. */
static void test_shm_allocator(void **state)
{
	enum
	{
		N = 2000
	};
	static void *p[N];
	static size_t sz[N];
	size_t used = e911_test_shm_used();
	unsigned seed = 12345;
	int i, k;

	for(k = 0; k < 20000; k++) {
		i = (int)(rand_r(&seed) % N);
		if(p[i] != NULL) {
			assert_int_equal(*(unsigned char *)p[i], (unsigned char)sz[i]);
			e911_shm_free(p[i]);
			p[i] = NULL;
		} else {
			sz[i] = 1 + rand_r(&seed) % (rand_r(&seed) % 8 == 0 ? 20000 : 600);
			p[i] = e911_shm_malloc(sz[i]);
			assert_non_null(p[i]);
			assert_int_equal((uintptr_t)p[i] % 16, 0);
			memset(p[i], (unsigned char)sz[i], sz[i]);
		}
		if(k % 1000 == 0)
			assert_int_equal(e911_test_shm_check(), 0);
	}
	for(i = 0; i < N; i++) {
		e911_shm_free(p[i]);
		p[i] = NULL;
	}
	assert_int_equal(e911_test_shm_check(), 0);
	assert_int_equal(e911_test_shm_used(), used);
}

/* ---- concurrency ---- */

#define CC_PROCS 4
#define CC_KEYS 5000
#define CC_MAX 1000
#define CC_SECONDS 1.5
#define CC_MAX_OPS 3000000

typedef struct cc_walk
{
	unsigned bad;
} cc_walk_t;

static int cc_walk_cb(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	cc_walk_t *w = arg;

	if(res->state == E911_CS_NEGATIVE ? res->rec != NULL
									  : !t_rec_ok(res->rec, key, klen))
		w->bad++;
	return 0;
}

/* What the processes of the concurrency test share. */
typedef struct cc_arg
{
	e911_cache_t *const *caches;
	int64_t *clock;
} cc_arg_t;

/* One child: a random mix of operations on shared keys of both caches;
 * every record copied out must be intact and every state must agree with
 * its times. Returns the number of violations. */
static int cc_child(void *arg, unsigned id)
{
	const cc_arg_t *a = arg;
	e911_cache_t *const *caches = a->caches;
	int64_t *clock = a->clock;
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	unsigned seed = 0x9e3779b9u * (id + 1);
	struct timespec t0;
	e911_cache_res_t res;
	e911_cache_t *c;
	e911_record_t *r;
	cc_walk_t w;
	uint32_t cursor = 0;
	char key[64];
	size_t klen;
	int64_t now;
	unsigned op;
	long ops;
	int bad = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for(ops = 0; ops < CC_MAX_OPS && bad == 0; ops++) {
		if(ops % 256 == 0 && tu_elapsed(&t0) >= CC_SECONDS)
			break;
		now = __atomic_load_n(clock, __ATOMIC_RELAXED);
		c = caches[rand_r(&seed) % 2];
		klen = (size_t)snprintf(key, sizeof(key), "sip:+1%09u@pbx.example",
				rand_r(&seed) % CC_KEYS);
		op = rand_r(&seed) % 1000;
		if(op < 450) {
			e911_cstate_t st = e911_cache_lookup(
					c, key, klen, now, &res, buf, sizeof(buf));
			if(st != res.state)
				bad++;
			else if(st == E911_CS_FRESH || st == E911_CS_STALE) {
				if(res.rec != (void *)buf || !t_rec_ok(res.rec, key, klen))
					bad++;
				if(st == E911_CS_FRESH && !(now < res.fresh_until))
					bad++;
				if(st == E911_CS_STALE
						&& !(res.fresh_until <= now && now < res.stale_until))
					bad++;
			} else if(st == E911_CS_NEGATIVE) {
				if(res.rec != NULL || !(now < res.fresh_until))
					bad++;
			} else if(res.rec != NULL) {
				bad++;
			}
		} else if(op < 750) {
			r = t_rec(key, 100 + rand_r(&seed) % 1500, rand_r(&seed));
			e911_cache_put(c, key, klen, r, now, now + rand_r(&seed) % 50,
					now + rand_r(&seed) % 100, rand_r(&seed) % 2);
			free(r);
		} else if(op < 850) {
			e911_cache_put_negative(
					c, key, klen, now, now + rand_r(&seed) % 50);
		} else if(op < 950) {
			e911_cache_remove(c, key, klen);
		} else if(op < 955) {
			e911_cache_expire(c, now);
		} else if(op < 957) {
			memset(&w, 0, sizeof(w));
			e911_cache_walk(c, now, cc_walk_cb, &w);
			bad += (int)w.bad;
		} else if(op < 962) {
			/* the housekeeper's incremental sweep, a slice at a time */
			memset(&w, 0, sizeof(w));
			e911_cache_sweep_step(
					c, &cursor, 1 + rand_r(&seed) % 8, now, cc_walk_cb, &w);
			bad += (int)w.bad;
		} else if(rand_r(&seed) % 200 == 0) {
			/* the shared clock: a tick every ~1000 operations in all */
			__atomic_add_fetch(clock, 1, __ATOMIC_RELAXED);
		}
	}
	if(bad != 0)
		fprintf(stderr, "child %u: %d violations after %ld ops\n", id, bad,
				ops);
	return bad;
}

static void test_concurrency(void **state)
{
	/* one cache bound by its entry count, one by its bytes */
	const uint32_t max_e[2] = {CC_MAX, 4 * CC_MAX};
	const uint64_t max_b[2] = {0, 1200000};
	size_t allocs = e911_test_shm_allocs();
	e911_cache_t *c[2];
	e911_cache_stats_t st;
	int64_t *clock = e911_shm_malloc(sizeof(*clock));
	unsigned i;

	c[0] = e911_cache_new(max_e[0], max_b[0]);
	c[1] = e911_cache_new(max_e[1], max_b[1]);
	assert_non_null(c[0]);
	assert_non_null(c[1]);
	assert_non_null(clock);
	*clock = 1000;
	tu_run_children(CC_PROCS, cc_child, &(cc_arg_t){c, clock});
	for(i = 0; i < 2; i++) {
		t_invariants(c[i], max_e[i], max_b[i]);
		st = t_stats(c[i]);
		print_message("concurrency, cache %u: %llu entries, %llu bytes, "
					  "%llu evictions, %llu expired, %llu put_failed\n",
				i, (unsigned long long)st.entries, (unsigned long long)st.bytes,
				(unsigned long long)st.evictions,
				(unsigned long long)st.expired,
				(unsigned long long)st.put_failed);
		/* the bound was reached and enforced */
		assert_true(st.evictions > 0);
		e911_cache_destroy(c[i]);
	}
	e911_shm_free(clock);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_shm_check(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_states),
			cmocka_unit_test(test_replace_keeps_stats),
			cmocka_unit_test(test_remove_flush_expire),
			cmocka_unit_test(test_walk),
			cmocka_unit_test(test_sweep_step),
			cmocka_unit_test(test_entry_bound),
			cmocka_unit_test(test_byte_bound),
			cmocka_unit_test(test_lru_keeps_used),
			cmocka_unit_test(test_out_of_shm),
			cmocka_unit_test(test_long_key),
			cmocka_unit_test(test_shm_allocator),
			cmocka_unit_test(test_concurrency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
