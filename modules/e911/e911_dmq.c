/*
 * e911 module - replication between cluster nodes over Kamailio's DMQ
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Three parts, in three kinds of process:
 *
 * - The hooks (any process: SIP workers, fetchers, RPC) copy an update into
 *   one shared-memory allocation and append it to a bounded queue under a
 *   lock; a full queue drops the update and counts it. They never encode,
 *   never send, never wait.
 * - The "e911 dmq" process takes the queue, encodes the updates into as few
 *   bodies as fit dmq_max_body (core/e911_replication.c), and broadcasts
 *   them with dmq. It also serves the join-time syncs other nodes ask for
 *   (the cache walked a slice at a time, at most SYNC_WINDOW bodies
 *   unanswered) and runs this node's own join: a sync_request to every
 *   peer, sync_start to the first that answers, then the items and a
 *   sync_end; no progress for dmq_sync_timeout seconds starts over.
 * - The peer callback (dmq's worker processes) checks that the message
 *   comes from a node in dmq's list, from that node's address, parses the
 *   whole body and applies it with the newer-wins rule, straight into the
 *   tables: nothing received is ever queued for sending again (no loops).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/atomic_ops.h"
#include "../../core/cfg/cfg_struct.h"
#include "../../core/counters.h"
#include "../../core/dprint.h"
#include "../../core/ip_addr.h"
#include "../../core/locking.h"
#include "../../core/mem/mem.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/parser/msg_parser.h"
#include "../../core/pt.h"
#include "../../core/rpc.h"
#include "../../core/rpc_lookup.h"
#include "../../core/sr_module.h"
#include "../../modules/dmq/bind_dmq.h"

#include "core/e911_callback_memory.h"
#include "core/e911_fetch.h"
#include "core/e911_outcome.h"
#include "core/e911_reference_tokens.h"
#include "core/e911_replication.h"
#include "core/e911_tombstones.h"
#include "e911_dmq.h"

#define URI_MAX 256
#define MAX_PEERS 16
/* shared-memory budget of the removal tombstones per cache entry, bytes
 * (a tombstone of a 20-byte key takes about 90) */
#define TOMBSTONE_BYTES 128
#define MAX_SERVE 4
/* bodies of a sync sent and not yet answered */
#define SYNC_WINDOW 8
/* lock groups of the cache walked per slice of a sync */
#define SYNC_SLICE 64
/* a callback number is replicated at most once per CB_RESEND seconds per
 * process (the peers' copy then expires at most that much earlier) */
#define CB_RESEND 60
#define CB_MEMO 1024
/* how long the sender lets updates gather after a wake-up, ms */
#define BATCH_MS 5
/* seconds between sync_requests while nobody answers */
#define SYNC_RETRY 2

e911_dmq_cfg_t e911_dmq_cfg = {.replicate = 0,
		.queue_size = 10000,
		.max_body = 60000,
		.sync = 1,
		.sync_timeout = 30};

typedef struct qitem
{
	struct qitem *next;
	e911_repl_op_t op;
	int64_t time;
	int klen;
	char key[E911_REPL_KEY_MAX + 1];
	char token[E911_REPL_TOKEN_LEN + 1];
	char number[E911_REPL_NUMBER_MAX + 1];
	uint64_t rec[]; /* the record, when the update has one */
} qitem_t;

typedef enum join_state
{
	JOIN_OFF = 0, /* not wanted (dmq_sync=0) or done */
	JOIN_WANTED,  /* ask with a sync_request */
	JOIN_ASKED,	  /* sync_request sent, waiting for an answer */
	JOIN_CHOSEN,  /* a peer answered: send it sync_start */
	JOIN_STARTED, /* sync_start sent, items arriving */
	JOIN_DONE
} join_state_t;

static const char *join_names[] = {
		"off", "wanted", "asked", "chosen", "started", "done"};

typedef struct peer_info
{
	char uri[URI_MAX];
	uint64_t received; /* messages applied or rejected */
	int64_t last_seen; /* unix s of the last message */
	int last_reply;	   /* status of the last reply to our message */
	int64_t last_reply_at;
} peer_info_t;

typedef struct dmq_shared
{
	gen_lock_t lock;
	/* the send queue */
	int count;
	qitem_t *head;
	qitem_t *tail;
	/* syncs this node serves: nodes that asked */
	int nserve;
	char serve[MAX_SERVE][URI_MAX];
	uint64_t served; /* syncs served */
	/* this node's join */
	join_state_t join;
	char join_uri[URI_MAX];
	int64_t join_asked_ms;
	int64_t join_started_ms;
	int64_t join_progress_ms;
	int64_t join_records;
	int64_t join_ms;
	int64_t join_done_at;
	int64_t join_items; /* items received (applied or older) */
	int64_t join_sent;	/* sync_end's count, -1 before it came */
	int npeers;
	peer_info_t peers[MAX_PEERS];
	atomic_t inflight; /* sync bodies sent, not answered */
} dmq_shared_t;

static dmq_shared_t *sh = NULL;
static e911_dmq_tables_t tb;
/* removals remembered, so that an older record arriving late is refused */
static e911_tombstones_t *tombs = NULL;
static dmq_api_t dmqb;
static dmq_peer_t *e911_peer = NULL;
static int wake[2] = {-1, -1};
static str ctype = str_init("application/x-e911-dmq");
static str r200 = str_init("OK");
static str r400 = str_init("Bad Request");
static str r403 = str_init("Forbidden");

static stat_var *st_sent;
static stat_var *st_sent_bytes;
static stat_var *st_received;
static stat_var *st_applied;
static stat_var *st_ignored;
static stat_var *st_rejected;
static stat_var *st_dropped;
static stat_var *st_sync_records;
static stat_var *st_sync_ms;

/* clang-format off */
static stat_export_t dmq_stats[] = {
	{"dmq_sent", 0, &st_sent},
	{"dmq_sent_bytes", 0, &st_sent_bytes},
	{"dmq_received", 0, &st_received},
	{"dmq_applied", 0, &st_applied},
	{"dmq_ignored", 0, &st_ignored},
	{"dmq_rejected", 0, &st_rejected},
	{"dmq_dropped", 0, &st_dropped},
	{"dmq_sync_records", STAT_NO_RESET, &st_sync_records},
	{"dmq_sync_ms", STAT_NO_RESET, &st_sync_ms},
	{0, 0, 0}
};
/* clang-format on */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_stat(stat_var *v, long value)
{
	update_stat(v, value - (long)get_stat_val(v));
}

static void wake_sender(void)
{
	char c = 1;

	if(write(wake[1], &c, 1) < 0) {
		/* pipe full: the sender is awake anyway */
	}
}

/* The entry of uri in the peer table (added when missing; NULL when the
 * table is full), under sh->lock. */
static peer_info_t *peer_locked(const str *uri)
{
	int n = uri->len < URI_MAX ? uri->len : URI_MAX - 1;

	for(int i = 0; i < sh->npeers; i++)
		if(strncmp(sh->peers[i].uri, uri->s, n) == 0
				&& sh->peers[i].uri[n] == '\0')
			return &sh->peers[i];
	if(sh->npeers == MAX_PEERS)
		return NULL;
	memcpy(sh->peers[sh->npeers].uri, uri->s, n);
	sh->peers[sh->npeers].uri[n] = '\0';
	return &sh->peers[sh->npeers++];
}

/* --- hooks --- */

/* A queue item for op with room for rec, or NULL (replication off). */
static qitem_t *item_new(e911_repl_op_t op, const e911_record_t *rec)
{
	size_t rsize = rec != NULL ? rec->size : 0;
	qitem_t *it;

	if(sh == NULL)
		return NULL;
	if(rec != NULL
			&& (rsize < sizeof(e911_record_t) || rsize > E911_REC_MAX_SIZE))
		return NULL;
	it = shm_malloc(sizeof(*it) + rsize);
	if(it == NULL) {
		update_stat(st_dropped, 1);
		return NULL;
	}
	memset(it, 0, sizeof(*it));
	it->op = op;
	if(rec != NULL)
		memcpy(it->rec, rec, rsize);
	return it;
}

static void enqueue(qitem_t *it)
{
	lock_get(&sh->lock);
	if(sh->count >= e911_dmq_cfg.queue_size) {
		lock_release(&sh->lock);
		shm_free(it);
		update_stat(st_dropped, 1);
		return;
	}
	it->next = NULL;
	if(sh->tail)
		sh->tail->next = it;
	else
		sh->head = it;
	sh->tail = it;
	sh->count++;
	lock_release(&sh->lock);
	wake_sender();
}

static int set_key(qitem_t *it, const char *key, int klen)
{
	if(key == NULL || klen <= 0 || klen > E911_REPL_KEY_MAX)
		return -1;
	memcpy(it->key, key, klen);
	it->klen = klen;
	return 0;
}

void e911_dmq_put(
		const char *key, int klen, const e911_record_t *rec, int64_t fetched_at)
{
	qitem_t *it;

	if(sh == NULL || rec == NULL || klen <= 0 || klen > E911_REPL_KEY_MAX)
		return;
	it = item_new(E911_REPL_PUT, rec);
	if(it == NULL)
		return;
	set_key(it, key, klen);
	it->time = fetched_at;
	enqueue(it);
}

void e911_dmq_remove(const char *key, int klen, int64_t at)
{
	qitem_t *it;

	if(sh == NULL || klen <= 0 || klen > E911_REPL_KEY_MAX)
		return;
	e911_tombstone_put(tombs, key, (size_t)klen, at);
	it = item_new(E911_REPL_REMOVE, NULL);
	if(it == NULL)
		return;
	set_key(it, key, klen);
	it->time = at;
	enqueue(it);
}

void e911_dmq_flush(int64_t at)
{
	qitem_t *it;

	e911_tombstones_flush(tombs, at);
	it = item_new(E911_REPL_FLUSH, NULL);
	if(it == NULL)
		return;
	it->time = at;
	enqueue(it);
}

void e911_dmq_flush_or_remove(const char *key, int klen, int64_t at)
{
	if(key != NULL)
		e911_dmq_remove(key, klen, at);
	else
		e911_dmq_flush(at);
}

void e911_dmq_token(const char *token, const char *key,
		const e911_record_t *rec, int64_t expires)
{
	qitem_t *it;
	int klen;

	if(sh == NULL || token == NULL || key == NULL || rec == NULL
			|| strlen(token) != E911_REPL_TOKEN_LEN)
		return;
	klen = (int)strlen(key);
	if(klen <= 0 || klen > E911_REPL_KEY_MAX)
		return;
	it = item_new(E911_REPL_TOKEN, rec);
	if(it == NULL)
		return;
	set_key(it, key, klen);
	memcpy(it->token, token, E911_REPL_TOKEN_LEN);
	it->time = expires;
	enqueue(it);
}

/* Whether this process sent the callback number d less than CB_RESEND
 * seconds ago (remembers it as sent now otherwise): a caller who calls again
 * and again is replicated once a minute, not once a call. */
static int callback_sent_lately(const char *d)
{
	static struct
	{
		uint64_t hash;
		int64_t at;
	} memo[CB_MEMO];
	uint64_t h = 0xcbf29ce484222325ULL;
	int64_t now = (int64_t)time(NULL);
	unsigned slot;

	for(const char *p = d; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	slot = (unsigned)(h & (CB_MEMO - 1));
	if(memo[slot].hash == h && now - memo[slot].at < CB_RESEND)
		return 1;
	memo[slot].hash = h;
	memo[slot].at = now;
	return 0;
}

void e911_dmq_callback(const char *number, int len, int64_t expires)
{
	char d[E911_RECENT_DIGITS_MAX + 1];
	qitem_t *it;

	if(sh == NULL || number == NULL || len <= 0
			|| e911_recent_callers_normalize(number, len, d, sizeof(d)) < 0
			|| callback_sent_lately(d))
		return;
	it = item_new(E911_REPL_CALLBACK, NULL);
	if(it == NULL)
		return;
	memcpy(it->number, d, sizeof(d));
	it->time = expires;
	enqueue(it);
}

/* --- sending, in the "e911 dmq" process --- */

static int bcast_done(sip_msg_t *msg, int code, dmq_node_t *node, void *param)
{
	peer_info_t *p;

	if(node == NULL || sh == NULL)
		return 0;
	lock_get(&sh->lock);
	p = peer_locked(&node->orig_uri);
	if(p != NULL) {
		p->last_reply = code;
		p->last_reply_at = (int64_t)time(NULL);
	}
	lock_release(&sh->lock);
	return 0;
}

static dmq_resp_cback_t bcast_cb = {bcast_done, 0};

static void bcast(e911_repl_writer_t *w)
{
	str body = {w->buf, (int)w->len};

	if(w->buf == NULL || w->len == 0)
		return;
	if(dmqb.bcast_message(e911_peer, &body, NULL, &bcast_cb, 1, &ctype) < 0) {
		LM_WARN("e911: cannot broadcast a %s message to the cluster\n",
				e911_repl_op_name(w->op));
		return;
	}
	update_stat(st_sent, 1);
	update_stat(st_sent_bytes, (long)w->len);
}

/* Adds it to w (of the same operation). Returns 0 when added, 1 when w was
 * full and has been sent (add again), -1 when the item cannot be sent. */
static int add_item(e911_repl_writer_t *w, qitem_t *it)
{
	const e911_record_t *rec = (const e911_record_t *)it->rec;

	switch(it->op) {
		case E911_REPL_PUT:
			return e911_repl_add_put(w, it->key, it->klen, it->time, rec);
		case E911_REPL_REMOVE:
			return e911_repl_add_remove(w, it->key, it->klen, it->time);
		case E911_REPL_TOKEN:
			return e911_repl_add_token(
					w, it->token, it->key, it->klen, it->time, rec);
		case E911_REPL_CALLBACK:
			return e911_repl_add_callback(
					w, it->number, strlen(it->number), it->time);
		default:
			return -1;
	}
}

/* Sends everything queued: consecutive updates of one operation share a
 * body as long as it fits. */
static void send_queued(void)
{
	e911_repl_writer_t w = {0};
	qitem_t *list;
	qitem_t *it;
	qitem_t *next;
	int rc;

	lock_get(&sh->lock);
	list = sh->head;
	sh->head = sh->tail = NULL;
	sh->count = 0;
	lock_release(&sh->lock);

	for(it = list; it != NULL; it = next) {
		next = it->next;
		if(it->op == E911_REPL_FLUSH) {
			bcast(&w);
			w.items = 0;
			w.len = 0;
			if(e911_repl_begin(&w, E911_REPL_FLUSH, 0, -1, it->time,
					   e911_dmq_cfg.max_body)
					== 0)
				bcast(&w);
			w.len = 0;
			w.op = E911_REPL_NONE;
			shm_free(it);
			continue;
		}
		if(w.op != it->op) {
			if(w.items > 0)
				bcast(&w);
			if(e911_repl_begin(&w, it->op, 0, -1, -1, e911_dmq_cfg.max_body)
					< 0) {
				shm_free(it);
				w.op = E911_REPL_NONE;
				continue;
			}
		}
		rc = add_item(&w, it);
		if(rc == 1) {
			bcast(&w);
			e911_repl_begin(&w, it->op, 0, -1, -1, e911_dmq_cfg.max_body);
			rc = add_item(&w, it);
		}
		if(rc < 0) {
			LM_WARN("e911: a %s update cannot be replicated (too large or "
					"invalid)\n",
					e911_repl_op_name(it->op));
			update_stat(st_dropped, 1);
		}
		shm_free(it);
	}
	if(w.items > 0)
		bcast(&w);
	e911_repl_writer_free(&w);
}

static int sync_done(sip_msg_t *msg, int code, dmq_node_t *node, void *param)
{
	if(sh != NULL)
		atomic_dec(&sh->inflight);
	return bcast_done(msg, code, node, param);
}

static dmq_resp_cback_t sync_cb = {sync_done, 0};

/* Sends w to the node at uri, waiting while SYNC_WINDOW bodies are
 * unanswered. Returns 0, or -1 when the node is gone or does not answer. */
static int send_to(const char *uri, e911_repl_writer_t *w, int windowed)
{
	str suri = {(char *)uri, (int)strlen(uri)};
	str body = {w->buf, (int)w->len};
	dmq_node_t *node;
	int64_t until = now_ms() + (int64_t)e911_dmq_cfg.sync_timeout * 1000;

	while(windowed && atomic_get(&sh->inflight) >= SYNC_WINDOW) {
		if(now_ms() > until) {
			LM_WARN("e911: sync to %s: no answer for %d s, given up\n", uri,
					e911_dmq_cfg.sync_timeout);
			return -1;
		}
		poll(NULL, 0, 2);
	}
	node = dmqb.find_dmq_node_uri(&suri);
	if(node == NULL)
		return -1;
	if(windowed)
		atomic_inc(&sh->inflight);
	if(dmqb.send_message(e911_peer, &body, node,
			   windowed ? &sync_cb : &bcast_cb, 1, &ctype)
			< 0) {
		if(windowed)
			atomic_dec(&sh->inflight);
		return -1;
	}
	update_stat(st_sent, 1);
	update_stat(st_sent_bytes, (long)w->len);
	return 0;
}

/* What a slice of the walk copied out of a table. */
typedef struct grab
{
	qitem_t **v;
	size_t n;
	size_t cap;
} grab_t;

static int grab_push(grab_t *g, qitem_t *it)
{
	if(g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		qitem_t **v = realloc(g->v, cap * sizeof(*v));
		if(v == NULL)
			return -1;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = it;
	return 0;
}

/* A process-private copy (malloc) of an update. */
static qitem_t *grab_item(e911_repl_op_t op, const e911_record_t *rec)
{
	size_t rsize = rec != NULL ? rec->size : 0;
	qitem_t *it = malloc(sizeof(*it) + rsize);

	if(it != NULL) {
		memset(it, 0, sizeof(*it));
		it->op = op;
		if(rec != NULL)
			memcpy(it->rec, rec, rsize);
	}
	return it;
}

static int grab_entry(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	qitem_t *it;

	/* negative entries stay on their node */
	if(res->rec == NULL || klen > E911_REPL_KEY_MAX)
		return 0;
	it = grab_item(E911_REPL_PUT, res->rec);
	if(it == NULL || grab_push(arg, it) < 0) {
		free(it);
		return 1;
	}
	memcpy(it->key, key, klen);
	it->klen = (int)klen;
	it->time = res->fetched_at;
	return 0;
}

static int grab_token(const char *token, const char *key, size_t klen,
		int64_t expires, const e911_record_t *rec, void *arg)
{
	qitem_t *it;

	if(klen == 0 || klen > E911_REPL_KEY_MAX)
		return 0;
	it = grab_item(E911_REPL_TOKEN, rec);
	if(it == NULL || grab_push(arg, it) < 0) {
		free(it);
		return 1;
	}
	memcpy(it->key, key, klen);
	it->klen = (int)klen;
	memcpy(it->token, token, E911_REPL_TOKEN_LEN);
	it->time = expires;
	return 0;
}

static int grab_number(
		const char *digits, size_t len, int64_t expires, void *arg)
{
	qitem_t *it;

	if(len > E911_REPL_NUMBER_MAX)
		return 0;
	it = grab_item(E911_REPL_CALLBACK, NULL);
	if(it == NULL || grab_push(arg, it) < 0) {
		free(it);
		return 1;
	}
	memcpy(it->number, digits, len);
	it->time = expires;
	return 0;
}

/* Encodes the grabbed items as sync bodies to uri. Returns the number
 * sent, or -1 when sending failed. */
static long send_grabbed(const char *uri, grab_t *g, e911_repl_writer_t *w)
{
	long sent = 0;
	int rc;

	for(size_t i = 0; i < g->n; i++) {
		if(w->op != g->v[i]->op) {
			if(w->items > 0 && send_to(uri, w, 1) < 0)
				return -1;
			e911_repl_begin(w, g->v[i]->op, 1, -1, -1, e911_dmq_cfg.max_body);
		}
		rc = add_item(w, g->v[i]);
		if(rc == 1) {
			if(send_to(uri, w, 1) < 0)
				return -1;
			e911_repl_begin(w, g->v[i]->op, 1, -1, -1, e911_dmq_cfg.max_body);
			rc = add_item(w, g->v[i]);
		}
		if(rc == 0)
			sent++;
	}
	return sent;
}

static void grab_free(grab_t *g)
{
	for(size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	g->n = 0;
}

/* Sends everything this node holds to the node at uri: the cache a slice
 * of lock groups at a time, then the references and the callback numbers,
 * then sync_end with the count. */
static void serve_sync(const char *uri)
{
	e911_repl_writer_t w = {0};
	grab_t g = {0};
	int64_t start = now_ms();
	int64_t now = (int64_t)time(NULL);
	uint32_t groups = e911_cache_lock_groups(tb.cache);
	uint32_t cursor = 0;
	long total = 0;
	long n;

	LM_INFO("e911: sending everything this node holds to %s\n", uri);
	for(uint32_t done = 0; done < groups; done += SYNC_SLICE) {
		e911_cache_sweep_step(
				tb.cache, &cursor, SYNC_SLICE, now, grab_entry, &g);
		n = send_grabbed(uri, &g, &w);
		grab_free(&g);
		if(n < 0)
			goto fail;
		total += n;
	}
	e911_tokens_walk(tb.tokens, now, grab_token, &g);
	e911_recent_callers_walk(tb.recent, now, grab_number, &g);
	n = send_grabbed(uri, &g, &w);
	grab_free(&g);
	if(n < 0)
		goto fail;
	total += n;
	if(w.items > 0 && send_to(uri, &w, 1) < 0)
		goto fail;
	if(e911_repl_begin(
			   &w, E911_REPL_SYNC_END, 1, total, -1, e911_dmq_cfg.max_body)
					< 0
			|| send_to(uri, &w, 1) < 0)
		goto fail;
	lock_get(&sh->lock);
	sh->served++;
	lock_release(&sh->lock);
	LM_INFO("e911: sync to %s: %ld items in %lld ms\n", uri, total,
			(long long)(now_ms() - start));
	goto out;
fail:
	LM_WARN("e911: sync to %s abandoned after %ld items\n", uri, total);
out:
	free(g.v);
	e911_repl_writer_free(&w);
}

static void serve_syncs(void)
{
	char uri[URI_MAX];

	for(;;) {
		lock_get(&sh->lock);
		if(sh->nserve == 0) {
			lock_release(&sh->lock);
			return;
		}
		memcpy(uri, sh->serve[0], URI_MAX);
		sh->nserve--;
		memmove(sh->serve[0], sh->serve[1], (size_t)sh->nserve * URI_MAX);
		lock_release(&sh->lock);
		serve_sync(uri);
	}
}

static int join_answer(sip_msg_t *msg, int code, dmq_node_t *node, void *param)
{
	int n;

	bcast_done(msg, code, node, param);
	if(code != 200 || node == NULL)
		return 0;
	lock_get(&sh->lock);
	if(sh->join == JOIN_ASKED) {
		n = node->orig_uri.len < URI_MAX ? node->orig_uri.len : URI_MAX - 1;
		memcpy(sh->join_uri, node->orig_uri.s, n);
		sh->join_uri[n] = '\0';
		sh->join = JOIN_CHOSEN;
	}
	lock_release(&sh->lock);
	wake_sender();
	return 0;
}

static dmq_resp_cback_t join_cb = {join_answer, 0};

/* One step of this node's join-time sync. */
static void join_step(void)
{
	e911_repl_writer_t w = {0};
	int64_t now = now_ms();
	join_state_t st;
	char uri[URI_MAX];
	str body;

	lock_get(&sh->lock);
	st = sh->join;
	if((st == JOIN_ASKED && now - sh->join_asked_ms > SYNC_RETRY * 1000)
			|| (st == JOIN_STARTED
					&& now - sh->join_progress_ms
							   > (int64_t)e911_dmq_cfg.sync_timeout * 1000)) {
		if(st == JOIN_STARTED)
			LM_WARN("e911: join sync from %s stalled: asking again\n",
					sh->join_uri);
		st = sh->join = JOIN_WANTED;
	}
	if(st == JOIN_WANTED) {
		sh->join = JOIN_ASKED;
		sh->join_asked_ms = now;
		sh->join_records = 0;
		sh->join_items = 0;
		sh->join_sent = -1;
	} else if(st == JOIN_CHOSEN) {
		sh->join = JOIN_STARTED;
		sh->join_started_ms = now;
		sh->join_progress_ms = now;
		memcpy(uri, sh->join_uri, URI_MAX);
	}
	lock_release(&sh->lock);

	if(st == JOIN_WANTED) {
		if(e911_repl_begin(&w, E911_REPL_SYNC_REQUEST, 0, -1, -1, 256) == 0) {
			body.s = w.buf;
			body.len = (int)w.len;
			if(dmqb.bcast_message(e911_peer, &body, NULL, &join_cb, 1, &ctype)
					== 0)
				update_stat(st_sent, 1);
		}
	} else if(st == JOIN_CHOSEN) {
		LM_INFO("e911: join sync: asking %s for everything it holds\n", uri);
		if(e911_repl_begin(&w, E911_REPL_SYNC_START, 0, -1, -1, 256) < 0
				|| send_to(uri, &w, 0) < 0) {
			lock_get(&sh->lock);
			sh->join = JOIN_WANTED;
			lock_release(&sh->lock);
		}
	}
	e911_repl_writer_free(&w);
}

static void sender_loop(void)
{
	struct pollfd pfd;
	char drain[64];

	LM_INFO("e911: dmq sender started\n");
	for(;;) {
		pfd.fd = wake[0];
		pfd.events = POLLIN;
		if(poll(&pfd, 1, 200) > 0) {
			/* a call's updates (record, callback number, reference) come
			 * within a few ms of each other: let them share bodies */
			poll(NULL, 0, BATCH_MS);
			while(read(wake[0], drain, sizeof(drain)) > 0) {
			}
		}
		cfg_update();
		e911_tombstones_purge(tombs, (int64_t)time(NULL));
		send_queued();
		serve_syncs();
		join_step();
	}
}

/* --- receiving, in dmq's worker processes --- */

/* Whether msg comes from a node of dmq's list, from its address. */
static int from_peer(sip_msg_t *msg, dmq_node_t *node)
{
	return node != NULL && !node->local
		   && ip_addr_cmp(&msg->rcv.src_ip, &node->ip_address);
}

typedef struct apply_ctx
{
	int64_t now;
	long items;
} apply_ctx_t;

static int apply_put(const e911_repl_item_t *it, int64_t now)
{
	static uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	e911_cache_res_t res;
	e911_cstate_t cs;
	int64_t fresh;
	int64_t stale;
	int has;

	if(!e911_key_usable(it->key, it->klen))
		return 1;
	/* fetched no later than a removal this node knows of: the removal
	 * stands (a late message, or a sync that crossed it) */
	if(e911_tombstone_refuses(tombs, it->key, it->klen, it->time, now))
		return 1;
	cs = e911_cache_lookup(
			tb.cache, it->key, it->klen, now, &res, buf, sizeof(buf));
	has = cs == E911_CS_FRESH || cs == E911_CS_STALE || cs == E911_CS_NEGATIVE;
	if(!e911_repl_newer(has, res.rec != NULL ? res.rec->updated_at : 0,
			   has ? res.fetched_at : 0, it->rec->updated_at, it->time))
		return 1;
	fresh = e911_fresh_until(it->rec, it->time, tb.cache_ttl);
	stale = fresh + tb.stale_ttl;
	if(stale <= now)
		return 1;
	return e911_cache_put(tb.cache, it->key, it->klen, it->rec, it->time, fresh,
				   stale, E911_ORIGIN_SERVICE)
						   == 0
				   ? 0
				   : 1;
}

static int apply_remove(const e911_repl_item_t *it, int64_t now)
{
	static uint64_t buf[E911_REC_MAX_SIZE / sizeof(uint64_t)];
	e911_cache_res_t res;
	e911_cstate_t cs;

	/* remembered even when this node holds nothing for the key: the
	 * record may still be on its way from another node */
	e911_tombstone_put(tombs, it->key, it->klen, it->time);
	cs = e911_cache_lookup(
			tb.cache, it->key, it->klen, now, &res, buf, sizeof(buf));
	if((cs != E911_CS_FRESH && cs != E911_CS_STALE)
			|| !e911_repl_removes(res.fetched_at, it->time))
		return 1;
	return e911_cache_remove(tb.cache, it->key, it->klen) == 1 ? 0 : 1;
}

static int apply_item(
		const e911_repl_hdr_t *hdr, const e911_repl_item_t *it, void *arg)
{
	apply_ctx_t *ctx = arg;
	e911_tokens_t *tokens;
	e911_recent_callers_t *recent;

	ctx->items++;
	switch(hdr->op) {
		case E911_REPL_PUT:
			return apply_put(it, ctx->now);
		case E911_REPL_REMOVE:
			return apply_remove(it, ctx->now);
		case E911_REPL_TOKEN:
			tokens = tb.tokens;
			if(tokens == NULL || it->time <= ctx->now)
				return 1;
			return e911_token_put(tokens, it->token, E911_REPL_TOKEN_LEN,
						   it->key, it->klen, it->rec, it->time)
								   == 0
						   ? 0
						   : 1;
		case E911_REPL_CALLBACK:
			recent = tb.recent;
			if(recent == NULL || it->time <= ctx->now)
				return 1;
			return e911_recent_callers_put(
						   recent, it->number, strlen(it->number), it->time)
								   == 0
						   ? 0
						   : 1;
		default:
			return 1;
	}
}

/* A join sync message from node: progress, or the end. dmq's workers
 * apply messages in parallel, so sync_end may come before the last items:
 * the sync is done once sync_end came and as many items as it counts. */
static void join_progress(
		const e911_repl_hdr_t *hdr, dmq_node_t *node, long items, long applied)
{
	int64_t now = now_ms();
	int done = 0;

	lock_get(&sh->lock);
	if(sh->join == JOIN_STARTED
			&& strlen(sh->join_uri) == (size_t)node->orig_uri.len
			&& strncmp(sh->join_uri, node->orig_uri.s, node->orig_uri.len)
					   == 0) {
		sh->join_progress_ms = now;
		sh->join_records += applied;
		sh->join_items += items;
		if(hdr->op == E911_REPL_SYNC_END)
			sh->join_sent = hdr->count;
		if(sh->join_sent >= 0 && sh->join_items >= sh->join_sent) {
			sh->join = JOIN_DONE;
			sh->join_ms = now - sh->join_started_ms;
			sh->join_done_at = now / 1000;
			done = 1;
		}
	}
	lock_release(&sh->lock);
	if(done) {
		set_stat(st_sync_records, (long)sh->join_records);
		set_stat(st_sync_ms, (long)sh->join_ms);
		LM_INFO("e911: join sync from %.*s done: %lld of %lld items applied "
				"in %lld ms\n",
				node->orig_uri.len, node->orig_uri.s,
				(long long)sh->join_records, (long long)sh->join_sent,
				(long long)sh->join_ms);
	}
}

static void note_peer(dmq_node_t *node)
{
	peer_info_t *p;

	lock_get(&sh->lock);
	p = peer_locked(&node->orig_uri);
	if(p != NULL) {
		p->received++;
		p->last_seen = (int64_t)time(NULL);
	}
	lock_release(&sh->lock);
}

static int reply(peer_reponse_t *resp, int code, str *reason)
{
	resp->resp_code = code;
	resp->reason = *reason;
	return 0;
}

static int handle_msg(sip_msg_t *msg, peer_reponse_t *resp, dmq_node_t *node)
{
	apply_ctx_t ctx = {(int64_t)time(NULL), 0};
	e911_repl_hdr_t hdr;
	char err[256];
	str body;
	int n;

	update_stat(st_received, 1);
	if(!from_peer(msg, node)) {
		update_stat(st_rejected, 1);
		LM_WARN("e911: dmq message from %s, not a node of the cluster: "
				"dropped\n",
				ip_addr2a(&msg->rcv.src_ip));
		return reply(resp, 403, &r403);
	}
	note_peer(node);
	body.s = get_body(msg);
	body.len = body.s != NULL ? msg->len - (int)(body.s - msg->buf) : 0;
	n = e911_repl_parse(body.s, (size_t)body.len, (size_t)e911_dmq_cfg.max_body,
			&hdr, apply_item, &ctx, err, sizeof(err));
	if(n < 0) {
		update_stat(st_rejected, 1);
		LM_WARN("e911: dmq message from %.*s rejected: %s\n",
				node->orig_uri.len, node->orig_uri.s, err);
		return reply(resp, 400, &r400);
	}
	update_stat(st_applied, n);
	update_stat(st_ignored, ctx.items - n);
	switch(hdr.op) {
		case E911_REPL_FLUSH:
			e911_tombstones_flush(tombs, hdr.at >= 0 ? hdr.at : ctx.now);
			n = (int)e911_cache_flush(tb.cache);
			LM_NOTICE("e911: cache flushed by %.*s (%d entries)\n",
					node->orig_uri.len, node->orig_uri.s, n);
			update_stat(st_applied, 1);
			break;
		case E911_REPL_SYNC_START:
			lock_get(&sh->lock);
			if(sh->nserve < MAX_SERVE && node->orig_uri.len < URI_MAX) {
				memcpy(sh->serve[sh->nserve], node->orig_uri.s,
						node->orig_uri.len);
				sh->serve[sh->nserve][node->orig_uri.len] = '\0';
				sh->nserve++;
			}
			lock_release(&sh->lock);
			wake_sender();
			break;
		case E911_REPL_SYNC_END:
			join_progress(&hdr, node, 0, 0);
			break;
		default:
			if(hdr.sync)
				join_progress(&hdr, node, ctx.items, n);
			break;
	}
	return reply(resp, 200, &r200);
}

/* --- RPC --- */

static const char *e911_rpc_cluster_doc[] = {
		"Replication over DMQ: whether it is on, the send queue, this "
		"node's join-time sync and the peers heard from.",
		0};

static void e911_rpc_cluster(rpc_t *rpc, void *c)
{
	dmq_shared_t s;
	void *th;
	void *ph;
	void *eh;

	if(sh == NULL) {
		if(rpc->add(c, "{", &th) < 0)
			return;
		rpc->struct_add(th, "d", "replicate", 0);
		return;
	}
	lock_get(&sh->lock);
	memcpy(&s, sh, sizeof(s));
	lock_release(&sh->lock);
	if(rpc->add(c, "{", &th) < 0)
		return;
	rpc->struct_add(th, "dsddddd", "replicate", 1, "peer_id", "e911", "queued",
			s.count, "queue_size", e911_dmq_cfg.queue_size, "max_body",
			e911_dmq_cfg.max_body, "syncs_served", (int)s.served, "tombstones",
			(int)e911_tombstones_count(tombs));
	if(rpc->struct_add(th, "{", "sync", &eh) >= 0)
		rpc->struct_add(eh, "ssdddd", "state", join_names[s.join], "from",
				s.join_uri, "records", (int)s.join_records, "sent",
				(int)s.join_sent, "duration_ms", (int)s.join_ms, "done_at",
				(int)s.join_done_at);
	if(rpc->struct_add(th, "[", "peers", &ph) < 0)
		return;
	for(int i = 0; i < s.npeers; i++) {
		if(rpc->array_add(ph, "{", &eh) < 0)
			return;
		rpc->struct_add(eh, "sdddd", "uri", s.peers[i].uri, "received",
				(int)s.peers[i].received, "last_seen",
				(int)s.peers[i].last_seen, "last_reply", s.peers[i].last_reply,
				"last_reply_at", (int)s.peers[i].last_reply_at);
	}
}

/* clang-format off */
static rpc_export_t e911_dmq_rpc[] = {
	{"e911.cluster", e911_rpc_cluster, e911_rpc_cluster_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */

/* --- set-up --- */

int e911_dmq_init(const e911_dmq_tables_t *tables)
{
	dmq_peer_t peer;

	if(register_module_stats("e911", dmq_stats) != 0
			|| rpc_register_array(e911_dmq_rpc) != 0) {
		LM_ERR("e911: cannot register the replication statistics and RPC\n");
		return -1;
	}
	if(!e911_dmq_cfg.replicate)
		return 0;
	tb = *tables;
	if(e911_dmq_cfg.queue_size < 1 || e911_dmq_cfg.max_body < 4096
			|| e911_dmq_cfg.max_body > (int)E911_REPL_MAX_BODY
			|| e911_dmq_cfg.sync_timeout < 1) {
		LM_ERR("e911: dmq_queue_size must be positive, dmq_max_body between "
			   "4096 and %u, dmq_sync_timeout positive\n",
				E911_REPL_MAX_BODY);
		return -1;
	}
	if(!module_loaded("dmq") || dmq_load_api(&dmqb) != 0) {
		LM_ERR("e911: replicate=1 needs the dmq module (loaded before e911)\n");
		return -1;
	}
	sh = shm_malloc(sizeof(*sh));
	if(sh == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(sh, 0, sizeof(*sh));
	if(lock_init(&sh->lock) == NULL)
		return -1;
	atomic_set(&sh->inflight, 0);
	/* a tombstone outlives every record fetched before its removal (the
	 * cache's fresh and stale lifetimes); one per cached key at most */
	tombs = e911_tombstones_new((uint32_t)tables->cache_size,
			(uint64_t)tables->cache_size * TOMBSTONE_BYTES,
			(int64_t)tables->cache_ttl + tables->stale_ttl + 1);
	if(tombs == NULL) {
		LM_ERR("e911: cannot create the removal tombstones\n");
		return -1;
	}
	sh->join = e911_dmq_cfg.sync ? JOIN_WANTED : JOIN_OFF;
	if(pipe(wake) < 0) {
		LM_ERR("e911: pipe failed: %s\n", strerror(errno));
		return -1;
	}
	fcntl(wake[0], F_SETFL, O_NONBLOCK);
	fcntl(wake[1], F_SETFL, O_NONBLOCK);
	memset(&peer, 0, sizeof(peer));
	peer.peer_id.s = "e911";
	peer.peer_id.len = 4;
	peer.description.s = "e911 location cache, references and callbacks";
	peer.description.len = strlen(peer.description.s);
	peer.callback = handle_msg;
	peer.init_callback = NULL; /* the sender asks once peers answer */
	e911_peer = dmqb.register_dmq_peer(&peer);
	if(e911_peer == NULL) {
		LM_ERR("e911: cannot register the dmq peer e911\n");
		return -1;
	}
	register_procs(1);
	cfg_register_child(1);
	LM_INFO("e911: replication over dmq on (bodies up to %d bytes, queue %d)\n",
			e911_dmq_cfg.max_body, e911_dmq_cfg.queue_size);
	return 0;
}

int e911_dmq_child_init(int rank)
{
	int pid;

	if(sh == NULL || rank != PROC_MAIN)
		return 0;
	pid = fork_process(PROC_RPC, "e911 dmq", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		sender_loop();
		exit(-1);
	}
	return 0;
}
