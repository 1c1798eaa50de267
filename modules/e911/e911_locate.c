/*
 * e911 module - locating a caller
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The lookup state machine:
 *
 *   cache fresh      -> fresh (source cache)
 *   cache negative   -> none
 *   otherwise fetch:  200 -> cache it, fresh (source service)
 *                     404 -> negative-cache it, none
 *                     error/timeout -> stale record if the cache still has
 *                                      one (source stale/snapshot), else
 *                                      unavailable
 *
 * Nothing here keeps a pointer into shared memory: the cache copies the
 * record into this process's buffer.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/pt.h"

#include "e911_locate.h"

e911_locate_cfg_t e911_lcfg;
e911_cache_t *e911_cache = NULL;
e911_stats_t e911_st;

static e911_loc_t cur;
static e911_fetch_xfer_t xfer; /* one reused handle per process */

const char *e911_status_name(int status)
{
	switch(status) {
		case E911_LOC_FRESH:
			return "fresh";
		case E911_LOC_STALE:
			return "stale";
		case E911_LOC_NONE:
			return "none";
		default:
			return "unavailable";
	}
}

const char *e911_source_name(e911_source_t src)
{
	switch(src) {
		case E911_SRC_CACHE:
			return "cache";
		case E911_SRC_SERVICE:
			return "service";
		case E911_SRC_STALE:
			return "stale";
		case E911_SRC_SNAPSHOT:
			return "snapshot";
		default:
			return "none";
	}
}

e911_loc_t *e911_loc_get(sip_msg_t *msg)
{
	if(!cur.valid || msg == NULL || cur.msg_id != msg->id
			|| cur.msg_pid != msg->pid)
		return NULL;
	return &cur;
}

static void loc_reset(sip_msg_t *msg, str *key)
{
	cur.msg_id = msg ? msg->id : 0;
	cur.msg_pid = msg ? msg->pid : 0;
	cur.valid = 1;
	cur.status = E911_LOC_UNAVAILABLE;
	cur.source = E911_SRC_NONE;
	cur.fetched_at = 0;
	cur.rec = NULL;
	memcpy(cur.key, key->s, key->len);
	cur.key[key->len] = '\0';
}

/* freshness per the contract: max_age > 0 wins, 0 means never fresh */
static int64_t fresh_until(const e911_record_t *rec, int64_t now)
{
	if(rec->max_age > 0)
		return now + rec->max_age;
	if(rec->max_age == 0)
		return now;
	return now + e911_lcfg.cache_ttl;
}

static void use_record(const e911_record_t *rec, int status, e911_source_t src,
		int64_t fetched_at)
{
	memcpy(cur.buf, rec, rec->size);
	cur.rec = (e911_record_t *)cur.buf;
	cur.status = status;
	cur.source = src;
	cur.fetched_at = fetched_at;
}

int e911_locate_key(sip_msg_t *msg, str *key)
{
	e911_cache_res_t cres;
	e911_fetch_res_t fres;
	e911_cstate_t cs;
	int64_t now;
	int64_t until;

	if(key == NULL || key->s == NULL || key->len <= 0
			|| key->len > E911_KEY_MAX) {
		LM_ERR("e911: invalid lookup key (empty or over %d bytes)\n",
				E911_KEY_MAX);
		str empty = {"", 0};
		loc_reset(msg, &empty);
		return cur.status;
	}
	loc_reset(msg, key);
	update_stat(e911_st.lookups, 1);
	now = (int64_t)time(NULL);

	cs = e911_cache_lookup(
			e911_cache, key->s, key->len, now, &cres, cur.buf, sizeof(cur.buf));
	if(cs == E911_CS_FRESH) {
		update_stat(e911_st.cache_hits, 1);
		cur.rec = cres.rec;
		cur.status = E911_LOC_FRESH;
		cur.source = E911_SRC_CACHE;
		cur.fetched_at = cres.fetched_at;
		return cur.status;
	}
	if(cs == E911_CS_NEGATIVE) {
		update_stat(e911_st.negative_hits, 1);
		cur.status = E911_LOC_NONE;
		return cur.status;
	}
	update_stat(e911_st.cache_misses, 1);

	e911_fetch(&xfer, &e911_lcfg.fetch, key->s, key->len, &fres);
	switch(fres.status) {
		case E911_FETCH_OK:
			until = fresh_until(fres.rec, now);
			if(e911_cache_put(e911_cache, key->s, key->len, fres.rec, now,
					   until, until + e911_lcfg.stale_ttl, E911_ORIGIN_SERVICE)
					< 0)
				LM_WARN("e911: no cache memory for key '%.*s': record used "
						"for this call only\n",
						key->len, key->s);
			use_record(fres.rec, E911_LOC_FRESH, E911_SRC_SERVICE, now);
			free(fres.rec);
			LM_DBG("e911: key '%.*s' fetched in %ld ms\n", key->len, key->s,
					fres.elapsed_ms);
			return cur.status;
		case E911_FETCH_NOTFOUND:
			e911_cache_put_negative(e911_cache, key->s, key->len, now,
					now + e911_lcfg.negative_ttl);
			LM_NOTICE("e911: no registered location for key '%.*s'\n", key->len,
					key->s);
			cur.status = E911_LOC_NONE;
			return cur.status;
		case E911_FETCH_TIMEOUT:
			update_stat(e911_st.fetch_timeouts, 1);
			break;
		default:
			update_stat(e911_st.fetch_errors, 1);
			break;
	}

	/* service failed: the last good record, if the cache still has it */
	if(cs == E911_CS_STALE && cres.rec != NULL) {
		if(cres.origin == E911_ORIGIN_SNAPSHOT) {
			update_stat(e911_st.snapshot_served, 1);
			cur.source = E911_SRC_SNAPSHOT;
		} else {
			update_stat(e911_st.stale_served, 1);
			cur.source = E911_SRC_STALE;
		}
		cur.rec = cres.rec;
		cur.status = E911_LOC_STALE;
		cur.fetched_at = cres.fetched_at;
		LM_WARN("e911: location service failed for key '%.*s' (%s): serving "
				"the last good record, %lld s old\n",
				key->len, key->s, fres.err, (long long)(now - cres.fetched_at));
		return cur.status;
	}
	LM_ERR("e911: location service failed for key '%.*s' (%s) and no record "
		   "is cached\n",
			key->len, key->s, fres.err);
	cur.status = E911_LOC_UNAVAILABLE;
	return cur.status;
}

void e911_locate_child_destroy(void)
{
	e911_fetch_xfer_free(&xfer);
}
