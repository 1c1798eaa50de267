/*
 * e911 module - the network a call comes from, and which location it carries
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Which network: the packet's source address by default; with
 * network_from, and only when the packet comes from trusted_networks (the
 * SBCs or edge proxies that set them) or from the trust domain
 * (trusted_flag), also the BSSID in
 * P-Access-Network-Info (i-wlan-node-id, RFC 7315), the device's own
 * address in its Contact, and the address the edge proxy recorded in the
 * device's Via (received, else sent-by). Untrusted values are ignored
 * (logged at debug). The most specific network that maps to a site wins.
 *
 * Which location: core/e911_precedence.c decides between the site, the
 * device's own Geolocation (from outside the trust domain only the
 * by-reference values geolocation_allow lets through count: a cid: value
 * is conveyed, never preferred) and the service record
 * (location_precedence),
 * and e911_route() carries the decision out. The decision of a call is
 * made once and kept for $e911(...), the audit line and the notification.
 */

#ifndef E911_LOCATION_PRECEDENCE_H
#define E911_LOCATION_PRECEDENCE_H

#include "../../core/parser/msg_parser.h"

#include "core/e911_precedence.h"
#include "e911_lookup.h"
#include "e911_sitemap_store.h"

typedef struct e911_network_cfg
{
	char *precedence; /* location_precedence */
	char *trusted;	  /* trusted_networks: CIDRs, "" = none */
	char *from;		  /* network_from: source, via, contact, pani */
	e911_precedence_t prec;
	unsigned from_mask;
} e911_network_cfg_t;

extern e911_network_cfg_t e911_network_cfg;

/* A network a request says it comes from. */
typedef struct e911_network
{
	char text[64];	 /* address or BSSID as text */
	const char *via; /* "source address", "edge proxy Via", "Contact",
					  * "P-Access-Network-Info" */
	int is_bssid;
	uint64_t bssid;
} e911_network_t;

#define E911_NETWORKS_MAX 4

/* What was decided for one call. */
typedef struct e911_call_location
{
	unsigned int msg_id;
	int msg_pid;
	e911_prec_out_t out;
	e911_network_t network; /* the one that matched a site, else the first */
	int has_network;
	int has_site;
	int applied; /* the outcome's record now holds the site's location */
	/* the lookup outcome the decision was made with (a new one for the
	 * same message is decided again) */
	int loc_seen;
	int loc_status;
	int64_t loc_fetched_at;
	e911_site_hit_t site;
} e911_call_location_t;

/* mod_init: checks location_precedence (with the older location_preference
 * mapped onto it), trusted_networks and network_from. 0 or -1. */
int e911_location_precedence_init(void);

/* The networks msg says it comes from, most specific first (at most max).
 * Returns how many. */
int e911_request_networks(sip_msg_t *msg, e911_network_t *nets, int max);

/* Looks the networks up in the site map: 1 with the matching one in *net
 * and the site in hit, 0 when none maps to a site. */
int e911_networks_site(const e911_network_t *nets, int n, e911_network_t *net,
		e911_site_hit_t *hit);

/* 1 when one of the addresses among nets is inside the comma-separated
 * CIDR list, 0 when none is, -1 when list is NULL. */
int e911_networks_in(const e911_network_t *nets, int n, const char *list);

/* Decides (once per message) which location msg's emergency call carries,
 * and applies it to loc (may be NULL): with the network winning, loc's
 * record becomes the caller's record placed at the site. Logs a conflict
 * once. Returns the decision (per-process memory, valid until the next
 * message). */
const e911_call_location_t *e911_call_location(sip_msg_t *msg, e911_loc_t *loc);

/* The decision made for msg, or NULL when none was made (does not decide). */
const e911_call_location_t *e911_call_location_made(sip_msg_t *msg);

/* 1 when the device's own Geolocation won for msg (ours is not added). */
int e911_call_location_use_device(sip_msg_t *msg);

#endif
