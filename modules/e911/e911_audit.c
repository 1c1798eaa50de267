/*
 * e911 module - the audit trail of emergency calls
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One JSON line per emergency or test call, written to audit_log when the
 * final reply goes back to the caller (or when the transaction ends without
 * one), so the line holds the whole story: the lookup, the route and why,
 * a failure-route retry, the notification, the final status.
 *
 * e911_route() builds the facts and hangs them on the transaction (a tm
 * callback with a shared-memory entry; its address is kept in an AVP so a
 * failure route or e911_notify() in another process can add to it). Each
 * process appends with one write() to its own O_APPEND descriptor; the
 * e911.audit_reopen RPC bumps a generation number in shared memory and
 * every process reopens the file before its next line (log rotation). The
 * last lines are also kept in a small shared ring for e911.audit.
 *
 * Addresses appear only with audit_include_location (personal data).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/locking.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/parser/parse_from.h"
#include "../../core/parser/parse_uri.h"

#include "e911_lookup_async.h"
#include "e911_audit.h"
#include "e911_location_precedence.h"
#include "e911_call_state.h"
#include "core/e911_dialplan.h"
#include "e911_classify.h"
#include "core/e911_pidf.h"
#include "core/e911_time.h"

#define RING_LINES 64
#define RING_LINE_MAX 4096
#define RETRY_URI_MAX 256

e911_audit_cfg_t e911_audit_cfg = {"", 0};
stat_var *e911_stat_audit_write_errors;

typedef struct audit_ring
{
	gen_lock_t lock;
	unsigned int generation; /* bumped by e911.audit_reopen */
	int next;
	int count;
	char lines[RING_LINES][RING_LINE_MAX];
} audit_ring_t;

typedef struct audit_entry
{
	int written;
	int retried;
	int retry_with_location;
	char notify[24];
	char retry_uri[RETRY_URI_MAX];
	int retry_uri_len;
	int len;
	char facts[]; /* JSON object text */
} audit_entry_t;

static audit_ring_t *ring = NULL;
static int audit_fd = -1;
static unsigned int audit_gen = 0;

int e911_audit_init(void)
{
	if(e911_audit_cfg.path[0] && !tm_loaded) {
		LM_ERR("e911: audit_log needs the tm module (the line is written "
			   "when the transaction ends)\n");
		return -1;
	}
	ring = shm_malloc(sizeof(*ring));
	if(ring == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(ring, 0, sizeof(*ring));
	if(lock_init(&ring->lock) == NULL)
		return -1;
	return 0;
}

void e911_audit_destroy(void)
{
	if(audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
}

/* --- facts --- */

static void set_str(json_t *o, const char *k, const char *s, int len)
{
	if(s == NULL)
		json_object_set_new(o, k, json_null());
	else
		json_object_set_new(o, k, json_stringn(s, len < 0 ? strlen(s) : len));
}

static const char *class_name(int cls)
{
	return cls == E911_DIAL_EMERGENCY ? "emergency"
		   : cls == E911_DIAL_TEST	  ? "test"
									  : "none";
}

/* Which source the call's location came from and why, whether the caller
 * moved, and a conflict between the network and the record. */
static void call_location_facts(sip_msg_t *msg, e911_loc_t *loc, json_t *l)
{
	const e911_call_location_t *cl;

	if(msg->first_line.type != SIP_REQUEST || msg->REQ_METHOD != METHOD_INVITE)
		return;
	cl = e911_call_location(msg, loc);
	if(cl == NULL)
		return;
	set_str(l, "won", e911_locsrc_name(cl->out.winner), -1);
	set_str(l, "why", cl->out.why, -1);
	set_str(l, "site", cl->has_site ? cl->site.id : NULL, -1);
	set_str(l, "network", cl->has_network ? cl->network.text : NULL, -1);
	set_str(l, "network_from", cl->has_network ? cl->network.via : NULL, -1);
	json_object_set_new(l, "moved",
			cl->out.moved < 0 ? json_null() : json_boolean(cl->out.moved));
	json_object_set_new(l, "conflict", json_boolean(cl->out.conflict));
}

json_t *e911_call_facts(sip_msg_t *msg, e911_loc_t *loc, int with_location)
{
	char ts[32];
	char addr[512];
	json_t *o = json_object();
	json_t *l;
	json_t *civic;
	e911_class_t c;
	const char *v;
	int i;

	if(o == NULL)
		return NULL;
	e911_time_format((int64_t)time(NULL), ts, sizeof(ts));
	set_str(o, "time", ts, -1);
	if(msg->callid)
		set_str(o, "call_id", msg->callid->body.s, msg->callid->body.len);
	if(parse_from_header(msg) == 0 && get_from(msg) && parse_from_uri(msg))
		set_str(o, "caller", get_from(msg)->parsed_uri.user.s,
				get_from(msg)->parsed_uri.user.len);
	c = e911_classify_request(msg);
	set_str(o, "dialled", c.dialled.s, c.dialled.len);
	set_str(o, "class", class_name(c.cls), -1);
	set_str(o, "service", c.urn, -1);
	l = json_object();
	if(loc) {
		set_str(o, "key", loc->key, -1);
		set_str(l, "status", e911_status_name(loc->status), -1);
		set_str(l, "source", e911_source_name(loc->source), -1);
		if(loc->rec) {
			json_object_set_new(l, "age",
					json_integer((json_int_t)(time(NULL) - loc->fetched_at)));
			json_object_set_new(l, "validated",
					json_boolean(loc->rec->flags & E911_REC_VALIDATED));
			if(with_location) {
				if(e911_address_line(loc->rec, addr, sizeof(addr)) >= 0)
					set_str(l, "address", addr, -1);
				civic = json_object();
				for(i = 0; i < E911_CA_COUNT; i++) {
					v = e911_rec_get(loc->rec, i);
					if(v)
						set_str(civic, e911_civic_name(i), v, -1);
				}
				json_object_set_new(l, "civic", civic);
				if(loc->rec->flags & E911_REC_HAS_GEO)
					json_object_set_new(l, "geo",
							json_pack("{s:f,s:f,s:f}", "lat", loc->rec->lat,
									"lon", loc->rec->lon, "radius_m",
									loc->rec->radius_m));
			}
			v = e911_rec_get(loc->rec, E911_F_CALLBACK);
			set_str(o, "callback", v, -1);
		}
		set_str(o, "route", loc->route_uri[0] ? loc->route_uri : NULL, -1);
		set_str(o, "route_reason", loc->route_reason, -1);
	} else {
		set_str(l, "status", "none", -1);
		set_str(l, "source", "none", -1);
	}
	call_location_facts(msg, loc, l);
	json_object_set_new(o, "location", l);
	return o;
}

/* --- the entry of a transaction --- */

static audit_entry_t *entry_of(sip_msg_t *msg)
{
	return (audit_entry_t *)e911_call_state_audit();
}

static void ring_add(const char *line, int len)
{
	lock_get(&ring->lock);
	if(len >= RING_LINE_MAX)
		len = RING_LINE_MAX - 1;
	memcpy(ring->lines[ring->next], line, len);
	ring->lines[ring->next][len] = '\0';
	ring->next = (ring->next + 1) % RING_LINES;
	if(ring->count < RING_LINES)
		ring->count++;
	lock_release(&ring->lock);
}

static void file_append(const char *line, int len)
{
	unsigned int gen;
	ssize_t n;

	if(e911_audit_cfg.path == NULL || e911_audit_cfg.path[0] == '\0')
		return;
	gen = __atomic_load_n(&ring->generation, __ATOMIC_ACQUIRE);
	if(audit_fd >= 0 && gen != audit_gen) {
		close(audit_fd);
		audit_fd = -1;
	}
	if(audit_fd < 0) {
		audit_fd = open(e911_audit_cfg.path,
				O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if(audit_fd < 0) {
			LM_ERR("e911: cannot open audit_log %s: %s\n", e911_audit_cfg.path,
					strerror(errno));
			update_stat(e911_stat_audit_write_errors, 1);
			return;
		}
		audit_gen = gen;
	}
	do {
		n = write(audit_fd, line, len);
	} while(n < 0 && errno == EINTR);
	if(n != len) {
		LM_ERR("e911: cannot write audit_log %s: %s\n", e911_audit_cfg.path,
				n < 0 ? strerror(errno) : "short write");
		update_stat(e911_stat_audit_write_errors, 1);
	}
}

/* Writes the line of e (once) with the final status code: the call's
 * facts, then the retry, notification and final code, all through jansson
 * (the retry URI escaped, never altered). */
static void entry_write(audit_entry_t *e, int code)
{
	json_t *tail;
	json_t *uri;
	char *text;
	char *line;
	size_t tlen;
	int len;

	if(e->written)
		return;
	e->written = 1;
	if(e->len < 2 || (tail = json_object()) == NULL)
		return;
	if(e->retried) {
		uri = json_stringn(e->retry_uri, e->retry_uri_len);
		json_object_set_new(tail, "retry",
				json_pack("{s:o,s:s,s:b}", "route",
						uri ? uri : json_string("(not UTF-8)"), "reason",
						"failure-route retry", "with_location",
						e->retry_with_location));
	}
	json_object_set_new(tail, "notification",
			json_string(e->notify[0] ? e->notify : "none"));
	json_object_set_new(tail, "final_code", json_integer(code));
	text = json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(tail);
	if(text == NULL)
		return;
	/* the facts without their closing brace, a comma, the tail without its
	 * opening one */
	tlen = strlen(text);
	len = e->len - 1 + 1 + (int)tlen - 1 + 1;
	line = malloc(len + 1);
	if(line != NULL) {
		memcpy(line, e->facts, e->len - 1);
		line[e->len - 1] = ',';
		memcpy(line + e->len, text + 1, tlen - 1);
		line[len - 1] = '\n';
		line[len] = '\0';
		file_append(line, len);
		ring_add(line, len - 1);
		free(line);
	}
	free(text);
}

static void audit_tmcb(struct cell *t, int type, struct tmcb_params *ps)
{
	audit_entry_t *e = (audit_entry_t *)*ps->param;

	if(e == NULL)
		return;
	if(type & TMCB_RESPONSE_OUT) {
		if(ps->code >= 200)
			entry_write(e, ps->code);
	} else if(type & TMCB_DESTROY) {
		entry_write(e, 0);
	}
}

static void audit_release(void *param)
{
	shm_free(param);
}

int e911_audit_track(sip_msg_t *msg, e911_loc_t *loc)
{
	audit_entry_t *e;
	json_t *facts;
	char *text;
	struct cell *t;
	size_t len;

	if((e911_audit_cfg.path == NULL || e911_audit_cfg.path[0] == '\0')
			|| !tm_loaded)
		return 0;
	t = tmb.t_gett();
	if(t == NULL || t == T_UNDEFINED) {
		if(tmb.t_newtran(msg) < 0)
			return -1;
		t = tmb.t_gett();
		if(t == NULL || t == T_UNDEFINED)
			return -1;
	}
	facts = e911_call_facts(msg, loc, e911_audit_cfg.include_location);
	text = facts ? json_dumps(facts, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(facts);
	if(text == NULL)
		return -1;
	len = strlen(text);
	e = shm_malloc(sizeof(*e) + len + 1);
	if(e == NULL) {
		free(text);
		SHM_MEM_ERROR;
		return -1;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->facts, text, len + 1);
	e->len = (int)len;
	free(text);
	if(tmb.register_tmcb(msg, t, TMCB_RESPONSE_OUT | TMCB_DESTROY, audit_tmcb,
			   e, audit_release)
			<= 0) {
		shm_free(e);
		LM_ERR("e911: cannot hook the audit to the transaction\n");
		return -1;
	}
	if(e911_call_state_set_audit(e) < 0)
		LM_ERR("e911: cannot keep the audit entry with the transaction\n");
	return 0;
}

void e911_audit_retry(sip_msg_t *msg, str *uri, int with_location)
{
	audit_entry_t *e = entry_of(msg);

	if(e == NULL)
		return;
	e->retried = 1;
	e->retry_with_location = with_location;
	e->retry_uri_len = uri->len < (int)sizeof(e->retry_uri)
							   ? uri->len
							   : (int)sizeof(e->retry_uri);
	memcpy(e->retry_uri, uri->s, e->retry_uri_len);
}

void e911_audit_notify(sip_msg_t *msg, const char *state)
{
	audit_entry_t *e = entry_of(msg);

	if(e == NULL)
		return;
	snprintf(e->notify, sizeof(e->notify), "%s", state);
}

/* --- RPC --- */

static const char *e911_rpc_audit_doc[] = {
		"Show the last N audit lines (default 10, at most 64), newest last.",
		0};

static void e911_rpc_audit(rpc_t *rpc, void *c)
{
	static char lines[RING_LINES][RING_LINE_MAX];
	int n = 10;
	int have;
	int i;
	int idx;

	if(rpc->scan(c, "*d", &n) < 1 || n <= 0)
		n = 10;
	if(n > RING_LINES)
		n = RING_LINES;
	lock_get(&ring->lock);
	have = ring->count < n ? ring->count : n;
	for(i = 0; i < have; i++) {
		idx = (ring->next - have + i + RING_LINES) % RING_LINES;
		memcpy(lines[i], ring->lines[idx], RING_LINE_MAX);
	}
	lock_release(&ring->lock);
	for(i = 0; i < have; i++)
		rpc->add(c, "s", lines[i]);
}

static const char *e911_rpc_audit_reopen_doc[] = {
		"Reopen audit_log in every process (after log rotation).", 0};

static void e911_rpc_audit_reopen(rpc_t *rpc, void *c)
{
	__atomic_add_fetch(&ring->generation, 1, __ATOMIC_ACQ_REL);
	rpc->add(c, "s", "ok");
}

/* clang-format off */
rpc_export_t e911_audit_rpc[] = {
	{"e911.audit", e911_rpc_audit, e911_rpc_audit_doc, RET_ARRAY},
	{"e911.audit_reopen", e911_rpc_audit_reopen, e911_rpc_audit_reopen_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
