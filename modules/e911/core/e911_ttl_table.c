/*
 * e911 module - a bounded shared-memory table of entries that expire
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "e911_hash.h"
#include "e911_shm.h"
#include "e911_ttl_table.h"

#define TTL_BUCKETS_MIN 16u
#define TTL_BUCKETS_MAX (1u << 24)
/* attempts to find shared memory (making room before each retry) */
#define TTL_OOM_RETRIES 4

typedef struct ttl_entry
{
	struct ttl_entry *next;	  /* hash chain */
	struct ttl_entry *prev_x; /* expiry list */
	struct ttl_entry *next_x;
	int64_t expires;
	uint32_t size; /* bytes of this allocation */
	uint32_t vlen;
	uint16_t klen;
	uint64_t data[]; /* the key, padding to 8 bytes, the value */
} ttl_entry_t;

struct e911_ttl_table
{
	/* read-only after e911_ttl_new() */
	uint32_t max_entries;
	uint32_t nbuckets;
	uint64_t max_bytes;
	uint64_t secret;
	e911_lockset_t *lock;
	ttl_entry_t **buckets;

	/* under the lock */
	ttl_entry_t *first; /* expires first */
	ttl_entry_t *last;
	e911_ttl_stats_t st;
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static const unsigned char *entry_key(const ttl_entry_t *e)
{
	return (const unsigned char *)e->data;
}

static const void *entry_value(const ttl_entry_t *e)
{
	return (const char *)e->data + align8(e->klen);
}

size_t e911_ttl_entry_size(size_t klen, size_t vlen)
{
	return offsetof(ttl_entry_t, data) + align8(klen) + vlen;
}

int e911_random_bytes(void *buf, size_t n)
{
	size_t got = 0;

	while(got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);

		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static uint32_t bucket_of(const e911_ttl_table_t *t, const void *key, size_t n)
{
	return (uint32_t)e911_fmix64(e911_hash(key, n) ^ t->secret)
		   & (t->nbuckets - 1);
}

/* Equal keys, compared in time independent of their bytes. */
static int key_equal(const ttl_entry_t *e, const unsigned char *k, size_t n)
{
	const unsigned char *a = entry_key(e);
	unsigned char d = 0;

	if(e->klen != n)
		return 0;
	for(size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ k[i]);
	return d == 0;
}

/* Address of the chain link pointing at the entry for key (holding NULL
 * when there is none). Every entry of the chain is compared. */
static ttl_entry_t **find_locked(
		e911_ttl_table_t *t, const unsigned char *key, size_t n)
{
	ttl_entry_t **pp = &t->buckets[bucket_of(t, key, n)];
	ttl_entry_t **found = NULL;

	for(; *pp != NULL; pp = &(*pp)->next) {
		if(key_equal(*pp, key, n) && found == NULL)
			found = pp;
	}
	return found != NULL ? found : pp;
}

/* Places e in the expiry list: after the last entry expiring no later. */
static void x_insert_locked(e911_ttl_table_t *t, ttl_entry_t *e)
{
	ttl_entry_t *after = t->last;

	while(after != NULL && after->expires > e->expires)
		after = after->prev_x;
	e->prev_x = after;
	e->next_x = after != NULL ? after->next_x : t->first;
	if(e->next_x != NULL)
		e->next_x->prev_x = e;
	else
		t->last = e;
	if(after != NULL)
		after->next_x = e;
	else
		t->first = e;
}

/* Unlinks the entry at chain link *pp from its chain, the expiry list and
 * the counters; the caller frees it after unlocking. */
static ttl_entry_t *unlink_locked(e911_ttl_table_t *t, ttl_entry_t **pp)
{
	ttl_entry_t *e = *pp;

	*pp = e->next;
	if(e->prev_x != NULL)
		e->prev_x->next_x = e->next_x;
	else
		t->first = e->next_x;
	if(e->next_x != NULL)
		e->next_x->prev_x = e->prev_x;
	else
		t->last = e->prev_x;
	e->next = NULL;
	t->st.entries--;
	t->st.bytes -= e->size;
	return e;
}

/* Unlinks the entry that expires first onto *gone. 0, or -1 when empty. */
static int drop_first_locked(e911_ttl_table_t *t, ttl_entry_t **gone)
{
	ttl_entry_t *e = t->first;

	if(e == NULL)
		return -1;
	e = unlink_locked(t, find_locked(t, entry_key(e), e->klen));
	e->next = *gone;
	*gone = e;
	return 0;
}

static void free_list(ttl_entry_t *e)
{
	while(e != NULL) {
		ttl_entry_t *next = e->next;

		e911_shm_free(e);
		e = next;
	}
}

e911_ttl_table_t *e911_ttl_new(uint32_t max_entries, uint64_t max_bytes)
{
	e911_ttl_table_t *t;
	uint32_t nb = TTL_BUCKETS_MIN;
	size_t size;

	if(max_entries == 0 || max_entries > E911_TTL_MAX_ENTRIES)
		return NULL;
	while(nb < max_entries && nb < TTL_BUCKETS_MAX)
		nb <<= 1;
	size = sizeof(*t) + (size_t)nb * sizeof(ttl_entry_t *);
	t = e911_shm_malloc(size);
	if(t == NULL)
		return NULL;
	memset(t, 0, size);
	t->max_entries = max_entries;
	t->max_bytes = max_bytes;
	t->nbuckets = nb;
	t->buckets = (ttl_entry_t **)(t + 1);
	t->lock = e911_lockset_new(1);
	if(t->lock == NULL
			|| e911_random_bytes(&t->secret, sizeof(t->secret)) < 0) {
		e911_lockset_destroy(t->lock);
		e911_shm_free(t);
		return NULL;
	}
	return t;
}

void e911_ttl_destroy(e911_ttl_table_t *t)
{
	ttl_entry_t *gone = NULL;

	if(t == NULL)
		return;
	e911_lock(t->lock, 0);
	while(drop_first_locked(t, &gone) == 0)
		;
	e911_unlock(t->lock, 0);
	free_list(gone);
	e911_lockset_destroy(t->lock);
	e911_shm_free(t);
}

/* Whether the table, with an entry of size bytes added, is within bounds. */
static int fits_locked(const e911_ttl_table_t *t, uint32_t size)
{
	return t->st.entries + 1 <= t->max_entries
		   && (t->max_bytes == 0 || t->st.bytes + size <= t->max_bytes);
}

int e911_ttl_put(e911_ttl_table_t *t, const void *key, size_t klen,
		const void *value, size_t vlen, int64_t expires, int flags)
{
	ttl_entry_t *e = NULL;
	ttl_entry_t *old;
	ttl_entry_t *gone = NULL;
	ttl_entry_t **pp;
	size_t size;
	int tries;

	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX
			|| (value == NULL && vlen > 0) || vlen > UINT32_MAX / 2)
		return E911_TTL_FAIL;
	size = e911_ttl_entry_size(klen, vlen);
	if(t->max_bytes != 0 && size > t->max_bytes)
		return E911_TTL_FAIL;
	for(tries = 0; tries < TTL_OOM_RETRIES; tries++) {
		e = e911_shm_malloc(size);
		if(e != NULL)
			break;
		/* out of shared memory: make room and retry */
		e911_lock(t->lock, 0);
		for(int k = 0; k < 2; k++) {
			if(drop_first_locked(t, &gone) == 0)
				t->st.evicted++;
		}
		e911_unlock(t->lock, 0);
		free_list(gone);
		gone = NULL;
	}
	if(e == NULL) {
		e911_lock(t->lock, 0);
		t->st.put_failed++;
		e911_unlock(t->lock, 0);
		return E911_TTL_FAIL;
	}
	memset(e, 0, offsetof(ttl_entry_t, data) + align8(klen));
	e->size = (uint32_t)size;
	e->klen = (uint16_t)klen;
	e->vlen = (uint32_t)vlen;
	e->expires = expires;
	memcpy(e->data, key, klen);
	if(vlen > 0)
		memcpy((char *)e->data + align8(klen), value, vlen);

	e911_lock(t->lock, 0);
	pp = find_locked(t, key, klen);
	if(*pp != NULL) {
		if(flags != E911_TTL_KEEP_LATER) {
			e911_unlock(t->lock, 0);
			e911_shm_free(e);
			return E911_TTL_EXISTS;
		}
		old = unlink_locked(t, pp);
		if(old->expires > e->expires)
			e->expires = old->expires;
		old->next = gone;
		gone = old;
	}
	while(!fits_locked(t, e->size) && drop_first_locked(t, &gone) == 0)
		t->st.evicted++;
	/* the removals may have changed the chain: find the link again */
	pp = find_locked(t, key, klen);
	e->next = NULL;
	*pp = e;
	x_insert_locked(t, e);
	t->st.entries++;
	t->st.bytes += e->size;
	e911_unlock(t->lock, 0);

	free_list(gone);
	return E911_TTL_OK;
}

/* The live entry of key at now under the lock; an expired one is unlinked
 * onto *gone. */
static ttl_entry_t *lookup_locked(e911_ttl_table_t *t, const void *key,
		size_t klen, int64_t now, ttl_entry_t **gone)
{
	ttl_entry_t **pp = find_locked(t, key, klen);
	ttl_entry_t *e = *pp;

	if(e == NULL)
		return NULL;
	if(now >= e->expires) {
		e = unlink_locked(t, pp);
		t->st.expired++;
		e->next = *gone;
		*gone = e;
		return NULL;
	}
	return e;
}

int e911_ttl_read(e911_ttl_table_t *t, const void *key, size_t klen,
		int64_t now, int (*fn)(const void *value, size_t vlen, void *arg),
		void *arg)
{
	ttl_entry_t *gone = NULL;
	ttl_entry_t *e;
	int rc = E911_TTL_UNKNOWN;

	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX)
		return E911_TTL_UNKNOWN;
	e911_lock(t->lock, 0);
	e = lookup_locked(t, key, klen, now, &gone);
	if(e != NULL)
		rc = fn ? fn(entry_value(e), e->vlen, arg) : E911_TTL_OK;
	e911_unlock(t->lock, 0);
	free_list(gone);
	return rc;
}

int e911_ttl_live(
		e911_ttl_table_t *t, const void *key, size_t klen, int64_t now)
{
	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX)
		return E911_TTL_FAIL;
	return e911_ttl_read(t, key, klen, now, NULL, NULL) == E911_TTL_OK;
}

int e911_ttl_remove(e911_ttl_table_t *t, const void *key, size_t klen)
{
	ttl_entry_t **pp;
	ttl_entry_t *e = NULL;

	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX)
		return 0;
	e911_lock(t->lock, 0);
	pp = find_locked(t, key, klen);
	if(*pp != NULL)
		e = unlink_locked(t, pp);
	e911_unlock(t->lock, 0);
	e911_shm_free(e);
	return e != NULL;
}

uint32_t e911_ttl_purge(e911_ttl_table_t *t, int64_t now)
{
	ttl_entry_t *gone = NULL;
	uint32_t n = 0;

	if(t == NULL)
		return 0;
	e911_lock(t->lock, 0);
	while(t->first != NULL && now >= t->first->expires
			&& drop_first_locked(t, &gone) == 0) {
		t->st.expired++;
		n++;
	}
	e911_unlock(t->lock, 0);
	free_list(gone);
	return n;
}

uint32_t e911_ttl_walk(e911_ttl_table_t *t, int64_t now,
		int (*fn)(const void *key, size_t klen, const void *value, size_t vlen,
				int64_t expires, void *arg),
		void *arg)
{
	ttl_entry_t *e;
	uint32_t n = 0;

	if(t == NULL || fn == NULL)
		return 0;
	e911_lock(t->lock, 0);
	for(e = t->first; e != NULL; e = e->next_x) {
		if(now >= e->expires)
			continue;
		n++;
		if(fn(entry_key(e), e->klen, entry_value(e), e->vlen, e->expires, arg)
				!= 0)
			break;
	}
	e911_unlock(t->lock, 0);
	return n;
}

void e911_ttl_get_stats(e911_ttl_table_t *t, e911_ttl_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	if(t == NULL)
		return;
	e911_lock(t->lock, 0);
	*st = t->st;
	e911_unlock(t->lock, 0);
}
