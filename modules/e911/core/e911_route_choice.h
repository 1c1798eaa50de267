/*
 * e911 module - which route an emergency call takes, and why
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The one rule for the Request-URI of a located emergency call, used by the
 * INVITE rewrite and by e911.explain alike: a test call goes to test_route
 * when one is set; otherwise the record's route.uri, else default_route;
 * a call without a record goes to fallback_route.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_ROUTE_CHOICE_H
#define E911_ROUTE_CHOICE_H

#include "e911_record.h"

typedef enum e911_route_kind
{
	E911_RT_RECORD = 0, /* the record's route.uri */
	E911_RT_DEFAULT,	/* default_route: the record has no route */
	E911_RT_FALLBACK,	/* fallback_route: no record */
	E911_RT_TEST		/* test_route: a test call */
} e911_route_kind_t;

/* The route a call with record rec (NULL: none) takes. test_call: the call
 * was classified as a test call; have_test_route, have_default_route: the
 * modparams are set. */
e911_route_kind_t e911_route_choose(const e911_record_t *rec, int test_call,
		int have_test_route, int have_default_route);

/* "record", "default", "fallback", "test" */
const char *e911_route_kind_name(e911_route_kind_t k);

/* One sentence saying why k was chosen, for people (e911.explain). */
const char *e911_route_kind_why(e911_route_kind_t k);

#endif
