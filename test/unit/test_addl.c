/*
 * Unit tests: RFC 7852 ProviderInfo and ServiceInfo rendering
 * (modules/e911/core/e911_additional_data.c).
 *
 * Data-driven (see test/data/addl/README.md): every case directory renders
 * its input.txt and must produce expected.xml exactly. Run with --schema
 * (the ctest test unit.test_addl.schema, skipped without xmllint), it
 * validates instead every case's document, and the largest blocks, with
 * xmllint against test/xsd/providerinfo.xsd or serviceinfo.xsd. Invalid
 * cases must be refused by the check with the expected reason and by the
 * render with E911_ADDL_EINVAL. Table tests cover the "buffer too small" contract (never
 * a byte past size), the largest blocks, and that the schema check is not a
 * rubber stamp.
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

#include "e911_additional_data.h"
#include "testutil.h"

#define ADDL_DATA E911_TEST_DATA "/addl"
#define PI_XSD E911_TEST_XSD "/providerinfo.xsd"
#define SI_XSD E911_TEST_XSD "/serviceinfo.xsd"

typedef tu_case_t data_case_t;

/* The fields of one input.txt; strings point into text. */
typedef struct input
{
	char *text;
	e911_provider_t p;
	e911_svcinfo_t s;
} input_t;

/* Reads <case>/input.txt into in. */
static void read_input(const data_case_t *c, input_t *in)
{
	char *line;
	char *next;

	memset(in, 0, sizeof(*in));
	in->text = tu_case_read(c, "input.txt", NULL);
	for(line = in->text; line != NULL && *line != '\0'; line = next) {
		char *eq;
		const char **pp[] = {NULL, NULL};

		next = strchr(line, '\n');
		if(next != NULL)
			*next++ = '\0';
		eq = strchr(line, '=');
		if(eq == NULL)
			continue;
		*eq = '\0';
		if(strcmp(line, "reference") == 0) {
			pp[0] = &in->p.reference;
			pp[1] = &in->s.reference;
		} else if(strcmp(line, "name") == 0) {
			pp[0] = &in->p.name;
		} else if(strcmp(line, "id") == 0) {
			pp[0] = &in->p.id;
		} else if(strcmp(line, "id_series") == 0) {
			pp[0] = &in->p.id_series;
		} else if(strcmp(line, "type") == 0) {
			pp[0] = &in->p.type;
			pp[1] = &in->s.type;
		} else if(strcmp(line, "contact_uri") == 0) {
			pp[0] = &in->p.contact_uri;
		} else if(strcmp(line, "language") == 0) {
			pp[0] = &in->p.language;
		} else if(strcmp(line, "environment") == 0) {
			pp[0] = &in->s.environment;
		} else if(strcmp(line, "mobility") == 0) {
			pp[0] = &in->s.mobility;
		}
		for(int i = 0; i < 2; i++) {
			if(pp[i] != NULL)
				*pp[i] = eq + 1;
		}
	}
}

static int is_provider(const char *dir)
{
	return strstr(dir, "/providerinfo") != NULL;
}

/* Renders the case; returns the document in a malloc()ed buffer. */
static char *render(const data_case_t *c, const input_t *in, int *rc)
{
	char *buf = malloc(E911_ADDL_MAX);

	assert_non_null(buf);
	if(is_provider(c->path))
		*rc = e911_providerinfo_render(&in->p, buf, E911_ADDL_MAX);
	else
		*rc = e911_serviceinfo_render(&in->s, buf, E911_ADDL_MAX);
	return buf;
}

static void test_valid_case(void **state)
{
	const data_case_t *c = *state;
	input_t in;
	char path[1200];
	char err[256];
	char *doc;
	char *want;
	int rc;
	int chk;

	read_input(c, &in);
	chk = is_provider(c->path) ? e911_providerinfo_check(&in.p, err, 256)
							   : e911_serviceinfo_check(&in.s, err, 256);
	if(chk != 0)
		fail_msg("check failed: %s", err);
	assert_string_equal(err, "");
	doc = render(c, &in, &rc);
	if(rc < 0)
		fail_msg("render failed: %d", rc);
	assert_int_equal((size_t)rc, strlen(doc));
	if(getenv("E911_TEST_REGEN") != NULL) {
		snprintf(path, sizeof(path), "%s/expected.xml", c->path);
		tu_write_file(path, doc, strlen(doc));
	}
	want = tu_case_read(c, "expected.xml", NULL);
	assert_string_equal(doc, want);
	for(const unsigned char *p = (const unsigned char *)doc; *p; p++) {
		if((*p < 0x20 && *p != '\n') || *p == 0x7F)
			fail_msg("control character at offset %zu",
					(size_t)(p - (const unsigned char *)doc));
	}
	free(want);
	free(doc);
	free(in.text);
}

/* The document a valid case renders is valid against its schema. */
static void test_valid_case_schema(void **state)
{
	const data_case_t *c = *state;
	input_t in;
	char *doc;
	int rc;

	read_input(c, &in);
	doc = render(c, &in, &rc);
	assert_true(rc > 0);
	tu_assert_schema_valid(
			is_provider(c->path) ? PI_XSD : SI_XSD, c->name, doc);
	free(doc);
	free(in.text);
}

static void test_invalid_case(void **state)
{
	const data_case_t *c = *state;
	input_t in;
	char err[256];
	char *want;
	char *doc;
	int rc;
	int chk;

	read_input(c, &in);
	want = tu_case_line(c, "error.txt");
	memset(err, 'x', sizeof(err));
	chk = is_provider(c->path) ? e911_providerinfo_check(&in.p, err, 256)
							   : e911_serviceinfo_check(&in.s, err, 256);
	assert_int_equal(chk, -1);
	tu_assert_error(err, sizeof(err), want);
	doc = render(c, &in, &rc);
	assert_int_equal(rc, E911_ADDL_EINVAL);
	assert_string_equal(doc, "");
	free(doc);
	free(want);
	free(in.text);
}

/* ---- table tests ---- */

static const e911_provider_t tv5 = {.reference = "7f3a9c01@sbc.example.com",
		.name = "Example Corp Telecom",
		.type = "Telecom Provider",
		.contact_uri = "tel:+1-312-555-0199",
		.language = "en"};

static const e911_svcinfo_t tv6 = {.reference = "7f3a9c01@sbc.example.com",
		.environment = "Business",
		.type = "MLTS-local",
		.mobility = "Fixed"};

/* Every size below the document's is refused without writing past size;
 * the exact size (length + 1) works. */
static void test_buffer_too_small(void **state)
{
	char full[E911_ADDL_MAX];
	char buf[E911_ADDL_MAX + 16];
	int n;

	for(int kind = 0; kind < 2; kind++) {
		n = kind == 0 ? e911_providerinfo_render(&tv5, full, sizeof(full))
					  : e911_serviceinfo_render(&tv6, full, sizeof(full));
		assert_true(n > 0);
		for(size_t size = 0; size <= (size_t)n + 1; size++) {
			int rc;

			memset(buf, '#', sizeof(buf));
			rc = kind == 0 ? e911_providerinfo_render(&tv5, buf, size)
						   : e911_serviceinfo_render(&tv6, buf, size);
			if(size <= (size_t)n) {
				assert_int_equal(rc, E911_ADDL_ENOSPACE);
				if(size > 0)
					assert_int_equal(buf[0], '\0');
			} else {
				assert_int_equal(rc, n);
				assert_string_equal(buf, full);
			}
			for(size_t i = size; i < sizeof(buf); i++)
				assert_int_equal(buf[i], '#');
		}
	}
	assert_int_equal(
			e911_providerinfo_render(&tv5, NULL, 100), E911_ADDL_ENOSPACE);
	assert_int_equal(e911_providerinfo_render(NULL, full, sizeof(full)),
			E911_ADDL_EINVAL);
	assert_int_equal(e911_serviceinfo_render(NULL, full, sizeof(full)),
			E911_ADDL_EINVAL);
}

/* The largest blocks (every value at its longest, escaping to six bytes a
 * character, every list full) fit E911_ADDL_MAX; with validate, they are
 * valid against their schemas. */
static void check_largest(int validate)
{
	char name[E911_ADDL_VALUE_MAX + 1];
	char ref[E911_ADDL_VALUE_MAX + 1];
	char types[8 * (E911_ADDL_VALUE_MAX + 1)];
	char uri[E911_ADDL_VALUE_MAX + 1];
	char *buf = malloc(E911_ADDL_MAX);
	e911_provider_t p;
	e911_svcinfo_t s;
	size_t o = 0;
	int n;

	assert_non_null(buf);
	memset(name, '"', E911_ADDL_VALUE_MAX);
	name[0] = 'N';
	name[E911_ADDL_VALUE_MAX - 1] = 'N';
	name[E911_ADDL_VALUE_MAX] = '\0';
	memset(ref, 'r', E911_ADDL_VALUE_MAX);
	ref[E911_ADDL_VALUE_MAX] = '\0';
	memset(uri, 'u', E911_ADDL_VALUE_MAX);
	memcpy(uri, "sip:", 4);
	uri[E911_ADDL_VALUE_MAX] = '\0';
	p = (e911_provider_t){.reference = ref,
			.name = name,
			.id = name,
			.id_series = "domain",
			.type = "Service Provider Subcontractor",
			.contact_uri = uri,
			.language =
					"en,de,fr,it,es,pt,zh-hant-tw,"
					"x-abcdefgh-abcdefgh-abcdefgh-abcdefgh-abcdefgh-abcdefgh"};
	n = e911_providerinfo_render(&p, buf, E911_ADDL_MAX);
	assert_true(n > 0);
	if(validate)
		tu_assert_schema_valid(PI_XSD, "largest-pi", buf);
	for(int i = 0; i < E911_ADDL_LIST_MAX; i++) {
		if(i > 0)
			types[o++] = ',';
		memset(types + o, 'T', E911_ADDL_VALUE_MAX);
		o += E911_ADDL_VALUE_MAX;
	}
	types[o] = '\0';
	s = (e911_svcinfo_t){.reference = ref,
			.environment = "Residence",
			.type = types,
			.mobility = "Nomadic"};
	n = e911_serviceinfo_render(&s, buf, E911_ADDL_MAX);
	assert_true(n > 0);
	if(validate)
		tu_assert_schema_valid(SI_XSD, "largest-si", buf);
	free(buf);
}

static void test_largest(void **state)
{
	check_largest(0);
}

static void test_largest_schema(void **state)
{
	check_largest(1);
}

/* The schema check is not a rubber stamp: dropping a required element or
 * reordering two makes xmllint fail. */
static void test_schema_check_works(void **state)
{
	char buf[E911_ADDL_MAX];
	char *lang;
	char *type;

	assert_true(e911_providerinfo_render(&tv5, buf, sizeof(buf)) > 0);
	assert_int_equal(tu_xmllint(PI_XSD, "check-valid", buf), 0);
	lang = strstr(buf, "  <pi:Language>");
	assert_non_null(lang);
	strcpy(lang, "</pi:EmergencyCallData.ProviderInfo>\n");
	assert_int_not_equal(tu_xmllint(PI_XSD, "check-nolang", buf), 0);

	assert_true(e911_serviceinfo_render(&tv6, buf, sizeof(buf)) > 0);
	type = strstr(buf, "<svc:ServiceType>");
	assert_non_null(type);
	memcpy(type, "<svc:ServiceTypo>", 17);
	memcpy(strstr(type, "</svc:ServiceType>"), "</svc:ServiceTypo>", 18);
	assert_int_not_equal(tu_xmllint(SI_XSD, "check-typo", buf), 0);
}

/* The test vectors' values render to documents equal to tv5 / tv6 up to
 * the line break xmllint does not care about. */
static void test_vectors(void **state)
{
	char buf[E911_ADDL_MAX];
	char *want;
	char *p;

	assert_true(e911_providerinfo_render(&tv5, buf, sizeof(buf)) > 0);
	want = tu_read_file(
			E911_TEST_DATA "/pidf-vectors/tv5_providerinfo.xml", NULL);
	assert_non_null(want);
	p = strstr(want, "\n    xmlns:pi");
	assert_non_null(p);
	memmove(p, p + 4, strlen(p + 4) + 1);
	*p = ' ';
	assert_string_equal(buf, want);
	free(want);
}

static void test_language_check(void **state)
{
	static const struct
	{
		const char *tag;
		int ok;
	} t[] = {{"en", 1}, {"EN", 1}, {"en-US", 1}, {"zh-Hant-TW", 1},
			{"es-419", 1}, {"sr-Latn-RS", 1}, {"de-CH-1901", 1},
			{"x-private", 1}, {"i-klingon", 1}, {"en-GB-oed", 1}, {"yue-HK", 1},
			{"", 0}, {"e", 0}, {"en_US", 0}, {"en-", 0}, {"-en", 0},
			{"en--US", 0}, {"toolongtag", 0}, {"en US", 0}, {"en-US-", 0},
			{"\xc3\xa9n", 0}};

	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = e911_language_check(t[i].tag, strlen(t[i].tag));

		if(rc != (t[i].ok ? 0 : -1))
			fail_msg("e911_language_check(\"%s\") = %d", t[i].tag, rc);
	}
	assert_int_equal(e911_language_check(NULL, 0), -1);
	/* the length is honoured */
	assert_int_equal(e911_language_check("en-US", 2), 0);
}

static void test_check_errors(void **state)
{
	char err[16];

	memset(err, 'x', sizeof(err));
	assert_int_equal(e911_providerinfo_check(NULL, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_int_equal(e911_serviceinfo_check(NULL, NULL, 0), -1);
	assert_int_equal(e911_providerinfo_check(&tv5, NULL, 0), 0);
	assert_int_equal(e911_serviceinfo_check(&tv6, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static int run_all_but_schema(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_buffer_too_small),
			cmocka_unit_test(test_largest),
			cmocka_unit_test(test_vectors),
			cmocka_unit_test(test_language_check),
			cmocka_unit_test(test_check_errors),
	};
	int failed = 0;

	failed += tu_run_case_dirs(
			"providerinfo", ADDL_DATA "/providerinfo", test_valid_case);
	failed += tu_run_case_dirs(
			"serviceinfo", ADDL_DATA "/serviceinfo", test_valid_case);
	failed += tu_run_case_dirs("providerinfo_invalid",
			ADDL_DATA "/providerinfo-invalid", test_invalid_case);
	failed += tu_run_case_dirs("serviceinfo_invalid",
			ADDL_DATA "/serviceinfo-invalid", test_invalid_case);
	failed += cmocka_run_group_tests_name("addl_api", tests, NULL, NULL);
	return failed;
}

static int run_schema_checks(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_largest_schema),
			cmocka_unit_test(test_schema_check_works),
	};
	int failed = 0;

	failed += tu_run_case_dirs("providerinfo_schema", ADDL_DATA "/providerinfo",
			test_valid_case_schema);
	failed += tu_run_case_dirs("serviceinfo_schema", ADDL_DATA "/serviceinfo",
			test_valid_case_schema);
	failed += cmocka_run_group_tests_name("addl_schema", tests, NULL, NULL);
	return failed;
}

int main(int argc, char **argv)
{
	return tu_main_with_schema(
			argc, argv, run_all_but_schema, run_schema_checks);
}
