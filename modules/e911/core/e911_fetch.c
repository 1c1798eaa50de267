/*
 * e911 module - location service client
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One GET per lookup, with hard limits: a whole-transfer timeout, a connect
 * timeout, a 64 KiB cap that aborts the transfer as soon as it is exceeded,
 * no redirects, http and https only, TLS verified unless disabled. The
 * answer is classified per the contract: 200 + valid record, 404/410 (no
 * registered location), or a service error with one line saying why.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "e911_cache.h"
#include "e911_concurrency.h"
#include "e911_fetch.h"

#define KEY_TOKEN "{key}"
#define KEY_TOKEN_LEN (sizeof(KEY_TOKEN) - 1)

int e911_key_usable(const char *key, size_t len)
{
	if(key == NULL || len == 0 || len > E911_KEY_MAX)
		return 0;
	return !(key[0] == '.' && (len == 1 || (len == 2 && key[1] == '.')));
}

/* Percent-encodes with libcurl (every byte but RFC 3986 unreserved ones,
 * upper-case hex), into the caller's buffer. */
int e911_url_encode(const char *key, size_t klen, char *out, size_t size)
{
	char *e;
	size_t n;

	if(klen > (size_t)INT_MAX || size == 0)
		return -1;
	if(klen == 0) { /* libcurl would take 0 as "use strlen()" */
		out[0] = '\0';
		return 0;
	}
	e = curl_easy_escape(NULL, key, (int)klen);
	if(e == NULL)
		return -1;
	n = strlen(e);
	if(n >= size) {
		curl_free(e);
		return -1;
	}
	memcpy(out, e, n + 1);
	curl_free(e);
	return (int)n;
}

int e911_url_build(
		const char *tmpl, const char *key, size_t klen, char *out, size_t size)
{
	char enc[3 * 256 + 1];
	int elen;
	size_t n = 0;
	const char *p = tmpl;
	const char *t;
	size_t chunk;
	int found = 0;

	elen = e911_url_encode(key, klen, enc, sizeof(enc));
	if(elen < 0)
		return -1;
	while(*p) {
		t = strstr(p, KEY_TOKEN);
		chunk = t ? (size_t)(t - p) : strlen(p);
		if(n + chunk >= size)
			return -1;
		memcpy(out + n, p, chunk);
		n += chunk;
		if(t == NULL)
			break;
		if(n + (size_t)elen >= size)
			return -1;
		memcpy(out + n, enc, elen);
		n += elen;
		p = t + KEY_TOKEN_LEN;
		found = 1;
	}
	if(!found || n >= size)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int e911_url_tmpl_check(const char *tmpl, char *err, size_t errlen)
{
	if(tmpl == NULL || *tmpl == '\0') {
		snprintf(err, errlen, "empty location URL");
		return -1;
	}
	if(strncasecmp(tmpl, "http://", 7) != 0
			&& strncasecmp(tmpl, "https://", 8) != 0
			&& strncasecmp(tmpl, "file:///", 8) != 0) {
		snprintf(err, errlen,
				"location URL must start with http://, https:// or file:///");
		return -1;
	}
	if(strstr(tmpl, KEY_TOKEN) == NULL) {
		snprintf(err, errlen, "location URL has no {key} placeholder");
		return -1;
	}
	if(strcspn(tmpl, " \t\r\n\"<>") != strlen(tmpl)) {
		snprintf(err, errlen, "location URL contains white space or <>\"");
		return -1;
	}
	return 0;
}

/* Keys "." and ".." would be path segments after substitution; an empty
 * key names nothing. */
static int key_check(const char *key, size_t klen, e911_fetch_res_t *res)
{
	if(klen == 0 || klen > 255 || (klen == 1 && key[0] == '.')
			|| (klen == 2 && key[0] == '.' && key[1] == '.')) {
		res->status = E911_FETCH_ERROR;
		snprintf(res->err, sizeof(res->err),
				"invalid lookup key (empty, '.', '..' or over 255 bytes)");
		return -1;
	}
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	e911_fetch_xfer_t *x = arg;
	size_t n = size * nmemb;
	size_t ncap;
	char *nb;

	if(x->len + n > E911_BODY_MAX) {
		x->too_big = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if(x->len + n + 1 > x->cap) {
		ncap = x->cap ? x->cap : 4096;
		while(ncap < x->len + n + 1)
			ncap *= 2;
		nb = realloc(x->body, ncap);
		if(nb == NULL)
			return 0;
		x->body = nb;
		x->cap = ncap;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

static void res_init(e911_fetch_res_t *res)
{
	memset(res, 0, sizeof(*res));
	res->status = E911_FETCH_ERROR;
	res->fail = E911_FAIL_LOCAL; /* until the service was asked */
}

static int setup_easy(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		e911_fetch_res_t *res);

int e911_fetch_prepare(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		const char *key, size_t klen, e911_fetch_res_t *res)
{
	res_init(res);
	if(key_check(key, klen, res) < 0)
		return -1;
	if(e911_url_build(cfg->url_tmpl, key, klen, x->url, sizeof(x->url)) < 0) {
		snprintf(res->err, sizeof(res->err), "location URL too long");
		return -1;
	}
	return setup_easy(x, cfg, res);
}

int e911_fetch_prepare_url(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		const char *url, e911_fetch_res_t *res)
{
	res_init(res);
	if(url == NULL || strlen(url) >= sizeof(x->url)) {
		snprintf(res->err, sizeof(res->err), "URL too long");
		return -1;
	}
	strcpy(x->url, url);
	return setup_easy(x, cfg, res);
}

static int setup_easy(e911_fetch_xfer_t *x, const e911_fetch_cfg_t *cfg,
		e911_fetch_res_t *res)
{
	char hdr[1024];
	e911_http_plan_t plan;

	if(x->easy == NULL) {
		x->easy = curl_easy_init();
		if(x->easy == NULL) {
			snprintf(res->err, sizeof(res->err), "curl_easy_init failed");
			return -1;
		}
	} else {
		/* keeps live connections, the DNS and TLS session caches */
		curl_easy_reset(x->easy);
	}
	curl_slist_free_all(x->headers);
	x->headers = curl_slist_append(NULL, "Accept: application/json");
	if(cfg->auth_header && cfg->auth_header[0]) {
		snprintf(hdr, sizeof(hdr), "%s", cfg->auth_header);
		x->headers = curl_slist_append(x->headers, hdr);
	}
	if(x->headers == NULL) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		return -1;
	}
	x->len = 0;
	x->too_big = 0;
	x->errbuf[0] = '\0';
	x->fieldmap = cfg->fieldmap;

	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(
			x->easy, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "kamailio-e911/1");
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(
			x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)E911_BODY_MAX);
	curl_easy_setopt(
			x->easy, CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
	curl_easy_setopt(
			x->easy, CURLOPT_SSL_VERIFYHOST, cfg->tls_verify ? 2L : 0L);
	if(cfg->tls_ca_file && cfg->tls_ca_file[0])
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, cfg->tls_ca_file);
	/* HTTP/2 where the service speaks it: many transfers share one
	 * connection (e911_concurrency.h) */
	e911_http_plan(x->url, (e911_http2_t)cfg->http2, &plan);
	curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, plan.curl_version);
	if(plan.pipewait)
		curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	return 0;
}

void e911_fetch_classify(
		long http_code, const char *body, size_t len, e911_fetch_res_t *res)
{
	e911_fetch_classify_fm(http_code, body, len, NULL, res);
}

void e911_fetch_classify_fm(long http_code, const char *body, size_t len,
		const e911_fieldmap_t *fm, e911_fetch_res_t *res)
{
	char perr[120];

	res->http_code = http_code;
	res->rec = NULL;
	res->fail = E911_FAIL_NONE;
	if(http_code == 404 || http_code == 410) {
		res->status = E911_FETCH_NOTFOUND;
		return;
	}
	res->status = E911_FETCH_ERROR;
	res->fail = E911_FAIL_ANSWER;
	if(http_code != 200) {
		if(http_code == 401 || http_code == 403)
			snprintf(res->err, sizeof(res->err),
					"HTTP %ld: the location service refused our credentials "
					"(check auth_header)",
					http_code);
		else
			snprintf(res->err, sizeof(res->err), "HTTP %ld", http_code);
		return;
	}
	if(body == NULL || len == 0) {
		snprintf(res->err, sizeof(res->err), "HTTP 200 with an empty body");
		return;
	}
	perr[0] = '\0';
	res->rec = e911_record_parse_mapped(body, len, fm, perr, sizeof(perr));
	if(res->rec == NULL) {
		snprintf(res->err, sizeof(res->err), "malformed record: %s", perr);
		return;
	}
	res->status = E911_FETCH_OK;
	res->fail = E911_FAIL_NONE;
	/* accepted with values left out: keep the warning for the caller */
	if(perr[0])
		snprintf(res->err, sizeof(res->err), "record accepted, %s", perr);
}

void e911_fetch_finish(e911_fetch_xfer_t *x, CURLcode cc, e911_fetch_res_t *res)
{
	long code = 0;
	curl_off_t total_us = 0;

	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	res->elapsed_ms = (long)(total_us / 1000);
	if(cc == CURLE_OK) {
		e911_fetch_classify_fm(code, x->body, x->len, x->fieldmap, res);
	} else if(cc == CURLE_OPERATION_TIMEDOUT && total_us < 1000) {
		res->status = E911_FETCH_ERROR;
		snprintf(res->err, sizeof(res->err),
				"no connection slot within the budget: service not asked");
	} else if(cc == CURLE_OPERATION_TIMEDOUT) {
		res->status = E911_FETCH_TIMEOUT;
		snprintf(res->err, sizeof(res->err), "timed out after %ld ms",
				res->elapsed_ms);
	} else if(x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		res->status = E911_FETCH_ERROR;
		snprintf(res->err, sizeof(res->err),
				"answer larger than %d bytes, transfer aborted", E911_BODY_MAX);
	} else {
		res->status = E911_FETCH_ERROR;
		snprintf(res->err, sizeof(res->err), "%s%s%.100s",
				curl_easy_strerror(cc), x->errbuf[0] ? ": " : "", x->errbuf);
		/* curl's message may end with a newline */
		res->err[strcspn(res->err, "\r\n")] = '\0';
	}
	if(cc != CURLE_OK)
		res->http_code = code;
	res->fail = e911_fetch_fail_kind(
			cc, code, x->too_big, (long long)total_us, res->status);
	x->len = 0;
	x->too_big = 0;
	if(x->cap > 4 * 4096) {
		free(x->body);
		x->body = NULL;
		x->cap = 0;
	}
}

e911_fail_t e911_fetch_fail_kind(CURLcode cc, long http_code, int too_big,
		long long total_us, e911_fetch_status_t status)
{
	switch(cc) {
		case CURLE_OK:
			return (status == E911_FETCH_OK || status == E911_FETCH_NOTFOUND)
						   ? E911_FAIL_NONE
						   : E911_FAIL_ANSWER;
		case CURLE_OPERATION_TIMEDOUT:
			/* curl's own queue (no free connection): it never started */
			return total_us < 1000 ? E911_FAIL_LOCAL : E911_FAIL_TIMEOUT;
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_NOT_BUILT_IN:
			return E911_FAIL_LOCAL;
		default:
			break;
	}
	/* an answer came (a status line, or more body than allowed): whatever
	 * went wrong after it, the service was there */
	if(too_big || cc == CURLE_FILESIZE_EXCEEDED || http_code > 0)
		return E911_FAIL_ANSWER;
	switch(cc) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			return E911_FAIL_CONNECT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_USE_SSL_FAILED:
			return E911_FAIL_TLS;
		default:
			/* nothing (GOT_NOTHING), a reset (RECV/SEND_ERROR), garbage
			 * instead of HTTP (WEIRD_SERVER_REPLY), HTTP/2 framing */
			return E911_FAIL_RESET;
	}
}

void e911_fetch_xfer_free(e911_fetch_xfer_t *x)
{
	if(x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->body);
	memset(x, 0, sizeof(*x));
}

static long elapsed_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000
				  + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* file:// templates: the path is used as built, with the key percent-encoded
 * and never decoded, so a key cannot name another directory. */
static e911_fetch_status_t fetch_file(e911_fetch_xfer_t *x,
		const e911_fetch_cfg_t *cfg, const char *key, size_t klen,
		e911_fetch_res_t *res)
{
	struct timespec t0;
	const char *path;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if(key_check(key, klen, res) < 0)
		return res->status;
	if(e911_url_build(cfg->url_tmpl, key, klen, x->url, sizeof(x->url)) < 0) {
		snprintf(res->err, sizeof(res->err), "location path too long");
		return res->status;
	}
	path = x->url + 7; /* after "file://" */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if(fd < 0) {
		if(errno == ENOENT) {
			res->status = E911_FETCH_NOTFOUND;
			res->http_code = 404;
			res->fail = E911_FAIL_NONE;
		} else {
			res->fail = E911_FAIL_ANSWER;
			snprintf(res->err, sizeof(res->err),
					"cannot open location file: %s", strerror(errno));
		}
		return res->status;
	}
	buf = malloc(E911_BODY_MAX + 1);
	if(buf == NULL) {
		close(fd);
		snprintf(res->err, sizeof(res->err), "out of memory");
		return res->status;
	}
	for(;;) {
		n = read(fd, buf + len, E911_BODY_MAX + 1 - len);
		if(n < 0 && errno == EINTR)
			continue;
		if(n <= 0)
			break;
		len += (size_t)n;
		if(len > E911_BODY_MAX)
			break;
	}
	close(fd);
	res->fail = E911_FAIL_ANSWER;
	if(n < 0) {
		snprintf(res->err, sizeof(res->err), "cannot read location file: %s",
				strerror(errno));
	} else if(len > E911_BODY_MAX) {
		snprintf(res->err, sizeof(res->err),
				"location file larger than %d bytes", E911_BODY_MAX);
	} else {
		e911_fetch_classify_fm(200, buf, len, cfg->fieldmap, res);
	}
	free(buf);
	res->elapsed_ms = elapsed_ms_since(&t0);
	return res->status;
}

e911_fetch_status_t e911_fetch(e911_fetch_xfer_t *x,
		const e911_fetch_cfg_t *cfg, const char *key, size_t klen,
		e911_fetch_res_t *res)
{
	CURLcode cc;

	res_init(res);
	if(strncasecmp(cfg->url_tmpl, "file://", 7) == 0)
		return fetch_file(x, cfg, key, klen, res);
	if(e911_fetch_prepare(x, cfg, key, klen, res) < 0)
		return res->status;
	cc = curl_easy_perform(x->easy);
	e911_fetch_finish(x, cc, res);
	return res->status;
}
