/*
 * e911 module - which location an emergency call carries, and why
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Up to three sources can say where a caller is: the network the call
 * comes from (a site of the site map), the device's own Geolocation, and
 * the location service's record. location_precedence orders them (default
 * network,device,service); a record that is only stale (the service
 * failed, the last good one is served) and the fallback route come after
 * all three. e911_precedence_decide() is the one place that decides, for
 * the call (e911_route) and for whoever explains it (RPC, audit): it
 * returns the winner and a sentence saying why, whether the caller has
 * moved (a network that is neither a site nor in the record's networks)
 * and whether the network and the record disagree.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_PRECEDENCE_H
#define E911_PRECEDENCE_H

#include <stddef.h>

#include "e911_record.h"

typedef enum e911_locsrc
{
	E911_LS_NETWORK = 0, /* a site of the site map */
	E911_LS_DEVICE,		 /* the caller's own Geolocation */
	E911_LS_SERVICE,	 /* the location service's record (fresh) */
	E911_LS_STALE,		 /* the last good record, the service failing */
	E911_LS_FALLBACK,	 /* no location: fallback route */
	E911_LS_COUNT
} e911_locsrc_t;

#define E911_PRECEDENCE_DEFAULT "network,device,service"

typedef struct e911_precedence
{
	int n;					/* 1..3 */
	e911_locsrc_t order[3]; /* network, device or service, each once */
} e911_precedence_t;

/* "network", "device", "service", "stale", "fallback" */
const char *e911_locsrc_name(e911_locsrc_t s);

/* Parses "network,device,service" (any order, each at most once, blanks
 * around names ignored; a source left out is never used). 0, or -1 with
 * a reason in err. */
int e911_precedence_parse(
		const char *spec, e911_precedence_t *p, char *err, size_t errlen);

/* Writes p back as text ("network,device,service"). */
void e911_precedence_format(const e911_precedence_t *p, char *buf, size_t size);

/* What is known about one call. */
typedef struct e911_prec_in
{
	const char *network; /* the network looked up (address or BSSID), or NULL */
	const char *via; /* how it was found: "source address", "edge proxy", ... */
	const char *site_id; /* the site it maps to, or NULL */
	int device;		/* usable Geolocation values the device sent (0 none) */
	int record;		/* 0 none, 1 a fresh record, 2 only a stale one */
	int in_record;	/* network in the record's networks: 1, 0 not, -1 unknown */
	int same_place; /* site and record: 1 same place, 0 differ, -1 n/a */
} e911_prec_in_t;

typedef struct e911_prec_out
{
	e911_locsrc_t winner;
	int moved; /* 1 neither a site nor the record's networks, 0 not, -1 unknown */
	int conflict; /* 1 when the site and the record name different places */
	char why[256];
} e911_prec_out_t;

/* Decides the call's location source (see the file comment). Never fails:
 * with nothing usable the winner is E911_LS_FALLBACK. */
void e911_precedence_decide(const e911_precedence_t *p,
		const e911_prec_in_t *in, e911_prec_out_t *out);

/* 1 when a and b describe the same place (the same civic values and the
 * same coordinates), 0 when not, -1 when either is NULL. */
int e911_same_place(const e911_record_t *a, const e911_record_t *b);

/* The IANA method token (RFC 4119 registry) of a network-derived location:
 * "802.11" for a BSSID, "Wiremap" for an address prefix. */
const char *e911_network_method(int by_bssid);

#endif
