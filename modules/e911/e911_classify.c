/*
 * e911 module - which calls are emergency and test calls
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <strings.h>

#include "../../core/dprint.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/parser/msg_parser.h"

#include "core/e911_dialplan.h"
#include "e911_classify.h"

e911_dialplan_cfg_t e911_dialplan_cfg = {
		.emergency_numbers = "911,112",
		.test_numbers = "933",
		.dial_prefixes = "9",
		.dial_plan_file = "",
		.default_country = "",
};

static e911_dialplan_t *dialplan = NULL;

/* the script's last classification in this process, and its message */
static struct
{
	unsigned int msg_id;
	int msg_pid;
	e911_class_t c;
} script_class;

int e911_classify_init(void)
{
	e911_dialplan_cfg_t *p = &e911_dialplan_cfg;
	char err[160];
	int countries = p->default_country[0] || p->dial_plan_file[0];

	if(countries)
		dialplan = e911_dialplan_countries(p->dial_plan_file,
				p->default_country, p->dial_prefixes, err, sizeof(err));
	else
		dialplan = e911_dialplan_new(p->emergency_numbers, p->test_numbers,
				p->dial_prefixes, err, sizeof(err));
	if(dialplan == NULL) {
		LM_ERR("e911: %s: %s\n",
				countries ? "dial_plan_file/default_country/dial_prefixes"
						  : "emergency_numbers/test_numbers/dial_prefixes",
				err);
		return -1;
	}
	return 0;
}

void e911_classify_destroy(void)
{
	e911_dialplan_free(dialplan);
	dialplan = NULL;
}

/* the class of a dialled user part (a SIP/tel URI's user, or a bare number) */
static e911_class_t classify_user(str user, const char *country)
{
	e911_class_t c = {E911_DIAL_NONE, NULL, {NULL, 0}};
	char *semi;
	char dialled[2 * E911_DIAL_MAXLEN + 1]; /* a prefix and a dial string */
	int dlen;

	/* user parameters (";phone-context=...") are not part of the number */
	semi = user.len > 0 ? memchr(user.s, ';', user.len) : NULL;
	if(semi)
		user.len = (int)(semi - user.s);
	c.dialled = user;
	/* what was dialled, escapes decoded ("%39%31%31" is 911); a user part
	 * longer than any dial string is none */
	dlen = e911_dial_unescape(
			user.s, (size_t)user.len, dialled, sizeof(dialled));
	if(dlen < 0)
		return c;
	if(country)
		c.cls = e911_dial_classify_cc(dialplan, country, dialled, dlen, &c.urn);
	else
		c.cls = e911_dial_classify(dialplan, dialled, dlen, &c.urn);
	if(c.cls == E911_DIAL_NONE)
		c.urn = NULL;
	return c;
}

static int is_urn(str *s)
{
	return s->len >= 4 && strncasecmp(s->s, "urn:", 4) == 0;
}

e911_class_t e911_classify_string(str *s, const char *country)
{
	e911_class_t c = {E911_DIAL_NONE, NULL, {NULL, 0}};
	struct sip_uri uri;

	if(s == NULL || s->s == NULL || s->len <= 0)
		return c;
	if(is_urn(s)) {
		c.dialled = *s;
		c.cls = e911_urn_classify_uri(s->s, s->len);
		if(c.cls == E911_DIAL_EMERGENCY)
			c.urn = "urn:service:sos";
		else if(c.cls == E911_DIAL_TEST)
			c.urn = "urn:service:test.sos";
		return c;
	}
	if(memchr(s->s, ':', s->len) == NULL)
		return classify_user(*s, country);
	if(parse_uri(s->s, s->len, &uri) < 0)
		return c;
	return classify_user(uri.user, country);
}

/* the class of the request's current Request-URI (after any rewrite), from
 * the message's own parsed URI */
static e911_class_t classify_ruri(sip_msg_t *msg)
{
	e911_class_t none = {E911_DIAL_NONE, NULL, {NULL, 0}};
	str *ruri;

	if(msg == NULL || msg->first_line.type != SIP_REQUEST)
		return none;
	ruri = (msg->new_uri.s && msg->new_uri.len > 0)
				   ? &msg->new_uri
				   : &msg->first_line.u.request.uri;
	if(ruri->len <= 0 || is_urn(ruri))
		return e911_classify_string(ruri, NULL);
	/* the message's own parsed Request-URI: parsed once for every script
	 * function and Kamailio itself (uri == myself, lookup, t_relay) */
	if(parse_sip_msg_uri(msg) < 0)
		return none;
	return classify_user(msg->parsed_uri.user, NULL);
}

e911_class_t e911_classify_request(sip_msg_t *msg)
{
	e911_class_t none = {E911_DIAL_NONE, NULL, {NULL, 0}};

	if(msg == NULL || msg->first_line.type != SIP_REQUEST)
		return none;
	return e911_classify_string(&msg->first_line.u.request.uri, NULL);
}

int e911_classify_note(sip_msg_t *msg, e911_class_t c)
{
	script_class.msg_id = msg ? msg->id : 0;
	script_class.msg_pid = msg ? msg->pid : 0;
	script_class.c = c;
	return c.cls;
}

int e911_classify_for_script(sip_msg_t *msg, e911_class_t *c)
{
	if(msg == NULL)
		return -1;
	if(script_class.msg_id == msg->id && script_class.msg_pid == msg->pid) {
		*c = script_class.c;
		return 0;
	}
	if(msg->first_line.type != SIP_REQUEST)
		return -1;
	*c = e911_classify_request(msg);
	return 0;
}

int e911_is_emergency_number(sip_msg_t *msg, str *num)
{
	return e911_classify_note(msg, e911_classify_string(num, NULL));
}

int e911_is_emergency(sip_msg_t *msg)
{
	return e911_classify_note(msg, classify_ruri(msg));
}

int e911_is_emergency_cc(sip_msg_t *msg, str *num, str *cc)
{
	char country[3] = "";

	if(num && num->len >= 4 && strncasecmp(num->s, "urn:", 4) == 0)
		return e911_is_emergency_number(msg, num);
	if(cc && cc->len == 2) {
		country[0] = cc->s[0];
		country[1] = cc->s[1];
		country[2] = '\0';
	}
	return e911_classify_note(msg, e911_classify_string(num, country));
}
