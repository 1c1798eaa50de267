/*
 * e911 module - the one hash of the module's tables
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A 64-bit hash of a byte string (MurmurHash3's mixing: 8 bytes a round,
 * then fmix64), for the cache, the PSAP-callback memory and the fetchers'
 * single-flight table. Keys come from callers, so tables index with the
 * low bits of a fully mixed value; the reference-token table keys its mix
 * with a secret (e911_reference_tokens.c), since its keys are guessable
 * only if the mix is. (The snapshot file's checksum is FNV-1a 64: that is
 * part of the file format, e911_snapshot.c.)
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_HASH_H
#define E911_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t e911_rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's finaliser: every input bit affects every output bit. */
static inline uint64_t e911_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t e911_hash(const void *data, size_t len)
{
	const uint64_t c1 = 0x87c37b91114253d5ULL;
	const uint64_t c2 = 0x4cf5ad432745937fULL;
	const char *key = (const char *)data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	uint64_t k;

	while(len >= 8) {
		memcpy(&k, key, 8);
		k = e911_rotl64(k * c1, 31) * c2;
		h = e911_rotl64(h ^ k, 27) * 5 + 0x52dce729;
		key += 8;
		len -= 8;
	}
	if(len > 0) {
		k = 0;
		memcpy(&k, key, len);
		k = e911_rotl64(k * c1, 31) * c2;
		h ^= k;
	}
	return e911_fmix64(h);
}

#endif
