/*
 * Unit tests: adding the PIDF-LO part to a message body. Each folder of
 * test/data/mime/ holds a body's Content-Type (ctype) and bytes (body), and
 * either the exact expected result (expected, expected-ctype) or an error
 * substring (error). Whatever the case, the original body must appear
 * byte-identical in the result. E911_REGEN=1 rewrites the expected files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e911_mime.h"
#include "testutil.h"

static const char part_hdrs[] = "Content-Type: application/pidf+xml\r\n"
								"Content-ID: <c1@e911.example.net>\r\n";
static const char part[] = "<presence/>";

/* One case of test/data/mime: ctype and body, and the error expected or
 * the expected result (expected, expected-ctype). */
static void test_case(void **state)
{
	const tu_case_t *c = *state;
	const char *name = c->name;
	char path[1200];
	char err[128];
	size_t clen = 0, blen = 0, elen = 0, olen = 0;
	char *ctype, *body, *expected, *want_err, *out;
	e911_mime_edit_t ed;
	int rc;

	ctype = tu_case_read(c, "ctype", &clen);
	body = tu_case_read(c, "body", &blen);
	snprintf(path, sizeof(path), "%s/error", c->path);
	want_err = tu_read_file(path, NULL);

	err[0] = '\0';
	rc = e911_mime_add_part(ctype, clen, body, blen, part_hdrs,
			sizeof(part_hdrs) - 1, part, sizeof(part) - 1, "t0k3n", &ed, err,
			sizeof(err));
	if(want_err) {
		if(rc != -1 || strstr(err, want_err) == NULL)
			fail_msg("%s: expected error '%s', got rc %d '%s'", name, want_err,
					rc, err);
		free(want_err);
		free(ctype);
		free(body);
		return;
	}
	if(rc != 0)
		fail_msg("%s: unexpected error '%s'", name, err);
	out = e911_mime_apply(body, blen, &ed, &olen);
	assert_non_null(out);
	/* the original bytes are there, untouched: in one piece, or in the two
	 * pieces around a sibling part inserted before the closing delimiter */
	if(ed.suffix_at > 0 && memmem(out, olen, body, ed.suffix_at) == NULL)
		fail_msg("%s: original body (head) not found intact", name);
	if(blen > ed.suffix_at
			&& memmem(out, olen, body + ed.suffix_at, blen - ed.suffix_at)
					   == NULL)
		fail_msg("%s: original body (tail) not found intact", name);
	assert_non_null(memmem(out, olen, part, sizeof(part) - 1));

	snprintf(path, sizeof(path), "%s/expected", c->path);
	if(getenv("E911_REGEN")) {
		tu_write_file(path, out, olen);
		snprintf(path, sizeof(path), "%s/expected-ctype", c->path);
		tu_write_file(path, ed.ctype, strlen(ed.ctype));
	} else {
		expected = tu_case_read(c, "expected", &elen);
		if(elen != olen || memcmp(expected, out, olen) != 0)
			fail_msg("%s: result differs from %s", name, path);
		free(expected);
		expected = tu_case_read(c, "expected-ctype", &elen);
		assert_string_equal(expected, ed.ctype);
		free(expected);
	}
	free(out);
	e911_mime_edit_free(&ed);
	free(ctype);
	free(body);
}

/* The data set keeps its breadth: at least five cases. */
static void test_case_count(void **state)
{
	char **cases = tu_list_dirs(E911_TEST_DATA "/mime");
	size_t n = 0;

	assert_non_null(cases);
	while(cases[n])
		n++;
	assert_true(n >= 5);
	tu_free_list(cases);
}

static void test_boundary(void **state)
{
	char b[80];

	assert_int_equal(e911_mime_boundary(
							 "multipart/mixed;boundary=abc", 28, b, sizeof(b)),
			3);
	assert_string_equal(b, "abc");
	assert_int_equal(e911_mime_boundary("multipart/mixed; charset=x; "
										"BOUNDARY=\"x-1\"",
							 42, b, sizeof(b)),
			3);
	assert_string_equal(b, "x-1");
	assert_int_equal(
			e911_mime_boundary("multipart/mixed", 15, b, sizeof(b)), -1);
	assert_int_equal(
			e911_mime_boundary("multipart/mixed;boundary=", 25, b, sizeof(b)),
			-1);
	assert_int_equal(e911_mime_boundary("multipart/mixed;boundary=\"abc", 29, b,
							 sizeof(b)),
			-1);
	assert_int_equal(e911_mime_boundary("multipart/mixed;boundary=a\r\nX: y",
							 33, b, sizeof(b)),
			-1);
	/* folded (RFC 3261 7.3.1): the same value on one line */
	assert_int_equal(e911_mime_boundary("multipart/mixed;\r\n\tboundary=abc",
							 31, b, sizeof(b)),
			3);
	assert_string_equal(b, "abc");
	assert_int_equal(e911_mime_boundary("multipart/mixed;\n boundary=abc", 30,
							 b, sizeof(b)),
			3);
}

static void test_unfold(void **state)
{
	char out[64];

	assert_int_equal(e911_mime_unfold("a;\r\n b", 6, out, sizeof(out)), 4);
	assert_string_equal(out, "a; b");
	assert_int_equal(
			e911_mime_unfold("a;\r\n \t\r\n\tb", 10, out, sizeof(out)), 5);
	assert_string_equal(out, "a;  b");
	assert_int_equal(e911_mime_unfold("plain", 5, out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	/* a line break that is not a fold */
	assert_int_equal(e911_mime_unfold("a\r\nX: y", 7, out, sizeof(out)), -1);
	assert_int_equal(e911_mime_unfold("a\r b", 4, out, sizeof(out)), -1);
	assert_int_equal(e911_mime_unfold("a\r\n", 3, out, sizeof(out)), -1);
	/* does not fit */
	assert_int_equal(e911_mime_unfold("abcd", 4, out, 4), -1);
	assert_int_equal(e911_mime_unfold("abc", 3, out, 4), 3);
}

static void test_bad_token(void **state)
{
	e911_mime_edit_t ed;
	char err[64];

	assert_int_equal(
			e911_mime_add_part("", 0, "", 0, part_hdrs, sizeof(part_hdrs) - 1,
					part, 4, "a-b", &ed, err, sizeof(err)),
			-1);
	assert_int_equal(
			e911_mime_add_part("", 0, "", 0, part_hdrs, sizeof(part_hdrs) - 1,
					part, 4, "", &ed, err, sizeof(err)),
			-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_case_count),
			cmocka_unit_test(test_boundary),
			cmocka_unit_test(test_unfold),
			cmocka_unit_test(test_bad_token),
	};
	int failed = 0;

	failed += tu_run_case_dirs("mime_cases", E911_TEST_DATA "/mime", test_case);
	failed += cmocka_run_group_tests_name("mime_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
