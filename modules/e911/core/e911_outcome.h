/*
 * e911 module - the outcome of a lookup, and what REGISTER checks decide
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The status and source of a lookup's outcome (what e911_locate() returns
 * and $e911(status)/$e911(source) show), and the decisions of
 * e911_check() at REGISTER: when to ask the service again rather than
 * judge on a cached answer, and the verdict. Plain C, unit-tested
 * (test/unit/test_outcome.c); the glue only carries them out.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_OUTCOME_H
#define E911_OUTCOME_H

#include <stdint.h>

#include "e911_cache.h"
#include "e911_record.h"

/* e911_locate() return codes, as the script sees them */
#define E911_LOC_FRESH 1
#define E911_LOC_STALE 2
#define E911_LOC_NONE -1
#define E911_LOC_UNAVAILABLE -2

typedef enum e911_source
{
	E911_SRC_NONE = 0,
	E911_SRC_CACHE,
	E911_SRC_SERVICE,
	E911_SRC_STALE,
	E911_SRC_SNAPSHOT
} e911_source_t;

/* status and source as text ("fresh", "stale", "none", "unavailable";
 * "cache", "service", "stale", "snapshot", "none") */
const char *e911_status_name(int status);
const char *e911_source_name(e911_source_t src);

/* What a caller gets when the service gave no usable answer (error,
 * timeout, breaker open), from what the cache holds for the key now (cs,
 * and origin for a positive entry): a fresh record (refreshed meanwhile) is
 * served as from the cache, a stale one as stale or snapshot, a negative
 * entry means no record, nothing means unavailable. Returns the status
 * (E911_LOC_*) and sets *source. Serving the last good record is the rule:
 * a stale location beats none. */
int e911_outcome_without_service(
		e911_cstate_t cs, e911_origin_t origin, e911_source_t *source);

/* Until when a record fetched at now is fresh: max_age when the record
 * gives one (0: never fresh), else cache_ttl. */
int64_t e911_fresh_until(const e911_record_t *rec, int64_t now, int cache_ttl);

/* e911_check() results */
#define E911_CHECK_OK 1
#define E911_CHECK_MISSING -1
#define E911_CHECK_NOT_DISPATCHABLE -2
#define E911_CHECK_UNAVAILABLE -3

/* 1 when a REGISTER check must ask the service again before judging: the
 * cache answered "no record" (a negative entry) or gave a record that is not
 * dispatchable - either may have been fixed by the user since, and a
 * phone must not be refused or warned on an old answer. rec is the cached
 * record or NULL. */
int e911_check_needs_refetch(
		int status, e911_source_t source, const e911_record_t *rec);

/* The verdict of a REGISTER check on the final outcome: E911_CHECK_*, with
 * *reason ("missing", "unavailable", or e911_dispatchable_reason()'s text). */
int e911_check_verdict(
		int status, const e911_record_t *rec, const char **reason);

#endif
