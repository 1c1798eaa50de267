/*
 * e911 module - recent emergency callers (PSAP-callback memory)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The memory of e911_callback_memory.h on the module's one expiring table
 * (e911_ttl_table.c): the key of an entry is the number's digits, there is
 * no value. Putting a number again keeps the later expiry and places it
 * after the entries expiring no later; a full table drops the entry closest
 * to expiry - with one retention time for every caller, the one put
 * longest ago.
 */

#include <string.h>
#include <strings.h>

#include "e911_callback_memory.h"
#include "e911_record.h"
#include "e911_ttl_table.h"

int e911_recent_callers_normalize(
		const char *number, size_t len, char *out, size_t outlen)
{
	char e164[24];
	const char *s;
	size_t n = len;
	size_t nd = 0;
	size_t i = 0;

	if(number == NULL || out == NULL || outlen < E911_RECENT_DIGITS_MAX + 1)
		return -1;
	if(e911_e164_normalize(number, len, e164, sizeof(e164)) == 0) {
		nd = strlen(e164 + 1);
		memcpy(out, e164 + 1, nd + 1);
		return (int)nd;
	}
	while(n > 0 && number[0] == ' ') {
		number++;
		n--;
	}
	while(n > 0 && number[n - 1] == ' ')
		n--;
	s = e911_number_user_part(number, &n);
	if(n > 0 && s[0] == '+')
		i = 1;
	for(; i < n; i++) {
		char c = s[i];

		if(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		if(c < '0' || c > '9' || nd == E911_RECENT_DIGITS_MAX)
			return -1;
		out[nd++] = c;
	}
	if(nd == 0)
		return -1;
	out[nd] = '\0';
	return (int)nd;
}

e911_recent_callers_t *e911_recent_callers_new(uint32_t max_entries)
{
	if(max_entries == 0 || max_entries > E911_RECENT_MAX_ENTRIES)
		return NULL;
	return (e911_recent_callers_t *)e911_ttl_new(max_entries, 0);
}

void e911_recent_callers_destroy(e911_recent_callers_t *r)
{
	e911_ttl_destroy((e911_ttl_table_t *)r);
}

/* The digits number is kept under (d: E911_RECENT_DIGITS_MAX + 1 bytes):
 * their count, or -1 when r is NULL or number is not a phone number. */
static int digits_of(
		e911_recent_callers_t *r, const char *number, size_t len, char *d)
{
	if(r == NULL)
		return -1;
	return e911_recent_callers_normalize(
			number, len, d, E911_RECENT_DIGITS_MAX + 1);
}

int e911_recent_callers_put(e911_recent_callers_t *r, const char *number,
		size_t len, int64_t expires)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	int n = digits_of(r, number, len, d);

	if(n < 0)
		return -1;
	return e911_ttl_put((e911_ttl_table_t *)r, d, (size_t)n, NULL, 0, expires,
				   E911_TTL_KEEP_LATER)
						   == E911_TTL_OK
				   ? 0
				   : -1;
}

int e911_recent_callers_check(
		e911_recent_callers_t *r, const char *number, size_t len, int64_t now)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	int n = digits_of(r, number, len, d);

	if(n < 0)
		return -1;
	return e911_ttl_live((e911_ttl_table_t *)r, d, (size_t)n, now);
}

int e911_recent_callers_remove(
		e911_recent_callers_t *r, const char *number, size_t len)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	int n = digits_of(r, number, len, d);

	if(n < 0)
		return -1;
	return e911_ttl_remove((e911_ttl_table_t *)r, d, (size_t)n);
}

uint32_t e911_recent_callers_expire(e911_recent_callers_t *r, int64_t now)
{
	return e911_ttl_purge((e911_ttl_table_t *)r, now);
}

uint32_t e911_recent_callers_count(e911_recent_callers_t *r)
{
	e911_ttl_stats_t st;

	e911_ttl_get_stats((e911_ttl_table_t *)r, &st);
	return (uint32_t)st.entries;
}

typedef struct recent_visit
{
	e911_recent_visit_f visit;
	void *arg;
} recent_visit_t;

static int visit_number(const void *key, size_t klen, const void *value,
		size_t vlen, int64_t expires, void *arg)
{
	recent_visit_t *v = arg;

	return v->visit((const char *)key, klen, expires, v->arg);
}

uint32_t e911_recent_callers_walk(e911_recent_callers_t *r, int64_t now,
		e911_recent_visit_f visit, void *arg)
{
	recent_visit_t v = {visit, arg};

	if(r == NULL || visit == NULL)
		return 0;
	return e911_ttl_walk((e911_ttl_table_t *)r, now, visit_number, &v);
}
