/*
 * e911 module - which calls are emergency and test calls
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Classifies dialled strings and Request-URIs against the dial plan (the
 * core's e911_dialplan). Every function returns its answer; only the
 * script-facing e911_is_emergency() family records it (per message) for
 * $e911(class) and $e911(service), so the audit trail and notifications,
 * which classify too, never change what the script sees.
 */

#ifndef E911_CLASSIFY_H
#define E911_CLASSIFY_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

/* modparams of the dial plan */
typedef struct e911_dialplan_cfg
{
	char *emergency_numbers; /* emergency_numbers: "911,112" */
	char *test_numbers;		 /* test_numbers: "933" */
	char *dial_prefixes;	 /* dial_prefixes: trunk-access prefixes "9" */
	char *dial_plan_file;	 /* dial_plan_file: per-country overrides */
	char *default_country;	 /* default_country: per-country plan */
} e911_dialplan_cfg_t;

extern e911_dialplan_cfg_t e911_dialplan_cfg;

/* A classification: E911_DIAL_EMERGENCY, E911_DIAL_TEST or E911_DIAL_NONE,
 * the service URN (NULL with E911_DIAL_NONE), and the dialled string (the
 * URI's user part without user parameters, the whole URN, or the string
 * itself; points into the classified string). */
typedef struct e911_class
{
	int cls;
	const char *urn;
	str dialled;
} e911_class_t;

/* mod_init: builds the dial plan from the modparams. 0 or -1 (logged). */
int e911_classify_init(void);
void e911_classify_destroy(void);

/* Classifies a URI (urn:, sip:, sips:, tel:) or a plain dial string, as
 * dialled by a caller in country (two letters; NULL: the plan's default). */
e911_class_t e911_classify_string(str *s, const char *country);

/* Classifies the request's original Request-URI (not a rewritten one). */
e911_class_t e911_classify_request(sip_msg_t *msg);

/* Records c as the script's classification of msg ($e911(class),
 * $e911(service)). Returns c.cls. */
int e911_classify_note(sip_msg_t *msg, e911_class_t c);

/* The script functions (each records its answer with e911_classify_note()
 * and returns the class): e911_is_emergency() classifies the current
 * Request-URI (a rewritten one included; E911_DIAL_NONE, not recorded, for
 * a reply), e911_is_emergency_number() a number or URI, and
 * e911_is_emergency_cc() one dialled in country cc (two letters; anything
 * else: the plan's default; a URN classifies as without a country). */
int e911_is_emergency(sip_msg_t *msg);
int e911_is_emergency_number(sip_msg_t *msg, str *num);
int e911_is_emergency_cc(sip_msg_t *msg, str *num, str *cc);

/* The script's classification of msg into *c, or, when the script did not
 * classify msg in this process (a resumed transaction), that of its
 * original Request-URI. Returns 0, or -1 when there is neither (msg is a
 * reply nobody classified). */
int e911_classify_for_script(sip_msg_t *msg, e911_class_t *c);

#endif
