/*
 * e911 module - is a caller ready for an emergency call?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>

#include "e911_cidr.h"
#include "e911_dispatchable.h"
#include "e911_readiness.h"

static const struct
{
	const char *name;
	const char *text;
} findings[E911_RDY_COUNT] = {
		{"service_error", "the location service did not answer"},
		{"no_record", "no location record: calls go to the fallback route "
					  "without a location"},
		{"not_validated", "the address is not validated"},
		{"no_street", "no street address (country, state, city, street, "
					  "number)"},
		{"missing_floor", "the site has several floors: the floor is "
						  "missing"},
		{"missing_unit", "the site has several units: unit, room or seat is "
						 "missing"},
		{"outdated", "updated_at is older than the allowed age"},
		{"outside_networks", "registered from outside the record's "
							 "networks: the caller may have moved"},
		{"no_updated_at", "the record has no updated_at: its age is "
						  "unknown"},
};

const char *e911_readiness_name(int i)
{
	return i >= 0 && i < E911_RDY_COUNT ? findings[i].name : "?";
}

const char *e911_readiness_text(int i)
{
	return i >= 0 && i < E911_RDY_COUNT ? findings[i].text : "?";
}

const char *e911_readiness_verdict(unsigned f)
{
	int i;

	for(i = 0; i < E911_RDY_COUNT; i++)
		if(f & (1u << i))
			return findings[i].name;
	return "ready";
}

unsigned e911_readiness_judge(const e911_readiness_in_t *in)
{
	const e911_record_t *rec = in->rec;
	const char *nets;
	unsigned f = 0;
	int inside = 0;
	int i;

	if(in->status == E911_FETCH_NOTFOUND)
		return E911_RDY_NO_RECORD;
	if(in->status != E911_FETCH_OK || rec == NULL)
		return E911_RDY_SERVICE_ERROR;
	switch(e911_dispatchable(rec)) {
		case E911_NOT_VALIDATED:
			f |= E911_RDY_NOT_VALIDATED;
			break;
		case E911_NO_STREET:
			f |= E911_RDY_NO_STREET;
			break;
		case E911_NO_FLOOR:
			f |= E911_RDY_NO_FLOOR;
			break;
		case E911_NO_UNIT:
			f |= E911_RDY_NO_UNIT;
			break;
		default:
			break;
	}
	/* e911_dispatchable() stops at the first reason: a record can miss
	 * both the floor and the unit */
	if((f & E911_RDY_NO_FLOOR) && (rec->flags & E911_REC_MULTI_UNIT)
			&& !e911_rec_get(rec, E911_CA_UNIT)
			&& !e911_rec_get(rec, E911_CA_ROOM)
			&& !e911_rec_get(rec, E911_CA_SEAT))
		f |= E911_RDY_NO_UNIT;
	if(in->max_age_days > 0) {
		if(rec->updated_at == 0)
			f |= E911_RDY_NO_UPDATED;
		else if(in->now - rec->updated_at > (int64_t)in->max_age_days * 86400)
			f |= E911_RDY_OUTDATED;
	}
	nets = e911_rec_get(rec, E911_F_NETWORKS);
	if(nets && in->naddrs > 0) {
		for(i = 0; i < in->naddrs && !inside; i++)
			inside = in->addrs[i]
					 && e911_cidr_contains(
								nets, in->addrs[i], strlen(in->addrs[i]))
								== 1;
		if(!inside)
			f |= E911_RDY_OFF_NETWORK;
	}
	return f;
}

int e911_readiness_site(const e911_record_t *rec, char *buf, size_t size)
{
	const char *nam = e911_rec_get(rec, E911_CA_NAM);
	const char *bld = e911_rec_get(rec, E911_CA_BLD);
	const char *hno = e911_rec_get(rec, E911_CA_HNO);
	const char *rd = e911_rec_get(rec, E911_CA_RD);
	const char *a3 = e911_rec_get(rec, E911_CA_A3);
	int n;

	if(size == 0)
		return 0;
	if(nam || bld)
		n = snprintf(buf, size, "%s%s%s", nam ? nam : "",
				nam && bld ? ", " : "", bld ? bld : "");
	else if(rd)
		n = snprintf(buf, size, "%s%s%s%s%s", hno ? hno : "", hno ? " " : "",
				rd, a3 ? ", " : "", a3 ? a3 : "");
	else
		n = snprintf(buf, size, "(no civic address)");
	if(n < 0)
		n = 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}
