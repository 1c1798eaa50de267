/*
 * e911 module - what the exports file offers the other glue files
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_MOD_H
#define E911_MOD_H

#include "../../core/parser/msg_parser.h"

/* Classifies the request's original Request-URI: E911_DIAL_EMERGENCY,
 * E911_DIAL_TEST or E911_DIAL_NONE; *urn gets the service URN (or NULL). */
int e911_classify_request(sip_msg_t *msg, const char **urn);

#endif
