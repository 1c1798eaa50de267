/*
 * e911 module - location service client
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Fetches one location record: builds the URL from the location_url template
 * (every byte of the key outside RFC 3986's unreserved set percent-encoded),
 * GETs it over http(s) with libcurl, or reads it from a file for file://
 * templates, and classifies the answer per the contract
 * (docs/location-api.md): a record, "no registered location", or a service
 * error.
 *
 * The request is split into prepare (configure an easy handle) and finish
 * (classify what came back) so the same code serves the blocking path (one
 * reused easy handle per process, keep-alive) and a curl multi loop.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_FETCH_H
#define E911_FETCH_H

#include <stddef.h>
#include <curl/curl.h>

#include "e911_breaker.h"
#include "e911_record.h"

typedef enum e911_fetch_status
{
	E911_FETCH_OK = 0,		 /* 200 with a valid record */
	E911_FETCH_NOTFOUND = 1, /* 404 / 410: no registered location */
	E911_FETCH_ERROR = 2,	 /* anything else: service error */
	E911_FETCH_TIMEOUT = 3	 /* the whole fetch took longer than allowed */
} e911_fetch_status_t;

typedef struct e911_fetch_cfg
{
	const char *url_tmpl;	 /* http://, https:// or file:// with {key} */
	long timeout_ms;		 /* whole transfer */
	long connect_timeout_ms; /* TCP (and TLS) connect */
	const char *auth_header; /* "Name: value" sent on every request, or NULL */
	const char *tls_ca_file; /* CA bundle, or NULL for the system's */
	int tls_verify;			 /* 1: verify peer and host name */
	const e911_fieldmap_t *fieldmap; /* NULL: contract v1 answers */
	int http2; /* e911_http2_t: HTTP/2 negotiated (auto), off, or h2c */
} e911_fetch_cfg_t;

typedef struct e911_fetch_res
{
	e911_fetch_status_t status;
	long http_code;		/* 0 when no HTTP answer */
	e911_record_t *rec; /* with E911_FETCH_OK: malloc()ed record */
	long elapsed_ms;
	e911_fail_t fail; /* how it failed, for the breaker and the key memory */
	char err[160];	  /* one line saying what went wrong; no location data */
} e911_fetch_res_t;

/* A transfer in progress: easy handle and its buffers. */
typedef struct e911_fetch_xfer
{
	CURL *easy;
	struct curl_slist *headers;
	char *body; /* received bytes, malloc()ed */
	size_t len;
	size_t cap;
	int too_big; /* the body exceeded E911_BODY_MAX: transfer aborted */
	const e911_fieldmap_t *fieldmap; /* how to read the answer */
	char url[2048];
	char errbuf[CURL_ERROR_SIZE];
} e911_fetch_xfer_t;

/* Percent-encodes key into out (RFC 3986, upper-case hex, only A-Z a-z 0-9
 * - . _ ~ kept). Returns the length, or -1 when out is too small. */
int e911_url_encode(const char *key, size_t klen, char *out, size_t size);

/* 1 when key[0..len) can be asked of the service: 1..E911_KEY_MAX bytes,
 * and not "." or ".." (path segments once in the URL); else 0. Every entry
 * point (lookups, prefetch, RPC refresh) refuses the same keys, so an
 * unusable key is the caller's problem and never reaches the service or
 * its breaker. */
int e911_key_usable(const char *key, size_t len);

/* Substitutes the encoded key for every "{key}" in tmpl into out.
 * Returns the length, or -1 when out is too small or tmpl has no {key}. */
int e911_url_build(
		const char *tmpl, const char *key, size_t klen, char *out, size_t size);

/* Checks a location_url template: scheme http, https or file, contains
 * {key}. Returns 0 or -1 with a reason in err. */
int e911_url_tmpl_check(const char *tmpl, char *err, size_t errlen);

/* Prepares x for fetching key. x->easy is reused when already set (keeps
 * the connection alive), else created. Returns 0, or -1 with res filled
 * (e.g. the URL does not fit). Not for file:// templates. */
int e911_fetch_prepare(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		const char *key, size_t klen, e911_fetch_res_t *res);

/* Classifies a finished transfer (cc = its CURLcode) into res and resets
 * the buffers of x (the easy handle is kept). */
void e911_fetch_finish(
		e911_fetch_xfer_t *x, CURLcode cc, e911_fetch_res_t *res);

/* Prepares x for a GET of url exactly as given (a health check URL), with
 * the limits and headers of cfg. Returns 0, or -1 with res filled. */
int e911_fetch_prepare_url(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		const char *url, e911_fetch_res_t *res);

/* How a transfer ended, for the breaker (docs/location-api.md, "What counts
 * as a failure"): cc its CURLcode, http_code the status received (0: none),
 * too_big the body cap was hit, total_us curl's total time (a transfer
 * that timed out without ever starting waited for a local connection
 * slot: E911_FAIL_LOCAL). For CURLE_OK the answer's classification
 * decides between E911_FAIL_NONE and E911_FAIL_ANSWER (status). */
e911_fail_t e911_fetch_fail_kind(CURLcode cc, long http_code, int too_big,
		long long total_us, e911_fetch_status_t status);

/* Releases everything x holds, including the easy handle. */
void e911_fetch_xfer_free(e911_fetch_xfer_t *x);

/* Blocking fetch of key with x (reused across calls): http(s) via libcurl,
 * file:// by reading <dir>/<encoded key>... directly (no decoding, so no key
 * can leave the directory). Always fills res; returns res->status. */
e911_fetch_status_t e911_fetch(e911_fetch_xfer_t *x,
		const e911_fetch_cfg_t *cfg, const char *key, size_t klen,
		e911_fetch_res_t *res);

/* Classifies an answer already in memory (code 200/404/...), reading
 * records through fm (NULL: contract v1) - used by e911_fetch_finish() and
 * the file:// path. Takes ownership of nothing. */
void e911_fetch_classify_fm(long http_code, const char *body, size_t len,
		const e911_fieldmap_t *fm, e911_fetch_res_t *res);

/* e911_fetch_classify_fm() for contract-v1 answers. */
void e911_fetch_classify(
		long http_code, const char *body, size_t len, e911_fetch_res_t *res);

#endif
