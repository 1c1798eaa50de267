/*
 * e911 module - which route an emergency call takes, and why
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>

#include "e911_route_choice.h"

e911_route_kind_t e911_route_choose(const e911_record_t *rec, int test_call,
		int have_test_route, int have_default_route)
{
	if(rec == NULL)
		return E911_RT_FALLBACK;
	if(test_call && have_test_route)
		return E911_RT_TEST;
	if(e911_rec_get(rec, E911_F_ROUTE) != NULL)
		return E911_RT_RECORD;
	if(have_default_route)
		return E911_RT_DEFAULT;
	return E911_RT_FALLBACK;
}

const char *e911_route_kind_name(e911_route_kind_t k)
{
	switch(k) {
		case E911_RT_RECORD:
			return "record";
		case E911_RT_DEFAULT:
			return "default";
		case E911_RT_TEST:
			return "test";
		default:
			return "fallback";
	}
}

const char *e911_route_kind_why(e911_route_kind_t k)
{
	switch(k) {
		case E911_RT_RECORD:
			return "the caller's record names its PSAP (route.uri)";
		case E911_RT_DEFAULT:
			return "the record has no route: default_route (the E911 "
				   "provider)";
		case E911_RT_TEST:
			return "a test call: test_route";
		default:
			return "no location record (or a record with no route.uri and "
				   "no default_route): fallback_route";
	}
}
