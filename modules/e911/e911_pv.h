/*
 * e911 module - $e911(name): the lookup, the classification and the check, for scripts
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_PV_H
#define E911_PV_H

#include "../../core/kemi.h"
#include "../../core/pvar.h"

/* $e911(name): parses the name (status, source, age, key, callback, route,
 * address, pidf, validated, lat, lon, radius, updated_at, class, service,
 * device_location, endpoint_id, moved, check, or a civic field). */
int e911_pv_parse_name(pv_spec_p sp, str *in);

/* $e911(name): its value for msg, or $null. */
int e911_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

/* KSR.e911.get(name): the same for KEMI scripts. */
sr_kemi_xval_t *e911_pv_kemi_get(sip_msg_t *msg, str *name);

#endif
