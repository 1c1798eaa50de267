/*
 * e911 module - RPC commands and statistics callbacks
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * kamcmd e911.get <key>     one cache entry, with its record
 * kamcmd e911.list [limit]  the cached keys, their state and age
 * kamcmd e911.flush [key]   drop one entry, or all of them
 * kamcmd e911.refresh <key> fetch the key from the service now
 * kamcmd e911.stats         cache, breakers and lookup counters
 *
 * Entries are copied out of the cache before anything is added to the RPC
 * reply, so no cache lock is held while the reply is built.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/dprint.h"

#include "e911_dmq.h"
#include "e911_lookup.h"
#include "core/e911_pidf.h"
#include "e911_rpc.h"

#define LIST_DEFAULT 1000

static const char *state_name(e911_cstate_t st)
{
	switch(st) {
		case E911_CS_FRESH:
			return "fresh";
		case E911_CS_STALE:
			return "stale";
		case E911_CS_NEGATIVE:
			return "negative";
		default:
			return "miss";
	}
}

counter_val_t e911_stat_evictions(void)
{
	e911_cache_stats_t st;

	if(e911_cache == NULL)
		return 0;
	e911_cache_get_stats(e911_cache, &st);
	return (counter_val_t)st.evictions;
}

counter_val_t e911_stat_entries(void)
{
	e911_cache_stats_t st;

	if(e911_cache == NULL)
		return 0;
	e911_cache_get_stats(e911_cache, &st);
	return (counter_val_t)st.entries;
}

/* Reads an optional key parameter, string or number (kamcmd sends digits
 * as a number unless prefixed with s:). Returns 1 with *key set (buf holds
 * a converted number), 0 when there is no parameter, -1 on a bad one. */
static int scan_key(rpc_t *rpc, void *c, str *key, char *buf, size_t size)
{
	int num;

	if(rpc->scan(c, "*S", key) == 1)
		return 1;
	if(rpc->scan(c, "*d", &num) == 1) {
		key->len = snprintf(buf, size, "%d", num);
		key->s = buf;
		return 1;
	}
	return 0;
}

static const char *e911_rpc_get_doc[] = {
		"Show the cache entry of a key: state, origin, times, hits and the "
		"record (contract JSON) with its one-line address.",
		0};

static void e911_rpc_get(rpc_t *rpc, void *c)
{
	static uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	char addr[512];
	e911_cache_res_t res;
	e911_cstate_t st;
	int64_t now = (int64_t)time(NULL);
	char *json = NULL;
	char kbuf[32];
	void *th;
	str key;

	if(scan_key(rpc, c, &key, kbuf, sizeof(kbuf)) < 1) {
		rpc->fault(c, 400, "Missing key");
		return;
	}
	st = e911_cache_lookup(
			e911_cache, key.s, key.len, now, &res, buf, sizeof(buf));
	if(st == E911_CS_MISS) {
		rpc->fault(c, 404, "Key not cached");
		return;
	}
	if(rpc->add(c, "{", &th) < 0) {
		rpc->fault(c, 500, "Internal error");
		return;
	}
	rpc->struct_add(th, "Sssdddd", "key", &key, "state", state_name(st),
			"origin",
			res.origin == E911_ORIGIN_SNAPSHOT ? "snapshot" : "service", "age",
			(int)(now - res.fetched_at), "fresh_for",
			(int)(res.fresh_until - now), "stale_for",
			(int)(res.stale_until - now), "hits", (int)res.hits);
	if(res.rec) {
		json = e911_record_to_json(res.rec);
		if(e911_address_line(res.rec, addr, sizeof(addr)) < 0)
			addr[0] = '\0';
		rpc->struct_add(th, "ss", "address", addr, "record", json ? json : "");
		free(json);
	}
}

typedef struct list_item
{
	char key[E911_KEY_MAX + 1];
	e911_cstate_t state;
	e911_origin_t origin;
	int age;
	int hits;
} list_item_t;

typedef struct list_ctx
{
	int64_t now;
	int n;
	int max;
	list_item_t *items;
} list_ctx_t;

static int list_visit(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	list_ctx_t *l = arg;
	list_item_t *it;

	if(l->n >= l->max)
		return 1;
	it = &l->items[l->n++];
	memcpy(it->key, key, klen);
	it->key[klen] = '\0';
	it->state = res->state;
	it->origin = res->origin;
	it->age = (int)(l->now - res->fetched_at);
	it->hits = (int)res->hits;
	return 0;
}

static const char *e911_rpc_list_doc[] = {
		"List cached keys (at most the given number, default 1000) with "
		"state, origin, age and hits.",
		0};

static void e911_rpc_list(rpc_t *rpc, void *c)
{
	list_ctx_t l;
	void *th;
	int limit = LIST_DEFAULT;
	int i;

	if(rpc->scan(c, "*d", &limit) < 1 || limit <= 0)
		limit = LIST_DEFAULT;
	memset(&l, 0, sizeof(l));
	l.now = (int64_t)time(NULL);
	l.max = limit;
	l.items = malloc(sizeof(list_item_t) * limit);
	if(l.items == NULL) {
		rpc->fault(c, 500, "Out of memory");
		return;
	}
	e911_cache_walk(e911_cache, l.now, list_visit, &l);
	for(i = 0; i < l.n; i++) {
		if(rpc->add(c, "{", &th) < 0)
			break;
		rpc->struct_add(th, "sssdd", "key", l.items[i].key, "state",
				state_name(l.items[i].state), "origin",
				l.items[i].origin == E911_ORIGIN_SNAPSHOT ? "snapshot"
														  : "service",
				"age", l.items[i].age, "hits", l.items[i].hits);
	}
	free(l.items);
}

static const char *e911_rpc_flush_doc[] = {
		"Remove one key from the cache, or every entry when no key is "
		"given. Returns how many entries were removed.",
		0};

static void e911_rpc_flush(rpc_t *rpc, void *c)
{
	char kbuf[32];
	str key = {NULL, 0};
	int n;

	if(scan_key(rpc, c, &key, kbuf, sizeof(kbuf)) == 1)
		n = e911_cache_remove(e911_cache, key.s, key.len);
	else
		n = (int)e911_cache_flush(e911_cache);
	e911_dmq_flush_or_remove(key.s, key.len, (int64_t)time(NULL));
	rpc->add(c, "d", n);
}

static const char *e911_rpc_refresh_doc[] = {
		"Fetch a key from the location service now (blocking this RPC "
		"process up to timeout_ms) and update the cache; returns the "
		"outcome.",
		0};

static void e911_rpc_refresh(rpc_t *rpc, void *c)
{
	e911_fetch_res_t fres;
	e911_loc_t *loc;
	int status;
	char kbuf[32];
	void *th;
	str key;

	if(scan_key(rpc, c, &key, kbuf, sizeof(kbuf)) < 1) {
		rpc->fault(c, 400, "Missing key");
		return;
	}
	/* the same keys a lookup refuses: they never reach the service (nor
	 * count against its breaker) */
	if(key.len <= 0 || !e911_key_usable(key.s, (size_t)key.len)) {
		rpc->fault(c, 400, "Invalid key");
		return;
	}
	e911_service_fetch_any(&key, &fres);
	status = e911_lookup_apply_resumed(&key, &fres);
	loc = e911_loc_get(NULL);
	if(rpc->add(c, "{", &th) < 0) {
		e911_loc_clear();
		return;
	}
	rpc->struct_add(th, "Sss", "key", &key, "status", e911_status_name(status),
			"source", e911_source_name(loc ? loc->source : E911_SRC_NONE));
	if(fres.err[0])
		rpc->struct_add(th, "s", "error", fres.err);
	e911_loc_clear();
}

static const char *e911_rpc_stats_doc[] = {
		"Cache size and counters, and the state of the location service "
		"breakers.",
		0};

static void e911_rpc_stats(rpc_t *rpc, void *c)
{
	e911_cache_stats_t st;
	int64_t now = e911_now_ms();
	e911_breaker_t b;
	char counts[160];
	char probe[160];
	char name[40];
	const char *svc;
	void *th;
	int i;

	e911_cache_get_stats(e911_cache, &st);
	if(rpc->add(c, "{", &th) < 0)
		return;
	rpc->struct_add(th, "dddddd", "entries", (int)st.entries, "bytes",
			(int)st.bytes, "evictions", (int)st.evictions, "expired",
			(int)st.expired, "put_failed", (int)st.put_failed, "key_errors",
			e911_keyerr_count(e911_shared->keyerr, now));
	for(i = 0; i < 2; i++) {
		if(e911_service_cfg(i) == NULL)
			continue;
		svc = i == 0 ? "primary" : "backup";
		e911_breaker_get(e911_shared->breaker[i], &b);
		e911_fail_counts_str(b.reason_counts, counts, sizeof(counts));
		if(b.last_probe_at == 0)
			snprintf(probe, sizeof(probe), "none");
		else if(b.last_probe_code > 0)
			snprintf(probe, sizeof(probe), "HTTP %d in %d ms (%s)",
					b.last_probe_code, b.last_probe_ms,
					e911_fail_name(b.last_probe_kind));
		else
			snprintf(probe, sizeof(probe), "%s after %d ms",
					e911_fail_name(b.last_probe_kind), b.last_probe_ms);
		snprintf(name, sizeof(name), "%s_breaker", svc);
		rpc->struct_add(th, "s", name, b.open ? "open" : "closed");
		snprintf(name, sizeof(name), "%s_failures", svc);
		rpc->struct_add(th, "d", name, (int)b.failures);
		snprintf(name, sizeof(name), "%s_opens", svc);
		rpc->struct_add(th, "d", name, (int)b.opens);
		snprintf(name, sizeof(name), "%s_open_reason", svc);
		rpc->struct_add(
				th, "s", name, b.opens ? e911_fail_name(b.reason) : "none");
		snprintf(name, sizeof(name), "%s_open_failures", svc);
		rpc->struct_add(th, "s", name, b.opens ? counts : "");
		snprintf(name, sizeof(name), "%s_open_ms", svc);
		rpc->struct_add(th, "d", name, b.open ? (int)(now - b.opened_at) : 0);
		snprintf(name, sizeof(name), "%s_last_probe", svc);
		rpc->struct_add(th, "s", name, probe);
		snprintf(name, sizeof(name), "%s_last_probe_age_ms", svc);
		rpc->struct_add(th, "d", name,
				b.last_probe_at ? (int)(now - b.last_probe_at) : -1);
		snprintf(name, sizeof(name), "%s_probes", svc);
		rpc->struct_add(th, "d", name, (int)b.probes);
		snprintf(name, sizeof(name), "%s_probe_failures", svc);
		rpc->struct_add(th, "d", name, (int)b.probe_failures);
	}
}

/* clang-format off */
rpc_export_t e911_rpc_cmds[] = {
	{"e911.get", e911_rpc_get, e911_rpc_get_doc, 0},
	{"e911.list", e911_rpc_list, e911_rpc_list_doc, RET_ARRAY},
	{"e911.flush", e911_rpc_flush, e911_rpc_flush_doc, 0},
	{"e911.refresh", e911_rpc_refresh, e911_rpc_refresh_doc, 0},
	{"e911.stats", e911_rpc_stats, e911_rpc_stats_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
