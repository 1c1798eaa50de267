/*
 * e911 module - RFC 3339 times
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Formats and parses RFC 3339 date-times from a proleptic Gregorian day
 * count: no locale, no time zone database, no clock. (Hand-written rather
 * than strftime/timegm: the format runs on every emergency call's
 * PIDF-LO, and timegm is a GNU extension whose range checks differ.)
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_TIME_H
#define E911_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Formats unix time t as RFC 3339 UTC ("2026-11-20T10:00:00Z") into buf
 * (at least 21 bytes). Returns the length or -1. */
int e911_time_format(int64_t t, char *buf, size_t size);

/* Parses an RFC 3339 date-time (with 'Z' or a numeric offset, optional
 * fraction) into unix seconds. Returns 0 on success, -1 otherwise. */
int e911_time_parse(const char *s, size_t len, int64_t *out);

#endif
