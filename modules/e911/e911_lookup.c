/*
 * e911 module - locating a caller
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The lookup state machine:
 *
 *   cache fresh      -> fresh (source cache)
 *   cache negative   -> none
 *   otherwise fetch:  200 -> cache it, fresh (source service)
 *                     404 -> negative-cache it, none
 *                     error/timeout -> stale record if the cache still has
 *                                      one (source stale/snapshot), else
 *                                      unavailable
 *
 * Nothing here keeps a pointer into shared memory: the cache copies the
 * record into this process's buffer.
 */

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/pt.h"

#include "e911_dmq.h"
#include "e911_lookup.h"
#include "core/e911_concurrency.h"

e911_lookup_cfg_t e911_lookup_cfg = {
		.param =
				{
						.location_url = "",
						.location_url_backup = "",
						.timeout_ms = 1000,
						.connect_timeout_ms = 300,
						.auth_header = "",
						.tls_verify = 1,
						.tls_ca_file = "",
						.field_map = "",
						.cache_ttl = 300,
						.negative_ttl = 30,
						.stale_ttl = 86400,
						.cache_size = 100000,
						.cache_max_bytes = 0,
						.breaker_failures = 3,
						.breaker_cooldown = 30,
						.probe_interval = 1000,
						.error_ttl = 5,
						.health_url = "",
						.health_url_backup = "",
						.probe_key = "e911-probe",
						.http2 = "auto",
				},
};
static e911_fieldmap_t *fieldmap = NULL;
e911_cache_t *e911_cache = NULL;
e911_stats_t e911_st;

static e911_loc_t cur;
static e911_fetch_xfer_t xfer[2]; /* reused per process: primary, backup */

int e911_lookup_init(void)
{
	e911_lookup_cfg_t *c = &e911_lookup_cfg;
	char err[160];
	uint64_t max_bytes;
	e911_http2_t h2;

	if(e911_url_tmpl_check(c->param.location_url, err, sizeof(err)) < 0) {
		LM_ERR("e911: modparam location_url: %s\n", err);
		return -1;
	}
	if(c->param.location_url_backup[0]
			&& e911_url_tmpl_check(
					   c->param.location_url_backup, err, sizeof(err))
					   < 0) {
		LM_ERR("e911: modparam location_url_backup: %s\n", err);
		return -1;
	}
	if(c->param.timeout_ms <= 0 || c->param.connect_timeout_ms <= 0
			|| c->param.cache_ttl < 0 || c->param.negative_ttl < 0
			|| c->param.stale_ttl < 0 || c->param.cache_size <= 0
			|| c->param.cache_max_bytes < 0) {
		LM_ERR("e911: timeouts, TTLs and cache sizes must not be "
			   "negative\n");
		return -1;
	}
	if(c->param.connect_timeout_ms > c->param.timeout_ms)
		c->param.connect_timeout_ms = c->param.timeout_ms;
	if(c->param.auth_header[0]
			&& (strchr(c->param.auth_header, ':') == NULL
					|| strpbrk(c->param.auth_header, "\r\n") != NULL)) {
		LM_ERR("e911: modparam auth_header must be one \"Name: value\" "
			   "header line\n");
		return -1;
	}

	c->fetch.url_tmpl = c->param.location_url;
	c->fetch.timeout_ms = c->param.timeout_ms;
	c->fetch.connect_timeout_ms = c->param.connect_timeout_ms;
	c->fetch.auth_header = c->param.auth_header;
	c->fetch.tls_ca_file = c->param.tls_ca_file;
	c->fetch.tls_verify = c->param.tls_verify ? 1 : 0;
	if(e911_http2_parse(c->param.http2, &h2) < 0) {
		LM_ERR("e911: modparam http2 must be auto, off or h2c, not '%s'\n",
				c->param.http2);
		return -1;
	}
	if(e911_http2_supported(h2, curl_version_info(CURLVERSION_NOW)->version_num,
			   err, sizeof(err))
			< 0) {
		LM_ERR("e911: modparam http2: %s\n", err);
		return -1;
	}
	c->fetch.http2 = (int)h2;
	if(c->param.field_map[0]) {
		fieldmap = e911_fieldmap_parse(c->param.field_map, err, sizeof(err));
		if(fieldmap == NULL) {
			LM_ERR("e911: modparam field_map: %s\n", err);
			return -1;
		}
	}
	c->fetch.fieldmap = fieldmap;
	c->fetch_backup = c->fetch;
	c->fetch_backup.url_tmpl = c->param.location_url_backup[0]
									   ? c->param.location_url_backup
									   : NULL;
	c->cache_ttl = c->param.cache_ttl;
	c->negative_ttl = c->param.negative_ttl;
	c->stale_ttl = c->param.stale_ttl;
	if(!c->param.tls_verify)
		LM_WARN("e911: TLS certificate verification of the location "
				"service is disabled\n");

	/* the cache gets at most an eighth of shared memory unless told: the
	 * transactions of the calls themselves need the rest */
	max_bytes = c->param.cache_max_bytes > 0
						? (uint64_t)c->param.cache_max_bytes
						: (uint64_t)shm_mem_size / 8;
	/* the table itself (buckets and locks, ~12 bytes an entry) must fit in
	 * that share too: a cache_size shared memory cannot hold is reduced,
	 * with a warning, rather than refusing to start */
	if((uint64_t)c->param.cache_size * 12 > max_bytes / 2) {
		int fit = (int)(max_bytes / 2 / 12);
		LM_WARN("e911: cache_size %d does not fit in %llu bytes of shared "
				"memory for the cache: using %d (raise -m or lower "
				"cache_size)\n",
				c->param.cache_size, (unsigned long long)max_bytes, fit);
		c->param.cache_size = fit > 16 ? fit : 16;
	}
	e911_cache = e911_cache_new((uint32_t)c->param.cache_size, max_bytes);
	if(e911_cache == NULL) {
		LM_ERR("e911: cannot create the location cache in shared memory\n");
		return -1;
	}

	if(c->param.probe_interval < 10 || c->param.error_ttl < 0
			|| c->param.breaker_cooldown < 1) {
		LM_ERR("e911: probe_interval must be at least 10 ms, error_ttl not "
			   "negative, breaker_cooldown at least 1 s\n");
		return -1;
	}
	if((c->param.health_url[0]
			   && strncasecmp(c->param.health_url, "http", 4) != 0)
			|| (c->param.health_url_backup[0]
					&& strncasecmp(c->param.health_url_backup, "http", 4)
							   != 0)) {
		LM_ERR("e911: modparams health_url and health_url_backup must be "
			   "http(s) URLs\n");
		return -1;
	}
	if(!e911_key_usable(c->param.probe_key, strlen(c->param.probe_key))
			&& (c->param.health_url[0] == '\0'
					|| (c->fetch_backup.url_tmpl
							&& c->param.health_url_backup[0] == '\0'))) {
		LM_ERR("e911: modparam probe_key must be a usable key when a "
			   "service has no health_url\n");
		return -1;
	}
	c->error_ttl_ms = c->param.error_ttl * 1000;
	c->health_url[0] = c->param.health_url[0] ? c->param.health_url : NULL;
	c->health_url[1] =
			c->param.health_url_backup[0] ? c->param.health_url_backup : NULL;
	c->probe_key = c->param.probe_key;
	e911_shared = shm_malloc(sizeof(*e911_shared));
	if(e911_shared == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(e911_shared, 0, sizeof(*e911_shared));
	e911_shared->breaker[0] = e911_breaker_new(c->param.breaker_failures,
			c->param.breaker_cooldown, c->param.probe_interval);
	e911_shared->breaker[1] = e911_breaker_new(c->param.breaker_failures,
			c->param.breaker_cooldown, c->param.probe_interval);
	e911_shared->keyerr = e911_keyerr_new(4096);
	if(e911_shared->breaker[0] == NULL || e911_shared->breaker[1] == NULL
			|| e911_shared->keyerr == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	return 0;
}

void e911_lookup_destroy(void)
{
	if(e911_cache) {
		e911_cache_destroy(e911_cache);
		e911_cache = NULL;
	}
	e911_fieldmap_free(fieldmap);
	fieldmap = NULL;
}

e911_loc_t *e911_loc_get(sip_msg_t *msg)
{
	if(!cur.valid)
		return NULL;
	if(cur.any_msg)
		return &cur;
	if(msg == NULL || cur.msg_id != msg->id || cur.msg_pid != msg->pid)
		return NULL;
	return &cur;
}

void e911_loc_clear(void)
{
	cur.valid = 0;
	cur.any_msg = 0;
	cur.rec = NULL;
}

static void loc_reset(sip_msg_t *msg, str *key)
{
	cur.msg_id = msg ? msg->id : 0;
	cur.msg_pid = msg ? msg->pid : 0;
	cur.valid = 1;
	cur.any_msg = 0;
	cur.status = E911_LOC_UNAVAILABLE;
	cur.source = E911_SRC_NONE;
	cur.fetched_at = 0;
	cur.lookup_ms = 0;
	cur.rec = NULL;
	cur.route_reason = NULL;
	cur.route_uri[0] = '\0';
	memcpy(cur.key, key->s, key->len);
	cur.key[key->len] = '\0';
}

/* freshness per the contract: max_age > 0 wins, 0 means never fresh */
static int64_t fresh_until(const e911_record_t *rec, int64_t now)
{
	return e911_fresh_until(rec, now, e911_lookup_cfg.cache_ttl);
}

static int key_ok(str *key)
{
	return key != NULL && key->len > 0
		   && e911_key_usable(key->s, (size_t)key->len);
}

/* --- the services and their breakers --- */

e911_shared_t *e911_shared = NULL;

e911_fetch_cfg_t *e911_service_cfg(int which)
{
	if(which == 0)
		return &e911_lookup_cfg.fetch;
	return e911_lookup_cfg.fetch_backup.url_tmpl ? &e911_lookup_cfg.fetch_backup
												 : NULL;
}

int64_t e911_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *svc_name(int which)
{
	return which ? "backup" : "primary";
}

int e911_service_allowed(int which)
{
	if(e911_service_cfg(which) == NULL)
		return 0;
	return e911_breaker_allow(e911_shared->breaker[which]);
}

void e911_service_closed(int which, e911_breaker_close_t *cl, const char *how)
{
	int64_t now = e911_now_ms();
	int forgot = 0;

	update_stat(e911_st.breaker_closes, 1);
	/* after a real outage the timeouts of those minutes were the
	 * service's, not the keys': locate those callers again at once */
	if(cl->probe_failed)
		forgot = e911_keyerr_forget_since(e911_shared->keyerr, cl->outage_from);
	LM_NOTICE("e911: %s location service answers again (%s): breaker closed "
			  "after %lld ms open (it opened on %s)%s\n",
			svc_name(which), how, (long long)(now - cl->opened_at),
			e911_fail_name(cl->reason),
			forgot ? ", keys that timed out during the outage are asked "
					 "again"
				   : "");
}

void e911_service_report(int which, e911_fetch_res_t *fres)
{
	e911_breaker_t *b = e911_shared->breaker[which];
	e911_breaker_close_t cl;
	e911_breaker_t snap;
	char counts[160];
	char how[64];
	int r;

	/* a request that never reached the service (our own queue) is
	 * counted by the queue's statistics, not as the service's error */
	if(fres->fail == E911_FAIL_TIMEOUT)
		update_stat(e911_st.fetch_timeouts, 1);
	else if(fres->fail != E911_FAIL_NONE && fres->fail != E911_FAIL_LOCAL)
		update_stat(e911_st.fetch_errors, 1);
	r = e911_breaker_report(b, fres->fail, e911_now_ms(), &cl);
	if(r > 0) {
		update_stat(e911_st.breaker_opens, 1);
		e911_breaker_get(b, &snap);
		LM_ERR("e911: %s location service: %d slow or transport failures in "
			   "a row (%s): breaker open, calls use cached records or the "
			   "fallback route without waiting; probing every %lld ms\n",
				svc_name(which), snap.threshold,
				e911_fail_counts_str(
						snap.reason_counts, counts, sizeof(counts)),
				(long long)snap.probe_interval_ms);
	} else if(r < 0) {
		snprintf(how, sizeof(how), "a lookup got HTTP %ld", fres->http_code);
		e911_service_closed(which, &cl, how);
	}
}

int e911_key_blocked(str *key, e911_fetch_res_t *fres)
{
	e911_keyerr_hit_t hit;
	int64_t now = e911_now_ms();

	if(e911_lookup_cfg.error_ttl_ms <= 0
			|| !e911_keyerr_check(
					e911_shared->keyerr, key->s, key->len, now, &hit))
		return 0;
	update_stat(e911_st.key_error_hits, 1);
	memset(fres, 0, sizeof(*fres));
	fres->status = E911_FETCH_ERROR;
	fres->fail = E911_FAIL_LOCAL;
	snprintf(fres->err, sizeof(fres->err),
			"its lookup failed %lld ms ago (%s, %u in a row): not asked for "
			"another %lld ms",
			(long long)(now - hit.at), e911_fail_name(hit.kind), hit.fails,
			(long long)(hit.until - now));
	return 1;
}

void e911_key_outcome(str *key, e911_fetch_res_t *fres)
{
	if(e911_lookup_cfg.error_ttl_ms <= 0)
		return;
	if(e911_keyerr_note(e911_shared->keyerr, key->s, key->len, fres->fail,
			   e911_now_ms(), e911_lookup_cfg.error_ttl_ms)
			> 0)
		update_stat(e911_st.key_errors, 1);
}

static void service_fetch(str *key, e911_fetch_res_t *fres, int memory)
{
	int which;
	int asked = 0;

	memset(fres, 0, sizeof(*fres));
	fres->status = E911_FETCH_ERROR;
	fres->fail = E911_FAIL_LOCAL;
	if(memory && e911_key_blocked(key, fres))
		return;
	for(which = 0; which < 2; which++) {
		if(!e911_service_allowed(which))
			continue;
		asked = 1;
		e911_fetch(
				&xfer[which], e911_service_cfg(which), key->s, key->len, fres);
		e911_service_report(which, fres);
		if(fres->status == E911_FETCH_OK || fres->status == E911_FETCH_NOTFOUND)
			break;
		if(which == 0 && e911_service_cfg(1))
			LM_WARN("e911: primary location service failed for key '%.*s' "
					"(%s), trying the backup\n",
					key->len, key->s, fres->err);
	}
	if(!asked) {
		snprintf(fres->err, sizeof(fres->err),
				"breaker open: location service not asked");
		return;
	}
	e911_key_outcome(key, fres);
}

void e911_service_fetch(str *key, e911_fetch_res_t *fres)
{
	service_fetch(key, fres, 1);
}

void e911_service_fetch_any(str *key, e911_fetch_res_t *fres)
{
	service_fetch(key, fres, 0);
}

/* --- lookups --- */

int e911_lookup_start(sip_msg_t *msg, str *key)
{
	e911_cache_res_t cres;
	e911_cstate_t cs;

	if(!key_ok(key)) {
		str empty = {"", 0};
		LM_ERR("e911: key '%.*s%s' is an invalid lookup key (empty, '.', "
			   "'..' or over %d bytes): no location\n",
				(key && key->s && key->len > 0)
						? (key->len > 32 ? 32 : key->len)
						: 0,
				(key && key->s) ? key->s : "",
				(key && key->len > 32) ? "..." : "", E911_KEY_MAX);
		loc_reset(msg, &empty);
		return -1;
	}
	loc_reset(msg, key);
	update_stat(e911_st.lookups, 1);
	cs = e911_cache_lookup(e911_cache, key->s, key->len, (int64_t)time(NULL),
			&cres, cur.buf, sizeof(cur.buf));
	if(cs == E911_CS_FRESH) {
		update_stat(e911_st.cache_hits, 1);
		cur.rec = cres.rec;
		cur.status = E911_LOC_FRESH;
		cur.source = E911_SRC_CACHE;
		cur.fetched_at = cres.fetched_at;
		return 1;
	}
	if(cs == E911_CS_NEGATIVE) {
		update_stat(e911_st.negative_hits, 1);
		cur.status = E911_LOC_NONE;
		return 1;
	}
	update_stat(e911_st.cache_misses, 1);
	return 0;
}

/* Serves the cached record for cur.key as stale (the service failed, why
 * says how; NULL: the service was deliberately not asked, nothing to warn
 * about), or marks the outcome unavailable. */
static int serve_stale(const char *why)
{
	e911_cache_res_t cres;
	e911_cstate_t cs;
	e911_source_t src;
	int64_t now = (int64_t)time(NULL);
	int klen = strlen(cur.key);
	int st;

	cs = e911_cache_lookup(
			e911_cache, cur.key, klen, now, &cres, cur.buf, sizeof(cur.buf));
	if((cs == E911_CS_FRESH || cs == E911_CS_STALE) && cres.rec == NULL)
		cs = E911_CS_MISS;
	st = e911_outcome_without_service(cs, cres.origin, &src);
	cur.status = st;
	cur.source = src;
	if(st == E911_LOC_FRESH || st == E911_LOC_STALE) {
		cur.rec = cres.rec;
		cur.fetched_at = cres.fetched_at;
	}
	if(st == E911_LOC_STALE) {
		update_stat(src == E911_SRC_SNAPSHOT ? e911_st.snapshot_served
											 : e911_st.stale_served,
				1);
		if(why)
			LM_WARN("e911: no answer from the location service for key '%s' "
					"(%s): serving the last good record, %lld s old\n",
					cur.key, why, (long long)(now - cres.fetched_at));
	} else if(st == E911_LOC_UNAVAILABLE && why) {
		LM_ERR("e911: no answer from the location service for key '%s' (%s) "
			   "and no record is cached\n",
				cur.key, why);
	}
	return st;
}

int e911_lookup_apply(str *key, e911_fetch_res_t *fres)
{
	int64_t now = (int64_t)time(NULL);
	int64_t until;

	cur.lookup_ms = fres->elapsed_ms;
	switch(fres->status) {
		case E911_FETCH_OK:
			until = fresh_until(fres->rec, now);
			if(e911_cache_put(e911_cache, key->s, key->len, fres->rec, now,
					   until, until + e911_lookup_cfg.stale_ttl,
					   E911_ORIGIN_SERVICE)
					< 0)
				LM_WARN("e911: no cache memory for key '%.*s': record used "
						"for this call only\n",
						key->len, key->s);
			e911_dmq_put(key->s, key->len, fres->rec, now);
			if(fres->err[0])
				LM_WARN("e911: key '%.*s': %s\n", key->len, key->s, fres->err);
			memcpy(cur.buf, fres->rec, fres->rec->size);
			cur.rec = (e911_record_t *)cur.buf;
			cur.status = E911_LOC_FRESH;
			cur.source = E911_SRC_SERVICE;
			cur.fetched_at = now;
			free(fres->rec);
			fres->rec = NULL;
			LM_DBG("e911: key '%.*s' fetched in %ld ms\n", key->len, key->s,
					fres->elapsed_ms);
			return cur.status;
		case E911_FETCH_NOTFOUND:
			e911_cache_put_negative(e911_cache, key->s, key->len, now,
					now + e911_lookup_cfg.negative_ttl);
			e911_dmq_remove(key->s, key->len, now);
			LM_NOTICE("e911: no registered location for key '%.*s'\n", key->len,
					key->s);
			cur.status = E911_LOC_NONE;
			return cur.status;
		default:
			return serve_stale(fres->err);
	}
}

int e911_lookup_blocking(sip_msg_t *msg, str *key)
{
	e911_fetch_res_t fres;
	int rc = e911_lookup_start(msg, key);

	if(rc != 0)
		return cur.status;
	e911_service_fetch(key, &fres);
	return e911_lookup_apply(key, &fres);
}

int e911_lookup_apply_resumed(str *key, e911_fetch_res_t *fres)
{
	if(!key_ok(key))
		return E911_LOC_UNAVAILABLE;
	loc_reset(NULL, key);
	cur.any_msg = 1;
	return e911_lookup_apply(key, fres);
}

int e911_service_available(void)
{
	return e911_service_allowed(0) || e911_service_allowed(1);
}

int e911_lookup_refetch(sip_msg_t *msg, str *key)
{
	e911_fetch_res_t fres;

	if(!key_ok(key))
		return E911_LOC_UNAVAILABLE;
	loc_reset(msg, key);
	e911_service_fetch(key, &fres);
	return e911_lookup_apply(key, &fres);
}

int e911_lookup_cache_only(sip_msg_t *msg, str *key, int any_msg)
{
	if(!key_ok(key)) {
		str empty = {"", 0};
		loc_reset(msg, &empty);
		cur.any_msg = any_msg;
		return cur.status;
	}
	loc_reset(msg, key);
	cur.any_msg = any_msg;
	return serve_stale(NULL);
}

void e911_lookup_child_destroy(void)
{
	e911_fetch_xfer_free(&xfer[0]);
	e911_fetch_xfer_free(&xfer[1]);
}
