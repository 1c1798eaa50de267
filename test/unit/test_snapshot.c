/*
 * Unit tests for the snapshot file (modules/e911/core/e911_snapshot.c).
 *
 * - Round trip: the records of a fixed table (parsed from contract JSON)
 *   are written and loaded back byte-identical, keys and times included.
 * - test/data/snapshot/valid/snapshot is a file written from the same table
 *   and committed, so the on-disk format stays stable: it must load and give
 *   the table back. E911_SNAP_REGEN=1 rewrites it.
 * - test/data/snapshot/invalid/<case>/snapshot must be rejected (-1, the
 *   callback never called) with an error containing <case>/reason; every
 *   case directory is a cmocka test of its own. Inputs hide the word SECRET
 *   in values, and no error may quote it.
 * - Atomicity: abort, a failed write or a failed rename leave nothing new
 *   at the path and an older snapshot there intact; the file is mode 0600.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e911_record.h"
#include "e911_snapshot.h"
#include "testutil.h"

#define SNAP_DATA E911_TEST_DATA "/snapshot"

#define K(s) s, sizeof(s) - 1

/* The entries of the round trip and of the committed valid file. */
static const struct
{
	const char *key;
	size_t klen;
	int64_t fetched_at;
	const char *json;
} table[] = {
		{K("alice"), 1790000000,
				"{\"key\":\"alice\",\"callback\":\"+13125550100\","
				"\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":"
				"\"Chicago\","
				"\"RD\":\"Main\",\"STS\":\"St\",\"HNO\":\"100\",\"BLD\":"
				"\"Tower B\",\"FLR\":\"3\",\"UNIT\":\"Suite 315\",\"PC\":"
				"\"60601\",\"NAM\":\"Acme Corp\"},\"geo\":{\"lat\":41.8819,"
				"\"lon\":-87.6278,\"radius_m\":25},\"route\":{\"uri\":"
				"\"sip:911@psap-cook.example.net\"},\"validated\":true,"
				"\"updated_at\":\"2026-11-20T10:00:00Z\",\"max_age\":300}"},
		{K("sip:+13125550101@pbx.example.com"), 1790000100,
				"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":"
				"\"Chicago\",\"RD\":\"Main\",\"HNO\":\"100\"}}"},
		{K("bob \"quoted\" \\ tab\t/ \xc3\xbc\xe2\x82\xac"), 0,
				"{\"geo\":{\"lat\":-33.8688,\"lon\":151.2093}}"},
		{K(""), 1790000200,
				"{\"civic\":{\"country\":\"CH\",\"A3\":\"Z\xc3\xbcrich\","
				"\"RD\":\"Bahnhofstrasse\",\"HNO\":\"1\"},\"validated\":false,"
				"\"max_age\":0}"},
		{K("nul\0byte"), 1790000300,
				"{\"civic\":{\"country\":\"US\",\"A1\":\"CA\",\"RD\":"
				"\"Colorado\",\"STP\":\"Boulevard\",\"HNP\":\"A\",\"MP\":\"5\","
				"\"PN\":\"7\"},\"geo\":{\"lat\":38.5816,\"lon\":-121.4944,"
				"\"radius_m\":12.5}}"},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* What the load callback received. */
typedef struct got
{
	size_t n;
	char key[NTABLE][E911_SNAP_KEY_MAX + 1];
	size_t klen[NTABLE];
	int64_t fetched_at[NTABLE];
	e911_record_t *rec[NTABLE];
	int decline_odd; /* return 1 for the 2nd, 4th, ... entry */
} got_t;

static int collect(const char *key, size_t klen, int64_t fetched_at,
		const e911_record_t *rec, void *arg)
{
	got_t *g = arg;
	size_t i = g->n++;

	if(i >= NTABLE)
		return 0;
	memcpy(g->key[i], key, klen);
	g->klen[i] = klen;
	g->fetched_at[i] = fetched_at;
	g->rec[i] = e911_record_dup(rec);
	assert_non_null(g->rec[i]);
	return g->decline_odd && (i % 2) == 1;
}

static void got_free(got_t *g)
{
	for(size_t i = 0; i < NTABLE && i < g->n; i++)
		free(g->rec[i]);
}

static e911_record_t *table_rec(size_t i)
{
	char err[256];
	e911_record_t *rec = e911_record_parse(
			table[i].json, strlen(table[i].json), err, sizeof(err));

	if(rec == NULL)
		fail_msg("table[%zu] rejected: %s", i, err);
	return rec;
}

/* Checks that g holds exactly the table. */
static void assert_table(const got_t *g)
{
	assert_int_equal(g->n, NTABLE);
	for(size_t i = 0; i < NTABLE; i++) {
		e911_record_t *want = table_rec(i);

		assert_int_equal(g->klen[i], table[i].klen);
		assert_memory_equal(g->key[i], table[i].key, table[i].klen);
		assert_int_equal(g->fetched_at[i], table[i].fetched_at);
		assert_int_equal(g->rec[i]->size, want->size);
		assert_memory_equal(g->rec[i], want, want->size);
		free(want);
	}
}

/* Writes the table to path; returns what commit returned. */
static int write_table(const char *path, size_t n)
{
	char err[256];
	e911_snap_writer_t *w = e911_snap_open(path, err, sizeof(err));
	int rc;

	if(w == NULL)
		fail_msg("open: %s", err);
	for(size_t i = 0; i < n; i++) {
		e911_record_t *rec = table_rec(i);

		assert_int_equal(e911_snap_add(w, table[i].key, table[i].klen,
								 table[i].fetched_at, rec),
				0);
		free(rec);
	}
	rc = e911_snap_commit(w, err, sizeof(err));
	if(rc < 0)
		fail_msg("commit: %s", err);
	return rc;
}

/* ---- a scratch directory per test ---- */

typedef struct scratch
{
	char dir[64];
	char path[128]; /* <dir>/snap */
} scratch_t;

static int scratch_setup(void **state)
{
	scratch_t *s = calloc(1, sizeof(*s));

	if(s == NULL)
		return -1;
	strcpy(s->dir, "/tmp/e911snapXXXXXX");
	if(mkdtemp(s->dir) == NULL) {
		free(s);
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s/snap", s->dir);
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	scratch_t *s = *state;
	char p[512];
	DIR *d = opendir(s->dir);
	struct dirent *de = d != NULL ? readdir(d) : NULL;

	for(; de != NULL; de = readdir(d)) {
		if(de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", s->dir, de->d_name);
		if(unlink(p) != 0)
			rmdir(p);
	}
	if(d != NULL)
		closedir(d);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* Number of entries in dir (without . and ..). */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	for(de = readdir(d); de != NULL; de = readdir(d))
		if(strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	scratch_t *s = *state;
	got_t g = {0};
	char err[256] = "";

	assert_int_equal(write_table(s->path, NTABLE), NTABLE);
	assert_int_equal(dir_entries(s->dir), 1); /* no temporary file left */
	assert_int_equal(
			e911_snap_load(s->path, collect, &g, err, sizeof(err)), NTABLE);
	assert_table(&g);
	got_free(&g);
	/* validate only */
	assert_int_equal(
			e911_snap_load(s->path, NULL, NULL, err, sizeof(err)), NTABLE);
}

static void test_empty_snapshot(void **state)
{
	scratch_t *s = *state;
	got_t g = {0};
	char err[256];

	assert_int_equal(write_table(s->path, 0), 0);
	assert_int_equal(e911_snap_load(s->path, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
}

static void test_missing_file(void **state)
{
	scratch_t *s = *state;
	got_t g = {0};
	char err[256] = "";

	assert_int_equal(e911_snap_load(s->path, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
}

static void test_declined(void **state)
{
	scratch_t *s = *state;
	got_t g = {0};
	char err[256];

	g.decline_odd = 1;
	write_table(s->path, NTABLE);
	assert_int_equal(e911_snap_load(s->path, collect, &g, err, sizeof(err)),
			(NTABLE + 1) / 2);
	assert_int_equal(g.n, NTABLE);
	got_free(&g);
}

/* The committed file written from the table still loads into the table. */
static void test_valid_file(void **state)
{
	const char *path = SNAP_DATA "/valid/snapshot";
	got_t g = {0};
	char err[256] = "";
	int rc;

	if(getenv("E911_SNAP_REGEN") != NULL)
		write_table(path, NTABLE);
	rc = e911_snap_load(path, collect, &g, err, sizeof(err));
	if(rc < 0)
		fail_msg("valid snapshot rejected: %s", err);
	assert_table(&g);
	got_free(&g);
}

static void test_invalid_case(void **state)
{
	const tu_case_t *c = *state;
	char path[1200];
	char err[512] = "";
	char *reason = tu_case_line(c, "reason");
	got_t g = {0};

	snprintf(path, sizeof(path), "%s/snapshot", c->path);
	assert_int_equal(e911_snap_load(path, collect, &g, err, sizeof(err)), -1);
	assert_int_equal(g.n, 0);
	tu_assert_error(err, sizeof(err), reason);
	assert_null(strstr(err, "SECRET"));
	free(reason);
}

/* Fails unless the snapshot still holds the blen bytes of before (then
 * freed) and is the only file in the scratch directory. */
static void assert_unchanged(const scratch_t *s, char *before, size_t blen)
{
	size_t alen;
	char *after = tu_read_file(s->path, &alen);

	assert_non_null(after);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(dir_entries(s->dir), 1);
	free(before);
	free(after);
}

static void test_too_large(void **state)
{
	scratch_t *s = *state;
	got_t g = {0};
	char err[256] = "";
	FILE *f;

	write_table(s->path, 1);
	f = fopen(s->path, "r+");
	assert_non_null(f);
	/* sparse: costs no disk */
	assert_int_equal(ftruncate(fileno(f), (off_t)E911_SNAP_MAX_FILE + 1), 0);
	fclose(f);
	assert_int_equal(
			e911_snap_load(s->path, collect, &g, err, sizeof(err)), -1);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(err, "larger than"));
}

static void test_not_regular(void **state)
{
	scratch_t *s = *state;
	char err[256] = "";

	assert_int_equal(mkdir(s->path, 0700), 0);
	assert_int_equal(e911_snap_load(s->path, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_mode_0600(void **state)
{
	scratch_t *s = *state;
	char tmp[256];
	struct stat st;
	mode_t old = umask(0);

	/* a world-readable leftover of an earlier run with our pid */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", s->path, (long)getpid());
	assert_int_equal(tu_write_file(tmp, "x", 1), 0);
	assert_int_equal(chmod(tmp, 0666), 0);
	write_table(s->path, 2);
	umask(old);
	assert_int_equal(stat(s->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dir_entries(s->dir), 1);
}

/* Skipped entries leave the writer usable. */
static void test_add_skips(void **state)
{
	scratch_t *s = *state;
	char err[256];
	char longkey[E911_SNAP_KEY_MAX + 1];
	e911_record_t *rec = table_rec(0);
	e911_snap_writer_t *w = e911_snap_open(s->path, err, sizeof(err));

	assert_non_null(w);
	memset(longkey, 'k', sizeof(longkey));
	assert_int_equal(e911_snap_add(w, longkey, sizeof(longkey), 1, rec), -1);
	assert_int_equal(e911_snap_add(w, K("bad\xff utf8"), 1, rec), -1);
	assert_int_equal(e911_snap_add(w, K("neg"), -1, rec), -1);
	assert_int_equal(e911_snap_add(w, K("null"), 1, NULL), -1);
	assert_int_equal(e911_snap_add(w, NULL, 3, 1, rec), -1);
	assert_int_equal(
			e911_snap_add(w, longkey, E911_SNAP_KEY_MAX, 1790000000, rec), 0);
	assert_int_equal(e911_snap_commit(w, err, sizeof(err)), 1);
	assert_int_equal(e911_snap_load(s->path, NULL, NULL, err, sizeof(err)), 1);
	assert_int_equal(e911_snap_add(NULL, K("x"), 1, rec), -2);
	assert_int_equal(e911_snap_commit(NULL, err, sizeof(err)), -1);
	e911_snap_abort(NULL);
	free(rec);
}

static void test_abort(void **state)
{
	scratch_t *s = *state;
	char err[256];
	char *before;
	size_t blen;
	e911_record_t *rec = table_rec(0);
	e911_snap_writer_t *w;

	/* no older snapshot: nothing appears */
	w = e911_snap_open(s->path, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(e911_snap_add(w, K("a"), 1, rec), 0);
	e911_snap_abort(w);
	assert_int_equal(dir_entries(s->dir), 0);

	/* an older snapshot stays as it was */
	write_table(s->path, 2);
	before = tu_read_file(s->path, &blen);
	assert_non_null(before);
	w = e911_snap_open(s->path, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(e911_snap_add(w, K("a"), 1, rec), 0);
	e911_snap_abort(w);
	assert_unchanged(s, before, blen);
	free(rec);
}

/* A write that fails (file size limit) leaves the older snapshot intact. */
static void test_failed_write(void **state)
{
	scratch_t *s = *state;
	char err[256] = "";
	char *before;
	size_t blen;
	struct rlimit old;
	struct rlimit lim;
	e911_record_t *rec = table_rec(0);
	e911_snap_writer_t *w;
	int rc = 0;

	write_table(s->path, 2);
	before = tu_read_file(s->path, &blen);
	assert_non_null(before);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 16384;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	w = e911_snap_open(s->path, err, sizeof(err));
	for(int i = 0; w != NULL && i < 1000 && rc == 0; i++)
		rc = e911_snap_add(w, K("alice"), 1790000000, rec);
	if(w != NULL)
		rc = e911_snap_commit(w, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);

	assert_non_null(w);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "cannot write"));
	assert_unchanged(s, before, blen);
	free(rec);
}

/* rename() fails (a directory is in the way): the temporary file goes. */
static void test_failed_rename(void **state)
{
	scratch_t *s = *state;
	char err[256] = "";
	char inner[256];
	e911_snap_writer_t *w;

	assert_int_equal(mkdir(s->path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/x", s->path);
	assert_int_equal(tu_write_file(inner, "x", 1), 0);
	w = e911_snap_open(s->path, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(e911_snap_commit(w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot rename"));
	assert_int_equal(dir_entries(s->dir), 1);
	unlink(inner);
}

static void test_open_fails(void **state)
{
	scratch_t *s = *state;
	char path[256];
	char err[256] = "";

	snprintf(path, sizeof(path), "%s/no/such/dir/snap", s->dir);
	assert_null(e911_snap_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));
	assert_null(e911_snap_open("", err, sizeof(err)));
	assert_null(e911_snap_open(NULL, NULL, 0));
	assert_int_equal(e911_snap_load("", NULL, NULL, err, sizeof(err)), -1);
	assert_int_equal(dir_entries(s->dir), 0);
}

#define SCRATCH(f) \
	cmocka_unit_test_setup_teardown(f, scratch_setup, scratch_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
			SCRATCH(test_round_trip),
			SCRATCH(test_empty_snapshot),
			SCRATCH(test_missing_file),
			SCRATCH(test_declined),
			cmocka_unit_test(test_valid_file),
			SCRATCH(test_too_large),
			SCRATCH(test_not_regular),
			SCRATCH(test_mode_0600),
			SCRATCH(test_add_skips),
			SCRATCH(test_abort),
			SCRATCH(test_failed_write),
			SCRATCH(test_failed_rename),
			SCRATCH(test_open_fails),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("snapshot_api", tests, NULL, NULL);
	failed += tu_run_case_dirs(
			"snapshot_invalid", SNAP_DATA "/invalid", test_invalid_case);
	return failed ? 1 : 0;
}
