/*
 * e911 module - adding the location part to a SIP message body
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Plans how a body part (the PIDF-LO) is added to a message body per
 * RFC 6442 / RFC 5621 as insertions around the original bytes, so the
 * existing content stays byte-identical by construction:
 *
 * - no body:          the body becomes multipart/mixed with only our part;
 * - a single body:    multipart/mixed, the original first (with its
 *                     Content-Type), then our part;
 * - multipart/mixed:  our part is added as a sibling after the last body
 *                     part, right before the first close delimiter (what
 *                     follows it is the epilogue, RFC 2046 5.1.1), existing
 *                     parts untouched, Content-Type kept.
 *
 * The caller applies the plan (Kamailio lumps, or e911_mime_apply() in
 * tests). Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_MIME_H
#define E911_MIME_H

#include <stddef.h>

#define E911_BOUNDARY_MAX 70 /* RFC 2046 */
/* Longest Content-Type of an original body that is wrapped as a part (it is
 * copied into the part's headers); longer ones are refused. */
#define E911_CTYPE_MAX 1000

typedef struct e911_mime_edit
{
	/* new Content-Type value for the message, "" to keep the current one */
	char ctype[128];
	char *prefix; /* inserted at body offset 0; malloc()ed, may be NULL */
	size_t prefix_len;
	size_t suffix_at; /* body offset of the second insertion */
	char *suffix;	  /* malloc()ed */
	size_t suffix_len;
} e911_mime_edit_t;

/* Plans adding a part with headers part_hdrs (each line ending CRLF) and
 * content part[0..plen) to body[0..blen) whose Content-Type is ctype
 * (ctlen 0 / blen 0: no body). token is a random string used to make a new
 * boundary ("e911-" token); it must be 1..60 characters of [0-9A-Za-z].
 * Returns 0, or -1 with a reason in err (e.g. token occurs in the body). */
int e911_mime_add_part(const char *ctype, size_t ctlen, const char *body,
		size_t blen, const char *part_hdrs, size_t hlen, const char *part,
		size_t plen, const char *token, e911_mime_edit_t *ed, char *err,
		size_t errlen);

/* One part to add: its headers (each line ending CRLF) and content. */
typedef struct e911_mime_part
{
	const char *hdrs;
	size_t hlen;
	const char *body;
	size_t blen;
} e911_mime_part_t;

/* e911_mime_add_part() for several parts at once, added in order. */
int e911_mime_add_parts(const char *ctype, size_t ctlen, const char *body,
		size_t blen, const e911_mime_part_t *parts, int nparts,
		const char *token, e911_mime_edit_t *ed, char *err, size_t errlen);

/* Frees the insertions of ed. */
void e911_mime_edit_free(e911_mime_edit_t *ed);

/* Applies ed to body: returns the new body malloc()ed (NUL-terminated),
 * its length in *outlen; NULL on error. */
char *e911_mime_apply(const char *body, size_t blen, const e911_mime_edit_t *ed,
		size_t *outlen);

/* Unfolds a header value in[0..len) into out (size bytes, NUL-terminated):
 * every line break followed by white space (CRLF, or a bare LF, then SP/HT)
 * and that white space become one SP (RFC 3261 7.3.1). Returns the new
 * length, or -1 when a line break is not a fold or the result does not fit.
 * e911_mime_add_parts() and e911_mime_boundary() unfold the Content-Type
 * they are given. */
int e911_mime_unfold(const char *in, size_t len, char *out, size_t size);

/* Finds the boundary parameter of a multipart Content-Type value (token or
 * quoted string) into out. Returns its length, or -1 when there is none or
 * it is invalid (empty, over 70 characters). */
int e911_mime_boundary(const char *ctype, size_t ctlen, char *out, size_t size);

#endif
