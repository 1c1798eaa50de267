/*
 * libFuzzer target: site maps (core/e911_sitemap.c). The input is a site
 * map document. Checked invariants:
 *
 * - an accepted map's block has the size it claims, and every site's
 *   location is a record that passes the checks and output checks of a
 *   location record (PIDF-LO well-formed and schema-valid, civic values
 *   read back, JSON round trip) - so no map can make a bad PIDF-LO;
 * - every site id is 1..64 characters of A-Z a-z 0-9 . _ -;
 * - a match of any address or BSSID taken from the input names a site of
 *   the map or none;
 * - a map that fits a smaller bound parses the same under it, and one over
 *   it is refused.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "e911_sitemap.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_xml_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char err[256];
	e911_sitemap_counts_t c;
	e911_sitemap_t *m;
	e911_sitemap_t *small;
	e911_ipaddr_t a;
	uint64_t b;
	size_t i;
	size_t n;
	int site;

	m = e911_sitemap_parse(s, size, 1u << 20, err, sizeof(err));
	if(m == NULL) {
		FZ_ASSERT(err[0] != '\0', "rejected without a reason");
		return 0;
	}
	e911_sitemap_counts(m, &c);
	FZ_ASSERT(c.bytes == e911_sitemap_size(m) && c.bytes > 0, "size");
	FZ_ASSERT(c.sites <= E911_SITEMAP_MAX_SITES, "too many sites");
	for(i = 0; i < c.sites; i++) {
		const char *id = e911_sitemap_site_id(m, (int)i);
		const e911_record_t *rec = e911_sitemap_site_record(m, (int)i);

		FZ_ASSERT(id != NULL && strlen(id) >= 1
						  && strlen(id) <= E911_SITE_ID_MAX
						  && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
										"klmnopqrstuvwxyz0123456789._-")
									 == strlen(id),
				"site %zu id", i);
		FZ_ASSERT(rec != NULL, "site %zu without a location", i);
		fz_check_outputs(rec, (uint32_t)i);
	}
	/* every token of the input that reads as an address or a BSSID */
	for(i = 0; i < size; i++) {
		n = strspn(s + i, "0123456789abcdefABCDEF.:-");
		if(n > 0 && i + n <= size) {
			if(e911_ipaddr_parse(s + i, n, &a) == 0) {
				site = e911_sitemap_match_addr(m, &a);
				FZ_ASSERT(site == E911_SITE_NONE
								  || (site >= 0 && (uint32_t)site < c.sites),
						"address match %d", site);
			}
			if(e911_bssid_parse(s + i, n, &b) == 0) {
				site = e911_sitemap_match_bssid(m, b);
				FZ_ASSERT(site == E911_SITE_NONE
								  || (site >= 0 && (uint32_t)site < c.sites),
						"BSSID match %d", site);
			}
			i += n - 1;
		}
	}
	small = e911_sitemap_parse(s, size, size, err, sizeof(err));
	FZ_ASSERT(small != NULL && e911_sitemap_size(small) == c.bytes
					  && memcmp(small, m, c.bytes) == 0,
			"not the same map under a tight bound");
	free(small);
	if(size > 1)
		FZ_ASSERT(
				e911_sitemap_parse(s, size, size - 1, err, sizeof(err)) == NULL,
				"accepted over its bound");
	free(m);
	return 0;
}
