/*
 * e911 module - active health checking of the location services
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_PROBE_H
#define E911_PROBE_H

/* mod_init: registers the prober process. Returns 0 or -1. */
int e911_probe_init(void);

/* child_init: forks the prober from PROC_MAIN. Returns 0 or -1. */
int e911_probe_child_init(int rank);

#endif
