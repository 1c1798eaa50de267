/*
 * Unit tests: the decisions of a REGISTER check (core/e911_outcome.c) -
 * when to ask the service again, and the verdict - over a table of
 * outcomes.
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e911_outcome.h"
#include "e911_record.h"

/* validated, street address, no multi-floor site: dispatchable */
static const char rec_ok[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\","
		"\"RD\":\"Main\",\"STS\":\"St\",\"HNO\":\"100\"},\"validated\":true}";
/* not validated: a record, but not a dispatchable location */
static const char rec_unvalidated[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\","
		"\"RD\":\"Main\",\"STS\":\"St\",\"HNO\":\"100\"},\"validated\":false}";

enum rec_kind
{
	NO_REC,
	REC_OK,
	REC_UNVALIDATED
};

static e911_record_t *make(enum rec_kind k)
{
	char err[160];
	const char *j = k == REC_OK ? rec_ok : rec_unvalidated;
	e911_record_t *r;

	if(k == NO_REC)
		return NULL;
	r = e911_record_parse(j, strlen(j), err, sizeof(err));
	assert_non_null(r);
	return r;
}

static void test_needs_refetch(void **state)
{
	static const struct
	{
		int status;
		e911_source_t source;
		enum rec_kind rec;
		int want;
	} cases[] = {
			/* a negative cache entry (source none or cache): ask again */
			{E911_LOC_NONE, E911_SRC_NONE, NO_REC, 1},
			{E911_LOC_NONE, E911_SRC_CACHE, NO_REC, 1},
			/* the service itself said "no record" just now: judge */
			{E911_LOC_NONE, E911_SRC_SERVICE, NO_REC, 0},
			/* a cached record found wanting: ask again */
			{E911_LOC_FRESH, E911_SRC_CACHE, REC_UNVALIDATED, 1},
			/* a good cached record, or any fresh answer: judge */
			{E911_LOC_FRESH, E911_SRC_CACHE, REC_OK, 0},
			{E911_LOC_FRESH, E911_SRC_SERVICE, REC_UNVALIDATED, 0},
			/* stale or snapshot records are what the service failure left:
			 * asking again would fail the same way */
			{E911_LOC_STALE, E911_SRC_STALE, REC_UNVALIDATED, 0},
			{E911_LOC_STALE, E911_SRC_SNAPSHOT, REC_OK, 0},
			{E911_LOC_UNAVAILABLE, E911_SRC_NONE, NO_REC, 0},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e911_record_t *r = make(cases[i].rec);
		int got = e911_check_needs_refetch(cases[i].status, cases[i].source, r);
		if(got != cases[i].want)
			fail_msg("case %zu: needs_refetch %d, want %d", i, got,
					cases[i].want);
		free(r);
	}
}

static void test_verdict(void **state)
{
	static const struct
	{
		int status;
		enum rec_kind rec;
		int want;
		const char *reason;
	} cases[] = {
			{E911_LOC_NONE, NO_REC, E911_CHECK_MISSING, "missing"},
			{E911_LOC_UNAVAILABLE, NO_REC, E911_CHECK_UNAVAILABLE,
					"unavailable"},
			/* a status that claims a record without one */
			{E911_LOC_FRESH, NO_REC, E911_CHECK_UNAVAILABLE, "unavailable"},
			{E911_LOC_FRESH, REC_OK, E911_CHECK_OK, "ok"},
			{E911_LOC_STALE, REC_OK, E911_CHECK_OK, "ok"},
			{E911_LOC_FRESH, REC_UNVALIDATED, E911_CHECK_NOT_DISPATCHABLE,
					"not validated"},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e911_record_t *r = make(cases[i].rec);
		const char *reason = NULL;
		int got = e911_check_verdict(cases[i].status, r, &reason);
		if(got != cases[i].want || reason == NULL
				|| strcmp(reason, cases[i].reason) != 0)
			fail_msg("case %zu: verdict %d '%s', want %d '%s'", i, got,
					reason ? reason : "(null)", cases[i].want, cases[i].reason);
		free(r);
	}
}

/* When the service gives no usable answer, the last good record wins over
 * none; what the cache holds decides the status and the source. */
static void test_without_service(void **state)
{
	static const struct
	{
		e911_cstate_t cs;
		e911_origin_t origin;
		int status;
		e911_source_t source;
	} cases[] = {
			{E911_CS_FRESH, E911_ORIGIN_SERVICE, E911_LOC_FRESH,
					E911_SRC_CACHE},
			{E911_CS_STALE, E911_ORIGIN_SERVICE, E911_LOC_STALE,
					E911_SRC_STALE},
			{E911_CS_STALE, E911_ORIGIN_SNAPSHOT, E911_LOC_STALE,
					E911_SRC_SNAPSHOT},
			{E911_CS_NEGATIVE, E911_ORIGIN_SERVICE, E911_LOC_NONE,
					E911_SRC_NONE},
			{E911_CS_MISS, E911_ORIGIN_SERVICE, E911_LOC_UNAVAILABLE,
					E911_SRC_NONE},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e911_source_t src = (e911_source_t)99;
		int st = e911_outcome_without_service(
				cases[i].cs, cases[i].origin, &src);
		if(st != cases[i].status || src != cases[i].source)
			fail_msg("case %zu: %d/%d, want %d/%d", i, st, (int)src,
					cases[i].status, (int)cases[i].source);
	}
}

static void test_fresh_until(void **state)
{
	e911_record_t *r = make(REC_OK);

	r->max_age = -1; /* the record says nothing: cache_ttl */
	assert_int_equal(e911_fresh_until(r, 1000, 300), 1300);
	r->max_age = 60;
	assert_int_equal(e911_fresh_until(r, 1000, 300), 1060);
	r->max_age = 0; /* never fresh: ask every time, stale on failure */
	assert_int_equal(e911_fresh_until(r, 1000, 300), 1000);
	free(r);
}

static void test_names(void **state)
{
	assert_string_equal(e911_status_name(E911_LOC_FRESH), "fresh");
	assert_string_equal(e911_status_name(E911_LOC_STALE), "stale");
	assert_string_equal(e911_status_name(E911_LOC_NONE), "none");
	assert_string_equal(e911_status_name(E911_LOC_UNAVAILABLE), "unavailable");
	assert_string_equal(e911_status_name(42), "unavailable");
	assert_string_equal(e911_source_name(E911_SRC_CACHE), "cache");
	assert_string_equal(e911_source_name(E911_SRC_SERVICE), "service");
	assert_string_equal(e911_source_name(E911_SRC_STALE), "stale");
	assert_string_equal(e911_source_name(E911_SRC_SNAPSHOT), "snapshot");
	assert_string_equal(e911_source_name(E911_SRC_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_needs_refetch),
			cmocka_unit_test(test_verdict),
			cmocka_unit_test(test_without_service),
			cmocka_unit_test(test_fresh_until),
			cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
