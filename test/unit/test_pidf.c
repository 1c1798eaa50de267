/*
 * Unit tests for PIDF-LO and address-line rendering
 * (modules/e911/core/e911_pidf.c).
 *
 * Data-driven: each test/data/pidf/<case>/ holds record.json (a location-
 * service answer), expected.xml (the exact document e911_pidf_render()
 * must produce with the options below) and address.txt (the address line).
 * Every rendered document must hold no raw control character but the
 * newline. Run with --schema (the ctest test unit.test_pidf.schema,
 * skipped without xmllint), it validates instead every case's document,
 * and the largest, with xmllint against test/xsd/all.xsd. Setting
 * E911_TEST_REGEN=1 rewrites expected.xml and address.txt from the current
 * output instead: review the diff.
 *
 * The rest are table tests of the time, escaping and line helpers, the
 * "buffer too small" contract (never a byte past size), the largest
 * possible document, and independence from LC_NUMERIC.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_pidf.h"
#include "e911_text.h"
#include "e911_time.h"
#include "e911_record.h"
#include "testutil.h"

#ifndef E911_TEST_XSD
#error "E911_TEST_XSD must name the test/xsd directory"
#endif
#define PIDF_DATA E911_TEST_DATA "/pidf"
#define PIDF_XSD E911_TEST_XSD "/all.xsd"

/* The fixed options every data case is rendered with. */
static const e911_pidf_opts_t opts = {
		.domain = "e911.example.net", .now = 1795000000, .retention_s = 86400};

typedef tu_case_t data_case_t;

static e911_record_t *parse_ok(const char *text, size_t len)
{
	char err[256];
	e911_record_t *rec = e911_record_parse(text, len, err, sizeof(err));

	if(rec == NULL)
		fail_msg("record rejected: %s", err);
	return rec;
}

/* Fails when doc holds a control character other than '\n'. */
static void assert_no_controls(const char *doc)
{
	for(const unsigned char *p = (const unsigned char *)doc; *p; p++) {
		if((*p < 0x20 && *p != '\n') || *p == 0x7F)
			fail_msg("control character 0x%02x at offset %zu", *p,
					(size_t)(p - (const unsigned char *)doc));
	}
}

/* Renders rec into a heap buffer of E911_PIDF_MAX bytes. */
static char *render_ok(const e911_record_t *rec, const e911_pidf_opts_t *o)
{
	char *buf = malloc(E911_PIDF_MAX);
	int n;

	assert_non_null(buf);
	n = e911_pidf_render(rec, o, buf, E911_PIDF_MAX);
	if(n < 0)
		fail_msg("render failed");
	assert_int_equal((size_t)n, strlen(buf));
	return buf;
}

/* Parses the case's record.json into *rec and renders it. */
static char *render_case(const data_case_t *c, e911_record_t **rec)
{
	size_t len;
	char *json = tu_case_read(c, "record.json", &len);

	*rec = parse_ok(json, len);
	free(json);
	return render_ok(*rec, &opts);
}

static void test_pidf_case(void **state)
{
	const data_case_t *c = *state;
	e911_record_t *rec;
	char *doc = render_case(c, &rec);
	char line[1024];
	char path[1200];
	char *want_doc;
	char *want_line;

	assert_true(e911_address_line(rec, line, sizeof(line)) >= 0);
	if(getenv("E911_TEST_REGEN") != NULL) {
		snprintf(path, sizeof(path), "%s/expected.xml", c->path);
		tu_write_file(path, doc, strlen(doc));
		snprintf(path, sizeof(path), "%s/address.txt", c->path);
		strcat(line, "\n");
		tu_write_file(path, line, strlen(line));
		line[strlen(line) - 1] = '\0';
	}
	want_doc = tu_case_read(c, "expected.xml", NULL);
	want_line = tu_case_line(c, "address.txt");
	assert_string_equal(doc, want_doc);
	assert_string_equal(line, want_line);
	assert_no_controls(doc);
	assert_no_controls(line);
	free(want_line);
	free(want_doc);
	free(doc);
	free(rec);
}

/* The document a case renders is valid against test/xsd/all.xsd. */
static void test_pidf_case_schema(void **state)
{
	const data_case_t *c = *state;
	e911_record_t *rec;
	char *doc = render_case(c, &rec);

	tu_assert_schema_valid(PIDF_XSD, c->name, doc);
	free(doc);
	free(rec);
}

/* ---- contract tests ---- */

/* The schema check is not a rubber stamp: a lower-case country fails. */
static void test_schema_check_works(void **state)
{
	static const char json[] = "{\"civic\":{\"country\":\"US\"}}";
	e911_record_t *rec = parse_ok(json, sizeof(json) - 1);
	char *doc = render_ok(rec, &opts);
	char *country = strstr(doc, "<ca:country>US<");

	assert_non_null(country);
	assert_int_equal(tu_xmllint(PIDF_XSD, "check-valid", doc), 0);
	memcpy(country + strlen("<ca:country>"), "us", 2);
	assert_int_not_equal(tu_xmllint(PIDF_XSD, "check-invalid", doc), 0);
	free(doc);
	free(rec);
}

static const char full_json[] =
		"{\"key\":\"alice\",\"callback\":\"+13125550100\",\"civic\":"
		"{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\",\"RD\":\"Main\","
		"\"STS\":\"St\",\"HNO\":\"100\",\"FLR\":\"3\",\"NAM\":\"A & B\"},"
		"\"geo\":{\"lat\":41.8819,\"lon\":-87.6278,\"radius_m\":25},"
		"\"updated_at\":\"2026-11-20T10:00:00Z\"}";

/* For every size up to the document length, render returns -1, leaves an
 * empty string and writes nothing at or past buf[size]. */
static void test_render_too_small(void **state)
{
	e911_record_t *rec = parse_ok(full_json, sizeof(full_json) - 1);
	char *doc = render_ok(rec, &opts);
	size_t len = strlen(doc);
	char *buf = malloc(len + 64);

	assert_non_null(buf);
	for(size_t size = 0; size <= len + 1; size++) {
		int n;

		memset(buf, 0xA5, len + 64);
		n = e911_pidf_render(rec, &opts, buf, size);
		for(size_t i = size; i < len + 64; i++) {
			if((unsigned char)buf[i] != 0xA5)
				fail_msg("size %zu: byte %zu written", size, i);
		}
		if(size <= len) {
			assert_int_equal(n, -1);
			if(size > 0)
				assert_int_equal(buf[0], '\0');
		} else {
			assert_int_equal(n, (int)len);
			assert_string_equal(buf, doc);
		}
	}
	free(buf);
	free(doc);
	free(rec);
}

static void test_render_refuses(void **state)
{
	e911_record_t *rec = parse_ok(full_json, sizeof(full_json) - 1);
	e911_pidf_opts_t o = opts;
	char buf[E911_PIDF_MAX];
	static const char *const bad_domains[] = {
			"", "a b", "x\"><evil/>", "host\r\n", "user@host", "h/p"};

	for(size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		o.domain = bad_domains[i];
		assert_int_equal(e911_pidf_render(rec, &o, buf, sizeof(buf)), -1);
	}
	o.domain = NULL;
	assert_int_equal(e911_pidf_render(rec, &o, buf, sizeof(buf)), -1);
	o.domain = "[2001:db8::1]";
	assert_true(e911_pidf_render(rec, &o, buf, sizeof(buf)) > 0);
	assert_int_equal(e911_pidf_render(rec, NULL, buf, sizeof(buf)), -1);
	assert_int_equal(e911_pidf_render(NULL, &opts, buf, sizeof(buf)), -1);
	assert_int_equal(e911_pidf_render(rec, &opts, NULL, 100), -1);
	/* a record with neither civic nor geodetic data renders nothing */
	memset(rec->off, 0, sizeof(rec->off));
	rec->flags = 0;
	buf[0] = 'x';
	assert_int_equal(e911_pidf_render(rec, &opts, buf, sizeof(buf)), -1);
	assert_int_equal(buf[0], '\0');
	free(rec);
}

/* Timestamps: updated_at when given, else opts.now; expiry adds retention. */
static void test_render_times(void **state)
{
	static const char civic[] = "{\"civic\":{\"RD\":\"Main\"}}";
	e911_record_t *rec = parse_ok(civic, sizeof(civic) - 1);
	e911_pidf_opts_t o = opts;
	char *doc;

	o.retention_s = 3600;
	doc = render_ok(rec, &o);
	assert_non_null(strstr(doc, "<timestamp>2026-11-18T11:06:40Z</timestamp>"));
	assert_non_null(strstr(doc, "<gbp:retention-expiry>2026-11-18T12:06:40Z"
								"</gbp:retention-expiry>"));
	free(doc);
	o.retention_s = -5; /* treated as 0 */
	doc = render_ok(rec, &o);
	assert_non_null(strstr(doc, "<gbp:retention-expiry>2026-11-18T11:06:40Z"));
	free(doc);
	o.now = (time_t)300000000000LL; /* year 11476: cannot be written */
	assert_int_equal(e911_pidf_render(rec, &o, (char[64]){0}, 64), -1);
	free(rec);
}

/* The PIDF-LO of the largest record there can be, every value escaping to
 * six bytes per character, in a malloc()ed buffer. */
static char *render_largest(void)
{
	char *json = malloc(65536);
	char quotes[E911_VALUE_MAX * 2 + 1];
	char apos[E911_VALUE_MAX + 1];
	size_t n = 0;
	e911_record_t *rec;
	char *doc;

	assert_non_null(json);
	for(int i = 0; i < E911_VALUE_MAX; i++)
		memcpy(quotes + 2 * i, "\\\"", 2);
	quotes[2 * E911_VALUE_MAX] = '\0';
	memset(apos, '\'', E911_VALUE_MAX);
	apos[E911_VALUE_MAX] = '\0';
	n += sprintf(
			json + n, "{\"key\":\"%s\",\"civic\":{\"country\":\"US\"", quotes);
	for(int f = E911_CA_A1; f < E911_CA_COUNT; f++)
		n += sprintf(json + n, ",\"%s\":\"%s\"", e911_civic_name(f),
				f % 2 ? quotes : apos);
	n += sprintf(json + n, "},\"geo\":{\"lat\":-89.999999,\"lon\":-179.999999,"
						   "\"radius_m\":20037508.5}}");
	rec = parse_ok(json, n);
	doc = render_ok(rec, &opts);
	free(rec);
	free(json);
	return doc;
}

/* The largest document fits in E911_PIDF_MAX. */
static void test_render_largest(void **state)
{
	char *doc = render_largest();

	fprintf(stderr, "largest document: %zu bytes of %d\n", strlen(doc),
			E911_PIDF_MAX);
	free(doc);
}

/* The largest document is still schema-valid. */
static void test_render_largest_schema(void **state)
{
	char *doc = render_largest();

	tu_assert_schema_valid(PIDF_XSD, "largest", doc);
	free(doc);
}

/* Output is the same whatever LC_NUMERIC says, when another locale with a
 * decimal comma is installed; skipped otherwise. */
static void test_render_locale(void **state)
{
	static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8",
			"fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", "pt_BR.UTF-8"};
	static const char json[] = "{\"civic\":{\"FLR\":2.5},\"geo\":{\"lat\":"
							   "41.8819,\"lon\":-87.6278,\"radius_m\":12.5}}";
	e911_record_t *rec = parse_ok(json, sizeof(json) - 1);
	char *c_doc = render_ok(rec, &opts);
	const char *used = NULL;
	e911_record_t *again;
	char *doc;

	for(size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && !used; i++) {
		if(setlocale(LC_ALL, locales[i]) != NULL)
			used = locales[i];
	}
	if(used == NULL) {
		free(c_doc);
		free(rec);
		fprintf(stderr, "SKIP: no locale with a decimal comma installed\n");
		skip();
	}
	again = parse_ok(json, sizeof(json) - 1);
	doc = render_ok(again, &opts);
	setlocale(LC_ALL, "C");
	assert_string_equal(doc, c_doc);
	assert_memory_equal(again, rec, rec->size);
	assert_string_equal(e911_rec_get(again, E911_CA_FLR), "2.5");
	free(doc);
	free(again);
	free(c_doc);
	free(rec);
}

static void test_time_format(void **state)
{
	static const struct
	{
		int64_t t;
		const char *s;
	} t[] = {
			{0, "1970-01-01T00:00:00Z"},
			{1795000000, "2026-11-18T11:06:40Z"},
			{1795168800, "2026-11-20T10:00:00Z"},
			{951782400, "2000-02-29T00:00:00Z"},
			{4107542399LL, "2100-02-28T23:59:59Z"},
			{4107542400LL, "2100-03-01T00:00:00Z"},
			{-1, "1969-12-31T23:59:59Z"},
			{-62135596800LL, "0001-01-01T00:00:00Z"},
			{253402300799LL, "9999-12-31T23:59:59Z"},
	};
	char buf[32];

	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t back;

		assert_int_equal(e911_time_format(t[i].t, buf, sizeof(buf)), 20);
		assert_string_equal(buf, t[i].s);
		assert_int_equal(e911_time_parse(buf, strlen(buf), &back), 0);
		assert_int_equal(back, t[i].t);
	}
	assert_int_equal(e911_time_format(0, buf, 21), 20);
	assert_int_equal(e911_time_format(0, buf, 20), -1);
	assert_int_equal(e911_time_format(0, NULL, 32), -1);
	assert_int_equal(e911_time_format(-62135596801LL, buf, sizeof(buf)), -1);
	assert_int_equal(e911_time_format(253402300800LL, buf, sizeof(buf)), -1);
	assert_int_equal(e911_time_format(INT64_MIN, buf, sizeof(buf)), -1);
	assert_int_equal(e911_time_format(INT64_MAX, buf, sizeof(buf)), -1);
}

static void test_time_parse(void **state)
{
	static const struct
	{
		const char *s;
		int64_t t; /* -1: rejected */
	} t[] = {
			{"2026-11-20T10:00:00Z", 1795168800},
			{"2026-11-20t10:00:00z", 1795168800},
			{"2026-11-20T11:00:00+01:00", 1795168800},
			{"2026-11-20T04:30:00-05:30", 1795168800},
			{"2026-11-20T10:00:00.5Z", 1795168800},
			{"2026-11-20T10:00:00.123456789+00:00", 1795168800},
			{"2026-11-20T10:00:00-00:00", 1795168800},
			{"2024-02-29T00:00:00Z", 1709164800},
			{"2016-12-31T23:59:60Z", 1483228800}, /* leap second */
			{"1970-01-01T00:00:00Z", 0},
			{"2023-02-29T00:00:00Z", -1},
			{"2100-02-29T00:00:00Z", -1},
			{"2026-13-01T00:00:00Z", -1},
			{"2026-00-01T00:00:00Z", -1},
			{"2026-04-31T00:00:00Z", -1},
			{"2026-11-20T24:00:00Z", -1},
			{"2026-11-20T10:60:00Z", -1},
			{"2026-11-20T10:00:61Z", -1},
			{"2026-11-20T10:00:00", -1},
			{"2026-11-20T10:00:00+0100", -1},
			{"2026-11-20T10:00:00+24:00", -1},
			{"2026-11-20T10:00:00.Z", -1},
			{"2026-11-20T10:00:00ZZ", -1},
			{"2026-11-20 10:00:00Z", -1},
			{"2026-11-20T10:00Z", -1},
			{"2026-11-20", -1},
			{"26-11-20T10:00:00Z", -1},
			{"+2026-11-20T10:00:00Z", -1},
			{"2026-1a-20T10:00:00Z", -1},
			{" 2026-11-20T10:00:00Z", -1},
			{"2026-11-20T10:00:00Z ", -1},
			{"", -1},
	};

	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t v = 12345;
		int rc = e911_time_parse(t[i].s, strlen(t[i].s), &v);

		if(t[i].t == -1 && rc != -1)
			fail_msg("accepted \"%s\"", t[i].s);
		if(t[i].t != -1 && (rc != 0 || v != t[i].t))
			fail_msg("\"%s\": rc %d, %lld", t[i].s, rc, (long long)v);
	}
	/* length-bounded: a valid prefix is not read past len */
	assert_int_equal(
			e911_time_parse("2026-11-20T10:00:00Zjunk", 20, &(int64_t){0}), 0);
	assert_int_equal(
			e911_time_parse("2026-11-20T10:00:00Z", 19, &(int64_t){0}), -1);
	assert_int_equal(e911_time_parse(NULL, 20, &(int64_t){0}), -1);
}

static void test_xml_escape(void **state)
{
	char buf[64];
	size_t pos = 0;
	static const char all[] = "a&b<c>d\"e'f\tg\nh\ri\x01j\x7fk]]>";

	assert_int_equal(e911_xml_escape(buf, sizeof(buf), &pos, "x", 1), 0);
	assert_int_equal(
			e911_xml_escape(buf, sizeof(buf), &pos, all, sizeof(all) - 1), 0);
	assert_string_equal(buf, "xa&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;"
							 "ijk]]&gt;");
	assert_int_equal(pos, strlen(buf));
	/* UTF-8 passes through */
	pos = 0;
	assert_int_equal(e911_xml_escape(buf, sizeof(buf), &pos,
							 "Montr\xc3\xa9"
							 "al",
							 9),
			0);
	assert_string_equal(buf, "Montr\xc3\xa9"
							 "al");
	/* exact fit: "&amp;" needs 5 bytes and the NUL one more */
	pos = 0;
	assert_int_equal(e911_xml_escape(buf, 6, &pos, "&", 1), 0);
	assert_int_equal(pos, 5);
	pos = 0;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(e911_xml_escape(buf, 5, &pos, "&", 1), -1);
	assert_int_equal(pos, 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[5], 'z');
	/* failure keeps what was there before *pos */
	pos = 0;
	assert_int_equal(e911_xml_escape(buf, 8, &pos, "ab", 2), 0);
	assert_int_equal(e911_xml_escape(buf, 8, &pos, "<<", 2), -1);
	assert_int_equal(pos, 2);
	assert_string_equal(buf, "ab");
	/* nothing to append, and bad arguments */
	assert_int_equal(e911_xml_escape(buf, 8, &pos, "", 0), 0);
	assert_int_equal(e911_xml_escape(buf, 8, &pos, NULL, 0), 0);
	pos = 8;
	assert_int_equal(e911_xml_escape(buf, 8, &pos, "a", 1), -1);
	pos = 0;
	assert_int_equal(e911_xml_escape(NULL, 8, &pos, "a", 1), -1);
}

static void test_address_line(void **state)
{
	static const char geo[] =
			"{\"geo\":{\"lat\":-33.8567844,\"lon\":151.2152967}}";
	static const char sparse[] = "{\"civic\":{\"country\":\"US\",\"PC\":"
								 "\"60601\",\"FLR\":\"2\"},\"geo\":{\"lat\":1,"
								 "\"lon\":2}}";
	static const char utf8[] = "{\"civic\":{\"A3\":\"Montr\xc3\xa9"
							   "al\"}}";
	e911_record_t *rec = parse_ok(geo, sizeof(geo) - 1);
	char buf[128];

	assert_int_equal(e911_address_line(rec, buf, sizeof(buf)), 21);
	assert_string_equal(buf, "-33.856784,151.215297");
	free(rec);
	rec = parse_ok(sparse, sizeof(sparse) - 1);
	e911_address_line(rec, buf, sizeof(buf));
	assert_string_equal(buf, "Floor 2, 60601, US");
	assert_int_equal(e911_address_line(rec, buf, 0), -1);
	assert_int_equal(e911_address_line(rec, buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(e911_address_line(rec, buf, 8), 7);
	assert_string_equal(buf, "Floor 2");
	free(rec);
	/* truncation never splits a UTF-8 character */
	rec = parse_ok(utf8, sizeof(utf8) - 1);
	assert_int_equal(e911_address_line(rec, buf, 7), 5);
	assert_string_equal(buf, "Montr");
	assert_int_equal(e911_address_line(rec, buf, 8), 7);
	assert_string_equal(buf, "Montr\xc3\xa9");
	free(rec);
	assert_int_equal(e911_address_line(NULL, buf, sizeof(buf)), 0);
	assert_int_equal(e911_address_line(NULL, NULL, 0), -1);
}

static int run_all_but_schema(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_render_too_small),
			cmocka_unit_test(test_render_refuses),
			cmocka_unit_test(test_render_times),
			cmocka_unit_test(test_render_largest),
			cmocka_unit_test(test_render_locale),
			cmocka_unit_test(test_time_format),
			cmocka_unit_test(test_time_parse),
			cmocka_unit_test(test_xml_escape),
			cmocka_unit_test(test_address_line),
	};

	return tu_run_case_dirs("pidf_cases", PIDF_DATA, test_pidf_case)
		   + cmocka_run_group_tests_name("pidf_api", tests, NULL, NULL);
}

static int run_schema_checks(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_schema_check_works),
			cmocka_unit_test(test_render_largest_schema),
	};

	return tu_run_case_dirs(
				   "pidf_cases_schema", PIDF_DATA, test_pidf_case_schema)
		   + cmocka_run_group_tests_name("pidf_schema", tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	return tu_main_with_schema(
			argc, argv, run_all_but_schema, run_schema_checks);
}
