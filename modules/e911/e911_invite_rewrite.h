/*
 * e911 module - rewriting the emergency INVITE
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_INVITE_REWRITE_H
#define E911_INVITE_REWRITE_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

#include <time.h>

#include "core/e911_additional_data.h"
#include "core/e911_text.h"
#include "e911_lookup.h"

/* e911_route() return codes */
#define E911_ROUTED_LOCATION 1
#define E911_ROUTED_FALLBACK 2
#define E911_ROUTE_FAILED -1

/* the headers a call routed to fallback_route without location gets */
#define E911_FALLBACK_HEADERS "Priority: emergency\r\n"

/* endpoint_id_to */
#define E911_EPID_NONE 0
#define E911_EPID_PAI 1
#define E911_EPID_FROM 2
#define E911_EPID_HEADER 3

typedef struct e911_rewrite_cfg
{
	struct
	{ /* the modparams as given */
		char *default_route;
		char *fallback_route;
		char *test_route;
		char *domain;
		char *callback_uri; /* sip or tel */
		char *endpoint_id_to;
		char *profile; /* e911-trunk or ng911 */
		char *provider_name;
		char *provider_id;
		char *provider_id_series;
		char *provider_type;
		char *provider_contact;
		char *provider_language;
		char *service_environment;
		char *service_type;
		char *service_mobility;
	} param;
	/* checked and derived by e911_rewrite_init() */
	str default_route;
	str fallback_route;
	str test_route;			 /* test calls go here when set */
	str domain;				 /* Content-ID and PAI host, PIDF entity */
	int geolocation_routing; /* 1: Geolocation-Routing: yes */
	int callback_tel;		 /* 1: PAI as tel:+1..., else sip:+1...@domain */
	int endpoint_to;	 /* E911_EPID_*: where a record's endpoint_id goes */
	str endpoint_header; /* its header name with E911_EPID_HEADER */
	int ng911;			 /* profile ng911: URN Request-URI, RFC 7852 */
	e911_provider_t provider; /* ProviderInfo (ng911) */
	e911_svcinfo_t svcinfo;	  /* ServiceInfo (ng911); mobility default */
} e911_rewrite_cfg_t;

extern e911_rewrite_cfg_t e911_rewrite_cfg;

/* mod_init: checks the routing, identity and profile modparams. 0 or -1. */
int e911_rewrite_init(void);

/* Request-URI the call takes for the lookup outcome loc (NULL: no lookup):
 * the record's route, else default_route, else fallback_route. */
void e911_route_target(e911_loc_t *loc, str *out);

/* The Request-URI for record rec (NULL: none) - test_call: a test call -
 * into *out; returns the reason ("record", "default", "fallback", "test"),
 * core/e911_route_choice.c. */
const char *e911_route_target_for(
		const e911_record_t *rec, int test_call, str *out);

/* What a call and e911.explain share, so that what explain shows is what
 * a call carries: */

/* How the location goes: by value (PIDF-LO in the body) and/or by
 * reference, per location_mode; neither when msg (NULL: no request, as
 * for explain) carries the device's own Geolocation and
 * location_preference is "device". */
void e911_rewrite_conveyance(sip_msg_t *msg, int *by_value, int *by_ref);

/* A new Content-ID for the location part, as a call draws one: 96 random
 * bits @ domain. Returns its length or -1. */
int e911_rewrite_new_content_id(char *cid, size_t size);

/* Appends to h the headers a located call gets after all of its own, in
 * order: Geolocation-Routing, Geolocation (<cid:cid> when by_value, <ref>
 * when ref is not NULL), Supported, Call-Info (ng911), P-Asserted-Identity
 * (callback or endpoint id), Priority, and the endpoint-id header. The
 * multipart Content-Type, which depends on the caller's body, is not
 * among them. h->failed tells whether they fit. */
void e911_rewrite_headers(const e911_record_t *rec, const char *cid, int cidlen,
		int by_value, const char *ref, e911_buf_t *h);

/* Renders the PIDF-LO a call rendered at now carries (entity host domain).
 * Returns its length or -1 (e911_pidf_render). */
int e911_rewrite_pidf(
		const e911_record_t *rec, time_t now, char *buf, size_t size);

/* Rewrites msg for the outcome of its lookup. With a location: Request-URI,
 * multipart body with the PIDF-LO, Geolocation, Geolocation-Routing, PAI
 * from the callback, Priority: emergency. Without: Request-URI =
 * fallback_route and Priority: emergency.
 * Returns E911_ROUTED_LOCATION, E911_ROUTED_FALLBACK or E911_ROUTE_FAILED
 * (nothing was changed then except, possibly, the Request-URI). */
int e911_route_msg(sip_msg_t *msg);

/* For a failure route: retries toward fallback_route with the location the
 * first attempt carried (kept by the transaction, or found again in the
 * cache when the first rewrite ran in a resumed transaction).
 * Returns E911_ROUTED_LOCATION, E911_ROUTED_FALLBACK or E911_ROUTE_FAILED. */
int e911_fallback_msg(sip_msg_t *msg);

#endif
