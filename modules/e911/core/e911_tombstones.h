/*
 * e911 module - removal tombstones for replication
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A node that removed a key (the service said 404/410, an administrator
 * flushed it, a peer told it either) remembers when, so that a record
 * fetched before that removal and arriving afterwards (a late DMQ message,
 * a join-time sync that crossed the removal) is refused instead of bringing
 * the removed location back. A flush of the whole cache is one time for
 * every key.
 *
 * - The rule: a record fetched at fetched_at is refused when the key was
 *   removed at removed_at >= fetched_at (a removal drops what was fetched
 *   no later than it: e911_repl_removes). A record fetched after the
 *   removal is taken as usual.
 * - Bounded: a tombstone lives window seconds after its removal (the
 *   longest a record fetched before it could still be served: the cache's
 *   fresh plus stale lifetime), in an expiring table of at most max_entries
 *   entries and max_bytes bytes (e911_ttl_table.h: a full table drops the
 *   tombstone closest to expiry first). Two removals of one key keep the
 *   later time.
 * - In shared memory, safe from every process (the table's lock; the flush
 *   time is an atomic).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_TOMBSTONES_H
#define E911_TOMBSTONES_H

#include <stddef.h>
#include <stdint.h>

typedef struct e911_tombstones e911_tombstones_t;

/* Creates the tombstones (shared memory) for up to max_entries keys and
 * max_bytes bytes (0: no byte bound), each kept window seconds (> 0) after
 * its removal. NULL on error. */
e911_tombstones_t *e911_tombstones_new(
		uint32_t max_entries, uint64_t max_bytes, int64_t window);

/* Frees everything; NULL is ignored. */
void e911_tombstones_destroy(e911_tombstones_t *t);

/* key (klen bytes) was removed at removed_at. Keeps the later of two
 * removals. 0, or -1 (bad arguments, no memory). */
int e911_tombstone_put(
		e911_tombstones_t *t, const char *key, size_t klen, int64_t removed_at);

/* The whole cache was flushed at flushed_at (the later of two is kept). */
void e911_tombstones_flush(e911_tombstones_t *t, int64_t flushed_at);

/* When key was last removed (its tombstone or the last flush, the later)
 * as remembered at now, or -1 when no removal is remembered. */
int64_t e911_tombstone_removed_at(
		e911_tombstones_t *t, const char *key, size_t klen, int64_t now);

/* 1 when a record of key fetched at fetched_at must be refused at now (a
 * remembered removal at or after fetched_at), else 0. */
int e911_tombstone_refuses(e911_tombstones_t *t, const char *key, size_t klen,
		int64_t fetched_at, int64_t now);

/* Tombstones held (live or not yet purged). */
uint64_t e911_tombstones_count(e911_tombstones_t *t);

/* Drops the tombstones expired at now. Returns how many. */
uint32_t e911_tombstones_purge(e911_tombstones_t *t, int64_t now);

#endif
