/*
 * Test helpers shared by every unit test (see testutil.h).
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
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef E911_XMLLINT
#define E911_XMLLINT "/usr/bin/xmllint"
#endif

extern char **environ;

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

/* The entries of dir (sorted): its sub-directories when suffix is NULL,
 * else its regular files whose name ends in suffix. */
static char **list_entries(const char *dir, const char *suffix)
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
		size_t len = strlen(de->d_name);

		if(de->d_name[0] == '.')
			continue;
		if(suffix != NULL
				&& (len <= strlen(suffix)
						|| strcmp(de->d_name + len - strlen(suffix), suffix)
								   != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if(stat(path, &st) != 0
				|| (suffix == NULL ? !S_ISDIR(st.st_mode)
								   : !S_ISREG(st.st_mode)))
			continue;
		char **nl = realloc(list, (n + 2) * sizeof(char *));
		if(nl == NULL || (nl[n] = strdup(de->d_name)) == NULL) {
			fprintf(stderr, "out of memory listing %s\n", dir);
			exit(1);
		}
		list = nl;
		list[++n] = NULL;
	}
	closedir(d);
	if(list && n > 1)
		qsort(list, n, sizeof(char *), cmp_names);
	return list;
}

char **tu_list_dirs(const char *dir)
{
	return list_entries(dir, NULL);
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

int tu_run_cases(const char *group, void (*fn)(void **state), void *cases,
		size_t n, size_t size, const char *(*name_of)(const void *c))
{
	struct CMUnitTest *tests;
	int failed;

	if(n == 0) {
		fprintf(stderr, "%s: no cases\n", group);
		return 1;
	}
	tests = calloc(n, sizeof(*tests));
	if(tests == NULL)
		exit(1);
	for(size_t i = 0; i < n; i++) {
		void *c = (char *)cases + i * size;

		tests[i].name = name_of(c);
		tests[i].test_func = fn;
		tests[i].initial_state = c;
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	return failed;
}

static const char *tu_case_name(const void *c)
{
	return ((const tu_case_t *)c)->name;
}

/* Runs fn once per entry of names (then freed), each a case below dir, as
 * the cmocka group. */
static int run_named_cases(const char *group, const char *dir, char **names,
		void (*fn)(void **state))
{
	size_t n = 0;
	tu_case_t *cases;
	int failed;

	if(names == NULL) {
		fprintf(stderr, "cannot list %s\n", dir);
		return 1;
	}
	while(names[n])
		n++;
	cases = calloc(n + 1, sizeof(*cases));
	if(cases == NULL)
		exit(1);
	for(size_t i = 0; i < n; i++) {
		if((size_t)snprintf(
				   cases[i].path, sizeof(cases[i].path), "%s/%s", dir, names[i])
				>= sizeof(cases[i].path)) {
			fprintf(stderr, "path too long: %s/%s\n", dir, names[i]);
			exit(1);
		}
		cases[i].name = names[i];
	}
	if(n == 0)
		fprintf(stderr, "no cases in %s\n", dir);
	failed = tu_run_cases(group, fn, cases, n, sizeof(*cases), tu_case_name);
	free(cases);
	tu_free_list(names);
	return failed;
}

int tu_run_case_dirs(
		const char *group, const char *dir, void (*fn)(void **state))
{
	return run_named_cases(group, dir, list_entries(dir, NULL), fn);
}

int tu_run_case_files(const char *group, const char *dir, const char *suffix,
		void (*fn)(void **state))
{
	return run_named_cases(group, dir, list_entries(dir, suffix), fn);
}

char *tu_case_read(const tu_case_t *c, const char *file, size_t *len)
{
	char path[1200];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", c->path, file);
	text = tu_read_file(path, len);
	if(text == NULL)
		fail_msg("cannot read %s", path);
	return text;
}

char *tu_case_line(const tu_case_t *c, const char *file)
{
	char *text = tu_case_read(c, file, NULL);

	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

void tu_assert_error(const char *err, size_t size, const char *want)
{
	assert_non_null(memchr(err, '\0', size));
	if(strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

/* ---- line-oriented case files ---- */

void tu_lines_open(tu_lines_t *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->fp = fopen(path, "r");
	if(l->fp == NULL)
		fail_msg("cannot read %s", path);
}

char *tu_lines_next(tu_lines_t *l)
{
	while(l->fp != NULL && fgets(l->line, sizeof(l->line), l->fp) != NULL) {
		size_t len = strlen(l->line);

		l->lineno++;
		if(len == sizeof(l->line) - 1 && l->line[len - 1] != '\n'
				&& !feof(l->fp))
			fail_msg("%s:%d: line longer than %d bytes", l->path, l->lineno,
					TU_LINE_MAX - 2);
		l->line[strcspn(l->line, "\r\n")] = '\0';
		if(l->line[0] != '#' && l->line[0] != '\0')
			return l->line;
	}
	tu_lines_close(l);
	return NULL;
}

void tu_lines_close(tu_lines_t *l)
{
	if(l->fp != NULL)
		fclose(l->fp);
	l->fp = NULL;
}

int tu_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for(;;) {
		char *bar = strchr(p, '|');
		char *end;

		if(n == max)
			fail_msg("more than %d fields separated by '|'", max);
		if(bar != NULL)
			*bar = '\0';
		while(*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while(end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		f[n++] = p;
		if(bar == NULL)
			return n;
		p = bar + 1;
	}
}

/* ---- processes ---- */

double tu_elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec)
		   + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

void tu_run_children(
		unsigned n, int (*child)(void *arg, unsigned id), void *arg)
{
	pid_t *pid = calloc(n, sizeof(*pid));
	unsigned failed = 0;
	int status;

	assert_non_null(pid);
	for(unsigned i = 0; i < n; i++) {
		pid[i] = fork();
		if(pid[i] == 0)
			_exit(child(arg, i) == 0 ? 0 : 1);
		if(pid[i] < 0) {
			n = i;
			failed++;
			break;
		}
	}
	for(unsigned i = 0; i < n; i++) {
		if(waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status)
				|| WEXITSTATUS(status) != 0)
			failed++;
	}
	free(pid);
	if(failed)
		fail_msg("%u child process(es) failed or could not be started", failed);
}

/* ---- schema validation ---- */

/* Scratch directory for the documents handed to xmllint, made on first
 * use and removed at exit. */
static char xml_tmpdir[64];

static void remove_xml_tmpdir(void)
{
	rmdir(xml_tmpdir);
}

static const char *xmllint_path(void)
{
	const char *env = getenv("XMLLINT");

	return env != NULL && env[0] != '\0' ? env : E911_XMLLINT;
}

int tu_have_xmllint(void)
{
	static int warned;

	if(access(xmllint_path(), X_OK) == 0)
		return 1;
	if(!warned)
		fprintf(stderr,
				"SKIP schema validation: xmllint not found at %s "
				"(apt-get install libxml2-utils)\n",
				xmllint_path());
	warned = 1;
	return 0;
}

int tu_xmllint(const char *xsd, const char *name, const char *doc)
{
	char path[256];
	char *argv[] = {(char *)"xmllint", (char *)"--noout", (char *)"--nonet",
			(char *)"--schema", (char *)xsd, path, NULL};
	pid_t pid;
	int status;

	if(!tu_have_xmllint())
		fail_msg("schema check of %s without xmllint", name);
	if(xml_tmpdir[0] == '\0') {
		snprintf(xml_tmpdir, sizeof(xml_tmpdir), "/tmp/e911-xml-XXXXXX");
		if(mkdtemp(xml_tmpdir) == NULL)
			fail_msg("cannot make a scratch directory");
		atexit(remove_xml_tmpdir);
	}
	snprintf(path, sizeof(path), "%s/%s.xml", xml_tmpdir, name);
	if(tu_write_file(path, doc, strlen(doc)) < 0)
		fail_msg("cannot write %s", path);
	if(posix_spawn(&pid, xmllint_path(), NULL, NULL, argv, environ) != 0)
		fail_msg("cannot run %s", xmllint_path());
	if(waitpid(pid, &status, 0) != pid)
		fail_msg("waitpid failed");
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void tu_assert_schema_valid(const char *xsd, const char *name, const char *doc)
{
	if(tu_xmllint(xsd, name, doc) != 0)
		fail_msg("%s: document does not validate against %s:\n%s", name, xsd,
				doc);
}

int tu_main_with_schema(
		int argc, char **argv, int (*run_rest)(void), int (*run_schema)(void))
{
	if(argc > 1 && strcmp(argv[1], "--schema") == 0) {
		if(!tu_have_xmllint())
			return TU_SKIP;
		return run_schema() != 0;
	}
	if(argc > 1) {
		fprintf(stderr, "usage: %s [--schema]\n", argv[0]);
		return 2;
	}
	return run_rest() != 0;
}
