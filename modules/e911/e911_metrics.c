/*
 * e911 module - statistics for operators' dashboards
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Gauges are computed when read (STAT_IS_FUNC): the breakers' state, the
 * cache's bytes, the age of its records (one walk of the cache, slot lock by
 * slot lock, per read: a scrape every few seconds costs a fraction of a
 * millisecond per thousand entries), the notification queue's depth.
 */

#include <stdint.h>
#include <time.h>

#include "../../core/dprint.h"

#include "e911_audit.h"
#include "e911_lookup.h"
#include "e911_metrics.h"
#include "e911_notify.h"

static counter_val_t breaker_open(int which)
{
	if(e911_shared == NULL)
		return 0;
	if(which == 1 && e911_lookup_cfg.fetch_backup.url_tmpl == NULL)
		return 0;
	return e911_breaker_is_open(e911_shared->breaker[which]) ? 1 : 0;
}

static counter_val_t stat_breaker_open_primary(void)
{
	return breaker_open(0);
}

static counter_val_t stat_breaker_open_backup(void)
{
	return breaker_open(1);
}

static counter_val_t stat_cache_bytes(void)
{
	e911_cache_stats_t st;

	if(e911_cache == NULL)
		return 0;
	e911_cache_get_stats(e911_cache, &st);
	return (counter_val_t)st.bytes;
}

typedef struct age_walk
{
	int64_t now;
	int64_t max;
	int64_t sum;
	int64_t n;
} age_walk_t;

static int age_visit(
		const char *key, size_t klen, const e911_cache_res_t *res, void *arg)
{
	age_walk_t *a = arg;
	int64_t age;

	if(res->rec == NULL) /* a negative entry: no record */
		return 0;
	age = a->now - res->fetched_at;
	if(age < 0)
		age = 0;
	if(age > a->max)
		a->max = age;
	a->sum += age;
	a->n++;
	return 0;
}

static void ages(age_walk_t *a)
{
	a->now = (int64_t)time(NULL);
	a->max = a->sum = a->n = 0;
	if(e911_cache)
		e911_cache_walk(e911_cache, a->now, age_visit, a);
}

static counter_val_t stat_record_age_max(void)
{
	age_walk_t a;

	ages(&a);
	return (counter_val_t)a.max;
}

static counter_val_t stat_record_age_avg(void)
{
	age_walk_t a;

	ages(&a);
	return a.n ? (counter_val_t)(a.sum / a.n) : 0;
}

static counter_val_t stat_notify_queue_depth(void)
{
	return (counter_val_t)e911_notify_queue_depth();
}

/* clang-format off */
static stat_export_t metrics_stats[] = {
	{"audit_write_errors", 0, &e911_stat_audit_write_errors},
	{"breaker_open_primary", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_breaker_open_primary},
	{"breaker_open_backup", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_breaker_open_backup},
	{"cache_bytes", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_cache_bytes},
	{"cache_record_age_max", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_record_age_max},
	{"cache_record_age_avg", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_record_age_avg},
	{"notify_queue_depth", STAT_NO_RESET | STAT_IS_FUNC,
		(stat_var **)stat_notify_queue_depth},
	{0, 0, 0}
};
/* clang-format on */

int e911_metrics_init(void)
{
	if(register_module_stats("e911", metrics_stats) != 0) {
		LM_ERR("e911: cannot register the operators' statistics\n");
		return -1;
	}
	return 0;
}
