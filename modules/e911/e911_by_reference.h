/*
 * e911 module - location by reference
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
 * bounded shared-memory table (core/e911_reference_tokens.c), so any
 * process can answer.
 */

#ifndef E911_BY_REFERENCE_H
#define E911_BY_REFERENCE_H

#include <stdint.h>

#include "../../core/parser/msg_parser.h"

#include "core/e911_record.h"
#include "core/e911_reference_tokens.h"

/* location_mode */
#define E911_MODE_VALUE 1
#define E911_MODE_REFERENCE 2
#define E911_MODE_BOTH 3

/* modparams of location by reference */
typedef struct e911_reference_cfg
{
	char *location_mode; /* location_mode: value, reference or both */
	char *base_url;		 /* reference_base_url: token appended */
	int ttl;			 /* reference_ttl: seconds a token lives */
	int max;			 /* reference_max: tokens kept at most */
	int mode;			 /* E911_MODE_*, from location_mode */
} e911_reference_cfg_t;

extern e911_reference_cfg_t e911_reference_cfg;

/* mod_init: checks the modparams, creates the token table (reference
 * modes) and binds xhttp. domain is the PIDF-LO entity's host. 0 or -1. */
int e911_reference_init(const char *domain);

/* Housekeeping from the timer process: drops expired tokens. */
void e911_reference_expire(int64_t now);

/* Issues a reference URI for rec (key) into out (size bytes): the base URL
 * and a 128-bit token. Returns its length or -1. */
/* The token table (NULL when location_mode is value), for replication. */
e911_tokens_t *e911_reference_table(void);

int e911_reference_issue(
		const char *key, const e911_record_t *rec, char *out, size_t size);

/* For event_route[xhttp:request]: answers 200 with the PIDF-LO of a live
 * token (the last path segment of the request URI), 404 otherwise.
 * Returns 1 when it replied, -1 when it could not (not an xhttp request,
 * xhttp not loaded). */
int e911_dereference(sip_msg_t *msg);

#endif
