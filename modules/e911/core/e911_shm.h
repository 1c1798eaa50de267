/*
 * e911 module - shared memory and lock shim
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The pure core (the cache) allocates shared memory and takes locks only
 * through these functions. Inside Kamailio they map to shm_malloc() and a
 * gen_lock_set_t (e911_shm_kamailio.c); the unit tests and fuzzers link a version
 * over an anonymous shared mapping and process-shared mutexes
 * (test/unit/shm_test.c), so the same code is exercised by forked processes.
 */

#ifndef E911_SHM_H
#define E911_SHM_H

#include <stddef.h>

/* Allocates size bytes of memory shared by all processes, or NULL. */
void *e911_shm_malloc(size_t size);
/* Frees memory from e911_shm_malloc(); NULL is ignored. */
void e911_shm_free(void *p);

typedef struct e911_lockset e911_lockset_t;

/* Allocates and initialises n locks in shared memory, or NULL. */
e911_lockset_t *e911_lockset_new(unsigned n);
/* Destroys and frees a lock set; NULL is ignored. */
void e911_lockset_destroy(e911_lockset_t *set);
/* Takes / releases lock i (i < n). Locks are not recursive. */
void e911_lock(e911_lockset_t *set, unsigned i);
void e911_unlock(e911_lockset_t *set, unsigned i);

#endif
