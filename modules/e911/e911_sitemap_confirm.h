/*
 * e911 module - the confirmation loop at REGISTER
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Any SIP phone can take part: when e911_check() sees a REGISTER from a
 * network new for that caller (not a site of the site map, not in the
 * record's networks, not seen in the last confirm_window seconds), the
 * module sends the device a SIP MESSAGE (confirm_message: the address on
 * file and where to update it) and posts a "location-unconfirmed" event to
 * notify_url, at most once per network per window. Both go through the
 * notification queue and its process: the REGISTER is never delayed.
 */

#ifndef E911_SITEMAP_CONFIRM_H
#define E911_SITEMAP_CONFIRM_H

#include "../../core/parser/msg_parser.h"

#include "e911_lookup.h"

typedef struct e911_confirm_cfg
{
	int window;		  /* confirm_window: seconds, 0 = no confirmation loop */
	int max;		  /* confirm_max: caller/network pairs remembered */
	char *message;	  /* confirm_message: text with {address} {url}
					   * {network} {key} */
	char *update_url; /* confirm_update_url: the self-service page */
} e911_confirm_cfg_t;

extern e911_confirm_cfg_t e911_confirm_cfg;

/* mod_init, before e911_notify_init(): checks the modparams, the memory in
 * shared memory, and asks the notification queue to carry MESSAGEs to
 * devices. 0 or -1. */
int e911_confirm_init(void);

/* After e911_check() judged msg (a REGISTER) with loc: queues the
 * confirmation when the network is new for the caller. Returns 1 queued,
 * 0 not needed, -1 could not be queued (logged; the REGISTER is not
 * affected). */
int e911_confirm_register(sip_msg_t *msg, e911_loc_t *loc);

#endif
