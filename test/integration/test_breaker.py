#!/usr/bin/env python3
# kamailio-e911: the breaker judges the service, not a few bad records (issue 13).
#
# With the reference cfg (breaker_failures 3, breaker_cooldown 30 s):
#   - eight keys failing in eight ways in a row (503, 500, a hang, malformed JSON,
#     a body that is not JSON, an oversize body, the connection closed without an
#     answer, 429), then a new caller whose record is good: the PSAP gets that
#     caller's PIDF-LO at once (blocking and non-blocking lookups); the failed keys
#     are remembered for error_ttl (answered at once, the service not asked);
#   - twelve keys hanging at once (non-blocking): cached callers are not held up,
#     the breaker the hangs open is closed by the prober within about a second,
#     a new good caller gets its location;
#   - the whole service hung: once the breaker is open calls reach the fallback
#     without waiting (set-up times printed; p99 asserted with a margin for a
#     loaded machine), nobody's lookup reaches the service; the service comes
#     back: the breaker closes within 2 s, a new caller gets its location, and so
#     does a caller whose lookup timed out during the outage;
#   - a flapping service (up 5 s / down 5 s, refusing connections while down):
#     every call reaches a PSAP, and every caller whose record the service had,
#     calling more than the probe interval (+ a margin) after it came back, gets
#     the location. E911_FLAP_SECONDS (default 30 = three cycles; the issue's
#     minute is `E911_FLAP_SECONDS=60`): 30 s keeps the CI run short while still
#     covering three outages and three recoveries.
#
#   E911_BUILD_DIR=build python3 test/integration/test_breaker.py [-k name]
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

FLAP_SECONDS = float(os.environ.get("E911_FLAP_SECONDS") or 30)
FLAP_HALF = 5.0
PROBE_INTERVAL_S = 1.0


def statistics(env):
    out = env.kamailio.kamcmd("stats.get_statistics", "e911:").text
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"e911:(\w+) = (-?\d+)", out)}


def rpc_stats(env):
    out = env.kamailio.kamcmd("e911.stats").text
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\s*(\w+): (.*)$", out, re.M)}


def percentile(values, p):
    v = sorted(values)
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


class BreakerCase(t.E911TestCase):
    TIMEOUT_MS = 500
    DEFINES = {"E911_REFRESH_AHEAD": "0", "E911_ERROR_TTL": "3"}
    CHILDREN = 4

    @classmethod
    def new_env(cls):
        return t.E911Env(cls.__name__, timeout_ms=cls.TIMEOUT_MS,
                         defines=dict(cls.DEFINES), children=cls.CHILDREN)

    @classmethod
    def setUpClass(cls):
        cls.env = cls.new_env()
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def setUp(self):
        self.env.locsvc.fresh()

    def add_records(self, keys):
        """alice's record under each key, ROOM set to the key (to tell them apart)."""
        recs = self.env.copies_of("alice", keys)
        for k, r in recs.items():
            r["civic"]["ROOM"] = k[-20:]
        self.env.add_records(recs)

    def call(self, caller, **kw):
        c = self.env.call("911", caller=caller, **kw)
        self.assertCallOk(c)
        where, rx = self.env.find_invite(c.call_id)
        self.assertIsNotNone(rx, "the call from %s reached no PSAP:\n%s" % (
            caller, c.describe()))
        return c, where, rx

    def assertLocated(self, caller, where, rx):
        self.assertEqual(where, "psap", "the call from %s reached %s (R-URI %s), not "
                         "the PSAP of its record" % (caller, where, rx.msg.ruri))
        pidf = rx.msg.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1, "no PIDF-LO for %s" % caller)
        civic = dict(t.pidf_civic(pidf[0].body)[0])
        self.assertEqual(civic.get("ROOM"), caller[-20:])

    def setup_delay(self, c, rx):
        return rx.time - c.invite_sent_time()

    def wait_breaker(self, state, timeout):
        """Seconds until e911.stats says the primary breaker is in state."""
        t0 = time.monotonic()
        deadline = t0 + t.scaled(timeout)
        while time.monotonic() < deadline:
            if rpc_stats(self.env).get("primary_breaker") == state:
                return time.monotonic() - t0
            time.sleep(0.05)
        self.fail("the breaker did not become %s within %.1f s: %s" % (
            state, timeout, rpc_stats(self.env)))


class EightWays(BreakerCase):
    """Non-blocking lookups (e911_locate_async, the reference cfg)."""

    WAYS = [
        ("w503", dict(mode="status", status=503)),
        ("w500", dict(mode="status", status=500)),
        ("whang", dict(mode="hang")),
        ("wmalformed", dict(mode="malformed")),
        ("wnotjson", dict(mode="raw", status=200, body=b"<html>busy</html>\n")),
        ("woversize", dict(mode="oversize")),
        ("wclose", dict(mode="close")),
        ("w429", dict(mode="status", status=429)),
    ]

    def test_eight_bad_keys_then_a_good_caller(self):
        keys = [k for k, _ in self.WAYS]
        self.add_records(keys + ["wgood", "wgood2"])
        for key, how in self.WAYS:
            self.env.locsvc.control(keys=[key], **how)
            c, where, rx = self.call(key, recv_timeout=15, timeout=30)
            self.assertEqual(where, "fallback", "%s: %s" % (key, where))
        self.env.locsvc.control("normal", latency_ms=50)
        c, where, rx = self.call("wgood")
        self.assertLocated("wgood", where, rx)
        delay = self.setup_delay(c, rx)
        sys.stderr.write("\n[eight ways] new good caller: set-up %.1f ms (service "
                         "latency 50 ms)\n" % (delay * 1000))
        self.assertLess(delay, 0.05 + t.scaled(0.45),
                        "set-up took %.3f s, the service answers in 50 ms" % delay)
        st = statistics(self.env)
        self.assertEqual(st["breaker_opens"], 0, st)
        self.assertGreaterEqual(st["key_errors"], len(self.WAYS), st)
        self.assertNotIn("breaker open", self.env.kamailio.log_text())
        # the bad keys are remembered: answered at once, the service not asked
        self.env.locsvc.reset()
        n = self.env.locsvc.requests_for("w503")
        c, where, rx = self.call("w503")
        self.assertEqual(where, "fallback")
        self.assertEqual(self.env.locsvc.requests_for("w503"), n,
                         "a key that failed a moment ago was asked again")
        self.assertGreaterEqual(statistics(self.env)["key_error_hits"], 1)
        # after error_ttl (3 s here) it is asked again: the record is fine now
        time.sleep(3.2)
        c, where, rx = self.call("w503")
        self.assertLocated("w503", where, rx)


class EightWaysBlocking(EightWays):
    """The same with blocking lookups (e911_locate)."""

    DEFINES = dict(BreakerCase.DEFINES, E911_BLOCKING_LOOKUP="1")


class TwelveHang(BreakerCase):
    TIMEOUT_MS = 1500

    def test_twelve_keys_hang_at_once(self):
        cached = ["alice", "carol", "dave", "erin"]
        hung = ["h%02d" % i for i in range(12)]
        self.add_records(hung + ["hgood"])
        for c in cached:
            _, where, _ = self.call(c)
            self.assertEqual(where, "psap")
        self.env.locsvc.control("hang", keys=hung)
        t0 = time.time()
        storm = [lambda k=k: self.env.call("911", caller=k, recv_timeout=15, timeout=30)
                 for k in hung]

        def behind():
            time.sleep(0.3)
            return [self.env.call("911", caller=c) for c in cached]
        res = t.parallel(storm + [behind], join_s=90)
        for c in res[12]:
            self.assertCallOk(c)
            rx = self.assertInviteAt(c, "psap")
            self.assertLess(rx.time - t0, self.TIMEOUT_MS / 1000.0,
                            "a cached caller was held up behind the hung lookups")
        for c in res[:12]:
            self.assertCallOk(c)
            self.assertInviteAt(c, "fallback")
        # the hangs opened the breaker; the prober's first answer closed it
        st = statistics(self.env)
        self.assertGreaterEqual(st["breaker_opens"], 1, st)
        self.wait_breaker("closed", 3.0)
        c, where, rx = self.call("hgood")
        self.assertLocated("hgood", where, rx)
        # a hung key is remembered: its caller goes to the fallback at once
        c, where, rx = self.call("h00")
        self.assertEqual(where, "fallback")
        self.assertLess(self.setup_delay(c, rx), self.TIMEOUT_MS / 1000.0,
                        "a key that just hung was asked (and waited for) again")
        self.assertIn("probe got HTTP", self.env.kamailio.log_text())


class WholeServiceHung(BreakerCase):
    TIMEOUT_MS = 500

    def test_hung_service_then_back(self):
        fresh = ["n%02d" % i for i in range(30)]
        self.add_records(fresh)
        self.env.locsvc.control("hang")
        for k in fresh[:3]:
            _, where, _ = self.call(k, recv_timeout=15, timeout=30)
            self.assertEqual(where, "fallback")
        self.wait_breaker("open", 2.0)
        delays = []
        for k in fresh[3:23]:
            c, where, rx = self.call(k)
            self.assertEqual(where, "fallback")
            self.assertEqual(self.env.locsvc.requests_for(k), 0,
                             "a caller's lookup reached the service while the "
                             "breaker was open")
            delays.append(self.setup_delay(c, rx))
        p50, p99 = percentile(delays, 50), percentile(delays, 99)
        sys.stderr.write("\n[whole service hung] breaker open: fallback set-up p50 "
                         "%.1f ms, p99 %.1f ms over %d calls\n" % (
                             p50 * 1000, p99 * 1000, len(delays)))
        # the bound is 50 ms; the margin is for a loaded CI machine
        self.assertLess(p99, 0.05 + t.scaled(0.2), "p99 %.3f s" % p99)
        # the service comes back
        self.env.locsvc.reset()
        took = self.wait_breaker("closed", 4.0)
        sys.stderr.write("[whole service hung] breaker closed %.2f s after the "
                         "service came back\n" % took)
        self.assertLess(took, 2.0 * t.TIME_SCALE, "recovery took %.2f s" % took)
        c, where, rx = self.call(fresh[25])
        self.assertLocated(fresh[25], where, rx)
        # a caller whose lookup timed out in the outage is located again at once
        c, where, rx = self.call(fresh[0])
        self.assertLocated(fresh[0], where, rx)
        # visible: why it opened, the probes
        rs = rpc_stats(self.env)
        self.assertEqual(rs.get("primary_open_reason"), "timeout", rs)
        self.assertEqual(rs.get("primary_open_failures"), "3 timeout", rs)
        self.assertRegex(rs.get("primary_last_probe", ""), r"^HTTP 404 in \d+ ms", rs)
        self.assertGreaterEqual(int(rs.get("primary_probe_failures", "0")), 1, rs)
        st = statistics(self.env)
        self.assertGreaterEqual(st["probes"], 2, st)
        self.assertEqual(st["breaker_closes"], 1, st)
        log = self.env.kamailio.log_text()
        self.assertEqual(len(re.findall(r"breaker open, calls use", log)), 1, log[-3000:])
        self.assertEqual(len(re.findall(r"breaker closed", log)), 1, log[-3000:])


class Flapping(BreakerCase):
    TIMEOUT_MS = 500

    def test_flapping_service(self):
        keys = ["f%03d" % i for i in range(400)]
        self.add_records(keys)
        stop = threading.Event()
        events = []          # (time, "up"/"down")
        lock = threading.Lock()

        def flapper():
            up = True
            t_end = time.time() + FLAP_SECONDS
            while time.time() < t_end and not stop.is_set():
                stop.wait(FLAP_HALF)
                if stop.is_set():
                    break
                # conservative times: "down" from just before the stop, "up"
                # from once the service listens again
                if up:
                    with lock:
                        events.append((time.time(), "down"))
                    self.env.locsvc.stop()
                else:
                    self.env.locsvc.start()
                    with lock:
                        events.append((time.time(), "up"))
                up = not up
            if not up:
                self.env.locsvc.start()
                with lock:
                    events.append((time.time(), "up"))

        th = threading.Thread(target=flapper)
        t_start = time.time()
        with lock:
            events.append((t_start, "up"))
        th.start()
        results = []
        i = 0
        try:
            while time.time() < t_start + FLAP_SECONDS and i < len(keys):
                k = keys[i]
                i += 1
                c = self.env.call("911", caller=k)
                where, rx = self.env.find_invite(c.call_id)
                results.append((k, c, where, rx))
        finally:
            stop.set()
            th.join(t.scaled(30))

        def up_since(ts):
            """How long the service had been up at ts (None when down)."""
            state, since = "up", t_start
            for et, ev in events:
                if et > ts:
                    break
                if ev != state:
                    state, since = ev, et
            return ts - since if state == "up" else None

        margin = PROBE_INTERVAL_S + t.scaled(0.5)
        lost = []
        for k, c, where, rx in results:
            self.assertCallOk(c)
            self.assertIsNotNone(rx, "the call from %s reached no PSAP" % k)
            sent = c.invite_sent_time()
            u = up_since(sent)
            if u is not None and u > margin and where != "psap":
                lost.append("%s at +%.2f s (service up for %.2f s) went to %s" % (
                    k, sent - t_start, u, where))
        located = sum(1 for r in results if r[2] == "psap")
        sys.stderr.write("\n[flapping] %d calls, %d located, %d outages\n" % (
            len(results), located, sum(1 for e in events if e[1] == "down")))
        self.assertEqual(lost, [], "callers without location although the service had "
                         "been up for more than the probe interval:\n  " +
                         "\n  ".join(lost))
        self.assertGreater(located, 0)


class Backup(BreakerCase):
    """Both services have their own breaker and prober (location_url_backup)."""

    @classmethod
    def setUpClass(cls):
        cls.env = cls.new_env()
        cls.backup = t.start_backup(cls.env)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        if cls.backup:
            cls.backup.stop()

    def test_primary_down_then_back(self):
        keys = ["b%02d" % i for i in range(8)]
        self.add_records(keys)
        self.backup.put_records(self.env.records)
        self.env.locsvc.stop()
        for k in keys[:4]:
            c, where, rx = self.call(k)
            self.assertLocated(k, where, rx)      # the backup answered
        self.wait_breaker("open", 2.0)
        # while the primary's breaker is open the backup alone is asked
        c, where, rx = self.call(keys[4])
        self.assertLocated(keys[4], where, rx)
        self.env.locsvc.start()
        took = self.wait_breaker("closed", 4.0)
        sys.stderr.write("\n[backup] primary breaker closed %.2f s after the primary "
                         "came back\n" % took)
        self.assertLess(took, 2.0 * t.TIME_SCALE)
        c, where, rx = self.call(keys[5])
        self.assertLocated(keys[5], where, rx)
        self.assertEqual(self.env.locsvc.requests_for(keys[5]), 1,
                         "the primary was not asked once its breaker closed")
        self.assertEqual(self.backup.requests_for(keys[5]), 0)
        rs = rpc_stats(self.env)
        self.assertEqual(rs.get("primary_open_reason"), "refused/connect", rs)
        self.assertEqual(rs.get("backup_breaker"), "closed", rs)
        self.assertEqual(rs.get("backup_opens"), "0", rs)


if __name__ == "__main__":
    t.main()
