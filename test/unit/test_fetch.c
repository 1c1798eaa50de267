/*
 * Unit tests: the location service client. URL building and key encoding,
 * file:// lookups (no key can leave the directory), answer classification,
 * and real HTTP transfers against a tiny server forked on loopback
 * (record, 404, 5xx, redirect not followed, oversize body aborted, hang
 * bounded by the timeout).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e911_fetch.h"

static void test_encode(void **state)
{
	static const char *cases[][2] = {{"alice", "alice"},
			{"a.b-c_d~e", "a.b-c_d~e"}, {"../x", "..%2Fx"}, {"a/b", "a%2Fb"},
			{"%2F", "%252F"}, {"a?b#c", "a%3Fb%23c"},
			{"+13125550100", "%2B13125550100"}, {"a b", "a%20b"},
			{"\r\n", "%0D%0A"}, {"\xc3\xa9", "%C3%A9"}};
	char out[64];

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(e911_url_encode(cases[i][0], strlen(cases[i][0]), out,
								 sizeof(out)),
				strlen(cases[i][1]));
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(e911_url_encode("abc", 3, out, 3), -1);
	assert_int_equal(e911_url_encode("/", 1, out, 3), -1);
	assert_int_equal(e911_url_encode("/", 1, out, 4), 3);
}

static void test_build(void **state)
{
	char out[128];

	assert_true(e911_url_build(
						"http://h/v1/{key}?k={key}", "a/b", 3, out, sizeof(out))
				> 0);
	assert_string_equal(out, "http://h/v1/a%2Fb?k=a%2Fb");
	assert_int_equal(
			e911_url_build("http://h/v1/", "a", 1, out, sizeof(out)), -1);
	assert_int_equal(e911_url_build("http://h/{key}", "a", 1, out, 10), -1);
}

static void test_tmpl_check(void **state)
{
	char err[128];

	assert_int_equal(e911_url_tmpl_check("http://h/{key}", err, 128), 0);
	assert_int_equal(e911_url_tmpl_check("https://h/{key}", err, 128), 0);
	assert_int_equal(
			e911_url_tmpl_check("file:///var/e911/{key}.json", err, 128), 0);
	assert_int_equal(e911_url_tmpl_check("ftp://h/{key}", err, 128), -1);
	assert_int_equal(e911_url_tmpl_check("http://h/", err, 128), -1);
	assert_int_equal(e911_url_tmpl_check("http://h/ {key}", err, 128), -1);
	assert_int_equal(e911_url_tmpl_check("", err, 128), -1);
	assert_int_equal(e911_url_tmpl_check(NULL, err, 128), -1);
}

static e911_fetch_cfg_t file_cfg(char *tmpl, size_t size)
{
	e911_fetch_cfg_t cfg;

	snprintf(tmpl, size, "file://%s/fetch/dir/../{key}.json", E911_TEST_DATA);
	memset(&cfg, 0, sizeof(cfg));
	cfg.url_tmpl = tmpl;
	cfg.timeout_ms = 1000;
	cfg.connect_timeout_ms = 300;
	cfg.tls_verify = 1;
	return cfg;
}

static void test_file(void **state)
{
	char tmpl[1024];
	e911_fetch_cfg_t cfg = file_cfg(tmpl, sizeof(tmpl));
	e911_fetch_xfer_t x;
	e911_fetch_res_t res;

	memset(&x, 0, sizeof(x));
	assert_int_equal(e911_fetch(&x, &cfg, "alice", 5, &res), E911_FETCH_OK);
	assert_non_null(res.rec);
	free(res.rec);
	assert_int_equal(
			e911_fetch(&x, &cfg, "nobody", 6, &res), E911_FETCH_NOTFOUND);
	/* secret.json exists one level up from dir/ only through "..": the
	 * key is encoded, so these name files that do not exist */
	assert_int_equal(e911_fetch(&x, &cfg, "dir/../secret", 13, &res),
			E911_FETCH_NOTFOUND);
	assert_int_equal(e911_fetch(&x, &cfg, "../fetch/alice", 14, &res),
			E911_FETCH_NOTFOUND);
	assert_int_equal(e911_fetch(&x, &cfg, "..", 2, &res), E911_FETCH_ERROR);
	assert_int_equal(e911_fetch(&x, &cfg, ".", 1, &res), E911_FETCH_ERROR);
	assert_int_equal(e911_fetch(&x, &cfg, "", 0, &res), E911_FETCH_ERROR);
	e911_fetch_xfer_free(&x);
}

static void test_classify(void **state)
{
	e911_fetch_res_t res;
	const char *ok = "{\"civic\":{\"country\":\"US\",\"A3\":\"Chicago\"}}";

	memset(&res, 0, sizeof(res));
	e911_fetch_classify(404, "", 0, &res);
	assert_int_equal(res.status, E911_FETCH_NOTFOUND);
	e911_fetch_classify(410, "gone", 4, &res);
	assert_int_equal(res.status, E911_FETCH_NOTFOUND);
	for(long c = 100; c < 600; c++) {
		if(c == 200 || c == 404 || c == 410)
			continue;
		e911_fetch_classify(c, ok, strlen(ok), &res);
		assert_int_equal(res.status, E911_FETCH_ERROR);
		assert_null(res.rec);
	}
	e911_fetch_classify(403, "", 0, &res);
	assert_non_null(strstr(res.err, "auth_header"));
	e911_fetch_classify(200, "not json", 8, &res);
	assert_int_equal(res.status, E911_FETCH_ERROR);
	assert_non_null(strstr(res.err, "malformed"));
	e911_fetch_classify(200, "", 0, &res);
	assert_int_equal(res.status, E911_FETCH_ERROR);
	e911_fetch_classify(200, ok, strlen(ok), &res);
	assert_int_equal(res.status, E911_FETCH_OK);
	free(res.rec);
}

/* --- a tiny HTTP server on loopback, in a child process --- */

static const char record_json[] =
		"{\"civic\":{\"country\":\"US\",\"A1\":\"IL\",\"A3\":\"Chicago\"}}";

static void serve_one(int c)
{
	char req[4096];
	char hdr[256];
	ssize_t n = recv(c, req, sizeof(req) - 1, 0);
	char *big;

	if(n <= 0)
		return;
	req[n] = '\0';
	if(strstr(req, "GET /v1/alice ")) {
		snprintf(hdr, sizeof(hdr),
				"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n",
				strlen(record_json));
		send(c, hdr, strlen(hdr), MSG_NOSIGNAL);
		send(c, record_json, strlen(record_json), MSG_NOSIGNAL);
	} else if(strstr(req, "GET /v1/boom ")) {
		const char *r = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
		send(c, r, strlen(r), MSG_NOSIGNAL);
	} else if(strstr(req, "GET /v1/moved ")) {
		const char *r = "HTTP/1.1 302 Found\r\nLocation: /v1/alice\r\n"
						"Content-Length: 0\r\n\r\n";
		send(c, r, strlen(r), MSG_NOSIGNAL);
	} else if(strstr(req, "GET /v1/big ")) {
		const size_t sz = 1024 * 1024;
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n\r\n");
		send(c, hdr, strlen(hdr), MSG_NOSIGNAL);
		big = malloc(sz);
		memset(big, ' ', sz);
		for(int i = 0; i < 10; i++) {
			if(send(c, big, sz, MSG_NOSIGNAL) < 0)
				break;
		}
		free(big);
	} else if(strstr(req, "GET /v1/hang ")) {
		sleep(3);
	} else if(strstr(req, "Authorization: Bearer s3cret")
			  && strstr(req, "Accept: application/json")
			  && strstr(req, "GET /v1/%2B1%2F..%3F ")) {
		const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		send(c, r, strlen(r), MSG_NOSIGNAL);
	} else {
		const char *r = "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n";
		send(c, r, strlen(r), MSG_NOSIGNAL);
	}
}

static pid_t server_start(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	pid_t pid;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 16), 0);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	pid = fork();
	if(pid == 0) {
		/* bounded: at most 32 connections, 20 s */
		alarm(20);
		for(int i = 0; i < 32; i++) {
			int c = accept(s, NULL, NULL);
			if(c < 0)
				break;
			serve_one(c);
			close(c);
		}
		_exit(0);
	}
	close(s);
	return pid;
}

static void test_http(void **state)
{
	char tmpl[128];
	int port;
	pid_t pid = server_start(&port);
	e911_fetch_cfg_t cfg;
	e911_fetch_xfer_t x;
	e911_fetch_res_t res;
	struct timespec t0, t1;
	long ms;

	snprintf(tmpl, sizeof(tmpl), "http://127.0.0.1:%d/v1/{key}", port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.url_tmpl = tmpl;
	cfg.timeout_ms = 700;
	cfg.connect_timeout_ms = 300;
	cfg.tls_verify = 1;
	cfg.auth_header = "Authorization: Bearer s3cret";
	memset(&x, 0, sizeof(x));

	assert_int_equal(e911_fetch(&x, &cfg, "alice", 5, &res), E911_FETCH_OK);
	assert_int_equal(res.http_code, 200);
	assert_int_equal(res.fail, E911_FAIL_NONE);
	free(res.rec);
	assert_int_equal(e911_fetch(&x, &cfg, "boom", 4, &res), E911_FETCH_ERROR);
	assert_int_equal(res.http_code, 503);
	/* answered: an error for the key, not the service's failure */
	assert_int_equal(res.fail, E911_FAIL_ANSWER);
	assert_int_equal(e911_fetch(&x, &cfg, "moved", 5, &res), E911_FETCH_ERROR);
	assert_int_equal(res.http_code, 302);
	assert_int_equal(res.fail, E911_FAIL_ANSWER);
	assert_int_equal(e911_fetch(&x, &cfg, "big", 3, &res), E911_FETCH_ERROR);
	assert_non_null(strstr(res.err, "larger"));
	assert_int_equal(res.fail, E911_FAIL_ANSWER);
	/* the key is encoded; headers are sent */
	assert_int_equal(
			e911_fetch(&x, &cfg, "+1/..?", 6, &res), E911_FETCH_NOTFOUND);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(e911_fetch(&x, &cfg, "hang", 4, &res), E911_FETCH_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 650 && ms < 1500);
	assert_int_equal(res.fail, E911_FAIL_TIMEOUT);

	e911_fetch_xfer_free(&x);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	/* nothing listens there any more: refused, at once */
	memset(&x, 0, sizeof(x));
	assert_int_equal(e911_fetch(&x, &cfg, "alice", 5, &res), E911_FETCH_ERROR);
	assert_true(strlen(res.err) > 0);
	assert_int_equal(res.fail, E911_FAIL_CONNECT);
	e911_fetch_xfer_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_encode),
			cmocka_unit_test(test_build),
			cmocka_unit_test(test_tmpl_check),
			cmocka_unit_test(test_file),
			cmocka_unit_test(test_classify),
			cmocka_unit_test(test_http),
	};
	curl_global_init(CURL_GLOBAL_ALL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
