/*
 * e911 module - e911.explain: what a call from a caller would get now
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * kamcmd e911.explain <key> [dialled] [source-ip] [fetch]
 *
 * The decision a call would get, without placing one: the dial plan's
 * classification, where the location comes from (core/e911_explain.c),
 * the route and why (core/e911_route_choice.c), the headers and the
 * PIDF-LO exactly as the INVITE rewrite builds them (the same functions of
 * e911_invite_rewrite.c), and the module's own dispatchability check.
 * Nothing here writes the audit trail, queues a notification, updates the
 * cache (e911_cache_peek) or the lookup counters; the service is asked only
 * with "fetch" (its answer is not cached either: a call still asks).
 */

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/dprint.h"

#include "core/e911_cidr.h"
#include "core/e911_dialplan.h"
#include "core/e911_dispatchable.h"
#include "core/e911_explain.h"
#include "core/e911_pidf.h"
#include "core/e911_route_choice.h"
#include "core/e911_time.h"
#include "e911_by_reference.h"
#include "e911_classify.h"
#include "e911_device_location.h"
#include "e911_invite_rewrite.h"
#include "e911_lookup.h"
#include "e911_explain.h"

#define DEFAULT_DIALLED "911"

/* 1 when s is an IPv4 or IPv6 address (no port, no brackets) */
static int ip_ok(const str *s)
{
	char b[64];
	unsigned char a[16];

	if(s->len <= 0 || s->len >= (int)sizeof(b))
		return 0;
	memcpy(b, s->s, s->len);
	b[s->len] = '\0';
	return inet_pton(AF_INET, b, a) == 1 || inet_pton(AF_INET6, b, a) == 1;
}

static const char *class_name(int cls)
{
	return cls == E911_DIAL_EMERGENCY ? "emergency"
		   : cls == E911_DIAL_TEST	  ? "test"
									  : "none";
}

static json_t *strn(const char *s, int len)
{
	return json_stringn(s ? s : "", s ? (size_t)len : 0);
}

/* record facts an operator checks: address, updated_at and its age,
 * validated, networks */
static void add_record(json_t *o, const e911_record_t *rec, int64_t now)
{
	char addr[512];
	const char *v;
	json_t *r = json_object();

	if(e911_address_line(rec, addr, sizeof(addr)) >= 0)
		json_object_set_new(r, "address", json_string(addr));
	v = e911_rec_get(rec, E911_F_UPDATED);
	json_object_set_new(r, "updated_at", json_string(v ? v : ""));
	if(rec->updated_at > 0)
		json_object_set_new(r, "updated_days_ago",
				json_integer((now - rec->updated_at) / 86400));
	json_object_set_new(r, "validated",
			json_string(rec->flags & E911_REC_VALIDATED ? "yes" : "no"));
	v = e911_rec_get(rec, E911_F_NETWORKS);
	json_object_set_new(r, "networks", json_string(v ? v : ""));
	v = e911_rec_get(rec, E911_F_CALLBACK);
	json_object_set_new(r, "callback", json_string(v ? v : ""));
	json_object_set_new(o, "record", r);
}

static const char *network_verdict(const e911_record_t *rec, str *ip)
{
	const char *nets = e911_rec_get(rec, E911_F_NETWORKS);

	if(nets == NULL)
		return "the record lists no networks: not judged";
	return e911_cidr_contains(nets, ip->s, ip->len) == 1
				   ? "inside the record's networks"
				   : "outside the record's networks: the caller may have "
					 "moved";
}

/* Route, headers and PIDF-LO as the rewrite makes them for rec (NULL: the
 * fallback). */
static int add_rewrite(json_t *o, const e911_record_t *rec,
		const e911_class_t *cls, int64_t now, const char **err)
{
	static char pidf[E911_PIDF_MAX];
	char hdrs[2048];
	char cid[256];
	char ref[512];
	e911_buf_t h;
	e911_route_kind_t kind;
	json_t *r = json_object();
	str uri;
	int by_value;
	int by_ref;
	int cidlen;
	int n;

	e911_route_target_for(rec, cls->cls == E911_DIAL_TEST, &uri);
	kind = e911_route_choose(rec, cls->cls == E911_DIAL_TEST,
			e911_rewrite_cfg.test_route.len > 0,
			e911_rewrite_cfg.default_route.len > 0);
	json_object_set_new(r, "reason", json_string(e911_route_kind_name(kind)));
	json_object_set_new(r, "why", json_string(e911_route_kind_why(kind)));
	if(rec && e911_rewrite_cfg.ng911) {
		/* NG9-1-1: the service URN is the Request-URI, the route the
		 * next hop */
		json_object_set_new(r, "request_uri",
				json_string(cls->urn ? cls->urn : "urn:service:sos"));
		json_object_set_new(r, "next_hop", strn(uri.s, uri.len));
	} else {
		json_object_set_new(r, "request_uri", strn(uri.s, uri.len));
	}
	json_object_set_new(o, "route", r);

	if(rec == NULL) {
		json_object_set_new(o, "headers", json_string(E911_FALLBACK_HEADERS));
		json_object_set_new(o, "conveyance", json_string("none"));
		return 0;
	}
	e911_rewrite_conveyance(NULL, &by_value, &by_ref);
	json_object_set_new(o, "conveyance",
			json_string(by_value && by_ref ? "value and reference"
						: by_ref		   ? "reference"
										   : "value"));
	cidlen = e911_rewrite_new_content_id(cid, sizeof(cid));
	if(cidlen < 0) {
		*err = "Content-ID does not fit";
		return 500;
	}
	if(by_ref) {
		/* a call issues a live token; explain does not (no side
		 * effects): the token's place is shown */
		n = snprintf(
				ref, sizeof(ref), "%s{token}", e911_reference_cfg.base_url);
		if(n < 0 || n >= (int)sizeof(ref))
			by_ref = 0;
	}
	e911_buf_init(&h, hdrs, sizeof(hdrs));
	e911_rewrite_headers(rec, cid, cidlen, by_value, by_ref ? ref : NULL, &h);
	if(h.failed) {
		*err = "the headers do not fit";
		return 500;
	}
	json_object_set_new(o, "headers", json_stringn(hdrs, h.pos));
	json_object_set_new(o, "content_id", json_string(cid));
	json_object_set_new(o, "note",
			json_string("the Content-ID (and the multipart boundary) are "
						"drawn at random for every call"
						"; with a body, the call's Content-Type becomes "
						"multipart/mixed"));
	if(by_value) {
		n = e911_rewrite_pidf(rec, (time_t)now, pidf, sizeof(pidf));
		if(n < 0) {
			*err = "the record cannot be rendered as a PIDF-LO";
			return 500;
		}
		json_object_set_new(o, "pidf", json_stringn(pidf, n));
	}
	return 0;
}

int e911_explain(str *key, str *dialled, str *source_ip, int fetch,
		json_t **out, const char **err)
{
	static uint64_t cbuf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	static char msgbuf[400];
	str dflt = str_init(DEFAULT_DIALLED);
	e911_explain_in_t in;
	e911_explain_loc_t loc;
	e911_cache_res_t cres;
	e911_fetch_res_t fres;
	e911_class_t cls;
	char when[40];
	json_t *o;
	json_t *l;
	json_t *trail;
	int rc;
	int i;
	int d;

	*out = NULL;
	if(key == NULL || key->len <= 0) {
		*err = "Missing key";
		return 400;
	}
	if(!e911_key_usable(key->s, (size_t)key->len)) {
		*err = "Invalid key (empty, '.', '..' or over 255 bytes)";
		return 400;
	}
	if(source_ip && source_ip->len > 0 && !ip_ok(source_ip)) {
		*err = "Malformed source IP (an IPv4 or IPv6 address, no port)";
		return 400;
	}
	if(dialled == NULL || dialled->len <= 0)
		dialled = &dflt;
	cls = e911_classify_string(dialled, NULL);

	o = json_object();
	json_object_set_new(o, "key", strn(key->s, key->len));
	json_object_set_new(o, "dialled", strn(dialled->s, dialled->len));
	json_object_set_new(o, "class", json_string(class_name(cls.cls)));
	if(cls.cls == E911_DIAL_NONE) {
		json_object_set_new(o, "decision",
				json_string("not an emergency call: relayed untouched (no "
							"lookup, no location, no emergency headers)"));
		*out = o;
		return 0;
	}
	json_object_set_new(o, "service", json_string(cls.urn ? cls.urn : ""));

	memset(&in, 0, sizeof(in));
	memset(&fres, 0, sizeof(fres));
	in.now = (int64_t)time(NULL);
	in.timeout_ms = e911_lookup_cfg.param.timeout_ms;
	in.cache_state = e911_cache_peek(
			e911_cache, key->s, key->len, in.now, &cres, cbuf, sizeof(cbuf));
	in.cache_origin = cres.origin;
	in.cache_fetched_at = cres.fetched_at;
	in.cache_fresh_until = cres.fresh_until;
	in.cached = cres.rec;
	if(fetch && in.cache_state != E911_CS_FRESH
			&& in.cache_state != E911_CS_NEGATIVE) {
		e911_service_fetch(key, &fres);
		in.fetched = 1;
		in.fetch_status = fres.status;
		in.fetched_rec = fres.rec;
		in.fetch_error = fres.err;
	}
	in.service_available = e911_service_available();
	e911_explain_location(&in, &loc);

	if(loc.status == E911_LOC_NONE) {
		str fb = e911_rewrite_cfg.fallback_route;
		snprintf(msgbuf, sizeof(msgbuf),
				"No location record for '%.*s': a call would go to the "
				"fallback route %.*s without location",
				key->len > 64 ? 64 : key->len, key->s, fb.len, fb.s);
		*err = msgbuf;
		json_decref(o);
		free(fres.rec);
		return 404;
	}

	l = json_object();
	json_object_set_new(
			l, "status", json_string(e911_explain_status_name(loc.status)));
	json_object_set_new(l, "source", json_string(e911_source_name(loc.source)));
	json_object_set_new(l, "age", json_integer(loc.age));
	trail = json_array();
	json_array_append_new(trail,
			json_string(e911_device_location_cfg.prefer_device
								? "device: a Geolocation the caller's INVITE "
								  "carries is used instead of ours "
								  "(location_preference device)"
								: "device: a Geolocation the caller's INVITE "
								  "carries is kept, ours added after it"));
	for(i = 0; i < loc.ntrail; i++)
		json_array_append_new(trail, json_string(loc.trail[i]));
	json_object_set_new(l, "trail", trail);
	json_object_set_new(o, "location", l);
	json_object_set_new(o, "fetched", json_string(in.fetched ? "yes" : "no"));

	if(loc.rec) {
		add_record(o, loc.rec, in.now);
		d = e911_dispatchable(loc.rec);
		json_object_set_new(o, "dispatchable",
				json_string(d == E911_DISPATCHABLE ? "yes" : "no"));
		json_object_set_new(o, "dispatchable_reason",
				json_string(e911_dispatchable_reason(d)));
		if(source_ip && source_ip->len > 0) {
			json_object_set_new(
					o, "source_ip", strn(source_ip->s, source_ip->len));
			json_object_set_new(o, "source_ip_verdict",
					json_string(network_verdict(loc.rec, source_ip)));
		}
	} else {
		json_object_set_new(o, "dispatchable", json_string("no"));
		json_object_set_new(
				o, "dispatchable_reason", json_string("no location"));
	}

	rc = add_rewrite(o, loc.rec, &cls, in.now, err);
	free(fres.rec);
	if(rc != 0) {
		json_decref(o);
		return rc;
	}
	if(e911_time_format(in.now, when, sizeof(when)) >= 0)
		json_object_set_new(o, "rendered_at", json_string(when));
	if(loc.status == E911_EXPLAIN_ASK)
		json_object_set_new(o, "decision",
				json_string(loc.rec ? "a call would ask the location service "
									  "first; route and location below are "
									  "those used if it fails (add 'fetch' "
									  "to ask it)"
									: "a call would ask the location service "
									  "first; without an answer it goes to "
									  "the fallback route (add 'fetch' to "
									  "ask it)"));
	else if(loc.rec)
		json_object_set_new(
				o, "decision", json_string("routed with the location below"));
	else
		json_object_set_new(o, "decision",
				json_string("no location: routed to the fallback route"));
	*out = o;
	return 0;
}

/* --- RPC --- */

/* one JSON value into an RPC struct (name) or array (name NULL) */
static void rpc_put(rpc_t *rpc, void *h, const char *name, json_t *v)
{
	void *sub;
	const char *k;
	json_t *e;
	size_t i;

	switch(json_typeof(v)) {
		case JSON_OBJECT:
			if((name ? rpc->struct_add(h, "{", name, &sub)
					 : rpc->array_add(h, "{", &sub))
					< 0)
				return;
			json_object_foreach(v, k, e) rpc_put(rpc, sub, k, e);
			break;
		case JSON_ARRAY:
			if((name ? rpc->struct_add(h, "[", name, &sub)
					 : rpc->array_add(h, "[", &sub))
					< 0)
				return;
			json_array_foreach(v, i, e) rpc_put(rpc, sub, NULL, e);
			break;
		case JSON_INTEGER:
			if(name)
				rpc->struct_add(h, "d", name, (int)json_integer_value(v));
			else
				rpc->array_add(h, "d", (int)json_integer_value(v));
			break;
		default:
			if(name)
				rpc->struct_add(h, "s", name,
						json_is_string(v) ? json_string_value(v) : "");
			else
				rpc->array_add(
						h, "s", json_is_string(v) ? json_string_value(v) : "");
			break;
	}
}

/* an optional string parameter; kamcmd sends digits as a number */
static int scan_opt(rpc_t *rpc, void *c, str *s, char *buf, size_t size)
{
	int num;

	if(rpc->scan(c, "*S", s) == 1)
		return 1;
	if(rpc->scan(c, "*d", &num) == 1) {
		s->len = snprintf(buf, size, "%d", num);
		s->s = buf;
		return 1;
	}
	return 0;
}

static const char *e911_rpc_explain_doc[] = {
		"What a call from <key> dialling [dialled] (911) from [source-ip] "
		"would get now, without placing one and without side effects: "
		"classification, location source and trail, route and why, the "
		"exact headers and PIDF-LO, dispatchability. Add 'fetch' to ask "
		"the location service when the cache cannot answer.",
		0};

static void e911_rpc_explain(rpc_t *rpc, void *c)
{
	char b[5][32];
	str p[5];
	str *dialled = NULL;
	str *ip = NULL;
	const char *err = "Internal error";
	json_t *o;
	void *th;
	const char *k;
	json_t *v;
	int fetch = 0;
	int n = 0;
	int i;
	int rc;

	/* one more than the four accepted, to refuse it */
	while(n < 5 && scan_opt(rpc, c, &p[n], b[n], sizeof(b[n])) == 1)
		n++;
	if(n == 0) {
		rpc->fault(c, 400, "Missing key");
		return;
	}
	/* key, then dialled and source-ip in that order; 'fetch' anywhere */
	for(i = 1; i < n; i++) {
		if(p[i].len == 5 && strncasecmp(p[i].s, "fetch", 5) == 0)
			fetch = 1;
		else if(dialled == NULL)
			dialled = &p[i];
		else if(ip == NULL)
			ip = &p[i];
		else {
			rpc->fault(c, 400, "Too many parameters");
			return;
		}
	}
	rc = e911_explain(&p[0], dialled, ip, fetch, &o, &err);
	if(rc != 0) {
		rpc->fault(c, rc, "%s", err);
		return;
	}
	if(rpc->add(c, "{", &th) < 0) {
		json_decref(o);
		return;
	}
	json_object_foreach(o, k, v) rpc_put(rpc, th, k, v);
	json_decref(o);
}

/* clang-format off */
rpc_export_t e911_explain_rpc[] = {
	{"e911.explain", e911_rpc_explain, e911_rpc_explain_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */

/* --- KEMI --- */

sr_kemi_xval_t *e911_explain_kemi(
		sip_msg_t *msg, str *key, str *dialled, str *source_ip)
{
	static sr_kemi_xval_t xv;
	static char *text;
	const char *err = "Internal error";
	json_t *o = NULL;
	int rc;

	memset(&xv, 0, sizeof(xv));
	free(text);
	text = NULL;
	rc = e911_explain(key, dialled, source_ip, 0, &o, &err);
	if(rc != 0) {
		o = json_object();
		json_object_set_new(o, "error", json_string(err));
		json_object_set_new(o, "code", json_integer(rc));
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if(text == NULL) {
		sr_kemi_xval_null(&xv, SR_KEMI_XVAL_NULL_NONE);
		return &xv;
	}
	xv.vtype = SR_KEMIP_STR;
	xv.v.s.s = text;
	xv.v.s.len = strlen(text);
	return &xv;
}
