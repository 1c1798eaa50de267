/*
 * e911 module - Kari's Law notifications
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * 47 CFR 9.16(b)(2): when a 911 call is made, notify a central location
 * (front desk, security) that it was made, with the callback number and the
 * location conveyed to the PSAP - without delaying the call.
 *
 * e911_notify() renders the notification in the SIP worker (everything it
 * needs is at hand there), puts it on a bounded queue in shared memory and
 * returns. The notifier process delivers it: an HTTP POST of the JSON to
 * notify_url and/or a SIP MESSAGE to notify_sip_uri, with bounded retries
 * and exponential backoff. A full queue drops the notification (counted and
 * logged); nothing here can hold an emergency call.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../../core/cfg/cfg_struct.h"
#include "../../core/dprint.h"
#include "../../core/locking.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/pt.h"

#include "e911_lookup_async.h"
#include "e911_audit.h"
#include "core/e911_dialplan.h"
#include "e911_classify.h"
#include "e911_notify.h"
#include "core/e911_pidf.h"
#include "core/e911_record.h"

#define KIND_HOOK 0
#define KIND_SIP 1
#define KIND_DEVICE 2 /* body: ruri NUL to NUL next-hop NUL text */
#define BACKOFF_MS 500

e911_notify_cfg_t e911_notify_cfg = {"", "", "", 0, 3, 1000, 2000, "", 0};

typedef struct note
{
	struct note *next;
	int kind;
	int attempts;
	int64_t due_ms;
	int len;
	char body[];
} note_t;

typedef struct note_queue
{
	gen_lock_t lock;
	int count;
	note_t *head;
	note_t *tail;
} note_queue_t;

static note_queue_t *nq = NULL;
static int wake[2] = {-1, -1};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int enabled(void)
{
	return (e911_notify_cfg.url && e911_notify_cfg.url[0])
		   || (e911_notify_cfg.sip_uri && e911_notify_cfg.sip_uri[0])
		   || e911_notify_cfg.device_messages;
}

int e911_notify_init(const char *domain)
{
	if(e911_notify_cfg.url[0]
			&& ((strncasecmp(e911_notify_cfg.url, "http://", 7) != 0
						&& strncasecmp(e911_notify_cfg.url, "https://", 8) != 0)
					|| strpbrk(e911_notify_cfg.url, " \t\r\n") != NULL)) {
		LM_ERR("e911: modparam notify_url must be an http(s) URL\n");
		return -1;
	}
	if(e911_notify_cfg.sip_uri[0]
			&& e911_uri_check(
					   e911_notify_cfg.sip_uri, strlen(e911_notify_cfg.sip_uri))
					   < 0) {
		LM_ERR("e911: modparam notify_sip_uri is not a valid SIP URI\n");
		return -1;
	}
	if(e911_notify_cfg.sip_from == NULL
			|| e911_notify_cfg.sip_from[0] == '\0') {
		e911_notify_cfg.sip_from = pkg_malloc(strlen(domain) + 16);
		if(e911_notify_cfg.sip_from == NULL)
			return -1;
		sprintf(e911_notify_cfg.sip_from, "sip:e911@%s", domain);
	}
	if(!enabled())
		return 0;
	nq = shm_malloc(sizeof(*nq));
	if(nq == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(nq, 0, sizeof(*nq));
	if(lock_init(&nq->lock) == NULL)
		return -1;
	if(pipe(wake) < 0) {
		LM_ERR("e911: pipe failed: %s\n", strerror(errno));
		return -1;
	}
	fcntl(wake[0], F_SETFL, O_NONBLOCK);
	fcntl(wake[1], F_SETFL, O_NONBLOCK);
	if(e911_notify_cfg.queue_size < 1)
		e911_notify_cfg.queue_size = 1;
	if(e911_notify_cfg.retries < 0)
		e911_notify_cfg.retries = 0;
	if((e911_notify_cfg.sip_uri[0] || e911_notify_cfg.device_messages)
			&& !tm_loaded) {
		LM_ERR("e911: notify_sip_uri and confirm_window need the tm "
			   "module\n");
		return -1;
	}
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

int e911_notify_queue_depth(void)
{
	return nq ? __atomic_load_n(&nq->count, __ATOMIC_RELAXED) : 0;
}

/* Appends n to the queue unless it is full. Returns 0 or -1. */
static int queue_push(note_t *n, int count_it)
{
	char c = 1;

	lock_get(&nq->lock);
	if(count_it && nq->count >= e911_notify_cfg.queue_size) {
		lock_release(&nq->lock);
		return -1;
	}
	n->next = NULL;
	if(nq->tail)
		nq->tail->next = n;
	else
		nq->head = n;
	nq->tail = n;
	if(count_it)
		nq->count++;
	lock_release(&nq->lock);
	if(write(wake[1], &c, 1) < 0) {
		/* pipe full: the notifier is awake anyway */
	}
	return 0;
}

static note_t *note_new(int kind, const char *body, int len)
{
	note_t *n = shm_malloc(sizeof(*n) + len + 1);

	if(n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->due_ms = 0;
	n->len = len;
	memcpy(n->body, body, len);
	n->body[len] = '\0';
	return n;
}

/* The plain-text MESSAGE body: who, callback, where, when. */
static int message_text(json_t *facts, char *buf, size_t size)
{
	json_t *loc = json_object_get(facts, "location");
	const char *addr = json_string_value(json_object_get(loc, "address"));
	const char *cb = json_string_value(json_object_get(facts, "callback"));
	const char *caller = json_string_value(json_object_get(facts, "caller"));
	const char *dialled = json_string_value(json_object_get(facts, "dialled"));
	const char *t = json_string_value(json_object_get(facts, "time"));
	const char *cid = json_string_value(json_object_get(facts, "call_id"));
	int test = json_is_true(json_object_get(facts, "test"));
	const char *won = json_string_value(json_object_get(loc, "won"));
	const char *why = json_string_value(json_object_get(loc, "why"));
	int moved = json_is_true(json_object_get(loc, "moved"));
	int n;

	n = snprintf(buf, size,
			"%s %s call from %s at %s\r\nCallback: %s\r\nLocation sent to "
			"the PSAP: %s\r\nCall-ID: %s\r\n",
			test ? "TEST" : "EMERGENCY", dialled ? dialled : "?",
			caller ? caller : "unknown", t ? t : "?", cb ? cb : "none",
			addr ? addr : "none (routed to the fallback)", cid ? cid : "?");
	/* which source won and why; moved callers flagged */
	if(won && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "Location source: %s (%s)%s\r\n", won,
				why ? why : "",
				moved ? "\r\nMoved: calling from neither a known site "
						"nor a network of the registered location"
					  : "");
	return n;
}

/* Queues n (NULL: it could not be made) and counts the outcome. */
static void push_or_drop(note_t *n, int *queued, int *dropped)
{
	if(n && queue_push(n, 1) == 0) {
		(*queued)++;
		return;
	}
	if(n)
		shm_free(n);
	(*dropped)++;
}

int e911_notify_call(sip_msg_t *msg)
{
	char text[2048];
	json_t *facts;
	char *json;
	note_t *n;
	int cls;
	int queued = 0;
	int dropped = 0;
	int tlen;

	if(!enabled() || nq == NULL) {
		e911_audit_notify(msg, "disabled");
		return 2;
	}
	cls = e911_classify_request(msg).cls;
	if(cls == E911_DIAL_TEST && !e911_notify_cfg.test_calls) {
		e911_audit_notify(msg, "not-for-test");
		return 2;
	}
	facts = e911_call_facts(msg, e911_loc_get(msg), 1);
	if(facts == NULL)
		goto drop;
	json_object_set_new(facts, "event", json_string("emergency_call"));
	json_object_set_new(facts, "test", json_boolean(cls == E911_DIAL_TEST));
	if(e911_notify_cfg.url[0]) {
		json = json_dumps(facts, JSON_COMPACT);
		n = json ? note_new(KIND_HOOK, json, strlen(json)) : NULL;
		free(json);
		push_or_drop(n, &queued, &dropped);
	}
	if(e911_notify_cfg.sip_uri[0]) {
		tlen = message_text(facts, text, sizeof(text));
		if(tlen >= (int)sizeof(text))
			tlen = sizeof(text) - 1;
		n = tlen > 0 ? note_new(KIND_SIP, text, tlen) : NULL;
		push_or_drop(n, &queued, &dropped);
	}
	json_decref(facts);
	if(queued)
		update_stat(e911_st.notify_queued, queued);
	if(dropped) {
		update_stat(e911_st.notify_dropped, dropped);
		LM_ERR("e911: notification queue full (%d): %d notification(s) "
			   "dropped\n",
				e911_notify_cfg.queue_size, dropped);
	}
	e911_audit_notify(
			msg, dropped ? (queued ? "partly-dropped" : "dropped") : "queued");
	return dropped && !queued ? -1 : 1;

drop:
	update_stat(e911_st.notify_dropped, 1);
	LM_ERR("e911: cannot build the notification (out of memory)\n");
	e911_audit_notify(msg, "dropped");
	return -1;
}

/* Queues one note of the confirmation loop and counts it: 1 queued, -1
 * dropped (logged). */
static int queue_one(note_t *n, const char *what)
{
	int queued = 0;
	int dropped = 0;

	push_or_drop(n, &queued, &dropped);
	if(queued) {
		update_stat(e911_st.notify_queued, 1);
		return 1;
	}
	update_stat(e911_st.notify_dropped, 1);
	LM_ERR("e911: notification queue full (%d) or no memory: %s dropped\n",
			e911_notify_cfg.queue_size, what);
	return -1;
}

int e911_notify_event(json_t *event)
{
	char *json;
	note_t *n;

	if(nq == NULL || e911_notify_cfg.url == NULL || !e911_notify_cfg.url[0])
		return 2;
	json = json_dumps(event, JSON_COMPACT);
	n = json ? note_new(KIND_HOOK, json, strlen(json)) : NULL;
	free(json);
	return queue_one(n, "event");
}

int e911_notify_device(str *ruri, str *to, str *dst, const char *text, int len)
{
	char *b;
	char *p;
	int blen;
	note_t *n;

	if(nq == NULL || !e911_notify_cfg.device_messages)
		return 2;
	/* ruri NUL to NUL next-hop NUL text */
	blen = ruri->len + 1 + to->len + 1 + dst->len + 1 + len;
	b = pkg_malloc(blen + 1);
	if(b == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	p = b;
	memcpy(p, ruri->s, ruri->len);
	p += ruri->len;
	*p++ = '\0';
	memcpy(p, to->s, to->len);
	p += to->len;
	*p++ = '\0';
	memcpy(p, dst->s, dst->len);
	p += dst->len;
	*p++ = '\0';
	memcpy(p, text, len);
	n = note_new(KIND_DEVICE, b, blen);
	pkg_free(b);
	return queue_one(n, "device MESSAGE");
}

/* --- delivery, in the notifier process --- */

/* After a failed attempt: schedule a retry or give up. */
static void attempt_failed(note_t *n, const char *why)
{
	n->attempts++;
	if(n->attempts <= e911_notify_cfg.retries) {
		n->due_ms = now_ms() + ((int64_t)BACKOFF_MS << (n->attempts - 1));
		update_stat(e911_st.notify_retried, 1);
		LM_WARN("e911: notification %s failed (%s), retry %d of %d\n",
				n->kind == KIND_HOOK	 ? "webhook"
				: n->kind == KIND_DEVICE ? "device MESSAGE"
										 : "MESSAGE",
				why, n->attempts, e911_notify_cfg.retries);
		queue_push(n, 0);
		return;
	}
	update_stat(e911_st.notify_failed, 1);
	LM_ERR("e911: notification %s failed after %d attempts (%s)\n",
			n->kind == KIND_HOOK	 ? "webhook"
			: n->kind == KIND_DEVICE ? "device MESSAGE"
									 : "MESSAGE",
			n->attempts, why);
	lock_get(&nq->lock);
	nq->count--;
	lock_release(&nq->lock);
	shm_free(n);
}

static void delivered(note_t *n)
{
	update_stat(e911_st.notify_sent, 1);
	lock_get(&nq->lock);
	nq->count--;
	lock_release(&nq->lock);
	shm_free(n);
}

static CURL *hook_easy = NULL;

static void deliver_hook(note_t *n)
{
	struct curl_slist *h = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char why[160];
	long code = 0;
	CURLcode cc;

	if(hook_easy == NULL)
		hook_easy = curl_easy_init();
	else
		curl_easy_reset(hook_easy);
	if(hook_easy == NULL) {
		attempt_failed(n, "curl_easy_init failed");
		return;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	if(e911_notify_cfg.auth_header && e911_notify_cfg.auth_header[0])
		h = curl_slist_append(h, e911_notify_cfg.auth_header);
	errbuf[0] = '\0';
	curl_easy_setopt(hook_easy, CURLOPT_URL, e911_notify_cfg.url);
	curl_easy_setopt(hook_easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(hook_easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(
			hook_easy, CURLOPT_TIMEOUT_MS, (long)e911_notify_cfg.timeout_ms);
	curl_easy_setopt(hook_easy, CURLOPT_CONNECTTIMEOUT_MS,
			(long)e911_notify_cfg.timeout_ms);
	curl_easy_setopt(hook_easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(hook_easy, CURLOPT_POSTFIELDS, (const char *)n->body);
	curl_easy_setopt(hook_easy, CURLOPT_POSTFIELDSIZE, (long)n->len);
	curl_easy_setopt(hook_easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(hook_easy, CURLOPT_USERAGENT, "kamailio-e911/1");
	cc = curl_easy_perform(hook_easy);
	curl_slist_free_all(h);
	if(cc == CURLE_OK)
		curl_easy_getinfo(hook_easy, CURLINFO_RESPONSE_CODE, &code);
	if(cc == CURLE_OK && code >= 200 && code < 300) {
		delivered(n);
		return;
	}
	if(cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", code);
	attempt_failed(n, why);
}

static void message_done(struct cell *t, int type, struct tmcb_params *ps)
{
	note_t *n = (note_t *)*ps->param;
	char why[32];

	if(n == NULL)
		return;
	*ps->param = NULL; /* ownership goes back to the queue or is freed */
	if(ps->code >= 200 && ps->code < 300) {
		delivered(n);
		return;
	}
	snprintf(why, sizeof(why), "SIP %d", ps->code);
	attempt_failed(n, why);
}

static void deliver_sip(note_t *n)
{
	static str method = str_init("MESSAGE");
	static str hdrs = str_init("Content-Type: text/plain\r\n"
							   "Priority: urgent\r\n");
	uac_req_t uac_r;
	str ruri;
	str from;
	str body;

	ruri.s = e911_notify_cfg.sip_uri;
	ruri.len = strlen(ruri.s);
	from.s = e911_notify_cfg.sip_from;
	from.len = strlen(from.s);
	body.s = n->body;
	body.len = n->len;
	set_uac_req(&uac_r, &method, &hdrs, &body, NULL, TMCB_LOCAL_COMPLETED,
			message_done, n);
	if(tmb.t_request(&uac_r, &ruri, &ruri, &from, NULL) < 0)
		attempt_failed(n, "cannot send");
}

/* A MESSAGE to a device (confirmation loop): its Contact, To and the next
 * hop its REGISTER came from are in the note, then the text. */
static void deliver_device(note_t *n)
{
	static str method = str_init("MESSAGE");
	static str hdrs = str_init("Content-Type: text/plain;charset=utf-8\r\n");
	uac_req_t uac_r;
	str ruri;
	str to;
	str dst;
	str from;
	str body;

	ruri.s = n->body;
	ruri.len = strlen(ruri.s);
	to.s = ruri.s + ruri.len + 1;
	to.len = strlen(to.s);
	dst.s = to.s + to.len + 1;
	dst.len = strlen(dst.s);
	body.s = dst.s + dst.len + 1;
	body.len = n->len - (int)(body.s - n->body);
	from.s = e911_notify_cfg.sip_from;
	from.len = strlen(from.s);
	set_uac_req(&uac_r, &method, &hdrs, &body, NULL, TMCB_LOCAL_COMPLETED,
			message_done, n);
	if(tmb.t_request(&uac_r, &ruri, &to, &from, &dst) < 0)
		attempt_failed(n, "cannot send");
}

/* Takes every note that is due off the queue (oldest first). */
static note_t *take_due(int64_t now, int64_t *next_due)
{
	note_t *due = NULL;
	note_t **tailp = &due;
	note_t **pp;
	note_t *n;

	*next_due = now + 1000;
	lock_get(&nq->lock);
	pp = &nq->head;
	nq->tail = NULL;
	while(*pp) {
		n = *pp;
		if(n->due_ms <= now) {
			*pp = n->next;
			n->next = NULL;
			*tailp = n;
			tailp = &n->next;
			continue;
		}
		if(n->due_ms < *next_due)
			*next_due = n->due_ms;
		nq->tail = n;
		pp = &n->next;
	}
	lock_release(&nq->lock);
	return due;
}

static void notifier_loop(void)
{
	struct pollfd pfd;
	char drain[64];
	int64_t now;
	int64_t next_due = 0;
	note_t *n;
	note_t *next;
	int wait_ms;

	LM_INFO("e911: notifier started\n");
	for(;;) {
		now = now_ms();
		wait_ms = next_due > now ? (int)(next_due - now) : 0;
		if(wait_ms > 1000)
			wait_ms = 1000;
		pfd.fd = wake[0];
		pfd.events = POLLIN;
		if(poll(&pfd, 1, wait_ms) > 0) {
			while(read(wake[0], drain, sizeof(drain)) > 0) {
			}
		}
		cfg_update();
		for(n = take_due(now_ms(), &next_due); n; n = next) {
			next = n->next;
			if(n->kind == KIND_HOOK)
				deliver_hook(n);
			else if(n->kind == KIND_DEVICE)
				deliver_device(n);
			else
				deliver_sip(n);
		}
		/* retries queued by the deliveries above */
		lock_get(&nq->lock);
		for(n = nq->head; n; n = n->next) {
			if(n->due_ms < next_due)
				next_due = n->due_ms;
		}
		lock_release(&nq->lock);
	}
}

int e911_notify_child_init(int rank)
{
	int pid;

	if(!enabled() || rank != PROC_MAIN)
		return 0;
	pid = fork_process(PROC_RPC, "e911 notifier", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		notifier_loop();
		exit(-1);
	}
	return 0;
}
