/*
 * e911 module - which networks each caller was seen on
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The confirmation loop asks a user to confirm their address when their
 * phone registers from a network new for them, at most once per network
 * per window. This is its memory: a bounded table in shared memory of
 * (caller key, network) -> when last seen, hashed (only 64-bit hashes are
 * kept, no key and no address). When a probe finds no free slot, the
 * oldest of the probed slots is reused, so memory never grows and the
 * worst case is one extra confirmation.
 *
 * Shared memory and the lock go through the e911_shm.h shim.
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_SEEN_H
#define E911_SEEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct e911_seen e911_seen_t;

/* A table for about max pairs (at least 16), in shared memory, or NULL. */
e911_seen_t *e911_seen_new(unsigned max);

/* Frees the table; NULL is ignored. */
void e911_seen_destroy(e911_seen_t *s);

/* Records that key was seen on network at now, and returns 1 when that is
 * new: not seen there within the last window seconds; else 0. */
int e911_seen_note(e911_seen_t *s, const char *key, const char *network,
		int64_t now, int window);

/* Bytes of shared memory the table holds. */
size_t e911_seen_bytes(const e911_seen_t *s);

#endif
