/*
 * e911 module - circuit breaker for a location service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * After `threshold` consecutive failures the breaker opens for `cooldown`
 * seconds: lookups stop waiting on a service the module already knows is
 * failing and answer at once (stale record or fallback). When the cool-down
 * ends, exactly one caller is let through as a probe; its success closes the
 * breaker, its failure opens it again for another cool-down.
 *
 * The state lives in shared memory and is updated with atomic operations
 * only (no lock), so every process sees one breaker per service.
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_BREAKER_H
#define E911_BREAKER_H

#include <stdint.h>

typedef struct e911_breaker
{
	int32_t failures;	/* consecutive failures */
	int32_t probing;	/* 1 while a probe is in flight */
	int64_t open_until; /* unix seconds; 0 = closed */
	int64_t probe_at;	/* when the current probe started */
	uint32_t opens;		/* times the breaker opened */
	int32_t threshold;	/* failures that open it; <= 0 disables it */
	int32_t cooldown;	/* seconds it stays open */
} e911_breaker_t;

/* Initialises b (in shared memory) with its threshold and cool-down. */
void e911_breaker_init(e911_breaker_t *b, int threshold, int cooldown);

/* Whether a request may go to the service at time now: 1 when closed, or
 * when this caller becomes the single probe of an open breaker whose
 * cool-down ended; 0 when the caller must not wait on the service. */
int e911_breaker_allow(e911_breaker_t *b, int64_t now);

/* Reports the outcome of a request that was allowed (ok: the service
 * answered, a 404 included). Returns 1 when this report opened the breaker,
 * -1 when it closed it, 0 otherwise (for logging and statistics). */
int e911_breaker_report(e911_breaker_t *b, int ok, int64_t now);

/* 1 when the breaker is open at time now (probe or not). */
int e911_breaker_is_open(const e911_breaker_t *b, int64_t now);

#endif
