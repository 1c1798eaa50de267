/*
 * libFuzzer target: adding the location parts to a message body. Byte 0
 * is the length of the Content-Type that follows; the rest is the body.
 * Each input is planned twice, with one part (e911_mime_add_part) and with
 * three (e911_mime_add_parts); each plan is applied with e911_mime_apply()
 * and checked:
 *
 * - the result is prefix + body[0..suffix_at) + suffix + body[suffix_at..)
 *   with its length the sum, so the original bytes are intact in one piece
 *   or in the two around suffix_at;
 * - each part appears exactly once more than in the original body, in the
 *   order given;
 * - a new multipart wrapper uses boundary e911-<token>, which does not
 *   occur in the body, and has exactly its delimiters: one per added part,
 *   the closing one, and the original body's when there is a body; sibling
 *   parts go right before the last closing delimiter of the existing
 *   multipart/mixed body and add exactly one delimiter each; they go right
 *   before the first close delimiter (what follows is the epilogue);
 * - a folded Content-Type counts as its unfolded value (RFC 3261 7.3.1):
 *   e911_mime_unfold() leaves no CR or LF, changes nothing else but the
 *   folds, and is what the wrapper's first part headers repeat;
 * - e911_mime_boundary() on the fuzzed Content-Type returns a boundary
 *   that is in its unfolded value, of allowed characters and length.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_mime.h"
#include "fuzz_common.h"

#define TOKEN "t0k3n"
#define NEW_B "e911-" TOKEN
#define NPARTS 3

/* Contents longer than any accepted Content-Type and without CR or LF, so
 * each can only appear where it was put. */
static const char pidf[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><presence "
		"xmlns=\"urn:ietf:params:xml:ns:pidf\" "
		"entity=\"pres:fuzz@example.net\"><!-- e911 fuzz part --></presence>";
static const char provider[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><EmergencyCallData."
		"ProviderInfo xmlns=\"urn:ietf:params:xml:ns:EmergencyCallData:"
		"ProviderInfo\"><!-- e911 fuzz provider --></EmergencyCallData."
		"ProviderInfo>";
static const char service[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><EmergencyCallData."
		"ServiceInfo xmlns=\"urn:ietf:params:xml:ns:EmergencyCallData:"
		"ServiceInfo\"><!-- e911 fuzz service --></EmergencyCallData."
		"ServiceInfo>";

#define HDRS(type, id) \
	"Content-Type: " type "\r\nContent-ID: <" id "@example.net>\r\n"

static const e911_mime_part_t parts[NPARTS] = {
		{HDRS("application/pidf+xml", "pidf"),
				sizeof(HDRS("application/pidf+xml", "pidf")) - 1, pidf,
				sizeof(pidf) - 1},
		{HDRS("application/EmergencyCallData.ProviderInfo+xml", "pi"),
				sizeof(HDRS(
						"application/EmergencyCallData.ProviderInfo+xml", "pi"))
						- 1,
				provider, sizeof(provider) - 1},
		{HDRS("application/EmergencyCallData.ServiceInfo+xml", "si"),
				sizeof(HDRS(
						"application/EmergencyCallData.ServiceInfo+xml", "si"))
						- 1,
				service, sizeof(service) - 1},
};

/* The Content-Type as the core reads it: unfolded into buf when it has a
 * fold; *len updated. */
static const char *unfolded(const char *ctype, size_t *len, char *buf)
{
	int n;

	if(memchr(ctype, '\r', *len) == NULL && memchr(ctype, '\n', *len) == NULL)
		return ctype;
	n = e911_mime_unfold(ctype, *len, buf, E911_CTYPE_MAX + 1);
	if(n < 0)
		return ctype;
	*len = (size_t)n;
	return buf;
}

static void check_unfold(const char *in, size_t len)
{
	char out[E911_CTYPE_MAX + 1];
	size_t i = 0;
	size_t j = 0;
	int n = e911_mime_unfold(in, len, out, sizeof(out));

	if(n < 0)
		return;
	FZ_ASSERT((size_t)n <= len && out[n] == '\0', "unfolded length %d", n);
	FZ_ASSERT(memchr(out, '\r', (size_t)n) == NULL
					  && memchr(out, '\n', (size_t)n) == NULL,
			"line break left after unfolding");
	/* the same bytes, each fold (line break and white space) one SP */
	while(i < len) {
		if(in[i] == '\r' || in[i] == '\n') {
			FZ_ASSERT(j < (size_t)n && out[j] == ' ', "fold not one SP");
			i += in[i] == '\r' ? 2 : 1;
			while(i < len && (in[i] == ' ' || in[i] == '\t'))
				i++;
			j++;
			continue;
		}
		FZ_ASSERT(j < (size_t)n && out[j] == in[i], "byte %zu changed", i);
		i++;
		j++;
	}
	FZ_ASSERT(j == (size_t)n, "unfolded value longer than the input");
}

static void check_boundary(const char *ctype, size_t ctlen)
{
	char b[E911_BOUNDARY_MAX + 1];
	char buf[E911_CTYPE_MAX + 1];
	int n = e911_mime_boundary(ctype, ctlen, b, sizeof(b));

	if(n < 0)
		return;
	ctype = unfolded(ctype, &ctlen, buf);
	FZ_ASSERT(n > 0 && n <= E911_BOUNDARY_MAX && (size_t)n == strlen(b),
			"boundary length %d", n);
	FZ_ASSERT(memmem(ctype, ctlen, b, (size_t)n) != NULL,
			"boundary not taken from the Content-Type");
	for(int i = 0; i < n; i++)
		FZ_ASSERT((b[i] != 0 && strchr("'()+_,-./:=?", b[i]) != NULL)
						  || (b[i] >= '0' && b[i] <= '9')
						  || (b[i] >= 'a' && b[i] <= 'z')
						  || (b[i] >= 'A' && b[i] <= 'Z'),
				"boundary character 0x%02x", (unsigned char)b[i]);
}

/* Count of "\r\n--" b in "\r\n" + s[0..n): delimiter lines. */
static size_t delimiters(const char *s, size_t n, const char *b)
{
	char d[E911_BOUNDARY_MAX + 8];
	size_t dl = (size_t)snprintf(d, sizeof(d), "\r\n--%s", b);
	char *t = malloc(n + 2);
	size_t c;

	FZ_ASSERT(t != NULL, "malloc");
	memcpy(t, "\r\n", 2);
	memcpy(t + 2, s, n);
	c = fz_count(t, n + 2, d, dl);
	free(t);
	return c;
}

/* A new multipart/mixed wrapper around the body. */
static void check_wrapped(const char *ctype, size_t ctlen, const char *body,
		size_t blen, int np, const e911_mime_edit_t *ed, const char *out,
		size_t olen)
{
	char first[E911_CTYPE_MAX + 64];
	char buf[E911_CTYPE_MAX + 1];
	size_t want = (size_t)np + 1 + (blen > 0);
	int fl;

	FZ_ASSERT(strcmp(ed->ctype, "multipart/mixed;boundary=" NEW_B) == 0,
			"new Content-Type %s", ed->ctype);
	FZ_ASSERT(memmem(body, blen, NEW_B, strlen(NEW_B)) == NULL,
			"new boundary occurs in the body");
	FZ_ASSERT(delimiters(out, olen, NEW_B) == want,
			"%zu delimiter lines, expected %zu", delimiters(out, olen, NEW_B),
			want);
	FZ_ASSERT(olen >= strlen(NEW_B) + 8
					  && memcmp(out + olen - strlen(NEW_B) - 8,
								 "\r\n--" NEW_B "--\r\n", strlen(NEW_B) + 8)
								 == 0,
			"no closing delimiter at the end");
	FZ_ASSERT(ed->suffix_at == blen, "wrapper suffix not at the end");
	if(blen == 0) {
		FZ_ASSERT(ed->prefix_len == 0, "prefix without a body");
		FZ_ASSERT(memcmp(out, "--" NEW_B "\r\n", strlen(NEW_B) + 4) == 0,
				"late offer does not start with the delimiter");
		return;
	}
	ctype = unfolded(ctype, &ctlen, buf);
	if(ctlen == 0) {
		ctype = "application/octet-stream";
		ctlen = strlen(ctype);
	}
	fl = snprintf(first, sizeof(first), "--%s\r\nContent-Type: %.*s\r\n\r\n",
			NEW_B, (int)ctlen, ctype);
	FZ_ASSERT(fl > 0 && (size_t)fl == ed->prefix_len
					  && memcmp(ed->prefix, first, (size_t)fl) == 0,
			"first part headers differ");
}

/* Sibling parts in an existing multipart/mixed body. */
static void check_sibling(const char *ctype, size_t ctlen, const char *body,
		size_t blen, int np, const e911_mime_edit_t *ed, const char *out,
		size_t olen)
{
	char b[E911_BOUNDARY_MAX + 1];
	char close[E911_BOUNDARY_MAX + 8];
	char open[E911_BOUNDARY_MAX + 8];
	int cl;
	int ol;

	FZ_ASSERT(blen > 0 && ed->prefix_len == 0, "sibling with a prefix");
	FZ_ASSERT(e911_mime_boundary(ctype, ctlen, b, sizeof(b)) > 0,
			"sibling part without a boundary");
	cl = snprintf(close, sizeof(close), "\r\n--%s--", b);
	ol = snprintf(open, sizeof(open), "\r\n--%s\r\n", b);
	FZ_ASSERT(ed->suffix_at + (size_t)cl <= blen
					  && memcmp(body + ed->suffix_at, close, (size_t)cl) == 0,
			"sibling not before a closing delimiter");
	FZ_ASSERT(memmem(body, ed->suffix_at + (size_t)cl - 1, close, (size_t)cl)
					  == NULL,
			"sibling not before the first closing delimiter");
	FZ_ASSERT(ed->suffix_len > (size_t)ol
					  && memcmp(ed->suffix, open, (size_t)ol) == 0,
			"sibling does not start with a delimiter");
	FZ_ASSERT(delimiters(out, olen, b) == delimiters(body, blen, b) + np,
			"siblings add other than one delimiter each");
}

/* Plans adding the first np parts, applies and checks the result. */
static void run(
		const char *ctype, size_t ctlen, const char *body, size_t blen, int np)
{
	e911_mime_edit_t ed;
	char err[256];
	char *out;
	const char *at;
	size_t olen = 0;
	int rc;

	err[0] = '\0';
	if(np == 1)
		rc = e911_mime_add_part(ctype, ctlen, body, blen, parts[0].hdrs,
				parts[0].hlen, parts[0].body, parts[0].blen, TOKEN, &ed, err,
				sizeof(err));
	else
		rc = e911_mime_add_parts(ctype, ctlen, body, blen, parts, np, TOKEN,
				&ed, err, sizeof(err));
	if(rc != 0) {
		FZ_ASSERT(rc == -1 && err[0] != '\0', "failed without a reason");
		FZ_ASSERT(ed.prefix == NULL && ed.suffix == NULL,
				"failed plan holds insertions");
		return;
	}
	FZ_ASSERT(ed.suffix_at <= blen && ed.suffix != NULL, "bad plan");
	out = e911_mime_apply(body, blen, &ed, &olen);
	FZ_ASSERT(out != NULL, "apply failed");
	FZ_ASSERT(olen == ed.prefix_len + blen + ed.suffix_len, "length %zu", olen);
	FZ_ASSERT(memcmp(out, ed.prefix ? ed.prefix : "", ed.prefix_len) == 0
					  && memcmp(out + ed.prefix_len, body, ed.suffix_at) == 0
					  && memcmp(out + ed.prefix_len + ed.suffix_at, ed.suffix,
								 ed.suffix_len)
								 == 0
					  && memcmp(out + ed.prefix_len + ed.suffix_at
										 + ed.suffix_len,
								 body + ed.suffix_at, blen - ed.suffix_at)
								 == 0,
			"result is not prefix, body, suffix, body rest");
	FZ_ASSERT(out[olen] == '\0', "result not NUL-terminated");
	at = ed.suffix;
	for(int i = 0; i < np; i++) {
		const char *p = parts[i].body;
		size_t pl = parts[i].blen;
		const char *found;

		FZ_ASSERT(fz_count(out, olen, p, pl) == fz_count(body, blen, p, pl) + 1,
				"part %d does not appear exactly once more", i);
		found = memmem(at, ed.suffix_len - (size_t)(at - ed.suffix), p, pl);
		FZ_ASSERT(found != NULL, "part %d not in order", i);
		at = found + pl;
	}
	if(ed.ctype[0] != '\0')
		check_wrapped(ctype, ctlen, body, blen, np, &ed, out, olen);
	else
		check_sibling(ctype, ctlen, body, blen, np, &ed, out, olen);
	free(out);
	e911_mime_edit_free(&ed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ctype;
	size_t ctlen;

	if(size < 1)
		return 0;
	ctlen = data[0] < size - 1 ? data[0] : size - 1;
	ctype = (const char *)data + 1;
	check_unfold(ctype, ctlen);
	check_boundary(ctype, ctlen);
	run(ctype, ctlen, ctype + ctlen, size - 1 - ctlen, 1);
	run(ctype, ctlen, ctype + ctlen, size - 1 - ctlen, NPARTS);
	return 0;
}
