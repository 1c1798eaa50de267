/*
 * e911 module - shared-memory location cache
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A bounded hash table in shared memory, keyed by the lookup key, holding
 * location records (positive entries) and "no registered location" answers
 * (negative entries).
 *
 * - One lock per slot (a lock set from e911_shm.h). Every function takes and
 *   releases the locks it needs; none returns with a lock held.
 * - One shared-memory allocation per entry: header, key and record together.
 * - Readers copy the record out under the lock into a buffer of their own:
 *   no caller ever holds a pointer into shared memory after a call returns.
 * - Bounded by an entry count and a byte budget. When an insert would exceed
 *   either, entries are evicted: expired ones first, otherwise the least
 *   recently used among E911_EVICT_SAMPLE entries sampled across the table
 *   (approximated LRU, as Redis does), one slot lock at a time.
 *   When shared memory itself runs out, the insert evicts and retries, then
 *   gives up and reports it; callers still have the record they fetched.
 * - Time is passed in by the caller (unix seconds), which keeps the structure
 *   deterministic under test.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_CACHE_H
#define E911_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"

#define E911_EVICT_SAMPLE 16
#define E911_KEY_MAX 255

/* state of a lookup */
typedef enum e911_cstate
{
	E911_CS_MISS = 0, /* nothing usable for the key */
	E911_CS_FRESH,	  /* positive entry, now < fresh_until */
	E911_CS_STALE,	  /* positive entry, fresh_until <= now < stale_until */
	E911_CS_NEGATIVE  /* negative entry (404/410), now < expires */
} e911_cstate_t;

/* where a positive entry came from */
typedef enum e911_origin
{
	E911_ORIGIN_SERVICE = 0, /* fetched from the location service */
	E911_ORIGIN_SNAPSHOT = 1 /* loaded from the snapshot file at start-up */
} e911_origin_t;

typedef struct e911_cache_res
{
	e911_cstate_t state;
	e911_origin_t origin;
	int64_t fetched_at;	 /* when the record (or the 404) was received */
	int64_t fresh_until; /* negative entries: when they expire */
	int64_t stale_until;
	int64_t last_used; /* last lookup that returned this entry */
	uint32_t hits;	   /* lookups that returned this entry */
	/* positive entries: the copy in the caller's buffer, else NULL */
	e911_record_t *rec;
} e911_cache_res_t;

typedef struct e911_cache_stats
{
	uint64_t entries;
	uint64_t bytes; /* shared memory held by entries */
	uint64_t evictions;
	uint64_t expired;	 /* removed because their stale window ended */
	uint64_t put_failed; /* inserts that found no memory */
} e911_cache_stats_t;

typedef struct e911_cache e911_cache_t;

/* Creates a cache in shared memory with room for max_entries entries and
 * max_bytes bytes of entries (0 = no byte bound). Returns NULL on error. */
e911_cache_t *e911_cache_new(uint32_t max_entries, uint64_t max_bytes);

/* Frees every entry, the locks and the cache itself. */
void e911_cache_destroy(e911_cache_t *c);

/* Looks key up at time now. A positive entry's record is copied into buf
 * (bufsize bytes, E911_REC_MAX_SIZE always suffices) and res->rec points to
 * it. Updates the entry's last_used and hits. An entry past its stale window
 * (or an expired negative one) is removed and reported as a miss.
 * Returns res->state. */
e911_cstate_t e911_cache_lookup(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, e911_cache_res_t *res, void *buf, size_t bufsize);

/* Like e911_cache_lookup() without touching anything: hits and last_used
 * stay as they were and an expired entry is reported as a miss but left
 * for the sweep (e911.explain, readiness: looking must not change what
 * calls and evictions see). */
e911_cstate_t e911_cache_peek(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, e911_cache_res_t *res, void *buf, size_t bufsize);

/* Inserts or replaces the positive entry for key with a copy of rec.
 * The entry is fresh until fresh_until and may be served stale until
 * stale_until. A replaced entry keeps its hits and last_used.
 * Returns 0, or -1 when no memory could be found (the old entry, if any,
 * is then kept). */
int e911_cache_put(e911_cache_t *c, const char *key, size_t klen,
		const e911_record_t *rec, int64_t now, int64_t fresh_until,
		int64_t stale_until, e911_origin_t origin);

/* Inserts or replaces a negative entry (no registered location) for key,
 * valid until expires. Any positive entry for the key is dropped (the
 * service said the location is gone). Returns 0 or -1. */
int e911_cache_put_negative(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, int64_t expires);

/* Removes the entry for key. Returns 1 when one was removed, else 0. */
int e911_cache_remove(e911_cache_t *c, const char *key, size_t klen);

/* Removes every entry. Returns how many were removed. */
uint32_t e911_cache_flush(e911_cache_t *c);

/* Removes every entry whose stale window (or negative lifetime) ended before
 * now. Returns how many were removed. */
uint32_t e911_cache_expire(e911_cache_t *c, int64_t now);

/* Calls visit once per live entry, with the slot lock held: visit must be
 * quick and must not call back into the cache. res->rec points into shared
 * memory and is valid only during the call. A non-zero return stops the
 * walk. Returns the number of entries visited. */
typedef int (*e911_cache_visit_f)(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg);
uint32_t e911_cache_walk(
		e911_cache_t *c, int64_t now, e911_cache_visit_f visit, void *arg);

/* One step of an incremental sweep over count lock groups starting at
 * *cursor (which moves on, wrapping): removes the entries expired at now
 * and calls visit (when not NULL, with the same contract as
 * e911_cache_walk) for each live one until it returns non-zero. A full
 * table is e911_cache_lock_groups(c) groups. Returns how many were
 * removed. */
uint32_t e911_cache_sweep_step(e911_cache_t *c, uint32_t *cursor,
		uint32_t count, int64_t now, e911_cache_visit_f visit, void *arg);
uint32_t e911_cache_lock_groups(e911_cache_t *c);

/* Fills st with the current counters (read without locks: approximate). */
void e911_cache_get_stats(e911_cache_t *c, e911_cache_stats_t *st);

/* Shared-memory bytes an entry for this key and record takes. */
size_t e911_cache_entry_size(size_t klen, const e911_record_t *rec);

#endif
