/*
 * e911 module - Geolocation header parsing
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One recursive-descent scanner serves both entry points: it walks the
 * value once, checks it against the RFC 6442 / RFC 3261 grammar, reports
 * each locationValue, and, when stripping, copies the bytes between the
 * loc-src parameters it drops. A dropped parameter spans from the
 * whitespace before its ';' to the end of its value, so what remains is
 * still a valid header value. Error messages give an offset, never the
 * bytes, because location URIs can identify a caller.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include "e911_geoloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Scanner state. */
typedef struct gl_scan
{
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
	/* strip mode: output buffer, bytes written, input copied up to */
	char *out;
	size_t size;
	size_t olen;
	size_t copied;
} gl_scan_t;

static const struct
{
	const char *name;
	int kind;
} schemes[] = {{"cid", E911_GEOLOC_CID}, {"http", E911_GEOLOC_HTTP},
		{"https", E911_GEOLOC_HTTPS}, {"sip", E911_GEOLOC_SIP},
		{"sips", E911_GEOLOC_SIPS}, {"pres", E911_GEOLOC_PRES}};

const char *e911_geoloc_scheme_name(int scheme)
{
	for(size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if(schemes[i].kind == scheme)
			return schemes[i].name;
	}
	return "other";
}

/* Records a reason with the offset it applies to; returns -1. */
static int gl_fail(gl_scan_t *sc, size_t at, const char *why)
{
	if(sc->err != NULL && sc->errlen > 0)
		snprintf(sc->err, sc->errlen, "offset %zu: %s", at, why);
	return -1;
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3261 token character. */
static int is_token(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-.!%*_+`'~", c));
}

/* gen-value without quotes: token or host (IPv6 references included). */
static int is_value(unsigned char c)
{
	return is_token(c) || c == ':' || c == '[' || c == ']';
}

/* Characters a URI may hold: printable ASCII without space, '<', '>' and
 * '"' (RFC 3986). */
static int is_uri(unsigned char c)
{
	return c > 0x20 && c < 0x7F && c != '<' && c != '>' && c != '"';
}

static void skip_ws(gl_scan_t *sc)
{
	while(sc->pos < sc->len
			&& (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t'))
		sc->pos++;
}

/* Strip mode: copies the input up to at, then skips it to resume. Returns
 * 0 or -1 when the output does not fit. */
static int gl_emit(gl_scan_t *sc, size_t at, size_t resume)
{
	size_t n = at - sc->copied;

	if(sc->out == NULL)
		return 0;
	if(sc->olen + n >= sc->size)
		return -1;
	memmove(sc->out + sc->olen, sc->s + sc->copied, n);
	sc->olen += n;
	sc->copied = resume;
	return 0;
}

/* Kind of the scheme of uri[0..n), or -1 when it has none: ALPHA
 * *( ALPHA / DIGIT / "+" / "-" / "." ) ":". */
static int scheme_kind(const char *uri, size_t n)
{
	size_t i = 0;

	if(n == 0 || !is_alpha((unsigned char)uri[0]))
		return -1;
	while(i < n
			&& (is_alpha((unsigned char)uri[i])
					|| is_digit((unsigned char)uri[i]) || uri[i] == '+'
					|| uri[i] == '-' || uri[i] == '.'))
		i++;
	if(i == n || uri[i] != ':')
		return -1;
	for(size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		if(strlen(schemes[k].name) == i
				&& strncasecmp(schemes[k].name, uri, i) == 0)
			return schemes[k].kind;
	}
	return E911_GEOLOC_OTHER;
}

/* quoted-string at sc->pos (on the opening '"'): qdtext and quoted-pair,
 * no control characters. Returns 0 or -1. */
static int scan_quoted(gl_scan_t *sc)
{
	size_t start = sc->pos;

	sc->pos++;
	while(sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->pos];

		if(c == '"') {
			sc->pos++;
			return 0;
		}
		if(c == '\\') {
			if(sc->pos + 1 >= sc->len)
				break;
			sc->pos++;
		}
		sc->pos++;
	}
	return gl_fail(sc, start, "unbalanced quote in parameter");
}

/* One "; name [= value]" parameter; sc->pos is on the ';' and ws_start is
 * where the whitespace before it began. Fills e when it is loc-src.
 * Returns 0 or -1. */
static int scan_param(gl_scan_t *sc, size_t ws_start, e911_geoloc_t *e)
{
	size_t name;
	size_t name_len;
	size_t val = 0;
	size_t val_len = 0;
	size_t save;
	int loc_src;

	sc->pos++;
	skip_ws(sc);
	name = sc->pos;
	while(sc->pos < sc->len && is_token((unsigned char)sc->s[sc->pos]))
		sc->pos++;
	name_len = sc->pos - name;
	if(name_len == 0)
		return gl_fail(sc, name, "missing or invalid parameter name");
	save = sc->pos;
	skip_ws(sc);
	if(sc->pos < sc->len && sc->s[sc->pos] == '=') {
		sc->pos++;
		skip_ws(sc);
		val = sc->pos;
		if(sc->pos < sc->len && sc->s[sc->pos] == '"') {
			if(scan_quoted(sc) < 0)
				return -1;
		} else {
			while(sc->pos < sc->len && is_value((unsigned char)sc->s[sc->pos]))
				sc->pos++;
		}
		val_len = sc->pos - val;
		if(val_len == 0)
			return gl_fail(sc, val, "missing or invalid parameter value");
	} else {
		sc->pos = save;
	}
	loc_src = name_len == 7 && strncasecmp(sc->s + name, "loc-src", 7) == 0;
	if(!loc_src)
		return 0;
	if(!e->has_loc_src) {
		e->has_loc_src = 1;
		e->loc_src_off = val_len > 0 ? val : sc->pos;
		e->loc_src_len = val_len;
	}
	if(gl_emit(sc, ws_start, sc->pos) < 0)
		return gl_fail(sc, ws_start, "output buffer too small");
	return 0;
}

/* One locationValue at sc->pos (after leading whitespace) into e.
 * Returns 0 or -1. */
static int scan_value(gl_scan_t *sc, e911_geoloc_t *e)
{
	size_t ws_start;
	int kind;

	memset(e, 0, sizeof(*e));
	e->off = sc->pos;
	if(sc->pos >= sc->len || sc->s[sc->pos] != '<')
		return gl_fail(sc, sc->pos, "location value does not start with '<'");
	sc->pos++;
	e->uri_off = sc->pos;
	while(sc->pos < sc->len && sc->s[sc->pos] != '>') {
		if(!is_uri((unsigned char)sc->s[sc->pos]))
			return gl_fail(sc, sc->pos, "invalid character in URI");
		if(sc->pos - e->uri_off >= E911_GEOLOC_URI_MAX)
			return gl_fail(sc, e->uri_off, "URI longer than 1024 bytes");
		sc->pos++;
	}
	if(sc->pos >= sc->len)
		return gl_fail(sc, e->uri_off - 1, "missing '>'");
	e->uri_len = sc->pos - e->uri_off;
	if(e->uri_len == 0)
		return gl_fail(sc, e->uri_off, "empty URI");
	kind = scheme_kind(sc->s + e->uri_off, e->uri_len);
	if(kind < 0)
		return gl_fail(sc, e->uri_off, "URI has no scheme");
	e->scheme = kind;
	sc->pos++;
	for(;;) {
		e->len = sc->pos - e->off;
		ws_start = sc->pos;
		skip_ws(sc);
		if(sc->pos >= sc->len || sc->s[sc->pos] != ';')
			break;
		if(scan_param(sc, ws_start, e) < 0)
			return -1;
	}
	return 0;
}

/* Walks the whole value; out (max entries) may be NULL. Returns the number
 * of location values or -1. */
static int scan(gl_scan_t *sc, e911_geoloc_t *out, int max)
{
	e911_geoloc_t e;
	int n = 0;

	if(sc->s == NULL)
		return gl_fail(sc, 0, "no header value");
	if(sc->len > E911_GEOLOC_VALUE_MAX)
		return gl_fail(sc, 0, "header value too long");
	for(size_t i = 0; i < sc->len; i++) {
		unsigned char c = (unsigned char)sc->s[i];

		if(c == '\r' || c == '\n')
			return gl_fail(sc, i, "CR or LF in header value");
		if((c < 0x20 && c != '\t') || c == 0x7F)
			return gl_fail(sc, i, "control character in header value");
	}
	for(;;) {
		skip_ws(sc);
		if(sc->pos >= sc->len)
			return gl_fail(sc, sc->pos,
					n == 0 ? "empty header value" : "empty location value");
		if(scan_value(sc, &e) < 0)
			return -1;
		if(out != NULL) {
			if(n >= max)
				return gl_fail(sc, e.off, "too many location values");
			out[n] = e;
		}
		n++;
		if(sc->pos >= sc->len)
			return n;
		if(sc->s[sc->pos] != ',')
			return gl_fail(
					sc, sc->pos, "unexpected character after location value");
		sc->pos++;
	}
}

int e911_geoloc_parse(const char *val, size_t len, e911_geoloc_t *out, int max,
		char *err, size_t errlen)
{
	gl_scan_t sc;

	memset(&sc, 0, sizeof(sc));
	sc.s = val;
	sc.len = len;
	sc.err = err;
	sc.errlen = errlen;
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	return scan(&sc, out, max);
}

int e911_geoloc_strip_locsrc(
		const char *val, size_t len, char *out, size_t size)
{
	gl_scan_t sc;

	if(out == NULL || size == 0)
		return -1;
	memset(&sc, 0, sizeof(sc));
	sc.s = val;
	sc.len = len;
	sc.out = out;
	sc.size = size;
	if(scan(&sc, NULL, 0) < 0 || gl_emit(&sc, len, len) < 0
			|| sc.olen > (size_t)0x7FFFFFFF)
		return -1;
	out[sc.olen] = '\0';
	return (int)sc.olen;
}

/* --- the by-reference policy --- */

/* The parts of a URI the policy compares (pointers into it). */
typedef struct gl_uri
{
	const char *scheme;
	size_t slen;
	const char *host; /* slen 0 host: none */
	size_t hlen;
	const char *port;
	size_t plen;
	int authority; /* "scheme://host", not "scheme:host" */
} gl_uri_t;

static int is_host(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}

/* host [":" port] in s[0..n), exactly: an IPv6 reference in brackets or
 * letters, digits, dots and dashes; a port of 1..5 digits up to 65535. */
static int split_hostport(const char *s, size_t n, gl_uri_t *u)
{
	size_t i = 0;
	unsigned port = 0;

	if(n == 0)
		return -1;
	if(s[0] == '[') {
		while(i < n && s[i] != ']') {
			if(i > 0 && !is_digit((unsigned char)s[i])
					&& !strchr("abcdefABCDEF:.", s[i]))
				return -1;
			i++;
		}
		if(i >= n || i < 3)
			return -1;
		i++;
	} else {
		while(i < n && is_host((unsigned char)s[i]))
			i++;
		if(i == 0)
			return -1;
	}
	u->host = s;
	u->hlen = i;
	if(i == n)
		return 0;
	if(s[i] != ':' || n - i - 1 < 1 || n - i - 1 > 5)
		return -1;
	for(size_t k = i + 1; k < n; k++) {
		if(!is_digit((unsigned char)s[k]))
			return -1;
		port = port * 10 + (unsigned)(s[k] - '0');
	}
	if(port > 65535)
		return -1;
	u->port = s + i + 1;
	u->plen = n - i - 1;
	return 0;
}

/* Splits uri[0..len) into scheme, host and port. With entry set it is a
 * policy entry: "scheme:" alone is allowed, nothing may follow the host.
 * A URI with userinfo in an http-style authority ("https://a@b/") is
 * refused: who reads it as host a and who as host b differs. */
static int split_uri(const char *uri, size_t len, int entry, gl_uri_t *u)
{
	const char *p;
	const char *end = uri + len;
	const char *at;
	const char *stop;

	memset(u, 0, sizeof(*u));
	if(len == 0 || !is_alpha((unsigned char)uri[0]))
		return -1;
	for(p = uri; p < end && *p != ':'; p++) {
		if(!is_alpha((unsigned char)*p) && !is_digit((unsigned char)*p)
				&& *p != '+' && *p != '-' && *p != '.')
			return -1;
	}
	if(p >= end)
		return -1;
	u->scheme = uri;
	u->slen = (size_t)(p - uri);
	p++;
	if(p == end)
		return entry ? 0 : -1;
	if(end - p >= 2 && p[0] == '/' && p[1] == '/') {
		u->authority = 1;
		p += 2;
		for(stop = p;
				stop < end && *stop != '/' && *stop != '?' && *stop != '#';
				stop++) {
			if(*stop == '@')
				return -1;
		}
		if(entry && stop != end)
			return -1;
		return split_hostport(p, (size_t)(stop - p), u);
	}
	/* sip:, sips:, pres: and the like: [user "@"] hostport [;params] */
	for(stop = p; stop < end && *stop != ';' && *stop != '?' && *stop != '>';
			stop++)
		;
	if(entry && stop != end)
		return -1;
	at = NULL;
	for(const char *q = p; q < stop; q++) {
		if(*q == '@')
			at = q;
	}
	if(at != NULL)
		p = at + 1;
	return split_hostport(p, (size_t)(stop - p), u);
}

/* Calls fn for each entry of the comma-separated policy; stops at the
 * first that returns nonzero and returns that, or -1 for a malformed
 * entry (its offset in *bad), or 0. */
typedef int (*gl_entry_fn)(const gl_uri_t *e, void *arg);

static int each_entry(
		const char *policy, gl_entry_fn fn, void *arg, size_t *bad)
{
	const char *p = policy;
	const char *s;
	const char *e;
	gl_uri_t u;
	int rc;

	while(*p) {
		while(*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if(*p == '\0')
			break;
		s = p;
		while(*p && *p != ',')
			p++;
		e = p;
		while(e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if(split_uri(s, (size_t)(e - s), 1, &u) < 0) {
			if(bad)
				*bad = (size_t)(s - policy);
			return -1;
		}
		rc = fn(&u, arg);
		if(rc != 0)
			return rc;
	}
	return 0;
}

static int count_entry(const gl_uri_t *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

int e911_geoloc_policy_check(const char *policy, char *err, size_t errlen)
{
	size_t bad = 0;
	int n = 0;

	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(policy == NULL)
		return 0;
	if(each_entry(policy, count_entry, &n, &bad) < 0) {
		if(err != NULL && errlen > 0)
			snprintf(err, errlen,
					"entry at offset %zu is not \"scheme:\", "
					"\"scheme://host[:port]\" or \"scheme:host[:port]\"",
					bad);
		return -1;
	}
	return n;
}

static int eq_nocase(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && strncasecmp(a, b, al) == 0;
}

static int match_entry(const gl_uri_t *e, void *arg)
{
	const gl_uri_t *u = arg;

	if(!eq_nocase(e->scheme, e->slen, u->scheme, u->slen))
		return 0;
	if(e->hlen == 0)
		return 1;
	/* "https:lis.example.net" is no https URL of lis.example.net, though
	 * lenient clients may read it as one */
	if(e->authority != u->authority
			|| !eq_nocase(e->host, e->hlen, u->host, u->hlen))
		return 0;
	if(e->plen > 0
			&& (e->plen != u->plen || memcmp(e->port, u->port, e->plen) != 0))
		return 0;
	return 1;
}

int e911_geoloc_allowed(const char *policy, const char *uri, size_t len)
{
	gl_uri_t u;

	if(policy == NULL || uri == NULL || split_uri(uri, len, 0, &u) < 0)
		return 0;
	return each_entry(policy, match_entry, &u, NULL) == 1 ? 1 : 0;
}
