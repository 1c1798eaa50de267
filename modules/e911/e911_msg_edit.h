/*
 * e911 module - edits of the SIP message (lumps)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_MSG_EDIT_H
#define E911_MSG_EDIT_H

#include <stddef.h>

#include "../../core/parser/msg_parser.h"

/* Replaces dlen bytes at offset off of msg (dlen 0: inserts) with a pkg
 * copy of s[0..len), as a lump. Returns 0 or -1. */
int e911_replace_at(
		sip_msg_t *msg, int off, int dlen, const char *s, size_t len);

/* Rewrites header hf as "<its name>: v[0..vlen)". Returns 0 or -1. */
int e911_replace_header(
		sip_msg_t *msg, hdr_field_t *hf, const char *v, int vlen);

/* 1 when a lump of msg already deletes header hf (from this route or from
 * the request route, whose lumps a failure route keeps): an edit made once
 * per message is not made twice. */
int e911_header_deleted(sip_msg_t *msg, hdr_field_t *hf);

#endif
