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
 * (RFC 8787), and they are exposed as $e911(device_location).
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
} e911_device_location_cfg_t;

extern e911_device_location_cfg_t e911_device_location_cfg;

/* mod_init: checks the modparams. 0 or -1. */
int e911_device_location_init(void);

/* The device's own Geolocation values (after loc-src stripping), joined
 * with ", " - for $e911(device_location). Strips loc-src from untrusted
 * requests (trust_loc_src 0) by rewriting those header lines. Returns the
 * number of values found (0 none, -1 malformed: left untouched). */
int e911_device_location(sip_msg_t *msg, str *values);

#endif
