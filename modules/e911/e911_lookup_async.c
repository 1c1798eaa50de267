/*
 * e911 module - background fetching: non-blocking lookups, prefetch,
 * refresh-ahead and housekeeping
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Jobs. A job is one key being fetched, in shared memory, in a small hash
 * of jobs in flight (single-flight: a second miss for the same key joins the
 * job instead of starting another request). A job carries the suspended
 * transactions waiting for it. Its pointer travels to a fetcher process
 * over that fetcher's pipe; the number of jobs in flight is bounded, and a
 * lookup past the bound answers at once from the cache (stale record or
 * nothing) instead of queueing.
 *
 * Fetchers. Each fetcher process runs a libcurl multi loop, many transfers
 * at once, with the same limits as the blocking path (e911_fetch.c) and the
 * same breakers. When a job completes, the fetcher updates the cache and
 * resumes every waiting transaction (tm t_continue) in the script route it
 * named, with $e911(...) set to the outcome.
 *
 * Housekeeper. One process expires old entries, refreshes in-use entries
 * before they expire (refresh-ahead) and writes the snapshot file.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "../../core/cfg/cfg_struct.h"
#include "../../core/dprint.h"
#include "../../core/globals.h"
#include "../../core/kemi.h"
#include "../../core/locking.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/pt.h"
#include "../../core/receive.h"
#include "../../core/route.h"
#include "../../core/action.h"
#include "../../core/sr_module.h"
#include "../../modules/tm/tm_load.h"

#include "e911_lookup_async.h"
#include "core/e911_hash.h"
#include "e911_by_reference.h"
#include "e911_psap_callback.h"
#include "e911_lookup.h"
#include "core/e911_snapshot.h"
#include "core/e911_concurrency.h"

#define JOB_BUCKETS 1024
#define CBNAME_MAX 64
#define REFRESH_BATCH 512

e911_async_cfg_t e911_async_cfg = {1, 1024, 30, NULL, 60, 0, 0, 0};

typedef struct e911_waiter
{
	struct e911_waiter *next;
	unsigned int tindex;
	unsigned int tlabel;
	int ract; /* native route index, -1: KEMI callback */
	char cbname[CBNAME_MAX];
} e911_waiter_t;

typedef struct e911_job
{
	struct e911_job *next; /* in its bucket */
	uint32_t hash;
	e911_waiter_t *waiters;
	int64_t budget_from; /* ms: the attempt's budget runs from here */
	int waited;			 /* 1: waited in the fetcher's queue */
	int klen;
	char key[E911_KEY_MAX + 1];
} e911_job_t;

typedef struct e911_queue
{
	gen_lock_t lock;
	int inflight;
	e911_job_t *bucket[JOB_BUCKETS];
} e911_queue_t;

static e911_queue_t *queue = NULL;
static int (*pipes)[2] = NULL; /* per fetcher: [0] read, [1] write */
struct tm_binds tmb;
int tm_loaded = 0;
static int my_fetcher = -1;

static uint32_t key_hash(const char *k, int len)
{
	return (uint32_t)e911_hash(k, (size_t)len);
}

/* --- the job table --- */

static e911_job_t **find_job_locked(const char *key, int klen, uint32_t h)
{
	e911_job_t **pp = &queue->bucket[h % JOB_BUCKETS];

	while(*pp) {
		if((*pp)->hash == h && (*pp)->klen == klen
				&& memcmp((*pp)->key, key, klen) == 0)
			return pp;
		pp = &(*pp)->next;
	}
	return pp;
}

/* Reserves room for one more lookup in flight, before a transaction is
 * suspended for it: a lookup past the bound is answered at once, never
 * suspended first (on Kamailio 5.6 t_cancel_suspend() leaves the
 * transaction marked suspended and tm then drops every reply to it).
 * Joining a job already in flight for the key needs no new fetch, but still
 * holds a reservation until job_submit(), in case that job finishes in
 * between. Returns 0 (reserved) or -1 (at the bound). */
static int job_reserve(str *key)
{
	uint32_t h;

	if(queue == NULL || key->len <= 0 || key->len > E911_KEY_MAX)
		return -1;
	h = key_hash(key->s, key->len);
	lock_get(&queue->lock);
	if(queue->inflight >= e911_async_cfg.max_inflight
			&& *find_job_locked(key->s, key->len, h) == NULL) {
		lock_release(&queue->lock);
		return -1;
	}
	queue->inflight++;
	lock_release(&queue->lock);
	return 0;
}

static void job_unreserve(void)
{
	lock_get(&queue->lock);
	queue->inflight--;
	lock_release(&queue->lock);
}

/* Queues a fetch of key, with waiter w (may be NULL); reserved: a
 * job_reserve() for it is held (and is used or given back here). Returns 1
 * when a new job went to a fetcher, 2 when an existing job was joined, -1
 * when the bound is reached (never with reserved) or the fetcher's pipe is
 * full. */
static int job_submit(str *key, e911_waiter_t *w, int reserved)
{
	uint32_t h = key_hash(key->s, key->len);
	e911_job_t **pp;
	e911_job_t *job;
	int fetcher;
	ssize_t n;

	if(queue == NULL || key->len <= 0 || key->len > E911_KEY_MAX)
		return -1;
	lock_get(&queue->lock);
	pp = find_job_locked(key->s, key->len, h);
	if(*pp) {
		if(w) {
			w->next = (*pp)->waiters;
			(*pp)->waiters = w;
		}
		if(reserved)
			queue->inflight--;
		lock_release(&queue->lock);
		return 2;
	}
	if(!reserved && queue->inflight >= e911_async_cfg.max_inflight) {
		lock_release(&queue->lock);
		return -1;
	}
	job = shm_malloc(sizeof(*job));
	if(job == NULL) {
		if(reserved)
			queue->inflight--;
		lock_release(&queue->lock);
		SHM_MEM_ERROR;
		return -1;
	}
	memset(job, 0, sizeof(*job));
	job->hash = h;
	job->budget_from = e911_now_ms();
	job->klen = key->len;
	memcpy(job->key, key->s, key->len);
	job->waiters = w;
	if(w)
		w->next = NULL;
	*pp = job;
	if(!reserved)
		queue->inflight++;
	lock_release(&queue->lock);

	/* the same key always goes to the same fetcher */
	fetcher = (int)(h % (uint32_t)e911_async_cfg.workers);
	do {
		n = write(pipes[fetcher][1], &job, sizeof(job));
	} while(n < 0 && errno == EINTR);
	if(n == sizeof(job))
		return 1;

	/* pipe full: undo; nobody else can have joined a job that no fetcher
	 * knows about without also being in its waiters list, so hand those
	 * back to the caller's error path by resuming them here */
	LM_WARN("e911: fetcher %d queue full, lookup not queued\n", fetcher);
	lock_get(&queue->lock);
	pp = find_job_locked(job->key, job->klen, job->hash);
	if(*pp == job)
		*pp = job->next;
	queue->inflight--;
	lock_release(&queue->lock);
	if(job->waiters != w || (w && w->next)) {
		/* others joined meanwhile: let them time out in tm rather than
		 * touching transactions here; cannot happen with w == NULL */
		LM_ERR("e911: dropped a job with joined waiters\n");
	}
	shm_free(job);
	return -1;
}

/* Takes job out of the table; returns its waiters. */
static e911_waiter_t *job_detach(e911_job_t *job)
{
	e911_job_t **pp;
	e911_waiter_t *w;

	lock_get(&queue->lock);
	pp = find_job_locked(job->key, job->klen, job->hash);
	if(*pp == job)
		*pp = job->next;
	w = job->waiters;
	job->waiters = NULL;
	queue->inflight--;
	lock_release(&queue->lock);
	return w;
}

/* --- resuming transactions --- */

static void resume_waiter(e911_waiter_t *w)
{
	str cbname;
	str evname = str_init("e911:locate-async");

	if(w->ract >= 0) {
		tmb.t_continue(w->tindex, w->tlabel, main_rt.rlist[w->ract]);
	} else {
		cbname.s = w->cbname;
		cbname.len = strlen(w->cbname);
		tmb.t_continue_cb(w->tindex, w->tlabel, &cbname, &evname);
	}
	ksr_msg_env_reset();
}

/* A fetch for job finished (fres): update the cache and resume waiters. */
static void job_complete(e911_job_t *job, e911_fetch_res_t *fres)
{
	e911_waiter_t *w = job_detach(job);
	e911_waiter_t *next;
	str key = {job->key, job->klen};

	e911_key_outcome(&key, fres);
	if(w == NULL) {
		/* prefetch or refresh: only a real answer changes the cache */
		if(fres->status == E911_FETCH_OK
				|| fres->status == E911_FETCH_NOTFOUND) {
			e911_lookup_apply_resumed(&key, fres);
		} else {
			LM_INFO("e911: background fetch of key '%.*s' failed: %s\n",
					key.len, key.s, fres->err);
		}
		e911_loc_clear();
	} else {
		e911_lookup_apply_resumed(&key, fres);
		for(; w; w = next) {
			next = w->next;
			resume_waiter(w);
			shm_free(w);
		}
		e911_loc_clear();
	}
	free(fres->rec);
	fres->rec = NULL;
	shm_free(job);
}

/* --- the fetcher process --- */

typedef struct fslot
{
	e911_fetch_xfer_t x;
	e911_job_t *job; /* NULL: free */
	int which;		 /* 0 primary, 1 backup */
	long budget_ms;	 /* the transfer's timeout */
} fslot_t;

static fslot_t *slots = NULL; /* conc.transfers of them */
static int nslots = 0;
static int active = 0;		  /* transfers in curl, both services */
static int active_svc[2];	  /* of which toward each service */
static e911_proto_t proto[2]; /* what each service was last seen to speak */
static e911_conc_t conc;	  /* the resolved settings */
static CURLM *multi = NULL;

/* Jobs waiting for a transfer slot (at most max_inflight: every job in
 * flight is in one place only), oldest first; pq_size entries. */
typedef struct pending
{
	e911_job_t *job;
	int which;
} pending_t;

static pending_t *pq = NULL;
static int pq_size = 0;
static int pq_head = 0;
static int pq_len = 0;

static e911_fetch_cfg_t *svc_cfg(int which)
{
	return e911_service_cfg(which);
}

/* 1 when libcurl can start a transfer toward service which right away:
 * below the fetcher's transfers and the service's connections (times the
 * streams of each when it speaks HTTP/2). Otherwise the job waits in pq,
 * never in curl, whose waiting would look like the service's timeout. */
static int can_start(int which)
{
	return active < conc.transfers
		   && active_svc[which] < e911_conc_capacity(&conc, proto[which]);
}

static void fail_job_kind(e911_job_t *job, e911_fail_t kind, const char *why)
{
	e911_fetch_res_t fres;

	memset(&fres, 0, sizeof(fres));
	fres.status = E911_FETCH_ERROR;
	fres.fail = kind;
	snprintf(fres.err, sizeof(fres.err), "%s", why);
	job_complete(job, &fres);
}

static void fail_job(e911_job_t *job, const char *why)
{
	fail_job_kind(job, E911_FAIL_LOCAL, why);
}

/* What is left of the attempt's budget (ms), at least 0. */
static long budget_left(e911_job_t *job, int64_t now)
{
	long left =
			e911_lookup_cfg.fetch.timeout_ms - (long)(now - job->budget_from);

	return left > 0 ? left : 0;
}

/* A job whose budget ran out in our own queue: the service was never
 * asked, nothing counts against it. */
static void queue_timeout(e911_job_t *job, int64_t now)
{
	char why[160];

	update_stat(e911_st.queue_timeouts, 1);
	snprintf(why, sizeof(why),
			"waited %lld ms for one of the %d transfers (%d connections) to "
			"the location service: not asked",
			(long long)(now - job->budget_from), conc.transfers,
			conc.connections);
	fail_job(job, why);
}

static void start_transfer(e911_job_t *job, int which);

/* Fails the queued jobs whose budget is gone (every 10 ms at most),
 * keeping the others in order. */
static void expire_pending(int64_t now)
{
	static int64_t next_check = 0;
	pending_t p;
	int i;
	int kept = 0;
	int n = pq_len;

	if(now < next_check || pq_len == 0)
		return;
	next_check = now + 10;
	for(i = 0; i < n; i++) {
		p = pq[(pq_head + i) % pq_size];
		if(budget_left(p.job, now) < 5) {
			pq_len--;
			queue_timeout(p.job, now);
		} else {
			pq[(pq_head + kept) % pq_size] = p;
			kept++;
		}
	}
}

/* Starts queued jobs while there are free slots. Oldest first while the
 * queue is short; once the oldest has waited half its budget (more lookups
 * than the connections can answer in time), newest first: under a flood
 * the lookups that can still make their budget are answered rather than
 * every one arriving too late (adaptive LIFO). */
static void drain_pending(void)
{
	pending_t p;
	int64_t now = e911_now_ms();
	long half = e911_lookup_cfg.fetch.timeout_ms / 2;

	expire_pending(now);
	while(pq_len > 0 && active < conc.transfers) {
		if(budget_left(pq[pq_head].job, now) <= half) {
			p = pq[(pq_head + pq_len - 1) % pq_size];
			if(!can_start(p.which))
				break;
		} else {
			p = pq[pq_head];
			if(!can_start(p.which))
				break;
			pq_head = (pq_head + 1) % pq_size;
		}
		pq_len--;
		start_transfer(p.job, p.which);
	}
}

/* Starts a transfer for job on service which (or a later one). */
static void start_transfer(e911_job_t *job, int which)
{
	int64_t now = e911_now_ms();
	e911_fetch_res_t fres;
	e911_fetch_cfg_t *cfg;
	e911_fetch_cfg_t bcfg;
	fslot_t *s = NULL;
	str key = {job->key, job->klen};
	long left;
	int i;

	if(which == 0 && e911_key_blocked(&key, &fres)) {
		job_complete(job, &fres);
		return;
	}
	for(; which < 2; which++) {
		cfg = svc_cfg(which);
		if(cfg && e911_service_allowed(which))
			break;
	}
	if(which >= 2) {
		fail_job(job, "breaker open: location service not asked");
		return;
	}
	if(strncasecmp(cfg->url_tmpl, "file://", 7) == 0) {
		e911_fetch_xfer_t fx;
		memset(&fx, 0, sizeof(fx));
		e911_fetch(&fx, cfg, job->key, job->klen, &fres);
		e911_fetch_xfer_free(&fx);
		e911_service_report(which, &fres);
		job_complete(job, &fres);
		return;
	}
	if(!can_start(which)) {
		/* our own queue, bounded by max_inflight (no job is in two
		 * places); never curl's, whose waiting would look like the
		 * service's timeout */
		if(pq_len >= pq_size) {
			fail_job(job, "fetcher queue full");
			return;
		}
		job->waited = 1;
		pq[(pq_head + pq_len) % pq_size].job = job;
		pq[(pq_head + pq_len) % pq_size].which = which;
		pq_len++;
		update_stat(e911_st.lookups_queued, 1);
		return;
	}
	/* straight from the pipe: the whole budget; after our queue: what is
	 * left of it */
	left = job->waited ? budget_left(job, now)
					   : e911_lookup_cfg.fetch.timeout_ms;
	if(left < 5) {
		queue_timeout(job, now);
		return;
	}
	for(i = 0; i < nslots; i++) {
		if(slots[i].job == NULL) {
			s = &slots[i];
			break;
		}
	}
	if(s == NULL) {
		fail_job(job, "too many fetches in flight");
		return;
	}
	/* the transfer gets what is left of the budget */
	bcfg = *cfg;
	bcfg.timeout_ms = left;
	if(bcfg.connect_timeout_ms > left)
		bcfg.connect_timeout_ms = left;
	if(e911_fetch_prepare(&s->x, &bcfg, job->key, job->klen, &fres) < 0) {
		job_complete(job, &fres);
		return;
	}
	if(curl_multi_add_handle(multi, s->x.easy) != CURLM_OK) {
		fail_job(job, "curl_multi_add_handle failed");
		return;
	}
	s->job = job;
	s->which = which;
	s->budget_ms = left;
	active++;
	active_svc[which]++;
}

/* What the service answered with: HTTP/2 (many transfers per connection)
 * or HTTP/1.1. Only an answer tells (https negotiates it). */
static void learn_proto(CURL *easy, int which)
{
	long code = 0;
	long ver = 0;
	e911_proto_t p;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if(code <= 0
			|| curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &ver) != CURLE_OK)
		return;
	p = e911_proto_of_curl(ver);
	if(p == E911_PROTO_UNKNOWN || p == proto[which])
		return;
	LM_INFO("e911: fetcher %d: the %s location service speaks %s: up to %d "
			"transfers at once over at most %d connections\n",
			my_fetcher, which ? "backup" : "primary",
			p == E911_PROTO_H2 ? "HTTP/2" : "HTTP/1.1",
			e911_conc_capacity(&conc, p), conc.connections);
	proto[which] = p;
}

static void transfer_done(CURL *easy, CURLcode cc)
{
	e911_fetch_xfer_t *x = NULL;
	e911_fetch_res_t fres;
	e911_job_t *job;
	fslot_t *s;
	int which;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	curl_multi_remove_handle(multi, easy);
	if(x == NULL)
		return;
	s = (fslot_t *)x; /* x is the first member of its slot */
	job = s->job;
	which = s->which;
	s->job = NULL;
	active--;
	active_svc[which]--;
	memset(&fres, 0, sizeof(fres));
	learn_proto(easy, which);
	e911_fetch_finish(x, cc, &fres);
	if(fres.fail == E911_FAIL_TIMEOUT
			&& s->budget_ms < e911_lookup_cfg.fetch.timeout_ms) {
		/* the service had less than timeout_ms: the rest went by in our
		 * own queue, which is not the service's failure */
		fres.fail = E911_FAIL_LOCAL;
		update_stat(e911_st.queue_timeouts, 1);
		snprintf(fres.err, sizeof(fres.err),
				"budget spent: %ld ms waiting for one of the %d transfers to "
				"the location service, %ld ms with it",
				e911_lookup_cfg.fetch.timeout_ms - s->budget_ms, conc.transfers,
				s->budget_ms);
	}
	e911_service_report(which, &fres);
	if(fres.status != E911_FETCH_OK && fres.status != E911_FETCH_NOTFOUND
			&& which == 0 && svc_cfg(1) != NULL) {
		LM_WARN("e911: primary location service failed for key '%.*s' "
				"(%s), trying the backup\n",
				job->klen, job->key, fres.err);
		/* the backup attempt has a budget of its own, as on the blocking
		 * path */
		job->budget_from = e911_now_ms();
		job->waited = 0;
		start_transfer(job, 1);
		return;
	}
	job_complete(job, &fres);
}

static void read_jobs(int fd)
{
	e911_job_t *jobs[64];
	ssize_t n;
	int i;

	for(;;) {
		n = read(fd, jobs, sizeof(jobs));
		if(n < 0 && errno == EINTR)
			continue;
		if(n <= 0)
			return;
		for(i = 0; i < (int)(n / sizeof(jobs[0])); i++)
			start_transfer(jobs[i], 0);
	}
}

/* Connections per host the open-files limit leaves room for: what is not
 * open yet, less a reserve, shared by the services (0: not known). */
static long fd_budget(void)
{
	struct rlimit rl;
	struct dirent *de;
	DIR *d;
	long open_now = 0;
	long left;

	if(getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	d = opendir("/proc/self/fd");
	if(d == NULL)
		return 0;
	while((de = readdir(d)) != NULL)
		if(de->d_name[0] != '.')
			open_now++;
	closedir(d);
	left = (long)rl.rlim_cur - open_now - 64;
	left /= svc_cfg(1) ? 2 : 1;
	return left > 1 ? left : 1;
}

/* The fetcher's transfer slots, queue and curl multi handle, sized by the
 * resolved settings (e911_concurrency.h). The slots (2.4 KiB each) and
 * libcurl's handles and buffers are in the process's own heap (malloc),
 * not in pkg memory: their number is what the settings make it. */
static int fetcher_setup(int idx)
{
	e911_conc_in_t in;
	e911_http_plan_t plan;
	char note[200];
	int which;

	memset(&in, 0, sizeof(in));
	in.max_inflight = e911_async_cfg.max_inflight;
	in.concurrency = e911_async_cfg.concurrency;
	in.connections = e911_async_cfg.connections;
	in.h2_streams = e911_async_cfg.h2_streams;
	in.fd_budget = fd_budget();
	if(e911_conc_resolve(&in, &conc, note, sizeof(note)) > 0)
		LM_WARN("e911: fetcher %d: %s\n", idx, note);
	for(which = 0; which < 2; which++) {
		proto[which] = E911_PROTO_UNKNOWN;
		if(svc_cfg(which)) {
			e911_http_plan(svc_cfg(which)->url_tmpl,
					(e911_http2_t)svc_cfg(which)->http2, &plan);
			proto[which] = plan.proto;
		}
	}
	nslots = conc.transfers;
	pq_size = e911_async_cfg.max_inflight;
	slots = calloc(nslots, sizeof(fslot_t));
	pq = calloc(pq_size, sizeof(pending_t));
	multi = curl_multi_init();
	if(slots == NULL || pq == NULL || multi == NULL)
		return -1;
	/* no more transfers in curl than it can start (can_start): a transfer
	 * waiting inside curl for a connection would time out there and look
	 * like the service's failure; ours wait in pq */
	curl_multi_setopt(
			multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc.connections);
	curl_multi_setopt(
			multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)conc.streams);
	/* idle connections kept for the next burst: what the settings allow */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
			(long)conc.connections * (svc_cfg(1) ? 2 : 1));
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	LM_INFO("e911: fetcher %d started: up to %d transfers at once, %d "
			"connections per service, %d streams per HTTP/2 connection "
			"(http2 %s)\n",
			idx, conc.transfers, conc.connections, conc.streams,
			e911_http2_name((e911_http2_t)svc_cfg(0)->http2));
	return 0;
}

static void reap_done(void)
{
	CURLMsg *m;
	int left;

	while((m = curl_multi_info_read(multi, &left)) != NULL) {
		if(m->msg == CURLMSG_DONE)
			transfer_done(m->easy_handle, m->data.result);
	}
}

#ifdef __linux__
/* Event-driven: libcurl says which sockets to watch (epoll) and when its
 * next timeout is; only the transfers whose sockets are ready are run.
 * curl_multi_perform() would walk every transfer in flight on each
 * wake-up (a read attempt on each of hundreds of sockets per answer),
 * which makes a fetcher with many lookups in flight its own bottleneck. */
static int epfd = -1;
static int64_t curl_deadline = -1; /* ms, e911_now_ms(); -1: none */

static int on_socket(
		CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct epoll_event ev;

	(void)easy;
	(void)userp;
	if(what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0)
				| (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if(socketp == NULL) {
		if(epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
			epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(multi, s, (void *)1);
	} else if(epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT) {
		epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
	}
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	curl_deadline = timeout_ms < 0 ? -1 : e911_now_ms() + timeout_ms;
	return 0;
}

static void fetcher_loop(int idx)
{
	struct epoll_event ev;
	struct epoll_event evs[64];
	int64_t now;
	long wait;
	int running;
	int flags;
	int n;
	int i;

	my_fetcher = idx;
	if(fetcher_setup(idx) < 0) {
		LM_CRIT("e911: fetcher %d cannot start (out of memory)\n", idx);
		return;
	}
	fcntl(pipes[idx][0], F_SETFL, O_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = pipes[idx][0];
	if(epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pipes[idx][0], &ev) < 0) {
		LM_CRIT("e911: fetcher %d cannot start (epoll: %s)\n", idx,
				strerror(errno));
		return;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);

	for(;;) {
		cfg_update();
		/* queued jobs are checked at least every 20 ms (their budget) */
		wait = pq_len > 0 ? 20 : 1000;
		if(curl_deadline >= 0) {
			now = e911_now_ms();
			if(curl_deadline - now < wait)
				wait = curl_deadline > now ? (long)(curl_deadline - now) : 0;
		}
		n = epoll_wait(epfd, evs, 64, (int)wait);
		for(i = 0; i < n; i++) {
			if(evs[i].data.fd == pipes[idx][0]) {
				read_jobs(pipes[idx][0]);
				continue;
			}
			flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0)
					| (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0)
					| (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR
															 : 0);
			curl_multi_socket_action(multi, evs[i].data.fd, flags, &running);
		}
		if(curl_deadline >= 0 && e911_now_ms() >= curl_deadline) {
			curl_deadline = -1;
			curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		reap_done();
		drain_pending();
	}
}
#else
static void fetcher_loop(int idx)
{
	struct curl_waitfd wfd;
	int running;
	int numfds;

	my_fetcher = idx;
	if(fetcher_setup(idx) < 0) {
		LM_CRIT("e911: fetcher %d cannot start (out of memory)\n", idx);
		return;
	}
	fcntl(pipes[idx][0], F_SETFL, O_NONBLOCK);

	for(;;) {
		cfg_update();
		wfd.fd = pipes[idx][0];
		wfd.events = CURL_WAIT_POLLIN;
		wfd.revents = 0;
		/* queued jobs are checked at least every 20 ms (their budget) */
		curl_multi_poll(multi, &wfd, 1, pq_len > 0 ? 20 : 1000, &numfds);
		if(wfd.revents & CURL_WAIT_POLLIN)
			read_jobs(pipes[idx][0]);
		curl_multi_perform(multi, &running);
		reap_done();
		drain_pending();
	}
}
#endif

/* --- the housekeeper process --- */

typedef struct refresh_batch
{
	int64_t now;
	int n;
	int lens[REFRESH_BATCH];
	char keys[REFRESH_BATCH][E911_KEY_MAX + 1];
} refresh_batch_t;

static int collect_refresh(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	refresh_batch_t *b = arg;
	int64_t ahead;
	int64_t window =
			e911_lookup_cfg.cache_ttl > 60 ? e911_lookup_cfg.cache_ttl : 60;

	if(b->n >= REFRESH_BATCH)
		return 1;
	if(res->state != E911_CS_FRESH && res->state != E911_CS_STALE)
		return 0;
	/* in use: looked up (or fetched for a call) recently */
	if(res->last_used < b->now - window)
		return 0;
	/* within refresh_ahead of expiry - but never earlier than half the
	 * record's lifetime, so a short max_age does not mean a request on
	 * every tick - and not fetched this very second */
	ahead = e911_async_cfg.refresh_ahead;
	if(ahead > (res->fresh_until - res->fetched_at) / 2)
		ahead = (res->fresh_until - res->fetched_at) / 2;
	if(res->fresh_until - b->now > ahead || res->fetched_at >= b->now)
		return 0;
	memcpy(b->keys[b->n], key, klen);
	b->lens[b->n] = (int)klen;
	b->n++;
	return 0;
}

/* Queues a refresh for the keys the sweep step found. */
static void refresh_submit(refresh_batch_t *b)
{
	str key;
	int i;

	for(i = 0; i < b->n; i++) {
		key.s = b->keys[i];
		key.len = b->lens[i];
		if(job_submit(&key, NULL, 0) < 0)
			break;
	}
	if(b->n > 0)
		LM_DBG("e911: refresh-ahead queued %d keys\n", i);
}

/* One housekeeping tick: expires a slice of the cache table and, in the same
 * pass, collects refresh-ahead candidates from it. */
static void sweep_tick(int64_t now, uint32_t *cursor, uint32_t groups)
{
	static refresh_batch_t b;
	int refresh = e911_async_cfg.refresh_ahead > 0 && e911_service_available();

	b.now = now;
	b.n = 0;
	e911_cache_sweep_step(e911_cache, cursor, groups, now,
			refresh ? collect_refresh : NULL, &b);
	refresh_submit(&b);
}

static void housekeeper_loop(void)
{
	e911_cache_stats_t st;
	int64_t now;
	int64_t next_snapshot =
			(int64_t)time(NULL) + e911_async_cfg.snapshot_interval;
	int64_t period;
	uint32_t cursor = 0;
	uint32_t groups;

	/* The whole table (sized for cache_size) is swept once per period, a
	 * slice every second: often enough that refresh-ahead still sees an
	 * entry inside its window (a third of it), at most every 10 s, and not
	 * at all while the cache is empty. */
	period = e911_async_cfg.refresh_ahead / 3;
	if(e911_lookup_cfg.cache_ttl / 6 < period)
		period = e911_lookup_cfg.cache_ttl / 6;
	if(period < 1)
		period = 1;
	if(period > 10)
		period = 10;
	groups = e911_cache_lock_groups(e911_cache);
	groups = (groups + (uint32_t)period - 1) / (uint32_t)period;
	LM_INFO("e911: housekeeper started (whole cache swept every %d s)\n",
			(int)period);
	for(;;) {
		sleep(1);
		cfg_update();
		now = (int64_t)time(NULL);
		e911_reference_expire(now);
		e911_psap_callback_expire(now);
		e911_cache_get_stats(e911_cache, &st);
		if(st.entries > 0)
			sweep_tick(now, &cursor, groups);
		if(e911_async_cfg.snapshot_file && e911_async_cfg.snapshot_file[0]
				&& now >= next_snapshot) {
			e911_snapshot_write();
			next_snapshot = now + e911_async_cfg.snapshot_interval;
		}
	}
}

/* --- snapshot --- */

typedef struct snap_collect
{
	int n;
	int cap;
	e911_record_t **recs;
	char **keys;
	int64_t *fetched;
} snap_collect_t;

static int collect_snap(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	snap_collect_t *c = arg;
	void *p;

	if(res->rec == NULL)
		return 0;
	if(c->n == c->cap) {
		int ncap = c->cap ? 2 * c->cap : 1024;
		p = realloc(c->recs, ncap * sizeof(*c->recs));
		if(p == NULL)
			return 1;
		c->recs = p;
		p = realloc(c->keys, ncap * sizeof(*c->keys));
		if(p == NULL)
			return 1;
		c->keys = p;
		p = realloc(c->fetched, ncap * sizeof(*c->fetched));
		if(p == NULL)
			return 1;
		c->fetched = p;
		c->cap = ncap;
	}
	c->recs[c->n] = e911_record_dup(res->rec);
	c->keys[c->n] = strndup(key, klen);
	c->fetched[c->n] = res->fetched_at;
	if(c->recs[c->n] == NULL || c->keys[c->n] == NULL) {
		free(c->recs[c->n]);
		free(c->keys[c->n]);
		return 1;
	}
	c->n++;
	return 0;
}

int e911_snapshot_write(void)
{
	snap_collect_t c;
	e911_snap_writer_t *w;
	char err[200];
	int i;
	int rc = -1;

	if(e911_async_cfg.snapshot_file == NULL
			|| e911_async_cfg.snapshot_file[0] == '\0' || e911_cache == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	/* copy out under the slot locks, write with no lock held */
	e911_cache_walk(e911_cache, (int64_t)time(NULL), collect_snap, &c);
	w = e911_snap_open(e911_async_cfg.snapshot_file, err, sizeof(err));
	if(w == NULL) {
		LM_ERR("e911: cannot write snapshot %s: %s\n",
				e911_async_cfg.snapshot_file, err);
		goto done;
	}
	for(i = 0; i < c.n; i++) {
		/* -1: this entry skipped (the writer goes on), -2: write error */
		if(e911_snap_add(
				   w, c.keys[i], strlen(c.keys[i]), c.fetched[i], c.recs[i])
				== -2) {
			LM_ERR("e911: cannot write snapshot %s\n",
					e911_async_cfg.snapshot_file);
			e911_snap_abort(w);
			goto done;
		}
	}
	if(e911_snap_commit(w, err, sizeof(err)) < 0) {
		LM_ERR("e911: cannot write snapshot %s: %s\n",
				e911_async_cfg.snapshot_file, err);
		goto done;
	}
	rc = c.n;
	LM_DBG("e911: snapshot %s written, %d records\n",
			e911_async_cfg.snapshot_file, c.n);
done:
	for(i = 0; i < c.n; i++) {
		free(c.recs[i]);
		free(c.keys[i]);
	}
	free(c.recs);
	free(c.keys);
	free(c.fetched);
	return rc;
}

static int load_entry(const char *key, size_t klen, int64_t fetched_at,
		const e911_record_t *rec, void *arg)
{
	int64_t now = *(int64_t *)arg;
	int64_t stale_until =
			fetched_at + e911_lookup_cfg.cache_ttl + e911_lookup_cfg.stale_ttl;

	if(stale_until <= now)
		return 0;
	/* never fresh: the service is asked first; served when it fails */
	if(e911_cache_put(e911_cache, key, klen, rec, fetched_at, now, stale_until,
			   E911_ORIGIN_SNAPSHOT)
			< 0)
		return -1;
	return 0;
}

int e911_snapshot_load(void)
{
	char err[200];
	int64_t now = (int64_t)time(NULL);
	int n;

	if(e911_async_cfg.snapshot_file == NULL
			|| e911_async_cfg.snapshot_file[0] == '\0')
		return 0;
	n = e911_snap_load(
			e911_async_cfg.snapshot_file, load_entry, &now, err, sizeof(err));
	if(n < 0) {
		LM_ERR("e911: snapshot %s ignored: %s\n", e911_async_cfg.snapshot_file,
				err);
		return 0;
	}
	LM_INFO("e911: snapshot %s: %d records loaded\n",
			e911_async_cfg.snapshot_file, n);
	return n;
}

/* --- module life cycle --- */

int e911_async_init(void)
{
	int i;

	if(e911_async_cfg.workers < 1)
		e911_async_cfg.workers = 1;
	if(e911_async_cfg.max_inflight < 1)
		e911_async_cfg.max_inflight = 1;
	if(e911_async_cfg.concurrency < 0 || e911_async_cfg.connections < 0
			|| e911_async_cfg.h2_streams < 0) {
		LM_ERR("e911: async_concurrency, async_connections and "
			   "async_h2_streams must not be negative (0: automatic)\n");
		return -1;
	}
	/* a fetcher's pipe (64 KiB) must hold every job in flight, so a write
	 * to it never fails while the bound holds */
	if(e911_async_cfg.max_inflight > 4096)
		e911_async_cfg.max_inflight = 4096;
	if(e911_async_cfg.snapshot_interval < 1)
		e911_async_cfg.snapshot_interval = 1;
	if(load_tm_api(&tmb) == 0) {
		tm_loaded = 1;
	} else {
		LM_INFO("e911: tm not loaded: e911_locate_async() unavailable\n");
	}
	queue = shm_malloc(sizeof(*queue));
	if(queue == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(queue, 0, sizeof(*queue));
	if(lock_init(&queue->lock) == NULL)
		return -1;
	pipes = pkg_malloc(e911_async_cfg.workers * sizeof(*pipes));
	if(pipes == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	for(i = 0; i < e911_async_cfg.workers; i++) {
		if(pipe(pipes[i]) < 0) {
			LM_ERR("e911: pipe failed: %s\n", strerror(errno));
			return -1;
		}
		/* writers never block: a full pipe means "answer now" */
		fcntl(pipes[i][1], F_SETFL, O_NONBLOCK);
	}
	register_procs(e911_async_cfg.workers + 1);
	cfg_register_child(e911_async_cfg.workers + 1);
	return 0;
}

int e911_async_child_init(int rank)
{
	int i;
	int pid;

	if(rank == PROC_INIT || rank == PROC_TCP_MAIN)
		return 0;
	if(rank != PROC_MAIN)
		return 0;
	for(i = 0; i < e911_async_cfg.workers; i++) {
		pid = fork_process(PROC_RPC, "e911 fetcher", 1);
		if(pid < 0)
			return -1;
		if(pid == 0) {
			if(cfg_child_init())
				return -1;
			fetcher_loop(i);
			exit(-1);
		}
	}
	pid = fork_process(PROC_NOCHLDINIT, "e911 housekeeper", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		housekeeper_loop();
		exit(-1);
	}
	return 0;
}

void e911_async_destroy(void)
{
	/* only the main process writes the final snapshot */
	if(_ksr_is_main && e911_async_cfg.snapshot_file
			&& e911_async_cfg.snapshot_file[0])
		e911_snapshot_write();
}

/* --- script entry points --- */

int e911_prefetch_key(str *key)
{
	static uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	e911_cache_res_t cres;
	e911_keyerr_hit_t hit;

	if(key == NULL || key->len <= 0
			|| !e911_key_usable(key->s, (size_t)key->len)) {
		LM_ERR("e911: invalid prefetch key\n");
		return -1;
	}
	/* already fresh in the cache: nothing to fetch */
	if(e911_cache_lookup(e911_cache, key->s, key->len, (int64_t)time(NULL),
			   &cres, buf, sizeof(buf))
			== E911_CS_FRESH)
		return 1;
	/* failed a moment ago: not asked again before error_ttl */
	if(e911_lookup_cfg.error_ttl_ms > 0
			&& e911_keyerr_check(
					e911_shared->keyerr, key->s, key->len, e911_now_ms(), &hit))
		return 1;
	if(job_submit(key, NULL, 0) < 0) {
		update_stat(e911_st.async_busy, 1);
		return -1;
	}
	return 1;
}

/* Runs the route now, in the current process, for the current message. */
static int run_inline(sip_msg_t *msg, int ract, str *cbname)
{
	sr_kemi_eng_t *keng;

	if(ract >= 0) {
		run_top_route(main_rt.rlist[ract], msg, 0);
		return 1;
	}
	keng = sr_kemi_eng_get();
	if(keng == NULL
			|| sr_kemi_route(keng, msg, REQUEST_ROUTE, cbname, NULL) < 0) {
		LM_ERR("e911: cannot run KEMI function %.*s\n", cbname->len, cbname->s);
		return -1;
	}
	return 1;
}

int e911_lookup_async(sip_msg_t *msg, str *key, str *route)
{
	e911_fetch_res_t fres;
	char rname[CBNAME_MAX];
	e911_waiter_t *w;
	tm_cell_t *t;
	unsigned int tindex;
	unsigned int tlabel;
	int ract = -1;
	int rc;

	if(route == NULL || route->len <= 0 || route->len >= CBNAME_MAX) {
		LM_ERR("e911: e911_locate_async() needs a route name\n");
		return -1;
	}
	memcpy(rname, route->s, route->len);
	rname[route->len] = '\0';
	if(sr_kemi_eng_get() == NULL) {
		ract = route_lookup(&main_rt, rname);
		if(ract < 0 || main_rt.rlist[ract] == NULL) {
			LM_ERR("e911: route[%s] not found\n", rname);
			return -1;
		}
	}

	if(e911_lookup_start(msg, key) != 0)
		return run_inline(msg, ract, route);

	/* a miss: answer now if nothing would be asked anyway */
	if(!tm_loaded || !e911_service_available()) {
		e911_lookup_cache_only(msg, key, 0);
		return run_inline(msg, ract, route);
	}
	/* a key that failed a moment ago: stale record or fallback at once */
	if(e911_key_blocked(key, &fres)) {
		e911_lookup_apply(key, &fres);
		return run_inline(msg, ract, route);
	}

	/* past the bound the call is answered now, from the cache (stale
	 * record or the fallback), and its transaction is never suspended:
	 * decided before t_suspend(), so nothing has to be undone */
	if(job_reserve(key) < 0) {
		update_stat(e911_st.async_busy, 1);
		LM_WARN("e911: %d lookups in flight: key '%.*s' answered from the "
				"cache\n",
				e911_async_cfg.max_inflight, key->len, key->s);
		e911_lookup_cache_only(msg, key, 0);
		return run_inline(msg, ract, route);
	}
	t = tmb.t_gett();
	if(t == NULL || t == T_UNDEFINED) {
		rc = tmb.t_newtran(msg);
		if(rc == 0) {
			/* a copy of a request another process has just made its
			 * transaction of (and suspended): tm answered it from there */
			job_unreserve();
			return 0;
		}
		if(rc < 0) {
			LM_ERR("e911: cannot create the transaction\n");
			job_unreserve();
			e911_lookup_cache_only(msg, key, 0);
			return run_inline(msg, ract, route);
		}
	}
	w = shm_malloc(sizeof(*w));
	if(w == NULL) {
		SHM_MEM_ERROR;
		job_unreserve();
		e911_lookup_cache_only(msg, key, 0);
		return run_inline(msg, ract, route);
	}
	memset(w, 0, sizeof(*w));
	w->ract = ract;
	memcpy(w->cbname, rname, route->len + 1);
	if(tmb.t_suspend(msg, &tindex, &tlabel) < 0) {
		LM_ERR("e911: cannot suspend the transaction\n");
		shm_free(w);
		job_unreserve();
		e911_lookup_cache_only(msg, key, 0);
		return run_inline(msg, ract, route);
	}
	w->tindex = tindex;
	w->tlabel = tlabel;
	if(job_submit(key, w, 1) < 0) {
		/* only when a fetcher's pipe cannot take the job (the bound keeps
		 * it from filling up): undo the suspension. Kamailio 5.6's
		 * t_cancel_suspend() does not clear T_ASYNC_SUSPENDED (6.0's
		 * does), and a transaction left with it drops every reply */
		t = tmb.t_gett();
		if(tmb.t_cancel_suspend(tindex, tlabel) < 0)
			LM_ERR("e911: cannot undo the suspension\n");
		if(t && t != T_UNDEFINED)
			t->flags &= ~T_ASYNC_SUSPENDED;
		shm_free(w);
		update_stat(e911_st.async_busy, 1);
		LM_WARN("e911: lookup of key '%.*s' not queued: answered from the "
				"cache\n",
				key->len, key->s);
		e911_lookup_cache_only(msg, key, 0);
		return run_inline(msg, ract, route);
	}
	return 0;
}
