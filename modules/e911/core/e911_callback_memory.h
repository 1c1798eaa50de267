/*
 * e911 module - recent emergency callers (PSAP-callback memory)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Remembers the numbers that made emergency calls, for a while (RFC 6881
 * SP-35/SP-40: 30 minutes), so that a call *to* such a number can be
 * recognised as a likely PSAP callback and let through DND and forwarding.
 *
 * - A table in shared memory (the module's one expiring table,
 *   e911_ttl_table.c): a hash index keyed with a secret, one lock. Every
 *   function takes and releases the lock itself; none returns with it held.
 * - Numbers are compared as digit strings (e911_recent_callers_normalize()):
 *   "+13125550100", "13125550100", "3125550100", "tel:+1-312-555-0100" and
 *   "sip:+13125550100@host;user=phone" are all the same number.
 * - Bounded: when the table is full, a put drops the entry that expires
 *   first (with one retention time for every caller, the one put longest
 *   ago). Putting a number again renews it (the later expiry wins) and
 *   places it after every entry expiring no later. Expired entries are dropped when
 *   a check meets them and by e911_recent_callers_expire() (for a timer).
 * - Numbers of other countries in national format ("020 7946 0958") only
 *   match the same national format: without a country there is no safe
 *   way to turn them into E.164.
 * - Time is passed in by the caller (unix seconds).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_CALLBACK_MEMORY_H
#define E911_CALLBACK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define E911_RECENT_DIGITS_MAX 15 /* E.164: at most 15 digits */
#define E911_RECENT_MAX_ENTRIES (1u << 22)

typedef struct e911_recent_callers e911_recent_callers_t;

/* Creates a table in shared memory for up to max_entries numbers
 * (1..E911_RECENT_MAX_ENTRIES). Returns NULL on error. */
e911_recent_callers_t *e911_recent_callers_new(uint32_t max_entries);

/* Frees the table; no process may use it after. NULL is ignored. */
void e911_recent_callers_destroy(e911_recent_callers_t *r);

/* Normalises a number to the digits it is compared by, into out (at least
 * E911_RECENT_DIGITS_MAX + 1 bytes): the user part of a tel:, sip: or
 * sips: URI is used; an E.164 or NANP number (e911_e164_normalize) gives
 * its E.164 digits without '+'; anything else gives its digits once
 * ' ', '-', '.', '(', ')' and one leading '+' are removed, when 1..15
 * digits remain. Returns the number of digits, or -1 for a value that is
 * not a phone number. */
int e911_recent_callers_normalize(
		const char *number, size_t len, char *out, size_t outlen);

/* Remembers number until expires. Returns 0, or -1 when the number is
 * unusable or r is NULL. */
int e911_recent_callers_put(e911_recent_callers_t *r, const char *number,
		size_t len, int64_t expires);

/* Whether number was put and its entry is live at now (now < expires).
 * An expired entry met on the way is removed. Returns 1 live, 0 not, -1
 * when the number is unusable or r is NULL. */
int e911_recent_callers_check(
		e911_recent_callers_t *r, const char *number, size_t len, int64_t now);

/* Removes number. Returns 1 when it was there, 0 when not, -1 when the
 * number is unusable or r is NULL. */
int e911_recent_callers_remove(
		e911_recent_callers_t *r, const char *number, size_t len);

/* Drops every entry expired at now. Returns how many were dropped. */
uint32_t e911_recent_callers_expire(e911_recent_callers_t *r, int64_t now);

/* Number of entries held (expired ones not yet dropped included). */
uint32_t e911_recent_callers_count(e911_recent_callers_t *r);

/* Calls visit once per live number (digits only, not NUL-terminated),
 * soonest expiry first, with the lock held: visit must be quick and must
 * not call back into the table. A non-zero return stops the walk. Returns
 * the number visited. */
typedef int (*e911_recent_visit_f)(
		const char *digits, size_t len, int64_t expires, void *arg);
uint32_t e911_recent_callers_walk(e911_recent_callers_t *r, int64_t now,
		e911_recent_visit_f visit, void *arg);

#endif
