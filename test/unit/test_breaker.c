/*
 * Unit tests: the breaker judges the service, not its records (issue 13).
 * The state machine is driven step by step with a clock the test sets:
 * answered errors never open it, transport failures in a row do, probes
 * close it at the first HTTP answer, the probe interval backs off only after
 * the first cool-down. The per-key error memory's policy, its forgetting
 * after a real outage, and the classification of curl outcomes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "e911_breaker.h"
#include "e911_fetch.h"
#include "e911_keyerr.h"
#include "shm_test.h"

enum
{
	REPORT, /* a caller's request ended with kind */
	PROBE,	/* the prober's request ended with kind */
	DUE,	/* ask whether a probe is due: expect == 1/0 */
};

typedef struct step
{
	int64_t t; /* ms */
	int what;
	e911_fail_t kind;
	int expect;		 /* return value of the call */
	int expect_open; /* state after it */
} step_t;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* threshold 3, cool-down 10 s, probe interval 1 s */
static e911_breaker_t *run_steps(const step_t *st, size_t n)
{
	e911_breaker_t *b = e911_breaker_new(3, 10, 1000);
	size_t i;
	int r;

	assert_non_null(b);
	for(i = 0; i < n; i++) {
		switch(st[i].what) {
			case REPORT:
				r = e911_breaker_report(b, st[i].kind, st[i].t, NULL);
				break;
			case PROBE:
				r = e911_breaker_probe_result(
						b, st[i].kind, 5, 0, st[i].t, NULL);
				break;
			default:
				r = e911_breaker_probe_due(b, st[i].t);
				break;
		}
		if(r != st[i].expect || e911_breaker_is_open(b) != st[i].expect_open)
			fail_msg("step %zu (t=%lld what=%d kind=%s): returned %d (want "
					 "%d), open %d (want %d)",
					i, (long long)st[i].t, st[i].what,
					e911_fail_name(st[i].kind), r, st[i].expect,
					e911_breaker_is_open(b), st[i].expect_open);
		assert_int_equal(e911_breaker_allow(b), !st[i].expect_open);
	}
	return b;
}

/* Eight lookups in a row fail in the ways of issue 13: the fast answers
 * never move the breaker, the two transport failures stay below the
 * threshold. */
static void test_answers_do_not_open(void **state)
{
	static const step_t st[] = {
			{0, REPORT, E911_FAIL_ANSWER, 0, 0},  /* 503 */
			{1, REPORT, E911_FAIL_ANSWER, 0, 0},  /* 500 */
			{2, REPORT, E911_FAIL_TIMEOUT, 0, 0}, /* a hang */
			{3, REPORT, E911_FAIL_ANSWER, 0, 0},  /* malformed JSON */
			{4, REPORT, E911_FAIL_ANSWER, 0, 0},  /* not JSON */
			{5, REPORT, E911_FAIL_ANSWER, 0, 0},  /* oversize */
			{6, REPORT, E911_FAIL_RESET, 0, 0},	  /* closed, no answer */
			{7, REPORT, E911_FAIL_ANSWER, 0, 0},  /* 429 */
			{8, REPORT, E911_FAIL_LOCAL, 0, 0},	  /* our own queue */
			{9, REPORT, E911_FAIL_LOCAL, 0, 0},
			{10, REPORT, E911_FAIL_LOCAL, 0, 0},
			{11, REPORT, E911_FAIL_ANSWER, 0, 0},
	};
	e911_breaker_t *b = run_steps(st, N(st));
	e911_breaker_t snap;

	e911_breaker_get(b, &snap);
	assert_int_equal(snap.opens, 0);
	assert_int_equal(snap.failures, 2);
	e911_breaker_destroy(b);
}

static void test_transport_failures_open_probe_closes(void **state)
{
	static const step_t st[] = {
			{0, REPORT, E911_FAIL_TIMEOUT, 0, 0},
			{10, REPORT, E911_FAIL_NONE, 0, 0}, /* a success resets */
			{20, REPORT, E911_FAIL_CONNECT, 0, 0},
			{30, REPORT, E911_FAIL_TLS, 0, 0},
			{40, REPORT, E911_FAIL_CONNECT, 1, 1}, /* opens */
			{41, REPORT, E911_FAIL_TIMEOUT, 0, 1}, /* stragglers: nothing */
			{42, DUE, 0, 1, 1},					   /* first probe at once */
			{50, PROBE, E911_FAIL_CONNECT, 0, 1}, {60, DUE, 0, 0, 1},
			{1049, DUE, 0, 0, 1},
			{1050, DUE, 0, 1, 1}, /* one probe interval later */
			{1051, PROBE, E911_FAIL_TIMEOUT, 0, 1}, {2051, DUE, 0, 1, 1},
			/* any HTTP answer: the service is up */
			{2052, PROBE, E911_FAIL_ANSWER, -1, 0}, {2053, DUE, 0, 0, 0},
			{2054, REPORT, E911_FAIL_TIMEOUT, 0, 0}, /* a new streak */
	};
	e911_breaker_t *b = run_steps(st, N(st));
	e911_breaker_t snap;
	char buf[120];

	e911_breaker_get(b, &snap);
	assert_int_equal(snap.opens, 1);
	assert_int_equal(snap.reason, E911_FAIL_CONNECT);
	assert_string_equal(e911_fail_counts_str(snap.reason_counts, buf, 120),
			"2 refused/connect, 1 tls");
	assert_int_equal(snap.probes, 3);
	assert_int_equal(snap.probe_failures, 2);
	assert_int_equal(snap.last_probe_kind, E911_FAIL_ANSWER);
	assert_int_equal(snap.failures, 1);
	e911_breaker_destroy(b);
}

/* An answer to a request still in flight when the breaker opened closes it
 * too; a local failure never moves it. */
static void test_late_answer_closes(void **state)
{
	static const step_t st[] = {
			{0, REPORT, E911_FAIL_RESET, 0, 0},
			{1, REPORT, E911_FAIL_RESET, 0, 0},
			{2, REPORT, E911_FAIL_RESET, 1, 1},
			{3, REPORT, E911_FAIL_LOCAL, 0, 1},
			{4, PROBE, E911_FAIL_LOCAL, 0, 1},
			{5, REPORT, E911_FAIL_NONE, -1, 0},
			{6, PROBE, E911_FAIL_TIMEOUT, 0, 0}, /* a late probe: ignored */
	};
	e911_breaker_t *b = run_steps(st, N(st));
	e911_breaker_destroy(b);
}

/* Probes every second for the first cool-down (10 s), then doubling up to
 * the cool-down. */
static void test_probe_backoff(void **state)
{
	e911_breaker_t *b = e911_breaker_new(1, 10, 1000);
	int64_t t = 0;
	int64_t waits[20];
	int i;
	static const int64_t want[20] = {1000, 1000, 1000, 1000, 1000, 1000, 1000,
			1000, 1000, 1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000,
			10000, 10000, 10000};

	assert_int_equal(e911_breaker_report(b, E911_FAIL_TIMEOUT, t, NULL), 1);
	for(i = 0; i < 20; i++) {
		assert_int_equal(e911_breaker_probe_due(b, t), 1);
		assert_int_equal(e911_breaker_probe_result(
								 b, E911_FAIL_TIMEOUT, 1000, 0, t, NULL),
				0);
		waits[i] = e911_breaker_probe_in(b, t);
		assert_int_equal(e911_breaker_probe_due(b, t + waits[i] - 1), 0);
		t += waits[i];
	}
	for(i = 0; i < 20; i++)
		if(waits[i] != want[i])
			fail_msg("probe %d: waited %lld ms, want %lld", i,
					(long long)waits[i], (long long)want[i]);
	e911_breaker_destroy(b);
}

static void test_close_reports_outage(void **state)
{
	e911_breaker_t *b = e911_breaker_new(2, 30, 1000);
	e911_breaker_close_t cl;

	/* per-key hangs: the first probe answers */
	e911_breaker_report(b, E911_FAIL_TIMEOUT, 100, NULL);
	assert_int_equal(e911_breaker_report(b, E911_FAIL_TIMEOUT, 200, NULL), 1);
	memset(&cl, 0xff, sizeof(cl));
	assert_int_equal(
			e911_breaker_probe_result(b, E911_FAIL_NONE, 3, 404, 250, &cl), -1);
	assert_int_equal(cl.probe_failed, 0);
	assert_int_equal(cl.outage_from, 100);
	assert_int_equal(cl.reason, E911_FAIL_TIMEOUT);
	/* a real outage: a probe failed before one answered */
	e911_breaker_report(b, E911_FAIL_CONNECT, 5000, NULL);
	assert_int_equal(e911_breaker_report(b, E911_FAIL_CONNECT, 5001, NULL), 1);
	e911_breaker_probe_result(b, E911_FAIL_CONNECT, 0, 0, 5002, NULL);
	assert_int_equal(
			e911_breaker_probe_result(b, E911_FAIL_ANSWER, 2, 503, 6100, &cl),
			-1);
	assert_int_equal(cl.probe_failed, 1);
	assert_int_equal(cl.outage_from, 5000);
	assert_int_equal(cl.opened_at, 5001);
	e911_breaker_destroy(b);
}

static void test_disabled(void **state)
{
	e911_breaker_t *b = e911_breaker_new(0, 30, 1000);
	int i;

	for(i = 0; i < 100; i++)
		assert_int_equal(e911_breaker_report(b, E911_FAIL_TIMEOUT, i, NULL), 0);
	assert_int_equal(e911_breaker_allow(b), 1);
	assert_int_equal(e911_breaker_probe_due(b, 1000), 0);
	e911_breaker_destroy(b);
}

/* --- per-key error memory --- */

static void test_keyerr_policy(void **state)
{
	static const struct
	{
		e911_fail_t kind;
		int remembered;
	} cases[] = {{E911_FAIL_ANSWER, 1}, {E911_FAIL_TIMEOUT, 1},
			{E911_FAIL_RESET, 1}, {E911_FAIL_CONNECT, 0}, {E911_FAIL_TLS, 0},
			{E911_FAIL_LOCAL, 0}, {E911_FAIL_NONE, 0}};
	e911_keyerr_t *m = e911_keyerr_new(64);
	e911_keyerr_hit_t hit;
	char key[16];
	size_t i;

	assert_non_null(m);
	for(i = 0; i < N(cases); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		e911_keyerr_note(m, key, strlen(key), cases[i].kind, 1000, 5000);
		assert_int_equal(e911_keyerr_check(m, key, strlen(key), 1001, &hit),
				cases[i].remembered);
		if(cases[i].remembered) {
			assert_int_equal(hit.kind, cases[i].kind);
			assert_int_equal(hit.until, 6000);
			/* remembered for the TTL, no longer */
			assert_int_equal(
					e911_keyerr_check(m, key, strlen(key), 5999, NULL), 1);
			assert_int_equal(
					e911_keyerr_check(m, key, strlen(key), 6000, NULL), 0);
		}
	}
	/* a success forgets it; a prefix is another key */
	e911_keyerr_note(m, "bad", 3, E911_FAIL_ANSWER, 0, 5000);
	assert_int_equal(e911_keyerr_check(m, "ba", 2, 1, NULL), 0);
	assert_int_equal(e911_keyerr_check(m, "bad", 3, 1, NULL), 1);
	assert_int_equal(
			e911_keyerr_note(m, "bad", 3, E911_FAIL_NONE, 2, 5000), -1);
	assert_int_equal(e911_keyerr_check(m, "bad", 3, 3, NULL), 0);
	/* ttl 0: memory off */
	assert_int_equal(e911_keyerr_note(m, "x", 1, E911_FAIL_ANSWER, 0, 0), 0);
	assert_int_equal(e911_keyerr_check(m, "x", 1, 0, NULL), 0);
	e911_keyerr_destroy(m);
}

static void test_keyerr_forget_after_outage(void **state)
{
	e911_keyerr_t *m = e911_keyerr_new(64);

	e911_keyerr_note(m, "hang-before", 11, E911_FAIL_TIMEOUT, 100, 5000);
	e911_keyerr_note(m, "bad-record", 10, E911_FAIL_ANSWER, 1000, 5000);
	e911_keyerr_note(m, "hang-during", 11, E911_FAIL_TIMEOUT, 1000, 5000);
	e911_keyerr_note(m, "reset-during", 12, E911_FAIL_RESET, 1200, 5000);
	assert_int_equal(e911_keyerr_count(m, 1300), 4);
	assert_int_equal(e911_keyerr_forget_since(m, 1000), 2);
	assert_int_equal(e911_keyerr_check(m, "hang-before", 11, 1300, NULL), 1);
	assert_int_equal(e911_keyerr_check(m, "bad-record", 10, 1300, NULL), 1);
	assert_int_equal(e911_keyerr_check(m, "hang-during", 11, 1300, NULL), 0);
	assert_int_equal(e911_keyerr_check(m, "reset-during", 12, 1300, NULL), 0);
	e911_keyerr_destroy(m);
}

/* More keys than the table holds: the oldest give way, the table keeps
 * working, the newest are remembered. */
static void test_keyerr_full(void **state)
{
	e911_keyerr_t *m = e911_keyerr_new(16);
	char key[16];
	int i;
	int n = 0;

	for(i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		e911_keyerr_note(m, key, strlen(key), E911_FAIL_ANSWER, i, 100000);
	}
	assert_true(e911_keyerr_count(m, 1000) <= 16);
	for(i = 990; i < 1000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		n += e911_keyerr_check(m, key, strlen(key), 1000, NULL);
	}
	assert_true(n >= 8);
	assert_int_equal(e911_test_locks_held(), 0);
	e911_keyerr_destroy(m);
}

/* --- classification of curl outcomes --- */

static void test_fail_kind(void **state)
{
	static const struct
	{
		CURLcode cc;
		long code;
		int too_big;
		long long us;
		e911_fetch_status_t st;
		e911_fail_t want;
	} cases[] = {
			{CURLE_OK, 200, 0, 900, E911_FETCH_OK, E911_FAIL_NONE},
			{CURLE_OK, 404, 0, 900, E911_FETCH_NOTFOUND, E911_FAIL_NONE},
			{CURLE_OK, 503, 0, 900, E911_FETCH_ERROR, E911_FAIL_ANSWER},
			{CURLE_OK, 500, 0, 900, E911_FETCH_ERROR, E911_FAIL_ANSWER},
			{CURLE_OK, 200, 0, 900, E911_FETCH_ERROR, E911_FAIL_ANSWER},
			{CURLE_WRITE_ERROR, 200, 1, 900, E911_FETCH_ERROR,
					E911_FAIL_ANSWER},
			{CURLE_FILESIZE_EXCEEDED, 200, 0, 900, E911_FETCH_ERROR,
					E911_FAIL_ANSWER},
			{CURLE_OPERATION_TIMEDOUT, 0, 0, 1000000, E911_FETCH_TIMEOUT,
					E911_FAIL_TIMEOUT},
			{CURLE_OPERATION_TIMEDOUT, 200, 0, 1000000, E911_FETCH_TIMEOUT,
					E911_FAIL_TIMEOUT}, /* one byte a second */
			{CURLE_OPERATION_TIMEDOUT, 0, 0, 0, E911_FETCH_TIMEOUT,
					E911_FAIL_LOCAL}, /* queued in curl, never started */
			{CURLE_COULDNT_CONNECT, 0, 0, 100, E911_FETCH_ERROR,
					E911_FAIL_CONNECT},
			{CURLE_COULDNT_RESOLVE_HOST, 0, 0, 100, E911_FETCH_ERROR,
					E911_FAIL_CONNECT},
			{CURLE_PEER_FAILED_VERIFICATION, 0, 0, 100, E911_FETCH_ERROR,
					E911_FAIL_TLS},
			{CURLE_SSL_CONNECT_ERROR, 0, 0, 100, E911_FETCH_ERROR,
					E911_FAIL_TLS},
			{CURLE_GOT_NOTHING, 0, 0, 100, E911_FETCH_ERROR, E911_FAIL_RESET},
			{CURLE_RECV_ERROR, 0, 0, 100, E911_FETCH_ERROR, E911_FAIL_RESET},
			{CURLE_RECV_ERROR, 200, 0, 100, E911_FETCH_ERROR, E911_FAIL_ANSWER},
			{CURLE_OUT_OF_MEMORY, 0, 0, 100, E911_FETCH_ERROR, E911_FAIL_LOCAL},
	};
	size_t i;

	for(i = 0; i < N(cases); i++) {
		e911_fail_t k = e911_fetch_fail_kind(cases[i].cc, cases[i].code,
				cases[i].too_big, cases[i].us, cases[i].st);
		if(k != cases[i].want)
			fail_msg("case %zu (%s, HTTP %ld): %s, want %s", i,
					curl_easy_strerror(cases[i].cc), cases[i].code,
					e911_fail_name(k), e911_fail_name(cases[i].want));
	}
	/* answered errors never count, transport failures do */
	assert_int_equal(e911_fail_counts(E911_FAIL_ANSWER), 0);
	assert_int_equal(e911_fail_counts(E911_FAIL_LOCAL), 0);
	assert_int_equal(e911_fail_counts(E911_FAIL_TIMEOUT), 1);
	assert_int_equal(e911_fail_counts(E911_FAIL_RESET), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_answers_do_not_open),
			cmocka_unit_test(test_transport_failures_open_probe_closes),
			cmocka_unit_test(test_late_answer_closes),
			cmocka_unit_test(test_probe_backoff),
			cmocka_unit_test(test_close_reports_outage),
			cmocka_unit_test(test_disabled),
			cmocka_unit_test(test_keyerr_policy),
			cmocka_unit_test(test_keyerr_forget_after_outage),
			cmocka_unit_test(test_keyerr_full),
			cmocka_unit_test(test_fail_kind),
	};
	return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
