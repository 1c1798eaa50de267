/*
 * e911 module - location-reference tokens
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The table described in e911_reference_tokens.h. Layout:
 *
 * - The table header holds the geometry, the lock, the 128-bit hash secret
 *   and the bucket array (one allocation), then the counters and the
 *   expiry list, which the lock guards.
 * - One allocation per entry: header (token as 16 raw bytes), key, padding
 *   to 8, the record copied verbatim (rec->size bytes).
 * - The expiry list is doubly linked, ordered by expires (ties in issue
 *   order). A new entry is placed by walking back from the latest, which
 *   is one step when every token lives equally long. The head is the entry
 *   to expire first: evictions and purges take from there.
 *
 * Locking as in e911_cache.c: entries are built and freed outside the
 * lock; under it we only link, unlink and copy. e911_token_new() reserves
 * room first (evicting from the head until the new entry fits the count
 * and byte budget), then links. The bucket index is a keyed mix of the raw
 * token, and chain walks compare every candidate in constant time.
 */

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "e911_shm.h"
#include "e911_hash.h"
#include "e911_reference_tokens.h"
#include "e911_text.h"

#define TOKEN_RAW 16
#define TOKEN_BUCKETS_MIN 64u
#define TOKEN_BUCKETS_MAX (1u << 24)
#define TOKEN_MAX_ENTRIES (1u << 24)
/* attempts to find memory (evicting before each retry) */
#define TOKEN_OOM_RETRIES 4

typedef struct token_entry
{
	struct token_entry *next;	/* hash chain */
	struct token_entry *prev_x; /* expiry list */
	struct token_entry *next_x;
	int64_t expires;
	uint32_t size; /* bytes of this allocation */
	uint16_t klen;
	unsigned char tok[TOKEN_RAW];
	char key[]; /* klen bytes and a NUL, then padding, then the record */
} token_entry_t;

struct e911_tokens
{
	/* read-only after e911_tokens_new() */
	uint32_t max_entries;
	uint32_t nbuckets;
	uint64_t max_bytes;
	uint64_t secret[2];
	e911_lockset_t *lock;
	token_entry_t **buckets;

	/* under the lock */
	token_entry_t *first; /* expires first */
	token_entry_t *last;
	e911_tokens_stats_t st;
};

static size_t token_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t token_rec_offset(size_t klen)
{
	return token_align8(offsetof(token_entry_t, key) + klen + 1);
}

static e911_record_t *token_rec(const token_entry_t *e)
{
	return (e911_record_t *)((char *)e + token_rec_offset(e->klen));
}

size_t e911_tokens_entry_size(size_t klen, const e911_record_t *rec)
{
	return token_rec_offset(klen) + (rec != NULL ? rec->size : 0);
}

/* Fills buf with n bytes from the kernel's random source. Returns 0 or
 * -1. */
static int token_random(void *buf, size_t n)
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

/* Bucket of a raw token: a mix keyed with the table's secret. */
static uint32_t token_bucket(const e911_tokens_t *t, const unsigned char *raw)
{
	uint64_t a;
	uint64_t b;

	memcpy(&a, raw, 8);
	memcpy(&b, raw + 8, 8);
	a = e911_fmix64(a ^ t->secret[0]);
	b = e911_fmix64(b ^ t->secret[1] ^ a);
	return (uint32_t)b & (t->nbuckets - 1);
}

/* Decodes 32 hex characters (either case) into 16 raw bytes. Returns 0,
 * or -1 when the text is not a token. */
static int token_decode(const char *s, size_t len, unsigned char *raw)
{
	if(s == NULL || len != E911_TOKEN_LEN)
		return -1;
	for(size_t i = 0; i < TOKEN_RAW; i++) {
		unsigned v = 0;

		for(size_t j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			v <<= 4;
			if(c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if(c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if(c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return -1;
		}
		raw[i] = (unsigned char)v;
	}
	return 0;
}

static void token_encode(const unsigned char *raw, char *out)
{
	e911_hex_encode(out, raw, TOKEN_RAW);
}

/* Compares two raw tokens in time independent of their content. */
static int token_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;

	for(size_t i = 0; i < TOKEN_RAW; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Address of the chain link pointing at the entry for raw (holding NULL
 * when there is none). Every entry of the chain is compared. */
static token_entry_t **token_find_locked(
		e911_tokens_t *t, const unsigned char *raw)
{
	token_entry_t **pp = &t->buckets[token_bucket(t, raw)];
	token_entry_t **found = NULL;

	for(; *pp != NULL; pp = &(*pp)->next) {
		if(token_equal((*pp)->tok, raw) && found == NULL)
			found = pp;
	}
	return found != NULL ? found : pp;
}

/* Places e in the expiry list: after the last entry expiring no later. */
static void token_x_insert_locked(e911_tokens_t *t, token_entry_t *e)
{
	token_entry_t *after = t->last;

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

/* Unlinks the entry at chain link *pp from its chain and the expiry list,
 * and takes it out of the counters; the caller frees it after unlocking. */
static token_entry_t *token_unlink_locked(e911_tokens_t *t, token_entry_t **pp)
{
	token_entry_t *e = *pp;

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

/* Unlinks the entry that expires first and puts it on *gone. Returns 0,
 * or -1 when the table is empty. */
static int token_evict_first_locked(e911_tokens_t *t, token_entry_t **gone)
{
	token_entry_t *e = t->first;

	if(e == NULL)
		return -1;
	e = token_unlink_locked(t, token_find_locked(t, e->tok));
	e->next = *gone;
	*gone = e;
	return 0;
}

static void token_free_list(token_entry_t *e)
{
	while(e != NULL) {
		token_entry_t *next = e->next;

		e911_shm_free(e);
		e = next;
	}
}

e911_tokens_t *e911_tokens_new(uint32_t max_entries, uint64_t max_bytes)
{
	e911_tokens_t *t;
	uint32_t nb = TOKEN_BUCKETS_MIN;

	if(max_entries == 0 || max_entries > TOKEN_MAX_ENTRIES)
		return NULL;
	while(nb < max_entries && nb < TOKEN_BUCKETS_MAX)
		nb <<= 1;
	t = e911_shm_malloc(sizeof(*t) + (size_t)nb * sizeof(token_entry_t *));
	if(t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t) + (size_t)nb * sizeof(token_entry_t *));
	t->max_entries = max_entries;
	t->max_bytes = max_bytes;
	t->nbuckets = nb;
	t->buckets = (token_entry_t **)(t + 1);
	t->lock = e911_lockset_new(1);
	if(t->lock == NULL || token_random(t->secret, sizeof(t->secret)) < 0) {
		e911_lockset_destroy(t->lock);
		e911_shm_free(t);
		return NULL;
	}
	return t;
}

void e911_tokens_destroy(e911_tokens_t *t)
{
	token_entry_t *gone = NULL;

	if(t == NULL)
		return;
	e911_lock(t->lock, 0);
	while(token_evict_first_locked(t, &gone) == 0)
		;
	e911_unlock(t->lock, 0);
	token_free_list(gone);
	e911_lockset_destroy(t->lock);
	e911_shm_free(t);
}

/* Whether the table, with e added, is within its bounds. */
static int token_fits_locked(const e911_tokens_t *t, const token_entry_t *e)
{
	return t->st.entries + 1 <= t->max_entries
		   && (t->max_bytes == 0 || t->st.bytes + e->size <= t->max_bytes);
}

int e911_token_new(e911_tokens_t *t, const char *key, size_t klen,
		const e911_record_t *rec, int64_t expires, char *token_out)
{
	token_entry_t *e = NULL;
	token_entry_t *gone = NULL;
	token_entry_t **pp;
	size_t size;
	int tries;

	if(token_out != NULL)
		token_out[0] = '\0';
	if(t == NULL || token_out == NULL || rec == NULL
			|| klen > E911_TOKEN_KEY_MAX || (key == NULL && klen > 0)
			|| rec->size < sizeof(e911_record_t)
			|| rec->size > E911_REC_MAX_SIZE)
		return -1;
	size = e911_tokens_entry_size(klen, rec);
	if(t->max_bytes != 0 && size > t->max_bytes)
		return -1;
	for(tries = 0; e == NULL && tries < TOKEN_OOM_RETRIES; tries++) {
		e = e911_shm_malloc(size);
		if(e != NULL)
			break;
		/* out of shared memory: make room and retry */
		e911_lock(t->lock, 0);
		for(int k = 0; k < 2; k++) {
			if(token_evict_first_locked(t, &gone) == 0)
				t->st.evicted++;
		}
		e911_unlock(t->lock, 0);
		token_free_list(gone);
		gone = NULL;
	}
	if(e == NULL) {
		e911_lock(t->lock, 0);
		t->st.issue_failed++;
		e911_unlock(t->lock, 0);
		return -1;
	}
	memset(e, 0, token_rec_offset(klen));
	e->size = (uint32_t)size;
	e->klen = (uint16_t)klen;
	e->expires = expires;
	if(klen > 0)
		memcpy(e->key, key, klen);
	memcpy(token_rec(e), rec, rec->size);
	if(token_random(e->tok, TOKEN_RAW) < 0) {
		e911_shm_free(e);
		return -1;
	}

	e911_lock(t->lock, 0);
	/* 128 random bits do not collide; if they ever did, draw again */
	pp = token_find_locked(t, e->tok);
	while(*pp != NULL) {
		if(token_random(e->tok, TOKEN_RAW) < 0) {
			e911_unlock(t->lock, 0);
			e911_shm_free(e);
			return -1;
		}
		pp = token_find_locked(t, e->tok);
	}
	while(!token_fits_locked(t, e) && token_evict_first_locked(t, &gone) == 0)
		t->st.evicted++;
	/* the evictions may have changed the chain: find the link again */
	pp = token_find_locked(t, e->tok);
	e->next = NULL;
	*pp = e;
	token_x_insert_locked(t, e);
	t->st.entries++;
	t->st.bytes += e->size;
	/* once unlocked, e may be evicted and freed by another process */
	token_encode(e->tok, token_out);
	e911_unlock(t->lock, 0);

	token_free_list(gone);
	return 0;
}

/* Finds a live entry for token at now under the lock, removing an expired
 * one (onto *gone). Returns the entry or NULL. */
static token_entry_t *token_lookup_locked(e911_tokens_t *t,
		const unsigned char *raw, int64_t now, token_entry_t **gone)
{
	token_entry_t **pp = token_find_locked(t, raw);
	token_entry_t *e = *pp;

	if(e == NULL)
		return NULL;
	if(now >= e->expires) {
		e = token_unlink_locked(t, pp);
		t->st.expired++;
		e->next = *gone;
		*gone = e;
		return NULL;
	}
	return e;
}

int e911_token_get(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		void *buf, size_t bufsize, e911_record_t **rec_out)
{
	unsigned char raw[TOKEN_RAW];
	token_entry_t *gone = NULL;
	token_entry_t *e;
	const e911_record_t *rec;
	int rc = E911_TOKEN_UNKNOWN;

	if(rec_out != NULL)
		*rec_out = NULL;
	if(t == NULL || token_decode(token, len, raw) < 0)
		return E911_TOKEN_UNKNOWN;
	e911_lock(t->lock, 0);
	e = token_lookup_locked(t, raw, now, &gone);
	if(e != NULL) {
		rec = token_rec(e);
		if(buf == NULL || rec->size > bufsize) {
			rc = E911_TOKEN_NOSPACE;
		} else {
			memcpy(buf, rec, rec->size);
			if(rec_out != NULL)
				*rec_out = buf;
			rc = E911_TOKEN_OK;
		}
	}
	e911_unlock(t->lock, 0);
	token_free_list(gone);
	return rc;
}

int e911_token_key(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		char *key, size_t keysize)
{
	unsigned char raw[TOKEN_RAW];
	token_entry_t *gone = NULL;
	token_entry_t *e;
	int rc = E911_TOKEN_UNKNOWN;

	if(t == NULL || token_decode(token, len, raw) < 0)
		return E911_TOKEN_UNKNOWN;
	e911_lock(t->lock, 0);
	e = token_lookup_locked(t, raw, now, &gone);
	if(e != NULL) {
		if(key == NULL || e->klen >= keysize) {
			rc = E911_TOKEN_NOSPACE;
		} else {
			memcpy(key, e->key, e->klen);
			key[e->klen] = '\0';
			rc = e->klen;
		}
	}
	e911_unlock(t->lock, 0);
	token_free_list(gone);
	return rc;
}

int e911_token_revoke(e911_tokens_t *t, const char *token, size_t len)
{
	unsigned char raw[TOKEN_RAW];
	token_entry_t **pp;
	token_entry_t *e = NULL;

	if(t == NULL || token_decode(token, len, raw) < 0)
		return 0;
	e911_lock(t->lock, 0);
	pp = token_find_locked(t, raw);
	if(*pp != NULL)
		e = token_unlink_locked(t, pp);
	e911_unlock(t->lock, 0);
	e911_shm_free(e);
	return e != NULL;
}

uint32_t e911_tokens_purge(e911_tokens_t *t, int64_t now)
{
	token_entry_t *gone = NULL;
	uint32_t n = 0;

	if(t == NULL)
		return 0;
	e911_lock(t->lock, 0);
	while(t->first != NULL && now >= t->first->expires
			&& token_evict_first_locked(t, &gone) == 0) {
		t->st.expired++;
		n++;
	}
	e911_unlock(t->lock, 0);
	token_free_list(gone);
	return n;
}

void e911_tokens_get_stats(e911_tokens_t *t, e911_tokens_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	if(t == NULL)
		return;
	e911_lock(t->lock, 0);
	*st = t->st;
	e911_unlock(t->lock, 0);
}
