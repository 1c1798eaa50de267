/*
 * Unit tests: per-country dial plans (e911_dialplan_countries and
 * e911_dial_classify_cc in modules/e911/core/e911_dialplan.c).
 *
 * Data-driven: every directory of test/data/dial/countries/valid and
 * .../invalid is one cmocka test (see the README there). Valid cases build
 * a plan from their directives and classify each case line; invalid cases
 * must be rejected with an error containing error.txt. A few table tests
 * cover the API edges and the compatibility of e911_dial_classify() with a
 * per-country plan.
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

#include "e911_dialplan.h"
#include "testutil.h"

#define DIALCC_DATA E911_TEST_DATA "/dial/countries"

typedef tu_case_t data_case_t;

/* The directives of a case. */
typedef struct directives
{
	char def[16];
	char prefixes[128];
	char file[1200];
	int has_def;
	int has_file;
} directives_t;

/* Reads the "@..." lines of cases.txt into d. */
static void read_directives(const data_case_t *c, directives_t *d)
{
	char path[1200];
	char arg[256];
	tu_lines_t l;
	char *line;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/cases.txt", c->path);
	tu_lines_open(&l, path);
	while((line = tu_lines_next(&l)) != NULL) {
		if(line[0] != '@')
			continue;
		arg[0] = '\0';
		if(strncmp(line, "@default ", 9) == 0) {
			snprintf(d->def, sizeof(d->def), "%s", line + 9);
			d->has_def = 1;
		} else if(strncmp(line, "@prefixes ", 10) == 0) {
			snprintf(d->prefixes, sizeof(d->prefixes), "%s", line + 10);
		} else if(sscanf(line, "@file %255s", arg) == 1) {
			snprintf(d->file, sizeof(d->file), "%s/%s", c->path, arg);
			d->has_file = 1;
		} else {
			fail_msg("%s:%d: unknown directive %s", path, l.lineno, line);
		}
	}
}

static e911_dialplan_t *build(const directives_t *d, char *err, size_t errlen)
{
	return e911_dialplan_countries(d->has_file ? d->file : NULL,
			d->has_def ? d->def : NULL, d->prefixes, err, errlen);
}

static void test_valid_case(void **state)
{
	const data_case_t *c = *state;
	directives_t d;
	char err[256];
	char path[1200];
	char *line;
	char cc[16];
	char in[64];
	char urn[128];
	const char *gurn;
	e911_dialplan_t *dp;
	int want;
	int got;
	int n;
	int count = 0;
	tu_lines_t l;

	read_directives(c, &d);
	dp = build(&d, err, sizeof(err));
	if(dp == NULL)
		fail_msg("plan rejected: %s", err);
	snprintf(path, sizeof(path), "%s/cases.txt", c->path);
	tu_lines_open(&l, path);
	while((line = tu_lines_next(&l)) != NULL) {
		if(line[0] == '@')
			continue;
		urn[0] = '\0';
		n = sscanf(line, "%15s %63s %d %127s", cc, in, &want, urn);
		if(n < 3)
			fail_msg("%s:%d: malformed case", path, l.lineno);
		gurn = NULL;
		got = e911_dial_classify_cc(
				dp, strcmp(cc, "-") == 0 ? NULL : cc, in, strlen(in), &gurn);
		if(got != want)
			fail_msg("%s:%d: %s '%s' classified %d, expected %d", path,
					l.lineno, cc, in, got, want);
		if(want == E911_DIAL_NONE && gurn != NULL)
			fail_msg("%s:%d: URN set without a match", path, l.lineno);
		if(urn[0] && (gurn == NULL || strcmp(gurn, urn) != 0))
			fail_msg("%s:%d: %s '%s' URN %s, expected %s", path, l.lineno, cc,
					in, gurn ? gurn : "(none)", urn);
		/* no country and an empty country are the default country */
		if(strcmp(cc, "-") == 0)
			assert_int_equal(
					e911_dial_classify_cc(dp, "", in, strlen(in), NULL), want);
		/* the classic API classifies for the default country */
		if(strcmp(cc, "-") == 0)
			assert_int_equal(
					e911_dial_classify(dp, in, strlen(in), NULL), want);
		count++;
	}
	assert_true(count >= 5);
	e911_dialplan_free(dp);
}

static void test_invalid_case(void **state)
{
	const data_case_t *c = *state;
	directives_t d;
	char err[256];
	char *want;
	e911_dialplan_t *dp;

	read_directives(c, &d);
	want = tu_case_line(c, "error.txt");
	memset(err, 'x', sizeof(err));
	dp = build(&d, err, sizeof(err));
	if(dp != NULL)
		fail_msg("plan accepted");
	tu_assert_error(err, sizeof(err), want);
	free(want);
}

/* ---- table tests ---- */

/* NULL and empty default country mean US; the built-in table alone. */
static void test_defaults(void **state)
{
	char err[128];
	e911_dialplan_t *dp = e911_dialplan_countries(NULL, NULL, NULL, err, 128);
	e911_dialplan_t *dp2 = e911_dialplan_countries("", "", "", err, 128);
	const char *urn = NULL;

	assert_non_null(dp);
	assert_non_null(dp2);
	assert_string_equal(dp->default_cc, E911_DIAL_DEFAULT_COUNTRY);
	assert_int_equal(dp->n, 0);
	assert_true(dp->ncountry >= 40);
	assert_int_equal(e911_dial_classify(dp, "911", 3, &urn), 1);
	assert_string_equal(urn, "urn:service:sos");
	assert_int_equal(e911_dial_classify(dp2, "933", 3, NULL), 2);
	assert_int_equal(e911_dial_classify_cc(dp, "JP", "110", 3, NULL), 1);
	assert_int_equal(e911_dial_classify_cc(dp, "US", "110", 3, NULL), -1);
	assert_int_equal(e911_dial_classify_cc(NULL, "US", "911", 3, NULL), -1);
	assert_int_equal(e911_dial_classify_cc(dp, "US", NULL, 0, NULL), -1);
	assert_int_equal(e911_dial_classify_cc(dp, "US", "", 0, NULL), -1);
	/* the length is honoured: "9110" is not 911 when len says 4 */
	assert_int_equal(e911_dial_classify_cc(dp, "US", "9110", 3, NULL), 1);
	assert_int_equal(e911_dial_classify_cc(dp, "US", "9110", 4, NULL), -1);
	e911_dialplan_free(dp);
	e911_dialplan_free(dp2);
	e911_dialplan_free(NULL);
}

/* A plan from e911_dialplan_new() ignores the country. */
static void test_classic_plan_ignores_country(void **state)
{
	char err[128];
	e911_dialplan_t *dp = e911_dialplan_new("911,112", "933", "9", err, 128);

	assert_non_null(dp);
	assert_int_equal(dp->ncountry, 0);
	assert_int_equal(e911_dial_classify_cc(dp, "JP", "911", 3, NULL), 1);
	assert_int_equal(e911_dial_classify_cc(dp, "JP", "110", 3, NULL), -1);
	assert_int_equal(e911_dial_classify_cc(dp, NULL, "9933", 4, NULL), 2);
	e911_dialplan_free(dp);
}

/* Every built-in country has at least one emergency string and every URN
 * is an RFC 5031 emergency or test URN. */
static void test_builtin_consistent(void **state)
{
	char err[128];
	e911_dialplan_t *dp = e911_dialplan_countries(NULL, "US", "", err, 128);

	assert_non_null(dp);
	for(int i = 0; i < dp->ncountry; i++) {
		const e911_dial_country_t *c = &dp->countries[i];
		int emergency = 0;

		assert_int_equal(strlen(c->cc), 2);
		for(int j = 0; j < c->n; j++) {
			const e911_dial_entry_t *e = &c->entries[j];

			assert_int_equal(e911_urn_classify(e->urn, strlen(e->urn)), e->cls);
			emergency += e->cls == E911_DIAL_EMERGENCY;
		}
		if(emergency == 0)
			fail_msg("country %s has no emergency number", c->cc);
		for(int j = 0; j < i; j++)
			assert_string_not_equal(dp->countries[j].cc, c->cc);
	}
	e911_dialplan_free(dp);
}

/* Errors fit the buffer and a zero-sized buffer is not written. */
static void test_error_buffer(void **state)
{
	char err[16];

	memset(err, 'x', sizeof(err));
	assert_null(e911_dialplan_countries(
			"/nonexistent/dir/plan.txt", "US", "", err, sizeof(err)));
	assert_non_null(memchr(err, '\0', sizeof(err)));
	err[0] = 'x';
	assert_null(e911_dialplan_countries(NULL, "ZZ", "", err, 0));
	assert_int_equal(err[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_defaults),
			cmocka_unit_test(test_classic_plan_ignores_country),
			cmocka_unit_test(test_builtin_consistent),
			cmocka_unit_test(test_error_buffer),
	};
	int failed = 0;

	failed += tu_run_case_dirs(
			"dialcc_valid", DIALCC_DATA "/valid", test_valid_case);
	failed += tu_run_case_dirs(
			"dialcc_invalid", DIALCC_DATA "/invalid", test_invalid_case);
	failed += cmocka_run_group_tests_name("dialcc_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
