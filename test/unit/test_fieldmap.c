/*
 * Unit tests: field maps (e911_fieldmap_parse, e911_record_parse_mapped in
 * modules/e911/core/e911_record.c).
 *
 * Data-driven (see test/data/fieldmap/README.md): valid cases read an
 * answer of the service's own shape through a map and must give the very
 * record (byte for byte, same warning) that the equivalent contract-v1
 * answer gives; reject cases must be refused without quoting the input;
 * invalid cases are maps e911_fieldmap_parse() must refuse. Table tests
 * cover the API edges.
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

#include "e911_record.h"
#include "testutil.h"

#define FM_DATA E911_TEST_DATA "/fieldmap"

typedef tu_case_t data_case_t;

static e911_fieldmap_t *map_ok(const char *spec)
{
	char err[256];
	e911_fieldmap_t *fm = e911_fieldmap_parse(spec, err, sizeof(err));

	if(fm == NULL)
		fail_msg("map rejected: %s", err);
	return fm;
}

static void test_valid_case(void **state)
{
	const data_case_t *c = *state;
	size_t in_len;
	size_t exp_len;
	char *spec = tu_case_read(c, "map.txt", NULL);
	char *input = tu_case_read(c, "input.json", &in_len);
	char *expected = tu_case_read(c, "expected.json", &exp_len);
	e911_fieldmap_t *fm = map_ok(spec);
	char err_m[256];
	char err_v[256];
	e911_record_t *got;
	e911_record_t *want;

	want = e911_record_parse(expected, exp_len, err_v, sizeof(err_v));
	if(want == NULL)
		fail_msg("expected.json rejected: %s", err_v);
	got = e911_record_parse_mapped(input, in_len, fm, err_m, sizeof(err_m));
	if(got == NULL)
		fail_msg("mapped answer rejected: %s", err_m);
	assert_string_equal(err_m, err_v);
	if(got->size != want->size || memcmp(got, want, want->size) != 0) {
		char *g = e911_record_to_json(got);
		char *w = e911_record_to_json(want);

		fail_msg("records differ:\n mapped   %s\n contract %s", g, w);
	}
	free(got);
	free(want);
	e911_fieldmap_free(fm);
	free(expected);
	free(input);
	free(spec);
}

static void test_reject_case(void **state)
{
	const data_case_t *c = *state;
	size_t in_len;
	char *spec = tu_case_read(c, "map.txt", NULL);
	char *input = tu_case_read(c, "input.json", &in_len);
	char *want = tu_case_line(c, "error.txt");
	e911_fieldmap_t *fm = map_ok(spec);
	e911_record_t *rec;
	char err[256];

	memset(err, 'x', sizeof(err));
	rec = e911_record_parse_mapped(input, in_len, fm, err, sizeof(err));
	if(rec != NULL)
		fail_msg("accepted: %s", e911_record_to_json(rec));
	tu_assert_error(err, sizeof(err), want);
	if(strstr(err, "SECRET") != NULL)
		fail_msg("error quotes the input: %s", err);
	assert_null(e911_record_parse_mapped(input, in_len, fm, NULL, 0));
	e911_fieldmap_free(fm);
	free(want);
	free(input);
	free(spec);
}

static void test_invalid_case(void **state)
{
	const data_case_t *c = *state;
	char *spec = tu_case_read(c, "map.txt", NULL);
	char *want = tu_case_line(c, "error.txt");
	e911_fieldmap_t *fm;
	char err[256];

	memset(err, 'x', sizeof(err));
	fm = e911_fieldmap_parse(spec, err, sizeof(err));
	if(fm != NULL)
		fail_msg("map accepted");
	tu_assert_error(err, sizeof(err), want);
	assert_null(e911_fieldmap_parse(spec, NULL, 0));
	free(want);
	free(spec);
}

/* ---- table tests ---- */

/* A NULL map is contract v1; e911_record_parse is the NULL-map case. */
static void test_null_map(void **state)
{
	static const char doc[] = "{\"civic\":{\"RD\":\"Main\"},\"endpoint_id\":"
							  "\"E1\",\"street_name\":\"x\"}";
	e911_record_t *a =
			e911_record_parse_mapped(doc, sizeof(doc) - 1, NULL, NULL, 0);
	e911_record_t *b = e911_record_parse(doc, sizeof(doc) - 1, NULL, 0);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->size, b->size);
	assert_memory_equal(a, b, a->size);
	assert_string_equal(e911_rec_get(a, E911_F_ENDPOINT_ID), "E1");
	free(a);
	free(b);
	e911_fieldmap_free(NULL);
}

/* The same limits as contract v1: size cap, NULL answer, length honoured. */
static void test_limits(void **state)
{
	e911_fieldmap_t *fm = map_ok("RD=/s");
	static const char doc[] = "{\"s\":\"Main\"}garbage";
	char *big = malloc(E911_BODY_MAX + 1);
	char err[128];
	e911_record_t *rec;

	assert_non_null(big);
	assert_null(e911_record_parse_mapped(NULL, 0, fm, err, sizeof(err)));
	assert_non_null(strstr(err, "no answer"));
	memset(big, ' ', E911_BODY_MAX + 1);
	memcpy(big, doc, 12);
	rec = e911_record_parse_mapped(big, E911_BODY_MAX, fm, err, sizeof(err));
	assert_non_null(rec);
	free(rec);
	assert_null(e911_record_parse_mapped(
			big, E911_BODY_MAX + 1, fm, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 65536 bytes"));
	rec = e911_record_parse_mapped(doc, 12, fm, err, sizeof(err));
	assert_non_null(rec);
	assert_string_equal(e911_rec_get(rec, E911_CA_RD), "Main");
	free(rec);
	free(big);
	e911_fieldmap_free(fm);
}

/* Every civic element name and every other target is accepted, once. */
static void test_all_targets(void **state)
{
	static const char *const other[] = {"key", "callback", "route", "lat",
			"lon", "radius_m", "validated", "updated_at", "max_age",
			"endpoint_id"};
	char spec[4096];
	size_t n = 0;
	e911_fieldmap_t *fm;

	for(int f = 0; f < E911_CA_COUNT; f++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%s=/c/%s;",
				e911_civic_name(f), e911_civic_name(f));
	for(size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, " %s = /o/%s ;",
				other[i], other[i]);
	fm = map_ok(spec);
	e911_fieldmap_free(fm);
}

/* A pointer of exactly E911_POINTER_MAX characters is accepted. */
static void test_longest_pointer(void **state)
{
	char spec[E911_POINTER_MAX + 8];
	char json[E911_POINTER_MAX + 32];
	e911_fieldmap_t *fm;
	e911_record_t *rec;
	int n;

	memcpy(spec, "RD=/", 4);
	memset(spec + 4, 'k', E911_POINTER_MAX - 1);
	spec[3 + E911_POINTER_MAX] = '\0';
	fm = map_ok(spec);
	n = snprintf(json, sizeof(json), "{\"%s\":\"Main\"}", spec + 4);
	rec = e911_record_parse_mapped(json, (size_t)n, fm, NULL, 0);
	assert_non_null(rec);
	assert_string_equal(e911_rec_get(rec, E911_CA_RD), "Main");
	free(rec);
	e911_fieldmap_free(fm);
}

/* Errors fit small buffers. */
static void test_error_buffer(void **state)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	assert_null(e911_fieldmap_parse("nonsense=/x", err, sizeof(err)));
	assert_int_equal(strlen(err), sizeof(err) - 1);
	err[0] = 'x';
	assert_null(e911_fieldmap_parse("RD=x", err, 1));
	assert_int_equal(err[0], '\0');
	assert_null(e911_fieldmap_parse(NULL, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_null_map),
			cmocka_unit_test(test_limits),
			cmocka_unit_test(test_all_targets),
			cmocka_unit_test(test_longest_pointer),
			cmocka_unit_test(test_error_buffer),
	};
	int failed = 0;

	failed += tu_run_case_dirs(
			"fieldmap_valid", FM_DATA "/valid", test_valid_case);
	failed += tu_run_case_dirs(
			"fieldmap_reject", FM_DATA "/reject", test_reject_case);
	failed += tu_run_case_dirs(
			"fieldmap_invalid", FM_DATA "/invalid", test_invalid_case);
	failed += cmocka_run_group_tests_name("fieldmap_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
