/*
 * e911 module - is a record a dispatchable location?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * 47 CFR 9.3: a dispatchable location is "the validated street address of
 * the calling party, plus additional information such as suite, apartment or
 * similar information necessary to adequately identify the location". Here:
 * the record says it was validated, it has a street address (country, A1,
 * A3, RD and HNO), and when the record says the site has several floors or
 * units, the floor or the unit/room/seat is there too.
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_DISPATCHABLE_H
#define E911_DISPATCHABLE_H

#include "e911_record.h"

#define E911_DISPATCHABLE 1
#define E911_NOT_VALIDATED -1
#define E911_NO_STREET -2
#define E911_NO_FLOOR -3
#define E911_NO_UNIT -4

/* Checks rec; returns E911_DISPATCHABLE or the first reason it is not. */
int e911_dispatchable(const e911_record_t *rec);

/* A short text for a e911_dispatchable() result ("ok", "not validated",
 * "no street address", "floor missing", "unit missing"). */
const char *e911_dispatchable_reason(int rc);

#endif
