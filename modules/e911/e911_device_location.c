/*
 * e911 module - the device's own location
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <strings.h>

#include "../../core/dprint.h"
#include "../../core/flags.h"

#include "core/e911_geoloc.h"
#include "e911_device_location.h"
#include "e911_msg_edit.h"

#define GEO_MAX 16

e911_device_location_cfg_t e911_device_location_cfg = {.trust_loc_src = 0,
		.preference = "",
		.prefer_device = 0,
		.trusted_flag = -1,
		.geo_allow = ""};

int e911_device_location_init(void)
{
	e911_device_location_cfg_t *c = &e911_device_location_cfg;
	char err[160];

	/* unset: location_precedence decides (e911_location_precedence.c) */
	if(c->preference == NULL || c->preference[0] == '\0') {
		c->prefer_device = 0;
	} else if(strcasecmp(c->preference, "service") == 0) {
		c->prefer_device = 0;
	} else if(strcasecmp(c->preference, "device") == 0) {
		c->prefer_device = 1;
	} else {
		LM_ERR("e911: modparam location_preference must be service or "
			   "device\n");
		return -1;
	}
	if(c->trusted_flag != -1
			&& (c->trusted_flag < 0
					|| !flag_in_range((flag_t)c->trusted_flag))) {
		LM_ERR("e911: modparam trusted_flag must be -1 (no request is from "
			   "the trust domain) or a message flag 0..%d\n",
				MAX_FLAG);
		return -1;
	}
	if(c->geo_allow == NULL)
		c->geo_allow = "";
	if(e911_geoloc_policy_check(c->geo_allow, err, sizeof(err)) < 0) {
		LM_ERR("e911: modparam geolocation_allow: %s\n", err);
		return -1;
	}
	return 0;
}

static unsigned int dev_msg_id;
static int dev_msg_pid;
static int dev_count;
static char dev_buf[4096];
static int dev_len;

int e911_request_trusted(sip_msg_t *msg)
{
	return e911_device_location_cfg.trusted_flag >= 0
		   && isflagset(msg, (flag_t)e911_device_location_cfg.trusted_flag)
					  == 1;
}

void e911_device_location_reset(void)
{
	dev_msg_id = 0;
	dev_msg_pid = 0;
}

/* Rewrites header hf with v[0..vlen), or removes it when vlen is 0; once
 * per message (a header an earlier lump deletes is left to it). */
static int edit_header(sip_msg_t *msg, hdr_field_t *hf, const char *v, int vlen)
{
	if(e911_header_deleted(msg, hf))
		return 0;
	if(vlen == 0)
		return e911_replace_at(msg, hf->name.s - msg->buf, hf->len, "", 0);
	return e911_replace_header(msg, hf, v, vlen);
}

/* The values of g[0..n) (in s) that the by-reference policy lets through
 * from outside the trust domain, joined with ", " into out. Returns how
 * many, or -1 when they do not fit. */
static int allowed_values(const char *s, const e911_geoloc_t *g, int n,
		char *out, int size, int *olen)
{
	int kept = 0;
	int len = 0;

	for(int i = 0; i < n; i++) {
		if(g[i].scheme != E911_GEOLOC_CID
				&& !e911_geoloc_allowed(e911_device_location_cfg.geo_allow,
						s + g[i].uri_off, g[i].uri_len))
			continue;
		if(len + 2 + (int)g[i].len >= size)
			return -1;
		if(kept > 0) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, s + g[i].off, g[i].len);
		len += (int)g[i].len;
		kept++;
	}
	out[len] = '\0';
	*olen = len;
	return kept;
}

int e911_device_location(sip_msg_t *msg, str *values)
{
	static char stripped[E911_GEOLOC_URI_MAX * 2];
	static char allowed[E911_GEOLOC_URI_MAX * 2];
	e911_geoloc_t g[GEO_MAX];
	char err[96];
	hdr_field_t *hf;
	int n;
	int i;
	int slen;
	int alen;
	int kept;
	int has_src;
	int trusted;
	char *v;
	int vlen;

	if(dev_msg_id == msg->id && dev_msg_pid == msg->pid)
		goto out;
	dev_msg_id = msg->id;
	dev_msg_pid = msg->pid;
	dev_count = 0;
	dev_len = 0;
	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		dev_count = -1;
		goto out;
	}
	trusted = e911_request_trusted(msg);
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->name.len != 11 || strncasecmp(hf->name.s, "Geolocation", 11))
			continue;
		n = e911_geoloc_parse(
				hf->body.s, hf->body.len, g, GEO_MAX, err, sizeof(err));
		if(n < 0 && !trusted) {
			/* what cannot be read cannot be vetted: not forwarded */
			if(edit_header(msg, hf, NULL, 0) == 0)
				LM_NOTICE("e911: malformed Geolocation header from outside "
						  "the trust domain (%s): removed\n",
						err);
			continue;
		}
		if(n < 0) {
			LM_WARN("e911: malformed Geolocation header from the caller "
					"(%s): kept as it is\n",
					err);
			dev_count = -1;
			continue;
		}
		v = hf->body.s;
		vlen = hf->body.len;
		if(!trusted) {
			kept = allowed_values(
					hf->body.s, g, n, allowed, sizeof(allowed), &alen);
			if(kept < 0) {
				kept = 0;
				alen = 0;
			}
			if(kept < n) {
				LM_NOTICE("e911: %d by-reference Geolocation value(s) from "
						  "outside the trust domain not allowed by "
						  "geolocation_allow: removed\n",
						n - kept);
				v = allowed;
				vlen = alen;
				n = kept;
			}
		}
		if(n > 0 && v != hf->body.s) {
			/* the kept values, read again for their loc-src */
			n = e911_geoloc_parse(v, vlen, g, GEO_MAX, err, sizeof(err));
			if(n < 0) {
				n = 0;
				vlen = 0;
			}
		}
		has_src = 0;
		for(i = 0; i < n; i++)
			has_src |= g[i].has_loc_src;
		if(has_src && !e911_device_location_cfg.trust_loc_src) {
			slen = e911_geoloc_strip_locsrc(
					v, vlen, stripped, sizeof(stripped));
			if(slen >= 0) {
				LM_INFO("e911: loc-src removed from an untrusted "
						"Geolocation\n");
				v = stripped;
				vlen = slen;
			}
		}
		if(v != hf->body.s && edit_header(msg, hf, v, vlen) < 0) {
			LM_ERR("e911: cannot rewrite a Geolocation header of the "
				   "caller\n");
			v = hf->body.s;
			vlen = hf->body.len;
		}
		if(vlen == 0)
			continue;
		if(dev_count >= 0)
			dev_count += n;
		if(dev_len + vlen + 2 < (int)sizeof(dev_buf)) {
			if(dev_len > 0) {
				memcpy(dev_buf + dev_len, ", ", 2);
				dev_len += 2;
			}
			memcpy(dev_buf + dev_len, v, vlen);
			dev_len += vlen;
		}
	}
out:
	if(values) {
		values->s = dev_buf;
		values->len = dev_len;
	}
	return dev_count;
}
