/*
 * Unit tests: DMQ replication bodies and the newer-wins rule
 * (modules/e911/core/e911_replication.c), and what replication needs of the
 * shared tables: a token stored under a peer's token, and the walks a
 * join-time sync sends (e911_reference_tokens.c, e911_callback_memory.c).
 *
 * Round trips of every operation, batching under a byte bound, the rule
 * table, and data-driven rejections (test/data/replication/invalid: each
 * body rejected whole, with the expected reason and no value quoted).
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

#include "e911_callback_memory.h"
#include "e911_record.h"
#include "e911_reference_tokens.h"
#include "e911_replication.h"
#include "shm_test.h"
#include "testutil.h"

#ifndef E911_TEST_DATA
#error "E911_TEST_DATA must name the test/data directory"
#endif

#define REPL_DATA E911_TEST_DATA "/replication"

static const char rec_json[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\","
		"\"RD\":\"Main\",\"HNO\":\"100\"},\"geo\":{\"lat\":41.8819,"
		"\"lon\":-87.6278},\"updated_at\":\"2026-01-02T03:04:05Z\"}";

static e911_record_t *make_rec(const char *json)
{
	char err[200];
	e911_record_t *r = e911_record_parse(json, strlen(json), err, sizeof(err));

	if(r == NULL)
		fail_msg("record does not parse: %s", err);
	return r;
}

/* What the callback saw. */
typedef struct seen
{
	int n;
	e911_repl_hdr_t hdr;
	char key[8][300];
	int64_t time[8];
	char token[8][40];
	char number[8][20];
	e911_record_t *rec[8];
} seen_t;

static int collect(
		const e911_repl_hdr_t *hdr, const e911_repl_item_t *it, void *arg)
{
	seen_t *s = arg;

	s->hdr = *hdr;
	if(s->n >= 8)
		return 1;
	if(it->key != NULL)
		memcpy(s->key[s->n], it->key, it->klen + 1);
	s->time[s->n] = it->time;
	strcpy(s->token[s->n], it->token);
	strcpy(s->number[s->n], it->number);
	if(it->rec != NULL) {
		s->rec[s->n] = malloc(it->rec->size);
		memcpy(s->rec[s->n], it->rec, it->rec->size);
	}
	s->n++;
	return 0;
}

static void seen_free(seen_t *s)
{
	for(int i = 0; i < 8; i++)
		free(s->rec[i]);
}

static void test_put_round_trip(void **state)
{
	e911_record_t *rec = make_rec(rec_json);
	e911_repl_writer_t w = {0};
	e911_repl_hdr_t hdr;
	seen_t s = {0};
	char err[200];

	assert_int_equal(e911_repl_begin(&w, E911_REPL_PUT, 0, -1, -1, 60000), 0);
	assert_int_equal(e911_repl_add_put(&w, "alice", 5, 1790000000, rec), 0);
	assert_int_equal(e911_repl_add_put(&w, "bob\"x", 5, 1790000001, rec), 0);
	assert_int_equal(w.items, 2);
	assert_int_equal(e911_repl_parse(w.buf, w.len, 60000, &hdr, collect, &s,
							 err, sizeof(err)),
			2);
	assert_int_equal(hdr.op, E911_REPL_PUT);
	assert_int_equal(hdr.sync, 0);
	assert_string_equal(s.key[0], "alice");
	assert_string_equal(s.key[1], "bob\"x");
	assert_int_equal(s.time[1], 1790000001);
	/* the record arrives byte for byte */
	assert_int_equal(s.rec[0]->size, rec->size);
	assert_memory_equal(s.rec[0], rec, rec->size);
	assert_true(s.rec[0]->updated_at > 0);
	/* the item line is the snapshot file's entry line */
	assert_non_null(
			strstr(w.buf, "\n{\"key\":\"alice\",\"fetched_at\":1790000000,"
						  "\"record\":{"));
	seen_free(&s);
	e911_repl_writer_free(&w);
	free(rec);
}

static void test_other_ops_round_trip(void **state)
{
	e911_record_t *rec = make_rec(rec_json);
	e911_repl_writer_t w = {0};
	e911_repl_hdr_t hdr;
	seen_t s = {0};
	char err[200];
	const char *tok = "0123456789abcdef0123456789abcdef";

	assert_int_equal(e911_repl_begin(&w, E911_REPL_REMOVE, 0, -1, -1, 1000), 0);
	assert_int_equal(e911_repl_add_remove(&w, "alice", 5, 42), 0);
	assert_int_equal(e911_repl_parse(w.buf, w.len, 1000, &hdr, collect, &s, err,
							 sizeof(err)),
			1);
	assert_int_equal(hdr.op, E911_REPL_REMOVE);
	assert_string_equal(s.key[0], "alice");
	assert_int_equal(s.time[0], 42);

	memset(&s, 0, sizeof(s));
	assert_int_equal(e911_repl_begin(&w, E911_REPL_TOKEN, 1, -1, -1, 60000), 0);
	assert_int_equal(e911_repl_add_token(&w, tok, "alice", 5, 99, rec), 0);
	assert_int_equal(e911_repl_add_token(&w, "XYZ", "alice", 5, 99, rec), -1);
	assert_int_equal(e911_repl_parse(w.buf, w.len, 60000, &hdr, collect, &s,
							 err, sizeof(err)),
			1);
	assert_int_equal(hdr.sync, 1);
	assert_string_equal(s.token[0], tok);
	assert_string_equal(s.key[0], "alice");
	assert_int_equal(s.time[0], 99);
	assert_memory_equal(s.rec[0], rec, rec->size);
	seen_free(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(
			e911_repl_begin(&w, E911_REPL_CALLBACK, 0, -1, -1, 1000), 0);
	assert_int_equal(e911_repl_add_callback(&w, "13125550100", 11, 77), 0);
	assert_int_equal(e911_repl_add_callback(&w, "+1312", 5, 77), -1);
	assert_int_equal(e911_repl_parse(w.buf, w.len, 1000, &hdr, collect, &s, err,
							 sizeof(err)),
			1);
	assert_string_equal(s.number[0], "13125550100");
	assert_int_equal(s.time[0], 77);

	assert_int_equal(e911_repl_begin(&w, E911_REPL_FLUSH, 0, -1, 123, 1000), 0);
	assert_int_equal(
			e911_repl_parse(w.buf, w.len, 1000, &hdr, NULL, NULL, err, 200), 0);
	assert_int_equal(hdr.op, E911_REPL_FLUSH);
	assert_int_equal(hdr.at, 123);

	assert_int_equal(
			e911_repl_begin(&w, E911_REPL_SYNC_REQUEST, 0, -1, -1, 1000), 0);
	assert_int_equal(
			e911_repl_parse(w.buf, w.len, 1000, &hdr, NULL, NULL, err, 200), 0);
	assert_int_equal(hdr.op, E911_REPL_SYNC_REQUEST);

	assert_int_equal(
			e911_repl_begin(&w, E911_REPL_SYNC_START, 0, -1, -1, 1000), 0);
	assert_int_equal(
			e911_repl_parse(w.buf, w.len, 1000, &hdr, NULL, NULL, err, 200), 0);
	assert_int_equal(hdr.op, E911_REPL_SYNC_START);
	assert_string_equal(e911_repl_op_name(hdr.op), "sync_start");

	assert_int_equal(
			e911_repl_begin(&w, E911_REPL_SYNC_END, 1, 100000, -1, 1000), 0);
	assert_int_equal(
			e911_repl_parse(w.buf, w.len, 1000, &hdr, NULL, NULL, err, 200), 0);
	assert_int_equal(hdr.op, E911_REPL_SYNC_END);
	assert_int_equal(hdr.count, 100000);
	/* an item of another operation is refused */
	assert_int_equal(e911_repl_add_remove(&w, "a", 1, 1), -1);
	e911_repl_writer_free(&w);
	free(rec);
}

/* Batching: a writer never passes its bound; a full body says so and the
 * next one takes the item. */
static void test_batches_bounded(void **state)
{
	e911_record_t *rec = make_rec(rec_json);
	e911_repl_writer_t w = {0};
	e911_repl_hdr_t hdr;
	char key[32];
	char err[200];
	int bodies = 0;
	int items = 0;
	int rc;

	assert_int_equal(e911_repl_begin(&w, E911_REPL_PUT, 1, -1, -1, 2000), 0);
	for(int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		rc = e911_repl_add_put(&w, key, strlen(key), 1000 + i, rec);
		if(rc == 1) {
			assert_true(w.len <= 2000);
			rc = e911_repl_parse(
					w.buf, w.len, 2000, &hdr, NULL, NULL, err, sizeof(err));
			assert_int_equal(rc, (int)w.items);
			items += rc;
			bodies++;
			assert_int_equal(
					e911_repl_begin(&w, E911_REPL_PUT, 1, -1, -1, 2000), 0);
			rc = e911_repl_add_put(&w, key, strlen(key), 1000 + i, rec);
		}
		assert_int_equal(rc, 0);
	}
	items += e911_repl_parse(w.buf, w.len, 2000, &hdr, NULL, NULL, err, 200);
	bodies++;
	assert_int_equal(items, 100);
	assert_true(bodies > 5);
	/* an item larger than the bound on its own can never be sent */
	assert_int_equal(e911_repl_begin(&w, E911_REPL_PUT, 0, -1, -1, 100), 0);
	assert_int_equal(e911_repl_add_put(&w, "a", 1, 1, rec), -1);
	/* a body over the receiver's limit is refused whole */
	assert_int_equal(e911_repl_begin(&w, E911_REPL_PUT, 0, -1, -1, 60000), 0);
	assert_int_equal(e911_repl_add_put(&w, "a", 1, 1, rec), 0);
	assert_int_equal(e911_repl_parse(w.buf, w.len, w.len - 1, &hdr, NULL, NULL,
							 err, 200),
			-1);
	assert_non_null(strstr(err, "over the"));
	e911_repl_writer_free(&w);
	free(rec);
}

static void test_newer_wins(void **state)
{
	/* nothing held: take it */
	assert_int_equal(e911_repl_newer(0, 0, 0, 0, 0), 1);
	/* both give updated_at: the service's order decides, whatever the
	 * fetch times (a late, older message loses) */
	assert_int_equal(e911_repl_newer(1, 200, 10, 100, 20), 0);
	assert_int_equal(e911_repl_newer(1, 100, 20, 200, 10), 1);
	/* same updated_at, or one missing: the later fetch */
	assert_int_equal(e911_repl_newer(1, 100, 10, 100, 20), 1);
	assert_int_equal(e911_repl_newer(1, 100, 20, 100, 10), 0);
	assert_int_equal(e911_repl_newer(1, 0, 10, 100, 20), 1);
	assert_int_equal(e911_repl_newer(1, 100, 20, 0, 10), 0);
	/* the same message twice changes nothing */
	assert_int_equal(e911_repl_newer(1, 100, 10, 100, 10), 0);
	/* removals drop only what was fetched before them */
	assert_int_equal(e911_repl_removes(10, 10), 1);
	assert_int_equal(e911_repl_removes(10, 20), 1);
	assert_int_equal(e911_repl_removes(30, 20), 0);
}

static int count_tokens(const char *tk, const char *key, size_t klen,
		int64_t expires, const e911_record_t *r, void *arg)
{
	assert_int_equal(strlen(tk), E911_TOKEN_LEN);
	assert_true(klen > 0 && r != NULL && expires > 0);
	(*(int *)arg)++;
	return 0;
}

static void test_token_put_and_walk(void **state)
{
	e911_record_t *rec = make_rec(rec_json);
	e911_tokens_t *t = e911_tokens_new(16, 0);
	const char *tok = "0123456789abcdef0123456789abcdef";
	char buf[E911_REC_MAX_SIZE];
	e911_record_t *out;
	char mine[E911_TOKEN_SIZE];
	int n;

	assert_non_null(t);
	assert_int_equal(e911_token_put(t, tok, 32, "alice", 5, rec, 100), 0);
	assert_int_equal(e911_token_get(t, tok, 32, 50, buf, sizeof(buf), &out),
			E911_TOKEN_OK);
	assert_memory_equal(out, rec, rec->size);
	/* the same token again replaces, never duplicates */
	assert_int_equal(e911_token_put(t, tok, 32, "alice", 5, rec, 200), 0);
	assert_int_equal(e911_token_new(t, "bob", 3, rec, 300, mine), 0);
	assert_int_equal(e911_token_put(t, "xyz", 3, "a", 1, rec, 1), -1);
	n = (int)e911_tokens_walk(t, 150, NULL, NULL);
	assert_int_equal(n, 0);
	assert_int_equal(e911_tokens_walk(t, 150, count_tokens, &n), 2);
	/* expired tokens are not sent */
	assert_int_equal(e911_tokens_walk(t, 250, count_tokens, &n), 1);
	e911_tokens_destroy(t);
	free(rec);
}

static int count_recent(const char *d, size_t len, int64_t expires, void *arg)
{
	assert_true(len >= 11 && d[0] == '1');
	(*(int *)arg)++;
	return 0;
}

static void test_recent_walk(void **state)
{
	e911_recent_callers_t *r = e911_recent_callers_new(8);
	int n = 0;

	assert_non_null(r);
	assert_int_equal(e911_recent_callers_put(r, "+13125550100", 12, 100), 0);
	assert_int_equal(e911_recent_callers_put(r, "13125550101", 11, 300), 0);
	assert_int_equal(e911_recent_callers_walk(r, 50, count_recent, &n), 2);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(e911_recent_callers_walk(r, 200, count_recent, &n), 1);
	e911_recent_callers_destroy(r);
}

static void test_invalid_case(void **state)
{
	const tu_case_t *c = *state;
	char err[512] = "";
	e911_repl_hdr_t hdr;
	seen_t s = {0};
	char *reason = tu_case_line(c, "reason");
	size_t blen;
	char *body = tu_case_read(c, "body", &blen);

	assert_int_equal(e911_repl_parse(body, blen, 65536, &hdr, collect, &s, err,
							 sizeof(err)),
			-1);
	assert_int_equal(s.n, 0);
	if(strstr(err, reason) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, reason);
	assert_null(strstr(err, "SECRET"));
	free(body);
	free(reason);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_put_round_trip),
			cmocka_unit_test(test_other_ops_round_trip),
			cmocka_unit_test(test_batches_bounded),
			cmocka_unit_test(test_newer_wins),
			cmocka_unit_test(test_token_put_and_walk),
			cmocka_unit_test(test_recent_walk),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("replication", tests, NULL, NULL);
	failed += tu_run_case_dirs(
			"replication_invalid", REPL_DATA "/invalid", test_invalid_case);
	return failed ? 1 : 0;
}
