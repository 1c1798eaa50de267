/*
 * Unit tests for location records (modules/e911/core/e911_record.c).
 *
 * Mostly data-driven, in the manner of jansson's test/suites:
 *   test/data/record/valid/<case>/input.json     a location-service answer
 *   test/data/record/valid/<case>/expected.json  the record as
 *       e911_record_to_json() prints it (compared after both sides are
 *       canonicalised with JSON_SORT_KEYS | JSON_COMPACT)
 *   test/data/record/invalid/<case>/input.json   an answer to reject
 *   test/data/record/invalid/<case>/error.txt    a substring of the error
 * Every case directory becomes a cmocka test of its own. Valid cases also
 * check the record's layout invariants, that parse(to_json(rec)) gives the
 * identical block, and that dup copies it; invalid cases check that the
 * error never quotes the input (inputs hide the word SECRET in values).
 * The rest are table tests of the small helpers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_record.h"
#include "testutil.h"

#define RECORD_DATA E911_TEST_DATA "/record"

typedef tu_case_t data_case_t;

/* Canonical text of a JSON document: sorted keys, compact. */
static char *canon_json(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	char *s;

	if(j == NULL)
		fail_msg("expected JSON does not parse: %s", jerr.text);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Parses text, failing the test with the error message on rejection. */
static e911_record_t *parse_ok(const char *text, size_t len)
{
	char err[256];
	e911_record_t *rec = e911_record_parse(text, len, err, sizeof(err));

	if(rec == NULL)
		fail_msg("rejected: %s", err);
	return rec;
}

/* Whether v is a normalised xs:token: no control characters, no leading,
 * trailing or doubled spaces, at most E911_VALUE_MAX bytes. */
static int is_token(const char *v)
{
	size_t n = strlen(v);

	if(n == 0 || n > E911_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return 0;
	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if(c < 0x20 || c == 0x7F || (c == ' ' && v[i + 1] == ' '))
			return 0;
	}
	return 1;
}

/* Whether v is "+" and 8..15 digits, the first not 0. */
static int is_e164(const char *v)
{
	size_t n = strlen(v);

	if(n < 9 || n > 16 || v[0] != '+' || v[1] == '0')
		return 0;
	for(size_t i = 1; i < n; i++) {
		if(v[i] < '0' || v[i] > '9')
			return 0;
	}
	return 1;
}

/* Checks what every record must satisfy, whatever its content. */
static void check_invariants(const e911_record_t *rec)
{
	size_t pool_len = rec->size - offsetof(e911_record_t, pool);
	const char *v;

	assert_true(rec->size % 8 == 0);
	assert_true(rec->size <= E911_REC_MAX_SIZE);
	assert_true(rec->size > offsetof(e911_record_t, pool));
	assert_int_equal(rec->pool[0], '\0');
	for(int f = 0; f < E911_F_COUNT; f++) {
		if(rec->off[f] == 0)
			continue;
		assert_true(rec->off[f] < pool_len);
		assert_non_null(
				memchr(rec->pool + rec->off[f], '\0', pool_len - rec->off[f]));
		if(f != E911_F_ROUTE)
			assert_true(is_token(rec->pool + rec->off[f]));
	}
	v = e911_rec_get(rec, E911_CA_COUNTRY);
	if(v != NULL)
		assert_true(strlen(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A'
					&& v[1] <= 'Z');
	v = e911_rec_get(rec, E911_F_CALLBACK);
	if(v != NULL)
		assert_true(is_e164(v));
	v = e911_rec_get(rec, E911_F_ROUTE);
	if(v != NULL)
		assert_int_equal(e911_uri_check(v, strlen(v)), 0);
	if(rec->flags & E911_REC_HAS_RADIUS) {
		assert_true(rec->flags & E911_REC_HAS_GEO);
		assert_true(rec->radius_m > 0);
	}
	if((rec->flags & E911_REC_VALIDATED)
			&& !(rec->flags & E911_REC_VALIDATED_SET))
		fail_msg("validated without validated_set");
	assert_true(rec->max_age >= -1);
}

/* Checks parse(to_json(rec)) == rec and dup(rec) == rec, byte for byte. */
static void check_round_trip(const e911_record_t *rec)
{
	char *json = e911_record_to_json(rec);
	e911_record_t *again;
	e911_record_t *copy;

	assert_non_null(json);
	assert_null(strchr(json, '\n'));
	again = parse_ok(json, strlen(json));
	assert_int_equal(again->size, rec->size);
	if(memcmp(again, rec, rec->size) != 0)
		fail_msg("round trip changed the record: %s", json);
	copy = e911_record_dup(rec);
	assert_non_null(copy);
	assert_memory_equal(copy, rec, rec->size);
	free(copy);
	free(again);
	free(json);
}

static void test_valid_case(void **state)
{
	const data_case_t *c = *state;
	size_t in_len;
	size_t exp_len;
	char *input = tu_case_read(c, "input.json", &in_len);
	char *expected = tu_case_read(c, "expected.json", &exp_len);
	e911_record_t *rec = parse_ok(input, in_len);
	char *json = e911_record_to_json(rec);
	char *got;
	char *want;

	assert_non_null(json);
	got = canon_json(json, strlen(json));
	want = canon_json(expected, exp_len);
	assert_string_equal(got, want);
	check_invariants(rec);
	check_round_trip(rec);
	free(want);
	free(got);
	free(json);
	free(rec);
	free(expected);
	free(input);
}

static void test_invalid_case(void **state)
{
	const data_case_t *c = *state;
	size_t in_len;
	char *input = tu_case_read(c, "input.json", &in_len);
	char *want = tu_case_line(c, "error.txt");
	char err[256];
	e911_record_t *rec;

	memset(err, 'x', sizeof(err));
	rec = e911_record_parse(input, in_len, err, sizeof(err));
	if(rec != NULL)
		fail_msg("accepted: %s", e911_record_to_json(rec));
	tu_assert_error(err, sizeof(err), want);
	if(strstr(err, "SECRET") != NULL)
		fail_msg("error quotes the input: %s", err);
	for(const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	/* no error buffer at all is fine too */
	assert_null(e911_record_parse(input, in_len, NULL, 0));
	free(want);
	free(input);
}

/* ---- table tests ---- */

static void test_e164(void **state)
{
	static const struct
	{
		const char *in;
		const char *out; /* NULL: rejected */
	} t[] = {
			{"+13125550100", "+13125550100"},
			{"+1 (312) 555-0100", "+13125550100"},
			{"  +1.312.555.0100  ", "+13125550100"},
			{"tel:+13125550100", "+13125550100"},
			{"TEL:+1-312-555-0100;phone-context=example.com", "+13125550100"},
			{"sip:+13125550100@host.example.com", "+13125550100"},
			{"sip:+13125550100;user=phone", "+13125550100"},
			{"sips:+13125550100@host", "+13125550100"},
			{"SIP:3125550100@host", "+13125550100"},
			{"3125550100", "+13125550100"},
			{"(312) 555-0100", "+13125550100"},
			{"13125550100", "+13125550100"},
			{"1 312 555 0100", "+13125550100"},
			{"+442079460958", "+442079460958"},
			{"+12345678", "+12345678"},				  /* 8 digits */
			{"+123456789012345", "+123456789012345"}, /* 15 digits */
			{"+1234567", NULL},						  /* 7 digits */
			{"+1234567890123456", NULL},			  /* 16 digits */
			{"+0123456789", NULL},					  /* no country code 0 */
			{"0123456789", NULL},					  /* NPA starts 0 */
			{"3121550100", NULL},					  /* NXX starts 1 */
			{"23125550100", NULL},					  /* 11 digits, not 1 */
			{"312555010", NULL},
			{"555-0100", NULL},
			{"", NULL},
			{"+", NULL},
			{"tel:", NULL},
			{"sip:@host", NULL},
			{"sip:alice@host", NULL},
			{"+1312555010O", NULL}, /* letter O */
			{"+13125550100\r\n", NULL},
			{"+1312555\n0100", NULL},
			{"+13125550100\tx", NULL},
			{"++13125550100", NULL},
			{"1+3125550100", NULL},
			{"+1312555010#0", NULL},
			{"3125550100;ext=1", NULL},
			{"011 44 20 7946 0958", NULL},
			{"911", NULL},
	};
	char out[17];

	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc =
				e911_e164_normalize(t[i].in, strlen(t[i].in), out, sizeof(out));

		if(t[i].out == NULL && rc != -1)
			fail_msg("accepted \"%s\" as %s", t[i].in, out);
		if(t[i].out != NULL && rc != 0)
			fail_msg("rejected \"%s\"", t[i].in);
		if(t[i].out != NULL)
			assert_string_equal(out, t[i].out);
	}
	/* the length is respected: a prefix of a valid number is not one */
	assert_int_equal(e911_e164_normalize("+13125550100", 6, out, 17), -1);
	assert_int_equal(e911_e164_normalize("+13125550100", 12, out, 16), -1);
	assert_int_equal(e911_e164_normalize(NULL, 0, out, 17), -1);
	assert_int_equal(e911_e164_normalize("+13125550100", 12, NULL, 17), -1);
}

static void test_uri_check(void **state)
{
	static const struct
	{
		const char *uri;
		int ok;
	} t[] = {
			{"sip:911@psap.example.net", 1},
			{"sips:911@psap.example.net;transport=tls", 1},
			{"tel:911", 1},
			{"tel:+13125550100", 1},
			{"urn:service:sos", 1},
			{"urn:service:sos.police", 1},
			{"SIP:911@psap.example.net", 1},
			{"Sips:911@x", 1},
			{"TEL:911", 1},
			{"URN:service:sos", 1},
			{"sip:911@[2001:db8::1]:5061;transport=tls", 1},
			{"sip:911@psap.example.net?Subject=x&Priority=emergency", 1},
			{"http://psap.example.net/", 0},
			{"https://psap.example.net/", 0},
			{"javascript:alert(1)", 0},
			{"data:text/plain,x", 0},
			{"sip", 0},
			{"sip:", 0},
			{"urn:", 0},
			{"sipx:911@x", 0},
			{"si:911@x", 0},
			{":911@x", 0},
			{"911@psap.example.net", 0},
			{" sip:911@x", 0},
			{"sip:911@x ", 0},
			{"sip:911 @x", 0},
			{"sip:911@x\r\nVia: evil", 0},
			{"sip:911@x\n", 0},
			{"sip:911@x\t", 0},
			{"sip:911@x\x7f", 0},
			{"sip:911@x\x01", 0},
			{"sip:911@x>", 0},
			{"sip:911@x<", 0},
			{"sip:\"911\"@x", 0},
			{"sip:911@ps\xc3\xa4p.example", 0},
			{"", 0},
	};
	char longest[300];

	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = e911_uri_check(t[i].uri, strlen(t[i].uri));

		if(rc != (t[i].ok ? 0 : -1))
			fail_msg("e911_uri_check(\"%s\") = %d", t[i].uri, rc);
	}
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "sip:", 4);
	assert_int_equal(e911_uri_check(longest, 255), 0);
	assert_int_equal(e911_uri_check(longest, 256), -1);
	/* an embedded NUL counts as a control character */
	assert_int_equal(e911_uri_check("sip:911\0@x", 10), -1);
	assert_int_equal(e911_uri_check(NULL, 0), -1);
}

static void test_civic_names(void **state)
{
	for(int f = 0; f < E911_CA_COUNT; f++) {
		const char *name = e911_civic_name(f);

		assert_non_null(name);
		assert_int_equal(e911_civic_field(name, strlen(name)), f);
	}
	assert_string_equal(e911_civic_name(E911_CA_COUNTRY), "country");
	assert_string_equal(e911_civic_name(E911_CA_ADDCODE), "ADDCODE");
	assert_string_equal(e911_civic_name(E911_CA_PN), "PN");
	assert_null(e911_civic_name(-1));
	assert_null(e911_civic_name(E911_CA_COUNT));
	assert_null(e911_civic_name(E911_F_KEY));
	assert_int_equal(e911_civic_field("RD", 2), E911_CA_RD);
	assert_int_equal(e911_civic_field("RDSEC", 2), E911_CA_RD);
	assert_int_equal(e911_civic_field("rd", 2), -1);
	assert_int_equal(e911_civic_field("Country", 7), -1);
	assert_int_equal(e911_civic_field("key", 3), -1);
	assert_int_equal(e911_civic_field("", 0), -1);
	assert_int_equal(e911_civic_field(NULL, 0), -1);
}

/* A body of exactly E911_BODY_MAX bytes is read; one byte more is not. */
static void test_body_limit(void **state)
{
	static const char doc[] = "{\"civic\":{\"RD\":\"Main\"}}";
	char *body = malloc(E911_BODY_MAX + 1);
	char err[128];
	e911_record_t *rec;

	assert_non_null(body);
	memset(body, ' ', E911_BODY_MAX + 1);
	memcpy(body, doc, sizeof(doc) - 1);
	rec = e911_record_parse(body, E911_BODY_MAX, err, sizeof(err));
	assert_non_null(rec);
	free(rec);
	assert_null(e911_record_parse(body, E911_BODY_MAX + 1, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 65536 bytes"));
	free(body);
}

static void test_error_buffer(void **state)
{
	char err[8];

	assert_null(e911_record_parse(NULL, 0, err, sizeof(err)));
	assert_true(strlen(err) > 0 && strlen(err) < sizeof(err));
	assert_null(e911_record_parse("[]", 2, err, sizeof(err)));
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_null(e911_record_parse("[]", 2, err, 1));
	assert_int_equal(err[0], '\0');
	assert_null(e911_record_parse("[]", 2, NULL, 100));
}

/* The length argument is honoured: no NUL terminator is needed or read. */
static void test_length_not_nul(void **state)
{
	static const char doc[] = "{\"civic\":{\"RD\":\"Main\"}}garbage";
	e911_record_t *rec = parse_ok(doc, sizeof(doc) - 1 - 7);

	assert_string_equal(e911_rec_get(rec, E911_CA_RD), "Main");
	free(rec);
}

/* The same content in a different order gives the same bytes. */
static void test_layout_canonical(void **state)
{
	static const char a[] = "{\"key\":\"k\",\"civic\":{\"RD\":\"Main\","
							"\"HNO\":\"1\",\"country\":\"us\"},\"max_age\":5}";
	static const char b[] = "{\"max_age\":5,\"civic\":{\"country\":\"US\","
							"\"HNO\":1,\"RD\":\" Main \"},\"key\":\"k\"}";
	e911_record_t *ra = parse_ok(a, sizeof(a) - 1);
	e911_record_t *rb = parse_ok(b, sizeof(b) - 1);

	assert_int_equal(ra->size, rb->size);
	assert_memory_equal(ra, rb, ra->size);
	free(ra);
	free(rb);
}

/* Every field at its longest still fits E911_REC_MAX_SIZE. */
static void test_largest_record(void **state)
{
	char *json = malloc(32768);
	char value[E911_VALUE_MAX + 1];
	size_t n = 0;
	e911_record_t *rec;

	assert_non_null(json);
	memset(value, 'v', E911_VALUE_MAX);
	value[E911_VALUE_MAX] = '\0';
	n += sprintf(
			json + n, "{\"key\":\"%s\",\"civic\":{\"country\":\"US\"", value);
	for(int f = E911_CA_A1; f < E911_CA_COUNT; f++)
		n += sprintf(json + n, ",\"%s\":\"%s\"", e911_civic_name(f), value);
	memcpy(value, "sip:", 4);
	n += sprintf(json + n,
			"},\"geo\":{\"lat\":-12.3456789,\"lon\":123.456789,"
			"\"radius_m\":0.1},\"callback\":\"+123456789012345\","
			"\"route\":{\"uri\":\"%s\"},\"validated\":false,"
			"\"updated_at\":\"2026-11-20T10:00:00.123456789-05:30\","
			"\"max_age\":2147483647,\"endpoint_id\":\"%.*s\","
			"\"site\":{\"multi_floor\":true,\"multi_unit\":true},"
			"\"networks\":[\"192.0.2.0/24\",\"2001:db8::/32\"],"
			"\"mobility\":\"Nomadic\"}",
			value, E911_ENDPOINT_ID_MAX, value + 4);
	rec = parse_ok(json, n);
	assert_true(rec->size <= E911_REC_MAX_SIZE);
	for(int f = 0; f < E911_F_COUNT; f++)
		assert_non_null(e911_rec_get(rec, f));
	check_invariants(rec);
	check_round_trip(rec);
	free(rec);
	free(json);
}

static void test_fields(void **state)
{
	static const char doc[] =
			"{\"key\":\"alice\",\"callback\":\"+13125550100\",\"civic\":"
			"{\"RD\":\"Main\"},\"geo\":{\"lat\":41.8819,\"lon\":-87.6278,"
			"\"radius_m\":25},\"validated\":true,\"updated_at\":"
			"\"2026-11-20T11:00:00+01:00\",\"max_age\":300}";
	e911_record_t *rec = parse_ok(doc, sizeof(doc) - 1);

	assert_true(rec->flags & E911_REC_HAS_GEO);
	assert_true(rec->flags & E911_REC_HAS_RADIUS);
	assert_true(rec->flags & E911_REC_VALIDATED);
	assert_true(rec->flags & E911_REC_VALIDATED_SET);
	assert_true(rec->lat == 41.8819 && rec->lon == -87.6278);
	assert_true(rec->radius_m == 25.0);
	assert_int_equal(rec->updated_at, 1795168800); /* 2026-11-20T10:00Z */
	assert_int_equal(rec->max_age, 300);
	assert_string_equal(e911_rec_get(rec, E911_F_KEY), "alice");
	assert_null(e911_rec_get(rec, E911_F_ROUTE));
	assert_null(e911_rec_get(rec, -1));
	assert_null(e911_rec_get(rec, E911_F_COUNT));
	free(rec);

	rec = parse_ok("{\"civic\":{\"RD\":\"x\"}}", 20);
	assert_int_equal(rec->flags, 0);
	assert_int_equal(rec->max_age, -1);
	assert_int_equal(rec->updated_at, 0);
	free(rec);
}

static void test_dup_and_to_json_edges(void **state)
{
	e911_record_t bad;

	assert_null(e911_record_dup(NULL));
	assert_null(e911_record_to_json(NULL));
	memset(&bad, 0, sizeof(bad));
	bad.size = 3;
	assert_null(e911_record_dup(&bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_e164),
			cmocka_unit_test(test_uri_check),
			cmocka_unit_test(test_civic_names),
			cmocka_unit_test(test_body_limit),
			cmocka_unit_test(test_error_buffer),
			cmocka_unit_test(test_length_not_nul),
			cmocka_unit_test(test_layout_canonical),
			cmocka_unit_test(test_largest_record),
			cmocka_unit_test(test_fields),
			cmocka_unit_test(test_dup_and_to_json_edges),
	};
	int failed = 0;

	failed += tu_run_case_dirs(
			"record_valid", RECORD_DATA "/valid", test_valid_case);
	failed += tu_run_case_dirs(
			"record_invalid", RECORD_DATA "/invalid", test_invalid_case);
	failed += cmocka_run_group_tests_name("record_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
