/*
 * Unit tests: dial-string and service-URN classification, driven by the
 * case files in test/data/dial/.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e911_dialplan.h"
#include "testutil.h"

static int uri_urns = 0; /* run_cases() without dp: e911_urn_classify_uri */

/* Runs every "<input> <class> [urn]" line of file against dp (or, with dp
 * NULL, against e911_urn_classify or e911_urn_classify_uri). */
static void run_cases(const e911_dialplan_t *dp, const char *file)
{
	char path[1024];
	char *line;
	char in[256];
	char urn[128];
	int want;
	int got;
	int n;
	int count = 0;
	const char *gurn;
	tu_lines_t l;

	snprintf(path, sizeof(path), "%s/dial/%s", E911_TEST_DATA, file);
	tu_lines_open(&l, path);
	while((line = tu_lines_next(&l)) != NULL) {
		urn[0] = '\0';
		n = sscanf(line, "%255s %d %127s", in, &want, urn);
		assert_true(n >= 2);
		gurn = NULL;
		if(dp)
			got = e911_dial_classify(dp, in, strlen(in), &gurn);
		else if(uri_urns)
			got = e911_urn_classify_uri(in, strlen(in));
		else
			got = e911_urn_classify(in, strlen(in));
		if(got != want)
			fail_msg(
					"%s: '%s' classified %d, expected %d", file, in, got, want);
		if(dp && urn[0] && (gurn == NULL || strcmp(gurn, urn) != 0))
			fail_msg("%s: '%s' URN %s, expected %s", file, in,
					gurn ? gurn : "(none)", urn);
		count++;
	}
	assert_true(count > 5);
}

static void test_defaults(void **state)
{
	char err[128];
	e911_dialplan_t *dp = e911_dialplan_new("911,112", "933", "9", err, 128);

	assert_non_null(dp);
	run_cases(dp, "default.txt");
	e911_dialplan_free(dp);
}

static void test_countries(void **state)
{
	char err[128];
	e911_dialplan_t *dp =
			e911_dialplan_new("911, 112,999 ,000,110=urn:service:sos.police,"
							  "119=urn:service:sos.fire",
					"933", "9,0,81", err, sizeof(err));

	assert_non_null(dp);
	run_cases(dp, "countries.txt");
	e911_dialplan_free(dp);
}

static void test_urns(void **state)
{
	run_cases(NULL, "urns.txt");
}

static void test_ruri_urns(void **state)
{
	uri_urns = 1;
	run_cases(NULL, "ruri_urns.txt");
	uri_urns = 0;
}

static void test_dial_unescape(void **state)
{
	struct
	{
		const char *in;
		int len; /* -1: refused */
		const char *out;
	} cases[] = {
			{"911", 3, "911"}, {"%39%31%31", 3, "911"}, {"9%391%31", 4, "9911"},
			{"%3a%3A", 2, "::"}, {"911;phone-context=+1", 3, "911"},
			{"%39%31%31;x=%zz", 3, "911"}, {"", 0, ""}, {";x", 0, ""},
			{"%", -1, NULL}, {"%3", -1, NULL}, {"91%", -1, NULL},
			{"%zz", -1, NULL}, {"%3g", -1, NULL}, {"%;31", -1, NULL},
			{"12345678", -1, NULL}, /* longer than out below */
	};
	char out[7];
	int n;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = e911_dial_unescape(
				cases[i].in, strlen(cases[i].in), out, sizeof(out));
		if(n != cases[i].len)
			fail_msg("'%s': length %d, expected %d", cases[i].in, n,
					cases[i].len);
		if(n >= 0 && (memcmp(out, cases[i].out, n) != 0))
			fail_msg("'%s': '%.*s', expected '%s'", cases[i].in, n, out,
					cases[i].out);
	}
	assert_int_equal(e911_dial_unescape(NULL, 3, out, sizeof(out)), -1);
	assert_int_equal(e911_dial_unescape("%00", 3, out, sizeof(out)), 1);
	assert_int_equal(out[0], '\0');
}

static void test_no_prefixes(void **state)
{
	char err[128];
	e911_dialplan_t *dp = e911_dialplan_new("911", "", "", err, sizeof(err));

	assert_non_null(dp);
	assert_int_equal(e911_dial_classify(dp, "911", 3, NULL), 1);
	assert_int_equal(e911_dial_classify(dp, "9911", 4, NULL), -1);
	assert_int_equal(e911_dial_classify(dp, "933", 3, NULL), -1);
	assert_int_equal(e911_dial_classify(dp, "", 0, NULL), -1);
	assert_int_equal(e911_dial_classify(NULL, "911", 3, NULL), -1);
	e911_dialplan_free(dp);
}

static void test_bad_plans(void **state)
{
	char err[128];
	const char *bad[][3] = {{"91a", "", ""}, {"911", "9 3 3", ""},
			{"911", "933", "x"}, {"1234567890123456", "", ""},
			{"911=http://x", "", ""}, {"911=urn:service:counseling", "", ""}};

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(e911_dialplan_new(
				bad[i][0], bad[i][1], bad[i][2], err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_defaults),
			cmocka_unit_test(test_countries),
			cmocka_unit_test(test_urns),
			cmocka_unit_test(test_ruri_urns),
			cmocka_unit_test(test_dial_unescape),
			cmocka_unit_test(test_no_prefixes),
			cmocka_unit_test(test_bad_plans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
