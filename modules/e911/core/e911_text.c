/*
 * e911 module - bounded text: XML escaping and hex
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include "e911_text.h"

const char e911_hex_upper[16] = "0123456789ABCDEF";

const char *e911_trim(const char *s, size_t *len, const char *blanks)
{
	while(*len > 0 && s[0] != '\0' && strchr(blanks, s[0]) != NULL) {
		s++;
		(*len)--;
	}
	while(*len > 0 && s[*len - 1] != '\0'
			&& strchr(blanks, s[*len - 1]) != NULL)
		(*len)--;
	return s;
}

int e911_list_next(const char **p, char sep, const char *blanks,
		const char **item, size_t *len)
{
	const char *s = *p;
	const char *end;
	size_t n;

	if(s == NULL)
		return 0;
	end = strchr(s, sep);
	n = end ? (size_t)(end - s) : strlen(s);
	*p = end ? end + 1 : NULL;
	*item = e911_trim(s, &n, blanks);
	*len = n;
	return 1;
}

void e911_hex_encode(char *out, const void *in, size_t n)
{
	static const char hex[16] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)in;
	size_t i;

	for(i = 0; i < n; i++) {
		out[2 * i] = hex[u[i] >> 4];
		out[2 * i + 1] = hex[u[i] & 15];
	}
	out[2 * n] = '\0';
}

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

/* Without measuring s first: the terminating NUL (class XE_DROP) ends the
 * last run of kept bytes. */
void e911_buf_xml(e911_buf_t *o, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for(;;) {
		const unsigned char *run = u;
		const struct xml_rep *r;

		while(xml_esc_class[*run] == XE_COPY)
			run++;
		e911_buf_add(o, (const char *)u, (size_t)(run - u));
		if(*run == '\0')
			return;
		r = &xml_rep[xml_esc_class[*run]];
		e911_buf_add(o, r->s, r->len);
		u = run + 1;
	}
}
