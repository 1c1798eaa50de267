/*
 * e911 module - location by reference, device-provided location, PSAP
 * callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * By reference (RFC 6442 with RFC 6753-style dereferencing): the INVITE
 * carries an https (or http on loopback) URI with an unguessable 128-bit
 * token; Kamailio itself answers it from event_route[xhttp:request] with
 * e911_dereference(), for reference_ttl seconds. The tokens live in a
 * bounded shared-memory table (e911_reference_tokens.c), so any process can answer.
 *
 * A device or upstream element may already have put Geolocation in the
 * request: its values are kept as they are (RFC 6442: add last, never
 * modify) except that loc-src is stripped from untrusted requests
 * (RFC 8787), and they are exposed as $e911(device_location).
 *
 * PSAP callbacks (RFC 6881 SP-35/40, RFC 7090): the callback numbers of
 * emergency callers are remembered for psap_callback_window seconds;
 * e911_is_psap_callback() is true for a call to one of them or with
 * Priority: psap-callback, so the script can bypass DND and forwarding.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/data_lump.h"
#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/sr_module.h"
#include "../../core/trim.h"
#include "../../modules/xhttp/api.h"

#include "e911_conveyance.h"
#include "core/e911_geoloc.h"
#include "core/e911_pidf.h"
#include "core/e911_callback_memory.h"
#include "e911_invite_rewrite.h"
#include "core/e911_reference_tokens.h"

#define GEO_MAX 16

e911_conv_cfg_t e911_ccfg = {
		E911_MODE_VALUE, "", 300, 10000, 0, 0, 1800, 10000};

static e911_tokens_t *tokens = NULL;
static e911_recent_t *recent = NULL;
static xhttp_api_t xhttp;
static int xhttp_ok = 0;

int e911_conv_init(void)
{
	if(e911_ccfg.mode != E911_MODE_VALUE) {
		if(e911_ccfg.reference_base == NULL
				|| (strncasecmp(e911_ccfg.reference_base, "https://", 8) != 0
						&& strncasecmp(e911_ccfg.reference_base, "http://", 7)
								   != 0)
				|| strpbrk(e911_ccfg.reference_base, " \t\r\n<>\"") != NULL) {
			LM_ERR("e911: location_mode reference/both needs "
				   "reference_base_url (https://host[:port]/path/)\n");
			return -1;
		}
		if(strncasecmp(e911_ccfg.reference_base, "http://", 7) == 0
				&& strncmp(e911_ccfg.reference_base + 7, "127.", 4) != 0
				&& strncmp(e911_ccfg.reference_base + 7, "localhost", 9) != 0
				&& strncmp(e911_ccfg.reference_base + 7, "[::1]", 5) != 0) {
			LM_ERR("e911: reference_base_url must be https:// (http:// only "
				   "on loopback)\n");
			return -1;
		}
		tokens = e911_tokens_new(e911_ccfg.reference_size, 0);
		if(tokens == NULL) {
			LM_ERR("e911: cannot create the reference token table\n");
			return -1;
		}
	}
	recent = e911_recent_new(e911_ccfg.callback_size);
	if(recent == NULL) {
		LM_ERR("e911: cannot create the PSAP callback table\n");
		return -1;
	}
	if(module_loaded("xhttp")) {
		if(xhttp_load_api(&xhttp) == 0)
			xhttp_ok = 1;
	} else if(e911_ccfg.mode != E911_MODE_VALUE) {
		LM_WARN("e911: location by reference without the xhttp module: "
				"e911_dereference() cannot answer\n");
	}
	return 0;
}

void e911_conv_destroy(void)
{
	/* shared memory goes with the process tree */
}

void e911_conv_expire(int64_t now)
{
	if(tokens)
		e911_tokens_purge(tokens, now);
	if(recent)
		e911_recent_expire(recent, now);
}

/* --- by reference --- */

int e911_reference_issue(
		const char *key, const e911_record_t *rec, char *out, size_t size)
{
	char tok[E911_TOKEN_SIZE];
	int n;

	if(tokens == NULL)
		return -1;
	if(e911_token_new(tokens, key, strlen(key), rec,
			   (int64_t)time(NULL) + e911_ccfg.reference_ttl, tok)
			< 0) {
		LM_ERR("e911: cannot issue a location reference\n");
		return -1;
	}
	n = snprintf(out, size, "%s%s", e911_ccfg.reference_base, tok);
	if(n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

static int reply(sip_msg_t *msg, int code, char *reason, char *ctype,
		char *body, int blen)
{
	str r = {reason, strlen(reason)};
	str c = {ctype, strlen(ctype)};
	str b = {body, blen};

	return xhttp.reply(msg, code, &r, &c, &b) == 0 ? 1 : -1;
}

int e911_dereference(sip_msg_t *msg)
{
	static uint64_t rbuf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	static char pidf[E911_PIDF_MAX];
	static char notfound[] = "no such location\n";
	e911_pidf_opts_t opts;
	e911_record_t *rec = NULL;
	str uri;
	char *seg;
	char *end;
	int n;

	if(!xhttp_ok || msg == NULL || msg->first_line.type != SIP_REQUEST) {
		LM_ERR("e911: e911_dereference() needs the xhttp module and an "
			   "HTTP request\n");
		return -1;
	}
	uri = msg->first_line.u.request.uri;
	end = memchr(uri.s, '?', uri.len);
	if(end == NULL)
		end = uri.s + uri.len;
	seg = end;
	while(seg > uri.s && seg[-1] != '/')
		seg--;
	if(e911_token_get(tokens, seg, end - seg, (int64_t)time(NULL), rbuf,
			   sizeof(rbuf), &rec)
			!= E911_TOKEN_OK) {
		LM_INFO("e911: dereference of an unknown or expired location "
				"reference\n");
		return reply(msg, 404, "Not Found", "text/plain", notfound,
				sizeof(notfound) - 1);
	}
	opts.domain = e911_rewrite_cfg.domain.s;
	opts.now = time(NULL);
	opts.retention_s = 86400;
	n = e911_pidf_render(rec, &opts, pidf, sizeof(pidf));
	if(n < 0)
		return reply(msg, 500, "Server Error", "text/plain", notfound, 0);
	return reply(msg, 200, "OK", "application/pidf+xml", pidf, n);
}

/* --- the device's own location --- */

static unsigned int dev_msg_id;
static int dev_msg_pid;
static int dev_count;
static char dev_buf[4096];
static int dev_len;

/* Rewrites header hf with value v (loc-src stripped). */
static int replace_header(sip_msg_t *msg, hdr_field_t *hf, char *v, int vlen)
{
	char line[E911_GEOLOC_URI_MAX * 2 + 64];
	int n;

	n = snprintf(line, sizeof(line), "%.*s: %.*s\r\n", hf->name.len, hf->name.s,
			vlen, v);
	if(n < 0 || n >= (int)sizeof(line))
		return -1;
	return e911_replace_at(msg, hf->name.s - msg->buf, hf->len, line, n);
}

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
		if(has_src && !e911_ccfg.trust_loc_src) {
			slen = e911_geoloc_strip_locsrc(
					hf->body.s, hf->body.len, stripped, sizeof(stripped));
			if(slen >= 0 && replace_header(msg, hf, stripped, slen) == 0) {
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

/* --- PSAP callbacks --- */

void e911_callback_remember(const char *number, int len)
{
	if(recent == NULL || number == NULL || len <= 0)
		return;
	if(e911_recent_put(recent, number, len,
			   (int64_t)time(NULL) + e911_ccfg.callback_window)
			< 0)
		LM_DBG("e911: callback number not remembered\n");
}

int e911_is_psap_callback(sip_msg_t *msg)
{
	struct sip_uri u;
	hdr_field_t *hf;
	str *ruri;
	str body;

	if(msg == NULL || msg->first_line.type != SIP_REQUEST)
		return -1;
	if(parse_headers(msg, HDR_EOH_F, 0) == 0) {
		for(hf = msg->headers; hf; hf = hf->next) {
			if(hf->name.len != 8 || strncasecmp(hf->name.s, "Priority", 8))
				continue;
			body = hf->body;
			trim(&body);
			if(body.len == 13 && strncasecmp(body.s, "psap-callback", 13) == 0)
				return 1;
		}
	}
	ruri = (msg->new_uri.s && msg->new_uri.len > 0)
				   ? &msg->new_uri
				   : &msg->first_line.u.request.uri;
	if(parse_uri(ruri->s, ruri->len, &u) < 0 || u.user.len <= 0)
		return -1;
	return e911_recent_check(recent, u.user.s, u.user.len, (int64_t)time(NULL))
						   == 1
				   ? 1
				   : -1;
}
