/*
 * Unit tests: the fetcher's concurrency toward the location service
 * (core/e911_concurrency.c) - the settings resolved against their limits,
 * how many transfers libcurl can start at once per protocol, the HTTP
 * version asked for per URL and http2 mode - over tables of cases.
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
#include <curl/curl.h>

#include "e911_concurrency.h"

static void test_resolve(void **state)
{
	static const struct
	{
		const char *what;
		e911_conc_in_t in;
		int rc;
		int transfers, connections, streams;
	} cases[] = {
			{"defaults: every lookup in flight, one connection each",
					{256, 0, 0, 0, 0}, 0, 256, 256, 100},
			{"the old setting", {256, 32, 0, 0, 0}, 0, 32, 32, 100},
			{"more transfers than lookups in flight: lowered",
					{256, 1000, 0, 0, 0}, 1, 256, 256, 100},
			{"few connections (HTTP/2 service)", {512, 0, 4, 0, 0}, 0, 512, 4,
					100},
			{"more connections than transfers: as many as transfers",
					{256, 64, 200, 0, 0}, 0, 64, 64, 100},
			{"streams set", {256, 0, 2, 50, 0}, 0, 256, 2, 50},
			{"streams above the most accepted: lowered", {256, 0, 0, 5000, 0},
					1, 256, 256, E911_H2_STREAMS_MAX},
			{"open files limit lowers the connections", {1024, 0, 0, 0, 900}, 1,
					1024, 900, 100},
			{"open files limit above the connections: nothing",
					{256, 0, 0, 0, 900}, 0, 256, 256, 100},
			{"max_inflight 0 counts as 1", {0, 0, 0, 0, 0}, 0, 1, 1, 100},
			{"negative concurrency", {256, -1, 0, 0, 0}, -1, 0, 0, 0},
			{"negative connections", {256, 0, -4, 0, 0}, -1, 0, 0, 0},
			{"negative streams", {256, 0, 0, -1, 0}, -1, 0, 0, 0},
	};
	e911_conc_t out;
	char note[200];
	size_t i;
	int rc;

	(void)state;
	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&out, 0, sizeof(out));
		rc = e911_conc_resolve(&cases[i].in, &out, note, sizeof(note));
		if(rc != cases[i].rc)
			fail_msg("%s: rc %d, expected %d (%s)", cases[i].what, rc,
					cases[i].rc, note);
		if(rc != 0 && note[0] == '\0')
			fail_msg("%s: no note", cases[i].what);
		if(rc == 0 && note[0] != '\0')
			fail_msg("%s: unexpected note %s", cases[i].what, note);
		if(rc < 0)
			continue;
		if(out.transfers != cases[i].transfers
				|| out.connections != cases[i].connections
				|| out.streams != cases[i].streams)
			fail_msg("%s: %d/%d/%d, expected %d/%d/%d", cases[i].what,
					out.transfers, out.connections, out.streams,
					cases[i].transfers, cases[i].connections, cases[i].streams);
	}
}

static void test_capacity(void **state)
{
	static const struct
	{
		const char *what;
		e911_conc_t c;
		e911_proto_t proto;
		int want;
	} cases[] = {
			{"HTTP/1.1: one per connection", {256, 256, 100}, E911_PROTO_H1,
					256},
			{"HTTP/1.1, few connections", {256, 4, 100}, E911_PROTO_H1, 4},
			{"not negotiated yet: as HTTP/1.1", {256, 4, 100},
					E911_PROTO_UNKNOWN, 4},
			{"HTTP/2: connections x streams", {512, 4, 100}, E911_PROTO_H2,
					400},
			{"HTTP/2: never more than the transfers", {256, 4, 100},
					E911_PROTO_H2, 256},
			{"HTTP/2, one connection, 10 streams", {256, 1, 10}, E911_PROTO_H2,
					10},
			{"no overflow", {4096, 4096, 1000}, E911_PROTO_H2, 4096},
			{"at least one", {0, 0, 0}, E911_PROTO_H1, 1},
	};
	size_t i;
	int got;

	(void)state;
	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = e911_conc_capacity(&cases[i].c, cases[i].proto);
		if(got != cases[i].want)
			fail_msg("%s: %d, expected %d", cases[i].what, got, cases[i].want);
	}
}

static void test_http_plan(void **state)
{
	static const struct
	{
		const char *url;
		const char *mode;
		long version;
		int pipewait;
		e911_proto_t proto;
	} cases[] = {
			{"http://h/v1/{key}", "auto", CURL_HTTP_VERSION_1_1, 0,
					E911_PROTO_H1},
			{"http://h/v1/{key}", "off", CURL_HTTP_VERSION_1_1, 0,
					E911_PROTO_H1},
			{"http://h/v1/{key}", "h2c", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, 1,
					E911_PROTO_H2},
			{"HTTP://h/v1/{key}", "H2C", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, 1,
					E911_PROTO_H2},
			{"https://h/v1/{key}", "auto", CURL_HTTP_VERSION_2TLS, 1,
					E911_PROTO_UNKNOWN},
			{"https://h/v1/{key}", "", CURL_HTTP_VERSION_2TLS, 1,
					E911_PROTO_UNKNOWN},
			{"https://h/v1/{key}", "h2c", CURL_HTTP_VERSION_2TLS, 1,
					E911_PROTO_UNKNOWN},
			{"https://h/v1/{key}", "off", CURL_HTTP_VERSION_1_1, 0,
					E911_PROTO_H1},
	};
	e911_http2_t mode;
	e911_http_plan_t plan;
	size_t i;

	(void)state;
	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(e911_http2_parse(cases[i].mode, &mode), 0);
		e911_http_plan(cases[i].url, mode, &plan);
		if(plan.curl_version != cases[i].version
				|| plan.pipewait != cases[i].pipewait
				|| plan.proto != cases[i].proto)
			fail_msg("%s %s: version %ld pipewait %d proto %d", cases[i].url,
					cases[i].mode, plan.curl_version, plan.pipewait,
					(int)plan.proto);
	}
}

static void test_http2_names(void **state)
{
	static const char *bad[] = {"on", "yes", "h2", "1", "auto "};
	e911_http2_t mode;
	size_t i;

	(void)state;
	assert_int_equal(e911_http2_parse(NULL, &mode), 0);
	assert_int_equal(mode, E911_H2_AUTO);
	assert_int_equal(e911_http2_parse("OFF", &mode), 0);
	assert_int_equal(mode, E911_H2_OFF);
	assert_string_equal(e911_http2_name(E911_H2_OFF), "off");
	assert_string_equal(e911_http2_name(E911_H2_H2C), "h2c");
	assert_string_equal(e911_http2_name(E911_H2_AUTO), "auto");
	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if(e911_http2_parse(bad[i], &mode) != -1)
			fail_msg("'%s' accepted", bad[i]);
	/* h2c is refused with every libcurl (7.88 breaks reused connections,
	 * 8.14 leaves PIPEWAIT transfers waiting) */
	{
		char err[200];
		assert_int_equal(
				e911_http2_supported(E911_H2_H2C, 0x075801, err, sizeof(err)),
				-1);
		assert_non_null(strstr(err, "7.88.1"));
		assert_int_equal(
				e911_http2_supported(E911_H2_H2C, 0x080000, err, sizeof(err)),
				-1);
		assert_int_equal(
				e911_http2_supported(E911_H2_H2C, 0x080e01, err, sizeof(err)),
				-1);
		assert_non_null(strstr(err, "8.14.1"));
		assert_int_equal(
				e911_http2_supported(E911_H2_AUTO, 0x075801, err, sizeof(err)),
				0);
		assert_int_equal(
				e911_http2_supported(E911_H2_OFF, 0x075801, err, sizeof(err)),
				0);
	}
	assert_int_equal(e911_proto_of_curl(CURL_HTTP_VERSION_2_0), E911_PROTO_H2);
	assert_int_equal(e911_proto_of_curl(CURL_HTTP_VERSION_1_1), E911_PROTO_H1);
	assert_int_equal(e911_proto_of_curl(CURL_HTTP_VERSION_1_0), E911_PROTO_H1);
	assert_int_equal(e911_proto_of_curl(0), E911_PROTO_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_resolve),
			cmocka_unit_test(test_capacity),
			cmocka_unit_test(test_http_plan),
			cmocka_unit_test(test_http2_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
