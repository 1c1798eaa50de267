#!/usr/bin/env python3
# kamailio-e911: non-blocking lookups - no SIP worker waits on the service.
#
# With two SIP workers, a dozen emergency calls whose lookups hang must not
# hold back cached emergency calls or other traffic; concurrent misses for
# one key share one HTTP request; the failure-route retry after a resumed
# transaction carries the same location; and the Lua (KEMI) configuration
# behaves the same.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")


class AsyncCase(t.E911TestCase):
    CFG = t.E911_CFG
    TIMEOUT_MS = 2000
    DEFINES = {"E911_BREAKER_FAILURES": "100"}

    @classmethod
    def setUpClass(cls):
        defines = dict(cls.DEFINES)
        if cls.CFG == LUA_CFG:
            defines["E911_LUA"] = t.q(LUA_SCRIPT)
        cls.env = t.E911Env(cls.__name__, cfg=cls.CFG, timeout_ms=cls.TIMEOUT_MS,
                            defines=defines, children=2)
        cls.env.start()
        cls.env.add_records(cls.env.copies_of("alice", ["u%02d" % i for i in range(40)]))

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def setUp(self):
        self.env.locsvc.reset()

    def call(self, service, caller, **kw):
        return lambda: self.env.call(service, caller=caller, **kw)

    def located_at(self, call, role):
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, role)
        return rx

    def assertLocated(self, rx, key):
        self.assertEqual(len(rx.msg.header_all("Geolocation")), 1, "no Geolocation")
        pidf = rx.msg.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1)
        civic = dict(t.pidf_civic(pidf[0].body)[0])
        self.assertEqual(civic.get("A3"), self.env.records[key]["civic"]["A3"])

    def add_busy_caller(self, key):
        """A copy of alice's record under key, routed to the busy PSAP."""
        rec = self.env.copies_of("alice", [key])[key]
        rec["route"] = {"uri": self.env.psap_uri("busy")}
        self.env.add_records({key: rec})


class TestNonBlocking(AsyncCase):

    def test_cached_calls_pass_a_storm_of_hung_lookups(self):
        cached = ["alice", "carol", "dave", "erin"]
        for c in cached:                       # warm the cache
            self.located_at(self.env.call("911", caller=c), "psap")
        hung = ["u%02d" % i for i in range(12)]
        self.env.locsvc.control("hang", keys=hung)
        t0 = time.time()
        storm = [self.call("911", k, recv_timeout=15, timeout=30) for k in hung]

        def behind():
            time.sleep(0.3)                    # right behind the storm
            return [self.env.call("911", caller=c) for c in cached]
        results = t.parallel(storm + [behind])
        hung_calls, cached_calls = results[:12], results[12]
        # the cached calls reached the PSAP before any hung lookup timed out
        first_timeout = t0 + self.TIMEOUT_MS / 1000.0
        for call in cached_calls:
            rx = self.located_at(call, "psap")
            self.assertLess(rx.time, first_timeout,
                            "a cached call reached the PSAP %.3f s after the storm "
                            "began (lookups time out at %.3f s)" % (
                                rx.time - t0, self.TIMEOUT_MS / 1000.0))
        # the hung ones reached the fallback after timeout_ms
        for call in hung_calls:
            rx = self.located_at(call, "fallback")
            delay = rx.time - call.invite_sent_time()
            self.assertGreaterEqual(delay, self.TIMEOUT_MS / 1000.0 - 0.05)
            self.assertLess(delay, self.TIMEOUT_MS / 1000.0 + t.scaled(1.5))
            self.assertEqual(rx.msg.header_all("Geolocation"), [])

    def test_single_flight(self):
        self.env.locsvc.control("normal", latency_ms=600)
        calls = t.parallel([self.call("911", "u20") for _ in range(5)])
        for call in calls:
            rx = self.located_at(call, "psap")
            self.assertLocated(rx, "u20")
        self.assertEqual(self.env.locsvc.requests_for("u20"), 1,
                         "five concurrent misses for one key made more than one request")

    def test_other_traffic_flows_while_lookups_hang(self):
        hung = ["u%02d" % i for i in range(24, 30)]
        self.env.locsvc.control("hang", keys=hung)
        t0 = time.time()

        def normal():
            time.sleep(0.3)
            c = self.env.call("1000", caller="bob",
                              ruri_host="%s:%d" % (t.HOST, self.env.psaps["normal"].port))
            return c, time.time()
        results = t.parallel([self.call("911", k, recv_timeout=15, timeout=30)
                            for k in hung] + [normal])
        call, done = results[-1]
        rx = self.located_at(call, "normal")
        self.assertLess(rx.time - t0, self.TIMEOUT_MS / 1000.0,
                        "a non-emergency call waited behind hung lookups")
        for c in results[:-1]:
            self.located_at(c, "fallback")

    def test_failure_retry_after_resume_keeps_location(self):
        self.add_busy_caller("u31")
        call = self.env.call("911", caller="u31")     # a miss: suspended, resumed
        self.assertCallOk(call)
        self.assertInviteAt(call, "busy")
        rx = self.assertInviteAt(call, "fallback")
        self.assertLocated(rx, "u31")
        self.assertEqual(rx.msg.header_all("Priority"), ["emergency"])


class TestKemiLua(AsyncCase):
    """The same behaviour from cfg/kamailio-lua.cfg + cfg/e911.lua."""

    CFG = LUA_CFG
    TIMEOUT_MS = 800

    def test_miss_then_hit(self):
        rx = self.located_at(self.env.call("911", caller="u33"), "psap")
        self.assertLocated(rx, "u33")
        rx = self.located_at(self.env.call("911", caller="u33"), "psap")
        self.assertLocated(rx, "u33")
        self.assertEqual(self.env.locsvc.requests_for("u33"), 1)

    def test_unknown_caller_to_fallback(self):
        rx = self.located_at(self.env.call("911", caller="nobody"), "fallback")
        self.assertEqual(rx.msg.header_all("Geolocation"), [])
        self.assertEqual(rx.msg.header_all("Priority"), ["emergency"])

    def test_hung_lookup_does_not_block(self):
        self.env.locsvc.control("hang", keys=["u34", "u35", "u36"])
        self.located_at(self.env.call("911", caller="u37"), "psap")   # warm
        t0 = time.time()

        def cached():
            time.sleep(0.2)
            return self.env.call("911", caller="u37")
        res = t.parallel([self.call("911", k, recv_timeout=15, timeout=30)
                        for k in ("u34", "u35", "u36")] + [cached])
        rx = self.located_at(res[-1], "psap")
        self.assertLess(rx.time - t0, self.TIMEOUT_MS / 1000.0)
        for c in res[:-1]:
            self.located_at(c, "fallback")

    def test_failure_retry_keeps_location(self):
        self.add_busy_caller("u38")
        call = self.env.call("911", caller="u38")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "fallback")
        self.assertLocated(rx, "u38")

    def test_non_emergency_relayed(self):
        c = self.env.call("1000", caller="bob",
                          ruri_host="%s:%d" % (t.HOST, self.env.psaps["normal"].port))
        rx = self.located_at(c, "normal")
        self.assertEqual(rx.msg.header_all("Geolocation"), [])


if __name__ == "__main__":
    t.main()
