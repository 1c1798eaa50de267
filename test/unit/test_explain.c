/*
 * Unit tests: what e911.explain decides without placing a call - the
 * location source and its trail (core/e911_explain.c) over a table of
 * cache and service states, the route choice the rewrite and explain share
 * (core/e911_route_choice.c), and a cache peek that changes nothing
 * (e911_cache_peek).
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e911_cache.h"
#include "e911_explain.h"
#include "e911_record.h"
#include "e911_route_choice.h"
#include "shm_test.h"

static const char rec_route[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\","
		"\"RD\":\"Main\",\"HNO\":\"100\"},\"validated\":true,"
		"\"route\":{\"uri\":\"sip:911@psap.example\"}}";
static const char rec_noroute[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\","
		"\"RD\":\"Main\",\"HNO\":\"100\"},\"validated\":true}";

static e911_record_t *parse(const char *j)
{
	char err[160];
	e911_record_t *r = e911_record_parse(j, strlen(j), err, sizeof(err));

	assert_non_null(r);
	return r;
}

static void test_route_choice(void **state)
{
	e911_record_t *with = parse(rec_route);
	e911_record_t *without = parse(rec_noroute);

	/* rec, test call, test_route set, default set -> kind */
	assert_int_equal(e911_route_choose(NULL, 0, 1, 1), E911_RT_FALLBACK);
	assert_int_equal(e911_route_choose(NULL, 1, 1, 1), E911_RT_FALLBACK);
	assert_int_equal(e911_route_choose(with, 0, 1, 1), E911_RT_RECORD);
	assert_int_equal(e911_route_choose(with, 1, 1, 1), E911_RT_TEST);
	assert_int_equal(e911_route_choose(with, 1, 0, 1), E911_RT_RECORD);
	assert_int_equal(e911_route_choose(without, 0, 0, 1), E911_RT_DEFAULT);
	assert_int_equal(e911_route_choose(without, 0, 0, 0), E911_RT_FALLBACK);
	assert_string_equal(e911_route_kind_name(E911_RT_DEFAULT), "default");
	assert_string_equal(e911_route_kind_name(E911_RT_TEST), "test");
	free(with);
	free(without);
}

static void test_location_table(void **state)
{
	e911_record_t *r = parse(rec_route);
	e911_record_t *f = parse(rec_noroute);
	static const struct
	{
		e911_cstate_t cache;
		e911_origin_t origin;
		int cached_rec;
		int fetched;
		e911_fetch_status_t fst;
		int available;
		/* expected */
		int status;
		e911_source_t source;
		int rec; /* 0 none, 1 cached, 2 fetched */
		int64_t age;
		const char *last_step; /* substring of the last trail step */
	} cases[] = {
			{E911_CS_FRESH, E911_ORIGIN_SERVICE, 1, 0, 0, 1, E911_LOC_FRESH,
					E911_SRC_CACHE, 1, 40, "fresh record, 40 s old"},
			{E911_CS_NEGATIVE, E911_ORIGIN_SERVICE, 0, 0, 0, 1, E911_LOC_NONE,
					E911_SRC_NONE, 0, -1, "no record"},
			/* a miss: a call would ask; explain does not without fetch */
			{E911_CS_MISS, E911_ORIGIN_SERVICE, 0, 0, 0, 1, E911_EXPLAIN_ASK,
					E911_SRC_NONE, 0, -1, "if the service fails: no location"},
			{E911_CS_STALE, E911_ORIGIN_SERVICE, 1, 0, 0, 1, E911_EXPLAIN_ASK,
					E911_SRC_STALE, 1, 40, "the last good record, 40 s old"},
			/* breakers open: the call does not wait */
			{E911_CS_STALE, E911_ORIGIN_SNAPSHOT, 1, 0, 0, 0, E911_LOC_STALE,
					E911_SRC_SNAPSHOT, 1, 40, "snapshot record served stale"},
			{E911_CS_MISS, E911_ORIGIN_SERVICE, 0, 0, 0, 0,
					E911_LOC_UNAVAILABLE, E911_SRC_NONE, 0, -1,
					"no record to serve"},
			/* fetched */
			{E911_CS_MISS, E911_ORIGIN_SERVICE, 0, 1, E911_FETCH_OK, 1,
					E911_LOC_FRESH, E911_SRC_SERVICE, 2, 0, "received now"},
			{E911_CS_STALE, E911_ORIGIN_SERVICE, 1, 1, E911_FETCH_NOTFOUND, 1,
					E911_LOC_NONE, E911_SRC_NONE, 0, -1, "(404)"},
			{E911_CS_STALE, E911_ORIGIN_SERVICE, 1, 1, E911_FETCH_TIMEOUT, 1,
					E911_LOC_STALE, E911_SRC_STALE, 1, 40,
					"last good record served stale"},
			{E911_CS_MISS, E911_ORIGIN_SERVICE, 0, 1, E911_FETCH_ERROR, 1,
					E911_LOC_UNAVAILABLE, E911_SRC_NONE, 0, -1,
					"no record to serve"},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e911_explain_in_t in;
		e911_explain_loc_t out;

		memset(&in, 0, sizeof(in));
		in.now = 1000;
		in.cache_state = cases[i].cache;
		in.cache_origin = cases[i].origin;
		in.cache_fetched_at = 960;
		in.cache_fresh_until = 1200;
		in.cached = cases[i].cached_rec ? r : NULL;
		in.fetched = cases[i].fetched;
		in.fetch_status = cases[i].fst;
		in.fetched_rec = cases[i].fst == E911_FETCH_OK ? f : NULL;
		in.fetch_error = "timed out";
		in.service_available = cases[i].available;
		in.timeout_ms = 500;
		e911_explain_location(&in, &out);
		if(out.status != cases[i].status || out.source != cases[i].source
				|| out.age != cases[i].age || out.ntrail < 1
				|| strstr(out.trail[out.ntrail - 1], cases[i].last_step)
						   == NULL)
			fail_msg("case %zu: status %d source %d age %lld, last step "
					 "'%s'",
					i, out.status, out.source, (long long)out.age,
					out.ntrail ? out.trail[out.ntrail - 1] : "");
		assert_ptr_equal(out.rec,
				cases[i].rec == 1 ? r : (cases[i].rec == 2 ? f : NULL));
	}
	assert_string_equal(
			e911_explain_status_name(E911_EXPLAIN_ASK), "ask the service");
	free(r);
	free(f);
}

/* a peek leaves hits, last_used and expired entries as they were */
static void test_cache_peek(void **state)
{
	static uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	e911_cache_t *c = e911_cache_new(100, 0);
	e911_record_t *r = parse(rec_route);
	e911_cache_res_t res;
	e911_cache_stats_t st;

	assert_non_null(c);
	assert_int_equal(
			e911_cache_put(c, "a", 1, r, 100, 200, 300, E911_ORIGIN_SERVICE),
			0);
	assert_int_equal(e911_cache_lookup(c, "a", 1, 110, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_int_equal(res.hits, 1);
	assert_int_equal(e911_cache_peek(c, "a", 1, 150, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_int_equal(res.hits, 1);
	assert_int_equal(res.last_used, 110);
	assert_non_null(res.rec);
	assert_int_equal(e911_cache_peek(c, "a", 1, 250, &res, buf, sizeof(buf)),
			E911_CS_STALE);
	/* past the stale window: a miss, but the entry stays for the sweep */
	assert_int_equal(e911_cache_peek(c, "a", 1, 400, &res, buf, sizeof(buf)),
			E911_CS_MISS);
	e911_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.expired, 0);
	assert_int_equal(e911_cache_peek(c, "b", 1, 150, &res, buf, sizeof(buf)),
			E911_CS_MISS);
	assert_int_equal(e911_cache_lookup(c, "a", 1, 150, &res, buf, sizeof(buf)),
			E911_CS_FRESH);
	assert_int_equal(res.hits, 2);
	e911_cache_destroy(c);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_route_choice),
			cmocka_unit_test(test_location_table),
			cmocka_unit_test(test_cache_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
