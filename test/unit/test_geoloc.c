/*
 * Unit tests for the Geolocation header parser (modules/e911/core/e911_geoloc.c).
 *
 * Data-driven: every "case:" block of test/data/geoloc/cases.txt becomes a
 * cmocka test of its own (the file's header describes the format). A valid
 * case checks each location value's scheme, URI and loc-src, and that
 * e911_geoloc_strip_locsrc() gives the expected bytes, leaves no loc-src,
 * keeps the URIs, is idempotent, works in place and needs exactly
 * len + 1 bytes of output. A malformed case checks the reason and that
 * stripping refuses it too. The rest are table tests of the limits.
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

#include "e911_geoloc.h"
#include "testutil.h"

#define GEOLOC_CASES E911_TEST_DATA "/geoloc/cases.txt"
#define MAX_VALUES 16
#define MAX_TEXT 4096

/* One expected location value. */
typedef struct want_value
{
	char scheme[16];
	char uri[MAX_TEXT];
	int has_loc_src;
	char loc_src[256];
} want_value_t;

/* One case block of cases.txt. */
typedef struct gl_case
{
	char name[128];
	char in[MAX_TEXT];
	size_t in_len;
	int has_strip;
	char strip[MAX_TEXT];
	size_t strip_len;
	char error[256];
	int nvalues;
	want_value_t values[MAX_VALUES];
} gl_case_t;

static int hex_digit(char c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Stops the test program: cases.txt holds what it cannot take. */
static void bad_data(const char *what, const char *line)
{
	fprintf(stderr, "%s: %s: %s\n", GEOLOC_CASES, what, line);
	exit(1);
}

/* Copies s into dst (size bytes); a value that does not fit stops the
 * program. */
static void copy_text(char *dst, size_t size, const char *s)
{
	if((size_t)snprintf(dst, size, "%s", s) >= size)
		bad_data("value too long", s);
}

/* Decodes the escapes of cases.txt (\t \r \n \\ \xHH) from s into out
 * (MAX_TEXT bytes); returns the length. A value that does not fit stops the
 * program. */
static size_t decode(const char *s, char *out)
{
	const char *line = s;
	size_t n = 0;

	while(*s) {
		if(n + 1 >= MAX_TEXT)
			bad_data("value too long", line);
		if(s[0] == '\\' && s[1] == 't') {
			out[n++] = '\t';
			s += 2;
		} else if(s[0] == '\\' && s[1] == 'r') {
			out[n++] = '\r';
			s += 2;
		} else if(s[0] == '\\' && s[1] == 'n') {
			out[n++] = '\n';
			s += 2;
		} else if(s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if(s[0] == '\\' && s[1] == 'x' && hex_digit(s[2]) >= 0
				  && hex_digit(s[3]) >= 0) {
			out[n++] = (char)(hex_digit(s[2]) * 16 + hex_digit(s[3]));
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	return n;
}

/* Value of "key:" on line (after one optional space), or NULL. */
static const char *line_value(const char *line, const char *key)
{
	size_t k = strlen(key);

	if(strncmp(line, key, k) != 0)
		return NULL;
	line += k;
	if(*line == ' ')
		line++;
	return line;
}

/* Parses a "value:" line into w. */
static void parse_want(const char *v, want_value_t *w)
{
	char rest[MAX_TEXT];
	char *sp;

	memset(w, 0, sizeof(*w));
	if(strlen(v) >= sizeof(rest)
			|| sscanf(v, "%15s %4095[^\n]", w->scheme, rest) != 2
			|| strlen(w->scheme) >= sizeof(w->scheme) - 1)
		bad_data("bad value line", v);
	sp = strstr(rest, " loc-src=");
	if(sp != NULL) {
		w->has_loc_src = 1;
		copy_text(w->loc_src, sizeof(w->loc_src), sp + 9);
		*sp = '\0';
	}
	decode(rest, w->uri);
}

/* Adds one "in:", "strip:", "error:" or "value:" line to case c. */
static void add_line(gl_case_t *c, const char *line)
{
	const char *in = line_value(line, "in:");
	const char *strip = line_value(line, "strip:");
	const char *error = line_value(line, "error:");
	const char *value = line_value(line, "value:");

	if(in != NULL) {
		c->in_len = decode(in, c->in);
	} else if(strip != NULL) {
		c->has_strip = 1;
		c->strip_len = decode(strip, c->strip);
	} else if(error != NULL) {
		copy_text(c->error, sizeof(c->error), error);
	} else if(value != NULL) {
		if(c->nvalues == MAX_VALUES)
			bad_data("more values than MAX_VALUES", c->name);
		parse_want(value, &c->values[c->nvalues++]);
	} else {
		bad_data("unknown line", line);
	}
}

/* Loads every case of cases.txt into a malloc()ed array; *n gets the
 * count. */
static gl_case_t *load_cases(size_t *n)
{
	size_t len = 0;
	char *text = tu_read_file(GEOLOC_CASES, &len);
	gl_case_t *cases = NULL;
	gl_case_t *c = NULL;
	char *line;
	char *next;
	const char *v;

	*n = 0;
	if(text == NULL)
		bad_data("cannot read", "");
	for(line = text; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if(next != NULL)
			*next++ = '\0';
		if(line[0] == '#' || line[0] == '\0')
			continue;
		v = line_value(line, "case:");
		if(v != NULL) {
			cases = realloc(cases, (*n + 1) * sizeof(*cases));
			if(cases == NULL)
				exit(1);
			c = &cases[(*n)++];
			memset(c, 0, sizeof(*c));
			copy_text(c->name, sizeof(c->name), v);
			continue;
		}
		if(c == NULL)
			bad_data("line outside a case", line);
		add_line(c, line);
	}
	free(text);
	return cases;
}

/* Checks the parse result of s[0..len) against the case's values. */
static void check_values(const gl_case_t *c, const char *s, size_t len,
		const e911_geoloc_t *g, int n, int stripped)
{
	if(n != c->nvalues)
		fail_msg("%s: %d values, expected %d", c->name, n, c->nvalues);
	for(int i = 0; i < n; i++) {
		const want_value_t *w = &c->values[i];
		char loc_src[256];

		assert_true(g[i].uri_off >= 1 && g[i].uri_off + g[i].uri_len < len);
		assert_int_equal(s[g[i].uri_off - 1], '<');
		assert_int_equal(s[g[i].uri_off + g[i].uri_len], '>');
		assert_true(g[i].off + g[i].len <= len);
		assert_int_equal(g[i].off, g[i].uri_off - 1);
		if(strlen(w->uri) != g[i].uri_len
				|| memcmp(w->uri, s + g[i].uri_off, g[i].uri_len) != 0)
			fail_msg("%s: value %d URI '%.*s', expected '%s'", c->name, i,
					(int)g[i].uri_len, s + g[i].uri_off, w->uri);
		if(strcmp(e911_geoloc_scheme_name(g[i].scheme), w->scheme) != 0)
			fail_msg("%s: value %d scheme %s, expected %s", c->name, i,
					e911_geoloc_scheme_name(g[i].scheme), w->scheme);
		if(stripped) {
			assert_int_equal(g[i].has_loc_src, 0);
			continue;
		}
		if(g[i].has_loc_src != w->has_loc_src)
			fail_msg("%s: value %d has_loc_src %d, expected %d", c->name, i,
					g[i].has_loc_src, w->has_loc_src);
		if(!w->has_loc_src)
			continue;
		assert_true(g[i].loc_src_off + g[i].loc_src_len <= len);
		snprintf(loc_src, sizeof(loc_src), "%.*s", (int)g[i].loc_src_len,
				s + g[i].loc_src_off);
		if(strcmp(loc_src, w->loc_src) != 0)
			fail_msg("%s: value %d loc-src '%s', expected '%s'", c->name, i,
					loc_src, w->loc_src);
	}
}

static void test_case(void **state)
{
	const gl_case_t *c = *state;
	e911_geoloc_t g[MAX_VALUES];
	char err[128];
	char out[MAX_TEXT + 1];
	char again[MAX_TEXT + 1];
	char inplace[MAX_TEXT + 1];
	const char *want;
	size_t want_len;
	int n;
	int m;

	err[0] = 'x';
	n = e911_geoloc_parse(c->in, c->in_len, g, MAX_VALUES, err, sizeof(err));
	if(c->error[0]) {
		if(n != -1 || strstr(err, c->error) == NULL)
			fail_msg("%s: expected error '%s', got %d '%s'", c->name, c->error,
					n, err);
		assert_int_equal(strncmp(err, "offset ", 7), 0);
		assert_int_equal(
				e911_geoloc_strip_locsrc(c->in, c->in_len, out, sizeof(out)),
				-1);
		assert_int_equal(
				e911_geoloc_parse(c->in, c->in_len, NULL, 0, NULL, 0), -1);
		return;
	}
	if(n < 0)
		fail_msg("%s: rejected: %s", c->name, err);
	assert_string_equal(err, "");
	check_values(c, c->in, c->in_len, g, n, 0);
	assert_int_equal(
			e911_geoloc_parse(c->in, c->in_len, NULL, 0, err, sizeof(err)), n);

	/* strip: expected bytes, still valid, same URIs, no loc-src */
	want = c->has_strip ? c->strip : c->in;
	want_len = c->has_strip ? c->strip_len : c->in_len;
	m = e911_geoloc_strip_locsrc(c->in, c->in_len, out, sizeof(out));
	if(m < 0 || (size_t)m != want_len || memcmp(out, want, want_len) != 0)
		fail_msg("%s: strip gave %d '%s', expected '%s'", c->name, m,
				m < 0 ? "" : out, want);
	assert_int_equal(out[m], '\0');
	n = e911_geoloc_parse(out, (size_t)m, g, MAX_VALUES, err, sizeof(err));
	if(n < 0)
		fail_msg("%s: stripped value rejected: %s", c->name, err);
	check_values(c, out, (size_t)m, g, n, 1);
	assert_int_equal(
			e911_geoloc_strip_locsrc(out, (size_t)m, again, sizeof(again)), m);
	assert_memory_equal(again, out, (size_t)m);

	/* exactly the room it needs, and in place */
	assert_int_equal(
			e911_geoloc_strip_locsrc(c->in, c->in_len, again, (size_t)m + 1),
			m);
	assert_int_equal(
			e911_geoloc_strip_locsrc(c->in, c->in_len, again, (size_t)m), -1);
	memcpy(inplace, c->in, c->in_len);
	assert_int_equal(e911_geoloc_strip_locsrc(
							 inplace, c->in_len, inplace, c->in_len + 1),
			m);
	assert_memory_equal(inplace, out, (size_t)m + 1);
}

/* A URI of exactly n bytes ("cid:" + 'a's) wrapped in <>, into buf. */
static size_t long_uri_value(char *buf, size_t n)
{
	buf[0] = '<';
	memcpy(buf + 1, "cid:", 4);
	memset(buf + 5, 'a', n - 4);
	buf[n + 1] = '>';
	buf[n + 2] = '\0';
	return n + 2;
}

static void test_uri_length_limit(void **state)
{
	char buf[E911_GEOLOC_URI_MAX + 8];
	char err[128];
	e911_geoloc_t g;
	size_t len;

	len = long_uri_value(buf, E911_GEOLOC_URI_MAX);
	assert_int_equal(e911_geoloc_parse(buf, len, &g, 1, err, sizeof(err)), 1);
	assert_int_equal(g.uri_len, E911_GEOLOC_URI_MAX);
	len = long_uri_value(buf, E911_GEOLOC_URI_MAX + 1);
	assert_int_equal(e911_geoloc_parse(buf, len, &g, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 1024"));
}

static void test_max_values(void **state)
{
	const char v[] = "<cid:a@b>, <sip:c@d>, <pres:e@f>";
	e911_geoloc_t g[3];
	char err[128];

	assert_int_equal(e911_geoloc_parse(v, strlen(v), g, 3, err, 128), 3);
	assert_int_equal(e911_geoloc_parse(v, strlen(v), g, 2, err, 128), -1);
	assert_non_null(strstr(err, "too many location values"));
	assert_int_equal(e911_geoloc_parse(v, strlen(v), g, 0, err, 128), -1);
	assert_int_equal(e911_geoloc_parse(v, strlen(v), NULL, 0, err, 128), 3);
}

static void test_length_not_nul(void **state)
{
	/* only len bytes count: what follows is ignored */
	const char v[] = "<cid:a@b>;loc-src=x GARBAGE";
	char out[64];
	e911_geoloc_t g;

	assert_int_equal(e911_geoloc_parse(v, 19, &g, 1, NULL, 0), 1);
	assert_int_equal(g.loc_src_len, 1);
	assert_int_equal(e911_geoloc_strip_locsrc(v, 19, out, sizeof(out)), 9);
	assert_string_equal(out, "<cid:a@b>");
	assert_int_equal(e911_geoloc_parse(v, sizeof(v) - 1, &g, 1, NULL, 0), -1);
}

static void test_bad_arguments(void **state)
{
	char out[16];
	char err[8];

	assert_int_equal(e911_geoloc_parse(NULL, 0, NULL, 0, NULL, 0), -1);
	/* a short error buffer is truncated, not overrun */
	assert_int_equal(e911_geoloc_parse("x", 1, NULL, 0, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(e911_geoloc_strip_locsrc("<a:b>", 5, NULL, 16), -1);
	assert_int_equal(e911_geoloc_strip_locsrc("<a:b>", 5, out, 0), -1);
	assert_int_equal(e911_geoloc_strip_locsrc(NULL, 0, out, sizeof(out)), -1);
	assert_string_equal(e911_geoloc_scheme_name(E911_GEOLOC_HTTPS), "https");
	assert_string_equal(e911_geoloc_scheme_name(99), "other");
}

#define POLICY_CASES E911_TEST_DATA "/geoloc/policy.txt"

/* Field i (0-based) of a " | "-separated line into out ("-" is empty). */
static int field(const char *line, int i, char *out, size_t size)
{
	const char *p = line;
	const char *e;

	for(; i > 0; i--) {
		p = strstr(p, " | ");
		if(p == NULL)
			return -1;
		p += 3;
	}
	e = strstr(p, " | ");
	if(e == NULL)
		e = p + strlen(p);
	if((size_t)(e - p) >= size)
		return -1;
	memcpy(out, p, e - p);
	out[e - p] = '\0';
	if(strcmp(out, "-") == 0)
		out[0] = '\0';
	return 0;
}

/* test/data/geoloc/policy.txt: the geolocation_allow policy. */
static void test_policy(void **state)
{
	size_t len = 0;
	char *text = tu_read_file(POLICY_CASES, &len);
	char *line;
	char *next;
	char kind[16];
	char policy[512];
	char arg[512];
	char err[160];
	int n = 0;
	int rc;

	assert_non_null(text);
	for(line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if(next)
			*next++ = '\0';
		if(line[0] == '#' || line[0] == '\0')
			continue;
		if(field(line, 0, kind, sizeof(kind)) < 0
				|| field(line, 1, policy, sizeof(policy)) < 0)
			fail_msg("bad line: %s", line);
		n++;
		if(strcmp(kind, "invalid") == 0) {
			if(e911_geoloc_policy_check(policy, err, sizeof(err)) != -1
					|| err[0] == '\0')
				fail_msg("policy accepted: %s", line);
			continue;
		}
		if(field(line, 2, arg, sizeof(arg)) < 0)
			fail_msg("bad line: %s", line);
		rc = e911_geoloc_policy_check(policy, err, sizeof(err));
		if(rc < 0)
			fail_msg("policy refused (%s): %s", err, line);
		if(strcmp(kind, "valid") == 0) {
			if(rc != atoi(arg))
				fail_msg("%d entries: %s", rc, line);
		} else if(strcmp(kind, "allow") == 0 || strcmp(kind, "deny") == 0) {
			rc = e911_geoloc_allowed(policy, arg, strlen(arg));
			if(rc != (kind[0] == 'a'))
				fail_msg("allowed %d: %s", rc, line);
		} else {
			fail_msg("bad kind: %s", line);
		}
	}
	free(text);
	assert_true(n >= 30);
}

static const char *case_name(const void *c)
{
	return ((const gl_case_t *)c)->name;
}

int main(void)
{
	const struct CMUnitTest api[] = {
			cmocka_unit_test(test_policy),
			cmocka_unit_test(test_uri_length_limit),
			cmocka_unit_test(test_max_values),
			cmocka_unit_test(test_length_not_nul),
			cmocka_unit_test(test_bad_arguments),
	};
	gl_case_t *cases;
	size_t n = 0;
	int failed;

	cases = load_cases(&n);
	if(n < 20) {
		fprintf(stderr, "only %zu cases in %s\n", n, GEOLOC_CASES);
		return 1;
	}
	failed = tu_run_cases(
			"geoloc_cases", test_case, cases, n, sizeof(*cases), case_name);
	failed += cmocka_run_group_tests_name("geoloc_api", api, NULL, NULL);
	free(cases);
	return failed ? 1 : 0;
}
