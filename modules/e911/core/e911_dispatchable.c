/*
 * e911 module - is a record a dispatchable location?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>

#include "e911_dispatchable.h"

int e911_dispatchable(const e911_record_t *rec)
{
	static const int street[] = {
			E911_CA_COUNTRY, E911_CA_A1, E911_CA_A3, E911_CA_RD, E911_CA_HNO};
	size_t i;

	if(!(rec->flags & E911_REC_VALIDATED))
		return E911_NOT_VALIDATED;
	for(i = 0; i < sizeof(street) / sizeof(street[0]); i++) {
		if(e911_rec_get(rec, street[i]) == NULL)
			return E911_NO_STREET;
	}
	if((rec->flags & E911_REC_MULTI_FLOOR)
			&& e911_rec_get(rec, E911_CA_FLR) == NULL)
		return E911_NO_FLOOR;
	if((rec->flags & E911_REC_MULTI_UNIT)
			&& e911_rec_get(rec, E911_CA_UNIT) == NULL
			&& e911_rec_get(rec, E911_CA_ROOM) == NULL
			&& e911_rec_get(rec, E911_CA_SEAT) == NULL)
		return E911_NO_UNIT;
	return E911_DISPATCHABLE;
}

const char *e911_dispatchable_reason(int rc)
{
	switch(rc) {
		case E911_DISPATCHABLE:
			return "ok";
		case E911_NOT_VALIDATED:
			return "not validated";
		case E911_NO_STREET:
			return "no street address";
		case E911_NO_FLOOR:
			return "floor missing";
		case E911_NO_UNIT:
			return "unit missing";
		default:
			return "unknown";
	}
}
