/*
 * e911 module - PIDF-LO and dispatchable address rendering
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Writes a location record out for machines (a PIDF-LO document, RFC 4119 /
 * RFC 5491 tuple form) and for people (one address line), plus the small
 * RFC 3339 and XML-escaping helpers both need.
 *
 * All output goes through a bounded writer that keeps room for the final
 * NUL and, once something does not fit, stops writing and remembers the
 * failure, so the rendering code reads top to bottom like the document it
 * produces. Nothing here allocates, reads the clock or depends on the
 * locale: numbers are printed from integers (micro-degrees), times from a
 * proleptic Gregorian day count.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#include "e911_pidf.h"
#include "e911_time.h"
#include "e911_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_GP "urn:ietf:params:xml:ns:pidf:geopriv10"
#define NS_GBP "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy"
#define NS_CA "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
#define NS_CAE "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext"
#define NS_GML "http://www.opengis.net/gml"
#define NS_GS "http://www.opengis.net/pidflo/1.0"
#define SRS_4326 "urn:ogc:def:crs:EPSG::4326"
#define UOM_METRE "urn:ogc:def:uom:EPSG::9001"

/* Longest accepted retention (100 years); keeps the sum in range. */
#define PIDF_RETENTION_MAX (100LL * 366 * 86400)
/* Largest magnitude printed by fmt_micro (keeps value * 1e6 in int64). */
#define PIDF_NUM_MAX 1e12

/* Prints v with six decimals from its rounded micro-units, so the text does
 * not depend on LC_NUMERIC; trim drops trailing zeros (and a bare '.').
 * Returns the length or -1. */
static int fmt_micro(double v, int trim, char *buf, size_t size)
{
	long long u;
	int neg;
	int n;

	if(!isfinite(v) || v > PIDF_NUM_MAX || v < -PIDF_NUM_MAX)
		return -1;
	u = (long long)(v * 1e6 + (v < 0 ? -0.5 : 0.5));
	neg = u < 0;
	if(neg)
		u = -u;
	{
		char ip[24];
		unsigned long long whole = (unsigned long long)(u / 1000000);
		int il = 0;

		do {
			ip[il++] = (char)('0' + whole % 10);
			whole /= 10;
		} while(whole > 0);
		if((size_t)(neg + il + 8) > size)
			return -1;
		n = 0;
		if(neg)
			buf[n++] = '-';
		while(il > 0)
			buf[n++] = ip[--il];
		buf[n++] = '.';
		e911_put_digits(buf + n, (unsigned long long)(u % 1000000), 6);
		n += 6;
		buf[n] = '\0';
	}
	while(trim && buf[n - 1] == '0')
		buf[--n] = '\0';
	if(trim && buf[n - 1] == '.')
		buf[--n] = '\0';
	return n;
}

/* Whether the record has at least one civic field. */
static int has_civic(const e911_record_t *rec)
{
	for(int f = 0; f < E911_CA_COUNT; f++) {
		if(e911_rec_get(rec, f) != NULL)
			return 1;
	}
	return 0;
}

/* Whether the record has an RFC 6848 civicAddr:ext field. */
static int has_ext(const e911_record_t *rec)
{
	for(int f = E911_CA_STP; f < E911_CA_COUNT; f++) {
		if(e911_rec_get(rec, f) != NULL)
			return 1;
	}
	return 0;
}

/* Whether domain is a plain host name or an IP literal. */
static int domain_ok(const char *domain)
{
	size_t n;

	if(domain == NULL)
		return 0;
	n = strlen(domain);
	if(n == 0 || n > 253)
		return 0;
	for(size_t i = 0; i < n; i++) {
		char c = domain[i];

		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':'
				   || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

/* Whether c is kept as it is in the entity's user part: atext characters
 * that need neither URI nor XML escaping. */
static int entity_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9') || (c != 0 && strchr("+-._~!$*=", c));
}

/* Appends the entity's user part: the characters entity_char_ok() keeps,
 * every other byte percent-encoded. */
static void out_entity_user(e911_buf_t *o, const char *user)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *kept = user; /* start of the run of kept characters */
	const char *p;

	for(p = user; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

		if(entity_char_ok(c))
			continue;
		e911_buf_add(o, kept, (size_t)(p - kept));
		e911_buf_add(o, enc, 3);
		kept = p + 1;
	}
	e911_buf_add(o, kept, (size_t)(p - kept));
}

/* Writes the <presence> start tag with the namespaces the document uses. */
static void out_presence(
		e911_buf_t *o, const e911_record_t *rec, const e911_pidf_opts_t *opts)
{
	const char *user = e911_rec_get(rec, E911_F_CALLBACK);

	if(user == NULL)
		user = e911_rec_get(rec, E911_F_KEY);
	if(user == NULL)
		user = "unknown";
	E911_BUF_LIT(o, "<presence xmlns=\"" NS_PIDF "\"\n"
					"          xmlns:gp=\"" NS_GP "\"\n"
					"          xmlns:gbp=\"" NS_GBP "\"\n"
					"          xmlns:ca=\"" NS_CA "\"\n");
	if(has_ext(rec))
		E911_BUF_LIT(o, "          xmlns:cae=\"" NS_CAE "\"\n");
	E911_BUF_LIT(o, "          xmlns:gml=\"" NS_GML "\"\n"
					"          xmlns:gs=\"" NS_GS "\"\n"
					"          entity=\"pres:");
	out_entity_user(o, user);
	E911_BUF_LIT(o, "@");
	e911_buf_xml(o, opts->domain);
	E911_BUF_LIT(o, "\">\n");
}

/* Length of e911_civic_name(f), measured on first use rather than on every
 * call. The names never change, so each entry is only ever set to the same
 * value; the atomic accesses keep concurrent renderers well-defined. */
static size_t civic_name_len(int f)
{
	static unsigned char len[E911_CA_COUNT]; /* 0: not measured yet */
	unsigned char n = __atomic_load_n(&len[f], __ATOMIC_RELAXED);

	if(n == 0) {
		n = (unsigned char)strlen(e911_civic_name(f));
		__atomic_store_n(&len[f], n, __ATOMIC_RELAXED);
	}
	return n;
}

/* Writes <ca:civicAddress> with the fields in schema order, the RFC 6848
 * ones as cae: elements after the base ones, one indented line each:
 * "<ca:NAME>escaped value</ca:NAME>". */
static void out_civic(e911_buf_t *o, const e911_record_t *rec)
{
	E911_BUF_LIT(o, "          <ca:civicAddress>\n");
	for(int f = 0; f < E911_CA_COUNT; f++) {
		const char *v = e911_rec_get(rec, f);
		const char *name;
		size_t nl;
		int ext = f >= E911_CA_STP;

		if(v == NULL)
			continue;
		name = e911_civic_name(f);
		nl = civic_name_len(f);
		if(ext)
			E911_BUF_WRAP(o, "            <cae:", name, nl, ">");
		else
			E911_BUF_WRAP(o, "            <ca:", name, nl, ">");
		e911_buf_xml(o, v);
		if(ext)
			E911_BUF_WRAP(o, "</cae:", name, nl, ">\n");
		else
			E911_BUF_WRAP(o, "</ca:", name, nl, ">\n");
	}
	E911_BUF_LIT(o, "          </ca:civicAddress>\n");
}

/* Writes the geodetic shape: gs:Circle with a radius, else gml:Point. */
static void out_geo(e911_buf_t *o, const e911_record_t *rec)
{
	char lat[32];
	char lon[32];
	char radius[32];
	int latlen;
	int lonlen;
	int rlen = 0;
	int circle = (rec->flags & E911_REC_HAS_RADIUS) != 0;

	latlen = fmt_micro(rec->lat, 0, lat, sizeof(lat));
	lonlen = fmt_micro(rec->lon, 0, lon, sizeof(lon));
	if(circle)
		rlen = fmt_micro(rec->radius_m, 1, radius, sizeof(radius));
	if(latlen < 0 || lonlen < 0 || rlen < 0) {
		o->failed = 1;
		return;
	}
	if(circle)
		E911_BUF_LIT(o, "          <gs:Circle srsName=\"" SRS_4326 "\">\n");
	else
		E911_BUF_LIT(o, "          <gml:Point srsName=\"" SRS_4326 "\">\n");
	E911_BUF_LIT(o, "            <gml:pos>");
	e911_buf_add(o, lat, (size_t)latlen);
	E911_BUF_LIT(o, " ");
	e911_buf_add(o, lon, (size_t)lonlen);
	E911_BUF_LIT(o, "</gml:pos>\n");
	if(circle) {
		E911_BUF_LIT(o, "            <gs:radius uom=\"" UOM_METRE "\">");
		e911_buf_add(o, radius, (size_t)rlen);
		E911_BUF_LIT(o, "</gs:radius>\n"
						"          </gs:Circle>\n");
	} else {
		E911_BUF_LIT(o, "          </gml:Point>\n");
	}
}

/* An RFC 3339 time as written in the document (e911_time_format()): only
 * digits and "-:TZ", so it is written without escaping. */
typedef struct stamp
{
	char s[32];
	size_t len;
} stamp_t;

/* Writes one tuple: id, one geopriv holding the civic or geodetic
 * location, usage rules, method, and the timestamp. */
/* The method token to write: opts->method when it is a plain token of at
 * most 32 characters (A-Z a-z 0-9 . _ -); without one, how the record was
 * placed (Wiremap, 802.11) or "Manual"; "Manual" for a bad one. */
static const char *method_token(const e911_record_t *rec, const char *m)
{
	size_t n;

	if(m == NULL && (rec->flags & E911_REC_AT_SITE_BSSID))
		return "802.11";
	if(m == NULL && (rec->flags & E911_REC_AT_SITE))
		return "Wiremap";
	if(m == NULL)
		return "Manual";
	n = strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01234567"
				  "89._-");
	if(n == 0 || n > 32 || m[n] != '\0')
		return "Manual";
	return m;
}

static void e911_buf_tuple(e911_buf_t *o, const e911_record_t *rec, int civic,
		const stamp_t *ts, const stamp_t *expiry, const char *method)
{
	if(civic)
		E911_BUF_LIT(o, "  <tuple id=\"civic\">\n");
	else
		E911_BUF_LIT(o, "  <tuple id=\"geo\">\n");
	E911_BUF_LIT(o, "    <status>\n"
					"      <gp:geopriv>\n"
					"        <gp:location-info>\n");
	if(civic)
		out_civic(o, rec);
	else
		out_geo(o, rec);
	E911_BUF_LIT(o, "        </gp:location-info>\n"
					"        <gp:usage-rules>\n"
					"          <gbp:retransmission-allowed>true"
					"</gbp:retransmission-allowed>\n"
					"          <gbp:retention-expiry>");
	e911_buf_add(o, expiry->s, expiry->len);
	E911_BUF_LIT(o, "</gbp:retention-expiry>\n"
					"        </gp:usage-rules>\n"
					"        <gp:method>");
	e911_buf_add(o, method, strlen(method));
	E911_BUF_LIT(o, "</gp:method>\n"
					"      </gp:geopriv>\n"
					"    </status>\n"
					"    <timestamp>");
	e911_buf_add(o, ts->s, ts->len);
	E911_BUF_LIT(o, "</timestamp>\n"
					"  </tuple>\n");
}

e911_pidf_opts_t e911_pidf_options(const char *domain, time_t now)
{
	e911_pidf_opts_t o;

	o.domain = domain;
	o.now = now;
	o.retention_s = E911_PIDF_RETENTION_S;
	o.method = NULL;
	return o;
}

int e911_pidf_render(const e911_record_t *rec, const e911_pidf_opts_t *opts,
		char *buf, size_t size)
{
	e911_buf_t o = {buf, size, 0, 0};
	stamp_t ts;
	stamp_t expiry;
	int64_t t;
	int64_t retention;
	int64_t expires;
	int tl;
	int el;
	int civic;
	int geo;

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if(rec == NULL || opts == NULL || !domain_ok(opts->domain))
		return -1;
	civic = has_civic(rec);
	geo = (rec->flags & E911_REC_HAS_GEO) != 0;
	if(!civic && !geo)
		return -1;
	t = rec->updated_at != 0 ? rec->updated_at : (int64_t)opts->now;
	retention = opts->retention_s > 0 ? opts->retention_s : 0;
	if(retention > PIDF_RETENTION_MAX)
		return -1;
	/* retention runs from when the location is conveyed, not from when the
	 * record was last updated (an old record must not arrive expired) */
	expires = ((int64_t)opts->now > t ? (int64_t)opts->now : t) + retention;
	tl = e911_time_format(t, ts.s, sizeof(ts.s));
	el = e911_time_format(expires, expiry.s, sizeof(expiry.s));
	if(tl < 0 || el < 0)
		return -1;
	ts.len = (size_t)tl;
	expiry.len = (size_t)el;
	E911_BUF_LIT(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	out_presence(&o, rec, opts);
	if(civic)
		e911_buf_tuple(
				&o, rec, 1, &ts, &expiry, method_token(rec, opts->method));
	if(geo)
		e911_buf_tuple(
				&o, rec, 0, &ts, &expiry, method_token(rec, opts->method));
	E911_BUF_LIT(&o, "</presence>\n");
	if(o.failed || o.pos > (size_t)INT32_MAX) {
		buf[0] = '\0';
		return -1;
	}
	return (int)o.pos;
}

/* The address line: comma-separated parts of space-separated words,
 * truncated to the buffer on a UTF-8 character boundary. (Not the bounded
 * writer of e911_text.h on purpose: a document or a header that does not fit
 * must fail whole, a line for people and logs is better cut than absent.) */
typedef struct line
{
	char *buf;
	size_t size;
	size_t pos;
	int full;  /* truncated; nothing more is written */
	int parts; /* parts finished so far */
	int words; /* words in the current part */
} line_t;

/* Appends s, or as much of it as fits without splitting a character. */
static void line_raw(line_t *l, const char *s)
{
	size_t n = strlen(s);
	size_t room = l->size - 1 - l->pos;

	if(l->full)
		return;
	if(n > room) {
		n = room;
		while(n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		l->full = 1;
	}
	memcpy(l->buf + l->pos, s, n);
	l->pos += n;
	l->buf[l->pos] = '\0';
}

/* Adds prefix + v as the next word of the current part; NULL v adds
 * nothing. */
static void line_word(line_t *l, const char *prefix, const char *v)
{
	if(v == NULL)
		return;
	if(l->words > 0)
		line_raw(l, " ");
	else if(l->parts > 0)
		line_raw(l, ", ");
	line_raw(l, prefix);
	line_raw(l, v);
	l->words++;
}

/* Closes the current part. */
static void line_end(line_t *l)
{
	if(l->words > 0)
		l->parts++;
	l->words = 0;
}

/* Adds a part made of one field with an optional prefix. */
static void line_part(
		line_t *l, const e911_record_t *rec, const char *prefix, int field)
{
	line_word(l, prefix, e911_rec_get(rec, field));
	line_end(l);
}

/* Writes "lat,lon" and the radius for a record without a civic part. */
static void line_geo(line_t *l, const e911_record_t *rec)
{
	char lat[32];
	char lon[32];
	char radius[32];

	if(fmt_micro(rec->lat, 0, lat, sizeof(lat)) < 0
			|| fmt_micro(rec->lon, 0, lon, sizeof(lon)) < 0)
		return;
	line_raw(l, lat);
	line_raw(l, ",");
	line_raw(l, lon);
	if((rec->flags & E911_REC_HAS_RADIUS)
			&& fmt_micro(rec->radius_m, 1, radius, sizeof(radius)) >= 0) {
		line_raw(l, " (+/-");
		line_raw(l, radius);
		line_raw(l, " m)");
	}
}

int e911_address_line(const e911_record_t *rec, char *buf, size_t size)
{
	static const int street[] = {E911_CA_HNP, E911_CA_HNO, E911_CA_HNS,
			E911_CA_PRM, E911_CA_PRD, E911_CA_STP, E911_CA_RD, E911_CA_STS,
			E911_CA_POD, E911_CA_POM};
	line_t l = {buf, size, 0, 0, 0, 0};

	if(buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if(rec == NULL)
		return 0;
	if(!has_civic(rec)) {
		if(rec->flags & E911_REC_HAS_GEO)
			line_geo(&l, rec);
		return (int)l.pos;
	}
	for(size_t i = 0; i < sizeof(street) / sizeof(street[0]); i++)
		line_word(&l, "", e911_rec_get(rec, street[i]));
	line_end(&l);
	line_part(&l, rec, "", E911_CA_BLD);
	line_part(&l, rec, "Floor ", E911_CA_FLR);
	line_part(&l, rec, "", E911_CA_UNIT);
	line_part(&l, rec, "Room ", E911_CA_ROOM);
	line_part(&l, rec, "", E911_CA_SEAT);
	line_part(&l, rec, "", E911_CA_LOC);
	line_part(&l, rec, "", E911_CA_A3);
	line_word(&l, "", e911_rec_get(rec, E911_CA_A1));
	line_word(&l, "", e911_rec_get(rec, E911_CA_PC));
	line_end(&l);
	line_part(&l, rec, "", E911_CA_COUNTRY);
	return (int)l.pos;
}
