/*
 * e911 module - circuit breaker for a location service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Every change happens under the breaker's lock; `open` is also written
 * with an atomic store so e911_breaker_allow() reads it without the lock.
 */

#include <stdio.h>
#include <string.h>

#include "e911_breaker.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static const char *fail_names[E911_FAIL_COUNT] = {"none", "answer error",
		"timeout", "refused/connect", "tls", "reset", "local"};

const char *e911_fail_name(e911_fail_t kind)
{
	if((int)kind < 0 || kind >= E911_FAIL_COUNT)
		return "unknown";
	return fail_names[kind];
}

int e911_fail_counts(e911_fail_t kind)
{
	return kind == E911_FAIL_TIMEOUT || kind == E911_FAIL_CONNECT
		   || kind == E911_FAIL_TLS || kind == E911_FAIL_RESET;
}

int e911_fail_answered(e911_fail_t kind)
{
	return kind == E911_FAIL_NONE || kind == E911_FAIL_ANSWER;
}

char *e911_fail_counts_str(
		const uint32_t counts[E911_FAIL_COUNT], char *buf, int size)
{
	int i;
	int n = 0;

	if(size <= 0)
		return buf;
	buf[0] = '\0';
	for(i = 0; i < E911_FAIL_COUNT && n < size; i++) {
		if(counts[i] == 0)
			continue;
		n += snprintf(buf + n, size - n, "%s%u %s", n ? ", " : "", counts[i],
				fail_names[i]);
	}
	return buf;
}

e911_breaker_t *e911_breaker_new(
		int threshold, int cooldown_s, int probe_interval_ms)
{
	e911_breaker_t *b = e911_shm_malloc(sizeof(*b));

	if(b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->lock = e911_lockset_new(1);
	if(b->lock == NULL) {
		e911_shm_free(b);
		return NULL;
	}
	b->threshold = threshold;
	b->cooldown_ms = (int64_t)(cooldown_s > 0 ? cooldown_s : 1) * 1000;
	b->probe_interval_ms = probe_interval_ms >= 10 ? probe_interval_ms : 10;
	if(b->probe_interval_ms > b->cooldown_ms)
		b->probe_interval_ms = b->cooldown_ms;
	return b;
}

void e911_breaker_destroy(e911_breaker_t *b)
{
	if(b == NULL)
		return;
	e911_lockset_destroy(b->lock);
	e911_shm_free(b);
}

int e911_breaker_allow(e911_breaker_t *b)
{
	return LOAD(&b->open) == 0;
}

int e911_breaker_is_open(e911_breaker_t *b)
{
	return LOAD(&b->open) != 0;
}

static void clear_streak(e911_breaker_t *b)
{
	b->failures = 0;
	b->streak_at = 0;
	memset(b->streak, 0, sizeof(b->streak));
}

/* under the lock */
static void do_close(e911_breaker_t *b, int64_t now, e911_breaker_close_t *cl)
{
	if(cl) {
		cl->opened_at = b->opened_at;
		cl->outage_from = b->outage_from;
		cl->probe_failed = b->probe_failed;
		cl->reason = b->reason;
	}
	STORE(&b->open, 0);
	b->closed_at = now;
	b->probe_failed = 0;
	clear_streak(b);
}

/* under the lock */
static void do_open(e911_breaker_t *b, int64_t now)
{
	int i;
	int best = E911_FAIL_TIMEOUT;

	for(i = 0; i < E911_FAIL_COUNT; i++)
		if(b->streak[i] > b->streak[best])
			best = i;
	b->reason = best;
	memcpy(b->reason_counts, b->streak, sizeof(b->streak));
	b->opened_at = now;
	b->outage_from = b->streak_at;
	b->probe_failed = 0;
	b->next_probe = now; /* the first probe at once */
	b->probe_wait = b->probe_interval_ms;
	b->opens++;
	clear_streak(b);
	STORE(&b->open, 1);
}

int e911_breaker_report(e911_breaker_t *b, e911_fail_t kind, int64_t now_ms,
		e911_breaker_close_t *cl)
{
	int r = 0;

	if(b->threshold <= 0 || kind == E911_FAIL_LOCAL)
		return 0;
	e911_lock(b->lock, 0);
	if(b->open) {
		/* a request still in flight when it opened: its answer proves the
		 * service is back as well as a probe would */
		if(e911_fail_answered(kind)) {
			do_close(b, now_ms, cl);
			r = -1;
		}
	} else if(kind == E911_FAIL_NONE) {
		clear_streak(b);
	} else if(e911_fail_counts(kind)) {
		if(b->failures == 0)
			b->streak_at = now_ms;
		b->failures++;
		b->streak[kind]++;
		if(b->failures >= b->threshold) {
			do_open(b, now_ms);
			r = 1;
		}
	}
	/* E911_FAIL_ANSWER while closed: the key's problem, the breaker does
	 * not move */
	e911_unlock(b->lock, 0);
	return r;
}

int e911_breaker_probe_due(e911_breaker_t *b, int64_t now_ms)
{
	int due;

	if(!LOAD(&b->open))
		return 0;
	e911_lock(b->lock, 0);
	due = b->open && now_ms >= b->next_probe;
	e911_unlock(b->lock, 0);
	return due;
}

int64_t e911_breaker_probe_in(e911_breaker_t *b, int64_t now_ms)
{
	int64_t in;

	if(!LOAD(&b->open))
		return -1;
	e911_lock(b->lock, 0);
	in = !b->open ? -1 : (b->next_probe > now_ms ? b->next_probe - now_ms : 0);
	e911_unlock(b->lock, 0);
	return in;
}

int e911_breaker_probe_result(e911_breaker_t *b, e911_fail_t kind, long took_ms,
		long http_code, int64_t now_ms, e911_breaker_close_t *cl)
{
	int r = 0;

	e911_lock(b->lock, 0);
	b->probes++;
	b->last_probe_at = now_ms;
	b->last_probe_kind = kind;
	b->last_probe_ms = (int32_t)took_ms;
	b->last_probe_code = (int32_t)http_code;
	if(!b->open) {
		/* closed meanwhile by an answer to a caller's request */
	} else if(e911_fail_answered(kind)) {
		do_close(b, now_ms, cl);
		r = -1;
	} else {
		b->probe_failures++;
		if(kind != E911_FAIL_LOCAL)
			b->probe_failed = 1;
		/* every probe_interval for the first cool-down of the outage, then
		 * backing off (doubling) up to the cool-down */
		if(now_ms - b->opened_at >= b->cooldown_ms) {
			b->probe_wait *= 2;
			if(b->probe_wait > b->cooldown_ms)
				b->probe_wait = b->cooldown_ms;
		}
		b->next_probe = now_ms + b->probe_wait;
	}
	e911_unlock(b->lock, 0);
	return r;
}

void e911_breaker_get(e911_breaker_t *b, e911_breaker_t *out)
{
	e911_lock(b->lock, 0);
	memcpy(out, b, sizeof(*out));
	e911_unlock(b->lock, 0);
	out->lock = NULL;
}
