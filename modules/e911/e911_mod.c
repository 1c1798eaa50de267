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
 * the $e911(...) pseudo-variable and statistics. Each script function is a
 * thin w_ wrapper that resolves its parameters and calls the ki_ function
 * KEMI calls too; the work is done in e911_lookup.c (lookup), e911_invite_rewrite.c
 * (rewrite) and the pure core (e911_record, e911_pidf, e911_dial,
 * e911_cache, e911_fetch, e911_mime).
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
#include "e911_conveyance.h"
#include "e911_notify.h"
#include "core/e911_dialplan.h"
#include "core/e911_dispatchable.h"
#include "core/e911_cidr.h"
#include "e911_lookup.h"
#include "e911_mod.h"
#include "core/e911_pidf.h"
#include "e911_rpc.h"
#include "e911_invite_rewrite.h"

MODULE_VERSION

/* parameters */
static char *p_location_url = "";
static char *p_location_url_backup = "";
static int p_breaker_failures = 3;
static int p_breaker_cooldown = 30;
static int p_timeout_ms = 1000;
static int p_connect_timeout_ms = 300;
static int p_cache_ttl = 300;
static int p_negative_ttl = 30;
static int p_stale_ttl = 86400;
static int p_cache_size = 100000;
static int p_cache_max_bytes = 0;
static char *p_auth_header = "";
static int p_tls_verify = 1;
static char *p_tls_ca_file = "";
static char *p_default_route = "";
static char *p_fallback_route = "";
static char *p_emergency_numbers = "911,112";
static char *p_test_numbers = "933";
static char *p_dial_prefixes = "9";
static int p_geolocation_routing = 1;
static char *p_domain = "localhost";
static char *p_callback_uri = "sip";
static char *p_test_route = "";
static char *p_location_mode = "value";
static char *p_profile = "e911-trunk";
static char *p_provider_name = "";
static char *p_provider_id = "";
static char *p_provider_id_series = "";
static char *p_provider_type = "Service Provider";
static char *p_provider_contact = "";
static char *p_provider_language = "en";
static char *p_service_environment = "";
static char *p_service_type = "VOIP";
static char *p_service_mobility = "Unknown";
static char *p_location_preference = "service";
static char *p_endpoint_id_to = "";
static char *p_field_map = "";
static char *p_dial_plan_file = "";
static char *p_default_country = "";
static e911_fieldmap_t *fieldmap = NULL;

static e911_dialplan_t *dialplan = NULL;

/* the last classification, for $e911(class) and $e911(service) */
static struct
{
	unsigned int msg_id;
	int msg_pid;
	int cls;
	const char *urn;
} last_class;

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

static int pv_parse_e911_name(pv_spec_p sp, str *in);
static int pv_get_e911(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

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
	{"location_url", PARAM_STRING, &p_location_url},
	{"location_url_backup", PARAM_STRING, &p_location_url_backup},
	{"breaker_failures", PARAM_INT, &p_breaker_failures},
	{"breaker_cooldown", PARAM_INT, &p_breaker_cooldown},
	{"async_workers", PARAM_INT, &e911_async_cfg.workers},
	{"async_max_inflight", PARAM_INT, &e911_async_cfg.max_inflight},
	{"refresh_ahead", PARAM_INT, &e911_async_cfg.refresh_ahead},
	{"snapshot_file", PARAM_STRING, &e911_async_cfg.snapshot_file},
	{"snapshot_interval", PARAM_INT, &e911_async_cfg.snapshot_interval},
	{"timeout_ms", PARAM_INT, &p_timeout_ms},
	{"connect_timeout_ms", PARAM_INT, &p_connect_timeout_ms},
	{"cache_ttl", PARAM_INT, &p_cache_ttl},
	{"negative_ttl", PARAM_INT, &p_negative_ttl},
	{"stale_ttl", PARAM_INT, &p_stale_ttl},
	{"cache_size", PARAM_INT, &p_cache_size},
	{"cache_max_bytes", PARAM_INT, &p_cache_max_bytes},
	{"auth_header", PARAM_STRING, &p_auth_header},
	{"tls_verify", PARAM_INT, &p_tls_verify},
	{"tls_ca_file", PARAM_STRING, &p_tls_ca_file},
	{"default_route", PARAM_STRING, &p_default_route},
	{"fallback_route", PARAM_STRING, &p_fallback_route},
	{"emergency_numbers", PARAM_STRING, &p_emergency_numbers},
	{"test_numbers", PARAM_STRING, &p_test_numbers},
	{"dial_prefixes", PARAM_STRING, &p_dial_prefixes},
	{"geolocation_routing", PARAM_INT, &p_geolocation_routing},
	{"domain", PARAM_STRING, &p_domain},
	{"callback_uri", PARAM_STRING, &p_callback_uri},
	{"test_route", PARAM_STRING, &p_test_route},
	{"location_mode", PARAM_STRING, &p_location_mode},
	{"profile", PARAM_STRING, &p_profile},
	{"provider_name", PARAM_STRING, &p_provider_name},
	{"provider_id", PARAM_STRING, &p_provider_id},
	{"provider_id_series", PARAM_STRING, &p_provider_id_series},
	{"provider_type", PARAM_STRING, &p_provider_type},
	{"provider_contact", PARAM_STRING, &p_provider_contact},
	{"provider_language", PARAM_STRING, &p_provider_language},
	{"service_environment", PARAM_STRING, &p_service_environment},
	{"service_type", PARAM_STRING, &p_service_type},
	{"service_mobility", PARAM_STRING, &p_service_mobility},
	{"reference_base_url", PARAM_STRING, &e911_ccfg.reference_base},
	{"reference_ttl", PARAM_INT, &e911_ccfg.reference_ttl},
	{"reference_max", PARAM_INT, &e911_ccfg.reference_size},
	{"trust_loc_src", PARAM_INT, &e911_ccfg.trust_loc_src},
	{"location_preference", PARAM_STRING, &p_location_preference},
	{"psap_callback_window", PARAM_INT, &e911_ccfg.callback_window},
	{"psap_callback_max", PARAM_INT, &e911_ccfg.callback_size},
	{"endpoint_id_to", PARAM_STRING, &p_endpoint_id_to},
	{"field_map", PARAM_STRING, &p_field_map},
	{"dial_plan_file", PARAM_STRING, &p_dial_plan_file},
	{"default_country", PARAM_STRING, &p_default_country},
	{"notify_url", PARAM_STRING, &e911_notify_cfg.url},
	{"notify_auth_header", PARAM_STRING, &e911_notify_cfg.auth_header},
	{"notify_sip_uri", PARAM_STRING, &e911_notify_cfg.sip_uri},
	{"notify_sip_from", PARAM_STRING, &e911_notify_cfg.sip_from},
	{"notify_test_calls", PARAM_INT, &e911_notify_cfg.test_calls},
	{"notify_retries", PARAM_INT, &e911_notify_cfg.retries},
	{"notify_queue_size", PARAM_INT, &e911_notify_cfg.queue_size},
	{"notify_timeout_ms", PARAM_INT, &e911_notify_cfg.timeout_ms},
	{"audit_log", PARAM_STRING, &e911_audit_cfg.path},
	{"audit_include_location", PARAM_INT, &e911_audit_cfg.include_location},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"e911", sizeof("e911") - 1}, PVT_OTHER, pv_get_e911, 0,
		pv_parse_e911_name, 0, 0, 0},
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

/* A SIP/tel/urn URI usable as a route (empty allowed when optional). */
static int check_route_param(const char *name, const char *val, int required)
{
	if(val == NULL || *val == '\0') {
		if(required) {
			LM_ERR("e911: modparam %s is required: an emergency call "
				   "without location needs somewhere to go\n",
					name);
			return -1;
		}
		return 0;
	}
	if(e911_uri_check(val, strlen(val)) < 0) {
		LM_ERR("e911: modparam %s is not a valid sip/sips/tel/urn URI\n", name);
		return -1;
	}
	return 0;
}

static int check_domain(const char *d)
{
	size_t i;
	size_t n = strlen(d);

	if(n == 0 || n > 128)
		return -1;
	for(i = 0; i < n; i++) {
		char c = d[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':'
				   || c == '[' || c == ']'))
			return -1;
	}
	return 0;
}

static void set_str(str *s, char *v)
{
	s->s = v;
	s->len = v ? strlen(v) : 0;
}

static int mod_init(void)
{
	char err[160];
	uint64_t max_bytes;

	if(e911_url_tmpl_check(p_location_url, err, sizeof(err)) < 0) {
		LM_ERR("e911: modparam location_url: %s\n", err);
		return -1;
	}
	if(p_location_url_backup[0]
			&& e911_url_tmpl_check(p_location_url_backup, err, sizeof(err))
					   < 0) {
		LM_ERR("e911: modparam location_url_backup: %s\n", err);
		return -1;
	}
	if(p_timeout_ms <= 0 || p_connect_timeout_ms <= 0 || p_cache_ttl < 0
			|| p_negative_ttl < 0 || p_stale_ttl < 0 || p_cache_size <= 0
			|| p_cache_max_bytes < 0) {
		LM_ERR("e911: timeouts, TTLs and cache sizes must not be "
			   "negative\n");
		return -1;
	}
	if(p_connect_timeout_ms > p_timeout_ms)
		p_connect_timeout_ms = p_timeout_ms;
	if(check_route_param("test_route", p_test_route, 0) < 0
			|| check_route_param("default_route", p_default_route, 0) < 0
			|| check_route_param("fallback_route", p_fallback_route, 1) < 0)
		return -1;
	if(check_domain(p_domain) < 0) {
		LM_ERR("e911: modparam domain must be a host name or address\n");
		return -1;
	}
	if(strcasecmp(p_callback_uri, "sip") != 0
			&& strcasecmp(p_callback_uri, "tel") != 0) {
		LM_ERR("e911: modparam callback_uri must be \"sip\" or \"tel\"\n");
		return -1;
	}
	if(p_auth_header[0]
			&& (strchr(p_auth_header, ':') == NULL
					|| strpbrk(p_auth_header, "\r\n") != NULL)) {
		LM_ERR("e911: modparam auth_header must be one \"Name: value\" "
			   "header line\n");
		return -1;
	}

	if(p_default_country[0] || p_dial_plan_file[0])
		dialplan = e911_dialplan_countries(p_dial_plan_file, p_default_country,
				p_dial_prefixes, err, sizeof(err));
	else
		dialplan = e911_dialplan_new(p_emergency_numbers, p_test_numbers,
				p_dial_prefixes, err, sizeof(err));
	if(dialplan == NULL) {
		LM_ERR("e911: %s: %s\n",
				(p_default_country[0] || p_dial_plan_file[0])
						? "dial_plan_file/default_country/dial_prefixes"
						: "emergency_numbers/test_numbers/dial_prefixes",
				err);
		return -1;
	}

	memset(&e911_lookup_cfg, 0, sizeof(e911_lookup_cfg));
	e911_lookup_cfg.fetch.url_tmpl = p_location_url;
	e911_lookup_cfg.fetch.timeout_ms = p_timeout_ms;
	e911_lookup_cfg.fetch.connect_timeout_ms = p_connect_timeout_ms;
	e911_lookup_cfg.fetch.auth_header = p_auth_header;
	e911_lookup_cfg.fetch.tls_ca_file = p_tls_ca_file;
	e911_lookup_cfg.fetch.tls_verify = p_tls_verify ? 1 : 0;
	if(p_field_map[0]) {
		fieldmap = e911_fieldmap_parse(p_field_map, err, sizeof(err));
		if(fieldmap == NULL) {
			LM_ERR("e911: modparam field_map: %s\n", err);
			return -1;
		}
	}
	e911_lookup_cfg.fetch.fieldmap = fieldmap;
	e911_lookup_cfg.fetch_backup = e911_lookup_cfg.fetch;
	e911_lookup_cfg.fetch_backup.url_tmpl =
			p_location_url_backup[0] ? p_location_url_backup : NULL;
	e911_lookup_cfg.cache_ttl = p_cache_ttl;
	e911_lookup_cfg.negative_ttl = p_negative_ttl;
	e911_lookup_cfg.stale_ttl = p_stale_ttl;
	if(!p_tls_verify)
		LM_WARN("e911: TLS certificate verification of the location "
				"service is disabled\n");

	memset(&e911_rewrite_cfg, 0, sizeof(e911_rewrite_cfg));
	set_str(&e911_rewrite_cfg.default_route, p_default_route);
	set_str(&e911_rewrite_cfg.fallback_route, p_fallback_route);
	set_str(&e911_rewrite_cfg.test_route, p_test_route);
	set_str(&e911_rewrite_cfg.domain, p_domain);
	e911_rewrite_cfg.geolocation_routing = p_geolocation_routing ? 1 : 0;
	e911_rewrite_cfg.callback_tel = strcasecmp(p_callback_uri, "tel") == 0;
	if(p_endpoint_id_to[0] == '\0') {
		e911_rewrite_cfg.endpoint_to = E911_EPID_NONE;
	} else if(strcasecmp(p_endpoint_id_to, "pai") == 0) {
		e911_rewrite_cfg.endpoint_to = E911_EPID_PAI;
	} else if(strcasecmp(p_endpoint_id_to, "from") == 0) {
		e911_rewrite_cfg.endpoint_to = E911_EPID_FROM;
	} else if(strncasecmp(p_endpoint_id_to, "header:", 7) == 0
			  && p_endpoint_id_to[7]
			  && strspn(p_endpoint_id_to + 7,
						 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						 "0123456789-")
						 == strlen(p_endpoint_id_to + 7)) {
		e911_rewrite_cfg.endpoint_to = E911_EPID_HEADER;
		set_str(&e911_rewrite_cfg.endpoint_header, p_endpoint_id_to + 7);
	} else {
		LM_ERR("e911: modparam endpoint_id_to must be \"pai\", \"from\" "
			   "or \"header:<Name>\"\n");
		return -1;
	}
	if(strcasecmp(p_profile, "ng911") == 0) {
		e911_rewrite_cfg.ng911 = 1;
		e911_rewrite_cfg.provider.reference = "check@example";
		e911_rewrite_cfg.provider.name = p_provider_name;
		e911_rewrite_cfg.provider.id = p_provider_id;
		e911_rewrite_cfg.provider.id_series = p_provider_id_series;
		e911_rewrite_cfg.provider.type = p_provider_type;
		e911_rewrite_cfg.provider.contact_uri = p_provider_contact;
		e911_rewrite_cfg.provider.language = p_provider_language;
		e911_rewrite_cfg.svcinfo.reference = "check@example";
		e911_rewrite_cfg.svcinfo.environment = p_service_environment;
		e911_rewrite_cfg.svcinfo.type = p_service_type;
		e911_rewrite_cfg.svcinfo.mobility = p_service_mobility;
		if(e911_providerinfo_check(&e911_rewrite_cfg.provider, err, sizeof(err)) < 0
				|| e911_serviceinfo_check(&e911_rewrite_cfg.svcinfo, err, sizeof(err))
						   < 0) {
			LM_ERR("e911: profile ng911 needs provider_name, "
				   "provider_contact (24/7 sip/tel URI) and valid provider_*/"
				   "service_* values: %s\n",
					err);
			return -1;
		}
	} else if(strcasecmp(p_profile, "e911-trunk") != 0) {
		LM_ERR("e911: modparam profile must be e911-trunk or ng911\n");
		return -1;
	}
	if(strcasecmp(p_location_mode, "value") == 0) {
		e911_ccfg.mode = E911_MODE_VALUE;
	} else if(strcasecmp(p_location_mode, "reference") == 0) {
		e911_ccfg.mode = E911_MODE_REFERENCE;
	} else if(strcasecmp(p_location_mode, "both") == 0) {
		e911_ccfg.mode = E911_MODE_BOTH;
	} else {
		LM_ERR("e911: modparam location_mode must be value, reference or "
			   "both\n");
		return -1;
	}
	if(strcasecmp(p_location_preference, "service") == 0) {
		e911_ccfg.prefer_device = 0;
	} else if(strcasecmp(p_location_preference, "device") == 0) {
		e911_ccfg.prefer_device = 1;
	} else {
		LM_ERR("e911: modparam location_preference must be service or "
			   "device\n");
		return -1;
	}
	if(e911_ccfg.reference_ttl <= 0 || e911_ccfg.reference_size <= 0
			|| e911_ccfg.callback_window <= 0 || e911_ccfg.callback_size <= 0) {
		LM_ERR("e911: reference_ttl, reference_max and psap_callback_window "
			   "must be positive\n");
		return -1;
	}

	/* the cache gets at most an eighth of shared memory unless told: the
	 * transactions of the calls themselves need the rest */
	max_bytes = p_cache_max_bytes > 0 ? (uint64_t)p_cache_max_bytes
									  : (uint64_t)shm_mem_size / 8;
	/* the table itself (buckets and locks, ~12 bytes an entry) must fit in
	 * that share too: a cache_size shared memory cannot hold is reduced,
	 * with a warning, rather than refusing to start */
	if((uint64_t)p_cache_size * 12 > max_bytes / 2) {
		int fit = (int)(max_bytes / 2 / 12);
		LM_WARN("e911: cache_size %d does not fit in %llu bytes of shared "
				"memory for the cache: using %d (raise -m or lower "
				"cache_size)\n",
				p_cache_size, (unsigned long long)max_bytes, fit);
		p_cache_size = fit > 16 ? fit : 16;
	}
	e911_cache = e911_cache_new((uint32_t)p_cache_size, max_bytes);
	if(e911_cache == NULL) {
		LM_ERR("e911: cannot create the location cache in shared memory\n");
		return -1;
	}

	e911_shared = shm_malloc(sizeof(*e911_shared));
	if(e911_shared == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	e911_breaker_init(
			&e911_shared->breaker[0], p_breaker_failures, p_breaker_cooldown);
	e911_breaker_init(
			&e911_shared->breaker[1], p_breaker_failures, p_breaker_cooldown);
	if(e911_async_init() < 0) {
		LM_ERR("e911: cannot set up the background fetchers\n");
		return -1;
	}
	e911_snapshot_load();

	if(e911_notify_cfg.url[0]
			&& ((strncasecmp(e911_notify_cfg.url, "http://", 7) != 0
						&& strncasecmp(e911_notify_cfg.url, "https://", 8) != 0)
					|| strpbrk(e911_notify_cfg.url, " \t\r\n") != NULL)) {
		LM_ERR("e911: modparam notify_url must be an http(s) URL\n");
		return -1;
	}
	if(e911_notify_cfg.sip_uri[0]
			&& e911_uri_check(e911_notify_cfg.sip_uri, strlen(e911_notify_cfg.sip_uri))
					   < 0) {
		LM_ERR("e911: modparam notify_sip_uri is not a valid SIP URI\n");
		return -1;
	}
	if(e911_notify_cfg.sip_from == NULL || e911_notify_cfg.sip_from[0] == '\0') {
		e911_notify_cfg.sip_from = pkg_malloc(strlen(p_domain) + 16);
		if(e911_notify_cfg.sip_from == NULL)
			return -1;
		sprintf(e911_notify_cfg.sip_from, "sip:e911@%s", p_domain);
	}
	if(e911_conv_init() < 0) {
		LM_ERR("e911: cannot set up location by reference\n");
		return -1;
	}
	if(e911_audit_cfg.path[0] && !tm_loaded) {
		LM_ERR("e911: audit_log needs the tm module (the line is written "
			   "when the transaction ends)\n");
		return -1;
	}
	if(e911_notify_init() < 0 || e911_audit_init() < 0) {
		LM_ERR("e911: cannot set up notifications and the audit trail\n");
		return -1;
	}
	if(rpc_register_array(e911_audit_rpc) != 0) {
		LM_ERR("e911: cannot register the audit RPC commands\n");
		return -1;
	}

	if(curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		LM_ERR("e911: curl_global_init failed\n");
		return -1;
	}
	if(register_module_stats("e911", mod_stats) != 0) {
		LM_ERR("e911: cannot register statistics\n");
		return -1;
	}
	LM_INFO("e911: location service %s, cache %d entries, timeout %d ms\n",
			p_location_url, p_cache_size, p_timeout_ms);
	return 0;
}

static int child_init(int rank)
{
	if(e911_async_child_init(rank) < 0)
		return -1;
	return e911_notify_child_init(rank);
}

static void mod_destroy(void)
{
	e911_async_destroy();
	e911_audit_destroy();
	e911_lookup_child_destroy();
	if(e911_cache) {
		e911_cache_destroy(e911_cache);
		e911_cache = NULL;
	}
	e911_dialplan_free(dialplan);
	dialplan = NULL;
	e911_fieldmap_free(fieldmap);
	fieldmap = NULL;
}

/* --- classification --- */

static int note_class(sip_msg_t *msg, int cls, const char *urn)
{
	last_class.msg_id = msg ? msg->id : 0;
	last_class.msg_pid = msg ? msg->pid : 0;
	last_class.cls = cls;
	last_class.urn = cls == E911_DIAL_NONE ? NULL : urn;
	return cls;
}

/* Classifies a URI (urn:, sip:, sips:, tel:) or a plain dial string. */
static int classify(sip_msg_t *msg, str *s)
{
	struct sip_uri uri;
	const char *urn = NULL;
	str user;
	int cls;
	char *semi;

	if(s->len >= 4 && strncasecmp(s->s, "urn:", 4) == 0) {
		cls = e911_urn_classify(s->s, s->len);
		if(cls == E911_DIAL_EMERGENCY)
			urn = "urn:service:sos";
		else if(cls == E911_DIAL_TEST)
			urn = "urn:service:test.sos";
		return note_class(msg, cls, urn);
	}
	user = *s;
	if(memchr(s->s, ':', s->len) != NULL) {
		if(parse_uri(s->s, s->len, &uri) < 0)
			return note_class(msg, E911_DIAL_NONE, NULL);
		user = uri.user;
	}
	/* user parameters (";phone-context=...") are not part of the number */
	semi = user.len > 0 ? memchr(user.s, ';', user.len) : NULL;
	if(semi)
		user.len = (int)(semi - user.s);
	cls = e911_dial_classify(dialplan, user.s, user.len, &urn);
	return note_class(msg, cls, urn);
}

int e911_classify_request(sip_msg_t *msg, const char **urn)
{
	int cls;

	if(msg == NULL || msg->first_line.type != SIP_REQUEST) {
		*urn = NULL;
		return E911_DIAL_NONE;
	}
	cls = classify(msg, &msg->first_line.u.request.uri);
	*urn = last_class.urn;
	return cls;
}

static int ki_e911_is_emergency_number(sip_msg_t *msg, str *num)
{
	if(num == NULL || num->s == NULL || num->len <= 0)
		return note_class(msg, E911_DIAL_NONE, NULL);
	return classify(msg, num);
}

static int ki_e911_is_emergency(sip_msg_t *msg)
{
	str ruri;

	if(msg == NULL || msg->first_line.type != SIP_REQUEST)
		return E911_DIAL_NONE;
	if(msg->new_uri.s && msg->new_uri.len > 0)
		ruri = msg->new_uri;
	else
		ruri = msg->first_line.u.request.uri;
	return ki_e911_is_emergency_number(msg, &ruri);
}

static int w_e911_is_emergency(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_e911_is_emergency(msg);
}

static int w_e911_is_emergency_number(sip_msg_t *msg, char *num, char *p2)
{
	str s;

	if(fixup_get_svalue(msg, (gparam_t *)num, &s) < 0) {
		LM_ERR("e911: cannot get the number parameter\n");
		return E911_DIAL_NONE;
	}
	return ki_e911_is_emergency_number(msg, &s);
}

/* --- lookup and rewrite --- */

static int ki_e911_locate(sip_msg_t *msg, str *key)
{
	return e911_lookup_blocking(msg, key);
}

static int w_e911_locate(sip_msg_t *msg, char *key, char *p2)
{
	str s;

	if(fixup_get_svalue(msg, (gparam_t *)key, &s) < 0) {
		LM_ERR("e911: cannot get the key parameter\n");
		return E911_LOC_UNAVAILABLE;
	}
	return ki_e911_locate(msg, &s);
}

static int ki_e911_route(sip_msg_t *msg)
{
	return e911_route_msg(msg);
}

static int w_e911_route(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_e911_route(msg);
}

static int w_e911_fallback(sip_msg_t *msg, char *p1, char *p2)
{
	return e911_fallback_msg(msg);
}

static int ki_e911_fallback(sip_msg_t *msg)
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

	if(fixup_get_svalue(msg, (gparam_t *)key, &s) < 0) {
		LM_ERR("e911: cannot get the key parameter\n");
		return -1;
	}
	return ki_e911_prefetch(msg, &s);
}

static int ki_e911_locate_async(sip_msg_t *msg, str *key, str *route)
{
	return e911_lookup_async(msg, key, route);
}

static int w_e911_locate_async(sip_msg_t *msg, char *key, char *route)
{
	str k;
	str r;

	if(fixup_get_svalue(msg, (gparam_t *)key, &k) < 0
			|| fixup_get_svalue(msg, (gparam_t *)route, &r) < 0) {
		LM_ERR("e911: cannot get the parameters\n");
		return -1;
	}
	return ki_e911_locate_async(msg, &k, &r);
}

static int ki_e911_is_emergency_cc(sip_msg_t *msg, str *num, str *cc)
{
	const char *urn = NULL;
	char country[3];
	struct sip_uri uri;
	str user;
	int cls;
	char *semi;

	if(num == NULL || num->s == NULL || num->len <= 0)
		return note_class(msg, E911_DIAL_NONE, NULL);
	if(num->len >= 4 && strncasecmp(num->s, "urn:", 4) == 0)
		return classify(msg, num);
	country[0] = '\0';
	if(cc && cc->len == 2) {
		country[0] = cc->s[0];
		country[1] = cc->s[1];
		country[2] = '\0';
	}
	user = *num;
	if(memchr(num->s, ':', num->len) != NULL) {
		if(parse_uri(num->s, num->len, &uri) < 0)
			return note_class(msg, E911_DIAL_NONE, NULL);
		user = uri.user;
	}
	semi = user.len > 0 ? memchr(user.s, ';', user.len) : NULL;
	if(semi)
		user.len = (int)(semi - user.s);
	cls = e911_dial_classify_cc(dialplan, country, user.s, user.len, &urn);
	return note_class(msg, cls, urn);
}

static int w_e911_is_emergency_cc(sip_msg_t *msg, char *num, char *cc)
{
	str n;
	str c;

	if(fixup_get_svalue(msg, (gparam_t *)num, &n) < 0
			|| fixup_get_svalue(msg, (gparam_t *)cc, &c) < 0) {
		LM_ERR("e911: cannot get the parameters\n");
		return E911_DIAL_NONE;
	}
	return ki_e911_is_emergency_cc(msg, &n, &c);
}

static int ki_e911_dereference(sip_msg_t *msg)
{
	return e911_dereference(msg);
}

static int w_e911_dereference(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_e911_dereference(msg);
}

static int ki_e911_is_psap_callback(sip_msg_t *msg)
{
	return e911_is_psap_callback(msg);
}

static int w_e911_is_psap_callback(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_e911_is_psap_callback(msg);
}

/* the outcome of e911_check() for $e911(moved) and $e911(check) */
static struct
{
	unsigned int msg_id;
	int msg_pid;
	int moved; /* 1 moved, 0 not, -1 unknown */
	const char *reason;
} last_check;

/* Whether the caller has a validated, dispatchable location (for
 * REGISTER): 1 yes, -1 missing, -2 not validated or not dispatchable, -3
 * service unavailable. Also says whether the request comes from outside
 * the networks the record was registered from. */
static int ki_e911_check(sip_msg_t *msg, str *key)
{
	e911_loc_t *loc;
	const char *nets;
	char *ip;
	int st;
	int rc;

	last_check.msg_id = msg->id;
	last_check.msg_pid = msg->pid;
	last_check.moved = -1;
	st = e911_lookup_blocking(msg, key);
	loc = e911_loc_get(msg);
	/* a cached "missing" or a record found wanting may have been fixed by
	 * the user since: ask the service again rather than refuse (or warn)
	 * on an old answer */
	if(loc && loc->source == E911_SRC_CACHE
			&& (st == E911_LOC_NONE
					|| (loc->rec && e911_dispatchable(loc->rec) != 1))) {
		st = e911_lookup_refetch(msg, key);
		loc = e911_loc_get(msg);
	} else if(st == E911_LOC_NONE && loc && loc->source == E911_SRC_NONE) {
		/* negative cache entry: source stays none; ask again too */
		st = e911_lookup_refetch(msg, key);
		loc = e911_loc_get(msg);
	}
	if(st == E911_LOC_NONE) {
		last_check.reason = "missing";
		return -1;
	}
	if(st == E911_LOC_UNAVAILABLE || loc == NULL || loc->rec == NULL) {
		last_check.reason = "unavailable";
		return -3;
	}
	nets = e911_rec_get(loc->rec, E911_F_NETWORKS);
	if(nets) {
		ip = ip_addr2a(&msg->rcv.src_ip);
		last_check.moved = e911_net_contains(nets, ip, strlen(ip)) == 1 ? 0 : 1;
	}
	rc = e911_dispatchable(loc->rec);
	last_check.reason = e911_dispatch_reason(rc);
	return rc == E911_DISPATCHABLE ? 1 : -2;
}

static int w_e911_check(sip_msg_t *msg, char *key, char *p2)
{
	str s;

	if(fixup_get_svalue(msg, (gparam_t *)key, &s) < 0) {
		LM_ERR("e911: cannot get the key parameter\n");
		return -3;
	}
	return ki_e911_check(msg, &s);
}

static int ki_e911_notify(sip_msg_t *msg)
{
	return e911_notify_call(msg);
}

static int w_e911_notify(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_e911_notify(msg);
}

/* --- $e911(name) --- */

enum
{
	PVN_STATUS = 1,
	PVN_SOURCE,
	PVN_AGE,
	PVN_KEY,
	PVN_CALLBACK,
	PVN_ROUTE,
	PVN_ADDRESS,
	PVN_PIDF,
	PVN_VALIDATED,
	PVN_LAT,
	PVN_LON,
	PVN_RADIUS,
	PVN_UPDATED,
	PVN_CLASS,
	PVN_SERVICE,
	PVN_DEVICE_LOCATION,
	PVN_ENDPOINT_ID,
	PVN_MOVED,
	PVN_CHECK,
	PVN_CIVIC = 1000 /* + civic field */
};

static const struct
{
	const char *name;
	int id;
} pv_names[] = {{"status", PVN_STATUS}, {"source", PVN_SOURCE},
		{"age", PVN_AGE}, {"key", PVN_KEY}, {"callback", PVN_CALLBACK},
		{"route", PVN_ROUTE}, {"address", PVN_ADDRESS}, {"pidf", PVN_PIDF},
		{"validated", PVN_VALIDATED}, {"lat", PVN_LAT}, {"lon", PVN_LON},
		{"radius", PVN_RADIUS}, {"updated_at", PVN_UPDATED},
		{"class", PVN_CLASS}, {"service", PVN_SERVICE},
		{"device_location", PVN_DEVICE_LOCATION},
		{"endpoint_id", PVN_ENDPOINT_ID}, {"moved", PVN_MOVED},
		{"check", PVN_CHECK}, {NULL, 0}};

static int pv_parse_e911_name(pv_spec_p sp, str *in)
{
	int i;
	int f;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	for(i = 0; pv_names[i].name; i++) {
		if(strlen(pv_names[i].name) == (size_t)in->len
				&& strncmp(pv_names[i].name, in->s, in->len) == 0)
			break;
	}
	if(pv_names[i].name) {
		f = pv_names[i].id;
	} else {
		f = e911_civic_field(in->s, in->len);
		if(f < 0) {
			LM_ERR("e911: unknown $e911(%.*s)\n", in->len, in->s);
			return -1;
		}
		f += PVN_CIVIC;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	sp->pvp.pvn.u.isname.name.n = f;
	return 0;
}

static int pv_get_cstr(
		sip_msg_t *msg, pv_param_t *param, pv_value_t *res, const char *v)
{
	str s;

	if(v == NULL)
		return pv_get_null(msg, param, res);
	s.s = (char *)v;
	s.len = strlen(v);
	return pv_get_strval(msg, param, res, &s);
}

static int pv_get_e911(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char buf[E911_PIDF_MAX];
	e911_loc_t *loc;
	e911_pidf_opts_t opts;
	str s;
	int id = param->pvn.u.isname.name.n;

	if(id == PVN_CLASS || id == PVN_SERVICE) {
		if(msg == NULL)
			return pv_get_null(msg, param, res);
		/* not classified in this process (a resumed transaction): the
		 * Request-URI still is the dialled one */
		if(last_class.msg_id != msg->id || last_class.msg_pid != msg->pid) {
			if(msg->first_line.type != SIP_REQUEST)
				return pv_get_null(msg, param, res);
			classify(msg, &msg->first_line.u.request.uri);
		}
		if(id == PVN_CLASS)
			return pv_get_sintval(msg, param, res, last_class.cls);
		return pv_get_cstr(msg, param, res, last_class.urn);
	}
	if(id == PVN_MOVED || id == PVN_CHECK) {
		if(msg == NULL || last_check.msg_id != msg->id
				|| last_check.msg_pid != msg->pid)
			return pv_get_null(msg, param, res);
		if(id == PVN_CHECK)
			return pv_get_cstr(msg, param, res, last_check.reason);
		if(last_check.moved < 0)
			return pv_get_null(msg, param, res);
		return pv_get_sintval(msg, param, res, last_check.moved);
	}
	if(id == PVN_DEVICE_LOCATION) {
		if(msg == NULL || e911_device_location(msg, &s) <= 0)
			return pv_get_null(msg, param, res);
		return pv_get_strval(msg, param, res, &s);
	}
	loc = e911_loc_get(msg);
	if(id == PVN_ROUTE) {
		e911_route_target(loc, &s);
		return pv_get_strval(msg, param, res, &s);
	}
	if(loc == NULL)
		return pv_get_null(msg, param, res);
	switch(id) {
		case PVN_STATUS:
			return pv_get_cstr(msg, param, res, e911_status_name(loc->status));
		case PVN_SOURCE:
			return pv_get_cstr(msg, param, res, e911_source_name(loc->source));
		case PVN_KEY:
			return pv_get_cstr(msg, param, res, loc->key);
		case PVN_AGE:
			if(loc->rec == NULL)
				return pv_get_null(msg, param, res);
			return pv_get_sintval(
					msg, param, res, (int)(time(NULL) - loc->fetched_at));
	}
	if(loc->rec == NULL)
		return pv_get_null(msg, param, res);
	switch(id) {
		case PVN_CALLBACK:
			return pv_get_cstr(
					msg, param, res, e911_rec_get(loc->rec, E911_F_CALLBACK));
		case PVN_ENDPOINT_ID:
			return pv_get_cstr(msg, param, res,
					e911_rec_get(loc->rec, E911_F_ENDPOINT_ID));
		case PVN_UPDATED:
			return pv_get_cstr(
					msg, param, res, e911_rec_get(loc->rec, E911_F_UPDATED));
		case PVN_ADDRESS:
			if(e911_address_line(loc->rec, buf, sizeof(buf)) < 0)
				return pv_get_null(msg, param, res);
			return pv_get_cstr(msg, param, res, buf);
		case PVN_PIDF:
			opts.domain = e911_rewrite_cfg.domain.s;
			opts.now = time(NULL);
			opts.retention_s = 86400;
			if(e911_pidf_render(loc->rec, &opts, buf, sizeof(buf)) < 0)
				return pv_get_null(msg, param, res);
			return pv_get_cstr(msg, param, res, buf);
		case PVN_VALIDATED:
			return pv_get_sintval(msg, param, res,
					(loc->rec->flags & E911_REC_VALIDATED) ? 1 : 0);
		case PVN_LAT:
		case PVN_LON:
		case PVN_RADIUS:
			if(!(loc->rec->flags & E911_REC_HAS_GEO))
				return pv_get_null(msg, param, res);
			snprintf(buf, sizeof(buf), "%.6f",
					id == PVN_LAT	? loc->rec->lat
					: id == PVN_LON ? loc->rec->lon
									: loc->rec->radius_m);
			return pv_get_cstr(msg, param, res, buf);
	}
	if(id >= PVN_CIVIC && id < PVN_CIVIC + E911_CA_COUNT)
		return pv_get_cstr(
				msg, param, res, e911_rec_get(loc->rec, id - PVN_CIVIC));
	return pv_get_null(msg, param, res);
}

/* --- KEMI --- */

static sr_kemi_xval_t kemi_xval;

static sr_kemi_xval_t *ki_e911_get(sip_msg_t *msg, str *name)
{
	pv_spec_t spec;
	pv_value_t val;

	memset(&kemi_xval, 0, sizeof(kemi_xval));
	memset(&spec, 0, sizeof(spec));
	if(name == NULL || pv_parse_e911_name(&spec, name) < 0
			|| pv_get_e911(msg, &spec.pvp, &val) < 0
			|| (val.flags & PV_VAL_NULL)) {
		sr_kemi_xval_null(&kemi_xval, SR_KEMI_XVAL_NULL_NONE);
		return &kemi_xval;
	}
	if(val.flags & PV_TYPE_INT) {
		kemi_xval.vtype = SR_KEMIP_INT;
		kemi_xval.v.n = val.ri;
	} else {
		kemi_xval.vtype = SR_KEMIP_STR;
		kemi_xval.v.s = val.rs;
	}
	return &kemi_xval;
}

/* clang-format off */
static sr_kemi_t sr_kemi_e911_exports[] = {
	{ str_init("e911"), str_init("e911_is_emergency"),
		SR_KEMIP_INT, ki_e911_is_emergency,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_emergency_number"),
		SR_KEMIP_INT, ki_e911_is_emergency_number,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_locate"),
		SR_KEMIP_INT, ki_e911_locate,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_route"),
		SR_KEMIP_INT, ki_e911_route,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_fallback"),
		SR_KEMIP_INT, ki_e911_fallback,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_prefetch"),
		SR_KEMIP_INT, ki_e911_prefetch,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_locate_async"),
		SR_KEMIP_INT, ki_e911_locate_async,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_notify"),
		SR_KEMIP_INT, ki_e911_notify,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_emergency_cc"),
		SR_KEMIP_INT, ki_e911_is_emergency_cc,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_dereference"),
		SR_KEMIP_INT, ki_e911_dereference,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_is_psap_callback"),
		SR_KEMIP_INT, ki_e911_is_psap_callback,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_check"),
		SR_KEMIP_INT, ki_e911_check,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("e911"), str_init("e911_get"),
		SR_KEMIP_XVAL, ki_e911_get,
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
