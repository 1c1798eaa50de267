/*
 * e911 module - adding the location part to a SIP message body
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The CRLF before "--boundary" belongs to the delimiter (RFC 2046 5.1.1),
 * so a part's content keeps its own trailing CRLF: an SDP ending in CRLF is
 * followed by "\r\n--boundary". Nothing here rewrites existing bytes.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e911_mime.h"

/* Copies s[0..n) to p; returns the end of the copy. Plans are made for
 * every emergency call, so they are built with this rather than snprintf:
 * every length is known, and a boundary is at most E911_BOUNDARY_MAX bytes,
 * which the buffers (and the assert on ed->ctype) are sized for. */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* put() of a string literal. */
#define PUT_LIT(p, lit) put((p), "" lit, sizeof(lit) - 1)

static const char *skip_ws(const char *p, const char *end)
{
	while(p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* 1 when ctype is multipart/mixed (type and subtype case-insensitive) */
static int is_multipart_mixed(const char *ctype, size_t ctlen)
{
	const char *p = skip_ws(ctype, ctype + ctlen);
	size_t n = (size_t)(ctype + ctlen - p);
	const size_t ml = sizeof("multipart/mixed") - 1;

	if(n < ml || strncasecmp(p, "multipart/mixed", ml) != 0)
		return 0;
	p = skip_ws(p + ml, ctype + ctlen);
	return p == ctype + ctlen || *p == ';';
}

static int bchar_ok(unsigned char c)
{
	/* RFC 2046 bchars, without space (a trailing space is not allowed and
	 * quoted boundaries with spaces are rare enough to refuse) */
	return isalnum(c) || (c != 0 && strchr("'()+_,-./:=?", c) != NULL);
}

static int boundary_raw(const char *ctype, size_t ctlen, char *out, size_t size)
{
	const char *end = ctype + ctlen;
	const char *p = ctype;
	const char *v;
	size_t n = 0;
	int quoted;

	while(p < end) {
		p = memchr(p, ';', (size_t)(end - p));
		if(p == NULL)
			return -1;
		p = skip_ws(p + 1, end);
		if((size_t)(end - p) < 9 || strncasecmp(p, "boundary", 8) != 0)
			continue;
		v = skip_ws(p + 8, end);
		if(v >= end || *v != '=')
			continue;
		v = skip_ws(v + 1, end);
		quoted = (v < end && *v == '"');
		if(quoted)
			v++;
		while(v + n < end && v[n] != '"' && v[n] != ';' && v[n] != ' '
				&& v[n] != '\t')
			n++;
		if(quoted && (v + n >= end || v[n] != '"'))
			return -1;
		if(n == 0 || n > E911_BOUNDARY_MAX || n + 1 > size)
			return -1;
		for(size_t i = 0; i < n; i++) {
			if(!bchar_ok((unsigned char)v[i]))
				return -1;
		}
		memcpy(out, v, n);
		out[n] = '\0';
		return (int)n;
	}
	return -1;
}

int e911_mime_unfold(const char *in, size_t len, char *out, size_t size)
{
	size_t i = 0;
	size_t n = 0;

	while(i < len) {
		if(in[i] == '\r' || in[i] == '\n') {
			/* a line break (CRLF, or a bare LF as Kamailio's parser takes)
			 * is a fold only when white space follows it */
			if(in[i] == '\r')
				i++;
			if(i >= len || in[i] != '\n')
				return -1;
			i++;
			if(i >= len || (in[i] != ' ' && in[i] != '\t'))
				return -1;
			while(i < len && (in[i] == ' ' || in[i] == '\t'))
				i++;
			if(n >= size)
				return -1;
			out[n++] = ' ';
			continue;
		}
		if(n >= size)
			return -1;
		out[n++] = in[i++];
	}
	if(n >= size)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int e911_mime_boundary(const char *ctype, size_t ctlen, char *out, size_t size)
{
	char unfolded[E911_CTYPE_MAX + 1];
	int n;

	if(memchr(ctype, '\r', ctlen) == NULL && memchr(ctype, '\n', ctlen) == NULL)
		return boundary_raw(ctype, ctlen, out, size);
	n = e911_mime_unfold(ctype, ctlen, unfolded, sizeof(unfolded));
	if(n < 0)
		return -1;
	return boundary_raw(unfolded, (size_t)n, out, size);
}

/* Offset of the CRLF that starts the close delimiter "\r\n--B--" of a
 * multipart body (boundary b[0..bl)), or -1 when the body has none. It is
 * the first one (RFC 2046 5.1.1): a boundary never occurs inside a part, so
 * whatever follows the first close delimiter is the epilogue, which MIME
 * parsers ignore, however many "--B--" it holds. */
static long close_delimiter_at(
		const char *body, size_t blen, const char *b, size_t bl)
{
	char delim[E911_BOUNDARY_MAX + 8];
	char *end;
	const char *p;

	if(bl > E911_BOUNDARY_MAX)
		return -1;
	end = PUT_LIT(delim, "\r\n--");
	end = put(end, b, bl);
	end = PUT_LIT(end, "--");
	p = memmem(body, blen, delim, (size_t)(end - delim));
	if(p == NULL)
		return -1;
	return (long)(p - body);
}

/* Length of token when it is 1..60 characters of [0-9A-Za-z], else 0. */
static size_t token_len(const char *token)
{
	size_t n = strlen(token);

	if(n == 0 || n > 60)
		return 0;
	for(size_t i = 0; i < n; i++) {
		if(!isalnum((unsigned char)token[i]))
			return 0;
	}
	return n;
}

/* Builds the parts' text: each part as delimiter (boundary b[0..bl)),
 * headers, CRLF, content; the first delimiter without its leading CRLF when
 * bare (the body starts with it), then close[0..cl) (cl 0 for none).
 * Returns a malloc()ed NUL-terminated blob or NULL. */
static char *parts_blob(const char *b, size_t bl, int bare,
		const e911_mime_part_t *parts, int n, const char *close, size_t cl,
		size_t *len)
{
	size_t total = cl + 1;
	char *out;
	char *p;
	int i;

	for(i = 0; i < n; i++)
		total += bl + 6 + parts[i].hlen + 2 + parts[i].blen;
	out = malloc(total);
	if(out == NULL)
		return NULL;
	p = out;
	for(i = 0; i < n; i++) {
		if(i > 0 || !bare)
			p = PUT_LIT(p, "\r\n");
		p = PUT_LIT(p, "--");
		p = put(p, b, bl);
		p = PUT_LIT(p, "\r\n");
		p = put(p, parts[i].hdrs, parts[i].hlen);
		p = PUT_LIT(p, "\r\n");
		p = put(p, parts[i].body, parts[i].blen);
	}
	p = put(p, close, cl);
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}

_Static_assert(sizeof("multipart/mixed;boundary=") - 1 + E911_BOUNDARY_MAX
					   < sizeof(((e911_mime_edit_t *)0)->ctype),
		"e911_mime_edit_t.ctype holds the new Content-Type");

int e911_mime_add_parts(const char *ctype, size_t ctlen, const char *body,
		size_t blen, const e911_mime_part_t *parts, int nparts,
		const char *token, e911_mime_edit_t *ed, char *err, size_t errlen)
{
	char b[E911_BOUNDARY_MAX + 1];
	char close[E911_BOUNDARY_MAX + 16]; /* "\r\n--B--\r\n" */
	char unfolded[E911_CTYPE_MAX + 1];
	size_t bl;
	size_t tl;
	size_t cl;
	size_t shown;
	char *p;
	int n;
	long at;

	memset(ed, 0, sizeof(*ed));
	if(nparts < 1) {
		snprintf(err, errlen, "no part to add");
		return -1;
	}
	if(ctlen > 0
			&& (memchr(ctype, '\r', ctlen) != NULL
					|| memchr(ctype, '\n', ctlen) != NULL)) {
		/* a folded header value is the same value on one line (RFC 3261
		 * 7.3.1); a line break that is not a fold is refused below */
		n = e911_mime_unfold(ctype, ctlen, unfolded, sizeof(unfolded));
		if(n >= 0) {
			ctype = unfolded;
			ctlen = (size_t)n;
		}
	}
	if(blen > 0 && is_multipart_mixed(ctype, ctlen)
			&& (n = e911_mime_boundary(ctype, ctlen, b, sizeof(b))) > 0) {
		bl = (size_t)n;
		at = close_delimiter_at(body, blen, b, bl);
		if(at >= 0) {
			/* sibling parts, inserted before the closing delimiter */
			ed->suffix =
					parts_blob(b, bl, 0, parts, nparts, "", 0, &ed->suffix_len);
			if(ed->suffix == NULL)
				goto nomem;
			ed->suffix_at = (size_t)at;
			return 0;
		}
		/* no closing delimiter: malformed, so wrap it whole below */
	}

	tl = token_len(token);
	if(tl == 0) {
		snprintf(err, errlen, "invalid boundary token");
		return -1;
	}
	/* "e911-" and at most 60 characters: within E911_BOUNDARY_MAX */
	p = PUT_LIT(b, "e911-");
	p = put(p, token, tl);
	*p = '\0';
	bl = (size_t)(p - b);
	if(blen > 0 && memmem(body, blen, b, bl) != NULL) {
		snprintf(err, errlen, "boundary occurs in the body");
		return -1;
	}
	if(ctlen > 0
			&& (ctlen > E911_CTYPE_MAX || memchr(ctype, '\r', ctlen)
					|| memchr(ctype, '\n', ctlen))) {
		snprintf(err, errlen, "unusable Content-Type of the message body");
		return -1;
	}
	p = PUT_LIT(ed->ctype, "multipart/mixed;boundary=");
	p = put(p, b, bl);
	*p = '\0';
	p = PUT_LIT(close, "\r\n--");
	p = put(p, b, bl);
	p = PUT_LIT(p, "--\r\n");
	cl = (size_t)(p - close);

	if(blen == 0) {
		/* late offer: only our parts */
		ed->suffix_at = 0;
		ed->suffix =
				parts_blob(b, bl, 1, parts, nparts, close, cl, &ed->suffix_len);
		if(ed->suffix == NULL)
			goto nomem;
		return 0;
	}

	if(ctlen == 0) {
		ctype = "application/octet-stream";
		ctlen = strlen(ctype);
	}
	/* the original part's headers: its Content-Type up to a NUL, if it has
	 * one (as "%.*s" printed it); sizeof counts the final NUL */
	shown = strnlen(ctype, ctlen);
	ed->prefix = malloc(bl + shown + sizeof("--\r\nContent-Type: \r\n\r\n"));
	if(ed->prefix == NULL)
		goto nomem;
	p = PUT_LIT(ed->prefix, "--");
	p = put(p, b, bl);
	p = PUT_LIT(p, "\r\nContent-Type: ");
	p = put(p, ctype, shown);
	p = PUT_LIT(p, "\r\n\r\n");
	*p = '\0';
	ed->prefix_len = (size_t)(p - ed->prefix);
	ed->suffix =
			parts_blob(b, bl, 0, parts, nparts, close, cl, &ed->suffix_len);
	if(ed->suffix == NULL)
		goto nomem;
	ed->suffix_at = blen;
	return 0;

nomem:
	e911_mime_edit_free(ed);
	snprintf(err, errlen, "out of memory");
	return -1;
}

int e911_mime_add_part(const char *ctype, size_t ctlen, const char *body,
		size_t blen, const char *part_hdrs, size_t hlen, const char *part,
		size_t plen, const char *token, e911_mime_edit_t *ed, char *err,
		size_t errlen)
{
	e911_mime_part_t p = {part_hdrs, hlen, part, plen};

	return e911_mime_add_parts(
			ctype, ctlen, body, blen, &p, 1, token, ed, err, errlen);
}

void e911_mime_edit_free(e911_mime_edit_t *ed)
{
	free(ed->prefix);
	free(ed->suffix);
	ed->prefix = ed->suffix = NULL;
	ed->prefix_len = ed->suffix_len = 0;
}

char *e911_mime_apply(const char *body, size_t blen, const e911_mime_edit_t *ed,
		size_t *outlen)
{
	size_t n;
	char *out;

	if(ed->suffix_at > blen)
		return NULL;
	n = ed->prefix_len + blen + ed->suffix_len;
	out = malloc(n + 1);
	if(out == NULL)
		return NULL;
	memcpy(out, ed->prefix ? ed->prefix : "", ed->prefix_len);
	memcpy(out + ed->prefix_len, body, ed->suffix_at);
	memcpy(out + ed->prefix_len + ed->suffix_at, ed->suffix ? ed->suffix : "",
			ed->suffix_len);
	memcpy(out + ed->prefix_len + ed->suffix_at + ed->suffix_len,
			body + ed->suffix_at, blen - ed->suffix_at);
	out[n] = '\0';
	*outlen = n;
	return out;
}
