/*
 * Test-only controls of the shared-memory shim in shm_test.c: cap the bytes
 * the allocator hands out (to drive the "out of shared memory" paths), read
 * its usage, check its heap, and find locks left held. The shim itself
 * implements modules/e911/core/e911_shm.h over one anonymous MAP_SHARED mapping,
 * created by the first allocation: create what forked children must share
 * before forking.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef E911_SHM_TEST_H
#define E911_SHM_TEST_H

#include <stddef.h>

/* No cap: the whole mapping may be allocated. */
#define E911_TEST_SHM_NOLIMIT ((size_t)-1)

/* Caps the bytes in use (e911_test_shm_used) at bytes: allocations that
 * would go beyond it return NULL. E911_TEST_SHM_NOLIMIT lifts the cap. */
void e911_test_shm_limit(size_t bytes);

/* Bytes in use, the allocator's per-block overhead included. */
size_t e911_test_shm_used(void);

/* Number of live allocations. */
size_t e911_test_shm_allocs(void);

/* Bytes one allocation of size bytes takes beyond size (header and
 * rounding). */
size_t e911_test_shm_overhead(size_t size);

/* Walks the whole heap and checks its structure and counters.
 * Returns 0 when consistent, -1 (and prints why on stderr) otherwise. */
int e911_test_shm_check(void);

/* Tries every lock of every live lock set; returns how many are held. */
unsigned e911_test_locks_held(void);

#endif
