/*
 * e911 module - replication between cluster nodes over Kamailio's DMQ
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * With modparam replicate=1 and the dmq module loaded, the module registers
 * the DMQ peer "e911" and shares with the other nodes what it learns:
 * records fetched from the location service (with their fetch time and
 * updated_at: the newer wins), removals (404/410, e911.flush), location
 * references and PSAP-callback numbers. A node that starts asks one live
 * peer for everything it holds (join-time sync).
 *
 * The hooks below are what the rest of the module calls. Each returns at
 * once: it copies what it is given onto a bounded queue in shared memory
 * (a full queue drops and counts, it never waits) and the "e911 dmq"
 * process encodes and sends. With replication off they do nothing.
 *
 * What arrives is applied only from a node in the dmq module's list (source
 * address checked), validated like a service answer
 * (core/e911_replication.c), and never sent on: no loops.
 */

#ifndef E911_DMQ_H
#define E911_DMQ_H

#include <stdint.h>

#include "core/e911_cache.h"
#include "core/e911_callback_memory.h"
#include "core/e911_record.h"
#include "core/e911_reference_tokens.h"

typedef struct e911_dmq_cfg
{
	int replicate;	  /* replicate: 0 off, 1 on (needs the dmq module) */
	int queue_size;	  /* dmq_queue_size: updates waiting to be sent */
	int max_body;	  /* dmq_max_body: bytes of one KDMQ body */
	int sync;		  /* dmq_sync: ask a peer for everything at start */
	int sync_timeout; /* dmq_sync_timeout: seconds without progress */
} e911_dmq_cfg_t;

extern e911_dmq_cfg_t e911_dmq_cfg;

/* What replication reads and writes: the tables (tokens and recent may be
 * NULL) and the cache's lifetimes (seconds). */
typedef struct e911_dmq_tables
{
	e911_cache_t *cache;
	e911_tokens_t *tokens;
	e911_recent_callers_t *recent;
	int cache_ttl;
	int stale_ttl;
	int cache_size; /* entries: bounds the removal tombstones too */
} e911_dmq_tables_t;

/* mod_init, once the tables exist: checks the modparams, binds the dmq API,
 * registers the peer, the queue, the statistics and the e911.cluster RPC,
 * and one process. 0 or -1. */
int e911_dmq_init(const e911_dmq_tables_t *tables);
/* child_init: forks the sender from PROC_MAIN. 0 or -1. */
int e911_dmq_child_init(int rank);

/* --- hooks: each returns at once --- */

/* A record fetched from the service at fetched_at. */
void e911_dmq_put(const char *key, int klen, const e911_record_t *rec,
		int64_t fetched_at);
/* The service said the key has no location (404/410), or an administrator
 * removed it, at time at. */
void e911_dmq_remove(const char *key, int klen, int64_t at);
/* An administrator flushed the whole cache at time at. */
void e911_dmq_flush(int64_t at);
/* e911.flush: of one key (key non-NULL) or of the whole cache. */
void e911_dmq_flush_or_remove(const char *key, int klen, int64_t at);
/* A location reference was issued for key until expires. */
void e911_dmq_token(const char *token, const char *key,
		const e911_record_t *rec, int64_t expires);
/* An emergency caller's callback number, remembered until expires. */
void e911_dmq_callback(const char *number, int len, int64_t expires);

#endif
