#!/usr/bin/env python3
# kamailio-e911: the registration policy (e911_check on REGISTER) and 933 test
# calls, each checked on what the device or the PSAP really received.
#
# REGISTER (47 CFR 9.11(b)(4): a registered location before activation, a
# prompt when the device moved): with -A E911_REGISTER_CHECK the reference cfg
# accepts the registration and adds a Warning the phone can show; with
# -A E911_REGISTER_REFUSE it answers 403 until the location is valid; an
# outage of the location service never takes phones off-line. The reply
# (status, reason, Warning headers) is read from SIPp's -trace_msg log.
#
# 933: a test call gets exactly the treatment of a 911 call from the same
# caller (PIDF-LO civic content, callback), goes to the record's route or to
# E911_TEST_ROUTE, and is marked "class": "test" in the audit trail.
#
# Records: test/data/register/records.json (contract v1 plus "site" and
# "networks"; {PSAP_PORT} is filled in by the harness).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

RECORDS = os.path.join(t.SOURCE_DIR, "test", "data", "register", "records.json")
SCENARIO = "uac_register_policy.xml"

UPDATE = "Update your emergency address"
MOVED = "Network changed: confirm your emergency address"


class RegisterCase(t.E911TestCase):
    """One environment per class; DEFINES picks the registration policy."""

    DEFINES = {}

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env(cls.__name__, records_template=RECORDS, timeout_ms=500,
                            defines=cls.DEFINES)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    # -- helpers ----------------------------------------------------------
    def register(self, caller):
        """(SippCall, final reply as a SipMessage) of one REGISTER from 127.0.0.1."""
        call = self.env.call("register", caller=caller, scenario=SCENARIO,
                             tag="reg-%s" % caller)
        finals = []
        for _, d, _, raw in call.messages():
            if d != "received":
                continue
            try:
                m = t.SipMessage(raw)
            except ValueError:
                continue
            if not m.is_request and m.status >= 200 and m.call_id == call.call_id:
                finals.append(m)
        self.assertTrue(call.ok, "the REGISTER got no 200/403:\n" + call.describe())
        self.assertTrue(finals, "no final reply in the SIPp trace:\n" + call.describe())
        return call, finals[0]

    def warnings(self, reply):
        return reply.header_all("Warning")

    def assertAccepted(self, reply):
        self.assertEqual(reply.status, 200, "registration not accepted: %s %s" % (
            reply.status, reply.reason))

    def assertNoWarning(self, reply):
        self.assertEqual(self.warnings(reply), [], "unexpected Warning header")

    def assertUpdateWarning(self, reply, reason):
        """Exactly one `Warning: 399 <host> "Update your emergency address (<reason>)"`."""
        ws = [w for w in self.warnings(reply) if UPDATE in w]
        self.assertEqual(len(ws), 1, "expected one update-your-address Warning, got %r"
                         % self.warnings(reply))
        self.assertEqual(ws[0], '399 %s "%s (%s)"' % (t.HOST, UPDATE, reason))

    def assertMovedWarning(self, reply):
        ws = [w for w in self.warnings(reply) if MOVED in w]
        self.assertEqual(ws, ['399 %s "%s"' % (t.HOST, MOVED)],
                         "expected one network-changed Warning, got %r" % self.warnings(reply))

    def assertRefused(self, reply):
        self.assertEqual((reply.status, reply.reason), (403, "Emergency address required"))
        self.assertNoWarning(reply)

    def registered(self, aor):
        """Whether usrloc holds a binding for the AoR (kamcmd ul.lookup)."""
        r = self.env.kamailio.kamcmd("ul.lookup", "location", aor, check=False)
        return r.returncode == 0 and "Contact" in r.text

    def assertLogged(self, text):
        deadline = time.monotonic() + t.scaled(3)
        while time.monotonic() < deadline:
            if text in self.env.kamailio.log_text():
                return
            time.sleep(0.05)
        self.fail("not in the Kamailio log: %r" % text)


class TestRegisterCheckPolicy(RegisterCase):
    """-A E911_REGISTER_CHECK: accept, and warn what the device should fix."""

    DEFINES = {"E911_REGISTER_CHECK": None}

    def test_valid_dispatchable_no_warning(self):
        call, reply = self.register("reg-ok")
        self.assertAccepted(reply)
        self.assertNoWarning(reply)
        self.assertTrue(self.registered("reg-ok"))

    def test_single_floor_single_unit_site_needs_no_in_building_detail(self):
        call, reply = self.register("reg-house")
        self.assertAccepted(reply)
        self.assertNoWarning(reply)

    def test_missing_record_warns(self):
        call, reply = self.register("reg-unknown-device")
        self.assertAccepted(reply)
        self.assertUpdateWarning(reply, "missing")
        self.assertTrue(self.registered("reg-unknown-device"),
                        "the check policy must still save the binding")
        self.assertLogged("'reg-unknown-device' registers without a dispatchable "
                          "location (missing)")

    def test_not_validated_warns(self):
        call, reply = self.register("reg-unvalidated")
        self.assertAccepted(reply)
        self.assertUpdateWarning(reply, "not validated")

    def test_multi_floor_without_floor_warns(self):
        call, reply = self.register("reg-nofloor")
        self.assertAccepted(reply)
        self.assertUpdateWarning(reply, "floor missing")

    def test_multi_unit_without_unit_room_seat_warns(self):
        call, reply = self.register("reg-nounit")
        self.assertAccepted(reply)
        self.assertUpdateWarning(reply, "unit missing")

    def test_no_street_address_warns(self):
        call, reply = self.register("reg-nostreet")
        self.assertAccepted(reply)
        self.assertUpdateWarning(reply, "no street address")

    def test_moved_network_warns(self):
        # the record was registered from 192.0.2.0/24 and 198.51.100.0/24; this
        # REGISTER comes from 127.0.0.1
        call, reply = self.register("reg-moved")
        self.assertAccepted(reply)
        self.assertMovedWarning(reply)
        self.assertEqual([w for w in self.warnings(reply) if UPDATE in w], [],
                         "the record itself is valid")

    def test_in_registered_network_no_moved_warning(self):
        call, reply = self.register("reg-home")        # networks include 127.0.0.0/8
        self.assertAccepted(reply)
        self.assertNoWarning(reply)

    def test_record_without_networks_no_moved_warning(self):
        call, reply = self.register("reg-ok")
        self.assertAccepted(reply)
        self.assertEqual([w for w in self.warnings(reply) if MOVED in w], [])


class TestRegisterRefusePolicy(RegisterCase):
    """-A E911_REGISTER_REFUSE: no activation until the location is valid."""

    DEFINES = {"E911_REGISTER_REFUSE": None}

    def test_valid_dispatchable_accepted(self):
        call, reply = self.register("reg-ok-refuse")
        self.assertAccepted(reply)
        self.assertNoWarning(reply)
        self.assertTrue(self.registered("reg-ok-refuse"))

    def test_missing_record_refused(self):
        call, reply = self.register("reg-unknown-refuse")
        self.assertRefused(reply)
        self.assertFalse(self.registered("reg-unknown-refuse"),
                         "a refused device must not be registered")
        self.assertLogged("'reg-unknown-refuse' registers without a dispatchable "
                          "location (missing)")

    def test_not_validated_refused(self):
        call, reply = self.register("reg-unvalidated-refuse")
        self.assertRefused(reply)
        self.assertFalse(self.registered("reg-unvalidated-refuse"))
        self.assertLogged("(not validated)")

    def test_multi_floor_without_floor_refused(self):
        call, reply = self.register("reg-nofloor-refuse")
        self.assertRefused(reply)
        self.assertLogged("'reg-nofloor-refuse' registers without a dispatchable "
                          "location (floor missing)")

    def test_multi_unit_without_unit_refused(self):
        call, reply = self.register("reg-nounit-refuse")
        self.assertRefused(reply)
        self.assertLogged("'reg-nounit-refuse' registers without a dispatchable "
                          "location (unit missing)")

    def test_fixed_record_accepted_at_next_register(self):
        # A refused device whose address was fixed at the service is accepted
        # at its next REGISTER: e911_check asks the service again instead of
        # refusing on a cached answer that found the record wanting.
        key = "reg-fixed-refuse"
        rec = dict(self.env.records["reg-unvalidated-refuse"], key=key, validated=False)
        self.env.locsvc.set_record(key, rec)
        call, reply = self.register(key)
        self.assertRefused(reply)
        self.env.locsvc.set_record(key, dict(rec, validated=True))
        call, reply = self.register(key)
        self.assertAccepted(reply)
        self.assertNoWarning(reply)
        self.assertTrue(self.registered(key))

    def test_missing_record_added_accepted_at_next_register(self):
        key = "reg-added-later"
        call, reply = self.register(key)
        self.assertRefused(reply)
        rec = dict(self.env.records["reg-unvalidated-refuse"], key=key, validated=True)
        self.env.locsvc.set_record(key, rec)
        call, reply = self.register(key)
        self.assertAccepted(reply)

    def test_moved_but_valid_accepted_with_prompt(self):
        call, reply = self.register("reg-moved-refuse")
        self.assertAccepted(reply)
        self.assertMovedWarning(reply)


class TestRegisterDefaultPolicy(RegisterCase):
    """Neither define: REGISTER only prefetches, the device is never warned."""

    def test_missing_record_accepted_silently(self):
        call, reply = self.register("reg-unknown-default")
        self.assertAccepted(reply)
        self.assertNoWarning(reply)

    def test_not_validated_accepted_silently(self):
        call, reply = self.register("reg-unvalidated")
        self.assertAccepted(reply)
        self.assertNoWarning(reply)


class TestRegisterOutageCheck(RegisterCase):
    """The location service is stopped: phones stay registered (check policy)."""

    DEFINES = {"E911_REGISTER_CHECK": None}

    def test_service_unavailable_still_accepted(self):
        self.env.locsvc.stop()
        call, reply = self.register("reg-outage")
        self.assertAccepted(reply)
        self.assertEqual([w for w in self.warnings(reply) if UPDATE in w], [],
                         "an outage is not the device's fault")
        self.assertTrue(self.registered("reg-outage"))


class TestRegisterOutageRefuse(RegisterCase):
    """The location service is stopped: even the refuse policy accepts (an outage
    must not take phones off-line)."""

    DEFINES = {"E911_REGISTER_REFUSE": None}

    def test_service_unavailable_still_accepted(self):
        self.env.locsvc.stop()
        call, reply = self.register("reg-outage-refuse")
        self.assertAccepted(reply)
        self.assertTrue(self.registered("reg-outage-refuse"))


# ---------------------------------------------------------------------------
# 933 test calls

class TestCallCase(t.E911TestCase):

    TEST_ROUTE = False

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.mkdtemp(prefix="e911-register-")
        cls.audit = os.path.join(cls.tmpdir, "audit.jsonl")
        cls.testpsap = t.Psap(t.HOST, 0, final_code=200, name="test-psap").start()
        defines = {"E911_AUDIT_LOG": t.q(cls.audit)}
        if cls.TEST_ROUTE:
            defines["E911_TEST_ROUTE"] = t.q(cls.route_933())
        cls.env = t.E911Env(cls.__name__, records_template=RECORDS, timeout_ms=500,
                            defines=defines)
        cls.env.start()

    @classmethod
    def route_933(cls):
        return "sip:933@%s:%d" % (t.HOST, cls.testpsap.port)

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        cls.testpsap.stop()
        shutil.rmtree(cls.tmpdir, ignore_errors=True)

    def audit_line(self, call_id, timeout=5.0):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            if os.path.exists(self.audit):
                with open(self.audit) as f:
                    hits = [json.loads(x) for x in f if x.strip()]
                hits = [x for x in hits if x.get("call_id") == call_id]
                if hits:
                    self.assertEqual(len(hits), 1, "one audit line per call")
                    return hits[0]
            time.sleep(0.05)
        self.fail("no audit line for %s" % call_id)

    def at_test_psap(self, call, timeout=5.0):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            hits = [r for r in self.testpsap.invites() if r.msg.call_id == call.call_id]
            if hits:
                return hits[0]
            time.sleep(0.05)
        where = [(role, rx.msg.ruri) for role, rx in self.env.find_invites(call.call_id, 0.1)]
        self.fail("the 933 call did not reach the test route %s; it reached %s\n%s" % (
            self.route_933(), where or "no PSAP", call.describe()))

    def treatment(self, rx):
        """What a PSAP learns from the INVITE: PIDF-LO civic and geo, callback, and
        the emergency headers the module adds."""
        m = rx.msg
        pidf = m.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1, "no PIDF-LO part")
        return {
            "civic": t.pidf_civic(pidf[0].body),
            "geo": t.pidf_positions(pidf[0].body),
            "callback": m.header_all("P-Asserted-Identity"),
            "priority": m.header_all("Priority"),
            "geolocation_routing": m.header_all("Geolocation-Routing"),
            "geolocation": len(m.header_all("Geolocation")),
        }

    def compare_with_911(self, caller, rx933):
        call911 = self.env.call("911", caller=caller)
        self.assertCallOk(call911)
        rx911 = self.assertInviteAt(call911, "psap")
        rec = self.env.records[caller]
        want = self.treatment(rx911)
        got = self.treatment(rx933)
        self.assertEqual(got, want, "the 933 call was not treated like the 911 call")
        # and that treatment is the record's location and callback
        civic = dict(got["civic"][0])
        for k, v in rec["civic"].items():
            self.assertEqual(civic.get(k), v, "civic %s" % k)
        self.assertEqual(len(got["callback"]), 1)
        self.assertIn(rec["callback"], got["callback"][0])
        a = self.audit_line(call911.call_id)
        self.assertEqual(a["class"], "emergency")
        return call911


class TestTestCallRecordRoute(TestCallCase):
    """No E911_TEST_ROUTE: a 933 call goes where the caller's 911 call goes."""

    def test_933_same_treatment_as_911_and_record_route(self):
        call = self.env.call("933", caller="tess")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "psap")
        self.assertEqual(rx.msg.ruri, self.env.records["tess"]["route"]["uri"])
        self.assertEqual(self.testpsap.invites(), [])
        self.compare_with_911("tess", rx)
        a = self.audit_line(call.call_id)
        self.assertEqual(a["class"], "test")
        self.assertEqual(a["dialled"], "933")
        self.assertEqual(a["caller"], "tess")
        self.assertEqual(a["route"], self.env.records["tess"]["route"]["uri"])
        self.assertEqual(a["route_reason"], "record")
        self.assertEqual(a["location"]["status"], "fresh")
        self.assertTrue(a["location"]["validated"])


class TestTestCallTestRoute(TestCallCase):
    """-A 'E911_TEST_ROUTE="sip:933@127.0.0.1:<port>"': 933 calls go there, with
    the same location and callback as a 911 call; 911 calls are not affected."""

    TEST_ROUTE = True

    def test_933_to_test_route_same_treatment_as_911(self):
        call = self.env.call("933", caller="tom")
        self.assertCallOk(call)
        rx = self.at_test_psap(call)
        self.assertEqual(rx.msg.ruri, self.route_933())
        self.assertEqual(self.env.find_invites(call.call_id, timeout=0.2), [],
                         "the test call also reached a real PSAP")
        call911 = self.compare_with_911("tom", rx)
        self.assertEqual([r for r in self.testpsap.invites()
                          if r.msg.call_id == call911.call_id], [],
                         "a 911 call went to the test route")
        a = self.audit_line(call.call_id)
        self.assertEqual(a["class"], "test")
        self.assertEqual(a["dialled"], "933")
        self.assertEqual(a["route"], self.route_933())
        self.assertTrue(a["location"]["validated"])


if __name__ == "__main__":
    t.main()
