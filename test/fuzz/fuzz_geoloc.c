/*
 * libFuzzer target: Geolocation header values (e911_geoloc.c). The input
 * is a header value. Checked invariants:
 *
 * - every reported value lies inside the input, its URI sits between '<'
 *   and '>', is 1..1024 bytes of URI characters with a scheme, and its
 *   loc-src (if any) lies inside the value;
 * - validating without an output array gives the same answer;
 * - e911_geoloc_strip_locsrc() succeeds exactly when parsing does; its
 *   output parses to the same number of values with the same URIs and
 *   schemes and no loc-src, is no longer than the input, is unchanged when
 *   there was no loc-src, strips to itself again, and is the same when
 *   done in place;
 * - the by-reference policy (e911_geoloc_allowed): no URI is allowed by an
 *   empty policy; one allowed by "https://lis.example.net" is allowed by
 *   "https:", starts with that text and ends the host right after it; and
 *   the input read as a policy is checked without harm, a valid one
 *   answering 0 or 1 for every URI.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e911_geoloc.h"
#include "fuzz_common.h"

#define MAXV 256

static void check_values(
		const char *s, size_t len, const e911_geoloc_t *g, int n)
{
	for(int i = 0; i < n; i++) {
		const e911_geoloc_t *e = &g[i];

		FZ_ASSERT(e->off + e->len <= len && e->uri_off == e->off + 1
						  && e->uri_off + e->uri_len < len
						  && e->uri_off + e->uri_len < e->off + e->len,
				"value %d out of bounds", i);
		FZ_ASSERT(s[e->off] == '<' && s[e->uri_off + e->uri_len] == '>',
				"value %d URI not between < and >", i);
		FZ_ASSERT(e->uri_len >= 2 && e->uri_len <= E911_GEOLOC_URI_MAX,
				"value %d URI length %zu", i, e->uri_len);
		FZ_ASSERT(memchr(s + e->uri_off, ':', e->uri_len) != NULL,
				"value %d URI without a scheme", i);
		for(size_t k = 0; k < e->uri_len; k++) {
			unsigned char c = (unsigned char)s[e->uri_off + k];

			FZ_ASSERT(c > 0x20 && c < 0x7F && c != '<' && c != '"',
					"value %d URI byte 0x%02x", i, c);
		}
		FZ_ASSERT(i == 0 || e->off > g[i - 1].off + g[i - 1].len,
				"values overlap");
		if(e->has_loc_src)
			FZ_ASSERT(e->loc_src_off > e->uri_off + e->uri_len
							  && e->loc_src_off + e->loc_src_len
										 <= e->off + e->len,
					"value %d loc-src out of bounds", i);
		else
			FZ_ASSERT(e->loc_src_off == 0 && e->loc_src_len == 0,
					"value %d loc-src without the flag", i);
	}
}

static void check_policy(const char *s, size_t size, const e911_geoloc_t *g,
		int n, const char *as_policy)
{
	static const char host[] = "https://lis.example.net";
	const size_t hl = sizeof(host) - 1;
	char err[160];
	int valid = e911_geoloc_policy_check(as_policy, err, sizeof(err));

	FZ_ASSERT(valid >= 0 || err[0] != '\0', "policy refused without a reason");
	for(int i = 0; i < n; i++) {
		const char *u = s + g[i].uri_off;
		size_t ul = g[i].uri_len;
		int a;

		FZ_ASSERT(g[i].uri_off + ul <= size, "bounds");
		FZ_ASSERT(e911_geoloc_allowed("", u, ul) == 0, "allowed by nothing");
		if(e911_geoloc_allowed(host, u, ul)) {
			FZ_ASSERT(e911_geoloc_allowed("https:", u, ul) == 1,
					"allowed for the host, not for the scheme");
			FZ_ASSERT(ul >= hl && strncasecmp(u, host, hl) == 0
							  && (ul == hl || strchr(":/?#", u[hl]) != NULL),
					"URI %d allowed for another host", i);
		}
		if(valid >= 0) {
			a = e911_geoloc_allowed(as_policy, u, ul);
			FZ_ASSERT(a == 0 || a == 1, "allowed %d", a);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	e911_geoloc_t *g = calloc(MAXV, sizeof(*g));
	e911_geoloc_t *h = calloc(MAXV, sizeof(*h));
	char *out = malloc(size + 1);
	char *again = malloc(size + 1);
	char err[128];
	int n;
	int m;
	int k;
	int any = 0;

	FZ_ASSERT(g && h && out && again, "malloc");
	n = e911_geoloc_parse(s, size, NULL, 0, err, sizeof(err));
	m = e911_geoloc_strip_locsrc(s, size, out, size + 1);
	FZ_ASSERT((n < 0) == (m < 0), "parse %d but strip %d", n, m);
	if(n < 0) {
		FZ_ASSERT(strncmp(err, "offset ", 7) == 0, "reason '%s'", err);
		goto out;
	}
	FZ_ASSERT(n >= 1, "no values");
	if(n > MAXV) {
		FZ_ASSERT(e911_geoloc_parse(s, size, g, MAXV, NULL, 0) == -1,
				"more values than room");
		goto out;
	}
	FZ_ASSERT(e911_geoloc_parse(s, size, g, MAXV, err, sizeof(err)) == n,
			"count differs with an output array");
	check_values(s, size, g, n);
	memcpy(again, s, size);
	again[size] = '\0';
	check_policy(s, size, g, n, again);
	for(int i = 0; i < n; i++)
		any |= g[i].has_loc_src;

	FZ_ASSERT((size_t)m <= size && out[m] == '\0', "strip length %d", m);
	FZ_ASSERT(any || ((size_t)m == size && memcmp(out, s, size) == 0),
			"strip changed a value without loc-src");
	FZ_ASSERT(!any || (size_t)m < size, "strip removed nothing");
	k = e911_geoloc_parse(out, (size_t)m, h, MAXV, err, sizeof(err));
	FZ_ASSERT(k == n, "stripped value gives %d values, not %d (%s)", k, n, err);
	check_values(out, (size_t)m, h, k);
	for(int i = 0; i < n; i++) {
		FZ_ASSERT(!h[i].has_loc_src, "loc-src left in value %d", i);
		FZ_ASSERT(h[i].scheme == g[i].scheme && h[i].uri_len == g[i].uri_len
						  && memcmp(out + h[i].uri_off, s + g[i].uri_off,
									 g[i].uri_len)
									 == 0,
				"URI %d changed by strip", i);
	}
	FZ_ASSERT(e911_geoloc_strip_locsrc(out, (size_t)m, again, size + 1) == m
					  && memcmp(again, out, (size_t)m) == 0,
			"strip is not idempotent");
	memcpy(again, s, size);
	FZ_ASSERT(e911_geoloc_strip_locsrc(again, size, again, size + 1) == m
					  && memcmp(again, out, (size_t)m + 1) == 0,
			"in-place strip differs");
	if(m > 0)
		FZ_ASSERT(e911_geoloc_strip_locsrc(s, size, again, (size_t)m) == -1,
				"strip wrote into a buffer too small");
out:
	free(g);
	free(h);
	free(out);
	free(again);
	return 0;
}
