/*
 * Test helpers: reading files and listing the case folders of data-driven
 * tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if(f == NULL)
		return NULL;
	if(fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
			|| fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if(buf == NULL)
		goto out;
	if(fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	if(len)
		*len = (size_t)n;
out:
	fclose(f);
	return buf;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tu_list_dirs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **list = NULL;
	size_t n = 0;
	char path[4096];
	struct stat st;

	if(d == NULL)
		return NULL;
	list = calloc(1, sizeof(char *));
	while(list && (de = readdir(d)) != NULL) {
		if(de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if(stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		char **nl = realloc(list, (n + 2) * sizeof(char *));
		if(nl == NULL)
			break;
		list = nl;
		list[n++] = strdup(de->d_name);
		list[n] = NULL;
	}
	closedir(d);
	if(list && n > 1)
		qsort(list, n, sizeof(char *), cmp_names);
	return list;
}

void tu_free_list(char **list)
{
	if(list == NULL)
		return;
	for(char **p = list; *p; p++)
		free(*p);
	free(list);
}

int tu_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if(f == NULL)
		return -1;
	if(fwrite(data, 1, len, f) != len)
		rc = -1;
	if(fclose(f) != 0)
		rc = -1;
	return rc;
}

int tu_run_case_dirs(
		const char *group, const char *dir, void (*fn)(void **state))
{
	char **names = tu_list_dirs(dir);
	size_t n = 0;
	struct CMUnitTest *tests;
	tu_case_t *cases;
	int failed;

	if(names == NULL) {
		fprintf(stderr, "cannot list %s\n", dir);
		return 1;
	}
	while(names[n])
		n++;
	if(n == 0) {
		fprintf(stderr, "no cases in %s\n", dir);
		tu_free_list(names);
		return 1;
	}
	tests = calloc(n, sizeof(*tests));
	cases = calloc(n, sizeof(*cases));
	if(tests == NULL || cases == NULL)
		exit(1);
	for(size_t i = 0; i < n; i++) {
		snprintf(cases[i].dir, sizeof(cases[i].dir), "%s/%s", dir, names[i]);
		cases[i].name = names[i];
		tests[i].name = names[i];
		tests[i].test_func = fn;
		tests[i].initial_state = &cases[i];
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	free(cases);
	tu_free_list(names);
	return failed;
}
