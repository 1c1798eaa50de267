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

#include "core/e911_additional_data.h"
#include "e911_lookup.h"

/* e911_route() return codes */
#define E911_ROUTED_LOCATION 1
#define E911_ROUTED_FALLBACK 2
#define E911_ROUTE_FAILED -1

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
