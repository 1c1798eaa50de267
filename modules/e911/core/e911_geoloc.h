/*
 * e911 module - Geolocation header parsing
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Parses the value of a SIP Geolocation header (RFC 6442 section 4.1) and
 * removes the RFC 8787 loc-src parameter from it:
 *
 *   Geolocation-header = "Geolocation" HCOLON locationValue
 *                        *( COMMA locationValue )
 *   locationValue      = LAQUOT locationURI RAQUOT *( SEMI geoloc-param )
 *   geoloc-param       = generic-param   ; loc-src = "loc-src" EQUAL hostname
 *
 * The value is the part after the colon, already unfolded: CR, LF and every
 * other control character but TAB make it malformed. Unknown parameters
 * (inserted-by, routing-allowed, ...) are accepted and left in place.
 * Results are offsets into the caller's bytes; nothing is allocated.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_GEOLOC_H
#define E911_GEOLOC_H

#include <stddef.h>

#define E911_GEOLOC_URI_MAX 1024	/* longest accepted locationURI, bytes */
#define E911_GEOLOC_VALUE_MAX 65535 /* longest accepted header value */

/* Scheme of a locationURI (case-insensitive). */
typedef enum e911_geoloc_scheme
{
	E911_GEOLOC_OTHER = 0, /* any other absoluteURI scheme */
	E911_GEOLOC_CID,	   /* cid: (RFC 2392), location in the body */
	E911_GEOLOC_HTTP,
	E911_GEOLOC_HTTPS,
	E911_GEOLOC_SIP,
	E911_GEOLOC_SIPS,
	E911_GEOLOC_PRES
} e911_geoloc_scheme_t;

/* One locationValue; offsets are into the parsed value. */
typedef struct e911_geoloc
{
	size_t off; /* the locationValue, from '<' to its last param */
	size_t len;
	size_t uri_off; /* the URI between '<' and '>' */
	size_t uri_len;
	int scheme;			/* e911_geoloc_scheme_t */
	int has_loc_src;	/* a loc-src parameter is present */
	size_t loc_src_off; /* the first loc-src's value as written (quotes */
	size_t loc_src_len; /* kept); length 0 when it has no value */
} e911_geoloc_t;

/* Parses a Geolocation header value val[0..len) into out[0..max) (out NULL:
 * only validates and counts). Returns the number of location values, or -1
 * with a reason (an offset, never a quote of the value) in err when the
 * value is malformed or holds more than max values. */
int e911_geoloc_parse(const char *val, size_t len, e911_geoloc_t *out, int max,
		char *err, size_t errlen);

/* Writes val[0..len) into out (size bytes, NUL-terminated; out may be val)
 * with every loc-src parameter and the whitespace before its ';' removed,
 * all other bytes identical. Returns the new length, or -1 when the value
 * is malformed or does not fit. */
int e911_geoloc_strip_locsrc(
		const char *val, size_t len, char *out, size_t size);

/* The policy for by-reference location values of callers outside the
 * trust domain: a comma-separated list of entries, each
 *   "scheme:"                 every URI of that scheme ("https:")
 *   "scheme://host[:port]"    that host (and port, when given) over an
 *                             http-style authority ("https://lis.example.net")
 *   "scheme:host[:port]"      that host in a sip:/sips:/pres: URI
 * Schemes and hosts compare case-insensitively; no wildcard. Returns the
 * number of entries, or -1 with a reason in err. */
int e911_geoloc_policy_check(const char *policy, char *err, size_t errlen);

/* 1 when the locationURI uri[0..len) matches an entry of policy (checked
 * with e911_geoloc_policy_check), else 0 - also when the URI has no host
 * the policy can read, or userinfo in an http-style authority
 * ("https://lis.example.net@evil.example/", read differently by different
 * clients). */
int e911_geoloc_allowed(const char *policy, const char *uri, size_t len);

/* Lower-case name of a scheme kind ("cid", "https", ..., "other"). */
const char *e911_geoloc_scheme_name(int scheme);

#endif
