/*
 * libFuzzer target: dial plans and emergency classification. The input is
 * lines: the emergency list, the test list, the prefix list (as given to
 * e911_dialplan_new), then strings to classify, each with
 * e911_dial_classify() and e911_urn_classify(). Checked invariants:
 *
 * - a plan is accepted exactly when every non-empty list item is a valid
 *   dial string (or prefix) with an optional usable service URN, and it
 *   holds those items in order;
 * - classification is exact match: a string is emergency or test only
 *   when it equals an entry, or one prefix followed by an entry, and gets
 *   that entry's class and URN (the first match wins, exact before
 *   prefixed), checked against an independent model;
 * - URN classification agrees with a model of RFC 5031 sos / test.sos.
 *
 * An input whose first byte is '@' tests per-country plans instead:
 * "@<default country>", the prefix list, the lines of a dial-plan file
 * up to a line "--", then "<country> <dialled>" lines ("-" for none).
 * An accepted plan must hold distinct upper-case countries (the default
 * among them) of 1..32 distinct, valid dial strings whose class matches
 * their URN; each country line of the file must have replaced the
 * country's entries with exactly its dial strings; and
 * e911_dial_classify_cc() must agree with the exact-match model on the
 * caller's country (unknown or none: the default), e911_dial_classify()
 * with it for the default country.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#include "e911_dialplan.h"
#include "fuzz_common.h"

#define MAX_LINES 64

static int dial_char(char c)
{
	return (c >= '0' && c <= '9') || c == '*' || c == '#';
}

/* Trims isspace() around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
	while(*n > 0 && isspace((unsigned char)s[0])) {
		s++;
		(*n)--;
	}
	while(*n > 0 && isspace((unsigned char)s[*n - 1]))
		(*n)--;
	return s;
}

/* Checks the entries of list (class cls) starting at dp->entries[*k], or
 * returns 0 when the model says the list is invalid. */
static int model_list(const e911_dialplan_t *dp, const char *list, int cls,
		int *k, int prefixes)
{
	const char *p = list;

	while(*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = trim(p, &n);
		const char *eq = prefixes ? NULL : memchr(item, '=', n);
		size_t dn = eq ? (size_t)(eq - item) : n;
		const char *d = trim(item, &dn);
		const char *u = NULL;
		size_t un = 0;

		p = comma ? comma + 1 : p + strlen(p);
		if(n == 0)
			continue;
		if(dn == 0 || dn > E911_DIAL_MAXLEN)
			return 0;
		for(size_t i = 0; i < dn; i++) {
			if(!dial_char(d[i]))
				return 0;
		}
		if(eq) {
			un = n - (size_t)(eq + 1 - item);
			u = trim(eq + 1, &un);
			if(un == 0 || fz_model_urn(u, un) == E911_DIAL_NONE)
				return 0;
		}
		if(dp == NULL)
			continue;
		if(prefixes) {
			FZ_ASSERT(*k < dp->nprefix && strlen(dp->prefixes[*k]) == dn
							  && memcmp(dp->prefixes[*k], d, dn) == 0,
					"prefix %d differs from its list item", *k);
		} else {
			const e911_dial_entry_t *e = &dp->entries[*k];
			const char *want = cls == E911_DIAL_TEST ? "urn:service:test.sos"
													 : "urn:service:sos";

			FZ_ASSERT(*k < dp->n && strlen(e->digits) == dn
							  && memcmp(e->digits, d, dn) == 0 && e->cls == cls,
					"entry %d differs from its list item", *k);
			FZ_ASSERT(eq ? strlen(e->urn) == un && memcmp(e->urn, u, un) == 0
						 : strcmp(e->urn, want) == 0,
					"entry %d has the wrong URN", *k);
		}
		(*k)++;
	}
	return 1;
}

/* Model of classification against entries[0..n) and the plan's prefixes:
 * first exact entry, else for each prefix in order the first entry equal
 * to the rest. */
static const e911_dial_entry_t *model_classify(const e911_dialplan_t *dp,
		const e911_dial_entry_t *entries, int ne, const char *s, size_t n)
{
	for(int i = 0; i < ne; i++) {
		if(strlen(entries[i].digits) == n
				&& memcmp(entries[i].digits, s, n) == 0)
			return &entries[i];
	}
	for(int p = 0; p < dp->nprefix; p++) {
		size_t pl = strlen(dp->prefixes[p]);

		if(pl >= n || memcmp(dp->prefixes[p], s, pl) != 0)
			continue;
		for(int i = 0; i < ne; i++) {
			if(strlen(entries[i].digits) == n - pl
					&& memcmp(entries[i].digits, s + pl, n - pl) == 0)
				return &entries[i];
		}
	}
	return NULL;
}

/* Checks one classification result against the model's entry. */
static void check_class(int c, const char *urn, const e911_dial_entry_t *e)
{
	if(e == NULL) {
		FZ_ASSERT(c == E911_DIAL_NONE && urn == NULL,
				"classified %d without a matching entry", c);
	} else {
		FZ_ASSERT(c == e->cls && urn == e->urn,
				"classified %d, the matching entry says %d", c, e->cls);
	}
}

/* The plan's country for a caller's code (model: two letters, any case;
 * otherwise or unknown, the default). */
static const e911_dial_country_t *model_country(
		const e911_dialplan_t *dp, const char *cc)
{
	for(int pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? cc : dp->default_cc;

		if(want == NULL || strlen(want) != 2)
			continue;
		for(int i = 0; i < dp->ncountry; i++) {
			if(strncasecmp(dp->countries[i].cc, want, 2) == 0)
				return &dp->countries[i];
		}
	}
	return NULL;
}

/* Structure of an accepted per-country plan, and that each country line
 * of the file text[0..len) is what the plan holds for that country. */
static void check_country_plan(
		const e911_dialplan_t *dp, const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;

	FZ_ASSERT(dp->n == 0 && dp->ncountry > 0, "country plan shape");
	FZ_ASSERT(
			model_country(dp, NULL) != NULL
					&& strcmp(model_country(dp, NULL)->cc, dp->default_cc) == 0,
			"default country %s has no line", dp->default_cc);
	for(int i = 0; i < dp->ncountry; i++) {
		const e911_dial_country_t *c = &dp->countries[i];

		FZ_ASSERT(isupper((unsigned char)c->cc[0])
						  && isupper((unsigned char)c->cc[1]) && c->cc[2] == 0,
				"country code %.2s", c->cc);
		FZ_ASSERT(c->n >= 1 && c->n <= E911_DIAL_COUNTRY_MAX,
				"country %s has %d dial strings", c->cc, c->n);
		for(int k = 0; k < i; k++)
			FZ_ASSERT(strcmp(dp->countries[k].cc, c->cc) != 0,
					"country %s twice", c->cc);
		for(int k = 0; k < c->n; k++) {
			const e911_dial_entry_t *e = &c->entries[k];
			size_t dl = strlen(e->digits);

			FZ_ASSERT(dl >= 1 && dl <= E911_DIAL_MAXLEN
							  && strspn(e->digits, "0123456789*#") == dl,
					"country %s dial string invalid", c->cc);
			FZ_ASSERT(e->cls == e911_urn_classify(e->urn, strlen(e->urn))
							  && e->cls != E911_DIAL_NONE,
					"country %s entry class and URN disagree", c->cc);
			for(int j = 0; j < k; j++)
				FZ_ASSERT(strcmp(c->entries[j].digits, e->digits) != 0,
						"country %s dial string twice", c->cc);
		}
	}
	while(p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const e911_dial_country_t *c = NULL;
		char cc[3];
		int k = 0;

		while(p < le && strchr(" \t\r\f\v", *p) && *p)
			p++;
		if(p + 2 <= le && *p != '#') {
			cc[0] = (char)toupper((unsigned char)p[0]);
			cc[1] = (char)toupper((unsigned char)p[1]);
			cc[2] = '\0';
			for(int i = 0; i < dp->ncountry; i++) {
				if(strcmp(dp->countries[i].cc, cc) == 0)
					c = &dp->countries[i];
			}
			FZ_ASSERT(
					c != NULL, "country %s of the file is not in the plan", cc);
			p += 2;
			while(p < le) {
				const char *tok;
				size_t dl;

				while(p < le && strchr(" \t\r\f\v", *p) && *p)
					p++;
				if(p == le)
					break;
				tok = p;
				while(p < le && !(strchr(" \t\r\f\v", *p) && *p))
					p++;
				dl = strcspn(tok, "=");
				dl = dl < (size_t)(p - tok) ? dl : (size_t)(p - tok);
				FZ_ASSERT(k < c->n && strlen(c->entries[k].digits) == dl
								  && memcmp(c->entries[k].digits, tok, dl) == 0,
						"country %s differs from its line in the file", cc);
				k++;
			}
			FZ_ASSERT(k == c->n, "country %s has more than its line", cc);
		}
		p = nl ? nl + 1 : end;
	}
}

/* '@' inputs: per-country plans (see the top of the file). */
static void fuzz_countries(char *text, size_t size)
{
	char *line1 = memchr(text, '\n', size);
	char *prefixes = line1 ? line1 + 1 : text + size;
	char *plan;
	char *sep;
	char *rest;
	char path[64];
	char err[256];
	e911_dialplan_t *dp;
	int fd;

	if(line1 != NULL)
		*line1 = '\0';
	plan = strchr(prefixes, '\n');
	if(plan != NULL)
		*plan++ = '\0';
	else
		plan = prefixes + strlen(prefixes);
	if(strncmp(plan, "--\n", 3) == 0) {
		rest = plan + 3;
		*plan = '\0';
	} else {
		sep = strstr(plan, "\n--\n");
		rest = sep ? sep + 4 : plan + strlen(plan);
		if(sep != NULL)
			sep[1] = '\0';
	}

	fd = memfd_create("e911-dialplan", 0);
	FZ_ASSERT(fd >= 0, "memfd_create");
	FZ_ASSERT(write(fd, plan, strlen(plan)) == (ssize_t)strlen(plan), "write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	dp = e911_dialplan_countries(path, text + 1, prefixes, err, sizeof(err));
	close(fd);
	if(getenv("E911_FUZZ_VERBOSE"))
		fprintf(stderr, "country plan %s%s\n",
				dp ? "accepted" : "rejected: ", dp ? "" : err);
	FZ_ASSERT(dp != NULL || err[0] != '\0', "rejected without a reason");
	if(dp == NULL)
		return;
	check_country_plan(dp, plan, strlen(plan));

	while(*rest) {
		char *nl = strchr(rest, '\n');
		char *sp;
		const char *cc;
		const char *s;
		const char *urn = NULL;
		const char *urn0 = NULL;
		const e911_dial_country_t *c;
		int r;

		if(nl != NULL)
			*nl = '\0';
		sp = strchr(rest, ' ');
		cc = sp ? rest : NULL;
		s = sp ? sp + 1 : rest;
		if(sp != NULL)
			*sp = '\0';
		if(cc != NULL && strcmp(cc, "-") == 0)
			cc = NULL;
		c = model_country(dp, cc);
		FZ_ASSERT(c != NULL, "no country for a call");
		r = e911_dial_classify_cc(dp, cc, s, strlen(s), &urn);
		check_class(r, urn, model_classify(dp, c->entries, c->n, s, strlen(s)));
		c = model_country(dp, NULL);
		r = e911_dial_classify(dp, s, strlen(s), &urn0);
		check_class(
				r, urn0, model_classify(dp, c->entries, c->n, s, strlen(s)));
		rest = nl ? nl + 1 : rest + strlen(rest);
	}
	e911_dialplan_free(dp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *lines[MAX_LINES];
	size_t lens[MAX_LINES];
	int nl = 0;
	char *p;
	char err[256];
	e911_dialplan_t *dp;
	int k = 0;
	int kp = 0;
	int ok;

	if(text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if(size > 0 && text[0] == '@') {
		fuzz_countries(text, size);
		free(text);
		return 0;
	}
	for(p = text; nl < MAX_LINES;) {
		char *nlp = memchr(p, '\n', (size_t)(text + size - p));

		lines[nl] = p;
		lens[nl] = nlp ? (size_t)(nlp - p) : (size_t)(text + size - p);
		nl++;
		if(nlp == NULL)
			break;
		*nlp = '\0';
		p = nlp + 1;
	}
	while(nl < 3) {
		lines[nl] = "";
		lens[nl++] = 0;
	}

	err[0] = '\0';
	dp = e911_dialplan_new(lines[0], lines[1], lines[2], err, sizeof(err));
	ok = model_list(NULL, lines[0], E911_DIAL_EMERGENCY, &k, 0)
		 && model_list(NULL, lines[1], E911_DIAL_TEST, &k, 0)
		 && model_list(NULL, lines[2], 0, &kp, 1);
	FZ_ASSERT((dp != NULL) == ok, "plan %s, model says %s (%s)",
			dp ? "accepted" : "rejected", ok ? "valid" : "invalid", err);
	FZ_ASSERT(dp != NULL || err[0] != '\0', "rejected without a reason");
	if(getenv("E911_FUZZ_VERBOSE"))
		fprintf(stderr, "plan %s%s\n",
				dp ? "accepted" : "rejected: ", dp ? "" : err);
	if(dp != NULL) {
		k = 0;
		kp = 0;
		model_list(dp, lines[0], E911_DIAL_EMERGENCY, &k, 0);
		model_list(dp, lines[1], E911_DIAL_TEST, &k, 0);
		model_list(dp, lines[2], 0, &kp, 1);
		FZ_ASSERT(k == dp->n && kp == dp->nprefix, "plan has extra entries");
	}

	for(int i = 0; i < nl; i++) {
		const char *s = lines[i];
		size_t n = lens[i];
		int u = e911_urn_classify(s, n);

		FZ_ASSERT(u == fz_model_urn(s, n), "urn_classify %d, model %d", u,
				fz_model_urn(s, n));
		if(dp != NULL && i >= 3) {
			const char *urn = NULL;
			int c = e911_dial_classify(dp, s, n, &urn);

			check_class(c, urn, model_classify(dp, dp->entries, dp->n, s, n));
		}
	}
	e911_dialplan_free(dp);
	free(text);
	return 0;
}
