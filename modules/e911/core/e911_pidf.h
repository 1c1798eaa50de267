/*
 * e911 module - PIDF-LO and dispatchable address rendering
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Renders a location record as a PIDF-LO document (RFC 4119, RFC 4479,
 * RFC 5139, RFC 5491, RFC 6848) and as one readable address line.
 *
 * The document is tuple-based: the civic tuple first, the geodetic tuple
 * second (gml:Point, or gs:Circle when the record has a radius), one geopriv
 * each, usage-rules with retransmission-allowed true and retention-expiry,
 * method (Manual unless the options name another token), and a timestamp. Every value is XML-escaped.
 *
 * Rendering writes into a caller buffer and never allocates.
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_PIDF_H
#define E911_PIDF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "e911_record.h"

/* Size of a buffer that always holds a rendered document. The worst case
 * is every field at E911_VALUE_MAX bytes of characters that escape to six
 * (&quot;): 35 * 255 * 6 = 53550 bytes of values plus about 3 KiB of
 * markup (test_pidf.c checks it). Typical documents are about 2 KiB. */
#define E911_PIDF_MAX 65536

typedef struct e911_pidf_opts
{
	/* entity is "pres:" + (callback, else key, else "unknown") + "@" +
	 * domain; domain must be a plain host name */
	const char *domain;
	/* used for <timestamp> when the record has no updated_at */
	time_t now;
	/* seconds added to the timestamp for gbp:retention-expiry (86400) */
	long retention_s;
	/* IANA method token (RFC 4119 registry) of <gp:method>; NULL or a
	 * value that is not a plain token means "Manual" */
	const char *method;
} e911_pidf_opts_t;

/* seconds from <timestamp> to gbp:retention-expiry: one day */
#define E911_PIDF_RETENTION_S 86400

/* The options every document of the module is rendered with: entity host
 * domain, timestamp now when the record has none, a day's retention. */
e911_pidf_opts_t e911_pidf_options(const char *domain, time_t now);

/* Renders rec as a PIDF-LO document into buf (NUL-terminated).
 * Returns the document length, or -1 when it does not fit or the record has
 * neither civic nor geodetic data. */
int e911_pidf_render(const e911_record_t *rec, const e911_pidf_opts_t *opts,
		char *buf, size_t size);

/* Renders the dispatchable address on one line, for people and logs at debug
 * level, e.g. "100 Main St, Tower B, Floor 3, Suite 315, Room 315, Chicago,
 * IL 60601, US" (geo-only: "41.881900,-87.627800 (+/-25 m)").
 * Returns the length written (truncated to fit), or -1 when size is 0. */
int e911_address_line(const e911_record_t *rec, char *buf, size_t size);


#endif
