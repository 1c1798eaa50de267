/*
 * e911 module - circuit breaker for a location service
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The breaker judges the service, not its records.
 *
 * Every request's outcome is one e911_fail_t. An answer that came back in
 * time - a record, a 404, but also a 5xx or a broken body - proves the
 * service is there: it never counts toward opening the breaker (a bad
 * record is an error for its key, see e911_keyerr.h). Only slow or
 * transport failures (timeout, connect refused or failed, TLS, a
 * connection closed with no answer) do: after `threshold` of them in a
 * row the breaker opens and callers stop waiting on the service.
 *
 * While open, no caller asks the service. A background prober asks
 * e911_breaker_probe_due() and reports with e911_breaker_probe_result():
 * the first probe is due at once, then every probe_interval for the first
 * cool-down of the outage, then the interval doubles up to the cool-down.
 * Any HTTP answer closes the breaker (so does any answer to a request that
 * was still in flight when it opened).
 *
 * State in shared memory, changed under one lock; the hot-path read
 * (e911_breaker_allow) is a single atomic load. Times are milliseconds of
 * one clock shared by all processes (the caller's choice; the tests drive
 * it by hand). Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_BREAKER_H
#define E911_BREAKER_H

#include <stdint.h>

#include "e911_shm.h"

/* How a request to the service ended. */
typedef enum e911_fail
{
	E911_FAIL_NONE = 0, /* a record or "no registered location" */
	E911_FAIL_ANSWER,	/* answered in time, but an error for that key: another
						   HTTP status, a malformed, non-JSON or oversize body */
	E911_FAIL_TIMEOUT,	/* no complete answer within the budget */
	E911_FAIL_CONNECT,	/* name resolution, connection refused or failed */
	E911_FAIL_TLS,		/* TLS handshake or certificate */
	E911_FAIL_RESET,	/* connection closed or reset with no answer */
	E911_FAIL_LOCAL,	/* never reached the service (our own queue, memory,
						   key): says nothing about the service */
	E911_FAIL_COUNT
} e911_fail_t;

/* Short name of a kind ("timeout", "refused/connect", ...). */
const char *e911_fail_name(e911_fail_t kind);

/* 1 when the kind counts toward opening the breaker (slow or transport
 * failures), 0 otherwise. */
int e911_fail_counts(e911_fail_t kind);

/* 1 when the service answered (any HTTP answer): a probe that ends so
 * closes the breaker. */
int e911_fail_answered(e911_fail_t kind);

typedef struct e911_breaker
{
	int32_t open;					  /* read without the lock (atomic) */
	int32_t failures;				  /* transport failures in a row (closed) */
	uint32_t streak[E911_FAIL_COUNT]; /* their kinds */
	int64_t streak_at;				  /* ms: first failure of the streak */
	int32_t reason; /* e911_fail_t that opened it (most frequent) */
	uint32_t reason_counts[E911_FAIL_COUNT]; /* the streak that opened it */
	int64_t opened_at;						 /* ms */
	int64_t outage_from;	 /* ms: streak_at of the streak that opened it */
	int64_t closed_at;		 /* ms, 0: never */
	int32_t probe_failed;	 /* a probe failed since it opened */
	int64_t next_probe;		 /* ms */
	int64_t probe_wait;		 /* ms: current probe interval */
	int64_t last_probe_at;	 /* ms, 0: none yet */
	int32_t last_probe_kind; /* e911_fail_t */
	int32_t last_probe_ms;	 /* how long it took */
	int32_t last_probe_code; /* HTTP status, 0: none */
	uint32_t opens;
	uint32_t probes;
	uint32_t probe_failures;
	int32_t threshold;		   /* <= 0 disables the breaker */
	int64_t cooldown_ms;	   /* longest probe interval */
	int64_t probe_interval_ms; /* first probe interval */
	e911_lockset_t *lock;
} e911_breaker_t;

/* What a close tells the caller (for the key error memory and the log). */
typedef struct e911_breaker_close
{
	int64_t opened_at;
	int64_t outage_from; /* first failure of the streak that opened it */
	int probe_failed;	 /* 1: a real outage (a probe failed meanwhile) */
	int reason;			 /* e911_fail_t */
} e911_breaker_close_t;

/* Allocates a breaker in shared memory (with its lock). threshold <= 0
 * disables it; cooldown_s >= 1; probe_interval_ms >= 10. NULL when out of
 * memory. */
e911_breaker_t *e911_breaker_new(
		int threshold, int cooldown_s, int probe_interval_ms);
void e911_breaker_destroy(e911_breaker_t *b);

/* 1 when callers may ask the service (closed), 0 when open. */
int e911_breaker_allow(e911_breaker_t *b);

/* 1 when open. */
int e911_breaker_is_open(e911_breaker_t *b);

/* Reports how a caller's request ended (kind) at now_ms. Returns 1 when
 * this report opened the breaker, -1 when it closed it (an answer to a
 * request still in flight; *cl filled when not NULL), 0 otherwise. */
int e911_breaker_report(e911_breaker_t *b, e911_fail_t kind, int64_t now_ms,
		e911_breaker_close_t *cl);

/* For the prober: 1 when the breaker is open and a probe is due at now_ms,
 * 0 otherwise. */
int e911_breaker_probe_due(e911_breaker_t *b, int64_t now_ms);

/* The prober's result: kind, how long it took, the HTTP status (0: none).
 * Returns -1 when it closed the breaker (*cl filled when not NULL), 0
 * otherwise (next probe scheduled). */
int e911_breaker_probe_result(e911_breaker_t *b, e911_fail_t kind, long took_ms,
		long http_code, int64_t now_ms, e911_breaker_close_t *cl);

/* Milliseconds until the next probe is due (0: due now), -1 when closed. */
int64_t e911_breaker_probe_in(e911_breaker_t *b, int64_t now_ms);

/* A consistent copy of the state (for RPC and logs). */
void e911_breaker_get(e911_breaker_t *b, e911_breaker_t *out);

/* "2 timeouts, 1 refused/connect" from counts[] into buf. Returns buf. */
char *e911_fail_counts_str(
		const uint32_t counts[E911_FAIL_COUNT], char *buf, int size);

#endif
