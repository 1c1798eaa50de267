/*
 * e911 module - dispatchable location for emergency calls
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * This file is part of kamailio-e911, a module for Kamailio, a free SIP
 * server.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The module's exports: parameters, script functions and their KEMI twins,
 * the $e911(...) pseudo-variable and statistics, and the calls of each
 * component's init, child_init and destroy. Each script function is a thin
 * w_ wrapper that resolves its parameters and calls the component's
 * function, the one KEMI exports too; the work is done in the components:
 * e911_classify.c (classification), e911_lookup.c and e911_lookup_async.c
 * (lookup), e911_invite_rewrite.c (rewrite), ... and the pure core
 * (e911_record, e911_pidf, e911_dial, e911_cache, e911_fetch, e911_mime).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../core/sr_module.h"
#include "../../core/dprint.h"
#include "../../core/globals.h"
#include "../../core/mod_fix.h"
#include "../../core/pvar.h"
#include "../../core/kemi.h"
#include "../../core/counters.h"
#include "../../core/ut.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/rpc_lookup.h"
#include "../../core/ip_addr.h"

#include "e911_lookup_async.h"
#include "e911_audit.h"
#include "e911_by_reference.h"
#include "e911_device_location.h"
#include "e911_psap_callback.h"
#include "e911_notify.h"
#include "core/e911_dialplan.h"
#include "core/e911_dispatchable.h"
#include "core/e911_cidr.h"
#include "e911_lookup.h"
#include "e911_classify.h"
#include "e911_explain.h"
#include "e911_metrics.h"
#include "e911_readiness.h"
#include "core/e911_pidf.h"
#include "e911_pv.h"
#include "e911_register_check.h"
#include "e911_probe.h"
#include "e911_dmq.h"
#include "e911_rpc.h"
#include "e911_invite_rewrite.h"
#include "e911_location_precedence.h"
#include "e911_sitemap_confirm.h"
#include "e911_sitemap_store.h"

MODULE_VERSION


static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);

static int w_e911_is_emergency(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_is_emergency_number(sip_msg_t *msg, char *num, char *p2);
static int w_e911_locate(sip_msg_t *msg, char *key, char *p2);
static int w_e911_route(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_fallback(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_prefetch(sip_msg_t *msg, char *key, char *p2);
static int w_e911_locate_async(sip_msg_t *msg, char *key, char *route);
static int w_e911_notify(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_is_emergency_cc(sip_msg_t *msg, char *num, char *cc);
static int w_e911_dereference(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_is_psap_callback(sip_msg_t *msg, char *p1, char *p2);
static int w_e911_check(sip_msg_t *msg, char *key, char *p2);


/* clang-format off */
static cmd_export_t cmds[] = {
	{"e911_is_emergency", (cmd_function)w_e911_is_emergency, 0,
		0, 0, ANY_ROUTE},
	{"e911_is_emergency", (cmd_function)w_e911_is_emergency_number, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"e911_locate", (cmd_function)w_e911_locate, 1,
		fixup_spve_null, fixup_free_spve_null, REQUEST_ROUTE | FAILURE_ROUTE},
	{"e911_route", (cmd_function)w_e911_route, 0,
		0, 0, REQUEST_ROUTE | FAILURE_ROUTE},
	{"e911_fallback", (cmd_function)w_e911_fallback, 0,
		0, 0, REQUEST_ROUTE | FAILURE_ROUTE},
	{"e911_prefetch", (cmd_function)w_e911_prefetch, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"e911_locate_async", (cmd_function)w_e911_locate_async, 2,
		fixup_spve_spve, fixup_free_spve_spve, REQUEST_ROUTE},
	{"e911_notify", (cmd_function)w_e911_notify, 0,
		0, 0, REQUEST_ROUTE | FAILURE_ROUTE},
	{"e911_is_emergency", (cmd_function)w_e911_is_emergency_cc, 2,
		fixup_spve_spve, fixup_free_spve_spve, ANY_ROUTE},
	{"e911_dereference", (cmd_function)w_e911_dereference, 0,
		0, 0, REQUEST_ROUTE | EVENT_ROUTE},
	{"e911_is_psap_callback", (cmd_function)w_e911_is_psap_callback, 0,
		0, 0, ANY_ROUTE},
	{"e911_check", (cmd_function)w_e911_check, 1,
		fixup_spve_null, fixup_free_spve_null, REQUEST_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"location_url", PARAM_STRING, &e911_lookup_cfg.param.location_url},
	{"location_url_backup", PARAM_STRING, &e911_lookup_cfg.param.location_url_backup},
	{"breaker_failures", PARAM_INT, &e911_lookup_cfg.param.breaker_failures},
	{"breaker_cooldown", PARAM_INT, &e911_lookup_cfg.param.breaker_cooldown},
	{"probe_interval", PARAM_INT, &e911_lookup_cfg.param.probe_interval},
	{"error_ttl", PARAM_INT, &e911_lookup_cfg.param.error_ttl},
	{"health_url", PARAM_STRING, &e911_lookup_cfg.param.health_url},
	{"health_url_backup", PARAM_STRING, &e911_lookup_cfg.param.health_url_backup},
	{"probe_key", PARAM_STRING, &e911_lookup_cfg.param.probe_key},
	{"async_concurrency", PARAM_INT, &e911_async_cfg.concurrency},
	{"async_connections", PARAM_INT, &e911_async_cfg.connections},
	{"async_h2_streams", PARAM_INT, &e911_async_cfg.h2_streams},
	{"http2", PARAM_STRING, &e911_lookup_cfg.param.http2},
	{"async_workers", PARAM_INT, &e911_async_cfg.workers},
	{"async_max_inflight", PARAM_INT, &e911_async_cfg.max_inflight},
	{"refresh_ahead", PARAM_INT, &e911_async_cfg.refresh_ahead},
	{"snapshot_file", PARAM_STRING, &e911_async_cfg.snapshot_file},
	{"snapshot_interval", PARAM_INT, &e911_async_cfg.snapshot_interval},
	{"timeout_ms", PARAM_INT, &e911_lookup_cfg.param.timeout_ms},
	{"connect_timeout_ms", PARAM_INT, &e911_lookup_cfg.param.connect_timeout_ms},
	{"cache_ttl", PARAM_INT, &e911_lookup_cfg.param.cache_ttl},
	{"negative_ttl", PARAM_INT, &e911_lookup_cfg.param.negative_ttl},
	{"stale_ttl", PARAM_INT, &e911_lookup_cfg.param.stale_ttl},
	{"cache_size", PARAM_INT, &e911_lookup_cfg.param.cache_size},
	{"cache_max_bytes", PARAM_INT, &e911_lookup_cfg.param.cache_max_bytes},
	{"auth_header", PARAM_STRING, &e911_lookup_cfg.param.auth_header},
	{"tls_verify", PARAM_INT, &e911_lookup_cfg.param.tls_verify},
	{"tls_ca_file", PARAM_STRING, &e911_lookup_cfg.param.tls_ca_file},
	{"default_route", PARAM_STRING, &e911_rewrite_cfg.param.default_route},
	{"fallback_route", PARAM_STRING, &e911_rewrite_cfg.param.fallback_route},
	{"emergency_numbers", PARAM_STRING, &e911_dialplan_cfg.emergency_numbers},
	{"test_numbers", PARAM_STRING, &e911_dialplan_cfg.test_numbers},
	{"dial_prefixes", PARAM_STRING, &e911_dialplan_cfg.dial_prefixes},
	{"geolocation_routing", PARAM_INT, &e911_rewrite_cfg.geolocation_routing},
	{"domain", PARAM_STRING, &e911_rewrite_cfg.param.domain},
	{"callback_uri", PARAM_STRING, &e911_rewrite_cfg.param.callback_uri},
	{"test_route", PARAM_STRING, &e911_rewrite_cfg.param.test_route},
	{"location_mode", PARAM_STRING, &e911_reference_cfg.location_mode},
	{"profile", PARAM_STRING, &e911_rewrite_cfg.param.profile},
	{"provider_name", PARAM_STRING, &e911_rewrite_cfg.param.provider_name},
	{"provider_id", PARAM_STRING, &e911_rewrite_cfg.param.provider_id},
	{"provider_id_series", PARAM_STRING, &e911_rewrite_cfg.param.provider_id_series},
	{"provider_type", PARAM_STRING, &e911_rewrite_cfg.param.provider_type},
	{"provider_contact", PARAM_STRING, &e911_rewrite_cfg.param.provider_contact},
	{"provider_language", PARAM_STRING, &e911_rewrite_cfg.param.provider_language},
	{"service_environment", PARAM_STRING, &e911_rewrite_cfg.param.service_environment},
	{"service_type", PARAM_STRING, &e911_rewrite_cfg.param.service_type},
	{"service_mobility", PARAM_STRING, &e911_rewrite_cfg.param.service_mobility},
	{"reference_base_url", PARAM_STRING, &e911_reference_cfg.base_url},
	{"reference_ttl", PARAM_INT, &e911_reference_cfg.ttl},
	{"reference_max", PARAM_INT, &e911_reference_cfg.max},
	{"trust_loc_src", PARAM_INT, &e911_device_location_cfg.trust_loc_src},
	{"trusted_flag", PARAM_INT, &e911_device_location_cfg.trusted_flag},
	{"geolocation_allow", PARAM_STRING, &e911_device_location_cfg.geo_allow},
	{"location_preference", PARAM_STRING, &e911_device_location_cfg.preference},
	{"psap_callback_window", PARAM_INT, &e911_psap_callback_cfg.window},
	{"psap_callback_max", PARAM_INT, &e911_psap_callback_cfg.max},
	{"endpoint_id_to", PARAM_STRING, &e911_rewrite_cfg.param.endpoint_id_to},
	{"field_map", PARAM_STRING, &e911_lookup_cfg.param.field_map},
	{"dial_plan_file", PARAM_STRING, &e911_dialplan_cfg.dial_plan_file},
	{"default_country", PARAM_STRING, &e911_dialplan_cfg.default_country},
	{"notify_url", PARAM_STRING, &e911_notify_cfg.url},
	{"notify_auth_header", PARAM_STRING, &e911_notify_cfg.auth_header},
	{"notify_sip_uri", PARAM_STRING, &e911_notify_cfg.sip_uri},
	{"notify_sip_from", PARAM_STRING, &e911_notify_cfg.sip_from},
	{"notify_test_calls", PARAM_INT, &e911_notify_cfg.test_calls},
	{"notify_retries", PARAM_INT, &e911_notify_cfg.retries},
	{"notify_queue_size", PARAM_INT, &e911_notify_cfg.queue_size},
	{"notify_timeout_ms", PARAM_INT, &e911_notify_cfg.timeout_ms},
	{"audit_log", PARAM_STRING, &e911_audit_cfg.path},
	{"replicate", PARAM_INT, &e911_dmq_cfg.replicate},
	{"dmq_queue_size", PARAM_INT, &e911_dmq_cfg.queue_size},
	{"dmq_max_body", PARAM_INT, &e911_dmq_cfg.max_body},
	{"dmq_sync", PARAM_INT, &e911_dmq_cfg.sync},
	{"dmq_sync_timeout", PARAM_INT, &e911_dmq_cfg.sync_timeout},
	{"audit_include_location", PARAM_INT, &e911_audit_cfg.include_location},
	{"readiness_rate", PARAM_INT, &e911_readiness_cfg.rate},
	{"readiness_max", PARAM_INT, &e911_readiness_cfg.max},
	{"readiness_max_age_days", PARAM_INT, &e911_readiness_cfg.max_age_days},
	{"sites_url", PARAM_STRING, &e911_sitemap_cfg.url},
	{"sites_refresh", PARAM_INT, &e911_sitemap_cfg.refresh},
	{"sites_timeout_ms", PARAM_INT, &e911_sitemap_cfg.timeout_ms},
	{"sites_max_bytes", PARAM_INT, &e911_sitemap_cfg.max_bytes},
	{"location_precedence", PARAM_STRING, &e911_network_cfg.precedence},
	{"trusted_networks", PARAM_STRING, &e911_network_cfg.trusted},
	{"network_from", PARAM_STRING, &e911_network_cfg.from},
	{"confirm_window", PARAM_INT, &e911_confirm_cfg.window},
	{"confirm_max", PARAM_INT, &e911_confirm_cfg.max},
	{"confirm_message", PARAM_STRING, &e911_confirm_cfg.message},
	{"confirm_update_url", PARAM_STRING, &e911_confirm_cfg.update_url},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"e911", sizeof("e911") - 1}, PVT_OTHER, e911_pv_get, 0,
		e911_pv_parse_name, 0, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

static stat_export_t mod_stats[] = {
	{"lookups", 0, &e911_st.lookups},
	{"cache_hits", 0, &e911_st.cache_hits},
	{"cache_misses", 0, &e911_st.cache_misses},
	{"negative_hits", 0, &e911_st.negative_hits},
	{"stale_served", 0, &e911_st.stale_served},
	{"snapshot_served", 0, &e911_st.snapshot_served},
	{"fetch_errors", 0, &e911_st.fetch_errors},
	{"fetch_timeouts", 0, &e911_st.fetch_timeouts},
	{"fallback_routes", 0, &e911_st.fallback_routes},
	{"breaker_opens", 0, &e911_st.breaker_opens},
	{"breaker_closes", 0, &e911_st.breaker_closes},
	{"probes", 0, &e911_st.probes},
	{"probe_failures", 0, &e911_st.probe_failures},
	{"key_errors", 0, &e911_st.key_errors},
	{"key_error_hits", 0, &e911_st.key_error_hits},
	{"lookups_queued", 0, &e911_st.lookups_queued},
	{"queue_timeouts", 0, &e911_st.queue_timeouts},
	{"async_busy", 0, &e911_st.async_busy},
	{"notify_queued", 0, &e911_st.notify_queued},
	{"notify_sent", 0, &e911_st.notify_sent},
	{"notify_retried", 0, &e911_st.notify_retried},
	{"notify_failed", 0, &e911_st.notify_failed},
	{"notify_dropped", 0, &e911_st.notify_dropped},
	{"evictions", STAT_NO_RESET | STAT_IS_FUNC, (stat_var **)e911_stat_evictions},
	{"cache_entries", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)e911_stat_entries},
	{0, 0, 0}
};

struct module_exports exports = {
	"e911",			 /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,			 /* exported functions */
	params,			 /* exported parameters */
	e911_rpc_cmds,	 /* RPC method exports */
	mod_pvs,		 /* exported pseudo-variables */
	0,				 /* response handling function */
	mod_init,		 /* module initialization function */
	child_init,		 /* per-child init function */
	mod_destroy		 /* module destroy function */
};
/* clang-format on */

static int mod_init(void)
{
	const char *domain;
	e911_dmq_tables_t dmq_tables;

	if(e911_lookup_init() < 0 || e911_rewrite_init() < 0
			|| e911_classify_init() < 0 || e911_readiness_init() < 0)
		return -1;
	domain = e911_rewrite_cfg.domain.s;
	if(e911_async_init() < 0 || e911_probe_init() < 0) {
		LM_ERR("e911: cannot set up the background fetchers\n");
		return -1;
	}
	e911_snapshot_load();
	if(e911_reference_init(domain) < 0 || e911_device_location_init() < 0
			|| e911_psap_callback_init() < 0)
		return -1;
	dmq_tables.cache = e911_cache;
	dmq_tables.tokens = e911_reference_table();
	dmq_tables.recent = e911_callback_table();
	dmq_tables.cache_ttl = e911_lookup_cfg.cache_ttl;
	dmq_tables.stale_ttl = e911_lookup_cfg.stale_ttl;
	dmq_tables.cache_size = e911_lookup_cfg.param.cache_size;
	if(e911_dmq_init(&dmq_tables) < 0)
		return -1;
	if(e911_sitemap_init() < 0 || e911_location_precedence_init() < 0
			|| e911_confirm_init() < 0) {
		LM_ERR("e911: cannot set up the site map and location precedence\n");
		return -1;
	}
	if(e911_notify_init(domain) < 0 || e911_audit_init() < 0) {
		LM_ERR("e911: cannot set up notifications and the audit trail\n");
		return -1;
	}
	if(rpc_register_array(e911_audit_rpc) != 0
			|| rpc_register_array(e911_explain_rpc) != 0
			|| rpc_register_array(e911_readiness_rpc) != 0) {
		LM_ERR("e911: cannot register the audit, explain and readiness RPC "
			   "commands\n");
		return -1;
	}
	if(curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		LM_ERR("e911: curl_global_init failed\n");
		return -1;
	}
	if(register_module_stats("e911", mod_stats) != 0
			|| e911_metrics_init() < 0) {
		LM_ERR("e911: cannot register statistics\n");
		return -1;
	}
	e911_sitemap_load_initial();
	LM_INFO("e911: location service %s, cache %d entries, timeout %d ms\n",
			e911_lookup_cfg.param.location_url,
			e911_lookup_cfg.param.cache_size, e911_lookup_cfg.param.timeout_ms);
	return 0;
}

static int child_init(int rank)
{
	if(e911_async_child_init(rank) < 0 || e911_probe_child_init(rank) < 0
			|| e911_dmq_child_init(rank) < 0
			|| e911_sitemap_child_init(rank) < 0)
		return -1;
	return e911_notify_child_init(rank);
}

static void mod_destroy(void)
{
	e911_async_destroy();
	e911_audit_destroy();
	e911_lookup_child_destroy();
	e911_lookup_destroy();
	e911_classify_destroy();
}

/* The string value of script parameter p into *s; -1 (logged, naming
 * what) when it has none. */
static int param_str(sip_msg_t *msg, char *p, str *s, const char *what)
{
	if(fixup_get_svalue(msg, (gparam_t *)p, s) < 0) {
		LM_ERR("e911: cannot get the %s\n", what);
		return -1;
	}
	return 0;
}

/* --- classification (e911_classify.c) --- */

static int w_e911_is_emergency(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_is_emergency(msg);
}

static int w_e911_is_emergency_number(sip_msg_t *msg, char *num, char *p2)
{
	str s;

	if(param_str(msg, num, &s, "number parameter") < 0)
		return E911_DIAL_NONE;
	return e911_is_emergency_number(msg, &s);
}

static int w_e911_is_emergency_cc(sip_msg_t *msg, char *num, char *cc)
{
	str n;
	str c;

	if(param_str(msg, num, &n, "parameters") < 0
			|| param_str(msg, cc, &c, "parameters") < 0)
		return E911_DIAL_NONE;
	return e911_is_emergency_cc(msg, &n, &c);
}

/* --- lookup and rewrite --- */

static int w_e911_locate(sip_msg_t *msg, char *key, char *p2)
{
	str s;

	if(param_str(msg, key, &s, "key parameter") < 0)
		return E911_LOC_UNAVAILABLE;
	return e911_lookup_blocking(msg, &s);
}

static int w_e911_route(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_route_msg(msg);
}

static int w_e911_fallback(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_fallback_msg(msg);
}

static int ki_e911_prefetch(sip_msg_t *msg, str *key)
{
	return e911_prefetch_key(key);
}

static int w_e911_prefetch(sip_msg_t *msg, char *key, char *p2)
{
	str s;

	if(param_str(msg, key, &s, "key parameter") < 0)
		return -1;
	return e911_prefetch_key(&s);
}

static int w_e911_locate_async(sip_msg_t *msg, char *key, char *route)
{
	str k;
	str r;

	if(param_str(msg, key, &k, "parameters") < 0
			|| param_str(msg, route, &r, "parameters") < 0)
		return -1;
	return e911_lookup_async(msg, &k, &r);
}

/* --- references, callbacks, registration check, notifications --- */

static int w_e911_dereference(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_dereference(msg);
}

static int w_e911_is_psap_callback(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_is_psap_callback(msg);
}

static int w_e911_check(sip_msg_t *msg, char *key, char *p2)
{
	str s;

	if(param_str(msg, key, &s, "key parameter") < 0)
		return -3;
	return e911_register_check(msg, &s);
}

static int w_e911_notify(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_notify_call(msg);
}

/* clang-format off */
static sr_kemi_t sr_kemi_e911_exports[] = {
	{ str_init("e911"), str_init("e911_is_emergency"),
		SR_KEMIP_INT, e911_is_emergency,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_emergency_number"),
		SR_KEMIP_INT, e911_is_emergency_number,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_locate"),
		SR_KEMIP_INT, e911_lookup_blocking,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_route"),
		SR_KEMIP_INT, e911_route_msg,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_fallback"),
		SR_KEMIP_INT, e911_fallback_msg,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_prefetch"),
		SR_KEMIP_INT, ki_e911_prefetch,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_locate_async"),
		SR_KEMIP_INT, e911_lookup_async,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_notify"),
		SR_KEMIP_INT, e911_notify_call,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_emergency_cc"),
		SR_KEMIP_INT, e911_is_emergency_cc,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_dereference"),
		SR_KEMIP_INT, e911_dereference,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_psap_callback"),
		SR_KEMIP_INT, e911_is_psap_callback,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_check"),
		SR_KEMIP_INT, e911_register_check,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("explain"),
		SR_KEMIP_XVAL, e911_explain_kemi,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_get"),
		SR_KEMIP_XVAL, e911_pv_kemi_get,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},

	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_e911_exports);
	return 0;
}
