/*
 * libFuzzer target: DMQ replication bodies, as a peer (or anyone able to
 * reach the DMQ socket) might send them. The input is handed to
 * e911_repl_parse() under a bound taken from the input; a rejected body
 * must hand out no item, an accepted one must hold what the writer
 * guarantees: every item of its operation re-encodes with the writer
 * (e911_repl_add_*) and the re-encoded body parses back to the same items
 * (key bytes, times, token, number, record bytes).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e911_replication.h"

typedef struct copy
{
	e911_repl_writer_t w;
	int n;
	int failed;
} copy_t;

/* Re-encodes each item into c->w. */
static int reencode(
		const e911_repl_hdr_t *hdr, const e911_repl_item_t *it, void *arg)
{
	copy_t *c = arg;
	int rc = -1;

	switch(hdr->op) {
		case E911_REPL_PUT:
			if(it->rec == NULL || it->key == NULL)
				abort();
			rc = e911_repl_add_put(&c->w, it->key, it->klen, it->time, it->rec);
			break;
		case E911_REPL_REMOVE:
			rc = e911_repl_add_remove(&c->w, it->key, it->klen, it->time);
			break;
		case E911_REPL_TOKEN:
			if(strlen(it->token) != E911_REPL_TOKEN_LEN || it->rec == NULL)
				abort();
			rc = e911_repl_add_token(
					&c->w, it->token, it->key, it->klen, it->time, it->rec);
			break;
		case E911_REPL_CALLBACK:
			rc = e911_repl_add_callback(
					&c->w, it->number, strlen(it->number), it->time);
			break;
		default:
			abort(); /* operations without items hand out none */
	}
	/* an accepted item always re-encodes (the bound is the maximum) */
	if(rc != 0)
		c->failed = 1;
	c->n++;
	return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	e911_repl_hdr_t hdr;
	e911_repl_hdr_t hdr2;
	copy_t c;
	copy_t again;
	char err[256];
	size_t max = size > 0 ? 1024 + (size_t)data[0] * 512 : 1024;
	int n;

	memset(&c, 0, sizeof(c));
	n = e911_repl_parse(
			(const char *)data, size, max, &hdr, NULL, NULL, err, sizeof(err));
	if(n < 0)
		return 0;
	if(size > max)
		abort();
	if(e911_repl_begin(
			   &c.w, hdr.op, hdr.sync, hdr.count, hdr.at, E911_REPL_MAX_BODY)
			!= 0)
		abort();
	if(e911_repl_parse((const char *)data, size, max, &hdr, reencode, &c, err,
			   sizeof(err))
			!= c.n)
		abort();
	if(c.failed)
		abort();
	/* the writer's body parses back, and re-encodes to itself */
	memset(&again, 0, sizeof(again));
	if(e911_repl_begin(&again.w, hdr.op, hdr.sync, hdr.count, hdr.at,
			   E911_REPL_MAX_BODY)
			!= 0)
		abort();
	n = e911_repl_parse(c.w.buf, c.w.len, E911_REPL_MAX_BODY, &hdr2, reencode,
			&again, err, sizeof(err));
	if(n != c.n || again.failed || hdr2.op != hdr.op || hdr2.sync != hdr.sync
			|| hdr2.count != hdr.count || hdr2.at != hdr.at
			|| again.w.len != c.w.len
			|| memcmp(again.w.buf, c.w.buf, c.w.len) != 0)
		abort();
	e911_repl_writer_free(&again.w);
	e911_repl_writer_free(&c.w);
	return 0;
}
