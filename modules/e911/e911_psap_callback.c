/*
 * e911 module - PSAP callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/trim.h"

#include "core/e911_callback_memory.h"
#include "e911_dmq.h"
#include "e911_psap_callback.h"

e911_psap_callback_cfg_t e911_psap_callback_cfg = {
		.window = 1800, .max = 10000};

static e911_recent_callers_t *recent = NULL;

int e911_psap_callback_init(void)
{
	if(e911_psap_callback_cfg.window <= 0 || e911_psap_callback_cfg.max <= 0) {
		LM_ERR("e911: psap_callback_window and psap_callback_max must be "
			   "positive\n");
		return -1;
	}
	recent = e911_recent_callers_new(e911_psap_callback_cfg.max);
	if(recent == NULL) {
		LM_ERR("e911: cannot create the PSAP callback table\n");
		return -1;
	}
	return 0;
}

void e911_psap_callback_expire(int64_t now)
{
	if(recent)
		e911_recent_callers_expire(recent, now);
}

void e911_callback_remember(const char *number, int len)
{
	if(recent == NULL || number == NULL || len <= 0)
		return;
	if(e911_recent_callers_put(recent, number, len,
			   (int64_t)time(NULL) + e911_psap_callback_cfg.window)
			< 0)
		LM_DBG("e911: callback number not remembered\n");
	e911_dmq_callback(
			number, len, (int64_t)time(NULL) + e911_psap_callback_cfg.window);
}

e911_recent_callers_t *e911_callback_table(void)
{
	return recent;
}

int e911_is_psap_callback(sip_msg_t *msg)
{
	hdr_field_t *hf;
	str body;

	if(msg == NULL || msg->first_line.type != SIP_REQUEST)
		return -1;
	if(parse_headers(msg, HDR_EOH_F, 0) == 0) {
		for(hf = msg->headers; hf; hf = hf->next) {
			if(hf->type != HDR_PRIORITY_T)
				continue;
			body = hf->body;
			trim(&body);
			if(body.len == 13 && strncasecmp(body.s, "psap-callback", 13) == 0)
				return 1;
		}
	}
	/* the message's own parsed Request-URI (after any rewrite): parsed
	 * once for every script function and Kamailio itself */
	if(parse_sip_msg_uri(msg) < 0 || msg->parsed_uri.user.len <= 0)
		return -1;
	return e911_recent_callers_check(recent, msg->parsed_uri.user.s,
				   msg->parsed_uri.user.len, (int64_t)time(NULL))
						   == 1
				   ? 1
				   : -1;
}
