/*
 * e911 module - e911_check(): does a registering phone have a dispatchable location?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "../../core/ip_addr.h"

#include "core/e911_cidr.h"
#include "core/e911_outcome.h"
#include "e911_lookup.h"
#include "e911_register_check.h"
#include "e911_sitemap_confirm.h"

static struct
{
	unsigned int msg_id;
	int msg_pid;
	int moved; /* 1 moved, 0 not, -1 unknown */
	const char *reason;
} last_check;

int e911_register_check(sip_msg_t *msg, str *key)
{
	e911_loc_t *loc;
	const char *nets;
	char *ip;
	int st;
	int rc;

	last_check.msg_id = msg->id;
	last_check.msg_pid = msg->pid;
	last_check.moved = -1;
	st = e911_lookup_blocking(msg, key);
	loc = e911_loc_get(msg);
	if(loc && e911_check_needs_refetch(st, loc->source, loc->rec)) {
		st = e911_lookup_refetch(msg, key);
		loc = e911_loc_get(msg);
	}
	rc = e911_check_verdict(st, loc ? loc->rec : NULL, &last_check.reason);
	if(rc == E911_CHECK_MISSING || rc == E911_CHECK_UNAVAILABLE)
		return rc;
	/* a network new for the caller: ask them to confirm (queued) */
	e911_confirm_register(msg, loc);
	nets = e911_rec_get(loc->rec, E911_F_NETWORKS);
	if(nets) {
		ip = ip_addr2a(&msg->rcv.src_ip);
		last_check.moved =
				e911_cidr_contains(nets, ip, strlen(ip)) == 1 ? 0 : 1;
	}
	return rc;
}

int e911_register_check_result(sip_msg_t *msg, const char **reason, int *moved)
{
	if(msg == NULL || last_check.msg_id != msg->id
			|| last_check.msg_pid != msg->pid)
		return -1;
	*reason = last_check.reason;
	*moved = last_check.moved;
	return 0;
}
