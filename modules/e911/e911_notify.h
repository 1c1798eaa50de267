/*
 * e911 module - Kari's Law notifications
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_NOTIFY_H
#define E911_NOTIFY_H

#include <jansson.h>

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

typedef struct e911_notify_cfg
{
	char *url;			 /* notify_url: webhook, "" = none */
	char *sip_uri;		 /* notify_sip_uri: SIP MESSAGE target, "" = none */
	char *sip_from;		 /* notify_sip_from: From of the MESSAGE */
	int test_calls;		 /* notify_test_calls */
	int retries;		 /* notify_retries: attempts after the first */
	int queue_size;		 /* notify_queue_size */
	int timeout_ms;		 /* notify_timeout_ms: one webhook attempt */
	char *auth_header;	 /* notify_auth_header */
	int device_messages; /* set by e911_confirm_init(): MESSAGEs to devices */
} e911_notify_cfg_t;

extern e911_notify_cfg_t e911_notify_cfg;

/* mod_init: checks the modparams (the MESSAGE comes from sip:e911@domain
 * unless notify_sip_from says otherwise), queue in shared memory, one
 * process. 0 or -1. */
int e911_notify_init(const char *domain);
/* child_init: forks the notifier from PROC_MAIN. 0 or -1. */
int e911_notify_child_init(int rank);

/* Queues the notification of the current emergency call (one per
 * configured target) and returns at once: 1 queued, 2 not needed (nothing
 * configured, or a test call without notify_test_calls), -1 dropped (queue
 * full or no memory: counted and logged, the call is not affected). */
int e911_notify_call(sip_msg_t *msg);

/* Notifications waiting on the queue (to send or to retry) now, read
 * without the lock; 0 without notifications. */
int e911_notify_queue_depth(void);

/* Queues an event (a JSON object, not consumed) for notify_url. Returns 1
 * queued, 2 no notify_url, -1 dropped (queue full, logged and counted). */
int e911_notify_event(json_t *event);

/* Queues a text/plain MESSAGE to a device: Request-URI ruri (its Contact),
 * To to, sent to the next hop dst (where its REGISTER came from). Same
 * returns as e911_notify_event(); 2 when device MESSAGEs are off. */
int e911_notify_device(str *ruri, str *to, str *dst, const char *text, int len);

#endif
