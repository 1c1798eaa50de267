/*
 * e911 module - e911_check(): does a registering phone have a dispatchable location?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_REGISTER_CHECK_H
#define E911_REGISTER_CHECK_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"

/* Whether the caller has a validated, dispatchable location (for
 * REGISTER): E911_CHECK_OK (1), _MISSING (-1), _NOT_DISPATCHABLE (-2) or
 * _UNAVAILABLE (-3). Also says whether the request comes from outside the
 * networks the record was registered from ($e911(moved)). */
int e911_register_check(sip_msg_t *msg, str *key);

/* The outcome of the check made for msg: *reason ($e911(check)) and
 * *moved (1 moved, 0 not, -1 unknown: $e911(moved)). Returns 0, or -1 when
 * no check was made for msg. */
int e911_register_check_result(sip_msg_t *msg, const char **reason, int *moved);

#endif
