/*
 * e911 module - $e911(name): the lookup, the classification and the check, for scripts
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../core/dprint.h"
#include "e911_ksr_compat.h"

#include "core/e911_pidf.h"
#include "e911_classify.h"
#include "e911_device_location.h"
#include "e911_invite_rewrite.h"
#include "e911_lookup.h"
#include "e911_pv.h"
#include "e911_register_check.h"
#include "e911_location_precedence.h"

enum
{
	PVN_STATUS = 1,
	PVN_SOURCE,
	PVN_AGE,
	PVN_KEY,
	PVN_CALLBACK,
	PVN_ROUTE,
	PVN_ADDRESS,
	PVN_PIDF,
	PVN_VALIDATED,
	PVN_LAT,
	PVN_LON,
	PVN_RADIUS,
	PVN_UPDATED,
	PVN_CLASS,
	PVN_SERVICE,
	PVN_DEVICE_LOCATION,
	PVN_ENDPOINT_ID,
	PVN_MOVED,
	PVN_CHECK,
	PVN_ROUTE_REASON,
	PVN_LOOKUP_SECONDS,
	PVN_WHY,
	PVN_SITE,
	PVN_NETWORK,
	PVN_CONFLICT,
	PVN_LOOKUP_SOURCE,
	PVN_CIVIC = 1000 /* + civic field */
};

static const struct
{
	const char *name;
	int id;
} pv_names[] = {{"status", PVN_STATUS}, {"source", PVN_SOURCE},
		{"age", PVN_AGE}, {"key", PVN_KEY}, {"callback", PVN_CALLBACK},
		{"route", PVN_ROUTE}, {"address", PVN_ADDRESS}, {"pidf", PVN_PIDF},
		{"validated", PVN_VALIDATED}, {"lat", PVN_LAT}, {"lon", PVN_LON},
		{"radius", PVN_RADIUS}, {"updated_at", PVN_UPDATED},
		{"class", PVN_CLASS}, {"service", PVN_SERVICE},
		{"device_location", PVN_DEVICE_LOCATION},
		{"endpoint_id", PVN_ENDPOINT_ID}, {"moved", PVN_MOVED},
		{"check", PVN_CHECK}, {"route_reason", PVN_ROUTE_REASON},
		{"lookup_seconds", PVN_LOOKUP_SECONDS}, {"why", PVN_WHY},
		{"site", PVN_SITE}, {"network", PVN_NETWORK},
		{"conflict", PVN_CONFLICT}, {"lookup_source", PVN_LOOKUP_SOURCE},
		{NULL, 0}};

int e911_pv_parse_name(pv_spec_p sp, str *in)
{
	int i;
	int f;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	for(i = 0; pv_names[i].name; i++) {
		if(strlen(pv_names[i].name) == (size_t)in->len
				&& strncmp(pv_names[i].name, in->s, in->len) == 0)
			break;
	}
	if(pv_names[i].name) {
		f = pv_names[i].id;
	} else {
		f = e911_civic_field(in->s, in->len);
		if(f < 0) {
			LM_ERR("e911: unknown $e911(%.*s)\n", in->len, in->s);
			return -1;
		}
		f += PVN_CIVIC;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	sp->pvp.pvn.u.isname.name.n = f;
	return 0;
}

static int pv_get_cstr(
		sip_msg_t *msg, pv_param_t *param, pv_value_t *res, const char *v)
{
	str s;

	if(v == NULL)
		return pv_get_null(msg, param, res);
	s.s = (char *)v;
	s.len = strlen(v);
	return pv_get_strval(msg, param, res, &s);
}

int e911_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char buf[E911_PIDF_MAX];
	e911_loc_t *loc;
	e911_pidf_opts_t opts;
	const e911_call_location_t *cl = NULL;
	str s;
	int id = param->pvn.u.isname.name.n;

	if(id == PVN_CLASS || id == PVN_SERVICE) {
		e911_class_t c;

		if(e911_classify_for_script(msg, &c) < 0)
			return pv_get_null(msg, param, res);
		if(id == PVN_CLASS)
			return pv_get_sintval(msg, param, res, c.cls);
		return pv_get_cstr(msg, param, res, c.urn);
	}
	if(msg && msg->first_line.type == SIP_REQUEST
			&& msg->REQ_METHOD == METHOD_INVITE && id != PVN_CLASS
			&& id != PVN_SERVICE && id != PVN_DEVICE_LOCATION && id != PVN_CHECK
			&& id != PVN_LOOKUP_SOURCE) {
		/* an emergency call: which location it carries, and why */
		cl = e911_call_location(msg, e911_loc_get(msg));
	}
	if(id == PVN_WHY || id == PVN_SITE || id == PVN_NETWORK
			|| id == PVN_CONFLICT) {
		if(cl == NULL)
			return pv_get_null(msg, param, res);
		if(id == PVN_WHY)
			return pv_get_cstr(msg, param, res, cl->out.why);
		if(id == PVN_SITE)
			return pv_get_cstr(
					msg, param, res, cl->has_site ? cl->site.id : NULL);
		if(id == PVN_NETWORK)
			return pv_get_cstr(
					msg, param, res, cl->has_network ? cl->network.text : NULL);
		return pv_get_sintval(msg, param, res, cl->out.conflict);
	}
	if(id == PVN_MOVED && cl != NULL) {
		if(cl->out.moved < 0)
			return pv_get_null(msg, param, res);
		return pv_get_sintval(msg, param, res, cl->out.moved);
	}
	if(id == PVN_MOVED || id == PVN_CHECK) {
		const char *reason;
		int moved;

		if(e911_register_check_result(msg, &reason, &moved) < 0)
			return pv_get_null(msg, param, res);
		if(id == PVN_CHECK)
			return pv_get_cstr(msg, param, res, reason);
		if(moved < 0)
			return pv_get_null(msg, param, res);
		return pv_get_sintval(msg, param, res, moved);
	}
	if(id == PVN_DEVICE_LOCATION) {
		if(msg == NULL || e911_device_location(msg, &s) <= 0)
			return pv_get_null(msg, param, res);
		return pv_get_strval(msg, param, res, &s);
	}
	loc = e911_loc_get(msg);
	if(id == PVN_ROUTE) {
		e911_route_target(loc, &s);
		return pv_get_strval(msg, param, res, &s);
	}
	if(loc == NULL)
		return pv_get_null(msg, param, res);
	switch(id) {
		case PVN_STATUS:
			return pv_get_cstr(msg, param, res, e911_status_name(loc->status));
		case PVN_SOURCE:
			/* a call: the source that won; else where the lookup answered */
			if(cl != NULL)
				return pv_get_cstr(
						msg, param, res, e911_locsrc_name(cl->out.winner));
			return pv_get_cstr(msg, param, res, e911_source_name(loc->source));
		case PVN_LOOKUP_SOURCE:
			return pv_get_cstr(msg, param, res, e911_source_name(loc->source));
		case PVN_KEY:
			return pv_get_cstr(msg, param, res, loc->key);
		case PVN_ROUTE_REASON:
			return pv_get_cstr(msg, param, res, loc->route_reason);
		case PVN_LOOKUP_SECONDS:
			snprintf(buf, sizeof(buf), "%ld.%03ld", loc->lookup_ms / 1000,
					loc->lookup_ms % 1000);
			return pv_get_cstr(msg, param, res, buf);
		case PVN_AGE:
			if(loc->rec == NULL)
				return pv_get_null(msg, param, res);
			return pv_get_sintval(
					msg, param, res, (int)(time(NULL) - loc->fetched_at));
	}
	if(loc->rec == NULL)
		return pv_get_null(msg, param, res);
	switch(id) {
		case PVN_CALLBACK:
			return pv_get_cstr(
					msg, param, res, e911_rec_get(loc->rec, E911_F_CALLBACK));
		case PVN_ENDPOINT_ID:
			return pv_get_cstr(msg, param, res,
					e911_rec_get(loc->rec, E911_F_ENDPOINT_ID));
		case PVN_UPDATED:
			return pv_get_cstr(
					msg, param, res, e911_rec_get(loc->rec, E911_F_UPDATED));
		case PVN_ADDRESS:
			if(e911_address_line(loc->rec, buf, sizeof(buf)) < 0)
				return pv_get_null(msg, param, res);
			return pv_get_cstr(msg, param, res, buf);
		case PVN_PIDF:
			opts = e911_pidf_options(e911_rewrite_cfg.domain.s, time(NULL));
			if(e911_pidf_render(loc->rec, &opts, buf, sizeof(buf)) < 0)
				return pv_get_null(msg, param, res);
			return pv_get_cstr(msg, param, res, buf);
		case PVN_VALIDATED:
			return pv_get_sintval(msg, param, res,
					(loc->rec->flags & E911_REC_VALIDATED) ? 1 : 0);
		case PVN_LAT:
		case PVN_LON:
		case PVN_RADIUS:
			if(!(loc->rec->flags & E911_REC_HAS_GEO))
				return pv_get_null(msg, param, res);
			snprintf(buf, sizeof(buf), "%.6f",
					id == PVN_LAT	? loc->rec->lat
					: id == PVN_LON ? loc->rec->lon
									: loc->rec->radius_m);
			return pv_get_cstr(msg, param, res, buf);
	}
	if(id >= PVN_CIVIC && id < PVN_CIVIC + E911_CA_COUNT)
		return pv_get_cstr(
				msg, param, res, e911_rec_get(loc->rec, id - PVN_CIVIC));
	return pv_get_null(msg, param, res);
}


static sr_kemi_xval_t kemi_xval;

sr_kemi_xval_t *e911_pv_kemi_get(sip_msg_t *msg, str *name)
{
	pv_spec_t spec;
	pv_value_t val;

	memset(&kemi_xval, 0, sizeof(kemi_xval));
	memset(&spec, 0, sizeof(spec));
	if(name == NULL || e911_pv_parse_name(&spec, name) < 0
			|| e911_pv_get(msg, &spec.pvp, &val) < 0
			|| (val.flags & PV_VAL_NULL)) {
		sr_kemi_xval_null(&kemi_xval, SR_KEMI_XVAL_NULL_NONE);
		return &kemi_xval;
	}
	if(val.flags & PV_TYPE_INT) {
		E911_KEMI_XVAL_SET_INT(&kemi_xval, val.ri);
	} else {
		kemi_xval.vtype = SR_KEMIP_STR;
		kemi_xval.v.s = val.rs;
	}
	return &kemi_xval;
}
