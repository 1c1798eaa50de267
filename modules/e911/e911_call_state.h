/*
 * e911 module - what an emergency call's transaction carries between routes
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The audit entry of the call and the memo of its rewrite live in the xavp
 * "e911", which tm keeps with the transaction (request, resumed, failure
 * and reply routes all see it). The audit entry is a pointer value
 * (SR_XTYPE_VPTR): a script can read or overwrite the xavp's fields, but
 * cannot make a pointer, so nothing a script or a caller sets is ever taken
 * for one.
 */

#ifndef E911_CALL_STATE_H
#define E911_CALL_STATE_H

#include "../../core/str.h"

/* Stores the audit entry of the current transaction. 0 or -1. */
int e911_call_state_set_audit(void *entry);

/* The audit entry stored for the current transaction, or NULL. */
void *e911_call_state_audit(void);

/* Stores a text field (name: "memo", ...) for the current transaction
 * (a copy, in shared memory). 0 or -1. */
int e911_call_state_set_str(const char *name, str *value);

/* The text field stored under name, or -1 when there is none. */
int e911_call_state_str(const char *name, str *value);

#endif
