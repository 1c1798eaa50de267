#!/usr/bin/env python3
# kamailio-e911: metrics where operators look. The reference cfg with
# -A WITH_PROMETHEUS serves /metrics through Kamailio's xhttp_prom; the test
# scrapes it around calls and checks that the values move as the calls say:
# calls by status, source and route, lookup latency histogram, lookups, cache
# entries, bytes and record age, breaker state, notification queue depth and
# failures, audit write errors. Only /metrics on the metrics listener answers.
#
# Skipped when the Kamailio installation has no xhttp_prom.so.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

HAVE_PROM = os.path.exists(os.path.join(t.KAMAILIO_MODULES_DIR, "xhttp_prom.so"))
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+Inf]+)(?: \d+)?$")


def parse(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line.strip())
        if not m:
            raise AssertionError("not a Prometheus sample: %r" % line)
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


@unittest.skipUnless(HAVE_PROM, "xhttp_prom.so is not installed (Debian: package kamailio)")
class MetricsTest(t.E911TestCase):

    @classmethod
    def setUpClass(cls):
        cls.port = t.free_port()
        dead = t.free_port()    # nothing listens: notifications fail
        cls.env = t.E911Env(cls.__name__, timeout_ms=300, defines={
            "WITH_PROMETHEUS": None,
            "E911_METRICS_LISTEN": "tcp:127.0.0.1:%d" % cls.port,
            "E911_METRICS_PORT": str(cls.port),
            "E911_BREAKER_FAILURES": "2",
            "E911_BREAKER_COOLDOWN": "1",
            "E911_NOTIFY_URL": t.q("http://127.0.0.1:%d/hook" % dead),
            # a directory that does not exist: every audit line fails
            "E911_AUDIT_LOG": t.q("/nonexistent-e911-dir/audit.jsonl"),
        })
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def scrape(self, path="/metrics"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=t.scaled(5)) as r:
            self.assertEqual(r.status, 200)
            return parse(r.read().decode())

    @staticmethod
    def v(m, name, **labels):
        return m.get(("kamailio_" + name, frozenset(labels.items())), 0.0)

    def calls(self, m, status, source, route):
        if source is None:  # any source
            return sum(val for (name, labels), val in m.items()
                       if name == "kamailio_e911_calls_total"
                       and dict(labels).get("status") == status
                       and dict(labels).get("route") == route)
        return self.v(m, "e911_calls_total", status=status, source=source, route=route)

    def test_values_move_as_the_calls_say(self):
        m0 = self.scrape()
        for name in ("e911_lookups", "e911_cache_entries", "e911_cache_bytes",
                     "e911_breaker_open_primary", "e911_notify_queue_depth",
                     "e911_audit_write_errors", "e911_cache_record_age_max"):
            self.assertIn(("kamailio_" + name, frozenset()), m0, name)
        for caller, service in (("alice", "911"), ("alice", "911"), ("judy", "911"),
                                ("zed", "911")):
            self.assertCallOk(self.env.call(service, caller=caller))
        m1 = self.scrape()
        d = lambda *a: self.calls(m1, *a) - self.calls(m0, *a)  # noqa: E731
        # the source label is the call's winning source (location_precedence:
        # network, device, service, stale, fallback); a cached record is the
        # service's ($e911(lookup_source) says cache)
        self.assertEqual(d("fresh", "service", "record"), 2)
        self.assertEqual(d("fresh", "service", "default"), 1)   # judy: no route
        self.assertEqual(d("none", None, "fallback"), 1)        # zed: no record
        self.assertEqual(self.v(m1, "e911_lookups") - self.v(m0, "e911_lookups"), 4)
        self.assertEqual(self.v(m1, "e911_fallback_routes") - self.v(m0, "e911_fallback_routes"), 1)
        # three answers with a record, one without; every one under +Inf
        cnt = lambda m, s: self.v(m, "e911_lookup_seconds_count", status=s)  # noqa: E731
        self.assertEqual(cnt(m1, "fresh") - cnt(m0, "fresh"), 3)
        self.assertEqual(cnt(m1, "none") - cnt(m0, "none"), 1)
        self.assertEqual(self.v(m1, "e911_lookup_seconds_bucket", status="fresh", le="+Inf"),
                         cnt(m1, "fresh"))
        # alice, judy and zed's "no record" are cached now
        self.assertEqual(self.v(m1, "e911_cache_entries") - self.v(m0, "e911_cache_entries"), 3)
        self.assertGreater(self.v(m1, "e911_cache_bytes"), self.v(m0, "e911_cache_bytes"))
        # one audit line per call, none written
        self.assertGreaterEqual(self.v(m1, "e911_audit_write_errors")
                                - self.v(m0, "e911_audit_write_errors"), 4)
        # the notifications wait for their retries, then fail
        self.assertGreaterEqual(self.v(m1, "e911_notify_queue_depth"), 1)
        deadline = time.monotonic() + t.scaled(15)
        while True:
            m2 = self.scrape()
            if (self.v(m2, "e911_notify_failed") - self.v(m0, "e911_notify_failed") >= 4
                    and self.v(m2, "e911_notify_queue_depth") == 0) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertGreaterEqual(self.v(m2, "e911_notify_failed") - self.v(m0, "e911_notify_failed"), 4)
        self.assertEqual(self.v(m2, "e911_notify_queue_depth"), 0)
        time.sleep(1.1)
        self.assertGreaterEqual(self.v(self.scrape(), "e911_cache_record_age_max"), 1)

    def test_breaker_state(self):
        loc = self.env.locsvc
        m0 = self.scrape()
        self.assertEqual(self.v(m0, "e911_breaker_open_primary"), 0)
        # a transport failure (the connection closed without an answer):
        # a 5xx is an error for that key only and never opens the breaker
        loc.control(mode="close")
        try:
            for key in ("carol", "dave"):
                self.assertCallOk(self.env.call("911", caller=key))
            m1 = self.scrape()
        finally:
            loc.control(mode="normal")
        # the prober closes it within about a probe interval of the service
        # answering again
        time.sleep(2.5)
        self.assertCallOk(self.env.call("911", caller="erin"))
        self.assertEqual(self.v(self.scrape(), "e911_breaker_open_primary"), 0)
        self.assertEqual(self.v(m1, "e911_breaker_open_primary"), 1)
        self.assertEqual(self.v(m1, "e911_breaker_opens") - self.v(m0, "e911_breaker_opens"), 1)
        failed = lambda m: self.v(m, "e911_fetch_errors") + self.v(m, "e911_fetch_timeouts")  # noqa: E731
        self.assertEqual(failed(m1) - failed(m0), 2)
        self.assertEqual(self.calls(m1, "unavailable", None, "fallback")
                         - self.calls(m0, "unavailable", None, "fallback"), 2)

    def test_dashboard_uses_served_names(self):
        """docs/grafana-e911.json is built on names /metrics serves."""
        import json
        with open(os.path.join(t.SOURCE_DIR, "docs", "grafana-e911.json")) as f:
            dash = json.load(f)
        exprs = [tg["expr"] for p in dash["panels"] for tg in p.get("targets", [])]
        used = set(re.findall(r"kamailio_e911_\w+", " ".join(exprs)))
        self.assertCallOk(self.env.call("911", caller="frank"))
        served = {name for name, _ in self.scrape()}
        self.assertTrue(used)
        self.assertEqual(used - served, set())

    def test_only_metrics_is_served(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.scrape("/e911/loc/x")
        self.assertEqual(e.exception.code, 404)


if __name__ == "__main__":
    t.main()
