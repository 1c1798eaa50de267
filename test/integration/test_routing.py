#!/usr/bin/env python3
# kamailio-e911: emergency call routing, end to end.
#
# SIPp (caller) -> Kamailio with cfg/kamailio.cfg and e911.so -> test PSAPs, the
# caller's location coming from the reference location service. Every assertion is
# on what a PSAP received.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

CALLBACK_RE = r"^<sip:\+%s@[^;>]+;user=phone>$"
INJECTED = b"X-Injected"


class EmergencyAssertions(t.E911TestCase):
    """Checks shared by the test classes."""

    def emergency_call(self, service, caller, **kw):
        call = self.env.call(service, caller=caller, **kw)
        self.assertCallOk(call)
        return call

    def assertOneHeader(self, msg, name, value=None):
        vals = msg.header_all(name)
        self.assertEqual(len(vals), 1, "expected exactly one %s header, got %r" % (name, vals))
        if value is not None:
            self.assertEqual(vals[0], value, "%s header" % name)
        return vals[0]

    def assertNoHeader(self, msg, name):
        self.assertEqual(msg.header_all(name), [], "unexpected %s header" % name)

    def assertNothingInjected(self, rx):
        head = rx.msg.head_bytes
        self.assertNotIn(INJECTED, head, "injected text in the headers of the INVITE:\n%s"
                         % head.decode("utf-8", "replace"))
        self.assertEqual(rx.msg.header_all("X-Injected"), [])
        for line in head.split(b"\r\n"):
            self.assertNotIn(b"\r", line, "bare CR in a header line: %r" % line)
            self.assertNotIn(b"\n", line, "bare LF in a header line: %r" % line)
        self.assertTrue(rx.msg.content_length_ok(), "Content-Length does not match the body")
        if rx.msg.content_type.startswith("multipart/"):
            for part in rx.msg.multipart().parts:
                self.assertNotIn(INJECTED, part.header_bytes)

    def sdp_of(self, rx):
        """The SDP the PSAP got: the whole body, or the first part of a multipart."""
        if rx.msg.content_type.startswith("multipart/"):
            parts = rx.msg.multipart().parts
            return parts[0].body if parts and parts[0].content_type == "application/sdp" else None
        return rx.msg.body if rx.msg.content_type == "application/sdp" else None

    def assertEmergencyInvite(self, call, rx, record, ruri, has_sdp=True):
        """Everything the issue requires of a located emergency INVITE."""
        m = rx.msg
        self.assertEqual(m.ruri, ruri, "Request-URI")
        self.assertTrue(m.content_length_ok(), "Content-Length does not match the body")
        ct = m.header("Content-Type") or ""
        self.assertEqual(m.content_type, "multipart/mixed", "Content-Type: %s" % ct)
        mp = m.multipart()
        self.assertTrue(mp.closed, "multipart body without its close delimiter")
        types = [p.content_type for p in mp.parts]
        if has_sdp:
            self.assertEqual(types[0], "application/sdp", "first part: %s" % types)
            sent = call.sent_sdp()
            self.assertEqual(sent, t.UAC_SDP, "SIPp did not send the expected SDP")
            self.assertEqual(mp.parts[0].body, sent, "SDP part not byte-identical")
        else:
            self.assertNotIn("application/sdp", types)
        pidfs = mp.by_type("application/pidf+xml")
        self.assertEqual(len(pidfs), 1, "expected one application/pidf+xml part: %s" % types)
        pidf = pidfs[0]
        cid = pidf.content_id
        self.assertTrue(cid, "PIDF-LO part without Content-ID")
        self.assertTrue(pidf.header("Content-ID").strip().startswith("<"),
                        "Content-ID not in angle brackets: %r" % pidf.header("Content-ID"))

        geo = m.values("Geolocation")
        self.assertEqual(geo, ["<cid:%s>" % cid], "Geolocation must reference the PIDF part")
        self.assertOneHeader(m, "Geolocation-Routing", "yes")
        self.assertOneHeader(m, "Priority", "emergency")
        pai = self.assertOneHeader(m, "P-Asserted-Identity")
        cb = record["callback"].lstrip("+")
        self.assertIn(record["callback"], pai)
        self.assertIn(";user=phone", pai)
        self.assertRegex(pai, CALLBACK_RE % cb)
        self.assertNothingInjected(rx)
        self.assertPidf(pidf.body, record)
        return mp, pidf

    def assertPidf(self, xml, record):
        ok, out = t.xmllint_validate(xml, workdir=self.env.workdir)
        self.assertTrue(ok, "PIDF-LO does not validate against %s:\n%s\n%s" % (
            t.XSD_ALL, out, xml.decode("utf-8", "replace")))
        civics = t.pidf_civic(xml)
        self.assertEqual(len(civics), 1, "expected one civicAddress, got %d" % len(civics))
        got = dict(civics[0])
        for k, v in record["civic"].items():
            self.assertEqual(got.get(k), v, "civic %s: PIDF has %r, record %r" % (
                k, got.get(k), v))
        names = [n for n, _ in civics[0]]
        order = [n for n in t.CIVIC_ORDER + t.CIVIC_EXT if n in names]
        self.assertEqual(names, order, "civic elements out of RFC 5139 order")
        geo = record.get("geo")
        if geo:
            pos = t.pidf_positions(xml)
            self.assertEqual(len(pos), 1, "expected one geodetic shape: %r" % pos)
            shape, lat, lon, rad = pos[0]
            self.assertAlmostEqual(lat, geo["lat"], places=6)
            self.assertAlmostEqual(lon, geo["lon"], places=6)
            if geo.get("radius_m"):
                self.assertEqual((shape, rad), ("Circle", float(geo["radius_m"])))

    def assertFallbackInvite(self, call, rx):
        """An emergency INVITE without location on the fallback route."""
        m = rx.msg
        self.assertEqual(m.ruri, self.env.fallback_route, "Request-URI")
        self.assertOneHeader(m, "Priority", "emergency")
        self.assertNoHeader(m, "Geolocation")
        self.assertNoHeader(m, "Geolocation-Routing")
        if m.content_type.startswith("multipart/"):
            self.assertEqual(m.multipart().by_type("application/pidf+xml"), [],
                             "a PIDF-LO on a call with no location")
        self.assertEqual(self.sdp_of(rx), call.sent_sdp(), "SDP not byte-identical")
        self.assertNothingInjected(rx)


class TestEmergencyRouting(EmergencyAssertions):
    """One Kamailio, location service up, E911_TIMEOUT_MS=1000."""

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env("routing", timeout_ms=1000, tcp=True)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def setUp(self):
        self.env.locsvc.control("normal")

    def rec(self, key):
        return self.env.records[key]

    def located(self, service, caller, **kw):
        call = self.emergency_call(service, caller, **kw)
        rx = self.assertInviteAt(call, "psap")
        self.assertEmergencyInvite(call, rx, self.rec(caller), self.rec(caller)["route"]["uri"],
                                   has_sdp=kw.get("scenario") != "uac_invite_nobody.xml")
        return call, rx

    # -- dial strings -----------------------------------------------------
    def test_911_full_record(self):
        self.located("911", "alice")

    def test_9911_trunk_prefix(self):
        self.located("9911", "carol")

    def test_933_test_call(self):
        self.located("933", "dave")

    def test_112(self):
        self.located("112", "erin")

    def test_urn_service_sos(self):
        self.located("sos", "frank", scenario="uac_invite_uri.xml",
                     variables={"ruri": "urn:service:sos"})

    def test_911_over_tcp(self):
        call, rx = self.located("911", "grace", transport="t1")
        self.assertEqual(rx.transport, "udp")   # the PSAP route is UDP; the caller used TCP

    def test_911_late_offer_no_body(self):
        # contract: with no body, the body becomes multipart/mixed with only the PIDF-LO
        call, rx = self.located("911", "heidi", scenario="uac_invite_nobody.xml")
        self.assertEqual([p.content_type for p in rx.msg.multipart().parts],
                         ["application/pidf+xml"])

    # -- cache ------------------------------------------------------------
    def test_second_call_served_from_cache(self):
        self.located("911", "ivan")
        self.assertEqual(self.env.locsvc.requests_for("ivan"), 1)
        call2, rx2 = self.located("911", "ivan")
        self.assertEqual(self.env.locsvc.requests_for("ivan"), 1,
                         "the second call for the same caller made another HTTP request")

    # -- non-emergency ----------------------------------------------------
    def test_non_emergency_untouched(self):
        host = "%s:%d" % (t.HOST, self.env.psaps["normal"].port)
        call = self.env.call("1000", caller="trent", ruri_host=host)
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "normal")
        m = rx.msg
        self.assertEqual(m.ruri, "sip:1000@" + host, "Request-URI changed")
        self.assertEqual(m.body, t.UAC_SDP, "body changed")
        self.assertEqual(m.header("Content-Type"), "application/sdp")
        for h in ("Geolocation", "Geolocation-Routing", "Priority", "P-Asserted-Identity"):
            self.assertNoHeader(m, h)
        # every header SIPp sent arrives unchanged, and only Via/Record-Route are added
        _, sent = call.sent_invite()
        hop = {"via", "record-route", "route", "max-forwards", "content-length"}
        want = [(t.psapmod.canon(n), v) for n, v in sent.headers if t.psapmod.canon(n) not in hop]
        got = [(t.psapmod.canon(n), v) for n, v in m.headers if t.psapmod.canon(n) not in hop]
        self.assertEqual(got, want, "end-to-end headers changed")
        self.assertEqual(self.env.locsvc.requests_for("trent"), 0,
                         "a non-emergency call queried the location service")

    # -- no location ------------------------------------------------------
    def test_unknown_caller_goes_to_fallback(self):
        call = self.emergency_call("911", "nobody-registered")
        rx = self.assertInviteAt(call, "fallback")
        self.assertFallbackInvite(call, rx)
        self.assertEqual(self.env.locsvc.requests_for("nobody-registered"), 1)

    def test_record_without_route_goes_to_default(self):
        call = self.emergency_call("911", "judy")
        rx = self.assertInviteAt(call, "default")
        self.assertEmergencyInvite(call, rx, self.rec("judy"), self.env.default_route)

    # -- failure route ----------------------------------------------------
    def failed_psap_call(self, caller):
        call = self.emergency_call("911", caller)
        hits = self.env.find_invites(call.call_id, count=2)
        self.assertEqual([r for r, _ in hits], ["busy", "fallback"],
                         "expected the INVITE at the 503 PSAP then at the fallback: %s" %
                         [(r, rx.msg.ruri) for r, rx in hits])
        self.assertEqual(call.received_codes()[-2:], [200, 200],   # INVITE 200, BYE 200
                         "the caller did not get the fallback PSAP's 200")
        return call, hits[0][1], hits[1][1]

    def test_failed_psap_retried_to_fallback_with_location(self):
        call, first, retry = self.failed_psap_call("mallory")
        rec = self.rec("mallory")
        _, pidf1 = self.assertEmergencyInvite(call, first, rec, rec["route"]["uri"])
        _, pidf2 = self.assertEmergencyInvite(call, retry, rec, self.env.fallback_route)
        self.assertEqual(pidf2.body, pidf1.body, "the retry carries another PIDF-LO document")
        for h in ("P-Asserted-Identity", "Priority", "Geolocation-Routing"):
            self.assertEqual(retry.msg.header_all(h), first.msg.header_all(h), h)

    def test_failed_psap_retry_keeps_geolocation(self):
        # the issue: "retried to the fallback route carrying the same Geolocation/PIDF",
        # read literally: the same Geolocation value and the same PIDF-LO part (with its
        # Content-ID), not a new rewrite
        call, first, retry = self.failed_psap_call("yvonne-busy")
        self.assertEqual(retry.msg.values("Geolocation"), first.msg.values("Geolocation"),
                         "the retry's Geolocation differs from the first attempt's")
        p1 = first.msg.multipart().by_type("application/pidf+xml")
        p2 = retry.msg.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(p1), 1)
        self.assertEqual(len(p2), 1)
        self.assertEqual(p2[0].raw, p1[0].raw, "the retry's PIDF-LO part (headers + document) "
                         "differs from the first attempt's")

    # -- bad records ------------------------------------------------------
    def test_malformed_json_goes_to_fallback(self):
        self.env.locsvc.control("malformed", keys=["oscar"])
        call = self.emergency_call("911", "oscar")
        rx = self.assertInviteAt(call, "fallback")
        self.assertFallbackInvite(call, rx)

    def test_route_uri_with_crlf_goes_to_fallback(self):
        call = self.emergency_call("911", "bad-route-crlf")
        where, rx = self.env.find_invite(call.call_id)
        self.assertIsNotNone(rx, "the call reached no PSAP")
        self.assertNothingInjected(rx)
        self.assertEqual(where, "fallback", "reached %s with R-URI %s" % (where, rx.msg.ruri))
        self.assertFallbackInvite(call, rx)

    def test_callback_with_crlf_is_left_out(self):
        # A callback that is not a phone number (here: CR/LF and a header) is left
        # out with a warning; the dispatchable address is kept - responders are
        # better served by the location without a callback than by no location.
        call = self.emergency_call("911", "bad-callback-crlf")
        where, rx = self.env.find_invite(call.call_id)
        self.assertIsNotNone(rx, "the call reached no PSAP")
        self.assertNothingInjected(rx)
        self.assertEqual(where, "psap", "reached %s with R-URI %s" % (where, rx.msg.ruri))
        self.assertEqual(rx.msg.header_all("P-Asserted-Identity"), [],
                         "a PAI from an unusable callback")
        self.assertEqual(len(rx.msg.header_all("Geolocation")), 1)
        self.assertIn("callback (not a phone number) left out", self.env.kamailio.log_text())

    def test_record_broken_live_serves_stale(self):
        # peggy's record has max_age 1: fetched, then broken at the service, then
        # stale after 1 s; the next call refetches, gets garbage and serves the stale one.
        # (The module may also refresh in the background: count "at least one more".)
        good = self.rec("peggy")
        self.located("911", "peggy")
        bad = dict(good, callback="+13125550154\r\nX-Injected: live",
                   route={"uri": good["route"]["uri"] + "\r\nX-Injected: live"})
        try:
            n = self.env.locsvc.requests_for("peggy")
            self.env.locsvc.set_record("peggy", bad)
            time.sleep(1.5)
            call = self.emergency_call("911", "peggy")
            self.assertGreater(self.env.locsvc.requests_for("peggy"), n,
                               "the expired record was not refetched")
            where, rx = self.env.find_invite(call.call_id)
            self.assertIsNotNone(rx, "the call reached no PSAP")
            self.assertNothingInjected(rx)
            self.assertEqual(where, "psap", "the stale record was not used")
            self.assertEmergencyInvite(call, rx, good, good["route"]["uri"])
        finally:
            self.env.locsvc.set_record("peggy", good)


class TestServiceUnavailable(EmergencyAssertions):
    """E911_TIMEOUT_MS=500: the fallback route is reached within the budget."""

    TIMEOUT_MS = 500
    MARGIN_S = 1.0

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env("unavailable", timeout_ms=cls.TIMEOUT_MS)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def setUp(self):
        self.env.locsvc.fresh()

    def timed_fallback(self, caller):
        call = self.emergency_call("911", caller)
        rx = self.assertInviteAt(call, "fallback")
        self.assertFallbackInvite(call, rx)
        sent = call.invite_sent_time()
        delay = rx.time - sent
        limit = self.TIMEOUT_MS / 1000.0 + t.scaled(self.MARGIN_S)
        self.assertLess(delay, limit, "fallback reached %.3f s after the INVITE (limit %.3f s)"
                        % (delay, limit))
        return delay

    def test_service_stopped_connection_refused(self):
        self.env.locsvc.stop()
        self.timed_fallback("victor")

    def test_service_hanging(self):
        self.env.locsvc.control("hang")
        delay = self.timed_fallback("walter")
        self.assertEqual(self.env.locsvc.requests_for("walter"), 1)
        sys.stderr.write("[hang: fallback after %.3f s] " % delay)

    def test_service_error_status(self):
        self.env.locsvc.control("status", status=503)
        self.timed_fallback("xavier")


if __name__ == "__main__":
    t.main()
