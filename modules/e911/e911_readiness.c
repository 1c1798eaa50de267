/*
 * e911 module - e911.readiness: which callers are ready for a 911 call
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * kamcmd e911.readiness [max_age_days [key ...]]
 *
 * Asks the location service about each caller - every AoR registered in
 * usrloc ("location" table) when no keys are given, else the keys - at
 * most readiness_rate requests a second (the service's breakers are
 * honoured: an open breaker answers "service error" at once), and judges
 * each answer by the module's rules (core/e911_readiness.c). The answers
 * are not cached and nothing is audited or notified. The RPC process is
 * busy for (callers / readiness_rate) seconds; the report is bounded by
 * readiness_max callers.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/sr_module.h"
#include "../../modules/usrloc/usrloc.h"

#include "core/e911_pidf.h"
#include "core/e911_readiness.h"
#include "core/e911_time.h"
#include "e911_lookup.h"
#include "e911_readiness.h"

#define UL_TABLE "location"
#define ADDRS_MAX 4 /* registered addresses kept per caller */

e911_readiness_cfg_t e911_readiness_cfg = {
		.rate = 10,
		.max = 1000,
		.max_age_days = 365,
};

static usrloc_api_t ul;
static int have_ul; /* 0 not tried, 1 bound, -1 not loaded */

int e911_readiness_init(void)
{
	if(e911_readiness_cfg.rate < 1 || e911_readiness_cfg.rate > 1000) {
		LM_ERR("e911: modparam readiness_rate must be 1..1000 requests a "
			   "second\n");
		return -1;
	}
	if(e911_readiness_cfg.max < 1 || e911_readiness_cfg.max > 1000000) {
		LM_ERR("e911: modparam readiness_max must be 1..1000000\n");
		return -1;
	}
	if(e911_readiness_cfg.max_age_days < 0) {
		LM_ERR("e911: modparam readiness_max_age_days must not be "
			   "negative\n");
		return -1;
	}
	return 0;
}

/* Binds usrloc on first use (every module is initialised by then, whatever
 * the load order). 1 when usrloc is loaded. */
static int usrloc_bound(void)
{
	bind_usrloc_t bind;

	if(have_ul == 0) {
		bind = (bind_usrloc_t)(void *)find_export("ul_bind_usrloc", 1, 0);
		have_ul = bind != NULL && bind(&ul) == 0 ? 1 : -1;
	}
	return have_ul == 1;
}

/* one caller to check */
typedef struct caller
{
	char key[E911_KEY_MAX + 1];
	int naddrs;
	char addr[ADDRS_MAX][64];
} caller_t;

typedef struct callers
{
	caller_t *v;
	int n;
	int max;
	int over; /* more callers than max */
} callers_t;

static caller_t *caller_find_add(callers_t *cs, const char *key, int klen)
{
	int i;

	for(i = 0; i < cs->n; i++)
		if((int)strlen(cs->v[i].key) == klen
				&& memcmp(cs->v[i].key, key, klen) == 0)
			return &cs->v[i];
	if(cs->n >= cs->max) {
		cs->over = 1;
		return NULL;
	}
	memset(&cs->v[cs->n], 0, sizeof(caller_t));
	memcpy(cs->v[cs->n].key, key, klen);
	return &cs->v[cs->n++];
}

/* The host of a SIP URI (the received address or the Contact) into out. */
static void uri_host(str *u, char *out, size_t size)
{
	struct sip_uri pu;
	int n;

	out[0] = '\0';
	if(u->len <= 0 || parse_uri(u->s, u->len, &pu) < 0 || pu.host.len <= 0)
		return;
	n = pu.host.len < (int)size - 1 ? pu.host.len : (int)size - 1;
	/* an IPv6 reference without its brackets */
	if(n >= 2 && pu.host.s[0] == '[') {
		memcpy(out, pu.host.s + 1, n - 2);
		out[n - 2] = '\0';
		return;
	}
	memcpy(out, pu.host.s, n);
	out[n] = '\0';
}

/* Every AoR registered in usrloc, with the addresses its contacts
 * registered from. 0, or -1 with *err. */
static int usrloc_callers(callers_t *cs, const char **err)
{
	udomain_t *d;
	void *buf = NULL;
	char *cp;
	int len = 64 * 1024;
	int rc;
	str c;
	str recv;
	str path;
	str ruid;
	unsigned int aorhash;
	unsigned int cflags;
	struct socket_info *sock;
	urecord_t *r;
	ucontact_t *uc;
	caller_t *cl;
	char host[64];
	char aorbuf[512];
	str aor;
	int klen;
	char *at;
	int i;

	if(ul.get_udomain(UL_TABLE, &d) < 0 || d == NULL) {
		*err = "usrloc has no table '" UL_TABLE "'";
		return -1;
	}
	for(;;) {
		buf = pkg_malloc(len);
		if(buf == NULL) {
			*err = "out of memory";
			return -1;
		}
		rc = ul.get_all_ucontacts(buf, len, 0, 0, 1, 0);
		if(rc <= 0)
			break;
		pkg_free(buf);
		len += rc + 4096;
	}
	if(rc < 0) {
		pkg_free(buf);
		*err = "usrloc could not list its contacts";
		return -1;
	}
	/* contact, received, sock, cflags, path, ruid, aorhash (usrloc's
	 * get_all_ucontacts layout) */
	cp = buf;
	for(;;) {
		memcpy(&c.len, cp, sizeof(c.len));
		if(c.len == 0)
			break;
		c.s = cp + sizeof(c.len);
		cp = c.s + c.len;
		memcpy(&recv.len, cp, sizeof(recv.len));
		recv.s = cp + sizeof(recv.len);
		cp = recv.s + recv.len;
		memcpy(&sock, cp, sizeof(sock));
		cp += sizeof(sock);
		memcpy(&cflags, cp, sizeof(cflags));
		cp += sizeof(cflags);
		memcpy(&path.len, cp, sizeof(path.len));
		path.s = cp + sizeof(path.len);
		cp = path.s + path.len;
		memcpy(&ruid.len, cp, sizeof(ruid.len));
		ruid.s = cp + sizeof(ruid.len);
		cp = ruid.s + ruid.len;
		memcpy(&aorhash, cp, sizeof(aorhash));
		cp += sizeof(aorhash);

		if(ruid.len <= 0
				|| ul.get_urecord_by_ruid(d, aorhash, &ruid, &r, &uc) != 0)
			continue; /* gone meanwhile */
		/* the key is the AoR's user part (use_domain) */
		aor = r->aor;
		at = memchr(aor.s, '@', aor.len);
		klen = at ? (int)(at - aor.s) : aor.len;
		cl = NULL;
		if(klen > 0 && klen <= E911_KEY_MAX)
			cl = caller_find_add(cs, aor.s, klen);
		/* as registrar does: release (DB_ONLY: a record loaded for us),
		 * then unlock the slot, found from a copy of the AoR */
		aor.s = aor.len <= (int)sizeof(aorbuf) ? aorbuf : pkg_malloc(aor.len);
		if(aor.s == NULL) {
			/* cannot copy: unlock with the record's own AoR and keep it */
			ul.unlock_udomain(d, &r->aor);
		} else {
			memcpy(aor.s, r->aor.s, aor.len);
			if(ul.db_mode == DB_ONLY)
				ul.release_urecord(r);
			ul.unlock_udomain(d, &aor);
			if(aor.s != aorbuf)
				pkg_free(aor.s);
		}
		if(cl == NULL)
			continue;
		uri_host(recv.len > 0 ? &recv : &c, host, sizeof(host));
		if(host[0] == '\0')
			continue;
		for(i = 0; i < cl->naddrs; i++)
			if(strcmp(cl->addr[i], host) == 0)
				break;
		if(i == cl->naddrs && cl->naddrs < ADDRS_MAX)
			strcpy(cl->addr[cl->naddrs++], host);
	}
	pkg_free(buf);
	return 0;
}

static void add_counts(rpc_t *rpc, void *th, int *counts, int ready)
{
	void *ch;
	int i;

	if(rpc->struct_add(th, "{", "counts", &ch) < 0)
		return;
	rpc->struct_add(ch, "d", "ready", ready);
	for(i = 0; i < E911_RDY_COUNT; i++)
		rpc->struct_add(ch, "d", e911_readiness_name(i), counts[i]);
}

/* Checks one caller and adds its entry to the array ah. Returns the
 * findings. */
static unsigned check_one(rpc_t *rpc, void *ah, caller_t *cl, int max_days)
{
	e911_fetch_res_t fres;
	e911_readiness_in_t in;
	const char *addrs[ADDRS_MAX];
	char buf[512];
	char from[ADDRS_MAX * 66];
	void *ih;
	void *fh;
	unsigned f;
	int i;
	str key;

	key.s = cl->key;
	key.len = strlen(cl->key);
	e911_service_fetch(&key, &fres);
	memset(&in, 0, sizeof(in));
	in.status = fres.status;
	in.rec = fres.rec;
	in.now = (int64_t)time(NULL);
	in.max_age_days = max_days;
	from[0] = '\0';
	for(i = 0; i < cl->naddrs; i++) {
		addrs[i] = cl->addr[i];
		if(i)
			strcat(from, ",");
		strcat(from, cl->addr[i]);
	}
	in.addrs = addrs;
	in.naddrs = cl->naddrs;
	f = e911_readiness_judge(&in);

	if(rpc->array_add(ah, "{", &ih) < 0) {
		free(fres.rec);
		return f;
	}
	rpc->struct_add(
			ih, "ss", "key", cl->key, "verdict", e911_readiness_verdict(f));
	for(i = 0; i < E911_RDY_COUNT && !(f & (1u << i)); i++)
		;
	rpc->struct_add(ih, "s", "reason",
			f ? e911_readiness_text(i) : "dispatchable and up to date");
	if(rpc->struct_add(ih, "[", "findings", &fh) >= 0)
		for(i = 0; i < E911_RDY_COUNT; i++)
			if(f & (1u << i))
				rpc->array_add(fh, "s", e911_readiness_name(i));
	rpc->struct_add(ih, "s", "registered_from", from);
	if(fres.status == E911_FETCH_OK && fres.rec) {
		if(e911_readiness_site(fres.rec, buf, sizeof(buf)) >= 0)
			rpc->struct_add(ih, "s", "site", buf);
		if(e911_address_line(fres.rec, buf, sizeof(buf)) >= 0)
			rpc->struct_add(ih, "s", "address", buf);
		rpc->struct_add(ih, "sd", "validated",
				fres.rec->flags & E911_REC_VALIDATED ? "yes" : "no", "age_days",
				fres.rec->updated_at
						? (int)((in.now - fres.rec->updated_at) / 86400)
						: -1);
		buf[0] = '\0';
		if(fres.rec->updated_at)
			e911_time_format(fres.rec->updated_at, buf, sizeof(buf));
		rpc->struct_add(ih, "s", "updated_at", buf);
	} else if(fres.status != E911_FETCH_NOTFOUND) {
		rpc->struct_add(ih, "s", "error", fres.err[0] ? fres.err : "no answer");
	}
	free(fres.rec);
	return f;
}

static const char *e911_rpc_readiness_doc[] = {
		"Check callers against the location service and the module's rules: "
		"every AoR in usrloc, or the keys given after max_age_days "
		"(default readiness_max_age_days, 0 = age not judged); at most "
		"readiness_rate requests a second and readiness_max callers. "
		"Per caller: verdict (ready, no_record, service_error, "
		"not_validated, no_street, missing_floor, missing_unit, outdated, "
		"outside_networks, no_updated_at), findings, site, address, age.",
		0};

static void e911_rpc_readiness(rpc_t *rpc, void *c)
{
	callers_t cs;
	const char *err = NULL;
	int counts[E911_RDY_COUNT];
	int max_days = e911_readiness_cfg.max_age_days;
	int ready = 0;
	int given = 0;
	int num;
	char kbuf[32];
	char when[40];
	time_t t0 = time(NULL);
	long gap_us = 1000000L / e911_readiness_cfg.rate;
	struct timespec a;
	struct timespec b;
	long spent;
	unsigned f;
	void *th;
	void *ah;
	str key;
	int i;

	memset(&cs, 0, sizeof(cs));
	memset(counts, 0, sizeof(counts));
	if(rpc->scan(c, "*d", &num) == 1) {
		if(num < 0) {
			rpc->fault(c, 400, "max_age_days must not be negative");
			return;
		}
		max_days = num;
	}
	cs.max = e911_readiness_cfg.max;
	cs.v = malloc(sizeof(caller_t) * cs.max);
	if(cs.v == NULL) {
		rpc->fault(c, 500, "Out of memory");
		return;
	}
	for(;;) {
		if(rpc->scan(c, "*S", &key) == 1) {
		} else if(rpc->scan(c, "*d", &num) == 1) {
			key.len = snprintf(kbuf, sizeof(kbuf), "%d", num);
			key.s = kbuf;
		} else {
			break;
		}
		given++;
		if(key.len <= 0 || !e911_key_usable(key.s, (size_t)key.len)) {
			rpc->fault(c, 400, "Invalid key '%.*s'",
					key.len > 64 ? 64 : key.len, key.s);
			goto done;
		}
		caller_find_add(&cs, key.s, key.len);
		if(cs.over) {
			rpc->fault(c, 400,
					"List too long: at most %d callers per report "
					"(readiness_max)",
					cs.max);
			goto done;
		}
	}
	if(given == 0) {
		if(!usrloc_bound()) {
			rpc->fault(c, 400,
					"usrloc is not loaded: give the keys to check "
					"(e911.readiness <max_age_days> <key> ...)");
			goto done;
		}
		if(usrloc_callers(&cs, &err) < 0) {
			rpc->fault(c, 500, "%s", err);
			goto done;
		}
		if(cs.over) {
			rpc->fault(c, 400,
					"More than %d registered AoRs (readiness_max): give the "
					"keys to check in parts",
					cs.max);
			goto done;
		}
	}
	if(rpc->add(c, "{", &th) < 0)
		goto done;
	when[0] = '\0';
	e911_time_format((int64_t)t0, when, sizeof(when));
	rpc->struct_add(th, "ssddd", "started_at", when, "callers_from",
			given ? "list" : "usrloc", "max_age_days", max_days, "rate_per_s",
			e911_readiness_cfg.rate, "checked", cs.n);
	if(rpc->struct_add(th, "[", "callers", &ah) < 0)
		goto done;
	for(i = 0; i < cs.n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		f = check_one(rpc, ah, &cs.v[i], max_days);
		if(f == 0)
			ready++;
		else {
			int j;
			for(j = 0; j < E911_RDY_COUNT; j++)
				if(f & (1u << j))
					counts[j]++;
		}
		/* the rate bound: one request per gap, whatever it took */
		clock_gettime(CLOCK_MONOTONIC, &b);
		spent = (b.tv_sec - a.tv_sec) * 1000000L
				+ (b.tv_nsec - a.tv_nsec) / 1000L;
		if(i + 1 < cs.n && spent < gap_us)
			usleep((useconds_t)(gap_us - spent));
	}
	add_counts(rpc, th, counts, ready);
	rpc->struct_add(th, "d", "took_s", (int)(time(NULL) - t0));
done:
	free(cs.v);
}

/* clang-format off */
rpc_export_t e911_readiness_rpc[] = {
	{"e911.readiness", e911_rpc_readiness, e911_rpc_readiness_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
