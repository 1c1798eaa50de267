/*
 * e911 module - PSAP callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * PSAP callbacks (RFC 6881 SP-35/40, RFC 7090): the callback numbers of
 * emergency callers are remembered for psap_callback_window seconds;
 * e911_is_psap_callback() is true for a call to one of them or with
 * Priority: psap-callback, so the script can bypass DND and forwarding.
 */

#ifndef E911_PSAP_CALLBACK_H
#define E911_PSAP_CALLBACK_H

#include <stdint.h>

#include "../../core/parser/msg_parser.h"

#include "core/e911_callback_memory.h"

/* modparams of the PSAP-callback memory */
typedef struct e911_psap_callback_cfg
{
	int window; /* psap_callback_window: seconds a caller is remembered */
	int max;	/* psap_callback_max: callers remembered at most */
} e911_psap_callback_cfg_t;

extern e911_psap_callback_cfg_t e911_psap_callback_cfg;

/* mod_init: checks the modparams, creates the table. 0 or -1. */
int e911_psap_callback_init(void);

/* Housekeeping from the timer process: forgets expired callers. */
void e911_psap_callback_expire(int64_t now);

/* Remembers the callback number of an emergency caller for the PSAP
 * callback window. */
void e911_callback_remember(const char *number, int len);

/* The table of recent emergency callers, for replication. */
e911_recent_callers_t *e911_callback_table(void);

/* 1 when msg is a PSAP callback: its Request-URI user is a recent
 * emergency caller, or it has Priority: psap-callback; else -1. */
int e911_is_psap_callback(sip_msg_t *msg);

#endif
