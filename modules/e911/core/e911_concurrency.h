/*
 * e911 module - how many lookups a fetcher has in flight toward a service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Little's law: located calls/s on a cold cache = lookups in flight /
 * service latency. 32 in flight answer 1 600 lookups/s at 20 ms but 160 at
 * 200 ms; the same rate at 200 ms needs ten times as many in flight.
 *
 * Two numbers, kept apart:
 *   transfers    requests a fetcher has in flight at once (the service's
 *                load), at most async_max_inflight (the module's bound on
 *                lookups in flight, which bounds the memory they take);
 *   connections  TCP (TLS) connections per service host per fetcher. With
 *                HTTP/1.1 every transfer needs a connection of its own;
 *                with HTTP/2 up to `streams` transfers share one.
 * A fetcher hands libcurl only as many transfers as it can start at once
 * (e911_conc_capacity): the others wait in the module's own queue, whose
 * waiting never counts against the service (libcurl's queue would time
 * them out as if the service had been slow).
 *
 * Whether a service speaks HTTP/2 is known beforehand only for h2c (prior
 * knowledge, http://) and for HTTP/1.1-only settings; for https:// it is
 * negotiated (ALPN) and learnt from the answers (e911_proto_of_curl).
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_CONCURRENCY_H
#define E911_CONCURRENCY_H

#include <stddef.h>

/* modparam http2 */
typedef enum e911_http2
{
	E911_H2_AUTO = 0, /* https: HTTP/2 when the service offers it (ALPN);
						 http: HTTP/1.1 */
	E911_H2_OFF = 1,  /* HTTP/1.1 only */
	E911_H2_H2C = 2	  /* http: HTTP/2 with prior knowledge (h2c, no
						 upgrade); https: as auto */
} e911_http2_t;

typedef enum e911_proto
{
	E911_PROTO_UNKNOWN = 0, /* not negotiated yet: counted as HTTP/1.1 */
	E911_PROTO_H1 = 1,
	E911_PROTO_H2 = 2
} e911_proto_t;

/* default streams per HTTP/2 connection (libcurl's and most servers'
 * SETTINGS_MAX_CONCURRENT_STREAMS) and the most accepted */
#define E911_H2_STREAMS_DEFAULT 100
#define E911_H2_STREAMS_MAX 1000

/* Parses "auto", "off" or "h2c" (NULL or "": auto). Returns 0 or -1. */
int e911_http2_parse(const char *s, e911_http2_t *out);

/* 0 when mode works with the libcurl of version_num (curl_version_info()),
 * else -1 with the reason in err: libcurl before 8.0.0 breaks h2c with
 * prior knowledge on every reused connection ("Error in the HTTP2 framing
 * layer", curl issue 10634), so every lookup after the first would fail. */
int e911_http2_supported(
		e911_http2_t mode, unsigned int version_num, char *err, size_t errlen);

/* The name of mode, as the modparam spells it. */
const char *e911_http2_name(e911_http2_t mode);

/* How the requests to one service (URL template url) are made. */
typedef struct e911_http_plan
{
	long curl_version;	/* CURLOPT_HTTP_VERSION */
	int pipewait;		/* CURLOPT_PIPEWAIT: wait for a connection that may
						  multiplex instead of opening another */
	e911_proto_t proto; /* known before the first answer, or UNKNOWN */
} e911_http_plan_t;

void e911_http_plan(const char *url, e911_http2_t mode, e911_http_plan_t *out);

/* The protocol of an answer from CURLINFO_HTTP_VERSION (0: none). */
e911_proto_t e911_proto_of_curl(long curl_http_version);

/* The settings as given (0: automatic) and the limits around them. */
typedef struct e911_conc_in
{
	int max_inflight; /* async_max_inflight (>= 1) */
	int concurrency;  /* async_concurrency: transfers, 0 = max_inflight */
	int connections;  /* async_connections: per host, 0 = transfers */
	int h2_streams;	  /* async_h2_streams: 0 = E911_H2_STREAMS_DEFAULT */
	long fd_budget;	  /* connections per host the process's open-files
						 limit leaves room for; <= 0: not known */
} e911_conc_in_t;

typedef struct e911_conc
{
	int transfers;	 /* at most in flight in one fetcher */
	int connections; /* per service host, CURLMOPT_MAX_HOST_CONNECTIONS */
	int streams;	 /* per HTTP/2 connection,
						CURLMOPT_MAX_CONCURRENT_STREAMS */
} e911_conc_t;

/* Resolves the settings. Returns 0, or 1 when a value was lowered to a
 * limit (note says which, one line), or -1 when a setting is negative. */
int e911_conc_resolve(
		const e911_conc_in_t *in, e911_conc_t *out, char *note, size_t notelen);

/* How many transfers toward one host libcurl can run at once with c, the
 * host speaking proto: connections (HTTP/1.1, or not known yet) or
 * connections x streams (HTTP/2), never more than c->transfers. */
int e911_conc_capacity(const e911_conc_t *c, e911_proto_t proto);

#endif
