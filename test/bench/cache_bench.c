/*
 * Micro-benchmark of the shared-memory location cache (e911_cache.c) over
 * the test shim: for 1, 10^4 and 10^6 entries of a ~350-byte record it
 * measures the hit path of e911_cache_lookup() (hash, slot lock, copy-out;
 * median ns per lookup over several rounds of random keys), the cost of an
 * insert, and the shared memory each cached record takes (the cache's own
 * count, the allocator's per-block overhead, and everything the shim handed
 * out divided by the entries, buckets and locks included), on pre-faulted
 * pages; and, for scale, the latency of one random memory read. Prints a
 * markdown table. "--smoke" runs a reduced version in about a second (for
 * ctest, label bench-smoke).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e911_cache.h"
#include "e911_shm.h"
#include "shm_test.h"

#define BENCH_REC_SIZE 350
/* keys: the digits are rewritten for each entry */
#define BENCH_KEY_TEMPLATE "sip:+10000000000@example.net"
#define BENCH_KEY_DIGITS 6 /* offset of the first of 10 digits */

typedef struct bench_row
{
	uint32_t entries;
	double put_ns;
	double lookup_ns;	  /* median round */
	double lookup_min_ns; /* best round */
	double entry_bytes;	  /* stats bytes / entries */
	double alloc_bytes;	  /* plus the allocator's overhead per block */
	double total_bytes;	  /* all shim bytes / entries */
} bench_row_t;

static double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static uint64_t bench_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A ~BENCH_REC_SIZE-byte record with a typical civic address. */
static e911_record_t *bench_record(void)
{
	static const struct
	{
		int f;
		const char *v;
	} fields[] = {{E911_CA_COUNTRY, "US"}, {E911_CA_A1, "IL"},
			{E911_CA_A3, "Chicago"}, {E911_CA_RD, "North Michigan"},
			{E911_CA_STS, "Avenue"}, {E911_CA_HNO, "1400"}, {E911_CA_FLR, "12"},
			{E911_CA_ROOM, "1207"},
			{E911_CA_NAM, "Example Corp, Chicago office"},
			{E911_CA_PC, "60611"},
			{E911_F_KEY, "sip:+13125550100@pbx.example.net"},
			{E911_F_CALLBACK, "+13125550100"},
			{E911_F_ROUTE, "sip:psap-gw.example.net;transport=tls"},
			{E911_F_UPDATED, "2026-01-01T00:00:00Z"}};
	e911_record_t *r = calloc(1, E911_REC_MAX_SIZE);
	size_t used = 1;
	size_t i, len;

	if(r == NULL)
		return NULL;
	for(i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		len = strlen(fields[i].v);
		r->off[fields[i].f] = (uint16_t)used;
		memcpy(r->pool + used, fields[i].v, len + 1);
		used += len + 1;
	}
	/* pad the location note up to the target size */
	len = BENCH_REC_SIZE - offsetof(e911_record_t, pool) - used - 1;
	r->off[E911_CA_LOC] = (uint16_t)used;
	memset(r->pool + used, 'x', len);
	used += len + 1;
	r->size = (uint32_t)(offsetof(e911_record_t, pool) + used);
	r->flags = E911_REC_HAS_GEO | E911_REC_VALIDATED;
	r->lat = 41.8955;
	r->lon = -87.6244;
	r->max_age = 300;
	return r;
}

/* Writes entry i's key into key (a copy of BENCH_KEY_TEMPLATE): the key
 * stays in a hot buffer, as a key taken from a SIP message would. */
static void bench_key(char *key, uint32_t i)
{
	int d;

	for(d = 9; d >= 0; d--) {
		key[BENCH_KEY_DIGITS + d] = (char)('0' + i % 10);
		i /= 10;
	}
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Faults in the first mb MiB of the shim's mapping: a block that size is
 * allocated, written and freed (it returns to the top of the heap). */
static void bench_prefault(size_t mb)
{
	char *m = e911_shm_malloc(mb << 20);

	if(m != NULL)
		memset(m, 0, mb << 20);
	e911_shm_free(m);
}

/* The machine's floor: ns per dependent read of a random cache line in
 * mb MiB of shared memory (a pointer chase), or -1. A cache lookup at 10^6
 * entries is a few such reads in a row (bucket, lock, entry). */
static double bench_miss_ns(size_t mb, uint32_t reads)
{
	size_t nlines = (mb << 20) / 64;
	char *m = e911_shm_malloc(mb << 20);
	uint32_t *perm = malloc(nlines * sizeof(*perm));
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t i, j, p;
	uint32_t t;
	double t0, ns = -1;

	if(m != NULL && perm != NULL) {
		for(i = 0; i < nlines; i++)
			perm[i] = (uint32_t)i;
		for(i = nlines - 1; i > 0; i--) {
			j = bench_rand(&seed) % (i + 1);
			t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for(i = 0; i < nlines; i++)
			*(size_t *)(m + (size_t)perm[i] * 64) =
					(size_t)perm[(i + 1) % nlines] * 64;
		p = (size_t)perm[0] * 64;
		t0 = bench_now();
		for(i = 0; i < reads; i++)
			p = *(volatile size_t *)(m + p);
		ns = (bench_now() - t0) / reads;
		if(p == 1) /* keep p alive */
			ns = -1;
	}
	free(perm);
	e911_shm_free(m);
	return ns;
}

/* Fills one table row for n entries; returns 0 or -1. */
static int bench_run(uint32_t n, unsigned rounds, uint32_t lookups,
		const e911_record_t *rec, bench_row_t *row)
{
	static char buf[E911_REC_MAX_SIZE] __attribute__((aligned(8)));
	size_t used0 = e911_test_shm_used();
	e911_cache_res_t res;
	e911_cache_stats_t st;
	e911_cache_t *c;
	char key[] = BENCH_KEY_TEMPLATE;
	size_t klen = sizeof(key) - 1;
	double t0, ns[16];
	uint64_t seed = 0x853c49e6748fea9bULL;
	uint32_t i, k, hits = 0;
	unsigned r;

	c = e911_cache_new(n, 0);
	if(c == NULL) {
		fprintf(stderr, "cache_bench: out of memory at %u entries\n", n);
		return -1;
	}

	t0 = bench_now();
	for(i = 0; i < n; i++) {
		bench_key(key, i);
		if(e911_cache_put(c, key, klen, rec, 1, 1000, 2000, E911_ORIGIN_SERVICE)
				!= 0) {
			fprintf(stderr, "cache_bench: put failed at %u\n", i);
			return -1;
		}
	}
	row->put_ns = (bench_now() - t0) / n;

	for(r = 0; r < rounds; r++) {
		t0 = bench_now();
		for(i = 0; i < lookups; i++) {
			k = (uint32_t)(bench_rand(&seed) % n);
			bench_key(key, k);
			if(e911_cache_lookup(c, key, klen, 10, &res, buf, sizeof(buf))
					== E911_CS_FRESH)
				hits++;
		}
		ns[r] = (bench_now() - t0) / lookups;
	}
	qsort(ns, rounds, sizeof(ns[0]), bench_cmp);
	row->lookup_ns = ns[rounds / 2];
	row->lookup_min_ns = ns[0];
	if(hits != (uint64_t)rounds * lookups) {
		fprintf(stderr, "cache_bench: %u of %llu lookups missed\n",
				(unsigned)((uint64_t)rounds * lookups - hits),
				(unsigned long long)rounds * lookups);
		return -1;
	}

	e911_cache_get_stats(c, &st);
	row->entries = n;
	row->entry_bytes = (double)st.bytes / (double)st.entries;
	row->alloc_bytes =
			row->entry_bytes
			+ (double)e911_test_shm_overhead((size_t)row->entry_bytes);
	row->total_bytes = (double)(e911_test_shm_used() - used0) / n;
	e911_cache_destroy(c);
	return 0;
}

int main(int argc, char **argv)
{
	int smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
	const uint32_t sizes[] = {1, 10000, 1000000};
	unsigned nsizes = smoke ? 2 : 3;
	unsigned rounds = smoke ? 3 : 7;
	uint32_t lookups = smoke ? 200000 : 1000000;
	bench_row_t rows[3];
	char put[32];
	e911_record_t *rec;
	unsigned i;

	/* 10^6 entries of ~440 bytes do not fit the shim's default 256 MiB */
	setenv("E911_TEST_SHM_MB", "1024", 0);
	rec = bench_record();
	if(rec == NULL)
		return 1;
	/* touch the pages the caches will use, so that puts are not timed
	 * with first-touch page faults (Kamailio: shm_force_alloc) */
	bench_prefault(smoke ? 16 : 640);
	for(i = 0; i < nsizes; i++) {
		if(bench_run(sizes[i], rounds, lookups, rec, &rows[i]) != 0)
			return 1;
	}
	printf("record: %u bytes, key: %zu bytes, lookups: median of %u rounds "
		   "of %u random hits\n\n",
			rec->size, strlen(BENCH_KEY_TEMPLATE), rounds, lookups);
	printf("| entries | ns/lookup (median) | best round | ns/put | "
		   "cache bytes/entry | + allocator overhead | all shm / entry |\n");
	printf("|--------:|-------------------:|-----------:|-------:|"
		   "------------------:|---------------------:|----------------:|\n");
	for(i = 0; i < nsizes; i++) {
		/* one timed put says nothing: no put figure below 1000 entries */
		if(rows[i].entries < 1000)
			snprintf(put, sizeof(put), "-");
		else
			snprintf(put, sizeof(put), "%.0f", rows[i].put_ns);
		printf("| %u | %.0f | %.0f | %s | %.0f | %.0f | %.0f |\n",
				rows[i].entries, rows[i].lookup_ns, rows[i].lookup_min_ns, put,
				rows[i].entry_bytes, rows[i].alloc_bytes, rows[i].total_bytes);
	}
	if(!smoke)
		printf("\nmemory floor: %.0f ns per dependent random read in "
			   "256 MiB of shm\n",
				bench_miss_ns(256, 2000000));
	free(rec);
	return 0;
}
