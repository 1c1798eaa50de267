/*
 * e911 module - the confirmation loop at REGISTER
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../core/dprint.h"
#include "../../core/ip_addr.h"
#include "../../core/parser/contact/parse_contact.h"
#include "../../core/parser/parse_expires.h"
#include "../../core/parser/parse_to.h"

#include "core/e911_pidf.h"
#include "core/e911_seen.h"
#include "core/e911_time.h"
#include "e911_location_precedence.h"
#include "e911_notify.h"
#include "e911_sitemap_confirm.h"

#define CONFIRM_TEXT_MAX 1024

e911_confirm_cfg_t e911_confirm_cfg = {0, 10000,
		"Emergency calls from this phone send responders to: {address}. "
		"It registered from a network we do not know ({network}). If you are "
		"somewhere else, update your emergency address: {url}",
		""};

static e911_seen_t *seen = NULL;

int e911_confirm_init(void)
{
	e911_confirm_cfg_t *c = &e911_confirm_cfg;

	if(c->window <= 0)
		return 0;
	if(c->max < 1 || c->message == NULL || c->message[0] == '\0') {
		LM_ERR("e911: modparams confirm_max must be positive and "
			   "confirm_message not empty\n");
		return -1;
	}
	if(strlen(c->message) > CONFIRM_TEXT_MAX / 2) {
		LM_ERR("e911: modparam confirm_message is longer than %d bytes\n",
				CONFIRM_TEXT_MAX / 2);
		return -1;
	}
	if(c->update_url == NULL)
		c->update_url = "";
	seen = e911_seen_new((unsigned)c->max);
	if(seen == NULL) {
		LM_ERR("e911: no shared memory for the confirmation loop\n");
		return -1;
	}
	e911_notify_cfg.device_messages = 1;
	return 0;
}

/* Appends s to out (size bytes, *n used), cut to fit. */
static void put(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	if(*n + len >= size)
		len = size - 1 - *n;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
}

/* Fills the template: {address} {url} {network} {key}. */
static int fill(const char *tmpl, const char *address, const char *network,
		const char *key, char *out, size_t size)
{
	static const char *const names[] = {"address", "url", "network", "key"};
	const char *vals[4];
	const char *p = tmpl;
	const char *close;
	size_t n = 0;
	size_t k;
	int i;

	vals[0] = address;
	vals[1] = e911_confirm_cfg.update_url[0] ? e911_confirm_cfg.update_url
											 : "your provider's self-service "
											   "portal";
	vals[2] = network;
	vals[3] = key;
	out[0] = '\0';
	while(*p && n + 1 < size) {
		if(*p == '{' && (close = strchr(p, '}')) != NULL) {
			k = (size_t)(close - p - 1);
			for(i = 0; i < 4; i++) {
				if(strlen(names[i]) == k && strncmp(names[i], p + 1, k) == 0)
					break;
			}
			if(i < 4) {
				put(out, size, &n, vals[i], strlen(vals[i]));
				p = close + 1;
				continue;
			}
		}
		put(out, size, &n, p, 1);
		p++;
	}
	return (int)n;
}

/* The contact a REGISTER adds, or NULL for a de-registration (Contact: *,
 * Expires: 0, ;expires=0), a fetch of bindings (no Contact) or a Contact
 * that cannot be parsed: nothing to confirm for those. */
static contact_t *added_contact(sip_msg_t *msg)
{
	contact_body_t *cb;
	contact_t *c;
	exp_body_t *e;

	if(parse_contact_header(msg) < 0 || msg->contact == NULL
			|| (cb = (contact_body_t *)msg->contact->parsed) == NULL || cb->star
			|| (c = cb->contacts) == NULL)
		return NULL;
	if(c->expires)
		return (c->expires->body.len == 1 && c->expires->body.s[0] == '0')
					   ? NULL
					   : c;
	if(parse_headers(msg, HDR_EXPIRES_F, 0) == 0 && msg->expires
			&& (msg->expires->parsed || parse_expires(msg->expires) == 0)) {
		e = (exp_body_t *)msg->expires->parsed;
		if(e && e->valid && e->val == 0)
			return NULL;
	}
	return c;
}

/* Where the device's REGISTER came from, as a next hop. */
static int source_hop(sip_msg_t *msg, char *out, size_t size)
{
	char *ip = ip_addr2a(&msg->rcv.src_ip);
	const char *tr;
	int six = msg->rcv.src_ip.af == AF_INET6;
	int n;

	switch(msg->rcv.proto) {
		case PROTO_TCP:
			tr = ";transport=tcp";
			break;
		case PROTO_TLS:
			tr = ";transport=tls";
			break;
		default:
			tr = "";
			break;
	}
	n = snprintf(out, size, "sip:%s%s%s:%u%s", six ? "[" : "", ip,
			six ? "]" : "", (unsigned)msg->rcv.src_port, tr);
	return (n > 0 && (size_t)n < size) ? n : -1;
}

int e911_confirm_register(sip_msg_t *msg, e911_loc_t *loc)
{
	e911_network_t nets[E911_NETWORKS_MAX];
	e911_network_t net;
	e911_site_hit_t *hit;
	contact_t *contact;
	struct to_body *to;
	char address[512];
	char text[CONFIRM_TEXT_MAX];
	char hop[128];
	char ts[32];
	str ruri;
	str dst;
	json_t *ev;
	int n;
	int tlen;
	int on_site;
	int queued = 0;

	if(seen == NULL || msg == NULL || loc == NULL || loc->rec == NULL
			|| (contact = added_contact(msg)) == NULL)
		return 0;
	n = e911_request_networks(msg, nets, E911_NETWORKS_MAX);
	if(n <= 0)
		return 0;
	/* a known site, or a network of the record: nothing to confirm */
	hit = pkg_malloc(sizeof(*hit));
	if(hit == NULL)
		return -1;
	on_site = e911_networks_site(nets, n, &net, hit);
	pkg_free(hit);
	if(on_site
			|| e911_networks_in(
					   nets, n, e911_rec_get(loc->rec, E911_F_NETWORKS))
					   == 1)
		return 0;
	if(!e911_seen_note(seen, loc->key, nets[0].text, (int64_t)time(NULL),
			   e911_confirm_cfg.window))
		return 0;
	if(e911_address_line(loc->rec, address, sizeof(address)) < 0)
		address[0] = '\0';
	LM_INFO("e911: key '%s' registers from a network new for it (%s, %s): "
			"asking the user to confirm the address on file\n",
			loc->key, nets[0].text, nets[0].via);
	/* the MESSAGE, to the registering contact through where it came from */
	if(msg->to && (to = get_to(msg)) != NULL
			&& source_hop(msg, hop, sizeof(hop)) > 0) {
		ruri = contact->uri;
		dst.s = hop;
		dst.len = strlen(hop);
		tlen = fill(e911_confirm_cfg.message, address, nets[0].text, loc->key,
				text, sizeof(text));
		if(e911_notify_device(&ruri, &to->uri, &dst, text, tlen) == 1)
			queued++;
	}
	/* and the event, for the self-service portal */
	e911_time_format((int64_t)time(NULL), ts, sizeof(ts));
	ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "event", "location-unconfirmed",
			"time", ts, "key", loc->key, "network", nets[0].text,
			"network_from", nets[0].via, "address_on_file", address);
	if(ev) {
		if(e911_confirm_cfg.update_url[0])
			json_object_set_new(
					ev, "update_url", json_string(e911_confirm_cfg.update_url));
		if(e911_notify_event(ev) == 1)
			queued++;
		json_decref(ev);
	}
	return queued ? 1 : 0;
}
