/*
 * e911 module - shared memory and locks, the Kamailio way
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Implements e911_shm.h for the pure core with Kamailio's shm_malloc() and
 * a gen_lock_set_t. Must be used only after shared memory is initialised
 * (mod_init and later).
 */

#include "../../core/locking.h"
#include "../../core/mem/shm_mem.h"

#include "core/e911_shm.h"

void *e911_shm_malloc(size_t size)
{
	return shm_malloc(size);
}

void e911_shm_free(void *p)
{
	if(p)
		shm_free(p);
}

e911_lockset_t *e911_lockset_new(unsigned n)
{
	gen_lock_set_t *set = lock_set_alloc(n);

	if(set == NULL)
		return NULL;
	if(lock_set_init(set) == NULL) {
		lock_set_dealloc(set);
		return NULL;
	}
	return (e911_lockset_t *)set;
}

void e911_lockset_destroy(e911_lockset_t *set)
{
	if(set == NULL)
		return;
	gen_lock_set_t *s = (gen_lock_set_t *)set;

	lock_set_destroy(s);
	lock_set_dealloc(s);
}

void e911_lock(e911_lockset_t *set, unsigned i)
{
	gen_lock_set_t *s = (gen_lock_set_t *)set;

	lock_set_get(s, i);
}

void e911_unlock(e911_lockset_t *set, unsigned i)
{
	gen_lock_set_t *s = (gen_lock_set_t *)set;

	lock_set_release(s, i);
}
