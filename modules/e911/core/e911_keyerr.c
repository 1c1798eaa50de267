/*
 * e911 module - per-key error memory
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "e911_hash.h"
#include "e911_keyerr.h"
#include "e911_shm.h"

typedef struct kentry
{
	int64_t at;
	int64_t until; /* 0: free */
	uint32_t fails;
	int32_t kind;
	uint16_t klen;
	char key[E911_KEY_MAX];
} kentry_t;

struct e911_keyerr
{
	uint32_t nsets; /* power of two */
	e911_lockset_t *locks;
	kentry_t *e; /* nsets * E911_KEYERR_WAYS */
};

static uint32_t khash(const char *k, size_t len)
{
	return (uint32_t)e911_hash(k, len);
}

e911_keyerr_t *e911_keyerr_new(unsigned entries)
{
	e911_keyerr_t *m;
	uint32_t sets = 1;
	size_t bytes;

	while(sets * E911_KEYERR_WAYS < entries && sets < (1u << 16))
		sets <<= 1;
	m = e911_shm_malloc(sizeof(*m));
	if(m == NULL)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->nsets = sets;
	bytes = (size_t)sets * E911_KEYERR_WAYS * sizeof(kentry_t);
	m->e = e911_shm_malloc(bytes);
	m->locks = e911_lockset_new(sets < 64 ? sets : 64);
	if(m->e == NULL || m->locks == NULL) {
		e911_keyerr_destroy(m);
		return NULL;
	}
	memset(m->e, 0, bytes);
	return m;
}

void e911_keyerr_destroy(e911_keyerr_t *m)
{
	if(m == NULL)
		return;
	e911_shm_free(m->e);
	e911_lockset_destroy(m->locks);
	e911_shm_free(m);
}

static unsigned lock_of(e911_keyerr_t *m, uint32_t set)
{
	return set % (m->nsets < 64 ? m->nsets : 64);
}

/* under the set's lock: the entry of key in set, or NULL */
static kentry_t *find(kentry_t *set, const char *key, size_t klen)
{
	int i;

	for(i = 0; i < E911_KEYERR_WAYS; i++)
		if(set[i].until != 0 && set[i].klen == klen
				&& memcmp(set[i].key, key, klen) == 0)
			return &set[i];
	return NULL;
}

int e911_keyerr_check(e911_keyerr_t *m, const char *key, size_t klen,
		int64_t now_ms, e911_keyerr_hit_t *hit)
{
	uint32_t s;
	kentry_t *e;
	int r = 0;

	if(m == NULL || klen == 0 || klen > E911_KEY_MAX)
		return 0;
	s = khash(key, klen) & (m->nsets - 1);
	e911_lock(m->locks, lock_of(m, s));
	e = find(&m->e[s * E911_KEYERR_WAYS], key, klen);
	if(e && e->until > now_ms) {
		r = 1;
		if(hit) {
			hit->kind = (e911_fail_t)e->kind;
			hit->at = e->at;
			hit->until = e->until;
			hit->fails = e->fails;
		}
	}
	e911_unlock(m->locks, lock_of(m, s));
	return r;
}

static int remembers(e911_fail_t kind)
{
	return kind == E911_FAIL_ANSWER || kind == E911_FAIL_TIMEOUT
		   || kind == E911_FAIL_RESET;
}

int e911_keyerr_note(e911_keyerr_t *m, const char *key, size_t klen,
		e911_fail_t kind, int64_t now_ms, int64_t ttl_ms)
{
	kentry_t *set;
	kentry_t *e;
	uint32_t s;
	int i;
	int r = 0;

	if(m == NULL || ttl_ms <= 0 || klen == 0 || klen > E911_KEY_MAX)
		return 0;
	if(kind != E911_FAIL_NONE && !remembers(kind))
		return 0;
	s = khash(key, klen) & (m->nsets - 1);
	set = &m->e[s * E911_KEYERR_WAYS];
	e911_lock(m->locks, lock_of(m, s));
	e = find(set, key, klen);
	if(kind == E911_FAIL_NONE) {
		if(e) {
			e->until = 0;
			r = -1;
		}
		goto done;
	}
	if(e == NULL) {
		/* a free (or expired) way, else the oldest */
		for(i = 0; i < E911_KEYERR_WAYS; i++) {
			if(set[i].until <= now_ms) {
				e = &set[i];
				break;
			}
			if(e == NULL || set[i].at < e->at)
				e = &set[i];
		}
		if(e->until <= now_ms || e->klen != klen
				|| memcmp(e->key, key, klen) != 0)
			e->fails = 0;
		memcpy(e->key, key, klen);
		e->klen = (uint16_t)klen;
	}
	e->fails++;
	e->kind = kind;
	e->at = now_ms;
	e->until = now_ms + ttl_ms;
	r = 1;
done:
	e911_unlock(m->locks, lock_of(m, s));
	return r;
}

int e911_keyerr_forget_since(e911_keyerr_t *m, int64_t since_ms)
{
	uint32_t s;
	int i;
	int n = 0;
	kentry_t *e;

	if(m == NULL)
		return 0;
	for(s = 0; s < m->nsets; s++) {
		e911_lock(m->locks, lock_of(m, s));
		for(i = 0; i < E911_KEYERR_WAYS; i++) {
			e = &m->e[s * E911_KEYERR_WAYS + i];
			if(e->until != 0 && e->at >= since_ms
					&& (e->kind == E911_FAIL_TIMEOUT
							|| e->kind == E911_FAIL_RESET)) {
				e->until = 0;
				n++;
			}
		}
		e911_unlock(m->locks, lock_of(m, s));
	}
	return n;
}

int e911_keyerr_count(e911_keyerr_t *m, int64_t now_ms)
{
	uint32_t s;
	int i;
	int n = 0;

	if(m == NULL)
		return 0;
	for(s = 0; s < m->nsets; s++) {
		e911_lock(m->locks, lock_of(m, s));
		for(i = 0; i < E911_KEYERR_WAYS; i++)
			if(m->e[s * E911_KEYERR_WAYS + i].until > now_ms)
				n++;
		e911_unlock(m->locks, lock_of(m, s));
	}
	return n;
}
