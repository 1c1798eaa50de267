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
 * Emergency numbers are a property of the caller's country, so a plan can
 * also be per country (e911_dialplan_countries): a built-in table with the
 * dial strings of the standards digest, which a small text file may extend
 * or override, one line per country:
 *
 *     # comment (a line whose first non-blank character is '#')
 *     US 911 933=test.sos
 *     JP 110=sos.police 119=sos.fire
 *     DE 112 110=sos.police
 *
 * A line is an ISO 3166-1 alpha-2 code (case-insensitive; GB, not UK) and
 * one or more dial strings separated by blanks. A dial string is 1..15
 * characters of 0-9 * #, optionally followed by "=" and its service:
 * "sos", "sos.<sub>", "test.sos", "test.sos.<sub>" (short for
 * "urn:service:..."), or a full "urn:service:..." URN; without "=" the
 * service is urn:service:sos. A test.sos service makes it a test string.
 * A country in the file replaces that country's built-in line as a whole;
 * the other built-in countries stay. Errors name the file and line.
 *
 * The built-in table: US CA MX PH 911 (US 933 test); the EU and EEA
 * countries, IN and RU 112; GB 999 112; AU 000 106 (TTY) 112; NZ 111;
 * JP 110 police, 119 fire (Japanese ambulances are dispatched by the fire
 * service, so 119 is urn:service:sos.fire); CN 110 police, 119 fire,
 * 120 ambulance; DE 110 police, 112; AT 122 fire, 133 police, 144
 * ambulance, 112; CH 117 police, 118 fire, 144 ambulance, 112; BR 190
 * police, 192 ambulance, 193 fire. 112 and every number without a
 * sub-service are urn:service:sos.
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

#define E911_DIAL_DEFAULT_COUNTRY "US" /* when default_country is empty */
#define E911_DIAL_COUNTRY_MAX 32	   /* dial strings on one country line */
#define E911_DIAL_LINE_MAX 1024		   /* longest line of a dial-plan file */

/* The dial strings of one country. */
typedef struct e911_dial_country
{
	char cc[3]; /* ISO 3166-1 alpha-2, upper case */
	int n;
	e911_dial_entry_t *entries;
} e911_dial_country_t;

typedef struct e911_dialplan
{
	int n; /* plans from e911_dialplan_new() only */
	e911_dial_entry_t *entries;
	int nprefix;
	char (*prefixes)[E911_DIAL_MAXLEN + 1];
	/* plans from e911_dialplan_countries() only (ncountry 0 otherwise) */
	int ncountry;
	e911_dial_country_t *countries;
	char default_cc[3];
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
 * *urn (when urn is not NULL) gets the entry's service URN. On a per-country
 * plan it classifies for the default country. */
int e911_dial_classify(
		const e911_dialplan_t *dp, const char *s, size_t len, const char **urn);

/* Builds a per-country plan: the built-in table, overridden per country by
 * the lines of file (NULL or "" for the built-in table alone), the default
 * country (two letters; NULL or "" means E911_DIAL_DEFAULT_COUNTRY; it must
 * have a line) and comma-separated trunk-access prefixes for all countries
 * (may be NULL or empty). Returns a malloc()ed plan (e911_dialplan_free()),
 * or NULL with a reason, naming the file and line, in err. */
e911_dialplan_t *e911_dialplan_countries(const char *file,
		const char *default_country, const char *prefixes, char *err,
		size_t errlen);

/* Classifies a dialled string as dialled by a caller in country (ISO 3166-1
 * alpha-2, case-insensitive; NULL or "" means the plan's default country,
 * and so does a country the plan does not know). Returns as
 * e911_dial_classify(); a plan from e911_dialplan_new() ignores country. */
int e911_dial_classify_cc(const e911_dialplan_t *dp, const char *country,
		const char *s, size_t len, const char **urn);

/* Classifies a service URN per RFC 5031. Returns E911_DIAL_EMERGENCY,
 * E911_DIAL_TEST or E911_DIAL_NONE. */
int e911_urn_classify(const char *s, size_t len);

/* Classifies a service URN as it arrives in a Request-URI: parameters
 * (";foo=bar") and headers ("?...") a user agent appended are not part of
 * the service. Returns as e911_urn_classify(). */
int e911_urn_classify_uri(const char *s, size_t len);

/* The dialled string of a URI user part (the raw bytes between the scheme
 * and '@'): user parameters (";phone-context=...") cut off, then %XX escapes
 * decoded - RFC 3261 19.1.4: "%39%31%31" is the same user as "911". Writes
 * it to out (outlen bytes, not NUL-terminated) and returns its length, or -1
 * for a malformed escape or a result longer than outlen. */
int e911_dial_unescape(const char *s, size_t len, char *out, size_t outlen);

#endif
