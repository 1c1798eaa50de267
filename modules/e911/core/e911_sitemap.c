/*
 * e911 module - the site map: which network is where
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Parsing walks the document once: each site's location goes through the
 * location record's parser, its prefixes and BSSIDs are checked and
 * collected. Then the prefixes of each family are sorted (start ascending,
 * shorter first) and swept with a stack of the prefixes that enclose the
 * current position, which cuts the address space into disjoint intervals
 * each owned by the innermost (longest) prefix covering it, or by no site.
 * Two prefixes are either nested or disjoint, so the sweep is exact.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e911_sitemap.h"

#define MAP_MAGIC 0x45393131u /* "E911" */
#define NO_SITE UINT32_MAX

/* A 128-bit address as two halves; IPv4 lives in lo. */
typedef struct u128
{
	uint64_t hi;
	uint64_t lo;
} u128_t;

typedef struct site_ent
{
	char id[E911_SITE_ID_MAX + 1];
	uint32_t rec_off; /* from the start of the record pool */
	uint32_t networks;
	uint32_t bssids;
} site_ent_t;

struct e911_sitemap
{
	uint32_t magic;
	uint32_t nsites;
	uint32_t n4; /* intervals */
	uint32_t n6;
	uint32_t nbssid;
	uint32_t prefixes4;
	uint32_t prefixes6;
	uint32_t pad;
	uint64_t size;
	/* offsets from the start of the block, 8-byte aligned */
	uint64_t off_sites;
	uint64_t off_v4start; /* uint32_t[n4] */
	uint64_t off_v4site;  /* uint32_t[n4] */
	uint64_t off_v6start; /* u128_t[n6] */
	uint64_t off_v6site;  /* uint32_t[n6] */
	uint64_t off_bssid;	  /* uint64_t[nbssid] */
	uint64_t off_bsite;	  /* uint32_t[nbssid] */
	uint64_t off_recs;	  /* records, each 8-byte aligned */
};

#define AT(m, off, type) ((type *)((char *)(m) + (off)))
#define CAT(m, off, type) ((const type *)((const char *)(m) + (off)))

/* ---- addresses ---- */

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int e911_ipaddr_parse(const char *s, size_t len, e911_ipaddr_t *a)
{
	char buf[64];

	if(s == NULL || a == NULL)
		return -1;
	if(len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if(len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	if(inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = 4;
		return 0;
	}
	if(inet_pton(AF_INET6, buf, a->b) == 1) {
		a->family = 6;
		if(memcmp(a->b, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(a->b, a->b + 12, 4);
			memset(a->b + 4, 0, 12);
			a->family = 4;
		}
		return 0;
	}
	return -1;
}

static u128_t addr_key(const e911_ipaddr_t *a)
{
	u128_t k = {0, 0};
	int i;

	if(a->family == 4) {
		k.lo = ((uint64_t)a->b[0] << 24) | ((uint64_t)a->b[1] << 16)
			   | ((uint64_t)a->b[2] << 8) | a->b[3];
		return k;
	}
	for(i = 0; i < 8; i++)
		k.hi = (k.hi << 8) | a->b[i];
	for(i = 8; i < 16; i++)
		k.lo = (k.lo << 8) | a->b[i];
	return k;
}

static int u128_cmp(u128_t a, u128_t b)
{
	if(a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if(a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* The host part of a prefix of bits bits in a space of width bits. */
static u128_t host_mask(int bits, int width)
{
	u128_t m = {0, 0};
	int host = width - bits;

	if(host >= 128) {
		m.hi = m.lo = UINT64_MAX;
	} else if(host >= 64) {
		m.lo = UINT64_MAX;
		m.hi = host == 64 ? 0 : (UINT64_MAX >> (128 - host));
	} else if(host > 0) {
		m.lo = UINT64_MAX >> (64 - host);
	}
	return m;
}

/* ---- BSSIDs ---- */

static int hexval(int c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int e911_bssid_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int digits = 0;
	char sep = 0;
	int h;

	if(s == NULL || (len != 12 && len != 17))
		return -1;
	for(i = 0; i < len; i++) {
		if(len == 17 && i % 3 == 2) {
			if(s[i] != ':' && s[i] != '-')
				return -1;
			if(sep && s[i] != sep)
				return -1;
			sep = s[i];
			continue;
		}
		h = hexval((unsigned char)s[i]);
		if(h < 0)
			return -1;
		v = (v << 4) | (uint64_t)h;
		digits++;
	}
	if(digits != 12)
		return -1;
	*out = v;
	return 0;
}

void e911_bssid_format(uint64_t b, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
			(unsigned)((b >> 40) & 0xff), (unsigned)((b >> 32) & 0xff),
			(unsigned)((b >> 24) & 0xff), (unsigned)((b >> 16) & 0xff),
			(unsigned)((b >> 8) & 0xff), (unsigned)(b & 0xff));
}

int e911_pani_bssid(const char *v, size_t len, uint64_t *out)
{
	static const char name[] = "i-wlan-node-id";
	const size_t nlen = sizeof(name) - 1;
	size_t i;
	size_t j;
	size_t end;

	if(v == NULL)
		return -1;
	for(i = 0; i + nlen < len; i++) {
		if(strncasecmp(v + i, name, nlen) != 0)
			continue;
		/* a parameter name starts after ';' (and blanks) */
		j = i;
		while(j > 0 && (v[j - 1] == ' ' || v[j - 1] == '\t'))
			j--;
		if(j == 0 || v[j - 1] != ';')
			continue;
		j = i + nlen;
		while(j < len && (v[j] == ' ' || v[j] == '\t'))
			j++;
		if(j >= len || v[j] != '=')
			continue;
		j++;
		while(j < len && (v[j] == ' ' || v[j] == '\t'))
			j++;
		if(j < len && v[j] == '"') {
			j++;
			end = j;
			while(end < len && v[end] != '"')
				end++;
			if(end >= len)
				return -1;
		} else {
			end = j;
			while(end < len && v[end] != ';' && v[end] != ',' && v[end] != ' '
					&& v[end] != '\t')
				end++;
		}
		return e911_bssid_parse(v + j, end - j, out);
	}
	return -1;
}

/* ---- parsing ---- */

typedef struct pfx
{
	u128_t start;
	u128_t end;
	uint32_t site;
	uint8_t bits;
} pfx_t;

typedef struct bss
{
	uint64_t v;
	uint32_t site;
} bss_t;

typedef struct ivl
{
	u128_t start;
	uint32_t site;
} ivl_t;

typedef struct vec
{
	void *a;
	size_t n;
	size_t cap;
	size_t elem;
} vec_t;

static void *vec_push(vec_t *v)
{
	void *na;
	size_t ncap;

	if(v->n == v->cap) {
		ncap = v->cap ? v->cap * 2 : 64;
		na = realloc(v->a, ncap * v->elem);
		if(na == NULL)
			return NULL;
		v->a = na;
		v->cap = ncap;
	}
	return (char *)v->a + v->elem * v->n++;
}

typedef struct builder
{
	char *err;
	size_t errlen;
	vec_t sites;  /* site_ent_t */
	vec_t recs;	  /* e911_record_t * */
	vec_t p4;	  /* pfx_t */
	vec_t p6;	  /* pfx_t */
	vec_t bssids; /* bss_t */
	vec_t iv4;	  /* ivl_t */
	vec_t iv6;	  /* ivl_t */
	size_t recs_bytes;
	uint32_t prefixes4;
	uint32_t prefixes6;
} builder_t;

static int fail(builder_t *b, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

static int fail(builder_t *b, const char *fmt, ...)
{
	va_list ap;

	if(b->err && b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int id_ok(const char *s, size_t n)
{
	size_t i;

	if(n == 0 || n > E911_SITE_ID_MAX)
		return 0;
	for(i = 0; i < n; i++) {
		if(!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_'
				&& s[i] != '-')
			return 0;
	}
	return 1;
}

/* Parses "addr/len" strictly: an address, '/', 1..3 digits. */
static int parse_prefix(builder_t *b, size_t si, size_t ni, const char *s,
		size_t len, uint32_t site)
{
	e911_ipaddr_t a;
	const char *slash = memchr(s, '/', len);
	int bits = 0;
	int width;
	int min;
	size_t i;
	pfx_t *p;
	u128_t k;
	u128_t hm;

	if(slash == NULL || e911_ipaddr_parse(s, (size_t)(slash - s), &a) < 0
			|| slash + 1 == s + len || s + len - (slash + 1) > 3)
		return fail(b,
				"sites[%zu].networks[%zu]: not an address/length CIDR "
				"prefix",
				si, ni);
	for(i = (size_t)(slash + 1 - s); i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return fail(
					b, "sites[%zu].networks[%zu]: bad prefix length", si, ni);
		bits = bits * 10 + (s[i] - '0');
	}
	/* an IPv4-mapped prefix counts in IPv4 bits */
	if(a.family == 4 && memchr(s, ':', (size_t)(slash - s)) != NULL) {
		if(bits < 96)
			return fail(b,
					"sites[%zu].networks[%zu]: IPv4-mapped prefix shorter "
					"than /96",
					si, ni);
		bits -= 96;
	}
	width = a.family == 4 ? 32 : 128;
	min = a.family == 4 ? E911_SITEMAP_MIN_V4 : E911_SITEMAP_MIN_V6;
	if(bits > width)
		return fail(b, "sites[%zu].networks[%zu]: prefix length over /%d", si,
				ni, width);
	if(bits < min)
		return fail(b,
				"sites[%zu].networks[%zu]: /%d is too broad for a site (at "
				"least /%d for IPv%d)",
				si, ni, bits, min, a.family);
	k = addr_key(&a);
	hm = host_mask(bits, width);
	if((k.hi & hm.hi) || (k.lo & hm.lo))
		return fail(b, "sites[%zu].networks[%zu]: host bits set after /%d", si,
				ni, bits);
	if(b->prefixes4 + b->prefixes6 >= E911_SITEMAP_MAX_PREFIXES)
		return fail(b, "more than %d prefixes", E911_SITEMAP_MAX_PREFIXES);
	p = vec_push(a.family == 4 ? &b->p4 : &b->p6);
	if(p == NULL)
		return fail(b, "out of memory");
	p->start = k;
	p->end.hi = k.hi | hm.hi;
	p->end.lo = k.lo | hm.lo;
	p->site = site;
	p->bits = (uint8_t)bits;
	if(a.family == 4)
		b->prefixes4++;
	else
		b->prefixes6++;
	return 0;
}

static int parse_site(builder_t *b, size_t si, json_t *site)
{
	char rerr[160];
	site_ent_t *e;
	e911_record_t *rec;
	e911_record_t **slot;
	json_t *id;
	json_t *nets;
	json_t *bssids;
	json_t *it;
	size_t i;
	uint32_t idx = (uint32_t)b->sites.n;
	uint64_t v;
	bss_t *bs;

	if(!json_is_object(site))
		return fail(b, "sites[%zu]: expected an object", si);
	id = json_object_get(site, "id");
	if(!json_is_string(id)
			|| !id_ok(json_string_value(id), json_string_length(id)))
		return fail(b,
				"sites[%zu].id: expected 1..%d characters of A-Z a-z 0-9 . "
				"_ -",
				si, E911_SITE_ID_MAX);
	nets = json_object_get(site, "networks");
	bssids = json_object_get(site, "bssids");
	if(nets != NULL && !json_is_null(nets) && !json_is_array(nets))
		return fail(b, "sites[%zu].networks: expected an array", si);
	if(bssids != NULL && !json_is_null(bssids) && !json_is_array(bssids))
		return fail(b, "sites[%zu].bssids: expected an array", si);
	if(json_array_size(nets) == 0 && json_array_size(bssids) == 0)
		return fail(b, "sites[%zu] (%s): neither networks nor bssids", si,
				json_string_value(id));
	rec = e911_record_from_location(
			site, json_string_value(id), rerr, sizeof(rerr));
	if(rec == NULL)
		return fail(b, "sites[%zu] (%s): %s", si, json_string_value(id), rerr);
	slot = vec_push(&b->recs);
	if(slot == NULL) {
		free(rec);
		return fail(b, "out of memory");
	}
	*slot = rec;
	e = vec_push(&b->sites);
	if(e == NULL)
		return fail(b, "out of memory");
	memset(e, 0, sizeof(*e));
	memcpy(e->id, json_string_value(id), json_string_length(id));
	e->rec_off = (uint32_t)b->recs_bytes;
	b->recs_bytes += (rec->size + 7) & ~(size_t)7;
	json_array_foreach(nets, i, it)
	{
		if(!json_is_string(it))
			return fail(
					b, "sites[%zu].networks[%zu]: expected a string", si, i);
		if(parse_prefix(
				   b, si, i, json_string_value(it), json_string_length(it), idx)
				< 0)
			return -1;
		e->networks++;
	}
	json_array_foreach(bssids, i, it)
	{
		if(!json_is_string(it)
				|| e911_bssid_parse(
						   json_string_value(it), json_string_length(it), &v)
						   < 0)
			return fail(b,
					"sites[%zu].bssids[%zu]: expected a BSSID like "
					"00:11:22:33:44:55",
					si, i);
		if(b->bssids.n >= E911_SITEMAP_MAX_BSSIDS)
			return fail(b, "more than %d BSSIDs", E911_SITEMAP_MAX_BSSIDS);
		bs = vec_push(&b->bssids);
		if(bs == NULL)
			return fail(b, "out of memory");
		bs->v = v;
		bs->site = idx;
		e->bssids++;
	}
	return 0;
}

static int pfx_cmp(const void *x, const void *y)
{
	const pfx_t *a = x;
	const pfx_t *b = y;
	int c = u128_cmp(a->start, b->start);

	if(c)
		return c;
	if(a->bits != b->bits)
		return a->bits < b->bits ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

static int bss_cmp(const void *x, const void *y)
{
	const bss_t *a = x;
	const bss_t *b = y;

	if(a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return a->site < b->site ? -1 : a->site > b->site;
}

static int site_id_cmp(const void *x, const void *y)
{
	const site_ent_t *const *a = x;
	const site_ent_t *const *b = y;

	return strcmp((*a)->id, (*b)->id);
}

/* Appends the interval starting at s owned by site (merging equal
 * neighbours). */
static int emit(vec_t *out, u128_t s, uint32_t site)
{
	ivl_t *last = out->n ? (ivl_t *)out->a + out->n - 1 : NULL;
	ivl_t *v;

	if(last && last->site == site)
		return 0;
	if(last && u128_cmp(last->start, s) == 0) {
		last->site = site;
		return 0;
	}
	v = vec_push(out);
	if(v == NULL)
		return -1;
	v->start = s;
	v->site = site;
	return 0;
}

/* s + 1; *wrap set when s was the last address of the space. */
static u128_t next_addr(u128_t s, u128_t max, int *wrap)
{
	if(u128_cmp(s, max) == 0) {
		*wrap = 1;
		return s;
	}
	if(++s.lo == 0)
		s.hi++;
	return s;
}

/* Flattens the prefixes of one family (width 32 or 128) into intervals. */
static int flatten(
		builder_t *b, vec_t *pv, vec_t *out, int width, const char *family)
{
	pfx_t *p = pv->a;
	pfx_t **stack;
	size_t n = pv->n;
	size_t top = 0;
	size_t i;
	u128_t cur = {0, 0};
	u128_t max = host_mask(0, width);
	int done = 0;
	char ip[INET6_ADDRSTRLEN];
	uint8_t raw[16];
	int k;

	if(n == 0)
		return 0;
	qsort(p, n, sizeof(*p), pfx_cmp);
	stack = malloc(sizeof(*stack) * 129);
	if(stack == NULL)
		return fail(b, "out of memory");
	for(i = 0; i < n; i++) {
		if(i > 0 && u128_cmp(p[i].start, p[i - 1].start) == 0
				&& p[i].bits == p[i - 1].bits) {
			if(p[i].site == p[i - 1].site)
				continue; /* listed twice by one site */
			for(k = 0; k < 8; k++) {
				raw[k] = (uint8_t)(p[i].start.hi >> (56 - 8 * k));
				raw[8 + k] = (uint8_t)(p[i].start.lo >> (56 - 8 * k));
			}
			if(width == 32)
				inet_ntop(AF_INET, raw + 12, ip, sizeof(ip));
			else
				inet_ntop(AF_INET6, raw, ip, sizeof(ip));
			free(stack);
			return fail(b, "%s/%d is claimed by two sites (%s and %s)", ip,
					p[i].bits, ((site_ent_t *)b->sites.a)[p[i - 1].site].id,
					((site_ent_t *)b->sites.a)[p[i].site].id);
		}
		while(top > 0 && u128_cmp(stack[top - 1]->end, p[i].start) < 0) {
			if(!done && emit(out, cur, stack[top - 1]->site) < 0)
				goto oom;
			cur = next_addr(stack[top - 1]->end, max, &done);
			top--;
		}
		if(u128_cmp(cur, p[i].start) < 0
				&& emit(out, cur, top ? stack[top - 1]->site : NO_SITE) < 0)
			goto oom;
		cur = p[i].start;
		stack[top++] = &p[i];
	}
	while(top > 0) {
		if(!done && emit(out, cur, stack[top - 1]->site) < 0)
			goto oom;
		cur = next_addr(stack[top - 1]->end, max, &done);
		top--;
	}
	if(!done && emit(out, cur, NO_SITE) < 0)
		goto oom;
	free(stack);
	(void)family;
	return 0;
oom:
	free(stack);
	return fail(b, "out of memory");
}

static int check_bssids(builder_t *b)
{
	bss_t *v = b->bssids.a;
	size_t i;
	size_t w = 0;
	char t[18];

	if(b->bssids.n == 0)
		return 0;
	qsort(v, b->bssids.n, sizeof(*v), bss_cmp);
	for(i = 0; i < b->bssids.n; i++) {
		if(w > 0 && v[w - 1].v == v[i].v) {
			if(v[w - 1].site == v[i].site)
				continue;
			e911_bssid_format(v[i].v, t);
			return fail(b, "BSSID %s is claimed by two sites (%s and %s)", t,
					((site_ent_t *)b->sites.a)[v[w - 1].site].id,
					((site_ent_t *)b->sites.a)[v[i].site].id);
		}
		v[w++] = v[i];
	}
	b->bssids.n = w;
	return 0;
}

static int check_ids(builder_t *b)
{
	site_ent_t **idx;
	size_t i;
	size_t n = b->sites.n;
	int rc = 0;

	if(n < 2)
		return 0;
	idx = malloc(sizeof(*idx) * n);
	if(idx == NULL)
		return fail(b, "out of memory");
	for(i = 0; i < n; i++)
		idx[i] = (site_ent_t *)b->sites.a + i;
	qsort(idx, n, sizeof(*idx), site_id_cmp);
	for(i = 1; i < n; i++) {
		if(strcmp(idx[i - 1]->id, idx[i]->id) == 0) {
			rc = fail(b, "site id %s is used twice", idx[i]->id);
			break;
		}
	}
	free(idx);
	return rc;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static e911_sitemap_t *layout(builder_t *b)
{
	e911_sitemap_t *m;
	size_t off = align8(sizeof(*m));
	size_t size;
	size_t i;
	uint64_t o_sites, o_v4s, o_v4i, o_v6s, o_v6i, o_bs, o_bi, o_recs;
	const ivl_t *iv;
	const bss_t *bs;
	e911_record_t **recs = b->recs.a;
	site_ent_t *se = b->sites.a;

	o_sites = off;
	off = align8(off + sizeof(site_ent_t) * b->sites.n);
	o_v4s = off;
	off = align8(off + sizeof(uint32_t) * b->iv4.n);
	o_v4i = off;
	off = align8(off + sizeof(uint32_t) * b->iv4.n);
	o_v6s = off;
	off = align8(off + sizeof(u128_t) * b->iv6.n);
	o_v6i = off;
	off = align8(off + sizeof(uint32_t) * b->iv6.n);
	o_bs = off;
	off = align8(off + sizeof(uint64_t) * b->bssids.n);
	o_bi = off;
	off = align8(off + sizeof(uint32_t) * b->bssids.n);
	o_recs = off;
	size = off + b->recs_bytes;
	m = calloc(1, size);
	if(m == NULL) {
		fail(b, "out of memory (%zu bytes)", size);
		return NULL;
	}
	m->magic = MAP_MAGIC;
	m->nsites = (uint32_t)b->sites.n;
	m->n4 = (uint32_t)b->iv4.n;
	m->n6 = (uint32_t)b->iv6.n;
	m->nbssid = (uint32_t)b->bssids.n;
	m->prefixes4 = b->prefixes4;
	m->prefixes6 = b->prefixes6;
	m->size = size;
	m->off_sites = o_sites;
	m->off_v4start = o_v4s;
	m->off_v4site = o_v4i;
	m->off_v6start = o_v6s;
	m->off_v6site = o_v6i;
	m->off_bssid = o_bs;
	m->off_bsite = o_bi;
	m->off_recs = o_recs;
	if(b->sites.n > 0) /* se is NULL for an empty map */
		memcpy(AT(m, o_sites, site_ent_t), se, sizeof(site_ent_t) * b->sites.n);
	iv = b->iv4.a;
	for(i = 0; i < b->iv4.n; i++) {
		AT(m, o_v4s, uint32_t)[i] = (uint32_t)iv[i].start.lo;
		AT(m, o_v4i, uint32_t)[i] = iv[i].site;
	}
	iv = b->iv6.a;
	for(i = 0; i < b->iv6.n; i++) {
		AT(m, o_v6s, u128_t)[i] = iv[i].start;
		AT(m, o_v6i, uint32_t)[i] = iv[i].site;
	}
	bs = b->bssids.a;
	for(i = 0; i < b->bssids.n; i++) {
		AT(m, o_bs, uint64_t)[i] = bs[i].v;
		AT(m, o_bi, uint32_t)[i] = bs[i].site;
	}
	for(i = 0; i < b->recs.n; i++)
		memcpy(AT(m, o_recs + se[i].rec_off, char), recs[i], recs[i]->size);
	return m;
}

static void builder_free(builder_t *b)
{
	e911_record_t **recs = b->recs.a;
	size_t i;

	for(i = 0; i < b->recs.n; i++)
		free(recs[i]);
	free(b->recs.a);
	free(b->sites.a);
	free(b->p4.a);
	free(b->p6.a);
	free(b->bssids.a);
	free(b->iv4.a);
	free(b->iv6.a);
}

e911_sitemap_t *e911_sitemap_parse(
		const char *json, size_t len, size_t max_len, char *err, size_t errlen)
{
	builder_t b;
	json_t *root = NULL;
	json_t *sites;
	json_t *it;
	json_error_t jerr;
	e911_sitemap_t *m = NULL;
	size_t i;

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.errlen = errlen;
	b.sites.elem = sizeof(site_ent_t);
	b.recs.elem = sizeof(e911_record_t *);
	b.p4.elem = b.p6.elem = sizeof(pfx_t);
	b.bssids.elem = sizeof(bss_t);
	b.iv4.elem = b.iv6.elem = sizeof(ivl_t);
	if(err && errlen)
		err[0] = '\0';
	if(json == NULL || len == 0) {
		fail(&b, "empty document");
		goto out;
	}
	if(len > max_len) {
		fail(&b, "document larger than %zu bytes", max_len);
		goto out;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if(root == NULL) {
		fail(&b, "malformed JSON at line %d column %d", jerr.line, jerr.column);
		goto out;
	}
	sites = json_object_get(root, "sites");
	if(!json_is_object(root) || !json_is_array(sites)) {
		fail(&b, "expected an object with a \"sites\" array");
		goto out;
	}
	if(json_array_size(sites) > E911_SITEMAP_MAX_SITES) {
		fail(&b, "more than %d sites", E911_SITEMAP_MAX_SITES);
		goto out;
	}
	json_array_foreach(sites, i, it)
	{
		if(parse_site(&b, i, it) < 0)
			goto out;
	}
	json_decref(root);
	root = NULL;
	if(check_ids(&b) < 0 || check_bssids(&b) < 0
			|| flatten(&b, &b.p4, &b.iv4, 32, "IPv4") < 0
			|| flatten(&b, &b.p6, &b.iv6, 128, "IPv6") < 0)
		goto out;
	m = layout(&b);
out:
	json_decref(root);
	builder_free(&b);
	return m;
}

size_t e911_sitemap_size(const e911_sitemap_t *m)
{
	return m ? (size_t)m->size : 0;
}

void e911_sitemap_counts(const e911_sitemap_t *m, e911_sitemap_counts_t *c)
{
	memset(c, 0, sizeof(*c));
	if(m == NULL)
		return;
	c->sites = m->nsites;
	c->prefixes4 = m->prefixes4;
	c->prefixes6 = m->prefixes6;
	c->bssids = m->nbssid;
	c->intervals4 = m->n4;
	c->intervals6 = m->n6;
	c->bytes = (size_t)m->size;
}

int e911_sitemap_match_addr(const e911_sitemap_t *m, const e911_ipaddr_t *a)
{
	size_t lo = 0;
	size_t hi;
	size_t mid;
	uint32_t site;

	if(m == NULL || a == NULL)
		return E911_SITE_NONE;
	if(a->family == 4) {
		const uint32_t *s = CAT(m, m->off_v4start, uint32_t);
		uint32_t k = (uint32_t)addr_key(a).lo;

		hi = m->n4;
		if(hi == 0 || k < s[0])
			return E911_SITE_NONE;
		/* last interval with start <= k */
		while(hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if(s[mid] <= k)
				lo = mid;
			else
				hi = mid;
		}
		site = CAT(m, m->off_v4site, uint32_t)[lo];
	} else {
		const u128_t *s = CAT(m, m->off_v6start, u128_t);
		u128_t k = addr_key(a);

		hi = m->n6;
		if(hi == 0 || u128_cmp(k, s[0]) < 0)
			return E911_SITE_NONE;
		while(hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if(u128_cmp(s[mid], k) <= 0)
				lo = mid;
			else
				hi = mid;
		}
		site = CAT(m, m->off_v6site, uint32_t)[lo];
	}
	return site == NO_SITE ? E911_SITE_NONE : (int)site;
}

int e911_sitemap_match_bssid(const e911_sitemap_t *m, uint64_t bssid)
{
	const uint64_t *v;
	size_t lo = 0;
	size_t hi;
	size_t mid;

	if(m == NULL || m->nbssid == 0)
		return E911_SITE_NONE;
	v = CAT(m, m->off_bssid, uint64_t);
	hi = m->nbssid;
	while(lo < hi) {
		mid = lo + (hi - lo) / 2;
		if(v[mid] < bssid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if(lo < m->nbssid && v[lo] == bssid)
		return (int)CAT(m, m->off_bsite, uint32_t)[lo];
	return E911_SITE_NONE;
}

static const site_ent_t *site_at(const e911_sitemap_t *m, int i)
{
	if(m == NULL || i < 0 || (uint32_t)i >= m->nsites)
		return NULL;
	return CAT(m, m->off_sites, site_ent_t) + i;
}

const char *e911_sitemap_site_id(const e911_sitemap_t *m, int i)
{
	const site_ent_t *s = site_at(m, i);

	return s ? s->id : NULL;
}

const e911_record_t *e911_sitemap_site_record(const e911_sitemap_t *m, int i)
{
	const site_ent_t *s = site_at(m, i);

	return s ? CAT(m, m->off_recs + s->rec_off, e911_record_t) : NULL;
}

uint32_t e911_sitemap_site_networks(const e911_sitemap_t *m, int i)
{
	const site_ent_t *s = site_at(m, i);

	return s ? s->networks : 0;
}

uint32_t e911_sitemap_site_bssids(const e911_sitemap_t *m, int i)
{
	const site_ent_t *s = site_at(m, i);

	return s ? s->bssids : 0;
}
