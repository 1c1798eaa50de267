/*
 * Test helpers shared by every unit test: files, the case folders and
 * scenario scripts of data-driven tests, line-oriented case files, schema
 * validation with xmllint, and the main() of a test with schema checks.
 *
 * Helpers whose name says "or fail" (and the case and line readers) fail
 * the running cmocka test; call them from inside a test.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef E911_TESTUTIL_H
#define E911_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Set for every unit test by e911_unit_test() (test/CMakeLists.txt). */
#ifndef E911_TEST_DATA
#error "E911_TEST_DATA must name the test/data directory"
#endif
#ifndef E911_TEST_XSD
#error "E911_TEST_XSD must name the test/xsd directory"
#endif

/* ---- files ---- */

/* Reads a whole file into a malloc()ed NUL-terminated buffer; *len gets its
 * size. Returns NULL when the file cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path; returns 0 or -1. */
int tu_write_file(const char *path, const char *data, size_t len);

/* Lists the sub-directories of dir (sorted) as a malloc()ed NULL-terminated
 * array of malloc()ed names; tu_free_list() frees it. NULL when dir cannot
 * be listed. */
char **tu_list_dirs(const char *dir);
void tu_free_list(char **list);

/* ---- data-driven cases ---- */

/* One data-driven case, the initial state of its cmocka test: its path (a
 * case directory, or a scenario file) and its name (the last part of the
 * path). */
typedef struct tu_case
{
	char path[1024];
	const char *name;
} tu_case_t;

/* Runs fn once per sub-directory of dir (sorted), as the cmocka group
 * named group, each with a tu_case_t as its state. Returns the number of
 * failed tests (1 when dir cannot be listed or has no case). */
int tu_run_case_dirs(
		const char *group, const char *dir, void (*fn)(void **state));

/* The same for the files of dir whose name ends in suffix (".txt"): one
 * test per file, however many there are. */
int tu_run_case_files(const char *group, const char *dir, const char *suffix,
		void (*fn)(void **state));

/* Runs fn once per element of cases (an array of n elements of size bytes,
 * each the initial state of its test, named by name_of()), as the cmocka
 * group named group. Returns the number of failed tests (1 when n is 0). */
int tu_run_cases(const char *group, void (*fn)(void **state), void *cases,
		size_t n, size_t size, const char *(*name_of)(const void *c));

/* Reads <case>/<file> (tu_read_file()); fails the test when it cannot. */
char *tu_case_read(const tu_case_t *c, const char *file, size_t *len);

/* The first line of <case>/<file>, without its line end, in a malloc()ed
 * string (an expected error message, say); fails the test when the file
 * cannot be read. */
char *tu_case_line(const tu_case_t *c, const char *file);

/* Fails unless err, a buffer of size bytes an API wrote its error message
 * into, is NUL-terminated and contains want. */
void tu_assert_error(const char *err, size_t size, const char *want);

/* ---- line-oriented case files and scenario scripts ---- */

#define TU_LINE_MAX 1024

/* Reads a file line by line, skipping blank lines and '#' comments. */
typedef struct tu_lines
{
	FILE *fp;
	char path[1024];
	int lineno; /* of the line last returned */
	char line[TU_LINE_MAX];
} tu_lines_t;

/* Opens path; fails the test when it cannot. */
void tu_lines_open(tu_lines_t *l, const char *path);

/* The next line that is neither blank nor a comment, without its line end
 * (in l->line); NULL at the end of the file, which is then closed. A line
 * longer than TU_LINE_MAX fails the test. */
char *tu_lines_next(tu_lines_t *l);

/* Closes the file early (after tu_lines_next() returned NULL: nothing). */
void tu_lines_close(tu_lines_t *l);

/* Splits line in place at '|' into trimmed fields; f gets at most max of
 * them. Returns how many there are; more than max fails the test. */
int tu_split(char *line, char **f, int max);

/* ---- processes ---- */

/* Seconds since t0 (CLOCK_MONOTONIC). */
double tu_elapsed(const struct timespec *t0);

/* Forks n processes, process id running child(arg, id), and waits for
 * them all; fails the test unless every child returned 0. */
void tu_run_children(
		unsigned n, int (*child)(void *arg, unsigned id), void *arg);

/* ---- schema validation ---- */

/* The exit status that makes ctest report a test SKIPPED (the
 * SKIP_RETURN_CODE of the ".schema" tests). */
#define TU_SKIP 77

/* Whether xmllint can be run ($XMLLINT, else the one found at configure
 * time); says why not on stderr, once. */
int tu_have_xmllint(void);

/* Validates doc against the schema xsd with xmllint; name labels the
 * temporary file. Returns xmllint's exit status (0: valid, 3: invalid).
 * Fails the test when xmllint cannot be run. */
int tu_xmllint(const char *xsd, const char *name, const char *doc);

/* Fails the test unless doc is valid against xsd. */
void tu_assert_schema_valid(const char *xsd, const char *name, const char *doc);

/* main() of a test with schema checks: with the argument "--schema" runs
 * run_schema() alone, and exits TU_SKIP when xmllint is missing (ctest
 * reports the ".schema" test skipped, never passed); without it runs run_rest()
 * alone. Each returns the number of failed tests. */
int tu_main_with_schema(
		int argc, char **argv, int (*run_rest)(void), int (*run_schema)(void));

#endif
