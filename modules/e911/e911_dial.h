/*
 * e911 module - emergency dial-string classification
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Decides whether a dialled string or a service URN is an emergency call, a
 * test call, or neither. Dial strings match exactly, after removing at most
 * one configured trunk-access prefix ("9911" is 911 with prefix 9;
 * "9112345" is nothing). Service URNs follow RFC 5031: "urn:service:sos"
 * and "urn:service:sos.<sub>" are emergency, "urn:service:test.sos" and
 * "urn:service:test.sos.<sub>" are test calls (case-insensitive).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_DIAL_H
#define E911_DIAL_H

#include <stddef.h>

#define E911_DIAL_EMERGENCY 1
#define E911_DIAL_TEST 2
#define E911_DIAL_NONE -1

#define E911_DIAL_MAXLEN 15 /* longest dial string or prefix */
#define E911_URN_MAXLEN 63

typedef struct e911_dial_entry
{
	char digits[E911_DIAL_MAXLEN + 1];
	int cls;					   /* E911_DIAL_EMERGENCY or _TEST */
	char urn[E911_URN_MAXLEN + 1]; /* service URN of the dial string */
} e911_dial_entry_t;

typedef struct e911_dialplan
{
	int n;
	e911_dial_entry_t *entries;
	int nprefix;
	char (*prefixes)[E911_DIAL_MAXLEN + 1];
} e911_dialplan_t;

/* Builds a dial plan from comma-separated lists: emergency and test dial
 * strings (each optionally "digits=urn:service:...", default
 * urn:service:sos / urn:service:test.sos) and trunk-access prefixes (may be
 * empty). Dial strings are 1..15 characters of 0-9 * #. Returns a
 * malloc()ed plan, or NULL with a reason in err. */
e911_dialplan_t *e911_dialplan_new(const char *emergency, const char *test,
		const char *prefixes, char *err, size_t errlen);

/* Frees a plan; NULL is ignored. */
void e911_dialplan_free(e911_dialplan_t *dp);

/* Classifies a dialled string (exact match, or one prefix + exact match).
 * Returns E911_DIAL_EMERGENCY, E911_DIAL_TEST or E911_DIAL_NONE; on a match
 * *urn (when urn is not NULL) gets the entry's service URN. */
int e911_dial_classify(
		const e911_dialplan_t *dp, const char *s, size_t len, const char **urn);

/* Classifies a service URN per RFC 5031. Returns E911_DIAL_EMERGENCY,
 * E911_DIAL_TEST or E911_DIAL_NONE. */
int e911_urn_classify(const char *s, size_t len);

#endif
