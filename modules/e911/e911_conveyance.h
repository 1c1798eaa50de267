/*
 * e911 module - location by reference, device-provided location, PSAP
 * callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_CONV_H
#define E911_CONV_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

#include "core/e911_record.h"

/* location_mode */
#define E911_MODE_VALUE 1
#define E911_MODE_REFERENCE 2
#define E911_MODE_BOTH 3

typedef struct e911_conv_cfg
{
	int mode;			  /* E911_MODE_* */
	char *reference_base; /* reference_base_url: token appended */
	int reference_ttl;	  /* seconds a reference token lives */
	int reference_size;	  /* tokens kept at most */
	int trust_loc_src;	  /* keep loc-src of incoming Geolocation */
	int prefer_device;	  /* device location preferred over ours */
	int callback_window;  /* seconds a caller is remembered (1800) */
	int callback_size;	  /* callers remembered at most */
} e911_conv_cfg_t;

extern e911_conv_cfg_t e911_ccfg;

/* mod_init: token and caller tables in shared memory, xhttp API. */
int e911_conv_init(void);
void e911_conv_destroy(void);

/* Issues a reference URI for rec (key) into out (size bytes): the base URL
 * and a 128-bit token. Returns its length or -1. */
int e911_reference_issue(
		const char *key, const e911_record_t *rec, char *out, size_t size);

/* For event_route[xhttp:request]: answers 200 with the PIDF-LO of a live
 * token (the last path segment of the request URI), 404 otherwise.
 * Returns 1 when it replied, -1 when it could not (not an xhttp request,
 * xhttp not loaded). */
int e911_dereference(sip_msg_t *msg);

/* The device's own Geolocation values (after loc-src stripping), joined
 * with ", " - for $e911(device_location). Strips loc-src from untrusted
 * requests (trust_loc_src 0) by rewriting those header lines. Returns the
 * number of values found (0 none, -1 malformed: left untouched). */
int e911_device_location(sip_msg_t *msg, str *values);

/* Remembers the callback number of an emergency caller for the PSAP
 * callback window. */
void e911_callback_remember(const char *number, int len);

/* 1 when msg is a PSAP callback: its Request-URI user is a recent
 * emergency caller, or it has Priority: psap-callback; else -1. */
int e911_is_psap_callback(sip_msg_t *msg);

/* Housekeeping from the timer process: purge expired entries. */
void e911_conv_expire(int64_t now);

#endif
