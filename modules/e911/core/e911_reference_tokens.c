/*
 * e911 module - location-reference tokens
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The tokens of e911_reference_tokens.h on the module's one expiring
 * table (e911_ttl_table.c): the key of an entry is the raw 16-byte token,
 * its value the lookup key and a verbatim copy of the record:
 *
 *     uint16_t klen | key, NUL | padding to 8 | record (rec->size bytes)
 *
 * The table gives the bounds (count, bytes, eviction of the entries that
 * expire first), the secret-keyed buckets and the constant-time key
 * comparison that tokens need.
 */

#include <string.h>

#include "e911_reference_tokens.h"
#include "e911_text.h"
#include "e911_ttl_table.h"

#define TOKEN_RAW 16

/* the value's layout */
static size_t value_rec_offset(size_t klen)
{
	return (sizeof(uint16_t) + klen + 1 + 7) & ~(size_t)7;
}

/* A value's bytes: the largest key and record, 8-byte aligned. */
typedef struct token_value
{
	uint64_t w[(sizeof(uint16_t) + E911_TOKEN_KEY_MAX + 1 + 7) / 8
			   + E911_REC_MAX_SIZE / 8];
} token_value_t;

/* Whether key and rec can be stored under a token. */
static int value_ok(const char *key, size_t klen, const e911_record_t *rec)
{
	return rec != NULL && klen <= E911_TOKEN_KEY_MAX
		   && (key != NULL || klen == 0) && rec->size >= sizeof(e911_record_t)
		   && rec->size <= E911_REC_MAX_SIZE;
}

/* Lays key and rec out in v (value_ok() holds); returns the value's
 * length. */
static size_t value_encode(token_value_t *v, const char *key, size_t klen,
		const e911_record_t *rec)
{
	char *p = (char *)v->w;
	uint16_t k16 = (uint16_t)klen;

	memset(p, 0, value_rec_offset(klen));
	memcpy(p, &k16, sizeof(k16));
	if(klen > 0)
		memcpy(p + sizeof(k16), key, klen);
	memcpy(p + value_rec_offset(klen), rec, rec->size);
	return value_rec_offset(klen) + rec->size;
}

/* The parts of a stored value: the key (klen bytes, NUL-terminated) and
 * the record. */
typedef struct value_parts
{
	const char *key;
	uint16_t klen;
	const e911_record_t *rec;
} value_parts_t;

static value_parts_t value_decode(const void *value)
{
	value_parts_t vp;

	memcpy(&vp.klen, value, sizeof(vp.klen));
	vp.key = (const char *)value + sizeof(vp.klen);
	vp.rec = (const e911_record_t *)((const char *)value
									 + value_rec_offset(vp.klen));
	return vp;
}

size_t e911_tokens_entry_size(size_t klen, const e911_record_t *rec)
{
	return e911_ttl_entry_size(
			TOKEN_RAW, value_rec_offset(klen) + (rec != NULL ? rec->size : 0));
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

e911_tokens_t *e911_tokens_new(uint32_t max_entries, uint64_t max_bytes)
{
	return (e911_tokens_t *)e911_ttl_new(max_entries, max_bytes);
}

void e911_tokens_destroy(e911_tokens_t *t)
{
	e911_ttl_destroy((e911_ttl_table_t *)t);
}

int e911_token_new(e911_tokens_t *t, const char *key, size_t klen,
		const e911_record_t *rec, int64_t expires, char *token_out)
{
	unsigned char raw[TOKEN_RAW];
	token_value_t v;
	size_t vlen;
	int rc;

	if(token_out != NULL)
		token_out[0] = '\0';
	if(t == NULL || token_out == NULL || !value_ok(key, klen, rec))
		return -1;
	vlen = value_encode(&v, key, klen, rec);
	/* 128 random bits do not collide; if they ever did, draw again */
	do {
		if(e911_random_bytes(raw, TOKEN_RAW) < 0)
			return -1;
		rc = e911_ttl_put((e911_ttl_table_t *)t, raw, TOKEN_RAW, v.w, vlen,
				expires, E911_TTL_NEW);
	} while(rc == E911_TTL_EXISTS);
	if(rc != E911_TTL_OK)
		return -1;
	token_encode(raw, token_out);
	return 0;
}

int e911_token_put(e911_tokens_t *t, const char *token, size_t len,
		const char *key, size_t klen, const e911_record_t *rec, int64_t expires)
{
	unsigned char raw[TOKEN_RAW];
	token_value_t v;
	size_t vlen;

	if(t == NULL || token_decode(token, len, raw) < 0
			|| !value_ok(key, klen, rec))
		return -1;
	vlen = value_encode(&v, key, klen, rec);
	/* the same token again (a peer's copy) replaces it */
	return e911_ttl_put((e911_ttl_table_t *)t, raw, TOKEN_RAW, v.w, vlen,
				   expires, E911_TTL_KEEP_LATER)
						   == E911_TTL_OK
				   ? 0
				   : -1;
}

typedef struct tokens_visit
{
	e911_tokens_visit_f visit;
	void *arg;
} tokens_visit_t;

static int visit_token(const void *key, size_t klen, const void *value,
		size_t vlen, int64_t expires, void *arg)
{
	tokens_visit_t *tv = arg;
	char tok[E911_TOKEN_SIZE];
	value_parts_t vp;

	if(klen != TOKEN_RAW)
		return 0;
	vp = value_decode(value);
	token_encode(key, tok);
	return tv->visit(tok, vp.key, vp.klen, expires, vp.rec, tv->arg);
}

uint32_t e911_tokens_walk(
		e911_tokens_t *t, int64_t now, e911_tokens_visit_f visit, void *arg)
{
	tokens_visit_t tv = {visit, arg};

	if(t == NULL || visit == NULL)
		return 0;
	return e911_ttl_walk((e911_ttl_table_t *)t, now, visit_token, &tv);
}

typedef struct rec_out
{
	void *buf;
	size_t bufsize;
	e911_record_t **rec_out;
} rec_out_t;

static int copy_record(const void *value, size_t vlen, void *arg)
{
	rec_out_t *o = arg;
	const e911_record_t *rec = value_decode(value).rec;

	if(o->buf == NULL || rec->size > o->bufsize)
		return E911_TOKEN_NOSPACE;
	memcpy(o->buf, rec, rec->size);
	if(o->rec_out != NULL)
		*o->rec_out = o->buf;
	return E911_TOKEN_OK;
}

int e911_token_get(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		void *buf, size_t bufsize, e911_record_t **rec_out)
{
	unsigned char raw[TOKEN_RAW];
	rec_out_t o = {buf, bufsize, rec_out};

	if(rec_out != NULL)
		*rec_out = NULL;
	if(t == NULL || token_decode(token, len, raw) < 0)
		return E911_TOKEN_UNKNOWN;
	return e911_ttl_read(
			(e911_ttl_table_t *)t, raw, TOKEN_RAW, now, copy_record, &o);
}

typedef struct key_out
{
	char *key;
	size_t keysize;
} key_out_t;

static int copy_key(const void *value, size_t vlen, void *arg)
{
	key_out_t *o = arg;
	value_parts_t vp = value_decode(value);

	if(o->key == NULL || vp.klen >= o->keysize)
		return E911_TOKEN_NOSPACE;
	memcpy(o->key, vp.key, vp.klen);
	o->key[vp.klen] = '\0';
	return vp.klen;
}

int e911_token_key(e911_tokens_t *t, const char *token, size_t len, int64_t now,
		char *key, size_t keysize)
{
	unsigned char raw[TOKEN_RAW];
	key_out_t o = {key, keysize};

	if(t == NULL || token_decode(token, len, raw) < 0)
		return E911_TOKEN_UNKNOWN;
	return e911_ttl_read(
			(e911_ttl_table_t *)t, raw, TOKEN_RAW, now, copy_key, &o);
}

int e911_token_revoke(e911_tokens_t *t, const char *token, size_t len)
{
	unsigned char raw[TOKEN_RAW];

	if(t == NULL || token_decode(token, len, raw) < 0)
		return 0;
	return e911_ttl_remove((e911_ttl_table_t *)t, raw, TOKEN_RAW);
}

uint32_t e911_tokens_purge(e911_tokens_t *t, int64_t now)
{
	return e911_ttl_purge((e911_ttl_table_t *)t, now);
}

void e911_tokens_get_stats(e911_tokens_t *t, e911_tokens_stats_t *st)
{
	e911_ttl_get_stats((e911_ttl_table_t *)t, st);
}
