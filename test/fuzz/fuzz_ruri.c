/*
 * libFuzzer target: what a Request-URI is, as dialled (issue 18). The
 * input is one Request-URI service URN or URI user part; it goes through
 * e911_urn_classify_uri() and e911_dial_unescape(). Checked invariants:
 *
 * - a service URN with parameters or headers classifies as the URN before
 *   the first ';' or '?' does with e911_urn_classify(), and that agrees
 *   with an independent model of RFC 5031 sos / test.sos;
 * - the dialled string of a user part is, exactly, the part before the
 *   first ';' with every %XX escape decoded; a '%' not followed by two hex
 *   digits, or a result longer than the output, is refused (-1); the
 *   output is never written past its length (an exact-size heap buffer,
 *   checked by ASan), and a refusal depends on nothing but those rules.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e911_dialplan.h"
#include "fuzz_common.h"

static int hex(unsigned char c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* The model: decodes s[0..n) up to ';' into out (unbounded); -1 on a bad
 * escape. */
static long model_unescape(const char *s, size_t n, char *out)
{
	long k = 0;

	for(size_t i = 0; i < n && s[i] != ';'; i++) {
		if(s[i] == '%') {
			if(n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return -1;
			out[k++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t cut = 0;
	char *want;
	char *out;
	size_t outlen;
	long m;
	int got;

	/* service URNs */
	while(cut < size && s[cut] != ';' && s[cut] != '?')
		cut++;
	got = e911_urn_classify_uri(s, size);
	FZ_ASSERT(got == e911_urn_classify(s, cut),
			"urn_classify_uri %d != urn_classify of the part before ;/? ", got);
	FZ_ASSERT(got == fz_model_urn(s, cut), "urn_classify_uri %d != model %d",
			got, fz_model_urn(s, cut));

	/* user parts: every output size from 0 to past the decoded length */
	want = malloc(size + 1);
	if(want == NULL)
		return 0;
	m = model_unescape(s, size, want);
	for(outlen = 0; outlen <= (size_t)(m < 0 ? 2 : m + 1); outlen++) {
		out = malloc(outlen ? outlen : 1);
		if(out == NULL)
			break;
		got = e911_dial_unescape(s, size, out, outlen);
		if(m < 0 || (size_t)m > outlen) {
			FZ_ASSERT(got == -1, "dial_unescape %d, model refuses (%ld, %zu)",
					got, m, outlen);
		} else {
			FZ_ASSERT(got == m, "dial_unescape %d != model %ld", got, m);
			FZ_ASSERT(memcmp(out, want, (size_t)m) == 0,
					"dial_unescape output differs from the model");
		}
		free(out);
	}
	free(want);
	return 0;
}
