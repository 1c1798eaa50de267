/*
 * e911 module - which location an emergency call carries, and why
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include <stdio.h>
#include <string.h>

#include "e911_precedence.h"
#include "e911_text.h"

static const char *const names[E911_LS_COUNT] = {
		"network", "device", "service", "stale", "fallback"};

const char *e911_locsrc_name(e911_locsrc_t s)
{
	if((int)s < 0 || s >= E911_LS_COUNT)
		return "fallback";
	return names[s];
}

int e911_precedence_parse(
		const char *spec, e911_precedence_t *p, char *err, size_t errlen)
{
	const char *s = spec;
	const char *item;
	size_t n;
	int seen = 0;
	int f;

	p->n = 0;
	if(spec == NULL || spec[0] == '\0') {
		snprintf(err, errlen, "empty: expected e.g. %s",
				E911_PRECEDENCE_DEFAULT);
		return -1;
	}
	while(e911_list_next(&s, ',', E911_BLANKS, &item, &n)) {
		for(f = E911_LS_NETWORK; f <= E911_LS_SERVICE; f++) {
			if(strlen(names[f]) == n && strncmp(names[f], item, n) == 0)
				break;
		}
		if(f > E911_LS_SERVICE) {
			snprintf(err, errlen, "'%.*s' is not network, device or service",
					(int)n, item);
			return -1;
		}
		if(seen & (1 << f)) {
			snprintf(err, errlen, "%s is listed twice", names[f]);
			return -1;
		}
		seen |= 1 << f;
		p->order[p->n++] = (e911_locsrc_t)f;
	}
	return 0;
}

static void add(e911_buf_t *o, const char *s)
{
	e911_buf_add(o, s, strlen(s));
}

static void format_order(const e911_precedence_t *p, e911_buf_t *o)
{
	int i;

	for(i = 0; i < p->n; i++) {
		if(i)
			E911_BUF_LIT(o, ",");
		add(o, e911_locsrc_name(p->order[i]));
	}
}

void e911_precedence_format(const e911_precedence_t *p, char *buf, size_t size)
{
	e911_buf_t o;

	if(size == 0)
		return;
	e911_buf_init(&o, buf, size);
	format_order(p, &o);
}

/* Whether source s has something for this call. */
static int available(e911_locsrc_t s, const e911_prec_in_t *in)
{
	switch(s) {
		case E911_LS_NETWORK:
			return in->site_id != NULL;
		case E911_LS_DEVICE:
			return in->device > 0;
		case E911_LS_SERVICE:
			return in->record == 1;
		default:
			return 0;
	}
}

static const char *via_of(const e911_prec_in_t *in)
{
	return in->via ? in->via : "source address";
}

/* One clause on why source s, ranked before the winner, did not count. */
static void why_not(e911_locsrc_t s, const e911_prec_in_t *in, e911_buf_t *o)
{
	switch(s) {
		case E911_LS_NETWORK:
			if(in->network) {
				E911_BUF_LIT(o, "; no site for ");
				add(o, in->network);
				E911_BUF_LIT(o, " (");
				add(o, via_of(in));
				E911_BUF_LIT(o, ")");
			} else {
				E911_BUF_LIT(o, "; no network to look up");
			}
			break;
		case E911_LS_DEVICE:
			E911_BUF_LIT(o, "; no device location");
			break;
		case E911_LS_SERVICE:
			if(in->record == 2)
				E911_BUF_LIT(o, "; the service record is only stale");
			else
				E911_BUF_LIT(o, "; no service record");
			break;
		default:
			break;
	}
}

/* The sentence is made for every emergency call (audit, $e911, explain):
 * the bounded writer, not a dozen snprintf calls. Cut at
 * the last clause that fits out->why. */
void e911_precedence_decide(const e911_precedence_t *p,
		const e911_prec_in_t *in, e911_prec_out_t *out)
{
	e911_buf_t o;
	int i;
	int won = -1;

	out->winner = E911_LS_FALLBACK;
	out->moved = -1;
	out->conflict = 0;
	e911_buf_init(&o, out->why, sizeof(out->why));
	for(i = 0; i < p->n; i++) {
		if(available(p->order[i], in)) {
			won = i;
			break;
		}
	}
	if(won >= 0)
		out->winner = p->order[won];
	else if(in->record > 0)
		out->winner = E911_LS_STALE;

	switch(out->winner) {
		case E911_LS_NETWORK:
			E911_BUF_LIT(&o, "network: ");
			add(&o, in->network ? in->network : "?");
			E911_BUF_LIT(&o, " is at site ");
			add(&o, in->site_id);
			E911_BUF_LIT(&o, " (");
			add(&o, via_of(in));
			E911_BUF_LIT(&o, ")");
			break;
		case E911_LS_DEVICE:
			E911_BUF_LIT(&o, "device: the caller's own Geolocation");
			break;
		case E911_LS_SERVICE:
			E911_BUF_LIT(&o, "service: the caller's record");
			break;
		case E911_LS_STALE:
			E911_BUF_LIT(&o, "stale: the last good record (the service did "
							 "not answer)");
			break;
		default:
			E911_BUF_LIT(&o, "fallback: no location from the network, the "
							 "device or the service");
			break;
	}
	/* why the sources ranked higher did not count */
	for(i = 0; i < (won >= 0 ? won : p->n); i++)
		why_not(p->order[i], in, &o);
	if(won >= 0 || out->winner == E911_LS_STALE) {
		/* precedence named once, for the reader of the audit */
		E911_BUF_LIT(&o, "; precedence ");
		format_order(p, &o);
	}

	/* moved: on a network that is neither a site nor the record's */
	if(in->site_id != NULL)
		out->moved = 0;
	else if(in->record > 0 && in->in_record >= 0)
		out->moved = in->in_record ? 0 : 1;
	out->conflict =
			in->site_id != NULL && in->record > 0 && in->same_place == 0;
}

int e911_same_place(const e911_record_t *a, const e911_record_t *b)
{
	const char *x;
	const char *y;
	int f;

	if(a == NULL || b == NULL)
		return -1;
	for(f = 0; f < E911_CA_COUNT; f++) {
		x = e911_rec_get(a, f);
		y = e911_rec_get(b, f);
		if((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
			return 0;
	}
	if((a->flags & E911_REC_HAS_GEO) != (b->flags & E911_REC_HAS_GEO))
		return 0;
	if((a->flags & E911_REC_HAS_GEO) && (a->lat != b->lat || a->lon != b->lon))
		return 0;
	return 1;
}

const char *e911_network_method(int by_bssid)
{
	return by_bssid ? "802.11" : "Wiremap";
}
