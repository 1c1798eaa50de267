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

/* A bounded output buffer: buf[pos] is always '\0' while size > 0. */
typedef struct out
{
	char *buf;
	size_t size;
	size_t pos;
	int failed; /* something did not fit; nothing more is written */
} out_t;

/* Appends s[0..n) or marks the writer failed. */
static inline void out_raw(out_t *o, const char *s, size_t n)
{
	if(o->failed)
		return;
	if(o->pos + n >= o->size) {
		o->failed = 1;
		return;
	}
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

/* Appends a string literal, its length known at compile time: rendering
 * runs for every emergency call and most of the document is markup. (The
 * "" makes anything but a literal a compile error.) */
#define OUT_LIT(o, lit) out_raw((o), "" lit, sizeof(lit) - 1)

/* Appends a, s[0..n) and b as one piece (a tag around a name): one bounds
 * check instead of three. */
static inline void out_wrap(out_t *o, const char *a, size_t al, const char *s,
		size_t n, const char *b, size_t bl)
{
	if(o->failed)
		return;
	if(o->pos + al + n + bl >= o->size) {
		o->failed = 1;
		return;
	}
	memcpy(o->buf + o->pos, a, al);
	memcpy(o->buf + o->pos + al, s, n);
	memcpy(o->buf + o->pos + al + n, b, bl);
	o->pos += al + n + bl;
	o->buf[o->pos] = '\0';
}

/* out_wrap() with string literals around s[0..n). */
#define OUT_WRAP(o, lit_a, s, n, lit_b)                            \
	out_wrap((o), "" lit_a, sizeof(lit_a) - 1, (s), (n), "" lit_b, \
			sizeof(lit_b) - 1)

/* What e911_xml_escape() does with a byte: XE_COPY keeps it as it is,
 * XE_DROP removes it (C0 controls other than TAB, LF and CR, and DEL,
 * cannot appear in XML 1.0 at all), the others name its replacement in
 * xml_rep. */
enum xml_esc_class
{
	XE_COPY = 0,
	XE_DROP,
	XE_AMP,
	XE_LT,
	XE_GT,
	XE_QUOT,
	XE_APOS,
	XE_TAB,
	XE_LF,
	XE_CR
};

/* The class of every byte (GNU range designators); every byte not listed,
 * UTF-8 sequences included, is XE_COPY. */
static const unsigned char xml_esc_class[256] = {
		[0x00 ... 0x08] = XE_DROP,
		['\t'] = XE_TAB,
		['\n'] = XE_LF,
		[0x0B ... 0x0C] = XE_DROP,
		['\r'] = XE_CR,
		[0x0E ... 0x1F] = XE_DROP,
		['"'] = XE_QUOT,
		['&'] = XE_AMP,
		['\''] = XE_APOS,
		['<'] = XE_LT,
		['>'] = XE_GT,
		[0x7F] = XE_DROP,
};

/* The replacement of each class but XE_COPY. */
#define XML_REP(lit)         \
	{                        \
		lit, sizeof(lit) - 1 \
	}
static const struct xml_rep
{
	const char *s;
	size_t len;
} xml_rep[] = {
		[XE_DROP] = XML_REP(""),
		[XE_AMP] = XML_REP("&amp;"),
		[XE_LT] = XML_REP("&lt;"),
		[XE_GT] = XML_REP("&gt;"),
		[XE_QUOT] = XML_REP("&quot;"),
		[XE_APOS] = XML_REP("&apos;"),
		[XE_TAB] = XML_REP("&#9;"),
		[XE_LF] = XML_REP("&#10;"),
		[XE_CR] = XML_REP("&#13;"),
};
#undef XML_REP

int e911_xml_escape(
		char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t p;
	size_t i = 0;

	if(buf == NULL || pos == NULL || *pos >= size || (s == NULL && len > 0))
		return -1;
	p = *pos;
	while(i < len) {
		size_t run = i;
		const struct xml_rep *r;

		/* a run of bytes that are kept as they are, copied in one go */
		while(run < len && xml_esc_class[u[run]] == XE_COPY)
			run++;
		if(run > i) {
			if(p + (run - i) >= size)
				goto full;
			memcpy(buf + p, s + i, run - i);
			p += run - i;
			i = run;
			continue;
		}
		/* s[i] is replaced or dropped */
		r = &xml_rep[xml_esc_class[u[i]]];
		if(p + r->len >= size)
			goto full;
		memcpy(buf + p, r->s, r->len);
		p += r->len;
		i++;
	}
	buf[p] = '\0';
	*pos = p;
	return 0;

full:
	/* what was there before *pos stays, NUL-terminated */
	buf[*pos] = '\0';
	return -1;
}

/* Appends the NUL-terminated s XML-escaped, byte for byte as
 * e911_xml_escape() does, without measuring s first: the terminating NUL
 * (class XE_DROP) ends the last run of kept bytes. */
static void out_esc(out_t *o, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for(;;) {
		const unsigned char *run = u;
		const struct xml_rep *r;

		while(xml_esc_class[*run] == XE_COPY)
			run++;
		out_raw(o, (const char *)u, (size_t)(run - u));
		if(*run == '\0')
			return;
		r = &xml_rep[xml_esc_class[*run]];
		out_raw(o, r->s, r->len);
		u = run + 1;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;
	int64_t doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day count since 1970-01-01 (civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era;
	int64_t doe;
	int64_t yoe;
	int64_t doy;
	int64_t mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {
			31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Writes v as exactly width decimal digits (zero-padded) at p. */
static void put_digits(char *p, unsigned long long v, int width)
{
	while(width > 0) {
		p[--width] = (char)('0' + v % 10);
		v /= 10;
	}
}

int e911_time_format(int64_t t, char *buf, size_t size)
{
	int64_t days;
	int64_t secs;
	int64_t y;
	int m;
	int d;

	if(buf == NULL || size < 21)
		return -1;
	/* 0001-01-01 .. 9999-12-31: four year digits; xs:dateTime has no 0000 */
	if(t < -62135596800LL || t > 253402300799LL)
		return -1;
	days = t / 86400;
	secs = t % 86400;
	if(secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* by hand: this runs for every emergency call (printf is most of the
	 * cost of rendering otherwise) */
	put_digits(buf, (unsigned long long)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, (unsigned long long)m, 2);
	buf[7] = '-';
	put_digits(buf + 8, (unsigned long long)d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (unsigned long long)(secs / 3600), 2);
	buf[13] = ':';
	put_digits(buf + 14, (unsigned long long)(secs / 60 % 60), 2);
	buf[16] = ':';
	put_digits(buf + 17, (unsigned long long)(secs % 60), 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return 20;
}

/* Reads exactly n decimal digits at s; returns the value or -1. */
static int digits_at(const char *s, int n)
{
	int v = 0;

	for(int i = 0; i < n; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses the time zone at s[0..n): "Z" or "+HH:MM"/"-HH:MM" into seconds
 * east of UTC. Returns 0 or -1. */
static int parse_offset(const char *s, size_t n, int *off)
{
	int h;
	int mi;

	if(n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return 0;
	}
	if(n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return -1;
	h = digits_at(s + 1, 2);
	mi = digits_at(s + 4, 2);
	if(h < 0 || h > 23 || mi < 0 || mi > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600 + mi * 60);
	return 0;
}

int e911_time_parse(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h, mi, sec, off;
	size_t i = 19;

	/* full-date "T" partial-time: YYYY-MM-DDTHH:MM:SS */
	if(s == NULL || out == NULL || len < 20 || s[4] != '-' || s[7] != '-'
			|| (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits_at(s, 4);
	mo = digits_at(s + 5, 2);
	d = digits_at(s + 8, 2);
	h = digits_at(s + 11, 2);
	mi = digits_at(s + 14, 2);
	sec = digits_at(s + 17, 2);
	if(y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0
			|| h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	/* time-secfrac: "." 1*DIGIT, not kept */
	if(s[i] == '.') {
		i++;
		if(i >= len || s[i] < '0' || s[i] > '9')
			return -1;
		while(i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if(parse_offset(s + i, len - i, &off) < 0)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return 0;
}

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
		put_digits(buf + n, (unsigned long long)(u % 1000000), 6);
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
static void out_entity_user(out_t *o, const char *user)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *kept = user; /* start of the run of kept characters */
	const char *p;

	for(p = user; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

		if(entity_char_ok(c))
			continue;
		out_raw(o, kept, (size_t)(p - kept));
		out_raw(o, enc, 3);
		kept = p + 1;
	}
	out_raw(o, kept, (size_t)(p - kept));
}

/* Writes the <presence> start tag with the namespaces the document uses. */
static void out_presence(
		out_t *o, const e911_record_t *rec, const e911_pidf_opts_t *opts)
{
	const char *user = e911_rec_get(rec, E911_F_CALLBACK);

	if(user == NULL)
		user = e911_rec_get(rec, E911_F_KEY);
	if(user == NULL)
		user = "unknown";
	OUT_LIT(o, "<presence xmlns=\"" NS_PIDF "\"\n"
			   "          xmlns:gp=\"" NS_GP "\"\n"
			   "          xmlns:gbp=\"" NS_GBP "\"\n"
			   "          xmlns:ca=\"" NS_CA "\"\n");
	if(has_ext(rec))
		OUT_LIT(o, "          xmlns:cae=\"" NS_CAE "\"\n");
	OUT_LIT(o, "          xmlns:gml=\"" NS_GML "\"\n"
			   "          xmlns:gs=\"" NS_GS "\"\n"
			   "          entity=\"pres:");
	out_entity_user(o, user);
	OUT_LIT(o, "@");
	out_esc(o, opts->domain);
	OUT_LIT(o, "\">\n");
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
static void out_civic(out_t *o, const e911_record_t *rec)
{
	OUT_LIT(o, "          <ca:civicAddress>\n");
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
			OUT_WRAP(o, "            <cae:", name, nl, ">");
		else
			OUT_WRAP(o, "            <ca:", name, nl, ">");
		out_esc(o, v);
		if(ext)
			OUT_WRAP(o, "</cae:", name, nl, ">\n");
		else
			OUT_WRAP(o, "</ca:", name, nl, ">\n");
	}
	OUT_LIT(o, "          </ca:civicAddress>\n");
}

/* Writes the geodetic shape: gs:Circle with a radius, else gml:Point. */
static void out_geo(out_t *o, const e911_record_t *rec)
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
		OUT_LIT(o, "          <gs:Circle srsName=\"" SRS_4326 "\">\n");
	else
		OUT_LIT(o, "          <gml:Point srsName=\"" SRS_4326 "\">\n");
	OUT_LIT(o, "            <gml:pos>");
	out_raw(o, lat, (size_t)latlen);
	OUT_LIT(o, " ");
	out_raw(o, lon, (size_t)lonlen);
	OUT_LIT(o, "</gml:pos>\n");
	if(circle) {
		OUT_LIT(o, "            <gs:radius uom=\"" UOM_METRE "\">");
		out_raw(o, radius, (size_t)rlen);
		OUT_LIT(o, "</gs:radius>\n"
				   "          </gs:Circle>\n");
	} else {
		OUT_LIT(o, "          </gml:Point>\n");
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
static void out_tuple(out_t *o, const e911_record_t *rec, int civic,
		const stamp_t *ts, const stamp_t *expiry)
{
	if(civic)
		OUT_LIT(o, "  <tuple id=\"civic\">\n");
	else
		OUT_LIT(o, "  <tuple id=\"geo\">\n");
	OUT_LIT(o, "    <status>\n"
			   "      <gp:geopriv>\n"
			   "        <gp:location-info>\n");
	if(civic)
		out_civic(o, rec);
	else
		out_geo(o, rec);
	OUT_LIT(o, "        </gp:location-info>\n"
			   "        <gp:usage-rules>\n"
			   "          <gbp:retransmission-allowed>true"
			   "</gbp:retransmission-allowed>\n"
			   "          <gbp:retention-expiry>");
	out_raw(o, expiry->s, expiry->len);
	OUT_LIT(o, "</gbp:retention-expiry>\n"
			   "        </gp:usage-rules>\n"
			   "        <gp:method>Manual</gp:method>\n"
			   "      </gp:geopriv>\n"
			   "    </status>\n"
			   "    <timestamp>");
	out_raw(o, ts->s, ts->len);
	OUT_LIT(o, "</timestamp>\n"
			   "  </tuple>\n");
}

e911_pidf_opts_t e911_pidf_options(const char *domain, time_t now)
{
	e911_pidf_opts_t o;

	o.domain = domain;
	o.now = now;
	o.retention_s = E911_PIDF_RETENTION_S;
	return o;
}

int e911_pidf_render(const e911_record_t *rec, const e911_pidf_opts_t *opts,
		char *buf, size_t size)
{
	out_t o = {buf, size, 0, 0};
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
	OUT_LIT(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	out_presence(&o, rec, opts);
	if(civic)
		out_tuple(&o, rec, 1, &ts, &expiry);
	if(geo)
		out_tuple(&o, rec, 0, &ts, &expiry);
	OUT_LIT(&o, "</presence>\n");
	if(o.failed || o.pos > (size_t)INT32_MAX) {
		buf[0] = '\0';
		return -1;
	}
	return (int)o.pos;
}

/* The address line: comma-separated parts of space-separated words,
 * truncated to the buffer on a UTF-8 character boundary. */
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
