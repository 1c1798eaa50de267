/*
 * e911 module - statistics for operators' dashboards
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The e911 statistics beyond the lookup counters: breaker state, cache
 * bytes and record age, notification queue depth, audit write errors.
 * They join the "e911" group, which xhttp_prom exports as kamailio_e911_*
 * (modparam("xhttp_prom", "xhttp_prom_stats", "e911:")); the per-call
 * metrics with labels (calls by outcome and source, lookup latency) are
 * xhttp_prom's own, fed by the reference cfg from $e911(...) - see
 * docs/operations.md.
 */

#ifndef E911_METRICS_H
#define E911_METRICS_H

#include "../../core/counters.h"

/* mod_init, after the cache, breakers and notification queue exist:
 * registers the statistics. 0 or -1. */
int e911_metrics_init(void);

#endif
