/*
 * e911 module - RPC commands and statistics callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_RPC_H
#define E911_RPC_H

#include "../../core/rpc.h"
#include "../../core/counters.h"

extern rpc_export_t e911_rpc_cmds[];

/* statistics computed from the cache's own counters */
counter_val_t e911_stat_evictions(void);
counter_val_t e911_stat_entries(void);

#endif
