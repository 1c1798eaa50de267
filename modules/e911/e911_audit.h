/*
 * e911 module - the audit trail of emergency calls
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_AUDIT_H
#define E911_AUDIT_H

#include <jansson.h>

#include "../../core/parser/msg_parser.h"
#include "../../core/counters.h"
#include "../../core/rpc.h"
#include "../../core/str.h"

#include "e911_lookup.h"

typedef struct e911_audit_cfg
{
	char *path;			  /* audit_log: "" disables the trail */
	int include_location; /* audit_include_location */
} e911_audit_cfg_t;

extern e911_audit_cfg_t e911_audit_cfg;

/* audit lines that could not be written (open or write failed): the
 * statistic audit_write_errors (registered by e911_metrics.c) */
extern stat_var *e911_stat_audit_write_errors;

/* mod_init: the shared ring of recent lines. Returns 0 or -1. */
int e911_audit_init(void);
void e911_audit_destroy(void);

/* The facts of the current emergency call as a new JSON object: time,
 * Call-ID, caller, key, dialled string, classification and service,
 * location status/source/age/validated, route and reason; with_location
 * adds the one-line address and the civic fields. */
json_t *e911_call_facts(sip_msg_t *msg, e911_loc_t *loc, int with_location);

/* Starts the audit of msg's transaction (e911_route calls it): the line is
 * written when the final reply goes to the caller, or when the transaction
 * ends without one. Returns 0, or -1 (the call is not affected). */
int e911_audit_track(sip_msg_t *msg, e911_loc_t *loc);

/* Notes a failure-route retry toward uri in the transaction's audit. */
void e911_audit_retry(sip_msg_t *msg, str *uri, int with_location);

/* Notes the notification outcome ("queued", "dropped", ...). */
void e911_audit_notify(sip_msg_t *msg, const char *state);

extern rpc_export_t e911_audit_rpc[];

#endif
