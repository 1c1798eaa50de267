/*
 * e911 module - removal tombstones for replication
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The tombstones of e911_tombstones.h on the module's expiring table
 * (e911_ttl_table.c): key -> removal time (8 bytes), expiring window
 * seconds after the removal; the whole-cache flush time beside it.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include "e911_tombstones.h"

#include <string.h>

#include "e911_shm.h"
#include "e911_ttl_table.h"

struct e911_tombstones
{
	e911_ttl_table_t *table;
	int64_t window;
	int64_t flushed_at; /* -1: never; read and written atomically */
};

e911_tombstones_t *e911_tombstones_new(
		uint32_t max_entries, uint64_t max_bytes, int64_t window)
{
	e911_tombstones_t *t;

	if(window <= 0 || max_entries == 0)
		return NULL;
	t = e911_shm_malloc(sizeof(*t));
	if(t == NULL)
		return NULL;
	t->table = e911_ttl_new(max_entries, max_bytes);
	if(t->table == NULL) {
		e911_shm_free(t);
		return NULL;
	}
	t->window = window;
	t->flushed_at = -1;
	return t;
}

void e911_tombstones_destroy(e911_tombstones_t *t)
{
	if(t == NULL)
		return;
	e911_ttl_destroy(t->table);
	e911_shm_free(t);
}

static int read_time(const void *value, size_t vlen, void *arg)
{
	if(vlen != sizeof(int64_t))
		return -1;
	memcpy(arg, value, sizeof(int64_t));
	return 0;
}

/* The key's own tombstone at now, or -1. */
static int64_t key_removed_at(
		e911_tombstones_t *t, const char *key, size_t klen, int64_t now)
{
	int64_t at = -1;

	if(e911_ttl_read(t->table, key, klen, now, read_time, &at) != 0)
		return -1;
	return at;
}

int e911_tombstone_put(
		e911_tombstones_t *t, const char *key, size_t klen, int64_t removed_at)
{
	int64_t held;

	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX
			|| removed_at < 0)
		return -1;
	/* keep the later removal (a read then a put: two processes removing
	 * one key in the same instant may keep either time, both removals) */
	held = key_removed_at(t, key, klen, removed_at);
	if(held >= removed_at)
		return 0;
	return e911_ttl_put(t->table, key, klen, &removed_at, sizeof(removed_at),
				   removed_at + t->window, E911_TTL_KEEP_LATER)
						   == E911_TTL_OK
				   ? 0
				   : -1;
}

void e911_tombstones_flush(e911_tombstones_t *t, int64_t flushed_at)
{
	int64_t cur;

	if(t == NULL || flushed_at < 0)
		return;
	cur = __atomic_load_n(&t->flushed_at, __ATOMIC_ACQUIRE);
	while(cur < flushed_at
			&& !__atomic_compare_exchange_n(&t->flushed_at, &cur, flushed_at, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
	}
}

int64_t e911_tombstone_removed_at(
		e911_tombstones_t *t, const char *key, size_t klen, int64_t now)
{
	int64_t at;
	int64_t flushed;

	if(t == NULL || key == NULL || klen == 0 || klen > E911_TTL_KEY_MAX)
		return -1;
	at = key_removed_at(t, key, klen, now);
	flushed = __atomic_load_n(&t->flushed_at, __ATOMIC_ACQUIRE);
	if(flushed >= 0 && flushed + t->window > now && flushed > at)
		at = flushed;
	return at;
}

int e911_tombstone_refuses(e911_tombstones_t *t, const char *key, size_t klen,
		int64_t fetched_at, int64_t now)
{
	int64_t at = e911_tombstone_removed_at(t, key, klen, now);

	return at >= 0 && fetched_at <= at;
}

uint64_t e911_tombstones_count(e911_tombstones_t *t)
{
	e911_ttl_stats_t st;

	if(t == NULL)
		return 0;
	e911_ttl_get_stats(t->table, &st);
	return st.entries;
}

uint32_t e911_tombstones_purge(e911_tombstones_t *t, int64_t now)
{
	return t == NULL ? 0 : e911_ttl_purge(t->table, now);
}
