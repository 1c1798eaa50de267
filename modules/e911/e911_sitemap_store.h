/*
 * e911 module - the site map in shared memory
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The site map (core/e911_sitemap.h) lives in shared memory as one block.
 * It is loaded at start-up and refreshed by the "e911 site map" process
 * every sites_refresh seconds with a conditional GET (ETag /
 * Last-Modified; for file:// the file's size and modification time); a new
 * map is built beside the old one and swapped in under the lock, so a
 * SIP worker sees either the old or the new map, never a mix. A map that
 * cannot be fetched or does not validate keeps the previous one (logged,
 * counted, shown by e911.sites): never an empty map by accident.
 */

#ifndef E911_SITEMAP_STORE_H
#define E911_SITEMAP_STORE_H

#include <stdint.h>

#include "../../core/rpc.h"

#include "core/e911_record.h"
#include "core/e911_sitemap.h"

typedef struct e911_sitemap_cfg
{
	char *url;		/* sites_url: http(s):// or file://, "" = no map */
	int refresh;	/* sites_refresh: seconds between checks */
	int timeout_ms; /* sites_timeout_ms: one fetch */
	int max_bytes;	/* sites_max_bytes: largest accepted document */
} e911_sitemap_cfg_t;

extern e911_sitemap_cfg_t e911_sitemap_cfg;

/* A site found for a network: its id and location, copied out of shared
 * memory. */
typedef struct e911_site_hit
{
	char id[E911_SITE_ID_MAX + 1];
	uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	const e911_record_t *rec; /* points into buf */
} e911_site_hit_t;

/* mod_init, before any process is forked: checks the modparams, shared
 * state, statistics, RPC, one process. 0 or -1. */
int e911_sitemap_init(void);

/* mod_init, after curl_global_init: the first load. A map that cannot be
 * loaded is logged as an error; the module starts without one (calls use
 * the device and service locations) and the refresher keeps trying. */
void e911_sitemap_load_initial(void);

/* child_init: forks the refresher from PROC_MAIN. 0 or -1. */
int e911_sitemap_child_init(int rank);

/* 1 when a site map is configured (sites_url set). */
int e911_sitemap_enabled(void);

/* Looks an address (text) or a BSSID up in the current map: 1 with the
 * site copied into hit, 0 when no site matches (or there is no map), -1
 * when the address is not one. by_bssid says which to look up. */
int e911_sitemap_lookup_addr(const char *addr, e911_site_hit_t *hit);
int e911_sitemap_lookup_bssid(uint64_t bssid, e911_site_hit_t *hit);

extern rpc_export_t e911_sitemap_rpc[];

#endif
