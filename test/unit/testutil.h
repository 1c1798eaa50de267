/*
 * Test helpers: reading files and listing the case folders of data-driven
 * tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef E911_TESTUTIL_H
#define E911_TESTUTIL_H

#include <stddef.h>

/* Reads a whole file into a malloc()ed NUL-terminated buffer; *len gets its
 * size. Returns NULL when the file cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* Lists the sub-directories of dir (sorted) as a malloc()ed NULL-terminated
 * array of malloc()ed names; tu_free_list() frees it. */
char **tu_list_dirs(const char *dir);
void tu_free_list(char **list);

/* One data-driven case: its directory and name (a sub-directory of the
 * group's data directory), the initial state of its cmocka test. */
typedef struct tu_case
{
	char dir[1024];
	const char *name;
} tu_case_t;

/* Runs fn once per sub-directory of dir (sorted), as the cmocka group
 * named group, each with a tu_case_t as its state. Returns the number of
 * failed tests (1 when dir cannot be listed or has no case). */
int tu_run_case_dirs(
		const char *group, const char *dir, void (*fn)(void **state));

/* Writes len bytes to path; returns 0 or -1. */
int tu_write_file(const char *path, const char *data, size_t len);

#endif
