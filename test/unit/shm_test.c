/*
 * Shared-memory and lock shim for the unit tests, fuzzers and benchmarks: an
 * implementation of modules/e911/core/e911_shm.h that needs no Kamailio.
 *
 * Memory comes from one anonymous MAP_SHARED mapping, created by the first
 * call (256 MiB unless the environment variable E911_TEST_SHM_MB says
 * otherwise; MAP_NORESERVE, so untouched pages cost nothing). Anything
 * allocated before a fork() is shared with the children at the same address,
 * as Kamailio's shm is. The allocator is a small boundary-tag heap: every
 * block has an 8-byte header (size and two flag bits) and is rounded up to
 * 16 bytes, so payloads are 16-byte aligned; free blocks keep a footer and
 * sit in segregated free lists (exact 16-byte classes below 1 KiB, then 8
 * classes per power of two) found through a bitmap; a freed block coalesces
 * with free neighbours and with the untouched "top" of the mapping. Freed
 * payloads are overwritten with 0xdd, so a read after free sees garbage
 * rather than plausible old data. One process-shared mutex guards the heap. e911_test_shm_limit() caps the bytes
 * in use so tests can exhaust memory on purpose.
 *
 * Locks are error-checking, process-shared pthread mutexes placed in the
 * mapping; a lock error (unlocking a lock not held, taking one twice) aborts,
 * which turns a locking bug into a test failure. Every lock set is kept on a
 * list so e911_test_locks_held() can look for locks left held.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "e911_shm.h"
#include "shm_test.h"

#define SHM_DEFAULT_MB 256
#define SHM_ALIGN 16
#define SHM_HDR sizeof(size_t)
#define SHM_MIN_BLOCK 32
#define SHM_INUSE ((size_t)1)
#define SHM_PREV_INUSE ((size_t)2)
#define SHM_FLAGS (SHM_INUSE | SHM_PREV_INUSE)
#define SHM_POISON 0xdd

/* bins: 0..63 exact 16-byte classes (size / 16), then 8 per power of two
 * from 1 KiB up */
#define SHM_SMALL_LIMIT 1024
#define SHM_NBINS 384
#define SHM_BITMAP_WORDS (SHM_NBINS / 64)

/* A heap block. next and prev exist only while the block is free; a free
 * block also repeats its size in its last 8 bytes (the footer). */
typedef struct shm_blk
{
	size_t hdr; /* block size (multiple of 16) | SHM_INUSE | SHM_PREV_INUSE */
	struct shm_blk *next;
	struct shm_blk *prev;
} shm_blk_t;

struct e911_lockset
{
	struct e911_lockset *next; /* registry of live sets */
	struct e911_lockset *prev;
	unsigned n;
	pthread_mutex_t m[];
};

typedef struct shm_arena
{
	pthread_mutex_t lock;
	char *base; /* first block */
	char *top;	/* start of the never-used remainder */
	char *end;	/* end of the mapping */
	size_t used;
	size_t limit;
	size_t nallocs;
	uint64_t bitmap[SHM_BITMAP_WORDS];
	shm_blk_t *bins[SHM_NBINS];
	e911_lockset_t *sets;
} shm_arena_t;

static shm_arena_t *arena;

/* Aborts the test with a message: the shim's invariants are broken. */
static void shm_die(const char *what)
{
	fprintf(stderr, "shm_test: %s\n", what);
	abort();
}

/* Creates the mapping and the arena at its start, once per process tree. */
static shm_arena_t *shm_arena(void)
{
	pthread_mutexattr_t attr;
	const char *env;
	size_t mb = SHM_DEFAULT_MB;
	size_t size;
	void *map;
	shm_arena_t *a;
	uintptr_t first;

	if(arena != NULL)
		return arena;
	env = getenv("E911_TEST_SHM_MB");
	if(env != NULL && atol(env) > 0)
		mb = (size_t)atol(env);
	size = mb << 20;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if(map == MAP_FAILED)
		shm_die("mmap failed");
	a = map;
	memset(a, 0, sizeof(*a));
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&a->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	/* first block header at 8 mod 16, so that payloads are 16-aligned */
	first = ((uintptr_t)(a + 1) + SHM_ALIGN - 1) & ~(uintptr_t)(SHM_ALIGN - 1);
	first += SHM_ALIGN - SHM_HDR;
	a->base = (char *)first;
	a->top = a->base;
	a->end = (char *)map + size;
	a->limit = E911_TEST_SHM_NOLIMIT;
	arena = a;
	return a;
}

/* Block size needed for a request of n bytes, or 0 when n is absurd. */
static size_t shm_block_size(size_t n)
{
	size_t s;

	if(n > ((size_t)1 << 40))
		return 0;
	s = (n + SHM_HDR + SHM_ALIGN - 1) & ~(size_t)(SHM_ALIGN - 1);
	return s < SHM_MIN_BLOCK ? SHM_MIN_BLOCK : s;
}

/* Bin of a block size: every block in a higher bin is larger. */
static unsigned shm_bin(size_t size)
{
	unsigned fl;

	if(size < SHM_SMALL_LIMIT)
		return (unsigned)(size / SHM_ALIGN);
	fl = 63 - (unsigned)__builtin_clzll(size); /* >= 10 */
	return 64 + (fl - 10) * 8 + (unsigned)((size >> (fl - 3)) & 7);
}

static size_t blk_size(const shm_blk_t *b)
{
	return b->hdr & ~SHM_FLAGS;
}

static shm_blk_t *blk_next(shm_blk_t *b)
{
	return (shm_blk_t *)((char *)b + blk_size(b));
}

/* Links free block b into its bin and writes its footer. */
static void shm_bin_insert_locked(shm_arena_t *a, shm_blk_t *b)
{
	size_t size = blk_size(b);
	unsigned i = shm_bin(size);

	*(size_t *)((char *)b + size - SHM_HDR) = size;
	b->prev = NULL;
	b->next = a->bins[i];
	if(b->next != NULL)
		b->next->prev = b;
	a->bins[i] = b;
	a->bitmap[i / 64] |= (uint64_t)1 << (i % 64);
}

/* Unlinks free block b from its bin. */
static void shm_bin_remove_locked(shm_arena_t *a, shm_blk_t *b)
{
	unsigned i = shm_bin(blk_size(b));

	if(b->prev != NULL)
		b->prev->next = b->next;
	else
		a->bins[i] = b->next;
	if(b->next != NULL)
		b->next->prev = b->prev;
	if(a->bins[i] == NULL)
		a->bitmap[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* First free block of at least size bytes, or NULL. */
static shm_blk_t *shm_find_locked(shm_arena_t *a, size_t size)
{
	unsigned i = shm_bin(size);
	unsigned w;
	uint64_t bits;
	shm_blk_t *b;

	for(b = a->bins[i]; b != NULL; b = b->next) {
		if(blk_size(b) >= size)
			return b;
	}
	i++;
	for(w = i / 64; w < SHM_BITMAP_WORDS; w++) {
		bits = a->bitmap[w];
		if(w == i / 64 && i % 64 != 0)
			bits &= ~(uint64_t)0 << (i % 64);
		if(bits != 0)
			return a->bins[w * 64 + (unsigned)__builtin_ctzll(bits)];
	}
	return NULL;
}

/* Carves a block of size bytes, from a free list or the top, or NULL. */
static shm_blk_t *shm_alloc_locked(shm_arena_t *a, size_t size)
{
	shm_blk_t *b;
	shm_blk_t *rest;
	size_t bsize;

	b = shm_find_locked(a, size);
	if(b != NULL) {
		shm_bin_remove_locked(a, b);
		bsize = blk_size(b);
		if(bsize - size >= SHM_MIN_BLOCK) {
			rest = (shm_blk_t *)((char *)b + size);
			rest->hdr = (bsize - size) | SHM_PREV_INUSE;
			shm_bin_insert_locked(a, rest);
			/* the block after rest already has PREV_INUSE clear */
			b->hdr = size | SHM_INUSE | (b->hdr & SHM_PREV_INUSE);
		} else {
			b->hdr = bsize | SHM_INUSE | (b->hdr & SHM_PREV_INUSE);
			if((char *)blk_next(b) < a->top)
				blk_next(b)->hdr |= SHM_PREV_INUSE;
		}
		return b;
	}
	if((size_t)(a->end - a->top) < size + SHM_HDR)
		return NULL;
	b = (shm_blk_t *)a->top;
	/* a free block before the top always merges into it */
	b->hdr = size | SHM_INUSE | SHM_PREV_INUSE;
	a->top += size;
	return b;
}

/* Allocates size bytes of memory shared by all processes, or NULL. */
void *e911_shm_malloc(size_t size)
{
	shm_arena_t *a = shm_arena();
	size_t bsize = shm_block_size(size);
	shm_blk_t *b = NULL;

	if(bsize == 0)
		return NULL;
	pthread_mutex_lock(&a->lock);
	if(a->limit == E911_TEST_SHM_NOLIMIT || a->used + bsize <= a->limit)
		b = shm_alloc_locked(a, bsize);
	if(b != NULL) {
		a->used += blk_size(b);
		a->nallocs++;
	}
	pthread_mutex_unlock(&a->lock);
	return b != NULL ? (char *)b + SHM_HDR : NULL;
}

/* Frees memory from e911_shm_malloc(); NULL is ignored. */
void e911_shm_free(void *p)
{
	shm_arena_t *a = arena;
	shm_blk_t *b;
	shm_blk_t *n;
	shm_blk_t *prev;
	size_t size;

	if(p == NULL)
		return;
	b = (shm_blk_t *)((char *)p - SHM_HDR);
	if(a == NULL || (char *)b < a->base || (char *)b >= a->top
			|| ((uintptr_t)p & (SHM_ALIGN - 1)) != 0)
		shm_die("free of a pointer that is not from e911_shm_malloc");
	pthread_mutex_lock(&a->lock);
	if(!(b->hdr & SHM_INUSE))
		shm_die("double free");
	size = blk_size(b);
	/* poison the payload: a use after free reads garbage, not old data */
	memset(p, SHM_POISON, size - SHM_HDR);
	a->used -= size;
	a->nallocs--;
	b->hdr &= ~SHM_INUSE;
	/* merge with the previous block when it is free */
	if(!(b->hdr & SHM_PREV_INUSE)) {
		size_t psize = *(size_t *)((char *)b - SHM_HDR);
		prev = (shm_blk_t *)((char *)b - psize);
		shm_bin_remove_locked(a, prev);
		size += psize;
		b = prev;
		b->hdr = size | (b->hdr & SHM_PREV_INUSE);
	}
	n = (shm_blk_t *)((char *)b + size);
	if((char *)n == a->top) {
		a->top = (char *)b;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	if(!(n->hdr & SHM_INUSE)) {
		shm_bin_remove_locked(a, n);
		size += blk_size(n);
		b->hdr = size | (b->hdr & SHM_PREV_INUSE);
		n = (shm_blk_t *)((char *)b + size);
		if((char *)n == a->top) {
			a->top = (char *)b;
			pthread_mutex_unlock(&a->lock);
			return;
		}
	}
	n->hdr &= ~SHM_PREV_INUSE;
	shm_bin_insert_locked(a, b);
	pthread_mutex_unlock(&a->lock);
}

/* Caps the bytes in use at bytes (E911_TEST_SHM_NOLIMIT: no cap). */
void e911_test_shm_limit(size_t bytes)
{
	shm_arena_t *a = shm_arena();

	pthread_mutex_lock(&a->lock);
	a->limit = bytes;
	pthread_mutex_unlock(&a->lock);
}

/* Bytes in use, block overhead included. */
size_t e911_test_shm_used(void)
{
	shm_arena_t *a = shm_arena();
	size_t used;

	pthread_mutex_lock(&a->lock);
	used = a->used;
	pthread_mutex_unlock(&a->lock);
	return used;
}

/* Number of live allocations. */
size_t e911_test_shm_allocs(void)
{
	shm_arena_t *a = shm_arena();
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->nallocs;
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* Bytes an allocation of size bytes takes beyond size. */
size_t e911_test_shm_overhead(size_t size)
{
	return shm_block_size(size) - size;
}

/* Checks the heap: block chain, flags, coalescing, bins and counters. */
int e911_test_shm_check(void)
{
	shm_arena_t *a = shm_arena();
	shm_blk_t *b;
	size_t used = 0, nallocs = 0, nfree = 0, nbinned = 0;
	int prev_inuse = 1;
	unsigned i;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	for(b = (shm_blk_t *)a->base; (char *)b < a->top; b = blk_next(b)) {
		size_t size = blk_size(b);
		if(size < SHM_MIN_BLOCK || size % SHM_ALIGN != 0
				|| (char *)b + size > a->top) {
			fprintf(stderr, "shm_test: bad block size %zu\n", size);
			rc = -1;
			break;
		}
		if(!!(b->hdr & SHM_PREV_INUSE) != prev_inuse) {
			fprintf(stderr, "shm_test: wrong PREV_INUSE bit\n");
			rc = -1;
		}
		if(b->hdr & SHM_INUSE) {
			used += size;
			nallocs++;
		} else {
			if(!prev_inuse) {
				fprintf(stderr, "shm_test: two free blocks in a row\n");
				rc = -1;
			}
			if(*(size_t *)((char *)b + size - SHM_HDR) != size) {
				fprintf(stderr, "shm_test: bad footer\n");
				rc = -1;
			}
			nfree++;
		}
		prev_inuse = !!(b->hdr & SHM_INUSE);
	}
	if(rc == 0 && !prev_inuse) {
		fprintf(stderr, "shm_test: free block before the top\n");
		rc = -1;
	}
	for(i = 0; i < SHM_NBINS; i++) {
		int set = !!(a->bitmap[i / 64] & ((uint64_t)1 << (i % 64)));
		if(set != (a->bins[i] != NULL)) {
			fprintf(stderr, "shm_test: bitmap out of step, bin %u\n", i);
			rc = -1;
		}
		for(b = a->bins[i]; b != NULL; b = b->next) {
			if((b->hdr & SHM_INUSE) || shm_bin(blk_size(b)) != i) {
				fprintf(stderr, "shm_test: bad block in bin %u\n", i);
				rc = -1;
				break;
			}
			nbinned++;
		}
	}
	if(used != a->used || nallocs != a->nallocs || nfree != nbinned) {
		fprintf(stderr,
				"shm_test: counters: used %zu/%zu allocs %zu/%zu free "
				"%zu/%zu\n",
				used, a->used, nallocs, a->nallocs, nfree, nbinned);
		rc = -1;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* Allocates and initialises n locks in shared memory, or NULL. */
e911_lockset_t *e911_lockset_new(unsigned n)
{
	shm_arena_t *a = shm_arena();
	pthread_mutexattr_t attr;
	e911_lockset_t *set;
	unsigned i;

	if(n == 0)
		return NULL;
	set = e911_shm_malloc(sizeof(*set) + (size_t)n * sizeof(pthread_mutex_t));
	if(set == NULL)
		return NULL;
	set->n = n;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	for(i = 0; i < n; i++)
		pthread_mutex_init(&set->m[i], &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_lock(&a->lock);
	set->prev = NULL;
	set->next = a->sets;
	if(set->next != NULL)
		set->next->prev = set;
	a->sets = set;
	pthread_mutex_unlock(&a->lock);
	return set;
}

/* Destroys and frees a lock set; NULL is ignored. */
void e911_lockset_destroy(e911_lockset_t *set)
{
	shm_arena_t *a = arena;
	unsigned i;

	if(set == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if(set->prev != NULL)
		set->prev->next = set->next;
	else
		a->sets = set->next;
	if(set->next != NULL)
		set->next->prev = set->prev;
	pthread_mutex_unlock(&a->lock);
	for(i = 0; i < set->n; i++) {
		if(pthread_mutex_destroy(&set->m[i]) != 0)
			shm_die("destroying a lock that is held");
	}
	e911_shm_free(set);
}

/* Takes lock i; aborts on a locking error. */
void e911_lock(e911_lockset_t *set, unsigned i)
{
	if(i >= set->n)
		shm_die("lock index out of range");
	if(pthread_mutex_lock(&set->m[i]) != 0)
		shm_die("lock failed (already held by this process?)");
}

/* Releases lock i; aborts on a locking error. */
void e911_unlock(e911_lockset_t *set, unsigned i)
{
	if(i >= set->n)
		shm_die("unlock index out of range");
	if(pthread_mutex_unlock(&set->m[i]) != 0)
		shm_die("unlock of a lock not held");
}

/* Tries every lock of every live set; returns how many are held. */
unsigned e911_test_locks_held(void)
{
	shm_arena_t *a = shm_arena();
	e911_lockset_t *set;
	unsigned i, held = 0;

	pthread_mutex_lock(&a->lock);
	for(set = a->sets; set != NULL; set = set->next) {
		for(i = 0; i < set->n; i++) {
			if(pthread_mutex_trylock(&set->m[i]) == 0)
				pthread_mutex_unlock(&set->m[i]);
			else
				held++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return held;
}
