/*
 * Unit tests: the readiness verdicts (core/e911_readiness.c) over a table
 * of service answers, records, ages and registered addresses, and the site
 * a record counts under.
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

#include "e911_readiness.h"
#include "e911_record.h"

#define NOW 1764763200 /* 2025-12-03T12:00:00Z */

#define CIVIC_OK                                                      \
	"\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\"," \
	"\"RD\":\"Main\",\"HNO\":\"100\",\"NAM\":\"Acme\",\"BLD\":\"Tower B\""

static e911_record_t *parse(const char *j)
{
	char err[160];
	e911_record_t *r = e911_record_parse(j, strlen(j), err, sizeof(err));

	if(r == NULL)
		fail_msg("record does not parse: %s", err);
	return r;
}

static void test_table(void **state)
{
	static const struct
	{
		e911_fetch_status_t st;
		const char *rec; /* NULL: none */
		int max_days;
		const char *addr; /* registered from, NULL: unknown */
		unsigned want;
		const char *verdict;
	} cases[] = {
			{E911_FETCH_OK,
					"{" CIVIC_OK ",\"FLR\":\"3\"},\"validated\":true,"
					"\"updated_at\":\"2025-11-20T10:00:00Z\"}",
					30, NULL, 0, "ready"},
			{E911_FETCH_NOTFOUND, NULL, 30, NULL, E911_RDY_NO_RECORD,
					"no_record"},
			{E911_FETCH_TIMEOUT, NULL, 30, NULL, E911_RDY_SERVICE_ERROR,
					"service_error"},
			{E911_FETCH_ERROR, NULL, 30, NULL, E911_RDY_SERVICE_ERROR,
					"service_error"},
			/* not validated and old: both found, verdict the first */
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":false,"
					"\"updated_at\":\"2024-01-01T00:00:00Z\"}",
					30, NULL, E911_RDY_NOT_VALIDATED | E911_RDY_OUTDATED,
					"not_validated"},
			/* a multi-floor, multi-unit site missing both */
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":true,"
					"\"site\":{\"multi_floor\":true,\"multi_unit\":true},"
					"\"updated_at\":\"2025-11-20T10:00:00Z\"}",
					30, NULL, E911_RDY_NO_FLOOR | E911_RDY_NO_UNIT,
					"missing_floor"},
			/* age not judged with max_days 0 */
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":true,"
					"\"updated_at\":\"2020-01-01T00:00:00Z\"}",
					0, NULL, 0, "ready"},
			{E911_FETCH_OK, "{" CIVIC_OK "},\"validated\":true}", 30, NULL,
					E911_RDY_NO_UPDATED, "no_updated_at"},
			/* networks: outside, inside, and not known */
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":true,"
					"\"networks\":[\"10.0.0.0/8\"],"
					"\"updated_at\":\"2025-11-20T10:00:00Z\"}",
					30, "192.0.2.1", E911_RDY_OFF_NETWORK, "outside_networks"},
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":true,"
					"\"networks\":[\"10.0.0.0/8\"],"
					"\"updated_at\":\"2025-11-20T10:00:00Z\"}",
					30, "10.2.3.4", 0, "ready"},
			{E911_FETCH_OK,
					"{" CIVIC_OK "},\"validated\":true,"
					"\"networks\":[\"10.0.0.0/8\"],"
					"\"updated_at\":\"2025-11-20T10:00:00Z\"}",
					30, NULL, 0, "ready"},
			{E911_FETCH_OK,
					"{\"civic\":{\"country\":\"US\",\"A3\":\"Chicago\"},"
					"\"validated\":true,\"updated_at\":\"2025-11-20T10:00:"
					"00Z\"}",
					30, NULL, E911_RDY_NO_STREET, "no_street"},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e911_readiness_in_t in;
		e911_record_t *r = cases[i].rec ? parse(cases[i].rec) : NULL;
		const char *addrs[1] = {cases[i].addr};
		unsigned got;

		memset(&in, 0, sizeof(in));
		in.status = cases[i].st;
		in.rec = r;
		in.now = NOW;
		in.max_age_days = cases[i].max_days;
		in.addrs = addrs;
		in.naddrs = cases[i].addr ? 1 : 0;
		got = e911_readiness_judge(&in);
		if(got != cases[i].want)
			fail_msg("case %zu: findings 0x%x, want 0x%x", i, got,
					cases[i].want);
		assert_string_equal(e911_readiness_verdict(got), cases[i].verdict);
		free(r);
	}
}

static void test_names_and_site(void **state)
{
	char buf[64];
	e911_record_t *r;
	int i;

	for(i = 0; i < E911_RDY_COUNT; i++) {
		assert_string_equal(
				e911_readiness_verdict(1u << i), e911_readiness_name(i));
		assert_true(strlen(e911_readiness_text(i)) > 10);
	}
	r = parse("{" CIVIC_OK "}}");
	e911_readiness_site(r, buf, sizeof(buf));
	assert_string_equal(buf, "Acme, Tower B");
	free(r);
	r = parse("{\"civic\":{\"country\":\"US\",\"A3\":\"Evanston\","
			  "\"RD\":\"Oak\",\"HNO\":\"12\"}}");
	e911_readiness_site(r, buf, sizeof(buf));
	assert_string_equal(buf, "12 Oak, Evanston");
	/* truncated to fit */
	assert_int_equal(e911_readiness_site(r, buf, 5), 4);
	assert_string_equal(buf, "12 O");
	free(r);
	r = parse("{\"geo\":{\"lat\":41.0,\"lon\":-87.0}}");
	e911_readiness_site(r, buf, sizeof(buf));
	assert_string_equal(buf, "(no civic address)");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_table),
			cmocka_unit_test(test_names_and_site),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
