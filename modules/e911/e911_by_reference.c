/*
 * e911 module - location by reference
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/sr_module.h"
#include "../../modules/xhttp/api.h"

#include "core/e911_pidf.h"
#include "core/e911_reference_tokens.h"
#include "e911_dmq.h"
#include "e911_by_reference.h"

e911_reference_cfg_t e911_reference_cfg = {
		.location_mode = "value", .base_url = "", .ttl = 300, .max = 10000};

static e911_tokens_t *tokens = NULL;
static const char *pidf_domain = "localhost";
static xhttp_api_t xhttp;
static int xhttp_ok = 0;

int e911_reference_init(const char *domain)
{
	e911_reference_cfg_t *c = &e911_reference_cfg;

	pidf_domain = domain;
	if(strcasecmp(c->location_mode, "value") == 0) {
		c->mode = E911_MODE_VALUE;
	} else if(strcasecmp(c->location_mode, "reference") == 0) {
		c->mode = E911_MODE_REFERENCE;
	} else if(strcasecmp(c->location_mode, "both") == 0) {
		c->mode = E911_MODE_BOTH;
	} else {
		LM_ERR("e911: modparam location_mode must be value, reference or "
			   "both\n");
		return -1;
	}
	if(c->ttl <= 0 || c->max <= 0) {
		LM_ERR("e911: reference_ttl and reference_max must be positive\n");
		return -1;
	}

	if(e911_reference_cfg.mode != E911_MODE_VALUE) {
		if(e911_reference_cfg.base_url == NULL
				|| (strncasecmp(e911_reference_cfg.base_url, "https://", 8) != 0
						&& strncasecmp(
								   e911_reference_cfg.base_url, "http://", 7)
								   != 0)
				|| strpbrk(e911_reference_cfg.base_url, " \t\r\n<>\"")
						   != NULL) {
			LM_ERR("e911: location_mode reference/both needs "
				   "reference_base_url (https://host[:port]/path/)\n");
			return -1;
		}
		if(strncasecmp(e911_reference_cfg.base_url, "http://", 7) == 0
				&& strncmp(e911_reference_cfg.base_url + 7, "127.", 4) != 0
				&& strncmp(e911_reference_cfg.base_url + 7, "localhost", 9) != 0
				&& strncmp(e911_reference_cfg.base_url + 7, "[::1]", 5) != 0) {
			LM_ERR("e911: reference_base_url must be https:// (http:// only "
				   "on loopback)\n");
			return -1;
		}
		tokens = e911_tokens_new(e911_reference_cfg.max, 0);
		if(tokens == NULL) {
			LM_ERR("e911: cannot create the reference token table\n");
			return -1;
		}
	}
	if(module_loaded("xhttp")) {
		if(xhttp_load_api(&xhttp) == 0)
			xhttp_ok = 1;
	} else if(c->mode != E911_MODE_VALUE) {
		LM_WARN("e911: location by reference without the xhttp module: "
				"e911_dereference() cannot answer\n");
	}
	return 0;
}

e911_tokens_t *e911_reference_table(void)
{
	return tokens;
}

void e911_reference_expire(int64_t now)
{
	if(tokens)
		e911_tokens_purge(tokens, now);
}

int e911_reference_issue(
		const char *key, const e911_record_t *rec, char *out, size_t size)
{
	char tok[E911_TOKEN_SIZE];
	int n;

	if(tokens == NULL)
		return -1;
	if(e911_token_new(tokens, key, strlen(key), rec,
			   (int64_t)time(NULL) + e911_reference_cfg.ttl, tok)
			< 0) {
		LM_ERR("e911: cannot issue a location reference\n");
		return -1;
	}
	e911_dmq_token(tok, key, rec, (int64_t)time(NULL) + e911_reference_cfg.ttl);
	n = snprintf(out, size, "%s%s", e911_reference_cfg.base_url, tok);
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
	opts = e911_pidf_options(pidf_domain, time(NULL));
	n = e911_pidf_render(rec, &opts, pidf, sizeof(pidf));
	if(n < 0)
		return reply(msg, 500, "Server Error", "text/plain", notfound, 0);
	return reply(msg, 200, "OK", "application/pidf+xml", pidf, n);
}
