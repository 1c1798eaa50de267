/*
 * e911 module - how many lookups a fetcher has in flight toward a service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "e911_concurrency.h"

int e911_http2_parse(const char *s, e911_http2_t *out)
{
	if(s == NULL || *s == '\0' || strcasecmp(s, "auto") == 0) {
		*out = E911_H2_AUTO;
		return 0;
	}
	if(strcasecmp(s, "off") == 0) {
		*out = E911_H2_OFF;
		return 0;
	}
	if(strcasecmp(s, "h2c") == 0) {
		*out = E911_H2_H2C;
		return 0;
	}
	return -1;
}

int e911_http2_supported(
		e911_http2_t mode, unsigned int version_num, char *err, size_t errlen)
{
	/* h2c (HTTP/2 prior knowledge on http://) is not offered: libcurl
	 * 7.88 (bookworm) fails it on reused connections (curl issue 10634),
	 * and with 8.14 (trixie) the transfers that wait for the first
	 * connection (CURLOPT_PIPEWAIT) never start - without that wait each
	 * transfer opens its own connection, which is HTTP/1.1's cost.
	 * HTTP/2 by ALPN over https works with both. */
	if(mode == E911_H2_H2C) {
		snprintf(err, errlen,
				"h2c is not offered (libcurl %u.%u.%u): prior-knowledge HTTP/2 "
				"does not multiplex reliably with Debian's libcurl 7.88 or "
				"8.14; use https (HTTP/2 by ALPN, http2 auto) or off",
				(version_num >> 16) & 0xff, (version_num >> 8) & 0xff,
				version_num & 0xff);
		return -1;
	}
	return 0;
}

const char *e911_http2_name(e911_http2_t mode)
{
	switch(mode) {
		case E911_H2_OFF:
			return "off";
		case E911_H2_H2C:
			return "h2c";
		default:
			return "auto";
	}
}

void e911_http_plan(const char *url, e911_http2_t mode, e911_http_plan_t *out)
{
	int tls = url && strncasecmp(url, "https://", 8) == 0;

	if(mode == E911_H2_OFF) {
		out->curl_version = CURL_HTTP_VERSION_1_1;
		out->pipewait = 0;
		out->proto = E911_PROTO_H1;
	} else if(tls) {
		/* negotiated: HTTP/2 when the service offers it in ALPN; wait for
		 * the first connection's answer before opening more */
		out->curl_version = CURL_HTTP_VERSION_2TLS;
		out->pipewait = 1;
		out->proto = E911_PROTO_UNKNOWN;
	} else if(mode == E911_H2_H2C) {
		out->curl_version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
		out->pipewait = 1;
		out->proto = E911_PROTO_H2;
	} else {
		out->curl_version = CURL_HTTP_VERSION_1_1;
		out->pipewait = 0;
		out->proto = E911_PROTO_H1;
	}
}

e911_proto_t e911_proto_of_curl(long v)
{
	if(v == CURL_HTTP_VERSION_2_0)
		return E911_PROTO_H2;
	if(v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1)
		return E911_PROTO_H1;
	/* HTTP/3 is never asked for; nothing answered: not known */
	return E911_PROTO_UNKNOWN;
}

int e911_conc_resolve(
		const e911_conc_in_t *in, e911_conc_t *out, char *note, size_t notelen)
{
	int max = in->max_inflight > 0 ? in->max_inflight : 1;
	int lowered = 0;

	if(notelen)
		note[0] = '\0';
	if(in->concurrency < 0 || in->connections < 0 || in->h2_streams < 0) {
		snprintf(note, notelen,
				"async_concurrency, async_connections and async_h2_streams "
				"must not be negative (0: automatic)");
		return -1;
	}
	/* more transfers than lookups in flight could never be used */
	out->transfers = in->concurrency > 0 ? in->concurrency : max;
	if(out->transfers > max) {
		snprintf(note, notelen,
				"async_concurrency %d lowered to async_max_inflight %d",
				in->concurrency, max);
		out->transfers = max;
		lowered = 1;
	}
	out->streams =
			in->h2_streams > 0 ? in->h2_streams : E911_H2_STREAMS_DEFAULT;
	if(out->streams > E911_H2_STREAMS_MAX) {
		snprintf(note, notelen, "async_h2_streams %d lowered to %d",
				in->h2_streams, E911_H2_STREAMS_MAX);
		out->streams = E911_H2_STREAMS_MAX;
		lowered = 1;
	}
	/* automatic: one connection per transfer, so that an HTTP/1.1 service
	 * gets every transfer at once; an HTTP/2 one gets
	 * transfers / streams of them (libcurl opens another only when the
	 * open ones are full) */
	out->connections = in->connections > 0 ? in->connections : out->transfers;
	if(out->connections > out->transfers)
		out->connections = out->transfers;
	if(in->fd_budget > 0 && out->connections > in->fd_budget) {
		snprintf(note, notelen,
				"connections per host lowered from %d to %ld by the open "
				"files limit (raise open_files_limit)",
				out->connections, in->fd_budget);
		out->connections = (int)in->fd_budget;
		lowered = 1;
	}
	if(out->connections < 1)
		out->connections = 1;
	return lowered;
}

int e911_conc_capacity(const e911_conc_t *c, e911_proto_t proto)
{
	long cap = c->connections;

	if(proto == E911_PROTO_H2)
		cap = (long)c->connections * (long)c->streams;
	if(cap > c->transfers)
		cap = c->transfers;
	return cap < 1 ? 1 : (int)cap;
}
