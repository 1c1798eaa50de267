/*
 * e911 module - which networks each caller was seen on
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include <string.h>

#include "e911_hash.h"
#include "e911_seen.h"
#include "e911_shm.h"

#define PROBE 16

typedef struct slot
{
	uint64_t h; /* 0 = free */
	int64_t at;
} slot_t;

struct e911_seen
{
	e911_lockset_t *lock;
	uint32_t mask; /* slots - 1 */
	slot_t slot[];
};

e911_seen_t *e911_seen_new(unsigned max)
{
	e911_seen_t *s;
	uint32_t n = 16;

	while(n < 2u * max && n < (1u << 30))
		n <<= 1;
	s = e911_shm_malloc(sizeof(*s) + sizeof(slot_t) * n);
	if(s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s) + sizeof(slot_t) * n);
	s->mask = n - 1;
	s->lock = e911_lockset_new(1);
	if(s->lock == NULL) {
		e911_shm_free(s);
		return NULL;
	}
	return s;
}

void e911_seen_destroy(e911_seen_t *s)
{
	if(s == NULL)
		return;
	e911_lockset_destroy(s->lock);
	e911_shm_free(s);
}

/* The pair's hash: key, a NUL, network; never 0. */
static uint64_t pair_hash(const char *key, const char *network)
{
	char buf[512];
	size_t k = strlen(key);
	size_t n = strlen(network);
	uint64_t h;

	if(k + 1 + n > sizeof(buf)) {
		h = e911_hash(key, k) ^ e911_fmix64(e911_hash(network, n) + 1);
	} else {
		memcpy(buf, key, k);
		buf[k] = '\0';
		memcpy(buf + k + 1, network, n);
		h = e911_hash(buf, k + 1 + n);
	}
	return h ? h : 1;
}

int e911_seen_note(e911_seen_t *s, const char *key, const char *network,
		int64_t now, int window)
{
	uint64_t h;
	uint32_t i;
	uint32_t j;
	slot_t *victim = NULL;
	slot_t *e;
	int fresh = 1;

	if(s == NULL || key == NULL || network == NULL)
		return 0;
	h = pair_hash(key, network);
	e911_lock(s->lock, 0);
	for(i = 0; i < PROBE; i++) {
		j = (uint32_t)(h + i) & s->mask;
		e = &s->slot[j];
		if(e->h == h) {
			fresh = now - e->at >= window;
			victim = e;
			break;
		}
		/* slots are never emptied: past a free one the pair is absent */
		if(e->h == 0) {
			victim = e;
			break;
		}
		if(victim == NULL || e->at < victim->at)
			victim = e;
	}
	victim->h = h;
	victim->at = now;
	e911_unlock(s->lock, 0);
	return fresh;
}

size_t e911_seen_bytes(const e911_seen_t *s)
{
	return s ? sizeof(*s) + sizeof(slot_t) * ((size_t)s->mask + 1) : 0;
}
