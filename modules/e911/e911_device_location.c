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

#include "core/e911_geoloc.h"
#include "e911_device_location.h"
#include "e911_msg_edit.h"

#define GEO_MAX 16

e911_device_location_cfg_t e911_device_location_cfg = {
		.trust_loc_src = 0, .preference = "service", .prefer_device = 0};

int e911_device_location_init(void)
{
	e911_device_location_cfg_t *c = &e911_device_location_cfg;

	if(strcasecmp(c->preference, "service") == 0) {
		c->prefer_device = 0;
	} else if(strcasecmp(c->preference, "device") == 0) {
		c->prefer_device = 1;
	} else {
		LM_ERR("e911: modparam location_preference must be service or "
			   "device\n");
		return -1;
	}
	return 0;
}

static unsigned int dev_msg_id;
static int dev_msg_pid;
static int dev_count;
static char dev_buf[4096];
static int dev_len;

int e911_device_location(sip_msg_t *msg, str *values)
{
	static char stripped[E911_GEOLOC_URI_MAX * 2];
	e911_geoloc_t g[GEO_MAX];
	char err[96];
	hdr_field_t *hf;
	int n;
	int i;
	int slen;
	int has_src;
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
	for(hf = msg->headers; hf; hf = hf->next) {
		if(hf->name.len != 11 || strncasecmp(hf->name.s, "Geolocation", 11))
			continue;
		n = e911_geoloc_parse(
				hf->body.s, hf->body.len, g, GEO_MAX, err, sizeof(err));
		if(n < 0) {
			LM_WARN("e911: malformed Geolocation header from the caller "
					"(%s): kept as it is\n",
					err);
			dev_count = -1;
			continue;
		}
		v = hf->body.s;
		vlen = hf->body.len;
		has_src = 0;
		for(i = 0; i < n; i++)
			has_src |= g[i].has_loc_src;
		if(has_src && !e911_device_location_cfg.trust_loc_src) {
			slen = e911_geoloc_strip_locsrc(
					hf->body.s, hf->body.len, stripped, sizeof(stripped));
			if(slen >= 0 && e911_replace_header(msg, hf, stripped, slen) == 0) {
				LM_INFO("e911: loc-src removed from an untrusted "
						"Geolocation\n");
				v = stripped;
				vlen = slen;
			}
		}
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
