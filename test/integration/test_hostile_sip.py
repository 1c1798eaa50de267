#!/usr/bin/env python3
# kamailio-e911: hostile SIP (issue 18) - floods past async_max_inflight,
# malformed emergency INVITEs, odd but valid emergency Request-URIs and large
# INVITEs over TCP, written byte by byte by a raw SIP client (rawsip.py) over
# UDP and TCP, through the real Kamailio with cfg/kamailio.cfg.
#
# Every emergency call must get a final answer relayed to the caller - the
# PSAP's 200 when the request can be relayed at all, else a 400 that says
# why - never silence, never a loop through this proxy; after a flood no
# transaction is left (tm.stats current 0) and shared memory is back where
# it was.
#
#   E911_BUILD_DIR=build python3 test/integration/test_hostile_sip.py [-k name]
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
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e911test as t  # noqa: E402
import test_soak as soak  # noqa: E402  (tm.stats / core.shmmem readers)
from rawsip import SDP, RawSip, Transaction  # noqa: E402


LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")


class HostileCase(t.E911TestCase):
    TIMEOUT_MS = 1000
    DEFINES = {"E911_REFRESH_AHEAD": "0", "E911_BREAKER_FAILURES": "1000"}
    CFG = t.E911_CFG

    @classmethod
    def setUpClass(cls):
        defines = dict(cls.DEFINES)
        if cls.CFG == LUA_CFG:
            defines["E911_LUA"] = t.q(LUA_SCRIPT)
        cls.env = t.E911Env(cls.__name__, cfg=cls.CFG, timeout_ms=cls.TIMEOUT_MS,
                            defines=defines, tcp=True, children=2)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop()

    def setUp(self):
        self.env.locsvc.reset()

    # -- helpers ----------------------------------------------------------
    def log_mark(self):
        return os.path.getsize(self.env.kamailio.log_path)

    def log_since(self, mark):
        with open(self.env.kamailio.log_path, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")

    def send(self, transport="udp", timeout=8.0, caller="alice", extra=(), **kw):
        """One INVITE (rawsip: the final response ACKed); extra header lines
        go after the usual ones, kw to RawSip.invite (ruri, from_value,
        to_value). Returns (transaction, request bytes, [responses])."""
        c = RawSip(self.env.kamailio.port, transport)
        try:
            tx = c.invite("911", from_user=caller, headers=list(extra),
                          wait=t.scaled(timeout), **kw)
        finally:
            c.close()
        return tx, tx.request, tx.responses

    def codes(self, res):
        return [r.status for r in res]

    def assertFinal(self, res, code, what):
        self.assertTrue(res and res[-1].status >= 200,
                        "%s: no final answer reached the caller (got %s)" % (
                            what, self.codes(res) or "nothing"))
        self.assertEqual(res[-1].status, code, "%s: final answer %d %s" % (
            what, res[-1].status, res[-1].reason))

    def assertAtFallback(self, call_id, what):
        hits = self.env.find_invites(call_id, timeout=3)
        self.assertEqual([r for r, _ in hits], ["fallback"],
                         "%s: the INVITE should reach the fallback PSAP once" % what)
        return hits[0][1]

    def assertAlive(self):
        self.assertEqual(self.env.kamailio.kamcmd("core.uptime", check=False).returncode, 0)


# ===========================================================================
# issue 18 item 1: past async_max_inflight

class TestPastMaxInflight(HostileCase):
    """The location service hangs; async_max_inflight is 4: the first 4 callers
    wait (at most timeout_ms) and go to the fallback, the others go there at
    once. Every caller gets the PSAP's 200; no transaction stays behind."""

    TIMEOUT_MS = 1500
    MAX = 4
    DEFINES = dict(HostileCase.DEFINES, E911_ASYNC_MAX_INFLIGHT=str(MAX))

    def flood(self, transport, n):
        out = [None] * n

        def one(i):
            try:
                out[i] = self.send(transport, timeout=10, caller="flood-%s-%d-%d" % (
                    transport, i, int(time.time() * 1000) % 100000))
            except Exception as e:  # noqa: BLE001  (reported below)
                out[i] = e
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(t.scaled(30))
        return out

    def run_flood(self, transport):
        n = self.MAX * 4
        self.env.locsvc.control("hang")
        self.assertEqual(soak.quiesce(self.env, 30), 0)
        shm0 = soak.shm_stats(self.env)["real_used"]
        mark = self.log_mark()
        t0 = time.monotonic()
        results = self.flood(transport, n)
        took = time.monotonic() - t0
        errors = [r for r in results if isinstance(r, Exception) or r is None]
        self.assertEqual(errors, [], "client errors")
        silent = [c.call_id for c, _, res in results
                  if not res or res[-1].status < 200]
        self.assertEqual(silent, [], "%d of %d callers got no final answer:\n%s" % (
            len(silent), n, self.log_since(mark)[-3000:]))
        for c, _, res in results:
            self.assertFinal(res, 200, c.call_id)
            self.assertAtFallback(c.call_id, c.call_id)
        text = self.log_since(mark)
        busy = len(re.findall(r"lookups in flight: key 'flood-", text))
        self.assertGreaterEqual(busy, 1, "the flood never reached async_max_inflight")
        self.assertNotIn("Reply for suspended transaction", text)
        # every call answered within its budget (timeout_ms + margin)
        self.assertLess(took, t.scaled(self.TIMEOUT_MS / 1000.0 + 6))
        # no transaction left (wait timer 5 s), shared memory back to its level
        left = soak.quiesce(self.env, 30)
        self.assertEqual(left, 0, "%d transactions left in tm after the flood" % left)
        shm1 = soak.shm_stats(self.env)["real_used"]
        self.assertLess(shm1 - shm0, 64 * 1024,
                        "shm grew by %d bytes after the flood" % (shm1 - shm0))
        self.env.locsvc.reset()
        self.assertAlive()

    def test_udp_flood(self):
        self.run_flood("udp")

    def test_tcp_flood(self):
        self.run_flood("tcp")


# ===========================================================================
# issue 18 item 3: malformed emergency INVITEs

# headers the core's strict parser refuses a second copy of: tm cannot keep
# such a request, so it is relayed statelessly - to the fallback
DUPLICATES = [
    ("From", "From: <sip:mallory@e911.test>;tag=second"),
    ("To", "To: <sip:912@e911.test>"),
    ("CSeq", "CSeq: 2 INVITE"),
    ("Call-ID", "Call-ID: second-call-id@127.0.0.1"),
    ("Content-Length", "Content-Length: 0"),
]

# From values Kamailio's parser cannot read (most fuzzed ones): no transaction
# and no stateless relay can be built - a 400 that names the From
UNPARSABLE_FROM = [
    "garbage;;;<<>>",
    "<sip:alice@e911.test",
    "<<sip:alice@e911.test>>;tag=1",
    "\"unterminated <sip:alice@e911.test>;tag=1",
    "<sip:alice@e911.test>;tag=1;;=;",
    ";;;",
]


class TestMalformed(HostileCase):

    def loops(self, text):
        """How often the emergency INVITE was routed by this proxy (its NOTICE
        line, once per pass)."""
        return len(re.findall(r"e911: class \d call from", text))

    def duplicate(self, transport):
        for name, line in DUPLICATES:
            with self.subTest(header=name, transport=transport):
                mark = self.log_mark()
                c, _, res = self.send(transport, caller="alice", extra=[line])
                text = self.log_since(mark)
                self.assertFinal(res, 200, "a second %s header" % name)
                self.assertAtFallback(c.call_id, "a second %s header" % name)
                self.assertEqual(self.loops(text), 1,
                                     "the INVITE looped through this proxy:\n" + text[-2000:])
                self.assertIn("routed unchanged to the fallback", text)
        self.assertAlive()

    def test_duplicate_headers_udp(self):
        self.duplicate("udp")

    def test_duplicate_headers_tcp(self):
        self.duplicate("tcp")

    def unparsable_from(self, transport):
        for from_value in UNPARSABLE_FROM:
            with self.subTest(From=from_value, transport=transport):
                mark = self.log_mark()
                c, _, res = self.send(transport, from_value=from_value)
                text = self.log_since(mark)
                self.assertFinal(res, 400, "From %r" % from_value)
                self.assertIn("From", res[-1].reason, "the 400 does not say why")
                self.assertEqual(self.env.find_invites(c.call_id, timeout=0.5), [])
                self.assertEqual(self.loops(text), 1,
                                     "the INVITE looped through this proxy")
                self.assertIn("cannot be relayed (invalid From header): answering 400", text)
        self.assertAlive()

    def test_unparsable_from_udp(self):
        self.unparsable_from("udp")

    def test_unparsable_from_tcp(self):
        self.unparsable_from("tcp")


# ===========================================================================
# issue 18, minor: emergency calls that looked like something else

class TestOddButEmergency(HostileCase):

    def located(self, transport, what, **kw):
        c, _, res = self.send(transport, caller="alice", **kw)
        self.assertFinal(res, 200, what)
        hits = self.env.find_invites(c.call_id, timeout=3)
        self.assertEqual([r for r, _ in hits], ["psap"],
                         "%s: not routed as alice's emergency call" % what)
        rx = hits[0][1]
        self.assertEqual(len(rx.msg.multipart().by_type("application/pidf+xml")), 1,
                         "%s: no PIDF-LO" % what)
        self.assertEqual(rx.msg.header("Priority"), "emergency")
        return rx

    def each_transport(self, fn):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                fn(transport)

    def test_service_urn_with_parameters(self):
        self.each_transport(lambda tr: [
            self.located(tr, ruri, ruri=ruri) for ruri in (
                "urn:service:sos;foo=bar", "urn:service:sos.police;x=1;y",
                "urn:service:sos?Subject=x")])

    def test_escaped_dial_string(self):
        port = self.env.kamailio.port
        self.each_transport(lambda tr: [
            self.located(tr, ruri, ruri=ruri) for ruri in (
                "sip:%%39%%31%%31@127.0.0.1:%d" % port,
                "sip:9%%391%%31@127.0.0.1:%d;user=phone" % port)])

    def test_initial_invite_with_stray_to_tag(self):
        self.each_transport(lambda tr: self.located(
            tr, "To-tag", to_value="<sip:911@e911.test>;tag=no-such-dialog"))

    def test_large_invite_over_tcp(self):
        # 27 KB and 48 KB of the caller's own headers (Kamailio's TCP read
        # buffer was 16 KB: "tcp_read(): buffer overrun", the call dropped)
        for kb in (27, 48):
            with self.subTest(kb=kb):
                pad = ["X-Pad-%d: %s" % (i, "p" * 1000) for i in range(kb)]
                rx = self.located("tcp", "%d KB INVITE" % kb, extra=pad)
                self.assertEqual(len(rx.msg.header_all("X-Pad-0")), 1)



class TestRetransmissions(HostileCase):
    """Issue 19 moved the retransmission guard of the reference cfg
    (t_precheck_trans) from every request to emergency INVITEs only: copies of
    one emergency INVITE (the same Via branch) arriving back to back - while
    the caller's record is being fetched and after the PSAP answered - are
    still one call: one lookup, one INVITE at the PSAP, every copy answered
    from that one transaction."""

    def test_copies_of_an_emergency_invite_are_one_call(self):
        key = "retrans%d" % (int(time.time() * 1000) % 10 ** 8)
        self.env.add_records(self.env.copies_of("alice", [key]))
        self.env.locsvc.control(latency_ms=300)
        port = self.env.kamailio.port
        ruri = "sip:911@%s:%d" % (t.HOST, port)
        call_id = "%s@%s" % (key, t.HOST)
        branch, from_tag = "z9hG4bK" + key, "ft" + key
        c = RawSip(port, "udp")
        try:
            req = c.build("INVITE", ruri, key, call_id, 1, branch, from_tag,
                          body=SDP, content_type="application/sdp")
            tx = Transaction(call_id, req)
            for _ in range(6):              # while the lookup runs
                c.send(req)
            deadline = time.monotonic() + t.scaled(5)
            while tx.final is None and time.monotonic() < deadline:
                m = c.recv(deadline)
                if m is not None and not m.is_request and m.call_id == call_id:
                    tx.responses.append(m)
                    if m.status >= 200:
                        tx.final = m
            self.assertIsNotNone(tx.final, "no final answer: %s" % self.codes(tx.responses))
            self.assertEqual(tx.final.status, 200)
            for _ in range(3):              # after the answer
                c.send(req)
            again = []
            deadline = time.monotonic() + t.scaled(1)
            while time.monotonic() < deadline:
                m = c.recv(deadline)
                if m is not None and not m.is_request and m.call_id == call_id:
                    again.append(m.status)
            c.ack(tx, ruri, key, from_tag, branch)
        finally:
            c.close()
            self.env.locsvc.control(latency_ms=0)
        self.assertEqual(self.env.locsvc.requests_for(key), 1, "lookups of one call")
        invites = self.env.find_invites(call_id, timeout=1.0, count=2)
        self.assertEqual(len(invites), 1, "INVITEs of one call at the PSAPs")
        self.assertEqual(invites[0][0], "psap")
        self.assertTrue(again and set(again) == {200},
                        "copies after the answer got %s, not the 200 again" % again)


# the same through the Lua (KEMI) configuration

class TestPastMaxInflightLua(TestPastMaxInflight):
    CFG = LUA_CFG


class TestMalformedLua(TestMalformed):
    CFG = LUA_CFG


class TestOddButEmergencyLua(TestOddButEmergency):
    CFG = LUA_CFG


class TestRetransmissionsLua(TestRetransmissions):
    CFG = LUA_CFG


if __name__ == "__main__":
    unittest.main(verbosity=2)
