/*
 * e911 module - e911.explain: what a call from a caller would get now
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_EXPLAIN_GLUE_H
#define E911_EXPLAIN_GLUE_H

#include <jansson.h>

#include "../../core/kemi.h"
#include "../../core/rpc.h"
#include "../../core/str.h"

extern rpc_export_t e911_explain_rpc[];

/* The explanation for a call from key dialling dialled (NULL or empty:
 * "911"), seen from source_ip (NULL or empty: not judged), as a JSON
 * object into *out; the service is asked only with fetch set. Nothing is
 * audited, notified, cached or counted as a call.
 * Returns 0, or an RPC error code (400 bad input, 404 no record, 500)
 * with *err saying why. */
int e911_explain(str *key, str *dialled, str *source_ip, int fetch,
		json_t **out, const char **err);

/* KSR.e911.explain(key, dialled, source_ip): the same (never fetching) as
 * JSON text; on bad input {"error": "...", "code": N}. */
sr_kemi_xval_t *e911_explain_kemi(
		sip_msg_t *msg, str *key, str *dialled, str *source_ip);

#endif
