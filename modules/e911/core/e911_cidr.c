/*
 * e911 module - network membership for the "moved" hint
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Prefixes are parsed with inet_pton and compared bit by bit; an IPv4
 * address never matches an IPv6 prefix except through the IPv4-mapped form
 * (::ffff:a.b.c.d), which is normalised to IPv4 first.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_cidr.h"
#include "e911_text.h"

typedef struct net_addr
{
	int family; /* 4 or 6 */
	unsigned char b[16];
} net_addr_t;

static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses an address (no prefix) of at most 63 characters. */
static int parse_addr(const char *s, size_t len, net_addr_t *a)
{
	char buf[64];

	if(len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if(len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if(inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = 4;
		return 0;
	}
	if(inet_pton(AF_INET6, buf, a->b) == 1) {
		a->family = 6;
		if(memcmp(a->b, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(a->b, a->b + 12, 4);
			a->family = 4;
		}
		return 0;
	}
	return -1;
}

/* Parses "addr[/len]" into a and its prefix length. */
static int parse_prefix(const char *s, size_t len, net_addr_t *a, int *bits)
{
	const char *slash = memchr(s, '/', len);
	char *end;
	long n;
	int max;

	if(parse_addr(s, slash ? (size_t)(slash - s) : len, a) < 0)
		return -1;
	max = a->family == 4 ? 32 : 128;
	if(slash == NULL) {
		*bits = max;
		return 0;
	}
	if(slash + 1 >= s + len || slash + 1 + 3 < s + len)
		return -1;
	n = strtol(slash + 1, &end, 10);
	if(end != s + len || n < 0 || n > max)
		return -1;
	*bits = (int)n;
	return 0;
}

static int prefix_match(const net_addr_t *p, int bits, const net_addr_t *a)
{
	int full = bits / 8;
	int rest = bits % 8;
	unsigned char mask;

	if(p->family != a->family)
		return 0;
	if(memcmp(p->b, a->b, full) != 0)
		return 0;
	if(rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (p->b[full] & mask) == (a->b[full] & mask);
}

/* Calls fn for each trimmed item of a comma-separated list; stops at the
 * first non-zero return and returns it. */
static int each_item(const char *list,
		int (*fn)(const char *s, size_t len, void *arg), void *arg)
{
	const char *p = list;
	const char *item;
	size_t len;
	int rc;

	while(e911_list_next(&p, ',', E911_BLANKS, &item, &len)) {
		if(len > 0) {
			rc = fn(item, len, arg);
			if(rc != 0)
				return rc;
		}
	}
	return 0;
}

typedef struct check_ctx
{
	int count;
	char *err;
	size_t errlen;
} check_ctx_t;

static int check_item(const char *s, size_t len, void *arg)
{
	check_ctx_t *c = arg;
	net_addr_t a;
	int bits;

	if(parse_prefix(s, len, &a, &bits) < 0) {
		snprintf(c->err, c->errlen,
				"network %d is not an address or CIDR "
				"prefix",
				c->count + 1);
		return -1;
	}
	c->count++;
	return 0;
}

int e911_cidr_list_check(const char *list, char *err, size_t errlen)
{
	check_ctx_t c = {0, err, errlen};

	if(list == NULL)
		return 0;
	if(each_item(list, check_item, &c) < 0)
		return -1;
	return c.count;
}

typedef struct match_ctx
{
	net_addr_t addr;
} match_ctx_t;

static int match_item(const char *s, size_t len, void *arg)
{
	match_ctx_t *m = arg;
	net_addr_t p;
	int bits;

	if(parse_prefix(s, len, &p, &bits) < 0)
		return -1;
	return prefix_match(&p, bits, &m->addr) ? 1 : 0;
}

int e911_cidr_contains(const char *list, const char *addr, size_t alen)
{
	match_ctx_t m;

	if(list == NULL || addr == NULL || parse_addr(addr, alen, &m.addr) < 0)
		return -1;
	return each_item(list, match_item, &m);
}
