/*
 * e911 module - the outcome of a lookup, and what REGISTER checks decide
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include <stddef.h>

#include "e911_dispatchable.h"
#include "e911_outcome.h"

const char *e911_status_name(int status)
{
	switch(status) {
		case E911_LOC_FRESH:
			return "fresh";
		case E911_LOC_STALE:
			return "stale";
		case E911_LOC_NONE:
			return "none";
		default:
			return "unavailable";
	}
}

const char *e911_source_name(e911_source_t src)
{
	switch(src) {
		case E911_SRC_CACHE:
			return "cache";
		case E911_SRC_SERVICE:
			return "service";
		case E911_SRC_STALE:
			return "stale";
		case E911_SRC_SNAPSHOT:
			return "snapshot";
		default:
			return "none";
	}
}

int e911_outcome_without_service(
		e911_cstate_t cs, e911_origin_t origin, e911_source_t *source)
{
	switch(cs) {
		case E911_CS_FRESH:
			*source = E911_SRC_CACHE;
			return E911_LOC_FRESH;
		case E911_CS_STALE:
			*source = origin == E911_ORIGIN_SNAPSHOT ? E911_SRC_SNAPSHOT
													 : E911_SRC_STALE;
			return E911_LOC_STALE;
		case E911_CS_NEGATIVE:
			*source = E911_SRC_NONE;
			return E911_LOC_NONE;
		default:
			*source = E911_SRC_NONE;
			return E911_LOC_UNAVAILABLE;
	}
}

int64_t e911_fresh_until(const e911_record_t *rec, int64_t now, int cache_ttl)
{
	if(rec->max_age > 0)
		return now + rec->max_age;
	if(rec->max_age == 0)
		return now;
	return now + cache_ttl;
}

int e911_check_needs_refetch(
		int status, e911_source_t source, const e911_record_t *rec)
{
	/* a negative cache entry: the outcome's source stays none */
	if(status == E911_LOC_NONE
			&& (source == E911_SRC_CACHE || source == E911_SRC_NONE))
		return 1;
	/* a cached record found wanting */
	return source == E911_SRC_CACHE && rec != NULL
		   && e911_dispatchable(rec) != E911_DISPATCHABLE;
}

int e911_check_verdict(
		int status, const e911_record_t *rec, const char **reason)
{
	int rc;

	if(status == E911_LOC_NONE) {
		*reason = "missing";
		return E911_CHECK_MISSING;
	}
	if(status == E911_LOC_UNAVAILABLE || rec == NULL) {
		*reason = "unavailable";
		return E911_CHECK_UNAVAILABLE;
	}
	rc = e911_dispatchable(rec);
	*reason = e911_dispatchable_reason(rc);
	return rc == E911_DISPATCHABLE ? E911_CHECK_OK
								   : E911_CHECK_NOT_DISPATCHABLE;
}
