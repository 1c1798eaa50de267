/*
 * e911 module - the site map in shared memory
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One lock guards the pointer to the current map and its bookkeeping. A
 * lookup holds it for one binary search and the copy of one site's
 * location (well under a microsecond plus a memcpy); the refresher holds
 * it only to swap the pointer, and frees the old map after releasing it
 * (nobody can still be reading the old one: readers hold the lock).
 * Fetching and parsing happen outside the lock, in the refresher process
 * (or in mod_init for the first load), never in a SIP worker.
 *
 * kamcmd e911.sites [limit]    source, age, counts, errors and the sites
 * kamcmd e911.match <ip> [bssid]  which site a network maps to
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../../core/cfg/cfg_struct.h"
#include "../../core/counters.h"
#include "../../core/dprint.h"
#include "../../core/locking.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/pt.h"
#include "../../core/rpc_lookup.h"
#include "../../core/sr_module.h"

#include "core/e911_pidf.h"
#include "core/e911_precedence.h"
#include "e911_lookup.h"
#include "e911_sitemap_store.h"

#define SM_ERR_MAX 256
#define SM_LIST_DEFAULT 100
#define SM_LIST_MAX 10000
#define SM_RETRY_S 5 /* retry of a failed first load */

e911_sitemap_cfg_t e911_sitemap_cfg = {"", 300, 5000, 64 << 20};

typedef struct sm_shared
{
	gen_lock_t lock;
	e911_sitemap_t *map; /* shared memory, or NULL */
	int64_t loaded_at;	 /* when map was loaded */
	int64_t checked_at;	 /* last check that worked (new or unchanged) */
	int64_t failed_at;	 /* last check that did not */
	uint32_t loads;
	uint32_t unchanged;
	uint32_t failures;
	char last_error[SM_ERR_MAX]; /* "" after a check that worked */
	/* validators of the loaded document, for the conditional GET */
	char etag[256];
	char last_modified[128];
	int64_t file_mtime;
	int64_t file_size;
} sm_shared_t;

static sm_shared_t *sm = NULL;

static stat_var *st_loads;
static stat_var *st_failures;

static counter_val_t sm_stat_sites(void);
static counter_val_t sm_stat_bytes(void);

/* clang-format off */
static stat_export_t sm_stats[] = {
	{"sitemap_loads", 0, &st_loads},
	{"sitemap_failures", 0, &st_failures},
	{"sitemap_sites", STAT_NO_RESET | STAT_IS_FUNC, (stat_var **)sm_stat_sites},
	{"sitemap_bytes", STAT_NO_RESET | STAT_IS_FUNC, (stat_var **)sm_stat_bytes},
	{0, 0, 0}
};
/* clang-format on */

int e911_sitemap_enabled(void)
{
	return sm != NULL;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int is_file_url(const char *u)
{
	return strncasecmp(u, "file://", 7) == 0;
}

int e911_sitemap_init(void)
{
	e911_sitemap_cfg_t *c = &e911_sitemap_cfg;

	if(c->url == NULL || c->url[0] == '\0')
		return 0;
	if((strncasecmp(c->url, "http://", 7) != 0
			   && strncasecmp(c->url, "https://", 8) != 0
			   && !is_file_url(c->url))
			|| strpbrk(c->url, " \t\r\n") != NULL) {
		LM_ERR("e911: modparam sites_url must be an http://, https:// or "
			   "file:// URL\n");
		return -1;
	}
	if(c->refresh < 1 || c->timeout_ms < 1 || c->max_bytes < 64) {
		LM_ERR("e911: modparams sites_refresh, sites_timeout_ms and "
			   "sites_max_bytes must be positive (sites_max_bytes at least "
			   "64)\n");
		return -1;
	}
	sm = shm_malloc(sizeof(*sm));
	if(sm == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(sm, 0, sizeof(*sm));
	if(lock_init(&sm->lock) == NULL) {
		LM_ERR("e911: cannot initialise the site map lock\n");
		return -1;
	}
	if(register_module_stats("e911", sm_stats) != 0) {
		LM_ERR("e911: cannot register the site map statistics\n");
		return -1;
	}
	if(rpc_register_array(e911_sitemap_rpc) != 0) {
		LM_ERR("e911: cannot register the site map RPC commands\n");
		return -1;
	}
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

/* ---- fetching ---- */

typedef struct sm_body
{
	char *data;
	size_t len;
	size_t cap;
	int too_big;
	char etag[256];
	char last_modified[128];
} sm_body_t;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	sm_body_t *b = arg;
	size_t add = size * n;
	size_t ncap;
	char *nd;

	if(b->len + add > (size_t)e911_sitemap_cfg.max_bytes) {
		b->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if(b->len + add + 1 > b->cap) {
		ncap = b->cap ? b->cap : 65536;
		while(ncap < b->len + add + 1)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if(nd == NULL)
			return 0;
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* Keeps a validator header's value (trimmed, printable, fits) in out. */
static void keep_header(
		const char *line, size_t n, const char *name, char *out, size_t size)
{
	size_t k = strlen(name);
	size_t i;

	if(n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while(n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while(n > 0
			&& (line[n - 1] == '\r' || line[n - 1] == '\n'
					|| line[n - 1] == ' '))
		n--;
	if(n == 0 || n >= size)
		return;
	for(i = 0; i < n; i++) {
		if((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
			return;
	}
	memcpy(out, line, n);
	out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	sm_body_t *b = arg;

	keep_header(p, size * n, "ETag", b->etag, sizeof(b->etag));
	keep_header(p, size * n, "Last-Modified", b->last_modified,
			sizeof(b->last_modified));
	return size * n;
}

/* GETs the map over http(s), conditionally. 1 with a new body, 0 when not
 * modified, -1 with err. */
/* the refresher's easy handle (kept: the connection is reused) */
static CURL *easy = NULL;

static int fetch_http(sm_body_t *b, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	char hdr[400];
	char errbuf[CURL_ERROR_SIZE];
	long code = 0;
	CURLcode cc;

	if(easy == NULL)
		easy = curl_easy_init();
	else
		curl_easy_reset(easy);
	if(easy == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	h = curl_slist_append(h, "Accept: application/json");
	lock_get(&sm->lock);
	if(sm->map && sm->etag[0]) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", sm->etag);
		h = curl_slist_append(h, hdr);
	}
	if(sm->map && sm->last_modified[0]) {
		snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", sm->last_modified);
		h = curl_slist_append(h, hdr);
	}
	lock_release(&sm->lock);
	errbuf[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_URL, e911_sitemap_cfg.url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(
			easy, CURLOPT_TIMEOUT_MS, (long)e911_sitemap_cfg.timeout_ms);
	curl_easy_setopt(
			easy, CURLOPT_CONNECTTIMEOUT_MS, (long)e911_sitemap_cfg.timeout_ms);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "kamailio-e911/1");
	/* TLS as for the location service (tls_verify, tls_ca_file) */
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER,
			e911_lookup_cfg.fetch.tls_verify ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST,
			e911_lookup_cfg.fetch.tls_verify ? 2L : 0L);
	if(e911_lookup_cfg.fetch.tls_ca_file
			&& e911_lookup_cfg.fetch.tls_ca_file[0])
		curl_easy_setopt(
				easy, CURLOPT_CAINFO, e911_lookup_cfg.fetch.tls_ca_file);
	cc = curl_easy_perform(easy);
	curl_slist_free_all(h);
	if(b->too_big) {
		snprintf(err, errlen, "document larger than sites_max_bytes (%d)",
				e911_sitemap_cfg.max_bytes);
		return -1;
	}
	if(cc != CURLE_OK) {
		snprintf(
				err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if(code == 304)
		return 0;
	if(code != 200) {
		snprintf(err, errlen, "HTTP %ld", code);
		return -1;
	}
	return 1;
}

/* Reads a file:// map unless its size and modification time are those of
 * the loaded one. 1 new body, 0 unchanged, -1 with err. */
static int fetch_file(
		sm_body_t *b, int64_t *mtime, int64_t *size, char *err, size_t errlen)
{
	const char *path = e911_sitemap_cfg.url + 7;
	struct stat st;
	FILE *f;
	int same;

	if(stat(path, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	*mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	*size = (int64_t)st.st_size;
	lock_get(&sm->lock);
	same = sm->map && sm->file_mtime == *mtime && sm->file_size == *size;
	lock_release(&sm->lock);
	if(same)
		return 0;
	if(st.st_size > e911_sitemap_cfg.max_bytes) {
		snprintf(err, errlen, "document larger than sites_max_bytes (%d)",
				e911_sitemap_cfg.max_bytes);
		return -1;
	}
	f = fopen(path, "rb");
	if(f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	b->cap = (size_t)st.st_size + 1;
	b->data = malloc(b->cap);
	if(b->data == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->len = fread(b->data, 1, (size_t)st.st_size, f);
	b->data[b->len] = '\0';
	fclose(f);
	return 1;
}

static void note_failure(const char *err)
{
	int64_t loaded;

	update_stat(st_failures, 1);
	lock_get(&sm->lock);
	sm->failures++;
	sm->failed_at = now_s();
	snprintf(sm->last_error, sizeof(sm->last_error), "%s", err);
	loaded = sm->map ? sm->loaded_at : 0;
	lock_release(&sm->lock);
	if(loaded)
		LM_ERR("e911: site map %s: %s; keeping the map loaded %lld s ago\n",
				e911_sitemap_cfg.url, err, (long long)(now_s() - loaded));
	else
		LM_ERR("e911: site map %s: %s; no site map loaded: calls use the "
			   "device and service locations until one loads\n",
				e911_sitemap_cfg.url, err);
}

/* One check of the source: a new map swapped in, an unchanged one noted,
 * a failure kept out. Returns 0 when the source answered, -1 when not. */
static int sm_refresh(void)
{
	sm_body_t b;
	char err[SM_ERR_MAX];
	char perr[200];
	e911_sitemap_t *m;
	e911_sitemap_t *shm;
	e911_sitemap_t *old;
	e911_sitemap_counts_t c;
	int64_t mtime = 0;
	int64_t size = 0;
	int rc;

	memset(&b, 0, sizeof(b));
	err[0] = '\0';
	if(is_file_url(e911_sitemap_cfg.url))
		rc = fetch_file(&b, &mtime, &size, err, sizeof(err));
	else
		rc = fetch_http(&b, err, sizeof(err));
	if(rc < 0) {
		free(b.data);
		note_failure(err);
		return -1;
	}
	if(rc == 0) {
		lock_get(&sm->lock);
		sm->unchanged++;
		sm->checked_at = now_s();
		sm->last_error[0] = '\0';
		lock_release(&sm->lock);
		LM_DBG("e911: site map %s unchanged\n", e911_sitemap_cfg.url);
		return 0;
	}
	m = e911_sitemap_parse(b.data, b.len, (size_t)e911_sitemap_cfg.max_bytes,
			perr, sizeof(perr));
	free(b.data);
	if(m == NULL) {
		snprintf(err, sizeof(err), "rejected: %s", perr);
		note_failure(err);
		return -1;
	}
	if(perr[0])
		LM_WARN("e911: site map %s: %s\n", e911_sitemap_cfg.url, perr);
	e911_sitemap_counts(m, &c);
	shm = shm_malloc(c.bytes);
	if(shm == NULL) {
		free(m);
		snprintf(err, sizeof(err),
				"no shared memory for a map of %zu bytes (raise -m)", c.bytes);
		note_failure(err);
		return -1;
	}
	memcpy(shm, m, c.bytes);
	free(m);
	lock_get(&sm->lock);
	old = sm->map;
	sm->map = shm;
	sm->loaded_at = sm->checked_at = now_s();
	sm->loads++;
	sm->last_error[0] = '\0';
	memcpy(sm->etag, b.etag, sizeof(sm->etag));
	memcpy(sm->last_modified, b.last_modified, sizeof(sm->last_modified));
	sm->file_mtime = mtime;
	sm->file_size = size;
	lock_release(&sm->lock);
	if(old)
		shm_free(old);
	update_stat(st_loads, 1);
	LM_INFO("e911: site map %s loaded: %u sites, %u IPv4 and %u IPv6 "
			"prefixes, %u BSSIDs, %zu bytes of shared memory\n",
			e911_sitemap_cfg.url, c.sites, c.prefixes4, c.prefixes6, c.bssids,
			c.bytes);
	return 0;
}

void e911_sitemap_load_initial(void)
{
	if(sm == NULL)
		return;
	sm_refresh();
	/* the main process fetches no more: no connection of it is inherited
	 * by the processes it forks */
	if(easy != NULL) {
		curl_easy_cleanup(easy);
		easy = NULL;
	}
}

static void refresher_loop(void)
{
	int64_t next;
	int ok;
	int has_map;

	LM_INFO("e911: site map refresher started (%s every %d s)\n",
			e911_sitemap_cfg.url, e911_sitemap_cfg.refresh);
	lock_get(&sm->lock);
	has_map = sm->map != NULL;
	lock_release(&sm->lock);
	next = now_s()
		   + (has_map || e911_sitemap_cfg.refresh < SM_RETRY_S
						   ? e911_sitemap_cfg.refresh
						   : SM_RETRY_S);
	for(;;) {
		sleep(1);
		cfg_update();
		if(now_s() < next)
			continue;
		ok = sm_refresh() == 0;
		lock_get(&sm->lock);
		has_map = sm->map != NULL;
		lock_release(&sm->lock);
		/* without any map yet, try again soon */
		next = now_s()
			   + (ok || has_map || e911_sitemap_cfg.refresh < SM_RETRY_S
							   ? e911_sitemap_cfg.refresh
							   : SM_RETRY_S);
	}
}

int e911_sitemap_child_init(int rank)
{
	int pid;

	if(sm == NULL || rank != PROC_MAIN)
		return 0;
	pid = fork_process(PROC_NOCHLDINIT, "e911 site map", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		refresher_loop();
		exit(-1);
	}
	return 0;
}

/* ---- lookups ---- */

/* Copies site i of the current map into hit (lock held). */
static void copy_site_locked(int i, e911_site_hit_t *hit)
{
	const e911_record_t *r = e911_sitemap_site_record(sm->map, i);

	snprintf(hit->id, sizeof(hit->id), "%s", e911_sitemap_site_id(sm->map, i));
	memcpy(hit->buf, r, r->size);
	hit->rec = (const e911_record_t *)hit->buf;
}

int e911_sitemap_lookup_addr(const char *addr, e911_site_hit_t *hit)
{
	e911_ipaddr_t a;
	int site;

	if(addr == NULL || e911_ipaddr_parse(addr, strlen(addr), &a) < 0)
		return -1;
	if(sm == NULL)
		return 0;
	lock_get(&sm->lock);
	site = e911_sitemap_match_addr(sm->map, &a);
	if(site != E911_SITE_NONE)
		copy_site_locked(site, hit);
	lock_release(&sm->lock);
	return site != E911_SITE_NONE;
}

int e911_sitemap_lookup_bssid(uint64_t bssid, e911_site_hit_t *hit)
{
	int site;

	if(sm == NULL)
		return 0;
	lock_get(&sm->lock);
	site = e911_sitemap_match_bssid(sm->map, bssid);
	if(site != E911_SITE_NONE)
		copy_site_locked(site, hit);
	lock_release(&sm->lock);
	return site != E911_SITE_NONE;
}

static counter_val_t sm_stat_sites(void)
{
	e911_sitemap_counts_t c;

	if(sm == NULL)
		return 0;
	lock_get(&sm->lock);
	e911_sitemap_counts(sm->map, &c);
	lock_release(&sm->lock);
	return (counter_val_t)c.sites;
}

static counter_val_t sm_stat_bytes(void)
{
	e911_sitemap_counts_t c;

	if(sm == NULL)
		return 0;
	lock_get(&sm->lock);
	e911_sitemap_counts(sm->map, &c);
	lock_release(&sm->lock);
	return (counter_val_t)c.bytes;
}

/* ---- RPC ---- */

typedef struct sm_row
{
	char id[E911_SITE_ID_MAX + 1];
	char address[256];
	uint32_t networks;
	uint32_t bssids;
} sm_row_t;

static const char *sm_sites_doc[] = {
		"The site map: source, age, counts, the last error and the sites "
		"(at most [limit], default 100).",
		0};

static void rpc_sites(rpc_t *rpc, void *c)
{
	e911_sitemap_counts_t cnt;
	sm_shared_t copy;
	sm_row_t *rows = NULL;
	void *th;
	void *sh;
	void *st;
	int limit = SM_LIST_DEFAULT;
	int n = 0;
	int i;
	int64_t now = now_s();

	if(sm == NULL) {
		rpc->fault(c, 404, "no site map configured (sites_url)");
		return;
	}
	if(rpc->scan(c, "*d", &limit) < 1)
		limit = SM_LIST_DEFAULT;
	if(limit < 0)
		limit = 0;
	if(limit > SM_LIST_MAX)
		limit = SM_LIST_MAX;
	if(limit > 0) {
		rows = pkg_malloc(sizeof(*rows) * limit);
		if(rows == NULL) {
			rpc->fault(c, 500, "out of memory");
			return;
		}
	}
	lock_get(&sm->lock);
	memcpy(&copy, sm, sizeof(copy));
	e911_sitemap_counts(sm->map, &cnt);
	for(i = 0; rows && i < (int)cnt.sites && n < limit; i++, n++) {
		snprintf(rows[n].id, sizeof(rows[n].id), "%s",
				e911_sitemap_site_id(sm->map, i));
		e911_address_line(e911_sitemap_site_record(sm->map, i), rows[n].address,
				sizeof(rows[n].address));
		rows[n].networks = e911_sitemap_site_networks(sm->map, i);
		rows[n].bssids = e911_sitemap_site_bssids(sm->map, i);
	}
	lock_release(&sm->lock);

	if(rpc->add(c, "{", &th) < 0)
		goto out;
	rpc->struct_add(th, "sds", "source", e911_sitemap_cfg.url, "loaded",
			copy.map != NULL, "last_error",
			copy.last_error[0] ? copy.last_error : "");
	rpc->struct_add(th, "ddddd", "age",
			copy.map ? (int)(now - copy.loaded_at) : -1, "checked_ago",
			copy.checked_at ? (int)(now - copy.checked_at) : -1, "loads",
			(int)copy.loads, "unchanged", (int)copy.unchanged, "failures",
			(int)copy.failures);
	rpc->struct_add(th, "ddddddd", "sites", (int)cnt.sites, "prefixes_v4",
			(int)cnt.prefixes4, "prefixes_v6", (int)cnt.prefixes6, "bssids",
			(int)cnt.bssids, "intervals_v4", (int)cnt.intervals4,
			"intervals_v6", (int)cnt.intervals6, "bytes", (int)cnt.bytes);
	if(rpc->struct_add(th, "[", "list", &sh) < 0)
		goto out;
	for(i = 0; i < n; i++) {
		if(rpc->array_add(sh, "{", &st) < 0)
			break;
		rpc->struct_add(st, "ssdd", "id", rows[i].id, "address",
				rows[i].address, "networks", (int)rows[i].networks, "bssids",
				(int)rows[i].bssids);
	}
out:
	if(rows)
		pkg_free(rows);
}

static const char *sm_match_doc[] = {
		"Which site a network maps to: <ip> [bssid] (the BSSID is looked up "
		"first, as for a call).",
		0};

static void rpc_match(rpc_t *rpc, void *c)
{
	e911_site_hit_t *hit;
	str ip = STR_NULL;
	str bssid = STR_NULL;
	char ipbuf[64];
	char addr[256];
	uint64_t b = 0;
	int found = 0;
	const char *by = "address";
	void *th;

	if(sm == NULL) {
		rpc->fault(c, 404, "no site map configured (sites_url)");
		return;
	}
	if(rpc->scan(c, "S", &ip) < 1 || ip.len <= 0
			|| ip.len >= (int)sizeof(ipbuf)) {
		rpc->fault(c, 400, "expected <ip> [bssid]");
		return;
	}
	if(rpc->scan(c, "*S", &bssid) < 1)
		bssid.len = 0;
	memcpy(ipbuf, ip.s, ip.len);
	ipbuf[ip.len] = '\0';
	if(bssid.len > 0 && e911_bssid_parse(bssid.s, bssid.len, &b) < 0) {
		rpc->fault(c, 400, "not a BSSID (00:11:22:33:44:55)");
		return;
	}
	hit = pkg_malloc(sizeof(*hit));
	if(hit == NULL) {
		rpc->fault(c, 500, "out of memory");
		return;
	}
	if(bssid.len > 0) {
		found = e911_sitemap_lookup_bssid(b, hit);
		by = "bssid";
	}
	if(found <= 0) {
		found = e911_sitemap_lookup_addr(ipbuf, hit);
		by = "address";
	}
	if(found < 0) {
		pkg_free(hit);
		rpc->fault(c, 400, "not an IPv4 or IPv6 address");
		return;
	}
	if(rpc->add(c, "{", &th) < 0) {
		pkg_free(hit);
		return;
	}
	if(found == 0) {
		rpc->struct_add(th, "sss", "ip", ipbuf, "site", "", "match", "none");
	} else {
		e911_address_line(hit->rec, addr, sizeof(addr));
		rpc->struct_add(th, "sssss", "ip", ipbuf, "site", hit->id, "match", by,
				"address", addr, "method", e911_network_method(by[0] == 'b'));
	}
	pkg_free(hit);
}

/* clang-format off */
rpc_export_t e911_sitemap_rpc[] = {
	{"e911.sites", rpc_sites, sm_sites_doc, 0},
	{"e911.match", rpc_match, sm_match_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
