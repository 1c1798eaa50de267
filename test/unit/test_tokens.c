/*
 * Unit tests: location-reference tokens (modules/e911/core/e911_reference_tokens.c) over
 * the shared-memory shim (shm_test.c).
 *
 * Data-driven (see test/data/tokens/README.md): scenario scripts that issue,
 * dereference, mangle, revoke and expire tokens, one cmocka test per
 * script. Table tests cover the token format and uniqueness, the byte
 * bound, running out of shared memory, argument checks, and four forked
 * processes issuing, reading (and checking every record they read),
 * revoking and purging in one table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e911_record.h"
#include "e911_shm.h"
#include "e911_reference_tokens.h"
#include "shm_test.h"
#include "testutil.h"

#define TOKENS_DATA E911_TEST_DATA "/tokens"
#define MAXF 6
#define MAXLABELS 32

/* A token a scenario issued, under its label. */
typedef struct label
{
	char name[32];
	char token[E911_TOKEN_SIZE];
	e911_record_t *rec;
} label_t;

/* Parses test/data/tokens/records/<name>.json. */
static e911_record_t *load_record(const char *name)
{
	char path[512];
	char err[256];
	size_t len;
	char *json;
	e911_record_t *rec;

	snprintf(path, sizeof(path), "%s/records/%s.json", TOKENS_DATA, name);
	json = tu_read_file(path, &len);
	if(json == NULL)
		fail_msg("cannot read %s", path);
	rec = e911_record_parse(json, len, err, sizeof(err));
	if(rec == NULL)
		fail_msg("%s: %s", path, err);
	free(json);
	return rec;
}

static label_t *find_label(label_t *l, int n, const char *name)
{
	for(int i = 0; i < n; i++) {
		if(strcmp(l[i].name, name) == 0)
			return &l[i];
	}
	fail_msg("unknown label %s", name);
	return NULL;
}

/* Checks a get of lb's token: rc as wanted, and the record when found. */
static int do_get(e911_tokens_t *t, const label_t *lb, const char *tok,
		size_t len, int64_t now, size_t bufsize)
{
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_record_t *rec = (e911_record_t *)1;
	int rc = e911_token_get(t, tok, len, now, buf, bufsize, &rec);

	if(rc == 0) {
		assert_ptr_equal(rec, buf);
		if(lb != NULL) {
			assert_int_equal(rec->size, lb->rec->size);
			assert_memory_equal(rec, lb->rec, rec->size);
		}
	} else {
		assert_null(rec);
	}
	return rc;
}

static void test_scenario(void **state)
{
	const tu_case_t *c = *state;
	size_t allocs = e911_test_shm_allocs();
	e911_tokens_t *t = NULL;
	label_t labels[MAXLABELS];
	int nlabels = 0;
	tu_lines_t l;
	char *line;
	char *f[MAXF];

	tu_lines_open(&l, c->path);
	memset(labels, 0, sizeof(labels));
	while((line = tu_lines_next(&l)) != NULL) {
		const char *op;
		int n;
		long long got = 0;
		long long want;
		label_t *lb;

		n = tu_split(line, f, MAXF);
		op = f[0];
		if(strcmp(op, "new") == 0 && n == 3) {
			t = e911_tokens_new((uint32_t)atol(f[1]), (uint64_t)atoll(f[2]));
			assert_non_null(t);
			continue;
		}
		if(t == NULL)
			fail_msg("%s:%d: no table yet", c->path, l.lineno);
		if(strcmp(op, "issue") == 0 && n == 6) {
			assert_true(nlabels < MAXLABELS);
			lb = &labels[nlabels++];
			snprintf(lb->name, sizeof(lb->name), "%s", f[1]);
			lb->rec = load_record(f[3]);
			got = e911_token_new(
					t, f[2], strlen(f[2]), lb->rec, atoll(f[4]), lb->token);
			want = atoll(f[5]);
			if(got == 0)
				assert_int_equal(strlen(lb->token), E911_TOKEN_LEN);
		} else if(strcmp(op, "get") == 0 && (n == 4 || n == 5)) {
			lb = find_label(labels, nlabels, f[1]);
			got = do_get(t, lb, lb->token, strlen(lb->token), atoll(f[2]),
					n == 5 ? 16 : E911_REC_MAX_SIZE);
			want = atoll(f[3]);
		} else if(strcmp(op, "key") == 0 && n == 4) {
			char key[E911_TOKEN_KEY_MAX + 1];

			lb = find_label(labels, nlabels, f[1]);
			got = e911_token_key(t, lb->token, strlen(lb->token), atoll(f[2]),
					key, sizeof(key));
			if(strcmp(f[3], "-1") == 0) {
				want = -1;
			} else {
				want = (long long)strlen(f[3]);
				if(got >= 0)
					assert_string_equal(key, f[3]);
			}
		} else if(strcmp(op, "revoke") == 0 && n == 3) {
			lb = find_label(labels, nlabels, f[1]);
			got = e911_token_revoke(t, lb->token, strlen(lb->token));
			want = atoll(f[2]);
		} else if(strcmp(op, "purge") == 0 && n == 3) {
			got = e911_tokens_purge(t, atoll(f[1]));
			want = atoll(f[2]);
		} else if(strcmp(op, "raw") == 0 && n == 4) {
			got = do_get(t, NULL, f[1], strlen(f[1]), atoll(f[2]),
					E911_REC_MAX_SIZE);
			want = atoll(f[3]);
		} else if(strcmp(op, "mangle") == 0 && n == 5) {
			char tok[E911_TOKEN_SIZE + 1];
			size_t len = E911_TOKEN_LEN;

			lb = find_label(labels, nlabels, f[1]);
			memcpy(tok, lb->token, E911_TOKEN_SIZE);
			if(strcmp(f[2], "upper") == 0) {
				for(size_t i = 0; i < len; i++)
					tok[i] = (char)toupper((unsigned char)tok[i]);
			} else if(strcmp(f[2], "flip") == 0) {
				tok[17] = tok[17] == '0' ? '1' : '0';
			} else if(strcmp(f[2], "short") == 0) {
				len--;
			} else if(strcmp(f[2], "long") == 0) {
				tok[len++] = '0';
			} else {
				fail_msg("%s:%d: unknown mangling", c->path, l.lineno);
			}
			got = do_get(t, lb, tok, len, atoll(f[3]), E911_REC_MAX_SIZE);
			want = atoll(f[4]);
		} else if(strcmp(op, "stats") == 0 && n == 4) {
			e911_tokens_stats_t st;

			e911_tokens_get_stats(t, &st);
			if(st.entries != (uint64_t)atoll(f[1])
					|| st.evicted != (uint64_t)atoll(f[2])
					|| st.expired != (uint64_t)atoll(f[3]))
				fail_msg("%s:%d: stats %llu/%llu/%llu", c->path, l.lineno,
						(unsigned long long)st.entries,
						(unsigned long long)st.evicted,
						(unsigned long long)st.expired);
			continue;
		} else {
			fail_msg("%s:%d: unknown operation", c->path, l.lineno);
		}
		if(got != want)
			fail_msg("%s:%d: %s gave %lld, expected %lld", c->path, l.lineno,
					op, got, want);
	}
	e911_tokens_destroy(t);
	for(int i = 0; i < nlabels; i++)
		free(labels[i].rec);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_locks_held(), 0);
}

/* ---- table tests ---- */

static int cmp_tokens(const void *a, const void *b)
{
	return memcmp(a, b, E911_TOKEN_SIZE);
}

/* Tokens are 32 lower-case hex characters, all different, with about as
 * many one bits as zero bits. */
static void test_token_format(void **state)
{
	enum
	{
		N = 4096
	};
	static char tok[N][E911_TOKEN_SIZE];
	e911_tokens_t *t = e911_tokens_new(N, 0);
	e911_record_t *rec = load_record("geo");
	unsigned long ones = 0;

	assert_non_null(t);
	for(int i = 0; i < N; i++) {
		assert_int_equal(e911_token_new(t, "k", 1, rec, 10, tok[i]), 0);
		assert_int_equal(strlen(tok[i]), E911_TOKEN_LEN);
		for(int j = 0; j < E911_TOKEN_LEN; j++) {
			char ch = tok[i][j];
			unsigned v;

			assert_true((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
			v = (unsigned)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
			ones += (unsigned long)__builtin_popcount(v);
		}
	}
	qsort(tok, N, E911_TOKEN_SIZE, cmp_tokens);
	for(int i = 1; i < N; i++)
		assert_int_not_equal(memcmp(tok[i - 1], tok[i], E911_TOKEN_SIZE), 0);
	/* N * 128 bits; a fair source stays within a few standard deviations
	 * (sd = sqrt(N * 128) / 2 = 362) */
	assert_true(ones > N * 64 - 3000 && ones < N * 64 + 3000);
	e911_tokens_destroy(t);
	free(rec);
}

static void test_arguments(void **state)
{
	e911_tokens_t *t = e911_tokens_new(4, 0);
	e911_record_t *rec = load_record("bob");
	char tok[E911_TOKEN_SIZE];
	char key[300];
	char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_record_t bad;
	e911_tokens_stats_t st;

	assert_null(e911_tokens_new(0, 0));
	assert_non_null(t);
	memset(key, 'k', sizeof(key));
	assert_int_equal(e911_token_new(NULL, "k", 1, rec, 10, tok), -1);
	assert_string_equal(tok, "");
	assert_int_equal(e911_token_new(t, "k", 1, NULL, 10, tok), -1);
	assert_int_equal(e911_token_new(t, "k", 1, rec, 10, NULL), -1);
	assert_int_equal(e911_token_new(t, NULL, 3, rec, 10, tok), -1);
	assert_int_equal(
			e911_token_new(t, key, E911_TOKEN_KEY_MAX + 1, rec, 10, tok), -1);
	memset(&bad, 0, sizeof(bad));
	bad.size = E911_REC_MAX_SIZE + 8;
	assert_int_equal(e911_token_new(t, "k", 1, &bad, 10, tok), -1);
	/* the longest key, and no key at all */
	assert_int_equal(
			e911_token_new(t, key, E911_TOKEN_KEY_MAX, rec, 10, tok), 0);
	assert_int_equal(
			e911_token_key(t, tok, E911_TOKEN_LEN, 0, buf, E911_TOKEN_KEY_MAX),
			E911_TOKEN_NOSPACE);
	assert_int_equal(e911_token_key(t, tok, E911_TOKEN_LEN, 0, buf,
							 E911_TOKEN_KEY_MAX + 1),
			E911_TOKEN_KEY_MAX);
	assert_int_equal(e911_token_new(t, NULL, 0, rec, 10, tok), 0);
	assert_int_equal(
			e911_token_key(t, tok, E911_TOKEN_LEN, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(e911_token_get(t, tok, E911_TOKEN_LEN, 0, NULL, 0, NULL),
			E911_TOKEN_NOSPACE);
	assert_int_equal(
			e911_token_get(t, tok, E911_TOKEN_LEN, 0, buf, rec->size, NULL),
			E911_TOKEN_OK);
	assert_int_equal(
			e911_token_get(NULL, tok, E911_TOKEN_LEN, 0, buf, 100, NULL),
			E911_TOKEN_UNKNOWN);
	assert_int_equal(
			e911_token_get(t, NULL, 0, 0, buf, 100, NULL), E911_TOKEN_UNKNOWN);
	assert_int_equal(e911_token_revoke(NULL, tok, E911_TOKEN_LEN), 0);
	assert_int_equal(e911_tokens_purge(NULL, 0), 0);
	e911_tokens_get_stats(NULL, &st);
	assert_int_equal(st.entries, 0);
	e911_tokens_destroy(t);
	e911_tokens_destroy(NULL);
	free(rec);
}

/* The byte budget holds: issuing past it removes the entries expiring
 * first. */
static void test_byte_bound(void **state)
{
	e911_record_t *rec = load_record("alice");
	size_t one = e911_tokens_entry_size(1, rec);
	e911_tokens_t *t = e911_tokens_new(100, 3 * one);
	char tok[10][E911_TOKEN_SIZE];
	char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_tokens_stats_t st;

	assert_non_null(t);
	for(int i = 0; i < 10; i++) {
		assert_int_equal(e911_token_new(t, "k", 1, rec, 100 + i, tok[i]), 0);
		e911_tokens_get_stats(t, &st);
		assert_true(st.bytes <= 3 * one);
		assert_true(st.entries <= 3);
	}
	for(int i = 0; i < 10; i++)
		assert_int_equal(e911_token_get(t, tok[i], E911_TOKEN_LEN, 0, buf,
								 sizeof(buf), NULL),
				i >= 7 ? E911_TOKEN_OK : E911_TOKEN_UNKNOWN);
	e911_tokens_get_stats(t, &st);
	assert_int_equal(st.evicted, 7);
	/* a record larger than the whole budget is refused */
	e911_tokens_destroy(t);
	t = e911_tokens_new(100, one - 1);
	assert_int_equal(e911_token_new(t, "k", 1, rec, 10, tok[0]), -1);
	e911_tokens_destroy(t);
	free(rec);
}

/* Out of shared memory: older entries make room; with nothing to evict the
 * issue fails and is counted. */
static void test_out_of_shm(void **state)
{
	size_t allocs = e911_test_shm_allocs();
	e911_record_t *rec = load_record("alice");
	size_t one = e911_tokens_entry_size(1, rec);
	e911_tokens_t *t = e911_tokens_new(1000, 0);
	char tok[E911_TOKEN_SIZE];
	char first[E911_TOKEN_SIZE];
	char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	e911_tokens_stats_t st;

	assert_non_null(t);
	e911_test_shm_limit(
			e911_test_shm_used() + 4 * (one + e911_test_shm_overhead(one)));
	assert_int_equal(e911_token_new(t, "k", 1, rec, 10, first), 0);
	for(int i = 0; i < 20; i++)
		assert_int_equal(e911_token_new(t, "k", 1, rec, 20 + i, tok), 0);
	e911_tokens_get_stats(t, &st);
	assert_true(st.entries <= 4);
	assert_true(st.evicted >= 16);
	assert_int_equal(st.put_failed, 0);
	assert_int_equal(
			e911_token_get(t, first, E911_TOKEN_LEN, 0, buf, sizeof(buf), NULL),
			E911_TOKEN_UNKNOWN);
	assert_int_equal(
			e911_token_get(t, tok, E911_TOKEN_LEN, 0, buf, sizeof(buf), NULL),
			E911_TOKEN_OK);
	assert_int_equal(e911_tokens_purge(t, INT64_MAX), st.entries);
	e911_test_shm_limit(e911_test_shm_used());
	assert_int_equal(e911_token_new(t, "k", 1, rec, 10, tok), -1);
	e911_tokens_get_stats(t, &st);
	assert_int_equal(st.put_failed, 1);
	e911_test_shm_limit(E911_TEST_SHM_NOLIMIT);
	e911_tokens_destroy(t);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_shm_check(), 0);
	free(rec);
}

#define MP_PROCS 4
#define MP_MAX 256
#define MP_SLOTS 64 /* published tokens per process */
#define MP_SECONDS 1.0

/* A token a process published for the others: a seqlock guards it. */
typedef struct mp_slot
{
	uint32_t seq; /* odd while being written */
	char token[E911_TOKEN_SIZE];
	char key[48];
} mp_slot_t;

typedef struct mp_shared
{
	int64_t clock;
	mp_slot_t slot[MP_PROCS][MP_SLOTS];
} mp_shared_t;

/* A record whose key and LOC name its issuer, NAM padded to vary its
 * size. */
static e911_record_t *mp_record(const char *key, unsigned pad)
{
	char json[2048];
	char fill[E911_VALUE_MAX + 1];
	int n;

	pad %= E911_VALUE_MAX;
	memset(fill, 'x', pad);
	fill[pad] = '\0';
	n = snprintf(json, sizeof(json),
			"{\"key\":\"%s\",\"civic\":{\"LOC\":\"%s\",\"NAM\":\"%s\"}}", key,
			key, fill);
	return e911_record_parse(json, (size_t)n, NULL, 0);
}

/* Whether a record read back belongs to key. */
static int mp_record_ok(const e911_record_t *rec, const char *key)
{
	const char *k = e911_rec_get(rec, E911_F_KEY);
	const char *loc = e911_rec_get(rec, E911_CA_LOC);

	return rec->size <= E911_REC_MAX_SIZE && k != NULL && loc != NULL
		   && strcmp(k, key) == 0 && strcmp(loc, key) == 0;
}

/* What the processes of the concurrency test share. */
typedef struct mp_arg
{
	e911_tokens_t *t;
	mp_shared_t *sh;
} mp_arg_t;

static int mp_child(void *arg, unsigned id)
{
	const mp_arg_t *a = arg;
	e911_tokens_t *t = a->t;
	mp_shared_t *sh = a->sh;
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	unsigned seed = 0x85ebca6bu * (id + 1);
	struct timespec t0;
	unsigned issued = 0;
	long ops;
	int bad = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for(ops = 0; bad == 0; ops++) {
		int64_t now = __atomic_load_n(&sh->clock, __ATOMIC_RELAXED);
		unsigned op = (unsigned)rand_r(&seed) % 100;

		if(ops % 128 == 0 && tu_elapsed(&t0) >= MP_SECONDS)
			break;
		if(op < 30) {
			mp_slot_t *s = &sh->slot[id][issued % MP_SLOTS];
			char key[48];
			char tok[E911_TOKEN_SIZE];
			e911_record_t *rec;

			snprintf(key, sizeof(key), "p%u-%u", id, issued);
			rec = mp_record(key, (unsigned)rand_r(&seed));
			if(rec == NULL
					|| e911_token_new(t, key, strlen(key), rec,
							   now + 1 + rand_r(&seed) % 30, tok)
							   != 0) {
				fprintf(stderr, "child %u: issue failed\n", id);
				bad++;
				free(rec);
				break;
			}
			free(rec);
			__atomic_add_fetch(&s->seq, 1, __ATOMIC_ACQ_REL);
			memcpy(s->token, tok, sizeof(tok));
			memcpy(s->key, key, sizeof(key));
			__atomic_add_fetch(&s->seq, 1, __ATOMIC_ACQ_REL);
			issued++;
		} else if(op < 90) {
			/* read somebody's token and check what comes back */
			unsigned p = (unsigned)rand_r(&seed) % MP_PROCS;
			mp_slot_t *s = &sh->slot[p][(unsigned)rand_r(&seed) % MP_SLOTS];
			char tok[E911_TOKEN_SIZE];
			char key[48];
			e911_record_t *rec = NULL;
			uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
			uint32_t s2;
			int rc;

			if(s1 == 0 || (s1 & 1))
				continue;
			memcpy(tok, s->token, sizeof(tok));
			memcpy(key, s->key, sizeof(key));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			s2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
			if(s1 != s2)
				continue;
			rc = e911_token_get(
					t, tok, E911_TOKEN_LEN, now, buf, sizeof(buf), &rec);
			if((rc == E911_TOKEN_OK
					   && (rec != (void *)buf || !mp_record_ok(rec, key)))
					|| (rc != E911_TOKEN_OK
							&& (rc != E911_TOKEN_UNKNOWN || rec != NULL))) {
				fprintf(stderr, "child %u: get of %s gave %d (%s)\n", id, key,
						rc,
						rec != NULL && e911_rec_get(rec, E911_F_KEY)
								? e911_rec_get(rec, E911_F_KEY)
								: "-");
				bad++;
			}
		} else if(op < 95) {
			mp_slot_t *s = &sh->slot[id][(unsigned)rand_r(&seed) % MP_SLOTS];

			if(s->seq != 0)
				e911_token_revoke(t, s->token, E911_TOKEN_LEN);
		} else if(op < 97) {
			e911_tokens_purge(t, now);
		} else {
			__atomic_add_fetch(&sh->clock, 1, __ATOMIC_RELAXED);
		}
	}
	if(bad)
		fprintf(stderr, "child %u: %d violations after %ld ops\n", id, bad,
				ops);
	return bad;
}

static void test_concurrency(void **state)
{
	const uint64_t max_bytes = 48000; /* binds before MP_MAX entries */
	size_t allocs = e911_test_shm_allocs();
	e911_tokens_t *t = e911_tokens_new(MP_MAX, max_bytes);
	mp_shared_t *sh = e911_shm_malloc(sizeof(*sh));
	e911_tokens_stats_t st;

	assert_non_null(t);
	assert_non_null(sh);
	memset(sh, 0, sizeof(*sh));
	sh->clock = 1000;
	tu_run_children(MP_PROCS, mp_child, &(mp_arg_t){t, sh});
	assert_int_equal(e911_test_locks_held(), 0);
	e911_tokens_get_stats(t, &st);
	print_message("tokens concurrency: %llu entries, %llu bytes, %llu "
				  "evicted, %llu expired\n",
			(unsigned long long)st.entries, (unsigned long long)st.bytes,
			(unsigned long long)st.evicted, (unsigned long long)st.expired);
	assert_true(st.entries <= MP_MAX);
	assert_true(st.bytes <= max_bytes);
	assert_true(st.evicted > 0);
	assert_int_equal(e911_tokens_purge(t, INT64_MAX), st.entries);
	e911_tokens_get_stats(t, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	e911_shm_free(sh);
	e911_tokens_destroy(t);
	assert_int_equal(e911_test_shm_allocs(), allocs);
	assert_int_equal(e911_test_shm_check(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_token_format),
			cmocka_unit_test(test_arguments),
			cmocka_unit_test(test_byte_bound),
			cmocka_unit_test(test_out_of_shm),
			cmocka_unit_test(test_concurrency),
	};
	int failed = 0;

	failed += tu_run_case_files("tokens_scenarios", TOKENS_DATA "/scenarios",
			".txt", test_scenario);
	failed += cmocka_run_group_tests_name("tokens_api", tests, NULL, NULL);
	return failed ? 1 : 0;
}
