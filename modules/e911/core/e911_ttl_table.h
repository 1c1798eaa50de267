/*
 * e911 module - a bounded shared-memory table of entries that expire
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The one table behind the module's small shared-memory memories: the
 * location-reference tokens (e911_reference_tokens.c) and the recent
 * emergency callers (e911_callback_memory.c). (The location cache is a
 * table of its own, e911_cache.c: lock stripes, sampled LRU over records,
 * stale windows - a different job.)
 *
 * - Entries: a key (bytes), a value (bytes), an expiry. One shared-memory
 *   allocation each (e911_shm.h), a hash index over the keys and one lock.
 *   Every function takes and releases the lock itself; none returns with it
 *   held. Values are read under the lock by a callback, or copied out.
 * - Bounded by an entry count and a byte budget (0: none). Entries are kept
 *   in order of expiry, ties in order of insertion: when a put needs room
 *   the entries closest to expiry go first (expired ones first, whatever
 *   the time). When shared memory itself runs out, a put makes room the
 *   same way and retries a few times.
 * - Keyed: the bucket of a key is a hash mixed with a secret drawn at
 *   creation, and keys are compared in time independent of their content,
 *   so neither timing nor crafted keys tell or steer anything.
 * - Time is passed in by the caller (unix seconds); an entry is live while
 *   now < expires.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_TTL_TABLE_H
#define E911_TTL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define E911_TTL_KEY_MAX 255
#define E911_TTL_MAX_ENTRIES (1u << 24)

/* e911_ttl_put() flags */
#define E911_TTL_NEW 0		  /* the key must not be there yet */
#define E911_TTL_KEEP_LATER 1 /* replace, keeping the later of two expiries */

/* results */
#define E911_TTL_OK 0
#define E911_TTL_UNKNOWN -1 /* no live entry for the key */
#define E911_TTL_EXISTS -2	/* E911_TTL_NEW and the key is there */
#define E911_TTL_FAIL -3	/* bad arguments, too large, no memory */

typedef struct e911_ttl_table e911_ttl_table_t;

typedef struct e911_ttl_stats
{
	uint64_t entries;
	uint64_t bytes;		 /* shared memory held by entries */
	uint64_t evicted;	 /* removed to make room */
	uint64_t expired;	 /* removed because they expired */
	uint64_t put_failed; /* puts that found no memory */
} e911_ttl_stats_t;

/* Creates a table for up to max_entries entries (1..E911_TTL_MAX_ENTRIES)
 * and max_bytes bytes of entries (0 = no byte bound). Returns NULL on error
 * (also when the kernel gives no randomness for the secret). */
e911_ttl_table_t *e911_ttl_new(uint32_t max_entries, uint64_t max_bytes);

/* Frees every entry, the lock and the table; NULL is ignored. */
void e911_ttl_destroy(e911_ttl_table_t *t);

/* Shared-memory bytes an entry with these sizes takes. */
size_t e911_ttl_entry_size(size_t klen, size_t vlen);

/* Puts key -> value until expires. With E911_TTL_KEEP_LATER an existing
 * entry is replaced (the value is the new one, the expiry the later of the
 * two) and placed after the entries expiring no later. Returns
 * E911_TTL_OK, E911_TTL_EXISTS or E911_TTL_FAIL. */
int e911_ttl_put(e911_ttl_table_t *t, const void *key, size_t klen,
		const void *value, size_t vlen, int64_t expires, int flags);

/* Calls fn(value, vlen, arg) under the lock for the live entry of key at
 * now (an expired one met is removed); fn must only copy. Returns what fn
 * returned, or E911_TTL_UNKNOWN. */
int e911_ttl_read(e911_ttl_table_t *t, const void *key, size_t klen,
		int64_t now, int (*fn)(const void *value, size_t vlen, void *arg),
		void *arg);

/* 1 when key has a live entry at now, 0 when not (an expired one met is
 * removed), E911_TTL_FAIL on bad arguments. */
int e911_ttl_live(
		e911_ttl_table_t *t, const void *key, size_t klen, int64_t now);

/* Removes key. Returns 1 when it was there, else 0. */
int e911_ttl_remove(e911_ttl_table_t *t, const void *key, size_t klen);

/* Removes every entry expired at now. Returns how many. */
uint32_t e911_ttl_purge(e911_ttl_table_t *t, int64_t now);

/* Calls fn for every live entry at now, in order of expiry, under the lock
 * (fn must only copy); stops when fn returns non-zero. Returns the number
 * of entries visited. */
uint32_t e911_ttl_walk(e911_ttl_table_t *t, int64_t now,
		int (*fn)(const void *key, size_t klen, const void *value, size_t vlen,
				int64_t expires, void *arg),
		void *arg);

/* The current counters. */
void e911_ttl_get_stats(e911_ttl_table_t *t, e911_ttl_stats_t *st);

/* n bytes of the kernel's randomness (getrandom), for secrets and tokens.
 * Returns 0, or -1 when there is none. */
int e911_random_bytes(void *buf, size_t n);

#endif
