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

int e911_mime_boundary(const char *ctype, size_t ctlen, char *out, size_t size)
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

static void *memmem_last(
		const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *p;
	const char *last = NULL;
	size_t off = 0;

	while(off + nlen <= hlen) {
		p = memmem(hay + off, hlen - off, needle, nlen);
		if(p == NULL)
			break;
		last = p;
		off = (size_t)(p - hay) + 1;
	}
	return (void *)last;
}

/* Offset of the CRLF that starts the closing delimiter "\r\n--B--" of a
 * multipart body, or -1 when the body has none. */
static long close_delimiter_at(const char *body, size_t blen, const char *b)
{
	char delim[E911_BOUNDARY_MAX + 8];
	int n;
	const char *p;

	n = snprintf(delim, sizeof(delim), "\r\n--%s--", b);
	if(n < 0 || (size_t)n >= sizeof(delim))
		return -1;
	p = memmem_last(body, blen, delim, (size_t)n);
	if(p == NULL)
		return -1;
	return (long)(p - body);
}

static char *concat(size_t *len, const char *a, size_t alen, const char *b,
		size_t blen, const char *c, size_t clen, const char *d, size_t dlen)
{
	char *s = malloc(alen + blen + clen + dlen + 1);

	if(s == NULL)
		return NULL;
	memcpy(s, a, alen);
	memcpy(s + alen, b, blen);
	memcpy(s + alen + blen, c, clen);
	memcpy(s + alen + blen + clen, d, dlen);
	*len = alen + blen + clen + dlen;
	s[*len] = '\0';
	return s;
}

static int token_ok(const char *token)
{
	size_t n = strlen(token);

	if(n == 0 || n > 60)
		return 0;
	for(size_t i = 0; i < n; i++) {
		if(!isalnum((unsigned char)token[i]))
			return 0;
	}
	return 1;
}

/* Builds the parts' text: each part as delimiter, headers, CRLF, content;
 * the first delimiter without its leading CRLF when bare (the body starts
 * with it), then close ("" for none). Returns a malloc()ed blob or NULL. */
static char *parts_blob(const char *b, int bare, const e911_mime_part_t *parts,
		int n, const char *close, size_t *len)
{
	size_t blen = strlen(b);
	size_t total = strlen(close) + 1;
	size_t pos = 0;
	char *out;
	int i;

	for(i = 0; i < n; i++)
		total += blen + 6 + parts[i].hlen + 2 + parts[i].blen;
	out = malloc(total);
	if(out == NULL)
		return NULL;
	for(i = 0; i < n; i++) {
		if(i > 0 || !bare) {
			memcpy(out + pos, "\r\n", 2);
			pos += 2;
		}
		memcpy(out + pos, "--", 2);
		memcpy(out + pos + 2, b, blen);
		memcpy(out + pos + 2 + blen, "\r\n", 2);
		pos += blen + 4;
		memcpy(out + pos, parts[i].hdrs, parts[i].hlen);
		pos += parts[i].hlen;
		memcpy(out + pos, "\r\n", 2);
		pos += 2;
		memcpy(out + pos, parts[i].body, parts[i].blen);
		pos += parts[i].blen;
	}
	memcpy(out + pos, close, strlen(close) + 1);
	pos += strlen(close);
	*len = pos;
	return out;
}

int e911_mime_add_parts(const char *ctype, size_t ctlen, const char *body,
		size_t blen, const e911_mime_part_t *parts, int nparts,
		const char *token, e911_mime_edit_t *ed, char *err, size_t errlen)
{
	char b[E911_BOUNDARY_MAX + 1];
	char close[E911_BOUNDARY_MAX + 16]; /* "\r\n--B--\r\n" */
	char first[E911_BOUNDARY_MAX + 160];
	int flen;
	long at;

	memset(ed, 0, sizeof(*ed));
	if(nparts < 1) {
		snprintf(err, errlen, "no part to add");
		return -1;
	}
	if(blen > 0 && is_multipart_mixed(ctype, ctlen)
			&& e911_mime_boundary(ctype, ctlen, b, sizeof(b)) > 0) {
		at = close_delimiter_at(body, blen, b);
		if(at >= 0) {
			/* sibling parts, inserted before the closing delimiter */
			ed->suffix = parts_blob(b, 0, parts, nparts, "", &ed->suffix_len);
			if(ed->suffix == NULL)
				goto nomem;
			ed->suffix_at = (size_t)at;
			return 0;
		}
		/* no closing delimiter: malformed, so wrap it whole below */
	}

	if(!token_ok(token)) {
		snprintf(err, errlen, "invalid boundary token");
		return -1;
	}
	snprintf(b, sizeof(b), "e911-%s", token);
	if(blen > 0 && memmem(body, blen, b, strlen(b)) != NULL) {
		snprintf(err, errlen, "boundary occurs in the body");
		return -1;
	}
	if(ctlen > 0
			&& (ctlen > 100 || memchr(ctype, '\r', ctlen)
					|| memchr(ctype, '\n', ctlen))) {
		snprintf(err, errlen, "unusable Content-Type of the message body");
		return -1;
	}
	snprintf(ed->ctype, sizeof(ed->ctype), "multipart/mixed;boundary=%s", b);
	snprintf(close, sizeof(close), "\r\n--%s--\r\n", b);

	if(blen == 0) {
		/* late offer: only our parts */
		ed->suffix_at = 0;
		ed->suffix = parts_blob(b, 1, parts, nparts, close, &ed->suffix_len);
		if(ed->suffix == NULL)
			goto nomem;
		return 0;
	}

	if(ctlen == 0) {
		ctype = "application/octet-stream";
		ctlen = strlen(ctype);
	}
	flen = snprintf(first, sizeof(first), "--%s\r\nContent-Type: %.*s\r\n\r\n",
			b, (int)ctlen, ctype);
	ed->prefix =
			concat(&ed->prefix_len, first, (size_t)flen, "", 0, "", 0, "", 0);
	ed->suffix = parts_blob(b, 0, parts, nparts, close, &ed->suffix_len);
	if(ed->prefix == NULL || ed->suffix == NULL)
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
