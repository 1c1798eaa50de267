/*
 * e911 module - the network a call comes from, and which location it carries
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../core/dprint.h"
#include "../../core/ip_addr.h"
#include "../../core/parser/contact/parse_contact.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/parser/parse_via.h"

#include "core/e911_cidr.h"
#include "core/e911_geoloc.h"
#include "core/e911_text.h"
#include "e911_device_location.h"
#include "e911_location_precedence.h"

#define FROM_SOURCE 1u
#define FROM_VIA 2u
#define FROM_CONTACT 4u
#define FROM_PANI 8u

e911_network_cfg_t e911_network_cfg = {NULL, "", "source", {0, {0}}, 0};

/* per process: the decision of the last message asked about */
static e911_call_location_t cl;

static int parse_from(const char *spec, unsigned *mask)
{
	static const struct
	{
		const char *name;
		unsigned bit;
	} names[] = {{"source", FROM_SOURCE}, {"via", FROM_VIA},
			{"contact", FROM_CONTACT}, {"pani", FROM_PANI}};
	const char *s = spec;
	const char *item;
	size_t n;
	size_t i;

	*mask = FROM_SOURCE; /* the packet's source always counts */
	while(s && e911_list_next(&s, ',', E911_BLANKS, &item, &n)) {
		for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if(strlen(names[i].name) == n
					&& strncmp(names[i].name, item, n) == 0)
				break;
		}
		if(i == sizeof(names) / sizeof(names[0])) {
			LM_ERR("e911: modparam network_from: '%.*s' is not source, via, "
				   "contact or pani\n",
					(int)n, item);
			return -1;
		}
		*mask |= names[i].bit;
	}
	return 0;
}

int e911_location_precedence_init(void)
{
	e911_network_cfg_t *c = &e911_network_cfg;
	const char *pref = e911_device_location_cfg.preference;
	const char *spec = c->precedence;
	char err[128];

	/* location_preference (older) maps onto location_precedence */
	if(pref != NULL && pref[0] != '\0') {
		if(spec != NULL && spec[0] != '\0') {
			LM_ERR("e911: set location_precedence or location_preference, "
				   "not both\n");
			return -1;
		}
		spec = strcasecmp(pref, "device") == 0 ? "device,network,service"
											   : "network,service,device";
	}
	if(spec == NULL || spec[0] == '\0')
		spec = E911_PRECEDENCE_DEFAULT;
	if(e911_precedence_parse(spec, &c->prec, err, sizeof(err)) < 0) {
		LM_ERR("e911: modparam location_precedence: %s\n", err);
		return -1;
	}
	if(c->trusted && c->trusted[0]
			&& e911_cidr_list_check(c->trusted, err, sizeof(err)) < 0) {
		LM_ERR("e911: modparam trusted_networks: %s\n", err);
		return -1;
	}
	if(parse_from(c->from, &c->from_mask) < 0)
		return -1;
	if(c->from_mask != FROM_SOURCE && (c->trusted == NULL || !c->trusted[0])
			&& e911_device_location_cfg.trusted_flag < 0)
		LM_WARN("e911: network_from names more than the source address but "
				"neither trusted_networks nor trusted_flag is set: only the "
				"source address is used\n");
	return 0;
}

/* Whether msg comes from one of trusted_networks, or from the trust domain
 * (trusted_flag, set by the script: the same trust that lets its identity
 * and location through, e911_device_location.c). */
static int trusted(sip_msg_t *msg, const char *src)
{
	const char *t = e911_network_cfg.trusted;

	if(t && t[0] && e911_cidr_contains(t, src, strlen(src)) == 1)
		return 1;
	return e911_request_trusted(msg);
}

static int add_addr(e911_network_t *n, const char *s, int len, const char *via)
{
	e911_ipaddr_t a;

	if(len <= 0 || len >= (int)sizeof(n->text)
			|| e911_ipaddr_parse(s, (size_t)len, &a) < 0)
		return 0;
	memcpy(n->text, s, len);
	n->text[len] = '\0';
	n->via = via;
	n->is_bssid = 0;
	return 1;
}

static int pani_network(sip_msg_t *msg, e911_network_t *n)
{
	hdr_field_t *hf;

	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->name.len == 21
				&& strncasecmp(hf->name.s, "P-Access-Network-Info", 21) == 0
				&& e911_pani_bssid(hf->body.s, hf->body.len, &n->bssid) == 0) {
			e911_bssid_format(n->bssid, n->text);
			n->via = "P-Access-Network-Info";
			n->is_bssid = 1;
			return 1;
		}
	}
	return 0;
}

static int contact_network(sip_msg_t *msg, e911_network_t *n)
{
	contact_body_t *cb;
	struct sip_uri u;

	if(parse_contact_header(msg) < 0 || msg->contact == NULL
			|| (cb = (contact_body_t *)msg->contact->parsed) == NULL
			|| cb->contacts == NULL)
		return 0;
	if(parse_uri(cb->contacts->uri.s, cb->contacts->uri.len, &u) < 0)
		return 0;
	return add_addr(n, u.host.s, u.host.len, "Contact");
}

static int via_network(sip_msg_t *msg, e911_network_t *n)
{
	struct via_body *vb = msg->via1 ? msg->via1->next : NULL;

	if(vb == NULL) {
		if(parse_headers(msg, HDR_VIA2_F, 0) < 0)
			return 0;
		vb = msg->via2;
	}
	if(vb == NULL)
		return 0;
	if(vb->received && vb->received->value.len > 0)
		return add_addr(n, vb->received->value.s, vb->received->value.len,
				"edge proxy Via");
	return add_addr(n, vb->host.s, vb->host.len, "edge proxy Via");
}

int e911_request_networks(sip_msg_t *msg, e911_network_t *nets, int max)
{
	unsigned mask = e911_network_cfg.from_mask;
	char srcbuf[IP_ADDR_MAX_STR_SIZE + 1];
	int n = 0;
	int trust;

	/* the source address as text (no brackets), on every emergency call:
	 * no snprintf */
	srcbuf[ip_addr2sbuf(&msg->rcv.src_ip, srcbuf, sizeof(srcbuf) - 1)] = '\0';
	if(mask & ~FROM_SOURCE) {
		trust = trusted(msg, srcbuf);
		if(!trust) {
			LM_DBG("e911: %s is not in trusted_networks: its Via, Contact "
				   "and P-Access-Network-Info are ignored for the network\n",
					srcbuf);
		} else if(parse_headers(msg, HDR_EOH_F, 0) == 0) {
			if((mask & FROM_PANI) && n < max && pani_network(msg, &nets[n]))
				n++;
			if((mask & FROM_CONTACT) && n < max
					&& contact_network(msg, &nets[n]))
				n++;
			if((mask & FROM_VIA) && n < max && via_network(msg, &nets[n]))
				n++;
		}
	}
	if(n < max && add_addr(&nets[n], srcbuf, strlen(srcbuf), "source address"))
		n++;
	return n;
}

int e911_networks_site(const e911_network_t *nets, int n, e911_network_t *net,
		e911_site_hit_t *hit)
{
	int i;
	int r;

	for(i = 0; i < n; i++) {
		if(nets[i].is_bssid)
			r = e911_sitemap_lookup_bssid(nets[i].bssid, hit);
		else
			r = e911_sitemap_lookup_addr(nets[i].text, hit);
		if(r == 1) {
			*net = nets[i];
			return 1;
		}
	}
	return 0;
}

int e911_networks_in(const e911_network_t *nets, int n, const char *list)
{
	int i;

	if(list == NULL)
		return -1;
	for(i = 0; i < n; i++) {
		if(!nets[i].is_bssid
				&& e911_cidr_contains(list, nets[i].text, strlen(nets[i].text))
						   == 1)
			return 1;
	}
	return 0;
}

/* How many of the device's own location values may win the precedence:
 * all of them from a trusted request (trust domain or trusted_networks);
 * from anyone else only the by-reference values geolocation_allow let
 * through - a cid: value a caller made up is conveyed, never preferred. */
static int device_values(sip_msg_t *msg)
{
	e911_geoloc_t g[E911_NETWORKS_MAX * 4];
	char err[96];
	char *src;
	char srcbuf[64];
	str v;
	int n;
	int i;
	int count = 0;

	n = e911_device_location(msg, &v);
	if(n <= 0)
		return 0;
	src = ip_addr2a(&msg->rcv.src_ip);
	snprintf(srcbuf, sizeof(srcbuf), "%s", src ? src : "");
	if(trusted(msg, srcbuf))
		return n;
	n = e911_geoloc_parse(v.s, (size_t)v.len, g,
			(int)(sizeof(g) / sizeof(g[0])), err, sizeof(err));
	for(i = 0; i < n; i++) {
		if(g[i].scheme != E911_GEOLOC_CID)
			count++;
	}
	return count;
}

static int same_msg(sip_msg_t *msg)
{
	return msg != NULL && cl.msg_id == msg->id && cl.msg_pid == msg->pid;
}

/* Places loc's caller at the decided site. */
static void apply(e911_loc_t *loc)
{
	e911_record_t *r;

	if(loc == NULL || cl.out.winner != E911_LS_NETWORK)
		return;
	/* placed already; a failure route that looked the caller up again
	 * (e911_fallback) has the service's record back and places it again */
	if(loc->rec
			&& (loc->rec->flags
					& (E911_REC_AT_SITE | E911_REC_AT_SITE_BSSID))) {
		cl.applied = 1;
		return;
	}
	r = e911_record_relocate(loc->rec, cl.site.rec);
	if(r == NULL || r->size > sizeof(loc->buf)) {
		LM_ERR("e911: cannot place key '%s' at site %s (out of memory): "
			   "the call keeps the service's answer\n",
				loc->key, cl.site.id);
		free(r);
		cl.out.winner =
				loc->rec ? (loc->status == E911_LOC_FRESH ? E911_LS_SERVICE
														  : E911_LS_STALE)
						 : E911_LS_FALLBACK;
		return;
	}
	r->flags |= cl.network.is_bssid ? E911_REC_AT_SITE_BSSID : E911_REC_AT_SITE;
	memcpy(loc->buf, r, r->size);
	loc->rec = (e911_record_t *)loc->buf;
	free(r);
	cl.applied = 1;
}

const e911_call_location_t *e911_call_location(sip_msg_t *msg, e911_loc_t *loc)
{
	e911_network_t nets[E911_NETWORKS_MAX];
	e911_prec_in_t in;
	const char *list;
	int n;

	if(msg == NULL)
		return NULL;
	if(same_msg(msg)
			&& (loc == NULL
					|| (cl.loc_seen && cl.loc_status == loc->status
							&& cl.loc_fetched_at == loc->fetched_at))) {
		apply(loc);
		return &cl;
	}
	memset(&in, 0, sizeof(in));
	cl.msg_id = msg->id;
	cl.msg_pid = msg->pid;
	cl.applied = 0;
	cl.has_site = 0;
	cl.loc_seen = loc != NULL;
	cl.loc_status = loc ? loc->status : 0;
	cl.loc_fetched_at = loc ? loc->fetched_at : 0;
	n = e911_request_networks(msg, nets, E911_NETWORKS_MAX);
	cl.has_network = n > 0;
	if(n > 0) {
		cl.network = nets[0];
		cl.has_site = e911_networks_site(nets, n, &cl.network, &cl.site);
		in.network = cl.network.text;
		in.via = cl.network.via;
	}
	if(cl.has_site)
		in.site_id = cl.site.id;
	in.device = device_values(msg);
	in.record = 0;
	in.in_record = -1;
	in.same_place = -1;
	if(loc && loc->rec) {
		in.record = loc->status == E911_LOC_FRESH ? 1 : 2;
		list = e911_rec_get(loc->rec, E911_F_NETWORKS);
		in.in_record = e911_networks_in(nets, n, list);
		if(cl.has_site)
			in.same_place = e911_same_place(cl.site.rec, loc->rec);
	}
	e911_precedence_decide(&e911_network_cfg.prec, &in, &cl.out);
	if(cl.out.conflict)
		LM_NOTICE("e911: location conflict for key '%s': the network says "
				  "site %s, the record says another place; %s\n",
				loc ? loc->key : "", cl.site.id, cl.out.why);
	if(cl.out.moved == 1)
		LM_INFO("e911: key '%s' calls from %s, outside its record's "
				"networks and every site: moved (the registered location "
				"is sent)\n",
				loc ? loc->key : "", cl.network.text);
	apply(loc);
	return &cl;
}

const e911_call_location_t *e911_call_location_made(sip_msg_t *msg)
{
	return same_msg(msg) ? &cl : NULL;
}

int e911_call_location_use_device(sip_msg_t *msg)
{
	return same_msg(msg) && cl.out.winner == E911_LS_DEVICE;
}
