/*
 * Benchmark of the site map (core/e911_sitemap.c): parse and flatten a
 * map of 10^5 prefixes (IPv4 /16../32 nested, and IPv6 /48../64, in
 * 25000 sites with four prefixes and one BSSID each), then time matches of
 * random addresses and BSSIDs.
 *
 *   e911_sitemap_bench            prints the numbers
 *   e911_sitemap_bench --check    also fails (exit 1) when the map does not
 *                                 hold every site, prefix and BSSID made, or
 *                                 no lookup matched (CTest smoke: no timing is
 *                                 asserted - the numbers are for
 *                                 docs/benchmarks.md, on a quiet machine)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e911_sitemap.h"

#define SITES 25000
#define PER_SITE 4 /* prefixes per site: 10^5 in all */
#define QUERIES 2000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t seed = 42;

static uint32_t rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 4;
}

/* The document: site i has 10.x.y.0/24 (x.y from i), a /28 inside the
 * /24 of site i+1 and a /32 inside that of site i+2 (nested prefixes of
 * other sites: five intervals per /24), 2001:db8:<i>::/48, and BSSID
 * 02:00:00:<i>. */
static char *make_doc(size_t *len)
{
	size_t cap = (size_t)SITES * 400;
	char *d = malloc(cap);
	size_t p = 0;
	int i;
	unsigned a;
	unsigned b;
	unsigned a1, b1, a2, b2;

	p += (size_t)sprintf(d + p, "{\"sites\": [");
	for(i = 0; i < SITES; i++) {
		a = (unsigned)i >> 8;
		b = (unsigned)i & 255;
		a1 = (unsigned)((i + 1) % SITES) >> 8;
		b1 = (unsigned)((i + 1) % SITES) & 255;
		a2 = (unsigned)((i + 2) % SITES) >> 8;
		b2 = (unsigned)((i + 2) % SITES) & 255;
		p += (size_t)sprintf(d + p,
				"%s{\"id\":\"site-%d\",\"networks\":[\"10.%u.%u.0/24\","
				"\"10.%u.%u.16/28\",\"10.%u.%u.99/32\",\"2001:db8:%x::/48\"],"
				"\"bssids\":[\"02:00:00:%02x:%02x:%02x\"],"
				"\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":"
				"\"Chicago\",\"RD\":\"Main\",\"STS\":\"St\",\"HNO\":\"%d\","
				"\"FLR\":\"%u\"},\"geo\":{\"lat\":41.88,\"lon\":-87.63}}",
				i ? "," : "", i, a, b, a1, b1, a2, b2, (unsigned)i,
				(unsigned)(i >> 16) & 255, a & 255, b, 100 + i % 900, b % 60);
	}
	p += (size_t)sprintf(d + p, "]}");
	*len = p;
	return d;
}

int main(int argc, char **argv)
{
	int check = argc > 1 && strcmp(argv[1], "--check") == 0;
	e911_sitemap_counts_t c;
	e911_sitemap_t *m = NULL;
	e911_ipaddr_t *q4;
	e911_ipaddr_t *q6;
	uint64_t *qb;
	char err[256];
	double t0;
	double load = 1e9;
	double ns4;
	double ns6;
	double nsb;
	size_t len;
	char *doc = make_doc(&len);
	long hits = 0;
	int i;
	int r;

	/* best of three loads */
	for(r = 0; r < 3; r++) {
		free(m);
		t0 = now_s();
		m = e911_sitemap_parse(doc, len, 64u << 20, err, sizeof(err));
		if(now_s() - t0 < load)
			load = now_s() - t0;
		if(m == NULL) {
			fprintf(stderr, "map rejected: %s\n", err);
			return 1;
		}
	}
	e911_sitemap_counts(m, &c);
	q4 = calloc(QUERIES, sizeof(*q4));
	q6 = calloc(QUERIES, sizeof(*q6));
	qb = calloc(QUERIES, sizeof(*qb));
	for(i = 0; i < QUERIES; i++) {
		q4[i].family = 4;
		q4[i].b[0] = 10;
		q4[i].b[1] = (uint8_t)(rnd() % 100);
		q4[i].b[2] = (uint8_t)rnd();
		q4[i].b[3] = (uint8_t)rnd();
		q6[i].family = 6;
		q6[i].b[0] = 0x20;
		q6[i].b[1] = 0x01;
		q6[i].b[2] = 0x0d;
		q6[i].b[3] = 0xb8;
		q6[i].b[4] = (uint8_t)(rnd() % 0x62);
		q6[i].b[5] = (uint8_t)rnd();
		q6[i].b[15] = (uint8_t)rnd();
		qb[i] = 0x020000000000ull | (rnd() % (SITES * 2));
	}
	t0 = now_s();
	for(i = 0; i < QUERIES; i++)
		hits += e911_sitemap_match_addr(m, &q4[i]) >= 0;
	ns4 = (now_s() - t0) * 1e9 / QUERIES;
	t0 = now_s();
	for(i = 0; i < QUERIES; i++)
		hits += e911_sitemap_match_addr(m, &q6[i]) >= 0;
	ns6 = (now_s() - t0) * 1e9 / QUERIES;
	t0 = now_s();
	for(i = 0; i < QUERIES; i++)
		hits += e911_sitemap_match_bssid(m, qb[i]) >= 0;
	nsb = (now_s() - t0) * 1e9 / QUERIES;

	printf("site map: %u sites, %u IPv4 + %u IPv6 prefixes, %u BSSIDs; "
		   "document %zu bytes\n",
			c.sites, c.prefixes4, c.prefixes6, c.bssids, len);
	printf("load (parse, validate, flatten): %.1f ms; block %zu bytes "
		   "(%u + %u intervals)\n",
			load * 1e3, c.bytes, c.intervals4, c.intervals6);
	printf("match: IPv4 %.0f ns, IPv6 %.0f ns, BSSID %.0f ns per lookup "
		   "(%d random lookups each, %ld hits)\n",
			ns4, ns6, nsb, QUERIES, hits);
	free(q4);
	free(q6);
	free(qb);
	free(m);
	free(doc);
	if(check
			&& (c.sites != SITES || c.prefixes4 != 3 * SITES
					|| c.prefixes6 != SITES || c.bssids != SITES
					|| hits <= 0)) {
		fprintf(stderr, "the map does not hold what was made, or nothing "
						"matched\n");
		return 1;
	}
	return 0;
}
