/*
 * e911 module - recent emergency callers (PSAP-callback memory)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The table described in e911_callback_memory.h, in one shared-memory block:
 *
 *   header | bucket heads (nbuckets x uint32) | entries (max x entry)
 *
 * Entries are addressed by index (RECENT_NIL is "none"), so the block holds
 * no pointers and needs a single allocation. Each entry is on one of two
 * lists: the free list, or a hash chain (next) and the age list (older /
 * newer, oldest at the head), which gives oldest-first eviction in O(1).
 * nbuckets is the power of two >= 2 * max, so chains stay short. Emergency
 * calls are rare and callbacks checks cheap, so one lock serves the table.
 */

#include <string.h>
#include <strings.h>

#include "e911_callback_memory.h"
#include "e911_hash.h"
#include "e911_record.h"
#include "e911_shm.h"

#define RECENT_NIL UINT32_MAX
#define RECENT_BUCKETS_MIN 16u

typedef struct recent_entry
{
	int64_t expires;
	uint32_t next;	/* hash chain, or the free list */
	uint32_t older; /* age list */
	uint32_t newer;
	char digits[E911_RECENT_DIGITS_MAX + 1]; /* "" when free */
} recent_entry_t;

struct e911_recent
{
	/* read-only after e911_recent_new() */
	uint32_t max;
	uint32_t nbuckets;
	e911_lockset_t *lock;
	uint32_t *buckets;
	recent_entry_t *e;

	/* under the lock */
	uint32_t count;
	uint32_t oldest;
	uint32_t newest;
	uint32_t free;
};

/* Narrows s[0..*n) to the user part of a tel:, sip: or sips: URI (up to
 * '@' or ';'); anything else is left as it is. */
static const char *recent_user_part(const char *s, size_t *n)
{
	static const char *const schemes[] = {"tel:", "sip:", "sips:"};
	size_t skip = 0;
	size_t end;

	for(size_t i = 0; i < 3; i++) {
		size_t k = strlen(schemes[i]);

		if(*n >= k && strncasecmp(s, schemes[i], k) == 0)
			skip = k;
	}
	if(skip == 0)
		return s;
	for(end = skip; end < *n; end++) {
		if(s[end] == '@' || s[end] == ';')
			break;
	}
	*n = end - skip;
	return s + skip;
}

int e911_recent_normalize(
		const char *number, size_t len, char *out, size_t outlen)
{
	char e164[24];
	const char *s;
	size_t n = len;
	size_t nd = 0;
	size_t i = 0;

	if(number == NULL || out == NULL || outlen < E911_RECENT_DIGITS_MAX + 1)
		return -1;
	if(e911_e164_normalize(number, len, e164, sizeof(e164)) == 0) {
		nd = strlen(e164 + 1);
		memcpy(out, e164 + 1, nd + 1);
		return (int)nd;
	}
	while(n > 0 && number[0] == ' ') {
		number++;
		n--;
	}
	while(n > 0 && number[n - 1] == ' ')
		n--;
	s = recent_user_part(number, &n);
	if(n > 0 && s[0] == '+')
		i = 1;
	for(; i < n; i++) {
		char c = s[i];

		if(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		if(c < '0' || c > '9' || nd == E911_RECENT_DIGITS_MAX)
			return -1;
		out[nd++] = c;
	}
	if(nd == 0)
		return -1;
	out[nd] = '\0';
	return (int)nd;
}

static uint32_t recent_pow2(uint64_t n)
{
	uint32_t p = RECENT_BUCKETS_MIN;

	while(p < n)
		p <<= 1;
	return p;
}

/* FNV-1a over the digits. */
static uint32_t recent_hash(const char *d)
{
	return (uint32_t)e911_hash(d, strlen(d));
}

e911_recent_t *e911_recent_new(uint32_t max_entries)
{
	e911_recent_t *r;
	uint32_t nb;
	size_t size;

	if(max_entries == 0 || max_entries > E911_RECENT_MAX_ENTRIES)
		return NULL;
	nb = recent_pow2((uint64_t)max_entries * 2);
	size = sizeof(*r) + (size_t)nb * sizeof(uint32_t)
		   + (size_t)max_entries * sizeof(recent_entry_t);
	r = e911_shm_malloc(size);
	if(r == NULL)
		return NULL;
	memset(r, 0, size);
	r->lock = e911_lockset_new(1);
	if(r->lock == NULL) {
		e911_shm_free(r);
		return NULL;
	}
	r->max = max_entries;
	r->nbuckets = nb;
	r->buckets = (uint32_t *)(r + 1);
	/* entries hold an int64_t: the bucket array keeps them 8-aligned only
	 * when its size is a multiple of 8, which nb >= 16 guarantees */
	r->e = (recent_entry_t *)(r->buckets + nb);
	for(uint32_t b = 0; b < nb; b++)
		r->buckets[b] = RECENT_NIL;
	for(uint32_t i = 0; i < max_entries; i++)
		r->e[i].next = i + 1 < max_entries ? i + 1 : RECENT_NIL;
	r->free = 0;
	r->oldest = RECENT_NIL;
	r->newest = RECENT_NIL;
	return r;
}

void e911_recent_destroy(e911_recent_t *r)
{
	if(r == NULL)
		return;
	e911_lockset_destroy(r->lock);
	e911_shm_free(r);
}

/* Address of the chain link that points at the entry for d (holding
 * RECENT_NIL when there is none). */
static uint32_t *recent_find_locked(e911_recent_t *r, const char *d)
{
	uint32_t *pp = &r->buckets[recent_hash(d) & (r->nbuckets - 1)];

	while(*pp != RECENT_NIL && strcmp(r->e[*pp].digits, d) != 0)
		pp = &r->e[*pp].next;
	return pp;
}

/* Takes entry i off the age list. */
static void recent_age_unlink_locked(e911_recent_t *r, uint32_t i)
{
	recent_entry_t *e = &r->e[i];

	if(e->older != RECENT_NIL)
		r->e[e->older].newer = e->newer;
	else
		r->oldest = e->newer;
	if(e->newer != RECENT_NIL)
		r->e[e->newer].older = e->older;
	else
		r->newest = e->older;
	e->older = RECENT_NIL;
	e->newer = RECENT_NIL;
}

/* Makes entry i the newest. */
static void recent_age_push_locked(e911_recent_t *r, uint32_t i)
{
	r->e[i].older = r->newest;
	r->e[i].newer = RECENT_NIL;
	if(r->newest != RECENT_NIL)
		r->e[r->newest].newer = i;
	else
		r->oldest = i;
	r->newest = i;
}

/* Unlinks the entry at chain link *pp and returns it to the free list. */
static void recent_drop_locked(e911_recent_t *r, uint32_t *pp)
{
	uint32_t i = *pp;

	*pp = r->e[i].next;
	recent_age_unlink_locked(r, i);
	r->e[i].digits[0] = '\0';
	r->e[i].next = r->free;
	r->free = i;
	r->count--;
}

/* Drops the oldest entry. */
static void recent_drop_oldest_locked(e911_recent_t *r)
{
	uint32_t *pp = recent_find_locked(r, r->e[r->oldest].digits);

	recent_drop_locked(r, pp);
}

/* Drops every entry expired at now; returns how many. */
static uint32_t recent_expire_locked(e911_recent_t *r, int64_t now)
{
	uint32_t n = 0;
	uint32_t i = r->oldest;

	while(i != RECENT_NIL) {
		uint32_t next = r->e[i].newer;

		if(r->e[i].expires <= now) {
			recent_drop_locked(r, recent_find_locked(r, r->e[i].digits));
			n++;
		}
		i = next;
	}
	return n;
}

int e911_recent_put(
		e911_recent_t *r, const char *number, size_t len, int64_t expires)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	uint32_t *pp;
	uint32_t i;

	if(r == NULL || e911_recent_normalize(number, len, d, sizeof(d)) < 0)
		return -1;
	e911_lock(r->lock, 0);
	pp = recent_find_locked(r, d);
	if(*pp != RECENT_NIL) {
		i = *pp;
		if(expires > r->e[i].expires)
			r->e[i].expires = expires;
		recent_age_unlink_locked(r, i);
		recent_age_push_locked(r, i);
		e911_unlock(r->lock, 0);
		return 0;
	}
	if(r->count == r->max) {
		recent_drop_oldest_locked(r);
		pp = recent_find_locked(r, d);
	}
	i = r->free;
	r->free = r->e[i].next;
	memcpy(r->e[i].digits, d, sizeof(d));
	r->e[i].expires = expires;
	r->e[i].next = *pp;
	*pp = i;
	recent_age_push_locked(r, i);
	r->count++;
	e911_unlock(r->lock, 0);
	return 0;
}

int e911_recent_check(
		e911_recent_t *r, const char *number, size_t len, int64_t now)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	uint32_t *pp;
	int live = 0;

	if(r == NULL || e911_recent_normalize(number, len, d, sizeof(d)) < 0)
		return -1;
	e911_lock(r->lock, 0);
	pp = recent_find_locked(r, d);
	if(*pp != RECENT_NIL) {
		if(now < r->e[*pp].expires)
			live = 1;
		else
			recent_drop_locked(r, pp);
	}
	e911_unlock(r->lock, 0);
	return live;
}

int e911_recent_remove(e911_recent_t *r, const char *number, size_t len)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	uint32_t *pp;
	int found = 0;

	if(r == NULL || e911_recent_normalize(number, len, d, sizeof(d)) < 0)
		return -1;
	e911_lock(r->lock, 0);
	pp = recent_find_locked(r, d);
	if(*pp != RECENT_NIL) {
		recent_drop_locked(r, pp);
		found = 1;
	}
	e911_unlock(r->lock, 0);
	return found;
}

uint32_t e911_recent_expire(e911_recent_t *r, int64_t now)
{
	uint32_t n;

	if(r == NULL)
		return 0;
	e911_lock(r->lock, 0);
	n = recent_expire_locked(r, now);
	e911_unlock(r->lock, 0);
	return n;
}

uint32_t e911_recent_count(e911_recent_t *r)
{
	uint32_t n;

	if(r == NULL)
		return 0;
	e911_lock(r->lock, 0);
	n = r->count;
	e911_unlock(r->lock, 0);
	return n;
}
