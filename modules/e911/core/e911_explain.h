/*
 * e911 module - where a call's location would come from, explained
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * e911.explain answers "what would a call from this caller get now?"
 * without placing one. This is the lookup's decision (e911_lookup.c) made
 * on what is known - the cache entry, and the service's answer when the
 * operator asked for a fetch - with the trail of sources considered in
 * their order of precedence, for people:
 *
 *   cache fresh                  -> fresh (cache)
 *   cache negative               -> none (fallback route)
 *   cache stale or miss, fetched -> the service's answer: record (service),
 *                                   404 none, failure -> stale record or
 *                                   unavailable
 *   not fetched, service usable  -> a call would ask the service first
 *                                   (E911_EXPLAIN_ASK): its answer is not
 *                                   known without a fetch
 *   not fetched, breakers open   -> stale record or unavailable, at once
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_EXPLAIN_H
#define E911_EXPLAIN_H

#include <stdint.h>

#include "e911_cache.h"
#include "e911_fetch.h"
#include "e911_outcome.h"
#include "e911_record.h"

/* status: a call would ask the service, whose answer is not known */
#define E911_EXPLAIN_ASK 0

#define E911_EXPLAIN_TRAIL_MAX 6
#define E911_EXPLAIN_STEP_MAX 200

typedef struct e911_explain_in
{
	int64_t now;
	/* the cache entry (e911_cache_peek) */
	e911_cstate_t cache_state;
	e911_origin_t cache_origin;
	int64_t cache_fetched_at;
	int64_t cache_fresh_until;
	const e911_record_t *cached; /* its record, or NULL */
	/* the service, when asked (fetch flag) */
	int fetched;
	e911_fetch_status_t fetch_status;
	const e911_record_t *fetched_rec; /* with E911_FETCH_OK */
	const char *fetch_error;		  /* otherwise, or NULL */
	/* 1: a call would ask the service now (a breaker lets it) */
	int service_available;
	int timeout_ms; /* the lookup's budget, for the trail */
} e911_explain_in_t;

typedef struct e911_explain_loc
{
	int status; /* E911_LOC_* or E911_EXPLAIN_ASK */
	e911_source_t source;
	/* the record a call would carry (in.cached or in.fetched_rec); with
	 * E911_EXPLAIN_ASK the stale record used if the service fails */
	const e911_record_t *rec;
	int64_t age; /* seconds since rec was fetched, -1 without rec */
	int ntrail;
	char trail[E911_EXPLAIN_TRAIL_MAX][E911_EXPLAIN_STEP_MAX];
} e911_explain_loc_t;

/* The decision for in, into out. */
void e911_explain_location(
		const e911_explain_in_t *in, e911_explain_loc_t *out);

/* "fresh", "stale", "none", "unavailable", or "ask the service" */
const char *e911_explain_status_name(int status);

#endif
