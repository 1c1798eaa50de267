/*
 * e911 module - replication messages between cluster nodes (DMQ bodies)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Builds and parses the bodies described in e911_replication.h, and holds
 * the newer-wins rule. Record items (put, token) are the snapshot file's
 * entry line (e911_entry_line.h: one writer, one reader) and every record goes
 * through the location-service parser, so a peer can send nothing a service
 * answer could not. The parser checks the whole body and keeps copies of
 * its items before the first callback: a bad body changes nothing.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include "e911_replication.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_entry_line.h"

static const char *const op_names[] = {"?", "put", "remove", "flush", "token",
		"callback", "sync_request", "sync_start", "sync_end"};

const char *e911_repl_op_name(e911_repl_op_t op)
{
	if(op <= E911_REPL_NONE || op > E911_REPL_SYNC_END)
		return "?";
	return op_names[op];
}

static e911_repl_op_t op_of(const char *name)
{
	for(int i = E911_REPL_PUT; i <= E911_REPL_SYNC_END; i++)
		if(strcmp(name, op_names[i]) == 0)
			return (e911_repl_op_t)i;
	return E911_REPL_NONE;
}

/* Operations whose body carries items. */
static int op_has_items(e911_repl_op_t op)
{
	return op == E911_REPL_PUT || op == E911_REPL_REMOVE
		   || op == E911_REPL_TOKEN || op == E911_REPL_CALLBACK;
}

static int is_token(const char *s, size_t n)
{
	if(n != E911_REPL_TOKEN_LEN)
		return 0;
	for(size_t i = 0; i < n; i++)
		if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int is_number(const char *s, size_t n)
{
	if(n == 0 || n > E911_REPL_NUMBER_MAX)
		return 0;
	for(size_t i = 0; i < n; i++)
		if(s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* --- writing --- */

/* Appends len bytes; the caller checked the bound. */
static int w_put(e911_repl_writer_t *w, const char *p, size_t len)
{
	if(w->len + len + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		char *b;
		while(cap < w->len + len + 1)
			cap *= 2;
		b = realloc(w->buf, cap);
		if(b == NULL)
			return -1;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, len);
	w->len += len;
	w->buf[w->len] = '\0';
	return 0;
}

int e911_repl_begin(e911_repl_writer_t *w, e911_repl_op_t op, int sync,
		int64_t count, int64_t at, size_t max)
{
	char head[160];
	int n;

	if(w == NULL || op <= E911_REPL_NONE || op > E911_REPL_SYNC_END)
		return -1;
	w->len = 0;
	w->items = 0;
	w->op = op;
	w->max = max > E911_REPL_MAX_BODY ? E911_REPL_MAX_BODY : max;
	n = snprintf(head, sizeof(head), "{\"e911_dmq\":%d,\"op\":\"%s\"%s",
			E911_REPL_VERSION, e911_repl_op_name(op),
			sync ? ",\"sync\":true" : "");
	if(count >= 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, ",\"count\":%lld",
				(long long)count);
	if(at >= 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, ",\"at\":%lld",
				(long long)at);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "}\n");
	if((size_t)n > w->max)
		return -1;
	return w_put(w, head, (size_t)n);
}

/* Adds a finished line (newline included). */
static int w_add_line(e911_repl_writer_t *w, const char *line, size_t len)
{
	size_t head = strchr(w->buf, '\n') - w->buf + 1;

	if(head + len > w->max)
		return -1; /* does not fit even alone */
	if(w->len + len > w->max || w->items >= E911_REPL_MAX_ITEMS)
		return 1;
	if(w_put(w, line, len) < 0)
		return -1;
	w->items++;
	return 0;
}

/* Adds an entry line (e911_entry_line.h). */
static int w_add_entry(e911_repl_writer_t *w, const char *prefix,
		const char *key, size_t klen, const char *time_name, int64_t time,
		const e911_record_t *rec)
{
	size_t len = 0;
	char *line = e911_entry_line(prefix, key, klen, time_name, time, rec, &len);
	int rc;

	if(line == NULL)
		return -1;
	rc = w_add_line(w, line, len);
	free(line);
	return rc;
}

int e911_repl_add_put(e911_repl_writer_t *w, const char *key, size_t klen,
		int64_t fetched_at, const e911_record_t *rec)
{
	if(w == NULL || w->buf == NULL || w->op != E911_REPL_PUT)
		return -1;
	return w_add_entry(w, "", key, klen, "fetched_at", fetched_at, rec);
}

int e911_repl_add_remove(
		e911_repl_writer_t *w, const char *key, size_t klen, int64_t at)
{
	char *k;
	char *line;
	size_t cap;
	int n;
	int rc;

	if(w == NULL || w->buf == NULL || w->op != E911_REPL_REMOVE || at < 0)
		return -1;
	k = e911_line_key_json(key, klen);
	if(k == NULL)
		return -1;
	cap = strlen(k) + 48;
	line = malloc(cap);
	if(line == NULL) {
		free(k);
		return -1;
	}
	n = snprintf(line, cap, "{\"key\":%s,\"at\":%lld}\n", k, (long long)at);
	rc = w_add_line(w, line, (size_t)n);
	free(line);
	free(k);
	return rc;
}

int e911_repl_add_token(e911_repl_writer_t *w, const char *token,
		const char *key, size_t klen, int64_t expires, const e911_record_t *rec)
{
	char prefix[E911_REPL_TOKEN_LEN + 16];

	if(w == NULL || w->buf == NULL || w->op != E911_REPL_TOKEN || token == NULL
			|| !is_token(token, strlen(token)))
		return -1;
	snprintf(prefix, sizeof(prefix), "\"token\":\"%s\",", token);
	return w_add_entry(w, prefix, key, klen, "expires", expires, rec);
}

int e911_repl_add_callback(
		e911_repl_writer_t *w, const char *number, size_t len, int64_t expires)
{
	char line[80];
	int n;

	if(w == NULL || w->buf == NULL || w->op != E911_REPL_CALLBACK
			|| number == NULL || !is_number(number, len) || expires < 0)
		return -1;
	n = snprintf(line, sizeof(line), "{\"number\":\"%.*s\",\"expires\":%lld}\n",
			(int)len, number, (long long)expires);
	return w_add_line(w, line, (size_t)n);
}

void e911_repl_writer_free(e911_repl_writer_t *w)
{
	if(w == NULL)
		return;
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* --- reading --- */

/* An item kept until the whole body is checked. */
typedef struct held
{
	char *key;
	size_t klen;
	int64_t time;
	e911_record_t *rec;
	char token[E911_REPL_TOKEN_LEN + 1];
	char number[E911_REPL_NUMBER_MAX + 1];
} held_t;

typedef struct reader
{
	held_t *v;
	size_t n;
	size_t cap;
} reader_t;

static held_t *new_held(reader_t *r)
{
	if(r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		held_t *v = realloc(r->v, cap * sizeof(*v));
		if(v == NULL)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(held_t));
	return &r->v[r->n++];
}

/* A copy of key (klen bytes) with a NUL, or NULL. */
static char *dup_key(const char *key, size_t klen)
{
	char *k = malloc(klen + 1);

	if(k != NULL) {
		memcpy(k, key, klen);
		k[klen] = '\0';
	}
	return k;
}

/* A string member that is a usable key, or NULL. */
static json_t *key_member(json_t *obj)
{
	json_t *k = json_object_get(obj, "key");

	if(!json_is_string(k) || json_string_length(k) > E911_REPL_KEY_MAX)
		return NULL;
	return k;
}

static int check_remove(reader_t *r, json_t *j, char *err, size_t errlen)
{
	json_t *k = key_member(j);
	json_int_t at = e911_line_int_member(j, "at");
	held_t *h;

	if(k == NULL || at < 0 || json_object_size(j) != 2)
		return e911_line_err(err, errlen, "malformed remove item");
	h = new_held(r);
	if(h == NULL)
		return e911_line_err(err, errlen, "out of memory");
	h->klen = json_string_length(k);
	h->key = dup_key(json_string_value(k), h->klen);
	h->time = at;
	return h->key == NULL ? e911_line_err(err, errlen, "out of memory") : 0;
}

/* An entry line (put: time "fetched_at"; token: "expires", after the
 * token); keeps the key, the time and the parsed record. */
static held_t *check_entry(reader_t *r, json_t *j, const char *time_name,
		size_t extra, char *err, size_t errlen)
{
	const char *key;
	size_t klen;
	int64_t time;
	e911_record_t *rec;
	held_t *h;

	if(e911_entry_from_json(
			   j, time_name, extra, &key, &klen, &time, &rec, err, errlen)
			< 0)
		return NULL;
	h = new_held(r);
	if(h == NULL) {
		free(rec);
		e911_line_err(err, errlen, "out of memory");
		return NULL;
	}
	h->rec = rec;
	h->klen = klen;
	h->time = time;
	h->key = dup_key(key, klen);
	if(h->key == NULL) {
		e911_line_err(err, errlen, "out of memory");
		return NULL;
	}
	return h;
}

static int check_token(reader_t *r, json_t *j, char *err, size_t errlen)
{
	json_t *t = json_object_get(j, "token");
	char msg[200];
	held_t *h;

	if(!json_is_string(t)
			|| !is_token(json_string_value(t), json_string_length(t)))
		return e911_line_err(err, errlen, "malformed token item");
	h = check_entry(r, j, "expires", 1, msg, sizeof(msg));
	if(h == NULL)
		return e911_line_err(err, errlen, "token item: %s", msg);
	memcpy(h->token, json_string_value(t), E911_REPL_TOKEN_LEN);
	return 0;
}

static int check_callback(reader_t *r, json_t *j, char *err, size_t errlen)
{
	json_t *num = json_object_get(j, "number");
	json_int_t expires = e911_line_int_member(j, "expires");
	held_t *h;

	if(!json_is_string(num)
			|| !is_number(json_string_value(num), json_string_length(num))
			|| expires < 0 || json_object_size(j) != 2)
		return e911_line_err(err, errlen, "malformed callback item");
	h = new_held(r);
	if(h == NULL)
		return e911_line_err(err, errlen, "out of memory");
	memcpy(h->number, json_string_value(num), json_string_length(num));
	h->time = expires;
	return 0;
}

static int check_header(
		const char *p, size_t n, e911_repl_hdr_t *hdr, char *err, size_t errlen)
{
	json_t *j = e911_line_load(p, n, NULL, 0);
	json_t *ver;
	json_t *op;
	json_t *sync;
	size_t members = 2;
	int rc = -1;

	if(j == NULL)
		return e911_line_err(err, errlen, "header is not a JSON object");
	ver = json_object_get(j, "e911_dmq");
	op = json_object_get(j, "op");
	sync = json_object_get(j, "sync");
	if(!json_is_integer(ver) || json_integer_value(ver) != E911_REPL_VERSION) {
		e911_line_err(err, errlen,
				"not an e911 replication message of version %d",
				E911_REPL_VERSION);
		goto out;
	}
	if(!json_is_string(op)
			|| (hdr->op = op_of(json_string_value(op))) == E911_REPL_NONE) {
		e911_line_err(err, errlen, "unknown operation");
		goto out;
	}
	if(sync != NULL) {
		if(!json_is_boolean(sync)) {
			e911_line_err(err, errlen, "malformed header");
			goto out;
		}
		hdr->sync = json_is_true(sync);
		members++;
	}
	if(json_object_get(j, "count") != NULL) {
		hdr->count = e911_line_int_member(j, "count");
		members++;
	}
	if(json_object_get(j, "at") != NULL) {
		hdr->at = e911_line_int_member(j, "at");
		members++;
	}
	if(json_object_size(j) != members
			|| (json_object_get(j, "count") != NULL && hdr->count < 0)
			|| (json_object_get(j, "at") != NULL && hdr->at < 0)
			|| (hdr->op == E911_REPL_SYNC_END && hdr->count < 0)) {
		e911_line_err(err, errlen, "malformed header");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int check_item(reader_t *r, e911_repl_op_t op, const char *p, size_t n,
		char *err, size_t errlen)
{
	char msg[160];
	json_t *j;
	int rc;

	j = e911_line_load(p, n, msg, sizeof(msg));
	if(j == NULL)
		return e911_line_err(err, errlen, "item: %s", msg);
	if(op == E911_REPL_PUT)
		rc = check_entry(r, j, "fetched_at", 0, err, errlen) != NULL ? 0 : -1;
	else if(op == E911_REPL_REMOVE)
		rc = check_remove(r, j, err, errlen);
	else if(op == E911_REPL_TOKEN)
		rc = check_token(r, j, err, errlen);
	else
		rc = check_callback(r, j, err, errlen);
	json_decref(j);
	return rc;
}

static void free_reader(reader_t *r)
{
	for(size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].rec);
	}
	free(r->v);
}

/* Checks every line; fills r. Returns 0 or -1. */
static int check_body(const char *body, size_t len, e911_repl_hdr_t *hdr,
		reader_t *r, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned line = 0;
	const char *nl;
	size_t ll;
	char msg[200];

	while(pos < len) {
		line++;
		nl = memchr(body + pos, '\n', len - pos);
		if(nl == NULL)
			return e911_line_err(
					err, errlen, "line %u: no newline at the end", line);
		ll = (size_t)(nl - (body + pos));
		if(memchr(body + pos, '\0', ll) != NULL)
			return e911_line_err(err, errlen, "line %u: NUL byte", line);
		if(line == 1) {
			if(check_header(body + pos, ll, hdr, msg, sizeof(msg)) < 0)
				return e911_line_err(err, errlen, "line 1: %s", msg);
		} else {
			if(!op_has_items(hdr->op))
				return e911_line_err(err, errlen,
						"line %u: %s carries no items", line,
						e911_repl_op_name(hdr->op));
			if(line - 1 > E911_REPL_MAX_ITEMS)
				return e911_line_err(
						err, errlen, "more than %d items", E911_REPL_MAX_ITEMS);
			if(check_item(r, hdr->op, body + pos, ll, msg, sizeof(msg)) < 0)
				return e911_line_err(err, errlen, "line %u: %s", line, msg);
		}
		pos += ll + 1;
	}
	if(line == 0)
		return e911_line_err(err, errlen, "empty body");
	return 0;
}

int e911_repl_parse(const char *body, size_t len, size_t max,
		e911_repl_hdr_t *hdr, e911_repl_item_f cb, void *arg, char *err,
		size_t errlen)
{
	reader_t r;
	e911_repl_item_t it;
	int applied = 0;

	if(hdr == NULL)
		return e911_line_err(err, errlen, "no header");
	memset(hdr, 0, sizeof(*hdr));
	hdr->count = -1;
	hdr->at = -1;
	if(max > E911_REPL_MAX_BODY)
		max = E911_REPL_MAX_BODY;
	if(body == NULL)
		return e911_line_err(err, errlen, "empty body");
	if(len > max)
		return e911_line_err(err, errlen,
				"body of %zu bytes is over the %zu limit", len, max);
	memset(&r, 0, sizeof(r));
	if(check_body(body, len, hdr, &r, err, errlen) < 0) {
		free_reader(&r);
		return -1;
	}
	for(size_t i = 0; i < r.n; i++) {
		memset(&it, 0, sizeof(it));
		it.key = r.v[i].key;
		it.klen = r.v[i].klen;
		it.time = r.v[i].time;
		it.rec = r.v[i].rec;
		memcpy(it.token, r.v[i].token, sizeof(it.token));
		memcpy(it.number, r.v[i].number, sizeof(it.number));
		if(cb == NULL || cb(hdr, &it, arg) == 0)
			applied++;
	}
	free_reader(&r);
	return applied;
}

/* --- the newer-wins rule --- */

int e911_repl_newer(int has_local, int64_t local_updated, int64_t local_fetched,
		int64_t remote_updated, int64_t remote_fetched)
{
	if(!has_local)
		return 1;
	if(local_updated > 0 && remote_updated > 0
			&& local_updated != remote_updated)
		return remote_updated > local_updated;
	return remote_fetched > local_fetched;
}

int e911_repl_removes(int64_t local_fetched, int64_t removed_at)
{
	return local_fetched <= removed_at;
}
