/*
 * e911 module - is a caller ready for an emergency call?
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The readiness report (e911.readiness) judges each caller on the service's
 * answer and the module's own rules: a dispatchable location (47 CFR 9.3:
 * validated street address, plus floor or unit where the record says the
 * site has several), updated within max_age_days, registered from one of
 * the record's networks. Every finding is kept (a bit each); the verdict is
 * the first in the order an operator fixes them.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_READINESS_H
#define E911_READINESS_H

#include <stddef.h>
#include <stdint.h>

#include "e911_fetch.h"
#include "e911_record.h"

/* findings, in the order the verdict takes them */
#define E911_RDY_SERVICE_ERROR (1u << 0) /* the service did not answer */
#define E911_RDY_NO_RECORD (1u << 1)	 /* the service has no record (404) */
#define E911_RDY_NOT_VALIDATED (1u << 2)
#define E911_RDY_NO_STREET (1u << 3)
#define E911_RDY_NO_FLOOR (1u << 4) /* multi-floor site, no floor */
#define E911_RDY_NO_UNIT (1u << 5)	/* multi-unit site, no unit/room/seat */
#define E911_RDY_OUTDATED (1u << 6) /* updated_at older than max_age_days */
#define E911_RDY_OFF_NETWORK \
	(1u << 7)						  /* registered from outside its networks */
#define E911_RDY_NO_UPDATED (1u << 8) /* no updated_at: age unknown */
#define E911_RDY_COUNT 9

typedef struct e911_readiness_in
{
	e911_fetch_status_t status; /* the service's answer */
	const e911_record_t *rec;	/* with E911_FETCH_OK */
	int64_t now;
	int max_age_days; /* 0: age not judged */
	/* addresses the caller is registered from (NULL/0: not known) */
	const char *const *addrs;
	int naddrs;
} e911_readiness_in_t;

/* The findings for in (0: ready). */
unsigned e911_readiness_judge(const e911_readiness_in_t *in);

/* The verdict's machine name for findings f: "ready" when 0, else that of
 * the first finding ("service_error", "no_record", "not_validated",
 * "no_street", "missing_floor", "missing_unit", "outdated",
 * "outside_networks", "no_updated_at"). */
const char *e911_readiness_verdict(unsigned f);

/* The machine name and the sentence for an operator of finding bit i
 * (0 <= i < E911_RDY_COUNT). */
const char *e911_readiness_name(int i);
const char *e911_readiness_text(int i);

/* The site a record belongs to, for coverage per site: "NAM, BLD" when the
 * record names them, else "HNO RD, A3", else "(no civic address)". Returns
 * the length written (truncated to fit). */
int e911_readiness_site(const e911_record_t *rec, char *buf, size_t size);

#endif
