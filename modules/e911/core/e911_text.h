/*
 * e911 module - bounded text: the writer every document and header is built with, XML escaping, hex
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One bounded writer for everything the module renders (PIDF-LO, RFC 7852
 * blocks, added SIP headers): it keeps room for the final NUL and, once
 * something does not fit, stops writing and remembers the failure, so
 * rendering code reads top to bottom like what it produces and checks once
 * at the end. Appends are inline and literals have their length known at
 * compile time: rendering runs for every emergency call (27.7 k -> 4.9 k
 * instructions per PIDF-LO with these, docs/benchmarks.md).
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_TEXT_H
#define E911_TEXT_H

#include <stddef.h>
#include <string.h>

/* A bounded output buffer: buf[pos] is always '\0' while size > 0. */
typedef struct e911_buf
{
	char *buf;
	size_t size;
	size_t pos;
	int failed; /* something did not fit; nothing more is written */
} e911_buf_t;

/* Appends s[0..n) or marks the writer failed. */
static inline void e911_buf_add(e911_buf_t *o, const char *s, size_t n)
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
#define E911_BUF_LIT(o, lit) e911_buf_add((o), "" lit, sizeof(lit) - 1)

/* Appends a, s[0..n) and b as one piece (a tag around a name): one bounds
 * check instead of three. */
static inline void e911_buf_wrap(e911_buf_t *o, const char *a, size_t al,
		const char *s, size_t n, const char *b, size_t bl)
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

/* e911_buf_wrap() with string literals around s[0..n). */
#define E911_BUF_WRAP(o, lit_a, s, n, lit_b)                            \
	e911_buf_wrap((o), "" lit_a, sizeof(lit_a) - 1, (s), (n), "" lit_b, \
			sizeof(lit_b) - 1)

/* Starts a writer on buf[0..size) (an empty string; size 0 fails). */
static inline void e911_buf_init(e911_buf_t *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = size;
	o->pos = 0;
	o->failed = size == 0;
	if(size > 0)
		buf[0] = '\0';
}

/* Appends the NUL-terminated s XML-escaped, byte for byte as
 * e911_xml_escape() does. */
void e911_buf_xml(e911_buf_t *o, const char *s);

/* Appends s[0..len) XML-escaped to buf at *pos and NUL-terminates it:
 * & < > " ' and TAB, LF, CR become references, the other C0 controls and
 * DEL (which XML 1.0 cannot carry) are dropped, every other byte is kept.
 * Returns 0 (*pos moved past the text), or -1 when it does not fit (buf is
 * then left NUL-terminated at the unchanged *pos). */
int e911_xml_escape(
		char *buf, size_t size, size_t *pos, const char *s, size_t len);

/* blank sets for e911_list_next() */
#define E911_BLANKS " \t"			  /* values of one line */
#define E911_WHITESPACE " \t\r\n\v\f" /* isspace() in the C locale */

/* Reads the next item of the sep-separated list at *p into *item, *len,
 * with the characters of blanks trimmed from both ends (an item may be
 * empty: "" is one empty item, "a," two items), and advances *p (NULL
 * after the last item). Returns 0 when *p is NULL (the list is done),
 * else 1. */
int e911_list_next(const char **p, char sep, const char *blanks,
		const char **item, size_t *len);

/* Trims the characters of blanks from both ends of s[0..*len); returns the
 * new start. */
const char *e911_trim(const char *s, size_t *len, const char *blanks);

/* upper-case hex digits, for percent-encoding */
extern const char e911_hex_upper[16];

/* Writes the n bytes of in as 2n lower-case hex characters and a NUL into
 * out (2n + 1 bytes). */
void e911_hex_encode(char *out, const void *in, size_t n);

/* Writes v as exactly width decimal digits (leading zeros) at p. */
static inline void e911_put_digits(char *p, unsigned long long v, int width)
{
	while(width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

#endif
