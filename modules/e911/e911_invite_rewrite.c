/*
 * e911 module - rewriting the emergency INVITE
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Everything that can fail for a reason other than memory (rendering the
 * PIDF-LO, planning the body) happens before the first lump is added, so a
 * failed rewrite leaves the request as it was and the script still relays
 * it. The body is never rewritten: the multipart framing and our part are
 * inserted around the original bytes (e911_mime.c), which keeps the SDP
 * byte-identical. Caller-supplied Priority and Geolocation-Routing are
 * replaced, a caller's Geolocation is kept and ours added after it
 * (RFC 6442: add last, never modify).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "../../core/data_lump.h"
#include "../../core/dprint.h"
#include "../../core/dset.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_content.h"
#include "../../core/parser/parse_from.h"
#include "../../core/parser/parse_to.h"
#include "../../core/usr_avp.h"

#include "e911_audit.h"
#include "e911_call_state.h"
#include "e911_by_reference.h"
#include "e911_device_location.h"
#include "e911_location_precedence.h"
#include "e911_psap_callback.h"
#include "core/e911_dialplan.h"
#include "core/e911_mime.h"
#include "e911_classify.h"
#include "e911_msg_edit.h"
#include "core/e911_pidf.h"
#include "core/e911_route_choice.h"
#include "core/e911_text.h"
#include "e911_invite_rewrite.h"

e911_rewrite_cfg_t e911_rewrite_cfg = {
		.param =
				{
						.default_route = "",
						.fallback_route = "",
						.test_route = "",
						.domain = "localhost",
						.callback_uri = "sip",
						.endpoint_id_to = "",
						.profile = "e911-trunk",
						.provider_name = "",
						.provider_id = "",
						.provider_id_series = "",
						.provider_type = "Service Provider",
						.provider_contact = "",
						.provider_language = "en",
						.service_environment = "",
						.service_type = "VOIP",
						.service_mobility = "Unknown",
				},
		.geolocation_routing = 1,
};


/* A SIP/tel/urn URI usable as a route (empty allowed when optional). */
static int check_route_param(const char *name, const char *val, int required)
{
	if(val == NULL || *val == '\0') {
		if(required) {
			LM_ERR("e911: modparam %s is required: an emergency call "
				   "without location needs somewhere to go\n",
					name);
			return -1;
		}
		return 0;
	}
	if(e911_uri_check(val, strlen(val)) < 0) {
		LM_ERR("e911: modparam %s is not a valid sip/sips/tel/urn URI\n", name);
		return -1;
	}
	return 0;
}

static int check_domain(const char *d)
{
	size_t i;
	size_t n = strlen(d);

	if(n == 0 || n > 128)
		return -1;
	for(i = 0; i < n; i++) {
		char c = d[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':'
				   || c == '[' || c == ']'))
			return -1;
	}
	return 0;
}

static void set_str(str *s, char *v)
{
	s->s = v;
	s->len = v ? strlen(v) : 0;
}

int e911_rewrite_init(void)
{
	e911_rewrite_cfg_t *c = &e911_rewrite_cfg;
	char err[160];

	if(check_route_param("test_route", c->param.test_route, 0) < 0
			|| check_route_param("default_route", c->param.default_route, 0) < 0
			|| check_route_param("fallback_route", c->param.fallback_route, 1)
					   < 0)
		return -1;
	if(check_domain(c->param.domain) < 0) {
		LM_ERR("e911: modparam domain must be a host name or address\n");
		return -1;
	}
	if(strcasecmp(c->param.callback_uri, "sip") != 0
			&& strcasecmp(c->param.callback_uri, "tel") != 0) {
		LM_ERR("e911: modparam callback_uri must be \"sip\" or \"tel\"\n");
		return -1;
	}
	set_str(&c->default_route, c->param.default_route);
	set_str(&c->fallback_route, c->param.fallback_route);
	set_str(&c->test_route, c->param.test_route);
	set_str(&c->domain, c->param.domain);
	c->geolocation_routing = c->geolocation_routing ? 1 : 0;
	c->callback_tel = strcasecmp(c->param.callback_uri, "tel") == 0;
	if(c->param.endpoint_id_to[0] == '\0') {
		c->endpoint_to = E911_EPID_NONE;
	} else if(strcasecmp(c->param.endpoint_id_to, "pai") == 0) {
		c->endpoint_to = E911_EPID_PAI;
	} else if(strcasecmp(c->param.endpoint_id_to, "from") == 0) {
		c->endpoint_to = E911_EPID_FROM;
	} else if(strncasecmp(c->param.endpoint_id_to, "header:", 7) == 0
			  && c->param.endpoint_id_to[7]
			  && strspn(c->param.endpoint_id_to + 7,
						 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						 "0123456789-")
						 == strlen(c->param.endpoint_id_to + 7)) {
		c->endpoint_to = E911_EPID_HEADER;
		set_str(&c->endpoint_header, c->param.endpoint_id_to + 7);
	} else {
		LM_ERR("e911: modparam endpoint_id_to must be \"pai\", \"from\" "
			   "or \"header:<Name>\"\n");
		return -1;
	}
	if(strcasecmp(c->param.profile, "ng911") == 0) {
		c->ng911 = 1;
		c->provider.name = c->param.provider_name;
		c->provider.id = c->param.provider_id;
		c->provider.id_series = c->param.provider_id_series;
		c->provider.type = c->param.provider_type;
		c->provider.contact_uri = c->param.provider_contact;
		c->provider.language = c->param.provider_language;
		c->svcinfo.environment = c->param.service_environment;
		c->svcinfo.type = c->param.service_type;
		c->svcinfo.mobility = c->param.service_mobility;
		if(e911_providerinfo_check_settings(&c->provider, err, sizeof(err)) < 0
				|| e911_serviceinfo_check_settings(
						   &c->svcinfo, err, sizeof(err))
						   < 0) {
			LM_ERR("e911: profile ng911 needs provider_name, "
				   "provider_contact (24/7 sip/tel URI) and valid provider_*/"
				   "service_* values: %s\n",
					err);
			return -1;
		}
	} else if(strcasecmp(c->param.profile, "e911-trunk") != 0) {
		LM_ERR("e911: modparam profile must be e911-trunk or ng911\n");
		return -1;
	}
	return 0;
}

/* the message the last rewrite was made for, so it is never applied twice */
static unsigned int routed_msg_id;
static int routed_msg_pid;
static char pidf_buf[E911_PIDF_MAX];

/* The target and why (core/e911_route_choice.c): the record's route, else
 * default_route, else the fallback; test calls go to test_route when one is
 * set. */
static const char *route_target_msg(sip_msg_t *msg, e911_loc_t *loc, str *out)
{
	int test_call = msg && e911_rewrite_cfg.test_route.len > 0
					&& e911_classify_request(msg).cls == E911_DIAL_TEST;

	return e911_route_target_for(loc ? loc->rec : NULL, test_call, out);
}

const char *e911_route_target_for(
		const e911_record_t *rec, int test_call, str *out)
{
	e911_route_kind_t k = e911_route_choose(rec, test_call,
			e911_rewrite_cfg.test_route.len > 0,
			e911_rewrite_cfg.default_route.len > 0);
	const char *r;

	switch(k) {
		case E911_RT_TEST:
			*out = e911_rewrite_cfg.test_route;
			break;
		case E911_RT_RECORD:
			r = e911_rec_get(rec, E911_F_ROUTE);
			out->s = (char *)r;
			out->len = strlen(r);
			break;
		case E911_RT_DEFAULT:
			*out = e911_rewrite_cfg.default_route;
			break;
		default:
			*out = e911_rewrite_cfg.fallback_route;
			break;
	}
	return e911_route_kind_name(k);
}

void e911_route_target(e911_loc_t *loc, str *out)
{
	route_target_msg(NULL, loc, out);
}

static void note_route(e911_loc_t *loc, const char *reason, str *uri)
{
	int n;

	if(loc == NULL)
		return;
	loc->route_reason = reason;
	n = uri->len < (int)sizeof(loc->route_uri) - 1
				? uri->len
				: (int)sizeof(loc->route_uri) - 1;
	memcpy(loc->route_uri, uri->s, n);
	loc->route_uri[n] = '\0';
}

/* n random bytes as 2n lower-case hex characters into out (2n+1 bytes) */
static void random_hex(char *out, size_t n)
{
	unsigned char rnd[32];
	size_t i;

	if(n > sizeof(rnd))
		n = sizeof(rnd);
	if(getrandom(rnd, n, 0) != (ssize_t)n) {
		/* getrandom does not fail for small sizes once the pool is
		 * ready; mix time and a counter in as a last resort */
		static unsigned long ctr;
		unsigned long v = (unsigned long)time(NULL) ^ (++ctr * 2654435761UL);
		for(i = 0; i < n; i++)
			rnd[i] = (unsigned char)(v >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	e911_hex_encode(out, rnd, n);
}

/* Deletes every header named name (case-insensitive), once: a header an
 * earlier lump deletes already (a failure route keeps the request route's
 * lumps) is left to it. Returns 0 or -1. */
static int hdr_remove(sip_msg_t *msg, const char *name)
{
	hdr_field_t *hf;
	size_t nlen = strlen(name);

	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->name.len != (int)nlen || strncasecmp(hf->name.s, name, nlen) != 0
				|| e911_header_deleted(msg, hf))
			continue;
		if(del_lump(msg, hf->name.s - msg->buf, hf->len, 0) == NULL) {
			LM_ERR("e911: cannot remove header %s\n", name);
			return -1;
		}
	}
	return 0;
}

/* Inserts a pkg copy of s[0..len) at offset off of msg. Returns 0 or -1. */
static int insert_at(sip_msg_t *msg, int off, const char *s, size_t len)
{
	return len == 0 ? 0 : e911_replace_at(msg, off, 0, s, len);
}

/* The message body: every byte after the header section, as Kamailio itself
 * reads it (its SDP parser, and the Content-Length it writes when it
 * forwards: msg_translator.c clen_builder()). Over TCP the stream was
 * already cut at Content-Length, so msg->len ends there; over UDP a body
 * longer than its Content-Length (0 included) is forwarded whole with the
 * Content-Length corrected, so that is the body our parts go around - a
 * shorter reading would put them in the middle of it or before it. */
static void msg_body(sip_msg_t *msg, str *body)
{
	body->s = get_body(msg);
	body->len = 0;
	if(body->s == NULL)
		return;
	body->len = msg->len - (int)(body->s - msg->buf);
	if(body->len < 0)
		body->len = 0;
}

static int set_ruri(sip_msg_t *msg, str *ruri)
{
	if(ruri->len <= 0) {
		LM_ERR("e911: no route to rewrite the Request-URI to\n");
		return -1;
	}
	if(rewrite_uri(msg, ruri) < 0) {
		LM_ERR("e911: cannot rewrite the Request-URI\n");
		return -1;
	}
	return 0;
}

#define RAND_HEX 24 /* 96-bit Content-ID and boundary tokens */

/* What a rewrite used, so a retry in another process (a failure route after
 * a resumed transaction, whose rewrite died with it) can repeat it exactly:
 * same Content-ID, boundary and PIDF-LO time stamps. */
typedef struct rewrite_memo
{
	long now;
	char cid_rand[RAND_HEX + 1];
	char token[RAND_HEX + 1];
	str key;
} rewrite_memo_t;

/* Stores the memo with the transaction (e911_call_state) as
 * "now|cid|token|key". */
static void memo_save(const rewrite_memo_t *m)
{
	char buf[32 + 2 * RAND_HEX + E911_KEY_MAX];
	char num[24];
	str val;
	int nl = 0;
	int n = 0;
	long v = m->now;

	/* by hand, not snprintf: this runs for every emergency call */
	if(v < 0 || m->key.len < 0
			|| m->key.len
					   > (int)sizeof(buf) - (int)sizeof(num) - 2 * RAND_HEX - 3)
		return;
	do {
		num[nl++] = (char)('0' + v % 10);
		v /= 10;
	} while(v > 0);
	while(nl > 0)
		buf[n++] = num[--nl];
	buf[n++] = '|';
	memcpy(buf + n, m->cid_rand, RAND_HEX);
	n += RAND_HEX;
	buf[n++] = '|';
	memcpy(buf + n, m->token, RAND_HEX);
	n += RAND_HEX;
	buf[n++] = '|';
	memcpy(buf + n, m->key.s, m->key.len);
	n += m->key.len;
	val.s = buf;
	val.len = n;
	if(e911_call_state_set_str("rewrite", &val) < 0)
		LM_WARN("e911: cannot remember the rewrite for a retry\n");
}

/* Reads the memo back; m->key points into the stored text. 0 or -1. */
static int memo_load(rewrite_memo_t *m)
{
	str val;
	char *p;
	char *end;
	char *bar;

	if(e911_call_state_str("rewrite", &val) < 0)
		return -1;
	p = val.s;
	end = p + val.len;
	m->now = strtol(p, &bar, 10);
	if(bar >= end || *bar != '|' || end - bar < 2 * RAND_HEX + 3)
		return -1;
	p = bar + 1;
	memcpy(m->cid_rand, p, RAND_HEX);
	m->cid_rand[RAND_HEX] = '\0';
	p += RAND_HEX + 1;
	memcpy(m->token, p, RAND_HEX);
	m->token[RAND_HEX] = '\0';
	p += RAND_HEX + 1;
	m->key.s = p;
	m->key.len = (int)(end - p);
	return m->key.len > 0 ? 0 : -1;
}

/* 1 when one of the lumps chained to l (and its successors) adds our
 * Geolocation header. */
static int lumps_have_location(struct lump *l, int depth)
{
	static const char geo[] = "Geolocation-Routing: ";

	for(; l && depth < 64; l = l->next) {
		if(l->op == LUMP_ADD && l->len >= (int)sizeof(geo) - 1
				&& memcmp(l->u.value, geo, sizeof(geo) - 1) == 0)
			return 1;
		if(lumps_have_location(l->before, depth + 1)
				|| lumps_have_location(l->after, depth + 1))
			return 1;
	}
	return 0;
}

/* RFC 3325: an identity asserted from outside the trust domain is not
 * forwarded (nor a preferred one, which is only for the first proxy), and
 * neither is a by-reference location the policy does not allow
 * (e911_device_location). Returns 0 or -1. */
static int untrusted_remove(sip_msg_t *msg)
{
	e911_device_location(msg, NULL);
	if(e911_request_trusted(msg))
		return 0;
	if(hdr_remove(msg, "P-Asserted-Identity") < 0
			|| hdr_remove(msg, "P-Preferred-Identity") < 0)
		return -1;
	return 0;
}

static int route_fallback(sip_msg_t *msg)
{
	static const char prio[] = E911_FALLBACK_HEADERS;

	if(set_ruri(msg, &e911_rewrite_cfg.fallback_route) < 0)
		return E911_ROUTE_FAILED;
	if(untrusted_remove(msg) < 0)
		LM_ERR("e911: cannot remove the caller's identity from the fallback "
			   "call (out of memory?)\n");
	if(hdr_remove(msg, "Priority") < 0
			|| insert_at(msg, msg->unparsed - msg->buf, prio, sizeof(prio) - 1)
					   < 0) {
		LM_ERR("e911: cannot add Priority to the fallback call\n");
		return E911_ROUTE_FAILED;
	}
	return E911_ROUTED_FALLBACK;
}

/* e911_buf_add() of a str */
static inline void buf_str(e911_buf_t *h, const str *s)
{
	e911_buf_add(h, s->s, (size_t)s->len);
}

/* Puts the record's provider endpoint id in the From user when
 * endpoint_id_to is "from" (the "pai" and "header:" cases are headers:
 * e911_rewrite_headers). Returns 0 or -1. */
static int place_endpoint_id(sip_msg_t *msg, const char *id)
{
	struct to_body *from;
	int n = strlen(id);

	if(e911_rewrite_cfg.endpoint_to != E911_EPID_FROM)
		return 0;
	if(parse_from_header(msg) < 0 || parse_from_uri(msg) == NULL)
		return -1;
	from = get_from(msg);
	if(from->parsed_uri.user.len <= 0)
		return -1;
	return e911_replace_at(msg, from->parsed_uri.user.s - msg->buf,
			from->parsed_uri.user.len, id, n);
}

static char provider_buf[E911_ADDL_MAX];
static char service_buf[E911_ADDL_MAX];
static char provider_hdrs[256];
static char service_hdrs[256];

/* The RFC 7852 ProviderInfo and ServiceInfo parts (ng911 profile), with
 * Content-IDs p<rand>@domain and s<rand>@domain. Returns 0 or -1. */
static int addl_parts(e911_loc_t *loc, const rewrite_memo_t *memo,
		e911_mime_part_t *parts, int *nparts)
{
	e911_provider_t p = e911_rewrite_cfg.provider;
	e911_svcinfo_t si = e911_rewrite_cfg.svcinfo;
	char ref[64];
	const char *mob;
	int pl;
	int sl;
	int ph;
	int sh;

	snprintf(ref, sizeof(ref), "%s@%.*s", memo->cid_rand,
			e911_rewrite_cfg.domain.len, e911_rewrite_cfg.domain.s);
	p.reference = ref;
	si.reference = ref;
	mob = e911_rec_get(loc->rec, E911_F_MOBILITY);
	if(mob)
		si.mobility = mob;
	pl = e911_providerinfo_render(&p, provider_buf, sizeof(provider_buf));
	sl = e911_serviceinfo_render(&si, service_buf, sizeof(service_buf));
	if(pl < 0 || sl < 0)
		return -1;
	ph = snprintf(provider_hdrs, sizeof(provider_hdrs),
			"Content-Type: application/EmergencyCallData.ProviderInfo+xml"
			"\r\nContent-ID: <p%s>\r\nContent-Disposition: "
			"by-reference;handling=optional\r\n",
			ref);
	sh = snprintf(service_hdrs, sizeof(service_hdrs),
			"Content-Type: application/EmergencyCallData.ServiceInfo+xml"
			"\r\nContent-ID: <s%s>\r\nContent-Disposition: "
			"by-reference;handling=optional\r\n",
			ref);
	parts[*nparts].hdrs = provider_hdrs;
	parts[*nparts].hlen = ph;
	parts[*nparts].body = provider_buf;
	parts[*nparts].blen = pl;
	(*nparts)++;
	parts[*nparts].hdrs = service_hdrs;
	parts[*nparts].hlen = sh;
	parts[*nparts].body = service_buf;
	parts[*nparts].blen = sl;
	(*nparts)++;
	return 0;
}

/* ng911: Request-URI and To become the service URN, next hop = route. */
static int ng911_target(sip_msg_t *msg, str *route)
{
	const char *urn = e911_classify_request(msg).urn;
	struct to_body *to;
	str u;

	if(urn == NULL)
		urn = "urn:service:sos";
	u.s = (char *)urn;
	u.len = strlen(urn);
	if(set_dst_uri(msg, route) < 0 || set_ruri(msg, &u) < 0) {
		LM_ERR("e911: cannot set the NG9-1-1 destination\n");
		return -1;
	}
	if(msg->to == NULL || (to = get_to(msg)) == NULL || to->uri.len <= 0)
		return 0;
	if(to->uri.len == u.len && strncasecmp(to->uri.s, u.s, u.len) == 0)
		return 0;
	return e911_replace_at(msg, to->uri.s - msg->buf, to->uri.len, u.s, u.len);
}

/* The caller's From user, for the PSAP-callback memory. */
static void remember_caller(sip_msg_t *msg, const char *cb)
{
	struct to_body *from;

	if(cb) {
		e911_callback_remember(cb, strlen(cb));
		return;
	}
	if(parse_from_header(msg) == 0 && parse_from_uri(msg) != NULL) {
		from = get_from(msg);
		e911_callback_remember(
				from->parsed_uri.user.s, from->parsed_uri.user.len);
	}
}

/* The Content-ID <rnd>@domain into cid (size bytes, NUL-terminated).
 * Returns its length or -1. */
static int content_id(const char *rnd, char *cid, size_t size)
{
	int n = RAND_HEX + 1 + e911_rewrite_cfg.domain.len;

	if(n >= (int)size)
		return -1;
	memcpy(cid, rnd, RAND_HEX);
	cid[RAND_HEX] = '@';
	memcpy(cid + RAND_HEX + 1, e911_rewrite_cfg.domain.s,
			e911_rewrite_cfg.domain.len);
	cid[n] = '\0';
	return n;
}

int e911_rewrite_new_content_id(char *cid, size_t size)
{
	char rnd[RAND_HEX + 1];

	random_hex(rnd, RAND_HEX / 2);
	return content_id(rnd, cid, size);
}

void e911_rewrite_headers(const e911_record_t *rec, const char *cid, int cidlen,
		int by_value, const char *ref, e911_buf_t *h)
{
	const char *cb = e911_rec_get(rec, E911_F_CALLBACK);
	const char *epid = e911_rec_get(rec, E911_F_ENDPOINT_ID);

	/* Geolocation-Routing first: it marks our rewrite (see
	 * lumps_have_location); plain appends, this runs for every emergency
	 * call */
	if(e911_rewrite_cfg.geolocation_routing)
		E911_BUF_LIT(h, "Geolocation-Routing: yes\r\n");
	else
		E911_BUF_LIT(h, "Geolocation-Routing: no\r\n");
	if(by_value || ref) {
		E911_BUF_LIT(h, "Geolocation: ");
		if(by_value) {
			E911_BUF_LIT(h, "<cid:");
			e911_buf_add(h, cid, cidlen);
			E911_BUF_LIT(h, ">");
		}
		if(ref) {
			if(by_value)
				E911_BUF_LIT(h, ", ");
			E911_BUF_LIT(h, "<");
			e911_buf_add(h, ref, strlen(ref));
			E911_BUF_LIT(h, ">");
		}
		E911_BUF_LIT(h, "\r\n");
	}
	if(ref)
		E911_BUF_LIT(h, "Supported: geolocation-http\r\n");
	if(e911_rewrite_cfg.ng911) {
		E911_BUF_LIT(h, "Call-Info: <cid:p");
		e911_buf_add(h, cid, cidlen);
		E911_BUF_LIT(h, ">;purpose=EmergencyCallData.ProviderInfo,<cid:s");
		e911_buf_add(h, cid, cidlen);
		E911_BUF_LIT(h, ">;purpose=EmergencyCallData.ServiceInfo\r\n");
	}
	if(epid && e911_rewrite_cfg.endpoint_to == E911_EPID_PAI) {
		E911_BUF_LIT(h, "P-Asserted-Identity: <sip:");
		e911_buf_add(h, epid, strlen(epid));
		E911_BUF_LIT(h, "@");
		buf_str(h, &e911_rewrite_cfg.domain);
		E911_BUF_LIT(h, ">\r\n");
	} else if(cb) {
		if(e911_rewrite_cfg.callback_tel) {
			E911_BUF_LIT(h, "P-Asserted-Identity: <tel:");
			e911_buf_add(h, cb, strlen(cb));
			E911_BUF_LIT(h, ">\r\n");
		} else {
			E911_BUF_LIT(h, "P-Asserted-Identity: <sip:");
			e911_buf_add(h, cb, strlen(cb));
			E911_BUF_LIT(h, "@");
			buf_str(h, &e911_rewrite_cfg.domain);
			E911_BUF_LIT(h, ";user=phone>\r\n");
		}
	}
	E911_BUF_LIT(h, "Priority: emergency\r\n");
	if(epid && e911_rewrite_cfg.endpoint_to == E911_EPID_HEADER) {
		buf_str(h, &e911_rewrite_cfg.endpoint_header);
		E911_BUF_LIT(h, ": ");
		e911_buf_add(h, epid, strlen(epid));
		E911_BUF_LIT(h, "\r\n");
	}
}

int e911_rewrite_pidf(
		const e911_record_t *rec, time_t now, char *buf, size_t size)
{
	e911_pidf_opts_t opts = e911_pidf_options(e911_rewrite_cfg.domain.s, now);

	return e911_pidf_render(rec, &opts, buf, size);
}

void e911_rewrite_conveyance(sip_msg_t *msg, int *by_value, int *by_ref)
{
	/* the call's location precedence decides whether the device's own
	 * location is the one the call carries */
	int use_device = msg != NULL && e911_call_location_use_device(msg);

	*by_value = !use_device && (e911_reference_cfg.mode & E911_MODE_VALUE);
	*by_ref = !use_device && (e911_reference_cfg.mode & E911_MODE_REFERENCE);
}

/* The rewrite with a location. *changed is set once the message may have
 * been modified: a failure before that leaves it as it was. */
static int route_location(sip_msg_t *msg, e911_loc_t *loc, str *target,
		const rewrite_memo_t *reuse, int *changed)
{
	rewrite_memo_t memo;
	const char *reason;
	e911_mime_edit_t ed;
	char err[128];
	char cid[256];
	char ref[512];
	char part_hdrs[512];
	char hdrs[2048];
	e911_buf_t h;
	int cidlen;
	e911_mime_part_t parts[3];
	int nparts;
	int plen;
	int hlen;
	int tries;
	int by_value;
	int by_ref;
	const char *cb;
	const char *epid;
	str body;
	str ctype = {NULL, 0};
	str ruri;
	int body_off;

	memset(&ed, 0, sizeof(ed));
	e911_rewrite_conveyance(msg, &by_value, &by_ref);
	if(by_ref
			&& e911_reference_issue(loc->key, loc->rec, ref, sizeof(ref)) < 0) {
		LM_WARN("e911: no location reference for key '%s': sending the "
				"location by value\n",
				loc->key);
		by_ref = 0;
		by_value = 1;
	}

	if(reuse) {
		memo = *reuse;
	} else {
		memo.now = (long)time(NULL);
		random_hex(memo.cid_rand, RAND_HEX / 2);
		memo.token[0] = '\0';
	}
	memo.key.s = loc->key;
	memo.key.len = strlen(loc->key);
	cidlen = content_id(memo.cid_rand, cid, sizeof(cid));
	if(cidlen < 0)
		return E911_ROUTE_FAILED;

	msg_body(msg, &body);
	nparts = 0;
	if(by_value) {
		plen = e911_rewrite_pidf(
				loc->rec, (time_t)memo.now, pidf_buf, sizeof(pidf_buf));
		if(plen < 0) {
			LM_ERR("e911: cannot render the PIDF-LO for key '%s'\n", loc->key);
			return E911_ROUTE_FAILED;
		}
		e911_buf_init(&h, part_hdrs, sizeof(part_hdrs));
		E911_BUF_LIT(&h, "Content-Type: application/pidf+xml\r\nContent-ID: <");
		e911_buf_add(&h, cid, cidlen);
		E911_BUF_LIT(&h,
				">\r\nContent-Disposition: by-reference;handling=optional"
				"\r\n");
		if(h.failed)
			return E911_ROUTE_FAILED;
		parts[nparts].hdrs = part_hdrs;
		parts[nparts].hlen = h.pos;
		parts[nparts].body = pidf_buf;
		parts[nparts].blen = plen;
		nparts++;
	}
	if(e911_rewrite_cfg.ng911 && addl_parts(loc, &memo, parts, &nparts) < 0) {
		LM_ERR("e911: cannot render the RFC 7852 additional data\n");
		return E911_ROUTE_FAILED;
	}
	if(nparts > 0) {
		if(body.len > 0 && msg->content_type)
			ctype = msg->content_type->body;
		for(tries = 0; tries < 4; tries++) {
			if(tries > 0 || memo.token[0] == '\0')
				random_hex(memo.token, RAND_HEX / 2);
			if(e911_mime_add_parts(ctype.s, ctype.len, body.s, body.len, parts,
					   nparts, memo.token, &ed, err, sizeof(err))
					== 0)
				break;
		}
		if(tries == 4) {
			LM_ERR("e911: cannot add the location to the body: %s\n", err);
			return E911_ROUTE_FAILED;
		}
	} else if(memo.token[0] == '\0') {
		random_hex(memo.token, RAND_HEX / 2);
	}

	/* headers: ours go after all existing ones (e911_rewrite_headers) */
	e911_buf_init(&h, hdrs, sizeof(hdrs));
	e911_rewrite_headers(
			loc->rec, cid, cidlen, by_value, by_ref ? ref : NULL, &h);
	cb = e911_rec_get(loc->rec, E911_F_CALLBACK);
	epid = e911_rec_get(loc->rec, E911_F_ENDPOINT_ID);
	*changed = 1;
	if(epid && place_endpoint_id(msg, epid) < 0)
		LM_WARN("e911: cannot place the endpoint id for key '%s'\n", loc->key);
	if(ed.ctype[0]) {
		E911_BUF_LIT(&h, "Content-Type: ");
		e911_buf_add(&h, ed.ctype, strlen(ed.ctype));
		E911_BUF_LIT(&h, "\r\n");
	}
	if(h.failed) {
		LM_ERR("e911: the headers for key '%s' do not fit\n", loc->key);
		e911_mime_edit_free(&ed);
		return E911_ROUTE_FAILED;
	}
	hlen = h.pos;

	if(target) {
		ruri = *target;
		reason = "retry";
	} else {
		reason = route_target_msg(msg, loc, &ruri);
	}
	if(e911_rewrite_cfg.ng911 && !target) {
		/* NG9-1-1: the service URN is the Request-URI (and To); the
		 * ESRP/PSAP route becomes the next hop */
		if(ng911_target(msg, &ruri) < 0) {
			e911_mime_edit_free(&ed);
			return E911_ROUTE_FAILED;
		}
	} else if(set_ruri(msg, &ruri) < 0) {
		e911_mime_edit_free(&ed);
		return E911_ROUTE_FAILED;
	}

	body_off = body.s ? (int)(body.s - msg->buf) : msg->len;
	if(untrusted_remove(msg) < 0 || hdr_remove(msg, "Priority") < 0
			|| hdr_remove(msg, "Geolocation-Routing") < 0
			|| ((cb || (epid && e911_rewrite_cfg.endpoint_to == E911_EPID_PAI))
					&& hdr_remove(msg, "P-Asserted-Identity") < 0)
			|| (ed.ctype[0] && msg->content_type
					&& del_lump(msg, msg->content_type->name.s - msg->buf,
							   msg->content_type->len, 0)
							   == NULL)
			|| insert_at(msg, msg->unparsed - msg->buf, hdrs, hlen) < 0
			|| insert_at(msg, body_off, ed.prefix, ed.prefix_len) < 0
			|| insert_at(msg, body_off + (int)ed.suffix_at, ed.suffix,
					   ed.suffix_len)
					   < 0) {
		LM_ERR("e911: cannot rewrite the INVITE (out of memory?)\n");
		e911_mime_edit_free(&ed);
		return E911_ROUTE_FAILED;
	}
	e911_mime_edit_free(&ed);
	memo_save(&memo);
	note_route(loc, reason, &ruri);
	if(!target)
		remember_caller(msg, cb);
	return E911_ROUTED_LOCATION;
}

/* A request whose headers do not parse (a second From, To, CSeq, Call-ID or
 * Content-Length, ...): nothing can be added to it, but its Request-URI can
 * still be rewritten, so that whatever relays it (statelessly: tm cannot
 * keep such a request) sends it to the fallback route and never back to
 * its own Request-URI, this proxy. */
static int route_unparsable(sip_msg_t *msg)
{
	update_stat(e911_st.fallback_routes, 1);
	if(set_ruri(msg, &e911_rewrite_cfg.fallback_route) < 0)
		return E911_ROUTE_FAILED;
	LM_ERR("e911: cannot parse the request headers: routed unchanged to the "
		   "fallback %.*s\n",
			e911_rewrite_cfg.fallback_route.len,
			e911_rewrite_cfg.fallback_route.s);
	return E911_ROUTED_FALLBACK;
}

int e911_route_msg(sip_msg_t *msg)
{
	e911_loc_t *loc;
	int changed = 0;
	int rc;

	if(msg->first_line.type != SIP_REQUEST) {
		LM_ERR("e911: e911_route() works on requests only\n");
		return E911_ROUTE_FAILED;
	}
	if(routed_msg_id == msg->id && routed_msg_pid == msg->pid) {
		LM_ERR("e911: e911_route() already rewrote this request\n");
		return E911_ROUTE_FAILED;
	}
	routed_msg_id = msg->id;
	routed_msg_pid = msg->pid;
	if(parse_headers(msg, HDR_EOH_F, 0) < 0)
		return route_unparsable(msg);

	loc = e911_loc_get(msg);
	/* network, device or service: which location the call carries */
	e911_call_location(msg, loc);
	if(loc && loc->rec) {
		rc = route_location(msg, loc, NULL, NULL, &changed);
		if(rc == E911_ROUTED_LOCATION || changed) {
			if(rc != E911_ROUTED_LOCATION)
				LM_ERR("e911: could not add the location for key '%s'\n",
						loc->key);
			e911_audit_track(msg, loc);
			return rc;
		}
		/* nothing was changed: never leave the call on the caller's
		 * Request-URI, send it where calls without a location go */
		LM_ERR("e911: could not add the location for key '%s': routing the "
			   "call to the fallback\n",
				loc->key);
	} else if(loc == NULL) {
		LM_WARN("e911: e911_route() without e911_locate() for this call: "
				"routing to the fallback\n");
	}
	update_stat(e911_st.fallback_routes, 1);
	rc = route_fallback(msg);
	if(rc == E911_ROUTED_FALLBACK) {
		note_route(loc, "fallback", &e911_rewrite_cfg.fallback_route);
		remember_caller(msg, NULL);
	}
	e911_audit_track(msg, loc);
	return rc;
}

int e911_fallback_msg(sip_msg_t *msg)
{
	e911_loc_t *loc;
	rewrite_memo_t memo;
	int changed = 0;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0)
		return route_unparsable(msg);
	update_stat(e911_st.fallback_routes, 1);
	/* the rewrite was made before the transaction kept the request: it is
	 * in every new branch already, only the destination changes */
	if(lumps_have_location(msg->add_rm, 0)) {
		if(set_ruri(msg, &e911_rewrite_cfg.fallback_route) < 0)
			return E911_ROUTE_FAILED;
		e911_audit_retry(msg, &e911_rewrite_cfg.fallback_route, 1);
		return E911_ROUTED_LOCATION;
	}
	/* the request route's lumps are not all there (a resumed route's died
	 * with it): the caller's Geolocation is vetted again for this branch */
	e911_device_location_reset();
	/* the rewrite was made in a resumed route (its lumps are gone): find
	 * the same location again in the cache, without the network, and
	 * repeat the rewrite with the same Content-ID, boundary and times */
	if(memo_load(&memo) == 0) {
		e911_lookup_cache_only(msg, &memo.key, 0);
		loc = e911_loc_get(msg);
		e911_call_location(msg, loc);
		if(loc && loc->rec
				&& route_location(msg, loc, &e911_rewrite_cfg.fallback_route,
						   &memo, &changed)
						   == E911_ROUTED_LOCATION) {
			e911_audit_retry(msg, &e911_rewrite_cfg.fallback_route, 1);
			return E911_ROUTED_LOCATION;
		}
	}
	e911_audit_retry(msg, &e911_rewrite_cfg.fallback_route, 0);
	return route_fallback(msg);
}
