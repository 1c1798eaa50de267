/*
 * e911 module - the device's own location
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A device or upstream element may already have put Geolocation in the
 * request: its values are kept as they are (RFC 6442: add last, never
 * modify) except that loc-src is stripped from untrusted requests
 * (RFC 8787), and they are exposed as $e911(device_location). From outside
 * the trust domain (trusted_flag not set) only the by-reference values
 * geolocation_allow allows are forwarded, and by-value (cid:) ones.
 */

#ifndef E911_DEVICE_LOCATION_H
#define E911_DEVICE_LOCATION_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

/* modparams of the device's own location */
typedef struct e911_device_location_cfg
{
	int trust_loc_src; /* trust_loc_src: keep loc-src of incoming values */
	char *preference;  /* location_preference: service or device */
	int prefer_device; /* from location_preference */
	int trusted_flag;  /* trusted_flag: request from the trust domain */
	char *geo_allow;   /* geolocation_allow: by-reference policy */
} e911_device_location_cfg_t;

extern e911_device_location_cfg_t e911_device_location_cfg;

/* mod_init: checks the modparams. 0 or -1. */
int e911_device_location_init(void);

/* 1 when msg comes from inside the trust domain (RFC 3325): the script set
 * trusted_flag on it; else 0. */
int e911_request_trusted(sip_msg_t *msg);

/* The device's own Geolocation values (after the policy and loc-src
 * stripping), joined with ", " - for $e911(device_location). For a request
 * from outside the trust domain, a by-reference value (any scheme but
 * cid:) is kept only when geolocation_allow allows its URI, and a
 * malformed header is removed; loc-src is stripped from untrusted requests
 * (trust_loc_src 0). Headers are rewritten (or removed) with lumps, once
 * per message even when called again (a failure route). Returns the number
 * of values kept (0 none, -1 malformed and kept: trusted requests). */
int e911_device_location(sip_msg_t *msg, str *values);

/* Forgets the per-process answer of e911_device_location(), so the next
 * call reads msg again (a retry whose earlier lumps are gone). */
void e911_device_location_reset(void);

#endif
