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
 *
 * Per-country plans keep one entry list per country. The built-in table is
 * written in the dial-plan file format and read by the same parser as a
 * file, so everything the table says can be said (and overridden) in a
 * file.
 */

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e911_dialplan.h"
#include "e911_text.h"

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

/* Trims white space around s[0..*len); returns the new start. */
static const char *trim(const char *s, size_t *len)
{
	return e911_trim(s, len, E911_WHITESPACE);
}

static int add_entries(e911_dialplan_t *dp, const char *list, int cls,
		char *err, size_t errlen)
{
	const char *p = list;
	const char *eq;
	const char *item;
	size_t len;
	size_t dlen;
	e911_dial_entry_t *e;
	e911_dial_entry_t *ne;

	while(p && *p && e911_list_next(&p, ',', E911_WHITESPACE, &item, &len)) {
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
	const char *item;
	size_t len;
	char(*np)[E911_DIAL_MAXLEN + 1];

	while(p && *p && e911_list_next(&p, ',', E911_WHITESPACE, &item, &len)) {
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
	int i;

	if(dp == NULL)
		return;
	for(i = 0; i < dp->ncountry; i++)
		free(dp->countries[i].entries);
	free(dp->countries);
	free(dp->entries);
	free(dp->prefixes);
	free(dp);
}

static const e911_dial_entry_t *find_exact(
		const e911_dial_entry_t *entries, int n, const char *s, size_t len)
{
	int i;

	for(i = 0; i < n; i++) {
		if(strlen(entries[i].digits) == len
				&& memcmp(entries[i].digits, s, len) == 0)
			return &entries[i];
	}
	return NULL;
}

/* Classifies s against one entry list and the plan's prefixes. */
static int classify_in(const e911_dialplan_t *dp,
		const e911_dial_entry_t *entries, int n, const char *s, size_t len,
		const char **urn)
{
	const e911_dial_entry_t *e;
	size_t plen;
	int i;

	if(s == NULL || len == 0 || len > 2 * E911_DIAL_MAXLEN)
		return E911_DIAL_NONE;
	e = find_exact(entries, n, s, len);
	for(i = 0; e == NULL && i < dp->nprefix; i++) {
		plen = strlen(dp->prefixes[i]);
		if(plen < len && memcmp(dp->prefixes[i], s, plen) == 0)
			e = find_exact(entries, n, s + plen, len - plen);
	}
	if(e == NULL)
		return E911_DIAL_NONE;
	if(urn)
		*urn = e->urn;
	return e->cls;
}

/* The country entry for a two-letter code (any case), or NULL. */
static const e911_dial_country_t *find_country(
		const e911_dialplan_t *dp, const char *cc)
{
	int i;

	if(cc == NULL || strlen(cc) != 2)
		return NULL;
	for(i = 0; i < dp->ncountry; i++) {
		if(strncasecmp(dp->countries[i].cc, cc, 2) == 0)
			return &dp->countries[i];
	}
	return NULL;
}

int e911_dial_classify_cc(const e911_dialplan_t *dp, const char *country,
		const char *s, size_t len, const char **urn)
{
	const e911_dial_country_t *c;

	if(dp == NULL)
		return E911_DIAL_NONE;
	if(dp->ncountry == 0)
		return classify_in(dp, dp->entries, dp->n, s, len, urn);
	c = find_country(dp, country);
	if(c == NULL)
		c = find_country(dp, dp->default_cc);
	if(c == NULL)
		return E911_DIAL_NONE;
	return classify_in(dp, c->entries, c->n, s, len, urn);
}

int e911_dial_classify(
		const e911_dialplan_t *dp, const char *s, size_t len, const char **urn)
{
	return e911_dial_classify_cc(dp, NULL, s, len, urn);
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

int e911_urn_classify_uri(const char *s, size_t len)
{
	size_t n;

	if(s == NULL)
		return E911_DIAL_NONE;
	for(n = 0; n < len && s[n] != ';' && s[n] != '?'; n++)
		;
	return e911_urn_classify(s, n);
}

static int hexval(char c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int e911_dial_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i;
	size_t n = 0;
	int hi;
	int lo;

	if(s == NULL || out == NULL)
		return -1;
	for(i = 0; i < len && s[i] != ';'; i++) {
		if(n >= outlen || n >= (size_t)INT_MAX)
			return -1;
		if(s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if(i + 2 >= len)
			return -1;
		hi = hexval(s[i + 1]);
		lo = hexval(s[i + 2]);
		if(hi < 0 || lo < 0)
			return -1;
		out[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return (int)n;
}

/* ---- per-country plans ---- */

/* The digest's dial strings, in the dial-plan file format. */
static const char builtin_table[] =
		"US 911 933=test.sos\n"
		"CA 911\n"
		"MX 911\n"
		"PH 911\n"
		"GB 999 112\n"
		"AU 000 106 112\n"
		"NZ 111\n"
		"JP 110=sos.police 119=sos.fire\n"
		"CN 110=sos.police 119=sos.fire 120=sos.ambulance\n"
		"DE 112 110=sos.police\n"
		"AT 112 122=sos.fire 133=sos.police 144=sos.ambulance\n"
		"CH 112 117=sos.police 118=sos.fire 144=sos.ambulance\n"
		"BR 190=sos.police 192=sos.ambulance 193=sos.fire\n"
		"IN 112\n"
		"RU 112\n"
		/* the rest of the EU */
		"BE 112\nBG 112\nHR 112\nCY 112\nCZ 112\nDK 112\nEE 112\nFI 112\n"
		"FR 112\nGR 112\nHU 112\nIE 112\nIT 112\nLV 112\nLT 112\nLU 112\n"
		"MT 112\nNL 112\nPL 112\nPT 112\nRO 112\nSK 112\nSI 112\nES 112\n"
		"SE 112\n"
		/* the EEA beyond the EU */
		"IS 112\nLI 112\nNO 112\n";

/* A growing list of countries while a plan is read. */
typedef struct country_list
{
	int n;
	e911_dial_country_t *c;
} country_list_t;

static void country_list_free(country_list_t *l)
{
	int i;

	for(i = 0; i < l->n; i++)
		free(l->c[i].entries);
	free(l->c);
	l->c = NULL;
	l->n = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
		   || c == '\v';
}

/* Index of country cc in l, or -1. */
static int country_index(const country_list_t *l, const char *cc)
{
	int i;

	for(i = 0; i < l->n; i++) {
		if(memcmp(l->c[i].cc, cc, 2) == 0)
			return i;
	}
	return -1;
}

/* Fills e->urn and e->cls from the service part of an entry ("sos.fire",
 * "test.sos", "urn:service:sos.police"). Returns 0 or -1. */
static int parse_service(e911_dial_entry_t *e, const char *v, size_t n)
{
	static const char pfx[] = "urn:service:";
	const size_t plen = sizeof(pfx) - 1;
	char urn[E911_URN_MAXLEN + 1];
	size_t len = 0;
	int cls;

	if(n == 0)
		return -1;
	if(n < plen || strncasecmp(v, pfx, plen) != 0) {
		memcpy(urn, pfx, plen);
		len = plen;
	}
	if(len + n > E911_URN_MAXLEN)
		return -1;
	memcpy(urn + len, v, n);
	len += n;
	urn[len] = '\0';
	cls = e911_urn_classify(urn, len);
	if(cls == E911_DIAL_NONE)
		return -1;
	memcpy(e->urn, urn, len + 1);
	e->cls = cls;
	return 0;
}

/* Parses the entries after the country code of one line into c.
 * Returns 0, or -1 with the reason (without the location) in why. */
static int parse_country_entries(e911_dial_country_t *c, const char *p,
		const char *end, char *why, size_t whylen)
{
	e911_dial_entry_t e;
	const char *tok;
	const char *eq;
	size_t tlen;
	size_t dlen;
	int i;

	for(;;) {
		while(p < end && is_blank(*p))
			p++;
		if(p == end)
			break;
		tok = p;
		while(p < end && !is_blank(*p))
			p++;
		tlen = (size_t)(p - tok);
		eq = memchr(tok, '=', tlen);
		dlen = eq ? (size_t)(eq - tok) : tlen;
		memset(&e, 0, sizeof(e));
		if(!dial_chars_ok(tok, dlen)) {
			snprintf(why, whylen, "invalid dial string '%.*s'",
					(int)(dlen > 20 ? 20 : dlen), tok);
			return -1;
		}
		memcpy(e.digits, tok, dlen);
		if(eq == NULL) {
			strcpy(e.urn, URN_SOS);
			e.cls = E911_DIAL_EMERGENCY;
		} else if(parse_service(&e, eq + 1, tlen - dlen - 1) < 0) {
			snprintf(why, whylen,
					"invalid service for dial string '%s' (expected sos, "
					"sos.<sub>, test.sos or urn:service:...)",
					e.digits);
			return -1;
		}
		for(i = 0; i < c->n; i++) {
			if(strcmp(c->entries[i].digits, e.digits) == 0) {
				snprintf(
						why, whylen, "dial string '%s' listed twice", e.digits);
				return -1;
			}
		}
		if(c->n == E911_DIAL_COUNTRY_MAX) {
			snprintf(why, whylen, "more than %d dial strings",
					E911_DIAL_COUNTRY_MAX);
			return -1;
		}
		if(c->entries == NULL) {
			c->entries = calloc(E911_DIAL_COUNTRY_MAX, sizeof(e));
			if(c->entries == NULL) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
		}
		c->entries[c->n++] = e;
	}
	if(c->n == 0) {
		snprintf(why, whylen, "country %s has no dial strings", c->cc);
		return -1;
	}
	return 0;
}

/* Parses one line (without its newline) into l; blank and comment lines
 * are skipped. Returns 0, or -1 with the reason in why. */
static int parse_country_line(
		country_list_t *l, const char *p, size_t n, char *why, size_t whylen)
{
	const char *end = p + n;
	e911_dial_country_t c;
	e911_dial_country_t *nc;

	while(p < end && is_blank(*p))
		p++;
	if(p == end || *p == '#')
		return 0;
	memset(&c, 0, sizeof(c));
	if(end - p < 2 || !isalpha((unsigned char)p[0])
			|| !isalpha((unsigned char)p[1])
			|| (end - p > 2 && !is_blank(p[2]))) {
		snprintf(why, whylen,
				"expected a two-letter country code and dial strings");
		return -1;
	}
	c.cc[0] = (char)toupper((unsigned char)p[0]);
	c.cc[1] = (char)toupper((unsigned char)p[1]);
	if(country_index(l, c.cc) >= 0) {
		snprintf(why, whylen, "country %s listed twice", c.cc);
		return -1;
	}
	if(parse_country_entries(&c, p + 2, end, why, whylen) < 0) {
		free(c.entries);
		return -1;
	}
	nc = realloc(l->c, (l->n + 1) * sizeof(*nc));
	if(nc == NULL) {
		free(c.entries);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	l->c = nc;
	l->c[l->n++] = c;
	return 0;
}

/* Parses a whole dial-plan text; name labels errors ("FILE:LINE: ...").
 * Returns 0 or -1 with err set. */
static int parse_country_text(country_list_t *l, const char *text, size_t len,
		const char *name, char *err, size_t errlen)
{
	const char *p = text;
	const char *end = text + len;
	const char *nl;
	size_t n;
	int line = 0;
	char why[160];

	while(p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		why[0] = '\0';
		if(n > E911_DIAL_LINE_MAX)
			snprintf(why, sizeof(why), "line longer than %d characters",
					E911_DIAL_LINE_MAX);
		else if(memchr(p, '\0', n) != NULL)
			snprintf(why, sizeof(why), "NUL character");
		if(why[0] != '\0'
				|| parse_country_line(l, p, n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", name, line, why);
			return -1;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* Reads a whole dial-plan file (at most 1 MiB) into a malloc()ed buffer.
 * Returns it with *len set, or NULL with err set. */
static char *read_plan_file(
		const char *file, size_t *len, char *err, size_t errlen)
{
	const size_t max = 1u << 20;
	FILE *f = fopen(file, "rb");
	char *buf;
	size_t n;

	if(f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if(buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if(ferror(f) || n > max) {
		snprintf(err, errlen, "%s: %s", file,
				n > max ? "larger than 1 MiB" : "read error");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Moves the countries of over into base, replacing base's line for a
 * country both have. over is left empty. */
static void country_list_merge(country_list_t *base, country_list_t *over)
{
	int i;
	int k;
	int out = base->n;

	for(i = 0; i < over->n; i++) {
		k = country_index(base, over->c[i].cc);
		if(k >= 0) {
			free(base->c[k].entries);
			base->c[k] = over->c[i];
		} else {
			base->c[out++] = over->c[i];
		}
	}
	base->n = out;
	free(over->c);
	over->c = NULL;
	over->n = 0;
}

e911_dialplan_t *e911_dialplan_countries(const char *file,
		const char *default_country, const char *prefixes, char *err,
		size_t errlen)
{
	country_list_t base = {0, NULL};
	country_list_t over = {0, NULL};
	e911_dial_country_t *grown;
	e911_dialplan_t *dp = NULL;
	const char *dc = default_country;
	char cc[3];
	char *text = NULL;
	size_t len = 0;

	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(dc == NULL || dc[0] == '\0')
		dc = E911_DIAL_DEFAULT_COUNTRY;
	if(strlen(dc) != 2 || !isalpha((unsigned char)dc[0])
			|| !isalpha((unsigned char)dc[1])) {
		snprintf(err, errlen, "default country must be two letters");
		return NULL;
	}
	cc[0] = (char)toupper((unsigned char)dc[0]);
	cc[1] = (char)toupper((unsigned char)dc[1]);
	cc[2] = '\0';
	if(parse_country_text(&base, builtin_table, sizeof(builtin_table) - 1,
			   "built-in table", err, errlen)
			< 0)
		goto fail;
	if(file != NULL && file[0] != '\0') {
		text = read_plan_file(file, &len, err, errlen);
		if(text == NULL
				|| parse_country_text(&over, text, len, file, err, errlen) < 0)
			goto fail;
		grown = realloc(base.c, (base.n + over.n + 1) * sizeof(*grown));
		if(grown == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		base.c = grown;
		country_list_merge(&base, &over);
	}
	if(country_index(&base, cc) < 0) {
		snprintf(err, errlen, "default country %s has no dial plan", cc);
		goto fail;
	}
	dp = calloc(1, sizeof(*dp));
	if(dp == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if(add_prefixes(dp, prefixes, err, errlen) < 0)
		goto fail;
	dp->ncountry = base.n;
	dp->countries = base.c;
	memcpy(dp->default_cc, cc, 3);
	free(text);
	return dp;

fail:
	e911_dialplan_free(dp);
	country_list_free(&base);
	country_list_free(&over);
	free(text);
	return NULL;
}
