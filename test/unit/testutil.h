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

/* Writes len bytes to path; returns 0 or -1. */
int tu_write_file(const char *path, const char *data, size_t len);

#endif
