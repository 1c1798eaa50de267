/*
 * e911 module - circuit breaker for a location service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Lock-free: every field is read and written with GCC __atomic builtins.
 * A probe that never reports (its process died) is abandoned after one more
 * cool-down, so the breaker can never stay half-open forever.
 */

#include "e911_breaker.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

void e911_breaker_init(e911_breaker_t *b, int threshold, int cooldown)
{
	STORE(&b->failures, 0);
	STORE(&b->probing, 0);
	STORE(&b->open_until, 0);
	STORE(&b->probe_at, 0);
	STORE(&b->opens, 0);
	b->threshold = threshold;
	b->cooldown = cooldown > 0 ? cooldown : 1;
}

int e911_breaker_is_open(const e911_breaker_t *b, int64_t now)
{
	return LOAD(&b->open_until) != 0;
}

int e911_breaker_allow(e911_breaker_t *b, int64_t now)
{
	int64_t until = LOAD(&b->open_until);
	int32_t expected = 0;

	if(b->threshold <= 0 || until == 0)
		return 1;
	if(now < until)
		return 0;
	/* cool-down over: one probe at a time */
	if(__atomic_compare_exchange_n(&b->probing, &expected, 1, 0,
			   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		STORE(&b->probe_at, now);
		return 1;
	}
	/* a probe is out; if it never came back, let another one go */
	if(now - LOAD(&b->probe_at) > b->cooldown) {
		STORE(&b->probe_at, now);
		return 1;
	}
	return 0;
}

int e911_breaker_report(e911_breaker_t *b, int ok, int64_t now)
{
	int32_t f;

	if(b->threshold <= 0)
		return 0;
	if(ok) {
		STORE(&b->failures, 0);
		STORE(&b->probing, 0);
		if(__atomic_exchange_n(&b->open_until, 0, __ATOMIC_ACQ_REL) != 0)
			return -1;
		return 0;
	}
	f = __atomic_add_fetch(&b->failures, 1, __ATOMIC_ACQ_REL);
	if(LOAD(&b->open_until) != 0) {
		/* a failed probe: open for another cool-down */
		STORE(&b->open_until, now + b->cooldown);
		STORE(&b->probing, 0);
		return 0;
	}
	if(f >= b->threshold) {
		int64_t expected = 0;
		if(__atomic_compare_exchange_n(&b->open_until, &expected,
				   now + b->cooldown, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&b->opens, 1, __ATOMIC_ACQ_REL);
			return 1;
		}
	}
	return 0;
}
