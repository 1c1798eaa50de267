/*
 * e911 module - where a call's location would come from, explained
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "e911_explain.h"

static void step(e911_explain_loc_t *o, const char *fmt, ...)
{
	va_list ap;

	if(o->ntrail >= E911_EXPLAIN_TRAIL_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(o->trail[o->ntrail], E911_EXPLAIN_STEP_MAX, fmt, ap);
	va_end(ap);
	o->ntrail++;
}

const char *e911_explain_status_name(int status)
{
	if(status == E911_EXPLAIN_ASK)
		return "ask the service";
	return e911_status_name(status);
}

/* What a call gets when the service gives no usable answer: the lookup's
 * own rule (e911_outcome_without_service). */
static void stale_or_nothing(const e911_explain_in_t *in, e911_explain_loc_t *o)
{
	o->status = e911_outcome_without_service(
			in->cached ? in->cache_state : E911_CS_MISS, in->cache_origin,
			&o->source);
	if(o->status == E911_LOC_STALE || o->status == E911_LOC_FRESH) {
		o->rec = in->cached;
		o->age = in->now - in->cache_fetched_at;
		step(o, "%s record served %s, %lld s old",
				o->source == E911_SRC_SNAPSHOT ? "snapshot" : "last good",
				o->status == E911_LOC_STALE ? "stale" : "from the cache",
				(long long)o->age);
		return;
	}
	step(o, "no record to serve: no location");
}

void e911_explain_location(const e911_explain_in_t *in, e911_explain_loc_t *o)
{
	memset(o, 0, sizeof(*o));
	o->status = E911_LOC_UNAVAILABLE;
	o->source = E911_SRC_NONE;
	o->age = -1;

	switch(in->cache_state) {
		case E911_CS_FRESH:
			o->status = E911_LOC_FRESH;
			o->source = E911_SRC_CACHE;
			o->rec = in->cached;
			o->age = in->now - in->cache_fetched_at;
			step(o, "cache: fresh record, %lld s old, fresh for %lld s more",
					(long long)o->age,
					(long long)(in->cache_fresh_until - in->now));
			return;
		case E911_CS_NEGATIVE:
			o->status = E911_LOC_NONE;
			step(o,
					"cache: the service said it has no record "
					"%lld s ago (negative entry, %lld s left)",
					(long long)(in->now - in->cache_fetched_at),
					(long long)(in->cache_fresh_until - in->now));
			return;
		case E911_CS_STALE:
			step(o,
					"cache: record %lld s old, past its freshness: the "
					"service is asked first",
					(long long)(in->now - in->cache_fetched_at));
			break;
		default:
			step(o, "cache: nothing for this key: the service is asked");
			break;
	}

	if(in->fetched) {
		switch(in->fetch_status) {
			case E911_FETCH_OK:
				o->status = E911_LOC_FRESH;
				o->source = E911_SRC_SERVICE;
				o->rec = in->fetched_rec;
				o->age = 0;
				step(o, "service: record received now");
				return;
			case E911_FETCH_NOTFOUND:
				o->status = E911_LOC_NONE;
				step(o, "service: no record for this key (404)");
				return;
			default:
				step(o, "service: %s",
						in->fetch_error && in->fetch_error[0] ? in->fetch_error
															  : "no answer");
				stale_or_nothing(in, o);
				return;
		}
	}
	if(in->service_available) {
		o->status = E911_EXPLAIN_ASK;
		step(o,
				"service: a call would ask it now (up to %d ms); not asked "
				"(explain asks only with 'fetch')",
				in->timeout_ms);
		if(in->cache_state == E911_CS_STALE && in->cached) {
			o->source = in->cache_origin == E911_ORIGIN_SNAPSHOT
								? E911_SRC_SNAPSHOT
								: E911_SRC_STALE;
			o->rec = in->cached;
			o->age = in->now - in->cache_fetched_at;
			step(o, "if the service fails: the %s record, %lld s old",
					o->source == E911_SRC_SNAPSHOT ? "snapshot" : "last good",
					(long long)o->age);
		} else {
			step(o, "if the service fails: no location");
		}
		return;
	}
	step(o, "service: breaker open, a call would not wait for it");
	stale_or_nothing(in, o);
}
