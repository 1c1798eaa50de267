/*
 * e911 module - background fetching: non-blocking lookups, prefetch,
 * refresh-ahead and housekeeping
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef E911_LOOKUP_ASYNC_H
#define E911_LOOKUP_ASYNC_H

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"
#include "../../modules/tm/tm_load.h"

/* the tm API, when tm is loaded (tm_loaded) */
extern struct tm_binds tmb;
extern int tm_loaded;

typedef struct e911_async_cfg
{
	int workers;		   /* fetcher processes */
	int max_inflight;	   /* keys being fetched at once, all workers */
	int refresh_ahead;	   /* seconds before expiry an in-use entry is
							  refreshed; 0 disables refresh-ahead */
	char *snapshot_file;   /* NULL or "": no snapshot */
	int snapshot_interval; /* seconds */
	int concurrency;	   /* transfers at once per fetcher toward the
							  services, 0: async_max_inflight; more wait
							  in the fetcher's queue */
	int connections;	   /* per service host per fetcher, 0: one per
							  transfer (HTTP/2 shares them) */
	int h2_streams;		   /* transfers per HTTP/2 connection, 0: 100 */
} e911_async_cfg_t;

extern e911_async_cfg_t e911_async_cfg;

/* mod_init: shared queue, pipes, process registration. Returns 0 or -1. */
int e911_async_init(void);

/* child_init: forks the fetchers and the housekeeper from PROC_MAIN,
 * closes the pipe ends a process does not use. Returns 0 or -1. */
int e911_async_child_init(int rank);

/* mod_destroy: writes the final snapshot. */
void e911_async_destroy(void);

/* Queues a background fetch of key (prefetch / refresh) and returns at
 * once. Returns 1 queued (or already in flight), -1 when the queue is full
 * or the key is invalid. */
int e911_prefetch_key(str *key);

/* Non-blocking lookup: on a fresh (or negative) cache hit runs the route at
 * once; else suspends the transaction, hands the fetch to a fetcher and
 * resumes it in the route when the answer (or a failure) is there.
 * route is a route block name (native) or a KEMI function name.
 * Returns 1 when the route ran inline (whatever the lookup found, or the
 * cache alone when the transaction could not be suspended), 0 when
 * suspended (the script must exit), -1 when the route name is unknown or
 * the inline KEMI callback failed (the route did not run). */
int e911_lookup_async(sip_msg_t *msg, str *key, str *route);

/* Loads the snapshot file into the cache (mod_init). */
int e911_snapshot_load(void);

/* Writes the snapshot file now. Returns entries written or -1. */
int e911_snapshot_write(void);

#endif
