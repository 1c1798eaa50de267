/*
 * e911 module - the site map: which network is where
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A site map tells which dispatchable location a network stands for:
 *
 *     {"sites": [{"id": "tower-c-3",
 *                 "networks": ["10.1.3.0/24", "2001:db8:3::/48"],
 *                 "bssids": ["00:11:22:33:44:55"],
 *                 "civic": {...}, "geo": {...}, "route": {...}}]}
 *
 * civic, geo and route are read by e911_record_from_location(), so a site's
 * location has exactly the checks and normalisation of a location record.
 * Networks are matched longest prefix first (IPv4 and IPv6), BSSIDs
 * exactly (docs/location-api.md, "Site map").
 *
 * A parsed map is one position-independent block (offsets, no pointers):
 * the glue copies it into shared memory with one memcpy and swaps it in.
 * Prefixes are turned into sorted, disjoint address intervals, each naming
 * the site of the longest prefix that covers it (or none), so a match is
 * one binary search: about 18 steps for 10^5 prefixes. BSSIDs are a sorted
 * array of 48-bit values.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_SITEMAP_H
#define E911_SITEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"

/* Bounds of a map (a map beyond them is rejected as a whole). */
#define E911_SITEMAP_MAX_SITES 200000
#define E911_SITEMAP_MAX_PREFIXES 1000000
#define E911_SITEMAP_MAX_BSSIDS 1000000
/* A site id: 1..64 characters of A-Z a-z 0-9 . _ - */
#define E911_SITE_ID_MAX 64
/* Shortest prefix a site may claim: a site is a building, not a country;
 * a /0 would give every caller that site's location. */
#define E911_SITEMAP_MIN_V4 8
#define E911_SITEMAP_MIN_V6 16
/* "no site" */
#define E911_SITE_NONE (-1)

typedef struct e911_sitemap e911_sitemap_t;

/* An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses are IPv4. */
typedef struct e911_ipaddr
{
	int family; /* 4 or 6 */
	uint8_t b[16];
} e911_ipaddr_t;

/* What a map holds, for the operators' view. */
typedef struct e911_sitemap_counts
{
	uint32_t sites;
	uint32_t prefixes4; /* as listed in the map */
	uint32_t prefixes6;
	uint32_t bssids;
	uint32_t intervals4; /* after flattening, what a match searches */
	uint32_t intervals6;
	size_t bytes; /* size of the block */
} e911_sitemap_counts_t;

/* Parses a site map document of len bytes (at most max_len) into a
 * malloc()ed block (free() it). Every site must have a valid id (unique),
 * at least one network or BSSID, and a location that passes the location
 * record's checks; prefixes must be canonical (no host bits set) and no
 * shorter than E911_SITEMAP_MIN_V4 / _V6; a prefix or BSSID may not belong
 * to two sites. Nested prefixes are fine: the longest wins. Any error
 * rejects the whole map: returns NULL with one line in err naming the site
 * and the member (never a location value). On success err may hold a
 * warning (a value left out), or be empty. */
e911_sitemap_t *e911_sitemap_parse(
		const char *json, size_t len, size_t max_len, char *err, size_t errlen);

/* Size in bytes of the block (what to copy). */
size_t e911_sitemap_size(const e911_sitemap_t *m);

/* Fills c with what m holds. */
void e911_sitemap_counts(const e911_sitemap_t *m, e911_sitemap_counts_t *c);

/* The site whose longest prefix covers a, or E911_SITE_NONE. */
int e911_sitemap_match_addr(const e911_sitemap_t *m, const e911_ipaddr_t *a);

/* The site of the BSSID (48-bit value), or E911_SITE_NONE. */
int e911_sitemap_match_bssid(const e911_sitemap_t *m, uint64_t bssid);

/* Id, location and listed counts of site i (0 <= i < sites); NULL / 0
 * for an index out of range. */
const char *e911_sitemap_site_id(const e911_sitemap_t *m, int i);
const e911_record_t *e911_sitemap_site_record(const e911_sitemap_t *m, int i);
uint32_t e911_sitemap_site_networks(const e911_sitemap_t *m, int i);
uint32_t e911_sitemap_site_bssids(const e911_sitemap_t *m, int i);

/* Parses an address (IPv4, IPv6, IPv6 in [ ]) of len bytes. 0 or -1. */
int e911_ipaddr_parse(const char *s, size_t len, e911_ipaddr_t *a);

/* Parses a BSSID: twelve hex digits, bare or in pairs separated by ':' or
 * '-' (either case). 0 with the 48-bit value in *out, or -1. */
int e911_bssid_parse(const char *s, size_t len, uint64_t *out);

/* Writes b as "00:11:22:33:44:55" (18 bytes with the NUL). */
void e911_bssid_format(uint64_t b, char out[18]);

/* Finds the i-wlan-node-id parameter (RFC 7315) in a P-Access-Network-Info
 * header value and parses it as a BSSID. 0 with *out, or -1 when there is
 * none or it is not a BSSID. */
int e911_pani_bssid(const char *v, size_t len, uint64_t *out);

#endif
