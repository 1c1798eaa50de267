/*
 * e911 module - active health checking of the location services
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Like dispatcher probing its gateways: while a service's breaker is open,
 * one process of the module (never a caller) asks it whether it is back -
 * a GET of health_url when set, otherwise of the location URL for
 * probe_key - when the breaker says a probe is due (at once when it opens,
 * then every probe_interval, backing off to breaker_cooldown; see
 * core/e911_breaker.h). Any HTTP answer within timeout_ms closes the
 * breaker. The probe's answer never touches the cache.
 */

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../core/cfg/cfg_struct.h"
#include "../../core/dprint.h"
#include "../../core/pt.h"
#include "../../core/sr_module.h"

#include "e911_lookup.h"
#include "e911_probe.h"

#define PROBE_TICK_MS 50

static e911_fetch_xfer_t px[2];

static void probe(int which)
{
	e911_fetch_cfg_t *cfg = e911_service_cfg(which);
	const char *url = e911_lookup_cfg.health_url[which];
	const char *key = e911_lookup_cfg.probe_key;
	e911_breaker_close_t cl;
	e911_fetch_res_t fres;
	char how[96];
	CURLcode cc;
	int64_t t0 = e911_now_ms();
	int64_t now;

	if(url && url[0] && strncasecmp(cfg->url_tmpl, "file://", 7) != 0) {
		if(e911_fetch_prepare_url(&px[which], cfg, url, &fres) == 0) {
			cc = curl_easy_perform(px[which].easy);
			e911_fetch_finish(&px[which], cc, &fres);
		}
	} else {
		e911_fetch(&px[which], cfg, key, strlen(key), &fres);
	}
	free(fres.rec);
	fres.rec = NULL;
	now = e911_now_ms();
	update_stat(e911_st.probes, 1);
	if(!e911_fail_answered(fres.fail))
		update_stat(e911_st.probe_failures, 1);
	if(e911_breaker_probe_result(e911_shared->breaker[which], fres.fail,
			   (long)(now - t0), fres.http_code, now, &cl)
			< 0) {
		snprintf(how, sizeof(how), "probe got HTTP %ld in %lld ms",
				fres.http_code, (long long)(now - t0));
		e911_service_closed(which, &cl, how);
	} else {
		LM_DBG("e911: %s location service probe: %s (%s), next in %lld ms\n",
				which ? "backup" : "primary", e911_fail_name(fres.fail),
				fres.err,
				(long long)e911_breaker_probe_in(
						e911_shared->breaker[which], now));
	}
}

static void prober_loop(void)
{
	int64_t now;
	int which;

	LM_INFO("e911: prober started\n");
	for(;;) {
		cfg_update();
		for(which = 0; which < 2; which++) {
			now = e911_now_ms();
			if(e911_service_cfg(which) != NULL
					&& e911_breaker_probe_due(e911_shared->breaker[which], now))
				probe(which);
		}
		usleep(PROBE_TICK_MS * 1000);
	}
}

int e911_probe_init(void)
{
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

int e911_probe_child_init(int rank)
{
	int pid;

	if(rank != PROC_MAIN)
		return 0;
	pid = fork_process(PROC_NOCHLDINIT, "e911 prober", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		prober_loop();
		exit(-1);
	}
	return 0;
}
