/*
 * e911 module - e911.readiness: which callers are ready for a 911 call
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_READINESS_GLUE_H
#define E911_READINESS_GLUE_H

#include "../../core/rpc.h"

typedef struct e911_readiness_cfg
{
	int rate;		  /* readiness_rate: service requests per second */
	int max;		  /* readiness_max: callers one report checks at most */
	int max_age_days; /* readiness_max_age_days: default updated_at age */
} e911_readiness_cfg_t;

extern e911_readiness_cfg_t e911_readiness_cfg;
extern rpc_export_t e911_readiness_rpc[];

/* mod_init: checks the modparams, binds usrloc when it is loaded.
 * 0 or -1. */
int e911_readiness_init(void);

#endif
