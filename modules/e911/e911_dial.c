/*
 * e911 module - emergency dial-string classification
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Dial plans are tiny (a handful of strings), so classification is a linear
 * scan with exact comparisons: no pattern matching, nothing that could make
 * "9112345" look like 911.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e911_dial.h"

#define URN_SOS "urn:service:sos"
#define URN_TEST_SOS "urn:service:test.sos"

static int dial_chars_ok(const char *s, size_t len)
{
	size_t i;

	if(len == 0 || len > E911_DIAL_MAXLEN)
		return 0;
	for(i = 0; i < len; i++) {
		if(!isdigit((unsigned char)s[i]) && s[i] != '*' && s[i] != '#')
			return 0;
	}
	return 1;
}

/* Trims spaces around s[0..*len); returns the new start. */
static const char *trim(const char *s, size_t *len)
{
	while(*len > 0 && isspace((unsigned char)s[0])) {
		s++;
		(*len)--;
	}
	while(*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

static int add_entries(e911_dialplan_t *dp, const char *list, int cls,
		char *err, size_t errlen)
{
	const char *p = list;
	const char *end;
	const char *eq;
	const char *item;
	size_t len;
	size_t dlen;
	e911_dial_entry_t *e;
	e911_dial_entry_t *ne;

	while(p && *p) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		item = trim(p, &len);
		p = end ? end + 1 : NULL;
		if(len == 0)
			continue;
		eq = memchr(item, '=', len);
		dlen = eq ? (size_t)(eq - item) : len;
		item = trim(item, &dlen);
		if(!dial_chars_ok(item, dlen)) {
			snprintf(
					err, errlen, "invalid dial string '%.*s'", (int)dlen, item);
			return -1;
		}
		ne = realloc(dp->entries, (dp->n + 1) * sizeof(*ne));
		if(ne == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		dp->entries = ne;
		e = &dp->entries[dp->n];
		memset(e, 0, sizeof(*e));
		memcpy(e->digits, item, dlen);
		e->cls = cls;
		if(eq) {
			size_t ulen = len - (size_t)(eq + 1 - item);
			const char *u = trim(eq + 1, &ulen);
			if(ulen == 0 || ulen > E911_URN_MAXLEN
					|| e911_urn_classify(u, ulen) == E911_DIAL_NONE) {
				snprintf(err, errlen,
						"invalid service URN for dial string '%s'", e->digits);
				return -1;
			}
			memcpy(e->urn, u, ulen);
		} else {
			strcpy(e->urn, cls == E911_DIAL_TEST ? URN_TEST_SOS : URN_SOS);
		}
		dp->n++;
	}
	return 0;
}

static int add_prefixes(
		e911_dialplan_t *dp, const char *list, char *err, size_t errlen)
{
	const char *p = list;
	const char *end;
	const char *item;
	size_t len;
	char(*np)[E911_DIAL_MAXLEN + 1];

	while(p && *p) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		item = trim(p, &len);
		p = end ? end + 1 : NULL;
		if(len == 0)
			continue;
		if(!dial_chars_ok(item, len)) {
			snprintf(err, errlen, "invalid dial prefix '%.*s'", (int)len, item);
			return -1;
		}
		np = realloc(dp->prefixes, (dp->nprefix + 1) * sizeof(*np));
		if(np == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		dp->prefixes = np;
		memset(dp->prefixes[dp->nprefix], 0, E911_DIAL_MAXLEN + 1);
		memcpy(dp->prefixes[dp->nprefix], item, len);
		dp->nprefix++;
	}
	return 0;
}

e911_dialplan_t *e911_dialplan_new(const char *emergency, const char *test,
		const char *prefixes, char *err, size_t errlen)
{
	e911_dialplan_t *dp = calloc(1, sizeof(*dp));

	if(dp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if(add_entries(dp, emergency, E911_DIAL_EMERGENCY, err, errlen) < 0
			|| add_entries(dp, test, E911_DIAL_TEST, err, errlen) < 0
			|| add_prefixes(dp, prefixes, err, errlen) < 0) {
		e911_dialplan_free(dp);
		return NULL;
	}
	return dp;
}

void e911_dialplan_free(e911_dialplan_t *dp)
{
	if(dp == NULL)
		return;
	free(dp->entries);
	free(dp->prefixes);
	free(dp);
}

static const e911_dial_entry_t *find_exact(
		const e911_dialplan_t *dp, const char *s, size_t len)
{
	int i;

	for(i = 0; i < dp->n; i++) {
		if(strlen(dp->entries[i].digits) == len
				&& memcmp(dp->entries[i].digits, s, len) == 0)
			return &dp->entries[i];
	}
	return NULL;
}

int e911_dial_classify(
		const e911_dialplan_t *dp, const char *s, size_t len, const char **urn)
{
	const e911_dial_entry_t *e;
	size_t plen;
	int i;

	if(dp == NULL || s == NULL || len == 0 || len > 2 * E911_DIAL_MAXLEN)
		return E911_DIAL_NONE;
	e = find_exact(dp, s, len);
	for(i = 0; e == NULL && i < dp->nprefix; i++) {
		plen = strlen(dp->prefixes[i]);
		if(plen < len && memcmp(dp->prefixes[i], s, plen) == 0)
			e = find_exact(dp, s + plen, len - plen);
	}
	if(e == NULL)
		return E911_DIAL_NONE;
	if(urn)
		*urn = e->urn;
	return e->cls;
}

/* 1 when s[0..len) is exactly base or base "." followed by a sub-service
 * of letters, digits, '-' and '.' (RFC 5031 top-level.sub-service). */
static int urn_matches(const char *s, size_t len, const char *base)
{
	size_t blen = strlen(base);
	size_t i;

	if(len < blen || strncasecmp(s, base, blen) != 0)
		return 0;
	if(len == blen)
		return 1;
	if(s[blen] != '.' || len == blen + 1)
		return 0;
	for(i = blen + 1; i < len; i++) {
		if(!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	}
	return 1;
}

int e911_urn_classify(const char *s, size_t len)
{
	if(s == NULL || len > E911_URN_MAXLEN)
		return E911_DIAL_NONE;
	if(urn_matches(s, len, URN_SOS))
		return E911_DIAL_EMERGENCY;
	if(urn_matches(s, len, URN_TEST_SOS))
		return E911_DIAL_TEST;
	return E911_DIAL_NONE;
}
