/*
 * e911 module - shared-memory location cache
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The cache described in e911_cache.h: a chained hash table in shared
 * memory. Layout:
 *
 * - The cache header holds the geometry, the bucket array and the lock set
 *   (read-only after creation) and, on a cache line of their own, the
 *   counters, updated with GCC __atomic builtins by every process.
 * - nbuckets is the power of two >= max_entries (so chains stay about one
 *   entry long); nlocks is the power of two >= max_entries / 4, clamped to
 *   [64, 65536]. Bucket b is guarded by lock b & (nlocks - 1), so one lock
 *   covers buckets b, b + nlocks, b + 2 * nlocks, ...
 * - One allocation per entry: a 54-byte header, the key, padding to 8 and
 *   the record, copied verbatim (rec->size bytes). Negative entries have no
 *   record.
 *
 * Locking: no function holds two locks at once, none returns with a lock
 * held, and no pointer into shared memory leaves a call (except the one
 * e911_cache_walk() hands to its callback). Entries are built and freed
 * outside the locks; under a lock we only link, unlink and copy.
 *
 * Bounds: an insert first reserves its entry and its bytes in the counters
 * and then evicts until the counters are back within max_entries and
 * max_bytes; only then does it link the entry. The counters therefore
 * include inserts in flight (and read a little high while one runs), but
 * the number of linked entries never exceeds max_entries, whatever the
 * interleaving. Eviction removes an expired entry if it meets one, otherwise
 * the least recently used of E911_EVICT_SAMPLE entries sampled from random
 * buckets, one lock at a time; the chosen victim is found again by address
 * and a per-entry id, so a victim freed (and its memory reused) in between
 * is never mistaken for another entry. An entry that was never looked up
 * counts as used when it was inserted.
 *
 * When e911_shm_malloc() fails, an insert evicts a few entries and retries,
 * then gives up with -1 (counted in put_failed); the entry for the key being
 * inserted is never the one evicted, so a failed replace keeps the old one.
 */

#include <stddef.h>
#include <string.h>

#include "e911_cache.h"
#include "e911_hash.h"
#include "e911_shm.h"

#define E911_LOCKS_MIN 64u
#define E911_LOCKS_MAX 65536u
#define E911_BUCKETS_MIN 64u
#define E911_BUCKETS_MAX (1u << 24)
/* random buckets probed per eviction before scanning linearly */
#define E911_EVICT_PROBES (4 * E911_EVICT_SAMPLE)
/* a linear scan stops after this many buckets once it has a candidate */
#define E911_EVICT_SCAN 1024u
/* out of shared memory: rounds of evictions, and entries per round */
#define E911_OOM_RETRIES 4
#define E911_OOM_EVICT 8
/* evictions an insert may do to get within the bounds */
#define E911_ROOM_EVICT_MAX 4096
/* consecutive evictions that find nothing before an insert gives up */
#define E911_ROOM_IDLE_MAX 4

#define E911_CE_NEGATIVE 0x01
#define E911_CE_SNAPSHOT 0x02

/* One entry: this header, the key, padding to 8, the record. */
typedef struct e911_centry
{
	struct e911_centry *next;
	int64_t fetched_at;
	int64_t fresh_until; /* negative entries: when they expire */
	int64_t stale_until; /* negative entries: same as fresh_until */
	int64_t last_used;	 /* last lookup, or the insert */
	uint32_t hash;		 /* high half of the key hash */
	uint32_t hits;
	uint32_t id; /* unique while the entry lives: identifies a victim */
	uint8_t klen;
	uint8_t flags; /* E911_CE_* */
	char key[];
} e911_centry_t;

struct e911_cache
{
	/* read-only after e911_cache_new() */
	uint32_t max_entries;
	uint32_t nbuckets;
	uint32_t nlocks;
	uint64_t max_bytes;
	e911_lockset_t *locks;
	e911_centry_t **buckets;

	/* counters, kept off the cache lines of the fields above whatever the
	 * allocator's alignment (an aligned attribute would demand more than
	 * shared memory allocators guarantee) */
	char pad[64];
	uint64_t entries;
	uint64_t bytes;
	uint64_t evictions;
	uint64_t expired;
	uint64_t put_failed;
	uint64_t rng;	  /* sequence for the eviction sampler */
	uint32_t next_id; /* source of e911_centry_t.id */
};

/* A victim chosen by eviction sampling, to be found again under its lock. */
typedef struct e911_victim
{
	uint32_t bucket;
	uint32_t id;
	const e911_centry_t *e;
	int64_t last_used;
} e911_victim_t;

/* A key evictions must spare (the one being inserted). */
typedef struct e911_spare
{
	const char *key;
	size_t klen;
	uint32_t hash;
} e911_spare_t;

static size_t e911_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Bytes from the start of an entry to its record. */
static size_t e911_rec_offset(size_t klen)
{
	return e911_align8(offsetof(e911_centry_t, key) + klen);
}

static e911_record_t *e911_centry_rec(const e911_centry_t *e)
{
	if(e->flags & E911_CE_NEGATIVE)
		return NULL;
	return (e911_record_t *)((char *)e + e911_rec_offset(e->klen));
}

/* Shared-memory bytes an entry for this key and record takes. */
size_t e911_cache_entry_size(size_t klen, const e911_record_t *rec)
{
	return e911_rec_offset(klen) + (rec != NULL ? rec->size : 0);
}

static size_t e911_centry_size(const e911_centry_t *e)
{
	return e911_cache_entry_size(e->klen, e911_centry_rec(e));
}


/* Next value of the shared pseudo-random sequence (splitmix64). */
static uint64_t e911_rand(e911_cache_t *c)
{
	uint64_t z = __atomic_add_fetch(
			&c->rng, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t e911_pow2_at_least(uint64_t n, uint32_t lo, uint32_t hi)
{
	uint32_t p = lo;

	while(p < n && p < hi)
		p <<= 1;
	return p;
}

static unsigned e911_lock_of(const e911_cache_t *c, uint32_t bucket)
{
	return bucket & (c->nlocks - 1);
}

static void e911_stat_add(uint64_t *counter, int64_t delta)
{
	__atomic_add_fetch(counter, (uint64_t)delta, __ATOMIC_RELAXED);
}

static uint64_t e911_stat_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Bucket heads are written under their lock and may be peeked at without
 * it (to skip empty buckets), hence the atomic accesses. */
static e911_centry_t *e911_head(const e911_cache_t *c, uint32_t b)
{
	return __atomic_load_n(&c->buckets[b], __ATOMIC_RELAXED);
}

static void e911_set_head_locked(e911_cache_t *c, uint32_t b, e911_centry_t *e)
{
	__atomic_store_n(&c->buckets[b], e, __ATOMIC_RELAXED);
}

/* Whether an entry's stale window (or negative lifetime) has ended. */
static int e911_centry_expired(const e911_centry_t *e, int64_t now)
{
	return now >= e->stale_until;
}

static int e911_centry_is(
		const e911_centry_t *e, uint32_t hash, const char *key, size_t klen)
{
	return e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0;
}

/* Address of the link pointing at the entry for key in bucket b (the link
 * holds NULL when there is none). */
static e911_centry_t **e911_find_locked(e911_cache_t *c, uint32_t b,
		uint32_t hash, const char *key, size_t klen)
{
	e911_centry_t **pp = &c->buckets[b];

	while(*pp != NULL && !e911_centry_is(*pp, hash, key, klen))
		pp = &(*pp)->next;
	return pp;
}

/* Replaces the link *pp (in bucket b) with e. */
static void e911_relink_locked(
		e911_cache_t *c, uint32_t b, e911_centry_t **pp, e911_centry_t *e)
{
	if(pp == &c->buckets[b])
		e911_set_head_locked(c, b, e);
	else
		*pp = e;
}

/* Frees an unlinked entry and takes it out of the counters. */
static void e911_centry_drop(e911_cache_t *c, e911_centry_t *e)
{
	e911_stat_add(&c->bytes, -(int64_t)e911_centry_size(e));
	e911_stat_add(&c->entries, -1);
	e911_shm_free(e);
}

/* Frees a list of unlinked entries; returns how many. */
static uint32_t e911_centry_drop_list(e911_cache_t *c, e911_centry_t *e)
{
	e911_centry_t *next;
	uint32_t n = 0;

	while(e != NULL) {
		next = e->next;
		e911_centry_drop(c, e);
		e = next;
		n++;
	}
	return n;
}

/* Creates a cache in shared memory, or NULL. */
e911_cache_t *e911_cache_new(uint32_t max_entries, uint64_t max_bytes)
{
	e911_cache_t *c;

	if(max_entries == 0)
		return NULL;
	c = e911_shm_malloc(sizeof(*c));
	if(c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	c->nbuckets =
			e911_pow2_at_least(max_entries, E911_BUCKETS_MIN, E911_BUCKETS_MAX);
	c->nlocks =
			e911_pow2_at_least(max_entries / 4, E911_LOCKS_MIN, E911_LOCKS_MAX);
	c->rng = 0x2545f4914f6cdd1dULL;
	c->buckets = e911_shm_malloc(c->nbuckets * sizeof(e911_centry_t *));
	c->locks = e911_lockset_new(c->nlocks);
	if(c->buckets == NULL || c->locks == NULL) {
		e911_lockset_destroy(c->locks);
		e911_shm_free(c->buckets);
		e911_shm_free(c);
		return NULL;
	}
	memset(c->buckets, 0, c->nbuckets * sizeof(e911_centry_t *));
	return c;
}

/* Frees every entry, the locks and the cache; no process may use it after. */
void e911_cache_destroy(e911_cache_t *c)
{
	if(c == NULL)
		return;
	e911_cache_flush(c);
	e911_lockset_destroy(c->locks);
	e911_shm_free(c->buckets);
	e911_shm_free(c);
}

/* Where a key lives: its bucket and lock, and the hash its entry carries. */
typedef struct e911_slot
{
	uint32_t b;
	uint32_t hash;
	unsigned l;
} e911_slot_t;

/* Fills *s for key; -1 when the cache or the key is not usable. */
static int e911_slot_of(
		const e911_cache_t *c, const char *key, size_t klen, e911_slot_t *s)
{
	uint64_t h;

	if(c == NULL || klen > E911_KEY_MAX || (key == NULL && klen > 0))
		return -1;
	h = e911_hash(key, klen);
	s->b = (uint32_t)h & (c->nbuckets - 1);
	s->hash = (uint32_t)(h >> 32);
	s->l = e911_lock_of(c, s->b);
	return 0;
}

/* Fills res from entry e at time now (state computed by the caller). */
static void e911_fill_res_locked(const e911_centry_t *e, e911_cstate_t state,
		e911_record_t *rec, e911_cache_res_t *res)
{
	res->state = state;
	res->origin = (e->flags & E911_CE_SNAPSHOT) ? E911_ORIGIN_SNAPSHOT
												: E911_ORIGIN_SERVICE;
	res->fetched_at = e->fetched_at;
	res->fresh_until = e->fresh_until;
	res->stale_until = e->stale_until;
	res->last_used = e->last_used;
	res->hits = e->hits;
	res->rec = rec;
}

/* State of a live entry at now (not for expired entries). */
static e911_cstate_t e911_centry_state(const e911_centry_t *e, int64_t now)
{
	if(e->flags & E911_CE_NEGATIVE)
		return E911_CS_NEGATIVE;
	return now < e->fresh_until ? E911_CS_FRESH : E911_CS_STALE;
}

/* Copies live entry e out at now (a positive record into buf) unless buf
 * is too small for the record (or NULL); a hit counts as a use when touch
 * is set. Returns the state, E911_CS_MISS when nothing was copied. */
static e911_cstate_t e911_copy_out_locked(e911_centry_t *e, int64_t now,
		int touch, e911_cache_res_t *res, void *buf, size_t bufsize)
{
	const e911_record_t *rec = e911_centry_rec(e);
	e911_cstate_t state;

	if(rec != NULL && (buf == NULL || rec->size > bufsize))
		return E911_CS_MISS;
	state = e911_centry_state(e, now);
	if(touch) {
		e->hits++;
		e->last_used = now;
	}
	if(rec != NULL)
		memcpy(buf, rec, rec->size);
	if(res != NULL)
		e911_fill_res_locked(e, state, rec != NULL ? buf : NULL, res);
	return state;
}

/* Looks key up at now, copying a positive record into buf. A buffer too
 * small for the record (or NULL) makes the lookup a miss that leaves the
 * entry alone. Returns the state (also in res, which may be NULL). */
e911_cstate_t e911_cache_lookup(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, e911_cache_res_t *res, void *buf, size_t bufsize)
{
	e911_slot_t s;
	e911_centry_t **pp;
	e911_centry_t *e;
	e911_centry_t *gone = NULL;
	e911_cstate_t state = E911_CS_MISS;

	if(res != NULL)
		memset(res, 0, sizeof(*res));
	if(e911_slot_of(c, key, klen, &s) < 0)
		return E911_CS_MISS;

	/* start fetching the first entry while the lock is taken: a peek
	 * without the lock, used only as a prefetch hint */
	e = e911_head(c, s.b);
	if(e != NULL) {
		__builtin_prefetch(e);
		__builtin_prefetch((char *)e + 64);
	}
	e911_lock(c->locks, s.l);
	pp = e911_find_locked(c, s.b, s.hash, key, klen);
	e = *pp;
	if(e != NULL && e911_centry_expired(e, now)) {
		e911_relink_locked(c, s.b, pp, e->next);
		gone = e;
	} else if(e != NULL) {
		state = e911_copy_out_locked(e, now, 1, res, buf, bufsize);
	}
	e911_unlock(c->locks, s.l);

	if(gone != NULL) {
		e911_centry_drop(c, gone);
		e911_stat_add(&c->expired, 1);
	}
	return state;
}

e911_cstate_t e911_cache_peek(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, e911_cache_res_t *res, void *buf, size_t bufsize)
{
	e911_slot_t s;
	e911_centry_t *e;
	e911_cstate_t state = E911_CS_MISS;

	if(res != NULL)
		memset(res, 0, sizeof(*res));
	if(e911_slot_of(c, key, klen, &s) < 0)
		return E911_CS_MISS;
	e911_lock(c->locks, s.l);
	e = *e911_find_locked(c, s.b, s.hash, key, klen);
	if(e != NULL && !e911_centry_expired(e, now))
		state = e911_copy_out_locked(e, now, 0, res, buf, bufsize);
	e911_unlock(c->locks, s.l);
	return state;
}

/* Whether e is the entry evictions must spare. */
static int e911_is_spared(const e911_centry_t *e, const e911_spare_t *sp)
{
	return sp != NULL && e911_centry_is(e, sp->hash, sp->key, sp->klen);
}

/* Samples bucket b: unlinks and returns an expired entry if there is one,
 * else updates best with the least recently used entry and counts what it
 * saw in *sampled. */
static e911_centry_t *e911_sample_bucket(e911_cache_t *c, uint32_t b,
		int64_t now, const e911_spare_t *sp, e911_victim_t *best,
		unsigned *sampled)
{
	unsigned l = e911_lock_of(c, b);
	e911_centry_t **pp;
	e911_centry_t *e;
	e911_centry_t *gone = NULL;

	e911_lock(c->locks, l);
	for(pp = &c->buckets[b]; *pp != NULL; pp = &(*pp)->next) {
		e = *pp;
		if(e911_is_spared(e, sp))
			continue;
		if(e911_centry_expired(e, now)) {
			e911_relink_locked(c, b, pp, e->next);
			gone = e;
			break;
		}
		(*sampled)++;
		if(best->e == NULL || e->last_used < best->last_used) {
			best->e = e;
			best->bucket = b;
			best->id = e->id;
			best->last_used = e->last_used;
		}
	}
	e911_unlock(c->locks, l);
	return gone;
}

/* Removes the chosen victim if it is still there; returns it, unlinked. */
static e911_centry_t *e911_take_victim(e911_cache_t *c, const e911_victim_t *v)
{
	unsigned l = e911_lock_of(c, v->bucket);
	e911_centry_t **pp;
	e911_centry_t *gone = NULL;

	e911_lock(c->locks, l);
	for(pp = &c->buckets[v->bucket]; *pp != NULL; pp = &(*pp)->next) {
		if(*pp == v->e && (*pp)->id == v->id) {
			gone = *pp;
			e911_relink_locked(c, v->bucket, pp, gone->next);
			break;
		}
	}
	e911_unlock(c->locks, l);
	return gone;
}

/* Evicts one entry other than the spared one: an expired entry if sampling
 * meets one, else the least recently used entry sampled. Returns 1 when this
 * call removed an entry, -1 when its victim was removed by another process
 * meanwhile, 0 when there was nothing to evict. */
static int e911_evict_one(e911_cache_t *c, int64_t now, const e911_spare_t *sp)
{
	e911_victim_t best;
	e911_centry_t *gone;
	unsigned sampled = 0;
	unsigned i;
	uint32_t b;
	uint32_t start;

	memset(&best, 0, sizeof(best));
	for(i = 0; i < E911_EVICT_PROBES && sampled < E911_EVICT_SAMPLE; i++) {
		b = (uint32_t)e911_rand(c) & (c->nbuckets - 1);
		if(e911_head(c, b) == NULL)
			continue;
		gone = e911_sample_bucket(c, b, now, sp, &best, &sampled);
		if(gone != NULL)
			goto expired;
	}
	/* a sparse table: walk on from a random bucket */
	start = (uint32_t)e911_rand(c);
	for(i = 0; i < c->nbuckets && sampled < E911_EVICT_SAMPLE; i++) {
		if(best.e != NULL && i >= E911_EVICT_SCAN)
			break;
		b = (start + i) & (c->nbuckets - 1);
		if(e911_head(c, b) == NULL)
			continue;
		gone = e911_sample_bucket(c, b, now, sp, &best, &sampled);
		if(gone != NULL)
			goto expired;
	}
	if(best.e == NULL)
		return 0;
	gone = e911_take_victim(c, &best);
	if(gone == NULL)
		return -1;
	e911_centry_drop(c, gone);
	e911_stat_add(&c->evictions, 1);
	return 1;

expired:
	e911_centry_drop(c, gone);
	e911_stat_add(&c->expired, 1);
	return 1;
}

/* Whether the counters are within the bounds. */
static int e911_within_bounds(e911_cache_t *c)
{
	if(e911_stat_get(&c->entries) > c->max_entries)
		return 0;
	return c->max_bytes == 0 || e911_stat_get(&c->bytes) <= c->max_bytes;
}

/* Reserves add_e entries and add_b bytes in the counters, then evicts until
 * the counters are within the bounds. Returns 0 with the reservation held,
 * or -1 with it released. */
static int e911_reserve(e911_cache_t *c, int64_t add_e, int64_t add_b,
		int64_t now, const e911_spare_t *sp)
{
	int idle = 0;
	int i;

	e911_stat_add(&c->entries, add_e);
	e911_stat_add(&c->bytes, add_b);
	for(i = 0; i < E911_ROOM_EVICT_MAX; i++) {
		if(e911_within_bounds(c))
			return 0;
		if(e911_evict_one(c, now, sp) != 0) {
			idle = 0; /* removed one, or lost a race: look again */
			continue;
		}
		idle++;
		if(idle >= E911_ROOM_IDLE_MAX)
			break;
	}
	if(e911_within_bounds(c))
		return 0;
	e911_stat_add(&c->entries, -add_e);
	e911_stat_add(&c->bytes, -add_b);
	return -1;
}

/* Allocates size bytes for an entry, evicting a few entries between
 * attempts when shared memory is exhausted. Returns NULL when it stays so. */
static e911_centry_t *e911_centry_alloc(
		e911_cache_t *c, size_t size, int64_t now, const e911_spare_t *sp)
{
	e911_centry_t *e;
	int round, i;

	for(round = 0;; round++) {
		e = e911_shm_malloc(size);
		if(e != NULL || round == E911_OOM_RETRIES)
			return e;
		for(i = 0; i < E911_OOM_EVICT; i++)
			e911_evict_one(c, now, sp);
	}
}

/* Size of the existing entry for the key (0 when there is none). */
static size_t e911_existing_size(e911_cache_t *c, uint32_t b, uint32_t hash,
		const char *key, size_t klen)
{
	unsigned l = e911_lock_of(c, b);
	e911_centry_t *e;
	size_t size = 0;

	e911_lock(c->locks, l);
	e = *e911_find_locked(c, b, hash, key, klen);
	if(e != NULL)
		size = e911_centry_size(e);
	e911_unlock(c->locks, l);
	return size;
}

/* Inserts or replaces the entry for key with ne (built, not linked):
 * reserves room, links, settles the counters. Returns 0, or -1 after
 * freeing ne when no room could be made. */
static int e911_insert(e911_cache_t *c, e911_centry_t *ne, size_t size,
		const e911_slot_t *s, int64_t now)
{
	uint32_t b = s->b;
	unsigned l = s->l;
	e911_spare_t sp = {ne->key, ne->klen, ne->hash};
	e911_centry_t **pp;
	e911_centry_t *old;
	size_t old_size;
	int64_t res_e, res_b, need_e, need_b;
	int round, rc;

	/* reserve for what the table holds now; if that changes before we
	 * link, top up to the worst case (a new entry), which always fits */
	old_size = e911_existing_size(c, b, ne->hash, ne->key, ne->klen);
	res_e = old_size > 0 ? 0 : 1;
	res_b = (int64_t)size - (int64_t)old_size;
	if(res_b < 0)
		res_b = 0;
	if(e911_reserve(c, res_e, res_b, now, &sp) < 0)
		goto failed;
	for(round = 0;; round++) {
		e911_lock(c->locks, l);
		pp = e911_find_locked(c, b, ne->hash, ne->key, ne->klen);
		old = *pp;
		need_e = old != NULL ? 0 : 1;
		need_b = (int64_t)size
				 - (old != NULL ? (int64_t)e911_centry_size(old) : 0);
		if(need_e <= res_e && need_b <= res_b)
			break;
		e911_unlock(c->locks, l);
		rc = -1;
		if(round == 0)
			rc = e911_reserve(c, 1 - res_e, (int64_t)size - res_b, now, &sp);
		if(rc < 0) {
			e911_stat_add(&c->entries, -res_e);
			e911_stat_add(&c->bytes, -res_b);
			goto failed;
		}
		res_e = 1;
		res_b = (int64_t)size;
	}
	if(old != NULL) {
		ne->hits = old->hits;
		ne->last_used = old->last_used;
		ne->next = old->next;
		e911_relink_locked(c, b, pp, ne);
	} else {
		ne->next = c->buckets[b];
		e911_set_head_locked(c, b, ne);
	}
	e911_unlock(c->locks, l);

	/* give back what the reservation held beyond the need */
	e911_stat_add(&c->entries, need_e - res_e);
	e911_stat_add(&c->bytes, need_b - res_b);
	e911_shm_free(old);
	return 0;

failed:
	e911_shm_free(ne);
	e911_stat_add(&c->put_failed, 1);
	return -1;
}

/* Builds an entry header for key (record left to the caller). */
static void e911_centry_init(e911_cache_t *c, e911_centry_t *e, uint32_t hash,
		const char *key, size_t klen, int64_t now, int64_t fresh_until,
		int64_t stale_until, uint8_t flags)
{
	memset(e, 0, sizeof(*e));
	e->fetched_at = now;
	e->fresh_until = fresh_until;
	e->stale_until = stale_until < fresh_until ? fresh_until : stale_until;
	e->last_used = now;
	e->hash = hash;
	e->id = __atomic_add_fetch(&c->next_id, 1, __ATOMIC_RELAXED);
	e->klen = (uint8_t)klen;
	e->flags = flags;
	if(klen > 0)
		memcpy(e->key, key, klen);
}

/* Builds and inserts an entry: the record rec (or a negative entry when rec
 * is NULL). Returns 0 or -1. */
static int e911_put(e911_cache_t *c, const char *key, size_t klen,
		const e911_record_t *rec, int64_t now, int64_t fresh_until,
		int64_t stale_until, uint8_t flags)
{
	e911_slot_t s;
	size_t size;
	e911_centry_t *e;
	e911_spare_t sp;

	if(e911_slot_of(c, key, klen, &s) < 0)
		return -1;
	if(rec != NULL
			&& (rec->size < offsetof(e911_record_t, pool) + 1
					|| rec->size > E911_REC_MAX_SIZE))
		return -1;
	size = e911_cache_entry_size(klen, rec);
	if(c->max_bytes != 0 && size > c->max_bytes) {
		e911_stat_add(&c->put_failed, 1);
		return -1;
	}
	sp.key = key;
	sp.klen = klen;
	sp.hash = s.hash;
	e = e911_centry_alloc(c, size, now, &sp);
	if(e == NULL) {
		e911_stat_add(&c->put_failed, 1);
		return -1;
	}
	e911_centry_init(
			c, e, s.hash, key, klen, now, fresh_until, stale_until, flags);
	if(rec != NULL)
		memcpy((char *)e + e911_rec_offset(klen), rec, rec->size);
	return e911_insert(c, e, size, &s, now);
}

/* Inserts or replaces the positive entry for key. Returns 0 or -1. */
int e911_cache_put(e911_cache_t *c, const char *key, size_t klen,
		const e911_record_t *rec, int64_t now, int64_t fresh_until,
		int64_t stale_until, e911_origin_t origin)
{
	if(rec == NULL)
		return -1;
	return e911_put(c, key, klen, rec, now, fresh_until, stale_until,
			origin == E911_ORIGIN_SNAPSHOT ? E911_CE_SNAPSHOT : 0);
}

/* Inserts or replaces the negative entry for key. Returns 0 or -1. */
int e911_cache_put_negative(e911_cache_t *c, const char *key, size_t klen,
		int64_t now, int64_t expires)
{
	return e911_put(
			c, key, klen, NULL, now, expires, expires, E911_CE_NEGATIVE);
}

/* Removes the entry for key. Returns 1 when one was removed, else 0. */
int e911_cache_remove(e911_cache_t *c, const char *key, size_t klen)
{
	e911_slot_t s;
	e911_centry_t **pp;
	e911_centry_t *gone;

	if(e911_slot_of(c, key, klen, &s) < 0)
		return 0;
	e911_lock(c->locks, s.l);
	pp = e911_find_locked(c, s.b, s.hash, key, klen);
	gone = *pp;
	if(gone != NULL)
		e911_relink_locked(c, s.b, pp, gone->next);
	e911_unlock(c->locks, s.l);

	if(gone == NULL)
		return 0;
	e911_centry_drop(c, gone);
	return 1;
}

/* Unlinks, under lock l, the entries of l's buckets that are expired at now
 * (all of them when all is set); returns them as a list. */
static e911_centry_t *e911_unlink_lock_group_locked(
		e911_cache_t *c, unsigned l, int all, int64_t now)
{
	e911_centry_t *out = NULL;
	e911_centry_t **pp;
	e911_centry_t *e;
	uint32_t b;

	for(b = l; b < c->nbuckets; b += c->nlocks) {
		pp = &c->buckets[b];
		while(*pp != NULL) {
			e = *pp;
			if(!all && !e911_centry_expired(e, now)) {
				pp = &e->next;
				continue;
			}
			e911_relink_locked(c, b, pp, e->next);
			e->next = out;
			out = e;
		}
	}
	return out;
}

/* Removes every entry (all set) or the expired ones, one lock at a time. */
static uint32_t e911_sweep(e911_cache_t *c, int all, int64_t now)
{
	e911_centry_t *list;
	uint32_t n = 0;
	unsigned l;

	if(c == NULL)
		return 0;
	for(l = 0; l < c->nlocks; l++) {
		e911_lock(c->locks, l);
		list = e911_unlink_lock_group_locked(c, l, all, now);
		e911_unlock(c->locks, l);
		n += e911_centry_drop_list(c, list);
	}
	return n;
}

/* Removes every entry. Returns how many were removed. */
uint32_t e911_cache_flush(e911_cache_t *c)
{
	return e911_sweep(c, 1, 0);
}

/* Removes the entries whose stale window ended. Returns how many. */
uint32_t e911_cache_expire(e911_cache_t *c, int64_t now)
{
	uint32_t n = e911_sweep(c, 0, now);

	if(c != NULL)
		e911_stat_add(&c->expired, n);
	return n;
}

/* One step of the incremental sweep: the lock groups *cursor .. *cursor +
 * count - 1 (wrapping), each under its lock, in one pass over its buckets:
 * entries expired at now are unlinked (and freed after the unlock), live
 * ones handed to visit until it returns non-zero. Sweeping a slice per
 * tick instead of the whole table at once keeps every lock hold short and
 * the housekeeper's work even over time. Returns how many were removed. */
uint32_t e911_cache_sweep_step(e911_cache_t *c, uint32_t *cursor,
		uint32_t count, int64_t now, e911_cache_visit_f visit, void *arg)
{
	e911_cache_res_t res;
	e911_centry_t *list;
	e911_centry_t **pp;
	e911_centry_t *e;
	uint32_t n = 0;
	uint32_t i;
	uint32_t b;
	unsigned l;
	int stop = (visit == NULL);

	if(c == NULL || cursor == NULL)
		return 0;
	if(count > c->nlocks)
		count = c->nlocks;
	for(i = 0; i < count; i++) {
		l = (*cursor + i) & (c->nlocks - 1);
		list = NULL;
		e911_lock(c->locks, l);
		for(b = l; b < c->nbuckets; b += c->nlocks) {
			pp = &c->buckets[b];
			while(*pp != NULL) {
				e = *pp;
				if(e911_centry_expired(e, now)) {
					e911_relink_locked(c, b, pp, e->next);
					e->next = list;
					list = e;
					continue;
				}
				if(!stop) {
					e911_fill_res_locked(e, e911_centry_state(e, now),
							e911_centry_rec(e), &res);
					stop = visit(e->key, e->klen, &res, arg) != 0;
				}
				pp = &e->next;
			}
		}
		e911_unlock(c->locks, l);
		n += e911_centry_drop_list(c, list);
	}
	*cursor = (*cursor + count) & (c->nlocks - 1);
	e911_stat_add(&c->expired, n);
	return n;
}

/* The number of lock groups (a power of two): a sweep step of that many
 * covers the whole table. */
uint32_t e911_cache_lock_groups(e911_cache_t *c)
{
	return c ? c->nlocks : 0;
}

/* Visits every live entry, one lock at a time; entries expired at now are
 * skipped (and left for expire or lookup to remove). Returns how many. */
uint32_t e911_cache_walk(
		e911_cache_t *c, int64_t now, e911_cache_visit_f visit, void *arg)
{
	e911_cache_res_t res;
	e911_centry_t *e;
	uint32_t n = 0;
	uint32_t b;
	unsigned l;
	int stop = 0;

	if(c == NULL || visit == NULL)
		return 0;
	for(l = 0; l < c->nlocks && !stop; l++) {
		e911_lock(c->locks, l);
		for(b = l; b < c->nbuckets && !stop; b += c->nlocks) {
			for(e = c->buckets[b]; e != NULL && !stop; e = e->next) {
				if(e911_centry_expired(e, now))
					continue;
				e911_fill_res_locked(
						e, e911_centry_state(e, now), e911_centry_rec(e), &res);
				n++;
				stop = visit(e->key, e->klen, &res, arg) != 0;
			}
		}
		e911_unlock(c->locks, l);
	}
	return n;
}

/* Fills st with the counters (approximate while inserts are in flight). */
void e911_cache_get_stats(e911_cache_t *c, e911_cache_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	if(c == NULL)
		return;
	st->entries = e911_stat_get(&c->entries);
	st->bytes = e911_stat_get(&c->bytes);
	st->evictions = e911_stat_get(&c->evictions);
	st->expired = e911_stat_get(&c->expired);
	st->put_failed = e911_stat_get(&c->put_failed);
}
