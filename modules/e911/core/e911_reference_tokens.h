/*
 * e911 module - location-reference tokens
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Location by reference (RFC 6442): the Geolocation header carries an
 * https:// URI with an unguessable token, and the module answers the
 * dereference from this table, which maps each token to a copy of the
 * location record it was issued for, until the token expires.
 *
 * - Tokens are 128 bits from getrandom(2), written as 32 lower-case hex
 *   characters. Without the kernel's randomness no token is issued.
 * - A table in shared memory (e911_shm.h): one allocation per entry
 *   (header, key, record), a hash index keyed with a secret drawn at
 *   creation, and one lock. Every function takes and releases the lock
 *   itself; none returns with it held, and readers copy the record out
 *   under the lock into a buffer of their own.
 * - Lookups compare tokens in constant time, and the bucket a token falls
 *   in depends on the secret, so timing tells nothing about live tokens.
 * - Bounded by an entry count and a byte budget. Entries are kept in order
 *   of expiry: when a new token needs room, the entries closest to expiry
 *   (expired ones first, whatever the time) are removed. Expired entries
 *   are also removed when a lookup meets them and by e911_tokens_purge().
 * - Time is passed in by the caller (unix seconds).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_REFERENCE_TOKENS_H
#define E911_REFERENCE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"
#include "e911_ttl_table.h"

#define E911_TOKEN_LEN 32  /* hex characters of a token */
#define E911_TOKEN_SIZE 33 /* a token and its NUL */
#define E911_TOKEN_KEY_MAX 255

/* e911_token_get() results */
#define E911_TOKEN_OK 0
#define E911_TOKEN_UNKNOWN -1 /* unknown, malformed or expired token */
#define E911_TOKEN_NOSPACE -2 /* buf smaller than the record */

typedef struct e911_tokens e911_tokens_t;

/* the counters of the table (issue failures: put_failed) */
typedef e911_ttl_stats_t e911_tokens_stats_t;

/* Creates a table in shared memory for up to max_entries tokens and
 * max_bytes bytes of entries (0 = no byte bound). Returns NULL on error
 * (also when the kernel gives no randomness for the hash secret). */
e911_tokens_t *e911_tokens_new(uint32_t max_entries, uint64_t max_bytes);

/* Frees every entry, the lock and the table; no process may use it after.
 * NULL is ignored. */
void e911_tokens_destroy(e911_tokens_t *t);

/* Issues a new token for a copy of rec (and the lookup key it was found
 * for), valid until expires; writes it NUL-terminated into token_out
 * (at least E911_TOKEN_SIZE bytes). Returns 0, or -1 (bad arguments, no
 * randomness, no memory; token_out is then ""). */
int e911_token_new(e911_tokens_t *t, const char *key, size_t klen,
		const e911_record_t *rec, int64_t expires, char *token_out);

/* Stores rec for key under the given token (E911_TOKEN_LEN hex
 * characters, as another node issued it) until expires, replacing an entry
 * with that token. Returns 0, or -1 (malformed token, bad arguments, no
 * memory). */
int e911_token_put(e911_tokens_t *t, const char *token, size_t len,
		const char *key, size_t klen, const e911_record_t *rec,
		int64_t expires);

/* Calls visit once per live token, oldest expiry first, with the table's
 * lock held: visit must be quick (copy what it keeps) and must not call back
 * into the table; rec is valid only during the call. A non-zero return stops
 * the walk. Returns the number of tokens visited. */
typedef int (*e911_tokens_visit_f)(const char *token, const char *key,
		size_t klen, int64_t expires, const e911_record_t *rec, void *arg);
uint32_t e911_tokens_walk(
		e911_tokens_t *t, int64_t now, e911_tokens_visit_f visit, void *arg);

/* Looks token[0..len) up at now and copies its record into buf (bufsize
 * bytes; E911_REC_MAX_SIZE always suffices), pointing *rec_out at it.
 * Returns E911_TOKEN_OK (0), E911_TOKEN_UNKNOWN (-1: unknown, malformed or
 * expired; an expired entry is removed) or E911_TOKEN_NOSPACE. */
int e911_token_get(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		void *buf, size_t bufsize, e911_record_t **rec_out);

/* Copies the lookup key a live token was issued for into key (keysize
 * bytes, NUL-terminated). Returns its length, E911_TOKEN_UNKNOWN or
 * E911_TOKEN_NOSPACE. */
int e911_token_key(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		char *key, size_t keysize);

/* Withdraws a token. Returns 1 when it was there, else 0. */
int e911_token_revoke(e911_tokens_t *t, const char *token, size_t len);

/* Removes every entry expired at now (now >= expires). Returns how many. */
uint32_t e911_tokens_purge(e911_tokens_t *t, int64_t now);

/* Fills st with the current counters. */
void e911_tokens_get_stats(e911_tokens_t *t, e911_tokens_stats_t *st);

/* Shared-memory bytes an entry for this key and record takes. */
size_t e911_tokens_entry_size(size_t klen, const e911_record_t *rec);

#endif
