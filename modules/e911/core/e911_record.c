/*
 * e911 module - location records
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Turns a location-service answer (contract v1) into a flat e911_record_t and
 * back. Parsing happens in two steps: the JSON document is walked field by
 * field into a builder that holds every normalised value in a slot of its
 * own, then the builder is laid out into one malloc()ed block whose pool
 * stores the values in field order. Because the layout depends only on the
 * values, two records with the same content are byte-for-byte equal, and
 * e911_record_parse(e911_record_to_json(rec)) reproduces rec exactly.
 *
 * Every rule of the contract that decides what a value may be lives here:
 * civic values are xs:token text (control characters mapped or removed,
 * whitespace collapsed, valid UTF-8, at most E911_VALUE_MAX bytes), country
 * is two upper-case letters or dropped, the callback is E.164 or absent, and
 * a route that is not a safe SIP/tel/URN URI rejects the whole record. Error
 * messages name the offending field but never quote a value, because values
 * are personal data.
 *
 * Answers of other shapes are read through a field map (RFC 6901 JSON
 * pointers per field): the mapped values are first placed where contract v1
 * has them, in a new JSON document, and that document goes through the same
 * builder, so there is one set of rules for both paths.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#include "e911_cidr.h"
#include "e911_record.h"
#include "e911_text.h"
#include "e911_time.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest accepted uncertainty radius, metres (half the equator). */
#define REC_RADIUS_MAX 20037509.0

/* updated_at must be before 3000-01-01T00:00:00Z. */
#define REC_TIME_MAX 32503680000LL

/* RFC 5139 / RFC 6848 element names, indexed by e911_field_t. */
static const char *const civic_names[E911_CA_COUNT] = {"country", "A1", "A2",
		"A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD", "POM",
		"RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM",
		"PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE",
		"STP", "HNP", "MP", "PN"};

/* Everything a record will hold, one slot per string field. */
typedef struct rec_builder
{
	uint32_t flags;
	double lat;
	double lon;
	double radius_m;
	int64_t updated_at;
	int32_t max_age;
	uint16_t len[E911_F_COUNT]; /* 0 = absent */
	char *err;
	size_t errlen;
	unsigned dropped; /* DROPPED_* bits: values left out, for the warning */
	/* last: only val[f][0 .. len[f]] is ever read, so a new builder zeroes
	 * everything before it (not these ~10 KiB) */
	char val[E911_F_COUNT][E911_VALUE_MAX + 1];
} rec_builder_t;

#define DROPPED_COUNTRY 1u
#define DROPPED_CALLBACK 2u

/* Results of normalising one text value. */
enum
{
	NORM_OK = 0,
	NORM_TOO_LONG = -1,
	NORM_BAD_UTF8 = -2
};

const char *e911_civic_name(int field)
{
	if(field < 0 || field >= E911_CA_COUNT)
		return NULL;
	return civic_names[field];
}

int e911_civic_field(const char *name, size_t len)
{
	if(name == NULL)
		return -1;
	if(len == 0)
		return -1;
	for(int f = 0; f < E911_CA_COUNT; f++) {
		/* the first byte rules out most names without a strlen */
		if(civic_names[f][0] == name[0] && strlen(civic_names[f]) == len
				&& memcmp(civic_names[f], name, len) == 0)
			return f;
	}
	return -1;
}

/* Writes a formatted reason into the builder's error buffer; returns -1 so
 * callers can "return rec_fail(...)". */
static int rec_fail(rec_builder_t *b, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

static int rec_fail(rec_builder_t *b, const char *fmt, ...)
{
	va_list ap;

	if(b->err == NULL || b->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes available) with its
 * code point in *cp, or 0 when the bytes are not well-formed UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k;
	uint32_t c;
	uint32_t min;

	if(s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if(s[0] >= 0xC2 && s[0] <= 0xDF) {
		k = 2;
		c = s[0] & 0x1F;
		min = 0x80;
	} else if(s[0] >= 0xE0 && s[0] <= 0xEF) {
		k = 3;
		c = s[0] & 0x0F;
		min = 0x800;
	} else if(s[0] >= 0xF0 && s[0] <= 0xF4) {
		k = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if(n < k)
		return 0;
	for(size_t i = 1; i < k; i++) {
		if((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if(c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return k;
}

/* Whether a code point becomes a space: the space itself, TAB, and the
 * line breaks CR, LF, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR (a value
 * is one line, also in the address line written to logs). */
static int is_line_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x85
		   || cp == 0x2028 || cp == 0x2029;
}

/* Whether a code point is dropped from values: C0 and C1 controls, DEL, and
 * the XML 1.0 non-characters U+FFFE and U+FFFF. */
static int is_dropped(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE
		   || cp == 0xFFFF;
}

/* Normalises s[0..n) into out (E911_VALUE_MAX + 1 bytes) as an xs:token:
 * CR, LF, TAB and the Unicode line breaks become spaces, other control
 * characters are removed, leading and trailing spaces are trimmed and
 * inner runs collapsed.
 * Returns NORM_OK with *outlen set, NORM_TOO_LONG or NORM_BAD_UTF8. */
static int norm_text(const char *s, size_t n, char *out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	size_t o = 0;
	int space = 0;

	while(i < n) {
		uint32_t cp;
		size_t k = utf8_seq(u + i, n - i, &cp);

		if(k == 0)
			return NORM_BAD_UTF8;
		if(is_line_space(cp)) {
			space = 1;
			i += k;
			continue;
		}
		if(is_dropped(cp)) {
			i += k;
			continue;
		}
		if(space && o > 0) {
			if(o + 1 > E911_VALUE_MAX)
				return NORM_TOO_LONG;
			out[o++] = ' ';
		}
		space = 0;
		if(o + k > E911_VALUE_MAX)
			return NORM_TOO_LONG;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	*outlen = o;
	return NORM_OK;
}

/* Stores the normalised text of s[0..n) in field; an empty result leaves the
 * field absent. what names the field in error messages. Returns 0 or -1. */
static int set_text(
		rec_builder_t *b, int field, const char *what, const char *s, size_t n)
{
	size_t len = 0;
	int rc = norm_text(s, n, b->val[field], &len);

	if(rc == NORM_TOO_LONG)
		return rec_fail(
				b, "%s: value longer than %d bytes", what, E911_VALUE_MAX);
	if(rc != NORM_OK)
		return rec_fail(b, "%s: invalid UTF-8", what);
	b->len[field] = (uint16_t)len;
	return 0;
}

/* Smallest number of significant digits (1..17) with which jansson prints v
 * so that it reads back as exactly v. jansson does the printing and reading
 * so the result does not depend on the process locale. */
static int real_precision(double v)
{
	for(int p = 1; p < 17; p++) {
		json_t *r = json_real(v);
		char *s = r ? json_dumps(r, JSON_ENCODE_ANY | JSON_REAL_PRECISION(p))
					: NULL;
		json_t *back = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
		int same = back != NULL && json_is_number(back)
				   && json_number_value(back) == v;

		json_decref(back);
		free(s);
		json_decref(r);
		if(same)
			return p;
	}
	return 17;
}

/* Writes the decimal text of a JSON number into out (outlen bytes):
 * integers and integral reals below 1e15 as integers ("3", not "3.0"),
 * other reals with the fewest digits that read back as the same value.
 * Returns the length or -1. */
static int number_text(const json_t *v, char *out, size_t outlen)
{
	double d;
	json_t *r;
	char *s;
	int n;

	if(json_is_integer(v))
		return snprintf(
				out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	d = json_real_value(v);
	if(d > -1e15 && d < 1e15 && d == (double)(long long)d)
		return snprintf(out, outlen, "%lld", (long long)d);
	r = json_real(d);
	s = r ? json_dumps(
				r, JSON_ENCODE_ANY | JSON_REAL_PRECISION(real_precision(d)))
		  : NULL;
	json_decref(r);
	if(s == NULL)
		return -1;
	n = snprintf(out, outlen, "%s", s);
	free(s);
	return n;
}

/* Stores a JSON string or number as the text of field; null leaves it
 * absent, any other type is an error. Returns 0 or -1. */
static int set_scalar(rec_builder_t *b, int field, const char *what,
		const json_t *v, const char *expected)
{
	char num[64];
	int n;

	if(v == NULL || json_is_null(v))
		return 0;
	if(json_is_string(v))
		return set_text(
				b, field, what, json_string_value(v), json_string_length(v));
	if(!json_is_number(v))
		return rec_fail(b, "%s: expected %s", what, expected);
	n = number_text(v, num, sizeof(num));
	if(n < 0 || (size_t)n >= sizeof(num))
		return rec_fail(b, "%s: number cannot be converted", what);
	return set_text(b, field, what, num, (size_t)n);
}

/* Keeps country only as two ASCII letters, upper-cased; drops it otherwise
 * (the contract keeps the rest of the address). */
static void fix_country(rec_builder_t *b)
{
	char *c = b->val[E911_CA_COUNTRY];
	int up0;
	int up1;

	if(b->len[E911_CA_COUNTRY] == 0)
		return;
	up0 = c[0] & ~0x20;
	up1 = c[1] & ~0x20;
	if(b->len[E911_CA_COUNTRY] != 2 || up0 < 'A' || up0 > 'Z' || up1 < 'A'
			|| up1 > 'Z') {
		b->len[E911_CA_COUNTRY] = 0;
		b->dropped |= DROPPED_COUNTRY;
		return;
	}
	c[0] = (char)up0;
	c[1] = (char)up1;
}

/* "civic": an object of RFC 5139 element names; unknown names ignored. */
static int parse_civic(rec_builder_t *b, json_t *civic)
{
	const char *name;
	json_t *v;
	/* "civic.<name>" for the error messages, made once */
	static char what[E911_CA_COUNT][24];

	if(civic == NULL || json_is_null(civic))
		return 0;
	if(!json_is_object(civic))
		return rec_fail(b, "civic: expected an object");
	if(what[0][0] == '\0') {
		for(int f = 0; f < E911_CA_COUNT; f++)
			snprintf(what[f], sizeof(what[f]), "civic.%s", civic_names[f]);
	}
	json_object_foreach(civic, name, v)
	{
		int f = e911_civic_field(name, strlen(name));

		if(f < 0)
			continue;
		if(set_scalar(b, f, what[f], v, "a string or number") < 0)
			return -1;
	}
	fix_country(b);
	return 0;
}

/* Reads geo.<name> as a finite number within [lo, hi]. Returns 1 when
 * present, 0 when absent or null, -1 on error. */
static int geo_number(rec_builder_t *b, const json_t *geo, const char *name,
		double lo, double hi, double *out)
{
	const json_t *v = json_object_get(geo, name);
	double d;

	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_number(v))
		return rec_fail(b, "geo.%s: expected a number", name);
	d = json_number_value(v);
	if(!isfinite(d) || d < lo || d > hi)
		return rec_fail(b, "geo.%s: out of range [%.0f, %.0f]", name, lo, hi);
	*out = d + 0.0; /* no negative zero: equal values, equal bytes */
	return 1;
}

/* "geo": lat and lon in degrees, optional radius_m; lat or lon alone drops
 * the geodetic part. */
static int parse_geo(rec_builder_t *b, const json_t *geo)
{
	double lat = 0;
	double lon = 0;
	double radius = 0;
	int has_lat;
	int has_lon;
	int has_radius;

	if(geo == NULL || json_is_null(geo))
		return 0;
	if(!json_is_object(geo))
		return rec_fail(b, "geo: expected an object");
	has_lat = geo_number(b, geo, "lat", -90.0, 90.0, &lat);
	if(has_lat < 0)
		return -1;
	has_lon = geo_number(b, geo, "lon", -180.0, 180.0, &lon);
	if(has_lon < 0)
		return -1;
	has_radius = geo_number(b, geo, "radius_m", 0.0, REC_RADIUS_MAX, &radius);
	if(has_radius < 0)
		return -1;
	if(!has_lat || !has_lon)
		return 0;
	b->flags |= E911_REC_HAS_GEO;
	b->lat = lat;
	b->lon = lon;
	if(radius > 0) {
		b->flags |= E911_REC_HAS_RADIUS;
		b->radius_m = radius;
	}
	return 0;
}

/* "callback": normalised to E.164; anything unusable leaves it absent. */
static void parse_callback(rec_builder_t *b, const json_t *v)
{
	char num[64];
	const char *s = NULL;
	size_t n = 0;
	int len;

	if(json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else if(json_is_integer(v)) {
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				json_integer_value(v));
		if(len > 0 && (size_t)len < sizeof(num)) {
			s = num;
			n = (size_t)len;
		}
	}
	if(s == NULL) {
		if(v != NULL && !json_is_null(v))
			b->dropped |= DROPPED_CALLBACK;
		return;
	}
	if(e911_e164_normalize(s, n, b->val[E911_F_CALLBACK], E911_VALUE_MAX + 1)
			== 0)
		b->len[E911_F_CALLBACK] = (uint16_t)strlen(b->val[E911_F_CALLBACK]);
	else
		b->dropped |= DROPPED_CALLBACK;
}

/* "route": {"uri": ...}; a URI that fails e911_uri_check rejects the
 * record. */
static int parse_route(rec_builder_t *b, const json_t *route)
{
	const json_t *uri;
	size_t n;

	if(route == NULL || json_is_null(route))
		return 0;
	if(!json_is_object(route))
		return rec_fail(b, "route: expected an object");
	uri = json_object_get(route, "uri");
	if(uri == NULL || json_is_null(uri))
		return 0;
	if(!json_is_string(uri))
		return rec_fail(b, "route.uri: expected a string");
	n = json_string_length(uri);
	if(e911_uri_check(json_string_value(uri), n) < 0)
		return rec_fail(
				b, "route.uri: not an acceptable sip, sips, tel or urn URI");
	memcpy(b->val[E911_F_ROUTE], json_string_value(uri), n);
	b->val[E911_F_ROUTE][n] = '\0';
	b->len[E911_F_ROUTE] = (uint16_t)n;
	return 0;
}

/* "updated_at": an RFC 3339 time after 1970 and before 3000; anything else
 * is ignored (0 means "not given", and PIDF-LO needs a printable year). */
static void parse_updated(rec_builder_t *b, const json_t *v)
{
	int64_t t;
	size_t n;

	if(!json_is_string(v))
		return;
	n = json_string_length(v);
	if(n > E911_VALUE_MAX || e911_time_parse(json_string_value(v), n, &t) < 0
			|| t <= 0 || t >= REC_TIME_MAX)
		return;
	memcpy(b->val[E911_F_UPDATED], json_string_value(v), n);
	b->val[E911_F_UPDATED][n] = '\0';
	b->len[E911_F_UPDATED] = (uint16_t)n;
	b->updated_at = t;
}

/* "validated": true or false. */
static int parse_validated(rec_builder_t *b, const json_t *v)
{
	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_boolean(v))
		return rec_fail(b, "validated: expected true or false");
	b->flags |= E911_REC_VALIDATED_SET;
	if(json_is_true(v))
		b->flags |= E911_REC_VALIDATED;
	return 0;
}

/* "max_age": a non-negative integer of seconds. */
static int parse_max_age(rec_builder_t *b, const json_t *v)
{
	json_int_t n;

	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_integer(v))
		return rec_fail(b, "max_age: expected an integer");
	n = json_integer_value(v);
	if(n < 0)
		return rec_fail(b, "max_age: must not be negative");
	b->max_age = n > INT32_MAX ? INT32_MAX : (int32_t)n;
	return 0;
}

/* Whether s[0..n) is a usable endpoint_id: 1..E911_ENDPOINT_ID_MAX
 * characters of A-Z a-z 0-9 . _ - (safe in a SIP user part and header). */
static int endpoint_id_ok(const char *s, size_t n)
{
	if(n == 0 || n > E911_ENDPOINT_ID_MAX)
		return 0;
	for(size_t i = 0; i < n; i++) {
		char c = s[i];

		if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '_'
				   || c == '-'))
			return 0;
	}
	return 1;
}

/* "endpoint_id": a string or integer of endpoint_id_ok() characters; ""
 * leaves it absent, anything else rejects the record (it is meant for a SIP
 * header, and a wrong one would key the wrong pre-validated location). */
static int parse_endpoint_id(rec_builder_t *b, const json_t *v)
{
	char num[32];
	const char *s;
	size_t n;

	if(v == NULL || json_is_null(v))
		return 0;
	if(json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else if(json_is_integer(v) && json_integer_value(v) >= 0) {
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				json_integer_value(v));
		s = num;
	} else {
		return rec_fail(b, "endpoint_id: expected a string");
	}
	if(n == 0)
		return 0;
	if(!endpoint_id_ok(s, n))
		return rec_fail(b,
				"endpoint_id: expected 1 to %d characters of A-Z a-z 0-9 . _ -",
				E911_ENDPOINT_ID_MAX);
	memcpy(b->val[E911_F_ENDPOINT_ID], s, n);
	b->val[E911_F_ENDPOINT_ID][n] = '\0';
	b->len[E911_F_ENDPOINT_ID] = (uint16_t)n;
	return 0;
}

/* Whether the builder holds at least one civic value. */
static int has_civic(const rec_builder_t *b)
{
	for(int f = 0; f < E911_CA_COUNT; f++) {
		if(b->len[f] > 0)
			return 1;
	}
	return 0;
}

/* Whether the builder holds a location: a civic value or a geo point. */
static int has_location(const rec_builder_t *b)
{
	return has_civic(b) || (b->flags & E911_REC_HAS_GEO);
}

/* "site": {"multi_floor": bool, "multi_unit": bool} - whether in-building
 * detail is needed for the location to be dispatchable. */
static int parse_site(rec_builder_t *b, const json_t *v)
{
	const json_t *f;

	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_object(v))
		return rec_fail(b, "site: expected an object");
	f = json_object_get(v, "multi_floor");
	if(f && !json_is_null(f) && !json_is_boolean(f))
		return rec_fail(b, "site.multi_floor: expected true or false");
	if(json_is_true(f))
		b->flags |= E911_REC_MULTI_FLOOR;
	f = json_object_get(v, "multi_unit");
	if(f && !json_is_null(f) && !json_is_boolean(f))
		return rec_fail(b, "site.multi_unit: expected true or false");
	if(json_is_true(f))
		b->flags |= E911_REC_MULTI_UNIT;
	return 0;
}

/* "networks": the networks the device was registered from, an array of
 * CIDR prefixes, kept joined by ',' (at most E911_VALUE_MAX bytes). */
static int parse_networks(rec_builder_t *b, const json_t *v)
{
	char err[64];
	char pfx[64];
	size_t i;
	size_t n = 0;
	size_t len;
	const char *s;
	const json_t *item;

	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_array(v))
		return rec_fail(b, "networks: expected an array of CIDR prefixes");
	json_array_foreach(v, i, item)
	{
		if(!json_is_string(item))
			return rec_fail(b, "networks[%zu]: expected a string", i);
		s = json_string_value(item);
		len = json_string_length(item);
		/* kept exactly as checked: no blanks around the prefix */
		if(len == 0 || len >= sizeof(pfx)
				|| strspn(s, "0123456789abcdefABCDEF.:/[]") != len)
			return rec_fail(b, "networks[%zu]: not a CIDR prefix", i);
		memcpy(pfx, s, len);
		pfx[len] = '\0';
		if(e911_cidr_list_check(pfx, err, sizeof(err)) != 1)
			return rec_fail(b, "networks[%zu]: not a CIDR prefix", i);
		if(n + len + 1 > E911_VALUE_MAX)
			return rec_fail(
					b, "networks: longer than %d bytes", E911_VALUE_MAX);
		if(n > 0)
			b->val[E911_F_NETWORKS][n++] = ',';
		memcpy(b->val[E911_F_NETWORKS] + n, s, len);
		n += len;
	}
	b->val[E911_F_NETWORKS][n] = '\0';
	b->len[E911_F_NETWORKS] = (uint16_t)n;
	return 0;
}

/* "mobility": the RFC 7852 ServiceMobility of the device (FCC fixed /
 * non-fixed): "Fixed", "Nomadic", "Mobile" or "Unknown". */
static int parse_mobility(rec_builder_t *b, const json_t *v)
{
	static const char *const ok[] = {"Fixed", "Nomadic", "Mobile", "Unknown"};
	const char *s;
	size_t i;

	if(v == NULL || json_is_null(v))
		return 0;
	if(!json_is_string(v))
		return rec_fail(b, "mobility: expected a string");
	s = json_string_value(v);
	for(i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if(strcmp(s, ok[i]) == 0) {
			strcpy(b->val[E911_F_MOBILITY], ok[i]);
			b->len[E911_F_MOBILITY] = (uint16_t)strlen(ok[i]);
			return 0;
		}
	}
	return rec_fail(b, "mobility: expected Fixed, Nomadic, Mobile or Unknown");
}

/* Fills the builder from a parsed answer. Returns 0 or -1. */
static int build_from_json(rec_builder_t *b, const json_t *root)
{
	if(!json_is_object(root))
		return rec_fail(b, "answer is not a JSON object");
	if(parse_civic(b, json_object_get(root, "civic")) < 0)
		return -1;
	if(parse_geo(b, json_object_get(root, "geo")) < 0)
		return -1;
	if(set_scalar(
			   b, E911_F_KEY, "key", json_object_get(root, "key"), "a string")
			< 0)
		return -1;
	parse_callback(b, json_object_get(root, "callback"));
	if(parse_route(b, json_object_get(root, "route")) < 0)
		return -1;
	if(parse_validated(b, json_object_get(root, "validated")) < 0)
		return -1;
	parse_updated(b, json_object_get(root, "updated_at"));
	if(parse_max_age(b, json_object_get(root, "max_age")) < 0)
		return -1;
	if(parse_endpoint_id(b, json_object_get(root, "endpoint_id")) < 0)
		return -1;
	if(parse_site(b, json_object_get(root, "site")) < 0
			|| parse_networks(b, json_object_get(root, "networks")) < 0
			|| parse_mobility(b, json_object_get(root, "mobility")) < 0)
		return -1;
	if(!has_location(b))
		return rec_fail(b, "record has neither civic nor geo");
	return 0;
}

/* Lays the builder out as one malloc()ed record: the pool holds the values
 * in field order, and the size is rounded up to 8 bytes with zeroed
 * padding. Returns the record or NULL. */
static e911_record_t *builder_finish(rec_builder_t *b)
{
	size_t pool = 1;
	size_t size;
	size_t pos = 1;
	e911_record_t *rec;

	for(int f = 0; f < E911_F_COUNT; f++) {
		if(b->len[f] > 0)
			pool += (size_t)b->len[f] + 1;
	}
	size = (offsetof(e911_record_t, pool) + pool + 7) & ~(size_t)7;
	if(size > E911_REC_MAX_SIZE) {
		rec_fail(b, "record larger than %d bytes", E911_REC_MAX_SIZE);
		return NULL;
	}
	rec = calloc(1, size);
	if(rec == NULL) {
		rec_fail(b, "out of memory");
		return NULL;
	}
	rec->size = (uint32_t)size;
	rec->flags = b->flags;
	rec->lat = b->lat;
	rec->lon = b->lon;
	rec->radius_m = b->radius_m;
	rec->updated_at = b->updated_at;
	rec->max_age = b->max_age;
	for(int f = 0; f < E911_F_COUNT; f++) {
		if(b->len[f] == 0)
			continue;
		rec->off[f] = (uint16_t)pos;
		memcpy(rec->pool + pos, b->val[f], b->len[f]);
		pos += (size_t)b->len[f] + 1;
	}
	return rec;
}

/* Describes a jansson decoding error without quoting the input: jansson's
 * "near '...'" suffix and escape sequences it quotes are left out. */
static void json_fail(rec_builder_t *b, const json_error_t *jerr)
{
	char text[JSON_ERROR_TEXT_LENGTH];
	char *near;

	snprintf(text, sizeof(text), "%s", jerr->text);
	near = strstr(text, " near ");
	if(near != NULL)
		*near = '\0';
	if(json_error_code(jerr) == json_error_invalid_utf8)
		snprintf(text, sizeof(text), "invalid UTF-8");
	else if(json_error_code(jerr) == json_error_null_character)
		snprintf(text, sizeof(text), "\\u0000 is not allowed");
	else if(strncmp(text, "invalid Unicode", 15) == 0)
		snprintf(text, sizeof(text), "invalid Unicode escape");
	rec_fail(b, "malformed JSON at line %d column %d: %s", jerr->line,
			jerr->column, text);
}

/* ---- field maps ---- */

/* One field-map entry: where the value is (the pointer's reference tokens,
 * unescaped, back to back, each NUL-terminated) and where it goes in a
 * contract-v1 answer (parent object, or NULL for the top level, and
 * member name). */
typedef struct fm_entry
{
	const char *parent;
	const char *member;
	int ntok;
	char tok[E911_POINTER_MAX + 1];
} fm_entry_t;

struct e911_fieldmap
{
	int n;
	fm_entry_t e[E911_FIELDMAP_MAX];
};

/* The non-civic targets and their place in contract v1. */
static const struct
{
	const char *name;
	const char *parent;
	const char *member;
} fm_targets[] = {{"key", NULL, "key"}, {"callback", NULL, "callback"},
		{"route", "route", "uri"}, {"lat", "geo", "lat"}, {"lon", "geo", "lon"},
		{"radius_m", "geo", "radius_m"}, {"validated", NULL, "validated"},
		{"updated_at", NULL, "updated_at"}, {"max_age", NULL, "max_age"},
		{"endpoint_id", NULL, "endpoint_id"}};

/* Writes an error about entry i of a field map; returns -1. */
static int fm_fail(char *err, size_t errlen, int i, const char *fmt, ...)
		__attribute__((format(printf, 4, 5)));

static int fm_fail(char *err, size_t errlen, int i, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if(err != NULL && errlen > 0)
		snprintf(err, errlen, "field map entry %d: %s", i, why);
	return -1;
}

/* Sets e's destination from a target name. Returns 0, or -1 when the name
 * is not a target. */
static int fm_set_target(fm_entry_t *e, const char *name, size_t n)
{
	int f = e911_civic_field(name, n);

	if(f >= 0) {
		e->parent = "civic";
		e->member = civic_names[f];
		return 0;
	}
	for(size_t i = 0; i < sizeof(fm_targets) / sizeof(fm_targets[0]); i++) {
		if(strlen(fm_targets[i].name) == n
				&& memcmp(fm_targets[i].name, name, n) == 0) {
			e->parent = fm_targets[i].parent;
			e->member = fm_targets[i].member;
			return 0;
		}
	}
	return -1;
}

/* Parses an RFC 6901 pointer p[0..n) into e's tokens. Returns 0, or -1
 * with the reason in why. */
static int fm_set_pointer(
		fm_entry_t *e, const char *p, size_t n, char *why, size_t whylen)
{
	size_t o = 0;

	if(n == 0 || p[0] != '/') {
		snprintf(why, whylen, "a JSON pointer starts with '/'");
		return -1;
	}
	if(n > E911_POINTER_MAX) {
		snprintf(why, whylen, "JSON pointer longer than %d characters",
				E911_POINTER_MAX);
		return -1;
	}
	e->ntok = 0;
	for(size_t i = 0; i < n; i++) {
		if(p[i] == '/') {
			if(i > 0)
				e->tok[o++] = '\0';
			e->ntok++;
		} else if(p[i] == '~') {
			if(i + 1 == n || (p[i + 1] != '0' && p[i + 1] != '1')) {
				snprintf(why, whylen,
						"invalid escape in JSON pointer (~0 is '~', ~1 is "
						"'/')");
				return -1;
			}
			e->tok[o++] = p[i + 1] == '0' ? '~' : '/';
			i++;
		} else if(p[i] == '\0' || (unsigned char)p[i] < 0x20) {
			snprintf(why, whylen, "control character in JSON pointer");
			return -1;
		} else {
			e->tok[o++] = p[i];
		}
	}
	e->tok[o] = '\0';
	return 0;
}

/* Trims blanks (spaces, tabs, line ends) around s[0..*n). */
static const char *fm_trim(const char *s, size_t *n)
{
	return e911_trim(s, n, " \t\r\n");
}

e911_fieldmap_t *e911_fieldmap_parse(const char *spec, char *err, size_t errlen)
{
	e911_fieldmap_t *fm;
	const char *p = spec;
	const char *item;
	const char *eq;
	const char *name;
	const char *ptr;
	size_t len;
	size_t nlen;
	size_t plen;
	char why[128];
	int i = 0;

	if(err != NULL && errlen > 0)
		err[0] = '\0';
	fm = calloc(1, sizeof(*fm));
	if(fm == NULL) {
		if(err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while(p != NULL && *p != '\0'
			&& e911_list_next(&p, ';', " \t\r\n", &item, &len)) {
		fm_entry_t *e = &fm->e[fm->n];

		if(len == 0)
			continue;
		i++;
		if(fm->n == E911_FIELDMAP_MAX) {
			fm_fail(err, errlen, i, "more than %d entries", E911_FIELDMAP_MAX);
			goto fail;
		}
		eq = memchr(item, '=', len);
		if(eq == NULL) {
			fm_fail(err, errlen, i, "expected field=/pointer");
			goto fail;
		}
		nlen = (size_t)(eq - item);
		name = fm_trim(item, &nlen);
		plen = len - (size_t)(eq + 1 - item);
		ptr = fm_trim(eq + 1, &plen);
		if(fm_set_target(e, name, nlen) < 0) {
			fm_fail(err, errlen, i, "unknown field '%.*s'",
					(int)(nlen > 32 ? 32 : nlen), name);
			goto fail;
		}
		for(int k = 0; k < fm->n; k++) {
			const char *kp = fm->e[k].parent;

			if((kp == NULL) == (e->parent == NULL)
					&& (kp == NULL || strcmp(kp, e->parent) == 0)
					&& strcmp(fm->e[k].member, e->member) == 0) {
				fm_fail(err, errlen, i, "field '%.*s' mapped twice", (int)nlen,
						name);
				goto fail;
			}
		}
		if(fm_set_pointer(e, ptr, plen, why, sizeof(why)) < 0) {
			fm_fail(err, errlen, i, "%.*s: %s", (int)(nlen > 32 ? 32 : nlen),
					name, why);
			goto fail;
		}
		fm->n++;
	}
	if(fm->n == 0) {
		if(err != NULL && errlen > 0)
			snprintf(err, errlen, "field map is empty");
		goto fail;
	}
	return fm;

fail:
	free(fm);
	return NULL;
}

void e911_fieldmap_free(e911_fieldmap_t *fm)
{
	free(fm);
}

/* Whether token t is an RFC 6901 array index ("0" or digits without a
 * leading zero) below size; *idx gets it. */
static int fm_array_index(const char *t, size_t size, size_t *idx)
{
	size_t v = 0;
	size_t n = strlen(t);

	if(n == 0 || n > 9 || (n > 1 && t[0] == '0'))
		return 0;
	for(size_t i = 0; i < n; i++) {
		if(t[i] < '0' || t[i] > '9')
			return 0;
		v = v * 10 + (size_t)(t[i] - '0');
	}
	if(v >= size)
		return 0;
	*idx = v;
	return 1;
}

/* The value e's pointer refers to in root, or NULL when it leads nowhere
 * (a missing member, an index out of range, a scalar on the way). */
static json_t *fm_resolve(const fm_entry_t *e, json_t *root)
{
	const char *t = e->tok;
	json_t *v = root;
	size_t idx;

	for(int i = 0; i < e->ntok && v != NULL; i++) {
		if(json_is_object(v))
			v = json_object_get(v, t);
		else if(json_is_array(v) && fm_array_index(t, json_array_size(v), &idx))
			v = json_array_get(v, idx);
		else
			v = NULL;
		t += strlen(t) + 1;
	}
	return v;
}

/* Builds the contract-v1 answer fm describes from root (which it releases):
 * every mapped value that exists is placed where contract v1 has it, so the
 * contract's own checks apply to it. Returns the new document, or NULL with
 * the error set. */
static json_t *fm_apply(
		rec_builder_t *b, const e911_fieldmap_t *fm, json_t *root)
{
	json_t *doc = NULL;
	json_t *parent;
	json_t *v;
	int fail = 0;

	if(!json_is_object(root) && !json_is_array(root)) {
		rec_fail(b, "answer is not a JSON object");
		goto out;
	}
	doc = json_object();
	for(int i = 0; doc != NULL && !fail && i < fm->n; i++) {
		const fm_entry_t *e = &fm->e[i];

		v = fm_resolve(e, root);
		if(v == NULL)
			continue;
		parent = doc;
		if(e->parent != NULL) {
			parent = json_object_get(doc, e->parent);
			if(parent == NULL) {
				parent = json_object();
				if(json_object_set_new(doc, e->parent, parent) < 0)
					parent = NULL;
			}
		}
		if(parent == NULL || json_object_set(parent, e->member, v) < 0)
			fail = 1;
	}
	if(doc == NULL || fail) {
		json_decref(doc);
		doc = NULL;
		rec_fail(b, "out of memory");
	}
out:
	json_decref(root);
	return doc;
}

/* A new builder with nothing set (the caller free()s it), or NULL; clears
 * err. About 10 KiB: kept off the stack of the SIP worker. */
static rec_builder_t *builder_new(char *err, size_t errlen)
{
	rec_builder_t *b = malloc(sizeof(*b));

	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(b == NULL) {
		if(err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(b, 0, offsetof(rec_builder_t, val));
	b->err = err;
	b->errlen = errlen;
	b->max_age = -1;
	return b;
}

e911_record_t *e911_record_parse(
		const char *json, size_t len, char *err, size_t errlen)
{
	return e911_record_parse_mapped(json, len, NULL, err, errlen);
}

e911_record_t *e911_record_parse_mapped(const char *json, size_t len,
		const e911_fieldmap_t *fm, char *err, size_t errlen)
{
	rec_builder_t *b;
	json_t *root;
	json_error_t jerr;
	e911_record_t *rec = NULL;

	b = builder_new(err, errlen);
	if(b == NULL)
		return NULL;
	if(json == NULL) {
		rec_fail(b, "no answer");
		goto out;
	}
	if(len > E911_BODY_MAX) {
		rec_fail(b, "answer larger than %d bytes", E911_BODY_MAX);
		goto out;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if(root == NULL) {
		json_fail(b, &jerr);
		goto out;
	}
	if(fm != NULL)
		root = fm_apply(b, fm, root);
	if(root != NULL && build_from_json(b, root) == 0)
		rec = builder_finish(b);
	json_decref(root);
	/* kept, but with values left out: say which (never the values) */
	if(rec != NULL && b->dropped && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s left out",
				(b->dropped & DROPPED_COUNTRY) ? "country (not two letters)"
											   : "",
				b->dropped == (DROPPED_COUNTRY | DROPPED_CALLBACK) ? " and "
																   : "",
				(b->dropped & DROPPED_CALLBACK)
						? "callback (not a phone number)"
						: "");
out:
	free(b);
	return rec;
}

/* Whether s[0..n) starts with the lower-case prefix p, ignoring case. */
static int has_prefix_ci(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	if(n < k)
		return 0;
	for(size_t i = 0; i < k; i++) {
		char c = s[i];

		if(c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if(c != p[i])
			return 0;
	}
	return 1;
}

int e911_uri_check(const char *uri, size_t len)
{
	static const char *const schemes[] = {"sip:", "sips:", "tel:", "urn:"};
	size_t rest = 0;

	if(uri == NULL || len == 0 || len > 255)
		return -1;
	for(size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if(has_prefix_ci(uri, len, schemes[i]))
			rest = strlen(schemes[i]);
	}
	if(rest == 0 || rest == len)
		return -1;
	for(size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];

		/* also refuses non-ASCII bytes: a Request-URI is ASCII */
		if(c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"')
			return -1;
	}
	return 0;
}

/* Whether ten digits look like a NANP number: NPA and NXX start 2-9. */
static int nanp_ok(const char *d)
{
	return d[0] >= '2' && d[0] <= '9' && d[3] >= '2' && d[3] <= '9';
}

/* Narrows s[0..*n) to the number inside a tel: or sip:/sips: URI: the user
 * part, up to '@' or ';'. Plain numbers are left as they are. */
const char *e911_number_user_part(const char *s, size_t *n)
{
	size_t skip = 0;
	size_t end;

	if(has_prefix_ci(s, *n, "tel:"))
		skip = 4;
	else if(has_prefix_ci(s, *n, "sip:"))
		skip = 4;
	else if(has_prefix_ci(s, *n, "sips:"))
		skip = 5;
	if(skip == 0)
		return s;
	for(end = skip; end < *n; end++) {
		if(s[end] == '@' || s[end] == ';')
			break;
	}
	*n = end - skip;
	return s + skip;
}

/* out (at least 17 bytes): prefix ("+" or "+1") and nd <= 15 digits; 0.
 * On every PSAP-callback check of an ordinary INVITE: no snprintf. */
static int e164_out(
		char *out, const char *prefix, const char *digits, size_t nd)
{
	size_t np = strlen(prefix);

	memcpy(out, prefix, np);
	memcpy(out + np, digits, nd);
	out[np + nd] = '\0';
	return 0;
}

int e911_e164_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	char digits[16];
	size_t nd = 0;
	size_t i = 0;
	int plus = 0;
	const char *s;

	if(in == NULL || out == NULL || outlen < 17)
		return -1;
	while(len > 0 && in[0] == ' ') {
		in++;
		len--;
	}
	while(len > 0 && in[len - 1] == ' ')
		len--;
	s = e911_number_user_part(in, &len);
	if(len > 0 && s[0] == '+') {
		plus = 1;
		i = 1;
	}
	for(; i < len; i++) {
		char c = s[i];

		if(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		if(c < '0' || c > '9' || nd == 15)
			return -1;
		digits[nd++] = c;
	}
	digits[nd] = '\0';
	if(plus && nd >= 8 && digits[0] != '0')
		return e164_out(out, "+", digits, nd);
	if(!plus && nd == 10 && nanp_ok(digits))
		return e164_out(out, "+1", digits, nd);
	if(!plus && nd == 11 && digits[0] == '1' && nanp_ok(digits + 1))
		return e164_out(out, "+", digits, nd);
	return -1;
}

/* Adds rec's string field to obj under name; absent fields are skipped.
 * Returns 0 or -1. */
static int json_add_field(
		json_t *obj, const char *name, const e911_record_t *rec, int field)
{
	const char *v = e911_rec_get(rec, field);

	if(v == NULL)
		return 0;
	return json_object_set_new(obj, name, json_string(v));
}

/* Builds the "civic" object, or NULL when the record has no civic part or
 * on error (*fail set). */
static json_t *civic_to_json(const e911_record_t *rec, int *fail)
{
	json_t *civic = NULL;

	for(int f = 0; f < E911_CA_COUNT; f++) {
		if(e911_rec_get(rec, f) == NULL)
			continue;
		if(civic == NULL)
			civic = json_object();
		if(civic == NULL || json_add_field(civic, civic_names[f], rec, f) < 0)
			*fail = 1;
	}
	return civic;
}

/* A JSON number for v: an integer when v is integral (25, not 25.0), so
 * the output reads like the answer it came from. */
static json_t *json_number_of(double v)
{
	if(v > -1e15 && v < 1e15 && v == (double)(long long)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Builds the "geo" object, or NULL when the record has none. */
static json_t *geo_to_json(const e911_record_t *rec, int *fail)
{
	json_t *geo;

	if(!(rec->flags & E911_REC_HAS_GEO))
		return NULL;
	geo = json_object();
	if(geo == NULL
			|| json_object_set_new(geo, "lat", json_number_of(rec->lat)) < 0
			|| json_object_set_new(geo, "lon", json_number_of(rec->lon)) < 0)
		*fail = 1;
	if(geo != NULL && (rec->flags & E911_REC_HAS_RADIUS)
			&& json_object_set_new(
					   geo, "radius_m", json_number_of(rec->radius_m))
					   < 0)
		*fail = 1;
	return geo;
}

/* Precision that prints every real of the record exactly. */
static int record_precision(const e911_record_t *rec)
{
	int p = 1;
	int q;

	if(!(rec->flags & E911_REC_HAS_GEO))
		return p;
	q = real_precision(rec->lat);
	p = q > p ? q : p;
	q = real_precision(rec->lon);
	p = q > p ? q : p;
	if(rec->flags & E911_REC_HAS_RADIUS) {
		q = real_precision(rec->radius_m);
		p = q > p ? q : p;
	}
	return p;
}

char *e911_record_to_json(const e911_record_t *rec)
{
	json_t *root;
	json_t *sub;
	json_t *route;
	int fail = 0;
	char *out = NULL;

	if(rec == NULL)
		return NULL;
	root = json_object();
	if(root == NULL)
		return NULL;
	if(json_add_field(root, "key", rec, E911_F_KEY) < 0
			|| json_add_field(root, "callback", rec, E911_F_CALLBACK) < 0
			|| json_add_field(root, "endpoint_id", rec, E911_F_ENDPOINT_ID) < 0
			|| json_add_field(root, "mobility", rec, E911_F_MOBILITY) < 0)
		fail = 1;
	sub = civic_to_json(rec, &fail);
	if(sub != NULL && json_object_set_new(root, "civic", sub) < 0)
		fail = 1;
	sub = geo_to_json(rec, &fail);
	if(sub != NULL && json_object_set_new(root, "geo", sub) < 0)
		fail = 1;
	if(e911_rec_get(rec, E911_F_ROUTE) != NULL) {
		route = json_object();
		if(json_add_field(route, "uri", rec, E911_F_ROUTE) < 0
				|| json_object_set_new(root, "route", route) < 0)
			fail = 1;
	}
	if((rec->flags & E911_REC_VALIDATED_SET)
			&& json_object_set_new(root, "validated",
					   json_boolean(rec->flags & E911_REC_VALIDATED))
					   < 0)
		fail = 1;
	if(json_add_field(root, "updated_at", rec, E911_F_UPDATED) < 0)
		fail = 1;
	if((rec->flags & (E911_REC_MULTI_FLOOR | E911_REC_MULTI_UNIT))
			&& json_object_set_new(root, "site",
					   json_pack("{s:b,s:b}", "multi_floor",
							   (rec->flags & E911_REC_MULTI_FLOOR) != 0,
							   "multi_unit",
							   (rec->flags & E911_REC_MULTI_UNIT) != 0))
					   < 0)
		fail = 1;
	if(e911_rec_get(rec, E911_F_NETWORKS) != NULL) {
		const char *p = e911_rec_get(rec, E911_F_NETWORKS);
		const char *c;
		json_t *arr = json_array();
		while(arr && p && *p) {
			c = strchr(p, ',');
			json_array_append_new(
					arr, json_stringn(p, c ? (size_t)(c - p) : strlen(p)));
			p = c ? c + 1 : NULL;
		}
		if(arr == NULL || json_object_set_new(root, "networks", arr) < 0)
			fail = 1;
	}
	if(rec->max_age >= 0
			&& json_object_set_new(root, "max_age", json_integer(rec->max_age))
					   < 0)
		fail = 1;
	if(!fail)
		out = json_dumps(
				root, JSON_COMPACT | JSON_PRESERVE_ORDER
							  | JSON_REAL_PRECISION(record_precision(rec)));
	json_decref(root);
	return out;
}

e911_record_t *e911_record_dup(const e911_record_t *rec)
{
	e911_record_t *copy;

	if(rec == NULL || rec->size < offsetof(e911_record_t, pool) + 1
			|| rec->size > E911_REC_MAX_SIZE)
		return NULL;
	copy = malloc(rec->size);
	if(copy == NULL)
		return NULL;
	memcpy(copy, rec, rec->size);
	return copy;
}

/* ---- locations carried by other documents ---- */

e911_record_t *e911_record_from_location(
		const struct json_t *obj, const char *key, char *err, size_t errlen)
{
	rec_builder_t *b = builder_new(err, errlen);
	e911_record_t *rec = NULL;
	json_t *o = (json_t *)obj;

	if(b == NULL)
		return NULL;
	if(!json_is_object(o)) {
		rec_fail(b, "expected an object");
		goto out;
	}
	if(parse_civic(b, json_object_get(o, "civic")) < 0
			|| parse_geo(b, json_object_get(o, "geo")) < 0
			|| parse_route(b, json_object_get(o, "route")) < 0)
		goto out;
	if(!has_location(b)) {
		rec_fail(b, "neither civic nor geo");
		goto out;
	}
	if(key != NULL && set_text(b, E911_F_KEY, "key", key, strlen(key)) < 0)
		goto out;
	rec = builder_finish(b);
	if(rec != NULL && (b->dropped & DROPPED_COUNTRY) && err != NULL
			&& errlen > 0)
		snprintf(err, errlen, "country (not two letters) left out");
out:
	free(b);
	return rec;
}

/* Copies field f of rec into the builder (values are already normal). */
static void builder_take(rec_builder_t *b, const e911_record_t *rec, int f)
{
	const char *v = rec ? e911_rec_get(rec, f) : NULL;
	size_t n;

	if(v == NULL)
		return;
	n = strlen(v);
	if(n > E911_VALUE_MAX)
		return;
	memcpy(b->val[f], v, n + 1);
	b->len[f] = (uint16_t)n;
}

e911_record_t *e911_record_relocate(
		const e911_record_t *who, const e911_record_t *where)
{
	static const int own[] = {
			E911_F_KEY, E911_F_CALLBACK, E911_F_ENDPOINT_ID, E911_F_MOBILITY};
	rec_builder_t *b;
	e911_record_t *rec;
	size_t i;

	if(where == NULL)
		return NULL;
	b = builder_new(NULL, 0);
	if(b == NULL)
		return NULL;
	for(int f = 0; f < E911_CA_COUNT; f++)
		builder_take(b, where, f);
	builder_take(b, where, E911_F_ROUTE);
	if(who == NULL)
		builder_take(b, where, E911_F_KEY);
	for(i = 0; who != NULL && i < sizeof(own) / sizeof(own[0]); i++)
		builder_take(b, who, own[i]);
	b->flags = where->flags & (E911_REC_HAS_GEO | E911_REC_HAS_RADIUS);
	b->flags |= E911_REC_VALIDATED | E911_REC_VALIDATED_SET;
	b->lat = where->lat;
	b->lon = where->lon;
	b->radius_m = where->radius_m;
	rec = NULL;
	if(has_location(b))
		rec = builder_finish(b);
	free(b);
	return rec;
}
