/*
 * e911 module - replication messages between cluster nodes (DMQ bodies)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * What one node tells the others, as the body of a KDMQ request, and the
 * rule that decides whether a record that arrives replaces the one a node
 * holds.
 *
 * Format: JSON lines (UTF-8, one object per line, each ending in '\n'). The
 * first line is the header, the others are the items of its operation:
 *
 *   {"e911_dmq":1,"op":"<op>"[,"sync":true][,"count":<n>][,"at":<unix s>]}
 *
 *   put          {"key":..,"fetched_at":<s>,"record":{<contract v1>}}
 *                (the snapshot file's entry line, e911_entry_line.h)
 *   remove       {"key":..,"at":<s>}  the service said 404/410 at <s>,
 *                or an administrator flushed the key
 *   flush        no item; "at": when the whole cache was flushed
 *   token        {"token":<32 hex>,"key":..,"expires":<s>,"record":{..}}
 *   callback     {"number":<digits>,"expires":<s>}
 *   sync_request no item, to every peer: "who can send me everything?"
 *                (each answers 200; the first answer is chosen)
 *   sync_start   no item, to the chosen peer: "send me everything"
 *   sync_end     no item; "count": items the sync sent
 *
 * "sync":true marks the items a node sends in answer to a sync_start.
 * Times are unix seconds of the sending node's clock.
 *
 * A body is parsed whole before any item is handed out: a malformed body
 * (bad header, unknown operation, a line that is not valid JSON, an item
 * with missing or unexpected members, a record the location-service parser
 * refuses, too long, too many items) is rejected as a whole, with a reason
 * that never quotes a value (values are personal data).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_REPLICATION_H
#define E911_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"

#define E911_REPL_VERSION 1
/* Largest body the parser accepts and the writer builds, bytes. */
#define E911_REPL_MAX_BODY (4u * 1024 * 1024)
/* Most items in one body. */
#define E911_REPL_MAX_ITEMS 4096
#define E911_REPL_KEY_MAX 255
#define E911_REPL_TOKEN_LEN 32
#define E911_REPL_NUMBER_MAX 15

typedef enum e911_repl_op
{
	E911_REPL_NONE = 0,
	E911_REPL_PUT,
	E911_REPL_REMOVE,
	E911_REPL_FLUSH,
	E911_REPL_TOKEN,
	E911_REPL_CALLBACK,
	E911_REPL_SYNC_REQUEST,
	E911_REPL_SYNC_START,
	E911_REPL_SYNC_END
} e911_repl_op_t;

/* The name of an operation ("put", ...), "?" when unknown. */
const char *e911_repl_op_name(e911_repl_op_t op);

/* The header of a parsed body. */
typedef struct e911_repl_hdr
{
	e911_repl_op_t op;
	int sync;	   /* items answer a sync_request */
	int64_t count; /* sync_end: items sent; -1 when absent */
	int64_t at;	   /* flush: when; -1 when absent */
} e911_repl_hdr_t;

/* One parsed item. Pointers are valid only during the callback. */
typedef struct e911_repl_item
{
	const char *key; /* put, remove, token (NUL-terminated) */
	size_t klen;
	int64_t time; /* put: fetched_at; remove: at; token, callback: expires */
	const e911_record_t *rec;			   /* put, token */
	char token[E911_REPL_TOKEN_LEN + 1];   /* token: lower-case hex */
	char number[E911_REPL_NUMBER_MAX + 1]; /* callback: digits */
} e911_repl_item_t;

/* --- writing --- */

/* A body being built, bounded by max bytes. */
typedef struct e911_repl_writer
{
	char *buf;
	size_t len;
	size_t cap;
	size_t max; /* the body never grows past this */
	e911_repl_op_t op;
	uint32_t items;
} e911_repl_writer_t;

/* Starts a body of operation op, at most max bytes (capped by
 * E911_REPL_MAX_BODY). count and at go into the header when >= 0. Returns 0,
 * or -1 (bad arguments, out of memory, max too small for the header). */
int e911_repl_begin(e911_repl_writer_t *w, e911_repl_op_t op, int sync,
		int64_t count, int64_t at, size_t max);

/* Appends one item of the writer's operation. Each returns 0 when added, 1
 * when the body is full (the item would pass max bytes or
 * E911_REPL_MAX_ITEMS: send the body, begin another and add it there), -1
 * when the item can never be written (invalid values, a record that would
 * not parse back, larger than max on its own) or memory runs out. */
int e911_repl_add_put(e911_repl_writer_t *w, const char *key, size_t klen,
		int64_t fetched_at, const e911_record_t *rec);
int e911_repl_add_remove(
		e911_repl_writer_t *w, const char *key, size_t klen, int64_t at);
int e911_repl_add_token(e911_repl_writer_t *w, const char *token,
		const char *key, size_t klen, int64_t expires,
		const e911_record_t *rec);
int e911_repl_add_callback(
		e911_repl_writer_t *w, const char *number, size_t len, int64_t expires);

/* Frees the body; w may be begun again. */
void e911_repl_writer_free(e911_repl_writer_t *w);

/* --- reading --- */

/* Receives one item; returns 0 when it was applied, 1 when it was not
 * (e.g. older than what the node holds). */
typedef int (*e911_repl_item_f)(
		const e911_repl_hdr_t *hdr, const e911_repl_item_t *it, void *arg);

/* Parses and validates the whole body (len bytes, at most max, capped by
 * E911_REPL_MAX_BODY) first, then calls cb once per item in order (cb NULL:
 * only validates). hdr receives the header. Returns the number of items cb
 * applied (0 for operations without items), or -1 when the body is rejected
 * (cb never called) with the reason in err. */
int e911_repl_parse(const char *body, size_t len, size_t max,
		e911_repl_hdr_t *hdr, e911_repl_item_f cb, void *arg, char *err,
		size_t errlen);

/* --- the newer-wins rule --- */

/* Whether a record received from a peer (remote_updated: the record's
 * updated_at, 0 = not given; remote_fetched: when the peer fetched it)
 * replaces the entry a node holds (local_*; has_local 0: nothing held).
 * The service's updated_at orders two versions of a record when both give
 * one and they differ; otherwise the later fetch wins. Equal: keep (applying
 * the same message twice changes nothing). Returns 1 to replace, 0 to keep. */
int e911_repl_newer(int has_local, int64_t local_updated, int64_t local_fetched,
		int64_t remote_updated, int64_t remote_fetched);

/* Whether a removal made at removed_at drops an entry fetched at
 * local_fetched: only an entry fetched no later than the removal. */
int e911_repl_removes(int64_t local_fetched, int64_t removed_at);

#endif
