/*
 * e911 module - locating a caller
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Finds the location for a lookup key: from the shared-memory cache when
 * fresh, else from the location service, else the last good record (stale)
 * when the service fails. The outcome is kept per process, tied to the SIP
 * message it was made for, so $e911(...) and e911_route() read it.
 */

#ifndef E911_LOOKUP_H
#define E911_LOOKUP_H

#include <stdint.h>

#include "../../core/parser/msg_parser.h"
#include "../../core/str.h"
#include "../../core/counters.h"

#include "core/e911_breaker.h"
#include "core/e911_cache.h"
#include "core/e911_fetch.h"
#include "core/e911_outcome.h"
#include "core/e911_keyerr.h"
#include "core/e911_record.h"


/* The outcome of the last lookup in this process. */
typedef struct e911_loc
{
	unsigned int msg_id; /* the message it was made for */
	int msg_pid;
	int valid;	 /* 0 until a lookup ran for this message */
	int any_msg; /* set for a resumed transaction: any message matches */
	int status;	 /* E911_LOC_* */
	e911_source_t source;
	int64_t fetched_at;
	long lookup_ms; /* the service's answer took this long (0: not asked) */
	char key[E911_KEY_MAX + 1];
	e911_record_t *rec; /* points into buf, or NULL */
	/* set by e911_route(): where the call went and why */
	const char *route_reason; /* record, default, fallback, test, retry */
	char route_uri[256];
	uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
} e911_loc_t;

/* the location services, the cache and the breakers */
typedef struct e911_lookup_cfg
{
	struct
	{ /* the modparams as given */
		char *location_url;
		char *location_url_backup;
		int timeout_ms;
		int connect_timeout_ms;
		char *auth_header;
		int tls_verify;
		char *tls_ca_file;
		char *field_map;
		int cache_ttl;
		int negative_ttl;
		int stale_ttl;
		int cache_size;
		int cache_max_bytes;
		int breaker_failures;
		int breaker_cooldown;
		int probe_interval; /* ms */
		int error_ttl;		/* s */
		char *health_url;
		char *health_url_backup;
		char *probe_key;
		char *http2; /* auto, off, h2c */
	} param;
	/* checked and derived by e911_lookup_init() */
	e911_fetch_cfg_t fetch;
	e911_fetch_cfg_t fetch_backup; /* url_tmpl NULL: no backup service */
	int cache_ttl;
	int negative_ttl;
	int stale_ttl;
	int error_ttl_ms;		   /* per-key error memory; 0: off */
	const char *health_url[2]; /* probe URL per service, NULL: probe_key */
	const char *probe_key;	   /* key probed when there is no health URL */
} e911_lookup_cfg_t;

typedef struct e911_stats
{
	stat_var *lookups;
	stat_var *cache_hits;
	stat_var *cache_misses;
	stat_var *negative_hits;
	stat_var *stale_served;
	stat_var *snapshot_served;
	stat_var *fetch_errors;
	stat_var *fetch_timeouts;
	stat_var *fallback_routes;
	stat_var *breaker_opens;
	stat_var *breaker_closes;
	stat_var *probes;
	stat_var *probe_failures;
	stat_var *key_errors;
	stat_var *key_error_hits;
	stat_var *async_busy;
	stat_var *lookups_queued;
	stat_var *queue_timeouts;
	stat_var *notify_queued;
	stat_var *notify_sent;
	stat_var *notify_retried;
	stat_var *notify_failed;
	stat_var *notify_dropped;
} e911_stats_t;

/* shared state: the breakers of the two services, the key error memory */
typedef struct e911_shared
{
	e911_breaker_t *breaker[2]; /* primary, backup */
	e911_keyerr_t *keyerr;
} e911_shared_t;

extern e911_shared_t *e911_shared;

extern e911_lookup_cfg_t e911_lookup_cfg;
extern e911_cache_t *e911_cache;
extern e911_stats_t e911_st;

/* mod_init: checks the modparams, creates the cache and the breakers in
 * shared memory. 0 or -1 (logged). */
int e911_lookup_init(void);
/* mod_destroy */
void e911_lookup_destroy(void);

/* Locates key for msg; records the outcome (see e911_loc_get()).
 * Returns E911_LOC_FRESH, _STALE, _NONE or _UNAVAILABLE. */
int e911_lookup_blocking(sip_msg_t *msg, str *key);

/* First half of a lookup: validates key, resets the outcome for msg and
 * answers from the cache. Returns 1 when the cache answered (fresh or
 * negative: the outcome is set), 0 when the service must be asked, -1 when
 * the key is invalid (outcome: unavailable). */
int e911_lookup_start(sip_msg_t *msg, str *key);

/* Second half: applies a fetch result for key (cache update, statistics,
 * logging) and sets the outcome, falling back to the cached record as stale
 * when the service failed. Returns the outcome's status. */
int e911_lookup_apply(str *key, e911_fetch_res_t *fres);

/* Sets the outcome for key from the cache alone (no network): fresh or
 * stale record, none (negative), or unavailable. With any_msg set the
 * outcome matches whatever message asks next (resumed transactions).
 * Returns the status. */
int e911_lookup_cache_only(sip_msg_t *msg, str *key, int any_msg);

/* Applies a fetch result made in a background process for a suspended
 * transaction: like e911_lookup_apply(), with an outcome that matches
 * whatever message asks next (the resumed one). */
int e911_lookup_apply_resumed(str *key, e911_fetch_res_t *fres);

/* 1 when at least one service would be asked now (a closed breaker). */
int e911_service_available(void);

/* Milliseconds of the clock every process shares (CLOCK_MONOTONIC): the
 * breakers and the key error memory run on it. */
int64_t e911_now_ms(void);

/* Asks the service for key even when the cache has an answer (a negative
 * or a record found wanting may have been fixed since); sets the outcome
 * like e911_lookup_blocking(). */
int e911_lookup_refetch(sip_msg_t *msg, str *key);

/* Forgets the outcome (after a resumed transaction ran). */
void e911_loc_clear(void);

/* The fetch settings of service which (0 primary, 1 backup), NULL when
 * there is no such service. */
e911_fetch_cfg_t *e911_service_cfg(int which);

/* Whether the service (primary or backup) may be asked now (breakers). */
int e911_service_allowed(int which);

/* Reports the outcome of a request to service which (0 primary, 1 backup)
 * to its breaker (only slow or transport failures count, see
 * e911_breaker.h), with statistics and one log line on open/close. */
void e911_service_report(int which, e911_fetch_res_t *fres);

/* The breaker of service which closed (cl: how it had opened; how: what
 * closed it): one log line, and after a real outage the keys whose lookups
 * timed out meanwhile are forgotten by the key error memory. */
void e911_service_closed(int which, e911_breaker_close_t *cl, const char *how);

/* 1 when key failed recently (per-key error memory): fres is filled with a
 * "not asked" error and the service must not be asked; 0 otherwise. */
int e911_key_blocked(str *key, e911_fetch_res_t *fres);

/* Tells the key error memory how the lookup of key ended. */
void e911_key_outcome(str *key, e911_fetch_res_t *fres);

/* Blocking fetch honouring the breakers: primary, then backup when the
 * primary failed or is open. Always fills fres. */
void e911_service_fetch(str *key, e911_fetch_res_t *fres);

/* The same, ignoring the key error memory (an operator's e911.refresh). */
void e911_service_fetch_any(str *key, e911_fetch_res_t *fres);

/* The outcome of the lookup made for msg, or NULL when none was. */
e911_loc_t *e911_loc_get(sip_msg_t *msg);

/* Releases per-process resources (the reused curl handle). */
void e911_lookup_child_destroy(void);


#endif
