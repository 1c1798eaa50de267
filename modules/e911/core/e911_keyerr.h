/*
 * e911 module - per-key error memory
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A key whose lookup failed is remembered for a short time (error_ttl):
 * meanwhile its callers get the stale record or the fallback at once, so
 * one broken record cannot occupy fetchers, keep re-timing-out, or count
 * again and again against the service.
 *
 * The policy (e911_keyerr_note):
 *   - a record or a 404 forgets the key;
 *   - an answer that is an error for the key (5xx, broken body), a timeout
 *     and a connection closed with no answer remember it: each may be the
 *     record's own fault;
 *   - a refused or failed connection and a TLS failure are never the key's
 *     fault (the breaker deals with them), nor is a local failure (the
 *     request never left): not remembered.
 * When the breaker closes after a real outage (a probe failed meanwhile),
 * the timeouts and resets remembered since the outage began were the
 * service's, not the keys': e911_keyerr_forget_since() drops them, so those
 * callers are located again at once. After per-key hangs (the first probe
 * answered) they stay remembered.
 *
 * A fixed table in shared memory: sets of E911_KEYERR_WAYS entries, one
 * lock per set; a full set gives its oldest entry. Keys are stored whole (no
 * hash collision can make a caller lose a location). Part of the module's
 * pure core: no Kamailio headers.
 */

#ifndef E911_KEYERR_H
#define E911_KEYERR_H

#include <stddef.h>
#include <stdint.h>

#include "e911_breaker.h"
#include "e911_cache.h"

#define E911_KEYERR_WAYS 8

typedef struct e911_keyerr e911_keyerr_t;

/* What the memory says about a key. */
typedef struct e911_keyerr_hit
{
	e911_fail_t kind; /* how its last lookup failed */
	int64_t at;		  /* ms: when */
	int64_t until;	  /* ms: remembered until */
	uint32_t fails;	  /* failures in a row */
} e911_keyerr_hit_t;

/* A table for about `entries` keys (rounded up to a power-of-two number of
 * sets). NULL when out of shared memory. */
e911_keyerr_t *e911_keyerr_new(unsigned entries);
void e911_keyerr_destroy(e911_keyerr_t *m);

/* 1 when key is remembered at now_ms (hit filled when not NULL), else 0. */
int e911_keyerr_check(e911_keyerr_t *m, const char *key, size_t klen,
		int64_t now_ms, e911_keyerr_hit_t *hit);

/* Applies the policy above to a lookup of key that ended with kind.
 * Returns 1 when the key is now remembered, -1 when it was forgotten, 0
 * when nothing changed. ttl_ms <= 0 disables the memory (returns 0). */
int e911_keyerr_note(e911_keyerr_t *m, const char *key, size_t klen,
		e911_fail_t kind, int64_t now_ms, int64_t ttl_ms);

/* Forgets the timeouts and resets remembered at or after since_ms.
 * Returns how many were forgotten. */
int e911_keyerr_forget_since(e911_keyerr_t *m, int64_t since_ms);

/* Keys remembered at now_ms. */
int e911_keyerr_count(e911_keyerr_t *m, int64_t now_ms);

#endif
