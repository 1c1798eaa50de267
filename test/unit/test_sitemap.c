/*
 * Unit tests: the site map (core/e911_sitemap.c) - driven by
 * test/data/sitemap/{valid,invalid}/<case>/ - and the precedence decision
 * (core/e911_precedence.c): which source an emergency call's location
 * comes from, and why.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e911_pidf.h"
#include "e911_precedence.h"
#include "e911_record.h"
#include "e911_seen.h"
#include "e911_sitemap.h"
#include "testutil.h"

#define MAX_LEN (64u << 20)

static e911_sitemap_t *load_file(const char *path, char *err, size_t errlen)
{
	char *json;
	size_t len;
	e911_sitemap_t *m;

	json = tu_read_file(path, &len);
	if(json == NULL)
		fail_msg("cannot read %s", path);
	m = e911_sitemap_parse(json, len, MAX_LEN, err, errlen);
	free(json);
	return m;
}

static e911_sitemap_t *load_case(const char *dir, char *err, size_t errlen)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/map.json", dir);
	return load_file(path, err, errlen);
}

/* The site a lookup gives, as its id or "-". */
static const char *lookup(
		const e911_sitemap_t *m, const char *addr, const char *bssid)
{
	e911_ipaddr_t a;
	uint64_t b;
	int site = E911_SITE_NONE;

	if(strcmp(addr, "-") != 0) {
		assert_int_equal(e911_ipaddr_parse(addr, strlen(addr), &a), 0);
		site = e911_sitemap_match_addr(m, &a);
	}
	if(strcmp(bssid, "-") != 0) {
		assert_int_equal(e911_bssid_parse(bssid, strlen(bssid), &b), 0);
		site = e911_sitemap_match_bssid(m, b);
	}
	return site == E911_SITE_NONE ? "-" : e911_sitemap_site_id(m, site);
}

static void valid_case(void **state)
{
	tu_case_t *c = *state;
	char err[256];
	char path[1200];
	char line[512];
	char addr[128], bssid[64], want[80];
	const char *got;
	e911_sitemap_t *m = load_case(c->path, err, sizeof(err));
	FILE *f;
	int n = 0;

	if(m == NULL)
		fail_msg("%s: rejected: %s", c->name, err);
	snprintf(path, sizeof(path), "%s/matches.txt", c->path);
	f = fopen(path, "r");
	assert_non_null(f);
	while(fgets(line, sizeof(line), f)) {
		if(line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%127s %63s %79s", addr, bssid, want), 3);
		got = lookup(m, addr, bssid);
		if(strcmp(got, want) != 0)
			fail_msg("%s: %s %s -> %s, expected %s", c->name, addr, bssid, got,
					want);
		n++;
	}
	fclose(f);
	assert_true(n > 0);
	free(m);
}

static void invalid_case(void **state)
{
	tu_case_t *c = *state;
	char err[256];
	char *want = tu_case_line(c, "error.txt");
	e911_sitemap_t *m = load_case(c->path, err, sizeof(err));

	if(m != NULL)
		fail_msg("%s: accepted", c->name);
	tu_assert_error(err, sizeof(err), want);
	free(want);
}

static void test_valid(void **state)
{
	assert_int_equal(tu_run_case_dirs("sitemap valid",
							 E911_TEST_DATA "/sitemap/valid", valid_case),
			0);
}

static void test_invalid(void **state)
{
	assert_int_equal(tu_run_case_dirs("sitemap invalid",
							 E911_TEST_DATA "/sitemap/invalid", invalid_case),
			0);
}

/* A site's location is normalised like a record's, and renders with the
 * network's method token, every value escaped. */
static void test_site_location(void **state)
{
	static char pidf[E911_PIDF_MAX];
	char err[256];
	e911_sitemap_t *m = load_case(
			E911_TEST_DATA "/sitemap/valid/bssid_v6", err, sizeof(err));
	e911_sitemap_t *n =
			load_case(E911_TEST_DATA "/sitemap/valid/nested", err, sizeof(err));
	e911_pidf_opts_t o = e911_pidf_options("e911.example.net", 1795000000);
	const e911_record_t *lobby;
	e911_sitemap_counts_t cnt;
	uint64_t b;

	assert_non_null(m);
	assert_non_null(n);
	assert_int_equal(e911_bssid_parse("00:11:22:33:44:55", 17, &b), 0);
	lobby = e911_sitemap_site_record(m, e911_sitemap_match_bssid(m, b));
	assert_non_null(lobby);
	assert_string_equal(e911_rec_get(lobby, E911_F_KEY), "lobby");
	o.method = e911_network_method(1);
	assert_true(e911_pidf_render(lobby, &o, pidf, sizeof(pidf)) > 0);
	assert_non_null(strstr(pidf,
			"<ca:LOC>Lobby &lt;east&gt; &amp; &quot;main&quot; &apos;door&apos;"
			"</ca:LOC>"));
	assert_non_null(strstr(pidf, "<gp:method>802.11</gp:method>"));
	assert_null(strstr(pidf, "Manual"));
	o.method = "Man<ual>";
	assert_true(e911_pidf_render(lobby, &o, pidf, sizeof(pidf)) > 0);
	assert_non_null(strstr(pidf, "<gp:method>Manual</gp:method>"));
	/* country "us" upper-cased, FLR 3 as text */
	assert_string_equal(
			e911_rec_get(e911_sitemap_site_record(n, 1), E911_CA_COUNTRY),
			"US");
	assert_string_equal(
			e911_rec_get(e911_sitemap_site_record(n, 2), E911_CA_FLR), "3");
	e911_sitemap_counts(n, &cnt);
	assert_int_equal(cnt.sites, 5);
	assert_int_equal(cnt.prefixes4, 7);
	assert_true(cnt.bytes == e911_sitemap_size(n));
	assert_int_equal(e911_sitemap_site_networks(n, 1), 2);
	assert_null(e911_sitemap_site_id(n, 5));
	assert_null(e911_sitemap_site_record(n, -1));
	free(m);
	free(n);
}

/* The example map the cfg points to stays valid. */
static void test_example_map(void **state)
{
	char err[256];
	e911_sitemap_t *m = load_file(
			E911_TEST_DATA "/../../cfg/sites.example.json", err, sizeof(err));
	e911_ipaddr_t a;

	if(m == NULL)
		fail_msg("cfg/sites.example.json rejected: %s", err);
	assert_int_equal(e911_ipaddr_parse("10.1.3.7", 8, &a), 0);
	assert_string_equal(e911_sitemap_site_id(m, e911_sitemap_match_addr(m, &a)),
			"hq-tower-c-3");
	free(m);
}

/* A body over the bound, or an empty one, is refused before parsing. */
static void test_bounds(void **state)
{
	char err[256];
	const char *doc = "{\"sites\": []}";
	e911_sitemap_t *m;
	e911_ipaddr_t a;

	assert_null(e911_sitemap_parse(doc, strlen(doc), 8, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 8 bytes"));
	assert_null(e911_sitemap_parse("", 0, 8, err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
	/* an empty map is valid and matches nothing */
	m = e911_sitemap_parse(doc, strlen(doc), MAX_LEN, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(e911_ipaddr_parse("10.0.0.1", 8, &a), 0);
	assert_int_equal(e911_sitemap_match_addr(m, &a), E911_SITE_NONE);
	assert_int_equal(e911_sitemap_match_bssid(m, 1), E911_SITE_NONE);
	free(m);
}

/* The caller's record placed at a site: the site's place and route, the
 * caller's own key and callback. */
static void test_relocate(void **state)
{
	const char *home = "{\"key\": \"alice\", \"callback\": \"+13125550100\","
					   "\"civic\": {\"country\": \"US\", \"A3\": \"Evanston\","
					   "\"HNO\": \"9\"}, \"route\": {\"uri\": \"sip:home@x\"},"
					   "\"updated_at\": \"2026-01-01T00:00:00Z\"}";
	char err[256];
	e911_record_t *caller = e911_record_parse(home, strlen(home), err, 256);
	e911_sitemap_t *m =
			load_case(E911_TEST_DATA "/sitemap/valid/nested", err, sizeof(err));
	const e911_record_t *site = e911_sitemap_site_record(m, 2);
	static char pidf[E911_PIDF_MAX];
	e911_pidf_opts_t o = e911_pidf_options("e911.example.net", 1795000000);
	e911_record_t *r;

	assert_non_null(caller);
	r = e911_record_relocate(caller, site);
	assert_non_null(r);
	assert_string_equal(e911_rec_get(r, E911_F_KEY), "alice");
	assert_string_equal(e911_rec_get(r, E911_F_CALLBACK), "+13125550100");
	assert_string_equal(e911_rec_get(r, E911_CA_BLD), "Tower C");
	assert_string_equal(e911_rec_get(r, E911_CA_A3), "Chicago");
	assert_string_equal(
			e911_rec_get(r, E911_F_ROUTE), "sip:psap-c@example.net");
	assert_null(e911_rec_get(r, E911_F_UPDATED));
	assert_true(r->flags & E911_REC_VALIDATED);
	assert_int_equal(e911_same_place(r, site), 1);
	assert_int_equal(e911_same_place(r, caller), 0);
	/* placed by its network: the document says how, without an option */
	r->flags |= E911_REC_AT_SITE;
	assert_true(e911_pidf_render(r, &o, pidf, sizeof(pidf)) > 0);
	assert_non_null(strstr(pidf, "<gp:method>Wiremap</gp:method>"));
	r->flags |= E911_REC_AT_SITE_BSSID;
	assert_true(e911_pidf_render(r, &o, pidf, sizeof(pidf)) > 0);
	assert_non_null(strstr(pidf, "<gp:method>802.11</gp:method>"));
	assert_true(e911_pidf_render(caller, &o, pidf, sizeof(pidf)) > 0);
	assert_non_null(strstr(pidf, "<gp:method>Manual</gp:method>"));
	free(r);
	/* no route at the site: the caller's home route is not kept */
	r = e911_record_relocate(caller, e911_sitemap_site_record(m, 1));
	assert_null(e911_rec_get(r, E911_F_ROUTE));
	free(r);
	/* nobody's record: the site's own */
	r = e911_record_relocate(NULL, site);
	assert_string_equal(e911_rec_get(r, E911_F_KEY), "tower-c-3");
	free(r);
	assert_null(e911_record_relocate(caller, NULL));
	free(caller);
	free(m);
}

static void test_pani(void **state)
{
	uint64_t b = 0;
	const char *ok[] = {
			"IEEE-802.11; i-wlan-node-id=001122334455",
			"IEEE-802.11;i-wlan-node-id=\"00:11:22:33:44:55\"",
			"3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=1, IEEE-802.11n; "
			"I-WLAN-NODE-ID = 00-11-22-33-44-55;network-provided",
	};
	const char *bad[] = {"IEEE-802.11", "IEEE-802.11; i-wlan-node-id=",
			"IEEE-802.11; i-wlan-node-id=0011223344",
			"IEEE-802.11; x-i-wlan-node-id=001122334455",
			"IEEE-802.11; i-wlan-node-id=\"001122334455"};
	size_t i;

	for(i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		b = 0;
		if(e911_pani_bssid(ok[i], strlen(ok[i]), &b) != 0
				|| b != 0x001122334455ull)
			fail_msg("'%s' not read", ok[i]);
	}
	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if(e911_pani_bssid(bad[i], strlen(bad[i]), &b) == 0)
			fail_msg("'%s' read", bad[i]);
	}
}

/* 10^5 random nested prefixes: every match equals a brute-force longest
 * prefix search. */
static uint32_t lpm_seed = 12345;

static uint32_t rnd24(void)
{
	lpm_seed = lpm_seed * 1103515245u + 12345u;
	return (lpm_seed >> 8) & 0xffffff;
}

typedef struct gp
{
	uint32_t net;
	int bits;
	int site;
} gp_t;

static void test_lpm_random(void **state)
{
	enum
	{
		NP = 100000,
		NQ = 20000
	};
	gp_t *p = malloc(sizeof(*p) * NP);
	size_t cap = (size_t)NP * 96 + 64;
	char *doc = malloc(cap);
	size_t pos = 0;
	char err[256];
	e911_sitemap_t *m;
	e911_ipaddr_t a;
	int i, j, best, bestbits, got;
	uint32_t q, mask;

	pos += sprintf(doc + pos, "{\"sites\": [");
	for(i = 0; i < NP; i++) {
		p[i].bits = 16 + (int)(rnd24() % 17); /* /16 .. /32 */
		p[i].net = ((uint32_t)10 << 24) | ((rnd24() & 0x3fff) << 10)
				   | (rnd24() & 0x3ff);
		mask = p[i].bits == 32 ? 0xffffffffu : ~(0xffffffffu >> p[i].bits);
		p[i].net &= mask;
		for(j = 0; j < i; j++) {
			if(p[j].net == p[i].net && p[j].bits == p[i].bits)
				break;
		}
		if(j < i && i > 0) { /* same prefix: make it a /32 elsewhere */
			p[i].bits = 32;
			p[i].net = ((uint32_t)11 << 24) | (uint32_t)i;
		}
		p[i].site = i;
		pos += sprintf(doc + pos,
				"%s{\"id\":\"s%d\",\"networks\":[\"%u.%u.%u.%u/%d\"],"
				"\"geo\":{\"lat\":1,\"lon\":2}}",
				i ? "," : "", i, p[i].net >> 24, (p[i].net >> 16) & 255,
				(p[i].net >> 8) & 255, p[i].net & 255, p[i].bits);
	}
	pos += sprintf(doc + pos, "]}");
	m = e911_sitemap_parse(doc, pos, MAX_LEN, err, sizeof(err));
	if(m == NULL)
		fail_msg("rejected: %s", err);
	for(i = 0; i < NQ; i++) {
		q = (i % 2) ? p[rnd24() % NP].net | (rnd24() & 0xff)
					: ((uint32_t)10 << 24) | (rnd24() << 2);
		best = -1;
		bestbits = -1;
		for(j = 0; j < NP; j++) {
			mask = p[j].bits == 32 ? 0xffffffffu : ~(0xffffffffu >> p[j].bits);
			if((q & mask) == p[j].net && p[j].bits > bestbits) {
				best = j;
				bestbits = p[j].bits;
			}
		}
		a.family = 4;
		a.b[0] = q >> 24;
		a.b[1] = (q >> 16) & 255;
		a.b[2] = (q >> 8) & 255;
		a.b[3] = q & 255;
		got = e911_sitemap_match_addr(m, &a);
		if(got != (best < 0 ? E911_SITE_NONE : p[best].site))
			fail_msg("%u.%u.%u.%u: site %d, expected %d", a.b[0], a.b[1],
					a.b[2], a.b[3], got, best);
	}
	free(m);
	free(doc);
	free(p);
}

/* ---- precedence ---- */

static void test_precedence_parse(void **state)
{
	e911_precedence_t p;
	char err[128];
	char txt[64];

	assert_int_equal(e911_precedence_parse(
							 E911_PRECEDENCE_DEFAULT, &p, err, sizeof(err)),
			0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.order[0], E911_LS_NETWORK);
	assert_int_equal(p.order[2], E911_LS_SERVICE);
	assert_int_equal(
			e911_precedence_parse(" service , network", &p, err, sizeof(err)),
			0);
	e911_precedence_format(&p, txt, sizeof(txt));
	assert_string_equal(txt, "service,network");
	assert_int_equal(e911_precedence_parse("network,gps", &p, err, 128), -1);
	assert_non_null(strstr(err, "'gps' is not network, device or service"));
	assert_int_equal(
			e911_precedence_parse("device,network,device", &p, err, 128), -1);
	assert_non_null(strstr(err, "device is listed twice"));
	assert_int_equal(e911_precedence_parse("", &p, err, 128), -1);
	assert_int_equal(
			e911_precedence_parse("network,,service", &p, err, 128), -1);
}

/* One row: precedence, inputs, expected winner / moved / conflict and a
 * piece of the reason. */
typedef struct prow
{
	const char *prec;
	const char *site;
	int device;
	int record;
	int in_record;
	int same_place;
	e911_locsrc_t winner;
	int moved;
	int conflict;
	const char *why;
} prow_t;

static void test_precedence_decide(void **state)
{
	static const prow_t rows[] = {
			/* default: the network first */
			{"network,device,service", "tower-c", 1, 1, 0, 0, E911_LS_NETWORK,
					0, 1, "network: 10.1.3.7 is at site tower-c (edge proxy)"},
			{"network,device,service", "tower-c", 0, 1, 1, 1, E911_LS_NETWORK,
					0, 0, "precedence network,device,service"},
			{"network,device,service", NULL, 1, 1, 1, -1, E911_LS_DEVICE, 0, 0,
					"device: the caller's own Geolocation; no site for "
					"10.1.3.7 (edge proxy)"},
			{"network,device,service", NULL, 0, 1, 1, -1, E911_LS_SERVICE, 0, 0,
					"no device location"},
			/* moved: neither a site nor the record's networks */
			{"network,device,service", NULL, 0, 1, 0, -1, E911_LS_SERVICE, 1, 0,
					"service: the caller's record"},
			{"network,device,service", NULL, 0, 1, -1, -1, E911_LS_SERVICE, -1,
					0, "service"},
			/* stale and fallback come after every listed source */
			{"network,device,service", NULL, 0, 2, 0, -1, E911_LS_STALE, 1, 0,
					"the service record is only stale"},
			{"service,device,network", "tower-c", 0, 2, 1, 0, E911_LS_NETWORK,
					0, 1, "network"},
			{"network,device,service", NULL, 0, 0, -1, -1, E911_LS_FALLBACK, -1,
					0, "fallback: no location"},
			/* other orders */
			{"service,network,device", "tower-c", 1, 1, 0, 0, E911_LS_SERVICE,
					0, 1,
					"service: the caller's record; precedence "
					"service,network,device"},
			{"device,network,service", "tower-c", 1, 1, 0, 0, E911_LS_DEVICE, 0,
					1, "device"},
			{"device,service,network", "tower-c", 0, 1, 0, 0, E911_LS_SERVICE,
					0, 1, "no device location"},
			/* a source left out is never used */
			{"service", "tower-c", 1, 0, -1, -1, E911_LS_FALLBACK, 0, 0,
					"no service record"},
			{"network,service", NULL, 1, 1, 1, -1, E911_LS_SERVICE, 0, 0,
					"service"},
	};
	e911_precedence_t p;
	e911_prec_in_t in;
	e911_prec_out_t out;
	char err[128];
	size_t i;

	for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(
				e911_precedence_parse(rows[i].prec, &p, err, sizeof(err)), 0);
		memset(&in, 0, sizeof(in));
		in.network = "10.1.3.7";
		in.via = "edge proxy";
		in.site_id = rows[i].site;
		in.device = rows[i].device;
		in.record = rows[i].record;
		in.in_record = rows[i].in_record;
		in.same_place = rows[i].same_place;
		e911_precedence_decide(&p, &in, &out);
		if(out.winner != rows[i].winner || out.moved != rows[i].moved
				|| out.conflict != rows[i].conflict
				|| strstr(out.why, rows[i].why) == NULL)
			fail_msg("row %zu: %s moved %d conflict %d '%s'", i,
					e911_locsrc_name(out.winner), out.moved, out.conflict,
					out.why);
	}
	assert_string_equal(e911_locsrc_name(E911_LS_STALE), "stale");
	assert_string_equal(e911_network_method(0), "Wiremap");
}

/* The confirmation loop's memory: once per network per window, "seen"
 * refreshed by every REGISTER, bounded. */
static void test_seen(void **state)
{
	e911_seen_t *s = e911_seen_new(100);
	char key[32];
	int i;
	int again = 0;

	assert_non_null(s);
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.7", 1000, 3600), 1);
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.7", 1001, 3600), 0);
	assert_int_equal(e911_seen_note(s, "bob", "10.9.0.7", 1001, 3600), 1);
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.8", 1001, 3600), 1);
	/* re-registering within the window keeps it seen */
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.7", 4000, 3600), 0);
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.7", 7599, 3600), 0);
	assert_int_equal(e911_seen_note(s, "alice", "10.9.0.7", 11199, 3600), 1);
	/* a key that is a prefix of another is another pair */
	assert_int_equal(e911_seen_note(s, "alice1", "0.9.0.7", 1001, 3600), 1);
	/* bounded: 10^4 pairs in a table for 100 */
	for(i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		e911_seen_note(s, key, "192.0.2.1", 2000 + i, 3600);
	}
	assert_true(e911_seen_bytes(s) < 8192);
	/* the most recent ones are still remembered */
	for(i = 9990; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		again += e911_seen_note(s, key, "192.0.2.1", 12000, 3600);
	}
	assert_true(again <= 2);
	e911_seen_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_valid),
			cmocka_unit_test(test_invalid),
			cmocka_unit_test(test_site_location),
			cmocka_unit_test(test_example_map),
			cmocka_unit_test(test_bounds),
			cmocka_unit_test(test_relocate),
			cmocka_unit_test(test_pani),
			cmocka_unit_test(test_lpm_random),
			cmocka_unit_test(test_precedence_parse),
			cmocka_unit_test(test_precedence_decide),
			cmocka_unit_test(test_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
